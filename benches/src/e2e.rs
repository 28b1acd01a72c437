//! End to end: blocks of signed token transfers executed, Merkleized and
//! committed on [`ResidentStore`] (RocksDB), next to the
//! signature-recovery-only bound and a replay of the same chain, all in one
//! run (`cairn bench e2e`, criterion group `e2e`). `--accounts N` adds `N`
//! funded genesis accounts that never transact (a state of realistic
//! size); `--active M` sets the number of distinct senders.
//!
//! - **execution**: `Chain::produce_blocks_pipelined`: admission,
//!   sequential execution of the token contract on wasmi and fees of block
//!   n+1 on one core while the other computes block n's roots, writes it
//!   (one atomic RocksDB write of state, block, receipts and tx index) and
//!   recovers block n+2's senders. Signing happens before the clock starts.
//! - **signature bound**: recovering the same transactions' senders on all
//!   cores, nothing else: what execution could reach if everything
//!   but ecrecover were free.
//! - **replay**: `cairn_chain::replay` of the whole chain from genesis into a
//!   fresh RocksDB store, checking every receipt and root.

use std::time::Instant;

use cairn_chain::genesis::GenesisAccount;
use cairn_chain::replay::{ReplayOptions, replay};
use cairn_chain::{Chain, SignedTransaction};
use cairn_engine::runtime::{ExecConfig, Executor};
use cairn_host_api::world::{Address, U256};
use cairn_state::{ResidentOptions, ResidentStore, keccak256};

use crate::workload::TransferWorkload;
use serde::Serialize;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct E2eConfig {
    /// Blocks to execute.
    pub blocks: u64,
    /// Token transfers per block.
    pub txs_per_block: usize,
    /// Distinct senders (active accounts).
    pub accounts: usize,
    /// Funded genesis accounts that never transact.
    pub extra_accounts: usize,
}

impl Default for E2eConfig {
    fn default() -> Self {
        Self {
            blocks: 10,
            txs_per_block: 1_000,
            accounts: 256,
            extra_accounts: 0,
        }
    }
}

/// One run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct E2eReport {
    /// Blocks executed.
    pub blocks: u64,
    /// Transactions per block.
    pub txs_per_block: usize,
    /// Distinct senders.
    pub active_accounts: usize,
    /// Funded genesis accounts that never transact.
    pub extra_accounts: usize,
    /// Keys in the state after the run.
    pub state_keys: u64,
    /// Transactions executed (excluding the funding block).
    pub txs: u64,
    /// Threads used for the signature bound (all cores).
    pub threads: usize,
    /// End-to-end execution rate (tx/s).
    pub tx_per_s: f64,
    /// Signature-recovery-only rate on all cores (tx/s).
    pub sig_bound_tx_per_s: f64,
    /// `tx_per_s / sig_bound_tx_per_s`.
    pub ratio_to_sig_bound: f64,
    /// CPU time of the whole process (every thread, RocksDB's background
    /// work and threads that exited included: the process CPU clock) while
    /// the blocks execute, per transaction, in microseconds; `None` if the
    /// clock cannot be read. What a transaction costs in CPU, where `tx_per_s` also
    /// shows how well the two cores are kept busy.
    pub exec_cpu_us_per_tx: Option<f64>,
    /// Replay rate from genesis into a fresh store (tx/s, all blocks).
    pub replay_tx_per_s: f64,
    /// `replay_tx_per_s / tx_per_s`.
    pub replay_to_exec_ratio: f64,
    /// Receipts that were not success (0 expected).
    pub failed_txs: u64,
    /// Final state root (hex).
    pub state_root: String,
    /// Size of the RocksDB data directory after the run (bytes).
    pub data_bytes: u64,
}

/// A chain on RocksDB in a temp dir with a transfer workload: the fixture
/// of both `run` and the criterion harness.
#[derive(Debug)]
pub struct E2eFixture {
    /// The chain.
    pub chain: Chain<ResidentStore>,
    /// The workload generating its transactions.
    pub workload: TransferWorkload,
    dir: tempfile::TempDir,
}

fn executor() -> Executor {
    Executor::new(ExecConfig::default())
}

