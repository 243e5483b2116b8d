//! Replay that streams the ledger instead of holding it.
//!
//! [`crate::view::replay_with`] folds a loaded ledger: every typed event is
//! in memory at once, which at a million records is several times the
//! file's size. [`Scan::read`] instead verifies the file in one streaming
//! pass, with the same checks and errors as loading it, and keeps of each
//! record only its offset, hash and first day. The few events the
//! knowledge needs whole (corrections, plans, events that fulfil or
//! abandon a plan) are kept typed.
//!
//! [`Scan::replay`] then builds the [`Knowledge`] from those and from the
//! seq and hash of the records corrections name (which tell whether they
//! are corrected; their events are not needed), and folds the
//! timeline by reading every other event it counts back from the file in
//! timeline order, on all cores, each checked to be the record verified the
//! first time ([`store::reread`]; the events kept whole come from the first
//! read). The file stays share-locked in between, so no
//! append can change it. A replay consumes the scan: the per-record slots
//! are freed once the records to fold are listed, and each chunk of that
//! list once read back. The view is the one [`crate::view::replay_with`]
//! gives (a property test below checks it).

use std::collections::{HashMap, HashSet, hash_map};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::chain::{Glance, Scanned};
use crate::date::Date;
use crate::diff::{self, Diff, DiffError, Earlier};
use crate::event::{Body, Event};
use crate::export::Creations;
use crate::fold::{Knowledge, State, apply};
use crate::graph::{self, ChangeGraph};
use crate::lineage::{self, Lineage, LineageError};
use crate::record::{Entry, GENESIS_PREV, decode_hash};
use crate::store::{self, StoreError};
use crate::view::{self, PositionError, Records, View, ViewOptions, ViewSource};

/// A verified ledger, as [`Scan::read`] keeps it: an offset, hash and first
/// day per record, and the events the knowledge needs whole.
#[derive(Debug)]
pub struct Scan {
    path: PathBuf,
    /// Open and share-locked from the scan to the replay.
    file: File,
    /// The verified length.
    bytes: u64,
    /// One per record, in seq order (`slots[i]` is seq `i + 1`).
    slots: Vec<Slot>,
    /// Corrections, plans and events that fulfil or abandon a plan, in seq
    /// order
    /// (`recorded` left empty: the knowledge does not read it).
    whole: Vec<Entry>,
    /// `recorded`, as runs: the seq where each new value starts, and that
    /// value (it never decreases along a ledger, and mostly repeats).
    recorded: Vec<(u64, DateTime<Utc>)>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    offset: u64,
    hash: [u8; 32],
    /// The event's first day ([`crate::date::Date::start`]).
    start: NaiveDate,
    /// Kept in [`Scan::whole`].
    whole: bool,
}

/// A stop on the way of a fold (see [`Plain::fold`]).
struct Pause<'p> {
    day: NaiveDate,
    /// Sees the state folded up to `day` (with no event), then the state
    /// before each event applied after that (with the event).
    watch: &'p mut Watch<'p>,
}

/// What a [`Pause`] calls.
type Watch<'p> = dyn FnMut(&State, Option<(u64, &Event)>) + 'p;

/// What the parsing threads keep of an event.
enum Kept {
    Plain(NaiveDate),
    Whole(Box<Event>),
}

/// Whether the knowledge needs the event itself, not only its place.
fn needed_whole(event: &Event) -> bool {
    event.shapes_knowledge()
}

/// A short record line, in bytes (a record's hashes and envelope alone
/// take about 200).
const SHORT_LINE: u64 = 256;

/// How many records a thread reads back and parses at a time.
const CHUNK: usize = 1024;
/// Lines closer than this are read back in one read.
const GAP: u64 = 64 << 10;
/// The most bytes read back at once.
const SPAN: u64 = 1 << 20;

impl Scan {
    /// Reads and verifies the ledger at `path` (see
    /// [`store::scan_with_progress`]), keeping it lean.
    pub fn read(path: &Path, threads: usize, progress: &dyn Fn(u64)) -> Result<Scan, StoreError> {
        Scan::read_keeping(path, threads, progress, Also::Nothing)
    }

    /// [`Scan::read`] keeping the `transformed` events whole too (about one
    /// record in eight in the generated landscapes), so that the
    /// knowledge's timeline holds every change: for [`ChangeScan::graph`]
    /// and [`ChangeScan::jsonld_to`].
    pub fn read_changes(
        path: &Path,
        threads: usize,
        progress: &dyn Fn(u64),
    ) -> Result<ChangeScan, StoreError> {
        Scan::read_keeping(path, threads, progress, Also::Changes).map(ChangeScan)
    }

