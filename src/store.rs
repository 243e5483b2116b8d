//! The ledger file on disk: create, read, append, repair.
//!
//! Safety rules, in the order an append follows them:
//!
//! 1. take an exclusive lock on the ledger file (`File::lock`), so that
//!    concurrent appenders take turns;
//! 2. read the ledger's last record ([`read_tail`]); if the append index
//!    describes it and can check the batch ([`crate::index`]), go to 3;
//!    otherwise read and verify the whole chain, refusing to append to a
//!    broken ledger, and validate the batch against the whole timeline (or,
//!    for a backdated batch the index cannot check, against the timelines
//!    it touches: [`crate::fold::recheck_touched`]);
//! 3. check `--expect-head`, then validate the batch;
//! 4. write a journal `<ledger>.journal` holding the ledger's length before
//!    the append, fsync it and its directory;
//! 5. append every line of the batch in one write, `sync_data`;
//! 6. remove the journal and fsync the directory;
//! 7. update (or rebuild) the append index, still under the lock; only then
//!    report success. The index is a cache: failing to write it does not
//!    undo the append. A rebuild removes the old index and writes its
//!    buckets while 4–6 run, and its `HEAD` only once 6 is done, so the
//!    index never describes a batch that is not in the ledger.
//!
//! A crash between 4 and 6 leaves the journal: [`repair`] truncates the
//! ledger back to the recorded length (the batch was never acknowledged), so
//! a batch is all or nothing even across crashes. A final line without a
//! newline and no journal (an append by another tool, a copy cut short) is
//! also repaired, by removing that incomplete line; a complete record is
//! never removed.
//!
//! Through the full validation, the batch is sealed (canonical form, hash
//! chain) on a second thread while the fold validates it; nothing reaches
//! the file before the fold has accepted the whole batch.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use serde_json::Value;

use crate::chain::{self, ChainError, Ledger, LedgerError};
use crate::event::Event;
use crate::fold::ValidationError;
use crate::index::{self, Declined};
use crate::record::{Record, RecordError};

/// What went wrong with the ledger file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An operating-system error on a file.
    #[error("cannot {op} `{path}`: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The ledger does not exist.
    #[error(
        "no ledger at `{path}`; create one with `fusion init --ledger {path}`, or pass --ledger / set FUSION_LEDGER"
    )]
    Missing {
        /// The path tried.
        path: PathBuf,
    },
    /// The ledger's path names a directory.
    #[error(
        "`{path}` is a directory, not a ledger; pass the ledger's file with --ledger (or FUSION_LEDGER)"
    )]
    Directory {
        /// The path tried.
        path: PathBuf,
    },
    /// `init` on an existing file.
    #[error("`{path}` already exists; fusion never overwrites a ledger")]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// The lock is held by another process and waiting was not allowed.
    #[error(
        "`{path}` is locked by another fusion process; try again, or drop --no-wait to wait for it"
    )]
    Locked {
        /// The ledger.
        path: PathBuf,
    },
    /// `--expect-head` did not match.
    #[error(
        "the ledger head moved: expected {expected}, found {actual} (seq {seq}); another append got there first — re-read the ledger and retry"
    )]
    HeadMoved {
        /// The head the caller expected.
        expected: String,
        /// The actual head hash.
        actual: String,
        /// The actual head seq.
        seq: u64,
    },
    /// The chain does not verify.
    #[error("`{path}` {error}")]
    Chain {
        /// The ledger.
        path: PathBuf,
        /// The first problem.
        error: ChainError,
    },
    /// A journal shows an append was interrupted.
    #[error(
        "an append to `{path}` was interrupted (journal `{journal}` is present); run `fusion repair`"
    )]
    Interrupted {
        /// The ledger.
        path: PathBuf,
        /// The journal file.
        journal: PathBuf,
    },
    /// An incomplete last line with no journal: no interrupted append of
    /// fusion's leaves one, so `repair` leaves it unless told to drop it.
    #[error(
        "`{path}` line {line}: incomplete last line ({bytes} bytes without a final newline), and no journal says an append was interrupted: fusion's appends never leave one, so this is a record cut short by something else (a copy or download cut short, a disk fault){}; nothing was changed (hint: restore the ledger from a backup or from where it came; `fusion repair --discard-incomplete` drops the incomplete line)",
        acknowledged_phrase(*line, *seen)
    )]
    CutShort {
        /// The ledger.
        path: PathBuf,
        /// The incomplete line, 1-based (the seq its record would have).
        line: usize,
        /// Its length.
        bytes: usize,
        /// The last seq the append index saw, if it saw this record: the
        /// records from `line` to it were acknowledged.
        seen: Option<u64>,
    },
    /// A journal that the ledger contradicts: repair refuses to act on it.
    #[error(
        "`{path}`: the journal `{journal}` does not match the ledger ({why}); nothing was changed (hint: with no append running, move the journal aside, e.g. to `{journal}.bad`, then run `fusion verify` and compare the ledger with a backup or a checkpoint)"
    )]
    JournalMismatch {
        /// The ledger.
        path: PathBuf,
        /// The journal file.
        journal: PathBuf,
        /// What disagrees.
        why: String,
    },
    /// A record's event does not parse into the vocabulary.
    #[error("`{path}` line {line} (seq {seq}): {error}")]
    Event {
        /// The ledger.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The seq.
        seq: u64,
        /// What is wrong.
        error: RecordError,
    },
    /// A batch event whose record would be longer than a ledger line may
    /// be ([`crate::record::MAX_LINE_BYTES`]): readers would refuse it, so
    /// nothing is written. `event::parse_batch` refuses such events first;
    /// events built by other means reach this guard.
    #[error(
        "event #{index} of the batch (seq {seq}) would make a record of {bytes} bytes, over the {max} bytes a ledger line may hold; nothing was written (hint: keep long texts in the cited documents, not in the ledger)"
    )]
    LineTooLong {
        /// The ledger.
        path: PathBuf,
        /// 1-based position of the event in the batch.
        index: u64,
        /// The seq its record would have had.
        seq: u64,
        /// The record's length, without its newline.
        bytes: usize,
        /// The most a line may hold.
        max: usize,
    },
    /// The append index saw more records than the ledger holds: records
    /// that were appended and acknowledged are gone (the file was cut
    /// short, or replaced by an older copy). Nothing is appended: a new
    /// record would take a lost one's seq and hide the loss.
    #[error(
        "`{path}` holds {records} records, but its append index `{index}` saw seq {seen}: records {}..={seen} were appended and acknowledged, and are no longer in the ledger (cut short, or replaced by an older copy); nothing was appended, since a new record would take a lost one's place (hint: restore the ledger from a backup; if those records were dropped on purpose, delete `{index}` and append again)",
        records + 1
    )]
    Lost {
        /// The ledger.
        path: PathBuf,
        /// The index directory.
        index: PathBuf,
        /// The last seq the index saw.
        seen: u64,
        /// How many records the ledger holds.
        records: u64,
    },
    /// The append index saw another record at its seq than the ledger
    /// holds there: the ledger was rewritten since that append. Nothing is
    /// appended.
    #[error(
        "`{path}` holds another record at seq {seq} than its append index `{index}` saw there (hash {hash}): the ledger was rewritten since that append; nothing was appended (hint: restore it from a backup, or compare it with a checkpoint, `fusion verify --checkpoint`; if the rewrite was deliberate, delete `{index}` and append again)"
    )]
    Rewritten {
        /// The ledger.
        path: PathBuf,
        /// The index directory.
        index: PathBuf,
        /// The seq the index saw last.
        seq: u64,
        /// The hash it saw there.
        hash: String,
    },
    /// A record read a second time (by a command that streams the ledger:
    /// a replay's fold, `log`, `prove`, the records' CSV) is not the one
    /// verified the first time, or is no longer there.
    #[error(
        "`{path}` changed while it was being read: the record of seq {seq} reads differently the second time; run the command again, then `fusion verify`"
    )]
    Changed {
        /// The ledger.
        path: PathBuf,
        /// The record's seq.
        seq: u64,
    },
}

impl StoreError {
    /// Maps an error opening or reading the ledger: a missing file is
    /// [`StoreError::Missing`] (with its hint), anything else an I/O error.
    fn opening<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
        move |source| match source.kind() {
            io::ErrorKind::NotFound => StoreError::Missing {
                path: path.to_owned(),
            },
            io::ErrorKind::IsADirectory => StoreError::Directory {
                path: path.to_owned(),
            },
            _ => StoreError::Io {
                op,
                path: path.to_owned(),
                source,
            },
        }
    }

    fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
        move |source| StoreError::Io {
            op,
            path: path.to_owned(),
            source,
        }
    }
}

/// How `append` behaves.
#[derive(Debug, Clone, Default)]
pub struct AppendOptions {
    /// Fail unless the head hash (or a unique prefix of it) is this.
    pub expect_head: Option<String>,
    /// Fail at once instead of waiting when another process holds the lock.
    pub no_wait: bool,
    /// The `recorded` time to stamp, RFC 3339 UTC with `Z`. If it is earlier
    /// than the last record's, the last record's time is used instead, so
    /// that `recorded` never decreases along the chain.
    pub recorded: String,
    /// A clock, read once the ledger's lock is held, whose time replaces
    /// `recorded`: an append that waited for the lock stamps the time it
    /// was made, not the time the command started (so `--known-at TIME`
    /// never counts a record that was not yet in the ledger at TIME). The
    /// library reads no clock of its own; `None` stamps `recorded`.
    pub clock: Option<fn() -> String>,
}

/// The result of a successful append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Seq of the first new record.
    pub first_seq: u64,
    /// Seq of the new head.
    pub head_seq: u64,
    /// Hash of the new head.
    pub head_hash: String,
    /// Why the journal could not be removed once the batch was synced, if it
    /// could not: the batch is durable and acknowledged, and until `fusion
    /// repair` (which keeps it) removes the journal, other commands stop at it.
    pub journal_left: Option<String>,
    /// The `recorded` time the new records carry: the one asked for, or the
    /// last record's when that is later (`recorded` never decreases).
    pub recorded: String,
    /// The time asked for: the clock's, read once the lock was held, or
    /// [`AppendOptions::recorded`].
    pub asked: String,
}

/// What `repair` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repaired {
    /// Nothing needed repair.
    Nothing,
    /// A journal cut short while it was being written — before the ledger
    /// was touched — was removed; the ledger needed nothing.
    DiscardedJournal,
    /// An interrupted batch was rolled back to the length in the journal.
    RolledBack {
        /// Bytes removed from the end.
        removed_bytes: u64,
    },
    /// The interrupted batch had been written whole; it was kept.
    Completed {
        /// The head seq, with the batch.
        head_seq: u64,
    },
    /// An incomplete final line was removed, as asked
    /// (`discard_incomplete`).
    RemovedIncomplete {
        /// Its 1-based line number.
        line: usize,
        /// Its length.
        bytes: usize,
    },
    /// A complete final record lacked only its newline, which was added.
    AddedNewline {
        /// Its 1-based line number.
        line: usize,
    },
}

/// What [`StoreError::CutShort`] says of the records the append index saw.
fn acknowledged_phrase(line: usize, seen: Option<u64>) -> String {
    seen.map_or_else(String::new, |seen| {
        format!(
            "; the append index last saw seq {seen}, so records {line}..={seen} were acknowledged"
        )
    })
}

/// The journal path of a ledger: `<ledger>.journal`.
///
/// The path is resolved first (symlinks, `..`), so that every way of naming
/// the same ledger finds the same journal.
pub fn journal_path(path: &Path) -> PathBuf {
    beside(path, ".journal")
}

/// The ledger's path resolved (symlinks, `..`) with `suffix` appended: where
/// its journal and its append index live, the same for every way of naming
/// the ledger.
pub fn beside(path: &Path, suffix: &str) -> PathBuf {
    let real = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut name = real.into_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates an empty ledger; fails if the file exists.
pub fn init(path: &Path) -> Result<(), StoreError> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                StoreError::Exists {
                    path: path.to_owned(),
                }
            } else {
                StoreError::Io {
                    op: "create",
                    path: path.to_owned(),
                    source: e,
                }
            }
        })?;
    file.sync_all().map_err(StoreError::io("sync", path))?;
    sync_dir(path)
}

/// Reads the ledger's bytes.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, StoreError> {
    fs::read(path).map_err(StoreError::opening("read", path))
}

/// Opens the ledger for reading.
fn open(path: &Path) -> Result<File, StoreError> {
    let file = File::open(path).map_err(StoreError::opening("read", path))?;
    // Opening a directory succeeds; reading it does not.
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(StoreError::Directory {
            path: path.to_owned(),
        });
    }
    Ok(file)
}

fn ledger_error(path: &Path, e: LedgerError) -> StoreError {
    match e {
        LedgerError::Chain(error) => StoreError::Chain {
            path: path.to_owned(),
            error,
        },
        LedgerError::Event { line, seq, error } => StoreError::Event {
            path: path.to_owned(),
            line,
            seq,
            error,
        },
        LedgerError::Io(source) => StoreError::Io {
            op: "read",
            path: path.to_owned(),
            source,
        },
    }
}

/// Reads, verifies and types the whole ledger in one streaming pass (see
/// [`chain::verify_ledger`]): the one loading function of every command.
/// An interrupted append (journal present) is reported as such; then the
/// first chain problem in ledger order, a torn tail, or the first record
/// whose event is not in the vocabulary.
pub fn load(path: &Path, threads: usize) -> Result<Ledger, StoreError> {
    load_with_progress(path, threads, &|_| {})
}

/// [`load`], reporting progress: `progress` gets the bytes verified so far
/// after each block (see [`chain::verify_ledger_with_progress`]); the last
/// total of a ledger that loads is its length in bytes.
pub fn load_with_progress(
    path: &Path,
    threads: usize,
    progress: &dyn Fn(u64),
) -> Result<Ledger, StoreError> {
    load_shared_with_progress(path, threads, progress).map(|(_, l)| l)
}

