//! Proofs and their verification. Needs no database and builds without the
//! `rocksdb` feature: this is what auditors and light clients link.

use crate::hash::{EMPTY_HASH, Hash, StateRoot, bit, internal_hash, keccak256};
use crate::node::LeafNode;
use crate::reference::subtree_root;
use parity_scale_codec::{Compact, Decode, DecodeAll, Encode, Error as CodecError, Input, Output};
use std::collections::BTreeMap;

/// The longest possible path: one bit per bit of a key hash.
const MAX_DEPTH: usize = 256;

/// Why a proof or witness was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The proof's bytes do not decode.
    #[error("malformed proof: {0}")]
    Malformed(Box<str>),
    /// The proof does not lead to the given root.
    #[error("proof does not match root {expected}: it leads to {computed}")]
    RootMismatch {
        /// The trusted root.
        expected: StateRoot,
        /// The root the proof leads to.
        computed: StateRoot,
    },
    /// The proof shows a different value (or absence) for the key.
    #[error("proof contradicts the claim for key 0x{key}: {reason}")]
    ClaimMismatch {
        /// The key, hex.
        key: Box<str>,
        /// What differs.
        reason: &'static str,
    },
    /// A leaf sits at a position its key hash does not lead to.
    #[error("proof places a leaf off its key's path")]
    MisplacedLeaf,
    /// The witness does not cover the key.
    #[error("witness does not cover key 0x{0}")]
    NotCovered(Box<str>),
    /// A deletion empties a subtree whose sibling the witness gives only as
    /// a hash: whether the sibling is one leaf (which then moves up) or more
    /// cannot be told, so the new root cannot be computed.
    #[error(
        "witness hides the sibling subtree that deleting key 0x{0} collapses; the new root cannot be computed"
    )]
    HiddenSibling(Box<str>),
}

/// A proof for one key: the sibling hash of every binary node on the path
/// from the root to where the key's leaf is (inclusion) or would be
/// (exclusion), and what sits there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// What the path ends at: the key's own leaf (inclusion), another key's
    /// leaf or nothing (exclusion).
    pub leaf: Option<LeafNode>,
    /// Sibling hashes from the root down: `siblings[i]` is the sibling at
    /// depth `i`, [`EMPTY_HASH`] for an empty subtree.
    pub siblings: Vec<Hash>,
}

impl Proof {
    /// Size of the SCALE encoding in bytes: what a bundle pays to carry it.
    #[must_use]
    pub fn size(&self) -> usize {
        self.encoded_size()
    }

    /// Checks that under `root`, `key` maps to `value` (`None`: is absent).
    pub fn verify(
        &self,
        root: &StateRoot,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), ProofError> {
        verify(root, key, value, self)
    }

    /// The SCALE encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode()
    }

    /// Decodes a proof, rejecting trailing bytes and non-canonical encodings.
    pub fn from_bytes(bytes: &[u8]) -> Result<Proof, ProofError> {
        Proof::decode_all(&mut &bytes[..]).map_err(|e| ProofError::Malformed(e.to_string().into()))
    }
}

/// Encoding: `leaf: Option<LeafNode>`, `depth: Compact<u32>`, a bitmap of
/// `ceil(depth / 8)` bytes (bit `i` set, most significant first = sibling `i`
/// is empty; padding bits zero), then the non-empty siblings in order. Empty
/// siblings cost one bit instead of 32 bytes.
impl Encode for Proof {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        self.leaf.encode_to(dest);
        // At most 256 siblings.
        Compact(u32::try_from(self.siblings.len()).unwrap_or(u32::MAX)).encode_to(dest);
        let mut bitmap = vec![0u8; self.siblings.len().div_ceil(8)];
        for (i, sibling) in self.siblings.iter().enumerate() {
            if *sibling == EMPTY_HASH {
                bitmap[i / 8] |= 0x80 >> (i % 8);
            }
        }
        dest.write(&bitmap);
        for sibling in self.siblings.iter().filter(|s| **s != EMPTY_HASH) {
            dest.write(sibling);
        }
    }
}

