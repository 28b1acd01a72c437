//! The chain layer: signed transactions, blocks, receipts, block execution
//! over the Merkleized store, genesis, replay and replay bundles.
//!
//! Normative text: `specs/chain.md` and `specs/replay.md`.
//!
//! - [`keys`], [`tx`]: Ethereum-style addresses, SCALE transactions with
//!   recoverable low-s secp256k1 signatures, contract addresses;
//! - [`admission`]: the named checks a transaction must pass to be included;
//! - [`block`], [`merkle`]: headers, receipts, binary Merkle roots;
//! - [`world`]: the state key layout and the overlay the engine reads through;
//! - [`ledger`]: [`Chain`], executing and committing blocks on a
//!   [`cairn_state::Store`] (any backend) with receipts and tx index in the
//!   same atomic write;
//! - [`genesis`]: the genesis file;
//! - [`replay`]: re-execution of a stored chain into a scratch store.

pub mod admission;
pub mod block;
pub mod bundle;
pub mod genesis;
pub mod keys;
pub mod ledger;
pub mod merkle;
pub mod tx;
pub mod world;

pub use admission::{AdmissionError, intrinsic_gas};
pub use block::{Block, BlockHeader, Receipt, receipts_root};
pub use bundle::{BundleError, BundleVerification, ReplayBundle, export_bundle, verify_bundle};
pub use genesis::{Genesis, GenesisAccount, GenesisContract, GenesisError};
pub use keys::{SignatureError, SigningKey, keccak256, recover_address};
pub use ledger::{BlockEnv, Chain, ChainError, ExecutedBlock, InvalidTxPolicy};
pub use merkle::merkle_root;
pub use tx::{SignedTransaction, Transaction, TxAction, contract_address};
pub use world::BlockState;
pub mod replay;
pub mod workload;

pub use replay::{Divergence, ReplayError, ReplayReport, replay};
pub use workload::TransferWorkload;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;
