//! `fusion log`: list records.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::os::unix::fs::FileExt;

use fusion::chain::{Glance, Scanned};
use fusion::event::{Body, CorrectionMode, Event, short_hash};
use fusion::lineage::closest_ids;
use fusion::record::{decode_hash, hex};
use fusion::store::{self, StoreError};

use super::progress::{self, Progress};
use super::{CliError, Context};

/// List the ledger's records: seq, recorded, date, type, summary, short hash.
///
/// In text, a record that a later correction retracted or superseded ends
/// with `retracted by seq N` or `superseded by seq N`, even when the
/// correction itself is not listed.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Only records that mention this organisation or program id (also
    /// inside plans and corrections), and those that fulfil or abandon a
    /// plan that mentions it.
    #[arg(long, value_name = "ID")]
    pub org: Option<String>,
    /// With `--org`: also the records of the ids the organisation had
    /// before, or took after, an id change (`transformed` with mode
    /// `id_change`), as `git log --follow` follows a renamed file.
    #[arg(long, requires = "org")]
    pub follow: bool,
    /// Only records of this event type (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only this seq range: `5..10`, `5..` or `..10` (inclusive), or one seq.
    #[arg(long, value_name = "RANGE")]
    pub seq: Option<String>,
    /// Output format: `text` (a table) or `json` (the records as stored).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(ctx: &mut Context, args: LogArgs) -> Result<(), CliError> {
    for t in &args.types {
        if !fusion::event::TYPE_NAMES.contains(&t.as_str()) {
            return Err(CliError::usage(format!(
                "--type `{t}` is not an event type; one of: {}",
                fusion::event::TYPE_NAMES.join(", ")
            )));
        }
    }
    let (lo, hi) = match &args.seq {
        Some(r) => parse_range(r)?,
        None => (1, u64::MAX),
    };
    let path = ctx.global.ledger.clone();
    // The ledger is streamed, verified whole before anything is printed:
    // of each record only what is shown is kept (its line in text, where
    // its line is in JSON).
    progress::notice_wait(&path, ctx.global.quiet, progress::Lock::Read);
    let bar = Progress::bytes(ctx.global.quiet, "loading", progress::file_len(&path));
    let org = args.org.as_deref();
    // The ids whose records are listed: the one given, and with `--follow`
    // those an id change links it to.
    let ids: HashSet<String> = match org {
        Some(org) if args.follow => id_family(&path, org)?,
        Some(org) => HashSet::from([org.to_owned()]),
        None => HashSet::new(),
    };
    let by_event = org.is_some() || !args.types.is_empty();
    let text_format = args.format == Format::Text;
    let shown_of = |event: &Event| -> Kept {
        let mut kept = Kept {
            show: Show::Hidden,
            closes: None,
            states_plan: false,
            // In text, corrections mark what they correct.
            corrects: match &event.body {
                Body::Correction { target, mode, .. } if text_format => {
                    decode_hash(target).map(|t| (t, *mode))
                }
                _ => None,
            },
            is_correction: matches!(event.body, Body::Correction { .. }),
        };
        // With `--org`, a record that does not mention it may still close
        // a plan that does: the sink, which sees records in order, knows.
        if org.is_some() && !event.mentioned_ids().iter().any(|id| ids.contains(*id)) {
            match event.record_closes() {
                Some((plan, _)) => kept.closes = Some(plan.to_owned()),
                None => return kept,
            }
        }
        kept.states_plan = org.is_some() && states_plan(event);
        if !args.types.is_empty() && !args.types.iter().any(|t| t == event.type_name()) {
            kept.show = Show::Mentions;
            return kept;
        }
        kept.show = Show::Shown(match args.format {
            Format::Json => String::new(),
            Format::Text => format!(
                "{:<12}  {:<16}  {}{}",
                event.date.as_str(),
                event.type_name(),
                fusion::view::one_line(&event.summary()),
                event
                    .fulfils
                    .as_deref()
                    .map_or_else(String::new, |plan| format!(
                        " (fulfils plan {})",
                        short_hash(plan)
                    ))
            ),
        });
        kept
    };
    // Without a filter on the event, JSON needs no event at all.
    let quick = |_: Glance<'_>| {
        (!by_event && args.format == Format::Json).then_some(Kept {
            show: Show::Shown(String::new()),
            closes: None,
            states_plan: false,
            corrects: None,
            is_correction: false,
        })
    };
    // With `--org`: the hashes of the plans that mention it.
    let mut plans: HashSet<String> = HashSet::new();
    let mut text = String::new();
    // In text: the record of each line shown.
    let mut shown: Vec<TextLine> = Vec::new();
    // In text: each record corrections name (its hash), with the first
    // correction's seq and mode.
    let mut corrected: HashMap<[u8; 32], (u64, CorrectionMode)> = HashMap::new();
    let mut lines: Vec<Line> = Vec::new();
    let mut mentioned = false;
    let mut head = 0;
    let (file, bytes) = store::scan_with_progress(
        &path,
        store::available_threads(),
        &|done| bar.set(done),
        quick,
        |event| shown_of(&event),
        |s: Scanned<Kept>| {
            if let Some(last) = lines.last_mut()
                && last.end == 0
            {
                last.end = s.offset;
            }
            head = s.seq;
            let kept = s.kept;
            if let Some((target, mode)) = kept.corrects {
                corrected.entry(target).or_insert((s.seq, mode));
            }
            if kept
                .closes
                .as_deref()
                .is_some_and(|plan| !plans.contains(plan))
            {
                return;
            }
            if kept.states_plan {
                plans.insert(hex(&s.hash));
            }
            mentioned |= !matches!(kept.show, Show::Hidden);
            let Show::Shown(middle) = kept.show else {
                return;
            };
            if s.seq < lo || s.seq > hi {
                return;
            }
            match args.format {
                Format::Json => lines.push(Line {
                    seq: s.seq,
                    offset: s.offset,
                    end: 0,
                    hash: s.hash,
                }),
                Format::Text => {
                    let hash = hex(&s.hash);
                    let _ = writeln!(
                        text,
                        "{:>5}  {}  {}  {}",
                        s.seq,
                        s.recorded,
                        middle,
                        short_hash(&hash)
                    );
                    shown.push(TextLine {
                        seq: s.seq,
                        prefix: hash_prefix(&s.hash),
                        is_correction: kept.is_correction,
                    });
                }
            }
        },
    )?;
    bar.done();
    if let Some(text) = &args.seq
        && lo > head
    {
        // As `--known-at` past the head is: a range that starts past the
        // last record names none.
        return Err(CliError::usage(if head == 0 {
            format!("--seq `{text}` names records of an empty ledger, which has none")
        } else {
            format!(
                "--seq `{text}` starts past the head: the ledger's last record is seq {head} (hint: `fusion log --seq {}..` shows the last ten)",
                head.saturating_sub(9).max(1)
            )
        }));
    }
    if let Some(org) = org
        && !mentioned
    {
        return Err(unknown_org(&path, org));
    }
    if let Some(last) = lines.last_mut()
        && last.end == 0
    {
        last.end = bytes;
    }
    write_marked(ctx, &text, &shown, &corrected)?;
    write_stored(ctx, &path, &file, &lines)
}

