//! The writer thread's side of consensus: build, check and commit blocks on
//! the chain's one writer, on request from the consensus app (which runs on
//! the async runtime and must never execute blocks itself).
//!
//! Executions are kept, keyed by block hash, until the head moves, so a
//! decided block is committed without executing it again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use cairn_chain::block::header_difference;
use cairn_chain::execute::InvalidTxPolicy;
use cairn_chain::{Block, ChainError, CommitCertificate};
use cairn_host_api::world::{Address, H256};
use tokio::sync::oneshot;

use crate::producer::{BlockDriver, ChainWriter, CommittedBlock, NodeExecuted, Wakeup};

/// How far ahead of this node's clock a proposed block's timestamp may be.
pub const MAX_CLOCK_DRIFT_SECS: u64 = 15;

/// What a check of a proposed block found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// It extends the head and executes to the roots its header states.
    Valid,
    /// Why it must not be voted for.
    Invalid(String),
}

/// What a commit request did.
#[derive(Debug)]
pub enum Committed {
    /// Committed now.
    Now(Arc<CommittedBlock>),
    /// The height was already committed with this block.
    Already,
    /// No execution of the block is kept: check it first.
    Unknown,
}

/// A request to the writer thread. Replies go back on the oneshot; a node
/// failure stops the writer (and the node) without a reply.
#[derive(Debug)]
pub enum WriterRequest {
    /// Build the next block from the mempool.
    Build {
        /// The block's timestamp (raised to the parent's if below).
        timestamp: u64,
        /// Most transactions.
        max_txs: usize,
        /// Test-only: state a wrong state root in the header.
        wrong_state_root: bool,
        /// The built block.
        reply: oneshot::Sender<Result<Block, String>>,
    },
    /// Check a proposed (or synced) block.
    Check {
        /// The block.
        block: Box<Block>,
        /// Whether to bound its timestamp by this node's clock (live
        /// proposals; not synced blocks).
        live: bool,
        /// The verdict.
        reply: oneshot::Sender<Checked>,
    },
    /// Commit a decided block with its certificate.
    Commit {
        /// The block's hash.
        hash: H256,
        /// Its certificate.
        certificate: CommitCertificate,
        /// What happened; `Err` if the certificate does not prove the block.
        reply: oneshot::Sender<Result<Committed, String>>,
    },
}

struct Kept {
    executed: NodeExecuted,
    senders: Vec<Address>,
    execution: Duration,
}

/// Serves [`WriterRequest`]s on the writer thread.
#[derive(Debug)]
pub struct ConsensusDriver {
    requests: Receiver<WriterRequest>,
}

impl ConsensusDriver {
    /// A driver serving `requests`.
    pub fn new(requests: Receiver<WriterRequest>) -> Self {
        Self { requests }
    }
}

struct State {
    kept: BTreeMap<H256, Kept>,
    kept_on: H256,
}

impl State {
    fn sync_head(&mut self, writer: &ChainWriter) {
        let head = writer.head().hash();
        if head != self.kept_on {
            self.kept.clear();
            self.kept_on = head;
        }
    }
}

fn node_failure(error: ChainError) -> Result<String, ChainError> {
    if error.is_node_failure() {
        Err(error)
    } else {
        Ok(error.to_string())
    }
}

impl BlockDriver for ConsensusDriver {
    fn run(self: Box<Self>, writer: &mut ChainWriter, wakeup: &Wakeup) -> Result<(), ChainError> {
        let mut state = State {
            kept: BTreeMap::new(),
            kept_on: writer.head().hash(),
        };
        loop {
            if wakeup.stopping() {
                return Ok(());
            }
            let request = match self.requests.recv_timeout(Duration::from_millis(100)) {
                Ok(request) => request,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            };
            state.sync_head(writer);
            match request {
                WriterRequest::Build {
                    timestamp,
                    max_txs,
                    wrong_state_root,
                    reply,
                } => {
                    let result = build(writer, &mut state, timestamp, max_txs, wrong_state_root)?;
                    let _ = reply.send(result);
                }
                WriterRequest::Check { block, live, reply } => {
                    let verdict = check(writer, &mut state, *block, live)?;
                    let _ = reply.send(verdict);
                }
                WriterRequest::Commit {
                    hash,
                    certificate,
                    reply,
                } => {
                    let result = commit(writer, &mut state, hash, &certificate)?;
                    let _ = reply.send(result);
                }
            }
        }
    }
}

