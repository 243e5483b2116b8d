//! Snapshots: a replay view written to a file, bound to the ledger position
//! it was folded from and sealed with a hash of its own content.
//!
//! A snapshot file (format version 3) is one JSON object laid out so that a
//! reader can take it apart without parsing the view: the first line holds
//! every member but the view, the rest is the view exactly as
//! `fusion replay --format json` prints it. Beside it, a text file of the
//! same name ending in `.txt` holds the view exactly as `fusion replay`
//! prints it in text, the default ([`text_path`]).
//!
//! ```text
//! {"format":"fusion-snapshot","v":3,"engine":"0.3.0","ledger":"<hash of record 1>","as_of":"2017-06-01","known_at":{"seq":60,"hash":"…"},"view_sha256":"…","text_sha256":"…","content_hash":"…",
//! "view": { …the replay JSON… }}
//! ```
//!
//! `view_sha256` is the SHA-256 of the view's bytes as stored;
//! `text_sha256` the SHA-256 of the text file's bytes; `content_hash` is
//! the SHA-256 of the RFC 8785 form of the first line's object without
//! `content_hash` (so it seals the view and the text through their hashes).
//! Version 2 files are version 3 files without `text_sha256` nor text file;
//! replay uses them, rendering text from the view. Version 1 files (the
//! whole object pretty-printed, sealed over its RFC 8785 form) are still
//! checked by `fusion verify`, never used by replay.
//!
//! A snapshot is valid for a ledger when `ledger` is that ledger's first
//! record hash, the ledger's record at `known_at.seq` has hash
//! `known_at.hash`, the content hash matches, and re-deriving the view gives
//! `view` again ([`check`], what `fusion verify` does).
//!
//! Replay uses one ([`lookup`]) without loading the ledger: only when it is
//! bound to the ledger's current head as read from the end of the file
//! ([`read_head`]), and its seal holds. That trusts the ledger up to the
//! head to be the one the snapshot was folded from: the head's hash commits
//! to every record before it, and `fusion snapshot` verified the whole chain
//! when it made the file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::{Entry, GENESIS_PREV, Record, canonical, sha256_hex};
use crate::store::{self, StoreError};
use crate::view::{self, KnownAt, View};

/// The `format` member of every snapshot.
pub const FORMAT: &str = "fusion-snapshot";

/// The format version [`build`] and [`write()`] write. Replay uses
/// versions 2 and 3: a version 2 file is a version 3 file without its text.
pub const VERSION: u64 = 3;

/// The `engine` member: the fusion version that folded the view. Replay
/// uses only snapshots of its own version, since another version may fold
/// or print differently.
pub const ENGINE: &str = env!("CARGO_PKG_VERSION");

/// What checking a snapshot against a ledger found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It matches: same binding, same content, same re-derived view.
    Valid,
    /// It was made from another ledger (different first record); ignored.
    OtherLedger,
    /// Not a snapshot file: bad JSON or missing members.
    Malformed(String),
    /// The content hash does not match: the file was edited.
    Edited,
    /// The ledger no longer has the record it is bound to: records were
    /// removed (the snapshot is ahead of the head) or rewritten since it was
    /// made. The text says which, and what to do.
    Stale(String),
    /// Binding and content hash hold, but re-deriving the view gives
    /// something else (forged with a recomputed hash, or an engine change):
    /// the `engine` the file names when it is not this fusion's.
    Differs(Option<String>),
    /// A version 3 snapshot whose text file is missing (or not a regular
    /// file), though it is bound to the ledger.
    TextMissing,
    /// A version 3 snapshot whose text file does not hash to its
    /// `text_sha256`: the text file was edited.
    TextEdited,
}

impl Status {
    /// Whether this status is a verification failure.
    pub fn is_failure(&self) -> bool {
        !matches!(self, Status::Valid | Status::OtherLedger)
    }

    /// A lowercase description for reports.
    pub fn describe(&self) -> String {
        match self {
            Status::Valid => "valid".into(),
            Status::OtherLedger => "skipped: made from another ledger".into(),
            Status::Malformed(why) => format!("not a snapshot: {why}"),
            Status::Edited => "edited: its content hash does not match its content".into(),
            Status::Stale(why) => format!("stale: {why}"),
            Status::Differs(None) => {
                "differs: re-deriving the view from the ledger gives a different result".into()
            }
            Status::Differs(Some(engine)) => format!(
                "differs: re-deriving the view from the ledger gives a different result; it was made by fusion {engine}, this is {ENGINE}, whose view differs (hint: re-create it with `fusion snapshot` to use it again)"
            ),
            Status::TextMissing => {
                "edited: its text file (the same name ending in `.txt`) is missing, or not a regular file; re-create the snapshot with `fusion snapshot`".into()
            }
            Status::TextEdited => {
                "edited: its text file (the same name ending in `.txt`) does not match its `text_sha256`".into()
            }
        }
    }
}

/// The identity of a ledger: its first record's hash (64 zeros if empty).
pub fn ledger_id(entries: &[Entry]) -> &str {
    entries.first().map_or(GENESIS_PREV, |e| e.hash.as_str())
}

/// The file name of a snapshot: `<as_of>.json` when folded at the head,
/// `<as_of>@<seq>.json` otherwise.
pub fn file_name(as_of: &str, seq: u64, head: u64) -> String {
    if seq == head {
        format!("{as_of}.json")
    } else {
        format!("{as_of}@{seq}.json")
    }
}

/// The text file beside the snapshot file `json`: the same name, ending in
/// `.txt` rather than `.json`.
pub fn text_path(json: &Path) -> PathBuf {
    json.with_extension("txt")
}

/// The first line of a version 2 or 3 snapshot: every member but the view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)] // an unsealed member would go unnoticed
struct Header {
    format: String,
    v: u64,
    engine: String,
    ledger: String,
    as_of: String,
    known_at: KnownAt,
    view_sha256: String,
    // Present means a string: `null` is no way to leave it out unsealed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    text_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_hash: Option<String>,
}

/// A member that is there: a string, never `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

impl Header {
    /// Whether this is the header of a version 2 file (no `text_sha256`)
    /// or of a version 3 one (with it).
    fn laid_out(&self) -> bool {
        self.format == FORMAT
            && match self.v {
                2 => self.text_sha256.is_none(),
                VERSION => self.text_sha256.is_some(),
                _ => false,
            }
    }

    /// The seal: the hash of the RFC 8785 form without `content_hash`.
    fn seal(&self) -> String {
        let unsealed = Header {
            content_hash: None,
            ..self.clone()
        };
        let value = serde_json::to_value(&unsealed).unwrap_or(Value::Null);
        sha256_hex(&canonical(&value))
    }
}

/// What comes between the header line and the view.
const VIEW_KEY: &[u8] = b"\"view\": ";
/// What ends the file after the view.
const END: &[u8] = b"}\n";

/// Builds a snapshot of `view` for the ledger `entries`; returns the file
/// name (see [`file_name`]), the bytes to write, and the text to write
/// beside it ([`text_path`]).
pub fn build(entries: &[Entry], view: &View) -> (String, Vec<u8>, String) {
    let head = entries.last().map_or(0, |e| e.seq);
    let json = view::render_json(view);
    let json = json.strip_suffix('\n').unwrap_or(&json);
    let text = view::render_text(view);
    let parts = Parts::new(
        ledger_id(entries),
        head,
        &view.as_of,
        &view.known_at,
        json.as_bytes(),
        Some(sha256_hex(text.as_bytes())),
    );
    let bytes = parts.slices().concat();
    (parts.name, bytes, text)
}

