//! Storage nodes of the trie and their SCALE encoding.
//!
//! The trie is stored 16-ary (one node per nibble of path, for locality) but
//! hashed as a binary trie: an internal node's hash is the root of the
//! 4-level binary tree over its 16 child slots. A single leaf alone in a
//! subtree replaces that subtree (single-child compression), so proofs carry
//! one sibling per bit of the path down to where a key's leaf really sits.

use crate::hash::{EMPTY_HASH, Hash, internal_hash, leaf_hash, nibble};
use parity_scale_codec::{Compact, Decode, Encode, Error as CodecError, Input, Output};

/// A path of nibbles from the root: where a node sits in the 16-ary trie.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NibblePath {
    nibbles: Vec<u8>,
}

impl NibblePath {
    /// The root's path.
    #[must_use]
    pub fn root() -> Self {
        Self::default()
    }

    /// The first `len` nibbles of `key_hash`.
    #[must_use]
    pub fn prefix_of(key_hash: &Hash, len: usize) -> Self {
        Self {
            nibbles: (0..len).map(|i| nibble(key_hash, i)).collect(),
        }
    }

    /// Number of nibbles.
    #[must_use]
    pub fn len(&self) -> usize {
        self.nibbles.len()
    }

    /// Whether this is the root path.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nibbles.is_empty()
    }

    /// The path of child `nibble` of the node at this path.
    #[must_use]
    pub fn child(&self, nibble: u8) -> Self {
        let mut nibbles = Vec::with_capacity(self.nibbles.len() + 1);
        nibbles.extend_from_slice(&self.nibbles);
        nibbles.push(nibble);
        Self { nibbles }
    }

    /// Whether `key_hash` starts with this path.
    #[must_use]
    pub fn is_prefix_of(&self, key_hash: &Hash) -> bool {
        self.nibbles
            .iter()
            .enumerate()
            .all(|(i, n)| nibble(key_hash, i) == *n)
    }

    /// The nibbles, one per byte.
    #[must_use]
    pub fn nibbles(&self) -> &[u8] {
        &self.nibbles
    }
}

impl std::fmt::Debug for NibblePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for NibblePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.nibbles.is_empty() {
            return f.write_str("<root>");
        }
        for n in &self.nibbles {
            write!(f, "{n:x}")?;
        }
        Ok(())
    }
}

/// Where a node is stored: the version that wrote it and its path. Nodes are
/// immutable; a change writes new nodes under the new version.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeKey {
    /// The version (block height) that wrote the node.
    pub version: u64,
    /// The node's position in the 16-ary trie.
    pub path: NibblePath,
}

impl NodeKey {
    /// A node key.
    #[must_use]
    pub fn new(version: u64, path: NibblePath) -> Self {
        Self { version, path }
    }

    /// The storage key: `version (u64 big-endian) ‖ nibble count (u8) ‖
    /// nibbles packed two per byte, high nibble first, padded with 0`.
    /// Big-endian versions keep one version's nodes together on disk.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + self.path.len().div_ceil(2));
        out.extend_from_slice(&self.version.to_be_bytes());
        // A path has at most 64 nibbles (a 256-bit key hash).
        out.push(u8::try_from(self.path.len()).unwrap_or(u8::MAX));
        for pair in self.path.nibbles.chunks(2) {
            let low = pair.get(1).copied().unwrap_or(0);
            out.push((pair[0] << 4) | low);
        }
        out
    }

    /// Parses [`NodeKey::to_bytes`]; `None` if malformed.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let version = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let len = usize::from(*bytes.get(8)?);
        let packed = bytes.get(9..)?;
        if len > 64 || packed.len() != len.div_ceil(2) {
            return None;
        }
        let nibbles: Vec<u8> = (0..len)
            .map(|i| {
                if i.is_multiple_of(2) {
                    packed[i / 2] >> 4
                } else {
                    packed[i / 2] & 0x0f
                }
            })
            .collect();
        if !len.is_multiple_of(2) && packed[len / 2] & 0x0f != 0 {
            return None;
        }
        Some(Self {
            version,
            path: NibblePath { nibbles },
        })
    }
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "(written at version {}, path {})",
            self.version, self.path
        )
    }
}

