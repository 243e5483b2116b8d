//! `fusion replay`: the landscape on a date, as known at a ledger position.

use fusion::view::{self, ViewOptions};

use super::{CliError, Context};

/// Show the landscape on a date, as it was known at a ledger position.
///
/// Folds every event that counts on DATE (an event counts from the first day
/// of its period) among the records known at POS, with corrections applied
/// as known at POS. Facts whose date period DATE falls inside, or whose date
/// carries `~` or `?`, are shown as "possibly since". Plans stated by DATE
/// that have not happened yet are listed after the organisations.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The date to show: any EDTF precision, read as the last day of its
    /// period (`2016` means 2016-12-31). Default: today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// The state of knowledge: a seq (`42`; `0` for nothing), a hash prefix
    /// of at least 4 hex digits, an RFC 3339 time (the last record recorded
    /// by then) or a day (its end). Default: the head.
    #[arg(long, value_name = "POS")]
    pub known_at: Option<String>,
    /// Also show organisations and programs that have ended, and plans
    /// already fulfilled, retracted or superseded.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
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
    let (chain, progress) = super::progress::load(&path, ctx.global.quiet, "loading")?;
    let entries = &chain.entries;
    let known_at = super::known_at(entries, args.known_at.as_deref())?;
    progress.phase("replaying");
    let v = view::replay_with(
        entries,
        as_of,
        known_at,
        ViewOptions {
            include_ended: args.all,
        },
    );
    let text = match args.format {
        Format::Text => view::render_text(&v),
        Format::Json => view::render_json(&v),
        Format::Markdown => view::render_markdown(&v),
    };
    progress.done();
    ctx.out.write(text)
}
