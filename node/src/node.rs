//! Starting and stopping a node.
//!
//! [`start`] opens (or creates) the chain, starts the JSON-RPC server and
//! then the writer thread. [`RunningNode::shutdown`] stops in the order the
//! README promises: the RPC stops accepting first, then the writer finishes
//! the block in flight (its commit is one atomic write: whole or nothing)
//! and stops, then the database closes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cairn_chain::codec::parse_address;
use cairn_chain::keys::SigningKey;
use cairn_chain::{BlockStore, Chain, ChainError, Genesis, GenesisError, SetupError};
use cairn_engine::runtime::{ExecConfig, Executor};
use cairn_host_api::world::Address;
use cairn_state::{RocksStore, StoreOptions};
use jsonrpsee::server::ServerHandle;
use tokio::sync::oneshot;

use crate::config::{ConfigError, NodeConfig};
use crate::dev::{DEV_MNEMONIC, banner, derive_keys, dev_genesis};
use crate::metrics::{Health, HealthSource, NodeMetrics};
use crate::producer::{BlockDriver, ChainWriter, LocalProducer, wall_clock_seconds};
use crate::shared::NodeShared;
use crate::txpool::TxPool;

/// Why a node could not start, or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory cannot be used.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        reason: String,
    },
    /// The genesis file is unusable.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// Opening or creating the chain failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Dev mode could not be set up.
    #[error("dev mode: {0}")]
    Dev(String),
    /// The RPC server could not start.
    #[error("cannot serve JSON-RPC on {address}: {source}")]
    Rpc {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Consensus could not start (validator mode).
    #[error("validator: {0}")]
    Consensus(String),
    /// Block production stopped on a node failure (I/O, corruption).
    #[error("block production stopped on a node failure: {0}")]
    Failed(String),
}

/// A started node.
#[derive(Debug)]
pub struct RunningNode {
    rpc_address: SocketAddr,
    server: ServerHandle,
    writer: Option<std::thread::JoinHandle<()>>,
    finished: Option<oneshot::Receiver<Result<(), String>>>,
    shared: Arc<NodeShared>,
    dev_keys: Vec<SigningKey>,
    banner: Option<String>,
    data_dir: PathBuf,
    temp_dir: Option<tempfile::TempDir>,
    validator: Option<crate::consensus::ValidatorHandle>,
}

/// How [`RunningNode::run_until_signal`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// SIGINT or SIGTERM: shut down cleanly.
    Signal(&'static str),
    /// Block production stopped on a node failure.
    Failure(String),
}

fn executor() -> Executor {
    Executor::new(ExecConfig::default())
}

/// Opens the chain in `data_dir`, creating it from `genesis()` if the
/// directory holds none.
fn open_or_init(
    data_dir: &Path,
    genesis: impl FnOnce() -> Result<Option<Genesis>, NodeError>,
) -> Result<Chain<RocksStore>, NodeError> {
    if data_dir.exists() && !data_dir.is_dir() {
        return Err(NodeError::DataDir {
            path: data_dir.display().to_string(),
            reason: "is not a directory".into(),
        });
    }
    let store =
        RocksStore::open(data_dir, StoreOptions::default()).map_err(|e| NodeError::DataDir {
            path: data_dir.display().to_string(),
            reason: e.to_string(),
        })?;
    match store.head_number() {
        Ok(_) => Ok(Chain::open(store, executor())?),
        Err(ChainError::Setup(error)) if matches!(*error, SetupError::NotInitialized) => {
            let genesis = genesis()?.ok_or_else(|| NodeError::DataDir {
                path: data_dir.display().to_string(),
                reason: "holds no chain; give --genesis FILE (or run `cairn init`), or use --dev"
                    .into(),
            })?;
            Ok(Chain::init(store, executor(), genesis)?)
        }
        Err(other) => Err(other.into()),
    }
}

/// Starts a node: chain, RPC server, block producer.
///
/// # Errors
///
/// A bad configuration, an unusable data directory or genesis, a port that
/// cannot be bound.
pub async fn start(config: NodeConfig) -> Result<RunningNode, NodeError> {
    start_with_genesis(config, None).await
}

