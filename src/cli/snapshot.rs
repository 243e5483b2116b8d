//! `fusion snapshot`: write a replay view into the snapshots directory.

use fusion::store;
use fusion::view::ViewOptions;

use super::{CliError, Context};

/// Write the view on a date into the snapshots directory, as JSON and as
/// text.
///
/// The file (`<DATE>.json`, or `<DATE>@<SEQ>.json` when not folded at the
/// head) is bound to the ledger position it was folded from (seq and hash)
/// and carries a hash of its own content; beside it, the same name ending
/// in `.txt` holds the view as `fusion replay` prints it in text, sealed by
/// the JSON file. `fusion verify` re-derives both. Two snapshots written
/// into one directory at once take turns (a lock of the directory).
#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// The date: any EDTF precision, read as the last day of its period.
    #[arg(long, value_name = "DATE")]
    pub as_of: String,
    /// The state of knowledge: a seq (`42`, or `seq:42`; `0` for nothing),
    /// a hash prefix of at least 4 hex digits (`hash:0123` when it is all
    /// digits), an RFC 3339 time (the last record recorded by then), or a
    /// day or month (its end, UTC).
    /// Default: the head.
    #[arg(long, value_name = "POS")]
    pub known_at: Option<String>,
}

pub fn run(ctx: &mut Context, args: SnapshotArgs) -> Result<(), CliError> {
    let as_of = super::parse_as_of("--as-of", &args.as_of)?;
    // Checked first: the fold is the long part.
    let dir = ctx.global.snapshots.clone();
    super::check_snapshots_dir(&dir)?;
    let path = ctx.global.ledger.clone();
    // The ledger is streamed, as by `replay`, and the view's JSON written
    // into the file as it is built (`fusion::snapshot::write`): neither the
    // ledger nor the view is held.
    let (scan, progress) = super::progress::scan(&path, ctx.global.quiet, "loading")?;
    let known_at = super::known_at(&scan, args.known_at.as_deref())?;
    let (ledger, head) = (scan.ledger_id(), scan.len() as u64);
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).map_err(|e| {
            CliError::new(
                super::exit::IO,
                format!("cannot create `{}`: {e}", dir.display()),
            )
        })?;
        fusion::store::sync_dir(&dir)?;
    }
    progress.phase("replaying");
    let threads = store::available_threads();
    let quiet = ctx.global.quiet;
    let written =
        scan.replay_to(as_of, known_at, ViewOptions::default(), threads, |v| {
            let (as_of, known) = (v.as_of_text(), v.known_at());
            let file = dir.join(fusion::snapshot::file_name(&as_of, known.seq, head));
            // Held until both files are written: another `fusion snapshot`
            // into this directory waits, so that the check for another
            // ledger's file and the two writes are one step.
            let _turn = take_turn(&dir, quiet, &progress)?;
            if let Some(other) = other_ledgers(&file, &ledger) {
                return Err(CliError::usage(format!(
                    "`{}` is a snapshot of another ledger (its first record's hash is {}…); fusion never replaces one (hint: give each ledger a snapshots directory of its own, with --snapshots DIR or FUSION_SNAPSHOTS)",
                    file.display(),
                    fusion::event::short_hash(&other)
                )));
            }
            // The text first: the JSON file seals it by its hash.
            let text_file = fusion::snapshot::text_path(&file);
            let mut text_sha256 = String::new();
            store::write_atomic_with(&text_file, |out| {
                let buffered = std::io::BufWriter::with_capacity(1 << 20, out);
                let mut hashing = fusion::snapshot::HashingWriter::new(buffered);
                v.write_text(&mut hashing, threads)?;
                let (sha256, mut buffered) = hashing.finish();
                std::io::Write::flush(&mut buffered)?;
                text_sha256 = sha256;
                Ok(())
            })?;
            store::write_atomic_with(&file, |out| {
                fusion::snapshot::write(out, &ledger, &as_of, &known, &text_sha256, |view| {
                    v.write_json(view, threads)
                })
            })
            .map(|()| (file, text_file, as_of, known))
            .map_err(CliError::from)
        })??;
    let (file, text_file, as_of, known) = written;
    progress.done();
    ctx.out.line(format!(
        "wrote {} (as of {}, known at seq {} {}) and its text, {}",
        file.display(),
        as_of,
        known.seq,
        fusion::event::short_hash(&known.hash),
        text_file.display()
    ))
}

/// Takes the snapshots directory's lock: an exclusive lock (`flock`) of
/// the directory itself, released when the returned handle is dropped (or
/// the process ends). Two `fusion snapshot` writing into one directory take
/// turns, so that neither replaces a file the other has just checked, nor
/// leaves its JSON file beside the other's text file. Says so on stderr
/// (unless `quiet`) when it has to wait. Readers take no lock: each file is
/// replaced whole, and a JSON file checks its text file by hash.
fn take_turn(
    dir: &std::path::Path,
    quiet: bool,
    progress: &super::progress::Progress,
) -> Result<std::fs::File, CliError> {
    let io = |e: std::io::Error| {
        CliError::new(
            super::exit::IO,
            format!(
                "cannot lock the snapshots directory `{}`: {e}",
                dir.display()
            ),
        )
    };
    let handle = std::fs::File::open(dir).map_err(io)?;
    match handle.try_lock() {
        Ok(()) => return Ok(handle),
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        Err(std::fs::TryLockError::WouldBlock) => {}
    }
    if !quiet {
        progress.note(&format!(
            "waiting: another `fusion snapshot` is writing into `{}` and holds its lock",
            dir.display()
        ));
    }
    handle.lock().map_err(io)?;
    Ok(handle)
}

/// The ledger a snapshot file already at `file` was made from, when it is
/// one and not `ours` (read from its first line only). A file that is no
/// snapshot, or that cannot be read, is for the write to replace or to fail
/// on.
fn other_ledgers(file: &std::path::Path, ours: &str) -> Option<String> {
    let mut line = Vec::new();
    // A header is a few hundred bytes: no need to read a long line whole.
    let head = std::io::Read::take(std::fs::File::open(file).ok()?, 64 << 10);
    std::io::BufRead::read_until(&mut std::io::BufReader::new(head), b'\n', &mut line).ok()?;
    fusion::snapshot::ledger_named(&line).filter(|named| named != ours)
}

/// Checks every snapshot file in the directory against the ledger; returns
/// each file's status, in file name order. Only regular `*.json` files
/// directly inside the directory are read: no symlink, no subdirectory, so
/// nothing outside it is ever opened. Each file is read as a stream
/// ([`fusion::snapshot::check_file`]), not held.
pub fn check_all<L>(
    dir: &std::path::Path,
    ledger: &L,
) -> Result<Vec<(std::path::PathBuf, fusion::snapshot::Status)>, CliError>
where
    L: fusion::snapshot::Ledger + ?Sized,
    fusion::snapshot::CheckError: From<L::Error>,
{
    snapshot_files(dir)
        .into_iter()
        .map(|file| {
            let (status, _) = fusion::snapshot::check_file(&file, ledger).map_err(|e| match e {
                fusion::snapshot::CheckError::Store(e) => CliError::from(e),
                e @ fusion::snapshot::CheckError::Io { .. } => {
                    CliError::new(super::exit::IO, e.to_string())
                }
            })?;
            Ok((file, status))
        })
        .collect()
}

/// The snapshot files [`check_all`] reads, sorted: regular `*.json` files
/// directly inside `dir` (none if it cannot be read).
pub fn snapshot_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = read
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}
