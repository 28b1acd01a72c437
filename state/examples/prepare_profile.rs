//! Where a resident commit's time goes: fills a [`ResidentStore`] with
//! `--keys` keys, then times `prepare` (hashing and the trie delta, nothing
//! written) on `--rounds` blocks of `--updates` random overwrites, next to
//! the bare cost of the keccak permutations such a block needs. With
//! `--commit 1` every block is also written (`commit_prepared`), timed
//! apart, so later blocks prepare on the trie the earlier ones left. Run it
//! under `perf record` to see the rest. Prints one JSON object.
//!
//! ```sh
//! cargo run --release -p cairn-state --example prepare_profile -- --keys 1000000
//! ```
#![allow(
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    reason = "timings and ratios for a report, never consensus data"
)]

mod support;

use cairn_state::{AuxWrites, ResidentOptions, ResidentStore, StateChanges, keccak256};
use std::time::Instant;
use support::{arg, key, value};

fn main() {
    let keys = arg("--keys", 1_000_000);
    let updates = arg("--updates", 10_000);
    let rounds = arg("--rounds", 50);
    let dir = tempfile::tempdir().expect("tempdir");
    let options = ResidentOptions {
        checkpoint_interval: u64::MAX,
        ..ResidentOptions::default()
    };
    let mut store = ResidentStore::open(dir.path(), options).expect("open");
    let mut version = 0;
    let mut size = 0;
    while size < keys {
        let end = (size + 100_000).min(keys);
        let changes: StateChanges = (size..end).map(|i| (key(i), Some(value(i, 0)))).collect();
        version += 1;
        store
            .commit(version, &changes, &AuxWrites::new())
            .expect("commit");
        size = end;
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    let blocks: Vec<StateChanges> = (0..rounds)
        .map(|round| {
            (0..updates)
                .map(|_| {
                    let i = next(keys);
                    (key(i), Some(value(i, round + 1)))
                })
                .collect()
        })
        .collect();
    let commit = arg("--commit", 0) == 1;
    let mut writing = 0.0;
    let start = Instant::now();
    for changes in &blocks {
        let prepared = store.prepare(version + 1, changes).expect("prepare");
        if commit {
            let t = Instant::now();
            version += 1;
            store
                .commit_prepared(prepared, &AuxWrites::new())
                .expect("commit");
            writing += t.elapsed().as_secs_f64();
        } else {
            std::hint::black_box(&prepared);
        }
    }
    let total = start.elapsed().as_secs_f64() - writing;
    let prepare_us = total * 1e6 / (rounds * updates) as f64;
    let write_us = writing * 1e6 / (rounds * updates) as f64;
    // The bare permutations: one 65-byte keccak per call, on one thread
    // and on every core at once (how much a second core adds to hashing).
    let calls = 1_000_000u64;
    let chain = |calls: u64| {
        let mut h = [0u8; 32];
        for _ in 0..calls {
            let mut buf = [0u8; 65];
            buf[1..33].copy_from_slice(&h);
            h = keccak256(&buf);
        }
        std::hint::black_box(h);
    };
    let start = Instant::now();
    chain(calls);
    let keccak_us = start.elapsed().as_secs_f64() * 1e6 / calls as f64;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| chain(calls));
        }
    });
    let all_cores_us = start.elapsed().as_secs_f64() * 1e6 / (calls * threads as u64) as f64;
    println!(
        "{{\"keys\":{keys},\"updates\":{updates},\"rounds\":{rounds},\"prepare_us_per_update\":{prepare_us:.3},\"write_us_per_update\":{write_us:.3},\"keccak_us\":{keccak_us:.4},\"prepare_in_keccaks\":{:.1},\"threads\":{threads},\"keccak_us_all_cores\":{all_cores_us:.4},\"core_speedup\":{:.2}}}",
        prepare_us / keccak_us,
        keccak_us / all_cores_us
    );
}
