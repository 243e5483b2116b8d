//! The RFC 6962 reference vectors (as published with the certificate
//! transparency reference implementations: the 8 leaves `""`, `00`, `10`,
//! `2021`, `3031`, `40414243`, `5051525354555657`,
//! `606162636465666768696a6b6c6d6e6f`, their roots, and the known inclusion
//! and consistency proofs), plus the corruption probes those suites run.

use fusion::merkle::{
    self, Hash, MerkleError, Tree, empty_root, hash_from_hex, leaf_hash, to_hex,
    verify_consistency, verify_inclusion,
};

fn h(s: &str) -> Hash {
    hash_from_hex(s).expect("hex")
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Root of the tree of the first i+1 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index from 0, tree size, proof)
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// (old size, new size, proof)
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

fn tree() -> Tree {
    Tree::from_leaves(LEAVES.iter().map(|l| unhex(l)))
}

fn root(size: u64) -> Hash {
    h(ROOTS[(size - 1) as usize])
}

#[test]
fn hashers_match_rfc6962() {
    assert_eq!(
        to_hex(&empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        to_hex(&leaf_hash(b"")),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
    assert_eq!(
        to_hex(&leaf_hash(b"L123456")),
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    );
}

#[test]
fn roots_of_every_prefix_match_the_reference() {
    let t = tree();
    for size in 1..=8u64 {
        assert_eq!(
            to_hex(&t.root_at(size).expect("root")),
            ROOTS[(size - 1) as usize],
            "size {size}"
        );
        let leaves: Vec<Hash> = LEAVES[..size as usize]
            .iter()
            .map(|l| leaf_hash(&unhex(l)))
            .collect();
        assert_eq!(
            merkle::root(&leaves),
            root(size),
            "streaming root, size {size}"
        );
    }
}

#[test]
fn inclusion_proofs_match_the_reference_and_verify() {
    let t = tree();
    for (index, size, proof) in inclusion_vectors() {
        assert_eq!(
            t.inclusion_proof(index, size).expect("proof"),
            proof,
            "{index} in {size}"
        );
        let leaf = leaf_hash(&unhex(LEAVES[index as usize]));
        verify_inclusion(index, size, &leaf, &proof, &root(size))
            .expect("reference proof verifies");
    }
}

#[test]
fn consistency_proofs_match_the_reference_and_verify() {
    let t = tree();
    for (old, new, proof) in consistency_vectors() {
        assert_eq!(
            t.consistency_proof(old, new).expect("proof"),
            proof,
            "{old} -> {new}"
        );
        verify_consistency(old, new, &root(old), &root(new), &proof)
            .expect("reference proof verifies");
    }
}

fn some_hash() -> Hash {
    h("abacaba000000000000000000000000000000000000000000060061e00123456")
}

/// The corruption probes of the reference suites: each must be rejected.
#[test]
fn corrupted_inclusion_proofs_are_rejected() {
    for (index, size, proof) in inclusion_vectors() {
        let leaf = leaf_hash(&unhex(LEAVES[index as usize]));
        let r = root(size);
        let mut probes: Vec<(String, u64, u64, Hash, Vec<Hash>, Hash)> = vec![
            (
                "index - 1".into(),
                index.wrapping_sub(1),
                size,
                leaf,
                proof.clone(),
                r,
            ),
            ("index + 1".into(), index + 1, size, leaf, proof.clone(), r),
            ("index ^ 2".into(), index ^ 2, size, leaf, proof.clone(), r),
            ("size * 2".into(), index, size * 2, leaf, proof.clone(), r),
            ("size / 2".into(), index, size / 2, leaf, proof.clone(), r),
            (
                "wrong leaf".into(),
                index,
                size,
                leaf_hash(b"WrongLeaf"),
                proof.clone(),
                r,
            ),
            (
                "empty root".into(),
                index,
                size,
                leaf,
                proof.clone(),
                empty_root(),
            ),
            (
                "random root".into(),
                index,
                size,
                leaf,
                proof.clone(),
                some_hash(),
            ),
            (
                "trailing root".into(),
                index,
                size,
                leaf,
                [proof.clone(), vec![r]].concat(),
                r,
            ),
            (
                "preceding root".into(),
                index,
                size,
                leaf,
                [vec![r], proof.clone()].concat(),
                r,
            ),
        ];
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i][0] ^= 8;
            probes.push((
                format!("modified proof[{i}] bit 3"),
                index,
                size,
                leaf,
                p,
                r,
            ));
        }
        if !proof.is_empty() {
            probes.push((
                "removed component".into(),
                index,
                size,
                leaf,
                proof[..proof.len() - 1].to_vec(),
                r,
            ));
        }
        if proof.len() > 1 {
            let p = [vec![proof[0], some_hash()], proof[1..].to_vec()].concat();
            probes.push(("inserted component".into(), index, size, leaf, p, r));
        }
        for (desc, i, s, l, p, rt) in probes {
            // A probe that happens to leave the statement unchanged (e.g.
            // index ^ 2 == index for no index here) would be a bad probe.
            if (i, s, l, &p, rt) == (index, size, leaf, &proof, r) {
                continue;
            }
            assert!(
                verify_inclusion(i, s, &l, &p, &rt).is_err(),
                "{desc}: {index} in {size} accepted"
            );
        }
    }
}

