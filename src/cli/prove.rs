//! `fusion prove`: write inclusion and consistency proof bundles.

use std::path::PathBuf;

use fusion::proof::{Bundle, ConsistencyBundle, InclusionBundle, ProofError};

use super::checkpoint::{checkpoint_error, load_checkpoint};
use super::{CliError, Context};

/// Write a proof bundle (JSON) that readers check offline with
/// `fusion verify-proof`, without the ledger.
#[derive(Debug, clap::Args)]
pub struct ProveArgs {
    #[command(subcommand)]
    pub command: ProveCommand,
}

/// Proof kinds.
#[derive(Debug, clap::Subcommand)]
pub enum ProveCommand {
    /// Prove that record SEQ is in the tree of a checkpoint of this ledger.
    Inclusion(InclusionArgs),
    /// Prove that checkpoint OLD's tree is a prefix of checkpoint NEW's
    /// (both checkpoints of this ledger).
    Consistency(ConsistencyArgs),
}

/// Arguments of `fusion prove inclusion`.
#[derive(Debug, clap::Args)]
pub struct InclusionArgs {
    /// The record's seq.
    #[arg(value_name = "SEQ")]
    pub seq: u64,
    /// The checkpoint to prove against (the one the reader trusts).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// Write the bundle to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `fusion prove consistency`.
#[derive(Debug, clap::Args)]
pub struct ConsistencyArgs {
    /// The older checkpoint file.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The newer checkpoint file.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Write the bundle to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Exit codes for proof errors: a record that does not exist is a usage
/// error (2); checkpoint errors as in [`checkpoint_error`]; the rest are
/// integrity failures (4).
pub fn proof_error(e: ProofError) -> CliError {
    match e {
        ProofError::Checkpoint(c) => checkpoint_error(c),
        ProofError::NoSuchRecord { .. } | ProofError::PastCheckpoint { .. } => {
            CliError::usage(e.to_string())
        }
        other => CliError::integrity(other.to_string()),
    }
}

pub fn run(ctx: &mut Context, args: ProveArgs) -> Result<(), CliError> {
    let path = ctx.global.ledger.clone();
    let (bundle, out) = match args.command {
        ProveCommand::Inclusion(a) => {
            let cp = load_checkpoint(&a.checkpoint)?;
            // Streamed: each record's hash is kept, and the one proved
            // read back.
            let leaves = super::progress::leaves(&path, ctx.global.quiet, "loading")?;
            let tree = leaves.tree();
            let record = leaves.record(a.seq)?.ok_or_else(|| {
                CliError::usage(format!(
                    "no record with seq {}: the ledger has {} records",
                    a.seq,
                    leaves.len()
                ))
            })?;
            let b = InclusionBundle::build(&tree, &record, &cp).map_err(|e| {
                with_context(
                    proof_error(e),
                    &format!("checkpoint `{}`", a.checkpoint.display()),
                )
            })?;
            (Bundle::Inclusion(b), a.out)
        }
        ProveCommand::Consistency(a) => {
            let old = load_checkpoint(&a.old)?;
            let new = load_checkpoint(&a.new)?;
            if old.checkpoint.size > new.checkpoint.size {
                return Err(CliError::usage(format!(
                    "OLD `{}` has size {} but NEW `{}` has size {}: give the older checkpoint first",
                    a.old.display(),
                    old.checkpoint.size,
                    a.new.display(),
                    new.checkpoint.size
                )));
            }
            let tree = super::progress::leaves(&path, ctx.global.quiet, "loading")?.tree();
            let b = ConsistencyBundle::build(&tree, &old, &new).map_err(proof_error)?;
            (Bundle::Consistency(b), a.out)
        }
    };
    let json = bundle.to_json();
    match out {
        Some(file) => {
            super::write_output(ctx, &file, json.as_bytes())?;
            ctx.out.line(format!("wrote {}", file.display()))
        }
        None => ctx.out.write(json),
    }
}

fn with_context(mut e: CliError, context: &str) -> CliError {
    e.message = format!("{context}: {}", e.message);
    e
}
