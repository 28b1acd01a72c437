//! State store benchmarks: Merkleized commits and reads on RocksDB, each
//! measured side by side with raw RocksDB doing the same key/value work in
//! the same run (the floor), so results are ratios, not machine-bound
//! absolute numbers.
//!
//! Workload (issue 3): a state of `keys` keys (32-byte keys, 40-byte
//! values), blocks of 10k random updates (overwrites of existing keys),
//! latest-version reads of random existing keys, historical reads, proof
//! generation and verification.
#![allow(
    clippy::float_arithmetic,
    reason = "benchmark reporting only; nothing here reaches a root or a receipt"
)]
#![allow(clippy::cast_precision_loss, reason = "benchmark reporting only")]

use cairn_state::{AuxWrites, RocksStore, StateChanges, StoreOptions, keccak256, verify};
use rocksdb::{BlockBasedOptions, Cache, DB, DBCompressionType, Options, WriteBatch, WriteOptions};
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
    /// Trie nodes written per update.
    pub nodes_per_update: f64,
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

/// Raw RocksDB with the same block cache size and bloom filters as the
/// store's `latest` column: the floor the store is compared with.
fn open_raw(path: &std::path::Path) -> DB {
    let cache = Cache::new_lru_cache(256 << 20);
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(&cache);
    table.set_bloom_filter(10.0, false);
    table.set_cache_index_and_filter_blocks(true);
    let mut options = Options::default();
    options.create_if_missing(true);
    options.set_block_based_table_factory(&table);
    options.set_compression_type(DBCompressionType::Lz4);
    options.set_write_buffer_size(64 << 20);
    options.increase_parallelism(2);
    options.set_max_background_jobs(2);
    DB::open(&options, path).expect("open raw rocksdb")
}

struct Pair {
    store: RocksStore,
    raw: DB,
    version: u64,
    size: u64,
    round: u64,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Pair {
    fn new() -> Self {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let store = RocksStore::open(a.path(), StoreOptions::default()).expect("open store");
        let raw = open_raw(b.path());
        Self {
            store,
            raw,
            version: 0,
            size: 0,
            round: 0,
            _dirs: (a, b),
        }
    }

    /// Inserts keys `size..target` into both, in blocks of 100k.
    fn grow_to(&mut self, target: u64) {
        while self.size < target {
            let end = (self.size + 100_000).min(target);
            let changes: StateChanges = (self.size..end)
                .map(|i| (key(i), Some(value(i, 0))))
                .collect();
            self.version += 1;
            self.store
                .commit(self.version, &changes, &AuxWrites::new())
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
        let mut nodes = 0usize;
        let mut raw = Duration::ZERO;
        for _ in 0..blocks {
            self.round += 1;
            let changes: StateChanges = (0..updates)
                .map(|_| {
                    let i = rng.next_below(self.size);
                    (key(i), Some(value(i, self.round)))
                })
                .collect();
            self.version += 1;
            let start = Instant::now();
            let prepared = self.store.prepare(self.version, &changes).expect("prepare");
            applying += start.elapsed();
            nodes += prepared.node_writes();
            self.store
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
        let total = (blocks * updates) as f64;
        GrowthPoint {
            keys: self.size,
            updates_per_s: total / merkle.as_secs_f64(),
            us_per_update: merkle.as_secs_f64() * 1e6 / total,
            commit_ratio: merkle.as_secs_f64() / raw.as_secs_f64(),
            apply_us_per_update: applying.as_secs_f64() * 1e6 / total,
            write_us_per_update: (merkle - applying).as_secs_f64() * 1e6 / total,
            nodes_per_update: nodes as f64 / total,
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
            std::hint::black_box(pair.store.get(k).expect("get"));
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
        std::hint::black_box(pair.store.get_at(k, old_version).expect("get_at"));
    }
    let historical = start.elapsed();

    let proof_keys: Vec<Vec<u8>> = (0..config.proofs)
        .map(|_| key(rng.next_below(pair.size)))
        .collect();
    let root = pair.store.root();
    let start = Instant::now();
    let proofs: Vec<(Option<Vec<u8>>, cairn_state::Proof)> = proof_keys
        .iter()
        .map(|k| pair.store.prove(k, pair.version).expect("prove"))
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
        .store
        .witness(&witness_keys, pair.version)
        .expect("witness");

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
        total_s: started.elapsed().as_secs_f64(),
    }
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
        self.pair
            .store
            .commit(self.pair.version, &changes, &AuxWrites::new())
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
        self.pair.store.get(&k).expect("get")
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
            .store
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
        let (v, p) = self.pair.store.prove(&k, self.pair.version).expect("prove");
        (self.pair.store.root(), k, v, p)
    }
}
