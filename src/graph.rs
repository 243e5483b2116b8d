//! The period graph: every `transformed` change of the whole landscape
//! whose date falls in a period, as a graph of organisations (nodes) and
//! predecessor → successor edges coloured by change kind, rendered as
//! Mermaid ([`render_mermaid`]) or Graphviz ([`render_dot`]).
//!
//! **Which changes belong to a period `[from, to]`** (both days included):
//! those whose date period overlaps it (`start <= to` and `end >= from`).
//! A change whose date straddles a bound (`2015` in a period starting
//! 2015-06-01), or carries `~` or `?`, is *tentative*: it is drawn dashed.
//!
//! The same model ([`ChangeGraph`]) feeds the lineage picture of the HTML
//! report ([`crate::report`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::NaiveDate;
use compact_str::CompactString;

use crate::date::Date;
use crate::event::{Body, ChangeMode, Event, Source};
use crate::fold::{Knowledge, State};
use crate::lineage::{dot_escape, mermaid_escape};

/// Every change mode, in the order legends list them.
pub const MODES: [ChangeMode; 6] = [
    ChangeMode::Fusion,
    ChangeMode::Absorption,
    ChangeMode::Split,
    ChangeMode::SpinOff,
    ChangeMode::Reestablishment,
    ChangeMode::IdChange,
];

/// The colour of a change kind (Okabe–Ito palette, readable by people with
/// colour-blindness), as `#rrggbb`.
pub fn mode_colour(mode: ChangeMode) -> &'static str {
    match mode {
        ChangeMode::Fusion => "#0072b2",
        ChangeMode::Absorption => "#e69f00",
        ChangeMode::Split => "#009e73",
        ChangeMode::SpinOff => "#cc79a7",
        ChangeMode::Reestablishment => "#d55e00",
        ChangeMode::IdChange => "#56b4e9",
    }
}

/// One period of existence of an organisation: its start, and its end if it
/// has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// When it began (the date as written).
    pub since: Date,
    /// Seq of the event that began it.
    pub since_seq: u64,
    /// When it ended, and the seq of that event.
    pub until: Option<(Date, u64)>,
}

/// An organisation taking part in at least one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    /// Identifier.
    pub id: String,
    /// Latest name known (the id when the organisation is unknown).
    pub name: String,
    /// Kind (empty when unknown).
    pub kind: String,
    /// Periods of existence, oldest first (several for a re-established
    /// organisation; empty when unknown).
    pub spans: Vec<Span>,
}

/// One predecessor → successor edge of a change.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphEdge {
    /// Predecessor id.
    pub from: String,
    /// Successor id.
    pub to: String,
    /// Change kind.
    pub mode: ChangeMode,
    /// Date of the change.
    pub date: Date,
    /// Seq of the change (the correction's seq for a replacement).
    pub seq: u64,
    /// The date straddles a bound of the period or carries `~`/`?`.
    pub tentative: bool,
}

/// One `transformed` change with its sources.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphChange {
    /// Seq of the change.
    pub seq: u64,
    /// Change kind.
    pub mode: ChangeMode,
    /// Date of the change.
    pub date: Date,
    /// Predecessors.
    pub from: Vec<String>,
    /// Successors.
    pub to: Vec<String>,
    /// The change's sources.
    pub sources: Vec<Source>,
    /// The change's note.
    pub note: Option<String>,
    /// See [`GraphEdge::tentative`].
    pub tentative: bool,
}

/// The changes of a period and the organisations they involve.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeGraph {
    /// First day of the period, if bounded.
    pub from: Option<NaiveDate>,
    /// Last day of the period, if bounded.
    pub to: Option<NaiveDate>,
    /// Knowledge position the graph was built at.
    pub known_at: u64,
    /// Organisations involved, by id.
    pub nodes: Vec<GraphNode>,
    /// Changes in timeline order (date, then seq).
    pub changes: Vec<GraphChange>,
    /// One edge per predecessor × successor pair, in change order.
    pub edges: Vec<GraphEdge>,
}

impl ChangeGraph {
    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&GraphNode> {
        self.nodes
            .binary_search_by(|n| n.id.as_str().cmp(id))
            .ok()
            .and_then(|i| self.nodes.get(i))
    }

    /// The change kinds present, in legend order.
    pub fn modes(&self) -> Vec<ChangeMode> {
        let present: BTreeSet<ChangeMode> = self.changes.iter().map(|c| c.mode).collect();
        MODES
            .iter()
            .copied()
            .filter(|m| present.contains(m))
            .collect()
    }
}

