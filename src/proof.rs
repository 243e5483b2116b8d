//! Proof bundles: self-contained JSON files that let a reader check, offline
//! and without the ledger, that a record belongs to a published ledger
//! (inclusion) or that one checkpoint extends another (consistency).
//!
//! Inclusion bundle:
//!
//! ```json
//! {"type": "inclusion", "v": 1,
//!  "record": {"v":1,"seq":5,"recorded":"…","event":{…},"prev":"…","hash":"…"},
//!  "seq": 5, "leaf_index": 4, "tree_size": 10,
//!  "hashes": ["<64 hex>", …],
//!  "checkpoint": "<the checkpoint note the proof is against>"}
//! ```
//!
//! Consistency bundle:
//!
//! ```json
//! {"type": "consistency", "v": 1, "old_size": 6, "new_size": 10,
//!  "hashes": ["<64 hex>", …],
//!  "old_checkpoint": "<note>", "new_checkpoint": "<note>"}
//! ```
//!
//! Verification ([`verify_bundle`]) is against a checkpoint the reader
//! already trusts, optionally also checking its signature with a public key.
//! Bundles larger than [`MAX_BUNDLE_BYTES`] or with more than
//! [`crate::merkle::MAX_PROOF_LEN`] hashes are refused before any work.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checkpoint::{Checkpoint, CheckpointError, PublicKey, SignedCheckpoint};
use crate::merkle::{self, Hash, MAX_PROOF_LEN, MerkleError, Tree, shorten, to_hex};
use crate::record::{Record, RecordError};

/// The largest bundle accepted, in bytes (a record line may be large).
pub const MAX_BUNDLE_BYTES: usize = 16 << 20;

/// The bundle format version.
pub const BUNDLE_VERSION: u64 = 1;

/// Why a bundle could not be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Not a bundle: bad JSON, a missing or extra field, a wrong type.
    #[error("malformed proof bundle: {0}")]
    Malformed(String),
    /// The record inside an inclusion bundle is not a valid record.
    #[error("the record in the bundle is not valid: {0} (the record was altered)")]
    Record(RecordError),
    /// Fields of the bundle contradict each other.
    #[error("the bundle contradicts itself: {0} (forged or altered bundle)")]
    Inconsistent(String),
    /// The two checkpoints of a consistency proof name different ledgers.
    #[error(
        "the old checkpoint is of ledger `{old}` and the new one of `{new}`: a consistency proof links two checkpoints of one ledger (hint: check that both files are checkpoints of the same ledger)"
    )]
    OriginsDiffer {
        /// The old checkpoint's origin.
        old: String,
        /// The new checkpoint's origin.
        new: String,
    },
    /// The bundle's checkpoint is not the trusted checkpoint.
    #[error("the bundle proves against {bundle}, but the trusted checkpoint is {trusted}; {hint}")]
    OtherCheckpoint {
        /// The bundle's checkpoint.
        bundle: String,
        /// The trusted checkpoint.
        trusted: String,
        /// What to do.
        hint: String,
    },
    /// A record the ledger does not have (seqs start at 1).
    #[error(
        "no record with seq {seq}: seqs start at 1, and the checkpoint covers records 1 to {size}"
    )]
    NoSuchRecord {
        /// The seq asked for.
        seq: u64,
        /// Records the checkpoint covers.
        size: u64,
    },
    /// A record the checkpoint does not cover.
    #[error(
        "record {seq} is past the checkpoint, which covers records 1 to {size} (hint: prove it against a checkpoint taken since it was appended: `fusion checkpoint`)"
    )]
    PastCheckpoint {
        /// The seq asked for.
        seq: u64,
        /// Records the checkpoint covers.
        size: u64,
    },
    /// A checkpoint error (signature, key, format, ledger mismatch).
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A Merkle error: the proof does not verify.
    #[error("the proof does not verify: {0}")]
    Merkle(#[from] MerkleError),
}

