//! The hash chain: checks a whole ledger file, line by line.
//!
//! Each line must be a well-formed [`Record`] whose `seq` is one more than the
//! previous record's and whose `prev` is the previous record's `hash`. A final
//! line without its newline is an *interrupted append*, reported apart from
//! tampering because [`crate::store::repair`] can recover from it.
//!
//! Parsing and hashing are independent per line, so they run on all cores;
//! only the link check is sequential.

use crate::record::{GENESIS_PREV, Record, RecordError};

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
    /// The last line has no newline: an append was interrupted.
    #[error(
        "line {line}: incomplete last line ({bytes} bytes without a final newline): an append was interrupted; run `fusion repair`"
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

fn seq_suffix(seq: u64) -> String {
    format!(" (seq {seq})")
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
            | ChainError::Torn { line, .. } => *line,
        }
    }
}

/// A verified chain: every record, in order.
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

/// Checks a whole ledger's bytes and returns its records.
///
/// `threads` is how many threads may parse and hash (1 = sequential).
pub fn verify(bytes: &[u8], threads: usize) -> Result<Chain, ChainError> {
    let (complete, tail) = split_complete(bytes);
    let lines = split_lines(complete);
    let parsed = parse_all(&lines, threads.max(1));
    let mut records = Vec::with_capacity(lines.len());
    let mut prev = GENESIS_PREV.to_owned();
    for (i, result) in parsed.into_iter().enumerate() {
        let line = i + 1;
        let expected = i as u64 + 1;
        let record = result.map_err(|e| match e {
            LineError::Utf8(offset) => ChainError::Utf8 { line, offset },
            LineError::Record(error) => ChainError::Record {
                line,
                seq: expected,
                error,
            },
        })?;
        link(&record, line, expected, &prev)?;
        if let Some(before) = records.last() {
            check_recorded(&record, before, line)?;
        }
        prev.clone_from(&record.hash);
        records.push(record);
    }
    if !tail.is_empty() {
        let line = lines.len() + 1;
        let complete_record = std::str::from_utf8(tail)
            .ok()
            .and_then(|t| Record::parse_line(t).ok())
            .is_some_and(|r| link(&r, line, line as u64, &prev).is_ok());
        return Err(ChainError::Torn {
            line,
            bytes: tail.len(),
            offset: complete.len() as u64,
            complete_record,
        });
    }
    Ok(Chain { records })
}

/// Checks that `record` follows the record whose hash is `prev`.
pub fn link(record: &Record, line: usize, expected_seq: u64, prev: &str) -> Result<(), ChainError> {
    if record.seq != expected_seq {
        return Err(ChainError::Seq {
            line,
            found: record.seq,
            expected: expected_seq,
        });
    }
    if record.prev != prev {
        return Err(ChainError::Link {
            line,
            seq: record.seq,
            found: record.prev.clone(),
            expected: prev.to_owned(),
        });
    }
    Ok(())
}

/// Checks that `record` was not recorded before `before`, the record
/// preceding it.
pub fn check_recorded(record: &Record, before: &Record, line: usize) -> Result<(), ChainError> {
    let time = |r: &Record| chrono::DateTime::parse_from_rfc3339(&r.recorded).ok();
    // Both parse: `Record::from_value` refused any other `recorded`.
    if record.recorded != before.recorded && time(record) < time(before) {
        return Err(ChainError::Recorded {
            line,
            seq: record.seq,
            found: record.recorded.clone(),
            previous: before.recorded.clone(),
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

fn split_lines(complete: &[u8]) -> Vec<&[u8]> {
    if complete.is_empty() {
        return Vec::new();
    }
    let body = &complete[..complete.len() - 1];
    body.split(|b| *b == b'\n').collect()
}

enum LineError {
    Utf8(usize),
    Record(RecordError),
}

fn parse_line(bytes: &[u8]) -> Result<Record, LineError> {
    let text = std::str::from_utf8(bytes).map_err(|e| LineError::Utf8(e.valid_up_to()))?;
    Record::parse_line(text).map_err(LineError::Record)
}

fn parse_all(lines: &[&[u8]], threads: usize) -> Vec<Result<Record, LineError>> {
    if threads == 1 || lines.len() < 1024 {
        return lines.iter().map(|l| parse_line(l)).collect();
    }
    let chunk = lines.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|l| parse_line(l)).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(lines.len());
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                // A parser thread cannot panic on any input; should it, report
                // the lines as unreadable rather than propagating the panic.
                Err(_) => out.push(Err(LineError::Record(RecordError::Json(
                    "internal error while parsing".into(),
                )))),
            }
        }
        out
    })
}

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
