//! `eth_subscribe` over WebSocket: newHeads and logs with a filter.

use std::time::Duration;

use cairn_chain::TxAction;
use cairn_chain::codec::to_hex;
use cairn_host_api::abi::{encode_call, event_signature};
use cairn_host_api::world::{Address, U256};
use cairn_node::dev::predeploy_address;
use jsonrpsee_core::client::{Subscription, SubscriptionClientT};
use jsonrpsee_core::rpc_params;
use jsonrpsee_ws_client::WsClientBuilder;
use serde_json::{Value, json};

use crate::support::{TestNode, quantity, transfer, within};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_heads_and_filtered_logs() {
    let node = TestNode::dev().await;
    let ws = within(
        10,
        "ws connect",
        WsClientBuilder::default().build(format!("ws://{}", node.address)),
    )
    .await
    .unwrap();
    let mut heads: Subscription<Value> = within(
        10,
        "subscribe",
        ws.subscribe("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe"),
    )
    .await
    .unwrap();
    let token = predeploy_address("token");
    let mut logs: Subscription<Value> = within(
        10,
        "subscribe logs",
        ws.subscribe(
            "eth_subscribe",
            rpc_params![
                "logs",
                json!({"address": to_hex(token), "topics": [to_hex(event_signature("Transfer"))]})
            ],
            "eth_unsubscribe",
        ),
    )
    .await
    .unwrap();
    let bad = ws
        .subscribe::<Value, _>(
            "eth_subscribe",
            rpc_params!["newPendingGarbage"],
            "eth_unsubscribe",
        )
        .await;
    assert!(bad.is_err(), "unknown subscriptions are refused");

    // A plain transfer: a head, no log. Then a token transfer: a head and a log.
    let tx = node.sign(0, 0, 1, transfer(Address::repeat_byte(1)), U256::one());
    node.send(&tx).await.unwrap();
    let head = within(10, "head 1", heads.next()).await.unwrap().unwrap();
    assert_eq!(quantity(&head["number"]), 1);
    assert_eq!(head["baseFeePerGas"], "0x0");
    let data = encode_call("transfer", &(Address::repeat_byte(2), U256::from(3u8)));
    let tx = node.sign(0, 1, 1, TxAction::Call { to: token, data }, U256::zero());
    let hash = node.send(&tx).await.unwrap();
    let head = within(10, "head 2", heads.next()).await.unwrap().unwrap();
    assert_eq!(quantity(&head["number"]), 2);
    let log = within(10, "log", logs.next()).await.unwrap().unwrap();
    assert_eq!(log["transactionHash"], hash.as_str());
    assert_eq!(quantity(&log["blockNumber"]), 2);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), logs.next())
            .await
            .is_err(),
        "exactly one matching log"
    );
    heads.unsubscribe().await.unwrap();
    logs.unsubscribe().await.unwrap();
    drop(ws);
    node.shutdown().await;
}
