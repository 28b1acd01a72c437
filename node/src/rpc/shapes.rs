//! Ethereum JSON-RPC shapes of Cairn's blocks, transactions, receipts and
//! logs, built as `alloy-rpc-types-eth` types (correct by construction, as
//! reth and anvil answer).
//!
//! How Cairn's fields map (also in the README's node section):
//! - block `hash`: Cairn's header hash (keccak256 of the SCALE header);
//!   `transactionsRoot`/`receiptsRoot`: Cairn's binary Merkle roots;
//!   `stateRoot`: the Merkleized state's root; `baseFeePerGas`: 0 (no base
//!   fee), so clients choose EIP-1559; `difficulty`, `nonce`, `mixHash`: 0;
//!   `logsBloom`: computed from the receipts' logs, as Ethereum's;
//! - a receipt's `status` is 1 for success and 0 for revert, out of gas or
//!   a trap (`cairn_traceTransaction` says which and where);
//! - `effectiveGasPrice`: the gas price the sender paid.

use alloy_consensus::constants::EMPTY_OMMER_ROOT_HASH;
use alloy_consensus::{Eip658Value, ReceiptEnvelope, ReceiptWithBloom, TxEnvelope};
use alloy_primitives::{B64, Bloom, BloomInput, Bytes, LogData};
use alloy_rpc_types_eth::{BlockTransactions, Header, Log, Transaction, TransactionReceipt};
use cairn_chain::tx::TxAction;
use cairn_chain::{Block, BlockHeader, Receipt};
use cairn_host_api::world::{Address, H256};
use parity_scale_codec::Encode;

use crate::convert::{to_alloy_address, to_alloy_b256, to_alloy_u256};
use crate::envelope::{NodeTx, ethereum_view};

/// The bloom filter of some logs, as Ethereum computes it.
pub fn bloom_of<'a>(logs: impl IntoIterator<Item = &'a cairn_engine::runtime::Log>) -> Bloom {
    let mut bloom = Bloom::ZERO;
    for log in logs {
        bloom.accrue(BloomInput::Raw(log.address.as_bytes()));
        for topic in &log.topics {
            bloom.accrue(BloomInput::Raw(topic.as_bytes()));
        }
    }
    bloom
}

/// The bloom of a block's receipts.
pub fn block_bloom(receipts: &[Receipt]) -> Bloom {
    bloom_of(receipts.iter().flat_map(|r| r.logs.iter()))
}

/// The RPC header of a block.
pub fn rpc_header(header: &BlockHeader, bloom: Bloom, size: Option<usize>) -> Header {
    Header {
        hash: to_alloy_b256(&header.hash()),
        inner: alloy_consensus::Header {
            parent_hash: to_alloy_b256(&header.parent_hash),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: to_alloy_address(&header.beneficiary),
            state_root: to_alloy_b256(&header.state_root),
            transactions_root: to_alloy_b256(&header.tx_root),
            receipts_root: to_alloy_b256(&header.receipts_root),
            logs_bloom: bloom,
            difficulty: alloy_primitives::U256::ZERO,
            number: header.number,
            gas_limit: header.gas_limit,
            gas_used: header.gas_used,
            timestamp: header.timestamp,
            extra_data: Bytes::new(),
            mix_hash: alloy_primitives::B256::ZERO,
            nonce: B64::ZERO,
            base_fee_per_gas: Some(0),
            ..Default::default()
        },
        total_difficulty: None,
        size: size.map(alloy_primitives::U256::from),
    }
}

/// Where an included transaction sits.
#[derive(Debug, Clone, Copy)]
pub struct TxLocation {
    /// Hash of its block.
    pub block_hash: H256,
    /// Its block's number.
    pub block_number: u64,
    /// Its block's timestamp.
    pub block_timestamp: u64,
    /// Index in the block.
    pub index: u64,
}

/// The RPC shape of a transaction; `location` is `None` while it is pending.
pub fn rpc_transaction(
    tx: &NodeTx,
    sender: &Address,
    location: Option<TxLocation>,
) -> Transaction<TxEnvelope> {
    Transaction {
        inner: alloy_consensus::transaction::Recovered::new_unchecked(
            ethereum_view(tx),
            to_alloy_address(sender),
        ),
        block_hash: location.map(|l| to_alloy_b256(&l.block_hash)),
        block_number: location.map(|l| l.block_number),
        transaction_index: location.map(|l| l.index),
        effective_gas_price: location.map(|_| u128::from(tx.gas_price())),
        block_timestamp: location.map(|l| l.block_timestamp),
    }
}

