//! `cairn key new|address`: secp256k1 keys in files, and their addresses.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use cairn_chain::SigningKey;
use cairn_chain::codec::{parse_hex, to_hex};
use cairn_host_api::world::Address;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::common::Status;

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

pub(crate) fn key(args: KeyArgs) -> Result<Status> {
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
    Ok(Status::Done)
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
        println!("{}", json!({ "address": to_hex(address) }));
    } else {
        println!("{}", to_hex(address));
    }
}
