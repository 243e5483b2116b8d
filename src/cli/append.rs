//! `fusion append`: validate events and add them to the ledger, all or
//! nothing.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use fusion::event::{Body, Event};
use fusion::fold::{Rule, ValidationError};
use fusion::lineage::closest_ids;
use fusion::store::{self, AppendOptions};

use super::progress::{self, Progress};
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
    let expect_head = match &args.expect_head {
        None => None,
        Some(h) => Some(fusion::record::hash_prefix(h).ok_or_else(|| {
            CliError::usage(format!(
                "--expect-head `{h}` is not a hash prefix: give 4 to 64 hex digits of the head hash (`fusion verify` prints it)"
            ))
        })?),
    };
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
        expect_head,
        no_wait: args.no_wait,
        recorded: ctx.recorded(),
        clock: ctx.clock(),
    };
    if !args.no_wait {
        progress::notice_wait(&path, ctx.global.quiet, progress::Lock::Append);
    }
    let progress = Progress::bytes(ctx.global.quiet, "verifying", progress::file_len(&path));
    let outcome = store::append_events(&path, &options, &|done| progress.set(done), &events)?;
    progress.done();
    let (appended, index) = outcome.map_err(|e| {
        let e = with_suggestion(&path, &events, e);
        // Where the event named starts in the input.
        let line = e
            .batch_index()
            .and_then(|i| fusion::event::batch_line(&text, i));
        match line {
            Some(line) => CliError::rejected(format!("{name}, line {line}: {e}")),
            None => CliError::rejected(format!("{name}: {e}")),
        }
    })?;
    // The sealer stamps the time asked for unless the last record's is
    // later (compared as instants): a different stamp means just that.
    if appended.first_seq <= appended.head_seq && appended.recorded != appended.asked {
        ctx.warn(format!(
            "warning: the ledger's last record was recorded at {}, after this machine's clock ({}); the new records carry that time too, since `recorded` never decreases (hint: check the clock, or how that record was written)",
            appended.recorded, appended.asked
        ));
    }
    if let Some(why) = &appended.journal_left {
        ctx.warn(format!(
            "warning: the events were appended and synced, but removing the append's journal failed ({why}); run `fusion repair`, which keeps them (or finds the journal already gone)"
        ));
    }
    if let store::IndexUse::Failed(why) = &index {
        let dir = fusion::index::dir_of(&path);
        // No append can rebuild an index where a file (not ours) sits.
        let next = if dir.exists() && !dir.is_dir() {
            format!(
                "`{}` is a file, not the index's directory: move it away, and the next append builds the index",
                dir.display()
            )
        } else {
            // The cause may last (a `HEAD` that is a directory, a file
            // this user may not remove): no promise that the next append
            // succeeds, only what it does.
            "until it is, each append reads the whole ledger and tries again".to_owned()
        };
        ctx.warn(format!(
            "warning: the events were appended, but the append index could not be updated ({why}); {next}"
        ));
    }
    ctx.out.line(format!(
        "appended {} event(s); head is now seq {} {}",
        appended.head_seq + 1 - appended.first_seq,
        appended.head_seq,
        appended.head_hash
    ))
}

/// An unknown id that no record brings into being is a typo most likely:
/// the hint then starts with the closest ids of its kind (organisations,
/// or programs, or either where an event may name either) that the ledger
/// or the batch brings into being. Only such a refusal pays for it: the
/// ledger is streamed again.
fn with_suggestion(path: &Path, batch: &[Event], mut e: ValidationError) -> ValidationError {
    let index = e.batch_index();
    let (ValidationError::Rejected { rule, .. } | ValidationError::Breaks { rule, .. }) = &mut e
    else {
        return e;
    };
    if rule.rule != Rule::UnknownId {
        return e;
    }
    let Some(id) = rule.id.clone() else {
        return e;
    };
    // What the event names there: a program, an organisation, or either.
    let (orgs_wanted, programs_wanted) = match index.and_then(|i| batch.get(i)).map(|e| &e.body) {
        Some(Body::ProgramEnded { .. }) => (false, true),
        Some(Body::Figures { .. } | Body::Milestone { .. }) => (true, true),
        _ => (true, false),
    };
    let Some(mut created) = created_ids(path) else {
        return e;
    };
    if created.iter().any(|(known, _)| *known == id) {
        return e;
    }
    created.extend(batch.iter().flat_map(kinds_created));
    let candidates = (created.iter())
        .filter(|(_, program)| {
            if *program {
                programs_wanted
            } else {
                orgs_wanted
            }
        })
        .map(|(id, _)| id.as_str());
    let close = closest_ids(candidates, &id, 3);
    if close.is_empty() {
        return e;
    }
    let list: Vec<String> = close.iter().map(|s| format!("`{s}`")).collect();
    let guess = format!("did you mean {}?", list.join(", "));
    rule.hint = Some(match rule.hint.take() {
        Some(hint) => format!("{guess} Otherwise, {hint}"),
        None => guess,
    });
    e
}