/// A proof that one record is in the tree of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionBundle {
    /// Always `inclusion`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Format version, [`BUNDLE_VERSION`].
    pub v: u64,
    /// The full record, as stored in the ledger.
    pub record: Value,
    /// The record's seq.
    pub seq: u64,
    /// Its leaf index: seq − 1.
    pub leaf_index: u64,
    /// The tree size the proof is for (the checkpoint's size).
    pub tree_size: u64,
    /// The inclusion proof, lowercase hex, leaf level first.
    pub hashes: Vec<String>,
    /// The checkpoint note the proof is against.
    pub checkpoint: String,
}

/// A proof that one checkpoint's tree is a prefix of another's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyBundle {
    /// Always `consistency`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Format version, [`BUNDLE_VERSION`].
    pub v: u64,
    /// The old tree size.
    pub old_size: u64,
    /// The new tree size.
    pub new_size: u64,
    /// The consistency proof, lowercase hex.
    pub hashes: Vec<String>,
    /// The old checkpoint note.
    pub old_checkpoint: String,
    /// The new checkpoint note.
    pub new_checkpoint: String,
}

/// Either kind of bundle.
#[derive(Debug, Clone, PartialEq)]
pub enum Bundle {
    /// An inclusion proof.
    Inclusion(InclusionBundle),
    /// A consistency proof.
    Consistency(ConsistencyBundle),
}

/// What a verified bundle established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofReport {
    /// The record is in the trusted checkpoint's tree.
    Inclusion {
        /// The record's seq.
        seq: u64,
        /// Its hash.
        hash: String,
        /// The trusted checkpoint.
        checkpoint: Checkpoint,
    },
    /// The old checkpoint's tree is a prefix of the new one's.
    Consistency {
        /// The old checkpoint.
        old: Checkpoint,
        /// The new checkpoint.
        new: Checkpoint,
        /// Whether the trusted checkpoint is the old one (else the new one).
        trusted_is_old: bool,
    },
}

impl ProofReport {
    /// One line for the terminal.
    pub fn describe(&self) -> String {
        match self {
            ProofReport::Inclusion {
                seq,
                hash,
                checkpoint,
            } => format!(
                "ok: record {seq} (hash {hash}) is in {}",
                checkpoint.describe()
            ),
            ProofReport::Consistency {
                old,
                new,
                trusted_is_old,
            } => {
                if *trusted_is_old {
                    format!(
                        "ok: {} extends the trusted {} (append-only; the new checkpoint can now be trusted)",
                        new.describe(),
                        old.describe()
                    )
                } else {
                    format!(
                        "ok: {} is a prefix of the trusted {}",
                        old.describe(),
                        new.describe()
                    )
                }
            }
        }
    }
}

fn hex_list(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(to_hex).collect()
}

fn parse_hashes(hashes: &[String]) -> Result<Vec<Hash>, ProofError> {
    if hashes.len() > MAX_PROOF_LEN {
        return Err(ProofError::Malformed(format!(
            "`hashes` holds {} hashes; no proof needs more than {MAX_PROOF_LEN}",
            hashes.len()
        )));
    }
    hashes
        .iter()
        .enumerate()
        .map(|(i, h)| {
            merkle::hash_from_hex(h).map_err(|_| {
                ProofError::Malformed(format!(
                    "`hashes[{i}]` = `{}` is not 64 lowercase hex digits",
                    shorten(h)
                ))
            })
        })
        .collect()
}

/// Checks that `signed` is a checkpoint of this tree (size and root).
fn check_of_tree(tree: &Tree, signed: &SignedCheckpoint) -> Result<(), ProofError> {
    let cp = &signed.checkpoint;
    if cp.size > tree.size() {
        return Err(CheckpointError::LedgerShorter {
            size: cp.size,
            have: tree.size(),
        }
        .into());
    }
    let at = tree.root_at(cp.size)?;
    if at != cp.root {
        return Err(CheckpointError::RootMismatch {
            size: cp.size,
            computed: to_hex(&at),
            expected: to_hex(&cp.root),
        }
        .into());
    }
    Ok(())
}

/// The record as a JSON object, members in stored order.
pub fn record_value(record: &Record) -> Value {
    serde_json::from_str(&record.to_line()).unwrap_or(Value::Null)
}

