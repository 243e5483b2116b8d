//! Diffs between two views: what changed between two dates at one state of
//! knowledge ([`diff_dates`]), or what a later state of knowledge says
//! differently about the same date ([`diff_knowledge`]).
//!
//! A diff is computed by **comparing two folded [`State`]s**, so it agrees
//! exactly with `replay`. For two dates the ledger is folded once: the state
//! on `FROM` is kept aside while the fold continues to `TO`, so only the
//! events dated in `(FROM, TO]` separate them.
//!
//! Every change names the event(s) that caused it (`seq`, then `seqs`):
//! the seq stamped on the new fact, or, for a fact that disappeared, the
//! event that ended it or the correction that retracted it. A fact that
//! the earlier state of knowledge held and a correction withdrew is
//! reported with its own kind and `retracted: true` (a retracted
//! `label_granted`, not a `label_withdrawn`); a fact back because what had
//! ended it was corrected away is the ending kind, retracted (a member
//! whose dissolution was retracted: a retracted `left`). A fact a
//! supersede's replacement brings names the superseded record after the
//! supersede.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use chrono::NaiveDate;
use compact_str::CompactString;
use serde::Serialize;
use serde::ser::SerializeMap;

use crate::date::Date;
use crate::event::{
    Body, CandidacyStatus, ChangeMode, CorrectionMode, Event, Party, Relation, short_hash,
};
use crate::fold::{
    Candidacy, Corrected, EndHow, Knowledge, Org, PlanStatus, Program, Small, Stamp, State, apply,
};
use crate::view::KnownAt;

/// Why a diff cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// FROM is after TO.
    #[error(
        "FROM `{from}` is after TO `{to}`; a diff goes forward in time (hint: swap the two dates)"
    )]
    Reversed {
        /// The FROM day.
        from: NaiveDate,
        /// The TO day.
        to: NaiveDate,
    },
    /// The first state of knowledge is later than the second.
    #[error(
        "the first --known-at (seq {a}) is later than the second (seq {b}); a knowledge diff goes from the earlier to the later state (hint: swap them)"
    )]
    KnowledgeReversed {
        /// The first position.
        a: u64,
        /// The second position.
        b: u64,
    },
}

/// Why a `--kind` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a kind of change; one of: {list}", list = Kind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "))]
pub struct UnknownKind(pub String);

/// The kind of a change, in the order summaries list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An organisation came into being through a `created` event.
    Created,
    /// A fusion or an absorption.
    Merged,
    /// A split.
    Split,
    /// A spin-off.
    SpunOff,
    /// An organisation that ended in a merger came back.
    Reestablished,
    /// An organisation took a new id.
    IdChanged,
    /// A new name.
    Renamed,
    /// Dissolved without successor.
    Dissolved,
    /// The start date of an organisation changed (knowledge diffs).
    Redated,
    /// An attribute (seat, place…) set, changed or removed.
    AttributeChanged,
    /// A label granted.
    LabelGranted,
    /// A label withdrawn.
    LabelWithdrawn,
    /// A candidacy for a label filed, refused or withdrawn.
    Candidacy,
    /// A program launched.
    ProgramLaunched,
    /// A program ended.
    ProgramEnded,
    /// A site opened.
    SiteOpened,
    /// A site closed.
    SiteClosed,
    /// A person took a role.
    RoleStarted,
    /// A person left a role.
    RoleEnded,
    /// A member or partner joined.
    Joined,
    /// A member or partner left.
    Left,
    /// A figure changed: old → new.
    Figures,
    /// A plan was stated (or became known).
    PlanStated,
    /// A plan's status changed (pending, overdue, fulfilled, retracted,
    /// superseded).
    PlanStatus,
}

impl Kind {
    /// Every kind, in summary order.
    pub const ALL: &'static [Kind] = &[
        Kind::Created,
        Kind::Merged,
        Kind::Split,
        Kind::SpunOff,
        Kind::Reestablished,
        Kind::IdChanged,
        Kind::Renamed,
        Kind::Dissolved,
        Kind::Redated,
        Kind::AttributeChanged,
        Kind::LabelGranted,
        Kind::LabelWithdrawn,
        Kind::Candidacy,
        Kind::ProgramLaunched,
        Kind::ProgramEnded,
        Kind::SiteOpened,
        Kind::SiteClosed,
        Kind::RoleStarted,
        Kind::RoleEnded,
        Kind::Joined,
        Kind::Left,
        Kind::Figures,
        Kind::PlanStated,
        Kind::PlanStatus,
    ];

    /// Snake-case name, as in the JSON `change` member.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Created => "created",
            Kind::Merged => "merged",
            Kind::Split => "split",
            Kind::SpunOff => "spun_off",
            Kind::Reestablished => "reestablished",
            Kind::IdChanged => "id_changed",
            Kind::Renamed => "renamed",
            Kind::Dissolved => "dissolved",
            Kind::Redated => "redated",
            Kind::AttributeChanged => "attribute_changed",
            Kind::LabelGranted => "label_granted",
            Kind::LabelWithdrawn => "label_withdrawn",
            Kind::Candidacy => "candidacy",
            Kind::ProgramLaunched => "program_launched",
            Kind::ProgramEnded => "program_ended",
            Kind::SiteOpened => "site_opened",
            Kind::SiteClosed => "site_closed",
            Kind::RoleStarted => "role_started",
            Kind::RoleEnded => "role_ended",
            Kind::Joined => "joined",
            Kind::Left => "left",
            Kind::Figures => "figures",
            Kind::PlanStated => "plan_stated",
            Kind::PlanStatus => "plan_status",
        }
    }

    /// Parses a snake-case name.
    pub fn parse(text: &str) -> Result<Kind, UnknownKind> {
        Kind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| UnknownKind(text.to_owned()))
    }

    fn of_mode(mode: ChangeMode) -> Kind {
        match mode {
            ChangeMode::Fusion | ChangeMode::Absorption => Kind::Merged,
            ChangeMode::Split => Kind::Split,
            ChangeMode::SpinOff => Kind::SpunOff,
            ChangeMode::Reestablishment => Kind::Reestablished,
            ChangeMode::IdChange => Kind::IdChanged,
        }
    }
}

/// A figure's value and the date it describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FigureValue {
    /// The value.
    pub value: u64,
    /// The date it describes, as written.
    pub date: String,
}

/// The kind-specific members of a change (flattened into the change's JSON
/// object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Detail {
    /// `created`, `dissolved`.
    Org {
        /// The organisation.
        org: String,
        /// Its name.
        name: String,
    },
    /// `merged`, `split`, `spun_off`, `reestablished`, `id_changed`.
    Transform {
        /// The change mode.
        mode: ChangeMode,
        /// Predecessors.
        from: Vec<String>,
        /// Successors.
        to: Vec<String>,
        /// The successors the change created.
        new: Vec<String>,
    },
    /// `renamed`, `redated`, `attribute_changed`: a value, old → new
    /// (`null` when absent).
    Value {
        /// The organisation.
        org: String,
        /// The attribute's key (`attribute_changed` only).
        #[serde(skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// Before.
        old: Option<String>,
        /// After.
        new: Option<String>,
    },
    /// `label_granted`, `label_withdrawn`.
    Label {
        /// The holder.
        holder: String,
        /// The label.
        label: String,
        /// The granting body, if known.
        #[serde(skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// `candidacy`: status old → new (`null` when none).
    Candidacy {
        /// The candidate.
        candidate: String,
        /// The label sought.
        label: String,
        /// Before.
        old: Option<CandidacyStatus>,
        /// After.
        new: Option<CandidacyStatus>,
    },
    /// `program_launched`, `program_ended`.
    Program {
        /// The program.
        program: String,
        /// Its name.
        name: String,
        /// The organisation that runs it.
        owner: String,
    },
    /// `site_opened`, `site_closed`.
    Site {
        /// The organisation.
        org: String,
        /// The place.
        site: String,
    },
    /// `role_started`, `role_ended`.
    Role {
        /// The organisation.
        org: String,
        /// The role.
        role: String,
        /// The person.
        person: String,
    },
    /// `joined`, `left`.
    Membership {
        /// The organisation joined or left.
        org: String,
        /// Who: `{"org": id}` or `{"name": text}`.
        member: Party,
        /// `member` or `partner`.
        relation: Relation,
    },
    /// `figures`: one figure, old → new (`null` when absent).
    Figure {
        /// The organisation or program measured.
        org: String,
        /// The figure's name.
        figure: String,
        /// Before.
        old: Option<FigureValue>,
        /// After.
        new: Option<FigureValue>,
    },
    /// `redated` of a fact other than an organisation's existence
    /// (knowledge diffs): a label, site, role, membership or program whose
    /// start date the later state of knowledge gives differently.
    Fact {
        /// The kind of change that states the fact: `label_granted`,
        /// `site_opened`, `role_started`, `joined` or `program_launched`.
        fact: Kind,
        /// That kind's members, naming the fact.
        #[serde(flatten, serialize_with = "flat_detail")]
        what: Box<Detail>,
        /// The start date before, as written.
        old: String,
        /// The start date after, as written.
        new: String,
    },
    /// `plan_stated`, `plan_status`.
    Plan {
        /// Seq of the record that states the plan.
        plan: u64,
        /// The planned event's type.
        #[serde(rename = "type")]
        event_type: &'static str,
        /// One line about the planned event.
        summary: String,
        /// When it is to happen.
        planned_date: String,
        /// Status before (`null` when the plan was not listed).
        old: Option<PlanStatus>,
        /// Status after.
        new: PlanStatus,
    },
}

/// A [`Detail`] within another, as plain JSON: its members then join the
/// outer object's (serialised directly, the nesting would have no end at
/// compile time).
fn flat_detail<S: serde::Serializer>(d: &Detail, s: S) -> Result<S::Ok, S::Error> {
    let value = serde_json::to_value(d).map_err(serde::ser::Error::custom)?;
    serde::Serialize::serialize(&value, s)
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Its kind.
    #[serde(rename = "change")]
    pub kind: Kind,
    /// The event that caused it (for a retraction, the correction).
    pub seq: u64,
    /// Every event involved, `seq` first (a retraction lists the
    /// correction, then the retracted record).
    pub seqs: Vec<u64>,
    /// When it happened, as written (for a retraction, the date of the fact
    /// retracted; for a plan going overdue, the first day after its planned
    /// period).
    pub date: Date,
    /// The fact was held at the earlier state of knowledge and a correction
    /// withdrew it.
    pub retracted: bool,
    /// For a withdrawn fact: the correction's mode, `retract` or
    /// `supersede`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correction: Option<CorrectionMode>,
    /// The kind-specific members.
    #[serde(flatten)]
    pub detail: Detail,
}

/// One side of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    /// The day, `YYYY-MM-DD`.
    pub as_of: String,
    /// The state of knowledge.
    pub known_at: KnownAt,
}

/// Counts of changes, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Every change.
    pub total: usize,
    /// Per kind, only kinds that occur, in [`Kind::ALL`] order.
    pub by_kind: Vec<(Kind, usize)>,
}

impl Serialize for Summary {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.by_kind.len() + 1))?;
        m.serialize_entry("total", &self.total)?;
        for (k, n) in &self.by_kind {
            m.serialize_entry(k.as_str(), n)?;
        }
        m.end()
    }
}

impl Summary {
    fn of(changes: &[Change]) -> Summary {
        let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
        for c in changes {
            *counts.entry(c.kind).or_default() += 1;
        }
        Summary {
            total: changes.len(),
            by_kind: counts.into_iter().collect(),
        }
    }
}

/// What changed from one view to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// The earlier view.
    pub from: Side,
    /// The later view.
    pub to: Side,
    /// Counts of the changes listed.
    pub summary: Summary,
    /// The changes, in timeline order (date, then seq, then kind).
    pub changes: Vec<Change>,
    /// For two dates: the events counted between them that no change
    /// names, in seq order. Undone or overtaken within the window (a
    /// rename and back, an attribute set then unset, a figure updated
    /// twice), or of a kind no change reports (a milestone): a diff
    /// compares the two days, and these left nothing to compare. For two
    /// states of knowledge: the records after the earlier one that bear
    /// on the day (events the later one counts on it, corrections of
    /// events the earlier one counted) that no change names. Counted
    /// before `--kind` keeps some changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unlisted: Vec<u64>,
    /// Two states of knowledge about one day, not two days.
    #[serde(skip)]
    pub knowledge: bool,
}

impl Diff {
    fn new(from: Side, to: Side, mut changes: Vec<Change>) -> Diff {
        changes.sort_by(|a, b| {
            a.date
                .timeline_cmp(&b.date)
                .then(a.seq.cmp(&b.seq))
                .then(a.kind.cmp(&b.kind))
        });
        Diff {
            from,
            to,
            summary: Summary::of(&changes),
            changes,
            unlisted: Vec::new(),
            knowledge: false,
        }
    }

    /// Sets [`Diff::unlisted`]: those of the seqs `counted` (the events
    /// counted in the window, in any order) that no change names.
    fn listing(mut self, counted: &mut [u64]) -> Diff {
        let named: HashSet<u64> = (self.changes.iter())
            .flat_map(|c| c.seqs.iter().copied().chain([c.seq]))
            .collect();
        counted.sort_unstable();
        self.unlisted = (counted.iter().copied())
            .filter(|seq| !named.contains(seq))
            .collect();
        self.unlisted.dedup();
        self
    }

    /// Keeps only the changes of these kinds (all when empty); the summary
    /// then counts what is kept.
    pub fn retain_kinds(&mut self, kinds: &[Kind]) {
        if kinds.is_empty() {
            return;
        }
        self.changes.retain(|c| kinds.contains(&c.kind));
        self.summary = Summary::of(&self.changes);
    }
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// What changed between the days `from` and `to` (inclusive ends: the
/// views on each day) at one state of knowledge; `hash` is the hash of the
/// record at `knowledge.position`. Folds once.
pub fn diff_dates(
    knowledge: &Knowledge<'_>,
    hash: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Diff, DiffError> {
    if from > to {
        return Err(DiffError::Reversed { from, to });
    }
    let timeline = &knowledge.timeline;
    let mut state = State::default();
    let mut i = 0;
    while let Some(e) = timeline.get(i)
        && e.event.date.counts_on(from)
    {
        apply(&mut state, e.seq, e.event);
        i += 1;
    }
    let before = state.clone();
    let start = i;
    while let Some(e) = timeline.get(i)
        && e.event.date.counts_on(to)
    {
        apply(&mut state, e.seq, e.event);
        i += 1;
    }
    let window = timeline.get(start..i).unwrap_or(&[]);
    let mut before = before;
    before.orgs.sort();
    state.orgs.sort();
    let mut counted: Vec<u64> = window.iter().map(|e| e.seq).collect();
    Ok(diff_folded(
        knowledge,
        hash,
        (from, &before),
        (to, &state),
        window.iter().map(|e| (e.seq, e.event)),
    )
    .listing(&mut counted))
}

/// [`diff_dates`] from the states folded up to `from` and up to `to`, and
/// the effective events counted in between (at least every removal among
/// them: a label withdrawn, a site closed, a role ended, a member left, an
/// attribute unset), for a caller that folds by itself.
pub fn diff_folded<'a>(
    knowledge: &Knowledge<'_>,
    hash: &str,
    (from, before): (NaiveDate, &State),
    (to, after): (NaiveDate, &State),
    window: impl Iterator<Item = (u64, &'a Event)>,
) -> Diff {
    diff_sides(
        knowledge,
        hash,
        (from, Before::Whole(before)),
        (to, after),
        window,
    )
}

/// [`diff_folded`] from the state folded up to `to` and what [`Earlier`]
/// kept of the state on `from`: only the organisations that changed in
/// between are compared. `counted` holds the seq of every event counted in
/// between, for [`Diff::unlisted`].
pub fn diff_earlier<'a>(
    knowledge: &Knowledge<'_>,
    hash: &str,
    (from, earlier): (NaiveDate, &Earlier),
    (to, after): (NaiveDate, &State),
    window: impl Iterator<Item = (u64, &'a Event)>,
    counted: &mut [u64],
) -> Diff {
    let before = Before::Changed(earlier, after);
    diff_sides(knowledge, hash, (from, before), (to, after), window).listing(counted)
}

fn diff_sides<'a>(
    knowledge: &Knowledge<'_>,
    hash: &str,
    (from, before): (NaiveDate, Before<'_>),
    (to, after): (NaiveDate, &State),
    window: impl Iterator<Item = (u64, &'a Event)>,
) -> Diff {
    let cx = Cx {
        fresh: Fresh::After(from),
        corrections: BTreeMap::new(),
        superseded: HashMap::new(),
        ended_by: removals(window),
        unended_by: HashMap::new(),
        refigured: HashMap::new(),
    };
    let mut changes = compare_with(before, after, &cx, ORGS_ON_TWO_THREADS);
    changes.extend(plan_changes(
        (knowledge, from),
        (knowledge, to),
        &cx.superseded,
    ));
    let known_at = KnownAt {
        seq: knowledge.position,
        hash: hash.to_owned(),
    };
    let side = |day: NaiveDate| Side {
        as_of: day.format("%Y-%m-%d").to_string(),
        known_at: known_at.clone(),
    };
    Diff::new(side(from), side(to), changes)
}

/// What a fold that goes on past the earlier day of a diff keeps of the
/// state on that day, instead of a copy of it all: the programs and
/// candidacies as they were, and each organisation as it was just before
/// the first event after the day that could change it
/// ([`crate::fold::for_each_affected`] names them). Every other
/// organisation is the same on both days.
#[derive(Debug, Default)]
pub struct Earlier {
    /// The organisations the events after the day may have changed, as
    /// they stood on the day (none: not in being yet).
    orgs: HashMap<CompactString, Option<Box<Org>>>,
    programs: BTreeMap<CompactString, Program>,
    candidacies: BTreeMap<(CompactString, CompactString), Candidacy>,
}

impl Earlier {
    /// Starts from the state folded up to the earlier day.
    pub fn new(state: &State) -> Earlier {
        Earlier {
            orgs: HashMap::new(),
            programs: state.programs.clone(),
            candidacies: state.candidacies.clone(),
        }
    }

    /// Keeps what `event`, about to be applied to `state`, may change and
    /// is not kept yet.
    pub fn note(&mut self, state: &State, event: &Event) {
        crate::fold::for_each_affected(state, event, |id| {
            if !self.orgs.contains_key(id) {
                let org = state.orgs.get(id).map(|o| Box::new(o.clone()));
                self.orgs.insert(id.into(), org);
            }
        });
    }

    /// How many ids are kept.
    pub fn len(&self) -> usize {
        self.orgs.len()
    }

    /// Whether no id is kept.
    pub fn is_empty(&self) -> bool {
        self.orgs.is_empty()
    }
}

/// The earlier side of a comparison.
#[derive(Clone, Copy)]
enum Before<'s> {
    /// The state folded up to the earlier day.
    Whole(&'s State),
    /// The later state, but for what [`Earlier`] kept.
    Changed(&'s Earlier, &'s State),
}

impl<'s> Before<'s> {
    /// The organisation `id` on the earlier side.
    fn org(self, id: &str) -> Option<&'s Org> {
        match self {
            Before::Whole(state) => state.orgs.get(id),
            Before::Changed(earlier, after) => match earlier.orgs.get(id) {
                Some(kept) => kept.as_deref(),
                None => after.orgs.get(id),
            },
        }
    }

    fn programs(self) -> &'s BTreeMap<CompactString, Program> {
        match self {
            Before::Whole(state) => &state.programs,
            Before::Changed(earlier, _) => &earlier.programs,
        }
    }

    fn candidacies(self) -> &'s BTreeMap<(CompactString, CompactString), Candidacy> {
        match self {
            Before::Whole(state) => &state.candidacies,
            Before::Changed(earlier, _) => &earlier.candidacies,
        }
    }

    /// The organisations to walk on each side, in id order: all of them,
    /// or those [`Earlier`] kept (any other is the same on both sides).
    #[allow(clippy::type_complexity)]
    fn orgs(
        self,
        after: &'s State,
    ) -> (
        Vec<(&'s CompactString, &'s Org)>,
        Vec<(&'s CompactString, &'s Org)>,
    ) {
        match self {
            Before::Whole(before) => (before.orgs.iter().collect(), after.orgs.iter().collect()),
            // `after` is the state the variant holds.
            Before::Changed(earlier, _) => {
                let mut ids: Vec<(&CompactString, &Option<Box<Org>>)> =
                    earlier.orgs.iter().collect();
                ids.sort_unstable_by(|x, y| x.0.cmp(y.0));
                let b = ids
                    .iter()
                    .filter_map(|(id, kept)| kept.as_deref().map(|o| (*id, o)))
                    .collect();
                let a = ids
                    .iter()
                    .filter_map(|(id, _)| after.orgs.get(id).map(|o| (*id, o)))
                    .collect();
                (b, a)
            }
        }
    }
}

/// Whether [`diff_folded`] needs the event among those counted between
/// the two days: it ends a fact.
pub fn is_removal(event: &Event) -> bool {
    matches!(
        event.body,
        Body::LabelWithdrawn { .. }
            | Body::SiteClosed { .. }
            | Body::RoleEnded { .. }
            | Body::Left { .. }
            | Body::AttributeSet { value: None, .. }
    )
}

/// What the state of knowledge `b` says differently from `a` about the
/// day `day`; `hash_a` and `hash_b` are the hashes of the records at their
/// positions.
pub fn diff_knowledge(
    a: &Knowledge<'_>,
    hash_a: &str,
    b: &Knowledge<'_>,
    hash_b: &str,
    day: NaiveDate,
) -> Result<Diff, DiffError> {
    if a.position > b.position {
        return Err(DiffError::KnowledgeReversed {
            a: a.position,
            b: b.position,
        });
    }
    let before = a.fold_until(day);
    let after = b.fold_until(day);
    let folded_b = applied(b, day);
    let mut counted: Vec<u64> = (folded_b.iter())
        .map(|(seq, _)| *seq)
        .filter(|seq| *seq > a.position)
        .collect();
    Ok(diff_knowledge_folded(
        (a, hash_a, &before, &applied(a, day)),
        (b, hash_b, &after, &folded_b),
        day,
        &mut counted,
    ))
}

/// The events a fold of `k` up to `day` applies, in timeline order.
fn applied<'k>(k: &Knowledge<'k>, day: NaiveDate) -> Vec<(u64, &'k Event)> {
    k.timeline
        .iter()
        .filter(|e| e.event.date.counts_on(day))
        .map(|e| (e.seq, e.event))
        .collect()
}

