//! Progress bars on stderr for long work (`verify`, `append`, `replay`,
//! `diff`, `gen`).
//!
//! A bar is drawn only when stderr is a terminal and `--quiet` is not given,
//! and only once the work has run for [`DELAY`]: quick commands never flash
//! a bar. It is cleared before the command prints anything, on success and on
//! error alike (when the [`Progress`] is dropped), so it never mixes with
//! output. Loading reports bytes verified against the file's size; `gen`
//! reports records written; phases without a measure of their own (the fold
//! of `replay`, the validation of `append`) show a spinner.
//!
//! The library does no terminal I/O: it reports through callbacks
//! (`store::load_with_progress`, `store::append_events`, the sink of
//! `generator::generate`), and this module turns them into a bar.

use std::io::{IsTerminal, Write as _};
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use fusion::chain::Ledger;
use fusion::store::{self, StoreError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long work runs before its bar appears.
pub const DELAY: Duration = Duration::from_secs(1);

/// How often a visible bar is redrawn even without news (spinners move).
const TICK: Duration = Duration::from_millis(120);

/// Whether bars may be drawn at all: stderr is a terminal and the user did
/// not ask for quiet.
pub fn wanted(quiet: bool, stderr_is_terminal: bool) -> bool {
    !quiet && stderr_is_terminal
}

/// A progress bar that appears after [`DELAY`], or nothing at all.
pub struct Progress {
    inner: Option<Inner>,
}

struct Inner {
    bar: ProgressBar,
    /// Dropped to tell the reveal thread that the work is over.
    stop: Option<Sender<()>>,
    reveal: Option<JoinHandle<()>>,
}

impl Progress {
    /// A bar over `total` bytes (a ledger being read and verified).
    pub fn bytes(quiet: bool, what: &'static str, total: u64) -> Progress {
        Progress::start(
            wanted(quiet, std::io::stderr().is_terminal()),
            what,
            Some(total),
            "{msg} [{wide_bar}] {bytes}/{total_bytes} eta {eta}",
        )
    }

    /// A bar over `total` records (records generated).
    pub fn records(quiet: bool, what: &'static str, total: u64) -> Progress {
        Progress::start(
            wanted(quiet, std::io::stderr().is_terminal()),
            what,
            Some(total),
            "{msg} [{wide_bar}] {human_pos}/{human_len} eta {eta}",
        )
    }

    /// Nothing is ever drawn.
    pub fn none() -> Progress {
        Progress { inner: None }
    }

    fn start(enabled: bool, what: &'static str, total: Option<u64>, template: &str) -> Progress {
        if !enabled {
            return Progress::none();
        }
        // Hidden until the reveal thread decides the work is long.
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what);
        let (stop, wait) = mpsc::channel::<()>();
        let shown = bar.clone();
        let reveal = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                if let Err(RecvTimeoutError::Timeout) = wait.recv_timeout(DELAY) {
                    shown.set_draw_target(ProgressDrawTarget::stderr());
                    shown.enable_steady_tick(TICK);
                }
            });
        match reveal {
            Ok(handle) => Progress {
                inner: Some(Inner {
                    bar,
                    stop: Some(stop),
                    reveal: Some(handle),
                }),
            },
            // No thread, no bar: progress is a nicety.
            Err(_) => Progress::none(),
        }
    }

    /// Sets how much is done (bytes or records, as the bar was made).
    pub fn set(&self, done: u64) {
        if let Some(inner) = &self.inner {
            inner.bar.set_position(done);
        }
    }

    /// Turns the bar into a spinner for a phase with no measure of its own.
    pub fn phase(&self, what: &'static str) {
        if let Some(inner) = &self.inner {
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                inner.bar.set_style(style);
            }
            inner.bar.unset_length();
            inner.bar.set_message(what);
        }
    }

    /// Prints `line` on stderr, above the bar when it is shown.
    pub fn note(&self, line: &str) {
        let line = super::output::printable(line);
        let print = || {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        };
        match &self.inner {
            Some(inner) => inner.bar.suspend(print),
            None => print(),
        }
    }

    /// Ends the work: the bar, if it was shown, is erased. Call it before
    /// printing; dropping the [`Progress`] does the same.
    pub fn done(self) {}
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Wake the reveal thread (it returns at once when the channel is
        // closed) and wait for it, so that it cannot draw after the clear.
        drop(self.stop.take());
        if let Some(handle) = self.reveal.take() {
            let _ = handle.join();
        }
        self.bar.finish_and_clear();
    }
}

/// Whether a command takes the ledger's lock to read or to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Shared: readers wait only for an append.
    Read,
    /// Exclusive: a repair waits for readers and appends.
    Write,
    /// Exclusive, as `Write`, for `append`, which also takes `--no-wait`.
    Append,
}

