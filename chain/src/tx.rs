//! Transactions: SCALE encoding, signing, hashes, contract addresses.
//!
//! Normative text: `specs/chain.md` ("Transactions").

use cairn_host_api::world::{Address, H256, U256};
use parity_scale_codec::{Decode, Encode};

use crate::codec::decode_exact;
use crate::ethereum::EthereumTransaction;
use crate::keys::{SignatureError, SigningKey, keccak256, recover_address};

/// What a transaction does.
#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index to u8"
)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum TxAction {
    /// Call the contract at `to` with `data` (or only move the value if `to`
    /// has no code).
    Call {
        /// The callee.
        to: Address,
        /// Call data.
        data: Vec<u8>,
    },
    /// Deploy `code` at the address given by [`contract_address`] and run its
    /// optional `deploy` export with `data` as call data.
    Deploy {
        /// Original Wasm code.
        code: Vec<u8>,
        /// Constructor call data.
        data: Vec<u8>,
    },
}

/// An unsigned transaction. Its SCALE encoding is what gets signed.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Transaction {
    /// Chain the transaction is valid on (replay protection across chains).
    pub chain_id: u64,
    /// Must equal the sender's account nonce.
    pub nonce: u64,
    /// Gas the sender pays for at most, intrinsic gas included.
    pub gas_limit: u64,
    /// Native units paid per gas used.
    pub gas_price: u64,
    /// Value moved from the sender to the callee / new contract.
    pub value: U256,
    /// Call or deploy.
    pub action: TxAction,
}

impl Transaction {
    /// The digest the sender signs: keccak256 of the SCALE encoding.
    pub fn signing_hash(&self) -> H256 {
        keccak256(&self.encode())
    }

    /// Signs the transaction.
    pub fn sign(self, key: &SigningKey) -> SignedTransaction {
        let signature = key.sign_digest(&self.signing_hash());
        SignedTransaction {
            tx: self,
            signature,
        }
    }

    /// Bytes of call data or code + constructor data, the base of intrinsic gas.
    pub fn payload_len(&self) -> usize {
        match &self.action {
            TxAction::Call { data, .. } => data.len(),
            TxAction::Deploy { code, data } => code.len().saturating_add(data.len()),
        }
    }
}

/// A transaction with its recoverable signature `r || s || v`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedTransaction {
    /// The signed transaction.
    pub tx: Transaction,
    /// `r || s || v`, `v` in {0, 1}, `s` at most half the curve order.
    pub signature: [u8; 65],
}

impl SignedTransaction {
    /// The transaction hash: keccak256 of the SCALE encoding of the signed
    /// transaction (so it commits to the signature too).
    pub fn hash(&self) -> H256 {
        keccak256(&self.encode())
    }

    /// The SCALE encoding (what the tx root and the tx hash commit to).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode()
    }

    /// The sender, recovered from the signature.
    ///
    /// # Errors
    ///
    /// A [`SignatureError`] if the signature is malformed, high-s or does not recover.
    pub fn recover_sender(&self) -> Result<Address, SignatureError> {
        recover_address(&self.tx.signing_hash(), &self.signature)
    }

    /// Decodes a signed transaction, refusing trailing bytes.
    ///
    /// # Errors
    ///
    /// [`parity_scale_codec::Error`] if `bytes` is not exactly one encoding.
    pub fn decode_exact(bytes: &[u8]) -> Result<Self, parity_scale_codec::Error> {
        decode_exact(bytes)
    }
}

/// A transaction as a block holds it: Cairn's native SCALE transaction, or
/// an Ethereum typed transaction any Ethereum wallet can sign. Both run the
/// same way once their fields are read (`specs/chain.md`, "Transactions").
#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index"
)]
#[allow(
    clippy::large_enum_variant,
    reason = "both variants are heap-backed transactions of similar size"
)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Envelope {
    /// Cairn's SCALE transaction, signed over its SCALE encoding.
    #[codec(index = 0)]
    Native(SignedTransaction),
    /// An Ethereum legacy (EIP-155) or EIP-1559 transaction.
    #[codec(index = 1)]
    Ethereum(EthereumTransaction),
}

impl From<SignedTransaction> for Envelope {
    fn from(tx: SignedTransaction) -> Self {
        Self::Native(tx)
    }
}

impl From<EthereumTransaction> for Envelope {
    fn from(tx: EthereumTransaction) -> Self {
        Self::Ethereum(tx)
    }
}

impl Envelope {
    /// The transaction hash: keccak256 of the native SCALE encoding, or
    /// Ethereum's hash (keccak256 of the EIP-2718 bytes).
    pub fn hash(&self) -> H256 {
        match self {
            Self::Native(tx) => tx.hash(),
            Self::Ethereum(tx) => tx.hash(),
        }
    }

