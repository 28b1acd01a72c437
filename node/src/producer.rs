//! Block production, behind a seam.
//!
//! The chain's one writer lives on a dedicated thread (house style 13:
//! execution and commits stay synchronous). [`ChainWriter`] wraps it with
//! what must follow every commit (mempool upkeep, new-block events for
//! subscriptions, metrics). A [`BlockDriver`] decides when a block is made
//! and from what: [`LocalProducer`] (this issue) takes the mempool's best
//! transactions, instantly or on an interval; a consensus driver (the
//! validators issue) replaces it, proposing from [`ChainWriter::propose`] and
//! committing decided blocks through the same writer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cairn_chain::execute::{InvalidTxPolicy, Prechecked};
use cairn_chain::{
    Block, BlockHeader, Chain, ChainError, CommitCertificate, ExecutedBlock, Receipt, StateDb,
};
use cairn_host_api::world::{Address, H256};
use cairn_state::RocksStore;

/// A block executed on the node's head, not yet committed.
pub type NodeExecuted = ExecutedBlock<<RocksStore as StateDb>::Prepared>;

use crate::envelope::NodeTx;
use crate::shared::NodeShared;
use crate::txpool::PooledTx;

/// A committed block as the RPC sees it: the block, its receipts and, when
/// known (blocks this node produced: admission recovered them), each
/// transaction's sender.
#[derive(Debug)]
pub struct CommittedBlock {
    /// The block.
    pub block: Block,
    /// Its receipts.
    pub receipts: Vec<Receipt>,
    /// The sender of each transaction, in block order; empty if not known.
    pub senders: Vec<Address>,
}

impl CommittedBlock {
    /// The sender of transaction `index`: known, or recovered now.
    ///
    /// # Errors
    ///
    /// A transaction whose signature does not recover (a corrupt store).
    pub fn sender(&self, index: usize) -> Result<Address, ChainError> {
        if let Some(sender) = self.senders.get(index) {
            return Ok(*sender);
        }
        let tx = self.block.transactions.get(index).ok_or_else(|| {
            ChainError::from(cairn_chain::NodeFailure::Corrupt {
                what: format!("block {}", self.block.header.number),
                reason: format!("no transaction {index}"),
            })
        })?;
        tx.recover_sender().map_err(|e| {
            ChainError::from(cairn_chain::NodeFailure::Corrupt {
                what: format!("transaction {index} of block {}", self.block.header.number),
                reason: e.to_string(),
            })
        })
    }

    /// Every sender, in block order.
    ///
    /// # Errors
    ///
    /// As [`CommittedBlock::sender`].
    pub fn all_senders(&self) -> Result<Vec<Address>, ChainError> {
        (0..self.block.transactions.len())
            .map(|i| self.sender(i))
            .collect()
    }
}

/// Wakes the producer (a transaction arrived) or stops it.
#[derive(Debug, Default)]
pub struct Wakeup {
    state: Mutex<WakeState>,
    signal: Condvar,
}

#[derive(Debug, Default)]
struct WakeState {
    notified: bool,
    stop: bool,
}

/// Why [`Wakeup::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Work may be waiting.
    Notified,
    /// The timeout passed.
    Timeout,
    /// Stop.
    Stop,
}

impl Wakeup {
    fn lock(&self) -> std::sync::MutexGuard<'_, WakeState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Work may be waiting.
    pub fn notify(&self) {
        self.lock().notified = true;
        self.signal.notify_one();
    }

    /// Asks the producer to stop after the block in flight.
    pub fn stop(&self) {
        self.lock().stop = true;
        self.signal.notify_all();
    }

    /// Whether a stop was asked for.
    pub fn stopping(&self) -> bool {
        self.lock().stop
    }

