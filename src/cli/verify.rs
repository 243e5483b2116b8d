//! `fusion verify`: recompute every hash and link.

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
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}

pub fn run(ctx: &mut Context, _args: VerifyArgs) -> Result<(), CliError> {
    let path = ctx.global.ledger.clone();
    let chain = fusion::store::load(&path, fusion::store::available_threads())?;
    let entries = fusion::store::entries(&path, &chain)?;
    let (snapshots, failed) = super::snapshot::check_all(&ctx.global.snapshots, &entries)?;
    if failed {
        let bad: Vec<&String> = snapshots.iter().filter(|l| !l.ends_with(": valid") && !l.contains(": skipped")).collect();
        return Err(CliError::integrity(format!(
            "the ledger verifies ({} records, head {}), but {} snapshot(s) do not:\n{}",
            chain.len(),
            chain.head_hash(),
            bad.len(),
            bad.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
        )));
    }
    ctx.out.line(format!(
        "ok: {} records, head {}",
        chain.len(),
        chain.head_hash()
    ))?;
    for line in snapshots {
        ctx.out.line(line)?;
    }
    Ok(())
}
