//! `cairn tx sign|send`: signed transactions, and the block that includes
//! them (also what `cairn deploy` and `cairn call` submit through).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use cairn_chain::codec::{decode_exact, parse_address, parse_amount, parse_hex, to_hex};
use cairn_chain::view::{HeaderView, ReceiptView};
use cairn_chain::{
    Envelope, EthereumTransaction, Receipt, SignedTransaction, Transaction, TxAction,
};
use cairn_host_api::world::Address;
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::json;

use cairn_node::client::RpcClient;

use crate::common::{RocksChain, Status, open_chain, print_json};
use crate::key::read_key;
use crate::typed_call::{DecodedView, print_decoded};

/// Call data: raw hex, or a method and its arguments.
#[derive(Debug, Args)]
pub(crate) struct CallDataArgs {
    /// Raw call data, hex.
    #[arg(long, conflicts_with = "method")]
    pub(crate) data: Option<String>,
    /// Method name (the selector is derived from it, specs/abi.md).
    #[arg(long)]
    pub(crate) method: Option<String>,
    /// Arguments of --method: a JSON array typed through the contract's
    /// metadata (`call`, `query`), e.g. '["0x11..11", "1000"]', or SCALE hex.
    #[arg(long, requires = "method", default_value = "")]
    pub(crate) args: String,
}

impl CallDataArgs {
    pub(crate) fn bytes(&self) -> Result<Vec<u8>> {
        match (&self.data, &self.method) {
            (Some(data), _) => parse_hex(data).map_err(|e| anyhow!("--data: {e}")),
            (None, Some(method)) => {
                let mut out = cairn_host_api::abi::selector(method).to_vec();
                out.extend(parse_hex(&self.args).map_err(|e| anyhow!("--args: {e}"))?);
                Ok(out)
            }
            (None, None) => Ok(Vec::new()),
        }
    }
}

/// Where a command reaches the chain: its data directory, or a running node.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// Data directory (the command opens the chain itself).
    #[arg(long, required_unless_present = "rpc", conflicts_with = "rpc")]
    data_dir: Option<PathBuf>,
    /// A running node's JSON-RPC URL (`http://127.0.0.1:8545`), instead of a data directory.
    #[arg(long, value_name = "URL")]
    rpc: Option<String>,
}

/// An opened [`Target`].
pub(crate) enum Where {
    /// The chain in a data directory.
    Local(RocksChain),
    /// A node over JSON-RPC.
    Remote(RpcClient),
}

impl Target {
    pub(crate) fn open(&self) -> Result<Where> {
        match (&self.data_dir, &self.rpc) {
            (_, Some(url)) => Ok(Where::Remote(RpcClient::new(url)?)),
            (Some(dir), None) => Ok(Where::Local(open_chain(dir)?)),
            (None, None) => bail!("give --data-dir DIR or --rpc URL"),
        }
    }
}

/// Fields of a transaction to sign.
#[derive(Debug, Args)]
pub(crate) struct TxFields {
    /// Key file of the sender.
    #[arg(long)]
    key: PathBuf,
    /// Gas limit (intrinsic gas included).
    #[arg(long, default_value_t = 5_000_000)]
    gas_limit: u64,
    /// Gas price.
    #[arg(long, default_value_t = 1)]
    gas_price: u64,
    /// Value to send (decimal or 0x hex).
    #[arg(long, default_value = "0")]
    value: String,
}

/// `cairn tx ...`.
#[derive(Debug, Args)]
pub(crate) struct TxArgs {
    #[command(subcommand)]
    command: TxCommand,
}

