//! Where the chain keeps its records: auxiliary records of the state
//! database, outside the state root, committed in the same atomic write as
//! the state version of their block. Normative text: `specs/chain.md`
//! ("Stored records").
//!
//! | key | value |
//! |---|---|
//! | `chain/genesis` | SCALE [`Genesis`] |
//! | `chain/head` | head block number, u64 big-endian |
//! | `chain/block/` ‖ number (u64 BE) | SCALE [`Block`] |
//! | `chain/receipts/` ‖ number (u64 BE) | SCALE `Vec<Receipt>` |
//! | `chain/tx/` ‖ tx hash (32) | SCALE `(u64, u32)`: block number, index |
//! | `chain/hash/` ‖ block hash (32) | block number, u64 big-endian |
//! | `chain/cert/` ‖ number (u64 BE) | SCALE [`CommitCertificate`](crate::certificate::CommitCertificate) (validator chains) |

use cairn_host_api::world::H256;
use cairn_state::AuxWrites;
use parity_scale_codec::{Decode, Encode};

use crate::block::{Block, Receipt};
use crate::codec::decode_exact;
use crate::error::ChainError;
use crate::genesis::Genesis;

/// Auxiliary record: the resolved genesis (SCALE [`Genesis`]).
pub const AUX_GENESIS: &[u8] = b"chain/genesis";
/// Auxiliary record: the number of the last committed block (u64 big-endian).
pub const AUX_HEAD: &[u8] = b"chain/head";
const AUX_BLOCK: &[u8] = b"chain/block/";
const AUX_RECEIPTS: &[u8] = b"chain/receipts/";
const AUX_TX: &[u8] = b"chain/tx/";
const AUX_BLOCK_HASH: &[u8] = b"chain/hash/";
const AUX_CERTIFICATE: &[u8] = b"chain/cert/";

/// Auxiliary key of block `number`'s commit certificate (SCALE
/// [`CommitCertificate`](crate::certificate::CommitCertificate)).
pub fn certificate_key(number: u64) -> Vec<u8> {
    [AUX_CERTIFICATE, &number.to_be_bytes()[..]].concat()
}

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

/// Auxiliary key of the number of the block with header hash `hash`
/// (u64 big-endian).
pub fn block_hash_key(hash: &H256) -> Vec<u8> {
    [AUX_BLOCK_HASH, hash.as_bytes()].concat()
}

/// Decodes a stored record; a failure is corruption (a node failure).
pub(crate) fn decode_record<T: Decode>(
    what: impl Into<String>,
    bytes: &[u8],
) -> Result<T, ChainError> {
    decode_exact(bytes).map_err(|e| ChainError::corrupt(what, e.to_string()))
}

/// The records a committed block adds: the block, its receipts, its
/// transactions' index entries, its hash's index entry, and the new head.
pub fn block_records(block: &Block, receipts: &[Receipt]) -> AuxWrites {
    let number = block.header.number;
    let mut aux = AuxWrites::new();
    for (index, tx) in block.transactions.iter().enumerate() {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        aux.insert(tx_key(&tx.hash()), Some((number, index).encode()));
    }
    aux.insert(block_key(number), Some(block.encode()));
    aux.insert(
        block_hash_key(&block.header.hash()),
        Some(number.to_be_bytes().to_vec()),
    );
    aux.insert(receipts_key(number), Some(receipts.encode()));
    aux.insert(AUX_HEAD.to_vec(), Some(number.to_be_bytes().to_vec()));
    aux
}

/// The records of a new chain: its genesis and block 0.
pub fn genesis_records(genesis: &Genesis, block: &Block) -> AuxWrites {
    let mut aux = block_records(block, &[]);
    aux.insert(AUX_GENESIS.to_vec(), Some(genesis.encode()));
    aux
}
