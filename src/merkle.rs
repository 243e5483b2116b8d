//! The Merkle tree over the ledger, as in RFC 9162 §2.1 (the same tree as
//! RFC 6962).
//!
//! Leaves are the records in `seq` order; the leaf input of a record is the
//! 32 raw bytes of its `hash` (the hex string decoded). Hashes:
//!
//! - leaf = SHA-256(0x00 ‖ leaf input)
//! - node = SHA-256(0x01 ‖ left ‖ right)
//! - the root of the empty tree = SHA-256("")
//!
//! For n > 1 leaves, with k the largest power of two smaller than n,
//! MTH(D\[0:n\]) = node(MTH(D\[0:k\]), MTH(D\[k:n\])).
//!
//! [`Tree`] keeps every complete subtree hash (about 2n hashes), so the root
//! of any prefix, an inclusion proof or a consistency proof costs O(log n)
//! hash look-ups and O(log² n) hash computations at most. [`root`] computes a
//! root in O(n) time and O(log n) memory without keeping the tree.
//! The verifiers ([`verify_inclusion`], [`verify_consistency`]) are the
//! algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2; they never panic and reject
//! proofs longer than [`MAX_PROOF_LEN`] before doing any work.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The longest proof any tree of at most 2^64 − 1 leaves needs. Longer
/// proofs are rejected before any hashing.
pub const MAX_PROOF_LEN: usize = 64;

/// Why a tree operation or a proof failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// A leaf index outside the tree.
    #[error("leaf index {index} is outside a tree of size {size} (indexes run from 0 to size - 1)")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A tree size larger than the tree that is there.
    #[error("tree size {asked} is larger than the {have} leaves available")]
    SizeTooLarge {
        /// The size asked for.
        asked: u64,
        /// The leaves there are.
        have: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}: a log only grows")]
    Shrinks {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// A proof with the wrong number of hashes.
    #[error(
        "proof has {found} hashes, a tree of size {size} needs {expected} here (forged or truncated proof)"
    )]
    ProofLength {
        /// Hashes in the proof.
        found: usize,
        /// Hashes expected.
        expected: usize,
        /// The (new) tree size.
        size: u64,
    },
    /// The proof does not lead to the expected root.
    #[error(
        "proof does not lead to the expected root: computed {computed}, expected {expected} (forged proof, wrong leaf or wrong root)"
    )]
    RootMismatch {
        /// Root computed from the proof, hex.
        computed: String,
        /// Root expected, hex.
        expected: String,
    },
    /// The consistency proof does not reproduce the old root.
    #[error(
        "consistency proof does not reproduce the old root: computed {computed}, expected {expected} (the old tree is not a prefix of the new one, or the proof is forged)"
    )]
    OldRootMismatch {
        /// Old root computed from the proof, hex.
        computed: String,
        /// Old root expected, hex.
        expected: String,
    },
    /// Two trees of the same size with different roots.
    #[error(
        "trees of the same size {size} have different roots {old} and {new}: the log was rewritten (a fork)"
    )]
    Fork {
        /// The common size.
        size: u64,
        /// The old root, hex.
        old: String,
        /// The new root, hex.
        new: String,
    },
    /// An empty tree whose claimed root is not SHA-256("").
    #[error("a tree of size 0 must have root {expected} (SHA-256 of nothing), found {found}")]
    BadEmptyRoot {
        /// The root claimed, hex.
        found: String,
        /// SHA-256(""), hex.
        expected: String,
    },
    /// A string that is not a 32-byte hash in lowercase hex.
    #[error("`{0}` is not a SHA-256 hash in lowercase hex (64 digits 0-9a-f)")]
    BadHex(String),
}

