//! Running the built `cairn` binary in tests, and reading what it printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The `cairn` binary with `args`, run to completion. Backtrace variables
/// are cleared so error output is what a user sees.
pub(crate) fn cairn(args: &[&str]) -> Output {
    cairn_command(args).output().expect("run cairn")
}

/// A `cairn` command with `args`, not yet started.
pub(crate) fn cairn_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cairn"));
    command
        .args(args)
        .env("CAIRN_REPO", repo_path(""))
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env_remove("RUST_LOG");
    command
}

/// `relative` in the checkout being tested: `cargo test` names the
/// package's directory at run time, which stays right when one build cache
/// serves several checkouts (a path baked in at build time may be another
/// checkout's, or gone).
pub(crate) fn repo_path(relative: &str) -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
        .join("..")
        .join(relative)
}

/// What the binary printed on stdout.
pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the binary printed on stderr.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout as JSON, whatever the exit status.
pub(crate) fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", stdout(out), stderr(out)))
}

/// Runs `cairn args`, requires success, and parses stdout as JSON.
pub(crate) fn ok_json(args: &[&str]) -> Value {
    let out = cairn(args);
    assert!(
        out.status.success(),
        "cairn {args:?} failed: {}\n{}",
        stderr(&out),
        stdout(&out)
    );
    json_of(&out)
}

/// `path` as a command-line argument.
pub(crate) fn path(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Writes `contents` to `dir/name` and returns the path.
pub(crate) fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, contents).expect("write test file");
    file
}
