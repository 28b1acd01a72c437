//! Block headers, blocks and receipts.
//!
//! Normative text: `specs/chain.md` ("Blocks", "Receipts").

use cairn_host_api::world::{Address, H256};
use parity_scale_codec::{Decode, Encode};

use crate::keys::keccak256;
use crate::merkle::merkle_root;
use crate::tx::Envelope;
use cairn_engine::runtime::{ExecStatus, Log};

/// A block header. Its hash is keccak256 of its SCALE encoding.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct BlockHeader {
    /// Hash of the parent header (zero for genesis).
    pub parent_hash: H256,
    /// Height; genesis is 0.
    pub number: u64,
    /// Seconds since the Unix epoch, chosen by the producer; never below the parent's.
    pub timestamp: u64,
    /// Receives the fees of the block's transactions.
    pub beneficiary: Address,
    /// Most gas the block's transactions may use together.
    pub gas_limit: u64,
    /// Gas the block's transactions used together.
    pub gas_used: u64,
    /// Binary Merkle root over the SCALE encodings of the signed transactions.
    pub tx_root: H256,
    /// Binary Merkle root over the SCALE encodings of the receipts.
    pub receipts_root: H256,
    /// State root after the block.
    pub state_root: H256,
    /// Hash of the gas schedule the block was executed with.
    pub schedule_hash: H256,
    /// Host API version the block was executed with.
    pub host_api_version: u32,
}

impl BlockHeader {
    /// keccak256 of the SCALE encoding.
    pub fn hash(&self) -> H256 {
        keccak256(&self.encode())
    }
}

/// A header and its transactions, in execution order.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// Signed transactions (native or Ethereum), executed in this order.
    pub transactions: Vec<Envelope>,
}

impl Block {
    /// The SCALE encoding (the block file format of `cairn block apply`).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode()
    }

    /// The root of the block's transactions as the header must state it.
    pub fn compute_tx_root(&self) -> H256 {
        merkle_root(self.transactions.iter().map(Encode::encode))
    }
}

/// What one included transaction did.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Receipt {
    /// Success with return data, revert with revert data, or halt with its reason.
    pub status: ExecStatus,
    /// Gas charged for the transaction, intrinsic gas included.
    pub gas_used: u64,
    /// Gas used by this and all earlier transactions of the block.
    pub cumulative_gas_used: u64,
    /// Logs, in emission order (empty unless the status is success).
    pub logs: Vec<Log>,
    /// Address of the contract a successful deploy created.
    pub contract_address: Option<Address>,
}

impl Receipt {
    /// Whether the transaction succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self.status, ExecStatus::Success { .. })
    }

    /// The first field in which `self` and `other` differ, with both values
    /// rendered for a divergence report.
    pub fn first_difference(&self, other: &Receipt) -> Option<(&'static str, String, String)> {
        if self.status != other.status {
            return Some((
                "status",
                format!("{:?}", self.status),
                format!("{:?}", other.status),
            ));
        }
        if self.gas_used != other.gas_used {
            return Some((
                "gas_used",
                self.gas_used.to_string(),
                other.gas_used.to_string(),
            ));
        }
        if self.cumulative_gas_used != other.cumulative_gas_used {
            return Some((
                "cumulative_gas_used",
                self.cumulative_gas_used.to_string(),
                other.cumulative_gas_used.to_string(),
            ));
        }
        if self.logs != other.logs {
            return Some((
                "logs",
                format!("{:?}", self.logs),
                format!("{:?}", other.logs),
            ));
        }
        if self.contract_address != other.contract_address {
            return Some((
                "contract_address",
                format!("{:?}", self.contract_address),
                format!("{:?}", other.contract_address),
            ));
        }
        None
    }
}

/// The SCALE encoding of a block's receipts (how they are stored).
pub fn encode_receipts(receipts: &[Receipt]) -> Vec<u8> {
    receipts.encode()
}

/// The receipts root: binary Merkle root over the SCALE encodings.
pub fn receipts_root(receipts: &[Receipt]) -> H256 {
    merkle_root(receipts.iter().map(Encode::encode))
}

/// The first header field in which `expected` and `computed` differ, with
/// both values rendered as text.
pub fn header_difference(
    expected: &BlockHeader,
    computed: &BlockHeader,
) -> Option<(&'static str, String, String)> {
    macro_rules! compare {
        ($($field:ident),*) => {$(
            if expected.$field != computed.$field {
                return Some((stringify!($field), format!("{:?}", expected.$field), format!("{:?}", computed.$field)));
            }
        )*};
    }
    compare!(
        parent_hash,
        number,
        timestamp,
        beneficiary,
        gas_limit,
        tx_root,
        gas_used,
        receipts_root,
        state_root,
        schedule_hash,
        host_api_version
    );
    None
}