/// A snapshot file as three pieces written one after the other (see
/// [`store::write_atomic_parts`]), for a view whose JSON is held. `fusion
/// snapshot` writes the same bytes without holding it ([`write()`]).
#[derive(Debug)]
pub struct Parts<'a> {
    /// The file name (see [`file_name`]).
    pub name: String,
    /// The header line and the view's key.
    head: Vec<u8>,
    /// The view's JSON.
    json: &'a [u8],
}

impl<'a> Parts<'a> {
    /// The snapshot of the view whose JSON, as [`view::render_json`]
    /// writes it without its final newline, is `json`, with its `as_of`
    /// and `known_at`, for the ledger `ledger` ([`ledger_id`]) whose head
    /// is seq `head`: of version 3 when `text_sha256` is the SHA-256 of its
    /// text file, of version 2 when it is `None`.
    pub fn new(
        ledger: &str,
        head: u64,
        as_of: &str,
        known_at: &KnownAt,
        json: &'a [u8],
        text_sha256: Option<String>,
    ) -> Self {
        Parts {
            name: file_name(as_of, known_at.seq, head),
            head: header_bytes(ledger, as_of, known_at, sha256_hex(json), text_sha256),
            json,
        }
    }

    /// The file's bytes, in order.
    pub fn slices(&self) -> [&[u8]; 3] {
        [&self.head, self.json, END]
    }
}

/// The header line and the view's key: what comes before the view. Of
/// version 3 with a text file's hash, of version 2 without.
fn header_bytes(
    ledger: &str,
    as_of: &str,
    known_at: &KnownAt,
    view_sha256: String,
    text_sha256: Option<String>,
) -> Vec<u8> {
    let mut header = Header {
        format: FORMAT.into(),
        v: if text_sha256.is_some() { VERSION } else { 2 },
        engine: ENGINE.into(),
        ledger: ledger.into(),
        as_of: as_of.into(),
        known_at: known_at.clone(),
        view_sha256,
        text_sha256,
        content_hash: None,
    };
    header.content_hash = Some(header.seal());
    // Serialising plain strings and numbers cannot fail.
    let mut line = serde_json::to_string(&header).unwrap_or_default();
    line.pop(); // the closing brace: the view follows on the next line
    let mut bytes = Vec::with_capacity(line.len() + 16);
    bytes.extend_from_slice(line.as_bytes());
    bytes.extend_from_slice(b",\n");
    bytes.extend_from_slice(VIEW_KEY);
    bytes
}

/// Writes a version 3 snapshot into `out` from its start, the bytes
/// [`Parts::new`] lays out, without holding the view: `text_sha256` is the
/// SHA-256 of its text file, written before ([`HashingWriter`]);
/// `write_view` writes
/// the view's JSON as [`view::ViewSource::write_json`] does, final newline
/// included (the file does not store it), and it goes to `out` as it is
/// written. The header line is written first with 64 zeros for the view's
/// hash, then written again over itself once the hash is known: it is as
/// long either way, every hash being 64 hex digits.
pub fn write<F: Write + Seek>(
    out: &mut F,
    ledger: &str,
    as_of: &str,
    known_at: &KnownAt,
    text_sha256: &str,
    write_view: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let text_sha256 = Some(text_sha256.to_owned());
    let placeholder = header_bytes(ledger, as_of, known_at, "0".repeat(64), text_sha256.clone());
    let start = out.stream_position()?;
    out.write_all(&placeholder)?;
    let mut view = ViewWriter::new(std::io::BufWriter::with_capacity(1 << 20, &mut *out));
    write_view(&mut view)?;
    let (view_sha256, mut buffered) = view.finish();
    buffered.write_all(END)?;
    buffered.flush()?;
    drop(buffered);
    let header = header_bytes(ledger, as_of, known_at, view_sha256, text_sha256);
    if header.len() != placeholder.len() {
        return Err(std::io::Error::other(
            "the snapshot's header changed length once sealed",
        ));
    }
    let end = out.stream_position()?;
    out.seek(SeekFrom::Start(start))?;
    out.write_all(&header)?;
    out.seek(SeekFrom::Start(end))?;
    Ok(())
}

/// Passes on what is written to it but its last byte (the view's final
/// newline, which a snapshot does not store) and hashes the same bytes: a
/// view's `view_sha256` as it is written ([`write()`]), or only computed
/// (over [`std::io::Sink`], as `fusion verify` re-derives a view).
#[derive(Debug)]
pub struct ViewWriter<W> {
    inner: HashingWriter<W>,
    last: Option<u8>,
}

impl<W: Write> ViewWriter<W> {
    /// A writer passing the view on to `inner`.
    pub fn new(inner: W) -> Self {
        ViewWriter {
            inner: HashingWriter::new(inner),
            last: None,
        }
    }

    /// The hash of the bytes passed on (every byte written but the last),
    /// and the inner writer.
    pub fn finish(self) -> (String, W) {
        self.inner.finish()
    }
}

impl<W: Write> Write for ViewWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some((&last, before)) = buf.split_last() {
            if let Some(held) = self.last {
                self.inner.write_all(&[held])?;
            }
            self.inner.write_all(before)?;
            self.last = Some(last);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Passes on everything written to it and hashes the same bytes: a text
/// file's `text_sha256` as it is written, or only computed (over
/// [`std::io::Sink`], as `fusion verify` re-derives a view).
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: sha2::Sha256,
}

impl<W: Write> HashingWriter<W> {
    /// A writer passing everything on to `inner`.
    pub fn new(inner: W) -> Self {
        use sha2::Digest;
        HashingWriter {
            inner,
            hasher: sha2::Sha256::new(),
        }
    }

