//! The mempool: signed transactions waiting for a block.
//!
//! Policy (the README's "Mempool" section says the same for users):
//!
//! - **Admission** runs the chain's own checks first (size, chain id, gas
//!   limits, signature: [`cairn_chain::admission::check_stateless`] and
//!   sender recovery, done by the caller before the pool lock), then the
//!   pool's: nonce not below the account's, not beyond the sender's window
//!   ([`PoolConfig::max_per_sender`] nonces ahead), gas price at least
//!   [`PoolConfig::min_gas_price`], and the sender's balance covering this
//!   transaction's most possible cost plus that of its earlier pooled
//!   transactions.
//! - **Order.** Per sender, by nonce. A transaction whose nonce follows the
//!   account's without a gap is *pending* (executable); one after a gap is
//!   *queued* until the gap fills. A block takes pending transactions, the
//!   highest gas price first across senders (arrival order among equals),
//!   each sender's in nonce order.
//! - **Replacement.** Same sender and nonce: only at a gas price at least
//!   [`PoolConfig::price_bump_percent`] higher.
//! - **Caps.** At most [`PoolConfig::max_per_sender`] per sender (the nonce
//!   window) and [`PoolConfig::max_txs`] in all. When full, a new
//!   transaction evicts the cheapest *last* transaction of some sender (a
//!   tail, so no sender is left with a gap) if it pays more; otherwise it is
//!   refused.
//! - **After a block** ([`TxPool::on_block`]): included and rejected
//!   transactions leave; each sender of the block is revalidated against its
//!   new account (stale nonces dropped, transactions the balance no longer
//!   covers dropped).
//! - **Views.** [`TxPool::pending_nonce`] and [`TxPool::pending_cost`] give
//!   the `pending` nonce and balance.
//!
//! The pool is plain synchronous data behind the caller's lock: the RPC
//! adds, the block producer (or, later, a consensus proposer) takes
//! ([`TxPool::best`]) and reports what was committed.

use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use cairn_chain::admission::max_cost;
use cairn_host_api::world::{Account, Address, H256, U256};

use crate::envelope::NodeTx;

/// Limits and rules of the pool.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    /// Most transactions in the pool.
    pub max_txs: usize,
    /// Most transactions per sender, and how far past the account nonce a
    /// nonce may be.
    pub max_per_sender: u64,
    /// How much higher (in percent) a replacement's gas price must be.
    pub price_bump_percent: u64,
    /// Lowest accepted gas price.
    pub min_gas_price: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_txs: 16_384,
            max_per_sender: 1_024,
            price_bump_percent: 10,
            min_gas_price: 0,
        }
    }
}

/// A pooled transaction with what admission learned about it.
#[derive(Debug)]
pub struct PooledTx {
    /// The transaction.
    pub tx: NodeTx,
    /// Its hash.
    pub hash: H256,
    /// Its recovered sender.
    pub sender: Address,
    /// Gas limit x gas price + value.
    pub cost: U256,
    /// Arrival order, for fairness among equal prices.
    seq: u64,
}

impl PooledTx {
    /// Wraps an admitted transaction from `sender`.
    pub fn new(tx: NodeTx, sender: Address) -> Self {
        Self {
            hash: tx.hash(),
            cost: max_cost(&tx),
            tx,
            sender,
            seq: 0,
        }
    }

    fn nonce(&self) -> u64 {
        self.tx.nonce()
    }

    fn price(&self) -> u64 {
        self.tx.gas_price()
    }
}

