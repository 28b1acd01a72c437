//! Cross-contract calls and transfers.

use super::*;

#[test]
fn nested_call_success_revert_and_halt_are_reported_to_the_caller() {
    let mut h = Harness::new();
    h.install(addr(1), CALLER);
    h.install(addr(2), CALLEE);

    let outcome = h.call(addr(1), &caller_input(0, -1));
    let out = returned(&outcome);
    assert_eq!(i32_le(&out), 0);
    assert_eq!(&out[20..], b"pong");
    assert_eq!(
        outcome.changes.storage.get(&(addr(2), b"callee".to_vec())),
        Some(&Some(b"ok".to_vec()))
    );
    assert_eq!(
        outcome.changes.storage.get(&(addr(1), b"caller".to_vec())),
        Some(&Some(b"ok".to_vec()))
    );

    // Revert: the callee's write is gone, the caller's stays, revert data readable.
    let outcome = h.call(addr(1), &caller_input(1, -1));
    let out = returned(&outcome);
    assert_eq!(i32_le(&out), 1);
    assert_eq!(&out[20..], b"no");
    assert!(
        !outcome
            .changes
            .storage
            .contains_key(&(addr(2), b"callee".to_vec()))
    );
    assert!(
        outcome
            .changes
            .storage
            .contains_key(&(addr(1), b"caller".to_vec()))
    );

    // Trap: code 2, no return data, callee's write discarded.
    let outcome = h.call(addr(1), &caller_input(2, -1));
    let out = returned(&outcome);
    assert_eq!(i32_le(&out), 2);
    assert_eq!(out.len(), 20);
    assert!(
        !outcome
            .changes
            .storage
            .contains_key(&(addr(2), b"callee".to_vec()))
    );
}

#[test]
fn nested_call_forwards_gas_and_returns_the_unused_rest() {
    let mut h = Harness::new();
    h.install(addr(1), CALLER);
    h.install(addr(2), CALLEE);
    let word = |out: &[u8], at: usize| i64::from_le_bytes(out[at..at + 8].try_into().unwrap());

    // An infinite loop with a 50,000 limit burns exactly the forwarded 50,000
    // (plus the call's own cost and the caller's code around it).
    let out = returned(&h.call(addr(1), &caller_input(3, 50_000)));
    assert_eq!(i32_le(&out), 2);
    let spent = word(&out, 4) - word(&out, 12);
    let call_cost = i64::try_from(cairn_host_api::gas::call.cost(1)).unwrap();
    assert!(spent >= 50_000 + call_cost, "spent {spent}");
    assert!(spent < 50_000 + call_cost + 200, "spent {spent}");

    // A successful callee returns most of a large limit.
    let out = returned(&h.call(addr(1), &caller_input(0, 5_000_000)));
    let spent = word(&out, 4) - word(&out, 12);
    assert!(spent < 100_000, "spent {spent}");

    // "As much as allowed" forwards all but 1/64 of what is left: the callee's
    // loop burns exactly that, and the caller survives on its reserve.
    let outcome = h.run(&h.message(addr(1), &caller_input(3, -1), 200_000));
    let out = returned(&outcome);
    assert_eq!(i32_le(&out), 2);
    // `gas_left` is read a few instructions before the call, hence the slack.
    let left_at_call = word(&out, 4) - call_cost;
    let forwarded = left_at_call - left_at_call / 64;
    let spent = word(&out, 4) - word(&out, 12);
    assert!(
        (spent - call_cost - forwarded).abs() < 200,
        "spent {spent}, forwarded about {forwarded}"
    );
    assert!(outcome.gas_used < 200_000);
}

#[test]
fn call_to_account_without_code_or_with_unpayable_value_does_not_start() {
    let mut h = Harness::new();
    // Calls addr(9) (no code), then addr(2) with value 1 it does not have.
    h.install(addr(2), CALLEE);
    h.install(
        addr(1),
        r#"(data (i32.const 40) "\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09\09")
           (data (i32.const 60) "\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02")
           (data (i32.const 96) "\01")
           (func (export "call")
             (i32.store (i32.const 200) (call $call (i32.const 40) (i32.const 64) (i64.const -1) (i32.const 0) (i32.const 0)))
             (i32.store (i32.const 204) (call $call (i32.const 60) (i32.const 96) (i64.const -1) (i32.const 0) (i32.const 1)))
             (call $return_value (i32.const 200) (i32.const 8)))"#,
    );
    let out = returned(&h.call(addr(1), b""));
    assert_eq!(i32_le(&out), 3);
    assert_eq!(i32_le(&out[4..]), 3);
    for (i, body) in [
        "(drop (call $call (i32.const 65530) (i32.const 0) (i64.const -1) (i32.const 0) (i32.const 0)))",
        "(drop (call $call (i32.const 0) (i32.const 65530) (i64.const -1) (i32.const 0) (i32.const 0)))",
        "(drop (call $call (i32.const 0) (i32.const 0) (i64.const -1) (i32.const 65530) (i32.const 100)))",
        "(call $return_data_copy (i32.const 0) (i32.const 0) (i32.const 1))",
    ]
    .iter()
    .enumerate()
    {
        let at = addr(60 + u8::try_from(i).unwrap());
        h.install(at, &format!("(func (export \"call\") {body})"));
        let expected = if i == 3 { TrapKind::ReturnDataOutOfBounds } else { TrapKind::HostMemoryOutOfBounds };
        assert_eq!(trap_of(&h.call(at, b"")), expected, "{body}");
    }
}