impl Encode for NodeKey {
    fn size_hint(&self) -> usize {
        10 + self.path.len().div_ceil(2)
    }
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        self.to_bytes().encode_to(dest);
    }
}

impl Decode for NodeKey {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        let bytes = Vec::<u8>::decode(input)?;
        Self::from_bytes(&bytes).ok_or_else(|| "malformed node key".into())
    }
}

/// A leaf: commits to the hash of a key and the hash of its value.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct LeafNode {
    /// keccak256 of the key.
    pub key_hash: Hash,
    /// keccak256 of the value.
    pub value_hash: Hash,
}

impl LeafNode {
    /// The leaf's hash (see [`leaf_hash`]).
    #[must_use]
    pub fn hash(&self) -> Hash {
        leaf_hash(&self.key_hash, &self.value_hash)
    }
}

impl std::fmt::Debug for LeafNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LeafNode {{ key_hash: {}, value_hash: {} }}",
            crate::hash::to_hex(&self.key_hash),
            crate::hash::to_hex(&self.value_hash)
        )
    }
}

/// A reference from an internal node to one of its children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Child {
    /// The child's hash.
    pub hash: Hash,
    /// The version that wrote the child (its [`NodeKey::version`]).
    pub version: u64,
    /// Whether the child is a leaf (needed to hash the parent: a lone leaf
    /// replaces its binary subtree, a lone internal node does not).
    pub is_leaf: bool,
}

/// A 16-ary internal node: up to 16 children indexed by nibble. Holds at
/// least two leaves in its subtree (a lone leaf would have replaced it).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InternalNode {
    /// Children by nibble.
    pub children: [Option<Child>; 16],
}

/// Summary of a contiguous range of child slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeShape {
    /// No child in the range.
    Empty,
    /// Exactly one child, a leaf, at this nibble: it stands for the range.
    LoneLeaf(u8),
    /// Exactly one child, an internal node, in a range of width 1.
    LoneInternal(u8),
    /// Anything else: the range is an internal binary node.
    Branch,
}

impl InternalNode {
    /// The node's hash: root of the binary tree over its 16 slots.
    #[must_use]
    pub fn hash(&self) -> Hash {
        self.range_hash(0, 16)
    }

    pub(crate) fn range_shape(&self, start: u8, width: u8) -> RangeShape {
        let mut found = None;
        let mut count = 0;
        for i in start..start + width {
            if let Some(child) = &self.children[usize::from(i)] {
                count += 1;
                found = Some((i, child.is_leaf));
            }
        }
        match (count, found) {
            (0, _) => RangeShape::Empty,
            (1, Some((i, true))) => RangeShape::LoneLeaf(i),
            (1, Some((i, false))) if width == 1 => RangeShape::LoneInternal(i),
            _ => RangeShape::Branch,
        }
    }

    /// Hash of the binary subtree over slots `start..start + width` (width a
    /// power of two).
    pub(crate) fn range_hash(&self, start: u8, width: u8) -> Hash {
        match self.range_shape(start, width) {
            RangeShape::Empty => EMPTY_HASH,
            RangeShape::LoneLeaf(i) | RangeShape::LoneInternal(i) => {
                self.children[usize::from(i)].map_or(EMPTY_HASH, |c| c.hash)
            }
            RangeShape::Branch => {
                let half = width / 2;
                internal_hash(
                    &self.range_hash(start, half),
                    &self.range_hash(start + half, half),
                )
            }
        }
    }

    fn check_shape(&self) -> Result<(), &'static str> {
        let children: Vec<&Child> = self.children.iter().flatten().collect();
        match children.as_slice() {
            [] => Err("internal node without children"),
            [only] if only.is_leaf => Err("internal node holding a single leaf"),
            _ => Ok(()),
        }
    }
}

impl Encode for InternalNode {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        let mut present = 0u16;
        let mut leaves = 0u16;
        for (i, child) in self.children.iter().enumerate() {
            if let Some(child) = child {
                present |= 1 << i;
                if child.is_leaf {
                    leaves |= 1 << i;
                }
            }
        }
        present.encode_to(dest);
        leaves.encode_to(dest);
        for child in self.children.iter().flatten() {
            dest.write(&child.hash);
            Compact(child.version).encode_to(dest);
        }
    }
}

