//! The point-in-time view: the landscape on a day, as known at a ledger
//! position ([`replay`]), its renderers ([`render_text`],
//! [`render_markdown`], JSON through serde) and the parsing of positions
//! ([`resolve_position`]).
//!
//! A fact dated with a period that `as_of` falls inside (before its last
//! day), or with a `~`/`?` qualifier, is *tentative*: the JSON says
//! `"tentative": true` and the text says "possibly since" (or "possibly
//! ended", "possibly" before a date). An organisation or program whose end
//! is under way on `as_of` (the day inside the end's period, before its
//! last day) possibly still exists: the default view shows it, ended
//! tentatively.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::mpsc;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::event::{Party, short_hash};
use crate::fold::{Figure, Knowledge, Org, PlanStatus, Small, Stamp, State};
use crate::record::{Entry, GENESIS_PREV};

/// The ledger position a view was folded from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownAt {
    /// Records with `seq <= this` are known (0: none).
    pub seq: u64,
    /// The hash of that record (64 zeros for seq 0).
    pub hash: String,
}

/// The landscape on a day, as known at a position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// The day shown, `YYYY-MM-DD`.
    pub as_of: String,
    /// The state of knowledge.
    pub known_at: KnownAt,
    /// Organisations in existence on `as_of` (with `--all`, ended ones too),
    /// by id.
    pub organisations: Vec<OrgView>,
    /// Plans stated on or before `as_of` that have not happened yet (with
    /// `--all`, also those fulfilled, abandoned, retracted or superseded),
    /// by seq.
    pub planned: Vec<PlanView>,
}

/// One organisation in a view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgView {
    /// Identifier.
    pub id: String,
    /// Name on `as_of`.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Start of its existence, as written (precision kept).
    pub since: String,
    /// Whether `since` is only possibly before `as_of`.
    pub since_tentative: bool,
    /// Seq of the event that created it.
    pub since_seq: u64,
    /// Attributes, `seat` among them.
    pub attrs: BTreeMap<String, String>,
    /// Open sites.
    pub sites: Vec<SiteView>,
    /// Labels held.
    pub labels: Vec<LabelView>,
    /// Programs it runs (with `--all`, ended ones too).
    pub programs: Vec<ProgramView>,
    /// Latest figure per name.
    pub figures: Vec<FigureView>,
    /// People in roles.
    pub roles: Vec<RoleView>,
    /// Members.
    pub members: Vec<PartyView>,
    /// Partners.
    pub partners: Vec<PartyView>,
    /// Where it came from.
    pub predecessors: Vec<LinkView>,
    /// What it went into or carved out.
    pub successors: Vec<LinkView>,
    /// Earlier names, oldest first.
    pub former_names: Vec<FormerName>,
    /// Set for an ended organisation (shown with `--all`, or when its end
    /// is under way on `as_of`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<EndedView>,
}

/// An open site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteView {
    /// The place.
    pub site: String,
    /// Opened on.
    pub since: String,
    /// Seq of the record that opened it.
    pub seq: u64,
    /// Only possibly open on `as_of`.
    pub tentative: bool,
}

/// A label held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelView {
    /// The label.
    pub label: String,
    /// The granting body, if known.
    pub by: Option<String>,
    /// Granted on.
    pub since: String,
    /// Seq of the record that granted it.
    pub seq: u64,
    /// Only possibly held on `as_of`.
    pub tentative: bool,
}

/// A program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramView {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind, if given.
    pub kind: Option<String>,
    /// Launched on.
    pub since: String,
    /// Seq of the record that launched it.
    pub seq: u64,
    /// Only possibly running on `as_of`.
    pub tentative: bool,
    /// Its latest figures.
    pub figures: Vec<FigureView>,
    /// End date, if it has ended (with `--all`, or when its end is under
    /// way on `as_of`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// Set with `ended`: whether it only possibly ended by `as_of`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_tentative: Option<bool>,
}

/// A figure with its date and sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FigureView {
    /// Name: `members`, `staff`…
    pub name: String,
    /// Value.
    pub value: u64,
    /// The date it describes.
    pub date: String,
    /// Seq of the event.
    pub seq: u64,
    /// The documents it comes from.
    pub sources: Vec<String>,
    /// Only possibly the value on `as_of`.
    pub tentative: bool,
}

/// A person in a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleView {
    /// The role.
    pub role: String,
    /// The person.
    pub person: String,
    /// Since.
    pub since: String,
    /// Seq of the record that started it.
    pub seq: u64,
    /// Only possibly in the role on `as_of`.
    pub tentative: bool,
}

/// A member or partner: `{"org": id}` or `{"name": text}`, with since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyView {
    /// The party.
    #[serde(flatten)]
    pub party: Party,
    /// Since.
    pub since: String,
    /// Seq of the record that made it one.
    pub seq: u64,
    /// Only possibly a member on `as_of`.
    pub tentative: bool,
}

/// A lineage link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    /// The other organisation.
    pub id: String,
    /// The change: `fusion`, `absorption`…
    pub mode: String,
    /// When.
    pub date: String,
    /// Seq of the change.
    pub seq: u64,
    /// Only possibly happened by `as_of`.
    pub tentative: bool,
}

/// A former name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormerName {
    /// The name.
    pub name: String,
    /// Used since.
    pub since: String,
    /// Seq of the record that gave it.
    pub seq: u64,
    /// Only possibly used by `as_of`.
    pub tentative: bool,
}

/// How an organisation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedView {
    /// When.
    pub date: String,
    /// `dissolved`, or the change mode.
    pub how: String,
    /// Successors.
    pub into: Vec<String>,
    /// Seq of the event.
    pub seq: u64,
    /// Only possibly ended by `as_of`.
    pub tentative: bool,
}

/// A plan in a view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    /// Seq of the record that states it.
    pub seq: u64,
    /// Its hash: what `fulfils` names.
    pub hash: String,
    /// When it was stated.
    pub stated: String,
    /// When it is to happen.
    pub date: String,
    /// The planned event's type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// One line.
    pub summary: String,
    /// Status on `as_of`.
    pub status: PlanStatus,
    /// Seq of the event that fulfilled it by `as_of`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfilled_by: Option<u64>,
    /// Seq of the `plan_abandoned` event that gave it up by `as_of`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandoned_by: Option<u64>,
    /// Seq of the correction that retracted or superseded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected_by: Option<u64>,
}

/// What a view includes beyond the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewOptions {
    /// Also ended organisations and programs, and plans already fulfilled,
    /// abandoned, retracted or superseded (`--all`). Without it, those whose end is
    /// under way on the day shown are still shown, possibly ended.
    pub include_ended: bool,
}

/// The landscape on `as_of`, as known at seq `known_at` (clamped to the
/// head), without ended organisations.
pub fn replay(entries: &[Entry], as_of: NaiveDate, known_at: u64) -> View {
    replay_with(entries, as_of, known_at, ViewOptions::default())
}

/// As [`replay`], with options.
pub fn replay_with(
    entries: &[Entry],
    as_of: NaiveDate,
    known_at: u64,
    options: ViewOptions,
) -> View {
    let knowledge = Knowledge::new(entries, known_at);
    let state = knowledge.fold_until(as_of);
    let hash = entries
        .binary_search_by_key(&knowledge.position, |e| e.seq)
        .ok()
        .and_then(|i| entries.get(i))
        .map_or(GENESIS_PREV, |e| e.hash.as_str());
    view_of(&knowledge, &state, hash, as_of, options)
}

/// Builds the view from a knowledge and the state folded from it up to
/// `as_of`; `hash` is the hash of the record at `knowledge.position`.
pub fn view_of(
    knowledge: &Knowledge<'_>,
    state: &State,
    hash: &str,
    as_of: NaiveDate,
    options: ViewOptions,
) -> View {
    ViewSource {
        knowledge,
        state,
        hash,
        as_of,
        options,
    }
    .build()
}

/// A view not built yet: what [`view_of`] reads. [`ViewSource::write_json`]
/// writes the JSON of the [`View`] it would build, byte for byte what
/// [`render_json`] gives, a batch of organisations at a time: a large
/// landscape is never held twice, once folded and once as a view.
#[derive(Clone, Copy)]
pub struct ViewSource<'a> {
    /// The state of knowledge (for the plans and the position).
    pub knowledge: &'a Knowledge<'a>,
    /// The state folded from it up to `as_of`.
    pub state: &'a State,
    /// The hash of the record at `knowledge.position`.
    pub hash: &'a str,
    /// The day shown.
    pub as_of: NaiveDate,
    /// What the view includes.
    pub options: ViewOptions,
}

