//! Storage: reads, writes, removes, limits.

use super::*;

#[test]
fn storage_read_write_remove_and_absence() {
    let mut h = Harness::new();
    h.install(addr(1), STORAGE);
    // Absent keys read as -1 and remove as 0.
    assert_eq!(i32_le(&returned(&h.call(addr(1), &[3]))), -1);
    assert_eq!(i32_le(&returned(&h.call(addr(1), &[2]))), 0);
    // Write, then read back with a too-small buffer: full length, 4 bytes copied.
    let outcome = h.call_apply(addr(1), &[0]);
    assert_eq!(
        outcome.changes.storage.get(&(addr(1), b"k1".to_vec())),
        Some(&Some(b"value-one".to_vec()))
    );
    assert_eq!(h.storage(addr(1), b"k1"), Some(b"value-one".to_vec()));
    let read = returned(&h.call(addr(1), &[3]));
    assert_eq!(i32_le(&read), 9);
    assert_eq!(&read[4..], b"valu");
    assert_eq!(returned(&h.call(addr(1), &[5])), b"value-one");
    // An empty value is present and distinct from absence.
    assert_eq!(i32_le(&returned(&h.call(addr(1), &[4]))), -1);
    h.call_apply(addr(1), &[1]);
    assert_eq!(i32_le(&returned(&h.call(addr(1), &[4]))), 0);
    // Remove reports presence and deletes.
    let outcome = h.call_apply(addr(1), &[2]);
    assert_eq!(i32_le(&returned(&outcome)), 1);
    assert_eq!(
        outcome.changes.storage.get(&(addr(1), b"k1".to_vec())),
        Some(&None)
    );
    assert_eq!(h.storage(addr(1), b"k1"), None);
}

#[test]
fn storage_reads_see_own_writes_and_cost_more_for_more_bytes() {
    let mut h = Harness::new();
    h.install(
        addr(1),
        "(data (i32.const 0) \"key\") (data (i32.const 16) \"0123456789\")
         (func (export \"call\") (local $n i32)
            (call $storage_write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 10))
            (local.set $n (call $storage_read (i32.const 0) (i32.const 3) (i32.const 100) (call $input_size)))
            (call $return_value (i32.const 100) (i32.const 10)))",
    );
    let small = h.call(addr(1), &[0; 2]);
    let large = h.call(addr(1), &[0; 10]);
    assert_eq!(&returned(&large), b"0123456789");
    let per_byte = cairn_host_api::gas::storage_read.per_byte;
    // input_copy is not called; input_size is constant: the difference is 8 bytes copied.
    assert_eq!(large.gas_used - small.gas_used, 8 * per_byte);
}

#[test]
fn storage_limits_and_garbage_pointers_trap() {
    let mut h = Harness::new();
    let cases = [
        (
            "(call $storage_write (i32.const 0) (i32.const 1025) (i32.const 0) (i32.const 1))",
            TrapKind::StorageLimitExceeded,
        ),
        (
            "(call $storage_write (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 65537))",
            TrapKind::StorageLimitExceeded,
        ),
        (
            "(call $storage_write (i32.const 65535) (i32.const 2) (i32.const 0) (i32.const 1))",
            TrapKind::HostMemoryOutOfBounds,
        ),
        (
            "(drop (call $storage_read (i32.const -5) (i32.const 4) (i32.const 0) (i32.const 0)))",
            TrapKind::HostMemoryOutOfBounds,
        ),
        (
            "(drop (call $storage_remove (i32.const 70000) (i32.const 1)))",
            TrapKind::HostMemoryOutOfBounds,
        ),
    ];
    for (i, (body, kind)) in cases.iter().enumerate() {
        let at = addr(20 + u8::try_from(i).unwrap());
        h.install(at, &format!("(func (export \"call\") {body})"));
        let outcome = h.call(at, b"");
        assert!(
            is_halt(&outcome, &HaltReason::Trap(*kind)),
            "{body}: {:?}",
            outcome.status
        );
        assert!(outcome.changes.is_empty());
    }
    // A read that finds a value but whose destination is out of bounds traps too.
    h.install(
        addr(30),
        "(data (i32.const 0) \"k\")
         (func (export \"call\")
            (call $storage_write (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 2))
            (drop (call $storage_read (i32.const 0) (i32.const 1) (i32.const 65535) (i32.const 2))))",
    );
    assert_eq!(
        trap_of(&h.call(addr(30), b"")),
        TrapKind::HostMemoryOutOfBounds
    );
}

// ---------------------------------------------------------------------------
