//! A small blocking JSON-RPC client of a Cairn node: what `cairn deploy|call
//! |query|tx send --rpc URL` talk through. HTTP only, no TLS (a node's RPC
//! is on loopback or behind a proxy that terminates TLS).

use std::time::{Duration, Instant};

use cairn_chain::codec::to_hex;
use cairn_chain::view::{OutcomeView, TxReceiptView};
use cairn_host_api::world::{Address, H256};
use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::params::ArrayParams;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use serde::de::DeserializeOwned;

use crate::envelope::NodeTx;

/// A failed RPC exchange.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL or the client set-up is unusable.
    #[error("cannot use RPC endpoint {url}: {reason}")]
    Setup {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The node answered with an error.
    #[error("{method}: {message} (code {code})")]
    Rpc {
        /// The method.
        method: String,
        /// The JSON-RPC error code.
        code: i32,
        /// The message.
        message: String,
    },
    /// The request did not get an answer (connection refused, timeout, a
    /// response that does not decode).
    #[error("{method}: {reason}")]
    Transport {
        /// The method.
        method: String,
        /// Why.
        reason: String,
    },
    /// No receipt in time.
    #[error("no receipt for {hash} after {seconds} s")]
    Timeout {
        /// The transaction.
        hash: String,
        /// How long it waited.
        seconds: u64,
    },
}

/// A blocking client.
#[derive(Debug)]
pub struct RpcClient {
    runtime: tokio::runtime::Runtime,
    client: HttpClient,
}

impl RpcClient {
    /// A client of the node at `url` (`http://host:port`).
    ///
    /// # Errors
    ///
    /// A URL that is not `http://`.
    pub fn new(url: &str) -> Result<Self, ClientError> {
        let setup = |reason: String| ClientError::Setup {
            url: url.to_owned(),
            reason,
        };
        if !url.starts_with("http://") {
            return Err(setup("only http:// URLs are supported".into()));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| setup(e.to_string()))?;
        let client = {
            let _guard = runtime.enter();
            HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(60))
                .build(url)
                .map_err(|e| setup(e.to_string()))?
        };
        Ok(Self { runtime, client })
    }

    /// Calls `method` with positional `params`.
    ///
    /// # Errors
    ///
    /// The node's error, or no answer.
    pub fn request<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Vec<serde_json::Value>,
    ) -> Result<T, ClientError> {
        let mut array = ArrayParams::new();
        for param in params {
            array.insert(param).map_err(|e| ClientError::Transport {
                method: method.to_owned(),
                reason: e.to_string(),
            })?;
        }
        self.runtime
            .block_on(self.client.request(method, array))
            .map_err(|error| match error {
                jsonrpsee_core::ClientError::Call(call) => ClientError::Rpc {
                    method: method.to_owned(),
                    code: call.code(),
                    message: call.message().to_owned(),
                },
                other => ClientError::Transport {
                    method: method.to_owned(),
                    reason: other.to_string(),
                },
            })
    }

    /// `eth_chainId`.
    ///
    /// # Errors
    ///
    /// As [`RpcClient::request`].
    pub fn chain_id(&self) -> Result<u64, ClientError> {
        let id: alloy_primitives::U64 = self.request("eth_chainId", vec![])?;
        Ok(id.to())
    }

    /// The next nonce of `address`, counting its pooled transactions.
    ///
    /// # Errors
    ///
    /// As [`RpcClient::request`].
    pub fn pending_nonce(&self, address: &Address) -> Result<u64, ClientError> {
        let nonce: alloy_primitives::U64 = self.request(
            "eth_getTransactionCount",
            vec![to_hex(address).into(), "pending".into()],
        )?;
        Ok(nonce.to())
    }

    /// Submits a transaction: a native one with `cairn_sendRawTransaction`
    /// (its SCALE bytes), an Ethereum one with `eth_sendRawTransaction`
    /// (its EIP-2718 bytes).
    ///
    /// # Errors
    ///
    /// The node's refusal (nonce too low, insufficient funds, ...).
    pub fn send(&self, tx: &NodeTx) -> Result<H256, ClientError> {
        let (method, bytes) = match tx {
            NodeTx::Native(native) => ("cairn_sendRawTransaction", native.to_bytes()),
            NodeTx::Ethereum(eth) => ("eth_sendRawTransaction", eth.raw().to_vec()),
        };
        let hash: alloy_primitives::B256 = self.request(method, vec![to_hex(bytes).into()])?;
        Ok(H256(hash.0))
    }

    /// Polls `cairn_getTransactionReceipt` until the transaction is in a block.
    ///
    /// # Errors
    ///
    /// [`ClientError::Timeout`]; as [`RpcClient::request`].
    pub fn wait_for_receipt(
        &self,
        hash: &H256,
        timeout: Duration,
    ) -> Result<TxReceiptView, ClientError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let receipt: Option<TxReceiptView> =
                self.request("cairn_getTransactionReceipt", vec![to_hex(hash).into()])?;
            if let Some(receipt) = receipt {
                return Ok(receipt);
            }
            if started.elapsed() > timeout {
                return Err(ClientError::Timeout {
                    hash: to_hex(hash),
                    seconds: timeout.as_secs(),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// `cairn_call`: a dry run at the head.
    ///
    /// # Errors
    ///
    /// As [`RpcClient::request`].
    pub fn call(&self, request: serde_json::Value) -> Result<OutcomeView, ClientError> {
        self.request("cairn_call", vec![request, "latest".into()])
    }
}