impl ViewSource<'_> {
    /// The view, built whole.
    pub fn build(&self) -> View {
        View {
            as_of: self.as_of_text(),
            known_at: self.known_at(),
            organisations: self.organisations().collect(),
            planned: self.planned(),
        }
    }

    /// Writes the view as pretty JSON, with a final newline: byte for byte
    /// what [`render_json`] gives for the built view.
    ///
    /// Organisations are rendered 512 at a time on `threads` threads
    /// and written in order as their batches are done, so at most a few
    /// batches are held as text at once.
    pub fn write_json(&self, mut out: impl std::io::Write, threads: usize) -> std::io::Result<()> {
        let shown: Vec<&Org> = self.shown().collect();
        // serde_json's pretty layout, as it nests `View`'s fields (one line
        // per member, two spaces per level). A line break in its output is
        // never inside a string (strings escape it), so a value rendered on
        // its own is nested by indenting every line after its first.
        out.write_all(b"{\n  \"as_of\": ")?;
        serde_json::to_writer(&mut out, &self.as_of_text())?;
        out.write_all(b",\n  \"known_at\": ")?;
        write_nested(&mut out, &self.known_at(), 1)?;
        out.write_all(b",\n  \"organisations\": [")?;
        self.in_batches(
            &shown,
            threads,
            |first, batch| {
                let mut text = Vec::with_capacity(batch.len() * 1024);
                for (k, o) in batch.iter().enumerate() {
                    if first + k > 0 {
                        text.push(b',');
                    }
                    text.extend_from_slice(b"\n    ");
                    write_nested(&mut text, &self.view(o), 2)?;
                }
                Ok(text)
            },
            |text| out.write_all(&text),
        )?;
        if !shown.is_empty() {
            out.write_all(b"\n  ")?;
        }
        out.write_all(b"],\n  \"planned\": ")?;
        write_nested(&mut out, &self.planned(), 1)?;
        out.write_all(b"\n}\n")
    }

    /// Writes the view as [`render_text`] renders the built view, byte
    /// for byte, without building it: the organisations are rendered on
    /// `threads` threads, a batch at a time, once to size the table's
    /// columns, once for the table and once for the details.
    pub fn write_text(&self, mut out: impl std::io::Write, threads: usize) -> std::io::Result<()> {
        let shown: Vec<&Org> = self.shown().collect();
        out.write_all(text_head(&self.as_of_text(), &self.known_at()).as_bytes())?;
        if shown.is_empty() {
            out.write_all(NO_ORGANISATIONS.as_bytes())?;
        } else {
            let mut widths: Vec<usize> = TEXT_COLUMNS.iter().map(|h| width(h)).collect();
            self.in_batches(
                &shown,
                threads,
                |_, batch| {
                    let mut w = vec![0; TEXT_COLUMNS.len()];
                    for o in batch {
                        widen(&mut w, &text_row(&self.view(o)));
                    }
                    Ok(w)
                },
                |w| {
                    for (all, batch) in widths.iter_mut().zip(w) {
                        *all = (*all).max(batch);
                    }
                    Ok(())
                },
            )?;
            let mut head = String::new();
            table_line(&mut head, &widths, TEXT_COLUMNS.iter().copied());
            out.write_all(head.as_bytes())?;
            let widths = &widths;
            self.in_batches(
                &shown,
                threads,
                |_, batch| {
                    let mut text = String::with_capacity(batch.len() * 128);
                    for o in batch {
                        let row = text_row(&self.view(o));
                        table_line(&mut text, widths, row.iter().map(String::as_str));
                    }
                    Ok(text)
                },
                |text| out.write_all(text.as_bytes()),
            )?;
            self.write_each(&shown, threads, &mut out, text_details)?;
        }
        let mut tail = String::new();
        text_plans(&mut tail, &self.planned());
        out.write_all(tail.as_bytes())
    }

    /// Writes the view as [`render_markdown`] renders the built view, byte
    /// for byte, without building it (as [`ViewSource::write_text`] does).
    pub fn write_markdown(
        &self,
        mut out: impl std::io::Write,
        threads: usize,
    ) -> std::io::Result<()> {
        let shown: Vec<&Org> = self.shown().collect();
        out.write_all(markdown_head(&self.as_of_text(), &self.known_at()).as_bytes())?;
        if shown.is_empty() {
            out.write_all(NO_ORGANISATIONS.as_bytes())?;
            out.write_all(b"\n")?;
        } else {
            out.write_all(MARKDOWN_COLUMNS.as_bytes())?;
            self.write_each(&shown, threads, &mut out, markdown_row)?;
            out.write_all(b"\n")?;
            self.write_each(&shown, threads, &mut out, markdown_details)?;
        }
        let mut tail = String::new();
        markdown_plans(&mut tail, &self.planned());
        out.write_all(tail.as_bytes())
    }

    /// Writes what `render` makes of each organisation the view would
    /// show, in the view's order, rendered a batch at a time on `threads`
    /// threads: for other layouts of the view (see
    /// [`crate::export::write_view_csv`]).
    pub fn write_organisations(
        &self,
        out: &mut impl std::io::Write,
        threads: usize,
        render: fn(&mut String, &OrgView),
    ) -> std::io::Result<()> {
        let shown: Vec<&Org> = self.shown().collect();
        self.write_each(&shown, threads, out, render)
    }

    /// Writes what `render` makes of each organisation of `shown`, in
    /// order, rendered a batch at a time on `threads` threads.
    fn write_each(
        &self,
        shown: &[&Org],
        threads: usize,
        out: &mut impl std::io::Write,
        render: fn(&mut String, &OrgView),
    ) -> std::io::Result<()> {
        self.in_batches(
            shown,
            threads,
            |_, batch| {
                let mut text = String::with_capacity(batch.len() * 256);
                for o in batch {
                    render(&mut text, &self.view(o));
                }
                Ok(text)
            },
            |text| out.write_all(text.as_bytes()),
        )
    }

    /// The view of one organisation.
    fn view(&self, o: &Org) -> OrgView {
        org_view(o, self.state, self.as_of, self.options)
    }

    /// Hands `sink`, in order, what `render` makes of each batch of
    /// [`BATCH`] organisations of `shown` (given the index of the batch's
    /// first organisation), the batches rendered on `threads` threads;
    /// at most two batches per thread wait for the sink.
    fn in_batches<T: Send>(
        &self,
        shown: &[&Org],
        threads: usize,
        render: impl Fn(usize, &[&Org]) -> std::io::Result<T> + Sync,
        mut sink: impl FnMut(T) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let batches: Vec<&[&Org]> = shown.chunks(BATCH).collect();
        let threads = threads.clamp(1, batches.len().max(1));
        let render = &render;
        std::thread::scope(|scope| {
            let mut inboxes = Vec::with_capacity(threads);
            for t in 0..threads {
                let (tx, rx) = mpsc::sync_channel::<std::io::Result<T>>(2);
                inboxes.push(rx);
                let mine = batches.iter().enumerate().skip(t).step_by(threads);
                let mine: Vec<(usize, &[&Org])> = mine.map(|(b, batch)| (b, *batch)).collect();
                scope.spawn(move || {
                    for (b, batch) in mine {
                        let rendered = render(b * BATCH, batch);
                        let failed = rendered.is_err();
                        if tx.send(rendered).is_err() || failed {
                            return;
                        }
                    }
                });
            }
            for b in 0..batches.len() {
                let Ok(rendered) = inboxes[b % threads].recv() else {
                    return Err(std::io::Error::other("a thread rendering the view stopped"));
                };
                sink(rendered?)?;
            }
            Ok(())
        })
    }

    /// The day shown, `YYYY-MM-DD` (the view's `as_of`).
    pub fn as_of_text(&self) -> String {
        self.as_of.format("%Y-%m-%d").to_string()
    }

    /// The position the view is folded at (the view's `known_at`).
    pub fn known_at(&self) -> KnownAt {
        KnownAt {
            seq: self.knowledge.position,
            hash: self.hash.to_owned(),
        }
    }

    /// The organisations shown, in id order: those alive, those whose end
    /// is under way on `as_of` (possibly alive), and with `--all` the rest.
    fn shown(&self) -> impl Iterator<Item = &Org> + '_ {
        self.state.orgs.values().filter(|o| {
            self.options.include_ended
                || o.ended
                    .as_ref()
                    .is_none_or(|e| e.at.date.is_under_way_on(self.as_of))
        })
    }

    /// The organisations shown, in id order, built one at a time.
    fn organisations(&self) -> impl Iterator<Item = OrgView> + '_ {
        self.shown()
            .map(|o| org_view(o, self.state, self.as_of, self.options))
    }

    fn planned(&self) -> Vec<PlanView> {
        let (as_of, options) = (self.as_of, self.options);
        self.knowledge
            .plans
            .iter()
            .filter(|p| p.stated.counts_on(as_of))
            .filter_map(|p| {
                let status = p.status_on(as_of);
                if !options.include_ended
                    && !matches!(status, PlanStatus::Pending | PlanStatus::Overdue)
                {
                    return None;
                }
                Some(PlanView {
                    seq: p.seq,
                    hash: p.hash.to_owned(),
                    stated: p.stated.to_string(),
                    date: p.planned.date.to_string(),
                    event_type: p.planned.type_name().to_owned(),
                    summary: p.planned.summary(),
                    status,
                    fulfilled_by: match status {
                        PlanStatus::Fulfilled => p.fulfilled_on(as_of).map(|f| f.seq),
                        _ => None,
                    },
                    abandoned_by: match status {
                        PlanStatus::Abandoned => p.abandoned_on(as_of).map(|f| f.seq),
                        _ => None,
                    },
                    corrected_by: p.corrected.map(|c| c.seq),
                })
            })
            .collect()
    }
}

/// How many organisations [`ViewSource::write_json`] (and the other
/// writers) render at a time.
const BATCH: usize = 512;

/// Writes `value` as pretty JSON nested `depth` levels deep: each line
/// after the first indented by two spaces per level.
pub(crate) fn write_nested(
    out: &mut impl std::io::Write,
    value: &impl Serialize,
    depth: usize,
) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(value)?;
    let indent = format!("\n{}", "  ".repeat(depth));
    let indent = indent.as_bytes();
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', &text) {
        out.write_all(text.get(start..newline).unwrap_or_default())?;
        out.write_all(indent)?;
        start = newline + 1;
    }
    out.write_all(text.get(start..).unwrap_or_default())
}

fn tentative(d: &Date, as_of: NaiveDate) -> bool {
    d.is_tentative_on(as_of)
}

fn figures_view(figures: &Small<CompactString, Figure>, as_of: NaiveDate) -> Vec<FigureView> {
    figures
        .iter()
        .map(|(name, f)| FigureView {
            name: name.to_string(),
            value: f.value,
            date: f.at.date.to_string(),
            seq: f.at.seq,
            sources: f.sources.iter().map(|s| s.doc.to_string()).collect(),
            tentative: tentative(&f.at.date, as_of),
        })
        .collect()
}

fn parties(map: &Small<Party, Stamp>, as_of: NaiveDate) -> Vec<PartyView> {
    map.iter()
        .map(|(party, s)| PartyView {
            party: party.clone(),
            since: s.date.to_string(),
            seq: s.seq,
            tentative: tentative(&s.date, as_of),
        })
        .collect()
}

fn links(links: &[crate::fold::Link], as_of: NaiveDate) -> Vec<LinkView> {
    links
        .iter()
        .map(|l| LinkView {
            id: l.id.to_string(),
            mode: l.mode.as_str().to_owned(),
            date: l.at.date.to_string(),
            seq: l.at.seq,
            tentative: tentative(&l.at.date, as_of),
        })
        .collect()
}

