//! [`ResidentStore`]: the state database for large states. The whole
//! binary trie lives in memory ([`trie`]); RocksDB holds only what cannot
//! be recomputed cheaply: every value by `(key hash, version)`, a journal
//! of each version's changed key hashes, and now and then a checkpoint
//! image of the trie's leaves (`specs/state.md` sections 6 and 7).
//!
//! - A commit writes ONE RocksDB `WriteBatch`: the changed values, the
//!   journal entry, the version and its root, the chain's auxiliary records
//!   and any pruning. No trie node is ever written per version.
//! - Reads of the latest version are one exact RocksDB get (the trie holds
//!   each key's version); reads at a retained older version one seek.
//! - Proofs at the latest version come from memory; at the last
//!   [`ResidentOptions::recent_versions`] versions from the reverse deltas
//!   kept in memory; at older retained versions from a trie rebuilt from a
//!   checkpoint image and the journal (slower: seconds at millions of keys).
//! - Opening loads the newest image and replays the journal written after
//!   it, checking the result against the recorded root: that is both the
//!   clean start (an image is written on clean shutdown) and the recovery
//!   after a crash.

mod disk;
pub(crate) mod trie;

pub use disk::{ResidentRocksOptions, WriteBytes, settle_options, values_memtable};

use crate::db::{PreparedState, StateDb, StateView};
use crate::error::StateError;
use crate::hash::{Hash, StateRoot, keccak256, leaf_hash, to_hex};
use crate::node::LeafNode;
use crate::proof::{Proof, Witness, WitnessNode};
use crate::store::{AuxWrites, Retention, StateChanges, StateRead, Version};
use disk::{
    CF_AUX, CF_JOURNAL, CF_META, CF_VALUES, Disk, JournalChange, JournalEntry, META_FIRST,
    META_FORMAT, META_LATEST, META_OLDEST, root_key, value_key,
};
use parity_scale_codec::{DecodeAll, Encode};
use rocksdb::WriteBatch;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;
use trie::{
    HistoricalView, Leaf, LeafChange, PlanNode, ReverseDelta, Trie, TrieDelta, TrieView, bits_for,
    needs_relayout, plan_proof, plan_witness,
};

/// The on-disk format of a [`ResidentStore`] (`meta/format`). Format 1 is
/// the node store of [`Store`](crate::Store). Format 3 stores the entries of
/// a key hash in `values` newest first (format 2 oldest first); a format 2
/// directory is refused with [`StateError::IncompatibleFormat`].
pub const RESIDENT_FORMAT_VERSION: u32 = 3;

/// Options of a [`ResidentStore`].
#[derive(Clone, Debug)]
pub struct ResidentOptions {
    /// Which old versions stay readable.
    pub retention: Retention,
    /// Versions between checkpoint images. Recovery after a crash replays
    /// at most this many versions of journal.
    pub checkpoint_interval: u64,
    /// Versions below the latest whose proofs come from memory (reverse
    /// deltas); older retained versions are rebuilt from disk.
    pub recent_versions: usize,
    /// RocksDB tuning.
    pub rocks: ResidentRocksOptions,
}

impl Default for ResidentOptions {
    fn default() -> Self {
        Self {
            retention: Retention::Archive,
            checkpoint_interval: 1000,
            recent_versions: 8,
            rocks: ResidentRocksOptions::default(),
        }
    }
}

/// The versions and the live trie, changed only by the writer.
#[derive(Debug)]
struct Live {
    trie: Trie,
    latest: Option<Version>,
    first: Option<Version>,
    oldest: Option<Version>,
    /// `(u, delta)`: what the commit of version `u` replaced, ascending.
    deltas: VecDeque<(Version, ReverseDelta)>,
}

/// What the writer, its readers and the checkpoint thread share.
#[derive(Debug)]
struct Shared {
    disk: Disk,
    live: RwLock<Live>,
    /// Recorded checkpoint images, ascending.
    images: Mutex<Vec<Version>>,
    /// The last older version rebuilt from disk, for repeated proofs.
    rebuilt: Mutex<Option<(Version, Arc<Trie>)>>,
}

/// The state database with its trie resident in memory (see the module
/// docs). The one writer; [`ResidentStore::reader`] hands out read handles.
#[derive(Debug)]
pub struct ResidentStore {
    shared: Arc<Shared>,
    options: ResidentOptions,
    checkpoint: Option<JoinHandle<Result<Version, StateError>>>,
    /// Journal entries below this version have been deleted.
    journal_from: Version,
    /// Set by [`ResidentStore::abandon`]: no image on drop.
    abandoned: bool,
}