/// The changes known in `knowledge` whose date overlaps `[from, to]`
/// (unbounded on a side given `None`). Names, kinds and spans come from
/// the history folded up to `to` (the whole history when unbounded).
pub fn changes(
    knowledge: &Knowledge<'_>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ChangeGraph {
    let state = knowledge.fold_until(to.unwrap_or(NaiveDate::MAX));
    changes_in(knowledge, &state, from, to)
}

/// As [`changes`], with the state already folded (up to `to` or beyond).
pub fn changes_in(
    knowledge: &Knowledge<'_>,
    state: &State,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ChangeGraph {
    let mut graph = ChangeGraph {
        from,
        to,
        known_at: knowledge.position,
        ..ChangeGraph::default()
    };
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    for e in &knowledge.timeline {
        let Event {
            body:
                Body::Transformed {
                    mode,
                    from: f,
                    to: t,
                    ..
                },
            date,
            ..
        } = e.event
        else {
            continue;
        };
        if to.is_some_and(|to| date.start() > to) {
            // The timeline is sorted by start: nothing later can overlap.
            break;
        }
        if from.is_some_and(|from| date.end() < from) {
            continue;
        }
        let tentative = date.is_approximate()
            || date.is_uncertain()
            || from.is_some_and(|from| date.start() < from)
            || to.is_some_and(|to| date.end() > to);
        for a in f {
            for b in t {
                graph.edges.push(GraphEdge {
                    from: a.to_string(),
                    to: b.to_string(),
                    mode: *mode,
                    date: date.clone(),
                    seq: e.seq,
                    tentative,
                });
            }
        }
        ids.extend(f.iter().chain(t.iter()).map(CompactString::as_str));
        graph.changes.push(GraphChange {
            seq: e.seq,
            mode: *mode,
            date: date.clone(),
            from: f.iter().map(|s| s.to_string()).collect(),
            to: t.iter().map(|s| s.to_string()).collect(),
            sources: e.event.sources.clone(),
            note: e.event.note.as_deref().map(str::to_owned),
            tentative,
        });
    }
    graph.nodes = ids.into_iter().map(|id| node(state, id)).collect();
    graph
}

fn node(state: &State, id: &str) -> GraphNode {
    let Some(o) = state.orgs.get(id) else {
        return GraphNode {
            id: id.to_owned(),
            name: id.to_owned(),
            kind: String::new(),
            spans: Vec::new(),
        };
    };
    let mut spans: Vec<Span> = o
        .periods
        .iter()
        .map(|p| Span {
            since: p.since.date.clone(),
            since_seq: p.since.seq,
            until: Some((p.ended.at.date.clone(), p.ended.at.seq)),
        })
        .collect();
    spans.push(Span {
        since: o.since.date.clone(),
        since_seq: o.since.seq,
        until: o.ended.as_ref().map(|e| (e.at.date.clone(), e.at.seq)),
    });
    GraphNode {
        id: o.id.to_string(),
        name: o.name.to_string(),
        kind: o.kind.to_string(),
        spans,
    }
}

/// `SINCE – UNTIL` for each span, joined by `, `; `since SINCE` while it
/// lasts.
pub(crate) fn span_text(n: &GraphNode) -> String {
    let parts: Vec<String> = n
        .spans
        .iter()
        .map(|s| match &s.until {
            Some((u, _)) => format!("{} – {}", s.since, u),
            None => format!("since {}", s.since),
        })
        .collect();
    parts.join(", ")
}

fn period_text(g: &ChangeGraph) -> String {
    let day = |d: Option<NaiveDate>, open: &str| {
        d.map_or(open.to_owned(), |d| d.format("%Y-%m-%d").to_string())
    };
    format!(
        "changes from {} to {}, known at seq {}",
        day(g.from, "the beginning"),
        day(g.to, "the end"),
        g.known_at
    )
}

/// The graph as a Mermaid flowchart (`flowchart LR`). Node ids are
/// generated (`n0`, `n1`…) so that any organisation id is safe; each edge
/// is labelled with its kind, date and seq and coloured by kind through a
/// `linkStyle` line; tentative edges are dotted. A comment block gives the
/// period and the legend.
pub fn render_mermaid(g: &ChangeGraph) -> String {
    let mut out = String::from("flowchart LR\n");
    let _ = writeln!(out, "  %% {}", period_text(g));
    for m in g.modes() {
        let _ = writeln!(out, "  %% {} {}", m.as_str(), mode_colour(m));
    }
    let index: BTreeMap<&str, usize> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    for (i, n) in g.nodes.iter().enumerate() {
        let label = format!("{} ({})", n.name, n.id);
        let span = span_text(n);
        if span.is_empty() {
            let _ = writeln!(out, "  n{i}[\"{}\"]", mermaid_escape(&label));
        } else {
            let _ = writeln!(
                out,
                "  n{i}[\"{}<br/>{}\"]",
                mermaid_escape(&label),
                mermaid_escape(&span)
            );
        }
    }
    let mut styles = String::new();
    let mut k = 0usize;
    for e in &g.edges {
        let (Some(a), Some(b)) = (index.get(e.from.as_str()), index.get(e.to.as_str())) else {
            continue;
        };
        let label = format!("{} {} (seq {})", e.mode.as_str(), e.date, e.seq);
        let arrow = if e.tentative { "-.->" } else { "-->" };
        let _ = writeln!(out, "  n{a} {arrow}|\"{}\"| n{b}", mermaid_escape(&label));
        let _ = writeln!(
            styles,
            "  linkStyle {k} stroke:{},stroke-width:2px;",
            mode_colour(e.mode)
        );
        k += 1;
    }
    out.push_str(&styles);
    out
}

/// The graph as a Graphviz digraph (`rankdir=LR`): quoted ids and labels,
/// one edge per predecessor → successor pair coloured by kind (dashed when
/// tentative), and a legend cluster listing the kinds present.
pub fn render_dot(g: &ChangeGraph) -> String {
    let mut out = String::from("digraph changes {\n  rankdir=LR;\n");
    let _ = writeln!(out, "  label=\"{}\";", dot_escape(&period_text(g)));
    out.push_str("  labelloc=t;\n  node [shape=box];\n");
    for n in &g.nodes {
        let span = span_text(n);
        let label = if span.is_empty() {
            format!("{}\n{}", n.name, n.id)
        } else {
            format!("{}\n{}\n{}", n.name, n.id, span)
        };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\"];",
            dot_escape(&n.id),
            dot_escape(&label)
        );
    }
    for e in &g.edges {
        let colour = mode_colour(e.mode);
        let style = if e.tentative { ", style=dashed" } else { "" };
        let label = format!("{} {}\nseq {}", e.mode.as_str(), e.date, e.seq);
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\", color=\"{colour}\", fontcolor=\"{colour}\", penwidth=2{style}];",
            dot_escape(&e.from),
            dot_escape(&e.to),
            dot_escape(&label)
        );
    }
    let modes = g.modes();
    if !modes.is_empty() {
        out.push_str("  subgraph cluster_legend {\n    label=\"change kinds\";\n    node [shape=plaintext];\n");
        // Legend node ids start with `_`, which no organisation's id can
        // (see `event::check_id`): a node named twice is one node in DOT.
        for m in modes {
            let _ = writeln!(
                out,
                "    \"_legend_{0}\" [label=\"{0}\", fontcolor=\"{1}\"];",
                m.as_str(),
                mode_colour(m)
            );
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Entry;
    use serde_json::json;

    use crate::testing::entries;

    fn src() -> serde_json::Value {
        json!([{"doc": "a.txt", "quote": "q"}])
    }

    fn landscape() -> Vec<Entry> {
        entries(&[
            json!({"type": "created", "date": "2008", "id": "edit", "name": "Edit", "kind": "cluster", "sources": src()}),
            json!({"type": "created", "date": "2000", "id": "grilog", "name": "GRILOG \"G\"", "kind": "cluster", "sources": src()}),
            json!({"type": "transformed", "mode": "fusion", "date": "2015-05~", "from": ["edit", "grilog"], "to": ["clustr"],
                   "new": [{"id": "clustr", "name": "Clust'R", "kind": "cluster"}], "sources": src()}),
            json!({"type": "created", "date": "2012", "id": "numelink", "name": "Numélink", "kind": "cluster", "sources": src()}),
            json!({"type": "transformed", "mode": "absorption", "date": "2017-03-28", "from": ["clustr"], "to": ["numelink"],
                   "sources": src()}),
        ])
    }

    #[test]
    fn a_period_keeps_the_changes_that_overlap_it_and_marks_straddlers() {
        // Given a fusion in May 2015 (approximate) and an absorption in 2017
        let e = landscape();
        let k = Knowledge::new(&e, u64::MAX);
        // When the period is 2015 only
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("day");
        let g = changes(&k, Some(day("2015-01-01")), Some(day("2015-12-31")));
        // Then only the fusion is in, tentative because of its `~`
        assert_eq!(g.changes.len(), 1);
        assert_eq!(g.edges.len(), 2);
        assert!(
            g.edges
                .iter()
                .all(|e| e.tentative && e.mode == ChangeMode::Fusion)
        );
        let ids: Vec<&str> = g.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["clustr", "edit", "grilog"]);
        // When the period starts inside 2017-03 only the absorption is in,
        // certain because its day lies inside the period
        let g = changes(&k, Some(day("2017-03-01")), None);
        assert_eq!(g.changes.len(), 1);
        assert_eq!(g.changes[0].mode, ChangeMode::Absorption);
        assert!(!g.changes[0].tentative);
    }

    #[test]
    fn mermaid_colours_each_edge_and_escapes_labels() {
        let e = landscape();
        let k = Knowledge::new(&e, u64::MAX);
        let m = render_mermaid(&changes(&k, None, None));
        assert!(m.starts_with("flowchart LR\n"), "{m}");
        assert!(m.contains("GRILOG #quot;G#quot; (grilog)"), "{m}");
        assert!(!m.contains("\"G\""), "{m}");
        assert!(m.contains("linkStyle 0 stroke:#0072b2"), "{m}");
        assert!(m.contains("linkStyle 2 stroke:#e69f00"), "{m}");
        assert!(m.contains("-.->|\"fusion 2015-05~ (seq 3)\"|"), "{m}");
        assert_eq!(m.matches("linkStyle").count(), 3);
    }

    #[test]
    fn dot_colours_edges_dashes_tentative_ones_and_has_a_legend() {
        let e = landscape();
        let k = Knowledge::new(&e, u64::MAX);
        let d = render_dot(&changes(&k, None, None));
        assert!(
            d.contains("\"edit\" -> \"clustr\" [label=\"fusion 2015-05~\\nseq 3\", color=\"#0072b2\", fontcolor=\"#0072b2\", penwidth=2, style=dashed];"),
            "{d}"
        );
        assert!(d.contains("\"clustr\" -> \"numelink\""), "{d}");
        assert!(
            d.contains("label=\"GRILOG \\\"G\\\"\\ngrilog\\n2000 – 2015-05~\""),
            "{d}"
        );
        assert!(d.contains("\"_legend_absorption\""), "{d}");
        assert!(!d.contains("\"_legend_split\""), "{d}");
        assert!(d.ends_with("}\n"));
    }

    #[test]
    fn no_organisation_shares_a_node_with_the_legend() {
        // Given an organisation whose id is what a legend node was named
        // (`_legend_fusion`, the name now, is no identifier)
        let e = entries(&[
            json!({"type": "created", "date": "2000", "id": "legend:fusion", "name": "Real", "kind": "k", "sources": src()}),
            json!({"type": "created", "date": "2000", "id": "b", "name": "B", "kind": "k", "sources": src()}),
            json!({"type": "transformed", "mode": "fusion", "date": "2001", "from": ["legend:fusion", "b"], "to": ["n"],
                   "new": [{"id": "n", "name": "N", "kind": "k"}], "sources": src()}),
        ]);
        let k = Knowledge::new(&e, u64::MAX);
        // When the graph is drawn for Graphviz
        let d = render_dot(&changes(&k, None, None));
        // Then the organisation's node is its own, apart from the legend's
        let legend = d.find("subgraph cluster_legend").expect("legend");
        let named = |id: &str| {
            d.match_indices(&format!("\"{id}\" ["))
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        };
        assert_eq!(named("legend:fusion").len(), 1, "{d}");
        assert!(named("legend:fusion")[0] < legend, "{d}");
        assert_eq!(named("_legend_fusion").len(), 1, "{d}");
        assert!(named("_legend_fusion")[0] > legend, "{d}");
    }

    #[test]
    fn an_empty_ledger_gives_an_empty_but_valid_graph() {
        let k = Knowledge::new(&[], 0);
        let g = changes(&k, None, None);
        assert!(g.nodes.is_empty() && g.edges.is_empty());
        assert_eq!(
            render_dot(&g),
            "digraph changes {\n  rankdir=LR;\n  label=\"changes from the beginning to the end, known at seq 0\";\n  labelloc=t;\n  node [shape=box];\n}\n"
        );
    }
}
