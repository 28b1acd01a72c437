//! `cairn estimate`: the exact lowest gas limit at which a call or deploy
//! succeeds against the head state (`specs/chain.md`, "Gas estimates").

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use cairn_chain::codec::{parse_address, parse_amount, parse_hex};
use cairn_chain::view::ReceiptView;
use cairn_chain::{Estimate, TxAction, TxRequest};
use clap::Args;
use serde_json::json;

use crate::common::{Status, open_chain, print_json};
use crate::tx::CallDataArgs;

/// `cairn estimate`.
#[derive(Debug, Args)]
pub(crate) struct EstimateArgs {
    /// Data directory.
    #[arg(long)]
    data_dir: PathBuf,
    /// Sender.
    #[arg(long)]
    from: String,
    /// Callee (a call); without it, --wasm (a deploy).
    #[arg(long, conflicts_with = "wasm")]
    to: Option<String>,
    /// The contract's .wasm file (a deploy).
    #[arg(long)]
    wasm: Option<PathBuf>,
    /// Constructor call data of a deploy, hex.
    #[arg(long, requires = "wasm", default_value = "")]
    input: String,
    #[command(flatten)]
    call: CallDataArgs,
    /// Value to send (decimal or 0x hex).
    #[arg(long, default_value = "0")]
    value: String,
    /// Gas price (the sender must afford gas limit x price + value).
    #[arg(long, default_value_t = 1)]
    gas_price: u64,
    /// Highest gas limit to consider (default: the block gas limit).
    #[arg(long)]
    cap: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn estimate(args: EstimateArgs) -> Result<Status> {
    let chain = open_chain(&args.data_dir)?;
    let action = match (&args.to, &args.wasm) {
        (Some(to), None) => TxAction::Call {
            to: parse_address(to).map_err(|e| anyhow!("--to: {e}"))?,
            data: args.call.bytes()?,
        },
        (None, Some(wasm)) => TxAction::Deploy {
            code: std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?,
            data: parse_hex(&args.input).map_err(|e| anyhow!("--input: {e}"))?,
        },
        _ => bail!("give --to (a call) or --wasm (a deploy)"),
    };
    let request = TxRequest {
        sender: parse_address(&args.from).map_err(|e| anyhow!("--from: {e}"))?,
        gas_price: args.gas_price,
        value: parse_amount(&args.value).map_err(|e| anyhow!("--value: {e}"))?,
        action,
    };
    let cap = args.cap.unwrap_or(chain.genesis().block_gas_limit);
    match chain.estimate_gas(&request, cap)? {
        Estimate::Succeeds { gas_limit, receipt } => {
            let view = ReceiptView::from(&receipt);
            if args.json {
                print_json(&json!({
                    "gas_limit": gas_limit,
                    "gas_used": receipt.gas_used,
                    "intrinsic_gas": request.intrinsic_gas(),
                    "receipt": view,
                }))?;
            } else {
                println!("gas limit: {gas_limit}");
                println!(
                    "gas used:  {} (intrinsic {}){}",
                    receipt.gas_used,
                    request.intrinsic_gas(),
                    if receipt.gas_used < gas_limit {
                        "; the limit is higher because a call forwards at most 63/64 of the gas it has"
                    } else {
                        ""
                    }
                );
            }
            Ok(Status::Done)
        }
        Estimate::Fails { cap, receipt } => {
            let view = ReceiptView::from(&receipt);
            if args.json {
                print_json(&json!({ "fails_at_cap": cap, "receipt": view }))?;
            } else {
                println!(
                    "does not succeed even with gas limit {cap}: {}",
                    view.status
                );
                if let Some(error) = &view.error {
                    println!("error: {}", error.message);
                }
            }
            Ok(Status::ContractFailed)
        }
        Estimate::Refused(error) => bail!("the transaction would not be admitted: {error}"),
    }
}
