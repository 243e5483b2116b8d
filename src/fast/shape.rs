//! One pass over an event's bytes for [`super::check`]: checks that the
//! event is written in its RFC 8785 form (as [`super::canonical_len`]
//! does) and, in the same walk, reads its members with the rules
//! [`super::entry`] applies (those of [`Event::from_json`]: only the
//! members of the type, required ones present, optional ones neither `null`
//! nor empty; then [`Event::check_shape`]), without allocating (except to
//! unescape a string that holds an escape).
//!
//! Like the rest of the fast path it only ever accepts: `None` or `false`
//! send the line to the general reader. A member that would make the event
//! invalid whatever its type is refused as soon as it is read; the rules
//! that depend on the type or on another member run at the end
//! ([`Flat::check`]).

use std::borrow::Cow;
use std::cmp::Ordering;

use std::cell::RefCell;
use std::sync::OnceLock;

use super::{MAX_DEPTH, key_cmp};
#[cfg(doc)]
use crate::event::Event;
use crate::event::{ChangeMode, MAX_ID_LEN, MAX_SAFE_INTEGER, TypeMembers};

/// Reads the event object `s` (all of it) if it is canonical; `Some(true)`
/// when it is a valid event (one [`super::entry`] reads),
/// `None` when it is not canonical or was refused while reading.
pub(super) fn check(s: &str) -> Option<bool> {
    let mut flat = Flat::default();
    let end = event(s, 0, 0, &mut flat)?;
    (end == s.len()).then(|| flat.check())
}

/// [`check`], also giving of a valid event its date and type as written
/// and whether it is a correction, a plan or fulfils one (see
/// [`super::check_kept`]).
#[allow(clippy::type_complexity)]
pub(super) fn check_kept(s: &str) -> Option<Option<(Cow<'_, str>, Cow<'_, str>, bool)>> {
    let mut flat = Flat::default();
    let end = event(s, 0, 0, &mut flat)?;
    if end != s.len() {
        return None;
    }
    if !flat.check() {
        return Some(None);
    }
    let whole = flat.fulfils
        || matches!(
            flat.ty.as_deref(),
            Some("correction" | "planned" | "plan_abandoned")
        );
    Some(
        flat.date_text
            .zip(flat.ty)
            .map(|(date, ty)| (date, ty, whole)),
    )
}

/// The members any event may have besides `type`, `date`, `sources`,
/// `note` and `fulfils`, in the order of the bits of [`Flat::present`].
const NAMES: [&str; 31] = [
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
    "candidate",
    "status",
    "program",
    "owner",
    "site",
    "member",
    "relation",
    "person",
    "role",
    "values",
    "orgs",
    "summary",
    "planned",
    "target",
    "replacement",
    "reason",
    "plan",
];

