//! The fast path for reading one ledger line into a typed entry.
//!
//! The general reader ([`Record::parse_line`] then [`Event::from_json`])
//! builds a `serde_json::Value`, writes its RFC 8785 form to hash it and
//! deserialises the event through serde's buffering of flattened, tagged
//! enums. For lines as fusion writes them that is mostly wasted work, so
//! [`entry`] tries a direct route first:
//!
//! 1. split the line at its fixed envelope
//!    `{"v":1,"seq":N,"recorded":"…","event":` … `,"prev":"…","hash":"…"}`;
//! 2. rewrite the event span into its canonical form straight from the
//!    bytes (only key order may differ; any whitespace, float, non-canonical
//!    escape, escaped or duplicate key makes it give up);
//! 3. hash that form with the envelope's members around it, without copying;
//! 4. read the event from the canonical bytes into a flat wire struct that
//!    holds every member any event can have (by a hand-written walk,
//!    [`read`], or by serde's derived reader when that gives up), and build
//!    the [`Event`] with the same member rules as [`Event::from_json`].
//!
//! [`check`] does the same without building the [`Event`] (for `verify`,
//! which drops each event once it is known to be valid): one hand-written
//! pass over the event's bytes ([`shape`]) checks its canonical form and
//! reads its members, applying the member and shape rules as it goes,
//! without allocating.
//!
//! It only ever *accepts*: any doubt (an unusual form, a hash mismatch, a
//! shape error) returns `None` and the caller runs the general reader, which
//! alone decides what is wrong and says so. The equivalence of the two on
//! accepted lines, and of [`check`] and [`entry`] on every line, is tested
//! below.

use compact_str::CompactString;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use sha2::{Digest, Sha256};

use crate::date::Date;
use crate::event::{
    Body, CandidacyStatus, ChangeMode, CorrectionMode, Event, MAX_SAFE_INTEGER, OrgSpec, Party,
    Relation, Source,
};
use crate::record::FORMAT_VERSION;

mod read;
mod shape;

/// A line read by the fast path: the record's members and its typed event.
#[derive(Debug, Clone, PartialEq)]
pub struct FastLine {
    /// The record's seq.
    pub seq: u64,
    /// Its `recorded` time.
    pub recorded: String,
    /// Its `prev`.
    pub prev: String,
    /// Its `hash` (checked).
    pub hash: String,
    /// The typed, shape-checked event.
    pub event: Event,
}

const PREFIX: &str = "{\"v\":1,\"seq\":";
/// The last member of the hashed body; `v` is [`FORMAT_VERSION`].
const VERSION_MEMBER: &[u8] = b",\"v\":1}";
const _: () = assert!(FORMAT_VERSION == 1, "update PREFIX and VERSION_MEMBER");
const RECORDED: &str = ",\"recorded\":\"";
const EVENT: &str = "\",\"event\":";
/// `,"prev":"` + 64 hex + `","hash":"` + 64 hex + `"}`.
const SUFFIX_LEN: usize = 9 + 64 + 10 + 64 + 2;

/// Reads one line (without its newline) if it is in the form fusion writes
/// and valid; `None` means "ask the general reader".
pub fn entry(line: &str) -> Option<FastLine> {
    let (env, canon) = envelope(line)?;
    let event = event_from_canonical(&canon)?;
    Some(FastLine {
        seq: env.seq,
        recorded: env.recorded.to_owned(),
        prev: env.prev.to_owned(),
        hash: env.hash.to_owned(),
        event,
    })
}

/// Reads one event given alone as JSON text (a line of a batch to append)
/// straight into the flat wire struct, in any member order and with any
/// whitespace or escapes, and builds it with [`Event::from_json`]'s member
/// rules: `Some` only for a valid event, and then the very event the
/// general reader (`json::from_str`, then [`Event::from_json`]) reads from
/// it. An object naming a member twice is refused by the wire structs
/// (serde's derived structs and [`Pairs`]), as the general reader refuses
/// it. `None` means "ask the general reader", which alone decides and words
/// errors.
pub fn event(text: &str) -> Option<Event> {
    if !text.starts_with('{') {
        return None;
    }
    event_from_canonical(text)
}

/// The seq and event of a line read back after a scan verified it with
/// hash `hash` ([`crate::store::reread`]): `Some` when the line states
/// `hash` and `hash` is that of its bytes as written. What [`entry`] reads,
/// without copying the record's other members, and without checking the
/// event's canonical form or its shape again: `hash` must be one the scan
/// verified, so the bytes that give it are the ones the scan found
/// canonical and valid (a line hashed over non-canonical bytes states
/// another hash). `None` leaves the line to [`entry`].
pub fn reread(line: &str, hash: &str) -> Option<(u64, Event)> {
    let parts = split(line)?;
    if parts.env.hash != hash || !parts.hash_matches(None) {
        return None;
    }
    // The scan found this very event valid: its shape is not checked again.
    Some((parts.env.seq, wire_of_canonical(parts.span)?.into_event()?))
}

/// Whether `line` is byte for byte what [`Record::to_line`] writes for the
/// record it holds, given that a scan verified it with hash `hash`: the
/// envelope as fusion writes it, stating `hash`, and the event's bytes as
/// written hashing to it, which makes them its canonical form (as for
/// [`reread`]). `false` says nothing: such a line may still be written
/// that way. For printing records as stored without parsing them again.
///
/// [`Record::to_line`]: crate::record::Record::to_line
pub fn is_as_written(line: &str, hash: &str) -> bool {
    split(line).is_some_and(|parts| parts.env.hash == hash && parts.hash_matches(None))
}

/// A line's record members other than its event, as [`check`] found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The record's seq.
    pub seq: u64,
    /// Its `recorded` time.
    pub recorded: &'a str,
    /// Its `prev`.
    pub prev: &'a str,
    /// Its `hash` (checked).
    pub hash: &'a str,
}

/// What [`entry`] checks, without building the event: `Some` exactly when
/// [`entry`] would read the line (so the general reader accepts it), for
/// callers that only need to know that the event is valid (`verify`).
///
/// One pass over the event ([`shape`]) checks its canonical form and its
/// members together, without allocating; events written in another member
/// order (older writers) are rewritten first.
pub fn check(line: &str) -> Option<Envelope<'_>> {
    let parts = split(line)?;
    if let Some(valid) = shape::check(parts.span) {
        return (valid && parts.hash_matches(None)).then_some(parts.env);
    }
    // Not canonical, or refused while reading it: rewrite, and read the
    // rewritten form if it differs.
    let mut out = Vec::with_capacity(parts.span.len());
    if canon_value(parts.span, &mut out, 0)? != parts.span.len() {
        return None;
    }
    let canon = String::from_utf8(out).ok()?;
    if canon == parts.span {
        return None;
    }
    (shape::check(&canon)? && parts.hash_matches(Some(&canon))).then_some(parts.env)
}

/// [`check`] for a streaming replay ([`crate::stream`]), which keeps of
/// most events only their date: `Some` with the date as written and
/// whether the event is a correction, a plan, or fulfils or abandons one, for a line
/// [`entry`] would read whose event is already canonical. `None` leaves
/// the line to [`entry`] (and then the general reader).
pub fn check_kept(line: &str) -> Option<(Envelope<'_>, Cow<'_, str>, Cow<'_, str>, bool)> {
    let parts = split(line)?;
    let (date, ty, whole) = shape::check_kept(parts.span)??;
    parts
        .hash_matches(None)
        .then_some((parts.env, date, ty, whole))
}

/// A line split at its envelope: the record's members other than the
/// event (checked, but not yet the hash) and the event's text as written.
struct Parts<'a> {
    env: Envelope<'a>,
    seq_text: &'a str,
    span: &'a str,
    /// The line from the event to the end of `prev`'s digits: the event
    /// followed by `,"prev":"…`, as in the hashed body.
    event_prev: &'a str,
}

