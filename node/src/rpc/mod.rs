//! The JSON-RPC server: jsonrpsee over HTTP and WebSocket on one port, the
//! Ethereum methods wallets and client libraries call ([`eth`]), the
//! `cairn_` namespace ([`cairn`]), `eth_subscribe` ([`subscribe`]), with
//! `GET /metrics` and `GET /health` beside them ([`crate::metrics`]).
//!
//! Methods that read the store or execute run on tokio's blocking threads
//! (`register_blocking_method`); the async runtime only moves bytes.
//!
//! Limits ([`crate::config::RpcConfig`]): request and response body size
//! (a larger request gets HTTP 413), connections, calls per batch (a larger
//! batch gets one error), `eth_call`/`eth_estimateGas` gas, `eth_getLogs`
//! block range and result count.

pub mod cairn;
pub mod error;
pub mod eth;
pub mod exec;
pub mod shapes;
pub mod subscribe;

use std::net::SocketAddr;
use std::sync::Arc;

use alloy_eips::{BlockId, BlockNumberOrTag};
use cairn_chain::ChainSnapshot;
use cairn_state::{RocksBackend, StoreReader};
use jsonrpsee::core::middleware::RpcServiceBuilder;
use jsonrpsee::server::{BatchRequestConfig, RpcModule, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::{Params, SubscriptionId};

use crate::config::RpcConfig;
use crate::convert::from_alloy_b256;
use crate::metrics::{HealthSource, HttpEndpointsLayer, MeteredRpc};
use crate::shared::NodeShared;
use error::{RpcResult, internal, invalid_params, server_error};

/// A snapshot of the node's chain.
pub type Snapshot = ChainSnapshot<StoreReader<RocksBackend>>;

/// What every method handler sees.
#[derive(Debug)]
pub struct RpcContext {
    /// The node's shared state.
    pub shared: Arc<NodeShared>,
    /// The RPC limits and suggestions.
    pub config: RpcConfig,
}

impl RpcContext {
    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.shared.reader.genesis().chain_id
    }

    /// The number of the block a tag or hash names (`None`: latest).
    ///
    /// # Errors
    ///
    /// `header not found` for an unknown hash or a future number.
    pub fn block_number(&self, block: Option<BlockId>) -> RpcResult<u64> {
        let head = self.shared.reader.head().number;
        let number = match block {
            None => head,
            Some(BlockId::Number(tag)) => match tag {
                BlockNumberOrTag::Earliest => 0,
                BlockNumberOrTag::Number(n) => n,
                _ => head,
            },
            Some(BlockId::Hash(hash)) => {
                let hash = from_alloy_b256(&hash.block_hash);
                use cairn_chain::BlockStore as _;
                self.shared
                    .reader
                    .state()
                    .block_number_by_hash(&hash)
                    .map_err(|e| internal(&e))?
                    .ok_or_else(|| server_error("header not found"))?
            }
        };
        if number > head {
            return Err(server_error("header not found"));
        }
        Ok(number)
    }

    /// A snapshot at the block a tag or hash names (`None`: latest;
    /// `pending`: latest, the mempool is added by the methods that count it).
    ///
    /// # Errors
    ///
    /// `header not found`; node failures.
    pub fn snapshot(&self, block: Option<BlockId>) -> RpcResult<Snapshot> {
        if matches!(
            block,
            None | Some(BlockId::Number(
                BlockNumberOrTag::Latest
                    | BlockNumberOrTag::Pending
                    | BlockNumberOrTag::Safe
                    | BlockNumberOrTag::Finalized
            ))
        ) {
            return Ok(self.shared.reader.at_head());
        }
        let number = self.block_number(block)?;
        self.shared
            .reader
            .at(number)
            .map_err(|e| internal(&e))?
            .ok_or_else(|| server_error("header not found"))
    }
}

/// Refuses more than `max` positional parameters, as geth does.
///
/// # Errors
///
/// -32602 `too many arguments, want at most N`.
pub fn at_most(params: &Params<'_>, max: usize) -> RpcResult<()> {
    if params.as_str().is_none() {
        return Ok(());
    }
    match params.parse::<serde_json::Value>() {
        Ok(serde_json::Value::Array(items)) if items.len() > max => Err(invalid_params(format!(
            "too many arguments, want at most {max}"
        ))),
        Ok(serde_json::Value::Array(_)) => Ok(()),
        Ok(_) => Err(invalid_params("parameters must be an array")),
        Err(error) => Err(error),
    }
}

/// geth-style subscription ids: `0x` and 32 hex digits.
#[derive(Debug, Default)]
struct HexIds;

impl jsonrpsee::server::IdProvider for HexIds {
    fn next_id(&self) -> SubscriptionId<'static> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(1);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Unique per process: a counter; unpredictable enough across
        // restarts: the clock. Not a secret.
        let low = u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or(0);
        SubscriptionId::Str(format!("0x{low:016x}{count:016x}").into())
    }
}

/// Every method, with `ctx`.
///
/// # Errors
///
/// A duplicate method name (a bug).
pub fn rpc_module(
    ctx: RpcContext,
) -> Result<RpcModule<RpcContext>, jsonrpsee::core::RegisterMethodError> {
    let mut module = RpcModule::new(ctx);
    eth::register(&mut module)?;
    cairn::register(&mut module)?;
    subscribe::register(&mut module)?;
    Ok(module)
}

/// Starts the server on `config.listen`.
///
/// # Errors
///
/// The address cannot be bound.
pub async fn start_server(
    config: &RpcConfig,
    shared: Arc<NodeShared>,
    health: HealthSource,
) -> std::io::Result<(ServerHandle, SocketAddr)> {
    let module = rpc_module(RpcContext {
        shared: Arc::clone(&shared),
        config: config.clone(),
    })
    .map_err(std::io::Error::other)?;
    let metrics = Arc::clone(&shared.metrics);
    metrics.set_known_methods(module.method_names());
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_body_bytes)
        .max_response_body_size(config.max_response_body_bytes)
        .max_connections(config.max_connections)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch))
        .set_id_provider(HexIds)
        .build();
    let max_response = usize::try_from(config.max_response_body_bytes).unwrap_or(usize::MAX);
    let rpc_metrics = Arc::clone(&metrics);
    let server =
        Server::builder()
            .set_config(server_config)
            .set_http_middleware(tower::ServiceBuilder::new().layer(HttpEndpointsLayer::new(
                Arc::clone(&metrics),
                health,
                config.metrics,
            )))
            .set_rpc_middleware(RpcServiceBuilder::new().layer_fn(move |inner| {
                MeteredRpc::new(inner, Arc::clone(&rpc_metrics), max_response)
            }))
            .build(config.listen)
            .await?;
    let address = server.local_addr()?;
    Ok((server.start(module), address))
}
