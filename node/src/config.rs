//! The node's configuration: a TOML file, with command-line flags
//! overriding it, and safe defaults (RPC on 127.0.0.1 only).
//!
//! ```toml
//! data_dir = "/var/lib/cairn"
//! genesis = "genesis.json"     # creates the chain if the data directory holds none
//!
//! [rpc]
//! listen = "127.0.0.1:8545"    # HTTP and WebSocket on one port, plus /metrics and /health
//! max_request_body_bytes = 5242880
//! max_response_body_bytes = 20971520
//! max_connections = 200
//! max_batch = 100
//! gas_cap = 50000000           # eth_call / eth_estimateGas gas limit cap
//! max_logs_block_range = 10000 # eth_getLogs block range
//! max_logs = 10000             # eth_getLogs results
//! gas_price = 1                # eth_gasPrice / eth_maxPriorityFeePerGas
//! metrics = true
//! trace_failed_calls = false   # re-run halted calls traced for their errors (default: dev nodes only)
//!
//! [txpool]
//! max_txs = 16384
//! max_per_sender = 1024
//! price_bump_percent = 10
//! min_gas_price = 0
//!
//! [block]
//! time = 0                     # seconds between blocks; 0 = a block as soon as transactions wait
//! max_txs = 10000
//! beneficiary = "0x0000000000000000000000000000000000000000"
//!
//! [dev]
//! enabled = false
//! accounts = 10
//! chain_id = 31337
//! predeploy = ["token"]
//!
//! [validator]                   # present: run as a validator (Malachite consensus)
//! key = "validator.key"         # ed25519 secret key, hex; keep it private
//! listen = "/ip4/127.0.0.1/tcp/27000"  # consensus p2p (libp2p)
//! peers = ["/ip4/127.0.0.1/tcp/27001"]  # other validators' p2p addresses
//! relay = ["http://127.0.0.1:8546"]     # other validators' RPC: where received txs are relayed
//! timeout_propose_ms = 3000
//! timeout_vote_ms = 1000        # prevote and precommit timeouts
//! block_time_ms = 1000          # least time per height (0: as fast as consensus goes)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::txpool::PoolConfig;

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown or mistyped fields.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the TOML parser says (with line and column).
        message: String,
    },
    /// A field has a value the node cannot run with.
    #[error("config: `{field}` {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The JSON-RPC server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RpcConfig {
    /// Address and port for HTTP and WebSocket.
    pub listen: SocketAddr,
    /// Largest request body; larger ones are refused with HTTP 413.
    pub max_request_body_bytes: u32,
    /// Largest response body.
    pub max_response_body_bytes: u32,
    /// Most simultaneous connections.
    pub max_connections: u32,
    /// Most calls in one batch.
    pub max_batch: u32,
    /// Most gas an `eth_call` or `eth_estimateGas` may use.
    pub gas_cap: u64,
    /// Most blocks one `eth_getLogs` may scan.
    pub max_logs_block_range: u64,
    /// Most logs one `eth_getLogs` may return.
    pub max_logs: usize,
    /// The gas price suggested by `eth_gasPrice` and `eth_maxPriorityFeePerGas`.
    pub gas_price: u64,
    /// Serve `GET /metrics`.
    pub metrics: bool,
    /// Run an `eth_call` or `cairn_call` that halts (a trap, out of gas), or
    /// an `eth_estimateGas` that halts other than by running out of gas at
    /// the cap, a second time with a shadow call stack, so that its error
    /// data names the function that trapped and carries the backtrace (and,
    /// for an `eth_call` out of gas, the exact counter). A failing call then
    /// costs about twice as much and compiles its contract again. Unset: on
    /// for a dev node, off otherwise.
    pub trace_failed_calls: Option<bool>,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8545)),
            max_request_body_bytes: 5 * 1024 * 1024,
            max_response_body_bytes: 20 * 1024 * 1024,
            max_connections: 200,
            max_batch: 100,
            gas_cap: 50_000_000,
            max_logs_block_range: 10_000,
            max_logs: 10_000,
            gas_price: 1,
            metrics: true,
            trace_failed_calls: None,
        }
    }
}

/// Block production.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlockConfig {
    /// Seconds between blocks; 0: a block as soon as transactions wait.
    pub time: f64,
    /// Most transactions in one block.
    pub max_txs: usize,
    /// Receives the fees (default: the zero address).
    pub beneficiary: Option<String>,
}

impl Default for BlockConfig {
    fn default() -> Self {
        Self {
            time: 0.0,
            max_txs: 10_000,
            beneficiary: None,
        }
    }
}

/// Dev mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevConfig {
    /// Run as a dev node: dev genesis, printed keys, temporary data directory
    /// unless one is given.
    pub enabled: bool,
    /// How many accounts of the test mnemonic to fund.
    pub accounts: u32,
    /// The dev chain's id.
    pub chain_id: u64,
    /// Example contracts to deploy at genesis (`token`, `counter`,
    /// `multisig`, `router`, `abi_echo`).
    pub predeploy: Vec<String>,
}

