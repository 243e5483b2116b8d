//! Snapshots: a replay view written to a file, bound to the ledger position
//! it was folded from and sealed with a hash of its own content.
//!
//! A snapshot file is a JSON object:
//!
//! ```json
//! {"format": "fusion-snapshot", "v": 1,
//!  "ledger": "<hash of record 1>",
//!  "as_of": "2017-06-01", "known_at": {"seq": 60, "hash": "…"},
//!  "view": { …the replay JSON… },
//!  "content_hash": "<sha256 of the RFC 8785 form of this object without content_hash>"}
//! ```
//!
//! It is valid for a ledger when `ledger` is that ledger's first record hash,
//! the ledger's record at `known_at.seq` has hash `known_at.hash`, the
//! content hash matches, and re-deriving the view gives `view` again.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::record::{Entry, GENESIS_PREV, canonical, sha256_hex};
use crate::view::{self, View};

/// The `format` member of every snapshot.
pub const FORMAT: &str = "fusion-snapshot";

/// What checking a snapshot against a ledger found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It matches: same binding, same content, same re-derived view.
    Valid,
    /// It was made from another ledger (different first record); ignored.
    OtherLedger,
    /// Not a snapshot file: bad JSON or missing members.
    Malformed(String),
    /// The content hash does not match: the file was edited.
    Edited,
    /// The ledger no longer has the record it is bound to (rewritten, or
    /// the snapshot is ahead of the head).
    Stale(String),
    /// Binding and content hash hold, but re-deriving the view gives
    /// something else (forged with a recomputed hash, or an engine change).
    Differs,
}

impl Status {
    /// Whether this status is a verification failure.
    pub fn is_failure(&self) -> bool {
        !matches!(self, Status::Valid | Status::OtherLedger)
    }

    /// A lowercase description for reports.
    pub fn describe(&self) -> String {
        match self {
            Status::Valid => "valid".into(),
            Status::OtherLedger => "skipped: made from another ledger".into(),
            Status::Malformed(why) => format!("not a snapshot: {why}"),
            Status::Edited => "edited: its content hash does not match its content".into(),
            Status::Stale(why) => format!("stale: {why}; re-create it with `fusion snapshot`"),
            Status::Differs => {
                "differs: re-deriving the view from the ledger gives a different result".into()
            }
        }
    }
}

/// The identity of a ledger: its first record's hash (64 zeros if empty).
pub fn ledger_id(entries: &[Entry]) -> &str {
    entries.first().map_or(GENESIS_PREV, |e| e.hash.as_str())
}

/// Builds a snapshot of `view` for the ledger `entries`; returns the file
/// name (`<as_of>.json`, or `<as_of>@<seq>.json` when not at the head) and
/// the bytes to write.
pub fn build(entries: &[Entry], view: &View) -> (String, Vec<u8>) {
    let head = entries.last().map_or(0, |e| e.seq);
    let name = if view.known_at.seq == head {
        format!("{}.json", view.as_of)
    } else {
        format!("{}@{}.json", view.as_of, view.known_at.seq)
    };
    let mut m = Map::new();
    m.insert("format".into(), Value::from(FORMAT));
    m.insert("v".into(), Value::from(1));
    m.insert("ledger".into(), Value::from(ledger_id(entries)));
    m.insert("as_of".into(), Value::from(view.as_of.clone()));
    m.insert(
        "known_at".into(),
        serde_json::json!({"seq": view.known_at.seq, "hash": view.known_at.hash}),
    );
    m.insert(
        "view".into(),
        serde_json::to_value(view).unwrap_or(Value::Null),
    );
    let content_hash = sha256_hex(&canonical(&Value::Object(m.clone())));
    m.insert("content_hash".into(), Value::from(content_hash));
    let mut bytes = serde_json::to_vec_pretty(&Value::Object(m)).unwrap_or_default();
    bytes.push(b'\n');
    (name, bytes)
}

/// A parsed snapshot's binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The day the view shows.
    pub as_of: NaiveDate,
    /// The seq it was folded at.
    pub seq: u64,
}

