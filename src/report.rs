//! The HTML report: one self-contained static page (inline CSS, inline JS,
//! inline SVG; no CDN, no network, no server) showing
//!
//! 1. the landscape on the as-of day: the organisations that exist, with
//!    their facts, and those that had ended;
//! 2. the plans stated by then, with their status on that day;
//! 3. the lineage of every change (fusion, absorption, split…) as an SVG
//!    picture, laid out with time on the x axis and one lane per
//!    organisation, edges drawn predecessor → successor at the change's
//!    date and coloured by kind; changes after the as-of day are dashed;
//! 4. a timeline of every record known, first to last in timeline order,
//!    filterable by event type with a small inline script (without
//!    script, every event shows and the filter stays hidden).
//!
//! Every fact links to the event it comes from (anchor `#seq-N`, in the
//! timeline) and carries its source quote (shown in the timeline and in a
//! tooltip). Everything that comes from the ledger is HTML-escaped
//! ([`escape_html`]); source URLs become links only when they are `http`
//! or `https`. A Content-Security-Policy meta tag forbids every fetch.
//! The output is deterministic: the same ledger, day and position give the
//! same bytes.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};

use crate::event::{Body, CorrectionMode, Event, Party, Source, short_hash};
use crate::fold::{Closing, Knowledge, Org, Plan, Stamp, State};
use crate::graph::{self, ChangeGraph, mode_colour};
use crate::record::{Entry, GENESIS_PREV};

/// A rendered report and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The whole HTML document.
    pub html: String,
    /// Organisations in existence on the as-of day.
    pub organisations: usize,
    /// Records in the timeline.
    pub events: usize,
    /// Changes drawn in the lineage graph.
    pub changes: usize,
}

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and quoted attribute
/// values, and shows a control character other than tab, newline and
/// carriage return (C0, DEL, C1) as U+FFFD: HTML allows none of them, not
/// even as a character reference, and a name in the ledger may hold any.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The URL if it is safe to link to (`http:` or `https:`).
fn safe_url(u: &str) -> Option<&str> {
    let lower = u.get(..8).unwrap_or(u).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")).then_some(u)
}