impl Decode for InternalNode {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        let present = u16::decode(input)?;
        let leaves = u16::decode(input)?;
        if leaves & !present != 0 {
            return Err("leaf bit set for an absent child".into());
        }
        let mut node = InternalNode::default();
        for (i, slot) in node.children.iter_mut().enumerate() {
            if present & (1 << i) != 0 {
                let hash = <[u8; 32]>::decode(input)?;
                let version = Compact::<u64>::decode(input)?.0;
                *slot = Some(Child {
                    hash,
                    version,
                    is_leaf: leaves & (1 << i) != 0,
                });
            }
        }
        node.check_shape().map_err(CodecError::from)?;
        Ok(node)
    }
}

/// A stored trie node.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "nodes are decoded one at a time and mostly internal; boxing would add an allocation per read"
)]
pub enum Node {
    /// A leaf (SCALE variant index 0).
    Leaf(LeafNode),
    /// A 16-ary internal node (SCALE variant index 1).
    Internal(InternalNode),
}

impl Encode for Node {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        match self {
            Node::Leaf(leaf) => {
                dest.push_byte(0);
                leaf.encode_to(dest);
            }
            Node::Internal(node) => {
                dest.push_byte(1);
                node.encode_to(dest);
            }
        }
    }
}

impl Decode for Node {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        match input.read_byte()? {
            0 => Ok(Node::Leaf(LeafNode::decode(input)?)),
            1 => Ok(Node::Internal(InternalNode::decode(input)?)),
            _ => Err("unknown node kind".into()),
        }
    }
}

impl Node {
    /// The node's hash.
    #[must_use]
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf(leaf) => leaf.hash(),
            Node::Internal(internal) => internal.hash(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parity_scale_codec::DecodeAll;

    #[test]
    fn node_key_bytes_round_trip() {
        for len in [0usize, 1, 2, 7, 64] {
            let key = NodeKey::new(42, NibblePath::prefix_of(&[0xab; 32], len));
            assert_eq!(NodeKey::from_bytes(&key.to_bytes()), Some(key.clone()));
            assert_eq!(NodeKey::decode_all(&mut &key.encode()[..]).ok(), Some(key));
        }
        assert_eq!(NodeKey::from_bytes(&[0; 8]), None);
        // odd length with a non-zero padding nibble
        let mut bytes = NodeKey::new(1, NibblePath::prefix_of(&[0xff; 32], 1)).to_bytes();
        *bytes.last_mut().unwrap() |= 1;
        assert_eq!(NodeKey::from_bytes(&bytes), None);
    }

    #[test]
    fn internal_node_round_trips_and_rejects_bad_shapes() {
        let mut node = InternalNode::default();
        node.children[3] = Some(Child {
            hash: [3; 32],
            version: 7,
            is_leaf: true,
        });
        node.children[9] = Some(Child {
            hash: [9; 32],
            version: 300,
            is_leaf: false,
        });
        let wrapped = Node::Internal(node.clone());
        let bytes = wrapped.encode();
        assert_eq!(Node::decode_all(&mut &bytes[..]).unwrap(), wrapped);

        let mut lone = InternalNode::default();
        lone.children[0] = Some(Child {
            hash: [1; 32],
            version: 1,
            is_leaf: true,
        });
        assert!(Node::decode_all(&mut &Node::Internal(lone).encode()[..]).is_err());
        assert!(
            Node::decode_all(&mut &Node::Internal(InternalNode::default()).encode()[..]).is_err()
        );
    }

    #[test]
    fn lone_internal_child_is_not_collapsed() {
        let mut node = InternalNode::default();
        node.children[5] = Some(Child {
            hash: [5; 32],
            version: 1,
            is_leaf: false,
        });
        // Four binary levels of (child, empty) pairs above the child.
        let mut expected = [5; 32];
        let mut position = 5u8;
        for _ in 0..4 {
            expected = if position.is_multiple_of(2) {
                internal_hash(&expected, &EMPTY_HASH)
            } else {
                internal_hash(&EMPTY_HASH, &expected)
            };
            position /= 2;
        }
        assert_eq!(node.hash(), expected);
    }
}
