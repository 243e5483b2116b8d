//! `fusion init`: create an empty ledger.

use super::{CliError, Context};

/// Create an empty ledger file. Refuses to touch an existing file.
#[derive(Debug, clap::Args)]
pub struct InitArgs {}

pub fn run(ctx: &mut Context, _args: InitArgs) -> Result<(), CliError> {
    let path = &ctx.global.ledger;
    fusion::store::init(path)?;
    ctx.out
        .line(format!("created empty ledger {}", path.display()))
}