/// Of the record of a line of the text log, the seq and enough of the
/// hash to find it among the records corrections name.
struct TextLine {
    seq: u64,
    /// The first 8 bytes of the record's hash: record hashes are uniformly
    /// random, so a false match is a 2^-64 chance, not worth a table of
    /// every hash.
    prefix: u64,
    /// A correction, which cannot itself be corrected.
    is_correction: bool,
}

fn hash_prefix(hash: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_be_bytes(first)
}

/// Writes the text lines (one per [`TextLine`]), each record that a later
/// correction (the first naming it) retracted or superseded marked
/// `retracted by seq C` or `superseded by seq C`, as the views apply
/// corrections: not a correction, and named by a later record.
fn write_marked(
    ctx: &mut Context,
    text: &str,
    shown: &[TextLine],
    corrected: &HashMap<[u8; 32], (u64, CorrectionMode)>,
) -> Result<(), CliError> {
    if corrected.is_empty() {
        return ctx.out.write(text);
    }
    let by_prefix: HashMap<u64, (u64, CorrectionMode)> = corrected
        .iter()
        .map(|(hash, c)| (hash_prefix(hash), *c))
        .collect();
    // A line holds no newline: its columns are made single lines.
    for (line, of) in text.split_terminator('\n').zip(shown) {
        match by_prefix.get(&of.prefix) {
            Some(&(seq, mode)) if seq > of.seq && !of.is_correction => {
                let how = match mode {
                    CorrectionMode::Retract => "retracted",
                    CorrectionMode::Supersede => "superseded",
                };
                ctx.out.line(format!("{line}  {how} by seq {seq}"))?;
            }
            _ => ctx.out.line(line)?,
        }
    }
    Ok(())
}

