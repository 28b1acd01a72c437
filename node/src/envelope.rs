//! The one place the node names its transaction type: the chain's
//! [`Envelope`] (a native SCALE transaction or an Ethereum typed
//! transaction), how raw bytes become one, and how one is shown in
//! Ethereum's JSON-RPC shape.

use alloy_consensus::{Signed, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Bytes, Signature, TxKind};
use cairn_chain::admission::AdmissionError;
use cairn_chain::ethereum::{EthereumTransaction, EthereumTxError};
use cairn_chain::tx::{Envelope, SignedTransaction, TxAction};
use parity_scale_codec::Encode;

use crate::convert::{to_alloy_address, to_alloy_b256, to_alloy_u256};

/// A transaction as blocks and the mempool hold it.
pub type NodeTx = Envelope;

/// The size admission checks against the limit: the SCALE encoding a
/// block holds.
pub fn encoded_len(tx: &NodeTx) -> usize {
    tx.encoded_size()
}

/// Decodes a native SCALE-encoded signed transaction (`cairn_sendRawTransaction`).
///
/// # Errors
///
/// [`AdmissionError::BadEncoding`] unless `bytes` is exactly one encoding.
pub fn decode_native(bytes: &[u8]) -> Result<NodeTx, AdmissionError> {
    SignedTransaction::decode_exact(bytes)
        .map(Envelope::Native)
        .map_err(|e| AdmissionError::BadEncoding(e.to_string()))
}

/// Decodes EIP-2718 bytes (`eth_sendRawTransaction`): legacy with an
/// EIP-155 chain id, or EIP-1559.
///
/// # Errors
///
/// An [`EthereumTxError`] naming what is not accepted.
pub fn decode_ethereum(raw: &[u8]) -> Result<NodeTx, EthereumTxError> {
    EthereumTransaction::from_raw(raw).map(Envelope::Ethereum)
}

/// The Ethereum JSON-RPC shape of a transaction.
///
/// An Ethereum transaction is shown as it was signed (its own type, fields
/// and hash). A native transaction is shown as a legacy (type 0)
/// transaction with its own fields, signature (`v` = 27 + recovery id) and
/// hash; a deploy's `input` is SCALE `(code, data)`, as an Ethereum deploy
/// carries it.
pub fn ethereum_view(tx: &NodeTx) -> TxEnvelope {
    match tx {
        Envelope::Ethereum(eth) => match TxEnvelope::decode_2718_exact(eth.raw()) {
            Ok(envelope) => envelope,
            // Unreachable: the bytes were decoded by the same code when
            // the transaction was admitted or read from a block.
            Err(_) => native_view(tx),
        },
        Envelope::Native(_) => native_view(tx),
    }
}

fn native_view(tx: &NodeTx) -> TxEnvelope {
    let (to, input) = match tx.action() {
        TxAction::Call { to, data } => (TxKind::Call(to_alloy_address(to)), data.clone()),
        TxAction::Deploy { code, data } => (TxKind::Create, (code, data).encode()),
    };
    let legacy = TxLegacy {
        chain_id: Some(tx.chain_id()),
        nonce: tx.nonce(),
        gas_price: u128::from(tx.gas_price()),
        gas_limit: tx.gas_limit(),
        to,
        value: to_alloy_u256(&tx.value()),
        input: Bytes::from(input),
    };
    let (compact, recovery_id) = match tx {
        Envelope::Native(native) => {
            let mut compact = [0u8; 64];
            compact.copy_from_slice(&native.signature[..64]);
            (compact, native.signature[64])
        }
        Envelope::Ethereum(eth) => eth.signature(),
    };
    let signature = Signature::new(
        alloy_primitives::U256::from_be_slice(&compact[..32]),
        alloy_primitives::U256::from_be_slice(&compact[32..]),
        recovery_id == 1,
    );
    TxEnvelope::Legacy(Signed::new_unchecked(
        legacy,
        signature,
        to_alloy_b256(&tx.hash()),
    ))
}