fn org_view(o: &Org, state: &State, as_of: NaiveDate, options: ViewOptions) -> OrgView {
    let programs = o
        .programs
        .iter()
        .filter_map(|id| state.programs.get(id.as_str()))
        .filter(|p| {
            options.include_ended
                || p.ended
                    .as_ref()
                    .is_none_or(|e| e.date.is_under_way_on(as_of))
        })
        .map(|p| ProgramView {
            id: p.id.to_string(),
            name: p.name.to_string(),
            kind: p.kind.as_deref().map(str::to_owned),
            since: p.since.date.to_string(),
            seq: p.since.seq,
            tentative: tentative(&p.since.date, as_of),
            figures: figures_view(&p.figures, as_of),
            ended: p.ended.as_ref().map(|e| e.date.to_string()),
            ended_tentative: p.ended.as_ref().map(|e| tentative(&e.date, as_of)),
        })
        .collect();
    let roles = o
        .roles
        .iter()
        .flat_map(|(role, people)| {
            people.iter().map(move |(person, s)| RoleView {
                role: role.to_string(),
                person: person.to_string(),
                since: s.date.to_string(),
                seq: s.seq,
                tentative: tentative(&s.date, as_of),
            })
        })
        .collect();
    let former_names = o
        .names
        .iter()
        .take(o.names.len().saturating_sub(1))
        .map(|n| FormerName {
            name: n.name.to_string(),
            since: n.since.date.to_string(),
            seq: n.since.seq,
            tentative: tentative(&n.since.date, as_of),
        })
        .collect();
    OrgView {
        id: o.id.to_string(),
        name: o.name.to_string(),
        kind: o.kind.to_string(),
        since: o.since.date.to_string(),
        since_tentative: tentative(&o.since.date, as_of),
        since_seq: o.since.seq,
        attrs: o
            .attrs
            .iter()
            .map(|(k, a)| (k.to_string(), a.value.to_string()))
            .collect(),
        sites: o
            .sites
            .iter()
            .map(|(site, s)| SiteView {
                site: site.to_string(),
                since: s.date.to_string(),
                seq: s.seq,
                tentative: tentative(&s.date, as_of),
            })
            .collect(),
        labels: o
            .labels
            .iter()
            .map(|(label, h)| LabelView {
                label: label.to_string(),
                by: h.by.as_deref().map(str::to_owned),
                since: h.since.date.to_string(),
                seq: h.since.seq,
                tentative: tentative(&h.since.date, as_of),
            })
            .collect(),
        programs,
        figures: figures_view(&o.figures, as_of),
        roles,
        members: parties(&o.members, as_of),
        partners: parties(&o.partners, as_of),
        predecessors: links(&o.predecessors, as_of),
        successors: links(&o.successors, as_of),
        former_names,
        ended: o.ended.as_ref().map(|e| EndedView {
            date: e.at.date.to_string(),
            how: e.how.as_str().to_owned(),
            into: e.into.iter().map(|i| i.to_string()).collect(),
            seq: e.at.seq,
            tentative: tentative(&e.at.date, as_of),
        }),
    }
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

fn since_phrase(date: &str, tentative: bool) -> String {
    if tentative {
        format!("possibly since {date}")
    } else {
        format!("since {date}")
    }
}

/// A date, with "possibly " before it when tentative.
fn possibly(date: &str, tentative: bool) -> String {
    if tentative {
        format!("possibly {date}")
    } else {
        date.to_owned()
    }
}

fn party_text(p: &Party) -> String {
    match p {
        Party::Org(id) => id.to_string(),
        Party::Name(n) => n.to_string(),
    }
}

/// The detail lines of one organisation: (label, items).
fn details(o: &OrgView) -> Vec<(&'static str, Vec<String>)> {
    let dated = |what: String, since: &str, t: bool| format!("{what} ({})", since_phrase(since, t));
    let fig = |f: &FigureView| {
        format!(
            "{} {} ({}; {})",
            f.name,
            f.value,
            possibly(&f.date, f.tentative),
            f.sources.join("; ")
        )
    };
    let mut out: Vec<(&'static str, Vec<String>)> = vec![
        (
            "attributes",
            o.attrs
                .iter()
                .filter(|(k, _)| k.as_str() != "seat")
                .map(|(k, v)| format!("{k}: {v}"))
                .collect(),
        ),
        (
            "sites",
            o.sites
                .iter()
                .map(|s| dated(s.site.clone(), &s.since, s.tentative))
                .collect(),
        ),
        (
            "labels",
            o.labels
                .iter()
                .map(|l| {
                    let by =
                        l.by.as_ref()
                            .map(|b| format!(", by {b}"))
                            .unwrap_or_default();
                    format!("{} ({}{by})", l.label, since_phrase(&l.since, l.tentative))
                })
                .collect(),
        ),
        (
            "programs",
            o.programs
                .iter()
                .map(|p| {
                    let mut s = format!("{} \"{}\"", p.id, p.name);
                    if let Some(k) = &p.kind {
                        let _ = write!(s, " [{k}]");
                    }
                    let _ = write!(s, " ({}", since_phrase(&p.since, p.tentative));
                    if let Some(e) = &p.ended {
                        let t = p.ended_tentative.unwrap_or(false);
                        let _ = write!(s, ", {}", ended_phrase(e, t));
                    }
                    s.push(')');
                    for f in &p.figures {
                        let _ = write!(s, "; {}", fig(f));
                    }
                    s
                })
                .collect(),
        ),
        ("figures", o.figures.iter().map(fig).collect()),
        (
            "roles",
            o.roles
                .iter()
                .map(|r| dated(format!("{}: {}", r.role, r.person), &r.since, r.tentative))
                .collect(),
        ),
        (
            "members",
            o.members
                .iter()
                .map(|m| dated(party_text(&m.party), &m.since, m.tentative))
                .collect(),
        ),
        (
            "partners",
            o.partners
                .iter()
                .map(|m| dated(party_text(&m.party), &m.since, m.tentative))
                .collect(),
        ),
        (
            "predecessors",
            o.predecessors.iter().map(link_text).collect(),
        ),
        (
            "former names",
            o.former_names
                .iter()
                .map(|n| format!("{} ({})", n.name, since_phrase(&n.since, n.tentative)))
                .collect(),
        ),
    ];
    if let Some(e) = &o.ended {
        let into = if e.into.is_empty() {
            String::new()
        } else {
            format!(" into {}", e.into.join(", "))
        };
        out.push((
            "ended",
            vec![format!(
                "{} ({}{into}, seq {})",
                possibly(&e.date, e.tentative),
                e.how,
                e.seq
            )],
        ));
    }
    // A live organisation has successors too: what it spun off, and what
    // was re-established from it.
    out.push(("successors", o.successors.iter().map(link_text).collect()));
    out.retain(|(_, items)| !items.is_empty());
    out
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// `s` with every control character (newline, tab, carriage return, escape…)
/// made a space: a name in the ledger may hold them, and a line of a text
/// rendering (a row, a detail, a diff or log line) must stay one line with
/// its columns where they belong. A character becomes one character, so
/// widths are unchanged.
pub fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_control) {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}

/// [`write_table`], as a string.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = Vec::new();
    // Writing to memory does not fail, and every cell is UTF-8.
    let _ = write_table(&mut out, header, rows);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes a table: its columns sized to every row, a line at a time.
fn write_table(
    out: &mut impl std::io::Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        widen(&mut widths, row);
    }
    let mut line = String::new();
    table_line(&mut line, &widths, header.iter().copied());
    out.write_all(line.as_bytes())?;
    for row in rows {
        line.clear();
        table_line(&mut line, &widths, row.iter().map(String::as_str));
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Widens `widths` to hold `row`'s cells.
fn widen(widths: &mut [usize], row: &[String]) {
    for (i, cell) in row.iter().enumerate() {
        if let Some(w) = widths.get_mut(i) {
            *w = (*w).max(width(cell));
        }
    }
}

/// The widest a column is padded to: a longer cell runs past its column,
/// shifting the rest of its own row only, so that one very long name does
/// not widen every row of the table (output would grow as rows × longest).
const MAX_PADDED: usize = 64;

/// One line of a [`table`]: cells padded to `widths` (at most
/// [`MAX_PADDED`]), two spaces apart, trailing spaces trimmed.
fn table_line<'c>(out: &mut String, widths: &[usize], cells: impl Iterator<Item = &'c str>) {
    let start = out.len();
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push_str("  ");
        }
        out.push_str(&one_line(cell));
        let pad = widths
            .get(i)
            .copied()
            .unwrap_or(0)
            .min(MAX_PADDED)
            .saturating_sub(width(cell));
        out.extend(std::iter::repeat_n(' ', pad));
    }
    let kept = out[start..].trim_end().len();
    out.truncate(start + kept);
    out.push('\n');
}

fn known_phrase(known_at: &KnownAt, quote: &str) -> String {
    if known_at.seq == 0 {
        "as known at seq 0 (nothing recorded)".to_owned()
    } else {
        format!(
            "as known at seq {} ({quote}{}{quote})",
            known_at.seq,
            short_hash(&known_at.hash)
        )
    }
}

/// The text or Markdown layout of a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// As [`render_text`] lays it out.
    Text,
    /// As [`render_markdown`] lays it out.
    Markdown,
}

/// Renders the view whose JSON is `json` (as [`render_json`] writes it: a
/// snapshot's) as [`render_text`] or [`render_markdown`] renders it, byte
/// for byte (see [`read_stored`]). `None` if `json` does not read back as
/// a view.
pub fn render_stored(json: &str, layout: Layout) -> Option<String> {
    let mut out = Vec::new();
    read_stored(json, layout, 1)?.write(&mut out).ok()?;
    String::from_utf8(out).ok()
}

/// Reads the view whose JSON is `json` (as [`render_json`] writes it: a
/// snapshot's) for [`Rendered::write`], which writes it as
/// [`render_text`] or [`render_markdown`] renders it, byte for byte,
/// without building it: each organisation is rendered as it is read, and
/// dropped. `None` if `json` does not read back as a view.
///
/// Building the whole view first held every organisation (about twice the
/// JSON's size) besides the JSON and the text: at 10^6 records, a replay
/// from a snapshot printing text took five to seven times as long as one
/// printing the stored JSON, most of it the kernel handing out fresh pages.
///
/// With `threads` above 1 and the layout [`render_json`] writes, the
/// organisations are cut apart where that layout closes one and opens the
/// next (a line `    },` then `    {`: two spaces a level, and no string
/// holds a line break), then read and rendered on `threads` threads, each
/// a run of them in order. Cutting there is exact: every piece must read
/// back as one organisation, and the pieces with the commas between them
/// are the whole list. Anything else is read in one pass.
pub fn read_stored(json: &str, layout: Layout, threads: usize) -> Option<Rendered> {
    if threads > 1
        && let Some(rendered) = read_cut(json, layout, threads)
    {
        return Some(rendered);
    }
    read_whole(json, layout)
}

/// [`read_stored`] in one pass.
fn read_whole(json: &str, layout: Layout) -> Option<Rendered> {
    let mut de = serde_json::Deserializer::from_str(json);
    let rendered = serde::Deserializer::deserialize_struct(
        &mut de,
        "View",
        &["as_of", "known_at", "organisations", "planned"],
        Stored(layout),
    )
    .ok()?;
    de.end().ok()?;
    Some(rendered)
}

/// [`read_stored`] with the organisations cut apart and read on `threads`
/// threads; `None` when the layout is not [`render_json`]'s or a piece is
/// not an organisation.
fn read_cut(json: &str, layout: Layout, threads: usize) -> Option<Rendered> {
    const OPEN: &str = "\n  \"organisations\": [";
    const CLOSE: &str = "\n  ]";
    // The end of one organisation, another following.
    const BETWEEN: &[u8] = b"\n    },\n";
    let open = json.find(OPEN)? + OPEN.len();
    let close = open + json.get(open..)?.find(CLOSE)?;
    let list = json.get(open..close)?;
    let mut pieces = Vec::new();
    let mut start = 0;
    for at in memchr::memmem::find_iter(list.as_bytes(), BETWEEN) {
        // Up to the brace; the comma is the list's.
        let end = at + BETWEEN.len() - 2;
        pieces.push(list.get(start..end)?);
        start = end + 1;
    }
    pieces.push(list.get(start..)?);
    // The other members, read from the view with its list emptied.
    let rest = format!("{}{}", json.get(..open)?, json.get(close..)?);
    let mut rendered = read_whole(&rest, layout)?;
    if rendered.organisations.count != 0 {
        return None;
    }
    let run = pieces.len().div_ceil(threads.max(1)).max(1);
    let runs: Vec<Option<Organisations>> = std::thread::scope(|scope| {
        let readers: Vec<_> = (pieces.chunks(run))
            .map(|run| {
                scope.spawn(move || {
                    let mut organisations = Organisations::default();
                    for piece in run {
                        let o: OrgView = serde_json::from_str(piece).ok()?;
                        organisations.add(layout, &o);
                    }
                    Some(organisations)
                })
            })
            .collect();
        (readers.into_iter())
            .map(|r| r.join().ok().flatten())
            .collect()
    });
    let all = &mut rendered.organisations;
    for run in runs {
        let run = run?;
        all.count += run.count;
        all.rows.extend(run.rows);
        all.lines.extend(run.lines);
        all.details.extend(run.details);
    }
    Some(rendered)
}

