//! Checkpoints: the ledger's origin, size and Merkle root, in the C2SP
//! `tlog-checkpoint` format, optionally signed as a C2SP `signed-note` with
//! Ed25519.
//!
//! A checkpoint note is
//!
//! ```text
//! <origin>\n
//! <tree size, decimal, no leading zero>\n
//! <base64 of the 32-byte root>\n
//! [extension lines]\n
//! \n
//! — <key name> <base64(4-byte key id ‖ 64-byte Ed25519 signature)>\n
//! ```
//!
//! The signed text is everything before the blank line, final newline
//! included. The key id is the first four bytes (big-endian) of
//! SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key). Public keys are
//! written `<name>+<8 hex digits of the key id>+<base64(0x01 ‖ public key)>`,
//! private keys `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ 32-byte seed)>`,
//! as Go's `golang.org/x/mod/sumdb/note` does, so keys and notes interoperate
//! with that ecosystem.
//!
//! Parsing never panics: notes longer than [`MAX_NOTE_BYTES`] or with more
//! than [`MAX_SIGNATURES`] signatures are refused before any other work.

use std::fmt;
use std::path::Path;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::{self, Hash, MerkleError, Tree, shorten, to_hex};

/// The largest note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// The most signature lines accepted on one note (the spec asks for at
/// least 16).
pub const MAX_SIGNATURES: usize = 100;

/// The signature type byte of Ed25519 in signed notes.
pub const ALG_ED25519: u8 = 0x01;

/// Why a checkpoint, a key or a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note breaks the signed-note or checkpoint syntax.
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    /// An origin fusion cannot write into a checkpoint.
    #[error(
        "origin `{0}` is not usable: it must be non-empty, without spaces, `+` or control characters"
    )]
    BadOrigin(String),
    /// A key file or key string that does not parse.
    #[error("bad key: {0}")]
    BadKey(String),
    /// The system random source failed while generating a key.
    #[error("cannot generate a key: the system random source failed: {0}")]
    Random(String),
    /// The checkpoint carries no signature by the trusted key.
    #[error(
        "checkpoint is not signed by the trusted key `{key}`; {found} — wrong key, or a checkpoint from another signer?"
    )]
    NotSignedBy {
        /// The trusted key, `name+id`.
        key: String,
        /// What signatures there are.
        found: String,
    },
    /// A signature by the trusted key that does not verify.
    #[error(
        "the signature by `{key}` does not verify: the checkpoint text was altered after signing, or the signature is forged"
    )]
    BadSignature {
        /// The key, `name+id`.
        key: String,
    },
    /// The checkpoint names another log.
    #[error(
        "checkpoint origin `{found}` is not this ledger's origin `{expected}`: it is the checkpoint of another ledger (pass --origin if this ledger was published under another name)"
    )]
    OriginMismatch {
        /// The checkpoint's origin.
        found: String,
        /// The origin expected.
        expected: String,
    },
    /// The checkpoint covers more records than the ledger has.
    #[error(
        "checkpoint covers {size} records but the ledger has only {have}: records were removed since the checkpoint, or it is the checkpoint of another ledger"
    )]
    LedgerShorter {
        /// The checkpoint's size.
        size: u64,
        /// Records in the ledger.
        have: u64,
    },
    /// The ledger's first `size` records do not hash to the checkpoint root.
    #[error(
        "the ledger's first {size} records have Merkle root {computed} but the checkpoint says {expected}: the ledger was rewritten since the checkpoint, or it is the checkpoint of another ledger"
    )]
    RootMismatch {
        /// The checkpoint's size.
        size: u64,
        /// The ledger's root at that size, hex.
        computed: String,
        /// The checkpoint's root, hex.
        expected: String,
    },
    /// A Merkle-level failure.
    #[error(transparent)]
    Merkle(#[from] MerkleError),
}

