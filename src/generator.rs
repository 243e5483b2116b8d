//! A generator of realistic synthetic ledgers, for benchmarks and tests.
//!
//! [`generate`] produces `events` sealed records, deterministically for a
//! given seed: the same [`Options`] always give the same records, byte for
//! byte. It does no I/O: every record goes to a callback, and the caller
//! decides where it is written.
//!
//! The mix covers the whole vocabulary: creations, n→1 fusions,
//! absorptions, splits, spin-offs, re-establishments, id changes, renames,
//! dissolutions, attributes, labels granted and withdrawn, candidacies,
//! programs, sites, roles, memberships, figures, milestones, plans (most
//! fulfilled later, some abandoned, some left overdue, some corrected),
//! corrections (retract
//! and supersede), backdated events and imprecise dates (years, months,
//! seasons, `~`, `?` and `%`).
//!
//! **Validity.** Every candidate event is checked with [`fold::check_appended`]
//! against the state folded so far (and a rename must give a name its
//! organisation never had, see `Gen::fits`), and discarded if it fails, so the
//! ledger passes [`fold::validate`] when replayed through `append`. To keep
//! the running state equal to the fold in timeline order, ordinary events
//! never sort before an earlier one (their `(start, end)` never decreases);
//! only events that cannot change another event's validity are backdated:
//! creations of fresh ids, figures of organisations alive since before the
//! backdated date, and milestones. Corrections only target records whose
//! removal changes no later check (figures, milestones, renames,
//! candidacies, plans not yet fulfilled).

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Days, NaiveDate};
use compact_str::CompactString;

use crate::date::Date;
use crate::event::{
    Body, CandidacyStatus, ChangeMode, CorrectionMode, Event, OrgSpec, Party, Relation, Source,
};
use crate::fold::{self, State};
use crate::record::{GENESIS_PREV, Record};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// How many records.
    pub events: u64,
    /// The PRNG seed.
    pub seed: u64,
    /// The `recorded` time stamped on every record (RFC 3339 UTC with `Z`).
    pub recorded: String,
    /// Block size for replays: corrections and `fulfils` only name records
    /// of earlier blocks of this many records, so that the events can be
    /// replayed through `append` in batches of this size or of any divisor
    /// of it (`append` refuses references into the same batch).
    pub batch: u64,
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records written.
    pub records: u64,
    /// The head hash.
    pub head_hash: String,
    /// Records per event type (`transformed` split by mode as
    /// `transformed/fusion`…).
    pub by_type: BTreeMap<String, u64>,
    /// Records dated before an earlier record (backdated).
    pub backdated: u64,
    /// Records whose date is not a plain day (year, month, season, `~ ? %`).
    pub imprecise: u64,
    /// Candidates discarded because they failed the check.
    pub discarded: u64,
}

/// SplitMix64: small, fast, and good enough for synthetic data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant here.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// An index into a slice of length `len` (`len` must be > 0 to be useful).
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.index(items.len()))
    }
}

/// The day the generated landscapes start: the earliest any event is
/// dated. A `recorded` time must be on a later day, for `append` (rule
/// `future`) to take the events (see [`earliest_recorded_day`]).
pub const FIRST_DAY: (i32, u32, u32) = (1950, 1, 1);

/// The earliest day a `recorded` time may fall on: the day after
/// [`FIRST_DAY`].
pub fn earliest_recorded_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2)
        .and_then(|day| day.succ_opt())
        .unwrap_or(NaiveDate::MIN)
}
const SPAN_DAYS: u64 = 27_000;

const KINDS: &[&str] = &[
    "cluster",
    "company",
    "association",
    "commune",
    "accelerator",
    "network",
    "agency",
];
const WORDS: &[&str] = &[
    "Alpes",
    "Rhône",
    "Lumen",
    "Axel",
    "Minalogic",
    "Tenerrdis",
    "Techtera",
    "Imaginove",
    "Loire",
    "Savoie",
    "Digital",
    "Vallée",
    "Plastipolis",
    "Cara",
    "Viameca",
    "Lyonbiopole",
    "Edit",
    "Novacoop",
    "Isère",
    "Forez",
    "Dauphiné",
    "Bugey",
    "Chartreuse",
    "Vercors",
    "Beaujolais",
];
const LABELS: &[&str] = &[
    "pôle de compétitivité",
    "French Tech",
    "grappe d'entreprises",
    "cluster d'excellence",
    "territoire d'industrie",
    "ISO 9001",
];
const BODIES: &[&str] = &["État", "Région", "DGE", "BPI", "Europe"];
const PEOPLE: &[&str] = &[
    "Jeanne Martin",
    "Paul Bernard",
    "Claire Dubois",
    "Luc Moreau",
    "Sophie Laurent",
    "Marc Simon",
    "Anne Michel",
    "Hugo Lefèvre",
];
const ROLES: &[&str] = &["director", "president", "treasurer", "secretary"];
const SITES: &[&str] = &[
    "Lyon",
    "Grenoble",
    "Saint-Étienne",
    "Annecy",
    "Chambéry",
    "Valence",
    "Clermont-Ferrand",
    "Bourg-en-Bresse",
];
const ATTRS: &[&str] = &["seat", "legal_form", "siren", "website"];
const FIGURES: &[&str] = &["members", "employees", "budget_eur", "projects"];

