//! A dev node in this process on a free loopback port, clients of it, and
//! signing helpers. Every wait is bounded.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use cairn_chain::codec::to_hex;
use cairn_chain::keys::SigningKey;
use cairn_chain::{SignedTransaction, Transaction, TxAction};
use cairn_host_api::world::{Address, U256};
use cairn_node::RunningNode;
use cairn_node::config::NodeConfig;
use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::params::ArrayParams;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Bounds every wait of these tests.
pub(crate) async fn within<T>(seconds: u64, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(seconds), future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {seconds} s: {what}"))
}

/// A dev node with its own temporary data directory.
pub(crate) struct TestNode {
    pub(crate) node: Option<RunningNode>,
    pub(crate) http: HttpClient,
    pub(crate) address: SocketAddr,
    _dir: tempfile::TempDir,
}

/// Dev-mode configuration on a free port in `dir`.
pub(crate) fn dev_config(dir: &std::path::Path) -> NodeConfig {
    let mut config = NodeConfig::default();
    config.dev.enabled = true;
    config.dev.predeploy = vec!["token".into(), "counter".into()];
    config.data_dir = Some(dir.to_path_buf());
    config.rpc.listen = "127.0.0.1:0".parse().unwrap();
    config
}

impl TestNode {
    /// A dev node with instant blocks.
    pub(crate) async fn dev() -> Self {
        Self::with(|_| {}).await
    }

    /// A dev node with `adjust` applied to its configuration.
    pub(crate) async fn with(adjust: impl FnOnce(&mut NodeConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = dev_config(dir.path());
        adjust(&mut config);
        let node = within(60, "node start", cairn_node::start(config))
            .await
            .expect("node starts");
        let address = node.rpc_address();
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .build(format!("http://{address}"))
            .unwrap();
        Self {
            node: Some(node),
            http,
            address,
            _dir: dir,
        }
    }

    pub(crate) fn node(&self) -> &RunningNode {
        self.node.as_ref().unwrap()
    }

    pub(crate) fn key(&self, i: usize) -> SigningKey {
        self.node().dev_keys()[i].clone()
    }

    pub(crate) fn chain_id(&self) -> u64 {
        self.node().shared().reader.genesis().chain_id
    }

    /// A JSON-RPC call; panics on an error answer.
    pub(crate) async fn call<T: DeserializeOwned>(&self, method: &str, params: Vec<Value>) -> T {
        self.try_call(method, params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e:?}"))
    }

    /// A JSON-RPC call: the result, or the error's (code, message).
    pub(crate) async fn try_call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> Result<T, (i32, String)> {
        let mut array = ArrayParams::new();
        for param in params {
            array.insert(param).unwrap();
        }
        within(60, method, self.http.request(method, array))
            .await
            .map_err(|error| match error {
                jsonrpsee_core::ClientError::Call(call) => (call.code(), call.message().to_owned()),
                other => panic!("{method}: transport error {other}"),
            })
    }

    /// Signs a native transaction from dev account `from`.
    pub(crate) fn sign(
        &self,
        from: usize,
        nonce: u64,
        gas_price: u64,
        action: TxAction,
        value: U256,
    ) -> SignedTransaction {
        Transaction {
            chain_id: self.chain_id(),
            nonce,
            gas_limit: 1_000_000,
            gas_price,
            value,
            action,
        }
        .sign(&self.key(from))
    }

    /// Submits a native transaction; returns its hash as hex, or the error.
    pub(crate) async fn send(&self, tx: &SignedTransaction) -> Result<String, (i32, String)> {
        self.try_call(
            "cairn_sendRawTransaction",
            vec![to_hex(tx.to_bytes()).into()],
        )
        .await
    }

    /// Waits for the receipt of `hash` (Ethereum shape).
    pub(crate) async fn receipt(&self, hash: &str) -> Value {
        within(30, "receipt", async {
            loop {
                let receipt: Value = self
                    .call("eth_getTransactionReceipt", vec![hash.into()])
                    .await;
                if !receipt.is_null() {
                    return receipt;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
    }

    pub(crate) async fn block_number(&self) -> u64 {
        let n: String = self.call("eth_blockNumber", vec![]).await;
        u64::from_str_radix(n.trim_start_matches("0x"), 16).unwrap()
    }

    pub(crate) async fn shutdown(mut self) {
        let node = self.node.take().unwrap();
        within(30, "shutdown", node.shutdown()).await.unwrap();
    }
}

/// A native transfer of `value` to `to`.
pub(crate) fn transfer(to: Address) -> TxAction {
    TxAction::Call { to, data: vec![] }
}

/// Posts raw bytes to the node's HTTP endpoint: (status, body).
pub(crate) async fn raw_post(
    address: SocketAddr,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    within(30, "raw post", async {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // A server may answer (413) before reading all of a large body.
        let _ = stream.write_all(body).await;
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        parse_http(&response)
    })
    .await
}

/// GETs `path`: (status, body).
pub(crate) async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    within(30, "get", async {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let head = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        parse_http(&response)
    })
    .await
}

fn parse_http(response: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A hex quantity as u64.
pub(crate) fn quantity(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// Signs an Ethereum transaction the way a wallet does (over alloy's
/// signing hash, low-s, y parity) with `key`; its EIP-2718 bytes.
pub(crate) fn eth_sign<T>(tx: T, key: &SigningKey) -> Vec<u8>
where
    T: alloy_consensus::SignableTransaction<alloy_primitives::Signature>,
    alloy_consensus::TxEnvelope: From<alloy_consensus::Signed<T>>,
{
    use alloy_eips::eip2718::Encodable2718;
    let digest = cairn_host_api::world::H256(tx.signature_hash().0);
    let rsv = key.sign_digest(&digest);
    let signature = alloy_primitives::Signature::new(
        alloy_primitives::U256::from_be_slice(&rsv[..32]),
        alloy_primitives::U256::from_be_slice(&rsv[32..64]),
        rsv[64] == 1,
    );
    alloy_consensus::TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
}

/// An EIP-1559 transfer of `value` to `to` (tip = fee cap = `price`).
pub(crate) fn eip1559_transfer(
    chain_id: u64,
    nonce: u64,
    to: Address,
    value: u64,
    price: u128,
) -> alloy_consensus::TxEip1559 {
    alloy_consensus::TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: price,
        max_priority_fee_per_gas: price,
        to: alloy_primitives::TxKind::Call(alloy_primitives::Address::from_slice(to.as_bytes())),
        value: alloy_primitives::U256::from(value),
        access_list: alloy_eips::eip2930::AccessList::default(),
        input: alloy_primitives::Bytes::new(),
    }
}
