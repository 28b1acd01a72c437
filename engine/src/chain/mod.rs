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
//! - [`replay`]: re-execution of a stored chain into a scratch store;
//! - [`bundle`]: one block with witnesses, verifiable offline;
//! - [`workload`]: deterministic signed token and native transfers (demo,
//!   benchmarks, tests).
//!
//! ```
//! use cairn_engine::chain::{Chain, TransferWorkload, replay};
//! use cairn_engine::runtime::{ExecConfig, Executor};
//! use cairn_host_api::world::Address;
//! use cairn_state::MemoryStore;
//!
//! let mut workload = TransferWorkload::new(4);
//! let executor = Executor::new(ExecConfig::default());
//! let mut chain = Chain::init(MemoryStore::in_memory(), executor, workload.genesis())?;
//! let txs = workload.next_transactions(10);
//! let (block, receipts, rejected) = chain.produce_block(1_700_000_001, Address::zero(), txs)?;
//! assert!(rejected.is_empty() && receipts.iter().all(|r| r.is_success()));
//!
//! // Anyone holding the store can re-execute it and check every root.
//! let report = replay(chain.store(), MemoryStore::in_memory(), Executor::new(ExecConfig::default()), 1, None, |_, _| {})?;
//! assert!(report.verified());
//! assert_eq!(report.state_root, hex::encode(block.header.state_root));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
