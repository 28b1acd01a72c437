//! The one place the node names its transaction type.
//!
//! Blocks hold [`NodeTx`]. Today that is Cairn's native
//! [`SignedTransaction`]; when the chain's `Envelope` (native or Ethereum
//! typed transaction) lands, [`NodeTx`] becomes it, [`TxFields`] goes away
//! (the envelope has the same methods), and [`decode_ethereum`] and
//! [`ethereum_view`] decode and show the Ethereum variant. Nothing else in
//! the node changes.

use alloy_consensus::{Signed, TxEnvelope, TxLegacy};
use alloy_primitives::{Bytes, Signature, TxKind};
use cairn_chain::admission::AdmissionError;
use cairn_chain::keys::SignatureError;
use cairn_chain::tx::{SignedTransaction, TxAction};
use cairn_host_api::world::{Address, H256, U256};
use parity_scale_codec::Encode;

use crate::convert::{to_alloy_address, to_alloy_b256, to_alloy_u256};

/// A transaction as blocks and the mempool hold it.
pub type NodeTx = SignedTransaction;

/// The fields the node reads of a transaction, named as the chain's
/// envelope names them.
pub trait TxFields {
    /// The transaction hash.
    fn hash(&self) -> H256;
    /// The sender, recovered from the signature.
    ///
    /// # Errors
    ///
    /// A malformed, high-s or unrecoverable signature.
    fn recover_sender(&self) -> Result<Address, SignatureError>;
    /// The chain id it is signed for.
    fn chain_id(&self) -> u64;
    /// The sender nonce it uses.
    fn nonce(&self) -> u64;
    /// Its gas limit.
    fn gas_limit(&self) -> u64;
    /// Native units paid per gas used.
    fn gas_price(&self) -> u64;
    /// Value moved.
    fn value(&self) -> U256;
    /// Call or deploy.
    fn action(&self) -> &TxAction;
}

impl TxFields for SignedTransaction {
    fn hash(&self) -> H256 {
        SignedTransaction::hash(self)
    }
    fn recover_sender(&self) -> Result<Address, SignatureError> {
        SignedTransaction::recover_sender(self)
    }
    fn chain_id(&self) -> u64 {
        self.tx.chain_id
    }
    fn nonce(&self) -> u64 {
        self.tx.nonce
    }
    fn gas_limit(&self) -> u64 {
        self.tx.gas_limit
    }
    fn gas_price(&self) -> u64 {
        self.tx.gas_price
    }
    fn value(&self) -> U256 {
        self.tx.value
    }
    fn action(&self) -> &TxAction {
        &self.tx.action
    }
}

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
    SignedTransaction::decode_exact(bytes).map_err(|e| AdmissionError::BadEncoding(e.to_string()))
}

/// Decodes EIP-2718 bytes (`eth_sendRawTransaction`).
///
/// # Errors
///
/// Until the chain's Ethereum envelope lands, every input: the node cannot
/// include Ethereum transactions yet.
pub fn decode_ethereum(raw: &[u8]) -> Result<NodeTx, String> {
    if raw.is_empty() {
        return Err("empty transaction".into());
    }
    Err("Ethereum typed transactions are not supported by this chain yet; send native transactions with cairn_sendRawTransaction".into())
}

/// The Ethereum JSON-RPC shape of a transaction: its EIP-2718 envelope with
/// the node's hash. A native transaction is shown as a legacy (type 0)
/// transaction with its own fields, signature (`v` = 27 + recovery id) and
/// hash; a deploy's `input` is SCALE `(code, data)`, as an Ethereum deploy
/// carries it.
pub fn ethereum_view(tx: &NodeTx) -> TxEnvelope {
    let (to, input) = match &tx.tx.action {
        TxAction::Call { to, data } => (TxKind::Call(to_alloy_address(to)), data.clone()),
        TxAction::Deploy { code, data } => (TxKind::Create, (code, data).encode()),
    };
    let legacy = TxLegacy {
        chain_id: Some(tx.tx.chain_id),
        nonce: tx.tx.nonce,
        gas_price: u128::from(tx.tx.gas_price),
        gas_limit: tx.tx.gas_limit,
        to,
        value: to_alloy_u256(&tx.tx.value),
        input: Bytes::from(input),
    };
    let sig = &tx.signature;
    let signature = Signature::new(
        alloy_primitives::U256::from_be_slice(&sig[..32]),
        alloy_primitives::U256::from_be_slice(&sig[32..64]),
        sig[64] == 1,
    );
    TxEnvelope::Legacy(Signed::new_unchecked(
        legacy,
        signature,
        to_alloy_b256(&tx.hash()),
    ))
}

/// Intrinsic gas of a transaction doing `action` (what `eth_estimateGas`
/// adds to a message's gas): the chain's own rule.
pub fn intrinsic_gas_of(action: &TxAction) -> u64 {
    let tx = SignedTransaction {
        tx: cairn_chain::Transaction {
            chain_id: 0,
            nonce: 0,
            gas_limit: 0,
            gas_price: 0,
            value: U256::zero(),
            action: action.clone(),
        },
        signature: [0; 65],
    };
    cairn_chain::admission::intrinsic_gas(&tx)
}