/// SHA-256 of a leaf: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// SHA-256 of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// Decodes a 64-digit lowercase hex string into 32 bytes.
pub fn hash_from_hex(s: &str) -> Result<Hash, MerkleError> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return Err(MerkleError::BadHex(shorten(s)));
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = hex_digit(pair[0]).ok_or_else(|| MerkleError::BadHex(shorten(s)))?;
        let lo = hex_digit(pair[1]).ok_or_else(|| MerkleError::BadHex(shorten(s)))?;
        out[i] = (hi << 4) | lo;
    }
    Ok(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Lowercase hex of a hash.
pub fn to_hex(h: &Hash) -> String {
    crate::record::hex(h)
}

/// At most 80 characters of a hostile string, for error messages.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// The leaf hash of a ledger record: `leaf_hash` of the 32 bytes its `hash`
/// (64 lowercase hex digits) encodes.
pub fn record_leaf(record_hash_hex: &str) -> Result<Hash, MerkleError> {
    Ok(leaf_hash(&hash_from_hex(record_hash_hex)?))
}

/// The root over leaf hashes, in O(n) time and O(log n) memory.
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    // A stack of complete subtrees, as in a compact range: entry (height, hash).
    let mut stack: Vec<(u32, Hash)> = Vec::with_capacity(64);
    for leaf in leaf_hashes {
        let mut cur = (0u32, *leaf);
        while let Some(&(h, top)) = stack.last() {
            if h != cur.0 {
                break;
            }
            stack.pop();
            cur = (h + 1, node_hash(&top, &cur.1));
        }
        stack.push(cur);
    }
    fold_right(stack.iter().map(|(_, h)| *h))
}

/// Folds complete subtree hashes (left to right, decreasing sizes) into the
/// root: node(a, node(b, node(c, d))).
fn fold_right(subtrees: impl DoubleEndedIterator<Item = Hash>) -> Hash {
    let mut it = subtrees.rev();
    let Some(mut acc) = it.next() else {
        return empty_root();
    };
    for left in it {
        acc = node_hash(&left, &acc);
    }
    acc
}

/// The largest power of two strictly smaller than `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// A Merkle tree that keeps every complete subtree hash, for proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// `levels[h][i]` is the hash of the complete subtree of 2^h leaves that
    /// starts at leaf i·2^h. `levels[0]` are the leaf hashes.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// Builds the tree over leaf hashes (already `leaf_hash`ed), in O(n).
    pub fn from_leaf_hashes(leaf_hashes: Vec<Hash>) -> Tree {
        let mut levels = vec![leaf_hashes];
        loop {
            let next: Vec<Hash> = match levels.last() {
                Some(prev) if prev.len() >= 2 => prev
                    .chunks_exact(2)
                    .map(|pair| node_hash(&pair[0], &pair[1]))
                    .collect(),
                _ => break,
            };
            levels.push(next);
        }
        Tree { levels }
    }

    /// Builds the tree over raw leaf inputs (each hashed with [`leaf_hash`]).
    pub fn from_leaves<I, B>(leaves: I) -> Tree
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        Tree::from_leaf_hashes(leaves.into_iter().map(|l| leaf_hash(l.as_ref())).collect())
    }

    /// Builds the tree over ledger records, given their `hash` members in
    /// `seq` order.
    pub fn from_record_hashes<I, S>(hashes: I) -> Result<Tree, MerkleError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let leaves = hashes
            .into_iter()
            .map(|h| record_leaf(h.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Tree::from_leaf_hashes(leaves))
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The leaf hash at `index`, if any.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        let i = usize::try_from(index).ok()?;
        self.levels.first()?.get(i).copied()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.mth(0, self.size())
    }

    /// The root of the tree made of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, MerkleError> {
        self.check_size(size)?;
        Ok(self.mth(0, size))
    }

    fn check_size(&self, size: u64) -> Result<(), MerkleError> {
        if size > self.size() {
            return Err(MerkleError::SizeTooLarge {
                asked: size,
                have: self.size(),
            });
        }
        Ok(())
    }

    /// The complete subtree of 2^height leaves starting at `start`
    /// (`start` a multiple of 2^height, inside the tree).
    fn perfect(&self, height: u32, start: u64) -> Hash {
        let index = usize::try_from(start >> height).unwrap_or(usize::MAX);
        self.levels
            .get(height as usize)
            .and_then(|l| l.get(index))
            .copied()
            // Unreachable for the aligned, in-range calls made here; a
            // wrong value would only make a proof fail to verify.
            .unwrap_or([0u8; 32])
    }

    /// MTH(D[start:start+len]) where `start` is a multiple of the smallest
    /// power of two >= len — the shape of every range RFC 9162's recursions
    /// visit — in O(log n).
    fn mth(&self, start: u64, len: u64) -> Hash {
        let mut subtrees = Vec::with_capacity(64);
        let mut s = start;
        let mut rest = len;
        while rest > 0 {
            let height = 63 - rest.leading_zeros();
            subtrees.push(self.perfect(height, s));
            s += 1u64 << height;
            rest -= 1u64 << height;
        }
        fold_right(subtrees.into_iter())
    }

    /// The inclusion proof (audit path, RFC 9162 §2.1.3.1) of leaf `index`
    /// in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(size)?;
        if index >= size {
            return Err(MerkleError::IndexOutOfRange { index, size });
        }
        // PATH(m, D[s:s+n]): descend, collecting siblings top-down.
        let mut top_down = Vec::new();
        let (mut m, mut s, mut n) = (index, 0u64, size);
        while n > 1 {
            let k = split_point(n);
            if m < k {
                top_down.push(self.mth(s + k, n - k));
                n = k;
            } else {
                top_down.push(self.mth(s, k));
                m -= k;
                s += k;
                n -= k;
            }
        }
        top_down.reverse();
        Ok(top_down)
    }

    /// The consistency proof (RFC 9162 §2.1.4.1) between the tree of the
    /// first `old` leaves and the tree of the first `new` leaves. Empty when
    /// `old` is 0 or equal to `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(new)?;
        if old > new {
            return Err(MerkleError::Shrinks { old, new });
        }
        if old == 0 || old == new {
            return Ok(Vec::new());
        }
        // SUBPROOF(m, D[s:s+n], b), collected top-down.
        let mut top_down = Vec::new();
        let (mut m, mut s, mut n, mut b) = (old, 0u64, new, true);
        while m != n {
            let k = split_point(n);
            if m <= k {
                top_down.push(self.mth(s + k, n - k));
                n = k;
            } else {
                top_down.push(self.mth(s, k));
                m -= k;
                s += k;
                n -= k;
                b = false;
            }
        }
        if !b {
            top_down.push(self.mth(s, n));
        }
        top_down.reverse();
        Ok(top_down)
    }
}