/// Writes the records of `lines` as stored, read back from `file` (still
/// share-locked since the scan) in runs of adjacent lines.
fn write_stored(
    ctx: &mut Context,
    path: &std::path::Path,
    file: &std::fs::File,
    lines: &[Line],
) -> Result<(), CliError> {
    let mut buf = Vec::new();
    let mut rest = lines;
    while let Some(first) = rest.first() {
        // Adjacent lines, up to RUN bytes (at least one line).
        let mut n = 1;
        while let (Some(prev), Some(next)) = (rest.get(n - 1), rest.get(n))
            && prev.end == next.offset
            && next.end - first.offset <= RUN
        {
            n += 1;
        }
        let (run, after) = rest.split_at(n);
        rest = after;
        let Some(last) = run.last() else {
            continue;
        };
        buf.resize(usize::try_from(last.end - first.offset).unwrap_or(0), 0);
        file.read_exact_at(&mut buf, first.offset)
            .map_err(|source| StoreError::Io {
                op: "read",
                path: path.to_owned(),
                source,
            })?;
        for line in run {
            let at = usize::try_from(line.offset - first.offset).unwrap_or(0);
            let to = usize::try_from(line.end - 1 - first.offset).unwrap_or(0);
            let bytes = buf.get(at..to).unwrap_or_default();
            // Printed as it is when it is what the record writes (as fusion
            // writes every line): most lines are not parsed again.
            if let Ok(text) = std::str::from_utf8(bytes)
                && store::is_as_written(text, &hex(&line.hash))
            {
                ctx.out.line(text)?;
                continue;
            }
            let index = usize::try_from(line.seq - 1).unwrap_or(0);
            let record = store::parse_stored(path, bytes, index)?;
            ctx.out.line(record.to_line())?;
        }
    }
    Ok(())
}

/// What a record's event gives the log.
struct Kept {
    show: Show,
    /// With `--org`, set when it does not mention the id but closes this
    /// plan (its record's hash): it counts only if that plan mentions it.
    closes: Option<String>,
    /// With `--org`: it states a plan (see [`states_plan`]).
    states_plan: bool,
    /// In text: the record this correction names, and how.
    corrects: Option<([u8; 32], CorrectionMode)>,
    /// It is a correction.
    is_correction: bool,
}

/// Whether a record is shown.
enum Show {
    /// It does not mention the organisation asked for.
    Hidden,
    /// It mentions it (or none was asked for) but is not of a type asked for.
    Mentions,
    /// It is shown: in text, its date, type and summary columns.
    Shown(String),
}

/// Whether the record states a plan that `fulfils` or `plan_abandoned` can
/// name: a `planned` record, or a correction whose replacement is one.
fn states_plan(event: &Event) -> bool {
    match &event.body {
        Body::Planned { .. } => true,
        Body::Correction {
            replacement: Some(r),
            ..
        } => matches!(r.body, Body::Planned { .. }),
        _ => false,
    }
}

/// Where a record shown in JSON is in the file: its line runs from
/// `offset` to `end` (after its newline; 0 until the next record is seen).
struct Line {
    seq: u64,
    offset: u64,
    end: u64,
    /// The hash the scan verified.
    hash: [u8; 32],
}

/// The most bytes of adjacent lines read back at once.
const RUN: u64 = 1 << 20;

/// `--org` naming an id no record mentions: a typo, most likely. The
/// ledger is streamed again for the ids it does mention, to suggest some.
fn unknown_org(path: &std::path::Path, org: &str) -> CliError {
    if let Some(hint) = super::named_hint(org, &super::ids_named(path, org), "fusion log --org") {
        return CliError::usage(format!(
            "--org `{org}`: no record mentions this id (hint: {hint})"
        ));
    }
    let close = match mentioned_ids(path) {
        Some(all) => closest_ids(all.iter().map(String::as_str), org, 3),
        None => Vec::new(),
    };
    let hint = if close.is_empty() {
        "no id is close to it; `fusion replay --all` lists the organisations, `fusion log` every record".to_owned()
    } else {
        let list: Vec<String> = close.iter().map(|s| format!("`{s}`")).collect();
        format!("did you mean {}?", list.join(", "))
    };
    CliError::usage(format!(
        "--org `{org}`: no record mentions this id (hint: {hint})"
    ))
}