    /// The hash of the bytes passed on, in hex, and the inner writer.
    pub fn finish(self) -> (String, W) {
        use sha2::Digest;
        (crate::record::hex(&self.hasher.finalize()), self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        // A writer never takes more than it was given.
        self.hasher.update(buf.get(..n).unwrap_or(buf));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Parses a header line (`{…,`, newline excluded).
fn parse_header(line: &[u8]) -> Option<Header> {
    let body = line.strip_suffix(b",")?;
    let mut text = Vec::with_capacity(body.len() + 1);
    text.extend_from_slice(body);
    text.push(b'}');
    serde_json::from_slice(&text).ok()
}

/// The ledger (its first record's hash) that a version 2 or 3 snapshot
/// says it was made from, read from its first line alone; `None` when the
/// line does not say (another version, a damaged file).
pub fn ledger_named(first_line: &[u8]) -> Option<String> {
    let line = first_line.strip_suffix(b"\n").unwrap_or(first_line);
    let header = parse_header(line)?;
    header.laid_out().then_some(header.ledger)
}

/// Takes a version 2 or 3 file apart: its header and the view's bytes.
fn split(bytes: &[u8]) -> Option<(Header, &[u8])> {
    let nl = bytes.iter().position(|b| *b == b'\n')?;
    let header = parse_header(bytes.get(..nl)?)?;
    let view = bytes
        .get(nl + 1..)?
        .strip_prefix(VIEW_KEY)?
        .strip_suffix(END)?;
    Some((header, view))
}

/// A parsed snapshot's binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The day the view shows.
    pub as_of: NaiveDate,
    /// The seq it was folded at.
    pub seq: u64,
}

/// What checking a snapshot needs of a ledger: its identity, its records'
/// hashes, and views re-derived from it. The loaded ledger (`[Entry]`) is
/// one; [`crate::stream::Views`], a verified ledger streamed and not held,
/// is another.
pub trait Ledger {
    /// Why a view could not be re-derived (the streamed ledger reads its
    /// records back from the file).
    type Error;

    /// The ledger's identity: its first record's hash ([`ledger_id`]).
    fn id(&self) -> String;

    /// The head's seq (0 for an empty ledger).
    fn head(&self) -> u64;

    /// The hash of the record at `seq` (from 1), if the ledger has one.
    fn hash_at(&self, seq: u64) -> Option<String>;

    /// The SHA-256, in hex, of the view on `as_of` known at `seq` as
    /// [`view::render_json`] writes it, without its final newline: what a
    /// version 2 or 3 snapshot's `view_sha256` seals; and, when `text` is
    /// true, of the same view as [`view::render_text`] writes it: what a
    /// version 3 snapshot's `text_sha256` seals. One fold gives both.
    fn view_sha256(
        &self,
        as_of: NaiveDate,
        seq: u64,
        text: bool,
    ) -> Result<(String, Option<String>), Self::Error>;

    /// The view on `as_of` known at `seq` as a JSON value (`None` if it
    /// cannot be one): what a version 1 snapshot holds.
    fn view_value(&self, as_of: NaiveDate, seq: u64) -> Result<Option<Value>, Self::Error>;
}

impl Ledger for [Entry] {
    type Error = std::convert::Infallible;

    fn id(&self) -> String {
        ledger_id(self).to_owned()
    }

    fn head(&self) -> u64 {
        self.last().map_or(0, |e| e.seq)
    }

    fn hash_at(&self, seq: u64) -> Option<String> {
        let i = usize::try_from(seq.checked_sub(1)?).ok()?;
        self.get(i).map(|e| e.hash.clone())
    }

    fn view_sha256(
        &self,
        as_of: NaiveDate,
        seq: u64,
        text: bool,
    ) -> Result<(String, Option<String>), Self::Error> {
        let v = view::replay(self, as_of, seq);
        let json = view::render_json(&v);
        let json = sha256_hex(json.strip_suffix('\n').unwrap_or(&json).as_bytes());
        let text = text.then(|| sha256_hex(view::render_text(&v).as_bytes()));
        Ok((json, text))
    }

    fn view_value(&self, as_of: NaiveDate, seq: u64) -> Result<Option<Value>, Self::Error> {
        Ok(serde_json::to_value(view::replay(self, as_of, seq)).ok())
    }
}

/// Checks a snapshot file's bytes against the ledger, with the bytes of the
/// text file beside it (`None` if there is none). Re-derives the view (a
/// full fold) unless `rederive` is false, in which case a snapshot whose
/// binding and content hash hold is taken as valid. [`check_file`] does the
/// same without holding the file, nor the ledger.
pub fn check(
    entries: &[Entry],
    bytes: &[u8],
    text: Option<&[u8]>,
    rederive: bool,
) -> (Status, Option<Binding>) {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return (Status::Malformed(format!("not JSON: {e}")), None),
    };
    let Value::Object(m) = value else {
        return (Status::Malformed("not a JSON object".into()), None);
    };
    let v2 = || {
        Ok::<_, std::convert::Infallible>(
            split(bytes).map(|(header, view)| (header, sha256_hex(view))),
        )
    };
    let text = || Ok(text.map(sha256_hex));
    match judge(m, entries, v2, text, rederive) {
        Ok(found) => found,
        Err(never) => match never {},
    }
}

/// Why [`check_file`] could not check a snapshot file.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The snapshot file cannot be read.
    #[error("cannot read `{path}`: {source}", path = .path.display())]
    Io {
        /// The snapshot file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The ledger could not re-derive the view.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<std::convert::Infallible> for CheckError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// [`check`] (re-deriving the view) of the snapshot file at `path`, with
/// its text file ([`text_path`]), read as a stream: a version 2 or 3 file
/// is not held whole, nor parsed into a tree, nor is its text file.
///
/// - A file whose first line is the header of a version 2 or 3 snapshot of
///   another ledger is [`Status::OtherLedger`], read no further (where
///   [`check`] would also look at the rest).
/// - A version 2 or 3 file of this ledger is hashed as it is read, its view
///   re-derived and hashed too; only if that does not find it valid is the
///   file read once more, as JSON, to tell a file that is not JSON
///   ([`Status::Malformed`]) from one that is, and to find members its
///   view's bytes add after the view, as [`check`] does.
/// - Any other file is checked as [`check`] checks it, its view read as
///   JSON and dropped as it is read. A version 1 file, sealed over the
///   RFC 8785 form of the whole object, is read whole; so is a file that
///   is not JSON, to word the error as [`check`] does.
///
/// Otherwise the status is the one [`check`] gives on the file's bytes.
pub fn check_file<L>(path: &Path, ledger: &L) -> Result<(Status, Option<Binding>), CheckError>
where
    L: Ledger + ?Sized,
    CheckError: From<L::Error>,
{
    let io = |source| CheckError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut first = Vec::new();
    // A header line is far shorter; a longer first line is no header.
    BufReader::new(&file)
        .take(MAX_HEADER_LINE)
        .read_until(b'\n', &mut first)
        .map_err(io)?;
    let header = first
        .strip_suffix(b"\n")
        .and_then(parse_header)
        .filter(Header::laid_out);
    let text_file = text_path(path);
    let text = || {
        hash_text(&text_file).map_err(|source| CheckError::Io {
            path: text_file.clone(),
            source,
        })
    };
    if let Some(header) = header {
        if header.ledger != ledger.id() {
            return Ok((Status::OtherLedger, None));
        }
        if let Some((laid_out, view_sha256)) = hash_parts(&mut file).map_err(io)? {
            // Judged by the header line's members: the file's, if it is
            // JSON and its view bytes add none. A view that re-derives to
            // the same hash is what replay prints, so then it is valid.
            let Ok(Value::Object(members)) = serde_json::to_value(&laid_out) else {
                return Ok((Status::Malformed("not a JSON object".into()), None));
            };
            let parts = Some((laid_out, view_sha256));
            let found = judge(members.clone(), ledger, || Ok(parts.clone()), text, true)?;
            if found.0 == Status::Valid {
                return Ok(found);
            }
            // Otherwise, read as `check` reads it: not JSON, or members
            // after the view (its bytes can close it and add some) that
            // decide otherwise.
            let mut m = match examine(&mut file).map_err(io)? {
                Err(malformed) => return Ok((malformed, None)),
                Ok(m) => m,
            };
            m.remove("view");
            if m == members {
                return Ok(found);
            }
        }
    }
    let mut m = match examine(&mut file).map_err(io)? {
        Err(malformed) => return Ok((malformed, None)),
        Ok(m) => m,
    };
    if m.get("v").and_then(Value::as_u64) == Some(1) {
        // Sealed over the whole object, view included: read whole.
        let bytes = std::fs::read(path).map_err(io)?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(whole)) => m = whole,
            Ok(_) => return Ok((Status::Malformed("not a JSON object".into()), None)),
            Err(e) => return Ok((Status::Malformed(format!("not JSON: {e}")), None)),
        }
    }
    let v2 = || hash_parts(&mut file).map_err(io);
    judge(m, ledger, v2, text, true)
}

