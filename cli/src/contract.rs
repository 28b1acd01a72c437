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
use crate::tx::{
    CallDataArgs, ReceiptDecoder, Target, TxFields, Where, sign_for, submit_decoded,
    submit_remote_decoded,
};
use crate::typed_call;

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
    /// Constructor arguments as a JSON array, typed through the contract's
    /// metadata (e.g. '["Token", "TKN", "1000000"]'); instead of --input.
    #[arg(long, conflicts_with = "input")]
    args: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn deploy(args: DeployArgs) -> Result<Status> {
    let code =
        std::fs::read(&args.wasm).with_context(|| format!("reading {}", args.wasm.display()))?;
    let what = args.wasm.display().to_string();
    let meta = typed_call::metadata_of(&code, &what)?;
    let data = match &args.args {
        Some(json) => typed_call::deploy_args(meta.as_ref(), &what, json)?,
        None => parse_hex(&args.input).map_err(|e| anyhow!("--input: {e}"))?,
    };
    let target = args.target.open()?;
    let tx = sign_for(&target, &args.fields, TxAction::Deploy { code, data })?;
    send(
        target,
        tx,
        args.json,
        &typed_call::receipt_decoder(meta, None, None),
    )
}

/// Includes `tx` in a new block, or submits it to the node and waits.
fn send(
    target: Where,
    tx: cairn_chain::SignedTransaction,
    json: bool,
    decode: ReceiptDecoder<'_>,
) -> Result<Status> {
    match target {
        Where::Local(mut chain) => submit_decoded(&mut chain, vec![tx.into()], json, decode),
        Where::Remote(client) => submit_remote_decoded(&client, vec![tx.into()], json, decode),
    }
}

/// Call data from `--data`/`--method --args`, typing JSON arguments
/// through the metadata of the contract at `to`; and that metadata.
fn typed_call_data(
    target: &Where,
    to: &cairn_host_api::world::Address,
    call: &CallDataArgs,
) -> Result<(Vec<u8>, Option<cairn_host_api::metadata::ContractMetadata>)> {
    let meta = typed_call::metadata_at(target, to)?;
    let data = match (&call.data, &call.method) {
        (Some(_), _) | (None, None) => call.bytes()?,
        (None, Some(method)) => {
            let what = format!("the contract at {}", to_hex(to));
            let mut data = cairn_host_api::abi::selector(method).to_vec();
            data.extend(typed_call::method_args(
                meta.as_ref(),
                &what,
                method,
                &call.args,
            )?);
            data
        }
    };
    Ok((data, meta))
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
    let (data, meta) = typed_call_data(&target, &to, &args.call)?;
    let decoder = typed_call::receipt_decoder(meta, Some(data.clone()), Some(to_hex(to)));
    let tx = sign_for(&target, &args.fields, TxAction::Call { to, data })?;
    send(target, tx, args.json, &decoder)
}

/// `cairn query --json`: the outcome, and what the metadata makes of it.
#[derive(Debug, serde::Serialize)]
struct QueryView {
    #[serde(flatten)]
    outcome: OutcomeView,
    #[serde(skip_serializing_if = "Option::is_none")]
    decoded: Option<typed_call::DecodedView>,
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
    let target = args.target.open()?;
    let (input, meta) = typed_call_data(&target, &to, &args.call)?;
    let view = match target {
        Where::Local(chain) => {
            let message = Message {
                origin: from,
                caller: from,
                target: to,
                value: U256::zero(),
                input: input.clone(),
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
    let success = view.status == "success";
    let this = to_hex(to);
    let decoded = meta.as_ref().map(|meta| {
        typed_call::decode_outcome(
            Some(meta),
            Some(&input),
            &view.status,
            &view.output,
            &view.logs,
            &|at: &str| (at == this).then(|| meta.clone()),
        )
    });
    if args.json {
        print_json(&QueryView {
            outcome: view,
            decoded,
        })?;
    } else {
        println!(
            "{} gas {} output {}",
            view.status, view.gas_used, view.output
        );
        if let Some(error) = &view.error {
            println!("error: {}", error.message);
            if error.charged_whole_limit && view.gas_used == view.gas_limit {
                println!(
                    "note: a halt is charged the whole gas limit ({}); the gas it reached is not what it used",
                    view.gas_limit
                );
            }
        }
        if let Some(decoded) = &decoded {
            typed_call::print_decoded(decoded);
        }
    }
    Ok(if success {
        Status::Done
    } else {
        Status::ContractFailed
    })
}
