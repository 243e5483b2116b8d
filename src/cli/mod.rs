//! The command-line interface: one file per command, each with one clap
//! `XxxArgs` struct and one `run` function. Only this layer touches the
//! terminal, the clock and the environment; the library does neither.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use clap::{Parser, Subcommand};

pub mod exit;
mod output;
mod progress;

mod append;
mod checkpoint;
mod diff;
mod export;
mod generate;
mod graph;
mod init;
mod key;
mod lineage;
mod log;
mod prove;
mod repair;
mod replay;
mod report;
mod snapshot;
mod verify;
mod verify_proof;

pub use exit::CliError;
pub use output::Output;

/// An event-sourced, tamper-evident ledger of how organisations are born,
/// merge, get labelled and launch programs, and the point-in-time views that
/// fall out of it.
#[derive(Debug, Parser)]
#[command(name = "fusion", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// The ledger file (JSON Lines).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "FUSION_LEDGER",
        default_value = "events/auvergne-rhone-alpes.jsonl",
        value_name = "PATH"
    )]
    pub ledger: PathBuf,
    /// The snapshots directory (`fusion snapshot` writes there, `verify`
    /// re-derives every snapshot in it).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "FUSION_SNAPSHOTS",
        default_value = "snapshots",
        value_name = "DIR"
    )]
    pub snapshots: PathBuf,
    /// No progress bars, no notice that the command waits for the ledger's
    /// lock (and no summary line from `report`).
    #[arg(long, short, global = true, help_heading = "Global options")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Replay(replay::ReplayArgs),
    Diff(diff::DiffArgs),
    Lineage(lineage::LineageArgs),
    Log(log::LogArgs),
    Init(init::InitArgs),
    Append(append::AppendArgs),
    Verify(verify::VerifyArgs),
    Repair(repair::RepairArgs),
    Snapshot(snapshot::SnapshotArgs),
    Checkpoint(checkpoint::CheckpointArgs),
    Key(key::KeyArgs),
    Prove(prove::ProveArgs),
    VerifyProof(verify_proof::VerifyProofArgs),
    Export(export::ExportArgs),
    Report(report::ReportArgs),
    Graph(graph::GraphArgs),
    #[command(name = "gen")]
    Gen(generate::GenArgs),
}

/// What a command needs from the outside world, fixed once in [`main`] so
/// that tests control it through the environment.
pub struct Context {
    /// Options every command takes.
    pub global: GlobalArgs,
    /// Now, for `recorded` (`FUSION_RECORDED` overrides it).
    pub now: DateTime<Utc>,
    /// Whether `now` was fixed by `FUSION_RECORDED` (else an append reads
    /// the clock again once it holds the ledger's lock: [`Context::clock`]).
    pub fixed_clock: bool,
    /// Today, for default `--as-of` dates (`FUSION_TODAY` overrides it).
    pub today: NaiveDate,
    /// Standard output, with broken pipes turned into a quiet stop.
    pub out: Output,
}

impl Context {
    /// `now` as stored in `recorded`: whole seconds, or the fraction
    /// `FUSION_RECORDED` gave (in 3, 6 or 9 digits, as `gen --recorded`
    /// writes it).
    pub fn recorded(&self) -> String {
        self.now.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    /// The clock an append reads once it holds the ledger's lock, unless
    /// `FUSION_RECORDED` fixed the time.
    pub fn clock(&self) -> Option<fn() -> String> {
        fn now() -> String {
            Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
        }
        (!self.fixed_clock).then_some(now as fn() -> String)
    }

    /// A line on stderr (a warning, a `--verbose` note): the command goes on;
    /// a closed stderr is ignored.
    pub fn warn(&self, text: impl AsRef<str>) {
        let _ = writeln!(io::stderr().lock(), "{}", output::printable(text.as_ref()));
    }
}

/// Parses the process arguments, runs the command and maps the outcome to an
/// exit code.
pub fn main() -> ExitCode {
    on_signal_remove_temporaries();
    let code = run(std::env::args_os().collect());
    ExitCode::from(code)
}

/// On Ctrl-C (SIGINT), SIGTERM or SIGHUP: removes the temporary files being
/// written (`gen`'s output, a snapshot, a report…; see
/// [`fusion::store::remove_temporaries`]), then dies of that signal as the
/// process would have without the handler, so that a shell sees it was
/// interrupted (status 130 for Ctrl-C) and a script's loop stops. An append
/// in progress stops as a `kill -9` would stop it: its journal is left for
/// `fusion repair`. Not in [`run`], which tests call many times in one
/// process. Elsewhere than on Unix, signals keep their default action.
#[cfg(unix)]
fn on_signal_remove_temporaries() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        // Signals keep their default action: nothing is cleaned up.
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                fusion::store::remove_temporaries();
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                // Not reached: the signal's default action ends the process.
                std::process::exit(128 + signal);
            }
        });
    drop(spawned);
}