/// [`load_with_progress`], returning the file too, still open and
/// share-locked: until it is dropped no append changes the ledger, nor the
/// append index beside it (an append holds its exclusive lock until the
/// index is written). For checks that read the index after the ledger.
pub fn load_shared_with_progress(
    path: &Path,
    threads: usize,
    progress: &dyn Fn(u64),
) -> Result<(File, Ledger), StoreError> {
    read_with(path, |r| {
        let bytes = r.get_ref().metadata().map_or(0, |m| m.len());
        chain::verify_ledger_sized(r, threads, bytes, progress)
    })
}

/// [`load_with_progress`] without keeping the events: the same checks and
/// errors, in memory that does not grow with the ledger (see
/// [`chain::check_ledger_with_progress`]).
pub fn check_with_progress(
    path: &Path,
    threads: usize,
    progress: &dyn Fn(u64),
) -> Result<chain::Checked, StoreError> {
    read_with(path, |r| {
        chain::check_ledger_with_progress(r, threads, progress)
    })
    .map(|(_, c)| c)
}

/// [`load_with_progress`] keeping of each event only what `quick` or `keep`
/// makes of it (see [`chain::scan_ledger_with_progress`]): the same checks and
/// errors, without holding the ledger. Returns the file, still open and
/// share-locked so that no append changes it, for reading records back with
/// [`reread`], and the number of bytes verified.
pub fn scan_with_progress<E: Send>(
    path: &Path,
    threads: usize,
    progress: &dyn Fn(u64),
    quick: impl Fn(chain::Glance<'_>) -> Option<E> + Sync,
    keep: impl Fn(Event) -> E + Sync,
    sink: impl FnMut(chain::Scanned<E>),
) -> Result<(File, u64), StoreError> {
    read_with(path, |r| {
        chain::scan_ledger_with_progress(r, threads, progress, quick, keep, sink)
    })
}

/// [`scan_with_progress`] building every event for `keep` (see
/// [`chain::stream_ledger_with_progress`]). Once `stop` is set, the file is
/// read no further: the scan ends as if the file ended there (a torn last
/// line, or fewer records), and what it returns then says nothing of the
/// file.
pub fn stream_with_progress<E: Send>(
    path: &Path,
    threads: usize,
    progress: &dyn Fn(u64),
    stop: &AtomicBool,
    keep: impl Fn(Event) -> E + Sync,
    sink: impl FnMut(chain::Scanned<E>),
) -> Result<(File, u64), StoreError> {
    read_with(path, |r| {
        let r = Stoppable { inner: r, stop };
        chain::stream_ledger_with_progress(r, threads, progress, keep, sink)
    })
}

/// A reader that reads nothing more once `stop` is set.
struct Stoppable<'s, R> {
    inner: R,
    stop: &'s AtomicBool,
}

impl<R: Read> Read for Stoppable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        self.inner.read(buf)
    }
}

/// A verified ledger as its Merkle tree needs it ([`read_leaves`]): each
/// record's hash and where its line starts, 40 bytes a record, and the
/// file, still share-locked, to read a record back.
#[derive(Debug)]
pub struct Leaves {
    path: PathBuf,
    file: File,
    /// The verified length.
    bytes: u64,
    /// `hashes[i]` is record `i + 1`'s hash.
    hashes: Vec<[u8; 32]>,
    /// `offsets[i]` is where record `i + 1`'s line starts.
    offsets: Vec<u64>,
}

/// Reads and verifies the ledger at `path` (the checks and errors of
/// [`load`]) keeping only what [`Leaves`] holds: what `checkpoint` and
/// `prove` need, 40 bytes a record (about a tenth of the file; the tree
/// built from it adds 64 bytes a record more) rather than several times
/// the file.
pub fn read_leaves(
    path: &Path,
    threads: usize,
    progress: &dyn Fn(u64),
) -> Result<Leaves, StoreError> {
    let mut hashes = Vec::new();
    let mut offsets = Vec::new();
    let (file, bytes) = scan_with_progress(
        path,
        threads,
        progress,
        |_| Some(()),
        drop,
        |s: chain::Scanned<()>| {
            hashes.push(s.hash);
            offsets.push(s.offset);
        },
    )?;
    Ok(Leaves {
        path: path.to_owned(),
        file,
        bytes,
        hashes,
        offsets,
    })
}

impl Leaves {
    /// The number of records.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the ledger has no record.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The last record's hash, or 64 zeros for an empty ledger.
    pub fn head_hash(&self) -> String {
        self.hashes.last().map_or_else(
            || crate::record::GENESIS_PREV.to_owned(),
            |h| crate::record::hex(h),
        )
    }

    /// The Merkle tree over the records, as
    /// [`crate::merkle::Tree::from_record_hashes`] builds it from the loaded
    /// ledger's hashes.
    pub fn tree(&self) -> crate::merkle::Tree {
        crate::merkle::Tree::from_leaf_hashes(
            self.hashes
                .iter()
                .map(|h| crate::merkle::leaf_hash(h))
                .collect(),
        )
    }

    /// The record at `seq`, read back from the file (`None` past the head),
    /// as [`record_at`] gives it from the loaded ledger. A line that no
    /// longer holds the record verified is [`StoreError::Changed`].
    pub fn record(&self, seq: u64) -> Result<Option<Record>, StoreError> {
        let Some(index) = seq.checked_sub(1).and_then(|i| usize::try_from(i).ok()) else {
            return Ok(None);
        };
        let (Some(&start), Some(hash)) = (self.offsets.get(index), self.hashes.get(index)) else {
            return Ok(None);
        };
        let end = self.offsets.get(index + 1).copied().unwrap_or(self.bytes);
        let changed = || StoreError::Changed {
            path: self.path.clone(),
            seq,
        };
        let len = usize::try_from(end.saturating_sub(start)).map_err(|_| changed())?;
        let mut line = vec![0u8; len];
        std::os::unix::fs::FileExt::read_exact_at(&self.file, &mut line, start).map_err(
            |source| match source.kind() {
                io::ErrorKind::UnexpectedEof => changed(),
                _ => StoreError::Io {
                    op: "read",
                    path: self.path.clone(),
                    source,
                },
            },
        )?;
        let line = line.strip_suffix(b"\n").ok_or_else(changed)?;
        let record = parse_stored(&self.path, line, index).map_err(|_| changed())?;
        // Its content hashes to the hash it states (`parse_stored`
        // checks), which must be the one verified.
        if record.seq == seq && record.hash == crate::record::hex(hash) {
            Ok(Some(record))
        } else {
            Err(changed())
        }
    }
}

/// Opens the ledger to read it whole ([`open_to_read`]) and runs `scan` over
/// it; returns the file, still share-locked, with what `scan` found.
fn read_with<T>(
    path: &Path,
    scan: impl FnOnce(io::BufReader<&File>) -> Result<T, LedgerError>,
) -> Result<(File, T), StoreError> {
    let file = open_to_read(path)?;
    let found =
        scan(io::BufReader::with_capacity(1 << 16, &file)).map_err(|e| ledger_error(path, e))?;
    Ok((file, found))
}

/// The event of the record `seq` read back from its `line` (without its
/// newline) after a scan verified it with hash `hash`. A line that no longer
/// reads as that record is [`StoreError::Changed`].
pub fn reread(path: &Path, line: &[u8], seq: u64, hash: &str) -> Result<Event, StoreError> {
    let changed = || StoreError::Changed {
        path: path.to_owned(),
        seq,
    };
    let text = std::str::from_utf8(line).map_err(|_| changed())?;
    if let Some((found, event)) = crate::fast::reread(text, hash) {
        return if found == seq {
            Ok(event)
        } else {
            Err(changed())
        };
    }
    if let Some(f) = crate::fast::entry(text) {
        return if f.seq == seq && f.hash == hash {
            Ok(f.event)
        } else {
            Err(changed())
        };
    }
    let record = Record::parse_line(text).map_err(|_| changed())?;
    if record.seq != seq || record.hash != hash {
        return Err(changed());
    }
    Event::from_json(&record.event).map_err(|_| changed())
}

/// Opens the ledger for a read of the whole file: shared lock, no journal.
fn open_to_read(path: &Path) -> Result<File, StoreError> {
    let file = open(path)?;
    // A shared lock: readers wait while an append holds the exclusive one, so
    // they never mistake an append in progress for an interrupted one.
    file.lock_shared().map_err(StoreError::io("lock", path))?;
    let journal = journal_path(path);
    if journal.exists() {
        return Err(StoreError::Interrupted {
            path: path.to_owned(),
            journal,
        });
    }
    Ok(file)
}

/// The ledger's last record, read from the end of the file alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    /// Length of the file in bytes.
    pub bytes: u64,
    /// The last record's seq (0 for an empty ledger).
    pub seq: u64,
    /// The last record's hash (64 zeros for an empty ledger).
    pub hash: String,
    /// The last record's `recorded` (empty for an empty ledger).
    pub recorded: String,
}

/// Reads only the end of an open ledger: its length and its last record,
/// parsed and hash-checked (not its link to the record before it: that is
/// what [`load`] and `fusion verify` are for). An incomplete last line is
/// reported as [`ChainError::Torn`], like [`load`] does, but with line 0:
/// line numbers are unknown without reading the whole file, so callers fall
/// back to [`load`] to report the problem. Moves the file's cursor.
pub fn read_tail(path: &Path, file: &File) -> Result<Tail, StoreError> {
    let bytes = file.metadata().map_err(StoreError::io("read", path))?.len();
    if bytes == 0 {
        return Ok(Tail {
            bytes,
            seq: 0,
            hash: crate::record::GENESIS_PREV.to_owned(),
            recorded: String::new(),
        });
    }
    // Read backwards in growing chunks until the chunk holds the newline
    // that ends the line before the last one (or the start of the file).
    let mut want: u64 = 4096;
    loop {
        let start = bytes.saturating_sub(want);
        let mut chunk = vec![0u8; usize::try_from(bytes - start).unwrap_or(0)];
        read_exact_at(file, &mut chunk, start).map_err(StoreError::io("read", path))?;
        let Some((&last, body)) = chunk.split_last() else {
            break;
        };
        if last != b'\n' {
            let line_start = body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            if start == 0 || line_start > 0 {
                let offset = start + line_start as u64;
                return Err(StoreError::Chain {
                    path: path.to_owned(),
                    error: ChainError::Torn {
                        line: line_at(file, offset),
                        bytes: body.len() + 1 - line_start,
                        offset,
                        complete_record: false,
                    },
                });
            }
        } else if let Some(i) = body.iter().rposition(|b| *b == b'\n') {
            return tail_of(path, file, &body[i + 1..], bytes);
        } else if start == 0 {
            return tail_of(path, file, body, bytes);
        }
        want = want.saturating_mul(4);
    }
    Err(StoreError::Io {
        op: "read",
        path: path.to_owned(),
        source: io::Error::from(io::ErrorKind::UnexpectedEof),
    })
}

/// The 1-based line number of the line starting at byte `offset` of
/// `file`: the newlines before it, counted on an error path only (the tail
/// is read from the end, where line numbers are not known).
fn line_at(file: &File, offset: u64) -> usize {
    let mut reader = io::BufReader::with_capacity(1 << 20, file);
    if reader.seek(SeekFrom::Start(0)).is_err() {
        return 0;
    }
    let mut lines = 1;
    let mut left = offset;
    while left > 0 {
        let Ok(buf) = io::BufRead::fill_buf(&mut reader) else {
            return 0;
        };
        if buf.is_empty() {
            break;
        }
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count();
        io::BufRead::consume(&mut reader, n);
        left -= n as u64;
    }
    lines
}

fn tail_of(path: &Path, file: &File, line: &[u8], bytes: u64) -> Result<Tail, StoreError> {
    let chain_error = |error: RecordError| StoreError::Chain {
        path: path.to_owned(),
        error: ChainError::Record {
            line: line_at(file, bytes - line.len() as u64 - 1),
            seq: 0,
            error,
        },
    };
    let text = std::str::from_utf8(line).map_err(|e| {
        chain_error(RecordError::Json(format!(
            "not valid UTF-8 at byte {}",
            e.valid_up_to()
        )))
    })?;
    let r = Record::parse_line(text).map_err(chain_error)?;
    Ok(Tail {
        bytes,
        seq: r.seq,
        hash: r.hash,
        recorded: r.recorded,
    })
}

fn read_exact_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

/// The record at `index` (seq − 1) of a loaded ledger as stored, read back
/// from the file at its offset and checked again (members and hash).
pub fn record_at(path: &Path, ledger: &Ledger, index: usize) -> Result<Option<Record>, StoreError> {
    let Some(range) = ledger.line_range(index) else {
        return Ok(None);
    };
    let mut file = open(path)?;
    let mut line = vec![0u8; range.len()];
    file.seek(SeekFrom::Start(range.start as u64))
        .and_then(|_| file.read_exact(&mut line))
        .map_err(StoreError::io("read", path))?;
    parse_stored(path, &line, index).map(Some)
}

/// Whether a line read back from a verified ledger, which the scan
/// verified with hash `hash` (hex), is byte for byte what
/// [`Record::to_line`] writes for its record, so that it can be printed as
/// stored without [`parse_stored`]: the envelope as fusion writes it,
/// stating `hash`, and the event's bytes as written hashing to it, which
/// makes them its canonical form. `false` says nothing: such a line may
/// still be written that way.
pub fn is_as_written(line: &str, hash: &str) -> bool {
    crate::fast::is_as_written(line, hash)
}