impl Parts<'_> {
    /// Whether the record's hash is that of its body with the event as
    /// written, or `canon` (the event's canonical text) when given.
    fn hash_matches(&self, canon: Option<&str>) -> bool {
        const RECORDED: &[u8] = b"\",\"recorded\":\"";
        const SEQ: &[u8] = b"\",\"seq\":";
        let mut h = Sha256::new();
        h.update(b"{\"event\":");
        match canon {
            None => h.update(self.event_prev.as_bytes()),
            Some(canon) => {
                h.update(canon.as_bytes());
                h.update(b",\"prev\":\"");
                h.update(self.env.prev.as_bytes());
            }
        }
        // The rest in one piece: fewer, longer updates cost less.
        let (recorded, seq) = (self.env.recorded.as_bytes(), self.seq_text.as_bytes());
        let mut rest = [0u8; 128];
        let len = RECORDED.len() + recorded.len() + SEQ.len() + seq.len() + VERSION_MEMBER.len();
        match rest.get_mut(..len) {
            Some(out) => {
                let mut at = 0;
                for piece in [RECORDED, recorded, SEQ, seq, VERSION_MEMBER] {
                    if let Some(to) = out.get_mut(at..at + piece.len()) {
                        to.copy_from_slice(piece);
                    }
                    at += piece.len();
                }
                h.update(out);
            }
            None => {
                for piece in [RECORDED, recorded, SEQ, seq, VERSION_MEMBER] {
                    h.update(piece);
                }
            }
        }
        hex_eq(&h.finalize(), self.env.hash)
    }
}

/// Splits a line at its envelope, checks the envelope and the hash and
/// returns the event's canonical text.
fn envelope(line: &str) -> Option<(Envelope<'_>, Cow<'_, str>)> {
    let parts = split(line)?;
    let span = parts.span;
    // Lines fusion writes hold the event canonically already: check that
    // without copying; otherwise (older writers) rewrite it.
    let canon: Cow<'_, str> = if canonical_len(span, 0) == Some(span.len()) {
        Cow::Borrowed(span)
    } else {
        let mut out = Vec::with_capacity(span.len());
        if canon_value(span, &mut out, 0)? != span.len() {
            return None;
        }
        // Pieces of a `str` cut at ASCII bytes: always UTF-8.
        Cow::Owned(String::from_utf8(out).ok()?)
    };
    let borrowed = matches!(canon, Cow::Borrowed(_));
    if !parts.hash_matches((!borrowed).then_some(&*canon)) {
        return None;
    }
    Some((parts.env, canon))
}

/// Splits a line at its envelope and checks the members other than the
/// event and the hash.
fn split(line: &str) -> Option<Parts<'_>> {
    let rest = line.strip_prefix(PREFIX)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (seq_text, rest) = rest.split_at(digits);
    // Canonical integers only: no leading zero, at most 16 digits.
    if seq_text.is_empty() || seq_text.starts_with('0') || digits > 16 {
        return None;
    }
    let seq: u64 = seq_text.parse().ok()?;
    if !(1..=MAX_SAFE_INTEGER).contains(&seq) {
        return None;
    }
    let rest = rest.strip_prefix(RECORDED)?;
    // Written as is in the canonical form, so nothing that JSON escapes:
    // the first `"`, `\\` or control character must be the closing quote.
    let b = rest.as_bytes();
    let mut end = shape::plain(b, 0);
    while !matches!(b.get(end)?, b'"' | b'\\' | 0x00..=0x1f) {
        end += 1;
    }
    if b.get(end) != Some(&b'"') {
        return None;
    }
    let (recorded, rest) = rest.split_at_checked(end)?;
    if !RECORDED_OK.with_borrow(|last| last == recorded) {
        crate::record::recorded_time(recorded)?;
        RECORDED_OK.with_borrow_mut(|last| recorded.clone_into(last));
    }
    let rest = rest.strip_prefix(EVENT)?;
    let split = rest.len().checked_sub(SUFFIX_LEN)?;
    let (span, suffix) = (rest.get(..split)?, rest.get(split..)?);
    let event_prev = rest.get(..split + 9 + 64)?;
    let suffix = suffix.strip_prefix(",\"prev\":\"")?;
    let (prev, suffix) = suffix.split_at_checked(64)?;
    let suffix = suffix.strip_prefix("\",\"hash\":\"")?;
    let (hash, suffix) = suffix.split_at_checked(64)?;
    // `hash` is compared with the lowercase hex of the digest.
    if suffix != "\"}" || !is_hash(prev) {
        return None;
    }
    if !span.starts_with('{') {
        return None;
    }
    Some(Parts {
        env: Envelope {
            seq,
            recorded,
            prev,
            hash,
        },
        seq_text,
        span,
        event_prev,
    })
}

thread_local! {
    /// The last `recorded` this thread found valid: consecutive records
    /// mostly share it, and parsing it is a good part of a line's cost.
    static RECORDED_OK: RefCell<String> = const { RefCell::new(String::new()) };
}

/// [`Date::parse`]. (It kept the last date parsed on each thread until
/// plain dates were read without edtf-core; by then reading one cost what
/// the cache did.)
fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text).ok()
}

/// Whether [`parse_date`] reads `text`.
fn date_ok(text: &str) -> bool {
    parse_date(text).is_some()
}

/// Whether `hex` is the lowercase hex of `bytes` (a SHA-256 digest).
fn hex_eq(bytes: &[u8], hex: &str) -> bool {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    if bytes.len() != 32 {
        return false;
    }
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
    out.as_slice() == hex.as_bytes()
}

fn is_hash(h: &str) -> bool {
    // Without stopping early, so that it runs on whole vectors.
    h.len() == 64
        && h.bytes().fold(true, |ok, b| {
            ok & (b.is_ascii_digit() | (b.wrapping_sub(b'a') < 6))
        })
}

/// Appends to `out` the RFC 8785 form of `json`, one JSON value in a form
/// [`canon_value`] takes (no whitespace, integers within 2^53, strings as
/// RFC 8785 escapes them: what serde_json writes of an event), and says
/// whether it did; when not, `out` is as it was.
pub(crate) fn canonical_into(json: &str, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    if canon_value(json, out, 0) == Some(json.len()) {
        return true;
    }
    out.truncate(start);
    false
}

/// Deeper nesting is left to the general reader (serde_json stops at 128).
const MAX_DEPTH: u32 = 64;

/// Writes the RFC 8785 form of the JSON value at the start of `s` to `out`
/// and returns how many bytes of `s` it spans, or `None` when the value is
/// not in a form this rewriter handles (it then gives no verdict).
///
/// It accepts exactly the JSON whose canonical form differs from it at most
/// by the order of object members: no whitespace, strings with the escapes
/// RFC 8785 writes, member names without escapes, integers of at most
/// 2^53 − 1 in magnitude written plainly, no duplicate member name.
fn canon_value(s: &str, out: &mut Vec<u8>, depth: u32) -> Option<usize> {
    let b = s.as_bytes();
    match *b.first()? {
        b'{' => canon_object(s, out, depth),
        b'[' => {
            if depth >= MAX_DEPTH {
                return None;
            }
            out.push(b'[');
            let mut at = 1;
            if b.get(at) == Some(&b']') {
                out.push(b']');
                return Some(at + 1);
            }
            loop {
                at += canon_value(s.get(at..)?, out, depth + 1)?;
                match b.get(at)? {
                    b',' => out.push(b','),
                    b']' => {
                        out.push(b']');
                        return Some(at + 1);
                    }
                    _ => return None,
                }
                at += 1;
            }
        }
        _ => {
            let n = scalar_len(s)?;
            out.extend_from_slice(&b[..n]);
            Some(n)
        }
    }
}

/// Length of the string, number or literal at the start of `s` if written
/// as RFC 8785 writes it (see [`canon_value`]).
fn scalar_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    match *b.first()? {
        b'"' => string_len(b, false),
        b'-' | b'0'..=b'9' => {
            let neg = b[0] == b'-';
            let digits = b[usize::from(neg)..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let n = usize::from(neg) + digits;
            let text = &s[usize::from(neg)..n];
            // Leading zeros, `-0`, fractions and exponents are not canonical
            // (or not integers): leave them to the general reader.
            if digits == 0
                || digits > 16
                || (text.starts_with('0') && (digits > 1 || neg))
                || matches!(b.get(n), Some(b'.' | b'e' | b'E'))
                || text.parse::<u64>().ok()? > MAX_SAFE_INTEGER
            {
                return None;
            }
            Some(n)
        }
        _ => ["true", "false", "null"]
            .iter()
            .find(|lit| s.starts_with(*lit))
            .map(|lit| lit.len()),
    }
}

