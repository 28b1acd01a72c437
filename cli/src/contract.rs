//! `cairn deploy`, `cairn call` (each in a new block) and `cairn query` (a
//! dry run against the head state).

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use cairn_chain::TxAction;
use cairn_chain::codec::{parse_address, parse_hex};
use cairn_chain::view::OutcomeView;
use cairn_engine::runtime::{Message, MessageKind};
use cairn_host_api::world::U256;
use clap::Args;

use crate::common::{Status, open_chain, print_json};
use crate::tx::{CallDataArgs, TxFields, sign_for, submit};

/// `cairn deploy`.
#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// Data directory.
    #[arg(long)]
    data_dir: PathBuf,
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
    let mut chain = open_chain(&args.data_dir)?;
    let tx = sign_for(&chain, &args.fields, TxAction::Deploy { code, data })?;
    submit(&mut chain, vec![tx.into()], args.json)
}

/// `cairn call`.
#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// Data directory.
    #[arg(long)]
    data_dir: PathBuf,
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
    let mut chain = open_chain(&args.data_dir)?;
    let to = parse_address(&args.to).map_err(|e| anyhow!("--to: {e}"))?;
    let tx = sign_for(
        &chain,
        &args.fields,
        TxAction::Call {
            to,
            data: args.call.bytes()?,
        },
    )?;
    submit(&mut chain, vec![tx.into()], args.json)
}

/// `cairn query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// Data directory.
    #[arg(long)]
    data_dir: PathBuf,
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
    let chain = open_chain(&args.data_dir)?;
    let from = parse_address(&args.from).map_err(|e| anyhow!("--from: {e}"))?;
    let message = Message {
        origin: from,
        caller: from,
        target: parse_address(&args.to).map_err(|e| anyhow!("--to: {e}"))?,
        value: U256::zero(),
        input: args.call.bytes()?,
        gas_limit: args.gas_limit,
        kind: MessageKind::Call,
    };
    let outcome = chain.query(&message)?;
    let view = OutcomeView::new(&outcome, args.gas_limit);
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
    Ok(if outcome.is_success() {
        Status::Done
    } else {
        Status::ContractFailed
    })
}
