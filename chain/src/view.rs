//! One JSON shape per user-visible thing: receipts, execution outcomes,
//! errors with their diagnostics, blocks, accounts, replay reports and
//! bundle verdicts. Every `--json` of the CLI prints these and the JSON-RPC
//! answers with them, so a field is named and written one way everywhere:
//! byte strings (addresses, hashes, data) as `0x`-prefixed lowercase hex,
//! amounts as decimal strings (they exceed JSON's safe integers), gas and
//! counts as numbers.
//!
//! These are views for people and tools, not consensus encodings: they may
//! gain fields; the SCALE types they are built from are what roots commit to.

use cairn_engine::runtime::{
    BacktraceFrame, ExecOutcome, ExecStatus, FrameTrace, Log, TrapDiagnostics,
};
use cairn_host_api::abi::decode_revert;
use cairn_host_api::world::{Account, Address, H256};
use serde::{Deserialize, Serialize};

use crate::block::{Block, BlockHeader, Receipt};
use crate::bundle::BundleVerification;
use crate::codec::to_hex;
use crate::replay::{Divergence, ReplayReport};
use crate::trace::TxTrace;
use cairn_engine::prepare::{GasSchedule, PreparedCode};
use cairn_state::{Proof, StateRoot};

/// A log (event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogView {
    /// The emitting contract.
    pub address: String,
    /// Topics, topic 0 first.
    pub topics: Vec<String>,
    /// The payload.
    pub data: String,
}

impl From<&Log> for LogView {
    fn from(log: &Log) -> Self {
        Self {
            address: to_hex(log.address),
            topics: log.topics.iter().map(to_hex).collect(),
            data: to_hex(&log.data),
        }
    }
}

/// Why a call did not succeed, and where, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorView {
    /// `revert`, `out_of_gas`, `stack_exhausted`, a trap kind
    /// (`unreachable`, ...), `invalid_code`, `contract_exists`,
    /// `insufficient_balance`, `missing_export` or `instantiation`.
    pub kind: String,
    /// What happened, in words (a revert's decoded reason; a halt's reason
    /// with the trapping function when known).
    pub message: String,
    /// The innermost Wasm function at the halt, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The export that was running (`call` or `deploy`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<String>,
    /// The host function in progress at the halt, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_function: Option<String>,
    /// The counter at the halt where it is known exactly (a host
    /// function; an out-of-gas halt of a traced run, negative when a charge
    /// overran; a frame refused before it ran); absent otherwise
    /// (`TrapDiagnostics::gas_left`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_left: Option<i64>,
    /// Whether the halt charged the frame's whole gas limit (every halt
    /// does: `specs/gas.md`), so `gas_used` equals the limit whatever
    /// `gas_left` says.
    #[serde(default)]
    pub charged_whole_limit: bool,
    /// Call depth of the failed frame (1 = the top-level message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    /// The Wasm call stack at the halt, innermost first, runs of the same
    /// frame collapsed (`f (func 3) x 862`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backtrace: Vec<String>,
}

impl ErrorView {
    /// The error of a status and its diagnostics; `None` for success.
    pub fn of(status: &ExecStatus, diagnostics: Option<&TrapDiagnostics>) -> Option<Self> {
        let (kind, message, halted) = match status {
            ExecStatus::Success { .. } => return None,
            ExecStatus::Revert { data } => {
                ("revert".to_owned(), decode_revert(data).to_string(), false)
            }
            ExecStatus::Halt { reason } => (reason.kind().to_owned(), reason.to_string(), true),
        };
        Some(Self {
            kind,
            message: diagnostics.map_or(message, |d| d.message.clone()),
            function: diagnostics.and_then(|d| d.function.clone()),
            export: diagnostics.map(|d| d.export.clone()),
            host_function: diagnostics.and_then(|d| d.host_function.clone()),
            gas_left: diagnostics.and_then(|d| d.gas_left),
            charged_whole_limit: halted,
            depth: diagnostics.map(|d| d.depth),
            backtrace: diagnostics
                .map(|d| collapse_backtrace(&d.backtrace))
                .unwrap_or_default(),
        })
    }
}

