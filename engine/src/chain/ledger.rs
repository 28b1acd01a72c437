//! [`Chain`]: blocks executed over the Merkleized store and committed with
//! their receipts and tx index in one atomic write.

use std::collections::BTreeSet;

use cairn_host_api::HOST_API_VERSION;
use cairn_host_api::world::{Account, Address, BackendError, H256, U256};
use cairn_state::{AuxWrites, Backend, PreparedCommit, StateError, Store};
use parity_scale_codec::{Decode, Encode};
use rayon::prelude::*;

use super::admission::{self, AdmissionError, intrinsic_gas};
use super::block::{Block, BlockHeader, Receipt, header_difference, receipts_root};
use super::genesis::Genesis;
use super::merkle::merkle_root;
use super::tx::{SignedTransaction, TxAction, contract_address, decode_exact};
use super::world::{BlockState, account_key};
use crate::runtime::{
    BlockContext, ExecOutcome, ExecStatus, Executor, Message, MessageKind, NodeError,
};

/// Gas a genesis contract's `deploy` export may use.
pub const GENESIS_DEPLOY_GAS: u64 = 1_000_000_000_000;

/// Auxiliary record: the resolved genesis (SCALE [`Genesis`]).
pub const AUX_GENESIS: &[u8] = b"chain/genesis";
/// Auxiliary record: the number of the last committed block (u64 big-endian).
pub const AUX_HEAD: &[u8] = b"chain/head";
const AUX_BLOCK: &[u8] = b"chain/block/";
const AUX_RECEIPTS: &[u8] = b"chain/receipts/";
const AUX_TX: &[u8] = b"chain/tx/";

/// Auxiliary key of block `number` (SCALE [`Block`]).
pub fn block_key(number: u64) -> Vec<u8> {
    [AUX_BLOCK, &number.to_be_bytes()[..]].concat()
}

/// Auxiliary key of block `number`'s receipts (SCALE `Vec<Receipt>`).
pub fn receipts_key(number: u64) -> Vec<u8> {
    [AUX_RECEIPTS, &number.to_be_bytes()[..]].concat()
}

/// Auxiliary key of the location of transaction `hash` (SCALE `(u64, u32)`:
/// block number, index in the block).
pub fn tx_key(hash: &H256) -> Vec<u8> {
    [AUX_TX, hash.as_bytes()].concat()
}

/// A failure of the chain layer. Contract failures are never errors: they are receipts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The state store failed (I/O, corruption): a node failure.
    #[error(transparent)]
    State(#[from] StateError),
    /// The engine failed (a node failure, not a contract outcome).
    #[error(transparent)]
    Node(#[from] NodeError),
    /// Reading the world state failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The data directory holds no chain.
    #[error("the data directory holds no chain; run `cairn init --genesis FILE` first")]
    NotInitialized,
    /// `init` on a data directory that already holds a chain.
    #[error("the data directory already holds a chain (head block {head})")]
    AlreadyInitialized {
        /// Its head.
        head: u64,
    },
    /// A genesis contract's deploy did not succeed.
    #[error("genesis contract `{name}` failed to deploy: {reason}")]
    GenesisDeploy {
        /// The contract.
        name: String,
        /// The status it ended with.
        reason: String,
    },
    /// A block's transaction fails admission.
    #[error("transaction {index} of block {number} is not admissible: {error}")]
    InvalidTransaction {
        /// Block number.
        number: u64,
        /// Index in the block.
        index: usize,
        /// Why.
        error: AdmissionError,
    },
    /// A block does not fit on the current head.
    #[error("block {number} does not extend the head: {reason}")]
    BadParent {
        /// Block number.
        number: u64,
        /// Why.
        reason: String,
    },
    /// Re-execution of a block gives a different header field.
    #[error(
        "block {number}: header field `{field}` is {expected} in the block but {computed} when executed"
    )]
    HeaderMismatch {
        /// Block number.
        number: u64,
        /// The field.
        field: &'static str,
        /// The block's value.
        expected: String,
        /// The value execution gives.
        computed: String,
    },
    /// A stored chain record does not decode.
    #[error("stored chain record {what} is corrupt: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// Why.
        reason: String,
    },
}

