//! `cairn prepare FILE`: validate a contract and inject gas metering, printing
//! what the chain would store and run, or which rule the module breaks.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use cairn_chain::view::PreparedCodeView;
use cairn_engine::prepare::{GasSchedule, PrepareError, ValidationLimits, prepare_code};
use clap::Args;
use serde_json::json;

/// Validate and instrument a contract (`.wasm` or `.wat`).
#[derive(Debug, Args)]
pub(crate) struct PrepareArgs {
    /// The contract: a `.wasm` binary or `.wat` text.
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Write the instrumented module to this file.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Reads a `.wasm` file, or a `.wat` file (also any file that is not Wasm
/// binary) through the `wat` crate.
pub(crate) fn read_module(path: &PathBuf) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes)
        .map(|wasm| wasm.into_owned())
        .with_context(|| format!("{} is neither a Wasm binary nor valid WAT", path.display()))
}

pub(crate) fn run(args: PrepareArgs) -> Result<()> {
    let wasm = read_module(&args.file)?;
    let schedule = GasSchedule::v2();
    match prepare_code(&wasm, &schedule, &ValidationLimits::default()) {
        Ok(prepared) => {
            let code_hash = cairn_host_api::keccak256(&wasm);
            if let Some(out) = &args.output {
                std::fs::write(out, &prepared.code)
                    .with_context(|| format!("cannot write {}", out.display()))?;
            }
            if args.json {
                let value = PreparedCodeView::new(code_hash, &prepared, &schedule);
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!("accepted        {}", args.file.display());
                println!("code hash       {code_hash:#x}");
                println!(
                    "schedule hash   {:#x} (v{})",
                    prepared.schedule_hash, schedule.version
                );
                println!(
                    "size            {} bytes original, {} bytes prepared",
                    prepared.original_size,
                    prepared.code.len()
                );
                println!("exports         {}", prepared.exports.join(", "));
                let imports = if prepared.imports.is_empty() {
                    "(none)".to_owned()
                } else {
                    prepared.imports.join(", ")
                };
                println!("imports         {imports}");
            }
            Ok(())
        }
        Err(error) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&rejection_json(&error))?);
            }
            bail!("{} rejected: {error}", args.file.display())
        }
    }
}

fn rejection_json(error: &PrepareError) -> serde_json::Value {
    let v = error.violation();
    json!({
        "status": "rejected",
        "rule": v.rule.name(),
        "message": v.message,
        "function": v.function,
        "function_name": v.function_name,
        "offset": v.offset,
        "hint": error.hint(),
    })
}
