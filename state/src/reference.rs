//! The root by definition: a deliberately simple recursive function over the
//! sorted key/value set, with no storage, no nibbles and no optimisation.
//! Tests check the real trie against it; other implementations can too.

use crate::hash::{EMPTY_HASH, Hash, StateRoot, bit, internal_hash, keccak256, leaf_hash};

/// The state root of a key/value set, from scratch.
#[must_use]
pub fn reference_root<'a>(entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> StateRoot {
    let mut leaves: Vec<(Hash, Hash)> = entries
        .into_iter()
        .map(|(k, v)| (keccak256(k), keccak256(v)))
        .collect();
    leaves.sort_unstable();
    StateRoot(subtree_root(&leaves, 0))
}

/// The hash of the subtree at `depth` holding `leaves` (all sharing their
/// first `depth` bits): empty, a lone leaf, or an internal node over the
/// halves split by bit `depth`.
pub(crate) fn subtree_root(leaves: &[(Hash, Hash)], depth: usize) -> Hash {
    match leaves {
        [] => EMPTY_HASH,
        [(key_hash, value_hash)] => leaf_hash(key_hash, value_hash),
        _ => {
            let split = leaves.partition_point(|(key_hash, _)| bit(key_hash, depth) == 0);
            let (left, right) = leaves.split_at(split);
            internal_hash(
                &subtree_root(left, depth + 1),
                &subtree_root(right, depth + 1),
            )
        }
    }
}