/// Transactions a producer left out: index in its input and the reason.
pub type Rejected = Vec<(usize, AdmissionError)>;

/// What to do with a transaction that fails admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidTxPolicy {
    /// Producing a block: leave it out and report it.
    Skip,
    /// Importing or replaying a block: the block is invalid.
    Reject,
}

impl InvalidTxPolicy {
    /// Applies the policy to transaction `index` of block `number` that
    /// failed admission: records it under `Skip`, fails the block under `Reject`.
    fn apply(
        self,
        rejected: &mut Rejected,
        number: u64,
        index: usize,
        error: AdmissionError,
    ) -> Result<(), ChainError> {
        match self {
            Self::Skip => {
                rejected.push((index, error));
                Ok(())
            }
            Self::Reject => Err(ChainError::InvalidTransaction {
                number,
                index,
                error,
            }),
        }
    }
}

/// A block executed but not yet committed.
#[derive(Debug)]
pub struct ExecutedBlock {
    /// The block, header complete.
    pub block: Block,
    /// One receipt per included transaction.
    pub receipts: Vec<Receipt>,
    /// Transactions left out (producer only): index in the input, reason.
    pub rejected: Rejected,
    /// State keys the block read (when recorded), for witnesses.
    pub reads: BTreeSet<Vec<u8>>,
    /// State writes of the block, by key.
    pub changes: cairn_state::StateChanges,
    prepared: PreparedCommit,
}

/// Parameters of one block's execution.
#[derive(Debug, Clone, Copy)]
pub struct BlockEnv {
    /// Block number.
    pub number: u64,
    /// Timestamp.
    pub timestamp: u64,
    /// Fee recipient.
    pub beneficiary: Address,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Chain id.
    pub chain_id: u64,
}

/// The outcome of executing a list of transactions into a [`BlockState`].
#[derive(Debug, Default)]
pub struct TxsOutcome {
    /// Included transactions.
    pub included: Vec<SignedTransaction>,
    /// Their receipts.
    pub receipts: Vec<Receipt>,
    /// Left-out transactions.
    pub rejected: Rejected,
    /// Gas used by the included ones.
    pub gas_used: u64,
}

fn fee(gas: u64, price: u64) -> U256 {
    U256::from(gas).saturating_mul(U256::from(price))
}

fn credit(
    state: &mut BlockState<'_, impl cairn_state::StateRead + ?Sized>,
    who: &Address,
    amount: U256,
) -> Result<(), BackendError> {
    if amount.is_zero() {
        return Ok(());
    }
    let mut account = state.account_or_default(who)?;
    account.balance = account.balance.saturating_add(amount);
    state.put_account(who, &account);
    Ok(())
}

/// Executes `txs` in order into `state`: parallel signature recovery, then
/// sequential admission and execution. Fees: the sender pays gas limit x
/// price up front, gets the unused part back, the beneficiary gets the rest.
/// An included failure keeps only the fee and the nonce bump.
///
/// # Errors
///
/// [`ChainError::InvalidTransaction`] under [`InvalidTxPolicy::Reject`];
/// node failures always.
pub fn execute_transactions<R: cairn_state::StateRead + ?Sized>(
    executor: &Executor,
    state: &mut BlockState<'_, R>,
    env: &BlockEnv,
    txs: Vec<SignedTransaction>,
    policy: InvalidTxPolicy,
) -> Result<TxsOutcome, ChainError> {
    let prechecked = precheck_transactions(&txs, env.chain_id, env.gas_limit);
    execute_prechecked(executor, state, env, txs, prechecked, policy)
}

/// Stateless admission checks and recovered senders of a block's
/// transactions, in order.
pub type Prechecked = Vec<Result<Address, AdmissionError>>;

/// Runs the stateless admission checks and recovers every sender, in
/// parallel on all cores: they are independent per transaction.
pub fn precheck_transactions(
    txs: &[SignedTransaction],
    chain_id: u64,
    block_gas_limit: u64,
) -> Prechecked {
    txs.par_iter()
        .map(|tx| {
            admission::check_stateless(tx, tx.encoded_size(), chain_id, block_gas_limit)?;
            Ok(tx.recover_sender()?)
        })
        .collect()
}