/// The bit of the member `name` in [`Flat::present`].
const fn bit(name: &str) -> u32 {
    let mut i = 0;
    while i < NAMES.len() {
        if const_eq(NAMES[i], name) {
            return 1 << i;
        }
        i += 1;
    }
    panic!("not a member name")
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const ID: u32 = bit("id");
const NAME: u32 = bit("name");
const KIND: u32 = bit("kind");
const ATTRS: u32 = bit("attrs");
const MODE: u32 = bit("mode");
const FROM: u32 = bit("from");
const TO: u32 = bit("to");
const NEW: u32 = bit("new");
const ORG: u32 = bit("org");
const KEY: u32 = bit("key");
const VALUE: u32 = bit("value");
const LABEL: u32 = bit("label");
const HOLDER: u32 = bit("holder");
const BY: u32 = bit("by");
const CANDIDATE: u32 = bit("candidate");
const STATUS: u32 = bit("status");
const PROGRAM: u32 = bit("program");
const OWNER: u32 = bit("owner");
const SITE: u32 = bit("site");
const MEMBER: u32 = bit("member");
const RELATION: u32 = bit("relation");
const PERSON: u32 = bit("person");
const ROLE: u32 = bit("role");
const VALUES: u32 = bit("values");
const ORGS: u32 = bit("orgs");
const SUMMARY: u32 = bit("summary");
const PLANNED: u32 = bit("planned");
const TARGET: u32 = bit("target");
const REPLACEMENT: u32 = bit("replacement");
const REASON: u32 = bit("reason");
const PLAN: u32 = bit("plan");

/// A name of at most 16 bytes, none of them zero, as one integer (its
/// bytes, then zeros); 0 for any other text. Comparing these costs less
/// than comparing strings.
const fn word(s: &str) -> u128 {
    let b = s.as_bytes();
    if b.len() > 16 {
        return 0;
    }
    let mut out = 0u128;
    let mut i = 0;
    while i < 16 {
        let byte = if i < b.len() { b[i] } else { 0 };
        if i < b.len() && byte == 0 {
            return 0;
        }
        out = out << 8 | byte as u128;
        i += 1;
    }
    out
}

const CREATED: u128 = word("created");
const TRANSFORMED: u128 = word("transformed");
const RENAMED: u128 = word("renamed");
const DISSOLVED: u128 = word("dissolved");
const ATTRIBUTE_SET: u128 = word("attribute_set");
const LABEL_GRANTED: u128 = word("label_granted");
const LABEL_WITHDRAWN: u128 = word("label_withdrawn");
const CANDIDACY: u128 = word("candidacy");
const PROGRAM_LAUNCHED: u128 = word("program_launched");
const PROGRAM_ENDED: u128 = word("program_ended");
const SITE_OPENED: u128 = word("site_opened");
const SITE_CLOSED: u128 = word("site_closed");
const JOINED: u128 = word("joined");
const LEFT: u128 = word("left");
const ROLE_STARTED: u128 = word("role_started");
const ROLE_ENDED: u128 = word("role_ended");
const FIGURES: u128 = word("figures");
const MILESTONE: u128 = word("milestone");
const PLANNED_TYPE: u128 = word("planned");
const CORRECTION: u128 = word("correction");
const PLAN_ABANDONED: u128 = word("plan_abandoned");

/// Each event type (as a [`word`]) with the bits of [`NAMES`] it allows,
/// from the vocabulary's own member lists ([`TypeMembers`]).
fn allowed() -> &'static [(u128, u32)] {
    static ALLOWED: OnceLock<Vec<(u128, u32)>> = OnceLock::new();
    ALLOWED.get_or_init(|| {
        crate::event::TYPE_NAMES
            .iter()
            .filter_map(|ty| {
                let members = TypeMembers::of(ty)?;
                let bits = NAMES
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| members.contains(n))
                    .fold(0, |bits, (i, _)| bits | 1 << i);
                Some((word(ty), bits))
            })
            .collect()
    })
}

/// Whether `text` is a date the vocabulary takes ([`super::date_ok`]),
/// remembering the last few valid ones: consecutive records often share
/// their date or return to one of the last few.
fn date_ok(text: &str) -> bool {
    thread_local! {
        static RECENT: RefCell<([u128; 8], usize)> = const { RefCell::new(([0; 8], 0)) };
    }
    let w = word(text);
    if w != 0 && RECENT.with_borrow(|(recent, _)| recent.contains(&w)) {
        return true;
    }
    let ok = super::date_ok(text);
    if ok && w != 0 {
        RECENT.with_borrow_mut(|(recent, next)| {
            if let Some(slot) = recent.get_mut(*next) {
                *slot = w;
            }
            *next = (*next + 1) % 8;
        });
    }
    ok
}

/// What the walk keeps of an event: which members it has (each already
/// checked on its own) and those the final rules look at again.
#[derive(Default)]
struct Flat<'a> {
    ty: Option<Cow<'a, str>>,
    date: bool,
    /// The date as written.
    date_text: Option<Cow<'a, str>>,
    sources: bool,
    fulfils: bool,
    /// Bits of [`NAMES`].
    present: u32,
    mode: Option<Cow<'a, str>>,
    status: Option<Cow<'a, str>>,
    relation: Option<Cow<'a, str>>,
    org: Option<&'a str>,
    /// `Some(Some(org))` or `Some(None)` (a name).
    member: Option<Option<&'a str>>,
    from: Option<Ids<'a>>,
    to: Option<Ids<'a>>,
    /// The `new` array's text and length.
    new: Option<(&'a str, usize)>,
    planned: Option<Inner<'a>>,
    replacement: Option<Inner<'a>>,
}

/// A nested event (`planned`, `replacement`) that passed its own check.
struct Inner<'a> {
    ty: Cow<'a, str>,
    fulfils: bool,
}

