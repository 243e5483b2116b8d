//! Ledger records: one JSON object per line, hash-chained.
//!
//! A record has exactly the members `v`, `seq`, `recorded`, `event`, `prev`
//! and `hash`. `hash` is the lowercase hex SHA-256 of the RFC 8785 (JCS)
//! canonical form of the record without its `hash` member; `prev` is the
//! previous record's `hash` (64 zeros for the first record).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::event::{Event, ShapeError};

/// The only format version this build reads and writes.
pub const FORMAT_VERSION: u64 = 1;

/// The longest a record's line may be, in bytes without its newline (64
/// MiB): readers refuse a longer line rather than hold it, and `append`
/// refuses an event that would make one (see [`crate::event::MAX_EVENT_BYTES`]).
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// A hash prefix as a person gives one (`--known-at`, `--expect-head`): 4
/// to 64 hex digits in either case, returned in lowercase as hashes are
/// written; `None` for anything else.
pub fn hash_prefix(text: &str) -> Option<String> {
    (4..=64).contains(&text.len()).then_some(())?;
    text.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| text.to_ascii_lowercase())
}

/// `prev` of the first record.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The members of a record, in the order fusion writes them.
pub const MEMBERS: [&str; 6] = ["v", "seq", "recorded", "event", "prev", "hash"];

/// Why one line is not a well-formed record. Chain-level problems (links,
/// sequence) are [`crate::chain`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not JSON.
    #[error("not valid JSON: {0}")]
    Json(String),
    /// JSON, but a member is missing, extra or of the wrong type.
    #[error("member `{member}`: {rule}")]
    Member {
        /// The member name.
        member: String,
        /// The rule broken.
        rule: String,
    },
    /// The version is not one this build knows.
    #[error(
        "format version {found} is not supported (this build reads version {FORMAT_VERSION}), so the line's hash cannot be checked: a newer fusion wrote it, or the line was altered (hint: if a newer fusion writes this ledger, upgrade fusion; otherwise compare the ledger with a backup or a checkpoint)"
    )]
    Version {
        /// The version found.
        found: u64,
    },
    /// The stored hash does not match the content.
    #[error("hash mismatch: stored {stored}, content hashes to {computed}")]
    Hash {
        /// The `hash` member.
        stored: String,
        /// What the content hashes to.
        computed: String,
    },
    /// The event inside fails its shape check.
    #[error("event: {0}")]
    Event(ShapeError),
}

/// A parsed, hash-checked record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Position in the ledger, from 1.
    pub seq: u64,
    /// When it was appended, RFC 3339 UTC.
    pub recorded: String,
    /// The event as stored.
    pub event: Value,
    /// The previous record's hash.
    pub prev: String,
    /// This record's hash.
    pub hash: String,
}

/// A record whose event has been parsed into the typed vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Position in the ledger, from 1.
    pub seq: u64,
    /// This record's hash.
    pub hash: String,
    /// When it was appended, RFC 3339 UTC.
    pub recorded: String,
    /// The typed event.
    pub event: Event,
}

/// The RFC 8785 canonical form of a JSON value.
///
/// Values without floats or integers beyond ±2^53 (every valid event) take
/// a direct writer that allocates nothing per key; anything else goes
/// through the `canon-json` crate. Both give the same bytes (tested).
pub fn canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    match jcs::write(value, &mut out) {
        Ok(()) => out,
        Err(jcs::NotExact) => canonical_slow(value),
    }
}

fn canonical_slow(value: &Value) -> Vec<u8> {
    use canon_json::CanonJsonSerialize;
    // Serialising a serde_json::Value cannot fail: keys are strings and the
    // values are already JSON.
    value.to_canon_json_vec().unwrap_or_default()
}

/// A direct RFC 8785 writer for JSON without floats.
mod jcs {
    use serde_json::Value;
    use std::cmp::Ordering;
    use std::io::Write;

    /// The value holds a float or an integer JSON numbers cannot carry
    /// exactly: leave it to the general implementation.
    pub struct NotExact;

