//! Chain commands: `cairn init`, `key`, `tx`, `block`, `deploy`, `call`,
//! `query`, `replay`. The chain lives in a RocksDB data directory.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use cairn_engine::chain::block::encode_receipts;
use cairn_engine::chain::bundle::{ReplayBundle, export_bundle, verify_bundle};
use cairn_engine::chain::genesis::{parse_address, parse_amount, parse_hex};
use cairn_engine::chain::tx::decode_exact;
use cairn_engine::chain::{
    Block, Chain, Genesis, Receipt, ReplayReport, SignedTransaction, SigningKey, Transaction,
    TxAction, replay,
};
use cairn_engine::runtime::{ExecConfig, ExecOutcome, ExecStatus, Executor, Message, MessageKind};
use cairn_host_api::world::{Address, U256};
use cairn_state::{RocksBackend, RocksStore, StoreOptions};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// A chain on RocksDB.
pub(crate) type RocksChain = Chain<RocksBackend>;

pub(crate) fn executor() -> Executor {
    Executor::new(ExecConfig::default())
}

/// Opens the chain in `data_dir`.
pub(crate) fn open_chain(data_dir: &Path) -> Result<RocksChain> {
    if !data_dir.exists() {
        bail!(
            "data directory {} does not exist; run `cairn init --genesis FILE --data-dir DIR` first",
            data_dir.display()
        );
    }
    // Read commands must not create a database where there is none.
    if !data_dir.join("CURRENT").exists() {
        bail!(
            "{} holds no chain; run `cairn init --genesis FILE --data-dir DIR` first",
            data_dir.display()
        );
    }
    let store = RocksStore::open(data_dir, StoreOptions::default())
        .with_context(|| format!("opening the state store in {}", data_dir.display()))?;
    Chain::open(store, executor())
        .with_context(|| format!("opening the chain in {}", data_dir.display()))
}

/// Size in bytes of every file under `dir`.
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A fresh scratch directory for a replay, beside nothing the user owns.
pub(crate) fn scratch_dir(label: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("cairn-{label}-{}-{nanos}", std::process::id()))
}

