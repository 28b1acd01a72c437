//! The interface the chain layer reaches state through: a versioned
//! Merkleized key/value database with auxiliary records committed in the
//! same atomic write.
//!
//! The chain never names a concrete store. [`Store`](crate::Store) (RocksDB
//! or memory backend) implements these traits; any other state database
//! (an in-memory page trie with checkpoints, say) that implements them runs
//! the chain unchanged. The split follows revm's `Database` /
//! `DatabaseCommit`: reads through [`StateView`] (at explicit versions) and
//! [`StateRead`] (the latest version, the block executor's hot path),
//! writes through [`StateDb`] alone.
//!
//! Versions are block heights. A version, its root, its values and the
//! auxiliary records written with it never change once committed, so a
//! [`StateView`] pinned to a committed version reads consistent data while
//! the single writer commits newer versions; only pruning can take a version
//! away (reads of it then fail with
//! [`StateError::VersionUnavailable`]).

use crate::error::StateError;
use crate::hash::StateRoot;
use crate::proof::{Proof, Witness};
use crate::store::{AuxWrites, StateChanges, StateRead, Version};

/// Reads of committed versions. Every method is safe to call from any thread
/// while the writer commits.
pub trait StateView: Send + Sync {
    /// The latest committed version, `None` before the first commit.
    fn latest_version(&self) -> Option<Version>;

    /// The oldest version whose values and proofs are still readable.
    fn oldest_version(&self) -> Option<Version>;

    /// The state root of a committed version.
    ///
    /// # Errors
    ///
    /// [`StateError::VersionUnavailable`] for a version never committed;
    /// node failures.
    fn root_at(&self, version: Version) -> Result<StateRoot, StateError>;

    /// The value of `key` at a retained `version`.
    ///
    /// # Errors
    ///
    /// [`StateError::VersionUnavailable`] for a pruned or future version;
    /// node failures.
    fn get_at(&self, key: &[u8], version: Version) -> Result<Option<Vec<u8>>, StateError>;

    /// The value of `key` at a retained `version` and a proof of it (or of
    /// its absence) against [`StateView::root_at`]`(version)`.
    ///
    /// # Errors
    ///
    /// As [`StateView::get_at`].
    fn prove(&self, key: &[u8], version: Version) -> Result<(Option<Vec<u8>>, Proof), StateError>;

    /// One witness for all `keys` at a retained `version`, sharing nodes
    /// (`specs/state.md` section 5.2).
    ///
    /// # Errors
    ///
    /// As [`StateView::get_at`].
    fn witness(&self, keys: &[&[u8]], version: Version) -> Result<Witness, StateError>;

    /// An auxiliary record (outside the state root) written by a commit.
    ///
    /// # Errors
    ///
    /// Node failures.
    fn get_aux(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
}

/// A commit computed but not yet written: its root can go into a block
/// header before the header and the state are committed together.
pub trait PreparedState: Send {
    /// The state root the commit will have.
    fn root(&self) -> StateRoot;
    /// The version it commits.
    fn version(&self) -> Version;
}

/// The one writer of a state database. [`StateRead`] reads the latest
/// version (the block executor's hot path, one backend read).
pub trait StateDb: StateView + StateRead {
    /// A computed, unwritten commit.
    type Prepared: PreparedState;
    /// A cheap, cloneable read handle, usable from other threads while this
    /// writer commits.
    type Reader: StateView + Clone + 'static;

    /// A read handle sharing this database.
    fn reader(&self) -> Self::Reader;

    /// Computes version `version` (the latest + 1, or any version for the
    /// first commit) from `changes` without writing anything.
    ///
    /// # Errors
    ///
    /// [`StateError::NonSequentialVersion`]; node failures.
    fn prepare(
        &self,
        version: Version,
        changes: &StateChanges,
    ) -> Result<Self::Prepared, StateError>;

    /// Writes a prepared commit and `aux` in one atomic write: after a crash
    /// either all of it is visible or none of it.
    ///
    /// # Errors
    ///
    /// [`StateError::NonSequentialVersion`] if another commit came between;
    /// node failures (nothing is written then).
    fn commit_prepared(
        &mut self,
        prepared: Self::Prepared,
        aux: &AuxWrites,
    ) -> Result<StateRoot, StateError>;

    /// Computes and commits `changes` as `version` with `aux`, atomically.
    ///
    /// # Errors
    ///
    /// As [`StateDb::prepare`] and [`StateDb::commit_prepared`].
    fn commit(
        &mut self,
        version: Version,
        changes: &StateChanges,
        aux: &AuxWrites,
    ) -> Result<StateRoot, StateError> {
        let prepared = self.prepare(version, changes)?;
        self.commit_prepared(prepared, aux)
    }
}
