//! `cairn state ...`: inspect a state store and check proofs offline.

use anyhow::{Context, Result, anyhow, bail};
use cairn_chain::codec::{parse_hex, to_hex};
use cairn_state::{Proof, RocksStore, StateRoot, Version, verify};

use crate::common::print_json;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// Inspect the Merkleized state: roots, values, proofs.
#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    #[command(subcommand)]
    command: StateCommand,
}

/// Where the store is and which version to read.
#[derive(Debug, Args)]
struct StoreArgs {
    /// Data directory of the node (the RocksDB state store).
    #[arg(long)]
    data_dir: PathBuf,
    /// Version (block height) to read; default: the latest.
    #[arg(long)]
    version: Option<Version>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum StateCommand {
    /// Print the state root at a version.
    Root {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the value of a key at a version.
    Get {
        #[command(flatten)]
        store: StoreArgs,
        /// The key: `0x` followed by hex, or else its UTF-8 bytes.
        key: String,
    },
    /// Print a proof of a key's value (or absence) at a version.
    Proof {
        #[command(flatten)]
        store: StoreArgs,
        /// The key: `0x` followed by hex, or else its UTF-8 bytes.
        key: String,
        /// Also write the SCALE-encoded proof to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a proof against a root, with no data directory.
    VerifyProof {
        /// The trusted state root (64 hex digits, optional `0x`).
        #[arg(long)]
        root: String,
        /// The key: `0x` followed by hex, or else its UTF-8 bytes.
        #[arg(long)]
        key: String,
        /// The claimed value (`0x` hex or UTF-8); omit with --absent.
        #[arg(long, conflicts_with = "absent", required_unless_present = "absent")]
        value: Option<String>,
        /// Claim the key is absent.
        #[arg(long)]
        absent: bool,
        /// The proof as hex (as printed by `cairn state proof`).
        #[arg(
            long,
            conflicts_with = "proof_file",
            required_unless_present = "proof_file"
        )]
        proof: Option<String>,
        /// A file holding the SCALE-encoded proof (as written by `--out`).
        #[arg(long)]
        proof_file: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(args: StateArgs) -> Result<()> {
    match args.command {
        StateCommand::Root { store } => {
            let (db, version) = open(&store)?;
            let root = db.root_at(version)?;
            if store.json {
                print_json(
                    &serde_json::json!({ "version": version, "root": to_hex(root.as_bytes()) }),
                )?;
            } else {
                println!("version {version}");
                println!("root    {}", to_hex(root.as_bytes()));
            }
        }
        StateCommand::Get { store, key } => {
            let key = parse_bytes(&key);
            let (db, version) = open(&store)?;
            let value = db.get_at(&key, version)?;
            if store.json {
                print_json(&serde_json::json!({
                    "version": version,
                    "key": to_hex(&key),
                    "value": value.as_ref().map(to_hex),
                }))?;
            } else {
                match value {
                    Some(value) => println!("0x{}", hex::encode(value)),
                    None => println!("(absent at version {version})"),
                }
            }
        }
        StateCommand::Proof { store, key, out } => {
            let key = parse_bytes(&key);
            let (db, version) = open(&store)?;
            let root = db.root_at(version)?;
            let (value, proof) = db.prove(&key, version)?;
            let bytes = proof.to_bytes();
            if let Some(out) = &out {
                std::fs::write(out, &bytes)
                    .with_context(|| format!("writing the proof to {}", out.display()))?;
            }
            if store.json {
                print_json(&serde_json::json!({
                    "version": version,
                    "root": to_hex(root.as_bytes()),
                    "key": to_hex(&key),
                    "value": value.as_ref().map(to_hex),
                    "proof": to_hex(&bytes),
                    "proof_bytes": bytes.len(),
                }))?;
            } else {
                println!("version {version}");
                println!("root    {}", to_hex(root.as_bytes()));
                println!("key     0x{}", hex::encode(&key));
                match &value {
                    Some(value) => println!("value   0x{}", hex::encode(value)),
                    None => println!("value   (absent: exclusion proof)"),
                }
                println!("proof   {} ({} bytes)", hex::encode(&bytes), bytes.len());
            }
        }
        StateCommand::VerifyProof {
            root,
            key,
            value,
            absent: _,
            proof,
            proof_file,
            json,
        } => {
            let root = StateRoot::from_hex(root.trim()).ok_or_else(|| {
                anyhow!("--root must be 64 hex digits (32 bytes), optionally prefixed by 0x")
            })?;
            let key = parse_bytes(&key);
            let value = value.as_deref().map(parse_bytes);
            let bytes = match (proof, proof_file) {
                (Some(text), _) => {
                    let digits = text.trim();
                    parse_hex(digits).map_err(|e| anyhow!("--proof: {e}"))?
                }
                (None, Some(path)) => std::fs::read(&path)
                    .with_context(|| format!("reading the proof file {}", path.display()))?,
                (None, None) => bail!("give the proof with --proof HEX or --proof-file FILE"),
            };
            let proof = Proof::from_bytes(&bytes)?;
            let outcome = verify(&root, &key, value.as_deref(), &proof);
            if json {
                print_json(&serde_json::json!({
                    "valid": outcome.is_ok(),
                    "error": outcome.as_ref().err().map(ToString::to_string),
                }))?;
            }
            outcome.context("the proof does not verify")?;
            if !json {
                println!(
                    "valid: key 0x{} {} under root {}",
                    hex::encode(&key),
                    match &value {
                        Some(v) => format!("has value 0x{}", hex::encode(v)),
                        None => "is absent".to_string(),
                    },
                    to_hex(root.as_bytes())
                );
            }
        }
    }
    Ok(())
}

/// `0x`-prefixed hex, or else the UTF-8 bytes of the text.
fn parse_bytes(text: &str) -> Vec<u8> {
    match text.strip_prefix("0x").map(hex::decode) {
        Some(Ok(bytes)) => bytes,
        _ => text.as_bytes().to_vec(),
    }
}

fn open(args: &StoreArgs) -> Result<(RocksStore, Version)> {
    ensure_store_dir(&args.data_dir)?;
    // Read-only: no lock taken, so a running node's data directory can be inspected.
    let store = RocksStore::open_read_only(&args.data_dir)
        .with_context(|| format!("opening the state store in {}", args.data_dir.display()))?;
    let latest = store.latest_version().ok_or_else(|| {
        anyhow!(
            "the state store in {} has no committed version",
            args.data_dir.display()
        )
    })?;
    let version = args.version.unwrap_or(latest);
    Ok((store, version))
}

/// Refuses to create a store where the user meant to read one.
fn ensure_store_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        bail!("data directory {} does not exist", dir.display());
    }
    if !dir.join("CURRENT").is_file() {
        bail!(
            "{} holds no state store (no RocksDB CURRENT file)",
            dir.display()
        );
    }
    Ok(())
}
