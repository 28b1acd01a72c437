//! What a message's execution returns: outcome, logs, state changes, diagnostics.

use std::collections::BTreeMap;
use std::fmt;

use cairn_host_api::world::{Account, Address, BackendError, CodeHash, H256};
use parity_scale_codec::{Decode, Encode};

use crate::prepare::Rule;

/// The result of running one top-level message.
///
/// Every field except `debug_output` and `diagnostics` is consensus data: a
/// pure function of the world state, the block context and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// How the call ended.
    pub status: ExecStatus,
    /// Gas charged, at most the message's gas limit.
    pub gas_used: u64,
    /// Logs emitted, in emission order; empty unless the status is success.
    pub logs: Vec<Log>,
    /// State changes to apply; empty unless the status is success.
    pub changes: StateChanges,
    /// `debug_print` output, only when the executor runs in dev mode.
    pub debug_output: Vec<String>,
    /// Details of a halt for developers (not consensus data).
    pub diagnostics: Option<TrapDiagnostics>,
    /// Every frame that ran, in the order the frames ended, with its halt
    /// details; only filled by [`crate::runtime::Executor::execute_traced`]
    /// (not consensus data). Shows why a nested call failed even when the
    /// top-level call went on and succeeded.
    pub frames: Vec<FrameTrace>,
}

/// How one frame of a traced run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameTrace {
    /// Call depth (1 = the top-level message).
    pub depth: u32,
    /// The contract that ran.
    pub contract: Address,
    /// The export that ran.
    pub export: String,
    /// How the frame ended.
    pub status: ExecStatus,
    /// Gas the frame used.
    pub gas_used: u64,
    /// Halt details, with the frame's Wasm backtrace.
    pub diagnostics: Option<TrapDiagnostics>,
}

impl ExecOutcome {
    /// Whether the call succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self.status, ExecStatus::Success { .. })
    }
}

/// How a call ended.
#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index; there are far fewer than 256 variants"
)]
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum ExecStatus {
    /// The call returned (through `return_value` or by returning from the export).
    #[codec(index = 0)]
    Success {
        /// Data passed to `return_value` (empty if the export just returned).
        return_data: Vec<u8>,
    },
    /// The call reverted through `revert`; its state changes are discarded.
    #[codec(index = 1)]
    Revert {
        /// Data passed to `revert`.
        data: Vec<u8>,
    },
    /// The call was stopped; its state changes are discarded.
    #[codec(index = 2)]
    Halt {
        /// Why.
        reason: HaltReason,
    },
}

impl ExecStatus {
    /// The status name used in JSON output and the conformance vectors:
    /// `success`, `revert`, `out_of_gas` or `trap` (every other halt: stack
    /// exhaustion, a trap, or a message that could not start;
    /// [`HaltReason::kind`] says which).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Success { .. } => "success",
            Self::Revert { .. } => "revert",
            Self::Halt {
                reason: HaltReason::OutOfGas,
            } => "out_of_gas",
            Self::Halt { .. } => "trap",
        }
    }
}

/// Why a call was halted. Consensus data (it is in receipts): every
/// variant and payload is a fixed enum with a fixed SCALE index
/// (`specs/chain.md`, "Receipts"), never text from an engine or a parser,
/// so rewording a message or upgrading wasmparser or wasmi cannot change a
/// receipt. What a developer needs to read lives in [`TrapDiagnostics`].
#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index; there are far fewer than 256 variants"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[non_exhaustive]
pub enum HaltReason {
    /// The gas limit was reached; all gas of the call is used.
    #[codec(index = 0)]
    OutOfGas,
    /// The injected stack-height limit was reached.
    #[codec(index = 1)]
    StackExhausted,
    /// The code trapped (a Wasm trap or a host function's trap).
    #[codec(index = 2)]
    Trap(TrapKind),
    /// Deploy (or load of stored code): the code breaks a validation rule.
    #[codec(index = 3)]
    InvalidCode(Rule),
    /// Deploy: the target address already holds code.
    #[codec(index = 4)]
    ContractExists,
    /// The caller's balance does not cover the value sent.
    #[codec(index = 5)]
    InsufficientBalance,
    /// The code lacks the export the message runs, or it has the wrong
    /// signature (it must take and return nothing).
    #[codec(index = 6)]
    MissingExport(Export),
    /// Valid, prepared code could not be compiled or instantiated.
    #[codec(index = 7)]
    Instantiation(InstantiationFailure),
}

/// The export a frame runs.
#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum Export {
    /// `call`: every call of the contract.
    #[codec(index = 0)]
    Call,
    /// `deploy`: the constructor, run once at deploy.
    #[codec(index = 1)]
    Deploy,
}

impl Export {
    /// The export's name in the module.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Deploy => "deploy",
        }
    }
}

