//! Garbage in: malformed JSON, wrong types, unknown methods, garbage raw
//! transactions, oversized bodies and batches. Each gets an error, and
//! nothing changes.

use cairn_chain::codec::to_hex;
use cairn_host_api::world::{Address, U256};
use serde_json::{Value, json};

use crate::support::{TestNode, eip1559_transfer, eth_sign, get, raw_post, transfer};

const METHODS: [&str; 33] = [
    "web3_clientVersion",
    "net_version",
    "net_listening",
    "eth_chainId",
    "eth_syncing",
    "eth_accounts",
    "eth_blockNumber",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_feeHistory",
    "eth_getBalance",
    "eth_getTransactionCount",
    "eth_getCode",
    "eth_call",
    "eth_estimateGas",
    "eth_sendRawTransaction",
    "eth_getTransactionByHash",
    "eth_getTransactionReceipt",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getLogs",
    "eth_subscribe",
    "eth_unsubscribe",
    "cairn_sendRawTransaction",
    "cairn_getTransactionReceipt",
    "cairn_traceTransaction",
    "cairn_call",
    "cairn_getProof",
    "cairn_getReplayBundle",
    "cairn_getCodeInfo",
    "cairn_getCommitCertificate",
    "eth_getStorageAt",
    "debug_traceTransaction",
];

/// Parameters from the garbage list that happen to be valid for a method.
/// The garbage that is valid input for a method: it must get a result.
fn is_valid(method: &str, params: &Value) -> bool {
    match method {
        // An empty filter: every log of the latest block.
        "eth_getLogs" => *params == json!([{}]),
        // Any byte string is a state key: this one's proof shows it absent.
        "cairn_getProof" => *params == json!(["0x".to_owned() + &"f".repeat(200)]),
        _ => false,
    }
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// An index below `len` (> 0).
    fn below(&mut self, len: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(len).unwrap()).unwrap()
    }

    fn fill(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next() & 0xff) as u8).collect()
    }
}

