//! Ethereum typed transactions: the second transaction envelope, so any
//! Ethereum wallet or library can sign for Cairn.
//!
//! Accepted: legacy transactions with an EIP-155 chain id, and EIP-1559
//! (type 2) transactions with an empty access list, in their EIP-2718 bytes.
//! Everything else (EIP-2930, EIP-4844, EIP-7702, pre-EIP-155 legacy,
//! non-canonical encodings, trailing bytes) is refused. The bytes are
//! decoded with alloy's consensus crates; the sender is recovered with
//! Cairn's own secp256k1 ([`cairn_engine::crypto`], low-s only, as Ethereum
//! requires since Homestead). Normative text: `specs/chain.md`
//! ("Ethereum transactions").
//!
//! How the fields map onto Cairn's:
//! - `chain_id`, `nonce`, `gas_limit`, `value`: as they are;
//! - gas price: Cairn has no base fee, so the effective gas price is
//!   `gas_price` (legacy) or `min(max_fee_per_gas, max_priority_fee_per_gas)`
//!   (EIP-1559: the EIP-1559 rule with a base fee of zero); it must fit in a
//!   u64;
//! - `to` present: a call of `to` with `data` as call data;
//! - `to` absent: a deploy; `data` must be the SCALE encoding of
//!   `(code: Vec<u8>, input: Vec<u8>)`, exactly: the Wasm code and the
//!   `deploy` export's call data (a Wasm module cannot take constructor bytes
//!   appended, as EVM init code can);
//! - transaction hash: Ethereum's, keccak256 of the EIP-2718 bytes.

use alloy_consensus::TxEnvelope;
use alloy_consensus::transaction::Transaction as _;
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::TxKind;
use cairn_engine::crypto::{SignatureError, recover_address};
use cairn_host_api::keccak256;
use cairn_host_api::world::{Address, H256, U256};
use parity_scale_codec::{Decode, Encode, Input, Output};

use crate::codec::decode_exact;
use crate::tx::TxAction;

/// Which Ethereum transaction type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EthereumTxType {
    /// Type 0, with an EIP-155 chain id.
    Legacy,
    /// Type 2.
    Eip1559,
}

impl EthereumTxType {
    /// The EIP-2718 type byte.
    pub const fn type_byte(self) -> u8 {
        match self {
            Self::Legacy => 0,
            Self::Eip1559 => 2,
        }
    }
}

/// Why bytes are not an acceptable Ethereum transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EthereumTxError {
    /// Not one well-formed EIP-2718 transaction.
    #[error("not an Ethereum transaction: {0}")]
    Malformed(String),
    /// Decodes, but re-encodes to other bytes (non-canonical RLP).
    #[error("the transaction is not canonically encoded")]
    NonCanonical,
    /// A type Cairn does not accept.
    #[error(
        "Ethereum transaction type {0} is not supported (only legacy with EIP-155 and EIP-1559)"
    )]
    UnsupportedType(u8),
    /// A legacy transaction without an EIP-155 chain id (replayable across chains).
    #[error("only replay-protected (EIP-155) legacy transactions are accepted")]
    NoChainId,
    /// An EIP-1559 transaction with a non-empty access list.
    #[error("access lists are not supported")]
    AccessList,
    /// The effective gas price does not fit in 64 bits.
    #[error("effective gas price {0} is above the largest Cairn gas price (2^64 - 1)")]
    GasPriceTooHigh(u128),
    /// `max_priority_fee_per_gas` above `max_fee_per_gas`.
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    /// A deploy whose data is not SCALE `(code, input)`.
    #[error("a deploy's data must be the SCALE encoding of (code: Vec<u8>, input: Vec<u8>): {0}")]
    DeployPayload(String),
}

/// A signed Ethereum transaction, decoded and checked once. Its SCALE
/// encoding (as it sits in a block) is that of its EIP-2718 bytes
/// (`Vec<u8>`); decoding re-checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthereumTransaction {
    raw: Vec<u8>,
    tx_type: EthereumTxType,
    hash: H256,
    signing_hash: H256,
    signature: [u8; 64],
    recovery_id: u8,
    chain_id: u64,
    nonce: u64,
    gas_limit: u64,
    gas_price: u64,
    value: U256,
    action: TxAction,
}

fn u256_of(value: alloy_primitives::U256) -> U256 {
    U256::from_big_endian(&value.to_be_bytes::<32>())
}