impl Decode for Proof {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        let leaf = Option::<LeafNode>::decode(input)?;
        let depth =
            usize::try_from(Compact::<u32>::decode(input)?.0).map_err(|_| "depth overflow")?;
        if depth > MAX_DEPTH {
            return Err("proof deeper than 256 bits".into());
        }
        let mut bitmap = vec![0u8; depth.div_ceil(8)];
        input.read(&mut bitmap)?;
        if depth % 8 != 0 && bitmap[depth / 8] & (0xffu8 >> (depth % 8)) != 0 {
            return Err("non-zero padding in the empty-sibling bitmap".into());
        }
        let mut siblings = Vec::with_capacity(depth);
        for i in 0..depth {
            if bitmap[i / 8] & (0x80 >> (i % 8)) != 0 {
                siblings.push(EMPTY_HASH);
            } else {
                let sibling = <[u8; 32]>::decode(input)?;
                if sibling == EMPTY_HASH {
                    return Err("empty sibling not marked in the bitmap".into());
                }
                siblings.push(sibling);
            }
        }
        Ok(Proof { leaf, siblings })
    }
}

/// Checks `proof` shows that under `root`, `key` maps to `value`, or is
/// absent when `value` is `None`.
pub fn verify(
    root: &StateRoot,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &Proof,
) -> Result<(), ProofError> {
    let key_hash = keccak256(key);
    let depth = proof.siblings.len();
    if depth > MAX_DEPTH {
        return Err(ProofError::Malformed("proof deeper than 256 bits".into()));
    }
    let claim = |reason| ProofError::ClaimMismatch {
        key: crate::hash::to_hex(key).into(),
        reason,
    };
    match (value, &proof.leaf) {
        (Some(value), Some(leaf)) => {
            if leaf.key_hash != key_hash {
                return Err(claim(
                    "the proof ends at another key's leaf: the key is absent",
                ));
            }
            if leaf.value_hash != keccak256(value) {
                return Err(claim("the proven value differs"));
            }
        }
        (Some(_), None) => return Err(claim("the proof shows the key is absent")),
        (None, Some(leaf)) if leaf.key_hash == key_hash => {
            return Err(claim("the proof shows the key is present"));
        }
        (None, _) => {}
    }
    let mut hash = match &proof.leaf {
        Some(leaf) => {
            // The leaf must sit in the subtree the key's path leads to, or it
            // would prove nothing about the key.
            if (0..depth).any(|i| bit(&leaf.key_hash, i) != bit(&key_hash, i)) {
                return Err(ProofError::MisplacedLeaf);
            }
            leaf.hash()
        }
        None => EMPTY_HASH,
    };
    for (i, sibling) in proof.siblings.iter().enumerate().rev() {
        hash = if bit(&key_hash, i) == 0 {
            internal_hash(&hash, sibling)
        } else {
            internal_hash(sibling, &hash)
        };
    }
    if hash != root.0 {
        return Err(ProofError::RootMismatch {
            expected: *root,
            computed: StateRoot(hash),
        });
    }
    Ok(())
}

/// One node of a [`Witness`], in pre-order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitnessNode {
    /// An empty subtree.
    Empty,
    /// A leaf.
    Leaf(LeafNode),
    /// A subtree the witness does not open, given by its hash.
    Hash(Hash),
    /// A binary internal node; its left then right subtrees follow.
    Branch,
}

/// Tags 0 empty, 1 leaf, 2 hash, 3 branch (`specs/state.md` 5.2).
impl Encode for WitnessNode {
    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        match self {
            WitnessNode::Empty => dest.push_byte(0),
            WitnessNode::Leaf(leaf) => {
                dest.push_byte(1);
                leaf.encode_to(dest);
            }
            WitnessNode::Hash(hash) => {
                dest.push_byte(2);
                dest.write(hash);
            }
            WitnessNode::Branch => dest.push_byte(3),
        }
    }
}

impl Decode for WitnessNode {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        match input.read_byte()? {
            0 => Ok(WitnessNode::Empty),
            1 => Ok(WitnessNode::Leaf(LeafNode::decode(input)?)),
            2 => Ok(WitnessNode::Hash(<[u8; 32]>::decode(input)?)),
            3 => Ok(WitnessNode::Branch),
            _ => Err("unknown witness node kind".into()),
        }
    }
}

/// A multi-key proof: the part of the binary trie that the paths of a set of
/// keys cross, each shared node once, other subtrees as hashes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Witness {
    /// The partial trie, pre-order.
    pub nodes: Vec<WitnessNode>,
}

#[derive(Debug)]
enum Parsed {
    Empty,
    Leaf(LeafNode),
    Opaque(Hash),
    Branch(usize, usize, Hash),
}

