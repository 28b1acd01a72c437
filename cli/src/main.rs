//! `cairn`: the command-line front end of the Cairn engine.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod chain_cmd;
mod demo;
mod prepare;
mod run;
mod state_cmd;

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
    Init(chain_cmd::InitArgs),
    /// Create keys and print addresses.
    Key(chain_cmd::KeyArgs),
    /// Sign transactions and include them in a block.
    Tx(chain_cmd::TxArgs),
    /// Import and export blocks.
    Block(chain_cmd::BlockArgs),
    /// Deploy a contract in a new block.
    Deploy(chain_cmd::DeployArgs),
    /// Call a contract in a new block.
    Call(chain_cmd::CallArgs),
    /// Read-only call against the head state; nothing is committed.
    Query(chain_cmd::QueryArgs),
    /// Re-execute the stored chain in a fresh store and check every receipt and root.
    Replay(chain_cmd::ReplayArgs),
    /// Export a block as a replay bundle, or verify one offline.
    Bundle(chain_cmd::BundleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
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

fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::State(args) => state_cmd::run(args),
        Command::Prepare(args) => prepare::run(args),
        Command::Run(args) => run::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Init(args) => chain_cmd::init(args),
        Command::Key(args) => chain_cmd::key(args),
        Command::Tx(args) => chain_cmd::tx(args),
        Command::Block(args) => chain_cmd::block(args),
        Command::Deploy(args) => chain_cmd::deploy(args),
        Command::Call(args) => chain_cmd::call(args),
        Command::Query(args) => chain_cmd::query(args),
        Command::Replay(args) => chain_cmd::replay_cmd(args),
        Command::Bundle(args) => chain_cmd::bundle(args),
    }
}
