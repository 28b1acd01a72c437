//! The hashing rules of the trie: keccak256 with one domain byte per kind of
//! preimage, so that a leaf can never be read as an internal node or the
//! reverse (`specs/state.md`, "Hashing").

use keccak_asm::{Digest, Keccak256};
use parity_scale_codec::{Decode, Encode, MaxEncodedLen};

/// A 32-byte keccak256 digest.
pub type Hash = [u8; 32];

/// Domain byte prefixed to a leaf's preimage: `keccak256(0x00 ‖ key_hash ‖ value_hash)`.
pub const LEAF_DOMAIN: u8 = 0x00;

/// Domain byte prefixed to an internal binary node's preimage:
/// `keccak256(0x01 ‖ left ‖ right)`.
pub const INTERNAL_DOMAIN: u8 = 0x01;

/// The hash of an empty subtree, and so the root of the empty state: 32 zero
/// bytes. No keccak256 preimage of it is known, so it cannot collide with a
/// leaf or an internal node.
pub const EMPTY_HASH: Hash = [0u8; 32];

/// keccak256 of `data`.
#[must_use]
pub fn keccak256(data: &[u8]) -> Hash {
    Keccak256::digest(data).into()
}

/// The hash of a leaf that maps `key_hash` to `value_hash`.
#[must_use]
pub fn leaf_hash(key_hash: &Hash, value_hash: &Hash) -> Hash {
    let mut hasher = Keccak256::new();
    hasher.update([LEAF_DOMAIN]);
    hasher.update(key_hash);
    hasher.update(value_hash);
    hasher.finalize().into()
}

/// The hash of an internal binary node with children `left` (bit 0) and
/// `right` (bit 1).
#[must_use]
pub fn internal_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Keccak256::new();
    hasher.update([INTERNAL_DOMAIN]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Bit `index` (0 = most significant bit of byte 0) of a key hash: the
/// direction taken at depth `index` of the binary trie (0 = left).
#[must_use]
pub fn bit(hash: &Hash, index: usize) -> u8 {
    (hash[index / 8] >> (7 - index % 8)) & 1
}

/// Nibble `index` (0 = high nibble of byte 0) of a key hash: the child taken
/// at depth `index` of the 16-ary storage trie.
#[must_use]
pub fn nibble(hash: &Hash, index: usize) -> u8 {
    let byte = hash[index / 2];
    if index.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0f
    }
}

/// The Merkle root of the whole state at one version.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, MaxEncodedLen)]
pub struct StateRoot(pub Hash);

impl StateRoot {
    /// The root of the empty state ([`EMPTY_HASH`]).
    pub const EMPTY: StateRoot = StateRoot(EMPTY_HASH);

    /// The root as bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &Hash {
        &self.0
    }

    /// Lower-case hex without prefix.
    #[must_use]
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    /// Parses 64 hex digits, with or without a `0x` prefix.
    pub fn from_hex(text: &str) -> Option<StateRoot> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let bytes = from_hex(digits)?;
        Some(StateRoot(bytes.try_into().ok()?))
    }
}

impl std::fmt::Display for StateRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Debug for StateRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StateRoot({})", self.to_hex())
    }
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn from_hex(digits: &str) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_matches_known_vector() {
        // keccak256("") from the Ethereum yellow paper.
        assert_eq!(
            to_hex(&keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn domains_differ() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        assert_ne!(leaf_hash(&a, &b), internal_hash(&a, &b));
    }

    #[test]
    fn bits_and_nibbles_agree() {
        let mut h = [0u8; 32];
        h[0] = 0b1010_0110;
        assert_eq!(nibble(&h, 0), 0b1010);
        assert_eq!(nibble(&h, 1), 0b0110);
        let bits: Vec<u8> = (0..8).map(|i| bit(&h, i)).collect();
        assert_eq!(bits, [1, 0, 1, 0, 0, 1, 1, 0]);
    }

    #[test]
    fn root_hex_round_trips() {
        let root = StateRoot(keccak256(b"x"));
        assert_eq!(StateRoot::from_hex(&root.to_hex()), Some(root));
        assert_eq!(StateRoot::from_hex(&format!("0x{root}")), Some(root));
        assert_eq!(StateRoot::from_hex("zz"), None);
        assert_eq!(StateRoot::from_hex("00"), None);
    }
}
