//! Host side of Cairn's contract ABI (`specs/abi.md`).
//!
//! A call is a 4-byte selector, the first bytes of keccak256 of the method
//! name, followed by the SCALE encoding of the arguments; deploy input is the
//! SCALE encoding of the deploy arguments alone. Results are SCALE encoded.
//! Revert data written by the SDK is a 4-byte tag and a SCALE payload
//! ([`RevertReason`]). The CLI and tests build call data and read results with
//! this module, never by hand; the SDK in `contracts/sdk` holds the matching
//! guest side, and the end-to-end tests check the two against each other.
//!
//! ```
//! use cairn_host_api::abi::{decode_result, encode_call, selector};
//!
//! let data = encode_call("increment", &(5u64,));
//! assert_eq!(&data[..4], &selector("increment"));
//! assert_eq!(decode_result::<u64>(&[6, 0, 0, 0, 0, 0, 0, 0]).unwrap(), 6);
//! ```

use crate::keccak256;
use parity_scale_codec::{Decode, DecodeAll, Encode};
use primitive_types::H256;

/// A 4-byte method selector.
pub type Selector = [u8; 4];

/// The selector of `method`: the first 4 bytes of keccak256 of its name.
pub fn selector(method: &str) -> Selector {
    let digest = keccak256(method.as_bytes());
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Call data for `method` with SCALE-encoded `args` (a tuple for several
/// arguments, `()` for none).
pub fn encode_call<A: Encode>(method: &str, args: &A) -> Vec<u8> {
    let mut out = selector(method).to_vec();
    args.encode_to(&mut out);
    out
}

/// Deploy input: the SCALE encoding of the deploy arguments (no selector).
pub fn encode_deploy<A: Encode>(args: &A) -> Vec<u8> {
    args.encode()
}

/// A result or payload that does not decode as the expected type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} does not decode as `{expected}`: {reason}")]
pub struct AbiError {
    /// What was being decoded ("return data", "revert payload", ...).
    pub what: &'static str,
    /// The Rust type expected.
    pub expected: &'static str,
    /// The decoder's explanation.
    pub reason: String,
}

fn decode_exact<T: Decode>(what: &'static str, data: &[u8]) -> Result<T, AbiError> {
    T::decode_all(&mut &data[..]).map_err(|e| AbiError {
        what,
        expected: std::any::type_name::<T>(),
        reason: e.to_string(),
    })
}

/// Decodes a call's return data as `T`; trailing bytes are an error.
pub fn decode_result<T: Decode>(data: &[u8]) -> Result<T, AbiError> {
    decode_exact("return data", data)
}

/// Tag of revert data carrying a reason string (`Revert::reason` in the SDK).
pub fn error_tag() -> Selector {
    selector("Error")
}

/// Tag of revert data carrying a panic message (the SDK's panic handler).
pub fn panic_tag() -> Selector {
    selector("Panic")
}

/// Tag of the SDK's revert for call data whose selector names no method;
/// the payload is the 4 selector bytes.
pub fn unknown_selector_tag() -> Selector {
    selector("UnknownSelector")
}

/// Revert data, classified by its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertReason {
    /// `selector("Error") ‖ SCALE(String)`: an explicit revert with a reason.
    Error(String),
    /// `selector("Panic") ‖ SCALE(String)`: a Rust panic in the contract.
    Panic(String),
    /// `selector("UnknownSelector") ‖ [u8; 4]`: no method has that selector.
    UnknownSelector(Selector),
    /// Any other tag with its payload (a contract's typed error).
    Custom {
        /// The first 4 bytes.
        tag: Selector,
        /// The rest.
        payload: Vec<u8>,
    },
    /// Fewer than 4 bytes, or a known tag whose payload does not decode.
    Raw(Vec<u8>),
}

impl RevertReason {
    /// The human-readable message of an `Error` or `Panic` revert.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Error(m) | Self::Panic(m) => Some(m),
            _ => None,
        }
    }

    /// Decodes the payload of a `Custom` revert with tag `selector(name)`.
    pub fn custom<T: Decode>(&self, name: &str) -> Option<T> {
        match self {
            Self::Custom { tag, payload } if *tag == selector(name) => {
                decode_exact("revert payload", payload).ok()
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for RevertReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Error(m) => write!(f, "reverted: {m}"),
            Self::Panic(m) => write!(f, "panicked: {m}"),
            Self::UnknownSelector(s) => write!(f, "unknown selector 0x{}", hex4(s)),
            Self::Custom { tag, payload } => {
                write!(
                    f,
                    "reverted with tag 0x{} and {} payload bytes",
                    hex4(tag),
                    payload.len()
                )
            }
            Self::Raw(data) => write!(f, "reverted with {} bytes of untagged data", data.len()),
        }
    }
}

