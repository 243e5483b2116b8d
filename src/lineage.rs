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
//! organisation is expanded once, at its first appearance (nearest the
//! root); other appearances are marked `(see above)` in the text tree, or
//! `(see below)` when the text, drawn depth first, reaches its expansion
//! only later.
//!
//! Renderers: [`render_text`] (a tree), [`render_json`], [`render_mermaid`]
//! and [`render_dot`].

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::Serialize;

use crate::date::Date;
use crate::event::{Body, ChangeMode, Event};
use crate::fold::{Knowledge, Link, Org, Plan, PlanStatus, Stamp, State};
use crate::view::{KnownAt, one_line};

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
    #[error(
        "`{id}` is a program, not an organisation; lineage follows organisations (its owner is `{owner}`)"
    )]
    Program {
        /// The id asked for.
        id: String,
        /// The organisation that runs it.
        owner: String,
    },
    /// The id is only named by a plan, which never counts as having
    /// happened.
    #[error(
        "`{id}` is only named by a plan (seq {plan}, for {planned_date}): {status}; a plan never counts as having happened, so it has no lineage"
    )]
    OnlyPlanned {
        /// The id asked for.
        id: String,
        /// Seq of the plan that names it.
        plan: u64,
        /// When it was to happen.
        planned_date: Date,
        /// What became of the plan: `pending`, `overdue` (with an as-of
        /// day), `not carried out`, `fulfilled by seq N…`, `abandoned by seq N`, `retracted by
        /// seq N`, `superseded by seq N`.
        status: String,
    },
    /// The organisation is known, but comes into being after the as-of day.
    #[error(
        "organisation `{id}` does not exist yet on {as_of}: it comes into being on {since} (seq {seq}); use a later --as-of, or none"
    )]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    lineage_in(knowledge, &state, known_at, org, as_of)
}

/// [`lineage`] in the state `knowledge` folds up to `as_of`, without the
/// one check that reads the timeline: whether an id the state does not
/// have comes into being after `as_of` ([`LineageError::NotYet`]). So it
/// gives what [`lineage`] gives when `org` is an organisation of `state`
/// or when `as_of` is `None`. The plans it reads are the knowledge's.
pub fn lineage_in(
    knowledge: &Knowledge<'_>,
    state: &State,
    known_at: KnownAt,
    org: &str,
    as_of: Option<NaiveDate>,
) -> Result<Lineage, LineageError> {
    // The plan that brings it in, else one that names it; a plan still
    // standing (a revised plan, say) before one a correction removed.
    let naming = |standing: bool| {
        let plans = || {
            knowledge
                .plans
                .iter()
                .filter(move |p| !standing || p.corrected.is_none())
        };
        plans()
            .find(|p| creates(p.planned, org))
            .or_else(|| plans().find(|p| p.planned.mentioned_ids().contains(&org)))
    };
    if !state.orgs.contains_key(org)
        && !state.programs.contains_key(org)
        && let Some(p) = naming(true).or_else(|| naming(false))
    {
        return Err(LineageError::OnlyPlanned {
            id: org.to_owned(),
            plan: p.seq,
            planned_date: p.planned.date.clone(),
            status: plan_fate(p, as_of),
        });
    }
    trace(state, org, known_at, as_of)
}

/// What became of a plan, in words.
fn plan_fate(p: &Plan<'_>, as_of: Option<NaiveDate>) -> String {
    let day = as_of.unwrap_or(NaiveDate::MAX);
    let status = p.status_on(day);
    match (status, p.corrected) {
        (PlanStatus::Retracted | PlanStatus::Superseded, Some(c)) => {
            format!("{} by seq {}", status.as_str(), c.seq)
        }
        (PlanStatus::Fulfilled, _) => match p.fulfilled_on(day) {
            Some(f) => format!(
                "fulfilled by seq {}, which brought other ids into being",
                f.seq
            ),
            None => "fulfilled".to_owned(),
        },
        (PlanStatus::Abandoned, _) => match p.abandoned_on(day) {
            Some(f) => format!("abandoned by seq {}", f.seq),
            None => "abandoned".to_owned(),
        },
        (PlanStatus::Overdue, _) if as_of.is_none() => "not carried out".to_owned(),
        (s, _) => s.as_str().to_owned(),
    }
}