/// Length of the JSON value at the start of `s` if it is already in its
/// canonical form, members sorted: what [`canon_value`] would copy
/// unchanged, found without copying.
fn canonical_len(s: &str, depth: u32) -> Option<usize> {
    let b = s.as_bytes();
    let close = match *b.first()? {
        b'{' => b'}',
        b'[' => b']',
        _ => return scalar_len(s),
    };
    if depth >= MAX_DEPTH {
        return None;
    }
    if b.get(1) == Some(&close) {
        return Some(2);
    }
    let mut at = 1;
    let mut last: Option<&str> = None;
    loop {
        if close == b'}' {
            let n = string_len(b.get(at..)?, true)?;
            let key = s.get(at + 1..at + n - 1)?;
            if last.is_some_and(|l| key_cmp(l, key) != std::cmp::Ordering::Less) {
                return None;
            }
            last = Some(key);
            at += n;
            if b.get(at) != Some(&b':') {
                return None;
            }
            at += 1;
        }
        at += canonical_len(s.get(at..)?, depth + 1)?;
        match *b.get(at)? {
            b',' => at += 1,
            c if c == close => return Some(at + 1),
            _ => return None,
        }
    }
}

fn canon_object(s: &str, out: &mut Vec<u8>, depth: u32) -> Option<usize> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let b = s.as_bytes();
    let start = out.len();
    out.push(b'{');
    let mut at = 1;
    if b.get(at) == Some(&b'}') {
        out.push(b'}');
        return Some(at + 1);
    }
    // Members as written: (name without quotes, range of the canonical
    // member text `"name":value` in `out`).
    let mut members: Vec<(&str, usize, usize)> = Vec::new();
    loop {
        let key_len = string_len(b.get(at..)?, true)?;
        let key = s.get(at + 1..at + key_len - 1)?;
        let from = out.len();
        out.extend_from_slice(&b[at..at + key_len]);
        at += key_len;
        if b.get(at) != Some(&b':') {
            return None;
        }
        out.push(b':');
        at += 1;
        at += canon_value(s.get(at..)?, out, depth + 1)?;
        members.push((key, from, out.len()));
        match b.get(at)? {
            b',' => out.push(b','),
            b'}' => break,
            _ => return None,
        }
        at += 1;
    }
    out.push(b'}');
    let ordered = |x: &&str, y: &&str| key_cmp(x, y) == std::cmp::Ordering::Less;
    if !members.windows(2).all(|w| ordered(&w[0].0, &w[1].0)) {
        // Reorder: copy the members out, then write them back sorted.
        let written = out[start..].to_vec();
        members.sort_unstable_by(|x, y| key_cmp(x.0, y.0));
        if members.windows(2).any(|w| w[0].0 == w[1].0) {
            return None; // duplicate name: the general reader refuses it
        }
        out.truncate(start);
        out.push(b'{');
        for (i, (_, from, to)) in members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&written[from - start..to - start]);
        }
        out.push(b'}');
    }
    Some(at + 1)
}

/// RFC 8785 orders member names by their UTF-16 code units.
fn key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// Length of the string token at the start of `b` (quotes included) if it
/// is written exactly as RFC 8785 writes it: raw characters except `"`, `\`
/// and controls, which take `\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r` or a
/// lowercase `\u00xx`. A `name` may hold no escape at all.
fn string_len(b: &[u8], name: bool) -> Option<usize> {
    if b.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    loop {
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            0x00..=0x1f => return None,
            b'\\' if name => return None,
            b'\\' => match *b.get(i + 1)? {
                b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => i += 2,
                b'u' => {
                    let hex = b.get(i + 2..i + 6)?;
                    let lower = |c: &u8| matches!(c, b'0'..=b'9' | b'a'..=b'f');
                    if hex[0] != b'0' || hex[1] != b'0' || !hex.iter().all(lower) {
                        return None;
                    }
                    // Only controls without a short escape are written so.
                    let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                    if v >= 0x20 || matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                        return None;
                    }
                    i += 6;
                }
                _ => return None,
            },
            _ => i += 1,
        }
    }
}

/// Deserialises `T` from a JSON object only: serde's derived structs also
/// take arrays (members by position), which the general reader's member
/// walk does not check, so the fast path leaves them to it.
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// For optional members: present means not `null` (the general reader
/// refuses `null` there, except for `attribute_set`'s `value`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Every member any event can have, flat. `None` is "absent".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(rename = "type", borrow)]
    ty: Str<'a>,
    #[serde(borrow)]
    date: Str<'a>,
    #[serde(borrow)]
    sources: Vec<Obj<WireSource<'a>>>,
    #[serde(default, deserialize_with = "present", borrow)]
    note: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    fulfils: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    id: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    name: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    kind: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    attrs: Option<Pairs<'a, Str<'a>>>,
    #[serde(default, deserialize_with = "present", borrow)]
    mode: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    from: Option<Vec<Str<'a>>>,
    #[serde(default, deserialize_with = "present", borrow)]
    to: Option<Vec<Str<'a>>>,
    #[serde(default, deserialize_with = "present", borrow)]
    new: Option<Vec<Obj<WireOrg<'a>>>>,
    #[serde(default, deserialize_with = "present", borrow)]
    org: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    key: Option<Str<'a>>,
    /// `Some(None)` is an explicit `null`.
    #[serde(default, deserialize_with = "present", borrow)]
    value: Option<Option<Str<'a>>>,
    #[serde(default, deserialize_with = "present", borrow)]
    label: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    holder: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    by: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    candidate: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    status: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    program: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    owner: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    site: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    member: Option<Obj<WireParty<'a>>>,
    #[serde(default, deserialize_with = "present", borrow)]
    relation: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    person: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    role: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    values: Option<Pairs<'a, u64>>,
    #[serde(default, deserialize_with = "present", borrow)]
    orgs: Option<Vec<Str<'a>>>,
    #[serde(default, deserialize_with = "present", borrow)]
    summary: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    planned: Option<Obj<Box<Wire<'a>>>>,
    #[serde(default, deserialize_with = "present", borrow)]
    target: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    replacement: Option<Obj<Box<Wire<'a>>>>,
    #[serde(default, deserialize_with = "present", borrow)]
    reason: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    plan: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSource<'a> {
    #[serde(borrow)]
    doc: Str<'a>,
    #[serde(default, deserialize_with = "present", borrow)]
    quote: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    url: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireOrg<'a> {
    #[serde(borrow)]
    id: Str<'a>,
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow)]
    kind: Str<'a>,
    #[serde(default, deserialize_with = "present", borrow)]
    attrs: Option<Pairs<'a, Str<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireParty<'a> {
    #[serde(default, deserialize_with = "present", borrow)]
    org: Option<Str<'a>>,
    #[serde(default, deserialize_with = "present", borrow)]
    name: Option<Str<'a>>,
}

/// The typed event of canonical bytes (or of any JSON text of one object:
/// see [`event`]), if the general reader would accept it as the very same
/// event.
fn event_from_canonical(canon: &str) -> Option<Event> {
    let event = wire_of_canonical(canon)?.into_event()?;
    event.check_shape().ok()?;
    Some(event)
}

/// The wire struct of `text`, by the hand-written reader of canonical text
/// ([`read`]) or, when it gives up, by serde.
fn wire_of_canonical(text: &str) -> Option<Wire<'_>> {
    if let Some(wire) = read::event(text) {
        return Some(wire);
    }
    // From a `str`: serde_json then skips re-validating UTF-8.
    let Obj(wire) = serde_json::from_str::<Obj<Wire<'_>>>(text).ok()?;
    Some(wire)
}

/// A string member: borrowed from the line when it holds no escape.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_string(V(PhantomData))
    }
}

impl Str<'_> {
    fn s(&self) -> &str {
        &self.0
    }

    /// The text, inline when short (no allocation).
    fn own(self) -> CompactString {
        CompactString::from(self.0)
    }
}

fn own(s: Option<Str<'_>>) -> Option<CompactString> {
    s.map(Str::own)
}

fn own_all(v: Vec<Str<'_>>) -> Vec<CompactString> {
    exact(v, Str::own)
}

/// `v` mapped by `f`, in a vector of exactly its length.
///
/// `collect` on a vector's `into_iter` reuses its allocation when the two
/// element types have the same size, spare capacity included, and serde
/// reserves four elements for a sequence's first: each list of one item a
/// parsed event kept would hold three empty slots (for sources, 216 bytes).
fn exact<T, U>(v: Vec<T>, f: impl FnMut(T) -> U) -> Vec<U> {
    let mut out = Vec::with_capacity(v.len());
    out.extend(v.into_iter().map(f));
    out
}

/// The members of a JSON object, in order (what a `BTreeMap` would be
/// deserialised from); an object naming a member twice is refused, as the
/// general reader refuses it (canonical text holds none, but a batch
/// line may).
struct Pairs<'a, V>(Vec<(Str<'a>, V)>);

