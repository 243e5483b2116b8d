//! `fusion export`: the landscape for other tools, as JSON-LD or CSV.

use fusion::export;
use fusion::store;
use fusion::stream::Scan;
use fusion::view::ViewOptions;

use super::{CliError, Context};

/// Export the landscape for other tools: JSON-LD (W3C Organization
/// Ontology, PROV sources) or CSV.
///
/// `--format jsonld` writes every organisation and every change (fusion,
/// absorption, split…) that counts on the as-of day (the whole history
/// without `--as-of`) as one JSON-LD document with an inline `@context`.
/// `--format csv` writes the ledger's records, one row each; with
/// `--as-of`, it writes the landscape on that day instead, one row per
/// organisation. Output goes to standard output.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The day to export: any EDTF precision, read as the last day of its
    /// period (`2016` means 2016-12-31). JSON-LD: only what counts by then;
    /// CSV: one row per organisation on that day instead of one per event.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// The state of knowledge: a seq (`42`, or `seq:42`; `0` for nothing),
    /// a hash prefix of at least 4 hex digits (`hash:0123` when it is all
    /// digits), an RFC 3339 time (the last record recorded by then), or a
    /// day or month (its end, UTC). Default: the head.
    #[arg(long, value_name = "POS")]
    pub known_at: Option<String>,
    /// With `--format csv --as-of`: also the organisations that had ended.
    #[arg(long)]
    pub all: bool,
}

/// What to export as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// JSON-LD: org:Organization and org:ChangeEvent nodes with PROV sources.
    Jsonld,
    /// CSV (RFC 4180): events, or with --as-of one row per organisation.
    Csv,
}

pub fn run(ctx: &mut Context, args: ExportArgs) -> Result<(), CliError> {
    if args.all && (args.format != Format::Csv || args.as_of.is_none()) {
        return Err(CliError::usage(
            "--all applies to `--format csv --as-of DATE` only (the view of organisations)",
        ));
    }
    let as_of = match &args.as_of {
        Some(d) => Some(super::parse_as_of("--as-of", d)?),
        None => None,
    };
    let path = ctx.global.ledger.clone();
    let threads = store::available_threads();
    if let (Format::Csv, Some(day)) = (args.format, as_of) {
        // The view of organisations: the ledger streamed, as by `replay`,
        // and the rows written as they are built.
        let (scan, progress) = super::progress::scan(&path, ctx.global.quiet, "loading")?;
        let known_at = super::known_at(&scan, args.known_at.as_deref())?;
        progress.phase("replaying");
        let options = ViewOptions {
            include_ended: args.all,
        };
        let out = &mut ctx.out;
        return scan
            .replay_to(day, known_at, options, threads, |v| {
                progress.done();
                let mut printable = out.printable();
                export::write_view_csv(v, &mut printable, threads)?;
                std::io::Write::flush(&mut printable)
            })?
            .map_err(CliError::from);
    }
    if args.format == Format::Jsonld {
        // Streamed, keeping whole the changes (and of the creations only
        // their sources, noted as they are folded); written as it is built
        // (at 10^6 records the document is about a gigabyte of text).
        let (scan, bar) =
            super::progress::scan_with(&path, ctx.global.quiet, "loading", Scan::read_changes)?;
        let known_at = super::known_at(&*scan, args.known_at.as_deref())?;
        let ns = export::namespace_of((!scan.is_empty()).then(|| scan.ledger_id()).as_deref());
        bar.phase("folding");
        let out = &mut ctx.out;
        return scan
            .jsonld_to(
                as_of,
                known_at,
                threads,
                |knowledge, state, hashes, head, creations| {
                    bar.done();
                    let mut printable = out.printable();
                    export::write_jsonld_of(
                        &mut printable,
                        &ns,
                        head,
                        knowledge,
                        state,
                        as_of,
                        hashes,
                        creations,
                    )?;
                    std::io::Write::flush(&mut printable)
                },
            )?
            .map_err(CliError::from);
    }
    // The records, one row each: the ledger streamed twice, first for the
    // corrections (which name earlier records), then for the rows, written
    // as they are made.
    let (scan, progress) = super::progress::scan(&path, ctx.global.quiet, "loading")?;
    let known_at = super::known_at(&scan, args.known_at.as_deref())?;
    progress.done();
    let mut printable = ctx.out.printable();
    scan.write_records_csv(known_at, threads, &mut printable)??;
    std::io::Write::flush(&mut printable)?;
    Ok(())
}
