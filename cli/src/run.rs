//! `cairn run FILE`: run a contract's `call` (or `deploy`) export against an
//! in-memory world and print the outcome, with a Wasm backtrace on failure.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use cairn_chain::codec::to_hex;
use cairn_chain::view::{OutcomeView, collapse_backtrace};
use cairn_engine::prepare::prepare_code;
use cairn_engine::runtime::{
    BlockContext, ExecConfig, ExecOutcome, ExecStatus, Executor, InMemoryWorld, Message,
    MessageKind, TrapDiagnostics,
};
use cairn_host_api::abi::decode_revert;
use cairn_host_api::world::{Account, Address, U256};
use clap::Args;

use crate::common::{Status, print_json};
use crate::{profile, typed_call};
use serde::Serialize;

/// Gas limit used when `--gas` is not given.
const DEFAULT_GAS: u64 = 10_000_000;

/// Run a contract's `call` export (or `deploy` with --deploy) in an in-memory world.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The contract: a `.wasm` binary or `.wat` text.
    file: PathBuf,
    /// Call data as hex (optional `0x`); with --method, the SCALE-encoded arguments.
    #[arg(long, default_value = "")]
    call_data: String,
    /// Prefix the call data with the 4-byte selector of this method name
    /// (keccak256 of the name, as the SDK's `entry_points!` dispatch expects).
    #[arg(long)]
    method: Option<String>,
    /// Typed arguments as a JSON array, e.g. '["0x11..11", "1000"]', encoded
    /// through the contract's metadata (of --method, or of `deploy` with
    /// --deploy); instead of --call-data.
    #[arg(long, conflicts_with = "call_data")]
    args: Option<String>,
    /// Gas limit.
    #[arg(long, default_value_t = DEFAULT_GAS)]
    gas: u64,
    /// Value sent with the call, in base units.
    #[arg(long, default_value_t = 0)]
    value: u64,
    /// Deploy the code and run its `deploy` export (with the call data as input).
    #[arg(long)]
    deploy: bool,
    /// Write a gas profile of the call as a flame graph to this SVG file
    /// (gas per Wasm function, host calls as their own frames) and print the
    /// top frames; with --json, the folded stacks too. Never changes the gas.
    #[arg(long, value_name = "FILE.svg")]
    profile: Option<PathBuf>,
    /// How many frames the --profile table shows.
    #[arg(long, default_value_t = 10, requires = "profile")]
    top: usize,
    /// Print `debug_print` output (dev mode).
    #[arg(long)]
    dev: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The developer account that sends the message (funded in the run's world).
fn sender() -> Address {
    Address::repeat_byte(0x01)
}

/// Where the contract lives in the run's world.
fn contract() -> Address {
    Address::repeat_byte(0xc0)
}

pub(crate) fn run(args: RunArgs) -> Result<Status> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let code = wat::parse_bytes(&bytes)
        .with_context(|| {
            format!(
                "{} is neither a Wasm binary nor valid WAT",
                args.file.display()
            )
        })?
        .into_owned();
    let config = ExecConfig {
        dev_mode: args.dev,
        ..ExecConfig::default()
    };
    if let Err(error) = prepare_code(&code, &config.schedule, &config.limits) {
        bail!("the code is rejected: {error}");
    }
    let what = args.file.display().to_string();
    let metadata = typed_call::metadata_of(&code, &what)?;
    let args_data = match (&args.args, &args.method) {
        (Some(json), _) if args.deploy => typed_call::deploy_args(metadata.as_ref(), &what, json)?,
        (Some(json), Some(method)) => {
            typed_call::method_args(metadata.as_ref(), &what, method, json)?
        }
        (Some(_), None) => bail!("--args needs --method (or --deploy)"),
        (None, _) => {
            let hex_data = args.call_data.strip_prefix("0x").unwrap_or(&args.call_data);
            hex::decode(hex_data).context("--call-data is not valid hex")?
        }
    };
    let mut input = args
        .method
        .as_deref()
        .map(|m| cairn_host_api::abi::selector(m).to_vec())
        .unwrap_or_default();
    input.extend_from_slice(&args_data);

    let executor = Executor::new(config);
    let mut world = InMemoryWorld::new();
    world.fund(sender(), U256::from(u64::MAX));
    let kind = if args.deploy {
        MessageKind::Deploy { code }
    } else {
        let code_hash = cairn_host_api::keccak256(&code);
        world.code.insert(code_hash, code);
        world.accounts.insert(
            contract(),
            Account {
                nonce: 0,
                balance: U256::zero(),
                code_hash: Some(code_hash),
            },
        );
        MessageKind::Call
    };
    let msg = Message {
        origin: sender(),
        caller: sender(),
        target: contract(),
        value: U256::from(args.value),
        input,
        gas_limit: args.gas,
        kind,
    };
    let block = BlockContext {
        number: 1,
        timestamp: 0,
        chain_id: 0,
    };
    let mut outcome = executor
        .execute(&world, &block, &msg)
        .context("node failure")?;
    // Re-run with a shadow call stack for backtraces and the frame trace; the
    // consensus result is the same, only the diagnostics gain the call stacks.
    let traced = executor
        .execute_traced(&world, &block, &msg)
        .context("node failure")?;
    if traced.status == outcome.status && traced.gas_used == outcome.gas_used {
        outcome.diagnostics = traced.diagnostics;
        outcome.frames = traced.frames;
    }

    let profile = match &args.profile {
        Some(svg) => {
            let (profiled, profile) = executor
                .execute_profiled(&world, &block, &msg)
                .context("node failure")?;
            profile::check_neutral(&outcome, &profiled, &profile)?;
            let title = format!(
                "{} {}",
                args.file.display(),
                if args.deploy {
                    "deploy"
                } else {
                    args.method.as_deref().unwrap_or("call")
                }
            );
            Some(profile::write(&profile, svg, &title)?)
        }
        None => None,
    };
    let view = OutcomeView::new(&outcome, args.gas);
    let decoded = metadata.as_ref().map(|meta| {
        let this = cairn_chain::codec::to_hex(contract());
        typed_call::decode_outcome(
            Some(meta),
            (!args.deploy).then_some(&msg.input[..]),
            &view.status,
            &view.output,
            &view.logs,
            &|address: &str| (address == this).then(|| meta.clone()),
        )
    });
    if args.json {
        print_json(&RunView {
            outcome: view,
            decoded,
            profile,
        })?;
    } else {
        print_text(&outcome, args.gas);
        if let Some(decoded) = &decoded {
            // The reason is printed above already.
            let mut shown = decoded.clone();
            shown.revert = None;
            typed_call::print_decoded(&shown);
        }
        if let Some(profile) = &profile {
            profile::print_top(profile, args.top);
        }
    }
    Ok(if outcome.is_success() {
        Status::Done
    } else {
        Status::ContractFailed
    })
}

