//! Running messages and call frames.

use std::sync::Arc;

use cairn_host_api::gas;
use cairn_host_api::world::{Account, Address, CodeHash, U256, WorldState};
use wasmi::errors::ErrorKind;
use wasmi::{
    CompilationMode, Global, Linker, Store, StoreLimitsBuilder, TrapCode, TypedResumableCall, Val,
};

use super::cache::CompiledModule;
use super::journal::Journal;
use super::outcome::{
    BacktraceFrame, ExecOutcome, ExecStatus, Export, FrameTrace, HaltReason, InstantiationFailure,
    NodeError, StateChanges, TrapDiagnostics, TrapKind,
};
use super::profile::{GasProfile, ProfileState};
use super::state::{
    CALL_HALTED, CALL_NOT_STARTED, CALL_REVERTED, CALL_SUCCESS, FrameContext, FrameExit,
    FrameState, HostResult, HostTrap, MessageShared, WorldOp, as_i64, charge, gas_left, host_index,
    set_gas_left, to_i32, write_bytes,
};
use super::{BlockContext, Executor, Message, MessageKind, diagnostics};
use crate::prepare::{
    GAS_LEFT_GLOBAL, HALT_GLOBAL, HaltCode, PrepareError, PreparedCode, prepare_code,
    prepare_code_for_profiling, prepare_code_for_tracing,
};

/// `cairn_halt` value set by injected code before trapping for out of gas.
const HALT_OUT_OF_GAS: i32 = HaltCode::OutOfGas as i32;
/// `cairn_halt` value set by injected code before trapping for stack exhaustion.
const HALT_STACK_EXHAUSTED: i32 = HaltCode::StackExhausted as i32;
/// Largest linear memory a frame may grow to, in bytes, whatever the module
/// declares (validation already caps the declared maximum far lower).
const MAX_FRAME_MEMORY: usize = 4 << 20;

/// wasmi's configuration. wasmi's own stack limits must never be what stops a
/// contract: the injected stack-height limit triggers first, identically on any
/// engine, so these are set well above it (and still bound a frame's memory).
pub(crate) fn wasmi_config() -> wasmi::Config {
    let mut config = wasmi::Config::default();
    config
        .compilation_mode(CompilationMode::Eager)
        .consume_fuel(false)
        .allow_start_fn(false)
        .floats(false)
        .wasm_tail_call(false)
        .wasm_multi_memory(false)
        .set_max_recursion_depth(100_000)
        .set_max_stack_height(16 << 20)
        .set_max_cached_stacks(4);
    config
}

/// What running a message needs besides the frames' own state: the world is
/// only ever touched here, outside wasmi, when a host function hands a
/// [`WorldOp`] back to the frame loop (so the store data, and with it the
/// linker, need no lifetime and the linker is built once per executor).
pub(crate) struct MessageContext<'w> {
    pub(crate) executor: &'w Executor,
    pub(crate) world: &'w dyn WorldState,
    pub(crate) block: BlockContext,
    pub(crate) origin: Address,
    pub(crate) traced: bool,
    /// Profiled runs: code prepared for profiling, and the top-level frame
    /// records a gas profile (module `profile`). Implies `traced`.
    pub(crate) profiled: bool,
}

/// Parameters of one frame.
pub(crate) struct FrameCall {
    pub(crate) address: Address,
    pub(crate) caller: Address,
    pub(crate) value: U256,
    pub(crate) input: Vec<u8>,
    pub(crate) gas_limit: u64,
    pub(crate) depth: u32,
    pub(crate) export: Export,
}

/// How a frame ended.
#[derive(Debug)]
pub(crate) struct FrameResult {
    pub(crate) status: ExecStatus,
    pub(crate) gas_used: u64,
    pub(crate) diagnostics: Option<TrapDiagnostics>,
}

/// Why a frame could not start: the consensus reason (a fixed enum, in the
/// receipt) and what exactly was wrong (for diagnostics only: engine and
/// validator messages never reach consensus data).
#[derive(Debug)]
pub(crate) struct Rejection {
    pub(crate) reason: HaltReason,
    pub(crate) detail: String,
}

