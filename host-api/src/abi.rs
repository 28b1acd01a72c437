//! Host-side encoder for Cairn's contract ABI (`specs/abi.md`).
//!
//! A call is a 4-byte selector, the first bytes of keccak256 of the method
//! name, followed by the SCALE encoding of the arguments. Results are SCALE
//! encoded. The CLI and tests build call data with this, never by hand; the
//! SDK in `contracts/sdk` holds the matching guest-side decoder.

use parity_scale_codec::Encode;
use sha3::{Digest, Keccak256};

/// A 4-byte method selector.
pub type Selector = [u8; 4];

/// The selector of `method`: the first 4 bytes of keccak256 of its name.
pub fn selector(method: &str) -> Selector {
    let digest = Keccak256::digest(method.as_bytes());
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Call data for `method` with SCALE-encoded `args` (a tuple for several
/// arguments, `()` for none).
pub fn encode_call<A: Encode>(method: &str, args: &A) -> Vec<u8> {
    let mut out = selector(method).to_vec();
    args.encode_to(&mut out);
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
}
