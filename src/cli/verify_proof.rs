//! `fusion verify-proof`: check a proof bundle offline against a trusted
//! checkpoint.

use std::path::PathBuf;

use fusion::proof::{Bundle, MAX_BUNDLE_BYTES, verify_bundle};

use super::checkpoint::{checkpoint_error, load_checkpoint, load_public_key, read_limited};
use super::prove::proof_error;
use super::{CliError, Context};

/// Check a proof bundle without the ledger.
///
/// An inclusion bundle must prove its record against the trusted
/// checkpoint. A consistency bundle must have the trusted checkpoint at one
/// of its two ends. With --key, the signatures are checked too. Exits 0, or
/// 4 with the reason (altered record, forged proof, another ledger's
/// checkpoint, wrong key).
#[derive(Debug, clap::Args)]
pub struct VerifyProofArgs {
    /// The bundle file written by `fusion prove`.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// The checkpoint you trust (kept from earlier, or obtained out of band).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// The log's public key file: also check the checkpoints' signatures.
    #[arg(long, value_name = "PUB")]
    pub key: Option<PathBuf>,
}

pub fn run(ctx: &mut Context, args: VerifyProofArgs) -> Result<(), CliError> {
    let trusted = load_checkpoint(&args.checkpoint)?;
    let key = args.key.as_deref().map(load_public_key).transpose()?;
    if let Some(k) = &key {
        trusted.verify(k).map_err(|e| {
            let mut err = checkpoint_error(e);
            err.message = format!(
                "checkpoint `{}`: {}",
                args.checkpoint.display(),
                err.message
            );
            err
        })?;
    }
    let bytes = read_limited(&args.bundle, MAX_BUNDLE_BYTES, "bundle")?;
    let bundle = Bundle::parse(&bytes).map_err(|e| {
        let mut err = proof_error(e);
        err.message = format!("`{}`: {}", args.bundle.display(), err.message);
        err
    })?;
    let report = verify_bundle(&bundle, &trusted, key.as_ref()).map_err(|e| {
        let mut err = proof_error(e);
        err.message = format!("`{}`: {}", args.bundle.display(), err.message);
        err
    })?;
    ctx.out.line(report.describe())?;
    ctx.out.line(match &key {
        Some(k) => format!("signature by `{}` ok", k.label()),
        None => "signature not checked (no --key)".to_string(),
    })
}
