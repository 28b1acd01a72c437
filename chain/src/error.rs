//! The chain layer's errors, in three kinds that call for different
//! responses (as reth separates block validation from internal errors):
//!
//! - [`InvalidBlock`]: the block is refused; the node is fine and goes on.
//! - [`NodeFailure`]: I/O, corruption, a broken invariant; stop the block
//!   (and the node): nothing is committed.
//! - [`SetupError`]: the chain could not be created or opened.
//!
//! Contract failures are never errors: they are receipts.

use cairn_engine::runtime::NodeError;
use cairn_host_api::world::BackendError;
use cairn_state::StateError;

use crate::admission::AdmissionError;

/// Why a block is refused. The node stays healthy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidBlock {
    /// A transaction of the block fails admission.
    #[error("transaction {index} of block {number} is not admissible: {error}")]
    Transaction {
        /// Block number.
        number: u64,
        /// Index in the block.
        index: usize,
        /// Why.
        error: AdmissionError,
    },
    /// The block does not fit on the current head.
    #[error("block {number} does not extend the head: {reason}")]
    BadParent {
        /// Block number.
        number: u64,
        /// Why.
        reason: String,
    },
    /// Re-execution of the block gives a different header field.
    #[error(
        "block {number}: header field `{field}` is {expected} in the block but {computed} when executed"
    )]
    HeaderMismatch {
        /// Block number.
        number: u64,
        /// The field.
        field: &'static str,
        /// The block's value.
        expected: String,
        /// The value execution gives.
        computed: String,
    },
    /// A commit certificate does not prove the block.
    #[error("block {number}: commit certificate: {error}")]
    Certificate {
        /// Block number.
        number: u64,
        /// Why.
        error: crate::certificate::CertificateError,
    },
}

/// The node failed. Stop: the block in progress is not committed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeFailure {
    /// The state database failed (I/O, corruption).
    #[error(transparent)]
    State(#[from] StateError),
    /// The engine failed (not a contract outcome).
    #[error(transparent)]
    Engine(#[from] NodeError),
    /// Reading the world state failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A stored chain record is missing or does not decode.
    #[error("stored chain record {what} is corrupt: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// Why.
        reason: String,
    },
}

/// The chain could not be created or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The data directory holds no chain.
    #[error("the data directory holds no chain; run `cairn init --genesis FILE` first")]
    NotInitialized,
    /// `init` on a data directory that already holds a chain.
    #[error("the data directory already holds a chain (head block {head})")]
    AlreadyInitialized {
        /// Its head.
        head: u64,
    },
    /// A genesis contract's deploy did not succeed.
    #[error("genesis contract `{name}` failed to deploy: {reason}")]
    GenesisDeploy {
        /// The contract.
        name: String,
        /// The status it ended with.
        reason: String,
    },
}

/// A failure of the chain layer: one of the three kinds.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The block is refused; the node is fine.
    #[error(transparent)]
    Invalid(Box<InvalidBlock>),
    /// The node failed: stop.
    #[error(transparent)]
    Node(Box<NodeFailure>),
    /// Creating or opening the chain failed.
    #[error(transparent)]
    Setup(Box<SetupError>),
}

impl ChainError {
    /// Whether this is a node failure (the caller must stop, not go on with
    /// another block).
    pub fn is_node_failure(&self) -> bool {
        matches!(self, Self::Node(_))
    }

    /// The invalid-block reason, if that is what this is.
    pub fn invalid_block(&self) -> Option<&InvalidBlock> {
        match self {
            Self::Invalid(invalid) => Some(invalid),
            _ => None,
        }
    }

    /// A corrupt or missing stored record.
    pub(crate) fn corrupt(what: impl Into<String>, reason: impl Into<String>) -> Self {
        NodeFailure::Corrupt {
            what: what.into(),
            reason: reason.into(),
        }
        .into()
    }
}

impl From<InvalidBlock> for ChainError {
    fn from(error: InvalidBlock) -> Self {
        Self::Invalid(Box::new(error))
    }
}

impl From<NodeFailure> for ChainError {
    fn from(error: NodeFailure) -> Self {
        Self::Node(Box::new(error))
    }
}

impl From<SetupError> for ChainError {
    fn from(error: SetupError) -> Self {
        Self::Setup(Box::new(error))
    }
}

impl From<StateError> for ChainError {
    fn from(error: StateError) -> Self {
        NodeFailure::State(error).into()
    }
}

impl From<NodeError> for ChainError {
    fn from(error: NodeError) -> Self {
        NodeFailure::Engine(error).into()
    }
}

impl From<BackendError> for ChainError {
    fn from(error: BackendError) -> Self {
        NodeFailure::Backend(error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_error_stays_two_words() {
        assert!(std::mem::size_of::<ChainError>() <= 16);
    }

    #[test]
    fn kinds_are_told_apart() {
        let node: ChainError = StateError::Backend("disk gone".into()).into();
        assert!(node.is_node_failure());
        let invalid: ChainError = InvalidBlock::BadParent {
            number: 2,
            reason: "x".into(),
        }
        .into();
        assert!(!invalid.is_node_failure());
        assert!(invalid.invalid_block().is_some());
        let setup: ChainError = SetupError::NotInitialized.into();
        assert!(!setup.is_node_failure() && setup.invalid_block().is_none());
    }
}
