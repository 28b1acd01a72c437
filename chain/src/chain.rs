//! [`Chain`]: the one writer of a chain. Executes blocks over a state
//! database and commits each with its receipts and tx index in one atomic
//! write; hands out [`ChainReader`]s for concurrent reads.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use cairn_engine::runtime::{BlockContext, ExecOutcome, Executor, Message};
use cairn_host_api::HOST_API_VERSION;
use cairn_host_api::world::{Account, Address, H256};
use cairn_state::{PreparedState, ReadThrough, StateChanges, StateDb, StateRead};
use parity_scale_codec::Encode;

use crate::block::{Block, BlockHeader, Receipt, header_difference, receipts_root};
use crate::certificate::{CommitCertificate, verify_certificate};
use crate::error::{ChainError, InvalidBlock, SetupError};
use crate::execute::{
    BlockEnv, InvalidTxPolicy, Prechecked, Rejected, apply_genesis, execute_prechecked,
    precheck_transactions,
};
use crate::genesis::Genesis;
use crate::merkle::merkle_root;
use crate::reader::ChainReader;
use crate::schema::{block_records, certificate_key, decode_record, genesis_records};
use crate::simulate::{Estimate, TxRequest, estimate_gas};
use crate::storage::BlockStore;
use crate::tx::Envelope;
use crate::world::{BlockState, account_key};

/// A block executed but not yet committed. `P` is the state database's
/// prepared commit, so committing does not execute or hash again.
#[derive(Debug)]
pub struct ExecutedBlock<P> {
    /// The block, header complete.
    pub block: Block,
    /// One receipt per included transaction.
    pub receipts: Vec<Receipt>,
    /// Transactions left out (producer only): index in the input, reason.
    pub rejected: Rejected,
    /// State keys the block read (when recorded), for witnesses.
    pub reads: BTreeSet<Vec<u8>>,
    /// State writes of the block, by key.
    pub changes: StateChanges,
    prepared: P,
}

/// The chain's one writer over a state database `S`: genesis, head, block
/// execution and commit.
#[derive(Debug)]
pub struct Chain<S> {
    state: S,
    executor: Arc<Executor>,
    genesis: Arc<Genesis>,
    head: BlockHeader,
    /// The head readers see; moved on after each commit.
    shared_head: Arc<RwLock<BlockHeader>>,
}

impl<S: StateDb> Chain<S> {
    /// Writes `genesis` into an empty state database as version 0 (block 0).
    ///
    /// # Errors
    ///
    /// [`SetupError::AlreadyInitialized`] if the database holds a chain;
    /// genesis deploy failures; node failures. Nothing is written on error.
    pub fn init(mut state: S, executor: Executor, genesis: Genesis) -> Result<Self, ChainError> {
        match state.head_number() {
            Ok(head) => return Err(SetupError::AlreadyInitialized { head }.into()),
            Err(ChainError::Setup(error)) if matches!(*error, SetupError::NotInitialized) => {}
            Err(other) => return Err(other),
        }
        let mut block_state = BlockState::new(&state, false);
        apply_genesis(&executor, &mut block_state, &genesis)?;
        let (changes, _) = block_state.finish();
        let prepared = state.prepare(0, &changes)?;
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
        state.commit_prepared(prepared, &genesis_records(&genesis, &block))?;
        Ok(Self::assemble(state, executor, genesis, header))
    }

    /// Opens the chain a state database holds, at its last committed block.
    ///
    /// # Errors
    ///
    /// [`SetupError::NotInitialized`] for an empty database; corruption.
    pub fn open(state: S, executor: Executor) -> Result<Self, ChainError> {
        let genesis = state.genesis()?;
        let number = state.head_number()?;
        let block = state.expect_block(number)?;
        if state.latest_version() != Some(number) {
            return Err(ChainError::corrupt(
                "head",
                format!(
                    "head block {number} but state version {:?}",
                    state.latest_version()
                ),
            ));
        }
        Ok(Self::assemble(state, executor, genesis, block.header))
    }