/// The RPC logs of a block's receipt `index`, `first_log_index` being the
/// block-wide index of its first log.
pub fn rpc_logs(
    receipt: &Receipt,
    tx_hash: &H256,
    location: TxLocation,
    first_log_index: u64,
) -> Vec<Log> {
    receipt
        .logs
        .iter()
        .zip(first_log_index..)
        .map(|(log, log_index)| Log {
            inner: alloy_primitives::Log {
                address: to_alloy_address(&log.address),
                data: LogData::new_unchecked(
                    log.topics.iter().map(to_alloy_b256).collect(),
                    Bytes::from(log.data.clone()),
                ),
            },
            block_hash: Some(to_alloy_b256(&location.block_hash)),
            block_number: Some(location.block_number),
            block_timestamp: Some(location.block_timestamp),
            transaction_hash: Some(to_alloy_b256(tx_hash)),
            transaction_index: Some(location.index),
            log_index: Some(log_index),
            removed: false,
        })
        .collect()
}

/// The block-wide index of the first log of receipt `index`.
pub fn first_log_index(receipts: &[Receipt], index: usize) -> u64 {
    receipts
        .iter()
        .take(index)
        .map(|r| u64::try_from(r.logs.len()).unwrap_or(u64::MAX))
        .fold(0u64, u64::saturating_add)
}

/// The RPC receipt of transaction `index` of `block`.
pub fn rpc_receipt(
    block: &Block,
    receipts: &[Receipt],
    index: usize,
    sender: &Address,
) -> Option<TransactionReceipt> {
    let tx = block.transactions.get(index)?;
    let receipt = receipts.get(index)?;
    let location = TxLocation {
        block_hash: block.header.hash(),
        block_number: block.header.number,
        block_timestamp: block.header.timestamp,
        index: u64::try_from(index).ok()?,
    };
    let hash = tx.hash();
    let logs = rpc_logs(receipt, &hash, location, first_log_index(receipts, index));
    let inner = ReceiptWithBloom {
        receipt: alloy_consensus::Receipt {
            status: Eip658Value::Eip658(receipt.is_success()),
            cumulative_gas_used: receipt.cumulative_gas_used,
            logs,
        },
        logs_bloom: bloom_of(&receipt.logs),
    };
    let to = match tx.action() {
        TxAction::Call { to, .. } => Some(to_alloy_address(to)),
        TxAction::Deploy { .. } => None,
    };
    Some(TransactionReceipt {
        inner: receipt_envelope(tx, inner),
        transaction_hash: to_alloy_b256(&hash),
        transaction_index: Some(location.index),
        block_hash: Some(to_alloy_b256(&location.block_hash)),
        block_number: Some(location.block_number),
        gas_used: receipt.gas_used,
        effective_gas_price: u128::from(tx.gas_price()),
        blob_gas_used: None,
        blob_gas_price: None,
        from: to_alloy_address(sender),
        to,
        contract_address: receipt.contract_address.as_ref().map(to_alloy_address),
    })
}

/// The receipt's envelope follows the transaction's type.
fn receipt_envelope(
    tx: &NodeTx,
    inner: ReceiptWithBloom<alloy_consensus::Receipt<Log>>,
) -> ReceiptEnvelope<Log> {
    match ethereum_view(tx) {
        TxEnvelope::Eip1559(_) => ReceiptEnvelope::Eip1559(inner),
        _ => ReceiptEnvelope::Legacy(inner),
    }
}

/// The RPC shape of a block; `senders` gives each transaction's sender
/// (needed only with `full`).
pub fn rpc_block(
    block: &Block,
    receipts: &[Receipt],
    senders: &[Address],
    full: bool,
) -> alloy_rpc_types_eth::Block {
    let header = rpc_header(
        &block.header,
        block_bloom(receipts),
        Some(block.encoded_size()),
    );
    let transactions = if full {
        let block_hash = block.header.hash();
        BlockTransactions::Full(
            block
                .transactions
                .iter()
                .zip(senders)
                .enumerate()
                .map(|(index, (tx, sender))| {
                    rpc_transaction(
                        tx,
                        sender,
                        Some(TxLocation {
                            block_hash,
                            block_number: block.header.number,
                            block_timestamp: block.header.timestamp,
                            index: u64::try_from(index).unwrap_or(u64::MAX),
                        }),
                    )
                })
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(
            block
                .transactions
                .iter()
                .map(|tx| to_alloy_b256(&tx.hash()))
                .collect(),
        )
    };
    alloy_rpc_types_eth::Block {
        header,
        uncles: Vec::new(),
        transactions,
        withdrawals: None,
    }
}

/// An amount as alloy's U256 (for `eth_getBalance`).
pub fn quantity(value: &cairn_host_api::world::U256) -> alloy_primitives::U256 {
    to_alloy_u256(value)
}
