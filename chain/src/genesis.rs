//! Genesis: the chain's parameters and initial state, from a JSON file.
//!
//! ```json
//! {
//!   "chain_id": 1337,
//!   "block_gas_limit": 10000000000,
//!   "timestamp": 0,
//!   "accounts": [ { "address": "0x7e5f…5bdf", "balance": "1000000000000" } ],
//!   "contracts": [ { "name": "token", "code": "token.wasm", "address": "0x…",
//!                    "deployer": "0x…", "input": "0x…", "balance": "0" } ],
//!   "validators": [ { "public_key": "0x…32 bytes…", "power": 1 } ]
//! }
//! ```
//!
//! `code` is a path relative to the genesis file (or `code_hex` inline hex);
//! `input` is the `deploy` export's call data, run with `deployer` as the
//! caller. Balances are decimal strings or `0x` hex. The resolved form,
//! [`Genesis`], holds the code bytes and is stored with the chain, so a
//! replay needs nothing but the data directory. Normative text:
//! `specs/chain.md` ("Genesis"). `validators` (ed25519 public keys and
//! voting powers, `specs/consensus.md`) is empty for a single node.

use std::path::Path;

use cairn_host_api::world::{Address, U256};
use parity_scale_codec::{Decode, Encode};
use serde::Deserialize;

use crate::certificate::{GenesisValidator, check_validator_set};
use crate::codec::{parse_address, parse_amount, parse_hex};