/// A view read back by [`read_stored`], its organisations rendered.
#[derive(Debug)]
pub struct Rendered {
    layout: Layout,
    as_of: String,
    known_at: KnownAt,
    organisations: Organisations,
    planned: Vec<PlanView>,
}

/// The organisations of a [`Rendered`] view: the cells of the text table's
/// rows (its columns are sized to all of them), the Markdown table's
/// lines, then the details, in pieces of about a megabyte (a text growing
/// to tens of megabytes would be copied each time it doubled).
#[derive(Debug, Default)]
struct Organisations {
    count: usize,
    rows: Vec<Vec<String>>,
    lines: Vec<String>,
    details: Vec<String>,
}

/// The size of a piece of [`Organisations`]' text.
const PIECE: usize = 1 << 20;

impl Organisations {
    /// Appends to the last piece of `pieces` what `render` writes, starting
    /// a new piece when it is full.
    fn push(pieces: &mut Vec<String>, render: impl FnOnce(&mut String)) {
        if pieces.last().is_none_or(|p| p.len() >= PIECE) {
            pieces.push(String::with_capacity(PIECE + PIECE / 4));
        }
        if let Some(piece) = pieces.last_mut() {
            render(piece);
        }
    }

    fn add(&mut self, layout: Layout, o: &OrgView) {
        self.count += 1;
        match layout {
            Layout::Text => {
                self.rows.push(text_row(o));
                Self::push(&mut self.details, |d| text_details(d, o));
            }
            Layout::Markdown => {
                Self::push(&mut self.lines, |l| markdown_row(l, o));
                Self::push(&mut self.details, |d| markdown_details(d, o));
            }
        }
    }
}

impl Rendered {
    /// Writes the view as [`render_text`] or [`render_markdown`] renders
    /// it.
    pub fn write(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        write_layout(
            out,
            self.layout,
            (&self.as_of, &self.known_at),
            &self.organisations,
            &self.planned,
        )
    }
}

/// Writes a view in `layout`, its organisations rendered: the one place
/// that lays out [`render_text`], [`render_markdown`] and a stored view
/// read back ([`Rendered::write`]).
fn write_layout(
    out: &mut impl std::io::Write,
    layout: Layout,
    (as_of, known_at): (&str, &KnownAt),
    orgs: &Organisations,
    planned: &[PlanView],
) -> std::io::Result<()> {
    let head = match layout {
        Layout::Text => text_head(as_of, known_at),
        Layout::Markdown => markdown_head(as_of, known_at),
    };
    out.write_all(head.as_bytes())?;
    if orgs.count == 0 {
        out.write_all(NO_ORGANISATIONS.as_bytes())?;
        if layout == Layout::Markdown {
            out.write_all(b"\n")?;
        }
    } else {
        match layout {
            Layout::Text => write_table(out, &TEXT_COLUMNS, &orgs.rows)?,
            Layout::Markdown => {
                out.write_all(MARKDOWN_COLUMNS.as_bytes())?;
                for piece in &orgs.lines {
                    out.write_all(piece.as_bytes())?;
                }
                out.write_all(b"\n")?;
            }
        }
        for piece in &orgs.details {
            out.write_all(piece.as_bytes())?;
        }
    }
    let mut tail = String::new();
    match layout {
        Layout::Text => text_plans(&mut tail, planned),
        Layout::Markdown => markdown_plans(&mut tail, planned),
    }
    out.write_all(tail.as_bytes())
}

/// [`write_layout`] of a built view, as a string.
fn render_layout(v: &View, layout: Layout) -> String {
    let mut orgs = Organisations::default();
    for o in &v.organisations {
        orgs.add(layout, o);
    }
    let mut out = Vec::new();
    // Writing to memory does not fail, and every piece is UTF-8.
    let _ = write_layout(&mut out, layout, (&v.as_of, &v.known_at), &orgs, &v.planned);
    String::from_utf8(out).unwrap_or_default()
}

/// Reads a [`View`]'s members as its derived `Deserialize` does (any
/// order, unknown members ignored, each at most once), rendering the
/// organisations as they come.
struct Stored(Layout);

impl<'de> serde::de::Visitor<'de> for Stored {
    type Value = Rendered;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a view")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Rendered, A::Error> {
        use serde::de::Error;
        let (mut as_of, mut known_at, mut organisations, mut planned) = (None, None, None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let twice = || A::Error::custom(format!("duplicate field `{key}`"));
            match key.as_ref() {
                "as_of" if as_of.is_some() => return Err(twice()),
                "as_of" => as_of = Some(map.next_value()?),
                "known_at" if known_at.is_some() => return Err(twice()),
                "known_at" => known_at = Some(map.next_value()?),
                "organisations" if organisations.is_some() => return Err(twice()),
                "organisations" => organisations = Some(map.next_value_seed(Orgs(self.0))?),
                "planned" if planned.is_some() => return Err(twice()),
                "planned" => planned = Some(map.next_value()?),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        let missing = |field| A::Error::missing_field(field);
        Ok(Rendered {
            layout: self.0,
            as_of: as_of.ok_or_else(|| missing("as_of"))?,
            known_at: known_at.ok_or_else(|| missing("known_at"))?,
            organisations: organisations.ok_or_else(|| missing("organisations"))?,
            planned: planned.ok_or_else(|| missing("planned"))?,
        })
    }
}

/// The organisations of a stored view, each rendered as it is read.
struct Orgs(Layout);

impl<'de> serde::de::DeserializeSeed<'de> for Orgs {
    type Value = Organisations;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Orgs {
    type Value = Organisations;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of organisations")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut organisations = Organisations::default();
        while let Some(o) = seq.next_element::<OrgView>()? {
            organisations.add(self.0, &o);
        }
        Ok(organisations)
    }
}

/// A terminal rendering: a table of organisations, their details, then the
/// plans. Tentative facts read "possibly since …".
pub fn render_text(v: &View) -> String {
    render_layout(v, Layout::Text)
}

const TEXT_COLUMNS: [&str; 5] = ["ID", "NAME", "KIND", "EXISTS", "SEAT"];
const NO_ORGANISATIONS: &str = "No organisations exist on this date.\n";

/// The first lines of [`render_text`].
fn text_head(as_of: &str, known_at: &KnownAt) -> String {
    format!("Landscape on {as_of}, {}\n\n", known_phrase(known_at, ""))
}

/// An organisation's row of the text table.
fn text_row(o: &OrgView) -> Vec<String> {
    vec![
        o.id.clone(),
        o.name.clone(),
        o.kind.clone(),
        exists_phrase(o),
        o.attrs.get("seat").cloned().unwrap_or_default(),
    ]
}

fn exists_phrase(o: &OrgView) -> String {
    let mut exists = since_phrase(&o.since, o.since_tentative);
    if let Some(e) = &o.ended {
        let _ = write!(exists, ", {}", ended_phrase(&e.date, e.tentative));
    }
    exists
}

/// "ended DATE", or "possibly ended DATE" when tentative.
fn ended_phrase(date: &str, tentative: bool) -> String {
    if tentative {
        format!("possibly ended {date}")
    } else {
        format!("ended {date}")
    }
}

/// A lineage link in the details: `id (mode, [possibly ]date, seq N)`.
fn link_text(l: &LinkView) -> String {
    format!(
        "{} ({}, {}, seq {})",
        l.id,
        l.mode,
        possibly(&l.date, l.tentative),
        l.seq
    )
}

/// An organisation's details in the text view, if it has any.
fn text_details(out: &mut String, o: &OrgView) {
    let d = details(o);
    if d.is_empty() {
        return;
    }
    let _ = write!(out, "\n{}: {}\n", o.id, one_line(&o.name));
    let w = d.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    for (k, items) in d {
        for (i, item) in items.iter().enumerate() {
            let label = if i == 0 { k } else { "" };
            let _ = writeln!(out, "  {label:<w$}  {}", one_line(item));
        }
    }
}

/// The plans at the end of the text view.
fn text_plans(out: &mut String, planned: &[PlanView]) {
    out.push('\n');
    if planned.is_empty() {
        out.push_str("No plans pending.\n");
    } else {
        out.push_str("Planned\n");
        let rows: Vec<Vec<String>> = planned
            .iter()
            .map(|p| {
                vec![
                    p.seq.to_string(),
                    p.stated.clone(),
                    p.date.clone(),
                    plan_status_text(p),
                    p.event_type.clone(),
                    p.summary.clone(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["SEQ", "STATED", "FOR", "STATUS", "TYPE", "SUMMARY"],
            &rows,
        ));
    }
}

/// A Markdown table cell or inline text, shown as written and never read
/// as markup: control characters made spaces (see [`one_line`]); `&`, `<`
/// and `>` as HTML character references (a name is never raw HTML in a
/// rendered page); backslashes, pipes and the characters of inline markup
/// (`` ` ``, `*`, `_`, `[`, `]`) escaped with a backslash (never a link,
/// emphasis or a broken table).
fn md_cell(s: &str) -> String {
    let line = one_line(s);
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A Markdown rendering: a table, a section per organisation, the plans.
pub fn render_markdown(v: &View) -> String {
    render_layout(v, Layout::Markdown)
}

const MARKDOWN_COLUMNS: &str = "| id | name | kind | exists | seat |\n|---|---|---|---|---|\n";

/// The first lines of [`render_markdown`].
fn markdown_head(as_of: &str, known_at: &KnownAt) -> String {
    let mut out = format!("# Landscape on {as_of}\n\n");
    let _ = writeln!(out, "A{}.\n", &known_phrase(known_at, "`")[1..]);
    out
}

/// An organisation's row of the Markdown table.
fn markdown_row(out: &mut String, o: &OrgView) {
    let _ = writeln!(
        out,
        "| `{}` | {} | {} | {} | {} |",
        // In a code span, where escapes are not read: an identifier holds
        // none of the characters `md_cell` escapes but `_`.
        o.id,
        md_cell(&o.name),
        md_cell(&o.kind),
        md_cell(&exists_phrase(o)),
        md_cell(o.attrs.get("seat").map_or("", String::as_str))
    );
}

/// An organisation's section in the Markdown view, if it has details.
fn markdown_details(out: &mut String, o: &OrgView) {
    let d = details(o);
    if d.is_empty() {
        return;
    }
    let _ = write!(out, "## `{}`: {}\n\n", o.id, md_cell(&o.name));
    for (k, items) in d {
        let _ = writeln!(out, "- **{k}**: {}", md_cell(&items.join("; ")));
    }
    out.push('\n');
}

/// A plan's status, with the seq that settled it (`fulfilled by seq 77`).
fn plan_status_text(p: &PlanView) -> String {
    match p.fulfilled_by.or(p.abandoned_by).or(p.corrected_by) {
        Some(seq) => format!("{} by seq {seq}", p.status.as_str()),
        None => p.status.as_str().to_owned(),
    }
}

/// The plans at the end of the Markdown view.
fn markdown_plans(out: &mut String, planned: &[PlanView]) {
    if planned.is_empty() {
        out.push_str("No plans pending.\n");
    } else {
        out.push_str("## Planned\n\n| seq | stated | for | status | type | summary |\n|---|---|---|---|---|---|\n");
        for p in planned {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                p.seq,
                md_cell(&p.stated),
                md_cell(&p.date),
                plan_status_text(p),
                p.event_type,
                md_cell(&p.summary)
            );
        }
    }
}

/// Renders the view as pretty JSON, with a final newline.
pub fn render_json(v: &View) -> String {
    // Serialising plain data with string keys cannot fail.
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------
// Positions
// ---------------------------------------------------------------------------

/// Why a `--known-at` position cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PositionError {
    /// A seq beyond the head.
    #[error(
        "seq {seq} is beyond the ledger's head (seq {head}){}",
        beyond_head_hint(.digits.as_deref())
    )]
    BeyondHead {
        /// The seq asked for.
        seq: u64,
        /// The head.
        head: u64,
        /// The digits as written, when they were given bare (not as
        /// `seq:N`): the hint says how to mean a hash prefix instead.
        digits: Option<String>,
    },
    /// Digits too many for any seq (more than fit in 64 bits).
    #[error(
        "seq `{digits}` is beyond the ledger's head (seq {head}){}",
        beyond_head_hint((*.bare && .digits.len() <= 64).then_some(.digits.as_str()))
    )]
    SeqTooLarge {
        /// The digits as written.
        digits: String,
        /// The head.
        head: u64,
        /// Whether they were given bare (not as `seq:N`): then, if they
        /// could be one, the hint says how to mean a hash prefix instead.
        bare: bool,
    },
    /// No record hash starts with the prefix.
    #[error("no record hash starts with `{prefix}`")]
    NoSuchHash {
        /// The prefix.
        prefix: String,
    },
    /// Several record hashes start with the prefix.
    #[error(
        "hash prefix `{prefix}` is ambiguous: it matches seq {first} and seq {second}; give more digits"
    )]
    AmbiguousHash {
        /// The prefix.
        prefix: String,
        /// One match.
        first: u64,
        /// Another match.
        second: u64,
    },
    /// Not a seq, a hash prefix or a time.
    #[error(
        "`{text}` is not a ledger position; use a seq (`42`), a hash prefix of at least 4 hex digits (`3f2a9c`), an RFC 3339 time (`2016-09-01T00:00:00Z`), a day (`2016-09-01`, its end) or a month (`2016-09`, its end)"
    )]
    Syntax {
        /// The text.
        text: String,
    },
}