/// A backtrace innermost first, with each run of identical consecutive
/// frames written once with its count (a recursion bomb's 862 frames of one
/// function are one line).
pub fn collapse_backtrace(frames: &[BacktraceFrame]) -> Vec<String> {
    let mut lines: Vec<(String, usize)> = Vec::new();
    for frame in frames.iter().rev() {
        let text = frame.to_string();
        match lines.last_mut() {
            Some((last, count)) if *last == text => *count += 1,
            _ => lines.push((text, 1)),
        }
    }
    lines
        .into_iter()
        .map(|(text, count)| {
            if count == 1 {
                text
            } else {
                format!("{text} x {count}")
            }
        })
        .collect()
}

/// The output bytes of a status: return data, revert data, or nothing.
fn output_of(status: &ExecStatus) -> &[u8] {
    match status {
        ExecStatus::Success { return_data } => return_data,
        ExecStatus::Revert { data } => data,
        ExecStatus::Halt { .. } => &[],
    }
}

/// A transaction's receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptView {
    /// `success`, `revert`, `out_of_gas` or `trap`.
    pub status: String,
    /// Gas charged, intrinsic gas included.
    pub gas_used: u64,
    /// Gas used by this and every earlier transaction of the block.
    pub cumulative_gas_used: u64,
    /// Return data (success) or revert data (revert).
    pub output: String,
    /// Why it did not succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
    /// Logs, in emission order.
    pub logs: Vec<LogView>,
    /// The contract a successful deploy created.
    pub contract_address: Option<String>,
}

impl From<&Receipt> for ReceiptView {
    fn from(receipt: &Receipt) -> Self {
        Self {
            status: receipt.status.name().to_owned(),
            gas_used: receipt.gas_used,
            cumulative_gas_used: receipt.cumulative_gas_used,
            output: to_hex(output_of(&receipt.status)),
            error: ErrorView::of(&receipt.status, None),
            logs: receipt.logs.iter().map(LogView::from).collect(),
            contract_address: receipt.contract_address.map(to_hex),
        }
    }
}

/// A storage write of an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageChangeView {
    /// The contract.
    pub address: String,
    /// The storage key.
    pub key: String,
    /// The new value; `None`: removed.
    pub value: Option<String>,
}

/// How one frame of a traced run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameView {
    /// Call depth (1 = the top-level message).
    pub depth: u32,
    /// The contract that ran.
    pub contract: String,
    /// The export that ran.
    pub export: String,
    /// `success`, `revert`, `out_of_gas` or `trap`.
    pub status: String,
    /// Gas the frame used.
    pub gas_used: u64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
}

impl From<&FrameTrace> for FrameView {
    fn from(frame: &FrameTrace) -> Self {
        Self {
            depth: frame.depth,
            contract: to_hex(frame.contract),
            export: frame.export.clone(),
            status: frame.status.name().to_owned(),
            gas_used: frame.gas_used,
            error: ErrorView::of(&frame.status, frame.diagnostics.as_ref()),
        }
    }
}

/// The outcome of running one message outside a block (`cairn run`,
/// `cairn query`, `eth_call`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeView {
    /// `success`, `revert`, `out_of_gas` or `trap`.
    pub status: String,
    /// Gas used by the message (no intrinsic gas).
    pub gas_used: u64,
    /// The message's gas limit.
    pub gas_limit: u64,
    /// Return data (success) or revert data (revert).
    pub output: String,
    /// Why it did not succeed, with diagnostics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorView>,
    /// Logs of a success.
    pub logs: Vec<LogView>,
    /// Storage writes of a success.
    pub storage_changes: Vec<StorageChangeView>,
    /// `debug_print` output (dev mode only).
    #[serde(default)]
    pub debug_output: Vec<String>,
    /// Every frame of a traced run, in the order they ended.
    #[serde(default)]
    pub frames: Vec<FrameView>,
}