impl InclusionBundle {
    /// The inclusion proof of `record` (a record of the ledger `tree` was
    /// built from) against `checkpoint`, which must be a checkpoint of this
    /// ledger covering the record.
    pub fn build(
        tree: &Tree,
        record: &Record,
        checkpoint: &SignedCheckpoint,
    ) -> Result<InclusionBundle, ProofError> {
        check_of_tree(tree, checkpoint)?;
        let size = checkpoint.checkpoint.size;
        if record.seq == 0 {
            return Err(ProofError::NoSuchRecord {
                seq: record.seq,
                size,
            });
        }
        if record.seq > size {
            return Err(ProofError::PastCheckpoint {
                seq: record.seq,
                size,
            });
        }
        let index = record.seq - 1;
        let leaf = merkle::record_leaf(&record.hash)?;
        if tree.leaf(index) != Some(leaf) {
            return Err(ProofError::Inconsistent(format!(
                "record {} is not the ledger's record {}",
                record.seq, record.seq
            )));
        }
        let proof = tree.inclusion_proof(index, size)?;
        Ok(InclusionBundle {
            kind: "inclusion".into(),
            v: BUNDLE_VERSION,
            record: record_value(record),
            seq: record.seq,
            leaf_index: index,
            tree_size: size,
            hashes: hex_list(&proof),
            checkpoint: checkpoint.to_note(),
        })
    }
}

impl ConsistencyBundle {
    /// The consistency proof between two checkpoints of the ledger `tree`
    /// was built from.
    pub fn build(
        tree: &Tree,
        old: &SignedCheckpoint,
        new: &SignedCheckpoint,
    ) -> Result<ConsistencyBundle, ProofError> {
        check_same_origin(&old.checkpoint, &new.checkpoint)?;
        check_of_tree(tree, old)?;
        check_of_tree(tree, new)?;
        let (o, n) = (old.checkpoint.size, new.checkpoint.size);
        let proof = tree.consistency_proof(o, n)?;
        Ok(ConsistencyBundle {
            kind: "consistency".into(),
            v: BUNDLE_VERSION,
            old_size: o,
            new_size: n,
            hashes: hex_list(&proof),
            old_checkpoint: old.to_note(),
            new_checkpoint: new.to_note(),
        })
    }
}

/// The two checkpoints of a consistency proof name one ledger. (Not
/// [`CheckpointError::OriginMismatch`], whose hint is `verify`'s
/// `--origin`: here no ledger's own origin is in question.)
fn check_same_origin(old: &Checkpoint, new: &Checkpoint) -> Result<(), ProofError> {
    if old.origin != new.origin {
        return Err(ProofError::OriginsDiffer {
            old: shorten(&old.origin),
            new: shorten(&new.origin),
        });
    }
    Ok(())
}