/// When the knowledge brings `id` into being, if ever.
fn first_creation<'a>(knowledge: &Knowledge<'a>, id: &str) -> Option<(&'a Date, u64)> {
    knowledge
        .timeline
        .iter()
        .find(|e| creates(e.event, id))
        .map(|e| (&e.event.date, e.seq))
}

pub(crate) fn creates(event: &Event, id: &str) -> bool {
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
                owner: p.owner.to_string(),
            });
        }
        return Err(LineageError::UnknownOrg {
            id: org.to_owned(),
            known_at: known_at.seq,
            suggestions: closest_ids(state.orgs.keys().map(|k| k.as_str()), org, 3),
        });
    }
    let mut b = Builder {
        state,
        changes: Vec::new(),
        change_index: BTreeMap::new(),
        back: HashMap::new(),
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
            let Some(o) = state.orgs.get(id.as_str()) else {
                continue;
            };
            let groups = groups(o, dir, bound.as_ref());
            let mut pending = Vec::new();
            for g in groups {
                let (seq, stamp) = (g.stamp.seq, g.stamp.clone());
                let index = b.change(&g, o, dir);
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
fn groups(o: &Org, dir: Dir, bound: Option<&Stamp>) -> Vec<Group> {
    let links: &[Link] = match dir {
        Dir::Up => &o.predecessors,
        Dir::Down => &o.successors,
    };
    let mut out: Vec<Group> = Vec::new();
    let mut index: HashMap<u64, usize> = HashMap::new();
    for l in links {
        let inside = match (bound, dir) {
            (None, _) => true,
            (Some(b), Dir::Up) => stamp_cmp(&l.at, b) == Ordering::Less,
            (Some(b), Dir::Down) => stamp_cmp(&l.at, b) == Ordering::Greater,
        };
        if !inside {
            continue;
        }
        let i = *index.entry(l.at.seq).or_insert_with(|| {
            out.push(Group {
                stamp: l.at.clone(),
                mode: l.mode,
                others: Vec::new(),
            });
            out.len() - 1
        });
        if let Some(g) = out.get_mut(i) {
            push_unique(&mut g.others, &l.id);
        }
    }
    out.sort_by(|a, b| stamp_cmp(&a.stamp, &b.stamp));
    out
}

/// The links of one organisation that share a change.
struct Group {
    stamp: Stamp,
    mode: ChangeMode,
    /// The organisations on the other side, in link order.
    others: Vec<String>,
}

struct Builder<'s> {
    state: &'s State,
    changes: Vec<Change>,
    change_index: BTreeMap<u64, usize>,
    /// For an organisation and a direction, the ids its links of that
    /// direction name, by the seq of their change: built once for each,
    /// so that an organisation with thousands of changes is not scanned
    /// again for every one of them.
    back: HashMap<(&'s str, Dir), HashMap<u64, Vec<&'s str>>>,
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

    /// The change of group `g` of `o`, rebuilt from the links of `o` and of
    /// the organisations on the other side, each list in event order.
    fn change(&mut self, g: &Group, o: &Org, dir: Dir) -> usize {
        let seq = g.stamp.seq;
        if let Some(&i) = self.change_index.get(&seq) {
            return i;
        }
        // Going up, `o` is a successor and its links name the predecessors;
        // their successor links name every successor.
        let theirs = g.others.clone();
        let mut mine: Vec<String> = Vec::new();
        let state = self.state;
        for other in &theirs {
            if let Some(x) = state.orgs.get(other.as_str()) {
                let by_seq = self.back.entry((x.id.as_str(), dir)).or_insert_with(|| {
                    let links = match dir {
                        Dir::Up => &x.successors,
                        Dir::Down => &x.predecessors,
                    };
                    let mut by_seq: HashMap<u64, Vec<&str>> = HashMap::new();
                    for l in links.iter() {
                        by_seq.entry(l.at.seq).or_default().push(l.id.as_str());
                    }
                    by_seq
                });
                for id in by_seq.get(&seq).into_iter().flatten() {
                    push_unique(&mut mine, id);
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
            mode: g.mode,
            date: g.stamp.date.clone(),
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
        id: o.id.to_string(),
        name: o.name.to_string(),
        kind: o.kind.to_string(),
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

/// `id (Name) since DATE`, or `id (Name) SINCE – UNTIL (HOW)` once ended.
fn node_line(l: &Lineage, id: &str) -> String {
    match l.node(id) {
        Some(n) => {
            let span = match (&n.until, n.ended_how) {
                (None, _) => format!("since {}", n.since),
                (Some(u), Some(how)) => format!("{} – {} ({how})", n.since, u),
                (Some(u), None) => format!("{} – {}", n.since, u),
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

fn change_line(c: &Change, from_org: &str, dir: Dir) -> String {
    let head = format!("{} {} [seq {}]", c.mode.as_str(), c.date, c.seq);
    let others =
        |v: &[String]| -> Vec<String> { v.iter().filter(|x| *x != from_org).cloned().collect() };
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

/// Levels of [`render_text`]'s tree drawn indented. Deeper levels keep the
/// last indentation and say their depth (`[depth 33]`), so that a long
/// chain of changes (an organisation absorbed and re-established a
/// thousand times) draws in a size that grows with the chain, not with
/// its square.
pub const MAX_INDENT: usize = 32;

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
    // (node, prefix for its children, is last, org id of the parent, depth)
    let mut stack: Vec<(usize, String, bool, String, usize)> = root
        .children
        .iter()
        .enumerate()
        .rev()
        .map(|(i, &c)| {
            (
                c,
                String::new(),
                i + 1 == root.children.len(),
                l.org.clone(),
                1,
            )
        })
        .collect();
    // Organisations drawn expanded so far: a repeat points up to one, or
    // down to one drawn later (the tree expands each where it first
    // appears breadth first, nearest the root; the text is depth first).
    let mut drawn: HashSet<&str> = HashSet::from([l.org.as_str()]);
    while let Some((n, prefix, last, parent_org, depth)) = stack.pop() {
        let Some(node) = l.tree.get(n) else {
            continue;
        };
        let branch = if last { "└─ " } else { "├─ " };
        let (text, org_here) = match &node.item {
            // A repeat names the organisation only: its dates and earlier
            // periods, said once above, would make the text grow with the
            // square of a long history.
            Item::Org { id, repeat: true } => {
                let named = match l.node(id) {
                    Some(n) => format!("{id} ({})", one_line(&n.name)),
                    None => id.clone(),
                };
                let whence = if drawn.contains(id.as_str()) {
                    "above"
                } else {
                    "below"
                };
                (format!("{named} (see {whence})"), id.clone())
            }
            Item::Org { id, repeat: false } => {
                drawn.insert(id);
                (node_line(l, id), id.clone())
            }
            Item::Change { index, dir } => match l.changes.get(*index) {
                Some(c) => (change_line(c, &parent_org, *dir), parent_org.clone()),
                None => (String::new(), parent_org.clone()),
            },
        };
        if depth > MAX_INDENT {
            let _ = writeln!(out, "{prefix}{branch}[depth {depth}] {text}");
        } else {
            let _ = writeln!(out, "{prefix}{branch}{text}");
        }
        let child_prefix = if depth < MAX_INDENT {
            format!("{prefix}{}", if last { "   " } else { "│  " })
        } else {
            prefix
        };
        let k = node.children.len();
        for (i, &c) in node.children.iter().enumerate().rev() {
            let next = (
                c,
                child_prefix.clone(),
                i + 1 == k,
                org_here.clone(),
                depth + 1,
            );
            stack.push(next);
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
/// prefix of it), or the last part of (after a namespace such as `insee:`
/// or `siren/`), first; then by edit distance (at most a third of the
/// length, and at least 2).
pub fn closest_ids<'a>(ids: impl Iterator<Item = &'a str>, wanted: &str, n: usize) -> Vec<String> {
    let limit = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, usize, &str)> = Vec::new();
    for id in ids {
        let last = id.rsplit([':', '/']).next().unwrap_or(id);
        if id.starts_with(wanted) || wanted.starts_with(id) || last == wanted {
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
    scored
        .into_iter()
        .take(n)
        .map(|(_, _, id)| id.to_owned())
        .collect()
}

/// Levenshtein distance over chars, or `None` if it exceeds `limit`.
pub(crate) fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Entry;
    use serde_json::{Value, json};

    fn ledger(events: Vec<Value>) -> Vec<Entry> {
        let mut entries: Vec<Entry> = Vec::new();
        for (i, mut v) in events.into_iter().enumerate() {
            v["sources"] = json!([{"doc": "test"}]);
            let event = Event::from_json(&v).unwrap_or_else(|e| panic!("event {}: {e}", i + 1));
            let seq = i as u64 + 1;
            crate::fold::validate(&entries, std::slice::from_ref(&event), seq)
                .unwrap_or_else(|e| panic!("event {seq} invalid: {e}"));
            entries.push(Entry {
                seq,
                hash: format!("{seq:064x}"),
                recorded: "2026-01-01T00:00:00Z".into(),
                event,
            });
        }
        entries
    }

    fn org(id: &str, name: &str, date: &str) -> Value {
        json!({"type": "created", "date": date, "id": id, "name": name, "kind": "cluster"})
    }

    /// a and b fuse into ab (2005), ab splits into c and d (2010), and a is
    /// re-established out of c (2015).
    fn history() -> Vec<Entry> {
        ledger(vec![
            org("a", "Alpha", "2000"),
            org("b", "Beta", "2001"),
            json!({"type": "transformed", "mode": "fusion", "date": "2005-03", "from": ["a", "b"], "to": ["ab"],
                   "new": [{"id": "ab", "name": "Alpha Beta", "kind": "cluster"}]}),
            json!({"type": "transformed", "mode": "split", "date": "2010", "from": ["ab"], "to": ["c", "d"],
                   "new": [{"id": "c", "name": "Gamma", "kind": "cluster"}, {"id": "d", "name": "Delta", "kind": "cluster"}]}),
            json!({"type": "transformed", "mode": "reestablishment", "date": "2015-06-01", "from": ["c"], "to": ["a"]}),
            org("z", "Zeta", "2001"),
        ])
    }

    fn day(s: &str) -> NaiveDate {
        crate::date::as_of_day(s).expect("valid day")
    }

    fn of(entries: &[Entry], id: &str, as_of: Option<&str>) -> Result<Lineage, LineageError> {
        let k = Knowledge::new(entries, u64::MAX);
        lineage(&k, "f00d", id, as_of.map(day))
    }

    /// Given an organisation that spun one off, then merged with it into a
    /// third: the third is expanded under the fusion (nearest the root),
    /// but the text, depth first, meets it under the spin-off first. Then
    /// that first appearance points down, and the tree says everything
    /// once.
    #[test]
    fn a_repeat_drawn_before_its_expansion_points_below() {
        let entries = ledger(vec![
            org("b1", "B1", "1970"),
            json!({"type": "transformed", "mode": "spin_off", "date": "1995", "from": ["b1"], "to": ["b4"],
                   "new": [{"id": "b4", "name": "B4", "kind": "k"}]}),
            json!({"type": "transformed", "mode": "fusion", "date": "2014-01-01", "from": ["b1", "b4"], "to": ["ubx"],
                   "new": [{"id": "ubx", "name": "UBX", "kind": "k"}]}),
        ]);
        let text = render_text(&of(&entries, "b1", None).expect("lineage"));
        let lines: Vec<&str> = text.lines().collect();
        let repeat = lines.iter().position(|l| l.contains("ubx (UBX) (see"));
        let expanded = lines
            .iter()
            .position(|l| l.contains("ubx (UBX) since 2014-01-01"));
        assert!(repeat < expanded, "{text}");
        assert!(
            repeat
                .and_then(|i| lines.get(i))
                .is_some_and(|l| l.ends_with("ubx (UBX) (see below)")),
            "{text}"
        );
        assert!(!text.contains("(see above)"), "{text}");
    }

    #[test]
    fn a_long_history_draws_in_a_size_that_grows_with_it() {
        // Given an organisation absorbed and re-established 60 times
        let mut events = vec![org("c", "C", "1000"), org("d", "D", "1000")];
        for y in 1001..1061 {
            events.push(
                json!({"type": "transformed", "mode": "absorption", "date": format!("{y}-01-01"),
                               "from": ["c"], "to": ["d"]}),
            );
            events.push(json!({"type": "transformed", "mode": "reestablishment", "date": format!("{y}-06-01"),
                               "from": ["d"], "to": ["c"]}));
        }
        let entries = ledger(events);
        // When its lineage is drawn as text
        let text = render_text(&of(&entries, "c", None).expect("lineage"));
        // Then its 60 earlier periods are said once, in the header, and
        // each repeat names the organisation only
        assert_eq!(text.matches("earlier").count(), 1, "{text}");
        let repeats = text.lines().filter(|l| l.ends_with("(see above)")).count();
        assert!(repeats >= 59, "{text}");
        assert!(text.lines().skip(1).all(|l| l.len() < 200), "{text}");

        // Given a chain of 40 id changes
        let mut events = vec![org("x0", "X", "1000")];
        for i in 0..40 {
            events.push(
                json!({"type": "transformed", "mode": "id_change", "date": format!("{}", 1001 + i),
                               "from": [format!("x{i}")], "to": [format!("x{}", i + 1)]}),
            );
        }
        let entries = ledger(events);
        // When its lineage is drawn as text
        let text = render_text(&of(&entries, "x40", None).expect("lineage"));
        // Then levels past MAX_INDENT keep the last indentation and say
        // their depth: 80 levels, a change and an organisation each
        let indent = |l: &str| l.chars().take_while(|c| " │├└─".contains(*c)).count();
        let widest = text.lines().map(indent).max().unwrap_or_default();
        assert_eq!(widest, 3 * MAX_INDENT, "{text}");
        assert!(text.contains("[depth 33] "), "{text}");
        assert!(text.contains("[depth 80] x0 (X) 1000 – 1001"), "{text}");
        assert!(!text.contains("[depth 32]"), "{text}");
    }

    #[test]
    fn lineage_follows_a_fusion_a_split_and_a_reestablishment() {
        // Given a fusion, then a split, then a re-establishment
        let entries = history();
        // When asking for the lineage of the split-off `c`
        let l = of(&entries, "c", None).expect("lineage");
        // Then its ancestors are ab, then a and b; its descendant is a,
        // which is both (each direction expands an organisation once)
        let ids = |r: &[Reached]| {
            r.iter()
                .map(|x| (x.id.clone(), x.depth, x.via))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&l.ancestors),
            vec![("ab".into(), 1, 4), ("a".into(), 2, 3), ("b".into(), 2, 3)]
        );
        assert_eq!(ids(&l.descendants), vec![("a".into(), 1, 5)]);
        assert_eq!(
            l.changes.iter().map(|c| c.seq).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!(
            render_text(&l),
            "\
c (Gamma) since 2010  [known at seq 6]
├─ split 2010 [seq 4] ← ab (also → d)
│  └─ ab (Alpha Beta) 2005-03 – 2010 (split)
│     └─ fusion 2005-03 [seq 3] ← a, b
│        ├─ a (Alpha) since 2015-06-01; earlier 2000 – 2005-03 (fusion)
│        └─ b (Beta) 2001 – 2005-03 (fusion)
└─ reestablishment 2015-06-01 [seq 5] → a
   └─ a (Alpha) since 2015-06-01; earlier 2000 – 2005-03 (fusion)
"
        );
    }

    #[test]
    fn ancestors_of_a_predecessor_stop_at_the_change_that_led_from_it() {
        // Given `a`, which merged into ab and came back out of c
        let entries = history();
        // When asking for its lineage
        let l = of(&entries, "a", None).expect("lineage");
        // Then going up from the re-establishment, c's ancestors are only
        // those before it, and a itself is not expanded twice
        assert_eq!(
            render_text(&l),
            "\
a (Alpha) since 2015-06-01; earlier 2000 – 2005-03 (fusion)  [known at seq 6]
├─ reestablishment 2015-06-01 [seq 5] ← c
│  └─ c (Gamma) since 2010
│     └─ split 2010 [seq 4] ← ab (also → d)
│        └─ ab (Alpha Beta) 2005-03 – 2010 (split)
│           └─ fusion 2005-03 [seq 3] ← a, b
│              ├─ a (Alpha) (see above)
│              └─ b (Beta) 2001 – 2005-03 (fusion)
└─ fusion 2005-03 [seq 3] → ab (with b)
   └─ ab (Alpha Beta) 2005-03 – 2010 (split)
      └─ split 2010 [seq 4] → c, d
         ├─ c (Gamma) since 2010
         │  └─ reestablishment 2015-06-01 [seq 5] → a
         │     └─ a (Alpha) (see above)
         └─ d (Delta) since 2010
"
        );
    }

    #[test]
    fn as_of_limits_the_lineage_to_changes_counting_by_then() {
        let entries = history();
        let l = of(&entries, "a", Some("2012")).expect("lineage");
        assert!(l.ancestors.is_empty());
        assert_eq!(
            l.descendants
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>(),
            vec!["ab", "c", "d"]
        );
        assert_eq!(l.as_of.as_deref(), Some("2012-12-31"));
        assert!(render_text(&l).starts_with(
            "a (Alpha) 2000 – 2005-03 (fusion)  [known at seq 6, as of 2012-12-31]\n"
        ));
        // An organisation with no change at all
        let z = of(&entries, "z", None).expect("lineage");
        assert_eq!(
            render_text(&z),
            "z (Zeta) since 2001  [known at seq 6]\n(no predecessors or successors known)\n"
        );
        // Knowledge before the split knows nothing of c
        let k = Knowledge::new(&entries, 3);
        assert!(matches!(
            lineage(&k, "h", "c", None),
            Err(LineageError::UnknownOrg { known_at: 3, .. })
        ));
    }

    #[test]
    fn unknown_ids_are_refused_with_the_closest_ids() {
        let entries = history();
        let err = of(&entries, "abc", None).expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "no organisation `abc` is known at seq 6 (hint: did you mean `ab`, `a`, `b`?)"
        );
        let err = of(&entries, "zeta", None).expect_err("unknown");
        assert!(err.to_string().contains("did you mean `z`?"), "{err}");
        let err = of(&entries, "qqqqqqqq", None).expect_err("unknown");
        assert!(
            err.to_string()
                .ends_with("see `fusion replay --all` for the ids"),
            "{err}"
        );
        // Known, but not yet on the as-of day
        let err = of(&entries, "c", Some("2009")).expect_err("not yet");
        assert_eq!(
            err.to_string(),
            "organisation `c` does not exist yet on 2009-12-31: it comes into being on 2010 (seq 4); use a later --as-of, or none"
        );
        assert_eq!(
            closest_ids(["gamma", "delta", "alpha"].into_iter(), "gama", 3),
            vec!["gamma"]
        );
        // An id given without its namespace finds it.
        assert_eq!(
            closest_ids(
                ["insee:49100", "insee:49101", "siren/49100"].into_iter(),
                "49100",
                3
            ),
            vec!["insee:49100", "siren/49100"]
        );
        // Only named by a plan
        let planned = ledger(vec![
            org("p", "P", "2000"),
            json!({"type": "planned", "date": "2001", "planned": {"type": "transformed", "mode": "spin_off", "date": "2003",
                   "from": ["p"], "to": ["q"], "new": [{"id": "q", "name": "Q", "kind": "k"}], "sources": [{"doc": "t"}]}}),
        ]);
        let err = of(&planned, "q", None).expect_err("only planned");
        assert_eq!(
            err.to_string(),
            "`q` is only named by a plan (seq 2, for 2003): not carried out; a plan never counts as having happened, so it has no lineage"
        );
        // A plan revised (seq 3), then given up (seq 4): the revision is
        // the plan that stands, not the one it superseded
        let revised = ledger(vec![
            org("p", "P", "2000"),
            json!({"type": "planned", "date": "2001", "planned": {"type": "transformed", "mode": "spin_off", "date": "2003",
                   "from": ["p"], "to": ["q"], "new": [{"id": "q", "name": "Q", "kind": "k"}], "sources": [{"doc": "t"}]}}),
            json!({"type": "correction", "date": "2002", "target": format!("{:064x}", 2), "mode": "supersede", "reason": "r",
                   "replacement": {"type": "planned", "date": "2002", "sources": [{"doc": "t"}],
                                   "planned": {"type": "transformed", "mode": "spin_off", "date": "2004",
                                               "from": ["p"], "to": ["q"], "new": [{"id": "q", "name": "Q", "kind": "k"}], "sources": [{"doc": "t"}]}}}),
            json!({"type": "plan_abandoned", "date": "2003", "plan": format!("{:064x}", 3)}),
        ]);
        let err = of(&revised, "q", None).expect_err("only planned");
        assert_eq!(
            err.to_string(),
            "`q` is only named by a plan (seq 3, for 2004): abandoned by seq 4; a plan never counts as having happened, so it has no lineage"
        );
    }

    #[test]
    fn json_lists_organisations_changes_and_both_directions() {
        let entries = history();
        let l = of(&entries, "c", None).expect("lineage");
        let v: Value = serde_json::from_str(&render_json(&l)).expect("json");
        assert_eq!(v["org"], "c");
        assert_eq!(v["as_of"], Value::Null);
        assert_eq!(v["known_at"], json!({"seq": 6, "hash": "f00d"}));
        assert_eq!(
            v["changes"][1],
            json!({"seq": 4, "mode": "split", "date": "2010", "from": ["ab"], "to": ["c", "d"]})
        );
        let ids: Vec<&str> = v["organisations"]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|o| o["id"].as_str())
            .collect();
        assert_eq!(ids, vec!["a", "ab", "b", "c", "d"]);
        assert_eq!(
            v["organisations"][0],
            json!({"id": "a", "name": "Alpha", "kind": "cluster", "since": "2015-06-01", "until": null, "ended_how": null,
                   "earlier_periods": [{"since": "2000", "until": "2005-03", "how": "fusion"}]})
        );
        assert_eq!(v["ancestors"][0], json!({"id": "ab", "depth": 1, "via": 4}));
        assert_eq!(v["descendants"], json!([{"id": "a", "depth": 1, "via": 5}]));
    }

    #[test]
    fn mermaid_and_dot_draw_every_edge() {
        let entries = history();
        let l = of(&entries, "c", None).expect("lineage");
        let m = render_mermaid(&l);
        assert_eq!(
            m,
            "\
flowchart LR
  n0[\"Alpha (a)<br/>since 2015-06-01\"]
  n1[\"Alpha Beta (ab)<br/>2005-03 – 2010\"]
  n2[\"Beta (b)<br/>2001 – 2005-03\"]
  n3[\"Gamma (c)<br/>since 2010\"]
  n4[\"Delta (d)<br/>since 2010\"]
  n0 -->|\"fusion 2005-03 (seq 3)\"| n1
  n2 -->|\"fusion 2005-03 (seq 3)\"| n1
  n1 -->|\"split 2010 (seq 4)\"| n3
  n1 -->|\"split 2010 (seq 4)\"| n4
  n3 -->|\"reestablishment 2015-06-01 (seq 5)\"| n0
  classDef focus stroke-width:3px;
  class n3 focus;
"
        );
        let d = render_dot(&l);
        assert!(d.starts_with("digraph lineage {\n  rankdir=LR;\n"), "{d}");
        assert!(
            d.contains("  \"c\" [label=\"Gamma (c)\\nsince 2010\", penwidth=3];\n"),
            "{d}"
        );
        assert!(
            d.contains("  \"ab\" -> \"d\" [label=\"split 2010\\nseq 4\"];\n"),
            "{d}"
        );
        assert_eq!(d.matches(" -> ").count(), 5);
        assert!(d.ends_with("}\n"));
    }

    #[test]
    fn mermaid_and_dot_escape_names() {
        // Given organisations whose names hold quotes, brackets, a hash, an
        // ampersand, a pipe, a backslash and a line break
        let nasty = "Le \"Bivouac\" <GIP> #1 & co | a\\b\nc";
        let entries = ledger(vec![
            org("x", nasty, "2000"),
            org("y", "Y", "2000"),
            json!({"type": "transformed", "mode": "absorption", "date": "2001", "from": ["y"], "to": ["x"]}),
        ]);
        let l = of(&entries, "x", None).expect("lineage");
        // When drawn with Mermaid, then every special character is an
        // entity code and each label holds exactly two quotes
        let m = render_mermaid(&l);
        let node = m.lines().find(|s| s.starts_with("  n0[")).expect("node x");
        assert_eq!(
            node,
            "  n0[\"Le #quot;Bivouac#quot; #lt;GIP#gt; #35;1 #amp; co #124; a\\b c (x)<br/>since 2000\"]"
        );
        assert_eq!(node.matches('"').count(), 2);
        // When drawn with Graphviz, then quotes and backslashes are escaped
        // and the line break is `\n`
        let d = render_dot(&l);
        assert!(
            d.contains("  \"x\" [label=\"Le \\\"Bivouac\\\" <GIP> #1 & co | a\\\\b\\nc (x)\\nsince 2000\", penwidth=3];"),
            "{d}"
        );
        assert_eq!(mermaid_escape("\"\""), "#quot;#quot;");
        assert_eq!(dot_escape("\\\""), "\\\\\\\"");
    }

    #[test]
    fn a_very_long_chain_does_not_overflow_the_stack() {
        // Given 3000 successive id changes
        let mut events = vec![org("o0", "O", "2000")];
        for i in 0..3000 {
            events.push(
                json!({"type": "transformed", "mode": "id_change", "date": "2001",
                               "from": [format!("o{i}")], "to": [format!("o{}", i + 1)]}),
            );
        }
        let entries: Vec<Entry> = events
            .into_iter()
            .enumerate()
            .map(|(i, mut v)| {
                v["sources"] = json!([{"doc": "t"}]);
                Entry {
                    seq: i as u64 + 1,
                    hash: format!("{:064x}", i + 1),
                    recorded: "2026-01-01T00:00:00Z".into(),
                    event: Event::from_json(&v).expect("valid"),
                }
            })
            .collect();
        // When asking for the lineage of the last id
        let l = of(&entries, "o3000", None).expect("lineage");
        // Then every earlier id is an ancestor, the deepest at depth 3000
        assert_eq!(l.ancestors.len(), 3000);
        assert_eq!(
            l.ancestors.last().map(|r| (r.id.as_str(), r.depth)),
            Some(("o0", 3000))
        );
        assert_eq!(render_text(&l).lines().count(), 1 + 2 * 3000);
    }
}