#[test]
fn call_depth_is_limited_and_reentrancy_is_allowed() {
    let mut h = Harness::new();
    h.install(addr(3), RECURSIVE);
    let outcome = h.call_apply(addr(3), b"");
    // The outermost frame's call succeeded: the chain below it all returned.
    assert_eq!(i32_le(&returned(&outcome)), 0);
    let depth = i32_le(&h.storage(addr(3), b"n").unwrap());
    assert_eq!(
        depth, 64,
        "the top-level message is depth 1, the last frame depth 64"
    );

    let mut h = Harness::with_config(ExecConfig {
        max_call_depth: 5,
        ..ExecConfig::default()
    });
    h.install(addr(3), RECURSIVE);
    h.call_apply(addr(3), b"");
    assert_eq!(i32_le(&h.storage(addr(3), b"n").unwrap()), 5);
}

#[test]
fn transfer_moves_value_or_returns_1() {
    let mut h = Harness::new();
    h.install(
        addr(1),
        r#"(data (i32.const 0) "\05\05\05\05\05\05\05\05\05\05\05\05\05\05\05\05\05\05\05\05")
           (func (export "call")
             (call $input_copy (i32.const 32) (i32.const 0) (i32.const 32))
             (i32.store (i32.const 100) (call $transfer (i32.const 0) (i32.const 32)))
             (call $return_value (i32.const 100) (i32.const 4)))"#,
    );
    let mut msg = h.message(addr(1), &U256::from(300u64).to_little_endian(), GAS);
    msg.value = U256::from(500u64);
    let outcome = h.run(&msg);
    assert_eq!(i32_le(&returned(&outcome)), 0);
    assert_eq!(
        outcome.changes.accounts[&addr(5)].balance,
        U256::from(300u64)
    );
    assert_eq!(
        outcome.changes.accounts[&addr(1)].balance,
        U256::from(200u64)
    );
    assert_eq!(
        outcome.changes.accounts[&addr(USER)].balance,
        U256::from(1_000_000u64 - 500)
    );

    msg.input = U256::from(501u64).to_little_endian().to_vec();
    let outcome = h.run(&msg);
    assert_eq!(i32_le(&returned(&outcome)), 1);
    assert!(!outcome.changes.accounts.contains_key(&addr(5)));

    h.install(
        addr(2),
        "(func (export \"call\") (drop (call $transfer (i32.const 65530) (i32.const 0))))",
    );
    assert_eq!(
        trap_of(&h.call(addr(2), b"")),
        TrapKind::HostMemoryOutOfBounds
    );
}

#[test]
fn value_transfers_of_failed_frames_are_discarded() {
    let mut h = Harness::new();
    // A contract that forwards 7 units to addr(2) (CALLEE) and returns the call's code.
    h.install(addr(2), CALLEE);
    h.install(
        addr(1),
        r#"(data (i32.const 40) "\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02")
           (data (i32.const 64) "\07")
           (func (export "call")
             (call $input_copy (i32.const 100) (i32.const 0) (i32.const 1))
             (i32.store (i32.const 200) (call $call (i32.const 40) (i32.const 64) (i64.const 1000000) (i32.const 100) (i32.const 1)))
             (call $return_value (i32.const 200) (i32.const 4)))"#,
    );
    let mut msg = h.message(addr(1), &[0], GAS);
    msg.value = U256::from(10u64);
    // Callee succeeds: 10 to addr(1), 7 of them on to addr(2).
    let outcome = h.run(&msg);
    assert_eq!(i32_le(&returned(&outcome)), 0);
    assert_eq!(outcome.changes.accounts[&addr(1)].balance, U256::from(3u64));
    assert_eq!(outcome.changes.accounts[&addr(2)].balance, U256::from(7u64));
    // Callee reverts (1) or traps (2): its 7 stay with addr(1).
    for op in [1u8, 2] {
        msg.input = vec![op];
        let outcome = h.run(&msg);
        assert_eq!(i32_le(&returned(&outcome)), i32::from(op));
        assert_eq!(
            outcome.changes.accounts[&addr(1)].balance,
            U256::from(10u64)
        );
        assert_eq!(
            outcome.changes.accounts.get(&addr(2)).map(|a| a.balance),
            None
        );
    }
    // The top-level frame reverts: nothing moves at all.
    h.install(
        addr(3),
        "(func (export \"call\") (call $revert (i32.const 0) (i32.const 0)))",
    );
    let mut msg = h.message(addr(3), b"", GAS);
    msg.value = U256::from(10u64);
    let outcome = h.run(&msg);
    assert_eq!(outcome.status, ExecStatus::Revert { data: vec![] });
    assert!(outcome.changes.is_empty());
}

#[test]
fn message_value_beyond_balance_is_rejected_without_gas() {
    let mut h = Harness::new();
    h.install(addr(1), "(func (export \"call\"))");
    let mut msg = h.message(addr(1), b"", GAS);
    msg.value = U256::from(2_000_000u64);
    let outcome = h.run(&msg);
    assert!(is_halt(&outcome, &HaltReason::InsufficientBalance));
    assert_eq!(outcome.gas_used, 0);
    assert!(outcome.changes.is_empty());
}

// ---------------------------------------------------------------------------
