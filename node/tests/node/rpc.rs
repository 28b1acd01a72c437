//! The Ethereum and `cairn_` methods against a dev node.

use cairn_chain::TxAction;
use cairn_chain::codec::{parse_hex, to_hex};
use cairn_chain::keys::keccak256;
use cairn_host_api::abi::{encode_call, event_signature};
use cairn_host_api::world::{Address, U256};
use cairn_node::dev::{DEV_BALANCE_WEI, DEV_CHAIN_ID, predeploy_address};
use cairn_state::{Proof, StateRoot, verify};
use serde_json::{Value, json};

use crate::support::{TestNode, get, quantity, transfer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_facts_and_dev_balances() {
    let node = TestNode::dev().await;
    let chain_id: String = node.call("eth_chainId", vec![]).await;
    assert_eq!(chain_id, format!("0x{DEV_CHAIN_ID:x}"));
    let version: String = node.call("net_version", vec![]).await;
    assert_eq!(version, DEV_CHAIN_ID.to_string());
    let client: String = node.call("web3_clientVersion", vec![]).await;
    assert!(client.starts_with("cairn/v"), "{client}");
    assert_eq!(node.block_number().await, 0);
    let account0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    let balance: String = node
        .call("eth_getBalance", vec![account0.into(), "latest".into()])
        .await;
    assert_eq!(balance, format!("0x{DEV_BALANCE_WEI:x}"));
    let price: String = node.call("eth_gasPrice", vec![]).await;
    assert_eq!(price, "0x1");
    let tip: String = node.call("eth_maxPriorityFeePerGas", vec![]).await;
    assert_eq!(tip, "0x1");
    let genesis: Value = node
        .call(
            "eth_getBlockByNumber",
            vec!["earliest".into(), false.into()],
        )
        .await;
    assert_eq!(
        genesis["baseFeePerGas"], "0x0",
        "viem picks EIP-1559 only with a base fee"
    );
    let code: String = node
        .call(
            "eth_getCode",
            vec![to_hex(predeploy_address("token")).into(), "latest".into()],
        )
        .await;
    assert!(
        code.starts_with("0x0061736d"),
        "the token's Wasm: {}",
        &code[..20]
    );
    let info: Value = node
        .call(
            "cairn_getCodeInfo",
            vec![to_hex(predeploy_address("token")).into()],
        )
        .await;
    assert_eq!(info["status"], "accepted");
    assert!(
        info["exports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "call")
    );
    let none: Value = node.call("cairn_getCodeInfo", vec![account0.into()]).await;
    assert!(none.is_null());
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_receipts_blocks_and_logs() {
    let node = TestNode::dev().await;
    let bob = Address::repeat_byte(0xb0);
    let tx = node.sign(0, 0, 1, transfer(bob), U256::from(1234u64));
    let hash = node.send(&tx).await.unwrap();
    assert_eq!(hash, to_hex(tx.hash()));
    let receipt = node.receipt(&hash).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["gasUsed"], "0x5208", "a plain transfer costs 21000");
    assert_eq!(
        receipt["from"],
        "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    );
    let balance: String = node.call("eth_getBalance", vec![to_hex(bob).into()]).await;
    assert_eq!(balance, "0x4d2");
    let count: String = node
        .call(
            "eth_getTransactionCount",
            vec![to_hex(node.key(0).address()).into(), "latest".into()],
        )
        .await;
    assert_eq!(count, "0x1");

    // A token transfer: a log with the Transfer topic, found by eth_getLogs.
    let token = predeploy_address("token");
    let data = encode_call("transfer", &(bob, U256::from(77u64)));
    let tx = node.sign(0, 1, 1, TxAction::Call { to: token, data }, U256::zero());
    let hash = node.send(&tx).await.unwrap();
    let receipt = node.receipt(&hash).await;
    assert_eq!(receipt["status"], "0x1");
    let logs = receipt["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1);
    let topic0 = to_hex(event_signature("Transfer"));
    assert_eq!(logs[0]["topics"][0], topic0.as_str());
    assert_eq!(logs[0]["address"], to_hex(token).as_str());
    let block_number = quantity(&receipt["blockNumber"]);

    let found: Vec<Value> = node
        .call("eth_getLogs", vec![json!({"fromBlock": "0x0", "toBlock": "latest", "address": to_hex(token), "topics": [topic0]})])
        .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["transactionHash"], hash.as_str());
    let other_topic = to_hex(event_signature("Approval"));
    let none: Vec<Value> = node
        .call(
            "eth_getLogs",
            vec![json!({"fromBlock": "0x0", "topics": [other_topic]})],
        )
        .await;
    assert!(none.is_empty());
    let by_hash: Vec<Value> = node
        .call(
            "eth_getLogs",
            vec![json!({"blockHash": receipt["blockHash"], "topics": [[topic0, other_topic]]})],
        )
        .await;
    assert_eq!(by_hash.len(), 1, "OR of topics");

    // The token balance through eth_call.
    let call = json!({"to": to_hex(token), "data": to_hex(encode_call("balance_of", &bob))});
    let output: String = node
        .call("eth_call", vec![call.clone(), "latest".into()])
        .await;
    use parity_scale_codec::Decode;
    let amount = U256::decode(&mut parse_hex(&output).unwrap().as_slice()).unwrap();
    assert_eq!(amount, U256::from(77u64));
    let before: String = node
        .call("eth_call", vec![call, json!({"blockNumber": "0x1"})])
        .await;
    assert_ne!(before, output, "a block parameter reads an older state");

    // Blocks by number and hash, with and without full transactions.
    let block: Value = node
        .call(
            "eth_getBlockByNumber",
            vec![format!("0x{block_number:x}").into(), true.into()],
        )
        .await;
    assert_eq!(block["transactions"][0]["hash"], hash.as_str());
    assert_eq!(block["transactions"][0]["from"], receipt["from"]);
    let same: Value = node
        .call(
            "eth_getBlockByHash",
            vec![block["hash"].clone(), false.into()],
        )
        .await;
    assert_eq!(same["transactions"][0], hash.as_str());
    assert_eq!(same["stateRoot"], block["stateRoot"]);
    let missing: Value = node
        .call("eth_getBlockByNumber", vec!["0x999".into(), false.into()])
        .await;
    assert!(missing.is_null());
    let missing: Value = node
        .call(
            "eth_getBlockByHash",
            vec![to_hex(keccak256(b"no such block")).into(), false.into()],
        )
        .await;
    assert!(missing.is_null());
    let tx_view: Value = node
        .call("eth_getTransactionByHash", vec![hash.clone().into()])
        .await;
    assert_eq!(tx_view["blockNumber"], receipt["blockNumber"]);
    let unknown: Value = node
        .call(
            "eth_getTransactionReceipt",
            vec![to_hex(keccak256(b"nothing")).into()],
        )
        .await;
    assert!(unknown.is_null());

    let history: Value = node
        .call(
            "eth_feeHistory",
            vec!["0x2".into(), "latest".into(), json!([25.0, 75.0])],
        )
        .await;
    assert_eq!(history["baseFeePerGas"].as_array().unwrap().len(), 3);
    assert_eq!(history["reward"][1], json!(["0x1", "0x1"]));
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_estimates_and_reverts() {
    let node = TestNode::dev().await;
    let token = predeploy_address("token");
    let from = to_hex(node.key(1).address());
    // Account 1 holds no tokens: the transfer reverts with a reason.
    let data = to_hex(encode_call(
        "transfer",
        &(Address::repeat_byte(1), U256::from(5u64)),
    ));
    let (code, message) = node
        .try_call::<Value>(
            "eth_call",
            vec![json!({"from": from, "to": to_hex(token), "data": data})],
        )
        .await
        .unwrap_err();
    assert_eq!(code, 3);
    assert_eq!(message, "execution reverted: insufficient balance");
    let (code, _) = node
        .try_call::<Value>(
            "eth_estimateGas",
            vec![json!({"from": from, "to": to_hex(token), "data": data})],
        )
        .await
        .unwrap_err();
    assert_eq!(code, 3);

    // An estimate is enough gas, and the lowest that is.
    let from0 = to_hex(node.key(0).address());
    let data = encode_call("transfer", &(Address::repeat_byte(1), U256::from(5u64)));
    let request = json!({"from": from0, "to": to_hex(token), "data": to_hex(&data)});
    let estimate = quantity(
        &node
            .call::<Value>("eth_estimateGas", vec![request.clone()])
            .await,
    );
    let at = |gas: u64| {
        let mut r = request.clone();
        r["gas"] = format!("0x{gas:x}").into();
        r
    };
    node.call::<String>("eth_call", vec![at(estimate)]).await;
    assert!(
        node.try_call::<String>("eth_call", vec![at(estimate - 1)])
            .await
            .is_err()
    );
    let plain = quantity(
        &node
            .call::<Value>(
                "eth_estimateGas",
                vec![json!({"from": from0, "to": to_hex(Address::repeat_byte(7)), "value": "0x1"})],
            )
            .await,
    );
    assert_eq!(plain, 21_000);

    // The estimate suffices on chain; a failed transaction is a receipt
    // with status 0, and its trace says why.
    let tx = cairn_chain::Transaction {
        chain_id: node.chain_id(),
        nonce: 0,
        gas_limit: estimate,
        gas_price: 1,
        value: U256::zero(),
        action: TxAction::Call { to: token, data },
    }
    .sign(&node.key(0));
    let receipt = node.receipt(&node.send(&tx).await.unwrap()).await;
    assert_eq!(receipt["status"], "0x1");
    let bad = node.sign(
        1,
        0,
        1,
        TxAction::Call {
            to: token,
            data: parse_hex(&to_hex(encode_call(
                "transfer",
                &(Address::repeat_byte(1), U256::from(5u64)),
            )))
            .unwrap(),
        },
        U256::zero(),
    );
    let hash = node.send(&bad).await.unwrap();
    let receipt = node.receipt(&hash).await;
    assert_eq!(receipt["status"], "0x0");
    let trace: Value = node
        .call("cairn_traceTransaction", vec![hash.clone().into()])
        .await;
    assert_eq!(trace["matches_receipt"], true);
    assert_eq!(trace["outcome"]["status"], "revert");
    assert_eq!(
        trace["outcome"]["error"]["message"],
        "reverted: insufficient balance"
    );
    let native: Value = node
        .call("cairn_getTransactionReceipt", vec![hash.into()])
        .await;
    assert_eq!(native["receipt"]["status"], "revert");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_bundles_and_health() {
    let node = TestNode::dev().await;
    let tx = node.sign(0, 0, 1, transfer(Address::repeat_byte(9)), U256::from(5u8));
    node.receipt(&node.send(&tx).await.unwrap()).await;
    let key = cairn_chain::world::account_key(&node.key(0).address());
    let view: Value = node
        .call("cairn_getProof", vec![to_hex(&key).into(), "latest".into()])
        .await;
    let block: Value = node
        .call("eth_getBlockByNumber", vec!["latest".into(), false.into()])
        .await;
    assert_eq!(
        view["root"], block["stateRoot"],
        "proven against the block's state root"
    );
    let root = StateRoot::from_hex(view["root"].as_str().unwrap()).unwrap();
    let proof = Proof::from_bytes(&parse_hex(view["proof"].as_str().unwrap()).unwrap()).unwrap();
    let value = parse_hex(view["value"].as_str().unwrap()).unwrap();
    verify(&root, &key, Some(&value), &proof).expect("the proof verifies offline");

    let bundle: Value = node
        .call("cairn_getReplayBundle", vec!["latest".into()])
        .await;
    let bytes = parse_hex(bundle["bundle"].as_str().unwrap()).unwrap();
    let bundle = cairn_chain::ReplayBundle::from_bytes(&bytes).unwrap();
    let executor =
        cairn_engine::runtime::Executor::new(cairn_engine::runtime::ExecConfig::default());
    cairn_chain::verify_bundle(&bundle, &executor).expect("the bundle verifies offline");
    let (code, _) = node
        .try_call::<Value>("cairn_getReplayBundle", vec!["earliest".into()])
        .await
        .unwrap_err();
    assert_eq!(code, -32000);

    let (status, body) = get(node.address, "/health").await;
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["head"], 1);
    let (status, metrics) = get(node.address, "/metrics").await;
    assert_eq!(status, 200);
    for name in [
        "cairn_blocks_total 1",
        "cairn_txs_total 1",
        "cairn_gas_used_total 21000",
        "cairn_head_block 1",
        "cairn_mempool_txs 0",
        "cairn_block_execution_seconds_count 1",
        "cairn_block_commit_seconds_count 1",
        "cairn_rpc_requests_total{method=\"cairn_getProof\",outcome=\"ok\"} 1",
        "cairn_rpc_request_seconds_count{method=\"cairn_getReplayBundle\"} 2",
        "cairn_block_gas_per_second",
    ] {
        assert!(metrics.contains(name), "{name} missing from\n{metrics}");
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_at_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::with(|c| c.data_dir = Some(dir.path().to_path_buf())).await;
    let tx = node.sign(0, 0, 1, transfer(Address::repeat_byte(9)), U256::from(5u8));
    node.receipt(&node.send(&tx).await.unwrap()).await;
    let head: Value = node
        .call("eth_getBlockByNumber", vec!["latest".into(), false.into()])
        .await;
    node.shutdown().await;
    let node = TestNode::with(|c| c.data_dir = Some(dir.path().to_path_buf())).await;
    let again: Value = node
        .call("eth_getBlockByNumber", vec!["latest".into(), false.into()])
        .await;
    assert_eq!(again["hash"], head["hash"]);
    let tx = node.sign(0, 1, 1, transfer(Address::repeat_byte(9)), U256::from(5u8));
    let receipt = node.receipt(&node.send(&tx).await.unwrap()).await;
    assert_eq!(quantity(&receipt["blockNumber"]), 2);
    node.shutdown().await;
}

/// Ethereum transactions through `eth_sendRawTransaction`: a legacy
/// EIP-155 transfer and an EIP-1559 deploy (data = SCALE (code, input)),
/// shown in Ethereum's shapes with Ethereum's hash, type and fields; the
/// deployed counter answers `eth_call`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_transactions_in_ethereum_shapes() {
    use alloy_consensus::{TxEip1559, TxLegacy};
    use alloy_primitives::TxKind;
    use parity_scale_codec::Encode;

    let node = TestNode::dev().await;
    let chain_id = node.chain_id();
    let key = node.key(3);
    let to = Address::repeat_byte(0x42);
    let legacy = crate::support::eth_sign(
        TxLegacy {
            chain_id: Some(chain_id),
            nonce: 0,
            gas_price: 2,
            gas_limit: 21_000,
            to: TxKind::Call(alloy_primitives::Address::from_slice(to.as_bytes())),
            value: alloy_primitives::U256::from(77u64),
            input: Default::default(),
        },
        &key,
    );
    let hash: String = node
        .call("eth_sendRawTransaction", vec![to_hex(&legacy).into()])
        .await;
    assert_eq!(hash, to_hex(keccak256(&legacy)), "Ethereum's tx hash");
    let receipt = node.receipt(&hash).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["type"], "0x0");
    assert_eq!(quantity(&receipt["gasUsed"]), 21_000);
    assert_eq!(quantity(&receipt["effectiveGasPrice"]), 2);
    assert_eq!(receipt["from"], to_hex(key.address()));
    let tx: Value = node
        .call("eth_getTransactionByHash", vec![hash.clone().into()])
        .await;
    assert_eq!(tx["type"], "0x0");
    assert_eq!(quantity(&tx["chainId"]), chain_id);
    assert_eq!(quantity(&tx["gasPrice"]), 2);
    assert_eq!(tx["to"], to_hex(to));
    assert_eq!(quantity(&tx["value"]), 77);
    let balance: String = node
        .call("eth_getBalance", vec![to_hex(to).into(), "latest".into()])
        .await;
    assert_eq!(balance, "0x4d");

    // An EIP-1559 deploy of the counter, starting at 41.
    let code = cairn_node::dev::example("counter").unwrap().code.to_vec();
    let data = (code.clone(), 41u64.encode()).encode();
    let deploy = crate::support::eth_sign(
        TxEip1559 {
            chain_id,
            nonce: 1,
            gas_limit: 50_000_000,
            max_fee_per_gas: 3,
            max_priority_fee_per_gas: 1,
            to: TxKind::Create,
            value: alloy_primitives::U256::ZERO,
            access_list: Default::default(),
            input: data.clone().into(),
        },
        &key,
    );
    let pending: String = node
        .call(
            "eth_getTransactionCount",
            vec![to_hex(key.address()).into(), "pending".into()],
        )
        .await;
    assert_eq!(pending, "0x1");
    let hash: String = node
        .call("eth_sendRawTransaction", vec![to_hex(&deploy).into()])
        .await;
    let receipt = node.receipt(&hash).await;
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(receipt["type"], "0x2");
    assert_eq!(
        quantity(&receipt["effectiveGasPrice"]),
        1,
        "min(max fee, tip) with no base fee"
    );
    let address = receipt["contractAddress"].as_str().unwrap().to_owned();
    assert_eq!(
        address,
        to_hex(cairn_chain::tx::contract_address(&key.address(), 1)),
        "Cairn's address rule"
    );
    let tx: Value = node
        .call("eth_getTransactionByHash", vec![hash.into()])
        .await;
    assert_eq!(tx["type"], "0x2");
    assert!(tx["to"].is_null());
    assert_eq!(tx["input"], to_hex(&data));
    let stored: String = node
        .call("eth_getCode", vec![address.clone().into(), "latest".into()])
        .await;
    assert_eq!(stored, to_hex(&code));
    let block: Value = node
        .call("eth_getBlockByNumber", vec!["latest".into(), true.into()])
        .await;
    assert_eq!(block["baseFeePerGas"], "0x0");
    assert_eq!(block["transactions"][0]["type"], "0x2");
    let value: String = node
        .call(
            "eth_call",
            vec![
                json!({"to": address, "data": to_hex(encode_call("get", &()))}),
                "latest".into(),
            ],
        )
        .await;
    assert_eq!(value, to_hex(41u64.encode()));
    node.shutdown().await;
}

/// An `eth_call` that halts: a dev node runs it again traced, so the error
/// data names the function and carries the backtrace and the exact counter;
/// with `rpc.trace_failed_calls = false` the same call gives neither, and no
/// counter unless a host function was in progress. Status, gas and (out of
/// gas) the message are the same either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halted_calls_are_traced_on_a_dev_node() {
    use crate::support::raw_post;
    let token = to_hex(predeploy_address("token"));
    let data = to_hex(encode_call(
        "transfer",
        &(Address::repeat_byte(1), U256::one()),
    ));
    let error_of = |node: &TestNode, gas: u64| {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [
            {"from": to_hex(node.key(0).address()), "to": token, "data": data, "gas": format!("0x{gas:x}")},
            "latest"
        ]});
        let address = node.address;
        async move {
            let (status, text) =
                raw_post(address, "application/json", request.to_string().as_bytes()).await;
            assert_eq!(status, 200, "{text}");
            let answer: Value = serde_json::from_str(&text).unwrap();
            answer["error"].clone()
        }
    };

    let node = TestNode::dev().await;
    let needed = quantity(
        &node
            .call::<Value>(
                "eth_estimateGas",
                vec![json!({"from": to_hex(node.key(0).address()), "to": token, "data": data})],
            )
            .await,
    );
    let traced = error_of(&node, needed - 1).await;
    node.shutdown().await;
    assert_eq!(traced["code"], -32000, "{traced}");
    assert_eq!(traced["message"], "out of gas", "{traced}");
    let traced = &traced["data"];
    assert_eq!(traced["kind"], "out_of_gas", "{traced}");
    assert!(traced["function"].is_string(), "{traced}");
    assert!(
        traced["backtrace"]
            .as_array()
            .is_some_and(|b| !b.is_empty()),
        "{traced}"
    );
    // One unit short: the counter went below zero by what the last charge
    // overran, exactly.
    let left = traced["gas_left"].as_i64().expect("an exact counter");
    assert!(left < 0, "{traced}");

    let node = TestNode::with(|config| config.rpc.trace_failed_calls = Some(false)).await;
    let plain = error_of(&node, needed - 1).await;
    node.shutdown().await;
    assert_eq!(plain["message"], "out of gas", "{plain}");
    let plain = &plain["data"];
    assert_eq!(plain["kind"], "out_of_gas", "{plain}");
    assert!(plain.get("function").is_none(), "{plain}");
    assert!(plain.get("backtrace").is_none(), "{plain}");
    assert_eq!(
        plain.get("gas_left").is_some(),
        plain.get("host_function").is_some(),
        "{plain}"
    );
    assert_eq!(plain["host_function"], traced["host_function"]);
}