/// The SHA-256 of the text file at `path`, read as a stream; `None` if
/// there is none, or it is not a regular file (a symlink is not followed).
fn hash_text(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut hashing = HashingWriter::new(std::io::sink());
    std::io::copy(&mut File::open(path)?, &mut hashing)?;
    Ok(Some(hashing.finish().0))
}

/// The longest first line [`check_file`] takes for a header.
const MAX_HEADER_LINE: u64 = 1 << 16;

/// Reads the file from its start as [`check`] parses its bytes, but
/// without keeping the view: its top-level members but `view` (kept as
/// `null`), or why it is [`Status::Malformed`]. The error is worded as
/// [`check`] words it: the file is then read again whole, since the
/// streaming reader counts some columns differently.
fn examine(file: &mut File) -> std::io::Result<Result<serde_json::Map<String, Value>, Status>> {
    file.seek(SeekFrom::Start(0))?;
    let streamed = serde_json::from_reader(BufReader::with_capacity(1 << 16, &*file));
    let error = match streamed {
        Ok(Top::Object(m)) => return Ok(Ok(m)),
        Ok(Top::Other) => return Ok(Err(Status::Malformed("not a JSON object".into()))),
        Err(e) if e.is_io() => return Err(e.into()),
        Err(e) => e,
    };
    file.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let why = match serde_json::from_slice::<Top>(&bytes) {
        Err(e) => e,
        Ok(_) => error,
    };
    Ok(Err(Status::Malformed(format!("not JSON: {why}"))))
}

/// What [`check`] and [`check_file`] decide once the file is known to be a
/// JSON object `m` (the view left out of it for a version 2 or 3 file):
/// `v2` gives a version 2 or 3 file's header and the SHA-256 of its view,
/// if it is laid out as one; `text` the SHA-256 of its text file, if there
/// is one.
fn judge<L, E>(
    mut m: serde_json::Map<String, Value>,
    ledger: &L,
    v2: impl FnOnce() -> Result<Option<(Header, String)>, E>,
    text: impl FnOnce() -> Result<Option<String>, E>,
    rederive: bool,
) -> Result<(Status, Option<Binding>), E>
where
    L: Ledger + ?Sized,
    E: From<L::Error>,
{
    if m.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Ok((
            Status::Malformed(format!("`format` is not `{FORMAT}`")),
            None,
        ));
    }
    if m.get("ledger").and_then(Value::as_str) != Some(ledger.id().as_str()) {
        return Ok((Status::OtherLedger, None));
    }
    let v2_view = match m.get("v").and_then(Value::as_u64) {
        Some(1) => None,
        Some(v @ (2 | VERSION)) => {
            let Some((header, view_sha256)) = v2()?.filter(|(h, _)| h.v == v) else {
                return Ok((
                    Status::Malformed(format!("not laid out as a version {v} snapshot")),
                    None,
                ));
            };
            if !header.laid_out() {
                let why = match v {
                    2 => "a version 2 snapshot has no `text_sha256`",
                    _ => "`text_sha256` is missing",
                };
                return Ok((Status::Malformed(why.into()), None));
            }
            if header.content_hash.as_deref() != Some(header.seal().as_str())
                || header.view_sha256 != view_sha256
            {
                return Ok((Status::Edited, None));
            }
            Some((view_sha256, header.text_sha256))
        }
        _ => return Ok((Status::Malformed("unknown version `v`".into()), None)),
    };
    let Some(Value::String(stored)) = m.remove("content_hash") else {
        return Ok((Status::Malformed("`content_hash` is missing".into()), None));
    };
    if v2_view.is_none() && sha256_hex(&canonical(&Value::Object(m.clone()))) != stored {
        return Ok((Status::Edited, None));
    }
    let seq = m
        .get("known_at")
        .and_then(|k| k.get("seq"))
        .and_then(Value::as_u64);
    let hash = m
        .get("known_at")
        .and_then(|k| k.get("hash"))
        .and_then(Value::as_str);
    let as_of = m
        .get("as_of")
        .and_then(Value::as_str)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let (Some(seq), Some(hash), Some(as_of)) = (seq, hash, as_of) else {
        return Ok((
            Status::Malformed("`known_at` or `as_of` is missing or malformed".into()),
            None,
        ));
    };
    let binding = Binding { as_of, seq };
    let bound = if seq == 0 {
        hash == GENESIS_PREV
    } else {
        ledger.hash_at(seq).is_some_and(|h| h == hash)
    };
    if !bound {
        let head = ledger.head();
        // Either way, records the ledger held when the snapshot was made
        // are gone or different: evidence to keep, unless that was meant.
        let why = if seq > head {
            format!(
                "bound to seq {seq}, beyond the ledger's head (seq {head}): records {}..={seq} were in the ledger when it was made, and are gone (cut short, or replaced by an older copy); restore the ledger from a backup, or, if they were dropped on purpose, re-create it with `fusion snapshot`",
                head + 1
            )
        } else {
            format!(
                "bound to seq {seq} with hash {hash}, which the ledger no longer has there: the ledger was rewritten since it was made; restore it from a backup, or, if the rewrite was deliberate (a rebuild), re-create it with `fusion snapshot`"
            )
        };
        return Ok((Status::Stale(why), Some(binding)));
    }
    // The text file after the binding: a stale snapshot is evidence of
    // records lost, whatever became of its text file.
    if let Some((_, Some(sealed))) = &v2_view {
        match text()? {
            None => return Ok((Status::TextMissing, Some(binding))),
            Some(found) if found != *sealed => return Ok((Status::TextEdited, Some(binding))),
            Some(_) => {}
        }
    }
    if rederive {
        let same = match v2_view {
            // Byte for byte: what replay would print (its hashes are the
            // stored view's and text's, checked above).
            Some((view, text)) => ledger.view_sha256(as_of, seq, text.is_some())? == (view, text),
            None => ledger.view_value(as_of, seq)?.as_ref() == m.get("view"),
        };
        if !same {
            let engine = (m.get("engine").and_then(Value::as_str))
                .filter(|e| *e != ENGINE)
                .map(str::to_owned);
            return Ok((Status::Differs(engine), Some(binding)));
        }
    }
    Ok((Status::Valid, Some(binding)))
}

/// A snapshot file's top level as [`check_file`] first reads it: an object
/// with every member but `view` kept (`view` read as JSON, and kept as
/// `null`), or anything else. Errors are those of reading a `Value`.
enum Top {
    Object(serde_json::Map<String, Value>),
    Other,
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> serde::de::Visitor<'de> for TopVisitor {
    type Value = Top;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut m = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = if key == "view" {
                map.next_value::<Discard>()?;
                Value::Null
            } else {
                map.next_value::<Value>()?
            };
            m.insert(key, value);
        }
        Ok(Top::Object(m))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Top, A::Error> {
        DiscardVisitor.visit_seq(seq).map(|_| Top::Other)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_str<E>(self, _: &str) -> Result<Top, E> {
        Ok(Top::Other)
    }

    fn visit_unit<E>(self) -> Result<Top, E> {
        Ok(Top::Other)
    }
}

/// Any JSON value, read as a `Value` would be (same checks, same errors)
/// and dropped as it is read.
struct Discard;

impl<'de> Deserialize<'de> for Discard {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DiscardVisitor)
    }
}

struct DiscardVisitor;