/// Checks a snapshot file's bytes against the ledger. Re-derives the view
/// (a full fold) unless `rederive` is false, in which case a snapshot whose
/// binding and content hash hold is taken as valid (what replay does).
pub fn check(entries: &[Entry], bytes: &[u8], rederive: bool) -> (Status, Option<Binding>) {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return (Status::Malformed(format!("not JSON: {e}")), None),
    };
    let Value::Object(mut m) = value else {
        return (Status::Malformed("not a JSON object".into()), None);
    };
    if m.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return (
            Status::Malformed(format!("`format` is not `{FORMAT}`")),
            None,
        );
    }
    if m.get("ledger").and_then(Value::as_str) != Some(ledger_id(entries)) {
        return (Status::OtherLedger, None);
    }
    let Some(Value::String(stored)) = m.remove("content_hash") else {
        return (Status::Malformed("`content_hash` is missing".into()), None);
    };
    if sha256_hex(&canonical(&Value::Object(m.clone()))) != stored {
        return (Status::Edited, None);
    }
    let seq = m
        .get("known_at")
        .and_then(|k| k.get("seq"))
        .and_then(Value::as_u64);
    let hash = m
        .get("known_at")
        .and_then(|k| k.get("hash"))
        .and_then(Value::as_str);
    let as_of = m
        .get("as_of")
        .and_then(Value::as_str)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let (Some(seq), Some(hash), Some(as_of)) = (seq, hash, as_of) else {
        return (
            Status::Malformed("`known_at` or `as_of` is missing or malformed".into()),
            None,
        );
    };
    let binding = Binding { as_of, seq };
    let bound = if seq == 0 {
        hash == GENESIS_PREV
    } else {
        usize::try_from(seq - 1)
            .ok()
            .and_then(|i| entries.get(i))
            .is_some_and(|e| e.hash == hash)
    };
    if !bound {
        let head = entries.last().map_or(0, |e| e.seq);
        let why = if seq > head {
            format!("bound to seq {seq}, beyond the ledger's head (seq {head})")
        } else {
            format!("bound to seq {seq} with hash {hash}, which the ledger no longer has")
        };
        return (Status::Stale(why), Some(binding));
    }
    if rederive {
        let fresh = view::replay(entries, as_of, seq);
        if serde_json::to_value(&fresh).ok().as_ref() != m.get("view") {
            return (Status::Differs, Some(binding));
        }
    }
    (Status::Valid, Some(binding))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;
    use serde_json::json;

    fn entries() -> Vec<Entry> {
        let events = [
            json!({"type": "created", "date": "2008", "id": "a", "name": "A", "kind": "k", "sources": [{"doc": "d"}]}),
            json!({"type": "renamed", "date": "2010", "org": "a", "name": "A2", "sources": [{"doc": "d"}]}),
        ];
        let mut prev = GENESIS_PREV.to_owned();
        let mut out = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let r = Record::seal(i as u64 + 1, "2026-01-01T00:00:00Z".into(), e.clone(), prev);
            prev = r.hash.clone();
            out.push(r.entry().expect("valid"));
        }
        out
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("day")
    }

    #[test]
    fn a_fresh_snapshot_is_valid_and_named_by_date() {
        let es = entries();
        let (name, bytes) = build(&es, &view::replay(&es, day("2009-01-01"), 2));
        assert_eq!(name, "2009-01-01.json");
        assert_eq!(check(&es, &bytes, true).0, Status::Valid);
        let (older, _) = build(&es, &view::replay(&es, day("2009-01-01"), 1));
        assert_eq!(older, "2009-01-01@1.json");
    }

    #[test]
    fn an_edited_snapshot_is_caught() {
        let es = entries();
        let (_, bytes) = build(&es, &view::replay(&es, day("2011-01-01"), 2));
        let edited = String::from_utf8(bytes)
            .expect("utf8")
            .replace("\"A2\"", "\"A3\"");
        assert_eq!(check(&es, edited.as_bytes(), true).0, Status::Edited);
    }

    #[test]
    fn a_forged_snapshot_with_a_recomputed_hash_differs() {
        let es = entries();
        let (_, bytes) = build(&es, &view::replay(&es, day("2011-01-01"), 2));
        let mut v: Value = serde_json::from_slice(&bytes).expect("json");
        let m = v.as_object_mut().expect("object");
        m.remove("content_hash");
        m["view"]["organisations"][0]["name"] = json!("Forged");
        let h = sha256_hex(&canonical(&Value::Object(m.clone())));
        m.insert("content_hash".into(), json!(h));
        let forged = serde_json::to_vec(&v).expect("json");
        assert_eq!(check(&es, &forged, true).0, Status::Differs);
        assert_eq!(
            check(&es, &forged, false).0,
            Status::Valid,
            "without re-deriving, only the binding is checked"
        );
    }

    #[test]
    fn a_snapshot_of_a_rewritten_ledger_is_stale_and_another_ledger_is_skipped() {
        let es = entries();
        let (_, bytes) = build(&es, &view::replay(&es, day("2011-01-01"), 2));
        let mut rewritten = es.clone();
        rewritten[1].hash = "f".repeat(64);
        assert!(matches!(
            check(&rewritten, &bytes, true).0,
            Status::Stale(_)
        ));
        assert!(matches!(check(&es[..1], &bytes, true).0, Status::Stale(_)));
        let mut other = es.clone();
        other[0].hash = "e".repeat(64);
        assert_eq!(check(&other, &bytes, true).0, Status::OtherLedger);
    }
}