/// The number of hashes in the inclusion proof of `index` in a tree of
/// `size` leaves (`index < size`).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    // Height of the full path, minus the levels skipped on the right edge.
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// Recomputes the root from an inclusion proof (RFC 9162 §2.1.3.2).
pub fn root_from_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected || proof.len() > MAX_PROOF_LEN {
        return Err(MerkleError::ProofLength {
            found: proof.len(),
            expected,
            size,
        });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(MerkleError::ProofLength {
                found: proof.len(),
                expected,
                size,
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(MerkleError::ProofLength {
            found: proof.len(),
            expected,
            size,
        });
    }
    Ok(r)
}

/// Checks that `leaf` is at `index` in the tree of `size` leaves with `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    let computed = root_from_inclusion(index, size, leaf, proof)?;
    if &computed != root {
        return Err(MerkleError::RootMismatch {
            computed: to_hex(&computed),
            expected: to_hex(root),
        });
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with `old_root` is a prefix of
/// the tree of `new_size` leaves with `new_root` (RFC 9162 §2.1.4.2).
///
/// Sizes that need no proof: `old_size == new_size` (the roots must be
/// equal) and `old_size == 0` (the old root must be SHA-256("")); the proof
/// must then be empty.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::Shrinks {
            old: old_size,
            new: new_size,
        });
    }
    let length = |expected: usize| MerkleError::ProofLength {
        found: proof.len(),
        expected,
        size: new_size,
    };
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(length(0));
        }
        let empty = empty_root();
        if old_root != &empty {
            return Err(MerkleError::BadEmptyRoot {
                found: to_hex(old_root),
                expected: to_hex(&empty),
            });
        }
        return Ok(());
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(length(0));
        }
        if old_root != new_root {
            return Err(MerkleError::Fork {
                size: old_size,
                old: to_hex(old_root),
                new: to_hex(new_root),
            });
        }
        return Ok(());
    }
    let expected = consistency_proof_len(old_size, new_size);
    if proof.len() != expected || proof.len() > MAX_PROOF_LEN {
        return Err(length(expected));
    }
    // Step 2: if old_size is a power of two, the old root is the first node.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(length(expected));
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(length(expected));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(length(expected));
    }
    if &fr != old_root {
        return Err(MerkleError::OldRootMismatch {
            computed: to_hex(&fr),
            expected: to_hex(old_root),
        });
    }
    if &sr != new_root {
        return Err(MerkleError::RootMismatch {
            computed: to_hex(&sr),
            expected: to_hex(new_root),
        });
    }
    Ok(())
}

