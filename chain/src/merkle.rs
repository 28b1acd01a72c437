//! Binary Merkle roots over lists of SCALE encodings (transaction and
//! receipt roots).
//!
//! Normative text: `specs/chain.md` ("Merkle roots"). Leaves are
//! `keccak256(0x00 || item)`, inner nodes `keccak256(0x01 || left || right)`;
//! levels are built left to right and an odd last node is carried up
//! unchanged (never duplicated, so two different lists never share a root).
//! The root of the empty list is 32 zero bytes.

use cairn_host_api::keccak256;
use cairn_host_api::world::H256;

const LEAF: u8 = 0x00;
const INNER: u8 = 0x01;

/// The hash of one leaf.
pub fn leaf_hash(item: &[u8]) -> H256 {
    let mut preimage = Vec::with_capacity(1 + item.len());
    preimage.push(LEAF);
    preimage.extend_from_slice(item);
    keccak256(&preimage)
}

fn inner_hash(left: &H256, right: &H256) -> H256 {
    let mut preimage = [0u8; 65];
    preimage[0] = INNER;
    preimage[1..33].copy_from_slice(left.as_bytes());
    preimage[33..].copy_from_slice(right.as_bytes());
    keccak256(&preimage)
}

/// The binary Merkle root of `items` (each already SCALE-encoded).
pub fn merkle_root<I, T>(items: I) -> H256
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut level: Vec<H256> = items
        .into_iter()
        .map(|item| leaf_hash(item.as_ref()))
        .collect();
    if level.is_empty() {
        return H256::zero();
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => inner_hash(left, right),
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two items"),
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_trees_have_the_specified_shape() {
        assert_eq!(merkle_root(Vec::<Vec<u8>>::new()), H256::zero());
        let (a, b, c) = (leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c"));
        assert_eq!(merkle_root([b"a"]), a);
        assert_eq!(merkle_root([b"a", b"b"]), inner_hash(&a, &b));
        assert_eq!(
            merkle_root([b"a", b"b", b"c"]),
            inner_hash(&inner_hash(&a, &b), &c)
        );
    }

    #[test]
    fn order_and_odd_leaf_matter() {
        assert_ne!(merkle_root([b"a", b"b"]), merkle_root([b"b", b"a"]));
        // Not Bitcoin's duplicate-last rule: [a, b, c] != [a, b, c, c].
        assert_ne!(
            merkle_root([b"a", b"b", b"c"]),
            merkle_root([b"a", b"b", b"c", b"c"])
        );
        // A leaf never collides with an inner node of the same bytes.
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut joined = a.as_bytes().to_vec();
        joined.extend_from_slice(b.as_bytes());
        assert_ne!(merkle_root([joined]), merkle_root([b"a", b"b"]));
    }
}