/// [`execute_transactions`] with the stateless checks already done
/// (`prechecked` from [`precheck_transactions`] over the same `txs`), so a
/// caller can recover the next block's senders while this one executes.
///
/// # Errors
///
/// As [`execute_transactions`].
pub fn execute_prechecked<R: cairn_state::StateRead + ?Sized>(
    executor: &Executor,
    state: &mut BlockState<'_, R>,
    env: &BlockEnv,
    txs: Vec<SignedTransaction>,
    prechecked: Prechecked,
    policy: InvalidTxPolicy,
) -> Result<TxsOutcome, ChainError> {
    assert_eq!(
        txs.len(),
        prechecked.len(),
        "prechecked results must match the transactions"
    );
    let context = BlockContext {
        number: env.number,
        timestamp: env.timestamp,
        chain_id: env.chain_id,
    };
    let mut out = TxsOutcome::default();
    for (index, (tx, sender)) in txs.into_iter().zip(prechecked).enumerate() {
        let admitted = sender.and_then(|sender| {
            let available = env.gas_limit.saturating_sub(out.gas_used);
            if tx.tx.gas_limit > available {
                return Err(AdmissionError::GasLimitAboveBlock {
                    gas_limit: tx.tx.gas_limit,
                    available,
                });
            }
            Ok(sender)
        });
        let sender = match admitted {
            Ok(sender) => sender,
            Err(error) => {
                policy.apply(&mut out.rejected, env.number, index, error)?;
                continue;
            }
        };
        let mut account = state.account_or_default(&sender)?;
        if let Err(error) = admission::check_sender(&tx, sender, &account) {
            policy.apply(&mut out.rejected, env.number, index, error)?;
            continue;
        }
        let receipt = execute_admitted(
            executor,
            state,
            &context,
            env,
            &tx,
            sender,
            &mut account,
            out.gas_used,
        )?;
        out.gas_used = receipt.cumulative_gas_used;
        out.receipts.push(receipt);
        out.included.push(tx);
    }
    Ok(out)
}

#[allow(
    clippy::too_many_arguments,
    reason = "one call site; the arguments are the block's and the tx's context"
)]
fn execute_admitted<R: cairn_state::StateRead + ?Sized>(
    executor: &Executor,
    state: &mut BlockState<'_, R>,
    context: &BlockContext,
    env: &BlockEnv,
    tx: &SignedTransaction,
    sender: Address,
    account: &mut Account,
    gas_before: u64,
) -> Result<Receipt, ChainError> {
    let intrinsic = intrinsic_gas(tx);
    // Admission checked balance >= max fee + value and nonce == account nonce.
    account.nonce = account.nonce.saturating_add(1);
    account.balance = account
        .balance
        .saturating_sub(fee(tx.tx.gas_limit, tx.tx.gas_price));
    state.put_account(&sender, account);

    let (target, kind, input) = match &tx.tx.action {
        TxAction::Call { to, data } => (*to, MessageKind::Call, data.clone()),
        TxAction::Deploy { code, data } => (
            contract_address(&sender, tx.tx.nonce),
            MessageKind::Deploy { code: code.clone() },
            data.clone(),
        ),
    };
    let message = Message {
        origin: sender,
        caller: sender,
        target,
        value: tx.tx.value,
        input,
        gas_limit: tx.tx.gas_limit.saturating_sub(intrinsic),
        kind,
    };
    let outcome: ExecOutcome = executor.execute(state, context, &message)?;
    if outcome.is_success() {
        state.apply(&outcome.changes);
    }
    let gas_used = intrinsic
        .saturating_add(outcome.gas_used)
        .min(tx.tx.gas_limit);
    credit(
        state,
        &sender,
        fee(tx.tx.gas_limit.saturating_sub(gas_used), tx.tx.gas_price),
    )?;
    credit(state, &env.beneficiary, fee(gas_used, tx.tx.gas_price))?;
    let created = matches!(tx.tx.action, TxAction::Deploy { .. }) && outcome.is_success();
    Ok(Receipt {
        status: outcome.status,
        gas_used,
        cumulative_gas_used: gas_before.saturating_add(gas_used),
        logs: outcome.logs,
        contract_address: created.then_some(target),
    })
}

