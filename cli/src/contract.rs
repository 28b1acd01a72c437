//! `cairn deploy`, `cairn call` (each in a new block) and `cairn query` (a
//! dry run against the head state).

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use cairn_chain::TxAction;
use cairn_chain::codec::{parse_address, parse_hex, to_hex};
use cairn_chain::view::OutcomeView;
use cairn_engine::runtime::{Message, MessageKind};
use cairn_host_api::world::U256;
use clap::Args;
use serde_json::json;

use crate::common::{Status, print_json};
use crate::tx::{CallDataArgs, Target, TxFields, Where, sign_for, submit, submit_remote};

/// `cairn deploy`.
#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    fields: TxFields,
    /// The contract's .wasm file.
    #[arg(long)]
    wasm: PathBuf,
    /// Constructor call data (SCALE arguments of `deploy`), hex.
    #[arg(long, default_value = "")]
    input: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn deploy(args: DeployArgs) -> Result<Status> {
    let code =
        std::fs::read(&args.wasm).with_context(|| format!("reading {}", args.wasm.display()))?;
    let data = parse_hex(&args.input).map_err(|e| anyhow!("--input: {e}"))?;
    let target = args.target.open()?;
    let tx = sign_for(&target, &args.fields, TxAction::Deploy { code, data })?;
    send(target, tx, args.json)
}

/// Includes `tx` in a new block, or submits it to the node and waits.
fn send(target: Where, tx: cairn_chain::SignedTransaction, json: bool) -> Result<Status> {
    match target {
        Where::Local(mut chain) => submit(&mut chain, vec![tx.into()], json),
        Where::Remote(client) => submit_remote(&client, vec![tx.into()], json),
    }
}

/// `cairn call`.
#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    fields: TxFields,
    /// Callee.
    #[arg(long)]
    to: String,
    #[command(flatten)]
    call: CallDataArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn call(args: CallArgs) -> Result<Status> {
    let to = parse_address(&args.to).map_err(|e| anyhow!("--to: {e}"))?;
    let target = args.target.open()?;
    let tx = sign_for(
        &target,
        &args.fields,
        TxAction::Call {
            to,
            data: args.call.bytes()?,
        },
    )?;
    send(target, tx, args.json)
}

/// `cairn query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    #[command(flatten)]
    target: Target,
    /// Callee.
    #[arg(long)]
    to: String,
    #[command(flatten)]
    call: CallDataArgs,
    /// Caller the contract sees.
    #[arg(long, default_value = "0x0000000000000000000000000000000000000000")]
    from: String,
    /// Gas limit.
    #[arg(long, default_value_t = 50_000_000)]
    gas_limit: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn query(args: QueryArgs) -> Result<Status> {
    let from = parse_address(&args.from).map_err(|e| anyhow!("--from: {e}"))?;
    let to = parse_address(&args.to).map_err(|e| anyhow!("--to: {e}"))?;
    let input = args.call.bytes()?;
    let view = match args.target.open()? {
        Where::Local(chain) => {
            let message = Message {
                origin: from,
                caller: from,
                target: to,
                value: U256::zero(),
                input,
                gas_limit: args.gas_limit,
                kind: MessageKind::Call,
            };
            OutcomeView::new(&chain.query(&message)?, args.gas_limit)
        }
        Where::Remote(client) => {
            // The node's `gas` is a transaction's (intrinsic gas included);
            // ask for the message's --gas-limit on top of it.
            let intrinsic = cairn_chain::intrinsic_gas_of(&TxAction::Call {
                to,
                data: input.clone(),
            });
            client.call(json!({
                "from": to_hex(from),
                "to": to_hex(to),
                "input": to_hex(&input),
                "gas": format!("0x{:x}", args.gas_limit.saturating_add(intrinsic)),
            }))?
        }
    };
    if args.json {
        print_json(&view)?;
    } else {
        println!(
            "{} gas {} output {}",
            view.status, view.gas_used, view.output
        );
        if let Some(error) = &view.error {
            println!("error: {}", error.message);
        }
    }
    Ok(if view.status == "success" {
        Status::Done
    } else {
        Status::ContractFailed
    })
}
