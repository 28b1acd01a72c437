//! `cairn-node`: the long-running Cairn node.
//!
//! - [`node`]: [`start`] a node (open or create the chain, serve JSON-RPC,
//!   produce blocks) and [`RunningNode::shutdown`] it in order;
//! - [`config`]: the TOML configuration and its safe defaults;
//! - [`txpool`]: the mempool (admission, nonce order, replacement, caps);
//! - [`producer`]: the chain's one writer on its own thread, and the seam
//!   ([`producer::BlockDriver`]) a consensus driver replaces;
//! - [`rpc`]: Ethereum JSON-RPC over HTTP and WebSocket, the `cairn_`
//!   namespace, subscriptions;
//! - [`metrics`]: Prometheus metrics and the health endpoint;
//! - [`consensus`]: validators (Malachite consensus, certificates, tx relay);
//! - [`dev`]: dev mode (the standard test accounts, predeployed examples);
//! - [`envelope`]: the one place the node names its transaction type;
//! - [`client`]: the blocking client `cairn ... --rpc URL` uses.
//!
//! Async (tokio) only at the edges: block execution and commits run on the
//! writer thread, RPC reads on blocking threads through the chain's read
//! handle.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = cairn_node::config::NodeConfig::default();
//! config.dev.enabled = true; // temporary data directory, funded test accounts
//! config.rpc.listen = "127.0.0.1:0".parse()?; // any free port
//! let node = cairn_node::start(config).await?;
//! println!("JSON-RPC on {}", node.http_url());
//! node.shutdown().await?;
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod config;
pub mod consensus;
pub mod convert;
pub mod dev;
pub mod envelope;
pub mod metrics;
pub mod node;
pub mod producer;
pub mod rpc;
pub mod shared;
pub mod testnet;
pub mod txpool;

pub use node::{NodeError, RunningNode, Stopped, start, start_with_genesis};
