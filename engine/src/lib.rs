//! Cairn's deterministic executor.
