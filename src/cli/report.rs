//! `fusion report`: one self-contained HTML page of the landscape.

use std::path::PathBuf;

use super::{CliError, Context};

/// Write a self-contained HTML report of the landscape on a date.
///
/// One static file, with its CSS, script and SVG inline and nothing fetched
/// from the network: the organisations on DATE with their facts, the plans
/// stated by then, the lineage graph of every change, and a timeline of
/// every record (filterable by type). Every fact links to its event in the
/// timeline, which quotes its sources. The file is written atomically.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
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
    /// The HTML file to write (replaced if it exists).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

pub fn run(ctx: &mut Context, args: ReportArgs) -> Result<(), CliError> {
    let as_of = match &args.as_of {
        Some(d) => super::parse_as_of("--as-of", d)?,
        None => ctx.today,
    };
    let path = ctx.global.ledger.clone();
    let chain = super::progress::load(&path, ctx.global.quiet, "loading")?.0;
    let entries = &chain.entries;
    let known_at = super::known_at(entries.as_slice(), args.known_at.as_deref())?;
    let report = fusion::report::render(entries, as_of, known_at);
    super::write_output(ctx, &args.out, report.html.as_bytes())?;
    if !ctx.global.quiet {
        ctx.out.line(format!(
            "wrote {} (landscape on {}: {} organisation(s), {} change(s), {} record(s))",
            args.out.display(),
            as_of.format("%Y-%m-%d"),
            report.organisations,
            report.changes,
            report.events
        ))?;
    }
    Ok(())
}