impl Default for DevConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            accounts: 10,
            chain_id: crate::dev::DEV_CHAIN_ID,
            predeploy: Vec::new(),
        }
    }
}

/// Running as a validator of a network (`specs/consensus.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorConfig {
    /// File holding the ed25519 secret key (64 hex digits).
    pub key: PathBuf,
    /// Consensus p2p listen address (a libp2p multiaddr, TCP).
    pub listen: String,
    /// The other validators' p2p addresses.
    #[serde(default)]
    pub peers: Vec<String>,
    /// The other validators' RPC URLs: transactions this node admits are
    /// relayed there, so any validator can include them.
    #[serde(default)]
    pub relay: Vec<String>,
    /// How long a round waits for a proposal, in milliseconds.
    #[serde(default = "default_timeout_propose_ms")]
    pub timeout_propose_ms: u64,
    /// How long a round waits for prevotes and precommits, in milliseconds.
    #[serde(default = "default_timeout_vote_ms")]
    pub timeout_vote_ms: u64,
    /// The least time from the start of a height to its finalization, in
    /// milliseconds: the block time when transactions are few (0: as fast
    /// as consensus goes, empty blocks included).
    #[serde(default = "default_block_time_ms")]
    pub block_time_ms: u64,
    /// Test only: propose blocks whose header states a wrong state root
    /// (the other validators must refuse them).
    #[serde(default)]
    pub testing_wrong_state_root: bool,
}

fn default_timeout_propose_ms() -> u64 {
    3_000
}

fn default_block_time_ms() -> u64 {
    1_000
}

fn default_timeout_vote_ms() -> u64 {
    1_000
}

/// Everything the node runs with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// The RocksDB data directory (dev mode: a temporary one if absent).
    pub data_dir: Option<PathBuf>,
    /// Genesis file used to create the chain when the data directory holds none.
    pub genesis: Option<PathBuf>,
    /// JSON-RPC.
    pub rpc: RpcConfig,
    /// Mempool.
    pub txpool: PoolConfig,
    /// Block production.
    pub block: BlockConfig,
    /// Dev mode.
    pub dev: DevConfig,
    /// Validator mode (absent: a single producer).
    pub validator: Option<ValidatorConfig>,
}

impl NodeConfig {
    /// Parses TOML text; `path` names it in errors, and relative paths in it
    /// are taken relative to the file's directory.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Parse`] with the parser's line and column.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut config: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let key = config.validator.as_mut().map(|v| &mut v.key);
        for file in [config.data_dir.as_mut(), config.genesis.as_mut(), key]
            .into_iter()
            .flatten()
        {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
        Ok(config)
    }

    /// Reads a TOML file.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`], [`ConfigError::Parse`].
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// The time between interval blocks; `None` for instant blocks.
    pub fn block_time(&self) -> Option<Duration> {
        if self.block.time > 0.0 {
            Duration::try_from_secs_f64(self.block.time).ok()
        } else {
            None
        }
    }

