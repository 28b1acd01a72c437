//! Garbage arguments to every host function that takes pointers.

use super::*;

/// input: selector (1 byte) then five i32 arguments (LE); calls the selected
/// host function with them as they are.
const GARBAGE: &str = r#"
    (func $arg (param $i i32) (result i32) (i32.load (i32.add (i32.const 1) (i32.mul (local.get $i) (i32.const 4)))))
    (func (export "call") (local $op i32)
      (call $input_copy (i32.const 0) (i32.const 0) (i32.const 21))
      (local.set $op (i32.load8_u (i32.const 0)))
      (if (i32.eq (local.get $op) (i32.const 0)) (then (call $input_copy (call $arg (i32.const 0)) (call $arg (i32.const 1)) (call $arg (i32.const 2)))))
      (if (i32.eq (local.get $op) (i32.const 1)) (then (call $return_value (call $arg (i32.const 0)) (call $arg (i32.const 1)))))
      (if (i32.eq (local.get $op) (i32.const 2)) (then (call $revert (call $arg (i32.const 0)) (call $arg (i32.const 1)))))
      (if (i32.eq (local.get $op) (i32.const 3)) (then (drop (call $storage_read (call $arg (i32.const 0)) (call $arg (i32.const 1)) (call $arg (i32.const 2)) (call $arg (i32.const 3))))))
      (if (i32.eq (local.get $op) (i32.const 4)) (then (call $storage_write (call $arg (i32.const 0)) (call $arg (i32.const 1)) (call $arg (i32.const 2)) (call $arg (i32.const 3)))))
      (if (i32.eq (local.get $op) (i32.const 5)) (then (drop (call $storage_remove (call $arg (i32.const 0)) (call $arg (i32.const 1))))))
      (if (i32.eq (local.get $op) (i32.const 6)) (then (call $keccak256 (call $arg (i32.const 0)) (call $arg (i32.const 1)) (call $arg (i32.const 2)))))
      (if (i32.eq (local.get $op) (i32.const 7)) (then (drop (call $ecrecover (call $arg (i32.const 0)) (call $arg (i32.const 1)) (call $arg (i32.const 2))))))
      (if (i32.eq (local.get $op) (i32.const 8)) (then (call $emit_log (call $arg (i32.const 0)) (call $arg (i32.const 1)) (call $arg (i32.const 2)) (call $arg (i32.const 3)))))
      (if (i32.eq (local.get $op) (i32.const 9)) (then (call $return_data_copy (call $arg (i32.const 0)) (call $arg (i32.const 1)) (call $arg (i32.const 2)))))
      (if (i32.eq (local.get $op) (i32.const 10)) (then (call $debug_print (call $arg (i32.const 0)) (call $arg (i32.const 1)))))
      (if (i32.eq (local.get $op) (i32.const 11)) (then (call $balance (call $arg (i32.const 0)) (call $arg (i32.const 1)))))
      (if (i32.eq (local.get $op) (i32.const 12)) (then (drop (call $transfer (call $arg (i32.const 0)) (call $arg (i32.const 1))))))
      (if (i32.eq (local.get $op) (i32.const 13)) (then (drop (call $call (call $arg (i32.const 0)) (call $arg (i32.const 1))
            (i64.extend_i32_s (call $arg (i32.const 2))) (call $arg (i32.const 3)) (call $arg (i32.const 4))))))
      (if (i32.eq (local.get $op) (i32.const 14)) (then (call $caller (call $arg (i32.const 0)))))
      (if (i32.eq (local.get $op) (i32.const 15)) (then (call $value (call $arg (i32.const 0))))))
"#;

fn garbage_arg() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(0),
        Just(-1),
        Just(i32::MIN),
        Just(i32::MAX),
        Just(65_536),
        Just(65_535),
        0i32..70_000,
        0i32..64,
        any::<i32>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn garbage_host_arguments_end_in_deterministic_contract_outcomes(
        op in 0u8..16,
        args in proptest::collection::vec(garbage_arg(), 5),
        gas in prop_oneof![Just(GAS), 0u64..50_000],
    ) {
        let mut h = Harness::new();
        h.install(addr(1), GARBAGE);
        h.install(addr(2), CALLEE);
        let mut input = vec![op];
        for arg in &args {
            input.extend_from_slice(&arg.to_le_bytes());
        }
        let msg = h.message(addr(1), &input, gas);
        let first = h.run(&msg);
        let second = Harness::new_with_world(h.world.clone()).run(&msg);
        prop_assert_eq!(&first, &second);
        prop_assert!(first.gas_used <= gas);
        let allowed = match &first.status {
            ExecStatus::Success { .. } | ExecStatus::Revert { .. } => true,
            ExecStatus::Halt { reason } => matches!(
                reason,
                HaltReason::OutOfGas
                    | HaltReason::Trap(
                        TrapKind::HostMemoryOutOfBounds
                            | TrapKind::InputOutOfBounds
                            | TrapKind::ReturnDataOutOfBounds
                            | TrapKind::StorageLimitExceeded
                            | TrapKind::TooManyTopics
                            | TrapKind::LogDataTooLarge
                    )
            ),
        };
        prop_assert!(allowed, "op {} args {:?}: {:?}", op, args, first.status);
        if !first.is_success() {
            prop_assert!(first.changes.is_empty() && first.logs.is_empty());
        }
    }
}