impl fmt::Display for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why code that passed validation could not start.
#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[non_exhaustive]
pub enum InstantiationFailure {
    /// The engine refused to compile the prepared code.
    #[codec(index = 0)]
    Compile,
    /// Instantiation exceeded the frame's resource limits (memory, table).
    #[codec(index = 1)]
    ResourceLimit,
    /// The prepared code lacks an injected global (`cairn_gas_left`,
    /// `cairn_halt`) of the right type; never expected.
    #[codec(index = 2)]
    MissingInjectedGlobal,
    /// The engine refused to instantiate the module for another reason.
    #[codec(index = 3)]
    Engine,
}

impl InstantiationFailure {
    /// A snake_case name, for JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Compile => "compile",
            Self::ResourceLimit => "resource_limit",
            Self::MissingInjectedGlobal => "missing_injected_global",
            Self::Engine => "engine",
        }
    }
}

impl HaltReason {
    /// A snake_case name of the reason (the trap kind for traps), for JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OutOfGas => "out_of_gas",
            Self::StackExhausted => "stack_exhausted",
            Self::Trap(kind) => kind.name(),
            Self::InvalidCode(_) => "invalid_code",
            Self::ContractExists => "contract_exists",
            Self::InsufficientBalance => "insufficient_balance",
            Self::MissingExport(_) => "missing_export",
            Self::Instantiation(_) => "instantiation",
        }
    }
}

impl fmt::Display for HaltReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfGas => f.write_str("out of gas"),
            Self::StackExhausted => f.write_str("stack height limit exhausted"),
            Self::Trap(kind) => write!(f, "trap: {kind}"),
            Self::InvalidCode(rule) => write!(f, "code rejected: rule `{rule}` violated"),
            Self::ContractExists => f.write_str("a contract already exists at the target address"),
            Self::InsufficientBalance => f.write_str("insufficient balance for the value sent"),
            Self::MissingExport(export) => write!(
                f,
                "the code has no `{export}` export taking and returning nothing"
            ),
            Self::Instantiation(failure) => {
                write!(f, "the prepared code could not start ({})", failure.name())
            }
        }
    }
}

/// What trapped. Wasm traps come first, then the host API's own traps.
#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[non_exhaustive]
pub enum TrapKind {
    /// `unreachable` was executed (Rust contracts: a panic, e.g. an overflow check).
    #[codec(index = 0)]
    Unreachable,
    /// A Wasm load or store outside linear memory.
    #[codec(index = 1)]
    MemoryOutOfBounds,
    /// A table access outside the table.
    #[codec(index = 2)]
    TableOutOfBounds,
    /// `call_indirect` to an uninitialised table element.
    #[codec(index = 3)]
    IndirectCallToNull,
    /// Integer division or remainder by zero.
    #[codec(index = 4)]
    IntegerDivisionByZero,
    /// Integer overflow in division (`i32::MIN / -1`) or truncation.
    #[codec(index = 5)]
    IntegerOverflow,
    /// `call_indirect` with a mismatching signature.
    #[codec(index = 6)]
    BadSignature,
    /// Any other engine trap (not expected on validated code).
    #[codec(index = 7)]
    Other,
    /// wasmi's own stack limit, configured above the injected stack-height
    /// limit, was reached (never expected; the injected limit stops first).
    #[codec(index = 8)]
    EngineStackLimit,
    /// A host function was given a pointer/length outside linear memory.
    #[codec(index = 9)]
    HostMemoryOutOfBounds,
    /// `input_copy` read past the end of the input.
    #[codec(index = 10)]
    InputOutOfBounds,
    /// `return_data_copy` read past the end of the return data.
    #[codec(index = 11)]
    ReturnDataOutOfBounds,
    /// A storage key above 1,024 bytes or a value above 65,536 bytes.
    #[codec(index = 12)]
    StorageLimitExceeded,
    /// `emit_log` with more than 4 topics.
    #[codec(index = 13)]
    TooManyTopics,
    /// `emit_log` with more than 16,384 bytes of data.
    #[codec(index = 14)]
    LogDataTooLarge,
    /// The module exports no linear memory named `memory` but called a host
    /// function that needs one.
    #[codec(index = 15)]
    NoMemoryExport,
}

