//! `fusion lineage`: where an organisation came from and what it became.

use fusion::lineage;
use fusion::store;

use super::{CliError, Context};

/// Show the ancestors and descendants of an organisation through every
/// change (fusion, absorption, split, spin-off, re-establishment, id
/// change), with dates and the seq of each change.
///
/// Going up, a predecessor's own ancestors are the changes before the one
/// that led from it; going down, a successor's descendants are the changes
/// after the one that led to it. An organisation met again is marked
/// "(see above)".
#[derive(Debug, clap::Args)]
pub struct LineageArgs {
    /// The organisation's id.
    #[arg(value_name = "ORG")]
    pub org: String,
    /// Only changes that count by this date (any EDTF precision, read as
    /// the last day of its period). Default: no limit.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// The state of knowledge: a seq (`42`, or `seq:42`; `0` for nothing),
    /// a hash prefix of at least 4 hex digits (`hash:0123` when it is all
    /// digits), an RFC 3339 time (the last record recorded by then), or a
    /// day or month (its end, UTC).
    /// Default: the head.
    #[arg(long, value_name = "POS")]
    pub known_at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How to print the lineage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A tree: ancestors (←) above, descendants (→) below.
    Text,
    /// The documented JSON object.
    Json,
    /// A Mermaid flowchart.
    Mermaid,
    /// A Graphviz digraph.
    Dot,
}

pub fn run(ctx: &mut Context, args: LineageArgs) -> Result<(), CliError> {
    if args.org.trim().is_empty() {
        return Err(CliError::usage(
            "lineage needs an organisation id, and the one given is empty (hint: `fusion replay --all` lists the ids)",
        ));
    }
    let as_of = match &args.as_of {
        Some(d) => Some(super::parse_as_of("--as-of", d)?),
        None => None,
    };
    let path = ctx.global.ledger.clone();
    // The ledger is streamed, as by `replay`; an id that is no organisation
    // on the --as-of day is looked for again in the whole timeline, which
    // tells whether it comes into being later (a second streaming pass,
    // one fold of the whole timeline, paused on the day).
    let (scan, progress) = super::progress::scan(&path, ctx.global.quiet, "loading")?;
    let known_at = super::known_at(&scan, args.known_at.as_deref())?;
    let head = scan.len() as u64;
    progress.phase("tracing");
    let threads = store::available_threads();
    let traced = scan.lineage(&args.org, as_of, known_at, threads)?;
    progress.done();
    let l = match traced {
        Some(l) => l,
        None => {
            let (scan, progress) = super::progress::scan(&path, ctx.global.quiet, "loading")?;
            progress.phase("tracing");
            let l = scan.lineage_whole(&args.org, as_of, known_at, threads)?;
            progress.done();
            l
        }
    };
    let l = match l {
        Ok(l) => l,
        // Not known at an earlier state of knowledge: is it at the head?
        // (A third pass, on this error path only.)
        Err(e @ lineage::LineageError::UnknownOrg { .. }) if known_at < head => {
            let (scan, progress) = super::progress::scan(&path, ctx.global.quiet, "loading")?;
            progress.phase("tracing");
            let later = scan.lineage_whole(&args.org, None, head, threads)?;
            progress.done();
            return Err(CliError::usage(match later {
                Ok(_) => format!(
                    "no organisation `{}` is known at seq {known_at}: a later record brings it in (hint: `fusion log --org {}` lists the records that name it; the head is seq {head})",
                    args.org, args.org
                ),
                Err(_) => e.to_string(),
            }));
        }
        Err(e) => return Err(CliError::usage(e.to_string())),
    };
    let text = match args.format {
        Format::Text => lineage::render_text(&l),
        Format::Json => lineage::render_json(&l),
        Format::Mermaid => lineage::render_mermaid(&l),
        Format::Dot => lineage::render_dot(&l),
    };
    ctx.out.write(text)
}
