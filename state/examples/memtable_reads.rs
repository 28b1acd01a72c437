//! Reads and writes of the resident store's `values` column family with the
//! two memtables RocksDB offers for it, side by side in one process: the
//! default skiplist (format 2's, which read older versions with a backward
//! seek) and the hash skiplist bucketed by key hash (format 3's). Both
//! databases get the same options otherwise (`specs/state.md` section 7),
//! the same keys and the same writes; the measurements alternate between
//! them in chunks, so a noisy machine slows both alike.
//!
//! The workload follows `cairn bench e2e --accounts 1000000 --active 20000`:
//! a settled database of `--keys` cold entries, then `--blocks` blocks of
//! `--updates` new versions of keys from an active set of `--active` (these
//! stay in the memtable), then exact gets of the latest entry of keys from
//! both sets: active ones (found in the memtable) and cold ones (searched in
//! the memtable, found on disk).
//!
//! ```sh
//! cargo run --release -p cairn-state --example memtable_reads -- --keys 1000000
//! ```
#![allow(
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    reason = "timings and ratios for a report, never consensus data"
)]

#[allow(
    dead_code,
    reason = "`support::arg` is for the other examples: this one refuses bad flags"
)]
mod support;

use rocksdb::{
    BlockBasedOptions, Cache, DB, DBCompressionType, Options, SliceTransform, WriteBatch,
    WriteOptions,
};
use std::time::Instant;

struct Args {
    keys: u64,
    active: u64,
    blocks: u64,
    updates: u64,
    rounds: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        keys: 1_000_000,
        active: 20_000,
        blocks: 30,
        updates: 3_000,
        rounds: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        match flag.as_str() {
            "--keys" => args.keys = number,
            "--active" => args.active = number,
            "--blocks" => args.blocks = number,
            "--updates" => args.updates = number,
            "--rounds" => args.rounds = u32::try_from(number).map_err(|e| e.to_string())?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.keys == 0 || args.active == 0 || args.active > args.keys {
        return Err("need 0 < --active <= --keys".into());
    }
    Ok(args)
}

/// The options of the store's `values` column family, with one memtable or
/// the other.
fn open(path: &std::path::Path, hashed: bool) -> DB {
    let cache = Cache::new_lru_cache(128 << 20);
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(&cache);
    table.set_format_version(5);
    table.set_cache_index_and_filter_blocks(false);
    table.set_block_size(4 << 10);
    table.set_bloom_filter(10.0, false);
    table.set_whole_key_filtering(true);
    let mut options = Options::default();
    options.create_if_missing(true);
    options.set_block_based_table_factory(&table);
    options.set_prefix_extractor(SliceTransform::create_fixed_prefix(32));
    options.set_compression_type(DBCompressionType::Lz4);
    options.set_write_buffer_size(64 << 20);
    options.set_level_compaction_dynamic_level_bytes(true);
    options.increase_parallelism(2);
    options.set_max_background_jobs(2);
    options.set_allow_concurrent_memtable_write(false);
    if hashed {
        options.set_memtable_factory(cairn_state::values_memtable(64 << 20));
    }
    DB::open(&options, path).expect("open")
}

/// The `values` key of state key `index` at `version` (`kh ‖ !version`).
fn key(index: u64, version: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(&support::key(index));
    key[32..].copy_from_slice(&(!version).to_be_bytes());
    key
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("memtable_reads: {e}");
            std::process::exit(2);
        }
    };
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let dbs = [open(dirs[0].path(), false), open(dirs[1].path(), true)];
    let names = ["skiplist", "hash skiplist"];
    let write = WriteOptions::default();

    // Cold keys at version 0, settled on disk.
    let mut start = 0;
    while start < args.keys {
        let end = (start + 10_000).min(args.keys);
        for db in &dbs {
            let mut batch = WriteBatch::default();
            for i in start..end {
                batch.put(key(i, 0), support::value(i, 0));
            }
            db.write_opt(batch, &write).unwrap();
        }
        start = end;
    }
    for db in &dbs {
        db.flush().unwrap();
        db.wait_for_compact(&rocksdb::WaitForCompactOptions::default())
            .unwrap();
    }

    // Blocks of new versions of active keys: the memtable's content.
    let mut latest = vec![0u64; usize::try_from(args.active).unwrap()];
    let mut rng = Rng(7);
    let mut write_ns = [0u128; 2];
    for version in 1..=args.blocks {
        let picks: Vec<u64> = (0..args.updates).map(|_| rng.below(args.active)).collect();
        for &i in &picks {
            latest[usize::try_from(i).unwrap()] = version;
        }
        for (side, db) in dbs.iter().enumerate() {
            let mut batch = WriteBatch::default();
            for &i in &picks {
                batch.put(key(i, version), support::value(i, version));
            }
            let t = Instant::now();
            db.write_opt(batch, &write).unwrap();
            write_ns[side] += t.elapsed().as_nanos();
        }
    }

    // Exact gets of latest entries, alternating the databases by chunk.
    const CHUNK: u64 = 10_000;
    let mut read_ns = [[0u128; 2]; 2]; // [active, cold][side]
    let mut reads = [0u64; 2];
    for round in 0..args.rounds {
        for (kind, pick) in [0u64, 1].into_iter().enumerate() {
            let mut rng = Rng(1_000 + u64::from(round) * 2 + pick);
            let chunk: Vec<[u8; 40]> = (0..CHUNK)
                .map(|_| {
                    if kind == 0 {
                        let i = rng.below(args.active);
                        key(i, latest[usize::try_from(i).unwrap()])
                    } else {
                        key(args.active + rng.below(args.keys - args.active), 0)
                    }
                })
                .collect();
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for side in order {
                let t = Instant::now();
                for k in &chunk {
                    let found = dbs[side].get_pinned(k).unwrap();
                    assert!(found.is_some(), "every key read exists");
                }
                read_ns[kind][side] += t.elapsed().as_nanos();
            }
            reads[kind] += CHUNK;
        }
    }

    println!(
        "{} cold keys, {} blocks of {} updates over {} active keys, {} rounds",
        args.keys, args.blocks, args.updates, args.active, args.rounds
    );
    let per = |ns: u128, n: u64| ns as f64 / n as f64;
    for (kind, label) in ["active keys (memtable)", "cold keys (disk)"]
        .iter()
        .enumerate()
    {
        let a = per(read_ns[kind][0], reads[kind]);
        let b = per(read_ns[kind][1], reads[kind]);
        println!(
            "get, {label}: {}: {a:.0} ns, {}: {b:.0} ns, ratio {:.3}",
            names[0],
            names[1],
            b / a
        );
    }
    let updates = args.blocks * args.updates;
    let a = per(write_ns[0], updates);
    let b = per(write_ns[1], updates);
    println!(
        "write per update: {}: {a:.0} ns, {}: {b:.0} ns, ratio {:.3}",
        names[0],
        names[1],
        b / a
    );
}
