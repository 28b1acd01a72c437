//! A local network of validators on loopback: keys, one configuration per
//! validator and the shared genesis (`cairn testnet init`), and running them
//! (`cairn testnet run`, tests, `cairn bench network`).
//!
//! ```text
//! DIR/genesis.json                 the dev accounts, the token, the validator set
//! DIR/validator-I/config.toml      data_dir = "data", RPC on BASE+100+I, p2p on BASE+I
//! DIR/validator-I/validator.key    ed25519 secret key (hex), mode 0600
//! DIR/validator-I/data/            RocksDB, and consensus/ (WAL, proposals)
//! ```

use std::path::{Path, PathBuf};

use cairn_chain::GenesisValidator;

use crate::consensus::keys::key_text;
use crate::dev::{DEV_MNEMONIC, derive_keys, dev_genesis};

/// How to lay out a local network.
#[derive(Debug, Clone)]
pub struct TestnetLayout {
    /// Number of validators.
    pub validators: usize,
    /// Validator i listens for p2p on `base_port + i` and serves RPC on
    /// `base_port + 100 + i`.
    pub base_port: u16,
    /// The chain id.
    pub chain_id: u64,
    /// Dev accounts to fund (the standard test mnemonic).
    pub accounts: u32,
    /// Example contracts to deploy at genesis.
    pub predeploy: Vec<String>,
    /// Propose timeout (ms).
    pub timeout_propose_ms: u64,
    /// Vote timeouts (ms).
    pub timeout_vote_ms: u64,
    /// Least time per height (ms).
    pub block_time_ms: u64,
}

impl Default for TestnetLayout {
    fn default() -> Self {
        Self {
            validators: 4,
            base_port: 26_600,
            chain_id: 1_337,
            accounts: 10,
            predeploy: vec!["token".into()],
            timeout_propose_ms: 2_000,
            timeout_vote_ms: 1_000,
            block_time_ms: 1_000,
        }
    }
}

/// Most validators a layout holds: validator `i` listens for p2p on
/// `base_port + i` and serves RPC on `base_port + 100 + i`, so more than 100
/// would put a p2p port on another validator's RPC port.
pub const MAX_VALIDATORS: usize = 100;

impl TestnetLayout {
    /// Checks the layout before anything is written or bound.
    ///
    /// # Errors
    ///
    /// No validators, more than [`MAX_VALIDATORS`], or ports beyond 65535.
    pub fn check(&self) -> Result<(), String> {
        if self.validators == 0 {
            return Err("a network needs at least one validator".into());
        }
        if self.validators > MAX_VALIDATORS {
            return Err(format!(
                "{} validators: at most {MAX_VALIDATORS} (validator i listens on BASE+i and serves RPC on BASE+100+i)",
                self.validators
            ));
        }
        let last = u32::try_from(self.validators - 1)
            .unwrap_or(u32::MAX)
            .saturating_add(u32::from(self.base_port) + 100);
        if self.base_port == 0 || last > u32::from(u16::MAX) {
            return Err(format!(
                "base port {}: the ports run from it to {last}, which must stay within 1..=65535",
                self.base_port
            ));
        }
        Ok(())
    }

    /// Validator `i`'s p2p port.
    pub fn p2p_port(&self, i: usize) -> u16 {
        self.base_port
            .saturating_add(u16::try_from(i).unwrap_or(u16::MAX))
    }

    /// Validator `i`'s RPC port.
    pub fn rpc_port(&self, i: usize) -> u16 {
        self.p2p_port(i).saturating_add(100)
    }
}

/// A base port for `validators` whose p2p ports (BASE+i) and RPC ports
/// (BASE+100+i) on loopback are all free now, trying up to 200 bases in
/// 20000..40000 from `seed` on (seed it per process and test, so that
/// concurrent runs try different blocks). Another process may still take a
/// port before the network binds it.
pub fn free_base_port(validators: usize, seed: u64) -> Option<u16> {
    for attempt in 0..200u64 {
        let offset = seed.wrapping_add(attempt.wrapping_mul(7919)) % 20_000;
        let layout = TestnetLayout {
            validators,
            base_port: 20_000 + u16::try_from(offset).ok()?,
            ..TestnetLayout::default()
        };
        layout.check().ok()?;
        let listeners: Vec<_> = (0..validators)
            .flat_map(|i| [layout.p2p_port(i), layout.rpc_port(i)])
            .map(|port| std::net::TcpListener::bind(("127.0.0.1", port)))
            .collect();
        if listeners.iter().all(Result::is_ok) {
            return Some(layout.base_port);
        }
    }
    None
}