    /// [`Scan::read`], keeping whole also the events `also` names.
    fn read_keeping(
        path: &Path,
        threads: usize,
        progress: &dyn Fn(u64),
        also: Also,
    ) -> Result<Scan, StoreError> {
        // Room for as many records as the file would hold were its lines
        // short ones: growing a vector of a million slots would copy it
        // and fault its pages in again at each doubling. (A wrong guess
        // costs address space, or a growth: the scan reads what is there.)
        let guess = std::fs::metadata(path).map_or(0, |m| m.len() / SHORT_LINE);
        let mut slots = Vec::with_capacity(usize::try_from(guess).unwrap_or(0));
        let mut whole = Vec::new();
        let mut recorded = Vec::new();
        let mut last_recorded = String::new();
        let keep = |event: Event| {
            if needed_whole(&event) || also.keeps(event.type_name()) {
                Kept::Whole(Box::new(event))
            } else {
                Kept::Plain(event.date.start())
            }
        };
        // Most events are only checked, their date read as written.
        let quick = |g: Glance<'_>| {
            if g.whole || also.keeps(g.ty) {
                return None;
            }
            Date::parse(g.date).ok().map(|d| Kept::Plain(d.start()))
        };
        let (file, bytes) =
            store::scan_with_progress(path, threads, progress, quick, keep, |s: Scanned<Kept>| {
                if s.recorded != last_recorded {
                    // Checked by the scan, with this same reading.
                    if let Some(time) = crate::record::recorded_time(s.recorded) {
                        recorded.push((s.seq, time));
                    }
                    s.recorded.clone_into(&mut last_recorded);
                }
                let (start, is_whole) = match s.kept {
                    Kept::Plain(start) => (start, false),
                    Kept::Whole(event) => {
                        let start = event.date.start();
                        whole.push(Entry {
                            seq: s.seq,
                            hash: hex(&s.hash),
                            recorded: String::new(),
                            event: *event,
                        });
                        (start, true)
                    }
                };
                slots.push(Slot {
                    offset: s.offset,
                    hash: s.hash,
                    start,
                    whole: is_whole,
                });
            })?;
        Ok(Scan {
            path: path.to_owned(),
            file,
            bytes,
            slots,
            whole,
            recorded,
        })
    }

    /// The seq a `--known-at` position names (see
    /// [`crate::view::resolve_position`]), from what the scan kept.
    pub fn resolve(&self, text: &str) -> Result<u64, PositionError> {
        view::resolve_in(self, text)
    }

    /// The hash of record 1, which names the ledger (64 zeros when it is
    /// empty; see [`crate::snapshot::ledger_id`]).
    pub fn ledger_id(&self) -> String {
        self.hash(1)
    }

    /// The number of records (the head's seq).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the ledger has no record.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The view on `as_of` as known at seq `known_at` (clamped to the head):
    /// what [`crate::view::replay_with`] gives on the loaded ledger.
    /// `threads` is how many threads read events back.
    pub fn replay(
        self,
        as_of: NaiveDate,
        known_at: u64,
        options: ViewOptions,
        threads: usize,
    ) -> Result<View, StoreError> {
        // Freed here, before the caller renders the view: memory freed by
        // another thread comes back to this one late, so rendering would
        // take fresh pages (30 MB more for the text view at 10^6).
        self.replay_freeing(as_of, known_at, options, threads, |v| v.build(), false)
    }

    /// [`Scan::replay`], handing `render` the view before it is built (see
    /// [`ViewSource::write_json`]), while the folded state is alive.
    ///
    /// The scan is consumed: its per-record slots are freed before the
    /// fold, and each chunk of the records to read back once read, so that
    /// the peak, reached as the fold ends, holds the folded state and the
    /// events kept whole, not a slot per record. Once `render` has its
    /// answer, the state and the events kept whole (millions of small
    /// allocations) are freed on another thread.
    pub fn replay_to<T>(
        self,
        as_of: NaiveDate,
        known_at: u64,
        options: ViewOptions,
        threads: usize,
        render: impl FnOnce(&ViewSource<'_>) -> T,
    ) -> Result<T, StoreError> {
        self.replay_freeing(as_of, known_at, options, threads, render, true)
    }

    /// [`Scan::replay_to`], freeing the folded state on another thread
    /// (`later`) or before returning.
    fn replay_freeing<T>(
        self,
        as_of: NaiveDate,
        known_at: u64,
        options: ViewOptions,
        threads: usize,
        render: impl FnOnce(&ViewSource<'_>) -> T,
        later: bool,
    ) -> Result<T, StoreError> {
        self.fold_to(as_of, known_at, threads, later, |knowledge, state, hash| {
            render(&ViewSource {
                knowledge,
                state,
                hash,
                as_of,
                options,
            })
        })
    }

    /// Folds the records known at seq `known_at` (clamped to the head) up to
    /// `until` and hands `render` the knowledge, the state (its
    /// organisations in id order) and the hash at the position; then frees
    /// the state on another thread (`later`) or before returning.
    fn fold_to<T>(
        self,
        until: NaiveDate,
        known_at: u64,
        threads: usize,
        later: bool,
        render: impl FnOnce(&Knowledge<'_>, &State, &str) -> T,
    ) -> Result<T, StoreError> {
        let known = self.known(known_at);
        let hash = self.hash(known);
        let (reader, whole, order, targets) = self.list(known, until);
        let knowledge = Scan::knowledge(&whole, known, &targets);
        let plain = reader.plain(order, &knowledge);
        let mut state = State::default();
        plain.fold(&knowledge, until, threads, &mut state, None)?;
        // Listed in id order from here on. (Shrinking the state's lists
        // would not lower the peak, reached during the fold, and the
        // view is written as it is built.)
        state.orgs.sort();
        let rendered = render(&knowledge, &state, &hash);
        drop(knowledge);
        if later {
            store::drop_later((state, whole, targets));
        }
        Ok(rendered)
    }

    /// The lineage of `org` up to `as_of` (no limit when `None`) as known at
    /// seq `known_at` (clamped to the head): what [`lineage::lineage`] gives
    /// on the loaded ledger, errors included, except in one case, where it
    /// gives `None`: `org` is not an organisation on an `as_of` day, for
    /// whether it comes into being later needs the whole timeline, which a
    /// fold to the day does not read ([`Scan::lineage_whole`] does). The
    /// scan is consumed.
    pub fn lineage(
        self,
        org: &str,
        as_of: Option<NaiveDate>,
        known_at: u64,
        threads: usize,
    ) -> Result<Option<Result<Lineage, LineageError>>, StoreError> {
        let day = as_of.unwrap_or(NaiveDate::MAX);
        self.replay_to(day, known_at, ViewOptions::default(), threads, |v| {
            (as_of.is_none() || v.state.orgs.contains_key(org))
                .then(|| lineage::lineage_in(v.knowledge, v.state, v.known_at(), org, as_of))
        })
    }

    /// The lineage of `org` up to `as_of` as known at seq `known_at`
    /// (clamped to the head): what [`lineage::lineage`] gives on the loaded
    /// ledger, in every case on a ledger whose timeline passes validation
    /// (on one written by other means, where an id is created twice or
    /// both launched as a program and created, the error may differ).
    /// Where [`Scan::lineage`] gives `None` (`org`
    /// is no organisation on the `as_of` day), whether `org` comes into
    /// being later ([`LineageError::NotYet`]) needs the whole timeline: this
    /// folds it once, pausing on the `as_of` day to trace the lineage there,
    /// then watching the events after it for the first that creates `org`
    /// (none before the day does, or it would be an organisation on it).
    /// The scan is consumed.
    pub fn lineage_whole(
        self,
        org: &str,
        as_of: Option<NaiveDate>,
        known_at: u64,
        threads: usize,
    ) -> Result<Result<Lineage, LineageError>, StoreError> {
        let known = self.known(known_at);
        let hash = self.hash(known);
        let (reader, whole, order, targets) = self.list(known, NaiveDate::MAX);
        let knowledge = Scan::knowledge(&whole, known, &targets);
        let plain = reader.plain(order, &knowledge);
        let mut state = State::default();
        let trace = |state: &State| {
            let known_at = crate::view::KnownAt {
                seq: knowledge.position,
                hash: hash.clone(),
            };
            let present = state.orgs.contains_key(org);
            (
                present,
                lineage::lineage_in(&knowledge, state, known_at, org, as_of),
            )
        };
        let mut traced = None;
        let mut first = None;
        let mut pause = Pause {
            day: as_of.unwrap_or(NaiveDate::MAX),
            watch: &mut |state: &State, next: Option<(u64, &Event)>| match next {
                None => traced = Some(trace(state)),
                Some((seq, event)) => {
                    if first.is_none() && lineage::creates(event, org) {
                        first = Some((event.date.clone(), seq));
                    }
                }
            },
        };
        plain.fold(
            &knowledge,
            NaiveDate::MAX,
            threads,
            &mut state,
            Some(&mut pause),
        )?;
        // The pause is reached at the day, or else at the end.
        let (present, traced) = traced.unwrap_or_else(|| trace(&state));
        drop(knowledge);
        store::drop_later((state, whole, targets));
        Ok(match (as_of.filter(|_| !present), first) {
            (Some(day), Some((since, seq))) => Err(LineageError::NotYet {
                id: org.to_owned(),
                as_of: day,
                since,
                seq,
            }),
            _ => traced,
        })
    }

    /// What changed between the days `from` and `to` as known at seq
    /// `known_at` (clamped to the head): what [`diff::diff_dates`] gives on
    /// the loaded ledger. Folds once, keeping of the state on `from` only
    /// what the events after it may change ([`Earlier`]). The scan is
    /// consumed, as by [`Scan::replay_to`].
    pub fn diff(
        self,
        from: NaiveDate,
        to: NaiveDate,
        known_at: u64,
        threads: usize,
    ) -> Result<Result<Diff, DiffError>, StoreError> {
        self.diff_freeing(from, to, known_at, threads, |d| d, false)
    }

    /// [`Scan::diff`], handing the diff to `render` while the folded state
    /// and what was kept of the earlier one are alive; once `render` has
    /// its answer, they are freed on another thread (as by
    /// [`Scan::replay_to`]).
    pub fn diff_to<T>(
        self,
        from: NaiveDate,
        to: NaiveDate,
        known_at: u64,
        threads: usize,
        render: impl FnOnce(Diff) -> T,
    ) -> Result<Result<T, DiffError>, StoreError> {
        self.diff_freeing(from, to, known_at, threads, render, true)
    }

    /// [`Scan::diff_to`], freeing the folded state and what was kept of the
    /// earlier one on another thread (`later`) or before returning.
    fn diff_freeing<T>(
        self,
        from: NaiveDate,
        to: NaiveDate,
        known_at: u64,
        threads: usize,
        render: impl FnOnce(Diff) -> T,
        later: bool,
    ) -> Result<Result<T, DiffError>, StoreError> {
        if from > to {
            return Ok(Err(DiffError::Reversed { from, to }));
        }
        let known = self.known(known_at);
        let hash = self.hash(known);
        let (reader, whole, order, targets) = self.list(known, to);
        let knowledge = Scan::knowledge(&whole, known, &targets);
        let plain = reader.plain(order, &knowledge);
        let mut state = State::default();
        // What the state on `from` was, where the events after it changed
        // it: no copy of the whole state.
        let mut earlier = None;
        let mut window: Vec<(u64, Event)> = Vec::new();
        let mut counted: Vec<u64> = Vec::new();
        let mut pause = Pause {
            day: from,
            watch: &mut |state: &State, next: Option<(u64, &Event)>| match next {
                None => earlier = Some(Earlier::new(state)),
                Some((seq, event)) => {
                    counted.push(seq);
                    if let Some(earlier) = earlier.as_mut() {
                        earlier.note(state, event);
                    }
                    if diff::is_removal(event) {
                        window.push((seq, event.clone()));
                    }
                }
            },
        };
        plain.fold(&knowledge, to, threads, &mut state, Some(&mut pause))?;
        let earlier = earlier.unwrap_or_default();
        let diff = diff::diff_earlier(
            &knowledge,
            &hash,
            (from, &earlier),
            (to, &state),
            window.iter().map(|(seq, e)| (*seq, e)),
            &mut counted,
        );
        drop(knowledge);
        let freed = (earlier, state, window, whole, targets, counted);
        if !later {
            drop(freed);
            return Ok(Ok(render(diff)));
        }
        let rendered = render(diff);
        store::drop_later(freed);
        Ok(Ok(rendered))
    }

    /// What the state of knowledge at seq `known_b` says differently from
    /// the one at `known_a` about the day `day` (both clamped to the head):
    /// what [`diff::diff_knowledge`] gives on the loaded ledger. Folds twice,
    /// reading the records back each time, and keeps of the events only the
    /// few the comparison reads (the removals after `known_a`, and those
    /// `known_b` corrects). `render` gets the diff while both folded states
    /// are alive; they are freed on another thread afterwards. The scan is
    /// consumed.
    pub fn diff_known_to<T>(
        self,
        day: NaiveDate,
        known_a: u64,
        known_b: u64,
        threads: usize,
        render: impl FnOnce(Diff) -> T,
    ) -> Result<Result<T, DiffError>, StoreError> {
        let (a, b) = (self.known(known_a), self.known(known_b));
        if a > b {
            return Ok(Err(DiffError::KnowledgeReversed {
                a: a as u64,
                b: b as u64,
            }));
        }
        let (hash_a, hash_b) = (self.hash(a), self.hash(b));
        let (reader, whole) = self.into_parts();
        let (targets_a, targets_b) = (
            targets(&reader.slots, &whole, a),
            targets(&reader.slots, &whole, b),
        );
        let knowledge_a = Scan::knowledge(&whole, a, &targets_a);
        let knowledge_b = Scan::knowledge(&whole, b, &targets_b);
        // The records `b` corrects after `a`.
        let corrected: HashSet<u64> = knowledge_b
            .corrections
            .iter()
            .filter(|(_, c)| c.seq > a as u64)
            .map(|(seq, _)| *seq)
            .collect();
        // Each fold keeps, in timeline order, the events it applies that
        // the comparison reads, and the seqs after `a` of all it applies
        // (for the unlisted).
        type Folded = (State, Vec<(u64, Event)>, Vec<u64>);
        let fold = |plain: Plain,
                    knowledge: &Knowledge<'_>,
                    keep: &dyn Fn(u64, &Event) -> bool|
         -> Result<Folded, StoreError> {
            let mut state = State::default();
            let mut kept = Vec::new();
            let mut counted = Vec::new();
            let mut pause = Pause {
                day: NaiveDate::MIN,
                watch: &mut |_: &State, next: Option<(u64, &Event)>| {
                    if let Some((seq, event)) = next {
                        if seq > a as u64 {
                            counted.push(seq);
                        }
                        if keep(seq, event) {
                            kept.push((seq, event.clone()));
                        }
                    }
                },
            };
            plain.fold(knowledge, day, threads, &mut state, Some(&mut pause))?;
            Ok((state, kept, counted))
        };
        let plain_a = reader.plain_again(reader.order(a, day), &knowledge_a)?;
        let (before, kept_a, _) = fold(plain_a, &knowledge_a, &|seq, _| corrected.contains(&seq))?;
        let order_b = reader.order(b, day);
        let plain_b = reader.plain(order_b, &knowledge_b);
        let (after, kept_b, mut counted) = fold(plain_b, &knowledge_b, &|seq, event| {
            seq > a as u64 && diff::is_removal(event)
        })?;
        let (events_a, events_b) = (borrowed(&kept_a), borrowed(&kept_b));
        let d = diff::diff_knowledge_folded(
            (&knowledge_a, &hash_a, &before, &events_a),
            (&knowledge_b, &hash_b, &after, &events_b),
            day,
            &mut counted,
        );
        let rendered = render(d);
        drop((events_a, events_b, knowledge_a, knowledge_b));
        store::drop_later((before, after, kept_a, kept_b, whole, targets_a, targets_b));
        Ok(Ok(rendered))
    }

    /// Writes the records known at seq `known_at` (clamped to the head) as
    /// CSV to `out`: what [`crate::export::write_events_csv`] writes from the
    /// loaded ledger. The corrections come from the scan; the records from
    /// a second streaming pass over the file, still share-locked, each
    /// record written checked to be the one the scan verified, its row's
    /// event fields made where it is parsed. The outer error is the ledger's (a record
    /// that changed since the scan), the inner one `out`'s. The pass reads
    /// no further than the last record known, nor past a failed write (a
    /// closed pipe).
    pub fn write_records_csv(
        self,
        known_at: u64,
        threads: usize,
        mut out: impl std::io::Write,
    ) -> Result<std::io::Result<()>, StoreError> {
        use std::sync::atomic::{AtomicBool, Ordering};

        let known = self.known(known_at);
        let targets = targets(&self.slots, &self.whole, known);
        let knowledge = Scan::knowledge(&self.whole, known, &targets);
        let corrected = crate::export::Targets::of(&knowledge, |seq| {
            let index = usize::try_from(seq.checked_sub(1)?).ok()?;
            self.slots.get(index).map(|slot| hex(&slot.hash))
        });
        let mut row = String::new();
        crate::export::push_csv_row(&mut row, &crate::export::EVENT_COLUMNS);
        let mut written = out.write_all(row.as_bytes());
        // Set once no more rows are to be made (the last known one is
        // written, a write failed, a record changed): the pass then reads
        // no further.
        let stop = AtomicBool::new(written.is_err() || known == 0);
        let mut changed: Option<u64> = None;
        let mut seen = 0;
        let fields = |event: Event| {
            let mut fields = String::new();
            if !stop.load(Ordering::Relaxed) {
                crate::export::push_event_fields(&mut fields, &event, &corrected);
            }
            fields
        };
        let pass = store::stream_with_progress(
            &self.path,
            threads,
            &|_| {},
            &stop,
            fields,
            |s: Scanned<String>| {
                seen = s.seq;
                let index = usize::try_from(s.seq.saturating_sub(1)).unwrap_or(usize::MAX);
                if index >= known || written.is_err() || changed.is_some() {
                    return;
                }
                if self.slots.get(index).map(|slot| slot.hash) != Some(s.hash) {
                    changed = Some(s.seq);
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
                row.clear();
                crate::export::push_record_row(
                    &mut row,
                    s.seq,
                    s.recorded,
                    &s.kept,
                    knowledge.corrections.get(&s.seq),
                    &hex(&s.hash),
                );
                written = out.write_all(row.as_bytes());
                if written.is_err() || s.seq >= known as u64 {
                    stop.store(true, Ordering::Relaxed);
                }
            },
        );
        // Once stopped, the pass's end says nothing of the file.
        if written.is_err() || (changed.is_none() && seen >= known as u64) {
            return Ok(written);
        }
        match pass {
            // A record that no longer verifies: the scan verified every one.
            Err(StoreError::Chain { .. } | StoreError::Event { .. }) | Ok(_) => {}
            // The file gone, a journal there, a read failing: said as such.
            Err(e) => return Err(e),
        }
        // A record that no longer reads as the one verified, or that no
        // longer verifies, or that is gone.
        Err(StoreError::Changed {
            path: self.path.clone(),
            seq: changed.unwrap_or(seen + 1),
        })
    }

    /// `known_at` clamped to the head, as a count of records.
    fn known(&self, known_at: u64) -> usize {
        known_in(&self.slots, known_at)
    }

    /// The hash of the record at seq `known` (64 zeros for 0).
    fn hash(&self, known: usize) -> String {
        hash_in(&self.slots, known)
    }

    /// The scan taken apart for a fold of the first `known` records up to
    /// `until`: the reader, the events kept whole, the other records in
    /// timeline order ([`Reader::order`]) and the correction targets
    /// ([`targets`]). The two lists are made on two threads: each reads
    /// every slot.
    #[allow(clippy::type_complexity)]
    fn list(
        self,
        known: usize,
        until: NaiveDate,
    ) -> (
        Reader,
        Vec<Entry>,
        Vec<(NaiveDate, usize)>,
        Vec<(u64, String)>,
    ) {
        let (reader, whole) = self.into_parts();
        let (order, targets) = std::thread::scope(|s| {
            let order = s.spawn(|| reader.order(known, until));
            let targets = targets(&reader.slots, &whole, known);
            (order.join(), targets)
        });
        // The thread only sorts: were it to have stopped, the list is made
        // here.
        let order = order.unwrap_or_else(|_| reader.order(known, until));
        (reader, whole, order, targets)
    }

    /// The knowledge at seq `known` from the events kept `whole` and the
    /// correction `targets`.
    fn knowledge<'a>(
        whole: &'a [Entry],
        known: usize,
        targets: &'a [(u64, String)],
    ) -> Knowledge<'a> {
        let mut knowledge = Knowledge::with_named(whole_until(whole, known), targets, known as u64);
        knowledge.position = known as u64;
        knowledge
    }

    /// What a fold needs of the scan, and the events kept whole; the rest
    /// (the `recorded` runs) is dropped.
    fn into_parts(self) -> (Reader, Vec<Entry>) {
        let Scan {
            path,
            file,
            bytes,
            slots,
            whole,
            recorded: _,
        } = self;
        (
            Reader {
                path,
                file,
                bytes,
                slots,
            },
            whole,
        )
    }
}

/// A [`Scan`] that kept the `transformed` events whole ([`Scan::read_changes`]).
#[derive(Debug)]
pub struct ChangeScan(Scan);

impl std::ops::Deref for ChangeScan {
    type Target = Scan;

    fn deref(&self) -> &Scan {
        &self.0
    }
}

impl ChangeScan {
    /// The changes whose date overlaps `[from, to]` as known at seq
    /// `known_at` (clamped to the head): what [`graph::changes`] gives on
    /// the loaded ledger. The scan is consumed.
    pub fn graph(
        self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        known_at: u64,
        threads: usize,
    ) -> Result<ChangeGraph, StoreError> {
        let until = to.unwrap_or(NaiveDate::MAX);
        self.0
            .replay_to(until, known_at, ViewOptions::default(), threads, |v| {
                graph::changes_in(v.knowledge, v.state, from, to)
            })
    }

    /// Folds the records known at seq `known_at` (clamped to the head) up to
    /// `as_of` (all when `None`) and hands `render` what
    /// [`crate::export::write_jsonld_of`] reads: the knowledge, the state
    /// (its organisations in the fold's order, as the loaded ledger's),
    /// the hash of each record kept whole by seq (every change and the
    /// corrections that replace one), the hash at the position, and the
    /// sources of the `created` events folded, noted as they pass (the
    /// events themselves are read back and dropped, as a replay's). The
    /// scan is consumed.
    pub fn jsonld_to<T>(
        self,
        as_of: Option<NaiveDate>,
        known_at: u64,
        threads: usize,
        render: impl FnOnce(&Knowledge<'_>, &State, &HashMap<u64, &str>, &str, &Creations) -> T,
    ) -> Result<T, StoreError> {
        let until = as_of.unwrap_or(NaiveDate::MAX);
        let known = self.known(known_at);
        let hash = self.hash(known);
        let (reader, whole, order, targets) = self.0.list(known, until);
        let knowledge = Scan::knowledge(&whole, known, &targets);
        let plain = reader.plain(order, &knowledge);
        let mut state = State::default();
        let mut creations = Creations::default();
        // Dates start in year 1 at the earliest: a pause on the first day
        // there is sees every event.
        let mut pause = Pause {
            day: NaiveDate::MIN,
            watch: &mut |_: &State, next: Option<(u64, &Event)>| {
                if let Some((seq, event)) = next {
                    creations.note(seq, event);
                }
            },
        };
        plain.fold(&knowledge, until, threads, &mut state, Some(&mut pause))?;
        let creations = creations.sorted();
        let hashes: HashMap<u64, &str> = whole.iter().map(|e| (e.seq, e.hash.as_str())).collect();
        let rendered = render(&knowledge, &state, &hashes, &hash, &creations);
        drop((hashes, knowledge));
        store::drop_later((state, whole, targets, creations));
        Ok(rendered)
    }
}

/// A [`Scan`] kept for several folds, each of a view ([`Scan::into_views`]):
/// what `fusion verify` re-derives snapshots from without loading the
/// ledger. The per-record slots stay (about 50 bytes a record) and the
/// file stays share-locked until it is dropped; each fold reads its records
/// back as a replay does, and frees its state before the next.
#[derive(Debug)]
pub struct Views {
    reader: Reader,
    whole: Vec<Entry>,
    threads: usize,
}

impl Scan {
    /// The scan kept for several folds; `threads` read events back and
    /// render each view.
    pub fn into_views(self, threads: usize) -> Views {
        let (reader, whole) = self.into_parts();
        Views {
            reader,
            whole,
            threads,
        }
    }
}

impl Views {
    /// The number of records (the head's seq).
    pub fn len(&self) -> usize {
        self.reader.slots.len()
    }

    /// Whether the ledger has no record.
    pub fn is_empty(&self) -> bool {
        self.reader.slots.is_empty()
    }

    /// The verified length of the file, in bytes.
    pub fn bytes(&self) -> u64 {
        self.reader.bytes
    }

    /// The head's hash (64 zeros for an empty ledger).
    pub fn head_hash(&self) -> String {
        hash_in(&self.reader.slots, self.len())
    }

    /// The Merkle tree of the ledger's records.
    pub fn tree(&self) -> crate::merkle::Tree {
        crate::merkle::Tree::from_leaf_hashes(
            self.reader
                .slots
                .iter()
                .map(|s| crate::merkle::leaf_hash(&s.hash))
                .collect(),
        )
    }

    /// Folds the view on `as_of` as known at seq `known_at` (clamped to the
    /// head) and hands it to `render`, as [`Scan::replay_to`] does with
    /// default options, keeping the scan for the next fold.
    pub fn view_to<T>(
        &self,
        as_of: NaiveDate,
        known_at: u64,
        render: impl FnOnce(&ViewSource<'_>) -> T,
    ) -> Result<T, StoreError> {
        let slots = &self.reader.slots;
        let known = known_in(slots, known_at);
        let hash = hash_in(slots, known);
        let order = self.reader.order(known, as_of);
        let targets = targets(slots, &self.whole, known);
        let knowledge = Scan::knowledge(&self.whole, known, &targets);
        let plain = self.reader.plain_again(order, &knowledge)?;
        let mut state = State::default();
        plain.fold(&knowledge, as_of, self.threads, &mut state, None)?;
        state.orgs.sort();
        let rendered = render(&ViewSource {
            knowledge: &knowledge,
            state: &state,
            hash: &hash,
            as_of,
            options: ViewOptions::default(),
        });
        drop(knowledge);
        drop((state, targets));
        Ok(rendered)
    }
}

/// An event that does not hold at its place in the timeline (see
/// [`Views::first_inconsistency`]).
#[derive(Debug)]
pub struct Inconsistency {
    /// The record's seq.
    pub seq: u64,
    /// The effective event's type (a replacement's, for a supersede).
    pub event_type: &'static str,
    /// Its date, as written.
    pub date: String,
    /// The rule it breaks.
    pub rule: crate::fold::Rejection,
}

impl Views {
    /// The ledger folded whole as an index describes it, as the loaded
    /// ledger's fold gives it (see [`crate::index::entries_of`]): the state,
    /// the tracker that followed the fold, and whether the timeline passes
    /// validation. For `fusion verify --index`.
    pub fn index_fold(&self) -> Result<crate::index::Folded, StoreError> {
        let mut tracker = crate::index::Tracker::default();
        let mut consistent = true;
        // Sees each event before it is applied, as `entries_of` does.
        let state = self.fold_whole(self.len(), &mut |state, seq, event| {
            if consistent && crate::fold::check(state, event).is_err() {
                consistent = false;
            }
            tracker.observe_event(state, seq, event);
        })?;
        Ok(crate::index::Folded {
            tracker,
            state,
            consistent,
        })
    }

    /// The first event of the timeline that does not hold at its place in
    /// it (what `append` calls "the ledger is already inconsistent": a file
    /// written by other means), by the same check as the append's
    /// validation ([`crate::fold::check`] against the state before it):
    /// its seq, type, date and the rule it breaks. `None` when every event
    /// holds. For `fusion verify --history`.
    pub fn first_inconsistency(&self) -> Result<Option<Inconsistency>, StoreError> {
        let mut first = None;
        self.fold_whole(self.len(), &mut |state, seq, event| {
            if first.is_none()
                && let Err(rule) = crate::fold::check(state, event)
            {
                first = Some(Inconsistency {
                    seq,
                    event_type: event.type_name(),
                    date: event.date.to_string(),
                    rule,
                });
            }
        })?;
        Ok(first)
    }

    /// The first record, in seq order, with a link that `append`'s link
    /// rules refuse: a correction's `target`, a `fulfils` or a
    /// `plan_abandoned`'s `plan` (a replacement's included) that names no
    /// earlier record of the ledger; a correction of a correction, or of a
    /// record an earlier correction corrected; a `fulfils` or `plan` that
    /// names a record stating no plan. Only a file written by other means
    /// holds one (a ledger whose every hash was recomputed after an edit
    /// does: its links name the old hashes); replays ignore it. For
    /// `fusion verify --history`.
    pub fn first_bad_link(&self) -> Option<Inconsistency> {
        let wanted: HashSet<[u8; 32]> = (self.whole.iter())
            .flat_map(|e| links_of(e).filter_map(|(_, h)| decode_hash(h)))
            .collect();
        if wanted.is_empty() {
            return None;
        }
        let mut seqs: HashMap<[u8; 32], u64> = HashMap::with_capacity(wanted.len());
        for (seq, slot) in with_hashes(&self.reader.slots, &wanted) {
            seqs.entry(slot.hash).or_insert(seq);
        }
        // Corrections and plans are all kept whole.
        let whole: HashMap<u64, &Entry> = self.whole.iter().map(|e| (e.seq, e)).collect();
        let mut corrected: HashMap<u64, u64> = HashMap::new();
        self.whole.iter().find_map(|e| {
            let why = links_of(e).find_map(|(field, hash)| {
                let short = crate::event::short_hash(hash);
                let Some(&seq) = decode_hash(hash).and_then(|k| seqs.get(&k)).filter(|&&s| s < e.seq) else {
                    return Some((field, format!("its `{field}` `{short}` names no earlier record of this ledger")));
                };
                let target = whole.get(&seq).map(|t| &t.event.body);
                match field {
                    "target" if matches!(target, Some(Body::Correction { .. })) => Some((
                        field,
                        format!("its `target` `{short}` names seq {seq}, a correction, which cannot be corrected"),
                    )),
                    "target" => match corrected.entry(seq) {
                        hash_map::Entry::Occupied(first) => Some((
                            field,
                            format!("its `target` `{short}` names seq {seq}, which seq {} corrected already (only a record's first correction counts)", first.get()),
                        )),
                        hash_map::Entry::Vacant(slot) => {
                            slot.insert(e.seq);
                            None
                        }
                    },
                    _ => {
                        let states_plan = match target {
                            Some(Body::Planned { .. }) => true,
                            Some(Body::Correction { replacement: Some(r), .. }) => {
                                matches!(r.body, Body::Planned { .. })
                            }
                            _ => false,
                        };
                        (!states_plan).then(|| {
                            (field, format!("its `{field}` `{short}` names seq {seq}, which states no plan"))
                        })
                    }
                }
            })?;
            let (field, message) = why;
            let rule = match field {
                "target" => crate::fold::Rule::CorrectionTarget,
                "fulfils" => crate::fold::Rule::FulfilsTarget,
                _ => crate::fold::Rule::PlanTarget,
            };
            Some(Inconsistency {
                seq: e.seq,
                event_type: e.event.type_name(),
                date: e.event.date.to_string(),
                rule: crate::fold::Rejection {
                    rule,
                    message,
                    hint: None,
                    id: None,
                },
            })
        })
    }

    /// Folds the whole timeline of the first `known` records, handing
    /// `watch` each event with its seq and the state before it is applied;
    /// returns the state at the end.
    fn fold_whole(
        &self,
        known: usize,
        watch: &mut dyn FnMut(&State, u64, &Event),
    ) -> Result<State, StoreError> {
        let slots = &self.reader.slots;
        let order = self.reader.order(known, NaiveDate::MAX);
        let targets = targets(slots, &self.whole, known);
        let knowledge = Scan::knowledge(&self.whole, known, &targets);
        let plain = self.reader.plain_again(order, &knowledge)?;
        let mut state = State::default();
        let mut pause = Pause {
            day: NaiveDate::MIN,
            watch: &mut |state: &State, next: Option<(u64, &Event)>| {
                if let Some((seq, event)) = next {
                    watch(state, seq, event);
                }
            },
        };
        plain.fold(
            &knowledge,
            NaiveDate::MAX,
            self.threads,
            &mut state,
            Some(&mut pause),
        )?;
        Ok(state)
    }
}

impl crate::snapshot::Ledger for Views {
    type Error = StoreError;

    fn id(&self) -> String {
        hash_in(&self.reader.slots, 1)
    }

    fn head(&self) -> u64 {
        self.len() as u64
    }

    fn hash_at(&self, seq: u64) -> Option<String> {
        let i = usize::try_from(seq.checked_sub(1)?).ok()?;
        self.reader.slots.get(i).map(|s| hex(&s.hash))
    }

    fn view_sha256(
        &self,
        as_of: NaiveDate,
        seq: u64,
        text: bool,
    ) -> Result<(String, Option<String>), StoreError> {
        let threads = self.threads;
        self.view_to(as_of, seq, |v| {
            let mut out = crate::snapshot::ViewWriter::new(std::io::sink());
            // Hashing cannot fail.
            let _ = v.write_json(&mut out, threads);
            let text = text.then(|| {
                let mut out = crate::snapshot::HashingWriter::new(std::io::sink());
                let _ = v.write_text(&mut out, threads);
                out.finish().0
            });
            (out.finish().0, text)
        })
    }

    fn view_value(
        &self,
        as_of: NaiveDate,
        seq: u64,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.view_to(as_of, seq, |v| serde_json::to_value(v.build()).ok())
    }
}

/// The links a record makes, as (field, hash): a correction's `target`,
/// and the plan its event (or replacement) fulfils or abandons.
fn links_of(e: &Entry) -> impl Iterator<Item = (&'static str, &str)> {
    let (target, event) = match &e.event.body {
        Body::Correction {
            target,
            replacement,
            ..
        } => (Some(("target", target.as_str())), replacement.as_deref()),
        _ => (None, Some(&e.event)),
    };
    let closes = event.and_then(|r| r.closes()).map(|(plan, how)| match how {
        crate::fold::Closing::Fulfils => ("fulfils", plan),
        crate::fold::Closing::Abandons => ("plan", plan),
    });
    target.into_iter().chain(closes)
}

/// The index of the last record known at seq `known_at` (clamped to the head).
fn known_in(slots: &[Slot], known_at: u64) -> usize {
    usize::try_from(known_at).map_or(slots.len(), |k| k.min(slots.len()))
}

/// The hash of the record at seq `known` (64 zeros for 0).
fn hash_in(slots: &[Slot], known: usize) -> String {
    match known.checked_sub(1).and_then(|i| slots.get(i)) {
        Some(slot) => hex(&slot.hash),
        None => GENESIS_PREV.to_owned(),
    }
}

/// What a scan keeps whole besides what the knowledge needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Also {
    /// Nothing more.
    Nothing,
    /// The `transformed` events.
    Changes,
}

impl Also {
    /// Whether an event of type `ty` is kept whole.
    fn keeps(self, ty: &str) -> bool {
        match self {
            Also::Nothing => false,
            Also::Changes => ty == "transformed",
        }
    }
}

/// `kept` as pairs of a seq and a borrowed event.
fn borrowed(kept: &[(u64, Event)]) -> Vec<(u64, &Event)> {
    kept.iter().map(|(seq, e)| (*seq, e)).collect()
}

/// The events kept whole among the first `known` records.
fn whole_until(whole: &[Entry], known: usize) -> &[Entry] {
    &whole[..whole.partition_point(|e| e.seq <= known as u64)]
}

/// The records among the first `known` that corrections among them name
/// and that are not kept whole, by seq and hash, in seq order. The
/// knowledge needs no more of them to tell which are corrected; the ones
/// that are not are folded as plain records.
fn targets(slots: &[Slot], whole: &[Entry], known: usize) -> Vec<(u64, String)> {
    let wanted: HashSet<[u8; 32]> = whole_until(whole, known)
        .iter()
        .filter_map(|e| match &e.event.body {
            Body::Correction { target, .. } => decode_hash(target),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    with_hashes(slots.get(..known).unwrap_or(slots), &wanted)
        .filter(|(_, slot)| !slot.whole)
        .map(|(seq, slot)| (seq, hex(&slot.hash)))
        .collect()
}

/// The records among `slots` whose hash is one of `wanted`, with their seqs.
fn with_hashes<'s>(
    slots: &'s [Slot],
    wanted: &'s HashSet<[u8; 32]>,
) -> impl Iterator<Item = (u64, &'s Slot)> {
    // A first look at 16 bits of each hash, in a table of bits, spares
    // nearly every slot the set's lookup (the bits of a SHA-256 digest are
    // as good as random).
    let bit = |hash: &[u8; 32]| usize::from(u16::from_le_bytes([hash[0], hash[1]]));
    let mut maybe = vec![0u64; 1 << 10];
    for h in wanted {
        let b = bit(h);
        if let Some(word) = maybe.get_mut(b / 64) {
            *word |= 1 << (b % 64);
        }
    }
    slots.iter().enumerate().filter_map(move |(i, slot)| {
        let b = bit(&slot.hash);
        (maybe.get(b / 64).is_some_and(|w| w & (1 << (b % 64)) != 0) && wanted.contains(&slot.hash))
            .then_some((i as u64 + 1, slot))
    })
}

/// `order` sorted by day, then by index: a counting sort by day, the
/// indices being in ascending order already (what `sort_unstable` gives,
/// in time linear in the records and the days they span); a span of more
/// than [`COUNTED_DAYS`] days is left to `sort_unstable`.
fn sort_by_day(order: &mut Vec<(NaiveDate, usize)>) {
    let days = |d: NaiveDate| i64::from(d.num_days_from_ce());
    let (Some(min), Some(max)) = (
        order.iter().map(|(d, _)| days(*d)).min(),
        order.iter().map(|(d, _)| days(*d)).max(),
    ) else {
        return;
    };
    let span = usize::try_from(max - min + 1).unwrap_or(usize::MAX);
    let ascending = order.windows(2).all(|w| w[0].1 < w[1].1);
    if span > COUNTED_DAYS || !ascending {
        order.sort_unstable();
        return;
    }
    let slot = |d: NaiveDate| usize::try_from(days(d) - min).unwrap_or(0);
    // Where each day's records start in the sorted list.
    let mut starts = vec![0usize; span + 1];
    for (d, _) in order.iter() {
        if let Some(c) = starts.get_mut(slot(*d) + 1) {
            *c += 1;
        }
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut sorted = vec![(NaiveDate::MIN, 0); order.len()];
    for &(d, i) in order.iter() {
        if let Some(at) = starts.get_mut(slot(d))
            && let Some(place) = sorted.get_mut(*at)
        {
            *place = (d, i);
            *at += 1;
        }
    }
    *order = sorted;
}

/// The most days [`sort_by_day`] counts (about 11,000 years: a table of
/// 32 MB at most).
const COUNTED_DAYS: usize = 1 << 22;

/// The share-locked file and the slots of a consumed [`Scan`], until the
/// records to fold are listed ([`Reader::plain`]).
#[derive(Debug)]
struct Reader {
    path: PathBuf,
    file: File,
    bytes: u64,
    slots: Vec<Slot>,
}

/// A record to read back and fold: where its line is, the hash it was
/// verified with, and its place on the timeline.
#[derive(Debug, Clone, Copy)]
struct Item {
    offset: u64,
    /// Where its line ends (after its newline).
    end: u64,
    hash: [u8; 32],
    start: NaiveDate,
    seq: u64,
}

/// The records to fold, in timeline order, a chunk per read, and the file
/// to read them from.
struct Plain {
    path: PathBuf,
    file: File,
    chunks: Vec<Vec<Item>>,
}

impl Reader {
    /// Every record among the first `known` not kept whole, in timeline
    /// order, up to `until`: its first day and its index.
    fn order(&self, known: usize, until: NaiveDate) -> Vec<(NaiveDate, usize)> {
        let slots = self.slots.get(..known).unwrap_or(&self.slots);
        // Sorted with their keys at hand, not looked up in the slots.
        let mut order: Vec<(NaiveDate, usize)> = slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| !slot.whole && slot.start <= until)
            .map(|(i, slot)| (slot.start, i))
            .collect();
        sort_by_day(&mut order);
        order
    }

    /// The records of `order` ([`Reader::order`]) the knowledge does not
    /// correct away, in chunks. The slots are freed: what the fold needs of
    /// each record is in its item.
    fn plain(self, order: Vec<(NaiveDate, usize)>, knowledge: &Knowledge<'_>) -> Plain {
        let chunks = self.chunks(order, knowledge);
        Plain {
            path: self.path,
            file: self.file,
            chunks,
        }
    }

    /// [`Reader::plain`], keeping the reader (and its slots) for another
    /// fold; the file is shared, and its lock with it.
    fn plain_again(
        &self,
        order: Vec<(NaiveDate, usize)>,
        knowledge: &Knowledge<'_>,
    ) -> Result<Plain, StoreError> {
        let file = self.file.try_clone().map_err(|source| StoreError::Io {
            op: "read",
            path: self.path.clone(),
            source,
        })?;
        Ok(Plain {
            path: self.path.clone(),
            file,
            chunks: self.chunks(order, knowledge),
        })
    }

    /// The items of [`Reader::plain`], a chunk per read.
    fn chunks(&self, order: Vec<(NaiveDate, usize)>, knowledge: &Knowledge<'_>) -> Vec<Vec<Item>> {
        // Seqs corrected, as bits: a lookup per record costs no hashing.
        let mut corrected = vec![0u64; self.slots.len() / 64 + 1];
        for &seq in knowledge.corrections.keys() {
            let i = usize::try_from(seq.saturating_sub(1)).unwrap_or(usize::MAX);
            if let Some(word) = corrected.get_mut(i / 64) {
                *word |= 1 << (i % 64);
            }
        }
        let is_corrected = |i: usize| {
            corrected
                .get(i / 64)
                .is_some_and(|w| w & (1 << (i % 64)) != 0)
        };
        let slots = &self.slots;
        let kept: Vec<(NaiveDate, usize)> = if knowledge.corrections.is_empty() {
            order
        } else {
            order
                .into_iter()
                .filter(|&(_, i)| !is_corrected(i))
                .collect()
        };
        // (Built on one thread: items built on a second one came back to
        // the allocator late, and the peak grew by 10–30 MB at 10^6.)
        kept.chunks(CHUNK)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|&(start, i)| Item {
                        offset: slots[i].offset,
                        end: slots.get(i + 1).map_or(self.bytes, |s| s.offset),
                        hash: slots[i].hash,
                        start,
                        seq: i as u64 + 1,
                    })
                    .collect()
            })
            .collect()
    }
}

