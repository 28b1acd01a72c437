//! `cairn run --profile`: a flame graph, a top table, folded stacks with
//! `--json`, and never a different gas figure than the same run without it.

use crate::support::{cairn, json_of, ok_json, path, repo_path, stdout};

fn debug_artifact(name: &str) -> String {
    path(&repo_path(&format!(
        "contracts/artifacts/debug/{name}.wasm"
    )))
    .to_owned()
}

#[test]
fn profile_draws_a_flame_graph_without_changing_the_gas() {
    let tmp = tempfile::tempdir().unwrap();
    let svg = tmp.path().join("token.svg");
    let token = debug_artifact("token");
    let args = [
        "run",
        &token,
        "--deploy",
        "--args",
        r#"["T", "T", "1000"]"#,
        "--json",
    ];
    let plain = ok_json(&args);
    let mut with_profile = args.to_vec();
    with_profile.extend_from_slice(&["--profile", path(&svg)]);
    let profiled = ok_json(&with_profile);
    assert_eq!(
        profiled["gas_used"], plain["gas_used"],
        "profiling changed the gas"
    );
    assert_eq!(profiled["output"], plain["output"]);
    let profile = &profiled["profile"];
    assert_eq!(profile["total"], plain["gas_used"], "{profile}");
    // Folded stacks add up to the gas used; host calls are frames.
    let folded: Vec<&str> = profile["folded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let sum: u64 = folded
        .iter()
        .map(|line| line.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(Some(sum), plain["gas_used"].as_u64());
    assert!(
        folded
            .iter()
            .any(|l| l.starts_with("<export `deploy`>;") || l.starts_with("deploy;")),
        "{folded:?}"
    );
    assert!(
        folded.iter().any(|l| l.contains(";host:storage_write ")),
        "{folded:?}"
    );
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.contains("<svg") && svg_text.contains("host:storage_write"));
    // The same profile draws the same file.
    let again = tmp.path().join("again.svg");
    let mut second = args.to_vec();
    second.extend_from_slice(&["--profile", path(&again)]);
    ok_json(&second);
    assert_eq!(std::fs::read(&again).unwrap(), svg_text.as_bytes());

    // Text: the top table, and a halt's remainder of the limit as its own frame.
    let out = cairn(&[
        "run",
        &debug_artifact("infinite_loop"),
        "--method",
        "spin",
        "--gas",
        "50000",
        "--profile",
        path(&svg),
        "--top",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let text = stdout(&out);
    assert!(text.contains("gas used:    50000 of 50000"), "{text}");
    assert!(text.contains("gas profile: 50000 gas"), "{text}");
    assert!(text.contains("[halt: out of gas]"), "{text}");
    assert!(text.contains("more frames (--json lists all)"), "{text}");
    let halted = json_of(&cairn(&[
        "run",
        &debug_artifact("infinite_loop"),
        "--method",
        "spin",
        "--gas",
        "50000",
        "--profile",
        path(&svg),
        "--json",
    ]));
    assert_eq!(halted["profile"]["total"], 50000);
}
