//! `fusion diff`: what changed between two dates, or between two states of
//! knowledge about one date.

use fusion::diff::{self, Kind};
use fusion::store;

use super::{CliError, Context};

/// Show what changed between two dates, or what a later state of knowledge
/// says differently about one date.
///
/// `fusion diff FROM TO [--known-at POS]` compares the landscape on FROM
/// with the landscape on TO, both as known at POS: the changes are the
/// events dated after FROM, up to TO. `fusion diff DATE --known-at A
/// --known-at B` compares the landscape on DATE as known at A with the same
/// date as known at B: new records, backdated events and corrections.
///
/// The summary counts come first, then one change per line with its date,
/// its kind and the seq of the event(s) that caused it. A fact withdrawn by
/// a correction reads "retracted:", with "seq C retracts seq N" (or
/// "supersedes"); a fact a supersede only redates is a `redated` change.
#[derive(Debug, clap::Args)]
#[command(after_help = kinds_help())]
pub struct DiffArgs {
    /// FROM and TO (any EDTF precision, each read as the last day of its
    /// period), or a single DATE with two --known-at.
    #[arg(value_name = "DATE", num_args = 1..=2, required = true)]
    pub dates: Vec<String>,
    /// The state of knowledge: a seq (`42`, or `seq:42`; `0` for nothing),
    /// a hash prefix of at least 4 hex digits (`hash:0123` when it is all
    /// digits), an RFC 3339 time (the last record recorded by then), or a
    /// day or month (its end, UTC). Once with two
    /// dates (default: the head); twice with one date (earlier, then later).
    #[arg(long, value_name = "POS", num_args = 1)]
    pub known_at: Vec<String>,
    /// Only changes of this kind (repeatable, or comma-separated); the
    /// summary then counts only those.
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    pub kind: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The list of kinds for `--help`.
fn kinds_help() -> String {
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    format!("Kinds of change: {}.", kinds.join(", "))
}

/// How to print the diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Summary, then one line per change.
    Text,
    /// The documented JSON object.
    Json,
}

pub fn run(ctx: &mut Context, args: DiffArgs) -> Result<(), CliError> {
    let kinds = args
        .kind
        .iter()
        .map(|k| Kind::parse(k.trim()).map_err(|e| CliError::usage(format!("--kind {e}"))))
        .collect::<Result<Vec<Kind>, CliError>>()?;
    let path = ctx.global.ledger.clone();
    // The arguments are checked before the ledger is read.
    match (args.dates.as_slice(), args.known_at.as_slice()) {
        ([from, to], known @ ([] | [_])) => {
            let from = super::parse_as_of("FROM", from)?;
            let to = super::parse_as_of("TO", to)?;
            // Two dates: the ledger is streamed (see `replay`).
            let (scan, progress) = super::progress::scan(&path, ctx.global.quiet, "loading")?;
            progress.phase("comparing");
            let known_at = super::known_at(&scan, known.first().map(String::as_str))?;
            // Written while the folded states are alive: they are freed
            // on another thread once it is out.
            let show = shown(&mut ctx.out, args.format, &kinds, progress);
            outcome(scan.diff_to(from, to, known_at, store::available_threads(), show))
        }
        ([date], [a, b]) => {
            let day = super::parse_as_of("DATE", date)?;
            let (scan, progress) = super::progress::scan(&path, ctx.global.quiet, "loading")?;
            progress.phase("comparing");
            let position = |text: &str| {
                scan.resolve(text)
                    .map_err(|e| CliError::usage(format!("--known-at: {e}")))
            };
            let (a, b) = (position(a)?, position(b)?);
            let show = shown(&mut ctx.out, args.format, &kinds, progress);
            outcome(scan.diff_known_to(day, a, b, store::available_threads(), show))
        }
        (dates, known) => Err(CliError::usage(format!(
            "diff takes two dates (FROM TO) with at most one --known-at, or one date with two --known-at; got {} date{} and {} --known-at (hint: `fusion diff 2015 2017` or `fusion diff 2017-06-01 --known-at 30 --known-at 57`)",
            dates.len(),
            if dates.len() == 1 { "" } else { "s" },
            known.len()
        ))),
    }
}

/// What a streaming diff hands its answer to: the diff kept to `kinds`,
/// written once the progress bar is gone.
fn shown<'a>(
    out: &'a mut super::output::Output,
    format: Format,
    kinds: &'a [Kind],
    progress: super::progress::Progress,
) -> impl FnOnce(diff::Diff) -> std::io::Result<()> + 'a {
    move |mut d| {
        d.retain_kinds(kinds);
        progress.done();
        write(out, format, &d)
    }
}

/// A streaming diff's result as the command's: a refused comparison
/// (dates or positions the wrong way round) is a usage error.
fn outcome(
    r: Result<Result<std::io::Result<()>, diff::DiffError>, store::StoreError>,
) -> Result<(), CliError> {
    r?.map_err(|e| CliError::usage(e.to_string()))?
        .map_err(CliError::from)
}

/// Writes the diff to stdout in `format`, through the filter that makes
/// the ledger's control characters harmless.
fn write(out: &mut super::output::Output, format: Format, d: &diff::Diff) -> std::io::Result<()> {
    let mut printable = out.printable();
    match format {
        Format::Text => std::io::Write::write_all(&mut printable, diff::render_text(d).as_bytes())?,
        Format::Json => diff::write_json(d, &mut printable)?,
    }
    std::io::Write::flush(&mut printable)
}
