//! Diagnostics: backtraces, the module cache.

use super::*;

#[test]
fn traced_runs_name_the_trapping_function_with_a_backtrace() {
    let mut h = Harness::new();
    let code = wat::parse_str(format!(
        "(module {} (memory (export \"memory\") 1 1)
           (func $token::checked_sub (param i32 i32) (result i32)
             (if (i32.lt_u (local.get 0) (local.get 1)) (then unreachable))
             (i32.sub (local.get 0) (local.get 1)))
           (func $token::transfer (param i32) (result i32) (call $token::checked_sub (i32.const 1) (local.get 0)))
           (func $divide (param i32) (result i32) (i32.div_u (i32.const 10) (local.get 0)))
           (table 1 funcref) (elem (i32.const 0) $divide)
           (func $entry (export \"call\")
             (call $input_copy (i32.const 0) (i32.const 0) (i32.const 1))
             (if (i32.load8_u (i32.const 0))
               (then (drop (call_indirect (param i32) (result i32) (i32.const 0) (i32.const 0))))
               (else (drop (call $token::transfer (i32.const 5)))))))",
        imports()
    ))
    .unwrap();
    assert!(h.deploy(addr(1), &code).is_success());
    let msg = h.message(addr(1), &[0], GAS);
    let plain = h.run(&msg);
    let traced = h.executor.execute_traced(&h.world, &h.block, &msg).unwrap();
    // Same consensus result either way.
    assert_eq!(
        (&plain.status, plain.gas_used, &plain.changes),
        (&traced.status, traced.gas_used, &traced.changes)
    );
    assert_eq!(trap_of(&plain), TrapKind::Unreachable);
    let d = traced.diagnostics.unwrap();
    assert_eq!(d.function.as_deref(), Some("token::checked_sub"));
    let names: Vec<_> = d
        .backtrace
        .iter()
        .map(|f| f.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["entry", "token::transfer", "token::checked_sub"]);
    assert!(
        d.message.contains("token::checked_sub") && d.message.contains("unreachable"),
        "{}",
        d.message
    );
    assert!(plain.diagnostics.unwrap().backtrace.is_empty());

    let msg = h.message(addr(1), &[1], GAS);
    let traced = h.executor.execute_traced(&h.world, &h.block, &msg).unwrap();
    assert_eq!(trap_of(&traced), TrapKind::IntegerDivisionByZero);
    let d = traced.diagnostics.unwrap();
    assert_eq!(d.function.as_deref(), Some("divide"), "{d:?}");
    // A Wasm trap: the counter was in a local, nothing published it.
    assert_eq!(d.gas_left, None, "{d:?}");

    // A host function in progress is named.
    h.install(
        addr(2),
        "(func (export \"call\") (call $keccak256 (i32.const 0) (i32.const 99999) (i32.const 0)))",
    );
    let d = h.call(addr(2), b"").diagnostics.unwrap();
    assert_eq!(d.host_function.as_deref(), Some("keccak256"));
    assert!(d.message.contains("keccak256"), "{}", d.message);
    // The host function charged through the global: the counter is exact.
    let left = d
        .gas_left
        .expect("a halt in a host function knows the counter");
    assert!(left > 0 && left < i64::try_from(GAS).unwrap(), "{d:?}");
}

/// A check that fails calls the prepared module's out-of-gas function; the
/// halt is still reported in the function whose check failed, with the
/// exact (negative) counter, and the backtrace does not show that function.
#[test]
fn out_of_gas_is_reported_in_the_function_whose_check_failed() {
    let mut h = Harness::new();
    let code = wat::parse_str(
        "(module (memory (export \"memory\") 1 1)
           (func $spin (param i32)
             (loop $again (br_if $again (local.get 0))))
           (func $entry (export \"call\") (call $spin (i32.const 1))))",
    )
    .unwrap();
    assert!(h.deploy(addr(1), &code).is_success());
    let msg = h.message(addr(1), b"", 50_000);
    let plain = h.run(&msg);
    let traced = h.executor.execute_traced(&h.world, &h.block, &msg).unwrap();
    assert!(is_halt(&plain, &HaltReason::OutOfGas), "{:?}", plain.status);
    assert_eq!(
        (&plain.status, plain.gas_used),
        (&traced.status, traced.gas_used)
    );
    let d = traced.diagnostics.unwrap();
    assert_eq!(d.function.as_deref(), Some("spin"), "{d:?}");
    let names: Vec<_> = d
        .backtrace
        .iter()
        .map(|f| f.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["entry", "spin"]);
    // A round of the loop costs 3 (`local.get` 1, `br_if` 2) and passes
    // one check: the failing check sees the counter less than a round
    // below 0.
    assert!((-3..0).contains(&d.gas_left.unwrap()), "{d:?}");
    // Deployed code halts without publishing the counter.
    assert_eq!(plain.diagnostics.unwrap().gas_left, None);
}

#[test]
fn module_cache_is_bounded() {
    let mut h = Harness::with_config(ExecConfig {
        cache_capacity: 2,
        ..ExecConfig::default()
    });
    for i in 0..5u8 {
        h.install(
            addr(100 + i),
            &format!("(func (export \"call\") (drop (i32.const {i})))"),
        );
        assert!(h.call(addr(100 + i), b"").is_success());
    }
    assert_eq!(h.executor.cached_modules(), 2);
    // Evicted code is prepared again from the state.
    assert!(h.call(addr(100), b"").is_success());
}

// ---------------------------------------------------------------------------