/// Whether two of `pairs` have the same name.
fn has_duplicate<V>(pairs: &[(Str<'_>, V)]) -> bool {
    if pairs.len() <= 16 {
        return pairs
            .iter()
            .enumerate()
            .any(|(i, (k, _))| pairs[..i].iter().any(|(seen, _)| seen.s() == k.s()));
    }
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.s()).collect();
    names.sort_unstable();
    names.windows(2).any(|w| w[0] == w[1])
}

impl<'de: 'a, 'a, V: Deserialize<'de>> Deserialize<'de> for Pairs<'a, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pv<'a, V>(PhantomData<(&'a (), V)>);
        impl<'de: 'a, 'a, V: Deserialize<'de>> Visitor<'de> for Pv<'a, V> {
            type Value = Pairs<'a, V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs<'a, V>, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = map.next_entry::<Str<'a>, V>()? {
                    out.push(kv);
                }
                if has_duplicate(&out) {
                    return Err(de::Error::custom("a member named twice"));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Pv(PhantomData))
    }
}

/// An optional map the general reader drops when empty (`skip_serializing_if`)
/// and so refuses when written empty.
fn non_empty_map(m: Option<Pairs<'_, Str<'_>>>) -> Option<BTreeMap<CompactString, CompactString>> {
    match m {
        Some(m) if m.0.is_empty() => None,
        m => Some(
            m.map(|p| p.0.into_iter().map(|(k, v)| (k.own(), v.own())).collect())
                .unwrap_or_default(),
        ),
    }
}