impl<'de> serde::de::Visitor<'de> for DiscardVisitor {
    type Value = Discard;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Discard, A::Error> {
        while map.next_key::<String>()?.is_some() {
            map.next_value::<Discard>()?;
        }
        Ok(Discard)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Discard, A::Error> {
        while seq.next_element::<Discard>()?.is_some() {}
        Ok(Discard)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Discard, E> {
        Ok(Discard)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Discard, E> {
        Ok(Discard)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Discard, E> {
        Ok(Discard)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Discard, E> {
        Ok(Discard)
    }

    fn visit_str<E>(self, _: &str) -> Result<Discard, E> {
        Ok(Discard)
    }

    fn visit_unit<E>(self) -> Result<Discard, E> {
        Ok(Discard)
    }
}

/// A version 2 or 3 file's header and the SHA-256 of its view, read from the
/// start of `file` as [`split`] takes the bytes apart (`None` where it
/// would), the view hashed as it is read.
fn hash_parts(file: &mut File) -> std::io::Result<Option<(Header, String)>> {
    use sha2::{Digest, Sha256};
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    let Some(header) = line.strip_suffix(b"\n").and_then(parse_header) else {
        return Ok(None);
    };
    let mut key = vec![0; VIEW_KEY.len()];
    let mut got = 0;
    while got < key.len() {
        match reader.read(&mut key[got..])? {
            0 => return Ok(None),
            n => got += n,
        }
    }
    if key != VIEW_KEY {
        return Ok(None);
    }
    // Everything to the end but its last `END.len()` bytes is the view.
    let mut hasher = Sha256::new();
    let mut tail: Vec<u8> = Vec::with_capacity(2 * END.len());
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        tail.extend_from_slice(buf);
        reader.consume(n);
        if tail.len() > END.len() {
            let cut = tail.len() - END.len();
            hasher.update(&tail[..cut]);
            tail.drain(..cut);
        }
    }
    if tail != END {
        return Ok(None);
    }
    Ok(Some((header, crate::record::hex(&hasher.finalize()))))
}

// ---------------------------------------------------------------------------
// Replay from a snapshot
// ---------------------------------------------------------------------------

/// A ledger's two ends, read without loading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The first record's hash (64 zeros for an empty ledger).
    pub ledger: String,
    /// The last record's seq (0 for an empty ledger).
    pub seq: u64,
    /// The last record's hash (64 zeros for an empty ledger).
    pub hash: String,
    /// The last record's `recorded` (empty for an empty ledger).
    pub recorded: String,
}

/// Why [`read_head`] could not read a ledger's ends. Replay then folds the
/// ledger, which reports the problem in full.
#[derive(Debug, thiserror::Error)]
pub enum HeadError {
    /// Reading the last record failed, or an append was interrupted.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file cannot be opened, locked or read.
    #[error("cannot {op} `{path}`: {source} (hint: check the --ledger path)", path = .path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The ledger.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The first line is not a valid record 1.
    #[error("the first line of `{path}` is not a valid record 1 (hint: run `fusion verify`)", path = .0.display())]
    FirstRecord(PathBuf),
}

/// The longest first line [`read_head`] reads: a record is far shorter.
const MAX_FIRST_LINE: u64 = 1 << 20;

/// Reads the ledger's first and last records (each parsed and
/// hash-checked), under the shared lock and after checking for an
/// interrupted append, as [`store::load`] does. Does not verify the chain
/// between them: that is what the cold path and `fusion verify` do.
pub fn read_head(path: &Path) -> Result<Head, HeadError> {
    let io = |op: &'static str| {
        move |source| HeadError::Io {
            op,
            path: path.to_owned(),
            source,
        }
    };
    let file = File::open(path).map_err(io("open"))?;
    // Readers wait while an append holds the exclusive lock, so an append
    // in progress is never mistaken for an interrupted one.
    file.lock_shared().map_err(io("lock"))?;
    let journal = store::journal_path(path);
    if journal.exists() {
        return Err(StoreError::Interrupted {
            path: path.to_owned(),
            journal,
        }
        .into());
    }
    let tail = store::read_tail(path, &file)?;
    let mut ledger = GENESIS_PREV.to_owned();
    if tail.seq > 0 {
        let mut line = Vec::new();
        let mut start = &file;
        start.seek(SeekFrom::Start(0)).map_err(io("read"))?;
        BufReader::new(start.take(MAX_FIRST_LINE))
            .read_until(b'\n', &mut line)
            .map_err(io("read"))?;
        let first = std::str::from_utf8(&line)
            .ok()
            .and_then(|l| l.strip_suffix('\n'))
            .and_then(|l| Record::parse_line(l).ok())
            .filter(|r| r.seq == 1)
            .ok_or_else(|| HeadError::FirstRecord(path.to_owned()))?;
        ledger = first.hash;
    }
    Ok(Head {
        ledger,
        seq: tail.seq,
        hash: tail.hash,
        recorded: tail.recorded,
    })
}

/// A snapshot replay can use in place of a fold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The snapshot file.
    pub file: PathBuf,
    /// What it answers.
    pub answer: Answer,
    /// Why the text file was not used, when text was asked for and the view
    /// is answered instead.
    pub text_unused: Option<Skip>,
}

/// What a snapshot answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The view as `replay --format json` prints it (final newline
    /// included).
    Json(String),
    /// The view as `replay` prints it in text (its text file).
    Text(String),
}

impl Found {
    /// The view, for the other renderers, when the answer is the JSON view.
    /// `None` if it does not read back as a view (then fold instead).
    pub fn view(&self) -> Option<View> {
        match &self.answer {
            Answer::Json(json) => serde_json::from_str(json).ok(),
            Answer::Text(_) => None,
        }
    }
}

/// Which answer replay asks a snapshot for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The JSON view.
    Json,
    /// The text: the text file of a version 3 snapshot if it holds, the
    /// JSON view otherwise (to render).
    Text,
}

/// Why replay did not use a snapshot (it folds the ledger instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// No snapshot file for the date at the head.
    #[error("no snapshot `{0}`")]
    Missing(PathBuf),
    /// The file cannot be read or is not a version 2 or 3 snapshot.
    #[error("`{0}` is not a snapshot replay can use: {1}")]
    Unusable(PathBuf, String),
    /// It was made from another ledger.
    #[error("`{0}` was made from another ledger")]
    OtherLedger(PathBuf),
    /// It is bound to another position than the head.
    #[error("`{file}` is bound to seq {seq}, not to the head (seq {head})", file = .0.display(), seq = .1, head = .2)]
    NotHead(PathBuf, u64, u64),
    /// Its seal does not hold: it was edited.
    #[error("`{0}` was edited: its content hash does not match its content")]
    Edited(PathBuf),
    /// Its text file cannot be used (the view can).
    #[error("its text file `{0}` {1}")]
    Text(PathBuf, String),
}

