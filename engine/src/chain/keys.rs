//! Keys, addresses and recoverable secp256k1 signatures.
//!
//! An address is the last 20 bytes of keccak256 of the 64-byte uncompressed
//! public key (without the `0x04` prefix): Ethereum's convention, so existing
//! keys and tooling carry over. Signatures are 65 bytes `r || s || v` with
//! `v` the recovery id (0 or 1); only low-s signatures are accepted, so a
//! signed transaction has exactly one valid encoding.

use cairn_host_api::world::{Address, H256};
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{Message, PublicKey, SecretKey};
use sha3::{Digest, Keccak256};

/// keccak256 of `data`.
pub fn keccak256(data: &[u8]) -> H256 {
    H256(Keccak256::digest(data).into())
}

/// Half the order of secp256k1's group, big-endian: the largest accepted `s`.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// Why a signature does not recover to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The recovery byte `v` is not 0 or 1.
    #[error("recovery id {0} is not 0 or 1")]
    BadRecoveryId(u8),
    /// `s` is above half the group order (a malleated signature).
    #[error("signature s is above half the curve order (high-s signatures are rejected)")]
    HighS,
    /// `r`/`s` are out of range or no public key recovers from them.
    #[error("signature does not recover to a public key")]
    Unrecoverable,
}

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

/// The address of a public key: the last 20 bytes of keccak256 of its
/// uncompressed encoding without the `0x04` prefix.
pub fn public_key_address(key: &PublicKey) -> Address {
    let uncompressed = key.serialize_uncompressed();
    let digest = keccak256(&uncompressed[1..]);
    Address::from_slice(&digest.as_bytes()[12..])
}

/// Recovers the address that signed `digest` with `signature` (`r || s || v`).
///
/// # Errors
///
/// A [`SignatureError`] naming what is wrong with the signature.
pub fn recover_address(digest: &H256, signature: &[u8; 65]) -> Result<Address, SignatureError> {
    let v = signature[64];
    if v > 1 {
        return Err(SignatureError::BadRecoveryId(v));
    }
    if signature[32..64] > HALF_ORDER[..] {
        return Err(SignatureError::HighS);
    }
    let recid = RecoveryId::from_u8_masked(v);
    let sig = RecoverableSignature::from_compact(&signature[..64], recid)
        .map_err(|_| SignatureError::Unrecoverable)?;
    let key = sig
        .recover_ecdsa(Message::from_digest(digest.0))
        .map_err(|_| SignatureError::Unrecoverable)?;
    Ok(public_key_address(&key))
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
    fn high_s_twin_of_a_valid_signature_is_rejected() {
        // s' = n - s with the other recovery id is the same signature in
        // high-s form; libsecp256k1 would accept it, we must not.
        const ORDER: [u8; 32] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c,
            0xd0, 0x36, 0x41, 0x41,
        ];
        let k = key(5);
        let digest = keccak256(b"twin");
        let sig = k.sign_digest(&digest);
        let mut twin = sig;
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(ORDER[i]) - i16::from(sig[32 + i]) - borrow;
            borrow = i16::from(d < 0);
            twin[32 + i] = u8::try_from(d.rem_euclid(256)).unwrap();
        }
        twin[64] ^= 1;
        assert_eq!(recover_address(&digest, &twin), Err(SignatureError::HighS));
    }

    #[test]
    fn invalid_secret_keys_are_refused() {
        assert!(SigningKey::from_bytes([0; 32]).is_err());
        assert!(SigningKey::from_bytes([0xff; 32]).is_err());
    }
}
