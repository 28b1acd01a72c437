//! State store benchmarks: Merkleized commits and reads of
//! [`ResidentStore`] (the trie in memory, values and journal on RocksDB),
//! each measured side by side with raw RocksDB doing the same key/value
//! work in the same run (the floor), so results are ratios, not
//! machine-bound absolute numbers.
//!
//! Workload (issues 3 and 11): a state of `keys` keys (32-byte keys,
//! 40-byte values), blocks of 10k random updates (overwrites of existing
//! keys), latest-version reads of random existing keys, historical reads,
//! proof generation and verification, bytes written per update on both
//! sides (WAL, flush, compaction), the trie's memory, and the time to close
//! and reopen the store (clean start) and to reopen it after an unclean
//! close (journal replay).
#![allow(
    clippy::float_arithmetic,
    reason = "benchmark reporting only; nothing here reaches a root or a receipt"
)]
#![allow(clippy::cast_precision_loss, reason = "benchmark reporting only")]

use cairn_state::{
    AuxWrites, ResidentOptions, ResidentRocksOptions, ResidentStore, StateChanges, StateRead,
    keccak256, settle_options, verify,
};
use rocksdb::statistics::Ticker;
use rocksdb::{
    BlockBasedOptions, Cache, DB, DBCompressionType, Options, SliceTransform, WriteBatch,
    WriteOptions,
};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Parameters of one run.
#[derive(Clone, Debug)]
pub struct StateBenchConfig {
    /// Keys in the state before measuring.
    pub keys: u64,
    /// Updates per measured block.
    pub block_updates: u64,
    /// Measured blocks per size.
    pub blocks: u64,
    /// Reads measured (latest and historical).
    pub reads: u64,
    /// Proofs generated and verified.
    pub proofs: u64,
}

impl Default for StateBenchConfig {
    fn default() -> Self {
        Self {
            keys: 1_000_000,
            block_updates: 10_000,
            blocks: 5,
            reads: 100_000,
            proofs: 2_000,
        }
    }
}

/// Commit cost at one state size.
#[derive(Clone, Debug, Serialize)]
pub struct GrowthPoint {
    /// Keys in the state.
    pub keys: u64,
    /// Merkleized updates per second.
    pub updates_per_s: f64,
    /// Microseconds per Merkleized update.
    pub us_per_update: f64,
    /// Ratio to raw RocksDB `WriteBatch` of the same key/values, same size.
    pub commit_ratio: f64,
    /// Of `us_per_update`: computing the new trie (reads, hashing).
    pub apply_us_per_update: f64,
    /// Of `us_per_update`: writing the batch to RocksDB.
    pub write_us_per_update: f64,
    /// Bytes written per update by the store: WAL, memtable flushes,
    /// compactions (counted over the measured blocks, after a final flush).
    pub bytes_per_update: BytesPerUpdate,
    /// The same for raw RocksDB.
    pub raw_bytes_per_update: BytesPerUpdate,
}

/// Bytes RocksDB wrote per update, by cause.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct BytesPerUpdate {
    /// Write-ahead log.
    pub wal: f64,
    /// Memtable flushes.
    pub flush: f64,
    /// Compactions.
    pub compaction: f64,
    /// All three.
    pub total: f64,
}

impl BytesPerUpdate {
    fn between(before: [u64; 3], after: [u64; 3], updates: u64) -> Self {
        let per = |i: usize| after[i].saturating_sub(before[i]) as f64 / updates.max(1) as f64;
        let (wal, flush, compaction) = (per(0), per(1), per(2));
        Self {
            wal,
            flush,
            compaction,
            total: wal + flush + compaction,
        }
    }
}