impl OutcomeView {
    /// The view of `outcome`, run with `gas_limit`.
    pub fn new(outcome: &ExecOutcome, gas_limit: u64) -> Self {
        Self {
            status: outcome.status.name().to_owned(),
            gas_used: outcome.gas_used,
            gas_limit,
            output: to_hex(output_of(&outcome.status)),
            error: ErrorView::of(&outcome.status, outcome.diagnostics.as_ref()),
            logs: outcome.logs.iter().map(LogView::from).collect(),
            storage_changes: outcome
                .changes
                .storage
                .iter()
                .map(|((address, key), value)| StorageChangeView {
                    address: to_hex(address),
                    key: to_hex(key),
                    value: value.as_ref().map(to_hex),
                })
                .collect(),
            debug_output: outcome.debug_output.clone(),
            frames: outcome.frames.iter().map(FrameView::from).collect(),
        }
    }
}

/// A block header, with its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderView {
    /// Height.
    pub number: u64,
    /// keccak256 of the SCALE header.
    pub hash: String,
    /// The parent's hash.
    pub parent_hash: String,
    /// Seconds since the Unix epoch.
    pub timestamp: u64,
    /// Fee recipient.
    pub beneficiary: String,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Gas used by the block's transactions.
    pub gas_used: u64,
    /// Transactions root.
    pub tx_root: String,
    /// Receipts root.
    pub receipts_root: String,
    /// State root after the block.
    pub state_root: String,
    /// Gas schedule hash.
    pub schedule_hash: String,
    /// Host API version.
    pub host_api_version: u32,
}

impl From<&BlockHeader> for HeaderView {
    fn from(header: &BlockHeader) -> Self {
        Self {
            number: header.number,
            hash: to_hex(header.hash()),
            parent_hash: to_hex(header.parent_hash),
            timestamp: header.timestamp,
            beneficiary: to_hex(header.beneficiary),
            gas_limit: header.gas_limit,
            gas_used: header.gas_used,
            tx_root: to_hex(header.tx_root),
            receipts_root: to_hex(header.receipts_root),
            state_root: to_hex(header.state_root),
            schedule_hash: to_hex(header.schedule_hash),
            host_api_version: header.host_api_version,
        }
    }
}

/// A block: its header and its transactions' hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    /// The header.
    #[serde(flatten)]
    pub header: HeaderView,
    /// Transaction hashes, in execution order.
    pub transactions: Vec<String>,
}

impl From<&Block> for BlockView {
    fn from(block: &Block) -> Self {
        Self {
            header: HeaderView::from(&block.header),
            transactions: block
                .transactions
                .iter()
                .map(|tx| to_hex(tx.hash()))
                .collect(),
        }
    }
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// The address.
    pub address: String,
    /// Balance, decimal.
    pub balance: String,
    /// Transactions sent.
    pub nonce: u64,
    /// Hash of the contract's original code, for contracts.
    pub code_hash: Option<String>,
}

impl AccountView {
    /// The view of `account` at `address`.
    pub fn new(address: &Address, account: &Account) -> Self {
        Self {
            address: to_hex(address),
            balance: account.balance.to_string(),
            nonce: account.nonce,
            code_hash: account.code_hash.map(to_hex),
        }
    }
}

/// The first place a replay or a bundle found the chain disagreeing with
/// re-execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DivergenceView {
    /// The block.
    pub block: u64,
    /// The transaction, for receipt fields.
    pub tx_index: Option<usize>,
    /// The field that differs.
    pub field: String,
    /// The stored value.
    pub stored: String,
    /// The value re-execution gives.
    pub replayed: String,
    /// For a state root: the first state key whose value differs, if found.
    pub first_differing_key: Option<String>,
}

impl From<&Divergence> for DivergenceView {
    fn from(d: &Divergence) -> Self {
        Self {
            block: d.block,
            tx_index: d.tx_index,
            field: d.field.clone(),
            stored: d.stored.clone(),
            replayed: d.replayed.clone(),
            first_differing_key: d.first_differing_key.as_ref().map(|k| format!("0x{k}")),
        }
    }
}

/// A block's commit certificate (validator chains).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    /// The block's number.
    pub height: u64,
    /// The round that decided it.
    pub round: u32,
    /// The block's hash.
    pub block_hash: String,
    /// Precommit signatures, by validator address.
    pub signatures: Vec<CommitSignatureView>,
}

