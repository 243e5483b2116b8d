//! Lineage: where an organisation came from and what it became, through
//! every `transformed` change (fusion, absorption, split, spin-off,
//! re-establishment, id change), as known at a ledger position and
//! optionally only up to an as-of day.
//!
//! The lineage is read from the folded [`State`]: each organisation's
//! predecessor and successor links carry the change's mode, date and seq.
//! Links that share a seq are one change; its full `from` and `to` lists are
//! rebuilt from the links of the organisations involved.
//!
//! **Traversal follows time.** From the organisation asked about, every
//! change it took part in counts. Further up, a predecessor's own ancestors
//! are only the changes *before* the one that led from it (in timeline
//! order: date, then seq); further down, a successor's descendants are only
//! the changes *after* the one that led to it. So an organisation that
//! absorbs another, and later sees it re-established, does not list what it
//! absorbed afterwards among that organisation's ancestors. Each
//! organisation is expanded once, at its first appearance; later
//! appearances are marked `(see above)` in the text tree.
//!
//! Renderers: [`render_text`] (a tree), [`render_json`], [`render_mermaid`]
//! and [`render_dot`].

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::Serialize;

use crate::date::Date;
use crate::event::{Body, ChangeMode, Event};
use crate::fold::{Knowledge, Link, Org, Stamp, State};
use crate::view::KnownAt;

/// Why a lineage cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineageError {
    /// No organisation has this id at that state of knowledge.
    #[error("no organisation `{id}` is known at seq {known_at}{}", hint_suffix(.suggestions))]
    UnknownOrg {
        /// The id asked for.
        id: String,
        /// The knowledge position.
        known_at: u64,
        /// The closest known ids (by prefix, then edit distance).
        suggestions: Vec<String>,
    },
    /// The id is a program's, not an organisation's.
    #[error("`{id}` is a program, not an organisation; lineage follows organisations (its owner is `{owner}`)")]
    Program {
        /// The id asked for.
        id: String,
        /// The organisation that runs it.
        owner: String,
    },
    /// The organisation is known, but comes into being after the as-of day.
    #[error("organisation `{id}` does not exist yet on {as_of}: it comes into being on {since} (seq {seq}); use a later --as-of, or none")]
    NotYet {
        /// The id asked for.
        id: String,
        /// The as-of day.
        as_of: NaiveDate,
        /// Its date of creation.
        since: Date,
        /// The creating event's seq.
        seq: u64,
    },
}

fn hint_suffix(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        "; see `fusion replay --all` for the ids".to_owned()
    } else {
        let list: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
        format!(" (hint: did you mean {}?)", list.join(", "))
    }
}

/// One organisation in a lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Identifier.
    pub id: String,
    /// Its name (the latest known by the as-of day).
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Start of its current period of existence, as written.
    pub since: String,
    /// When it ended, if it has.
    pub until: Option<String>,
    /// How it ended: `dissolved` or the change mode.
    pub ended_how: Option<&'static str>,
    /// Earlier periods of existence, for a re-established organisation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub earlier_periods: Vec<PeriodOut>,
}

/// An earlier period of existence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodOut {
    /// Start, as written.
    pub since: String,
    /// End, as written.
    pub until: String,
    /// How it ended.
    pub how: &'static str,
}

/// One `transformed` change in a lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Seq of the event (the correction's seq for a replacement).
    pub seq: u64,
    /// The change mode.
    pub mode: ChangeMode,
    /// Its date, as written.
    pub date: Date,
    /// Predecessors.
    pub from: Vec<String>,
    /// Successors.
    pub to: Vec<String>,
}

/// An ancestor or descendant reached by the traversal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reached {
    /// The organisation.
    pub id: String,
    /// 1 for a direct predecessor or successor, 2 for the next level…
    pub depth: usize,
    /// Seq of the change through which it was first reached.
    pub via: u64,
}

/// The lineage of one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lineage {
    /// The organisation asked about.
    pub org: String,
    /// The last day considered, `YYYY-MM-DD`; `null` for no limit.
    pub as_of: Option<String>,
    /// The state of knowledge.
    pub known_at: KnownAt,
    /// Every organisation taking part in a change shown, by id.
    pub organisations: Vec<Node>,
    /// Every change shown, in timeline order (date, then seq).
    pub changes: Vec<Change>,
    /// Ancestors in the order the tree shows them (each once).
    pub ancestors: Vec<Reached>,
    /// Descendants in the order the tree shows them (each once).
    pub descendants: Vec<Reached>,
    #[serde(skip)]
    tree: Vec<TreeNode>,
}