/// What `cairn bench state --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct StateBenchReport {
    /// Keys in the state.
    pub keys: u64,
    /// Updates per committed block.
    pub block_updates: u64,
    /// Merkleized updates per second (commit of 10k-update blocks) at `keys`.
    pub updates_per_s: f64,
    /// Raw RocksDB `WriteBatch` puts per second, same key/values, same run.
    pub raw_puts_per_s: f64,
    /// `raw time / Merkle time` inverted: Merkle commit time over raw write time (target <= 3.0).
    pub commit_ratio: f64,
    /// Latest-version reads per second.
    pub reads_per_s: f64,
    /// Raw RocksDB gets per second, same keys.
    pub raw_reads_per_s: f64,
    /// Latest read time over raw get time (target <= 1.5).
    pub read_ratio: f64,
    /// Historical reads (a version 5 blocks back) per second.
    pub historical_reads_per_s: f64,
    /// Proof generations per second.
    pub proofs_per_s: f64,
    /// Proof verifications per second.
    pub verifications_per_s: f64,
    /// Average SCALE size of a single-key inclusion proof (target <= 800).
    pub proof_bytes_avg: f64,
    /// Largest proof seen.
    pub proof_bytes_max: usize,
    /// Size of a witness for 100 keys, per key.
    pub witness_bytes_per_key_100: f64,
    /// Commit cost at a tenth of the size and at full size.
    pub growth: Vec<GrowthPoint>,
    /// Memory of the trie and its reverse deltas, bytes per key.
    pub trie_bytes_per_key: f64,
    /// Resident set size of the whole benchmark process (both stores,
    /// both block caches), bytes per key.
    pub process_rss_bytes_per_key: f64,
    /// Seconds to close the store (writing a checkpoint image).
    pub close_s: f64,
    /// Seconds to open it again from that image (clean start).
    pub clean_start_s: f64,
    /// Versions committed after the image before an unclean close.
    pub recovery_versions: u64,
    /// Seconds to open after the unclean close (image plus journal replay;
    /// RocksDB was closed cleanly: `state/examples/resident_recovery.rs`
    /// measures a real SIGKILL).
    pub recovery_s: f64,
    /// Seconds the whole run took.
    pub total_s: f64,
}

fn key(i: u64) -> Vec<u8> {
    keccak256(&i.to_be_bytes()).to_vec()
}

fn value(i: u64, round: u64) -> Vec<u8> {
    let mut v = keccak256(&(i ^ (round << 40)).to_le_bytes()).to_vec();
    v.extend_from_slice(&(i ^ round).to_le_bytes());
    v // 40 bytes
}

