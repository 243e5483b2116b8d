//! The hash chain: checks a whole ledger file, line by line.
//!
//! Each line must be a well-formed [`Record`] whose `seq` is one more than the
//! previous record's and whose `prev` is the previous record's `hash`. A final
//! line without its newline is an *interrupted append*, reported apart from
//! tampering because [`crate::store::repair`] can recover from it.
//!
//! Parsing and hashing are independent per line, so they run on all cores;
//! only the link check is sequential.

use std::collections::VecDeque;
use std::io::Read;
use std::ops::Range;
use std::sync::{Arc, mpsc};

use serde_json::Value;

use crate::event::Event;
use crate::record::{Entry, GENESIS_PREV, Record, RecordError};

/// What is wrong with a ledger, at the first bad line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A line is not a valid record.
    #[error("line {line}{}: {error}", seq_suffix(*.seq))]
    Record {
        /// 1-based line number.
        line: usize,
        /// The seq the line should have.
        seq: u64,
        /// What is wrong.
        error: RecordError,
    },
    /// A line is not UTF-8.
    #[error("line {line}: not valid UTF-8 at byte {offset} of the line")]
    Utf8 {
        /// 1-based line number.
        line: usize,
        /// Byte offset of the first invalid byte within the line.
        offset: usize,
    },
    /// `seq` is not the previous one plus one.
    #[error(
        "line {line}: `seq` is {found}, expected {expected} (records must be numbered 1, 2, 3… without gaps)"
    )]
    Seq {
        /// 1-based line number.
        line: usize,
        /// The seq found.
        found: u64,
        /// The seq expected.
        expected: u64,
    },
    /// `prev` is not the previous record's hash.
    #[error(
        "line {line} (seq {seq}): `prev` is {found}, but the previous record's hash is {expected}; a record before it was changed, removed or reordered"
    )]
    Link {
        /// 1-based line number.
        line: usize,
        /// The record's seq.
        seq: u64,
        /// The `prev` found.
        found: String,
        /// The previous record's hash.
        expected: String,
    },
    /// `recorded` goes back in time.
    #[error(
        "line {line} (seq {seq}): `recorded` is {found}, earlier than the previous record's {previous}; `recorded` never decreases along a ledger"
    )]
    Recorded {
        /// 1-based line number.
        line: usize,
        /// The record's seq.
        seq: u64,
        /// Its `recorded`.
        found: String,
        /// The previous record's `recorded`.
        previous: String,
    },
    /// A line runs past [`crate::record::MAX_LINE_BYTES`] without a newline:
    /// no record is that long, and reading on would hold it all in memory.
    #[error(
        "line {line} runs past {} bytes without a newline; a record line is at most that long (hint: is this a fusion ledger?)",
        crate::record::MAX_LINE_BYTES
    )]
    LineTooLong {
        /// 1-based line number.
        line: usize,
        /// Byte offset where the line starts.
        offset: u64,
    },
    /// The last line has no newline: an append was interrupted.
    #[error(
        "line {line}: incomplete last line ({bytes} bytes without a final newline): an append was interrupted or the file was cut short; `fusion repair` rolls back an interrupted append (a line cut short otherwise is a lost record: restore the ledger, or drop it with `fusion repair --discard-incomplete`)"
    )]
    Torn {
        /// 1-based line number.
        line: usize,
        /// Length of the incomplete line.
        bytes: usize,
        /// Byte offset where the incomplete line starts.
        offset: u64,
        /// Whether the bytes form a complete, correctly linked record that
        /// only lacks its newline.
        complete_record: bool,
    },
}

/// ` (seq N)`, or nothing when the seq is not known (0: a line read from
/// the end of the file, whose seq could not be read from it).
fn seq_suffix(seq: u64) -> String {
    if seq == 0 {
        String::new()
    } else {
        format!(" (seq {seq})")
    }
}

impl ChainError {
    /// The 1-based line of the problem.
    pub fn line(&self) -> usize {
        match self {
            ChainError::Record { line, .. }
            | ChainError::Utf8 { line, .. }
            | ChainError::Seq { line, .. }
            | ChainError::Link { line, .. }
            | ChainError::Recorded { line, .. }
            | ChainError::LineTooLong { line, .. }
            | ChainError::Torn { line, .. } => *line,
        }
    }
}

/// A verified chain: every record, in order, events as stored.
///
/// Holds every event as a JSON value; commands use the leaner [`Ledger`].
#[derive(Debug, Clone, Default)]
pub struct Chain {
    /// The records, seq 1.. in order.
    pub records: Vec<Record>,
}

impl Chain {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the ledger holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The last record's hash, or 64 zeros for an empty ledger.
    pub fn head_hash(&self) -> &str {
        self.records
            .last()
            .map_or(GENESIS_PREV, |r| r.hash.as_str())
    }

    /// The last record's seq, or 0 for an empty ledger.
    pub fn head_seq(&self) -> u64 {
        self.records.last().map_or(0, |r| r.seq)
    }
}

/// A verified ledger with its events typed: what the commands read.
///
/// Each line was parsed once, hash-checked, its event deserialised into the
/// vocabulary and the JSON value dropped; a record's stored form can be
/// read back from the file at [`Ledger::offsets`].
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Every record, seq 1.. in order.
    pub entries: Vec<Entry>,
    /// Byte offset in the file where each record's line starts (same index
    /// as `entries`).
    pub offsets: Vec<u64>,
    /// Length in bytes of the verified file.
    pub bytes: u64,
}

impl Ledger {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the ledger holds no record.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The last record's hash, or 64 zeros for an empty ledger.
    pub fn head_hash(&self) -> &str {
        self.entries
            .last()
            .map_or(GENESIS_PREV, |e| e.hash.as_str())
    }