    /// The sender, recovered from the signature.
    ///
    /// # Errors
    ///
    /// A [`SignatureError`] if the signature is malformed, high-s or does not recover.
    pub fn recover_sender(&self) -> Result<Address, SignatureError> {
        match self {
            Self::Native(tx) => tx.recover_sender(),
            Self::Ethereum(tx) => tx.recover_sender(),
        }
    }

    /// The chain id it is signed for.
    pub fn chain_id(&self) -> u64 {
        match self {
            Self::Native(tx) => tx.tx.chain_id,
            Self::Ethereum(tx) => tx.chain_id(),
        }
    }

    /// The sender's nonce it uses.
    pub fn nonce(&self) -> u64 {
        match self {
            Self::Native(tx) => tx.tx.nonce,
            Self::Ethereum(tx) => tx.nonce(),
        }
    }

    /// Gas the sender pays for at most, intrinsic gas included.
    pub fn gas_limit(&self) -> u64 {
        match self {
            Self::Native(tx) => tx.tx.gas_limit,
            Self::Ethereum(tx) => tx.gas_limit(),
        }
    }

    /// Native units paid per gas used (for an Ethereum transaction, the
    /// effective gas price).
    pub fn gas_price(&self) -> u64 {
        match self {
            Self::Native(tx) => tx.tx.gas_price,
            Self::Ethereum(tx) => tx.gas_price(),
        }
    }

    /// The value moved to the callee or the new contract.
    pub fn value(&self) -> U256 {
        match self {
            Self::Native(tx) => tx.tx.value,
            Self::Ethereum(tx) => tx.value(),
        }
    }

    /// Call or deploy.
    pub fn action(&self) -> &TxAction {
        match self {
            Self::Native(tx) => &tx.tx.action,
            Self::Ethereum(tx) => tx.action(),
        }
    }

    /// Bytes of call data or code + constructor data, the base of intrinsic gas.
    pub fn payload_len(&self) -> usize {
        match self.action() {
            TxAction::Call { data, .. } => data.len(),
            TxAction::Deploy { code, data } => code.len().saturating_add(data.len()),
        }
    }

    /// The SCALE encoding, as the block and the tx root hold it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode()
    }

    /// Decodes one envelope, refusing trailing bytes.
    ///
    /// # Errors
    ///
    /// [`parity_scale_codec::Error`] if `bytes` is not exactly one encoding.
    pub fn decode_exact(bytes: &[u8]) -> Result<Self, parity_scale_codec::Error> {
        decode_exact(bytes)
    }
}

/// The address of a contract deployed by `sender` with transaction nonce
/// `nonce`: the last 20 bytes of
/// keccak256(`"cairn/contract"` || sender || nonce as u64 little-endian).
pub fn contract_address(sender: &Address, nonce: u64) -> Address {
    let mut preimage = Vec::with_capacity(14 + 20 + 8);
    preimage.extend_from_slice(b"cairn/contract");
    preimage.extend_from_slice(sender.as_bytes());
    preimage.extend_from_slice(&nonce.to_le_bytes());
    Address::from_slice(&keccak256(&preimage).as_bytes()[12..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Transaction {
        Transaction {
            chain_id: 7,
            nonce: 3,
            gas_limit: 100_000,
            gas_price: 1,
            value: U256::from(5u64),
            action: TxAction::Call {
                to: Address::repeat_byte(0x11),
                data: vec![1, 2, 3],
            },
        }
    }

    #[test]
    fn signed_tx_roundtrips_and_recovers_sender() {
        let key = SigningKey::from_seed(b"alice");
        let signed = sample().sign(&key);
        let bytes = signed.encode();
        let decoded = SignedTransaction::decode_exact(&bytes).unwrap();
        assert_eq!(decoded, signed);
        assert_eq!(decoded.recover_sender(), Ok(key.address()));
        assert_eq!(decoded.hash(), keccak256(&bytes));
    }

    #[test]
    fn any_field_change_changes_sender_or_fails() {
        let key = SigningKey::from_seed(b"alice");
        let mut signed = sample().sign(&key);
        signed.tx.nonce += 1;
        assert_ne!(signed.recover_sender(), Ok(key.address()));
    }

    #[test]
    fn trailing_and_truncated_bytes_are_refused() {
        let bytes = sample().sign(&SigningKey::from_seed(b"a")).encode();
        let mut long = bytes.clone();
        long.push(0);
        assert!(SignedTransaction::decode_exact(&long).is_err());
        assert!(SignedTransaction::decode_exact(&bytes[..bytes.len() - 1]).is_err());
        assert!(SignedTransaction::decode_exact(&[]).is_err());
    }

    #[test]
    fn contract_addresses_differ_by_sender_and_nonce() {
        let a = Address::repeat_byte(1);
        assert_ne!(contract_address(&a, 0), contract_address(&a, 1));
        assert_ne!(
            contract_address(&a, 0),
            contract_address(&Address::repeat_byte(2), 0)
        );
    }
}
