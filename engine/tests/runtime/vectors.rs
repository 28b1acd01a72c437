//! Conformance vectors: specs/vectors/execution/*.json.

use super::*;

/// One vector: deploy `module` at 0x11..11 (gas 10,000,000, no deploy input),
/// then call it from 0xaa..aa (balance 1,000,000) with `call_data`, `value`
/// and `gas_limit` in block {number 7, timestamp 1,700,000,000, chain id 42}.
struct VectorDef {
    name: &'static str,
    description: &'static str,
    body: &'static str,
    call_data: &'static [u8],
    gas_limit: u64,
}

const VECTORS: &[VectorDef] = &[
    VectorDef {
        name: "empty_call",
        description: "an export that returns at once",
        body: r#"(func (export "call"))"#,
        call_data: b"",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "echo_input",
        description: "input_size, input_copy, return_value",
        body: r#"(func (export "call") (local $n i32)
            (local.set $n (call $input_size))
            (call $input_copy (i32.const 0) (i32.const 0) (local.get $n))
            (call $return_value (i32.const 0) (local.get $n)))"#,
        call_data: b"conformance",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "loop_arithmetic",
        description: "a counted loop of 1,000 iterations with multiply/add, result returned",
        body: r#"(func (export "call") (local $i i32) (local $acc i64)
            (block $out (loop $l
              (br_if $out (i32.ge_u (local.get $i) (i32.const 1000)))
              (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31)) (i64.extend_i32_u (local.get $i))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $l)))
            (i64.store (i32.const 0) (local.get $acc))
            (call $return_value (i32.const 0) (i32.const 8)))"#,
        call_data: b"",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "recursive_fib",
        description: "recursive fib(15)",
        body: r#"(func $fib (param $n i32) (result i32)
              (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
                (then (local.get $n))
                (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
            (func (export "call") (i32.store (i32.const 0) (call $fib (i32.const 15))) (call $return_value (i32.const 0) (i32.const 4)))"#,
        call_data: b"",
        gas_limit: 10_000_000,
    },
    VectorDef {
        name: "storage_write_read_remove",
        description: "write k=v, read it back (also with a 2-byte buffer), remove it, read absence",
        body: r#"(data (i32.const 0) "k") (data (i32.const 8) "value")
            (func (export "call")
              (call $storage_write (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 5))
              (i32.store (i32.const 100) (call $storage_read (i32.const 0) (i32.const 1) (i32.const 120) (i32.const 16)))
              (i32.store (i32.const 104) (call $storage_read (i32.const 0) (i32.const 1) (i32.const 140) (i32.const 2)))
              (i32.store (i32.const 108) (call $storage_remove (i32.const 0) (i32.const 1)))
              (i32.store (i32.const 112) (call $storage_read (i32.const 0) (i32.const 1) (i32.const 120) (i32.const 16)))
              (call $storage_write (i32.const 8) (i32.const 2) (i32.const 8) (i32.const 0))
              (call $return_value (i32.const 100) (i32.const 48)))"#,
        call_data: b"",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "context",
        description: "caller, origin, address, value, balance, block number, timestamp, chain id, gas_left",
        body: r#"(func (export "call")
             (call $caller (i32.const 0)) (call $origin (i32.const 20)) (call $address (i32.const 40))
             (call $value (i32.const 60)) (call $balance (i32.const 0) (i32.const 92))
             (i64.store (i32.const 124) (call $block_number)) (i64.store (i32.const 132) (call $block_timestamp))
             (i64.store (i32.const 140) (call $chain_id)) (i64.store (i32.const 148) (call $gas_left))
             (call $return_value (i32.const 0) (i32.const 156)))"#,
        call_data: b"",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "keccak256",
        description: "keccak256 of the input",
        body: r#"(func (export "call") (local $n i32)
            (local.set $n (call $input_size))
            (call $input_copy (i32.const 0) (i32.const 0) (local.get $n))
            (call $keccak256 (i32.const 0) (local.get $n) (i32.const 1000))
            (call $return_value (i32.const 1000) (i32.const 32)))"#,
        call_data: b"abc",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "emit_log",
        description: "a log with two topics and data, and one without",
        body: r#"(data (i32.const 0) "\01") (data (i32.const 32) "\02") (data (i32.const 64) "payload")
            (func (export "call")
              (call $emit_log (i32.const 0) (i32.const 2) (i32.const 64) (i32.const 7))
              (call $emit_log (i32.const 0) (i32.const 0) (i32.const 64) (i32.const 0)))"#,
        call_data: b"",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "revert_discards_writes",
        description: "a storage write and a log, then revert with data",
        body: r#"(data (i32.const 0) "k") (data (i32.const 8) "reason")
            (func (export "call")
              (call $storage_write (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 6))
              (call $emit_log (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 6))
              (call $revert (i32.const 8) (i32.const 6)))"#,
        call_data: b"",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "out_of_gas_loop",
        description: "an infinite loop uses the whole limit",
        body: r#"(func (export "call") (loop $l (br $l)))"#,
        call_data: b"",
        gas_limit: 100_000,
    },
    VectorDef {
        name: "out_of_gas_in_host_call",
        description: "storage_write cannot pay its 5,000 base",
        body: r#"(func (export "call") (call $storage_write (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1)))"#,
        call_data: b"",
        gas_limit: 4_000,
    },
    VectorDef {
        name: "trap_unreachable",
        description: "unreachable",
        body: r#"(func (export "call") unreachable)"#,
        call_data: b"",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "trap_division_by_zero",
        description: "i32.div_u by zero",
        body: r#"(func (export "call") (drop (i32.div_u (i32.const 1) (call $input_size))))"#,
        call_data: b"",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "trap_host_pointer_out_of_bounds",
        description: "return_value with a region past the end of memory",
        body: r#"(func (export "call") (call $return_value (i32.const 65500) (i32.const 100)))"#,
        call_data: b"",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "trap_input_out_of_bounds",
        description: "input_copy past the end of the input",
        body: r#"(func (export "call") (call $input_copy (i32.const 0) (i32.const 0) (i32.const 8)))"#,
        call_data: b"four",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "stack_exhausted",
        description: "unbounded recursion hits the injected stack-height limit",
        body: r#"(func $down (call $down)) (func (export "call") (call $down))"#,
        call_data: b"",
        gas_limit: 10_000_000,
    },
    VectorDef {
        name: "memory_grow",
        description: "grow by 3 pages (charged per page), return the new size",
        body: r#"(func (export "call") (drop (memory.grow (i32.const 3))) (i32.store (i32.const 0) (memory.size)) (call $return_value (i32.const 0) (i32.const 4)))"#,
        call_data: b"",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "ecrecover_failure_is_code_1",
        description: "ecrecover of an all-zero signature returns 1",
        body: r#"(func (export "call") (i32.store (i32.const 200) (call $ecrecover (i32.const 0) (i32.const 32) (i32.const 100))) (call $return_value (i32.const 200) (i32.const 4)))"#,
        call_data: b"",
        gas_limit: 1_000_000,
    },
    VectorDef {
        name: "trap_after_counter_went_negative",
        description: "gas v2: 52 units of straight-line code then an out-of-bounds load, limit 20; no check point comes between, so the call ends with the trap, not out of gas",
        body: r#"(func (export "call") (local $x i32)
            (local.set $x (i32.const 1))
            (local.set $x (i32.mul (local.get $x) (i32.const 3))) (local.set $x (i32.mul (local.get $x) (i32.const 3)))
            (local.set $x (i32.mul (local.get $x) (i32.const 3))) (local.set $x (i32.mul (local.get $x) (i32.const 3)))
            (local.set $x (i32.mul (local.get $x) (i32.const 3))) (local.set $x (i32.mul (local.get $x) (i32.const 3)))
            (local.set $x (i32.mul (local.get $x) (i32.const 3))) (local.set $x (i32.mul (local.get $x) (i32.const 3)))
            (local.set $x (i32.mul (local.get $x) (i32.const 3))) (local.set $x (i32.mul (local.get $x) (i32.const 3)))
            (drop (i32.load (i32.const 1048576))))"#,
        call_data: b"",
        gas_limit: 20,
    },
    VectorDef {
        name: "out_of_gas_at_loop_header_before_trap",
        description: "gas v2: a loop of 22 units per round whose 4th round traps; with limit 50 the header check of round 4 (66 units executed) ends the call out of gas first",
        body: r#"(data (i32.const 0) "\0a")
            (func (export "call") (local $i i32)
              (loop $l
                (i32.store (i32.mul (i32.add (local.get $i) (i32.const 1)) (i32.const 20000)) (local.get $i))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.load8_u (i32.const 0))))))"#,
        call_data: b"",
        gas_limit: 50,
    },
    VectorDef {
        name: "counted_loop_is_checked_before_it",
        description: "gas v2: a counted loop of 50 rounds of 17 units (specs/gas.md 5.1) whose 34th round traps; limit 800 cannot pay 2 + 850, so the check before the loop ends the call out of gas",
        body: r#"(func (export "call") (local $i i32)
            (local.set $i (i32.const 0))
            (loop $l
              (i32.store (i32.mul (local.get $i) (i32.const 2000)) (local.get $i))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 50)))))"#,
        call_data: b"",
        gas_limit: 800,
    },
];