impl TrapKind {
    /// A snake_case name, for JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::MemoryOutOfBounds => "memory_out_of_bounds",
            Self::TableOutOfBounds => "table_out_of_bounds",
            Self::IndirectCallToNull => "indirect_call_to_null",
            Self::IntegerDivisionByZero => "integer_division_by_zero",
            Self::IntegerOverflow => "integer_overflow",
            Self::BadSignature => "bad_signature",
            Self::Other => "other",
            Self::EngineStackLimit => "engine_stack_limit",
            Self::HostMemoryOutOfBounds => "host_memory_out_of_bounds",
            Self::InputOutOfBounds => "input_out_of_bounds",
            Self::ReturnDataOutOfBounds => "return_data_out_of_bounds",
            Self::StorageLimitExceeded => "storage_limit_exceeded",
            Self::TooManyTopics => "too_many_topics",
            Self::LogDataTooLarge => "log_data_too_large",
            Self::NoMemoryExport => "no_memory_export",
        }
    }
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unreachable => "unreachable executed (e.g. a panic or failed overflow check)",
            Self::MemoryOutOfBounds => "memory access out of bounds",
            Self::TableOutOfBounds => "table access out of bounds",
            Self::IndirectCallToNull => "indirect call to a null table entry",
            Self::IntegerDivisionByZero => "integer division by zero",
            Self::IntegerOverflow => "integer overflow",
            Self::BadSignature => "indirect call signature mismatch",
            Self::Other => "engine trap",
            Self::EngineStackLimit => "the engine's own stack limit was reached",
            Self::HostMemoryOutOfBounds => "host function pointer/length out of bounds",
            Self::InputOutOfBounds => "input_copy range exceeds the input",
            Self::ReturnDataOutOfBounds => "return_data_copy range exceeds the return data",
            Self::StorageLimitExceeded => "storage key or value too large",
            Self::TooManyTopics => "more than 4 log topics",
            Self::LogDataTooLarge => "log data above 16384 bytes",
            Self::NoMemoryExport => "module exports no `memory`",
        })
    }
}

/// An event emitted with `emit_log`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Log {
    /// The emitting contract.
    pub address: Address,
    /// Up to 4 topics.
    pub topics: Vec<H256>,
    /// The payload.
    pub data: Vec<u8>,
}

/// Changes a successful message makes to the state, in deterministic order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateChanges {
    /// Full new records of every account the message changed.
    pub accounts: BTreeMap<Address, Account>,
    /// Storage writes by (contract, key); `None` removes the key.
    pub storage: BTreeMap<(Address, Vec<u8>), Option<Vec<u8>>>,
    /// Newly deployed original code by hash.
    pub code: BTreeMap<CodeHash, Vec<u8>>,
}

impl StateChanges {
    /// Whether the message changed nothing.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.storage.is_empty() && self.code.is_empty()
    }
}

/// One frame of a Wasm backtrace, innermost last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacktraceFrame {
    /// Function index in the module's function index space.
    pub function_index: u32,
    /// Name from the module's name section, if any.
    pub name: Option<String>,
}

impl fmt::Display for BacktraceFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} (func {})", self.function_index),
            None => write!(f, "func {}", self.function_index),
        }
    }
}

/// What a developer needs to see why a call halted. Not consensus data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapDiagnostics {
    /// Human-readable reason, naming the trapping function when known, e.g.
    /// ``trap in `token::transfer`: unreachable executed``.
    pub message: String,
    /// Address of the contract whose frame halted.
    pub contract: Address,
    /// The export that was running (`call` or `deploy`).
    pub export: String,
    /// The innermost function at the halt (only with a backtrace).
    pub function: Option<String>,
    /// The host function in progress at the halt, if the halt happened inside one.
    pub host_function: Option<String>,
    /// The counter at the halt, where it is known exactly: a halt inside a
    /// host function (which charges through `cairn_gas_left`), an
    /// out-of-gas halt of a traced run
    /// ([`crate::runtime::Executor::execute_traced`], `cairn run`: the
    /// counter at the failed check, below zero by what the charge overran),
    /// and a frame refused before its code ran (its whole limit). `None`
    /// otherwise: deployed code keeps the counter in a local and does not
    /// publish it when it halts (`specs/gas.md`, sections 7 and 8). A halt
    /// uses the whole limit either way.
    pub gas_left: Option<i64>,
    /// Call depth of the halted frame (1 = the top-level message).
    pub depth: u32,
    /// Wasm call stack at the halt, outermost first. Empty unless the call was
    /// run with [`crate::runtime::Executor::execute_traced`].
    pub backtrace: Vec<BacktraceFrame>,
}

/// A node failure that aborts the message (and the block). Never a receipt.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The state backend failed to answer a read.
    #[error(transparent)]
    Backend(Box<BackendError>),
    /// An account names code the state does not hold (a broken invariant).
    #[error("code {0:?} named by an account is missing from the state")]
    MissingCode(Box<CodeHash>),
    /// The engine could not build an instance of code it had already accepted
    /// (an engine bug or resource exhaustion of the node).
    #[error("engine failure: {0}")]
    Engine(String),
}

impl From<BackendError> for NodeError {
    fn from(error: BackendError) -> Self {
        Self::Backend(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_and_status_sizes_stay_small() {
        // Errors travel through every `?` of the hot path: keep them two words.
        assert!(
            std::mem::size_of::<NodeError>() <= 32,
            "{}",
            std::mem::size_of::<NodeError>()
        );
        assert!(
            std::mem::size_of::<HaltReason>() <= 2,
            "{}",
            std::mem::size_of::<HaltReason>()
        );
    }

    #[test]
    fn executor_is_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<crate::runtime::Executor>();
        assert_send_sync::<ExecOutcome>();
    }
}
