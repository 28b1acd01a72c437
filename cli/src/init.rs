//! `cairn init`: create a chain in a data directory from a genesis file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use cairn_chain::codec::to_hex;
use cairn_chain::view::HeaderView;
use cairn_chain::{Chain, Genesis};
use cairn_state::{RocksStore, StoreOptions};
use clap::Args;

use crate::common::{Status, executor, print_json};

/// `cairn init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Genesis JSON file (see specs/chain.md).
    #[arg(long)]
    genesis: PathBuf,
    /// Data directory to create the chain in.
    #[arg(long)]
    data_dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn init(args: InitArgs) -> Result<Status> {
    let genesis = Genesis::from_file(&args.genesis)?;
    let store = RocksStore::open(&args.data_dir, StoreOptions::default())
        .with_context(|| format!("opening {}", args.data_dir.display()))?;
    let chain = Chain::init(store, executor(), genesis)?;
    let head = chain.head();
    if args.json {
        print_json(&HeaderView::from(head))?;
    } else {
        println!(
            "initialised chain {} in {}",
            chain.genesis().chain_id,
            args.data_dir.display()
        );
        println!(
            "genesis hash {}\nstate root   {}",
            to_hex(head.hash()),
            to_hex(head.state_root)
        );
    }
    Ok(Status::Done)
}