fn vector_dir() -> std::path::PathBuf {
    repo_path("specs/vectors/execution")
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn unhex(value: &serde_json::Value) -> Vec<u8> {
    let s = value.as_str().expect("hex string");
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).expect("valid hex")
}

/// Runs one vector's inputs and returns the expected-outcome JSON.
fn run_vector(module_wat: &str, call_data: &[u8], gas_limit: u64) -> serde_json::Value {
    let mut h = Harness::new();
    let code = wat::parse_str(module_wat).expect("vector WAT parses");
    let deployed = h.deploy(addr(0x11), &code);
    assert!(deployed.is_success(), "deploy: {:?}", deployed.status);
    let outcome = h.run(&h.message(addr(0x11), call_data, gas_limit));
    let data = match &outcome.status {
        ExecStatus::Success { return_data } => return_data.clone(),
        ExecStatus::Revert { data } => data.clone(),
        ExecStatus::Halt { .. } => Vec::new(),
    };
    let kind = match &outcome.status {
        ExecStatus::Halt { reason } => reason.kind(),
        _ => "",
    };
    serde_json::json!({
        "status": outcome.status.name(),
        "halt_kind": kind,
        "gas_used": outcome.gas_used,
        "return_data": hex0x(&data),
        "logs": outcome.logs.iter().map(|log| serde_json::json!({
            "address": hex0x(log.address.as_bytes()),
            "topics": log.topics.iter().map(|t| hex0x(t.as_bytes())).collect::<Vec<_>>(),
            "data": hex0x(&log.data),
        })).collect::<Vec<_>>(),
        "storage": outcome.changes.storage.iter().map(|((address, key), value)| serde_json::json!({
            "address": hex0x(address.as_bytes()),
            "key": hex0x(key),
            "value": value.as_deref().map(hex0x),
        })).collect::<Vec<_>>(),
    })
}

