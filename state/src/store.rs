//! The versioned store: the pure trie plus persistence over a [`Backend`].

use crate::backend::{Backend, Column, MemoryBackend, WriteBatch};
use crate::db::{PreparedState, StateDb, StateView};
use crate::error::StateError;
use crate::hash::{EMPTY_HASH, Hash, StateRoot, keccak256, to_hex};
use crate::node::{InternalNode, Node, NodeKey};
use crate::proof::{Proof, Witness};
use crate::tree::{self, RootRef, TreeReader, TreeUpdate};
use parity_scale_codec::{DecodeAll, Encode};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// The on-disk format this build reads and writes. Bump on any change to
/// keys, encodings or column layout; older stores are then refused.
pub const FORMAT_VERSION: u32 = 1;

/// A version: the block height whose changes it holds.
pub type Version = u64;

/// State changes of one version: key to new value, `None` deletes.
pub type StateChanges = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Auxiliary writes (the chain's blocks, receipts, indexes) committed in the
/// same atomic batch as a version: key to value, `None` deletes. Not part of
/// the state root.
pub type AuxWrites = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

const META_FORMAT: &[u8] = b"format";
const META_LATEST: &[u8] = b"latest";
const META_FIRST: &[u8] = b"first";
const META_OLDEST: &[u8] = b"oldest";
const META_ROOT: &[u8] = b"root/";

const STALE_NODE: u8 = 0;
const STALE_VALUES: u8 = 1;

/// Which old versions stay readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// Keep every version (archive node).
    Archive,
    /// Keep the last `n` versions (`n >= 1`; the latest counts). Nodes and
    /// values only older versions use are deleted in the commit that makes
    /// them unreachable.
    KeepLast(u64),
}

/// Options of a [`Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Which old versions stay readable.
    pub retention: Retention,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            retention: Retention::Archive,
        }
    }
}

/// A commit computed but not yet written: holds the new root, so the chain
/// can put it into a block header before committing both atomically.
#[derive(Debug)]
pub struct PreparedCommit {
    version: Version,
    base: Option<Version>,
    update: TreeUpdate,
    changes: Vec<(Vec<u8>, Hash, Option<Vec<u8>>)>,
}

impl PreparedCommit {
    /// The state root the commit will have.
    #[must_use]
    pub fn root(&self) -> StateRoot {
        self.update.root
    }

    /// The version it commits.
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }

    /// Number of trie nodes it writes.
    #[must_use]
    pub fn node_writes(&self) -> usize {
        self.update.batch.nodes.len()
    }
}

#[derive(Clone, Debug)]
struct Latest {
    version: Version,
    root: Option<RootRef>,
}

/// Which versions exist: changed only by the writer, read by everyone.
#[derive(Clone, Debug, Default)]
struct Versions {
    latest: Option<Latest>,
    first: Option<Version>,
    oldest: Option<Version>,
}

/// What the writer and its read handles share.
#[derive(Debug)]
struct Shared<B> {
    backend: B,
    versions: RwLock<Versions>,
    node_cache: Mutex<NodeCache>,
}

/// The versioned Merkleized state over a backend: RocksDB
/// (`RocksStore`, feature `rocksdb`) or memory ([`MemoryStore`]). The one
/// writer; [`Store::reader`] hands out read handles for other threads.
#[derive(Debug)]
pub struct Store<B> {
    shared: Arc<Shared<B>>,
    options: StoreOptions,
}

/// A cheap, cloneable read handle of a [`Store`]: reads committed versions
/// ([`StateView`]) from any thread while the writer commits. Committed
/// versions never change; a version pruned during a read fails the read with
/// [`StateError::VersionUnavailable`] instead of giving a wrong answer.
#[derive(Debug)]
pub struct StoreReader<B> {
    shared: Arc<Shared<B>>,
}

impl<B> Clone for StoreReader<B> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The upper levels of the latest trie, decoded and verified. Every block's
/// updates pass through them, so keeping them saves a read, a decode and a
/// 15-hash check per node per block. Nodes are immutable, so a cached node
/// is never out of date; stale ones are dropped at commit.
#[derive(Debug, Default)]
struct NodeCache {
    nodes: BTreeMap<NodeKey, (Hash, InternalNode)>,
}