/// Which way a change in the tree points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Up,
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// An organisation; `repeat` when expanded elsewhere.
    Org { id: String, repeat: bool },
    /// A change, by index into `changes`.
    Change { index: usize, dir: Dir },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TreeNode {
    item: Item,
    children: Vec<usize>,
}

/// The lineage of `org` as known by `knowledge`, up to the day `as_of` (no
/// limit when `None`); `hash` is the hash of the record at
/// `knowledge.position`.
pub fn lineage(
    knowledge: &Knowledge<'_>,
    hash: &str,
    org: &str,
    as_of: Option<NaiveDate>,
) -> Result<Lineage, LineageError> {
    let state = knowledge.fold_until(as_of.unwrap_or(NaiveDate::MAX));
    let known_at = KnownAt {
        seq: knowledge.position,
        hash: hash.to_owned(),
    };
    if !state.orgs.contains_key(org)
        && let Some(day) = as_of
        && let Some((since, seq)) = first_creation(knowledge, org)
    {
        return Err(LineageError::NotYet {
            id: org.to_owned(),
            as_of: day,
            since: since.clone(),
            seq,
        });
    }
    trace(&state, org, known_at, as_of)
}

/// When the knowledge brings `id` into being, if ever.
fn first_creation<'a>(knowledge: &Knowledge<'a>, id: &str) -> Option<(&'a Date, u64)> {
    knowledge
        .timeline
        .iter()
        .find(|e| creates(e.event, id))
        .map(|e| (&e.event.date, e.seq))
}

fn creates(event: &Event, id: &str) -> bool {
    match &event.body {
        Body::Created { org } => org.id == id,
        Body::Transformed {
            mode: ChangeMode::IdChange,
            to,
            ..
        } => to.iter().any(|t| t == id),
        Body::Transformed { new, .. } => new.iter().any(|n| n.id == id),
        _ => false,
    }
}