/// Replays the chain in `source` into a fresh RocksDB scratch store, with a
/// progress bar on a terminal.
pub(crate) fn replay_into_scratch(
    source: &RocksStore,
    from: u64,
    to: Option<u64>,
    show_progress: bool,
) -> Result<(ReplayReport, f64)> {
    let dir = scratch_dir("replay");
    let scratch =
        RocksStore::open(&dir, StoreOptions::default()).context("opening the scratch store")?;
    let total = to.unwrap_or_else(|| source.latest_version().unwrap_or(0));
    let bar = (show_progress && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template("replay {bar:40} {pos}/{len} blocks {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let started = Instant::now();
    let mut txs = 0usize;
    let result = replay(source, scratch, executor(), from, to, |_, n| {
        txs += n;
        if let Some(bar) = &bar {
            bar.inc(1);
            bar.set_message(format!("{txs} txs"));
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok((result?, seconds))
}

pub(crate) fn receipt_json(receipt: &Receipt) -> Value {
    let (output, halt) = match &receipt.status {
        ExecStatus::Success { return_data } => (hex::encode(return_data), None),
        ExecStatus::Revert { data } => (hex::encode(data), None),
        ExecStatus::Halt { reason } => (String::new(), Some(reason.to_string())),
    };
    json!({
        "status": receipt.status.name(),
        "gas_used": receipt.gas_used,
        "cumulative_gas_used": receipt.cumulative_gas_used,
        "output": output,
        "halt_reason": halt,
        "logs": receipt.logs.iter().map(|log| json!({
            "address": format!("{:?}", log.address),
            "topics": log.topics.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>(),
            "data": hex::encode(&log.data),
        })).collect::<Vec<_>>(),
        "contract_address": receipt.contract_address.map(|a| format!("{a:?}")),
    })
}

#[allow(
    clippy::float_arithmetic,
    reason = "throughput figures for people; they never reach a root, receipt or gas figure"
)]
fn report_json(report: &ReplayReport, seconds: f64) -> Value {
    let tx_per_s = if seconds > 0.0 {
        report.txs as f64 / seconds
    } else {
        0.0
    };
    json!({
        "verified": report.verified(),
        "from": report.from,
        "to": report.to,
        "blocks": report.blocks,
        "txs": report.txs,
        "seconds": seconds,
        "tx_per_s": tx_per_s,
        "state_root": report.state_root,
        "divergence": report.divergence.as_ref().map(|d| json!({
            "block": d.block,
            "tx_index": d.tx_index,
            "field": d.field,
            "stored": d.stored,
            "replayed": d.replayed,
            "first_differing_key": d.first_differing_key,
        })),
    })
}

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

pub(crate) fn init(args: InitArgs) -> Result<()> {
    let genesis = Genesis::from_file(&args.genesis)?;
    let store = RocksStore::open(&args.data_dir, StoreOptions::default())
        .with_context(|| format!("opening {}", args.data_dir.display()))?;
    let chain = Chain::init(store, executor(), genesis)?;
    let head = chain.head();
    if args.json {
        println!(
            "{}",
            json!({"block": 0, "hash": format!("{:?}", head.hash()), "state_root": hex::encode(head.state_root)})
        );
    } else {
        println!(
            "initialised chain {} in {}",
            chain.genesis().chain_id,
            args.data_dir.display()
        );
        println!(
            "genesis hash {:?}\nstate root   0x{}",
            head.hash(),
            hex::encode(head.state_root)
        );
    }
    Ok(())
}

/// `cairn key ...`.
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create a random key and write its secret (hex) to a file.
    New {
        /// Where to write the secret key (created with mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the address of a key file.
    Address {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn read_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading key file {}", path.display()))?;
    let bytes = parse_hex(text.trim()).map_err(|e| anyhow!("key file {}: {e}", path.display()))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
        anyhow!(
            "key file {}: a secret key is 32 bytes (64 hex digits)",
            path.display()
        )
    })?;
    SigningKey::from_bytes(bytes).map_err(|e| anyhow!("key file {}: {e}", path.display()))
}

fn random_secret() -> Result<[u8; 32]> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes)
}

pub(crate) fn key(args: KeyArgs) -> Result<()> {
    match args.command {
        KeyCommand::New { out, json } => {
            if out.exists() {
                bail!("{} exists; refusing to overwrite a key", out.display());
            }
            let key = loop {
                if let Ok(key) = SigningKey::from_bytes(random_secret()?) {
                    break key;
                }
            };
            write_secret(&out, &hex::encode(key.to_bytes()))?;
            print_address(&key.address(), json);
        }
        KeyCommand::Address { key, json } => print_address(&read_key(&key)?.address(), json),
    }
    Ok(())
}

fn write_secret(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{text}")?;
    Ok(())
}

fn print_address(address: &Address, json: bool) {
    if json {
        println!("{}", json!({ "address": format!("{address:?}") }));
    } else {
        println!("{address:?}");
    }
}

/// Call data: raw hex, or a method and its SCALE-encoded arguments.
#[derive(Debug, Args)]
struct CallDataArgs {
    /// Raw call data, hex.
    #[arg(long, conflicts_with = "method")]
    data: Option<String>,
    /// Method name (the selector is derived from it, specs/abi.md).
    #[arg(long)]
    method: Option<String>,
    /// SCALE-encoded arguments of --method, hex.
    #[arg(long, requires = "method", default_value = "")]
    args: String,
}

