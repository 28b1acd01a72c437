//! The world state as the engine sees it.
//!
//! The engine never talks to a database: it reads the state as of the start of
//! a transaction through [`WorldState`] and returns the changes a call made as
//! data, for the chain layer to apply (revm's `Database` / `DatabaseCommit`
//! split). An implementation that fails to read (I/O, corruption) returns a
//! [`BackendError`]; the engine aborts the call with it and never turns it into
//! a receipt.

pub use primitive_types::{H160, H256, U256};

/// A 20-byte account address: the last 20 bytes of keccak256 of the
/// uncompressed secp256k1 public key (Ethereum's convention) for accounts with
/// keys; derived as specified in `specs/chain.md` for contracts.
pub type Address = H160;

/// keccak256 of a contract's original (unprepared) Wasm code.
pub type CodeHash = H256;

/// An account as stored in the state.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, parity_scale_codec::Encode, parity_scale_codec::Decode,
)]
pub struct Account {
    /// Number of transactions sent from this account.
    pub nonce: u64,
    /// Native balance.
    pub balance: U256,
    /// Hash of the account's contract code, if it is a contract.
    pub code_hash: Option<CodeHash>,
}

/// A failure of the node, not of the contract: the state backend could not
/// answer. Aborts the block; never becomes a receipt.
#[derive(Debug, thiserror::Error)]
#[error("state backend failed: {message}")]
pub struct BackendError {
    /// What failed, naming the key or node where known.
    pub message: String,
    /// The underlying error, if any.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl BackendError {
    /// A backend error with a message and no underlying cause.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// A backend error wrapping an underlying cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Read access to the world state as of the start of the current transaction.
///
/// Reads must be pure: the same key returns the same answer for the lifetime of
/// the value. Implementations live in the chain layer (over the Merkleized
/// store) and in tests (in memory).
pub trait WorldState {
    /// The account at `address`, or `None` if it does not exist.
    fn account(&self, address: &Address) -> Result<Option<Account>, BackendError>;

    /// The value stored by contract `address` under `key`, or `None` if absent.
    fn storage(&self, address: &Address, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError>;

    /// The original Wasm code with hash `code_hash`, or `None` if unknown.
    fn code(&self, code_hash: &CodeHash) -> Result<Option<Vec<u8>>, BackendError>;
}

impl<T: WorldState + ?Sized> WorldState for &T {
    fn account(&self, address: &Address) -> Result<Option<Account>, BackendError> {
        (**self).account(address)
    }
    fn storage(&self, address: &Address, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        (**self).storage(address, key)
    }
    fn code(&self, code_hash: &CodeHash) -> Result<Option<Vec<u8>>, BackendError> {
        (**self).code(code_hash)
    }
}