/// One precommit signature of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSignatureView {
    /// The validator's address.
    pub validator: String,
    /// Its ed25519 signature.
    pub signature: String,
}

impl From<&crate::certificate::CommitCertificate> for CertificateView {
    fn from(c: &crate::certificate::CommitCertificate) -> Self {
        Self {
            height: c.height,
            round: c.round,
            block_hash: to_hex(c.block_hash),
            signatures: c
                .signatures
                .iter()
                .map(|s| CommitSignatureView {
                    validator: to_hex(s.validator),
                    signature: to_hex(s.signature),
                })
                .collect(),
        }
    }
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayView {
    /// Whether every checked record matched.
    pub verified: bool,
    /// First block checked.
    pub from: u64,
    /// Last block checked (or the one that diverged).
    pub to: u64,
    /// Blocks checked.
    pub blocks: u64,
    /// Transactions re-executed.
    pub txs: u64,
    /// Commit certificates verified against the genesis validator set.
    pub certificates: u64,
    /// The replayed state root.
    pub state_root: String,
    /// The first divergence.
    pub divergence: Option<DivergenceView>,
}

impl From<&ReplayReport> for ReplayView {
    fn from(report: &ReplayReport) -> Self {
        Self {
            verified: report.verified(),
            from: report.from,
            to: report.to,
            blocks: report.blocks,
            txs: report.txs,
            certificates: report.certificates,
            state_root: format!("0x{}", report.state_root),
            divergence: report.divergence.as_ref().map(DivergenceView::from),
        }
    }
}

/// The verdict on a replay bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleVerdictView {
    /// Whether every check passed.
    pub verified: bool,
    /// The block.
    pub block: Option<u64>,
    /// Transactions re-executed.
    pub txs: Option<usize>,
    /// Pre-state keys proven.
    pub keys_read: Option<usize>,
    /// Writes proven against the post-state root.
    pub keys_written: Option<usize>,
    /// The block's verified state root.
    pub state_root: Option<String>,
    /// Validator chains: precommit signatures in the verified certificate.
    pub certificate_signers: Option<usize>,
    /// The first check that failed.
    pub error: Option<String>,
}

impl BundleVerdictView {
    /// The verdict of a verification.
    pub fn new(result: &Result<BundleVerification, crate::bundle::BundleError>) -> Self {
        match result {
            Ok(v) => Self {
                verified: true,
                block: Some(v.block),
                txs: Some(v.txs),
                keys_read: Some(v.keys_read),
                keys_written: Some(v.keys_written),
                state_root: Some(to_hex(v.state_root)),
                certificate_signers: v.certificate_signers,
                error: None,
            },
            Err(error) => Self {
                verified: false,
                block: None,
                txs: None,
                keys_read: None,
                keys_written: None,
                state_root: None,
                certificate_signers: None,
                error: Some(error.to_string()),
            },
        }
    }
}

/// A state key's value and its proof against a block's state root
/// (`cairn state proof`, `cairn_getProof`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofView {
    /// The state version (block number) proven against.
    pub version: u64,
    /// The state root of that version.
    pub root: String,
    /// The state key.
    pub key: String,
    /// Its value; `None`: absent (an exclusion proof).
    pub value: Option<String>,
    /// The SCALE-encoded proof, hex (`cairn state verify-proof --proof`).
    pub proof: String,
    /// The proof's size.
    pub proof_bytes: usize,
}

impl ProofView {
    /// The view of a proof of `key` at `version` under `root`.
    pub fn new(
        version: u64,
        root: &StateRoot,
        key: &[u8],
        value: Option<&[u8]>,
        proof: &Proof,
    ) -> Self {
        let bytes = proof.to_bytes();
        Self {
            version,
            root: to_hex(root.as_bytes()),
            key: to_hex(key),
            value: value.map(to_hex),
            proof: to_hex(&bytes),
            proof_bytes: bytes.len(),
        }
    }
}