/// Validator `i`'s configuration file in `dir`.
pub fn config_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("validator-{i}")).join("config.toml")
}

fn random_secret() -> Result<[u8; 32], String> {
    use std::io::Read;
    let mut secret = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut secret))
        .map_err(|e| format!("cannot read /dev/urandom for a key: {e}"))?;
    Ok(secret)
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes a network's keys, configurations and genesis into `dir` (which
/// must not hold one already). Returns the configuration files.
///
/// # Errors
///
/// A directory that already holds a network; I/O errors.
pub fn init(dir: &Path, layout: &TestnetLayout) -> Result<Vec<PathBuf>, String> {
    layout.check()?;
    if dir.join("genesis.json").exists() {
        return Err(format!("{} already holds a network", dir.display()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut secrets = Vec::with_capacity(layout.validators);
    for _ in 0..layout.validators {
        secrets.push(random_secret()?);
    }
    let validators: Vec<GenesisValidator> = secrets
        .iter()
        .map(|s| GenesisValidator {
            public_key: ed25519_consensus::SigningKey::from(*s)
                .verification_key()
                .to_bytes(),
            power: 1,
        })
        .collect();
    let keys = derive_keys(DEV_MNEMONIC, layout.accounts).map_err(|e| e.to_string())?;
    let mut genesis = dev_genesis(
        &keys,
        layout.chain_id,
        crate::producer::wall_clock_seconds(),
        &layout.predeploy,
    )?;
    genesis.validators = validators;
    let genesis_text =
        serde_json::to_string_pretty(&genesis.to_json()).map_err(|e| format!("genesis: {e}"))?;
    std::fs::write(dir.join("genesis.json"), genesis_text + "\n")
        .map_err(|e| format!("cannot write the genesis: {e}"))?;
    let mut configs = Vec::with_capacity(layout.validators);
    for (i, secret) in secrets.iter().enumerate() {
        let home = dir.join(format!("validator-{i}"));
        std::fs::create_dir_all(&home)
            .map_err(|e| format!("cannot create {}: {e}", home.display()))?;
        write_private(&home.join("validator.key"), &key_text(secret))?;
        let others: Vec<usize> = (0..layout.validators).filter(|j| *j != i).collect();
        let peers: Vec<String> = others
            .iter()
            .map(|j| format!("\"/ip4/127.0.0.1/tcp/{}\"", layout.p2p_port(*j)))
            .collect();
        let relay: Vec<String> = others
            .iter()
            .map(|j| format!("\"http://127.0.0.1:{}\"", layout.rpc_port(*j)))
            .collect();
        let config = format!(
            "# Validator {i} of a local Cairn network (`cairn testnet init`).\n\
             data_dir = \"data\"\n\
             genesis = \"../genesis.json\"\n\n\
             [rpc]\n\
             listen = \"127.0.0.1:{rpc}\"\n\n\
             [validator]\n\
             key = \"validator.key\"\n\
             listen = \"/ip4/127.0.0.1/tcp/{p2p}\"\n\
             peers = [{peers}]\n\
             relay = [{relay}]\n\
             timeout_propose_ms = {propose}\n\
             timeout_vote_ms = {vote}\n\
             block_time_ms = {block_time}\n",
            rpc = layout.rpc_port(i),
            p2p = layout.p2p_port(i),
            peers = peers.join(", "),
            relay = relay.join(", "),
            propose = layout.timeout_propose_ms,
            vote = layout.timeout_vote_ms,
            block_time = layout.block_time_ms,
        );
        let path = home.join("config.toml");
        std::fs::write(&path, config)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        configs.push(path);
    }
    Ok(configs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NodeConfig;

    #[test]
    fn init_writes_configs_that_parse_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let layout = TestnetLayout {
            validators: 3,
            base_port: 30_000,
            ..TestnetLayout::default()
        };
        let configs = init(dir.path(), &layout).unwrap();
        assert_eq!(configs.len(), 3);
        let genesis = cairn_chain::Genesis::from_file(&dir.path().join("genesis.json")).unwrap();
        assert_eq!(genesis.validators.len(), 3);
        for (i, path) in configs.iter().enumerate() {
            let config = NodeConfig::from_file(path).unwrap();
            config.validate().unwrap();
            let validator = config.validator.unwrap();
            assert_eq!(validator.peers.len(), 2);
            assert_eq!(config.rpc.listen.port(), 30_100 + u16::try_from(i).unwrap());
            let key = crate::consensus::keys::read_key(&validator.key).unwrap();
            assert_eq!(
                key.public_key().as_bytes(),
                &genesis.validators[i].public_key
            );
        }
        assert!(init(dir.path(), &layout).is_err());
    }
}