fn hex4(s: &Selector) -> String {
    s.iter().map(|b| format!("{b:02x}")).collect()
}

/// Classifies revert data (see [`RevertReason`]).
pub fn decode_revert(data: &[u8]) -> RevertReason {
    let Some((tag, payload)) = data.split_first_chunk::<4>() else {
        return RevertReason::Raw(data.to_vec());
    };
    let raw = || RevertReason::Raw(data.to_vec());
    if *tag == error_tag() {
        decode_exact("revert payload", payload).map_or_else(|_| raw(), RevertReason::Error)
    } else if *tag == panic_tag() {
        decode_exact("revert payload", payload).map_or_else(|_| raw(), RevertReason::Panic)
    } else if *tag == unknown_selector_tag() {
        decode_exact("revert payload", payload)
            .map_or_else(|_| raw(), RevertReason::UnknownSelector)
    } else {
        RevertReason::Custom {
            tag: *tag,
            payload: payload.to_vec(),
        }
    }
}

/// Revert data as the SDK writes it for `Revert::reason(reason)`.
pub fn encode_revert_reason(reason: &str) -> Vec<u8> {
    let mut out = error_tag().to_vec();
    reason.encode_to(&mut out);
    out
}

/// Topic 0 of an event named `name`: keccak256 of the name.
pub fn event_signature(name: &str) -> H256 {
    keccak256(name.as_bytes())
}

/// The topic of an indexed event field: its SCALE encoding right-padded with
/// zeros if that fits in 32 bytes, otherwise keccak256 of the encoding.
pub fn topic<T: Encode + ?Sized>(value: &T) -> H256 {
    let encoded = value.encode();
    if encoded.len() <= 32 {
        let mut out = [0u8; 32];
        out[..encoded.len()].copy_from_slice(&encoded);
        H256(out)
    } else {
        keccak256(&encoded)
    }
}

/// The storage key the SDK uses for item `name`, entry `key`: `SCALE(name) ‖
/// SCALE(key)`; pass `&()` for a `StorageValue`.
pub fn storage_key<K: Encode + ?Sized>(name: &str, key: &K) -> Vec<u8> {
    let mut out = name.encode();
    key.encode_to(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_is_keccak_prefix() {
        // keccak256("") = c5d24601...
        assert_eq!(selector(""), [0xc5, 0xd2, 0x46, 0x01]);
        let data = encode_call("transfer", &(7u32, 1u64));
        assert_eq!(&data[..4], &selector("transfer"));
        assert_eq!(&data[4..], &[7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn results_decode_exactly() {
        assert_eq!(decode_result::<(u8, bool)>(&[3, 1]).unwrap(), (3, true));
        let err = decode_result::<u8>(&[3, 1]).unwrap_err();
        assert_eq!(err.what, "return data");
        assert!(decode_result::<u64>(&[1, 2]).is_err());
    }

    #[test]
    fn revert_data_is_classified() {
        let data = encode_revert_reason("insufficient balance");
        assert_eq!(
            decode_revert(&data),
            RevertReason::Error("insufficient balance".into())
        );
        assert_eq!(decode_revert(&data).message(), Some("insufficient balance"));

        let mut panic = panic_tag().to_vec();
        "boom".encode_to(&mut panic);
        assert_eq!(decode_revert(&panic), RevertReason::Panic("boom".into()));

        let mut unknown = unknown_selector_tag().to_vec();
        unknown.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(
            decode_revert(&unknown),
            RevertReason::UnknownSelector([1, 2, 3, 4])
        );

        let mut custom = selector("EchoError").to_vec();
        7u32.encode_to(&mut custom);
        let reason = decode_revert(&custom);
        assert_eq!(reason.custom::<u32>("EchoError"), Some(7));
        assert_eq!(reason.custom::<u32>("Other"), None);

        assert_eq!(decode_revert(&[1, 2]), RevertReason::Raw(vec![1, 2]));
        // A known tag with a broken payload stays raw rather than guessing.
        let mut broken = error_tag().to_vec();
        broken.push(0xff);
        assert_eq!(decode_revert(&broken), RevertReason::Raw(broken.clone()));
    }

    #[test]
    fn topics_pad_short_values_and_hash_long_ones() {
        let t = topic(&7u32);
        assert_eq!(&t.0[..5], &[7, 0, 0, 0, 0]);
        let long = [9u8; 40];
        assert_eq!(topic(&long), keccak256(&long.encode()));
        assert_eq!(event_signature("").0[..4], [0xc5, 0xd2, 0x46, 0x01]);
    }

    #[test]
    fn storage_keys_follow_the_sdk_layout() {
        assert_eq!(storage_key("count", &()), b"\x14count".to_vec());
        assert_eq!(storage_key("m", &(1u8, 2u16)), vec![4, b'm', 1, 2, 0]);
    }
}
