//! `cairn demo`: the main job. Keys and a genesis with the token contract,
//! N blocks of signed token and native transfers executed and committed on
//! RocksDB, then a replay of the whole chain from genesis into a fresh store
//! that checks every receipt and root.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use cairn_benches::workload::TransferWorkload;
use cairn_chain::view::DivergenceView;
use cairn_chain::{Chain, ChainError, SetupError};
use cairn_host_api::world::Address;
use cairn_state::{RocksStore, StoreOptions};
use clap::Args;
use serde_json::json;

use crate::common::{dir_size, executor, replay_into_scratch, scratch_dir};

/// `cairn demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Data directory (default: a temporary directory, removed afterwards).
    /// If it already holds a demo chain, the demo resumes at its head.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Blocks to produce.
    #[arg(long, default_value_t = 30)]
    blocks: u64,
    /// Transactions per block.
    #[arg(long, default_value_t = 1_000)]
    txs_per_block: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Accounts the demo uses: enough senders, and the first block can hand
/// every one of them tokens.
fn demo_accounts(txs_per_block: usize) -> usize {
    txs_per_block.saturating_add(1).clamp(2, 64)
}

pub(crate) fn run(args: DemoArgs) -> Result<()> {
    if args.txs_per_block == 0 {
        bail!("--txs-per-block must be at least 1");
    }
    let (data_dir, temporary) = match &args.data_dir {
        Some(dir) => (dir.clone(), false),
        None => (scratch_dir("demo"), true),
    };
    let result = run_in(&args, &data_dir, temporary);
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    result
}

#[allow(
    clippy::float_arithmetic,
    reason = "throughput figures for people; they never reach a root, receipt or gas figure"
)]
fn run_in(args: &DemoArgs, data_dir: &std::path::Path, temporary: bool) -> Result<()> {
    let say = |text: String| {
        if !args.json {
            println!("{text}");
        }
    };
    let mut workload = TransferWorkload::new(demo_accounts(args.txs_per_block));
    let store = RocksStore::open(data_dir, StoreOptions::default())
        .with_context(|| format!("opening the state store in {}", data_dir.display()))?;
    let mut chain = match Chain::open(store, executor()) {
        Ok(chain) => {
            if chain.genesis() != &workload.genesis() {
                bail!(
                    "{} holds a chain that is not a demo chain; use another --data-dir",
                    data_dir.display()
                );
            }
            let sent: u64 = workload
                .addresses()
                .iter()
                .map(|a| chain.account(a).map(|acc| acc.nonce))
                .sum::<Result<u64, _>>()?;
            workload.resume(sent, |a| chain.account(a).map(|acc| acc.nonce).unwrap_or(0));
            say(format!(
                "resuming the demo chain in {} at block {}",
                data_dir.display(),
                chain.head().number
            ));
            chain
        }
        Err(ChainError::Setup(error)) if matches!(*error, SetupError::NotInitialized) => {
            // Chain::open consumed the store; reopen it for init.
            let store = RocksStore::open(data_dir, StoreOptions::default())?;
            let chain = Chain::init(store, executor(), workload.genesis())?;
            say(format!(
                "genesis: {} accounts, token contract at {:?}, state root 0x{}",
                workload.addresses().len(),
                workload.token(),
                hex::encode(chain.head().state_root)
            ));
            chain
        }
        Err(other) => return Err(other.into()),
    };
    let beneficiary = Address::from_low_u64_be(0xfee);
    let first = chain.head().number.saturating_add(1);
    let last = args.blocks.max(chain.head().number);
    let mut exec_seconds = 0.0f64;
    let mut executed_txs = 0u64;
    let mut failed = 0usize;
    let mut rejections: Option<String> = None;
    // Sign a few blocks ahead (untimed), then execute them pipelined: the
    // senders of block n+1 are recovered while block n executes.
    let mut number = first;
    while number <= last && rejections.is_none() {
        let batch_end = last.min(number.saturating_add(9));
        let start_timestamp = chain.head().timestamp;
        let blocks: Vec<_> = (number..=batch_end)
            .zip(1u64..)
            .map(|(_, i)| {
                let txs = workload.next_transactions(args.txs_per_block);
                let txs = txs.into_iter().map(Into::into).collect();
                (start_timestamp.saturating_add(i), beneficiary, txs)
            })
            .collect();
        let started = Instant::now();
        chain.produce_blocks_pipelined(blocks, |block, receipts, rejected| {
            let n = block.header.number;
            if let Some((_, error)) = rejected.first() {
                rejections.get_or_insert_with(|| {
                    format!(
                        "block {n}: {} demo transaction(s) rejected, first: {error}",
                        rejected.len()
                    )
                });
            }
            failed += receipts.iter().filter(|r| !r.is_success()).count();
            executed_txs += block.transactions.len() as u64;
            if !args.json && (n == first || n == last || n % 10 == 0) {
                println!(
                    "block {:>4}: {:>5} txs, gas {:>11}, state root 0x{}",
                    n,
                    block.transactions.len(),
                    block.header.gas_used,
                    hex::encode(block.header.state_root)
                );
            }
        })?;
        exec_seconds += started.elapsed().as_secs_f64();
        number = batch_end.saturating_add(1);
    }
    if let Some(message) = rejections {
        bail!(message);
    }
    let head = chain.head().clone();
    let total_txs: u64 = (1..=head.number)
        .map(|n| {
            chain
                .block(n)
                .map(|b| b.map_or(0, |b| b.transactions.len() as u64))
        })
        .sum::<Result<u64, _>>()?;
    let source = chain.into_state();
    let (report, replay_seconds) = replay_into_scratch(&source, 1, None, !args.json)?;
    let data_bytes = dir_size(data_dir);
    let exec_tx_per_s = if exec_seconds > 0.0 {
        executed_txs as f64 / exec_seconds
    } else {
        0.0
    };
    let replay_tx_per_s = if replay_seconds > 0.0 {
        report.txs as f64 / replay_seconds
    } else {
        0.0
    };
    let verified = report.verified() && report.state_root == hex::encode(head.state_root);
    if args.json {
        let out = json!({
            "blocks": head.number,
            "txs": total_txs,
            "executed_txs": executed_txs,
            "failed_txs": failed,
            "exec_tx_per_s": exec_tx_per_s,
            "replay_tx_per_s": replay_tx_per_s,
            "state_root": cairn_chain::codec::to_hex(head.state_root),
            "replay_verified": verified,
            "replay_divergence": report.divergence.as_ref().map(DivergenceView::from),
            "data_bytes": data_bytes,
            "data_dir": (!temporary).then(|| data_dir.display().to_string()),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("blocks      {}", head.number);
        println!("txs         {total_txs} ({failed} failed receipts)");
        println!(
            "execution   {exec_tx_per_s:.0} tx/s ({executed_txs} txs executed and committed on RocksDB this run)"
        );
        println!("replay      {replay_tx_per_s:.0} tx/s (from genesis into a fresh RocksDB store)");
        println!("state root  0x{}", hex::encode(head.state_root));
        println!(
            "data size   {:.1} MiB in {}",
            data_bytes as f64 / 1_048_576.0,
            if temporary {
                "a temporary directory (removed; keep it with --data-dir)".to_string()
            } else {
                data_dir.display().to_string()
            }
        );
        match &report.divergence {
            None => println!(
                "replay      verified: every receipt, receipts root and state root matches"
            ),
            Some(d) => println!("replay      DIVERGENCE at {d}"),
        }
    }
    if !verified {
        bail!("replay did not verify the chain");
    }
    Ok(())
}