    /// Waits for a notification, a stop, or `timeout` (forever if `None`).
    pub fn wait(&self, timeout: Option<Duration>) -> Wake {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.lock();
        loop {
            if state.stop {
                return Wake::Stop;
            }
            if state.notified {
                state.notified = false;
                return Wake::Notified;
            }
            match deadline {
                None => {
                    state = self
                        .signal
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Wake::Timeout;
                    }
                    state = self
                        .signal
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
        }
    }
}

/// The chain's one writer, with what follows each commit.
#[derive(Debug)]
pub struct ChainWriter {
    chain: Chain<RocksStore>,
    shared: Arc<NodeShared>,
    beneficiary: Address,
}

/// Seconds since the Unix epoch by the wall clock.
pub fn wall_clock_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl ChainWriter {
    /// The writer of `chain`, publishing through `shared`.
    pub fn new(chain: Chain<RocksStore>, shared: Arc<NodeShared>, beneficiary: Address) -> Self {
        Self {
            chain,
            shared,
            beneficiary,
        }
    }

    /// The last committed header.
    pub fn head(&self) -> &BlockHeader {
        self.chain.head()
    }

    /// What the node shares with the RPC (mempool, events, metrics).
    pub fn shared(&self) -> &Arc<NodeShared> {
        &self.shared
    }

    /// The next block's transactions: the mempool's best pending ones, up to
    /// the block gas limit and `max_txs`. They stay pooled until committed.
    pub fn propose(&self, max_txs: usize) -> Vec<Arc<PooledTx>> {
        let gas_limit = self.chain.genesis().block_gas_limit;
        self.shared.lock_pool().best(gas_limit, max_txs)
    }

    /// The timestamp of a block made now: wall-clock seconds, never below the parent's.
    pub fn next_timestamp(&self) -> u64 {
        wall_clock_seconds().max(self.chain.head().timestamp)
    }

    /// Executes and commits the next block from `txs` (admitted by the
    /// mempool, senders known); transactions that fail admission against the
    /// block's state are left out. Then the mempool drops what the block
    /// used, subscribers hear of the block, and the metrics move.
    ///
    /// # Errors
    ///
    /// Node failures (stop: nothing was committed); an invalid block (a bug
    /// of the producer: the transactions are dropped from the mempool).
    pub fn produce(
        &mut self,
        timestamp: u64,
        txs: &[Arc<PooledTx>],
    ) -> Result<Arc<CommittedBlock>, ChainError> {
        let transactions: Vec<NodeTx> = txs.iter().map(|t| t.tx.clone()).collect();
        // The mempool ran the chain's stateless checks and recovered every
        // sender at admission: no second recovery here.
        let prechecked = txs.iter().map(|t| Ok(t.sender)).collect();
        let started = Instant::now();
        let executed = self.chain.execute_block_prechecked(
            timestamp,
            self.beneficiary,
            transactions,
            prechecked,
            InvalidTxPolicy::Skip,
            false,
        );
        let mut executed = match executed {
            Ok(executed) => executed,
            Err(error) => {
                if !error.is_node_failure() {
                    self.forget(txs);
                }
                return Err(error);
            }
        };
        let execution = started.elapsed();
        let rejected = std::mem::take(&mut executed.rejected);
        let committing = Instant::now();
        let (block, receipts) = self.chain.commit(executed)?;
        let commit = committing.elapsed();
        self.finish(block, receipts, txs, &rejected, execution, commit)
    }

    /// The chain (reads on the writer thread).
    pub fn chain(&self) -> &Chain<RocksStore> {
        &self.chain
    }

    /// The block's beneficiary.
    pub fn beneficiary(&self) -> Address {
        self.beneficiary
    }

    /// Executes a block of `txs` on the head without committing it
    /// (consensus: a proposal to build or to check).
    ///
    /// # Errors
    ///
    /// As [`Chain::execute_block_prechecked`].
    pub fn execute(
        &self,
        timestamp: u64,
        beneficiary: Address,
        txs: Vec<NodeTx>,
        prechecked: Prechecked,
        policy: InvalidTxPolicy,
    ) -> Result<NodeExecuted, ChainError> {
        self.chain
            .execute_block_prechecked(timestamp, beneficiary, txs, prechecked, policy, false)
    }

    /// Commits a block the validators decided, with its certificate, in one
    /// atomic write; then the mempool drops what it included, subscribers
    /// hear of it, and the metrics move. `senders` are the block's
    /// transactions' senders, in order.
    ///
    /// # Errors
    ///
    /// A certificate that does not prove the block; node failures.
    pub fn commit_decided(
        &mut self,
        executed: NodeExecuted,
        senders: Vec<Address>,
        certificate: &CommitCertificate,
        execution: std::time::Duration,
    ) -> Result<Arc<CommittedBlock>, ChainError> {
        let committing = Instant::now();
        let (block, receipts) = self.chain.commit_certified(executed, certificate)?;
        let commit = committing.elapsed();
        let included: Vec<H256> = block.transactions.iter().map(|t| t.hash()).collect();
        let touched = senders.clone();
        self.settle(
            (block, receipts, senders),
            &included,
            &touched,
            execution,
            commit,
        )
    }

    fn finish(
        &self,
        block: Block,
        receipts: Vec<Receipt>,
        txs: &[Arc<PooledTx>],
        rejected: &cairn_chain::Rejected,
        execution: std::time::Duration,
        commit: std::time::Duration,
    ) -> Result<Arc<CommittedBlock>, ChainError> {
        let rejected_index: BTreeSet<usize> = rejected.iter().map(|(i, _)| *i).collect();
        for (index, reason) in rejected {
            tracing::warn!(
                tx = %cairn_chain::codec::to_hex(txs[*index].hash),
                %reason,
                "transaction left out of block {}",
                block.header.number
            );
        }
        let senders: Vec<Address> = txs
            .iter()
            .enumerate()
            .filter(|(i, _)| !rejected_index.contains(i))
            .map(|(_, t)| t.sender)
            .collect();
        let included: Vec<H256> = txs.iter().map(|t| t.hash).collect();
        let touched: Vec<Address> = txs.iter().map(|t| t.sender).collect();
        self.settle(
            (block, receipts, senders),
            &included,
            &touched,
            execution,
            commit,
        )
    }

    /// After a block is committed: the mempool drops `included` (and
    /// re-reads the nonces of `touched` accounts), the metrics move, and
    /// subscribers hear of the block.
    fn settle(
        &self,
        (block, receipts, senders): (Block, Vec<Receipt>, Vec<Address>),
        included: &[H256],
        touched: &[Address],
        execution: std::time::Duration,
        commit: std::time::Duration,
    ) -> Result<Arc<CommittedBlock>, ChainError> {
        let mut accounts = BTreeMap::new();
        for sender in touched {
            if let std::collections::btree_map::Entry::Vacant(entry) = accounts.entry(*sender) {
                entry.insert(self.chain.account(sender)?);
            }
        }
        {
            let mut pool = self.shared.lock_pool();
            let dropped = pool.on_block(included.iter().copied(), &accounts);
            for hash in dropped {
                tracing::debug!(tx = %cairn_chain::codec::to_hex(hash), "dropped from the mempool after a block");
            }
            self.shared
                .metrics
                .record_mempool(pool.len(), pool.pending_len());
        }
        self.shared.metrics.record_block(
            block.header.number,
            block.transactions.len(),
            block.header.gas_used,
            execution,
            commit,
        );
        tracing::debug!(
            number = block.header.number,
            txs = block.transactions.len(),
            gas_used = block.header.gas_used,
            execution_ms = execution.as_millis(),
            commit_ms = commit.as_millis(),
            "block committed"
        );
        let committed = Arc::new(CommittedBlock {
            block,
            receipts,
            senders,
        });
        self.shared.publish(Arc::clone(&committed));
        Ok(committed)
    }

    /// Drops `txs` from the mempool (refused by the chain).
    pub(crate) fn forget(&self, txs: &[Arc<PooledTx>]) {
        let mut pool = self.shared.lock_pool();
        for tx in txs {
            pool.remove(&tx.hash);
        }
    }

    /// Gives the chain back (shutdown).
    pub fn into_chain(self) -> Chain<RocksStore> {
        self.chain
    }
}

/// What drives block production on the writer thread. The node runs one;
/// the validators issue brings a consensus driver.
pub trait BlockDriver: Send + 'static {
    /// Produces blocks through `writer` until `wakeup` says stop.
    ///
    /// # Errors
    ///
    /// A node failure: the node stops and exits non-zero.
    fn run(self: Box<Self>, writer: &mut ChainWriter, wakeup: &Wakeup) -> Result<(), ChainError>;
}

