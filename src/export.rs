//! Exports for other tools: the landscape as JSON-LD in the W3C
//! Organization Ontology with PROV-O provenance ([`jsonld`]), the ledger's
//! events as CSV ([`events_csv`]) and a point-in-time view as CSV
//! ([`view_csv`]).
//!
//! **JSON-LD.** One document with an inline `@context` (no remote context,
//! nothing to fetch) and a flat `@graph`:
//!
//! - an export node (`ledger:export`): the as-of day and the knowledge
//!   position (seq and hash) it was built from;
//! - one `org:Organization` per organisation that ever existed up to the
//!   as-of day: `skos:prefLabel` (current name), `skos:altLabel` (former
//!   names), `org:identifier`, `org:classification` (a `skos:Concept` per
//!   kind), `schema:foundingDate` (the start of its first period of
//!   existence) / `schema:dissolutionDate` (the end of its last, if it has
//!   ended), as EDTF text, `fusion:period` (a re-established
//!   organisation's periods of existence, each with its start, end and
//!   how it ended), `org:hasPrimarySite` (the `seat` attribute),
//!   `org:hasSite`, `org:hasMember`, `org:resultedFrom` / `org:changedBy`
//!   (its change events), and `prov:wasDerivedFrom` the sources of the
//!   event that created it (that began its first period);
//! - one `org:ChangeEvent` per `transformed` event, with
//!   `org:originalOrganization`, `org:resultingOrganization`,
//!   `fusion:changeKind`, `dcterms:date` (the EDTF text as written) and
//!   `fusion:earliest` / `fusion:latest` (the period's bounds as
//!   `xsd:date`), and `prov:wasDerivedFrom` its sources.
//!
//! A source is a `prov:Entity` with `dcterms:bibliographicCitation` (the
//! document), `prov:value` (the verbatim quote) and `schema:url`.
//!
//! Node IRIs live under `urn:fusion:<ledger>:` where `<ledger>` is the
//! first 16 hex digits of the hash of record 1 (`empty` for an empty
//! ledger): stable for the life of a ledger, distinct between ledgers.
//! Organisations are `…:org:<id>`, change events `…:event:<seq>`, kinds
//! `…:kind:<percent-encoded kind>`.
//!
//! **CSV** follows RFC 4180: comma-separated, a header row, CRLF line
//! ends, and a field quoted (with its quotes doubled) when it holds a
//! comma, a quote, CR or LF ([`csv_field`]). In the view's CSV, lists
//! inside a cell are joined with `; `; the records' CSV gives each record's
//! sources as three aligned JSON arrays, its documents, quotes and URLs
//! ([`push_event_fields`]).

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io;

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use crate::date::Date;
use crate::event::{Body, CorrectionMode, Event, Party, Source};
use crate::fold::{Corrected, Knowledge, Org, State};
use crate::record::{Entry, GENESIS_PREV};
use crate::view::{self, OrgView, View, ViewSource};

/// The vocabulary fusion adds where the standard ones have no term.
pub const VOCAB: &str = "urn:fusion:vocab#";

/// The inline JSON-LD context: the prefixes of the vocabularies used, and
/// `ledger:` for this ledger's nodes (see the module documentation).
pub fn context(ledger_ns: &str) -> Value {
    json!({
        "org": "http://www.w3.org/ns/org#",
        "prov": "http://www.w3.org/ns/prov#",
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "dcterms": "http://purl.org/dc/terms/",
        "schema": "http://schema.org/",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "fusion": VOCAB,
        "ledger": ledger_ns,
    })
}

/// The namespace of a ledger's nodes: `urn:fusion:` and the first 16 hex
/// digits of the hash of record 1, or `urn:fusion:empty:`.
pub fn ledger_namespace(entries: &[Entry]) -> String {
    namespace_of(entries.first().map(|e| e.hash.as_str()))
}

/// [`ledger_namespace`] from the hash of record 1 (`None`: an empty ledger).
pub fn namespace_of(first_hash: Option<&str>) -> String {
    match first_hash {
        Some(h) => format!("urn:fusion:{}:", h.get(..16).unwrap_or(h)),
        None => "urn:fusion:empty:".to_owned(),
    }
}

/// Percent-encodes every byte outside RFC 3986 *unreserved* characters
/// (`A–Z a–z 0–9 - . _ ~`), so that free text can end an IRI.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn org_ref(id: &str) -> Value {
    json!({ "@id": format!("ledger:org:{id}") })
}

fn event_ref(seq: u64) -> Value {
    json!({ "@id": format!("ledger:event:{seq}") })
}

fn xsd_date(d: NaiveDate) -> Value {
    json!({ "@value": d.format("%Y-%m-%d").to_string(), "@type": "xsd:date" })
}