/// [`diff_knowledge`] from what folding each state of knowledge up to
/// `day` gave: the knowledge, the hash at its position, the state, and (in
/// timeline order) the events applied that may matter — those of `a`
/// that `b` corrects and those of `b` after `a`'s position, of which only
/// removals ([`is_removal`]) are read: other events may be left out.
/// `counted` holds the seq of every event `b` applies after `a`'s
/// position, for [`Diff::unlisted`] (with the corrections, after `a`, of
/// the events of `a` given).
pub(crate) fn diff_knowledge_folded(
    a: (&Knowledge<'_>, &str, &State, &[(u64, &Event)]),
    b: (&Knowledge<'_>, &str, &State, &[(u64, &Event)]),
    day: NaiveDate,
    counted: &mut Vec<u64>,
) -> Diff {
    let (ka, hash_a, before, folded_a) = a;
    let (kb, hash_b, after, folded_b) = b;
    let corrections: BTreeMap<u64, Corrected> = kb
        .corrections
        .iter()
        .filter(|(_, c)| c.seq > ka.position)
        .map(|(t, c)| (*t, *c))
        .collect();
    // The corrections of what `a` counted on the day bear on it.
    counted.extend((folded_a.iter()).filter_map(|(seq, _)| corrections.get(seq).map(|c| c.seq)));
    let new_events = folded_b
        .iter()
        .filter(|(seq, _)| *seq > ka.position)
        .map(|&(seq, e)| (seq, e));
    // Removals known at `a` that `b` retracts: undoing them brings a fact
    // back. Keyed to the correction's seq.
    let unended_by = removals(
        folded_a
            .iter()
            .filter(|(seq, _)| corrections.contains_key(seq))
            .map(|&(seq, e)| (seq, e)),
    )
    .into_iter()
    .filter_map(|(k, (seq, date))| corrections.get(&seq).map(|c| (k, (*c, seq, date))))
    .collect();
    let superseded = corrections
        .iter()
        .filter(|(_, c)| c.mode == CorrectionMode::Supersede)
        .map(|(t, c)| (c.seq, *t))
        .collect();
    let mut refigured: HashMap<(&str, &str), crate::fold::Figure> = HashMap::new();
    for &(seq, e) in folded_a
        .iter()
        .filter(|(seq, _)| corrections.contains_key(seq))
    {
        let Body::Figures { org, values } = &e.body else {
            continue;
        };
        let at = Stamp {
            date: e.date.clone(),
            seq,
        };
        for (name, value) in values {
            let figure = crate::fold::Figure {
                value: *value,
                at: at.clone(),
                sources: Vec::new(),
            };
            let held = refigured
                .entry((org.as_str(), name.as_str()))
                .or_insert_with(|| figure.clone());
            // The last in timeline order: what the earlier period ended with.
            if (at.date.start(), seq) > (held.at.date.start(), held.at.seq) {
                *held = figure;
            }
        }
    }
    let cx = Cx {
        fresh: Fresh::Above(ka.position),
        corrections,
        superseded,
        ended_by: removals(new_events),
        unended_by,
        refigured,
    };
    let mut changes = compare(before, after, &cx);
    changes.extend(plan_changes((ka, day), (kb, day), &cx.superseded));
    let side = |k: &Knowledge<'_>, hash: &str| Side {
        as_of: day.format("%Y-%m-%d").to_string(),
        known_at: KnownAt {
            seq: k.position,
            hash: hash.to_owned(),
        },
    };
    let mut d = Diff::new(side(ka, hash_a), side(kb, hash_b), changes).listing(counted);
    d.knowledge = true;
    d
}

// ---------------------------------------------------------------------------
// Attribution
// ---------------------------------------------------------------------------

/// A fact that an event can end, as a lookup key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key<'a> {
    Label(&'a str, &'a str),
    Site(&'a str, &'a str),
    Role(&'a str, &'a str, &'a str),
    Member(&'a str, &'a Party, Relation),
    Attr(&'a str, &'a str),
}

/// The facts the events end, with the last such event's seq and date.
fn removals<'a>(
    events: impl Iterator<Item = (u64, &'a Event)>,
) -> HashMap<Key<'a>, (u64, &'a Date)> {
    let mut out = HashMap::new();
    for (seq, e) in events {
        let key = match &e.body {
            Body::LabelWithdrawn { label, holder } => Key::Label(holder, label),
            Body::SiteClosed { org, site } => Key::Site(org, site),
            Body::RoleEnded { org, person, role } => Key::Role(org, role, person),
            Body::Left {
                org,
                member,
                relation,
            } => Key::Member(org, member, *relation),
            Body::AttributeSet {
                org,
                key,
                value: None,
            } => Key::Attr(org, key),
            _ => continue,
        };
        out.insert(key, (seq, &e.date));
    }
    out
}

/// Which stamps are news to the later side.
#[derive(Debug, Clone, Copy)]
enum Fresh {
    /// Two dates: dated after this day.
    After(NaiveDate),
    /// Two states of knowledge: recorded after this seq.
    Above(u64),
}

struct Cx<'a> {
    fresh: Fresh,
    /// Records corrected between the two states of knowledge, by target seq.
    corrections: BTreeMap<u64, Corrected>,
    /// The record each supersede among them replaced, by the supersede's
    /// seq (the seq its replacement's facts are stamped with).
    superseded: HashMap<u64, u64>,
    /// Facts ended by events only the later side counts.
    ended_by: HashMap<Key<'a>, (u64, &'a Date)>,
    /// Facts ended at the earlier state of knowledge by a record the later
    /// one corrects: (correction, corrected seq, date).
    unended_by: HashMap<Key<'a>, (Corrected, u64, &'a Date)>,
    /// Figures the earlier state of knowledge counted that the later one
    /// corrects, by (organisation, figure): the last of them in timeline
    /// order, as a figure.
    refigured: HashMap<(&'a str, &'a str), crate::fold::Figure>,
}

/// Why a fact changed.
struct Cause {
    seqs: Vec<u64>,
    date: Date,
    /// How a correction withdrew the fact, if it did.
    retracted: Option<CorrectionMode>,
    /// A removal was retracted, so the fact is back.
    unended: bool,
}

impl Cx<'_> {
    fn is_fresh(&self, s: &Stamp) -> bool {
        match self.fresh {
            Fresh::After(day) => !s.date.counts_on(day),
            Fresh::Above(pos) => s.seq > pos,
        }
    }

    /// The cause of a fact that was `old` and is `new` (stamps; `None` for
    /// absent), `key` naming it for events that end it, `end` the end of
    /// what the fact ends with (a member organisation's end) on the side
    /// that lacks the fact.
    fn cause(
        &self,
        old: Option<&Stamp>,
        new: Option<&Stamp>,
        key: Option<&Key<'_>>,
        end: Option<&Stamp>,
    ) -> Cause {
        let corrected = |s: &Stamp| self.corrections.get(&s.seq).copied();
        if let Some(n) = new
            && self.is_fresh(n)
            && old.map(|o| o.seq) != Some(n.seq)
        {
            let mut seqs = vec![n.seq];
            // The new fact comes from a supersede's replacement: name the
            // superseded record too, whatever the fact was before.
            if let Some(t) = self.superseded.get(&n.seq) {
                seqs.push(*t);
            }
            return Cause {
                seqs,
                date: n.date.clone(),
                retracted: None,
                unended: false,
            };
        }
        if let Some(o) = old
            && let Some(c) = corrected(o)
        {
            return Cause {
                seqs: vec![c.seq, o.seq],
                date: o.date.clone(),
                retracted: Some(c.mode),
                unended: false,
            };
        }
        if let Some(k) = key {
            if new.is_none()
                && let Some((seq, date)) = self.ended_by.get(k)
            {
                return Cause {
                    seqs: vec![*seq],
                    date: (*date).clone(),
                    retracted: None,
                    unended: false,
                };
            }
            if new.is_some()
                && let Some((c, seq, date)) = self.unended_by.get(k)
            {
                return Cause {
                    seqs: vec![c.seq, *seq],
                    date: (*date).clone(),
                    retracted: Some(c.mode),
                    unended: true,
                };
            }
        }
        if let Some(e) = end {
            // Ended with something else, on the later side.
            if new.is_none() && self.is_fresh(e) {
                return Cause {
                    seqs: vec![e.seq],
                    date: e.date.clone(),
                    retracted: None,
                    unended: false,
                };
            }
            // Back because what it had ended with was corrected away.
            if new.is_some()
                && let Some(c) = corrected(e)
            {
                return Cause {
                    seqs: vec![c.seq, e.seq],
                    date: e.date.clone(),
                    retracted: Some(c.mode),
                    unended: true,
                };
            }
        }
        let s = new.or(old);
        Cause {
            seqs: s.map(|s| vec![s.seq]).unwrap_or_default(),
            date: s.map_or_else(|| Date::from_day(NaiveDate::MIN), |s| s.date.clone()),
            retracted: None,
            unended: false,
        }
    }
}

fn change(kind: Kind, cause: Cause, detail: Detail) -> Change {
    Change {
        kind,
        seq: cause.seqs.first().copied().unwrap_or(0),
        seqs: cause.seqs,
        date: cause.date,
        retracted: cause.retracted.is_some(),
        correction: cause.retracted,
        detail,
    }
}

/// A set fact that appeared (`added`) or disappeared: the positive kind,
/// or the negative one when it ended, or was back because its end was
/// retracted.
fn set_change(added: bool, positive: Kind, negative: Kind, cause: Cause, detail: Detail) -> Change {
    let kind = match (added, cause.retracted.is_some(), cause.unended) {
        (true, _, true) => negative,
        (true, _, false) => positive,
        (false, true, _) => positive,
        (false, false, _) => negative,
    };
    change(kind, cause, detail)
}

/// A fact held on both sides whose start date a knowledge diff's later
/// side gives differently (a supersede that redates a grant, an
/// opening…): a `redated` change naming the fact by `fact` (the kind that
/// states it) and `what`. Two dates never redate a fact: one held on both
/// days with another start was ended and started again in between, and
/// each day's view holds it.
fn fact_redated(cx: &Cx<'_>, fact: Kind, old: &Stamp, new: &Stamp, what: Detail) -> Option<Change> {
    if !matches!(cx.fresh, Fresh::Above(_)) || old.date == new.date {
        return None;
    }
    Some(change(
        Kind::Redated,
        cx.cause(Some(old), Some(new), None, None),
        Detail::Fact {
            fact,
            what: Box::new(what),
            old: old.date.to_string(),
            new: new.date.to_string(),
        },
    ))
}

// ---------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------

/// `pairs` (from [`differing`]) with each entry held on both sides that
/// `two` says are two facts (not one that changed) as two entries: the
/// earlier side's alone, then the later side's.
#[allow(clippy::type_complexity)]
fn apart<'m, K, V>(
    pairs: Vec<(&'m K, Option<&'m V>, Option<&'m V>)>,
    two: impl Fn(&V, &V) -> bool,
) -> Vec<(&'m K, Option<&'m V>, Option<&'m V>)> {
    let mut out = Vec::with_capacity(pairs.len());
    for (k, b, a) in pairs {
        match (b, a) {
            (Some(x), Some(y)) if two(x, y) => out.extend([(k, b, None), (k, None, a)]),
            _ => out.push((k, b, a)),
        }
    }
    out
}

/// The entries of two maps that differ, in key order.
fn differing<'m, K: Ord + 'm, V: PartialEq + 'm>(
    a: impl IntoIterator<Item = (&'m K, &'m V)>,
    b: impl IntoIterator<Item = (&'m K, &'m V)>,
) -> Vec<(&'m K, Option<&'m V>, Option<&'m V>)> {
    let mut out = Vec::new();
    let mut x = a.into_iter().peekable();
    let mut y = b.into_iter().peekable();
    loop {
        let step = match (x.peek(), y.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((ka, _)), Some((kb, _))) => ka.cmp(kb),
        };
        match step {
            Ordering::Less => {
                if let Some((k, v)) = x.next() {
                    out.push((k, Some(v), None));
                }
            }
            Ordering::Greater => {
                if let Some((k, v)) = y.next() {
                    out.push((k, None, Some(v)));
                }
            }
            Ordering::Equal => {
                if let (Some((k, va)), Some((_, vb))) = (x.next(), y.next())
                    && va != vb
                {
                    out.push((k, Some(va), Some(vb)));
                }
            }
        }
    }
    out
}

/// The party an organisation is, on the side whose organisations `org`
/// finds, when it changed id there (`a` → `b` → …); `None` when it did
/// not.
fn party_now<'s>(party: &Party, org: impl Fn(&str) -> Option<&'s Org>) -> Option<Party> {
    let Party::Org(id) = party else {
        return None;
    };
    let mut now = id.as_str();
    // Ids are never reused, so a chain ends; the bound keeps it so.
    for _ in 0..64 {
        match org(now).and_then(|o| o.ended.as_deref()) {
            Some(e) if e.how == EndHow::Transformed(ChangeMode::IdChange) => match e.into.first() {
                Some(next) => now = next,
                None => break,
            },
            _ => break,
        }
    }
    (now != id.as_str()).then(|| Party::Org(now.into()))
}

/// How a membership of the organisation whose ids are `containers` (its
/// id on the later side, then those it had before, back through id
/// changes) held by `party` on the earlier side ended on the later side:
/// the index in `containers` of the id a `left` record names it under,
/// and the member as it left, with its end when it ended otherwise. A
/// member that changed id first (`y` → `y2` → …), the id change carrying
/// the membership, left under the id it held then, or ended with the
/// period the last id change began (absorbed, dissolved; re-established
/// since, maybe). `None` when no `left` names it and the member did not
/// change id.
fn left_as<'s>(
    containers: &[&str],
    party: &Party,
    relation: Relation,
    before: Before<'_>,
    after: &'s State,
    cx: &Cx<'_>,
) -> Option<(usize, Party, Option<&'s Stamp>)> {
    let left = |p: &Party| {
        (containers.iter()).position(|c| cx.ended_by.contains_key(&Key::Member(c, p, relation)))
    };
    if let Some(c) = left(party) {
        return Some((c, party.clone(), None));
    }
    let Party::Org(first) = party else {
        return None;
    };
    // A `left` under an id the member had before (a knowledge diff whose
    // earlier side knows its later id).
    if let Some(o) = after.orgs.get(first.as_str()) {
        for id in former_ids(first, o, after).into_iter().skip(1) {
            let p = Party::Org(id.into());
            if let Some(c) = left(&p) {
                return Some((c, p, None));
            }
        }
    }
    let mut now = first.clone();
    // Ids are never reused, so a chain ends; the bound keeps it so.
    for step in 0..64 {
        let o = after.orgs.get(now.as_str())?;
        // The end of the period the membership was held in: the one the
        // earlier side knows, for its id (the current one if it does not
        // know it); the first one of an id an id change gave.
        let ended = if step == 0 {
            match before.org(first.as_str()) {
                Some(b) => period_end(o, Some(&b.since)),
                None => o.ended.as_deref(),
            }
        } else {
            period_end(o, None)
        }?;
        if ended.how != EndHow::Transformed(ChangeMode::IdChange) {
            return Some((0, Party::Org(now), Some(&ended.at)));
        }
        now = ended.into.first()?.clone();
        let next = Party::Org(now.clone());
        if let Some(c) = left(&next) {
            return Some((c, next, None));
        }
    }
    None
}

/// The end of the period of `o` that began at `since` (its current
/// period's, if that began then), or of its first period.
fn period_end<'s>(o: &'s Org, since: Option<&Stamp>) -> Option<&'s crate::fold::Ended> {
    match since {
        None => (o.periods.first().map(|p| &p.ended)).or(o.ended.as_deref()),
        Some(s) => (o.periods.iter().find(|p| p.since == *s).map(|p| &p.ended))
            .or_else(|| o.ended.as_deref().filter(|_| o.since == *s)),
    }
}

/// The ids of the organisation `a` (id `id` on the later side): `id`, then
/// those it had before, back through id changes.
fn former_ids<'s>(id: &'s str, a: &'s Org, after: &'s State) -> Vec<&'s str> {
    let mut ids = vec![id];
    let mut now = a;
    // Ids are never reused, so a chain ends; the bound keeps it so.
    for _ in 0..64 {
        let Some(l) = (now.predecessors.iter()).find(|l| l.mode == ChangeMode::IdChange) else {
            break;
        };
        ids.push(l.id.as_str());
        match after.orgs.get(l.id.as_str()) {
            Some(o) => now = o,
            None => break,
        }
    }
    ids
}

/// Start of the first period of existence.
fn first_since(o: &Org) -> &Stamp {
    o.periods.first().map_or(&o.since, |p| &p.since)
}

/// Whether the organisation came out of a `transformed` change (then the
/// change, not a `created`, reports it).
fn by_transform(o: &Org) -> bool {
    let since = first_since(o).seq;
    o.predecessors
        .iter()
        .any(|l| l.at.seq == since || l.mode == ChangeMode::IdChange)
}

/// Every dissolution of an organisation (earlier periods included).
fn dissolutions(o: &Org) -> Vec<&Stamp> {
    o.periods
        .iter()
        .map(|p| &p.ended)
        .chain(o.ended.as_deref())
        .filter(|e| e.how == EndHow::Dissolved)
        .map(|e| &e.at)
        .collect()
}

/// A transformed change being gathered from links.
struct Group {
    mode: ChangeMode,
    stamp: Stamp,
    from: Vec<String>,
    to: Vec<String>,
}

fn compare(before: &State, after: &State, cx: &Cx<'_>) -> Vec<Change> {
    compare_with(Before::Whole(before), after, cx, ORGS_ON_TWO_THREADS)
}

/// [`compare`], the organisations compared on two threads from
/// `two_threads_from` up.
fn compare_with(
    before: Before<'_>,
    after: &State,
    cx: &Cx<'_>,
    two_threads_from: usize,
) -> Vec<Change> {
    let (mut out, groups) = compare_all_orgs(before, after, cx, two_threads_from);
    for ((seq, later), g) in groups {
        let org = |id: &str| {
            if later {
                after.orgs.get(id)
            } else {
                before.org(id)
            }
        };
        let new: Vec<String> =
            g.to.iter()
                .filter(|t| {
                    g.mode == ChangeMode::IdChange
                        || org(t.as_str()).is_some_and(|o| first_since(o).seq == seq)
                })
                .cloned()
                .collect();
        // Predecessors in the order the event names them (one needs no
        // order: skipping it keeps an organisation with thousands of
        // changes from being scanned again for each).
        let mut from = g.from;
        if from.len() > 1
            && let Some(first_to) = g.to.first().and_then(|t| org(t.as_str()))
        {
            let order: Vec<&str> = first_to
                .predecessors
                .iter()
                .filter(|l| l.at.seq == seq)
                .map(|l| l.id.as_str())
                .collect();
            from.sort_by_key(|f| order.iter().position(|o| o == f).unwrap_or(usize::MAX));
        }
        let cause = if later {
            cx.cause(None, Some(&g.stamp), None, None)
        } else {
            cx.cause(Some(&g.stamp), None, None, None)
        };
        out.push(change(
            Kind::of_mode(g.mode),
            cause,
            Detail::Transform {
                mode: g.mode,
                from,
                to: g.to,
                new,
            },
        ));
    }
    compare_programs(before, after, cx, &mut out);
    for ((label, candidate), b, a) in differing(before.candidacies(), &after.candidacies) {
        out.push(change(
            Kind::Candidacy,
            cx.cause(b.map(|c| &c.at), a.map(|c| &c.at), None, None),
            Detail::Candidacy {
                candidate: candidate.to_string(),
                label: label.to_string(),
                old: b.map(|c| c.status),
                new: a.map(|c| c.status),
            },
        ));
    }
    out
}

/// Organisations to compare on two threads from this many up.
const ORGS_ON_TWO_THREADS: usize = 4096;

/// [`compare_orgs`] over every organisation that may differ (all of them,
/// or those [`Earlier`] kept: see [`Before::orgs`]): the ids cut in two ranges
/// compared on two threads when there are many (the orgs' merge walk and
/// equality tests are most of a diff's comparing), their changes joined
/// in id order, as one walk gives them.
fn compare_all_orgs(
    before: Before<'_>,
    after: &State,
    cx: &Cx<'_>,
    two_threads_from: usize,
) -> (Vec<Change>, BTreeMap<(u64, bool), Group>) {
    let (b, a) = before.orgs(after);
    let side = |b: &[(&CompactString, &Org)], a: &[(&CompactString, &Org)]| {
        let pairs = differing(b.iter().copied(), a.iter().copied());
        compare_orgs(&pairs, before, after, cx)
    };
    let Some((mid, _)) = a.get(a.len() / 2).copied() else {
        return side(&b, &a);
    };
    if a.len() + b.len() < two_threads_from {
        return side(&b, &a);
    }
    let (a1, a2) = a.split_at(a.len() / 2);
    let (b1, b2) = b.split_at(b.partition_point(|(k, _)| *k < mid));
    let ((mut out, mut groups), second) = std::thread::scope(|s| {
        let second = s.spawn(|| side(b2, a2));
        (side(b1, a1), second.join())
    });
    let (out2, groups2) = second.unwrap_or_else(|_| side(b2, a2));
    out.extend(out2);
    for (key, g) in groups2 {
        match groups.entry(key) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(g);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let first = o.get_mut();
                for f in g.from {
                    if !first.from.contains(&f) {
                        first.from.push(f);
                    }
                }
                for t in g.to {
                    if !first.to.contains(&t) {
                        first.to.push(t);
                    }
                }
            }
        }
    }
    (out, groups)
}

/// The changes of the organisations that differ (`pairs`, from
/// [`differing`]) but their transformations, and those gathered by
/// (seq, known only to the later side).
#[allow(clippy::type_complexity)]
fn compare_orgs(
    pairs: &[(&CompactString, Option<&Org>, Option<&Org>)],
    before: Before<'_>,
    after: &State,
    cx: &Cx<'_>,
) -> (Vec<Change>, BTreeMap<(u64, bool), Group>) {
    let mut out = Vec::new();
    // Transformed changes by (seq, known only to the later side).
    let mut groups: BTreeMap<(u64, bool), Group> = BTreeMap::new();
    for &(id, b, a) in pairs {
        compare_existence(id, b, a, cx, &mut out);
        for (side, this, other) in [(true, a, b), (false, b, a)] {
            let Some(this) = this else { continue };
            if this.predecessors == other.map_or(&[][..], |o| &o.predecessors[..]) {
                continue;
            }
            let known: HashSet<(&str, u64, ChangeMode)> = other
                .map(|o| {
                    o.predecessors
                        .iter()
                        .map(|x| (x.id.as_str(), x.at.seq, x.mode))
                        .collect()
                })
                .unwrap_or_default();
            for l in &this.predecessors {
                if known.contains(&(l.id.as_str(), l.at.seq, l.mode)) {
                    continue;
                }
                let g = groups.entry((l.at.seq, side)).or_insert_with(|| Group {
                    mode: l.mode,
                    stamp: l.at.clone(),
                    from: Vec::new(),
                    to: Vec::new(),
                });
                if !g.from.iter().any(|f| *f == l.id) {
                    g.from.push(l.id.to_string());
                }
                if !g.to.iter().any(|t| t == id) {
                    g.to.push(id.to_string());
                }
            }
        }
        compare_facts(id, b, a, before, after, cx, &mut out);
    }
    (out, groups)
}

fn org_detail(o: &Org, first_name: bool) -> Detail {
    let name = if first_name {
        o.names.first().map_or(&o.name, |n| &n.name)
    } else {
        &o.name
    };
    Detail::Org {
        org: o.id.to_string(),
        name: name.to_string(),
    }
}