/// Runs the genesis deploys and balances into `state`.
///
/// # Errors
///
/// [`ChainError::GenesisDeploy`] if a contract's deploy does not succeed.
pub fn apply_genesis<R: cairn_state::StateRead + ?Sized>(
    executor: &Executor,
    state: &mut BlockState<'_, R>,
    genesis: &Genesis,
) -> Result<(), ChainError> {
    for entry in &genesis.accounts {
        credit(state, &entry.address, entry.balance)?;
    }
    let context = BlockContext {
        number: 0,
        timestamp: genesis.timestamp,
        chain_id: genesis.chain_id,
    };
    for contract in &genesis.contracts {
        let message = Message {
            origin: contract.deployer,
            caller: contract.deployer,
            target: contract.address,
            value: U256::zero(),
            input: contract.input.clone(),
            gas_limit: GENESIS_DEPLOY_GAS,
            kind: MessageKind::Deploy {
                code: contract.code.clone(),
            },
        };
        let outcome = executor.execute(state, &context, &message)?;
        match &outcome.status {
            ExecStatus::Success { .. } => state.apply(&outcome.changes),
            other => {
                let reason = match &outcome.diagnostics {
                    Some(d) => d.message.clone(),
                    None => format!("{} ({other:?})", other.name()),
                };
                return Err(ChainError::GenesisDeploy {
                    name: contract.name.clone(),
                    reason,
                });
            }
        }
        credit(state, &contract.address, contract.balance)?;
    }
    Ok(())
}

fn decode_record<T: Decode>(what: impl Into<String>, bytes: &[u8]) -> Result<T, ChainError> {
    decode_exact(bytes).map_err(|e| ChainError::Corrupt {
        what: what.into(),
        reason: e.to_string(),
    })
}

/// A chain on a store: genesis, head, and block execution and commit.
#[derive(Debug)]
pub struct Chain<B: Backend> {
    store: Store<B>,
    executor: Executor,
    genesis: Genesis,
    head: BlockHeader,
}

impl<B: Backend> Chain<B> {
    /// Writes `genesis` into an empty store as version 0 (block 0).
    ///
    /// # Errors
    ///
    /// [`ChainError::AlreadyInitialized`] if the store holds a chain;
    /// genesis deploy failures; node failures. Nothing is written on error.
    pub fn init(
        mut store: Store<B>,
        executor: Executor,
        genesis: Genesis,
    ) -> Result<Self, ChainError> {
        if let Some(head) = store.get_aux(AUX_HEAD)? {
            let head = decode_record::<[u8; 8]>("head", &head)
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            return Err(ChainError::AlreadyInitialized { head });
        }
        let mut state = BlockState::new(&store, false);
        apply_genesis(&executor, &mut state, &genesis)?;
        let (changes, _) = state.finish();
        let prepared = store.prepare(0, &changes)?;
        let header = BlockHeader {
            parent_hash: H256::zero(),
            number: 0,
            timestamp: genesis.timestamp,
            beneficiary: Address::zero(),
            gas_limit: genesis.block_gas_limit,
            gas_used: 0,
            tx_root: merkle_root(Vec::<Vec<u8>>::new()),
            receipts_root: receipts_root(&[]),
            state_root: H256(prepared.root().0),
            schedule_hash: executor.config().schedule.hash(),
            host_api_version: HOST_API_VERSION,
        };
        let block = Block {
            header: header.clone(),
            transactions: Vec::new(),
        };
        let mut aux = AuxWrites::new();
        aux.insert(AUX_GENESIS.to_vec(), Some(genesis.encode()));
        aux.insert(block_key(0), Some(block.encode()));
        aux.insert(receipts_key(0), Some(Vec::<Receipt>::new().encode()));
        aux.insert(AUX_HEAD.to_vec(), Some(0u64.to_be_bytes().to_vec()));
        store.commit_prepared(prepared, &aux)?;
        Ok(Self {
            store,
            executor,
            genesis,
            head: header,
        })
    }

