//! Cairn's deterministic executor.

pub mod chain;
pub mod prepare;
pub mod runtime;