impl Plain {
    /// Folds into `state` the knowledge's timeline up to `until` merged
    /// with the records (in timeline order), read back on `threads`
    /// threads, each chunk freed once read. A `pause` sees the state once
    /// every event counting on its day is applied, then, with each event
    /// applied after that, the state just before it.
    fn fold(
        self,
        knowledge: &Knowledge<'_>,
        until: NaiveDate,
        threads: usize,
        state: &mut State,
        mut pause: Option<&mut Pause<'_>>,
    ) -> Result<(), StoreError> {
        let mut paused = false;
        let mut step = |state: &mut State, start: NaiveDate, seq: u64, event: &Event| {
            if let Some(p) = pause.as_mut() {
                if !paused && start > p.day {
                    (p.watch)(state, None);
                    paused = true;
                }
                if paused {
                    (p.watch)(state, Some((seq, event)));
                }
            }
            apply(state, seq, event);
        };
        let mut timeline = knowledge
            .timeline
            .iter()
            .take_while(|e| e.event.date.counts_on(until))
            .peekable();
        let Plain { path, file, chunks } = self;
        let count = chunks.len();
        let firsts: Vec<u64> = chunks
            .iter()
            .map(|c| c.first().map_or(0, |it| it.seq))
            .collect();
        let threads = threads.clamp(1, count.max(1));
        let mut mine: Vec<Vec<Vec<Item>>> = (0..threads).map(|_| Vec::new()).collect();
        for (c, chunk) in chunks.into_iter().enumerate() {
            mine[c % threads].push(chunk);
        }
        let (path, file) = (&path, &file);
        std::thread::scope(|scope| {
            let mut inboxes = Vec::with_capacity(threads);
            let mut returns = Vec::with_capacity(threads);
            for items in mine {
                let (tx, rx) = mpsc::sync_channel(2);
                inboxes.push(rx);
                // The fold hands each chunk back to the thread that read it,
                // to be freed there and its vector refilled: memory a thread
                // frees itself it reuses at once, where memory freed by
                // another thread reaches it late, and it meanwhile takes
                // fresh pages, each zeroed by the kernel (11 % fewer page
                // faults at 10^6 records than with a thread that frees).
                let (back, done) = mpsc::channel::<Vec<(NaiveDate, u64, Event)>>();
                returns.push(back);
                scope.spawn(move || {
                    // One buffer for every read of this thread.
                    let mut buf = Vec::new();
                    let mut spare: Vec<Vec<(NaiveDate, u64, Event)>> = Vec::new();
                    for chunk in items {
                        spare.extend(done.try_iter());
                        let mut events = spare.pop().unwrap_or_default();
                        events.clear();
                        // Back in timeline order, the chunk's.
                        let read =
                            read_back_into(path, file, &chunk, &mut buf, &mut events).map(|()| {
                                events.sort_unstable_by_key(|&(start, seq, _)| (start, seq));
                                events
                            });
                        // Its items are read: freed now, not as the fold ends.
                        drop(chunk);
                        let failed = read.is_err();
                        if tx.send(read).is_err() || failed {
                            return;
                        }
                    }
                    // The last chunks, freed here too, as the fold ends.
                    drop(spare);
                    done.into_iter().for_each(drop);
                });
            }
            for (c, first) in firsts.iter().enumerate() {
                let events = inboxes[c % threads]
                    .recv()
                    .map_err(|_| StoreError::Changed {
                        path: path.clone(),
                        seq: *first,
                    })??;
                for (start, seq, event) in &events {
                    let key = (*start, *seq);
                    while let Some(e) = timeline.next_if(|e| (e.event.date.start(), e.seq) < key) {
                        step(state, e.event.date.start(), e.seq, e.event);
                    }
                    step(state, key.0, key.1, event);
                }
                // A thread gone (on an error) leaves them to be freed here.
                let _ = returns[c % threads].send(events);
            }
            Ok::<(), StoreError>(())
        })?;
        for e in timeline {
            step(state, e.event.date.start(), e.seq, e.event);
        }
        if let Some(p) = pause
            && !paused
        {
            (p.watch)(state, None);
        }
        Ok(())
    }
}

