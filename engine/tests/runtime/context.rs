//! Context functions: message and block.

use super::*;

#[test]
fn context_functions_report_the_message_and_block() {
    let mut h = Harness::new();
    h.install(
        addr(1),
        &returning(
            "(call $caller (i32.const 0))
             (call $origin (i32.const 20))
             (call $address (i32.const 40))
             (call $value (i32.const 60))
             (call $balance (i32.const 0) (i32.const 92))
             (i64.store (i32.const 124) (call $block_number))
             (i64.store (i32.const 132) (call $block_timestamp))
             (i64.store (i32.const 140) (call $chain_id))
             (i64.store (i32.const 148) (call $gas_left))",
            0,
            156,
        ),
    );
    let mut msg = h.message(addr(1), b"", GAS);
    msg.value = U256::from(1234u64);
    let outcome = h.run(&msg);
    let out = returned(&outcome);
    assert_eq!(&out[0..20], addr(USER).as_bytes());
    assert_eq!(&out[20..40], addr(USER).as_bytes());
    assert_eq!(&out[40..60], addr(1).as_bytes());
    assert_eq!(U256::from_little_endian(&out[60..92]), U256::from(1234u64));
    assert_eq!(
        U256::from_little_endian(&out[92..124]),
        U256::from(1_000_000u64 - 1234)
    );
    let word = |at: usize| i64::from_le_bytes(out[at..at + 8].try_into().unwrap());
    assert_eq!(word(124), 7);
    assert_eq!(word(132), 1_700_000_000);
    assert_eq!(word(140), 42);
    let gas_left = word(148);
    assert!(gas_left > 0 && gas_left.cast_unsigned() < GAS);
    // The value moved to the contract.
    assert_eq!(
        outcome.changes.accounts[&addr(1)].balance,
        U256::from(1234u64)
    );
}

#[test]
fn balance_of_absent_account_is_zero_and_context_pointers_are_checked() {
    let mut h = Harness::new();
    h.install(
        addr(1),
        &returning("(i32.store8 (i32.const 0) (i32.const 0x77)) (call $balance (i32.const 0) (i32.const 32))", 32, 32),
    );
    assert_eq!(returned(&h.call(addr(1), b"")), vec![0; 32]);
    for (i, body) in [
        "(call $caller (i32.const 65530))",
        "(call $origin (i32.const -20))",
        "(call $address (i32.const 65536))",
        "(call $value (i32.const 65535))",
        "(call $balance (i32.const 65530) (i32.const 0))",
        "(call $balance (i32.const 0) (i32.const 65530))",
    ]
    .iter()
    .enumerate()
    {
        let at = addr(40 + u8::try_from(i).unwrap());
        h.install(at, &format!("(func (export \"call\") {body})"));
        assert_eq!(
            trap_of(&h.call(at, b"")),
            TrapKind::HostMemoryOutOfBounds,
            "{body}"
        );
    }
}

// ---------------------------------------------------------------------------
