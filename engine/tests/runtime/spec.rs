//! The spec: specs/host-api.md matches the table.

use super::*;

#[test]
fn host_api_spec_matches_the_table() {
    use cairn_engine::runtime::spec;
    let path = repo_path("specs/host-api.md");
    let committed = std::fs::read_to_string(&path).expect("specs/host-api.md exists");
    let generated = spec::host_function_table_markdown();
    let expected = spec::splice_generated(&committed, &generated)
        .expect("specs/host-api.md has the generated-section markers");
    if bless() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        committed == expected,
        "specs/host-api.md is out of date with the host function table; regenerate with \
         CAIRN_BLESS_VECTORS=1 cargo test --release -p cairn-engine --test runtime host_api_spec"
    );
    // Every function of the table has a section.
    for f in HOST_FUNCTIONS {
        assert!(
            committed.contains(&format!("### `{}`", f.name)),
            "{}",
            f.name
        );
    }
}

// ---------------------------------------------------------------------------
