//! The node's integration tests: an in-process node on a loopback port
//! driven by a real JSON-RPC client (jsonrpsee), RocksDB in a temporary
//! directory. No mocks.

mod garbage;
mod load;
mod mempool;
mod rpc;
mod subscribe;
mod support;
