//! The ledger file on disk: create, read, append, repair.
//!
//! Safety rules, in the order an append follows them:
//!
//! 1. take an exclusive lock on the ledger file (`File::lock`), so that
//!    concurrent appenders take turns;
//! 2. read and verify the whole chain; refuse to append to a broken ledger;
//! 3. check `--expect-head`, then let the caller validate the batch;
//! 4. write a journal `<ledger>.journal` holding the ledger's length before
//!    the append, fsync it and its directory;
//! 5. append every line of the batch in one write, `sync_data`;
//! 6. remove the journal and fsync the directory; only then report success.
//!
//! A crash between 4 and 6 leaves the journal: [`repair`] truncates the
//! ledger back to the recorded length (the batch was never acknowledged), so
//! a batch is all or nothing even across crashes. A final line without a
//! newline and no journal (an append by another tool, a copy cut short) is
//! also repaired, by removing that incomplete line; a complete record is
//! never removed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::chain::{self, Chain, ChainError};
use crate::record::{Entry, Record, RecordError};

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
}

impl StoreError {
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
}

/// What `repair` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repaired {
    /// Nothing needed repair.
    Nothing,
    /// An interrupted batch was rolled back to the length in the journal.
    RolledBack {
        /// Bytes removed from the end.
        removed_bytes: u64,
    },
    /// An incomplete final line was removed.
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

/// The journal path of a ledger: `<ledger>.journal`.
pub fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".journal");
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
    fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => StoreError::Missing {
            path: path.to_owned(),
        },
        _ => StoreError::Io {
            op: "read",
            path: path.to_owned(),
            source: e,
        },
    })
}

/// Reads and verifies the chain. An interrupted append (journal present) is
/// reported as such.
pub fn load(path: &Path, threads: usize) -> Result<Chain, StoreError> {
    let bytes = read_bytes(path)?;
    let journal = journal_path(path);
    if journal.exists() {
        return Err(StoreError::Interrupted {
            path: path.to_owned(),
            journal,
        });
    }
    chain::verify(&bytes, threads).map_err(|error| StoreError::Chain {
        path: path.to_owned(),
        error,
    })
}

/// Parses every record's event into the typed vocabulary, on all cores
/// for large ledgers; the first bad record (in ledger order) is reported.
pub fn entries(path: &Path, chain: &Chain) -> Result<Vec<Entry>, StoreError> {
    let parse = |i: usize, r: &Record| {
        r.entry().map_err(|error| StoreError::Event {
            path: path.to_owned(),
            line: i + 1,
            seq: r.seq,
            error,
        })
    };
    let records = &chain.records;
    let threads = available_threads();
    if threads < 2 || records.len() < 4096 {
        return records
            .iter()
            .enumerate()
            .map(|(i, r)| parse(i, r))
            .collect();
    }
    let chunk = records.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(j, r)| parse(c * chunk + j, r))
                        .collect::<Result<Vec<Entry>, StoreError>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(records.len());
        for (c, h) in handles.into_iter().enumerate() {
            match h.join() {
                Ok(part) => out.extend(part?),
                // Parsing cannot panic on any input; should it, report the
                // chunk as unreadable rather than propagating the panic.
                Err(_) => {
                    return Err(StoreError::Event {
                        path: path.to_owned(),
                        line: c * chunk + 1,
                        seq: (c * chunk + 1) as u64,
                        error: RecordError::Json("internal error while parsing".into()),
                    });
                }
            }
        }
        Ok(out)
    })
}