/// A deterministic stream of pseudo-random indices (xorshift).
struct Indices(u64);
impl Indices {
    fn next_below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// The longest a benchmark waits for RocksDB's background work to finish
/// before measuring.
pub const SETTLE: Duration = Duration::from_secs(600);

/// Raw RocksDB with the same block cache size, bloom filters, memtable
/// (size and kind: bucketed by the 32-byte key) and WAL settings as the
/// store's `values` column: the floor the store is compared with.
fn open_raw(path: &std::path::Path) -> (DB, Options) {
    let cache = Cache::new_lru_cache(ResidentRocksOptions::default().block_cache_bytes);
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(&cache);
    table.set_bloom_filter(10.0, false);
    table.set_block_size(4 << 10);
    table.set_format_version(5);
    // As the store's `values` column: index and filters outside the cache.
    table.set_cache_index_and_filter_blocks(false);
    let mut options = Options::default();
    options.create_if_missing(true);
    options.set_block_based_table_factory(&table);
    options.set_compression_type(DBCompressionType::Lz4);
    options.set_write_buffer_size(64 << 20);
    options.set_prefix_extractor(SliceTransform::create_fixed_prefix(32));
    options.set_memtable_factory(cairn_state::values_memtable(64 << 20));
    options.set_allow_concurrent_memtable_write(false);
    options.increase_parallelism(2);
    options.set_max_background_jobs(2);
    options.enable_statistics();
    let db = DB::open(&options, path).expect("open raw rocksdb");
    (db, options)
}

fn raw_bytes(options: &Options) -> [u64; 3] {
    [
        options.get_ticker_count(Ticker::WalFileBytes),
        options.get_ticker_count(Ticker::FlushWriteBytes),
        options.get_ticker_count(Ticker::CompactWriteBytes),
    ]
}

fn store_bytes(store: &ResidentStore) -> [u64; 3] {
    let b = store.write_bytes();
    [b.wal, b.flush, b.compaction]
}

/// The resident store's options in the benchmark: defaults with
/// statistics on (the raw side collects them too).
fn store_options() -> ResidentOptions {
    ResidentOptions {
        rocks: ResidentRocksOptions {
            statistics: true,
            ..ResidentRocksOptions::default()
        },
        ..ResidentOptions::default()
    }
}

struct Pair {
    store: Option<ResidentStore>,
    raw: DB,
    raw_options: Options,
    version: u64,
    size: u64,
    round: u64,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Pair {
    fn new() -> Self {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let store = ResidentStore::open(a.path(), store_options()).expect("open store");
        let (raw, raw_options) = open_raw(b.path());
        Self {
            store: Some(store),
            raw,
            raw_options,
            version: 0,
            size: 0,
            round: 0,
            _dirs: (a, b),
        }
    }

    fn store(&self) -> &ResidentStore {
        self.store.as_ref().expect("store open")
    }

    fn store_mut(&mut self) -> &mut ResidentStore {
        self.store.as_mut().expect("store open")
    }

    /// Inserts keys `size..target` into both, in blocks of 100k.
    fn grow_to(&mut self, target: u64) {
        while self.size < target {
            let end = (self.size + 100_000).min(target);
            let changes: StateChanges = (self.size..end)
                .map(|i| (key(i), Some(value(i, 0))))
                .collect();
            self.version += 1;
            let version = self.version;
            self.store_mut()
                .commit(version, &changes, &AuxWrites::new())
                .expect("commit");
            let mut batch = WriteBatch::default();
            for (k, v) in &changes {
                batch.put(k, v.as_deref().unwrap_or_default());
            }
            self.raw
                .write_opt(batch, &WriteOptions::default())
                .expect("raw write");
            self.size = end;
        }
    }

    /// Times `blocks` blocks of `updates` random overwrites on both.
    fn measure_commits(&mut self, blocks: u64, updates: u64, rng: &mut Indices) -> GrowthPoint {
        let mut merkle = Duration::ZERO;
        let mut applying = Duration::ZERO;
        let mut raw = Duration::ZERO;
        self.store().flush().expect("flush");
        self.raw.flush().expect("raw flush");
        // The fill's compactions would otherwise run during the measured
        // blocks, on the cores the store hashes with: both sides start
        // settled, and the compaction the measured writes cause is counted
        // in bytes below.
        self.store().wait_for_compactions(SETTLE).expect("settle");
        self.raw
            .wait_for_compact(&settle_options(SETTLE))
            .expect("raw settle");
        let (store_before, raw_before) = (store_bytes(self.store()), raw_bytes(&self.raw_options));
        for _ in 0..blocks {
            self.round += 1;
            let changes: StateChanges = (0..updates)
                .map(|_| {
                    let i = rng.next_below(self.size);
                    (key(i), Some(value(i, self.round)))
                })
                .collect();
            self.version += 1;
            let version = self.version;
            let start = Instant::now();
            let prepared = self.store().prepare(version, &changes).expect("prepare");
            applying += start.elapsed();
            self.store_mut()
                .commit_prepared(prepared, &AuxWrites::new())
                .expect("commit");
            merkle += start.elapsed();
            let start = Instant::now();
            let mut batch = WriteBatch::default();
            for (k, v) in &changes {
                batch.put(k, v.as_deref().unwrap_or_default());
            }
            self.raw
                .write_opt(batch, &WriteOptions::default())
                .expect("raw write");
            raw += start.elapsed();
        }
        self.store().flush().expect("flush");
        self.raw.flush().expect("raw flush");
        let updates_total = blocks * updates;
        let bytes_per_update =
            BytesPerUpdate::between(store_before, store_bytes(self.store()), updates_total);
        let raw_bytes_per_update =
            BytesPerUpdate::between(raw_before, raw_bytes(&self.raw_options), updates_total);
        let total = updates_total as f64;
        GrowthPoint {
            keys: self.size,
            updates_per_s: total / merkle.as_secs_f64(),
            us_per_update: merkle.as_secs_f64() * 1e6 / total,
            commit_ratio: merkle.as_secs_f64() / raw.as_secs_f64(),
            apply_us_per_update: applying.as_secs_f64() * 1e6 / total,
            write_us_per_update: (merkle - applying).as_secs_f64() * 1e6 / total,
            bytes_per_update,
            raw_bytes_per_update,
        }
    }
}

/// Runs the whole state benchmark once.
pub fn run(config: &StateBenchConfig) -> StateBenchReport {
    let started = Instant::now();
    let mut rng = Indices(0x9e37_79b9_7f4a_7c15);
    let mut pair = Pair::new();
    let mut growth = Vec::new();
    let small = (config.keys / 10).max(config.block_updates);
    pair.grow_to(small);
    growth.push(pair.measure_commits(config.blocks, config.block_updates, &mut rng));
    pair.grow_to(config.keys);
    let full = pair.measure_commits(config.blocks, config.block_updates, &mut rng);
    growth.push(full.clone());

    // Latest reads: same random existing keys on both, interleaved in chunks
    // so cache warmth is shared fairly.
    let read_keys: Vec<Vec<u8>> = (0..config.reads)
        .map(|_| key(rng.next_below(pair.size)))
        .collect();
    let (mut merkle_reads, mut raw_reads) = (Duration::ZERO, Duration::ZERO);
    for chunk in read_keys.chunks(10_000) {
        let start = Instant::now();
        for k in chunk {
            std::hint::black_box(pair.store().get(k).expect("get"));
        }
        merkle_reads += start.elapsed();
        let start = Instant::now();
        for k in chunk {
            std::hint::black_box(pair.raw.get(k).expect("raw get"));
        }
        raw_reads += start.elapsed();
    }

    let old_version = pair.version.saturating_sub(5).max(1);
    let start = Instant::now();
    for k in &read_keys {
        std::hint::black_box(pair.store().get_at(k, old_version).expect("get_at"));
    }
    let historical = start.elapsed();

    let proof_keys: Vec<Vec<u8>> = (0..config.proofs)
        .map(|_| key(rng.next_below(pair.size)))
        .collect();
    let root = pair.store().root();
    let start = Instant::now();
    let proofs: Vec<(Option<Vec<u8>>, cairn_state::Proof)> = proof_keys
        .iter()
        .map(|k| pair.store().prove(k, pair.version).expect("prove"))
        .collect();
    let proving = start.elapsed();
    let start = Instant::now();
    for (k, (v, p)) in proof_keys.iter().zip(&proofs) {
        verify(&root, k, v.as_deref(), p).expect("proof verifies");
    }
    let verifying = start.elapsed();
    let sizes: Vec<usize> = proofs.iter().map(|(_, p)| p.size()).collect();
    let witness_keys: Vec<Vec<u8>> = proof_keys.iter().take(100).cloned().collect();
    let witness = pair
        .store()
        .witness(&witness_keys, pair.version)
        .expect("witness");
    let trie_bytes_per_key = pair.store().memory_bytes() as f64 / pair.size as f64;
    let process_rss_bytes_per_key = rss_bytes() as f64 / pair.size as f64;

    // Clean start: close (writes an image), reopen.
    let path = pair.store().path().to_path_buf();
    let start = Instant::now();
    drop(pair.store.take());
    let close_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    pair.store = Some(ResidentStore::open(&path, store_options()).expect("reopen"));
    let clean_start_s = start.elapsed().as_secs_f64();
    assert_eq!(pair.store().root(), root, "reopened root");
    // Unclean close after a few more blocks: reopen replays the journal.
    let recovery_versions = config.blocks;
    let _ = pair.measure_commits(recovery_versions, config.block_updates, &mut rng);
    let root_before = pair.store().root();
    if let Some(store) = pair.store.take() {
        store.abandon();
    }
    let start = Instant::now();
    pair.store = Some(ResidentStore::open(&path, store_options()).expect("recover"));
    let recovery_s = start.elapsed().as_secs_f64();
    assert_eq!(pair.store().root(), root_before, "recovered root");

    let reads = config.reads as f64;
    let proofs_n = config.proofs as f64;
    let raw_puts_per_s = full.updates_per_s * full.commit_ratio;
    StateBenchReport {
        keys: pair.size,
        block_updates: config.block_updates,
        updates_per_s: full.updates_per_s,
        raw_puts_per_s,
        commit_ratio: full.commit_ratio,
        reads_per_s: reads / merkle_reads.as_secs_f64(),
        raw_reads_per_s: reads / raw_reads.as_secs_f64(),
        read_ratio: merkle_reads.as_secs_f64() / raw_reads.as_secs_f64(),
        historical_reads_per_s: reads / historical.as_secs_f64(),
        proofs_per_s: proofs_n / proving.as_secs_f64(),
        verifications_per_s: proofs_n / verifying.as_secs_f64(),
        proof_bytes_avg: sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64,
        proof_bytes_max: sizes.iter().copied().max().unwrap_or(0),
        witness_bytes_per_key_100: witness.size() as f64 / witness_keys.len().max(1) as f64,
        growth,
        trie_bytes_per_key,
        process_rss_bytes_per_key,
        close_s,
        clean_start_s,
        recovery_versions,
        recovery_s,
        total_s: started.elapsed().as_secs_f64(),
    }
}

/// The process's resident set size (Linux; 0 elsewhere).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// A prefilled store and raw RocksDB side by side, for the criterion groups
/// in `benches/benches/state.rs` (`state/commit_10k`, `state/raw_write_10k`,
/// `state/get_latest`, `state/raw_get`, `state/prove`, `state/verify`).
pub struct StateFixture {
    pair: Pair,
    rng: Indices,
}

impl std::fmt::Debug for StateFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateFixture")
            .field("keys", &self.pair.size)
            .finish_non_exhaustive()
    }
}