impl E2eFixture {
    /// Genesis with the token, then one block that hands every account tokens.
    pub fn new(accounts: usize) -> Self {
        Self::with_extra_accounts(accounts, 0)
    }

    /// As [`E2eFixture::new`], with `extra` more funded genesis accounts
    /// that never transact.
    pub fn with_extra_accounts(accounts: usize, extra: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut workload = TransferWorkload::new(accounts).token_transfers_only();
        let store =
            ResidentStore::open(dir.path(), ResidentOptions::default()).expect("open the store");
        let mut genesis = workload.genesis();
        genesis.accounts.extend((0..extra).map(|i| GenesisAccount {
            address: Address::from_slice(
                &keccak256(format!("cairn extra account {i}").as_bytes())[12..],
            ),
            balance: U256::from(1_000_000u64),
        }));
        let chain = Chain::init(store, executor(), genesis).expect("genesis");
        let funding = workload.next_transactions(accounts.saturating_sub(1).max(1));
        let mut fixture = Self {
            chain,
            workload,
            dir,
        };
        fixture.produce(funding);
        fixture
    }

    /// Signs the next block's transactions (not timed by callers).
    pub fn next_block_txs(&mut self, count: usize) -> Vec<SignedTransaction> {
        self.workload.next_transactions(count)
    }

    /// Executes and commits one block; returns the number of failed receipts.
    pub fn produce(&mut self, txs: Vec<SignedTransaction>) -> u64 {
        let timestamp = self.chain.head().timestamp.saturating_add(1);
        let (_, receipts, rejected) = self
            .chain
            .produce_block(timestamp, Address::from_low_u64_be(0xfee), txs)
            .expect("block");
        assert!(
            rejected.is_empty(),
            "benchmark transactions rejected: {:?}",
            rejected.first()
        );
        receipts.iter().filter(|r| !r.is_success()).count() as u64
    }

    /// Executes and commits `blocks` in order, recovering the senders of
    /// block n+1 while block n executes; returns the number of failed receipts.
    pub fn produce_pipelined(&mut self, blocks: Vec<Vec<SignedTransaction>>) -> u64 {
        let start = self.chain.head().timestamp;
        let beneficiary = Address::from_low_u64_be(0xfee);
        let blocks = blocks
            .into_iter()
            .zip(1u64..)
            .map(|(txs, i)| {
                let txs = txs.into_iter().map(Into::into).collect();
                (start.saturating_add(i), beneficiary, txs)
            })
            .collect();
        let mut failed = 0u64;
        self.chain
            .produce_blocks_pipelined(blocks, |_, receipts, rejected| {
                assert!(
                    rejected.is_empty(),
                    "benchmark transactions rejected: {:?}",
                    rejected.first()
                );
                failed += receipts.iter().filter(|r| !r.is_success()).count() as u64;
            })
            .expect("blocks");
        failed
    }

    /// Data directory of the chain.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Threads the signature bound uses: every core.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Recovers every sender on all cores (one chunk per core); returns the
/// elapsed seconds.
pub fn recover_all(txs: &[SignedTransaction]) -> f64 {
    let chunk = txs.len().div_ceil(threads()).max(1);
    let started = Instant::now();
    let ok: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = txs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().filter(|tx| tx.recover_sender().is_ok()).count())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("recovery thread"))
            .sum()
    });
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(ok, txs.len(), "benchmark signatures must recover");
    seconds
}