#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing clap arguments buys nothing"
)]
#[derive(Debug, Subcommand)]
enum TxCommand {
    /// Sign a call transaction and print it (hex of its SCALE encoding).
    Sign {
        #[command(flatten)]
        fields: TxFields,
        /// Callee (omit with --wasm to sign a deploy).
        #[arg(long, required_unless_present = "wasm")]
        to: Option<String>,
        /// Sign a deploy of this .wasm file; the call data is the `deploy` export's input.
        #[arg(long, conflicts_with = "to")]
        wasm: Option<PathBuf>,
        #[command(flatten)]
        call: CallDataArgs,
        /// Chain id (default: read from --data-dir).
        #[arg(long)]
        chain_id: Option<u64>,
        /// Nonce (default: the sender's next nonce in --data-dir).
        #[arg(long)]
        nonce: Option<u64>,
        /// Data directory to read the chain id and nonce from.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Also write the hex to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Include signed transactions (hex files or `0x…` arguments) in a new
    /// block, or submit them to a running node and wait for their receipts.
    Send {
        #[command(flatten)]
        target: Target,
        /// Signed transactions: files holding hex, or hex directly.
        #[arg(required = true)]
        txs: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A signed transaction from a file or an argument: hex of a native SCALE
/// transaction (`cairn tx sign`) or of Ethereum EIP-2718 bytes (any
/// Ethereum wallet's signed transaction).
fn decode_tx_arg(arg: &str) -> Result<Envelope> {
    let text = if Path::new(arg).exists() {
        std::fs::read_to_string(arg).with_context(|| format!("reading {arg}"))?
    } else {
        arg.to_string()
    };
    let bytes = parse_hex(text.trim()).map_err(|e| anyhow!("transaction {arg}: {e}"))?;
    match decode_exact::<SignedTransaction>(&bytes) {
        Ok(native) => Ok(native.into()),
        Err(native_error) => match EthereumTransaction::from_raw(&bytes) {
            Ok(ethereum) => Ok(ethereum.into()),
            Err(ethereum_error) => Err(anyhow!(
                "transaction {arg}: neither a native SCALE transaction ({native_error}) nor an Ethereum one ({ethereum_error})"
            )),
        },
    }
}

pub(crate) fn tx(args: TxArgs) -> Result<Status> {
    match args.command {
        TxCommand::Sign {
            fields,
            to,
            wasm,
            call,
            chain_id,
            nonce,
            data_dir,
            out,
            json,
        } => {
            let key = read_key(&fields.key)?;
            let chain = data_dir.as_deref().map(open_chain).transpose()?;
            let chain_id = match (chain_id, &chain) {
                (Some(id), _) => id,
                (None, Some(chain)) => chain.genesis().chain_id,
                (None, None) => bail!("give --chain-id or --data-dir"),
            };
            let nonce = match (nonce, &chain) {
                (Some(n), _) => n,
                (None, Some(chain)) => chain.account(&key.address())?.nonce,
                (None, None) => bail!("give --nonce or --data-dir"),
            };
            let action = match (to, wasm) {
                (Some(to), _) => TxAction::Call {
                    to: parse_address(&to).map_err(|e| anyhow!("--to: {e}"))?,
                    data: call.bytes()?,
                },
                (None, Some(wasm)) => TxAction::Deploy {
                    code: std::fs::read(&wasm)
                        .with_context(|| format!("reading {}", wasm.display()))?,
                    data: call.bytes()?,
                },
                (None, None) => bail!("give --to (a call) or --wasm (a deploy)"),
            };
            let tx = Transaction {
                chain_id,
                nonce,
                gas_limit: fields.gas_limit,
                gas_price: fields.gas_price,
                value: parse_amount(&fields.value).map_err(|e| anyhow!("--value: {e}"))?,
                action,
            }
            .sign(&key);
            let encoded = hex::encode(tx.to_bytes());
            if let Some(out) = out {
                std::fs::write(&out, &encoded)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            if json {
                print_json(&json!({"hash": to_hex(tx.hash()), "tx": encoded}))?;
            } else {
                println!("{encoded}");
            }
            Ok(Status::Done)
        }
        TxCommand::Send { target, txs, json } => {
            let txs = txs
                .iter()
                .map(|t| decode_tx_arg(t))
                .collect::<Result<Vec<_>>>()?;
            match target.open()? {
                Where::Local(mut chain) => submit(&mut chain, txs, json),
                Where::Remote(client) => submit_remote(&client, txs, json),
            }
        }
    }
}

/// Signs `action` with the key of `fields` for the chain's next nonce of
/// that key (a node's pending nonce, counting its mempool).
pub(crate) fn sign_for(
    target: &Where,
    fields: &TxFields,
    action: TxAction,
) -> Result<SignedTransaction> {
    let key = read_key(&fields.key)?;
    let (chain_id, nonce) = match target {
        Where::Local(chain) => (
            chain.genesis().chain_id,
            chain.account(&key.address())?.nonce,
        ),
        Where::Remote(client) => (client.chain_id()?, client.pending_nonce(&key.address())?),
    };
    let tx = Transaction {
        chain_id,
        nonce,
        gas_limit: fields.gas_limit,
        gas_price: fields.gas_price,
        value: parse_amount(&fields.value).map_err(|e| anyhow!("--value: {e}"))?,
        action,
    };
    Ok(tx.sign(&key))
}

fn now_after(chain: &RocksChain) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    now.max(chain.head().timestamp)
}

/// What became of one submitted transaction.
#[derive(Debug, Serialize)]
struct Submitted {
    hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    block: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<ReceiptView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected: Option<String>,
    /// What the contract metadata makes of the receipt (`cairn deploy`/`call`).
    #[serde(skip_serializing_if = "Option::is_none")]
    decoded: Option<DecodedView>,
}

/// Decodes a receipt through contract metadata, for the commands that know
/// which contract they called.
pub(crate) type ReceiptDecoder<'a> = &'a dyn Fn(&ReceiptView) -> Option<DecodedView>;

/// Produces a block with `txs` and prints what happened to each. Exits 3
/// if an included transaction did not succeed; a rejected one is an error.
pub(crate) fn submit(chain: &mut RocksChain, txs: Vec<Envelope>, json: bool) -> Result<Status> {
    submit_decoded(chain, txs, json, &|_| None)
}

/// [`submit`], printing each receipt decoded by `decode` too.
pub(crate) fn submit_decoded(
    chain: &mut RocksChain,
    txs: Vec<Envelope>,
    json: bool,
    decode: ReceiptDecoder<'_>,
) -> Result<Status> {
    let hashes: Vec<_> = txs.iter().map(Envelope::hash).collect();
    let timestamp = now_after(chain);
    let (block, receipts, rejected) = chain.produce_block(timestamp, Address::zero(), txs)?;
    let mut included = receipts.iter();
    let results: Vec<Submitted> = hashes
        .iter()
        .enumerate()
        .map(
            |(index, hash)| match rejected.iter().find(|(i, _)| *i == index) {
                Some((_, error)) => Submitted {
                    hash: to_hex(hash),
                    block: None,
                    receipt: None,
                    rejected: Some(error.to_string()),
                    decoded: None,
                },
                None => {
                    let receipt = included.next().map(ReceiptView::from);
                    Submitted {
                        hash: to_hex(hash),
                        block: Some(block.header.number),
                        decoded: receipt.as_ref().and_then(decode),
                        receipt,
                        rejected: None,
                    }
                }
            },
        )
        .collect();
    report(Some(&HeaderView::from(&block.header)), &results, json)?;
    if !rejected.is_empty() {
        bail!(
            "{} transaction(s) rejected: {}",
            rejected.len(),
            rejected[0].1
        );
    }
    if receipts.iter().all(Receipt::is_success) {
        Ok(Status::Done)
    } else {
        Ok(Status::ContractFailed)
    }
}

/// How long `--rpc` commands wait for a receipt.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Submits `txs` to a node, waits for their receipts and prints what
/// happened to each, as [`submit`] does. Exits 3 if an included transaction
/// did not succeed; a refused one is an error.
pub(crate) fn submit_remote(client: &RpcClient, txs: Vec<Envelope>, json: bool) -> Result<Status> {
    submit_remote_decoded(client, txs, json, &|_| None)
}

/// [`submit_remote`], printing each receipt decoded by `decode` too.
pub(crate) fn submit_remote_decoded(
    client: &RpcClient,
    txs: Vec<Envelope>,
    json: bool,
    decode: ReceiptDecoder<'_>,
) -> Result<Status> {
    let mut refused = Vec::new();
    let mut results: Vec<Submitted> = txs
        .iter()
        .map(|tx| {
            let hash = to_hex(tx.hash());
            match client.send(tx) {
                Ok(_) => Submitted {
                    hash,
                    block: None,
                    receipt: None,
                    rejected: None,
                    decoded: None,
                },
                Err(error) => {
                    refused.push(error.to_string());
                    Submitted {
                        hash,
                        block: None,
                        receipt: None,
                        rejected: Some(error.to_string()),
                        decoded: None,
                    }
                }
            }
        })
        .collect();
    let mut last_block = None;
    let mut all_succeeded = true;
    for (tx, result) in txs.iter().zip(&mut results) {
        if result.rejected.is_some() {
            continue;
        }
        let found = client.wait_for_receipt(&tx.hash(), RECEIPT_TIMEOUT)?;
        all_succeeded &= found.receipt.status == "success";
        result.block = Some(found.block.number);
        result.decoded = decode(&found.receipt);
        result.receipt = Some(found.receipt);
        if last_block
            .as_ref()
            .is_none_or(|b: &HeaderView| b.number <= found.block.number)
        {
            last_block = Some(found.block);
        }
    }
    report(last_block.as_ref(), &results, json)?;
    if let Some(first) = refused.first() {
        bail!("{} transaction(s) rejected: {first}", refused.len());
    }
    Ok(if all_succeeded {
        Status::Done
    } else {
        Status::ContractFailed
    })
}

/// Prints the block and what became of each transaction.
fn report(block: Option<&HeaderView>, results: &[Submitted], json: bool) -> Result<()> {
    if json {
        return print_json(&json!({"block": block, "txs": results}));
    }
    if let Some(block) = block {
        println!("block {} state root {}", block.number, block.state_root);
    }
    for result in results {
        match (&result.receipt, &result.rejected) {
            (Some(receipt), _) => {
                print!(
                    "tx {}: {} gas {}",
                    result.hash, receipt.status, receipt.gas_used
                );
                if let Some(address) = &receipt.contract_address {
                    print!(" created {address}");
                }
                if let Some(error) = &receipt.error {
                    print!(" ({})", error.message);
                    // Halts while running (not rejections before it) use the whole limit.
                    if error.charged_whole_limit
                        && !matches!(
                            error.kind.as_str(),
                            "invalid_code"
                                | "contract_exists"
                                | "insufficient_balance"
                                | "missing_export"
                                | "instantiation"
                        )
                    {
                        print!(" [a halt is charged the whole gas limit]");
                    }
                }
                println!();
                if let Some(decoded) = &result.decoded {
                    print_decoded(decoded);
                }
            }
            (None, Some(reason)) => println!("tx {}: rejected: {reason}", result.hash),
            (None, None) => println!("tx {}: no receipt", result.hash),
        }
    }
    Ok(())
}