/// Parses the line of the record at `index` (seq − 1), read back from a
/// verified ledger (see [`Ledger::line_range`]); the file changing in
/// between is reported as a chain problem on that line.
pub fn parse_stored(path: &Path, line: &[u8], index: usize) -> Result<Record, StoreError> {
    let chain_error = |error: ChainError| StoreError::Chain {
        path: path.to_owned(),
        error,
    };
    let text = std::str::from_utf8(line).map_err(|e| {
        chain_error(ChainError::Utf8 {
            line: index + 1,
            offset: e.valid_up_to(),
        })
    })?;
    Record::parse_line(text).map_err(|error| {
        chain_error(ChainError::Record {
            line: index + 1,
            seq: index as u64 + 1,
            error,
        })
    })
}

/// Appends a batch under the lock. `prepare` sees the verified chain and the
/// first new seq, validates, and returns the event objects to store (or its
/// own error, which aborts with the ledger untouched).
///
/// The low-level form: it always reads the whole ledger and leaves the
/// append index alone, which then no longer describes the head and is
/// rebuilt by the next [`append_events`].
pub fn append<E, F>(
    path: &Path,
    options: &AppendOptions,
    prepare: F,
) -> Result<Result<Appended, E>, StoreError>
where
    F: FnOnce(&Ledger, u64) -> Result<Vec<Value>, E>,
{
    append_with_progress(path, options, &|_| {}, prepare)
}

/// [`append`], reporting the progress of verifying the ledger before
/// `prepare` is called: `progress` gets the bytes verified so far (see
/// [`chain::verify_ledger_with_progress`]).
pub fn append_with_progress<E, F>(
    path: &Path,
    options: &AppendOptions,
    progress: &dyn Fn(u64),
    prepare: F,
) -> Result<Result<Appended, E>, StoreError>
where
    F: FnOnce(&Ledger, u64) -> Result<Vec<Value>, E>,
{
    let (mut file, journal) = lock_for_append(path, options)?;
    let (chain, base) = load_locked(path, &file, options, progress)?;
    let first_seq = base.seq + 1;
    let events = match prepare(&chain, first_seq) {
        Ok(events) => events,
        Err(e) => return Ok(Err(e)),
    };
    write_batch(path, &mut file, &journal, &base, options, events).map(|(a, _)| Ok(a))
}

/// The ledger an append starts from: its length and last record.
#[derive(Debug, Clone)]
struct Base {
    bytes: u64,
    seq: u64,
    hash: String,
    recorded: Option<String>,
}

impl Base {
    fn of(chain: &Ledger) -> Base {
        Base {
            bytes: chain.bytes,
            seq: chain.head_seq(),
            hash: chain.head_hash().to_owned(),
            recorded: chain.entries.last().map(|e| e.recorded.clone()),
        }
    }

    /// The index position of this ledger once `appended` added `written`
    /// bytes to it, its timeline consistent (the batch was validated
    /// against it); buckets and ids are the index's to fill in.
    fn head_after(&self, appended: &Appended, written: u64) -> index::Head {
        index::Head {
            index: index::INDEX_VERSION,
            ledger_bytes: self.bytes + written,
            seq: appended.head_seq,
            hash: appended.head_hash.clone(),
            buckets: 0,
            ids: 0,
            consistent: true,
            sums: Vec::new(),
        }
    }

    fn of_tail(tail: &Tail) -> Base {
        Base {
            bytes: tail.bytes,
            seq: tail.seq,
            hash: tail.hash.clone(),
            recorded: (tail.seq > 0).then(|| tail.recorded.clone()),
        }
    }
}

/// Reads and verifies the whole ledger from its start through the locked
/// `file`, then checks `--expect-head`.
fn load_locked(
    path: &Path,
    mut file: &File,
    options: &AppendOptions,
    progress: &dyn Fn(u64),
) -> Result<(Ledger, Base), StoreError> {
    // Reading the tail may have moved the file's cursor.
    file.seek(SeekFrom::Start(0))
        .map_err(StoreError::io("read", path))?;
    let bytes = file.metadata().map_or(0, |m| m.len());
    let chain = chain::verify_ledger_sized(
        io::BufReader::with_capacity(1 << 16, file),
        available_threads(),
        bytes,
        progress,
    )
    .map_err(|e| ledger_error(path, e))?;
    let base = Base::of(&chain);
    check_expected_head(options, &base)?;
    Ok((chain, base))
}

/// Opens the ledger for an append and takes its exclusive lock (released
/// when the file is dropped); refuses while a journal says an append was
/// interrupted.
fn lock_for_append(path: &Path, options: &AppendOptions) -> Result<(File, PathBuf), StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(StoreError::opening("open", path))?;
    if options.no_wait {
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: path.to_owned(),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(StoreError::io("lock", path)(e)),
        }
    } else {
        file.lock().map_err(StoreError::io("lock", path))?;
    }
    let journal = journal_path(path);
    if journal.exists() {
        return Err(StoreError::Interrupted {
            path: path.to_owned(),
            journal,
        });
    }
    Ok((file, journal))
}

fn check_expected_head(options: &AppendOptions, base: &Base) -> Result<(), StoreError> {
    if let Some(expected) = &options.expect_head
        && (expected.len() < 4 || !base.hash.starts_with(expected.as_str()))
    {
        return Err(StoreError::HeadMoved {
            expected: expected.clone(),
            actual: base.hash.clone(),
            seq: base.seq,
        });
    }
    Ok(())
}

/// A batch being sealed after a base: the lines written so far, ready to
/// be appended in one write.
struct Sealer {
    recorded: String,
    /// The time asked for (see [`Appended::asked`]).
    asked: String,
    first_seq: u64,
    /// Seq of the next record.
    seq: u64,
    /// Hash of the last record sealed (the base's at first).
    prev: String,
    out: Vec<u8>,
    scratch: Vec<u8>,
    /// The event as JSON text, before it is made canonical.
    text: Vec<u8>,
    /// The longest line sealed, without its newline, and its seq.
    longest: usize,
    longest_seq: u64,
}

impl Sealer {
    /// Seals after `base`; `recorded` is never earlier than the base's last
    /// record.
    fn new(base: &Base, options: &AppendOptions, events: usize) -> Sealer {
        let asked = options
            .clock
            .map_or_else(|| options.recorded.clone(), |now| now());
        // Compared as instants: `…00.5Z` is after `…00Z`, though `.`
        // sorts before `Z`.
        let time = crate::record::recorded_time;
        let recorded = match &base.recorded {
            Some(last) if time(last) > time(&asked) => last.clone(),
            _ => asked.clone(),
        };
        Sealer {
            recorded,
            asked,
            first_seq: base.seq + 1,
            seq: base.seq + 1,
            prev: base.hash.clone(),
            // Lines are about 350 bytes.
            out: Vec::with_capacity(events.saturating_mul(384)),
            scratch: Vec::with_capacity(1024),
            text: Vec::with_capacity(1024),
            longest: 0,
            longest_seq: 0,
        }
    }

    /// How many events are sealed.
    fn sealed(&self) -> usize {
        usize::try_from(self.seq - self.first_seq).unwrap_or(usize::MAX)
    }

    /// Seals the next event (canonicalised once for its hash and its line).
    fn push(&mut self, event: &Value) {
        let start = self.out.len();
        self.prev = crate::record::seal_line(
            self.seq,
            &self.recorded,
            event,
            &self.prev,
            &mut self.out,
            &mut self.scratch,
        );
        self.sealed_one(start);
    }

    /// Seals `event` as [`Sealer::push`] seals its JSON value, byte for
    /// byte, without building that value ([`crate::record::seal_event`]).
    fn push_event(&mut self, event: &Event) {
        let start = self.out.len();
        self.prev = crate::record::seal_event(
            self.seq,
            &self.recorded,
            event,
            &self.prev,
            &mut self.out,
            (&mut self.scratch, &mut self.text),
        );
        self.sealed_one(start);
    }

    /// Notes the line just sealed from `start` of the output.
    fn sealed_one(&mut self, start: usize) {
        if self.out.len() - start > self.longest {
            self.longest = self.out.len() - start;
            self.longest_seq = self.seq;
        }
        self.out.push(b'\n');
        self.seq += 1;
    }

    /// Seals the events of `batch` not sealed yet.
    fn finish(mut self, batch: &[Event]) -> Sealer {
        for event in batch.get(self.sealed()..).unwrap_or_default() {
            self.push_event(event);
        }
        self
    }
}

/// Seals `events` after `base` and appends them under the journal (steps
/// 4–6 of the module documentation). Returns the result and the bytes
/// written.
fn write_batch(
    path: &Path,
    file: &mut File,
    journal: &Path,
    base: &Base,
    options: &AppendOptions,
    events: Vec<Value>,
) -> Result<(Appended, u64), StoreError> {
    let mut sealer = Sealer::new(base, options, events.len());
    for event in &events {
        sealer.push(event);
    }
    write_sealed(path, file, journal, base, sealer)
}

/// Appends what `sealer` sealed after `base` under the journal (steps 4–6
/// of the module documentation). Returns the result and the bytes written.
fn write_sealed(
    path: &Path,
    file: &mut File,
    journal: &Path,
    base: &Base,
    sealer: Sealer,
) -> Result<(Appended, u64), StoreError> {
    let first_seq = base.seq + 1;
    if sealer.longest > crate::record::MAX_LINE_BYTES {
        // `event::parse_batch` refuses events this long; never write a line
        // that readers would refuse.
        return Err(StoreError::LineTooLong {
            path: path.to_owned(),
            index: sealer.longest_seq - first_seq + 1,
            seq: sealer.longest_seq,
            bytes: sealer.longest,
            max: crate::record::MAX_LINE_BYTES,
        });
    }
    let Sealer {
        seq,
        prev,
        out,
        recorded,
        asked,
        ..
    } = sealer;
    if out.is_empty() {
        return Ok((
            Appended {
                first_seq,
                head_seq: base.seq,
                head_hash: base.hash.clone(),
                journal_left: None,
                recorded,
                asked,
            },
            0,
        ));
    }
    let announced = write_journal(
        journal,
        &Journal {
            base_len: base.bytes,
            base_seq: base.seq,
            base_head: base.hash.clone(),
            new_len: base.bytes + out.len() as u64,
            new_head: prev.clone(),
        },
    );
    if let Err(e) = announced {
        // The ledger is untouched: a journal left half written would only
        // stop every later command at a `repair` with nothing to do.
        if fs::remove_file(journal).is_ok() {
            let _ = sync_dir(journal);
        }
        return Err(e);
    }
    let written = file
        .seek(SeekFrom::Start(base.bytes))
        .and_then(|_| file.write_all(&out))
        .and_then(|()| file.sync_data());
    if let Err(source) = written {
        // Undo what may have reached the file; the journal stays if this
        // fails too, and `repair` finishes the job.
        if file
            .set_len(base.bytes)
            .and_then(|()| file.sync_data())
            .is_ok()
        {
            let _ = remove_journal(journal);
        }
        return Err(StoreError::Io {
            op: "append to",
            path: path.to_owned(),
            source,
        });
    }
    // The batch is durable: from here on the append has happened, whatever
    // becomes of the journal (`repair` keeps a batch its journal announced).
    let journal_left = remove_journal(journal).err().map(|e| e.to_string());
    Ok((
        Appended {
            first_seq,
            head_seq: seq - 1,
            head_hash: prev,
            journal_left,
            recorded,
            asked,
        },
        out.len() as u64,
    ))
}

/// How the append index took part in an append (see [`crate::index`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexUse {
    /// The index checked the batch: only the ledger's last record and the
    /// entries of the ids the batch touches were read.
    Checked,
    /// The whole ledger was read and verified, but only the timelines the
    /// batch touches were re-checked (see
    /// [`crate::fold::recheck_touched`]), and only their entries rewritten
    /// in the index: a backdated batch.
    Rechecked {
        /// The ids whose timelines were re-checked.
        ids: usize,
        /// The records re-checked, batch included.
        records: usize,
    },
    /// The whole ledger was read and validated, and the index rebuilt,
    /// because the index could not decide (the reason).
    Rebuilt(Declined),
    /// The append succeeded, but writing the index failed (the error); the
    /// next append rebuilds it.
    Failed(String),
}

/// Validates `batch` and appends it, all or nothing, reading only the end
/// of the ledger when the append index can check the batch (see
/// [`crate::index`]); otherwise the whole ledger is read and verified, and
/// either only the timelines a backdated batch touches are re-checked and
/// their entries rewritten in the index ([`crate::fold::recheck_touched`])
/// or the whole timeline is validated ([`crate::fold::validate`]) and the
/// index rebuilt. `progress` reports the bytes verified when the whole
/// ledger is read. The outer error is the store's, the inner one the
/// batch's.
pub fn append_events(
    path: &Path,
    options: &AppendOptions,
    progress: &dyn Fn(u64),
    batch: &[Event],
) -> Result<Result<(Appended, IndexUse), ValidationError>, StoreError> {
    // The lock is held until the index is written too: the next appender
    // must find it complete or absent.
    let (mut file, journal) = lock_for_append(path, options)?;
    let dir = index::dir_of(path);
    // Rules `future` and `url` need only the batch and the day: checked
    // first, the first event that breaks either refused (by `future` if it
    // breaks both).
    let future = appended_on(options).and_then(|today| crate::fold::dated_after(batch, today));
    let first_broken = [future, crate::fold::bad_url(batch)]
        .into_iter()
        .flatten()
        .min_by_key(|(index, _)| *index);
    let refuse_early = |last_seq: u64| {
        first_broken
            .clone()
            .map(|(index, rule)| ValidationError::Rejected {
                index,
                seq: last_seq + 1 + index as u64,
                event_type: batch.get(index).map_or("", Event::type_name),
                rule,
            })
    };
    // The fast path needs a sound last record; anything wrong with it is
    // for the full load below to report, with its line.
    let why = match read_tail(path, &file) {
        Err(_) => Declined::NotCurrent,
        Ok(tail) => {
            let base = Base::of_tail(&tail);
            check_expected_head(options, &base)?;
            if let Some(refused) = refuse_early(tail.seq) {
                return Ok(Err(refused));
            }
            let current = index::Head {
                index: index::INDEX_VERSION,
                ledger_bytes: tail.bytes,
                seq: tail.seq,
                hash: tail.hash.clone(),
                buckets: 0,
                ids: 0,
                consistent: true,
                sums: Vec::new(),
            };
            let checked = index::check_batch(&dir, &current, batch, tail.seq.saturating_add(1));
            if let (Ok(Err(Declined::Rejected(0, rule))), [event]) = (&checked, batch) {
                // What the full validation would say, without reading the
                // ledger (see `Declined::Rejected`).
                return Ok(Err(ValidationError::Rejected {
                    index: 0,
                    seq: tail.seq.saturating_add(1),
                    event_type: event.type_name(),
                    rule: rule.clone(),
                }));
            }
            if let Ok(Ok(checked)) = checked {
                let sealed = Sealer::new(&base, options, batch.len()).finish(batch);
                let (appended, written) = write_sealed(path, &mut file, &journal, &base, sealed)?;
                let new = base.head_after(&appended, written);
                let used = match index::commit(&dir, checked, &new) {
                    Ok(()) => IndexUse::Checked,
                    Err(e) => IndexUse::Failed(e.to_string()),
                };
                return Ok(Ok((appended, used)));
            }
            let why = declined(checked);
            if let Declined::NeedsHistory(_) = why
                && !batch.iter().any(index::needs_history)
                && let Some(head) = index::read_head(&dir)
            {
                // Backdated: the index is current and its history
                // consistent, so only the timelines the batch touches need
                // re-checking.
                let (chain, base) = load_locked(path, &file, options, progress)?;
                return rechecking_append(
                    path, file, &journal, options, batch, &dir, why, head, chain, base,
                );
            }
            why
        }
    };
    let (chain, base) = load_locked(path, &file, options, progress)?;
    if let Some(refused) = refuse_early(base.seq) {
        return Ok(Err(refused));
    }
    check_index_saw_no_more(path, &dir, &chain)?;
    full_append(path, file, &journal, options, batch, &dir, why, chain, base)
}

