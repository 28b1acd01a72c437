//! debug_print and deploys.

use super::*;

#[test]
fn debug_print_is_charged_and_dropped_unless_dev_mode() {
    let body = "(data (i32.const 0) \"hi \\ff\") (func (export \"call\") (call $debug_print (i32.const 0) (i32.const 4)))";
    let mut plain = Harness::new();
    plain.install(addr(1), body);
    let mut dev = Harness::with_config(ExecConfig {
        dev_mode: true,
        ..ExecConfig::default()
    });
    dev.install(addr(1), body);
    let a = plain.call(addr(1), b"");
    let b = dev.call(addr(1), b"");
    assert!(a.debug_output.is_empty());
    assert_eq!(b.debug_output, vec!["hi \u{fffd}".to_string()]);
    assert_eq!(a.gas_used, b.gas_used);
    assert_eq!(a.status, b.status);
    plain.install(
        addr(2),
        "(func (export \"call\") (call $debug_print (i32.const 65535) (i32.const 2)))",
    );
    assert_eq!(
        trap_of(&plain.call(addr(2), b"")),
        TrapKind::HostMemoryOutOfBounds
    );
}

#[test]
fn deploy_stores_code_runs_deploy_and_rejects_bad_code() {
    let mut h = Harness::new();
    let code = module(
        "(data (i32.const 0) \"init\")
         (func (export \"deploy\") (local $n i32)
            (local.set $n (call $input_size))
            (call $input_copy (i32.const 16) (i32.const 0) (local.get $n))
            (call $storage_write (i32.const 0) (i32.const 4) (i32.const 16) (local.get $n)))
         (func (export \"call\"))",
    );
    let msg = Message {
        kind: MessageKind::Deploy { code: code.clone() },
        value: U256::from(10u64),
        ..h.message(addr(1), b"args", GAS)
    };
    let outcome = h.run(&msg);
    assert!(outcome.is_success(), "{:?}", outcome.status);
    let hash = CodeHash::from(<[u8; 32]>::from(Keccak256::digest(&code)));
    assert_eq!(outcome.changes.code.get(&hash), Some(&code));
    assert_eq!(
        outcome.changes.accounts[&addr(1)],
        Account {
            nonce: 0,
            balance: U256::from(10u64),
            code_hash: Some(hash)
        }
    );
    assert_eq!(
        outcome.changes.storage.get(&(addr(1), b"init".to_vec())),
        Some(&Some(b"args".to_vec()))
    );
    h.world.apply(&outcome.changes);
    // A second deploy to the same address is rejected.
    assert!(is_halt(&h.run(&msg), &HaltReason::ContractExists));

    // Invalid code is a halt naming the validation failure, not a node error.
    for (bad, rule) in [
        (b"not wasm".to_vec(), Rule::Malformed),
        (
            wat::parse_str("(module (func (export \"call\") (drop (f32.const 1))))").unwrap(),
            Rule::FloatingPoint,
        ),
    ] {
        let msg = Message {
            kind: MessageKind::Deploy { code: bad },
            ..h.message(addr(2), b"", GAS)
        };
        let outcome = h.run(&msg);
        assert_eq!(
            outcome.status,
            ExecStatus::Halt {
                reason: HaltReason::InvalidCode(rule)
            }
        );
        // The validator's message is a diagnostic, never part of the status.
        let diagnostics = outcome.diagnostics.expect("a rejected deploy says why");
        assert!(
            diagnostics.message.contains(rule.name()),
            "{}",
            diagnostics.message
        );
        assert_eq!(outcome.gas_used, 0);
        assert!(outcome.changes.is_empty());
    }

    // A deploy export that reverts leaves nothing behind.
    let code = module(
        "(func (export \"deploy\") (call $revert (i32.const 0) (i32.const 0))) (func (export \"call\"))",
    );
    let msg = Message {
        kind: MessageKind::Deploy { code },
        ..h.message(addr(3), b"", GAS)
    };
    let outcome = h.run(&msg);
    assert_eq!(outcome.status, ExecStatus::Revert { data: vec![] });
    assert!(outcome.changes.is_empty());
}

/// Code deployed before (with the same schedule) comes from the module
/// cache (since `prepare_code` left the code hash to its callers, a
/// deployment looks the cache up before preparing): a second deployment of
/// it compiles nothing and ends exactly as the first. Rejected code is never
/// cached: it is rejected every time.
#[test]
fn deploying_known_code_reuses_the_compiled_module() {
    let h = Harness::new();
    let code = module(
        "(func (export \"deploy\")
            (call $storage_write (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1)))
         (func (export \"call\"))",
    );
    let deploy = |to: u8, code: &[u8]| Message {
        kind: MessageKind::Deploy {
            code: code.to_vec(),
        },
        ..h.message(addr(to), b"", GAS)
    };
    let compiled = h.executor.modules_compiled();
    let first = h.run(&deploy(1, &code));
    assert!(first.is_success(), "{:?}", first.status);
    assert_eq!(h.executor.modules_compiled(), compiled + 1);
    let second = h.run(&deploy(2, &code));
    assert_eq!(
        h.executor.modules_compiled(),
        compiled + 1,
        "compiled again"
    );
    assert_eq!(second.status, first.status);
    assert_eq!(second.gas_used, first.gas_used);
    assert_eq!(
        second.changes.storage.get(&(addr(2), vec![0])),
        first.changes.storage.get(&(addr(1), vec![0]))
    );

    let bad = wat::parse_str("(module (func (export \"call\") (drop (f32.const 1))))").unwrap();
    for to in [3, 4] {
        let outcome = h.run(&deploy(to, &bad));
        assert_eq!(
            outcome.status,
            ExecStatus::Halt {
                reason: HaltReason::InvalidCode(Rule::FloatingPoint)
            }
        );
        assert_eq!(h.executor.modules_compiled(), compiled + 1);
    }
}

#[test]
fn top_level_call_to_plain_account_transfers_value() {
    let h = Harness::new();
    let mut msg = h.message(addr(9), b"", GAS);
    msg.value = U256::from(5u64);
    let outcome = h.run(&msg);
    assert!(outcome.is_success());
    assert_eq!(outcome.gas_used, 0);
    assert_eq!(outcome.changes.accounts[&addr(9)].balance, U256::from(5u64));
}

// ---------------------------------------------------------------------------