/// Timeline key of a date: its period.
type Key = (NaiveDate, NaiveDate);

/// A key before every date: for events that may be backdated anywhere.
const ANY: Key = (NaiveDate::MIN, NaiveDate::MIN);

fn key(d: &Date) -> Key {
    (d.start(), d.end())
}

/// What a correction may safely target.
#[derive(Debug, Clone)]
struct Correctable {
    seq: u64,
    hash: String,
    event: Event,
}

/// A plan waiting for its date.
#[derive(Debug, Clone)]
struct Pending {
    seq: u64,
    hash: String,
    due: NaiveDate,
    planned: Event,
    /// Whether it will be carried out at all.
    fulfil: bool,
}

struct Gen {
    rng: Rng,
    state: State,
    recorded: String,
    seq: u64,
    prev: String,
    first_day: NaiveDate,
    /// The last day an event happens: `SPAN_DAYS` after `first_day`, or the
    /// day before that of `recorded` if earlier (a day-precision date may
    /// fall the day after the last day, to sort after a period starting on
    /// it), so that `append` (rule `future`) takes every event.
    last_day: NaiveDate,
    /// Days since `first_day`, in thousandths.
    cursor_milli: u64,
    step_milli: u64,
    /// The largest timeline key of any non-backdated event so far.
    last: Key,
    next_id: u64,
    alive: Vec<String>,
    alive_pos: HashMap<String, usize>,
    /// The key since which each living organisation has lived without a break.
    alive_from: HashMap<String, Key>,
    /// Organisations that ended in a fusion or absorption.
    merged: Vec<String>,
    programs: Vec<String>,
    program_pos: HashMap<String, usize>,
    correctable: Vec<Correctable>,
    pending: Vec<Pending>,
    summary: Summary,
    batch: u64,
}

/// Generates `options.events` records, handing each to `sink` in seq order.
/// Stops at the first error of `sink`.
pub fn generate<E>(
    options: &Options,
    mut sink: impl FnMut(&Record) -> Result<(), E>,
) -> Result<Summary, E> {
    let mut g = Gen::new(options);
    while g.seq < options.events {
        let (event, fate) = g.next_event();
        let record = g.seal(event.clone());
        g.after(&record, event, fate);
        sink(&record)?;
    }
    g.summary.records = g.seq;
    g.summary.head_hash = g.prev.clone();
    Ok(g.summary)
}

/// The typed entries of a generated ledger of `events` records (seed
/// `seed`, blocks of 1,000): a landscape for tests.
#[cfg(test)]
pub(crate) fn test_entries(events: u64, seed: u64) -> Vec<crate::record::Entry> {
    records(&Options {
        events,
        seed,
        recorded: "2026-01-01T00:00:00Z".into(),
        batch: 1000,
    })
    .iter()
    .map(|r| r.entry().expect("a generated record is valid"))
    .collect()
}

/// Generates all records into memory (convenient for tests and benches).
pub fn records(options: &Options) -> Vec<Record> {
    let mut out = Vec::with_capacity(usize::try_from(options.events).unwrap_or(0));
    let Ok(_) = generate(options, |r| {
        out.push(r.clone());
        Ok::<(), std::convert::Infallible>(())
    });
    out
}

/// What happens to an emitted event in the generator's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    /// An ordinary event: remember it if it can be corrected.
    Plain,
    /// A plan: track it until its date.
    Plan { due: NaiveDate, fulfil: bool },
    /// A correction of the record with this hash.
    Correction,
    /// A backdated event.
    Backdated,
}