#[cfg(not(unix))]
fn on_signal_remove_temporaries() {}

/// Runs fusion with these arguments; returns the exit code. Errors go to
/// stderr, output to stdout.
pub fn run(args: Vec<OsString>) -> u8 {
    let flags: Vec<String> = args
        .iter()
        .filter_map(|a| a.to_str())
        .filter(|a| a.starts_with("--"))
        .map(|a| a.split('=').next().unwrap_or(a).to_owned())
        .collect();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            if let Some(var) = empty_variable(&e, &flags) {
                let _ = writeln!(
                    io::stderr().lock(),
                    "error: {var} is set but empty; set it to a path, or unset it (`unset {var}`) for the default"
                );
                return exit::USAGE;
            }
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    match dispatch(cli) {
        Ok(()) => exit::OK,
        Err(e) if e.is_broken_pipe() => exit::OK,
        Err(e) => {
            let message = output::printable(&one_screen(&e.message)).into_owned();
            let _ = writeln!(io::stderr().lock(), "error: {message}");
            e.code
        }
    }
}

/// The variable (`FUSION_LEDGER`, `FUSION_SNAPSHOTS`) that clap's error `e`
/// is really about: set to nothing, which clap reads as its flag given no
/// value, when the flag itself is not among the `flags` given.
fn empty_variable(e: &clap::Error, flags: &[String]) -> Option<&'static str> {
    if e.kind() != clap::error::ErrorKind::InvalidValue {
        return None;
    }
    let message = e.to_string();
    [
        ("FUSION_LEDGER", "--ledger"),
        ("FUSION_SNAPSHOTS", "--snapshots"),
    ]
    .into_iter()
    .find(|(var, flag)| {
        std::env::var_os(var).is_some_and(|s| s.is_empty())
            && !flags.iter().any(|f| f == flag)
            && message.contains(&format!("'{flag} "))
    })
    .map(|(var, _)| var)
}

fn dispatch(cli: Cli) -> Result<(), CliError> {
    let fixed = clock("FUSION_RECORDED")?;
    let fixed_clock = fixed.is_some();
    let now = fixed.unwrap_or_else(Utc::now);
    let today = match std::env::var("FUSION_TODAY") {
        Ok(t) => NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|_| {
            CliError::usage(format!("FUSION_TODAY=`{t}` is not a date like 2017-06-01"))
        })?,
        Err(_) => now.date_naive(),
    };
    let mut ctx = Context {
        global: cli.global,
        now,
        fixed_clock,
        today,
        out: Output::stdout(),
    };
    let result = match cli.command {
        Command::Init(args) => init::run(&mut ctx, args),
        Command::Append(args) => append::run(&mut ctx, args),
        Command::Verify(args) => verify::run(&mut ctx, args),
        Command::Log(args) => log::run(&mut ctx, args),
        Command::Repair(args) => repair::run(&mut ctx, args),
        Command::Snapshot(args) => snapshot::run(&mut ctx, args),
        Command::Replay(args) => replay::run(&mut ctx, args),
        Command::Diff(args) => diff::run(&mut ctx, args),
        Command::Lineage(args) => lineage::run(&mut ctx, args),
        Command::Checkpoint(args) => checkpoint::run(&mut ctx, args),
        Command::Key(args) => key::run(&mut ctx, args),
        Command::Prove(args) => prove::run(&mut ctx, args),
        Command::VerifyProof(args) => verify_proof::run(&mut ctx, args),
        Command::Gen(args) => generate::run(&mut ctx, args),
        Command::Export(args) => export::run(&mut ctx, args),
        Command::Report(args) => report::run(&mut ctx, args),
        Command::Graph(args) => graph::run(&mut ctx, args),
    };
    result.and_then(|()| ctx.out.flush())
}