#[test]
fn corrupted_consistency_proofs_are_rejected() {
    for (old, new, proof) in consistency_vectors() {
        if proof.is_empty() {
            continue;
        }
        let (r1, r2) = (root(old), root(new));
        let wrong = some_hash();
        let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            ("old - 1".into(), old - 1, new, r1, r2, proof.clone()),
            ("old + 1".into(), old + 1, new, r1, r2, proof.clone()),
            ("old ^ 2".into(), old ^ 2, new, r1, r2, proof.clone()),
            ("new * 2".into(), old, new * 2, r1, r2, proof.clone()),
            ("new / 2".into(), old, new / 2, r1, r2, proof.clone()),
            ("wrong old root".into(), old, new, wrong, r2, proof.clone()),
            ("wrong new root".into(), old, new, r1, wrong, proof.clone()),
            ("swapped roots".into(), old, new, r2, r1, proof.clone()),
            ("empty proof".into(), old, new, r1, r2, vec![]),
            (
                "trailing old root".into(),
                old,
                new,
                r1,
                r2,
                [proof.clone(), vec![r1]].concat(),
            ),
            (
                "trailing new root".into(),
                old,
                new,
                r1,
                r2,
                [proof.clone(), vec![r2]].concat(),
            ),
            (
                "preceding old root".into(),
                old,
                new,
                r1,
                r2,
                [vec![r1], proof.clone()].concat(),
            ),
            (
                "preceding new root".into(),
                old,
                new,
                r1,
                r2,
                [vec![r2], proof.clone()].concat(),
            ),
            (
                "preceding proof[0]".into(),
                old,
                new,
                r1,
                r2,
                [vec![proof[0]], proof.clone()].concat(),
            ),
            (
                "truncated".into(),
                old,
                new,
                r1,
                r2,
                proof[..proof.len() - 1].to_vec(),
            ),
        ];
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i][0] ^= 16;
            probes.push((format!("modified proof[{i}] bit 4"), old, new, r1, r2, p));
        }
        for (desc, o, n, a, b, p) in probes {
            assert!(
                verify_consistency(o, n, &a, &b, &p).is_err(),
                "{desc}: {old} -> {new} accepted"
            );
        }
    }
}

#[test]
fn sizes_needing_no_proof() {
    let r = root(3);
    verify_consistency(3, 3, &r, &r, &[]).expect("same tree");
    verify_consistency(0, 0, &empty_root(), &empty_root(), &[]).expect("both empty");
    verify_consistency(0, 3, &empty_root(), &r, &[]).expect("empty is a prefix of all");
    assert!(matches!(
        verify_consistency(3, 3, &r, &r, &[empty_root()]),
        Err(MerkleError::ProofLength { .. })
    ));
    assert!(matches!(
        verify_consistency(1, 2, &root(1), &root(2), &[]),
        Err(MerkleError::ProofLength { .. })
    ));
    assert!(matches!(
        verify_consistency(2, 1, &root(2), &root(1), &[]),
        Err(MerkleError::Shrinks { .. })
    ));
    // A one-leaf tree: the leaf hash is the root and the proof is empty.
    let leaf = leaf_hash(b"data");
    verify_inclusion(0, 1, &leaf, &[], &leaf).expect("single leaf");
    assert!(verify_inclusion(0, 0, &leaf, &[], &leaf).is_err());
    assert!(verify_inclusion(2, 1, &leaf, &[], &leaf).is_err());
}

/// fusion's own leaves: the 32 raw bytes of each record's `hash`.
#[test]
fn record_leaves_hash_the_raw_32_bytes() {
    let record_hash = "00".repeat(31) + "ff";
    let mut raw = [0u8; 32];
    raw[31] = 0xff;
    assert_eq!(
        merkle::record_leaf(&record_hash).expect("hex"),
        leaf_hash(&raw)
    );
    assert_ne!(
        merkle::record_leaf(&record_hash).expect("hex"),
        leaf_hash(record_hash.as_bytes())
    );
    let t = Tree::from_record_hashes([record_hash.as_str()]).expect("tree");
    assert_eq!(t.root(), leaf_hash(&raw));
    assert!(matches!(
        Tree::from_record_hashes(["zz"]),
        Err(MerkleError::BadHex(_))
    ));
}
