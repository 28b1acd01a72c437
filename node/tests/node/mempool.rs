//! The mempool through JSON-RPC. A node whose block time is an hour never
//! produces a block during these tests, so what waits stays waiting.

use std::time::{Duration, Instant};

use cairn_chain::codec::to_hex;
use cairn_chain::{Transaction, TxAction};
use cairn_host_api::world::{Address, U256};
use cairn_node::dev::DEV_BALANCE_WEI;
use serde_json::Value;

use crate::support::{TestNode, quantity, transfer};

/// A change made to a valid transaction before it is submitted.
type Tweak = Box<dyn Fn(&mut Transaction)>;

fn paused() -> impl FnOnce(&mut cairn_node::config::NodeConfig) {
    |config| config.block.time = 3600.0
}

async fn pending_nonce(node: &TestNode, from: usize) -> u64 {
    let address = to_hex(node.key(from).address());
    quantity(
        &node
            .call::<Value>(
                "eth_getTransactionCount",
                vec![address.into(), "pending".into()],
            )
            .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonce_order_queue_replacement_and_views() {
    let node = TestNode::with(paused()).await;
    let bob = Address::repeat_byte(0xb0);
    let first = node.sign(0, 0, 10, transfer(bob), U256::from(1u8));
    let first_hash = node.send(&first).await.unwrap();
    assert_eq!(pending_nonce(&node, 0).await, 1);
    let latest: Value = node
        .call(
            "eth_getTransactionCount",
            vec![to_hex(node.key(0).address()).into(), "latest".into()],
        )
        .await;
    assert_eq!(latest, "0x0");
    assert_eq!(
        node.send(&first).await.unwrap_err(),
        (-32000, "already known".into())
    );

    // Replacement: only at least 10% more.
    let cheap = node.sign(0, 0, 10, transfer(bob), U256::from(2u8));
    assert_eq!(
        node.send(&cheap).await.unwrap_err(),
        (-32000, "replacement transaction underpriced".into())
    );
    let better = node.sign(0, 0, 11, transfer(bob), U256::from(2u8));
    let better_hash = node.send(&better).await.unwrap();
    let gone: Value = node
        .call("eth_getTransactionByHash", vec![first_hash.into()])
        .await;
    assert!(gone.is_null(), "the replaced transaction left the pool");
    let pooled: Value = node
        .call("eth_getTransactionByHash", vec![better_hash.into()])
        .await;
    assert!(pooled["blockNumber"].is_null(), "pending: no block yet");
    assert_eq!(pooled["from"], to_hex(node.key(0).address()).as_str());

    // A future nonce waits in the queue until the gap fills.
    node.send(&node.sign(0, 2, 10, transfer(bob), U256::from(1u8)))
        .await
        .unwrap();
    assert_eq!(pending_nonce(&node, 0).await, 1);
    node.send(&node.sign(0, 1, 10, transfer(bob), U256::from(1u8)))
        .await
        .unwrap();
    assert_eq!(pending_nonce(&node, 0).await, 3);
    let (code, message) = node
        .send(&node.sign(0, 5000, 10, transfer(bob), U256::from(1u8)))
        .await
        .unwrap_err();
    assert_eq!(code, -32000);
    assert!(message.starts_with("nonce too high"), "{message}");

    // The pending balance counts what the pooled transactions may cost.
    let pending: Value = node
        .call(
            "eth_getBalance",
            vec![to_hex(node.key(0).address()).into(), "pending".into()],
        )
        .await;
    let cost = 1_000_000u128 * 11 + 2 + 2 * (1_000_000 * 10 + 1);
    assert_eq!(pending, format!("0x{:x}", DEV_BALANCE_WEI - cost).as_str());
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_use_the_messages_clients_parse() {
    let node = TestNode::with(paused()).await;
    let bob = Address::repeat_byte(0xb0);
    let chain_id = node.chain_id();
    let sign = |f: &dyn Fn(&mut Transaction)| {
        let mut tx = Transaction {
            chain_id,
            nonce: 0,
            gas_limit: 100_000,
            gas_price: 1,
            value: U256::zero(),
            action: transfer(bob),
        };
        f(&mut tx);
        tx.sign(&node.key(3))
    };
    let cases: Vec<(Tweak, &str)> = vec![
        (
            Box::new(|tx| tx.value = U256::from(DEV_BALANCE_WEI)),
            "insufficient funds for gas * price + value: balance",
        ),
        (
            Box::new(|tx| tx.gas_limit = 100),
            "intrinsic gas too low: gas 100, minimum needed 21000",
        ),
        (
            Box::new(|tx| tx.gas_limit = u64::MAX),
            "exceeds block gas limit",
        ),
        (
            Box::new(|tx| tx.chain_id = 1),
            "invalid chain id for signer: have 1 want 31337",
        ),
    ];
    for (change, expected) in cases {
        let (code, message) = node.send(&sign(&*change)).await.unwrap_err();
        assert_eq!(code, -32000, "{message}");
        assert!(
            message.starts_with(expected),
            "{message} should start with {expected}"
        );
    }
    let pool = node.node().shared().lock_pool().len();
    assert_eq!(pool, 0, "refused transactions change nothing");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_evicts_the_cheapest() {
    let node = TestNode::with(|config| {
        config.block.time = 3600.0;
        config.txpool.max_txs = 4;
    })
    .await;
    let bob = Address::repeat_byte(0xb0);
    for from in 0..4 {
        node.send(&node.sign(from, 0, 2, transfer(bob), U256::one()))
            .await
            .unwrap();
    }
    let refused = node
        .send(&node.sign(4, 0, 2, transfer(bob), U256::one()))
        .await
        .unwrap_err();
    assert_eq!(refused, (-32000, "txpool is full".into()));
    node.send(&node.sign(4, 0, 3, transfer(bob), U256::one()))
        .await
        .unwrap();
    assert_eq!(node.node().shared().lock_pool().len(), 4);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_nonces_are_refused_after_inclusion() {
    let node = TestNode::dev().await;
    let tx = node.sign(0, 0, 1, transfer(Address::repeat_byte(1)), U256::one());
    node.receipt(&node.send(&tx).await.unwrap()).await;
    let again = node.sign(0, 0, 2, transfer(Address::repeat_byte(2)), U256::one());
    assert_eq!(
        node.send(&again).await.unwrap_err(),
        (-32000, "nonce too low: next nonce 1, tx nonce 0".into())
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_blocks_come_without_transactions() {
    let node = TestNode::with(|config| config.block.time = 0.3).await;
    let started = Instant::now();
    while node.block_number().await < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "interval blocks stalled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tx = node.sign(0, 0, 1, transfer(Address::repeat_byte(1)), U256::one());
    let receipt = node.receipt(&node.send(&tx).await.unwrap()).await;
    assert_eq!(receipt["status"], "0x1");
    let deploy = node.sign(
        1,
        0,
        1,
        TxAction::Deploy {
            code: cairn_node::dev::example("counter").unwrap().code.to_vec(),
            data: 7u64.to_le_bytes().to_vec(),
        },
        U256::zero(),
    );
    let receipt = node.receipt(&node.send(&deploy).await.unwrap()).await;
    assert_eq!(receipt["status"], "0x1");
    assert!(receipt["to"].is_null());
    let address = receipt["contractAddress"].clone();
    let code: String = node
        .call("eth_getCode", vec![address, "latest".into()])
        .await;
    assert!(code.len() > 100);
    node.shutdown().await;
}