/// The lineage of `org` in an already folded state.
pub fn trace(
    state: &State,
    org: &str,
    known_at: KnownAt,
    as_of: Option<NaiveDate>,
) -> Result<Lineage, LineageError> {
    if !state.orgs.contains_key(org) {
        if let Some(p) = state.programs.get(org) {
            return Err(LineageError::Program {
                id: org.to_owned(),
                owner: p.owner.clone(),
            });
        }
        return Err(LineageError::UnknownOrg {
            id: org.to_owned(),
            known_at: known_at.seq,
            suggestions: closest_ids(state.orgs.keys().map(String::as_str), org, 3),
        });
    }
    let mut b = Builder {
        state,
        changes: Vec::new(),
        change_index: BTreeMap::new(),
        tree: Vec::new(),
    };
    // The root, then its upward and downward subtrees, depth first with an
    // explicit stack (lineages can be very deep).
    let root = b.push(Item::Org {
        id: org.to_owned(),
        repeat: false,
    });
    let mut ancestors = Vec::new();
    let mut descendants = Vec::new();
    for dir in [Dir::Up, Dir::Down] {
        let reached = if dir == Dir::Up {
            &mut ancestors
        } else {
            &mut descendants
        };
        let mut seen: HashSet<String> = HashSet::from([org.to_owned()]);
        // (tree node of an organisation, its id, the bound, depth)
        let mut stack: Vec<(usize, String, Option<Stamp>, usize)> =
            vec![(root, org.to_owned(), None, 0)];
        while let Some((node, id, bound, depth)) = stack.pop() {
            let Some(o) = state.orgs.get(&id) else {
                continue;
            };
            let groups = groups(o, dir, bound.as_ref());
            let mut pending = Vec::new();
            for (seq, stamp) in groups {
                let index = b.change(seq, &stamp, o, dir);
                let cnode = b.push(Item::Change { index, dir });
                b.tree[node].children.push(cnode);
                let others = match (b.changes.get(index), dir) {
                    (Some(c), Dir::Up) => c.from.clone(),
                    (Some(c), Dir::Down) => c.to.clone(),
                    (None, _) => Vec::new(),
                };
                for other in others {
                    if other == id {
                        continue;
                    }
                    let repeat = !seen.insert(other.clone());
                    let onode = b.push(Item::Org {
                        id: other.clone(),
                        repeat,
                    });
                    b.tree[cnode].children.push(onode);
                    if !repeat {
                        reached.push(Reached {
                            id: other.clone(),
                            depth: depth + 1,
                            via: seq,
                        });
                        pending.push((onode, other, Some(stamp.clone()), depth + 1));
                    }
                }
            }
            // Reverse so that the first child is expanded first.
            stack.extend(pending.into_iter().rev());
        }
    }
    let mut ids: Vec<&str> = vec![org];
    for c in &b.changes {
        ids.extend(c.from.iter().map(String::as_str));
        ids.extend(c.to.iter().map(String::as_str));
    }
    ids.sort_unstable();
    ids.dedup();
    let organisations = ids
        .into_iter()
        .filter_map(|id| state.orgs.get(id))
        .map(node_of)
        .collect();
    let Builder {
        mut changes, tree, ..
    } = b;
    // Changes in timeline order; the tree refers to them by index, so
    // remap.
    let mut order: Vec<usize> = (0..changes.len()).collect();
    order.sort_by(|&x, &y| change_cmp(&changes[x], &changes[y]));
    let mut new_index = vec![0; changes.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let mut sorted: Vec<Option<Change>> = changes.drain(..).map(Some).collect();
    let changes: Vec<Change> = order.iter().filter_map(|&i| sorted[i].take()).collect();
    let tree = tree
        .into_iter()
        .map(|mut n| {
            if let Item::Change { index, .. } = &mut n.item {
                *index = new_index.get(*index).copied().unwrap_or(0);
            }
            n
        })
        .collect();
    Ok(Lineage {
        org: org.to_owned(),
        as_of: as_of.map(|d| d.format("%Y-%m-%d").to_string()),
        known_at,
        organisations,
        changes,
        ancestors,
        descendants,
        tree,
    })
}

fn change_cmp(a: &Change, b: &Change) -> Ordering {
    a.date.timeline_cmp(&b.date).then(a.seq.cmp(&b.seq))
}

fn stamp_cmp(a: &Stamp, b: &Stamp) -> Ordering {
    a.date.timeline_cmp(&b.date).then(a.seq.cmp(&b.seq))
}

/// The changes of `o` in direction `dir` (its predecessors' changes going
/// up, its successors' going down), one per seq, in link order, within the
/// time bound.
fn groups(o: &Org, dir: Dir, bound: Option<&Stamp>) -> Vec<(u64, Stamp)> {
    let links: &[Link] = match dir {
        Dir::Up => &o.predecessors,
        Dir::Down => &o.successors,
    };
    let mut out: Vec<(u64, Stamp)> = Vec::new();
    for l in links {
        let inside = match (bound, dir) {
            (None, _) => true,
            (Some(b), Dir::Up) => stamp_cmp(&l.at, b) == Ordering::Less,
            (Some(b), Dir::Down) => stamp_cmp(&l.at, b) == Ordering::Greater,
        };
        if inside && !out.iter().any(|(s, _)| *s == l.at.seq) {
            out.push((l.at.seq, l.at.clone()));
        }
    }
    out.sort_by(|a, b| stamp_cmp(&a.1, &b.1));
    out
}

struct Builder<'s> {
    state: &'s State,
    changes: Vec<Change>,
    change_index: BTreeMap<u64, usize>,
    tree: Vec<TreeNode>,
}

impl Builder<'_> {
    fn push(&mut self, item: Item) -> usize {
        self.tree.push(TreeNode {
            item,
            children: Vec::new(),
        });
        self.tree.len() - 1
    }

    /// The change with this seq, rebuilt from the links of `o` and of the
    /// organisations on the other side, each list in event order.
    fn change(&mut self, seq: u64, stamp: &Stamp, o: &Org, dir: Dir) -> usize {
        if let Some(&i) = self.change_index.get(&seq) {
            return i;
        }
        let near = match dir {
            Dir::Up => &o.predecessors,
            Dir::Down => &o.successors,
        };
        let mode = near
            .iter()
            .find(|l| l.at.seq == seq)
            .map_or(ChangeMode::Fusion, |l| l.mode);
        // Going up, `o` is a successor and its links name the predecessors;
        // the first predecessor's successor links name every successor.
        let mut theirs: Vec<String> = Vec::new();
        for l in near.iter().filter(|l| l.at.seq == seq) {
            push_unique(&mut theirs, &l.id);
        }
        let mut mine: Vec<String> = Vec::new();
        for other in &theirs {
            if let Some(x) = self.state.orgs.get(other) {
                let back = match dir {
                    Dir::Up => &x.successors,
                    Dir::Down => &x.predecessors,
                };
                for l in back.iter().filter(|l| l.at.seq == seq) {
                    push_unique(&mut mine, &l.id);
                }
            }
        }
        push_unique(&mut mine, &o.id);
        let (from, to) = match dir {
            Dir::Up => (theirs, mine),
            Dir::Down => (mine, theirs),
        };
        self.changes.push(Change {
            seq,
            mode,
            date: stamp.date.clone(),
            from,
            to,
        });
        let i = self.changes.len() - 1;
        self.change_index.insert(seq, i);
        i
    }
}