/// Keeps an error to one screen: at most 20 lines of at most 1000 characters.
/// Input quoted in a message can be arbitrarily long (a 1 MB date).
fn one_screen(message: &str) -> String {
    const WIDTH: usize = 1000;
    const LINES: usize = 20;
    let mut out: Vec<String> = message
        .lines()
        .take(LINES)
        .map(|l| {
            let n = l.chars().count();
            if n > WIDTH {
                let kept: String = l.chars().take(WIDTH).collect();
                format!("{kept}… ({} more characters)", n - WIDTH)
            } else {
                l.to_owned()
            }
        })
        .collect();
    let total = message.lines().count();
    if total > LINES {
        out.push(format!("… ({} more lines)", total - LINES));
    }
    out.join("\n")
}

/// Reads an RFC 3339 time from an environment variable, if set.
fn clock(var: &str) -> Result<Option<DateTime<Utc>>, CliError> {
    match std::env::var(var) {
        Ok(t) => DateTime::parse_from_rfc3339(&t)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| {
                CliError::usage(format!(
                    "{var}=`{t}` is not an RFC 3339 time like 2016-07-15T12:00:00Z"
                ))
            }),
        Err(_) => Ok(None),
    }
}

/// Refuses a snapshots path that exists and is not a directory: `snapshot`
/// could not write there, and `verify` would check no snapshot without a
/// word (a typo in a CI script).
/// Streams the ledger at `path`, verified, on every core and with no bar:
/// `of` makes something of each record's event, and `sink` gets those in
/// seq order. For a second, quiet pass that looks for ids.
pub(crate) fn each_event<T: Send>(
    path: &std::path::Path,
    of: impl Fn(&fusion::event::Event) -> Vec<T> + Sync,
    mut sink: impl FnMut(T),
) -> Result<(), fusion::store::StoreError> {
    fusion::store::scan_with_progress(
        path,
        fusion::store::available_threads(),
        &|_| {},
        |_: fusion::chain::Glance<'_>| None,
        |event| of(&event),
        |s: fusion::chain::Scanned<Vec<T>>| s.kept.into_iter().for_each(&mut sink),
    )
    .map(|_| ())
}

/// The ids the ledger gives `text` as a name ([`fusion::event::Event::names_given`],
/// compared by [`fusion::event::loose`]), for a command given a name where
/// it takes an id: empty if there are none, or the ledger cannot be read
/// again.
pub(crate) fn ids_named(path: &std::path::Path, text: &str) -> Vec<String> {
    let wanted = fusion::event::loose(text);
    let mut ids = std::collections::BTreeSet::new();
    let read = each_event(
        path,
        |event| {
            (event.names_given().into_iter())
                .filter(|(_, name)| fusion::event::loose(name) == wanted)
                .map(|(id, _)| id.to_owned())
                .collect()
        },
        |id| {
            ids.insert(id);
        },
    );
    match read {
        Ok(()) => ids.into_iter().collect(),
        Err(_) => Vec::new(),
    }
}

