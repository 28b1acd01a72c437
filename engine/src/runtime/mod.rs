//! The contract runtime: runs prepared Wasm on wasmi against a [`WorldState`].
//!
//! One [`Executor`] holds the wasmi [`wasmi::Engine`] (eager compilation,
//! wasmi's fuel off: gas is metered by the code `prepare_code` injected), the
//! [`wasmi::Linker`] with every host function (built once, from the host
//! function table) and a bounded cache of compiled modules keyed by (code
//! hash, schedule hash).
//! [`Executor::execute`] runs one top-level [`Message`] and returns an
//! [`ExecOutcome`]: a status, the gas used, logs and the [`StateChanges`] to
//! apply. Contract failures (trap, revert, out of gas) are outcomes; node
//! failures (the state backend failing) are [`NodeError`]s and never outcomes.
//!
//! Host functions never see the world state: one that needs it (storage
//! reads, balances, transfers, `call`) charges its gas, reads its arguments
//! and suspends the Wasm call (a wasmi resumable call) with a `WorldOp`; the
//! frame loop performs it against the journal and the [`WorldState`] and
//! resumes the call with the result. So the store data borrows nothing, the
//! linker is built once, and a backend failure surfaces in plain Rust as a
//! [`NodeError`] without passing through wasmi.
//!
//! ```
//! use cairn_engine::runtime::{
//!     BlockContext, ExecConfig, ExecStatus, Executor, InMemoryWorld, Message, MessageKind,
//! };
//! use cairn_host_api::world::{Address, U256};
//!
//! let code = wat::parse_str(r#"(module
//!     (import "cairn_v1" "return_value" (func $return_value (param i32 i32)))
//!     (memory (export "memory") 1 1)
//!     (data (i32.const 0) "hi")
//!     (func (export "call") (call $return_value (i32.const 0) (i32.const 2))))"#).unwrap();
//! let executor = Executor::new(ExecConfig::default());
//! let mut world = InMemoryWorld::new();
//! let block = BlockContext { number: 1, timestamp: 0, chain_id: 1 };
//! let (user, contract) = (Address::repeat_byte(1), Address::repeat_byte(2));
//! let deploy = Message {
//!     origin: user, caller: user, target: contract, value: U256::zero(),
//!     input: vec![], gas_limit: 1_000_000, kind: MessageKind::Deploy { code },
//! };
//! let deployed = executor.execute(&world, &block, &deploy).unwrap();
//! world.apply(&deployed.changes);
//!
//! let call = Message { kind: MessageKind::Call, ..deploy };
//! let outcome = executor.execute(&world, &block, &call).unwrap();
//! assert_eq!(outcome.status, ExecStatus::Success { return_data: b"hi".to_vec() });
//! assert!(outcome.gas_used > 0);
//! ```
//!
//! Semantics fixed here (normative text in `specs/host-api.md`):
//!
//! - **Frames.** Every call (the top-level message and each cross-contract
//!   `call`) runs in a fresh wasmi store and instance, with its own gas limit
//!   written to the module's `cairn_gas_left` global. Gas used by a frame is
//!   its limit minus the final `cairn_gas_left`, or the whole limit on out of gas.
//! - **Journal.** Writes go to an overlay with a checkpoint per frame; a revert
//!   or halt discards the frame's storage writes, account changes (value
//!   transfers), deployed code and logs, including those of frames it called.
//! - **Call depth.** At most [`ExecConfig::max_call_depth`] frames (default
//!   64, the top-level message counting as depth 1); a `call` beyond it
//!   returns 3 without running the callee.
//! - **Reentrancy is allowed.** A contract may be re-entered through `call`
//!   (directly or via other contracts). The journal makes every frame's view
//!   consistent: a callee sees its caller's uncommitted writes, and a failed
//!   callee's writes are undone. Contracts that need a guard keep one in storage.
//! - **Plain accounts.** A top-level call to an address without code only
//!   transfers the value (gas used 0); a nested `call` to it returns 3 (use
//!   `transfer`).
//! - **Rejected messages** (insufficient balance, code rejected by validation,
//!   contract already present, missing export) use no gas: intrinsic and
//!   per-byte deploy costs are the chain layer's.

mod cache;
mod diagnostics;
mod frame;
mod host;
mod journal;
pub mod memory_world;
mod outcome;
mod profile;
pub mod spec;
mod state;

use std::sync::Mutex;

use cairn_host_api::world::{Address, U256, WorldState};

use crate::prepare::{GasSchedule, ValidationLimits};

pub use memory_world::InMemoryWorld;
pub use outcome::{
    BacktraceFrame, ExecOutcome, ExecStatus, Export, FrameTrace, HaltReason, InstantiationFailure,
    Log, NodeError, StateChanges, TrapDiagnostics, TrapKind,
};
pub use profile::GasProfile;

use cache::ModuleCache;

/// Default maximum call depth (the top-level message is depth 1).
pub const DEFAULT_MAX_CALL_DEPTH: u32 = 64;

/// Default number of compiled modules kept in the executor's cache.
pub const DEFAULT_CACHE_CAPACITY: usize = 256;

