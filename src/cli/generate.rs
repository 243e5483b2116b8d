//! `fusion gen`: write a synthetic ledger, for benchmarks and tests.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use fusion::generator::{self, Options};
use fusion::store::StoreError;

use super::progress::Progress;
use super::{CliError, Context};

/// Generate a realistic synthetic ledger (deterministic for a seed).
///
/// The events cover the whole vocabulary — creations, fusions, absorptions,
/// splits, re-establishments, renames, labels, candidacies, programs, sites,
/// roles, memberships, figures, milestones, plans (most fulfilled later,
/// some abandoned),
/// corrections, backdated events and imprecise dates — and every one passes
/// the same validation as `fusion append`. The file is written under a
/// temporary name, fsynced, and only then given its name, which must be
/// free: an existing file is never overwritten, and an interrupted or
/// failed run leaves no file behind.
#[derive(Debug, clap::Args)]
pub struct GenArgs {
    /// How many records to write.
    #[arg(long, value_name = "N")]
    pub events: u64,
    /// Seed of the pseudo-random generator: the same seed gives the same
    /// bytes.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
    /// Where to write (refused if the file exists).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// The `recorded` time of every record, RFC 3339 UTC (fixed so that the
    /// output is deterministic).
    #[arg(long, default_value = "2026-01-01T00:00:00Z", value_name = "TIME")]
    pub recorded: String,
    /// Corrections, `fulfils` and abandonments only name records of earlier
    /// blocks of this many records, so that `--format events` output can be replayed
    /// through `fusion append` in batches of this size (or a divisor of it).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch: u64,
    /// What to write: a sealed ledger, or the bare events (JSON Lines) to
    /// feed to `fusion append`.
    #[arg(long, value_enum, default_value_t = GenFormat::Ledger)]
    pub format: GenFormat,
}

/// What `gen` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GenFormat {
    /// Hash-chained records: a ledger `fusion verify` accepts.
    Ledger,
    /// The events alone, one JSON object per line.
    Events,
}

pub fn run(ctx: &mut Context, args: GenArgs) -> Result<(), CliError> {
    let (recorded, day) = match chrono::DateTime::parse_from_rfc3339(&args.recorded) {
        Ok(t) if args.recorded.ends_with('Z') => (
            t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            t.date_naive(),
        ),
        _ => {
            return Err(CliError::usage(format!(
                "--recorded: `{}` is not an RFC 3339 UTC time like 2026-01-01T00:00:00Z",
                args.recorded
            )));
        }
    };
    let earliest = fusion::generator::earliest_recorded_day();
    if day < earliest {
        return Err(CliError::usage(format!(
            "--recorded: `{}` is before {earliest}; the generated events start on {}, and a record cannot be older than the event it states (rule `future`)",
            args.recorded,
            earliest.pred_opt().unwrap_or(earliest)
        )));
    }
    if args.batch == 0 {
        return Err(CliError::usage("--batch: must be at least 1".to_owned()));
    }
    let path = &args.out;
    let options = Options {
        events: args.events,
        seed: args.seed,
        recorded,
        batch: args.batch,
    };
    let format = args.format;
    let progress = Progress::records(ctx.global.quiet, "generating", args.events);
    let written = fusion::store::write_new_with(path, |file| {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let summary = generator::generate(&options, |record| {
            if record.seq % 1024 == 0 {
                progress.set(record.seq);
            }
            match format {
                GenFormat::Ledger => w.write_all(record.to_line().as_bytes())?,
                GenFormat::Events => serde_json::to_writer(&mut w, &record.event)?,
            }
            w.write_all(b"\n")
        })?;
        w.flush()?;
        progress.phase("syncing");
        Ok(summary)
    });
    let summary = match written {
        Ok(summary) => summary,
        Err(StoreError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            return Err(CliError::usage(format!(
                "`{}` already exists; gen never overwrites a file",
                path.display()
            )));
        }
        Err(e) => return Err(CliError::from(e)),
    };
    progress.done();
    ctx.out.line(format!(
        "wrote {} records to {} ({} backdated, {} with imprecise dates, head {})",
        summary.records,
        path.display(),
        summary.backdated,
        summary.imprecise,
        summary.head_hash
    ))
}