/// Appends a batch under the lock. `prepare` sees the verified chain and the
/// first new seq, validates, and returns the event objects to store (or its
/// own error, which aborts with the ledger untouched).
pub fn append<E, F>(
    path: &Path,
    options: &AppendOptions,
    prepare: F,
) -> Result<Result<Appended, E>, StoreError>
where
    F: FnOnce(&Chain, u64) -> Result<Vec<Value>, E>,
{
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::Missing {
                path: path.to_owned(),
            },
            _ => StoreError::Io {
                op: "open",
                path: path.to_owned(),
                source: e,
            },
        })?;
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
    // The lock is released when `file` is dropped, on every path out.
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(StoreError::io("read", path))?;
    let journal = journal_path(path);
    if journal.exists() {
        return Err(StoreError::Interrupted {
            path: path.to_owned(),
            journal,
        });
    }
    let chain = chain::verify(&bytes, available_threads()).map_err(|error| StoreError::Chain {
        path: path.to_owned(),
        error,
    })?;
    if let Some(expected) = &options.expect_head {
        let head = chain.head_hash();
        if expected.len() < 4 || !head.starts_with(expected.as_str()) {
            return Err(StoreError::HeadMoved {
                expected: expected.clone(),
                actual: head.to_owned(),
                seq: chain.head_seq(),
            });
        }
    }
    let first_seq = chain.head_seq() + 1;
    let events = match prepare(&chain, first_seq) {
        Ok(events) => events,
        Err(e) => return Ok(Err(e)),
    };
    if events.is_empty() {
        return Ok(Ok(Appended {
            first_seq,
            head_seq: chain.head_seq(),
            head_hash: chain.head_hash().to_owned(),
        }));
    }
    let recorded = match chain.records.last() {
        Some(last) if last.recorded > options.recorded => last.recorded.clone(),
        _ => options.recorded.clone(),
    };
    let mut prev = chain.head_hash().to_owned();
    let mut out = Vec::new();
    let mut seq = first_seq;
    for event in events {
        let record = Record::seal(seq, recorded.clone(), event, prev);
        out.extend_from_slice(record.to_line().as_bytes());
        out.push(b'\n');
        prev = record.hash;
        seq += 1;
    }
    let base_len = bytes.len() as u64;
    write_journal(&journal, base_len)?;
    let written = file
        .seek(SeekFrom::Start(base_len))
        .and_then(|_| file.write_all(&out))
        .and_then(|()| file.sync_data());
    if let Err(source) = written {
        // Undo what may have reached the file; the journal stays if this
        // fails too, and `repair` finishes the job.
        if file
            .set_len(base_len)
            .and_then(|()| file.sync_data())
            .is_ok()
        {
            let _ = remove_journal(&journal);
        }
        return Err(StoreError::Io {
            op: "append to",
            path: path.to_owned(),
            source,
        });
    }
    remove_journal(&journal)?;
    Ok(Ok(Appended {
        first_seq,
        head_seq: seq - 1,
        head_hash: prev,
    }))
}

/// Recovers from an interrupted append. Never removes a complete record
/// that was acknowledged.
pub fn repair(path: &Path) -> Result<Repaired, StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::Missing {
                path: path.to_owned(),
            },
            _ => StoreError::io("open", path)(e),
        })?;
    file.lock().map_err(StoreError::io("lock", path))?;
    let len = file.metadata().map_err(StoreError::io("read", path))?.len();
    let journal = journal_path(path);
    if let Some(base_len) = read_journal(&journal)? {
        let removed_bytes = len.saturating_sub(base_len);
        if len > base_len {
            file.set_len(base_len)
                .and_then(|()| file.sync_data())
                .map_err(StoreError::io("truncate", path))?;
        }
        remove_journal(&journal)?;
        return Ok(Repaired::RolledBack { removed_bytes });
    }
    let bytes = read_bytes(path)?;
    match chain::verify(&bytes, available_threads()) {
        Ok(_) => Ok(Repaired::Nothing),
        Err(ChainError::Torn {
            line,
            bytes: torn,
            offset,
            complete_record,
        }) => {
            if complete_record {
                let mut f = &file;
                f.seek(SeekFrom::End(0))
                    .and_then(|_| f.write_all(b"\n"))
                    .and_then(|()| f.sync_data())
                    .map_err(StoreError::io("append to", path))?;
                Ok(Repaired::AddedNewline { line })
            } else {
                file.set_len(offset)
                    .and_then(|()| file.sync_data())
                    .map_err(StoreError::io("truncate", path))?;
                Ok(Repaired::RemovedIncomplete { line, bytes: torn })
            }
        }
        Err(error) => Err(StoreError::Chain {
            path: path.to_owned(),
            error,
        }),
    }
}

/// How many threads verification may use.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn write_journal(journal: &Path, base_len: u64) -> Result<(), StoreError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(journal)
        .map_err(StoreError::io("create", journal))?;
    writeln!(f, "{{\"journal\":1,\"base_len\":{base_len}}}")
        .and_then(|()| f.sync_all())
        .map_err(StoreError::io("write", journal))?;
    sync_dir(journal)
}