/// Configuration of an [`Executor`].
#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// Gas schedule code is prepared with (its hash is part of the cache key).
    pub schedule: GasSchedule,
    /// Validation limits code is checked against at deploy and load.
    pub limits: ValidationLimits,
    /// Maximum number of nested frames, the top-level message included.
    pub max_call_depth: u32,
    /// Keep `debug_print` output in [`ExecOutcome::debug_output`].
    pub dev_mode: bool,
    /// Number of compiled modules kept in memory.
    pub cache_capacity: usize,
}

impl Default for ExecConfig {
    fn default() -> Self {
        Self {
            schedule: GasSchedule::v2(),
            limits: ValidationLimits::default(),
            max_call_depth: DEFAULT_MAX_CALL_DEPTH,
            dev_mode: false,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
        }
    }
}

/// Block-level context visible to contracts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockContext {
    /// Block number.
    pub number: u64,
    /// Block timestamp (seconds since the Unix epoch, set by the producer).
    pub timestamp: u64,
    /// Chain id.
    pub chain_id: u64,
}

/// What a top-level message does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageKind {
    /// Run the `call` export of the contract at `target` (or only transfer
    /// the value if `target` has no code).
    Call,
    /// Validate `code`, store it at `target` and run its optional `deploy` export.
    Deploy {
        /// Original (unprepared) Wasm code.
        code: Vec<u8>,
    },
}

/// One top-level message: a transaction's call or deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The account that signed the transaction.
    pub origin: Address,
    /// The immediate caller (equal to `origin` for a transaction).
    pub caller: Address,
    /// The callee, or the new contract's address for a deploy.
    pub target: Address,
    /// Value moved from `caller` to `target`.
    pub value: U256,
    /// Call data.
    pub input: Vec<u8>,
    /// Gas available to the message (values above `i64::MAX` are capped to it).
    pub gas_limit: u64,
    /// Call or deploy.
    pub kind: MessageKind,
}

/// Runs messages. Create one per node and reuse it: it owns the wasmi engine
/// and the compiled-module cache. `execute` takes `&self`; the cache is behind
/// a mutex, so an executor can be shared between threads.
#[derive(Debug)]
pub struct Executor {
    config: ExecConfig,
    engine: wasmi::Engine,
    /// Every host function of the table, wired once.
    linker: wasmi::Linker<state::FrameState>,
    cache: Mutex<ModuleCache>,
}

impl Executor {
    /// Sets up the wasmi engine (eager compilation, no wasmi fuel, stack
    /// limits looser than the injected ones) and an empty module cache.
    pub fn new(config: ExecConfig) -> Self {
        let engine = wasmi::Engine::new(&frame::wasmi_config());
        let linker = host::linker(&engine);
        let cache = Mutex::new(ModuleCache::new(config.cache_capacity));
        Self {
            config,
            engine,
            linker,
            cache,
        }
    }

    /// The executor's configuration.
    pub fn config(&self) -> &ExecConfig {
        &self.config
    }

    /// Runs one top-level message (a transaction's call or deploy) against
    /// `world`. The world is only read; the changes come back in the outcome.
    ///
    /// # Errors
    ///
    /// [`NodeError`] if the state backend fails; the message has no outcome then.
    pub fn execute(
        &self,
        world: &dyn WorldState,
        block: &BlockContext,
        msg: &Message,
    ) -> Result<ExecOutcome, NodeError> {
        frame::execute_message(self, world, block, msg, false)
    }

    /// Like [`Executor::execute`] but runs every frame with a shadow call
    /// stack, so a halt's [`TrapDiagnostics`] carry a Wasm backtrace and the
    /// trapping function's name, and an out-of-gas halt the exact counter.
    /// The code is prepared again for it
    /// ([`crate::prepare::prepare_code_for_tracing`]), never cached. Gas,
    /// status and state changes are identical to `execute`'s; only slower.
    /// Meant for developer tools re-running a failed call, never for block
    /// execution.
    ///
    /// # Errors
    ///
    /// [`NodeError`] if the state backend fails.
    pub fn execute_traced(
        &self,
        world: &dyn WorldState,
        block: &BlockContext,
        msg: &Message,
    ) -> Result<ExecOutcome, NodeError> {
        frame::execute_message(self, world, block, msg, true)
    }

    /// Like [`Executor::execute_traced`], and also records the top-level
    /// frame's [`GasProfile`]: gas per Wasm function, host calls as frames of
    /// their own (module `profile`). The code is prepared for profiling
    /// (every function metered with the boundary convention), which moves
    /// where charges are placed but not what any call observes: status and
    /// gas are those of [`Executor::execute`]. Never for block execution.
    ///
    /// # Errors
    ///
    /// [`NodeError`] if the state backend fails.
    pub fn execute_profiled(
        &self,
        world: &dyn WorldState,
        block: &BlockContext,
        msg: &Message,
    ) -> Result<(ExecOutcome, GasProfile), NodeError> {
        frame::execute_profiled(self, world, block, msg)
    }

    /// Number of compiled modules currently cached.
    pub fn cached_modules(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Modules prepared, compiled and cached since this executor started
    /// (the cache's misses; untraced runs only).
    pub fn modules_compiled(&self) -> u64 {
        self.cache.lock().map(|c| c.inserted()).unwrap_or(0)
    }
}