/// The day an append stamps: its clock's, or its `recorded` time's (`None`
/// when that is no RFC 3339 time).
fn appended_on(options: &AppendOptions) -> Option<chrono::NaiveDate> {
    let now = options
        .clock
        .map_or_else(|| options.recorded.clone(), |clock| clock());
    chrono::NaiveDate::parse_from_str(now.get(..10)?, "%Y-%m-%d").ok()
}

/// Refuses to append when the append index in `dir`, though no longer
/// current, proves that acknowledged records are gone from `chain` (it saw
/// a later seq) or were rewritten (it saw another hash at its seq): the
/// verdicts of `fusion verify --index` ([`index::audit_with`]). An index
/// that is merely behind the ledger, absent or of another version is no
/// evidence of anything.
fn check_index_saw_no_more(path: &Path, dir: &Path, chain: &Ledger) -> Result<(), StoreError> {
    let current = (chain.bytes, chain.len() as u64, chain.head_hash());
    let hash_at = |seq: u64| {
        let i = usize::try_from(seq.checked_sub(1)?).ok()?;
        chain.entries.get(i).map(|e| e.hash.clone())
    };
    // The fold is never reached: the position differs, or the index is
    // current and this path was taken for another reason.
    let audit = index::audit_with(dir, current, hash_at, || Err::<index::Folded, ()>(()));
    match audit {
        Ok(index::Audit::Lost { seen, records }) => Err(StoreError::Lost {
            path: path.to_owned(),
            index: dir.to_owned(),
            seen,
            records,
        }),
        Ok(index::Audit::Rewritten { seq, hash }) => Err(StoreError::Rewritten {
            path: path.to_owned(),
            index: dir.to_owned(),
            seq,
            hash,
        }),
        _ => Ok(()),
    }
}

/// The append of [`append_events`] for a backdated batch, the index being
/// current (`head`) and its history consistent: the whole ledger is read
/// and verified (`chain`), the timelines the batch touches re-checked
/// ([`crate::fold::recheck_touched`]), and only their entries rewritten in
/// the index. When re-checking them cannot decide, or would re-check most
/// of the ledger anyway ([`index::worth_rechecking`]), the full validation
/// does.
#[allow(clippy::too_many_arguments)]
fn rechecking_append(
    path: &Path,
    mut file: File,
    journal: &Path,
    options: &AppendOptions,
    batch: &[Event],
    dir: &Path,
    why: Declined,
    head: index::Head,
    chain: Ledger,
    base: Base,
) -> Result<Result<(Appended, IndexUse), ValidationError>, StoreError> {
    // The index must describe the ledger just verified.
    let current = (head.ledger_bytes, head.seq, head.hash.as_str())
        == (base.bytes, base.seq, base.hash.as_str());
    let mut tracker = index::Tracker::default();
    let rechecked = if current && head.consistent {
        crate::fold::recheck_touched(
            &chain.entries,
            batch,
            base.seq + 1,
            &mut |ids| index::worth_rechecking(&head, ids),
            &mut |state, e| tracker.observe(state, e),
        )
    } else {
        None
    };
    let Some(rechecked) = rechecked else {
        return full_append(path, file, journal, options, batch, dir, why, chain, base);
    };
    let (ids, records) = (rechecked.ids.len(), rechecked.records);
    let entries = tracker.entries(rechecked.state);
    let checked = match index::rechecked(dir, head, &rechecked.ids, entries) {
        Ok(checked) => checked,
        // An unreadable bucket: the full path rebuilds the index.
        Err(_) => return full_append(path, file, journal, options, batch, dir, why, chain, base),
    };
    let sealed = Sealer::new(&base, options, batch.len()).finish(batch);
    let (appended, written) = write_sealed(path, &mut file, journal, &base, sealed)?;
    let used = match index::commit(dir, checked, &base.head_after(&appended, written)) {
        Ok(()) => IndexUse::Rechecked { ids, records },
        Err(e) => IndexUse::Failed(e.to_string()),
    };
    drop_later(chain);
    Ok(Ok((appended, used)))
}

fn declined(checked: Result<Result<index::Checked, Declined>, index::IndexError>) -> Declined {
    match checked {
        Ok(Err(d)) => d,
        Ok(Ok(_)) => Declined::NotCurrent,
        Err(_) => Declined::Damaged,
    }
}

/// The append of [`append_events`] when the index cannot decide: validate
/// the whole timeline of `chain` (read and verified) with the batch,
/// append, rebuild the index.
#[allow(clippy::too_many_arguments)]
fn full_append(
    path: &Path,
    mut file: File,
    journal: &Path,
    options: &AppendOptions,
    batch: &[Event],
    dir: &Path,
    why: Declined,
    chain: Ledger,
    base: Base,
) -> Result<Result<(Appended, IndexUse), ValidationError>, StoreError> {
    // One fold validates the batch and lists, for the index, the ids each
    // event affects; another thread notes them, and a third seals the
    // batch (nothing is written before the fold accepts it, and a refusal
    // stops the sealing).
    let refused = AtomicBool::new(false);
    let (validated, sealed, tracked) = std::thread::scope(|s| {
        let sealer = s.spawn(|| {
            let mut sealer = Sealer::new(&base, options, batch.len());
            for event in batch {
                if refused.load(Ordering::Relaxed) {
                    break;
                }
                sealer.push_event(event);
            }
            sealer
        });
        let (visits, noted) = mpsc::sync_channel::<Vec<index::Visit>>(VISITS_IN_FLIGHT);
        // Chunks come back emptied, to be filled again: fresh ones would
        // each fault in new pages, as the tracker frees the old ones.
        let (emptied, reuse) = mpsc::channel::<Vec<index::Visit>>();
        let tracker = s.spawn(move || {
            let mut tracker = index::Tracker::default();
            for mut chunk in noted {
                tracker.note(chunk.drain(..));
                // The fold gone, the chunk is dropped here.
                let _ = emptied.send(chunk);
            }
            tracker
        });
        let mut chunk = Vec::with_capacity(VISITS_PER_CHUNK);
        let validated =
            crate::fold::validate_observed(&chain.entries, batch, base.seq + 1, &mut |state, e| {
                index::Tracker::visits(state, e, &mut chunk);
                if chunk.len() >= VISITS_PER_CHUNK {
                    let next = reuse
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(VISITS_PER_CHUNK));
                    let full = std::mem::replace(&mut chunk, next);
                    // A tracker gone is found when it is joined.
                    let _ = visits.send(full);
                }
            });
        if validated.is_err() {
            refused.store(true, Ordering::Relaxed);
        }
        let _ = visits.send(chunk);
        drop(visits);
        (validated, sealer.join(), tracker.join())
    });
    let state = match validated {
        Ok(state) => state,
        Err(e) => return Ok(Err(e)),
    };
    // Had the sealing thread failed, seal here.
    let sealer = sealed
        .unwrap_or_else(|_| Sealer::new(&base, options, batch.len()))
        .finish(batch);
    // The batch goes to the ledger while the index's buckets are written;
    // its `HEAD` only once the batch is in.
    let (written, buckets) = std::thread::scope(|s| {
        let writer = s.spawn(|| write_sealed(path, &mut file, journal, &base, sealer));
        // Without its tracker, the index is not written: the next append
        // finds it stale and rebuilds it.
        let buckets = match &tracked {
            Ok(tracker) => tracker.write_buckets(dir, &state),
            Err(_) => Err(index::IndexError::Io {
                op: "build",
                path: dir.to_owned(),
                source: io::Error::other("the thread noting the ids each event affects stopped"),
            }),
        };
        (writer.join(), buckets)
    });
    let (appended, written) = written.map_err(|_| StoreError::Io {
        op: "append to",
        path: path.to_owned(),
        source: io::Error::other("the thread writing the batch stopped"),
    })??;
    // The whole timeline, batch included, just passed validation.
    let head = base.head_after(&appended, written);
    let used = match buckets.and_then(|b| index::complete(dir, b, head)) {
        Ok(_) => IndexUse::Rebuilt(why),
        Err(e) => IndexUse::Failed(e.to_string()),
    };
    // Freed only now, so that freeing them does not take a core from the
    // index's writers.
    drop_later((chain, tracked.ok(), state));
    Ok(Ok((appended, used)))
}

/// Visits ([`index::Visit`]) handed at a time from the validating fold to
/// the thread that notes them for the index.
const VISITS_PER_CHUNK: usize = 4096;

/// Chunks of visits waiting for that thread at most.
const VISITS_IN_FLIGHT: usize = 8;

/// Frees `value` on another thread: the ledger and the folded state are
/// millions of small allocations, and the caller need not wait for them.
pub(crate) fn drop_later<T: Send + 'static>(value: T) {
    // Without a thread, it is dropped here, with the closure.
    let _detached = std::thread::Builder::new().spawn(move || drop(value));
}

/// Recovers from an interrupted append: rolls back (or keeps, if it was
/// written whole) the batch a journal announces, or adds the newline a
/// complete last record lacks. Never removes a record that was
/// acknowledged: an incomplete last line with no journal, which no append
/// of fusion's leaves, is an error ([`StoreError::CutShort`]) unless
/// `discard_incomplete` asks to drop it.
pub fn repair(path: &Path, discard_incomplete: bool) -> Result<Repaired, StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(StoreError::opening("open", path))?;
    file.lock().map_err(StoreError::io("lock", path))?;
    let len = file.metadata().map_err(StoreError::io("read", path))?.len();
    let journal = journal_path(path);
    let found = read_journal(&journal)?;
    let discarded = matches!(found, Found::CutShort);
    if let Found::Whole(j) = found {
        // Trust the journal only as far as the ledger agrees with it: the
        // bytes before `base_len` must be a valid chain ending in
        // `base_head`. Otherwise something else changed the file, and
        // repair touches nothing.
        let refuse = |why: String| StoreError::JournalMismatch {
            path: path.to_owned(),
            journal: journal.clone(),
            why,
        };
        if j.base_len > len || len > j.new_len {
            return Err(refuse(format!(
                "the ledger is {len} bytes, outside the {}..={} the interrupted append could have left: something else changed it",
                j.base_len, j.new_len
            )));
        }
        let prefix = io::Read::take(io::BufReader::with_capacity(1 << 16, &file), j.base_len);
        match chain::verify_ledger(prefix, available_threads()) {
            Ok(before) if before.head_hash() == j.base_head && before.head_seq() == j.base_seq => {}
            Ok(before) => {
                return Err(refuse(format!(
                    "its first {} bytes end at seq {} {}, not at seq {} {} as when the append started",
                    j.base_len,
                    before.head_seq(),
                    before.head_hash(),
                    j.base_seq,
                    j.base_head
                )));
            }
            Err(LedgerError::Io(source)) => return Err(StoreError::io("read", path)(source)),
            Err(e) => {
                return Err(refuse(format!(
                    "its first {} bytes, from before the append, do not verify: {}",
                    j.base_len,
                    ledger_error(path, e)
                )));
            }
        }
        if len == j.new_len {
            // The whole batch reached the file; only the acknowledgement was
            // lost. Keep it if it is exactly the batch the journal announced.
            let mut whole = &file;
            whole
                .seek(SeekFrom::Start(0))
                .map_err(StoreError::io("read", path))?;
            let all = io::BufReader::with_capacity(1 << 16, whole);
            if let Ok(after) = chain::verify_ledger(all, available_threads())
                && after.head_hash() == j.new_head
            {
                file.sync_data().map_err(StoreError::io("sync", path))?;
                remove_journal(&journal)?;
                return Ok(Repaired::Completed {
                    head_seq: after.head_seq(),
                });
            }
        }
        let removed_bytes = len - j.base_len;
        if removed_bytes > 0 {
            file.set_len(j.base_len)
                .and_then(|()| file.sync_data())
                .map_err(StoreError::io("truncate", path))?;
        }
        remove_journal(&journal)?;
        return Ok(Repaired::RolledBack { removed_bytes });
    }
    match chain::verify_ledger(
        io::BufReader::with_capacity(1 << 16, &file),
        available_threads(),
    ) {
        // An event outside the vocabulary is no interrupted append.
        Ok(_) | Err(LedgerError::Event { .. }) if discarded => Ok(Repaired::DiscardedJournal),
        Ok(_) | Err(LedgerError::Event { .. }) => Ok(Repaired::Nothing),
        Err(LedgerError::Io(source)) => Err(StoreError::Io {
            op: "read",
            path: path.to_owned(),
            source,
        }),
        Err(LedgerError::Chain(ChainError::Torn {
            line,
            bytes: torn,
            offset,
            complete_record,
        })) => {
            if complete_record {
                let mut f = &file;
                f.seek(SeekFrom::End(0))
                    .and_then(|_| f.write_all(b"\n"))
                    .and_then(|()| f.sync_data())
                    .map_err(StoreError::io("append to", path))?;
                Ok(Repaired::AddedNewline { line })
            } else if !discard_incomplete {
                let seen = crate::index::read_head(&crate::index::dir_of(path))
                    .map(|head| head.seq)
                    .filter(|seq| *seq >= line as u64);
                Err(StoreError::CutShort {
                    path: path.to_owned(),
                    line,
                    bytes: torn,
                    seen,
                })
            } else {
                file.set_len(offset)
                    .and_then(|()| file.sync_data())
                    .map_err(StoreError::io("truncate", path))?;
                // An index that saw the record dropped would refuse every
                // append (`StoreError::Lost`): the loss is consented to, so
                // the cache goes, and the next append rebuilds it.
                let dir = crate::index::dir_of(path);
                if crate::index::read_head(&dir).is_some_and(|head| head.seq >= line as u64) {
                    fs::remove_dir_all(&dir).map_err(StoreError::io("remove", &dir))?;
                    sync_dir(&dir)?;
                }
                Ok(Repaired::RemovedIncomplete { line, bytes: torn })
            }
        }
        Err(LedgerError::Chain(error)) => Err(StoreError::Chain {
            path: path.to_owned(),
            error,
        }),
    }
}