fn read_journal(journal: &Path) -> Result<Option<u64>, StoreError> {
    let text = match fs::read_to_string(journal) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", journal)(e)),
    };
    // A journal that was itself cut short means the ledger was not yet
    // touched: the journal is written and synced before the ledger.
    let base = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("base_len").and_then(Value::as_u64));
    match base {
        Some(b) => Ok(Some(b)),
        None => {
            remove_journal(journal)?;
            Ok(None)
        }
    }
}

fn remove_journal(journal: &Path) -> Result<(), StoreError> {
    fs::remove_file(journal).map_err(StoreError::io("remove", journal))?;
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

/// Writes a whole file atomically: a temporary file in the same directory,
/// fsynced, then renamed over the target, then the directory fsynced.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), StoreError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
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

    #[test]
    fn init_then_append_then_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.jsonl");
        init(&path).expect("init");
        assert!(matches!(init(&path), Err(StoreError::Exists { .. })));
        let a = append_all(&path, &["a", "b"]);
        assert_eq!((a.first_seq, a.head_seq), (1, 2));
        let chain = load(&path, 1).expect("valid");
        assert_eq!(chain.head_hash(), a.head_hash);
        assert!(!journal_path(&path).exists());
    }

    #[test]
    fn a_refused_batch_leaves_the_file_byte_for_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.jsonl");
        init(&path).expect("init");
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
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.jsonl");
        init(&path).expect("init");
        append_all(&path, &["a"]);
        let earlier = AppendOptions {
            recorded: "2020-01-01T00:00:00Z".into(),
            ..opts()
        };
        append(&path, &earlier, |_, _| Ok::<_, ()>(vec![event("b")]))
            .expect("ok")
            .expect("ok");
        let chain = load(&path, 1).expect("valid");
        assert_eq!(chain.records[1].recorded, "2026-01-01T00:00:00Z");
    }

    #[test]
    fn an_interrupted_batch_is_detected_and_rolled_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.jsonl");
        init(&path).expect("init");
        append_all(&path, &["a"]);
        let before = fs::read(&path).expect("read");
        // Simulate a crash after the journal and two of three lines.
        write_journal(&journal_path(&path), before.len() as u64).expect("journal");
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
            repair(&path).expect("repair"),
            Repaired::RolledBack { removed_bytes: 23 }
        );
        assert_eq!(fs::read(&path).expect("read"), before);
        assert_eq!(repair(&path).expect("repair"), Repaired::Nothing);
    }

    #[test]
    fn a_torn_line_without_journal_is_removed_and_a_complete_one_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.jsonl");
        init(&path).expect("init");
        append_all(&path, &["a", "b"]);
        let full = fs::read(&path).expect("read");
        fs::write(&path, &full[..full.len() - 1]).expect("write");
        assert_eq!(
            repair(&path).expect("repair"),
            Repaired::AddedNewline { line: 2 }
        );
        assert_eq!(fs::read(&path).expect("read"), full);
        let mut torn = full.clone();
        torn.extend_from_slice(b"{\"v\":1,\"se");
        fs::write(&path, &torn).expect("write");
        assert_eq!(
            repair(&path).expect("repair"),
            Repaired::RemovedIncomplete { line: 3, bytes: 10 }
        );
        assert_eq!(fs::read(&path).expect("read"), full);
    }

    #[test]
    fn repair_refuses_tampering() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.jsonl");
        init(&path).expect("init");
        append_all(&path, &["a", "b"]);
        let text = fs::read_to_string(&path)
            .expect("read")
            .replace("\"a\"", "\"z\"");
        fs::write(&path, &text).expect("write");
        assert!(matches!(repair(&path), Err(StoreError::Chain { .. })));
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
        let chain = Chain { records };
        let all = entries(path, &chain).expect("valid");
        assert_eq!(all.len(), 5000);
        let seq: Vec<u64> = all.iter().map(|e| e.seq).collect();
        assert_eq!(seq, (1..=5000).collect::<Vec<_>>());
        assert_eq!(all[4321], chain.records[4321].entry().expect("valid"));
        let mut bad = chain.clone();
        for i in [3000usize, 4500] {
            bad.records[i].event = json!({"type": "dissolved"});
        }
        match entries(path, &bad) {
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
        write_atomic(&path, b"two").expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }
}