/// A source as a `prov:Entity`.
fn source_node(s: &Source) -> Value {
    let mut m = Map::new();
    m.insert("@type".into(), "prov:Entity".into());
    m.insert(
        "dcterms:bibliographicCitation".into(),
        s.doc.as_str().into(),
    );
    if let Some(q) = &s.quote {
        m.insert("prov:value".into(), q.as_str().into());
    }
    if let Some(u) = &s.url {
        m.insert("schema:url".into(), u.as_str().into());
    }
    Value::Object(m)
}

fn sources(list: &[Source]) -> Value {
    Value::Array(list.iter().map(source_node).collect())
}

/// Inserts `key: [values]` when the list is not empty.
fn put_list(m: &mut Map<String, Value>, key: &str, values: Vec<Value>) {
    if !values.is_empty() {
        m.insert(key.into(), Value::Array(values));
    }
}

fn party_node(p: &Party) -> Value {
    match p {
        Party::Org(id) => org_ref(id),
        Party::Name(n) => json!({ "@type": "foaf:Agent", "foaf:name": n }),
    }
}

/// The sources of the `created` events a fold applied, by seq: what the
/// JSON-LD export quotes for each organisation a `created` event brought
/// into being, when the knowledge's timeline does not hold those events (a
/// streamed fold keeps them plain, see
/// [`crate::stream::ChangeScan::jsonld_to`]). About 100 bytes a creation,
/// where the whole event takes several hundred.
#[derive(Debug, Default)]
pub struct Creations(Vec<(u64, Vec<Source>)>);

impl Creations {
    /// Notes the sources of `event`, applied as record `seq`, if it is a
    /// `created` event.
    pub fn note(&mut self, seq: u64, event: &Event) {
        if let Body::Created { .. } = event.body {
            self.0.push((seq, event.sources.clone()));
        }
    }

    /// Ready for lookups: in seq order (a fold notes them in the
    /// timeline's), each seq once.
    pub fn sorted(mut self) -> Creations {
        self.0.sort_unstable_by_key(|(seq, _)| *seq);
        self.0.dedup_by_key(|(seq, _)| *seq);
        self
    }

    /// The sources of the `created` event applied as record `seq`, if
    /// noted.
    fn get(&self, seq: u64) -> Option<&[Source]> {
        let at = self.0.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        self.0.get(at).map(|(_, sources)| sources.as_slice())
    }
}

fn org_node(o: &Org, events: &HashMap<u64, &Event>, creations: &Creations) -> Value {
    let mut m = Map::new();
    m.insert("@id".into(), format!("ledger:org:{}", o.id).into());
    m.insert("@type".into(), "org:Organization".into());
    m.insert("skos:prefLabel".into(), o.name.as_str().into());
    let former: Vec<Value> = o
        .names
        .iter()
        .take(o.names.len().saturating_sub(1))
        .map(|n| n.name.as_str().into())
        .collect();
    put_list(&mut m, "skos:altLabel", former);
    m.insert("org:identifier".into(), o.id.as_str().into());
    m.insert(
        "org:classification".into(),
        json!({ "@id": format!("ledger:kind:{}", percent_encode(&o.kind)) }),
    );
    // A re-established organisation was founded when its first period of
    // existence began, by the event that began it.
    let founded = o.periods.first().map_or(&o.since, |p| &p.since);
    m.insert(
        "schema:foundingDate".into(),
        founded.date.to_string().into(),
    );
    if let Some(e) = &o.ended {
        m.insert(
            "schema:dissolutionDate".into(),
            e.at.date.to_string().into(),
        );
        m.insert("fusion:endedBy".into(), e.how.as_str().into());
    }
    if !o.periods.is_empty() {
        let current = (&o.since, o.ended.as_deref());
        let periods = o
            .periods
            .iter()
            .map(|p| (&p.since, Some(&p.ended)))
            .chain(std::iter::once(current))
            .map(|(since, ended)| {
                let mut p = Map::new();
                p.insert("@type".into(), "fusion:Period".into());
                p.insert("schema:startDate".into(), since.date.to_string().into());
                if let Some(e) = ended {
                    p.insert("schema:endDate".into(), e.at.date.to_string().into());
                    p.insert("fusion:endedBy".into(), e.how.as_str().into());
                }
                Value::Object(p)
            })
            .collect();
        put_list(&mut m, "fusion:period", periods);
    }
    if let Some(seat) = o.attrs.get("seat") {
        m.insert(
            "org:hasPrimarySite".into(),
            json!({ "@type": "org:Site", "rdfs:label": seat.value }),
        );
    }
    let attrs: Vec<Value> = o
        .attrs
        .iter()
        .filter(|(k, _)| k.as_str() != "seat")
        .map(|(k, a)| json!({ "fusion:key": k, "fusion:value": a.value }))
        .collect();
    put_list(&mut m, "fusion:attribute", attrs);
    // Each figure's value on the day, with the date it describes and its
    // sources.
    let figures: Vec<Value> = o
        .figures
        .iter()
        .map(|(name, f)| {
            json!({
                "@type": "schema:QuantitativeValue",
                "schema:name": name.as_str(),
                "schema:value": f.value,
                "dcterms:date": f.at.date.to_string(),
                "prov:wasDerivedFrom": sources(&f.sources),
            })
        })
        .collect();
    put_list(&mut m, "fusion:figure", figures);
    let sites: Vec<Value> = o
        .sites
        .keys()
        .map(|s| json!({ "@type": "org:Site", "rdfs:label": s }))
        .collect();
    put_list(&mut m, "org:hasSite", sites);
    put_list(
        &mut m,
        "fusion:label",
        o.labels.keys().map(|l| l.as_str().into()).collect(),
    );
    put_list(
        &mut m,
        "org:hasMember",
        o.members.keys().map(party_node).collect(),
    );
    let seqs = |links: &[crate::fold::Link]| -> Vec<Value> {
        let set: BTreeSet<u64> = links.iter().map(|l| l.at.seq).collect();
        set.into_iter().map(event_ref).collect()
    };
    put_list(&mut m, "org:resultedFrom", seqs(&o.predecessors));
    put_list(&mut m, "org:changedBy", seqs(&o.successors));
    let created = events.get(&founded.seq).map(|e| e.sources.as_slice());
    if let Some(list) = created.or_else(|| creations.get(founded.seq)) {
        m.insert("prov:wasDerivedFrom".into(), sources(list));
    }
    Value::Object(m)
}