/// How many threads verification may use.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// What the journal records: the ledger as it was before the append.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Journal {
    base_len: u64,
    base_seq: u64,
    base_head: String,
    new_len: u64,
    new_head: String,
}

/// Journals whose writing (`"write"`) or removal (`"remove"`) the tests make
/// fail, by path.
#[cfg(test)]
static FAILING: std::sync::Mutex<Vec<(PathBuf, &'static str)>> = std::sync::Mutex::new(Vec::new());

/// An error if a test asked `op` on `journal` to fail.
fn injected(journal: &Path, op: &'static str) -> io::Result<()> {
    #[cfg(test)]
    if FAILING
        .lock()
        .is_ok_and(|f| f.iter().any(|(p, o)| p == journal && *o == op))
    {
        return Err(io::Error::other(format!("injected failure to {op}")));
    }
    let _ = (journal, op);
    Ok(())
}

fn write_journal(journal: &Path, j: &Journal) -> Result<(), StoreError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(journal)
        .map_err(StoreError::io("create", journal))?;
    writeln!(
        f,
        "{{\"journal\":1,\"base_len\":{},\"base_seq\":{},\"base_head\":\"{}\",\"new_len\":{},\"new_head\":\"{}\"}}",
        j.base_len, j.base_seq, j.base_head, j.new_len, j.new_head
    )
    .and_then(|()| injected(journal, "write"))
    .and_then(|()| f.sync_all())
    .map_err(StoreError::io("write", journal))?;
    sync_dir(journal)
}

/// What [`read_journal`] found.
enum Found {
    /// No journal: no append was interrupted.
    Absent,
    /// A journal without its final newline, removed.
    CutShort,
    /// A whole version 1 journal.
    Whole(Journal),
}

/// Reads the journal. One without its final newline was cut short while
/// being written — before the ledger was touched, since the journal is
/// synced first — so it is removed ([`Found::CutShort`]). A complete one that
/// is not a version 1 journal is refused: repair does not guess.
fn read_journal(journal: &Path) -> Result<Found, StoreError> {
    let text = match fs::read_to_string(journal) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Found::Absent),
        Err(e) => return Err(StoreError::io("read", journal)(e)),
    };
    if !text.ends_with('\n') {
        remove_journal(journal)?;
        return Ok(Found::CutShort);
    }
    let parsed = crate::json::from_str(text.trim_end()).ok().and_then(|v| {
        let hash = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .filter(|h| crate::event::check_hash(h).is_ok())
                .map(str::to_owned)
        };
        let num = |k: &str| v.get(k).and_then(Value::as_u64);
        (num("journal") == Some(1)).then_some(())?;
        Some(Journal {
            base_len: num("base_len")?,
            base_seq: num("base_seq")?,
            base_head: hash("base_head")?,
            new_len: num("new_len")?,
            new_head: hash("new_head")?,
        })
    });
    match parsed {
        Some(j) => Ok(Found::Whole(j)),
        None => Err(StoreError::JournalMismatch {
            path: journal.with_extension(""),
            journal: journal.to_owned(),
            why: "it is not a version 1 journal (a newer fusion, or damaged)".into(),
        }),
    }
}

fn remove_journal(journal: &Path) -> Result<(), StoreError> {
    injected(journal, "remove")
        .and_then(|()| fs::remove_file(journal))
        .map_err(StoreError::io("remove", journal))?;
    sync_dir(journal)
}

/// Fsyncs the directory holding `path`, so that a created, renamed or
/// removed entry survives a crash.
pub fn sync_dir(path: &Path) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io("sync directory of", path))
}

/// The temporary files this process is writing ([`write_atomic_with`],
/// [`write_new_with`]), so that a process stopped by a signal can remove
/// them before it exits ([`remove_temporaries`]).
static TEMPORARIES: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// A temporary file beside `path` (`<path>.tmp<pid>`), listed in
/// [`TEMPORARIES`] while this value lives; dropping it removes the file if
/// it is still there.
struct Temporary(PathBuf);

impl Temporary {
    fn beside(path: &Path) -> Temporary {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        temporaries().push(tmp.clone());
        Temporary(tmp)
    }

    /// Creates (or truncates) the file, hands it to `write` (which may seek
    /// in it and read it back), then fsyncs it.
    fn write<T>(&self, write: impl FnOnce(&mut File) -> io::Result<T>) -> io::Result<T> {
        let mut f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.0)?;
        let written = write(&mut f)?;
        f.sync_all()?;
        Ok(written)
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let mut list = temporaries();
        if let Some(i) = list.iter().position(|p| *p == self.0) {
            list.swap_remove(i);
        }
        // Already renamed or linked away, or never created: nothing to do.
        let _ = fs::remove_file(&self.0);
    }
}

fn temporaries() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic while the list was held cannot leave it half-updated.
    TEMPORARIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes every temporary file this process is writing, and returns how
/// many were listed. For a command line stopped by a signal (Ctrl-C), just
/// before it exits: the files it was writing stay as they were, and no
/// `<path>.tmp<pid>` is left behind. The ledger needs nothing of the kind:
/// an interrupted append is recovered by [`repair`].
pub fn remove_temporaries() -> usize {
    remove_temporaries_where(|_| true)
}

/// [`remove_temporaries`] of those `which` picks.
fn remove_temporaries_where(which: impl Fn(&Path) -> bool) -> usize {
    let list = temporaries();
    let mut removed = 0;
    for tmp in list.iter().filter(|p| which(p)) {
        let _ = fs::remove_file(tmp);
        removed += 1;
    }
    removed
}

/// Writes a new file: what `write` writes goes to a temporary file beside
/// `path`, which is fsynced, then linked to `path` only if that name is
/// still free (a hard link, which never replaces a file), then removed, and
/// the directory is fsynced. So `path` is either absent or whole, an
/// existing file is never overwritten, and on any error (the name taken
/// first, a full disk, a failing `write`) the temporary file is removed.
/// Where hard links are not supported, the temporary file is renamed to
/// `path` if nothing is there.
///
/// The name is checked before `write` runs too, so that a long write is not
/// done in vain: an error of kind [`io::ErrorKind::AlreadyExists`] then.
pub fn write_new_with<T>(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<T>,
) -> Result<T, StoreError> {
    let taken = || io::Error::from(io::ErrorKind::AlreadyExists);
    if fs::symlink_metadata(path).is_ok() {
        return Err(StoreError::io("create", path)(taken()));
    }
    let tmp = Temporary::beside(path);
    let result = (|| {
        let written = tmp.write(write)?;
        match fs::hard_link(&tmp.0, path) {
            Ok(()) => Ok(written),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
            Err(_) if fs::symlink_metadata(path).is_ok() => Err(taken()),
            Err(_) => fs::rename(&tmp.0, path).map(|()| written),
        }
    })();
    drop(tmp);
    let written = result.map_err(StoreError::io("write", path))?;
    sync_dir(path)?;
    Ok(written)
}

/// Writes a whole file atomically: a temporary file in the same directory,
/// fsynced, then renamed over the target, then the directory fsynced.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), StoreError> {
    write_atomic_parts(path, &[contents])
}

/// [`write_atomic`] of the concatenation of `parts`, never made.
pub fn write_atomic_parts(path: &Path, parts: &[&[u8]]) -> Result<(), StoreError> {
    write_atomic_with(path, |f| {
        for part in parts {
            f.write_all(part)?;
        }
        Ok(())
    })
}