impl Gen {
    fn new(options: &Options) -> Gen {
        let first_day = NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2)
            .unwrap_or(NaiveDate::MIN);
        let step_milli = (SPAN_DAYS * 1000 * 2) / options.events.max(1);
        let span_end = first_day
            .checked_add_days(Days::new(SPAN_DAYS))
            .unwrap_or(first_day);
        let recorded_day = (options.recorded.get(..10))
            .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok());
        let last_day = (recorded_day.and_then(|day| day.pred_opt()))
            .map_or(span_end, |day| day.min(span_end))
            .max(first_day);
        Gen {
            rng: Rng::new(options.seed),
            state: State::default(),
            recorded: options.recorded.clone(),
            seq: 0,
            prev: GENESIS_PREV.to_owned(),
            first_day,
            last_day,
            cursor_milli: 0,
            step_milli,
            last: (first_day, first_day),
            next_id: 1,
            alive: Vec::new(),
            alive_pos: HashMap::new(),
            alive_from: HashMap::new(),
            merged: Vec::new(),
            programs: Vec::new(),
            program_pos: HashMap::new(),
            correctable: Vec::new(),
            pending: Vec::new(),
            summary: Summary::default(),
            batch: options.batch.max(1),
        }
    }

    /// The last seq the next record may refer to: the end of the block
    /// before the one the next record falls in.
    fn referable(&self) -> u64 {
        self.seq / self.batch * self.batch
    }

    fn seal(&mut self, event: Event) -> Record {
        self.seq += 1;
        let prev = std::mem::take(&mut self.prev);
        let r = Record::seal(self.seq, self.recorded.clone(), event.to_json(), prev);
        self.prev.clone_from(&r.hash);
        r
    }

    // -- dates ----------------------------------------------------------

    fn today(&self) -> NaiveDate {
        self.first_day
            .checked_add_days(Days::new(self.cursor_milli / 1000))
            .unwrap_or(self.first_day)
            .min(self.last_day)
    }

    fn advance(&mut self) {
        self.cursor_milli += self.rng.below(self.step_milli + 1);
    }

    /// A day-precision date that sorts at or after every earlier event.
    fn day_now(&mut self) -> Date {
        let mut d = self.today().max(self.last.0);
        if d == self.last.0 && self.last.1 > self.last.0 {
            d = d.succ_opt().unwrap_or(d);
        }
        Date::from_day(d)
    }

    /// The date written for an event that happens today: mostly a day,
    /// sometimes a coarser or qualified one. A coarse date may sort before
    /// earlier events; it is kept only if the event may be backdated to it,
    /// that is if `since` (the key from which the event is safe) allows it.
    fn written_date(&mut self, since: Option<Key>) -> Date {
        let t = self.today();
        let roll = self.rng.below(1000);
        let text = match roll {
            0..=779 => return self.day_now(),
            780..=859 => format!("{}-{:02}", t.year(), t.month()),
            860..=909 => format!("{}", t.year()),
            910..=939 => format!("{}-{}", t.year(), season(t.month())),
            _ => {
                let base = match self.rng.below(3) {
                    0 => t.format("%Y-%m-%d").to_string(),
                    1 => format!("{}-{:02}", t.year(), t.month()),
                    _ => format!("{}", t.year()),
                };
                let q = ["~", "?", "%"][self.rng.index(3)];
                format!("{base}{q}")
            }
        };
        match Date::parse(&text) {
            Ok(d)
                if d.start() <= t
                    && t <= d.end()
                    && (key(&d) >= self.last || since.is_some_and(|s| s <= key(&d))) =>
            {
                d
            }
            _ => self.day_now(),
        }
    }

    fn fresh_id(&mut self, prefix: &str) -> String {
        let id = format!("{prefix}{}", self.next_id);
        self.next_id += 1;
        id
    }

    fn sources(&mut self) -> Vec<Source> {
        let n = self.rng.below(100_000);
        let quote = self
            .rng
            .chance(300)
            .then(|| format!("extrait {n}: {}", self.word()));
        vec![Source {
            doc: compact_str::format_compact!("doc-{n:05}.txt"),
            quote: quote.map(CompactString::from),
            url: None,
        }]
    }

    /// Whether `e` may be appended after the state folded so far
    /// ([`fold::check_appended`]), and is no rename to a name its
    /// organisation ever had here: a retracted rename is not undone in that
    /// state, so after one the organisation's name in the ledger may be an
    /// earlier one, which a rename to it would not change (rule
    /// `no_change`).
    fn fits(&self, e: &Event) -> bool {
        let past_name = match &e.body {
            Body::Renamed { org, name } => (self.state.orgs.get(org.as_str()))
                .is_some_and(|o| o.names.iter().any(|n| n.name == *name)),
            _ => false,
        };
        !past_name && fold::check_appended(&self.state, e).is_ok()
    }

    fn word(&mut self) -> &'static str {
        WORDS[self.rng.index(WORDS.len())]
    }

    fn spec(&mut self, id: String) -> OrgSpec {
        let kind = KINDS[self.rng.index(KINDS.len())];
        let name = format!("{} {} {}", self.word(), self.word(), &id);
        let mut attrs = BTreeMap::new();
        if self.rng.chance(400) {
            attrs.insert("seat".into(), SITES[self.rng.index(SITES.len())].into());
        }
        OrgSpec {
            id: CompactString::from(id),
            name: CompactString::from(name),
            kind: CompactString::from(kind),
            attrs,
        }
    }

    fn event(&mut self, body: Body, date: Date) -> Event {
        Event {
            body,
            date,
            sources: self.sources(),
            note: None,
            fulfils: None,
        }
    }

    fn alive_org(&mut self) -> Option<String> {
        self.rng.pick(&self.alive).cloned()
    }

    fn two_alive(&mut self) -> Option<(String, String)> {
        if self.alive.len() < 2 {
            return None;
        }
        let a = self.rng.index(self.alive.len());
        let mut b = self.rng.index(self.alive.len() - 1);
        if b >= a {
            b += 1;
        }
        Some((self.alive[a].clone(), self.alive[b].clone()))
    }

    // -- the mix ----------------------------------------------------------

    fn next_event(&mut self) -> (Event, Fate) {
        self.advance();
        if let Some(e) = self.due_plan() {
            return e;
        }
        loop {
            let candidate = if self.alive.len() < 8 {
                Some((self.created(), Fate::Plain))
            } else {
                self.candidate()
            };
            match candidate {
                Some((e, fate)) if self.fits(&e) => {
                    return (e, fate);
                }
                Some(_) => self.summary.discarded += 1,
                None => {}
            }
        }
    }

    fn created(&mut self) -> Event {
        let id = self.fresh_id("o");
        let org = self.spec(id);
        let date = self.written_date(Some(ANY));
        self.event(Body::Created { org }, date)
    }

    fn candidate(&mut self) -> Option<(Event, Fate)> {
        let roll = self.rng.below(1000);
        let plain = |e: Event| Some((e, Fate::Plain));
        match roll {
            0..=129 => plain(self.created()),
            130..=159 => self.transformed(ChangeMode::Fusion).and_then(plain),
            160..=189 => self.transformed(ChangeMode::Absorption).and_then(plain),
            190..=204 => self.transformed(ChangeMode::Split).and_then(plain),
            205..=214 => self.transformed(ChangeMode::SpinOff).and_then(plain),
            215..=229 => self.reestablishment().and_then(plain),
            230..=234 => self.transformed(ChangeMode::IdChange).and_then(plain),
            235..=274 => {
                let org = self.alive_org()?;
                let name = format!("{} {} {org}", self.word(), self.word());
                let d = self.day_now();
                plain(self.event(
                    Body::Renamed {
                        org: CompactString::from(org),
                        name: CompactString::from(name),
                    },
                    d,
                ))
            }
            275..=289 => {
                let org = self.alive_org()?;
                let d = self.day_now();
                plain(self.event(
                    Body::Dissolved {
                        org: CompactString::from(org),
                    },
                    d,
                ))
            }
            290..=329 => self.attribute().and_then(plain),
            330..=399 => {
                let holder = self.alive_org()?;
                let label = LABELS[self.rng.index(LABELS.len())].to_owned();
                let by = self
                    .rng
                    .chance(600)
                    .then(|| BODIES[self.rng.index(BODIES.len())].to_owned());
                let d = self.written_date(None);
                plain(self.event(
                    Body::LabelGranted {
                        label: CompactString::from(label),
                        holder: CompactString::from(holder),
                        by: by.map(CompactString::from),
                    },
                    d,
                ))
            }
            400..=429 => {
                let holder = self.alive_org()?;
                let label = self
                    .state
                    .orgs
                    .get(holder.as_str())?
                    .labels
                    .keys()
                    .next()?
                    .clone();
                let d = self.day_now();
                plain(self.event(
                    Body::LabelWithdrawn {
                        label,
                        holder: CompactString::from(holder),
                    },
                    d,
                ))
            }
            430..=469 => {
                let candidate = self.alive_org()?;
                let label = LABELS[self.rng.index(LABELS.len())].to_owned();
                let status = match self.rng.below(4) {
                    0 => CandidacyStatus::Refused,
                    1 => CandidacyStatus::Withdrawn,
                    _ => CandidacyStatus::Filed,
                };
                let d = self.written_date(None);
                plain(self.event(
                    Body::Candidacy {
                        label: CompactString::from(label),
                        candidate: CompactString::from(candidate),
                        status,
                    },
                    d,
                ))
            }
            470..=499 => {
                let owner = self.alive_org()?;
                let program = self.fresh_id("p");
                let name = format!("Programme {} {program}", self.word());
                let kind = Some(
                    ["call_for_projects", "cohort", "accelerator"][self.rng.index(3)].to_owned(),
                );
                let d = self.written_date(None);
                plain(self.event(
                    Body::ProgramLaunched {
                        program: CompactString::from(program),
                        name: CompactString::from(name),
                        owner: CompactString::from(owner),
                        kind: kind.map(CompactString::from),
                    },
                    d,
                ))
            }
            500..=514 => {
                let program = self.rng.pick(&self.programs)?.clone();
                let d = self.day_now();
                plain(self.event(
                    Body::ProgramEnded {
                        program: CompactString::from(program),
                    },
                    d,
                ))
            }
            515..=554 => {
                let org = self.alive_org()?;
                let site = SITES[self.rng.index(SITES.len())].to_owned();
                let d = self.written_date(None);
                plain(self.event(
                    Body::SiteOpened {
                        org: CompactString::from(org),
                        site: CompactString::from(site),
                    },
                    d,
                ))
            }
            555..=574 => {
                let org = self.alive_org()?;
                let site = self
                    .state
                    .orgs
                    .get(org.as_str())?
                    .sites
                    .keys()
                    .next()?
                    .clone();
                let d = self.day_now();
                plain(self.event(
                    Body::SiteClosed {
                        org: CompactString::from(org),
                        site,
                    },
                    d,
                ))
            }
            575..=634 => {
                let (org, other) = self.two_alive()?;
                let member = if self.rng.chance(500) {
                    Party::Org(CompactString::from(other))
                } else {
                    Party::Name(compact_str::format_compact!("{} SARL", self.word()))
                };
                let relation = if self.rng.chance(700) {
                    Relation::Member
                } else {
                    Relation::Partner
                };
                let d = self.day_now();
                plain(self.event(
                    Body::Joined {
                        org: CompactString::from(org),
                        member,
                        relation,
                    },
                    d,
                ))
            }
            635..=654 => {
                let org = self.alive_org()?;
                let o = self.state.orgs.get(org.as_str())?;
                let (member, relation) = match o.members.keys().next() {
                    Some(m) => (m.clone(), Relation::Member),
                    None => (o.partners.keys().next()?.clone(), Relation::Partner),
                };
                let d = self.day_now();
                plain(self.event(
                    Body::Left {
                        org: CompactString::from(org),
                        member,
                        relation,
                    },
                    d,
                ))
            }
            655..=704 => {
                let org = self.alive_org()?;
                let person = PEOPLE[self.rng.index(PEOPLE.len())].to_owned();
                let role = ROLES[self.rng.index(ROLES.len())].to_owned();
                let d = self.written_date(None);
                plain(self.event(
                    Body::RoleStarted {
                        org: CompactString::from(org),
                        person: CompactString::from(person),
                        role: CompactString::from(role),
                    },
                    d,
                ))
            }
            705..=724 => {
                let org = self.alive_org()?;
                let (role, people) = self.state.orgs.get(org.as_str())?.roles.iter().next()?;
                let person = people.keys().next()?.clone();
                let role = role.clone();
                let d = self.day_now();
                plain(self.event(
                    Body::RoleEnded {
                        org: CompactString::from(org),
                        person,
                        role,
                    },
                    d,
                ))
            }
            725..=824 => {
                let org = if self.rng.chance(150) && !self.programs.is_empty() {
                    self.rng.pick(&self.programs)?.clone()
                } else {
                    self.alive_org()?
                };
                let since = self.alive_from.get(&org).copied();
                let d = self.written_date(since);
                let e = self.figures(org, d);
                plain(e)
            }
            825..=859 => {
                let n = self.rng.below(3);
                let mut orgs = Vec::new();
                for _ in 0..n {
                    let o = self.alive_org()?;
                    if !orgs.contains(&o) {
                        orgs.push(o);
                    }
                }
                let summary = format!("{} meeting", self.word());
                let d = self.written_date(orgs.is_empty().then_some(ANY));
                plain(self.event(
                    Body::Milestone {
                        orgs: orgs.into_iter().map(CompactString::from).collect(),
                        summary: CompactString::from(summary),
                    },
                    d,
                ))
            }
            860..=889 => self.plan(),
            890..=919 => self.correction(),
            _ => self.backdated(),
        }
    }

    fn figures(&mut self, org: String, date: Date) -> Event {
        let mut values = BTreeMap::new();
        let n = 1 + self.rng.below(2);
        for _ in 0..n {
            let k = CompactString::from(FIGURES[self.rng.index(FIGURES.len())]);
            values.insert(k, self.rng.below(5_000));
        }
        self.event(
            Body::Figures {
                org: CompactString::from(org),
                values,
            },
            date,
        )
    }

    fn attribute(&mut self) -> Option<Event> {
        let org = self.alive_org()?;
        let key = ATTRS[self.rng.index(ATTRS.len())].to_owned();
        let has = self
            .state
            .orgs
            .get(org.as_str())?
            .attrs
            .contains_key(key.as_str());
        let value = if has && self.rng.chance(300) {
            None
        } else {
            Some(format!("{}-{}", self.word(), self.rng.below(1000)))
        };
        let d = self.day_now();
        Some(self.event(
            Body::AttributeSet {
                org: CompactString::from(org),
                key: CompactString::from(key),
                value: value.map(CompactString::from),
            },
            d,
        ))
    }

    fn transformed(&mut self, mode: ChangeMode) -> Option<Event> {
        let (from, to, new) = match mode {
            ChangeMode::Fusion => {
                let (a, b) = self.two_alive()?;
                let mut from = vec![a, b];
                if self.rng.chance(200)
                    && let Some(c) = self.alive_org()
                    && !from.contains(&c)
                {
                    from.push(c);
                }
                let id = self.fresh_id("o");
                let spec = self.spec(id.clone());
                (from, vec![id], vec![spec])
            }
            ChangeMode::Absorption => {
                let (a, b) = self.two_alive()?;
                (vec![a], vec![b], Vec::new())
            }
            ChangeMode::Split => {
                let f = self.alive_org()?;
                let (x, y) = (self.fresh_id("o"), self.fresh_id("o"));
                let new = vec![self.spec(x.clone()), self.spec(y.clone())];
                (vec![f], vec![x, y], new)
            }
            ChangeMode::SpinOff => {
                let f = self.alive_org()?;
                let x = self.fresh_id("o");
                let new = vec![self.spec(x.clone())];
                (vec![f], vec![x], new)
            }
            ChangeMode::IdChange => {
                let f = self.alive_org()?;
                let x = self.fresh_id("o");
                (vec![f], vec![x], Vec::new())
            }
            ChangeMode::Reestablishment => return None,
        };
        let d = self.day_now();
        Some(self.event(
            Body::Transformed {
                mode,
                from: from.into_iter().map(CompactString::from).collect(),
                to: to.into_iter().map(CompactString::from).collect(),
                new,
            },
            d,
        ))
    }

    fn reestablishment(&mut self) -> Option<Event> {
        let i = self.rng.index(self.merged.len());
        let target = self.merged.get(i)?.clone();
        let ended = self.state.orgs.get(target.as_str())?.ended.as_ref()?;
        // The first living descendant of the merger.
        let mut stack: Vec<&str> = ended.into.iter().map(CompactString::as_str).collect();
        let mut seen = std::collections::HashSet::new();
        let mut source = None;
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            let Some(o) = self.state.orgs.get(id) else {
                continue;
            };
            if o.is_alive() {
                source = Some(id.to_owned());
                break;
            }
            stack.extend(o.successors.iter().map(|l| l.id.as_str()));
        }
        let source = source?;
        self.merged.swap_remove(i);
        let d = self.day_now();
        Some(self.event(
            Body::Transformed {
                mode: ChangeMode::Reestablishment,
                from: vec![CompactString::from(source)],
                to: vec![CompactString::from(target)],
                new: Vec::new(),
            },
            d,
        ))
    }

    fn plan(&mut self) -> Option<(Event, Fate)> {
        let stated = self.day_now();
        let ahead = 30 + self.rng.below(900);
        let due = self.today().checked_add_days(Days::new(ahead))?;
        let inner_date = match self.rng.below(4) {
            0 => format!("{}", due.year()),
            1 => format!("{}-{:02}", due.year(), due.month()),
            _ => due.format("%Y-%m-%d").to_string(),
        };
        let inner_date = Date::parse(&inner_date).ok()?;
        let due = inner_date.start();
        let body = match self.rng.below(4) {
            0 => {
                let (a, b) = self.two_alive()?;
                let id = self.fresh_id("o");
                let spec = self.spec(id.clone());
                Body::Transformed {
                    mode: ChangeMode::Fusion,
                    from: vec![CompactString::from(a), CompactString::from(b)],
                    to: vec![CompactString::from(id)],
                    new: vec![spec],
                }
            }
            1 => {
                let org = self.alive_org()?;
                Body::Renamed {
                    name: compact_str::format_compact!("{} {org}", self.word()),
                    org: CompactString::from(org),
                }
            }
            2 => {
                let owner = self.alive_org()?;
                let program = self.fresh_id("p");
                Body::ProgramLaunched {
                    name: compact_str::format_compact!("Programme {program}"),
                    program: CompactString::from(program),
                    owner: CompactString::from(owner),
                    kind: None,
                }
            }
            _ => Body::LabelGranted {
                label: CompactString::from(LABELS[self.rng.index(LABELS.len())]),
                holder: CompactString::from(self.alive_org()?),
                by: None,
            },
        };
        let planned = self.event(body, inner_date);
        let fulfil = self.rng.chance(700);
        let e = self.event(
            Body::Planned {
                planned: Box::new(planned),
            },
            stated,
        );
        Some((e, Fate::Plan { due, fulfil }))
    }

    /// The event carrying out the first plan that has fallen due, if any.
    fn due_plan(&mut self) -> Option<(Event, Fate)> {
        let today = self.today();
        let limit = self.referable();
        let i = self
            .pending
            .iter()
            .position(|p| p.due <= today && p.seq <= limit)?;
        let p = self.pending.swap_remove(i);
        if !p.fulfil {
            // Half the plans never carried out are given up in so many
            // words; the others are left overdue.
            if p.seq.is_multiple_of(2) {
                let date = self.day_now();
                let e = self.event(
                    Body::PlanAbandoned {
                        plan: CompactString::from(p.hash),
                    },
                    date,
                );
                return Some((e, Fate::Plain));
            }
            return None;
        }
        let mut e = p.planned;
        e.date = self.day_now();
        e.fulfils = Some(CompactString::from(p.hash));
        if self.fits(&e) {
            // A fulfilment is never corrected: it stays Plain but is not
            // correctable (see `after`).
            Some((e, Fate::Plain))
        } else {
            self.summary.discarded += 1;
            None
        }
    }

    fn correction(&mut self) -> Option<(Event, Fate)> {
        // Prefer recent records, as a real editor would.
        let limit = self.referable();
        let len = self.correctable.partition_point(|c| c.seq <= limit);
        if len == 0 {
            return None;
        }
        let window = len.min(500);
        let i = len - 1 - self.rng.index(window);
        let target = self.correctable.remove(i);
        let date = self.day_now();
        let supersede = self.rng.chance(500);
        let replacement = if supersede {
            let mut r = match &target.event.body {
                Body::Figures { org, .. } => {
                    let d = self.day_now();
                    self.figures(org.to_string(), d)
                }
                Body::Planned { planned } => {
                    // The plan is postponed: same event, later date.
                    let mut inner = (**planned).clone();
                    let later = inner.date.end().checked_add_days(Days::new(365))?;
                    inner.date = Date::from_day(later);
                    let d = self.day_now();
                    self.event(
                        Body::Planned {
                            planned: Box::new(inner),
                        },
                        d,
                    )
                }
                Body::Renamed { org, .. } => {
                    let name = format!("{} {} {org}", self.word(), self.word());
                    let d = self.day_now();
                    self.event(
                        Body::Renamed {
                            org: org.clone(),
                            name: CompactString::from(name),
                        },
                        d,
                    )
                }
                _ => {
                    let summary = format!("{} (corrected)", self.word());
                    let d = self.day_now();
                    self.event(
                        Body::Milestone {
                            orgs: Vec::new(),
                            summary: CompactString::from(summary),
                        },
                        d,
                    )
                }
            };
            r.note = Some(CompactString::from(
                "corrected after a second source".to_owned(),
            ));
            if !self.fits(&r) {
                // Fall back to a retraction.
                None
            } else {
                Some(Box::new(r))
            }
        } else {
            None
        };
        // A corrected plan is no longer pending; a superseding plan takes
        // its place (tracked in `after` under the correction's hash).
        self.pending.retain(|p| p.hash != target.hash);
        let mode = if replacement.is_some() {
            CorrectionMode::Supersede
        } else {
            CorrectionMode::Retract
        };
        let e = self.event(
            Body::Correction {
                target: CompactString::from(target.hash),
                mode,
                replacement,
                reason: "a later source contradicts it".into(),
            },
            date,
        );
        Some((e, Fate::Correction))
    }

    /// An event dated before earlier ones, of a kind that cannot change the
    /// validity of anything already in the timeline.
    fn backdated(&mut self) -> Option<(Event, Fate)> {
        let today = self.today();
        match self.rng.below(3) {
            0 => {
                let back = 1 + self.rng.below(3650);
                let day = today.checked_sub_days(Days::new(back))?.max(self.first_day);
                let date = if self.rng.chance(300) {
                    Date::parse(&format!("{}", day.year())).ok()?
                } else {
                    Date::from_day(day)
                };
                let id = self.fresh_id("o");
                let org = self.spec(id);
                let e = self.event(Body::Created { org }, date);
                Some((e, Fate::Backdated))
            }
            1 => {
                let org = self.alive_org()?;
                let from = *self.alive_from.get(&org)?;
                let lo = from.1.succ_opt()?;
                if lo > today {
                    return None;
                }
                let span = (today - lo).num_days().max(0) as u64;
                let day = lo.checked_add_days(Days::new(self.rng.below(span + 1)))?;
                let e = self.figures(org, Date::from_day(day));
                Some((e, Fate::Backdated))
            }
            _ => {
                let back = 1 + self.rng.below(20 * 365);
                let day = today.checked_sub_days(Days::new(back))?.max(self.first_day);
                let date = Date::parse(&format!("{}-{:02}", day.year(), day.month())).ok()?;
                let summary = format!("{} archives found", self.word());
                let e = self.event(
                    Body::Milestone {
                        orgs: Vec::new(),
                        summary: CompactString::from(summary),
                    },
                    date,
                );
                Some((e, Fate::Backdated))
            }
        }
    }

    // -- bookkeeping --------------------------------------------------------

    fn after(&mut self, record: &Record, event: Event, fate: Fate) {
        let k = key(&event.date);
        let backdated = k < self.last;
        let name = match &event.body {
            Body::Transformed { mode, .. } => format!("transformed/{}", mode.as_str()),
            b => b.type_name().to_owned(),
        };
        *self.summary.by_type.entry(name).or_default() += 1;
        if backdated {
            self.summary.backdated += 1;
        } else {
            self.last = k;
        }
        let d = &event.date;
        if d.precision() != crate::date::Precision::Day || d.is_approximate() || d.is_uncertain() {
            self.summary.imprecise += 1;
        }
        // Bookkeeping of who lives, from the event about to be applied.
        let seq = record.seq;
        match &event.body {
            Body::Created { org } => self.born(&org.id, k),
            Body::Transformed {
                mode,
                from,
                to,
                new,
                ..
            } => {
                for n in new {
                    self.born(&n.id, k);
                }
                match mode {
                    ChangeMode::Fusion | ChangeMode::Absorption => {
                        for f in from {
                            self.died(f);
                            self.merged.push(f.to_string());
                        }
                    }
                    ChangeMode::Split => from.iter().for_each(|f| self.died(f)),
                    ChangeMode::IdChange => {
                        from.iter().for_each(|f| self.died(f));
                        to.iter().for_each(|t| self.born(t, k));
                    }
                    ChangeMode::Reestablishment => to.iter().for_each(|t| self.born(t, k)),
                    ChangeMode::SpinOff => {}
                }
            }
            Body::Dissolved { org } => self.died(org),
            Body::ProgramLaunched { program, .. } => {
                self.program_pos
                    .insert(program.to_string(), self.programs.len());
                self.programs.push(program.to_string());
            }
            Body::ProgramEnded { program } => {
                if let Some(i) = self.program_pos.remove(program.as_str()) {
                    self.programs.swap_remove(i);
                    if let Some(moved) = self.programs.get(i) {
                        self.program_pos.insert(moved.clone(), i);
                    }
                }
            }
            _ => {}
        }
        match fate {
            Fate::Plan { due, fulfil } => self.pending.push(Pending {
                seq: record.seq,
                hash: record.hash.clone(),
                due,
                planned: match &event.body {
                    Body::Planned { planned } => (**planned).clone(),
                    _ => event.clone(),
                },
                fulfil,
            }),
            Fate::Correction => {
                if let Body::Correction {
                    replacement: Some(r),
                    ..
                } = &event.body
                {
                    if let Body::Planned { planned } = &r.body {
                        self.pending.push(Pending {
                            seq: record.seq,
                            hash: record.hash.clone(),
                            due: planned.date.start(),
                            planned: (**planned).clone(),
                            fulfil: true,
                        });
                    } else {
                        fold::apply(&mut self.state, seq, r);
                    }
                }
            }
            Fate::Plain | Fate::Backdated => {
                let can_correct = event.fulfils.is_none()
                    && matches!(
                        event.body,
                        Body::Figures { .. }
                            | Body::Milestone { .. }
                            | Body::Renamed { .. }
                            | Body::Candidacy { .. }
                    );
                if can_correct && fate == Fate::Plain {
                    self.correctable.push(Correctable {
                        seq: record.seq,
                        hash: record.hash.clone(),
                        event: event.clone(),
                    });
                }
                // Only recent records are corrected: keep the list short.
                if self.correctable.len() > 4000 {
                    self.correctable.drain(..2000);
                }
            }
        }
        if let Fate::Plan { .. } = fate {
            self.correctable.push(Correctable {
                seq: record.seq,
                hash: record.hash.clone(),
                event: event.clone(),
            });
        }
        fold::apply(&mut self.state, seq, &event);
    }

    fn born(&mut self, id: &str, k: Key) {
        if !self.alive_pos.contains_key(id) {
            self.alive_pos.insert(id.to_owned(), self.alive.len());
            self.alive.push(id.to_owned());
        }
        self.alive_from.insert(id.to_owned(), k);
    }

    fn died(&mut self, id: &str) {
        if let Some(i) = self.alive_pos.remove(id) {
            self.alive.swap_remove(i);
            if let Some(moved) = self.alive.get(i) {
                self.alive_pos.insert(moved.clone(), i);
            }
        }
        self.alive_from.remove(id);
    }
}