/// Created, dissolved, redated.
fn compare_existence(
    id: &str,
    b: Option<&Org>,
    a: Option<&Org>,
    cx: &Cx<'_>,
    out: &mut Vec<Change>,
) {
    match (b, a) {
        (None, Some(a)) if !by_transform(a) => {
            let cause = cx.cause(None, Some(first_since(a)), None, None);
            out.push(change(Kind::Created, cause, org_detail(a, true)));
        }
        (Some(b), None) if !by_transform(b) => {
            let cause = cx.cause(Some(first_since(b)), None, None, None);
            out.push(change(Kind::Created, cause, org_detail(b, true)));
        }
        (Some(b), Some(a)) => {
            let (sb, sa) = (first_since(b), first_since(a));
            if sb.date != sa.date && !by_transform(a) {
                out.push(change(
                    Kind::Redated,
                    cx.cause(Some(sb), Some(sa), None, None),
                    Detail::Value {
                        org: id.to_owned(),
                        key: None,
                        old: Some(sb.date.to_string()),
                        new: Some(sa.date.to_string()),
                    },
                ));
            }
        }
        _ => {}
    }
    let none = Vec::new();
    let db = b.map_or_else(|| none.clone(), dissolutions);
    let da = a.map_or_else(|| none.clone(), dissolutions);
    for s in da.iter().filter(|s| !db.iter().any(|x| x.seq == s.seq)) {
        if let Some(a) = a {
            out.push(change(
                Kind::Dissolved,
                cx.cause(None, Some(s), None, None),
                org_detail(a, false),
            ));
        }
    }
    for s in db.iter().filter(|s| !da.iter().any(|x| x.seq == s.seq)) {
        if let Some(b) = b {
            out.push(change(
                Kind::Dissolved,
                cx.cause(Some(s), None, None, None),
                org_detail(b, false),
            ));
        }
    }
}

/// The organisation `id` was on the earlier side, if any: itself, or the
/// organisation whose id it took over, through as many id changes as the
/// window holds (`x` → `x2` → `x3`). Its identity (names, attributes)
/// carries over to `a`.
fn identity<'s>(
    b: Option<&'s Org>,
    a: &'s Org,
    before: Before<'s>,
    after: &'s State,
) -> Option<&'s Org> {
    if b.is_some() {
        return b;
    }
    let took_over = |o: &'s Org| {
        (o.predecessors.iter())
            .find(|l| l.mode == ChangeMode::IdChange)
            .map(|l| l.id.as_str())
    };
    let mut id = took_over(a)?;
    // Ids are never reused, so a chain ends; the bound keeps it so.
    for _ in 0..64 {
        if let Some(o) = before.org(id) {
            return Some(o);
        }
        id = took_over(after.orgs.get(id)?)?;
    }
    None
}

/// The organisation whose facts (sites, labels, roles, members, figures)
/// `a` held before: its [`identity`] on the earlier side, unless it
/// started afresh since, re-established after the earlier side saw it
/// end: under the id it had then, it has a period of existence the
/// earlier side has not, whether or not it has ended since or changed id
/// (an id change moves the facts, not the periods). An organisation back
/// because its end was corrected away kept its facts.
fn baseline<'s>(identity: Option<&'s Org>, a: &Org, after: &State) -> Option<&'s Org> {
    identity.filter(|o| {
        let later = after.orgs.get(&o.id).unwrap_or(a);
        o.ended.is_none() || later.periods.len() <= o.periods.len()
    })
}

/// The organisation whose facts `a` held on the earlier side, given `o`,
/// the one it was there: `o` itself, unless the earlier side saw `o` change
/// id and the later side does not (a knowledge diff, the id change
/// corrected away); then the organisation the id changes led to there,
/// which the facts moved to.
/// Also gives the ids the facts moved through there (`o`'s excluded),
/// under which a record the later side corrects away may have ended one.
fn moved_on<'s>(o: &'s Org, a: &Org, before: Before<'s>) -> (&'s Org, Vec<&'s str>) {
    let mut now = o;
    let mut ids = Vec::new();
    // Ids are never reused, so a chain ends; the bound keeps it so.
    for _ in 0..64 {
        let Some(e) = &now.ended else { break };
        let moved = e.how == EndHow::Transformed(ChangeMode::IdChange)
            && a.ended.as_ref().is_none_or(|x| x.at != e.at);
        match e.into.first().and_then(|id| before.org(id)) {
            Some(next) if moved => {
                now = next;
                ids.push(next.id.as_str());
            }
            _ => break,
        }
    }
    (now, ids)
}

/// What the organisation with id `m` on the later side was on the earlier
/// side, and the ids the earlier side saw it change to ([`moved_on`]):
/// found under `m` or, when the earlier side does not know `m` (an id
/// change it does not know, or knows to another id), under the first id
/// it had before that the earlier side knows.
fn seen_earlier<'s>(m: &str, before: Before<'s>, after: &State) -> Option<(&'s Org, Vec<&'s str>)> {
    let o = after.orgs.get(m)?;
    former_ids(m, o, after).into_iter().find_map(|id| {
        let seen = before.org(id)?;
        Some(moved_on(seen, after.orgs.get(id).unwrap_or(o), before))
    })
}

/// The key of a fact the later side lacks, under the id the organisation
/// had when an event in the window ended it (or when the record a
/// correction in the window withdrew ended it): of `ids`, its ids now and
/// back through id changes, the first such an event names; `now`
/// otherwise.
fn ended_under<'k>(
    ids: &[&'k str],
    now: &'k str,
    cx: &Cx<'_>,
    key: impl Fn(&'k str) -> Key<'k>,
) -> Key<'k> {
    (ids.iter())
        .map(|c| key(c))
        .find(|k| cx.ended_by.contains_key(k) || cx.unended_by.contains_key(k))
        .unwrap_or_else(|| key(now))
}

/// `key`, unless the event in the window that ended the fact it names
/// comes after `end` (in timeline order: first day, then seq): then the
/// fact held on the earlier side went with `end`, the end of its period,
/// and the event ended the same fact held again in a later period.
fn ended_first<'k>(cx: &Cx<'_>, key: &'k Key<'k>, end: Option<&Stamp>) -> Option<&'k Key<'k>> {
    let later = |e: &Stamp| {
        (cx.ended_by.get(key))
            .is_some_and(|(seq, date)| (date.start(), *seq) > (e.date.start(), e.seq))
    };
    match end {
        Some(e) if later(e) => None,
        _ => Some(key),
    }
}

#[allow(clippy::too_many_arguments)]
fn compare_facts(
    id: &str,
    b: Option<&Org>,
    a: Option<&Org>,
    before: Before<'_>,
    after: &State,
    cx: &Cx<'_>,
    out: &mut Vec<Change>,
) {
    let Some(a) = a else {
        // Only a knowledge diff can lose an organisation; its retracted
        // creation says it all.
        return;
    };
    // Moved to a new id in between (also after a re-establishment, when
    // the earlier side saw it ended): reported on the new id.
    if let Some(e) = &a.ended
        && e.how == EndHow::Transformed(ChangeMode::IdChange)
        && b.is_none_or(|b| b.ended.as_ref().is_none_or(|seen| seen.at != e.at))
    {
        return;
    }
    let identity = identity(b, a, before, after);
    // Its names and attributes on the earlier side: those of the
    // organisation its id changes led to there, when the later side knows
    // them corrected away (a rename under the new id went with them).
    let seen = identity.map(|o| moved_on(o, a, before));
    let named = seen.as_ref().map(|(o, _)| *o);
    let (base, moved) = match (baseline(identity, a, after), seen) {
        (Some(_), Some((o, moved))) => (Some(o), moved),
        _ => (None, Vec::new()),
    };
    // A knowledge diff whose later side no longer has the period the
    // earlier side saw the organisation in (its re-establishment, or the
    // end before it, was corrected away): the facts of its earlier period
    // that came back with it were known on both sides, and the corrected
    // existence reports their return. So is a fact the later side holds
    // and the earlier did not, known then and dated before that period.
    let came_back = |held: Option<&Stamp>| {
        matches!(cx.fresh, Fresh::Above(_))
            && held.is_some_and(|s| {
                !cx.is_fresh(s)
                    && base.is_some_and(|o| {
                        o.since != a.since
                            && (s.date.start(), s.seq) < (o.since.date.start(), o.since.seq)
                    })
            })
    };
    // A fact held on both sides, the later side's come back that way and
    // the earlier side's stated by a record the later side corrects: two
    // facts, not one redated. The earlier side's went with its period,
    // corrected away, and is reported so; the later side's is not reported
    // again, unless what ended it in the earlier period was corrected away
    // too (see `came_back`). (A figure is a value, not a fact held: its
    // change is its report.)
    let returned =
        |sb: &Stamp, sa: &Stamp| cx.corrections.contains_key(&sb.seq) && came_back(Some(sa));
    // Its ids, back through id changes (needed only for a fact the later
    // side lacks), then those the earlier side moved its facts to.
    let containers = std::cell::OnceCell::new();
    let former = || {
        containers
            .get_or_init(|| {
                let mut ids = former_ids(id, a, after);
                for m in &moved {
                    if !ids.contains(m) {
                        ids.push(m);
                    }
                }
                ids
            })
            .as_slice()
    };
    let creation = first_since(a).seq;
    // The end of the period the earlier side saw, when the organisation was
    // re-established since: the facts of that period that the later side
    // lacks went away with it (the new period starts afresh).
    let gone_with = |present: bool| {
        let b = base.filter(|_| !present)?;
        // Under whichever of its ids it was re-established: an id change
        // moves the facts and the current period's start, not the periods.
        (former().iter())
            .filter(|c| !moved.contains(c))
            .filter_map(|c| after.orgs.get(c))
            .filter(|later| later.since != b.since)
            .find_map(|later| period_end(later, Some(&b.since)))
            .map(|e| &e.at)
    };
    // Name.
    let old_name = named.map_or_else(|| a.names.first().map_or(&a.name, |n| &n.name), |o| &o.name);
    if *old_name == a.name {
        // The same names, given by renames a correction redates: the
        // current name's, and the former names' (each taken on a date).
        let before_names = named.map_or(&[][..], |o| o.names.as_slice());
        if before_names.len() == a.names.len()
            && before_names
                .iter()
                .zip(&a.names)
                .all(|(x, y)| x.name == y.name)
        {
            // The first name is the founding one: its date is the creation's.
            for (x, y) in before_names.iter().zip(&a.names).skip(1) {
                let what = Detail::Org {
                    org: id.to_owned(),
                    name: y.name.to_string(),
                };
                out.extend(fact_redated(cx, Kind::Renamed, &x.since, &y.since, what));
            }
        }
    } else {
        let old_stamp = named.and_then(|o| o.names.last()).map(|n| &n.since);
        let new_stamp = a.names.last().map(|n| &n.since);
        out.push(change(
            Kind::Renamed,
            cx.cause(old_stamp, new_stamp, None, None),
            Detail::Value {
                org: id.to_owned(),
                key: None,
                old: Some(old_name.to_string()),
                new: Some(a.name.to_string()),
            },
        ));
    }
    let no_attrs = Small::new();
    let no_sites = Small::new();
    let no_labels = Small::new();
    let no_figures = Small::new();
    let no_roles = Small::new();
    let no_parties = Small::new();
    // Attributes: they carry over a re-establishment, as the names do.
    for (key, vb, va) in differing(named.map_or(&no_attrs, |o| &o.attrs).iter(), a.attrs.iter()) {
        if named.is_none() && va.is_some_and(|v| v.since.seq == creation) {
            continue;
        }
        if vb.map(|v| &v.value) == va.map(|v| &v.value) {
            continue;
        }
        let k = ended_under(former(), id, cx, |c| Key::Attr(c, key));
        out.push(change(
            Kind::AttributeChanged,
            cx.cause(vb.map(|v| &v.since), va.map(|v| &v.since), Some(&k), None),
            Detail::Value {
                org: id.to_owned(),
                key: Some(key.to_string()),
                old: vb.map(|v| v.value.to_string()),
                new: va.map(|v| v.value.to_string()),
            },
        ));
    }
    // Sites.
    let sites = differing(base.map_or(&no_sites, |o| &o.sites).iter(), a.sites.iter());
    for (site, sb, sa) in apart(sites, |b, a| returned(b, a)) {
        let detail = || Detail::Site {
            org: id.to_owned(),
            site: site.to_string(),
        };
        if let (Some(sb), Some(sa)) = (sb, sa) {
            out.extend(fact_redated(cx, Kind::SiteOpened, sb, sa, detail()));
            continue;
        }
        let k = ended_under(former(), id, cx, |c| Key::Site(c, site));
        if sb.is_none() && !cx.unended_by.contains_key(&k) && came_back(sa) {
            continue;
        }
        let end = gone_with(sa.is_some());
        out.push(set_change(
            sa.is_some(),
            Kind::SiteOpened,
            Kind::SiteClosed,
            cx.cause(sb, sa, ended_first(cx, &k, end), end),
            detail(),
        ));
    }
    // Labels.
    let labels = differing(
        base.map_or(&no_labels, |o| &o.labels).iter(),
        a.labels.iter(),
    );
    for (label, lb, la) in apart(labels, |b, a| returned(&b.since, &a.since)) {
        let detail = || Detail::Label {
            holder: id.to_owned(),
            label: label.to_string(),
            by: la.or(lb).and_then(|l| l.by.as_deref().map(str::to_owned)),
        };
        if let (Some(lb), Some(la)) = (lb, la) {
            let redated = fact_redated(cx, Kind::LabelGranted, &lb.since, &la.since, detail());
            out.extend(redated);
            continue;
        }
        let k = ended_under(former(), id, cx, |c| Key::Label(c, label));
        if lb.is_none() && !cx.unended_by.contains_key(&k) && came_back(la.map(|l| &l.since)) {
            continue;
        }
        let end = gone_with(la.is_some());
        out.push(set_change(
            la.is_some(),
            Kind::LabelGranted,
            Kind::LabelWithdrawn,
            cx.cause(
                lb.map(|l| &l.since),
                la.map(|l| &l.since),
                ended_first(cx, &k, end),
                end,
            ),
            detail(),
        ));
    }
    // Roles.
    let flat = |roles: &Small<CompactString, Small<CompactString, Stamp>>| -> BTreeMap<(String, String), Stamp> {
        roles
            .iter()
            .flat_map(|(r, people)| {
                people
                    .iter()
                    .map(|(p, s)| ((r.to_string(), p.to_string()), s.clone()))
            })
            .collect()
    };
    let (rb, ra) = (flat(base.map_or(&no_roles, |o| &o.roles)), flat(&a.roles));
    for ((role, person), sb, sa) in apart(differing(&rb, &ra), |b, a| returned(b, a)) {
        let detail = || Detail::Role {
            org: id.to_owned(),
            role: role.clone(),
            person: person.clone(),
        };
        if let (Some(sb), Some(sa)) = (sb, sa) {
            out.extend(fact_redated(cx, Kind::RoleStarted, sb, sa, detail()));
            continue;
        }
        let k = ended_under(former(), id, cx, |c| Key::Role(c, role, person));
        if sb.is_none() && !cx.unended_by.contains_key(&k) && came_back(sa) {
            continue;
        }
        let end = gone_with(sa.is_some());
        out.push(set_change(
            sa.is_some(),
            Kind::RoleStarted,
            Kind::RoleEnded,
            cx.cause(sb, sa, ended_first(cx, &k, end), end),
            detail(),
        ));
    }
    // Members and partners. A member organisation that changed id in
    // between is the same member under its new id when the membership
    // came with it (the same stamp: the id change moves it whole); the id
    // change reports it. Either way: a knowledge diff can also learn that
    // an id change was retracted.
    for relation in [Relation::Member, Relation::Partner] {
        let pb = base.map_or(&no_parties, |o| o.relations(relation));
        let pa = a.relations(relation);
        // The parties of one side only: where a membership may have
        // changed id (usually none).
        let only = |x: &'_ Small<Party, Stamp>, y: &Small<Party, Stamp>| -> Vec<(Party, Stamp)> {
            (x.iter())
                .filter(|(p, _)| !y.contains_key(p))
                .map(|(p, s)| (p.clone(), s.clone()))
                .collect()
        };
        let (gone, came) = (only(pb, pa), only(pa, pb));
        // The later party of a membership held on the earlier side, when
        // it is the same membership under an id the id change gave it (or
        // that the later side knows the id change was retracted from).
        let carried = |p: &Party, s: &Stamp| -> Option<Party> {
            let same = |q: &Party| came.iter().any(|(c, t)| c == q && t == s);
            party_now(p, |id| after.orgs.get(id))
                .filter(|q| same(q))
                .or_else(|| {
                    (came.iter())
                        .find(|(q, t)| {
                            t == s && party_now(q, |id| before.org(id)).as_ref() == Some(p)
                        })
                        .map(|(q, _)| q.clone())
                })
        };
        let renamed: Vec<(Party, Party)> = if came.is_empty() {
            Vec::new()
        } else {
            (gone.iter())
                .filter_map(|(p, s)| Some((p.clone(), carried(p, s)?)))
                .collect()
        };
        let moved: Small<Party, Stamp>;
        let pb = if renamed.is_empty() {
            pb
        } else {
            moved = (pb.iter())
                .map(|(p, s)| {
                    let now = renamed
                        .iter()
                        .find(|(from, _)| from == p)
                        .map(|(_, to)| to.clone());
                    (now.unwrap_or_else(|| p.clone()), s.clone())
                })
                .collect();
            &moved
        };
        for (party, sb, sa) in apart(differing(pb.iter(), pa.iter()), |b, a| returned(b, a)) {
            if let (Some(sb), Some(sa)) = (sb, sa) {
                let detail = Detail::Membership {
                    org: id.to_owned(),
                    member: party.clone(),
                    relation,
                };
                out.extend(fact_redated(cx, Kind::Joined, sb, sa, detail));
                continue;
            }
            // A member that changed id and then left, or ended, left
            // under the id it held then; and a `left` names the container
            // by the id it had then.
            let later = match sa {
                None => left_as(former(), party, relation, before, after, cx),
                Some(_) => None,
            };
            // A membership back because its `left` was corrected away:
            // that `left` may name the container, or the member, by an id
            // it had then.
            let back = match sa {
                // (Only a knowledge diff knows of corrections in between.)
                Some(_) if !cx.unended_by.is_empty() => {
                    let containers = former();
                    let members: Vec<Party> = match party {
                        // Its ids, back through id changes, then those the
                        // earlier side saw it change to (a `left` under one).
                        Party::Org(m) => after.orgs.get(m.as_str()).map_or_else(
                            || vec![party.clone()],
                            |o| {
                                let mut ids = former_ids(m, o, after);
                                for moved in
                                    seen_earlier(m, before, after).map_or(Vec::new(), |s| s.1)
                                {
                                    if !ids.contains(&moved) {
                                        ids.push(moved);
                                    }
                                }
                                ids.into_iter().map(|i| Party::Org(i.into())).collect()
                            },
                        ),
                        Party::Name(_) => vec![party.clone()],
                    };
                    members.into_iter().find_map(|p| {
                        (containers.iter())
                            .position(|c| cx.unended_by.contains_key(&Key::Member(c, &p, relation)))
                            .map(|c| (c, p))
                    })
                }
                _ => None,
            };
            if sb.is_none() && back.is_none() && came_back(sa) {
                continue;
            }
            let ids = || containers.get().map_or(&[][..], Vec::as_slice);
            let (container, keyed, ended_at) = match (&later, &back) {
                (Some((c, p, e)), _) => (ids().get(*c).copied().unwrap_or(id), p, *e),
                (None, Some((c, p))) => (ids().get(*c).copied().unwrap_or(id), p, None),
                (None, None) => (id, party, None),
            };
            // The member as it left; as it is, when back.
            let party = if sa.is_some() { party } else { keyed };
            let k = Key::Member(container, keyed, relation);
            // A member organisation that ended leaves with its end, and
            // is back when that end is corrected away: its end on the
            // side that lacks the membership.
            let end = ended_at
                .or_else(|| {
                    match party {
                        Party::Org(m) if sa.is_none() => after.orgs.get(m.as_str()),
                        // As the earlier side saw it end: under the id
                        // its id changes led to there, if corrected away.
                        Party::Org(m) => seen_earlier(m, before, after)
                            .map(|s| s.0)
                            .or_else(|| before.org(m.as_str())),
                        Party::Name(_) => None,
                    }
                    .and_then(|o| o.ended.as_ref())
                    .map(|e| &e.at)
                })
                // Or with the end of the container's period the earlier
                // side knows (re-established since).
                .or_else(|| gone_with(sa.is_some()));
            out.push(set_change(
                sa.is_some(),
                Kind::Joined,
                Kind::Left,
                cx.cause(sb, sa, Some(&k), end),
                Detail::Membership {
                    org: id.to_owned(),
                    member: party.clone(),
                    relation,
                },
            ));
        }
    }
    // Figures.
    for (name, fb, fa) in differing(
        base.map_or(&no_figures, |o| &o.figures).iter(),
        a.figures.iter(),
    ) {
        if fb.is_none() && came_back(fa.map(|f| &f.at)) {
            // Unless the earlier period ended with a later figure, which a
            // correction took away: that is the change.
            let later = |f: &&crate::fold::Figure| {
                fa.is_some_and(|fa| (f.at.date.start(), f.at.seq) > (fa.at.date.start(), fa.at.seq))
            };
            let taken = (former().iter())
                .find_map(|c| cx.refigured.get(&(*c, name.as_str())))
                .filter(later);
            if let Some(old) = taken {
                out.push(figure_change(id, name, Some(old), fa, None, cx));
            }
            continue;
        }
        out.push(figure_change(id, name, fb, fa, gone_with(fa.is_some()), cx));
    }
}

fn figure_change(
    id: &str,
    name: &str,
    fb: Option<&crate::fold::Figure>,
    fa: Option<&crate::fold::Figure>,
    end: Option<&Stamp>,
    cx: &Cx<'_>,
) -> Change {
    let value = |f: &crate::fold::Figure| FigureValue {
        value: f.value,
        date: f.at.date.to_string(),
    };
    change(
        Kind::Figures,
        cx.cause(fb.map(|f| &f.at), fa.map(|f| &f.at), None, end),
        Detail::Figure {
            org: id.to_owned(),
            figure: name.to_owned(),
            old: fb.map(value),
            new: fa.map(value),
        },
    )
}

