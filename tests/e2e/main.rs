//! Cairn's end-to-end tests: one binary, one module per area.
mod blocks;
mod chain;
mod contracts;
mod reader;
