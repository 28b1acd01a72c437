//! `cairn bench rpc`: signed native and token transfers over JSON-RPC to a
//! dev node with instant blocks (this process, a loopback port), every
//! receipt awaited, next to the in-process chain rate for the same
//! transactions measured in the same run.
//!
//! Loads:
//! - in flight: every sender submits all its transactions, then awaits
//!   every receipt; tx/s from the first submit to the last receipt, and its
//!   ratio to the in-process rate (the same transactions produced into
//!   blocks by the chain directly, on RocksDB);
//! - closed loop: 8 senders, each awaiting its receipt before sending the
//!   next; tx/s and submit-to-receipt latency (p50, p99);
//! - `eth_call` of the token's `balance_of` from 4 threads: calls/s.
//!
//! Token transfers move amount 0 (every sender can make one; the contract
//! still reads and writes both balances and emits its event).
#![allow(
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    reason = "throughput and latency figures for people; they never reach a root, receipt or gas figure"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use cairn_chain::codec::to_hex;
use cairn_chain::keys::SigningKey;
use cairn_chain::{Chain, Envelope, Transaction, TxAction};
use cairn_engine::runtime::{ExecConfig, Executor};
use cairn_host_api::abi::encode_call;
use cairn_host_api::world::{Address, H256, U256};
use cairn_node::client::RpcClient;
use cairn_node::config::NodeConfig;
use cairn_node::dev::{DEV_CHAIN_ID, DEV_MNEMONIC, derive_keys, dev_genesis, predeploy_address};
use cairn_state::{RocksStore, StoreOptions};
use serde::Serialize;
use serde_json::json;

use crate::common::print_json;

/// Bounds every receipt wait.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Transaction `nonce` of `key`: a native transfer on even nonces, a token
/// transfer on odd ones.
pub(crate) fn workload_tx(key: &SigningKey, nonce: u64, to: Address) -> Envelope {
    let action = if nonce.is_multiple_of(2) {
        TxAction::Call { to, data: vec![] }
    } else {
        TxAction::Call {
            to: predeploy_address("token"),
            data: encode_call("transfer", &(to, U256::zero())),
        }
    };
    Transaction {
        chain_id: DEV_CHAIN_ID,
        nonce,
        gas_limit: 200_000,
        gas_price: 1,
        value: U256::from(u8::from(nonce.is_multiple_of(2))),
        action,
    }
    .sign(key)
    .into()
}

/// `per_sender` transactions of each key, starting at `first_nonce`.
fn workload(keys: &[SigningKey], per_sender: u64, first_nonce: u64) -> Vec<Vec<Envelope>> {
    keys.iter()
        .enumerate()
        .map(|(i, key)| {
            let to = keys[(i + 1) % keys.len()].address();
            (first_nonce..first_nonce + per_sender)
                .map(|nonce| workload_tx(key, nonce, to))
                .collect()
        })
        .collect()
}