/// Resolves a `--known-at` position to a seq: a seq number (`0` means
/// nothing known; digits are always a seq), a hash prefix of at least 4
/// lowercase hex digits that matches one record, an RFC 3339 time (the last
/// record recorded at or before it), or a day `YYYY-MM-DD` or a month
/// `YYYY-MM` (its end, 23:59:59 UTC of its last day). `seq:N` and
/// `hash:PREFIX` force a reading.
pub fn resolve_position(entries: &[Entry], text: &str) -> Result<u64, PositionError> {
    resolve_in(entries, text)
}

/// What resolving a position needs to know of a ledger's records: a loaded
/// ledger (`[Entry]`) or one verified without being held
/// ([`crate::stream::Scan`]).
pub trait Records {
    /// The head's seq (0 for an empty ledger).
    fn head(&self) -> u64;
    /// The seqs of the records whose hash starts with `prefix` (lowercase
    /// hex digits), in seq order.
    fn with_hash_prefix(&self, prefix: &str) -> impl Iterator<Item = u64>;
    /// The last seq recorded at or before `time` (`recorded` never
    /// decreases along a ledger), or 0.
    fn recorded_by(&self, time: DateTime<Utc>) -> u64;
}

impl Records for [Entry] {
    fn head(&self) -> u64 {
        self.last().map_or(0, |e| e.seq)
    }

    fn with_hash_prefix(&self, prefix: &str) -> impl Iterator<Item = u64> {
        self.iter()
            .filter(move |e| e.hash.starts_with(prefix))
            .map(|e| e.seq)
    }

    fn recorded_by(&self, time: DateTime<Utc>) -> u64 {
        self.iter()
            .filter(|e| crate::record::recorded_time(&e.recorded).is_some_and(|r| r <= time))
            .map(|e| e.seq)
            .max()
            .unwrap_or(0)
    }
}

/// [`resolve_position`] over any [`Records`].
pub fn resolve_in(records: &(impl Records + ?Sized), text: &str) -> Result<u64, PositionError> {
    if let Some(seq) = resolve_seq(text, records.head()) {
        return seq;
    }
    let text = text.trim();
    if let Some(h) = text.strip_prefix("hash:") {
        return by_hash(records, h).unwrap_or_else(|| Err(syntax(text)));
    }
    if let Some(r) = by_hash(records, text) {
        return r;
    }
    let time = parse_time(text).ok_or_else(|| syntax(text))?;
    Ok(records.recorded_by(time))
}

/// A position given as a time: an RFC 3339 time, or the end (23:59:59 UTC)
/// of a day `YYYY-MM-DD` or of a month `YYYY-MM`.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let end_of = |day: NaiveDate| {
        day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN))
            .and_utc()
    };
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .filter(|_| text.len() == 10)
                .map(end_of)
        })
        .or_else(|| {
            // A month: its last day (not an EDTF season such as `2016-23`).
            NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
                .ok()
                .filter(|_| text.len() == 7)
                .and_then(|_| crate::date::as_of_day(text).ok())
                .map(end_of)
        })
}

/// [`resolve_position`] for a position given as a seq (`42`, `seq:42`),
/// which needs only the head's seq; `None` for any other form (a hash
/// prefix, a time, a day), which needs the records.
pub fn resolve_seq(text: &str, head: u64) -> Option<Result<u64, PositionError>> {
    let text = text.trim();
    let as_seq = |digits: &str, bare: bool| -> Option<Result<u64, PositionError>> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let Ok(seq) = digits.parse::<u64>() else {
            // Only digits, so too many of them.
            return Some(Err(PositionError::SeqTooLarge {
                digits: digits.to_owned(),
                head,
                bare,
            }));
        };
        Some(if seq > head {
            Err(PositionError::BeyondHead {
                seq,
                head,
                digits: bare.then(|| digits.to_owned()),
            })
        } else {
            Ok(seq)
        })
    };
    match text.strip_prefix("seq:") {
        Some(d) => Some(as_seq(d, false).unwrap_or_else(|| Err(syntax(text)))),
        None => as_seq(text, true),
    }
}

/// Whether [`resolve_position`] would resolve `text` to the head, known
/// from the head alone (seq `head` recorded at `recorded`): a seq equal to
/// the head's, or a time at or after the head's `recorded` (the head is then
/// the last record recorded by then, whatever the order of the others). A
/// hash prefix needs every hash to be told apart: `false`, as is anything
/// [`resolve_position`] would refuse.
pub fn names_head(text: &str, head: u64, recorded: &str) -> bool {
    let text = text.trim();
    let digits = text.strip_prefix("seq:").unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits.parse::<u64>() == Ok(head);
    }
    let none: &[Entry] = &[];
    if text.starts_with("seq:") || text.starts_with("hash:") || by_hash(none, text).is_some() {
        return false;
    }
    let recorded = crate::record::recorded_time(recorded);
    match (parse_time(text), recorded) {
        (Some(time), Some(recorded)) => head > 0 && recorded <= time,
        _ => false,
    }
}

/// For bare digits beyond the head: how to mean something else.
fn beyond_head_hint(digits: Option<&str>) -> String {
    match digits {
        None => String::new(),
        Some(d) if d.len() == 4 => format!(
            "; digits are read as a seq: for a hash prefix write `hash:{d}`, for the end of the year {d} write `{d}-12-31`"
        ),
        Some(d) => format!("; digits are read as a seq: for a hash prefix write `hash:{d}`"),
    }
}

fn syntax(text: &str) -> PositionError {
    PositionError::Syntax {
        text: text.to_owned(),
    }
}

