//! Gas exactness and determinism.

use super::*;

/// Does input-dependent work: loops input[0] times, writes input[1] keys,
/// logs, hashes, and returns a hash.
const WORKER: &str = r#"
    (func $work (param $n i32) (result i32) (local $acc i32)
      (block $out (loop $l
        (br_if $out (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
      (local.get $acc))
    (func (export "call") (local $i i32) (local $keys i32)
      (call $input_copy (i32.const 0) (i32.const 0) (call $input_size))
      (i32.store (i32.const 64) (call $work (i32.load8_u (i32.const 0))))
      (local.set $keys (i32.load8_u (i32.const 1)))
      (block $out (loop $l
        (br_if $out (i32.ge_u (local.get $i) (local.get $keys)))
        (i32.store8 (i32.const 80) (local.get $i))
        (call $storage_write (i32.const 80) (i32.const 1) (i32.const 64) (i32.const 4))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (call $emit_log (i32.const 0) (i32.const 0) (i32.const 64) (i32.const 4))
      (call $keccak256 (i32.const 0) (call $input_size) (i32.const 96))
      (call $return_value (i32.const 96) (i32.const 32)))
"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn gas_is_exact(loops in 0u8..=255, keys in 0u8..6, extra in proptest::collection::vec(any::<u8>(), 0..40)) {
        let mut h = Harness::new();
        h.install(addr(1), WORKER);
        let mut input = vec![loops, keys];
        input.extend_from_slice(&extra);
        let ample = h.run(&h.message(addr(1), &input, GAS));
        prop_assert!(ample.is_success());
        let used = ample.gas_used;
        let exact = h.run(&h.message(addr(1), &input, used));
        prop_assert_eq!(&exact, &ample);
        let short = h.run(&h.message(addr(1), &input, used - 1));
        prop_assert!(is_halt(&short, &HaltReason::OutOfGas), "{:?}", short.status);
        prop_assert_eq!(short.gas_used, used - 1);
        prop_assert!(short.changes.is_empty() && short.logs.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Exactness across frames: the callee's gas is forwarded and returned,
    /// and a callee that runs out under the tighter limit takes the caller down.
    #[test]
    fn gas_is_exact_across_nested_calls(op in 0u8..4, limit in prop_oneof![Just(-1i64), 0i64..300_000]) {
        // A callee that halts (ops 2 and 3) uses everything it was given, and
        // what it is given is capped at all but 1/64 of what the caller has
        // left, which depends on the caller's limit once the cap binds (as
        // with the EVM's all-but-1/64 forwarding). Below 5,000 it cannot bind:
        // the caller's work after the call costs more than 5,000 / 63.
        prop_assume!(op < 2 || (0..5_000).contains(&limit));
        let mut h = Harness::new();
        h.install(addr(1), CALLER);
        h.install(addr(2), CALLEE);
        let input = caller_input(op, limit);
        let ample = h.run(&h.message(addr(1), &input, GAS));
        prop_assert!(ample.is_success(), "{:?}", ample.status);
        let used = ample.gas_used;
        let exact = h.run(&h.message(addr(1), &input, used));
        // CALLER returns the absolute gas_left before and after its call
        // (bytes 4..20), which depends on the limit; the rest must match.
        let masked = |outcome: &ExecOutcome| {
            let mut data = returned(outcome);
            data[4..20].fill(0);
            (data, outcome.gas_used, outcome.changes.clone(), outcome.logs.clone())
        };
        prop_assert_eq!(masked(&exact), masked(&ample));
        let short = h.run(&h.message(addr(1), &input, used - 1));
        prop_assert!(is_halt(&short, &HaltReason::OutOfGas), "{:?}", short.status);
        prop_assert!(short.changes.is_empty() && short.logs.is_empty());
    }
}

#[test]
fn the_same_message_gives_identical_outcomes_on_fresh_executors() {
    let run = || {
        let mut h = Harness::new();
        h.install(addr(1), CALLER);
        h.install(addr(2), CALLEE);
        h.install(addr(3), WORKER);
        let outcomes: Vec<ExecOutcome> = [
            h.call(addr(1), &caller_input(0, -1)),
            h.call(addr(1), &caller_input(1, 100_000)),
            h.call(addr(1), &caller_input(3, 100_000)),
            h.call(addr(3), &[200, 3, 1, 2, 3]),
        ]
        .into();
        outcomes
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    let encode = |o: &[ExecOutcome]| {
        use parity_scale_codec::Encode;
        o.iter()
            .map(|o| {
                (
                    o.status.encode(),
                    o.gas_used,
                    o.logs.encode(),
                    format!("{:?}", o.changes),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(encode(&a), encode(&b));
}

#[test]
fn traced_runs_have_the_consensus_results_of_plain_runs() {
    let mut h = Harness::new();
    h.install(addr(1), CALLER);
    h.install(addr(2), CALLEE);
    h.install(addr(3), WORKER);
    h.install(addr(4), RECURSIVE);
    h.install(
        addr(5),
        "(func $down (call $down)) (func (export \"call\") (call $down))",
    );
    let messages = [
        h.message(addr(1), &caller_input(0, -1), GAS),
        h.message(addr(1), &caller_input(1, 100_000), GAS),
        h.message(addr(1), &caller_input(2, -1), GAS),
        h.message(addr(1), &caller_input(3, 100_000), GAS),
        h.message(addr(1), &caller_input(3, -1), 300_000),
        h.message(addr(3), &[250, 4, 9], GAS),
        h.message(addr(3), &[250, 4, 9], 20_000),
        h.message(addr(4), b"", GAS),
        h.message(addr(5), b"", GAS),
    ];
    // A nested trap under a successful top-level call shows in the frame trace.
    let traced = h
        .executor
        .execute_traced(&h.world, &h.block, &messages[2])
        .unwrap();
    assert!(traced.is_success());
    assert_eq!(traced.frames.len(), 2);
    let callee = &traced.frames[0];
    assert_eq!((callee.depth, callee.contract), (2, addr(2)));
    assert_eq!(
        callee.status,
        ExecStatus::Halt {
            reason: HaltReason::Trap(TrapKind::Unreachable)
        }
    );
    let d = callee.diagnostics.as_ref().unwrap();
    assert_eq!(d.backtrace.len(), 1, "{d:?}");
    assert_eq!(traced.frames[1].depth, 1);
    assert!(
        h.run(&messages[2]).frames.is_empty(),
        "plain runs keep no trace"
    );
    for msg in &messages {
        let plain = h.run(msg);
        let traced = h.executor.execute_traced(&h.world, &h.block, msg).unwrap();
        assert_eq!(
            (&plain.status, plain.gas_used, &plain.changes, &plain.logs),
            (
                &traced.status,
                traced.gas_used,
                &traced.changes,
                &traced.logs
            ),
            "{msg:?}"
        );
    }
}

// ---------------------------------------------------------------------------
