//! `fusion log`: list records.

use fusion::event::short_hash;

use super::{CliError, Context};

/// List the ledger's records: seq, recorded, date, type, summary, short hash.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Only records that mention this organisation or program id (also
    /// inside plans and corrections).
    #[arg(long, value_name = "ID")]
    pub org: Option<String>,
    /// Only records of this event type (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only this seq range: `5..10`, `5..` or `..10` (inclusive), or one seq.
    #[arg(long, value_name = "RANGE")]
    pub seq: Option<String>,
    /// Output format: `text` (a table) or `json` (the records as stored).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(ctx: &mut Context, args: LogArgs) -> Result<(), CliError> {
    for t in &args.types {
        if !fusion::event::TYPE_NAMES.contains(&t.as_str()) {
            return Err(CliError::usage(format!(
                "--type `{t}` is not an event type; one of: {}",
                fusion::event::TYPE_NAMES.join(", ")
            )));
        }
    }
    let (lo, hi) = match &args.seq {
        Some(r) => parse_range(r)?,
        None => (1, u64::MAX),
    };
    let path = ctx.global.ledger.clone();
    let chain = fusion::store::load(&path, fusion::store::available_threads())?;
    // `--format json` prints the records as stored: read them back from the
    // file at their offsets (the loaded ledger keeps only typed events).
    let bytes = match args.format {
        Format::Json => fusion::store::read_bytes(&path)?,
        Format::Text => Vec::new(),
    };
    for (index, entry) in chain.entries.iter().enumerate() {
        if entry.seq < lo || entry.seq > hi {
            continue;
        }
        if !args.types.is_empty() && !args.types.iter().any(|t| t == entry.event.type_name()) {
            continue;
        }
        if let Some(org) = &args.org
            && !entry.event.mentioned_ids().contains(&org.as_str())
        {
            continue;
        }
        match args.format {
            Format::Json => {
                let line = chain.line_range(index).and_then(|r| bytes.get(r));
                let record = fusion::store::parse_stored(&path, line.unwrap_or_default(), index)?;
                ctx.out.line(record.to_line())?
            }
            Format::Text => ctx.out.line(format!(
                "{:>5}  {}  {:<12}  {:<16}  {}  {}",
                entry.seq,
                entry.recorded,
                entry.event.date.as_str(),
                entry.event.type_name(),
                entry.event.summary(),
                short_hash(&entry.hash)
            ))?,
        }
    }
    Ok(())
}

fn parse_range(text: &str) -> Result<(u64, u64), CliError> {
    let bad = || {
        CliError::usage(format!(
            "--seq `{text}` is not a seq range; use 5..10, 5.., ..10 or 7"
        ))
    };
    let num = |s: &str, default: u64| -> Result<u64, CliError> {
        if s.is_empty() {
            Ok(default)
        } else {
            s.parse().map_err(|_| bad())
        }
    };
    match text.split_once("..") {
        Some((a, b)) => Ok((num(a, 1)?, num(b, u64::MAX)?)),
        None => {
            let n = num(text, 0).and_then(|n| if n == 0 { Err(bad()) } else { Ok(n) })?;
            Ok((n, n))
        }
    }
}