/// The events of `items`, read back from `file`, pushed onto `out` in seq
/// order (the file's) with their timeline keys. Lines close together are
/// read in one read.
fn read_back_into(
    path: &Path,
    file: &File,
    items: &[Item],
    buf: &mut Vec<u8>,
    out: &mut Vec<(NaiveDate, u64, Event)>,
) -> Result<(), StoreError> {
    let mut by_offset: Vec<&Item> = items.iter().collect();
    by_offset.sort_unstable_by_key(|it| it.offset);
    out.reserve(items.len());
    let mut k = 0;
    while k < by_offset.len() {
        // A run of lines read at once.
        let first = by_offset[k].offset;
        let mut end = by_offset[k].end;
        let mut last = k + 1;
        while let Some(it) = by_offset.get(last) {
            if it.offset > end + GAP || it.end - first > SPAN {
                break;
            }
            end = end.max(it.end);
            last += 1;
        }
        let len = (end - first) as usize;
        if buf.len() < len {
            buf.resize(len, 0);
        }
        let buf = &mut buf[..len];
        file.read_exact_at(buf, first)
            .map_err(|source| match source.kind() {
                // Every byte asked for was verified by the first pass:
                // a shorter file is a changed one.
                std::io::ErrorKind::UnexpectedEof => StoreError::Changed {
                    path: path.to_owned(),
                    seq: by_offset[k].seq,
                },
                _ => StoreError::Io {
                    op: "read",
                    path: path.to_owned(),
                    source,
                },
            })?;
        for it in &by_offset[k..last] {
            let from = (it.offset - first) as usize;
            let to = (it.end - first) as usize;
            let line = buf.get(from..to).unwrap_or_default();
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            let digits = hex_digits(&it.hash);
            // Hex digits: ASCII.
            let hash = std::str::from_utf8(&digits).unwrap_or_default();
            let event = store::reread(path, line, it.seq, hash)?;
            out.push((it.start, it.seq, event));
        }
        k = last;
    }
    Ok(())
}

