//! `cairn`: the command-line front end of the Cairn engine.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod bench_rpc;
mod block;
mod bundle;
mod common;
mod contract;
mod demo;
mod devkit;
mod estimate;
mod init;
mod key;
mod node_cmd;
mod prepare;
mod profile;
mod replay;
mod run;
mod state_cmd;
mod tx;
mod typed_call;

use common::Status;

/// Cairn: a deterministic smart-contract execution engine.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect the Merkleized state: roots, values, proofs.
    State(state_cmd::StateArgs),
    /// Validate a contract and inject gas metering; print hashes, sizes, imports and exports.
    Prepare(prepare::PrepareArgs),
    /// Run a contract's `call` (or `deploy`) export in an in-memory world.
    Run(run::RunArgs),
    /// Run a benchmark and print its summary.
    Bench(bench::BenchArgs),
    /// The main job: produce, commit and replay a chain of token and native transfers.
    Demo(demo::DemoArgs),
    /// Create a chain in a data directory from a genesis file.
    Init(init::InitArgs),
    /// Create keys and print addresses.
    Key(key::KeyArgs),
    /// Sign transactions and include them in a block.
    Tx(tx::TxArgs),
    /// Import and export blocks.
    Block(block::BlockArgs),
    /// Deploy a contract in a new block.
    Deploy(contract::DeployArgs),
    /// Call a contract in a new block.
    Call(contract::CallArgs),
    /// Read-only call against the head state; nothing is committed.
    Query(contract::QueryArgs),
    /// The exact lowest gas limit at which a call or deploy succeeds against the head state.
    Estimate(estimate::EstimateArgs),
    /// Create a contract crate that builds and tests out of the box.
    New(devkit::NewArgs),
    /// Build a contract crate for wasm32v1-none and prepare it as a deploy would.
    Build(devkit::BuildArgs),
    /// Build a contract crate, then run its tests.
    Test(devkit::TestArgs),
    /// Re-execute the stored chain in a fresh store and check every receipt and root.
    Replay(replay::ReplayArgs),
    /// Export a block as a replay bundle, or verify one offline.
    Bundle(bundle::BundleArgs),
    /// Run a node: JSON-RPC (Ethereum and `cairn_` methods), mempool, blocks.
    Node(node_cmd::NodeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A node reports its start and stop; other commands only warnings.
    init_tracing(if matches!(cli.command, Command::Node(_)) {
        "info,jsonrpsee_server=warn"
    } else {
        "warn"
    });
    match dispatch(cli.command) {
        Ok(status) => status.into(),
        Err(error) => {
            // The error and its causes, as cargo prints them: no stack trace,
            // even where RUST_BACKTRACE is set for panics.
            eprintln!("error: {error}");
            let mut causes = error.chain().skip(1).peekable();
            if causes.peek().is_some() {
                eprintln!("\nCaused by:");
                for cause in causes {
                    eprintln!("    {cause}");
                }
            }
            ExitCode::FAILURE
        }
    }
}

/// Logs on stderr through `tracing`, filtered by `RUST_LOG` (default:
/// `default`).
fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .try_init();
}

fn dispatch(command: Command) -> anyhow::Result<Status> {
    let done = |result: anyhow::Result<()>| result.map(|()| Status::Done);
    match command {
        Command::State(args) => done(state_cmd::run(args)),
        Command::Prepare(args) => done(prepare::run(args)),
        Command::Run(args) => run::run(args),
        Command::Bench(args) => done(bench::run(args)),
        Command::Demo(args) => done(demo::run(args)),
        Command::Init(args) => init::init(args),
        Command::Key(args) => key::key(args),
        Command::Tx(args) => tx::tx(args),
        Command::Block(args) => block::block(args),
        Command::Deploy(args) => contract::deploy(args),
        Command::Call(args) => contract::call(args),
        Command::Query(args) => contract::query(args),
        Command::Estimate(args) => estimate::estimate(args),
        Command::New(args) => devkit::new(args),
        Command::Build(args) => devkit::build(args),
        Command::Test(args) => devkit::test(args),
        Command::Replay(args) => replay::replay_cmd(args),
        Command::Bundle(args) => bundle::bundle(args),
        Command::Node(args) => node_cmd::node(args),
    }
}