/// [`start`], creating the chain (if the data directory holds none) from
/// `genesis` rather than from the configuration's genesis file or dev mode.
/// Benchmarks and tests build their genesis in code.
///
/// # Errors
///
/// As [`start`].
pub async fn start_with_genesis(
    config: NodeConfig,
    genesis: Option<Genesis>,
) -> Result<RunningNode, NodeError> {
    config.validate()?;
    let beneficiary = match &config.block.beneficiary {
        Some(text) => parse_address(text).map_err(|reason| ConfigError::Invalid {
            field: "block.beneficiary",
            reason,
        })?,
        None => Address::zero(),
    };
    let (data_dir, temp_dir) = match &config.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new()
                .prefix("cairn-dev-")
                .tempdir()
                .map_err(|e| NodeError::DataDir {
                    path: std::env::temp_dir().display().to_string(),
                    reason: format!("cannot create a temporary data directory: {e}"),
                })?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let dev_keys = if config.dev.enabled {
        derive_keys(DEV_MNEMONIC, config.dev.accounts).map_err(|e| NodeError::Dev(e.to_string()))?
    } else {
        Vec::new()
    };
    let chain = {
        let data_dir = data_dir.clone();
        let dev_keys = dev_keys.clone();
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            open_or_init(&data_dir, || {
                if genesis.is_some() {
                    Ok(genesis)
                } else if config.dev.enabled {
                    dev_genesis(
                        &dev_keys,
                        config.dev.chain_id,
                        wall_clock_seconds(),
                        &config.dev.predeploy,
                    )
                    .map(Some)
                    .map_err(NodeError::Dev)
                } else {
                    match &config.genesis {
                        Some(path) => Ok(Some(Genesis::from_file(path)?)),
                        None => Ok(None),
                    }
                }
            })
        })
        .await
        .map_err(|e| NodeError::Dev(format!("start-up task failed: {e}")))??
    };
    let banner = config
        .dev
        .enabled
        .then(|| banner(&dev_keys, chain.genesis(), config.rpc.gas_price));
    let metrics = NodeMetrics::new();
    metrics
        .head
        .set(i64::try_from(chain.head().number).unwrap_or(i64::MAX));
    let shared = NodeShared::new(chain.reader(), TxPool::new(config.txpool.clone()), metrics);
    let health: HealthSource = {
        let shared = Arc::clone(&shared);
        Arc::new(move || {
            let head = shared.reader.head();
            let error = shared.metrics.failure();
            Health {
                status: if error.is_some() { "failed" } else { "ok" },
                head: head.number,
                head_timestamp: head.timestamp,
                mempool: shared.lock_pool().len(),
                error,
            }
        })
    };
    let mut rpc_config = config.rpc.clone();
    rpc_config
        .trace_failed_calls
        .get_or_insert(config.dev.enabled);
    let (server, rpc_address) = crate::rpc::start_server(&rpc_config, Arc::clone(&shared), health)
        .await
        .map_err(|source| NodeError::Rpc {
            address: config.rpc.listen,
            source,
        })?;
    if !rpc_address.ip().is_loopback() {
        tracing::warn!(%rpc_address, "JSON-RPC is reachable beyond this machine");
    }
    let genesis = chain.genesis().clone();
    let mut consensus_requests = None;
    let driver: Box<dyn BlockDriver> = if config.validator.is_some() {
        if genesis.validators.is_empty() {
            return Err(NodeError::Consensus(
                "the chain's genesis names no validators; a validator needs a genesis from `cairn testnet init` (or one with `validators`)".into(),
            ));
        }
        let (sender, receiver) = std::sync::mpsc::channel();
        consensus_requests = Some(sender);
        Box::new(crate::consensus::driver::ConsensusDriver::new(receiver))
    } else {
        Box::new(LocalProducer {
            block_time: config.block_time(),
            max_txs: config.block.max_txs,
        })
    };
    let (done, finished) = oneshot::channel();
    let writer = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("cairn-writer".into())
            .spawn(move || {
                let wakeup = Arc::clone(&shared.wakeup);
                let mut writer = ChainWriter::new(chain, Arc::clone(&shared), beneficiary);
                let result = driver.run(&mut writer, &wakeup).map_err(|error| {
                    let message = error.to_string();
                    tracing::error!(%message, "node failure: block production stopped");
                    shared.metrics.set_failed(message.clone());
                    message
                });
                // The database closes here, after the last commit.
                drop(writer);
                let _ = done.send(result);
            })
            .map_err(|e| NodeError::Dev(format!("cannot start the writer thread: {e}")))?
    };
    let validator = match (&config.validator, consensus_requests) {
        (Some(validator), Some(requests)) => {
            let started = crate::consensus::start_validator(
                validator,
                &genesis,
                &data_dir,
                Arc::clone(&shared),
                requests,
                config.block.max_txs,
                validator.testing_wrong_state_root,
            )
            .await;
            match started {
                Ok(handle) => Some(handle),
                Err(error) => {
                    server.stop().ok();
                    shared.wakeup.stop();
                    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
                    return Err(NodeError::Consensus(error));
                }
            }
        }
        _ => None,
    };
    tracing::info!(%rpc_address, data_dir = %data_dir.display(), "node started");
    Ok(RunningNode {
        rpc_address,
        server,
        writer: Some(writer),
        finished: Some(finished),
        shared,
        dev_keys,
        banner,
        data_dir,
        temp_dir,
        validator,
    })
}

