//! Validator key files: the 32-byte ed25519 secret key as 64 hex digits
//! (an optional `0x` and surrounding whitespace allowed).

use std::path::Path;

use super::context::PrivateKey;

/// Reads a validator key file.
///
/// # Errors
///
/// An unreadable file or contents that are not 32 bytes of hex, named with
/// the file (never the key).
pub fn read_key(path: &Path) -> Result<PrivateKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read validator key {}: {e}", path.display()))?;
    parse_key(&text).map_err(|reason| format!("validator key {}: {reason}", path.display()))
}

/// Parses a key file's text.
///
/// # Errors
///
/// Not 64 hex digits.
pub fn parse_key(text: &str) -> Result<PrivateKey, String> {
    let text = text.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(text).map_err(|_| "is not hex".to_string())?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("is {} bytes, not 32", b.len()))?;
    Ok(PrivateKey::from(bytes))
}

/// A key file's text for `secret`.
pub fn key_text(secret: &[u8; 32]) -> String {
    format!("{}\n", hex::encode(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_garbage_is_refused() {
        let key = parse_key(&key_text(&[7; 32])).unwrap();
        assert_eq!(key.inner().to_bytes(), [7; 32]);
        for bad in ["", "zz", "0x1234", &"ab".repeat(33), "\u{0}\u{1}"] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
    }
}
