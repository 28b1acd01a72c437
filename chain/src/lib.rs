//! Cairn's chain layer: signed transactions, admission, blocks, receipts,
//! block execution over a state database, genesis, replay and replay
//! bundles.
//!
//! Normative text: `specs/chain.md` and `specs/replay.md`. The chain
//! reaches storage only through traits ([`cairn_state::StateDb`] for the
//! writer, [`cairn_state::StateView`] for reads at a version, and
//! [`BlockStore`] for its records), never through a concrete store, and
//! executes contracts through [`cairn_engine::runtime::Executor`].
//!
//! - [`keys`], [`tx`], [`ethereum`]: signing keys, native SCALE transactions
//!   and Ethereum typed transactions (the two [`Envelope`]s a block holds),
//!   recoverable low-s secp256k1 signatures, contract addresses;
//! - [`admission`]: the named checks a transaction must pass to be included;
//! - [`execute`]: the transaction handler (fees, execution, genesis state);
//! - [`block`], [`merkle`]: headers, receipts, binary Merkle roots;
//! - [`world`]: the state key layout and the overlay the engine reads through;
//! - [`schema`], [`storage`]: where blocks, receipts and the tx index are
//!   stored, and [`BlockStore`] to read them;
//! - [`chain`]: [`Chain`], the one writer; [`reader`]: [`ChainReader`],
//!   cloneable reads pinned to committed blocks;
//! - [`genesis`]: the genesis file; [`codec`]: exact decoding and text parsing;
//! - [`replay`]: re-execution of a stored chain into a scratch database;
//! - [`bundle`]: one block with witnesses, verifiable offline;
//! - [`trace`]: one included transaction re-executed with diagnostics;
//! - [`view`]: the JSON shapes of receipts, outcomes, blocks and verdicts
//!   shared by the CLI and JSON-RPC;
//! - [`error`]: invalid blocks, node failures and setup errors, apart.
//!
//! ```
//! use cairn_chain::{Chain, Genesis, GenesisAccount, SigningKey, Transaction, TxAction};
//! use cairn_chain::replay::{ReplayOptions, replay};
//! use cairn_engine::runtime::{ExecConfig, Executor};
//! use cairn_host_api::world::{Address, U256};
//! use cairn_state::MemoryStore;
//!
//! let alice = SigningKey::from_seed(b"alice");
//! let genesis = Genesis {
//!     chain_id: 7,
//!     block_gas_limit: 10_000_000,
//!     timestamp: 0,
//!     accounts: vec![GenesisAccount { address: alice.address(), balance: U256::from(10u64).pow(18.into()) }],
//!     contracts: vec![],
//!     validators: Vec::new(),
//! };
//! let mut chain = Chain::init(MemoryStore::in_memory(), Executor::new(ExecConfig::default()), genesis)?;
//! let transfer = Transaction {
//!     chain_id: 7, nonce: 0, gas_limit: 21_000, gas_price: 1, value: U256::from(5u8),
//!     action: TxAction::Call { to: Address::repeat_byte(0xbb), data: vec![] },
//! }
//! .sign(&alice);
//! let (block, receipts, rejected) = chain.produce_block(1, Address::zero(), vec![transfer])?;
//! assert!(rejected.is_empty() && receipts[0].is_success());
//!
//! // Readers see committed blocks, from any thread.
//! let reader = chain.reader();
//! assert_eq!(reader.at_head().account(&Address::repeat_byte(0xbb))?.balance, U256::from(5u8));
//!
//! // Anyone holding the database can re-execute it and check every root.
//! let report = replay(chain.state(), MemoryStore::in_memory(), &ReplayOptions::default(), |_, _| {})?;
//! assert!(report.verified());
//! assert_eq!(report.state_root, hex::encode(block.header.state_root));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod admission;
pub mod block;
pub mod bundle;
pub mod certificate;
pub mod chain;
pub mod codec;
pub mod error;
pub mod ethereum;
pub mod execute;
pub mod genesis;
pub mod keys;
pub mod merkle;
pub mod reader;
pub mod replay;
pub mod schema;
pub mod simulate;
pub mod storage;
pub mod trace;
pub mod tx;
pub mod view;
pub mod world;

pub use admission::{AdmissionError, intrinsic_gas, intrinsic_gas_of};
pub use block::{Block, BlockHeader, Receipt, receipts_root};
pub use bundle::{BundleError, BundleVerification, ReplayBundle, export_bundle, verify_bundle};
pub use cairn_state::{StateDb, StateView};
pub use certificate::{
    CertificateError, CommitCertificate, CommitSignature, GenesisValidator, VoteKind,
    verify_certificate,
};
pub use chain::{Chain, ExecutedBlock};
pub use error::{ChainError, InvalidBlock, NodeFailure, SetupError};
pub use ethereum::{EthereumTransaction, EthereumTxError};
pub use execute::{BlockEnv, InvalidTxPolicy, Rejected};
pub use genesis::{Genesis, GenesisAccount, GenesisContract, GenesisError};
pub use keys::{SignatureError, SigningKey, keccak256, recover_address};
pub use merkle::merkle_root;
pub use reader::{ChainReader, ChainSnapshot};
pub use replay::{Divergence, ReplayError, ReplayOptions, ReplayReport, replay};
pub use simulate::{Estimate, TxRequest, estimate_gas, simulate};
pub use storage::BlockStore;
pub use tx::{Envelope, SignedTransaction, Transaction, TxAction, contract_address};
pub use world::BlockState;

/// `relative` in the checkout being tested: `cargo test` names the
/// package's directory at run time, which stays right when one build cache
/// serves several checkouts (a path baked in at build time may be another
/// checkout's, or gone).
#[cfg(test)]
pub(crate) fn repo_path(relative: &str) -> String {
    let package = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    format!("{package}/../{relative}")
}

#[cfg(test)]
mod vectors;
#[cfg(test)]
mod vectors_blocks;