fn period(m: &mut Map<String, Value>, date: &Date) {
    m.insert("dcterms:date".into(), date.to_string().into());
    m.insert("fusion:earliest".into(), xsd_date(date.start()));
    m.insert("fusion:latest".into(), xsd_date(date.end()));
}

/// The JSON-LD document (pretty, with a final newline) for the landscape
/// as known at seq `known_at` (clamped to the head): every organisation and
/// `transformed` change that counts on `as_of` (the whole history when
/// `None`). Plans are not exported: they never happened. What
/// [`write_jsonld`] writes, as a string.
pub fn jsonld(entries: &[Entry], known_at: u64, as_of: Option<NaiveDate>) -> String {
    let mut out = Vec::new();
    // Writing to a vector cannot fail, and the JSON is UTF-8.
    let _ = write_jsonld(&mut out, entries, known_at, as_of);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the document [`jsonld`] returns, byte for byte, one node at a
/// time: the document is never held whole, as a string or as a JSON tree
/// (at 10^6 records it is about a gigabyte of text).
pub fn write_jsonld(
    out: impl io::Write,
    entries: &[Entry],
    known_at: u64,
    as_of: Option<NaiveDate>,
) -> io::Result<()> {
    let knowledge = Knowledge::new(entries, known_at);
    let state = knowledge.fold_until(as_of.unwrap_or(NaiveDate::MAX));
    let hashes: HashMap<u64, &str> = entries.iter().map(|e| (e.seq, e.hash.as_str())).collect();
    let head = hashes
        .get(&knowledge.position)
        .copied()
        .unwrap_or(GENESIS_PREV);
    let ns = ledger_namespace(entries);
    let creations = Creations::default();
    write_jsonld_of(
        out, &ns, head, &knowledge, &state, as_of, &hashes, &creations,
    )
}

/// [`write_jsonld`] from what it folds: the ledger's namespace
/// ([`namespace_of`]), the hash at the knowledge's position, the state
/// folded up to `as_of`, and the record hash of each `transformed` event of
/// the knowledge's timeline by its seq (see
/// [`crate::stream::ChangeScan::jsonld_to`]). The sources of each
/// organisation's creating event are read from the timeline, or else from
/// `creations` (empty when the timeline holds every event).
#[allow(clippy::too_many_arguments)]
pub fn write_jsonld_of(
    mut out: impl io::Write,
    ns: &str,
    head: &str,
    knowledge: &Knowledge<'_>,
    state: &State,
    as_of: Option<NaiveDate>,
    hashes: &HashMap<u64, &str>,
    creations: &Creations,
) -> io::Result<()> {
    let mut export = Map::new();
    export.insert("@id".into(), "ledger:export".into());
    export.insert("@type".into(), "prov:Entity".into());
    export.insert(
        "rdfs:label".into(),
        "fusion export of an organisation ledger".into(),
    );
    if let Some(d) = as_of {
        export.insert("fusion:asOf".into(), xsd_date(d));
    }
    export.insert("fusion:knownAtSeq".into(), knowledge.position.into());
    export.insert("fusion:knownAtHash".into(), head.into());
    // serde_json's pretty layout of `{"@context": …, "@graph": [node, …]}`,
    // each value nested by indenting the lines after its first.
    out.write_all(b"{\n  \"@context\": ")?;
    view::write_nested(&mut out, &context(ns), 1)?;
    out.write_all(b",\n  \"@graph\": [\n    ")?;
    view::write_nested(&mut out, &Value::Object(export), 2)?;
    org_and_change_nodes(knowledge, state, as_of, hashes, creations, &mut |node| {
        out.write_all(b",\n    ")?;
        view::write_nested(&mut out, &node, 2)
    })?;
    out.write_all(b"\n  ]\n}\n")
}

/// Hands `emit` the organisation nodes, then the kinds, then the change
/// events, in the document's order.
fn org_and_change_nodes(
    knowledge: &Knowledge<'_>,
    state: &State,
    as_of: Option<NaiveDate>,
    hashes: &HashMap<u64, &str>,
    creations: &Creations,
    emit: &mut dyn FnMut(Value) -> io::Result<()>,
) -> io::Result<()> {
    let day = as_of.unwrap_or(NaiveDate::MAX);
    let counted = knowledge
        .timeline
        .iter()
        .take_while(|e| e.event.date.counts_on(day));
    let events: HashMap<u64, &Event> = counted.clone().map(|e| (e.seq, e.event)).collect();
    let kinds: BTreeSet<&str> = state.orgs.values().map(|o| o.kind.as_str()).collect();
    for o in state.orgs.values() {
        emit(org_node(o, &events, creations))?;
    }
    for k in kinds {
        emit(json!({
            "@id": format!("ledger:kind:{}", percent_encode(k)),
            "@type": "skos:Concept",
            "skos:prefLabel": k,
        }))?;
    }
    for e in counted {
        let Body::Transformed { mode, from, to, .. } = &e.event.body else {
            continue;
        };
        let mut m = Map::new();
        m.insert("@id".into(), format!("ledger:event:{}", e.seq).into());
        m.insert("@type".into(), "org:ChangeEvent".into());
        m.insert("fusion:changeKind".into(), mode.as_str().into());
        m.insert("dcterms:description".into(), e.event.summary().into());
        period(&mut m, &e.event.date);
        m.insert(
            "org:originalOrganization".into(),
            Value::Array(from.iter().map(|id| org_ref(id)).collect()),
        );
        m.insert(
            "org:resultingOrganization".into(),
            Value::Array(to.iter().map(|id| org_ref(id)).collect()),
        );
        if let Some(n) = &e.event.note {
            m.insert("rdfs:comment".into(), n.as_str().into());
        }
        m.insert("fusion:seq".into(), e.seq.into());
        if let Some(h) = hashes.get(&e.seq) {
            m.insert("fusion:recordHash".into(), (*h).into());
        }
        if let Some(s) = e.supersedes {
            m.insert("fusion:supersedes".into(), event_ref(s));
        }
        m.insert("prov:wasDerivedFrom".into(), sources(&e.event.sources));
        emit(Value::Object(m))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/// One CSV field per RFC 4180: as is, or in double quotes with inner
/// quotes doubled when it holds a comma, a double quote, CR or LF.
pub fn csv_field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// Appends one record, fields quoted as needed, ended by CRLF.
pub fn push_csv_row<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(f.as_ref()));
    }
    out.push_str("\r\n");
}