    /// Opens the chain a store holds, at its last committed block.
    ///
    /// # Errors
    ///
    /// [`ChainError::NotInitialized`] for an empty store; corruption.
    pub fn open(store: Store<B>, executor: Executor) -> Result<Self, ChainError> {
        let genesis_bytes = store
            .get_aux(AUX_GENESIS)?
            .ok_or(ChainError::NotInitialized)?;
        let genesis: Genesis = decode_record("genesis", &genesis_bytes)?;
        let head_bytes = store.get_aux(AUX_HEAD)?.ok_or(ChainError::NotInitialized)?;
        let number = u64::from_be_bytes(decode_record::<[u8; 8]>("head", &head_bytes)?);
        let block = read_block(&store, number)?.ok_or_else(|| ChainError::Corrupt {
            what: format!("block {number}"),
            reason: "missing".into(),
        })?;
        if store.latest_version() != Some(number) {
            return Err(ChainError::Corrupt {
                what: "head".into(),
                reason: format!(
                    "head block {number} but state version {:?}",
                    store.latest_version()
                ),
            });
        }
        Ok(Self {
            store,
            executor,
            genesis,
            head: block.header,
        })
    }

    /// The store.
    pub fn store(&self) -> &Store<B> {
        &self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> Store<B> {
        self.store
    }

    /// The executor.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The last committed header.
    pub fn head(&self) -> &BlockHeader {
        &self.head
    }

    /// An account at the head.
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn account(&self, address: &Address) -> Result<Account, ChainError> {
        match self.store.get(&account_key(address))? {
            None => Ok(Account::default()),
            Some(bytes) => decode_record(format!("account {address:?}"), &bytes),
        }
    }

    /// Block `number`, if committed.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    pub fn block(&self, number: u64) -> Result<Option<Block>, ChainError> {
        read_block(&self.store, number)
    }

