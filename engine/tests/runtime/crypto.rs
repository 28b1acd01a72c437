//! keccak256 and ecrecover.

use super::*;

#[test]
fn keccak256_matches_sha3_and_checks_pointers() {
    let mut h = Harness::new();
    h.install(
        addr(1),
        "(func (export \"call\") (local $n i32)
            (local.set $n (call $input_size))
            (call $input_copy (i32.const 0) (i32.const 0) (local.get $n))
            (call $keccak256 (i32.const 0) (local.get $n) (i32.const 1000))
            (call $return_value (i32.const 1000) (i32.const 32)))",
    );
    for input in [&b""[..], b"abc", &[7u8; 300]] {
        let expected: [u8; 32] = Keccak256::digest(input).into();
        assert_eq!(returned(&h.call(addr(1), input)), expected);
    }
    h.install(
        addr(2),
        "(func (export \"call\") (call $keccak256 (i32.const 0) (i32.const 70000) (i32.const 0)))",
    );
    assert_eq!(
        trap_of(&h.call(addr(2), b"")),
        TrapKind::HostMemoryOutOfBounds
    );
    h.install(
        addr(3),
        "(func (export \"call\") (call $keccak256 (i32.const 0) (i32.const 1) (i32.const 65535)))",
    );
    assert_eq!(
        trap_of(&h.call(addr(3), b"")),
        TrapKind::HostMemoryOutOfBounds
    );
}

fn signing_key() -> (secp256k1::SecretKey, Address) {
    let secret = secp256k1::SecretKey::from_secret_bytes([0x42; 32]).unwrap();
    let public = secp256k1::PublicKey::from_secret_key(&secret);
    let digest = Keccak256::digest(&public.serialize_uncompressed()[1..]);
    (secret, Address::from_slice(&digest[12..]))
}

/// `r ‖ s ‖ v` with `v` in {0, 1}.
fn sign(hash: [u8; 32]) -> [u8; 65] {
    let (secret, _) = signing_key();
    let signature = secp256k1::ecdsa::RecoverableSignature::sign_ecdsa_recoverable(
        secp256k1::Message::from_digest(hash),
        &secret,
    );
    let (recovery, compact) = signature.serialize_compact();
    let mut out = [0u8; 65];
    out[..64].copy_from_slice(&compact);
    out[64] = u8::from(recovery);
    out
}

/// secp256k1's group order n, big-endian.
const CURVE_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

/// The same signature with s replaced by n - s (high s) and v flipped.
fn high_s(signature: [u8; 65]) -> [u8; 65] {
    let n = U256::from_big_endian(&CURVE_ORDER);
    let s = U256::from_big_endian(&signature[32..64]);
    let mut out = signature;
    out[32..64].copy_from_slice(&(n - s).to_big_endian());
    out[64] ^= 1;
    out
}

#[test]
fn ecrecover_recovers_low_s_signers_and_rejects_the_rest_with_code_1() {
    let mut h = Harness::new();
    // input: hash (32) ‖ signature (65); returns code (4 bytes) ‖ address (20).
    h.install(
        addr(1),
        "(func (export \"call\")
            (call $input_copy (i32.const 0) (i32.const 0) (i32.const 97))
            (i32.store (i32.const 200) (call $ecrecover (i32.const 0) (i32.const 32) (i32.const 204)))
            (call $return_value (i32.const 200) (i32.const 24)))",
    );
    let hash: [u8; 32] = Keccak256::digest(b"message").into();
    let signature = sign(hash);
    let (_, signer) = signing_key();
    let run = |sig: [u8; 65]| {
        let mut input = hash.to_vec();
        input.extend_from_slice(&sig);
        returned(&h.call(addr(1), &input))
    };
    let out = run(signature);
    assert_eq!(i32_le(&out), 0);
    assert_eq!(&out[4..24], signer.as_bytes());
    // v as 27/28 works as well.
    let mut legacy = signature;
    legacy[64] += 27;
    assert_eq!(&run(legacy)[4..24], signer.as_bytes());
    // High s, bad v, zero r: return code 1 and nothing written.
    for bad in [
        high_s(signature),
        {
            let mut s = signature;
            s[64] = 5;
            s
        },
        {
            let mut s = signature;
            s[..32].fill(0);
            s
        },
    ] {
        let out = run(bad);
        assert_eq!(i32_le(&out), 1);
        assert_eq!(&out[4..24], &[0; 20]);
    }
    // Garbage pointers trap.
    h.install(addr(2), "(func (export \"call\") (drop (call $ecrecover (i32.const 65520) (i32.const 0) (i32.const 0))))");
    assert_eq!(
        trap_of(&h.call(addr(2), b"")),
        TrapKind::HostMemoryOutOfBounds
    );
    h.install(addr(3), "(func (export \"call\") (drop (call $ecrecover (i32.const 0) (i32.const 0) (i32.const 65530))))");
    assert_eq!(
        trap_of(&h.call(addr(3), b"")),
        TrapKind::HostMemoryOutOfBounds
    );
}

// ---------------------------------------------------------------------------