    const MAX_EXACT: u64 = (1 << 53) - 1;

    /// RFC 8785 orders member names by their UTF-16 code units.
    pub fn key_cmp(a: &str, b: &str) -> Ordering {
        if a.is_ascii() && b.is_ascii() {
            a.cmp(b)
        } else {
            a.encode_utf16().cmp(b.encode_utf16())
        }
    }

    pub fn write(v: &Value, out: &mut Vec<u8>) -> Result<(), NotExact> {
        match v {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(n) => {
                if let Some(u) = n.as_u64().filter(|u| *u <= MAX_EXACT) {
                    let _ = write!(out, "{u}");
                } else if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= MAX_EXACT) {
                    let _ = write!(out, "{i}");
                } else {
                    return Err(NotExact);
                }
            }
            Value::String(s) => string(s, out),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(item, out)?;
                }
                out.push(b']');
            }
            Value::Object(m) => {
                out.push(b'{');
                let sorted = m
                    .keys()
                    .zip(m.keys().skip(1))
                    .all(|(a, b)| key_cmp(a, b) == Ordering::Less);
                if sorted {
                    for (i, (k, v)) in m.iter().enumerate() {
                        member(i, k, v, out)?;
                    }
                } else {
                    let mut members: Vec<(&String, &Value)> = m.iter().collect();
                    members.sort_unstable_by(|a, b| key_cmp(a.0, b.0));
                    for (i, (k, v)) in members.into_iter().enumerate() {
                        member(i, k, v, out)?;
                    }
                }
                out.push(b'}');
            }
        }
        Ok(())
    }

    fn member(i: usize, k: &str, v: &Value, out: &mut Vec<u8>) -> Result<(), NotExact> {
        if i > 0 {
            out.push(b',');
        }
        string(k, out);
        out.push(b':');
        write(v, out)
    }

    /// ECMAScript `JSON.stringify` escaping, as RFC 8785 requires.
    pub fn string(s: &str, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(b'"');
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let esc: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0x00..=0x1f => {
                    out.extend_from_slice(&bytes[start..i]);
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                    start = i + 1;
                    continue;
                }
                _ => continue,
            };
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(esc);
            start = i + 1;
        }
        out.extend_from_slice(&bytes[start..]);
        out.push(b'"');
    }
}

/// The instant a record's `recorded` names, if it has the ledger's exact
/// form: `YYYY-MM-DDTHH:MM:SS`, then optionally `.` and 1 to 9 digits,
/// then `Z`, with upper-case `T` and `Z` (RFC 3339 in UTC; second 60, a
/// leap second, is accepted at any minute, as RFC 3339's grammar does).
/// Nine digits are nanoseconds, all that an instant holds here, so two
/// different texts never name the same instant unless they differ only
/// by trailing zeros of the fraction.
pub fn recorded_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let b = text.as_bytes();
    let fraction = b.get(19..b.len().checked_sub(1)?)?;
    let exact = b.get(10) == Some(&b'T')
        && b.last() == Some(&b'Z')
        && match fraction {
            [] => true,
            [b'.', digits @ ..] => {
                (1..=9).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
            }
            _ => false,
        };
    if !exact {
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.to_utc())
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A record hash's 64 lowercase hex digits as bytes (`None` for any
/// other text).
pub fn decode_hash(hex: &str) -> Option<[u8; 32]> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0; 32];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let &[high, low] = pair else { return None };
        *o = nibble(high)? << 4 | nibble(low)?;
    }
    Some(out)
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// The hash of a record body: SHA-256 of the JCS form of the object holding
/// `v`, `seq`, `recorded`, `event` and `prev`.
pub fn hash_body(seq: u64, recorded: &str, event: &Value, prev: &str) -> String {
    // The body's members in RFC 8785 order (event, prev, recorded, seq, v),
    // written around the event without copying it.
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"event\":");
    if jcs::write(event, &mut out).is_err() {
        return sha256_hex(&canonical(&body(seq, recorded, event, prev)));
    }
    out.extend_from_slice(b",\"prev\":");
    jcs::string(prev, &mut out);
    out.extend_from_slice(b",\"recorded\":");
    jcs::string(recorded, &mut out);
    out.extend_from_slice(format!(",\"seq\":{seq},\"v\":{FORMAT_VERSION}}}").as_bytes());
    if seq > crate::event::MAX_SAFE_INTEGER {
        return sha256_hex(&canonical(&body(seq, recorded, event, prev)));
    }
    sha256_hex(&out)
}