    /// Receipts of block `number`, if committed.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    pub fn receipts(&self, number: u64) -> Result<Option<Vec<Receipt>>, ChainError> {
        read_receipts(&self.store, number)
    }

    /// Where transaction `hash` was included: block number and index.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    pub fn tx_location(&self, hash: &H256) -> Result<Option<(u64, u32)>, ChainError> {
        match self.store.get_aux(&tx_key(hash))? {
            None => Ok(None),
            Some(bytes) => decode_record("tx index", &bytes).map(Some),
        }
    }

    /// Runs `message` against the head state without committing anything
    /// (a dry run: `cairn query`, gas estimates).
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn query(&self, message: &Message) -> Result<ExecOutcome, ChainError> {
        let state = BlockState::new(&self.store, false);
        let context = BlockContext {
            number: self.head.number.saturating_add(1),
            timestamp: self.head.timestamp,
            chain_id: self.genesis.chain_id,
        };
        Ok(self.executor.execute(&state, &context, message)?)
    }

    fn env(&self, timestamp: u64, beneficiary: Address) -> BlockEnv {
        BlockEnv {
            number: self.head.number.saturating_add(1),
            timestamp,
            beneficiary,
            gas_limit: self.genesis.block_gas_limit,
            chain_id: self.genesis.chain_id,
        }
    }

    /// Executes the next block on top of the head without committing it.
    ///
    /// # Errors
    ///
    /// Admission failures under [`InvalidTxPolicy::Reject`], a timestamp
    /// before the parent's, node failures.
    pub fn execute_block(
        &self,
        timestamp: u64,
        beneficiary: Address,
        txs: Vec<SignedTransaction>,
        policy: InvalidTxPolicy,
        record_reads: bool,
    ) -> Result<ExecutedBlock, ChainError> {
        let prechecked = self.precheck(&txs);
        self.execute_block_prechecked(
            timestamp,
            beneficiary,
            txs,
            prechecked,
            policy,
            record_reads,
        )
    }

    /// Stateless admission checks and sender recovery of `txs` under this
    /// chain's parameters, on all cores.
    pub fn precheck(&self, txs: &[SignedTransaction]) -> Prechecked {
        precheck_transactions(txs, self.genesis.chain_id, self.genesis.block_gas_limit)
    }

    /// [`Chain::execute_block`] with `prechecked` from [`Chain::precheck`] of the same `txs`.
    ///
    /// # Errors
    ///
    /// As [`Chain::execute_block`].
    pub fn execute_block_prechecked(
        &self,
        timestamp: u64,
        beneficiary: Address,
        txs: Vec<SignedTransaction>,
        prechecked: Prechecked,
        policy: InvalidTxPolicy,
        record_reads: bool,
    ) -> Result<ExecutedBlock, ChainError> {
        let env = self.env(timestamp, beneficiary);
        if timestamp < self.head.timestamp {
            return Err(ChainError::BadParent {
                number: env.number,
                reason: format!(
                    "timestamp {timestamp} is before the parent's {}",
                    self.head.timestamp
                ),
            });
        }
        let mut state = BlockState::new(&self.store, record_reads);
        let outcome =
            execute_prechecked(&self.executor, &mut state, &env, txs, prechecked, policy)?;
        let (changes, reads) = state.finish();
        let prepared = self.store.prepare(env.number, &changes)?;
        let block = Block {
            header: BlockHeader {
                parent_hash: self.head.hash(),
                number: env.number,
                timestamp,
                beneficiary,
                gas_limit: env.gas_limit,
                gas_used: outcome.gas_used,
                tx_root: merkle_root(outcome.included.iter().map(Encode::encode)),
                receipts_root: receipts_root(&outcome.receipts),
                state_root: H256(prepared.root().0),
                schedule_hash: self.executor.config().schedule.hash(),
                host_api_version: HOST_API_VERSION,
            },
            transactions: outcome.included,
        };
        Ok(ExecutedBlock {
            block,
            receipts: outcome.receipts,
            rejected: outcome.rejected,
            reads,
            changes,
            prepared,
        })
    }

    /// Commits an executed block: state, block, receipts, tx index and head
    /// in one atomic write.
    ///
    /// # Errors
    ///
    /// Node failures; nothing is committed then.
    pub fn commit(&mut self, executed: ExecutedBlock) -> Result<(Block, Vec<Receipt>), ChainError> {
        let ExecutedBlock {
            block,
            receipts,
            prepared,
            ..
        } = executed;
        let number = block.header.number;
        let mut aux = AuxWrites::new();
        for (index, tx) in block.transactions.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            aux.insert(tx_key(&tx.hash()), Some((number, index).encode()));
        }
        aux.insert(block_key(number), Some(block.encode()));
        aux.insert(receipts_key(number), Some(receipts.encode()));
        aux.insert(AUX_HEAD.to_vec(), Some(number.to_be_bytes().to_vec()));
        self.store.commit_prepared(prepared, &aux)?;
        self.head = block.header.clone();
        Ok((block, receipts))
    }

    /// Produces the next block from `txs`: inadmissible ones are left out
    /// (and returned), the rest executed and committed.
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn produce_block(
        &mut self,
        timestamp: u64,
        beneficiary: Address,
        txs: Vec<SignedTransaction>,
    ) -> Result<(Block, Vec<Receipt>, Rejected), ChainError> {
        let mut executed =
            self.execute_block(timestamp, beneficiary, txs, InvalidTxPolicy::Skip, false)?;
        let rejected = std::mem::take(&mut executed.rejected);
        let (block, receipts) = self.commit(executed)?;
        Ok((block, receipts, rejected))
    }

    /// Produces blocks one after another, each `(timestamp, beneficiary,
    /// txs)`, recovering the senders of block n+1 on the other cores while
    /// block n executes (execution itself stays sequential). `on_block` sees
    /// each committed block, its receipts and the transactions left out.
    ///
    /// # Errors
    ///
    /// Node failures; blocks before the failing one stay committed.
    pub fn produce_blocks_pipelined(
        &mut self,
        blocks: Vec<(u64, Address, Vec<SignedTransaction>)>,
        mut on_block: impl FnMut(&Block, &[Receipt], &Rejected),
    ) -> Result<(), ChainError> {
        let mut blocks = blocks.into_iter();
        let Some(mut current) = blocks.next() else {
            return Ok(());
        };
        let mut prechecked = self.precheck(&current.2);
        loop {
            let next = blocks.next();
            let (chain_id, gas_limit) = (self.genesis.chain_id, self.genesis.block_gas_limit);
            let (produced, next_prechecked) = rayon::join(
                || {
                    let (timestamp, beneficiary, txs) = current;
                    let mut executed = self.execute_block_prechecked(
                        timestamp,
                        beneficiary,
                        txs,
                        prechecked,
                        InvalidTxPolicy::Skip,
                        false,
                    )?;
                    let rejected = std::mem::take(&mut executed.rejected);
                    let (block, receipts) = self.commit(executed)?;
                    Ok::<_, ChainError>((block, receipts, rejected))
                },
                || {
                    next.as_ref()
                        .map(|(_, _, txs)| precheck_transactions(txs, chain_id, gas_limit))
                },
            );
            let (block, receipts, rejected) = produced?;
            on_block(&block, &receipts, &rejected);
            match (next, next_prechecked) {
                (Some(block), Some(checked)) => {
                    current = block;
                    prechecked = checked;
                }
                _ => return Ok(()),
            }
        }
    }

    /// Checks that `header` can follow the head and runs under this node's rules.
    ///
    /// # Errors
    ///
    /// [`ChainError::BadParent`] or [`ChainError::HeaderMismatch`].
    pub fn check_extends_head(&self, header: &BlockHeader) -> Result<(), ChainError> {
        let expected_number = self.head.number.saturating_add(1);
        if header.number != expected_number {
            return Err(ChainError::BadParent {
                number: header.number,
                reason: format!("the next block is {expected_number}"),
            });
        }
        if header.parent_hash != self.head.hash() {
            return Err(ChainError::BadParent {
                number: header.number,
                reason: format!(
                    "parent hash {:?} is not the head's {:?}",
                    header.parent_hash,
                    self.head.hash()
                ),
            });
        }
        Ok(())
    }

    /// Imports a block produced elsewhere: re-executes it on the head and
    /// commits it only if every header field (roots included) matches.
    ///
    /// # Errors
    ///
    /// [`ChainError::BadParent`], [`ChainError::InvalidTransaction`],
    /// [`ChainError::HeaderMismatch`], node failures. Nothing is committed on error.
    pub fn import_block(&mut self, block: Block) -> Result<Vec<Receipt>, ChainError> {
        self.check_extends_head(&block.header)?;
        let executed = self.execute_block(
            block.header.timestamp,
            block.header.beneficiary,
            block.transactions.clone(),
            InvalidTxPolicy::Reject,
            false,
        )?;
        if let Some((field, expected, computed)) =
            header_difference(&block.header, &executed.block.header)
        {
            return Err(ChainError::HeaderMismatch {
                number: block.header.number,
                field,
                expected,
                computed,
            });
        }
        let (_, receipts) = self.commit(executed)?;
        Ok(receipts)
    }
}