/// Says on stderr (unless `quiet`) that another process holds the lock of
/// the ledger at `path`, when one does: the command is about to wait for
/// it, which would otherwise look like a hang. A probe: the lock is taken
/// and released at once, the library taking it again for the work, so a
/// lock released meanwhile only makes the notice needless.
pub fn notice_wait(path: &Path, quiet: bool, lock: Lock) {
    if quiet {
        return;
    }
    let Ok(file) = std::fs::File::open(path) else {
        return;
    };
    let probe = match lock {
        Lock::Read => file.try_lock_shared(),
        Lock::Write | Lock::Append => file.try_lock(),
    };
    if let Err(std::fs::TryLockError::WouldBlock) = probe {
        let (who, hint) = match lock {
            Lock::Read => ("another process is appending to", ""),
            Lock::Write => ("another process is reading or appending to", ""),
            Lock::Append => (
                "another process is reading or appending to",
                "; `--no-wait` fails at once instead",
            ),
        };
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            super::output::printable(&format!(
                "waiting: {who} `{}` and holds its lock{hint}",
                path.display()
            ))
        );
    }
}

/// Loads the ledger at `path` with a bar over its bytes labelled `what`, and
/// returns the bar for the phases that follow.
pub fn load(
    path: &Path,
    quiet: bool,
    what: &'static str,
) -> Result<(Ledger, Progress), StoreError> {
    load_shared(path, quiet, what).map(|(_, ledger, bar)| (ledger, bar))
}

/// [`load`], keeping the ledger share-locked until the returned file is
/// dropped (see [`store::load_shared_with_progress`]).
pub fn load_shared(
    path: &Path,
    quiet: bool,
    what: &'static str,
) -> Result<(std::fs::File, Ledger, Progress), StoreError> {
    notice_wait(path, quiet, Lock::Read);
    let bar = Progress::bytes(quiet, what, file_len(path));
    let (file, ledger) =
        store::load_shared_with_progress(path, store::available_threads(), &|done| {
            bar.set(done);
        })?;
    Ok((file, ledger, bar))
}

/// [`load`] keeping the ledger lean, for a streaming replay
/// ([`fusion::stream::Scan::read`]).
pub fn scan(
    path: &Path,
    quiet: bool,
    what: &'static str,
) -> Result<(fusion::stream::Scan, Progress), StoreError> {
    scan_with(path, quiet, what, fusion::stream::Scan::read)
}

/// [`scan`] with another of the scan's readers (`Scan::read_changes`).
pub fn scan_with<S>(
    path: &Path,
    quiet: bool,
    what: &'static str,
    read: impl FnOnce(&Path, usize, &dyn Fn(u64)) -> Result<S, StoreError>,
) -> Result<(S, Progress), StoreError> {
    notice_wait(path, quiet, Lock::Read);
    let bar = Progress::bytes(quiet, what, file_len(path));
    let scan = read(path, store::available_threads(), &|done| bar.set(done))?;
    Ok((scan, bar))
}

/// [`load`] keeping only each record's hash and place, for the Merkle
/// tree (`store::read_leaves`); the bar is done.
pub fn leaves(path: &Path, quiet: bool, what: &'static str) -> Result<store::Leaves, StoreError> {
    scan_with(path, quiet, what, store::read_leaves).map(|(leaves, _)| leaves)
}

/// [`load`] without keeping the events (`store::check_with_progress`).
pub fn check(
    path: &Path,
    quiet: bool,
    what: &'static str,
) -> Result<(fusion::chain::Checked, Progress), StoreError> {
    notice_wait(path, quiet, Lock::Read);
    let bar = Progress::bytes(quiet, what, file_len(path));
    let checked = store::check_with_progress(path, store::available_threads(), &|done| {
        bar.set(done);
    })?;
    Ok((checked, bar))
}

/// The size of the file at `path` for a bar's length (0 if unknown).
pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_only_on_a_terminal_and_never_when_quiet() {
        assert!(wanted(false, true));
        assert!(!wanted(true, true));
        assert!(!wanted(false, false));
        assert!(!wanted(true, false));
    }

    #[test]
    fn a_disabled_bar_is_nothing() {
        let p = Progress::start(false, "verifying", Some(10), "{msg}");
        assert!(p.inner.is_none());
        p.set(5);
        p.phase("folding");
        p.done();
    }

    #[test]
    fn finishing_a_bar_ends_it_and_records_its_position() {
        // Given an enabled bar that has made progress
        let p = Progress::start(true, "verifying", Some(100), "{msg} {pos}");
        let bar = p.inner.as_ref().map(|i| i.bar.clone()).expect("enabled");
        p.set(40);
        assert_eq!(bar.position(), 40);
        p.phase("folding");
        // When it is done, then it is finished (and cleared)
        p.done();
        assert!(bar.is_finished());
    }
}
