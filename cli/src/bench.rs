//! `cairn bench ...`: benchmark summaries. Bodies live in `cairn-benches`,
//! shared with the criterion harnesses (`cargo bench -p cairn-benches`).

use anyhow::Result;
use clap::{Args, Subcommand};

/// Run a benchmark and print its summary.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Injected gas metering against unmetered wasmi and wasmi fuel, in one
    /// run: per-program ratios, geometric mean, worst, and prepare time
    /// against wasmi's compile time.
    Metering {
        /// Samples per mode (the median is reported).
        #[arg(long, default_value_t = 15)]
        samples: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The resident state store against raw RocksDB in the same run:
    /// commit and read ratios, bytes written, historical reads, proofs,
    /// memory, clean start and recovery times.
    State {
        /// Keys in the state.
        #[arg(long, default_value_t = 1_000_000)]
        keys: u64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Blocks of signed token transfers executed and committed on RocksDB,
    /// next to the signature-recovery-only bound and a replay, in one run.
    E2e {
        /// Blocks to execute.
        #[arg(long, default_value_t = 10)]
        blocks: u64,
        /// Token transfers per block.
        #[arg(long, default_value_t = 1_000)]
        txs_per_block: usize,
        /// Funded genesis accounts that never transact (state size).
        #[arg(long, default_value_t = 0)]
        accounts: usize,
        /// Distinct senders.
        #[arg(long, default_value_t = 256)]
        active: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Validators on loopback (this process): finalized token transfers per
    /// second and submission-to-finality latency, next to one dev node's
    /// rate for the same transactions in the same run.
    Network {
        /// Validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Sending accounts (spread over the validators' RPC).
        #[arg(long, default_value_t = 16)]
        senders: usize,
        /// Transactions per sender.
        #[arg(long, default_value_t = 250)]
        txs_per_sender: u64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Signed native and token transfers over JSON-RPC to a dev node with
    /// instant blocks, every receipt awaited: many in flight (next to the
    /// in-process chain rate, same run), a closed loop of 8 senders
    /// (latency), and the eth_call rate.
    Rpc {
        /// Senders of the in-flight load (at least 8).
        #[arg(long, default_value_t = 16)]
        senders: usize,
        /// Transactions per sender in the in-flight load.
        #[arg(long, default_value_t = 500)]
        txs_per_sender: u64,
        /// Transactions per sender in the closed loop.
        #[arg(long, default_value_t = 100)]
        closed_loop_txs: u64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(args: BenchArgs) -> Result<()> {
    match args.command {
        BenchCommand::Metering { samples, json } => bench_metering(samples, json),
        BenchCommand::State { keys, json } => bench_state(keys, json),
        BenchCommand::E2e {
            blocks,
            txs_per_block,
            accounts,
            active,
            json,
        } => bench_e2e(blocks, txs_per_block, accounts, active, json),
        BenchCommand::Rpc {
            senders,
            txs_per_sender,
            closed_loop_txs,
            json,
        } => crate::bench_rpc::bench_rpc(senders, txs_per_sender, closed_loop_txs, json),
        BenchCommand::Network {
            validators,
            senders,
            txs_per_sender,
            json,
        } => crate::bench_network::bench_network(validators, senders, txs_per_sender, json),
    }
}

fn bench_e2e(
    blocks: u64,
    txs_per_block: usize,
    accounts: usize,
    active: usize,
    json: bool,
) -> Result<()> {
    anyhow::ensure!(
        blocks >= 1 && txs_per_block >= 1,
        "--blocks and --txs-per-block must be at least 1"
    );
    anyhow::ensure!(active >= 2, "--active must be at least 2");
    let config = cairn_benches::e2e::E2eConfig {
        blocks,
        txs_per_block,
        accounts: active,
        extra_accounts: accounts,
    };
    let report = cairn_benches::e2e::run(&config);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "e2e bench: {} blocks of {} signed token transfers from {} senders, {} extra accounts, {} state keys, on RocksDB ({} threads)",
        report.blocks,
        report.txs_per_block,
        report.active_accounts,
        report.extra_accounts,
        report.state_keys,
        report.threads
    );
    println!(
        "  execution  {:>10.0} tx/s   signature bound {:>10.0} tx/s   ratio {:.2}",
        report.tx_per_s, report.sig_bound_tx_per_s, report.ratio_to_sig_bound
    );
    if let Some(cpu) = report.exec_cpu_us_per_tx {
        println!("  CPU time while executing {cpu:.1} us per transaction (all threads)");
    }
    println!(
        "  replay     {:>10.0} tx/s   replay / execution {:.2}",
        report.replay_tx_per_s, report.replay_to_exec_ratio
    );
    println!(
        "  state root 0x{}   data {} bytes   failed receipts {}",
        report.state_root, report.data_bytes, report.failed_txs
    );
    Ok(())
}

fn bench_state(keys: u64, json: bool) -> Result<()> {
    anyhow::ensure!(
        keys >= 10_000,
        "--keys must be at least 10000 (one block of updates)"
    );
    let config = cairn_benches::state::StateBenchConfig {
        keys,
        ..Default::default()
    };
    let report = cairn_benches::state::run(&config);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "state bench: {} keys, blocks of {} updates",
        report.keys, report.block_updates
    );
    println!(
        "  commit   {:>12.0} updates/s   raw {:>12.0} puts/s   ratio {:.2}",
        report.updates_per_s, report.raw_puts_per_s, report.commit_ratio
    );
    println!(
        "  read     {:>12.0} reads/s     raw {:>12.0} gets/s   ratio {:.2}",
        report.reads_per_s, report.raw_reads_per_s, report.read_ratio
    );
    println!("  history  {:>12.0} reads/s", report.historical_reads_per_s);
    println!(
        "  proofs   {:>12.0} gen/s   {:>10.0} verify/s   avg {:.0} bytes (max {})",
        report.proofs_per_s,
        report.verifications_per_s,
        report.proof_bytes_avg,
        report.proof_bytes_max
    );
    for point in &report.growth {
        println!(
            "  growth   {:>8} keys: {:.2} us/update (apply {:.2}, write {:.2}), ratio {:.2}",
            point.keys,
            point.us_per_update,
            point.apply_us_per_update,
            point.write_us_per_update,
            point.commit_ratio
        );
        let (b, r) = (&point.bytes_per_update, &point.raw_bytes_per_update);
        println!(
            "           bytes/update: store wal {:.0} flush {:.0} compaction {:.0} (total {:.0}); raw wal {:.0} flush {:.0} compaction {:.0} (total {:.0})",
            b.wal, b.flush, b.compaction, b.total, r.wal, r.flush, r.compaction, r.total
        );
    }
    println!(
        "  memory   trie {:.0} bytes/key, process RSS {:.0} bytes/key",
        report.trie_bytes_per_key, report.process_rss_bytes_per_key
    );
    println!(
        "  restart  close {:.2} s, clean start {:.2} s, open after unclean close ({} versions of journal) {:.2} s",
        report.close_s, report.clean_start_s, report.recovery_versions, report.recovery_s
    );
    Ok(())
}

fn bench_metering(samples: usize, json: bool) -> Result<()> {
    anyhow::ensure!(samples >= 1, "--samples must be at least 1");
    let config = cairn_benches::metering::MeteringConfig {
        samples,
        ..Default::default()
    };
    let report = cairn_benches::metering::run(&config);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{:<10} {:>12} {:>12} {:>12} {:>7} {:>7} {:>11} {:>11} {:>8}",
        "program",
        "unmetered us",
        "injected us",
        "fuel us",
        "ratio",
        "fuel",
        "prepare us",
        "compile us",
        "prep/cmp"
    );
    for p in &report.programs {
        println!(
            "{:<10} {:>12.1} {:>12.1} {:>12.1} {:>7.2} {:>7.2} {:>11.1} {:>11.1} {:>8.2}",
            p.name,
            p.unmetered_us,
            p.injected_us,
            p.fuel_us,
            p.ratio,
            p.fuel_ratio,
            p.prepare_us,
            p.compile_us,
            p.prepare_ratio
        );
    }
    println!(
        "geomean ratio {:.3}, worst {:.3}, fuel geomean {:.3}, prepare/compile {:.3}",
        report.geomean_ratio, report.worst_ratio, report.fuel_geomean_ratio, report.prepare_ratio
    );
    Ok(())
}
