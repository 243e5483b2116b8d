//! `fusion verify`: recompute every hash and link.

use super::{CliError, Context};

/// Check the ledger's integrity.
///
/// Recomputes every record's hash, checks every `prev` link, the seq
/// numbering and the format version, and that every event belongs to the
/// vocabulary. Exits 0 and prints the record count and head hash, or names
/// the first bad line and exits 4 (tampering) or 5 (interrupted append).
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}

pub fn run(ctx: &mut Context, _args: VerifyArgs) -> Result<(), CliError> {
    let path = ctx.global.ledger.clone();
    let chain = fusion::store::load(&path, fusion::store::available_threads())?;
    fusion::store::entries(&path, &chain)?;
    ctx.out.line(format!(
        "ok: {} records, head {}",
        chain.len(),
        chain.head_hash()
    ))
}