/// Seals `event` as record `seq` after `prev`, appends its line (what
/// [`Record::seal`] then [`Record::to_line`] give, without the newline) to
/// `out`, and returns the record's hash.
///
/// The event's canonical form is written once and serves both the hash and
/// the line; `scratch` is a buffer reused from one call to the next.
pub fn seal_line(
    seq: u64,
    recorded: &str,
    event: &Value,
    prev: &str,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> String {
    let write = |scratch: &mut Vec<u8>| jcs::write(event, scratch).is_ok();
    seal_with(seq, recorded, prev, out, scratch, write, || event.clone())
}

/// Seals `event` as [`seal_line`] seals [`Event::to_json`], byte for byte,
/// without building that JSON value: the event is written as JSON text,
/// then rewritten in its canonical form (`fast::canonical_into`). An event
/// that rewriter leaves (a float, an integer beyond 2^53) takes the general
/// way. `text` is a second buffer reused from one call to the next.
pub fn seal_event(
    seq: u64,
    recorded: &str,
    event: &Event,
    prev: &str,
    out: &mut Vec<u8>,
    bufs: (&mut Vec<u8>, &mut Vec<u8>),
) -> String {
    let (scratch, text) = bufs;
    let write = |scratch: &mut Vec<u8>| {
        text.clear();
        serde_json::to_writer(&mut *text, event).is_ok()
            && std::str::from_utf8(text).is_ok_and(|t| crate::fast::canonical_into(t, scratch))
    };
    seal_with(seq, recorded, prev, out, scratch, write, || event.to_json())
}

/// What [`seal_line`] and [`seal_event`] share: `write` appends the event's
/// canonical form to `scratch` or says it cannot (then `value` gives the
/// event for the general form).
fn seal_with(
    seq: u64,
    recorded: &str,
    prev: &str,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> bool,
    value: impl FnOnce() -> Value,
) -> String {
    const EVENT: &[u8] = b"{\"event\":";
    scratch.clear();
    scratch.extend_from_slice(EVENT);
    if seq > crate::event::MAX_SAFE_INTEGER || !write(scratch) {
        // What the direct writer does not cover: the general form.
        let record = Record::seal(seq, recorded.to_owned(), value(), prev.to_owned());
        out.extend_from_slice(record.to_line().as_bytes());
        return record.hash;
    }
    let event_end = scratch.len();
    scratch.extend_from_slice(b",\"prev\":");
    jcs::string(prev, scratch);
    scratch.extend_from_slice(b",\"recorded\":");
    jcs::string(recorded, scratch);
    scratch.extend_from_slice(format!(",\"seq\":{seq},\"v\":{FORMAT_VERSION}}}").as_bytes());
    let hash = sha256_hex(scratch);
    // The members as `to_line` writes them: strings escaped by serde_json
    // (which writes a `&str` as it writes the `Value` holding it).
    let quoted = |s: &str, out: &mut Vec<u8>| {
        if serde_json::to_writer(&mut *out, s).is_err() {
            out.extend_from_slice(Value::from(s).to_string().as_bytes());
        }
    };
    out.extend_from_slice(
        format!("{{\"v\":{FORMAT_VERSION},\"seq\":{seq},\"recorded\":").as_bytes(),
    );
    quoted(recorded, out);
    out.extend_from_slice(b",\"event\":");
    out.extend_from_slice(scratch.get(EVENT.len()..event_end).unwrap_or_default());
    out.extend_from_slice(b",\"prev\":");
    quoted(prev, out);
    out.extend_from_slice(b",\"hash\":");
    quoted(&hash, out);
    out.push(b'}');
    hash
}

fn body(seq: u64, recorded: &str, event: &Value, prev: &str) -> Value {
    let mut m = Map::new();
    m.insert("v".into(), Value::from(FORMAT_VERSION));
    m.insert("seq".into(), Value::from(seq));
    m.insert("recorded".into(), Value::from(recorded));
    m.insert("event".into(), event.clone());
    m.insert("prev".into(), Value::from(prev));
    Value::Object(m)
}

impl Record {
    /// Builds the next record after `prev` and computes its hash.
    pub fn seal(seq: u64, recorded: String, event: Value, prev: String) -> Record {
        let hash = hash_body(seq, &recorded, &event, &prev);
        Record {
            seq,
            recorded,
            event,
            prev,
            hash,
        }
    }

    /// The line as written to the ledger, without the trailing newline:
    /// members in the order of [`MEMBERS`], compact JSON, the event in its
    /// RFC 8785 canonical form (the form that is hashed), so that readers
    /// can hash it as it stands (the crate's private `fast` module).
    pub fn to_line(&self) -> String {
        let quoted = |s: &str| Value::from(s).to_string();
        let event = canonical(&self.event);
        format!(
            "{{\"v\":{FORMAT_VERSION},\"seq\":{},\"recorded\":{},\"event\":{},\"prev\":{},\"hash\":{}}}",
            self.seq,
            quoted(&self.recorded),
            String::from_utf8_lossy(&event),
            quoted(&self.prev),
            quoted(&self.hash)
        )
    }

    /// Parses one line (without its newline), checks members, version and
    /// hash. Does not check the link to the previous record.
    /// Refuses a carriage return at the end (lines end in LF alone), a
    /// byte-order mark, and an object naming a member twice.
    pub fn parse_line(line: &str) -> Result<Record, RecordError> {
        if line.trim_ascii().is_empty() {
            return Err(RecordError::Json(
                "the line is blank, where a record was expected; a ledger has no blank lines (hint: delete the line: an editor or `echo >>` may have added it)".into(),
            ));
        }
        if line.ends_with('\r') {
            return Err(RecordError::Json(
                "the line ends in CR LF; ledger lines end in LF alone".into(),
            ));
        }
        if line.starts_with('\u{feff}') {
            return Err(RecordError::Json(
                "the line starts with a byte-order mark (U+FEFF); a ledger is UTF-8 without one"
                    .into(),
            ));
        }
        let value = crate::json::from_str(line).map_err(|e| {
            RecordError::Json(format!("{e}{}", crate::event::escape_note(line, &e)))
        })?;
        Record::from_value(value)
    }

    /// As [`Record::parse_line`], from an already parsed value.
    pub fn from_value(value: Value) -> Result<Record, RecordError> {
        let Value::Object(mut m) = value else {
            return Err(RecordError::Json("a record must be a JSON object".into()));
        };
        let member = |member: &str, rule: &str| RecordError::Member {
            member: member.into(),
            rule: rule.into(),
        };
        if let Some(extra) = m.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
            return Err(member(
                extra,
                "is not a record member (v, seq, recorded, event, prev, hash)",
            ));
        }
        let v = m
            .get("v")
            .ok_or_else(|| member("v", "is missing"))?
            .as_u64()
            .ok_or_else(|| member("v", "must be a positive integer"))?;
        if v != FORMAT_VERSION {
            return Err(RecordError::Version { found: v });
        }
        let seq = m
            .get("seq")
            .ok_or_else(|| member("seq", "is missing"))?
            .as_u64()
            .filter(|s| *s >= 1 && *s <= crate::event::MAX_SAFE_INTEGER)
            .ok_or_else(|| member("seq", "must be an integer from 1 to 2^53-1"))?;
        let recorded = take_string(&mut m, "recorded")?;
        if recorded_time(&recorded).is_none() {
            return Err(member(
                "recorded",
                "must be an RFC 3339 UTC time of the form `YYYY-MM-DDTHH:MM:SSZ`, with an optional fraction of 1 to 9 digits before the `Z`",
            ));
        }
        let prev = take_string(&mut m, "prev")?;
        crate::event::check_hash(&prev).map_err(|r| member("prev", &r))?;
        let hash = take_string(&mut m, "hash")?;
        crate::event::check_hash(&hash).map_err(|r| member("hash", &r))?;
        let event = m
            .remove("event")
            .ok_or_else(|| member("event", "is missing"))?;
        if !event.is_object() {
            return Err(member("event", "must be an object"));
        }
        let computed = hash_body(seq, &recorded, &event, &prev);
        if computed != hash {
            return Err(RecordError::Hash {
                stored: hash,
                computed,
            });
        }
        Ok(Record {
            seq,
            recorded,
            event,
            prev,
            hash,
        })
    }

    /// Parses the event into the typed vocabulary.
    pub fn entry(&self) -> Result<Entry, RecordError> {
        let event = Event::from_json(&self.event).map_err(RecordError::Event)?;
        Ok(Entry {
            seq: self.seq,
            hash: self.hash.clone(),
            recorded: self.recorded.clone(),
            event,
        })
    }
}