/// The columns of [`events_csv`].
pub const EVENT_COLUMNS: [&str; 11] = [
    "seq",
    "recorded",
    "date",
    "type",
    "summary",
    "ids",
    "sources",
    "quotes",
    "urls",
    "corrected",
    "hash",
];

/// Every record known at seq `known_at`, one row each in seq order:
/// seq, recorded, date (EDTF as written), type, one-line summary (a
/// correction's names its target by seq and summarises the replacement,
/// see [`push_event_fields`]), the ids it mentions (space-separated), the
/// sources' documents, quotes and URLs (three aligned JSON arrays, see
/// [`push_event_fields`]), whether a correction known at `known_at`
/// retracted or superseded it (`retracted by 12`), and the record hash.
/// What [`write_events_csv`] writes, as a string.
pub fn events_csv(entries: &[Entry], known_at: u64) -> String {
    let mut out = Vec::new();
    // Writing to a vector cannot fail, and the rows are UTF-8.
    let _ = write_events_csv(&mut out, entries, known_at);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the rows [`events_csv`] returns, a row at a time.
pub fn write_events_csv(
    mut out: impl io::Write,
    entries: &[Entry],
    known_at: u64,
) -> io::Result<()> {
    let knowledge = Knowledge::new(entries, known_at);
    let targets = Targets::of(&knowledge, |seq| {
        let at = entries.binary_search_by_key(&seq, |e| e.seq).ok()?;
        entries.get(at).map(|e| e.hash.clone())
    });
    let mut row = String::new();
    push_csv_row(&mut row, &EVENT_COLUMNS);
    out.write_all(row.as_bytes())?;
    let mut fields = String::new();
    for e in entries.iter().take_while(|e| e.seq <= knowledge.position) {
        row.clear();
        fields.clear();
        push_event_fields(&mut fields, &e.event, &targets);
        push_record_row(
            &mut row,
            e.seq,
            &e.recorded,
            &fields,
            knowledge.corrections.get(&e.seq),
            &e.hash,
        );
        out.write_all(row.as_bytes())?;
    }
    Ok(())
}

/// The records that the corrections of a state of knowledge correct, by
/// hash: what the events CSV names a correction's target by, its seq. As
/// many entries as there are corrections that count (a correction is kept
/// whole by a streaming scan anyway), not one per record.
#[derive(Debug, Default)]
pub struct Targets(HashMap<String, u64>);

impl Targets {
    /// The records `knowledge` has corrected, each by the hash `hash_of`
    /// gives for its seq.
    pub fn of(knowledge: &Knowledge<'_>, hash_of: impl Fn(u64) -> Option<String>) -> Targets {
        Targets(
            knowledge
                .corrections
                .keys()
                .filter_map(|&seq| Some((hash_of(seq)?, seq)))
                .collect(),
        )
    }

    /// The seq of the corrected record whose hash is `hash`.
    fn seq(&self, hash: &str) -> Option<u64> {
        self.0.get(hash).copied()
    }
}

/// The `summary` cell of a record's row: the event's own summary (what
/// `fusion log` shows), but for a correction whose target is known,
/// `retract seq 7` or `supersede seq 7 with DATE: TYPE SUMMARY` (the
/// replacement's date, type and summary). A correction that names no
/// record it could correct (no earlier record, or a correction: only in a
/// file written by other means) keeps [`Event::summary`]'s short hash.
fn csv_summary(event: &Event, targets: &Targets) -> String {
    let Body::Correction {
        target,
        mode,
        replacement,
        ..
    } = &event.body
    else {
        return event.summary();
    };
    let Some(seq) = targets.seq(target) else {
        return event.summary();
    };
    match (mode, replacement) {
        (CorrectionMode::Supersede, Some(r)) => format!(
            "supersede seq {seq} with {}: {} {}",
            r.date,
            r.type_name(),
            r.summary()
        ),
        (CorrectionMode::Supersede, None) => format!("supersede seq {seq}"),
        (CorrectionMode::Retract, _) => format!("retract seq {seq}"),
    }
}

/// A JSON array of strings (`null` for an absent one), as one CSV cell.
fn json_list<'a>(items: impl Iterator<Item = Option<&'a str>>) -> String {
    Value::Array(items.map(|s| s.map_or(Value::Null, Value::from)).collect()).to_string()
}