impl EthereumTransaction {
    /// Decodes and checks EIP-2718 bytes (what `eth_sendRawTransaction`
    /// carries).
    ///
    /// # Errors
    ///
    /// An [`EthereumTxError`] naming what is not accepted.
    pub fn from_raw(raw: &[u8]) -> Result<Self, EthereumTxError> {
        if let Some(&first) = raw.first()
            && first < 0x7f
            && first != 2
        {
            // A typed transaction of a type we do not take: say which.
            return Err(EthereumTxError::UnsupportedType(first));
        }
        let envelope = TxEnvelope::decode_2718_exact(raw)
            .map_err(|e| EthereumTxError::Malformed(e.to_string()))?;
        if envelope.encoded_2718() != raw {
            return Err(EthereumTxError::NonCanonical);
        }
        let (tx_type, chain_id, gas_price) = match &envelope {
            TxEnvelope::Legacy(signed) => {
                let tx = signed.tx();
                let chain_id = tx.chain_id.ok_or(EthereumTxError::NoChainId)?;
                (EthereumTxType::Legacy, chain_id, tx.gas_price)
            }
            TxEnvelope::Eip1559(signed) => {
                let tx = signed.tx();
                if !tx.access_list.is_empty() {
                    return Err(EthereumTxError::AccessList);
                }
                if tx.max_priority_fee_per_gas > tx.max_fee_per_gas {
                    return Err(EthereumTxError::TipAboveFeeCap);
                }
                (
                    EthereumTxType::Eip1559,
                    tx.chain_id,
                    tx.max_fee_per_gas.min(tx.max_priority_fee_per_gas),
                )
            }
            other => return Err(EthereumTxError::UnsupportedType(other.tx_type() as u8)),
        };
        let gas_price =
            u64::try_from(gas_price).map_err(|_| EthereumTxError::GasPriceTooHigh(gas_price))?;
        let action = match envelope.kind() {
            TxKind::Call(to) => TxAction::Call {
                to: Address::from_slice(to.as_slice()),
                data: envelope.input().to_vec(),
            },
            TxKind::Create => {
                let (code, data): (Vec<u8>, Vec<u8>) = decode_exact(envelope.input())
                    .map_err(|e| EthereumTxError::DeployPayload(e.to_string()))?;
                TxAction::Deploy { code, data }
            }
        };
        let signature = envelope.signature();
        let mut compact = [0u8; 64];
        compact[..32].copy_from_slice(&signature.r().to_be_bytes::<32>());
        compact[32..].copy_from_slice(&signature.s().to_be_bytes::<32>());
        Ok(Self {
            raw: raw.to_vec(),
            tx_type,
            hash: keccak256(raw),
            signing_hash: H256(envelope.signature_hash().0),
            signature: compact,
            recovery_id: u8::from(signature.v()),
            chain_id,
            nonce: envelope.nonce(),
            gas_limit: envelope.gas_limit(),
            gas_price,
            value: u256_of(envelope.value()),
            action,
        })
    }

    /// The EIP-2718 bytes, as signed and sent.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Legacy or EIP-1559.
    pub fn tx_type(&self) -> EthereumTxType {
        self.tx_type
    }

    /// Ethereum's transaction hash: keccak256 of the EIP-2718 bytes.
    pub fn hash(&self) -> H256 {
        self.hash
    }

    /// The digest the sender signed (EIP-155 or EIP-1559 signing hash).
    pub fn signing_hash(&self) -> H256 {
        self.signing_hash
    }

    /// The sender, recovered from the signature.
    ///
    /// # Errors
    ///
    /// A [`SignatureError`] if the signature is high-s, out of range or
    /// does not recover.
    pub fn recover_sender(&self) -> Result<Address, SignatureError> {
        recover_address(&self.signing_hash, &self.signature, self.recovery_id)
    }

    /// The chain id the transaction is signed for.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The sender's nonce.
    pub fn nonce(&self) -> u64 {
        self.nonce
    }

    /// The gas limit.
    pub fn gas_limit(&self) -> u64 {
        self.gas_limit
    }

    /// The effective gas price (no base fee).
    pub fn gas_price(&self) -> u64 {
        self.gas_price
    }

    /// The value sent.
    pub fn value(&self) -> U256 {
        self.value
    }

    /// Call or deploy.
    pub fn action(&self) -> &TxAction {
        &self.action
    }

    /// `r || s` and the recovery id (y parity).
    pub fn signature(&self) -> ([u8; 64], u8) {
        (self.signature, self.recovery_id)
    }
}

