//! `fusion checkpoint`: print the ledger's tree head (origin, size, Merkle
//! root) as a C2SP checkpoint, optionally signed; plus the file helpers the
//! other trust commands (`key`, `prove`, `verify-proof`, `verify
//! --checkpoint`) share.

use std::io::Read;
use std::path::{Path, PathBuf};

use fusion::checkpoint::{
    self, Checkpoint, CheckpointError, MAX_NOTE_BYTES, PrivateKey, PublicKey, SignedCheckpoint,
};
use fusion::merkle::{Tree, to_hex};

use super::{CliError, Context, exit};

/// Print the ledger's checkpoint: origin, record count and Merkle root.
///
/// The output is a C2SP tlog-checkpoint note. With --sign it carries an
/// Ed25519 signature line (signed-note format). Keep it: `fusion verify
/// --checkpoint FILE` later proves that the ledger still extends it.
#[derive(Debug, clap::Args)]
pub struct CheckpointArgs {
    /// Sign with this private key file (made by `fusion key generate`).
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// The log's identity (first line). Default: `fusion/` followed by the
    /// ledger file name without its extension.
    #[arg(long, value_name = "ORIGIN")]
    pub origin: Option<String>,
    /// Checkpoint only the first N records (default: all).
    #[arg(long, value_name = "N")]
    pub size: Option<u64>,
    /// Write the checkpoint to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(ctx: &mut Context, args: CheckpointArgs) -> Result<(), CliError> {
    let key = args.sign.as_deref().map(load_private_key).transpose()?;
    let path = ctx.global.ledger.clone();
    let origin = args
        .origin
        .clone()
        .unwrap_or_else(|| checkpoint::default_origin(&path));
    // Streamed: only each record's hash is kept.
    let tree = super::progress::leaves(&path, ctx.global.quiet, "loading")?.tree();
    let size = args.size.unwrap_or(tree.size());
    if size > tree.size() {
        return Err(CliError::usage(format!(
            "--size {size}: the ledger has only {} records",
            tree.size()
        )));
    }
    let cp = Checkpoint::of_tree(&origin, &tree, size).map_err(|e| match e {
        CheckpointError::BadOrigin(_) => CliError::usage(format!("--origin: {e}")),
        other => checkpoint_error(other),
    })?;
    let mut signed = SignedCheckpoint::unsigned(cp);
    if let Some(key) = &key {
        signed.sign(key);
    }
    let note = signed.to_note();
    match &args.out {
        Some(file) => {
            super::write_output(ctx, file, note.as_bytes())?;
            ctx.out.line(format!(
                "wrote {}: {}{}",
                file.display(),
                signed.checkpoint.describe(),
                key.map(|k| format!(", signed by `{}`", k.public().label()))
                    .unwrap_or_default()
            ))
        }
        None => ctx.out.write(note),
    }
}

/// Exit codes for checkpoint errors: key and origin problems are usage
/// errors (2), the random source an I/O error (1), the rest integrity
/// failures (4).
pub fn checkpoint_error(e: CheckpointError) -> CliError {
    let code = match &e {
        CheckpointError::BadKey(_) | CheckpointError::BadOrigin(_) => exit::USAGE,
        CheckpointError::Random(_) => exit::IO,
        _ => exit::INTEGRITY,
    };
    CliError::new(code, e.to_string())
}

/// Reads at most `limit` bytes of a file; larger files are refused.
pub fn read_limited(path: &Path, limit: usize, what: &str) -> Result<Vec<u8>, CliError> {
    // No file at the path given is a usage error (exit 2), as for the
    // events to append; a file that exists but cannot be read is I/O (1).
    let io = |e: std::io::Error| {
        CliError::new(
            if e.kind() == std::io::ErrorKind::NotFound {
                exit::USAGE
            } else {
                exit::IO
            },
            format!("cannot read {what} `{}`: {e}", path.display()),
        )
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > limit {
        return Err(CliError::integrity(format!(
            "{what} `{}` is larger than the {limit} bytes accepted",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Reads and parses a checkpoint file (signatures parsed, not verified).
pub fn load_checkpoint(path: &Path) -> Result<SignedCheckpoint, CliError> {
    let bytes = read_limited(path, MAX_NOTE_BYTES, "checkpoint")?;
    SignedCheckpoint::parse_bytes(&bytes)
        .map_err(|e| CliError::integrity(format!("checkpoint `{}`: {e}", path.display())))
}

/// Reads a public key file (`<name>+<id>+<base64>`).
pub fn load_public_key(path: &Path) -> Result<PublicKey, CliError> {
    let bytes = read_limited(path, 64 << 10, "public key")?;
    let text = String::from_utf8_lossy(&bytes);
    PublicKey::parse(&text).map_err(|e| CliError::usage(format!("--key `{}`: {e}", path.display())))
}

/// Reads a private key file (`PRIVATE+KEY+…`).
pub fn load_private_key(path: &Path) -> Result<PrivateKey, CliError> {
    let bytes = read_limited(path, 64 << 10, "private key")?;
    let text = String::from_utf8_lossy(&bytes);
    PrivateKey::parse(&text)
        .map_err(|e| CliError::usage(format!("--sign `{}`: {e}", path.display())))
}

/// For `fusion verify --checkpoint CP [--key PUB] [--origin O]`: checks
/// that the verified chain, whose Merkle tree is `tree`, extends the
/// checkpoint in `cp` (signed by the key
/// in `key`, if given; with origin `origin`, if given). Returns one line to
/// print.
// Called from `verify.rs` once `fusion verify` takes `--checkpoint`.
pub fn check_ledger(
    tree: &Tree,
    cp: &Path,
    key: Option<&Path>,
    origin: Option<&str>,
) -> Result<String, CliError> {
    let signed = load_checkpoint(cp)?;
    let key = key.map(load_public_key).transpose()?;
    let v = checkpoint::verify_tree(tree, &signed, key.as_ref(), origin).map_err(|e| {
        let mut err = checkpoint_error(e);
        err.message = format!("checkpoint `{}`: {}", cp.display(), err.message);
        err
    })?;
    let signature = match &v.signed_by {
        Some(label) => format!("signature by `{label}` ok"),
        None => "signature not checked (no --key)".to_string(),
    };
    Ok(format!(
        "ok: the ledger ({} records, root {}) extends checkpoint {}; {signature}",
        v.ledger_size,
        to_hex(&v.ledger_root),
        v.checkpoint.describe()
    ))
}