/// Internal nodes at most this many nibbles deep are cached: 1 + 16 + ... +
/// 16^4 = 69,905 nodes at most (about 60 MB), which at 1M keys are all the
/// levels above the last one or two.
const CACHED_DEPTH: usize = 4;

/// A store in memory: tests, dev tools, scratch replays.
pub type MemoryStore = Store<MemoryBackend>;

impl MemoryStore {
    /// A fresh, empty in-memory store (archive retention).
    #[must_use]
    pub fn in_memory() -> Self {
        // A fresh memory backend has no format record to disagree with and cannot fail.
        Self::with_backend(MemoryBackend::new(), StoreOptions::default())
            .unwrap_or_else(|e| unreachable!("fresh memory store: {e}"))
    }
}

fn decode_u64(what: &'static str, bytes: &[u8]) -> Result<u64, StateError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StateError::corrupt_record(what, "not 8 bytes"))?;
    Ok(u64::from_be_bytes(array))
}

fn root_key(version: Version) -> Vec<u8> {
    let mut key = META_ROOT.to_vec();
    key.extend_from_slice(&version.to_be_bytes());
    key
}

fn history_key(key_hash: &Hash, version: Version) -> Vec<u8> {
    let mut key = Vec::with_capacity(40);
    key.extend_from_slice(key_hash);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

impl<B: Backend> Store<B> {
    /// Opens a store over `backend`, checking (or, when empty, writing) the
    /// format version.
    pub fn with_backend(backend: B, options: StoreOptions) -> Result<Self, StateError> {
        let latest_bytes = backend.get(Column::Meta, META_LATEST)?;
        match backend.get(Column::Meta, META_FORMAT)? {
            Some(bytes) => {
                let found = u32::decode_all(&mut &bytes[..]).map_err(|_| {
                    StateError::IncompatibleFormat {
                        found: format!("unreadable format record 0x{}", to_hex(&bytes)).into(),
                        expected: FORMAT_VERSION,
                    }
                })?;
                if found != FORMAT_VERSION {
                    return Err(StateError::IncompatibleFormat {
                        found: found.to_string().into(),
                        expected: FORMAT_VERSION,
                    });
                }
            }
            None if latest_bytes.is_some() => {
                return Err(StateError::IncompatibleFormat {
                    found: "none (a store without a format record)".into(),
                    expected: FORMAT_VERSION,
                });
            }
            None => {
                let mut batch = WriteBatch::default();
                batch.put(Column::Meta, META_FORMAT.to_vec(), FORMAT_VERSION.encode());
                backend.write(batch)?;
            }
        }
        let shared = Shared {
            backend,
            versions: RwLock::default(),
            node_cache: Mutex::default(),
        };
        if let Some(bytes) = latest_bytes {
            let version = decode_u64("latest version record", &bytes)?;
            let root = shared.root_record(version)?;
            let first = shared
                .meta_u64(META_FIRST, "first version record")?
                .unwrap_or(version);
            let oldest = shared
                .meta_u64(META_OLDEST, "oldest version record")?
                .unwrap_or(version);
            *shared.versions_mut() = Versions {
                latest: Some(Latest { version, root }),
                first: Some(first),
                oldest: Some(oldest),
            };
        }
        Ok(Self {
            shared: Arc::new(shared),
            options,
        })
    }

    /// A read handle for other threads (RPC, proofs) while this store commits.
    pub fn reader(&self) -> StoreReader<B> {
        StoreReader {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.shared.backend
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// The latest committed version, `None` before the first commit.
    pub fn latest_version(&self) -> Option<Version> {
        self.shared.latest_version()
    }

    /// The oldest version still readable (values, proofs).
    pub fn oldest_version(&self) -> Option<Version> {
        self.shared.versions().oldest
    }

    /// The root of the latest version ([`StateRoot::EMPTY`] before the first commit).
    pub fn root(&self) -> StateRoot {
        StateRoot(
            self.shared
                .versions()
                .latest
                .as_ref()
                .and_then(|l| l.root.as_ref())
                .map_or(EMPTY_HASH, |r| r.hash),
        )
    }

    /// The root of any committed version (also pruned ones: roots are kept).
    pub fn root_at(&self, version: Version) -> Result<StateRoot, StateError> {
        self.shared.root_at(version)
    }

    /// The latest value of `key`: one backend read, no trie walk.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.shared.backend.get(Column::Latest, key)
    }

    /// The value of `key` at a retained `version`.
    pub fn get_at(&self, key: &[u8], version: Version) -> Result<Option<Vec<u8>>, StateError> {
        // Only the writer commits, so its latest version cannot move under
        // this read: the latest column answers it in one read.
        if Some(version) == self.latest_version() {
            return self.get(key);
        }
        self.shared.get_at(key, version)
    }

    /// An auxiliary record written by [`Store::commit`].
    pub fn get_aux(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.shared.backend.get(Column::Aux, key)
    }

    /// Auxiliary records with `start <= key < end`, in key order, at most `limit`.
    pub fn scan_aux(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<crate::backend::Entry>, StateError> {
        self.shared.backend.scan(Column::Aux, start, end, limit)
    }

    /// The value of `key` at a retained `version` and a proof of it (or of
    /// its absence) against [`Store::root_at`]`(version)`.
    pub fn prove(
        &self,
        key: &[u8],
        version: Version,
    ) -> Result<(Option<Vec<u8>>, Proof), StateError> {
        self.shared.prove(key, version)
    }

    /// A witness for all `keys` at a retained `version`, sharing nodes.
    pub fn witness<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        version: Version,
    ) -> Result<Witness, StateError> {
        self.shared.witness(keys, version)
    }

    /// Computes version `version` from `changes` without writing anything.
    pub fn prepare(
        &self,
        version: Version,
        changes: &StateChanges,
    ) -> Result<PreparedCommit, StateError> {
        let base = self.latest_version();
        if let Some(latest) = base {
            let expected = latest
                .checked_add(1)
                .ok_or_else(|| StateError::backend("version overflow"))?;
            if version != expected {
                return Err(StateError::NonSequentialVersion {
                    expected,
                    got: version,
                });
            }
        }
        let mut hashed: Vec<(Vec<u8>, Hash, Option<Vec<u8>>)> = changes
            .iter()
            .map(|(k, v)| (k.clone(), keccak256(k), v.clone()))
            .collect();
        hashed.sort_unstable_by_key(|change| change.1);
        let tree_changes: Vec<tree::HashedChange> = hashed
            .iter()
            .map(|(_, key_hash, value)| (*key_hash, value.as_deref().map(keccak256)))
            .collect();
        let base_root = self.shared.versions().latest.and_then(|l| l.root);
        let update = tree::apply(
            &*self.shared,
            base_root.as_ref(),
            base.unwrap_or(version),
            version,
            &tree_changes,
        )?;
        Ok(PreparedCommit {
            version,
            base,
            update,
            changes: hashed,
        })
    }

    /// Writes a prepared commit and `aux` in one atomic batch that also
    /// records the version and its root.
    pub fn commit_prepared(
        &mut self,
        prepared: PreparedCommit,
        aux: &AuxWrites,
    ) -> Result<StateRoot, StateError> {
        if prepared.base != self.latest_version() {
            return Err(StateError::NonSequentialVersion {
                expected: self
                    .latest_version()
                    .map_or(prepared.version, |v| v.saturating_add(1)),
                got: prepared.version,
            });
        }
        let version = prepared.version;
        let mut batch = WriteBatch::default();
        for (key, node) in &prepared.update.batch.nodes {
            batch.put(Column::Nodes, key.to_bytes(), node.encode());
        }
        // One stale-index entry per kind per version keeps the write count
        // per update low: nodes made stale, and (key hash, bound) pairs whose
        // history entries below `bound` become stale.
        if !prepared.update.batch.stale.is_empty() {
            batch.put(
                Column::Stale,
                stale_key(version, STALE_NODE),
                prepared.update.batch.stale.encode(),
            );
        }
        let stale_values: Vec<(Hash, u64)> = prepared
            .changes
            .iter()
            .map(|(_, key_hash, value)| {
                // A tombstone is stale too once older entries are gone.
                (
                    *key_hash,
                    if value.is_some() {
                        version
                    } else {
                        version.saturating_add(1)
                    },
                )
            })
            .collect();
        if !stale_values.is_empty() {
            batch.put(
                Column::Stale,
                stale_key(version, STALE_VALUES),
                stale_values.encode(),
            );
        }
        for (key, key_hash, value) in &prepared.changes {
            batch.put(
                Column::History,
                history_key(key_hash, version),
                value.encode(),
            );
            match value {
                Some(value) => batch.put(Column::Latest, key.clone(), value.clone()),
                None => batch.delete(Column::Latest, key.clone()),
            }
        }
        for (key, value) in aux {
            match value {
                Some(value) => batch.put(Column::Aux, key.clone(), value.clone()),
                None => batch.delete(Column::Aux, key.clone()),
            }
        }
        batch.put(
            Column::Meta,
            root_key(version),
            prepared.update.root_node.encode(),
        );
        batch.put(
            Column::Meta,
            META_LATEST.to_vec(),
            version.to_be_bytes().to_vec(),
        );
        let versions = self.shared.versions();
        let first = versions.first.unwrap_or(version);
        let mut oldest = versions.oldest.unwrap_or(version);
        if versions.first.is_none() {
            batch.put(
                Column::Meta,
                META_FIRST.to_vec(),
                version.to_be_bytes().to_vec(),
            );
            batch.put(
                Column::Meta,
                META_OLDEST.to_vec(),
                version.to_be_bytes().to_vec(),
            );
        }
        if let Retention::KeepLast(keep) = self.options.retention {
            let cutoff = version
                .saturating_add(1)
                .saturating_sub(keep.max(1))
                .max(first);
            if cutoff > oldest {
                self.shared.prune_into(cutoff, &mut batch)?;
                // Readers must see the cutoff before the deletes land.
                self.shared.versions_mut().oldest = Some(cutoff);
                oldest = cutoff;
            }
        }
        self.shared.backend.write(batch)?;
        {
            let mut cache = self.shared.cache();
            for key in &prepared.update.batch.stale {
                cache.nodes.remove(key);
            }
            for (key, hash) in &prepared.update.batch.internal_hashes {
                if key.path.len() <= CACHED_DEPTH
                    && let Some(Node::Internal(node)) = prepared.update.batch.nodes.get(key)
                {
                    cache.nodes.insert(key.clone(), (*hash, node.clone()));
                }
            }
        }
        *self.shared.versions_mut() = Versions {
            latest: Some(Latest {
                version,
                root: prepared.update.root_node,
            }),
            first: Some(first),
            oldest: Some(oldest),
        };
        Ok(prepared.update.root)
    }

    /// Commits `changes` as `version` (the latest version + 1, or any version
    /// for the first commit) together with `aux`, atomically.
    pub fn commit(
        &mut self,
        version: Version,
        changes: &StateChanges,
        aux: &AuxWrites,
    ) -> Result<StateRoot, StateError> {
        let prepared = self.prepare(version, changes)?;
        self.commit_prepared(prepared, aux)
    }

    /// Makes versions before `oldest` unreadable and deletes the nodes and
    /// values only they used. `oldest` must not exceed the latest version.
    pub fn prune_to(&mut self, oldest: Version) -> Result<(), StateError> {
        let latest = self
            .latest_version()
            .ok_or_else(|| self.shared.unavailable(oldest))?;
        if oldest > latest {
            return Err(self.shared.unavailable(oldest));
        }
        if self.oldest_version().is_some_and(|o| oldest <= o) {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        self.shared.prune_into(oldest, &mut batch)?;
        // Readers must see the new oldest version before the deletes land.
        self.shared.versions_mut().oldest = Some(oldest);
        self.shared.backend.write(batch)?;
        Ok(())
    }
}

impl<B: Backend> Shared<B> {
    fn versions(&self) -> Versions {
        // Versions are replaced whole; a panic cannot leave them half-written.
        self.versions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn versions_mut(&self) -> std::sync::RwLockWriteGuard<'_, Versions> {
        self.versions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn latest_version(&self) -> Option<Version> {
        self.versions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .latest
            .as_ref()
            .map(|l| l.version)
    }

    fn meta_u64(&self, key: &[u8], what: &'static str) -> Result<Option<u64>, StateError> {
        self.backend
            .get(Column::Meta, key)?
            .map(|b| decode_u64(what, &b))
            .transpose()
    }

    fn root_record(&self, version: Version) -> Result<Option<RootRef>, StateError> {
        let bytes = self
            .backend
            .get(Column::Meta, &root_key(version))?
            .ok_or_else(|| {
                StateError::corrupt_record(
                    "root record",
                    format!("no root recorded for committed version {version}"),
                )
            })?;
        Option::<RootRef>::decode_all(&mut &bytes[..]).map_err(|e| {
            StateError::corrupt_record("root record", format!("version {version}: {e}"))
        })
    }

    fn root_at(&self, version: Version) -> Result<StateRoot, StateError> {
        let versions = self.versions();
        match (versions.first, versions.latest.map(|l| l.version)) {
            (Some(first), Some(latest)) if (first..=latest).contains(&version) => Ok(StateRoot(
                self.root_record(version)?.map_or(EMPTY_HASH, |r| r.hash),
            )),
            _ => Err(self.unavailable(version)),
        }
    }

    fn unavailable(&self, version: Version) -> StateError {
        let versions = self.versions();
        let reason = match (versions.oldest, versions.latest.map(|l| l.version)) {
            (Some(oldest), Some(latest)) => format!("the store holds versions {oldest}..={latest}"),
            _ => "nothing is committed yet".to_string(),
        };
        StateError::VersionUnavailable {
            requested: version,
            reason: reason.into(),
        }
    }

    fn is_retained(&self, version: Version) -> bool {
        let versions = self.versions();
        match (versions.oldest, versions.latest.map(|l| l.version)) {
            (Some(oldest), Some(latest)) => (oldest..=latest).contains(&version),
            _ => false,
        }
    }

    /// Runs `read` of `version` if it is retained, and checks it still is
    /// afterwards: pruning raises the oldest version before it deletes, so a
    /// read that raced a prune is refused rather than answered wrongly.
    fn read_retained<T>(
        &self,
        version: Version,
        read: impl FnOnce() -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        if !self.is_retained(version) {
            return Err(self.unavailable(version));
        }
        let result = read();
        if !self.is_retained(version) {
            return Err(self.unavailable(version));
        }
        result
    }

    /// The value of `key` at `version` from the value history (every
    /// committed value is there, the latest included).
    fn get_at(&self, key: &[u8], version: Version) -> Result<Option<Vec<u8>>, StateError> {
        self.read_retained(version, || {
            let key_hash = keccak256(key);
            match self
                .backend
                .seek_prev(Column::History, &history_key(&key_hash, version))?
            {
                Some((found, bytes)) if found.starts_with(&key_hash) => {
                    Option::<Vec<u8>>::decode_all(&mut &bytes[..]).map_err(|e| {
                        StateError::corrupt_record(
                            "value history entry",
                            format!("0x{}: {e}", to_hex(&found)),
                        )
                    })
                }
                _ => Ok(None),
            }
        })
    }

    fn prove(&self, key: &[u8], version: Version) -> Result<(Option<Vec<u8>>, Proof), StateError> {
        self.read_retained(version, || {
            let key_hash = keccak256(key);
            let root = self.root_record(version)?;
            let proof = tree::prove(self, root.as_ref(), version, &key_hash)?;
            let value = self.get_at(key, version)?;
            let proven = proof
                .leaf
                .filter(|l| l.key_hash == key_hash)
                .map(|l| l.value_hash);
            if proven != value.as_deref().map(keccak256) {
                return Err(StateError::corrupt_record(
                    "value",
                    format!(
                        "the stored value of key 0x{} at version {version} disagrees with the trie",
                        to_hex(key)
                    ),
                ));
            }
            Ok((value, proof))
        })
    }

    fn witness<K: AsRef<[u8]>>(&self, keys: &[K], version: Version) -> Result<Witness, StateError> {
        self.read_retained(version, || {
            let mut key_hashes: Vec<Hash> = keys.iter().map(|k| keccak256(k.as_ref())).collect();
            key_hashes.sort_unstable();
            key_hashes.dedup();
            let root = self.root_record(version)?;
            tree::witness(self, root.as_ref(), version, &key_hashes)
        })
    }

    /// Adds to `batch` the deletes that make `oldest` the oldest version.
    fn prune_into(&self, oldest: Version, batch: &mut WriteBatch) -> Result<(), StateError> {
        let end = oldest.saturating_add(1).to_be_bytes();
        for (stale, list) in self.backend.scan(Column::Stale, &[], &end, usize::MAX)? {
            let bad = |e: &dyn std::fmt::Display| {
                StateError::corrupt_record(
                    "stale index entry",
                    format!("0x{}: {e}", to_hex(&stale)),
                )
            };
            match stale.get(8) {
                Some(&STALE_NODE) => {
                    let nodes = Vec::<NodeKey>::decode_all(&mut &list[..]).map_err(|e| bad(&e))?;
                    for node in nodes {
                        batch.delete(Column::Nodes, node.to_bytes());
                    }
                }
                Some(&STALE_VALUES) => {
                    let values =
                        Vec::<(Hash, u64)>::decode_all(&mut &list[..]).map_err(|e| bad(&e))?;
                    for (key_hash, bound) in values {
                        let (start, end) =
                            (history_key(&key_hash, 0), history_key(&key_hash, bound));
                        for (entry, _) in
                            self.backend
                                .scan(Column::History, &start, &end, usize::MAX)?
                        {
                            batch.delete(Column::History, entry);
                        }
                    }
                }
                _ => return Err(bad(&"unknown kind")),
            }
            batch.delete(Column::Stale, stale);
        }
        batch.put(
            Column::Meta,
            META_OLDEST.to_vec(),
            oldest.to_be_bytes().to_vec(),
        );
        Ok(())
    }
}

fn stale_key(since: Version, kind: u8) -> Vec<u8> {
    let mut key = since.to_be_bytes().to_vec();
    key.push(kind);
    key
}

impl<B> Shared<B> {
    fn cache(&self) -> MutexGuard<'_, NodeCache> {
        // The cache holds only verified nodes; a panic elsewhere cannot leave
        // it inconsistent, so a poisoned lock is still usable.
        self.node_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<B: Backend> TreeReader for Shared<B> {
    fn cached_internal(&self, key: &NodeKey) -> Option<(Hash, InternalNode)> {
        self.cache().nodes.get(key).cloned()
    }

    fn internal_verified(&self, version: u64, key: &NodeKey, hash: &Hash, node: &InternalNode) {
        // Only the latest version's nodes are kept: they are dropped when
        // they go stale, which bounds the cache to one trie's upper levels.
        if key.path.len() <= CACHED_DEPTH && Shared::latest_version(self) == Some(version) {
            self.cache()
                .nodes
                .insert(key.clone(), (*hash, node.clone()));
        }
    }

    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StateError> {
        let Some(bytes) = self.backend.get(Column::Nodes, &key.to_bytes())? else {
            return Ok(None);
        };
        Node::decode_all(&mut &bytes[..])
            .map(Some)
            .map_err(|e| StateError::CorruptNode {
                node: Box::new(key.clone()),
                version: key.version,
                reason: format!("does not decode: {e}").into(),
            })
    }
}

/// Latest-version reads, what an [`Overlay`](crate::Overlay) reads through.
pub trait StateRead {
    /// The latest value of `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
}

impl<B: Backend> StateRead for Store<B> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Store::get(self, key)
    }
}

impl<T: StateRead + ?Sized> StateRead for &T {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        (**self).get(key)
    }
}

impl PreparedState for PreparedCommit {
    fn root(&self) -> StateRoot {
        self.update.root
    }
    fn version(&self) -> Version {
        self.version
    }
}

impl<B: Backend> StateView for Store<B> {
    fn latest_version(&self) -> Option<Version> {
        Store::latest_version(self)
    }
    fn oldest_version(&self) -> Option<Version> {
        Store::oldest_version(self)
    }
    fn root_at(&self, version: Version) -> Result<StateRoot, StateError> {
        Store::root_at(self, version)
    }
    fn get_at(&self, key: &[u8], version: Version) -> Result<Option<Vec<u8>>, StateError> {
        Store::get_at(self, key, version)
    }
    fn prove(&self, key: &[u8], version: Version) -> Result<(Option<Vec<u8>>, Proof), StateError> {
        Store::prove(self, key, version)
    }
    fn witness(&self, keys: &[&[u8]], version: Version) -> Result<Witness, StateError> {
        Store::witness(self, keys, version)
    }
    fn get_aux(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Store::get_aux(self, key)
    }
}

impl<B: Backend + 'static> StateDb for Store<B> {
    type Prepared = PreparedCommit;
    type Reader = StoreReader<B>;

    fn reader(&self) -> StoreReader<B> {
        Store::reader(self)
    }
    fn prepare(
        &self,
        version: Version,
        changes: &StateChanges,
    ) -> Result<PreparedCommit, StateError> {
        Store::prepare(self, version, changes)
    }
    fn commit_prepared(
        &mut self,
        prepared: PreparedCommit,
        aux: &AuxWrites,
    ) -> Result<StateRoot, StateError> {
        Store::commit_prepared(self, prepared, aux)
    }
}

/// Latest-version reads through a reader: what a block executing while its
/// parent's commit is being written reads below the parent's changes.
impl<B: Backend> StateRead for StoreReader<B> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.shared.backend.get(Column::Latest, key)
    }
}

