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
        // Unknown: more passes, on this error path only, find out why.
        Err(e @ lineage::LineageError::UnknownOrg { .. }) => {
            let org = &args.org;
            // Not known at an earlier state of knowledge: is it at the head?
            if known_at < head {
                let (scan, progress) = super::progress::scan(&path, ctx.global.quiet, "loading")?;
                progress.phase("tracing");
                let later = scan.lineage_whole(org, None, head, threads)?;
                progress.done();
                if later.is_ok() {
                    return Err(CliError::usage(format!(
                        "no organisation `{org}` is known at seq {known_at}: a later record brings it in (hint: `fusion log --org {org}` lists the records that name it; the head is seq {head})"
                    )));
                }
            }
            // Named by records that bring in no organisation: a retracted
            // or superseded creation (a plan has its own error).
            let naming = records_naming(&path, org, known_at);
            return Err(CliError::usage(match naming.split_first() {
                // A name given for the id?
                None => {
                    match super::named_hint(org, &super::ids_named(&path, org), "fusion lineage") {
                        Some(hint) => format!(
                            "no organisation `{org}` is known at seq {known_at} (hint: {hint})"
                        ),
                        None => e.to_string(),
                    }
                }
                Some((first, rest)) => {
                    let shown: Vec<String> = std::iter::once(first)
                        .chain(rest.iter().take(2))
                        .map(|seq| format!("seq {seq}"))
                        .collect();
                    let more = match rest.len().saturating_sub(2) {
                        0 => String::new(),
                        n => format!(" and {n} more"),
                    };
                    format!(
                        "no organisation `{org}` is known at seq {known_at}, though {}{more} name{} it (hint: a record that a correction retracted or superseded brings in nothing; `fusion log --org {org}` shows the records that name it)",
                        shown.join(", "),
                        if naming.len() == 1 { "s" } else { "" },
                    )
                }
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

/// The seqs, up to `known_at`, of the records that mention `org`
/// ([`fusion::event::Event::mentioned_ids`], as `log --org` filters):
/// empty if the ledger cannot be read again.
fn records_naming(path: &std::path::Path, org: &str, known_at: u64) -> Vec<u64> {
    let mut seqs = Vec::new();
    let scanned = store::scan_with_progress(
        path,
        store::available_threads(),
        &|_| {},
        |_: fusion::chain::Glance<'_>| None,
        |event| event.mentioned_ids().contains(&org),
        |s: fusion::chain::Scanned<bool>| {
            if s.kept && s.seq <= known_at {
                seqs.push(s.seq);
            }
        },
    );
    match scanned {
        Ok(_) => seqs,
        Err(_) => Vec::new(),
    }
}