fn season(month: u32) -> u32 {
    match month {
        3..=5 => 21,
        6..=8 => 22,
        9..=11 => 23,
        _ => 24,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Entry;

    fn opts(events: u64, seed: u64) -> Options {
        Options {
            events,
            seed,
            recorded: "2026-01-01T00:00:00Z".into(),
            batch: 50,
        }
    }

    fn entries(records: &[Record]) -> Vec<Entry> {
        records
            .iter()
            .map(|r| r.entry().expect("generated events parse"))
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_records_and_another_seed_others() {
        let a = records(&opts(200, 7));
        let b = records(&opts(200, 7));
        let c = records(&opts(200, 8));
        assert_eq!(a.len(), 200);
        assert_eq!(a, b);
        assert_ne!(a.last().map(|r| &r.hash), c.last().map(|r| &r.hash));
    }

    #[test]
    fn a_generated_ledger_chains_and_validates_in_blocks() {
        let recs = records(&opts(600, 42));
        let bytes: Vec<u8> = recs
            .iter()
            .flat_map(|r| {
                let mut l = r.to_line().into_bytes();
                l.push(b'\n');
                l
            })
            .collect();
        let chain = crate::chain::verify(&bytes, 2).expect("chain verifies");
        assert_eq!(chain.len(), 600);
        let all = entries(&recs);
        for start in (0..600).step_by(50) {
            let batch: Vec<Event> = all[start..start + 50]
                .iter()
                .map(|e| e.event.clone())
                .collect();
            crate::fold::validate(&all[..start], &batch, start as u64 + 1)
                .unwrap_or_else(|e| panic!("block at {start}: {e}"));
        }
    }

    #[test]
    fn any_block_boundary_splits_history_and_batch() {
        let recs = records(&opts(400, 3));
        let all = entries(&recs);
        // Batches of 25 (a divisor of the block size 50), and of one.
        for cut in [0usize, 25, 150, 375] {
            let batch: Vec<Event> = all[cut..cut + 25].iter().map(|e| e.event.clone()).collect();
            crate::fold::validate(&all[..cut], &batch, cut as u64 + 1)
                .unwrap_or_else(|e| panic!("batch from {cut}: {e}"));
        }
        for cut in [7usize, 123, 333] {
            crate::fold::validate(&all[..cut], &[all[cut].event.clone()], cut as u64 + 1)
                .unwrap_or_else(|e| panic!("single event at {cut}: {e}"));
        }
    }

    #[test]
    fn the_mix_covers_the_vocabulary() {
        let g = generate(&opts(5000, 1), |_| Ok::<(), ()>(())).expect("no sink error");
        for t in [
            "created",
            "transformed/fusion",
            "transformed/absorption",
            "transformed/split",
            "transformed/spin_off",
            "transformed/reestablishment",
            "transformed/id_change",
            "renamed",
            "dissolved",
            "attribute_set",
            "label_granted",
            "label_withdrawn",
            "candidacy",
            "program_launched",
            "program_ended",
            "site_opened",
            "site_closed",
            "joined",
            "left",
            "role_started",
            "role_ended",
            "figures",
            "milestone",
            "planned",
            "plan_abandoned",
            "correction",
        ] {
            assert!(g.by_type.get(t).copied().unwrap_or(0) > 0, "no {t}: {g:?}");
        }
        assert!(g.backdated > 0 && g.imprecise > 0, "{g:?}");
        let recs = records(&opts(5000, 1));
        let fulfilled = recs
            .iter()
            .filter(|r| r.event.get("fulfils").is_some())
            .count();
        assert!(fulfilled > 0, "no plan was fulfilled");
        let modes: Vec<&str> = recs
            .iter()
            .filter_map(|r| r.event.get("mode").and_then(|m| m.as_str()))
            .collect();
        assert!(modes.contains(&"retract") && modes.contains(&"supersede"));
    }

    #[test]
    fn the_rng_is_splitmix64() {
        // Reference values of SplitMix64 seeded with 0.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert!((0..1000).all(|_| r.below(10) < 10));
    }
}