impl<B: Backend> StateView for StoreReader<B> {
    fn latest_version(&self) -> Option<Version> {
        self.shared.latest_version()
    }
    fn oldest_version(&self) -> Option<Version> {
        self.shared.versions().oldest
    }
    fn root_at(&self, version: Version) -> Result<StateRoot, StateError> {
        self.shared.root_at(version)
    }
    fn get_at(&self, key: &[u8], version: Version) -> Result<Option<Vec<u8>>, StateError> {
        self.shared.get_at(key, version)
    }
    fn prove(&self, key: &[u8], version: Version) -> Result<(Option<Vec<u8>>, Proof), StateError> {
        self.shared.prove(key, version)
    }
    fn witness(&self, keys: &[&[u8]], version: Version) -> Result<Witness, StateError> {
        self.shared.witness(keys, version)
    }
    fn get_aux(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.shared.backend.get(Column::Aux, key)
    }
}

#[cfg(feature = "rocksdb")]
mod rocks_store {
    use super::{Store, StoreOptions};
    use crate::error::StateError;
    use crate::rocks::{RocksBackend, RocksOptions};
    use std::path::Path;

    /// A store on RocksDB.
    pub type RocksStore = Store<RocksBackend>;

    impl RocksStore {
        /// Opens (creating if needed) the store in data directory `path`
        /// with default RocksDB tuning.
        pub fn open(path: &Path, options: StoreOptions) -> Result<Self, StateError> {
            Self::open_with(path, options, &RocksOptions::default())
        }

        /// Opens an existing store in `path` for reading only, without taking
        /// its lock (see [`RocksBackend::open_read_only`]): for tools that
        /// inspect the data directory of a running node.
        pub fn open_read_only(path: &Path) -> Result<Self, StateError> {
            Store::with_backend(
                RocksBackend::open_read_only(path, &RocksOptions::default())?,
                StoreOptions::default(),
            )
        }

        /// Opens the store in `path` with explicit RocksDB tuning.
        pub fn open_with(
            path: &Path,
            options: StoreOptions,
            rocks: &RocksOptions,
        ) -> Result<Self, StateError> {
            Store::with_backend(RocksBackend::open(path, rocks)?, options)
        }
    }
}

#[cfg(feature = "rocksdb")]
pub use rocks_store::RocksStore;
