//! Stand-in for `crate::prepare` until the preparation pipeline lands.
//!
//! Accepts only modules that already follow the gas protocol (they export
//! `cairn_gas_left` and `cairn_halt` themselves). Replaced by `crate::prepare`
//! as soon as it exists; nothing outside the runtime depends on this module.

use std::collections::BTreeMap;

use cairn_host_api::world::H256;
use sha3::{Digest, Keccak256};

/// Placeholder gas schedule: identified by its version only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GasSchedule {
    version: u32,
}

impl GasSchedule {
    /// The version 1 schedule.
    pub fn v1() -> Self {
        Self { version: 1 }
    }

    /// Identity of the schedule.
    pub fn hash(&self) -> H256 {
        H256(Keccak256::digest(self.version.to_le_bytes()).into())
    }
}

/// Placeholder validation limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationLimits {}

/// A module ready to run.
#[derive(Debug, Clone)]
pub struct PreparedCode {
    /// Code to run.
    pub code: Vec<u8>,
    /// keccak256 of the original code.
    pub code_hash: H256,
    /// Hash of the schedule the code was prepared with.
    pub schedule_hash: H256,
    /// Exported names.
    pub exports: Vec<String>,
    /// Whether a `deploy` export exists.
    pub has_deploy: bool,
    /// Function names from the name section.
    pub function_names: BTreeMap<u32, String>,
}

/// Why a module was rejected.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct PrepareError(String);

/// Checks the module parses and exports the gas protocol globals.
pub fn prepare_code(
    wasm: &[u8],
    schedule: &GasSchedule,
    _limits: &ValidationLimits,
) -> Result<PreparedCode, PrepareError> {
    let mut exports = Vec::new();
    let mut function_names = BTreeMap::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| PrepareError(e.to_string()))? {
            wasmparser::Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| PrepareError(e.to_string()))?;
                    exports.push(export.name.to_owned());
                }
            }
            wasmparser::Payload::CustomSection(section) => {
                if let wasmparser::KnownCustom::Name(names) = section.as_known() {
                    for name in names {
                        if let Ok(wasmparser::Name::Function(map)) = name {
                            for naming in map.into_iter().flatten() {
                                function_names.insert(naming.index, naming.name.to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for required in ["cairn_gas_left", "cairn_halt", "call"] {
        if !exports.iter().any(|e| e == required) {
            return Err(PrepareError(format!("missing export `{required}`")));
        }
    }
    Ok(PreparedCode {
        code: wasm.to_vec(),
        code_hash: H256(Keccak256::digest(wasm).into()),
        schedule_hash: schedule.hash(),
        has_deploy: exports.iter().any(|e| e == "deploy"),
        exports,
        function_names,
    })
}
