//! The consensus app: Malachite's messages to Cairn, answered one by one.
//!
//! | Malachite asks | Cairn does |
//! |---|---|
//! | `ConsensusReady` | start at head + 1 with the genesis validator set |
//! | `StartedRound` | check blocks parked for this height; answer the proposals already seen for the round (restarts) |
//! | `GetValue` | reuse the block built for (height, round) (memory, then disk), or build one from the mempool; answer its hash; stream it |
//! | `ReceivedProposalPart` | reassemble; re-execute; valid only if every header field (roots included) matches |
//! | `Decided` | commit block, receipts, state and certificate in one atomic write (idempotent) |
//! | `Finalized` | start head + 1 |
//! | `GetDecidedValues` / `ProcessSyncedValue` | serve stored blocks with their certificates / check a synced block |
//!
//! Execution happens on the writer thread ([`super::driver`]), never on the
//! async runtime. Every message is answered (also on errors) except two, on
//! purpose: a `GetValue` the node cannot build a block for (the propose
//! timeout then moves the round on) and a `Decided` it could not commit
//! (`Finalized` then restarts the height, so sync fetches it again).
//! Proposals for the next height that arrive early are checked right after
//! the commit, so `StartedRound` answers from memory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use bytes::Bytes;
use cairn_chain::{Block, BlockStore, CommitCertificate, CommitSignature};
use cairn_host_api::world::{Address, H256};
use malachitebft_app_channel::app::consensus::VoteExtensionError;
use malachitebft_app_channel::app::engine::host::{HeightParams, Next, SyncedValueOutcome};
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::core::{
    CommitCertificate as MalachiteCertificate, ExtendedCommitCertificate, ExtendedCommitSignature,
    LinearTimeouts, Round, Validity,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{LocallyProposedValue, PeerId, ProposedValue};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg};
use parity_scale_codec::{Decode, Encode};
use tokio::sync::oneshot;

use super::context::{
    BlockHash, CairnContext, Height, ProposalPart, Signature, ValidatorAddress, ValidatorSet,
    round_number,
};
use super::driver::{Checked, Committed, WriterRequest};
use crate::shared::NodeShared;

/// Size of one streamed chunk of a block.
const CHUNK: usize = 64 * 1024;
/// Most bytes of blocks in one sync response (the response limit is 10 MiB).
const SYNC_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// What the app runs with.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The chain id.
    pub chain_id: u64,
    /// This validator.
    pub me: ValidatorAddress,
    /// The validator set.
    pub validators: ValidatorSet,
    /// Round timeouts.
    pub timeouts: LinearTimeouts,
    /// Least time per height.
    pub target_time: Option<std::time::Duration>,
    /// Most transactions per block.
    pub max_txs: usize,
    /// Where proposals are kept across restarts.
    pub proposals_dir: PathBuf,
    /// Test-only: propose blocks with a wrong state root.
    pub wrong_state_root: bool,
}

#[derive(Default)]
struct Stream {
    init: Option<(u64, u32, Option<u32>, Address, u32)>,
    parts: BTreeMap<u64, Vec<u8>>,
    fin: Option<u64>,
}

struct Parked {
    round: u32,
    pol_round: Option<u32>,
    proposer: Address,
    block: Block,
}

/// The app's state.
pub struct App {
    config: AppConfig,
    shared: Arc<NodeShared>,
    writer: Sender<WriterRequest>,
    streams: BTreeMap<(Vec<u8>, Vec<u8>), Stream>,
    /// Blocks seen or built, by hash (this height and the next few).
    blocks: BTreeMap<H256, Block>,
    /// Our own block for (height, round).
    built: BTreeMap<(u64, u32), H256>,
    /// Checked proposals for (height, round).
    undecided: BTreeMap<(u64, u32), Vec<ProposedValue<CairnContext>>>,
    /// Complete proposals for a future height, checked when it starts.
    parked: BTreeMap<u64, Vec<Parked>>,
    /// Whether proposals kept on disk were loaded since the start.
    loaded_stored: bool,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("me", &self.config.me)
            .field("blocks", &self.blocks.len())
            .finish_non_exhaustive()
    }
}

