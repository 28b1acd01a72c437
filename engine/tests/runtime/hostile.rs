//! Hostile modules.

use super::*;

#[test]
fn infinite_loop_runs_out_of_gas() {
    let mut h = Harness::new();
    h.install(addr(1), "(func (export \"call\") (loop $l (br $l)))");
    let outcome = h.run(&h.message(addr(1), b"", 5_000_000));
    assert!(is_halt(&outcome, &HaltReason::OutOfGas));
    assert_eq!(outcome.gas_used, 5_000_000);
    let diagnostics = outcome.diagnostics.unwrap();
    assert!(
        diagnostics.message.contains("out of gas"),
        "{}",
        diagnostics.message
    );
}

#[test]
fn deep_recursion_exhausts_the_injected_stack_limit() {
    let mut h = Harness::new();
    h.install(addr(1), "(func $down (param i32) (call $down (i32.add (local.get 0) (i32.const 1)))) (func (export \"call\") (call $down (i32.const 0)))");
    let outcome = h.call(addr(1), b"");
    assert!(
        is_halt(&outcome, &HaltReason::StackExhausted),
        "{:?}",
        outcome.status
    );
    // An exceptional halt uses the whole limit.
    assert_eq!(outcome.gas_used, GAS);
    // Unbounded recursion with big frames too.
    h.install(addr(2), "(func $down (local i64 i64 i64 i64 i64 i64 i64 i64) (call $down)) (func (export \"call\") (call $down))");
    assert!(is_halt(&h.call(addr(2), b""), &HaltReason::StackExhausted));
}

#[test]
fn memory_grow_bomb_is_capped_by_the_declared_maximum_and_charged() {
    let mut h = Harness::new();
    // Memory declared 1..16 pages; growing beyond returns -1.
    let code = wat::parse_str(format!(
        "(module {} (memory (export \"memory\") 1 16)
           (func (export \"call\") (local $r i32)
             (loop $l
               (local.set $r (memory.grow (i32.const 1)))
               (br_if $l (i32.ne (local.get $r) (i32.const -1))))
             (i32.store (i32.const 0) (memory.size))
             (call $return_value (i32.const 0) (i32.const 4))))",
        imports()
    ))
    .unwrap();
    assert!(h.deploy(addr(1), &code).is_success());
    let outcome = h.call(addr(1), b"");
    assert_eq!(i32_le(&returned(&outcome)), 16);
    // One huge grow is charged per requested page and runs out of gas.
    let code = wat::parse_str(format!(
        "(module {} (memory (export \"memory\") 1 16)
           (func (export \"call\") (drop (memory.grow (i32.const 65536)))))",
        imports()
    ))
    .unwrap();
    assert!(h.deploy(addr(2), &code).is_success());
    let outcome = h.run(&h.message(addr(2), b"", 1_000_000));
    assert!(
        is_halt(&outcome, &HaltReason::OutOfGas),
        "{:?}",
        outcome.status
    );
}

#[test]
fn huge_locals_and_br_tables_are_rejected_or_contained() {
    let mut h = Harness::new();
    // Over the locals limit: rejected at deploy.
    let outcome = h.deploy(addr(1), &module("(func (export \"call\") (local i64) (local i64) (local i32)) (func (local i32 i32) (local i64)) (func $big (local i32) (local i64))".replace("(func $big (local i32) (local i64))", &format!("(func $big {})", "(local i64)".repeat(2000))).as_str()));
    assert!(
        matches!(
            &outcome.status,
            ExecStatus::Halt {
                reason: HaltReason::InvalidCode(_)
            }
        ),
        "{:?}",
        outcome.status
    );
    // Within limits, a function with many locals called recursively hits the stack limit.
    h.install(
        addr(2),
        &format!(
            "(func $f {} (call $f)) (func (export \"call\") (call $f))",
            "(local i64)".repeat(1000)
        ),
    );
    assert!(is_halt(&h.call(addr(2), b""), &HaltReason::StackExhausted));
    // A br_table over the limit is rejected; at the limit it runs and is charged.
    let targets = |n: usize| "0 ".repeat(n);
    let outcome = h.deploy(
        addr(3),
        &module(&format!(
            "(func (export \"call\") (block (br_table {} (i32.const 0))))",
            targets(5000)
        )),
    );
    assert!(
        matches!(
            &outcome.status,
            ExecStatus::Halt {
                reason: HaltReason::InvalidCode(_)
            }
        ),
        "{:?}",
        outcome.status
    );
    h.install(
        addr(4),
        &format!(
            "(func (export \"call\") (loop $l (block (br_table {} 1 (i32.const 5000)))))",
            targets(1000)
        ),
    );
    assert!(is_halt(
        &h.run(&h.message(addr(4), b"", 1_000_000)),
        &HaltReason::OutOfGas
    ));
}

#[test]
fn giant_return_data_is_bounded_by_memory_and_gas() {
    let mut h = Harness::new();
    // The whole memory (64 KiB) as return data: fine with gas.
    h.install(
        addr(1),
        "(func (export \"call\") (call $return_value (i32.const 0) (i32.const 65536)))",
    );
    assert_eq!(returned(&h.call(addr(1), b"")).len(), 65_536);
    // More than memory: a trap, never an allocation of the requested size.
    h.install(
        addr(2),
        "(func (export \"call\") (call $return_value (i32.const 0) (i32.const 0x7fffffff)))",
    );
    let outcome = h.run(&h.message(addr(2), b"", u64::MAX));
    assert_eq!(trap_of(&outcome), TrapKind::HostMemoryOutOfBounds);
    // With a normal limit the per-byte charge fails first.
    assert!(is_halt(&h.call(addr(2), b""), &HaltReason::OutOfGas));
}

// ---------------------------------------------------------------------------
