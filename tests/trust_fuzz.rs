//! Hostile input for the trust layer: the Merkle proof verifiers, the
//! checkpoint (signed note) parser, key parsers and proof bundles. Nothing
//! may panic, hang or allocate without bound; a mutated signed artefact that
//! still verifies must say what the original said.
//!
//! The budget is proptest's: `PROPTEST_CASES` (default 256 here) sets the
//! number of cases per property, so CI can run a fixed budget.

use fusion::checkpoint::{Checkpoint, PrivateKey, PublicKey, SignedCheckpoint};
use fusion::merkle::{self, Hash, Tree, leaf_hash, verify_consistency, verify_inclusion};
use fusion::proof::{Bundle, ConsistencyBundle, InclusionBundle, ProofReport, verify_bundle};
use fusion::record::{GENESIS_PREV, Record};
use proptest::prelude::*;
use serde_json::json;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256)
}

fn key() -> PrivateKey {
    PrivateKey::from_seed("fusion/fuzz", [5u8; 32]).expect("key")
}

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

struct Fixture {
    records: Vec<Record>,
    tree: Tree,
    old: SignedCheckpoint,
    new: SignedCheckpoint,
}

fn fixture() -> Fixture {
    let records = ledger(11);
    let tree = Tree::from_record_hashes(records.iter().map(|r| r.hash.as_str())).expect("tree");
    let sign = |size| {
        let mut s = SignedCheckpoint::unsigned(
            Checkpoint::of_tree("fusion/fuzz", &tree, size).expect("cp"),
        );
        s.sign(&key());
        s
    };
    let (old, new) = (sign(6), sign(11));
    Fixture {
        records,
        tree,
        old,
        new,
    }
}

/// A byte-level mutation: flip, insert, delete or truncate.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(bytes: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for m in ms {
        let len = b.len().max(1);
        match *m {
            Mutation::Flip(i, x) if !b.is_empty() => b[i % len] ^= x,
            Mutation::Insert(i, x) => b.insert(i % (b.len() + 1), x),
            Mutation::Delete(i) if !b.is_empty() => {
                b.remove(i % len);
            }
            Mutation::Truncate(i) => b.truncate(i % (b.len() + 1)),
            _ => {}
        }
    }
    b
}

fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn inclusion_verifier_never_panics(
        index in any::<u64>(),
        size in any::<u64>(),
        leaf in hash(),
        root in hash(),
        proof in prop::collection::vec(hash(), 0..70),
    ) {
        let _ = verify_inclusion(index, size, &leaf, &proof, &root);
        let _ = merkle::inclusion_proof_len(index, size);
    }

    #[test]
    fn consistency_verifier_never_panics(
        old in any::<u64>(),
        new in any::<u64>(),
        a in hash(),
        b in hash(),
        proof in prop::collection::vec(hash(), 0..70),
    ) {
        let _ = verify_consistency(old, new, &a, &b, &proof);
        let _ = merkle::consistency_proof_len(old, new);
    }

    #[test]
    fn sizes_near_the_top_of_u64_never_panic(
        d1 in 0u64..4, d2 in 0u64..4, leaf in hash(),
        proof in prop::collection::vec(hash(), 60..66),
    ) {
        let size = u64::MAX - d1;
        let _ = verify_inclusion(size - 1 - d2.min(size - 1), size, &leaf, &proof, &leaf);
        let _ = verify_consistency(size - d2, size, &leaf, &leaf, &proof);
        let _ = verify_consistency(1 << 63, size, &leaf, &leaf, &proof);
    }

    #[test]
    fn real_proofs_verify_and_any_change_is_caught(
        n in 1u64..600, pick in any::<u64>(), old_pick in any::<u64>(),
        which in any::<usize>(), bit in 0u8..8,
    ) {
        let tree = Tree::from_leaves((0..n).map(|i| i.to_be_bytes()));
        let index = pick % n;
        let root = tree.root();
        let leaf = leaf_hash(&index.to_be_bytes());
        let mut proof = tree.inclusion_proof(index, n).expect("proof");
        prop_assert!(verify_inclusion(index, n, &leaf, &proof, &root).is_ok());
        if !proof.is_empty() {
            let w = which % proof.len();
            proof[w][0] ^= 1 << bit;
            prop_assert!(verify_inclusion(index, n, &leaf, &proof, &root).is_err());
        }
        let old = 1 + old_pick % n;
        let old_root = tree.root_at(old).expect("root");
        let mut cproof = tree.consistency_proof(old, n).expect("proof");
        prop_assert!(verify_consistency(old, n, &old_root, &root, &cproof).is_ok());
        if !cproof.is_empty() {
            let w = which % cproof.len();
            cproof[w][31] ^= 1 << bit;
            prop_assert!(verify_consistency(old, n, &old_root, &root, &cproof).is_err());
        }
    }

    #[test]
    fn checkpoint_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = SignedCheckpoint::parse_bytes(&bytes);
    }

    #[test]
    fn checkpoint_parser_never_panics_on_text(text in "(\\PC|\n|\u{2014} ){0,300}") {
        if let Ok(s) = SignedCheckpoint::parse(&text) {
            // What parses can be written back and parsed the same.
            prop_assert_eq!(SignedCheckpoint::parse(&s.to_note()).expect("reparse"), s);
        }
    }

    #[test]
    fn a_mutated_signed_checkpoint_that_verifies_says_the_same(
        ms in prop::collection::vec(mutation(), 1..4),
    ) {
        let f = fixture();
        let note = f.old.to_note();
        let bytes = mutate(note.as_bytes(), &ms);
        if let Ok(parsed) = SignedCheckpoint::parse_bytes(&bytes)
            && parsed.verify(&key().public()).is_ok()
        {
            prop_assert_eq!(&parsed.text, &f.old.text);
            prop_assert_eq!(&parsed.checkpoint, &f.old.checkpoint);
        }
    }

    #[test]
    fn key_parsers_never_panic(text in "\\PC{0,120}", plus in "[A-Za-z0-9+/=]{0,60}") {
        let _ = PublicKey::parse(&text);
        let _ = PrivateKey::parse(&text);
        let _ = PublicKey::parse(&format!("n+{plus}"));
        let _ = PrivateKey::parse(&format!("PRIVATE+KEY+n+{plus}"));
    }

    #[test]
    fn bundle_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..800)) {
        if let Ok(b) = Bundle::parse(&bytes) {
            let f = fixture();
            let _ = verify_bundle(&b, &f.new, Some(&key().public()));
        }
    }

    #[test]
    fn a_mutated_inclusion_bundle_that_verifies_proves_the_same_record(
        seq in 1u64..=11,
        ms in prop::collection::vec(mutation(), 1..4),
    ) {
        let f = fixture();
        let b = InclusionBundle::build(&f.tree, &f.records[(seq - 1) as usize], &f.new).expect("bundle");
        let json = Bundle::Inclusion(b).to_json();
        let bytes = mutate(json.as_bytes(), &ms);
        if let Ok(parsed) = Bundle::parse(&bytes)
            && let Ok(ProofReport::Inclusion { seq: s, hash, .. }) =
                verify_bundle(&parsed, &f.new, Some(&key().public()))
        {
            prop_assert_eq!(s, seq);
            prop_assert_eq!(&hash, &f.records[(seq - 1) as usize].hash);
        }
    }

    #[test]
    fn a_mutated_consistency_bundle_that_verifies_links_the_same_heads(
        ms in prop::collection::vec(mutation(), 1..4),
    ) {
        let f = fixture();
        let b = ConsistencyBundle::build(&f.tree, &f.old, &f.new).expect("bundle");
        let json = Bundle::Consistency(b).to_json();
        let bytes = mutate(json.as_bytes(), &ms);
        if let Ok(parsed) = Bundle::parse(&bytes)
            && let Ok(ProofReport::Consistency { old, new, .. }) =
                verify_bundle(&parsed, &f.old, Some(&key().public()))
        {
            prop_assert_eq!(&old, &f.old.checkpoint);
            prop_assert_eq!(&new, &f.new.checkpoint);
        }
    }
}

#[test]
fn huge_and_deep_inputs_are_refused_quickly() {
    let big_line = format!(
        "{{\"type\":\"inclusion\",\"v\":1,\"x\":\"{}\"}}",
        "a".repeat(10 << 20)
    );
    assert!(Bundle::parse(big_line.as_bytes()).is_err());
    let deep = format!(
        "{{\"type\":\"inclusion\",\"v\":1,\"record\":{}}}",
        "[".repeat(1 << 20)
    );
    assert!(Bundle::parse(deep.as_bytes()).is_err());
    let huge_note = "a\n".repeat(5 << 20);
    assert!(SignedCheckpoint::parse(&huge_note).is_err());
    let many_sigs = format!(
        "o\n1\n{}\n\n{}",
        "A".repeat(43) + "=",
        "\u{2014} k AAAAAAAA\n".repeat(100_000)
    );
    assert!(SignedCheckpoint::parse(&many_sigs).is_err());
    let f = fixture();
    let mut b = InclusionBundle::build(&f.tree, &f.records[0], &f.new).expect("bundle");
    b.hashes = vec!["0".repeat(64); 100_000];
    assert!(verify_bundle(&Bundle::Inclusion(b), &f.new, None).is_err());
}