    /// Checks every value the node relies on.
    ///
    /// # Errors
    ///
    /// The first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| {
            Err(ConfigError::Invalid {
                field,
                reason: reason.to_owned(),
            })
        };
        if !self.block.time.is_finite()
            || self.block.time < 0.0
            || (self.block.time > 0.0 && self.block_time().is_none())
        {
            return invalid("block.time", "must be a number of seconds, 0 or more");
        }
        if self.block.time > 86_400.0 {
            return invalid("block.time", "must be at most a day (86400 seconds)");
        }
        if let Some(beneficiary) = &self.block.beneficiary
            && cairn_chain::codec::parse_address(beneficiary).is_err()
        {
            return invalid("block.beneficiary", "must be a 0x-prefixed 20-byte address");
        }
        if self.block.max_txs == 0 {
            return invalid("block.max_txs", "must be at least 1");
        }
        if self.rpc.max_batch == 0 {
            return invalid("rpc.max_batch", "must be at least 1");
        }
        if self.rpc.max_connections == 0 {
            return invalid("rpc.max_connections", "must be at least 1");
        }
        if self.rpc.max_request_body_bytes < 1024 {
            return invalid("rpc.max_request_body_bytes", "must be at least 1024");
        }
        if self.rpc.max_response_body_bytes < 1024 {
            return invalid("rpc.max_response_body_bytes", "must be at least 1024");
        }
        if self.rpc.gas_cap == 0 {
            return invalid("rpc.gas_cap", "must be at least 1");
        }
        if self.rpc.max_logs_block_range == 0 || self.rpc.max_logs == 0 {
            return invalid(
                "rpc.max_logs_block_range",
                "and rpc.max_logs must be at least 1",
            );
        }
        if self.txpool.max_txs == 0 || self.txpool.max_per_sender == 0 {
            return invalid(
                "txpool.max_txs",
                "and txpool.max_per_sender must be at least 1",
            );
        }
        if self.txpool.price_bump_percent > 1_000 {
            return invalid("txpool.price_bump_percent", "must be at most 1000");
        }
        if self.dev.enabled && (self.dev.accounts == 0 || self.dev.accounts > 1_000) {
            return invalid("dev.accounts", "must be between 1 and 1000");
        }
        if let Some(validator) = &self.validator {
            if self.dev.enabled {
                return invalid("validator", "and dev mode cannot be combined");
            }
            if validator
                .listen
                .parse::<crate::consensus::Multiaddr>()
                .is_err()
            {
                return invalid(
                    "validator.listen",
                    "must be a multiaddr like /ip4/127.0.0.1/tcp/27000",
                );
            }
            if validator
                .peers
                .iter()
                .any(|p| p.parse::<crate::consensus::Multiaddr>().is_err())
            {
                return invalid(
                    "validator.peers",
                    "must be multiaddrs like /ip4/127.0.0.1/tcp/27001",
                );
            }
            if validator.timeout_propose_ms == 0 || validator.timeout_vote_ms == 0 {
                return invalid(
                    "validator.timeout_propose_ms",
                    "and timeout_vote_ms must be positive",
                );
            }
        }
        if !self.dev.enabled && self.data_dir.is_none() {
            return invalid("data_dir", "is required (or run with --dev)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe() {
        let config = NodeConfig::default();
        assert!(config.rpc.listen.ip().is_loopback());
        assert_eq!(config.rpc.listen.port(), 8545);
        assert_eq!(config.block_time(), None);
    }

    #[test]
    fn parses_a_full_file_and_resolves_paths() {
        let text = r#"
            data_dir = "db"
            [rpc]
            listen = "127.0.0.1:9000"
            max_batch = 5
            trace_failed_calls = false
            [txpool]
            max_txs = 10
            [block]
            time = 0.5
            [dev]
            enabled = true
            predeploy = ["token"]
        "#;
        let config = NodeConfig::from_toml(text, Path::new("/etc/cairn/node.toml")).unwrap();
        assert_eq!(config.data_dir, Some(PathBuf::from("/etc/cairn/db")));
        assert_eq!(config.rpc.listen.port(), 9000);
        assert_eq!(config.rpc.max_batch, 5);
        assert_eq!(config.rpc.gas_cap, RpcConfig::default().gas_cap);
        assert_eq!(config.rpc.trace_failed_calls, Some(false));
        assert_eq!(RpcConfig::default().trace_failed_calls, None);
        assert_eq!(config.txpool.max_txs, 10);
        assert_eq!(config.block_time(), Some(Duration::from_millis(500)));
        config.validate().unwrap();
    }

    #[test]
    fn garbage_is_refused_with_its_place() {
        let cases = [
            ("[rpc\nlisten = 1", "node.toml"),
            ("[rpc]\nlisten = \"not an address\"", "listen"),
            ("[rpc]\nmax_batch = -1", "max_batch"),
            ("[rpc]\nno_such_field = 1", "no_such_field"),
            ("unknown = true", "unknown"),
            ("[block]\ntime = \"soon\"", "time"),
            (
                "[rpc]\ntrace_failed_calls = \"maybe\"",
                "trace_failed_calls",
            ),
            ("[rpc]\ntrace_failed_calls = 1", "trace_failed_calls"),
            ("\u{0}\u{1}\u{2}", "node.toml"),
            ("[validator]\nlisten = \"/ip4/127.0.0.1/tcp/1\"", "key"),
            (
                "[validator]\nkey = \"k\"\nlisten = \"x\"\nextra = 1",
                "extra",
            ),
        ];
        for (text, needle) in cases {
            let err = NodeConfig::from_toml(text, Path::new("node.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
        let bad_values = [
            "[block]\ntime = -1.0",
            "[block]\ntime = 1e300",
            "[block]\nmax_txs = 0",
            "[block]\nbeneficiary = \"0x12\"",
            "[rpc]\nmax_batch = 0",
            "[rpc]\nmax_request_body_bytes = 10",
            "[txpool]\nmax_txs = 0",
            "[dev]\nenabled = true\naccounts = 0",
            "[validator]\nkey = \"k\"\nlisten = \"not a multiaddr\"",
            "[validator]\nkey = \"k\"\nlisten = \"/ip4/127.0.0.1/tcp/1\"\npeers = [\"garbage\"]",
            "[validator]\nkey = \"k\"\nlisten = \"/ip4/127.0.0.1/tcp/1\"\ntimeout_vote_ms = 0",
            "[dev]\nenabled = true\n[validator]\nkey = \"k\"\nlisten = \"/ip4/127.0.0.1/tcp/1\"",
        ];
        for text in bad_values {
            let config =
                NodeConfig::from_toml(&format!("data_dir = \"x\"\n{text}"), Path::new("n.toml"))
                    .unwrap();
            assert!(config.validate().is_err(), "{text}");
        }
        assert!(
            NodeConfig::default().validate().is_err(),
            "no data dir, no dev"
        );
    }
}