fn take_string(m: &mut Map<String, Value>, name: &str) -> Result<String, RecordError> {
    match m.remove(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(RecordError::Member {
            member: name.into(),
            rule: "must be a string".into(),
        }),
        None => Err(RecordError::Member {
            member: name.into(),
            rule: "is missing".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixed_event() -> Value {
        json!({"type": "created", "date": "2008", "id": "edit", "name": "Edit", "kind": "cluster",
               "sources": [{"doc": "003_3b54702e53d06fb4.txt",
                            "quote": "Depuis 2008, avec la naissance du cluster lyonnais Edit"}]})
    }

    /// The format's anchor: if this hash changes, every ledger ever written
    /// stops verifying. Changing it needs a new format version.
    #[test]
    fn test_hash_fixed_record() {
        let r = Record::seal(
            1,
            "2026-01-01T00:00:00Z".into(),
            fixed_event(),
            GENESIS_PREV.into(),
        );
        insta::assert_snapshot!(r.hash, @"a3853016ea78aaeb0343b07aa9565391f88672d93ceae32a9c2ecf35955a2aee");
        insta::assert_snapshot!(String::from_utf8_lossy(&canonical(&body(1, &r.recorded, &r.event, &r.prev))), @r#"{"event":{"date":"2008","id":"edit","kind":"cluster","name":"Edit","sources":[{"doc":"003_3b54702e53d06fb4.txt","quote":"Depuis 2008, avec la naissance du cluster lyonnais Edit"}],"type":"created"},"prev":"0000000000000000000000000000000000000000000000000000000000000000","recorded":"2026-01-01T00:00:00Z","seq":1,"v":1}"#);
    }

    #[test]
    fn seal_line_gives_the_line_and_hash_of_seal_then_to_line() {
        let events = [
            fixed_event(),
            json!({"type": "renamed", "org": "a\"b\\c\u{1}\u{7f}é😀", "name": "x\ny\tz", "date": "2015-~03", "sources": [{"doc": "d"}]}),
            json!({"z": 1, "a": [1, -2, 9007199254740991_u64], "é": {"b": null, "a": true}}),
            // Beyond what the direct writer covers: the general form.
            json!({"type": "created", "n": 1.5, "big": 9007199254740993_u64}),
        ];
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        for (i, event) in events.iter().enumerate() {
            for (seq, prev, recorded) in [
                (1, GENESIS_PREV, "2026-01-01T00:00:00Z"),
                (7 + i as u64, "ab\u{2028}\"", "2026-\u{1}01"),
                (crate::event::MAX_SAFE_INTEGER + 1, GENESIS_PREV, "r"),
            ] {
                let sealed = Record::seal(seq, recorded.into(), event.clone(), prev.into());
                out.clear();
                let hash = seal_line(seq, recorded, event, prev, &mut out, &mut scratch);
                assert_eq!(hash, sealed.hash);
                assert_eq!(String::from_utf8_lossy(&out), sealed.to_line());
            }
        }
    }

    #[test]
    fn seal_event_writes_what_seal_line_writes_of_the_event_s_json() {
        // Given typed events of every kind the generator writes, and events
        // with strings to escape
        let mut events: Vec<Event> = crate::generator::records(&crate::generator::Options {
            events: 2000,
            seed: 5,
            recorded: "2026-01-01T00:00:00Z".into(),
            batch: 500,
        })
        .into_iter()
        .filter_map(|r| Event::from_json(&r.event).ok())
        .collect();
        let tricky = json!({"type": "renamed", "org": "a", "name": "x\"y\\z\u{1}\u{7f}\u{2028}é😀\n", "date": "2015-03~", "sources": [{"doc": "d", "quote": "a\tb"}]});
        events.push(Event::from_json(&tricky).expect("valid"));
        assert!(events.len() > 1900);
        let (mut a, mut b, mut scratch, mut text) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, event) in events.iter().enumerate() {
            for (seq, prev, recorded) in [
                (1, GENESIS_PREV, "2026-01-01T00:00:00Z"),
                (7 + i as u64, "ab\u{2028}\"", "2026-\u{1}01"),
                // Beyond the direct writer: the general form, for both.
                (crate::event::MAX_SAFE_INTEGER + 1, GENESIS_PREV, "r"),
            ] {
                // When sealed from the typed event and from its JSON value
                a.clear();
                b.clear();
                let from_value =
                    seal_line(seq, recorded, &event.to_json(), prev, &mut a, &mut scratch);
                let from_event = seal_event(
                    seq,
                    recorded,
                    event,
                    prev,
                    &mut b,
                    (&mut scratch, &mut text),
                );
                // Then hash and line are the same bytes
                assert_eq!(from_event, from_value);
                assert_eq!(String::from_utf8_lossy(&b), String::from_utf8_lossy(&a));
            }
        }
    }

    #[test]
    fn a_line_round_trips_and_its_hash_checks() {
        let r = Record::seal(
            1,
            "2026-01-01T00:00:00Z".into(),
            fixed_event(),
            GENESIS_PREV.into(),
        );
        let line = r.to_line();
        assert!(line.starts_with(r#"{"v":1,"seq":1,"recorded":"#), "{line}");
        assert_eq!(Record::parse_line(&line).expect("valid"), r);
        let tampered = line.replace("Edit\"", "Edet\"");
        assert!(matches!(
            Record::parse_line(&tampered),
            Err(RecordError::Hash { .. })
        ));
    }

    #[test]
    fn a_duplicated_member_a_crlf_and_a_bom_are_refused() {
        let r = Record::seal(
            1,
            "2026-01-01T00:00:00Z".into(),
            fixed_event(),
            GENESIS_PREV.into(),
        );
        let line = r.to_line();
        // Same hash for readers that keep the last `name`: still refused.
        let forged = line.replace("\"event\":{", "\"event\":{\"name\":\"FORGED\",");
        assert!(
            matches!(Record::parse_line(&forged), Err(RecordError::Json(m)) if m.contains("duplicate member `name`"))
        );
        assert!(
            matches!(Record::parse_line(&format!("{line}\r")), Err(RecordError::Json(m)) if m.contains("CR LF"))
        );
        assert!(
            matches!(Record::parse_line(&format!("\u{feff}{line}")), Err(RecordError::Json(m)) if m.contains("byte-order mark"))
        );
        for blank in ["", " ", "\t "] {
            assert!(
                matches!(Record::parse_line(blank), Err(RecordError::Json(m)) if m.starts_with("the line is blank")),
                "{blank:?}"
            );
        }
        // A lone surrogate escape is quoted as written and named.
        let lone = line.replacen("\"event\":{", "\"event\":{\"x\":\"\\ud800\",", 1);
        assert!(
            matches!(Record::parse_line(&lone), Err(RecordError::Json(m)) if m.contains("in `\\ud800` (hint: a `\\uD800`–`\\uDFFF` escape is half of a surrogate pair")),
            "{:?}",
            Record::parse_line(&lone)
        );
        assert_eq!(Record::parse_line(&line).expect("valid"), r);
    }

    #[test]
    fn members_are_exactly_the_six() {
        let r = Record::seal(
            1,
            "2026-01-01T00:00:00Z".into(),
            fixed_event(),
            GENESIS_PREV.into(),
        );
        let mut v: Value = serde_json::from_str(&r.to_line()).expect("json");
        v["extra"] = json!(1);
        assert!(
            matches!(Record::from_value(v.clone()), Err(RecordError::Member { member, .. }) if member == "extra")
        );
        v.as_object_mut().map(|m| m.remove("extra"));
        v["v"] = json!(2);
        assert_eq!(
            Record::from_value(v),
            Err(RecordError::Version { found: 2 })
        );
    }

    #[test]
    fn jcs_sorts_keys_by_utf16_code_units() {
        // U+1F600 (surrogates D83D DE00) sorts before U+FB33 (FB33) in UTF-16,
        // although its UTF-8 form (F0…) sorts after (EF…).
        let v = json!({"\u{fb33}": 1, "\u{1f600}": 2, "a": 3, "B": 4});
        assert_eq!(
            String::from_utf8(canonical(&v)).expect("utf8"),
            "{\"B\":4,\"a\":3,\"\u{1f600}\":2,\"\u{fb33}\":1}"
        );
    }

    #[test]
    fn the_direct_writer_agrees_with_canon_json() {
        use crate::generator::{Options, records};
        let tricky = json!({"\u{fb33}": [1, -1, 0, null, true, false], "\u{1f600}": "\u{0}\u{7f}\"\\/é\u{1f}\t",
            "b": {"z": {}, "a": [], "é": "x"}, "A": 9007199254740991_u64, "neg": -9007199254740991_i64,
            "big": 9007199254740993_u64, "f": 1.5, "e": 1e21});
        let mut exact = tricky.clone();
        for k in ["big", "f", "e"] {
            exact.as_object_mut().map(|m| m.shift_remove(k));
        }
        let mut values = vec![tricky, exact, json!("\u{8}\u{c}\r\n")];
        let recs = records(&Options {
            events: 400,
            seed: 9,
            recorded: "2026-01-01T00:00:00Z".into(),
            batch: 100,
        });
        values.extend(recs.iter().map(|r| r.event.clone()));
        for v in &values {
            assert_eq!(
                String::from_utf8(canonical(v)).expect("utf8"),
                String::from_utf8(canonical_slow(v)).expect("utf8"),
                "{v}"
            );
        }
        for r in &recs {
            let slow = sha256_hex(&canonical_slow(&body(
                r.seq,
                &r.recorded,
                &r.event,
                &r.prev,
            )));
            assert_eq!(r.hash, slow);
        }
    }

    #[test]
    fn jcs_escapes_strings_minimally() {
        let v = json!({"s": "\u{0}\u{8}\t\n\u{c}\r\u{1f}\"\\/é€😀"});
        assert_eq!(
            String::from_utf8(canonical(&v)).expect("utf8"),
            "{\"s\":\"\\u0000\\b\\t\\n\\f\\r\\u001f\\\"\\\\/é€😀\"}"
        );
    }

    #[test]
    fn jcs_writes_integers_plainly_and_nests() {
        let v = json!({"n": [0, -1, 9007199254740991_u64, {"z": null, "a": true}], "e": {}});
        assert_eq!(
            String::from_utf8(canonical(&v)).expect("utf8"),
            "{\"e\":{},\"n\":[0,-1,9007199254740991,{\"a\":true,\"z\":null}]}"
        );
    }
}
