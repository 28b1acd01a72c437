//! `cairn prepare` end to end: the built binary on good, bad and garbage input.

use std::path::Path;

use crate::support::{self, cairn, path};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    path(&support::write(dir, name, bytes)).to_owned()
}

const GOOD: &str = r#"(module
    (import "cairn_v1" "input_size" (func $size (result i32)))
    (memory (export "memory") 1 1)
    (func (export "call") (drop (call $size))))"#;

#[test]
fn accepts_wat_and_wasm_with_the_same_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let wat_path = write(dir.path(), "good.wat", GOOD.as_bytes());
    let wasm_path = write(dir.path(), "good.wasm", &wat::parse_str(GOOD).unwrap());
    let text = cairn(&["prepare", &wat_path]);
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let stdout = String::from_utf8(text.stdout).unwrap();
    assert!(
        stdout.contains("code hash") && stdout.contains("cairn_v1::input_size"),
        "{stdout}"
    );

    let json = cairn(&["prepare", &wasm_path, "--json"]);
    assert!(json.status.success());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["status"], "accepted");
    assert_eq!(v["imports"], serde_json::json!(["cairn_v1::input_size"]));
    assert_eq!(v["exports"], serde_json::json!(["call", "memory"]));
    assert!(v["prepared_size"].as_u64().unwrap() > v["original_size"].as_u64().unwrap());
    assert!(
        stdout.contains(v["code_hash"].as_str().unwrap()),
        "same module, same hash"
    );
}

#[test]
fn rejection_exits_1_with_rule_position_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "float.wat",
        br#"(module (memory 1 1) (func $f (export "call") (drop (f32.const 1))))"#,
    );
    let out = cairn(&["prepare", &path]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("floating-point"), "{stderr}");
    assert!(stderr.contains("function 0 `f`"), "{stderr}");
    assert!(
        stderr.contains("offset") && stderr.contains("hint"),
        "{stderr}"
    );

    let json = cairn(&["prepare", &path, "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["rule"], "floating-point");
    assert_eq!(v["function_name"], "f");
}

#[test]
fn garbage_and_missing_files_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = write(dir.path(), "garbage.wasm", b"\0asm\x01\0\0\0\xff\xff\xff");
    let out = cairn(&["prepare", &garbage]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("malformed"));

    let text = write(dir.path(), "noise.wat", b"this is not wat (");
    let out = cairn(&["prepare", &text]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a Wasm binary nor valid WAT"));

    let out = cairn(&["prepare", "/nonexistent/contract.wasm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    // No panic message in any of these.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn errors_are_one_message_with_causes_and_no_stack_trace() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = write(dir.path(), "garbage.wasm", b"\0asm\x01\0\0\0\xff\xff");
    // Operators often keep RUST_BACKTRACE=1 for panics; an error is not one.
    let out = support::cairn_command(&["prepare", &garbage])
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("cairn runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}