/// Why a genesis file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenesisError {
    /// The file could not be read.
    #[error("cannot read genesis file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON does not have the expected shape.
    #[error("genesis JSON is malformed: {0}")]
    Json(#[from] serde_json::Error),
    /// A field has a bad value.
    #[error("genesis field `{field}`: {reason}")]
    Field {
        /// Which field (with index).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A predeployed contract's code file could not be read.
    #[error("cannot read code of genesis contract `{name}` from {path}: {source}")]
    Code {
        /// The contract's name.
        name: String,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenesisFile {
    chain_id: u64,
    block_gas_limit: u64,
    #[serde(default)]
    timestamp: u64,
    #[serde(default)]
    accounts: Vec<AccountEntry>,
    #[serde(default)]
    contracts: Vec<ContractEntry>,
    #[serde(default)]
    validators: Vec<ValidatorEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidatorEntry {
    public_key: String,
    power: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountEntry {
    address: String,
    balance: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractEntry {
    name: String,
    address: String,
    deployer: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    code_hex: Option<String>,
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    balance: Option<String>,
}

/// A funded account at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct GenesisAccount {
    /// The address.
    pub address: Address,
    /// Its balance.
    pub balance: U256,
}

/// A contract deployed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct GenesisContract {
    /// A name for messages.
    pub name: String,
    /// Where it lives.
    pub address: Address,
    /// The caller its `deploy` export sees.
    pub deployer: Address,
    /// Original Wasm code.
    pub code: Vec<u8>,
    /// Call data of the `deploy` export.
    pub input: Vec<u8>,
    /// Native balance given to the contract.
    pub balance: U256,
}

/// A resolved genesis: parameters and initial state, code included.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Genesis {
    /// The chain id transactions must carry.
    pub chain_id: u64,
    /// Gas limit of every block.
    pub block_gas_limit: u64,
    /// Timestamp of the genesis header.
    pub timestamp: u64,
    /// Funded accounts, applied first.
    pub accounts: Vec<GenesisAccount>,
    /// Contracts, deployed in order after the accounts.
    pub contracts: Vec<GenesisContract>,
    /// The validators that decide blocks (empty: a single producer, no
    /// certificates).
    pub validators: Vec<GenesisValidator>,
}

fn field<T>(name: impl Into<String>, result: Result<T, String>) -> Result<T, GenesisError> {
    result.map_err(|reason| GenesisError::Field {
        field: name.into(),
        reason,
    })
}

impl Genesis {
    /// The genesis file (JSON) that resolves to this genesis, code inline
    /// as `code_hex`: `Genesis::from_json(to_json())` gives it back.
    pub fn to_json(&self) -> serde_json::Value {
        let hex = |bytes: &[u8]| format!("0x{}", hex::encode(bytes));
        let amount = |value: &U256| format!("{value:#x}");
        serde_json::json!({
            "chain_id": self.chain_id,
            "block_gas_limit": self.block_gas_limit,
            "timestamp": self.timestamp,
            "accounts": self.accounts.iter().map(|a| serde_json::json!({
                "address": hex(a.address.as_bytes()),
                "balance": amount(&a.balance),
            })).collect::<Vec<_>>(),
            "contracts": self.contracts.iter().map(|c| serde_json::json!({
                "name": c.name,
                "address": hex(c.address.as_bytes()),
                "deployer": hex(c.deployer.as_bytes()),
                "code_hex": hex(&c.code),
                "input": hex(&c.input),
                "balance": amount(&c.balance),
            })).collect::<Vec<_>>(),
            "validators": self.validators.iter().map(|v| serde_json::json!({
                "public_key": hex(&v.public_key),
                "power": v.power,
            })).collect::<Vec<_>>(),
        })
    }

    /// Reads and resolves a genesis file; code paths are relative to its directory.
    ///
    /// # Errors
    ///
    /// [`GenesisError`] naming the file, field or contract at fault.
    pub fn from_file(path: &Path) -> Result<Self, GenesisError> {
        let text = std::fs::read(path).map_err(|source| GenesisError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text, path.parent().unwrap_or(Path::new(".")))
    }

    /// Resolves genesis JSON; code paths are relative to `base_dir`.
    ///
    /// # Errors
    ///
    /// [`GenesisError`] naming the field or contract at fault.
    pub fn from_json(json: &[u8], base_dir: &Path) -> Result<Self, GenesisError> {
        let file: GenesisFile = serde_json::from_slice(json)?;
        if file.block_gas_limit == 0 {
            return Err(GenesisError::Field {
                field: "block_gas_limit".into(),
                reason: "must be positive".into(),
            });
        }
        let mut accounts = Vec::with_capacity(file.accounts.len());
        for (i, entry) in file.accounts.iter().enumerate() {
            accounts.push(GenesisAccount {
                address: field(
                    format!("accounts[{i}].address"),
                    parse_address(&entry.address),
                )?,
                balance: field(
                    format!("accounts[{i}].balance"),
                    parse_amount(&entry.balance),
                )?,
            });
        }
        let mut contracts = Vec::with_capacity(file.contracts.len());
        for (i, entry) in file.contracts.iter().enumerate() {
            let code = match (&entry.code, &entry.code_hex) {
                (Some(rel), None) => {
                    let path = base_dir.join(rel);
                    std::fs::read(&path).map_err(|source| GenesisError::Code {
                        name: entry.name.clone(),
                        path: path.display().to_string(),
                        source,
                    })?
                }
                (None, Some(hex)) => field(format!("contracts[{i}].code_hex"), parse_hex(hex))?,
                _ => {
                    return Err(GenesisError::Field {
                        field: format!("contracts[{i}]"),
                        reason: "give exactly one of `code` (a .wasm path) and `code_hex`".into(),
                    });
                }
            };
            contracts.push(GenesisContract {
                name: entry.name.clone(),
                address: field(
                    format!("contracts[{i}].address"),
                    parse_address(&entry.address),
                )?,
                deployer: field(
                    format!("contracts[{i}].deployer"),
                    parse_address(&entry.deployer),
                )?,
                code,
                input: match &entry.input {
                    Some(hex) => field(format!("contracts[{i}].input"), parse_hex(hex))?,
                    None => Vec::new(),
                },
                balance: match &entry.balance {
                    Some(b) => field(format!("contracts[{i}].balance"), parse_amount(b))?,
                    None => U256::zero(),
                },
            });
        }
        let mut validators = Vec::with_capacity(file.validators.len());
        for (i, entry) in file.validators.iter().enumerate() {
            let bytes = field(
                format!("validators[{i}].public_key"),
                parse_hex(&entry.public_key),
            )?;
            let public_key: [u8; 32] =
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| GenesisError::Field {
                        field: format!("validators[{i}].public_key"),
                        reason: format!("an ed25519 public key is 32 bytes, not {}", bytes.len()),
                    })?;
            validators.push(GenesisValidator {
                public_key,
                power: entry.power,
            });
        }
        check_validator_set(&validators).map_err(|e| GenesisError::Field {
            field: "validators".into(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            chain_id: file.chain_id,
            block_gas_limit: file.block_gas_limit,
            timestamp: file.timestamp,
            accounts,
            contracts,
            validators,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_minimal_genesis() {
        let json = br#"{"chain_id": 5, "block_gas_limit": 1000,
            "accounts": [{"address": "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", "balance": "0x10"}],
            "contracts": [{"name": "c", "address": "0x0000000000000000000000000000000000000001",
                           "deployer": "0x0000000000000000000000000000000000000002", "code_hex": "0x0061736d"}]}"#;
        let g = Genesis::from_json(json, Path::new(".")).unwrap();
        assert_eq!(g.chain_id, 5);
        assert_eq!(g.accounts[0].balance, U256::from(16u8));
        assert_eq!(g.contracts[0].code, vec![0, 0x61, 0x73, 0x6d]);
    }

    #[test]
    fn to_json_round_trips_validators_included() {
        let json = br#"{"chain_id": 5, "block_gas_limit": 1000, "timestamp": 3,
            "accounts": [{"address": "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", "balance": "0x10"}],
            "contracts": [{"name": "c", "address": "0x0000000000000000000000000000000000000001",
                           "deployer": "0x0000000000000000000000000000000000000002", "code_hex": "0x0061736d",
                           "input": "0x01", "balance": "7"}],
            "validators": [{"public_key": "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "power": 2}]}"#;
        let g = Genesis::from_json(json, Path::new(".")).unwrap();
        assert_eq!(g.validators.len(), 1);
        assert_eq!(g.validators[0].power, 2);
        let again = Genesis::from_json(g.to_json().to_string().as_bytes(), Path::new(".")).unwrap();
        assert_eq!(again, g);
    }

    #[test]
    fn bad_validators_are_refused() {
        let base = r#"{"chain_id": 5, "block_gas_limit": 1000, "validators": "#;
        let key = "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let cases = [
            (
                r#"[{"public_key": "0x12", "power": 1}]"#.to_string(),
                "32 bytes",
            ),
            (
                format!(r#"[{{"public_key": "{key}", "power": 0}}]"#),
                "positive",
            ),
            (
                format!(
                    r#"[{{"public_key": "{key}", "power": 1}}, {{"public_key": "{key}", "power": 1}}]"#
                ),
                "repeats",
            ),
            (format!(r#"[{{"public_key": "{key}"}}]"#), "power"),
        ];
        for (validators, needle) in cases {
            let err =
                Genesis::from_json(format!("{base}{validators}}}").as_bytes(), Path::new("."))
                    .unwrap_err()
                    .to_string();
            assert!(err.contains(needle), "{validators}: {err}");
        }
    }

    #[test]
    fn malformed_genesis_names_the_fault() {
        let cases: [(&[u8], &str); 5] = [
            (b"{", "malformed"),
            (br#"{"chain_id": 1}"#, "block_gas_limit"),
            (br#"{"chain_id": 1, "block_gas_limit": 0}"#, "block_gas_limit"),
            (br#"{"chain_id": 1, "block_gas_limit": 9, "accounts": [{"address": "0x12", "balance": "1"}]}"#, "accounts[0].address"),
            (br#"{"chain_id": 1, "block_gas_limit": 9, "accounts": [{"address": "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", "balance": "-1"}]}"#, "accounts[0].balance"),
        ];
        for (json, needle) in cases {
            let err = Genesis::from_json(json, Path::new("."))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
        let missing = br#"{"chain_id": 1, "block_gas_limit": 9, "contracts": [{"name": "t", "address": "0x0000000000000000000000000000000000000001", "deployer": "0x0000000000000000000000000000000000000001", "code": "does-not-exist.wasm"}]}"#;
        let err = Genesis::from_json(missing, Path::new("/nonexistent"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does-not-exist.wasm"), "{err}");
    }
}
