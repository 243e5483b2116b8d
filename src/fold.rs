//! The fold: which records count at a state of knowledge ([`Knowledge`]),
//! the landscape they build ([`State`], [`apply`]), and the rules an event
//! must satisfy against the landscape just before it ([`check`],
//! [`validate`]).
//!
//! - **Knowledge at position `POS`** is the records with `seq <= POS`. A
//!   correction at seq `C` removes its target from every state of knowledge
//!   `>= C`; a supersede's replacement takes effect from `C` on and sorts by
//!   its own date, with `C` as its seq for ties.
//! - **Timeline order** is [`Date::timeline_cmp`] (the first day of the
//!   period), then seq: events on the same date apply in ledger order.
//! - **Plans** never enter the fold; [`Knowledge::plans`] tracks them with
//!   their corrections, fulfilments and abandonments.
//! - [`apply`] is pure and never fails; [`check`] is the validation, kept
//!   apart (the handle/apply split of CQRS).

pub mod small;

pub use small::SmallSet;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use chrono::NaiveDate;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use thin_vec::ThinVec;

use crate::date::Date;
use crate::event::{
    Body, CandidacyStatus, ChangeMode, CorrectionMode, Event, OrgSpec, Party, Relation, Source,
    short_hash,
};
use crate::record::Entry;

// ---------------------------------------------------------------------------
// Knowledge
// ---------------------------------------------------------------------------

/// One event that counts at a state of knowledge.
#[derive(Debug, Clone, Copy)]
pub struct Effective<'a> {
    /// The seq used for ties and provenance: the record's own seq or, for a
    /// supersede's replacement, the correction's seq.
    pub seq: u64,
    /// The event to fold.
    pub event: &'a Event,
    /// For a replacement: the seq of the record it supersedes.
    pub supersedes: Option<u64>,
}

/// How and when a record was corrected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrected {
    /// Retracted or superseded.
    pub mode: CorrectionMode,
    /// Seq of the correction record.
    pub seq: u64,
}

/// An event known to carry out a plan, or to abandon it.
#[derive(Debug, Clone, Copy)]
pub struct Fulfilment<'a> {
    /// Seq of the event (the correction's seq for a replacement).
    pub seq: u64,
    /// Its date: the plan counts as fulfilled (or abandoned) from its start
    /// on.
    pub date: &'a Date,
}

/// How an event closes a plan: by carrying it out (`fulfils`) or by
/// giving it up (`plan_abandoned`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// The event carries `fulfils`.
    Fulfils,
    /// The event is a `plan_abandoned`.
    Abandons,
}

impl Event {
    /// The plan this event closes, named by its record's hash, and how: a
    /// `plan_abandoned` abandons its `plan`; any other event with
    /// `fulfils` fulfils it. Plans and corrections close none themselves
    /// (a replacement can).
    pub fn closes(&self) -> Option<(&str, Closing)> {
        match &self.body {
            Body::Planned { .. } | Body::Correction { .. } => None,
            Body::PlanAbandoned { plan } => Some((plan, Closing::Abandons)),
            _ => self.fulfils.as_deref().map(|f| (f, Closing::Fulfils)),
        }
    }

    /// The plan this record closes: its event's ([`Event::closes`]) or, for
    /// a correction, its replacement's.
    pub fn record_closes(&self) -> Option<(&str, Closing)> {
        match &self.body {
            Body::Correction {
                replacement: Some(r),
                ..
            } => r.closes(),
            _ => self.closes(),
        }
    }

    /// Whether it names other records by their hash: a correction, an
    /// abandonment, or an event with `fulfils`. The link rules check those
    /// against every record ([`validate`]), not only the timelines they
    /// touch.
    pub fn links_records(&self) -> bool {
        self.fulfils.is_some()
            || matches!(
                self.body,
                Body::Correction { .. } | Body::PlanAbandoned { .. }
            )
    }

    /// Whether a [`Knowledge`] reads this event itself, not only its place
    /// in the timeline: a correction, a plan, or an event that closes a
    /// plan (or carries `fulfils` at all).
    pub fn shapes_knowledge(&self) -> bool {
        self.links_records() || matches!(self.body, Body::Planned { .. })
    }
}

/// A plan known at a state of knowledge.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    /// Seq of the record that states the plan (a `planned` record, or a
    /// correction whose replacement is a plan).
    pub seq: u64,
    /// Hash of that record: what `fulfils` names.
    pub hash: &'a str,
    /// When the plan was stated (the outer date).
    pub stated: &'a Date,
    /// The planned event, with the date it is to happen.
    pub planned: &'a Event,
    /// Set when the plan was retracted or superseded.
    pub corrected: Option<Corrected>,
    /// Events that carry it out, in seq order.
    pub fulfilled_by: Vec<Fulfilment<'a>>,
    /// Events that abandon it, in seq order.
    pub abandoned_by: Vec<Fulfilment<'a>>,
}

/// A plan's status in a view on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanStatus {
    /// The planned date is still ahead (or the day lies inside its period).
    Pending,
    /// The planned date has passed and nothing fulfilled it.
    Overdue,
    /// A known event carried it out on or before the day.
    Fulfilled,
    /// A known event gave it up on or before the day, and none carried it
    /// out.
    Abandoned,
    /// A correction retracted it.
    Retracted,
    /// A correction superseded it.
    Superseded,
}

impl PlanStatus {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Pending => "pending",
            PlanStatus::Overdue => "overdue",
            PlanStatus::Fulfilled => "fulfilled",
            PlanStatus::Abandoned => "abandoned",
            PlanStatus::Retracted => "retracted",
            PlanStatus::Superseded => "superseded",
        }
    }
}

impl Plan<'_> {
    /// The status on `day`: a correction wins, then a fulfilment dated on or
    /// before `day`, then an abandonment dated on or before `day`, then
    /// `overdue` once the planned period has ended before `day`, else
    /// `pending`.
    pub fn status_on(&self, day: NaiveDate) -> PlanStatus {
        match self.corrected {
            Some(Corrected {
                mode: CorrectionMode::Retract,
                ..
            }) => PlanStatus::Retracted,
            Some(Corrected {
                mode: CorrectionMode::Supersede,
                ..
            }) => PlanStatus::Superseded,
            None if self.fulfilled_by.iter().any(|f| f.date.counts_on(day)) => {
                PlanStatus::Fulfilled
            }
            None if self.abandoned_by.iter().any(|f| f.date.counts_on(day)) => {
                PlanStatus::Abandoned
            }
            None if self.planned.date.end() < day => PlanStatus::Overdue,
            None => PlanStatus::Pending,
        }
    }

    /// The first fulfilment that counts on `day`.
    pub fn fulfilled_on(&self, day: NaiveDate) -> Option<&Fulfilment<'_>> {
        self.fulfilled_by.iter().find(|f| f.date.counts_on(day))
    }

    /// The first abandonment that counts on `day`.
    pub fn abandoned_on(&self, day: NaiveDate) -> Option<&Fulfilment<'_>> {
        self.abandoned_by.iter().find(|f| f.date.counts_on(day))
    }

    /// The seq of the record that settled the plan by `day`: what
    /// fulfilled or abandoned it then, or the correction that retracted or
    /// superseded it. `None` while it is pending or overdue.
    pub fn settled_on(&self, day: NaiveDate) -> Option<u64> {
        match self.status_on(day) {
            PlanStatus::Fulfilled => self.fulfilled_on(day).map(|f| f.seq),
            PlanStatus::Abandoned => self.abandoned_on(day).map(|f| f.seq),
            PlanStatus::Retracted | PlanStatus::Superseded => self.corrected.map(|c| c.seq),
            PlanStatus::Pending | PlanStatus::Overdue => None,
        }
    }
}

/// What counts at one state of knowledge: the effective events in timeline
/// order, and the plans.
#[derive(Debug, Clone, Default)]
pub struct Knowledge<'a> {
    /// The position: records with `seq <= position` are known.
    pub position: u64,
    /// Effective events (no plans, no corrections, nothing corrected away;
    /// replacements included), ordered by [`Date::timeline_cmp`] then seq.
    pub timeline: Vec<Effective<'a>>,
    /// Plans in seq order, corrected ones included.
    pub plans: Vec<Plan<'a>>,
    /// Corrected records, by the target's seq.
    pub corrections: BTreeMap<u64, Corrected>,
    plan_index: HashMap<&'a str, usize>,
}

/// The first 16 hex digits of a record hash as a number.
fn hash_prefix(hash: &str) -> Option<u64> {
    hash.get(..16).and_then(|p| u64::from_str_radix(p, 16).ok())
}

/// A hasher for keys that are already uniformly random.
#[derive(Default, Clone, Copy)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type PrefixHasher = std::hash::BuildHasherDefault<PassThrough>;

/// A record as the knowledge builder sees it; batch events not yet sealed
/// have an empty hash.
#[derive(Clone, Copy)]
struct Item<'a> {
    seq: u64,
    hash: &'a str,
    event: &'a Event,
}

/// A record given to the knowledge builder: with its event, or, for a
/// record that a correction names, perhaps by its seq and hash alone.
trait Known<'a>: Copy {
    fn seq(&self) -> u64;
    fn hash(&self) -> &'a str;
    fn event(&self) -> Option<&'a Event>;
}

impl<'a> Known<'a> for Item<'a> {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn hash(&self) -> &'a str {
        self.hash
    }
    fn event(&self) -> Option<&'a Event> {
        Some(self.event)
    }
}

/// [`Knowledge::with_named`]'s records.
#[derive(Clone, Copy)]
struct Named<'a> {
    seq: u64,
    hash: &'a str,
    event: Option<&'a Event>,
}

impl<'a> Known<'a> for Named<'a> {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn hash(&self) -> &'a str {
        self.hash
    }
    fn event(&self) -> Option<&'a Event> {
        self.event
    }
}

impl<'a> Knowledge<'a> {
    /// The knowledge at `position` over `entries` (all records, seq order).
    /// A position beyond the head means the head.
    pub fn new(entries: &'a [Entry], position: u64) -> Knowledge<'a> {
        let items: Vec<Item<'a>> = entries
            .iter()
            .filter(|e| e.seq <= position)
            .map(|e| Item {
                seq: e.seq,
                hash: &e.hash,
                event: &e.event,
            })
            .collect();
        Knowledge::from_items(&items, position)
    }

    /// [`Knowledge::new`] over the records given `whole` and records known
    /// only by their seq and hash (`named`), both in seq order: for a
    /// caller that keeps whole only the records a knowledge reads (see
    /// [`crate::stream`]), and of the records that corrections name only
    /// what tells whether they are corrected.
    ///
    /// A named record that a correction removes is in
    /// [`Knowledge::corrections`], as it would be were it given whole; one
    /// that none removes is left out of the timeline, for the caller to
    /// fold with the records it did not give.
    pub fn with_named(
        whole: &'a [Entry],
        named: &'a [(u64, String)],
        position: u64,
    ) -> Knowledge<'a> {
        let mut items = Vec::with_capacity(whole.len() + named.len());
        let (mut w, mut n) = (whole.iter().peekable(), named.iter().peekable());
        loop {
            let named_first = match (w.peek(), n.peek()) {
                (Some(a), Some(b)) => b.0 < a.seq,
                (Some(_), None) => false,
                (None, _) => true,
            };
            let item = if named_first {
                n.next().map(|(seq, hash)| Named {
                    seq: *seq,
                    hash,
                    event: None,
                })
            } else {
                w.next().map(|e| Named {
                    seq: e.seq,
                    hash: &e.hash,
                    event: Some(&e.event),
                })
            };
            match item {
                Some(it) if it.seq <= position => items.push(it),
                Some(_) => {}
                None => break,
            }
        }
        Knowledge::from_items(&items, position)
    }

    fn from_items<I: Known<'a>>(items: &[I], position: u64) -> Knowledge<'a> {
        // Index only the records that corrections name: hashing every
        // record's hash would dominate the cost on large ledgers.
        // Record hashes are uniformly random, so their first 8 bytes make
        // a key that needs no further hashing.
        let wanted: HashSet<u64, PrefixHasher> = items
            .iter()
            .filter_map(|it| match &it.event()?.body {
                Body::Correction { target, .. } => hash_prefix(target),
                _ => None,
            })
            .collect();
        let mut by_hash: HashMap<&'a str, usize> = HashMap::with_capacity(wanted.len());
        if !wanted.is_empty() {
            for (i, it) in items.iter().enumerate() {
                if hash_prefix(it.hash()).is_some_and(|k| wanted.contains(&k)) {
                    by_hash.insert(it.hash(), i);
                }
            }
        }
        // Pass 1: corrections, first valid one per target wins.
        let mut corrected: HashMap<usize, Corrected> = HashMap::new();
        let mut replacements: Vec<(usize, &'a Event, usize)> = Vec::new();
        for (ci, it) in items.iter().enumerate() {
            let Some(Body::Correction {
                target,
                mode,
                replacement,
                ..
            }) = it.event().map(|e| &e.body)
            else {
                continue;
            };
            let Some(&ti) = by_hash.get(target.as_str()) else {
                continue;
            };
            let t = items[ti];
            if t.seq() >= it.seq()
                || t.event()
                    .is_some_and(|e| matches!(e.body, Body::Correction { .. }))
                || corrected.contains_key(&ti)
            {
                continue;
            }
            corrected.insert(
                ti,
                Corrected {
                    mode: *mode,
                    seq: it.seq(),
                },
            );
            if let (CorrectionMode::Supersede, Some(r)) = (mode, replacement) {
                replacements.push((ci, r, ti));
            }
        }
        // Pass 2: effective events and plans.
        let mut timeline = Vec::with_capacity(items.len());
        let mut plans = Vec::new();
        let plan_at = |it: &I, stated: &'a Date, planned: &'a Event, c| Plan {
            seq: it.seq(),
            hash: it.hash(),
            stated,
            planned,
            corrected: c,
            fulfilled_by: Vec::new(),
            abandoned_by: Vec::new(),
        };
        let mut repl = replacements.iter().peekable();
        for (i, it) in items.iter().enumerate() {
            let c = corrected.get(&i).copied();
            // A record known only by its hash is folded by the caller,
            // unless corrected away.
            let Some(event) = it.event() else {
                continue;
            };
            match &event.body {
                Body::Correction { .. } => {
                    // A replacement enters where its correction stands.
                    while let Some(&&(ci, r, ti)) = repl.peek() {
                        if ci != i {
                            break;
                        }
                        repl.next();
                        match &r.body {
                            Body::Planned { planned } => {
                                plans.push(plan_at(it, &r.date, planned, None))
                            }
                            _ => timeline.push(Effective {
                                seq: it.seq(),
                                event: r,
                                supersedes: Some(items[ti].seq()),
                            }),
                        }
                    }
                }
                Body::Planned { planned } => {
                    plans.push(plan_at(it, &event.date, planned, c));
                }
                _ if c.is_none() => timeline.push(Effective {
                    seq: it.seq(),
                    event,
                    supersedes: None,
                }),
                _ => {}
            }
        }
        let plan_index: HashMap<&'a str, usize> = plans
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.hash.is_empty())
            .map(|(i, p)| (p.hash, i))
            .collect();
        for e in &timeline {
            // A fulfilment or abandonment over before its plan was stated
            // is inert (append refuses it; one already in the ledger
            // closes nothing).
            if let Some((h, how)) = e.event.closes()
                && let Some(&pi) = plan_index.get(h)
                && can_fulfil(&e.event.date, plans[pi].stated)
            {
                let by = Fulfilment {
                    seq: e.seq,
                    date: &e.event.date,
                };
                match how {
                    Closing::Fulfils => plans[pi].fulfilled_by.push(by),
                    Closing::Abandons => plans[pi].abandoned_by.push(by),
                }
            }
        }
        for p in &mut plans {
            p.fulfilled_by.sort_by_key(|f| f.seq);
            p.abandoned_by.sort_by_key(|f| f.seq);
        }
        // Same order as `Date::timeline_cmp` then seq; cached keys keep the
        // sort from chasing event pointers.
        timeline.sort_by_cached_key(|e| (e.event.date.start(), e.seq));
        let corrections = corrected
            .into_iter()
            .map(|(ti, c)| (items[ti].seq(), c))
            .collect();
        let position = items.last().map_or(0, |it| it.seq().min(position));
        Knowledge {
            position,
            timeline,
            plans,
            corrections,
            plan_index,
        }
    }

    /// The plan stated by the record with this hash.
    pub fn plan(&self, hash: &str) -> Option<&Plan<'a>> {
        self.plan_index.get(hash).and_then(|&i| self.plans.get(i))
    }

    /// Folds the effective events that count on `day` (start rule).
    pub fn fold_until(&self, day: NaiveDate) -> State {
        let mut state = State::default();
        for e in &self.timeline {
            if !e.event.date.counts_on(day) {
                break;
            }
            apply(&mut state, e.seq, e.event);
        }
        state.orgs.sort();
        state
    }
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

/// When a fact took effect: the event's date and seq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The event's date.
    pub date: Date,
    /// The event's seq (the correction's seq for a replacement).
    pub seq: u64,
}

/// How an organisation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndHow {
    /// Dissolved without successor.
    Dissolved,
    /// Ended by a change (fusion, absorption, split, id change).
    Transformed(ChangeMode),
}

impl EndHow {
    /// `dissolved`, or the change mode.
    pub fn as_str(self) -> &'static str {
        match self {
            EndHow::Dissolved => "dissolved",
            EndHow::Transformed(m) => m.as_str(),
        }
    }
}

/// The end of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    /// When.
    pub at: Stamp,
    /// How.
    pub how: EndHow,
    /// Successors it went into (empty when dissolved).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub into: Vec<CompactString>,
}

/// A lineage link to a predecessor or successor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The other organisation.
    pub id: CompactString,
    /// The change that links them.
    pub mode: ChangeMode,
    /// When.
    pub at: Stamp,
}

/// An attribute value and since when it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attr {
    /// The value.
    pub value: CompactString,
    /// Since when.
    pub since: Stamp,
}

/// A label held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldLabel {
    /// The granting body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<CompactString>,
    /// Since when.
    pub since: Stamp,
}

/// The latest value of one figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    /// The value.
    pub value: u64,
    /// The date it describes, and its seq.
    pub at: Stamp,
    /// Where it comes from.
    pub sources: Vec<Source>,
}

/// A name and since when it was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameChange {
    /// The name.
    pub name: CompactString,
    /// Since when.
    pub since: Stamp,
}

/// An earlier period of existence of a re-established organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// Start of the period.
    pub since: Stamp,
    /// How it ended.
    pub ended: Ended,
}

/// The map type of an organisation's small collections (attributes, sites,
/// labels, figures, roles, members, partners): a sorted vector behind one
/// pointer ([`small::Thin`]). Most hold zero to three entries, where a
/// `BTreeMap` would allocate a node of eleven slots for the first one; a
/// large state is several times smaller.
pub type Small<K, V> = litemap::LiteMap<K, V, small::Thin<K, V>>;

/// An organisation in the folded state. Its JSON (the append index's
/// entries) leaves empty collections and absent values out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    /// Identifier.
    pub id: CompactString,
    /// Current name.
    pub name: CompactString,
    /// Kind.
    pub kind: CompactString,
    /// Attributes (`seat`, `place`…).
    #[serde(default, skip_serializing_if = "Small::is_empty")]
    pub attrs: Small<CompactString, Attr>,
    /// Start of its current period of existence (for an id change, the
    /// original organisation's start).
    pub since: Stamp,
    /// Set once it has ended (boxed: half the organisations of a large
    /// state have ended, and the box keeps the struct in a smaller size
    /// class of the allocator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Box<Ended>>,
    /// Open sites, by place.
    #[serde(default, skip_serializing_if = "Small::is_empty")]
    pub sites: Small<CompactString, Stamp>,
    /// Labels held, by label.
    #[serde(default, skip_serializing_if = "Small::is_empty")]
    pub labels: Small<CompactString, HeldLabel>,
    /// Programs it owns (ids into [`State::programs`]), running or ended.
    #[serde(default, skip_serializing_if = "SmallSet::is_empty")]
    pub programs: SmallSet<CompactString>,
    /// Latest figure per name.
    #[serde(default, skip_serializing_if = "Small::is_empty")]
    pub figures: Small<CompactString, Figure>,
    /// Roles: role → person → since.
    #[serde(default, skip_serializing_if = "Small::is_empty")]
    pub roles: Small<CompactString, Small<CompactString, Stamp>>,
    /// Members, with since when.
    #[serde(default, skip_serializing_if = "Small::is_empty")]
    #[serde(with = "party_map")]
    pub members: Small<Party, Stamp>,
    /// Partners, with since when.
    #[serde(default, skip_serializing_if = "Small::is_empty")]
    #[serde(with = "party_map")]
    pub partners: Small<Party, Stamp>,
    /// Where it came from.
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    pub predecessors: ThinVec<Link>,
    /// What it went into (or carved out).
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    pub successors: ThinVec<Link>,
    /// Every name it had, first to current.
    pub names: Vec<NameChange>,
    /// Earlier periods of existence (re-established organisations).
    #[serde(default, skip_serializing_if = "ThinVec::is_empty")]
    pub periods: ThinVec<Period>,
}

impl Org {
    fn new(spec: &OrgSpec, at: Stamp) -> Box<Org> {
        Box::new(Org {
            id: spec.id.clone(),
            name: spec.name.clone(),
            kind: spec.kind.clone(),
            attrs: spec
                .attrs
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Attr {
                            value: v.clone(),
                            since: at.clone(),
                        },
                    )
                })
                .collect(),
            names: vec![NameChange {
                name: spec.name.clone(),
                since: at.clone(),
            }],
            since: at,
            ended: None,
            sites: Small::new(),
            labels: Small::new(),
            programs: SmallSet::new(),
            figures: Small::new(),
            roles: Small::new(),
            members: Small::new(),
            partners: Small::new(),
            predecessors: ThinVec::new(),
            successors: ThinVec::new(),
            periods: ThinVec::new(),
        })
    }

    /// Whether it exists and has not ended.
    pub fn is_alive(&self) -> bool {
        self.ended.is_none()
    }

    /// Members or partners, by relation.
    pub fn relations(&self, relation: Relation) -> &Small<Party, Stamp> {
        match relation {
            Relation::Member => &self.members,
            Relation::Partner => &self.partners,
        }
    }

    fn relations_mut(&mut self, relation: Relation) -> &mut Small<Party, Stamp> {
        match relation {
            Relation::Member => &mut self.members,
            Relation::Partner => &mut self.partners,
        }
    }

    /// A role holder's start, if `person` holds `role`.
    pub fn role(&self, role: &str, person: &str) -> Option<&Stamp> {
        self.roles.get(role).and_then(|p| p.get(person))
    }
}

/// A program in the folded state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// Identifier.
    pub id: CompactString,
    /// Display name.
    pub name: CompactString,
    /// The organisation that runs it.
    pub owner: CompactString,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CompactString>,
    /// Launch.
    pub since: Stamp,
    /// End, once ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Stamp>,
    /// Latest figure per name.
    #[serde(default, skip_serializing_if = "Small::is_empty")]
    pub figures: Small<CompactString, Figure>,
}

/// The latest state of a candidacy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidacy {
    /// Filed, refused or withdrawn.
    pub status: CandidacyStatus,
    /// When.
    pub at: Stamp,
}

/// The organisations of a [`State`], by id: found by hash, listed in id
/// order. Organisations are boxed, so that the table holds pointers, not
/// half-empty slots of a large struct.
///
/// A fold looks an id up for nearly every event; a hash table does that in
/// one or two memory reads where a tree of a million ids needs a dozen.
/// Listing in id order is free while ids arrive in ascending order and
/// after [`Orgs::sort`] (which [`Knowledge::fold_until`] and the streaming
/// replay call); otherwise each listing sorts an order of its own
/// (as for the state a validation yields: [`Orgs::iter_unordered`] serves
/// callers that order what they list themselves).
#[derive(Debug, Clone)]
pub struct Orgs {
    map: indexmap::IndexMap<CompactString, Box<Org>>,
    /// Whether `map` holds its ids in ascending order.
    sorted: bool,
}

impl Default for Orgs {
    fn default() -> Self {
        Orgs {
            map: indexmap::IndexMap::new(),
            sorted: true,
        }
    }
}

impl PartialEq for Orgs {
    /// The same organisations under the same ids, whatever the order held.
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl Eq for Orgs {}

impl Orgs {
    /// The organisation with this id.
    pub fn get(&self, id: &str) -> Option<&Org> {
        self.map.get(id).map(|o| &**o)
    }

    /// The organisation with this id, to change it.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Org> {
        self.map.get_mut(id).map(|o| &mut **o)
    }

    /// Whether an organisation has this id.
    pub fn contains_key(&self, id: &str) -> bool {
        self.map.contains_key(id)
    }

    /// Adds or replaces the organisation with this id; returns the one
    /// replaced.
    pub fn insert(&mut self, id: CompactString, org: Box<Org>) -> Option<Box<Org>> {
        let (index, old) = self.map.insert_full(id, org);
        if old.is_none() && index > 0 {
            let before = self.map.get_index(index - 1).map(|(k, _)| k);
            let added = self.map.get_index(index).map(|(k, _)| k);
            self.sorted &= before < added;
        }
        old
    }

    /// Removes the organisation with this id.
    pub fn remove(&mut self, id: &str) -> Option<Box<Org>> {
        let (index, _, org) = self.map.swap_remove_full(id)?;
        // The last entry moved into its place.
        self.sorted &= index == self.map.len();
        self.sorted |= self.map.len() < 2;
        Some(org)
    }

    /// How many organisations.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Holds the ids in ascending order, so that listing is free.
    pub fn sort(&mut self) {
        if !self.sorted {
            self.map.sort_unstable_keys();
            self.sorted = true;
        }
    }

