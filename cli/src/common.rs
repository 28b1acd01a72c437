//! What the chain commands share: opening a data directory, the executor,
//! scratch directories, replay into a scratch store, exit statuses, JSON.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use cairn_chain::replay::{ReplayOptions, ReplayReport, replay};
use cairn_chain::{Chain, StateView};
use cairn_engine::runtime::{ExecConfig, Executor};
use cairn_state::{RocksStore, StoreOptions};
use serde::Serialize;

/// A chain on RocksDB.
pub(crate) type RocksChain = Chain<RocksStore>;

/// How a command ended, as the process's exit status (documented in the
/// README): 0 done, 1 an error (bad input, I/O; printed on stderr), 2 a
/// usage error (clap), 3 the contract reverted or halted (the outcome is
/// printed), 4 a check found a divergence (replay, bundle verify), 5 a
/// running node stopped on a node failure (I/O, corruption).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Done.
    Done,
    /// The contract call did not succeed.
    ContractFailed,
    /// Verification found a divergence.
    NotVerified,
    /// A running node stopped on a node failure.
    NodeFailed,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> Self {
        match status {
            Status::Done => ExitCode::SUCCESS,
            Status::ContractFailed => ExitCode::from(3),
            Status::NotVerified => ExitCode::from(4),
            Status::NodeFailed => ExitCode::from(5),
        }
    }
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub(crate) fn executor() -> Executor {
    Executor::new(ExecConfig::default())
}

/// Opens the chain in `data_dir`.
pub(crate) fn open_chain(data_dir: &Path) -> Result<RocksChain> {
    if !data_dir.exists() {
        bail!(
            "data directory {} does not exist; run `cairn init --genesis FILE --data-dir DIR` first",
            data_dir.display()
        );
    }
    // Read commands must not create a database where there is none.
    if !data_dir.join("CURRENT").exists() {
        bail!(
            "{} holds no chain; run `cairn init --genesis FILE --data-dir DIR` first",
            data_dir.display()
        );
    }
    let store = RocksStore::open(data_dir, StoreOptions::default())
        .with_context(|| format!("opening the state store in {}", data_dir.display()))?;
    Chain::open(store, executor())
        .with_context(|| format!("opening the chain in {}", data_dir.display()))
}

/// Size in bytes of every file under `dir`.
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A fresh scratch directory for a replay, beside nothing the user owns.
pub(crate) fn scratch_dir(label: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("cairn-{label}-{}-{nanos}", std::process::id()))
}

/// Replays the chain in `source` into a fresh RocksDB scratch store, with a
/// progress bar on a terminal. Returns the report and the seconds it took.
pub(crate) fn replay_into_scratch(
    source: &RocksStore,
    from: u64,
    to: Option<u64>,
    show_progress: bool,
) -> Result<(ReplayReport, f64)> {
    let dir = scratch_dir("replay");
    let scratch =
        RocksStore::open(&dir, StoreOptions::default()).context("opening the scratch store")?;
    let total = to.unwrap_or_else(|| StateView::latest_version(source).unwrap_or(0));
    let bar = (show_progress && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template("replay {bar:40} {pos}/{len} blocks {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let started = Instant::now();
    let mut txs = 0usize;
    let options = ReplayOptions {
        from,
        to,
        ..ReplayOptions::default()
    };
    let result = replay(source, scratch, &options, |_, n| {
        txs += n;
        if let Some(bar) = &bar {
            bar.inc(1);
            bar.set_message(format!("{txs} txs"));
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok((result?, seconds))
}
