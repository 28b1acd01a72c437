//! Cairn's Merkleized state: a versioned 16-ary Merkle trie hashed as a
//! binary trie, with proofs, over RocksDB (feature `rocksdb`, default) or
//! memory. `specs/state.md` is the normative description.
//!
//! # Layers
//! - **Pure core**, no I/O: [`hash`] (keccak256 with domain separation,
//!   [`EMPTY_HASH`]), [`node`] (16-ary nodes, SCALE encoding), [`tree::apply`]
//!   (changes → new [`StateRoot`] + [`NodeBatch`]), [`reference_root`] (the
//!   root by definition, for tests and other implementations).
//! - **Proofs**, no database and no `rocksdb` needed: [`Proof`] (one key,
//!   inclusion or exclusion, one sibling per bit of path) and [`Witness`]
//!   (many keys, shared nodes), both SCALE-encodable; [`verify`].
//!   [`Witness::root_after`] computes the root after a set of changes from a
//!   witness covering the changed keys (`specs/state.md` 5.3).
//! - **Resident store** (feature `rocksdb`): `ResidentStore`, the state
//!   database for large states: the whole binary trie in memory (buckets of
//!   a few leaves under dense summaries), values, a journal and checkpoint
//!   images on RocksDB, one `WriteBatch` per version and no trie node
//!   written per version (`specs/state.md` format 3). It implements
//!   [`StateDb`], so the chain runs on it unchanged.
//! - **Node store**: [`Store<B>`] over a [`Backend`]: `RocksStore` (feature
//!   `rocksdb`: `RocksStore::open` takes the data directory's lock,
//!   `RocksStore::open_read_only` does not, for inspection tools) or
//!   [`MemoryStore`] ([`MemoryStore::in_memory`], the cheap scratch store for
//!   replays). Versions are block heights. The upper trie levels of the latest
//!   version are cached in memory, already verified.
//!
//! # API for the chain layer (stable)
//! - [`Store::commit`]`(version, &changes, &aux)` writes the state changes,
//!   the auxiliary records `aux` (blocks, receipts, tx index: column `aux`,
//!   outside the state root), the version and its root in ONE atomic batch.
//!   [`Store::prepare`] + [`Store::commit_prepared`] split it when the root
//!   must go into a header first.
//! - Reads: [`Store::get`] (latest, one backend get), [`Store::get_at`],
//!   [`Store::get_aux`], [`Store::scan_aux`], [`Store::root`],
//!   [`Store::root_at`], [`Store::latest_version`].
//! - Proofs: [`Store::prove`]`(key, version)`, [`Store::witness`]`(keys, version)`.
//! - [`Overlay`]: pending writes over a [`StateRead`] during a block;
//!   [`Overlay::into_changes`] drains it into `commit`.
//! - Generic code takes `Store<B: Backend>`; `Store<Box<dyn Backend>>` also works.
//! - Errors: [`StateError`] is a node failure (abort the block), never a
//!   contract outcome.
//!
//! # Example
//! ```
//! use cairn_state::{AuxWrites, MemoryStore, Overlay, StateRead, verify};
//!
//! let mut store = MemoryStore::in_memory();
//! let mut block = Overlay::new(&store);
//! block.put(b"alice".to_vec(), b"100".to_vec());
//! assert_eq!(block.get(b"alice")?, Some(b"100".to_vec()));
//! let changes = block.into_changes();
//! let mut aux = AuxWrites::new();
//! aux.insert(b"block/1".to_vec(), Some(b"header bytes".to_vec()));
//! let root = store.commit(1, &changes, &aux)?;
//!
//! let (value, proof) = store.prove(b"alice", 1)?;
//! assert_eq!(value.as_deref(), Some(&b"100"[..]));
//! verify(&root, b"alice", Some(b"100"), &proof).expect("valid proof");
//! assert!(verify(&root, b"alice", Some(b"101"), &proof).is_err());
//! assert_eq!(store.get_aux(b"block/1")?, Some(b"header bytes".to_vec()));
//! # Ok::<(), cairn_state::StateError>(())
//! ```

pub mod backend;
pub mod db;
pub mod error;
pub mod hash;
pub mod node;
pub mod overlay;
pub mod proof;
pub mod reference;
#[cfg(feature = "rocksdb")]
pub mod resident;
#[cfg(feature = "rocksdb")]
pub mod rocks;
pub mod store;
pub mod tree;

pub use backend::{Backend, Column, MemoryBackend, WriteBatch};
pub use db::{PreparedState, StateDb, StateView};
pub use error::StateError;
pub use hash::{EMPTY_HASH, Hash, StateRoot, keccak256};
pub use node::{NibblePath, Node, NodeKey};
pub use overlay::{Overlay, ReadThrough};
pub use proof::{Proof, ProofError, VerifiedWitness, Witness, WitnessNode, verify};
pub use reference::reference_root;
#[cfg(feature = "rocksdb")]
pub use resident::{
    RESIDENT_FORMAT_VERSION, ResidentOptions, ResidentPrepared, ResidentReader,
    ResidentRocksOptions, ResidentStore, WriteBytes, settle_options, values_memtable,
};
#[cfg(feature = "rocksdb")]
pub use rocks::{RocksBackend, RocksOptions};
#[cfg(feature = "rocksdb")]
pub use store::RocksStore;
pub use store::{
    AuxWrites, FORMAT_VERSION, MemoryStore, PreparedCommit, Retention, StateChanges, StateRead,
    Store, StoreOptions, StoreReader, Version,
};
pub use tree::{NodeBatch, RootRef, TreeReader, TreeUpdate};
