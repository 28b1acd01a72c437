//! The contract ABI of `specs/abi.md`, guest side.
//!
//! - A call is `selector(method) ‖ SCALE(args)`; deploy input is `SCALE(args)`.
//! - Results are `SCALE(value)`.
//! - Revert data written by the SDK is `ERROR_TAG ‖ SCALE(reason: String)` for
//!   an explicit revert and `PANIC_TAG ‖ SCALE(message: String)` for a Rust
//!   panic; [`Revert::custom`] carries any other tagged payload.
//! - Event topic 0 is `keccak256(event name)`; further topics are indexed
//!   fields ([`topic_of`]).
//!
//! The host-side mirror is `cairn_host_api::abi`; the two are checked against
//! each other by the end-to-end tests.

use alloc::string::String;
use alloc::vec::Vec;
use parity_scale_codec::Encode;
use primitive_types::H256;

/// A 4-byte method selector.
pub type Selector = [u8; 4];

/// The selector of `method`: the first 4 bytes of keccak256 of its name.
/// A `const fn`, so dispatch compares against constants.
pub const fn selector(method: &str) -> Selector {
    let digest = keccak_const::Keccak256::new()
        .update(method.as_bytes())
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Topic 0 of an event: keccak256 of its name.
pub const fn event_signature(name: &str) -> [u8; 32] {
    keccak_const::Keccak256::new()
        .update(name.as_bytes())
        .finalize()
}

/// Tag of revert data carrying a reason string (`Revert::reason`).
pub const ERROR_TAG: Selector = selector("Error");

/// Tag of revert data carrying a panic message (from the panic handler).
pub const PANIC_TAG: Selector = selector("Panic");

/// Revert data: why a call failed. Returned as `Err` from a method, it undoes
/// the call's effects and hands `data()` to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revert {
    data: Vec<u8>,
}

impl Revert {
    /// A revert with a human-readable reason: `ERROR_TAG ‖ SCALE(reason)`.
    pub fn reason(reason: &str) -> Self {
        Self::custom(ERROR_TAG, &reason)
    }

    /// A revert with a typed payload: `tag ‖ SCALE(payload)`. Pick a tag with
    /// [`selector`] of the error's name.
    pub fn custom<P: Encode + ?Sized>(tag: Selector, payload: &P) -> Self {
        let mut data = tag.to_vec();
        payload.encode_to(&mut data);
        Self { data }
    }

    /// A revert carrying `data` verbatim (e.g. forwarding a callee's revert).
    pub fn raw(data: Vec<u8>) -> Self {
        Self { data }
    }

    /// The revert data.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The reason string if this is an `ERROR_TAG` or `PANIC_TAG` revert.
    pub fn reason_str(&self) -> Option<String> {
        decode_reason(&self.data)
    }
}

/// Decodes the reason of `ERROR_TAG` / `PANIC_TAG` revert data.
pub fn decode_reason(data: &[u8]) -> Option<String> {
    let (tag, mut rest) = data.split_first_chunk::<4>()?;
    if *tag != ERROR_TAG && *tag != PANIC_TAG {
        return None;
    }
    <String as parity_scale_codec::DecodeAll>::decode_all(&mut rest).ok()
}

/// The short case of a topic: the SCALE `encoded` value right-padded with
/// zeros if it fits in 32 bytes, `None` if it does not (then the topic is
/// keccak256 of the encoding, which needs the host: see [`topic_of`]).
/// Pure, so it is unit-tested on the host.
pub fn short_topic(encoded: &[u8]) -> Option<H256> {
    if encoded.len() > 32 {
        return None;
    }
    let mut topic = [0u8; 32];
    topic[..encoded.len()].copy_from_slice(encoded);
    Some(H256(topic))
}

/// The topic of an indexed event field `value` (see [`short_topic`]).
pub fn topic_of<T: Encode + ?Sized>(value: &T) -> H256 {
    let encoded = value.encode();
    short_topic(&encoded).unwrap_or_else(|| crate::env::keccak256(&encoded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_keccak_prefixes() {
        // Well-known digests: keccak256("") and Solidity's Transfer event signature.
        assert_eq!(selector(""), [0xc5, 0xd2, 0x46, 0x01]);
        assert_eq!(
            event_signature("Transfer(address,address,uint256)")[..4],
            [0xdd, 0xf2, 0x52, 0xad]
        );
    }

    #[test]
    fn reasons_round_trip() {
        let r = Revert::reason("insufficient balance");
        assert_eq!(&r.data()[..4], &ERROR_TAG);
        assert_eq!(r.reason_str().as_deref(), Some("insufficient balance"));
        assert_eq!(Revert::raw(alloc::vec![1, 2]).reason_str(), None);
    }

    #[test]
    fn short_topics_are_padded() {
        let t = short_topic(&[1, 2, 3]).unwrap();
        assert_eq!(&t.0[..4], &[1, 2, 3, 0]);
        assert!(short_topic(&[0; 33]).is_none());
    }
}