fn push_unique(v: &mut Vec<String>, id: &str) {
    if !v.iter().any(|x| x == id) {
        v.push(id.to_owned());
    }
}

fn node_of(o: &Org) -> Node {
    Node {
        id: o.id.clone(),
        name: o.name.clone(),
        kind: o.kind.clone(),
        since: o.since.date.to_string(),
        until: o.ended.as_ref().map(|e| e.at.date.to_string()),
        ended_how: o.ended.as_ref().map(|e| e.how.as_str()),
        earlier_periods: o
            .periods
            .iter()
            .map(|p| PeriodOut {
                since: p.since.date.to_string(),
                until: p.ended.at.date.to_string(),
                how: p.ended.how.as_str(),
            })
            .collect(),
    }
}

impl Lineage {
    /// The node of an organisation shown.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.organisations
            .binary_search_by(|n| n.id.as_str().cmp(id))
            .ok()
            .and_then(|i| self.organisations.get(i))
    }
}

// ---------------------------------------------------------------------------
// Renderers
// ---------------------------------------------------------------------------

/// `id (Name) since DATE`, or `id (Name) SINCE – UNTIL` once ended.
fn node_line(l: &Lineage, id: &str) -> String {
    match l.node(id) {
        Some(n) => {
            let span = match &n.until {
                None => format!("since {}", n.since),
                Some(u) => format!("{} – {}", n.since, u),
            };
            let earlier = if n.earlier_periods.is_empty() {
                String::new()
            } else {
                let p: Vec<String> = n
                    .earlier_periods
                    .iter()
                    .map(|p| format!("{} – {} ({})", p.since, p.until, p.how))
                    .collect();
                format!("; earlier {}", p.join(", "))
            };
            format!("{} ({}) {span}{earlier}", n.id, one_line(&n.name))
        }
        None => id.to_owned(),
    }
}

/// Names may hold control characters; a line of the tree must stay one
/// line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn change_line(c: &Change, from_org: &str, dir: Dir) -> String {
    let head = format!("{} {} [seq {}]", c.mode.as_str(), c.date, c.seq);
    let others = |v: &[String]| -> Vec<String> {
        v.iter().filter(|x| *x != from_org).cloned().collect()
    };
    match dir {
        Dir::Up => {
            let also = others(&c.to);
            let mut s = format!("{head} ← {}", c.from.join(", "));
            if !also.is_empty() {
                let _ = write!(s, " (also → {})", also.join(", "));
            }
            s
        }
        Dir::Down => {
            let with = others(&c.from);
            let mut s = format!("{head} → {}", c.to.join(", "));
            if !with.is_empty() {
                let _ = write!(s, " (with {})", with.join(", "));
            }
            s
        }
    }
}

/// The lineage as a text tree: the organisation, then the changes it came
/// from (`←`, ancestors, above) and the changes it went into (`→`,
/// descendants, below), each with its date and seq.
pub fn render_text(l: &Lineage) -> String {
    let mut out = String::new();
    let Some(root) = l.tree.first() else {
        return out;
    };
    let mut header = node_line(l, &l.org);
    let _ = write!(header, "  [known at seq {}", l.known_at.seq);
    if let Some(d) = &l.as_of {
        let _ = write!(header, ", as of {d}");
    }
    header.push(']');
    out.push_str(&header);
    out.push('\n');
    if root.children.is_empty() {
        out.push_str("(no predecessors or successors known)\n");
        return out;
    }
    // (node, prefix for its children, is last, org id of the parent)
    let mut stack: Vec<(usize, String, bool, String)> = root
        .children
        .iter()
        .enumerate()
        .rev()
        .map(|(i, &c)| (c, String::new(), i + 1 == root.children.len(), l.org.clone()))
        .collect();
    while let Some((n, prefix, last, parent_org)) = stack.pop() {
        let Some(node) = l.tree.get(n) else {
            continue;
        };
        let branch = if last { "└─ " } else { "├─ " };
        let (text, org_here) = match &node.item {
            Item::Org { id, repeat } => {
                let mut t = node_line(l, id);
                if *repeat {
                    t.push_str(" (see above)");
                }
                (t, id.clone())
            }
            Item::Change { index, dir } => match l.changes.get(*index) {
                Some(c) => (change_line(c, &parent_org, *dir), parent_org.clone()),
                None => (String::new(), parent_org.clone()),
            },
        };
        let _ = writeln!(out, "{prefix}{branch}{text}");
        let child_prefix = format!("{prefix}{}", if last { "   " } else { "│  " });
        let k = node.children.len();
        for (i, &c) in node.children.iter().enumerate().rev() {
            stack.push((c, child_prefix.clone(), i + 1 == k, org_here.clone()));
        }
    }
    out
}

