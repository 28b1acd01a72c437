//! Validators: Cairn as the execution layer of a BFT network on Malachite
//! (Tendermint). Normative text: `specs/consensus.md`.
//!
//! - [`context`]: heights, values (block hashes), votes, proposals, the
//!   validator set, signing;
//! - [`codec`]: the SCALE wire and WAL format of Malachite's messages;
//! - [`app`]: the answers to Malachite's messages;
//! - [`driver`]: block building, checking and committing on the chain's
//!   writer thread;
//! - [`relay`]: transactions relayed between validators;
//! - [`keys`]: validator key files.

pub mod app;
pub mod codec;
pub mod context;
pub mod driver;
pub mod keys;
pub mod relay;

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use cairn_chain::Genesis;
use malachitebft_app_channel::app::config::{
    ConsensusConfig, DiscoveryConfig, NodeConfig as MalachiteNodeConfig, P2pConfig, ValueSyncConfig,
};
pub use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::app::types::Keypair;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::LinearTimeouts;
use malachitebft_app_channel::{
    ConsensusContext, EngineHandle, NetworkContext, NetworkIdentity, RequestContext, Signer,
    SyncContext, WalContext, start_engine,
};

use self::app::{App, AppConfig};
use self::codec::CairnCodec;
use self::context::{CairnContext, CairnSigner, CairnVerifier, ValidatorAddress, ValidatorSet};
use self::driver::WriterRequest;
use crate::config::ValidatorConfig;
use crate::shared::NodeShared;

struct EngineConfig {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl MalachiteNodeConfig for EngineConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }

    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }

    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }

    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }

    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

/// A running validator's consensus engine and app.
pub struct ValidatorHandle {
    engine: EngineHandle,
    app: tokio::task::JoinHandle<()>,
    address: ValidatorAddress,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("moniker", &self.moniker)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ValidatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorHandle")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl ValidatorHandle {
    /// This validator's address.
    pub fn address(&self) -> ValidatorAddress {
        self.address
    }

    /// Stops consensus (the engine's actors, then the app).
    pub async fn stop(self) {
        let _ = self.engine.actor.kill_and_wait(None).await;
        self.app.abort();
        self.engine.handle.abort();
    }
}

/// The round timeouts of a validator configuration.
pub fn timeouts(config: &ValidatorConfig) -> LinearTimeouts {
    let propose = Duration::from_millis(config.timeout_propose_ms);
    let vote = Duration::from_millis(config.timeout_vote_ms);
    let delta = vote / 2;
    LinearTimeouts {
        propose,
        propose_delta: delta,
        prevote: vote,
        prevote_delta: delta,
        precommit: vote,
        precommit_delta: delta,
        rebroadcast: propose + vote + vote,
        max_timeout: Duration::from_secs(60),
    }
}

/// Starts consensus for the validator `config` names, over the chain whose
/// writer serves `writer` and whose reads and mempool are `shared`.
///
/// # Errors
///
/// An unreadable key, a key that is not in the genesis validator set, bad
/// addresses, or an engine that does not start.
pub async fn start_validator(
    config: &ValidatorConfig,
    genesis: &Genesis,
    data_dir: &Path,
    shared: Arc<NodeShared>,
    writer: Sender<WriterRequest>,
    max_txs: usize,
    wrong_state_root: bool,
) -> Result<ValidatorHandle, String> {
    let key = keys::read_key(&config.key)?;
    let public = key.public_key();
    let me = ValidatorAddress(cairn_chain::certificate::validator_address(
        public.as_bytes(),
    ));
    let validators = ValidatorSet::from_genesis(&genesis.validators)?;
    if !validators.validators.iter().any(|v| v.address == me) {
        return Err(format!(
            "validator key {} (address {me}) is not in the genesis validator set",
            config.key.display()
        ));
    }
    let ctx = CairnContext {
        chain_id: genesis.chain_id,
    };
    let listen: Multiaddr = config
        .listen
        .parse()
        .map_err(|e| format!("validator.listen: {e}"))?;
    let peers = config
        .peers
        .iter()
        .map(|p| p.parse().map_err(|e| format!("validator.peers {p}: {e}")))
        .collect::<Result<Vec<Multiaddr>, String>>()?;
    let engine_config = EngineConfig {
        moniker: me.to_string(),
        consensus: ConsensusConfig {
            p2p: P2pConfig {
                listen_addr: listen,
                persistent_peers: peers,
                discovery: DiscoveryConfig {
                    enabled: false,
                    ..DiscoveryConfig::default()
                },
                ..P2pConfig::default()
            },
            ..ConsensusConfig::default()
        },
        value_sync: ValueSyncConfig {
            enabled: true,
            status_update_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            ..ValueSyncConfig::default()
        },
    };
    let consensus_dir = data_dir.join("consensus");
    let proposals_dir = consensus_dir.join("proposals");
    let wal_dir = consensus_dir.join("wal");
    for dir in [&proposals_dir, &wal_dir] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let keypair = Keypair::ed25519_from_bytes(key.inner().to_bytes())
        .map_err(|e| format!("validator key: {e}"))?;
    let signer = CairnSigner::new(key, genesis.chain_id);
    let proof = signer
        .sign_validator_proof(
            public.as_bytes().to_vec(),
            keypair.public().to_peer_id().to_bytes(),
        )
        .await
        .map_err(|e| format!("validator proof: {e}"))?;
    let proof_bytes = CairnCodec
        .encode(&proof)
        .map_err(|e| format!("validator proof: {e}"))?;
    let identity =
        NetworkIdentity::new_validator(me.to_string(), keypair, me.to_string(), proof_bytes);
    let (channels, engine) = start_engine(
        ctx,
        engine_config,
        WalContext::new(wal_dir.join("consensus.wal"), CairnCodec),
        NetworkContext::new(identity, CairnCodec),
        ConsensusContext::new_validator(
            me,
            Box::new(CairnVerifier {
                chain_id: genesis.chain_id,
            }),
            Box::new(signer),
        ),
        SyncContext::new(CairnCodec),
        RequestContext::new(100),
    )
    .await
    .map_err(|e| format!("cannot start consensus: {e:#}"))?;
    if !config.relay.is_empty() {
        shared.set_relay(relay::start(&config.relay)?);
    }
    let app = App::new(
        AppConfig {
            chain_id: genesis.chain_id,
            me,
            validators,
            timeouts: timeouts(config),
            target_time: (config.block_time_ms > 0)
                .then(|| Duration::from_millis(config.block_time_ms)),
            max_txs,
            proposals_dir,
            wrong_state_root,
        },
        shared,
        writer,
    );
    let app = tokio::spawn(app.run(channels));
    tracing::info!(address = %me, listen = %config.listen, "validator started");
    Ok(ValidatorHandle {
        engine,
        app,
        address: me,
    })
}