/// A subtree after [`VerifiedWitness::root_after`] applied changes to it.
enum After {
    Empty,
    Leaf(LeafNode),
    /// At least two leaves: an internal binary node with this hash.
    Multi(Hash),
    /// Unchanged and not opened by the witness: one leaf or more.
    Opaque(Hash),
}

impl After {
    fn hash(&self) -> Hash {
        match self {
            After::Empty => EMPTY_HASH,
            After::Leaf(leaf) => leaf.hash(),
            After::Multi(hash) | After::Opaque(hash) => *hash,
        }
    }
}

/// A change by hashes, with its key for error messages.
type KeyedChange<'a> = (Hash, Option<Hash>, &'a [u8]);

/// A witness whose root has been checked: answers lookups for covered keys.
#[derive(Debug)]
pub struct VerifiedWitness {
    parsed: Vec<Parsed>,
    root: usize,
}

impl Witness {
    /// Size of the SCALE encoding in bytes.
    #[must_use]
    pub fn size(&self) -> usize {
        self.encoded_size()
    }

    /// The SCALE encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode()
    }

    /// Decodes a witness, rejecting trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Witness, ProofError> {
        Witness::decode_all(&mut &bytes[..])
            .map_err(|e| ProofError::Malformed(e.to_string().into()))
    }

    /// Checks the witness leads to `root`; the result answers lookups.
    pub fn check_root(&self, root: &StateRoot) -> Result<VerifiedWitness, ProofError> {
        let mut parsed = Vec::with_capacity(self.nodes.len());
        let mut next = 0;
        let mut path = [0u8; 32];
        let (index, hash) = parse(&self.nodes, &mut next, 0, &mut path, &mut parsed)?;
        if next != self.nodes.len() {
            return Err(ProofError::Malformed(
                "nodes left over after the trie".into(),
            ));
        }
        if hash != root.0 {
            return Err(ProofError::RootMismatch {
                expected: *root,
                computed: StateRoot(hash),
            });
        }
        Ok(VerifiedWitness {
            parsed,
            root: index,
        })
    }

    /// Checks that under `root` every `(key, value)` claim holds (`None`:
    /// absent).
    pub fn verify(
        &self,
        root: &StateRoot,
        claims: &[(&[u8], Option<&[u8]>)],
    ) -> Result<(), ProofError> {
        let verified = self.check_root(root)?;
        for (key, value) in claims {
            let found = verified.lookup(key)?;
            let expected = value.map(keccak256);
            if found != expected {
                return Err(ProofError::ClaimMismatch {
                    key: crate::hash::to_hex(key).into(),
                    reason: "the witness shows another value or presence",
                });
            }
        }
        Ok(())
    }

    /// The state root after applying `changes` (`None`: delete) to the
    /// state this witness proves against `pre_root`. Every changed key must
    /// be covered (proven present or absent); see
    /// [`VerifiedWitness::root_after`].
    pub fn root_after(
        &self,
        pre_root: &StateRoot,
        changes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    ) -> Result<StateRoot, ProofError> {
        self.check_root(pre_root)?.root_after(changes)
    }
}

impl VerifiedWitness {
    /// The state root after applying `changes` (`None`: delete) to the
    /// proven state, computed on the witness's partial trie exactly as the
    /// real trie hashes it (a lone leaf replaces its subtree; inserting into
    /// a leaf's position splits it, deleting collapses back).
    ///
    /// # Errors
    ///
    /// [`ProofError::NotCovered`] if a changed key's path reaches a subtree
    /// the witness gives only as a hash; [`ProofError::HiddenSibling`] if a
    /// deletion empties a subtree whose sibling is given only as a hash.
    /// Never a wrong root.
    pub fn root_after(
        &self,
        changes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    ) -> Result<StateRoot, ProofError> {
        let mut hashed: Vec<KeyedChange<'_>> = changes
            .iter()
            .map(|(key, value)| {
                (
                    keccak256(key),
                    value.as_deref().map(keccak256),
                    key.as_slice(),
                )
            })
            .collect();
        hashed.sort_unstable_by_key(|change| change.0);
        Ok(StateRoot(self.update(self.root, 0, &hashed)?.hash()))
    }