impl Rejection {
    fn new(reason: HaltReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

impl From<HaltReason> for Rejection {
    fn from(reason: HaltReason) -> Self {
        Self {
            detail: reason.to_string(),
            reason,
        }
    }
}

impl FrameResult {
    /// A frame refused before its code ran: no gas used.
    fn rejected(rejection: impl Into<Rejection>, call: &FrameCall) -> Self {
        let Rejection { reason, detail } = rejection.into();
        Self {
            status: ExecStatus::Halt { reason },
            gas_used: 0,
            diagnostics: Some(TrapDiagnostics {
                message: detail,
                contract: call.address,
                export: call.export.name().to_owned(),
                function: None,
                host_function: None,
                gas_left: Some(i64::try_from(call.gas_limit).unwrap_or(i64::MAX)),
                depth: call.depth,
                backtrace: Vec::new(),
            }),
        }
    }
}

pub(crate) fn execute_message(
    executor: &Executor,
    world: &dyn WorldState,
    block: &BlockContext,
    msg: &Message,
    traced: bool,
) -> Result<ExecOutcome, NodeError> {
    let ctx = MessageContext {
        executor,
        world,
        block: *block,
        origin: msg.origin,
        traced,
        profiled: false,
    };
    run_message(&ctx, msg).map(|(outcome, _)| outcome)
}

/// A profiled run of `msg` ([`super::Executor::execute_profiled`]). A message
/// that runs no code (a plain transfer, a rejected frame) has an empty profile.
pub(crate) fn execute_profiled(
    executor: &Executor,
    world: &dyn WorldState,
    block: &BlockContext,
    msg: &Message,
) -> Result<(ExecOutcome, GasProfile), NodeError> {
    let ctx = MessageContext {
        executor,
        world,
        block: *block,
        origin: msg.origin,
        traced: true,
        profiled: true,
    };
    run_message(&ctx, msg).map(|(outcome, profile)| (outcome, profile.unwrap_or_default()))
}

fn run_message(
    ctx: &MessageContext<'_>,
    msg: &Message,
) -> Result<(ExecOutcome, Option<GasProfile>), NodeError> {
    let world = ctx.world;
    let mut shared = MessageShared::default();
    let call = FrameCall {
        address: msg.target,
        caller: msg.caller,
        value: msg.value,
        input: msg.input.clone(),
        gas_limit: msg.gas_limit,
        depth: 1,
        export: Export::Call,
    };
    let result = match &msg.kind {
        MessageKind::Call => {
            let code_hash = shared
                .journal
                .account(world, &msg.target)?
                .and_then(|account| account.code_hash);
            match code_hash {
                None => plain_transfer(ctx, &mut shared, &call)?,
                Some(code_hash) => match load_module(ctx, &shared.journal, code_hash, None)? {
                    Ok(module) => run_frame(ctx, &mut shared, call, &module)?,
                    Err(rejection) => FrameResult::rejected(rejection, &call),
                },
            }
        }
        MessageKind::Deploy { code } => deploy(ctx, &mut shared, call, code)?,
    };
    let success = matches!(result.status, ExecStatus::Success { .. });
    let MessageShared {
        journal,
        debug_output,
        frames,
        profile,
    } = shared;
    let (changes, logs) = if success {
        journal.into_changes()
    } else {
        (StateChanges::default(), Vec::new())
    };
    let outcome = ExecOutcome {
        status: result.status,
        gas_used: result.gas_used,
        logs,
        changes,
        debug_output,
        diagnostics: result.diagnostics,
        frames,
    };
    Ok((outcome, profile))
}

/// [`prepare_code`], or for a profiled run [`prepare_code_for_profiling`],
/// or for a traced one [`prepare_code_for_tracing`] (an out-of-gas halt
/// publishes the exact counter for the diagnostics).
fn prepare_for(ctx: &MessageContext<'_>, code: &[u8]) -> Result<PreparedCode, PrepareError> {
    let config = &ctx.executor.config;
    if ctx.profiled {
        prepare_code_for_profiling(code, &config.schedule, &config.limits)
    } else if ctx.traced {
        prepare_code_for_tracing(code, &config.schedule, &config.limits)
    } else {
        prepare_code(code, &config.schedule, &config.limits)
    }
}

fn plain_transfer(
    ctx: &MessageContext<'_>,
    shared: &mut MessageShared,
    call: &FrameCall,
) -> Result<FrameResult, NodeError> {
    if shared
        .journal
        .transfer(ctx.world, &call.caller, &call.address, call.value)?
    {
        Ok(FrameResult {
            status: ExecStatus::Success {
                return_data: Vec::new(),
            },
            gas_used: 0,
            diagnostics: None,
        })
    } else {
        Ok(FrameResult::rejected(HaltReason::InsufficientBalance, call))
    }
}

fn deploy(
    ctx: &MessageContext<'_>,
    shared: &mut MessageShared,
    mut call: FrameCall,
    code: &[u8],
) -> Result<FrameResult, NodeError> {
    let existing = shared.journal.account(ctx.world, &call.address)?;
    if existing
        .as_ref()
        .is_some_and(|account| account.code_hash.is_some())
    {
        return Ok(FrameResult::rejected(HaltReason::ContractExists, &call));
    }
    // Code deployed before (with this schedule) is not prepared again.
    let code_hash = cairn_host_api::keccak256(code);
    let module = match load_module(ctx, &shared.journal, code_hash, Some(code))? {
        Ok(module) => module,
        Err(rejection) => return Ok(FrameResult::rejected(rejection, &call)),
    };
    let checkpoint = shared.journal.checkpoint();
    shared.journal.add_code(code_hash, code.to_vec());
    let account = Account {
        code_hash: Some(code_hash),
        ..existing.unwrap_or_default()
    };
    shared.journal.set_account(call.address, account);
    let result = if module.has_deploy {
        call.export = Export::Deploy;
        run_frame(ctx, shared, call, &module)?
    } else {
        plain_transfer(ctx, shared, &call)?
    };
    if !matches!(result.status, ExecStatus::Success { .. }) {
        shared.journal.revert_to(checkpoint);
    }
    Ok(result)
}

/// The compiled module for `code_hash`, from the cache or prepared and
/// compiled now (from `code` if the caller has it, a deployment, else from
/// the store). `Err` is a contract-level rejection of the code.
pub(crate) fn load_module(
    ctx: &MessageContext<'_>,
    journal: &Journal,
    code_hash: CodeHash,
    code: Option<&[u8]>,
) -> Result<Result<Arc<CompiledModule>, Rejection>, NodeError> {
    let executor = ctx.executor;
    // Hashing the schedule costs about as much as a small call: computed
    // once for the current schedule.
    let key = (
        code_hash,
        crate::prepare::schedule_hash(&executor.config.schedule),
    );
    if !ctx.traced
        && let Some(module) = executor
            .cache
            .lock()
            .ok()
            .and_then(|mut cache| cache.get(&key))
    {
        return Ok(Ok(module));
    }
    let stored;
    let code = match code {
        Some(code) => code,
        None => {
            stored = journal
                .code(ctx.world, &code_hash)?
                .ok_or_else(|| NodeError::MissingCode(Box::new(code_hash)))?;
            &stored
        }
    };
    let prepared = match prepare_for(ctx, code) {
        Ok(prepared) => prepared,
        Err(error) => {
            return Ok(Err(Rejection::new(
                HaltReason::InvalidCode(error.rule()),
                error.to_string(),
            )));
        }
    };
    let (wasm, shadow_map) = if ctx.traced {
        match diagnostics::instrument_shadow_stack(&prepared.code, prepared.out_of_gas_function) {
            Ok((wasm, map)) => (wasm, Some(Arc::new(map))),
            Err(error) => {
                return Err(NodeError::Engine(format!(
                    "backtrace instrumentation failed: {error}"
                )));
            }
        }
    } else {
        (prepared.code, None)
    };
    let module = match wasmi::Module::new(&executor.engine, &wasm) {
        Ok(module) => module,
        Err(error) => {
            return Ok(Err(Rejection::new(
                HaltReason::Instantiation(InstantiationFailure::Compile),
                format!("the engine rejected the prepared code: {error}"),
            )));
        }
    };
    let compiled = Arc::new(CompiledModule {
        module,
        function_names: prepared.function_names,
        has_deploy: prepared.has_deploy,
        shadow_map,
        publishes_halt_counter: prepared.publishes_halt_counter,
    });
    if !ctx.traced
        && let Ok(mut cache) = executor.cache.lock()
    {
        cache.insert(key, Arc::clone(&compiled));
    }
    Ok(Ok(compiled))
}

/// Runs one frame: transfers the value, instantiates the module in a fresh
/// store, runs `call.export` with `call.gas_limit` and classifies the end.
/// A frame that does not succeed leaves the journal as it found it.
pub(crate) fn run_frame(
    ctx: &MessageContext<'_>,
    shared: &mut MessageShared,
    mut call: FrameCall,
    module: &CompiledModule,
) -> Result<FrameResult, NodeError> {
    let checkpoint = shared.journal.checkpoint();
    if !shared
        .journal
        .transfer(ctx.world, &call.caller, &call.address, call.value)?
    {
        return Ok(FrameResult::rejected(
            HaltReason::InsufficientBalance,
            &call,
        ));
    }
    let gas_limit = call.gas_limit.min(i64::MAX.cast_unsigned());
    let gas_limit_signed = gas_limit.cast_signed();
    let state = FrameState {
        shared: std::mem::take(shared),
        origin: ctx.origin,
        block: ctx.block,
        dev_mode: ctx.executor.config.dev_mode,
        address: call.address,
        caller: call.caller,
        value: call.value,
        input: std::mem::take(&mut call.input),
        depth: call.depth,
        return_data: Vec::new(),
        exit: None,
        host_function: None,
        pending: None,
        memory: None,
        gas_left: None,
        shadow_stack: Vec::new(),
        shadow_map: module.shadow_map.clone(),
        profile: (ctx.profiled && call.depth == 1)
            .then(|| Box::new(ProfileState::new(gas_limit_signed))),
        limits: StoreLimitsBuilder::new()
            .memory_size(MAX_FRAME_MEMORY)
            .memories(1)
            .instances(1)
            .tables(1)
            .table_elements(1 << 16)
            .build(),
    };
    let mut store = Store::new(&ctx.executor.engine, state);
    store.limiter(|state| &mut state.limits);

    let started = start_instance(
        &ctx.executor.linker,
        &mut store,
        &module.module,
        call.export,
        gas_limit_signed,
    );
    let (func, gas_global, halt_global) = match started {
        Ok(parts) => parts,
        Err(rejection) => {
            *shared = std::mem::take(&mut store.data_mut().shared);
            shared.journal.revert_to(checkpoint);
            return Ok(FrameResult::rejected(rejection, &call));
        }
    };
    if let Some(index) = module
        .shadow_map
        .as_ref()
        .and_then(|map| map.exports.get(call.export.name()).copied())
    {
        store.data_mut().shadow_stack.push(index);
    }

    let result = match drive(ctx, &mut store, &func) {
        Ok(result) => result,
        Err(node_error) => {
            *shared = std::mem::take(&mut store.data_mut().shared);
            return Err(node_error);
        }
    };

    let gas_left = match gas_global.get(&store) {
        Val::I64(value) => value,
        _ => 0,
    };
    let profile = store.data_mut().profile.take();
    let halt_flag = match halt_global.get(&store) {
        Val::I32(value) => value,
        _ => 0,
    };
    let mut state = store.into_data();
    *shared = std::mem::take(&mut state.shared);
    // Whether `cairn_gas_left` holds the exact counter now: after a return,
    // after a halt inside a host function (which charged through it), and
    // after an out-of-gas halt of traced code (its failed check published
    // the counter). Deployed code keeps the counter in a local otherwise.
    let counter_exact = result.is_ok()
        || state.host_function.is_some()
        || (halt_flag == HALT_OUT_OF_GAS && module.publishes_halt_counter);
    let status = match result {
        Ok(()) if gas_left >= 0 => ExecStatus::Success {
            return_data: Vec::new(),
        },
        Ok(()) => ExecStatus::Halt {
            reason: HaltReason::OutOfGas,
        },
        Err(error) => classify(&error, &mut state, halt_flag),
    };
    let gas_used = match &status {
        // An exceptional halt (trap, out of gas, stack exhausted) uses the
        // frame's whole limit. The injected counter lives in a local and is
        // synchronised with `cairn_gas_left` only around calls, so after a
        // plain trap the global understates the work done: charging it would
        // let a contract loop until just before its limit, trap, and pay for
        // almost nothing (specs/gas.md, section 7).
        ExecStatus::Halt { .. } => gas_limit,
        // The counter only decreases, so 0 <= gas_left <= gas_limit here.
        _ => gas_limit.saturating_sub(gas_left.max(0).cast_unsigned()),
    };
    let diagnostics = match &status {
        ExecStatus::Halt { reason } => Some(diagnose(
            reason,
            &state,
            module,
            call.export.name(),
            counter_exact.then_some(gas_left),
        )),
        _ => None,
    };
    if let Some(profile) = profile {
        let (now, halt) = match &status {
            ExecStatus::Halt { reason } => (None, Some(reason.to_string())),
            _ => (Some(gas_left), None),
        };
        let export = state.shadow_stack.first().copied();
        let names = &module.function_names;
        let name_of = |index: u32| match names.get(&index) {
            Some(name) => name.clone(),
            None if Some(index) == export => format!("<export `{}`>", call.export.name()),
            None => format!("func[{index}]"),
        };
        shared.profile = Some(profile.finish(&state.shadow_stack, now, gas_used, halt, name_of));
    }
    if !matches!(status, ExecStatus::Success { .. }) {
        shared.journal.revert_to(checkpoint);
    }
    if ctx.traced {
        shared.frames.push(FrameTrace {
            depth: call.depth,
            contract: call.address,
            export: call.export.name().to_owned(),
            status: status.clone(),
            gas_used,
            diagnostics: diagnostics.clone(),
        });
    }
    Ok(FrameResult {
        status,
        gas_used,
        diagnostics,
    })
}

/// Runs the export to its end, serving the world operations host functions
/// hand back (each suspends the Wasm call until its result is ready).
fn drive(
    ctx: &MessageContext<'_>,
    store: &mut Store<FrameState>,
    func: &wasmi::TypedFunc<(), ()>,
) -> Result<Result<(), wasmi::Error>, NodeError> {
    let mut step = func.call_resumable(&mut *store, ());
    loop {
        let invocation = match step {
            Ok(TypedResumableCall::Finished(())) => return Ok(Ok(())),
            Ok(TypedResumableCall::HostTrap(invocation)) => invocation,
            // wasmi's fuel is disabled; nothing else suspends a call.
            Ok(TypedResumableCall::OutOfFuel(_)) => {
                return Ok(Err(wasmi::Error::new("unexpected wasmi fuel suspension")));
            }
            Err(error) => return Ok(Err(error)),
        };
        let Some(op) = store.data_mut().pending.take() else {
            // Every host error is ours; keep it as the frame's end.
            let error = invocation.host_error();
            let trap = error
                .kind()
                .as_host()
                .and_then(|host| (host as &dyn std::any::Any).downcast_ref::<HostTrap>());
            return Ok(Err(match trap {
                Some(trap) => wasmi::Error::host(*trap),
                None => wasmi::Error::new(error.to_string()),
            }));
        };
        match perform(ctx, store, op)? {
            Ok(result) => step = invocation.resume(&mut *store, result.as_slice()),
            Err(trap) => return Ok(Err(trap)),
        }
    }
}

type StartedInstance = (wasmi::TypedFunc<(), ()>, Global, Global);

fn start_instance(
    linker: &Linker<FrameState>,
    store: &mut Store<FrameState>,
    module: &wasmi::Module,
    export: Export,
    gas_limit: i64,
) -> Result<StartedInstance, Rejection> {
    let instance = linker
        .instantiate_and_start(&mut *store, module)
        .map_err(|error| {
            let reason = match (error.as_trap_code(), error.kind()) {
                (Some(code), _) => HaltReason::Trap(trap_kind(code)),
                (None, ErrorKind::Memory(_) | ErrorKind::Table(_)) => {
                    HaltReason::Instantiation(InstantiationFailure::ResourceLimit)
                }
                (None, _) => HaltReason::Instantiation(InstantiationFailure::Engine),
            };
            Rejection::new(reason, format!("instantiation failed: {error}"))
        })?;
    let missing_global = |detail: String| {
        Rejection::new(
            HaltReason::Instantiation(InstantiationFailure::MissingInjectedGlobal),
            detail,
        )
    };
    let global = |name: &str| {
        instance
            .get_global(&*store, name)
            .ok_or_else(|| missing_global(format!("the prepared code does not export `{name}`")))
    };
    let gas_global = global(GAS_LEFT_GLOBAL)?;
    let halt_global = global(HALT_GLOBAL)?;
    gas_global
        .set(&mut *store, Val::I64(gas_limit))
        .map_err(|error| {
            missing_global(format!("`{GAS_LEFT_GLOBAL}` is not a mutable i64: {error}"))
        })?;
    let func = instance
        .get_typed_func::<(), ()>(&*store, export.name())
        .map_err(|error| {
            Rejection::new(
                HaltReason::MissingExport(export),
                format!("export `{export}`: {error}"),
            )
        })?;
    let memory = instance.get_memory(&*store, "memory");
    let state = store.data_mut();
    state.memory = memory;
    state.gas_left = Some(gas_global);
    Ok((func, gas_global, halt_global))
}

fn classify(error: &wasmi::Error, state: &mut FrameState, halt_flag: i32) -> ExecStatus {
    if let Some(trap) = error
        .kind()
        .as_host()
        .and_then(|host| (host as &dyn std::any::Any).downcast_ref::<HostTrap>())
    {
        return match trap {
            HostTrap::Exit => match state.exit.take() {
                Some(FrameExit::Return(data)) => ExecStatus::Success { return_data: data },
                Some(FrameExit::Revert(data)) => ExecStatus::Revert { data },
                None => ExecStatus::Halt {
                    reason: HaltReason::Trap(TrapKind::Other),
                },
            },
            HostTrap::OutOfGas => ExecStatus::Halt {
                reason: HaltReason::OutOfGas,
            },
            HostTrap::Trap(kind) => ExecStatus::Halt {
                reason: HaltReason::Trap(*kind),
            },
            // Served by the frame loop; never the end of a frame.
            HostTrap::NeedsWorld => ExecStatus::Halt {
                reason: HaltReason::Trap(TrapKind::Other),
            },
        };
    }
    // Out of gas only if an injected check said so (a host function that
    // cannot pay ends with `HostTrap::OutOfGas` above): between checks the
    // global may hold a negative counter the checks have not seen yet, and
    // a Wasm trap there is that trap (specs/gas.md, "Checks").
    let reason = if halt_flag == HALT_OUT_OF_GAS {
        HaltReason::OutOfGas
    } else if halt_flag == HALT_STACK_EXHAUSTED {
        HaltReason::StackExhausted
    } else {
        match error.as_trap_code() {
            // wasmi's own limits are configured above the injected ones, so
            // this is never expected; kept apart from `StackExhausted` so
            // tests can tell which limit stopped a contract.
            Some(TrapCode::StackOverflow) => HaltReason::Trap(TrapKind::EngineStackLimit),
            Some(code) => HaltReason::Trap(trap_kind(code)),
            None => HaltReason::Trap(TrapKind::Other),
        }
    };
    ExecStatus::Halt { reason }
}

fn trap_kind(code: TrapCode) -> TrapKind {
    match code {
        TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
        TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => TrapKind::TableOutOfBounds,
        TrapCode::IndirectCallToNull => TrapKind::IndirectCallToNull,
        TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
        TrapCode::IntegerOverflow | TrapCode::BadConversionToInteger => TrapKind::IntegerOverflow,
        TrapCode::BadSignature => TrapKind::BadSignature,
        _ => TrapKind::Other,
    }
}

fn diagnose(
    reason: &HaltReason,
    state: &FrameState,
    module: &CompiledModule,
    export: &str,
    gas_left: Option<i64>,
) -> TrapDiagnostics {
    let backtrace: Vec<BacktraceFrame> = state
        .shadow_stack
        .iter()
        .enumerate()
        .map(|(depth, &index)| {
            let name = module.function_names.get(&index).cloned();
            // The outermost frame is the export; name it so if the name section does not.
            let name = name.or_else(|| (depth == 0).then(|| format!("<export `{export}`>")));
            BacktraceFrame {
                function_index: index,
                name,
            }
        })
        .collect();
    let function = backtrace
        .last()
        .map(|frame| frame.name.clone().unwrap_or_else(|| frame.to_string()));
    let place = match (&function, state.host_function) {
        (Some(function), Some(host)) => format!("in `{function}` during host call `{host}`"),
        (Some(function), None) => format!("in `{function}`"),
        (None, Some(host)) => format!("in export `{export}` during host call `{host}`"),
        (None, None) => format!("in export `{export}`"),
    };
    TrapDiagnostics {
        message: format!("{reason} {place}"),
        contract: state.address,
        export: export.to_owned(),
        function,
        host_function: state.host_function.map(str::to_owned),
        gas_left,
        depth: state.depth,
        backtrace,
    }
}

// ---------------------------------------------------------------------------
// World operations, performed by the frame loop
// ---------------------------------------------------------------------------

/// Performs a deferred world operation for the frame in `store`: returns the
/// host function's result to resume the Wasm call with, or the trap that
/// ends the frame; a backend failure is a node error.
pub(crate) fn perform(
    ctx: &MessageContext<'_>,
    store: &mut Store<FrameState>,
    op: WorldOp,
) -> Result<HostResult<Option<Val>>, NodeError> {
    let world = ctx.world;
    let result = match op {
        WorldOp::StorageRead {
            key,
            dst_ptr,
            dst_cap,
        } => {
            let state = store.state();
            match state.shared.journal.storage(world, &state.address, &key)? {
                None => Ok(-1),
                Some(value) => {
                    let copied = value.len().min(host_index(u64::from(dst_cap)));
                    let per_byte = gas::storage_read.per_byte.saturating_mul(copied as u64);
                    charge(store, per_byte)
                        .and_then(|()| write_bytes(store, dst_ptr, &value[..copied]))
                        .map(|()| to_i32(value.len()))
                }
            }
            .map(|code| Some(Val::I32(code)))
        }
        WorldOp::StorageRemove { key } => {
            let state = store.state_mut();
            let address = state.address;
            let present = state
                .shared
                .journal
                .storage(world, &address, &key)?
                .is_some();
            if present {
                state.shared.journal.set_storage(address, key, None);
            }
            Ok(Some(Val::I32(i32::from(present))))
        }
        WorldOp::Balance { address, dst_ptr } => {
            let balance = store.state().shared.journal.balance(world, &address)?;
            write_bytes(store, dst_ptr, &balance.to_little_endian()).map(|()| None)
        }
        WorldOp::Transfer { to, value } => {
            let state = store.state_mut();
            let from = state.address;
            let done = state.shared.journal.transfer(world, &from, &to, value)?;
            Ok(Some(Val::I32(if done { 0 } else { 1 })))
        }
        WorldOp::Call {
            target,
            value,
            input,
            gas_limit,
        } => perform_call(ctx, store, target, value, input, gas_limit)
            .map(|code| Ok(Some(Val::I32(code))))?,
    };
    if result.is_ok() {
        store.state_mut().host_function = None;
    }
    Ok(result)
}

/// A `call` forwards at most `left - left / 64` gas (specs/host-api.md).
const CALLER_RESERVE_DIVISOR: i64 = 64;

fn perform_call(
    ctx: &MessageContext<'_>,
    store: &mut Store<FrameState>,
    target: Address,
    value: U256,
    input: Vec<u8>,
    gas_limit: i64,
) -> Result<i32, NodeError> {
    let left = gas_left(store);
    // The caller always keeps 1/64 of what it has left (EIP-150's rule): a
    // callee that halts uses its whole limit, and the reserve lets the caller
    // still handle that failure instead of running out itself.
    let forwardable = left.max(0) - left.max(0) / CALLER_RESERVE_DIVISOR;
    let forwarded = if gas_limit < 0 {
        forwardable
    } else {
        gas_limit.min(forwardable)
    }
    .cast_unsigned();
    let state = store.state();
    let depth = state.depth + 1;
    if depth > ctx.executor.config().max_call_depth {
        return Ok(CALL_NOT_STARTED);
    }
    let Some(code_hash) = state
        .shared
        .journal
        .account(ctx.world, &target)?
        .and_then(|a| a.code_hash)
    else {
        return Ok(CALL_NOT_STARTED);
    };
    let Ok(module) = load_module(ctx, &state.shared.journal, code_hash, None)? else {
        return Ok(CALL_NOT_STARTED);
    };
    let frame = FrameCall {
        address: target,
        caller: state.address,
        value,
        input,
        gas_limit: forwarded,
        depth,
        export: Export::Call,
    };
    let mut shared = std::mem::take(&mut store.state_mut().shared);
    let result = run_frame(ctx, &mut shared, frame, &module);
    store.state_mut().shared = shared;
    let result = result?;
    // gas_used <= forwarded <= left, so this cannot go negative.
    set_gas_left(store, left - as_i64(result.gas_used));
    let state = store.state_mut();
    if let Some(profile) = state.profile.as_mut() {
        profile.host_charge(state.host_function, result.gas_used, left);
    }
    let (code, data) = match result.status {
        ExecStatus::Success { return_data } => (CALL_SUCCESS, return_data),
        ExecStatus::Revert { data } => (CALL_REVERTED, data),
        ExecStatus::Halt {
            reason: HaltReason::OutOfGas | HaltReason::StackExhausted | HaltReason::Trap(_),
        } => (CALL_HALTED, Vec::new()),
        ExecStatus::Halt { .. } => (CALL_NOT_STARTED, Vec::new()),
    };
    store.state_mut().return_data = data;
    Ok(code)
}
