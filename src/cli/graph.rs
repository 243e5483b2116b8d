//! `fusion graph`: the landscape's changes over a period, as a picture.

use fusion::stream::Scan;
use fusion::{graph, store};

use super::{CliError, Context};

/// Draw every change (fusion, absorption, split, spin-off,
/// re-establishment, id change) of the whole landscape over a period, as a
/// Mermaid flowchart or a Graphviz digraph, edges coloured by kind.
///
/// A change belongs to the period when its date overlaps it; one whose
/// date straddles a bound of the period, or is marked `~` or `?`, is drawn
/// dashed. Output goes to standard output.
#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// Start of the period: any EDTF precision, read as the FIRST day of
    /// its period (`2015` means 2015-01-01). Default: the beginning.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// End of the period: any EDTF precision, read as the last day of its
    /// period (`2016` means 2016-12-31). Default: no end.
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// The state of knowledge: a seq (`42`, or `seq:42`; `0` for nothing),
    /// a hash prefix of at least 4 hex digits (`hash:0123` when it is all
    /// digits), an RFC 3339 time (the last record recorded by then), or a
    /// day or month (its end, UTC). Default: the head.
    #[arg(long, value_name = "POS")]
    pub known_at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    pub format: Format,
}

/// How to draw the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart (renders in GitHub and GitLab Markdown).
    Mermaid,
    /// A Graphviz digraph (`dot -Tsvg`).
    Dot,
}

pub fn run(ctx: &mut Context, args: GraphArgs) -> Result<(), CliError> {
    let from = match &args.from {
        Some(d) => Some(super::parse_query("--from", d, fusion::date::from_day)?),
        None => None,
    };
    let to = match &args.to {
        Some(d) => Some(super::parse_as_of("--to", d)?),
        None => None,
    };
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(CliError::usage(format!(
            "--from {f} is after --to {t}; the period must run forward"
        )));
    }
    let path = ctx.global.ledger.clone();
    // The ledger is streamed, as by `replay`, keeping the changes whole.
    let (scan, bar) =
        super::progress::scan_with(&path, ctx.global.quiet, "loading", Scan::read_changes)?;
    let known_at = super::known_at(&*scan, args.known_at.as_deref())?;
    bar.phase("folding");
    let g = scan.graph(from, to, known_at, store::available_threads())?;
    bar.done();
    let text = match args.format {
        Format::Mermaid => graph::render_mermaid(&g),
        Format::Dot => graph::render_dot(&g),
    };
    ctx.out.write(text)
}