type AppResult<T> = Result<T, String>;

impl App {
    /// The app for a validator.
    pub fn new(config: AppConfig, shared: Arc<NodeShared>, writer: Sender<WriterRequest>) -> Self {
        Self {
            config,
            shared,
            writer,
            streams: BTreeMap::new(),
            blocks: BTreeMap::new(),
            built: BTreeMap::new(),
            undecided: BTreeMap::new(),
            parked: BTreeMap::new(),
            loaded_stored: false,
        }
    }

    fn head(&self) -> u64 {
        self.shared.reader.head().number
    }

    fn params(&self) -> HeightParams<CairnContext> {
        HeightParams::new(
            self.config.validators.clone(),
            self.config.timeouts,
            self.config.target_time,
        )
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> WriterRequest) -> AppResult<T> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(make(reply))
            .map_err(|_| "the chain writer stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the chain writer stopped (node failure)".to_string())
    }

    async fn check(&self, block: &Block, live: bool) -> AppResult<Checked> {
        let block = Box::new(block.clone());
        self.ask(|reply| WriterRequest::Check { block, live, reply })
            .await
    }

    /// Runs until consensus stops.
    pub async fn run(mut self, mut channels: Channels<CairnContext>) {
        while let Some(msg) = channels.consensus.recv().await {
            if let Err(error) = self.handle(msg, &channels).await {
                tracing::error!(%error, "consensus app");
            }
        }
        tracing::info!("consensus stopped");
    }

    #[allow(clippy::too_many_lines)]
    async fn handle(
        &mut self,
        msg: AppMsg<CairnContext>,
        channels: &Channels<CairnContext>,
    ) -> AppResult<()> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                let start = Height(self.head() + 1);
                tracing::info!(%start, "consensus ready");
                let _ = reply.send((start, self.params()));
            }
            AppMsg::StartedRound {
                height,
                round,
                proposer,
                role,
                reply_value,
            } => {
                tracing::debug!(%height, %round, %proposer, ?role, "round started");
                self.shared.metrics.record_round(height.0, round.as_i64());
                if !self.loaded_stored {
                    // Once, after a start: proposals kept on disk for this
                    // height (a restart mid-height) are checked again.
                    self.loaded_stored = true;
                    self.load_stored(height.0).await;
                }
                let values = self
                    .undecided
                    .get(&(height.0, round_number(round)))
                    .cloned()
                    .unwrap_or_default();
                let _ = reply_value.send(values);
            }
            AppMsg::GetValue {
                height,
                round,
                timeout: _,
                reply,
            } => {
                let r = round_number(round);
                let hash = match self.own_block(height.0, r).await {
                    Ok(hash) => hash,
                    Err(error) => {
                        // No reply: consensus times out the propose step and
                        // moves on (prevote nil), as for a silent proposer.
                        drop(reply);
                        return Err(format!("cannot build block {height}: {error}"));
                    }
                };
                let _ = reply.send(LocallyProposedValue::new(height, round, BlockHash(hash)));
                self.stream(channels, height.0, r, None, self.config.me.0, hash)
                    .await?;
            }
            AppMsg::ExtendVote { reply, .. } => {
                let _ = reply.send(None);
            }
            AppMsg::VerifyVoteExtensions {
                extensions, reply, ..
            } => {
                // Cairn uses no vote extensions and accepts none.
                let verdicts = extensions
                    .into_iter()
                    .map(|(address, _)| (address, Err(VoteExtensionError::InvalidVoteExtension)))
                    .collect();
                let _ = reply.send(verdicts);
            }
            AppMsg::RestreamProposal {
                height,
                round,
                valid_round,
                address,
                value_id,
            } => {
                if self.blocks.contains_key(&value_id.0) {
                    self.stream(
                        channels,
                        height.0,
                        round_number(round),
                        valid_round.as_u32(),
                        address.0,
                        value_id.0,
                    )
                    .await?;
                }
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                let _ = reply.send(Height(1));
            }
            AppMsg::ReceivedProposalPart {
                from,
                published_by,
                part,
                reply,
            } => {
                let value = self.received_part(published_by.unwrap_or(from), part).await;
                let _ = reply.send(value);
            }
            AppMsg::Decided {
                certificate,
                extensions: _,
                reply,
            } => {
                // Acknowledged only once committed: an acknowledged height
                // is one this node serves to others.
                self.commit(&certificate).await?;
                let _ = reply.send(());
                // Proposals for the next height that came early.
                let next = self.head() + 1;
                for p in self.parked.remove(&next).unwrap_or_default() {
                    self.accept(p).await;
                }
            }
            AppMsg::Finalized {
                certificate, reply, ..
            } => {
                let head = self.head();
                let next = if head < certificate.height.0 {
                    tracing::error!(
                        height = certificate.height.0,
                        head,
                        "the decided block is not committed here: restarting the height"
                    );
                    Next::Restart(certificate.height, self.params())
                } else {
                    Next::Start(Height(head + 1), self.params())
                };
                let _ = reply.send(next);
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let values = self.decided_values(range.start().0, range.end().0);
                let _ = reply.send(values);
            }
            AppMsg::ProcessSyncedValue {
                height,
                round,
                proposer,
                value_bytes,
                reply,
            } => {
                let outcome = self.synced(height, round, proposer, &value_bytes).await;
                let _ = reply.send(outcome);
            }
        }
        Ok(())
    }

    /// Our block for (height, round): built before (memory or disk) or new.
    async fn own_block(&mut self, height: u64, round: u32) -> AppResult<H256> {
        if let Some(hash) = self.built.get(&(height, round)) {
            return Ok(*hash);
        }
        if let Some(block) = self.read_stored(height, round, self.config.me.0) {
            // A restart: propose the same block again.
            if self.check(&block, false).await? == Checked::Valid {
                let hash = block.header.hash();
                self.blocks.insert(hash, block);
                self.built.insert((height, round), hash);
                return Ok(hash);
            }
        }
        if self.head() + 1 != height {
            return Err(format!("the head is {}", self.head()));
        }
        let timestamp = crate::producer::wall_clock_seconds();
        let (max_txs, wrong_state_root) = (self.config.max_txs, self.config.wrong_state_root);
        let block = self
            .ask(|reply| WriterRequest::Build {
                timestamp,
                max_txs,
                wrong_state_root,
                reply,
            })
            .await??;
        let hash = block.header.hash();
        self.store(height, round, self.config.me.0, &block);
        tracing::info!(
            height,
            round,
            txs = block.transactions.len(),
            hash = %BlockHash(hash),
            "proposing"
        );
        self.blocks.insert(hash, block);
        self.built.insert((height, round), hash);
        Ok(hash)
    }

    async fn stream(
        &self,
        channels: &Channels<CairnContext>,
        height: u64,
        round: u32,
        pol_round: Option<u32>,
        proposer: Address,
        hash: H256,
    ) -> AppResult<()> {
        let Some(block) = self.blocks.get(&hash) else {
            return Ok(());
        };
        let bytes = block.encode();
        let stream_id = StreamId::new(Bytes::from((height, round, pol_round).encode()));
        let mut parts = vec![ProposalPart::Init {
            height,
            round,
            pol_round,
            proposer,
            length: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        }];
        parts.extend(bytes.chunks(CHUNK).map(|c| ProposalPart::Data(c.to_vec())));
        let mut sequence = 0u64;
        for part in parts {
            let msg = StreamMessage::new(stream_id.clone(), sequence, StreamContent::Data(part));
            channels
                .network
                .send(NetworkMsg::PublishProposalPart(msg))
                .await
                .map_err(|_| "the network stopped".to_string())?;
            sequence += 1;
        }
        channels
            .network
            .send(NetworkMsg::PublishProposalPart(StreamMessage::new(
                stream_id,
                sequence,
                StreamContent::Fin,
            )))
            .await
            .map_err(|_| "the network stopped".to_string())
    }

    async fn received_part(
        &mut self,
        publisher: PeerId,
        part: StreamMessage<ProposalPart>,
    ) -> Option<ProposedValue<CairnContext>> {
        let key = (publisher.to_bytes(), part.stream_id.to_bytes().to_vec());
        let stream = self.streams.entry(key.clone()).or_default();
        match part.content {
            StreamContent::Fin => stream.fin = Some(part.sequence),
            StreamContent::Data(ProposalPart::Init {
                height,
                round,
                pol_round,
                proposer,
                length,
            }) => stream.init = Some((height, round, pol_round, proposer, length)),
            StreamContent::Data(ProposalPart::Data(chunk)) => {
                stream.parts.insert(part.sequence, chunk);
            }
        }
        let complete = match (stream.init, stream.fin) {
            (Some(_), Some(fin)) => stream.parts.len() as u64 + 1 == fin,
            _ => false,
        };
        if !complete {
            if self.streams.len() > 1024 {
                // Bound memory against streams that never finish: drop the
                // lowest height's.
                if let Some(oldest) = self
                    .streams
                    .keys()
                    .min_by_key(|(_, id)| stream_height(id))
                    .cloned()
                {
                    self.streams.remove(&oldest);
                }
            }
            return None;
        }
        let stream = self.streams.remove(&key)?;
        let (height, round, pol_round, proposer, length) = stream.init?;
        let bytes: Vec<u8> = stream.parts.into_values().flatten().collect();
        if u32::try_from(bytes.len()).ok() != Some(length) {
            tracing::warn!(height, round, "proposal of the wrong length dropped");
            return None;
        }
        let Ok(block) = Block::decode(&mut bytes.as_slice()) else {
            tracing::warn!(height, round, "undecodable proposal dropped");
            return None;
        };
        if block.header.number != height {
            tracing::warn!(height, round, "proposal for another height dropped");
            return None;
        }
        let head = self.head();
        if height <= head {
            return None;
        }
        let parked = Parked {
            round,
            pol_round,
            proposer,
            block,
        };
        if height > head + 1 {
            // A later height: its parent is not committed here yet.
            self.parked.entry(height).or_default().push(parked);
            return None;
        }
        self.accept(parked).await
    }

    /// Checks a complete proposal and records the verdict.
    async fn accept(&mut self, p: Parked) -> Option<ProposedValue<CairnContext>> {
        let height = p.block.header.number;
        let hash = p.block.header.hash();
        let validity = match self.check(&p.block, true).await {
            Ok(Checked::Valid) => Validity::Valid,
            Ok(Checked::Invalid(reason)) => {
                tracing::warn!(height, round = p.round, %reason, "invalid proposal: voting nil");
                Validity::Invalid
            }
            Err(error) => {
                tracing::error!(%error, "cannot check a proposal");
                return None;
            }
        };
        if validity.is_valid() {
            self.store(height, p.round, p.proposer, &p.block);
        }
        self.blocks.insert(hash, p.block);
        let value = ProposedValue {
            height: Height(height),
            round: Round::new(p.round),
            valid_round: Round::from(p.pol_round),
            proposer: ValidatorAddress(p.proposer),
            value: BlockHash(hash),
            validity,
        };
        let values = self.undecided.entry((height, p.round)).or_default();
        if !values.contains(&value) {
            values.push(value.clone());
        }
        Some(value)
    }

    async fn commit(&mut self, certificate: &MalachiteCertificate<CairnContext>) -> AppResult<()> {
        let hash = certificate.value_id.0;
        let mut signatures: Vec<CommitSignature> = certificate
            .commit_signatures
            .iter()
            .map(|s| CommitSignature {
                validator: s.address.0,
                signature: s.signature.to_bytes(),
            })
            .collect();
        signatures.sort_by_key(|s| s.validator);
        signatures.dedup_by_key(|s| s.validator);
        let ours = CommitCertificate {
            height: certificate.height.0,
            round: round_number(certificate.round),
            block_hash: hash,
            signatures,
        };
        for attempt in 0..2 {
            let certificate = ours.clone();
            let committed = self
                .ask(|reply| WriterRequest::Commit {
                    hash,
                    certificate,
                    reply,
                })
                .await??;
            match committed {
                Committed::Now(block) => {
                    tracing::info!(
                        height = block.block.header.number,
                        round = ours.round,
                        txs = block.block.transactions.len(),
                        signatures = ours.signatures.len(),
                        "committed"
                    );
                    self.after_commit(block.block.header.number);
                    return Ok(());
                }
                Committed::Already => return Ok(()),
                Committed::Unknown if attempt == 0 => {
                    // Decided without a kept execution (a restart): check
                    // the block from memory or disk, then commit.
                    let block = match self.blocks.get(&hash) {
                        Some(block) => block.clone(),
                        None => self.read_stored_hash(ours.height, hash).ok_or_else(|| {
                            format!("decided block {} is unknown here", BlockHash(hash))
                        })?,
                    };
                    if let Checked::Invalid(reason) = self.check(&block, false).await? {
                        return Err(format!("decided block does not check here: {reason}"));
                    }
                }
                Committed::Unknown => return Err("decided block vanished".into()),
            }
        }
        Ok(())
    }

    fn after_commit(&mut self, height: u64) {
        self.blocks.retain(|_, b| b.header.number > height);
        self.built.retain(|(h, _), _| *h > height);
        self.undecided.retain(|(h, _), _| *h > height);
        self.parked.retain(|h, _| *h > height);
        // Streams of later heights stay: their parts may have come early.
        self.streams.retain(|(_, id), _| stream_height(id) > height);
        self.prune_stored(height);
    }

    fn decided_values(&self, from: u64, to: u64) -> Vec<RawDecidedValue<CairnContext>> {
        let head = self.head();
        let state = self.shared.reader.state();
        let mut values = Vec::new();
        let mut bytes_total = 0usize;
        for height in from.max(1)..=to.min(head) {
            let (Ok(Some(block)), Ok(Some(certificate))) =
                (state.block(height), state.certificate(height))
            else {
                break;
            };
            let bytes = block.encode();
            bytes_total += bytes.len();
            if bytes_total > SYNC_RESPONSE_BYTES && !values.is_empty() {
                break;
            }
            let signatures = certificate
                .signatures
                .iter()
                .map(|s| {
                    ExtendedCommitSignature::new(
                        ValidatorAddress(s.validator),
                        Signature::from_bytes(s.signature),
                        None,
                    )
                })
                .collect();
            values.push(RawDecidedValue::new(
                Bytes::from(bytes),
                ExtendedCommitCertificate {
                    height: Height(height),
                    round: Round::new(certificate.round),
                    value_id: BlockHash(certificate.block_hash),
                    commit_signatures: signatures,
                },
            ));
        }
        values
    }

    async fn synced(
        &mut self,
        height: Height,
        round: Round,
        proposer: ValidatorAddress,
        value_bytes: &[u8],
    ) -> SyncedValueOutcome<CairnContext> {
        let mut input = value_bytes;
        let block = match Block::decode(&mut input) {
            Ok(block) if input.is_empty() && block.header.number == height.0 => block,
            _ => return SyncedValueOutcome::PeerFault,
        };
        let hash = block.header.hash();
        let validity = if height.0 <= self.head() {
            match self.shared.reader.state().block(height.0) {
                Ok(Some(stored)) => Validity::from_bool(stored.header.hash() == hash),
                _ => return SyncedValueOutcome::LocalTransientError,
            }
        } else if height.0 > self.head() + 1 {
            return SyncedValueOutcome::LocalTransientError;
        } else {
            match self.check(&block, false).await {
                Ok(Checked::Valid) => Validity::Valid,
                Ok(Checked::Invalid(reason)) => {
                    tracing::warn!(height = height.0, %reason, "synced block does not check");
                    Validity::Invalid
                }
                Err(_) => return SyncedValueOutcome::LocalTransientError,
            }
        };
        self.blocks.insert(hash, block);
        SyncedValueOutcome::Verdict(ProposedValue {
            height,
            round,
            valid_round: Round::Nil,
            proposer,
            value: BlockHash(hash),
            validity,
        })
    }

    // ---- proposals on disk (restarts) ------------------------------------

    fn stored_path(&self, height: u64, round: u32, proposer: &Address, hash: &H256) -> PathBuf {
        self.config.proposals_dir.join(format!(
            "{height:020}-{round:010}-{}-{}.block",
            hex::encode(proposer.as_bytes()),
            hex::encode(hash.as_bytes())
        ))
    }

    /// Keeps a proposal on disk (write, sync, rename: whole or absent).
    fn store(&self, height: u64, round: u32, proposer: Address, block: &Block) {
        let path = self.stored_path(height, round, &proposer, &block.header.hash());
        let temp = path.with_extension("tmp");
        let result = (|| -> std::io::Result<()> {
            use std::io::Write;
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(&block.encode())?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)
        })();
        if let Err(error) = result {
            tracing::warn!(%error, path = %path.display(), "cannot keep a proposal on disk");
        }
    }

    fn stored_entries(&self) -> Vec<(u64, u32, String, String, PathBuf)> {
        let Ok(dir) = std::fs::read_dir(&self.config.proposals_dir) else {
            return Vec::new();
        };
        let mut entries: Vec<_> = dir
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let path = entry.path();
                let name = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".block")?
                    .to_owned();
                let mut fields = name.split('-');
                let height = fields.next()?.parse().ok()?;
                let round = fields.next()?.parse().ok()?;
                let proposer = fields.next()?.to_owned();
                let hash = fields.next()?.to_owned();
                Some((height, round, proposer, hash, path))
            })
            .collect();
        entries.sort();
        entries
    }

    fn read_block(path: &std::path::Path) -> Option<Block> {
        let bytes = std::fs::read(path).ok()?;
        let mut input = bytes.as_slice();
        let block = Block::decode(&mut input).ok()?;
        input.is_empty().then_some(block)
    }

    fn read_stored(&self, height: u64, round: u32, proposer: Address) -> Option<Block> {
        let proposer = hex::encode(proposer.as_bytes());
        self.stored_entries()
            .into_iter()
            .find(|(h, r, p, _, _)| *h == height && *r == round && *p == proposer)
            .and_then(|(.., path)| Self::read_block(&path))
    }

    fn read_stored_hash(&self, height: u64, hash: H256) -> Option<Block> {
        let hash = hex::encode(hash.as_bytes());
        self.stored_entries()
            .into_iter()
            .find(|(h, _, _, x, _)| *h == height && *x == hash)
            .and_then(|(.., path)| Self::read_block(&path))
    }

    /// After a restart: proposals kept on disk for `height` are checked
    /// again, so consensus hears of them.
    async fn load_stored(&mut self, height: u64) {
        let found: Vec<_> = self
            .stored_entries()
            .into_iter()
            .filter(|(h, ..)| *h == height)
            .collect();
        for (_, round, proposer, _, path) in found {
            let Some(block) = Self::read_block(&path) else {
                continue;
            };
            if self.blocks.contains_key(&block.header.hash()) {
                continue;
            }
            let Ok(bytes) = hex::decode(&proposer) else {
                continue;
            };
            if bytes.len() != 20 {
                continue;
            }
            let proposer = Address::from_slice(&bytes);
            if proposer == self.config.me.0 {
                self.built.insert((height, round), block.header.hash());
            }
            self.accept(Parked {
                round,
                pol_round: None,
                proposer,
                block,
            })
            .await;
        }
    }

    fn prune_stored(&self, committed: u64) {
        for (height, .., path) in self.stored_entries() {
            if height <= committed {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// The height a stream id names (its first SCALE field), 0 if it does not.
fn stream_height(id: &[u8]) -> u64 {
    id.get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_le_bytes)
}
