//! `fusion repair`: recover from an interrupted append.

use fusion::store::{self, Repaired};

use super::{CliError, Context};

/// Recover from an interrupted append.
///
/// Rolls back a batch whose append was cut short: the `.journal` file next to
/// the ledger says where it started and where it would end, and is trusted
/// only if the ledger up to there verifies and ends at the head it names
/// (a batch that was written whole is kept). Without a journal, adds the
/// newline a complete last record lacks. Never removes an acknowledged
/// record: an incomplete last line without a journal (which no interrupted
/// append leaves: the file was cut short by something else) is left, exit 4,
/// unless `--discard-incomplete` is given. Changes nothing in a ledger that
/// was tampered with (exit 4).
#[derive(Debug, clap::Args)]
pub struct RepairArgs {
    /// Drop an incomplete last line that no journal accounts for: a record
    /// cut short by something other than an append (a copy or download cut
    /// short, a disk fault), which is lost. Restoring the ledger from a
    /// backup or its source loses nothing.
    #[arg(long)]
    pub discard_incomplete: bool,
}

pub fn run(ctx: &mut Context, args: RepairArgs) -> Result<(), CliError> {
    let path = &ctx.global.ledger;
    super::progress::notice_wait(path, ctx.global.quiet, super::progress::Lock::Write);
    let message = match store::repair(path, args.discard_incomplete)? {
        Repaired::Nothing => "nothing to repair".to_owned(),
        Repaired::DiscardedJournal => "removed a journal cut short while it was being written, before the ledger was touched; the ledger needed nothing".to_owned(),
        Repaired::RolledBack { removed_bytes } => format!(
            "rolled back an interrupted append: removed {removed_bytes} bytes of an unacknowledged batch"
        ),
        Repaired::Completed { head_seq } => format!(
            "the interrupted append had been written whole and verifies; kept it (head is seq {head_seq})"
        ),
        Repaired::RemovedIncomplete { line, bytes } => {
            format!(
                "removed the incomplete line {line} ({bytes} bytes), as --discard-incomplete asked; the record it held is lost"
            )
        }
        Repaired::AddedNewline { line } => {
            format!("line {line} was a complete record missing its newline; added the newline")
        }
    };
    ctx.out.line(format!("{}: {message}", path.display()))
}