/// Finds the snapshot of the view on `as_of` at the head in `dir`: only the
/// two names such a snapshot can have are opened (`<as_of>.json`,
/// `<as_of>@<head>.json`), and only regular files. It is used when its
/// format version and engine are this fusion's, it was made from this
/// ledger, it is bound to the head's seq and hash, shows `as_of`, and its
/// content hash holds, and the hash of what it answers: its text file (if
/// text is wanted, the file is a version 3 one and its text file holds) or
/// else its view.
pub fn lookup(dir: &Path, head: &Head, as_of: NaiveDate, want: Want) -> Result<Found, Skip> {
    let day = as_of.format("%Y-%m-%d").to_string();
    let mut skip = Skip::Missing(dir.join(file_name(&day, head.seq, head.seq)));
    for name in [
        file_name(&day, head.seq, head.seq),
        file_name(&day, head.seq, u64::MAX),
    ] {
        let file = dir.join(name);
        match try_file(&file, head, &day, want) {
            Ok(found) => return Ok(found),
            // Report the most telling reason: a file that exists.
            Err(Skip::Missing(_)) => {}
            Err(s) => skip = s,
        }
    }
    Err(skip)
}

fn try_file(file: &Path, head: &Head, day: &str, want: Want) -> Result<Found, Skip> {
    let unusable = |why: String| Skip::Unusable(file.to_owned(), why);
    // No symlink, no directory: nothing outside the directory is opened.
    match std::fs::symlink_metadata(file) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(unusable("not a regular file".into())),
        Err(_) => return Err(Skip::Missing(file.to_owned())),
    }
    let f = File::open(file).map_err(|e| unusable(e.to_string()))?;
    let mut reader = BufReader::new(f);
    // The header first: most mismatches are known before the view is read.
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .map_err(|e| unusable(e.to_string()))?;
    let header = line
        .strip_suffix(b"\n")
        .and_then(parse_header)
        .ok_or_else(|| unusable("no version 2 or 3 header line".into()))?;
    if !header.laid_out() {
        return Err(unusable(match (header.v, &header.text_sha256) {
            (2, Some(_)) => "a version 2 header holding `text_sha256`".into(),
            (VERSION, None) => "a version 3 header without `text_sha256`".into(),
            (v, _) => format!("format version {v}"),
        }));
    }
    if header.engine != ENGINE {
        return Err(unusable(format!(
            "made by fusion {}, this is {ENGINE}",
            header.engine
        )));
    }
    if header.ledger != head.ledger {
        return Err(Skip::OtherLedger(file.to_owned()));
    }
    if header.known_at.seq != head.seq || header.known_at.hash != head.hash {
        return Err(Skip::NotHead(
            file.to_owned(),
            header.known_at.seq,
            head.seq,
        ));
    }
    if header.as_of != day {
        return Err(unusable(format!("it shows {}", header.as_of)));
    }
    if header.content_hash.as_deref() != Some(header.seal().as_str()) {
        return Err(Skip::Edited(file.to_owned()));
    }
    let text_unused = match (want, &header.text_sha256) {
        (Want::Json, _) => None,
        (Want::Text, None) => Some(Skip::Text(
            text_path(file),
            "is not used: a version 2 snapshot has none".into(),
        )),
        (Want::Text, Some(sealed)) => match read_text(&text_path(file), sealed) {
            Ok(text) => {
                return Ok(Found {
                    file: file.to_owned(),
                    answer: Answer::Text(text),
                    text_unused: None,
                });
            }
            Err(why) => Some(why),
        },
    };
    let mut rest = Vec::new();
    reader
        .read_to_end(&mut rest)
        .map_err(|e| unusable(e.to_string()))?;
    let view = rest
        .strip_prefix(VIEW_KEY)
        .and_then(|r| r.strip_suffix(END))
        .ok_or_else(|| unusable("no view after the header".into()))?;
    if sha256_hex(view) != header.view_sha256 {
        return Err(Skip::Edited(file.to_owned()));
    }
    // Keep the view in place (tens of MB at 10^6 events): cut the end,
    // then the key, and end with the newline replay prints.
    rest.truncate(rest.len() - END.len());
    rest.drain(..VIEW_KEY.len());
    rest.push(b'\n');
    let json = String::from_utf8(rest).map_err(|_| Skip::Edited(file.to_owned()))?;
    Ok(Found {
        file: file.to_owned(),
        answer: Answer::Json(json),
        text_unused,
    })
}

