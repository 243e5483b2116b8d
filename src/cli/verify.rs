//! `fusion verify`: recompute every hash and link.

use std::path::{Path, PathBuf};

use fusion::snapshot::Status;

use super::{CliError, Context};

/// Check the ledger's integrity.
///
/// Recomputes every record's hash, checks every `prev` link, the seq
/// numbering and the format version, and that every event belongs to the
/// vocabulary. Exits 0 and prints the record count and head hash, or names
/// the first bad line and exits 4 (tampering) or 5 (interrupted append).
///
/// Then re-derives every snapshot in the snapshots directory made from this
/// ledger and exits 4 if one no longer matches (edited, stale or different).
///
/// With `--checkpoint`, also checks that the ledger extends that checkpoint
/// (a consistency proof against the current Merkle tree) and, with `--key`,
/// that the checkpoint's signature is good.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Also check that the ledger extends this checkpoint.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// The log's public key: check the checkpoint's signature.
    #[arg(long, value_name = "PUB", requires = "checkpoint")]
    pub key: Option<PathBuf>,
    /// The origin the checkpoint must name. Default: the one `fusion
    /// checkpoint` gives this ledger (`fusion/<file name without extension>`);
    /// pass it when the ledger file was renamed.
    #[arg(long, value_name = "ORIGIN", requires = "checkpoint")]
    pub origin: Option<String>,
    /// Also check the append index next to the ledger (`<ledger>.index/`):
    /// when it describes the ledger's head, it must hold exactly what the
    /// ledger folds to (a full fold); exits 4 if it does not.
    #[arg(long)]
    pub index: bool,
    /// Also check the history: that every correction, `fulfils` and
    /// `plan_abandoned` names an earlier record of the right kind, and, folding the whole
    /// timeline, every event at its place in it, as `append` checks a batch
    /// (an organisation that exists on the event's date, not ended, ids
    /// never reused…); exits 4 naming the first record that does not hold. A
    /// ledger only fusion wrote always passes: this finds a file written by
    /// other means, whose chain can verify while its history does not.
    #[arg(long)]
    pub history: bool,
}