    fn update(
        &self,
        at: usize,
        depth: usize,
        changes: &[KeyedChange<'_>],
    ) -> Result<After, ProofError> {
        let node = &self.parsed[at];
        if changes.is_empty() {
            return Ok(match node {
                Parsed::Empty => After::Empty,
                Parsed::Leaf(leaf) => After::Leaf(*leaf),
                Parsed::Opaque(hash) => After::Opaque(*hash),
                // A branch of a proven (canonical) trie holds two leaves or more.
                Parsed::Branch(_, _, hash) => After::Multi(*hash),
            });
        }
        let new_leaves = |kept: Option<LeafNode>| {
            let mut leaves: Vec<(Hash, Hash)> = changes
                .iter()
                .filter_map(|(key_hash, value, _)| value.map(|v| (*key_hash, v)))
                .chain(kept.map(|leaf| (leaf.key_hash, leaf.value_hash)))
                .collect();
            leaves.sort_unstable();
            match leaves.as_slice() {
                [] => After::Empty,
                [(key_hash, value_hash)] => After::Leaf(LeafNode {
                    key_hash: *key_hash,
                    value_hash: *value_hash,
                }),
                _ => After::Multi(subtree_root(&leaves, depth)),
            }
        };
        match node {
            Parsed::Empty => Ok(new_leaves(None)),
            Parsed::Opaque(_) => Err(ProofError::NotCovered(
                crate::hash::to_hex(changes[0].2).into(),
            )),
            Parsed::Leaf(leaf) => {
                let kept = changes
                    .iter()
                    .all(|(key_hash, _, _)| *key_hash != leaf.key_hash)
                    .then_some(*leaf);
                Ok(new_leaves(kept))
            }
            Parsed::Branch(left, right, _) => {
                let split = changes.partition_point(|(key_hash, _, _)| bit(key_hash, depth) == 0);
                let (left_changes, right_changes) = changes.split_at(split);
                let was_empty = |at: usize| matches!(self.parsed[at], Parsed::Empty);
                // A proven branch with one empty side holds two leaves or more
                // on the other.
                let known = |after: After, sibling_was_empty: bool| match after {
                    After::Opaque(hash) if sibling_was_empty => After::Multi(hash),
                    other => other,
                };
                let left_after = self.update(*left, depth + 1, left_changes)?;
                let right_after = self.update(*right, depth + 1, right_changes)?;
                let (left_was_empty, right_was_empty) = (was_empty(*left), was_empty(*right));
                let left = known(left_after, right_was_empty);
                let right = known(right_after, left_was_empty);
                let hidden = || ProofError::HiddenSibling(crate::hash::to_hex(changes[0].2).into());
                Ok(match (left, right) {
                    (After::Empty, After::Empty) => After::Empty,
                    (After::Empty, After::Leaf(leaf)) | (After::Leaf(leaf), After::Empty) => {
                        After::Leaf(leaf)
                    }
                    (After::Empty, After::Opaque(_)) | (After::Opaque(_), After::Empty) => {
                        return Err(hidden());
                    }
                    (left, right) => After::Multi(internal_hash(&left.hash(), &right.hash())),
                })
            }
        }
    }
}

impl VerifiedWitness {
    /// The value hash of `key` (`None`: proven absent), or an error if the
    /// witness does not cover the key.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<Hash>, ProofError> {
        let key_hash = keccak256(key);
        let mut at = self.root;
        let mut depth = 0;
        loop {
            match &self.parsed[at] {
                Parsed::Empty => return Ok(None),
                Parsed::Leaf(leaf) => {
                    return Ok((leaf.key_hash == key_hash).then_some(leaf.value_hash));
                }
                Parsed::Opaque(_) => {
                    return Err(ProofError::NotCovered(crate::hash::to_hex(key).into()));
                }
                Parsed::Branch(left, right, _) => {
                    at = if bit(&key_hash, depth) == 0 {
                        *left
                    } else {
                        *right
                    };
                    depth += 1;
                }
            }
        }
    }
}

/// What a subtree of a witness under construction holds, as far as its
/// sibling's form is concerned (`specs/state.md` 5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coverage {
    /// No leaf.
    Empty,
    /// One leaf or more, every one a key of the witness: deleting the keys
    /// can empty it.
    Covered,
    /// A leaf that is not a key of the witness, or a subtree given by hash.
    Partial,
}

impl Coverage {
    /// A lone leaf's coverage among `keys` (sorted key hashes).
    pub(crate) fn of_leaf(key_hash: &Hash, keys: &[Hash]) -> Coverage {
        if keys.binary_search(key_hash).is_ok() {
            Coverage::Covered
        } else {
            Coverage::Partial
        }
    }