/// A cheap, cloneable read handle of a [`ResidentStore`] for other threads.
#[derive(Debug, Clone)]
pub struct ResidentReader {
    shared: Arc<Shared>,
}

/// One hashed change of a prepared commit.
#[derive(Debug)]
struct HashedChange {
    key_hash: Hash,
    value: Option<Vec<u8>>,
    value_hash: Option<Hash>,
    leaf_hash: Option<Hash>,
    /// The version of the entry this change replaces, if the key was present.
    replaced: Option<Version>,
}

#[derive(Debug)]
enum Update {
    Delta(TrieDelta),
    Rebuilt(Box<Trie>),
}

/// A commit computed by [`ResidentStore::prepare`] and not yet written.
#[derive(Debug)]
pub struct ResidentPrepared {
    version: Version,
    base: Option<Version>,
    root: StateRoot,
    update: Update,
    changes: Vec<HashedChange>,
}

impl PreparedState for ResidentPrepared {
    fn root(&self) -> StateRoot {
        self.root
    }
    fn version(&self) -> Version {
        self.version
    }
}

fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // The live trie is replaced only by whole swaps after a successful
    // write; a panic elsewhere cannot leave it half-changed.
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Hashes keys and values on all cores; returns the changes sorted by key hash.
fn hash_changes(changes: &StateChanges) -> Vec<HashedChange> {
    let items: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = changes.iter().collect();
    let hash_one = |(key, value): &(&Vec<u8>, &Option<Vec<u8>>)| {
        let key_hash = keccak256(key);
        let value_hash = value.as_deref().map(keccak256);
        HashedChange {
            key_hash,
            value: (*value).clone(),
            value_hash,
            leaf_hash: value_hash.map(|v| leaf_hash(&key_hash, &v)),
            replaced: None,
        }
    };
    let threads = trie::threads();
    let mut hashed: Vec<HashedChange> = if items.len() < 2048 || threads < 2 {
        items.iter().map(hash_one).collect()
    } else {
        let per = items.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = items
                .chunks(per)
                .map(|part| scope.spawn(move || part.iter().map(hash_one).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    hashed.sort_unstable_by_key(|c| c.key_hash);
    hashed
}

/// Applies the journal of versions `after+1..=to` to `trie` and hashes it.
fn replay_journal(
    disk: &Disk,
    mut trie: Trie,
    after: Option<Version>,
    first: Version,
    to: Version,
) -> Result<Trie, StateError> {
    let from = after.map_or(first, |a| a.saturating_add(1));
    let mut replayed = false;
    for version in from..=to {
        let entry = disk.journal(version)?;
        let changes = entry.leaf_changes(version)?;
        trie.apply_unhashed(&changes, version);
        if needs_relayout(trie.bits(), trie.leaves()) {
            trie = trie.relayout_unhashed();
        }
        replayed = true;
    }
    Ok(if replayed {
        trie.finish_unhashed()
    } else {
        trie
    })
}

impl Shared {
    fn unavailable(&self, version: Version) -> StateError {
        let live = read_lock(&self.live);
        let reason = match (live.oldest, live.latest) {
            (Some(oldest), Some(latest)) => format!("the store holds versions {oldest}..={latest}"),
            _ => "nothing is committed yet".to_string(),
        };
        StateError::VersionUnavailable {
            requested: version,
            reason: reason.into(),
        }
    }

    fn is_retained(&self, version: Version) -> bool {
        let live = read_lock(&self.live);
        matches!((live.oldest, live.latest), (Some(o), Some(l)) if (o..=l).contains(&version))
    }

    /// Runs `read` of `version` if it is retained and checks it still is
    /// afterwards: pruning raises the oldest version before it deletes, so
    /// a read that raced a prune is refused rather than answered wrongly.
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

    fn latest_version(&self) -> Option<Version> {
        read_lock(&self.live).latest
    }

    fn oldest_version(&self) -> Option<Version> {
        read_lock(&self.live).oldest
    }

    fn root_at(&self, version: Version) -> Result<StateRoot, StateError> {
        let (first, latest) = {
            let live = read_lock(&self.live);
            (live.first, live.latest)
        };
        match (first, latest) {
            (Some(first), Some(latest)) if (first..=latest).contains(&version) => {
                Ok(StateRoot(self.disk.root(version)?))
            }
            _ => Err(self.unavailable(version)),
        }
    }

    /// The latest value of `key`: the trie names the entry, one exact get.
    fn get_latest(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let key_hash = keccak256(key);
        let leaf = read_lock(&self.live).trie.leaf(&key_hash);
        let Some(leaf) = leaf else {
            return Ok(None);
        };
        match self.disk.value_exact(&key_hash, leaf.version)? {
            Some(Some(value)) => Ok(Some(value)),
            Some(None) => Err(StateError::corrupt_record(
                "value entry",
                format!(
                    "key 0x{} is present in the trie but deleted at version {}",
                    to_hex(key),
                    leaf.version
                ),
            )),
            // A commit replaced and pruned the entry after the trie was
            // read: the newest entry is the latest committed value.
            None => self.disk.value_at(&key_hash, Version::MAX),
        }
    }

    fn get_at(&self, key: &[u8], version: Version) -> Result<Option<Vec<u8>>, StateError> {
        self.read_retained(version, || self.disk.value_at(&keccak256(key), version))
    }

    fn get_aux(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.disk.get(CF_AUX, key)
    }

    /// Runs `f` on the trie of `version` (retained): live, through reverse
    /// deltas, or rebuilt from disk.
    fn with_view<T>(
        &self,
        version: Version,
        f: impl Fn(&dyn TrieView) -> T,
    ) -> Result<T, StateError> {
        {
            let live = read_lock(&self.live);
            if live.latest == Some(version) {
                return Ok(f(&live.trie));
            }
            if let Some(latest) = live.latest
                && version < latest
            {
                let deltas: Vec<&ReverseDelta> = live
                    .deltas
                    .iter()
                    .filter(|(u, _)| *u > version)
                    .map(|(_, d)| d)
                    .collect();
                if deltas.len() as u64 == latest - version {
                    return Ok(f(&HistoricalView {
                        live: &live.trie,
                        deltas,
                    }));
                }
            }
        }
        let trie = self.rebuilt_trie(version)?;
        Ok(f(&*trie))
    }

    /// The trie of an older retained version from the newest image at or
    /// before it and the journal after the image.
    fn rebuilt_trie(&self, version: Version) -> Result<Arc<Trie>, StateError> {
        if let Some((v, trie)) = &*lock(&self.rebuilt)
            && *v == version
        {
            return Ok(Arc::clone(trie));
        }
        let first = read_lock(&self.live)
            .first
            .ok_or_else(|| self.unavailable(version))?;
        let mut attempt = 0;
        let trie = loop {
            let images = lock(&self.images).clone();
            let image = images.iter().rev().find(|c| **c <= version).copied();
            let result = (|| {
                let trie = match image {
                    Some(c) => self.disk.load_image(c, c == version)?,
                    None => Trie::empty(bits_for(0)),
                };
                replay_journal(&self.disk, trie, image, first, version)
            })();
            match result {
                Ok(trie) => break trie,
                // The image may have been dropped for a newer one meanwhile.
                Err(_) if attempt < 2 && *lock(&self.images) != images => attempt += 1,
                Err(e) => return Err(e),
            }
        };
        let recorded = self.disk.root(version)?;
        if trie.root().hash != recorded {
            return Err(StateError::corrupt_record(
                "journal",
                format!(
                    "version {version} rebuilt from checkpoint image and journal hashes to {}, the recorded root is {}",
                    to_hex(&trie.root().hash),
                    to_hex(&recorded)
                ),
            ));
        }
        let trie = Arc::new(trie);
        *lock(&self.rebuilt) = Some((version, Arc::clone(&trie)));
        Ok(trie)
    }

    /// The value hash of a leaf of `version`'s trie, from its value entry,
    /// checked against the leaf hash.
    fn leaf_node(&self, leaf: &Leaf, value: Option<&[u8]>) -> Result<LeafNode, StateError> {
        let owned;
        let value = match value {
            Some(v) => v,
            None => {
                owned = self
                    .disk
                    .value_exact(&leaf.key_hash, leaf.version)?
                    .flatten()
                    .ok_or_else(|| {
                        StateError::corrupt_record(
                            "value entry",
                            format!(
                                "no value for key hash 0x{} at version {}",
                                to_hex(&leaf.key_hash),
                                leaf.version
                            ),
                        )
                    })?;
                &owned
            }
        };
        let value_hash = keccak256(value);
        if leaf_hash(&leaf.key_hash, &value_hash) != leaf.leaf_hash {
            return Err(StateError::corrupt_record(
                "value entry",
                format!(
                    "the value of key hash 0x{} at version {} disagrees with the trie",
                    to_hex(&leaf.key_hash),
                    leaf.version
                ),
            ));
        }
        Ok(LeafNode {
            key_hash: leaf.key_hash,
            value_hash,
        })
    }

    fn inconsistent(version: Version) -> StateError {
        StateError::corrupt_record(
            "trie",
            format!("the in-memory trie of version {version} is inconsistent"),
        )
    }

    fn prove(&self, key: &[u8], version: Version) -> Result<(Option<Vec<u8>>, Proof), StateError> {
        self.read_retained(version, || {
            let key_hash = keccak256(key);
            let plan = self
                .with_view(version, |view| plan_proof(view, &key_hash))?
                .ok_or_else(|| Self::inconsistent(version))?;
            let (value, leaf) = match plan.end {
                Some(leaf) if leaf.key_hash == key_hash => {
                    let value = self
                        .disk
                        .value_exact(&key_hash, leaf.version)?
                        .flatten()
                        .ok_or_else(|| {
                            StateError::corrupt_record(
                                "value entry",
                                format!(
                                    "no value for key 0x{} at version {}",
                                    to_hex(key),
                                    leaf.version
                                ),
                            )
                        })?;
                    let node = self.leaf_node(&leaf, Some(&value))?;
                    (Some(value), Some(node))
                }
                Some(other) => (None, Some(self.leaf_node(&other, None)?)),
                None => (None, None),
            };
            Ok((
                value,
                Proof {
                    leaf,
                    siblings: plan.siblings,
                },
            ))
        })
    }

    fn witness(&self, keys: &[&[u8]], version: Version) -> Result<Witness, StateError> {
        self.read_retained(version, || {
            let mut targets: Vec<Hash> = keys.iter().map(|k| keccak256(k)).collect();
            targets.sort_unstable();
            targets.dedup();
            let plan = self
                .with_view(version, |view| plan_witness(view, &targets))?
                .ok_or_else(|| Self::inconsistent(version))?;
            let nodes = plan
                .into_iter()
                .map(|node| {
                    Ok(match node {
                        PlanNode::Empty => WitnessNode::Empty,
                        PlanNode::Hash(hash) => WitnessNode::Hash(hash),
                        PlanNode::Branch => WitnessNode::Branch,
                        PlanNode::Leaf(leaf) => WitnessNode::Leaf(self.leaf_node(&leaf, None)?),
                    })
                })
                .collect::<Result<Vec<_>, StateError>>()?;
            Ok(Witness { nodes })
        })
    }
}

impl ResidentStore {
    /// Opens (creating if needed) the store in data directory `path`:
    /// loads the newest checkpoint image and replays the journal after it,
    /// checking the result against the recorded root.
    ///
    /// # Errors
    ///
    /// [`StateError::AlreadyOpen`], [`StateError::IncompatibleFormat`],
    /// [`StateError::CorruptRecord`] for an image or journal that does not
    /// lead to the recorded root; backend failures.
    pub fn open(path: &Path, options: ResidentOptions) -> Result<Self, StateError> {
        let disk = Disk::open(path, &options.rocks)?;
        let latest = disk.meta_u64(META_LATEST, "latest version record")?;
        match disk.get(CF_META, META_FORMAT)? {
            Some(bytes) => {
                let found = u32::decode_all(&mut &bytes[..]).map_err(|_| {
                    StateError::IncompatibleFormat {
                        found: format!("unreadable format record 0x{}", to_hex(&bytes)).into(),
                        expected: RESIDENT_FORMAT_VERSION,
                    }
                })?;
                if found != RESIDENT_FORMAT_VERSION {
                    return Err(StateError::IncompatibleFormat {
                        found: found.to_string().into(),
                        expected: RESIDENT_FORMAT_VERSION,
                    });
                }
            }
            None if latest.is_some() => {
                return Err(StateError::IncompatibleFormat {
                    found: "none (a store without a format record)".into(),
                    expected: RESIDENT_FORMAT_VERSION,
                });
            }
            None => {
                let mut batch = WriteBatch::default();
                batch.put_cf(
                    disk.cf(CF_META)?,
                    META_FORMAT,
                    RESIDENT_FORMAT_VERSION.encode(),
                );
                disk.write(batch)?;
            }
        }
        let images = disk.images()?;
        disk.drop_unrecorded_images(&images)?;
        let mut live = Live {
            trie: Trie::empty(bits_for(0)),
            latest,
            first: None,
            oldest: None,
            deltas: VecDeque::new(),
        };
        if let Some(latest) = latest {
            let first = disk
                .meta_u64(META_FIRST, "first version record")?
                .unwrap_or(latest);
            let oldest = disk
                .meta_u64(META_OLDEST, "oldest version record")?
                .unwrap_or(first);
            let image = images.iter().rev().find(|c| **c <= latest).copied();
            let trie = match image {
                Some(c) => disk.load_image(c, c == latest)?,
                None => Trie::empty(bits_for(0)),
            };
            let trie = replay_journal(&disk, trie, image, first, latest)?;
            let recorded = disk.root(latest)?;
            if trie.root().hash != recorded {
                return Err(StateError::corrupt_record(
                    "journal",
                    format!(
                        "checkpoint image {image:?} and the journal up to version {latest} hash to {}, the recorded root is {}",
                        to_hex(&trie.root().hash),
                        to_hex(&recorded)
                    ),
                ));
            }
            live.trie = trie;
            live.first = Some(first);
            live.oldest = Some(oldest);
        }
        let shared = Shared {
            disk,
            live: RwLock::new(live),
            images: Mutex::new(images),
            rebuilt: Mutex::new(None),
        };
        Ok(Self {
            shared: Arc::new(shared),
            options,
            checkpoint: None,
            journal_from: 0,
            abandoned: false,
        })
    }

    /// A read handle for other threads while this store commits.
    #[must_use]
    pub fn reader(&self) -> ResidentReader {
        ResidentReader {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The options the store was opened with.
    #[must_use]
    pub fn options(&self) -> &ResidentOptions {
        &self.options
    }

    /// The data directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.shared.disk.path()
    }

    /// The root of the latest version ([`StateRoot::EMPTY`] before the first commit).
    #[must_use]
    pub fn root(&self) -> StateRoot {
        StateRoot(read_lock(&self.shared.live).trie.root().hash)
    }

    /// Number of keys in the latest version.
    #[must_use]
    pub fn key_count(&self) -> u64 {
        read_lock(&self.shared.live).trie.leaves()
    }

    /// Bytes of memory the trie and the reverse deltas hold.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        let live = read_lock(&self.shared.live);
        live.trie.bytes() + live.deltas.iter().map(|(_, d)| d.bytes()).sum::<usize>()
    }

    /// Bytes RocksDB wrote so far, by cause (needs
    /// [`ResidentRocksOptions::statistics`]).
    #[must_use]
    pub fn write_bytes(&self) -> WriteBytes {
        self.shared.disk.write_bytes()
    }

    /// Flushes RocksDB's memtables (for benchmarks counting bytes written).
    ///
    /// # Errors
    ///
    /// Backend failures.
    pub fn flush(&self) -> Result<(), StateError> {
        self.shared.disk.flush()
    }

    /// Waits, at most `timeout`, until RocksDB's background flushes and
    /// compactions are done, so a benchmark's measured blocks do not pay for
    /// the writes before them.
    ///
    /// # Errors
    ///
    /// Backend failures, or background work still running at `timeout`.
    pub fn wait_for_compactions(&self, timeout: Duration) -> Result<(), StateError> {
        self.shared.disk.wait_for_compactions(timeout)
    }

    /// Versions of the recorded checkpoint images.
    #[must_use]
    pub fn images(&self) -> Vec<Version> {
        lock(&self.shared.images).clone()
    }

    /// Computes `version` from `changes` without writing anything.
    ///
    /// # Errors
    ///
    /// [`StateError::NonSequentialVersion`].
    pub fn prepare(
        &self,
        version: Version,
        changes: &StateChanges,
    ) -> Result<ResidentPrepared, StateError> {
        let mut hashed = hash_changes(changes);
        let live = read_lock(&self.shared.live);
        let base = live.latest;
        if let Some(latest) = base {
            let expected = latest
                .checked_add(1)
                .ok_or_else(|| StateError::Backend("version overflow".into()))?;
            if version != expected {
                return Err(StateError::NonSequentialVersion {
                    expected,
                    got: version,
                });
            }
        }
        let mut leaves = live.trie.leaves();
        for change in &mut hashed {
            change.replaced = live.trie.leaf(&change.key_hash).map(|l| l.version);
            match (change.replaced.is_some(), change.value.is_some()) {
                (false, true) => leaves += 1,
                (true, false) => leaves -= 1,
                _ => {}
            }
        }
        let leaf_changes: Vec<LeafChange> = hashed
            .iter()
            .map(|c| LeafChange {
                key_hash: c.key_hash,
                leaf_hash: c.leaf_hash,
            })
            .collect();
        let update = if needs_relayout(live.trie.bits(), leaves) {
            Update::Rebuilt(Box::new(live.trie.rebuilt(&leaf_changes, version)))
        } else {
            Update::Delta(live.trie.prepare(&leaf_changes, version))
        };
        let root = StateRoot(match &update {
            Update::Delta(delta) => delta.root.hash,
            Update::Rebuilt(trie) => trie.root().hash,
        });
        Ok(ResidentPrepared {
            version,
            base,
            root,
            update,
            changes: hashed,
        })
    }

    /// Writes a prepared commit and `aux` in one atomic RocksDB batch.
    ///
    /// # Errors
    ///
    /// [`StateError::NonSequentialVersion`] if another commit came between;
    /// backend failures (nothing is written then).
    pub fn commit_prepared(
        &mut self,
        prepared: ResidentPrepared,
        aux: &AuxWrites,
    ) -> Result<StateRoot, StateError> {
        self.collect_checkpoint();
        let (latest, first, old_oldest) = {
            let live = read_lock(&self.shared.live);
            (live.latest, live.first, live.oldest)
        };
        if prepared.base != latest {
            return Err(StateError::NonSequentialVersion {
                expected: latest.map_or(prepared.version, |v| v.saturating_add(1)),
                got: prepared.version,
            });
        }
        let version = prepared.version;
        let first = first.unwrap_or(version);
        let oldest = match self.options.retention {
            Retention::Archive => first,
            Retention::KeepLast(n) => version
                .saturating_add(1)
                .saturating_sub(n.max(1))
                .max(first),
        };
        let disk = &self.shared.disk;
        let (values_cf, journal_cf, meta_cf, aux_cf) = (
            disk.cf(CF_VALUES)?,
            disk.cf(CF_JOURNAL)?,
            disk.cf(CF_META)?,
            disk.cf(CF_AUX)?,
        );
        let mut batch = WriteBatch::default();
        let mut journal = JournalEntry {
            root: prepared.root.0,
            changes: Vec::with_capacity(prepared.changes.len()),
        };
        for change in &prepared.changes {
            batch.put_cf(
                values_cf,
                value_key(&change.key_hash, version),
                change.value.encode(),
            );
            journal.changes.push(JournalChange {
                key_hash: change.key_hash,
                value_hash: change.value_hash,
                replaced: change.replaced,
            });
        }
        batch.put_cf(journal_cf, version.to_be_bytes(), journal.encode());
        batch.put_cf(meta_cf, META_LATEST, version.to_be_bytes());
        batch.put_cf(meta_cf, root_key(version), prepared.root.0);
        if latest.is_none() {
            batch.put_cf(meta_cf, META_FIRST, version.to_be_bytes());
            batch.put_cf(meta_cf, META_OLDEST, version.to_be_bytes());
        }
        for (key, value) in aux {
            match value {
                Some(value) => batch.put_cf(aux_cf, key, value),
                None => batch.delete_cf(aux_cf, key),
            }
        }
        let old_oldest = old_oldest.unwrap_or(first);
        if latest.is_some() && oldest > old_oldest {
            self.prune_into(&mut batch, old_oldest, oldest, (version, &journal))?;
            batch.put_cf(meta_cf, META_OLDEST, oldest.to_be_bytes());
        }
        // Images: keep the newest at or before the oldest version (the base
        // older versions are rebuilt from) and the newest of all.
        let images = lock(&self.shared.images).clone();
        let base = images.iter().rev().find(|c| **c <= oldest).copied();
        let newest = images.last().copied();
        let dropped: Vec<Version> = images
            .iter()
            .copied()
            .filter(|c| Some(*c) != base && Some(*c) != newest)
            .collect();
        for image in &dropped {
            disk.drop_image(&mut batch, *image)?;
        }
        let journal_from = base.map_or(first, |c| c.saturating_add(1)).min(oldest);
        if journal_from > self.journal_from {
            batch.delete_range_cf(
                journal_cf,
                self.journal_from.to_be_bytes(),
                journal_from.to_be_bytes(),
            );
        }
        if oldest > old_oldest {
            // Readers must see the new oldest version before the deletes land.
            write_lock(&self.shared.live).oldest = Some(oldest);
        }
        disk.write(batch)?;
        self.journal_from = self.journal_from.max(journal_from);
        if !dropped.is_empty() {
            lock(&self.shared.images).retain(|c| !dropped.contains(c));
            disk.compact_dropped_images(&dropped);
        }
        *lock(&self.shared.rebuilt) = None;
        {
            let mut live = write_lock(&self.shared.live);
            match prepared.update {
                Update::Delta(delta) => {
                    let reverse = live.trie.install(delta);
                    live.deltas.push_back((version, reverse));
                }
                Update::Rebuilt(trie) => {
                    live.trie = *trie;
                    live.deltas.clear();
                }
            }
            // Reverse deltas hold old buckets: at most `recent_versions` of
            // them, together at most an eighth of the trie's leaves (a bulk
            // load's delta is nearly the whole trie and is dropped at once).
            let budget = (live.trie.leaves() / 8).max(4096);
            let mut held: u64 = live.deltas.iter().map(|(_, d)| d.leaves).sum();
            while live.deltas.len() > self.options.recent_versions
                || live.deltas.front().is_some_and(|(u, _)| *u <= oldest)
                || held > budget
            {
                let Some((_, dropped)) = live.deltas.pop_front() else {
                    break;
                };
                held -= dropped.leaves;
            }
            live.latest = Some(version);
            live.first = Some(first);
            live.oldest = Some(oldest);
        }
        let last_image = images.last().copied().unwrap_or(first);
        if version.saturating_sub(last_image) >= self.options.checkpoint_interval.max(1) {
            self.start_checkpoint();
        }
        Ok(prepared.root)
    }

    /// Computes and commits `changes` as `version` with `aux`, atomically.
    ///
    /// # Errors
    ///
    /// As [`ResidentStore::prepare`] and [`ResidentStore::commit_prepared`].
    pub fn commit(
        &mut self,
        version: Version,
        changes: &StateChanges,
        aux: &AuxWrites,
    ) -> Result<StateRoot, StateError> {
        let prepared = self.prepare(version, changes)?;
        self.commit_prepared(prepared, aux)
    }

    /// Adds to `batch` the deletion of the value entries that only versions
    /// below `oldest` read (versions `old_oldest..oldest` leave).
    fn prune_into(
        &self,
        batch: &mut WriteBatch,
        old_oldest: Version,
        oldest: Version,
        (current, current_entry): (Version, &JournalEntry),
    ) -> Result<(), StateError> {
        let disk = &self.shared.disk;
        let values_cf = disk.cf(CF_VALUES)?;
        // An entry replaced at `u` is read by versions below `u` only; a
        // deletion's own entry at `u` by versions up to `u` only, and after
        // the entries it hid are gone it says nothing a missing entry does
        // not.
        for version in old_oldest..=oldest {
            // The entry of the version being committed is in this batch.
            let stored;
            let entry = if version == current {
                current_entry
            } else {
                stored = disk.journal(version)?;
                &stored
            };
            for change in &entry.changes {
                if version > old_oldest
                    && let Some(replaced) = change.replaced
                {
                    batch.delete_cf(values_cf, value_key(&change.key_hash, replaced));
                }
                if version < oldest && change.value_hash.is_none() {
                    batch.delete_cf(values_cf, value_key(&change.key_hash, version));
                }
            }
        }
        Ok(())
    }

    /// Starts writing an image of the latest version in the background.
    fn start_checkpoint(&mut self) {
        if self.checkpoint.is_some() {
            return;
        }
        let (version, root, leaves, buckets) = {
            let live = read_lock(&self.shared.live);
            let Some(version) = live.latest else { return };
            (
                version,
                live.trie.root().hash,
                live.trie.leaves(),
                live.trie.bucket_handles(),
            )
        };
        let shared = Arc::clone(&self.shared);
        self.checkpoint = Some(std::thread::spawn(move || {
            shared.disk.write_image(version, &root, &buckets, leaves)?;
            let mut images = lock(&shared.images);
            images.push(version);
            images.sort_unstable();
            Ok(version)
        }));
    }

    /// Joins a finished background checkpoint (all of it with `wait`).
    fn collect_checkpoint_with(&mut self, wait: bool) -> Result<(), StateError> {
        let Some(handle) = self.checkpoint.take() else {
            return Ok(());
        };
        if !wait && !handle.is_finished() {
            self.checkpoint = Some(handle);
            return Ok(());
        }
        match handle.join() {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(StateError::Backend("the checkpoint thread panicked".into())),
        }
    }

    fn collect_checkpoint(&mut self) {
        if let Err(e) = self.collect_checkpoint_with(false) {
            // The journal still covers every version: a failed image only
            // makes the next start replay more of it. The next interval retries.
            tracing::warn!("checkpoint image failed: {e}");
        }
    }

    /// Writes an image of the latest version now (waiting for one in
    /// progress) unless the newest image is already of it. Called on drop;
    /// call it directly to see its errors.
    ///
    /// # Errors
    ///
    /// Backend failures.
    pub fn checkpoint(&mut self) -> Result<(), StateError> {
        self.collect_checkpoint_with(true)?;
        let latest = self.shared.latest_version();
        if latest.is_some() && lock(&self.shared.images).last().copied() != latest {
            self.start_checkpoint();
            self.collect_checkpoint_with(true)?;
        }
        Ok(())
    }

    /// Closes the store without writing a checkpoint image, leaving the data
    /// directory as a crash after the last commit would (the next open
    /// replays the journal since the last image). For recovery tests and
    /// benchmarks.
    pub fn abandon(mut self) {
        self.abandoned = true;
        if let Some(handle) = self.checkpoint.take() {
            // The database must stay open until the image thread is done with it.
            let _ = handle.join();
        }
    }

    /// The value of `key` at a retained `version`.
    ///
    /// # Errors
    ///
    /// [`StateError::VersionUnavailable`]; backend failures.
    pub fn get_at(&self, key: &[u8], version: Version) -> Result<Option<Vec<u8>>, StateError> {
        self.shared.get_at(key, version)
    }

    /// The value of `key` at `version` with its proof.
    ///
    /// # Errors
    ///
    /// As [`ResidentStore::get_at`]; corruption.
    pub fn prove(
        &self,
        key: &[u8],
        version: Version,
    ) -> Result<(Option<Vec<u8>>, Proof), StateError> {
        self.shared.prove(key, version)
    }

    /// A witness for `keys` at `version`.
    ///
    /// # Errors
    ///
    /// As [`ResidentStore::prove`].
    pub fn witness<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        version: Version,
    ) -> Result<Witness, StateError> {
        let keys: Vec<&[u8]> = keys.iter().map(AsRef::as_ref).collect();
        self.shared.witness(&keys, version)
    }
}

impl Drop for ResidentStore {
    fn drop(&mut self) {
        if self.abandoned {
            // Let a running image finish or not, as a crash would.
            return;
        }
        if let Err(e) = self.checkpoint() {
            tracing::warn!("checkpoint image at shutdown failed: {e}");
        }
        // A clean start then has no write-ahead log to replay either.
        if let Err(e) = self.shared.disk.flush() {
            tracing::warn!("flush at shutdown failed: {e}");
        }
    }
}

impl StateRead for ResidentStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.shared.get_latest(key)
    }
}

impl StateView for ResidentStore {
    fn latest_version(&self) -> Option<Version> {
        self.shared.latest_version()
    }
    fn oldest_version(&self) -> Option<Version> {
        self.shared.oldest_version()
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
        self.shared.get_aux(key)
    }
}

impl StateDb for ResidentStore {
    type Prepared = ResidentPrepared;
    type Reader = ResidentReader;

    fn reader(&self) -> ResidentReader {
        ResidentStore::reader(self)
    }
    fn prepare(
        &self,
        version: Version,
        changes: &StateChanges,
    ) -> Result<ResidentPrepared, StateError> {
        ResidentStore::prepare(self, version, changes)
    }
    fn commit_prepared(
        &mut self,
        prepared: ResidentPrepared,
        aux: &AuxWrites,
    ) -> Result<StateRoot, StateError> {
        ResidentStore::commit_prepared(self, prepared, aux)
    }
}

impl StateRead for ResidentReader {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.shared.get_latest(key)
    }
}

impl StateView for ResidentReader {
    fn latest_version(&self) -> Option<Version> {
        self.shared.latest_version()
    }
    fn oldest_version(&self) -> Option<Version> {
        self.shared.oldest_version()
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
        self.shared.get_aux(key)
    }
}