const STYLE: &str = r#"
:root{--ink:#1b1f24;--muted:#5b6470;--line:#d8dde3;--bg:#fff;--soft:#f4f6f8;--accent:#0b5cad}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg);margin:0}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 20px}
header{padding-top:18px;border-bottom:1px solid var(--line)}
h1{font-size:1.6em;margin:.2em 0}
h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:1.05em;margin:1.2em 0 .4em}
nav a{margin-right:1em}
a{color:var(--accent)}
code{font:13px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:0 .25em;border-radius:3px}
.muted,small{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{text-align:left;vertical-align:top;border-bottom:1px solid var(--line);padding:.45em .5em}
th{background:var(--soft);font-weight:600}
tr:target,li:target{background:#fff6d6}
.kind{display:inline-block;font-size:.8em;color:var(--muted);border:1px solid var(--line);border-radius:9px;padding:0 .45em;margin-left:.3em}
.facts{list-style:none;margin:0;padding:0}
.facts li{margin:.1em 0}
.facts b{font-weight:600;color:var(--muted);font-size:.85em;text-transform:uppercase;letter-spacing:.02em;margin-right:.3em}
a.fact{text-decoration:none;border-bottom:1px dotted var(--accent)}
.maybe{font-style:italic}
.src{list-style:none;margin:.3em 0 0;padding:0;font-size:.9em}
.src li{margin:.15em 0;padding-left:.6em;border-left:3px solid var(--line)}
.src q{font-style:italic}
.legend{list-style:none;padding:0;margin:.3em 0;display:flex;flex-wrap:wrap;gap:1em}
.swatch{display:inline-block;width:1.6em;height:.35em;vertical-align:middle;margin-right:.35em;border-radius:2px}
svg.lineage{width:100%;height:auto;border:1px solid var(--line);border-radius:4px;background:#fcfdfe}
svg .axis line{stroke:#e3e7ec}
svg .axis text{font-size:11px;fill:var(--muted)}
svg .name{font-size:12px;fill:var(--ink)}
svg .bar{fill:#9aa7b6}
svg .bar.open{fill:#6f8296}
svg .edge{fill:none;stroke-width:2.2}
svg .edge.later{stroke-dasharray:5 4}
svg .edge.maybe{stroke-dasharray:2 3}
svg .asof{stroke:#c0392b;stroke-width:1.5;stroke-dasharray:4 3}
svg .cut{font-size:10px;fill:var(--muted)}
svg .asof-label{font-size:11px;fill:#c0392b}
#filter{border:1px solid var(--line);border-radius:4px;padding:.4em .8em;margin:.5em 0}
#filter label{margin-right:.9em;white-space:nowrap}
#filter button{margin-left:.4em}
ol.timeline{list-style:none;padding:0;margin:0}
ol.timeline>li{padding:.55em .6em;border-bottom:1px solid var(--line)}
ol.timeline>li.later{background:#fafbfc}
ol.timeline>li.gone .sum{text-decoration:line-through}
.seq{font:12px ui-monospace,Menlo,Consolas,monospace;color:var(--muted);text-decoration:none;margin-right:.4em}
time{font-weight:600;margin-right:.4em}
.type{display:inline-block;font-size:.78em;border-radius:3px;padding:0 .4em;background:var(--soft);border:1px solid var(--line);margin-right:.4em}
.status{font-size:.9em;margin:.2em 0}
.note{font-size:.9em;color:var(--muted);margin:.2em 0}
.st-overdue{color:#b03a2e;font-weight:600}
.st-pending{color:#7d6608}
.st-fulfilled{color:#1e7b34}
.st-abandoned{color:var(--muted);font-style:italic}
.st-retracted,.st-superseded{color:var(--muted);text-decoration:line-through}
footer{margin-top:2em;padding:1em 20px 2em;border-top:1px solid var(--line);font-size:.85em;color:var(--muted)}
@media print{#filter{display:none}ol.timeline>li[hidden]{display:block}}
"#;

const SCRIPT: &str = r#"
(function () {
  var box = document.getElementById('filter');
  if (!box) { return; }
  var items = document.querySelectorAll('#timeline li.ev');
  var inputs = box.querySelectorAll('input[type=checkbox]');
  var shown = document.getElementById('shown');
  function apply() {
    var on = {};
    inputs.forEach(function (i) { on[i.value] = i.checked; });
    var n = 0;
    items.forEach(function (li) {
      var show = on[li.getAttribute('data-type')] !== false;
      li.hidden = !show;
      if (show) { n += 1; }
    });
    shown.textContent = n + ' of ' + items.length + ' events shown';
  }
  function all(v) { inputs.forEach(function (i) { i.checked = v; }); apply(); }
  inputs.forEach(function (i) { i.addEventListener('change', apply); });
  box.querySelector('[data-all]').addEventListener('click', function () { all(true); });
  box.querySelector('[data-none]').addEventListener('click', function () { all(false); });
  box.hidden = false;
  document.documentElement.setAttribute('data-js', 'on');
  apply();
})();
"#;

/// What every part of the page needs.
struct Ctx<'a> {
    as_of: NaiveDate,
    /// Effective events by seq (a replacement under its correction's seq).
    effective: HashMap<u64, &'a Event>,
    /// Every known record by seq.
    records: HashMap<u64, &'a Entry>,
    /// Organisations with a row in the landscape (an `#org-ID` anchor).
    anchored: BTreeSet<&'a str>,
    /// Names on the day, and for organisations that come into being
    /// later their latest.
    names: HashMap<&'a str, &'a str>,
}

impl Ctx<'_> {
    fn day(&self) -> String {
        self.as_of.format("%Y-%m-%d").to_string()
    }

    /// The name of an organisation, linked to its row when it has one.
    fn org_link(&self, id: &str) -> String {
        let name = self.names.get(id).copied().unwrap_or(id);
        if self.anchored.contains(id) {
            format!(
                "<a href=\"#org-{}\" title=\"{}\">{}</a>",
                escape_html(id),
                escape_html(id),
                escape_html(name)
            )
        } else {
            format!(
                "<span title=\"{}\">{}</span>",
                escape_html(id),
                escape_html(name)
            )
        }
    }

    /// The sources of the event at `seq`, for a tooltip.
    fn quote_title(&self, seq: u64) -> String {
        self.effective
            .get(&seq)
            .map(|e| source_title(&e.sources))
            .unwrap_or_default()
    }

    /// A fact that links to its event, with the source in a tooltip;
    /// tentative facts read "possibly".
    fn fact(&self, text: &str, at: &Stamp) -> String {
        let maybe = at.date.is_tentative_on(self.as_of);
        format!(
            "<a class=\"fact{}\" href=\"#seq-{}\" title=\"{}\">{} <small>({}{})</small></a>",
            if maybe { " maybe" } else { "" },
            at.seq,
            escape_html(&self.quote_title(at.seq)),
            escape_html(text),
            if maybe { "possibly since " } else { "since " },
            escape_html(at.date.as_str())
        )
    }
}

fn source_title(sources: &[Source]) -> String {
    let parts: Vec<String> = sources
        .iter()
        .map(|s| match &s.quote {
            Some(q) => format!("{}: “{}”", s.doc, q),
            None => s.doc.to_string(),
        })
        .collect();
    parts.join("\n")
}

/// Sources as a list: the document, the quote, the URL as a link.
fn sources_html(sources: &[Source]) -> String {
    let mut out = String::from("<ul class=\"src\">");
    for s in sources {
        out.push_str("<li><cite>");
        out.push_str(&escape_html(&s.doc));
        out.push_str("</cite>");
        if let Some(q) = &s.quote {
            let _ = write!(out, ": <q>{}</q>", escape_html(q));
        }
        if let Some(u) = &s.url {
            match safe_url(u) {
                Some(u) => {
                    let _ = write!(
                        out,
                        " <a href=\"{0}\" rel=\"noreferrer noopener\">{0}</a>",
                        escape_html(u)
                    );
                }
                None => {
                    let _ = write!(out, " <span>{}</span>", escape_html(u));
                }
            }
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    out
}

/// Renders the report for the landscape on `as_of`, as known at seq
/// `known_at` (clamped to the head).
pub fn render(entries: &[Entry], as_of: NaiveDate, known_at: u64) -> Report {
    let knowledge = Knowledge::new(entries, known_at);
    let state = knowledge.fold_until(as_of);
    let full = knowledge.fold_until(NaiveDate::MAX);
    let lineage = graph::changes_in(&knowledge, &full, None, None);
    let records: HashMap<u64, &Entry> = entries
        .iter()
        .take_while(|e| e.seq <= knowledge.position)
        .map(|e| (e.seq, e))
        .collect();
    let ctx = Ctx {
        as_of,
        effective: knowledge
            .timeline
            .iter()
            .map(|e| (e.seq, e.event))
            .collect(),
        anchored: state.orgs.keys().map(|k| k.as_str()).collect(),
        // The name on the day; for an organisation that comes into being
        // later, its latest.
        names: full
            .orgs
            .values()
            .chain(state.orgs.values())
            .map(|o| (o.id.as_str(), o.name.as_str()))
            .collect(),
        records,
    };
    let head = ctx
        .records
        .get(&knowledge.position)
        .map_or(GENESIS_PREV, |e| e.hash.as_str());
    let alive = state.alive_orgs().count();
    let day = ctx.day();

    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n");
    let _ = writeln!(h, "<title>Landscape on {day} — fusion report</title>");
    let _ = writeln!(h, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(
        h,
        "<header>\n<h1>Landscape on {day}</h1>\n<p class=\"muted\">As known at seq {} (record <code>{}</code>): {alive} organisation(s) in existence, {} change(s) in the lineage, {} record(s) in the timeline. Every fact links to its event in the timeline, which quotes its sources.</p>",
        knowledge.position,
        escape_html(short_hash(head)),
        lineage.changes.len(),
        ctx.records.len()
    );
    h.push_str("<nav><a href=\"#landscape\">Landscape</a><a href=\"#plans\">Plans</a><a href=\"#lineage\">Lineage</a><a href=\"#timeline\">Timeline</a></nav>\n</header>\n<main>\n");
    landscape(&mut h, &ctx, &state);
    plans(&mut h, &ctx, &knowledge);
    lineage_section(&mut h, &ctx, &lineage);
    timeline(&mut h, &ctx, &knowledge);
    h.push_str("</main>\n<footer>Generated by <code>fusion report</code>: a static page with no external resources. Dates are EDTF as written in the ledger; a fact whose date period contains the day, or whose date is marked <code>~</code> or <code>?</code>, reads “possibly”.</footer>\n");
    let _ = writeln!(h, "<script>{SCRIPT}</script>\n</body>\n</html>");
    Report {
        html: h,
        organisations: alive,
        events: ctx.records.len(),
        changes: lineage.changes.len(),
    }
}

fn party_html(ctx: &Ctx<'_>, p: &Party) -> String {
    match p {
        Party::Org(id) => ctx.org_link(id),
        Party::Name(n) => escape_html(n),
    }
}

fn org_facts(ctx: &Ctx<'_>, o: &Org, state: &State) -> String {
    let mut rows: Vec<(&str, Vec<String>)> = Vec::new();
    rows.push((
        "attributes",
        o.attrs
            .iter()
            .map(|(k, a)| ctx.fact(&format!("{k}: {}", a.value), &a.since))
            .collect(),
    ));
    rows.push((
        "sites",
        o.sites.iter().map(|(s, at)| ctx.fact(s, at)).collect(),
    ));
    rows.push((
        "labels",
        o.labels
            .iter()
            .map(|(l, held)| {
                let text = match &held.by {
                    Some(by) => format!("{l} (by {by})"),
                    None => l.to_string(),
                };
                ctx.fact(&text, &held.since)
            })
            .collect(),
    ));
    rows.push((
        "people",
        o.roles
            .iter()
            .flat_map(|(role, people)| {
                people
                    .iter()
                    .map(move |(person, at)| ctx.fact(&format!("{role}: {person}"), at))
            })
            .collect(),
    ));
    rows.push((
        "figures",
        o.figures
            .iter()
            .map(|(name, f)| {
                format!(
                    "<a class=\"fact\" href=\"#seq-{}\" title=\"{}\">{} {} <small>({})</small></a>",
                    f.at.seq,
                    escape_html(&source_title(&f.sources)),
                    escape_html(name),
                    f.value,
                    escape_html(f.at.date.as_str())
                )
            })
            .collect(),
    ));
    rows.push((
        "programs",
        o.programs
            .iter()
            .filter_map(|id| state.programs.get(id.as_str()))
            .filter(|p| p.ended.is_none())
            .map(|p| ctx.fact(&p.name, &p.since))
            .collect(),
    ));
    for (label, map) in [("members", &o.members), ("partners", &o.partners)] {
        rows.push((
            label,
            map.iter()
                .map(|(p, at)| {
                    format!(
                        "{} <a class=\"seq\" href=\"#seq-{}\" title=\"{}\">#{}</a>",
                        party_html(ctx, p),
                        at.seq,
                        escape_html(&ctx.quote_title(at.seq)),
                        at.seq
                    )
                })
                .collect(),
        ));
    }
    rows.push((
        "came from",
        o.predecessors
            .iter()
            .map(|l| {
                format!(
                    "{} <a class=\"fact\" href=\"#seq-{}\" title=\"{}\"><small>({} {})</small></a>",
                    ctx.org_link(&l.id),
                    l.at.seq,
                    escape_html(&ctx.quote_title(l.at.seq)),
                    l.mode.as_str(),
                    escape_html(l.at.date.as_str())
                )
            })
            .collect(),
    ));
    rows.push((
        "former names",
        o.names
            .iter()
            .take(o.names.len().saturating_sub(1))
            .map(|n| ctx.fact(&n.name, &n.since))
            .collect(),
    ));
    let mut out = String::from("<ul class=\"facts\">");
    for (label, items) in rows {
        if !items.is_empty() {
            let _ = write!(out, "<li><b>{label}</b>{}</li>", items.join(", "));
        }
    }
    out.push_str("</ul>");
    out
}

fn landscape(h: &mut String, ctx: &Ctx<'_>, state: &State) {
    let day = ctx.day();
    let _ = writeln!(
        h,
        "<section id=\"landscape\">\n<h2>Organisations on {day}</h2>"
    );
    let alive: Vec<&Org> = state.alive_orgs().collect();
    if alive.is_empty() {
        h.push_str("<p>No organisation exists on this day.</p>\n");
    } else {
        h.push_str("<table class=\"orgs\">\n<thead><tr><th>Organisation</th><th>Since</th><th>Facts on this day</th></tr></thead>\n<tbody>\n");
        for o in alive {
            let src = ctx
                .effective
                .get(&o.since.seq)
                .map(|e| sources_html(&e.sources))
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<tr id=\"org-{}\" class=\"org\"><td><strong>{}</strong> <code>{}</code><span class=\"kind\">{}</span>{src}</td><td>{}</td><td>{}</td></tr>",
                escape_html(&o.id),
                escape_html(&o.name),
                escape_html(&o.id),
                escape_html(&o.kind),
                since_link(ctx, &o.since),
                org_facts(ctx, o, state)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    let ended: Vec<&Org> = state.orgs.values().filter(|o| !o.is_alive()).collect();
    if !ended.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Ended by {day}</h3>\n<table class=\"ended\">\n<thead><tr><th>Organisation</th><th>Since</th><th>Ended</th></tr></thead>\n<tbody>"
        );
        for o in ended {
            let end = o
                .ended
                .as_ref()
                .map(|e| {
                    let into: Vec<String> = e.into.iter().map(|id| ctx.org_link(id)).collect();
                    let into = if into.is_empty() {
                        String::new()
                    } else {
                        format!(" into {}", into.join(", "))
                    };
                    // An end whose period contains the day, or marked
                    // `~`/`?`, reads "possibly", as every tentative fact.
                    let maybe = if e.at.date.is_tentative_on(ctx.as_of) {
                        "possibly "
                    } else {
                        ""
                    };
                    format!(
                        "<a class=\"fact\" href=\"#seq-{}\" title=\"{}\">{maybe}{} {}</a>{into}",
                        e.at.seq,
                        escape_html(&ctx.quote_title(e.at.seq)),
                        e.how.as_str(),
                        escape_html(e.at.date.as_str())
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<tr id=\"org-{}\" class=\"org ended\"><td><strong>{}</strong> <code>{}</code><span class=\"kind\">{}</span></td><td>{}</td><td>{end}</td></tr>",
                escape_html(&o.id),
                escape_html(&o.name),
                escape_html(&o.id),
                escape_html(&o.kind),
                since_link(ctx, &o.since)
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("</section>\n");
}

fn since_link(ctx: &Ctx<'_>, at: &Stamp) -> String {
    let maybe = at.date.is_tentative_on(ctx.as_of);
    format!(
        "<a class=\"fact{}\" href=\"#seq-{}\" title=\"{}\">{}{}</a>",
        if maybe { " maybe" } else { "" },
        at.seq,
        escape_html(&ctx.quote_title(at.seq)),
        if maybe { "possibly since " } else { "" },
        escape_html(at.date.as_str())
    )
}

fn plans(h: &mut String, ctx: &Ctx<'_>, knowledge: &Knowledge<'_>) {
    let day = ctx.day();
    let _ = writeln!(h, "<section id=\"plans\">\n<h2>Plans stated by {day}</h2>");
    let stated: Vec<_> = knowledge
        .plans
        .iter()
        .filter(|p| p.stated.counts_on(ctx.as_of))
        .collect();
    if stated.is_empty() {
        h.push_str("<p>No plan was stated by this day.</p>\n</section>\n");
        return;
    }
    h.push_str("<table class=\"plans\">\n<thead><tr><th>Record</th><th>Stated</th><th>For</th><th>What</th><th>Status on this day</th></tr></thead>\n<tbody>\n");
    for p in stated {
        let status = p.status_on(ctx.as_of);
        let by = settled_by(p, ctx.as_of);
        let title = ctx
            .records
            .get(&p.seq)
            .map(|e| source_title(&e.event.sources))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr><td><a class=\"seq\" href=\"#seq-{0}\" title=\"{1}\">#{0}</a></td><td>{2}</td><td>{3}</td><td><span class=\"type\">{4}</span>{5}</td><td class=\"st-{6}\">{6}{by}</td></tr>",
            p.seq,
            escape_html(&title),
            escape_html(p.stated.as_str()),
            escape_html(p.planned.date.as_str()),
            p.planned.type_name(),
            escape_html(&p.planned.summary()),
            status.as_str()
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

/// ` by #N`, linked: the record that settled the plan by `day` (fulfilled,
/// abandoned, retracted or superseded it), if any.
fn settled_by(p: &Plan<'_>, day: NaiveDate) -> String {
    p.settled_on(day)
        .map(|s| format!(" by <a href=\"#seq-{s}\">#{s}</a>"))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Lineage picture
// ---------------------------------------------------------------------------

const WIDTH: f64 = 1120.0;
const LABEL_W: f64 = 230.0;
const TOP: f64 = 42.0;
const LANE_H: f64 = 30.0;
const RIGHT_PAD: f64 = 24.0;

/// The first day of each node's lane: its first span's start, or for an
/// organisation the ledger never created, its first change. O(n + e).
fn lane_starts(g: &ChangeGraph) -> Vec<NaiveDate> {
    let mut first_change: HashMap<&str, NaiveDate> = HashMap::new();
    for e in &g.edges {
        for id in [e.from.as_str(), e.to.as_str()] {
            let d = first_change.entry(id).or_insert(e.date.start());
            *d = (*d).min(e.date.start());
        }
    }
    g.nodes
        .iter()
        .map(|n| match n.spans.first() {
            Some(s) => s.since.start(),
            None => first_change
                .get(n.id.as_str())
                .copied()
                .unwrap_or(NaiveDate::MIN),
        })
        .collect()
}

/// Lane order: connected groups of organisations (linked by changes)
/// together, groups by their earliest start, within a group by start then
/// id. O(n log n).
fn lane_order(g: &ChangeGraph) -> Vec<usize> {
    let n = g.nodes.len();
    let index: HashMap<&str, usize> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (node.id.as_str(), i))
        .collect();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for e in &g.edges {
        if let (Some(&a), Some(&b)) = (index.get(e.from.as_str()), index.get(e.to.as_str())) {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let starts = lane_starts(g);
    let mut group_start: HashMap<usize, NaiveDate> = HashMap::new();
    let roots: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    for i in 0..n {
        let e = group_start.entry(roots[i]).or_insert(starts[i]);
        *e = (*e).min(starts[i]);
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (ga, gb) = (roots[a], roots[b]);
        group_start
            .get(&ga)
            .cmp(&group_start.get(&gb))
            .then(ga.cmp(&gb))
            .then(starts[a].cmp(&starts[b]))
            .then(g.nodes[a].id.cmp(&g.nodes[b].id))
    });
    order
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The time scale: the whole years covering every span, change and the
/// as-of day.
struct Scale {
    first: NaiveDate,
    last: NaiveDate,
    days: f64,
    x0: f64,
    x1: f64,
}

impl Scale {
    fn x(&self, d: NaiveDate) -> f64 {
        let off = (d - self.first).num_days() as f64;
        self.x0 + (off / self.days).clamp(0.0, 1.0) * (self.x1 - self.x0)
    }
}

fn year_start(y: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Years of context kept before the first change: an organisation that
/// began earlier has its bar cut at the left edge (marked `«`).
const LEAD_YEARS: i32 = 8;

fn scale(g: &ChangeGraph, as_of: NaiveDate) -> Scale {
    let mut lo = as_of;
    let mut hi = as_of;
    for e in &g.edges {
        lo = lo.min(e.date.start());
        hi = hi.max(e.date.end());
    }
    let floor = year_start(lo.year().saturating_sub(LEAD_YEARS));
    for n in &g.nodes {
        for s in &n.spans {
            lo = lo.min(s.since.start().max(floor));
            if let Some((u, _)) = &s.until {
                hi = hi.max(u.end());
            }
        }
    }
    let first = year_start(lo.year());
    let last = year_start(hi.year().saturating_add(1));
    Scale {
        first,
        last,
        days: ((last - first).num_days() as f64).max(1.0),
        x0: LABEL_W,
        x1: WIDTH - RIGHT_PAD,
    }
}

fn svg(h: &mut String, ctx: &Ctx<'_>, g: &ChangeGraph) {
    let order = lane_order(g);
    let lane_of: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(lane, &i)| (g.nodes[i].id.as_str(), lane))
        .collect();
    let sc = scale(g, ctx.as_of);
    let height = TOP + LANE_H * order.len() as f64 + 16.0;
    let y = |lane: usize| TOP + LANE_H * lane as f64 + LANE_H / 2.0;
    let _ = writeln!(
        h,
        "<svg class=\"lineage\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-labelledby=\"lineage-title\">\n<title id=\"lineage-title\">Lineage of the organisations: one lane each, changes drawn at their date</title>"
    );
    h.push_str("<defs>");
    for m in g.modes() {
        let _ = write!(
            h,
            "<marker id=\"arrow-{0}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"{1}\"/></marker>",
            m.as_str(),
            mode_colour(m)
        );
    }
    h.push_str("</defs>\n<g class=\"axis\">");
    let (y_first, y_last) = (sc.first.year(), sc.last.year());
    let years = (y_last - y_first).max(1);
    let step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
        .into_iter()
        .find(|s| years / s <= 24)
        .unwrap_or(1000);
    let mut yr = y_first;
    while yr <= y_last {
        let x = sc.x(year_start(yr));
        let _ = write!(
            h,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>",
            TOP - 14.0,
            height - 8.0
        );
        // The last tick closes the scale; its year would run off the edge.
        if yr < y_last {
            let _ = write!(
                h,
                "<text x=\"{:.1}\" y=\"{:.1}\">{yr}</text>",
                x + 3.0,
                TOP - 18.0
            );
        }
        yr += step;
    }
    h.push_str("</g>\n");
    // Lanes: a name and one bar per period of existence.
    for (lane, &i) in order.iter().enumerate() {
        let n = &g.nodes[i];
        let cy = y(lane);
        let title = format!(
            "{} ({}), {}: {}",
            n.name,
            n.id,
            n.kind,
            crate::graph::span_text(n)
        );
        let _ = write!(
            h,
            "<g class=\"lane\" data-org=\"{}\"><title>{}</title>",
            escape_html(&n.id),
            escape_html(&title)
        );
        let name = escape_html(&truncate(&n.name, 30));
        if ctx.anchored.contains(n.id.as_str()) {
            let _ = write!(
                h,
                "<a href=\"#org-{}\"><text class=\"name\" x=\"8\" y=\"{:.1}\">{name}</text></a>",
                escape_html(&n.id),
                cy + 4.0
            );
        } else {
            let _ = write!(
                h,
                "<text class=\"name\" x=\"8\" y=\"{:.1}\">{name}</text>",
                cy + 4.0
            );
        }
        for s in &n.spans {
            let x0 = sc.x(s.since.start());
            let (x1, open) = match &s.until {
                Some((u, _)) => (sc.x(u.start()), ""),
                None => (sc.x1, " open"),
            };
            let _ = write!(
                h,
                "<a href=\"#seq-{}\"><rect class=\"bar{open}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"8\" rx=\"2\"/></a>",
                s.since_seq,
                cy - 4.0,
                (x1 - x0).max(2.0)
            );
            if s.since.start() < sc.first {
                let _ = write!(
                    h,
                    "<text class=\"cut\" x=\"{:.1}\" y=\"{:.1}\">« {}</text>",
                    x0 + 2.0,
                    cy - 6.0,
                    escape_html(s.since.as_str())
                );
            }
        }
        h.push_str("</g>\n");
    }
    // Edges: predecessor lane → successor lane at the change's date; the
    // predecessors of one change bulge by different amounts.
    let mut nth: HashMap<u64, usize> = HashMap::new();
    for e in &g.edges {
        let (Some(&la), Some(&lb)) = (lane_of.get(e.from.as_str()), lane_of.get(e.to.as_str()))
        else {
            continue;
        };
        let k = nth.entry(e.seq).or_insert(0);
        let bulge = 14.0 + 7.0 * (*k % 6) as f64;
        *k += 1;
        let x = sc.x(e.date.start());
        let (y1, y2) = (y(la), y(lb));
        let dir = if y2 > y1 { 1.0 } else { -1.0 };
        let (sy, ey) = (y1 + 4.0 * dir, y2 - 6.0 * dir);
        let later = e.date.start() > ctx.as_of;
        let class = format!(
            "edge m-{}{}{}",
            e.mode.as_str(),
            if later { " later" } else { "" },
            if e.tentative && !later { " maybe" } else { "" }
        );
        let from_name = ctx.names.get(e.from.as_str()).copied().unwrap_or(&e.from);
        let to_name = ctx.names.get(e.to.as_str()).copied().unwrap_or(&e.to);
        let title = format!(
            "{} {}: {} → {} (seq {}){}",
            e.mode.as_str(),
            e.date,
            from_name,
            to_name,
            e.seq,
            if later { ", after the as-of day" } else { "" }
        );
        let _ = writeln!(
            h,
            "<a href=\"#seq-{}\"><path class=\"{class}\" data-from=\"{}\" data-to=\"{}\" data-seq=\"{}\" d=\"M{x:.1},{sy:.1} Q{:.1},{:.1} {x:.1},{ey:.1}\" stroke=\"{}\" marker-end=\"url(#arrow-{})\"><title>{}</title></path></a>",
            e.seq,
            escape_html(&e.from),
            escape_html(&e.to),
            e.seq,
            x + bulge,
            (sy + ey) / 2.0,
            mode_colour(e.mode),
            e.mode.as_str(),
            escape_html(&title)
        );
    }
    let ax = sc.x(ctx.as_of);
    let _ = writeln!(
        h,
        "<line class=\"asof\" x1=\"{ax:.1}\" y1=\"{:.1}\" x2=\"{ax:.1}\" y2=\"{:.1}\"/><text class=\"asof-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">as of {}</text>",
        TOP - 10.0,
        height - 6.0,
        ax - 4.0,
        TOP - 4.0,
        ctx.day()
    );
    h.push_str("</svg>\n");
}

fn lineage_section(h: &mut String, ctx: &Ctx<'_>, g: &ChangeGraph) {
    h.push_str("<section id=\"lineage\">\n<h2>Lineage</h2>\n");
    if g.changes.is_empty() {
        h.push_str("<p>No change (fusion, absorption, split, spin-off, re-establishment, id change) is recorded.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<p class=\"muted\">Time runs left to right; each organisation has a lane, with a bar for each period of existence. Arrows go from predecessor to successor at the date of the change. Dashed arrows happen after {}; dotted ones have an approximate date.</p>",
        ctx.day()
    );
    h.push_str("<ul class=\"legend\">");
    for m in g.modes() {
        let _ = write!(
            h,
            "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
            mode_colour(m),
            m.as_str()
        );
    }
    h.push_str("</ul>\n");
    svg(h, ctx, g);
    h.push_str("<ol class=\"changes\">\n");
    for c in &g.changes {
        let from: Vec<String> = c.from.iter().map(|id| ctx.org_link(id)).collect();
        let to: Vec<String> = c.to.iter().map(|id| ctx.org_link(id)).collect();
        let _ = writeln!(
            h,
            "<li class=\"change\" data-seq=\"{0}\"><a class=\"seq\" href=\"#seq-{0}\">#{0}</a> <time>{1}</time> <span class=\"type\" style=\"border-color:{2};color:{2}\">{3}</span>{4} → {5}{6}</li>",
            c.seq,
            escape_html(c.date.as_str()),
            mode_colour(c.mode),
            c.mode.as_str(),
            from.join(" + "),
            to.join(" + "),
            sources_html(&c.sources)
        );
    }
    h.push_str("</ol>\n</section>\n");
}

// ---------------------------------------------------------------------------
// Timeline
// ---------------------------------------------------------------------------

fn timeline(h: &mut String, ctx: &Ctx<'_>, knowledge: &Knowledge<'_>) {
    let mut all: Vec<&Entry> = ctx.records.values().copied().collect();
    all.sort_by(|a, b| {
        a.event
            .date
            .timeline_cmp(&b.event.date)
            .then(a.seq.cmp(&b.seq))
    });
    let by_hash: HashMap<&str, u64> = all.iter().map(|e| (e.hash.as_str(), e.seq)).collect();
    let types: BTreeSet<&str> = all.iter().map(|e| e.event.type_name()).collect();
    let _ = writeln!(
        h,
        "<section id=\"timeline\">\n<h2>Timeline</h2>\n<p class=\"muted\">{} record(s), in date order (ties in ledger order). Records dated after {} are shaded; corrected ones are struck through.</p>",
        all.len(),
        ctx.day()
    );
    h.push_str("<fieldset id=\"filter\" hidden><legend>Show event types</legend>");
    for t in crate::event::TYPE_NAMES
        .iter()
        .filter(|t| types.contains(*t))
    {
        let _ = write!(
            h,
            "<label><input type=\"checkbox\" value=\"{t}\" checked> {t}</label>"
        );
    }
    h.push_str("<button type=\"button\" data-all>all</button><button type=\"button\" data-none>none</button> <small id=\"shown\"></small></fieldset>\n<ol class=\"timeline\">\n");
    for e in all {
        timeline_item(h, ctx, knowledge, e, &by_hash);
    }
    h.push_str("</ol>\n</section>\n");
}

fn status_html(
    ctx: &Ctx<'_>,
    knowledge: &Knowledge<'_>,
    e: &Entry,
    by_hash: &HashMap<&str, u64>,
) -> String {
    let mut out = String::new();
    if let Some(c) = knowledge.corrections.get(&e.seq) {
        let how = match c.mode {
            CorrectionMode::Retract => "retracted",
            CorrectionMode::Supersede => "superseded",
        };
        let _ = write!(
            out,
            "<p class=\"status\">{how} by <a href=\"#seq-{0}\">#{0}</a></p>",
            c.seq
        );
    }
    if let Some((f, how)) = e.event.record_closes() {
        let link = by_hash.get(f).map_or_else(
            || format!("<code>{}</code>", escape_html(short_hash(f))),
            |s| format!("<a href=\"#seq-{s}\">#{s}</a>"),
        );
        let verb = match how {
            Closing::Fulfils => "carries out",
            Closing::Abandons => "gives up",
        };
        let _ = write!(out, "<p class=\"status\">{verb} the plan {link}</p>");
    }
    match &e.event.body {
        Body::Planned { planned } => {
            // Its status on the day, once stated (a plan stated later has
            // none yet).
            let status = match knowledge.plan(&e.hash) {
                Some(p) if p.stated.counts_on(ctx.as_of) => {
                    let status = p.status_on(ctx.as_of).as_str();
                    format!(
                        "<span class=\"st-{status}\">{status}</span>{} on {}",
                        settled_by(p, ctx.as_of),
                        ctx.day()
                    )
                }
                Some(_) => format!("not yet stated on {}", ctx.day()),
                None => format!("unknown on {}", ctx.day()),
            };
            let _ = write!(
                out,
                "<p class=\"status\">planned for <time>{}</time> — {status}</p>",
                escape_html(planned.date.as_str()),
            );
        }
        Body::Correction {
            target,
            reason,
            replacement,
            mode,
        } => {
            let verb = match mode {
                CorrectionMode::Retract => "retracts",
                CorrectionMode::Supersede => "supersedes",
            };
            let link = by_hash.get(target.as_str()).map_or_else(
                || format!("<code>{}</code>", escape_html(short_hash(target))),
                |s| format!("<a href=\"#seq-{s}\">#{s}</a>"),
            );
            let _ = write!(
                out,
                "<p class=\"status\">{verb} {link}: {}</p>",
                escape_html(reason)
            );
            if let Some(r) = replacement {
                let _ = write!(
                    out,
                    "<p class=\"status\">replacement: <time>{}</time> <span class=\"type\">{}</span>{}</p>",
                    escape_html(r.date.as_str()),
                    r.type_name(),
                    escape_html(&r.summary())
                );
            }
        }
        _ => {}
    }
    out
}

fn timeline_item(
    h: &mut String,
    ctx: &Ctx<'_>,
    knowledge: &Knowledge<'_>,
    e: &Entry,
    by_hash: &HashMap<&str, u64>,
) {
    let ev = &e.event;
    let t = ev.type_name();
    let later = ev.date.start() > ctx.as_of;
    let gone = knowledge.corrections.contains_key(&e.seq);
    let mode = match &ev.body {
        Body::Transformed { mode, .. } => format!(
            " <span class=\"type\" style=\"border-color:{0};color:{0}\">{1}</span>",
            mode_colour(*mode),
            mode.as_str()
        ),
        _ => String::new(),
    };
    let mut seen = BTreeSet::new();
    let ids: Vec<String> = ev
        .mentioned_ids()
        .into_iter()
        .filter(|id| seen.insert(*id))
        .map(|id| ctx.org_link(id))
        .collect();
    let _ = write!(
        h,
        "<li id=\"seq-{0}\" class=\"ev t-{1}{2}{3}\" data-type=\"{1}\"><a class=\"seq\" href=\"#seq-{0}\">#{0}</a><time>{4}</time><span class=\"type\">{1}</span>{mode} <span class=\"sum\">{5}</span>",
        e.seq,
        t,
        if later { " later" } else { "" },
        if gone { " gone" } else { "" },
        escape_html(ev.date.as_str()),
        escape_html(&ev.summary())
    );
    if !ids.is_empty() {
        let _ = write!(h, " <small>— {}</small>", ids.join(", "));
    }
    h.push_str(&status_html(ctx, knowledge, e, by_hash));
    if let Some(n) = &ev.note {
        let _ = write!(h, "<p class=\"note\">{}</p>", escape_html(n));
    }
    h.push_str(&sources_html(&ev.sources));
    let _ = writeln!(
        h,
        "<small>recorded {} · hash <code>{}</code></small></li>",
        escape_html(&e.recorded),
        escape_html(short_hash(&e.hash))
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::testing::entries;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("day")
    }

    #[test]
    fn escapes_the_five_html_specials() {
        assert_eq!(
            escape_html(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        // Control characters HTML does not allow are shown as U+FFFD.
        assert_eq!(
            escape_html("a\u{0}b\u{1b}[2J\u{7f}\u{92}\tc\n"),
            "a\u{fffd}b\u{fffd}[2J\u{fffd}\u{fffd}\tc\n"
        );
    }

    #[test]
    fn only_http_urls_become_links() {
        assert_eq!(
            safe_url("https://example.org/a"),
            Some("https://example.org/a")
        );
        assert_eq!(safe_url("HTTP://example.org"), Some("HTTP://example.org"));
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("data:text/html,x"), None);
    }

    #[test]
    fn hostile_ledger_text_never_reaches_the_page_unescaped() {
        // Given names, quotes, notes and URLs that try to inject markup
        let evil = "<script>alert('x')</script>";
        let e = entries(&[
            json!({"type": "created", "date": "2008", "id": "a", "name": evil, "kind": "k\"><evil>",
                   "sources": [{"doc": evil, "quote": evil, "url": "javascript:alert(1)"}], "note": evil}),
            json!({"type": "created", "date": "2009", "id": "b", "name": "B", "kind": "k", "sources": [{"doc": "d"}]}),
            json!({"type": "transformed", "mode": "absorption", "date": "2010", "from": ["a"], "to": ["b"],
                   "sources": [{"doc": "d", "quote": "q & <i>"}]}),
        ]);
        // When the report renders
        let html = render(&e, day("2012-12-31"), u64::MAX).html;
        // Then the only script is ours, no ledger tag survives, and the
        // javascript: URL is not a link
        assert_eq!(html.matches("<script>").count(), 1, "{html}");
        assert!(!html.contains("<evil>"));
        assert!(html.contains("k&quot;&gt;&lt;evil&gt;"));
        assert!(!html.contains("<i>"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(!html.contains("href=\"javascript:"));
        assert!(html.contains("q &amp; &lt;i&gt;"));
    }

    #[test]
    fn the_page_holds_landscape_lineage_and_timeline_with_anchors() {
        // Given a fusion in 2015 and a plan stated in 2016 for 2017
        let src = json!([{"doc": "a.txt", "quote": "la fusion"}]);
        let e = entries(&[
            json!({"type": "created", "date": "2008", "id": "edit", "name": "Edit", "kind": "cluster", "attrs": {"seat": "Lyon"}, "sources": src}),
            json!({"type": "created", "date": "2000", "id": "grilog", "name": "GRILOG", "kind": "cluster", "sources": src}),
            json!({"type": "transformed", "mode": "fusion", "date": "2015-05~", "from": ["edit", "grilog"], "to": ["clustr"],
                   "new": [{"id": "clustr", "name": "Clust'R", "kind": "cluster"}], "sources": src}),
            json!({"type": "planned", "date": "2016-06", "sources": src,
                   "planned": {"type": "dissolved", "date": "2017-01-01", "org": "clustr", "sources": src}}),
        ]);
        // When the report is for the end of 2016
        let r = render(&e, day("2016-12-31"), u64::MAX);
        // Then Clust'R is the one organisation alive, the others ended
        assert_eq!((r.organisations, r.events, r.changes), (1, 4, 1));
        let html = &r.html;
        assert!(html.contains("<tr id=\"org-clustr\" class=\"org\">"));
        assert!(html.contains("<tr id=\"org-edit\" class=\"org ended\">"));
        // its end, dated `2015-05~`, reads "possibly"
        assert!(
            html.contains(">possibly fusion 2015-05~</a> into"),
            "{html}"
        );
        // every record has its anchor, and the facts link to them
        for s in 1..=4 {
            assert!(html.contains(&format!("<li id=\"seq-{s}\"")), "seq {s}");
        }
        assert!(html.contains("href=\"#seq-3\""));
        // the lineage draws both edges, coloured as a fusion
        assert!(html.contains("data-from=\"edit\" data-to=\"clustr\" data-seq=\"3\""));
        assert!(html.contains("data-from=\"grilog\" data-to=\"clustr\""));
        assert!(html.contains("stroke=\"#0072b2\""));
        // the plan is overdue on 2017-12-31 but pending in 2016
        assert!(
            html.contains("<td class=\"st-pending\">pending</td>"),
            "{html}"
        );
        let later = render(&e, day("2017-12-31"), u64::MAX).html;
        assert!(later.contains("<td class=\"st-overdue\">overdue</td>"));
        // and once given up (seq 5), abandoned, linking both ways
        let mut given_up = e.clone();
        let mut abandonment = entries(&[
            json!({"type": "plan_abandoned", "date": "2016-11", "plan": format!("{:064x}", 4), "sources": src}),
        ]);
        abandonment[0].seq = 5;
        abandonment[0].hash = format!("{:064x}", 5);
        given_up.append(&mut abandonment);
        let html = render(&given_up, day("2017-12-31"), u64::MAX).html;
        assert!(
            html.contains("<td class=\"st-abandoned\">abandoned by <a href=\"#seq-5\">#5</a>"),
            "{html}"
        );
        assert!(
            html.contains("<p class=\"status\">gives up the plan <a href=\"#seq-4\">#4</a></p>")
        );
        assert!(
            html.contains("<span class=\"st-abandoned\">abandoned</span> by <a href=\"#seq-5\">#5</a> on 2017-12-31</p>"),
            "{html}"
        );
        // and before it was stated, the timeline says so
        let early = render(&e, day("2015-12-31"), u64::MAX).html;
        assert!(
            early
                .contains("planned for <time>2017-01-01</time> — not yet stated on 2015-12-31</p>"),
            "{early}"
        );
        // quotes are shown, escaped
        let html = &r.html;
        assert!(html.contains("<q>la fusion</q>"));
        // the same input gives the same bytes
        assert_eq!(render(&e, day("2016-12-31"), u64::MAX).html, r.html);
    }

    #[test]
    fn organisations_are_named_as_they_were_on_the_day() {
        // Given `b` absorbed into `a` in 2005, and `a` renamed in 2010
        let s = json!([{"doc": "d"}]);
        let e = entries(&[
            json!({"type": "created", "date": "2000", "id": "a", "name": "Alpha Métallurgie", "kind": "company", "sources": s}),
            json!({"type": "created", "date": "2000", "id": "b", "name": "Beta", "kind": "company", "sources": s}),
            json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": ["b"], "to": ["a"], "sources": s}),
            json!({"type": "renamed", "date": "2010", "org": "a", "name": "Alpha Industries", "sources": s}),
        ]);
        // When the report is for 2007, then `a` is named as it was then,
        // wherever it appears
        let html = render(&e, day("2007-12-31"), u64::MAX).html;
        assert!(!html.contains("Alpha Industries</a>"), "{html}");
        assert!(html.contains(">Alpha Métallurgie</a>"), "{html}");
        // and in 2012 by its new name
        let later = render(&e, day("2012-12-31"), u64::MAX).html;
        assert!(later.contains(">Alpha Industries</a>"), "{later}");
    }

    #[test]
    fn an_empty_ledger_renders_a_complete_page() {
        let r = render(&[], day("2016-12-31"), 0);
        assert!(r.html.starts_with("<!DOCTYPE html>"));
        assert!(r.html.ends_with("</html>\n"));
        assert!(r.html.contains("No organisation exists on this day."));
        assert!(r.html.contains("No change (fusion"));
        assert_eq!((r.organisations, r.events, r.changes), (0, 0, 0));
    }

    #[test]
    fn lanes_keep_linked_organisations_together() {
        // Given two unrelated fusions, the later one's members created first
        let s = json!([{"doc": "d"}]);
        let e = entries(&[
            json!({"type": "created", "date": "2000", "id": "x1", "name": "X1", "kind": "k", "sources": s}),
            json!({"type": "created", "date": "2001", "id": "x2", "name": "X2", "kind": "k", "sources": s}),
            json!({"type": "created", "date": "2002", "id": "a1", "name": "A1", "kind": "k", "sources": s}),
            json!({"type": "created", "date": "2003", "id": "a2", "name": "A2", "kind": "k", "sources": s}),
            json!({"type": "transformed", "mode": "fusion", "date": "2005", "from": ["a1", "a2"], "to": ["a3"],
                   "new": [{"id": "a3", "name": "A3", "kind": "k"}], "sources": s}),
            json!({"type": "transformed", "mode": "fusion", "date": "2010", "from": ["x1", "x2"], "to": ["x3"],
                   "new": [{"id": "x3", "name": "X3", "kind": "k"}], "sources": s}),
        ]);
        let k = Knowledge::new(&e, u64::MAX);
        let g = graph::changes(&k, None, None);
        let order: Vec<&str> = lane_order(&g)
            .into_iter()
            .map(|i| g.nodes[i].id.as_str())
            .collect();
        // Then each group's lanes are adjacent, groups by earliest start
        assert_eq!(order, ["x1", "x2", "x3", "a1", "a2", "a3"]);
    }
}