impl Encode for EthereumTransaction {
    fn size_hint(&self) -> usize {
        self.raw.size_hint()
    }

    fn encode_to<T: Output + ?Sized>(&self, dest: &mut T) {
        self.raw.encode_to(dest);
    }
}

impl Decode for EthereumTransaction {
    fn decode<I: Input>(input: &mut I) -> Result<Self, parity_scale_codec::Error> {
        let raw = Vec::<u8>::decode(input)?;
        Self::from_raw(&raw).map_err(|_| "not an acceptable Ethereum transaction".into())
    }
}

#[cfg(test)]
mod tests {
    use alloy_consensus::{SignableTransaction, TxEip1559, TxLegacy};
    use alloy_primitives::{Bytes, Signature, TxKind};
    use cairn_engine::runtime::{ExecConfig, Executor};
    use cairn_state::MemoryStore;
    use parity_scale_codec::Encode;

    use super::*;
    use crate::admission::AdmissionError;
    use crate::chain::Chain;
    use crate::genesis::{Genesis, GenesisAccount};
    use crate::keys::SigningKey;
    use crate::replay::{ReplayOptions, replay};
    use crate::tx::{Envelope, Transaction};

    const CHAIN_ID: u64 = 31_337;

    fn alloy_u256(value: u64) -> alloy_primitives::U256 {
        alloy_primitives::U256::from(value)
    }

    /// Signs `tx` with `key` the way a wallet does: over alloy's signing
    /// hash, low-s, recovery id as y parity.
    fn sign<T: SignableTransaction<Signature>>(tx: T, key: &SigningKey) -> Vec<u8>
    where
        alloy_consensus::TxEnvelope: From<alloy_consensus::Signed<T>>,
    {
        let digest = H256(tx.signature_hash().0);
        let rsv = key.sign_digest(&digest);
        let signature = Signature::new(
            alloy_primitives::U256::from_be_slice(&rsv[..32]),
            alloy_primitives::U256::from_be_slice(&rsv[32..64]),
            rsv[64] == 1,
        );
        TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
    }

