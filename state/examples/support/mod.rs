//! What the state examples share: flags and the benchmark's keys and values
//! (the same as `cairn bench state`: 32-byte keys, 40-byte values).

use cairn_state::keccak256;

/// The number after flag `name`, or `default`.
pub(crate) fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Key `i`: 32 bytes.
pub(crate) fn key(i: u64) -> Vec<u8> {
    keccak256(&i.to_be_bytes()).to_vec()
}

/// The value of key `i` in round `round`: 40 bytes.
pub(crate) fn value(i: u64, round: u64) -> Vec<u8> {
    let mut v = keccak256(&(i ^ (round << 40)).to_le_bytes()).to_vec();
    v.extend_from_slice(&(i ^ round).to_le_bytes());
    v
}
