//! `fusion replay`: the landscape on a date, as known at a ledger position.

use std::path::PathBuf;

use chrono::NaiveDate;
use fusion::view::{self, ViewOptions};
use fusion::{snapshot, store};

use super::{CliError, Context};

/// Show the landscape on a date, as it was known at a ledger position.
///
/// Folds every event that counts on DATE (an event counts from the first day
/// of its period) among the records known at POS, with corrections applied
/// as known at POS. Facts whose date period DATE falls inside, or whose date
/// carries `~` or `?`, are shown as "possibly since". Plans stated by DATE
/// that have not happened yet are listed after the organisations.
///
/// When the snapshots directory holds a snapshot of DATE made at the
/// ledger's current head (`fusion snapshot --as-of DATE`) and POS is the
/// head, the view is read from it instead of folding the ledger: only the
/// ledger's first and last records are read and hash-checked, and the
/// snapshot's seals are checked. Text is printed from the text file stored
/// beside it; JSON and Markdown from its view. Anything else (no such snapshot, records
/// appended since, an edited file, another ledger, --all) folds the ledger,
/// as --cold always does. The fold streams: the ledger is verified once,
/// then each event is read back in timeline order (and hash-checked again)
/// and folded, so the ledger is never held in memory; the view is written
/// as it is built.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The date to show: any EDTF precision, read as the last day of its
    /// period (`2016` means 2016-12-31). Default: today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// The state of knowledge: a seq (`42`, or `seq:42`; `0` for nothing),
    /// a hash prefix of at least 4 hex digits (`hash:0123` when it is all
    /// digits), an RFC 3339 time (the last record recorded by then), or a
    /// day or month (its end, UTC). Default: the head.
    #[arg(long, value_name = "POS")]
    pub known_at: Option<String>,
    /// Also show organisations and programs that have ended, and plans
    /// already fulfilled, abandoned, retracted or superseded.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Always fold the ledger (verifying its whole chain); never answer from
    /// a snapshot.
    #[arg(long)]
    pub cold: bool,
    /// Say on stderr whether the answer came from a snapshot, or why not.
    #[arg(long, short)]
    pub verbose: bool,
}

/// How to print the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables for the terminal.
    Text,
    /// The documented JSON object.
    Json,
    /// Markdown tables and sections.
    Markdown,
}

pub fn run(ctx: &mut Context, args: ReplayArgs) -> Result<(), CliError> {
    let as_of = match &args.as_of {
        Some(d) => super::parse_as_of("--as-of", d)?,
        None => ctx.today,
    };
    let path = ctx.global.ledger.clone();
    match from_snapshot(ctx, &args, as_of) {
        Ok((file, answer, text_unused)) => {
            if args.verbose {
                match text_unused {
                    Some(why) => ctx.warn(format!(
                        "replay: from snapshot {}, rendered from its view ({why})",
                        file.display()
                    )),
                    None => ctx.warn(format!("replay: from snapshot {}", file.display())),
                }
            }
            return match answer {
                Stored::Json(json) | Stored::Text(json) => ctx.out.write(json),
                Stored::Rendered(view) => {
                    let mut printable = ctx.out.printable();
                    view.write(&mut printable)?;
                    std::io::Write::flush(&mut printable).map_err(CliError::from)
                }
            };
        }
        Err(why) if args.verbose => ctx.warn(format!("replay: folding the ledger ({why})")),
        Err(_) => {}
    }
    let options = ViewOptions {
        include_ended: args.all,
    };
    // The ledger is streamed: verified once, then each event read back in
    // timeline order and folded, never all held.
    let (scan, progress) = super::progress::scan(&path, ctx.global.quiet, "loading")?;
    let known_at = super::known_at(&scan, args.known_at.as_deref())?;
    progress.phase("replaying");
    let threads = store::available_threads();
    // Written as it is built: the view is never held whole.
    let out = &mut ctx.out;
    scan.replay_to(as_of, known_at, options, threads, |v| {
        progress.done();
        let mut printable = out.printable();
        match args.format {
            Format::Text => v.write_text(&mut printable, threads)?,
            Format::Json => v.write_json(&mut printable, threads)?,
            Format::Markdown => v.write_markdown(&mut printable, threads)?,
        }
        std::io::Write::flush(&mut printable)
    })?
    .map_err(CliError::from)
}

/// What a snapshot answers: its JSON or its text as stored, or the view
/// read back and rendered.
enum Stored {
    Json(String),
    Text(String),
    Rendered(view::Rendered),
}

/// The answer from a snapshot of the view on `as_of` at the head, and why
/// its text file was not used if text was asked for and it was not; or why
/// there is none. Any problem with the ledger itself (interrupted append,
/// torn or malformed end) is left to the cold path, which reports it.
fn from_snapshot(
    ctx: &Context,
    args: &ReplayArgs,
    as_of: NaiveDate,
) -> Result<(PathBuf, Stored, Option<snapshot::Skip>), String> {
    if args.cold {
        return Err("--cold".into());
    }
    if args.all {
        return Err("snapshots hold the view without --all".into());
    }
    super::progress::notice_wait(
        &ctx.global.ledger,
        ctx.global.quiet,
        super::progress::Lock::Read,
    );
    let head = snapshot::read_head(&ctx.global.ledger)
        .map_err(|e| format!("cannot read the head: {e}"))?;
    if let Some(pos) = &args.known_at
        && !view::names_head(pos, head.seq, &head.recorded)
    {
        return Err(format!("--known-at `{pos}` is not plainly the head"));
    }
    let want = match args.format {
        Format::Text => snapshot::Want::Text,
        Format::Json | Format::Markdown => snapshot::Want::Json,
    };
    let found =
        snapshot::lookup(&ctx.global.snapshots, &head, as_of, want).map_err(|e| e.to_string())?;
    let json = match found.answer {
        snapshot::Answer::Text(text) => return Ok((found.file, Stored::Text(text), None)),
        snapshot::Answer::Json(json) => json,
    };
    let layout = match args.format {
        Format::Json => return Ok((found.file, Stored::Json(json), None)),
        Format::Text => view::Layout::Text,
        Format::Markdown => view::Layout::Markdown,
    };
    let view = view::read_stored(&json, layout, store::available_threads())
        .ok_or_else(|| format!("`{}` does not read back as a view", found.file.display()))?;
    Ok((found.file, Stored::Rendered(view), found.text_unused))
}
