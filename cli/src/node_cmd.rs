//! `cairn node`: run a node (JSON-RPC, mempool, block production) until
//! SIGINT/SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use cairn_node::Stopped;
use cairn_node::config::NodeConfig;
use clap::Args;

use crate::common::Status;

/// `cairn node`.
#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// RocksDB data directory (created if needed; a restart resumes at its head).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// TOML configuration file; flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Dev mode: funded test accounts (printed with their keys), instant
    /// blocks, a temporary data directory unless --data-dir is given.
    #[arg(long)]
    dev: bool,
    /// Genesis file to create the chain from when the data directory holds none.
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// Address and port of JSON-RPC (HTTP and WebSocket), /metrics and /health.
    #[arg(long, value_name = "ADDR:PORT")]
    rpc_addr: Option<SocketAddr>,
    /// Only the port of --rpc-addr (0: any free port).
    #[arg(long, short)]
    port: Option<u16>,
    /// Seconds between blocks; without it, a block as soon as transactions wait.
    #[arg(long, value_name = "SECS")]
    block_time: Option<f64>,
    /// Dev mode: deploy these example contracts at genesis (`token`,
    /// `counter`, `multisig`, `router`, `abi_echo`; comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    predeploy: Vec<String>,
    /// Dev mode: how many test accounts to fund.
    #[arg(long, value_name = "N")]
    accounts: Option<u32>,
    /// Dev mode: the chain id.
    #[arg(long)]
    chain_id: Option<u64>,
    /// The gas price eth_gasPrice suggests.
    #[arg(long)]
    gas_price: Option<u64>,
    /// Do not serve /metrics.
    #[arg(long)]
    no_metrics: bool,
}

impl NodeArgs {
    /// The configuration: the file's (or the defaults), then the flags.
    fn config(&self) -> Result<NodeConfig> {
        let mut config = match &self.config {
            Some(path) => NodeConfig::from_file(path)?,
            None => NodeConfig::default(),
        };
        if let Some(dir) = &self.data_dir {
            config.data_dir = Some(dir.clone());
        }
        if let Some(genesis) = &self.genesis {
            config.genesis = Some(genesis.clone());
        }
        if self.dev {
            config.dev.enabled = true;
        }
        if let Some(address) = self.rpc_addr {
            config.rpc.listen = address;
        }
        if let Some(port) = self.port {
            config.rpc.listen.set_port(port);
        }
        if let Some(seconds) = self.block_time {
            config.block.time = seconds;
        }
        if !self.predeploy.is_empty() {
            config.dev.predeploy.clone_from(&self.predeploy);
        }
        if let Some(accounts) = self.accounts {
            config.dev.accounts = accounts;
        }
        if let Some(chain_id) = self.chain_id {
            config.dev.chain_id = chain_id;
        }
        if let Some(price) = self.gas_price {
            config.rpc.gas_price = price;
        }
        if self.no_metrics {
            config.rpc.metrics = false;
        }
        if !config.dev.enabled
            && (!self.predeploy.is_empty() || self.accounts.is_some() || self.chain_id.is_some())
        {
            anyhow::bail!(
                "--predeploy, --accounts and --chain-id apply to dev mode only (add --dev)"
            );
        }
        config.validate()?;
        Ok(config)
    }
}

pub(crate) fn node(args: NodeArgs) -> Result<Status> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("cairn-rpc")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let node = cairn_node::start(config).await?;
        let mut stdout = std::io::stdout().lock();
        if let Some(banner) = node.banner() {
            writeln!(stdout, "{banner}")?;
        }
        writeln!(
            stdout,
            "Data directory: {}{}",
            node.data_dir().display(),
            if node.data_dir_is_temporary() {
                " (temporary, removed at exit)"
            } else {
                ""
            }
        )?;
        writeln!(stdout, "Listening on {}", node.rpc_address())?;
        stdout.flush()?;
        drop(stdout);
        match node.run_until_signal().await? {
            Stopped::Signal(signal) => {
                eprintln!("{signal}: stopped cleanly");
                Ok(Status::Done)
            }
            Stopped::Failure(reason) => {
                eprintln!("error: node failure, block production stopped: {reason}");
                Ok(Status::NodeFailed)
            }
        }
    })
}
