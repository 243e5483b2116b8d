//! A reader of an event's canonical bytes into the flat wire struct
//! ([`Wire`]) without serde, for [`super::entry`] and [`super::reread`]
//! (RFC 8785 text: rewritten so, or verified to be so by a scan) and for
//! the lines of a batch ([`super::event`]) written without whitespace. One
//! walk with [`super::shape`]'s readers takes the members (a line read back
//! by `reread`: 1.51 µs with serde, 1.25 µs with this walk).
//!
//! It reads what serde's derived [`Wire`] reads, as the same values, or
//! gives up: members in any order (each at most once, none unknown),
//! strings only in the form RFC 8785 writes them, integers of `values`
//! only as plain digits. `None` leaves the text to serde, and then to the
//! general reader; the fast path's agreement tests check the events built
//! from what it reads against the general reader's.

use std::borrow::Cow;

use super::shape::{array, string, walk};
use super::{MAX_DEPTH, Obj, Pairs, Str, Wire, WireOrg, WireParty, WireSource, has_duplicate};

/// The event object that is all of `s`.
pub(super) fn event(s: &str) -> Option<Wire<'_>> {
    let (wire, end) = object(s, 0, 0)?;
    (end == s.len()).then_some(wire)
}

/// Sets a member not set yet (serde's derived structs refuse a member named
/// twice).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

fn text(s: &str, at: usize) -> Option<(Str<'_>, usize)> {
    string(s, at).map(|(t, end)| (Str(t), end))
}

/// A string member, set once; where it ends.
fn put<'a>(s: &'a str, at: usize, slot: &mut Option<Str<'a>>) -> Option<usize> {
    let (t, end) = text(s, at)?;
    once(slot, t)?;
    Some(end)
}

/// An array of strings.
fn strings(s: &str, at: usize) -> Option<(Vec<Str<'_>>, usize)> {
    let mut out = Vec::new();
    let end = array(s, at, |i| {
        let (t, e) = text(s, i)?;
        out.push(t);
        Some(e)
    })?;
    Some((out, end))
}

/// A map of names to values read by `value`; a name twice gives up.
fn pairs<'a, V>(
    s: &'a str,
    at: usize,
    mut value: impl FnMut(usize) -> Option<(V, usize)>,
) -> Option<(Pairs<'a, V>, usize)> {
    let mut out = Vec::new();
    let end = walk(s, at, |name, v| {
        let (x, e) = value(v)?;
        out.push((Str(Cow::Borrowed(name)), x));
        Some(e)
    })?;
    if has_duplicate(&out) {
        return None;
    }
    Some((Pairs(out), end))
}

/// A non-negative integer written as plain digits, as `u64` takes it.
fn integer(s: &str, at: usize) -> Option<(u64, usize)> {
    let b = s.as_bytes();
    let digits = b
        .get(at..)?
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    // No leading zero, fraction or exponent: those are serde's to read.
    if digits == 0
        || (digits > 1 && b[at] == b'0')
        || matches!(b.get(at + digits), Some(b'.' | b'e' | b'E'))
    {
        return None;
    }
    let n = s.get(at..at + digits)?.parse().ok()?;
    Some((n, at + digits))
}

fn source(s: &str, at: usize) -> Option<(Obj<WireSource<'_>>, usize)> {
    let (mut doc, mut quote, mut url) = (None, None, None);
    let end = walk(s, at, |name, v| match name {
        "doc" => put(s, v, &mut doc),
        "quote" => put(s, v, &mut quote),
        "url" => put(s, v, &mut url),
        _ => None,
    })?;
    Some((
        Obj(WireSource {
            doc: doc?,
            quote,
            url,
        }),
        end,
    ))
}

fn org(s: &str, at: usize) -> Option<(Obj<WireOrg<'_>>, usize)> {
    let (mut id, mut name, mut kind, mut attrs) = (None, None, None, None);
    let end = walk(s, at, |member, v| match member {
        "id" => put(s, v, &mut id),
        "name" => put(s, v, &mut name),
        "kind" => put(s, v, &mut kind),
        "attrs" => {
            let (p, e) = pairs(s, v, |i| text(s, i))?;
            once(&mut attrs, p)?;
            Some(e)
        }
        _ => None,
    })?;
    Some((
        Obj(WireOrg {
            id: id?,
            name: name?,
            kind: kind?,
            attrs,
        }),
        end,
    ))
}