pub fn run(ctx: &mut Context, args: VerifyArgs) -> Result<(), CliError> {
    let path = ctx.global.ledger.clone();
    super::check_snapshots_dir(&ctx.global.snapshots)?;
    let origin = args
        .origin
        .clone()
        .unwrap_or_else(|| fusion::checkpoint::default_origin(&path));
    let foreign = match args.index || args.history {
        false => foreign_snapshots(&path, &ctx.global.snapshots),
        true => None,
    };
    if let Some(skipped) = foreign {
        // Nothing to re-derive: one streaming pass, without keeping the
        // events (only each record's hash for a checkpoint), in memory that
        // grows little or not at all with the ledger. Snapshot files of
        // other ledgers are skipped, read no further than their first line
        // (a malformed one among them fails nothing).
        let (records, head, checkpoint) = match &args.checkpoint {
            None => {
                let (checked, progress) =
                    super::progress::check(&path, ctx.global.quiet, "verifying")?;
                progress.done();
                (checked.records, checked.head_hash, None)
            }
            Some(cp) => {
                let leaves = super::progress::leaves(&path, ctx.global.quiet, "verifying")?;
                let line = super::checkpoint::check_ledger(
                    &leaves.tree(),
                    cp,
                    args.key.as_deref(),
                    Some(&origin),
                )?;
                (leaves.len() as u64, leaves.head_hash(), Some(line))
            }
        };
        return report(
            ctx,
            (records, &head),
            checkpoint,
            Vec::new(),
            (&[], skipped),
        );
    }
    // Snapshots of this ledger to re-derive, or the index to audit: the
    // ledger is streamed as by `replay`, keeping about 50 bytes a record,
    // and each snapshot's view (or the whole fold the index must hold) is
    // folded again from the file, share-locked until the last check: an
    // append in between would make a sound index look wrong.
    let (scan, progress) = super::progress::scan(&path, ctx.global.quiet, "verifying")?;
    let views = scan.into_views(fusion::store::available_threads());
    let head = views.head_hash();
    let checkpoint = match &args.checkpoint {
        Some(cp) => Some(super::checkpoint::check_ledger(
            &views.tree(),
            cp,
            args.key.as_deref(),
            Some(&origin),
        )?),
        None => None,
    };
    let index = if args.index {
        progress.phase("checking the append index");
        let dir = fusion::index::dir_of(&path);
        let current = (views.bytes(), views.len() as u64, head.as_str());
        let hash_at = |seq| fusion::snapshot::Ledger::hash_at(&views, seq);
        Some(
            match fusion::index::audit_with(&dir, current, hash_at, || views.index_fold())? {
                fusion::index::Audit::Absent => {
                    "append index: none (the next append builds it)".to_owned()
                }
                fusion::index::Audit::Unreadable => format!(
                    "append index: `{}` cannot be read (not what this build writes); appends do not trust it, the next one rebuilds it",
                    dir.join("HEAD").display()
                ),
                fusion::index::Audit::OtherVersion { version } => format!(
                    "append index: format version {version}, not {}; appends do not trust it, the next one rebuilds it",
                    fusion::index::INDEX_VERSION
                ),
                fusion::index::Audit::Stale { seq } => format!(
                    "append index: describes seq {seq}, not the head; appends do not trust it, the next one rebuilds it"
                ),
                fusion::index::Audit::Lost { seen, records } => {
                    return Err(CliError::integrity(format!(
                        "the ledger verifies ({records} records, head {head}), but its append index `{}` saw seq {seen}: records {}..={seen} were appended, and are no longer in the ledger (cut short, or rewritten); restore the ledger from a backup (hint: with records lost on purpose, delete the directory, and the next append rebuilds it)",
                        dir.display(),
                        records + 1
                    )));
                }
                fusion::index::Audit::Rewritten { seq, hash } => {
                    return Err(CliError::integrity(format!(
                        "the ledger verifies ({} records, head {head}), but its append index `{}` saw seq {seq} with hash {hash}, and the ledger holds another record there: the ledger was rewritten since that append; restore it from a backup (hint: compare with a checkpoint, `fusion verify --checkpoint`)",
                        views.len(),
                        dir.display()
                    )));
                }
                fusion::index::Audit::Damaged { path, why } => format!(
                    "append index: `{}` {why}; appends never use it (the first that needs it reads the whole ledger and rebuilds the index), and trust the other buckets, which match the ledger",
                    path.display()
                ),
                fusion::index::Audit::Matches { ids } => {
                    format!("append index: matches the ledger ({ids} ids)")
                }
                fusion::index::Audit::Differs { id } => {
                    // An id in code quotes; what is not an id (a bucket that
                    // cannot be read, the `consistent` flag) as it is.
                    let id = if id.starts_with('(') {
                        id
                    } else {
                        format!("`{id}`")
                    };
                    return Err(CliError::integrity(format!(
                        "the ledger verifies ({} records, head {head}), but its append index `{}` does not hold what the ledger folds to (first difference: {id}); appends could trust it — delete the directory, the next append rebuilds it",
                        views.len(),
                        dir.display()
                    )));
                }
            },
        )
    } else {
        None
    };
    let history = if args.history {
        progress.phase("checking the history");
        let dangling = views.first_bad_link();
        let inconsistent = views.first_inconsistency()?;
        // The first record that does not hold, and what follows from it.
        let failure = match (dangling, inconsistent) {
            (Some(d), i) if i.as_ref().is_none_or(|i| d.seq <= i.seq) => Some((
                d,
                "; no append writes such a link: the file was written, or rewritten with every hash recomputed, by other means, and replays ignore the link (hint: `fusion log --seq {seq}` shows it; `fusion verify --checkpoint CP` compares the ledger with a checkpoint taken before)",
            )),
            (_, Some(i)) => Some((
                i,
                "; replays fold it as if it had no effect on what it breaks, and `append` refuses every batch but one that corrects it (hint: `fusion log --seq {seq}` shows it; append a `correction` that retracts or supersedes it)",
            )),
            _ => None,
        };
        match failure {
            None => Some(format!(
                "history: every event holds at its place in the timeline ({} records)",
                views.len()
            )),
            Some((bad, then)) => {
                return Err(CliError::integrity(format!(
                    "the ledger's chain verifies ({} records, head {head}), but its history does not: seq {} ({}, dated {}): {}{}",
                    views.len(),
                    bad.seq,
                    bad.event_type,
                    bad.date,
                    bad.rule.message,
                    then.replace("{seq}", &bad.seq.to_string())
                )));
            }
        }
    } else {
        None
    };
    progress.phase("checking snapshots");
    let statuses = super::snapshot::check_all(&ctx.global.snapshots, &views)?;
    progress.done();
    let records = views.len() as u64;
    drop(views);
    let skipped = statuses
        .iter()
        .filter(|(_, status)| *status == Status::OtherLedger)
        .count();
    let checked: Vec<_> = statuses
        .into_iter()
        .filter(|(_, status)| *status != Status::OtherLedger)
        .collect();
    report(
        ctx,
        (records, &head),
        checkpoint,
        index.into_iter().chain(history).collect(),
        (&checked, skipped),
    )
}