/// `cairn run --json`: the outcome, and what the metadata makes of it.
#[derive(Debug, Serialize)]
struct RunView {
    #[serde(flatten)]
    outcome: OutcomeView,
    /// Present when the contract has metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    decoded: Option<typed_call::DecodedView>,
    /// With --profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<profile::ProfileView>,
}

fn hex0x(bytes: &[u8]) -> String {
    to_hex(bytes)
}

/// Hex of at most the first 256 bytes, noting the full length (`--json` prints all).
fn hex_preview(bytes: &[u8]) -> String {
    const SHOWN: usize = 256;
    if bytes.len() <= SHOWN {
        return hex0x(bytes);
    }
    format!(
        "{}... ({} bytes; --json prints all)",
        hex0x(&bytes[..SHOWN]),
        bytes.len()
    )
}

fn print_text(outcome: &ExecOutcome, gas_limit: u64) {
    println!("status:      {}", outcome.status.name());
    if matches!(outcome.status, ExecStatus::Halt { .. }) && outcome.gas_used == gas_limit {
        let known = outcome
            .diagnostics
            .as_ref()
            .is_some_and(|d| d.gas_left.is_some());
        let note = if known {
            "; `gas left` below is where the counter stood"
        } else {
            ""
        };
        println!(
            "gas used:    {} of {gas_limit} (a halt is charged the whole limit{note})",
            outcome.gas_used
        );
    } else {
        println!("gas used:    {} of {gas_limit}", outcome.gas_used);
    }
    match &outcome.status {
        ExecStatus::Success { return_data } => {
            println!("return data: {}", hex_preview(return_data))
        }
        ExecStatus::Revert { data } => {
            println!("revert data: {}", hex_preview(data));
            println!("reason:      {}", decode_revert(data));
        }
        ExecStatus::Halt { reason } => println!("halted:      {reason}"),
    }
    for (i, log) in outcome.logs.iter().enumerate() {
        let topics: Vec<String> = log.topics.iter().map(|t| hex0x(t.as_bytes())).collect();
        println!(
            "log {i}:       topics [{}] data {}",
            topics.join(", "),
            hex_preview(&log.data)
        );
    }
    for ((_, key), value) in &outcome.changes.storage {
        match value {
            Some(value) => println!("storage:     {} = {}", hex_preview(key), hex_preview(value)),
            None => println!("storage:     {} removed", hex_preview(key)),
        }
    }
    for line in &outcome.debug_output {
        println!("debug:       {line}");
    }
    // Nested frames that failed (the top-level frame is reported above).
    for frame in outcome
        .frames
        .iter()
        .filter(|f| f.depth > 1 && !matches!(f.status, ExecStatus::Success { .. }))
    {
        println!(
            "nested call:  depth {} to {} ended {} after {} gas",
            frame.depth,
            hex0x(frame.contract.as_bytes()),
            frame.status.name(),
            frame.gas_used
        );
        if let Some(diagnostics) = &frame.diagnostics {
            print_diagnostics(diagnostics);
        }
    }
    if let Some(diagnostics) = &outcome.diagnostics {
        print_diagnostics(diagnostics);
    }
}

fn print_diagnostics(d: &TrapDiagnostics) {
    println!("error:       {}", d.message);
    if let Some(host) = &d.host_function {
        println!("host call:   {host}");
    }
    if let Some(left) = d.gas_left {
        println!("gas left:    {left}");
    }
    if !d.backtrace.is_empty() {
        println!("backtrace (innermost first):");
        for (i, frame) in collapse_backtrace(&d.backtrace).iter().enumerate() {
            println!("  {i}: {frame}");
        }
    }
}
