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
    /// The state store on RocksDB against raw RocksDB in the same run:
    /// commit and read ratios, historical reads, proofs.
    State {
        /// Keys in the state.
        #[arg(long, default_value_t = 1_000_000)]
        keys: u64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(args: BenchArgs) -> Result<()> {
    match args.command {
        BenchCommand::State { keys, json } => bench_state(keys, json),
    }
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
            "  growth   {:>8} keys: {:.2} us/update, ratio {:.2}",
            point.keys, point.us_per_update, point.commit_ratio
        );
    }
    Ok(())
}
