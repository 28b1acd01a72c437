//! What the block producer and the RPC share: the chain's read handle, the
//! mempool, new-block events, metrics, and the producer's wake-up.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use cairn_chain::admission::check_stateless;
use cairn_chain::{ChainError, ChainReader};
use cairn_host_api::world::H256;
use cairn_state::RocksBackend;
use cairn_state::StoreReader;
use tokio::sync::broadcast;

use crate::envelope::{NodeTx, encoded_len};
use crate::metrics::NodeMetrics;
use crate::producer::{CommittedBlock, Wakeup};
use crate::txpool::{Added, PoolError, PooledTx, TxPool};

/// The read handle of the node's chain.
pub type NodeReader = ChainReader<StoreReader<RocksBackend>>;

/// Why a transaction was not admitted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// One of the chain's admission checks failed.
    #[error(transparent)]
    Admission(#[from] cairn_chain::AdmissionError),
    /// The mempool refused it.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// Reading the sender's account failed.
    #[error(transparent)]
    Node(#[from] ChainError),
}

/// Shared between the writer thread and the RPC.
#[derive(Debug)]
pub struct NodeShared {
    /// Reads pinned to committed blocks.
    pub reader: NodeReader,
    pool: Mutex<TxPool>,
    events: broadcast::Sender<Arc<CommittedBlock>>,
    /// Metrics.
    pub metrics: Arc<NodeMetrics>,
    /// Wakes the producer.
    pub wakeup: Arc<Wakeup>,
    recent: Mutex<VecDeque<Arc<CommittedBlock>>>,
    relay:
        std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<crate::consensus::relay::RelayTx>>,
}

/// How many recent blocks the RPC answers from memory.
const RECENT_BLOCKS: usize = 128;

impl NodeShared {
    /// Shared state over `reader` and `pool`.
    pub fn new(reader: NodeReader, pool: TxPool, metrics: Arc<NodeMetrics>) -> Arc<Self> {
        let (events, _) = broadcast::channel(1024);
        Arc::new(Self {
            reader,
            pool: Mutex::new(pool),
            events,
            metrics,
            wakeup: Arc::new(Wakeup::default()),
            recent: Mutex::new(VecDeque::with_capacity(RECENT_BLOCKS)),
            relay: std::sync::OnceLock::new(),
        })
    }

    /// Relays newly admitted transactions to these (validators).
    pub fn set_relay(
        &self,
        relay: tokio::sync::mpsc::UnboundedSender<crate::consensus::relay::RelayTx>,
    ) {
        let _ = self.relay.set(relay);
    }

    /// Relays a newly admitted transaction (no-op without a relay).
    pub fn relay(&self, method: &'static str, raw: &[u8]) {
        if let Some(relay) = self.relay.get() {
            let _ = relay.send(crate::consensus::relay::RelayTx {
                method,
                raw: raw.to_vec(),
            });
        }
    }

    /// The mempool, locked.
    pub fn lock_pool(&self) -> MutexGuard<'_, TxPool> {
        self.pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// New committed blocks, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedBlock>> {
        self.events.subscribe()
    }

    pub(crate) fn publish(&self, block: Arc<CommittedBlock>) {
        {
            let mut recent = self.lock_recent();
            if recent.len() == RECENT_BLOCKS {
                recent.pop_front();
            }
            recent.push_back(Arc::clone(&block));
        }
        // No subscriber is fine.
        let _ = self.events.send(block);
    }

    fn lock_recent(&self) -> MutexGuard<'_, VecDeque<Arc<CommittedBlock>>> {
        self.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Block `number` with its receipts, from memory if recent, else from
    /// the store; `None` if not committed (as of the head now).
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn block(&self, number: u64) -> Result<Option<Arc<CommittedBlock>>, ChainError> {
        if let Some(found) = self
            .lock_recent()
            .iter()
            .rev()
            .find(|b| b.block.header.number == number)
        {
            return Ok(Some(Arc::clone(found)));
        }
        let snapshot = self.reader.at_head();
        let (Some(block), Some(receipts)) = (snapshot.block(number)?, snapshot.receipts(number)?)
        else {
            return Ok(None);
        };
        Ok(Some(Arc::new(CommittedBlock {
            block,
            receipts,
            senders: Vec::new(),
        })))
    }

    /// Admits a transaction: the chain's stateless checks and sender
    /// recovery (outside the pool lock), then the pool's checks against the
    /// sender's account at the head. Wakes the producer if it is pending.
    ///
    /// # Errors
    ///
    /// Why it was refused; nothing changed then.
    pub fn submit(&self, tx: NodeTx) -> Result<(H256, Added), SubmitError> {
        let genesis = self.reader.genesis();
        check_stateless(
            &tx,
            encoded_len(&tx),
            genesis.chain_id,
            genesis.block_gas_limit,
        )?;
        let sender = tx
            .recover_sender()
            .map_err(cairn_chain::AdmissionError::BadSignature)?;
        let pooled = PooledTx::new(tx, sender);
        let hash = pooled.hash;
        let added = {
            let mut pool = self.lock_pool();
            // Read under the lock: a block committing meanwhile updates the
            // pool only after this add, so a stale view is corrected then.
            let account = self.reader.at_head().account(&sender)?;
            let added = pool.add(pooled, &account)?;
            self.metrics
                .mempool
                .set(i64::try_from(pool.len()).unwrap_or(i64::MAX));
            added
        };
        if added.pending {
            self.wakeup.notify();
        }
        Ok((hash, added))
    }
}
