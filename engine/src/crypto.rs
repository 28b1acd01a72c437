//! secp256k1 signature recovery and Ethereum-style addresses: the one
//! implementation behind both transaction senders (the chain layer) and the
//! `ecrecover` host function.
//!
//! An address is the last 20 bytes of keccak256 of the 64-byte uncompressed
//! public key (without the `0x04` prefix): Ethereum's convention, so
//! existing keys and tooling carry over. A signature is `r || s` plus a
//! recovery id (0 or 1). Only low-s signatures are accepted (`s <= n/2`),
//! so a signed message has exactly one valid signature encoding; `r` and
//! `s` must be in `1..n`. Normative text: `specs/chain.md` ("Signatures").

use cairn_host_api::keccak256;
use cairn_host_api::world::{Address, H256};
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{Message, PublicKey};

/// Half the order n of secp256k1's group, big-endian: the largest accepted `s`.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// Why a signature does not recover to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The recovery id is not 0 or 1.
    #[error("recovery id {0} is not 0 or 1")]
    BadRecoveryId(u8),
    /// `s` is above half the group order (a malleated signature).
    #[error("signature s is above half the curve order (high-s signatures are rejected)")]
    HighS,
    /// `r`/`s` are out of range or no public key recovers from them.
    #[error("signature does not recover to a public key")]
    Unrecoverable,
}

/// The address of a public key: the last 20 bytes of keccak256 of its
/// uncompressed encoding without the `0x04` prefix.
pub fn public_key_address(key: &PublicKey) -> Address {
    let uncompressed = key.serialize_uncompressed();
    let digest = keccak256(&uncompressed[1..]);
    Address::from_slice(&digest.as_bytes()[12..])
}

/// Recovers the address that signed `digest` with the compact signature
/// `r || s` and recovery id `recovery_id` (0 or 1).
///
/// # Errors
///
/// A [`SignatureError`] naming what is wrong with the signature.
pub fn recover_address(
    digest: &H256,
    compact: &[u8; 64],
    recovery_id: u8,
) -> Result<Address, SignatureError> {
    if recovery_id > 1 {
        return Err(SignatureError::BadRecoveryId(recovery_id));
    }
    // Big-endian byte order is numeric order: this also refuses s >= n.
    if compact[32..] > HALF_ORDER[..] {
        return Err(SignatureError::HighS);
    }
    let recoverable =
        RecoverableSignature::from_compact(compact, RecoveryId::from_u8_masked(recovery_id))
            .map_err(|_| SignatureError::Unrecoverable)?;
    let key = recoverable
        .recover_ecdsa(Message::from_digest(digest.0))
        .map_err(|_| SignatureError::Unrecoverable)?;
    Ok(public_key_address(&key))
}

/// [`recover_address`] of a 65-byte `r || s || v` signature with `v` in {0, 1}.
///
/// # Errors
///
/// As [`recover_address`].
pub fn recover_address_rsv(digest: &H256, signature: &[u8; 65]) -> Result<Address, SignatureError> {
    let mut compact = [0u8; 64];
    compact.copy_from_slice(&signature[..64]);
    recover_address(digest, &compact, signature[64])
}

#[cfg(test)]
mod tests {
    use super::*;
    use secp256k1::SecretKey;

    fn sign(secret: u8, digest: &H256) -> ([u8; 64], u8, Address) {
        let mut bytes = [0u8; 32];
        bytes[31] = secret;
        let key = SecretKey::from_secret_bytes(bytes).unwrap();
        let sig =
            RecoverableSignature::sign_ecdsa_recoverable(Message::from_digest(digest.0), &key);
        let (recid, compact) = sig.serialize_compact();
        let address = public_key_address(&PublicKey::from_secret_key(&key));
        (compact, recid.to_u8(), address)
    }

    #[test]
    fn recovers_published_ethereum_addresses() {
        let digest = keccak256(b"cairn");
        for (secret, address) in [
            (1u8, "7e5f4552091a69125d5dfcb7b8c2659029395bdf"),
            (2, "2b5ad5c4795c026514f8317c7a215e218dccd6cf"),
        ] {
            let (compact, v, derived) = sign(secret, &digest);
            assert_eq!(hex::encode(derived), address);
            assert_eq!(recover_address(&digest, &compact, v), Ok(derived));
        }
    }

    #[test]
    fn zero_out_of_range_and_high_s_signatures_are_refused() {
        let digest = keccak256(b"x");
        let (compact, v, _) = sign(3, &digest);
        assert_eq!(
            recover_address(&digest, &compact, 2),
            Err(SignatureError::BadRecoveryId(2))
        );
        let mut zero_r = compact;
        zero_r[..32].fill(0);
        assert_eq!(
            recover_address(&digest, &zero_r, v),
            Err(SignatureError::Unrecoverable)
        );
        let mut zero_s = compact;
        zero_s[32..].fill(0);
        assert_eq!(
            recover_address(&digest, &zero_s, v),
            Err(SignatureError::Unrecoverable)
        );
        // r = n (the group order) is out of range.
        let order = hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
            .unwrap();
        let mut r_is_n = compact;
        r_is_n[..32].copy_from_slice(&order);
        assert_eq!(
            recover_address(&digest, &r_is_n, v),
            Err(SignatureError::Unrecoverable)
        );
        // s' = n - s with the other recovery id is the same signature in high-s form.
        let mut twin = compact;
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(order[i]) - i16::from(compact[32 + i]) - borrow;
            borrow = i16::from(d < 0);
            twin[32 + i] = u8::try_from(d.rem_euclid(256)).unwrap();
        }
        assert_eq!(
            recover_address(&digest, &twin, v ^ 1),
            Err(SignatureError::HighS)
        );
        let mut all_ff = compact;
        all_ff[32..].fill(0xff);
        assert_eq!(
            recover_address(&digest, &all_ff, v),
            Err(SignatureError::HighS)
        );
    }
}