/// Why the pool refused a transaction. The messages are go-ethereum's,
/// which Ethereum client libraries match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The same transaction is already pooled.
    #[error("already known")]
    AlreadyKnown,
    /// The nonce was used already.
    #[error("nonce too low: next nonce {next}, tx nonce {got}")]
    NonceTooLow {
        /// The account's nonce.
        next: u64,
        /// The transaction's.
        got: u64,
    },
    /// The nonce is beyond the sender's window.
    #[error(
        "nonce too high: next nonce {next}, tx nonce {got}, at most {max_ahead} ahead are queued"
    )]
    NonceTooHigh {
        /// The account's nonce.
        next: u64,
        /// The transaction's.
        got: u64,
        /// The window.
        max_ahead: u64,
    },
    /// A replacement that does not pay enough more.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    /// Gas price below the pool's minimum.
    #[error("transaction underpriced: gas price {got}, minimum {min}")]
    Underpriced {
        /// The minimum.
        min: u64,
        /// The transaction's.
        got: u64,
    },
    /// The balance does not cover the transaction (and the sender's earlier pooled ones).
    #[error(
        "insufficient funds for gas * price + value: balance {balance}, tx cost {cost}, overshot {overshot}"
    )]
    InsufficientFunds {
        /// What is left of the balance after the sender's earlier pooled transactions.
        balance: U256,
        /// This transaction's most possible cost.
        cost: U256,
        /// By how much it falls short.
        overshot: U256,
    },
    /// The pool is full and the transaction pays no more than the cheapest evictable one.
    #[error("txpool is full")]
    Full,
}

/// What adding a transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// Whether the transaction is executable now (no nonce gap).
    pub pending: bool,
    /// The transaction it replaced.
    pub replaced: Option<H256>,
    /// Transactions evicted to make room.
    pub evicted: Vec<H256>,
}

#[derive(Debug, Default)]
struct SenderTxs {
    /// The account nonce and balance as of the pool's last look.
    account: Account,
    txs: BTreeMap<u64, Arc<PooledTx>>,
}

impl SenderTxs {
    /// Nonces from the account's without a gap.
    fn pending(&self) -> impl Iterator<Item = &Arc<PooledTx>> {
        let start = self.account.nonce;
        self.txs
            .range(start..)
            .enumerate()
            .take_while(move |(i, (nonce, _))| {
                u64::try_from(*i).is_ok_and(|i| start.checked_add(i) == Some(**nonce))
            })
            .map(|(_, (_, tx))| tx)
    }
}

/// The pool. Not thread-safe by itself: the node keeps it behind a mutex.
#[derive(Debug, Default)]
pub struct TxPool {
    config: PoolConfig,
    senders: BTreeMap<Address, SenderTxs>,
    by_hash: BTreeMap<H256, (Address, u64)>,
    next_seq: u64,
}