fn compare_programs(before: Before<'_>, after: &State, cx: &Cx<'_>, out: &mut Vec<Change>) {
    for (id, b, a) in differing(before.programs(), &after.programs) {
        let Some(p) = a.or(b) else { continue };
        let detail = || Detail::Program {
            program: id.to_string(),
            name: p.name.to_string(),
            owner: p.owner.to_string(),
        };
        match (b, a) {
            (None, Some(a)) => out.push(change(
                Kind::ProgramLaunched,
                cx.cause(None, Some(&a.since), None, None),
                detail(),
            )),
            (Some(b), None) => out.push(change(
                Kind::ProgramLaunched,
                cx.cause(Some(&b.since), None, None, None),
                detail(),
            )),
            (Some(b), Some(a)) => {
                out.extend(fact_redated(
                    cx,
                    Kind::ProgramLaunched,
                    &b.since,
                    &a.since,
                    detail(),
                ));
            }
            _ => {}
        }
        let (eb, ea) = (
            b.and_then(|p| p.ended.as_ref()),
            a.and_then(|p| p.ended.as_ref()),
        );
        if eb.map(|s| s.seq) != ea.map(|s| s.seq) && a.is_some() {
            out.push(change(
                Kind::ProgramEnded,
                cx.cause(eb, ea, None, None),
                detail(),
            ));
        }
        let none = Small::new();
        let (fb, fa) = (
            b.map_or(&none, |p| &p.figures),
            a.map_or(&none, |p| &p.figures),
        );
        for (name, x, y) in differing(fb.iter(), fa.iter()) {
            out.push(figure_change(id, name, x, y, None, cx));
        }
    }
}

