//! `fusion append`: validate events and add them to the ledger, all or
//! nothing.

use std::io::Read;
use std::path::PathBuf;

use fusion::store::{self, AppendOptions};

use super::{CliError, Context};

/// Append events: one JSON event, or JSON Lines, from a file or stdin.
///
/// Every event is checked for its shape and against the ledger's history,
/// backdated ones included; one bad event means nothing is written. Prints
/// the new head (seq and hash).
#[derive(Debug, clap::Args)]
pub struct AppendArgs {
    /// File holding the events; `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Refuse unless the ledger's head hash starts with this (at least 4 hex
    /// digits): optimistic concurrency.
    #[arg(long, value_name = "HASH")]
    pub expect_head: Option<String>,
    /// Fail at once (exit 6) if another process holds the ledger's lock,
    /// instead of waiting for it.
    #[arg(long)]
    pub no_wait: bool,
}

pub fn run(ctx: &mut Context, args: AppendArgs) -> Result<(), CliError> {
    let (name, text) = read_input(args.input.as_ref())?;
    let events = fusion::event::parse_batch(&text)
        .map_err(|e| CliError::rejected(format!("{name}: {e}")))?;
    if events.is_empty() {
        return Err(CliError::rejected(format!(
            "{name}: no event found; expected one JSON event or JSON Lines"
        )));
    }
    let path = ctx.global.ledger.clone();
    let options = AppendOptions {
        expect_head: args.expect_head,
        no_wait: args.no_wait,
        recorded: ctx.recorded(),
    };
    let outcome = store::append(&path, &options, |chain, first_seq| {
        let history = store::entries(&path, chain).map_err(CliError::from)?;
        fusion::fold::validate(&history, &events, first_seq)
            .map_err(|e| CliError::rejected(format!("{name}: {e}")))?;
        Ok::<Vec<serde_json::Value>, CliError>(
            events.iter().map(fusion::event::Event::to_json).collect(),
        )
    })?;
    let appended = outcome?;
    ctx.out.line(format!(
        "appended {} event(s); head is now seq {} {}",
        appended.head_seq + 1 - appended.first_seq,
        appended.head_seq,
        appended.head_hash
    ))
}

fn read_input(input: Option<&PathBuf>) -> Result<(String, String), CliError> {
    match input {
        Some(p) if p.as_os_str() != "-" => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                CliError::new(
                    if e.kind() == std::io::ErrorKind::NotFound {
                        super::exit::USAGE
                    } else {
                        super::exit::IO
                    },
                    format!("cannot read `{}`: {e}", p.display()),
                )
            })?;
            Ok((p.display().to_string(), text))
        }
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::new(super::exit::IO, format!("cannot read stdin: {e}")))?;
            Ok(("<stdin>".to_owned(), text))
        }
    }
}
