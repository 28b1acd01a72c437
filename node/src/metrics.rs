//! Prometheus metrics (OpenMetrics text on `GET /metrics`) and the health
//! endpoint (`GET /health`), served beside JSON-RPC on the RPC port.
//!
//! Every metric is prefixed `cairn_`:
//!
//! | metric | type | what |
//! |---|---|---|
//! | `cairn_blocks_total` | counter | blocks committed by this node |
//! | `cairn_txs_total` | counter | transactions included |
//! | `cairn_gas_used_total` | counter | gas used by included transactions (`rate()` = gas/s) |
//! | `cairn_block_gas_per_second` | gauge | gas of the last block over its execution + commit time |
//! | `cairn_head_block` | gauge | the head's number |
//! | `cairn_mempool_txs` | gauge | transactions in the mempool |
//! | `cairn_mempool_pending_txs` | gauge | of which executable |
//! | `cairn_block_execution_seconds` | histogram | block execution time |
//! | `cairn_block_commit_seconds` | histogram | block commit (atomic write) time |
//! | `cairn_rpc_requests_total{method,outcome}` | counter | JSON-RPC calls by method, `ok` or `error` |
//! | `cairn_rpc_request_seconds{method}` | histogram | JSON-RPC latency by method |
//!
//! Unknown method names are counted as `other`, so garbage cannot grow the
//! label set. The registry is the node's own; the validators issue
//! registers Malachite's metrics next to these.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use jsonrpsee::MethodResponse;
use jsonrpsee::core::middleware::{Batch, BatchEntry, Notification, RpcServiceT};
use jsonrpsee::core::server::BatchResponseBuilder;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use jsonrpsee::types::Request;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of an RPC call.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The method, or `other`.
    pub method: String,
    /// `ok` or `error`.
    pub outcome: &'static str,
}

/// Labels of an RPC latency.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    /// The method, or `other`.
    pub method: String,
}

/// The node's metrics.
#[derive(Debug)]
pub struct NodeMetrics {
    registry: Mutex<Registry>,
    /// Blocks committed.
    pub blocks: Counter,
    /// Transactions included.
    pub txs: Counter,
    /// Gas used.
    pub gas_used: Counter,
    /// Gas per second of the last block.
    pub block_gas_per_second: Gauge<f64, AtomicU64>,
    /// Head number.
    pub head: Gauge,
    /// Mempool size.
    pub mempool: Gauge,
    /// Executable mempool transactions.
    pub mempool_pending: Gauge,
    /// Execution time per block.
    pub block_execution: Histogram,
    /// Commit time per block.
    pub block_commit: Histogram,
    /// RPC calls.
    pub rpc_calls: Family<CallLabels, Counter>,
    /// RPC latency.
    pub rpc_latency: Family<MethodLabels, Histogram>,
    /// Consensus: the height being decided (validators).
    pub consensus_height: Gauge,
    /// Consensus: the round of that height.
    pub consensus_round: Gauge,
    /// Consensus: rounds started after round 0 (a proposer missed or was refused).
    pub consensus_extra_rounds: Counter,
    known_methods: Mutex<BTreeSet<String>>,
    failed: AtomicBool,
    failure: Mutex<Option<String>>,
}

fn seconds_histogram() -> Histogram {
    // 50 us .. ~13 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 19))
}

impl NodeMetrics {
    /// Fresh metrics in a fresh registry.
    pub fn new() -> Arc<Self> {
        let metrics = Self {
            registry: Mutex::new(Registry::with_prefix("cairn")),
            blocks: Counter::default(),
            txs: Counter::default(),
            gas_used: Counter::default(),
            block_gas_per_second: Gauge::default(),
            head: Gauge::default(),
            mempool: Gauge::default(),
            mempool_pending: Gauge::default(),
            block_execution: seconds_histogram(),
            block_commit: seconds_histogram(),
            rpc_calls: Family::default(),
            rpc_latency: Family::new_with_constructor(seconds_histogram),
            consensus_height: Gauge::default(),
            consensus_round: Gauge::default(),
            consensus_extra_rounds: Counter::default(),
            known_methods: Mutex::new(BTreeSet::new()),
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
        };
        {
            let mut r = metrics.lock_registry();
            r.register("blocks", "Blocks committed", metrics.blocks.clone());
            r.register(
                "consensus_height",
                "Height consensus is deciding (validators)",
                metrics.consensus_height.clone(),
            );
            r.register(
                "consensus_round",
                "Round of the height being decided",
                metrics.consensus_round.clone(),
            );
            r.register(
                "consensus_extra_rounds",
                "Rounds started beyond round 0",
                metrics.consensus_extra_rounds.clone(),
            );
            r.register("txs", "Transactions included", metrics.txs.clone());
            r.register(
                "gas_used",
                "Gas used by included transactions",
                metrics.gas_used.clone(),
            );
            r.register(
                "block_gas_per_second",
                "Gas of the last block over its execution and commit time",
                metrics.block_gas_per_second.clone(),
            );
            r.register(
                "head_block",
                "Number of the head block",
                metrics.head.clone(),
            );
            r.register(
                "mempool_txs",
                "Transactions in the mempool",
                metrics.mempool.clone(),
            );
            r.register(
                "mempool_pending_txs",
                "Executable transactions in the mempool",
                metrics.mempool_pending.clone(),
            );
            r.register(
                "block_execution_seconds",
                "Block execution time",
                metrics.block_execution.clone(),
            );
            r.register(
                "block_commit_seconds",
                "Block commit time (one atomic write)",
                metrics.block_commit.clone(),
            );
            r.register(
                "rpc_requests",
                "JSON-RPC calls by method and outcome",
                metrics.rpc_calls.clone(),
            );
            r.register(
                "rpc_request_seconds",
                "JSON-RPC call latency by method",
                metrics.rpc_latency.clone(),
            );
        }
        Arc::new(metrics)
    }