/// The number of hashes in the consistency proof from `old` to `new` leaves
/// (0 when `old` is 0 or `old >= new`).
pub fn consistency_proof_len(old: u64, new: u64) -> usize {
    if old == 0 || old >= new {
        return 0;
    }
    // The proof is the inclusion path of leaf old-1 in the new tree, minus
    // the levels where the old tree's last complete subtree already is a
    // node, plus that node itself unless old is a power of two.
    let shift = old.trailing_zeros();
    let inner = 64 - ((old - 1) ^ (new - 1)).leading_zeros();
    let inner = inner.saturating_sub(shift);
    let border = (old - 1)
        .checked_shr(inner + shift)
        .unwrap_or(0)
        .count_ones();
    let start = if old.is_power_of_two() { 0 } else { 1 };
    (start + inner + border) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        hash_from_hex(s).expect("hex")
    }

    /// MTH straight from the RFC's recursive definition, as an oracle.
    fn mth_naive(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth_naive(&leaves[..k]), &mth_naive(&leaves[k..]))
            }
        }
    }

    fn path_naive(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = split_point(n as u64) as usize;
        if m < k {
            let mut p = path_naive(m, &leaves[..k]);
            p.push(mth_naive(&leaves[k..]));
            p
        } else {
            let mut p = path_naive(m - k, &leaves[k..]);
            p.push(mth_naive(&leaves[..k]));
            p
        }
    }

    fn subproof_naive(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if b { vec![] } else { vec![mth_naive(leaves)] };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = subproof_naive(m, &leaves[..k], b);
            p.push(mth_naive(&leaves[k..]));
            p
        } else {
            let mut p = subproof_naive(m - k, &leaves[k..], false);
            p.push(mth_naive(&leaves[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(
            to_hex(&Tree::from_leaf_hashes(vec![]).root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(root(&[]), empty_root());
    }

    #[test]
    fn roots_match_the_recursive_definition_for_every_prefix() {
        let all = leaves(70);
        let tree = Tree::from_leaf_hashes(all.clone());
        for n in 0..=70 {
            let want = mth_naive(&all[..n]);
            assert_eq!(tree.root_at(n as u64).expect("in range"), want, "size {n}");
            assert_eq!(root(&all[..n]), want, "streaming, size {n}");
        }
        assert!(matches!(
            tree.root_at(71),
            Err(MerkleError::SizeTooLarge {
                asked: 71,
                have: 70
            })
        ));
    }

    #[test]
    fn proofs_match_the_recursive_definition_and_verify() {
        let all = leaves(40);
        let tree = Tree::from_leaf_hashes(all.clone());
        for n in 1..=40usize {
            let r = mth_naive(&all[..n]);
            for m in 0..n {
                let p = tree.inclusion_proof(m as u64, n as u64).expect("proof");
                assert_eq!(p, path_naive(m, &all[..n]), "path {m} in {n}");
                assert_eq!(p.len(), inclusion_proof_len(m as u64, n as u64));
                verify_inclusion(m as u64, n as u64, &all[m], &p, &r).expect("verifies");
            }
            for m in 1..n {
                let p = tree.consistency_proof(m as u64, n as u64).expect("proof");
                assert_eq!(
                    p,
                    subproof_naive(m, &all[..n], true),
                    "consistency {m} -> {n}"
                );
                assert_eq!(
                    p.len(),
                    consistency_proof_len(m as u64, n as u64),
                    "len {m} -> {n}"
                );
                let old = mth_naive(&all[..m]);
                verify_consistency(m as u64, n as u64, &old, &r, &p).expect("consistent");
            }
        }
    }

    #[test]
    fn a_wrong_leaf_or_index_fails_inclusion() {
        let all = leaves(13);
        let tree = Tree::from_leaf_hashes(all.clone());
        let r = tree.root();
        let p = tree.inclusion_proof(5, 13).expect("proof");
        assert!(matches!(
            verify_inclusion(5, 13, &all[6], &p, &r),
            Err(MerkleError::RootMismatch { .. })
        ));
        assert!(verify_inclusion(4, 13, &all[5], &p, &r).is_err());
        assert!(matches!(
            verify_inclusion(13, 13, &all[5], &p, &r),
            Err(MerkleError::IndexOutOfRange {
                index: 13,
                size: 13
            })
        ));
        let mut forged = p.clone();
        forged[1][0] ^= 1;
        assert!(matches!(
            verify_inclusion(5, 13, &all[5], &forged, &r),
            Err(MerkleError::RootMismatch { .. })
        ));
        let mut longer = p;
        longer.push(r);
        assert!(matches!(
            verify_inclusion(5, 13, &all[5], &longer, &r),
            Err(MerkleError::ProofLength { .. })
        ));
    }

    #[test]
    fn a_rewritten_prefix_fails_consistency() {
        let all = leaves(20);
        let tree = Tree::from_leaf_hashes(all.clone());
        let mut other = all.clone();
        other[3] = leaf_hash(b"rewritten");
        let forked = Tree::from_leaf_hashes(other);
        let p = tree.consistency_proof(7, 20).expect("proof");
        let old_forked = forked.root_at(7).expect("root");
        assert!(matches!(
            verify_consistency(7, 20, &old_forked, &tree.root(), &p),
            Err(MerkleError::OldRootMismatch { .. })
        ));
        assert!(matches!(
            verify_consistency(
                8,
                8,
                &forked.root_at(8).expect("r"),
                &tree.root_at(8).expect("r"),
                &[]
            ),
            Err(MerkleError::Fork { size: 8, .. })
        ));
        assert!(matches!(
            verify_consistency(9, 8, &tree.root(), &tree.root(), &[]),
            Err(MerkleError::Shrinks { old: 9, new: 8 })
        ));
        assert!(matches!(
            verify_consistency(0, 8, &tree.root(), &tree.root(), &[]),
            Err(MerkleError::BadEmptyRoot { .. })
        ));
        verify_consistency(0, 8, &empty_root(), &tree.root(), &[]).expect("empty is a prefix");
    }

    #[test]
    fn proof_lengths_are_logarithmic_for_a_million_leaves() {
        let n: u64 = 1_000_000;
        let tree = Tree::from_leaf_hashes((0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect());
        let r = tree.root();
        for index in [0, 1, 499_999, 524_287, 524_288, 999_998, 999_999] {
            let p = tree.inclusion_proof(index, n).expect("proof");
            assert!(p.len() <= 20, "index {index}: {} hashes", p.len());
            verify_inclusion(index, n, &tree.leaf(index).expect("leaf"), &p, &r).expect("verifies");
        }
        for old in [1, 2, 3, 1000, 524_288, 777_777, 999_999] {
            let p = tree.consistency_proof(old, n).expect("proof");
            assert!(p.len() <= 21, "old {old}: {} hashes", p.len());
            verify_consistency(old, n, &tree.root_at(old).expect("r"), &r, &p).expect("consistent");
        }
    }

    #[test]
    fn hex_is_strict() {
        assert!(hash_from_hex(&"ab".repeat(32)).is_ok());
        assert!(matches!(
            hash_from_hex(&"AB".repeat(32)),
            Err(MerkleError::BadHex(_))
        ));
        assert!(hash_from_hex(&"ab".repeat(31)).is_err());
        assert!(hash_from_hex(&"é".repeat(32)).is_err());
        assert_eq!(
            h("00000000000000000000000000000000000000000000000000000000000000ff")[31],
            0xff
        );
    }
}