/// The hint for `text`, given where an id is wanted, when it is the name
/// of the organisations `ids` (none: no hint).
pub(crate) fn named_hint(text: &str, ids: &[String], command: &str) -> Option<String> {
    let (first, rest) = ids.split_first()?;
    let list: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
    let whose = if rest.is_empty() {
        format!("the name of {}", list.join(", "))
    } else {
        format!("a name of {}", list.join(", "))
    };
    // Quoted as JSON: a name may hold quotes and control characters.
    let quoted = serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""));
    Some(format!(
        "{quoted} is {whose}; ids, not names, are asked for here: `{command} {first}`"
    ))
}

pub fn check_snapshots_dir(dir: &std::path::Path) -> Result<(), CliError> {
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::usage(format!(
            "--snapshots `{}` is not a directory (hint: snapshots are files in a directory of their own, `snapshots/` by default)",
            dir.display()
        )));
    }
    Ok(())
}

/// Writes a whole output file atomically, refusing to replace the ledger or
/// its journal (`--out` naming the ledger by mistake).
pub fn write_output(ctx: &Context, out: &std::path::Path, bytes: &[u8]) -> Result<(), CliError> {
    let real = |p: &std::path::Path| std::fs::canonicalize(p).ok();
    let ledger = real(&ctx.global.ledger);
    let journal = Some(fusion::store::journal_path(&ctx.global.ledger));
    let target = real(out);
    if target.is_some() && (target == ledger || target == journal) {
        return Err(CliError::usage(format!(
            "--out `{}` is the ledger (or its journal); fusion never overwrites a ledger — choose another file",
            out.display()
        )));
    }
    // Nor any other ledger, nor a private key (0600, not to be lost to a
    // report written over it by a slip of the shell's completion).
    let mut start = Vec::with_capacity(16);
    if let Ok(f) = std::fs::File::open(out) {
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(f, 16), &mut start);
    }
    let what = if start.starts_with(b"PRIVATE+KEY+") {
        Some("a private key")
    } else if start.starts_with(br#"{"v":1,"seq":"#) {
        Some("a ledger")
    } else {
        None
    };
    if let Some(what) = what {
        return Err(CliError::usage(format!(
            "--out `{}` holds {what}; fusion never overwrites one — choose another file",
            out.display()
        )));
    }
    fusion::store::write_atomic(out, bytes)?;
    Ok(())
}

/// Resolves `--known-at` (a seq, hash prefix, time or day) against the
/// ledger, loaded or only scanned; `None` means the head.
pub fn known_at(
    records: &(impl fusion::view::Records + ?Sized),
    pos: Option<&str>,
) -> Result<u64, CliError> {
    match pos {
        Some(pos) => fusion::view::resolve_in(records, pos)
            .map_err(|e| CliError::usage(format!("--known-at: {e}"))),
        None => Ok(records.head()),
    }
}

/// Parses a date argument (`--as-of`, diff bounds): any EDTF level 0–1 date,
/// read as the last day of its period.
pub fn parse_as_of(flag: &str, text: &str) -> Result<NaiveDate, CliError> {
    parse_query(flag, text, fusion::date::as_of_day)
}

/// Parses a query date argument with `read` (the last or the first day of
/// its period).
pub fn parse_query(
    flag: &str,
    text: &str,
    read: fn(&str) -> Result<NaiveDate, fusion::date::DateError>,
) -> Result<NaiveDate, CliError> {
    read(text).map_err(|e| match e {
        // Its message carries its own hint.
        fusion::date::DateError::Qualified { .. } => CliError::usage(format!("{flag}: {e}")),
        _ => CliError::usage(format!(
            "{flag}: {e}; use a date such as 2017, 2016-09 or 2017-06-01"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn errors_are_cut_to_one_screen() {
        let long = format!("bad date `{}`", "2".repeat(1_000_000));
        let cut = one_screen(&long);
        assert!(cut.len() < 1100, "{}", cut.len());
        assert!(cut.ends_with("… (999011 more characters)"), "{cut}");
        let many = "x\n".repeat(100);
        assert_eq!(one_screen(&many).lines().count(), 21);
        assert_eq!(one_screen("short"), "short");
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