/// `org` and every id an id change links it to, either way and
/// transitively (`a` → `b` → `c`: any of the three gives all three), from
/// the records' events and corrections' replacements.
fn id_family(path: &std::path::Path, org: &str) -> Result<HashSet<String>, CliError> {
    let mut links: HashMap<String, Vec<String>> = HashMap::new();
    let changes = |e: &Event| match &e.body {
        Body::Transformed {
            mode: fusion::event::ChangeMode::IdChange,
            from,
            to,
            ..
        } => (from.iter().zip(to))
            .map(|(f, t)| (f.to_string(), t.to_string()))
            .collect(),
        _ => Vec::new(),
    };
    super::each_event(
        path,
        |event| match &event.body {
            Body::Correction {
                replacement: Some(r),
                ..
            } => changes(r),
            _ => changes(event),
        },
        |(from, to): (String, String)| {
            links.entry(from.clone()).or_default().push(to.clone());
            links.entry(to).or_default().push(from);
        },
    )?;
    let mut family = HashSet::from([org.to_owned()]);
    let mut todo = vec![org.to_owned()];
    while let Some(id) = todo.pop() {
        for next in links.get(&id).into_iter().flatten() {
            if family.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    Ok(family)
}

/// Every id the ledger's records mention, streamed; `None` when the
/// ledger cannot be read whole (the caller is reporting another error).
fn mentioned_ids(path: &std::path::Path) -> Option<std::collections::BTreeSet<String>> {
    let mut all = std::collections::BTreeSet::new();
    super::each_event(
        path,
        |event| (event.mentioned_ids().into_iter().map(str::to_owned)).collect(),
        |id| {
            all.insert(id);
        },
    )
    .ok()?;
    Some(all)
}

/// Parses `--seq`: `5..10`, `5..`, `..10` (inclusive) or one seq. Seqs
/// start at 1; a range must not run backwards. A range past the head is
/// fine (it lists what exists).
fn parse_range(text: &str) -> Result<(u64, u64), CliError> {
    let bad = |why: &str| {
        CliError::usage(format!(
            "--seq `{text}` {why}; use a range such as 5..10, 5.., ..10 or one seq such as 7 (seqs start at 1)"
        ))
    };
    let num = |s: &str, default: u64| -> Result<u64, CliError> {
        if s.is_empty() {
            return Ok(default);
        }
        match s.parse::<u64>() {
            Ok(0) => Err(bad("names seq 0, which no record has")),
            Ok(n) => Ok(n),
            Err(_) => Err(bad("is not a seq range")),
        }
    };
    match text.split_once("..") {
        Some((a, b)) => {
            let (lo, hi) = (num(a, 1)?, num(b, u64::MAX)?);
            if lo > hi {
                return Err(CliError::usage(format!(
                    "--seq `{text}` runs backwards ({lo} > {hi}); write the lower seq first: `{hi}..{lo}`"
                )));
            }
            Ok((lo, hi))
        }
        None if text.is_empty() => Err(bad("is not a seq range")),
        None => {
            let n = num(text, 0)?;
            Ok((n, n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_ranges_parse_and_bad_ones_are_usage_errors() {
        assert_eq!(parse_range("5..10").ok(), Some((5, 10)));
        assert_eq!(parse_range("5..").ok(), Some((5, u64::MAX)));
        assert_eq!(parse_range("..10").ok(), Some((1, 10)));
        assert_eq!(parse_range("7").ok(), Some((7, 7)));
        assert_eq!(parse_range("999").ok(), Some((999, 999)));
        for (bad, says) in [
            (
                "5..2",
                "runs backwards (5 > 2); write the lower seq first: `2..5`",
            ),
            ("0", "names seq 0, which no record has"),
            ("0..3", "names seq 0"),
            ("", "is not a seq range"),
            ("x..3", "is not a seq range"),
            ("-1", "is not a seq range"),
        ] {
            let e = parse_range(bad).expect_err(bad);
            assert_eq!(e.code, super::super::exit::USAGE, "{bad}");
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
    }
}
