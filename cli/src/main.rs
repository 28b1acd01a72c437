//! `cairn`: the command-line front end of the Cairn engine.

use clap::{Parser, Subcommand};

mod bench;
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
    /// Run a contract's `call` (or `deploy`) export in an in-memory world.
    Run(run::RunArgs),
    /// Run a benchmark and print its summary.
    Bench(bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::State(args) => state_cmd::run(args),
        Command::Run(args) => run::run(args),
        Command::Bench(args) => bench::run(args),
    }
}