/// A tree head: which log, how many leaves, which root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `fusion/auvergne-rhone-alpes`.
    pub origin: String,
    /// Number of leaves (records).
    pub size: u64,
    /// The Merkle root at that size.
    pub root: Hash,
    /// Extension lines after the root (opaque; fusion writes none).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines; checks the origin.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Checkpoint, CheckpointError> {
        check_origin(origin)?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// The checkpoint of the first `size` leaves of `tree`.
    pub fn of_tree(origin: &str, tree: &Tree, size: u64) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::new(origin, size, tree.root_at(size)?)
    }

    /// The note text: origin, size and base64 root, each line ending in a
    /// newline, then the extension lines.
    pub fn body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            b64::encode(&self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a note text (the part before the blank line).
    pub fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        let malformed = |m: String| CheckpointError::Malformed(m);
        let Some(inner) = text.strip_suffix('\n') else {
            return Err(malformed("the text must end with a newline".into()));
        };
        let lines: Vec<&str> = inner.split('\n').collect();
        if lines.len() < 3 {
            return Err(malformed(format!(
                "a checkpoint needs 3 lines (origin, size, root), found {}",
                lines.len()
            )));
        }
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return Err(malformed(format!("line {} is empty", i + 1)));
        }
        let origin = lines[0];
        if origin.chars().any(|c| c.is_control()) {
            return Err(malformed(
                "line 1 (origin) holds a control character".into(),
            ));
        }
        let size_text = lines[1];
        let size = parse_size(size_text).ok_or_else(|| {
            malformed(format!(
                "line 2 (tree size) `{}` is not a decimal number without leading zeros",
                shorten(size_text)
            ))
        })?;
        let root_bytes = b64::decode(lines[2]).ok_or_else(|| {
            malformed(format!(
                "line 3 (root hash) `{}` is not base64",
                shorten(lines[2])
            ))
        })?;
        let root: Hash = root_bytes.as_slice().try_into().map_err(|_| {
            malformed(format!(
                "line 3 (root hash) decodes to {} bytes, a SHA-256 root has 32",
                root_bytes.len()
            ))
        })?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: lines[3..].iter().map(|l| l.to_string()).collect(),
        })
    }

    /// A short description: `origin` at size N, root hex.
    pub fn describe(&self) -> String {
        format!(
            "`{}` at size {}, root {}",
            self.origin,
            self.size,
            to_hex(&self.root)
        )
    }
}

fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// Checks that an origin can stand on a checkpoint's first line: non-empty,
/// no whitespace, no `+`, no control character.
pub fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty()
        || origin
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(CheckpointError::BadOrigin(shorten(origin)));
    }
    Ok(())
}

/// The default origin of a ledger file: `fusion/` followed by the file name
/// without its extension, every whitespace or `+` replaced by `-`
/// (`events/auvergne-rhone-alpes.jsonl` → `fusion/auvergne-rhone-alpes`).
pub fn default_origin(ledger: &Path) -> String {
    let stem = ledger
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() || c == '+' {
                '-'
            } else {
                c
            }
        })
        .collect();
    if clean.is_empty() {
        "fusion/ledger".to_string()
    } else {
        format!("fusion/{clean}")
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id (first 4 bytes of the signature blob, big-endian).
    pub key_id: u32,
    /// The signature bytes after the key id.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// `name+id` as in key strings.
    pub fn key_label(&self) -> String {
        format!("{}+{:08x}", self.name, self.key_id)
    }

    fn line(&self) -> String {
        let mut blob = self.key_id.to_be_bytes().to_vec();
        blob.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.name, b64::encode(&blob))
    }
}

/// A checkpoint with the signature lines that came with it (maybe none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed checkpoint.
    pub checkpoint: Checkpoint,
    /// The exact signed text (the note text, final newline included).
    pub text: String,
    /// The signature lines, in order; not yet verified.
    pub signatures: Vec<NoteSignature>,
}

impl SignedCheckpoint {
    /// An unsigned checkpoint.
    pub fn unsigned(checkpoint: Checkpoint) -> SignedCheckpoint {
        SignedCheckpoint {
            text: checkpoint.body(),
            checkpoint,
            signatures: Vec::new(),
        }
    }