    fn assemble(state: S, executor: Executor, genesis: Genesis, head: BlockHeader) -> Self {
        Self {
            state,
            executor: Arc::new(executor),
            genesis: Arc::new(genesis),
            shared_head: Arc::new(RwLock::new(head.clone())),
            head,
        }
    }

    fn set_head(&mut self, head: BlockHeader) {
        *self
            .shared_head
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = head.clone();
        self.head = head;
    }

    /// A read handle: cheap to clone, `Send + Sync`, reads pinned to
    /// committed blocks while this writer goes on.
    pub fn reader(&self) -> ChainReader<S::Reader> {
        ChainReader::new(
            self.state.reader(),
            Arc::clone(&self.executor),
            Arc::clone(&self.genesis),
            Arc::clone(&self.shared_head),
        )
    }

    /// The state database.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// Gives the state database back.
    pub fn into_state(self) -> S {
        self.state
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
        read_account(&self.state, address)
    }

    /// Block `number`, if committed.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    pub fn block(&self, number: u64) -> Result<Option<Block>, ChainError> {
        self.state.block(number)
    }

    /// Receipts of block `number`, if committed.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    pub fn receipts(&self, number: u64) -> Result<Option<Vec<Receipt>>, ChainError> {
        self.state.receipts(number)
    }

    /// Where transaction `hash` was included: block number and index.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    pub fn tx_location(&self, hash: &H256) -> Result<Option<(u64, u32)>, ChainError> {
        self.state.tx_location(hash)
    }

    /// Runs `message` against the head state without committing anything
    /// (a dry run: `cairn query`, gas estimates).
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn query(&self, message: &Message) -> Result<ExecOutcome, ChainError> {
        dry_run(
            &self.executor,
            &self.state,
            &self.genesis,
            &self.head,
            message,
            false,
        )
    }

    /// The exact lowest gas limit, at most `cap`, at which `request`
    /// succeeds as the first transaction of the next block
    /// ([`crate::simulate::estimate_gas`]).
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn estimate_gas(&self, request: &TxRequest, cap: u64) -> Result<Estimate, ChainError> {
        estimate_gas(
            &self.executor,
            &self.state,
            &next_block_env(&self.genesis, &self.head),
            request,
            cap,
        )
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
        txs: Vec<impl Into<Envelope>>,
        policy: InvalidTxPolicy,
        record_reads: bool,
    ) -> Result<ExecutedBlock<S::Prepared>, ChainError> {
        let txs: Vec<Envelope> = txs.into_iter().map(Into::into).collect();
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
    pub fn precheck(&self, txs: &[Envelope]) -> Prechecked {
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
        txs: Vec<Envelope>,
        prechecked: Prechecked,
        policy: InvalidTxPolicy,
        record_reads: bool,
    ) -> Result<ExecutedBlock<S::Prepared>, ChainError> {
        let env = self.env(timestamp, beneficiary);
        let ran = execute_txs(
            &self.executor,
            &self.state,
            &env,
            self.head.timestamp,
            txs,
            prechecked,
            policy,
            record_reads,
        )?;
        self.seal(&env, ran)
    }

    /// Computes the roots of executed transactions on top of the head and
    /// builds the block: the state root (the prepared commit), the tx root
    /// and the receipts root.
    fn seal(
        &self,
        env: &BlockEnv,
        ran: ExecutedTxs,
    ) -> Result<ExecutedBlock<S::Prepared>, ChainError> {
        let ExecutedTxs {
            outcome,
            changes,
            reads,
        } = ran;
        let mut executed = self.seal_changes(env, outcome, &changes)?;
        executed.changes = changes;
        executed.reads = reads;
        Ok(executed)
    }

    /// [`Chain::seal`] of `outcome` with its state changes borrowed: the
    /// block comes back without them (`changes` and `reads` empty).
    fn seal_changes(
        &self,
        env: &BlockEnv,
        outcome: crate::execute::TxsOutcome,
        changes: &StateChanges,
    ) -> Result<ExecutedBlock<S::Prepared>, ChainError> {
        // The state root and the two list roots are independent hashing:
        // computed side by side.
        let (prepared, (tx_root, receipts_root)) = rayon::join(
            || self.state.prepare(env.number, changes),
            || {
                rayon::join(
                    || merkle_root(outcome.included.iter().map(Encode::encode)),
                    || receipts_root(&outcome.receipts),
                )
            },
        );
        let prepared = prepared?;
        let block = Block {
            header: BlockHeader {
                parent_hash: self.head.hash(),
                number: env.number,
                timestamp: env.timestamp,
                beneficiary: env.beneficiary,
                gas_limit: env.gas_limit,
                gas_used: outcome.gas_used,
                tx_root,
                receipts_root,
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
            reads: BTreeSet::new(),
            changes: StateChanges::new(),
            prepared,
        })
    }

    /// Commits an executed block: state, block, receipts, tx index and head
    /// in one atomic write.
    ///
    /// # Errors
    ///
    /// Node failures; nothing is committed then.
    pub fn commit(
        &mut self,
        executed: ExecutedBlock<S::Prepared>,
    ) -> Result<(Block, Vec<Receipt>), ChainError> {
        self.commit_inner(executed, None)
    }

    /// [`Chain::commit`] of a block the validators decided, with its commit
    /// certificate in the same atomic write. The certificate is checked
    /// against the block and the genesis validator set first.
    ///
    /// # Errors
    ///
    /// [`InvalidBlock::Certificate`] if it does not prove the block; node
    /// failures. Nothing is committed on error.
    pub fn commit_certified(
        &mut self,
        executed: ExecutedBlock<S::Prepared>,
        certificate: &CommitCertificate,
    ) -> Result<(Block, Vec<Receipt>), ChainError> {
        verify_certificate(&self.genesis, &executed.block.header, certificate).map_err(
            |error| InvalidBlock::Certificate {
                number: executed.block.header.number,
                error,
            },
        )?;
        self.commit_inner(executed, Some(certificate))
    }

    /// The commit certificate of block `number`, if stored.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    pub fn certificate(&self, number: u64) -> Result<Option<CommitCertificate>, ChainError> {
        self.state.certificate(number)
    }

    fn commit_inner(
        &mut self,
        executed: ExecutedBlock<S::Prepared>,
        certificate: Option<&CommitCertificate>,
    ) -> Result<(Block, Vec<Receipt>), ChainError> {
        let ExecutedBlock {
            block,
            receipts,
            prepared,
            ..
        } = executed;
        let span = tracing::debug_span!("commit", number = block.header.number);
        let _entered = span.enter();
        if block.header.parent_hash != self.head.hash() {
            return Err(InvalidBlock::BadParent {
                number: block.header.number,
                reason: "the head moved since the block was executed".into(),
            }
            .into());
        }
        let mut records = block_records(&block, &receipts);
        if let Some(certificate) = certificate {
            records.insert(
                certificate_key(block.header.number),
                Some(certificate.encode()),
            );
        }
        self.state.commit_prepared(prepared, &records)?;
        tracing::debug!(
            number = block.header.number,
            txs = block.transactions.len(),
            gas_used = block.header.gas_used,
            state_root = %crate::codec::to_hex(block.header.state_root),
            "block committed"
        );
        self.set_head(block.header.clone());
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
        txs: Vec<impl Into<Envelope>>,
    ) -> Result<(Block, Vec<Receipt>, Rejected), ChainError> {
        let mut executed =
            self.execute_block(timestamp, beneficiary, txs, InvalidTxPolicy::Skip, false)?;
        let rejected = std::mem::take(&mut executed.rejected);
        let (block, receipts) = self.commit(executed)?;
        Ok((block, receipts, rejected))
    }

    /// Produces blocks one after another, each `(timestamp, beneficiary,
    /// txs)`, pipelined on two cores: while block n+1 executes over block
    /// n's changes (read first from those changes, then from the store as of
    /// block n-1: a key block n did not change has the same value in both),
    /// the other core computes block n's roots, writes it (state, block,
    /// receipts and tx index, one atomic write) and recovers the senders of
    /// block n+2. Execution itself stays sequential and every root is
    /// computed as [`Chain::produce_block`] computes it, so blocks and
    /// receipts are identical. `on_block` sees each committed block, its
    /// receipts and the transactions left out.
    ///
    /// # Errors
    ///
    /// Node failures, a block whose timestamp is before its parent's; the
    /// blocks before the failing one stay committed (and were passed to
    /// `on_block`), nothing after it is.
    pub fn produce_blocks_pipelined(
        &mut self,
        blocks: Vec<(u64, Address, Vec<Envelope>)>,
        mut on_block: impl FnMut(&Block, &[Receipt], &Rejected),
    ) -> Result<(), ChainError>
    where
        S::Reader: StateRead,
    {
        let mut blocks = blocks.into_iter();
        let Some((timestamp, beneficiary, txs)) = blocks.next() else {
            return Ok(());
        };
        let (chain_id, gas_limit) = (self.genesis.chain_id, self.genesis.block_gas_limit);
        let precheck = |txs: &[Envelope]| precheck_transactions(txs, chain_id, gas_limit);
        let env_of = |number: u64, timestamp: u64, beneficiary: Address| BlockEnv {
            number,
            timestamp,
            beneficiary,
            gas_limit,
            chain_id,
        };
        let executor = Arc::clone(&self.executor);
        let prechecked = precheck(&txs);
        // The first block runs over the committed head, recovering the
        // second block's senders on the other cores.
        let env = env_of(self.head.number.saturating_add(1), timestamp, beneficiary);
        let upcoming = blocks.next();
        let (ran, upcoming_prechecked) = rayon::join(
            || {
                let parent_timestamp = self.head.timestamp;
                execute_txs(
                    &executor,
                    &self.state,
                    &env,
                    parent_timestamp,
                    txs,
                    prechecked,
                    InvalidTxPolicy::Skip,
                    false,
                )
            },
            || upcoming.as_ref().map(|(_, _, txs)| precheck(txs)),
        );
        let mut current = (env, ran?);
        let mut upcoming = upcoming.zip(upcoming_prechecked);
        loop {
            // `current` is block n, executed; `upcoming` is block n+1 with
            // its senders.
            let (
                env,
                ExecutedTxs {
                    outcome, changes, ..
                },
            ) = current;
            let after = blocks.next();
            let reader = self.state.reader();
            // Block n+1 reads block n's changes, then the store as of n-1.
            let pending = ReadThrough::new(&changes, &reader);
            let next_env = upcoming.as_ref().map(|((timestamp, beneficiary, _), _)| {
                env_of(env.number.saturating_add(1), *timestamp, *beneficiary)
            });
            let (committed, ran) = rayon::join(
                || {
                    let committed =
                        self.seal_changes(&env, outcome, &changes)
                            .and_then(|mut executed| {
                                let rejected = std::mem::take(&mut executed.rejected);
                                let (block, receipts) = self.commit(executed)?;
                                Ok((block, receipts, rejected))
                            });
                    let after_prechecked = committed
                        .is_ok()
                        .then(|| after.as_ref().map(|(_, _, txs)| precheck(txs)))
                        .flatten();
                    (committed, after_prechecked)
                },
                || {
                    upcoming
                        .zip(next_env)
                        .map(|(((_, _, txs), prechecked), next)| {
                            let ran = execute_txs(
                                &executor,
                                &pending,
                                &next,
                                env.timestamp,
                                txs,
                                prechecked,
                                InvalidTxPolicy::Skip,
                                false,
                            );
                            (next, ran)
                        })
                },
            );
            let (committed, after_prechecked) = committed;
            let (block, receipts, rejected) = committed?;
            on_block(&block, &receipts, &rejected);
            let Some((next, ran)) = ran else {
                return Ok(());
            };
            current = (next, ran?);
            upcoming = after.zip(after_prechecked);
        }
    }

    /// Checks that `header` can follow the head and runs under this node's rules.
    ///
    /// # Errors
    ///
    /// [`InvalidBlock::BadParent`].
    pub fn check_extends_head(&self, header: &BlockHeader) -> Result<(), ChainError> {
        let expected_number = self.head.number.saturating_add(1);
        if header.number != expected_number {
            return Err(InvalidBlock::BadParent {
                number: header.number,
                reason: format!("the next block is {expected_number}"),
            }
            .into());
        }
        if header.parent_hash != self.head.hash() {
            return Err(InvalidBlock::BadParent {
                number: header.number,
                reason: format!(
                    "parent hash {:?} is not the head's {:?}",
                    header.parent_hash,
                    self.head.hash()
                ),
            }
            .into());
        }
        Ok(())
    }

    /// Imports a block produced elsewhere: re-executes it on the head and
    /// commits it only if every header field (roots included) matches.
    ///
    /// # Errors
    ///
    /// [`InvalidBlock`] (bad parent, an inadmissible transaction, a header
    /// field that execution does not reproduce); node failures. Nothing is
    /// committed on error.
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
            return Err(InvalidBlock::HeaderMismatch {
                number: block.header.number,
                field,
                expected,
                computed,
            }
            .into());
        }
        let (_, receipts) = self.commit(executed)?;
        Ok(receipts)
    }
}