    /// Ids and organisations, in id order.
    pub fn iter(&self) -> OrgsIter<'_> {
        let order = (!self.sorted).then(|| {
            let mut order: Vec<usize> = (0..self.map.len()).collect();
            order.sort_unstable_by(|&a, &b| {
                let key = |i| self.map.get_index(i).map(|(k, _)| k);
                key(a).cmp(&key(b))
            });
            order
        });
        OrgsIter {
            map: &self.map,
            order,
            next: 0,
        }
    }

    /// Ids, in order.
    pub fn keys(&self) -> impl Iterator<Item = &CompactString> {
        self.iter().map(|(k, _)| k)
    }

    /// Organisations, in id order.
    pub fn values(&self) -> impl Iterator<Item = &Org> {
        self.iter().map(|(_, o)| o)
    }

    /// Organisations, to change them, in no particular order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Org> {
        self.map.values_mut().map(|o| &mut **o)
    }

    /// Ids and organisations in no particular order: for a caller that
    /// orders them itself, at no cost even when the table is not sorted.
    pub fn iter_unordered(&self) -> impl Iterator<Item = (&CompactString, &Org)> {
        self.map.iter().map(|(k, o)| (k, &**o))
    }
}

/// [`Orgs::iter`].
#[derive(Debug)]
pub struct OrgsIter<'a> {
    map: &'a indexmap::IndexMap<CompactString, Box<Org>>,
    /// Indices into `map` in id order, unless `map` is sorted.
    order: Option<Vec<usize>>,
    next: usize,
}

impl<'a> Iterator for OrgsIter<'a> {
    type Item = (&'a CompactString, &'a Org);

    fn next(&mut self) -> Option<Self::Item> {
        let index = match &self.order {
            Some(order) => *order.get(self.next)?,
            None => self.next,
        };
        self.next += 1;
        self.map.get_index(index).map(|(k, o)| (k, &**o))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.map.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for OrgsIter<'_> {}

impl<'a> IntoIterator for &'a Orgs {
    type Item = (&'a CompactString, &'a Org);
    type IntoIter = OrgsIter<'a>;

    fn into_iter(self) -> OrgsIter<'a> {
        self.iter()
    }
}

/// The landscape folded from effective events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Every organisation ever created, ended ones included, by id.
    pub orgs: Orgs,
    /// Every program ever launched, by id.
    pub programs: BTreeMap<CompactString, Program>,
    /// Candidacies by (label, candidate).
    pub candidacies: BTreeMap<(CompactString, CompactString), Candidacy>,
    /// Reverse index: organisation id → (organisation, relation) it belongs to.
    pub member_of: HashMap<CompactString, BTreeSet<(CompactString, Relation)>>,
}

impl State {
    /// Whether the id was ever used, by an organisation or a program.
    pub fn is_used(&self, id: &str) -> bool {
        self.orgs.contains_key(id) || self.programs.contains_key(id)
    }

    /// An organisation that exists and has not ended.
    pub fn alive(&self, id: &str) -> Option<&Org> {
        self.orgs.get(id).filter(|o| o.is_alive())
    }

    /// Organisations that have not ended, in id order.
    pub fn alive_orgs(&self) -> impl Iterator<Item = &Org> {
        self.orgs.values().filter(|o| o.is_alive())
    }
}

/// A map keyed by [`Party`] as a JSON array of `[party, stamp]` pairs (JSON
/// object keys must be strings).
mod party_map {
    use super::Small;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::Stamp;
    use crate::event::Party;

    pub fn serialize<S: Serializer>(map: &Small<Party, Stamp>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Small<Party, Stamp>, D::Error> {
        Ok(Vec::<(Party, Stamp)>::deserialize(d)?.into_iter().collect())
    }
}

/// Pushes onto one of an organisation's lists, which mostly hold one or
/// two entries: growth is exact while short (amortised growth would
/// reserve four), then by half.
fn push_lean<T>(v: &mut Vec<T>, x: T) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len() / 2 + 1);
    }
    v.push(x);
}

/// [`push_lean`] for the lists held behind one pointer, mostly empty.
fn push_thin<T>(v: &mut ThinVec<T>, x: T) {
    small::grow(v);
    v.push(x);
}

/// Every id whose entry in `state` applying `event` to it may change: the
/// ids the event mentions, and the ones [`apply`] reaches through them —
/// the organisations an ending organisation belonged to, the members,
/// partners and programs an id change carries over or a re-establishment
/// drops. Mirrors [`apply`]; tests check that applying an event changes
/// no entry outside this set (`applying_an_event_changes_only_the_entries_of_the_ids_it_affects`
/// on a generated landscape, and, in `diff`, on random events never
/// validated).
pub fn affected_ids(state: &State, event: &Event) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for_each_affected(state, event, |id| {
        if !ids.contains(id) {
            ids.insert(id.to_owned());
        }
    });
    ids
}

