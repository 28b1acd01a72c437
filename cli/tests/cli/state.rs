//! `cairn state ...` end to end, including garbage input.

use cairn_state::{AuxWrites, RocksStore, StateChanges, StoreOptions};
use std::path::Path;
use std::process::Output;

use crate::support::{cairn, json_of, stderr, stdout};

/// A store with two versions: `alice` = 100 then 90, `bob` = 5 at version 2.
fn make_store(dir: &Path) -> (String, String) {
    let mut store = RocksStore::open(dir, StoreOptions::default()).unwrap();
    let mut changes = StateChanges::new();
    changes.insert(b"alice".to_vec(), Some(b"100".to_vec()));
    let root1 = store.commit(1, &changes, &AuxWrites::new()).unwrap();
    changes.insert(b"alice".to_vec(), Some(b"90".to_vec()));
    changes.insert(b"bob".to_vec(), Some(b"5".to_vec()));
    let root2 = store.commit(2, &changes, &AuxWrites::new()).unwrap();
    (
        format!("0x{}", root1.to_hex()),
        format!("0x{}", root2.to_hex()),
    )
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "cairn failed: {}", stderr(out));
    json_of(out)
}

#[test]
fn root_get_proof_verify_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let (root1, root2) = make_store(&dir);
    let d = dir.to_str().unwrap();

    assert_eq!(
        json(&cairn(&["state", "root", "--data-dir", d, "--json"]))["root"],
        root2
    );
    let v1 = json(&cairn(&[
        "state",
        "root",
        "--data-dir",
        d,
        "--version",
        "1",
        "--json",
    ]));
    assert_eq!(v1["root"], root1);
    assert_eq!(v1["version"], 1);
    let text = cairn(&["state", "root", "--data-dir", d]);
    assert!(stdout(&text).contains(&root2));

    let got = json(&cairn(&[
        "state",
        "get",
        "--data-dir",
        d,
        "alice",
        "--version",
        "1",
        "--json",
    ]));
    assert_eq!(got["value"], format!("0x{}", hex::encode(b"100")));
    let got = json(&cairn(&[
        "state",
        "get",
        "--data-dir",
        d,
        "0x616c696365",
        "--json",
    ]));
    assert_eq!(got["value"], format!("0x{}", hex::encode(b"90")));
    let got = json(&cairn(&[
        "state",
        "get",
        "--data-dir",
        d,
        "carol",
        "--json",
    ]));
    assert!(got["value"].is_null());

    // Inclusion proof by hex, exclusion proof by file.
    let proof = json(&cairn(&[
        "state",
        "proof",
        "--data-dir",
        d,
        "bob",
        "--json",
    ]));
    let proof_hex = proof["proof"].as_str().unwrap().to_string();
    assert_eq!(proof["root"], root2);
    let ok = cairn(&[
        "state",
        "verify-proof",
        "--root",
        &root2,
        "--key",
        "bob",
        "--value",
        "5",
        "--proof",
        &proof_hex,
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("valid"));
    let wrong = cairn(&[
        "state",
        "verify-proof",
        "--root",
        &root2,
        "--key",
        "bob",
        "--value",
        "6",
        "--proof",
        &proof_hex,
    ]);
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("does not verify"),
        "{}",
        stderr(&wrong)
    );
    let old_root = cairn(&[
        "state",
        "verify-proof",
        "--root",
        &root1,
        "--key",
        "bob",
        "--value",
        "5",
        "--proof",
        &proof_hex,
    ]);
    assert!(!old_root.status.success());

    let file = tmp.path().join("carol.proof");
    let out = cairn(&[
        "state",
        "proof",
        "--data-dir",
        d,
        "carol",
        "--version",
        "1",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let f = file.to_str().unwrap();
    let ok = json(&cairn(&[
        "state",
        "verify-proof",
        "--root",
        &root1,
        "--key",
        "carol",
        "--absent",
        "--proof-file",
        f,
        "--json",
    ]));
    assert_eq!(ok["valid"], true);
    let present = cairn(&[
        "state",
        "verify-proof",
        "--root",
        &root1,
        "--key",
        "carol",
        "--value",
        "",
        "--proof-file",
        f,
    ]);
    assert!(!present.status.success());
}

#[test]
fn garbage_input_gets_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let (_, root2) = make_store(&dir);
    let d = dir.to_str().unwrap();
    let missing = tmp.path().join("nope");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["state", "root", "--data-dir", missing.to_str().unwrap()],
            "does not exist",
        ),
        (
            vec!["state", "root", "--data-dir", tmp.path().to_str().unwrap()],
            "holds no state store",
        ),
        (
            vec!["state", "root", "--data-dir", d, "--version", "9"],
            "not available",
        ),
        (
            vec!["state", "root", "--data-dir", d, "--version", "-1"],
            "unexpected argument",
        ),
        (
            vec![
                "state",
                "root",
                "--data-dir",
                d,
                "--version",
                "99999999999999999999",
            ],
            "invalid value",
        ),
        (
            vec!["state", "get", "--data-dir", d, "alice", "--version", "abc"],
            "invalid value",
        ),
        (
            vec![
                "state",
                "verify-proof",
                "--root",
                "zz",
                "--key",
                "a",
                "--absent",
                "--proof",
                "00",
            ],
            "--root must be",
        ),
        (
            vec![
                "state",
                "verify-proof",
                "--root",
                &root2,
                "--key",
                "a",
                "--absent",
                "--proof",
                "xyz",
            ],
            "not hex",
        ),
        (
            vec![
                "state",
                "verify-proof",
                "--root",
                &root2,
                "--key",
                "a",
                "--absent",
                "--proof",
                "ff00",
            ],
            "malformed proof",
        ),
        (
            vec![
                "state",
                "verify-proof",
                "--root",
                &root2,
                "--key",
                "a",
                "--absent",
                "--proof",
                "",
            ],
            "malformed proof",
        ),
        (
            vec![
                "state",
                "verify-proof",
                "--root",
                &root2,
                "--key",
                "a",
                "--absent",
            ],
            "--proof",
        ),
        (
            vec![
                "state",
                "verify-proof",
                "--root",
                &root2,
                "--key",
                "a",
                "--proof",
                "00",
            ],
            "--value",
        ),
        (
            vec![
                "state",
                "verify-proof",
                "--root",
                &root2,
                "--key",
                "a",
                "--absent",
                "--proof-file",
                "/nonexistent/p",
            ],
            "reading the proof file",
        ),
        (vec!["state", "frobnicate"], "unrecognized subcommand"),
    ];
    for (args, expected) in cases {
        let out = cairn(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: expected {expected:?} in {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?} panicked: {}",
            stderr(&out)
        );
    }
    // Random bytes as a proof file never crash the verifier.
    let file = tmp.path().join("garbage");
    let mut seed = 7u64;
    for len in [0usize, 1, 2, 33, 100, 700] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                seed.to_be_bytes()[0]
            })
            .collect();
        std::fs::write(&file, bytes).unwrap();
        let out = cairn(&[
            "state",
            "verify-proof",
            "--root",
            &root2,
            "--key",
            "a",
            "--absent",
            "--proof-file",
            file.to_str().unwrap(),
        ]);
        assert!(!out.status.success());
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
}

#[test]
fn a_data_dir_in_use_can_still_be_inspected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let (_, root2) = make_store(&dir);
    // This process holds the store open (and its lock), like a running node.
    let mut held = RocksStore::open(&dir, StoreOptions::default()).unwrap();
    let out = json(&cairn(&[
        "state",
        "root",
        "--data-dir",
        dir.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(out["root"], root2);
    held.commit(3, &StateChanges::new(), &AuxWrites::new())
        .unwrap();
    let out = json(&cairn(&[
        "state",
        "root",
        "--data-dir",
        dir.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(out["version"], 3);
}