impl Bundle {
    /// Parses a bundle file. Refuses more than [`MAX_BUNDLE_BYTES`], non
    /// JSON, unknown types and versions, missing or extra fields.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, ProofError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(ProofError::Malformed(format!(
                "the bundle has {} bytes, more than the {MAX_BUNDLE_BYTES} accepted",
                bytes.len()
            )));
        }
        // Read as the ledger is: a member named twice is refused, since
        // readers disagree on which one wins (a forged `record` first, the
        // real one after, would show one reader the forgery).
        let text = std::str::from_utf8(bytes)
            .map_err(|e| ProofError::Malformed(format!("not UTF-8 (byte {})", e.valid_up_to())))?;
        let value: Value = crate::json::from_str(text)
            .map_err(|e| ProofError::Malformed(format!("not JSON: {e}")))?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ProofError::Malformed(
                    "no `type` member (`inclusion` or `consistency`); is this a proof bundle?"
                        .into(),
                )
            })?;
        match value.get("v").and_then(Value::as_u64) {
            Some(BUNDLE_VERSION) => {}
            other => {
                return Err(ProofError::Malformed(format!(
                    "bundle version {} is not supported (this build reads version {BUNDLE_VERSION})",
                    other.map_or("missing".to_string(), |v| v.to_string())
                )));
            }
        }
        let shape = |e: serde_json::Error| ProofError::Malformed(e.to_string());
        match kind.as_str() {
            "inclusion" => Ok(Bundle::Inclusion(
                serde_json::from_value(value).map_err(shape)?,
            )),
            "consistency" => Ok(Bundle::Consistency(
                serde_json::from_value(value).map_err(shape)?,
            )),
            other => Err(ProofError::Malformed(format!(
                "`type` is `{}`, expected `inclusion` or `consistency`",
                shorten(other)
            ))),
        }
    }

    /// Pretty JSON, ending in a newline.
    pub fn to_json(&self) -> String {
        let text = match self {
            Bundle::Inclusion(b) => serde_json::to_string_pretty(b),
            Bundle::Consistency(b) => serde_json::to_string_pretty(b),
        };
        let mut text = text.unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Checks that `bundle` holds against `trusted`, a checkpoint note the reader
/// already trusts. With `key`, the trusted checkpoint's signature is checked
/// too, and for a consistency bundle the signatures of both its checkpoints.
pub fn verify_bundle(
    bundle: &Bundle,
    trusted: &SignedCheckpoint,
    key: Option<&PublicKey>,
) -> Result<ProofReport, ProofError> {
    if let Some(key) = key {
        trusted.verify(key)?;
    }
    match bundle {
        Bundle::Inclusion(b) => verify_inclusion_bundle(b, trusted),
        Bundle::Consistency(b) => verify_consistency_bundle(b, trusted, key),
    }
}

fn same_head(a: &Checkpoint, b: &Checkpoint) -> bool {
    a.origin == b.origin && a.size == b.size && a.root == b.root
}

fn verify_inclusion_bundle(
    b: &InclusionBundle,
    trusted: &SignedCheckpoint,
) -> Result<ProofReport, ProofError> {
    let hashes = parse_hashes(&b.hashes)?;
    let record = Record::from_value(b.record.clone()).map_err(ProofError::Record)?;
    if record.seq != b.seq {
        return Err(ProofError::Inconsistent(format!(
            "`seq` is {} but the record's seq is {}",
            b.seq, record.seq
        )));
    }
    if b.leaf_index != b.seq - 1 {
        return Err(ProofError::Inconsistent(format!(
            "`leaf_index` is {} but record {} is leaf {}",
            b.leaf_index,
            b.seq,
            b.seq - 1
        )));
    }
    let embedded = SignedCheckpoint::parse(&b.checkpoint)?;
    if embedded.checkpoint.size != b.tree_size {
        return Err(ProofError::Inconsistent(format!(
            "`tree_size` is {} but the bundle's checkpoint has size {}",
            b.tree_size, embedded.checkpoint.size
        )));
    }
    let t = &trusted.checkpoint;
    if !same_head(&embedded.checkpoint, t) {
        let hint = if embedded.checkpoint.origin != t.origin {
            "it is a proof for another ledger".to_string()
        } else if embedded.checkpoint.size == t.size {
            "same size, different roots: the log shows different histories to different readers (a fork)".to_string()
        } else {
            "ask for a proof against your checkpoint (`fusion prove inclusion SEQ --checkpoint YOURS`), or first check a consistency proof to the bundle's checkpoint".to_string()
        };
        return Err(ProofError::OtherCheckpoint {
            bundle: embedded.checkpoint.describe(),
            trusted: t.describe(),
            hint,
        });
    }
    let leaf = merkle::record_leaf(&record.hash)?;
    merkle::verify_inclusion(b.leaf_index, t.size, &leaf, &hashes, &t.root)?;
    Ok(ProofReport::Inclusion {
        seq: record.seq,
        hash: record.hash,
        checkpoint: t.clone(),
    })
}

fn verify_consistency_bundle(
    b: &ConsistencyBundle,
    trusted: &SignedCheckpoint,
    key: Option<&PublicKey>,
) -> Result<ProofReport, ProofError> {
    let hashes = parse_hashes(&b.hashes)?;
    let old = SignedCheckpoint::parse(&b.old_checkpoint)?;
    let new = SignedCheckpoint::parse(&b.new_checkpoint)?;
    if old.checkpoint.size != b.old_size || new.checkpoint.size != b.new_size {
        return Err(ProofError::Inconsistent(format!(
            "sizes {} → {} do not match the checkpoints' sizes {} → {}",
            b.old_size, b.new_size, old.checkpoint.size, new.checkpoint.size
        )));
    }
    check_same_origin(&old.checkpoint, &new.checkpoint)?;
    let t = &trusted.checkpoint;
    let trusted_is_old = if same_head(&old.checkpoint, t) {
        true
    } else if same_head(&new.checkpoint, t) {
        false
    } else {
        let hint = if old.checkpoint.origin != t.origin {
            "it is a proof for another ledger".to_string()
        } else {
            "the trusted checkpoint must be one of the two ends of the proof".to_string()
        };
        return Err(ProofError::OtherCheckpoint {
            bundle: format!(
                "{} → {}",
                old.checkpoint.describe(),
                new.checkpoint.describe()
            ),
            trusted: t.describe(),
            hint,
        });
    };
    if let Some(key) = key {
        old.verify(key)?;
        new.verify(key)?;
    }
    merkle::verify_consistency(
        old.checkpoint.size,
        new.checkpoint.size,
        &old.checkpoint.root,
        &new.checkpoint.root,
        &hashes,
    )?;
    Ok(ProofReport::Consistency {
        old: old.checkpoint,
        new: new.checkpoint,
        trusted_is_old,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::PrivateKey;
    use crate::record::GENESIS_PREV;
    use serde_json::json;

    fn ledger(n: u64) -> Vec<Record> {
        let mut prev = GENESIS_PREV.to_string();
        (1..=n)
            .map(|seq| {
                let event = json!({"type": "created", "date": "2008", "id": format!("org{seq}"),
                                   "name": "Org", "kind": "cluster", "sources": [{"doc": "d"}]});
                let r = Record::seal(seq, "2026-01-01T00:00:00Z".into(), event, prev.clone());
                prev.clone_from(&r.hash);
                r
            })
            .collect()
    }

    fn tree(records: &[Record]) -> Tree {
        Tree::from_record_hashes(records.iter().map(|r| r.hash.as_str())).expect("tree")
    }

    fn key() -> PrivateKey {
        PrivateKey::from_seed("fusion/test", [3u8; 32]).expect("key")
    }

    fn checkpoint(t: &Tree, size: u64) -> SignedCheckpoint {
        let mut s =
            SignedCheckpoint::unsigned(Checkpoint::of_tree("fusion/test", t, size).expect("cp"));
        s.sign(&key());
        s
    }

    fn inclusion(b: &InclusionBundle) -> Bundle {
        Bundle::Inclusion(b.clone())
    }

    #[test]
    fn an_inclusion_bundle_round_trips_and_verifies() {
        let records = ledger(9);
        let t = tree(&records);
        let cp = checkpoint(&t, 7);
        let b = InclusionBundle::build(&t, &records[4], &cp).expect("bundle");
        assert_eq!((b.seq, b.leaf_index, b.tree_size), (5, 4, 7));
        let parsed = Bundle::parse(inclusion(&b).to_json().as_bytes()).expect("parse");
        let report = verify_bundle(&parsed, &cp, Some(&key().public())).expect("verifies");
        assert!(
            report.describe().starts_with("ok: record 5 "),
            "{}",
            report.describe()
        );
    }

    #[test]
    fn a_record_past_the_checkpoint_has_no_proof() {
        let records = ledger(9);
        let t = tree(&records);
        let cp = checkpoint(&t, 7);
        assert!(matches!(
            InclusionBundle::build(&t, &records[8], &cp),
            Err(ProofError::PastCheckpoint { seq: 9, size: 7 })
        ));
    }

    #[test]
    fn an_altered_record_or_forged_proof_is_rejected() {
        let records = ledger(9);
        let t = tree(&records);
        let cp = checkpoint(&t, 9);
        let b = InclusionBundle::build(&t, &records[2], &cp).expect("bundle");

        let mut altered = b.clone();
        altered.record["event"]["name"] = json!("Other");
        assert!(matches!(
            verify_bundle(&inclusion(&altered), &cp, None),
            Err(ProofError::Record(_))
        ));

        // A consistent record from another ledger: same seq, other content.
        let mut swapped = b.clone();
        let mut other = records[2].clone();
        other.event["name"] = json!("Other");
        let other = Record::seal(other.seq, other.recorded, other.event, other.prev);
        swapped.record = record_value(&other);
        let err = verify_bundle(&inclusion(&swapped), &cp, None).expect_err("not in the tree");
        assert!(
            matches!(err, ProofError::Merkle(MerkleError::RootMismatch { .. })),
            "{err}"
        );

        let mut forged = b.clone();
        forged.hashes[0] = to_hex(&[0u8; 32]);
        assert!(matches!(
            verify_bundle(&inclusion(&forged), &cp, None),
            Err(ProofError::Merkle(_))
        ));

        let mut moved = b.clone();
        moved.leaf_index = 3;
        assert!(matches!(
            verify_bundle(&inclusion(&moved), &cp, None),
            Err(ProofError::Inconsistent(_))
        ));

        let mut short = b;
        short.hashes.pop();
        assert!(matches!(
            verify_bundle(&inclusion(&short), &cp, None),
            Err(ProofError::Merkle(MerkleError::ProofLength { .. }))
        ));
    }

    #[test]
    fn a_proof_against_another_checkpoint_is_named() {
        let records = ledger(9);
        let t = tree(&records);
        let b = InclusionBundle::build(&t, &records[2], &checkpoint(&t, 8)).expect("bundle");
        let err = verify_bundle(&inclusion(&b), &checkpoint(&t, 9), None).expect_err("other size");
        assert!(
            err.to_string()
                .contains("ask for a proof against your checkpoint"),
            "{err}"
        );

        // Another ledger (same origin) with the same size: a fork.
        let mut other = ledger(9);
        other[7] = Record::seal(
            8,
            "2027-01-01T00:00:00Z".into(),
            other[7].event.clone(),
            other[7].prev.clone(),
        );
        let fork = checkpoint(&tree(&other), 8);
        let err = verify_bundle(&inclusion(&b), &fork, None).expect_err("fork");
        assert!(err.to_string().contains("different roots"), "{err}");
    }

    #[test]
    fn the_wrong_key_is_rejected() {
        let records = ledger(4);
        let t = tree(&records);
        let cp = checkpoint(&t, 4);
        let b = InclusionBundle::build(&t, &records[0], &cp).expect("bundle");
        let other = PrivateKey::from_seed("fusion/test", [4u8; 32])
            .expect("key")
            .public();
        assert!(matches!(
            verify_bundle(&inclusion(&b), &cp, Some(&other)),
            Err(ProofError::Checkpoint(CheckpointError::NotSignedBy { .. }))
        ));
    }

    #[test]
    fn a_consistency_bundle_verifies_from_either_end() {
        let records = ledger(12);
        let t = tree(&records);
        let (old, new) = (checkpoint(&t, 5), checkpoint(&t, 12));
        let b = Bundle::Consistency(ConsistencyBundle::build(&t, &old, &new).expect("bundle"));
        let b = Bundle::parse(b.to_json().as_bytes()).expect("parse");
        let pk = key().public();
        assert!(matches!(
            verify_bundle(&b, &old, Some(&pk)),
            Ok(ProofReport::Consistency {
                trusted_is_old: true,
                ..
            })
        ));
        assert!(matches!(
            verify_bundle(&b, &new, Some(&pk)),
            Ok(ProofReport::Consistency {
                trusted_is_old: false,
                ..
            })
        ));
        assert!(matches!(
            verify_bundle(&b, &checkpoint(&t, 6), None),
            Err(ProofError::OtherCheckpoint { .. })
        ));
    }

    #[test]
    fn checkpoints_of_two_ledgers_are_named_as_such_with_no_flag_to_pass() {
        // Given checkpoints of one tree under two names
        let records = ledger(12);
        let t = tree(&records);
        let old = checkpoint(&t, 5);
        let other = |size| {
            SignedCheckpoint::unsigned(Checkpoint::of_tree("fusion/other", &t, size).expect("cp"))
        };
        // When a proof is built from them, or a bundle holding them checked
        let built = ConsistencyBundle::build(&t, &old, &other(12)).expect_err("two ledgers");
        let mut bundle = ConsistencyBundle::build(&t, &old, &checkpoint(&t, 12)).expect("bundle");
        bundle.new_checkpoint = other(12).to_note();
        let checked = verify_bundle(&Bundle::Consistency(bundle), &old, None).expect_err("two");
        // Then both say so, and suggest no flag that `prove` and
        // `verify-proof` do not have
        for e in [built, checked] {
            assert!(
                matches!(&e, ProofError::OriginsDiffer { old, new } if old == "fusion/test" && new == "fusion/other"),
                "{e}"
            );
            assert!(!e.to_string().contains("--origin"), "{e}");
        }
    }

    #[test]
    fn a_rewritten_history_has_no_consistency_proof() {
        let records = ledger(12);
        let t = tree(&records);
        let mut rewritten = records.clone();
        rewritten[1] = Record::seal(
            2,
            "2027-01-01T00:00:00Z".into(),
            records[1].event.clone(),
            records[1].prev.clone(),
        );
        let old_other = checkpoint(&tree(&rewritten), 5);
        // The prover refuses: the old checkpoint is not of this ledger.
        assert!(matches!(
            ConsistencyBundle::build(&t, &old_other, &checkpoint(&t, 12)),
            Err(ProofError::Checkpoint(CheckpointError::RootMismatch {
                size: 5,
                ..
            }))
        ));
        // A bundle pairing the old checkpoint with a proof from the real ledger fails.
        let mut b =
            ConsistencyBundle::build(&t, &checkpoint(&t, 5), &checkpoint(&t, 12)).expect("b");
        b.old_checkpoint = old_other.to_note();
        let err = verify_bundle(&Bundle::Consistency(b), &old_other, None).expect_err("forged");
        assert!(
            matches!(err, ProofError::Merkle(MerkleError::OldRootMismatch { .. })),
            "{err}"
        );
    }

    #[test]
    fn malformed_bundles_are_refused() {
        for bad in [
            &b""[..],
            b"[]",
            b"{\"type\":\"inclusion\"}",
            b"{\"type\":\"inclusion\",\"v\":2}",
            b"{\"type\":\"other\",\"v\":1}",
            b"{\"type\":\"consistency\",\"v\":1,\"old_size\":1}",
        ] {
            assert!(
                matches!(Bundle::parse(bad), Err(ProofError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "[".repeat(100_000);
        assert!(Bundle::parse(deep.as_bytes()).is_err());
        assert!(Bundle::parse(&vec![b' '; MAX_BUNDLE_BYTES + 1]).is_err());
        let records = ledger(3);
        let t = tree(&records);
        let cp = checkpoint(&t, 3);
        let mut b = InclusionBundle::build(&t, &records[0], &cp).expect("bundle");
        b.hashes = vec![to_hex(&[0; 32]); MAX_PROOF_LEN + 1];
        assert!(matches!(
            verify_bundle(&inclusion(&b), &cp, None),
            Err(ProofError::Malformed(_))
        ));
        b.hashes = vec!["XYZ".into()];
        assert!(matches!(
            verify_bundle(&inclusion(&b), &cp, None),
            Err(ProofError::Malformed(_))
        ));
    }

    #[test]
    fn a_bundle_naming_a_member_twice_is_refused() {
        // Given a valid bundle
        let records = ledger(3);
        let t = tree(&records);
        let cp = checkpoint(&t, 3);
        let json = inclusion(&InclusionBundle::build(&t, &records[0], &cp).expect("b")).to_json();
        assert!(Bundle::parse(json.as_bytes()).is_ok());
        // When a forged record is put before the real one, at the top level
        // or inside the record
        let forged = json.replacen('{', r#"{"record":{"forged":true},"#, 1);
        let inner = json.replacen(r#""event": {"#, r#""event": {"name": "Forged","#, 1);
        assert_ne!(inner, json);
        for bad in [forged, inner] {
            // Then the bundle is refused, whichever member a reader would keep
            let err = Bundle::parse(bad.as_bytes()).expect_err("duplicate");
            assert!(
                matches!(&err, ProofError::Malformed(m) if m.contains("duplicate")),
                "{err}"
            );
        }
    }
}