/// [`write_atomic`] of what `write` writes into the temporary file (which
/// it may also seek in and read back). On any error the temporary file is
/// removed and the target left as it was.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), StoreError> {
    let tmp = Temporary::beside(path);
    let result = (|| {
        tmp.write(write)?;
        fs::rename(&tmp.0, path)
    })();
    // Removes the temporary file if the rename did not happen.
    drop(tmp);
    if let Err(source) = result {
        return Err(StoreError::Io {
            op: "write",
            path: path.to_owned(),
            source,
        });
    }
    sync_dir(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(org: &str) -> Value {
        json!({"type": "dissolved", "date": "2008", "org": org, "sources": [{"doc": "t"}]})
    }

    fn opts() -> AppendOptions {
        AppendOptions {
            recorded: "2026-01-01T00:00:00Z".into(),
            ..AppendOptions::default()
        }
    }

    fn append_all(path: &Path, orgs: &[&str]) -> Appended {
        let events: Vec<Value> = orgs.iter().map(|o| event(o)).collect();
        append(path, &opts(), |_, _| Ok::<_, ()>(events))
            .expect("store ok")
            .expect("accepted")
    }

    fn typed(v: Value) -> Event {
        Event::from_json(&v).expect("valid event")
    }

    /// A new, empty ledger in a temporary directory (kept while the first
    /// value lives).
    fn empty_ledger() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.jsonl");
        init(&path).expect("init");
        (dir, path)
    }

    fn append_typed(
        path: &Path,
        events: &[Value],
    ) -> Result<(Appended, IndexUse), ValidationError> {
        let batch: Vec<Event> = events.iter().cloned().map(typed).collect();
        append_events(path, &opts(), &|_| {}, &batch).expect("store ok")
    }

    fn dissolved(id: &str, date: &str) -> Value {
        json!({"type": "dissolved", "date": date, "org": id, "sources": [{"doc": "t"}]})
    }

    fn created(id: &str, date: &str) -> Value {
        json!({"type": "created", "date": date, "id": id, "name": id, "kind": "k", "sources": [{"doc": "t"}]})
    }

    /// Makes `op` (`"write"` or `"remove"`) fail on the journal of `path`.
    fn fail_journal(path: &Path, op: &'static str, on: bool) {
        let journal = journal_path(path);
        let mut failing = FAILING.lock().expect("failpoints");
        failing.retain(|(p, o)| !(*p == journal && *o == op));
        if on {
            failing.push((journal, op));
        }
    }

    #[test]
    fn a_journal_that_cannot_be_written_is_not_left_behind() {
        let (_dir, path) = empty_ledger();
        append_typed(&path, &[created("a", "2010")]).expect("accepted");
        let before = fs::read(&path).expect("read");
        // given a journal whose writing fails after it was created
        fail_journal(&path, "write", true);
        let batch = [typed(created("b", "2011"))];
        // when an append comes, then it fails, the ledger is unchanged and no
        // journal is left to stop the next command
        let failed = append_events(&path, &opts(), &|_| {}, &batch);
        assert!(
            matches!(failed, Err(StoreError::Io { op: "write", .. })),
            "{failed:?}"
        );
        assert_eq!(fs::read(&path).expect("read"), before);
        assert!(!journal_path(&path).exists());
        fail_journal(&path, "write", false);
        assert_eq!(load(&path, 1).expect("loads").head_seq(), 1);
        let (appended, _) = append_typed(&path, &[created("b", "2011")]).expect("accepted");
        assert_eq!(appended.head_seq, 2);
    }

    #[test]
    fn a_journal_that_cannot_be_removed_does_not_undo_a_synced_append() {
        let (_dir, path) = empty_ledger();
        append_typed(&path, &[created("a", "2010")]).expect("accepted");
        // given a journal whose removal fails
        fail_journal(&path, "remove", true);
        // when an append is synced, then it is acknowledged, saying so
        let (appended, _) = append_typed(&path, &[created("b", "2011")]).expect("accepted");
        fail_journal(&path, "remove", false);
        assert_eq!(appended.head_seq, 2);
        assert!(appended.journal_left.is_some(), "{appended:?}");
        // and the journal left stops readers until repair, which keeps the batch
        assert!(matches!(
            load(&path, 1),
            Err(StoreError::Interrupted { .. })
        ));
        assert_eq!(
            repair(&path, false).expect("repair"),
            Repaired::Completed { head_seq: 2 }
        );
        assert_eq!(
            load(&path, 1).expect("loads").head_hash(),
            appended.head_hash
        );
    }

    /// The index's entries equal those of a fold of the whole ledger.
    fn assert_index_matches(path: &Path) {
        let ledger = load(path, 1).expect("loads");
        let audit = index::audit(&index::dir_of(path), &ledger.entries, ledger.bytes);
        assert!(matches!(audit, index::Audit::Matches { .. }), "{audit:?}");
    }

    /// Every file of the ledger's index, by name.
    fn index_files(path: &Path) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(index::dir_of(path))
            .expect("index dir")
            .map(|e| {
                let e = e.expect("entry");
                let name = e.file_name().to_string_lossy().into_owned();
                (name, fs::read(e.path()).expect("read"))
            })
            .collect();
        files.sort();
        files
    }

    fn renamed(id: &str, date: &str) -> Value {
        json!({"type": "renamed", "date": date, "org": id, "name": "R", "sources": [{"doc": "t"}]})
    }

    #[test]
    fn a_refused_backdated_batch_leaves_the_ledger_and_its_index_as_they_were() {
        let (_dir, path) = empty_ledger();
        let joined = json!({"type": "joined", "date": "2015", "org": "x", "member": {"org": "y"}, "relation": "member", "sources": [{"doc": "t"}]});
        append_typed(&path, &[created("x", "2010"), created("y", "2010"), joined]).expect("ok");
        append_typed(&path, &[created("z", "2010")]).expect("ok");
        let (ledger, files) = (fs::read(&path).expect("read"), index_files(&path));
        // when a backdated batch of two breaks the 2015 membership, then it
        // is refused, and neither the ledger nor the index changes
        let refused = append_typed(&path, &[renamed("x", "2012"), dissolved("x", "2013")])
            .expect_err("x ends before y joins it");
        assert!(
            matches!(refused, ValidationError::Breaks { .. }),
            "{refused}"
        );
        assert_eq!(fs::read(&path).expect("read"), ledger);
        assert_eq!(index_files(&path), files);
        // when a backdated event expects another head, then nothing changes
        let wrong = AppendOptions {
            expect_head: Some("0".repeat(64)),
            ..opts()
        };
        let batch = [typed(renamed("x", "2012"))];
        let moved = append_events(&path, &wrong, &|_| {}, &batch);
        assert!(
            matches!(moved, Err(StoreError::HeadMoved { .. })),
            "{moved:?}"
        );
        assert_eq!(fs::read(&path).expect("read"), ledger);
        assert_eq!(index_files(&path), files);
        // and the same event with the right head is re-checked with y's
        // timeline, not z's
        let (_, used) = append_events(&path, &opts(), &|_| {}, &batch)
            .expect("store ok")
            .expect("accepted");
        assert_eq!(used, IndexUse::Rechecked { ids: 2, records: 4 });
        assert_index_matches(&path);
    }

    /// The file of the index bucket of the ledger at `path` that holds
    /// `id`'s entry.
    fn bucket_file_of(path: &Path, id: &str) -> PathBuf {
        let idx = index::dir_of(path);
        let head = index::read_head(&idx).expect("head");
        (0..head.buckets)
            .map(|b| idx.join(format!("bucket-{b}.json")))
            .find(|f| {
                fs::read_to_string(f)
                    .expect("bucket")
                    .contains(&format!("\"{id}\""))
            })
            .expect("an entry")
    }

    /// Given an index of several buckets, one of them damaged (as a crash
    /// can leave a bucket that was not synced), when an append touches only
    /// ids of another bucket, then the index serves it and the damaged
    /// bucket is left as it is; when one touches an id of the damaged
    /// bucket, then the whole ledger is validated and the index rebuilt.
    #[test]
    fn a_damaged_bucket_is_never_used_and_the_others_still_serve_appends() {
        let (_dir, path) = empty_ledger();
        let many: Vec<Value> = (0..1100)
            .map(|i| created(&format!("c{i}"), "2000"))
            .collect();
        append_typed(&path, &many).expect("ok");
        let head = index::read_head(&index::dir_of(&path)).expect("head");
        assert!(head.buckets >= 2, "{head:?}");
        let bucket_of = |id: &str| bucket_file_of(&path, id);
        let damaged = bucket_of("c1");
        let other = (2..1100)
            .map(|i| format!("c{i}"))
            .find(|id| bucket_of(id) != damaged)
            .expect("an id of another bucket");
        let good = fs::read(&damaged).expect("bucket");
        fs::write(&damaged, &good[..good.len() / 2]).expect("torn");
        let (_, used) = append_typed(&path, &[renamed(&other, "2020")]).expect("accepted");
        assert_eq!(used, IndexUse::Checked);
        assert_eq!(fs::read(&damaged).expect("bucket"), &good[..good.len() / 2]);
        let (_, used) = append_typed(&path, &[renamed("c1", "2020")]).expect("accepted");
        assert_eq!(used, IndexUse::Rebuilt(Declined::Damaged));
        assert_index_matches(&path);
    }

    #[test]
    fn an_unreadable_bucket_of_a_re_checked_id_sends_the_append_to_the_full_validation() {
        let (_dir, path) = empty_ledger();
        // given enough ids for several buckets, c2 linked to c1 by a
        // membership that has ended (so the index's own check of a c1 event
        // does not read c2's bucket), and c2's bucket damaged
        let many: Vec<Value> = (0..1100)
            .map(|i| created(&format!("c{i}"), "2000"))
            .collect();
        append_typed(&path, &many).expect("ok");
        let link = |kind: &str, date: &str| json!({"type": kind, "date": date, "org": "c1", "member": {"org": "c2"}, "relation": "member", "sources": [{"doc": "t"}]});
        append_typed(&path, &[link("joined", "2015")]).expect("ok");
        append_typed(&path, &[link("left", "2016")]).expect("ok");
        let bucket_of = |id: &str| bucket_file_of(&path, id);
        let (b1, b2) = (bucket_of("c1"), bucket_of("c2"));
        assert_ne!(b1, b2, "c1 and c2 share a bucket: pick other ids");
        fs::write(&b2, b"{broken").expect("write");
        // when c1 gets a backdated event, then the full validation takes it
        // and rebuilds the index
        let (_, used) = append_typed(&path, &[renamed("c1", "2012")]).expect("accepted");
        assert_eq!(used, IndexUse::Rebuilt(Declined::NeedsHistory(0)));
        assert_index_matches(&path);
    }

    #[test]
    fn a_backdated_event_re_checks_only_the_timelines_it_touches() {
        let (_dir, path) = empty_ledger();
        let joined = |org: &str, member: &str, date: &str| json!({"type": "joined", "date": date, "org": org, "member": {"org": member}, "relation": "member", "sources": [{"doc": "t"}]});
        // Given x and y linked by a membership, and z on its own
        append_typed(
            &path,
            &[
                created("x", "2010"),
                created("y", "2010"),
                created("z", "2010"),
                joined("x", "y", "2015"),
                dissolved("z", "2016"),
            ],
        )
        .expect("accepted");
        // when z gets a backdated event, then only z's timeline is re-checked
        let renamed = json!({"type": "renamed", "date": "2012", "org": "z", "name": "Z", "sources": [{"doc": "t"}]});
        let (_, used) = append_typed(&path, &[renamed]).expect("accepted");
        assert_eq!(used, IndexUse::Rechecked { ids: 1, records: 3 });
        assert_index_matches(&path);
        // when y gets one, then x's timeline is re-checked with it
        let (_, used) = append_typed(&path, &[joined("y", "x", "2011")]).expect("accepted");
        assert_eq!(used, IndexUse::Rechecked { ids: 2, records: 4 });
        assert_index_matches(&path);
        // when one would make a later record of that timeline invalid, then it
        // is refused in the full validation's words, and nothing is written
        let before = fs::read(&path).expect("read");
        let ledger = load(&path, 1).expect("loads");
        let early_end = [typed(dissolved("x", "2013"))];
        let expected = crate::fold::validate(&ledger.entries, &early_end, 8).expect_err("breaks");
        let refused = append_events(&path, &opts(), &|_| {}, &early_end)
            .expect("store ok")
            .expect_err("x is a member's org in 2015");
        assert_eq!(refused, expected);
        assert!(
            matches!(
                refused,
                ValidationError::Breaks {
                    existing_seq: 4,
                    ..
                }
            ),
            "{refused}"
        );
        assert_eq!(fs::read(&path).expect("read"), before);
        assert_index_matches(&path);
    }

    #[test]
    fn a_shared_load_keeps_appends_out_until_its_file_is_dropped() {
        let (_dir, path) = empty_ledger();
        append_typed(&path, &[created("a", "2010")]).expect("accepted");
        let batch = [typed(created("b", "2011"))];
        let no_wait = AppendOptions {
            no_wait: true,
            ..opts()
        };
        // given a ledger loaded with its shared lock kept
        let (held, ledger) = load_shared_with_progress(&path, 1, &|_| {}).expect("load");
        assert_eq!(ledger.head_seq(), 1);
        // when an append comes, then it finds the ledger locked and writes nothing
        let busy = append_events(&path, &no_wait, &|_| {}, &batch);
        assert!(matches!(busy, Err(StoreError::Locked { .. })), "{busy:?}");
        assert_eq!(load(&path, 1).expect("load").head_seq(), 1);
        // and once the file is dropped, it goes through
        drop(held);
        let (appended, _) = append_events(&path, &no_wait, &|_| {}, &batch)
            .expect("store ok")
            .expect("accepted");
        assert_eq!(appended.head_seq, 2);
    }

    #[test]
    fn the_tail_names_the_line_of_a_bad_last_record() {
        // Given a ledger of three records
        let (_dir, path) = empty_ledger();
        append_all(&path, &["a", "b", "c"]);
        let good = fs::read(&path).expect("read");
        let line_of = |bytes: &[u8]| {
            fs::write(&path, bytes).expect("write");
            let file = File::open(&path).expect("open");
            match read_tail(&path, &file) {
                Err(StoreError::Chain { error, .. }) => (error.line(), error.to_string()),
                other => panic!("{other:?}"),
            }
        };
        // When a fourth line is cut short, or is no record, then the error
        // names line 4 (the tail is read from the end, where line numbers
        // are not known: they are counted on the error path)
        let (line, message) = line_of(&[&good[..], b"{\"v\":1,\"seq\":4"].concat());
        assert_eq!(line, 4, "{message}");
        let (line, message) = line_of(&[&good[..], b"{\"v\":1,\"seq\":4}\n"].concat());
        assert_eq!(line, 4, "{message}");
        assert!(message.starts_with("line 4: member"), "{message}");
    }

    /// The time [`AppendOptions::clock`] gives, set by the test below.
    static CLOCK: std::sync::Mutex<&str> = std::sync::Mutex::new("2026-01-01T00:00:01Z");

    #[test]
    fn an_append_that_waited_for_the_lock_stamps_the_time_it_got_it() {
        // Given a ledger whose lock another process holds
        let (_dir, path) = empty_ledger();
        let held = File::open(&path).expect("open");
        held.lock_shared().expect("lock");
        // When an append with a clock starts, waits, and the clock moves on
        // before the lock is released
        let waiting = {
            let path = path.clone();
            std::thread::spawn(move || {
                let options = AppendOptions {
                    clock: Some(|| CLOCK.lock().expect("clock").to_string()),
                    ..opts()
                };
                append_events(&path, &options, &|_| {}, &[typed(created("a", "2010"))])
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!waiting.is_finished(), "the append did not wait");
        *CLOCK.lock().expect("clock") = "2026-01-01T00:00:09Z";
        drop(held);
        let (appended, _) = waiting
            .join()
            .expect("thread")
            .expect("store ok")
            .expect("accepted");
        // Then the record carries the time the append was made
        assert_eq!(appended.asked, "2026-01-01T00:00:09Z");
        assert_eq!(appended.recorded, "2026-01-01T00:00:09Z");
        let chain = load(&path, 1).expect("load");
        assert_eq!(chain.entries[0].recorded, "2026-01-01T00:00:09Z");
    }

    /// Given a ledger's leaves, read for a proof, when an append comes
    /// before they are dropped, then it finds the ledger locked (a record
    /// read back is the one verified); once they are dropped, it goes
    /// through.
    #[test]
    fn leaves_keep_appends_out_until_they_are_dropped() {
        let (_dir, path) = empty_ledger();
        append_typed(&path, &[created("a", "2010")]).expect("accepted");
        let batch = [typed(created("b", "2011"))];
        let no_wait = AppendOptions {
            no_wait: true,
            ..opts()
        };
        let leaves = read_leaves(&path, 1, &|_| {}).expect("leaves");
        let busy = append_events(&path, &no_wait, &|_| {}, &batch);
        assert!(matches!(busy, Err(StoreError::Locked { .. })), "{busy:?}");
        assert!(leaves.record(1).expect("read back").is_some());
        drop(leaves);
        let (appended, _) = append_events(&path, &no_wait, &|_| {}, &batch)
            .expect("store ok")
            .expect("accepted");
        assert_eq!(appended.head_seq, 2);
    }

    #[test]
    fn a_bad_url_is_refused_in_the_batch_only() {
        let (_dir, path) = empty_ledger();
        let with_url = |id: &str, url: &str| json!({"type": "created", "date": "2010", "id": id, "name": id, "kind": "k", "sources": [{"doc": "t", "url": url}]});
        // Given a ledger holding a record whose url is no URL (written by
        // a build before rule `url`, or by another writer)…
        append(&path, &opts(), |_, _| {
            Ok::<_, ()>(vec![with_url("a", "example.org/a")])
        })
        .expect("store ok")
        .expect("written");
        // …then it still verifies, its timeline is consistent, and it
        // takes appends, whose own urls are checked.
        let ledger = load(&path, 1).expect("verifies");
        assert_eq!(ledger.entries.len(), 1);
        assert_eq!(crate::fold::validate(&ledger.entries, &[], 2), Ok(()));
        let (_, used) =
            append_typed(&path, &[with_url("b", "https://example.org/b")]).expect("accepted");
        assert_eq!(used, IndexUse::Rebuilt(Declined::NotCurrent));
        let before = fs::read(&path).expect("read");
        let refused = append_typed(&path, &[with_url("c", "example.org/c")]).expect_err("url");
        assert!(
            matches!(&refused, ValidationError::Rejected { index: 0, rule, .. } if rule.rule == crate::fold::Rule::Url),
            "{refused}"
        );
        assert_eq!(fs::read(&path).expect("read"), before);
    }

    #[test]
    fn after_a_re_establishment_the_index_checks_a_figure_against_the_new_period_alone() {
        let (_dir, path) = empty_ledger();
        let figure = |name: &str, date: &str| json!({"type": "figures", "date": date, "org": "edit", "values": {name: 10}, "sources": [{"doc": "t"}]});
        let transformed = |mode: &str, date: &str, from: &str, to: &str| json!({"type": "transformed", "mode": mode, "date": date, "from": [from], "to": [to], "sources": [{"doc": "t"}]});
        // Given `edit` with a series "beds", absorbed by `grilog`, then
        // re-established (which needs the history: the index is rebuilt)…
        append_typed(&path, &[created("edit", "2010"), created("grilog", "2010")])
            .expect("accepted");
        let (_, used) = append_typed(&path, &[figure("beds", "2012")]).expect("accepted");
        assert_eq!(used, IndexUse::Checked);
        let absorbed = transformed("absorption", "2013", "edit", "grilog");
        let (_, used) = append_typed(&path, &[absorbed]).expect("accepted");
        assert_eq!(used, IndexUse::Checked);
        let back = transformed("reestablishment", "2014", "grilog", "edit");
        let (_, used) = append_typed(&path, &[back]).expect("accepted");
        assert_eq!(used, IndexUse::Rebuilt(Declined::NeedsHistory(0)));
        // …when a figure "Beds" comes after all that, then the index alone
        // accepts it: the new period has no series yet…
        let (_, used) = append_typed(&path, &[figure("Beds", "2015")]).expect("accepted");
        assert_eq!(used, IndexUse::Checked);
        // …and "beds" is now the one named like a series but for case,
        // refused with nothing written.
        let before = fs::read(&path).expect("read");
        let refused = append_typed(&path, &[figure("beds", "2016")]).expect_err("case");
        let text = refused.to_string();
        assert!(text.contains(r#"its series "Beds""#), "{text}");
        assert_eq!(fs::read(&path).expect("read"), before);
    }

    #[test]
    fn appends_after_the_first_are_checked_by_the_index_until_it_goes_stale() {
        let (_dir, path) = empty_ledger();
        // Given no index, the first append reads everything and builds one.
        let (a, used) = append_typed(&path, &[created("a", "2010")]).expect("accepted");
        assert_eq!(used, IndexUse::Rebuilt(Declined::NotCurrent));
        assert_eq!(a.head_seq, 1);
        // Then later events are checked by it alone.
        let (_, used) =
            append_typed(&path, &[created("b", "2011"), dissolved("a", "2016")]).expect("accepted");
        assert_eq!(used, IndexUse::Checked);
        // A new id needs no history, even backdated.
        let (_, used) = append_typed(&path, &[created("c", "2009")]).expect("accepted");
        assert_eq!(used, IndexUse::Checked);
        // An event dated before a record that touched its ids is checked
        // against the whole ledger read, but only a's timeline re-checked
        // (its creation, the new event, its dissolution: 3 records of 5).
        let renamed = json!({"type": "renamed", "date": "2012", "org": "a", "name": "A", "sources": [{"doc": "t"}]});
        let (_, used) = append_typed(&path, &[renamed]).expect("accepted");
        assert_eq!(used, IndexUse::Rechecked { ids: 1, records: 3 });
        // An event the index refuses is refused by the full validation,
        // with its words; nothing is written.
        let before = fs::read(&path).expect("read");
        let refused = append_typed(&path, &[dissolved("a", "2017")]).expect_err("a has ended");
        assert!(refused.to_string().contains("ended"), "{refused}");
        assert_eq!(fs::read(&path).expect("read"), before);
        // A ledger changed behind the index's back (here: a record added by
        // another writer) makes it stale: it is not trusted, but rebuilt.
        let (_, used) = append_typed(&path, &[created("d", "2012")]).expect("accepted");
        assert_eq!(used, IndexUse::Checked);
        append(&path, &opts(), |_, _| {
            Ok::<_, ()>(vec![dissolved("d", "2013")])
        })
        .expect("store ok")
        .expect("written");
        let (_, used) = append_typed(&path, &[created("e", "2013")]).expect("accepted");
        assert_eq!(used, IndexUse::Rebuilt(Declined::NotCurrent));
        // An update cut short leaves no HEAD: the index is rebuilt.
        fs::remove_file(index::dir_of(&path).join("HEAD")).expect("remove");
        let (_, used) = append_typed(&path, &[created("f", "2014")]).expect("accepted");
        assert_eq!(used, IndexUse::Rebuilt(Declined::NotCurrent));
        // A damaged bucket is not trusted either.
        let idx = index::dir_of(&path);
        fs::write(idx.join("bucket-0.json"), b"{not json").expect("write");
        let (_, used) = append_typed(&path, &[created("g", "2015")]).expect("accepted");
        assert_eq!(used, IndexUse::Rebuilt(Declined::Damaged));
        let ledger = load(&path, 1).expect("the ledger verifies");
        // The index rebuilt from the validating fold is the one a fold of
        // the ledger gives, bound to its head.
        let (head, entries) = index::read_all(&idx).expect("readable").expect("present");
        assert_eq!(entries, index::entries_of(&ledger.entries).0);
        assert_eq!(
            (head.ledger_bytes, head.seq, head.hash.as_str()),
            (ledger.bytes, ledger.head_seq(), ledger.head_hash())
        );
    }

    /// Given generated ledgers (empty, one record, hundreds; some lines in
    /// a form only the general reader takes), when only their leaves are
    /// read, then the tree is the one over the loaded ledger's hashes, and
    /// every record read back is the loaded one; past the head there is none.
    #[test]
    fn the_leaves_give_the_loaded_ledgers_tree_and_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.jsonl");
        for events in [0, 1, 2, 300] {
            let records = crate::generator::records(&crate::generator::Options {
                events,
                seed: events + 3,
                recorded: opts().recorded,
                batch: 1,
            });
            let text: String = records
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let line = r.to_line();
                    // Whitespace inside the event: the same hash, another reader.
                    let line = if i % 7 == 3 {
                        line.replacen("\"event\":{", "\"event\":{ ", 1)
                    } else {
                        line
                    };
                    line + "\n"
                })
                .collect();
            fs::write(&path, text).expect("write");
            let loaded = load(&path, 2).expect("load");
            let leaves = read_leaves(&path, 2, &|_| {}).expect("leaves");
            let tree = crate::merkle::Tree::from_record_hashes(
                loaded.entries.iter().map(|e| e.hash.as_str()),
            )
            .expect("tree");
            assert_eq!(leaves.len(), loaded.len());
            assert_eq!(leaves.tree(), tree, "{events}");
            for seq in 0..=events + 1 {
                let index = usize::try_from(seq).unwrap_or(usize::MAX).wrapping_sub(1);
                let expected = record_at(&path, &loaded, index).expect("read");
                assert_eq!(leaves.record(seq).expect("read back"), expected, "{seq}");
            }
        }
    }

    /// Given a ledger's leaves, when a record's line is then changed behind
    /// the lock (its content, the whole file cut short, or replaced by
    /// another ledger), then reading it back is refused with `Changed`.
    #[test]
    fn a_record_changed_after_its_leaves_were_read_is_refused() {
        let (_dir, path) = empty_ledger();
        append_all(&path, &["a", "b", "c"]);
        let text = fs::read_to_string(&path).expect("read");
        let leaves = read_leaves(&path, 2, &|_| {}).expect("leaves");
        // One byte of the event changed, the hash stated as before.
        fs::write(&path, text.replacen("\"org\":\"b\"", "\"org\":\"x\"", 1)).expect("edit");
        let err = leaves.record(2).expect_err("changed");
        assert!(matches!(err, StoreError::Changed { seq: 2, .. }), "{err}");
        assert!(leaves.record(1).is_ok());
        fs::write(&path, &text[..text.len() / 2]).expect("cut");
        let err = leaves.record(3).expect_err("changed");
        assert!(matches!(err, StoreError::Changed { seq: 3, .. }), "{err}");
        // Another ledger, each record sound, none the one verified.
        let (_other_dir, other) = empty_ledger();
        append_all(&other, &["x", "y", "z"]);
        fs::copy(&other, &path).expect("replace");
        let err = leaves.record(1).expect_err("changed");
        assert!(matches!(err, StoreError::Changed { seq: 1, .. }), "{err}");
    }

    #[test]
    fn a_large_batch_validated_whole_is_sealed_and_indexed_like_the_generator() {
        // A generated landscape: its first 1500 records as the ledger, the
        // next 1500 events (backdated ones, corrections, plans…) as a batch
        // the index cannot check.
        let records = crate::generator::records(&crate::generator::Options {
            events: 3000,
            seed: 11,
            recorded: opts().recorded,
            batch: 1500,
        });
        let lines = |rs: &[Record]| {
            rs.iter()
                .map(|r| r.to_line() + "\n")
                .collect::<String>()
                .into_bytes()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.jsonl");
        fs::write(&path, lines(&records[..1500])).expect("write");
        let batch: Vec<Event> = records[1500..]
            .iter()
            .map(|r| typed(r.event.clone()))
            .collect();
        // Refused at its last event: nothing is written, though the batch
        // was being sealed meanwhile.
        let before = fs::read(&path).expect("read");
        let mut refused = batch.clone();
        refused.push(typed(dissolved("nobody", "2030")));
        let e = append_events(&path, &opts(), &|_| {}, &refused)
            .expect("store ok")
            .expect_err("unknown id");
        assert!(
            matches!(e, ValidationError::Rejected { index: 1500, .. }),
            "{e}"
        );
        assert_eq!(fs::read(&path).expect("read"), before);
        assert!(!journal_path(&path).exists());
        // Accepted: the same bytes as the generated ledger, and an index
        // (several buckets, written at once) that matches it.
        let (appended, used) = append_events(&path, &opts(), &|_| {}, &batch)
            .expect("store ok")
            .expect("accepted");
        assert_eq!(used, IndexUse::Rebuilt(Declined::NotCurrent));
        assert_eq!(appended.head_hash, records[2999].hash);
        assert_eq!(fs::read(&path).expect("read"), lines(&records));
        let ledger = load(&path, 2).expect("the ledger verifies");
        let idx = index::dir_of(&path);
        let (head, _) = index::read_all(&idx).expect("readable").expect("present");
        assert!(head.buckets > 1, "{head:?}");
        assert!(matches!(
            index::audit(&idx, &ledger.entries, ledger.bytes),
            index::Audit::Matches { .. }
        ));
    }

    #[test]
    fn the_tail_is_the_last_record_read_from_the_end_alone() {
        let (_dir, path) = empty_ledger();
        let open = |p: &Path| File::open(p).expect("open");
        let empty = read_tail(&path, &open(&path)).expect("empty ledger");
        assert_eq!((empty.bytes, empty.seq), (0, 0));
        assert_eq!(empty.hash, crate::record::GENESIS_PREV);
        // Lines longer than the first 4 KiB chunk make it read further back.
        let long = "x".repeat(9000);
        let a = append_all(&path, &["a", &long, "c", &long]);
        let tail = read_tail(&path, &open(&path)).expect("tail");
        assert_eq!((tail.seq, tail.hash.as_str()), (4, a.head_hash.as_str()));
        assert_eq!(tail.bytes, fs::metadata(&path).expect("meta").len());
        assert_eq!(tail.recorded, "2026-01-01T00:00:00Z");
        // A torn last line is reported, not skipped.
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(b"{\"v\":1").expect("write");
        assert!(matches!(
            read_tail(&path, &open(&path)),
            Err(StoreError::Chain {
                error: ChainError::Torn { .. },
                ..
            })
        ));
        // An edited last record fails its hash check.
        let text = fs::read_to_string(&path).expect("read");
        let last = text.lines().nth(3).expect("line 4");
        let edited = path.with_extension("e");
        fs::write(
            &edited,
            format!("{}\n", last.replace("\"seq\":4", "\"seq\":5")),
        )
        .expect("write");
        assert!(matches!(
            read_tail(&edited, &open(&edited)),
            Err(StoreError::Chain {
                error: ChainError::Record { .. },
                ..
            })
        ));
    }

    #[test]
    fn init_then_append_then_load() {
        let (_dir, path) = empty_ledger();
        assert!(matches!(init(&path), Err(StoreError::Exists { .. })));
        let a = append_all(&path, &["a", "b"]);
        assert_eq!((a.first_seq, a.head_seq), (1, 2));
        let chain = load(&path, 1).expect("valid");
        assert_eq!(chain.head_hash(), a.head_hash);
        assert!(!journal_path(&path).exists());
    }

    #[test]
    fn load_and_append_report_progress_up_to_the_file_size() {
        // Given a ledger of 50 records
        let (_dir, path) = empty_ledger();
        let orgs: Vec<String> = (0..50).map(|i| format!("o{i}")).collect();
        append_all(&path, &orgs.iter().map(String::as_str).collect::<Vec<_>>());
        let size = fs::metadata(&path).expect("metadata").len();
        // When it is loaded with a progress callback
        let seen = std::cell::RefCell::new(Vec::new());
        let ledger = load_with_progress(&path, 1, &|d| seen.borrow_mut().push(d)).expect("loads");
        // Then the totals increase and end at the file size
        let seen = seen.into_inner();
        assert!(!seen.is_empty());
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert_eq!(seen.last().copied(), Some(size));
        assert_eq!(ledger.len(), 50);
        // And an append reports the bytes it verified before preparing
        let before_prepare = std::cell::Cell::new(0);
        let at_prepare = std::cell::Cell::new(0);
        append_with_progress(&path, &opts(), &|d| before_prepare.set(d), |_, _| {
            at_prepare.set(before_prepare.get());
            Ok::<_, ()>(vec![event("late")])
        })
        .expect("store ok")
        .expect("accepted");
        assert_eq!(at_prepare.get(), size);
    }

    #[test]
    fn a_refused_batch_leaves_the_file_byte_for_byte() {
        let (_dir, path) = empty_ledger();
        append_all(&path, &["a"]);
        let before = fs::read(&path).expect("read");
        let r = append(&path, &opts(), |_, _| Err::<Vec<Value>, _>("no"));
        assert!(matches!(r, Ok(Err("no"))));
        let moved = append(
            &path,
            &AppendOptions {
                expect_head: Some("ffff".into()),
                ..opts()
            },
            |_, _| Ok::<_, ()>(vec![event("b")]),
        );
        assert!(matches!(moved, Err(StoreError::HeadMoved { seq: 1, .. })));
        assert_eq!(fs::read(&path).expect("read"), before);
    }

    #[test]
    fn recorded_never_goes_back() {
        let (_dir, path) = empty_ledger();
        append_all(&path, &["a"]);
        let earlier = AppendOptions {
            recorded: "2020-01-01T00:00:00Z".into(),
            ..opts()
        };
        append(&path, &earlier, |_, _| Ok::<_, ()>(vec![event("b")]))
            .expect("ok")
            .expect("ok");
        let chain = load(&path, 1).expect("valid");
        assert_eq!(chain.entries[1].recorded, "2026-01-01T00:00:00Z");
        // Compared as instants, not as text: after `…00.5Z` (written by
        // another tool, or `gen --recorded`), a clock reading `…00Z` is
        // behind, though `Z` sorts after `.`
        let fraction = AppendOptions {
            recorded: "2026-01-01T00:00:00.5Z".into(),
            ..opts()
        };
        append(&path, &fraction, |_, _| Ok::<_, ()>(vec![event("c")]))
            .expect("ok")
            .expect("ok");
        let appended = append(&path, &opts(), |_, _| Ok::<_, ()>(vec![event("d")]))
            .expect("ok")
            .expect("ok");
        assert_eq!(appended.recorded, "2026-01-01T00:00:00.5Z");
        let chain = load(&path, 1).expect("still a valid chain");
        assert_eq!(chain.entries[3].recorded, "2026-01-01T00:00:00.5Z");
    }

    #[test]
    fn an_interrupted_batch_is_detected_and_rolled_back() {
        let (_dir, path) = empty_ledger();
        append_all(&path, &["a"]);
        let before = fs::read(&path).expect("read");
        // Simulate a crash after the journal and two of three lines.
        let head = load(&path, 1).expect("valid");
        let journal = Journal {
            base_len: before.len() as u64,
            base_seq: 1,
            base_head: head.head_hash().to_owned(),
            new_len: before.len() as u64 + 600,
            new_head: "a".repeat(64),
        };
        write_journal(&journal_path(&path), &journal).expect("journal");
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(b"{\"v\":1,\"seq\":2}\n{\"v\":1,")
            .expect("write");
        assert!(matches!(
            load(&path, 1),
            Err(StoreError::Interrupted { .. })
        ));
        assert!(matches!(
            append(&path, &opts(), |_, _| Ok::<_, ()>(vec![event("x")])),
            Err(StoreError::Interrupted { .. })
        ));
        assert_eq!(
            repair(&path, false).expect("repair"),
            Repaired::RolledBack { removed_bytes: 23 }
        );
        assert_eq!(fs::read(&path).expect("read"), before);
        assert_eq!(repair(&path, false).expect("repair"), Repaired::Nothing);
    }

    #[test]
    fn repair_refuses_a_journal_the_ledger_contradicts() {
        let (_dir, path) = empty_ledger();
        append_all(&path, &["a", "b", "c"]);
        let good = fs::read(&path).expect("read");
        let ledger = load(&path, 1).expect("valid");
        let line1 = ledger.line_range(0).expect("line 1").end as u64 + 1;
        let jpath = journal_path(&path);
        let len = good.len() as u64;
        let j = |base_len, base_seq, base_head: &str, new_len| Journal {
            base_len,
            base_seq,
            base_head: base_head.into(),
            new_len,
            new_head: "a".repeat(64),
        };
        let genesis = crate::record::GENESIS_PREV;
        let cases = [
            // a length inside line 1, whose prefix is no chain
            j(5, 0, genesis, len),
            // a length at a line end, but the journal names another head
            j(line1, 1, &"f".repeat(64), len),
            // longer than the file: something cut it
            j(len + 10, 3, ledger.head_hash(), len + 20),
            // an earlier point, but the file is longer than the batch could
            // make it: acknowledged records came after (a stale journal)
            j(0, 0, genesis, line1),
        ];
        for j in cases {
            write_journal(&jpath, &j).expect("journal");
            assert!(
                matches!(
                    repair(&path, false),
                    Err(StoreError::JournalMismatch { .. })
                ),
                "{j:?}"
            );
            assert_eq!(
                fs::read(&path).expect("read"),
                good,
                "{j:?} changed the ledger"
            );
        }
        // a complete journal of an unknown version is refused, not guessed at
        fs::write(&jpath, "{\"journal\":2,\"base_len\":0}\n").expect("write");
        assert!(matches!(
            repair(&path, false),
            Err(StoreError::JournalMismatch { .. })
        ));
        assert_eq!(fs::read(&path).expect("read"), good);
        // one cut short while being written is dropped: the ledger is intact
        fs::write(&jpath, "{\"journal\":1,\"base_le").expect("write");
        assert_eq!(
            repair(&path, false).expect("repair"),
            Repaired::DiscardedJournal
        );
        assert_eq!(fs::read(&path).expect("read"), good);
        assert!(!jpath.exists());
    }

    #[test]
    fn a_batch_written_whole_before_the_crash_is_kept() {
        let (_dir, path) = empty_ledger();
        append_all(&path, &["a"]);
        let base = load(&path, 1).expect("valid");
        let base_len = fs::metadata(&path).expect("meta").len();
        append_all(&path, &["b", "c"]);
        let after = load(&path, 1).expect("valid");
        let whole = fs::read(&path).expect("read");
        // the crash came after the data was synced, before the journal was removed
        let j = Journal {
            base_len,
            base_seq: 1,
            base_head: base.head_hash().into(),
            new_len: whole.len() as u64,
            new_head: after.head_hash().into(),
        };
        write_journal(&journal_path(&path), &j).expect("journal");
        assert_eq!(
            repair(&path, false).expect("repair"),
            Repaired::Completed { head_seq: 3 }
        );
        assert_eq!(fs::read(&path).expect("read"), whole);
    }

    #[cfg(unix)]
    #[test]
    fn every_name_of_a_ledger_finds_the_same_journal() {
        let (dir, path) = empty_ledger();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        assert_eq!(journal_path(&link), journal_path(&path));
    }

    #[test]
    fn a_torn_line_without_journal_is_removed_and_a_complete_one_kept() {
        let (_dir, path) = empty_ledger();
        append_all(&path, &["a", "b"]);
        let full = fs::read(&path).expect("read");
        fs::write(&path, &full[..full.len() - 1]).expect("write");
        assert_eq!(
            repair(&path, false).expect("repair"),
            Repaired::AddedNewline { line: 2 }
        );
        assert_eq!(fs::read(&path).expect("read"), full);
        let mut torn = full.clone();
        torn.extend_from_slice(b"{\"v\":1,\"se");
        fs::write(&path, &torn).expect("write");
        // Not without being asked: no journal, so no interrupted append.
        assert!(matches!(
            repair(&path, false),
            Err(StoreError::CutShort {
                line: 3,
                bytes: 10,
                ..
            })
        ));
        assert_eq!(fs::read(&path).expect("read"), torn);
        assert_eq!(
            repair(&path, true).expect("repair"),
            Repaired::RemovedIncomplete { line: 3, bytes: 10 }
        );
        assert_eq!(fs::read(&path).expect("read"), full);
    }

    #[test]
    fn repair_refuses_tampering() {
        let (_dir, path) = empty_ledger();
        append_all(&path, &["a", "b"]);
        let text = fs::read_to_string(&path)
            .expect("read")
            .replace("\"a\"", "\"z\"");
        fs::write(&path, &text).expect("write");
        assert!(matches!(
            repair(&path, false),
            Err(StoreError::Chain { .. })
        ));
        assert_eq!(fs::read_to_string(&path).expect("read"), text);
    }

    #[test]
    fn entries_in_parallel_match_the_sequential_parse_and_name_the_first_bad_line() {
        let mut prev = crate::record::GENESIS_PREV.to_owned();
        let mut records = Vec::new();
        for seq in 1..=5000u64 {
            let r = Record::seal(
                seq,
                "2026-01-01T00:00:00Z".into(),
                event(&format!("o{seq}")),
                prev,
            );
            prev = r.hash.clone();
            records.push(r);
        }
        let path = Path::new("l.jsonl");
        let chain = crate::chain::Chain { records };
        let lines = |chain: &crate::chain::Chain| {
            let mut bytes = Vec::new();
            for r in &chain.records {
                bytes.extend_from_slice(r.to_line().as_bytes());
                bytes.push(b'\n');
            }
            bytes
        };
        let loaded = chain::verify_ledger(&lines(&chain)[..], 2).expect("valid");
        let all = &loaded.entries;
        assert_eq!(all.len(), 5000);
        let seq: Vec<u64> = all.iter().map(|e| e.seq).collect();
        assert_eq!(seq, (1..=5000).collect::<Vec<_>>());
        assert_eq!(all[4321], chain.records[4321].entry().expect("valid"));
        // Two records whose events are outside the vocabulary, sealed so
        // that the chain itself verifies.
        let mut bad = chain.clone();
        let mut prev = crate::record::GENESIS_PREV.to_owned();
        for (i, r) in bad.records.iter_mut().enumerate() {
            let event = if i == 3000 || i == 4500 {
                json!({"type": "dissolved"})
            } else {
                r.event.clone()
            };
            *r = Record::seal(r.seq, r.recorded.clone(), event, prev);
            prev = r.hash.clone();
        }
        match chain::verify_ledger(&lines(&bad)[..], 2).map_err(|e| ledger_error(path, e)) {
            Err(StoreError::Event {
                line: 3001,
                seq: 3001,
                ..
            }) => {}
            other => panic!("expected line 3001, got {other:?}"),
        }
    }

    #[test]
    fn write_atomic_replaces_the_whole_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        write_atomic(&path, b"one").expect("write");
        // A longer temporary file left by a crash of a process of this pid.
        let stale = dir.path().join(format!("s.json.tmp{}", std::process::id()));
        fs::write(&stale, b"a longer file, left over").expect("write");
        write_atomic(&path, b"two").expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    /// The names in a directory, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_new_file_appears_whole_under_its_name_and_nothing_else_is_left() {
        // Given an empty directory
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new.jsonl");
        // When a new file is written
        let seen = write_new_with(&path, |f| {
            f.write_all(b"whole")?;
            // the name is not taken while the file is written
            Ok(fs::symlink_metadata(&path).is_ok())
        })
        .expect("write");
        // Then it holds what was written, and only it is there
        assert!(!seen);
        assert_eq!(fs::read(&path).expect("read"), b"whole");
        assert_eq!(names(dir.path()), ["new.jsonl"]);
    }

    #[test]
    fn a_new_file_never_replaces_one_and_a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        // Given an existing file: refused before anything is written
        fs::write(&path, "keep").expect("write");
        let mut called = false;
        let err = write_new_with(&path, |_| {
            called = true;
            Ok(())
        })
        .expect_err("exists");
        assert!(!called);
        assert!(
            matches!(&err, StoreError::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists),
            "{err}"
        );
        // Given a file that takes the name while the new one is written
        fs::remove_file(&path).expect("rm");
        let err = write_new_with(&path, |f| {
            fs::write(&path, "first")?;
            f.write_all(b"second")
        })
        .expect_err("taken meanwhile");
        assert!(
            matches!(&err, StoreError::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists),
            "{err}"
        );
        assert_eq!(fs::read(&path).expect("read"), b"first");
        assert_eq!(names(dir.path()), ["f"]);
        // Given a write that fails: no file, no temporary file
        fs::remove_file(&path).expect("rm");
        let err = write_new_with(&path, |f| {
            f.write_all(b"part")?;
            Err::<(), _>(io::Error::other("disk full"))
        })
        .expect_err("fails");
        assert!(err.to_string().contains("disk full"), "{err}");
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn the_temporary_files_being_written_can_be_removed_at_once() {
        // Given a new file and a whole-file rewrite, both being written
        let dir = tempfile::tempdir().expect("tempdir");
        let (new, old) = (dir.path().join("new"), dir.path().join("old"));
        fs::write(&old, "old").expect("write");
        let mut during = Vec::new();
        let result = write_new_with(&new, |f| {
            f.write_all(b"n")?;
            write_atomic_with(&old, |g| {
                g.write_all(b"o")?;
                during = names(dir.path());
                // When the process is told to stop (what the command line's
                // signal handler does; only this test's files, since other
                // tests write theirs in parallel)
                let listed = remove_temporaries_where(|p| p.starts_with(dir.path()));
                assert_eq!(listed, 2);
                Ok(())
            })
            .map_err(io::Error::other)
        });
        // Then both temporary files were there, and are gone; the old file
        // is unchanged and the new one was never made
        let pid = std::process::id();
        assert!(during.contains(&format!("new.tmp{pid}")), "{during:?}");
        assert!(during.contains(&format!("old.tmp{pid}")), "{during:?}");
        assert!(result.is_err());
        assert_eq!(names(dir.path()), ["old"]);
        assert_eq!(fs::read(&old).expect("read"), b"old");
    }
}