    fn lock_registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Method names that get their own label.
    pub fn set_known_methods<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let mut known = self
            .known_methods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known.extend(names.into_iter().map(str::to_owned));
    }

    fn label(&self, method: &str) -> String {
        let known = self
            .known_methods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if known.contains(method) {
            method.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// Records one committed block.
    pub fn record_block(
        &self,
        number: u64,
        txs: usize,
        gas: u64,
        execution: Duration,
        commit: Duration,
    ) {
        self.blocks.inc();
        self.txs.inc_by(u64::try_from(txs).unwrap_or(u64::MAX));
        self.gas_used.inc_by(gas);
        self.head.set(i64::try_from(number).unwrap_or(i64::MAX));
        self.block_execution.observe(execution.as_secs_f64());
        self.block_commit.observe(commit.as_secs_f64());
        let nanos = execution.saturating_add(commit).as_nanos().max(1);
        // gas * 1e9 / ns, in integers: a display value, never consensus data.
        let per_second = u128::from(gas).saturating_mul(1_000_000_000) / nanos;
        self.block_gas_per_second
            .set(u64::try_from(per_second).map_or(u64::MAX, |v| v) as f64);
    }

    /// Records a consensus round start.
    pub fn record_round(&self, height: u64, round: i64) {
        self.consensus_height
            .set(i64::try_from(height).unwrap_or(i64::MAX));
        self.consensus_round.set(round);
        if round > 0 {
            self.consensus_extra_rounds.inc();
        }
    }

    /// Records the mempool's size.
    pub fn record_mempool(&self, total: usize, pending: usize) {
        self.mempool.set(i64::try_from(total).unwrap_or(i64::MAX));
        self.mempool_pending
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// Marks the node failed (block production stopped): health turns 503.
    pub fn set_failed(&self, reason: String) {
        self.failed.store(true, Ordering::SeqCst);
        *self
            .failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reason);
    }

    /// The failure, if block production stopped.
    pub fn failure(&self) -> Option<String> {
        if !self.failed.load(Ordering::SeqCst) {
            return None;
        }
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The OpenMetrics text of every metric: the node's, then (validators)
    /// Malachite's consensus, network and sync metrics.
    pub fn export(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.lock_registry()).is_err() {
            out.clear();
        }
        let mut consensus = String::new();
        malachitebft_app_channel::app::metrics::export(&mut consensus);
        if consensus.trim_end() != "# EOF" {
            // One exposition: the node's text without its end marker, then
            // Malachite's (which ends with `# EOF`).
            if let Some(stripped) = out.strip_suffix("# EOF\n") {
                out.truncate(stripped.len());
            }
            out.push_str(&consensus);
        }
        out
    }
}

const INTERNAL_ERROR_CODE: i32 = -32603;

/// JSON-RPC middleware counting calls and timing them by method (and
/// turning jsonrpsee's "Internal error" for a subscription over HTTP into
/// geth's "notifications not supported").
#[derive(Debug, Clone)]
pub struct MeteredRpc<S> {
    inner: S,
    metrics: Arc<NodeMetrics>,
    max_response_bytes: usize,
}

impl<S> MeteredRpc<S> {
    /// Wraps `inner`; batch responses are limited to `max_response_bytes`.
    pub fn new(inner: S, metrics: Arc<NodeMetrics>, max_response_bytes: usize) -> Self {
        Self {
            inner,
            metrics,
            max_response_bytes,
        }
    }
}

impl<S> RpcServiceT for MeteredRpc<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = S::MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(
        &self,
        request: Request<'a>,
    ) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        let method = self.metrics.label(request.method_name());
        let subscribing = matches!(request.method_name(), "eth_subscribe" | "eth_unsubscribe");
        let id = request.id().into_owned();
        let inner = self.inner.clone();
        let metrics = Arc::clone(&self.metrics);
        async move {
            let started = Instant::now();
            let mut response = inner.call(request).await;
            if subscribing && response.as_error_code() == Some(INTERNAL_ERROR_CODE) {
                // jsonrpsee answers a subscription over HTTP with "Internal
                // error", which clients retry; say what is wrong, as geth does.
                response = MethodResponse::error(
                    id,
                    jsonrpsee::types::ErrorObject::owned(
                        -32601,
                        "notifications not supported: subscribe over WebSocket",
                        None::<()>,
                    ),
                );
            }
            let outcome = if response.is_error() { "error" } else { "ok" };
            metrics
                .rpc_calls
                .get_or_create(&CallLabels {
                    method: method.clone(),
                    outcome,
                })
                .inc();
            metrics
                .rpc_latency
                .get_or_create(&MethodLabels { method })
                .observe(started.elapsed().as_secs_f64());
            response
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        // The inner service would run the entries through its own `call`,
        // past this middleware; run them through ours so each is counted.
        let service = self.clone();
        async move {
            let mut responses = BatchResponseBuilder::new_with_limit(service.max_response_bytes);
            let mut got_notification = false;
            for entry in batch.into_iter() {
                let response = match entry {
                    Ok(BatchEntry::Call(request)) => service.call(request).await,
                    Ok(BatchEntry::Notification(notification)) => {
                        got_notification = true;
                        service.inner.notification(notification).await;
                        continue;
                    }
                    Err(error) => {
                        let (error, id) = error.into_parts();
                        MethodResponse::error(id, error)
                    }
                };
                if let Err(too_large) = responses.append(response) {
                    return too_large;
                }
            }
            if responses.is_empty() && got_notification {
                MethodResponse::notification()
            } else {
                MethodResponse::from_batch(responses.finish())
            }
        }
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.inner.notification(notification)
    }
}

