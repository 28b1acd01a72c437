//! `cairn`: the command-line front end of the Cairn engine.

use clap::{Parser, Subcommand};

/// Cairn: a deterministic smart-contract execution engine.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {}
}
