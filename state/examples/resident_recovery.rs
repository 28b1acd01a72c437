//! Recovery after SIGKILL, clean start and memory of a large
//! [`ResidentStore`], measured for real: a child process fills a store with
//! `--keys` keys (100,000 per commit), writes a checkpoint image, commits
//! `--blocks` blocks of 10,000 random overwrites after it and keeps
//! committing until this process kills it (SIGKILL); then this process
//! opens the store (recovery: image plus journal replay, RocksDB's WAL
//! replay included), measures its memory, closes it (writing an image) and
//! opens it again (clean start). Prints one JSON object.
//!
//! ```sh
//! cargo run --release -p cairn-state --example resident_recovery -- --keys 10000000 --blocks 200
//! ```
#![allow(
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    reason = "timings and ratios for a report, never consensus data"
)]

mod support;

use cairn_state::{AuxWrites, ResidentOptions, ResidentStore, StateChanges, StateView};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use support::{arg, key, value};

fn options() -> ResidentOptions {
    ResidentOptions {
        // Images only when asked: the journal since the fill's image is
        // exactly `--blocks` versions (plus those committed before the kill).
        checkpoint_interval: u64::MAX,
        ..ResidentOptions::default()
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn child(dir: &Path, keys: u64, blocks: u64) {
    let mut store = ResidentStore::open(dir, options()).expect("open");
    let mut out = std::io::stdout().lock();
    let mut version = 0u64;
    for start in (0..keys).step_by(100_000) {
        let changes: StateChanges = (start..(start + 100_000).min(keys))
            .map(|i| (key(i), Some(value(i, 0))))
            .collect();
        version += 1;
        store
            .commit(version, &changes, &AuxWrites::new())
            .expect("fill");
    }
    store.checkpoint().expect("image");
    writeln!(out, "image {version}").expect("stdout");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut round = 0u64;
    loop {
        round += 1;
        let changes: StateChanges = (0..10_000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = seed % keys;
                (key(i), Some(value(i, round)))
            })
            .collect();
        version += 1;
        store
            .commit(version, &changes, &AuxWrites::new())
            .expect("commit");
        if round == blocks {
            writeln!(out, "ready {version}").expect("stdout");
        }
        out.flush().expect("stdout");
    }
}

fn main() {
    let keys = arg("--keys", 1_000_000);
    let blocks = arg("--blocks", 100);
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[at + 1]), keys, blocks);
        return;
    }
    let temp = tempfile::tempdir().expect("temp dir");
    let dir: PathBuf = temp.path().to_path_buf();
    let started = Instant::now();
    let mut process = Command::new(std::env::current_exe().expect("exe"))
        .args(["--child", &dir.display().to_string()])
        .args(["--keys", &keys.to_string(), "--blocks", &blocks.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stdout = process.stdout.take().expect("child stdout");
    let mut image = 0u64;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        if let Some(v) = line.strip_prefix("image ") {
            image = v.parse().expect("version");
        }
        if line.starts_with("ready ") {
            break;
        }
    }
    process.kill().expect("SIGKILL");
    process.wait().expect("wait");
    let build_s = started.elapsed().as_secs_f64();

    let start = Instant::now();
    let store = ResidentStore::open(&dir, options()).expect("recover");
    let recovery_s = start.elapsed().as_secs_f64();
    let latest = store.latest_version().expect("committed");
    let count = store.key_count();
    let trie_bytes = store.memory_bytes();
    let rss = rss_bytes();

    let start = Instant::now();
    drop(store);
    let close_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let store = ResidentStore::open(&dir, options()).expect("clean start");
    let clean_start_s = start.elapsed().as_secs_f64();
    assert_eq!(store.latest_version(), Some(latest));
    let rss_clean = rss_bytes();
    println!(
        "{{\"keys\": {count}, \"image_version\": {image}, \"latest_version\": {latest}, \"journal_versions_replayed\": {}, \"recovery_s\": {recovery_s:.2}, \"close_s\": {close_s:.2}, \"clean_start_s\": {clean_start_s:.2}, \"trie_bytes_per_key\": {:.1}, \"rss_bytes_per_key_after_recovery\": {:.1}, \"rss_bytes_per_key_after_clean_start\": {:.1}, \"build_s\": {build_s:.1}}}",
        latest - image,
        trie_bytes as f64 / count as f64,
        rss as f64 / count as f64,
        rss_clean as f64 / count as f64,
    );
}