/// The text file at `path`, if it is a regular file whose SHA-256 is
/// `sealed` and is UTF-8 text.
fn read_text(path: &Path, sealed: &str) -> Result<String, Skip> {
    let skip = |why: &str| Skip::Text(path.to_owned(), why.to_owned());
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(skip("is not a regular file")),
        Err(_) => return Err(skip("is missing")),
    }
    let bytes = std::fs::read(path).map_err(|e| skip(&format!("cannot be read: {e}")))?;
    if sha256_hex(&bytes) != sealed {
        return Err(skip("does not match the snapshot's `text_sha256`"));
    }
    String::from_utf8(bytes).map_err(|_| skip("is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;
    use serde_json::json;

    fn entries() -> Vec<Entry> {
        let events = [
            json!({"type": "created", "date": "2008", "id": "a", "name": "A", "kind": "k", "sources": [{"doc": "d"}]}),
            json!({"type": "renamed", "date": "2010", "org": "a", "name": "A2", "sources": [{"doc": "d"}]}),
        ];
        let mut prev = GENESIS_PREV.to_owned();
        let mut out = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let r = Record::seal(i as u64 + 1, "2026-01-01T00:00:00Z".into(), e.clone(), prev);
            prev = r.hash.clone();
            out.push(r.entry().expect("valid"));
        }
        out
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("day")
    }

    #[test]
    fn a_fresh_snapshot_is_valid_and_named_by_date() {
        let es = entries();
        let (name, bytes, text) = build(&es, &view::replay(&es, day("2009-01-01"), 2));
        assert_eq!(name, "2009-01-01.json");
        assert_eq!(
            check(&es, &bytes, Some(text.as_bytes()), true).0,
            Status::Valid
        );
        let (older, _, _) = build(&es, &view::replay(&es, day("2009-01-01"), 1));
        assert_eq!(older, "2009-01-01@1.json");
    }

    #[test]
    fn a_snapshot_written_as_its_view_is_built_is_the_one_laid_out_whole() {
        let es = entries();
        for (as_of, seq) in [("2009-01-01", 2), ("2011-06-30", 2), ("2011-06-30", 1)] {
            // Given a view, laid out whole,
            let v = view::replay(&es, day(as_of), seq);
            let (_, whole, text) = build(&es, &v);
            // when it is written into a file from a position past its start,
            let prefix = b"kept before the snapshot";
            let mut out = std::io::Cursor::new(prefix.to_vec());
            out.set_position(prefix.len() as u64);
            let json = view::render_json(&v);
            write(
                &mut out,
                ledger_id(&es),
                &v.as_of,
                &v.known_at,
                &sha256_hex(text.as_bytes()),
                |w| w.write_all(json.as_bytes()),
            )
            .expect("write");
            // then what follows the prefix is that file, the position at its end.
            assert_eq!(out.position(), out.get_ref().len() as u64);
            let written = out.into_inner();
            assert_eq!(&written[..prefix.len()], prefix);
            assert_eq!(
                String::from_utf8_lossy(&written[prefix.len()..]),
                String::from_utf8_lossy(&whole)
            );
        }
    }

    /// A file on a disk that fills after `room` bytes.
    struct Full {
        file: std::io::Cursor<Vec<u8>>,
        room: u64,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.file.position() + buf.len() as u64 > self.room {
                return Err(std::io::Error::other("no space left"));
            }
            self.file.write(buf)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Seek for Full {
        fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
            self.file.seek(to)
        }
    }

    #[test]
    fn a_snapshot_that_does_not_fit_on_the_disk_is_an_error() {
        let es = entries();
        let v = view::replay(&es, day("2011-06-30"), 2);
        let json = view::render_json(&v);
        let (_, whole, text) = build(&es, &v);
        // The disk fills at each point of the file in turn: in the header,
        // in the view (which reaches the file only when its buffer is
        // flushed), or at its very end.
        for room in [10, whole.len() / 2, whole.len() - 1] {
            let mut out = Full {
                file: std::io::Cursor::new(Vec::new()),
                room: room as u64,
            };
            let written = write(
                &mut out,
                ledger_id(&es),
                &v.as_of,
                &v.known_at,
                &sha256_hex(text.as_bytes()),
                |w| w.write_all(json.as_bytes()),
            );
            let Err(e) = written else {
                panic!("room {room}: written as if whole");
            };
            assert_eq!(e.to_string(), "no space left", "room {room}");
        }
    }

    #[test]
    fn a_view_that_fails_to_be_written_leaves_no_file_behind() {
        let es = entries();
        let v = view::replay(&es, day("2011-06-30"), 2);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("2011-06-30.json");
        std::fs::write(&path, b"the snapshot before").expect("write");
        // A view written in part, then failing (a full disk, a fold that
        // read a changed record back).
        let failed = store::write_atomic_with(&path, |out| {
            write(
                out,
                ledger_id(&es),
                &v.as_of,
                &v.known_at,
                &"0".repeat(64),
                |w| {
                    w.write_all(b"{\n  \"as_of\": ")?;
                    Err(std::io::Error::other("no space left"))
                },
            )
        });
        let Err(StoreError::Io { source, .. }) = failed else {
            panic!("expected an i/o error, got {failed:?}");
        };
        assert_eq!(source.to_string(), "no space left");
        assert_eq!(std::fs::read(&path).expect("read"), b"the snapshot before");
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn an_edited_snapshot_is_caught() {
        let es = entries();
        let (_, bytes, text) = build(&es, &view::replay(&es, day("2011-01-01"), 2));
        let edited = String::from_utf8(bytes)
            .expect("utf8")
            .replace("\"A2\"", "\"A3\"");
        assert_eq!(
            check(&es, edited.as_bytes(), Some(text.as_bytes()), true).0,
            Status::Edited
        );
    }

    /// Rewrites the view of a snapshot and recomputes both hashes, as
    /// anyone who can write the file can.
    fn forge(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
        let (mut header, view) = split(bytes).expect("version 3");
        let view = String::from_utf8(view.to_vec())
            .expect("utf8")
            .replace(from, to);
        header.view_sha256 = sha256_hex(view.as_bytes());
        reseal(header, &view)
    }

    /// The file of `header`, its content hash recomputed, and `view`.
    fn reseal(mut header: Header, view: &str) -> Vec<u8> {
        header.content_hash = None;
        header.content_hash = Some(header.seal());
        let mut line = serde_json::to_string(&header).expect("json");
        line.pop();
        format!("{line},\n\"view\": {view}}}\n").into_bytes()
    }

    #[test]
    fn a_text_file_missing_edited_or_forged_is_caught() {
        // Given a snapshot and its text file,
        let es = entries();
        let (_, bytes, text) = build(&es, &view::replay(&es, day("2011-01-01"), 2));
        let check_in = |es: &[Entry], bytes: &[u8], text: Option<&str>| {
            check(es, bytes, text.map(str::as_bytes), true).0
        };
        let check = |bytes: &[u8], text: Option<&str>| check_in(&es, bytes, text);
        assert_eq!(check(&bytes, Some(&text)), Status::Valid);
        // when the text file is missing, or edited, then it is caught;
        assert_eq!(check(&bytes, None), Status::TextMissing);
        let edited = text.replace("A2", "A3");
        assert_ne!(edited, text);
        assert_eq!(check(&bytes, Some(&edited)), Status::TextEdited);
        // when its hash is recomputed into the sealed header too, then the
        // text re-derived from the ledger differs.
        let (mut header, view) = split(&bytes).expect("version 3");
        let view = std::str::from_utf8(view).expect("utf8").to_owned();
        header.text_sha256 = Some(sha256_hex(edited.as_bytes()));
        let forged = reseal(header.clone(), &view);
        assert_eq!(check(&forged, Some(&edited)), Status::Differs(None));
        assert_eq!(
            super::check(&es, &forged, Some(edited.as_bytes()), false).0,
            Status::Valid,
            "without re-deriving, only the seals are checked"
        );
        // A version 2 header naming a text file, or a version 3 one naming
        // none, is no snapshot.
        let v2_with_text = reseal(
            Header {
                v: 2,
                ..header.clone()
            },
            &view,
        );
        assert_eq!(
            check(&v2_with_text, Some(&edited)),
            Status::Malformed("a version 2 snapshot has no `text_sha256`".into())
        );
        let v3_without = reseal(
            Header {
                text_sha256: None,
                ..header
            },
            &view,
        );
        assert_eq!(
            check(&v3_without, Some(&text)),
            Status::Malformed("`text_sha256` is missing".into())
        );
        // A snapshot of records the ledger no longer has is stale, its
        // text file there or not: evidence, not to be re-created.
        assert!(matches!(check_in(&es[..1], &bytes, None), Status::Stale(_)));
        // A version 2 file (no text file) is checked as before,
        let json = view.into_bytes();
        let v2 = Parts::new(
            ledger_id(&es),
            2,
            "2011-01-01",
            &view::replay(&es, day("2011-01-01"), 2).known_at,
            &json,
            None,
        );
        let v2 = v2.slices().concat();
        assert_eq!(check(&v2, None), Status::Valid);
        // and one whose header says `"text_sha256": null` (unsealed) is
        // not one.
        let null = String::from_utf8(v2).expect("utf8").replacen(
            r#""content_hash""#,
            r#""text_sha256":null,"content_hash""#,
            1,
        );
        assert_eq!(
            check(null.as_bytes(), None),
            Status::Malformed("not laid out as a version 2 snapshot".into())
        );
    }

    #[test]
    fn text_is_answered_from_its_sealed_text_file_or_else_from_the_view() {
        // Given a snapshot and its text file,
        let es = entries();
        let dir = tempfile::tempdir().expect("dir");
        let v = view::replay(&es, day("2011-01-01"), 2);
        let (name, bytes, text) = build(&es, &v);
        let file = dir.path().join(&name);
        let text_file = text_path(&file);
        assert_eq!(text_file, dir.path().join("2011-01-01.txt"));
        std::fs::write(&file, &bytes).expect("write");
        std::fs::write(&text_file, &text).expect("write");
        let head = head_of(&es);
        let found = |want| lookup(dir.path(), &head, day("2011-01-01"), want).expect("used");
        let (json, text_answer) = (
            Answer::Json(view::render_json(&v)),
            Answer::Text(view::render_text(&v)),
        );
        // when text is wanted, then it is the text file: what replay prints;
        assert_eq!(
            (found(Want::Text).answer, found(Want::Text).text_unused),
            (text_answer, None)
        );
        assert_eq!(found(Want::Json).answer, json);
        // when the text file does not hold, then the view answers, and why.
        let falls_back = |why: &str| {
            let f = found(Want::Text);
            assert_eq!(f.answer, json);
            assert_eq!(
                f.text_unused,
                Some(Skip::Text(text_file.clone(), why.into()))
            );
        };
        std::fs::write(&text_file, text.replace("A2", "A3")).expect("edit");
        falls_back("does not match the snapshot's `text_sha256`");
        std::fs::remove_file(&text_file).expect("rm");
        falls_back("is missing");
        #[cfg(unix)]
        {
            let elsewhere = dir.path().join("elsewhere");
            std::fs::write(&elsewhere, &text).expect("write");
            std::os::unix::fs::symlink(&elsewhere, &text_file).expect("symlink");
            falls_back("is not a regular file");
            std::fs::remove_file(&text_file).expect("rm");
        }
        // A version 2 snapshot has no text file: the view answers.
        let json_bytes = view::render_json(&v);
        let v2 = Parts::new(
            ledger_id(&es),
            2,
            &v.as_of,
            &v.known_at,
            json_bytes.trim_end().as_bytes(),
            None,
        );
        std::fs::write(&file, v2.slices().concat()).expect("write");
        std::fs::write(&text_file, &text).expect("write");
        falls_back("is not used: a version 2 snapshot has none");
    }

    #[test]
    fn a_forged_snapshot_with_a_recomputed_hash_differs() {
        let es = entries();
        let (_, bytes, text) = build(&es, &view::replay(&es, day("2011-01-01"), 2));
        let forged = forge(&bytes, "\"A2\"", "\"Forged\"");
        assert_eq!(
            check(&es, &forged, Some(text.as_bytes()), true).0,
            Status::Differs(None)
        );
        assert_eq!(
            check(&es, &forged, Some(text.as_bytes()), false).0,
            Status::Valid,
            "without re-deriving, only the binding is checked"
        );
        // Made by another fusion, whose view differs: the status names it.
        let (mut header, view) = split(&forged).expect("version 3");
        header.engine = "0.0.1".into();
        let older = reseal(header, &String::from_utf8_lossy(view));
        let status = check(&es, &older, Some(text.as_bytes()), true).0;
        assert_eq!(status, Status::Differs(Some("0.0.1".into())));
        assert!(
            status.describe().contains(&format!(
                "made by fusion 0.0.1, this is {ENGINE}, whose view differs"
            )),
            "{}",
            status.describe()
        );
    }

    #[test]
    fn the_file_is_one_json_object_whose_view_is_the_replay_json() {
        let es = entries();
        let v = view::replay(&es, day("2011-01-01"), 2);
        let (_, bytes, text) = build(&es, &v);
        let whole: Value = serde_json::from_slice(&bytes).expect("one JSON object");
        assert_eq!(whole["v"], json!(3));
        assert_eq!(whole["view"], serde_json::to_value(&v).expect("json"));
        let (header, view) = split(&bytes).expect("laid out");
        assert_eq!(header.content_hash, Some(header.seal()));
        assert_eq!(
            format!("{}\n", std::str::from_utf8(view).expect("utf8")),
            view::render_json(&v)
        );
        // and its text file is what replay prints, sealed by its hash.
        assert_eq!(text, view::render_text(&v));
        assert_eq!(header.text_sha256, Some(sha256_hex(text.as_bytes())));
    }

    fn head_of(es: &[Entry]) -> Head {
        let last = es.last().expect("records");
        Head {
            ledger: ledger_id(es).to_owned(),
            seq: last.seq,
            hash: last.hash.clone(),
            recorded: last.recorded.clone(),
        }
    }

    #[test]
    fn lookup_uses_only_a_sealed_snapshot_of_the_head() {
        let es = entries();
        let dir = tempfile::tempdir().expect("dir");
        let v = view::replay(&es, day("2011-01-01"), 2);
        let (name, bytes, _) = build(&es, &v);
        std::fs::write(dir.path().join(&name), &bytes).expect("write");
        let head = head_of(&es);
        // the head, the date: used, and its JSON is replay's
        let found = lookup(dir.path(), &head, day("2011-01-01"), Want::Json).expect("used");
        assert_eq!(found.answer, Answer::Json(view::render_json(&v)));
        assert_eq!(found.view(), Some(v));
        // another date: none
        assert!(matches!(
            lookup(dir.path(), &head, day("2012-01-01"), Want::Json),
            Err(Skip::Missing(_))
        ));
        // another head (rewritten to fewer records): not used
        let older = head_of(&es[..1]);
        let older = Head {
            ledger: head.ledger.clone(),
            ..older
        };
        assert!(matches!(
            lookup(dir.path(), &older, day("2011-01-01"), Want::Json),
            Err(Skip::NotHead(_, 2, 1))
        ));
        let moved = Head {
            hash: "f".repeat(64),
            ..head.clone()
        };
        assert!(matches!(
            lookup(dir.path(), &moved, day("2011-01-01"), Want::Json),
            Err(Skip::NotHead(_, 2, 2))
        ));
        // another ledger: not used
        let other = Head {
            ledger: "e".repeat(64),
            ..head.clone()
        };
        assert!(matches!(
            lookup(dir.path(), &other, day("2011-01-01"), Want::Json),
            Err(Skip::OtherLedger(_))
        ));
        // edited: not used; forged with recomputed hashes: used (a content
        // hash is not a signature; `fusion verify` catches it)
        let file = dir.path().join(&name);
        let edited = String::from_utf8(bytes.clone())
            .expect("utf8")
            .replace("\"A2\"", "\"A3\"");
        std::fs::write(&file, edited).expect("write");
        assert!(matches!(
            lookup(dir.path(), &head, day("2011-01-01"), Want::Json),
            Err(Skip::Edited(_))
        ));
        std::fs::write(&file, forge(&bytes, "\"A2\"", "\"A3\"")).expect("write");
        assert!(lookup(dir.path(), &head, day("2011-01-01"), Want::Json).is_ok());
        // junk and version 1: not used
        std::fs::write(&file, "{\"format\": 1}").expect("write");
        assert!(matches!(
            lookup(dir.path(), &head, day("2011-01-01"), Want::Json),
            Err(Skip::Unusable(..))
        ));
    }

    #[test]
    fn a_snapshot_not_at_the_head_is_named_by_seq_and_used_once_that_seq_is_the_head() {
        let es = entries();
        let dir = tempfile::tempdir().expect("dir");
        let (name, bytes, _) = build(&es, &view::replay(&es, day("2009-01-01"), 1));
        assert_eq!(name, "2009-01-01@1.json");
        std::fs::write(dir.path().join(&name), &bytes).expect("write");
        assert!(lookup(dir.path(), &head_of(&es), day("2009-01-01"), Want::Json).is_err());
        let prefix = head_of(&es[..1]);
        assert!(lookup(dir.path(), &prefix, day("2009-01-01"), Want::Json).is_ok());
    }

    #[test]
    fn a_snapshot_of_a_rewritten_ledger_is_stale_and_another_ledger_is_skipped() {
        let es = entries();
        let (_, bytes, text) = build(&es, &view::replay(&es, day("2011-01-01"), 2));
        let mut rewritten = es.clone();
        rewritten[1].hash = "f".repeat(64);
        assert!(matches!(
            check(&rewritten, &bytes, Some(text.as_bytes()), true).0,
            Status::Stale(_)
        ));
        assert!(matches!(
            check(&es[..1], &bytes, Some(text.as_bytes()), true).0,
            Status::Stale(_)
        ));
        let mut other = es.clone();
        other[0].hash = "e".repeat(64);
        assert_eq!(
            check(&other, &bytes, Some(text.as_bytes()), true).0,
            Status::OtherLedger
        );
    }
}