impl StateFixture {
    /// Both stores filled with `keys` keys.
    #[must_use]
    pub fn new(keys: u64) -> Self {
        let mut pair = Pair::new();
        pair.grow_to(keys);
        Self {
            pair,
            rng: Indices(42),
        }
    }

    fn random_changes(&mut self, updates: u64) -> StateChanges {
        self.pair.round += 1;
        (0..updates)
            .map(|_| {
                let i = self.rng.next_below(self.pair.size);
                (key(i), Some(value(i, self.pair.round)))
            })
            .collect()
    }

    /// Commits one block of `updates` random overwrites to the Merkle store.
    pub fn commit_block(&mut self, updates: u64) {
        let changes = self.random_changes(updates);
        self.pair.version += 1;
        let version = self.pair.version;
        self.pair
            .store_mut()
            .commit(version, &changes, &AuxWrites::new())
            .expect("commit");
    }

    /// Writes one `WriteBatch` of `updates` random overwrites to raw RocksDB.
    pub fn raw_write_block(&mut self, updates: u64) {
        let changes = self.random_changes(updates);
        let mut batch = WriteBatch::default();
        for (k, v) in &changes {
            batch.put(k, v.as_deref().unwrap_or_default());
        }
        self.pair
            .raw
            .write_opt(batch, &WriteOptions::default())
            .expect("raw write");
    }

    /// Reads a random key at the latest version.
    pub fn get_latest(&mut self) -> Option<Vec<u8>> {
        let k = key(self.rng.next_below(self.pair.size));
        self.pair.store().get(&k).expect("get")
    }

    /// Reads a random key from raw RocksDB.
    pub fn raw_get(&mut self) -> Option<Vec<u8>> {
        let k = key(self.rng.next_below(self.pair.size));
        self.pair.raw.get(k).expect("raw get")
    }

    /// Proves a random key at the latest version; returns the proof size.
    pub fn prove(&mut self) -> usize {
        let k = key(self.rng.next_below(self.pair.size));
        self.pair
            .store()
            .prove(&k, self.pair.version)
            .expect("prove")
            .1
            .size()
    }

    /// A root, key, value and proof to verify repeatedly.
    #[must_use]
    pub fn proof_to_verify(
        &self,
    ) -> (
        cairn_state::StateRoot,
        Vec<u8>,
        Option<Vec<u8>>,
        cairn_state::Proof,
    ) {
        let k = key(1);
        let (v, p) = self
            .pair
            .store()
            .prove(&k, self.pair.version)
            .expect("prove");
        (self.pair.store().root(), k, v, p)
    }
}
