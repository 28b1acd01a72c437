//! Shared helpers for Cairn's end-to-end tests: locating the committed
//! contract artifacts and fixtures.

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