#[test]
fn execution_vectors_match() {
    let dir = vector_dir();
    if bless() {
        std::fs::create_dir_all(&dir).unwrap();
        for def in VECTORS {
            let module_wat = format!(
                "(module\n{}\n(memory (export \"memory\") 1 16)\n{})",
                imports(),
                def.body
            );
            let expected = run_vector(&module_wat, def.call_data, def.gas_limit);
            let vector = serde_json::json!({
                "name": def.name,
                "description": def.description,
                "module_wat": module_wat,
                "call_data": hex0x(def.call_data),
                "gas_limit": def.gas_limit,
                "expected": expected,
            });
            let text = serde_json::to_string_pretty(&vector).unwrap() + "\n";
            std::fs::write(dir.join(format!("{}.json", def.name)), text).unwrap();
        }
    }
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("specs/vectors/execution exists")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let vector: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let actual = run_vector(
            vector["module_wat"].as_str().unwrap(),
            &unhex(&vector["call_data"]),
            vector["gas_limit"].as_u64().unwrap(),
        );
        assert_eq!(
            actual,
            vector["expected"],
            "{}: outcome differs from the committed vector (a gas or semantics change must update specs; \
             regenerate with CAIRN_BLESS_VECTORS=1)",
            path.display()
        );
        checked += 1;
    }
    assert!(
        checked >= VECTORS.len(),
        "only {checked} vectors under {}",
        dir.display()
    );
}

// ---------------------------------------------------------------------------
