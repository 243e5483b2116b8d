//! `fusion repair`: recover from an interrupted append.

use fusion::store::{self, Repaired};

use super::{CliError, Context};

/// Recover from an interrupted append.
///
/// Rolls back a batch whose append was cut short: the `.journal` file next to
/// the ledger says where it started and where it would end, and is trusted
/// only if the ledger up to there verifies and ends at the head it names
/// (a batch that was written whole is kept). Without a journal, removes
/// an incomplete final line (or adds the newline a complete last record
/// lacks). Never removes a complete record before the interrupted batch;
/// changes nothing in a ledger that was tampered with (exit 4).
#[derive(Debug, clap::Args)]
pub struct RepairArgs {}

pub fn run(ctx: &mut Context, _args: RepairArgs) -> Result<(), CliError> {
    let path = &ctx.global.ledger;
    super::progress::notice_wait(path, ctx.global.quiet, super::progress::Lock::Write);
    let message = match store::repair(path)? {
        Repaired::Nothing => "nothing to repair".to_owned(),
        Repaired::DiscardedJournal => "removed a journal cut short while it was being written, before the ledger was touched; the ledger needed nothing".to_owned(),
        Repaired::RolledBack { removed_bytes } => format!(
            "rolled back an interrupted append: removed {removed_bytes} bytes of an unacknowledged batch"
        ),
        Repaired::Completed { head_seq } => format!(
            "the interrupted append had been written whole and verifies; kept it (head is seq {head_seq})"
        ),
        Repaired::RemovedIncomplete { line, bytes } => {
            format!("removed the incomplete line {line} ({bytes} bytes)")
        }
        Repaired::AddedNewline { line } => {
            format!("line {line} was a complete record missing its newline; added the newline")
        }
    };
    ctx.out.line(format!("{}: {message}", path.display()))
}