/// Runs the side-by-side measurement.
#[allow(
    clippy::float_arithmetic,
    reason = "benchmark rates, never consensus data"
)]
pub fn run(config: &E2eConfig) -> E2eReport {
    let mut fixture = E2eFixture::with_extra_accounts(config.accounts, config.extra_accounts);
    let blocks: Vec<Vec<SignedTransaction>> = (0..config.blocks)
        .map(|_| fixture.next_block_txs(config.txs_per_block))
        .collect();
    let all: Vec<SignedTransaction> = blocks.iter().flatten().cloned().collect();
    let txs = all.len() as u64;

    // Genesis and the funding block leave RocksDB compacting for a while; a
    // node measured in its steady state does not carry that backlog.
    fixture
        .chain
        .state()
        .wait_for_compactions(crate::state::SETTLE)
        .expect("settle the store");
    // Signature bound first and again after execution, the faster counted,
    // so a noisy neighbour does not flatter the ratio.
    let sig_before = recover_all(&all);

    let cpu_before = process_cpu_ns();
    let started = Instant::now();
    let failed = fixture.produce_pipelined(blocks);
    let exec_seconds = started.elapsed().as_secs_f64();
    let exec_cpu_ns = process_cpu_ns()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let sig_after = recover_all(&all);
    let sig_seconds = sig_before.min(sig_after);

    let head = fixture.chain.head().clone();
    let replay_dir = tempfile::tempdir().expect("temp dir");
    let scratch =
        ResidentStore::open(replay_dir.path(), ResidentOptions::default()).expect("open scratch");
    let started = Instant::now();
    let report = replay(
        fixture.chain.state(),
        scratch,
        &ReplayOptions::default(),
        |_, _| {},
    )
    .expect("replay");
    let replay_seconds = started.elapsed().as_secs_f64();
    assert!(
        report.verified(),
        "benchmark chain must replay: {:?}",
        report.divergence
    );
    // The replay re-executes the funding block too.
    let replayed = report.txs as f64;

    let tx_per_s = txs as f64 / exec_seconds;
    let sig_bound_tx_per_s = txs as f64 / sig_seconds;
    let replay_tx_per_s = replayed / replay_seconds;
    E2eReport {
        blocks: config.blocks,
        txs_per_block: config.txs_per_block,
        active_accounts: config.accounts,
        extra_accounts: config.extra_accounts,
        state_keys: fixture.chain.state().key_count(),
        txs,
        threads: threads(),
        tx_per_s,
        sig_bound_tx_per_s,
        ratio_to_sig_bound: tx_per_s / sig_bound_tx_per_s,
        exec_cpu_us_per_tx: exec_cpu_ns.map(|ns| ns as f64 / 1_000.0 / txs as f64),
        replay_tx_per_s,
        replay_to_exec_ratio: replay_tx_per_s / tx_per_s,
        failed_txs: failed,
        state_root: hex_root(&head.state_root.0),
        data_bytes: dir_size(fixture.path()),
    }
}

/// Nanoseconds of CPU time this process has used, on every thread it ever
/// ran: `CLOCK_PROCESS_CPUTIME_ID`, which keeps counting threads that have
/// exited. The trie's hashing threads live for one block each, so a sum over
/// the live threads (`/proc/self/task/*/schedstat`, used until 2026-11-27)
/// left them out. `Option` for the report's sake; this clock is always there
/// on Linux.
fn process_cpu_ns() -> Option<u64> {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    let seconds = u64::try_from(now.tv_sec).ok()?;
    let nanos = u64::try_from(now.tv_nsec).ok()?;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn hex_root(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    /// `rounds` dependent multiply-adds: CPU work the optimiser cannot drop.
    fn spin(rounds: u64) -> u64 {
        let mut x = 1u64;
        for i in 0..rounds {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
        }
        x
    }

    #[test]
    fn process_cpu_time_counts_the_work_done_in_between() {
        let before = super::process_cpu_ns().expect("the process CPU clock is readable");
        let x = spin(50_000_000);
        let after = super::process_cpu_ns().expect("readable twice");
        // 50M dependent multiply-adds take well over a millisecond of CPU.
        assert!(
            after.saturating_sub(before) > 1_000_000,
            "{before} -> {after} ({x})"
        );
    }

    #[test]
    fn process_cpu_time_keeps_threads_that_exited() {
        // How long the work takes on this thread, then the same work on a
        // thread that has exited before the second reading.
        let before = super::process_cpu_ns().expect("readable");
        let here = spin(50_000_000);
        let on_this_thread = super::process_cpu_ns()
            .expect("readable")
            .saturating_sub(before);
        let before = super::process_cpu_ns().expect("readable");
        let there = std::thread::spawn(|| spin(50_000_000))
            .join()
            .expect("no panic");
        let with_exited_thread = super::process_cpu_ns()
            .expect("readable")
            .saturating_sub(before);
        assert_eq!(here, there);
        // A count of live threads only would see almost nothing here.
        assert!(
            with_exited_thread > on_this_thread / 2,
            "exited thread: {with_exited_thread} ns, same work here: {on_this_thread} ns"
        );
    }
}