impl CallDataArgs {
    fn bytes(&self) -> Result<Vec<u8>> {
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

/// Fields of a transaction to sign.
#[derive(Debug, Args)]
struct TxFields {
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
    /// Include signed transactions (hex files or `0x…` arguments) in a new block.
    Send {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Signed transactions: files holding hex, or hex directly.
        #[arg(required = true)]
        txs: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn decode_tx_arg(arg: &str) -> Result<SignedTransaction> {
    let text = if Path::new(arg).exists() {
        std::fs::read_to_string(arg).with_context(|| format!("reading {arg}"))?
    } else {
        arg.to_string()
    };
    let bytes = parse_hex(text.trim()).map_err(|e| anyhow!("transaction {arg}: {e}"))?;
    decode_exact(&bytes).map_err(|e| anyhow!("transaction {arg}: bad transaction encoding: {e}"))
}

pub(crate) fn tx(args: TxArgs) -> Result<()> {
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
                println!(
                    "{}",
                    json!({"hash": format!("{:?}", tx.hash()), "tx": encoded})
                );
            } else {
                println!("{encoded}");
            }
            Ok(())
        }
        TxCommand::Send {
            data_dir,
            txs,
            json,
        } => {
            let txs = txs
                .iter()
                .map(|t| decode_tx_arg(t))
                .collect::<Result<Vec<_>>>()?;
            let mut chain = open_chain(&data_dir)?;
            submit(&mut chain, txs, json)
        }
    }
}

fn now_after(chain: &RocksChain) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    now.max(chain.head().timestamp)
}

/// Produces a block with `txs` and prints what happened to each.
fn submit(chain: &mut RocksChain, txs: Vec<SignedTransaction>, json: bool) -> Result<()> {
    let hashes: Vec<_> = txs.iter().map(SignedTransaction::hash).collect();
    let timestamp = now_after(chain);
    let (block, receipts, rejected) = chain.produce_block(timestamp, Address::zero(), txs)?;
    let mut included = receipts.iter();
    let mut results = Vec::new();
    for (index, hash) in hashes.iter().enumerate() {
        match rejected.iter().find(|(i, _)| *i == index) {
            Some((_, error)) => {
                results.push(json!({"hash": format!("{hash:?}"), "rejected": error.to_string()}))
            }
            None => {
                let receipt = included.next().map(receipt_json).unwrap_or(Value::Null);
                results.push(json!({"hash": format!("{hash:?}"), "receipt": receipt}));
            }
        }
    }
    if json {
        println!(
            "{}",
            json!({"block": block.header.number, "state_root": hex::encode(block.header.state_root), "txs": results})
        );
    } else {
        println!(
            "block {} state root 0x{}",
            block.header.number,
            hex::encode(block.header.state_root)
        );
        for result in &results {
            println!("{result}");
        }
    }
    if !rejected.is_empty() {
        bail!(
            "{} transaction(s) rejected: {}",
            rejected.len(),
            rejected[0].1
        );
    }
    Ok(())
}

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

pub(crate) fn block(args: BlockArgs) -> Result<()> {
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
                println!(
                    "{}",
                    json!({"block": number, "state_root": hex::encode(chain.head().state_root), "receipts": receipts.iter().map(receipt_json).collect::<Vec<_>>()})
                );
            } else {
                println!(
                    "imported block {number}, state root 0x{}",
                    hex::encode(chain.head().state_root)
                );
            }
            Ok(())
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
            Ok(())
        }
    }
}

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

fn sign_for(chain: &RocksChain, fields: &TxFields, action: TxAction) -> Result<SignedTransaction> {
    let key = read_key(&fields.key)?;
    let tx = Transaction {
        chain_id: chain.genesis().chain_id,
        nonce: chain.account(&key.address())?.nonce,
        gas_limit: fields.gas_limit,
        gas_price: fields.gas_price,
        value: parse_amount(&fields.value).map_err(|e| anyhow!("--value: {e}"))?,
        action,
    };
    Ok(tx.sign(&key))
}

