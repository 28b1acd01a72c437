//! `cairn run` end to end: the binary on WAT and Wasm files, text and JSON
//! output, failure diagnostics, and garbage input.

use crate::support::{cairn, json_of, repo_path, write};

const ECHO: &str = r#"(module
  (import "cairn_v1" "input_size" (func $input_size (result i32)))
  (import "cairn_v1" "input_copy" (func $input_copy (param i32 i32 i32)))
  (import "cairn_v1" "return_value" (func $return_value (param i32 i32)))
  (import "cairn_v1" "emit_log" (func $emit_log (param i32 i32 i32 i32)))
  (import "cairn_v1" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (import "cairn_v1" "revert" (func $revert (param i32 i32)))
  (import "cairn_v1" "debug_print" (func $debug_print (param i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 512) "dbg")
  (func $token::checked_sub (param i32 i32) (result i32)
    (if (i32.lt_u (local.get 0) (local.get 1)) (then unreachable))
    (i32.sub (local.get 0) (local.get 1)))
  (func $token::transfer (param i32) (result i32)
    (call $token::checked_sub (i32.const 1) (local.get 0)))
  ;; input "" or anything: echo it, log it, store it under "k"; input[0] = 0xee reverts,
  ;; 0xdd traps in token::transfer, 0xcc loops forever.
  (func $call (export "call") (local $n i32)
    (local.set $n (call $input_size))
    (call $input_copy (i32.const 0) (i32.const 0) (local.get $n))
    (call $debug_print (i32.const 512) (i32.const 3))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 0xee)) (then (call $revert (i32.const 0) (local.get $n))))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 0xdd)) (then (drop (call $token::transfer (i32.const 2)))))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 0xcc)) (then (loop $l (br $l))))
    (call $storage_write (i32.const 0) (i32.const 1) (i32.const 0) (local.get $n))
    (call $emit_log (i32.const 0) (i32.const 0) (i32.const 0) (local.get $n))
    (call $return_value (i32.const 0) (local.get $n)))
  (func (export "deploy") (call $storage_write (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))
"#;

#[test]
fn runs_wat_and_wasm_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let wat_file = write(dir.path(), "echo.wat", ECHO.as_bytes());
    let wasm_file = write(dir.path(), "echo.wasm", &wat::parse_str(ECHO).unwrap());
    for file in [&wat_file, &wasm_file] {
        let out = cairn(&[
            "run",
            file.to_str().unwrap(),
            "--call-data",
            "0x0102ff",
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json = json_of(&out);
        assert_eq!(json["status"], "success");
        assert_eq!(json["output"], "0x0102ff");
        assert!(json["gas_used"].as_u64().unwrap() > 0);
        assert_eq!(json["logs"][0]["data"], "0x0102ff");
        assert_eq!(json["storage_changes"][0]["value"], "0x0102ff");
        assert!(json.get("error").is_none());
    }
    // Same input, same gas: the run is deterministic.
    let a = json_of(&cairn(&[
        "run",
        wat_file.to_str().unwrap(),
        "--call-data",
        "ab",
        "--json",
    ]));
    let b = json_of(&cairn(&[
        "run",
        wasm_file.to_str().unwrap(),
        "--call-data",
        "ab",
        "--json",
    ]));
    assert_eq!(a, b);
    // Text output.
    let out = cairn(&["run", wat_file.to_str().unwrap(), "--call-data", "0a0b"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("status:      success") && text.contains("0x0a0b"),
        "{text}"
    );
}

#[test]
fn failures_exit_3_with_an_error_object_and_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "echo.wat", ECHO.as_bytes());
    let file = file.to_str().unwrap();

    let out = cairn(&["run", file, "--call-data", "ee01", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let json = json_of(&out);
    assert_eq!(json["status"], "revert");
    assert_eq!(json["output"], "0xee01");
    assert_eq!(json["error"]["kind"], "revert");
    assert_eq!(json["storage_changes"], serde_json::json!([]));

    let out = cairn(&["run", file, "--call-data", "dd", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let json = json_of(&out);
    assert_eq!(json["status"], "trap");
    let error = &json["error"];
    assert_eq!(error["kind"], "unreachable");
    assert_eq!(error["function"], "token::checked_sub");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("token::checked_sub")
    );
    // A Wasm trap: the counter lived in a local, so none is reported.
    assert!(error.get("gas_left").is_none(), "{error}");
    let backtrace: Vec<&str> = error["backtrace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        backtrace[0].starts_with("token::checked_sub"),
        "{backtrace:?}"
    );
    assert!(backtrace[1].starts_with("token::transfer"), "{backtrace:?}");
    assert!(backtrace[2].starts_with("call"), "{backtrace:?}");

    let out = cairn(&[
        "run",
        file,
        "--call-data",
        "cc",
        "--gas",
        "100000",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let json = json_of(&out);
    assert_eq!(json["status"], "out_of_gas");
    assert_eq!(json["gas_used"], 100_000);
    assert_eq!(json["error"]["kind"], "out_of_gas");
    // `cairn run` reports from a traced run, whose failed check publishes
    // the exact counter: below zero by less than one round of the loop
    // (`br` costs 2).
    let left = json["error"]["gas_left"].as_i64().unwrap();
    assert!((-2..0).contains(&left), "{left}");

    // Text mode names the function and prints the backtrace.
    let out = cairn(&["run", file, "--call-data", "dd"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("in `token::checked_sub`") && text.contains("backtrace"),
        "{text}"
    );
}

#[test]
fn deploy_runs_the_deploy_export_and_dev_prints_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "echo.wat", ECHO.as_bytes());
    let out = cairn(&["run", file.to_str().unwrap(), "--deploy", "--json"]);
    assert!(out.status.success());
    let json = json_of(&out);
    assert_eq!(json["status"], "success");
    assert_eq!(json["storage_changes"][0]["key"], "0x");
    let out = cairn(&["run", file.to_str().unwrap(), "--dev", "--json"]);
    assert_eq!(json_of(&out)["debug_output"], serde_json::json!(["dbg"]));
    let out = cairn(&["run", file.to_str().unwrap(), "--json"]);
    assert_eq!(json_of(&out)["debug_output"], serde_json::json!([]));
}

#[test]
fn garbage_input_is_a_clear_error_not_a_contract_failure() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "echo.wat", ECHO.as_bytes());
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "run".into(),
                dir.path().join("missing.wasm").display().to_string(),
            ],
            "cannot read",
        ),
        (
            vec![
                "run".into(),
                write(dir.path(), "junk.wasm", b"\0asm\x01\0\0\0\xff\xff")
                    .display()
                    .to_string(),
            ],
            "rejected",
        ),
        (
            vec![
                "run".into(),
                write(dir.path(), "junk.wat", b"(module (func")
                    .display()
                    .to_string(),
            ],
            "neither",
        ),
        (
            vec![
                "run".into(),
                write(dir.path(), "empty.wasm", b"").display().to_string(),
            ],
            "",
        ),
        (
            vec![
                "run".into(),
                write(
                    dir.path(),
                    "floats.wat",
                    b"(module (memory 1 1) (func (export \"call\") (drop (f32.const 1))))",
                )
                .display()
                .to_string(),
            ],
            "floating-point",
        ),
        (
            vec![
                "run".into(),
                good.display().to_string(),
                "--call-data".into(),
                "xyz".into(),
            ],
            "not valid hex",
        ),
        (
            vec![
                "run".into(),
                good.display().to_string(),
                "--call-data".into(),
                "abc".into(),
            ],
            "not valid hex",
        ),
        (
            vec![
                "run".into(),
                good.display().to_string(),
                "--gas".into(),
                "-5".into(),
            ],
            "",
        ),
        (
            vec![
                "run".into(),
                good.display().to_string(),
                "--gas".into(),
                "lots".into(),
            ],
            "invalid value",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cairn(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_ne!(
            out.status.code(),
            Some(3),
            "{args:?}: input errors are not contract failures"
        );
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn runs_the_example_contracts() {
    let artifacts = repo_path("contracts/artifacts");
    let counter = artifacts.join("counter.wasm");
    let looping = artifacts.join("infinite_loop.wasm");
    if !counter.exists() || !looping.exists() {
        panic!("contract artifacts missing under {}", artifacts.display());
    }
    // SDK revert data is decoded into its reason.
    let out = cairn(&["run", counter.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let message = json_of(&out)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("shorter than a selector"), "{message}");
    let out = cairn(&[
        "run",
        counter.to_str().unwrap(),
        "--method",
        "get",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(json_of(&out)["output"], "0x0000000000000000");
    let out = cairn(&[
        "run",
        looping.to_str().unwrap(),
        "--method",
        "spin",
        "--gas",
        "300000",
        "--json",
    ]);
    let json = json_of(&out);
    assert_eq!(json["status"], "out_of_gas");
    assert_eq!(json["gas_used"], 300_000);
}

/// Calls itself with input 0xdd (which traps in `token::checked_sub`), then
/// returns the call's status code: the top level succeeds, the nested frame halts.
const SELF_CALLER: &str = r#"(module
  (import "cairn_v1" "input_size" (func $input_size (result i32)))
  (import "cairn_v1" "address" (func $address (param i32)))
  (import "cairn_v1" "call" (func $call (param i32 i32 i64 i32 i32) (result i32)))
  (import "cairn_v1" "return_value" (func $return_value (param i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 100) "\dd")
  (func $token::checked_sub (param i32 i32) (result i32)
    (if (i32.lt_u (local.get 0) (local.get 1)) (then unreachable))
    (i32.sub (local.get 0) (local.get 1)))
  (func $entry (export "call")
    (if (call $input_size) (then (drop (call $token::checked_sub (i32.const 1) (i32.const 2))) (return)))
    (call $address (i32.const 0))
    (i32.store (i32.const 200) (call $call (i32.const 0) (i32.const 64) (i64.const -1) (i32.const 100) (i32.const 1)))
    (call $return_value (i32.const 200) (i32.const 4))))
"#;

#[test]
fn failed_nested_calls_are_reported_with_their_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "self.wat", SELF_CALLER.as_bytes());
    let out = cairn(&["run", file.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let json = json_of(&out);
    assert_eq!(json["output"], "0x02000000");
    let nested = &json["frames"][0];
    assert_eq!(nested["depth"], 2);
    assert_eq!(nested["status"], "trap");
    assert_eq!(nested["error"]["function"], "token::checked_sub");
    assert_eq!(json["frames"][1]["status"], "success");
    let out = cairn(&["run", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("nested call:  depth 2") && text.contains("token::checked_sub"),
        "{text}"
    );
}