/// A single node's producer: a block as soon as transactions wait (taking
/// all that wait, up to the block's limits), or one every `block_time`.
#[derive(Debug, Clone)]
pub struct LocalProducer {
    /// `None`: instant blocks.
    pub block_time: Option<Duration>,
    /// Most transactions per block.
    pub max_txs: usize,
}

impl BlockDriver for LocalProducer {
    fn run(self: Box<Self>, writer: &mut ChainWriter, wakeup: &Wakeup) -> Result<(), ChainError> {
        match self.block_time {
            None => loop {
                let txs = writer.propose(self.max_txs);
                if txs.is_empty() {
                    if wakeup.wait(None) == Wake::Stop {
                        return Ok(());
                    }
                    continue;
                }
                if wakeup.stopping() {
                    return Ok(());
                }
                produce_or_stop(writer, &txs)?;
            },
            Some(interval) => {
                let mut next = Instant::now() + interval;
                loop {
                    let now = Instant::now();
                    if now < next {
                        if wakeup.wait(Some(next - now)) == Wake::Stop {
                            return Ok(());
                        }
                        continue;
                    }
                    next += interval;
                    if next < Instant::now() {
                        // Blocks took longer than the interval: do not
                        // produce a burst to catch up.
                        next = Instant::now() + interval;
                    }
                    let txs = writer.propose(self.max_txs);
                    produce_or_stop(writer, &txs)?;
                }
            }
        }
    }
}

fn produce_or_stop(writer: &mut ChainWriter, txs: &[Arc<PooledTx>]) -> Result<(), ChainError> {
    let timestamp = writer.next_timestamp();
    match writer.produce(timestamp, txs) {
        Ok(_) => Ok(()),
        Err(error) if error.is_node_failure() => Err(error),
        Err(error) => {
            tracing::error!(%error, "block refused by the chain; its transactions were dropped");
            Ok(())
        }
    }
}