pub(crate) fn deploy(args: DeployArgs) -> Result<()> {
    let code =
        std::fs::read(&args.wasm).with_context(|| format!("reading {}", args.wasm.display()))?;
    let data = parse_hex(&args.input).map_err(|e| anyhow!("--input: {e}"))?;
    let mut chain = open_chain(&args.data_dir)?;
    let tx = sign_for(&chain, &args.fields, TxAction::Deploy { code, data })?;
    submit(&mut chain, vec![tx], args.json)
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

pub(crate) fn call(args: CallArgs) -> Result<()> {
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
    submit(&mut chain, vec![tx], args.json)
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

pub(crate) fn query(args: QueryArgs) -> Result<()> {
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
    let outcome: ExecOutcome = chain.query(&message)?;
    let (output, halt) = match &outcome.status {
        ExecStatus::Success { return_data } => (hex::encode(return_data), None),
        ExecStatus::Revert { data } => (hex::encode(data), None),
        ExecStatus::Halt { reason } => (String::new(), Some(reason.to_string())),
    };
    if args.json {
        println!(
            "{}",
            json!({"status": outcome.status.name(), "gas_used": outcome.gas_used, "output": output, "halt_reason": halt})
        );
    } else {
        println!(
            "{} gas {} output 0x{output}",
            outcome.status.name(),
            outcome.gas_used
        );
        if let Some(halt) = halt {
            println!("halt: {halt}");
        }
    }
    if !outcome.is_success() {
        std::process::exit(1);
    }
    Ok(())
}

/// `cairn replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// Data directory of the chain to check.
    #[arg(long)]
    data_dir: PathBuf,
    /// First block to check (earlier blocks are re-executed too, to rebuild the state).
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// Last block to check (default: the head).
    #[arg(long)]
    to: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn replay_cmd(args: ReplayArgs) -> Result<()> {
    let chain = open_chain(&args.data_dir)?;
    let source = chain.into_store();
    let (report, seconds) = replay_into_scratch(&source, args.from, args.to, !args.json)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report_json(&report, seconds))?
        );
    } else if let Some(divergence) = &report.divergence {
        println!("DIVERGENCE at {divergence}");
    } else {
        println!(
            "replayed blocks {}..={}: {} txs in {:.2}s, every receipt, receipts root and state root verified",
            report.from, report.to, report.txs, seconds
        );
        println!("state root 0x{}", report.state_root);
    }
    if report.divergence.is_some() {
        std::process::exit(1);
    }
    Ok(())
}

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

pub(crate) fn bundle(args: BundleArgs) -> Result<()> {
    match args.command {
        BundleCommand::Export {
            data_dir,
            block,
            out,
            json,
        } => {
            let chain = open_chain(&data_dir)?;
            let bundle = export_bundle(chain.store(), chain.executor(), block)?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("block-{block}.bundle")));
            let bytes = bundle.to_bytes();
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            if json {
                println!(
                    "{}",
                    json!({"block": block, "file": out.display().to_string(), "bytes": bytes.len(), "keys": bundle.pre_state.len()})
                );
            } else {
                println!(
                    "wrote bundle of block {block} to {} ({} bytes, {} pre-state keys)",
                    out.display(),
                    bytes.len(),
                    bundle.pre_state.len()
                );
            }
            Ok(())
        }
        BundleCommand::Verify { file, json } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let bundle = ReplayBundle::from_bytes(&bytes)?;
            let verified = verify_bundle(&bundle, &executor())?;
            if json {
                println!(
                    "{}",
                    json!({
                        "verified": true,
                        "block": verified.block,
                        "txs": verified.txs,
                        "keys_read": verified.keys_read,
                        "keys_written": verified.keys_written,
                        "state_root": hex::encode(verified.state_root),
                    })
                );
            } else {
                println!(
                    "bundle of block {} verified: {} txs re-executed, {} pre-state keys proven, {} writes proven against state root 0x{}",
                    verified.block,
                    verified.txs,
                    verified.keys_read,
                    verified.keys_written,
                    hex::encode(verified.state_root)
                );
            }
            Ok(())
        }
    }
}
