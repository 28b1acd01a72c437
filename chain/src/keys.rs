//! Signing keys. Recovery and addresses are the engine's
//! ([`cairn_engine::crypto`]), shared with the `ecrecover` host function.

pub use cairn_engine::crypto::{
    SignatureError, public_key_address, recover_address_rsv as recover_address,
};
pub use cairn_host_api::keccak256;
use cairn_host_api::world::{Address, H256};
use secp256k1::ecdsa::RecoverableSignature;
use secp256k1::{Message, PublicKey, SecretKey};

/// A secp256k1 secret key that signs transactions.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    secret: SecretKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "SigningKey({:?})", self.address())
    }
}

/// Why bytes are not a secret key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid secp256k1 secret key (must be 32 bytes, non-zero, below the curve order)")]
pub struct InvalidSecretKey;

impl SigningKey {
    /// The key with secret scalar `bytes` (big-endian).
    ///
    /// # Errors
    ///
    /// [`InvalidSecretKey`] if `bytes` is zero or not below the curve order.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, InvalidSecretKey> {
        SecretKey::from_secret_bytes(bytes)
            .map(|secret| Self { secret })
            .map_err(|_| InvalidSecretKey)
    }

    /// A key derived deterministically from `seed` (keccak256 of it, re-hashed
    /// until valid). For demos, tests and benchmarks, never for real funds.
    pub fn from_seed(seed: &[u8]) -> Self {
        let mut digest = keccak256(seed);
        loop {
            if let Ok(key) = Self::from_bytes(digest.0) {
                return key;
            }
            digest = keccak256(digest.as_bytes());
        }
    }

    /// The secret scalar, big-endian.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.secret.to_secret_bytes()
    }

    /// The address of this key's public key.
    pub fn address(&self) -> Address {
        public_key_address(&PublicKey::from_secret_key(&self.secret))
    }

    /// Signs a 32-byte digest: `r || s || v`, low-s (libsecp256k1 always
    /// produces low-s), RFC 6979 nonce (deterministic).
    pub fn sign_digest(&self, digest: &H256) -> [u8; 65] {
        let sig = RecoverableSignature::sign_ecdsa_recoverable(
            Message::from_digest(digest.0),
            &self.secret,
        );
        let (recid, compact) = sig.serialize_compact();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&compact);
        out[64] = recid.to_u8();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(last: u8) -> SigningKey {
        let mut bytes = [0u8; 32];
        bytes[31] = last;
        SigningKey::from_bytes(bytes).unwrap()
    }

    #[test]
    fn addresses_match_published_ethereum_pairs() {
        // Well-known pairs: private keys 1, 2 and 3 and their Ethereum addresses.
        let pairs = [
            (1u8, "7e5f4552091a69125d5dfcb7b8c2659029395bdf"),
            (2, "2b5ad5c4795c026514f8317c7a215e218dccd6cf"),
            (3, "6813eb9362372eef6200f3b1dbc3f819671cba69"),
        ];
        for (k, addr) in pairs {
            assert_eq!(hex::encode(key(k).address()), addr, "private key {k}");
        }
    }

    #[test]
    fn sign_then_recover_roundtrips_and_is_deterministic() {
        let k = key(7);
        let digest = keccak256(b"cairn");
        let sig = k.sign_digest(&digest);
        assert_eq!(sig, k.sign_digest(&digest));
        assert_eq!(recover_address(&digest, &sig), Ok(k.address()));
        // A different digest recovers some other address, never ours.
        let other = recover_address(&keccak256(b"other"), &sig);
        assert_ne!(other, Ok(k.address()));
    }

    #[test]
    fn malformed_signatures_are_rejected_with_their_reason() {
        let k = key(9);
        let digest = keccak256(b"x");
        let mut sig = k.sign_digest(&digest);
        sig[64] = 2;
        assert_eq!(
            recover_address(&digest, &sig),
            Err(SignatureError::BadRecoveryId(2))
        );
        let mut high = k.sign_digest(&digest);
        high[32..64].copy_from_slice(&[0xff; 32]);
        assert_eq!(recover_address(&digest, &high), Err(SignatureError::HighS));
        let mut zero = k.sign_digest(&digest);
        zero[..32].copy_from_slice(&[0; 32]);
        assert_eq!(
            recover_address(&digest, &zero),
            Err(SignatureError::Unrecoverable)
        );
    }

    #[test]
    fn invalid_secret_keys_are_refused() {
        assert!(SigningKey::from_bytes([0; 32]).is_err());
        assert!(SigningKey::from_bytes([0xff; 32]).is_err());
    }
}