impl Wire<'_> {
    /// A wire struct with no member (the required ones empty), for
    /// [`read`] to fill.
    fn empty() -> Self {
        Wire {
            ty: Str(Cow::Borrowed("")),
            date: Str(Cow::Borrowed("")),
            sources: Vec::new(),
            note: None,
            fulfils: None,
            id: None,
            name: None,
            kind: None,
            attrs: None,
            mode: None,
            from: None,
            to: None,
            new: None,
            org: None,
            key: None,
            value: None,
            label: None,
            holder: None,
            by: None,
            candidate: None,
            status: None,
            program: None,
            owner: None,
            site: None,
            member: None,
            relation: None,
            person: None,
            role: None,
            values: None,
            orgs: None,
            summary: None,
            planned: None,
            target: None,
            replacement: None,
            reason: None,
            plan: None,
        }
    }

    /// The members present, by name.
    fn present(&self) -> [(&'static str, bool); 33] {
        [
            ("id", self.id.is_some()),
            ("name", self.name.is_some()),
            ("kind", self.kind.is_some()),
            ("attrs", self.attrs.is_some()),
            ("mode", self.mode.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("new", self.new.is_some()),
            ("org", self.org.is_some()),
            ("key", self.key.is_some()),
            ("value", self.value.is_some()),
            ("label", self.label.is_some()),
            ("holder", self.holder.is_some()),
            ("by", self.by.is_some()),
            ("candidate", self.candidate.is_some()),
            ("status", self.status.is_some()),
            ("program", self.program.is_some()),
            ("owner", self.owner.is_some()),
            ("site", self.site.is_some()),
            ("member", self.member.is_some()),
            ("relation", self.relation.is_some()),
            ("person", self.person.is_some()),
            ("role", self.role.is_some()),
            ("values", self.values.is_some()),
            ("orgs", self.orgs.is_some()),
            ("summary", self.summary.is_some()),
            ("planned", self.planned.is_some()),
            ("target", self.target.is_some()),
            ("replacement", self.replacement.is_some()),
            ("reason", self.reason.is_some()),
            ("plan", self.plan.is_some()),
            // Common members are always allowed.
            ("note", false),
            ("fulfils", false),
        ]
    }

    /// The event, with [`Event::from_json`]'s member rules: only the
    /// members of its type, required ones present, optional ones neither
    /// `null` (refused while deserialising) nor empty.
    fn into_event(self) -> Option<Event> {
        let members = crate::event::TypeMembers::of(self.ty.s())?;
        if self
            .present()
            .iter()
            .any(|(name, there)| *there && !members.contains(name))
        {
            return None;
        }
        let w = self;
        let party = |p: Obj<WireParty>| match (p.0.org, p.0.name) {
            (Some(o), None) => Some(Party::Org(o.own())),
            (None, Some(n)) => Some(Party::Name(n.own())),
            _ => None,
        };
        let relation = |r: Option<Str<'_>>| match r?.s() {
            "member" => Some(Relation::Member),
            "partner" => Some(Relation::Partner),
            _ => None,
        };
        let body = match w.ty.s() {
            "created" => Body::Created {
                org: OrgSpec {
                    id: own(w.id)?,
                    name: own(w.name)?,
                    kind: own(w.kind)?,
                    attrs: non_empty_map(w.attrs)?,
                },
            },
            "transformed" => Body::Transformed {
                mode: match w.mode?.s() {
                    "fusion" => ChangeMode::Fusion,
                    "absorption" => ChangeMode::Absorption,
                    "split" => ChangeMode::Split,
                    "spin_off" => ChangeMode::SpinOff,
                    "reestablishment" => ChangeMode::Reestablishment,
                    "id_change" => ChangeMode::IdChange,
                    _ => return None,
                },
                from: own_all(w.from?),
                to: own_all(w.to?),
                new: match w.new {
                    Some(n) if n.is_empty() => return None,
                    n => {
                        let n = n.unwrap_or_default();
                        let mut specs = Vec::with_capacity(n.len());
                        for Obj(o) in n {
                            specs.push(OrgSpec {
                                id: o.id.own(),
                                name: o.name.own(),
                                kind: o.kind.own(),
                                attrs: non_empty_map(o.attrs)?,
                            });
                        }
                        specs
                    }
                },
            },
            "renamed" => Body::Renamed {
                org: own(w.org)?,
                name: own(w.name)?,
            },
            "dissolved" => Body::Dissolved { org: own(w.org)? },
            "attribute_set" => Body::AttributeSet {
                org: own(w.org)?,
                key: own(w.key)?,
                value: own(w.value.flatten()),
            },
            "label_granted" => Body::LabelGranted {
                label: own(w.label)?,
                holder: own(w.holder)?,
                by: own(w.by),
            },
            "label_withdrawn" => Body::LabelWithdrawn {
                label: own(w.label)?,
                holder: own(w.holder)?,
            },
            "candidacy" => Body::Candidacy {
                label: own(w.label)?,
                candidate: own(w.candidate)?,
                status: match w.status?.s() {
                    "filed" => CandidacyStatus::Filed,
                    "refused" => CandidacyStatus::Refused,
                    "withdrawn" => CandidacyStatus::Withdrawn,
                    _ => return None,
                },
            },
            "program_launched" => Body::ProgramLaunched {
                program: own(w.program)?,
                name: own(w.name)?,
                owner: own(w.owner)?,
                kind: own(w.kind),
            },
            "program_ended" => Body::ProgramEnded {
                program: own(w.program)?,
            },
            "site_opened" => Body::SiteOpened {
                org: own(w.org)?,
                site: own(w.site)?,
            },
            "site_closed" => Body::SiteClosed {
                org: own(w.org)?,
                site: own(w.site)?,
            },
            "joined" => Body::Joined {
                org: own(w.org)?,
                member: party(w.member?)?,
                relation: relation(w.relation)?,
            },
            "left" => Body::Left {
                org: own(w.org)?,
                member: party(w.member?)?,
                relation: relation(w.relation)?,
            },
            "role_started" => Body::RoleStarted {
                org: own(w.org)?,
                person: own(w.person)?,
                role: own(w.role)?,
            },
            "role_ended" => Body::RoleEnded {
                org: own(w.org)?,
                person: own(w.person)?,
                role: own(w.role)?,
            },
            "figures" => Body::Figures {
                org: own(w.org)?,
                values: w.values?.0.into_iter().map(|(k, v)| (k.own(), v)).collect(),
            },
            "milestone" => Body::Milestone {
                orgs: own_all(w.orgs.unwrap_or_default()),
                summary: own(w.summary)?,
            },
            "planned" => Body::Planned {
                planned: Box::new(w.planned?.0.into_event()?),
            },
            "plan_abandoned" => Body::PlanAbandoned { plan: own(w.plan)? },
            "correction" => Body::Correction {
                target: own(w.target)?,
                mode: match w.mode?.s() {
                    "retract" => CorrectionMode::Retract,
                    "supersede" => CorrectionMode::Supersede,
                    _ => return None,
                },
                replacement: match w.replacement {
                    Some(Obj(r)) => Some(Box::new(r.into_event()?)),
                    None => None,
                },
                reason: own(w.reason)?,
            },
            _ => return None,
        };
        Some(Event {
            body,
            date: parse_date(w.date.s())?,
            sources: exact(w.sources, |Obj(s)| Source {
                doc: s.doc.own(),
                quote: own(s.quote),
                url: own(s.url),
            }),
            note: own(w.note),
            fulfils: own(w.fulfils),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::{Options, records};
    use crate::record::{Record, RecordError, canonical, hash_body};
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use std::sync::OnceLock;

    /// The general reader's answer, in the fast path's terms.
    fn slow(line: &str) -> Result<FastLine, RecordError> {
        let r = Record::parse_line(line)?;
        let e = r.entry()?;
        Ok(FastLine {
            seq: r.seq,
            recorded: r.recorded,
            prev: r.prev,
            hash: r.hash,
            event: e.event,
        })
    }

    /// Whether the fast path took the line; when it did, the general reader
    /// must accept it too, as the same record and event.
    /// [`check`] takes exactly the lines [`entry`] takes, with the same
    /// envelope.
    /// [`reread`] reads the lines [`entry`] takes as the same event, and
    /// only against the hash they state. (A line [`entry`] refuses is one
    /// no scan verifies: what [`reread`] makes of it is never asked.)
    fn agree(line: &str) -> bool {
        let checked = check(line);
        let kept = check_kept(line);
        if let Some(parts) = split(line) {
            let stated = parts.env.hash;
            if let (Some((seq, event)), Some(f)) = (reread(line, stated), entry(line)) {
                assert_eq!((seq, &event), (f.seq, &f.event), "reread differs on {line}");
            }
            let other = match stated.strip_prefix('0') {
                Some(rest) => format!("1{rest}"),
                None => format!("0{}", stated.get(1..).unwrap_or_default()),
            };
            assert!(
                reread(line, &other).is_none(),
                "reread took {line} against {other}"
            );
        }
        match entry(line) {
            Some(f) => {
                if let Some((env, date, ty, whole)) = &kept {
                    // What the streaming replay keeps it reads back too.
                    assert!(reread(line, &f.hash).is_some(), "reread refused {line}");
                    assert_eq!(checked.as_ref(), Some(env), "check_kept differs on {line}");
                    assert_eq!(f.event.date.as_str(), date, "{line}");
                    assert_eq!(f.event.type_name(), ty, "{line}");
                    assert_eq!(*whole, f.event.shapes_knowledge(), "{line}");
                }
                let env = Envelope {
                    seq: f.seq,
                    recorded: &f.recorded,
                    prev: &f.prev,
                    hash: &f.hash,
                };
                assert_eq!(checked, Some(env), "the check refused {line}");
                assert_eq!(slow(line), Ok(f), "the fast path accepted {line}");
                true
            }
            None => {
                assert_eq!(checked, None, "the check accepted {line}");
                assert!(kept.is_none(), "check_kept accepted {line}");
                false
            }
        }
    }

    fn canon(s: &str) -> Option<String> {
        let mut out = Vec::new();
        let n = canon_value(s, &mut out, 0)?;
        (n == s.len()).then(|| String::from_utf8(out).expect("utf8"))
    }

    fn generated() -> &'static [Record] {
        static RECORDS: OnceLock<Vec<Record>> = OnceLock::new();
        RECORDS.get_or_init(|| {
            records(&Options {
                events: 3000,
                seed: 11,
                recorded: "2026-01-01T00:00:00Z".into(),
                batch: 500,
            })
        })
    }

    /// A line around `event_text`, hashed over `hashed` (the event as the
    /// general reader would see it) when given.
    fn line_with(r: &Record, event_text: &str, hashed: Option<&Value>) -> String {
        let hash = hashed.map_or_else(
            || r.hash.clone(),
            |v| hash_body(r.seq, &r.recorded, v, &r.prev),
        );
        format!(
            "{{\"v\":1,\"seq\":{},\"recorded\":\"{}\",\"event\":{event_text},\"prev\":\"{}\",\"hash\":\"{hash}\"}}",
            r.seq, r.recorded, r.prev
        )
    }

    #[test]
    fn every_generated_line_takes_the_fast_path_in_both_member_orders() {
        for r in generated() {
            // As written now (canonical event) and as older fusion wrote it
            // (the typed serialisation order).
            assert!(agree(&r.to_line()), "{}", r.to_line());
            let old = line_with(r, &r.event.to_string(), None);
            assert!(agree(&old), "{old}");
        }
    }

    #[test]
    fn an_abandonment_takes_the_fast_path_and_is_kept_whole() {
        // given a record whose event is a `plan_abandoned`
        let r = &generated()[0];
        let plan = "ab".repeat(32);
        let event = json!({"type": "plan_abandoned", "date": "1951-02", "plan": plan, "sources": [{"doc": "d"}]});
        let text = String::from_utf8(canonical(&event)).expect("utf8");
        let line = line_with(r, &text, Some(&event));
        // then the fast path reads it as the general reader does
        assert!(agree(&line), "{line}");
        let (_, date, ty, whole) = check_kept(&line).expect("kept");
        assert_eq!((&*date, &*ty, whole), ("1951-02", "plan_abandoned", true));
        // and a planned one is left to the general reader, which refuses
        // it (one carrying `fulfils` has its shape: `append` refuses it
        // with the link rules)
        for bad in [
            json!({"type": "planned", "date": "1951", "planned": event, "sources": [{"doc": "d"}]}),
            json!({"type": "plan_abandoned", "date": "1951", "plan": "AB", "sources": [{"doc": "d"}]}),
        ] {
            let text = String::from_utf8(canonical(&bad)).expect("utf8");
            let line = line_with(r, &text, Some(&bad));
            assert!(!agree(&line), "{line}");
            assert!(slow(&line).is_err(), "{line}");
        }
    }

    #[test]
    fn the_shipped_ledger_takes_the_fast_path() {
        let text = include_str!("../events/auvergne-rhone-alpes.jsonl");
        for line in text.lines() {
            assert!(agree(line), "{line}");
        }
    }

    #[test]
    fn the_canonical_rewriter_keeps_canonical_text_and_sorts_the_rest() {
        for v in [
            json!({"b": [1, -1, 0, {"y": null, "x": true}], "a": "\u{0}\u{1f}\u{7f}\"\\/é😀\t\n\r\u{8}\u{c}", "c": {}}),
            json!([]),
            json!({"\u{fb33}": 1, "\u{1f600}": 2, "a": 3, "B": 4}),
            json!({"n": 9007199254740991_u64, "m": -9007199254740991_i64}),
        ] {
            let expected = String::from_utf8(canonical(&v)).expect("utf8");
            assert_eq!(canon(&expected).as_deref(), Some(expected.as_str()));
            assert_eq!(canon(&v.to_string()).as_deref(), Some(expected.as_str()));
        }
        // UTF-16 order: U+1F600 (D83D DE00) before U+FB33, unlike UTF-8.
        assert_eq!(
            canon("{\"\u{fb33}\":1,\"\u{1f600}\":2}").as_deref(),
            Some("{\"\u{1f600}\":2,\"\u{fb33}\":1}")
        );
        assert_eq!(
            canon("{\"\u{e000}\":1,\"\u{10000}\":2}").as_deref(),
            Some("{\"\u{10000}\":2,\"\u{e000}\":1}")
        );
    }

    #[test]
    fn the_canonical_rewriter_gives_up_on_other_forms() {
        for text in [
            r#"{"s":"\/"}"#,     // JCS writes `/` raw
            r#"{"s":"\u0041"}"#, // and `A` raw
            r#"{"s":"\u001F"}"#, // uppercase hex
            r#"{"s":"\u0008"}"#, // `\b` has a short form
            r#"{"s":"\u00e9"}"#, // `é` raw
            r#"{"\u0061":1}"#,   // escaped member name
            "{\"s\":\"\u{1}\"}", // raw control
            r#"{"a":1, "b":2}"#, // whitespace
            r#" {"a":1}"#,
            r#"{"a":1.0}"#,
            r#"{"a":1e3}"#,
            r#"{"a":-0}"#,
            r#"{"a":01}"#,
            r#"{"a":9007199254740992}"#,
            r#"{"a":-9007199254740992}"#,
            r#"{"a":1,"a":1}"#,       // duplicate, in order
            r#"{"b":1,"a":1,"a":2}"#, // duplicate, to sort
            r#"{"a":tru}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":1"#,
        ] {
            assert_eq!(canon(text), None, "{text}");
            assert_ne!(canonical_len(text, 0), Some(text.len()), "{text}");
        }
        assert_eq!(canonical_len(r#"{"b":1,"a":2}"#, 0), None, "unsorted");
        assert_eq!(
            canon(r#"{"s":"\u001f"}"#).as_deref(),
            Some(r#"{"s":"\u001f"}"#)
        );
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(canon(&deep), None, "deep nesting is the general reader's");
        assert_eq!(canonical_len(&deep, 0), None);
    }

    /// A JSON value with integers only, keys from a small set that mixes
    /// ASCII, U+E000–U+FFFF and astral characters.
    fn json_value() -> impl Strategy<Value = Value> {
        let key = prop::sample::select(vec![
            "a",
            "b",
            "B",
            "aa",
            "é",
            "\u{e000}",
            "\u{fb33}",
            "\u{ffff}",
            "\u{10000}",
            "\u{1f600}",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-(MAX_SAFE_INTEGER as i64)..=MAX_SAFE_INTEGER as i64).prop_map(Value::from),
            "[\\x00-\\x7f\u{e9}\u{fb33}\u{1f600}]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
                prop::collection::vec((key.clone(), inner), 0..5).prop_map(|members| {
                    Value::Object(
                        members
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    /// Changes to an event value: each may make it invalid, unusual or both.
    #[derive(Debug, Clone)]
    enum Edit {
        Remove(usize),
        Set(usize, Value),
        AddMember(String, Value),
        InSource(String, Value),
        /// Sets a member of a nested object: `planned`, `replacement`,
        /// `member`, `new[0]`, `attrs` or `values`.
        Nested(u8, String, Value),
        Retype(&'static str),
        Shuffle(u64),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let odd = prop_oneof![
            Just(Value::Null),
            Just(json!([])),
            Just(json!({})),
            Just(json!(1.5)),
            Just(json!(-1)),
            Just(json!(9007199254740993_u64)),
            Just(json!("")),
            Just(json!("x")),
            Just(json!("o1")),
            Just(json!({"fusion": null})),
            Just(json!({"org": "o1"})),
            Just(json!({"name": "N", "org": "o1"})),
            Just(json!(["d"])),
            Just(json!({"a": "b"})),
            Just(json!({"k": 3})),
            Just(json!(["o1", "o2"])),
            Just(json!(0)),
            // For the shape rules `check` repeats without building the event.
            Just(json!(" ")),
            // Strings with escapes, blank or not, for the one-pass reader.
            Just(json!("\n")),
            Just(json!("\t\u{a0}")),
            Just(json!("a\"b\\c\u{1}")),
            Just(json!("o1\n")),
            Just(json!({"k\u{e9}": "v\n"})),
            Just(json!({"k": "\r"})),
            Just(json!({" ": 1})),
            Just(json!({"k": -1})),
            Just(json!({"k": "1"})),
            Just(json!({"org": "o1", "name": null})),
            Just(json!([{"doc": "d\"", "quote": "\u{1f}", "url": "\\"}])),
            Just(json!([{"doc": "d", "url": null}])),
            Just(json!([{"id": "o9", "name": "\n", "kind": "k"}])),
            Just(json!("o1 o2")),
            Just(json!(["o1"])),
            Just(json!(["o1", "o1"])),
            Just(json!(["o1", "o2", "o3"])),
            Just(json!(["o1", ""])),
            Just(json!([{"id": "o1", "name": "N", "kind": "k"}])),
            Just(json!([{"id": "o9", "name": "N", "kind": "k", "attrs": {}}])),
            Just(json!({"org": "o1", "name": "N"})),
            Just(json!({"name": " "})),
            Just(json!({"a": " "})),
            Just(json!({" ": "b"})),
            Just(json!({"k": 9007199254740991_u64})),
            Just(json!({})),
            Just(json!(
                "0000000000000000000000000000000000000000000000000000000000000000"
            )),
            Just(json!(
                "ABCDEF0000000000000000000000000000000000000000000000000000000000"
            )),
            Just(json!("retract")),
            Just(json!("supersede")),
            Just(json!("fusion")),
            Just(json!("split")),
            Just(json!("partner")),
            Just(json!("refused")),
            Just(json!("1950-01-01")),
            Just(json!("1950-13-01")),
            Just(
                json!({"type": "dissolved", "org": "o1", "date": "1950", "sources": [{"doc": "d"}]})
            ),
            Just(
                json!({"type": "correction", "target": "0000000000000000000000000000000000000000000000000000000000000000", "mode": "retract", "reason": "r", "date": "1950", "sources": [{"doc": "d"}]})
            ),
            Just(
                json!({"type": "planned", "planned": {"type": "dissolved", "org": "o1", "date": "1950", "sources": [{"doc": "d"}]}, "date": "1950", "sources": [{"doc": "d"}]})
            ),
            Just(
                json!({"type": "dissolved", "org": "o1", "date": "1950", "sources": [{"doc": "d"}], "fulfils": "0000000000000000000000000000000000000000000000000000000000000000"})
            ),
            Just(
                json!({"type": "plan_abandoned", "plan": "0000000000000000000000000000000000000000000000000000000000000000", "date": "1950", "sources": [{"doc": "d"}]})
            ),
        ];
        let name = prop::sample::select(vec![
            "note",
            "fulfils",
            "id",
            "name",
            "kind",
            "attrs",
            "mode",
            "from",
            "to",
            "new",
            "org",
            "key",
            "value",
            "label",
            "holder",
            "by",
            "orgs",
            "values",
            "summary",
            "nmae",
            "quote",
            "url",
            "doc",
            "member",
            "relation",
            "replacement",
            "planned",
            "type",
            "date",
            "sources",
            "fulfils",
            "target",
            "reason",
            "status",
            "candidate",
            "owner",
            "site",
            "person",
            "role",
            "program",
            "holder",
            "plan",
        ]);
        prop_oneof![
            (0..8usize).prop_map(Edit::Remove),
            ((0..8usize), odd.clone()).prop_map(|(i, v)| Edit::Set(i, v)),
            (name.clone(), odd.clone()).prop_map(|(k, v)| Edit::AddMember(k.into(), v)),
            (name.clone(), odd.clone()).prop_map(|(k, v)| Edit::InSource(k.into(), v)),
            (any::<u8>(), name, odd).prop_map(|(i, k, v)| Edit::Nested(i, k.into(), v)),
            prop::sample::select(crate::event::TYPE_NAMES.to_vec()).prop_map(Edit::Retype),
            any::<u64>().prop_map(Edit::Shuffle),
        ]
    }

    fn apply(event: &mut Value, e: &Edit) {
        let Value::Object(m) = event else { return };
        match e {
            Edit::Remove(i) => {
                if !m.is_empty() {
                    let i = i % m.len();
                    if let Some(k) = m.keys().nth(i).cloned() {
                        m.shift_remove(&k);
                    }
                }
            }
            Edit::Set(i, v) => {
                if !m.is_empty() {
                    let i = i % m.len();
                    if let Some(slot) = m.values_mut().nth(i) {
                        *slot = v.clone();
                    }
                }
            }
            Edit::AddMember(k, v) => {
                m.insert(k.clone(), v.clone());
            }
            Edit::InSource(k, v) => {
                if let Some(Value::Object(s)) = m.get_mut("sources").and_then(|s| s.get_mut(0)) {
                    s.insert(k.clone(), v.clone());
                }
            }
            Edit::Nested(i, k, v) => {
                let names = ["planned", "replacement", "member", "new", "attrs", "values"];
                let found = names
                    .iter()
                    .cycle()
                    .skip(usize::from(*i) % names.len())
                    .take(names.len())
                    .find(|n| matches!(m.get(**n), Some(Value::Array(_) | Value::Object(_))));
                let nested = match found.and_then(|n| m.get_mut(*n)) {
                    Some(Value::Array(a)) => a.get_mut(0).and_then(Value::as_object_mut),
                    Some(Value::Object(o)) => Some(o),
                    _ => None,
                };
                if let Some(o) = nested {
                    o.insert(k.clone(), v.clone());
                }
            }
            Edit::Retype(t) => {
                m.insert("type".into(), Value::from(*t));
            }
            Edit::Shuffle(seed) => {
                let mut members: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
                let n = members.len().max(1) as u64;
                members.rotate_left((seed % n) as usize);
                if seed % 2 == 0 {
                    members.reverse();
                }
                m.extend(members);
            }
        }
    }

    /// Textual changes the value cannot express.
    fn retext(text: &str, how: u8, at: usize) -> String {
        let positions =
            |pat: char| -> Vec<usize> { text.match_indices(pat).map(|(i, _)| i).collect() };
        let pick = |v: Vec<usize>| v.get(at % v.len().max(1)).copied();
        match how % 7 {
            0 => text.to_owned(),
            // whitespace after a separator
            1 => pick(positions(',')).map_or_else(
                || text.to_owned(),
                |i| format!("{} {}", &text[..=i], &text[i + 1..]),
            ),
            // a duplicate of the first member
            2 => match (text.find(','), text.strip_prefix('{')) {
                (Some(i), Some(_)) => format!("{{{},{}", &text[1..i], &text[1..]),
                _ => text.to_owned(),
            },
            // a non-canonical escape
            3 => text.replacen('o', "\\u006f", 1),
            4 => text.replacen('/', "\\/", 1),
            // a float for an integer
            5 => pick(positions(':'))
                .filter(|i| text[i + 1..].starts_with(|c: char| c.is_ascii_digit()))
                .map_or_else(
                    || text.replacen(":1", ":1.0", 1),
                    |i| {
                        let end = text[i + 1..]
                            .find(|c: char| !c.is_ascii_digit())
                            .map_or(text.len(), |j| i + 1 + j);
                        format!("{}.0{}", &text[..end], &text[end..])
                    },
                ),
            _ => text.replacen("\"sources\":[{", "\"sources\":[{\"doc\":\"x\",", 1),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// The rewriter agrees with the reference JCS writer on any JSON
        /// without floats, in any member order.
        #[test]
        fn the_rewriter_agrees_with_jcs(v in json_value()) {
            let expected = String::from_utf8(canonical(&v)).expect("utf8");
            let text = v.to_string();
            // Keys are never escaped by serde_json here, strings use the
            // same escapes as RFC 8785 (lowercase \u00xx), so it must accept.
            let got = canon(&text);
            prop_assert_eq!(got.as_deref(), Some(expected.as_str()), "{}", text);
            // The copy-free check takes exactly the canonical text.
            prop_assert_eq!(canonical_len(&expected, 0), Some(expected.len()));
            prop_assert_eq!(canonical_len(&text, 0) == Some(text.len()), text == expected);
        }

        /// Mutated generated records: whenever the fast path accepts a line,
        /// the general reader accepts it as the same record and event (and
        /// the fast path alone never refuses: it only hands lines over).
        /// The hash is recomputed as the general reader would (so that the
        /// line gets past the hash check), or kept (a forged record).
        #[test]
        fn the_fast_path_agrees_with_the_general_reader(
            index in 0..3000usize,
            edits in prop::collection::vec(edit(), 0..4),
            how in any::<u8>(),
            at in any::<usize>(),
            rehash in any::<bool>(),
        ) {
            let r = &generated()[index];
            let mut event = r.event.clone();
            for e in &edits {
                apply(&mut event, e);
            }
            let text = retext(&event.to_string(), how, at);
            // What the general reader hashes: the lenient parse of the text
            // (the strict one refuses duplicates before any hash).
            let hashed = serde_json::from_str::<Value>(&text).ok();
            let line = line_with(r, &text, if rehash { hashed.as_ref() } else { None });
            agree(&line);
            // A line taken as written is what its record writes.
            if let Ok(read) = Record::parse_line(&line)
                && is_as_written(&line, &read.hash)
            {
                prop_assert_eq!(read.to_line(), line.clone());
            }
            // The same event sealed and written canonically.
            if let Some(v) = hashed.filter(Value::is_object) {
                let sealed = Record::seal(r.seq, r.recorded.clone(), v, r.prev.clone());
                let written = sealed.to_line();
                let fast = agree(&written);
                if Record::parse_line(&written).is_ok() {
                    prop_assert!(is_as_written(&written, &sealed.hash), "{}", written);
                }
                // Written canonically, it needs no rewrite: check_kept takes it.
                prop_assert_eq!(check_kept(&written).is_some(), fast, "{}", written);
                // A canonically written record the general reader accepts
                // takes the fast path, unless serde read it in a form the
                // event does not write back (`"type":0`, `{"fusion":null}`).
                if let Ok(s) = slow(&written)
                    && s.event.to_json() == sealed.event
                {
                    prop_assert!(fast, "{}", written);
                }
            }
        }

        /// The same mutations on an event given alone, as in a batch to
        /// append: whenever the batch fast path takes the text, the general
        /// reader reads the same event from it.
        #[test]
        fn the_batch_reader_agrees_with_the_general_reader(
            index in 0..3000usize,
            edits in prop::collection::vec(edit(), 0..4),
            how in any::<u8>(),
            at in any::<usize>(),
        ) {
            let mut event = generated()[index].event.clone();
            for e in &edits {
                apply(&mut event, e);
            }
            let text = retext(&event.to_string(), how, at);
            let taken = agree_event(&text);
            // Canonically written, a valid event is always taken.
            if let Some(e) = general(&text) {
                let canon = String::from_utf8(canonical(&e.to_json())).expect("utf8");
                prop_assert!(agree_event(&canon), "{}", canon);
            }
            let _ = taken;
        }
    }

    /// What the general reader makes of one event given alone (a line of a
    /// batch to append).
    fn general(text: &str) -> Option<Event> {
        let value = crate::json::from_str(text).ok()?;
        Event::from_json(&value).ok()
    }

    /// Whether [`event`] took the text; when it did, the general reader
    /// must read the very same event from it.
    fn agree_event(text: &str) -> bool {
        match event(text) {
            Some(e) => {
                assert_eq!(general(text), Some(e), "the batch reader accepted {text}");
                true
            }
            None => false,
        }
    }

    /// Given the generated events, whose lists mostly hold one to three
    /// items (sources, `from`, `to`, `new`, `orgs`, and those of a planned or
    /// replacement event), when the fast path reads their lines, then each list holds exactly its items: no
    /// spare capacity kept from the wire vector (a streaming replay keeps
    /// 85,000 such events at 10^6 records, a load all of them).
    #[test]
    fn the_lists_of_a_parsed_event_hold_no_spare_capacity() {
        fn tight(event: &Event) {
            assert_eq!(event.sources.capacity(), event.sources.len(), "{event:?}");
            match &event.body {
                Body::Transformed { from, to, new, .. } => {
                    assert_eq!((from.capacity(), to.capacity()), (from.len(), to.len()));
                    assert_eq!(new.capacity(), new.len());
                }
                Body::Milestone { orgs, .. } => assert_eq!(orgs.capacity(), orgs.len()),
                Body::Planned { planned } => tight(planned),
                Body::Correction {
                    replacement: Some(r),
                    ..
                } => tight(r),
                _ => {}
            }
        }
        let mut kinds = std::collections::BTreeSet::new();
        for r in generated() {
            let line = r.to_line();
            let parsed = entry(&line).unwrap_or_else(|| panic!("the fast path refused {line}"));
            tight(&parsed.event);
            kinds.insert(parsed.event.type_name());
        }
        // The mix holds every kind of list checked above.
        for kind in ["transformed", "milestone", "planned", "correction"] {
            assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
        }
    }

    /// Every generated event, as stored (canonical), as the typed event
    /// serialises it (the order of `--format events`) and sorted the other
    /// way round, takes the batch fast path.
    #[test]
    fn every_generated_event_takes_the_batch_fast_path_in_any_member_order() {
        for r in generated() {
            let typed = Event::from_json(&r.event).expect("valid").to_json();
            let reversed = |v: &Value| -> String {
                let Value::Object(m) = v else {
                    return v.to_string();
                };
                let mut members: Vec<_> = m.iter().collect();
                members.reverse();
                let inner: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
                    .collect();
                format!("{{{}}}", inner.join(","))
            };
            for text in [r.event.to_string(), typed.to_string(), reversed(&typed)] {
                assert!(agree_event(&text), "{text}");
            }
        }
    }

    /// An object naming a member twice, at any depth (a source, an
    /// organisation's `attrs`, `values`, a plan), is never taken: the
    /// general reader refuses it.
    #[test]
    fn the_batch_reader_leaves_duplicate_members_at_any_depth() {
        let mut tried = 0;
        for r in generated().iter().step_by(3) {
            let text = Event::from_json(&r.event)
                .expect("valid")
                .to_json()
                .to_string();
            for (open, _) in text.match_indices('{') {
                // The object's first member, repeated after it.
                let Some(len) = string_len(&text.as_bytes()[open + 1..], true) else {
                    continue;
                };
                let value = open + 1 + len + 1;
                let Some(value_len) = canonical_len(&text[value..], 1)
                    .or_else(|| canon_value(&text[value..], &mut Vec::new(), 1))
                else {
                    continue;
                };
                let member = &text[open + 1..value + value_len];
                let doubled = format!("{}{member},{}", &text[..=open], &text[open + 1..]);
                tried += 1;
                assert!(!agree_event(&doubled), "{doubled}");
                assert_eq!(general(&doubled), None, "{doubled}");
            }
        }
        assert!(tried > 1000, "{tried}");
    }

    /// The hand-written reader takes every generated event, in canonical
    /// order and in the order fusion writes a batch's members, as serde's
    /// wire struct reads it; and gives up on what serde must decide.
    #[test]
    fn the_hand_reader_takes_generated_events_as_serde_reads_them() {
        let by_serde = |text: &str| {
            serde_json::from_str::<Obj<Wire<'_>>>(text)
                .ok()
                .and_then(|Obj(w)| w.into_event())
        };
        for r in generated() {
            let canon = String::from_utf8(canonical(&r.event)).expect("utf8");
            let written = serde_json::to_string(&Event::from_json(&r.event).expect("valid"))
                .expect("serialises");
            for text in [&canon, &written] {
                let hand = read::event(text).and_then(Wire::into_event);
                assert!(hand.is_some(), "the hand reader gave up on {text}");
                assert_eq!(hand, by_serde(text), "{text}");
            }
        }
        // Forms serde reads but RFC 8785 does not write.
        for text in [
            r#"{"type":"dissolved","org":"o1","date":"2020","sources":[{"doc":"d"}] }"#,
            r#"{"type":"dissolved","org":"o\u0031","date":"2020","sources":[{"doc":"d"}]}"#,
            r#"{"type":"figures","org":"o1","values":{"n":1.0},"date":"2020","sources":[{"doc":"d"}]}"#,
            r#"{"type":"figures","org":"o1","values":{"n":1e2},"date":"2020","sources":[{"doc":"d"}]}"#,
            r#"{"type":"dissolved","org":"o1","date":"2020","sources":[{"doc":"d"}],"type":"dissolved"}"#,
            r#"{"type":"dissolved","org":"o1","date":"2020","sources":[{"doc":"d","doc":"d"}]}"#,
        ] {
            assert!(read::event(text).is_none(), "the hand reader took {text}");
        }
        let figures = r#"{"type":"figures","org":"o1","values":{"n":7,"m":0},"date":"2020","sources":[{"doc":"d"}]}"#;
        let hand = read::event(figures).and_then(Wire::into_event);
        assert!(hand.is_some());
        assert_eq!(hand, by_serde(figures));
    }

    /// Large maps take the sorting branch of the duplicate check.
    #[test]
    fn a_member_named_twice_in_a_large_map_is_left_to_the_general_reader() {
        let figures: Vec<String> = (0..40).map(|i| format!("\"f{i}\":{i}")).collect();
        let text = |figures: &[String]| {
            format!(
                "{{\"type\":\"figures\",\"org\":\"o1\",\"values\":{{{}}},\"date\":\"2020\",\"sources\":[{{\"doc\":\"d\"}}]}}",
                figures.join(",")
            )
        };
        assert!(agree_event(&text(&figures)));
        for at in [0, 17, 39] {
            let mut doubled = figures.clone();
            doubled.push(figures[at].replace(':', ":7"));
            assert!(!agree_event(&text(&doubled)), "{at}");
            assert_eq!(general(&text(&doubled)), None);
        }
    }

    /// Every small change of events of every type, written in the order
    /// `--format events` writes: whatever the batch fast path takes, the
    /// general reader reads as the same event; and it takes most valid ones.
    #[test]
    fn the_batch_reader_agrees_with_the_general_reader_on_every_small_change() {
        let (mut taken, mut left, mut valid) = (0, 0, 0);
        for r in generated().iter().step_by(7) {
            let mut names = Vec::new();
            strings(&r.event, &mut names);
            let others: Vec<Value> = [" ", "", HASH, "1950-13-01", "a\"b", "x\u{1}"]
                .iter()
                .map(|s| Value::from(*s))
                .chain(names.into_iter().map(Value::from))
                .chain([
                    json!(0),
                    json!(9007199254740992_u64),
                    json!(-1),
                    json!(null),
                ])
                .collect();
            let typed = Event::from_json(&r.event).expect("valid").to_json();
            let mut changed = Vec::new();
            variants(&typed, &others, &mut changed);
            for v in changed {
                let text = v.to_string();
                valid += usize::from(general(&text).is_some());
                if agree_event(&text) {
                    taken += 1;
                } else {
                    left += 1;
                }
            }
        }
        assert!(taken > 1000 && left > 1000, "{taken} taken, {left} left");
        assert_eq!(taken, valid, "a valid event was left to the general reader");
    }

    /// Every string of `v` with its path.
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(m) => m.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }

    /// Small changes at every place of `v`: each string set to a blank,
    /// an invalid id, a hash or another string of the event; each array
    /// emptied, shortened or with an element repeated; each member removed;
    /// `fulfils` added to each object.
    fn variants(v: &Value, others: &[Value], out: &mut Vec<Value>) {
        match v {
            Value::String(_) | Value::Number(_) => {
                out.extend(others.iter().filter(|o| *o != v).cloned());
            }
            Value::Array(a) => {
                out.push(json!([]));
                for i in 0..a.len() {
                    let mut shorter = a.clone();
                    shorter.remove(i);
                    out.push(Value::from(shorter));
                    let mut longer = a.clone();
                    longer.insert(i, a[i].clone());
                    out.push(Value::from(longer));
                    let mut inner = Vec::new();
                    variants(&a[i], others, &mut inner);
                    out.extend(inner.into_iter().map(|x| {
                        let mut c = a.clone();
                        c[i] = x;
                        Value::from(c)
                    }));
                }
            }
            Value::Object(m) => {
                let mut with = m.clone();
                with.insert("fulfils".into(), Value::from(HASH));
                out.push(Value::Object(with));
                for k in m.keys() {
                    let mut without = m.clone();
                    without.shift_remove(k);
                    out.push(Value::Object(without));
                    let mut inner = Vec::new();
                    variants(&m[k], others, &mut inner);
                    out.extend(inner.into_iter().map(|x| {
                        let mut c = m.clone();
                        c.insert(k.clone(), x);
                        Value::Object(c)
                    }));
                }
            }
            _ => {}
        }
    }

    const HASH: &str = "00000000000000000000000000000000000000000000000000000000000000ab";

    /// The shape rules [`check`] applies without building the event, one
    /// small change at a time on events of every type, sealed as fusion
    /// writes them: [`check`] and [`entry`] (and so the general reader)
    /// take and leave the same lines.
    #[test]
    fn the_check_agrees_with_the_fast_path_on_every_small_change() {
        let (mut taken, mut left) = (0, 0);
        for r in generated().iter().step_by(7) {
            let mut names = Vec::new();
            strings(&r.event, &mut names);
            let mut others: Vec<Value> = [
                " ",
                "",
                "a b",
                HASH,
                "1950-13-01",
                "supersede",
                "\n",
                "\u{a0}",
                "a\"b",
                "x\u{1}",
            ]
            .iter()
            .map(|s| Value::from(*s))
            .chain(names.into_iter().map(Value::from))
            .chain([json!(0), json!(9007199254740991_u64)])
            .collect();
            others.dedup();
            let mut changed = Vec::new();
            variants(&r.event, &others, &mut changed);
            for v in changed {
                let sealed = Record::seal(r.seq, r.recorded.clone(), v, r.prev.clone());
                if agree(&sealed.to_line()) {
                    taken += 1;
                } else {
                    left += 1;
                }
            }
        }
        assert!(taken > 1000 && left > 1000, "{taken} taken, {left} left");
    }

    #[test]
    fn unusual_envelopes_are_left_to_the_general_reader() {
        let r = &generated()[5];
        let line = r.to_line();
        assert!(agree(&line));
        for bad in [
            format!("{line}\r"),
            format!("\u{feff}{line}"),
            line.replacen("\"seq\":6", "\"seq\":06", 1),
            line.replacen("\"v\":1", "\"v\":2", 1),
            line.replacen("2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00", 1),
            line.replacen(&r.hash, &r.hash.to_uppercase(), 1),
            line.replacen(&r.prev, &r.hash, 1),
            line.replacen("\"event\":{", "\"event\":{\"nmae\":1,", 1),
        ] {
            assert!(!agree(&bad), "{bad}");
            assert!(slow(&bad).is_err(), "{bad}");
        }
        // Valid, but not as fusion writes it.
        let spaced = line.replacen("{\"v\":1,", "{\"v\":1 ,", 1);
        assert!(!agree(&spaced));
        assert!(slow(&spaced).is_ok());
    }
}