/// What preparing a contract gives (`cairn prepare`, `cairn_getCodeInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedCodeView {
    /// `accepted`.
    pub status: String,
    /// Hash of the original code.
    pub code_hash: String,
    /// Hash of the gas schedule it was instrumented with.
    pub schedule_hash: String,
    /// That schedule's version.
    pub schedule_version: u32,
    /// Size of the original code.
    pub original_size: usize,
    /// Size of the instrumented code.
    pub prepared_size: usize,
    /// Exported functions.
    pub exports: Vec<String>,
    /// Host functions imported.
    pub imports: Vec<String>,
    /// Whether it has a `deploy` export.
    pub has_deploy: bool,
}

impl PreparedCodeView {
    /// The view of `prepared` (of the code hashing to `code_hash`),
    /// instrumented with `schedule`.
    pub fn new(code_hash: H256, prepared: &PreparedCode, schedule: &GasSchedule) -> Self {
        Self {
            status: "accepted".to_owned(),
            code_hash: to_hex(code_hash),
            schedule_hash: to_hex(prepared.schedule_hash),
            schedule_version: schedule.version,
            original_size: prepared.original_size,
            prepared_size: prepared.code.len(),
            exports: prepared.exports.clone(),
            imports: prepared.imports.clone(),
            has_deploy: prepared.has_deploy,
        }
    }
}

/// An included transaction's receipt with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxReceiptView {
    /// The transaction hash.
    pub hash: String,
    /// Its block.
    pub block: HeaderView,
    /// Its index in the block.
    pub index: u32,
    /// Its sender.
    pub sender: String,
    /// The receipt.
    pub receipt: ReceiptView,
}

/// A failed (or any) included transaction re-executed with diagnostics
/// (`cairn_traceTransaction`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxTraceView {
    /// The transaction hash.
    pub hash: String,
    /// Its block.
    pub block: u64,
    /// Its index in the block.
    pub index: u32,
    /// Its sender.
    pub sender: String,
    /// The stored receipt.
    pub receipt: ReceiptView,
    /// The traced run: status, the trapping function, host call and
    /// backtrace in `error`, and every frame.
    pub outcome: OutcomeView,
    /// Whether the traced status equals the receipt's.
    pub matches_receipt: bool,
}

impl TxTraceView {
    /// The view of a trace.
    pub fn new(hash: &cairn_host_api::world::H256, trace: &TxTrace) -> Self {
        Self {
            hash: to_hex(hash),
            block: trace.block,
            index: trace.index,
            sender: to_hex(trace.sender),
            receipt: ReceiptView::from(&trace.receipt),
            outcome: OutcomeView::new(&trace.outcome, trace.gas_limit),
            matches_receipt: trace.matches_receipt,
        }
    }
}

/// A replay bundle, inline (`cairn_getReplayBundle`; `cairn bundle verify`
/// checks the bytes written to a file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleExportView {
    /// The block.
    pub block: u64,
    /// Pre-state keys the bundle proves.
    pub keys: usize,
    /// Size of the SCALE-encoded bundle.
    pub bytes: usize,
    /// The SCALE-encoded bundle, hex.
    pub bundle: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(index: u32, name: &str) -> BacktraceFrame {
        BacktraceFrame {
            function_index: index,
            name: Some(name.into()),
        }
    }

    #[test]
    fn repeated_frames_collapse_innermost_first() {
        let mut frames = vec![frame(5, "call")];
        frames.extend(std::iter::repeat_n(frame(3, "f"), 862));
        frames.push(frame(4, "g"));
        assert_eq!(
            collapse_backtrace(&frames),
            vec!["g (func 4)", "f (func 3) x 862", "call (func 5)"]
        );
        assert!(collapse_backtrace(&[]).is_empty());
    }

    #[test]
    fn addresses_and_hashes_are_written_one_way() {
        let log = Log {
            address: Address::repeat_byte(0xab),
            topics: vec![cairn_host_api::world::H256::repeat_byte(1)],
            data: vec![1, 2],
        };
        let view = LogView::from(&log);
        assert_eq!(view.address, format!("0x{}", "ab".repeat(20)));
        assert_eq!(view.topics[0], format!("0x{}", "01".repeat(32)));
        assert_eq!(view.data, "0x0102");
    }
}
