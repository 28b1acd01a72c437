//! Events: emit_log.

use super::*;

#[test]
fn emit_log_records_topics_and_data_and_enforces_limits() {
    let mut h = Harness::new();
    h.install(
        addr(1),
        "(data (i32.const 0) \"\\01\") (data (i32.const 32) \"\\02\") (data (i32.const 64) \"payload\")
         (func (export \"call\")
            (call $emit_log (i32.const 0) (i32.const 2) (i32.const 64) (i32.const 7))
            (call $emit_log (i32.const 0) (i32.const 0) (i32.const 64) (i32.const 0)))",
    );
    let outcome = h.call(addr(1), b"");
    assert!(outcome.is_success());
    assert_eq!(outcome.logs.len(), 2);
    assert_eq!(outcome.logs[0].address, addr(1));
    let mut t1 = [0u8; 32];
    t1[0] = 1;
    let mut t2 = [0u8; 32];
    t2[0] = 2;
    assert_eq!(outcome.logs[0].topics, vec![H256(t1), H256(t2)]);
    assert_eq!(outcome.logs[0].data, b"payload");
    assert!(outcome.logs[1].topics.is_empty() && outcome.logs[1].data.is_empty());

    for (i, (body, kind)) in [
        (
            "(call $emit_log (i32.const 0) (i32.const 5) (i32.const 0) (i32.const 0))",
            TrapKind::TooManyTopics,
        ),
        (
            "(call $emit_log (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16385))",
            TrapKind::LogDataTooLarge,
        ),
        (
            "(call $emit_log (i32.const 65500) (i32.const 4) (i32.const 0) (i32.const 0))",
            TrapKind::HostMemoryOutOfBounds,
        ),
        (
            "(call $emit_log (i32.const 0) (i32.const 0) (i32.const 65530) (i32.const 16))",
            TrapKind::HostMemoryOutOfBounds,
        ),
    ]
    .iter()
    .enumerate()
    {
        let at = addr(50 + u8::try_from(i).unwrap());
        h.install(at, &format!("(func (export \"call\") {body})"));
        let outcome = h.call(at, b"");
        assert_eq!(trap_of(&outcome), *kind, "{body}");
        assert!(outcome.logs.is_empty());
    }
}

// ---------------------------------------------------------------------------