/// What `GET /health` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    /// `ok`, or `failed` once block production stopped.
    pub status: &'static str,
    /// The head block.
    pub head: u64,
    /// The head's timestamp.
    pub head_timestamp: u64,
    /// Transactions in the mempool.
    pub mempool: usize,
    /// Why block production stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Produces the health report on demand.
pub type HealthSource = Arc<dyn Fn() -> Health + Send + Sync>;

/// HTTP layer answering `GET /metrics` and `GET /health` before JSON-RPC.
#[derive(Clone)]
pub struct HttpEndpointsLayer {
    metrics: Arc<NodeMetrics>,
    health: HealthSource,
    serve_metrics: bool,
}

impl std::fmt::Debug for HttpEndpointsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpEndpointsLayer").finish_non_exhaustive()
    }
}

impl HttpEndpointsLayer {
    /// The layer; `serve_metrics` false answers `/metrics` with 404.
    pub fn new(metrics: Arc<NodeMetrics>, health: HealthSource, serve_metrics: bool) -> Self {
        Self {
            metrics,
            health,
            serve_metrics,
        }
    }
}

impl<S> tower::Layer<S> for HttpEndpointsLayer {
    type Service = HttpEndpoints<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpEndpoints {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`HttpEndpointsLayer`].
#[derive(Clone)]
pub struct HttpEndpoints<S> {
    inner: S,
    layer: HttpEndpointsLayer,
}

impl<S> std::fmt::Debug for HttpEndpoints<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpEndpoints").finish_non_exhaustive()
    }
}

fn text_response(
    status: http::StatusCode,
    content_type: &'static str,
    body: String,
) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}

impl<S> tower::Service<HttpRequest> for HttpEndpoints<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse> + Send,
    S::Error: Into<jsonrpsee::core::BoxError> + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = jsonrpsee::core::BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        if request.method() == http::Method::GET {
            match request.uri().path() {
                "/metrics" if self.layer.serve_metrics => {
                    let body = self.layer.metrics.export();
                    return Box::pin(async move {
                        Ok(text_response(
                            http::StatusCode::OK,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            body,
                        ))
                    });
                }
                "/metrics" => {
                    return Box::pin(async move {
                        Ok(text_response(
                            http::StatusCode::NOT_FOUND,
                            "text/plain; charset=utf-8",
                            "metrics are turned off on this node\n".to_owned(),
                        ))
                    });
                }
                "/health" => {
                    let health = (self.layer.health)();
                    let status = if health.status == "ok" {
                        http::StatusCode::OK
                    } else {
                        http::StatusCode::SERVICE_UNAVAILABLE
                    };
                    let body = serde_json::to_string(&health).unwrap_or_default();
                    return Box::pin(
                        async move { Ok(text_response(status, "application/json", body)) },
                    );
                }
                _ => {}
            }
        }
        let future = self.inner.call(request);
        Box::pin(async move { future.await.map_err(Into::into) })
    }
}