/// The same transactions produced by the chain directly: tx/s.
fn in_process_rate(keys: &[SigningKey], txs: &[Vec<Envelope>], block_txs: usize) -> Result<f64> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let genesis =
        dev_genesis(keys, DEV_CHAIN_ID, 1, &["token".to_owned()]).map_err(|e| anyhow!(e))?;
    let store = RocksStore::open(dir.path(), StoreOptions::default())?;
    let mut chain = Chain::init(store, Executor::new(ExecConfig::default()), genesis)?;
    // Interleave senders as the mempool would order them: round-robin by nonce.
    let longest = txs.iter().map(Vec::len).max().unwrap_or(0);
    let mut all = Vec::new();
    for n in 0..longest {
        for sender in txs {
            if let Some(tx) = sender.get(n) {
                all.push(tx.clone());
            }
        }
    }
    let total = all.len();
    let started = Instant::now();
    for (timestamp, block) in (2..).zip(all.chunks(block_txs.max(1))) {
        let (_, receipts, rejected) =
            chain.produce_block(timestamp, Address::zero(), block.to_vec())?;
        anyhow::ensure!(rejected.is_empty(), "in-process: transactions rejected");
        anyhow::ensure!(
            receipts.iter().all(cairn_chain::Receipt::is_success),
            "in-process: a transaction failed"
        );
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Waits for `hash`'s receipt, polling every millisecond.
pub(crate) fn await_receipt(client: &RpcClient, hash: &H256) -> Result<()> {
    let started = Instant::now();
    loop {
        let receipt: serde_json::Value =
            client.request("eth_getTransactionReceipt", vec![to_hex(hash).into()])?;
        if !receipt.is_null() {
            anyhow::ensure!(
                receipt["status"] == "0x1",
                "transaction {hash:?} failed: {receipt}"
            );
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < RECEIPT_TIMEOUT,
            "no receipt for {hash:?} after {RECEIPT_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// In flight: each sender submits everything, then awaits every receipt.
pub(crate) fn in_flight_rate(url: &str, txs: Vec<Vec<Envelope>>) -> Result<f64> {
    let total: usize = txs.iter().map(Vec::len).sum();
    let started = Instant::now();
    let handles: Vec<_> = txs
        .into_iter()
        .map(|sender| {
            let url = url.to_owned();
            std::thread::spawn(move || -> Result<()> {
                let client = RpcClient::new(&url)?;
                let mut hashes = Vec::with_capacity(sender.len());
                for tx in &sender {
                    hashes.push(client.send(tx)?);
                }
                for hash in &hashes {
                    await_receipt(&client, hash)?;
                }
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle.join().map_err(|_| anyhow!("a sender panicked"))??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Closed loop: each sender awaits its receipt before the next; tx/s and
/// every submit-to-receipt latency.
fn closed_loop(url: &str, txs: Vec<Vec<Envelope>>) -> Result<(f64, Vec<Duration>)> {
    let total: usize = txs.iter().map(Vec::len).sum();
    let started = Instant::now();
    let handles: Vec<_> = txs
        .into_iter()
        .map(|sender| {
            let url = url.to_owned();
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let client = RpcClient::new(&url)?;
                let mut latencies = Vec::with_capacity(sender.len());
                for tx in &sender {
                    let sent = Instant::now();
                    let hash = client.send(tx)?;
                    await_receipt(&client, &hash)?;
                    latencies.push(sent.elapsed());
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

/// `eth_call` of `balance_of` from `threads` threads, `per_thread` each.
fn eth_call_rate(url: &str, threads: usize, per_thread: usize) -> Result<f64> {
    let data = to_hex(encode_call("balance_of", &(Address::zero(),)));
    let token = to_hex(predeploy_address("token"));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (url, data, token) = (url.to_owned(), data.clone(), token.clone());
            std::thread::spawn(move || -> Result<()> {
                let client = RpcClient::new(&url)?;
                for _ in 0..per_thread {
                    let _: String = client.request(
                        "eth_call",
                        vec![json!({"to": token, "data": data}), "latest".into()],
                    )?;
                }
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle.join().map_err(|_| anyhow!("a caller panicked"))??;
    }
    Ok((threads * per_thread) as f64 / started.elapsed().as_secs_f64())
}

pub(crate) fn percentile(sorted: &[Duration], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[index].as_secs_f64() * 1e3
}

#[derive(Debug, Serialize)]
struct RpcBench {
    senders_in_flight: usize,
    txs_in_flight: usize,
    in_process_tx_per_s: f64,
    rpc_in_flight_tx_per_s: f64,
    in_flight_ratio: f64,
    closed_loop_senders: usize,
    closed_loop_txs: usize,
    closed_loop_tx_per_s: f64,
    closed_loop_p50_ms: f64,
    closed_loop_p99_ms: f64,
    eth_call_per_s: f64,
}

/// Runs the three loads and prints the summary.
pub(crate) fn bench_rpc(senders: usize, per_sender: u64, closed: u64, json: bool) -> Result<()> {
    anyhow::ensure!(
        senders >= 8,
        "--senders must be at least 8 (the closed loop uses 8)"
    );
    let count = u32::try_from(senders).context("--senders")?;
    let keys = derive_keys(DEV_MNEMONIC, count).map_err(|e| anyhow!(e.to_string()))?;
    let in_flight_txs = workload(&keys, per_sender, 0);
    let in_process = in_process_rate(&keys, &in_flight_txs, 1_000)?;

    let dir = tempfile::tempdir().context("temporary directory")?;
    let mut config = NodeConfig::default();
    config.dev.enabled = true;
    config.dev.accounts = count;
    config.dev.predeploy = vec!["token".into()];
    config.data_dir = Some(dir.path().to_path_buf());
    config.rpc.listen = "127.0.0.1:0".parse()?;
    config.txpool.max_per_sender = config.txpool.max_per_sender.max(per_sender);
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("async runtime")?,
    );
    let node = runtime.block_on(cairn_node::start(config))?;
    let url = node.http_url();

    let total_in_flight = in_flight_txs.iter().map(Vec::len).sum();
    let rpc_in_flight = in_flight_rate(&url, in_flight_txs)?;
    let closed_txs = workload(&keys[..8], closed, per_sender);
    let (closed_rate, latencies) = closed_loop(&url, closed_txs)?;
    let calls = eth_call_rate(&url, 4, 2_000)?;
    runtime.block_on(node.shutdown())?;

    let report = RpcBench {
        senders_in_flight: senders,
        txs_in_flight: total_in_flight,
        in_process_tx_per_s: in_process,
        rpc_in_flight_tx_per_s: rpc_in_flight,
        in_flight_ratio: rpc_in_flight / in_process,
        closed_loop_senders: 8,
        closed_loop_txs: latencies.len(),
        closed_loop_tx_per_s: closed_rate,
        closed_loop_p50_ms: percentile(&latencies, 50),
        closed_loop_p99_ms: percentile(&latencies, 99),
        eth_call_per_s: calls,
    };
    if json {
        print_json(&report)?;
    } else {
        println!(
            "in flight ({} senders, {} txs): {:.0} tx/s over RPC vs {:.0} tx/s in-process = {:.2}",
            report.senders_in_flight,
            report.txs_in_flight,
            report.rpc_in_flight_tx_per_s,
            report.in_process_tx_per_s,
            report.in_flight_ratio
        );
        println!(
            "closed loop (8 senders, {} txs): {:.0} tx/s, p50 {:.2} ms, p99 {:.2} ms",
            report.closed_loop_txs,
            report.closed_loop_tx_per_s,
            report.closed_loop_p50_ms,
            report.closed_loop_p99_ms
        );
        println!("eth_call: {:.0} calls/s (4 threads)", report.eth_call_per_s);
    }
    Ok(())
}
