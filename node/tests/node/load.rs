//! Load on loopback: many clients submit at once; every accepted hash ends
//! in a receipt, reads stay answered; a clean shutdown under load leaves a
//! chain that reopens and replays.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cairn_chain::codec::to_hex;
use cairn_chain::keys::SigningKey;
use cairn_chain::replay::{ReplayOptions, replay};
use cairn_chain::{Transaction, TxAction};
use cairn_host_api::abi::encode_call;
use cairn_host_api::world::{Address, U256};
use cairn_node::dev::predeploy_address;
use cairn_state::{MemoryStore, RocksStore, StoreOptions};
use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::rpc_params;
use jsonrpsee_http_client::HttpClientBuilder;
use serde_json::Value;

use crate::support::{TestNode, quantity, within};

const CLIENTS: usize = 24;
const TXS_PER_CLIENT: u64 = 50;

/// Client `i`'s transaction `nonce`: a counter increment every third, a
/// native transfer otherwise.
fn load_tx(
    key: &SigningKey,
    chain_id: u64,
    i: usize,
    nonce: u64,
) -> cairn_chain::SignedTransaction {
    let action = if nonce.is_multiple_of(3) {
        TxAction::Call {
            to: predeploy_address("counter"),
            data: encode_call("increment", &1u64),
        }
    } else {
        TxAction::Call {
            to: Address::from_low_u64_be(1000 + i as u64),
            data: vec![],
        }
    };
    Transaction {
        chain_id,
        nonce,
        gas_limit: 200_000,
        gas_price: 1 + nonce % 5,
        value: U256::from(7u8),
        action,
    }
    .sign(key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_every_accepted_tx_gets_a_receipt() {
    let node = TestNode::with(|config| config.dev.accounts = u32::try_from(CLIENTS).unwrap()).await;
    let url = format!("http://{}", node.address);
    let stop_reads = Arc::new(AtomicBool::new(false));
    let reader = {
        let url = url.clone();
        let stop = Arc::clone(&stop_reads);
        tokio::spawn(async move {
            let client = HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(10))
                .build(url)
                .unwrap();
            let (mut reads, mut slowest) = (0u64, Duration::ZERO);
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let _: String = client
                    .request("eth_blockNumber", rpc_params![])
                    .await
                    .expect("reads stay answered");
                let _: String = client
                    .request(
                        "eth_getBalance",
                        rpc_params!["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "latest"],
                    )
                    .await
                    .expect("reads stay answered");
                slowest = slowest.max(started.elapsed());
                reads += 1;
            }
            (reads, slowest)
        })
    };
    let started = Instant::now();
    let mut senders = Vec::new();
    for i in 0..CLIENTS {
        let (key, chain_id) = (node.key(i), node.chain_id());
        let url = url.clone();
        senders.push(tokio::spawn(async move {
            let client = HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(30))
                .build(url)
                .unwrap();
            let mut accepted = Vec::new();
            for nonce in 0..TXS_PER_CLIENT {
                let tx = load_tx(&key, chain_id, i, nonce);
                let hash: String = client
                    .request(
                        "cairn_sendRawTransaction",
                        rpc_params![to_hex(tx.to_bytes())],
                    )
                    .await
                    .unwrap_or_else(|e| panic!("client {i} nonce {nonce} refused: {e}"));
                accepted.push(hash);
            }
            accepted
        }));
    }
    let mut accepted = Vec::new();
    for sender in senders {
        accepted.extend(within(60, "senders", sender).await.unwrap());
    }
    for hash in &accepted {
        let receipt = node.receipt(hash).await;
        assert_eq!(receipt["status"], "0x1", "{hash}: {receipt}");
    }
    let elapsed = started.elapsed();
    stop_reads.store(true, Ordering::Relaxed);
    let (reads, slowest) = within(30, "reader", reader).await.unwrap();
    assert!(reads > 0);
    assert!(
        slowest < Duration::from_secs(5),
        "a read took {slowest:?} under load"
    );
    assert_eq!(
        accepted.len(),
        CLIENTS * usize::try_from(TXS_PER_CLIENT).unwrap()
    );

    // Nothing lost: every nonce used, every increment counted.
    for i in 0..CLIENTS {
        let nonce: Value = node
            .call(
                "eth_getTransactionCount",
                vec![to_hex(node.key(i).address()).into(), "latest".into()],
            )
            .await;
        assert_eq!(quantity(&nonce), TXS_PER_CLIENT);
    }
    let output: String = node
        .call("eth_call", vec![serde_json::json!({"to": to_hex(predeploy_address("counter")), "data": to_hex(encode_call("get", &()))})])
        .await;
    let increments = CLIENTS as u64 * TXS_PER_CLIENT.div_ceil(3);
    assert_eq!(output, to_hex(increments.to_le_bytes()));
    assert_eq!(node.node().shared().lock_pool().len(), 0);
    eprintln!(
        "load: {} txs from {CLIENTS} clients in {elapsed:?} ({} blocks), {reads} reads, slowest read {slowest:?}",
        accepted.len(),
        node.block_number().await
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clean_shutdown_under_load_leaves_a_chain_that_replays() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::with(|config| {
        config.dev.accounts = 8;
        config.data_dir = Some(dir.path().to_path_buf());
    })
    .await;
    let mut senders = Vec::new();
    for i in 0..8 {
        let (key, chain_id, url) = (
            node.key(i),
            node.chain_id(),
            format!("http://{}", node.address),
        );
        senders.push(tokio::spawn(async move {
            let client = HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(10))
                .build(url)
                .unwrap();
            for nonce in 0..100_000 {
                let tx = load_tx(&key, chain_id, i, nonce);
                let sent: Result<String, _> = client
                    .request(
                        "cairn_sendRawTransaction",
                        rpc_params![to_hex(tx.to_bytes())],
                    )
                    .await;
                if sent.is_err() {
                    return nonce;
                }
            }
            100_000
        }));
    }
    let started = Instant::now();
    while node.block_number().await < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no blocks under load"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Shut down while the senders still send: the RPC stops first, the
    // block in flight commits whole, the database closes.
    node.shutdown().await;
    for sender in senders {
        within(30, "senders stop", sender).await.unwrap();
    }
    let store =
        RocksStore::open(dir.path(), StoreOptions::default()).expect("the data directory reopens");
    let report = replay(
        &store,
        MemoryStore::in_memory(),
        &ReplayOptions::default(),
        |_, _| {},
    )
    .unwrap();
    assert!(report.verified(), "{:?}", report.divergence);
    assert!(report.blocks >= 3);
}
