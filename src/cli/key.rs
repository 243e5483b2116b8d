//! `fusion key generate`: make an Ed25519 key pair for signing checkpoints.

use std::io::Write;
use std::path::{Path, PathBuf};

use fusion::checkpoint::PrivateKey;

use super::checkpoint::checkpoint_error;
use super::{CliError, Context, exit};

/// Manage checkpoint signing keys.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    pub command: KeyCommand,
}

/// Key subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Generate an Ed25519 key pair: PREFIX.key (private, mode 0600) and
    /// PREFIX.pub (public, to hand to readers). Neither file may exist.
    Generate(GenerateArgs),
}

/// Arguments of `fusion key generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The key name, written in every signature line; use the ledger's
    /// origin (e.g. `fusion/auvergne-rhone-alpes`). No spaces or `+`.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Path prefix of the two files: PREFIX.key and PREFIX.pub.
    #[arg(long, value_name = "PREFIX")]
    pub out: PathBuf,
}

pub fn run(ctx: &mut Context, args: KeyArgs) -> Result<(), CliError> {
    match args.command {
        KeyCommand::Generate(g) => generate(ctx, g),
    }
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn generate(ctx: &mut Context, args: GenerateArgs) -> Result<(), CliError> {
    let key = PrivateKey::generate(&args.name).map_err(|e| {
        let mut err = checkpoint_error(e);
        err.message = format!("--name: {}", err.message);
        err
    })?;
    let private = with_suffix(&args.out, ".key");
    let public = with_suffix(&args.out, ".pub");
    for p in [&private, &public] {
        if p.exists() {
            return Err(CliError::usage(format!(
                "`{}` already exists; fusion never overwrites a key (choose another --out)",
                p.display()
            )));
        }
    }
    write_new(&private, &(key.to_secret_string() + "\n"), true)?;
    write_new(&public, &(key.public().to_string() + "\n"), false)?;
    ctx.out.line(format!(
        "wrote {} (private: keep it secret) and {} (public: give it to readers)",
        private.display(),
        public.display()
    ))?;
    ctx.out.line(key.public().to_string())
}

/// Creates a new file (never overwrites); `secret` files get mode 0600.
fn write_new(path: &Path, text: &str, secret: bool) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let io = |e: std::io::Error| {
        CliError::new(exit::IO, format!("cannot write `{}`: {e}", path.display()))
    };
    let mut f = options.open(path).map_err(io)?;
    let written = f
        .write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io)
        .and_then(|()| fusion::store::sync_dir(path).map_err(CliError::from));
    if written.is_err() {
        // Not a half-written key that a second run would refuse to replace.
        drop(f);
        let _ = std::fs::remove_file(path);
    }
    written
}