/// A block's transactions executed over its parent's state, before the
/// roots are computed.
struct ExecutedTxs {
    outcome: crate::execute::TxsOutcome,
    changes: StateChanges,
    reads: BTreeSet<Vec<u8>>,
}

/// Executes `txs` (with `prechecked` from [`precheck_transactions`]) as
/// block `env` over `base`, the state as of its parent, whose timestamp is
/// `parent_timestamp`.
#[allow(
    clippy::too_many_arguments,
    reason = "two call sites; the arguments are the block's context"
)]
fn execute_txs<R: StateRead + ?Sized>(
    executor: &Executor,
    base: &R,
    env: &BlockEnv,
    parent_timestamp: u64,
    txs: Vec<Envelope>,
    prechecked: Prechecked,
    policy: InvalidTxPolicy,
    record_reads: bool,
) -> Result<ExecutedTxs, ChainError> {
    if env.timestamp < parent_timestamp {
        return Err(InvalidBlock::BadParent {
            number: env.number,
            reason: format!(
                "timestamp {} is before the parent's {parent_timestamp}",
                env.timestamp
            ),
        }
        .into());
    }
    let span = tracing::debug_span!("execute_block", number = env.number, txs = txs.len());
    let _entered = span.enter();
    let mut state = BlockState::new(base, record_reads);
    let outcome = execute_prechecked(executor, &mut state, env, txs, prechecked, policy)?;
    let (changes, reads) = state.finish();
    Ok(ExecutedTxs {
        outcome,
        changes,
        reads,
    })
}

