//! `cairn block apply|export`: import a block produced elsewhere (re-executed,
//! committed only if every root matches) and export committed blocks.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use cairn_chain::Block;
use cairn_chain::block::encode_receipts;
use cairn_chain::codec::{decode_exact, to_hex};
use cairn_chain::view::{HeaderView, ReceiptView};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::common::{Status, open_chain, print_json};

/// `cairn block ...`.
#[derive(Debug, Args)]
pub(crate) struct BlockArgs {
    #[command(subcommand)]
    command: BlockCommand,
}

#[derive(Debug, Subcommand)]
enum BlockCommand {
    /// Import a block file (SCALE-encoded block): re-executed, committed only if every root matches.
    Apply {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// The block file.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a committed block to a file (SCALE), e.g. for `block apply` elsewhere.
    Export {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Block number.
        #[arg(long)]
        number: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Also write the block's receipts (SCALE) to this file.
        #[arg(long)]
        receipts_out: Option<PathBuf>,
    },
}

pub(crate) fn block(args: BlockArgs) -> Result<Status> {
    match args.command {
        BlockCommand::Apply {
            data_dir,
            file,
            json,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let block: Block = decode_exact(&bytes)
                .map_err(|e| anyhow!("{} is not a SCALE-encoded block: {e}", file.display()))?;
            let mut chain = open_chain(&data_dir)?;
            let number = block.header.number;
            let receipts = chain.import_block(block)?;
            if json {
                let receipts: Vec<ReceiptView> = receipts.iter().map(ReceiptView::from).collect();
                print_json(
                    &json!({"block": HeaderView::from(chain.head()), "receipts": receipts}),
                )?;
            } else {
                println!(
                    "imported block {number}, state root {}",
                    to_hex(chain.head().state_root)
                );
            }
            Ok(Status::Done)
        }
        BlockCommand::Export {
            data_dir,
            number,
            out,
            receipts_out,
        } => {
            let chain = open_chain(&data_dir)?;
            let block = chain
                .block(number)?
                .ok_or_else(|| anyhow!("no block {number}"))?;
            std::fs::write(&out, block.to_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            if let Some(path) = receipts_out {
                let receipts = chain
                    .receipts(number)?
                    .ok_or_else(|| anyhow!("no receipts for block {number}"))?;
                std::fs::write(&path, encode_receipts(&receipts))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(Status::Done)
        }
    }
}