/// [`affected_ids`] without collecting them: `visit` sees each id at least
/// once (possibly more than once).
pub fn for_each_affected(state: &State, event: &Event, mut visit: impl FnMut(&str)) {
    event.each_mentioned_id(&mut |id| {
        visit(id);
        if let Some(set) = state.member_of.get(id) {
            for (org, _) in set {
                visit(org);
            }
        }
        if let Some(o) = state.orgs.get(id) {
            for p in &o.programs {
                visit(p);
            }
            for party in o.members.keys().chain(o.partners.keys()) {
                if let Party::Org(m) = party {
                    visit(m);
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------
// apply
// ---------------------------------------------------------------------------

/// Applies one effective event to the state. Pure, never fails, never
/// panics: the parts of an invalid event that do not fit are ignored.
/// Plans, corrections and milestones change nothing.
pub fn apply(state: &mut State, seq: u64, event: &Event) {
    let at = || Stamp {
        date: event.date.clone(),
        seq,
    };
    match &event.body {
        Body::Created { org } => {
            if !state.is_used(&org.id) {
                state
                    .orgs
                    .insert(org.id.as_str().into(), Org::new(org, at()));
            }
        }
        Body::Transformed {
            mode,
            from,
            to,
            new,
        } => apply_transformed(state, *mode, from, to, new, &at()),
        Body::Renamed { org, name } => {
            if let Some(o) = state.orgs.get_mut(org.as_str()) {
                o.name = name.clone();
                push_lean(
                    &mut o.names,
                    NameChange {
                        name: name.clone(),
                        since: at(),
                    },
                );
            }
        }
        Body::Dissolved { org } => end_org(state, org, EndHow::Dissolved, Vec::new(), at()),
        Body::AttributeSet { org, key, value } => {
            if let Some(o) = state.orgs.get_mut(org.as_str()) {
                match value {
                    Some(v) => {
                        o.attrs.insert(
                            key.clone(),
                            Attr {
                                value: v.clone(),
                                since: at(),
                            },
                        );
                    }
                    None => {
                        o.attrs.remove(key.as_str());
                    }
                }
            }
        }
        Body::LabelGranted { label, holder, by } => {
            if let Some(o) = state.orgs.get_mut(holder.as_str()) {
                o.labels.entry(label.clone()).or_insert_with(|| HeldLabel {
                    by: by.clone(),
                    since: at(),
                });
            }
        }
        Body::LabelWithdrawn { label, holder } => {
            if let Some(o) = state.orgs.get_mut(holder.as_str()) {
                o.labels.remove(label.as_str());
            }
        }
        Body::Candidacy {
            label,
            candidate,
            status,
        } => {
            state.candidacies.insert(
                (label.as_str().into(), candidate.as_str().into()),
                Candidacy {
                    status: *status,
                    at: at(),
                },
            );
        }
        Body::ProgramLaunched {
            program,
            name,
            owner,
            kind,
        } => {
            if state.is_used(program) {
                return;
            }
            if let Some(o) = state.orgs.get_mut(owner.as_str()) {
                o.programs.insert(program.clone());
            }
            state.programs.insert(
                program.as_str().into(),
                Program {
                    id: program.clone(),
                    name: name.clone(),
                    owner: owner.clone(),
                    kind: kind.clone(),
                    since: at(),
                    ended: None,
                    figures: Small::new(),
                },
            );
        }
        Body::ProgramEnded { program } => {
            if let Some(p) = state.programs.get_mut(program.as_str())
                && p.ended.is_none()
            {
                p.ended = Some(at());
            }
        }
        Body::SiteOpened { org, site } => {
            if let Some(o) = state.orgs.get_mut(org.as_str()) {
                o.sites.entry(site.clone()).or_insert_with(at);
            }
        }
        Body::SiteClosed { org, site } => {
            if let Some(o) = state.orgs.get_mut(org.as_str()) {
                o.sites.remove(site.as_str());
            }
        }
        Body::Joined {
            org,
            member,
            relation,
        } => {
            let Some(o) = state.orgs.get_mut(org.as_str()) else {
                return;
            };
            o.relations_mut(*relation)
                .entry(member.clone())
                .or_insert_with(at);
            if let Party::Org(m) = member {
                state
                    .member_of
                    .entry(m.as_str().into())
                    .or_default()
                    .insert((org.clone(), *relation));
            }
        }
        Body::Left {
            org,
            member,
            relation,
        } => {
            if let Some(o) = state.orgs.get_mut(org.as_str()) {
                o.relations_mut(*relation).remove(member);
            }
            if let Party::Org(m) = member
                && let Some(set) = state.member_of.get_mut(m.as_str())
            {
                set.remove(&(org.clone(), *relation));
            }
        }
        Body::RoleStarted { org, person, role } => {
            if let Some(o) = state.orgs.get_mut(org.as_str()) {
                o.roles
                    .entry(role.clone())
                    .or_default()
                    .entry(person.clone())
                    .or_insert_with(at);
            }
        }
        Body::RoleEnded { org, person, role } => {
            if let Some(o) = state.orgs.get_mut(org.as_str())
                && let Some(people) = o.roles.get_mut(role.as_str())
            {
                people.remove(person.as_str());
                if people.is_empty() {
                    o.roles.remove(role.as_str());
                }
            }
        }
        Body::Figures { org, values } => {
            let figures = if let Some(o) = state.orgs.get_mut(org.as_str()) {
                &mut o.figures
            } else if let Some(p) = state.programs.get_mut(org.as_str()) {
                &mut p.figures
            } else {
                return;
            };
            for (name, value) in values {
                figures.insert(
                    name.clone(),
                    Figure {
                        value: *value,
                        at: at(),
                        sources: event.sources.clone(),
                    },
                );
            }
        }
        Body::Milestone { .. }
        | Body::Planned { .. }
        | Body::PlanAbandoned { .. }
        | Body::Correction { .. } => {}
    }
}

fn apply_transformed(
    state: &mut State,
    mode: ChangeMode,
    from: &[CompactString],
    to: &[CompactString],
    new: &[OrgSpec],
    at: &Stamp,
) {
    match mode {
        ChangeMode::IdChange => {
            if let (Some(f), Some(t)) = (from.first(), to.first()) {
                change_id(state, f, t, at);
            }
            link(state, from, to, mode, at);
            return;
        }
        ChangeMode::Reestablishment => {
            if let Some(t) = to.first() {
                reestablish(state, t, at);
            }
            link(state, from, to, mode, at);
            return;
        }
        _ => {}
    }
    for spec in new {
        if !state.is_used(&spec.id) {
            state
                .orgs
                .insert(spec.id.as_str().into(), Org::new(spec, at.clone()));
        }
    }
    if matches!(
        mode,
        ChangeMode::Fusion | ChangeMode::Absorption | ChangeMode::Split
    ) {
        for f in from {
            end_org(state, f, EndHow::Transformed(mode), to.to_vec(), at.clone());
        }
    }
    link(state, from, to, mode, at);
}

fn link(
    state: &mut State,
    from: &[CompactString],
    to: &[CompactString],
    mode: ChangeMode,
    at: &Stamp,
) {
    for f in from {
        for t in to {
            if !state.orgs.contains_key(f.as_str()) || !state.orgs.contains_key(t.as_str()) {
                continue;
            }
            if let Some(o) = state.orgs.get_mut(f.as_str()) {
                push_thin(
                    &mut o.successors,
                    Link {
                        id: t.clone(),
                        mode,
                        at: at.clone(),
                    },
                );
            }
            if let Some(o) = state.orgs.get_mut(t.as_str()) {
                push_thin(
                    &mut o.predecessors,
                    Link {
                        id: f.clone(),
                        mode,
                        at: at.clone(),
                    },
                );
            }
        }
    }
}

/// Ends an organisation; its memberships in other organisations end with it.
fn end_org(state: &mut State, id: &str, how: EndHow, into: Vec<CompactString>, at: Stamp) {
    match state.orgs.get_mut(id) {
        Some(o) if o.ended.is_none() => o.ended = Some(Box::new(Ended { at, how, into })),
        _ => return,
    }
    if let Some(set) = state.member_of.remove(id) {
        let party = Party::Org(CompactString::from(id));
        for (org, relation) in set {
            if let Some(o) = state.orgs.get_mut(org.as_str()) {
                o.relations_mut(relation).remove(&party);
            }
        }
    }
}

fn change_id(state: &mut State, from: &str, to: &str, at: &Stamp) {
    if state.is_used(to) {
        return;
    }
    let Some(old) = state.orgs.get_mut(from).filter(|o| o.ended.is_none()) else {
        return;
    };
    let mut moved = Org {
        id: CompactString::from(to),
        name: old.name.clone(),
        kind: old.kind.clone(),
        attrs: old.attrs.clone(),
        since: old.since.clone(),
        ended: None,
        sites: std::mem::take(&mut old.sites),
        labels: std::mem::take(&mut old.labels),
        programs: std::mem::take(&mut old.programs),
        figures: std::mem::take(&mut old.figures),
        roles: std::mem::take(&mut old.roles),
        members: std::mem::take(&mut old.members),
        partners: std::mem::take(&mut old.partners),
        predecessors: ThinVec::new(),
        successors: ThinVec::new(),
        names: old.names.clone(),
        periods: ThinVec::new(),
    };
    old.ended = Some(Box::new(Ended {
        at: at.clone(),
        how: EndHow::Transformed(ChangeMode::IdChange),
        into: vec![CompactString::from(to)],
    }));
    for p in &moved.programs {
        if let Some(p) = state.programs.get_mut(p.as_str()) {
            p.owner = CompactString::from(to);
        }
    }
    // Its own members that are organisations now belong to the new id.
    for (relation, map) in [
        (Relation::Member, &moved.members),
        (Relation::Partner, &moved.partners),
    ] {
        for party in map.keys() {
            if let Party::Org(m) = party
                && let Some(set) = state.member_of.get_mut(m.as_str())
            {
                set.remove(&(CompactString::from(from), relation));
                set.insert((CompactString::from(to), relation));
            }
        }
    }
    // Its memberships elsewhere carry over to the new id.
    if let Some(set) = state.member_of.remove(from) {
        let (old_party, new_party) = (
            Party::Org(CompactString::from(from)),
            Party::Org(CompactString::from(to)),
        );
        for (org, relation) in &set {
            let target = if org == from {
                &mut moved
            } else {
                match state.orgs.get_mut(org.as_str()) {
                    Some(o) => o,
                    None => continue,
                }
            };
            let map = target.relations_mut(*relation);
            if let Some(stamp) = map.remove(&old_party) {
                map.insert(new_party.clone(), stamp);
            }
        }
        state.member_of.insert(to.into(), set);
    }
    state.orgs.insert(to.into(), Box::new(moved));
}

fn reestablish(state: &mut State, id: &str, at: &Stamp) {
    let Some(o) = state.orgs.get_mut(id) else {
        return;
    };
    let Some(ended) = o.ended.take() else {
        return;
    };
    let since = std::mem::replace(&mut o.since, at.clone());
    push_thin(
        &mut o.periods,
        Period {
            since,
            ended: *ended,
        },
    );
    // A new period of existence starts afresh: only identity carries over.
    o.sites.clear();
    o.labels.clear();
    o.figures.clear();
    o.roles.clear();
    o.programs.clear();
    let members = std::mem::take(&mut o.members);
    let partners = std::mem::take(&mut o.partners);
    for (relation, map) in [(Relation::Member, members), (Relation::Partner, partners)] {
        for (party, _) in map {
            if let Party::Org(m) = party
                && let Some(set) = state.member_of.get_mut(m.as_str())
            {
                set.remove(&(CompactString::from(id), relation));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------

/// Which rule an event breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A referenced organisation or program does not exist on the date.
    UnknownId,
    /// A referenced organisation or program has ended before the date.
    Ended,
    /// An id that was already used is used again.
    IdReused,
    /// The fact already holds (label held, site open, role held, member).
    AlreadyHolds,
    /// The fact to end does not hold (label, site, role, membership,
    /// attribute).
    NotHeld,
    /// A re-establishment whose target did not end in a merger.
    Reestablishment,
    /// A correction's target is missing, a correction, or already corrected.
    CorrectionTarget,
    /// A `fulfils` names no plan, or one already closed or corrected.
    FulfilsTarget,
    /// A `plan_abandoned` names no plan, or one already closed or
    /// corrected.
    PlanTarget,
    /// A rename to the name the organisation already has, or an attribute
    /// set to the value it already holds: checked only for the events
    /// being appended ([`check_appended`]).
    NoChange,
    /// A figure named like a series the organisation or program already
    /// has, or like another figure of the same event, but for case or
    /// spaces: checked only for the events being appended
    /// ([`check_appended`]).
    SeriesName,
    /// An id listed more than once in a milestone's `orgs`: checked only for the
    /// events being appended ([`check_appended`]).
    RepeatedId,
    /// An event (or a correction's replacement) dated after the day it is
    /// appended: checked only for the events being appended
    /// ([`dated_after`]).
    Future,
    /// A source's `url` that is surely not a URL: checked only for the
    /// events being appended ([`bad_url`]).
    Url,
}

impl Rule {
    /// Snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::UnknownId => "unknown_id",
            Rule::Ended => "ended",
            Rule::IdReused => "id_reused",
            Rule::AlreadyHolds => "already_holds",
            Rule::NotHeld => "not_held",
            Rule::Reestablishment => "reestablishment",
            Rule::CorrectionTarget => "correction_target",
            Rule::FulfilsTarget => "fulfils_target",
            Rule::PlanTarget => "plan_target",
            Rule::NoChange => "no_change",
            Rule::SeriesName => "series_name",
            Rule::RepeatedId => "repeated_id",
            Rule::Future => "future",
            Rule::Url => "url",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an event does not fit the history just before it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", hint_suffix(.hint.as_deref()))]
pub struct Rejection {
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong, quoting ids and dates.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The id the rule is about, if any.
    pub id: Option<String>,
}

fn hint_suffix(hint: Option<&str>) -> String {
    hint.map(|h| format!(" (hint: {h})")).unwrap_or_default()
}

impl Rejection {
    fn new(rule: Rule, message: String) -> Rejection {
        Rejection {
            rule,
            message,
            hint: None,
            id: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Rejection {
        self.hint = Some(hint.into());
        self
    }

    fn about(mut self, id: &str) -> Rejection {
        self.id = Some(id.to_owned());
        self
    }
}

fn quoted(ids: &[impl std::fmt::Display]) -> String {
    let list: Vec<String> = ids.iter().map(|i| format!("`{i}`")).collect();
    list.join(", ")
}

fn describe_end(e: &Ended) -> String {
    match e.how {
        EndHow::Dissolved => "dissolved".to_owned(),
        EndHow::Transformed(m) => format!("{} into {}", m.as_str(), quoted(&e.into)),
    }
}

/// The organisations an ended one became that have not ended in `state`:
/// its successors, and, for each that ended in a change too, what that one
/// became, in the order found, each once.
fn living_successors<'s>(state: &'s State, ended: &'s Ended) -> Vec<&'s str> {
    let mut living = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut next: Vec<&str> = ended.into.iter().rev().map(CompactString::as_str).collect();
    while let Some(id) = next.pop() {
        if !seen.insert(id) {
            continue;
        }
        match state.orgs.get(id).map(|o| &o.ended) {
            Some(None) => living.push(id),
            Some(Some(e)) => next.extend(e.into.iter().rev().map(CompactString::as_str)),
            None => {}
        }
    }
    living
}

/// The organisation `id` as referenced by `field` of an event dated `date`:
/// it must exist and not have ended.
fn need_org<'s>(
    state: &'s State,
    id: &str,
    field: &str,
    date: &Date,
) -> Result<&'s Org, Rejection> {
    match state.orgs.get(id) {
        Some(o) => match &o.ended {
            None => Ok(o),
            Some(e) => Err(Rejection::new(
                Rule::Ended,
                format!(
                    "organisation `{id}` (field `{field}`) ended on {} ({}); an event dated {date} cannot refer to it",
                    e.at.date,
                    describe_end(e)
                ),
            )
            .hint(match e.how {
                EndHow::Dissolved => format!(
                    "if this happened before {}, correct one of the two dates",
                    e.at.date
                ),
                EndHow::Transformed(_) => {
                    let living = living_successors(state, e);
                    if living.len() == e.into.len() && e.into.iter().all(|s| living.contains(&s.as_str())) {
                        format!(
                            "refer to its successor ({}), or correct the date if this happened before {}",
                            quoted(&e.into),
                            e.at.date
                        )
                    } else if living.is_empty() {
                        format!(
                            "what it went into ({}) has ended too, and nothing it became exists on {date}; correct the date if this happened before {}",
                            quoted(&e.into),
                            e.at.date
                        )
                    } else {
                        format!(
                            "refer to what it became by {date}, {} (its successor {} has ended too), or correct the date if this happened before {}",
                            quoted(&living),
                            quoted(&e.into),
                            e.at.date
                        )
                    }
                }
            })
            .about(id)),
        },
        None if state.programs.contains_key(id) => Err(Rejection::new(
            Rule::UnknownId,
            format!("`{id}` (field `{field}`) is a program, not an organisation"),
        )
        .hint("programs share the id space but cannot hold, own or join")
        .about(id)),
        None => Err(Rejection::new(
            Rule::UnknownId,
            format!("organisation `{id}` (field `{field}`) does not exist on {date}"),
        )
        .hint(format!(
            "append a `created` (or `transformed`) event for `{id}` dated on or before {date} first"
        ))
        .about(id)),
    }
}

/// An organisation or a running program (figures and milestones may be
/// about either).
fn need_org_or_program(state: &State, id: &str, field: &str, date: &Date) -> Result<(), Rejection> {
    if let Some(p) = state.programs.get(id) {
        return need_program(state, &p.id, field, date).map(|_| ());
    }
    need_org(state, id, field, date).map(|_| ())
}

fn need_program<'s>(
    state: &'s State,
    id: &str,
    field: &str,
    date: &Date,
) -> Result<&'s Program, Rejection> {
    match state.programs.get(id) {
        Some(p) => match &p.ended {
            None => Ok(p),
            Some(e) => Err(Rejection::new(
                Rule::Ended,
                format!(
                    "program `{id}` (field `{field}`) ended on {}; an event dated {date} cannot refer to it",
                    e.date
                ),
            )
            .hint(format!("if this happened before {}, correct one of the two dates", e.date))
            .about(id)),
        },
        None if state.orgs.contains_key(id) => Err(Rejection::new(
            Rule::UnknownId,
            format!("`{id}` (field `{field}`) is an organisation, not a program"),
        )
        .about(id)),
        None => Err(Rejection::new(
            Rule::UnknownId,
            format!("program `{id}` (field `{field}`) is not running on {date}"),
        )
        .hint(format!(
            "append its `program_launched` event dated on or before {date} first"
        ))
        .about(id)),
    }
}

fn need_unused(state: &State, id: &str, field: &str) -> Result<(), Rejection> {
    let used = state
        .orgs
        .get(id)
        .map(|o| ("organisation", &o.since, o.ended.is_some()))
        .or_else(|| {
            state
                .programs
                .get(id)
                .map(|p| ("program", &p.since, p.ended.is_some()))
        });
    match used {
        None => Ok(()),
        Some((what, since, ended)) => Err(Rejection::new(
            Rule::IdReused,
            format!(
                "id `{id}` (field `{field}`) is already used by the {what} started on {} (seq {}){}; ids are never reused",
                since.date,
                since.seq,
                if ended { ", which has ended" } else { "" }
            ),
        )
        .hint(format!(
            "choose another id (e.g. `{id}-2`); to bring an organisation that ended in a merger back, use `transformed` with mode `reestablishment`"
        ))
        .about(id)),
    }
}

/// [`check`], and the rules only events being appended must obey: a
/// `renamed` changes the name and an `attribute_set` the value (rule
/// `no_change`), a figure does not start a series named like another
/// but for case or spaces (rule `series_name`), and a milestone lists each
/// id once (rule `repeated_id`). Records already in a
/// ledger are not held to these, so a ledger that holds such a record
/// stays consistent (it did not break a rule when it was appended).
pub fn check_appended(state: &State, event: &Event) -> Result<(), Rejection> {
    check(state, event)?;
    let date = &event.date;
    match &event.body {
        Body::Renamed { org, name } => match state.orgs.get(org.as_str()) {
            Some(o) if o.name == *name => Err(Rejection::new(
                Rule::NoChange,
                format!("`{org}` is already named \"{}\" on {date}; a rename gives a new name", crate::view::one_line(name)),
            )
            .hint(
                // The first of the names that are this one up to now (a
                // record that changed nothing may follow it, written
                // before this rule).
                match o.names.iter().rev().take_while(|n| n.name == *name).last() {
                    Some(n) => format!(
                        "it is named so since {} (seq {}); leave this event out (another source for the name belongs on that record: supersede it with one that cites both, unless it is itself a correction)",
                        n.since.date, n.since.seq
                    ),
                    None => "leave this event out".to_owned(),
                },
            )
            .about(org)),
            _ => Ok(()),
        },
        Body::AttributeSet {
            org,
            key,
            value: Some(value),
        } => match state.orgs.get(org.as_str()).and_then(|o| o.attrs.get(key.as_str())) {
            Some(held) if held.value == *value => Err(Rejection::new(
                Rule::NoChange,
                format!(
                    "attribute `{key}` of `{org}` is already \"{}\" on {date}",
                    crate::view::one_line(value)
                ),
            )
            .hint(format!(
                "seq {} set it last, dated {}; leave this event out (another source for the value belongs on the record that set it: supersede it with one that cites both, unless it is itself a correction)",
                held.since.seq, held.since.date
            ))
            .about(org)),
            _ => Ok(()),
        },
        Body::Figures { org, values } => check_series_names(state, org, values, date),
        Body::Milestone { orgs, .. } => match crate::event::first_duplicate(orgs.iter()) {
            Some(id) => Err(Rejection::new(
                Rule::RepeatedId,
                format!("`{id}` is listed more than once in the milestone's `orgs` (dated {date})"),
            )
            .hint("list each organisation once")
            .about(id)),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Rule `future` for a batch appended on `today`: no event, and no
/// correction's replacement, is dated after it, a day of grace aside (a
/// date names a local day, and some time zones are a day ahead of UTC). A
/// plan's planned event may be dated later; the plan's own date, when it
/// was stated, may not. The first event of `batch` that breaks it (its
/// index), and why.
pub fn dated_after(batch: &[Event], today: NaiveDate) -> Option<(usize, Rejection)> {
    let last = today.succ_opt()?;
    batch.iter().enumerate().find_map(|(i, event)| {
        let replacement = match &event.body {
            Body::Correction {
                replacement: Some(r),
                ..
            } => Some(r),
            _ => None,
        };
        let (what, failing) = match replacement {
            Some(r) if r.date.start() > last => ("its replacement is", &**r),
            _ if event.date.start() > last => ("it is", event),
            _ => return None,
        };
        let date = &failing.date;
        let hint = if matches!(failing.body, Body::Planned { .. }) {
            "a plan is dated when it was stated; the date it is for goes in `planned.date`"
        } else {
            "a record states what has happened; for a change announced for a later date, append a `planned` event dated when it was announced, and the event itself once it happens (its `fulfils` naming the plan); if the date is a typo, fix it"
        };
        Some((
            i,
            Rejection::new(
                Rule::Future,
                format!(
                    "{what} dated {date}, after {today}, the day it is appended"
                ),
            )
            .hint(hint),
        ))
    })
}

/// Rule `url` for a batch: every source's `url` (the event's, a plan's
/// planned event's, a correction's replacement's) is an absolute URL as far
/// as a few plain checks can tell (see [`url_problem`]). The first event of
/// `batch` that breaks it (its index), and why.
pub fn bad_url(batch: &[Event]) -> Option<(usize, Rejection)> {
    batch.iter().enumerate().find_map(|(i, event)| {
        let mut found = None;
        each_source(event, "", &mut |within, i, source| {
            if found.is_some() {
                return;
            }
            let Some(url) = source.url.as_deref() else {
                return;
            };
            if let Some(why) = url_problem(url) {
                found = Some(
                    Rejection::new(
                        Rule::Url,
                        format!(
                            "`{within}sources[{i}].url` {} is not a URL: {why}",
                            shown_url(url)
                        ),
                    )
                    .hint("write the address in full, as a browser shows it: `https://` and all, a space as `%20`; a document with no address needs no `url`"),
                );
            }
        });
        found.map(|r| (i, r))
    })
}

/// `url` quoted for a message, cut after 200 characters so that the
/// reason and the hint after it stay on screen.
fn shown_url(url: &str) -> String {
    const SHOWN: usize = 200;
    match url.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!(
            "{}… ({} more characters)",
            as_json(url.get(..cut).unwrap_or(url)),
            url.get(cut..).unwrap_or_default().chars().count()
        ),
        None => as_json(url),
    }
}

/// Calls `f` with each source of `event`, with where it is: the path of
/// the event holding it (`""`, `"planned."`, `"replacement."`…) and its
/// index in that event's `sources`. (No path is built for each source: a
/// batch of 10^5 events is checked on the append's critical path.)
fn each_source(event: &Event, prefix: &str, f: &mut dyn FnMut(&str, usize, &crate::event::Source)) {
    for (i, source) in event.sources.iter().enumerate() {
        f(prefix, i, source);
    }
    match &event.body {
        Body::Planned { planned } => each_source(planned, &format!("{prefix}planned."), f),
        Body::Correction {
            replacement: Some(r),
            ..
        } => each_source(r, &format!("{prefix}replacement."), f),
        _ => {}
    }
}

/// Why `url` is surely not an absolute URL, if it is not: it holds
/// whitespace or a control character, it has no scheme (letters, digits,
/// `+`, `-` or `.`, starting with a letter, then `:`), or it is an `http`
/// or `https` URL with no `//` and host (what comes before the first `/`,
/// `?` or `#`, without a user before `@` or a port after `:`). Not a URL
/// parser: `lemonde.fr/x` is refused, `example.org:8080/x` (read as the
/// scheme `example.org`) is not.
pub fn url_problem(url: &str) -> Option<&'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it holds a space or a control character");
    }
    let scheme = url.split_once(':').map(|(scheme, _)| scheme);
    let is_scheme = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    };
    let Some(scheme) = scheme.filter(|s| is_scheme(s)) else {
        return Some("it does not start with a scheme such as `https:`");
    };
    let rest = url.get(scheme.len() + 1..).unwrap_or_default();
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        let host = rest.strip_prefix("//").map(|r| {
            let authority = r.split(['/', '?', '#']).next().unwrap_or_default();
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            // An IPv6 address in brackets holds colons of its own.
            if host_port.starts_with('[') {
                host_port
            } else {
                host_port.split(':').next().unwrap_or_default()
            }
        });
        if host.is_none_or(str::is_empty) {
            return Some("an `http` or `https` URL names its host after `//`");
        }
    }
    None
}

/// Rule `series_name` for a `figures` event of `org`: each name is one the
/// organisation's (or program's) figures already use, or differs from all
/// of them, and from the event's other names, by more than case or
/// spaces.
fn check_series_names(
    state: &State,
    org: &str,
    values: &BTreeMap<CompactString, u64>,
    date: &Date,
) -> Result<(), Rejection> {
    let held = match state.orgs.get(org) {
        Some(o) => Some(&o.figures),
        None => state.programs.get(org).map(|p| &p.figures),
    };
    let same = crate::event::loose_eq;
    for name in values.keys() {
        if let Some(other) = values.keys().find(|n| *n != name && same(n, name)) {
            return Err(Rejection::new(
                Rule::SeriesName,
                format!(
                    "the figures {} and {} of `{org}` dated {date} differ only by case or spaces, so they would be two series of one measure",
                    as_json(other),
                    as_json(name)
                ),
            )
            .hint("keep one of them, under one name")
            .about(org));
        }
        let Some(held) = held else { continue };
        if held.contains_key(name.as_str()) {
            continue;
        }
        if let Some((series, last)) = held.iter().find(|(n, _)| same(n, name)) {
            return Err(second_series(org, name, date, series, &last.at));
        }
    }
    Ok(())
}

/// `text` as a JSON string: quoted, every control character escaped, so
/// that names differing only by white space read apart.
fn as_json(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
}

/// Rule `series_name`'s refusal of the figure `name` of `org` dated `date`,
/// named like the series `series` that the record of `by` uses.
fn second_series(org: &str, name: &str, date: &Date, series: &str, by: &Stamp) -> Rejection {
    Rejection::new(
        Rule::SeriesName,
        format!(
            "the figure {} of `{org}` dated {date} is named like its series {} but for case or spaces, so it would start a second series of one measure",
            as_json(name),
            as_json(series)
        ),
    )
    .hint(format!(
        "name it {}, as seq {} did (its figure for {}); a name that differs by more than case or spaces starts a new series",
        as_json(series),
        by.seq,
        by.date
    ))
    .about(org)
}

/// Rule `series_name` for the batch's `figures` (the items of `timeline`
/// from `first_seq` on) against the series that records later in the
/// timeline (but not in the batch) measure in the same period of the
/// organisation: under the same id, or an id it takes later through id
/// changes, until it is re-established (which starts its figures
/// afresh). A figure backdated before its series began is held to it too,
/// which the state just before it cannot show. The position in `timeline`
/// of the first that breaks it, and why.
fn series_named_later(timeline: &[Effective<'_>], first_seq: u64) -> Option<(usize, Rejection)> {
    let in_batch = |e: &Effective<'_>| e.seq >= first_seq;
    let is_figures = |e: &Effective<'_>| matches!(e.event.body, Body::Figures { .. });
    if !timeline.iter().any(|e| in_batch(e) && is_figures(e)) {
        return None;
    }
    // Each id's line of figures (a period of the organisation, across its
    // id changes); the names the records before the batch give each line,
    // with their positions and stamps; the batch's figures with their line.
    let mut line_of: HashMap<&str, usize> = HashMap::new();
    let mut lines = 0usize;
    let mut line = |line_of: &mut HashMap<_, _>, id| {
        *line_of.entry(id).or_insert_with(|| {
            lines += 1;
            lines
        })
    };
    let mut named: HashMap<usize, Vec<(usize, &str, Stamp)>> = HashMap::new();
    let mut batch: Vec<(usize, usize)> = Vec::new();
    for (pos, e) in timeline.iter().enumerate() {
        match &e.event.body {
            Body::Transformed {
                mode: ChangeMode::IdChange,
                from,
                to,
                ..
            } => {
                if let (Some(f), Some(t)) = (from.first(), to.first()) {
                    let l = line(&mut line_of, f.as_str());
                    line_of.insert(t.as_str(), l);
                }
            }
            Body::Transformed {
                mode: ChangeMode::Reestablishment,
                to,
                ..
            } => {
                for t in to {
                    line_of.remove(t.as_str());
                }
            }
            Body::Figures { org, values } => {
                let l = line(&mut line_of, org.as_str());
                if in_batch(e) {
                    batch.push((pos, l));
                } else {
                    let stamp = Stamp {
                        date: e.event.date.clone(),
                        seq: e.seq,
                    };
                    let names = named.entry(l).or_default();
                    names.extend(values.keys().map(|n| (pos, n.as_str(), stamp.clone())));
                }
            }
            _ => {}
        }
    }
    batch.into_iter().find_map(|(pos, l)| {
        let e = timeline.get(pos)?;
        let Body::Figures { org, values } = &e.event.body else {
            return None;
        };
        let names = named.get(&l).map_or(&[][..], Vec::as_slice);
        // A series this period already has under this very name (before
        // or after) goes on.
        let held = |name: &str| names.iter().any(|(_, n, _)| *n == name);
        values.keys().filter(|n| !held(n)).find_map(|name| {
            let (_, series, by) =
                (names.iter()).find(|(p, n, _)| *p > pos && crate::event::loose_eq(n, name))?;
            Some((pos, second_series(org, name, &e.event.date, series, by)))
        })
    })
}

/// Checks one event against the state just before it (every effective
/// event that sorts before it in timeline order), by the rules of [`Rule`]
/// but [`Rule::NoChange`], which only [`check_appended`] adds. Plans are
/// shape-checked only: neither the planned event nor the plan's stated
/// date needs live organisations. Corrections and `fulfils` concern hashes
/// and are checked by [`validate`].
pub fn check(state: &State, event: &Event) -> Result<(), Rejection> {
    let date = &event.date;
    match &event.body {
        Body::Created { org } => need_unused(state, &org.id, "id"),
        Body::Transformed {
            mode,
            from,
            to,
            new,
        } => check_transformed(state, *mode, from, to, new, date),
        Body::Renamed { org, .. } | Body::Dissolved { org } => {
            need_org(state, org, "org", date).map(|_| ())
        }
        Body::AttributeSet { org, key, value } => {
            let o = need_org(state, org, "org", date)?;
            if value.is_none() && !o.attrs.contains_key(key.as_str()) {
                return Err(Rejection::new(
                    Rule::NotHeld,
                    format!("attribute `{key}` of `{org}` is not set on {date}; nothing to remove"),
                )
                .hint(held_list("attributes set", o.attrs.keys()))
                .about(org));
            }
            Ok(())
        }
        Body::LabelGranted { label, holder, .. } => {
            let o = need_org(state, holder, "holder", date)?;
            match o.labels.get(label.as_str()) {
                Some(h) => Err(Rejection::new(
                    Rule::AlreadyHolds,
                    format!(
                        "`{holder}` already holds label \"{label}\" since {} (seq {})",
                        h.since.date, h.since.seq
                    ),
                )
                .hint("a renewal is a `milestone`; to change the granting body, withdraw the label first")
                .about(holder)),
                None => Ok(()),
            }
        }
        Body::LabelWithdrawn { label, holder } => {
            let o = need_org(state, holder, "holder", date)?;
            if o.labels.contains_key(label.as_str()) {
                Ok(())
            } else {
                Err(Rejection::new(
                    Rule::NotHeld,
                    format!("`{holder}` does not hold label \"{label}\" on {date}"),
                )
                .hint(held_list("labels held", o.labels.keys()))
                .about(holder))
            }
        }
        Body::Candidacy { candidate, .. } => {
            need_org(state, candidate, "candidate", date).map(|_| ())
        }
        Body::ProgramLaunched { program, owner, .. } => {
            need_unused(state, program, "program")?;
            need_org(state, owner, "owner", date).map(|_| ())
        }
        Body::ProgramEnded { program } => need_program(state, program, "program", date).map(|_| ()),
        Body::SiteOpened { org, site } => {
            let o = need_org(state, org, "org", date)?;
            match o.sites.get(site.as_str()) {
                Some(s) => Err(Rejection::new(
                    Rule::AlreadyHolds,
                    format!(
                        "`{org}` already has a site at \"{site}\" since {} (seq {})",
                        s.date, s.seq
                    ),
                )
                .about(org)),
                None => Ok(()),
            }
        }
        Body::SiteClosed { org, site } => {
            let o = need_org(state, org, "org", date)?;
            if o.sites.contains_key(site.as_str()) {
                Ok(())
            } else {
                Err(Rejection::new(
                    Rule::NotHeld,
                    format!("`{org}` has no open site at \"{site}\" on {date}"),
                )
                .hint(held_list("open sites", o.sites.keys()))
                .about(org))
            }
        }
        Body::Joined {
            org,
            member,
            relation,
        } => {
            let o = need_org(state, org, "org", date)?;
            if let Party::Org(m) = member {
                need_org(state, m, "member.org", date)?;
            }
            match o.relations(*relation).get(member) {
                Some(s) => Err(Rejection::new(
                    Rule::AlreadyHolds,
                    format!(
                        "{member} is already a {} of `{org}` since {} (seq {})",
                        relation_word(*relation),
                        s.date,
                        s.seq
                    ),
                )
                .about(org)),
                None => Ok(()),
            }
        }
        Body::Left {
            org,
            member,
            relation,
        } => {
            let o = need_org(state, org, "org", date)?;
            if o.relations(*relation).contains_key(member) {
                Ok(())
            } else {
                let mut r = Rejection::new(
                    Rule::NotHeld,
                    format!(
                        "{member} is not a {} of `{org}` on {date}",
                        relation_word(*relation)
                    ),
                )
                .about(org);
                let ended = match member {
                    Party::Org(m) => (state.orgs.get(m.as_str()))
                        .and_then(|x| x.ended.as_deref())
                        .map(|e| (m, e)),
                    Party::Name(_) => None,
                };
                if let Some((m, e)) = ended {
                    r = r.hint(match (&e.how, e.into.first()) {
                        (EndHow::Transformed(ChangeMode::IdChange), Some(to)) => format!(
                            "`{m}` changed id to `{to}` on {} (seq {}), and its memberships moved with it: name `{to}`",
                            e.at.date, e.at.seq
                        ),
                        _ => format!("`{m}` has ended, and its memberships ended with it"),
                    });
                } else {
                    let other = match relation {
                        Relation::Member => Relation::Partner,
                        Relation::Partner => Relation::Member,
                    };
                    if let Some(s) = o.relations(other).get(member) {
                        r = r.hint(format!(
                            "{member} is a {} of `{org}` (since {}, seq {}): write `\"relation\": \"{}\"`",
                            relation_word(other),
                            s.date,
                            s.seq,
                            relation_word(other)
                        ));
                    }
                }
                Err(r)
            }
        }
        Body::RoleStarted { org, person, role } => {
            let o = need_org(state, org, "org", date)?;
            match o.role(role, person) {
                Some(s) => Err(Rejection::new(
                    Rule::AlreadyHolds,
                    format!(
                        "\"{person}\" is already {role} of `{org}` since {} (seq {})",
                        s.date, s.seq
                    ),
                )
                .about(org)),
                None => Ok(()),
            }
        }
        Body::RoleEnded { org, person, role } => {
            let o = need_org(state, org, "org", date)?;
            if o.role(role, person).is_some() {
                Ok(())
            } else {
                let holders = o.roles.get(role.as_str()).map(|p| p.keys());
                let r = Rejection::new(
                    Rule::NotHeld,
                    format!("\"{person}\" is not {role} of `{org}` on {date}"),
                )
                .about(org);
                // The roles the person holds there, and who holds this one.
                let theirs: Vec<&CompactString> = (o.roles.iter())
                    .filter(|(_, people)| people.contains_key(person.as_str()))
                    .map(|(role, _)| role)
                    .collect();
                let theirs = (!theirs.is_empty()).then(|| {
                    held_list(
                        &format!("roles \"{person}\" holds at `{org}`"),
                        theirs.into_iter(),
                    )
                });
                let hint = match (holders, theirs) {
                    (Some(h), Some(theirs)) => {
                        format!("{}; {theirs}", held_list(&format!("{role}s"), h))
                    }
                    (Some(h), None) => held_list(&format!("{role}s"), h),
                    (None, Some(theirs)) => theirs,
                    // No one holds that role: name the roles there are.
                    (None, None) => held_list(&format!("roles held at `{org}`"), o.roles.keys()),
                };
                Err(r.hint(hint))
            }
        }
        Body::Figures { org, .. } => need_org_or_program(state, org, "org", date),
        Body::Milestone { orgs, .. } => {
            for (i, o) in orgs.iter().enumerate() {
                need_org_or_program(state, o, &format!("orgs[{i}]"), date)?;
            }
            Ok(())
        }
        Body::Planned { .. } | Body::PlanAbandoned { .. } | Body::Correction { .. } => Ok(()),
    }
}

fn held_list(what: &str, items: impl Iterator<Item = impl std::fmt::Display>) -> String {
    let list: Vec<String> = items.map(|s| format!("\"{s}\"")).collect();
    if list.is_empty() {
        format!("{what}: none")
    } else {
        format!("{what}: {}", list.join(", "))
    }
}

fn relation_word(r: Relation) -> &'static str {
    match r {
        Relation::Member => "member",
        Relation::Partner => "partner",
    }
}

fn check_transformed(
    state: &State,
    mode: ChangeMode,
    from: &[CompactString],
    to: &[CompactString],
    new: &[OrgSpec],
    date: &Date,
) -> Result<(), Rejection> {
    for (i, f) in from.iter().enumerate() {
        need_org(state, f, &format!("from[{i}]"), date)?;
    }
    for (i, n) in new.iter().enumerate() {
        need_unused(state, &n.id, &format!("new[{i}].id"))?;
    }
    let is_new = |t: &CompactString| new.iter().any(|n| n.id == *t);
    for (i, t) in to.iter().enumerate().filter(|(_, t)| !is_new(t)) {
        let field = format!("to[{i}]");
        match mode {
            ChangeMode::IdChange => need_unused(state, t, &field)?,
            ChangeMode::Reestablishment => check_reestablishment(state, from, t, date)?,
            _ => {
                need_org(state, t, &field, date)?;
            }
        }
    }
    Ok(())
}

fn check_reestablishment(
    state: &State,
    from: &[CompactString],
    target: &str,
    date: &Date,
) -> Result<(), Rejection> {
    let Some(o) = state.orgs.get(target) else {
        return Err(Rejection::new(
            Rule::Reestablishment,
            format!("`{target}` (field `to[0]`) never existed before {date}, so it cannot be re-established"),
        )
        .hint("a re-establishment brings back an organisation that ended in a merger; to create a new one use `spin_off`")
        .about(target));
    };
    let Some(ended) = &o.ended else {
        return Err(Rejection::new(
            Rule::Reestablishment,
            format!("`{target}` still exists on {date}; only an organisation that ended in a merger can be re-established"),
        )
        .about(target));
    };
    if !matches!(
        ended.how,
        EndHow::Transformed(ChangeMode::Fusion | ChangeMode::Absorption)
    ) {
        return Err(Rejection::new(
            Rule::Reestablishment,
            format!(
                "`{target}` ended on {} ({}), not in a merger (fusion or absorption), so it cannot be re-established",
                ended.at.date,
                describe_end(ended)
            ),
        )
        .hint("create a new organisation with a new id instead")
        .about(target));
    }
    // The organisation it comes out of must descend from the merger.
    let Some(source) = from.first() else {
        return Ok(());
    };
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack: Vec<&str> = ended.into.iter().map(CompactString::as_str).collect();
    while let Some(id) = stack.pop() {
        if id == source {
            return Ok(());
        }
        if !seen.insert(id) {
            continue;
        }
        if let Some(x) = state.orgs.get(id) {
            stack.extend(x.successors.iter().map(|l| l.id.as_str()));
        }
    }
    Err(Rejection::new(
        Rule::Reestablishment,
        format!(
            "`{target}` merged into {} on {}, and `{source}` does not descend from that merger",
            quoted(&ended.into),
            ended.at.date
        ),
    )
    .hint("`from` must be the organisation it merged into, or one of its successors")
    .about(target))
}

// ---------------------------------------------------------------------------
// validate
// ---------------------------------------------------------------------------

/// Why a batch cannot be appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A batch event does not fit the history before it.
    #[error("event #{} of the batch (seq {seq}, `{event_type}`) is rejected: {rule}", .index + 1)]
    Rejected {
        /// 0-based index in the batch.
        index: usize,
        /// The seq it would get.
        seq: u64,
        /// Its type.
        event_type: &'static str,
        /// The rule broken.
        rule: Rejection,
    },
    /// A batch event (backdated, or a correction) would make an existing
    /// record invalid.
    #[error("appending event #{} of the batch (seq {by_seq}) would make seq {existing_seq} invalid: {rule}", .by_index + 1)]
    Breaks {
        /// The existing record that would become invalid (for a
        /// replacement, the correction's seq).
        existing_seq: u64,
        /// 0-based index of the batch event held responsible.
        by_index: usize,
        /// Its seq.
        by_seq: u64,
        /// The rule the existing record would break.
        rule: Rejection,
    },
    /// The existing ledger is already inconsistent, whatever is appended.
    #[error(
        "the ledger is already inconsistent at seq {seq}: {rule}; nothing can be appended until it is corrected"
    )]
    History {
        /// The first existing record that breaks a rule.
        seq: u64,
        /// The rule.
        rule: Rejection,
    },
}

/// Validates a batch about to be appended at seqs `first_seq..` after
/// `history` (every record, seq order).
///
/// Corrections and `fulfils` are checked against the records known before
/// each event; then the whole effective timeline at the new head is folded
/// again, checking every event against the state before it in timeline
/// order, so a backdated event that makes a later record invalid is caught.
/// Cost: O(n log n) in the ledger's size.
pub fn validate(history: &[Entry], batch: &[Event], first_seq: u64) -> Result<(), ValidationError> {
    if batch.is_empty() {
        return Ok(());
    }
    validate_observed(history, batch, first_seq, &mut |_, _| {}).map(|_| ())
}

/// [`validate`], handing every effective event of the new timeline, in
/// timeline order, to `observe` with the state just before it, and
/// returning the state at the end of the timeline: what the append index
/// is built from without folding the ledger a second time.
pub fn validate_observed(
    history: &[Entry],
    batch: &[Event],
    first_seq: u64,
    observe: &mut dyn FnMut(&State, &Effective<'_>),
) -> Result<State, ValidationError> {
    check_links(history, batch, first_seq)?;
    let items = items_of(history, batch, first_seq);
    let knowledge = Knowledge::from_items(&items, u64::MAX);
    let (pos, rule) = match fold_checked_observed(&knowledge, first_seq, observe) {
        Ok(state) => match series_named_later(&knowledge.timeline, first_seq) {
            None => return Ok(state),
            Some(failure) => failure,
        },
        Err(failure) => failure,
    };
    let failing = knowledge.timeline[pos];
    let rule = explain_unknown(rule, &knowledge, pos);
    if failing.seq >= first_seq {
        let index = usize::try_from(failing.seq - first_seq).unwrap_or(0);
        let event_type = batch.get(index).map_or("", Event::type_name);
        let rule = if failing.supersedes.is_some() {
            Rejection {
                message: format!(
                    "its replacement (`{}` dated {}) {}",
                    failing.event.type_name(),
                    failing.event.date,
                    rule.message
                ),
                ..rule
            }
        } else {
            rule
        };
        return Err(ValidationError::Rejected {
            index,
            seq: failing.seq,
            event_type,
            rule,
        });
    }
    // An existing record fails: is the history alone consistent?
    let old_items = items_of(history, &[], first_seq);
    let old = Knowledge::from_items(&old_items, u64::MAX);
    if let Err((p, r)) = fold_checked(&old) {
        return Err(ValidationError::History {
            seq: old.timeline[p].seq,
            rule: explain_unknown(r, &old, p),
        });
    }
    let by_index = blame(&knowledge, pos, history, batch, first_seq);
    // A correction's replacement cannot be corrected: no hint for it.
    let rule = if rule.hint.is_none() && failing.supersedes.is_none() {
        let seq = failing.seq;
        rule.hint(format!(
            "if seq {seq} is what is wrong, correct it: a `correction` that retracts seq {seq}, or supersedes it with the right record, alone or in this batch (`fusion log --seq {seq} --format json` shows its hash)"
        ))
    } else {
        rule
    };
    Err(ValidationError::Breaks {
        existing_seq: failing.seq,
        by_index,
        by_seq: first_seq + by_index as u64,
        rule,
    })
}

impl ValidationError {
    /// The 0-based index of the batch event the error names (the one
    /// rejected, or the one blamed for breaking an existing record);
    /// `None` when the history itself is inconsistent.
    pub fn batch_index(&self) -> Option<usize> {
        match self {
            ValidationError::Rejected { index, .. } => Some(*index),
            ValidationError::Breaks { by_index, .. } => Some(*by_index),
            _ => None,
        }
    }
}

/// What [`recheck_touched`] re-checked.
#[derive(Debug)]
pub struct Rechecked {
    /// The state the re-checked records fold to: the state at the end of
    /// the new timeline of every id in `ids`, and of no other.
    pub state: State,
    /// The ids whose timelines were re-checked: those the batch mentions,
    /// and every id connected to them through records that mention both
    /// (in any order, through any number of records; a correction and the
    /// record it names count as linked, whatever ids either mentions).
    pub ids: BTreeSet<String>,
    /// How many records, batch included, were re-checked.
    pub records: usize,
}

/// Validates `batch`, to be appended at seqs `first_seq..` after `history`
/// (every record, seq order), by re-checking only the timelines it
/// touches: the records that mention an id connected to the batch's ids
/// (see [`Rechecked::ids`]), their effective events folded in timeline
/// order from an empty state, each checked against the state before it.
///
/// This is [`validate`]'s answer when `history`'s own timeline passes
/// validation (the append index's `consistent`). [`check`] and [`apply`]
/// read and change only the entries of the ids an event affects, which
/// are its mentioned ids and ids linked to them by earlier events (see
/// [`affected_ids`]); which records are effective depends only on a record
/// and the corrections naming it. So the records outside the touched
/// timelines fold exactly as they did before the batch, and passed then.
///
/// `None` when the full validation must decide: the batch holds a
/// correction or a `fulfils` link (they are checked against every record),
/// `admit` declines the ids to re-check (too many to gain anything), or an
/// event fails its check (the full validation then finds the same failure,
/// says whom to blame, and words it). `observe` sees each re-checked
/// effective event with the state just before it.
pub fn recheck_touched<'a>(
    history: &'a [Entry],
    batch: &'a [Event],
    first_seq: u64,
    admit: &mut dyn FnMut(&BTreeSet<String>) -> bool,
    observe: &mut dyn FnMut(&State, &Effective<'_>),
) -> Option<Rechecked> {
    if batch.iter().any(Event::links_records) {
        return None;
    }
    // A correction and the record it names share a set, through a node
    // for the record's hash (whether or not either mentions an id): the
    // correction decides whether that record is folded. Only the records
    // that corrections name get such a node; their hashes, uniformly
    // random, are first looked up by their first 8 bytes.
    let named: HashSet<&str> = history
        .iter()
        .filter_map(|e| match &e.event.body {
            Body::Correction { target, .. } => Some(target.as_str()),
            _ => None,
        })
        .collect();
    let prefixes: HashSet<u64, PrefixHasher> =
        named.iter().filter_map(|t| hash_prefix(t)).collect();
    let is_named = |hash: &str| {
        hash_prefix(hash).is_some_and(|k| prefixes.contains(&k)) && named.contains(hash)
    };
    // Connected ids: one set per group of ids that records link; and a
    // node of each record (`NONE` for a record that mentions no id, names
    // no record and is named by none).
    const NONE: usize = usize::MAX;
    let mut sets = Sets::default();
    let mut nodes: Vec<usize> = Vec::with_capacity(history.len());
    let link = |sets: &mut Sets<'a>, ids: Vec<&'a str>, hashes: [Option<&'a str>; 2]| {
        let mut first = NONE;
        let mut join = |sets: &mut Sets<'a>, node: usize| {
            if first == NONE {
                first = node;
            } else {
                sets.union(first, node);
            }
        };
        for id in ids {
            let node = sets.id(id);
            join(sets, node);
        }
        for hash in hashes.into_iter().flatten() {
            let node = sets.hash(hash);
            join(sets, node);
        }
        first
    };
    for entry in history {
        let own = is_named(&entry.hash).then_some(entry.hash.as_str());
        let target = match &entry.event.body {
            Body::Correction { target, .. } => Some(target.as_str()),
            _ => None,
        };
        nodes.push(link(&mut sets, entry.event.mentioned_ids(), [own, target]));
    }
    for event in batch {
        link(&mut sets, event.mentioned_ids(), [None, None]);
    }
    // The batch's ids are all in one set per event (linked just above).
    let touched: HashSet<usize> = batch
        .iter()
        .filter_map(|e| e.mentioned_ids().first().and_then(|id| sets.find_id(id)))
        .collect();
    let ids: BTreeSet<String> = sets
        .all_ids()
        .filter(|(_, i)| touched.contains(i))
        .map(|(id, _)| id.to_owned())
        .collect();
    if !admit(&ids) {
        return None;
    }
    let mut items: Vec<Item<'_>> = history
        .iter()
        .zip(nodes)
        .filter(|(_, node)| *node != NONE && touched.contains(&sets.find(*node)))
        .map(|(e, _)| Item {
            seq: e.seq,
            hash: &e.hash,
            event: &e.event,
        })
        .collect();
    items.extend(batch.iter().enumerate().map(|(i, e)| Item {
        seq: first_seq + i as u64,
        hash: "",
        event: e,
    }));
    let knowledge = Knowledge::from_items(&items, u64::MAX);
    let mut state = State::default();
    for e in &knowledge.timeline {
        if e.seq >= first_seq {
            check_appended(&state, e.event).ok()?;
        } else {
            check(&state, e.event).ok()?;
        }
        observe(&state, e);
        apply(&mut state, e.seq, e.event);
    }
    if series_named_later(&knowledge.timeline, first_seq).is_some() {
        return None;
    }
    Some(Rechecked {
        state,
        ids,
        records: items.len(),
    })
}

/// Disjoint sets of ids and record hashes (union by size, path halving),
/// for [`recheck_touched`]. Ids and hashes are apart: an id spelt like a
/// hash is another node.
#[derive(Default)]
struct Sets<'a> {
    ids: HashMap<&'a str, usize, std::hash::BuildHasherDefault<crate::index::Fnv>>,
    hashes: HashMap<&'a str, usize, std::hash::BuildHasherDefault<crate::index::Fnv>>,
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl<'a> Sets<'a> {
    /// The node of an id, added if new.
    fn id(&mut self, id: &'a str) -> usize {
        Self::node(&mut self.ids, id, &mut self.parent, &mut self.size)
    }

    /// The node of a record's hash, added if new.
    fn hash(&mut self, hash: &'a str) -> usize {
        Self::node(&mut self.hashes, hash, &mut self.parent, &mut self.size)
    }

    fn node(
        map: &mut HashMap<&'a str, usize, std::hash::BuildHasherDefault<crate::index::Fnv>>,
        key: &'a str,
        parent: &mut Vec<usize>,
        size: &mut Vec<usize>,
    ) -> usize {
        *map.entry(key).or_insert_with(|| {
            parent.push(parent.len());
            size.push(1);
            parent.len() - 1
        })
    }

    /// The root of an id's set, if the id is known.
    fn find_id(&mut self, id: &str) -> Option<usize> {
        let i = *self.ids.get(id)?;
        Some(self.find(i))
    }

    fn find(&mut self, mut i: usize) -> usize {
        while let Some(&p) = self.parent.get(i) {
            if p == i {
                break;
            }
            let grand = self.parent.get(p).copied().unwrap_or(p);
            if let Some(slot) = self.parent.get_mut(i) {
                *slot = grand;
            }
            i = grand;
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        let size = |s: &Self, i: usize| s.size.get(i).copied().unwrap_or(0);
        let (big, small) = if size(self, a) >= size(self, b) {
            (a, b)
        } else {
            (b, a)
        };
        let total = size(self, big) + size(self, small);
        if let Some(p) = self.parent.get_mut(small) {
            *p = big;
        }
        if let Some(s) = self.size.get_mut(big) {
            *s = total;
        }
    }

    /// Every id with the root of its set.
    fn all_ids(&mut self) -> impl Iterator<Item = (&'a str, usize)> + '_ {
        let all: Vec<(&'a str, usize)> = self.ids.iter().map(|(k, v)| (*k, *v)).collect();
        all.into_iter().map(|(id, i)| (id, self.find(i)))
    }
}

fn items_of<'a>(history: &'a [Entry], batch: &'a [Event], first_seq: u64) -> Vec<Item<'a>> {
    let mut items: Vec<Item<'a>> = Vec::with_capacity(history.len() + batch.len());
    items.extend(history.iter().map(|e| Item {
        seq: e.seq,
        hash: &e.hash,
        event: &e.event,
    }));
    items.extend(batch.iter().enumerate().map(|(i, e)| Item {
        seq: first_seq + i as u64,
        hash: "",
        event: e,
    }));
    items
}

/// Folds the timeline, checking each event first; the position and rule of
/// the first failure.
fn fold_checked(k: &Knowledge<'_>) -> Result<State, (usize, Rejection)> {
    fold_checked_observed(k, u64::MAX, &mut |_, _| {})
}

fn fold_checked_observed(
    k: &Knowledge<'_>,
    first_new: u64,
    observe: &mut dyn FnMut(&State, &Effective<'_>),
) -> Result<State, (usize, Rejection)> {
    let mut state = State::default();
    for (i, e) in k.timeline.iter().enumerate() {
        let checked = if e.seq >= first_new {
            check_appended(&state, e.event)
        } else {
            check(&state, e.event)
        };
        checked.map_err(|r| (i, r))?;
        observe(&state, e);
        apply(&mut state, e.seq, e.event);
    }
    Ok(state)
}

/// For an unknown id that the timeline creates later, says when.
fn explain_unknown(rule: Rejection, k: &Knowledge<'_>, pos: usize) -> Rejection {
    if rule.rule != Rule::UnknownId {
        return rule;
    }
    let Some(id) = rule.id.clone() else {
        return rule;
    };
    let date = &k.timeline[pos].event.date;
    let created = k.timeline[pos + 1..]
        .iter()
        .find(|e| creates(e.event).contains(&id.as_str()));
    match created {
        // The same first day: the order of seqs decides.
        Some(c) if c.event.date.start() == date.start() => rule.hint(format!(
            "`{id}` comes into being on {} (seq {}), which starts the same day as {date}, but events starting the same day apply in seq order; put the event that brings it in first (in a batch: on an earlier line)",
            c.event.date, c.seq
        )),
        // Within the event's period: it takes effect on the period's first
        // day, which the message names.
        Some(c) if c.event.date.start() <= date.end() => rule.hint(format!(
            "`{id}` comes into being on {} (seq {}), after {}, the first day of {date}, from which an event dated {date} counts; date this event later, or backdate that one",
            c.event.date,
            c.seq,
            date.start()
        )),
        Some(c) => rule.hint(format!(
            "`{id}` comes into being on {} (seq {}), after {date}; date this event later, or backdate that one",
            c.event.date, c.seq
        )),
        None => rule,
    }
}

/// The ids an event brings into being: an organisation created, the new
/// ids of a `transformed`, a program launched.
pub fn creates(event: &Event) -> Vec<&str> {
    match &event.body {
        Body::Created { org } => vec![org.id.as_str()],
        Body::Transformed {
            mode: ChangeMode::IdChange,
            to,
            ..
        } => to.iter().map(CompactString::as_str).collect(),
        Body::Transformed { new, .. } => new.iter().map(|n| n.id.as_str()).collect(),
        Body::ProgramLaunched { program, .. } => vec![program.as_str()],
        _ => Vec::new(),
    }
}

/// Which batch event is held responsible for breaking the timeline item at
/// `pos`: the nearest batch event before it in timeline order that touches
/// one of its ids, else a batch correction touching them, else the first.
fn blame(
    k: &Knowledge<'_>,
    pos: usize,
    history: &[Entry],
    batch: &[Event],
    first_seq: u64,
) -> usize {
    let ids: HashSet<&str> = k.timeline[pos].event.mentioned_ids().into_iter().collect();
    let touches = |e: &Event| e.mentioned_ids().iter().any(|i| ids.contains(i));
    let index_of = |seq: u64| usize::try_from(seq.saturating_sub(first_seq)).unwrap_or(0);
    if let Some(e) = k.timeline[..pos]
        .iter()
        .rev()
        .find(|e| e.seq >= first_seq && touches(e.event))
    {
        return index_of(e.seq);
    }
    let by_hash: HashMap<&str, &Event> = history
        .iter()
        .map(|e| (e.hash.as_str(), &e.event))
        .collect();
    batch
        .iter()
        .position(|e| match &e.body {
            Body::Correction { target, .. } => {
                touches(e) || by_hash.get(target.as_str()).is_some_and(|t| touches(t))
            }
            _ => false,
        })
        .unwrap_or(0)
}

/// What closes a plan, for the link rules.
#[derive(Debug, Clone, Copy)]
struct Closer {
    /// The seq of the closing record (the correction's for a replacement).
    seq: u64,
    /// Fulfilled or abandoned.
    how: Closing,
    /// Whether a correction's replacement closes it: that cannot be
    /// corrected, unlike a plain record.
    replacement: bool,
}

/// What the link rules know of the records before the event checked.
struct Links<'a> {
    by_hash: HashMap<&'a str, &'a Entry>,
    /// Corrected records: target hash → correction seq and mode.
    corrected: HashMap<&'a str, Corrected>,
    /// Plans already closed by an effective event, by plan hash.
    closed: HashMap<&'a str, Closer>,
    /// The seq of the batch's first event.
    first_seq: u64,
}

/// Correction targets, `fulfils` and abandonments of the batch events,
/// each against the records before it.
fn check_links(history: &[Entry], batch: &[Event], first_seq: u64) -> Result<(), ValidationError> {
    let by_hash: HashMap<&str, &Entry> = history.iter().map(|e| (e.hash.as_str(), e)).collect();
    let mut corrected: HashMap<&str, Corrected> = HashMap::new();
    for e in history {
        if let Body::Correction { target, mode, .. } = &e.event.body
            && by_hash
                .get(target.as_str())
                .is_some_and(|t| t.seq < e.seq && !matches!(t.event.body, Body::Correction { .. }))
        {
            corrected.entry(target.as_str()).or_insert(Corrected {
                mode: *mode,
                seq: e.seq,
            });
        }
    }
    let mut closed: HashMap<&str, Closer> = HashMap::new();
    for e in history {
        let (event, replacement) = match &e.event.body {
            Body::Correction {
                target,
                replacement: Some(r),
                ..
            } if corrected
                .get(target.as_str())
                .is_some_and(|c| c.seq == e.seq) =>
            {
                (&**r, true)
            }
            Body::Correction { .. } | Body::Planned { .. } => continue,
            _ if corrected.contains_key(e.hash.as_str()) => continue,
            _ => (&e.event, false),
        };
        // A closing over before its plan was stated is inert, as the views
        // treat it: it does not hold the plan.
        if let Some((plan, how)) = event.closes()
            && by_hash
                .get(plan)
                .and_then(|t| stated_plan(t))
                .is_none_or(|stated| can_fulfil(&event.date, stated))
        {
            closed.entry(plan).or_insert(Closer {
                seq: e.seq,
                how,
                replacement,
            });
        }
    }
    let mut links = Links {
        by_hash,
        corrected,
        closed,
        first_seq,
    };
    let reject = |index: usize, event: &Event, rule: Rejection| ValidationError::Rejected {
        index,
        seq: first_seq + index as u64,
        event_type: event.type_name(),
        rule,
    };
    for (index, event) in batch.iter().enumerate() {
        let seq = first_seq + index as u64;
        if let Body::Correction {
            target,
            mode,
            replacement,
            ..
        } = &event.body
        {
            check_correction_target(target, &links.by_hash, &links.corrected)
                .map_err(|r| reject(index, event, r))?;
            links
                .corrected
                .insert(target.as_str(), Corrected { mode: *mode, seq });
            // A corrected fulfilment or abandonment no longer closes its
            // plan.
            if let Some(t) = links.by_hash.get(target.as_str())
                && let Some((plan, _)) = t.event.closes()
                && links.closed.get(plan).is_some_and(|c| c.seq == t.seq)
            {
                links.closed.remove(plan);
            }
            if let Some(r) = replacement {
                links
                    .check_closing(r, seq)
                    .map_err(|r| reject(index, event, prefix_rule("replacement: ", r)))?;
                if let Some((plan, how)) = r.closes() {
                    links.closed.insert(
                        plan,
                        Closer {
                            seq,
                            how,
                            replacement: true,
                        },
                    );
                }
            }
            if event.fulfils.is_some() {
                return Err(reject(
                    index,
                    event,
                    Rejection::new(
                        Rule::FulfilsTarget,
                        "a correction cannot itself fulfil a plan".to_owned(),
                    )
                    .hint("put `fulfils` on the replacement event"),
                ));
            }
            continue;
        }
        links
            .check_closing(event, seq)
            .map_err(|r| reject(index, event, r))?;
        if let Some((plan, how)) = event.closes() {
            links.closed.insert(
                plan,
                Closer {
                    seq,
                    how,
                    replacement: false,
                },
            );
        }
    }
    Ok(())
}

fn prefix_rule(prefix: &str, r: Rejection) -> Rejection {
    Rejection {
        message: format!("{prefix}{}", r.message),
        ..r
    }
}

fn check_correction_target(
    target: &str,
    by_hash: &HashMap<&str, &Entry>,
    corrected: &HashMap<&str, Corrected>,
) -> Result<(), Rejection> {
    let Some(t) = by_hash.get(target) else {
        return Err(Rejection::new(
            Rule::CorrectionTarget,
            format!("correction target `{}` is not a record of this ledger", short_hash(target)),
        )
        .hint("name the full hash of an earlier record (see `fusion log`); a correction cannot target an event of the same batch"));
    };
    if matches!(t.event.body, Body::Correction { .. }) {
        return Err(Rejection::new(
            Rule::CorrectionTarget,
            format!(
                "correction target `{}` (seq {}) is itself a correction; corrections cannot be corrected",
                short_hash(target),
                t.seq
            ),
        )
        .hint("record the right fact as a new event instead"));
    }
    if let Some(c) = corrected.get(target) {
        let word = match c.mode {
            CorrectionMode::Retract => "retracted",
            CorrectionMode::Supersede => "superseded",
        };
        return Err(Rejection::new(
            Rule::CorrectionTarget,
            format!(
                "correction target `{}` (seq {}, `{}`) was already {word} by seq {}",
                short_hash(target),
                t.seq,
                t.event.type_name(),
                c.seq
            ),
        )
        .hint("record the right fact as a new event instead"));
    }
    Ok(())
}

/// The record date of the plan `t` states (its own date, or its
/// replacement's), if `t` states one.
fn stated_plan(t: &Entry) -> Option<&Date> {
    match &t.event.body {
        Body::Planned { .. } => Some(&t.event.date),
        Body::Correction {
            replacement: Some(r),
            ..
        } if matches!(r.body, Body::Planned { .. }) => Some(&r.date),
        _ => None,
    }
}

/// Whether an event dated `date` can fulfil a plan stated on `stated`: by
/// the start rule the plan exists from the first day of `stated`, and the
/// event's period must not end before that day (overlapping periods may
/// be in either order). Qualifiers do not widen a period.
pub fn can_fulfil(date: &Date, stated: &Date) -> bool {
    date.end() >= stated.start()
}

impl Links<'_> {
    /// The link rules of `event` (seq `seq`), not a correction: `fulfils`
    /// on a plan or an abandonment is refused, and the plan it closes must
    /// be one it can close ([`Links::check_closes`]).
    fn check_closing(&self, event: &Event, seq: u64) -> Result<(), Rejection> {
        let cannot_fulfil = match event.body {
            Body::Planned { .. } => Some((
                "a plan cannot fulfil a plan",
                "supersede the earlier plan with a correction instead",
            )),
            Body::PlanAbandoned { .. } => Some((
                "an abandonment cannot fulfil a plan",
                "leave `fulfils` out; `plan` names the plan given up",
            )),
            _ => None,
        };
        if let (Some(_), Some((what, hint))) = (&event.fulfils, cannot_fulfil) {
            return Err(Rejection::new(Rule::FulfilsTarget, what.to_owned()).hint(hint));
        }
        match event.closes() {
            Some((plan, how)) => self.check_closes(plan, how, &event.date, seq),
            None => Ok(()),
        }
    }

    /// Checks that `target` names a plan that an event dated `date` (seq
    /// `seq`) can close (`how`): a plan of this ledger, neither corrected
    /// nor closed already, and stated no later than the event happened
    /// (the event's period does not end before the first day of the plan's
    /// stated date).
    fn check_closes(
        &self,
        target: &str,
        how: Closing,
        date: &Date,
        seq: u64,
    ) -> Result<(), Rejection> {
        let (rule, field) = match how {
            Closing::Fulfils => (Rule::FulfilsTarget, "`fulfils`"),
            Closing::Abandons => (Rule::PlanTarget, "`plan`"),
        };
        let Some(t) = self.by_hash.get(target) else {
            return Err(Rejection::new(
                rule,
                format!(
                    "{field} names `{}`, which is not a record of this ledger",
                    short_hash(target)
                ),
            )
            .hint(
                "name the full hash of an earlier `planned` record (see `fusion log --type planned`)",
            ));
        };
        let Some(stated) = stated_plan(t) else {
            return Err(Rejection::new(
                rule,
                format!(
                    "{field} names seq {} (`{}`), which is not a plan",
                    t.seq,
                    t.event.type_name()
                ),
            )
            .hint(format!("{field} takes the hash of a `planned` record")));
        };
        if let Some(c) = self.corrected.get(target) {
            if c.seq == seq {
                // A replacement naming the plan its own correction replaces.
                return Err(Rejection::new(
                    rule,
                    format!(
                        "{field} names the plan at seq {}, which this correction replaces",
                        t.seq
                    ),
                )
                .hint(match how {
                    Closing::Fulfils => "to say the plan was carried out, append the event with `fulfils` naming the plan, rather than a correction of the plan",
                    Closing::Abandons => "to say the plan was given up, append a `plan_abandoned` naming it, rather than a correction of the plan",
                }));
            }
            let word = match c.mode {
                CorrectionMode::Retract => "retracted",
                CorrectionMode::Supersede => "superseded",
            };
            let hint = match (how, c.mode) {
                (Closing::Fulfils, _) => {
                    "name the plan that replaced it, or leave `fulfils` out".to_owned()
                }
                (Closing::Abandons, CorrectionMode::Retract) => {
                    "a retracted plan is no longer listed; it needs no abandoning".to_owned()
                }
                (Closing::Abandons, CorrectionMode::Supersede) => format!(
                    "name the revised plan: the hash of the correction at seq {}",
                    c.seq
                ),
            };
            return Err(Rejection::new(
                rule,
                format!(
                    "{field} names the plan at seq {}, which was {word} by seq {}",
                    t.seq, c.seq
                ),
            )
            .hint(hint));
        }
        if let Some(&by) = self.closed.get(target) {
            let revised = matches!(t.event.body, Body::Correction { .. });
            return Err(closed_already(
                (t.seq, revised),
                how,
                by,
                self.first_seq,
                rule,
            ));
        }
        if !can_fulfil(date, stated) {
            let (event, hint) = match how {
                Closing::Fulfils => (
                    "the event",
                    format!(
                        "an event cannot carry out a plan stated after it happened; leave `fulfils` out (and retract the plan with a correction if it was moot), or correct this event's date if it happened in {stated} or later"
                    ),
                ),
                Closing::Abandons => (
                    "the abandonment",
                    format!(
                        "a plan cannot be given up before it was stated; date the abandonment {stated} or later"
                    ),
                ),
            };
            return Err(Rejection::new(
                rule,
                format!(
                    "{field} names the plan at seq {} stated on {stated}, but {event} is dated {date}, before the plan was stated",
                    t.seq
                ),
            )
            .hint(hint));
        }
        Ok(())
    }
}

/// The rejection of a closing (`how`) of the plan at seq `plan` (a
/// revised plan, stated by a correction, when `revised`), which `by`
/// already closed: how to mend it depends on whether `by` is in this
/// batch, a plain record or a correction's replacement.
fn closed_already(
    (plan, revised): (u64, bool),
    how: Closing,
    by: Closer,
    first_seq: u64,
    rule: Rule,
) -> Rejection {
    let seq = by.seq;
    let message = match by.how {
        Closing::Fulfils => format!("the plan at seq {plan} is already fulfilled by seq {seq}"),
        Closing::Abandons => format!("the plan at seq {plan} was already abandoned by seq {seq}"),
    };
    let hint = if seq >= first_seq {
        "a plan is closed once, fulfilled or abandoned; this batch closes it twice, so leave one of the two out".to_owned()
    } else {
        match (how, by.how, by.replacement) {
            (Closing::Fulfils, Closing::Fulfils, _) => {
                "one plan is fulfilled by one event; leave `fulfils` out of the others".to_owned()
            }
            (Closing::Abandons, Closing::Abandons, _) => {
                "a plan is abandoned once; leave this event out".to_owned()
            }
            (Closing::Fulfils, Closing::Abandons, false) => format!(
                "if it was carried out after all, retract the abandonment (seq {seq}) with a correction first, or leave `fulfils` out"
            ),
            (Closing::Abandons, Closing::Fulfils, false) => format!(
                "a plan carried out cannot be abandoned; if seq {seq} did not carry it out, correct that record first"
            ),
            (_, _, true) if revised => format!(
                "seq {seq} is a correction, whose replacement cannot be corrected, nor can the revised plan at seq {plan}; state a new plan and close that one"
            ),
            (_, _, true) => format!(
                "seq {seq} is a correction, whose replacement cannot be corrected; to record a different fate, supersede the plan (seq {plan}) with a revised plan and close that one"
            ),
        }
    };
    Rejection::new(rule, message).hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::as_of_day;
    use serde_json::{Value, json};

    // --- Orgs ---------------------------------------------------------------

    /// A million-event state holds about 240,000 organisations, each boxed:
    /// 224 bytes is an allocator size class (mimalloc's), where 344 bytes
    /// took a 384-byte block.
    #[test]
    fn an_organisation_takes_at_most_224_bytes() {
        assert!(
            std::mem::size_of::<Org>() <= 224,
            "{}",
            std::mem::size_of::<Org>()
        );
        assert_eq!(std::mem::size_of::<SmallSet<CompactString>>(), 8);
    }

    /// The ids whose entries differ between two states: organisation,
    /// program, memberships (`member_of`) or candidacies as candidate.
    fn changed_ids(before: &State, after: &State) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for (a, b) in [(before, after), (after, before)] {
            for (id, o) in a.orgs.iter_unordered() {
                if b.orgs.get(id) != Some(o) {
                    ids.insert(id.to_string());
                }
            }
            for (id, p) in &a.programs {
                if b.programs.get(id) != Some(p) {
                    ids.insert(id.to_string());
                }
            }
            for (id, m) in &a.member_of {
                if b.member_of.get(id) != Some(m) {
                    ids.insert(id.to_string());
                }
            }
            for (key, c) in &a.candidacies {
                if b.candidacies.get(key) != Some(c) {
                    ids.insert(key.1.to_string());
                }
            }
        }
        ids
    }

    /// Given a generated landscape, when each event of its timeline is
    /// applied, then every entry it changes belongs to an id that
    /// [`affected_ids`] names before it is applied: what the append index
    /// (which rewrites only those entries) and the diff (which keeps only
    /// those organisations as they were) rely on.
    #[test]
    fn applying_an_event_changes_only_the_entries_of_the_ids_it_affects() {
        let entries = crate::generator::test_entries(1500, 11);
        let knowledge = Knowledge::new(&entries, u64::MAX);
        let mut state = State::default();
        let mut reached = 0;
        for e in &knowledge.timeline {
            let named = affected_ids(&state, e.event);
            let before = state.clone();
            apply(&mut state, e.seq, e.event);
            let changed = changed_ids(&before, &state);
            let outside: Vec<&String> = changed.difference(&named).collect();
            assert!(
                outside.is_empty(),
                "seq {}: {outside:?} changed, not named",
                e.seq
            );
            // Ids reached through another one: members, memberships, programs.
            reached += changed
                .iter()
                .filter(|id| !e.event.mentioned_ids().contains(&id.as_str()))
                .count();
        }
        assert!(reached > 20, "{reached}");
    }

    fn boxed_org(id: &str) -> Box<Org> {
        let spec = OrgSpec {
            id: CompactString::from(id),
            name: CompactString::from(id.to_uppercase()),
            kind: "k".into(),
            attrs: BTreeMap::new(),
        };
        Org::new(
            &spec,
            Stamp {
                date: Date::parse("2000").expect("date"),
                seq: 1,
            },
        )
    }

    fn listed(orgs: &Orgs) -> Vec<String> {
        orgs.keys().map(|k| k.to_string()).collect()
    }

    #[test]
    fn orgs_are_listed_in_id_order_however_they_were_added_or_removed() {
        // Given ids added out of order, then one removed from the middle.
        let mut orgs = Orgs::default();
        for id in ["o2", "o10", "o1", "o9", "o3"] {
            orgs.insert(id.into(), boxed_org(id));
        }
        assert_eq!(orgs.remove("o9").map(|o| o.id), Some("o9".into()));
        // When they are listed, before and after sorting the table.
        let before = listed(&orgs);
        orgs.sort();
        // Then both listings are in id order.
        assert_eq!(before, ["o1", "o10", "o2", "o3"]);
        assert_eq!(listed(&orgs), before);
        assert_eq!(
            orgs.values().map(|o| o.id.as_str()).collect::<Vec<_>>(),
            before
        );
        assert_eq!(orgs.iter().len(), 4);
        assert!(orgs.contains_key("o10") && !orgs.contains_key("o9"));
    }

    proptest::proptest! {
        /// Given any sequence of insertions and removals, when `Orgs` and a
        /// `BTreeMap` go through it, then they hold and list the same.
        #[test]
        fn orgs_behave_as_an_ordered_map(
            ops in proptest::collection::vec((0u8..30, proptest::bool::ANY, proptest::bool::ANY), 0..80),
        ) {
            let mut orgs = Orgs::default();
            let mut model: BTreeMap<String, String> = BTreeMap::new();
            for (n, insert, sort) in ops {
                let id = format!("o{n}");
                if insert {
                    let mut o = boxed_org(&id);
                    o.name = format!("{}", model.len()).into();
                    let old = orgs.insert(id.as_str().into(), o).map(|o| o.name.to_string());
                    proptest::prop_assert_eq!(old, model.insert(id.clone(), format!("{}", model.len())));
                } else {
                    proptest::prop_assert_eq!(orgs.remove(&id).map(|o| o.name.to_string()), model.remove(&id));
                }
                if sort {
                    orgs.sort();
                }
                let listed: Vec<(String, String)> =
                    orgs.iter().map(|(k, o)| (k.to_string(), o.name.to_string())).collect();
                let expected: Vec<(String, String)> = model.clone().into_iter().collect();
                let mut unordered: Vec<(String, String)> = orgs
                    .iter_unordered()
                    .map(|(k, o)| (k.to_string(), o.name.to_string()))
                    .collect();
                unordered.sort();
                proptest::prop_assert_eq!(&listed, &unordered);
                proptest::prop_assert_eq!(listed, expected);
                proptest::prop_assert_eq!(orgs.len(), model.len());
            }
        }
    }

    // --- helpers -----------------------------------------------------------

    fn ev(mut v: Value) -> Event {
        if v.get("sources").is_none() {
            v["sources"] = json!([{"doc": "test"}]);
        }
        Event::from_json(&v).expect("valid event")
    }

    /// A fake but well-formed hash for the record at `seq`.
    fn h(seq: u64) -> String {
        format!("{seq:064x}")
    }

    fn entry(seq: u64, v: &Value) -> Entry {
        Entry {
            seq,
            hash: h(seq),
            recorded: format!("2026-01-01T{:02}:{:02}:00Z", seq / 60, seq % 60),
            event: ev(v.clone()),
        }
    }

    fn ledger(events: &[Value]) -> Vec<Entry> {
        events
            .iter()
            .enumerate()
            .map(|(i, v)| entry(i as u64 + 1, v))
            .collect()
    }

    fn day(s: &str) -> NaiveDate {
        as_of_day(s).expect("valid day")
    }

    /// The state on `as_of` (last day of its period) at knowledge `known`.
    fn state(entries: &[Entry], as_of: &str, known: u64) -> State {
        Knowledge::new(entries, known).fold_until(day(as_of))
    }

    fn head(entries: &[Entry], as_of: &str) -> State {
        state(entries, as_of, u64::MAX)
    }

    fn created(id: &str, date: &str) -> Value {
        json!({"type": "created", "date": date, "id": id, "name": id.to_uppercase(), "kind": "cluster"})
    }

    fn dissolution(id: &str, date: &str) -> Value {
        json!({"type": "dissolved", "date": date, "org": id, "sources": [{"doc": "test"}]})
    }

    fn fusion(from: &[&str], to: &str, date: &str) -> Value {
        json!({"type": "transformed", "mode": "fusion", "date": date, "from": from, "to": [to],
               "new": [{"id": to, "name": to.to_uppercase(), "kind": "cluster"}], "sources": [{"doc": "test"}]})
    }

    fn org<'s>(s: &'s State, id: &str) -> &'s Org {
        s.orgs.get(id).expect("organisation in state")
    }

    /// Appends `event` after `history` and returns the rejection of it.
    fn rejected(history: &[Value], event: Value) -> Rejection {
        let hist = ledger(history);
        match validate(&hist, &[ev(event)], hist.len() as u64 + 1) {
            Err(ValidationError::Rejected { index: 0, rule, .. }) => rule,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    fn accepted(history: &[Value], event: Value) {
        let hist = ledger(history);
        let r = validate(&hist, &[ev(event)], hist.len() as u64 + 1);
        assert_eq!(r, Ok(()));
    }

    /// Given an organisation named "A" with its seat in Lyon, when a
    /// rename to "A" or a seat set to Lyon is appended, then each is
    /// refused as changing nothing, naming the record that made it so;
    /// a rename to another name, the seat moved, and the same rename once
    /// the name has changed are accepted. Given such a record already in
    /// the ledger (written by other means, or before the rule), then the
    /// history stays consistent and later appends go on.
    #[test]
    fn a_rename_or_an_attribute_that_changes_nothing_is_refused_when_appended() {
        let seat = |value: &str, date: &str| json!({"type": "attribute_set", "date": date, "org": "a", "key": "seat", "value": value, "sources": [{"doc": "t"}]});
        let rename = |name: &str, date: &str| json!({"type": "renamed", "date": date, "org": "a", "name": name, "sources": [{"doc": "t"}]});
        let history = [created("a", "2000"), seat("Lyon", "2001")];
        let r = rejected(&history, rename("A", "2010"));
        assert_refused(
            &r,
            Rule::NoChange,
            "`a` is already named \"A\" on 2010",
            "since 2000 (seq 1)",
        );
        let r = rejected(&history, seat("Lyon", "2010"));
        assert_refused(
            &r,
            Rule::NoChange,
            "attribute `seat` of `a` is already \"Lyon\" on 2010",
            "seq 2 set it last, dated 2001",
        );
        accepted(&history, rename("A2", "2010"));
        accepted(&history, seat("Grenoble", "2010"));
        let renamed = [created("a", "2000"), rename("A2", "2005")];
        accepted(&renamed, rename("A", "2010"));
        // Backdated before the rename to "A2", a rename to "A" changes
        // nothing either.
        let r = rejected(&renamed, rename("A", "2003"));
        assert_eq!(r.rule, Rule::NoChange, "{r:?}");
        // Already in the ledger: consistent, and no bar to what follows.
        let held = [created("a", "2000"), rename("A", "2010")];
        assert!(fold_checked(&Knowledge::new(&ledger(&held), u64::MAX)).is_ok());
        accepted(&held, rename("B", "2011"));
        // After such a record, the hint names the first record of the name.
        let r = rejected(&held, rename("A", "2012"));
        assert_refused(&r, Rule::NoChange, "already named", "since 2000 (seq 1)");
    }

    /// Given an organisation with a figure series "beds", when figures
    /// named "Beds" or " beds " are appended, then each is refused as a
    /// second series of one measure, naming the series and its last
    /// record, as is one event holding two names that differ only by case;
    /// "beds" itself and another measure are accepted. Given both series already in the ledger, then it stays consistent
    /// and either series takes new figures.
    /// Given two organisations, when a milestone listing one of them twice
    /// is appended, then it is refused (rule `repeated_id`), naming the id;
    /// each listed once is accepted. Given such a milestone already in the
    /// ledger, then the history stays consistent and takes appends.
    #[test]
    fn a_milestone_listing_an_id_twice_is_refused_when_appended() {
        let milestone = |orgs: Value| json!({"type": "milestone", "date": "2010", "orgs": orgs, "summary": "s", "sources": [{"doc": "t"}]});
        let history = [created("a", "2000"), created("b", "2000")];
        let r = rejected(&history, milestone(json!(["a", "b", "a"])));
        assert_refused(
            &r,
            Rule::RepeatedId,
            "`a` is listed more than once",
            "list each organisation once",
        );
        assert_eq!(r.id.as_deref(), Some("a"));
        accepted(&history, milestone(json!(["a", "b"])));
        // A plan is checked for its shape only: a planned milestone is
        // held to the rule when it happens.
        let planned = json!({"type": "planned", "date": "2005", "planned": milestone(json!(["a", "a"])), "sources": [{"doc": "t"}]});
        accepted(&history, planned);
        let held = [created("a", "2000"), milestone(json!(["a", "a"]))];
        assert!(fold_checked(&Knowledge::new(&ledger(&held), u64::MAX)).is_ok());
        accepted(&held, milestone(json!(["a"])));
    }

    #[test]
    fn a_figure_named_like_a_series_but_for_case_or_spaces_is_refused_when_appended() {
        let figures = |values: Value, date: &str| json!({"type": "figures", "date": date, "org": "a", "values": values, "sources": [{"doc": "t"}]});
        let history = [created("a", "2000"), figures(json!({"beds": 10}), "2001")];
        for name in ["Beds", " beds ", "BEDS"] {
            let r = rejected(&history, figures(json!({ name: 12 }), "2010"));
            assert_refused(
                &r,
                Rule::SeriesName,
                "is named like its series \"beds\" but for case or spaces",
                "name it \"beds\", as seq 2 did (its figure for 2001)",
            );
        }
        let r = rejected(
            &[created("a", "2000")],
            figures(json!({"staff": 3, "Staff": 4}), "2010"),
        );
        assert_refused(&r, Rule::SeriesName, "differ only by case or spaces", "");
        // Names that differ by white space are quoted apart.
        let r = rejected(
            &[created("a", "2000")],
            figures(json!({"beds\t": 1, "beds ": 2}), "2010"),
        );
        assert_refused(&r, Rule::SeriesName, "\"beds \" and \"beds\\t\"", "");
        accepted(&history, figures(json!({"beds": 12}), "2010"));
        accepted(
            &history,
            figures(json!({"beds_icu": 2, "staff": 3}), "2010"),
        );
        // Two such series already in the ledger: consistent, and each goes on.
        let held = [
            created("a", "2000"),
            figures(json!({"beds": 10}), "2001"),
            figures(json!({"Beds": 11}), "2002"),
        ];
        assert!(fold_checked(&Knowledge::new(&ledger(&held), u64::MAX)).is_ok());
        accepted(&held, figures(json!({"Beds": 12}), "2010"));
        accepted(&held, figures(json!({"beds": 12}), "2010"));
        // Backdated before the series began, the name is held to it too.
        let r = rejected(&history, figures(json!({"Beds": 8}), "2000-06"));
        assert_refused(
            &r,
            Rule::SeriesName,
            "\"Beds\" of `a` dated 2000-06 is named like its series \"beds\"",
            "as seq 2 did (its figure for 2001)",
        );
        accepted(&history, figures(json!({"beds": 8}), "2000-06"));
        // Backdated before an id change, the name is held to the series
        // the organisation measures under its later id.
        let changed = [
            created("y", "2000"),
            json!({"type": "transformed", "mode": "id_change", "date": "2010", "from": ["y"], "to": ["y2"]}),
            json!({"type": "figures", "date": "2015", "org": "y2", "values": {"beds": 10}, "sources": [{"doc": "t"}]}),
        ];
        let r = rejected(
            &changed,
            json!({"type": "figures", "date": "2005", "org": "y", "values": {"Beds": 12}, "sources": [{"doc": "t"}]}),
        );
        assert_refused(
            &r,
            Rule::SeriesName,
            "\"Beds\" of `y` dated 2005",
            "as seq 3 did",
        );
        // A re-established organisation starts its figures afresh: its
        // earlier period's series bind neither the index nor this.
        let reestablished = [
            created("a", "2000"),
            created("b", "2000"),
            figures(json!({"beds": 10}), "2001"),
            json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": ["a"], "to": ["b"]}),
            json!({"type": "transformed", "mode": "reestablishment", "date": "2008", "from": ["b"], "to": ["a"]}),
        ];
        accepted(&reestablished, figures(json!({"Beds": 12}), "2010"));
        // and a figure backdated into its first period is held to that
        // period's series only, either way round.
        let mut second = reestablished.to_vec();
        second.push(figures(json!({"staff": 12}), "2010"));
        accepted(&second, figures(json!({"Staff": 3}), "2001-06"));
        let mut both = reestablished.to_vec();
        both.push(figures(json!({"Beds": 12}), "2012"));
        let r = rejected(&both, figures(json!({"beds": 11}), "2010"));
        assert_refused(
            &r,
            Rule::SeriesName,
            "named like its series \"Beds\"",
            "as seq 6 did",
        );
        // Backdated between two series already in the ledger, either
        // name goes on.
        accepted(&held, figures(json!({"beds": 9}), "2001-06"));
    }

    #[test]
    fn a_url_is_checked_for_what_surely_is_not_one() {
        for fine in [
            "https://www.lemonde.fr/economie/article/2016/05/12/x.html",
            "http://example.org",
            "HTTPS://EXAMPLE.ORG?q=1",
            "https://fr.wikipedia.org/wiki/Numélink",
            "https://example.org:8443/a#b",
            "doi:10.1000/182",
            "urn:isbn:2-266-11156-6",
            "mailto:press@example.org",
            "ftp://ftp.example.org/a.pdf",
            "http://[::1]:8080/x",
            "https://user:pw@example.org/",
            "svn+ssh://example.org/repo",
        ] {
            assert_eq!(url_problem(fine), None, "{fine}");
        }
        for (bad, why) in [
            ("lemonde.fr/article", "does not start with a scheme"),
            ("www.lemonde.fr", "does not start with a scheme"),
            ("/docs/a.pdf", "does not start with a scheme"),
            (":x", "does not start with a scheme"),
            ("1http://x", "does not start with a scheme"),
            ("ht tp://x", "a space or a control character"),
            ("https://example.org/a b", "a space or a control character"),
            (
                "https://example.org/\u{7}",
                "a space or a control character",
            ),
            ("https://example.org/\t", "a space or a control character"),
            ("https:example.org", "names its host after `//`"),
            ("https://", "names its host after `//`"),
            ("http:///path", "names its host after `//`"),
            ("https://?q", "names its host after `//`"),
            ("http://:80", "names its host after `//`"),
            ("http://user@/", "names its host after `//`"),
            ("https://@", "names its host after `//`"),
            ("https://:443/x", "names its host after `//`"),
        ] {
            let found = url_problem(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(found.contains(why), "{bad:?}: {found}");
        }
    }

    #[test]
    fn a_batch_with_a_bad_url_anywhere_is_refused_at_its_first_event_with_one() {
        let src = |url: &str| json!([{"doc": "d"}, {"doc": "e", "url": url}]);
        let good = "https://example.org/a";
        let created = |id: &str, url: &str| {
            ev(
                json!({"type": "created", "date": "2010", "id": id, "name": "A", "kind": "k", "sources": src(url)}),
            )
        };
        // Given a batch whose second and third events have a bad url…
        let plan = ev(
            json!({"type": "planned", "date": "2010", "sources": src(good),
            "planned": {"type": "dissolved", "date": "2030", "org": "a", "sources": src("a.example/plan")}}),
        );
        let batch = [created("a", good), plan, created("b", "b.example")];
        // …then the second is refused, naming the field within its plan.
        let (i, r) = bad_url(&batch).expect("refused");
        assert_eq!((i, r.rule), (1, Rule::Url));
        assert!(
            r.message
                .starts_with(r#"`planned.sources[1].url` "a.example/plan" is not a URL"#),
            "{}",
            r.message
        );
        // A correction's replacement is checked too; a batch without a bad
        // url passes.
        let supersede = ev(
            json!({"type": "correction", "date": "2011", "mode": "supersede",
            "target": "0".repeat(64), "reason": "r", "sources": src(good),
            "replacement": {"type": "dissolved", "date": "2012", "org": "a", "sources": src("https:/x")}}),
        );
        let (i, r) = bad_url(&[created("a", good), supersede]).expect("refused");
        assert_eq!(i, 1);
        assert!(
            r.message.starts_with("`replacement.sources[1].url`"),
            "{}",
            r.message
        );
        assert!(bad_url(&[created("a", good), created("c", "doi:10.1/x")]).is_none());
        // A long url is shown cut, so that the reason stays on screen.
        let long = format!("https://x.example/{} ", "a".repeat(100_000));
        let (_, r) = bad_url(&[created("a", &long)]).expect("refused");
        assert!(
            r.message.ends_with(
                "… (99819 more characters) is not a URL: it holds a space or a control character"
            ),
            "{}",
            &r.message[r.message.len() - 120..]
        );
    }

    /// Given a batch appended on 2026-11-25, when an event, or a
    /// correction's replacement, is dated after the next day, then the
    /// first such event is refused, pointing to a plan; the day itself,
    /// the next one (a time zone ahead of UTC), a period that starts by
    /// then and a plan stated by then for a later date are accepted.
    #[test]
    fn an_event_dated_after_the_day_it_is_appended_is_refused() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).expect("day");
        let created = |date: &str| ev(created("a", date));
        let accepted = [
            created("2026-11-25"),
            created("2026-11-26"),
            created("2026"),
            created("2026-11"),
            ev(
                json!({"type": "planned", "date": "2026-11", "planned": {"type": "dissolved", "date": "2030", "org": "a", "sources": [{"doc": "t"}]}}),
            ),
        ];
        for e in &accepted {
            assert_eq!(dated_after(std::slice::from_ref(e), today), None, "{e:?}");
        }
        // An approximate date is the period it names.
        assert!(dated_after(&[created("2026-12~")], today).is_some());
        let (i, r) = dated_after(&[created("2026"), created("2099"), created("2027")], today)
            .expect("refused");
        assert_eq!(i, 1);
        assert_refused(
            &r,
            Rule::Future,
            "it is dated 2099, after 2026-11-25, the day it is appended",
            "append a `planned` event dated when it was announced",
        );
        let supersede = ev(
            json!({"type": "correction", "date": "2026", "target": h(1), "mode": "supersede", "reason": "r",
            "replacement": {"type": "created", "date": "2026-11-27", "id": "a", "name": "A", "kind": "k", "sources": [{"doc": "t"}]}}),
        );
        let (_, r) = dated_after(&[supersede], today).expect("refused");
        assert_refused(&r, Rule::Future, "its replacement is dated 2026-11-27", "");
        let replan = ev(
            json!({"type": "correction", "date": "2026", "target": h(1), "mode": "supersede", "reason": "r",
            "replacement": {"type": "planned", "date": "2027", "planned": {"type": "dissolved", "date": "2030", "org": "a", "sources": [{"doc": "t"}]}, "sources": [{"doc": "t"}]}}),
        );
        let (_, r) = dated_after(&[replan], today).expect("refused");
        assert_refused(
            &r,
            Rule::Future,
            "its replacement is dated 2027",
            "a plan is dated when it was stated",
        );
        let plan = ev(
            json!({"type": "planned", "date": "2027", "planned": {"type": "dissolved", "date": "2030", "org": "a", "sources": [{"doc": "t"}]}}),
        );
        let (_, r) = dated_after(&[plan], today).expect("refused");
        assert_refused(
            &r,
            Rule::Future,
            "it is dated 2027",
            "a plan is dated when it was stated",
        );
    }

    #[test]
    fn a_broken_link_already_in_the_ledger_is_inert_and_blocks_no_append() {
        // given a history written by other means: seq 2 retracts seq 4 (a
        // later record), seq 3 retracts seq 1, and seq 5 supersedes seq 3 (a
        // correction of a correction)
        let retract = |target: u64| json!({"type": "correction", "date": "2011", "target": h(target), "mode": "retract", "reason": "r"});
        let history = [
            created("a", "2010"),
            retract(4),
            retract(1),
            created("b", "2010"),
            json!({"type": "correction", "date": "2012", "target": h(3), "mode": "supersede", "reason": "r",
                   "replacement": {"type": "created", "date": "2010", "id": "c", "name": "C", "kind": "cluster", "sources": [{"doc": "test"}]}}),
        ];
        // when it is folded, then neither broken link applies: `b` stands, `a`
        // stays retracted, and no replacement brings `c`
        let s = head(&ledger(&history), "2030");
        assert_eq!(listed(&s.orgs), ["b"]);
        // and an event appended after it is judged on its own
        accepted(
            &history,
            json!({"type": "renamed", "date": "2013", "org": "b", "name": "Bee"}),
        );
        let rule = rejected(
            &history,
            json!({"type": "renamed", "date": "2013", "org": "a", "name": "Ay"}),
        );
        assert_eq!(rule.rule, Rule::UnknownId);
    }

    /// Re-checks `batch` after `history` in the timelines it touches, and
    /// validates it in full: the two answers (re-checked, fully valid).
    fn rechecked_and_validated(history: &[Value], batch: &[Value]) -> (Option<Rechecked>, bool) {
        let hist = ledger(history);
        let batch: Vec<Event> = batch.iter().cloned().map(ev).collect();
        let first = hist.len() as u64 + 1;
        let rechecked = recheck_touched(&hist, &batch, first, &mut |_| true, &mut |_, _| {});
        (rechecked, validate(&hist, &batch, first).is_ok())
    }

    #[test]
    fn a_backdated_event_is_re_checked_with_the_records_linked_to_its_ids() {
        // given b that joined a in 2015, and c on its own
        let history = [
            created("a", "2010"),
            created("b", "2010"),
            created("c", "2010"),
            json!({"type": "joined", "date": "2015", "org": "a", "member": {"org": "b"}, "relation": "member"}),
        ];
        // when b is renamed in 2012, then a's and b's records are re-checked,
        // not c's, and the state holds them alone
        let (r, valid) = rechecked_and_validated(
            &history,
            &[json!({"type": "renamed", "date": "2012", "org": "b", "name": "Bee"})],
        );
        let r = r.expect("accepted");
        assert!(valid);
        assert_eq!(r.ids.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(r.records, 4);
        assert_eq!(listed(&r.state.orgs), ["a", "b"]);
        assert_eq!(org(&r.state, "b").name, "Bee");
        // when a is dissolved before b joined it, then the join is found
        // invalid, and the full validation is left to say so
        let (r, valid) = rechecked_and_validated(&history, &[dissolution("a", "2013")]);
        assert!(r.is_none() && !valid);
    }

    #[test]
    fn a_correction_is_re_checked_with_its_target_even_one_that_names_no_id() {
        // given a milestone naming no organisation, superseded by a's
        // dissolution in 2012; and b on its own
        let history = [
            created("a", "2010"),
            json!({"type": "milestone", "date": "2011", "summary": "a fair"}),
            json!({"type": "correction", "date": "2012", "target": h(2), "mode": "supersede", "reason": "r",
                   "replacement": dissolution("a", "2012")}),
            created("b", "2010"),
            json!({"type": "figures", "date": "2020", "org": "b", "values": {"staff": 3}}),
        ];
        // when a is renamed in 2013, after its dissolution, then the
        // re-check folds the replacement too and refuses, as the full
        // validation does
        let (r, valid) = rechecked_and_validated(
            &history,
            &[json!({"type": "renamed", "date": "2013", "org": "a", "name": "Ay"})],
        );
        assert!(r.is_none() && !valid, "{r:?}");
        // and when it is renamed in 2011, both accept, with the milestone,
        // its correction and a's records re-checked (not b's)
        let (r, valid) = rechecked_and_validated(
            &history,
            &[json!({"type": "renamed", "date": "2011", "org": "a", "name": "Ay"})],
        );
        assert!(valid);
        let r = r.expect("accepted");
        assert_eq!(r.records, 4);
        assert!(org(&r.state, "a").ended.is_some());
    }

    // --- apply, one event type at a time ----------------------------------

    #[test]
    fn created_brings_an_organisation_with_its_attributes() {
        // given a creation with a seat
        let l = ledger(&[
            json!({"type": "created", "date": "2008", "id": "edit", "name": "Edit",
                                "kind": "cluster", "attrs": {"seat": "Lyon"}}),
        ]);
        // when folded before and at 2008
        let before = head(&l, "2007");
        let s = head(&l, "2008");
        // then it exists only from 2008, with name, kind, seat and its date
        assert!(before.orgs.is_empty());
        let o = org(&s, "edit");
        assert_eq!((o.name.as_str(), o.kind.as_str()), ("Edit", "cluster"));
        assert_eq!(o.attrs.get("seat").map(|a| a.value.as_str()), Some("Lyon"));
        assert_eq!((o.since.date.as_str(), o.since.seq), ("2008", 1));
        assert!(o.is_alive());
    }

    #[test]
    fn a_fusion_ends_its_parts_and_creates_the_new_one() {
        // given two clusters that fuse in May 2015
        let l = ledger(&[
            created("edit", "2008"),
            created("grilog", "2005"),
            fusion(&["edit", "grilog"], "clustr", "2015-05"),
        ]);
        // when folded in June 2015
        let s = head(&l, "2015-06");
        // then the parts ended into the new one, which has them as predecessors
        for id in ["edit", "grilog"] {
            let e = org(&s, id).ended.as_ref().expect("ended");
            assert_eq!(e.how, EndHow::Transformed(ChangeMode::Fusion));
            assert_eq!(e.into, vec!["clustr".to_owned()]);
            assert_eq!(org(&s, id).successors[0].id, "clustr");
        }
        let c = org(&s, "clustr");
        assert!(c.is_alive());
        let preds: Vec<&str> = c.predecessors.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(preds, vec!["edit", "grilog"]);
        assert_eq!(s.alive_orgs().count(), 1);
    }

    #[test]
    fn an_absorption_ends_the_absorbed_into_an_existing_one() {
        let l = ledger(&[
            created("numelink", "2014"),
            created("rhonealley", "2010"),
            json!({"type": "transformed", "mode": "absorption", "date": "2015-06", "from": ["rhonealley"], "to": ["numelink"]}),
        ]);
        let s = head(&l, "2015-12");
        assert_eq!(
            org(&s, "rhonealley").ended.as_ref().map(|e| e.how),
            Some(EndHow::Transformed(ChangeMode::Absorption))
        );
        let n = org(&s, "numelink");
        assert!(n.is_alive());
        assert_eq!(
            n.since.date.as_str(),
            "2014",
            "the absorber keeps its own start"
        );
        assert_eq!(n.predecessors[0].id, "rhonealley");
    }

    #[test]
    fn a_split_ends_one_into_new_and_existing_organisations() {
        let l = ledger(&[
            created("big", "2000"),
            created("other", "2000"),
            json!({"type": "transformed", "mode": "split", "date": "2010", "from": ["big"], "to": ["east", "other"],
                   "new": [{"id": "east", "name": "East", "kind": "cluster"}]}),
        ]);
        let s = head(&l, "2010");
        assert!(!org(&s, "big").is_alive());
        assert!(org(&s, "east").is_alive());
        assert_eq!(org(&s, "other").predecessors[0].mode, ChangeMode::Split);
        assert_eq!(org(&s, "east").predecessors[0].id, "big");
    }

    #[test]
    fn a_spin_off_leaves_the_parent_alive() {
        let l = ledger(&[
            created("parent", "2000"),
            json!({"type": "transformed", "mode": "spin_off", "date": "2012", "from": ["parent"], "to": ["child"],
                   "new": [{"id": "child", "name": "Child", "kind": "company"}]}),
        ]);
        let s = head(&l, "2012");
        assert!(org(&s, "parent").is_alive());
        assert_eq!(org(&s, "parent").successors[0].id, "child");
        assert_eq!(org(&s, "child").predecessors[0].mode, ChangeMode::SpinOff);
    }

    #[test]
    fn a_reestablishment_brings_back_a_merged_commune_with_a_new_period() {
        // given commune a absorbed into b in 2016, with a site before
        let l = ledger(&[
            created("a", "1943"),
            created("b", "1943"),
            json!({"type": "site_opened", "date": "1990", "org": "a", "site": "Mairie"}),
            json!({"type": "transformed", "mode": "absorption", "date": "2016-01-01", "from": ["a"], "to": ["b"]}),
            json!({"type": "transformed", "mode": "reestablishment", "date": "2019-01-01", "from": ["b"], "to": ["a"]}),
        ]);
        // when folded in 2017 and in 2019
        let gone = head(&l, "2017");
        let back = head(&l, "2019");
        // then a is absent in 2017, alive again in 2019 with a fresh period
        assert!(!org(&gone, "a").is_alive());
        let a = org(&back, "a");
        assert!(a.is_alive());
        assert_eq!(a.since.date.as_str(), "2019-01-01");
        assert_eq!(a.periods.len(), 1);
        assert_eq!(a.periods[0].since.date.as_str(), "1943");
        assert!(
            a.sites.is_empty(),
            "a new period starts without the old sites"
        );
        assert_eq!(
            a.predecessors.last().map(|p| p.mode),
            Some(ChangeMode::Reestablishment)
        );
        assert!(org(&back, "b").is_alive());
    }

    #[test]
    fn an_id_change_carries_all_state_to_the_new_id() {
        // given an organisation with a label, a program, a member and a membership elsewhere
        let l = ledger(&[
            created("old", "2000"),
            created("club", "2000"),
            created("m", "2000"),
            json!({"type": "label_granted", "date": "2005", "label": "L", "holder": "old"}),
            json!({"type": "program_launched", "date": "2005", "program": "p1", "name": "P", "owner": "old"}),
            json!({"type": "joined", "date": "2005", "org": "club", "member": {"org": "old"}, "relation": "member"}),
            json!({"type": "joined", "date": "2005", "org": "old", "member": {"org": "m"}, "relation": "partner"}),
            json!({"type": "figures", "date": "2006", "org": "old", "values": {"staff": 3}}),
            json!({"type": "transformed", "mode": "id_change", "date": "2010", "from": ["old"], "to": ["new"]}),
        ]);
        // when folded after the change
        let s = head(&l, "2010");
        // then the new id holds everything, the old one has ended
        let n = org(&s, "new");
        assert_eq!(n.name, "OLD");
        assert_eq!(n.since.date.as_str(), "2000");
        assert!(n.labels.contains_key("L"));
        assert!(n.programs.contains("p1"));
        assert_eq!(n.figures.get("staff").map(|f| f.value), Some(3));
        assert!(n.partners.contains_key(&Party::Org("m".into())));
        assert_eq!(s.programs.get("p1").map(|p| p.owner.as_str()), Some("new"));
        let club = org(&s, "club");
        assert!(club.members.contains_key(&Party::Org("new".into())));
        assert!(!club.members.contains_key(&Party::Org("old".into())));
        assert_eq!(
            org(&s, "old").ended.as_ref().map(|e| e.how),
            Some(EndHow::Transformed(ChangeMode::IdChange))
        );
        assert_eq!(n.predecessors[0].id, "old");
        // and the member m is now recorded as a partner of `new` in the reverse index
        assert!(
            s.member_of
                .get("m")
                .is_some_and(|set| set.contains(&("new".into(), Relation::Partner)))
        );
    }

    #[test]
    fn renamed_keeps_the_name_history() {
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "renamed", "date": "2016-09-28", "org": "x", "name": "Auvergne-Rhône-Alpes"}),
        ]);
        assert_eq!(org(&head(&l, "2016-09-27"), "x").name, "X");
        let s = head(&l, "2016");
        let names: Vec<&str> = org(&s, "x").names.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, vec!["X", "Auvergne-Rhône-Alpes"]);
    }

    #[test]
    fn dissolved_ends_the_organisation_and_its_memberships() {
        let l = ledger(&[
            created("club", "2000"),
            created("x", "2000"),
            json!({"type": "joined", "date": "2001", "org": "club", "member": {"org": "x"}, "relation": "member"}),
            json!({"type": "dissolved", "date": "2010", "org": "x"}),
        ]);
        let before = head(&l, "2009");
        let after = head(&l, "2010");
        assert!(
            org(&before, "club")
                .members
                .contains_key(&Party::Org("x".into()))
        );
        assert_eq!(
            org(&after, "x").ended.as_ref().map(|e| e.how),
            Some(EndHow::Dissolved)
        );
        assert!(org(&after, "club").members.is_empty());
    }

    #[test]
    fn attribute_set_sets_and_null_removes() {
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "attribute_set", "date": "2001", "org": "x", "key": "seat", "value": "Lyon"}),
            json!({"type": "attribute_set", "date": "2005", "org": "x", "key": "seat", "value": null}),
        ]);
        assert_eq!(
            org(&head(&l, "2003"), "x")
                .attrs
                .get("seat")
                .map(|a| a.value.as_str()),
            Some("Lyon")
        );
        assert!(org(&head(&l, "2005"), "x").attrs.is_empty());
        // removing an attribute that is not set is refused, naming those set
        let r = rejected(
            &[
                created("x", "2000"),
                json!({"type": "attribute_set", "date": "2001", "org": "x", "key": "seat", "value": "Lyon"}),
            ],
            json!({"type": "attribute_set", "date": "2005", "org": "x", "key": "size", "value": null}),
        );
        assert_eq!(r.rule, Rule::NotHeld);
        assert_eq!(r.hint.as_deref(), Some("attributes set: \"seat\""));
    }

    #[test]
    fn labels_are_granted_and_withdrawn() {
        let l = ledger(&[
            created("lyon", "2000"),
            json!({"type": "label_granted", "date": "2014-11-12", "label": "French Tech", "holder": "lyon", "by": "Mission French Tech"}),
            json!({"type": "label_withdrawn", "date": "2020", "label": "French Tech", "holder": "lyon"}),
        ]);
        let s = head(&l, "2015");
        let held = org(&s, "lyon").labels.get("French Tech").expect("held");
        assert_eq!(held.by.as_deref(), Some("Mission French Tech"));
        assert_eq!(held.since.date.as_str(), "2014-11-12");
        assert!(org(&head(&l, "2020"), "lyon").labels.is_empty());
    }

    #[test]
    fn candidacies_keep_their_latest_status() {
        let l = ledger(&[
            created("annecy", "2000"),
            json!({"type": "candidacy", "date": "2015-03", "label": "French Tech", "candidate": "annecy", "status": "filed"}),
            json!({"type": "candidacy", "date": "2015-06-25", "label": "French Tech", "candidate": "annecy", "status": "refused"}),
        ]);
        let key = (
            CompactString::from("French Tech"),
            CompactString::from("annecy"),
        );
        assert_eq!(
            head(&l, "2015-05").candidacies.get(&key).map(|c| c.status),
            Some(CandidacyStatus::Filed)
        );
        assert_eq!(
            head(&l, "2015").candidacies.get(&key).map(|c| c.status),
            Some(CandidacyStatus::Refused)
        );
    }

    #[test]
    fn programs_launch_end_and_carry_figures() {
        let l = ledger(&[
            created("bivouac", "2015"),
            json!({"type": "program_launched", "date": "2016-10", "program": "auvermoov", "name": "Auvermoov", "owner": "bivouac", "kind": "call_for_projects"}),
            json!({"type": "figures", "date": "2016-11", "org": "auvermoov", "values": {"applicants": 40}}),
            json!({"type": "program_ended", "date": "2017-01", "program": "auvermoov"}),
        ]);
        let s = head(&l, "2016-12");
        let p = s.programs.get("auvermoov").expect("program");
        assert_eq!(p.owner, "bivouac");
        assert!(p.ended.is_none());
        assert_eq!(p.figures.get("applicants").map(|f| f.value), Some(40));
        assert!(org(&s, "bivouac").programs.contains("auvermoov"));
        let later = head(&l, "2017");
        assert_eq!(
            later
                .programs
                .get("auvermoov")
                .and_then(|p| p.ended.as_ref())
                .map(|e| e.seq),
            Some(4)
        );
    }

    #[test]
    fn sites_open_and_close() {
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "site_opened", "date": "2001", "org": "x", "site": "Roanne"}),
            json!({"type": "site_closed", "date": "2003", "org": "x", "site": "Roanne"}),
        ]);
        assert!(org(&head(&l, "2002"), "x").sites.contains_key("Roanne"));
        assert!(org(&head(&l, "2003"), "x").sites.is_empty());
    }

    #[test]
    fn members_and_partners_join_and_leave() {
        let l = ledger(&[
            created("bivouac", "2015"),
            created("region", "2016-01-01"),
            json!({"type": "joined", "date": "2016-02", "org": "bivouac", "member": {"org": "region"}, "relation": "member"}),
            json!({"type": "joined", "date": "2016-02", "org": "bivouac", "member": {"name": "Michelin"}, "relation": "partner"}),
            json!({"type": "left", "date": "2018", "org": "bivouac", "member": {"name": "Michelin"}, "relation": "partner"}),
        ]);
        let s = head(&l, "2016");
        let b = org(&s, "bivouac");
        assert!(b.members.contains_key(&Party::Org("region".into())));
        assert!(b.partners.contains_key(&Party::Name("Michelin".into())));
        assert!(
            !b.members.contains_key(&Party::Name("Michelin".into())),
            "relations are kept apart"
        );
        assert!(org(&head(&l, "2018"), "bivouac").partners.is_empty());
    }

    #[test]
    fn roles_start_and_end() {
        let l = ledger(&[
            created("clustr", "2015"),
            json!({"type": "role_started", "date": "2015-05", "org": "clustr", "person": "Thierry Alvergnat", "role": "director"}),
            json!({"type": "role_ended", "date": "2017", "org": "clustr", "person": "Thierry Alvergnat", "role": "director"}),
        ]);
        assert!(
            org(&head(&l, "2016"), "clustr")
                .role("director", "Thierry Alvergnat")
                .is_some()
        );
        assert!(org(&head(&l, "2017"), "clustr").roles.is_empty());
    }

    #[test]
    fn figures_keep_the_latest_by_date_not_by_seq() {
        // given a 2017 figure recorded first, then a backdated 2016 figure
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "figures", "date": "2017-03-28", "org": "x", "values": {"members": 510, "staff": 12}}),
            json!({"type": "figures", "date": "2016-03-31", "org": "x", "values": {"members": 300}, "sources": [{"doc": "JDE 2016"}]}),
        ]);
        // when folded in 2016 and in 2017
        let y16 = head(&l, "2016");
        let y17 = head(&l, "2017");
        // then each year shows the figure of its date, with date and source
        let m16 = org(&y16, "x").figures.get("members").expect("figure");
        assert_eq!(
            (m16.value, m16.at.date.as_str(), m16.sources[0].doc.as_str()),
            (300, "2016-03-31", "JDE 2016")
        );
        assert!(!org(&y16, "x").figures.contains_key("staff"));
        assert_eq!(
            org(&y17, "x").figures.get("members").map(|f| f.value),
            Some(510)
        );
    }

    #[test]
    fn milestones_and_plans_change_nothing() {
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "milestone", "date": "2016-09-07", "orgs": ["x"], "summary": "seminar"}),
            json!({"type": "planned", "date": "2016-06", "planned": {"type": "dissolved", "date": "2016-07", "org": "x", "sources": [{"doc": "t"}]}}),
        ]);
        let s = head(&l, "2020");
        let mut only_created = State::default();
        apply(&mut only_created, 1, &l[0].event);
        assert_eq!(s, only_created);
    }

    #[test]
    fn apply_ignores_what_does_not_fit_and_never_panics() {
        // given an empty state, when events about unknown ids are applied,
        // then nothing is created except by creating events
        let mut s = State::default();
        for v in [
            json!({"type": "renamed", "date": "2000", "org": "ghost", "name": "G"}),
            json!({"type": "dissolved", "date": "2000", "org": "ghost"}),
            json!({"type": "site_closed", "date": "2000", "org": "ghost", "site": "s"}),
            json!({"type": "left", "date": "2000", "org": "ghost", "member": {"org": "y"}, "relation": "member"}),
            json!({"type": "role_ended", "date": "2000", "org": "ghost", "person": "p", "role": "r"}),
            json!({"type": "figures", "date": "2000", "org": "ghost", "values": {"n": 1}}),
            json!({"type": "program_ended", "date": "2000", "program": "ghost"}),
            json!({"type": "transformed", "mode": "reestablishment", "date": "2000", "from": ["a"], "to": ["b"]}),
            json!({"type": "transformed", "mode": "id_change", "date": "2000", "from": ["a"], "to": ["b"]}),
        ] {
            apply(&mut s, 1, &ev(v));
        }
        assert_eq!(s, State::default());
        // and a creation of a used id does not replace the first
        apply(&mut s, 1, &ev(created("x", "2000")));
        apply(
            &mut s,
            2,
            &ev(
                json!({"type": "created", "date": "2001", "id": "x", "name": "Other", "kind": "k"}),
            ),
        );
        assert_eq!(org(&s, "x").name, "X");
    }

    // --- dates and order --------------------------------------------------

    #[test]
    fn an_imprecise_date_counts_from_the_start_of_its_period() {
        let l = ledger(&[created("clustr", "2015-05~")]);
        assert!(head(&l, "2015-04").orgs.is_empty());
        assert!(
            Knowledge::new(&l, 1)
                .fold_until(day("2015-05-01"))
                .orgs
                .contains_key("clustr")
        );
    }

    #[test]
    fn same_date_events_apply_in_ledger_order() {
        // given two renames on the same day, the second recorded later
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "renamed", "date": "2016-09-28", "org": "x", "name": "First"}),
            json!({"type": "renamed", "date": "2016-09-28", "org": "x", "name": "Second"}),
        ]);
        // then the later seq wins on that day
        assert_eq!(org(&head(&l, "2016-09-28"), "x").name, "Second");
    }

    #[test]
    fn dates_with_the_same_first_day_apply_in_ledger_order() {
        // given a rename dated 2016-01 recorded after one dated 2016, and
        // one dated 2016 recorded after one dated 2016-01-01
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "renamed", "date": "2016", "org": "x", "name": "Year"}),
            json!({"type": "renamed", "date": "2016-01", "org": "x", "name": "Month"}),
            created("y", "2016-01-01"),
            json!({"type": "renamed", "date": "2016", "org": "y", "name": "Y2"}),
        ]);
        // when ordered for the fold
        let k = Knowledge::new(&l, 5);
        let order: Vec<u64> = k.timeline.iter().map(|e| e.seq).collect();
        // then the same first day means seq order, whatever the precision
        assert_eq!(order, vec![1, 2, 3, 4, 5]);
        let s = head(&l, "2016");
        assert_eq!(org(&s, "x").name, "Month");
        assert_eq!(org(&s, "y").name, "Y2");
    }

    #[test]
    fn a_year_dated_creation_can_be_referred_to_by_a_month_in_that_year() {
        // given an organisation created `2015` and a later record dated `2015-01`
        let l = ledger(&[created("x", "2015")]);
        let site =
            ev(json!({"type": "site_opened", "date": "2015-01", "org": "x", "site": "Lyon"}));
        // when validated
        // then it is accepted: both start on 2015-01-01 and the creation comes first
        assert_eq!(validate(&l, &[site], 2), Ok(()));
    }

    // --- corrections ----------------------------------------------------

    #[test]
    fn a_retraction_counts_only_from_its_position_on() {
        // given a figure at seq 2, retracted at seq 3
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "figures", "date": "2016", "org": "x", "values": {"members": 8}}),
            json!({"type": "correction", "date": "2017", "target": h(2), "mode": "retract", "reason": "wrong"}),
        ]);
        // when viewed as known at 2 and at 3
        let at2 = state(&l, "2016", 2);
        let at3 = state(&l, "2016", 3);
        // then the figure shows at 2, not at 3
        assert_eq!(
            org(&at2, "x").figures.get("members").map(|f| f.value),
            Some(8)
        );
        assert!(org(&at3, "x").figures.is_empty());
        assert_eq!(
            Knowledge::new(&l, 3).corrections.get(&2),
            Some(&Corrected {
                mode: CorrectionMode::Retract,
                seq: 3
            })
        );
        assert!(Knowledge::new(&l, 2).corrections.is_empty());
    }

    #[test]
    fn a_supersede_replaces_with_its_own_date_and_the_corrections_seq() {
        // given a seminar announced for 09-06, superseded: it was on 09-07
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "site_opened", "date": "2016-09-06", "org": "x", "site": "Le Puy"}),
            json!({"type": "correction", "date": "2016-09-12", "target": h(2), "mode": "supersede", "reason": "the 7th",
                   "replacement": {"type": "site_opened", "date": "2016-09-07", "org": "x", "site": "Le Puy", "sources": [{"doc": "La Tribune"}]}}),
        ]);
        // when viewed on 09-06 before and after the correction
        assert!(
            org(&state(&l, "2016-09-06", 2), "x")
                .sites
                .contains_key("Le Puy")
        );
        assert!(
            !org(&state(&l, "2016-09-06", 3), "x")
                .sites
                .contains_key("Le Puy")
        );
        // then the replacement counts from its own date, stamped with seq 3
        let s = state(&l, "2016-09-07", 3);
        let site = org(&s, "x").sites.get("Le Puy").expect("open");
        assert_eq!((site.date.as_str(), site.seq), ("2016-09-07", 3));
        let k = Knowledge::new(&l, 3);
        assert_eq!(
            k.timeline.last().map(|e| (e.seq, e.supersedes)),
            Some((3, Some(2)))
        );
    }

    #[test]
    fn a_replacement_ties_with_its_corrections_seq() {
        // given a rename at seq 2 and another at seq 3 on the same day, and at
        // seq 4 a supersede of seq 2 by a rename on that same day
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "renamed", "date": "2016-01-01", "org": "x", "name": "A"}),
            json!({"type": "renamed", "date": "2016-01-01", "org": "x", "name": "B"}),
            json!({"type": "correction", "date": "2017", "target": h(2), "mode": "supersede", "reason": "r",
                   "replacement": {"type": "renamed", "date": "2016-01-01", "org": "x", "name": "C", "sources": [{"doc": "t"}]}}),
        ]);
        // then the replacement applies after seq 3
        assert_eq!(org(&state(&l, "2016", 3), "x").name, "B");
        assert_eq!(org(&state(&l, "2016", 4), "x").name, "C");
    }

    #[test]
    fn a_second_correction_of_the_same_target_is_ignored_by_the_knowledge() {
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "renamed", "date": "2001", "org": "x", "name": "A"}),
            json!({"type": "correction", "date": "2017", "target": h(2), "mode": "retract", "reason": "r"}),
            json!({"type": "correction", "date": "2017", "target": h(2), "mode": "supersede", "reason": "r",
                   "replacement": {"type": "renamed", "date": "2001", "org": "x", "name": "Z", "sources": [{"doc": "t"}]}}),
        ]);
        assert_eq!(org(&head(&l, "2002"), "x").name, "X");
    }

    #[test]
    fn records_named_by_hash_alone_are_corrected_as_if_given_whole() {
        // given a ledger whose corrections name records 2 and 3, and a
        // correction (seq 5) naming a record after it (seq 6), which the
        // knowledge ignores (no ledger can hold one: a hash names only
        // what precedes it; here the hashes are stand-ins)
        let l = ledger(&[
            created("x", "2000"),
            json!({"type": "renamed", "date": "2001", "org": "x", "name": "A"}),
            json!({"type": "renamed", "date": "2002", "org": "x", "name": "B"}),
            json!({"type": "correction", "date": "2017", "target": h(2), "mode": "retract", "reason": "r"}),
            json!({"type": "correction", "date": "2017", "target": h(6), "mode": "retract", "reason": "r"}),
            json!({"type": "renamed", "date": "2003", "org": "x", "name": "C"}),
            json!({"type": "correction", "date": "2017", "target": h(3), "mode": "supersede", "reason": "r",
                   "replacement": {"type": "renamed", "date": "2002", "org": "x", "name": "Z", "sources": [{"doc": "t"}]}}),
        ]);
        let whole: Vec<Entry> = l
            .iter()
            .filter(|e| e.seq == 4 || e.seq >= 5 && e.seq != 6)
            .cloned()
            .collect();
        let named: Vec<(u64, String)> = [2, 3, 6].iter().map(|&seq| (seq, h(seq))).collect();
        for position in [3, 5, 6, 7] {
            // when the knowledge is built from the corrections whole and
            // the records they name by hash alone
            let k = Knowledge::with_named(&whole, &named, position);
            let given = Knowledge::new(&l, position);
            // then it corrects the same records as from the whole ledger
            assert_eq!(k.corrections, given.corrections, "at {position}");
            // and its timeline is the whole ledger's without the records it
            // was not given (left to the caller), corrected or not
            let seqs =
                |k: &Knowledge<'_>| -> Vec<u64> { k.timeline.iter().map(|e| e.seq).collect() };
            let expected: Vec<u64> = seqs(&given)
                .into_iter()
                .filter(|seq| whole.iter().any(|e| e.seq == *seq))
                .collect();
            assert_eq!(seqs(&k), expected, "at {position}");
            assert_eq!(k.position, given.position, "at {position}");
        }
        // and seq 6, named but not corrected, is not in the corrections
        let k = Knowledge::with_named(&whole, &named, 7);
        assert!(!k.corrections.contains_key(&6));
        assert!(k.corrections.contains_key(&2) && k.corrections.contains_key(&3));
    }

    // --- plans ----------------------------------------------------------

    fn plan_ledger() -> Vec<Value> {
        vec![
            created("clustr", "2015"),
            created("numelink", "2014"),
            // seq 3: stated in summer 2016, for 2017-01-01
            json!({"type": "planned", "date": "2016-06", "planned": fusion(&["clustr", "numelink"], "merged", "2017-01-01")}),
        ]
    }

    fn status(l: &[Entry], as_of: &str, known: u64) -> PlanStatus {
        let k = Knowledge::new(l, known);
        k.plan(&h(3)).expect("plan").status_on(day(as_of))
    }

    #[test]
    fn a_plan_is_pending_then_overdue_and_never_happens_by_itself() {
        let l = ledger(&plan_ledger());
        assert_eq!(status(&l, "2016-09", 3), PlanStatus::Pending);
        assert_eq!(
            status(&l, "2017-01-01", 3),
            PlanStatus::Pending,
            "on the planned day itself"
        );
        assert_eq!(status(&l, "2017-06-01", 3), PlanStatus::Overdue);
        let s = head(&l, "2017-06-01");
        assert!(!s.orgs.contains_key("merged"));
        assert!(org(&s, "clustr").is_alive());
    }

    #[test]
    fn a_plan_is_fulfilled_from_the_date_of_the_fulfilling_event() {
        let mut v = plan_ledger();
        let mut happened = fusion(&["clustr", "numelink"], "digital-league", "2017-03-28");
        happened["fulfils"] = json!(h(3));
        v.push(happened);
        let l = ledger(&v);
        assert_eq!(
            status(&l, "2017-06-01", 3),
            PlanStatus::Overdue,
            "not yet known at seq 3"
        );
        assert_eq!(
            status(&l, "2017-02", 4),
            PlanStatus::Overdue,
            "known, but not yet happened"
        );
        assert_eq!(status(&l, "2017-06-01", 4), PlanStatus::Fulfilled);
        let k = Knowledge::new(&l, 4);
        assert_eq!(
            k.plan(&h(3))
                .and_then(|p| p.fulfilled_on(day("2017-06")))
                .map(|f| f.seq),
            Some(4)
        );
    }

    #[test]
    fn a_plan_can_be_superseded_by_a_revised_plan_or_retracted() {
        let mut v = plan_ledger();
        v.push(json!({"type": "correction", "date": "2016-12", "target": h(3), "mode": "supersede", "reason": "postponed",
                      "replacement": {"type": "planned", "date": "2016-12", "sources": [{"doc": "t"}],
                                      "planned": fusion(&["clustr", "numelink"], "merged", "2017-03")}}));
        let l = ledger(&v);
        assert_eq!(status(&l, "2017-01-02", 4), PlanStatus::Superseded);
        let k = Knowledge::new(&l, 4);
        let revised = k
            .plan(&h(4))
            .expect("the revised plan is named by the correction's hash");
        assert_eq!(revised.planned.date.as_str(), "2017-03");
        assert_eq!(revised.stated.as_str(), "2016-12");
        assert_eq!(revised.status_on(day("2017-02")), PlanStatus::Pending);

        let mut r = plan_ledger();
        r.push(json!({"type": "correction", "date": "2016-12", "target": h(3), "mode": "retract", "reason": "never planned"}));
        assert_eq!(status(&ledger(&r), "2016-09", 4), PlanStatus::Retracted);
        assert_eq!(status(&ledger(&r), "2016-09", 3), PlanStatus::Pending);
    }

    #[test]
    fn a_retracted_fulfilment_no_longer_fulfils() {
        let mut v = plan_ledger();
        let mut happened = fusion(&["clustr", "numelink"], "digital-league", "2017-03-28");
        happened["fulfils"] = json!(h(3));
        v.push(happened);
        v.push(json!({"type": "correction", "date": "2018", "target": h(4), "mode": "retract", "reason": "r"}));
        let l = ledger(&v);
        assert_eq!(status(&l, "2017-06", 4), PlanStatus::Fulfilled);
        assert_eq!(status(&l, "2017-06", 5), PlanStatus::Overdue);
    }

    // --- check: references, ids, held facts -----------------------------

    #[test]
    fn referring_to_an_ended_organisation_is_refused_with_when_and_how() {
        let hist = [
            created("edit", "2008"),
            created("grilog", "2005"),
            fusion(&["edit", "grilog"], "clustr", "2015-05"),
        ];
        let r = rejected(
            &hist,
            json!({"type": "figures", "date": "2016", "org": "edit", "values": {"members": 1}}),
        );
        assert_eq!(r.rule, Rule::Ended);
        assert!(
            r.message.contains("organisation `edit` (field `org`) ended on 2015-05 (fusion into `clustr`); an event dated 2016 cannot refer to it"),
            "{}",
            r.message
        );
        // Given what it went into ended too, the hint names what exists on
        // the event's date.
        let later = [
            created("edit", "2008"),
            created("grilog", "2005"),
            created("numelink", "2014"),
            fusion(&["edit", "grilog"], "clustr", "2015-05"),
            fusion(&["clustr", "numelink"], "league", "2017"),
        ];
        let r2 = rejected(
            &later,
            json!({"type": "figures", "date": "2018", "org": "edit", "values": {"members": 1}}),
        );
        assert!(
            r2.to_string().contains(
                "hint: refer to what it became by 2018, `league` (its successor `clustr` has ended too), or correct the date if this happened before 2015-05"
            ),
            "{r2}"
        );
        let dissolved = [
            created("edit", "2008"),
            created("grilog", "2005"),
            fusion(&["edit", "grilog"], "clustr", "2015-05"),
            dissolution("clustr", "2016"),
        ];
        let r3 = rejected(
            &dissolved,
            json!({"type": "figures", "date": "2018", "org": "edit", "values": {"members": 1}}),
        );
        assert!(
            r3.to_string().contains(
                "hint: what it went into (`clustr`) has ended too, and nothing it became exists on 2018"
            ),
            "{r3}"
        );
        assert!(
            r.to_string()
                .contains("hint: refer to its successor (`clustr`)"),
            "{r}"
        );
        // the same event dated before the fusion is fine
        accepted(
            &hist,
            json!({"type": "figures", "date": "2014", "org": "edit", "values": {"members": 1}}),
        );
    }

    #[test]
    fn referring_to_an_unknown_organisation_is_refused() {
        let r = rejected(
            &[],
            json!({"type": "renamed", "date": "2016", "org": "ghost", "name": "G"}),
        );
        assert_eq!((r.rule, r.id.as_deref()), (Rule::UnknownId, Some("ghost")));
        assert!(
            r.message
                .contains("organisation `ghost` (field `org`) does not exist on 2016"),
            "{}",
            r.message
        );
    }

    #[test]
    fn an_event_before_the_creation_is_refused_with_the_creation_date() {
        let r = rejected(
            &[created("clustr", "2015-05")],
            json!({"type": "role_started", "date": "2015-04", "org": "clustr", "person": "p", "role": "director"}),
        );
        assert_eq!(r.rule, Rule::UnknownId);
        assert!(
            r.to_string()
                .contains("`clustr` comes into being on 2015-05 (seq 1), after 2015-04"),
            "{r}"
        );
    }

    #[test]
    fn a_batch_event_before_a_creation_starting_the_same_day_is_told_to_reorder() {
        // given a batch whose join (2020) comes before the creation
        // (2020-01-01) it refers to: the same first day, seq order decides
        let batch = [
            ev(
                json!({"type": "joined", "date": "2020", "org": "x", "member": {"name": "M"}, "relation": "member"}),
            ),
            ev(created("x", "2020-01-01")),
        ];
        // when it is validated
        let r = validate(&[], &batch, 1);
        // then the hint asks for the creation first, not for another date
        match r {
            Err(ValidationError::Rejected { index: 0, rule, .. }) => {
                assert_eq!(rule.rule, Rule::UnknownId);
                assert!(
                    rule.to_string().contains(
                        "`x` comes into being on 2020-01-01 (seq 2), which starts the same day as 2020, but events starting the same day apply in seq order; put the event that brings it in first"
                    ),
                    "{rule}"
                );
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        // and in that order the batch is accepted
        let [join, create] = batch;
        assert_eq!(validate(&[], &[create, join], 1), Ok(()));
    }

    #[test]
    fn a_year_date_cannot_refer_to_an_organisation_created_within_that_year() {
        // 2015 starts before 2015-05 does, so it sorts first
        let r = rejected(
            &[created("clustr", "2015-05")],
            json!({"type": "figures", "date": "2015", "org": "clustr", "values": {"n": 1}}),
        );
        assert_eq!(r.rule, Rule::UnknownId);
        // and the hint names the first day 2015 counts from, rather than
        // call 2015-05 "after 2015"
        assert_eq!(
            r.hint.as_deref(),
            Some(
                "`clustr` comes into being on 2015-05 (seq 1), after 2015-01-01, the first day of 2015, from which an event dated 2015 counts; date this event later, or backdate that one"
            )
        );
        // while a month inside a year-dated creation is fine
        accepted(
            &[created("edit", "2008")],
            json!({"type": "figures", "date": "2008-06", "org": "edit", "values": {"n": 1}}),
        );
    }

    #[test]
    fn same_date_references_follow_ledger_order() {
        // created and referred to on the same day: allowed after, in one batch
        let hist = ledger(&[created("x", "2016-01-01")]);
        let batch = [ev(
            json!({"type": "site_opened", "date": "2016-01-01", "org": "x", "site": "s"}),
        )];
        assert_eq!(validate(&hist, &batch, 2), Ok(()));
        // ended on a day: a later record on that same day cannot refer to it
        let r = rejected(
            &[
                created("x", "2000"),
                json!({"type": "dissolved", "date": "2016-01-01", "org": "x"}),
            ],
            json!({"type": "site_opened", "date": "2016-01-01", "org": "x", "site": "s"}),
        );
        assert_eq!(r.rule, Rule::Ended);
    }

    #[test]
    fn ids_are_never_reused_by_organisations_or_programs() {
        let hist = [
            created("x", "2000"),
            json!({"type": "dissolved", "date": "2001", "org": "x"}),
            created("owner", "2000"),
            json!({"type": "program_launched", "date": "2005", "program": "p", "name": "P", "owner": "owner"}),
        ];
        let r = rejected(&hist, created("x", "2010"));
        assert_eq!(r.rule, Rule::IdReused);
        assert!(r.message.contains("id `x` (field `id`) is already used by the organisation started on 2000 (seq 1), which has ended"), "{}", r.message);
        assert_eq!(rejected(&hist, created("p", "2010")).rule, Rule::IdReused);
        assert_eq!(
            rejected(&hist, json!({"type": "program_launched", "date": "2010", "program": "owner", "name": "P", "owner": "owner"})).rule,
            Rule::IdReused
        );
        assert_eq!(
            rejected(&hist, fusion(&["owner", "p"], "x", "2010")).rule,
            Rule::UnknownId,
            "a program cannot fuse"
        );
        let r = rejected(
            &hist,
            json!({"type": "transformed", "mode": "spin_off", "date": "2010", "from": ["owner"], "to": ["x"],
                                       "new": [{"id": "x", "name": "X", "kind": "k"}]}),
        );
        assert_eq!((r.rule, r.id.as_deref()), (Rule::IdReused, Some("x")));
        let r = rejected(
            &hist,
            json!({"type": "transformed", "mode": "id_change", "date": "2010", "from": ["owner"], "to": ["p"]}),
        );
        assert_eq!(r.rule, Rule::IdReused);
    }

    #[test]
    fn transformations_check_their_parties() {
        let hist = [
            created("a", "2000"),
            created("b", "2000"),
            json!({"type": "dissolved", "date": "2005", "org": "b"}),
        ];
        // a fusion part that ended
        assert_eq!(
            rejected(&hist, fusion(&["a", "b"], "c", "2010")).rule,
            Rule::Ended
        );
        // an absorption into an organisation that ended
        let absorb = json!({"type": "transformed", "mode": "absorption", "date": "2010", "from": ["a"], "to": ["b"]});
        assert_eq!(rejected(&hist, absorb).rule, Rule::Ended);
        // a split into an unknown existing organisation
        let split = json!({"type": "transformed", "mode": "split", "date": "2010", "from": ["a"], "to": ["n", "zzz"],
                           "new": [{"id": "n", "name": "N", "kind": "k"}]});
        assert_eq!(rejected(&hist, split).rule, Rule::UnknownId);
        accepted(
            &hist,
            json!({"type": "transformed", "mode": "id_change", "date": "2010", "from": ["a"], "to": ["a2"]}),
        );
    }

    #[test]
    fn a_reestablishment_needs_an_organisation_that_ended_in_a_merger() {
        let base = [
            created("a", "1943"),
            created("b", "1943"),
            created("c", "1943"),
            created("d", "1943"),
            json!({"type": "transformed", "mode": "absorption", "date": "2016", "from": ["a"], "to": ["b"]}),
            json!({"type": "dissolved", "date": "2016", "org": "d"}),
        ];
        let re = |from: &str, to: &str| json!({"type": "transformed", "mode": "reestablishment", "date": "2019", "from": [from], "to": [to]});
        accepted(&base, re("b", "a"));
        let alive = rejected(&base, re("b", "c"));
        assert_eq!(alive.rule, Rule::Reestablishment);
        assert!(
            alive.message.contains("`c` still exists on 2019"),
            "{}",
            alive.message
        );
        let dissolved = rejected(&base, re("b", "d"));
        assert!(
            dissolved.message.contains("not in a merger"),
            "{}",
            dissolved.message
        );
        let unrelated = rejected(&base, re("c", "a"));
        assert!(
            unrelated
                .message
                .contains("`c` does not descend from that merger"),
            "{}",
            unrelated.message
        );
        assert_eq!(
            rejected(&base, re("b", "never")).rule,
            Rule::Reestablishment
        );
        // from a successor of the absorber, through an id change
        let mut via = base.to_vec();
        via.push(json!({"type": "transformed", "mode": "id_change", "date": "2017", "from": ["b"], "to": ["b2"]}));
        accepted(&via, re("b2", "a"));
    }

    #[test]
    fn held_facts_must_hold_to_end_and_must_not_hold_to_start() {
        let hist = [
            created("x", "2000"),
            json!({"type": "label_granted", "date": "2001", "label": "L", "holder": "x"}),
            json!({"type": "site_opened", "date": "2001", "org": "x", "site": "S"}),
            json!({"type": "role_started", "date": "2001", "org": "x", "person": "P", "role": "director"}),
            json!({"type": "joined", "date": "2001", "org": "x", "member": {"name": "M"}, "relation": "member"}),
            json!({"type": "attribute_set", "date": "2001", "org": "x", "key": "seat", "value": "Lyon"}),
        ];
        let cases_held = [
            json!({"type": "label_granted", "date": "2002", "label": "L", "holder": "x"}),
            json!({"type": "site_opened", "date": "2002", "org": "x", "site": "S"}),
            json!({"type": "role_started", "date": "2002", "org": "x", "person": "P", "role": "director"}),
            json!({"type": "joined", "date": "2002", "org": "x", "member": {"name": "M"}, "relation": "member"}),
        ];
        for e in cases_held {
            assert_eq!(rejected(&hist, e.clone()).rule, Rule::AlreadyHolds, "{e}");
        }
        let cases_not_held = [
            json!({"type": "label_withdrawn", "date": "2002", "label": "Other", "holder": "x"}),
            json!({"type": "site_closed", "date": "2002", "org": "x", "site": "Elsewhere"}),
            json!({"type": "role_ended", "date": "2002", "org": "x", "person": "Q", "role": "director"}),
            json!({"type": "left", "date": "2002", "org": "x", "member": {"name": "M"}, "relation": "partner"}),
            json!({"type": "attribute_set", "date": "2002", "org": "x", "key": "place", "value": null}),
        ];
        for e in cases_not_held {
            assert_eq!(rejected(&hist, e.clone()).rule, Rule::NotHeld, "{e}");
        }
        let r = rejected(
            &hist,
            json!({"type": "role_ended", "date": "2002", "org": "x", "person": "Q", "role": "director"}),
        );
        assert!(r.to_string().contains("hint: directors: \"P\""), "{r}");
        for e in [
            json!({"type": "label_withdrawn", "date": "2002", "label": "L", "holder": "x"}),
            json!({"type": "site_closed", "date": "2002", "org": "x", "site": "S"}),
            json!({"type": "role_ended", "date": "2002", "org": "x", "person": "P", "role": "director"}),
            json!({"type": "left", "date": "2002", "org": "x", "member": {"name": "M"}, "relation": "member"}),
            json!({"type": "attribute_set", "date": "2002", "org": "x", "key": "seat", "value": null}),
        ] {
            accepted(&hist, e);
        }
    }

    #[test]
    fn labels_candidacies_and_memberships_need_live_parties() {
        let hist = [
            created("x", "2000"),
            created("gone", "2000"),
            json!({"type": "dissolved", "date": "2001", "org": "gone"}),
        ];
        assert_eq!(
            rejected(
                &hist,
                json!({"type": "label_granted", "date": "2002", "label": "L", "holder": "nobody"})
            )
            .rule,
            Rule::UnknownId
        );
        assert_eq!(
            rejected(
                &hist,
                json!({"type": "label_granted", "date": "2002", "label": "L", "holder": "gone"})
            )
            .rule,
            Rule::Ended
        );
        assert_eq!(
            rejected(&hist, json!({"type": "candidacy", "date": "2002", "label": "L", "candidate": "nobody", "status": "filed"})).rule,
            Rule::UnknownId
        );
        accepted(
            &hist,
            json!({"type": "candidacy", "date": "2002", "label": "L", "candidate": "x", "status": "refused"}),
        );
        assert_eq!(
            rejected(&hist, json!({"type": "joined", "date": "2002", "org": "x", "member": {"org": "gone"}, "relation": "member"})).rule,
            Rule::Ended
        );
    }

    #[test]
    fn leaving_after_the_member_ended_or_changed_id_explains_why() {
        // Given m a member of club, then dissolved, or moved to the id m2
        // (seq 4)
        let cases = [
            (
                json!({"type": "dissolved", "date": "2005", "org": "m"}),
                "`m` has ended, and its memberships ended with it",
            ),
            (
                json!({"type": "transformed", "mode": "id_change", "date": "2005", "from": ["m"], "to": ["m2"]}),
                "`m` changed id to `m2` on 2005 (seq 4), and its memberships moved with it: name `m2`",
            ),
        ];
        for (end, hint) in cases {
            let hist = [
                created("club", "2000"),
                created("m", "2000"),
                json!({"type": "joined", "date": "2001", "org": "club", "member": {"org": "m"}, "relation": "member"}),
                end,
            ];
            // When m leaves under its old id, then the hint says why
            let r = rejected(
                &hist,
                json!({"type": "left", "date": "2006", "org": "club", "member": {"org": "m"}, "relation": "member"}),
            );
            assert_refused(
                &r,
                Rule::NotHeld,
                "m is not a member of `club` on 2006",
                hint,
            );
        }
        // And under its new id, it leaves
        let hist = [
            created("club", "2000"),
            created("m", "2000"),
            json!({"type": "joined", "date": "2001", "org": "club", "member": {"org": "m"}, "relation": "member"}),
            json!({"type": "transformed", "mode": "id_change", "date": "2005", "from": ["m"], "to": ["m2"]}),
        ];
        accepted(
            &hist,
            json!({"type": "left", "date": "2006", "org": "club", "member": {"org": "m2"}, "relation": "member"}),
        );
    }

    #[test]
    fn programs_need_a_live_owner_and_end_once() {
        let hist = [
            created("o", "2000"),
            json!({"type": "program_launched", "date": "2001", "program": "p", "name": "P", "owner": "o"}),
            json!({"type": "program_ended", "date": "2002", "program": "p"}),
        ];
        assert_eq!(
            rejected(&hist, json!({"type": "program_launched", "date": "2003", "program": "q", "name": "Q", "owner": "p"})).rule,
            Rule::UnknownId,
            "a program cannot own a program"
        );
        assert_eq!(
            rejected(
                &hist,
                json!({"type": "program_ended", "date": "2003", "program": "p"})
            )
            .rule,
            Rule::Ended
        );
        assert_eq!(
            rejected(
                &hist,
                json!({"type": "program_ended", "date": "2003", "program": "o"})
            )
            .rule,
            Rule::UnknownId
        );
        assert_eq!(
            rejected(
                &hist,
                json!({"type": "program_ended", "date": "2003", "program": "zz"})
            )
            .rule,
            Rule::UnknownId
        );
        assert_eq!(
            rejected(
                &hist,
                json!({"type": "figures", "date": "2003", "org": "p", "values": {"n": 1}})
            )
            .rule,
            Rule::Ended
        );
        accepted(
            &hist,
            json!({"type": "figures", "date": "2001-06", "org": "p", "values": {"n": 1}}),
        );
    }

    #[test]
    fn milestones_need_live_organisations_or_programs() {
        let hist = [
            created("o", "2000"),
            json!({"type": "program_launched", "date": "2001", "program": "p", "name": "P", "owner": "o"}),
        ];
        accepted(
            &hist,
            json!({"type": "milestone", "date": "2002", "orgs": ["o", "p"], "summary": "s"}),
        );
        accepted(
            &hist,
            json!({"type": "milestone", "date": "1990", "orgs": [], "summary": "s"}),
        );
        let r = rejected(
            &hist,
            json!({"type": "milestone", "date": "2002", "orgs": ["o", "z"], "summary": "s"}),
        );
        assert!(r.message.contains("(field `orgs[1]`)"), "{}", r.message);
    }

    #[test]
    fn plans_are_shape_checked_only() {
        // given nothing at all, when a plan names unknown organisations, then it is accepted
        accepted(
            &[],
            json!({"type": "planned", "date": "2016-06", "planned": fusion(&["a", "b"], "c", "2017-01-01")}),
        );
        let mut s = State::default();
        apply(&mut s, 1, &ev(created("x", "2000")));
        assert_eq!(
            check(
                &s,
                &ev(
                    json!({"type": "planned", "date": "1900", "planned": {"type": "dissolved", "date": "1901", "org": "nobody", "sources": [{"doc": "t"}]}})
                )
            ),
            Ok(())
        );
    }

    #[test]
    fn renamed_and_dissolved_need_a_live_organisation() {
        let hist = [
            created("x", "2000"),
            json!({"type": "dissolved", "date": "2001", "org": "x"}),
        ];
        assert_eq!(
            rejected(
                &hist,
                json!({"type": "renamed", "date": "2002", "org": "x", "name": "Y"})
            )
            .rule,
            Rule::Ended
        );
        assert_eq!(
            rejected(
                &hist,
                json!({"type": "dissolved", "date": "2002", "org": "x"})
            )
            .rule,
            Rule::Ended
        );
        accepted(
            &hist,
            json!({"type": "renamed", "date": "2000-06", "org": "x", "name": "Y"}),
        );
    }

    // --- validate: batches, backdating, corrections, fulfils ------------

    #[test]
    fn a_backdated_event_that_fits_is_accepted() {
        let hist = [
            created("edit", "2008"),
            json!({"type": "role_started", "date": "2015", "org": "edit", "person": "P", "role": "president"}),
        ];
        accepted(
            &hist,
            json!({"type": "figures", "date": "2010", "org": "edit", "values": {"members": 100}}),
        );
    }

    #[test]
    fn a_backdated_event_that_breaks_a_later_record_is_refused() {
        // given a role started in 2015 (seq 2), when a 2012 dissolution is appended
        let hist = ledger(&[
            created("edit", "2008"),
            json!({"type": "role_started", "date": "2015", "org": "edit", "person": "P", "role": "president"}),
        ]);
        let batch = [
            ev(json!({"type": "milestone", "date": "2011", "orgs": [], "summary": "unrelated"})),
            ev(json!({"type": "dissolved", "date": "2012", "org": "edit"})),
        ];
        let r = validate(&hist, &batch, 3);
        // then seq 2 is named, and the dissolution is blamed
        match r {
            Err(ValidationError::Breaks {
                existing_seq: 2,
                by_index: 1,
                by_seq: 4,
                ref rule,
            }) => {
                assert_eq!(rule.rule, Rule::Ended);
            }
            other => panic!("expected Breaks, got {other:?}"),
        }
        let msg = validate(&hist, &batch, 3).expect_err("breaks").to_string();
        assert!(msg.starts_with("appending event #2 of the batch (seq 4) would make seq 2 invalid: organisation `edit`"), "{msg}");
    }

    #[test]
    fn a_backdated_duplicate_of_a_record_points_to_correcting_that_record() {
        // Given a role started in 2021 (seq 2)
        let hist = ledger(&[
            created("edit", "2008"),
            json!({"type": "role_started", "date": "2021", "org": "edit", "person": "P", "role": "president"}),
        ]);
        // When the same role is appended again, dated 2020
        let batch = [ev(
            json!({"type": "role_started", "date": "2020", "org": "edit", "person": "P", "role": "president"}),
        )];
        let msg = validate(&hist, &batch, 3).expect_err("breaks").to_string();
        // Then seq 2 is named as the record broken, with the way to
        // correct it if it is the one that is wrong
        assert!(
            msg.starts_with("appending event #1 of the batch (seq 3) would make seq 2 invalid: \"P\" is already president of `edit` since 2020 (seq 3) (hint: if seq 2 is what is wrong, correct it: a `correction` that retracts seq 2, or supersedes it"),
            "{msg}"
        );
        // And a rule that has its own hint keeps it
        let batch = [ev(
            json!({"type": "dissolved", "date": "2012", "org": "edit"}),
        )];
        let msg = validate(&hist, &batch, 3).expect_err("breaks").to_string();
        assert!(!msg.contains("if seq 2 is what is wrong"), "{msg}");
        // And a correction's replacement (seq 3 supersedes the role with
        // the same role, dated 2021), which cannot be corrected, gets none
        let role = json!({"type": "role_started", "date": "2021", "org": "edit", "person": "P", "role": "president", "sources": [{"doc": "test"}]});
        let hist = ledger(&[
            created("edit", "2008"),
            json!({"type": "role_started", "date": "2019", "org": "edit", "person": "P", "role": "president"}),
        ]);
        let supersede = json!({"type": "correction", "date": "2022", "target": hist[1].hash,
                               "mode": "supersede", "reason": "r", "replacement": role});
        let hist = ledger(&[
            created("edit", "2008"),
            json!({"type": "role_started", "date": "2019", "org": "edit", "person": "P", "role": "president"}),
            supersede,
        ]);
        let batch = [ev(
            json!({"type": "role_started", "date": "2020", "org": "edit", "person": "P", "role": "president"}),
        )];
        let msg = validate(&hist, &batch, 4).expect_err("breaks").to_string();
        assert!(msg.contains("would make seq 3 invalid"), "{msg}");
        assert!(!msg.contains("correct it"), "{msg}");
    }

    #[test]
    fn a_backdated_creation_that_takes_a_later_id_is_refused() {
        let hist = ledger(&[created("edit", "2008"), created("x", "2010")]);
        let r = validate(&hist, &[ev(created("x", "2001"))], 3);
        assert!(
            matches!(
                r,
                Err(ValidationError::Breaks {
                    existing_seq: 2,
                    by_index: 0,
                    ..
                })
            ),
            "{r:?}"
        );
    }

    #[test]
    fn a_batch_is_checked_in_timeline_order_and_names_the_bad_event() {
        let hist = ledger(&[created("a", "2000")]);
        // the role is before its organisation in the batch, but after it in time
        let ok = [
            ev(
                json!({"type": "role_started", "date": "2011", "org": "b", "person": "P", "role": "r"}),
            ),
            ev(created("b", "2010")),
        ];
        assert_eq!(validate(&hist, &ok, 2), Ok(()));
        let bad = [
            ev(created("b", "2010")),
            ev(json!({"type": "site_closed", "date": "2011", "org": "b", "site": "s"})),
        ];
        match validate(&hist, &bad, 2) {
            Err(ValidationError::Rejected {
                index: 1,
                seq: 3,
                event_type: "site_closed",
                rule,
            }) => assert_eq!(rule.rule, Rule::NotHeld),
            other => panic!("{other:?}"),
        }
        assert_eq!(validate(&hist, &[], 2), Ok(()));
    }

    #[test]
    fn correction_targets_are_checked() {
        let hist = [
            created("x", "2000"),
            json!({"type": "renamed", "date": "2001", "org": "x", "name": "Y"}),
            json!({"type": "correction", "date": "2017", "target": h(2), "mode": "retract", "reason": "wrong"}),
        ];
        let retract = |t: u64| json!({"type": "correction", "date": "2018", "target": h(t), "mode": "retract", "reason": "r"});
        let unknown = rejected(&hist, retract(99));
        assert_eq!(unknown.rule, Rule::CorrectionTarget);
        assert!(
            unknown.message.contains("is not a record of this ledger"),
            "{}",
            unknown.message
        );
        let twice = rejected(&hist, retract(2));
        assert!(
            twice
                .message
                .contains("(seq 2, `renamed`) was already retracted by seq 3"),
            "{}",
            twice.message
        );
        let of_correction = rejected(&hist, retract(3));
        assert!(
            of_correction.message.contains("is itself a correction"),
            "{}",
            of_correction.message
        );
        // two corrections of one target in the same batch
        let l = ledger(&hist);
        let r = validate(
            &l,
            &[
                ev(retract(1)),
                ev(
                    json!({"type": "correction", "date": "2018", "target": h(1), "mode": "retract", "reason": "r"}),
                ),
            ],
            4,
        );
        assert!(
            matches!(r, Err(ValidationError::Rejected { index: 1, .. })),
            "{r:?}"
        );
    }

    #[test]
    fn a_retraction_that_orphans_later_records_is_refused() {
        let hist = ledger(&[
            created("x", "2000"),
            json!({"type": "site_opened", "date": "2001", "org": "x", "site": "s"}),
        ]);
        let r = validate(
            &hist,
            &[ev(
                json!({"type": "correction", "date": "2018", "target": h(1), "mode": "retract", "reason": "r"}),
            )],
            3,
        );
        assert!(
            matches!(
                r,
                Err(ValidationError::Breaks {
                    existing_seq: 2,
                    by_index: 0,
                    ..
                })
            ),
            "{r:?}"
        );
    }

    #[test]
    fn a_replacement_is_validated_at_its_own_date() {
        let hist = [
            created("x", "2010"),
            json!({"type": "renamed", "date": "2011", "org": "x", "name": "Y"}),
        ];
        let bad = json!({"type": "correction", "date": "2018", "target": h(2), "mode": "supersede", "reason": "r",
                         "replacement": {"type": "renamed", "date": "2009", "org": "x", "name": "Y", "sources": [{"doc": "t"}]}});
        let r = rejected(&hist, bad);
        assert_eq!(r.rule, Rule::UnknownId);
        assert!(
            r.message
                .starts_with("its replacement (`renamed` dated 2009)"),
            "{}",
            r.message
        );
        accepted(
            &hist,
            json!({"type": "correction", "date": "2018", "target": h(2), "mode": "supersede", "reason": "r",
                               "replacement": {"type": "renamed", "date": "2012", "org": "x", "name": "Y", "sources": [{"doc": "t"}]}}),
        );
    }

    #[test]
    fn fulfils_must_name_a_live_unfulfilled_plan() {
        let mut hist = plan_ledger();
        let mut done = fusion(&["clustr", "numelink"], "dl", "2017-03-28");
        done["fulfils"] = json!(h(3));
        // not a plan
        let mut not_plan = done.clone();
        not_plan["fulfils"] = json!(h(1));
        let r = rejected(&hist, not_plan);
        assert_eq!(r.rule, Rule::FulfilsTarget);
        assert!(
            r.message.contains("seq 1 (`created`), which is not a plan"),
            "{}",
            r.message
        );
        // unknown
        let mut unknown = done.clone();
        unknown["fulfils"] = json!(h(42));
        assert_eq!(rejected(&hist, unknown).rule, Rule::FulfilsTarget);
        // fine
        accepted(&hist, done.clone());
        // already fulfilled
        hist.push(done.clone());
        let mut again =
            json!({"type": "milestone", "date": "2017-03-28", "orgs": ["dl"], "summary": "s"});
        again["fulfils"] = json!(h(3));
        let r = rejected(&hist, again.clone());
        assert!(
            r.message.contains("already fulfilled by seq 4"),
            "{}",
            r.message
        );
        // fulfilment retracted in the same batch: the plan is free again
        let l = ledger(&hist);
        let batch = [
            ev(
                json!({"type": "correction", "date": "2018", "target": h(4), "mode": "retract", "reason": "r"}),
            ),
            ev(again.clone()),
        ];
        let r = validate(&l, &batch, 5);
        // the retraction orphans nothing (dl is created by seq 4 only, but
        // the milestone refers to dl): Breaks? No: the milestone is a batch
        // event, so it is rejected itself.
        assert!(
            matches!(r, Err(ValidationError::Rejected { index: 1, ref rule, .. }) if rule.rule == Rule::UnknownId),
            "{r:?}"
        );
        let batch = [
            ev(
                json!({"type": "correction", "date": "2018", "target": h(4), "mode": "retract", "reason": "r"}),
            ),
            ev(
                json!({"type": "milestone", "date": "2017-03-28", "orgs": ["clustr"], "summary": "s", "fulfils": h(3)}),
            ),
        ];
        assert_eq!(validate(&l, &batch, 5), Ok(()));
        // a retracted plan cannot be fulfilled
        let mut r2 = plan_ledger();
        r2.push(json!({"type": "correction", "date": "2016-12", "target": h(3), "mode": "retract", "reason": "r"}));
        let r = rejected(&r2, done);
        assert!(
            r.message.contains("which was retracted by seq 4"),
            "{}",
            r.message
        );
    }

    #[test]
    fn an_event_cannot_fulfil_a_plan_stated_after_it_happened() {
        // given a plan stated in 2024 to dissolve `insee:49100` in 2030 (seq 2)
        let hist = [
            created("insee:49100", "1990"),
            json!({"type": "planned", "date": "2024", "planned": dissolution("insee:49100", "2030")}),
        ];
        let fulfilling = |date: &str| {
            let mut e = dissolution("insee:49100", date);
            e["fulfils"] = json!(h(2));
            e
        };
        // when a dissolution dated 2022-06 claims to fulfil it
        let r = rejected(&hist, fulfilling("2022-06"));
        // then it is refused: it happened before the plan was stated
        assert_eq!(r.rule, Rule::FulfilsTarget);
        assert_eq!(
            r.to_string(),
            "`fulfils` names the plan at seq 2 stated on 2024, but the event is dated 2022-06, \
             before the plan was stated (hint: an event cannot carry out a plan stated after it \
             happened; leave `fulfils` out (and retract the plan with a correction if it was \
             moot), or correct this event's date if it happened in 2024 or later)"
        );
        // and so is a period that ends the day before the plan's first day
        assert_eq!(
            rejected(&hist, fulfilling("2023")).rule,
            Rule::FulfilsTarget
        );
        // but an event on or after the plan's first day fulfils it, and so
        // does one whose period overlaps the plan's (it may have come after)
        accepted(&hist, fulfilling("2024-01-01"));
        let mut mid_year = hist.to_vec();
        mid_year[1]["date"] = json!("2024-06");
        accepted(&mid_year, fulfilling("2024"));
        accepted(&mid_year, fulfilling("2024-06~"));
        assert_eq!(
            rejected(&mid_year, fulfilling("2024-05")).rule,
            Rule::FulfilsTarget
        );
        // the same holds for a replacement that fulfils the plan
        let mut before = hist.to_vec();
        before.push(dissolution("insee:49100", "2031"));
        let r = rejected(
            &before,
            json!({"type": "correction", "date": "2032", "target": h(3), "mode": "supersede", "reason": "r",
                   "replacement": fulfilling("2022-06")}),
        );
        assert_eq!(r.rule, Rule::FulfilsTarget);
        assert!(r.message.starts_with("replacement: `fulfils` names the plan at seq 2 stated on 2024, but the event is dated 2022-06"), "{}", r.message);
    }

    #[test]
    fn a_fulfilment_over_before_its_plan_was_stated_already_in_the_ledger_is_inert() {
        // given a ledger written by other means (or before the rule) whose
        // 2022-06 dissolution (seq 3) names the plan stated in 2024 (seq 2)
        let mut hist = vec![
            created("insee:49100", "1990"),
            json!({"type": "planned", "date": "2024", "planned": dissolution("insee:49100", "2030")}),
            dissolution("insee:49100", "2022-06"),
        ];
        hist[2]["fulfils"] = json!(h(2));
        // when the views read it
        let l = ledger(&hist);
        let k = Knowledge::new(&l, 3);
        let plan = k.plan(&h(2)).expect("plan");
        // then it carries nothing out: the plan is pending, then overdue
        assert!(plan.fulfilled_by.is_empty());
        assert_eq!(plan.status_on(day("2024")), PlanStatus::Pending);
        assert_eq!(plan.status_on(day("2031")), PlanStatus::Overdue);
        // and it does not hold the plan against a fulfilment in time
        accepted(
            &hist,
            json!({"type": "milestone", "date": "2030", "orgs": [], "summary": "s", "fulfils": h(2)}),
        );
    }

    #[test]
    fn a_plan_about_an_organisation_that_had_already_ended_stays_valid() {
        // given a plan stated in 2024 to dissolve `insee:49100` in 2030 (seq 2)
        let hist = [
            created("insee:49100", "1990"),
            json!({"type": "planned", "date": "2024", "planned": dissolution("insee:49100", "2030")}),
        ];
        // when we learn that it was dissolved in 2022, without `fulfils`
        accepted(&hist, dissolution("insee:49100", "2022-06"));
        // then the plan, a statement about intentions, is not made invalid:
        // it stays pending, then overdue (retract it to withdraw it)
        let mut l = hist.to_vec();
        l.push(dissolution("insee:49100", "2022-06"));
        let l = ledger(&l);
        let k = Knowledge::new(&l, 3);
        let plan = k.plan(&h(2)).expect("plan");
        assert_eq!(plan.status_on(day("2024")), PlanStatus::Pending);
        assert_eq!(plan.status_on(day("2031")), PlanStatus::Overdue);
    }

    #[test]
    fn plans_and_corrections_cannot_carry_fulfils() {
        let hist = plan_ledger();
        let mut p = json!({"type": "planned", "date": "2016-07", "planned": {"type": "dissolved", "date": "2017", "org": "clustr", "sources": [{"doc": "t"}]}});
        p["fulfils"] = json!(h(3));
        assert_eq!(rejected(&hist, p).rule, Rule::FulfilsTarget);
        let c = json!({"type": "correction", "date": "2016-12", "target": h(1), "mode": "retract", "reason": "r", "fulfils": h(3)});
        assert_eq!(rejected(&hist, c).rule, Rule::FulfilsTarget);
    }

    fn abandonment(plan: u64, date: &str) -> Value {
        json!({"type": "plan_abandoned", "date": date, "plan": h(plan)})
    }

    /// The merger of `plan_ledger`'s plan (seq 3), carrying it out.
    fn carried_out() -> Value {
        let mut happened = fusion(&["clustr", "numelink"], "digital-league", "2017-03-28");
        happened["fulfils"] = json!(h(3));
        happened
    }

    /// Asserts that `r` breaks `rule`, saying `message` and hinting `hint`
    /// (any hint when empty).
    fn assert_refused(r: &Rejection, rule: Rule, message: &str, hint: &str) {
        assert_eq!(r.rule, rule, "{r:?}");
        assert!(r.message.contains(message), "{}", r.message);
        assert!(
            hint.is_empty() || r.hint.as_deref().is_some_and(|h| h.contains(hint)),
            "{:?}",
            r.hint
        );
    }

    #[test]
    fn ending_a_role_or_a_membership_not_held_names_what_is_held() {
        // Given "S" directrice and "U" trésorier of x, and x a member of g
        let history = [
            created("x", "2010"),
            created("g", "2010"),
            json!({"type": "role_started", "date": "2012", "org": "x", "role": "directrice", "person": "S"}),
            json!({"type": "joined", "date": "2012", "org": "g", "member": {"org": "x"}, "relation": "member"}),
            json!({"type": "role_started", "date": "2013", "org": "x", "role": "trésorier", "person": "U"}),
        ];
        let role_ended = |role: &str, person: &str| json!({"type": "role_ended", "date": "2015", "org": "x", "role": role, "person": person});
        // When S's role is ended under another name, then the roles S
        // holds there are named
        let r = rejected(&history, role_ended("directeur", "S"));
        assert_refused(
            &r,
            Rule::NotHeld,
            "\"S\" is not directeur of `x` on 2015",
            "roles \"S\" holds at `x`: \"directrice\"",
        );
        // When someone who holds no role there is named, then the roles
        // held there are
        let r = rejected(&history, role_ended("directeur", "T"));
        assert_refused(
            &r,
            Rule::NotHeld,
            "\"T\" is not directeur",
            "roles held at `x`: \"directrice\", \"trésorier\"",
        );
        // When the role is held by others, then they are named, as before
        let r = rejected(&history, role_ended("directrice", "T"));
        assert_refused(
            &r,
            Rule::NotHeld,
            "\"T\" is not directrice",
            "directrices: \"S\"",
        );
        // and so are the roles the person named holds there, if any
        let r = rejected(&history, role_ended("directrice", "U"));
        assert_eq!(
            r.hint.as_deref(),
            Some("directrices: \"S\"; roles \"U\" holds at `x`: \"trésorier\""),
            "{r:?}"
        );
        // When x leaves g as a partner, then its membership is named
        let r = rejected(
            &history,
            json!({"type": "left", "date": "2015", "org": "g", "member": {"org": "x"}, "relation": "partner"}),
        );
        assert_refused(
            &r,
            Rule::NotHeld,
            "x is not a partner of `g` on 2015",
            "x is a member of `g` (since 2012, seq 4): write `\"relation\": \"member\"`",
        );
    }

    #[test]
    fn a_plan_is_abandoned_from_the_date_of_the_abandonment() {
        // given the plan of 2016-06 for 2017-01-01 (seq 3), given up in
        // 2016-11 (seq 4)
        let mut v = plan_ledger();
        v.push(abandonment(3, "2016-11"));
        let l = ledger(&v);
        // then it is pending before the abandonment, and before it was known
        assert_eq!(status(&l, "2016-10", 4), PlanStatus::Pending);
        assert_eq!(status(&l, "2017-06", 3), PlanStatus::Overdue);
        // and abandoned from its first day on, never overdue
        assert_eq!(status(&l, "2016-11-01", 4), PlanStatus::Abandoned);
        assert_eq!(status(&l, "2017-06", 4), PlanStatus::Abandoned);
        let k = Knowledge::new(&l, 4);
        let plan = k.plan(&h(3)).expect("plan");
        assert_eq!(plan.abandoned_on(day("2017")).map(|a| a.seq), Some(4));
        assert!(plan.abandoned_on(day("2016-10")).is_none());
        // and the abandonment changes no organisation
        assert_eq!(head(&l, "2018"), head(&l[..3], "2018"));
    }

    #[test]
    fn a_fulfilment_wins_over_an_abandonment_in_a_ledger_written_by_other_means() {
        // given a plan both abandoned (2016-11) and then carried out
        let mut v = plan_ledger();
        v.push(abandonment(3, "2016-11"));
        v.push(carried_out());
        let l = ledger(&v);
        // then what happened counts from its date on
        assert_eq!(status(&l, "2017-01", 5), PlanStatus::Abandoned);
        assert_eq!(status(&l, "2017-06", 5), PlanStatus::Fulfilled);
    }

    #[test]
    fn a_retracted_abandonment_no_longer_holds_the_plan() {
        // given an abandonment (seq 4) that a correction retracts (seq 5)
        let mut v = plan_ledger();
        v.push(abandonment(3, "2016-11"));
        v.push(json!({"type": "correction", "date": "2017-02", "target": h(4), "mode": "retract", "reason": "revived"}));
        let l = ledger(&v);
        // then the plan is overdue again at the knowledge of seq 5
        assert_eq!(status(&l, "2017-06", 4), PlanStatus::Abandoned);
        assert_eq!(status(&l, "2017-06", 5), PlanStatus::Overdue);
        // and an event can fulfil it
        let happened = carried_out();
        accepted(&v, happened);
    }

    #[test]
    fn an_abandonment_must_name_a_plan_still_open() {
        let hist = plan_ledger();
        // a record that is no plan
        let r = rejected(&hist, abandonment(1, "2016-11"));
        assert_refused(
            &r,
            Rule::PlanTarget,
            "`plan` names seq 1 (`created`), which is not a plan",
            "",
        );
        // no record at all
        let r = rejected(&hist, abandonment(9, "2016-11"));
        assert_refused(
            &r,
            Rule::PlanTarget,
            "which is not a record of this ledger",
            "",
        );
        // a plan already abandoned
        let mut twice = hist.clone();
        twice.push(abandonment(3, "2016-11"));
        let r = rejected(&twice, abandonment(3, "2016-12"));
        assert_refused(
            &r,
            Rule::PlanTarget,
            "the plan at seq 3 was already abandoned by seq 4",
            "",
        );
        // a plan retracted
        let mut retracted = hist.clone();
        retracted.push(json!({"type": "correction", "date": "2016-12", "target": h(3), "mode": "retract", "reason": "r"}));
        let r = rejected(&retracted, abandonment(3, "2016-12"));
        assert_refused(&r, Rule::PlanTarget, "which was retracted by seq 4", "");
        // a plan already carried out
        let mut done = hist.clone();
        let happened = carried_out();
        done.push(happened);
        let r = rejected(&done, abandonment(3, "2017-06"));
        assert_refused(&r, Rule::PlanTarget, "is already fulfilled by seq 4", "");
        // given up before it was stated (2016-06)
        let r = rejected(&hist, abandonment(3, "2016-05"));
        assert_refused(
            &r,
            Rule::PlanTarget,
            "but the abandonment is dated 2016-05, before the plan was stated",
            "",
        );
        // and an abandonment does not fulfil
        let mut both = abandonment(3, "2016-11");
        both["fulfils"] = json!(h(3));
        assert_eq!(rejected(&hist, both).rule, Rule::FulfilsTarget);
        // while one in time is accepted, also overlapping the stated month
        accepted(&hist, abandonment(3, "2016"));
    }

    #[test]
    fn an_abandoned_plan_cannot_be_fulfilled_until_the_abandonment_is_retracted() {
        let mut hist = plan_ledger();
        hist.push(abandonment(3, "2016-11"));
        let happened = carried_out();
        // when an event claims to carry it out
        let r = rejected(&hist, happened.clone());
        // then it is told to retract the abandonment first
        assert_refused(
            &r,
            Rule::FulfilsTarget,
            "was already abandoned by seq 4",
            "retract the abandonment (seq 4)",
        );
        // and a batch that retracts it first is accepted
        let l = ledger(&hist);
        let batch = [
            ev(
                json!({"type": "correction", "date": "2017-02", "target": h(4), "mode": "retract", "reason": "revived"}),
            ),
            ev(happened),
        ];
        assert_eq!(validate(&l, &batch, 5), Ok(()));
    }

    #[test]
    fn a_plan_closed_twice_is_told_how_to_mend_it_where_it_was_closed() {
        let hist = plan_ledger();
        let happened = carried_out();
        let hint = |hist: &[Value], batch: &[Value]| -> (Rule, String, String) {
            let l = ledger(hist);
            let batch: Vec<Event> = batch.iter().cloned().map(ev).collect();
            match validate(&l, &batch, l.len() as u64 + 1) {
                Err(ValidationError::Rejected { rule, .. }) => {
                    (rule.rule, rule.message, rule.hint.unwrap_or_default())
                }
                other => panic!("expected a rejection, got {other:?}"),
            }
        };
        // closed twice within one batch: leave one out (no correction can
        // name a record of the same batch)
        let (rule, message, h1) = hint(&hist, &[abandonment(3, "2016-11"), happened.clone()]);
        assert_eq!(rule, Rule::FulfilsTarget);
        assert!(
            message.contains("was already abandoned by seq 4"),
            "{message}"
        );
        assert!(h1.contains("this batch closes it twice"), "{h1}");
        // closed by a correction's replacement (seq 5), which cannot be
        // corrected: supersede the plan instead
        let mut superseded = hist.clone();
        superseded.push(abandonment(3, "2016-11"));
        superseded.push(json!({"type": "correction", "date": "2017", "target": h(4), "mode": "supersede", "reason": "r",
                               "replacement": {"type": "plan_abandoned", "date": "2016-10", "plan": h(3), "sources": [{"doc": "t"}]}}));
        let (_, message, h2) = hint(&superseded, std::slice::from_ref(&happened));
        assert!(
            message.contains("was already abandoned by seq 5"),
            "{message}"
        );
        assert!(
            h2.contains("supersede the plan (seq 3) with a revised plan"),
            "{h2}"
        );
        // and following that hint works
        let revise = json!({"type": "correction", "date": "2017-02", "target": h(3), "mode": "supersede", "reason": "revived",
                            "replacement": {"type": "planned", "date": "2017-02", "sources": [{"doc": "t"}],
                                            "planned": fusion(&["clustr", "numelink"], "merged", "2017-03")}});
        accepted(&superseded, revise.clone());
        superseded.push(revise);
        let mut carried_out = happened.clone();
        carried_out["fulfils"] = json!(h(6));
        accepted(&superseded, carried_out);
    }

    #[test]
    fn a_replacement_cannot_close_the_plan_its_correction_replaces() {
        let hist = plan_ledger();
        let r = rejected(
            &hist,
            json!({"type": "correction", "date": "2016-12", "target": h(3), "mode": "supersede", "reason": "given up",
                   "replacement": {"type": "plan_abandoned", "date": "2016-12", "plan": h(3), "sources": [{"doc": "t"}]}}),
        );
        assert_refused(
            &r,
            Rule::PlanTarget,
            "which this correction replaces",
            "append a `plan_abandoned`",
        );
        // while a plan superseded earlier is named by its revision
        let mut revised = hist.clone();
        revised.push(json!({"type": "correction", "date": "2016-12", "target": h(3), "mode": "supersede", "reason": "postponed",
                            "replacement": {"type": "planned", "date": "2016-12", "sources": [{"doc": "t"}],
                                            "planned": fusion(&["clustr", "numelink"], "merged", "2017-03")}}));
        let r = rejected(&revised, abandonment(3, "2017"));
        assert!(
            r.message.contains("which was superseded by seq 4"),
            "{}",
            r.message
        );
        assert!(
            r.hint.as_deref().is_some_and(
                |h| h.contains("name the revised plan: the hash of the correction at seq 4")
            ),
            "{:?}",
            r.hint
        );
        accepted(&revised, abandonment(4, "2017"));
    }

    #[test]
    fn an_abandonment_is_checked_in_a_replacement_and_cannot_be_planned() {
        let hist = plan_ledger();
        // a plan cannot plan an abandonment (a shape rule)
        let planned = json!({"type": "planned", "date": "2016-07", "planned": {"type": "plan_abandoned", "date": "2017", "plan": h(3), "sources": [{"doc": "t"}]}, "sources": [{"doc": "t"}]});
        let err = Event::from_json(&planned).expect_err("refused");
        assert!(
            err.to_string()
                .contains("a plan cannot plan a `plan_abandoned`"),
            "{err}"
        );
        // an abandonment superseded by one dated before the plan is refused
        let mut with = hist.clone();
        with.push(abandonment(3, "2016-11"));
        let r = rejected(
            &with,
            json!({"type": "correction", "date": "2017", "target": h(4), "mode": "supersede", "reason": "r",
                   "replacement": {"type": "plan_abandoned", "date": "2016-01", "plan": h(3), "sources": [{"doc": "t"}]}}),
        );
        assert_eq!(r.rule, Rule::PlanTarget);
        assert!(
            r.message
                .starts_with("replacement: `plan` names the plan at seq 3"),
            "{}",
            r.message
        );
        // and one redated within the rule replaces it
        let fixed = json!({"type": "correction", "date": "2017", "target": h(4), "mode": "supersede", "reason": "r",
                           "replacement": {"type": "plan_abandoned", "date": "2016-10", "plan": h(3), "sources": [{"doc": "t"}]}});
        accepted(&with, fixed.clone());
        with.push(fixed);
        let l = ledger(&with);
        assert_eq!(status(&l, "2016-10-15", 5), PlanStatus::Abandoned);
        assert_eq!(status(&l, "2016-10-15", 4), PlanStatus::Pending);
    }

    #[test]
    fn an_already_inconsistent_history_is_reported_as_such() {
        // given a ledger whose seq 2 refers to an unknown organisation
        let hist = ledger(&[
            created("x", "2000"),
            json!({"type": "renamed", "date": "2001", "org": "ghost", "name": "G"}),
        ]);
        // when anything is appended, then the history is blamed, not the batch
        let r = validate(&hist, &[ev(created("y", "2005"))], 3);
        assert!(
            matches!(r, Err(ValidationError::History { seq: 2, .. })),
            "{r:?}"
        );
    }

    #[test]
    fn rule_names_are_stable() {
        assert_eq!(Rule::UnknownId.to_string(), "unknown_id");
        assert_eq!(
            serde_json::to_value(Rule::FulfilsTarget).expect("json"),
            json!("fulfils_target")
        );
        assert_eq!(
            serde_json::to_value(PlanStatus::Overdue).expect("json"),
            json!("overdue")
        );
        assert_eq!(Rule::PlanTarget.to_string(), "plan_target");
        assert_eq!(
            serde_json::to_value(PlanStatus::Abandoned).expect("json"),
            json!("abandoned")
        );
    }
}