    /// Parses a checkpoint note from bytes: UTF-8, no control character but
    /// newline, the checkpoint text, then optionally a blank line and one or
    /// more signature lines. Signatures are parsed, not verified.
    pub fn parse_bytes(bytes: &[u8]) -> Result<SignedCheckpoint, CheckpointError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(CheckpointError::Malformed(format!(
                "the note has {} bytes, more than the {MAX_NOTE_BYTES} accepted",
                bytes.len()
            )));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            CheckpointError::Malformed(format!("not UTF-8 (byte {})", e.valid_up_to()))
        })?;
        SignedCheckpoint::parse(text)
    }

    /// As [`SignedCheckpoint::parse_bytes`], from a string.
    pub fn parse(note: &str) -> Result<SignedCheckpoint, CheckpointError> {
        let malformed = |m: String| CheckpointError::Malformed(m);
        if note.len() > MAX_NOTE_BYTES {
            return Err(malformed(format!(
                "the note has {} bytes, more than the {MAX_NOTE_BYTES} accepted",
                note.len()
            )));
        }
        if let Some((i, c)) = note
            .char_indices()
            .find(|&(_, c)| c.is_control() && c != '\n')
        {
            return Err(malformed(format!(
                "control character U+{:04X} at byte {i}; a note holds none but newline (hint: convert CRLF line ends to LF)",
                u32::from(c)
            )));
        }
        if !note.ends_with('\n') {
            return Err(malformed("the note must end with a newline".into()));
        }
        if note.ends_with("\n\n") {
            return Err(malformed(format!(
                "line {} is empty: the note ends with a blank line (hint: remove the blank lines at its end)",
                note.split_terminator('\n').count()
            )));
        }
        // The text is separated from the signatures by the last blank line.
        let (text, sig_block) = match note.rfind("\n\n") {
            Some(i) => (&note[..=i], Some(&note[i + 2..])),
            None => (note, None),
        };
        let checkpoint = Checkpoint::parse_body(text)?;
        let mut signatures = Vec::new();
        if let Some(block) = sig_block {
            if block.is_empty() {
                return Err(malformed(
                    "a blank line after the text must be followed by signature lines".into(),
                ));
            }
            for (n, line) in block.split_terminator('\n').enumerate() {
                if n >= MAX_SIGNATURES {
                    return Err(malformed(format!(
                        "more than {MAX_SIGNATURES} signature lines"
                    )));
                }
                signatures.push(parse_signature_line(line)?);
            }
        }
        Ok(SignedCheckpoint {
            checkpoint,
            text: text.to_string(),
            signatures,
        })
    }

    /// The note as written: the text, then (if signed) a blank line and the
    /// signature lines.
    pub fn to_note(&self) -> String {
        let mut s = self.text.clone();
        if !self.signatures.is_empty() {
            s.push('\n');
            for sig in &self.signatures {
                s.push_str(&sig.line());
            }
        }
        s
    }

    /// Adds (or replaces) the signature of `key` over the text.
    pub fn sign(&mut self, key: &PrivateKey) {
        let sig = key.signing.sign(self.text.as_bytes());
        self.signatures
            .retain(|s| !(s.name == key.name && s.key_id == key.key_id));
        self.signatures.push(NoteSignature {
            name: key.name.clone(),
            key_id: key.key_id,
            signature: sig.to_bytes().to_vec(),
        });
    }

    /// Checks that a signature by `key` is present and that the first
    /// signature matching its name and id verifies. Signatures by other
    /// keys are ignored, as the signed-note spec requires, and so are later
    /// signatures by the same key, as Go's `note.Open` drops them.
    pub fn verify(&self, key: &PublicKey) -> Result<(), CheckpointError> {
        let matching: Vec<&NoteSignature> = self
            .signatures
            .iter()
            .filter(|s| s.name == key.name && s.key_id == key.key_id)
            .take(1)
            .collect();
        if matching.is_empty() {
            let found = if self.signatures.is_empty() {
                "it carries no signature at all".to_string()
            } else {
                let labels: Vec<String> = self
                    .signatures
                    .iter()
                    .map(|s| format!("`{}`", s.key_label()))
                    .collect();
                format!("it is signed by {}", labels.join(", "))
            };
            return Err(CheckpointError::NotSignedBy {
                key: key.label(),
                found,
            });
        }
        for sig in matching {
            let bytes: [u8; 64] = sig
                .signature
                .as_slice()
                .try_into()
                .map_err(|_| CheckpointError::BadSignature { key: key.label() })?;
            let signature = ed25519_dalek::Signature::from_bytes(&bytes);
            key.key
                .verify_strict(self.text.as_bytes(), &signature)
                .map_err(|_| CheckpointError::BadSignature { key: key.label() })?;
        }
        Ok(())
    }
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, CheckpointError> {
    let malformed = |m: String| CheckpointError::Malformed(m);
    let Some(rest) = line.strip_prefix("\u{2014} ") else {
        return Err(malformed(format!(
            "signature line `{}` does not start with an em dash (U+2014) and a space",
            shorten(line)
        )));
    };
    let Some((name, blob)) = rest.split_once(' ') else {
        return Err(malformed(format!(
            "signature line `{}` needs a key name, a space and a base64 signature",
            shorten(line)
        )));
    };
    check_key_name(name).map_err(|_| {
        malformed(format!(
            "signature line key name `{}` is not valid",
            shorten(name)
        ))
    })?;
    let bytes = b64::decode(blob)
        .ok_or_else(|| malformed(format!("signature of `{}` is not base64", shorten(name))))?;
    if bytes.len() < 5 {
        return Err(malformed(format!(
            "signature of `{}` is too short ({} bytes; a key id and a signature need at least 5)",
            shorten(name),
            bytes.len()
        )));
    }
    let key_id = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    Ok(NoteSignature {
        name: name.to_string(),
        key_id,
        signature: bytes[4..].to_vec(),
    })
}

