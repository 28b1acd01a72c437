//! Cairn's deterministic executor.

pub mod runtime;