    /// The last record's seq, or 0 for an empty ledger.
    pub fn head_seq(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.seq)
    }

    /// The byte range of the line (without its newline) of the record at
    /// `index` (seq − 1) in the verified file.
    pub fn line_range(&self, index: usize) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(*self.offsets.get(index)?).ok()?;
        let end = match self.offsets.get(index + 1) {
            Some(next) => usize::try_from(*next).ok()?,
            None => usize::try_from(self.bytes).ok()?,
        };
        Some(start..end.checked_sub(1)?)
    }
}

/// Why a ledger does not load: its chain, or an event of a chain that
/// verifies.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The chain does not verify (the first bad line, or a torn tail).
    #[error("{0}")]
    Chain(ChainError),
    /// The chain verifies, but this record's event does not parse into the
    /// vocabulary (the first such record in ledger order).
    #[error("line {line} (seq {seq}): {error}")]
    Event {
        /// 1-based line.
        line: usize,
        /// The seq.
        seq: u64,
        /// What is wrong.
        error: RecordError,
    },
    /// Reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Checks a whole ledger's bytes and returns its records.
///
/// `threads` is how many threads may parse and hash (1 = sequential).
pub fn verify(bytes: &[u8], threads: usize) -> Result<Chain, ChainError> {
    let mut records = Vec::new();
    let scanned = scan(
        bytes,
        threads,
        BLOCK,
        |event| event,
        |_| None,
        &|_| {},
        |head, event, _, _| {
            records.push(Record {
                seq: head.seq,
                recorded: head.recorded.as_str().to_owned(),
                event,
                prev: head.prev.to_hex(),
                hash: head.hash.to_hex(),
            });
        },
    );
    match scanned {
        Ok(_) => Ok(Chain { records }),
        Err(Scan::Chain(e)) => Err(e),
        // Reading a slice cannot fail.
        Err(Scan::Io(e)) => Err(ChainError::Record {
            line: records.len() + 1,
            seq: records.len() as u64 + 1,
            error: RecordError::Json(e.to_string()),
        }),
    }
}

/// Reads, checks and types a whole ledger in one pass, streaming: each line
/// is parsed once into a JSON value, its hash and link checked, its event
/// deserialised into the vocabulary, and the value dropped. Only the typed
/// entries stay in memory, never the whole file.
///
/// Errors are reported as by [`verify`] followed by a typed parse of every
/// event: the first chain problem in ledger order (or a torn tail) wins;
/// otherwise the first record whose event is not in the vocabulary.
/// `threads` is how many threads may parse and hash (1 = sequential).
pub fn verify_ledger(reader: impl Read, threads: usize) -> Result<Ledger, LedgerError> {
    verify_ledger_in_blocks(reader, threads, BLOCK, &|_| {})
}

/// [`verify_ledger`], reporting progress: after each block of whole lines
/// has been verified, `progress` is called with the number of bytes verified
/// so far (counted from the start of `reader`). The totals strictly increase
/// and, for a ledger that verifies, the last one is its length. Called on
/// the calling thread; it does no work of the load's own, so a no-op costs
/// nothing.
pub fn verify_ledger_with_progress(
    reader: impl Read,
    threads: usize,
    progress: &dyn Fn(u64),
) -> Result<Ledger, LedgerError> {
    verify_ledger_in_blocks(reader, threads, BLOCK, progress)
}

/// [`verify_ledger_with_progress`] of a ledger of about `bytes` bytes (its
/// file's length): room for its records is made at once, where growing a
/// list of them would copy it and fault in fresh pages again and again. A
/// wrong size costs only that.
pub fn verify_ledger_sized(
    reader: impl Read,
    threads: usize,
    bytes: u64,
    progress: &dyn Fn(u64),
) -> Result<Ledger, LedgerError> {
    // A record takes more: its envelope alone, with two hashes, about 200
    // bytes, and the shortest event about 70. Room that is never filled is
    // never touched, so never faulted in.
    let records = usize::try_from(bytes / MIN_RECORD_BYTES).unwrap_or(0);
    let mut ledger = Ledger::default();
    ledger.entries.reserve(records.min(MAX_RESERVED_RECORDS));
    ledger.offsets.reserve(records.min(MAX_RESERVED_RECORDS));
    verify_ledger_into(reader, threads, BLOCK, progress, ledger)
}

/// What [`verify_ledger_sized`] expects the shortest record to take.
const MIN_RECORD_BYTES: u64 = 256;

/// The most records [`verify_ledger_sized`] makes room for at once (a
/// larger ledger grows its list beyond).
const MAX_RESERVED_RECORDS: usize = 1 << 24;

fn verify_ledger_in_blocks(
    reader: impl Read,
    threads: usize,
    block: usize,
    progress: &dyn Fn(u64),
) -> Result<Ledger, LedgerError> {
    verify_ledger_into(reader, threads, block, progress, Ledger::default())
}

fn verify_ledger_into(
    reader: impl Read,
    threads: usize,
    block: usize,
    progress: &dyn Fn(u64),
    mut ledger: Ledger,
) -> Result<Ledger, LedgerError> {
    ledger.bytes = typed_scan(
        reader,
        threads,
        block,
        progress,
        |e| e,
        |line| {
            let f = crate::fast::entry(line)?;
            let head = Head::new(f.seq, &f.recorded, &f.prev, &f.hash)?;
            Some((head, f.event))
        },
        |entry, offset| {
            ledger.offsets.push(offset);
            ledger.entries.push(Entry {
                seq: entry.seq,
                hash: entry.hash.to_hex(),
                recorded: entry.recorded.as_str().to_owned(),
                event: entry.event,
            });
        },
    )?;
    Ok(ledger)
}