/// Key names: non-empty, no whitespace, no `+`, no control character.
fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty()
        || name.len() > 1024
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(CheckpointError::BadKey(format!(
            "key name `{}` must be non-empty, without spaces or `+`",
            shorten(name)
        )));
    }
    Ok(())
}

/// The key id: the first four bytes, big-endian, of
/// SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key).
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A public (verifier) key with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    key: VerifyingKey,
}

impl PublicKey {
    /// Parses `<name>+<8 hex key id>+<base64(0x01 ‖ 32-byte key)>`
    /// (surrounding whitespace, such as a final newline, is ignored).
    pub fn parse(text: &str) -> Result<PublicKey, CheckpointError> {
        let text = text.trim();
        if text.starts_with("PRIVATE+KEY+") {
            // Never echo a private key in an error message: it would reach
            // terminals and logs.
            return Err(CheckpointError::BadKey(
                "this is a private key (`PRIVATE+KEY+…`), where a public key was expected; give verifiers the public key (the .pub file), and keep the private one offline".into(),
            ));
        }
        let bad = |m: &str| CheckpointError::BadKey(format!("public key `{}`: {m}", shorten(text)));
        // The base64 key may itself hold `+`: split off two fields only.
        let parts: Vec<&str> = text.splitn(3, '+').collect();
        let [name, id, key] = parts.as_slice() else {
            return Err(bad("expected `<name>+<key id>+<base64 key>`"));
        };
        let (name, id, raw) = parse_key_parts(name, id, key).map_err(|m| bad(&m))?;
        let key = VerifyingKey::from_bytes(&raw)
            .map_err(|_| bad("the 32 bytes are not an Ed25519 public key"))?;
        if key_id(name, &raw) != id {
            return Err(bad(
                "the key id does not match the name and key (altered key?)",
            ));
        }
        Ok(PublicKey {
            name: name.to_string(),
            key_id: id,
            key,
        })
    }

    /// `name+id`.
    pub fn label(&self) -> String {
        format!("{}+{:08x}", self.name, self.key_id)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut blob = vec![ALG_ED25519];
        blob.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            b64::encode(&blob)
        )
    }
}

fn parse_key_parts<'a>(
    name: &'a str,
    id: &str,
    key: &str,
) -> Result<(&'a str, u32, [u8; 32]), String> {
    check_key_name(name).map_err(|e| e.to_string())?;
    if id.len() != 8 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!(
            "key id `{}` is not 8 lowercase hex digits",
            shorten(id)
        ));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| format!("key id `{id}` is not hex"))?;
    let blob = b64::decode(key).ok_or_else(|| "the key is not base64".to_string())?;
    match blob.split_first() {
        Some((&ALG_ED25519, rest)) => {
            let raw: [u8; 32] = rest
                .try_into()
                .map_err(|_| format!("an Ed25519 key has 32 bytes, found {}", rest.len()))?;
            Ok((name, id, raw))
        }
        Some((alg, _)) => Err(format!(
            "signature type 0x{alg:02x} is not supported (only 0x01, Ed25519)"
        )),
        None => Err("the key is empty".into()),
    }
}

/// A private (signer) key with its name. Its `Debug` output never shows the
/// secret.
#[derive(Clone)]
pub struct PrivateKey {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    signing: SigningKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}+{:08x})", self.name, self.key_id)
    }
}

