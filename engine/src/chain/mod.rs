//! The chain layer: signed transactions, blocks, receipts, block execution
//! over the Merkleized store, genesis, replay and replay bundles.
//!
//! Normative text: `specs/chain.md` and `specs/replay.md`.

pub mod keys;
pub mod merkle;
pub mod tx;

pub use keys::{SignatureError, SigningKey, keccak256, recover_address};
pub use merkle::merkle_root;
pub use tx::{SignedTransaction, Transaction, TxAction, contract_address};