fn build(
    writer: &mut ChainWriter,
    state: &mut State,
    timestamp: u64,
    max_txs: usize,
    wrong_state_root: bool,
) -> Result<Result<Block, String>, ChainError> {
    let txs = writer.propose(max_txs);
    let timestamp = timestamp.max(writer.head().timestamp);
    let started = Instant::now();
    let executed = writer.execute(
        timestamp,
        writer.beneficiary(),
        txs.iter().map(|t| t.tx.clone()).collect(),
        txs.iter().map(|t| Ok(t.sender)).collect(),
        InvalidTxPolicy::Skip,
    );
    let mut executed = match executed {
        Ok(executed) => executed,
        Err(error) => return node_failure(error).map(Err),
    };
    let execution = started.elapsed();
    let rejected: std::collections::BTreeSet<usize> =
        executed.rejected.iter().map(|(i, _)| *i).collect();
    if !rejected.is_empty() {
        // Inadmissible against the block's state: they would be refused
        // again in every block (the single producer drops them too).
        let refused: Vec<_> = rejected.iter().map(|i| Arc::clone(&txs[*i])).collect();
        for (index, reason) in &executed.rejected {
            tracing::warn!(tx = %cairn_chain::codec::to_hex(txs[*index].hash), %reason, "transaction left out of a proposal and dropped");
        }
        writer.forget(&refused);
    }
    let senders = txs
        .iter()
        .enumerate()
        .filter(|(i, _)| !rejected.contains(i))
        .map(|(_, t)| t.sender)
        .collect();
    if wrong_state_root {
        // Test-only hook: a proposer that lies about the state root.
        executed.block.header.state_root = H256::repeat_byte(0x5a);
    }
    let block = executed.block.clone();
    state.kept.insert(
        block.header.hash(),
        Kept {
            executed,
            senders,
            execution,
        },
    );
    Ok(Ok(block))
}

fn check(
    writer: &mut ChainWriter,
    state: &mut State,
    block: Block,
    live: bool,
) -> Result<Checked, ChainError> {
    let hash = block.header.hash();
    if state.kept.contains_key(&hash) {
        return Ok(Checked::Valid);
    }
    if let Err(error) = writer.chain().check_extends_head(&block.header) {
        return node_failure(error).map(Checked::Invalid);
    }
    if live {
        let now = crate::producer::wall_clock_seconds();
        if block.header.timestamp > now.saturating_add(MAX_CLOCK_DRIFT_SECS) {
            return Ok(Checked::Invalid(format!(
                "timestamp {} is more than {MAX_CLOCK_DRIFT_SECS} s ahead of this node's clock ({now})",
                block.header.timestamp
            )));
        }
    }
    let prechecked = writer.chain().precheck(&block.transactions);
    let mut senders = Vec::with_capacity(prechecked.len());
    for (index, sender) in prechecked.iter().enumerate() {
        match sender {
            Ok(sender) => senders.push(*sender),
            Err(error) => {
                return Ok(Checked::Invalid(format!(
                    "transaction {index} is not admissible: {error}"
                )));
            }
        }
    }
    let started = Instant::now();
    let executed = match writer.execute(
        block.header.timestamp,
        block.header.beneficiary,
        block.transactions.clone(),
        prechecked,
        InvalidTxPolicy::Reject,
    ) {
        Ok(executed) => executed,
        Err(error) => return node_failure(error).map(Checked::Invalid),
    };
    let execution = started.elapsed();
    if let Some((field, stated, computed)) =
        header_difference(&block.header, &executed.block.header)
    {
        return Ok(Checked::Invalid(format!(
            "header field `{field}` is {stated} in the proposal but {computed} when executed"
        )));
    }
    state.kept.insert(
        hash,
        Kept {
            executed,
            senders,
            execution,
        },
    );
    Ok(Checked::Valid)
}

fn commit(
    writer: &mut ChainWriter,
    state: &mut State,
    hash: H256,
    certificate: &CommitCertificate,
) -> Result<Result<Committed, String>, ChainError> {
    let head = writer.head().number;
    if certificate.height <= head {
        let stored = writer.chain().block(certificate.height)?;
        return Ok(match stored {
            Some(block) if block.header.hash() == hash => Ok(Committed::Already),
            _ => Err(format!(
                "height {} is already committed with another block",
                certificate.height
            )),
        });
    }
    let Some(kept) = state.kept.remove(&hash) else {
        return Ok(Ok(Committed::Unknown));
    };
    match writer.commit_decided(kept.executed, kept.senders, certificate, kept.execution) {
        Ok(committed) => {
            state.sync_head(writer);
            Ok(Ok(Committed::Now(committed)))
        }
        Err(error) => node_failure(error).map(Err),
    }
}
