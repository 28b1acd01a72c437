//! Typed calls through contract metadata: `--args` as JSON and decoded
//! results, reverts and events in `run`, `deploy`, `call` and `query`, with
//! the hex still printed; and clear errors for bad `--args` and bad metadata.

use crate::support::{cairn, json_of, ok_json, path, repo_path, stderr, stdout, write};

fn artifact(name: &str) -> String {
    path(&repo_path(&format!("contracts/artifacts/{name}.wasm"))).to_owned()
}

const TO: &str = "0x1111111111111111111111111111111111111111";

#[test]
fn run_types_arguments_and_decodes_results_and_events() {
    let counter = artifact("counter");
    let out = ok_json(&[
        "run",
        &counter,
        "--method",
        "increment",
        "--args",
        "[5]",
        "--json",
    ]);
    // The hex stays; the decoded values come beside it.
    assert_eq!(out["output"], "0x0500000000000000", "{out}");
    assert_eq!(out["decoded"]["method"], "increment", "{out}");
    assert_eq!(out["decoded"]["result"], 5, "{out}");
    assert_eq!(out["decoded"]["events"][0]["event"], "Changed", "{out}");
    assert_eq!(out["decoded"]["events"][0]["fields"]["new"], 5, "{out}");
    // The same call with the SCALE bytes by hand gives the same outcome.
    let raw = ok_json(&[
        "run",
        &counter,
        "--method",
        "increment",
        "--call-data",
        "0500000000000000",
        "--json",
    ]);
    assert_eq!(raw["gas_used"], out["gas_used"]);
    assert_eq!(raw["decoded"], out["decoded"]);

    let token = artifact("token");
    let deployed = ok_json(&[
        "run",
        &token,
        "--deploy",
        "--args",
        r#"["Token", "TKN", "1000"]"#,
        "--json",
    ]);
    let event = &deployed["decoded"]["events"][0];
    assert_eq!(event["event"], "Transfer", "{deployed}");
    assert_eq!(event["fields"]["amount"], "1000", "{deployed}");
    assert_eq!(
        event["fields"]["from"],
        "0x0000000000000000000000000000000000000000"
    );
    // A revert's reason is decoded, text and JSON.
    let args = format!(r#"["{TO}", "10"]"#);
    let out = cairn(&["run", &token, "--method", "transfer", "--args", &args]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout(&out).contains("insufficient balance"),
        "{}",
        stdout(&out)
    );
    let out = cairn(&[
        "run", &token, "--method", "transfer", "--args", &args, "--json",
    ]);
    let view = json_of(&out);
    assert!(
        view["decoded"]["revert"]
            .as_str()
            .unwrap()
            .contains("insufficient balance"),
        "{view}"
    );
    assert!(view["output"].as_str().unwrap().starts_with("0xe342daa4"));
    // Text output shows the typed result.
    let out = cairn(&["run", &counter, "--method", "increment", "--args", "[2]"]);
    assert!(
        stdout(&out).contains("result:      increment -> 2"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_args_give_clear_errors() {
    let token = artifact("token");
    let cases: [(&[&str], &str); 7] = [
        (
            &["--method", "transfer", "--args", "[1,"],
            "--args is not valid JSON",
        ),
        (
            &["--method", "transfer", "--args", "[1]"],
            "expected 2 values (Address, U256), got 1",
        ),
        (
            &["--method", "transfer", "--args", r#"["0x11", "1"]"#],
            "argument 1: expected 20 bytes, got 1",
        ),
        (
            &[
                "--method",
                "transfer",
                "--args",
                &format!(r#"["{TO}", "-1"]"#),
            ],
            "argument 2: \"-1\" is not a decimal U256",
        ),
        (
            &["--method", "mint", "--args", "[]"],
            "has no method `mint`; its methods: name() -> String",
        ),
        (&["--args", "[]"], "--args needs --method (or --deploy)"),
        (
            &["--deploy", "--args", r#"["T", "T"]"#],
            "--args do not fit deploy(String, String, U256)",
        ),
    ];
    for (args, expected) in cases {
        let mut full = vec!["run", token.as_str()];
        full.extend_from_slice(args);
        let out = cairn(&full);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: expected {expected:?} in {}",
            stderr(&out)
        );
    }
}

/// `wasm` with one more custom section `name` holding `payload`.
fn with_custom_section(mut wasm: Vec<u8>, name: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![u8::try_from(name.len()).unwrap()];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    wasm.push(0);
    wasm.push(u8::try_from(body.len()).unwrap());
    wasm.extend_from_slice(&body);
    wasm
}

#[test]
fn missing_or_bad_metadata_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = wat::parse_str(r#"(module (memory 1 1) (func (export "call")))"#).unwrap();
    let file = write(tmp.path(), "plain.wasm", &plain);
    // No metadata: JSON --args are refused, hex still works.
    let out = cairn(&["run", path(&file), "--method", "f", "--args", "[1]"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no `cairn:abi` metadata section"),
        "{}",
        stderr(&out)
    );
    let out = ok_json(&[
        "run",
        path(&file),
        "--method",
        "f",
        "--args",
        "0x01",
        "--json",
    ]);
    assert!(out.get("decoded").is_none(), "{out}");
    let out = ok_json(&[
        "run",
        path(&file),
        "--method",
        "f",
        "--call-data",
        "01",
        "--json",
    ]);
    assert_eq!(out["status"], "success");

    // A section the engine accepts (it never reads it) but tools cannot decode.
    let bad = [
        (vec![9u8], "format version 9 is not supported"),
        (
            vec![1, 1, 0, 0, 4, 4, b'f', 0, 0x7f],
            "unknown type tag 0x7f",
        ),
        (vec![1, 1, 0, 0, 0, 0, 0], "1 bytes left over"),
    ];
    for (payload, expected) in bad {
        let wasm = with_custom_section(plain.clone(), "cairn:abi", &payload);
        let file = write(tmp.path(), "bad.wasm", &wasm);
        let prepared = ok_json(&["prepare", path(&file), "--json"]);
        assert!(
            prepared.is_object(),
            "validation accepts any custom section"
        );
        let out = cairn(&["run", path(&file)]);
        assert_eq!(out.status.code(), Some(1), "{expected}");
        let err = stderr(&out);
        assert!(err.contains("the contract metadata of"), "{err}");
        assert!(err.contains(expected), "{expected:?} in {err}");
    }
}

#[test]
fn deploy_call_and_query_take_typed_args_and_decode_receipts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let key = tmp.path().join("key");
    let address = ok_json(&["key", "new", "--out", path(&key), "--json"])["address"]
        .as_str()
        .unwrap()
        .to_string();
    let genesis = write(
        tmp.path(),
        "genesis.json",
        format!(r#"{{"chain_id": 7, "block_gas_limit": 1000000000, "accounts": [{{"address": "{address}", "balance": "1000000000000"}}]}}"#).as_bytes(),
    );
    ok_json(&[
        "init",
        "--genesis",
        path(&genesis),
        "--data-dir",
        path(&dir),
        "--json",
    ]);
    let deployed = ok_json(&[
        "deploy",
        "--data-dir",
        path(&dir),
        "--key",
        path(&key),
        "--wasm",
        &artifact("token"),
        "--args",
        r#"["Token", "TKN", "1000"]"#,
        "--gas-limit",
        "50000000",
        "--json",
    ]);
    let tx = &deployed["txs"][0];
    assert_eq!(tx["receipt"]["status"], "success", "{deployed}");
    assert_eq!(
        tx["decoded"]["events"][0]["event"], "Transfer",
        "{deployed}"
    );
    assert_eq!(tx["decoded"]["events"][0]["fields"]["to"], address.as_str());
    let token = tx["receipt"]["contract_address"]
        .as_str()
        .unwrap()
        .to_string();

    let called = ok_json(&[
        "call",
        "--data-dir",
        path(&dir),
        "--key",
        path(&key),
        "--to",
        &token,
        "--method",
        "transfer",
        "--args",
        &format!(r#"["{TO}", "250"]"#),
        "--json",
    ]);
    let tx = &called["txs"][0];
    assert_eq!(tx["receipt"]["status"], "success", "{called}");
    assert_eq!(tx["decoded"]["method"], "transfer");
    assert_eq!(tx["decoded"]["result"], serde_json::json!([]));
    assert_eq!(
        tx["decoded"]["events"][0]["fields"]["amount"], "250",
        "{called}"
    );

    let query = |who: &str| {
        ok_json(&[
            "query",
            "--data-dir",
            path(&dir),
            "--to",
            &token,
            "--method",
            "balance_of",
            "--args",
            &format!(r#"["{who}"]"#),
            "--json",
        ])
    };
    let out = query(TO);
    assert_eq!(out["decoded"]["result"], "250", "{out}");
    assert_eq!(
        out["output"],
        format!("0xfa{}", "00".repeat(31)),
        "hex kept"
    );
    assert_eq!(query(&address)["decoded"]["result"], "750");
    // Text: a revert with its reason, decoded.
    let out = cairn(&[
        "call",
        "--data-dir",
        path(&dir),
        "--key",
        path(&key),
        "--to",
        &token,
        "--method",
        "transfer",
        "--args",
        &format!(r#"["{TO}", "5000"]"#),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout(&out).contains("reason:      reverted: insufficient balance"),
        "{}",
        stdout(&out)
    );
    // A typo in a typed argument is caught before anything is signed.
    let out = cairn(&[
        "call",
        "--data-dir",
        path(&dir),
        "--key",
        path(&key),
        "--to",
        &token,
        "--method",
        "transfer",
        "--args",
        r#"["0x11", "1"]"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("argument 1: expected 20 bytes"),
        "{}",
        stderr(&out)
    );
}
