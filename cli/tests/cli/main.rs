//! The `cairn` binary end to end: one test binary, one module per command
//! group, one way to run the binary ([`support`]).

mod chain;
mod devkit;
mod node;
mod prepare;
mod profile;
mod run;
mod state;
mod support;
mod typed;
