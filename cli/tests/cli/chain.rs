//! The chain commands through the built `cairn` binary: the demo, replay,
//! determinism across processes, SIGKILL and restart, bad input.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::support::{cairn, cairn_command, ok_json, path, repo_path};

fn demo(dir: &Path, blocks: u64, txs: usize) -> serde_json::Value {
    ok_json(&[
        "demo",
        "--data-dir",
        path(dir),
        "--blocks",
        &blocks.to_string(),
        "--txs-per-block",
        &txs.to_string(),
        "--json",
    ])
}

fn replay(dir: &Path) -> serde_json::Value {
    ok_json(&["replay", "--data-dir", path(dir), "--json"])
}

#[test]
fn demo_produces_commits_and_replays_a_verified_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let report = demo(&dir, 4, 60);
    for key in [
        "blocks",
        "txs",
        "exec_tx_per_s",
        "replay_tx_per_s",
        "state_root",
        "replay_verified",
    ] {
        assert!(report.get(key).is_some(), "missing {key} in {report}");
    }
    assert_eq!(report["blocks"], 4);
    assert_eq!(report["txs"], 240);
    assert_eq!(report["replay_verified"], true);
    assert!(report["exec_tx_per_s"].as_f64().unwrap() > 0.0);
    // An independent replay of the persisted chain agrees.
    let replayed = replay(&dir);
    assert_eq!(replayed["verified"], true);
    assert_eq!(replayed["state_root"], report["state_root"]);
    assert_eq!(replayed["txs"], 240);
}

#[test]
fn two_processes_produce_byte_identical_blocks_receipts_and_roots() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let ra = demo(&a, 3, 40);
    let rb = demo(&b, 3, 40);
    assert_eq!(ra["state_root"], rb["state_root"]);
    for n in 1..=3u64 {
        let files: Vec<(PathBuf, PathBuf)> = [&a, &b]
            .iter()
            .map(|dir| {
                let block = tmp.path().join(format!(
                    "{}-{n}.block",
                    dir.file_name().unwrap().to_str().unwrap()
                ));
                let receipts = block.with_extension("receipts");
                let out = cairn(&[
                    "block",
                    "export",
                    "--data-dir",
                    path(dir),
                    "--number",
                    &n.to_string(),
                    "--out",
                    path(&block),
                    "--receipts-out",
                    path(&receipts),
                ]);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                (block, receipts)
            })
            .collect();
        assert_eq!(
            std::fs::read(&files[0].0).unwrap(),
            std::fs::read(&files[1].0).unwrap(),
            "block {n}"
        );
        assert_eq!(
            std::fs::read(&files[0].1).unwrap(),
            std::fs::read(&files[1].1).unwrap(),
            "receipts {n}"
        );
    }
}

#[test]
fn block_apply_imports_valid_blocks_and_refuses_bad_ones_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    demo(&a, 3, 30);
    demo(&b, 1, 30);
    let file = tmp.path().join("2.block");
    let out = cairn(&[
        "block",
        "export",
        "--data-dir",
        path(&a),
        "--number",
        "2",
        "--out",
        path(&file),
    ]);
    assert!(out.status.success());
    let good = std::fs::read(&file).unwrap();

    // Garbage, truncated and tampered blocks: clear errors, head unchanged.
    let root_before = replay(&b)["state_root"].clone();
    let mut tampered = good.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x55;
    let mut forged_root = good.clone();
    // The header's state root sits after parent hash (32), number (8),
    // timestamp (8), beneficiary (20), gas limit (8), gas used (8), tx root
    // (32) and receipts root (32).
    forged_root[32 + 8 + 8 + 20 + 8 + 8 + 32 + 32] ^= 1;
    let cases: [(&[u8], &str); 4] = [
        (b"not a block", "not a SCALE-encoded block"),
        (&good[..good.len() - 3], "not a SCALE-encoded block"),
        (&forged_root, "state_root"),
        (&tampered, "block 2"),
    ];
    for (bytes, needle) in cases {
        std::fs::write(&file, bytes).unwrap();
        let out = cairn(&["block", "apply", "--data-dir", path(&b), path(&file)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "a bad block was accepted");
        assert!(
            stderr.contains(needle),
            "error should mention {needle:?}: {stderr}"
        );
        let after = replay(&b);
        assert_eq!(
            after["state_root"], root_before,
            "a refused block changed the chain"
        );
        assert_eq!(after["to"], 1);
    }
    std::fs::write(&file, &good).unwrap();
    let imported = ok_json(&[
        "block",
        "apply",
        "--data-dir",
        path(&b),
        path(&file),
        "--json",
    ]);
    assert_eq!(imported["block"]["number"], 2);
    assert_eq!(replay(&b)["to"], 2);
}