impl Records for Scan {
    fn head(&self) -> u64 {
        self.slots.len() as u64
    }

    fn with_hash_prefix(&self, prefix: &str) -> impl Iterator<Item = u64> {
        let prefix = prefix.as_bytes();
        self.slots.iter().zip(1..).filter_map(move |(slot, seq)| {
            hex_digits(&slot.hash).starts_with(prefix).then_some(seq)
        })
    }

    fn recorded_by(&self, time: DateTime<Utc>) -> u64 {
        // The runs that start at or before `time`; the last of them ends
        // where the next starts, or at the head.
        let runs = self.recorded.partition_point(|&(_, at)| at <= time);
        match runs {
            0 => 0,
            n => self
                .recorded
                .get(n)
                .map_or(self.head(), |&(seq, _)| seq.saturating_sub(1)),
        }
    }
}

fn hex(bytes: &[u8; 32]) -> String {
    String::from_utf8_lossy(&hex_digits(bytes)).into_owned()
}

/// The 64 lowercase hex digits of a hash, without allocating.
fn hex_digits(bytes: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0; 64];
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::{self, Options};
    use crate::record::Record;
    use crate::view;
    use proptest::prelude::*;

    /// Writes the records; every `odd`-th line (0: none) with its event in a
    /// form the fast path declines (a space after the opening brace), which
    /// the general reader reads with the same hash.
    fn write(path: &Path, records: &[Record], odd: usize) {
        let mut text = String::new();
        for (i, r) in records.iter().enumerate() {
            let line = r.to_line();
            if odd > 0 && i % odd == 0 {
                text.push_str(&line.replacen("\"event\":{", "\"event\":{ ", 1));
            } else {
                text.push_str(&line);
            }
            text.push('\n');
        }
        std::fs::write(path, text).expect("write ledger");
    }

    fn ledger(n: u64, seed: u64) -> Vec<Record> {
        generator::records(&Options {
            events: n,
            seed,
            recorded: "2026-01-01T00:00:00Z".into(),
            batch: 1,
        })
    }

    /// A generated ledger of `n` events written (see [`write`]) in a
    /// temporary directory, its path and its records loaded.
    fn generated(n: u64, seed: u64, odd: usize) -> (tempfile::TempDir, PathBuf, Vec<Entry>) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("l.jsonl");
        write(&path, &ledger(n, seed), odd);
        let entries = store::load(&path, 1).expect("load").entries;
        (dir, path, entries)
    }

    /// The hash of the record at `seq` (64 zeros for seq 0).
    fn hash_at(entries: &[Entry], seq: u64) -> &str {
        entries
            .iter()
            .find(|e| e.seq == seq)
            .map_or(GENESIS_PREV, |e| e.hash.as_str())
    }

    fn day(days_since_1990: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default() + chrono::Days::new(days_since_1990)
    }

    proptest! {
        /// Given records' first days and indices in ascending order (days
        /// within a few years, or as far apart as the calendar allows), when
        /// they are sorted by day, then the order is `sort_unstable`'s; and
        /// so it is for indices out of order (left to `sort_unstable`).
        #[test]
        fn the_counting_sort_by_day_sorts_as_sort_unstable_does(
            days in proptest::collection::vec(0u64..2000, 0..300),
            far in proptest::collection::vec(0u64..6_000_000, 0..50),
            shuffled in any::<bool>(),
        ) {
            for days in [&days, &far] {
                let mut order: Vec<(NaiveDate, usize)> =
                    days.iter().enumerate().map(|(i, d)| (day(*d), i * 3)).collect();
                if shuffled {
                    order.reverse();
                }
                let mut expected = order.clone();
                expected.sort_unstable();
                sort_by_day(&mut order);
                prop_assert_eq!(order, expected);
            }
        }
    }

    /// `records` sealed again, `per` records at a time recorded later
    /// than the previous ones: every other run 7 hours later, the others at
    /// the same instant written differently (`…:00.0Z`) or half a second
    /// later (`…:00.5Z`).
    fn recorded_over_time(records: &[Record], per: u64) -> Vec<Record> {
        let start = DateTime::parse_from_rfc3339("2025-12-30T20:00:00Z").expect("time");
        let mut prev = GENESIS_PREV.to_owned();
        records
            .iter()
            .map(|r| {
                let run = i64::try_from(r.seq / per).unwrap_or(0);
                let at = start + chrono::Duration::hours(7 * (run / 2));
                let fraction = match run % 4 {
                    1 => ".0",
                    3 => ".5",
                    _ => "",
                };
                let recorded = format!("{}{fraction}Z", at.to_utc().format("%Y-%m-%dT%H:%M:%S"));
                let sealed = Record::seal(r.seq, recorded, r.event.clone(), prev.clone());
                prev.clone_from(&sealed.hash);
                sealed
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Given a ledger recorded over days and months, when a position is
        /// given as a seq, a hash prefix (unique, shared, unknown, malformed)
        /// or a time (RFC 3339, a day, a month), then the scan resolves it
        /// as the loaded ledger does, errors included.
        #[test]
        fn positions_resolve_as_on_the_loaded_ledger(
            seed in 0u64..1_000_000,
            n in 0u64..150,
            per in 1u64..12,
            picks in proptest::collection::vec((0usize..200, 0usize..9), 1..8),
        ) {
            let dir = tempfile::tempdir().expect("dir");
            let path = dir.path().join("l.jsonl");
            let records = recorded_over_time(&ledger(n, seed), per);
            write(&path, &records, 0);
            let entries = store::load(&path, 1).expect("load").entries;
            let scan = Scan::read(&path, 2, &|_| {}).expect("scan");
            for (pick, form) in picks {
                let r = records.get(pick % records.len().max(1));
                // An empty ledger has no hash to name: any 64 digits.
                let hash = r.map_or("0123456789abcdef".repeat(4), |r| r.hash.clone());
                let recorded = r.map_or("2026-01-01T00:00:00Z", |r| r.recorded.as_str());
                let text = match form {
                    0 => pick.to_string(),
                    1 => format!("seq:{pick}"),
                    2 => hash[..4].to_owned(),
                    3 => format!("hash:{}", &hash[..5 + pick % 60]),
                    4 => recorded.to_owned(),
                    5 => recorded.replace(":00:00Z", ":00:01+01:00").replace(".5Z", ".4Z"),
                    6 => recorded[..10].to_owned(),
                    7 => recorded[..7].to_owned(),
                    _ => ["hash:12", "abcg", "2026-13", "ffff", "yesterday"][pick % 5].to_owned(),
                };
                prop_assert_eq!(scan.resolve(&text), view::resolve_position(&entries, &text), "{}", text);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Given a generated ledger, some of its lines in a form only the
        /// general reader takes, when it is replayed streaming at any day,
        /// state of knowledge and option, on one or more threads, then the
        /// view is the one folding the loaded ledger gives.
        #[test]
        fn the_streaming_replay_equals_the_loaded_one(
            seed in 0u64..1_000_000,
            n in 0u64..300,
            known in 0u64..320,
            days in 0u64..16_000,
            all: bool,
            odd in 0usize..5,
            threads in 1usize..4,
        ) {
            let (_dir, path, entries) = generated(n, seed, odd);
            let options = ViewOptions { include_ended: all };
            let loaded = view::replay_with(&entries, day(days), known, options);
            let scan = Scan::read(&path, threads, &|_| {}).expect("scan");
            prop_assert_eq!(scan.len() as u64, n);
            let streamed = scan.replay(day(days), known, options, threads).expect("replay");
            prop_assert_eq!(view::render_json(&streamed), view::render_json(&loaded));
            // Written as it is built, the JSON is the same too.
            let scan = Scan::read(&path, threads, &|_| {}).expect("scan");
            let written = scan
                .replay_to(day(days), known, options, threads, |v| {
                    let mut out = Vec::new();
                    v.write_json(&mut out, threads).map(|()| out)
                })
                .expect("replay")
                .expect("write");
            prop_assert_eq!(String::from_utf8(written).expect("utf-8"), view::render_json(&loaded));
            // And so is the view as CSV rows.
            let scan = Scan::read(&path, threads, &|_| {}).expect("scan");
            let rows = scan
                .replay_to(day(days), known, options, threads, |v| {
                    let mut out = Vec::new();
                    crate::export::write_view_csv(v, &mut out, threads).map(|()| out)
                })
                .expect("replay")
                .expect("write");
            prop_assert_eq!(String::from_utf8(rows).expect("utf-8"), crate::export::view_csv(&loaded));
        }

        /// Given a generated ledger, when the lineage of one of its ids (or
        /// of an id it does not have) is traced streaming at any day or
        /// none and any state of knowledge, then it is the one the loaded
        /// ledger gives, errors included; an id that is no organisation on
        /// the day asked for is left to `Scan::lineage_whole`, which reads
        /// the whole timeline, and gives it in every case.
        #[test]
        fn the_streaming_lineage_equals_the_loaded_one(
            seed in 0u64..1_000_000,
            n in 0u64..300,
            known in 0u64..320,
            days in proptest::option::of(0u64..16_000),
            pick in 0usize..400,
            threads in 1usize..4,
            near in proptest::option::of((0usize..8, proptest::bool::ANY)),
        ) {
            let (_dir, path, entries) = generated(n, seed, 0);
            let ids: Vec<&str> = entries.iter().flat_map(|e| e.event.mentioned_ids()).collect();
            let org = ids.get(pick % ids.len().max(1)).copied().unwrap_or("nobody");
            // Some day an event mentioning it begins, or the day before:
            // where the day a lineage is traced on matters most.
            let mentions: Vec<NaiveDate> = (entries.iter())
                .filter(|e| e.event.mentioned_ids().contains(&org))
                .map(|e| e.event.date.start())
                .collect();
            let as_of = days.map(day).map(|d| match near {
                Some((i, before)) if !mentions.is_empty() => {
                    let on = mentions[i % mentions.len()];
                    if before { on.pred_opt().unwrap_or(on) } else { on }
                }
                _ => d,
            });
            let k = Knowledge::new(&entries, known);
            let loaded = lineage::lineage(&k, hash_at(&entries, k.position), org, as_of)
                .map(|l| lineage::render_json(&l))
                .map_err(|e| e.to_string());
            let scan = Scan::read(&path, threads, &|_| {}).expect("scan");
            match scan.lineage(org, as_of, known, threads).expect("lineage") {
                Some(streamed) => prop_assert_eq!(
                    &streamed.map(|l| lineage::render_json(&l)).map_err(|e| e.to_string()),
                    &loaded
                ),
                None => prop_assert!(
                    as_of.is_some_and(|d| k.fold_until(d).orgs.get(org).is_none()),
                    "{} is an organisation of the state, or there is no as-of day", org
                ),
            }
            // The whole timeline read when needed: always the loaded answer.
            let scan = Scan::read(&path, threads, &|_| {}).expect("scan");
            let whole = scan.lineage_whole(org, as_of, known, threads).expect("lineage");
            prop_assert_eq!(
                &whole.map(|l| lineage::render_json(&l)).map_err(|e| e.to_string()),
                &loaded
            );
        }

        /// Given a generated ledger, when the changes of a period (bounded
        /// on either side or not) are listed streaming at any state of
        /// knowledge, then the graph is the one the loaded ledger gives.
        #[test]
        fn the_streaming_graph_equals_the_loaded_one(
            seed in 0u64..1_000_000,
            n in 0u64..300,
            known in 0u64..320,
            from in proptest::option::of(0u64..16_000),
            to in proptest::option::of(0u64..16_000),
            odd in 0usize..5,
            threads in 1usize..4,
        ) {
            let (_dir, path, entries) = generated(n, seed, odd);
            let (from, to) = (from.map(day), to.map(day));
            let loaded = graph::changes(&Knowledge::new(&entries, known), from, to);
            let scan = Scan::read_changes(&path, threads, &|_| {}).expect("scan");
            let streamed = scan.graph(from, to, known, threads).expect("graph");
            prop_assert_eq!(graph::render_dot(&streamed), graph::render_dot(&loaded));
            prop_assert_eq!(graph::render_mermaid(&streamed), graph::render_mermaid(&loaded));
        }

        /// Given a generated ledger, when it is exported as JSON-LD
        /// streaming, at any day or none and any state of knowledge, then
        /// the document is the one the loaded ledger gives.
        #[test]
        fn the_streaming_json_ld_equals_the_loaded_one(
            seed in 0u64..1_000_000,
            n in 0u64..300,
            known in 0u64..320,
            days in proptest::option::of(0u64..16_000),
            odd in 0usize..5,
            threads in 1usize..4,
        ) {
            let (_dir, path, entries) = generated(n, seed, odd);
            let as_of = days.map(day);
            let loaded = crate::export::jsonld(&entries, known, as_of);
            let scan = Scan::read_changes(&path, threads, &|_| {}).expect("scan");
            let ns = crate::export::namespace_of((!scan.is_empty()).then(|| scan.ledger_id()).as_deref());
            let streamed = scan
                .jsonld_to(as_of, known, threads, |knowledge, state, hashes, head, creations| {
                    let mut out = Vec::new();
                    crate::export::write_jsonld_of(&mut out, &ns, head, knowledge, state, as_of, hashes, creations)
                        .map(|()| out)
                })
                .expect("fold")
                .expect("write");
            prop_assert_eq!(String::from_utf8(streamed).expect("utf-8"), loaded);
        }

        /// Given a generated ledger, when its records are exported as CSV
        /// streaming at any state of knowledge, then the rows are the ones
        /// the loaded ledger gives.
        #[test]
        fn the_streaming_records_csv_equals_the_loaded_one(
            seed in 0u64..1_000_000,
            n in 0u64..300,
            known in 0u64..320,
            odd in 0usize..5,
            threads in 1usize..4,
        ) {
            let (_dir, path, entries) = generated(n, seed, odd);
            let loaded = crate::export::events_csv(&entries, known);
            let scan = Scan::read(&path, threads, &|_| {}).expect("scan");
            let mut streamed = Vec::new();
            scan.write_records_csv(known, threads, &mut streamed)
                .expect("ledger")
                .expect("write");
            prop_assert_eq!(String::from_utf8(streamed).expect("utf-8"), loaded);
        }

        /// Given a generated ledger, when two days are diffed streaming at
        /// any state of knowledge, then the diff is the one folding the
        /// loaded ledger gives.
        #[test]
        fn the_streaming_diff_equals_the_loaded_one(
            seed in 0u64..1_000_000,
            n in 0u64..300,
            known in 0u64..320,
            a in 0u64..16_000,
            b in 0u64..16_000,
            odd in 0usize..5,
            threads in 1usize..4,
            pick in 0usize..400,
        ) {
            let (_dir, path, entries) = generated(n, seed, odd);
            // Often the first day of some event: the edge of the pause.
            let from = entries.get(pick).map_or(day(a), |e| e.event.date.start());
            let k = Knowledge::new(&entries, known);
            let loaded = diff::diff_dates(&k, hash_at(&entries, k.position), from, day(b));
            let scan = Scan::read(&path, threads, &|_| {}).expect("scan");
            let streamed = scan.diff(from, day(b), known, threads).expect("diff");
            match (streamed, loaded) {
                (Ok(s), Ok(l)) => prop_assert_eq!(diff::render_json(&s), diff::render_json(&l)),
                (Err(s), Err(l)) => prop_assert_eq!(s.to_string(), l.to_string()),
                (s, l) => prop_assert!(false, "{:?} vs {:?}", s.is_ok(), l.is_ok()),
            }
        }

        /// Given a generated ledger, when two states of knowledge about one
        /// day are diffed streaming, then the diff is the one folding the
        /// loaded ledger twice gives (a reversed pair included).
        #[test]
        fn the_streaming_knowledge_diff_equals_the_loaded_one(
            seed in 0u64..1_000_000,
            n in 0u64..300,
            known_a in 0u64..320,
            known_b in 0u64..320,
            d in 0u64..16_000,
            odd in 0usize..5,
            threads in 1usize..4,
            pick in 0usize..400,
        ) {
            let (_dir, path, entries) = generated(n, seed, odd);
            // Often the first day of some event: the edge of what counts.
            let on = entries.get(pick).map_or(day(d), |e| e.event.date.start());
            let (ka, kb) = (Knowledge::new(&entries, known_a), Knowledge::new(&entries, known_b));
            let (hash_a, hash_b) = (hash_at(&entries, ka.position), hash_at(&entries, kb.position));
            let loaded = diff::diff_knowledge(&ka, hash_a, &kb, hash_b, on);
            let scan = Scan::read(&path, threads, &|_| {}).expect("scan");
            let streamed = scan
                .diff_known_to(on, known_a, known_b, threads, |d| diff::render_json(&d))
                .expect("diff");
            match (streamed, loaded) {
                (Ok(s), Ok(l)) => prop_assert_eq!(s, diff::render_json(&l)),
                (Err(s), Err(l)) => prop_assert_eq!(s.to_string(), l.to_string()),
                (s, l) => prop_assert!(false, "{:?} vs {:?}", s.is_ok(), l.is_ok()),
            }
        }
    }

    /// Appends the event `v` alone to the ledger at `path` (a fixed
    /// `recorded`); returns the new head's hash.
    fn append_one(path: &Path, v: serde_json::Value) -> String {
        let event = Event::from_json(&v).expect("event");
        let options = store::AppendOptions {
            recorded: "2026-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        store::append_events(path, &options, &|_| {}, &[event])
            .expect("store")
            .expect("accepted")
            .0
            .head_hash
    }

    /// The knowledge diff of the ledger at `path` on `on` between seqs `a`
    /// and `b`, loaded, and as the streamed diff writes it in JSON, which
    /// must be the loaded one's JSON.
    fn knowledge_diffs(path: &Path, on: NaiveDate, a: u64, b: u64) -> (diff::Diff, String) {
        let entries = store::load(path, 1).expect("load").entries;
        let (ka, kb) = (Knowledge::new(&entries, a), Knowledge::new(&entries, b));
        let hash = |seq: u64| entries[seq as usize - 1].hash.clone();
        let loaded = diff::diff_knowledge(&ka, &hash(a), &kb, &hash(b), on).expect("diff");
        let streamed = Scan::read(path, 2, &|_| {})
            .expect("scan")
            .diff_known_to(on, a, b, 2, |d| diff::render_json(&d))
            .expect("diff")
            .expect("in order");
        assert_eq!(streamed, diff::render_json(&loaded));
        (loaded, streamed)
    }

    /// Given a withdrawal known at one state of knowledge and retracted at
    /// the next, when the two are diffed streaming, then the label comes
    /// back, as in the loaded diff (generated ledgers never retract a
    /// removal, so the property test above does not reach this).
    #[test]
    fn a_retracted_removal_comes_back_in_the_streaming_knowledge_diff() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("l.jsonl");
        store::init(&path).expect("init");
        let src = || serde_json::json!([{"doc": "d"}]);
        let append = |v: serde_json::Value| append_one(&path, v);
        append(
            serde_json::json!({"type": "created", "date": "2010", "id": "a", "name": "A", "kind": "k", "sources": src()}),
        );
        append(
            serde_json::json!({"type": "label_granted", "date": "2011", "label": "L", "holder": "a", "by": "B", "sources": src()}),
        );
        let withdrawal = append(
            serde_json::json!({"type": "label_withdrawn", "date": "2012", "label": "L", "holder": "a", "sources": src()}),
        );
        append(
            serde_json::json!({"type": "correction", "date": "2013", "target": withdrawal, "mode": "retract", "reason": "it was not", "sources": src()}),
        );
        let on = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default();
        let (loaded, streamed) = knowledge_diffs(&path, on, 3, 4);
        assert_eq!(loaded.changes.len(), 1, "{streamed}");
        assert!(streamed.contains("\"seq\": 4"), "{streamed}");
    }

    /// Given a grant dated `2014?`, then a milestone and a supersede that
    /// redates the grant to 2014-11-12, when the states of knowledge
    /// before and after are diffed streaming, then the grant is redated
    /// and the milestone listed apart, as in the loaded diff.
    #[test]
    fn a_redated_grant_and_the_unlisted_agree_in_the_streaming_knowledge_diff() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("l.jsonl");
        store::init(&path).expect("init");
        let src = || serde_json::json!([{"doc": "d"}]);
        let append = |v: serde_json::Value| append_one(&path, v);
        append(
            serde_json::json!({"type": "created", "date": "2000", "id": "a", "name": "A", "kind": "k", "sources": src()}),
        );
        let grant = append(
            serde_json::json!({"type": "label_granted", "date": "2014?", "label": "L", "holder": "a", "sources": src()}),
        );
        append(
            serde_json::json!({"type": "milestone", "date": "2014", "orgs": ["a"], "summary": "met", "sources": src()}),
        );
        append(
            serde_json::json!({"type": "correction", "date": "2014-11-12", "target": grant, "mode": "supersede",
            "reason": "precise date", "sources": src(),
            "replacement": {"type": "label_granted", "date": "2014-11-12", "label": "L", "holder": "a", "sources": src()}}),
        );
        let on = NaiveDate::from_ymd_opt(2015, 12, 31).unwrap_or_default();
        let (loaded, streamed) = knowledge_diffs(&path, on, 2, 4);
        assert_eq!(loaded.changes.len(), 1, "{streamed}");
        assert_eq!(loaded.changes[0].kind, diff::Kind::Redated, "{streamed}");
        assert_eq!(loaded.changes[0].seqs, vec![4, 2], "{streamed}");
        assert_eq!(loaded.unlisted, vec![3], "{streamed}");
    }

    /// Given a ledger of many chunks read back on three threads, the
    /// streaming replay is the loaded one.
    #[test]
    fn many_chunks_on_several_threads() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("l.jsonl");
        write(&path, &ledger(9_000, 7), 97);
        let entries = store::load(&path, 2).expect("load").entries;
        for year in [1995, 2005, 2015, 2040] {
            let d = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default();
            let loaded = view::replay_with(&entries, d, u64::MAX, ViewOptions::default());
            let scan = Scan::read(&path, 3, &|_| {}).expect("scan");
            let streamed = scan
                .replay(d, u64::MAX, ViewOptions::default(), 3)
                .expect("replay");
            assert_eq!(streamed, loaded, "{year}");
        }
    }

    /// Given a ledger that is bad in any of several ways, when it is
    /// scanned, then the error is the one loading it gives.
    #[test]
    fn a_bad_ledger_fails_the_scan_as_it_fails_to_load() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("l.jsonl");
        let records = ledger(50, 3);
        write(&path, &records, 0);
        let good = std::fs::read_to_string(&path).expect("read");
        let edits: [(&str, String); 3] = [
            ("tampered", good.replacen("\"seq\":7,", "\"seq\":8,", 1)),
            ("torn", good[..good.len() - 5].to_owned()),
            (
                "not json",
                good.replacen("{\"v\":1,\"seq\":20,", "{\"v\":1,\"seq\":20 ", 1),
            ),
        ];
        for (what, text) in edits {
            std::fs::write(&path, &text).expect("write");
            let loaded = store::load(&path, 2)
                .map(|_| ())
                .expect_err(what)
                .to_string();
            let scanned = Scan::read(&path, 2, &|_| {})
                .map(|_| ())
                .expect_err(what)
                .to_string();
            assert_eq!(scanned, loaded, "{what}");
        }
    }

    /// Given a scanned ledger whose file is then rewritten behind the lock,
    /// when it is replayed, then the replay refuses with `Changed`, naming
    /// a record read back.
    #[test]
    fn a_file_changed_between_the_passes_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("l.jsonl");
        write(&path, &ledger(200, 5), 0);
        let scan = Scan::read(&path, 2, &|_| {}).expect("scan");
        let text = std::fs::read_to_string(&path).expect("read");
        // Same length, one name changed: offsets still fit, hashes do not.
        let edited = text.replacen("\"name\":\"", "\"name\":\"X", 1);
        let at = edited.find("\"name\":\"X").expect("edited");
        let line_end = edited[at..].find('\n').map_or(edited.len(), |e| at + e);
        // Drop a byte of that line's hash to keep the file's length.
        let mut bytes = edited.into_bytes();
        bytes.remove(line_end - 3);
        std::fs::write(&path, &bytes).expect("write");
        let err = scan
            .replay(day(20_000), u64::MAX, ViewOptions::default(), 2)
            .expect_err("changed");
        assert!(matches!(err, StoreError::Changed { .. }), "{err}");
        assert!(
            err.to_string().contains("changed while it was being read"),
            "{err}"
        );
    }

    /// Given a scanned ledger whose file is then edited (a record's name,
    /// its hash left as it was), cut short (within a line, or after one),
    /// or replaced by another ledger
    /// that verifies, when its records are exported as CSV, then the export
    /// refuses with `Changed`.
    #[test]
    fn a_records_csv_of_a_file_changed_between_the_passes_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("l.jsonl");
        let original = ledger(200, 5);
        let text = original
            .iter()
            .map(|r| r.to_line() + "\n")
            .collect::<String>();
        let edited = text.replacen("\"name\":\"", "\"name\":\"X", 1);
        let cut = text.get(..text.len() / 2).unwrap_or_default().to_owned();
        // Cut after a line: a shorter ledger that verifies.
        let shorter = text
            .get(..=cut.rfind('\n').unwrap_or(0))
            .unwrap_or_default()
            .to_owned();
        let other: String = ledger(200, 6).iter().map(|r| r.to_line() + "\n").collect();
        for changed in [edited, cut, shorter, other] {
            std::fs::write(&path, &text).expect("write");
            let scan = Scan::read(&path, 2, &|_| {}).expect("scan");
            std::fs::write(&path, &changed).expect("change");
            let err = scan
                .write_records_csv(u64::MAX, 2, std::io::sink())
                .expect_err("changed");
            assert!(matches!(err, StoreError::Changed { .. }), "{err}");
        }
    }

    /// Given a scanned ledger, when an append comes before its records are
    /// exported as CSV, then it finds the ledger locked; once they are (the
    /// scan consumed), it goes through.
    #[test]
    fn a_scan_keeps_appends_out_until_its_records_csv_is_written() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("l.jsonl");
        write(&path, &ledger(50, 5), 0);
        let no_wait = store::AppendOptions {
            no_wait: true,
            recorded: "2026-01-02T00:00:00Z".into(),
            ..store::AppendOptions::default()
        };
        let batch = [
            Event::from_json(&serde_json::json!({"type": "created", "date": "2025",
            "id": "zz", "name": "Z", "kind": "k", "sources": [{"doc": "t"}]}))
            .expect("event"),
        ];
        let scan = Scan::read(&path, 2, &|_| {}).expect("scan");
        let busy = store::append_events(&path, &no_wait, &|_| {}, &batch);
        assert!(matches!(busy, Err(StoreError::Locked { .. })), "{busy:?}");
        scan.write_records_csv(u64::MAX, 2, std::io::sink())
            .expect("ledger")
            .expect("written");
        let (appended, _) = store::append_events(&path, &no_wait, &|_| {}, &batch)
            .expect("store ok")
            .expect("accepted");
        assert_eq!(appended.head_seq, 51);
    }

    /// Given a scanned ledger that is then removed, or that a journal then
    /// says is being appended to, when its records are exported as CSV,
    /// then the error says so, as it would before any scan.
    #[test]
    fn a_records_csv_of_a_ledger_gone_or_interrupted_between_the_passes_says_so() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("l.jsonl");
        write(&path, &ledger(50, 5), 0);
        let scan = Scan::read(&path, 2, &|_| {}).expect("scan");
        std::fs::write(store::journal_path(&path), "{}").expect("journal");
        let err = scan
            .write_records_csv(u64::MAX, 2, std::io::sink())
            .expect_err("interrupted");
        assert!(matches!(err, StoreError::Interrupted { .. }), "{err}");
        std::fs::remove_file(store::journal_path(&path)).expect("no journal");
        let scan = Scan::read(&path, 2, &|_| {}).expect("scan");
        std::fs::remove_file(&path).expect("remove");
        let err = scan
            .write_records_csv(u64::MAX, 2, std::io::sink())
            .expect_err("gone");
        assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    }

    /// Given a ledger of several of the scan's blocks, when its records are
    /// exported as CSV to a writer that fails after a few rows (a closed
    /// pipe), or known only at seq 3, then the export gives the write's
    /// error, or the three rows, not an error of the file (the second pass
    /// reads no further, and so ends within a line).
    #[test]
    fn a_records_csv_stops_reading_at_a_failed_write_or_the_last_record_known() {
        /// Fails every write after the first `left`.
        struct Closing {
            left: usize,
        }
        impl std::io::Write for Closing {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if self.left == 0 {
                    return Err(std::io::ErrorKind::BrokenPipe.into());
                }
                self.left -= 1;
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (_dir, path, entries) = generated(15_000, 7, 0);
        assert!(std::fs::metadata(&path).expect("len").len() > 4 << 20);
        let scan = Scan::read(&path, 2, &|_| {}).expect("scan");
        let err = scan
            .write_records_csv(u64::MAX, 2, Closing { left: 5 })
            .expect("the file is sound")
            .expect_err("closed");
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        let scan = Scan::read(&path, 2, &|_| {}).expect("scan");
        let mut out = Vec::new();
        scan.write_records_csv(3, 2, &mut out)
            .expect("the file is sound")
            .expect("written");
        let loaded = crate::export::events_csv(&entries, 3);
        assert_eq!(String::from_utf8(out).expect("utf-8"), loaded);
        assert_eq!(loaded.lines().count(), 4);
    }

    /// Given ledgers whose corrections name only records kept whole (a
    /// plan, another correction), or plain records too, when they are
    /// replayed streaming on one to three threads, then the view is the
    /// loaded ledger's.
    #[test]
    fn corrections_of_kept_and_plain_records_replay_as_loaded() {
        let src = serde_json::json!([{"doc": "test"}]);
        let created = |id: &str| serde_json::json!({"type": "created", "date": "2001", "id": id, "name": id, "kind": "k", "sources": src});
        /// Seals `event` after `records` and returns its hash.
        fn push(records: &mut Vec<Record>, event: serde_json::Value) -> String {
            let prev = records
                .last()
                .map_or(GENESIS_PREV.to_owned(), |r| r.hash.clone());
            let seq = records.len() as u64 + 1;
            let record = Record::seal(seq, "2026-01-01T00:00:00Z".into(), event, prev);
            let hash = record.hash.clone();
            records.push(record);
            hash
        }
        let mut records: Vec<Record> = Vec::new();
        push(&mut records, created("a"));
        let plan = push(
            &mut records,
            serde_json::json!({"type": "planned", "date": "2002", "sources": src,
            "planned": {"type": "dissolved", "date": "2003", "org": "a", "sources": src}}),
        );
        let retraction = push(
            &mut records,
            serde_json::json!({"type": "correction", "date": "2002-06",
            "sources": src, "target": plan, "mode": "retract", "reason": "not planned after all"}),
        );
        let only_kept = records.clone();
        push(
            &mut records,
            serde_json::json!({"type": "correction", "date": "2002-07", "sources": src,
            "target": retraction, "mode": "retract", "reason": "it was"}),
        );
        for id in ["b", "c", "d"] {
            let wrong = push(&mut records, created(id));
            push(
                &mut records,
                serde_json::json!({"type": "correction", "date": "2004", "sources": src,
                "target": wrong, "mode": "retract", "reason": "never existed"}),
            );
        }
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("l.jsonl");
        for ledger in [only_kept, records] {
            write(&path, &ledger, 0);
            let entries = store::load(&path, 1).expect("load").entries;
            for threads in 1..=3 {
                for year in [2001, 2002, 2005] {
                    let scan = Scan::read(&path, threads, &|_| {}).expect("scan");
                    let d = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default();
                    let options = ViewOptions {
                        include_ended: true,
                    };
                    let loaded = view::replay_with(&entries, d, u64::MAX, options);
                    let streamed = scan.replay(d, u64::MAX, options, threads).expect("replay");
                    assert_eq!(streamed, loaded, "{year} {threads}");
                }
            }
        }
    }

    /// Given a scanned ledger cut short behind the lock, when it is
    /// replayed, then the replay refuses with `Changed`, not an I/O error.
    #[test]
    fn a_file_cut_short_between_the_passes_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("l.jsonl");
        write(&path, &ledger(300, 5), 0);
        let scan = Scan::read(&path, 2, &|_| {}).expect("scan");
        let len = std::fs::metadata(&path).expect("len").len();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_len(len / 2).expect("truncate");
        let err = scan
            .replay(day(40_000), u64::MAX, ViewOptions::default(), 2)
            .expect_err("changed");
        assert!(matches!(err, StoreError::Changed { .. }), "{err}");
    }

    #[test]
    fn hashes_decode_and_encode_back() {
        let h = "00ff10a9b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e";
        assert_eq!(decode_hash(h).map(|b| hex(&b)), Some(h.to_owned()));
        assert_eq!(decode_hash(&h.to_uppercase()), None);
        assert_eq!(decode_hash(&h[1..]), None);
        assert_eq!(decode_hash(&format!("{}g", &h[1..])), None);
    }

    /// A version 2 snapshot file of `json` (a view as replay prints it,
    /// without its final newline), sealed anew.
    fn sealed(ledger: &str, head: u64, as_of: &str, known: &view::KnownAt, json: &[u8]) -> Vec<u8> {
        crate::snapshot::Parts::new(ledger, head, as_of, known, json, None)
            .slices()
            .concat()
    }

    /// A version 1 snapshot file: the whole object pretty-printed, sealed
    /// over its RFC 8785 form.
    fn version_1(ledger: &str, v: &View) -> Vec<u8> {
        let mut object = serde_json::json!({
            "format": crate::snapshot::FORMAT,
            "v": 1,
            "engine": crate::snapshot::ENGINE,
            "ledger": ledger,
            "as_of": v.as_of,
            "known_at": v.known_at,
            "view": v,
        });
        let seal = crate::record::sha256_hex(&crate::record::canonical(&object));
        if let Some(m) = object.as_object_mut() {
            m.insert("content_hash".into(), seal.into());
        }
        serde_json::to_vec_pretty(&object).expect("json")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

        /// Given a generated ledger and snapshot files of it (fresh at any
        /// day and state of knowledge; a byte set, cut or added anywhere,
        /// or set after the view; its text file edited or missing; members
        /// added after the view; forged with its hashes recomputed over
        /// another view or over bytes that may not be JSON; bound
        /// elsewhere; version 2; version 1; of another ledger, damaged or
        /// not, its header of another version or format or not), when each
        /// is checked as a stream against the
        /// ledger streamed and kept for several folds, and against the
        /// loaded ledger, then both give what `snapshot::check` gives on its
        /// bytes, except that a file whose first line is the header of
        /// another ledger's snapshot is that ledger's, read no further.
        /// The kept scan's count, head and Merkle tree are the loaded
        /// ledger's.
        #[test]
        fn a_snapshot_checked_as_a_stream_is_judged_as_on_the_loaded_ledger(
            seed in 0u64..1_000_000,
            n in 0u64..160,
            files in proptest::collection::vec(
                (0u64..180, 0u64..16_000, 0u8..13, any::<proptest::sample::Index>(), any::<u8>()),
                1..4,
            ),
            threads in 1usize..3,
        ) {
            let (dir, path, entries) = generated(n, seed, 3);
            let ours = crate::snapshot::ledger_id(&entries).to_owned();
            let head = entries.len() as u64;
            let views = Scan::read(&path, threads, &|_| {}).expect("scan").into_views(threads);
            prop_assert_eq!(views.len(), entries.len());
            prop_assert_eq!(views.head_hash(), hash_at(&entries, head));
            let loaded_tree = crate::merkle::Tree::from_record_hashes(
                entries.iter().map(|e| e.hash.as_str()),
            ).expect("tree");
            prop_assert_eq!(views.tree().root(), loaded_tree.root());
            let other = {
                let (_d, _p, es) = generated(n.max(1), seed + 1, 0);
                es
            };
            for (i, (known, days, kind, pos, byte)) in files.into_iter().enumerate() {
                let v = view::replay(&entries, day(days), known);
                let (_, fresh, fresh_text) = crate::snapshot::build(&entries, &v);
                // The text file beside it, as `snapshot` writes it, but for
                // kinds 10 (edited) and 11 (missing).
                let mut text = Some(fresh_text.into_bytes());
                let json = view::render_json(&v);
                let json = json.trim_end_matches('\n').as_bytes();
                let bytes = match kind {
                    0 => fresh,
                    1 => {
                        let mut b = fresh;
                        let at = pos.index(b.len());
                        b[at] = byte;
                        b
                    }
                    2 => fresh[..pos.index(fresh.len())].to_vec(),
                    3 => {
                        let mut b = fresh;
                        b.insert(pos.index(b.len() + 1), byte);
                        b
                    }
                    4 => {
                        let elsewhere = view::render_json(&view::replay(&entries, day(days / 2), known));
                        let elsewhere = elsewhere.trim_end_matches('\n').as_bytes();
                        sealed(&ours, head, &v.as_of, &v.known_at, elsewhere)
                    }
                    5 => {
                        let mut garbled = json.to_vec();
                        let at = pos.index(garbled.len());
                        garbled[at] = byte;
                        sealed(&ours, head, &v.as_of, &v.known_at, &garbled)
                    }
                    6 => {
                        let seq = known.min(head) + 1 + u64::from(byte % 3);
                        let hash = entries.get(usize::try_from(seq - 1).unwrap_or(0))
                            .map_or_else(|| "e".repeat(64), |e| e.hash.clone());
                        sealed(&ours, head, &v.as_of, &view::KnownAt { seq, hash }, json)
                    }
                    7 => version_1(&ours, &v),
                    10 => {
                        if let Some(t) = text.as_mut().filter(|t| !t.is_empty()) {
                            let at = pos.index(t.len());
                            t[at] = t[at].wrapping_add(1 + byte % 100);
                        }
                        fresh
                    }
                    11 => {
                        text = None;
                        fresh
                    }
                    9 => {
                        // Members after the view, sealed: the view's bytes
                        // close it and add one.
                        let member = match byte % 8 {
                            0 => format!(r#""ledger": "{}""#, "0".repeat(64)),
                            1 => r#""format": "x""#.to_owned(),
                            2 => r#""v": 1"#.to_owned(),
                            3 => r#""known_at": {"seq": 999999, "hash": "e"}"#.to_owned(),
                            4 => r#""as_of": "2001-01-01""#.to_owned(),
                            5 => format!(r#""ledger": "{ours}""#),
                            6 => r#""extra": 1e400"#.to_owned(),
                            _ => r#""extra": 1"#.to_owned(),
                        };
                        let mut added = json.to_vec();
                        added.extend_from_slice(format!(", {member}").as_bytes());
                        sealed(&ours, head, &v.as_of, &v.known_at, &added)
                    }
                    8 => {
                        // One of the two bytes after the view.
                        let mut b = fresh;
                        let at = b.len() - 1 - usize::from(byte % 2);
                        b[at] = byte;
                        b
                    }
                    _ => {
                        let v = view::replay(&other, day(days), known);
                        let (_, mut b, _) = crate::snapshot::build(&other, &v);
                        if byte % 2 == 1 {
                            let at = pos.index(b.len());
                            b[at] = byte;
                        }
                        // A header of another version or format, which
                        // says nothing of the file.
                        let text = String::from_utf8_lossy(&b).into_owned();
                        match byte % 8 {
                            3 => text.replacen(r#""v":3"#, r#""v":4"#, 1).into_bytes(),
                            7 => text.replacen(r#""format":"fusion-snapshot""#, r#""format":"other""#, 1).into_bytes(),
                            _ => b,
                        }
                    }
                };
                let file = dir.path().join(format!("{i}.json"));
                std::fs::write(&file, &bytes).expect("write snapshot");
                if let Some(t) = &text {
                    std::fs::write(crate::snapshot::text_path(&file), t).expect("write text");
                }
                let streamed = crate::snapshot::check_file(&file, &views).expect("check");
                let loaded = crate::snapshot::check_file(&file, entries.as_slice()).expect("check");
                let named = bytes
                    .iter()
                    .position(|b| *b == b'\n')
                    .and_then(|nl| crate::snapshot::ledger_named(&bytes[..=nl]));
                match named {
                    Some(named) if named != ours => {
                        prop_assert_eq!(&streamed.0, &crate::snapshot::Status::OtherLedger);
                    }
                    _ => {
                        let expected = crate::snapshot::check(&entries, &bytes, text.as_deref(), true);
                        prop_assert_eq!(&streamed, &expected, "kind {}", kind);
                    }
                }
                prop_assert_eq!(&loaded, &streamed);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        /// Given a generated ledger, some of its lines in a form only the
        /// general reader takes, and possibly a last record written by
        /// other means that breaks the timeline (an event about an id that
        /// never existed, dated anywhere in it), when the ledger is streamed
        /// and folded whole for the append index's audit, then the entries
        /// and the `consistent` flag are those of the loaded ledger's fold.
        #[test]
        fn the_streamed_index_entries_are_the_loaded_ones(
            seed in 0u64..1_000_000,
            n in 0u64..200,
            odd in 0usize..4,
            broken in proptest::option::of(1990u32..2030),
            threads in 1usize..3,
        ) {
            let mut records = ledger(n, seed);
            if let Some(year) = broken {
                let prev = records.last().map_or(GENESIS_PREV.to_owned(), |r| r.hash.clone());
                let event = serde_json::json!({
                    "type": "renamed", "date": year.to_string(), "org": "never-was",
                    "name": "N", "sources": [{"doc": "d"}],
                });
                records.push(Record::seal(n + 1, "2026-01-01T00:00:00Z".into(), event, prev));
            }
            let dir = tempfile::tempdir().expect("dir");
            let path = dir.path().join("l.jsonl");
            write(&path, &records, odd);
            let entries = store::load(&path, 1).expect("load").entries;
            let views = Scan::read(&path, threads, &|_| {}).expect("scan").into_views(threads);
            let streamed = views.index_fold().expect("fold");
            let loaded = crate::index::entries_of(&entries);
            prop_assert_eq!(streamed.consistent, loaded.1);
            prop_assert_eq!(streamed.consistent, broken.is_none());
            prop_assert_eq!(streamed.tracker.entries(streamed.state), loaded.0);
        }
    }
}
