//! `cairn bench network`: validators on loopback in this process, deciding
//! every block with Malachite, against one dev node (instant blocks) with
//! the same transactions, measured in the same run.
//!
//! Network load: each sender submits all its transactions to one validator
//! (senders spread round robin over the validators' RPC), then awaits every
//! receipt there; tx/s from the first submission to the last receipt, and
//! for each transaction the time from its submission to its receipt
//! (finality: a receipt exists only for a committed, decided block).
//! Transactions alternate native and token transfers (the `bench rpc`
//! workload). The single-node figure is the same load against a dev node.
//! All validators share this machine's cores and each executes every block,
//! so on N validators 1/N of the single-node rate is the ideal ratio.
#![allow(
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    reason = "throughput and latency figures for people; they never reach a root, receipt or gas figure"
)]

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use cairn_chain::Envelope;
use cairn_chain::keys::SigningKey;
use cairn_node::client::RpcClient;
use cairn_node::config::NodeConfig;
use cairn_node::dev::{DEV_CHAIN_ID, DEV_MNEMONIC, derive_keys};
use cairn_node::testnet::{TestnetLayout, config_path, init};
use serde::Serialize;

use crate::bench_rpc::{await_receipt, in_flight_rate, percentile, workload_tx};
use crate::common::print_json;

fn transactions(keys: &[SigningKey], per_sender: u64) -> Vec<Vec<Envelope>> {
    keys.iter()
        .enumerate()
        .map(|(i, key)| {
            let to = keys[(i + 1) % keys.len()].address();
            (0..per_sender)
                .map(|nonce| workload_tx(key, nonce, to))
                .collect()
        })
        .collect()
}

/// The network load: (tx/s, submission-to-receipt latencies).
fn network_load(urls: &[String], txs: Vec<Vec<Envelope>>) -> Result<(f64, Vec<Duration>)> {
    let total: usize = txs.iter().map(Vec::len).sum();
    let started = Instant::now();
    let handles: Vec<_> = txs
        .into_iter()
        .enumerate()
        .map(|(i, sender)| {
            let url = urls[i % urls.len()].clone();
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let client = RpcClient::new(&url)?;
                let mut sent = Vec::with_capacity(sender.len());
                for tx in &sender {
                    sent.push((Instant::now(), client.send(tx)?));
                }
                let mut latencies = Vec::with_capacity(sent.len());
                for (at, hash) in &sent {
                    await_receipt(&client, hash)?;
                    latencies.push(at.elapsed());
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for handle in handles {
        latencies.extend(handle.join().map_err(|_| anyhow!("a sender panicked"))??);
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Ok((rate, latencies))
}

/// A seed for the port search that differs between runs.
fn port_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    u64::from(std::process::id()) ^ nanos
}

#[derive(Debug, Serialize)]
struct NetworkBench {
    validators: usize,
    senders: usize,
    txs: usize,
    tx_per_s: f64,
    single_node_tx_per_s: f64,
    network_to_single_ratio: f64,
    p50_finality_ms: f64,
    p99_finality_ms: f64,
    heights: u64,
    roots_agree: bool,
}

/// Runs the single node, then the network, and prints the summary.
pub(crate) fn bench_network(
    validators: usize,
    senders: usize,
    per_sender: u64,
    json: bool,
) -> Result<()> {
    TestnetLayout {
        validators,
        ..TestnetLayout::default()
    }
    .check()
    .map_err(|e| anyhow!("--validators: {e}"))?;
    anyhow::ensure!(senders >= 1, "--senders must be at least 1");
    anyhow::ensure!(per_sender >= 1, "--txs-per-sender must be at least 1");
    let count = u32::try_from(senders).context("--senders")?;
    let keys = derive_keys(DEV_MNEMONIC, count).map_err(|e| anyhow!(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("async runtime")?;

    // One dev node, the same transactions.
    let single = {
        let dir = tempfile::tempdir().context("temporary directory")?;
        let mut config = NodeConfig::default();
        config.dev.enabled = true;
        config.dev.accounts = count;
        config.dev.predeploy = vec!["token".into()];
        config.data_dir = Some(dir.path().to_path_buf());
        config.rpc.listen = "127.0.0.1:0".parse()?;
        config.txpool.max_per_sender = config.txpool.max_per_sender.max(per_sender);
        let node = runtime.block_on(cairn_node::start(config))?;
        let rate = in_flight_rate(&node.http_url(), transactions(&keys, per_sender))?;
        runtime.block_on(node.shutdown())?;
        rate
    };

    // The network.
    let dir = tempfile::tempdir().context("temporary directory")?;
    let layout = TestnetLayout {
        validators,
        base_port: cairn_node::testnet::free_base_port(validators, port_seed())
            .ok_or_else(|| anyhow!("no free block of loopback ports"))?,
        chain_id: DEV_CHAIN_ID,
        accounts: count,
        predeploy: vec!["token".into()],
        timeout_propose_ms: 2_000,
        timeout_vote_ms: 1_000,
        block_time_ms: 250,
    };
    init(dir.path(), &layout).map_err(|e| anyhow!(e))?;
    let mut nodes = Vec::new();
    for i in 0..validators {
        let mut config = NodeConfig::from_file(&config_path(dir.path(), i))?;
        config.txpool.max_per_sender = config.txpool.max_per_sender.max(per_sender);
        nodes.push(runtime.block_on(cairn_node::start(config))?);
    }
    let urls: Vec<String> = nodes
        .iter()
        .map(cairn_node::RunningNode::http_url)
        .collect();
    let txs = transactions(&keys, per_sender);
    let total: usize = txs.iter().map(Vec::len).sum();
    let (rate, latencies) = network_load(&urls, txs)?;
    // Every validator at the same height, then compare every block.
    let started = Instant::now();
    let target = nodes
        .iter()
        .map(|n| n.shared().reader.head().number)
        .max()
        .unwrap_or(0);
    while nodes
        .iter()
        .any(|n| n.shared().reader.head().number < target)
    {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "validators did not reach height {target}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut roots_agree = true;
    for number in 1..=target {
        let mut hashes = Vec::new();
        for node in &nodes {
            let block = node.shared().block(number)?;
            hashes.push(block.map(|b| b.block.header.hash()));
        }
        roots_agree &= hashes.windows(2).all(|w| w[0] == w[1] && w[0].is_some());
    }
    for node in nodes {
        runtime.block_on(node.shutdown())?;
    }
    let report = NetworkBench {
        validators,
        senders,
        txs: total,
        tx_per_s: rate,
        single_node_tx_per_s: single,
        network_to_single_ratio: rate / single,
        p50_finality_ms: percentile(&latencies, 50),
        p99_finality_ms: percentile(&latencies, 99),
        heights: target,
        roots_agree,
    };
    if json {
        print_json(&report)?;
    } else {
        println!(
            "{} validators, {} senders, {} txs: {:.0} tx/s finalized vs {:.0} tx/s on one dev node = {:.2}",
            report.validators,
            report.senders,
            report.txs,
            report.tx_per_s,
            report.single_node_tx_per_s,
            report.network_to_single_ratio
        );
        println!(
            "submission to finality: p50 {:.0} ms, p99 {:.0} ms; {} heights, roots agree: {}",
            report.p50_finality_ms, report.p99_finality_ms, report.heights, report.roots_agree
        );
    }
    anyhow::ensure!(roots_agree, "validators disagree on a block");
    Ok(())
}
