//! Decoding and parsing in one place: exact SCALE decoding of consensus
//! records, and the text forms (hex, addresses, amounts) of files and
//! command lines.

use cairn_host_api::world::{Address, U256};
use parity_scale_codec::Decode;

/// Decodes exactly one `T` from `bytes`: trailing bytes are an error, so each
/// value has one accepted encoding.
///
/// # Errors
///
/// [`parity_scale_codec::Error`] on a short, malformed or over-long input.
pub fn decode_exact<T: Decode>(bytes: &[u8]) -> Result<T, parity_scale_codec::Error> {
    let mut input = bytes;
    let value = T::decode(&mut input)?;
    if !input.is_empty() {
        return Err(parity_scale_codec::Error::from(
            "trailing bytes after the encoded value",
        ));
    }
    Ok(value)
}

/// Parses hex bytes with or without `0x`.
///
/// # Errors
///
/// A message saying what is wrong.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits).map_err(|e| format!("not hex ({e}): {text:?}"))
}

/// Parses an address: 40 hex digits with or without `0x`.
///
/// # Errors
///
/// A message saying what is wrong.
pub fn parse_address(text: &str) -> Result<Address, String> {
    let bytes = parse_hex(text)?;
    if bytes.len() != 20 {
        return Err(format!("an address is 20 bytes, got {}", bytes.len()));
    }
    Ok(Address::from_slice(&bytes))
}

/// Parses an amount: decimal, or hex with `0x`.
///
/// # Errors
///
/// A message saying what is wrong.
pub fn parse_amount(text: &str) -> Result<U256, String> {
    match text.strip_prefix("0x") {
        Some(digits) => U256::from_str_radix(digits, 16)
            .map_err(|e| format!("not a hex amount ({e:?}): {text:?}")),
        None => {
            U256::from_dec_str(text).map_err(|e| format!("not a decimal amount ({e:?}): {text:?}"))
        }
    }
}

/// `0x`-prefixed lowercase hex: how every byte string (addresses, hashes,
/// data) is written in Cairn's JSON and text output.
pub fn to_hex(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_decoding_refuses_trailing_and_short_input() {
        assert_eq!(decode_exact::<u32>(&[1, 0, 0, 0]), Ok(1));
        assert!(decode_exact::<u32>(&[1, 0, 0, 0, 0]).is_err());
        assert!(decode_exact::<u32>(&[1, 0, 0]).is_err());
        assert!(decode_exact::<Vec<u8>>(&[]).is_err());
    }

    #[test]
    fn garbage_text_is_refused_with_a_reason() {
        assert!(parse_hex("0xzz").unwrap_err().contains("not hex"));
        assert!(parse_hex("abc").is_err(), "odd length");
        assert!(parse_address("0x12").unwrap_err().contains("20 bytes"));
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("0xg").is_err());
        assert!(parse_amount("1e5").is_err());
        assert_eq!(parse_amount("0x10"), Ok(U256::from(16u8)));
        assert_eq!(parse_amount("16"), Ok(U256::from(16u8)));
        assert_eq!(
            to_hex(parse_address("7e5f4552091a69125d5dfcb7b8c2659029395bdf").unwrap()),
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
        );
    }

    /// `specs/chain.md`: compact lengths must be canonical, bools 0 or 1.
    #[test]
    fn non_canonical_compacts_and_bools_are_refused() {
        // The length 1 in its one-byte form, then in the two- and four-byte forms.
        assert_eq!(decode_exact::<Vec<u8>>(&[0x04, 7]), Ok(vec![7]));
        assert!(decode_exact::<Vec<u8>>(&[0x05, 0x00, 7]).is_err());
        assert!(decode_exact::<Vec<u8>>(&[0x06, 0, 0, 0, 7]).is_err());
        // 64 needs two bytes; 2^30 needs the big-integer mode, without a leading zero.
        assert_eq!(
            decode_exact::<parity_scale_codec::Compact<u64>>(&[0x01, 0x01]).map(|c| c.0),
            Ok(64)
        );
        assert_eq!(
            decode_exact::<parity_scale_codec::Compact<u64>>(&[0x03, 0, 0, 0, 0x40]).map(|c| c.0),
            Ok(1 << 30)
        );
        assert!(
            decode_exact::<parity_scale_codec::Compact<u64>>(&[0x07, 0, 0, 0, 0x40, 0]).is_err()
        );
        assert_eq!(decode_exact::<bool>(&[1]), Ok(true));
        assert!(decode_exact::<bool>(&[2]).is_err());
    }
}