/// The account record of `address` in the latest state (empty if absent).
pub(crate) fn read_account(
    state: &(impl StateRead + ?Sized),
    address: &Address,
) -> Result<Account, ChainError> {
    match state.get(&account_key(address))? {
        None => Ok(Account::default()),
        Some(bytes) => decode_record(format!("account {address:?}"), &bytes),
    }
}

/// Runs `message` on top of block `parent` (the next block's number, the
/// parent's timestamp) against `state`, committing nothing.
/// The block a dry run or a simulation runs in: the one after `parent`,
/// with its timestamp, no beneficiary, the genesis gas limit.
pub(crate) fn next_block_env(genesis: &Genesis, parent: &BlockHeader) -> BlockEnv {
    BlockEnv {
        number: parent.number.saturating_add(1),
        timestamp: parent.timestamp,
        beneficiary: Address::zero(),
        gas_limit: genesis.block_gas_limit,
        chain_id: genesis.chain_id,
    }
}

pub(crate) fn dry_run(
    executor: &Executor,
    state: &(impl StateRead + ?Sized),
    genesis: &Genesis,
    parent: &BlockHeader,
    message: &Message,
    traced: bool,
) -> Result<ExecOutcome, ChainError> {
    let state = BlockState::new(state, false);
    let context = BlockContext {
        number: parent.number.saturating_add(1),
        timestamp: parent.timestamp,
        chain_id: genesis.chain_id,
    };
    Ok(if traced {
        executor.execute_traced(&state, &context, message)?
    } else {
        executor.execute(&state, &context, message)?
    })
}