/// Prints what `verify` found once the ledger verified: the record count
/// and head, the checkpoint's line, the index's and the history's (`extra`), one line per snapshot
/// of this ledger (`checked`) and how many of another ledger were
/// `skipped`; or fails (exit 4) naming the snapshots that do not hold.
fn report(
    ctx: &mut Context,
    (records, head): (u64, &str),
    checkpoint: Option<String>,
    extra: Vec<String>,
    (checked, skipped): (&[(PathBuf, Status)], usize),
) -> Result<(), CliError> {
    let line = |(file, status): &(PathBuf, Status)| {
        format!("snapshot {}: {}", file.display(), status.describe())
    };
    let bad: Vec<String> = checked
        .iter()
        .filter(|(_, status)| status.is_failure())
        .map(line)
        .collect();
    if !bad.is_empty() {
        return Err(CliError::integrity(format!(
            "the ledger verifies ({records} records, head {head}), but {} snapshot(s) do not:\n{}",
            bad.len(),
            bad.iter()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )));
    }
    ctx.out
        .line(format!("ok: {records} records, head {head}"))?;
    if let Some(line) = checkpoint {
        ctx.out.line(line)?;
    }
    for line in extra {
        ctx.out.line(line)?;
    }
    for snapshot in checked {
        ctx.out.line(line(snapshot))?;
    }
    if skipped > 0 {
        ctx.out.line(format!(
            "snapshots: {skipped} made from another ledger, skipped"
        ))?;
    }
    Ok(())
}

/// `Some(n)` when none of the snapshot files can be of this ledger: each of
/// the `n` files names, on its first line, a ledger other than this one's
/// first record. `None` when one may be (or this cannot be told cheaply):
/// then the snapshots are checked in full.
fn foreign_snapshots(ledger: &Path, dir: &Path) -> Option<usize> {
    let files = super::snapshot::snapshot_files(dir);
    if files.is_empty() {
        return Some(0);
    }
    let ours = fusion::snapshot::read_head(ledger).ok()?.ledger;
    for file in &files {
        let mut line = Vec::new();
        let mut reader = std::io::BufReader::new(std::fs::File::open(file).ok()?);
        std::io::BufRead::read_until(&mut reader, b'\n', &mut line).ok()?;
        match fusion::snapshot::ledger_named(&line) {
            Some(named) if named != ours => {}
            _ => return None,
        }
    }
    Some(files.len())
}