/// The lineage as pretty JSON (see the README for the shape), with a final
/// newline.
pub fn render_json(l: &Lineage) -> String {
    // Serialising plain data with string keys cannot fail.
    let mut s = serde_json::to_string_pretty(l).unwrap_or_default();
    s.push('\n');
    s
}

/// Text for a Mermaid quoted label: `"`, `#`, `<`, `>` and `&` become
/// Mermaid entity codes, control characters spaces.
pub fn mermaid_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '|' => out.push_str("#124;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for a Graphviz quoted string: `"` and `\` are escaped, line breaks
/// become `\n`, other control characters spaces.
pub fn dot_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn graph_label(n: &Node) -> (String, String) {
    let span = match &n.until {
        None => format!("since {}", n.since),
        Some(u) => format!("{} – {}", n.since, u),
    };
    (format!("{} ({})", n.name, n.id), span)
}

/// The lineage as a Mermaid flowchart (`flowchart LR`): one node per
/// organisation, labelled with its name, id and dates; one edge per
/// predecessor → successor pair, labelled with the mode and date. Node ids
/// are generated (`n0`, `n1`…) so that any organisation id is safe.
pub fn render_mermaid(l: &Lineage) -> String {
    let mut out = String::from("flowchart LR\n");
    let ids: BTreeMap<&str, usize> = l
        .organisations
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    for (i, n) in l.organisations.iter().enumerate() {
        let (name, span) = graph_label(n);
        let _ = writeln!(
            out,
            "  n{i}[\"{}<br/>{}\"]",
            mermaid_escape(&name),
            mermaid_escape(&span)
        );
    }
    for c in &l.changes {
        for f in &c.from {
            for t in &c.to {
                if let (Some(a), Some(b)) = (ids.get(f.as_str()), ids.get(t.as_str())) {
                    let label = format!("{} {} (seq {})", c.mode.as_str(), c.date, c.seq);
                    let _ = writeln!(out, "  n{a} -->|\"{}\"| n{b}", mermaid_escape(&label));
                }
            }
        }
    }
    if let Some(i) = ids.get(l.org.as_str()) {
        out.push_str("  classDef focus stroke-width:3px;\n");
        let _ = writeln!(out, "  class n{i} focus;");
    }
    out
}

/// The lineage as a Graphviz digraph: quoted ids and labels, one edge per
/// predecessor → successor pair, the organisation asked about in bold.
pub fn render_dot(l: &Lineage) -> String {
    let mut out = String::from("digraph lineage {\n  rankdir=LR;\n  node [shape=box];\n");
    for n in &l.organisations {
        let (name, span) = graph_label(n);
        let focus = if n.id == l.org { ", penwidth=3" } else { "" };
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{}\"{focus}];",
            dot_escape(&n.id),
            dot_escape(&name),
            dot_escape(&span)
        );
    }
    for c in &l.changes {
        for f in &c.from {
            for t in &c.to {
                let label = format!("{} {}\nseq {}", c.mode.as_str(), c.date, c.seq);
                let _ = writeln!(
                    out,
                    "  \"{}\" -> \"{}\" [label=\"{}\"];",
                    dot_escape(f),
                    dot_escape(t),
                    dot_escape(&label)
                );
            }
        }
    }
    out.push_str("}\n");
    out
}

// ---------------------------------------------------------------------------
// Suggestions
// ---------------------------------------------------------------------------

/// Up to `n` ids close to `wanted`: those it is a prefix of (or that are a
/// prefix of it) first, then by edit distance (at most a third of the
/// length, and at least 2).
pub fn closest_ids<'a>(ids: impl Iterator<Item = &'a str>, wanted: &str, n: usize) -> Vec<String> {
    let limit = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, usize, &str)> = Vec::new();
    for id in ids {
        if id.starts_with(wanted) || wanted.starts_with(id) {
            scored.push((0, id.len().abs_diff(wanted.len()), id));
            continue;
        }
        if id.len().abs_diff(wanted.len()) > limit {
            continue;
        }
        if let Some(d) = edit_distance(id, wanted, limit) {
            scored.push((1, d, id));
        }
    }
    scored.sort_unstable();
    scored.into_iter().take(n).map(|(_, _, id)| id.to_owned()).collect()
}

/// Levenshtein distance over chars, or `None` if it exceeds `limit`.
fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().filter(|d| *d <= limit)
}