/// An array of identifiers, each checked (so none holds an escape, a quote
/// or a comma), as its text.
struct Ids<'a> {
    text: &'a str,
    len: usize,
}

impl<'a> Ids<'a> {
    fn iter(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let inner = self
            .text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or("");
        inner
            .split(',')
            .filter(move |_| !inner.is_empty())
            .map(|t| t.trim_matches('"'))
    }
}

fn req(ok: bool) -> Option<()> {
    ok.then_some(())
}

/// Not blank (`non_empty` of [`Event::check_shape`]).
fn text_ok(s: &str) -> bool {
    // A printable ASCII first byte is not white space: no need to trim.
    matches!(s.as_bytes().first(), Some(0x21..=0x7e)) || !s.trim().is_empty()
}

/// [`crate::event::check_id`] accepts it: 1 to [`MAX_ID_LEN`] bytes of
/// ASCII letters, digits and `-_.:/`, starting with a letter or digit.
fn id_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.len() <= MAX_ID_LEN
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':' | b'/'))
}

fn hash_ok(s: &str) -> bool {
    crate::event::check_hash(s).is_ok()
}

/// The string at `at` if written as RFC 8785 writes it (see
/// [`super::string_len`]): its value and where it ends.
pub(super) fn string(s: &str, at: usize) -> Option<(Cow<'_, str>, usize)> {
    let b = s.as_bytes();
    if b.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = plain(b, at + 1);
    loop {
        match *b.get(i)? {
            b'"' => return Some((Cow::Borrowed(s.get(at + 1..i)?), i + 1)),
            b'\\' => {
                let n = super::string_len(b.get(at..)?, false)?;
                let raw = s.get(at + 1..at + n - 1)?;
                return Some((Cow::Owned(unescape(raw)?), at + n));
            }
            0x00..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// Where the first `"`, `\\` or control character at or after `i` is, or
/// a little before it (at most seven bytes, or at the end of `b`): skips
/// eight plain bytes at a time, as most string bytes are.
pub(super) fn plain(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte below `n`, exact up to the first such byte
    // (borrows may flag bytes after it, never before).
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    while let Some(chunk) = b.get(i..i + 8) {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let w = u64::from_le_bytes(bytes);
        let special = below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
            | below(w, 0x20);
        if special != 0 {
            return i + (special.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// The value of a string's text written with RFC 8785's escapes.
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'f' => '\u{c}',
            'r' => '\r',
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
            }
            _ => return None,
        });
    }
    Some(out)
}

/// A member name at `at` (no escape allowed) and where its value starts.
fn key(s: &str, at: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    if b.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = plain(b, at + 1);
    loop {
        match *b.get(i)? {
            b'"' => break,
            b'\\' | 0x00..=0x1f => return None,
            _ => i += 1,
        }
    }
    if b.get(i + 1) != Some(&b':') {
        return None;
    }
    Some((s.get(at + 1..i)?, i + 2))
}

/// Walks the object at `at`, its members in canonical order, giving each
/// name and where its value starts to `member`, which returns where the
/// value ends. Returns where the object ends.
fn object<'a>(
    s: &'a str,
    at: usize,
    mut member: impl FnMut(&'a str, usize) -> Option<usize>,
) -> Option<usize> {
    let mut last: Option<&str> = None;
    walk(s, at, |name, value| {
        req(last.is_none_or(|l| key_cmp(l, name) == Ordering::Less))?;
        last = Some(name);
        member(name, value)
    })
}

/// [`object`] for an object whose member names `member` knows (it refuses
/// any other): names of ASCII bytes, no two of which share their first
/// eight bytes, so that canonical order is the order of [`rank`].
fn known_object<'a>(
    s: &'a str,
    at: usize,
    mut member: impl FnMut(&'a str, usize) -> Option<usize>,
) -> Option<usize> {
    let mut last = 0;
    walk(s, at, |name, value| {
        let r = rank(name);
        req(r > last)?;
        last = r;
        member(name, value)
    })
}

/// The first eight bytes of `name`, padded with zeros, as a big-endian
/// integer: for the names of [`known_object`], ordered as the names are.
fn rank(name: &str) -> u64 {
    // Built in a register: through a byte array it stalls on the store.
    let b = name.as_bytes();
    (0..8).fold(0, |r, i| r << 8 | u64::from(b.get(i).copied().unwrap_or(0)))
}

/// Walks the object at `at`, giving each member name and where its value
/// starts to `member`, which returns where the value ends (and checks the
/// order). Returns where the object ends.
pub(super) fn walk<'a>(
    s: &'a str,
    at: usize,
    mut member: impl FnMut(&'a str, usize) -> Option<usize>,
) -> Option<usize> {
    let b = s.as_bytes();
    if b.get(at) != Some(&b'{') {
        return None;
    }
    let mut i = at + 1;
    if b.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        let (name, value) = key(s, i)?;
        i = member(name, value)?;
        match *b.get(i)? {
            b',' => i += 1,
            b'}' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// Walks the array at `at`, giving where each element starts to `element`,
/// which returns where it ends. Returns where the array ends.
pub(super) fn array(
    s: &str,
    at: usize,
    mut element: impl FnMut(usize) -> Option<usize>,
) -> Option<usize> {
    let b = s.as_bytes();
    if b.get(at) != Some(&b'[') {
        return None;
    }
    let mut i = at + 1;
    if b.get(i) == Some(&b']') {
        return Some(i + 1);
    }
    loop {
        i = element(i)?;
        match *b.get(i)? {
            b',' => i += 1,
            b']' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// Any string.
fn any_string(s: &str, at: usize) -> Option<usize> {
    string(s, at).map(|(_, end)| end)
}

/// A string that is not blank.
fn text(s: &str, at: usize) -> Option<usize> {
    let (t, end) = string(s, at)?;
    req(text_ok(&t))?;
    Some(end)
}

/// An identifier, as its text (it holds no escape).
fn id(s: &str, at: usize) -> Option<(&str, usize)> {
    let (t, end) = string(s, at)?;
    req(id_ok(&t))?;
    Some((s.get(at + 1..end - 1)?, end))
}

/// A record hash.
fn hash(s: &str, at: usize) -> Option<usize> {
    let (t, end) = string(s, at)?;
    req(hash_ok(&t))?;
    Some(end)
}

/// A non-empty array of identifiers.
fn ids(s: &str, at: usize) -> Option<(Ids<'_>, usize)> {
    let mut len = 0;
    let end = array(s, at, |i| {
        len += 1;
        id(s, i).map(|(_, e)| e)
    })?;
    Some((
        Ids {
            text: s.get(at..end)?,
            len,
        },
        end,
    ))
}

/// A non-empty map of non-blank names to non-blank strings (`attrs`).
fn attrs(s: &str, at: usize) -> Option<usize> {
    let mut len = 0;
    let end = object(s, at, |name, v| {
        len += 1;
        req(text_ok(name))?;
        text(s, v)
    })?;
    req(len > 0)?;
    Some(end)
}

/// A non-empty map of non-blank names to integers in 0..=2^53−1 (`values`).
fn values(s: &str, at: usize) -> Option<usize> {
    let mut len = 0;
    let end = object(s, at, |name, v| {
        len += 1;
        req(text_ok(name))?;
        let rest = s.get(v..)?;
        req(rest.starts_with(|c: char| c.is_ascii_digit()))?;
        // Canonical integers of at most 2^53 − 1 only.
        let n = super::scalar_len(rest)?;
        let value: u64 = rest.get(..n)?.parse().ok()?;
        req(value <= MAX_SAFE_INTEGER)?;
        Some(v + n)
    })?;
    req(len > 0)?;
    Some(end)
}

/// A source: `doc` (not blank), `quote` (not blank), `url`.
fn source(s: &str, at: usize) -> Option<usize> {
    let mut doc = false;
    let end = known_object(s, at, |name, v| match name {
        "doc" => {
            doc = true;
            text(s, v)
        }
        "quote" => text(s, v),
        "url" => any_string(s, v),
        _ => None,
    })?;
    req(doc)?;
    Some(end)
}

/// An organisation of `new`: its `id` and where it ends.
fn org(s: &str, at: usize) -> Option<(&str, usize)> {
    let (mut org_id, mut name, mut kind) = (None, false, false);
    let end = known_object(s, at, |member, v| match member {
        "attrs" => attrs(s, v),
        "id" => id(s, v).map(|(i, e)| {
            org_id = Some(i);
            e
        }),
        "kind" => {
            kind = true;
            text(s, v)
        }
        "name" => {
            name = true;
            text(s, v)
        }
        _ => None,
    })?;
    req(name && kind)?;
    Some((org_id?, end))
}

/// Reads the event object at `at` into `f` (empty); returns where it
/// ends.
fn event<'a>(s: &'a str, at: usize, depth: u32, f: &mut Flat<'a>) -> Option<usize> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let end = known_object(s, at, |name, v| f.member(s, name, v, depth))?;
    req(f.ty.is_some() && f.date && f.sources)?;
    Some(end)
}

impl<'a> Flat<'a> {
    /// Reads the member `name` whose value starts at `v`; returns where
    /// the value ends.
    fn member(&mut self, s: &'a str, name: &str, v: usize, depth: u32) -> Option<usize> {
        let (bit, end) = match name {
            "type" => {
                let (t, end) = string(s, v)?;
                self.ty = Some(t);
                return Some(end);
            }
            "date" => {
                let (t, end) = string(s, v)?;
                req(date_ok(&t))?;
                self.date = true;
                self.date_text = Some(t);
                return Some(end);
            }
            "sources" => {
                let mut len = 0;
                let end = array(s, v, |i| {
                    len += 1;
                    source(s, i)
                })?;
                req(len > 0)?;
                self.sources = true;
                return Some(end);
            }
            "note" => return any_string(s, v),
            "fulfils" => {
                self.fulfils = true;
                return hash(s, v);
            }
            "id" => (ID, id(s, v)?.1),
            "name" => (NAME, text(s, v)?),
            "kind" => (KIND, text(s, v)?),
            "attrs" => (ATTRS, attrs(s, v)?),
            "mode" => {
                let (t, end) = string(s, v)?;
                self.mode = Some(t);
                (MODE, end)
            }
            "from" => {
                let (list, end) = ids(s, v)?;
                self.from = Some(list);
                (FROM, end)
            }
            "to" => {
                let (list, end) = ids(s, v)?;
                self.to = Some(list);
                (TO, end)
            }
            "new" => {
                let mut len = 0;
                let end = array(s, v, |i| {
                    len += 1;
                    org(s, i).map(|(_, e)| e)
                })?;
                req(len > 0)?;
                self.new = Some((s.get(v..end)?, len));
                (NEW, end)
            }
            "org" => {
                let (o, end) = id(s, v)?;
                self.org = Some(o);
                (ORG, end)
            }
            "key" => (KEY, text(s, v)?),
            "value" => match s.get(v..)?.strip_prefix("null") {
                Some(_) => (VALUE, v + 4),
                None => (VALUE, text(s, v)?),
            },
            "label" => (LABEL, text(s, v)?),
            "holder" => (HOLDER, id(s, v)?.1),
            "by" => (BY, text(s, v)?),
            "candidate" => (CANDIDATE, id(s, v)?.1),
            "status" => {
                let (t, end) = string(s, v)?;
                self.status = Some(t);
                (STATUS, end)
            }
            "program" => (PROGRAM, id(s, v)?.1),
            "owner" => (OWNER, id(s, v)?.1),
            "site" => (SITE, text(s, v)?),
            "member" => {
                let (mut org, mut named) = (None, false);
                let end = known_object(s, v, |member, at| match member {
                    "name" => {
                        named = true;
                        text(s, at)
                    }
                    "org" => id(s, at).map(|(o, e)| {
                        org = Some(o);
                        e
                    }),
                    _ => None,
                })?;
                self.member = Some(match (org, named) {
                    (Some(o), false) => Some(o),
                    (None, true) => None,
                    _ => return None,
                });
                (MEMBER, end)
            }
            "relation" => {
                let (t, end) = string(s, v)?;
                self.relation = Some(t);
                (RELATION, end)
            }
            "person" => (PERSON, text(s, v)?),
            "role" => (ROLE, text(s, v)?),
            "values" => (VALUES, values(s, v)?),
            "orgs" => (ORGS, ids(s, v)?.1),
            "summary" => (SUMMARY, text(s, v)?),
            "planned" | "replacement" => {
                let mut inner = Flat::default();
                let end = event(s, v, depth + 1, &mut inner)?;
                req(inner.check())?;
                let nested = Inner {
                    ty: inner.ty?,
                    fulfils: inner.fulfils,
                };
                if name == "planned" {
                    self.planned = Some(nested);
                    (PLANNED, end)
                } else {
                    self.replacement = Some(nested);
                    (REPLACEMENT, end)
                }
            }
            "target" => (TARGET, hash(s, v)?),
            "reason" => (REASON, text(s, v)?),
            "plan" => (PLAN, hash(s, v)?),
            _ => return None,
        };
        self.present |= bit;
        Some(end)
    }

    fn has(&self, bits: u32) -> bool {
        self.present & bits == bits
    }

    /// The rules that depend on the type or join members: those of the
    /// type, the members it allows and requires, and the cross-member
    /// rules of [`Event::check_shape`].
    fn check(&self) -> bool {
        let Some(ty) = self.ty.as_deref().map(word).filter(|w| *w != 0) else {
            return false;
        };
        // Only members of the type.
        match allowed().iter().find(|(t, _)| *t == ty) {
            Some((_, members)) if self.present & !members == 0 => {}
            _ => return false,
        }
        match ty {
            CREATED => self.has(ID | NAME | KIND),
            TRANSFORMED => self.transformed_ok(),
            RENAMED => self.has(ORG | NAME),
            DISSOLVED => self.has(ORG),
            ATTRIBUTE_SET => self.has(ORG | KEY),
            LABEL_GRANTED | LABEL_WITHDRAWN => self.has(LABEL | HOLDER),
            CANDIDACY => {
                self.has(LABEL | CANDIDATE)
                    && matches!(
                        self.status.as_deref(),
                        Some("filed" | "refused" | "withdrawn")
                    )
            }
            PROGRAM_LAUNCHED => self.has(PROGRAM | NAME | OWNER),
            PROGRAM_ENDED => self.has(PROGRAM),
            SITE_OPENED | SITE_CLOSED => self.has(ORG | SITE),
            JOINED | LEFT => match (self.org, self.member) {
                (Some(org), Some(member)) => {
                    member != Some(org)
                        && matches!(self.relation.as_deref(), Some("member" | "partner"))
                }
                _ => false,
            },
            ROLE_STARTED | ROLE_ENDED => self.has(ORG | PERSON | ROLE),
            FIGURES => self.has(ORG | VALUES),
            MILESTONE => self.has(SUMMARY),
            PLANNED_TYPE => self.planned.as_ref().is_some_and(|p| {
                !matches!(&*p.ty, "planned" | "plan_abandoned" | "correction") && !p.fulfils
            }),
            PLAN_ABANDONED => self.has(PLAN),
            CORRECTION => {
                let replacement_ok = match (self.mode.as_deref(), &self.replacement) {
                    (Some("retract"), None) => true,
                    (Some("supersede"), Some(r)) => r.ty != "correction",
                    _ => false,
                };
                self.has(TARGET | REASON) && replacement_ok
            }
            _ => false,
        }
    }

    /// [`Self::check`] for a `transformed` event: the mode, the arity, new
    /// organisations among `to`, no identifier twice in `from` and `to`.
    fn transformed_ok(&self) -> bool {
        use ChangeMode as M;
        let mode = match self.mode.as_deref() {
            Some("fusion") => M::Fusion,
            Some("absorption") => M::Absorption,
            Some("split") => M::Split,
            Some("spin_off") => M::SpinOff,
            Some("reestablishment") => M::Reestablishment,
            Some("id_change") => M::IdChange,
            _ => return false,
        };
        let (Some(from), Some(to)) = (&self.from, &self.to) else {
            return false;
        };
        let new_len = match self.new {
            Some((text, len)) => {
                let among_to = array(text, 0, |i| {
                    let (new_id, end) = org(text, i)?;
                    req(to.iter().any(|t| t == new_id))?;
                    Some(end)
                });
                if among_to.is_none() {
                    return false;
                }
                len
            }
            None => 0,
        };
        if crate::event::check_arity(mode, from.len, to.len, new_len).is_err() {
            return false;
        }
        let all = || from.iter().chain(to.iter());
        let mut few = [""; 16];
        if from.len + to.len <= few.len() {
            for (n, id) in all().enumerate() {
                if few.get(..n).is_some_and(|seen| seen.contains(&id)) {
                    return false;
                }
                if let Some(slot) = few.get_mut(n) {
                    *slot = id;
                }
            }
            true
        } else {
            let mut seen = std::collections::HashSet::new();
            all().all(|id| seen.insert(id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`known_object`] relies on this: the names of each object it walks,
    /// ordered by [`rank`], are in canonical (here byte) order, and no two
    /// share a rank.
    #[test]
    fn ranks_order_the_known_names_as_canonical_order_does() {
        let event: Vec<&str> = ["type", "date", "sources", "note", "fulfils"]
            .into_iter()
            .chain(NAMES)
            .collect();
        let objects: [&[&str]; 4] = [
            &event,
            &["doc", "quote", "url"],
            &["attrs", "id", "kind", "name"],
            &["name", "org"],
        ];
        for names in objects {
            for a in names {
                assert!(a.is_ascii() && !a.is_empty());
                for b in names {
                    assert_eq!(rank(a).cmp(&rank(b)), a.cmp(b), "{a} {b}");
                    assert_eq!(key_cmp(a, b), a.cmp(b));
                }
            }
        }
    }

    #[test]
    fn type_words_tell_every_type_apart() {
        let words: Vec<u128> = crate::event::TYPE_NAMES.iter().map(|t| word(t)).collect();
        assert_eq!(allowed().len(), words.len());
        for (i, w) in words.iter().enumerate() {
            assert_ne!(*w, 0);
            assert_eq!(words.iter().filter(|x| *x == w).count(), 1, "{i}");
        }
        for t in ["left\0", "\0left", "", "program_launched_", "lef", "lefta"] {
            assert!(!words.contains(&word(t)), "{t:?}");
        }
        assert_eq!(word("program_launched"), PROGRAM_LAUNCHED);
    }

    #[test]
    fn the_fast_rules_are_the_event_rules() {
        for s in [
            "",
            " ",
            "\t",
            "\u{a0}",
            "\u{3000}x",
            "a",
            "é",
            "\n",
            "a b",
            "\u{7f}",
            "~",
        ] {
            assert_eq!(text_ok(s), !s.trim().is_empty(), "{s:?}");
        }
        let long = "a".repeat(MAX_ID_LEN);
        let longer = "a".repeat(MAX_ID_LEN + 1);
        for s in [
            "", "o1", "-o", "o-_.:/9", "O", "o 1", "é", "o\u{0}", "1", "_", "a,b", "a\"", &long,
            &longer,
        ] {
            assert_eq!(id_ok(s), crate::event::check_id(s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn plain_stops_at_the_first_special_byte() {
        for text in [
            "abcdefghijklmnopqrstuvwxyz\"",
            "abcdefgh\\ijkl",
            "é😀é😀é😀é😀é😀\u{1f}",
            "abcdefg\u{0}\"",
            "\"",
            "abc",
            "abcdefghijklmnop",
            "abcdefghijklmno\u{7f}\u{80}\u{ff}\u{20}!\n",
        ] {
            let b = text.as_bytes();
            for start in 0..b.len() {
                let first = b[start..]
                    .iter()
                    .position(|c| matches!(c, b'"' | b'\\' | 0x00..=0x1f))
                    .map_or(b.len(), |p| start + p);
                let got = plain(b, start);
                assert!(
                    got <= first && (first - got < 8 || first == b.len()),
                    "{text:?} {start}"
                );
                assert!(
                    b[start..got]
                        .iter()
                        .all(|c| !matches!(c, b'"' | b'\\' | 0x00..=0x1f))
                );
            }
        }
    }

    #[test]
    fn escaped_strings_are_read_as_their_value() {
        for (text, value) in [
            (r#""a\"b""#, "a\"b"),
            (r#""\\\b\t\n\f\r""#, "\\\u{8}\t\n\u{c}\r"),
            (r#""x\u0001\u001fy""#, "x\u{1}\u{1f}y"),
            (r#""é😀""#, "é😀"),
        ] {
            let (got, end) = string(text, 0).expect(text);
            assert_eq!((&*got, end), (value, text.len()));
        }
        for text in [
            r#""\/""#,
            r#""\u0041""#,
            r#""\u001F""#,
            "\"\u{1}\"",
            r#""a"#,
        ] {
            assert_eq!(string(text, 0), None, "{text}");
        }
    }
}
