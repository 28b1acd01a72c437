//! `cairn estimate`, `cairn new` and `cairn build` through the binary: an
//! estimate a transaction then succeeds with (and fails with one gas less),
//! the scaffold's files, and clear errors for bad input.

use std::path::Path;

use crate::support::{cairn, ok_json, path, repo_path, stderr, stdout};

/// A chain in `dir` whose genesis funds the key's address; returns the
/// key file and address.
fn chain_with_key(dir: &Path) -> (std::path::PathBuf, String) {
    let key = dir.join("key");
    let address = ok_json(&["key", "new", "--out", path(&key), "--json"])["address"]
        .as_str()
        .unwrap()
        .to_string();
    let genesis = dir.join("genesis.json");
    std::fs::write(
        &genesis,
        format!(r#"{{"chain_id": 7, "block_gas_limit": 1000000000, "accounts": [{{"address": "{address}", "balance": "1000000000000"}}]}}"#),
    )
    .unwrap();
    let data = dir.join("chain");
    ok_json(&[
        "init",
        "--genesis",
        path(&genesis),
        "--data-dir",
        path(&data),
        "--json",
    ]);
    (key, address)
}

#[test]
fn estimate_is_the_limit_a_deploy_succeeds_with_and_one_less_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, address) = chain_with_key(tmp.path());
    let data = tmp.path().join("chain");
    let wasm = repo_path("contracts/artifacts/counter.wasm");
    let wasm = path(&wasm);
    // deploy(start: u64 = 5), SCALE.
    let input = "0x0500000000000000";
    let estimate = ok_json(&[
        "estimate",
        "--data-dir",
        path(&data),
        "--from",
        &address,
        "--wasm",
        wasm,
        "--input",
        input,
        "--json",
    ]);
    let limit = estimate["gas_limit"].as_u64().unwrap();
    assert!(
        limit >= estimate["gas_used"].as_u64().unwrap(),
        "{estimate}"
    );

    // One less: the deploy runs out of gas (a receipt; exit status 3).
    let below = (limit - 1).to_string();
    let out = cairn(&[
        "deploy",
        "--data-dir",
        path(&data),
        "--key",
        path(&key),
        "--wasm",
        wasm,
        "--input",
        input,
        "--gas-limit",
        &below,
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // The estimate itself: success, with exactly the estimated gas as the limit.
    let at = ok_json(&[
        "deploy",
        "--data-dir",
        path(&data),
        "--key",
        path(&key),
        "--wasm",
        wasm,
        "--input",
        input,
        "--gas-limit",
        &limit.to_string(),
        "--json",
    ]);
    assert_eq!(at["txs"][0]["receipt"]["status"], "success", "{at}");
}

#[test]
fn estimate_of_a_failing_call_and_garbage_flags_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, address) = chain_with_key(tmp.path());
    let data = tmp.path().join("chain");
    // A call to an account without code succeeds at intrinsic gas.
    let plain = ok_json(&[
        "estimate",
        "--data-dir",
        path(&data),
        "--from",
        &address,
        "--to",
        "0x00000000000000000000000000000000000000aa",
        "--json",
    ]);
    assert_eq!(plain["gas_limit"], plain["intrinsic_gas"], "{plain}");

    for (args, expected) in [
        (
            vec![
                "--from",
                "0x12",
                "--to",
                "0x00000000000000000000000000000000000000aa",
            ],
            "--from",
        ),
        (vec!["--from", address.as_str()], "give --to"),
        (
            vec!["--from", address.as_str(), "--wasm", "/no/such.wasm"],
            "/no/such.wasm",
        ),
        (
            vec![
                "--from",
                address.as_str(),
                "--to",
                "0x00000000000000000000000000000000000000aa",
                "--data",
                "0xzz",
            ],
            "--data",
        ),
    ] {
        let mut all = vec!["estimate", "--data-dir", path(&data)];
        all.extend(args);
        let out = cairn(&all);
        assert_eq!(out.status.code(), Some(1), "{all:?}: {}", stdout(&out));
        assert!(stderr(&out).contains(expected), "{all:?}: {}", stderr(&out));
    }
    // A sender with nothing cannot pay for gas: refused, not estimated.
    let out = cairn(&[
        "estimate",
        "--data-dir",
        path(&data),
        "--from",
        "0x00000000000000000000000000000000000000bb",
        "--to",
        "0x00000000000000000000000000000000000000aa",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("would not be admitted"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn new_writes_a_crate_and_refuses_bad_names_and_existing_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = path(tmp.path());
    let out = cairn(&["new", "my-token", "--dir", dir, "--no-lock"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let root = tmp.path().join("my-token");
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "tests/Cargo.toml",
        "tests/my_token.rs",
        ".gitignore",
        "README.md",
    ] {
        let text =
            std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!text.contains("{{"), "{file} has a placeholder left");
    }
    // The crate points at this checkout's SDK and harness, which exist.
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let sdk = manifest
        .split("path = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an SDK path");
    assert!(Path::new(sdk).join("Cargo.toml").is_file(), "{sdk}");

    let again = cairn(&["new", "my-token", "--dir", dir, "--no-lock"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    for bad in ["My", "1x", "a/b", "x-tests", ""] {
        let out = cairn(&["new", bad, "--dir", dir, "--no-lock"]);
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        assert!(
            stderr(&out).contains("not a contract name") || stderr(&out).contains("-tests"),
            "{bad:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn build_outside_a_crate_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cairn(&["build", "--path", path(tmp.path())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no Cargo.toml"), "{}", stderr(&out));
    let out = cairn(&["build", "--path", "/no/such/dir"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}