    fn join(self, other: Coverage) -> Coverage {
        match (self, other) {
            (Coverage::Empty, Coverage::Empty) => Coverage::Empty,
            (Coverage::Partial, _) | (_, Coverage::Partial) => Coverage::Partial,
            _ => Coverage::Covered,
        }
    }
}

/// Emits side 0 (left) or 1 (right) of a node into a witness under
/// construction and returns its coverage.
pub(crate) type EmitSide<'a, N, E> = dyn FnMut(usize, &mut Vec<N>) -> Result<Coverage, E> + 'a;

/// Emits the two sides of an internal node of a witness, in pre-order,
/// and returns the node's coverage. `keys` says which sides hold keys of
/// the witness; a side without keys is written by `walk` as its hash (or
/// `0x00`), except that it is written by `open` (one level opened) when the
/// other side is [`Coverage::Covered`]: deleting those keys collapses the
/// node onto this side, and [`VerifiedWitness::root_after`] must then know
/// whether it is one leaf or more.
pub(crate) fn witness_sides<N, E>(
    out: &mut Vec<N>,
    keys: [bool; 2],
    walk: &mut EmitSide<'_, N, E>,
    open: &mut EmitSide<'_, N, E>,
) -> Result<Coverage, E> {
    match keys {
        [false, true] => {
            let mut right = Vec::new();
            let right_coverage = walk(1, &mut right)?;
            let left_coverage = if right_coverage == Coverage::Covered {
                open(0, out)?
            } else {
                walk(0, out)?
            };
            out.append(&mut right);
            Ok(left_coverage.join(right_coverage))
        }
        _ => {
            let left_coverage = walk(0, out)?;
            let right_coverage = if !keys[1] && left_coverage == Coverage::Covered {
                open(1, out)?
            } else {
                walk(1, out)?
            };
            Ok(left_coverage.join(right_coverage))
        }
    }
}

/// A child of a subtree opened one level: `0x00` or its hash.
pub(crate) fn hash_node(hash: Hash) -> WitnessNode {
    if hash == EMPTY_HASH {
        WitnessNode::Empty
    } else {
        WitnessNode::Hash(hash)
    }
}

/// Parses the subtree starting at `nodes[*next]` at `depth`, whose path so
/// far is the first `depth` bits of `path`; returns its index and hash.
fn parse(
    nodes: &[WitnessNode],
    next: &mut usize,
    depth: usize,
    path: &mut Hash,
    parsed: &mut Vec<Parsed>,
) -> Result<(usize, Hash), ProofError> {
    let node = nodes
        .get(*next)
        .ok_or_else(|| ProofError::Malformed("witness ends early".into()))?;
    *next += 1;
    let (entry, hash) = match node {
        WitnessNode::Empty => (Parsed::Empty, EMPTY_HASH),
        WitnessNode::Hash(hash) if *hash == EMPTY_HASH => {
            return Err(ProofError::Malformed(
                "a hash node holding the empty hash (an empty subtree is 0x00)".into(),
            ));
        }
        WitnessNode::Hash(hash) => (Parsed::Opaque(*hash), *hash),
        WitnessNode::Leaf(leaf) => {
            if (0..depth).any(|i| bit(&leaf.key_hash, i) != bit(path, i)) {
                return Err(ProofError::MisplacedLeaf);
            }
            (Parsed::Leaf(*leaf), leaf.hash())
        }
        WitnessNode::Branch => {
            if depth >= MAX_DEPTH {
                return Err(ProofError::Malformed("witness deeper than 256 bits".into()));
            }
            let mask = 0x80u8 >> (depth % 8);
            path[depth / 8] &= !mask;
            let (left, left_hash) = parse(nodes, next, depth + 1, path, parsed)?;
            path[depth / 8] |= mask;
            let (right, right_hash) = parse(nodes, next, depth + 1, path, parsed)?;
            path[depth / 8] &= !mask;
            let few = |at: usize| match &parsed[at] {
                Parsed::Empty => Some(0),
                Parsed::Leaf(_) => Some(1),
                Parsed::Opaque(_) | Parsed::Branch(..) => None,
            };
            if let (Some(l), Some(r)) = (few(left), few(right))
                && l + r < 2
            {
                return Err(ProofError::Malformed(
                    "an internal node with fewer than two leaves".into(),
                ));
            }
            let hash = internal_hash(&left_hash, &right_hash);
            (Parsed::Branch(left, right, hash), hash)
        }
    };
    parsed.push(entry);
    Ok((parsed.len() - 1, hash))
}
