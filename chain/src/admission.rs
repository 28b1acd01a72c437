//! Admission: the checks a transaction must pass to be included in a block.
//!
//! A transaction that fails one is not included and changes nothing; each
//! check has its own [`AdmissionError`] variant. Normative text:
//! `specs/chain.md` ("Admission").

use cairn_host_api::world::{Account, Address, U256};

use crate::keys::SignatureError;
use crate::tx::{Envelope, TxAction};

/// Gas every transaction pays before it runs.
pub const TX_BASE_GAS: u64 = 21_000;
/// Extra gas a deploy pays before it runs.
pub const DEPLOY_BASE_GAS: u64 = 32_000;
/// Gas per byte of call data (or of code plus constructor data).
pub const TX_GAS_PER_BYTE: u64 = 16;
/// Largest accepted SCALE encoding of a signed transaction, in bytes.
pub const MAX_TX_BYTES: usize = 256 * 1024;

/// Why a transaction cannot be included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdmissionError {
    /// The bytes are not one SCALE-encoded signed transaction.
    #[error("bad transaction encoding: {0}")]
    BadEncoding(String),
    /// The encoding exceeds [`MAX_TX_BYTES`].
    #[error("transaction is {size} bytes, above the limit of {limit}")]
    Oversize {
        /// Encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The signature does not recover a sender.
    #[error("bad signature: {0}")]
    BadSignature(#[from] SignatureError),
    /// The transaction is for another chain.
    #[error("wrong chain id: transaction has {got}, this chain is {expected}")]
    WrongChainId {
        /// This chain's id.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The gas limit exceeds the gas the block has left.
    #[error("gas limit {gas_limit} is above the {available} gas left in the block")]
    GasLimitAboveBlock {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// Block gas limit minus gas already used in the block.
        available: u64,
    },
    /// The gas limit does not cover the intrinsic gas.
    #[error("intrinsic gas {intrinsic} is above the gas limit {gas_limit}")]
    IntrinsicGasAboveLimit {
        /// Base plus per-byte gas.
        intrinsic: u64,
        /// The transaction's gas limit.
        gas_limit: u64,
    },
    /// The nonce is not the sender's next one.
    #[error("nonce {got} of sender {sender:?} is not the next one ({expected})")]
    NonceNotNext {
        /// The sender.
        sender: Address,
        /// The account's nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The sender cannot pay gas limit x gas price + value.
    #[error(
        "balance {balance} of sender {sender:?} is below gas limit x gas price + value = {needed}"
    )]
    InsufficientBalance {
        /// The sender.
        sender: Address,
        /// What the sender has.
        balance: U256,
        /// What the transaction may cost.
        needed: U256,
    },
}

/// Intrinsic gas of `tx`: [`TX_BASE_GAS`], plus [`DEPLOY_BASE_GAS`] for a
/// deploy, plus [`TX_GAS_PER_BYTE`] per payload byte (saturating).
pub fn intrinsic_gas(tx: &Envelope) -> u64 {
    let base = match tx.action() {
        TxAction::Call { .. } => TX_BASE_GAS,
        TxAction::Deploy { .. } => TX_BASE_GAS + DEPLOY_BASE_GAS,
    };
    let bytes = u64::try_from(tx.payload_len()).unwrap_or(u64::MAX);
    base.saturating_add(TX_GAS_PER_BYTE.saturating_mul(bytes))
}

/// The most a transaction can cost its sender: gas limit x gas price + value.
pub fn max_cost(tx: &Envelope) -> U256 {
    U256::from(tx.gas_limit())
        .saturating_mul(U256::from(tx.gas_price()))
        .saturating_add(tx.value())
}

/// The checks that need no state: size, chain id, gas limits. Run before
/// signature recovery so cheap rejections stay cheap.
///
/// # Errors
///
/// The first failing check.
pub fn check_stateless(
    tx: &Envelope,
    encoded_len: usize,
    chain_id: u64,
    block_gas_available: u64,
) -> Result<(), AdmissionError> {
    if encoded_len > MAX_TX_BYTES {
        return Err(AdmissionError::Oversize {
            size: encoded_len,
            limit: MAX_TX_BYTES,
        });
    }
    if tx.chain_id() != chain_id {
        return Err(AdmissionError::WrongChainId {
            expected: chain_id,
            got: tx.chain_id(),
        });
    }
    if tx.gas_limit() > block_gas_available {
        return Err(AdmissionError::GasLimitAboveBlock {
            gas_limit: tx.gas_limit(),
            available: block_gas_available,
        });
    }
    let intrinsic = intrinsic_gas(tx);
    if intrinsic > tx.gas_limit() {
        return Err(AdmissionError::IntrinsicGasAboveLimit {
            intrinsic,
            gas_limit: tx.gas_limit(),
        });
    }
    Ok(())
}

/// The checks against the sender's account: nonce and balance.
///
/// # Errors
///
/// The first failing check.
pub fn check_sender(
    tx: &Envelope,
    sender: Address,
    account: &Account,
) -> Result<(), AdmissionError> {
    if tx.nonce() != account.nonce {
        return Err(AdmissionError::NonceNotNext {
            sender,
            expected: account.nonce,
            got: tx.nonce(),
        });
    }
    let needed = max_cost(tx);
    if account.balance < needed {
        return Err(AdmissionError::InsufficientBalance {
            sender,
            balance: account.balance,
            needed,
        });
    }
    Ok(())
}