/// The fields of a record's row in [`events_csv`] that its event gives
/// (date, type, summary, ids, sources, quotes, urls), each followed by a
/// comma: made apart from the rest of the row, so that a streaming export
/// makes them where events are parsed. `targets` names the records that
/// corrections correct by their seq ([`Targets::of`]).
///
/// `sources`, `quotes` and `urls` are JSON arrays with one item per source,
/// in the event's order: item *i* of each is the *i*-th source's document,
/// quote and URL, `null` where a source has no quote or no URL
/// (`["Doc A","Doc B"]`, `["quote A",null]`, `[null,"https://…"]`). Any
/// text stays exact (a `;` or a line break included), and reads back with
/// any JSON parser.
pub fn push_event_fields(out: &mut String, event: &Event, targets: &Targets) {
    let mut ids: Vec<&str> = Vec::new();
    for id in event.mentioned_ids() {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let sources = &event.sources;
    for field in [
        event.date.to_string(),
        event.type_name().to_owned(),
        csv_summary(event, targets),
        ids.join(" "),
        json_list(sources.iter().map(|s| Some(s.doc.as_str()))),
        json_list(sources.iter().map(|s| s.quote.as_deref())),
        json_list(sources.iter().map(|s| s.url.as_deref())),
    ] {
        out.push_str(&csv_field(&field));
        out.push(',');
    }
}

/// Appends a record's row of [`events_csv`]: `fields` are its event's
/// ([`push_event_fields`]), `corrected` the correction that names it, if
/// one is known.
pub fn push_record_row(
    out: &mut String,
    seq: u64,
    recorded: &str,
    fields: &str,
    corrected: Option<&Corrected>,
    hash: &str,
) {
    let corrected = corrected
        .map(|c| {
            let how = match c.mode {
                CorrectionMode::Retract => "retracted",
                CorrectionMode::Supersede => "superseded",
            };
            format!("{how} by {}", c.seq)
        })
        .unwrap_or_default();
    out.push_str(&csv_field(&seq.to_string()));
    out.push(',');
    out.push_str(&csv_field(recorded));
    out.push(',');
    out.push_str(fields);
    out.push_str(&csv_field(&corrected));
    out.push(',');
    out.push_str(&csv_field(hash));
    out.push_str("\r\n");
}

/// The columns of [`view_csv`].
pub const VIEW_COLUMNS: [&str; 18] = [
    "id",
    "name",
    "kind",
    "since",
    "tentative",
    "seat",
    "sites",
    "labels",
    "roles",
    "members",
    "partners",
    "predecessors",
    "successors",
    "former_names",
    "ended",
    "ended_tentative",
    "attributes",
    "figures",
];

fn party_text(p: &Party) -> &str {
    match p {
        Party::Org(id) | Party::Name(id) => id,
    }
}

/// A point-in-time view, one row per organisation (see [`VIEW_COLUMNS`]):
/// lists joined with `; `, links as `id (mode date)`, `tentative` is
/// `true` when the organisation only possibly exists on the day, `ended`
/// is `DATE how` for ended organisations (shown with `--all`, or when
/// their end is under way on the day), `ended_tentative` is `true` when
/// the organisation only possibly ended by the day, `false` when it surely
/// did, empty when it did not end. `attributes` is a JSON object of every
/// attribute (the seat included), `figures` a JSON object of each figure's
/// value on the day and the date it describes: `{"members":{"value":510,"date":"2017-03-28"}}`.
pub fn view_csv(v: &View) -> String {
    let mut out = String::new();
    push_csv_row(&mut out, &VIEW_COLUMNS);
    for o in &v.organisations {
        view_row(&mut out, o);
    }
    out
}

/// Writes what [`view_csv`] returns for the view `source` would build,
/// byte for byte, without building it: the rows are rendered on `threads`
/// threads, a batch at a time (see [`ViewSource::write_organisations`]).
pub fn write_view_csv(
    source: &ViewSource<'_>,
    mut out: impl io::Write,
    threads: usize,
) -> io::Result<()> {
    let mut head = String::new();
    push_csv_row(&mut head, &VIEW_COLUMNS);
    out.write_all(head.as_bytes())?;
    source.write_organisations(&mut out, threads, view_row)
}

/// One row of [`view_csv`].
fn view_row(out: &mut String, o: &OrgView) {
    let join = |items: Vec<String>| items.join("; ");
    let links = |l: &[crate::view::LinkView]| {
        join(
            l.iter()
                .map(|l| format!("{} ({} {})", l.id, l.mode, l.date))
                .collect(),
        )
    };
    push_csv_row(
        out,
        &[
            o.id.clone(),
            o.name.clone(),
            o.kind.clone(),
            o.since.clone(),
            o.since_tentative.to_string(),
            o.attrs.get("seat").cloned().unwrap_or_default(),
            join(o.sites.iter().map(|s| s.site.clone()).collect()),
            join(o.labels.iter().map(|l| l.label.clone()).collect()),
            join(
                o.roles
                    .iter()
                    .map(|r| format!("{}: {}", r.role, r.person))
                    .collect(),
            ),
            join(
                o.members
                    .iter()
                    .map(|m| party_text(&m.party).to_owned())
                    .collect(),
            ),
            join(
                o.partners
                    .iter()
                    .map(|m| party_text(&m.party).to_owned())
                    .collect(),
            ),
            links(&o.predecessors),
            links(&o.successors),
            join(o.former_names.iter().map(|n| n.name.clone()).collect()),
            o.ended
                .as_ref()
                .map(|e| format!("{} {}", e.date, e.how))
                .unwrap_or_default(),
            o.ended
                .as_ref()
                .map(|e| e.tentative.to_string())
                .unwrap_or_default(),
            serde_json::to_string(&o.attrs).unwrap_or_default(),
            figures_json(&o.figures),
        ],
    );
}

/// The `figures` cell: each figure's value and date, by name.
fn figures_json(figures: &[crate::view::FigureView]) -> String {
    let object: Map<String, Value> = figures
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                serde_json::json!({"value": f.value, "date": f.date}),
            )
        })
        .collect();
    Value::Object(object).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal RFC 4180 reader, to check that what we write reads back.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut field = String::new();
        let mut chars = text.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => field.push(c),
            }
        }
        rows
    }

    #[test]
    fn fields_are_quoted_only_when_rfc_4180_requires_it() {
        assert_eq!(csv_field("plain text"), "plain text");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("Clust'R \"N\""), "\"Clust'R \"\"N\"\"\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("cr\r"), "\"cr\r\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn rows_read_back_to_the_same_fields() {
        let fields = ["1", "a,b", "say \"hi\"", "two\r\nlines", "", "é ü"];
        let mut out = String::new();
        push_csv_row(&mut out, &fields);
        push_csv_row(&mut out, &fields);
        assert!(out.ends_with("\r\n"));
        let rows = parse_csv(&out);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], fields);
    }

    #[test]
    fn percent_encoding_keeps_unreserved_characters_only() {
        assert_eq!(percent_encode("cluster"), "cluster");
        assert_eq!(
            percent_encode("pôle de compétitivité"),
            "p%C3%B4le%20de%20comp%C3%A9titivit%C3%A9"
        );
        assert_eq!(percent_encode("a/b#c"), "a%2Fb%23c");
    }

    /// Given generated ledgers, when they are exported as JSON-LD (written
    /// a node at a time), then the text is serde_json's pretty layout of
    /// the document it parses to, as when the document was built whole.
    #[test]
    fn the_json_ld_written_node_by_node_is_the_pretty_document() {
        for (n, seed) in [(0, 1), (1, 2), (40, 3), (300, 4)] {
            let records = crate::generator::records(&crate::generator::Options {
                events: n,
                seed,
                recorded: "2026-01-01T00:00:00Z".into(),
                batch: 1,
            });
            let entries: Vec<Entry> = records
                .iter()
                .map(|r| r.entry().expect("a generated record is valid"))
                .collect();
            for as_of in [None, NaiveDate::from_ymd_opt(1995, 6, 30)] {
                let text = jsonld(&entries, n / 2 + 1, as_of);
                let doc: Value = serde_json::from_str(&text).expect("json");
                let graph = doc["@graph"].as_array().map_or(0, Vec::len);
                // The export node, and organisations and changes once
                // there are some.
                assert!(graph > 10 * usize::from(n >= 300), "{n}: {graph} nodes");
                let pretty = serde_json::to_string_pretty(&doc).expect("pretty");
                assert_eq!(text, pretty + "\n", "{n} events, as of {as_of:?}");
            }
        }
    }

    /// The cells of `text`'s rows, the header first.
    fn csv_cells(text: &str) -> Vec<Vec<String>> {
        let rows = parse_csv(text);
        for r in &rows {
            assert_eq!(r.len(), EVENT_COLUMNS.len(), "{r:?}");
        }
        rows
    }

    fn column(name: &str) -> usize {
        EVENT_COLUMNS
            .iter()
            .position(|c| *c == name)
            .expect("a column")
    }

    fn json_cell(cell: &str) -> Value {
        serde_json::from_str(cell).expect("a JSON cell")
    }

    /// Given an event whose sources lack a quote or a URL, and one whose
    /// document holds `; `, when the records are exported as CSV, then
    /// the documents, quotes and URLs are JSON arrays of one item per
    /// source, aligned, `null` where one is missing.
    #[test]
    fn csv_sources_quotes_and_urls_stay_aligned_per_source() {
        let entries = crate::testing::entries(&[json!({
            "type": "created", "date": "2005", "id": "a", "name": "A", "kind": "k",
            "sources": [
                {"doc": "Doc A", "quote": "quote A"},
                {"doc": "Doc B", "url": "https://x.example"},
                {"doc": "Doc C; part 2", "quote": "quote C\nline 2"},
            ],
        })]);
        let rows = csv_cells(&events_csv(&entries, 1));
        let row = &rows[1];
        assert_eq!(
            json_cell(&row[column("sources")]),
            json!(["Doc A", "Doc B", "Doc C; part 2"])
        );
        assert_eq!(
            json_cell(&row[column("quotes")]),
            json!(["quote A", null, "quote C\nline 2"])
        );
        assert_eq!(
            json_cell(&row[column("urls")]),
            json!([null, "https://x.example", null])
        );
    }

    /// Given a record superseded and one retracted, when the records are
    /// exported as CSV, then each correction's summary names its target
    /// by seq, a supersession with its replacement's date, type and
    /// summary; `fusion log`'s summary (the event's own) is unchanged.
    #[test]
    fn csv_corrections_name_their_target_by_seq_and_summarise_the_replacement() {
        let created = |date: &str, id: &str| {
            json!({"type": "created", "date": date, "id": id, "name": "A", "kind": "k",
                   "sources": [{"doc": "d"}]})
        };
        let target = |seq: u64| format!("{seq:064x}");
        let entries = crate::testing::entries(&[
            created("2005", "a"),
            created("2006", "b"),
            json!({"type": "correction", "date": "2007", "target": target(1),
                   "mode": "supersede", "replacement": created("2004", "a"),
                   "reason": "the year was 2004", "sources": [{"doc": "fix"}]}),
            json!({"type": "correction", "date": "2007", "target": target(2),
                   "mode": "retract", "reason": "no such thing",
                   "sources": [{"doc": "fix"}]}),
        ]);
        let rows = csv_cells(&events_csv(&entries, 4));
        let summary = column("summary");
        assert_eq!(
            rows[3][summary],
            "supersede seq 1 with 2004: created a \"A\" (k)"
        );
        assert_eq!(rows[4][summary], "retract seq 2");
        assert_eq!(rows[1][column("corrected")], "superseded by 3");
        assert_eq!(
            entries[2].event.summary(),
            format!("supersede {}", &target(1)[..12]),
            "log's summary"
        );
    }

    /// The spin-off `q3 → sp` (2013), the absorption `sp → s1` (2014-03)
    /// and the re-establishment `s1 → sp` (2015).
    fn reestablished() -> Vec<Entry> {
        crate::testing::entries(&[
            json!({"type": "created", "date": "2010", "id": "q3", "name": "Q3", "kind": "k",
                   "sources": [{"doc": "Doc q3"}]}),
            json!({"type": "created", "date": "2011", "id": "s1", "name": "S1", "kind": "k",
                   "sources": [{"doc": "Doc s1"}]}),
            json!({"type": "transformed", "mode": "spin_off", "date": "2013",
                   "from": ["q3"], "to": ["sp"],
                   "new": [{"id": "sp", "name": "SP", "kind": "k"}],
                   "sources": [{"doc": "Doc spin-off", "quote": "sp is born"}]}),
            json!({"type": "transformed", "mode": "absorption", "date": "2014-03",
                   "from": ["sp"], "to": ["s1"], "sources": [{"doc": "Doc absorption"}]}),
            json!({"type": "transformed", "mode": "reestablishment", "date": "2015",
                   "from": ["s1"], "to": ["sp"], "sources": [{"doc": "Doc reestablishment"}]}),
        ])
    }

    fn org<'a>(doc: &'a Value, id: &str) -> &'a Value {
        doc["@graph"]
            .as_array()
            .and_then(|g| {
                g.iter()
                    .find(|n| n["@id"] == format!("ledger:org:{id}").as_str())
            })
            .expect("the organisation's node")
    }

    /// Given an organisation spun off, absorbed, then re-established, when
    /// the ledger is exported as JSON-LD, then it was founded when its
    /// first period began, derives from the spin-off's sources, and lists
    /// each period of existence with how the earlier one ended.
    #[test]
    fn a_reestablished_organisation_keeps_its_first_founding_and_its_periods() {
        let entries = reestablished();
        let doc: Value = serde_json::from_str(&jsonld(&entries, 5, None)).expect("json");
        let sp = org(&doc, "sp");
        assert_eq!(sp["schema:foundingDate"], "2013");
        assert_eq!(
            sp["prov:wasDerivedFrom"],
            json!([{"@type": "prov:Entity", "dcterms:bibliographicCitation": "Doc spin-off",
                    "prov:value": "sp is born"}])
        );
        assert_eq!(
            sp["fusion:period"],
            json!([
                {"@type": "fusion:Period", "schema:startDate": "2013",
                 "schema:endDate": "2014-03", "fusion:endedBy": "absorption"},
                {"@type": "fusion:Period", "schema:startDate": "2015"},
            ])
        );
        assert!(sp.get("schema:dissolutionDate").is_none());
        // An organisation with one period has no period list.
        assert!(org(&doc, "s1").get("fusion:period").is_none());
        // As of 2014, before the re-establishment: founded 2013, ended.
        let day = NaiveDate::from_ymd_opt(2014, 12, 31);
        let doc: Value = serde_json::from_str(&jsonld(&entries, 5, day)).expect("json");
        let sp = org(&doc, "sp");
        assert_eq!(sp["schema:foundingDate"], "2013");
        assert_eq!(sp["schema:dissolutionDate"], "2014-03");
        assert!(sp.get("fusion:period").is_none());
    }

    #[test]
    fn an_empty_ledger_exports_a_valid_document_and_a_header() {
        let doc: Value = serde_json::from_str(&jsonld(&[], 0, None)).expect("json");
        assert_eq!(doc["@context"]["ledger"], "urn:fusion:empty:");
        assert_eq!(doc["@graph"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            events_csv(&[], 0),
            "seq,recorded,date,type,summary,ids,sources,quotes,urls,corrected,hash\r\n"
        );
    }
}