/// The node's state that garbage must not change.
async fn fingerprint(node: &TestNode) -> (u64, usize, Value) {
    let head: Value = node
        .call("eth_getBlockByNumber", vec!["latest".into(), false.into()])
        .await;
    (
        node.block_number().await,
        node.node().shared().lock_pool().len(),
        head["hash"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_gets_errors() {
    let node = TestNode::dev().await;
    let before = fingerprint(&node).await;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"garbage".to_vec(),
        b"{".to_vec(),
        b"{}".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"42".to_vec(),
        b"\"eth_chainId\"".to_vec(),
        b"{\"jsonrpc\":\"2.0\"}".to_vec(),
        b"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"eth_chainId\"}".to_vec(),
        b"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"eth_chainId\"}".to_vec(),
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}".to_vec(),
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":\"x\"}".to_vec(),
        "[".repeat(100_000).into_bytes(),
        vec![0xff, 0xfe, 0x00, 0x01],
        b"[1, 2, 3]".to_vec(),
    ];
    for body in &bodies {
        let (status, text) = raw_post(node.address, "application/json", body).await;
        assert!(
            status == 200 || status == 400,
            "{status} for {:?}",
            String::from_utf8_lossy(&body[..body.len().min(40)])
        );
        if status == 200 {
            if text == "null" {
                // It parsed as a notification (no usable id): JSON-RPC
                // answers none, and nothing ran.
                continue;
            }
            let value: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            let errors: Vec<&Value> = match &value {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            assert!(
                errors.iter().all(|v| v.get("error").is_some()),
                "{:?} -> {text}",
                String::from_utf8_lossy(&body[..body.len().min(40)])
            );
        }
    }
    let (status, _) = raw_post(
        node.address,
        "text/plain",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\"}",
    )
    .await;
    assert_eq!(status, 415, "JSON-RPC over HTTP needs application/json");
    let (status, _) = get(node.address, "/no-such-page").await;
    assert_ne!(status, 200);
    assert_eq!(fingerprint(&node).await, before);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_types_and_unknown_methods_get_errors() {
    let node = TestNode::dev().await;
    let before = fingerprint(&node).await;
    let garbage: Vec<Value> = vec![
        json!([null]),
        json!([1]),
        json!(["garbage"]),
        json!([{}]),
        json!([[]]),
        json!(["0x"]),
        json!(["0xzz"]),
        json!([-1, -1]),
        json!([true, true, true, true]),
        json!(["0x1", "0x1", "0x1", "0x1", "0x1"]),
        json!([{"from": 5, "to": [], "gas": "lots"}]),
        json!([{"fromBlock": {}, "toBlock": "soon"}]),
        json!(["0x".to_owned() + &"f".repeat(200)]),
        json!({"named": "params"}),
    ];
    // Every method the server registers is fed the garbage (the list also
    // holds methods it does not serve): a new method missing here fails.
    let module = cairn_node::rpc::rpc_module(cairn_node::rpc::RpcContext {
        shared: std::sync::Arc::clone(node.node().shared()),
        config: cairn_node::config::RpcConfig::default(),
    })
    .unwrap();
    let missing: Vec<&str> = module
        .method_names()
        .filter(|name| !METHODS.contains(name))
        .collect();
    assert!(missing.is_empty(), "the garbage list misses {missing:?}");
    drop(module);
    let mut unexpected = Vec::new();
    for method in METHODS {
        for params in &garbage {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
            let (status, text) = raw_post(
                node.address,
                "application/json",
                body.to_string().as_bytes(),
            )
            .await;
            assert_eq!(status, 200, "{method} {params}: {text}");
            let value: Value = serde_json::from_str(&text).unwrap();
            if is_valid(method, params) {
                assert!(value.get("result").is_some(), "{method} {params}: {text}");
                continue;
            }
            let Some(error) = value.get("error") else {
                unexpected.push(format!("{method} {params} answered {text}"));
                continue;
            };
            let code = error["code"].as_i64().unwrap();
            assert!(
                [-32602, -32601, -32000, 3].contains(&code),
                "{method} {params}: unexpected code in {text}"
            );
        }
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    let (code, message) = node
        .try_call::<Value>("eth_noSuchMethod", vec![])
        .await
        .unwrap_err();
    assert_eq!((code, message.as_str()), (-32601, "Method not found"));
    assert_eq!(fingerprint(&node).await, before);
    assert_eq!(get(node.address, "/health").await.0, 200);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_raw_transactions_change_nothing() {
    let node = TestNode::dev().await;
    let before = fingerprint(&node).await;
    let mut bytes = Bytes(0x9e37_79b9_7f4a_7c15);
    let valid = node
        .sign(0, 0, 1, transfer(Address::repeat_byte(1)), U256::one())
        .to_bytes();
    for round in 0..300 {
        let raw = match round % 3 {
            0 => {
                let len = (bytes.next() % 300) as usize;
                bytes.fill(len)
            }
            1 => {
                // A valid transaction with one byte changed: a bad
                // encoding, a bad signature or another (unfunded) sender.
                let mut raw = valid.clone();
                let at = bytes.below(raw.len());
                raw[at] ^= 1 + (bytes.next() % 255) as u8;
                raw
            }
            _ => {
                let mut raw = valid.clone();
                raw.truncate(bytes.below(raw.len()));
                raw
            }
        };
        for method in ["eth_sendRawTransaction", "cairn_sendRawTransaction"] {
            let result = node
                .try_call::<Value>(method, vec![to_hex(&raw).into()])
                .await;
            let (code, message) =
                result.expect_err(&format!("{method} accepted garbage {}", to_hex(&raw)));
            assert!(
                code == -32602 || code == -32000,
                "{method}: {code} {message}"
            );
        }
    }
    let huge = vec![0u8; 300 * 1024];
    let (code, _) = node
        .try_call::<Value>("cairn_sendRawTransaction", vec![to_hex(&huge).into()])
        .await
        .unwrap_err();
    assert_eq!(code, -32602);
    assert_eq!(fingerprint(&node).await, before);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold() {
    let node = TestNode::with(|config| {
        config.rpc.max_request_body_bytes = 64 * 1024;
        config.rpc.max_batch = 5;
        config.rpc.max_logs_block_range = 3;
        config.rpc.gas_cap = 3_000;
    })
    .await;
    let before = fingerprint(&node).await;
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": ["x".repeat(100_000)]});
    let (status, _) = raw_post(node.address, "application/json", big.to_string().as_bytes()).await;
    assert_eq!(status, 413);
    let call = |id: usize| json!({"jsonrpc": "2.0", "id": id, "method": "eth_chainId"});
    let batch: Vec<Value> = (0..5).map(call).collect();
    let (_, text) = raw_post(
        node.address,
        "application/json",
        Value::from(batch).to_string().as_bytes(),
    )
    .await;
    let answers: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(answers.len(), 5);
    assert!(answers.iter().all(|a| a["result"] == "0x7a69"));
    let batch: Vec<Value> = (0..6).map(call).collect();
    let (_, text) = raw_post(
        node.address,
        "application/json",
        Value::from(batch).to_string().as_bytes(),
    )
    .await;
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["error"]["code"], -32010, "{text}");

    let (code, message) = node
        .try_call::<Value>(
            "eth_getLogs",
            vec![json!({"fromBlock": "0x0", "toBlock": "0x3"})],
        )
        .await
        .unwrap_err();
    assert_eq!(code, -32000);
    assert!(message.contains("at most 3"), "{message}");
    let token = to_hex(cairn_node::dev::predeploy_address("token"));
    let data = to_hex(cairn_host_api::abi::encode_call(
        "transfer",
        &(Address::repeat_byte(1), U256::one()),
    ));
    let from = to_hex(node.key(0).address());
    let (code, message) = node
        .try_call::<Value>(
            "eth_estimateGas",
            vec![json!({"from": from, "to": token, "data": data, "gas": "0xffffffffff"})],
        )
        .await
        .unwrap_err();
    assert_eq!(code, -32000);
    assert!(
        message.starts_with("gas required exceeds allowance"),
        "{message}"
    );
    let (code, message) = node
        .try_call::<Value>(
            "eth_call",
            vec![json!({"from": from, "to": token, "data": data, "gas": "0xffffffffff"})],
        )
        .await
        .unwrap_err();
    assert_eq!(
        (code, message.as_str()),
        (-32000, "out of gas"),
        "the cap bounds eth_call"
    );
    assert_eq!(fingerprint(&node).await, before);
    node.shutdown().await;
}

/// Ethereum raw transactions gone wrong: a valid EIP-1559 transfer with a
/// byte flipped or cut, a signature made high-s or out of range, the wrong
/// chain id, types Cairn does not take, a pre-EIP-155 legacy tx. Each is
/// refused with -32602 (undecodable or not acceptable) or -32000 (an
/// admission refusal: a flipped signature byte recovers another, unfunded
/// sender), and nothing changes. Then the untouched transaction still goes
/// in: nothing was half-admitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_ethereum_transactions_change_nothing() {
    use alloy_consensus::{SignableTransaction, TxEip2930, TxLegacy};
    let node = TestNode::dev().await;
    let before = fingerprint(&node).await;
    let chain_id = node.chain_id();
    let key = node.key(0);
    let to = Address::repeat_byte(7);
    let valid = eth_sign(eip1559_transfer(chain_id, 0, to, 5, 1), &key);
    let mut bytes = Bytes(0x2545_f491_4f6c_dd1d);
    let mut refused = Vec::new();
    for round in 0..300 {
        let mut raw = valid.clone();
        if round % 2 == 0 {
            let at = bytes.below(raw.len());
            raw[at] ^= 1 + (bytes.next() % 255) as u8;
        } else {
            raw.truncate(bytes.below(raw.len()));
        }
        refused.push(raw);
    }
    // The signature's s made high (n - s): the same signer, but Ethereum
    // (and Cairn) take low-s only.
    {
        use alloy_eips::eip2718::{Decodable2718, Encodable2718};
        let envelope = alloy_consensus::TxEnvelope::decode_2718_exact(&valid).unwrap();
        let alloy_consensus::TxEnvelope::Eip1559(signed) = envelope else {
            unreachable!()
        };
        let sig = *signed.signature();
        let n = alloy_primitives::U256::from_str_radix(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
            16,
        )
        .unwrap();
        let high = alloy_primitives::Signature::new(sig.r(), n - sig.s(), !sig.v());
        let forged = alloy_consensus::TxEnvelope::from(signed.tx().clone().into_signed(high));
        refused.push(forged.encoded_2718());
        let zero = alloy_primitives::Signature::new(
            alloy_primitives::U256::ZERO,
            alloy_primitives::U256::ZERO,
            false,
        );
        let forged = alloy_consensus::TxEnvelope::from(signed.tx().clone().into_signed(zero));
        refused.push(forged.encoded_2718());
    }
    refused.push(eth_sign(eip1559_transfer(chain_id + 1, 0, to, 5, 1), &key));
    refused.push(eth_sign(
        TxEip2930 {
            chain_id,
            nonce: 0,
            gas_price: 1,
            gas_limit: 21_000,
            to: alloy_primitives::TxKind::Call(alloy_primitives::Address::repeat_byte(7)),
            value: alloy_primitives::U256::from(5),
            access_list: Default::default(),
            input: Default::default(),
        },
        &key,
    ));
    refused.push(eth_sign(
        TxLegacy {
            chain_id: None,
            nonce: 0,
            gas_price: 1,
            gas_limit: 21_000,
            to: alloy_primitives::TxKind::Call(alloy_primitives::Address::repeat_byte(7)),
            value: alloy_primitives::U256::from(5),
            input: Default::default(),
        },
        &key,
    ));
    refused.push(vec![0x03]);
    refused.push(vec![0x04, 0xc0]);
    refused.push(vec![0x7f; 64]);
    refused.push(vec![]);
    for raw in &refused {
        if *raw == valid {
            continue;
        }
        let (code, message) = node
            .try_call::<Value>("eth_sendRawTransaction", vec![to_hex(raw).into()])
            .await
            .expect_err(&format!("accepted garbage {}", to_hex(raw)));
        assert!(
            code == -32602 || code == -32000,
            "{code} {message} for {}",
            to_hex(raw)
        );
        assert!(!message.is_empty());
    }
    // The wrong chain id and the unsupported type say so.
    let (_, message) = node
        .try_call::<Value>(
            "eth_sendRawTransaction",
            vec![to_hex(eth_sign(eip1559_transfer(chain_id + 1, 0, to, 5, 1), &key)).into()],
        )
        .await
        .unwrap_err();
    assert!(message.contains("chain id"), "{message}");
    assert_eq!(fingerprint(&node).await, before);
    assert_eq!(get(node.address, "/health").await.0, 200);

    // The untouched transaction is admitted and included.
    let hash: String = node
        .call("eth_sendRawTransaction", vec![to_hex(&valid).into()])
        .await;
    let receipt = node.receipt(&hash).await;
    assert_eq!(receipt["status"], "0x1");
    let balance: String = node
        .call("eth_getBalance", vec![to_hex(to).into(), "latest".into()])
        .await;
    assert_eq!(balance, "0x5");
    node.shutdown().await;
}