/// How long shutdown waits for open RPC connections to finish.
const RPC_DRAIN: Duration = Duration::from_secs(5);

impl RunningNode {
    /// Where JSON-RPC (HTTP and WebSocket), `/metrics` and `/health` listen.
    pub fn rpc_address(&self) -> SocketAddr {
        self.rpc_address
    }

    /// `http://` URL of the RPC.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.rpc_address)
    }

    /// `ws://` URL of the RPC.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.rpc_address)
    }

    /// The funded dev keys (dev mode), account 0 first.
    pub fn dev_keys(&self) -> &[SigningKey] {
        &self.dev_keys
    }

    /// The dev-mode banner (accounts and keys), to print at start.
    pub fn banner(&self) -> Option<&str> {
        self.banner.as_deref()
    }

    /// The data directory (a temporary one in dev mode without `--data-dir`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Whether the data directory is temporary (removed at shutdown).
    pub fn data_dir_is_temporary(&self) -> bool {
        self.temp_dir.is_some()
    }

    /// The validator's address (validator mode).
    pub fn validator_address(&self) -> Option<crate::consensus::context::ValidatorAddress> {
        self.validator.as_ref().map(|v| v.address())
    }

    /// What the producer and the RPC share.
    pub fn shared(&self) -> &Arc<NodeShared> {
        &self.shared
    }

    /// Runs until SIGINT or SIGTERM (then shuts down cleanly), or until
    /// block production stops on a node failure.
    ///
    /// # Errors
    ///
    /// Signal handlers could not be installed; shutdown failed.
    pub async fn run_until_signal(mut self) -> Result<Stopped, NodeError> {
        use tokio::signal::unix::{SignalKind, signal};
        let signal_error =
            |e: std::io::Error| NodeError::Dev(format!("cannot install signal handlers: {e}"));
        let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
        let mut finished = self.finished.take();
        let stopped = tokio::select! {
            _ = interrupt.recv() => Stopped::Signal("SIGINT"),
            _ = terminate.recv() => Stopped::Signal("SIGTERM"),
            result = async { match finished.as_mut() { Some(rx) => rx.await, None => std::future::pending().await } } => match result {
                Ok(Err(message)) => Stopped::Failure(message),
                Ok(Ok(())) | Err(_) => Stopped::Failure("the block producer stopped".into()),
            },
        };
        self.finished = finished;
        tracing::info!(?stopped, "shutting down");
        match (self.shutdown().await, &stopped) {
            (Err(NodeError::Failed(_)), Stopped::Failure(_)) | (Ok(()), _) => Ok(stopped),
            (Err(error), _) => Err(error),
        }
    }

    /// Stops the node: RPC first, then the producer after its block in
    /// flight, then the database.
    ///
    /// # Errors
    ///
    /// [`NodeError::Failed`] if block production had stopped on a node failure.
    pub async fn shutdown(mut self) -> Result<(), NodeError> {
        if let Some(validator) = self.validator.take() {
            validator.stop().await;
        }
        let _ = self.server.stop();
        if tokio::time::timeout(RPC_DRAIN, self.server.clone().stopped())
            .await
            .is_err()
        {
            tracing::warn!("RPC connections still open after {RPC_DRAIN:?}; closing anyway");
        }
        self.shared.wakeup.stop();
        let waiting = self.shared.lock_pool().len();
        if waiting > 0 {
            tracing::info!(
                waiting,
                "transactions left in the mempool are dropped (not persisted)"
            );
        }
        let result = match self.finished.take() {
            Some(rx) => rx.await.unwrap_or(Ok(())),
            None => Ok(()),
        };
        if let Some(writer) = self.writer.take() {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
        // The database closes when its last handle goes: RPC connection
        // tasks may hold the read handle a moment after the server stopped.
        // Wait for them (bounded) so that when shutdown returns the data
        // directory can be opened again, then remove a temporary one.
        let started = std::time::Instant::now();
        while Arc::strong_count(&self.shared) > 1 && started.elapsed() < RPC_DRAIN {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if Arc::strong_count(&self.shared) > 1 {
            tracing::warn!(
                "the database is still referenced after {RPC_DRAIN:?}; it closes when the last RPC task ends"
            );
        }
        drop(self.shared);
        if let Some(temp_dir) = self.temp_dir.take() {
            let path = temp_dir.path().display().to_string();
            if let Err(error) = temp_dir.close() {
                tracing::warn!(%error, path, "could not remove the temporary data directory");
            }
        }
        result.map_err(NodeError::Failed)
    }
}
