//! Errors of the state store: node failures that must stop a block.

use crate::node::NodeKey;

/// A failure of the state store (I/O, corruption, misuse). Never a contract
/// outcome: the chain layer aborts the block on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A node the trie refers to is not in the store.
    #[error("trie node {node} needed to read version {version} is missing from the store")]
    MissingNode {
        /// The missing node.
        node: Box<NodeKey>,
        /// The state version being read or updated.
        version: u64,
    },
    /// A node is present but does not decode, or does not hash to what its
    /// parent records.
    #[error("trie node {node} needed to read version {version} is corrupted: {reason}")]
    CorruptNode {
        /// The corrupted node.
        node: Box<NodeKey>,
        /// The state version being read or updated.
        version: u64,
        /// What is wrong with it.
        reason: Box<str>,
    },
    /// A record other than a node (metadata, value) is corrupted.
    #[error("corrupted {what}: {reason}")]
    CorruptRecord {
        /// Which record.
        what: &'static str,
        /// What is wrong with it.
        reason: Box<str>,
    },
    /// The store was written by an incompatible format version.
    #[error(
        "the state store was written with format {found}, but this build of cairn reads format {expected} only; use a matching cairn version or a fresh data directory"
    )]
    IncompatibleFormat {
        /// The format found on disk (or a description if unreadable).
        found: Box<str>,
        /// The format this build reads and writes.
        expected: u32,
    },
    /// The requested version is not committed or has been pruned.
    #[error("version {requested} is not available: {reason}")]
    VersionUnavailable {
        /// The version asked for.
        requested: u64,
        /// Which versions are available instead.
        reason: Box<str>,
    },
    /// A commit was not for the version right after the latest one.
    #[error("cannot commit version {got}: the next version must be {expected}")]
    NonSequentialVersion {
        /// The version that must be committed next.
        expected: u64,
        /// The version that was passed.
        got: u64,
    },
    /// Another process holds the data directory.
    #[error(
        "data directory {path} is already opened by another process (RocksDB lock held): {detail}"
    )]
    AlreadyOpen {
        /// The data directory.
        path: Box<str>,
        /// RocksDB's message.
        detail: Box<str>,
    },
    /// The storage engine failed (I/O error, RocksDB error).
    #[error("storage backend failed: {0}")]
    Backend(Box<str>),
}

impl StateError {
    pub(crate) fn backend(message: impl std::fmt::Display) -> Self {
        StateError::Backend(message.to_string().into())
    }

    pub(crate) fn corrupt_record(what: &'static str, reason: impl std::fmt::Display) -> Self {
        StateError::CorruptRecord {
            what,
            reason: reason.to_string().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stays_small() {
        // Errors travel through every read; keep them two words plus payload.
        assert!(
            std::mem::size_of::<StateError>() <= 40,
            "{}",
            std::mem::size_of::<StateError>()
        );
    }
}
