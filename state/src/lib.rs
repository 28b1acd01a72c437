//! Cairn's Merkleized state store.