#[test]
fn malformed_genesis_and_transactions_are_refused_with_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let genesis = tmp.path().join("genesis.json");
    let dir = tmp.path().join("chain");
    for (text, needle) in [
        ("{", "malformed"),
        (
            r#"{"chain_id": 1, "block_gas_limit": 0}"#,
            "block_gas_limit",
        ),
        (
            r#"{"chain_id": 1, "block_gas_limit": 10, "accounts": [{"address": "0xzz", "balance": "1"}]}"#,
            "accounts[0].address",
        ),
    ] {
        std::fs::write(&genesis, text).unwrap();
        let out = cairn(&[
            "init",
            "--genesis",
            path(&genesis),
            "--data-dir",
            path(&dir),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
        let replayed = cairn(&["replay", "--data-dir", path(&dir)]);
        assert!(
            !replayed.status.success(),
            "a refused genesis left a chain behind"
        );
    }
    // A good genesis with a funded key, then bad transactions.
    let key = tmp.path().join("key");
    let address = ok_json(&["key", "new", "--out", path(&key), "--json"])["address"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(
        &genesis,
        format!(r#"{{"chain_id": 9, "block_gas_limit": 100000000, "accounts": [{{"address": "{address}", "balance": "1000000000"}}]}}"#),
    )
    .unwrap();
    ok_json(&[
        "init",
        "--genesis",
        path(&genesis),
        "--data-dir",
        path(&dir),
        "--json",
    ]);
    let before = replay(&dir)["state_root"].clone();
    for (tx, needle) in [
        ("0xdeadbeef", "neither a native SCALE transaction"),
        ("0xzz", "not hex"),
    ] {
        let out = cairn(&["tx", "send", "--data-dir", path(&dir), tx]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    // A well-formed transaction for the wrong chain is rejected, not included.
    let signed = ok_json(&[
        "tx",
        "sign",
        "--key",
        path(&key),
        "--to",
        "0x0000000000000000000000000000000000000001",
        "--chain-id",
        "8",
        "--nonce",
        "0",
        "--value",
        "5",
        "--json",
    ]);
    let out = cairn(&[
        "tx",
        "send",
        "--data-dir",
        path(&dir),
        signed["tx"].as_str().unwrap(),
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wrong chain id"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(replay(&dir)["state_root"], before);
    // The right chain id: included and moves the value.
    let signed = ok_json(&[
        "tx",
        "sign",
        "--key",
        path(&key),
        "--to",
        "0x0000000000000000000000000000000000000001",
        "--data-dir",
        path(&dir),
        "--value",
        "5",
        "--gas-limit",
        "30000",
        "--json",
    ]);
    let sent = ok_json(&[
        "tx",
        "send",
        "--data-dir",
        path(&dir),
        signed["tx"].as_str().unwrap(),
        "--json",
    ]);
    assert_eq!(sent["txs"][0]["receipt"]["status"], "success", "{sent}");
    assert_eq!(replay(&dir)["verified"], true);
}

#[test]
fn sigkill_during_the_demo_resumes_at_the_last_committed_block() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let mut last_head = 0u64;
    // Kill at varied moments: during genesis, block production and the final replay.
    for (round, delay_ms) in [40u64, 150, 300, 450, 700, 900].into_iter().enumerate() {
        let mut child = cairn_command(&[
            "demo",
            "--data-dir",
            path(&dir),
            "--blocks",
            "400",
            "--txs-per-block",
            "40",
            "--json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        if !dir.join("CURRENT").exists() && round == 0 {
            continue; // killed before RocksDB created the directory
        }
        let out = cairn(&["replay", "--data-dir", path(&dir), "--json"]);
        if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no chain") {
            continue; // killed before genesis committed: nothing to resume
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("round {round}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(report["verified"], true, "round {round}: {report}");
        let head = report["to"].as_u64().unwrap();
        assert!(
            head >= last_head,
            "round {round}: head went back from {last_head} to {head}"
        );
        last_head = head;
    }
    // Finishing the demo resumes from the head and verifies the whole chain.
    let report = demo(&dir, last_head + 2, 40);
    assert_eq!(report["replay_verified"], true);
    assert_eq!(report["blocks"].as_u64().unwrap(), last_head + 2);
    assert_eq!(report["txs"].as_u64().unwrap(), (last_head + 2) * 40);
}

#[test]
fn bundles_export_and_verify_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    demo(&dir, 3, 20);
    let file = tmp.path().join("b2.bundle");
    let exported = ok_json(&[
        "bundle",
        "export",
        "--data-dir",
        path(&dir),
        "--block",
        "2",
        "--out",
        path(&file),
        "--json",
    ]);
    assert_eq!(exported["block"], 2);
    // The data directory is gone: verification needs only the file.
    std::fs::remove_dir_all(&dir).unwrap();
    let verified = ok_json(&["bundle", "verify", path(&file), "--json"]);
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["txs"], 20);
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 40;
    bytes[last] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let out = cairn(&["bundle", "verify", path(&file), "--json"]);
    assert_eq!(out.status.code(), Some(4), "a tampered bundle verified");
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["verified"], false);
    assert!(verdict["error"].as_str().is_some(), "{verdict}");
    std::fs::write(&file, b"garbage").unwrap();
    let out = cairn(&["bundle", "verify", path(&file)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a replay bundle"));
}

#[test]
fn deploy_call_and_query_a_token_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let key = tmp.path().join("key");
    let address = ok_json(&["key", "new", "--out", path(&key), "--json"])["address"]
        .as_str()
        .unwrap()
        .to_string();
    let again = ok_json(&["key", "address", "--key", path(&key), "--json"]);
    assert_eq!(again["address"], address.as_str());
    // A second `key new` never overwrites a key.
    assert!(!cairn(&["key", "new", "--out", path(&key)]).status.success());
    let genesis = tmp.path().join("genesis.json");
    std::fs::write(
        &genesis,
        format!(r#"{{"chain_id": 7, "block_gas_limit": 1000000000, "accounts": [{{"address": "{address}", "balance": "1000000000000"}}]}}"#),
    )
    .unwrap();
    ok_json(&[
        "init",
        "--genesis",
        path(&genesis),
        "--data-dir",
        path(&dir),
        "--json",
    ]);
    // Initialising twice is refused.
    assert!(
        !cairn(&[
            "init",
            "--genesis",
            path(&genesis),
            "--data-dir",
            path(&dir)
        ])
        .status
        .success()
    );

    let wasm = repo_path("contracts/artifacts/token.wasm");
    let wasm = path(&wasm);
    // deploy(name: "T", symbol: "T", supply: 1000), SCALE-encoded.
    let input = format!("0x04540454e803{}", "00".repeat(30));
    let deployed = ok_json(&[
        "deploy",
        "--data-dir",
        path(&dir),
        "--key",
        path(&key),
        "--wasm",
        wasm,
        "--input",
        &input,
        "--gas-limit",
        "50000000",
        "--json",
    ]);
    let receipt = &deployed["txs"][0]["receipt"];
    assert_eq!(receipt["status"], "success", "{deployed}");
    let token = receipt["contract_address"].as_str().unwrap().to_string();

    let me = address.trim_start_matches("0x").to_string();
    let balance = |who: &str| {
        let out = ok_json(&[
            "query",
            "--data-dir",
            path(&dir),
            "--to",
            &token,
            "--method",
            "balance_of",
            "--args",
            who,
            "--json",
        ]);
        assert_eq!(out["status"], "success", "{out}");
        let output = out["output"].as_str().unwrap();
        output.strip_prefix("0x").unwrap_or(output).to_string()
    };
    assert_eq!(balance(&me), format!("e803{}", "00".repeat(30)));
    // transfer(to = 0x11..11, amount = 5)
    let to = "11".repeat(20);
    let args = format!("{to}05{}", "00".repeat(31));
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
        &args,
        "--json",
    ]);
    assert_eq!(called["txs"][0]["receipt"]["status"], "success", "{called}");
    assert_eq!(
        called["txs"][0]["receipt"]["logs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(balance(&to), format!("05{}", "00".repeat(31)));
    assert_eq!(balance(&me), format!("e303{}", "00".repeat(30)));
    // A transfer beyond the balance is included as a revert, fee charged.
    let args = format!("{to}{}", "ff".repeat(32));
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
        &args,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3), "a reverted call exits 3");
    let called: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(called["txs"][0]["receipt"]["status"], "revert", "{called}");
    assert_eq!(
        called["txs"][0]["receipt"]["error"]["kind"], "revert",
        "{called}"
    );
    // A deploy signed offline with `tx sign --wasm`, then sent.
    let signed = ok_json(&[
        "tx",
        "sign",
        "--key",
        path(&key),
        "--wasm",
        wasm,
        "--data",
        &input,
        "--data-dir",
        path(&dir),
        "--gas-limit",
        "50000000",
        "--json",
    ]);
    let sent = ok_json(&[
        "tx",
        "send",
        "--data-dir",
        path(&dir),
        signed["tx"].as_str().unwrap(),
        "--json",
    ]);
    let second = sent["txs"][0]["receipt"]["contract_address"]
        .as_str()
        .unwrap();
    assert_ne!(second, token);
    assert_eq!(replay(&dir)["verified"], true);
    assert_eq!(replay(&dir)["txs"], 4);
}

#[test]
fn sigkill_during_block_import_leaves_the_last_committed_block() {
    let tmp = tempfile::tempdir().unwrap();
    let (source, target) = (tmp.path().join("source"), tmp.path().join("target"));
    demo(&source, 12, 200);
    demo(&target, 1, 200);
    let mut files = Vec::new();
    for n in 2..=12u64 {
        let file = tmp.path().join(format!("{n}.block"));
        assert!(
            cairn(&[
                "block",
                "export",
                "--data-dir",
                path(&source),
                "--number",
                &n.to_string(),
                "--out",
                path(&file)
            ])
            .status
            .success()
        );
        files.push(file);
    }
    let mut head = 1u64;
    let mut delay = 5u64;
    let mut rounds = 0u64;
    while head < 12 {
        let file = &files[usize::try_from(head - 1).unwrap()];
        let mut child = cairn_command(&["block", "apply", "--data-dir", path(&target), path(file)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        child.wait().unwrap();
        // Varied moments, deterministic; lengthen if the machine is slow.
        rounds += 1;
        delay = (delay * 7 + 13) % 120 + rounds;
        let report = replay(&target);
        assert_eq!(report["verified"], true, "{report}");
        let now = report["to"].as_u64().unwrap();
        assert!(now == head || now == head + 1, "head {head} became {now}");
        head = now;
    }
    assert_eq!(replay(&target)["state_root"], replay(&source)["state_root"]);
}

#[test]
fn replay_exits_non_zero_and_names_a_tampered_receipt() {
    use cairn_chain::Chain;
    use cairn_chain::block::encode_receipts;
    use cairn_chain::schema::receipts_key;
    use cairn_engine::runtime::{ExecConfig, Executor};
    use cairn_state::{Backend, Column, RocksStore, StoreOptions, WriteBatch};

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    demo(&dir, 3, 20);
    {
        let store = RocksStore::open(&dir, StoreOptions::default()).unwrap();
        let chain = Chain::open(store, Executor::new(ExecConfig::default())).unwrap();
        let mut receipts = chain.receipts(2).unwrap().unwrap();
        receipts[7].cumulative_gas_used += 1;
        let mut batch = WriteBatch::default();
        batch.put(Column::Aux, receipts_key(2), encode_receipts(&receipts));
        chain.state().backend().write(batch).unwrap();
    }
    let out = cairn(&["replay", "--data-dir", path(&dir), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], false);
    let d = &report["divergence"];
    assert_eq!(
        (
            d["block"].as_u64(),
            d["tx_index"].as_u64(),
            d["field"].as_str()
        ),
        (Some(2), Some(7), Some("cumulative_gas_used")),
        "{d}"
    );
    assert_ne!(d["stored"], d["replayed"]);
    // Blocks before the tampered one still check out.
    let ok = ok_json(&["replay", "--data-dir", path(&dir), "--to", "1", "--json"]);
    assert_eq!(ok["verified"], true);
    // Text mode says where.
    let text = cairn(&["replay", "--data-dir", path(&dir)]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("block 2, tx 7: cumulative_gas_used"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    // Bad ranges are errors, not divergences.
    let bad = cairn(&["replay", "--data-dir", path(&dir), "--to", "99"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ends at block 3"));
}

#[test]
fn garbage_flags_and_files_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key");
    std::fs::write(&key, "not a key").unwrap();
    let missing = tmp.path().join("missing");
    let zero_key = tmp.path().join("zero");
    std::fs::write(&zero_key, "00".repeat(32)).unwrap();
    let good_key = tmp.path().join("good");
    ok_json(&["key", "new", "--out", path(&good_key), "--json"]);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["key", "address", "--key", path(&key)], "not hex"),
        (
            vec!["key", "address", "--key", path(&missing)],
            "reading key file",
        ),
        (
            vec!["key", "address", "--key", path(&zero_key)],
            "not a valid secp256k1 secret key",
        ),
        (
            vec![
                "tx",
                "sign",
                "--key",
                path(&good_key),
                "--to",
                "0x1234",
                "--chain-id",
                "1",
                "--nonce",
                "0",
            ],
            "--to",
        ),
        (
            vec![
                "tx",
                "sign",
                "--key",
                path(&good_key),
                "--to",
                "0x0000000000000000000000000000000000000001",
                "--chain-id",
                "1",
                "--nonce",
                "0",
                "--value",
                "lots",
            ],
            "--value",
        ),
        (
            vec![
                "tx",
                "sign",
                "--key",
                path(&good_key),
                "--to",
                "0x0000000000000000000000000000000000000001",
                "--chain-id",
                "1",
                "--nonce",
                "0",
                "--data",
                "0xgg",
            ],
            "--data",
        ),
        (
            vec![
                "tx",
                "sign",
                "--key",
                path(&good_key),
                "--to",
                "0x0000000000000000000000000000000000000001",
            ],
            "--chain-id",
        ),
        (vec!["demo", "--txs-per-block", "0"], "at least 1"),
        (
            vec!["replay", "--data-dir", path(&missing)],
            "does not exist",
        ),
        (vec!["bundle", "verify", path(&missing)], "reading"),
        (
            vec![
                "query",
                "--data-dir",
                path(&missing),
                "--to",
                "0x0000000000000000000000000000000000000001",
            ],
            "does not exist",
        ),
    ];
    for (args, needle) in cases {
        let out = cairn(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "cairn {args:?} succeeded");
        assert!(
            stderr.contains(needle),
            "cairn {args:?}: {needle:?} not in {stderr}"
        );
    }
    // An existing empty data directory is not a chain, and stays without one.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = cairn(&["replay", "--data-dir", path(&empty)]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cairn init"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn genesis_predeploys_a_wasm_file_relative_to_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = repo_path("contracts/artifacts/token.wasm");
    let wasm = path(&wasm);
    std::fs::copy(wasm, tmp.path().join("token.wasm")).unwrap();
    let deployer = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf";
    let token = "0x00000000000000000000000000000000000000aa";
    // deploy("T", "T", 1000)
    let input = format!("0x04540454e803{}", "00".repeat(30));
    let genesis = tmp.path().join("genesis.json");
    std::fs::write(
        &genesis,
        format!(
            r#"{{"chain_id": 3, "block_gas_limit": 100000000, "timestamp": 5,
               "accounts": [{{"address": "{deployer}", "balance": "0x100"}}],
               "contracts": [{{"name": "token", "address": "{token}", "deployer": "{deployer}",
                               "code": "token.wasm", "input": "{input}", "balance": "7"}}]}}"#
        ),
    )
    .unwrap();
    let dir = tmp.path().join("chain");
    ok_json(&[
        "init",
        "--genesis",
        path(&genesis),
        "--data-dir",
        path(&dir),
        "--json",
    ]);
    let out = ok_json(&[
        "query",
        "--data-dir",
        path(&dir),
        "--to",
        token,
        "--method",
        "balance_of",
        "--args",
        deployer,
        "--json",
    ]);
    assert_eq!(out["output"], format!("0xe803{}", "00".repeat(30)));
    // A genesis whose contract deploy fails is refused and leaves no chain.
    std::fs::write(
        &genesis,
        std::fs::read_to_string(&genesis)
            .unwrap()
            .replace(&input, "0x01"),
    )
    .unwrap();
    let other = tmp.path().join("other");
    let failed = cairn(&[
        "init",
        "--genesis",
        path(&genesis),
        "--data-dir",
        path(&other),
    ]);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("genesis contract `token` failed to deploy"),
        "{stderr}"
    );
    assert!(
        !cairn(&["replay", "--data-dir", path(&other)])
            .status
            .success()
    );
}