impl PrivateKey {
    /// A new key from the operating system's random source (`getrandom`).
    pub fn generate(name: &str) -> Result<PrivateKey, CheckpointError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| CheckpointError::Random(e.to_string()))?;
        let key = PrivateKey::from_seed(name, seed);
        seed.fill(0);
        key
    }

    /// The key of a 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<PrivateKey, CheckpointError> {
        check_key_name(name)?;
        let signing = SigningKey::from_bytes(&seed);
        let key_id = key_id(name, signing.verifying_key().as_bytes());
        Ok(PrivateKey {
            name: name.to_string(),
            key_id,
            signing,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ 32-byte seed)>`
    /// (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Result<PrivateKey, CheckpointError> {
        let text = text.trim();
        // Never echo a private key in an error message.
        let bad = |m: &str| CheckpointError::BadKey(format!("private key: {m}"));
        let Some(rest) = text.strip_prefix("PRIVATE+KEY+") else {
            return Err(bad(
                "expected `PRIVATE+KEY+<name>+<key id>+<base64 seed>` (is this the .pub file?)",
            ));
        };
        let parts: Vec<&str> = rest.splitn(3, '+').collect();
        let [name, id, key] = parts.as_slice() else {
            return Err(bad("expected `PRIVATE+KEY+<name>+<key id>+<base64 seed>`"));
        };
        let (name, id, seed) = parse_key_parts(name, id, key).map_err(|m| bad(&m))?;
        let key = PrivateKey::from_seed(name, seed)?;
        if key.key_id != id {
            return Err(bad(
                "the key id does not match the name and key (altered key?)",
            ));
        }
        Ok(key)
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.signing.verifying_key(),
        }
    }

    /// The private key string (keep it secret).
    pub fn to_secret_string(&self) -> String {
        let mut blob = vec![ALG_ED25519];
        blob.extend_from_slice(&self.signing.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.key_id,
            b64::encode(&blob)
        )
    }
}

/// What [`verify_against`] established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The trusted checkpoint.
    pub checkpoint: Checkpoint,
    /// The key whose signature verified (`name+id`), if a key was given.
    pub signed_by: Option<String>,
    /// Records in the ledger.
    pub ledger_size: u64,
    /// The ledger's current root.
    pub ledger_root: Hash,
    /// The consistency proof from the checkpoint to the current tree (checked).
    pub consistency: Vec<Hash>,
}

/// Checks that the ledger whose records have these `hash`es (in seq order)
/// extends the checkpoint `note`: the signature by `key` (if given) is
/// good, the origin is `origin` (if given), the checkpoint's size is at
/// most the ledger's, the ledger's first `size` records have the
/// checkpoint's root, and a consistency proof from it to the current tree
/// verifies.
pub fn verify_against<S: AsRef<str>>(
    record_hashes: &[S],
    note: &str,
    key: Option<&PublicKey>,
    origin: Option<&str>,
) -> Result<Verified, CheckpointError> {
    let tree = Tree::from_record_hashes(record_hashes)?;
    let signed = SignedCheckpoint::parse(note)?;
    verify_tree(&tree, &signed, key, origin)
}

/// As [`verify_against`], with the tree already built and the note parsed.
pub fn verify_tree(
    tree: &Tree,
    signed: &SignedCheckpoint,
    key: Option<&PublicKey>,
    origin: Option<&str>,
) -> Result<Verified, CheckpointError> {
    // The origin first: another ledger's checkpoint is said to be one,
    // whatever key signed it.
    let cp = &signed.checkpoint;
    if let Some(expected) = origin
        && cp.origin != expected
    {
        return Err(CheckpointError::OriginMismatch {
            found: shorten(&cp.origin),
            expected: expected.to_string(),
        });
    }
    if let Some(key) = key {
        signed.verify(key)?;
    }
    let have = tree.size();
    if cp.size > have {
        return Err(CheckpointError::LedgerShorter {
            size: cp.size,
            have,
        });
    }
    let at = tree.root_at(cp.size)?;
    if at != cp.root {
        return Err(CheckpointError::RootMismatch {
            size: cp.size,
            computed: to_hex(&at),
            expected: to_hex(&cp.root),
        });
    }
    let ledger_root = tree.root();
    let consistency = tree.consistency_proof(cp.size, have)?;
    merkle::verify_consistency(cp.size, have, &cp.root, &ledger_root, &consistency)?;
    Ok(Verified {
        checkpoint: cp.clone(),
        signed_by: key.map(PublicKey::label),
        ledger_size: have,
        ledger_root,
        consistency,
    })
}

/// Standard base64 (RFC 4648 §4) with padding; decoding is strict: no
/// whitespace, no missing padding, no non-zero padding bits.
pub(crate) mod b64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// Encodes bytes.
    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let sextet = |shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
            out.push(sextet(18));
            out.push(sextet(12));
            out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
            out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
        }
        out
    }

    fn value(c: u8) -> Option<u32> {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        Some(u32::from(v))
    }

    /// Decodes canonical padded base64; `None` on anything else.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let s = text.as_bytes();
        if !s.len().is_multiple_of(4) {
            return None;
        }
        let mut out = Vec::with_capacity(s.len() / 4 * 3);
        let groups = s.len() / 4;
        for (g, quad) in s.chunks_exact(4).enumerate() {
            let last = g + 1 == groups;
            let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
            if pad > 2 || (pad > 0 && !last) {
                return None;
            }
            let mut n = 0u32;
            for &c in &quad[..4 - pad] {
                n = (n << 6) | value(c)?;
            }
            n <<= 6 * pad as u32;
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&bytes[..3 - pad]);
            // Non-zero bits in the padding make a second encoding of the
            // same bytes: refuse them.
            if (pad == 1 && bytes[2] != 0) || (pad == 2 && (bytes[1] != 0 || bytes[2] != 0)) {
                return None;
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The signed-note reference vectors of golang.org/x/mod/sumdb/note.
    const PETER_PUB: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_PRIV: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn test_key(name: &str) -> PrivateKey {
        PrivateKey::from_seed(name, [7u8; 32]).expect("key")
    }

    fn sample() -> Checkpoint {
        Checkpoint::new("fusion/test", 3, merkle::leaf_hash(b"x")).expect("checkpoint")
    }

    #[test]
    fn go_note_keys_parse_and_round_trip() {
        let public = PublicKey::parse(PETER_PUB).expect("public");
        assert_eq!(public.key_id, 0xc74f20a3);
        assert_eq!(public.to_string(), PETER_PUB);
        let private = PrivateKey::parse(PETER_PRIV).expect("private");
        assert_eq!(private.to_secret_string(), PETER_PRIV);
        assert_eq!(private.public(), public);
    }

    #[test]
    fn go_note_signature_is_reproduced_byte_for_byte() {
        // Ed25519 is deterministic: the same key and text give the same
        // signature as Go's implementation.
        let key = PrivateKey::parse(PETER_PRIV).expect("private");
        let sig = key.signing.sign(PETER_TEXT.as_bytes());
        let line = NoteSignature {
            name: key.name.clone(),
            key_id: key.key_id,
            signature: sig.to_bytes().to_vec(),
        }
        .line();
        assert_eq!(line, PETER_SIG);
    }

    #[test]
    fn mangled_keys_are_refused() {
        for bad in [
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // wrong id
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX", // altered key
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",   // short
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // upper hex
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // algorithm
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            PETER_PRIV,
            "",
        ] {
            assert!(
                matches!(PublicKey::parse(bad), Err(CheckpointError::BadKey(_))),
                "{bad}"
            );
        }
        // Given a private key where a public key is expected, the error
        // names the mistake without quoting the key.
        let err = PublicKey::parse(&format!("{PETER_PRIV}\n")).expect_err("private");
        assert_eq!(
            err.to_string(),
            "bad key: this is a private key (`PRIVATE+KEY+…`), where a public key was expected; give verifiers the public key (the .pub file), and keep the private one offline"
        );
        assert!(PrivateKey::parse(PETER_PUB).is_err());
        let err = PrivateKey::parse(
            "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        )
        .expect_err("wrong id");
        assert!(
            !err.to_string().contains("AYEKF"),
            "never echo a secret: {err}"
        );
    }

    #[test]
    fn checkpoint_body_matches_tlog_checkpoint() {
        let cp = Checkpoint::new("example.com/log", 20852163, [0u8; 32]).expect("cp");
        assert_eq!(
            cp.body(),
            "example.com/log\n20852163\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        );
        assert_eq!(Checkpoint::parse_body(&cp.body()).expect("parse"), cp);
    }

    #[test]
    fn sign_then_verify_round_trips_through_text() {
        let key = test_key("fusion/test");
        let mut signed = SignedCheckpoint::unsigned(sample());
        signed.sign(&key);
        let note = signed.to_note();
        assert!(note.contains("\n\n\u{2014} fusion/test "), "{note}");
        let parsed = SignedCheckpoint::parse(&note).expect("parse");
        assert_eq!(parsed, signed);
        parsed.verify(&key.public()).expect("good signature");
        // Signing twice with the same key replaces the signature.
        let mut again = parsed.clone();
        again.sign(&key);
        assert_eq!(again.signatures.len(), 1);
    }

    #[test]
    fn the_wrong_key_is_named() {
        let mut signed = SignedCheckpoint::unsigned(sample());
        signed.sign(&test_key("alice"));
        let bob = PrivateKey::from_seed("bob", [9u8; 32])
            .expect("key")
            .public();
        let err = signed.verify(&bob).expect_err("wrong key");
        let msg = err.to_string();
        assert!(msg.contains("not signed by the trusted key `bob+"), "{msg}");
        assert!(msg.contains("signed by `alice+"), "{msg}");
        // Same name, other key: also not a match (name and id must agree).
        let impostor = PrivateKey::from_seed("alice", [10u8; 32])
            .expect("key")
            .public();
        assert!(matches!(
            signed.verify(&impostor),
            Err(CheckpointError::NotSignedBy { .. })
        ));
        let unsigned = SignedCheckpoint::unsigned(sample());
        assert!(
            unsigned
                .verify(&bob)
                .expect_err("unsigned")
                .to_string()
                .contains("no signature at all")
        );
    }

    #[test]
    fn an_altered_text_breaks_the_signature() {
        let key = test_key("fusion/test");
        let mut signed = SignedCheckpoint::unsigned(sample());
        signed.sign(&key);
        let forged = signed.to_note().replacen("\n3\n", "\n4\n", 1);
        let parsed = SignedCheckpoint::parse(&forged).expect("still well-formed");
        assert_eq!(parsed.checkpoint.size, 4);
        assert!(matches!(
            parsed.verify(&key.public()),
            Err(CheckpointError::BadSignature { .. })
        ));
    }

    #[test]
    fn malformed_notes_are_refused() {
        let good = sample().body();
        let sig = {
            let mut s = SignedCheckpoint::unsigned(sample());
            s.sign(&test_key("k"));
            s.to_note()
        };
        for bad in [
            String::new(),
            "origin\n3\n".to_string(),
            good.trim_end().to_string(),
            good.replace("\n3\n", "\n03\n"),
            good.replace("\n3\n", "\n-3\n"),
            good.replace("\n3\n", "\n99999999999999999999\n"),
            good.replace('=', ""),
            good.clone() + "\n",
            good.replace('\n', "\r\n"),
            sig.replace('\u{2014}', "-"),
            sig.replace(" k ", " k+1 "),
            sig.trim_end().to_string(),
            format!("{good}\n\u{2014} k AAAA\n"),
            format!(
                "{good}\n{}",
                "\u{2014} k AAAAAAAA\n".repeat(MAX_SIGNATURES + 1)
            ),
        ] {
            assert!(
                matches!(
                    SignedCheckpoint::parse(&bad),
                    Err(CheckpointError::Malformed(_))
                ),
                "accepted {bad:?}"
            );
        }
        assert!(SignedCheckpoint::parse_bytes(&[0xff, b'\n']).is_err());
        assert!(SignedCheckpoint::parse_bytes(&vec![b'a'; MAX_NOTE_BYTES + 1]).is_err());
    }

    #[test]
    fn a_blank_line_after_a_note_is_named_by_its_own_number() {
        // Given a signed note of 5 lines, and the same with blank lines after
        let mut signed = SignedCheckpoint::unsigned(sample());
        signed.sign(&test_key("k"));
        let note = signed.to_note();
        assert_eq!(note.split_terminator('\n').count(), 5);
        for (extra, line) in [("\n", 6), ("\n\n", 7)] {
            // When it is read
            let err = SignedCheckpoint::parse(&format!("{note}{extra}")).expect_err("blank");
            // Then the error names the last line, not the separator (line 4)
            assert_eq!(
                err.to_string(),
                format!(
                    "malformed checkpoint: line {line} is empty: the note ends with a blank line (hint: remove the blank lines at its end)"
                )
            );
        }
        // and an unsigned note's stray blank line is named too
        let body = sample().body();
        let err = SignedCheckpoint::parse(&format!("{body}\n")).expect_err("blank");
        assert!(
            err.to_string().contains("line 4 is empty: the note ends"),
            "{err}"
        );
    }

    #[test]
    fn unknown_signatures_are_ignored() {
        let key = test_key("fusion/test");
        let mut signed = SignedCheckpoint::unsigned(sample());
        signed.sign(&key);
        let note = signed.to_note() + "\u{2014} witness.example AAAAAAAA\n";
        let parsed = SignedCheckpoint::parse(&note).expect("parse");
        assert_eq!(parsed.signatures.len(), 2);
        parsed
            .verify(&key.public())
            .expect("the trusted signature suffices");
    }

    #[test]
    fn only_the_first_signature_by_the_key_counts_as_in_go() {
        // given a signed checkpoint, and a signature line by the same key
        // over other text (so it does not verify here)
        let key = test_key("fusion/test");
        let mut signed = SignedCheckpoint::unsigned(sample());
        signed.sign(&key);
        let good = signed.to_note();
        let mut other = SignedCheckpoint::unsigned(
            Checkpoint::new("fusion/test", 99, [7; 32]).expect("checkpoint"),
        );
        other.sign(&key);
        let bad_line = other
            .to_note()
            .lines()
            .last()
            .expect("signature")
            .to_owned()
            + "\n";
        // when the bad one follows the good one, then it is dropped
        let parsed = SignedCheckpoint::parse(&(good.clone() + &bad_line)).expect("parse");
        assert_eq!(parsed.signatures.len(), 2);
        parsed
            .verify(&key.public())
            .expect("the first signature counts");
        // and when it comes first, it is the one checked, and fails
        let (text, sig) = good.rsplit_once("\n\n").expect("split");
        let parsed = SignedCheckpoint::parse(&format!("{text}\n\n{bad_line}{sig}")).expect("parse");
        assert!(matches!(
            parsed.verify(&key.public()),
            Err(CheckpointError::BadSignature { .. })
        ));
    }

    #[test]
    fn default_origin_comes_from_the_file_name() {
        assert_eq!(
            default_origin(Path::new("events/auvergne-rhone-alpes.jsonl")),
            "fusion/auvergne-rhone-alpes"
        );
        assert_eq!(
            default_origin(Path::new("my ledger+x.jsonl")),
            "fusion/my-ledger-x"
        );
        assert_eq!(default_origin(Path::new("")), "fusion/ledger");
        assert!(Checkpoint::new("has space", 0, [0; 32]).is_err());
        assert!(Checkpoint::new("", 0, [0; 32]).is_err());
    }

    fn hashes(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| crate::record::sha256_hex(&i.to_be_bytes()))
            .collect()
    }

    #[test]
    fn verify_against_accepts_a_ledger_that_grew() {
        let key = test_key("fusion/test");
        let all = hashes(10);
        let tree = Tree::from_record_hashes(&all[..6]).expect("tree");
        let mut signed =
            SignedCheckpoint::unsigned(Checkpoint::of_tree("fusion/test", &tree, 6).expect("cp"));
        signed.sign(&key);
        let v = verify_against(
            &all,
            &signed.to_note(),
            Some(&key.public()),
            Some("fusion/test"),
        )
        .expect("extends");
        assert_eq!((v.checkpoint.size, v.ledger_size), (6, 10));
        assert_eq!(v.signed_by, Some(key.public().label()));
        assert!(!v.consistency.is_empty());
    }

    #[test]
    fn verify_against_names_each_failure() {
        let all = hashes(10);
        let tree = Tree::from_record_hashes(&all).expect("tree");
        let note =
            SignedCheckpoint::unsigned(Checkpoint::of_tree("fusion/test", &tree, 8).expect("cp"))
                .to_note();
        // Tampered ledger: record 3 rewritten.
        let mut tampered = all.clone();
        tampered[2] = crate::record::sha256_hex(b"rewritten");
        assert!(matches!(
            verify_against(&tampered, &note, None, None),
            Err(CheckpointError::RootMismatch { size: 8, .. })
        ));
        // Truncated ledger.
        assert!(matches!(
            verify_against(&all[..5], &note, None, None),
            Err(CheckpointError::LedgerShorter { size: 8, have: 5 })
        ));
        // Another ledger's checkpoint.
        assert!(matches!(
            verify_against(&all, &note, None, Some("fusion/other")),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        // Wrong key.
        let key = test_key("fusion/test").public();
        assert!(matches!(
            verify_against(&all, &note, Some(&key), None),
            Err(CheckpointError::NotSignedBy { .. })
        ));
        // Another ledger's checkpoint and the wrong key: the origin is
        // named first.
        assert!(matches!(
            verify_against(&all, &note, Some(&key), Some("fusion/other")),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        verify_against(&all, &note, None, Some("fusion/test")).expect("unsigned, no key: fine");
    }

    #[test]
    fn base64_is_standard_and_strict() {
        for (raw, enc) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xfb\xff", "+/8="),
        ] {
            assert_eq!(b64::encode(raw), enc);
            assert_eq!(b64::decode(enc).as_deref(), Some(raw));
        }
        for bad in [
            "Zg=", "Zh==", "Zm9=", "Z===", "Zg==Zg==", "Zm9v\n", "Zm-v", "é",
        ] {
            assert_eq!(b64::decode(bad), None, "{bad}");
        }
    }
}
