//! Cairn's deterministic Wasm executor: validation and gas and stack
//! injection ([`prepare`]), the wasmi runtime with the host functions
//! ([`runtime`]), and the secp256k1 recovery both transactions and the
//! `ecrecover` host function use ([`crypto`]). It depends on the host API
//! only: no state store, no RocksDB, no chain.

pub mod crypto;
pub mod prepare;
pub mod runtime;
