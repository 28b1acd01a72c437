//! Shared helpers for Cairn's end-to-end tests: locating the committed
//! contract artifacts and fixtures.

use std::path::PathBuf;

/// The repository root of the checkout being tested: `cargo test` names
/// the package's directory at run time, which stays right when one build
/// cache serves several checkouts (a path baked in at build time may be
/// another checkout's, or gone).
pub fn repo_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
        .join("..")
}
