//! Call data and results: input, return_value, revert.

use super::*;

#[test]
fn input_is_sized_copied_and_echoed() {
    let mut h = Harness::new();
    h.install(
        addr(1),
        "(func (export \"call\") (local $n i32)
            (local.set $n (call $input_size))
            (call $input_copy (i32.const 100) (i32.const 0) (local.get $n))
            (call $return_value (i32.const 100) (local.get $n)))",
    );
    assert_eq!(returned(&h.call(addr(1), b"hello cairn")), b"hello cairn");
    assert_eq!(returned(&h.call(addr(1), b"")), b"");
}

#[test]
fn input_copy_past_the_input_traps() {
    let mut h = Harness::new();
    h.install(
        addr(1),
        "(func (export \"call\") (call $input_copy (i32.const 0) (i32.const 2) (i32.const 4)))",
    );
    assert_eq!(
        trap_of(&h.call(addr(1), b"abcd")),
        TrapKind::InputOutOfBounds
    );
    assert_eq!(
        trap_of(&h.call(addr(1), b"abcde")),
        TrapKind::InputOutOfBounds
    );
    // Exactly fitting is fine.
    assert!(h.call(addr(1), b"xxxxxx").is_success());
}

#[test]
fn export_returning_without_return_value_succeeds_with_empty_data() {
    let mut h = Harness::new();
    h.install(addr(1), "(func (export \"call\"))");
    let outcome = h.call(addr(1), b"");
    assert_eq!(returned(&outcome), b"");
}

#[test]
fn revert_returns_data_and_discards_writes_and_logs() {
    let mut h = Harness::new();
    h.install(
        addr(1),
        "(data (i32.const 0) \"key\")
         (data (i32.const 16) \"nope\")
         (func (export \"call\")
            (call $storage_write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 4))
            (call $emit_log (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 4))
            (call $revert (i32.const 16) (i32.const 4)))",
    );
    let outcome = h.call(addr(1), b"");
    assert_eq!(
        outcome.status,
        ExecStatus::Revert {
            data: b"nope".to_vec()
        }
    );
    assert!(outcome.changes.is_empty());
    assert!(outcome.logs.is_empty());
    assert!(outcome.gas_used > 0);
}

#[test]
fn result_functions_reject_garbage_pointers() {
    let mut h = Harness::new();
    for (i, body) in [
        "(call $return_value (i32.const 65530) (i32.const 7))",
        "(call $return_value (i32.const -1) (i32.const 1))",
        "(call $revert (i32.const 0) (i32.const 65537))",
        "(call $input_copy (i32.const 65535) (i32.const 0) (i32.const 2))",
    ]
    .iter()
    .enumerate()
    {
        let at = addr(10 + u8::try_from(i).unwrap());
        h.install(at, &format!("(func (export \"call\") {body})"));
        let outcome = h.call(at, b"xy");
        assert_eq!(trap_of(&outcome), TrapKind::HostMemoryOutOfBounds, "{body}");
        let diagnostics = outcome.diagnostics.expect("halts carry diagnostics");
        assert!(diagnostics.host_function.is_some(), "{body}");
    }
}

// ---------------------------------------------------------------------------