/// The ids an event brings into being (a correction's replacement's
/// included), each with whether it is a program's.
fn kinds_created(event: &Event) -> Vec<(String, bool)> {
    let event = match &event.body {
        Body::Correction {
            replacement: Some(r),
            ..
        } => &**r,
        _ => event,
    };
    let program = matches!(event.body, Body::ProgramLaunched { .. });
    fusion::fold::creates(event)
        .into_iter()
        .map(|id| (id.to_owned(), program))
        .collect()
}

/// Every id the ledger brings into being, with whether it is a program's;
/// `None` when the ledger cannot be read whole.
fn created_ids(path: &Path) -> Option<BTreeSet<(String, bool)>> {
    let mut all = BTreeSet::new();
    super::each_event(path, kinds_created, |id| {
        all.insert(id);
    })
    .ok()?;
    Some(all)
}

fn read_input(input: Option<&PathBuf>) -> Result<(String, String), CliError> {
    match input {
        Some(p) if p.as_os_str() != "-" => {
            let name = p.display().to_string();
            let cannot = |e: std::io::Error| {
                let code = match e.kind() {
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory => {
                        super::exit::USAGE
                    }
                    _ => super::exit::IO,
                };
                CliError::new(code, format!("cannot read `{name}`: {e}"))
            };
            let file = std::fs::File::open(p).map_err(cannot)?;
            // The file's length, as `fs::read` takes it: room for it all.
            let size = file.metadata().map_or(0, |m| m.len());
            let room = usize::try_from(size).unwrap_or(0);
            let bytes = read_bounded(file, &name, room).map_err(|e| e.or_else(cannot))?;
            let text = utf8(&name, bytes)?;
            Ok((name, text))
        }
        _ => {
            let name = "<stdin>";
            let bytes = read_bounded(std::io::stdin(), name, 0).map_err(|e| {
                e.or_else(|e| CliError::new(super::exit::IO, format!("cannot read stdin: {e}")))
            })?;
            let text = utf8(name, bytes)?;
            Ok((name.to_owned(), text))
        }
    }
}

/// Why [`read_bounded`] stopped: a line too long (an error already
/// worded), or the reader's own error.
enum Unread {
    TooLong(CliError),
    Io(std::io::Error),
}

impl Unread {
    fn or_else(self, io: impl FnOnce(std::io::Error) -> CliError) -> CliError {
        match self {
            Unread::TooLong(e) => e,
            Unread::Io(e) => io(e),
        }
    }
}

/// Reads `reader` to its end (into room for `room` bytes at first), unless
/// a line runs past the longest a ledger line may be: then reading stops
/// there, so that endless input without a newline (`/dev/zero`) is refused
/// rather than held until memory runs out. (Several events on one line are
/// read as usual, within that length.)
fn read_bounded(mut reader: impl Read, name: &str, room: usize) -> Result<Vec<u8>, Unread> {
    let limit = fusion::record::MAX_LINE_BYTES;
    let mut bytes = Vec::with_capacity(room);
    // Where the line being read starts, and how many lines came before it.
    let (mut line_start, mut lines) = (0, 0);
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Unread::Io(e)),
        };
        let read = chunk.get(..n).unwrap_or_default();
        let at = bytes.len();
        bytes.extend_from_slice(read);
        let too_long = |line: usize| {
            Unread::TooLong(CliError::rejected(format!(
                "{name}: line {line} runs past {limit} bytes without a newline; a line of events is at most that long, as a ledger line is (hint: put each event on a line of its own; an event is at most {} bytes); reading stopped there",
                fusion::event::MAX_EVENT_BYTES
            )))
        };
        if let (Some(first), Some(last)) =
            (memchr::memchr(b'\n', read), memchr::memrchr(b'\n', read))
        {
            // The line this chunk ends (the lines it holds whole are
            // shorter than a chunk).
            if at + first - line_start > limit {
                return Err(too_long(lines + 1));
            }
            lines += memchr::memchr_iter(b'\n', read).count();
            line_start = at + last + 1;
        }
        if bytes.len() - line_start > limit {
            return Err(too_long(lines + 1));
        }
    }
}

/// Events are UTF-8 text; anything else is refused with its line.
fn utf8(name: &str, bytes: Vec<u8>) -> Result<String, CliError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        CliError::rejected(format!(
            "{name}: line {line}: not valid UTF-8 at byte {at}; events must be UTF-8 JSON"
        ))
    })
}