fn party(s: &str, at: usize) -> Option<(Obj<WireParty<'_>>, usize)> {
    let (mut org, mut name) = (None, None);
    let end = walk(s, at, |member, v| match member {
        "org" => put(s, v, &mut org),
        "name" => put(s, v, &mut name),
        _ => None,
    })?;
    Some((Obj(WireParty { org, name }), end))
}

/// The elements of an array, each read by `element`.
fn list<T>(
    s: &str,
    at: usize,
    mut element: impl FnMut(usize) -> Option<(T, usize)>,
) -> Option<(Vec<T>, usize)> {
    let mut out = Vec::new();
    let end = array(s, at, |i| {
        let (x, e) = element(i)?;
        out.push(x);
        Some(e)
    })?;
    Some((out, end))
}

/// The event object at `at` and where it ends.
fn object(s: &str, at: usize, depth: u32) -> Option<(Wire<'_>, usize)> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let (mut ty, mut date, mut sources) = (None, None, None);
    let mut w = Wire::empty();
    let end = walk(s, at, |name, v| {
        // A slot of `w` for a string member.
        let slot = match name {
            "type" => &mut ty,
            "date" => &mut date,
            "note" => &mut w.note,
            "fulfils" => &mut w.fulfils,
            "id" => &mut w.id,
            "name" => &mut w.name,
            "kind" => &mut w.kind,
            "mode" => &mut w.mode,
            "org" => &mut w.org,
            "key" => &mut w.key,
            "label" => &mut w.label,
            "holder" => &mut w.holder,
            "by" => &mut w.by,
            "candidate" => &mut w.candidate,
            "status" => &mut w.status,
            "program" => &mut w.program,
            "owner" => &mut w.owner,
            "site" => &mut w.site,
            "relation" => &mut w.relation,
            "person" => &mut w.person,
            "role" => &mut w.role,
            "summary" => &mut w.summary,
            "target" => &mut w.target,
            "reason" => &mut w.reason,
            "plan" => &mut w.plan,
            _ => return other(s, name, v, depth, &mut w, &mut sources),
        };
        put(s, v, slot)
    })?;
    w.ty = ty?;
    w.date = date?;
    w.sources = sources?;
    Some((w, end))
}

/// A member of an event that is not a plain string.
fn other<'a>(
    s: &'a str,
    name: &str,
    v: usize,
    depth: u32,
    w: &mut Wire<'a>,
    sources: &mut Option<Vec<Obj<WireSource<'a>>>>,
) -> Option<usize> {
    match name {
        "sources" => {
            let (l, e) = list(s, v, |i| source(s, i))?;
            once(sources, l)?;
            Some(e)
        }
        "from" | "to" | "orgs" => {
            let (l, e) = strings(s, v)?;
            let slot = match name {
                "from" => &mut w.from,
                "to" => &mut w.to,
                _ => &mut w.orgs,
            };
            once(slot, l)?;
            Some(e)
        }
        "new" => {
            let (l, e) = list(s, v, |i| org(s, i))?;
            once(&mut w.new, l)?;
            Some(e)
        }
        "attrs" => {
            let (p, e) = pairs(s, v, |i| text(s, i))?;
            once(&mut w.attrs, p)?;
            Some(e)
        }
        "values" => {
            let (p, e) = pairs(s, v, |i| integer(s, i))?;
            once(&mut w.values, p)?;
            Some(e)
        }
        "value" => {
            let (x, e) = match s.get(v..)?.strip_prefix("null") {
                Some(_) => (None, v + 4),
                None => text(s, v).map(|(t, e)| (Some(t), e))?,
            };
            once(&mut w.value, x)?;
            Some(e)
        }
        "member" => {
            let (p, e) = party(s, v)?;
            once(&mut w.member, p)?;
            Some(e)
        }
        "planned" | "replacement" => {
            let (inner, e) = object(s, v, depth + 1)?;
            let slot = if name == "planned" {
                &mut w.planned
            } else {
                &mut w.replacement
            };
            once(slot, Obj(Box::new(inner)))?;
            Some(e)
        }
        _ => None,
    }
}