#[cfg(test)]
mod tests {
    use cairn_engine::prepare::Rule;
    use cairn_engine::runtime::{ExecConfig, ExecStatus, Executor, HaltReason};
    use cairn_host_api::world::U256;
    use cairn_state::MemoryStore;
    use parity_scale_codec::Encode;

    use super::*;
    use crate::genesis::GenesisAccount;
    use crate::keys::SigningKey;
    use crate::tx::{Transaction, TxAction};

    /// Deploys `code` in a fresh chain and returns the receipt and the
    /// diagnostics message a developer tool gets for the same deploy.
    fn deploy_receipt(code: Vec<u8>) -> (Receipt, String) {
        let key = SigningKey::from_seed(b"deployer");
        let genesis = Genesis {
            chain_id: 9,
            block_gas_limit: 1_000_000_000,
            timestamp: 0,
            accounts: vec![GenesisAccount {
                address: key.address(),
                balance: U256::from(u64::MAX),
            }],
            contracts: vec![],
            validators: Vec::new(),
        };
        let mut chain = Chain::init(
            MemoryStore::in_memory(),
            Executor::new(ExecConfig::default()),
            genesis,
        )
        .unwrap();
        let tx = Transaction {
            chain_id: 9,
            nonce: 0,
            gas_limit: 1_000_000,
            gas_price: 1,
            value: U256::zero(),
            action: TxAction::Deploy {
                code: code.clone(),
                data: vec![],
            },
        }
        .sign(&key);
        let message = Message {
            origin: key.address(),
            caller: key.address(),
            target: crate::tx::contract_address(&key.address(), 0),
            value: U256::zero(),
            input: vec![],
            gas_limit: 1_000_000,
            kind: cairn_engine::runtime::MessageKind::Deploy { code },
        };
        let diagnostics = chain
            .query(&message)
            .unwrap()
            .diagnostics
            .expect("a rejected deploy has diagnostics")
            .message;
        let (_, receipts, rejected) = chain.produce_block(1, Address::zero(), vec![tx]).unwrap();
        assert!(rejected.is_empty());
        (receipts.into_iter().next().unwrap(), diagnostics)
    }

    #[test]
    fn validator_messages_never_reach_receipts() {
        // Two modules of the same size that break the same rule in different
        // ways: the validator describes them differently, the receipts (and
        // so the receipts root) are byte for byte the same.
        let a = wat::parse_str(r#"(module (func (export "call") (local f32)))"#).unwrap();
        let b = wat::parse_str(r#"(module (func (export "call") (local f64)))"#).unwrap();
        assert_eq!(a.len(), b.len());
        let (receipt_a, text_a) = deploy_receipt(a);
        let (receipt_b, text_b) = deploy_receipt(b);
        assert_eq!(
            receipt_a.status,
            ExecStatus::Halt {
                reason: HaltReason::InvalidCode(Rule::FloatingPoint)
            }
        );
        assert_ne!(text_a, text_b, "the diagnostics should differ");
        assert!(text_a.contains("floating-point"), "{text_a}");
        assert_eq!(receipt_a.encode(), receipt_b.encode());
        assert_eq!(receipts_root(&[receipt_a]), receipts_root(&[receipt_b]));
    }
}