/// Block `number` from a store's chain records.
///
/// # Errors
///
/// Node failures, corruption.
pub fn read_block<B: Backend>(store: &Store<B>, number: u64) -> Result<Option<Block>, ChainError> {
    match store.get_aux(&block_key(number))? {
        None => Ok(None),
        Some(bytes) => decode_record(format!("block {number}"), &bytes).map(Some),
    }
}

/// Receipts of block `number` from a store's chain records.
///
/// # Errors
///
/// Node failures, corruption.
pub fn read_receipts<B: Backend>(
    store: &Store<B>,
    number: u64,
) -> Result<Option<Vec<Receipt>>, ChainError> {
    match store.get_aux(&receipts_key(number))? {
        None => Ok(None),
        Some(bytes) => decode_record(format!("receipts of block {number}"), &bytes).map(Some),
    }
}

/// The genesis a store's chain was initialised with.
///
/// # Errors
///
/// [`ChainError::NotInitialized`], node failures, corruption.
pub fn read_genesis<B: Backend>(store: &Store<B>) -> Result<Genesis, ChainError> {
    let bytes = store
        .get_aux(AUX_GENESIS)?
        .ok_or(ChainError::NotInitialized)?;
    decode_record("genesis", &bytes)
}

/// The head block number of a store's chain.
///
/// # Errors
///
/// [`ChainError::NotInitialized`], node failures, corruption.
pub fn read_head<B: Backend>(store: &Store<B>) -> Result<u64, ChainError> {
    let bytes = store.get_aux(AUX_HEAD)?.ok_or(ChainError::NotInitialized)?;
    decode_record::<[u8; 8]>("head", &bytes).map(u64::from_be_bytes)
}