/// Plans listed on the later side that were not listed on the earlier one
/// (`plan_stated`), or whose status differs (`plan_status`).
/// `superseded` names, by supersede seq, the record a replacement plan
/// superseded (see [`Cx::superseded`]).
fn plan_changes(
    before: (&Knowledge<'_>, NaiveDate),
    after: (&Knowledge<'_>, NaiveDate),
    superseded: &HashMap<u64, u64>,
) -> Vec<Change> {
    let (kb, db) = before;
    let (ka, da) = after;
    // Each plan's status before, and the record that closed it then.
    let old: HashMap<u64, (PlanStatus, Option<u64>)> = kb
        .plans
        .iter()
        .filter(|p| p.stated.counts_on(db))
        .map(|p| {
            let closer = p.fulfilled_on(db).or_else(|| p.abandoned_on(db));
            (p.seq, (p.status_on(db), closer.map(|f| f.seq)))
        })
        .collect();
    let mut out = Vec::new();
    for p in ka.plans.iter().filter(|p| p.stated.counts_on(da)) {
        let new = p.status_on(da);
        let (was, closer) = old.get(&p.seq).copied().unzip();
        if was == Some(new) {
            continue;
        }
        // A correction that withdrew what closed it (in a diff of two
        // states of knowledge) caused the change.
        let withdrawn = closer
            .flatten()
            .and_then(|f| Some((ka.corrections.get(&f)?.seq, f)));
        let (seqs, date) = match new {
            // Stated in the window: then what it superseded, and what
            // settled it by the end of the window.
            _ if was.is_none() => (
                std::iter::once(p.seq)
                    .chain(superseded.get(&p.seq).copied())
                    .chain(p.settled_on(da))
                    .collect(),
                p.stated.clone(),
            ),
            PlanStatus::Fulfilled | PlanStatus::Abandoned => {
                let now = match new {
                    PlanStatus::Fulfilled => p.fulfilled_on(da),
                    _ => p.abandoned_on(da),
                };
                match now {
                    // Then the correction and what it withdrew, if any.
                    Some(f) => {
                        // A replacement's closing has its correction's seq,
                        // which may also be the one that withdrew the old.
                        let mut seqs: Vec<u64> = vec![f.seq, p.seq];
                        for s in withdrawn.into_iter().flat_map(|(c, w)| [c, w]) {
                            if !seqs.contains(&s) {
                                seqs.push(s);
                            }
                        }
                        (seqs, f.date.clone())
                    }
                    None => (vec![p.seq], p.planned.date.clone()),
                }
            }
            PlanStatus::Retracted | PlanStatus::Superseded => match p.corrected {
                Some(c) => (vec![c.seq, p.seq], p.planned.date.clone()),
                None => (vec![p.seq], p.planned.date.clone()),
            },
            PlanStatus::Overdue | PlanStatus::Pending => {
                // Overdue from the first day after its planned period.
                let date = match new {
                    PlanStatus::Overdue => (p.planned.date.end().succ_opt())
                        .map_or_else(|| p.planned.date.clone(), Date::from_day),
                    _ => p.planned.date.clone(),
                };
                match withdrawn {
                    Some((c, f)) => (vec![c, f, p.seq], date),
                    None => (vec![p.seq], date),
                }
            }
        };
        out.push(Change {
            kind: if was.is_none() {
                Kind::PlanStated
            } else {
                Kind::PlanStatus
            },
            seq: seqs.first().copied().unwrap_or(p.seq),
            seqs,
            date,
            retracted: false,
            correction: None,
            detail: Detail::Plan {
                plan: p.seq,
                event_type: p.planned.type_name(),
                summary: p.planned.summary(),
                planned_date: p.planned.date.to_string(),
                old: was,
                new,
            },
        });
    }
    out
}

// ---------------------------------------------------------------------------
// Renderers
// ---------------------------------------------------------------------------

fn side_text(s: &Side) -> String {
    format!("seq {} ({})", s.known_at.seq, short_hash(&s.known_at.hash))
}

/// One line describing a change, without date, kind or seqs.
pub fn describe(c: &Change) -> String {
    describe_detail(&c.detail)
}

fn describe_detail(detail: &Detail) -> String {
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map_or("(none)".to_owned(), |s| format!("\"{s}\""))
    };
    match detail {
        Detail::Org { org, name } => format!("{org} \"{name}\""),
        Detail::Transform {
            mode,
            from,
            to,
            new,
        } => {
            let mut s = format!(
                "{} → {} ({}",
                from.join(" + "),
                to.join(" + "),
                mode.as_str()
            );
            if !new.is_empty() {
                let _ = write!(s, "; new: {}", new.join(", "));
            }
            s.push(')');
            s
        }
        Detail::Value { org, key, old, new } => match key {
            Some(k) => format!("{org}.{k}: {} → {}", opt(old), opt(new)),
            None => format!("{org}: {} → {}", opt(old), opt(new)),
        },
        Detail::Label { holder, label, by } => {
            let mut s = format!("\"{label}\" — {holder}");
            if let Some(b) = by {
                let _ = write!(s, " (by {b})");
            }
            s
        }
        Detail::Candidacy {
            candidate,
            label,
            old,
            new,
        } => {
            let w = |s: &Option<CandidacyStatus>| match s {
                None => "(none)",
                Some(CandidacyStatus::Filed) => "filed",
                Some(CandidacyStatus::Refused) => "refused",
                Some(CandidacyStatus::Withdrawn) => "withdrawn",
            };
            format!("{candidate} for \"{label}\": {} → {}", w(old), w(new))
        }
        Detail::Program {
            program,
            name,
            owner,
        } => format!("{program} \"{name}\" by {owner}"),
        Detail::Site { org, site } => format!("{org} at \"{site}\""),
        Detail::Role { org, role, person } => format!("\"{person}\" {role} of {org}"),
        Detail::Membership {
            org,
            member,
            relation,
        } => {
            let r = match relation {
                Relation::Member => "member",
                Relation::Partner => "partner",
            };
            format!("{member} {r} of {org}")
        }
        Detail::Figure {
            org,
            figure,
            old,
            new,
        } => {
            let v = |f: &Option<FigureValue>| {
                f.as_ref()
                    .map_or("(none)".to_owned(), |f| format!("{} ({})", f.value, f.date))
            };
            format!("{org} {figure}: {} → {}", v(old), v(new))
        }
        Detail::Fact { what, old, new, .. } => {
            format!("{}: \"{old}\" → \"{new}\"", describe_detail(what))
        }
        Detail::Plan {
            plan,
            summary,
            planned_date,
            old,
            new,
            event_type,
        } => {
            let status = match old {
                Some(o) => format!("{} → {}", o.as_str(), new.as_str()),
                None => new.as_str().to_owned(),
            };
            format!("plan seq {plan}, for {planned_date}: {event_type} {summary}: {status}")
        }
    }
}

/// The diff as text: a header, the summary counts, then one line per
/// change: date, kind, what, and the causing seqs.
pub fn render_text(d: &Diff) -> String {
    let mut out = String::new();
    if d.from.known_at == d.to.known_at && !d.knowledge {
        let _ = writeln!(
            out,
            "diff {} → {}, as known at {}",
            d.from.as_of,
            d.to.as_of,
            side_text(&d.to)
        );
    } else if d.from.as_of == d.to.as_of {
        let _ = writeln!(
            out,
            "diff as of {}: known at {} → known at {}",
            d.to.as_of,
            side_text(&d.from),
            side_text(&d.to)
        );
    } else {
        let _ = writeln!(
            out,
            "diff {} (known at {}) → {} (known at {})",
            d.from.as_of,
            side_text(&d.from),
            d.to.as_of,
            side_text(&d.to)
        );
    }
    if d.summary.total == 0 {
        out.push_str("summary: no changes\n");
        unlisted_text(&mut out, d);
        return out;
    }
    let counts: Vec<String> = d
        .summary
        .by_kind
        .iter()
        .map(|(k, n)| format!("{n} {}", k.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "summary: {} change{}: {}",
        d.summary.total,
        if d.summary.total == 1 { "" } else { "s" },
        counts.join(", ")
    );
    out.push('\n');
    let date_w = d
        .changes
        .iter()
        .map(|c| c.date.as_str().chars().count())
        .max()
        .unwrap_or(0);
    let kind_w = d
        .changes
        .iter()
        .map(|c| c.kind.as_str().len())
        .max()
        .unwrap_or(0);
    for c in &d.changes {
        let seqs = if c.retracted {
            let verb = match c.correction {
                Some(CorrectionMode::Supersede) => "supersedes",
                _ => "retracts",
            };
            match c.seqs.as_slice() {
                [corr, target, ..] => format!("[seq {corr} {verb} seq {target}]"),
                _ => format!("[seq {}, retracted]", c.seq),
            }
        } else {
            let list: Vec<String> = c.seqs.iter().map(u64::to_string).collect();
            format!("[seq {}]", list.join(", "))
        };
        // A fact withdrawn says so: its line names it as it was held.
        let what = if c.retracted { "retracted: " } else { "" };
        let _ = writeln!(
            out,
            "{:<date_w$}  {:<kind_w$}  {what}{}  {seqs}",
            c.date.as_str(),
            c.kind.as_str(),
            crate::view::one_line(&describe(c)),
        );
    }
    unlisted_text(&mut out, d);
    out
}

/// The closing note of [`render_text`] on [`Diff::unlisted`], if any: how
/// many, and the first seqs.
fn unlisted_text(out: &mut String, d: &Diff) {
    const SHOWN: usize = 20;
    let n = d.unlisted.len();
    if n == 0 {
        return;
    }
    let mut seqs: Vec<String> = d.unlisted.iter().take(SHOWN).map(u64::to_string).collect();
    if n > SHOWN {
        seqs.push("…".into());
    }
    let s = if n == 1 { "" } else { "s" };
    let seqs = seqs.join(", ");
    if d.knowledge {
        let _ = writeln!(
            out,
            "\n{n} record{s} known at seq {} but not at seq {} changed nothing that differs about {} (undone or overtaken by another record, or of a kind a diff does not list): seq {seqs} (`fusion log --seq N` shows one)",
            d.to.known_at.seq, d.from.known_at.seq, d.to.as_of,
        );
        return;
    }
    let _ = writeln!(
        out,
        "\n{n} event{s} between the two days changed nothing that differs between them (undone or overtaken before {}, or of a kind a diff does not list): seq {seqs} (`fusion log --seq N` shows one)",
        d.to.as_of,
    );
}

/// The diff as pretty JSON (an object with `from`, `to`, `summary` and
/// `changes`; see the README), with a final newline.
pub fn render_json(d: &Diff) -> String {
    // Serialising plain data with string keys cannot fail.
    let mut s = serde_json::to_string_pretty(d).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes what [`render_json`] gives, as it is serialised.
pub fn write_json(d: &Diff, mut out: impl std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut out, d)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Entry;
    use serde_json::{Value, json};

    fn hash(seq: u64) -> String {
        format!("{seq:064x}")
    }

    /// Record `seq` of a test ledger, holding `event`.
    fn entry(seq: u64, event: Event) -> Entry {
        Entry {
            seq,
            hash: hash(seq),
            recorded: "2026-01-01T00:00:00Z".into(),
            event,
        }
    }

    /// A ledger from events, each validated against the records before it
    /// (so the givens are histories `append` would accept).
    fn ledger(events: Vec<Value>) -> Vec<Entry> {
        ledger_then(events, Vec::new())
    }

    /// [`ledger`], then `batch` appended as one batch, validated whole (as
    /// `append` validates a file: corrections that only hold together).
    fn ledger_then(events: Vec<Value>, batch: Vec<Value>) -> Vec<Entry> {
        let mut entries = ledger_of(events);
        let first = entries.len() as u64 + 1;
        let batch: Vec<Event> = (batch.into_iter())
            .map(|mut v| {
                v["sources"] = json!([{"doc": "test"}]);
                Event::from_json(&v).expect("event")
            })
            .collect();
        crate::fold::validate(&entries, &batch, first)
            .unwrap_or_else(|e| panic!("batch invalid: {e}"));
        entries.extend((first..).zip(batch).map(|(seq, e)| entry(seq, e)));
        entries
    }

    fn ledger_of(events: Vec<Value>) -> Vec<Entry> {
        let mut entries: Vec<Entry> = Vec::new();
        for (i, mut v) in events.into_iter().enumerate() {
            v["sources"] = json!([{"doc": "test"}]);
            if let Some(p) = v.get_mut("planned") {
                p["sources"] = json!([{"doc": "test"}]);
            }
            if let Some(r) = v.get_mut("replacement") {
                r["sources"] = json!([{"doc": "test"}]);
            }
            let event = Event::from_json(&v).unwrap_or_else(|e| panic!("event {}: {e}", i + 1));
            let seq = i as u64 + 1;
            crate::fold::validate(&entries, std::slice::from_ref(&event), seq)
                .unwrap_or_else(|e| panic!("event {seq} invalid: {e}"));
            entries.push(entry(seq, event));
        }
        entries
    }

    fn day(s: &str) -> NaiveDate {
        crate::date::as_of_day(s).expect("valid day")
    }

    fn dates(entries: &[Entry], from: &str, to: &str) -> Diff {
        let k = Knowledge::new(entries, u64::MAX);
        diff_dates(&k, "h", day(from), day(to)).expect("diff")
    }

    fn knowledge(entries: &[Entry], at: &str, a: u64, b: u64) -> Diff {
        let (ka, kb) = (Knowledge::new(entries, a), Knowledge::new(entries, b));
        diff_knowledge(&ka, &hash(a), &kb, &hash(b), day(at)).expect("diff")
    }

    fn only(d: &Diff, kind: Kind) -> Vec<&Change> {
        d.changes.iter().filter(|c| c.kind == kind).collect()
    }

    /// A correction, dated 2020, retracting the record at `seq`.
    fn retract(seq: u64) -> Value {
        json!({"type": "correction", "date": "2020", "target": hash(seq), "mode": "retract", "reason": "r"})
    }

    fn org(id: &str, date: &str) -> Value {
        json!({"type": "created", "date": date, "id": id, "name": id.to_uppercase(), "kind": "cluster"})
    }

    /// Every kind a diff of two dates can report, each from one event in
    /// the window (2010, 2020].
    fn landscape() -> Vec<Entry> {
        ledger(vec![
            /* 1 */
            json!({"type": "created", "date": "2000", "id": "x", "name": "X", "kind": "cluster", "attrs": {"seat": "Lyon"}}),
            /* 2 */ org("a", "2000"),
            /* 3 */ org("b", "2000"),
            /* 4 */ org("c", "2000"),
            /* 5 */ org("d", "2000"),
            /* 6 */
            json!({"type": "label_granted", "date": "2005", "label": "Old", "holder": "x"}),
            /* 7 */
            json!({"type": "site_opened", "date": "2005", "org": "x", "site": "Roanne"}),
            /* 8 */
            json!({"type": "role_started", "date": "2005", "org": "x", "person": "Ann", "role": "director"}),
            /* 9 */
            json!({"type": "joined", "date": "2005", "org": "x", "member": {"name": "Acme"}, "relation": "member"}),
            /* 10 */
            json!({"type": "figures", "date": "2005", "org": "x", "values": {"members": 100}}),
            /* 11 */
            json!({"type": "program_launched", "date": "2005", "program": "p-old", "name": "Old call", "owner": "x"}),
            /* 12 */
            json!({"type": "planned", "date": "2009", "planned": {"type": "dissolved", "date": "2011", "org": "d"}}),
            // The window.
            /* 13 */ org("e", "2012"),
            /* 14 */
            json!({"type": "transformed", "mode": "fusion", "date": "2013-05", "from": ["a", "b"], "to": ["ab"],
                            "new": [{"id": "ab", "name": "AB", "kind": "cluster"}]}),
            /* 15 */
            json!({"type": "transformed", "mode": "absorption", "date": "2014", "from": ["c"], "to": ["ab"]}),
            /* 16 */
            json!({"type": "transformed", "mode": "split", "date": "2015", "from": ["d"], "to": ["d1", "d2"],
                            "new": [{"id": "d1", "name": "D1", "kind": "cluster"}, {"id": "d2", "name": "D2", "kind": "cluster"}]}),
            /* 17 */
            json!({"type": "transformed", "mode": "spin_off", "date": "2015-06", "from": ["ab"], "to": ["ab-lab"],
                            "new": [{"id": "ab-lab", "name": "AB Lab", "kind": "lab"}]}),
            /* 18 */
            json!({"type": "transformed", "mode": "reestablishment", "date": "2016", "from": ["ab"], "to": ["c"]}),
            /* 19 */
            json!({"type": "transformed", "mode": "id_change", "date": "2016-06", "from": ["e"], "to": ["e2"]}),
            /* 20 */
            json!({"type": "renamed", "date": "2017", "org": "ab", "name": "AB Group"}),
            /* 21 */ json!({"type": "dissolved", "date": "2018", "org": "d1"}),
            /* 22 */
            json!({"type": "attribute_set", "date": "2017", "org": "x", "key": "seat", "value": "Grenoble"}),
            /* 23 */
            json!({"type": "label_withdrawn", "date": "2017", "label": "Old", "holder": "x"}),
            /* 24 */
            json!({"type": "label_granted", "date": "2017", "label": "New", "holder": "x", "by": "State"}),
            /* 25 */
            json!({"type": "candidacy", "date": "2017", "label": "New", "candidate": "ab", "status": "filed"}),
            /* 26 */
            json!({"type": "program_launched", "date": "2018", "program": "p-new", "name": "New call", "owner": "x"}),
            /* 27 */ json!({"type": "program_ended", "date": "2018", "program": "p-old"}),
            /* 28 */
            json!({"type": "site_closed", "date": "2018", "org": "x", "site": "Roanne"}),
            /* 29 */
            json!({"type": "site_opened", "date": "2018", "org": "x", "site": "Valence"}),
            /* 30 */
            json!({"type": "role_ended", "date": "2018", "org": "x", "person": "Ann", "role": "director"}),
            /* 31 */
            json!({"type": "role_started", "date": "2018", "org": "x", "person": "Bob", "role": "director"}),
            /* 32 */
            json!({"type": "left", "date": "2019", "org": "x", "member": {"name": "Acme"}, "relation": "member"}),
            /* 33 */
            json!({"type": "joined", "date": "2019", "org": "x", "member": {"org": "ab"}, "relation": "partner"}),
            /* 34 */
            json!({"type": "figures", "date": "2019", "org": "x", "values": {"members": 250}}),
            /* 35 */
            json!({"type": "planned", "date": "2019", "planned": {"type": "dissolved", "date": "2030", "org": "x"}}),
            // After the window.
            /* 36 */
            json!({"type": "renamed", "date": "2021", "org": "x", "name": "X later"}),
        ])
    }

    #[test]
    fn a_diff_of_two_dates_reports_every_kind_with_its_seq() {
        // Given a landscape with one event of each kind in (2010, 2020]
        let entries = landscape();
        // When diffing 2010 and 2020
        let d = dates(&entries, "2010", "2020");
        // Then every kind but `redated` (knowledge diffs only) occurs
        let kinds: Vec<Kind> = d.summary.by_kind.iter().map(|(k, _)| *k).collect();
        let expected: Vec<Kind> = Kind::ALL
            .iter()
            .copied()
            .filter(|k| *k != Kind::Redated)
            .collect();
        assert_eq!(kinds, expected);
        // and each change names the event that caused it
        let seq_of = |kind: Kind| -> Vec<u64> { only(&d, kind).iter().map(|c| c.seq).collect() };
        assert_eq!(seq_of(Kind::Created), vec![13]);
        assert_eq!(seq_of(Kind::Merged), vec![14, 15]);
        assert_eq!(seq_of(Kind::Split), vec![16]);
        assert_eq!(seq_of(Kind::SpunOff), vec![17]);
        assert_eq!(seq_of(Kind::Reestablished), vec![18]);
        assert_eq!(seq_of(Kind::IdChanged), vec![19]);
        assert_eq!(seq_of(Kind::Renamed), vec![20]);
        assert_eq!(seq_of(Kind::Dissolved), vec![21]);
        assert_eq!(seq_of(Kind::AttributeChanged), vec![22]);
        assert_eq!(seq_of(Kind::LabelWithdrawn), vec![23]);
        assert_eq!(seq_of(Kind::LabelGranted), vec![24]);
        assert_eq!(seq_of(Kind::Candidacy), vec![25]);
        assert_eq!(seq_of(Kind::ProgramLaunched), vec![26]);
        assert_eq!(seq_of(Kind::ProgramEnded), vec![27]);
        assert_eq!(seq_of(Kind::SiteClosed), vec![28]);
        assert_eq!(seq_of(Kind::SiteOpened), vec![29]);
        assert_eq!(seq_of(Kind::RoleEnded), vec![30]);
        assert_eq!(seq_of(Kind::RoleStarted), vec![31]);
        assert_eq!(seq_of(Kind::Left), vec![32]);
        assert_eq!(seq_of(Kind::Joined), vec![33]);
        assert_eq!(seq_of(Kind::Figures), vec![34]);
        assert_eq!(seq_of(Kind::PlanStated), vec![35]);
        // the plan stated in 2009 for 2011 went overdue: time, not an event
        assert_eq!(seq_of(Kind::PlanStatus), vec![12]);
        assert_eq!(d.summary.total, d.changes.len());
        assert!(d.changes.iter().all(|c| !c.retracted));
    }

    /// Written as it is serialised, the JSON is what `render_json` gives.
    #[test]
    fn the_json_written_is_the_json_rendered() {
        let d = dates(&landscape(), "2010", "2020");
        assert!(d.changes.len() > 20);
        let mut written = Vec::new();
        write_json(&d, &mut written).expect("write");
        assert_eq!(String::from_utf8(written).expect("utf-8"), render_json(&d));
    }

    #[test]
    fn changes_carry_their_details() {
        let d = dates(&landscape(), "2010", "2020");
        let merged = only(&d, Kind::Merged);
        assert_eq!(
            merged[0].detail,
            Detail::Transform {
                mode: ChangeMode::Fusion,
                from: vec!["a".into(), "b".into()],
                to: vec!["ab".into()],
                new: vec!["ab".into()]
            }
        );
        assert_eq!(merged[0].date.as_str(), "2013-05");
        assert_eq!(
            merged[1].detail,
            Detail::Transform {
                mode: ChangeMode::Absorption,
                from: vec!["c".into()],
                to: vec!["ab".into()],
                new: vec![]
            }
        );
        assert_eq!(
            only(&d, Kind::Split)[0].detail,
            Detail::Transform {
                mode: ChangeMode::Split,
                from: vec!["d".into()],
                to: vec!["d1".into(), "d2".into()],
                new: vec!["d1".into(), "d2".into()]
            }
        );
        assert_eq!(
            only(&d, Kind::Renamed)[0].detail,
            Detail::Value {
                org: "ab".into(),
                key: None,
                old: Some("AB".into()),
                new: Some("AB Group".into())
            }
        );
        assert_eq!(
            only(&d, Kind::Figures)[0].detail,
            Detail::Figure {
                org: "x".into(),
                figure: "members".into(),
                old: Some(FigureValue {
                    value: 100,
                    date: "2005".into()
                }),
                new: Some(FigureValue {
                    value: 250,
                    date: "2019".into()
                }),
            }
        );
        assert_eq!(
            only(&d, Kind::AttributeChanged)[0].detail,
            Detail::Value {
                org: "x".into(),
                key: Some("seat".into()),
                old: Some("Lyon".into()),
                new: Some("Grenoble".into())
            }
        );
        // The id change moves facts to the new id without reporting them
        // as withdrawn from `e` and granted to `e2`.
        assert!(
            d.changes
                .iter()
                .all(|c| !matches!(&c.detail, Detail::Org { org, .. } if org == "e2"))
        );
        // Nothing after TO counts.
        assert!(d.changes.iter().all(|c| c.seq != 36));
    }

    #[test]
    fn events_undone_within_the_window_are_listed_apart_from_the_changes() {
        // Given an attribute set then unset and a rename undone, between
        // the two days, then a rename that stays
        let entries = ledger(vec![
            json!({"type": "created", "date": "2000", "id": "c", "name": "C", "kind": "commune"}),
            json!({"type": "attribute_set", "date": "2017", "org": "c", "key": "pop", "value": "100"}),
            json!({"type": "renamed", "date": "2017-03", "org": "c", "name": "C-bis"}),
            json!({"type": "attribute_set", "date": "2018", "org": "c", "key": "pop", "value": null}),
            json!({"type": "renamed", "date": "2018-03", "org": "c", "name": "C"}),
            json!({"type": "renamed", "date": "2018-06", "org": "c", "name": "D"}),
        ]);
        let k = Knowledge::new(&entries, u64::MAX);
        // when the two days are compared
        let d = diff_dates(&k, "h", day("2016"), day("2019")).expect("diff");
        // then the rename that stays is the one change, and the four events
        // that left nothing to compare are named apart, in text and JSON
        assert_eq!(d.changes.len(), 1, "{d:?}");
        assert_eq!((d.changes[0].kind, d.changes[0].seq), (Kind::Renamed, 6));
        assert_eq!(d.unlisted, vec![2, 3, 4, 5]);
        assert!(
            render_text(&d).ends_with(
                "\n4 events between the two days changed nothing that differs between them (undone or overtaken before 2019-12-31, or of a kind a diff does not list): seq 2, 3, 4, 5 (`fusion log --seq N` shows one)\n"
            ),
            "{}",
            render_text(&d)
        );
        assert!(
            render_json(&d).contains("\"unlisted\": [\n    2,"),
            "{}",
            render_json(&d)
        );
        // and a window that undoes nothing lists nothing apart
        let d = diff_dates(&k, "h", day("2018-04"), day("2019")).expect("diff");
        assert!(d.unlisted.is_empty() && !render_json(&d).contains("unlisted"));
    }

    #[test]
    fn folding_once_agrees_with_folding_twice() {
        // Given the landscape, when diffing by one fold with a snapshot at FROM
        let entries = landscape();
        let k = Knowledge::new(&entries, u64::MAX);
        for (from, to) in [
            ("2010", "2020"),
            ("2000", "2013-05"),
            ("2015", "2015"),
            ("1999", "2030"),
        ] {
            let once = diff_dates(&k, "h", day(from), day(to)).expect("diff");
            // then it equals comparing two separately folded states
            let cx = dates_cx(&k, from, to);
            let mut twice = compare(&k.fold_until(day(from)), &k.fold_until(day(to)), &cx);
            twice.extend(plan_changes(
                (&k, day(from)),
                (&k, day(to)),
                &HashMap::new(),
            ));
            // (what the window held that no change names aside)
            let twice = Diff {
                unlisted: once.unlisted.clone(),
                ..Diff::new(once.from.clone(), once.to.clone(), twice)
            };
            assert_eq!(once, twice, "{from} → {to}");
        }
    }

    /// What [`diff_folded`] compares two days of `k` with.
    fn dates_cx<'a>(k: &'a Knowledge<'_>, from: &str, to: &str) -> Cx<'a> {
        let window = k
            .timeline
            .iter()
            .filter(|e| !e.event.date.counts_on(day(from)) && e.event.date.counts_on(day(to)))
            .map(|e| (e.seq, e.event));
        Cx {
            fresh: Fresh::After(day(from)),
            corrections: BTreeMap::new(),
            superseded: HashMap::new(),
            ended_by: removals(window),
            unended_by: HashMap::new(),
            refigured: HashMap::new(),
        }
    }

    /// Folds `k` up to `to` as the streaming diff does, keeping past
    /// `from` what [`Earlier`] keeps: the state on `to`, what was kept,
    /// and the events counted in between.
    fn fold_keeping<'a>(
        k: &Knowledge<'a>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> (State, Earlier, Vec<(u64, &'a Event)>) {
        let mut state = State::default();
        let mut earlier = None;
        let mut window = Vec::new();
        for e in k.timeline.iter().take_while(|e| e.event.date.counts_on(to)) {
            if !e.event.date.counts_on(from) {
                let earlier = earlier.get_or_insert_with(|| Earlier::new(&state));
                earlier.note(&state, e.event);
                window.push((e.seq, e.event));
            }
            apply(&mut state, e.seq, e.event);
        }
        let earlier = earlier.unwrap_or_else(|| Earlier::new(&state));
        (state, earlier, window)
    }

    /// Given a generated landscape, when a fold past the earlier day keeps
    /// of it only the organisations that the later events may change
    /// ([`Earlier`]), then the diff is the one of the two whole states, and
    /// fewer organisations were kept than the state holds.
    #[test]
    fn a_diff_from_what_changed_is_the_diff_of_the_whole_states() {
        let entries = crate::generator::test_entries(8000, 5);
        let k = Knowledge::new(&entries, u64::MAX);
        let mut changes = 0;
        for (from, to) in [
            ("1990", "2030"),
            ("2005", "2012"),
            ("2012", "2012"),
            ("1900", "2030"),
        ] {
            let (from, to) = (day(from), day(to));
            let (state, earlier, window) = fold_keeping(&k, from, to);
            if to == day("2012") {
                // Not every organisation changed in those years.
                assert!(earlier.len() < state.orgs.len() / 2, "{from} → {to}");
            }
            let mut counted: Vec<u64> = window.iter().map(|(seq, _)| *seq).collect();
            let kept = diff_earlier(
                &k,
                "h",
                (from, &earlier),
                (to, &state),
                window.into_iter(),
                &mut counted,
            );
            let whole = diff_dates(&k, "h", from, to).expect("diff");
            changes += whole.changes.len();
            assert_eq!(kept, whole, "{from} → {to}");
        }
        assert!(changes > 1000, "{changes}");
    }

    /// Given generated landscapes (organisations ended, re-established,
    /// changing id, their facts ended by events under earlier ids), when
    /// two days are compared, then every change is dated in the window:
    /// after the earlier day, by the later one. (A fact of a period that
    /// ended before the window, or that an event under a former id ended,
    /// was once reported at the record that brought it.)
    #[test]
    fn every_change_of_two_dates_is_dated_between_them() {
        let mut changes = 0;
        for seed in [5, 9, 13] {
            let entries = crate::generator::test_entries(8000, seed);
            let k = Knowledge::new(&entries, u64::MAX);
            for (from, to) in [
                ("1955", "1965"),
                ("1960", "1970"),
                ("1980", "2015"),
                ("1990", "2000"),
                ("2000", "2020"),
                ("2010", "2020"),
            ] {
                let (a, b) = (day(from), day(to));
                let d = diff_dates(&k, "h", a, b).expect("diff");
                changes += d.changes.len();
                for c in &d.changes {
                    assert!(
                        !c.date.counts_on(a) && c.date.counts_on(b),
                        "seed {seed}, {from} → {to}: {} {}",
                        c.date,
                        describe(c)
                    );
                }
            }
        }
        assert!(changes > 10_000, "{changes}");
    }

    /// Given a generated landscape of thousands of organisations, when two
    /// of its days are compared with the organisations cut in two ranges
    /// on two threads, then the changes are those of one walk, in the same
    /// order (a stable sort keeps it for changes of the same event).
    #[test]
    fn comparing_on_two_threads_gives_the_changes_of_one_walk() {
        let entries = crate::generator::test_entries(8000, 9);
        let k = Knowledge::new(&entries, u64::MAX);
        let mut groups = 0;
        for (from, to) in [("1990", "2030"), ("2005", "2012"), ("1900", "2030")] {
            let (before, after) = (k.fold_until(day(from)), k.fold_until(day(to)));
            let cx = dates_cx(&k, from, to);
            let one = compare_with(Before::Whole(&before), &after, &cx, usize::MAX);
            let two = compare_with(Before::Whole(&before), &after, &cx, 0);
            assert!(one.len() > 100, "{}", one.len());
            groups += one
                .iter()
                .filter(|c| matches!(c.detail, Detail::Transform { .. }))
                .count();
            assert_eq!(one, two, "{from} → {to}");
        }
        assert!(groups > 20, "{groups}");
    }

    #[test]
    fn the_same_date_gives_an_empty_diff_and_reversed_dates_are_refused() {
        let entries = landscape();
        let d = dates(&entries, "2016", "2016");
        assert_eq!(d.summary.total, 0);
        assert_eq!(render_text(&d).lines().nth(1), Some("summary: no changes"));
        let k = Knowledge::new(&entries, u64::MAX);
        assert_eq!(
            diff_dates(&k, "h", day("2020"), day("2010")),
            Err(DiffError::Reversed {
                from: day("2020"),
                to: day("2010")
            })
        );
    }

    #[test]
    fn kind_filter_keeps_only_those_kinds_and_recounts() {
        let mut d = dates(&landscape(), "2010", "2020");
        d.retain_kinds(&[Kind::Merged, Kind::Split]);
        assert_eq!(d.summary.total, 3);
        assert_eq!(d.summary.by_kind, vec![(Kind::Merged, 2), (Kind::Split, 1)]);
        assert!(
            d.changes
                .iter()
                .all(|c| matches!(c.kind, Kind::Merged | Kind::Split))
        );
        assert_eq!(Kind::parse("spun_off"), Ok(Kind::SpunOff));
        let err = Kind::parse("merge").expect_err("not a kind");
        assert!(
            err.to_string()
                .starts_with("`merge` is not a kind of change; one of: created, merged,"),
            "{err}"
        );
    }

    #[test]
    fn json_has_from_to_summary_and_changes_each_with_change_and_seq() {
        let d = dates(&landscape(), "2010", "2020");
        let v: Value = serde_json::from_str(&render_json(&d)).expect("valid json");
        assert_eq!(v["from"]["as_of"], "2010-12-31");
        assert_eq!(v["to"]["as_of"], "2020-12-31");
        assert_eq!(v["to"]["known_at"]["seq"], 36);
        assert_eq!(v["summary"]["total"], d.changes.len());
        assert_eq!(v["summary"]["merged"], 2);
        let changes = v["changes"].as_array().expect("array");
        assert!(
            changes
                .iter()
                .all(|c| c["change"].is_string() && c["seq"].is_u64() && c["seqs"].is_array())
        );
        let fusion = changes.iter().find(|c| c["seq"] == 14).expect("fusion");
        assert_eq!(
            fusion,
            &json!({"change": "merged", "seq": 14, "seqs": [14], "date": "2013-05", "retracted": false,
                    "mode": "fusion", "from": ["a", "b"], "to": ["ab"], "new": ["ab"]})
        );
        let joined = changes
            .iter()
            .find(|c| c["change"] == "joined")
            .expect("joined");
        assert_eq!(joined["member"], json!({"org": "ab"}));
        assert_eq!(joined["relation"], "partner");
    }

    #[test]
    fn text_lists_the_summary_first_then_one_line_per_change() {
        let d = dates(&landscape(), "2010", "2020");
        let text = render_text(&d);
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("diff 2010-12-31 → 2020-12-31, as known at seq 36 (h)")
        );
        let summary = lines.next().expect("summary");
        assert!(
            summary.starts_with(&format!(
                "summary: {} changes: 1 created, 2 merged, 1 split,",
                d.summary.total
            )),
            "{summary}"
        );
        // A plan for 2011 is overdue from the first day of 2012.
        assert_eq!(
            lines.find(|l| !l.is_empty()),
            Some(
                "2012-01-01  plan_status        plan seq 12, for 2011: dissolved d: pending → overdue  [seq 12]"
            )
        );
        assert!(
            text.contains("2013-05     merged             a + b → ab (fusion; new: ab)  [seq 14]"),
            "{text}"
        );
        assert!(
            text.contains("site_closed        x at \"Roanne\"  [seq 28]"),
            "{text}"
        );
    }

    fn corrected_ledger() -> Vec<Entry> {
        ledger(vec![
            /* 1 */ org("a", "2000"),
            /* 2 */
            json!({"type": "label_granted", "date": "2005", "label": "L", "holder": "a"}),
            /* 3 */
            json!({"type": "site_opened", "date": "2006", "org": "a", "site": "Lyon"}),
            /* 4 */
            json!({"type": "site_closed", "date": "2008", "org": "a", "site": "Lyon"}),
            /* 5 */
            json!({"type": "figures", "date": "2009", "org": "a", "values": {"members": 100}}),
            /* 6 */
            json!({"type": "planned", "date": "2009", "planned": {"type": "renamed", "date": "2010", "org": "a", "name": "A2"}}),
            /* 7 */
            json!({"type": "correction", "date": "2011", "target": hash(2), "mode": "retract", "reason": "never granted"}),
            /* 8 */
            json!({"type": "correction", "date": "2011", "target": hash(4), "mode": "retract", "reason": "still open"}),
            /* 9 */
            json!({"type": "correction", "date": "2011", "target": hash(5), "mode": "supersede", "reason": "recounted",
                          "replacement": {"type": "figures", "date": "2009", "org": "a", "values": {"members": 120}}}),
            /* 10 */ org("b", "2001"),
            /* 11 */
            json!({"type": "renamed", "date": "2010-02", "org": "a", "name": "A2", "fulfils": hash(6)}),
            /* 12 */
            json!({"type": "correction", "date": "2011", "target": hash(1), "mode": "supersede", "reason": "founded earlier",
                           "replacement": {"type": "created", "date": "1999", "id": "a", "name": "A", "kind": "cluster"}}),
        ])
    }

    #[test]
    fn a_correction_that_withdraws_what_closed_a_plan_is_named_as_its_cause() {
        // given a plan (seq 2) given up (seq 3), the abandonment retracted
        // (seq 4) and the plan carried out (seq 5)
        let entries = ledger(vec![
            org("a", "2000"),
            json!({"type": "planned", "date": "2009", "planned": {"type": "renamed", "date": "2010", "org": "a", "name": "A2"}}),
            json!({"type": "plan_abandoned", "date": "2009-06", "plan": hash(2)}),
            json!({"type": "correction", "date": "2011", "target": hash(3), "mode": "retract", "reason": "revived"}),
            json!({"type": "renamed", "date": "2011-02", "org": "a", "name": "A2", "fulfils": hash(2)}),
        ]);
        // when 2010 is compared as known at seq 3 and at seq 4
        let d = knowledge(&entries, "2010", 3, 4);
        // then the plan went back to pending because of the correction,
        // which names what it withdrew, then the plan; nothing is unlisted
        let plan = only(&d, Kind::PlanStatus);
        assert_eq!(plan.len(), 1, "{d:?}");
        assert_eq!((plan[0].seq, plan[0].seqs.clone()), (4, vec![4, 3, 2]));
        assert!(matches!(
            &plan[0].detail,
            Detail::Plan {
                old: Some(PlanStatus::Abandoned),
                new: PlanStatus::Pending,
                ..
            }
        ));
        assert!(d.unlisted.is_empty(), "{:?}", d.unlisted);
        // and a diff of dates over the window that states it names what
        // settled it by the window's end
        let d = dates(&entries, "2008", "2012");
        let plan = only(&d, Kind::PlanStated);
        assert_eq!(plan[0].seqs, vec![2, 5], "{d:?}");
        assert!(d.unlisted.is_empty(), "{:?}", d.unlisted);
        // and in 2012, from seq 3 to seq 5, it is fulfilled by seq 5, the
        // correction and the withdrawn abandonment listed after the plan
        let d = knowledge(&entries, "2012", 3, 5);
        let plan = only(&d, Kind::PlanStatus);
        assert_eq!(plan[0].seqs, vec![5, 2, 4, 3]);
        assert!(d.unlisted.is_empty(), "{:?}", d.unlisted);
        // and when the correction's own replacement closes it anew, its
        // seq is listed once
        let entries = ledger(vec![
            org("a", "2000"),
            json!({"type": "planned", "date": "2009", "planned": {"type": "renamed", "date": "2010", "org": "a", "name": "A2"}}),
            json!({"type": "milestone", "date": "2010", "summary": "renamed", "fulfils": hash(2)}),
            json!({"type": "correction", "date": "2011", "target": hash(3), "mode": "supersede", "reason": "not done",
                   "replacement": {"type": "plan_abandoned", "date": "2010-06", "plan": hash(2)}}),
        ]);
        let d = knowledge(&entries, "2012", 3, 4);
        assert_eq!(only(&d, Kind::PlanStatus)[0].seqs, vec![4, 2, 3]);
    }

    #[test]
    fn a_knowledge_diff_reports_corrections_as_retractions() {
        // Given a ledger whose records 7–12 correct and add to records 1–6
        let entries = corrected_ledger();
        // When comparing 2010 as known at seq 6 and at seq 12
        let d = knowledge(&entries, "2010", 6, 12);
        // Then the retracted grant is a retracted `label_granted`
        let label = only(&d, Kind::LabelGranted);
        assert_eq!(label.len(), 1);
        assert!(label[0].retracted);
        assert_eq!((label[0].seq, label[0].seqs.clone()), (7, vec![7, 2]));
        assert!(only(&d, Kind::LabelWithdrawn).is_empty());
        // the retracted closure brings the site back: a retracted `site_closed`
        let site = only(&d, Kind::SiteClosed);
        assert_eq!(site.len(), 1);
        assert!(site[0].retracted);
        assert_eq!(site[0].seqs, vec![8, 4]);
        assert!(only(&d, Kind::SiteOpened).is_empty());
        // the superseded figure is old → new, caused by the correction
        let fig = only(&d, Kind::Figures);
        assert_eq!(fig.len(), 1);
        assert_eq!(fig[0].seqs, vec![9, 5]);
        assert!(
            matches!(&fig[0].detail, Detail::Figure { old: Some(o), new: Some(n), .. } if o.value == 100 && n.value == 120)
        );
        // a backdated creation learnt later is `created`
        let created = only(&d, Kind::Created);
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].seq, 10);
        // the rename fulfils the plan; the plan's status moves
        assert_eq!(only(&d, Kind::Renamed)[0].seqs, vec![11]);
        let plan = only(&d, Kind::PlanStatus);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].seqs, vec![11, 6]);
        assert!(matches!(
            &plan[0].detail,
            Detail::Plan {
                old: Some(PlanStatus::Pending),
                new: PlanStatus::Fulfilled,
                ..
            }
        ));
        // the creation re-dated to 1999 is `redated`, caused by the supersede
        let redated = only(&d, Kind::Redated);
        assert_eq!(redated.len(), 1);
        assert_eq!(redated[0].seqs, vec![12, 1]);
        assert_eq!(d.from.known_at.seq, 6);
        assert_eq!(d.to.known_at.seq, 12);
        assert_eq!(d.summary.total, 7, "{}", render_text(&d));
        assert!(render_text(&d).contains("[seq 7 retracts seq 2]"));
    }

    #[test]
    fn a_knowledge_diff_sees_only_what_counts_on_the_date() {
        let entries = corrected_ledger();
        // As of 2005-06, only the grant (2005) and its retraction matter;
        // the site, figures and plan are later; b (2001) is new knowledge.
        let d = knowledge(&entries, "2005-06", 6, 12);
        let kinds: Vec<Kind> = d.changes.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            vec![Kind::Redated, Kind::Created, Kind::LabelGranted],
            "{}",
            render_text(&d)
        );
        // The same position twice: nothing.
        assert_eq!(knowledge(&entries, "2010", 12, 12).summary.total, 0);
        let (k6, k12) = (Knowledge::new(&entries, 6), Knowledge::new(&entries, 12));
        assert_eq!(
            diff_knowledge(&k12, "x", &k6, "y", day("2010")),
            Err(DiffError::KnowledgeReversed { a: 12, b: 6 })
        );
    }

    #[test]
    fn a_retracted_merger_is_a_retracted_merged_change() {
        // Given a fusion that a later correction retracts
        let entries = ledger(vec![
            org("a", "2000"),
            org("b", "2000"),
            json!({"type": "transformed", "mode": "fusion", "date": "2005", "from": ["a", "b"], "to": ["ab"],
                   "new": [{"id": "ab", "name": "AB", "kind": "cluster"}]}),
            json!({"type": "correction", "date": "2006", "target": hash(3), "mode": "retract", "reason": "never happened"}),
        ]);
        // When comparing what was known before and after the correction
        let d = knowledge(&entries, "2010", 3, 4);
        // Then one retracted merger is reported, caused by the correction
        assert_eq!(d.changes.len(), 1, "{}", render_text(&d));
        let c = &d.changes[0];
        assert_eq!(
            (c.kind, c.retracted, c.seqs.clone()),
            (Kind::Merged, true, vec![4, 3])
        );
        assert!(
            matches!(&c.detail, Detail::Transform { from, to, .. } if from == &["a", "b"] && to == &["ab"])
        );
    }

    /// An organisation holding a site, a label, a role, a member and a
    /// figure since 2001, absorbed in 2005 and re-established in 2012 with
    /// a new site; then (records 10–11) the corrections `extra` gives.
    fn absorbed_and_back(extra: Vec<Value>) -> Vec<Entry> {
        let mut events = vec![/* 1 */ org("x", "2000"), /* 2 */ org("z", "2000")];
        events.extend(facts_of_x("2001")); // 3–7
        events.extend([
            /* 8 */
            json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": ["x"], "to": ["z"]}),
            /* 9 */
            json!({"type": "transformed", "mode": "reestablishment", "date": "2012", "from": ["z"], "to": ["x"]}),
            /* 10 */
            json!({"type": "site_opened", "date": "2013", "org": "x", "site": "Vienne"}),
        ]);
        ledger_then(events, extra)
    }

    /// Facts of `x` dated `date`: the site Roanne, the label L, the figure
    /// `members` 5, P as president and W as a member, in that order.
    fn facts_of_x(date: &str) -> [Value; 5] {
        [
            json!({"type": "site_opened", "date": date, "org": "x", "site": "Roanne"}),
            json!({"type": "label_granted", "date": date, "label": "L", "holder": "x"}),
            json!({"type": "figures", "date": date, "org": "x", "values": {"members": 5}}),
            json!({"type": "role_started", "date": date, "org": "x", "role": "president", "person": "P"}),
            json!({"type": "joined", "date": date, "org": "x", "member": {"name": "W"}, "relation": "member"}),
        ]
    }

    #[test]
    fn facts_back_with_a_period_a_correction_restores_are_not_reported_again() {
        let changes = |d: &Diff| -> Vec<(Kind, bool, Vec<u64>)> {
            (d.changes.iter())
                .map(|c| (c.kind, c.retracted, c.seqs.clone()))
                .collect()
        };
        // Given an organisation absorbed then re-established, whose
        // re-establishment and absorption are both retracted later,
        let entries = absorbed_and_back(vec![retract(9), retract(8)]);
        // when what was known before and after the corrections is compared,
        let d = knowledge(&entries, "2020", 10, 12);
        // then the two retracted events are the changes: the facts of its
        // first period, back with it, are not reported again (they would
        // cite records known on both sides).
        assert_eq!(
            changes(&d),
            [
                (Kind::Merged, true, vec![12, 8]),
                (Kind::Reestablished, true, vec![11, 9])
            ],
            "{}",
            render_text(&d)
        );
        // Given only the re-establishment retracted (with the site of the
        // new period), the organisation stays absorbed in 2005:
        let entries = absorbed_and_back(vec![retract(10), retract(9)]);
        let d = knowledge(&entries, "2020", 10, 12);
        assert_eq!(
            changes(&d),
            [
                (Kind::Reestablished, true, vec![12, 9]),
                (Kind::SiteOpened, true, vec![11, 10])
            ],
            "{}",
            render_text(&d)
        );
        // A fact of the first period learnt only after the earlier state
        // of knowledge is new knowledge, and is reported.
        let entries = absorbed_and_back(vec![
            retract(9),
            retract(8),
            json!({"type": "site_opened", "date": "2002", "org": "x", "site": "Annecy"}),
        ]);
        let d = knowledge(&entries, "2020", 10, 13);
        assert_eq!(d.changes.len(), 3, "{}", render_text(&d));
        let sites = only(&d, Kind::SiteOpened);
        assert_eq!(sites.len(), 1, "{}", render_text(&d));
        assert_eq!(
            (sites[0].seqs.clone(), sites[0].retracted),
            (vec![13], false)
        );
    }

    #[test]
    fn an_ending_of_the_earlier_period_corrected_away_with_its_end_is_reported() {
        // Given an organisation whose facts of 2001 were ended (or
        // changed) in 2003, absorbed in 2005 and re-established in 2012;
        // then one batch retracting the re-establishment, the absorption
        // and the 2003 records,
        let given = |endings: Vec<Value>| {
            let mut events = vec![/* 1 */ org("x", "2000"), /* 2 */ org("z", "2000")];
            events.extend(facts_of_x("2001")); // 3–7
            let n = endings.len() as u64;
            events.extend(endings);
            events.push(json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": ["x"], "to": ["z"]}));
            events.push(json!({"type": "transformed", "mode": "reestablishment", "date": "2012", "from": ["z"], "to": ["x"]}));
            let head = 9 + n;
            let batch = (8..=head).rev().map(retract).collect();
            (ledger_then(events, batch), head)
        };
        let cases = [
            json!({"type": "site_closed", "date": "2003", "org": "x", "site": "Roanne"}),
            json!({"type": "label_withdrawn", "date": "2003", "label": "L", "holder": "x"}),
            json!({"type": "role_ended", "date": "2003", "org": "x", "role": "president", "person": "P"}),
            json!({"type": "left", "date": "2003", "org": "x", "member": {"name": "W"}, "relation": "member"}),
            json!({"type": "figures", "date": "2003", "org": "x", "values": {"members": 7}}),
        ];
        let kinds = [
            Kind::SiteClosed,
            Kind::LabelWithdrawn,
            Kind::RoleEnded,
            Kind::Left,
            Kind::Figures,
        ];
        for (ending, kind) in cases.into_iter().zip(kinds) {
            let (entries, head) = given(vec![ending]);
            // when what was known before and after the batch is compared,
            let d = knowledge(&entries, "2020", head, 2 * head - 7);
            // then the 2003 record taken away is reported, retracted, with
            // the correction (the other facts came back with the period).
            let got = only(&d, kind);
            assert_eq!(got.len(), 1, "{kind:?}: {}", render_text(&d));
            assert_eq!(
                got[0].seqs,
                [2 * head - 7, 8],
                "{kind:?}: {}",
                render_text(&d)
            );
            assert!(got[0].retracted, "{kind:?}: {}", render_text(&d));
            assert_eq!(d.changes.len(), 3, "{kind:?}: {}", render_text(&d));
        }
    }

    #[test]
    fn facts_moved_by_an_id_change_a_correction_retracts_are_not_reported_again() {
        // Given an organisation with facts, whose id change a later
        // correction retracts,
        let given = || {
            vec![
                /* 1 */ org("x", "2000"),
                /* 2 */
                json!({"type": "site_opened", "date": "2001", "org": "x", "site": "Roanne"}),
                /* 3 */
                json!({"type": "label_granted", "date": "2001", "label": "L", "holder": "x"}),
                /* 4 */
                json!({"type": "joined", "date": "2001", "org": "x", "member": {"name": "W"}, "relation": "member"}),
                /* 5 */
                json!({"type": "transformed", "mode": "id_change", "date": "2003", "from": ["x"], "to": ["x2"]}),
                /* 6 */
                json!({"type": "transformed", "mode": "id_change", "date": "2004", "from": ["x2"], "to": ["x3"]}),
            ]
        };
        // (only the last one, or both, the last first)
        for (batch, a, b) in [
            (vec![retract(6)], 6, 7),
            (vec![retract(6), retract(5)], 6, 8),
        ] {
            let entries = ledger_then(given(), batch);
            // when what was known before and after it is compared,
            let d = knowledge(&entries, "2020", a, b);
            // then the retracted id changes are the changes: the facts they
            // had moved are the organisation's again, not new.
            let got: Vec<_> = d.changes.iter().map(|c| (c.kind, c.retracted)).collect();
            assert_eq!(
                got,
                vec![(Kind::IdChanged, true); (b - a) as usize],
                "{}",
                render_text(&d)
            );
        }
    }

    #[test]
    fn a_record_under_the_new_id_of_an_id_change_corrected_away_is_reported() {
        // Given an organisation whose facts of 2001 moved with its id
        // change in 2003, one of them ended (or changed) under its new id
        // in 2008, or its name or an attribute changed there; then one
        // batch retracting that record and the id change,
        let given = |ending: Value| {
            let mut events = vec![/* 1 */ org("x", "2000")];
            events.extend(facts_of_x("2001")); // 2–6
            events.extend([
                /* 7 */
                json!({"type": "transformed", "mode": "id_change", "date": "2003", "from": ["x"], "to": ["x2"]}),
                /* 8 */ ending,
            ]);
            ledger_then(events, vec![retract(8), retract(7)])
        };
        let cases = [
            (
                json!({"type": "site_closed", "date": "2008", "org": "x2", "site": "Roanne"}),
                Kind::SiteClosed,
            ),
            (
                json!({"type": "label_withdrawn", "date": "2008", "label": "L", "holder": "x2"}),
                Kind::LabelWithdrawn,
            ),
            (
                json!({"type": "role_ended", "date": "2008", "org": "x2", "role": "president", "person": "P"}),
                Kind::RoleEnded,
            ),
            (
                json!({"type": "left", "date": "2008", "org": "x2", "member": {"name": "W"}, "relation": "member"}),
                Kind::Left,
            ),
            (
                json!({"type": "figures", "date": "2008", "org": "x2", "values": {"members": 9}}),
                Kind::Figures,
            ),
            (
                json!({"type": "renamed", "date": "2008", "org": "x2", "name": "X Two"}),
                Kind::Renamed,
            ),
            (
                json!({"type": "attribute_set", "date": "2008", "org": "x2", "key": "seat", "value": "Lyon"}),
                Kind::AttributeChanged,
            ),
        ];
        for (ending, kind) in cases {
            let entries = given(ending);
            // when what was known before and after the batch is compared,
            let d = knowledge(&entries, "2020", 8, 10);
            // then the retracted id change is reported, and so is the 2008
            // record, retracted, with its correction: not the fact it had
            // ended, as new, citing the record known on both sides.
            let changes: Vec<_> = (d.changes.iter())
                .map(|c| (c.kind, c.retracted, c.seqs.clone()))
                .collect();
            assert_eq!(
                changes,
                [
                    (Kind::IdChanged, true, vec![10, 7]),
                    (kind, true, vec![9, 8])
                ],
                "{kind:?}: {}",
                render_text(&d)
            );
        }
    }

    #[test]
    fn facts_held_again_in_a_period_a_correction_takes_away_are_reported_retracted() {
        // Given an organisation absorbed in 2005 and re-established in 2012,
        // holding again in 2013 the site, label, role and member it held
        // since 2001,
        let given = |retracted: &[u64]| {
            // (the figure is left out: a figure is a value, not a fact held)
            let held = |date| {
                facts_of_x(date)
                    .into_iter()
                    .filter(|e| e["type"] != "figures")
            };
            let mut events = vec![/* 1 */ org("x", "2000"), /* 2 */ org("z", "2000")];
            events.extend(held("2001")); // 3–6
            events.extend([
                /* 7 */
                json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": ["x"], "to": ["z"]}),
                /* 8 */
                json!({"type": "transformed", "mode": "reestablishment", "date": "2012", "from": ["z"], "to": ["x"]}),
            ]);
            events.extend(held("2013")); // 9–12
            ledger_then(events, retracted.iter().copied().map(retract).collect())
        };
        let facts = [
            Kind::SiteOpened,
            Kind::LabelGranted,
            Kind::RoleStarted,
            Kind::Joined,
        ];
        // then a batch retracting those four records and the
        // re-establishment (the organisation stays absorbed in 2005), or
        // the absorption too (it holds its facts of 2001 in 2020);
        for (retracted, ends) in [
            (&[12, 11, 10, 9, 8][..], vec![Kind::Reestablished]),
            (
                &[12, 11, 10, 9, 8, 7][..],
                vec![Kind::Merged, Kind::Reestablished],
            ),
        ] {
            let entries = given(retracted);
            let b = 12 + retracted.len() as u64;
            // when what was known before and after the batch is compared,
            let d = knowledge(&entries, "2020", 12, b);
            // then each fact of 2013 is reported retracted, with its
            // correction: not as a fact redated to 2001 (the facts of 2001
            // come back with the period, which the retracted events report).
            for kind in ends.iter().chain(&facts) {
                let got = only(&d, *kind);
                assert_eq!(got.len(), 1, "{kind:?}: {}", render_text(&d));
                assert!(got[0].retracted, "{kind:?}: {}", render_text(&d));
            }
            for (kind, record) in facts.iter().zip(9..) {
                let got = only(&d, *kind);
                let correction =
                    13 + retracted.iter().position(|r| *r == record).unwrap_or(99) as u64;
                assert_eq!(
                    got[0].seqs,
                    [correction, record],
                    "{kind:?}: {}",
                    render_text(&d)
                );
            }
            assert_eq!(
                d.changes.len(),
                ends.len() + facts.len(),
                "{}",
                render_text(&d)
            );
            assert!(only(&d, Kind::Redated).is_empty(), "{}", render_text(&d));
        }
        // Given the earlier period's site closed in 2003, and that closing
        // retracted with the re-establishment and the site of 2013,
        let mut events = vec![/* 1 */ org("x", "2000"), /* 2 */ org("z", "2000")];
        events.extend([
            /* 3 */
            json!({"type": "site_opened", "date": "2001", "org": "x", "site": "Roanne"}),
            /* 4 */
            json!({"type": "site_closed", "date": "2003", "org": "x", "site": "Roanne"}),
            /* 5 */
            json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": ["x"], "to": ["z"]}),
            /* 6 */
            json!({"type": "transformed", "mode": "reestablishment", "date": "2012", "from": ["z"], "to": ["x"]}),
            /* 7 */
            json!({"type": "site_opened", "date": "2013", "org": "x", "site": "Roanne"}),
        ]);
        let entries = ledger_then(events, vec![retract(7), retract(6), retract(4)]);
        let d = knowledge(&entries, "2020", 7, 10);
        // then both are reported: the site of 2013 retracted, and the site
        // of 2001 back, its closing retracted.
        let got: Vec<_> = (d.changes.iter())
            .map(|c| (c.kind, c.retracted, c.seqs.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (Kind::SiteClosed, true, vec![10, 4]),
                (Kind::Reestablished, true, vec![9, 6]),
                (Kind::SiteOpened, true, vec![8, 7]),
            ],
            "{}",
            render_text(&d)
        );
    }

    #[test]
    fn a_member_that_left_under_an_id_change_corrected_away_is_back_by_its_left() {
        // Given a member organisation that changed id in 2003, then left
        // (or ended) under its new id in 2008; then one batch retracting
        // that record and the id change, or superseding the id change by
        // one to another id,
        let to_m9 = json!({"type": "correction", "date": "2020", "target": hash(4), "mode": "supersede", "reason": "r",
                           "replacement": {"type": "transformed", "mode": "id_change", "date": "2003", "from": ["m"], "to": ["m9"], "sources": [{"doc": "d"}]}});
        let left = json!({"type": "left", "date": "2008", "org": "x", "member": {"org": "m2"}, "relation": "member"});
        let dissolved = json!({"type": "dissolved", "date": "2008", "org": "m2"});
        use Kind::{Dissolved, IdChanged, Left};
        for (ending, correction, kinds) in [
            (&left, retract(4), vec![IdChanged, Left]),
            (&dissolved, retract(4), vec![IdChanged, Dissolved, Left]),
            (&left, to_m9.clone(), vec![IdChanged, IdChanged, Left]),
            (
                &dissolved,
                to_m9,
                vec![IdChanged, IdChanged, Dissolved, Left],
            ),
        ] {
            let entries = ledger_then(
                vec![
                    /* 1 */ org("x", "2000"),
                    /* 2 */ org("m", "2000"),
                    /* 3 */
                    json!({"type": "joined", "date": "2001", "org": "x", "member": {"org": "m"}, "relation": "member"}),
                    /* 4 */
                    json!({"type": "transformed", "mode": "id_change", "date": "2003", "from": ["m"], "to": ["m2"]}),
                    /* 5 */ ending.clone(),
                ],
                vec![retract(5), correction],
            );
            // when what was known before and after it is compared,
            let d = knowledge(&entries, "2020", 5, 7);
            // then the membership is back by the 2008 record's retraction,
            // not by the id change's, nor as a new `joined`.
            let got: Vec<_> = d.changes.iter().map(|c| c.kind).collect();
            assert_eq!(got, kinds, "{}", render_text(&d));
            let left = only(&d, Left);
            assert_eq!(left[0].seqs, [6, 5], "{}", render_text(&d));
            assert!(left[0].retracted, "{}", render_text(&d));
        }
    }

    #[test]
    fn a_member_organisation_that_ends_leaves_with_its_end() {
        let entries = ledger(vec![
            org("x", "2000"),
            org("a", "2000"),
            org("b", "2000"),
            json!({"type": "joined", "date": "2001", "org": "x", "member": {"org": "a"}, "relation": "member"}),
            json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": ["a"], "to": ["b"]}),
        ]);
        let d = dates(&entries, "2002", "2006");
        let left = only(&d, Kind::Left);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].seq, 5);
    }

    #[test]
    fn a_superseded_grant_names_the_supersede() {
        // Given a grant superseded by a grant of another label
        let entries = ledger(vec![
            org("a", "2000"),
            json!({"type": "label_granted", "date": "2005", "label": "Wrong", "holder": "a"}),
            json!({"type": "correction", "date": "2006", "target": hash(2), "mode": "supersede", "reason": "misread",
                   "replacement": {"type": "label_granted", "date": "2005", "label": "Right", "holder": "a"}}),
        ]);
        // When comparing before and after the correction
        let d = knowledge(&entries, "2010", 2, 3);
        // Then the old grant is withdrawn by the supersede and the new one
        // comes from the replacement (seq 3)
        let grants = only(&d, Kind::LabelGranted);
        assert_eq!(grants.len(), 2, "{}", render_text(&d));
        let wrong = grants
            .iter()
            .find(|c| c.retracted)
            .expect("withdrawn grant");
        assert_eq!(wrong.correction, Some(CorrectionMode::Supersede));
        assert_eq!(wrong.seqs, vec![3, 2]);
        assert!(matches!(&wrong.detail, Detail::Label { label, .. } if label == "Wrong"));
        let right = grants.iter().find(|c| !c.retracted).expect("new grant");
        assert_eq!((right.seq, right.correction), (3, None));
        assert!(render_text(&d).contains("[seq 3 supersedes seq 2]"));
        let v: Value = serde_json::from_str(&render_json(&d)).expect("json");
        let w = v["changes"]
            .as_array()
            .expect("array")
            .iter()
            .find(|c| c["retracted"] == true)
            .cloned();
        assert_eq!(w.map(|c| c["correction"].clone()), Some(json!("supersede")));
    }

    #[test]
    fn a_supersede_that_redates_a_fact_is_a_redated_change_naming_the_fact() {
        // Given a grant, an opening, a role, a membership and a program,
        // each dated `2014?` (seq 3–7), then a supersede of each giving
        // 2014-11-12 (seq 8–12)
        let redate = |seq: u64, mut replacement: Value| {
            replacement["date"] = json!("2014-11-12");
            json!({"type": "correction", "date": "2014-11-12", "target": hash(seq), "mode": "supersede",
                   "reason": "precise date", "replacement": replacement})
        };
        let grant = json!({"type": "label_granted", "date": "2014?", "label": "L", "holder": "a"});
        let site = json!({"type": "site_opened", "date": "2014?", "org": "a", "site": "Lyon"});
        let role = json!({"type": "role_started", "date": "2014?", "org": "a", "role": "chair", "person": "P"});
        let joined = json!({"type": "joined", "date": "2014?", "org": "a", "member": {"org": "b"}, "relation": "member"});
        let program = json!({"type": "program_launched", "date": "2014?", "program": "p", "name": "P", "owner": "a"});
        let entries = ledger(vec![
            org("a", "2000"),
            org("b", "2000"),
            grant.clone(),
            site.clone(),
            role.clone(),
            joined.clone(),
            program.clone(),
            redate(3, grant),
            redate(4, site),
            redate(5, role),
            redate(6, joined),
            redate(7, program),
        ]);
        // When comparing the view of 2015 before and after the supersedes
        let d = knowledge(&entries, "2015", 7, 12);
        // Then each fact is redated, named by its kind and members, with
        // the supersede then the superseded record
        let text = render_text(&d);
        let redated = only(&d, Kind::Redated);
        assert_eq!(redated.len(), 5, "{text}");
        assert_eq!(d.summary.total, 5, "{text}");
        let facts: Vec<(Kind, &[u64])> = (redated.iter())
            .map(|c| match &c.detail {
                Detail::Fact { fact, old, new, .. } => {
                    assert_eq!((old.as_str(), new.as_str()), ("2014?", "2014-11-12"));
                    assert_eq!(c.date.as_str(), "2014-11-12");
                    (*fact, c.seqs.as_slice())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            facts,
            vec![
                (Kind::LabelGranted, &[8, 3][..]),
                (Kind::SiteOpened, &[9, 4][..]),
                (Kind::RoleStarted, &[10, 5][..]),
                (Kind::Joined, &[11, 6][..]),
                (Kind::ProgramLaunched, &[12, 7][..]),
            ]
        );
        assert!(
            text.contains("redated  \"L\" — a: \"2014?\" → \"2014-11-12\"  [seq 8, 3]"),
            "{text}"
        );
        let v: Value = serde_json::from_str(&render_json(&d)).expect("json");
        assert_eq!(
            v["changes"][0],
            json!({"change": "redated", "seq": 8, "seqs": [8, 3], "date": "2014-11-12",
                   "retracted": false, "fact": "label_granted", "holder": "a", "label": "L",
                   "old": "2014?", "new": "2014-11-12"})
        );
        assert_eq!(v["changes"][3]["member"], json!({"org": "b"}));
        // And two dates never redate a fact
        assert!(only(&dates(&entries, "2014-06", "2015"), Kind::Redated).is_empty());
    }

    #[test]
    fn a_supersede_that_redates_a_rename_is_a_redated_change_naming_the_organisation() {
        // Given a rename dated 2018-06-01 (seq 2), then a supersede giving
        // 2018-07-01 (seq 3)
        let entries = ledger(vec![
            org("a", "2000"),
            json!({"type": "renamed", "date": "2018-06-01", "org": "a", "name": "A2"}),
            json!({"type": "correction", "date": "2019", "target": hash(2), "mode": "supersede", "reason": "date",
                   "replacement": {"type": "renamed", "date": "2018-07-01", "org": "a", "name": "A2"}}),
        ]);
        // When comparing a day after both dates, before and after it
        let d = knowledge(&entries, "2018-07-15", 2, 3);
        // Then the rename is redated, naming the organisation and its name
        let text = render_text(&d);
        assert_eq!(d.summary.total, 1, "{text}");
        assert!(
            text.contains(
                "2018-07-01  redated  a \"A2\": \"2018-06-01\" → \"2018-07-01\"  [seq 3, 2]"
            ),
            "{text}"
        );
        let v: Value = serde_json::from_str(&render_json(&d)).expect("json");
        assert_eq!(
            v["changes"][0],
            json!({"change": "redated", "seq": 3, "seqs": [3, 2], "date": "2018-07-01", "retracted": false,
                   "fact": "renamed", "org": "a", "name": "A2", "old": "2018-06-01", "new": "2018-07-01"})
        );
        // And between the two dates the name itself differs: `renamed`
        let between = knowledge(&entries, "2018-06-15", 2, 3);
        assert_eq!(only(&between, Kind::Renamed).len(), 1);
        assert!(only(&between, Kind::Redated).is_empty());
        // And a former name's rename, redated, is redated too, once the
        // organisation has been renamed again
        let twice = ledger(vec![
            org("a", "2000"),
            json!({"type": "renamed", "date": "2015", "org": "a", "name": "A2"}),
            json!({"type": "renamed", "date": "2017", "org": "a", "name": "A3"}),
            json!({"type": "correction", "date": "2019", "target": hash(2), "mode": "supersede", "reason": "date",
                   "replacement": {"type": "renamed", "date": "2014-06", "org": "a", "name": "A2"}}),
        ]);
        let d = knowledge(&twice, "2018", 3, 4);
        let redated = only(&d, Kind::Redated);
        assert_eq!(redated.len(), 1, "{}", render_text(&d));
        assert!(
            render_text(&d).contains("redated  a \"A2\": \"2015\" → \"2014-06\"  [seq 4, 2]"),
            "{}",
            render_text(&d)
        );
        // And a creation's name (no rename) is never redated this way
        let plain = ledger(vec![
            org("a", "2000"),
            json!({"type": "correction", "date": "2019", "target": hash(1), "mode": "supersede", "reason": "date",
                   "replacement": {"type": "created", "date": "2001", "id": "a", "name": "A", "kind": "cluster"}}),
        ]);
        let d = knowledge(&plain, "2005", 1, 2);
        let redated = only(&d, Kind::Redated);
        assert_eq!(redated.len(), 1, "{}", render_text(&d));
        assert!(
            matches!(redated[0].detail, Detail::Value { .. }),
            "the creation's own redate"
        );
    }

    #[test]
    fn a_supersede_that_keeps_a_fact_s_date_redates_nothing() {
        // Given a grant superseded by the same grant, on the same date
        let entries = ledger(vec![
            org("a", "2000"),
            json!({"type": "label_granted", "date": "2014", "label": "L", "holder": "a"}),
            json!({"type": "correction", "date": "2015", "target": hash(2), "mode": "supersede", "reason": "source",
                   "replacement": {"type": "label_granted", "date": "2014", "label": "L", "holder": "a"}}),
        ]);
        // When comparing before and after it
        let d = knowledge(&entries, "2015", 2, 3);
        // Then there is no change, and the supersede is listed apart
        assert_eq!(d.summary.total, 0, "{}", render_text(&d));
        assert_eq!(d.unlisted, vec![3]);
    }

    #[test]
    fn a_knowledge_diff_lists_the_records_no_change_names() {
        // Given a creation and a grant known at seq 2, then a milestone
        // (seq 3), a rename and back (seq 4, 5), a grant dated after the
        // day (seq 6), a supersede of the grant by the same grant (seq 7)
        // and a new grant (seq 8)
        let entries = ledger(vec![
            org("a", "2000"),
            json!({"type": "label_granted", "date": "2005", "label": "L", "holder": "a"}),
            json!({"type": "milestone", "date": "2006", "orgs": ["a"], "summary": "a meeting"}),
            json!({"type": "renamed", "date": "2007", "org": "a", "name": "A2"}),
            json!({"type": "renamed", "date": "2008", "org": "a", "name": "A"}),
            json!({"type": "label_granted", "date": "2020", "label": "Later", "holder": "a"}),
            json!({"type": "correction", "date": "2011", "target": hash(2), "mode": "supersede", "reason": "source",
                   "replacement": {"type": "label_granted", "date": "2005", "label": "L", "holder": "a"}}),
            json!({"type": "label_granted", "date": "2009", "label": "M", "holder": "a"}),
        ]);
        // When comparing the view of 2010 as known at seq 2 and at seq 8
        let d = knowledge(&entries, "2010", 2, 8);
        // Then the new grant is the change, and the records after seq 2
        // that bear on 2010 and that no change names are listed, in text
        // and JSON: not the grant dated after the day
        assert_eq!(d.summary.total, 1);
        assert_eq!(d.unlisted, vec![3, 4, 5, 7]);
        let text = render_text(&d);
        assert!(
            text.contains("\n4 records known at seq 8 but not at seq 2 changed nothing that differs about 2010-12-31 (undone or overtaken by another record, or of a kind a diff does not list): seq 3, 4, 5, 7 (`fusion log --seq N` shows one)\n"),
            "{text}"
        );
        let v: Value = serde_json::from_str(&render_json(&d)).expect("json");
        assert_eq!(v["unlisted"], json!([3, 4, 5, 7]));
    }

    #[test]
    fn a_knowledge_diff_of_one_state_has_the_knowledge_header() {
        // Given the landscape
        let entries = landscape();
        // When comparing a state of knowledge with itself
        let d = knowledge(&entries, "2017", 5, 5);
        // Then the header is a knowledge diff's, and there is no change
        let text = render_text(&d);
        assert!(
            text.starts_with("diff as of 2017-12-31: known at seq 5 ("),
            "{text}"
        );
        assert!(text.contains("→ known at seq 5 ("), "{text}");
        assert!(text.contains("summary: no changes"), "{text}");
    }

    #[test]
    fn a_withdrawn_fact_says_retracted_in_text() {
        // Given a fusion superseded by an absorption, and a grant retracted
        let entries = ledger(vec![
            org("a", "2000"),
            org("b", "2000"),
            json!({"type": "transformed", "date": "2010", "mode": "fusion", "from": ["a", "b"], "to": ["c"],
                   "new": [{"id": "c", "name": "C", "kind": "k"}]}),
            json!({"type": "label_granted", "date": "2005", "label": "L", "holder": "a"}),
            json!({"type": "correction", "date": "2012", "target": hash(3), "mode": "supersede", "reason": "misread",
                   "replacement": {"type": "transformed", "date": "2010", "mode": "absorption", "from": ["a"], "to": ["b"]}}),
            json!({"type": "correction", "date": "2012", "target": hash(4), "mode": "retract", "reason": "never"}),
        ]);
        // When comparing before and after the corrections
        let d = knowledge(&entries, "2015", 4, 6);
        // Then the withdrawn fusion and grant say so; the absorption does not
        let text = render_text(&d);
        let line = |needle: &str| {
            text.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("{needle}: {text}"))
                .to_owned()
        };
        assert!(
            line("(fusion")
                .ends_with("  retracted: a + b → c (fusion; new: c)  [seq 5 supersedes seq 3]"),
            "{text}"
        );
        assert!(
            line("(absorption)").ends_with("  a → b (absorption)  [seq 5, 3]"),
            "{text}"
        );
        assert!(!line("(absorption)").contains("retracted"), "{text}");
        assert!(
            line("— a").ends_with("  retracted: \"L\" — a  [seq 6 retracts seq 4]"),
            "{text}"
        );
    }

    #[test]
    fn a_member_that_changes_id_stays_the_same_member() {
        // Given y a member of x and z a partner of x since 2006, y moved to
        // the id y2 in 2010 (seq 5), and z, which left in 2009 (seq 6),
        // moved to the id z2 in 2011 (seq 7)
        let entries = ledger(vec![
            /* 1 */ org("x", "2005"),
            /* 2 */ org("y", "2005"),
            /* 3 */ org("z", "2005"),
            /* 4 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"org": "y"}, "relation": "member"}),
            /* 5 */
            json!({"type": "transformed", "mode": "id_change", "date": "2010", "from": ["y"], "to": ["y2"]}),
            /* 6 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"org": "z"}, "relation": "partner"}),
            /* 7 */
            json!({"type": "left", "date": "2009", "org": "x", "member": {"org": "z"}, "relation": "partner"}),
            /* 8 */
            json!({"type": "transformed", "mode": "id_change", "date": "2011", "from": ["z"], "to": ["z2"]}),
        ]);
        for d in [
            // When comparing 2008 with 2012
            dates(&entries, "2008", "2012"),
            // or 2012 as known before and after y's id change
            knowledge(&entries, "2012", 4, 5),
        ] {
            // Then y's membership is not reported again, under either id:
            // the id change says it all
            let text = render_text(&d);
            assert!(only(&d, Kind::Joined).is_empty(), "{text}");
            assert!(!text.contains("y member of x"), "{text}");
            assert!(!text.contains("y2 member of x"), "{text}");
            assert_eq!(only(&d, Kind::IdChanged)[0].seq, 5, "{text}");
        }
        // And z, which left before its id change, left as z
        let d = dates(&entries, "2008", "2012");
        let left = only(&d, Kind::Left);
        assert_eq!(left.len(), 1, "{}", render_text(&d));
        assert_eq!(left[0].seq, 7);
        assert!(
            render_text(&d).contains("left        z partner of x  [seq 7]"),
            "{}",
            render_text(&d)
        );
    }

    #[test]
    fn an_organisation_that_changes_id_twice_keeps_its_facts() {
        // Given x, with y a member and its seat in L since 2006, moved to
        // the id x2 in 2010 (seq 5) and to x3 in 2012 (seq 6)
        let entries = ledger(vec![
            /* 1 */ org("x", "2005"),
            /* 2 */ org("y", "2005"),
            /* 3 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"org": "y"}, "relation": "member"}),
            /* 4 */
            json!({"type": "attribute_set", "date": "2006", "org": "x", "key": "seat", "value": "L"}),
            /* 5 */
            json!({"type": "transformed", "mode": "id_change", "date": "2010", "from": ["x"], "to": ["x2"]}),
            /* 6 */
            json!({"type": "transformed", "mode": "id_change", "date": "2012", "from": ["x2"], "to": ["x3"]}),
        ]);
        // When comparing 2008 with 2013
        let d = dates(&entries, "2008", "2013");
        // Then the two id changes are the only changes: x3's member and
        // seat are x's, not new
        let text = render_text(&d);
        assert_eq!(d.summary.total, 2, "{text}");
        assert_eq!(only(&d, Kind::IdChanged).len(), 2, "{text}");
    }

    #[test]
    fn a_member_that_left_then_rejoined_under_a_new_id_is_a_left_and_a_joined() {
        // Given z a member of x from 2006, that left in 2009 (seq 4),
        // changed id to z2 in 2011 (seq 5) and joined again in 2012 (seq 6)
        let entries = ledger(vec![
            /* 1 */ org("x", "2005"),
            /* 2 */ org("z", "2005"),
            /* 3 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"org": "z"}, "relation": "member"}),
            /* 4 */
            json!({"type": "left", "date": "2009", "org": "x", "member": {"org": "z"}, "relation": "member"}),
            /* 5 */
            json!({"type": "transformed", "mode": "id_change", "date": "2011", "from": ["z"], "to": ["z2"]}),
            /* 6 */
            json!({"type": "joined", "date": "2012", "org": "x", "member": {"org": "z2"}, "relation": "member"}),
        ]);
        for d in [
            dates(&entries, "2008", "2013"),
            knowledge(&entries, "2013", 3, 6),
        ] {
            // Then z left and z2 joined, each on its own record: the
            // membership z2 holds did not come with the id change
            let text = render_text(&d);
            let left = only(&d, Kind::Left);
            let joined = only(&d, Kind::Joined);
            assert_eq!((left.len(), joined.len()), (1, 1), "{text}");
            assert_eq!((left[0].seq, joined[0].seq), (4, 6), "{text}");
            assert!(only(&d, Kind::Redated).is_empty(), "{text}");
        }
    }

    #[test]
    fn a_member_that_ends_its_membership_under_a_new_id_leaves_under_that_id() {
        // Given y a member of x and v a member of w from 2006; y moved to
        // the id y2 in 2010 (seq 7), y2 left x in 2011 (seq 8) and moved on
        // to y3 in 2012 (seq 9); v moved to v2 in 2010 (seq 10), and w
        // absorbed v2 in 2011 (seq 11)
        let entries = ledger(vec![
            /* 1 */ org("x", "2005"),
            /* 2 */ org("y", "2005"),
            /* 3 */ org("w", "2005"),
            /* 4 */ org("v", "2005"),
            /* 5 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"org": "y"}, "relation": "member"}),
            /* 6 */
            json!({"type": "joined", "date": "2006", "org": "w", "member": {"org": "v"}, "relation": "member"}),
            /* 7 */
            json!({"type": "transformed", "mode": "id_change", "date": "2010", "from": ["y"], "to": ["y2"]}),
            /* 8 */
            json!({"type": "left", "date": "2011", "org": "x", "member": {"org": "y2"}, "relation": "member"}),
            /* 9 */
            json!({"type": "transformed", "mode": "id_change", "date": "2012", "from": ["y2"], "to": ["y3"]}),
            /* 10 */
            json!({"type": "transformed", "mode": "id_change", "date": "2010", "from": ["v"], "to": ["v2"]}),
            /* 11 */
            json!({"type": "transformed", "mode": "absorption", "date": "2011", "from": ["v2"], "to": ["w"]}),
        ]);
        for d in [
            // When comparing 2008 with 2013
            dates(&entries, "2008", "2013"),
            // or 2013 as known before and after the ends
            knowledge(&entries, "2013", 6, 11),
        ] {
            // Then y2 left x on its own record, and v2 left w with its
            // absorption: each under the id it held then, not blamed on
            // the id change
            let text = render_text(&d);
            let mut left: Vec<u64> = only(&d, Kind::Left).iter().map(|c| c.seq).collect();
            left.sort_unstable();
            assert_eq!(left, [8, 11], "{text}");
            assert!(
                text.contains("left        y2 member of x  [seq 8]"),
                "{text}"
            );
            assert!(
                text.contains("left        v2 member of w  [seq 11]"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_member_that_left_a_container_which_changed_id_since_left_on_its_record() {
        // Given y a member of x from 2006, y moved to y2 in 2009 (seq 4),
        // y2 left x in 2010 (seq 5), and x moved to x2 in 2011 (seq 6);
        // and w a member of x from 2006 that left in 2010 (seq 8)
        let entries = ledger(vec![
            /* 1 */ org("x", "2005"),
            /* 2 */ org("y", "2005"),
            /* 3 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"org": "y"}, "relation": "member"}),
            /* 4 */
            json!({"type": "transformed", "mode": "id_change", "date": "2009", "from": ["y"], "to": ["y2"]}),
            /* 5 */
            json!({"type": "left", "date": "2010", "org": "x", "member": {"org": "y2"}, "relation": "member"}),
            /* 6 */
            json!({"type": "transformed", "mode": "id_change", "date": "2011", "from": ["x"], "to": ["x2"]}),
            /* 7 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"name": "W"}, "relation": "member"}),
            /* 8 */
            json!({"type": "left", "date": "2010", "org": "x", "member": {"name": "W"}, "relation": "member"}),
        ]);
        for (d, seqs) in [
            // When comparing 2008 with 2013
            (dates(&entries, "2008", "2013"), &[5, 8][..]),
            // or 2013 as known before and after y2's leaving (W unknown)
            (knowledge(&entries, "2013", 4, 8), &[5][..]),
        ] {
            // Then y2 and W left x (now x2) on their own records
            let text = render_text(&d);
            let mut left: Vec<u64> = only(&d, Kind::Left).iter().map(|c| c.seq).collect();
            left.sort_unstable();
            assert_eq!(left, seqs, "{text}");
            assert!(
                text.contains("2010  left        y2 member of x2  [seq 5]"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_member_absorbed_under_a_new_id_then_re_established_left_with_its_absorption() {
        // Given y a member of x from 2006, y moved to y2 in 2009 (seq 5),
        // z absorbed y2 in 2010 (seq 6), and y2 was re-established from z
        // in 2012 (seq 7)
        let entries = ledger(vec![
            /* 1 */ org("x", "2005"),
            /* 2 */ org("y", "2005"),
            /* 3 */ org("z", "2005"),
            /* 4 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"org": "y"}, "relation": "member"}),
            /* 5 */
            json!({"type": "transformed", "mode": "id_change", "date": "2009", "from": ["y"], "to": ["y2"]}),
            /* 6 */
            json!({"type": "transformed", "mode": "absorption", "date": "2010", "from": ["y2"], "to": ["z"]}),
            /* 7 */
            json!({"type": "transformed", "mode": "reestablishment", "date": "2012", "from": ["z"], "to": ["y2"]}),
        ]);
        // When comparing 2008 with 2011 or with 2013
        for to in ["2011", "2013"] {
            let d = dates(&entries, "2008", to);
            // Then y2 left x with its absorption either way
            let text = render_text(&d);
            let left = only(&d, Kind::Left);
            assert_eq!(left.len(), 1, "{text}");
            assert!(
                text.lines().any(
                    |l| l.starts_with("2010  left ") && l.ends_with(" y2 member of x  [seq 6]")
                ),
                "{text}"
            );
        }
    }

    /// x with a site, a label, a role, figures and a member from 2001;
    /// absorbed by z in 2005 (seq 8), re-established from z in 2012 (seq 9)
    /// and absorbed again in 2014 (seq 10).
    fn re_established_and_ended_again() -> Vec<Entry> {
        ledger(vec![
            /* 1 */ org("x", "2000"),
            /* 2 */ org("z", "2000"),
            /* 3 */
            json!({"type": "site_opened", "date": "2001", "org": "x", "site": "Roanne"}),
            /* 4 */
            json!({"type": "label_granted", "date": "2001", "label": "L", "holder": "x"}),
            /* 5 */
            json!({"type": "role_started", "date": "2001", "org": "x", "person": "Ann", "role": "director"}),
            /* 6 */
            json!({"type": "figures", "date": "2001", "org": "x", "values": {"members": 5}}),
            /* 7 */
            json!({"type": "joined", "date": "2001", "org": "x", "member": {"name": "W"}, "relation": "member"}),
            /* 8 */
            json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": ["x"], "to": ["z"]}),
            /* 9 */
            json!({"type": "transformed", "mode": "reestablishment", "date": "2012", "from": ["z"], "to": ["x"]}),
            /* 10 */
            json!({"type": "transformed", "mode": "absorption", "date": "2014", "from": ["x"], "to": ["z"]}),
        ])
    }

    #[test]
    fn an_organisation_ended_on_from_and_re_established_since_starts_afresh() {
        // Given x, ended in 2005, re-established in 2012 and ended again
        let entries = re_established_and_ended_again();
        // When comparing 2010 with 2020, or with 2013 (x alive again)
        for to in ["2020", "2013"] {
            let d = dates(&entries, "2010", to);
            let text = render_text(&d);
            // Then only its re-establishment (and its second end) are
            // reported: the facts of the period that ended before 2010 did
            // not go away in the window
            let mut kinds: Vec<(Kind, u64)> = d.changes.iter().map(|c| (c.kind, c.seq)).collect();
            kinds.sort_unstable_by_key(|&(_, seq)| seq);
            let expected: &[(Kind, u64)] = if to == "2020" {
                &[(Kind::Reestablished, 9), (Kind::Merged, 10)]
            } else {
                &[(Kind::Reestablished, 9)]
            };
            assert_eq!(kinds, expected, "{text}");
        }
    }

    #[test]
    fn the_facts_of_a_period_that_ended_in_the_window_go_with_its_end() {
        // Given x, holding facts from 2001, ended in 2005 and re-established
        // in 2012
        let entries = re_established_and_ended_again();
        // When comparing 2003 with 2013
        let d = dates(&entries, "2003", "2013");
        let text = render_text(&d);
        // Then each fact it held in 2003 went away with its absorption
        // (seq 8, 2005), not at the record that brought it (2001)
        let gone: Vec<(Kind, u64, String)> = (d.changes.iter())
            .filter(|c| c.seq < 9)
            .map(|c| (c.kind, c.seq, c.date.to_string()))
            .collect();
        let at_end = |k| (k, 8, "2005".to_owned());
        assert_eq!(
            gone,
            [
                at_end(Kind::Merged),
                at_end(Kind::LabelWithdrawn),
                at_end(Kind::SiteClosed),
                at_end(Kind::RoleEnded),
                at_end(Kind::Left),
                at_end(Kind::Figures),
            ],
            "{text}"
        );
    }

    #[test]
    fn an_organisation_re_established_then_moved_to_a_new_id_is_reported_under_the_new_id_once() {
        // Given x, absorbed in 2005, re-established in 2012 (seq 5), its
        // seat changed (seq 6) and renamed (seq 7) in 2012, then moved to
        // x2 in 2013 (seq 8)
        let entries = ledger(vec![
            /* 1 */ org("x", "2000"),
            /* 2 */ org("z", "2000"),
            /* 3 */
            json!({"type": "attribute_set", "date": "2001", "org": "x", "key": "seat", "value": "Lyon"}),
            /* 4 */
            json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": ["x"], "to": ["z"]}),
            /* 5 */
            json!({"type": "transformed", "mode": "reestablishment", "date": "2012", "from": ["z"], "to": ["x"]}),
            /* 6 */
            json!({"type": "attribute_set", "date": "2012-06", "org": "x", "key": "seat", "value": "Vienne"}),
            /* 7 */
            json!({"type": "renamed", "date": "2012-07", "org": "x", "name": "X bis"}),
            /* 8 */
            json!({"type": "transformed", "mode": "id_change", "date": "2013", "from": ["x"], "to": ["x2"]}),
        ]);
        // When comparing 2010 with 2020
        let d = dates(&entries, "2010", "2020");
        let text = render_text(&d);
        // Then the seat and the name changed once, under x2
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("2012-")).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines.iter().all(|l| l.contains("x2")), "{text}");
    }

    #[test]
    fn a_fact_held_again_and_ended_in_a_later_period_went_with_the_first_end() {
        // Given x with a site from 2001 (seq 3), absorbed in 2005 (seq 4),
        // re-established in 2006 (seq 5), which opened the same site again
        // in 2007 (seq 6) and closed it in 2008 (seq 7)
        let entries = ledger(vec![
            /* 1 */ org("x", "2000"),
            /* 2 */ org("z", "2000"),
            /* 3 */
            json!({"type": "site_opened", "date": "2001", "org": "x", "site": "Roanne"}),
            /* 4 */
            json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": ["x"], "to": ["z"]}),
            /* 5 */
            json!({"type": "transformed", "mode": "reestablishment", "date": "2006", "from": ["z"], "to": ["x"]}),
            /* 6 */
            json!({"type": "site_opened", "date": "2007", "org": "x", "site": "Roanne"}),
            /* 7 */
            json!({"type": "site_closed", "date": "2008", "org": "x", "site": "Roanne"}),
        ]);
        // When comparing 2003 with 2010
        let d = dates(&entries, "2003", "2010");
        // Then the site x held in 2003 went with its absorption
        let closed: Vec<u64> = only(&d, Kind::SiteClosed).iter().map(|c| c.seq).collect();
        assert_eq!(closed, [4], "{}", render_text(&d));
        // And when comparing 2007 with 2010, with the close
        let d = dates(&entries, "2007", "2010");
        let closed: Vec<u64> = only(&d, Kind::SiteClosed).iter().map(|c| c.seq).collect();
        assert_eq!(closed, [7], "{}", render_text(&d));
    }

    #[test]
    fn facts_an_id_change_carried_go_with_the_end_of_their_period_under_either_id() {
        // Given x with a site, a figure and a member from 2001 (seqs 3–5);
        // either x became x2 in 2003, z absorbed x2 in 2005 and x2 was
        // re-established in 2012, or z absorbed x in 2005, x was
        // re-established in 2012 and became x2 in 2013
        let id_change = |date| json!({"type": "transformed", "mode": "id_change", "date": date, "from": ["x"], "to": ["x2"]});
        let absorbed = |id| json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": [id], "to": ["z"]});
        let reestablished = |id| json!({"type": "transformed", "mode": "reestablishment", "date": "2012", "from": ["z"], "to": [id]});
        let scenarios = [
            (
                vec![id_change("2003"), absorbed("x2"), reestablished("x2")],
                7,
            ),
            (
                vec![absorbed("x"), reestablished("x"), id_change("2013")],
                6,
            ),
        ];
        for (then, absorption) in scenarios {
            let mut events = vec![
                /* 1 */ org("x", "2000"),
                /* 2 */ org("z", "2000"),
                /* 3 */
                json!({"type": "site_opened", "date": "2001", "org": "x", "site": "Roanne"}),
                /* 4 */
                json!({"type": "figures", "date": "2001", "org": "x", "values": {"members": 5}}),
                /* 5 */
                json!({"type": "joined", "date": "2001", "org": "x", "member": {"name": "W"}, "relation": "member"}),
            ];
            events.extend(then);
            let entries = ledger(events);
            // When comparing 2002 with 2014
            let d = dates(&entries, "2002", "2014");
            let text = render_text(&d);
            // Then the facts x held went with the absorption (2005), not
            // at the records that brought them (2001)
            let gone: Vec<(Kind, u64, String)> = (d.changes.iter())
                .filter(|c| matches!(c.kind, Kind::SiteClosed | Kind::Figures | Kind::Left))
                .map(|c| (c.kind, c.seq, c.date.to_string()))
                .collect();
            let at_end = |k| (k, absorption, "2005".to_owned());
            assert_eq!(
                gone,
                [
                    at_end(Kind::SiteClosed),
                    at_end(Kind::Left),
                    at_end(Kind::Figures)
                ],
                "{text}"
            );
        }
    }

    #[test]
    fn a_membership_that_ended_with_a_period_since_re_established_left_with_that_end() {
        // Given y a member of x, and "W" a member of v, from 2006 (seqs 5,
        // 6); z absorbed y and v in 2010 (seqs 7, 8), and both were
        // re-established from z in 2012 (seqs 9, 10)
        let entries = ledger(vec![
            /* 1 */ org("x", "2000"),
            /* 2 */ org("y", "2000"),
            /* 3 */ org("z", "2000"),
            /* 4 */ org("v", "2000"),
            /* 5 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"org": "y"}, "relation": "member"}),
            /* 6 */
            json!({"type": "joined", "date": "2006", "org": "v", "member": {"name": "W"}, "relation": "member"}),
            /* 7 */
            json!({"type": "transformed", "mode": "absorption", "date": "2010", "from": ["y"], "to": ["z"]}),
            /* 8 */
            json!({"type": "transformed", "mode": "absorption", "date": "2010", "from": ["v"], "to": ["z"]}),
            /* 9 */
            json!({"type": "transformed", "mode": "reestablishment", "date": "2012", "from": ["z"], "to": ["y"]}),
            /* 10 */
            json!({"type": "transformed", "mode": "reestablishment", "date": "2012", "from": ["z"], "to": ["v"]}),
        ]);
        // When comparing 2008 with 2013
        let d = dates(&entries, "2008", "2013");
        // Then y left x, and W left v, with their absorptions: not at
        // their joins
        let text = render_text(&d);
        let mut left: Vec<(u64, String)> = (only(&d, Kind::Left).iter())
            .map(|c| (c.seq, c.date.to_string()))
            .collect();
        left.sort_unstable();
        assert_eq!(
            left,
            [(7, "2010".to_owned()), (8, "2010".to_owned())],
            "{text}"
        );
    }

    #[test]
    fn a_knowledge_diff_finds_a_left_under_the_ids_member_and_container_had_then() {
        // Given y a member of x from 2006 (seq 3), y moved to y2 in 2009
        // (seq 4), x to x2 in 2011 (seq 5), y2 to y3 in 2012 (seq 6); then,
        // backdated, y2 left x in 2010 (seq 7), and that left retracted
        // (seq 8)
        let entries = ledger(vec![
            /* 1 */ org("x", "2000"),
            /* 2 */ org("y", "2000"),
            /* 3 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"org": "y"}, "relation": "member"}),
            /* 4 */
            json!({"type": "transformed", "mode": "id_change", "date": "2009", "from": ["y"], "to": ["y2"]}),
            /* 5 */
            json!({"type": "transformed", "mode": "id_change", "date": "2011", "from": ["x"], "to": ["x2"]}),
            /* 6 */
            json!({"type": "transformed", "mode": "id_change", "date": "2012", "from": ["y2"], "to": ["y3"]}),
            /* 7 */
            json!({"type": "left", "date": "2010", "org": "x", "member": {"org": "y2"}, "relation": "member"}),
            /* 8 */
            json!({"type": "correction", "date": "2014", "target": hash(7), "mode": "retract", "reason": "no"}),
        ]);
        // When 2013 is compared as known before and after the left
        let d = knowledge(&entries, "2013", 6, 7);
        // Then y2 left x on it
        let text = render_text(&d);
        let left = only(&d, Kind::Left);
        assert_eq!(left.len(), 1, "{text}");
        assert_eq!((left[0].seq, left[0].date.as_str()), (7, "2010"), "{text}");
        assert!(text.contains("y2 member of x2  [seq 7]"), "{text}");
        // And when compared as known before and after its retraction, the
        // membership is back by the retraction: no joined of seq 3
        let d = knowledge(&entries, "2013", 7, 8);
        let text = render_text(&d);
        assert!(only(&d, Kind::Joined).is_empty(), "{text}");
        let back = only(&d, Kind::Left);
        assert_eq!(back.len(), 1, "{text}");
        assert_eq!(
            (back[0].seqs.clone(), back[0].retracted),
            (vec![8, 7], true),
            "{text}"
        );
    }

    #[test]
    fn a_member_whose_id_change_is_retracted_stays_the_same_member() {
        // Given y a member of x from 2009 (seq 3), y moved to the id y2 in
        // 2010 (seq 4), and that id change retracted (seq 5)
        let entries = ledger(vec![
            /* 1 */ org("x", "2005"),
            /* 2 */ org("y", "2005"),
            /* 3 */
            json!({"type": "joined", "date": "2009", "org": "x", "member": {"org": "y"}, "relation": "member"}),
            /* 4 */
            json!({"type": "transformed", "mode": "id_change", "date": "2010", "from": ["y"], "to": ["y2"]}),
            /* 5 */
            json!({"type": "correction", "date": "2014", "target": hash(4), "mode": "retract", "reason": "no such change"}),
        ]);
        // When comparing 2013 as known before and after the retraction
        let d = knowledge(&entries, "2013", 4, 5);
        // Then the retracted id change is the one change: the membership
        // is neither left under y2 nor left again under y
        let text = render_text(&d);
        assert_eq!(d.summary.total, 1, "{text}");
        assert!(only(&d, Kind::IdChanged)[0].retracted, "{text}");
    }

    #[test]
    fn a_membership_back_because_its_member_s_end_was_retracted_is_a_retracted_left() {
        // Given y a member of x from 2006, y dissolved in 2009 (seq 4),
        // and that dissolution retracted (seq 5)
        let entries = ledger(vec![
            /* 1 */ org("x", "2005"),
            /* 2 */ org("y", "2005"),
            /* 3 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"org": "y"}, "relation": "member"}),
            /* 4 */ json!({"type": "dissolved", "date": "2009", "org": "y"}),
            /* 5 */
            json!({"type": "correction", "date": "2020", "target": hash(4), "mode": "retract", "reason": "not dissolved"}),
        ]);
        // When comparing 2010 as known before and after the retraction
        let d = knowledge(&entries, "2010", 4, 5);
        // Then the membership that comes back is the ending kind, retracted
        // by the correction, like y's dissolution: not a `joined` of seq 3,
        // which was known before
        assert!(only(&d, Kind::Joined).is_empty(), "{}", render_text(&d));
        let left = only(&d, Kind::Left);
        assert_eq!(left.len(), 1, "{}", render_text(&d));
        assert_eq!(
            (left[0].seq, left[0].seqs.clone(), left[0].retracted),
            (5, vec![5, 4], true)
        );
        assert_eq!(left[0].correction, Some(CorrectionMode::Retract));
        assert_eq!(left[0].date.as_str(), "2009");
        let dissolved = only(&d, Kind::Dissolved);
        assert_eq!(dissolved[0].seqs, left[0].seqs);
        let text = render_text(&d);
        assert!(
            text.contains("left       retracted: y member of x  [seq 5 retracts seq 4]"),
            "{text}"
        );
        let v: Value = serde_json::from_str(&render_json(&d)).expect("json");
        let c = v["changes"]
            .as_array()
            .expect("array")
            .iter()
            .find(|c| c["change"] == "left")
            .cloned()
            .expect("left");
        assert_eq!(
            (&c["seqs"], &c["retracted"], &c["correction"]),
            (&json!([5, 4]), &json!(true), &json!("retract"))
        );
    }

    #[test]
    fn a_membership_back_because_its_member_s_merger_was_superseded_names_the_supersede() {
        // Given a a member of x, a absorbed into b in 2005 (seq 5), and that
        // absorption superseded by one in 2011 (seq 6)
        let entries = ledger(vec![
            /* 1 */ org("x", "2000"),
            /* 2 */ org("a", "2000"),
            /* 3 */ org("b", "2000"),
            /* 4 */
            json!({"type": "joined", "date": "2001", "org": "x", "member": {"org": "a"}, "relation": "member"}),
            /* 5 */
            json!({"type": "transformed", "mode": "absorption", "date": "2005", "from": ["a"], "to": ["b"]}),
            /* 6 */
            json!({"type": "correction", "date": "2020", "target": hash(5), "mode": "supersede", "reason": "later",
                   "replacement": {"type": "transformed", "mode": "absorption", "date": "2011", "from": ["a"], "to": ["b"]}}),
        ]);
        // When comparing 2010 as known before and after the supersede
        let d = knowledge(&entries, "2010", 5, 6);
        // Then a is still a member of x on that day: a `left` withdrawn
        // by the supersede, as the merger is
        assert!(only(&d, Kind::Joined).is_empty(), "{}", render_text(&d));
        let left = only(&d, Kind::Left);
        assert_eq!(left.len(), 1, "{}", render_text(&d));
        assert_eq!(
            (left[0].seqs.clone(), left[0].retracted),
            (vec![6, 5], true)
        );
        assert_eq!(left[0].correction, Some(CorrectionMode::Supersede));
        assert_eq!(only(&d, Kind::Merged)[0].seqs, vec![6, 5]);
        assert!(render_text(&d).contains("[seq 6 supersedes seq 5]"));
    }

    #[test]
    fn an_organisation_back_because_its_dissolution_was_retracted_keeps_its_facts() {
        // Given x with a label, a site and a member organisation, dissolved
        // in 2009 (seq 6), and that dissolution retracted (seq 7)
        let entries = ledger(vec![
            /* 1 */ org("x", "2000"),
            /* 2 */ org("m", "2000"),
            /* 3 */
            json!({"type": "label_granted", "date": "2005", "label": "L", "holder": "x"}),
            /* 4 */
            json!({"type": "site_opened", "date": "2005", "org": "x", "site": "Lyon"}),
            /* 5 */
            json!({"type": "joined", "date": "2006", "org": "x", "member": {"org": "m"}, "relation": "member"}),
            /* 6 */ json!({"type": "dissolved", "date": "2009", "org": "x"}),
            /* 7 */
            json!({"type": "correction", "date": "2020", "target": hash(6), "mode": "retract", "reason": "not dissolved"}),
        ]);
        // When comparing 2010 as known before and after the retraction
        let d = knowledge(&entries, "2010", 6, 7);
        // Then only the retracted dissolution is reported: the facts x held
        // all along are not news of records A already knew
        let kinds: Vec<(Kind, Vec<u64>)> =
            d.changes.iter().map(|c| (c.kind, c.seqs.clone())).collect();
        assert_eq!(
            kinds,
            vec![(Kind::Dissolved, vec![7, 6])],
            "{}",
            render_text(&d)
        );
        // while a re-establishment still starts afresh (two dates)
        let reborn = ledger(vec![
            org("x", "2000"),
            org("y", "2000"),
            json!({"type": "label_granted", "date": "2005", "label": "L", "holder": "x"}),
            json!({"type": "transformed", "mode": "absorption", "date": "2008", "from": ["x"], "to": ["y"]}),
            json!({"type": "transformed", "mode": "reestablishment", "date": "2010", "from": ["y"], "to": ["x"]}),
            json!({"type": "label_granted", "date": "2011", "label": "M", "holder": "x"}),
        ]);
        let d = dates(&reborn, "2009", "2012");
        let granted: Vec<u64> = only(&d, Kind::LabelGranted).iter().map(|c| c.seq).collect();
        assert_eq!(granted, vec![6], "{}", render_text(&d));
    }

    #[test]
    fn every_change_a_replacement_brings_names_the_superseded_record() {
        // Given a creation (seq 1), a fusion (seq 4) and a plan (seq 5),
        // each superseded by a replacement (seqs 6, 7 and 8)
        let entries = ledger(vec![
            /* 1 */ org("x", "2005"),
            /* 2 */ org("a", "2000"),
            /* 3 */ org("b", "2000"),
            /* 4 */
            json!({"type": "transformed", "mode": "fusion", "date": "2008", "from": ["a", "b"], "to": ["ab"],
                   "new": [{"id": "ab", "name": "AB", "kind": "cluster"}]}),
            /* 5 */
            json!({"type": "planned", "date": "2009", "planned": {"type": "dissolved", "date": "2030", "org": "x"}}),
            /* 6 */
            json!({"type": "correction", "date": "2020", "target": hash(1), "mode": "supersede", "reason": "earlier",
                   "replacement": {"type": "created", "date": "2003", "id": "x", "name": "X", "kind": "cluster"}}),
            /* 7 */
            json!({"type": "correction", "date": "2020", "target": hash(4), "mode": "supersede", "reason": "earlier",
                   "replacement": {"type": "transformed", "mode": "fusion", "date": "2004", "from": ["a", "b"], "to": ["ab"],
                                   "new": [{"id": "ab", "name": "AB", "kind": "cluster"}]}}),
            /* 8 */
            json!({"type": "correction", "date": "2020", "target": hash(5), "mode": "supersede", "reason": "earlier",
                   "replacement": {"type": "planned", "date": "2004", "planned": {"type": "dissolved", "date": "2031", "org": "x", "sources": [{"doc": "test"}]}}}),
        ]);
        // When comparing 2004 as known before and after the supersedes
        let d = knowledge(&entries, "2004", 5, 8);
        // Then each replacement's change names the superseded record after
        // the replacement, as a redating does
        let seqs =
            |kind| -> Vec<Vec<u64>> { only(&d, kind).iter().map(|c| c.seqs.clone()).collect() };
        assert_eq!(seqs(Kind::Created), vec![vec![6, 1]], "{}", render_text(&d));
        assert_eq!(seqs(Kind::Merged), vec![vec![7, 4]], "{}", render_text(&d));
        assert_eq!(
            seqs(Kind::PlanStated),
            vec![vec![8, 5]],
            "{}",
            render_text(&d)
        );
        assert!(d.changes.iter().all(|c| !c.retracted));
        let text = render_text(&d);
        assert!(text.contains("x \"X\"  [seq 6, 1]"), "{text}");
        let v: Value = serde_json::from_str(&render_json(&d)).expect("json");
        let created = v["changes"]
            .as_array()
            .expect("array")
            .iter()
            .find(|c| c["change"] == "created")
            .cloned()
            .expect("created");
        assert_eq!(
            (&created["seq"], &created["seqs"]),
            (&json!(6), &json!([6, 1]))
        );
        // and a redating still does (on 2010, the creation counts both times)
        let later = knowledge(&entries, "2010", 5, 8);
        assert_eq!(only(&later, Kind::Redated)[0].seqs, vec![6, 1]);
        // A diff of two dates has no corrections to name
        let two_days = dates(&entries, "2003", "2004");
        assert_eq!(only(&two_days, Kind::Merged)[0].seqs, vec![7]);
    }

    /// An event of any type over three ids, valid or not (a
    /// transformation has the arity its mode asks for): `op` picks the
    /// type and the mode, `x` and `y` an order of the three ids, `z`
    /// the relation of a membership.
    fn any_event(op: u8, (x, y, z): (usize, usize, usize), year: u8, flag: bool) -> Value {
        const IDS: [&str; 3] = ["a", "b", "c"];
        let i = x % 3;
        let j = (i + 1 + y % 2) % 3;
        let (x, y, z) = (
            IDS[i],
            IDS[j],
            if z % 2 == 0 { IDS[3 - i - j] } else { "x" },
        );
        let date = format!("{}", 2000 + u32::from(year % 12));
        let member = if flag {
            json!({"org": y})
        } else {
            json!({"name": "Ann"})
        };
        let relation = if flag { "member" } else { "partner" };
        let org = |id: &str| json!({"id": id, "name": id.to_uppercase(), "kind": "k"});
        match op % 20 {
            0..=2 => {
                json!({"type": "created", "date": date, "id": x, "name": x.to_uppercase(), "kind": "k"})
            }
            3 | 4 => {
                let (mode, from, to, new) = match op / 20 % 6 {
                    0 => ("fusion", json!([x, y]), json!([z]), json!([org(z)])),
                    1 => ("absorption", json!([x]), json!([y]), json!([])),
                    2 => ("split", json!([x]), json!([y, z]), json!([org(z)])),
                    3 => ("spin_off", json!([x]), json!([z]), json!([org(z)])),
                    4 => ("id_change", json!([x]), json!([z]), json!([])),
                    _ => ("reestablishment", json!([x]), json!([y]), json!([])),
                };
                let mut v = json!({"type": "transformed", "mode": mode, "date": date, "from": from, "to": to});
                if new != json!([]) {
                    v["new"] = new;
                }
                v
            }
            5 => json!({"type": "renamed", "date": date, "org": x, "name": format!("N{y}")}),
            6 => json!({"type": "dissolved", "date": date, "org": x}),
            7 => json!({"type": "attribute_set", "date": date, "org": x, "key": "k", "value": y}),
            8 => json!({"type": "label_granted", "date": date, "label": "L", "holder": x}),
            9 => json!({"type": "label_withdrawn", "date": date, "label": "L", "holder": x}),
            10 => {
                json!({"type": "program_launched", "date": date, "program": y, "name": "P", "owner": x})
            }
            11 => json!({"type": "program_ended", "date": date, "program": x}),
            12 => json!({"type": "site_opened", "date": date, "org": x, "site": "S"}),
            13 => json!({"type": "site_closed", "date": date, "org": x, "site": "S"}),
            14 | 15 => {
                json!({"type": "joined", "date": date, "org": x, "member": member, "relation": relation})
            }
            16 => {
                json!({"type": "left", "date": date, "org": x, "member": member, "relation": relation})
            }
            17 => {
                json!({"type": "role_started", "date": date, "org": x, "person": "Ann", "role": "r"})
            }
            18 => json!({"type": "figures", "date": date, "org": x, "values": {"n": year}}),
            _ => {
                json!({"type": "candidacy", "date": date, "label": "L", "candidate": x, "status": "filed"})
            }
        }
    }

    /// What [`any_event`] takes: type, ids, year and a flag.
    type Op = (u8, (usize, usize, usize), u8, bool);

    /// Up to 40 events from `ops`, none validated, some of them
    /// corrections (retractions and supersessions) of earlier records.
    fn unvalidated(ops: Vec<Op>) -> Vec<Entry> {
        let mut entries: Vec<Entry> = Vec::new();
        for (op, (x, y, z), year, flag) in ops {
            let mut v = any_event(op, (x, y, z), year, flag);
            if op % 7 == 0 && !entries.is_empty() && (x + y) % 3 == 0 {
                let target = (x * 7 + z * 3 + usize::from(year)) % entries.len() + 1;
                let date = format!("{}", 2000 + u32::from(year % 12));
                v = if flag {
                    let mut r = any_event(op / 7 + 1, (y, z, x), (year + 3) % 12, !flag);
                    r["sources"] = json!([{"doc": "test"}]);
                    json!({"type": "correction", "date": date, "target": hash(target as u64),
                           "mode": "supersede", "reason": "r", "replacement": r})
                } else {
                    json!({"type": "correction", "date": date, "target": hash(target as u64),
                           "mode": "retract", "reason": "r"})
                };
            }
            v["sources"] = json!([{"doc": "test"}]);
            let Ok(event) = Event::from_json(&v) else {
                continue;
            };
            let seq = entries.len() as u64 + 1;
            entries.push(entry(seq, event));
        }
        entries
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Given random histories of events of every type over three ids,
        /// never validated (so that `apply` meets what validation would
        /// refuse), and corrections among them, when they are folded at
        /// any state of knowledge, then every entry an event changes
        /// belongs to an id `fold::for_each_affected` names, and the diff
        /// from what [`Earlier`] kept is the diff of the two whole states,
        /// compared on one thread or two. (Such short histories seldom
        /// reach an organisation through another one's members or
        /// programs: the generated landscape of `fold::tests` does, and
        /// catches a reach cut short.)
        #[test]
        fn the_kept_organisations_give_the_whole_diff_on_any_history(
            ops in proptest::collection::vec(
                (0u8..120, (0usize..6, 0usize..6, 0usize..6), 0u8..12, proptest::bool::ANY),
                0..40,
            ),
            days in (0u32..13, 0u32..13),
            known in 0u64..45,
        ) {
            let entries = unvalidated(ops);
            let (a, b) = (days.0.min(days.1), days.0.max(days.1));
            let from = day(&format!("{}-06-30", 1999 + a));
            let to = day(&format!("{}-06-30", 1999 + b));
            let k = Knowledge::new(&entries, known);
            let mut state = State::default();
            for e in k.timeline.iter().take_while(|e| e.event.date.counts_on(to)) {
                let named = crate::fold::affected_ids(&state, e.event);
                let before = state.clone();
                apply(&mut state, e.seq, e.event);
                for (id, o) in state.orgs.iter_unordered() {
                    if before.orgs.get(id) != Some(o) {
                        proptest::prop_assert!(named.contains(id.as_str()), "{id}: {:?}", e.event.body);
                    }
                }
                for (id, m) in before.member_of.iter().chain(&state.member_of) {
                    if before.member_of.get(id) != state.member_of.get(id) {
                        proptest::prop_assert!(named.contains(id.as_str()), "{id}: {m:?}, {:?}", e.event.body);
                    }
                }
                for (id, p) in &state.programs {
                    if before.programs.get(id) != Some(p) {
                        proptest::prop_assert!(named.contains(id.as_str()), "{id}: {:?}", e.event.body);
                    }
                }
            }
            let (state, earlier, window) = fold_keeping(&k, from, to);
            let mut counted: Vec<u64> = window.iter().map(|(seq, _)| *seq).collect();
            let kept = diff_earlier(&k, "h", (from, &earlier), (to, &state), window.iter().copied(), &mut counted);
            let whole = diff_dates(&k, "h", from, to).expect("diff");
            proptest::prop_assert_eq!(render_json(&kept), render_json(&whole));
            let cx = Cx {
                fresh: Fresh::After(from),
                corrections: BTreeMap::new(),
                superseded: HashMap::new(),
                ended_by: removals(window.iter().copied()),
                unended_by: HashMap::new(),
                refigured: HashMap::new(),
            };
            let changed = Before::Changed(&earlier, &state);
            let one = compare_with(changed, &state, &cx, usize::MAX);
            let two = compare_with(changed, &state, &cx, 0);
            proptest::prop_assert_eq!(&one, &two);
        }
    }
}