/// `None` if `prefix` is not a hash prefix ([`crate::record::hash_prefix`]).
fn by_hash(records: &(impl Records + ?Sized), prefix: &str) -> Option<Result<u64, PositionError>> {
    let prefix = &crate::record::hash_prefix(prefix)?;
    let mut hits = records.with_hash_prefix(prefix);
    Some(match (hits.next(), hits.next()) {
        (None, _) => Err(PositionError::NoSuchHash {
            prefix: prefix.to_owned(),
        }),
        (Some(a), None) => Ok(a),
        (Some(first), Some(second)) => Err(PositionError::AmbiguousHash {
            prefix: prefix.to_owned(),
            first,
            second,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use serde_json::{Value, json};

    fn h(seq: u64) -> String {
        format!("{seq:04x}")
            .chars()
            .chain(std::iter::repeat('a'))
            .take(64)
            .collect()
    }

    fn ledger(events: &[Value]) -> Vec<Entry> {
        events
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let seq = i as u64 + 1;
                let mut v = v.clone();
                if v.get("sources").is_none() {
                    v["sources"] = json!([{"doc": "test"}]);
                }
                Entry {
                    seq,
                    hash: h(seq),
                    recorded: format!("2026-01-{seq:02}T12:00:00Z"),
                    event: Event::from_json(&v).expect("valid event"),
                }
            })
            .collect()
    }

    fn day(s: &str) -> NaiveDate {
        crate::date::as_of_day(s).expect("valid day")
    }

    fn created(id: &str, name: &str, date: &str, seat: &str) -> Value {
        json!({"type": "created", "date": date, "id": id, "name": name, "kind": "cluster", "attrs": {"seat": seat}})
    }

    /// A small version of the shipped landscape; seq 10 is the last record
    /// of the 2016 article.
    fn landscape() -> Vec<Entry> {
        let src = |doc: &str| json!([{"doc": doc}]);
        ledger(&[
            created("edit", "Edit", "2008", "Lyon"),
            created("grilog", "GRILOG", "2005", "Grenoble"),
            json!({"type": "transformed", "mode": "fusion", "date": "2015-05~", "from": ["edit", "grilog"], "to": ["clustr"],
                   "new": [{"id": "clustr", "name": "Clust'R Numérique", "kind": "cluster", "attrs": {"seat": "Lyon"}}]}),
            json!({"type": "role_started", "date": "2015-05", "org": "clustr", "person": "Thierry Alvergnat", "role": "director"}),
            created("numelink", "Numélink", "2014", "Saint-Étienne"),
            json!({"type": "planned", "date": "2016-06", "sources": src("A"),
                   "planned": {"type": "transformed", "mode": "fusion", "date": "2017-01-01", "from": ["clustr", "numelink"],
                               "to": ["clustr-numelink"], "new": [{"id": "clustr-numelink", "name": "Merged cluster", "kind": "cluster"}],
                               "sources": src("A")}}),
            json!({"type": "created", "date": "2015-12~", "id": "bivouac", "name": "Le Bivouac", "kind": "accelerator"}),
            created("ara", "Auvergne-Rhône-Alpes", "2016-01-01", "Lyon"),
            json!({"type": "joined", "date": "2016", "org": "bivouac", "member": {"org": "ara"}, "relation": "member"}),
            json!({"type": "figures", "date": "2016-07~", "org": "bivouac", "values": {"startups": 8}, "sources": src("A")}),
            // later facts
            json!({"type": "transformed", "mode": "fusion", "date": "2017-03-28", "from": ["clustr", "numelink"], "to": ["digital-league"],
                   "new": [{"id": "digital-league", "name": "Digital League", "kind": "cluster", "attrs": {"seat": "Lyon"}}],
                   "fulfils": h(6)}),
            json!({"type": "figures", "date": "2017-03-28", "org": "digital-league", "values": {"members": 510, "staff": 12},
                   "sources": src("Digital League press release, 2017-03-28")}),
            json!({"type": "correction", "date": "2018", "target": h(10), "mode": "supersede", "reason": "a later source counts 9",
                   "replacement": {"type": "figures", "date": "2016", "org": "bivouac", "values": {"startups": 9}, "sources": src("later")}}),
            json!({"type": "joined", "date": "2016-02", "org": "bivouac", "member": {"name": "Michelin"}, "relation": "partner"}),
        ])
    }

    fn ids(v: &View) -> Vec<&str> {
        v.organisations.iter().map(|o| o.id.as_str()).collect()
    }

    #[test]
    fn what_was_believed_in_2016_about_2017_differs_from_what_happened() {
        let l = landscape();
        // given the knowledge of the 2016 article
        let then = replay(&l, day("2017-06-01"), 10);
        // then the merger is only planned, and overdue
        assert_eq!(ids(&then), vec!["ara", "bivouac", "clustr", "numelink"]);
        assert_eq!(then.planned.len(), 1);
        assert_eq!(then.planned[0].status, PlanStatus::Overdue);
        assert_eq!(
            then.planned[0].summary,
            "fusion clustr + numelink -> clustr-numelink"
        );
        assert_eq!(
            then.known_at,
            KnownAt {
                seq: 10,
                hash: h(10)
            }
        );
        // given the head, then Digital League exists and the plan is settled
        let now = replay(&l, day("2017-06-01"), u64::MAX);
        assert_eq!(ids(&now), vec!["ara", "bivouac", "digital-league"]);
        assert!(now.planned.is_empty());
        assert_eq!(now.known_at.seq, 14);
        let all = replay_with(
            &l,
            day("2017-06-01"),
            u64::MAX,
            ViewOptions {
                include_ended: true,
            },
        );
        assert_eq!(all.planned[0].status, PlanStatus::Fulfilled);
        assert_eq!(all.planned[0].fulfilled_by, Some(11));
        assert_eq!(all.organisations.len(), 7);
        let edit = all
            .organisations
            .iter()
            .find(|o| o.id == "edit")
            .expect("edit with --all");
        assert_eq!(
            edit.ended
                .as_ref()
                .map(|e| (e.how.as_str(), e.into.clone())),
            Some(("fusion", vec!["clustr".to_owned()]))
        );
    }

    #[test]
    fn a_plan_is_listed_only_once_stated() {
        let l = landscape();
        assert!(replay(&l, day("2016-05"), 10).planned.is_empty());
        let v = replay(&l, day("2016-06"), 10);
        assert_eq!(
            (
                v.planned[0].status,
                v.planned[0].stated.as_str(),
                v.planned[0].date.as_str()
            ),
            (PlanStatus::Pending, "2016-06", "2017-01-01")
        );
    }

    #[test]
    fn tentative_facts_are_flagged() {
        let l = landscape();
        let v = replay(&l, day("2015-05-15"), u64::MAX);
        let clustr = v
            .organisations
            .iter()
            .find(|o| o.id == "clustr")
            .expect("clustr");
        assert!(clustr.since_tentative);
        assert!(clustr.roles[0].tentative, "2015-05 seen from inside May");
        let later = replay(&l, day("2015-06"), u64::MAX);
        let clustr = later
            .organisations
            .iter()
            .find(|o| o.id == "clustr")
            .expect("clustr");
        assert!(clustr.since_tentative, "`~` stays tentative");
        assert!(!clustr.roles[0].tentative);
        assert!(render_text(&later).contains("possibly since 2015-05~"));
        let edit = replay(&l, day("2008-06"), u64::MAX);
        assert!(edit.organisations[0].since_tentative);
        assert!(!replay(&l, day("2009"), u64::MAX).organisations[0].since_tentative);
    }

    #[test]
    fn an_end_under_way_on_the_day_shown_is_possibly_ended() {
        // given two clusters merged into `c` on `2015-05?`, an organisation
        // dissolved on `2016-XX` and one on `2016-06`, and a program of `c`
        // ended on `2016-06`
        let l = ledger(&[
            created("a", "A", "2008", "Lyon"),
            created("b", "B", "2005", "Grenoble"),
            json!({"type": "transformed", "mode": "fusion", "date": "2015-05?", "from": ["a", "b"], "to": ["c"],
                   "new": [{"id": "c", "name": "C", "kind": "cluster"}]}),
            created("d", "D", "2010", "Lyon"),
            json!({"type": "dissolved", "date": "2016-XX", "org": "d"}),
            created("e", "E", "2010", "Lyon"),
            json!({"type": "dissolved", "date": "2016-06", "org": "e"}),
            json!({"type": "program_launched", "date": "2015-09", "program": "p", "name": "P", "owner": "c"}),
            json!({"type": "program_ended", "date": "2016-06", "program": "p"}),
            json!({"type": "renamed", "date": "2016-06", "org": "c", "name": "C2"}),
            json!({"type": "figures", "date": "2016-06", "org": "c", "values": {"members": 10}}),
        ]);
        let org = |v: &View, id: &str| v.organisations.iter().find(|o| o.id == id).cloned();
        // when the view is of 2015-05-15, inside the merger's month
        let v = replay(&l, day("2015-05-15"), u64::MAX);
        // then the merged clusters possibly still exist: shown, possibly
        // ended, as their successor is possibly there already
        assert_eq!(ids(&v), vec!["a", "b", "c", "d", "e"]);
        let a = org(&v, "a").expect("a");
        assert!(
            a.ended
                .as_ref()
                .is_some_and(|e| e.tentative && e.date == "2015-05?")
        );
        assert!(
            org(&v, "c")
                .expect("c")
                .predecessors
                .iter()
                .all(|p| p.tentative)
        );
        let text = render_text(&v);
        assert!(
            text.contains("since 2008, possibly ended 2015-05?"),
            "{text}"
        );
        assert!(
            text.contains("ended       possibly 2015-05? (fusion into c, seq 3)"),
            "{text}"
        );
        assert!(
            text.contains("a (fusion, possibly 2015-05?, seq 3)"),
            "{text}"
        );
        assert!(render_markdown(&v).contains("| since 2008, possibly ended 2015-05? |"));
        // and on the month's last day the end is settled: not shown by
        // default, and still "possibly" with --all, for the `?`
        let v = replay(&l, day("2015-05"), u64::MAX);
        assert_eq!(ids(&v), vec!["c", "d", "e"]);
        let all = replay_with(
            &l,
            day("2015-05"),
            u64::MAX,
            ViewOptions {
                include_ended: true,
            },
        );
        assert!(org(&all, "a").expect("a").ended.expect("ended").tentative);
        assert!(render_text(&all).contains("since 2008, possibly ended 2015-05?"));
        // an end dated `2016-XX` is under way all through 2016
        let v = replay(&l, day("2016-06-15"), u64::MAX);
        assert_eq!(ids(&v), vec!["c", "d", "e"]);
        let d = org(&v, "d").expect("d");
        assert!(d.ended.expect("ended").tentative);
        assert!(org(&v, "e").expect("e").ended.expect("ended").tentative);
        // the program, the former name and the figure inside June are tentative
        let c = org(&v, "c").expect("c");
        assert_eq!(
            c.programs.len(),
            1,
            "a program whose end is under way is shown"
        );
        assert_eq!(c.programs[0].ended_tentative, Some(true));
        assert_eq!(c.name, "C2");
        assert!(c.former_names[0].tentative, "`2015-05?` is uncertain");
        assert!(c.figures[0].tentative);
        let text = render_text(&v);
        assert!(
            text.contains("p \"P\" (since 2015-09, possibly ended 2016-06)"),
            "{text}"
        );
        assert!(
            text.contains("members 10 (possibly 2016-06; test)"),
            "{text}"
        );
        assert!(text.contains("C (possibly since 2015-05?)"), "{text}");
        // and on the month's last day the precise ends are certain
        let v = replay(&l, day("2016-06"), u64::MAX);
        assert_eq!(ids(&v), vec!["c", "d"]);
        let c = org(&v, "c").expect("c");
        assert!(c.programs.is_empty());
        assert!(!c.figures[0].tentative);
        let all = replay_with(
            &l,
            day("2016-06"),
            u64::MAX,
            ViewOptions {
                include_ended: true,
            },
        );
        assert!(!org(&all, "e").expect("e").ended.expect("ended").tentative);
        assert!(render_text(&all).contains("since 2010, ended 2016-06"));
        let json = serde_json::to_value(&all).expect("json");
        let c = &json["organisations"][2];
        assert_eq!(c["programs"][0]["ended_tentative"], json!(false));
        assert_eq!(c["predecessors"][0]["tentative"], json!(true));
        assert_eq!(c["former_names"][0]["tentative"], json!(true));
        assert_eq!(c["figures"][0]["tentative"], json!(false));
        assert_eq!(json["organisations"][4]["ended"]["tentative"], json!(false));
    }

    #[test]
    fn corrections_follow_the_state_of_knowledge() {
        let l = landscape();
        let fig = |known: u64| {
            let v = replay(&l, day("2016-12"), known);
            let b = v
                .organisations
                .into_iter()
                .find(|o| o.id == "bivouac")
                .expect("bivouac");
            b.figures
                .into_iter()
                .map(|f| (f.value, f.date, f.seq, f.sources))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fig(12),
            vec![(8, "2016-07~".to_owned(), 10, vec!["A".to_owned()])]
        );
        assert_eq!(
            fig(13),
            vec![(9, "2016".to_owned(), 13, vec!["later".to_owned()])]
        );
    }

    #[test]
    fn the_json_has_the_documented_shape() {
        let l = landscape();
        let v = serde_json::to_value(replay(&l, day("2016-12-31"), 14)).expect("json");
        assert_eq!(v["as_of"], json!("2016-12-31"));
        assert_eq!(v["known_at"], json!({"seq": 14, "hash": h(14)}));
        let b = &v["organisations"][1];
        assert_eq!(b["id"], json!("bivouac"));
        assert_eq!(b["since"], json!("2015-12~"));
        assert_eq!(b["since_tentative"], json!(true));
        assert_eq!(
            b["members"],
            json!([{"org": "ara", "since": "2016", "seq": 9, "tentative": false}])
        );
        assert_eq!(
            b["partners"],
            json!([{"name": "Michelin", "since": "2016-02", "seq": 14, "tentative": false}])
        );
        assert_eq!(
            b["figures"],
            json!([{"name": "startups", "value": 9, "date": "2016", "seq": 13, "sources": ["later"], "tentative": false}])
        );
        assert!(b.get("ended").is_none());
        assert_eq!(v["planned"][0]["type"], json!("transformed"));
        assert_eq!(v["planned"][0]["status"], json!("pending"));
        assert_eq!(v["planned"][0]["hash"], json!(h(6)));
    }

    #[test]
    fn an_empty_or_early_knowledge_shows_nothing() {
        let l = landscape();
        let v = replay(&l, day("2020"), 0);
        assert!(v.organisations.is_empty() && v.planned.is_empty());
        assert_eq!(
            v.known_at,
            KnownAt {
                seq: 0,
                hash: GENESIS_PREV.to_owned()
            }
        );
        assert!(render_text(&v).contains("as known at seq 0 (nothing recorded)"));
        assert_eq!(replay(&[], day("2020"), 5).known_at.seq, 0);
    }

    /// Given views with no organisation, a few, and more than one batch
    /// of them, when each is written as it is built on one to three
    /// threads, then the JSON is the built view's, byte for byte.
    #[test]
    fn a_name_with_control_characters_stays_on_its_line_in_text_and_markdown() {
        // given an organisation whose names hold a newline, a tab, a carriage
        // return and an escape
        let l = ledger(&[
            created("a", "Alpha", "2016", "Lyon"),
            created("esc", "X\nfake row\tT\rC\u{1b}[31m", "2017", "Line\nbreak"),
            json!({"type": "renamed", "date": "2018", "org": "esc", "name": "Y\nZ"}),
        ]);
        let v = replay(&l, day("2018"), u64::MAX);
        // when it is rendered as text and as Markdown
        for (format, text) in [("text", render_text(&v)), ("markdown", render_markdown(&v))] {
            // then no control character but the lines' own newlines is left,
            // and each organisation is one row of the table
            assert!(
                !text.chars().any(|c| c.is_control() && c != '\n'),
                "{format}: {text:?}"
            );
            let rows: Vec<&str> = text.lines().filter(|l| l.contains("cluster")).collect();
            assert_eq!(rows.len(), 2, "{format}: {text}");
            assert!(
                rows[1].contains("Y Z") && rows[1].contains("Line break"),
                "{format}: {text}"
            );
            let escape = if format == "markdown" { "\\[" } else { "[" };
            assert!(
                text.contains(&format!("X fake row T C {escape}31m")),
                "{format}: {text}"
            );
        }
        // and the text table's columns stay aligned
        let text = render_text(&v);
        let col = |line: &str| line.find("since").expect("exists column");
        let rows: Vec<&str> = text.lines().filter(|l| l.contains("cluster")).collect();
        assert_eq!(col(rows[0]), col(rows[1]), "{text}");
        assert_eq!(one_line("plain"), std::borrow::Cow::Borrowed("plain"));
    }

    #[test]
    fn one_very_long_name_does_not_widen_every_row() {
        // given a short name and one of 10,000 characters
        let long = "L".repeat(10_000);
        let l = ledger(&[
            created("a", "Alpha", "2016", "Lyon"),
            created("b", &long, "2016", "Lyon"),
            created("c", "Gamma", "2016", "Lyon"),
        ]);
        let text = render_text(&replay(&l, day("2017"), u64::MAX));
        let rows: Vec<&str> = text.lines().filter(|l| l.contains("cluster")).collect();
        // then the other rows keep their columns, padded to at most 64
        assert_eq!(rows.len(), 3, "{text}");
        assert_eq!(rows[0].find("cluster"), rows[2].find("cluster"));
        assert_eq!(
            rows[0].find("cluster"),
            Some(2 + 2 + MAX_PADDED + 2),
            "{}",
            rows[0]
        );
        // and the long name is whole, its row longer
        assert!(rows[1].contains(&long));
        assert!(text.len() < 2 * long.len(), "{}", text.len());
    }

    #[test]
    fn the_json_written_as_built_is_the_built_views() {
        let mut many: Vec<Value> = (0..2 * BATCH + 5)
            .map(|i| {
                created(
                    &format!("o{i:05}"),
                    &format!("Org \"{i}\"\n"),
                    "2001",
                    "Lyon",
                )
            })
            .collect();
        many.push(json!({"type": "dissolved", "date": "2002", "org": "o00003"}));
        let cases = [
            (landscape(), "2016-12-31", 0),
            (landscape(), "2017-12-31", 14),
            (ledger(&many), "2003", 9999),
        ];
        for (l, as_of, known_at) in &cases {
            for all in [false, true] {
                let options = ViewOptions { include_ended: all };
                let knowledge = Knowledge::new(l, *known_at);
                let state = knowledge.fold_until(day(as_of));
                let source = ViewSource {
                    knowledge: &knowledge,
                    state: &state,
                    hash: "ab",
                    as_of: day(as_of),
                    options,
                };
                let built = render_json(&source.build());
                for threads in 1..=3 {
                    let mut written = Vec::new();
                    source.write_json(&mut written, threads).expect("write");
                    assert_eq!(
                        String::from_utf8(written).expect("utf-8"),
                        built,
                        "{as_of} {all} {threads}"
                    );
                }
            }
        }
    }

    /// Given views of landscapes (the shipped-like one, a generated one,
    /// one with no organisation, names with quotes and control
    /// characters), when their JSON is read back and rendered as it is
    /// read, then the text and the Markdown are the built view's.
    #[test]
    fn a_stored_view_renders_as_the_built_view() {
        let mut many: Vec<Value> = (0..2 * BATCH + 5)
            .map(|i| {
                created(
                    &format!("o{i:05}"),
                    &format!("Org \"{i}\"\n\t|"),
                    "2001",
                    "Lyon",
                )
            })
            .collect();
        many.push(json!({"type": "dissolved", "date": "2002", "org": "o00003"}));
        let generated = crate::generator::test_entries(3000, 3);
        let cases = [
            (landscape(), "2016-12-31", 0),
            (landscape(), "2017-12-31", 14),
            (landscape(), "1990", 14),
            (ledger(&many), "2003", 9999),
            (generated.clone(), "1990", u64::MAX),
            (generated, "2020", u64::MAX),
        ];
        let mut organisations = 0;
        for (l, as_of, known_at) in &cases {
            for all in [false, true] {
                let v = replay_with(l, day(as_of), *known_at, ViewOptions { include_ended: all });
                organisations += v.organisations.len();
                let json = render_json(&v);
                for (layout, built) in [
                    (Layout::Text, render_text(&v)),
                    (Layout::Markdown, render_markdown(&v)),
                ] {
                    assert_eq!(render_stored(&json, layout).as_ref(), Some(&built));
                    let mut out = Vec::new();
                    let read = read_stored(&json, layout, 2).expect("a view");
                    read.write(&mut out).expect("write");
                    assert_eq!(String::from_utf8(out).ok().as_ref(), Some(&built));
                    // Cut apart and read on several threads: the same.
                    if !v.organisations.is_empty() {
                        for threads in 2..=4 {
                            let cut = read_cut(&json, layout, threads).expect("cut apart");
                            let mut out = Vec::new();
                            cut.write(&mut out).expect("write");
                            assert_eq!(String::from_utf8(out).ok().as_ref(), Some(&built));
                        }
                    }
                }
            }
        }
        assert!(organisations > 1000, "{organisations}");
    }

    /// Given a view's JSON in another layout (compact, or edited so that a
    /// cut would fall inside an organisation), when it is read on several
    /// threads, then it is not cut apart, and reads back in one pass.
    #[test]
    fn a_stored_view_in_another_layout_is_read_in_one_pass() {
        let v = replay(&landscape(), day("2017-12-31"), 14);
        let pretty = render_json(&v);
        let compact = serde_json::to_string(&v).expect("json");
        assert!(read_cut(&compact, Layout::Text, 2).is_none());
        assert_eq!(render_stored(&compact, Layout::Text), Some(render_text(&v)));
        // An organisation split in two where a cut would fall.
        let broken = pretty.replacen("\n    },\n    {", "\n    },\n    \"x\": 1, {", 1);
        assert_ne!(broken, pretty);
        assert!(read_cut(&broken, Layout::Text, 2).is_none());
        assert!(read_stored(&broken, Layout::Text, 2).is_none());
    }

    /// Given JSON that is not a view (a member missing or twice, another
    /// shape, trailing text), when it is read back, then it is refused, as
    /// the derived reader refuses it; unknown members are ignored by both.
    #[test]
    fn what_is_not_a_view_is_refused_as_the_derived_reader_refuses_it() {
        let v = replay(&landscape(), day("2017-12-31"), 14);
        let json = render_json(&v);
        let Value::Object(members) = serde_json::from_str::<Value>(&json).expect("json") else {
            panic!("an object");
        };
        let mut cases: Vec<String> = Vec::new();
        for key in ["as_of", "known_at", "organisations", "planned"] {
            let mut m = members.clone();
            m.remove(key);
            cases.push(Value::Object(m).to_string());
        }
        let mut extra = members.clone();
        extra.insert("note".into(), json!({"any": [1, 2]}));
        cases.push(Value::Object(extra).to_string());
        cases.push(json.replacen("\"planned\": [", "\"planned\": [], \"planned\": [", 1));
        cases.push(json.replacen("\"organisations\": [", "\"organisations\": {\"a\": [", 1));
        cases.push(format!("{json} x"));
        cases.push(format!("[{json}]"));
        for case in &cases {
            let derived = serde_json::from_str::<View>(case).ok();
            for layout in [Layout::Text, Layout::Markdown] {
                let render = |v: &View| match layout {
                    Layout::Text => render_text(v),
                    Layout::Markdown => render_markdown(v),
                };
                assert_eq!(
                    render_stored(case, layout),
                    derived.as_ref().map(render),
                    "{case}"
                );
            }
        }
    }

    #[test]
    fn renders_text_markdown_and_json() {
        let l = landscape();
        let then = replay(&l, day("2017-06-01"), 10);
        insta::assert_snapshot!("replay_2017_known_2016_text", render_text(&then));
        let all = replay_with(
            &l,
            day("2017-06-01"),
            u64::MAX,
            ViewOptions {
                include_ended: true,
            },
        );
        insta::assert_snapshot!("replay_2017_all_text", render_text(&all));
        insta::assert_snapshot!("replay_2017_all_markdown", render_markdown(&all));
        insta::assert_snapshot!(
            "replay_2016_json",
            render_json(&replay(&l, day("2016"), u64::MAX))
        );
    }

    #[test]
    fn a_live_organisation_lists_its_successors_in_text_and_markdown() {
        // given a merger, a re-establishment out of its result and a spin-off
        let l = ledger(&[
            created("a", "A", "2010", "X"),
            created("b", "B", "2010", "Y"),
            json!({"type": "transformed", "mode": "fusion", "date": "2012", "from": ["a", "b"], "to": ["c"],
                   "new": [{"id": "c", "name": "C", "kind": "commune"}]}),
            json!({"type": "transformed", "mode": "reestablishment", "date": "2014", "from": ["c"], "to": ["b"]}),
            json!({"type": "transformed", "mode": "spin_off", "date": "2015", "from": ["c"], "to": ["d"],
                   "new": [{"id": "d", "name": "D", "kind": "commune"}]}),
        ]);
        // when the landscape of 2016 is shown
        let v = replay(&l, day("2016"), u64::MAX);
        // then `c`, still alive, lists both as successors, as the JSON does
        let text = render_text(&v);
        let details = |from: &str| {
            let start = text.find(from).expect("details");
            text[start..]
                .split("\n\n")
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        insta::assert_snapshot!(details("\nc: C"), @"

        c: C
          predecessors  a (fusion, 2012, seq 3)
                        b (fusion, 2012, seq 3)
          successors    b (reestablishment, 2014, seq 4)
                        d (spin_off, 2015, seq 5)
        ");
        let markdown = render_markdown(&v);
        assert!(
            markdown.contains(
                "- **successors**: b (reestablishment, 2014, seq 4); d (spin\\_off, 2015, seq 5)"
            ),
            "{markdown}"
        );
        let c = v.organisations.iter().find(|o| o.id == "c").expect("c");
        assert_eq!(c.successors.len(), 2);
    }

    #[test]
    fn markdown_cells_escape_pipes() {
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
        // Given names that a Markdown renderer would read as HTML or
        // markup, when rendered as cells, then they show as written.
        assert_eq!(
            md_cell("<script>alert(1)</script> & c\"><img src=x>"),
            "&lt;script>alert(1)&lt;/script> &amp; c\">&lt;img src=x>"
        );
        assert_eq!(
            md_cell("[click](javascript:x) *a* _b_ `c` \\"),
            "\\[click\\](javascript:x) \\*a\\* \\_b\\_ \\`c\\` \\\\"
        );
    }

    // --- positions ------------------------------------------------------

    fn positions() -> Vec<Entry> {
        let mut l = ledger(&[
            json!({"type": "milestone", "date": "2000", "summary": "a"}),
            json!({"type": "milestone", "date": "2000", "summary": "b"}),
            json!({"type": "milestone", "date": "2000", "summary": "c"}),
            json!({"type": "milestone", "date": "2000", "summary": "d"}),
        ]);
        l[0].hash = format!("abcd1{}", "0".repeat(59));
        l[1].hash = format!("abcd2{}", "0".repeat(59));
        l[2].hash = format!("0004{}", "f".repeat(60));
        l[3].hash = format!("9999{}", "f".repeat(60));
        l
    }

    #[test]
    fn positions_resolve_from_seqs_hashes_and_times() {
        let l = positions();
        assert_eq!(resolve_position(&l, "2"), Ok(2));
        assert_eq!(resolve_position(&l, "0"), Ok(0));
        assert_eq!(resolve_position(&l, "seq:3"), Ok(3));
        assert_eq!(resolve_position(&l, "abcd2"), Ok(2));
        assert_eq!(resolve_position(&l, "ABCD2"), Ok(2), "hex in either case");
        assert_eq!(resolve_position(&l, "hash:0004"), Ok(3));
        assert_eq!(
            resolve_position(&l, "0004"),
            Ok(4),
            "digits are a seq even when they also prefix a hash"
        );
        assert_eq!(resolve_position(&l, "hash:9999"), Ok(4));
        assert_eq!(
            resolve_position(&l, "2026-01"),
            Ok(4),
            "a month means its end"
        );
        assert_eq!(resolve_position(&l, "2025-12"), Ok(0));
        assert_eq!(resolve_position(&l, "2026-01-03T12:00:00Z"), Ok(3));
        assert_eq!(resolve_position(&l, "2026-01-03T11:59:59Z"), Ok(2));
        assert_eq!(resolve_position(&l, "2026-01-03T13:00:00+02:00"), Ok(2));
        assert_eq!(
            resolve_position(&l, "2026-01-02"),
            Ok(2),
            "a day means its end"
        );
        assert_eq!(resolve_position(&l, "2025-12-31T00:00:00Z"), Ok(0));
    }

    #[test]
    fn names_head_agrees_with_resolve_position() {
        let l = positions();
        let head = l.last().expect("head");
        for text in [
            "4",
            "0004",
            "seq:4",
            " 4 ",
            "3",
            "0",
            "seq:3",
            "9999",
            "seq:x",
            "hash:9999",
            "9999ffff",
            "abcd2",
            "2026-01",
            "2026-01-04",
            "2026-01-03",
            "2026-01-04T12:00:00Z",
            "2026-01-04T11:59:59Z",
            "2030-01-01T00:00:00+02:00",
            "yesterday",
            "",
            "2016-23",
            "99999999999999999999999",
        ] {
            // Never wrong: when it says head, resolving says head too.
            if names_head(text, head.seq, &head.recorded) {
                assert_eq!(resolve_position(&l, text), Ok(4), "{text:?}");
            }
        }
        assert!(names_head("4", 4, "x"), "a seq needs no time");
        assert!(names_head("2026-01", 4, &head.recorded));
        assert!(!names_head("2026-01-03", 4, &head.recorded));
        assert!(
            !names_head("9999ffff", 4, &head.recorded),
            "a hash prefix may be ambiguous"
        );
        assert!(
            names_head("seq:4", 4, &head.recorded)
                && names_head("2026-01-04T12:00:00Z", 4, &head.recorded)
        );
    }

    #[test]
    fn bad_positions_are_explained() {
        let l = positions();
        assert_eq!(
            resolve_position(&l, "7"),
            Err(PositionError::BeyondHead {
                seq: 7,
                head: 4,
                digits: Some("7".into())
            })
        );
        // Digits beyond the head are not read as a hash prefix, even when
        // one record's hash starts with them: the hint says how.
        let e = resolve_position(&l, "9999").expect_err("beyond the head");
        assert_eq!(
            e.to_string(),
            "seq 9999 is beyond the ledger's head (seq 4); digits are read as a seq: for a hash prefix write `hash:9999`, for the end of the year 9999 write `9999-12-31`"
        );
        let e = resolve_position(&l, "99331").expect_err("beyond the head");
        assert_eq!(
            e.to_string(),
            "seq 99331 is beyond the ledger's head (seq 4); digits are read as a seq: for a hash prefix write `hash:99331`"
        );
        assert_eq!(
            resolve_position(&l, "seq:9").map_err(|e| e.to_string()),
            Err("seq 9 is beyond the ledger's head (seq 4)".to_owned())
        );
        // Digits too many for 64 bits are still a seq, quoted as written;
        // the hint only where they could be a hash prefix.
        let e = resolve_position(&l, "99999999999999999999999").expect_err("beyond the head");
        assert_eq!(
            e.to_string(),
            "seq `99999999999999999999999` is beyond the ledger's head (seq 4); digits are read as a seq: for a hash prefix write `hash:99999999999999999999999`"
        );
        let e = resolve_position(&l, "seq:99999999999999999999999").expect_err("beyond");
        assert_eq!(
            e.to_string(),
            "seq `99999999999999999999999` is beyond the ledger's head (seq 4)"
        );
        assert_eq!(
            resolve_position(&l, "abcd"),
            Err(PositionError::AmbiguousHash {
                prefix: "abcd".into(),
                first: 1,
                second: 2
            })
        );
        assert_eq!(
            resolve_position(&l, "beef"),
            Err(PositionError::NoSuchHash {
                prefix: "beef".into()
            })
        );
        for bad in [
            "",
            "abc",
            "yesterday",
            "2016",
            "seq:x",
            "hash:zz",
            "2016-23",
            "2016-13",
        ] {
            let e = resolve_position(&l, bad);
            if bad == "2016" {
                assert_eq!(
                    e,
                    Err(PositionError::BeyondHead {
                        seq: 2016,
                        head: 4,
                        digits: Some("2016".into())
                    })
                );
            } else {
                assert!(
                    matches!(e, Err(PositionError::Syntax { .. })),
                    "{bad:?}: {e:?}"
                );
            }
        }
        let msg = resolve_position(&l, "yesterday")
            .expect_err("bad")
            .to_string();
        assert!(
            msg.starts_with("`yesterday` is not a ledger position; use a seq"),
            "{msg}"
        );
    }

    /// Given a generated landscape of thousands of organisations (several
    /// batches of the streaming writers), when its view on several days,
    /// with and without ended ones, is written as it is built on one to
    /// three threads, then each format is byte for byte what rendering the
    /// built view gives.
    #[test]
    fn the_streaming_writers_write_what_the_renderers_render() {
        let entries = crate::generator::test_entries(6000, 5);
        let mut several_batches = false;
        for (as_of, known) in [
            ("2030-01-01", u64::MAX),
            ("2005-06-30", 4000),
            ("1900-01-01", 10),
        ] {
            let as_of = NaiveDate::parse_from_str(as_of, "%Y-%m-%d").expect("day");
            let knowledge = Knowledge::new(&entries, known);
            let state = knowledge.fold_until(as_of);
            for include_ended in [false, true] {
                let source = ViewSource {
                    knowledge: &knowledge,
                    state: &state,
                    hash: "h",
                    as_of,
                    options: ViewOptions { include_ended },
                };
                let built = source.build();
                several_batches |= built.organisations.len() > 2 * BATCH;
                for threads in 1..=3 {
                    let mut text = Vec::new();
                    source.write_text(&mut text, threads).expect("write");
                    assert_eq!(String::from_utf8(text).expect("utf-8"), render_text(&built));
                    let mut markdown = Vec::new();
                    source
                        .write_markdown(&mut markdown, threads)
                        .expect("write");
                    assert_eq!(
                        String::from_utf8(markdown).expect("utf-8"),
                        render_markdown(&built)
                    );
                    let mut json = Vec::new();
                    source.write_json(&mut json, threads).expect("write");
                    assert_eq!(String::from_utf8(json).expect("utf-8"), render_json(&built));
                }
            }
        }
        assert!(several_batches, "no view had more than two batches");
    }
}
