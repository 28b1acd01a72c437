//! `cairn bundle export|verify`: one block made checkable offline, and the
//! offline check.

use std::path::PathBuf;

use anyhow::{Context, Result};
use cairn_chain::bundle::{ReplayBundle, export_bundle, verify_bundle};
use cairn_chain::codec::to_hex;
use cairn_chain::view::BundleVerdictView;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::common::{Status, executor, open_chain, print_json};

/// `cairn bundle ...`.
#[derive(Debug, Args)]
pub(crate) struct BundleArgs {
    #[command(subcommand)]
    command: BundleCommand,
}

#[derive(Debug, Subcommand)]
enum BundleCommand {
    /// Write block N as a self-contained replay bundle.
    Export {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Block number.
        #[arg(long)]
        block: u64,
        /// Output file (default: block-N.bundle).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify a bundle offline: no data directory needed.
    Verify {
        /// The bundle file.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn bundle(args: BundleArgs) -> Result<Status> {
    match args.command {
        BundleCommand::Export {
            data_dir,
            block,
            out,
            json,
        } => {
            let chain = open_chain(&data_dir)?;
            let bundle = export_bundle(chain.state(), chain.executor(), block)?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("block-{block}.bundle")));
            let bytes = bundle.to_bytes();
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            if json {
                print_json(
                    &json!({"block": block, "file": out.display().to_string(), "bytes": bytes.len(), "keys": bundle.pre_state.len()}),
                )?;
            } else {
                println!(
                    "wrote bundle of block {block} to {} ({} bytes, {} pre-state keys)",
                    out.display(),
                    bytes.len(),
                    bundle.pre_state.len()
                );
            }
            Ok(Status::Done)
        }
        BundleCommand::Verify { file, json } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let bundle = ReplayBundle::from_bytes(&bytes)?;
            let result = verify_bundle(&bundle, &executor());
            if json {
                print_json(&BundleVerdictView::new(&result))?;
            }
            let verified = match result {
                Ok(verified) => verified,
                Err(error) => {
                    if !json {
                        println!("bundle NOT verified: {error}");
                    }
                    return Ok(Status::NotVerified);
                }
            };
            if !json {
                println!(
                    "bundle of block {} verified: {} txs re-executed, {} pre-state keys proven, {} writes proven against state root {}",
                    verified.block,
                    verified.txs,
                    verified.keys_read,
                    verified.keys_written,
                    to_hex(verified.state_root)
                );
            }
            Ok(Status::Done)
        }
    }
}
