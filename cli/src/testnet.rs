//! `cairn testnet`: a local network of validators on loopback.
//!
//! `init` writes keys, one configuration per validator and the genesis;
//! `run` starts every validator of a directory (initialising it first if
//! empty) in this process and shows height, round and finalized tx/s until
//! SIGINT. One validator alone runs with `cairn node --config
//! DIR/validator-I/config.toml`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use cairn_node::RunningNode;
use cairn_node::config::NodeConfig;
use cairn_node::testnet::{TestnetLayout, config_path, init};
use clap::{Args, Subcommand};

use crate::common::Status;

/// `cairn testnet`.
#[derive(Debug, Args)]
pub(crate) struct TestnetArgs {
    #[command(subcommand)]
    command: TestnetCommand,
}

#[derive(Debug, Subcommand)]
enum TestnetCommand {
    /// Write validator keys, one config per validator (loopback ports) and the genesis.
    Init(InitArgs),
    /// Run a local network in this process, with a live status line.
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct LayoutArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Validator I listens for p2p on BASE+I and serves JSON-RPC on BASE+100+I.
    #[arg(long, default_value_t = 26_600)]
    base_port: u16,
    /// The chain id.
    #[arg(long, default_value_t = 1_337)]
    chain_id: u64,
    /// Propose timeout in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    timeout_propose_ms: u64,
    /// Prevote and precommit timeouts in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    timeout_vote_ms: u64,
    /// Least time per height in milliseconds (0: as fast as consensus goes).
    #[arg(long, default_value_t = 1_000)]
    block_time_ms: u64,
}

impl LayoutArgs {
    fn layout(&self) -> TestnetLayout {
        TestnetLayout {
            validators: self.validators,
            base_port: self.base_port,
            chain_id: self.chain_id,
            timeout_propose_ms: self.timeout_propose_ms,
            timeout_vote_ms: self.timeout_vote_ms,
            block_time_ms: self.block_time_ms,
            ..TestnetLayout::default()
        }
    }
}

#[derive(Debug, Args)]
struct InitArgs {
    /// Directory to write the network into (must not hold one).
    #[arg(long)]
    dir: PathBuf,
    #[command(flatten)]
    layout: LayoutArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The network's directory; initialised if it holds none. Without it, a
    /// temporary directory (removed at exit).
    #[arg(long)]
    dir: Option<PathBuf>,
    #[command(flatten)]
    layout: LayoutArgs,
    /// Stop once every validator has committed this height (otherwise run
    /// until SIGINT).
    #[arg(long, value_name = "HEIGHT")]
    until_height: Option<u64>,
    /// Give up after this many seconds (with --until-height).
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

impl TestnetArgs {
    pub(crate) fn run(&self) -> Result<Status> {
        match &self.command {
            TestnetCommand::Init(args) => {
                let configs = init(&args.dir, &args.layout.layout()).map_err(anyhow::Error::msg)?;
                println!(
                    "wrote a network of {} validators to {}",
                    configs.len(),
                    args.dir.display()
                );
                for (i, config) in configs.iter().enumerate() {
                    println!(
                        "  validator {i}: cairn node --config {}  (JSON-RPC http://127.0.0.1:{})",
                        config.display(),
                        args.layout.layout().rpc_port(i)
                    );
                }
                Ok(Status::Done)
            }
            TestnetCommand::Run(args) => run(args),
        }
    }
}

fn run(args: &RunArgs) -> Result<Status> {
    let temp = match &args.dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("cairn-testnet-")
                .tempdir()?,
        ),
    };
    let dir: &Path = match (&args.dir, &temp) {
        (Some(dir), _) => dir,
        (None, Some(temp)) => temp.path(),
        (None, None) => unreachable!("a directory or a temporary one"),
    };
    let layout = args.layout.layout();
    if !dir.join("genesis.json").exists() {
        init(dir, &layout).map_err(anyhow::Error::msg)?;
        eprintln!(
            "initialised a network of {} validators in {}",
            layout.validators,
            dir.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut nodes: Vec<RunningNode> = Vec::new();
        for i in 0..layout.validators {
            let path = config_path(dir, i);
            let config = NodeConfig::from_file(&path)?;
            let node = cairn_node::start(config)
                .await
                .with_context(|| format!("validator {i} ({})", path.display()))?;
            eprintln!(
                "validator {i}: {} JSON-RPC {}",
                node.validator_address()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                node.http_url()
            );
            nodes.push(node);
        }
        let outcome = watch(&nodes, args).await;
        for node in nodes {
            node.shutdown().await?;
        }
        outcome
    })
}

/// Prints the status line every second until SIGINT or the target height.
async fn watch(nodes: &[RunningNode], args: &RunArgs) -> Result<Status> {
    let started = Instant::now();
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut last = (Instant::now(), total_txs(nodes));
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    loop {
        tokio::select! {
            _ = interrupt.recv() => {
                eprintln!();
                return Ok(Status::Done);
            }
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let heights: Vec<u64> = nodes
            .iter()
            .map(|n| n.shared().reader.head().number)
            .collect();
        let min = heights.iter().copied().min().unwrap_or(0);
        let max = heights.iter().copied().max().unwrap_or(0);
        let round = nodes
            .first()
            .map(|n| n.shared().metrics.consensus_round.get())
            .unwrap_or(0);
        let now = (Instant::now(), total_txs(nodes));
        let elapsed = now.0.duration_since(last.0).as_millis().max(1);
        let per_second = u128::from(now.1.saturating_sub(last.1)) * 1000 / elapsed;
        last = now;
        let line = format!(
            "height {min}{} | round {round} | {per_second} tx/s finalized | {} txs",
            if max > min {
                format!("..{max}")
            } else {
                String::new()
            },
            now.1
        );
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
        let _ = std::io::stderr().flush();
        if let Some(target) = args.until_height {
            if min >= target {
                eprintln!();
                return Ok(Status::Done);
            }
            if started.elapsed() > Duration::from_secs(args.timeout) {
                eprintln!();
                bail!(
                    "the network did not reach height {target} in {} s",
                    args.timeout
                );
            }
        }
    }
}

/// Transactions finalized, as the first validator counts them.
fn total_txs(nodes: &[RunningNode]) -> u64 {
    nodes.first().map_or(0, |n| n.shared().metrics.txs.get())
}