impl TxPool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// The rules in force.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Transactions in the pool.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Executable transactions (no nonce gap before them).
    pub fn pending_len(&self) -> usize {
        self.senders.values().map(|s| s.pending().count()).sum()
    }

    /// A pooled transaction by hash.
    pub fn get(&self, hash: &H256) -> Option<Arc<PooledTx>> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.senders.get(sender)?.txs.get(nonce).cloned()
    }

    /// The next nonce of `sender` counting its pending transactions, given
    /// its account nonce at the head.
    pub fn pending_nonce(&self, sender: &Address, account_nonce: u64) -> u64 {
        let Some(txs) = self.senders.get(sender) else {
            return account_nonce;
        };
        let mut next = account_nonce;
        while txs.txs.contains_key(&next) {
            next = next.saturating_add(1);
        }
        next
    }

    /// The most `sender`'s pending transactions can cost, from its account
    /// nonce at the head on.
    pub fn pending_cost(&self, sender: &Address, account_nonce: u64) -> U256 {
        let Some(txs) = self.senders.get(sender) else {
            return U256::zero();
        };
        let mut total = U256::zero();
        let mut next = account_nonce;
        while let Some(tx) = txs.txs.get(&next) {
            total = total.saturating_add(tx.cost);
            next = next.saturating_add(1);
        }
        total
    }

    /// Adds `tx` (the chain's stateless checks passed, sender recovered),
    /// judged against its sender's `account` at the head.
    ///
    /// # Errors
    ///
    /// A [`PoolError`]; nothing changes then.
    pub fn add(&mut self, mut tx: PooledTx, account: &Account) -> Result<Added, PoolError> {
        if self.by_hash.contains_key(&tx.hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let (nonce, price) = (tx.nonce(), tx.price());
        if nonce < account.nonce {
            return Err(PoolError::NonceTooLow {
                next: account.nonce,
                got: nonce,
            });
        }
        let window = self.config.max_per_sender.max(1);
        if nonce - account.nonce >= window {
            return Err(PoolError::NonceTooHigh {
                next: account.nonce,
                got: nonce,
                max_ahead: window,
            });
        }
        if price < self.config.min_gas_price {
            return Err(PoolError::Underpriced {
                min: self.config.min_gas_price,
                got: price,
            });
        }
        let sender = tx.sender;
        let existing = self.senders.get(&sender);
        let replaced = existing.and_then(|s| s.txs.get(&nonce)).cloned();
        if let Some(old) = &replaced {
            let needed = u128::from(old.price())
                .saturating_mul(u128::from(100 + self.config.price_bump_percent.min(1_000)));
            if u128::from(price).saturating_mul(100) < needed {
                return Err(PoolError::ReplacementUnderpriced);
            }
        }
        let earlier: U256 = existing
            .map(|s| {
                s.txs
                    .range(account.nonce..nonce)
                    .fold(U256::zero(), |sum, (_, t)| sum.saturating_add(t.cost))
            })
            .unwrap_or_default();
        let available = account.balance.saturating_sub(earlier);
        if tx.cost > available {
            return Err(PoolError::InsufficientFunds {
                balance: available,
                cost: tx.cost,
                overshot: tx.cost - available,
            });
        }
        let mut evicted = Vec::new();
        if replaced.is_none() && self.len() >= self.config.max_txs {
            match self.cheapest_tail() {
                Some(victim)
                    if victim.price() < price
                        && !(victim.sender == sender && victim.nonce() < nonce) =>
                {
                    self.remove(&victim.hash);
                    evicted.push(victim.hash);
                }
                _ => return Err(PoolError::Full),
            }
        }
        tx.seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let hash = tx.hash;
        let entry = self.senders.entry(sender).or_default();
        entry.account = account.clone();
        if let Some(old) = entry.txs.insert(nonce, Arc::new(tx)) {
            self.by_hash.remove(&old.hash);
        }
        self.by_hash.insert(hash, (sender, nonce));
        let pending = entry.pending().any(|t| t.hash == hash);
        Ok(Added {
            pending,
            replaced: replaced.map(|old| old.hash),
            evicted,
        })
    }

    /// The cheapest last transaction of any sender (latest arrival among equals).
    fn cheapest_tail(&self) -> Option<Arc<PooledTx>> {
        self.senders
            .values()
            .filter_map(|s| s.txs.values().next_back())
            .min_by_key(|t| (t.price(), std::cmp::Reverse(t.seq)))
            .cloned()
    }

    /// Removes a transaction (a later one of its sender becomes queued).
    pub fn remove(&mut self, hash: &H256) -> Option<Arc<PooledTx>> {
        let (sender, nonce) = self.by_hash.remove(hash)?;
        let entry = self.senders.get_mut(&sender)?;
        let removed = entry.txs.remove(&nonce);
        if entry.txs.is_empty() {
            self.senders.remove(&sender);
        }
        removed
    }

    /// Pending transactions for the next block, best first: the highest gas
    /// price across senders, each sender's in nonce order, until their gas
    /// limits would exceed `gas_limit` or `max_txs` are taken. Nothing is
    /// removed: [`TxPool::on_block`] does that once the block commits.
    pub fn best(&self, gas_limit: u64, max_txs: usize) -> Vec<Arc<PooledTx>> {
        #[derive(PartialEq, Eq)]
        struct Head {
            price: u64,
            seq: std::cmp::Reverse<u64>,
            sender: Address,
            index: usize,
        }
        impl Ord for Head {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                (self.price, self.seq).cmp(&(other.price, other.seq))
            }
        }
        impl PartialOrd for Head {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        let runs: BTreeMap<Address, Vec<Arc<PooledTx>>> = self
            .senders
            .iter()
            .map(|(sender, s)| (*sender, s.pending().cloned().collect::<Vec<_>>()))
            .filter(|(_, run)| !run.is_empty())
            .collect();
        let head = |sender: Address, index: usize| {
            runs[&sender].get(index).map(|t| Head {
                price: t.price(),
                seq: std::cmp::Reverse(t.seq),
                sender,
                index,
            })
        };
        let mut heap: BinaryHeap<Head> = runs.keys().filter_map(|s| head(*s, 0)).collect();
        let mut out = Vec::new();
        let mut gas = 0u64;
        while let Some(top) = heap.pop() {
            if out.len() >= max_txs {
                break;
            }
            let tx = &runs[&top.sender][top.index];
            let Some(total) = gas
                .checked_add(tx.tx.gas_limit())
                .filter(|g| *g <= gas_limit)
            else {
                // This sender's later nonces cannot go before this one.
                continue;
            };
            gas = total;
            out.push(Arc::clone(tx));
            if let Some(next) = head(top.sender, top.index + 1) {
                heap.push(next);
            }
        }
        out
    }

    /// After a block committed: `removed` (its included transactions and
    /// those it left out) leave the pool, and every sender in `accounts`
    /// (the block's senders, with their accounts at the new head) is
    /// revalidated: transactions with a used nonce, or that the balance no
    /// longer covers, are dropped. Returns the hashes dropped by revalidation.
    pub fn on_block(
        &mut self,
        removed: impl IntoIterator<Item = H256>,
        accounts: &BTreeMap<Address, Account>,
    ) -> Vec<H256> {
        for hash in removed {
            self.remove(&hash);
        }
        let mut dropped = Vec::new();
        for (sender, account) in accounts {
            let Some(entry) = self.senders.get_mut(sender) else {
                continue;
            };
            entry.account = account.clone();
            let stale: Vec<u64> = entry.txs.range(..account.nonce).map(|(n, _)| *n).collect();
            let mut drop: Vec<u64> = stale;
            let mut spent = U256::zero();
            for (nonce, tx) in entry.txs.range(account.nonce..) {
                spent = spent.saturating_add(tx.cost);
                if spent > account.balance {
                    drop.push(*nonce);
                }
            }
            for nonce in drop {
                if let Some(tx) = entry.txs.remove(&nonce) {
                    self.by_hash.remove(&tx.hash);
                    dropped.push(tx.hash);
                }
            }
            if entry.txs.is_empty() {
                self.senders.remove(sender);
            }
        }
        dropped
    }

    /// Every pooled transaction, sender by sender in nonce order (for
    /// shutdown accounting and tests).
    pub fn all(&self) -> Vec<Arc<PooledTx>> {
        self.senders
            .values()
            .flat_map(|s| s.txs.values().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use cairn_chain::{SigningKey, Transaction, TxAction};

    use super::*;

    fn key(i: u8) -> SigningKey {
        SigningKey::from_seed(&[i])
    }

    fn tx(from: u8, nonce: u64, price: u64) -> PooledTx {
        let key = key(from);
        let signed = Transaction {
            chain_id: 1,
            nonce,
            gas_limit: 100_000,
            gas_price: price,
            value: U256::from(1u8),
            action: TxAction::Call {
                to: Address::repeat_byte(9),
                data: vec![],
            },
        }
        .sign(&key);
        PooledTx::new(signed.into(), key.address())
    }

    fn rich(nonce: u64) -> Account {
        Account {
            nonce,
            balance: U256::from(u64::MAX),
            code_hash: None,
        }
    }

    fn pool(max_txs: usize, max_per_sender: u64) -> TxPool {
        TxPool::new(PoolConfig {
            max_txs,
            max_per_sender,
            ..PoolConfig::default()
        })
    }

    #[test]
    fn nonce_order_with_a_queue_for_gaps() {
        let mut pool = pool(100, 16);
        let sender = key(1).address();
        assert!(!pool.add(tx(1, 2, 1), &rich(0)).unwrap().pending);
        assert_eq!(pool.pending_nonce(&sender, 0), 0);
        assert!(pool.add(tx(1, 0, 1), &rich(0)).unwrap().pending);
        assert_eq!(pool.pending_len(), 1);
        assert!(pool.add(tx(1, 1, 1), &rich(0)).unwrap().pending);
        assert_eq!(pool.pending_len(), 3, "the gap filled: 2 is pending now");
        assert_eq!(pool.pending_nonce(&sender, 0), 3);
        let best = pool.best(u64::MAX, usize::MAX);
        let nonces: Vec<u64> = best.iter().map(|t| t.nonce()).collect();
        assert_eq!(nonces, vec![0, 1, 2]);
    }

    #[test]
    fn stale_and_far_nonces_are_refused() {
        let mut pool = pool(100, 4);
        assert_eq!(
            pool.add(tx(1, 2, 1), &rich(3)),
            Err(PoolError::NonceTooLow { next: 3, got: 2 })
        );
        assert!(matches!(
            pool.add(tx(1, 7, 1), &rich(3)),
            Err(PoolError::NonceTooHigh { .. })
        ));
        assert!(pool.add(tx(1, 6, 1), &rich(3)).is_ok());
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn duplicates_and_replacements() {
        let mut pool = pool(100, 16);
        let first = tx(1, 0, 100);
        let hash = first.hash;
        pool.add(first, &rich(0)).unwrap();
        assert_eq!(
            pool.add(tx(1, 0, 100), &rich(0)),
            Err(PoolError::AlreadyKnown)
        );
        assert_eq!(
            pool.add(tx(1, 0, 109), &rich(0)),
            Err(PoolError::ReplacementUnderpriced)
        );
        let added = pool.add(tx(1, 0, 110), &rich(0)).unwrap();
        assert_eq!(added.replaced, Some(hash));
        assert!(pool.get(&hash).is_none());
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn balance_covers_earlier_pooled_txs() {
        let mut pool = pool(100, 16);
        let one = tx(1, 0, 1);
        let cost = one.cost;
        let account = Account {
            nonce: 0,
            balance: cost + cost - U256::from(1u8),
            code_hash: None,
        };
        pool.add(one, &account).unwrap();
        let err = pool.add(tx(1, 1, 1), &account).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("insufficient funds for gas * price + value: balance"),
            "{err}"
        );
        assert_eq!(pool.pending_cost(&key(1).address(), 0), cost);
    }

    #[test]
    fn a_full_pool_evicts_the_cheapest_tail_or_refuses() {
        let mut pool = pool(3, 16);
        pool.add(tx(1, 0, 5), &rich(0)).unwrap();
        pool.add(tx(1, 1, 5), &rich(0)).unwrap();
        let cheap = tx(2, 0, 2);
        let cheap_hash = cheap.hash;
        pool.add(cheap, &rich(0)).unwrap();
        assert_eq!(pool.add(tx(3, 0, 2), &rich(0)), Err(PoolError::Full));
        let added = pool.add(tx(3, 0, 3), &rich(0)).unwrap();
        assert_eq!(added.evicted, vec![cheap_hash]);
        assert_eq!(pool.len(), 3);
        // The cheapest tail now is sender 3's (price 3); a sender never evicts
        // its own earlier nonce to queue a later one behind a gap.
        assert_eq!(pool.add(tx(3, 1, 4), &rich(0)), Err(PoolError::Full));
    }

    #[test]
    fn best_orders_by_price_then_arrival_within_gas() {
        let mut pool = pool(100, 16);
        pool.add(tx(1, 0, 1), &rich(0)).unwrap();
        pool.add(tx(1, 1, 9), &rich(0)).unwrap();
        pool.add(tx(2, 0, 5), &rich(0)).unwrap();
        pool.add(tx(3, 0, 5), &rich(0)).unwrap();
        let order: Vec<(Address, u64)> = pool
            .best(u64::MAX, usize::MAX)
            .iter()
            .map(|t| (t.sender, t.nonce()))
            .collect();
        let (a, b, c) = (key(1).address(), key(2).address(), key(3).address());
        assert_eq!(order, vec![(b, 0), (c, 0), (a, 0), (a, 1)]);
        assert_eq!(pool.best(250_000, usize::MAX).len(), 2);
        assert_eq!(pool.best(u64::MAX, 1).len(), 1);
    }

    #[test]
    fn after_a_block_included_and_stale_txs_leave() {
        let mut pool = pool(100, 16);
        let zero = tx(1, 0, 1);
        let zero_hash = zero.hash;
        pool.add(zero, &rich(0)).unwrap();
        pool.add(tx(1, 1, 1), &rich(0)).unwrap();
        let other = tx(2, 0, 1);
        let other_hash = other.hash;
        pool.add(other, &rich(0)).unwrap();
        // Sender 2's nonce 0 was included through another node's block:
        // its pooled tx is stale now.
        let accounts = BTreeMap::from([(key(1).address(), rich(1)), (key(2).address(), rich(1))]);
        let dropped = pool.on_block([zero_hash], &accounts);
        assert_eq!(dropped, vec![other_hash]);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.pending_nonce(&key(1).address(), 1), 2);
        assert_eq!(pool.best(u64::MAX, usize::MAX).len(), 1);
    }
}
