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
    let chain = super::progress::load(&path, ctx.global.quiet, "loading")?.0;
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
                fusion::view::one_line(&entry.event.summary()),
                short_hash(&entry.hash)
            ))?,
        }
    }
    Ok(())
}

/// Parses `--seq`: `5..10`, `5..`, `..10` (inclusive) or one seq. Seqs
/// start at 1; a range must not run backwards. A range past the head is
/// fine (it lists what exists).
fn parse_range(text: &str) -> Result<(u64, u64), CliError> {
    let bad = |why: &str| {
        CliError::usage(format!(
            "--seq `{text}` {why}; use a range such as 5..10, 5.., ..10 or one seq such as 7 (seqs start at 1)"
        ))
    };
    let num = |s: &str, default: u64| -> Result<u64, CliError> {
        if s.is_empty() {
            return Ok(default);
        }
        match s.parse::<u64>() {
            Ok(0) => Err(bad("names seq 0, which no record has")),
            Ok(n) => Ok(n),
            Err(_) => Err(bad("is not a seq range")),
        }
    };
    match text.split_once("..") {
        Some((a, b)) => {
            let (lo, hi) = (num(a, 1)?, num(b, u64::MAX)?);
            if lo > hi {
                return Err(CliError::usage(format!(
                    "--seq `{text}` runs backwards ({lo} > {hi}); write the lower seq first: `{hi}..{lo}`"
                )));
            }
            Ok((lo, hi))
        }
        None if text.is_empty() => Err(bad("is not a seq range")),
        None => {
            let n = num(text, 0)?;
            Ok((n, n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_ranges_parse_and_bad_ones_are_usage_errors() {
        assert_eq!(parse_range("5..10").ok(), Some((5, 10)));
        assert_eq!(parse_range("5..").ok(), Some((5, u64::MAX)));
        assert_eq!(parse_range("..10").ok(), Some((1, 10)));
        assert_eq!(parse_range("7").ok(), Some((7, 7)));
        assert_eq!(parse_range("999").ok(), Some((999, 999)));
        for (bad, says) in [
            (
                "5..2",
                "runs backwards (5 > 2); write the lower seq first: `2..5`",
            ),
            ("0", "names seq 0, which no record has"),
            ("0..3", "names seq 0"),
            ("", "is not a seq range"),
            ("x..3", "is not a seq range"),
            ("-1", "is not a seq range"),
        ] {
            let e = parse_range(bad).expect_err(bad);
            assert_eq!(e.code, super::super::exit::USAGE, "{bad}");
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
    }
}