    fn eip1559(nonce: u64, to: TxKind, value: u64, input: Vec<u8>, tip: u128) -> TxEip1559 {
        TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: 2_000_000,
            max_fee_per_gas: 50,
            max_priority_fee_per_gas: tip,
            to,
            value: alloy_u256(value),
            access_list: Default::default(),
            input: Bytes::from(input),
        }
    }

    fn chain_for(key: &SigningKey) -> Chain<MemoryStore> {
        let genesis = Genesis {
            chain_id: CHAIN_ID,
            block_gas_limit: 1_000_000_000,
            timestamp: 0,
            accounts: vec![GenesisAccount {
                address: key.address(),
                balance: U256::from(10u64).pow(U256::from(20u64)),
            }],
            contracts: vec![],
            validators: Vec::new(),
        };
        Chain::init(
            MemoryStore::in_memory(),
            Executor::new(ExecConfig::default()),
            genesis,
        )
        .unwrap()
    }

    #[test]
    fn ethereum_and_native_transactions_share_blocks_nonces_and_replay() {
        let key = SigningKey::from_seed(b"wallet");
        let mut chain = chain_for(&key);
        let bob = Address::repeat_byte(0xb0);
        let code =
            wat::parse_str(r#"(module (memory (export "memory") 1 1) (func (export "call")))"#)
                .unwrap();
        let deploy_data = (code.clone(), Vec::<u8>::new()).encode();
        let eth_transfer = sign(
            eip1559(
                0,
                TxKind::Call(alloy_primitives::Address::from(bob.0)),
                1_000,
                vec![],
                7,
            ),
            &key,
        );
        let native = Transaction {
            chain_id: CHAIN_ID,
            nonce: 1,
            gas_limit: 21_000,
            gas_price: 1,
            value: U256::from(5u8),
            action: TxAction::Call {
                to: bob,
                data: vec![],
            },
        }
        .sign(&key);
        let legacy = TxLegacy {
            chain_id: Some(CHAIN_ID),
            nonce: 2,
            gas_price: 3,
            gas_limit: 21_000,
            to: TxKind::Call(alloy_primitives::Address::from(bob.0)),
            value: alloy_u256(1),
            input: Bytes::new(),
        };
        let eth_legacy = sign(legacy, &key);
        let eth_deploy = sign(eip1559(3, TxKind::Create, 0, deploy_data, 50), &key);
        let txs: Vec<Envelope> = vec![
            EthereumTransaction::from_raw(&eth_transfer).unwrap().into(),
            native.into(),
            EthereumTransaction::from_raw(&eth_legacy).unwrap().into(),
            EthereumTransaction::from_raw(&eth_deploy).unwrap().into(),
        ];
        let hashes: Vec<H256> = txs.iter().map(Envelope::hash).collect();
        let (block, receipts, rejected) = chain.produce_block(1, Address::zero(), txs).unwrap();
        assert!(rejected.is_empty(), "{rejected:?}");
        assert!(receipts.iter().all(|r| r.is_success()), "{receipts:?}");
        assert_eq!(chain.account(&bob).unwrap().balance, U256::from(1_006u64));
        // The deploy lands at Cairn's address for (sender, nonce 3), as its
        // receipt says (not Ethereum's CREATE address).
        let created = crate::tx::contract_address(&key.address(), 3);
        assert_eq!(receipts[3].contract_address, Some(created));
        assert!(chain.account(&created).unwrap().code_hash.is_some());
        // Fees at the effective price: 21,000 x 7, x 1, x 3, deploy x 50.
        let sender = chain.account(&key.address()).unwrap();
        assert_eq!(sender.nonce, 4);
        let spent = U256::from(21_000u64 * (7 + 1 + 3)) + U256::from(receipts[3].gas_used * 50);
        assert_eq!(
            sender.balance,
            U256::from(10u64).pow(U256::from(20u64)) - spent - U256::from(1_006u64)
        );
        // Ethereum transactions are found by Ethereum's hash.
        assert_eq!(hashes[0], keccak256(&eth_transfer));
        assert_eq!(chain.tx_location(&hashes[0]).unwrap(), Some((1, 0)));
        assert_eq!(chain.tx_location(&hashes[3]).unwrap(), Some((1, 3)));
        assert_eq!(block.transactions.len(), 4);
        let report = replay(
            chain.state(),
            MemoryStore::in_memory(),
            &ReplayOptions::default(),
            |_, _| {},
        )
        .unwrap();
        assert!(report.verified(), "{:?}", report.divergence);
    }

    #[test]
    fn bad_ethereum_transactions_are_refused_and_change_nothing() {
        let key = SigningKey::from_seed(b"wallet");
        let mut chain = chain_for(&key);
        let bob = TxKind::Call(alloy_primitives::Address::repeat_byte(0xb0));
        let root = chain.head().state_root;
        // Signed for another chain.
        let mut other_chain = eip1559(0, bob, 1, vec![], 1);
        other_chain.chain_id = 1;
        // A high-s twin of a valid signature: same transaction, malleated.
        let good =
            EthereumTransaction::from_raw(&sign(eip1559(0, bob, 1, vec![], 1), &key)).unwrap();
        let (compact, v) = good.signature();
        let order = U256::from_big_endian(
            &hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
                .unwrap(),
        );
        let high_s = order - U256::from_big_endian(&compact[32..]);
        let twin_signature = Signature::new(
            alloy_primitives::U256::from_be_slice(&compact[..32]),
            alloy_primitives::U256::from_be_bytes(high_s.to_big_endian()),
            v == 0,
        );
        let twin = TxEnvelope::from(eip1559(0, bob, 1, vec![], 1).into_signed(twin_signature))
            .encoded_2718();
        type Case = (Vec<u8>, fn(&AdmissionError) -> bool);
        let cases: Vec<Case> = vec![
            (sign(other_chain, &key), |e| {
                matches!(e, AdmissionError::WrongChainId { .. })
            }),
            (twin, |e| {
                matches!(e, AdmissionError::BadSignature(SignatureError::HighS))
            }),
            (sign(eip1559(5, bob, 1, vec![], 1), &key), |e| {
                matches!(e, AdmissionError::NonceNotNext { .. })
            }),
        ];
        for (raw, expected) in cases {
            let tx = EthereumTransaction::from_raw(&raw).unwrap();
            let (block, receipts, rejected) =
                chain.produce_block(1, Address::zero(), vec![tx]).unwrap();
            assert!(receipts.is_empty() && block.transactions.is_empty());
            assert!(expected(&rejected[0].1), "{:?}", rejected[0].1);
            assert_eq!(block.header.state_root, root);
        }
        // Garbage never decodes.
        for garbage in [&b""[..], b"\x02", b"\xc0", b"\x02\xc0", &[0xff; 40]] {
            assert!(
                EthereumTransaction::from_raw(garbage).is_err(),
                "{garbage:?}"
            );
        }
    }
}
