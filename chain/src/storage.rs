//! What the chain needs of storage, as traits.
//!
//! State goes through [`cairn_state::StateDb`] (the writer) and
//! [`cairn_state::StateView`] (reads at a version, from any thread). Blocks,
//! receipts and the tx index are auxiliary records of the same database,
//! written in the same atomic commit as their state version
//! ([`crate::schema`]); [`BlockStore`] reads them. Every state view is a
//! block store, so today's store (RocksDB or memory) is both, and any other
//! state database is too, with no change to the chain.

use cairn_host_api::world::H256;
use cairn_state::StateView;

use crate::block::{Block, Receipt};
use crate::certificate::CommitCertificate;
use crate::error::{ChainError, SetupError};
use crate::genesis::Genesis;
use crate::schema::{
    AUX_GENESIS, AUX_HEAD, block_hash_key, block_key, certificate_key, decode_record, receipts_key,
    tx_key,
};

/// Reads of the chain's stored records.
pub trait BlockStore {
    /// The genesis the chain was created with.
    ///
    /// # Errors
    ///
    /// [`SetupError::NotInitialized`]; node failures, corruption.
    fn genesis(&self) -> Result<Genesis, ChainError>;

    /// The number of the last committed block.
    ///
    /// # Errors
    ///
    /// [`SetupError::NotInitialized`]; node failures, corruption.
    fn head_number(&self) -> Result<u64, ChainError>;

    /// Block `number`, if committed.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    fn block(&self, number: u64) -> Result<Option<Block>, ChainError>;

    /// The receipts of block `number`, if committed.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    fn receipts(&self, number: u64) -> Result<Option<Vec<Receipt>>, ChainError>;

    /// Where transaction `hash` was included: block number and index.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    fn tx_location(&self, hash: &H256) -> Result<Option<(u64, u32)>, ChainError>;

    /// The number of the block whose header hash is `hash`.
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    fn block_number_by_hash(&self, hash: &H256) -> Result<Option<u64>, ChainError>;

    /// The commit certificate of block `number`, if stored (validator chains).
    ///
    /// # Errors
    ///
    /// Node failures, corruption.
    fn certificate(&self, number: u64) -> Result<Option<CommitCertificate>, ChainError>;

    /// Block `number`, which must exist.
    ///
    /// # Errors
    ///
    /// A missing block is corruption.
    fn expect_block(&self, number: u64) -> Result<Block, ChainError> {
        self.block(number)?
            .ok_or_else(|| ChainError::corrupt(format!("block {number}"), "missing"))
    }

    /// The receipts of block `number`, which must exist.
    ///
    /// # Errors
    ///
    /// Missing receipts are corruption.
    fn expect_receipts(&self, number: u64) -> Result<Vec<Receipt>, ChainError> {
        self.receipts(number)?
            .ok_or_else(|| ChainError::corrupt(format!("receipts of block {number}"), "missing"))
    }
}

impl<S: StateView + ?Sized> BlockStore for S {
    fn genesis(&self) -> Result<Genesis, ChainError> {
        let bytes = self
            .get_aux(AUX_GENESIS)?
            .ok_or(SetupError::NotInitialized)?;
        decode_record("genesis", &bytes)
    }

    fn head_number(&self) -> Result<u64, ChainError> {
        let bytes = self.get_aux(AUX_HEAD)?.ok_or(SetupError::NotInitialized)?;
        decode_record::<[u8; 8]>("head", &bytes).map(u64::from_be_bytes)
    }

    fn block(&self, number: u64) -> Result<Option<Block>, ChainError> {
        self.get_aux(&block_key(number))?
            .map(|bytes| decode_record(format!("block {number}"), &bytes))
            .transpose()
    }

    fn receipts(&self, number: u64) -> Result<Option<Vec<Receipt>>, ChainError> {
        self.get_aux(&receipts_key(number))?
            .map(|bytes| decode_record(format!("receipts of block {number}"), &bytes))
            .transpose()
    }

    fn tx_location(&self, hash: &H256) -> Result<Option<(u64, u32)>, ChainError> {
        self.get_aux(&tx_key(hash))?
            .map(|bytes| decode_record("tx index", &bytes))
            .transpose()
    }

    fn certificate(&self, number: u64) -> Result<Option<CommitCertificate>, ChainError> {
        self.get_aux(&certificate_key(number))?
            .map(|bytes| decode_record(format!("certificate of block {number}"), &bytes))
            .transpose()
    }

    fn block_number_by_hash(&self, hash: &H256) -> Result<Option<u64>, ChainError> {
        self.get_aux(&block_hash_key(hash))?
            .map(|bytes| {
                decode_record::<[u8; 8]>("block hash index", &bytes).map(u64::from_be_bytes)
            })
            .transpose()
    }
}
