//! [`ChainReader`]: the chain's read handle, beside its one writer.
//!
//! An RPC server reads (head, blocks, receipts, accounts, dry-run calls)
//! while blocks execute and commit. A reader is cheap to clone and `Send +
//! Sync`; [`ChainReader::at_head`] and [`ChainReader::at`] pin a
//! [`ChainSnapshot`] to one committed block, and every read through it sees
//! that block's state however many blocks commit meanwhile (committed
//! versions never change). A snapshot whose version is pruned while it is
//! in use fails its reads with a node error instead of answering wrongly.

use std::sync::{Arc, RwLock};

use cairn_engine::runtime::{ExecOutcome, Executor, Message};
use cairn_host_api::world::{Account, Address, CodeHash, H256};
use cairn_state::{Proof, StateRoot, StateView};

use crate::block::{Block, BlockHeader, Receipt};
use crate::chain::{dry_run, next_block_env, read_account};
use crate::error::ChainError;
use crate::genesis::Genesis;
use crate::simulate::{Estimate, TxRequest, estimate_gas};
use crate::storage::BlockStore;
use crate::world::{StateAt, code_key, storage_key};

/// A cloneable, thread-safe read handle of a chain.
#[derive(Debug)]
pub struct ChainReader<V> {
    state: V,
    executor: Arc<Executor>,
    genesis: Arc<Genesis>,
    head: Arc<RwLock<BlockHeader>>,
}

impl<V: Clone> Clone for ChainReader<V> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            executor: Arc::clone(&self.executor),
            genesis: Arc::clone(&self.genesis),
            head: Arc::clone(&self.head),
        }
    }
}

impl<V: StateView + Clone> ChainReader<V> {
    pub(crate) fn new(
        state: V,
        executor: Arc<Executor>,
        genesis: Arc<Genesis>,
        head: Arc<RwLock<BlockHeader>>,
    ) -> Self {
        Self {
            state,
            executor,
            genesis,
            head,
        }
    }

    /// The chain's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The executor dry runs use.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// The state view (for proofs and raw reads at explicit versions).
    pub fn state(&self) -> &V {
        &self.state
    }

    /// The last committed header.
    pub fn head(&self) -> BlockHeader {
        self.head
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A snapshot pinned to the head as it is now.
    pub fn at_head(&self) -> ChainSnapshot<V> {
        self.snapshot(self.head())
    }

    /// A snapshot pinned to committed block `number`.
    ///
    /// # Errors
    ///
    /// `Ok(None)` for a block not (yet) committed; node failures.
    pub fn at(&self, number: u64) -> Result<Option<ChainSnapshot<V>>, ChainError> {
        let head = self.head();
        if number > head.number {
            return Ok(None);
        }
        if number == head.number {
            return Ok(Some(self.snapshot(head)));
        }
        Ok(self
            .state
            .block(number)?
            .map(|block| self.snapshot(block.header)))
    }

    /// A snapshot pinned to the committed block whose header hash is `hash`.
    ///
    /// # Errors
    ///
    /// `Ok(None)` for an unknown hash; node failures.
    pub fn at_hash(&self, hash: &H256) -> Result<Option<ChainSnapshot<V>>, ChainError> {
        match self.state.block_number_by_hash(hash)? {
            Some(number) => self.at(number),
            None => Ok(None),
        }
    }

    fn snapshot(&self, header: BlockHeader) -> ChainSnapshot<V> {
        ChainSnapshot {
            reader: self.clone(),
            header,
        }
    }
}

/// The chain as of one committed block.
#[derive(Debug, Clone)]
pub struct ChainSnapshot<V> {
    reader: ChainReader<V>,
    header: BlockHeader,
}

impl<V: StateView + Clone> ChainSnapshot<V> {
    /// The header of the block this snapshot is pinned to.
    pub fn header(&self) -> &BlockHeader {
        &self.header
    }

    /// The block number (and state version) this snapshot reads.
    pub fn number(&self) -> u64 {
        self.header.number
    }

    fn state_at(&self) -> StateAt<'_, V> {
        StateAt::new(&self.reader.state, self.header.number)
    }

    /// An account (empty if absent).
    ///
    /// # Errors
    ///
    /// Node failures (a pruned version among them).
    pub fn account(&self, address: &Address) -> Result<Account, ChainError> {
        read_account(&self.state_at(), address)
    }

    /// A contract's storage slot.
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn storage(&self, address: &Address, slot: &[u8]) -> Result<Option<Vec<u8>>, ChainError> {
        Ok(self
            .reader
            .state
            .get_at(&storage_key(address, slot), self.header.number)?)
    }

    /// Original Wasm code by hash.
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn code(&self, code_hash: &CodeHash) -> Result<Option<Vec<u8>>, ChainError> {
        Ok(self
            .reader
            .state
            .get_at(&code_key(code_hash), self.header.number)?)
    }

    /// Block `number`, if committed at or before this snapshot's block.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    pub fn block(&self, number: u64) -> Result<Option<Block>, ChainError> {
        if number > self.header.number {
            return Ok(None);
        }
        self.reader.state.block(number)
    }

    /// Receipts of block `number`, if committed at or before this snapshot's block.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    pub fn receipts(&self, number: u64) -> Result<Option<Vec<Receipt>>, ChainError> {
        if number > self.header.number {
            return Ok(None);
        }
        self.reader.state.receipts(number)
    }

    /// Where transaction `hash` was included, if at or before this snapshot's block.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    pub fn tx_location(&self, hash: &H256) -> Result<Option<(u64, u32)>, ChainError> {
        Ok(self
            .reader
            .state
            .tx_location(hash)?
            .filter(|(number, _)| *number <= self.header.number))
    }

    /// Runs `message` on top of this block without committing anything
    /// (`eth_call`, `cairn query`, gas estimates).
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn query(&self, message: &Message) -> Result<ExecOutcome, ChainError> {
        self.run_dry(message, false)
    }

    /// [`Self::query`] with a shadow call stack
    /// (`Executor::execute_traced`): the same status, gas and changes, and a
    /// halt's diagnostics name the function that trapped, carry the
    /// backtrace and, at out of gas, the exact counter. Slower (the code is
    /// prepared and compiled again, and every call is hooked): for the
    /// errors a developer reads.
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn query_traced(&self, message: &Message) -> Result<ExecOutcome, ChainError> {
        self.run_dry(message, true)
    }

    fn run_dry(&self, message: &Message, traced: bool) -> Result<ExecOutcome, ChainError> {
        dry_run(
            &self.reader.executor,
            &self.state_at(),
            &self.reader.genesis,
            &self.header,
            message,
            traced,
        )
    }

    /// The exact lowest gas limit, at most `cap`, at which `request`
    /// succeeds as the first transaction of the block after this one
    /// ([`crate::simulate::estimate_gas`]).
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn estimate_gas(&self, request: &TxRequest, cap: u64) -> Result<Estimate, ChainError> {
        estimate_gas(
            &self.reader.executor,
            &self.state_at(),
            &next_block_env(&self.reader.genesis, &self.header),
            request,
            cap,
        )
    }

    /// The value of a state key and its proof against this block's state root.
    ///
    /// # Errors
    ///
    /// Node failures.
    pub fn prove(&self, key: &[u8]) -> Result<(Option<Vec<u8>>, Proof), ChainError> {
        Ok(self.reader.state.prove(key, self.header.number)?)
    }

    /// This block's state root.
    pub fn state_root(&self) -> StateRoot {
        StateRoot(self.header.state_root.0)
    }
}