/// A verified record as [`scan_ledger_with_progress`] hands it over: its
/// event already turned into what the caller keeps.
#[derive(Debug)]
pub struct Scanned<'r, E> {
    /// The record's seq.
    pub seq: u64,
    /// Its hash (checked), as bytes.
    pub hash: [u8; 32],
    /// Its `recorded` time, as written.
    pub recorded: &'r str,
    /// What `keep` made of its event.
    pub kept: E,
    /// Byte offset of its line in the file.
    pub offset: u64,
}

/// What [`scan_ledger_with_progress`]'s quick path knows of an event it
/// did not build: enough to keep its date, or to ask for the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glance<'a> {
    /// Its date, as written.
    pub date: &'a str,
    /// Its type, as written.
    pub ty: &'a str,
    /// Whether it is a correction, a plan, or fulfils or abandons one.
    pub whole: bool,
}

/// [`verify_ledger_with_progress`] keeping of each event only what `keep`
/// makes of it, on the parsing threads, so that the whole ledger is never
/// held: the same checks and the same errors. `sink` gets the records in
/// ledger order. Returns the number of bytes verified.
///
/// Most lines are checked without building their event: `quick` gets a
/// [`Glance`] at it (its date and type as written, and whether it is a
/// correction, a plan, or fulfils or abandons one), and may keep that instead (`None`
/// builds the event for `keep`).
pub fn scan_ledger_with_progress<E: Send>(
    reader: impl Read,
    threads: usize,
    progress: &dyn Fn(u64),
    quick: impl Fn(Glance<'_>) -> Option<E> + Sync,
    keep: impl Fn(Event) -> E + Sync,
    sink: impl FnMut(Scanned<'_, E>),
) -> Result<u64, LedgerError> {
    scan_kept(reader, threads, progress, Some(quick), keep, sink)
}

/// [`scan_ledger_with_progress`] building every event for `keep`, without
/// a glance first: for a caller that needs each event whole.
pub fn stream_ledger_with_progress<E: Send>(
    reader: impl Read,
    threads: usize,
    progress: &dyn Fn(u64),
    keep: impl Fn(Event) -> E + Sync,
    sink: impl FnMut(Scanned<'_, E>),
) -> Result<u64, LedgerError> {
    let never: Option<fn(Glance<'_>) -> Option<E>> = None;
    scan_kept(reader, threads, progress, never, keep, sink)
}

/// The scan of [`scan_ledger_with_progress`], with a glance first when
/// `quick` is given.
fn scan_kept<E: Send>(
    reader: impl Read,
    threads: usize,
    progress: &dyn Fn(u64),
    quick: Option<impl Fn(Glance<'_>) -> Option<E> + Sync>,
    keep: impl Fn(Event) -> E + Sync,
    mut sink: impl FnMut(Scanned<'_, E>),
) -> Result<u64, LedgerError> {
    let keep = &keep;
    typed_scan(
        reader,
        threads,
        BLOCK,
        progress,
        keep,
        |line| {
            if let Some(quick) = &quick
                && let Some((env, date, ty, whole)) = crate::fast::check_kept(line)
                && let Some(kept) = quick(Glance {
                    date: &date,
                    ty: &ty,
                    whole,
                })
            {
                let head = Head::new(env.seq, env.recorded, env.prev, env.hash)?;
                return Some((head, kept));
            }
            let f = crate::fast::entry(line)?;
            let head = Head::new(f.seq, &f.recorded, &f.prev, &f.hash)?;
            Some((head, keep(f.event)))
        },
        |entry, offset| {
            sink(Scanned {
                seq: entry.seq,
                hash: entry.hash.to_bytes(),
                recorded: entry.recorded.as_str(),
                kept: entry.event,
                offset,
            })
        },
    )
}

/// What a streaming check of a ledger found: it verifies, with this many
/// records and this head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Number of records.
    pub records: u64,
    /// The last record's hash, or 64 zeros for an empty ledger.
    pub head_hash: String,
    /// Length in bytes of the verified file.
    pub bytes: u64,
}

/// [`verify_ledger_with_progress`] without keeping the entries: the same
/// checks and the same errors, in memory that does not grow with the
/// ledger. For `fusion verify` when nothing needs the events afterwards.
pub fn check_ledger_with_progress(
    reader: impl Read,
    threads: usize,
    progress: &dyn Fn(u64),
) -> Result<Checked, LedgerError> {
    let mut records = 0;
    let mut head_hash = None;
    // Each event is dropped where it was parsed: it only had to be valid.
    // Nor is it built on the fast path, which only checks it.
    let fast = |line: &str| {
        let env = crate::fast::check(line)?;
        let head = Head::new(env.seq, env.recorded, env.prev, env.hash)?;
        Some((head, ()))
    };
    let bytes = typed_scan(reader, threads, BLOCK, progress, drop, fast, |entry, _| {
        records += 1;
        head_hash = Some(entry.hash);
    })?;
    Ok(Checked {
        records,
        head_hash: head_hash.map_or_else(|| GENESIS_PREV.to_owned(), |h| h.to_hex()),
        bytes,
    })
}

/// The scan behind [`verify_ledger`] and [`check_ledger_with_progress`]:
/// each verified entry, its event turned by `keep` into what the caller
/// keeps (on the parsing thread; `fast` may read a line straight into that,
/// or leave it to the general reader), goes to `sink` with its line's offset, in order,
/// until the first bad event (after which the scan goes on only to report
/// a chain problem that comes first in its place). Returns the bytes
/// verified.
fn typed_scan<E: Send>(
    reader: impl Read,
    threads: usize,
    block: usize,
    progress: &dyn Fn(u64),
    keep: impl Fn(Event) -> E + Sync,
    fast: impl Fn(&str) -> Option<(Head, E)> + Sync,
    mut sink: impl FnMut(TypedEntry<E>, u64),
) -> Result<u64, LedgerError> {
    let mut first_bad: Option<LedgerError> = None;
    let keep = &keep;
    let scanned = scan(
        reader,
        threads,
        block,
        |event| {
            Event::from_json(&event)
                .map(keep)
                .map_err(RecordError::Event)
        },
        |line| fast(line).map(|(head, kept)| (head, Ok(kept))),
        progress,
        |head, event, line, offset| match event {
            Ok(event) if first_bad.is_none() => sink(
                TypedEntry {
                    seq: head.seq,
                    hash: head.hash,
                    recorded: head.recorded,
                    event,
                },
                offset,
            ),
            Ok(_) => {}
            Err(error) => {
                if first_bad.is_none() {
                    first_bad = Some(LedgerError::Event {
                        line,
                        seq: head.seq,
                        error,
                    });
                }
            }
        },
    );
    match scanned {
        Ok(bytes) => match first_bad {
            Some(e) => Err(e),
            None => Ok(bytes),
        },
        Err(Scan::Chain(e)) => Err(LedgerError::Chain(e)),
        Err(Scan::Io(e)) => Err(LedgerError::Io(e)),
    }
}

/// An [`Entry`] whose event is kept as `E`.
struct TypedEntry<E> {
    seq: u64,
    hash: Digest,
    recorded: Recorded,
    event: E,
}

/// A record's members other than its event, held without allocating: the
/// scan hands one per record from the parser threads to the linking one.
struct Head {
    seq: u64,
    recorded: Recorded,
    prev: Digest,
    hash: Digest,
}

impl Head {
    /// From what a reader found: `prev` and `hash` are record hashes (64
    /// lowercase hex digits), as every reader checks.
    fn new(seq: u64, recorded: &str, prev: &str, hash: &str) -> Option<Head> {
        Some(Head {
            seq,
            recorded: Recorded::new(recorded),
            prev: Digest::from_hex(prev)?,
            hash: Digest::from_hex(hash)?,
        })
    }
}

/// A record hash as its 64 lowercase hex digits (copied, not decoded:
/// copying is what costs least per record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digest([u8; 64]);

impl Digest {
    /// The hash written as `hex`, which its reader checked is 64 lowercase
    /// hex digits (`None` if it is not even 64 bytes long).
    fn from_hex(hex: &str) -> Option<Digest> {
        hex.as_bytes().try_into().ok().map(Digest)
    }

    /// The 32 bytes its hex digits (checked by its reader) spell.
    fn to_bytes(self) -> [u8; 32] {
        let nibble = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => 0,
        };
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(self.0.chunks_exact(2)) {
            if let &[high, low] = pair {
                *o = nibble(high) << 4 | nibble(low);
            }
        }
        out
    }

    /// Its 64 lowercase hex digits.
    fn to_hex(self) -> String {
        // Hex digits are ASCII: the check is a quick scan, not a copy.
        std::str::from_utf8(&self.0).map_or_else(
            |_| String::from_utf8_lossy(&self.0).into_owned(),
            str::to_owned,
        )
    }
}

/// How long a `recorded` is kept inline (`2026-01-01T00:00:00.123456789Z`
/// is 30 bytes).
const INLINE: usize = 38;

/// A record's `recorded` time: inline when short, as it always is from
/// fusion.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Recorded {
    Inline(u8, [u8; INLINE]),
    Heap(String),
}

impl Recorded {
    fn new(text: &str) -> Recorded {
        match (u8::try_from(text.len()), text.as_bytes()) {
            (Ok(len), bytes) if bytes.len() <= INLINE => {
                let mut out = [0u8; INLINE];
                out[..bytes.len()].copy_from_slice(bytes);
                Recorded::Inline(len, out)
            }
            _ => Recorded::Heap(text.to_owned()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Recorded::Inline(len, bytes) => bytes
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Recorded::Heap(s) => s,
        }
    }
}

enum Scan {
    Chain(ChainError),
    Io(std::io::Error),
}

/// How many bytes are read, then parsed on all cores, at a time. 2 MiB
/// verifies as fast as 8 MiB did at 10^6 records, in half the memory.
const BLOCK: usize = 2 << 20;

/// The one loop behind [`verify`] and [`verify_ledger`]: reads blocks of
/// whole lines, parses and hashes them in parallel (`keep` turns each event
/// value into what the caller keeps), then checks seq, links and `recorded`
/// in order and hands each record to `sink` with its line and offset.
/// `fast` may read a line directly into what `keep` would give
/// ([`crate::fast`]); when it returns `None` the line takes the general
/// reader, which alone reports errors.
/// After each block, `progress` gets the bytes verified so far.
/// Returns the number of bytes verified.
fn scan<R: Read, T: Send>(
    mut reader: R,
    threads: usize,
    block: usize,
    keep: impl Fn(Value) -> T + Sync,
    fast: impl Fn(&str) -> Option<(Head, T)> + Sync,
    progress: &dyn Fn(u64),
    mut sink: impl FnMut(Head, T, usize, u64),
) -> Result<u64, Scan> {
    let threads = threads.max(1);
    let mut linker = Linker {
        line: 0,
        offset: 0,
        prev: Digest([b'0'; 64]),
        prev_recorded: None,
    };
    let (keep, fast) = (&keep, &fast);
    std::thread::scope(|s| {
        // Workers live for the whole scan (not one set per block): each
        // keeps its allocator heap warm, and while they parse one block
        // this thread reads the next and links the previous one.
        let workers: Vec<Worker<T>> = if threads == 1 {
            Vec::new()
        } else {
            (0..threads)
                .map(|_| {
                    let (jobs, job_rx) = mpsc::channel::<Job<T>>();
                    let (result_tx, results) = mpsc::channel();
                    s.spawn(move || {
                        for job in job_rx {
                            let Job {
                                bytes,
                                lines,
                                part,
                                mut out,
                            } = job;
                            out.clear();
                            out.extend(lines.get(part).unwrap_or(&[]).iter().map(|r| {
                                parse_line(bytes.get(r.clone()).unwrap_or(&[]), keep, fast)
                            }));
                            // Release the block before answering, so that
                            // the reader can reuse its buffers.
                            drop((bytes, lines));
                            if result_tx.send(out).is_err() {
                                break;
                            }
                        }
                    });
                    Worker { jobs, results }
                })
                .collect()
        };
        let mut pending: VecDeque<Pending<T>> = VecDeque::new();
        // Buffers of finished blocks, for reuse: fresh memory costs a page
        // fault per page (and the allocator returns big blocks at once).
        let mut spare = Spare::default();
        let mut carry: Vec<u8> = Vec::new();
        let mut io_error = None;
        let mut eof = false;
        // Set when the line being read runs past the longest a record can
        // be: reported once the lines before it are linked.
        let mut too_long = false;
        while !eof {
            if carry.len() > crate::record::MAX_LINE_BYTES {
                too_long = true;
                break;
            }
            // Fill up to at least one block (more if one line is longer: as
            // much again as is carried, so that a long line is read in a
            // number of rounds that grows with the log of its length), but
            // never past one byte more than the longest line: a line that is
            // not whole by then is too long, wherever it starts.
            let want = (carry.len() + block.max(1).max(carry.len()))
                .min(crate::record::MAX_LINE_BYTES + 1);
            // Room for the whole block up front (growing by doubling would
            // copy it several times), in the buffer of a finished block when
            // there is one.
            let mut buf = spare.bytes.take().unwrap_or_default();
            buf.clear();
            if buf.capacity() < want {
                // Fresh memory rather than `reserve`, whose reallocation
                // would copy the whole old buffer. With some slack, so that
                // the next block (whose carried-over partial line differs
                // in length) fits without a new buffer.
                buf = Vec::with_capacity(want + block / 8);
            }
            buf.append(&mut carry);
            while buf.len() < want {
                match (&mut reader)
                    .take((want - buf.len()) as u64)
                    .read_to_end(&mut buf)
                {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        // Reported after the lines already read, as a
                        // sequential reader would.
                        io_error = Some(e);
                        eof = true;
                        break;
                    }
                }
            }
            let done = split_complete(&buf).0.len();
            carry.extend_from_slice(buf.get(done..).unwrap_or(&[]));
            buf.truncate(done);
            if done == 0 {
                spare.bytes = Some(buf);
                continue;
            }
            let mut lines = spare.lines.take().unwrap_or_default();
            line_ranges(&buf, &mut lines);
            let (bytes, lines) = (Arc::new(buf), Arc::new(lines));
            let parsed = if workers.is_empty() {
                let parsed = lines
                    .iter()
                    .map(|r| parse_line(bytes.get(r.clone()).unwrap_or(&[]), keep, fast))
                    .collect();
                Some(parsed)
            } else {
                let chunk = lines.len().div_ceil(workers.len()).max(1);
                for (i, w) in workers.iter().enumerate() {
                    let part = (i * chunk).min(lines.len())..((i + 1) * chunk).min(lines.len());
                    // A worker that is gone shows as missing results below.
                    let _ = w.jobs.send(Job {
                        bytes: Arc::clone(&bytes),
                        lines: Arc::clone(&lines),
                        part,
                        out: spare.results.pop().unwrap_or_default(),
                    });
                }
                None
            };
            pending.push_back(Pending {
                bytes,
                len: done,
                lines,
                parsed,
            });
            if pending.len() > 1
                && let Some(p) = pending.pop_front()
            {
                linker.finish(p, &workers, &mut sink, &mut spare)?;
                progress(linker.offset);
            }
        }
        while let Some(p) = pending.pop_front() {
            linker.finish(p, &workers, &mut sink, &mut spare)?;
            progress(linker.offset);
        }
        if too_long {
            return Err(Scan::Chain(ChainError::LineTooLong {
                line: linker.line + 1,
                offset: linker.offset,
            }));
        }
        if let Some(e) = io_error {
            return Err(Scan::Io(e));
        }
        if !carry.is_empty() {
            let line = linker.line + 1;
            let complete_record = std::str::from_utf8(&carry)
                .ok()
                .and_then(|t| Record::parse_line(t).ok())
                .is_some_and(|r| link(&r, line, line as u64, &linker.prev.to_hex()).is_ok());
            return Err(Scan::Chain(ChainError::Torn {
                line,
                bytes: carry.len(),
                offset: linker.offset,
                complete_record,
            }));
        }
        Ok(linker.offset)
    })
}

/// A worker's part of a block: the lines `part` of `lines`, parsed into
/// `out` (an empty buffer to reuse).
struct Job<T> {
    bytes: Arc<Vec<u8>>,
    lines: Arc<Vec<Range<usize>>>,
    part: Range<usize>,
    out: Vec<Parsed<T>>,
}

struct Worker<T> {
    jobs: mpsc::Sender<Job<T>>,
    results: mpsc::Receiver<Vec<Parsed<T>>>,
}

/// Buffers of finished blocks, kept for the next ones.
struct Spare<T> {
    bytes: Option<Vec<u8>>,
    lines: Option<Vec<Range<usize>>>,
    results: Vec<Vec<Parsed<T>>>,
}

impl<T> Default for Spare<T> {
    fn default() -> Self {
        Spare {
            bytes: None,
            lines: None,
            results: Vec::new(),
        }
    }
}

/// A block read and being parsed: its length, its lines, and their results
/// if parsed on the reading thread.
struct Pending<T> {
    bytes: Arc<Vec<u8>>,
    len: usize,
    lines: Arc<Vec<Range<usize>>>,
    parsed: Option<Vec<Parsed<T>>>,
}

/// The sequential part of a scan: seq, links and `recorded`, in order.
struct Linker {
    /// Lines done.
    line: usize,
    /// Bytes done (where the next block starts in the file).
    offset: u64,
    prev: Digest,
    prev_recorded: Option<Recorded>,
}

impl Linker {
    /// Links the lines of `block` and hands them to `sink`; keeps the
    /// block's buffers in `spare` once no worker holds them.
    fn finish<T>(
        &mut self,
        block: Pending<T>,
        workers: &[Worker<T>],
        sink: &mut impl FnMut(Head, T, usize, u64),
        spare: &mut Spare<T>,
    ) -> Result<(), Scan> {
        let parts: Vec<Vec<Parsed<T>>> = match block.parsed {
            Some(parsed) => vec![parsed],
            None => workers
                .iter()
                .map(|w| {
                    // A parser thread cannot panic on any input; should it,
                    // report its lines as unreadable rather than
                    // propagating the panic.
                    w.results.recv().unwrap_or_else(|_| {
                        vec![Err(LineError::Record(RecordError::Json(
                            "internal error while parsing".into(),
                        )))]
                    })
                })
                .collect(),
        };
        let mut ranges = block.lines.iter();
        for mut part in parts {
            for (result, range) in part.drain(..).zip(ranges.by_ref()) {
                self.line += 1;
                let line = self.line;
                self.link(result, line, self.offset + range.start as u64, sink)?;
            }
            spare.results.push(part);
        }
        self.offset += block.len as u64;
        if let Ok(bytes) = Arc::try_unwrap(block.bytes) {
            spare.bytes = Some(bytes);
        }
        if let Ok(lines) = Arc::try_unwrap(block.lines) {
            spare.lines = Some(lines);
        }
        Ok(())
    }

    /// Checks the record of line `line` (parsed as `result`) against the
    /// previous one and hands it to `sink`.
    fn link<T>(
        &mut self,
        result: Parsed<T>,
        line: usize,
        offset: u64,
        sink: &mut impl FnMut(Head, T, usize, u64),
    ) -> Result<(), Scan> {
        let expected = line as u64;
        let (head, kept) = result.map_err(|e| {
            Scan::Chain(match e {
                LineError::Utf8(offset) => ChainError::Utf8 { line, offset },
                LineError::Record(error) => ChainError::Record {
                    line,
                    seq: expected,
                    error,
                },
            })
        })?;
        if head.seq != expected || head.prev != self.prev {
            link_parts(
                head.seq,
                &head.prev.to_hex(),
                line,
                expected,
                &self.prev.to_hex(),
            )
            .map_err(Scan::Chain)?;
        }
        // Mostly the same time as the previous record's: compared inline.
        if let Some(before) = &self.prev_recorded
            && *before != head.recorded
        {
            recorded_after(head.seq, head.recorded.as_str(), before.as_str(), line)
                .map_err(Scan::Chain)?;
        }
        self.prev = head.hash;
        self.prev_recorded = Some(head.recorded.clone());
        sink(head, kept, line, offset);
        Ok(())
    }
}

/// Checks that `record` follows the record whose hash is `prev`.
pub fn link(record: &Record, line: usize, expected_seq: u64, prev: &str) -> Result<(), ChainError> {
    link_parts(record.seq, &record.prev, line, expected_seq, prev)
}

fn link_parts(
    seq: u64,
    record_prev: &str,
    line: usize,
    expected_seq: u64,
    prev: &str,
) -> Result<(), ChainError> {
    if seq != expected_seq {
        return Err(ChainError::Seq {
            line,
            found: seq,
            expected: expected_seq,
        });
    }
    if record_prev != prev {
        return Err(ChainError::Link {
            line,
            seq,
            found: record_prev.to_owned(),
            expected: prev.to_owned(),
        });
    }
    Ok(())
}

/// Checks that `record` was not recorded before `before`, the record
/// preceding it.
pub fn check_recorded(record: &Record, before: &Record, line: usize) -> Result<(), ChainError> {
    recorded_after(record.seq, &record.recorded, &before.recorded, line)
}

fn recorded_after(seq: u64, recorded: &str, before: &str, line: usize) -> Result<(), ChainError> {
    let time = crate::record::recorded_time;
    // Both parse: `Record::from_value` refused any other `recorded`.
    if recorded != before && time(recorded) < time(before) {
        return Err(ChainError::Recorded {
            line,
            seq,
            found: recorded.to_owned(),
            previous: before.to_owned(),
        });
    }
    Ok(())
}

/// Splits off an incomplete final line (bytes after the last newline).
pub fn split_complete(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().rposition(|b| *b == b'\n') {
        Some(i) => bytes.split_at(i + 1),
        None => (&bytes[..0], bytes),
    }
}

/// The byte ranges of the lines (without newlines) of complete lines, into
/// `out` (emptied first).
fn line_ranges(complete: &[u8], out: &mut Vec<Range<usize>>) {
    out.clear();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', complete) {
        out.push(start..end);
        start = end + 1;
    }
}

enum LineError {
    Utf8(usize),
    Record(RecordError),
}

fn parse_line<T>(
    bytes: &[u8],
    keep: &impl Fn(Value) -> T,
    fast: &impl Fn(&str) -> Option<(Head, T)>,
) -> Result<(Head, T), LineError> {
    let text = std::str::from_utf8(bytes).map_err(|e| LineError::Utf8(e.valid_up_to()))?;
    if let Some(done) = fast(text) {
        return Ok(done);
    }
    let r = Record::parse_line(text).map_err(LineError::Record)?;
    // The reader checked both hashes' form.
    let head = Head::new(r.seq, &r.recorded, &r.prev, &r.hash).ok_or_else(|| {
        LineError::Record(RecordError::Json(
            "internal error: a hash not in hex".into(),
        ))
    })?;
    Ok((head, keep(r.event)))
}

type Parsed<T> = Result<(Head, T), LineError>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ledger(n: u64) -> Vec<u8> {
        let mut prev = GENESIS_PREV.to_owned();
        let mut out = Vec::new();
        for seq in 1..=n {
            let event = json!({"type": "dissolved", "date": "2008", "org": format!("o{seq}"), "sources": [{"doc": "t"}]});
            let r = Record::seal(seq, "2026-01-01T00:00:00Z".into(), event, prev);
            prev = r.hash.clone();
            out.extend_from_slice(r.to_line().as_bytes());
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn an_intact_chain_verifies_sequentially_and_in_parallel() {
        let bytes = ledger(3000);
        let one = verify(&bytes, 1).expect("valid");
        let two = verify(&bytes, 2).expect("valid");
        assert_eq!(one.len(), 3000);
        assert_eq!(one.head_hash(), two.head_hash());
        assert_eq!(
            verify(b"", 2).expect("empty is valid").head_hash(),
            GENESIS_PREV
        );
    }

    #[test]
    fn a_removed_record_breaks_the_seq_and_a_reordered_one_the_link() {
        let bytes = ledger(3);
        let text = String::from_utf8(bytes).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        let removed = format!("{}\n{}\n", lines[0], lines[2]);
        assert!(matches!(
            verify(removed.as_bytes(), 1),
            Err(ChainError::Seq {
                line: 2,
                found: 3,
                expected: 2
            })
        ));
        // Line 1 of another chain followed by line 2 of this one: each record
        // hashes correctly, but the second no longer links to the first.
        let other_first = Record::seal(
            1,
            "2026-01-01T00:00:00Z".into(),
            json!({"type": "dissolved", "date": "2008", "org": "x1", "sources": [{"doc": "t"}]}),
            GENESIS_PREV.into(),
        );
        let spliced = format!("{}\n{}\n", other_first.to_line(), lines[1]);
        assert!(matches!(
            verify(spliced.as_bytes(), 1),
            Err(ChainError::Link {
                line: 2,
                seq: 2,
                ..
            })
        ));
    }

    #[test]
    fn a_torn_tail_is_not_tampering() {
        let mut bytes = ledger(2);
        bytes.extend_from_slice(b"{\"v\":1,\"seq\":3,\"rec");
        match verify(&bytes, 1) {
            Err(ChainError::Torn {
                line: 3,
                bytes: 19,
                complete_record: false,
                ..
            }) => {}
            other => panic!("expected a torn tail, got {other:?}"),
        }
        let mut whole = ledger(3);
        whole.pop();
        assert!(matches!(
            verify(&whole, 1),
            Err(ChainError::Torn {
                line: 3,
                complete_record: true,
                ..
            })
        ));
    }

    #[test]
    fn recorded_going_back_is_refused() {
        let first = Record::seal(
            1,
            "2026-01-02T00:00:00Z".into(),
            json!({}),
            GENESIS_PREV.into(),
        );
        let second = Record::seal(
            2,
            "2026-01-01T23:59:59Z".into(),
            json!({}),
            first.hash.clone(),
        );
        let text = format!("{}\n{}\n", first.to_line(), second.to_line());
        assert!(matches!(
            verify(text.as_bytes(), 1),
            Err(ChainError::Recorded {
                line: 2,
                seq: 2,
                ..
            })
        ));
        let same = Record::seal(
            2,
            "2026-01-02T00:00:00Z".into(),
            json!({}),
            first.hash.clone(),
        );
        let text = format!("{}\n{}\n", first.to_line(), same.to_line());
        assert!(verify(text.as_bytes(), 1).is_ok());
    }

    #[test]
    fn recorded_has_one_exact_form() {
        // given records sealed (validly hashed) with each `recorded`
        let line = |recorded: &str| {
            let r = Record::seal(1, recorded.into(), json!({}), GENESIS_PREV.into());
            format!("{}\n", r.to_line())
        };
        // then the ledger's form passes, fractions of 1 to 9 digits included
        for ok in [
            "2026-01-02T00:00:00Z",
            "2026-01-02T00:00:00.5Z",
            "2026-01-02T00:00:00.123456789Z",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(verify(line(ok).as_bytes(), 1).is_ok(), "{ok}");
        }
        // and every other RFC 3339 spelling is refused, naming the member
        for bad in [
            "2026-01-02t00:00:00Z",
            "2026-01-02 00:00:00Z",
            "2026-01-02T00:00:00z",
            "2026-01-02T00:00:00.1234567891Z",
            "2026-01-02T00:00:00.Z",
            "2026-01-02T00:00:00+00:00",
            "2026-01-02T00:00Z",
        ] {
            match verify(line(bad).as_bytes(), 1) {
                Err(ChainError::Record { line: 1, error, .. }) => {
                    assert!(error.to_string().contains("`recorded`"), "{bad}: {error}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        // and the fast path of a typed scan agrees, on a valid event
        let event = json!({"type": "created", "date": "2008", "id": "e", "name": "E", "kind": "k",
                           "sources": [{"doc": "d"}]});
        let typed = |recorded: &str| {
            let r = Record::seal(1, recorded.into(), event.clone(), GENESIS_PREV.into());
            verify_ledger_in_blocks(format!("{}\n", r.to_line()).as_bytes(), 2, 1 << 16, &|_| {})
        };
        assert!(typed("2026-01-02T00:00:00.123456789Z").is_ok());
        for bad in ["2026-01-02t00:00:00Z", "2026-01-02T00:00:00.1234567891Z"] {
            match typed(bad) {
                Err(LedgerError::Chain(ChainError::Record { error, .. })) => {
                    assert!(error.to_string().contains("`recorded`"), "{bad}: {error}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    /// `verify_ledger` in blocks of `block` bytes, with `verify` plus a
    /// typed parse of every event as the reference.
    fn both_agree(bytes: &[u8], block: usize) {
        let lean = verify_ledger_in_blocks(bytes, 2, block, &|_| {});
        match verify(bytes, 1) {
            Err(e) => match lean {
                Err(LedgerError::Chain(l)) => assert_eq!(l, e),
                other => panic!("expected {e:?}, got {other:?}"),
            },
            Ok(chain) => {
                let typed: Result<Vec<Entry>, (usize, RecordError)> = chain
                    .records
                    .iter()
                    .enumerate()
                    .map(|(i, r)| r.entry().map_err(|e| (i + 1, e)))
                    .collect();
                match (typed, lean) {
                    (Ok(entries), Ok(l)) => {
                        assert_eq!(l.entries, entries);
                        assert_eq!(l.bytes, bytes.len() as u64);
                        for (i, r) in chain.records.iter().enumerate() {
                            let range = l.line_range(i).expect("in range");
                            assert_eq!(&bytes[range], r.to_line().as_bytes());
                        }
                    }
                    (Err((line, e)), Err(LedgerError::Event { line: l, error, .. })) => {
                        assert_eq!((l, error), (line, e));
                    }
                    (t, l) => panic!("disagree: {t:?} / {l:?}"),
                }
            }
        }
    }

    #[test]
    fn the_streaming_typed_load_reports_what_verify_reports_at_any_block_size() {
        let good = ledger(1500);
        let text = String::from_utf8(good.clone()).expect("utf8");
        let mut bad_event = ledger(2);
        let third = Record::seal(
            3,
            "2026-01-01T00:00:00Z".into(),
            json!({"type": "dissolved", "date": "2008", "org": "o3", "sources": [{"doc": "t"}], "nmae": 1}),
            String::from_utf8(bad_event.clone())
                .expect("utf8")
                .lines()
                .last()
                .and_then(|l| Record::parse_line(l).ok())
                .map(|r| r.hash)
                .expect("head"),
        );
        bad_event.extend_from_slice(third.to_line().as_bytes());
        bad_event.push(b'\n');
        let mut bad_event_then_torn = bad_event.clone();
        bad_event_then_torn.extend_from_slice(b"{\"v\":1");
        let mut bad_event_then_tampered = bad_event.clone();
        bad_event_then_tampered.extend_from_slice(&ledger(1));
        let cases: Vec<Vec<u8>> = vec![
            good.clone(),
            Vec::new(),
            text.replace("\"o1200\"", "\"o9\"").into_bytes(),
            good[..good.len() - 1].to_vec(),
            bad_event,
            bad_event_then_torn,
            bad_event_then_tampered,
            b"\xff\n".to_vec(),
        ];
        for bytes in &cases {
            for block in [1, 7, 300, 4096, 1 << 20] {
                both_agree(bytes, block);
            }
        }
    }

    #[test]
    fn progress_reports_increasing_byte_totals_that_end_at_the_ledger_length() {
        // Given a ledger of 2000 records read in blocks of 4 KiB
        let bytes = ledger(2000);
        for threads in [1, 2] {
            let seen = std::cell::RefCell::new(Vec::new());
            // When it is verified with a progress callback
            let ledger = verify_ledger_in_blocks(bytes.as_slice(), threads, 4096, &|done| {
                seen.borrow_mut().push(done);
            })
            .expect("verifies");
            // Then the callback saw many strictly increasing totals, each at
            // a line boundary, the last being the whole file
            let seen = seen.into_inner();
            assert!(seen.len() > 10, "{} calls", seen.len());
            assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
            assert!(seen.iter().all(|&d| bytes[d as usize - 1] == b'\n'));
            assert_eq!(seen.last().copied(), Some(bytes.len() as u64));
            assert_eq!(ledger.bytes, bytes.len() as u64);
        }
        // And the public entry point reports the whole length too
        let last = std::cell::Cell::new(0);
        let ledger = verify_ledger_with_progress(bytes.as_slice(), 2, &|done| last.set(done))
            .expect("verifies");
        assert_eq!(last.get(), bytes.len() as u64);
        assert_eq!(ledger.len(), 2000);
    }

    #[test]
    fn progress_stops_short_of_a_torn_tail() {
        // Given a ledger whose last line is cut
        let bytes = ledger(300);
        let cut = &bytes[..bytes.len() - 5];
        let last = std::cell::Cell::new(0);
        // When it is verified, then the error is a torn tail and progress
        // never counted the torn bytes
        let result = verify_ledger_in_blocks(cut, 1, 1024, &|done| last.set(done));
        assert!(matches!(
            result,
            Err(LedgerError::Chain(ChainError::Torn { .. }))
        ));
        assert!(last.get() > 0);
        assert!(last.get() < cut.len() as u64);
        assert_eq!(cut[last.get() as usize - 1], b'\n');
    }

    #[test]
    fn line_ranges_split_at_every_newline() {
        for text in [
            "",
            "\n",
            "a\n",
            "\n\n\n",
            "0123456\n01234567\n0123456789abcdef\nx\n",
        ] {
            let expected: Vec<Range<usize>> = {
                let mut at = 0;
                text.split_terminator('\n')
                    .map(|l| {
                        let r = at..at + l.len();
                        at += l.len() + 1;
                        r
                    })
                    .collect()
            };
            let mut got = Vec::from([0..1, 2..3]);
            line_ranges(text.as_bytes(), &mut got);
            assert_eq!(got, expected, "{text:?}");
        }
    }

    #[test]
    fn a_changed_byte_is_a_hash_mismatch_on_its_line() {
        let text = String::from_utf8(ledger(3))
            .expect("utf8")
            .replace("\"o2\"", "\"o9\"");
        assert!(matches!(
            verify(text.as_bytes(), 1),
            Err(ChainError::Record {
                line: 2,
                seq: 2,
                error: RecordError::Hash { .. }
            })
        ));
    }
}
