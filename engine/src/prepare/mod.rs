//! Preparation: validation of an untrusted module against Cairn's
//! deterministic Wasm subset, then gas and stack-height injection.
//!
//! [`prepare_code`] runs the named checks of `specs/validation.md` while
//! `wasmparser` validates the module, records every function body
//! ([`plan`]), then rewrites the module following `specs/gas.md`: the call
//! graph ([`callgraph`]) decides each function's calling convention for the
//! gas counter, and [`meter`] writes each body. Sections other than the
//! type, function, global, export and code sections are copied byte for
//! byte; function indices do not change.
//!
//! ```
//! use cairn_engine::prepare::{GasSchedule, ValidationLimits, prepare_code};
//!
//! let wasm = wat::parse_str(r#"(module
//!     (memory 1 1)
//!     (func (export "call") (local i32)
//!         (loop $l (br_if $l (i32.lt_u (local.tee 0 (i32.add (local.get 0) (i32.const 1))) (i32.const 9))))))"#).unwrap();
//! let prepared = prepare_code(&wasm, &GasSchedule::v2(), &ValidationLimits::default()).unwrap();
//! assert!(prepared.exports.contains(&"call".to_string()));
//! assert!(prepared.code.len() > wasm.len());
//! ```

mod callgraph;
mod checks;
mod error;
mod limits;
mod meter;
mod plan;
mod schedule;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::OnceLock;

use cairn_host_api::world::H256;
use wasmparser::{
    BlockType, FuncType, FuncValidatorAllocations, Operator, Parser, Payload, ValidPayload,
    Validator, WasmFeatures,
};

pub use error::{PrepareError, Rule, Violation};
pub use limits::ValidationLimits;
pub use schedule::{CostClass, GasSchedule, INSTRUCTION_CLASSES, InstructionCosts};

use callgraph::CallGraph;
use checks::ExportSummary;
use meter::{Analysis, CalleeInfo, Convention, FunctionShape, InjectedGlobals, ValType, leb_u32};
use plan::{FunctionPlan, OpKind, RecordingBuffers, Shape};

/// Name of the exported mutable i64 global holding the gas left.
pub const GAS_LEFT_GLOBAL: &str = "cairn_gas_left";
/// Name of the exported mutable i32 global set to a [`HaltCode`] before a trap.
pub const HALT_GLOBAL: &str = "cairn_halt";

/// Values the injected code writes to [`HALT_GLOBAL`] before trapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum HaltCode {
    /// Not halted by injected code.
    None = 0,
    /// Out of gas.
    OutOfGas = 1,
    /// Injected stack-height limit exceeded.
    StackExhausted = 2,
}

/// A validated and instrumented module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedCode {
    /// The instrumented module.
    pub code: Vec<u8>,
    /// [`GasSchedule::hash`] of the schedule used.
    pub schedule_hash: H256,
    /// Size of the original code in bytes.
    pub original_size: usize,
    /// Host functions imported (`module::name`), in import order.
    pub imports: Vec<String>,
    /// Names exported by the original module (`call`, maybe `deploy` and `memory`).
    /// The prepared module additionally exports [`GAS_LEFT_GLOBAL`],
    /// [`HALT_GLOBAL`], and `memory` if the original did not.
    pub exports: Vec<String>,
    /// Whether a `deploy` export exists.
    pub has_deploy: bool,
    /// Function names from the name section, by function index.
    pub function_names: BTreeMap<u32, String>,
    /// The function appended for failed gas checks (`specs/gas.md`,
    /// section 8), if any check calls it: not the contract's own code, so
    /// backtraces leave it out.
    pub out_of_gas_function: Option<u32>,
    /// Whether a failed check publishes the exact counter in
    /// `cairn_gas_left` before it traps ([`prepare_code_for_tracing`] and
    /// [`prepare_code_for_profiling`]; deployed code does not).
    pub publishes_halt_counter: bool,
}

/// The Wasm features `wasmparser` may accept. Everything beyond the subset
/// that our own checks name more precisely (floats, reference types,
/// multi-value) is enabled here and then rejected by those checks. The
/// prepared code itself uses multi-value (functions return the gas counter
/// beside their result).
pub fn wasm_features() -> WasmFeatures {
    WasmFeatures::WASM1
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::SATURATING_FLOAT_TO_INT
}

/// Validates `wasm` and injects gas metering and the stack-height limit.
///
/// A pure function of its arguments. On rejection the error names the rule,
/// the function and byte offset where known, and a hint.
///
/// The output is not validated again here: the deploy path hands it to
/// wasmi, which validates it while compiling. Tests, the fuzzer and tools
/// use [`prepare_code_checked`], which does.
pub fn prepare_code(
    wasm: &[u8],
    schedule: &GasSchedule,
    limits: &ValidationLimits,
) -> Result<PreparedCode, PrepareError> {
    prepare_variant(wasm, schedule, limits, Variant::Deployed)
}

/// [`prepare_code`] for gas profiles (`Executor::execute_profiled`): the
/// same validation, the same gas at every point a call can observe (the
/// normative sections of `specs/gas.md`), but every defined function takes
/// the *boundary* convention, so `cairn_gas_left` holds the exact counter
/// around every call. Slower code; never deployed, never cached.
///
/// # Errors
///
/// As [`prepare_code`].
pub fn prepare_code_for_profiling(
    wasm: &[u8],
    schedule: &GasSchedule,
    limits: &ValidationLimits,
) -> Result<PreparedCode, PrepareError> {
    prepare_variant(wasm, schedule, limits, Variant::Profiled)
}

/// [`prepare_code`] for traced runs (`Executor::execute_traced`, what
/// `cairn run` reports from): the same validation, the same charges and
/// checks, but a failed check passes the exact counter to the out-of-gas
/// function, which writes it to `cairn_gas_left` before it traps, so
/// [`crate::runtime::TrapDiagnostics::gas_left`] says how far below zero
/// the counter went. Deployed code leaves that out (a halt uses the whole
/// limit and the spec leaves the global open after it), which makes each
/// check a few bytes smaller. Never deployed, never cached.
///
/// # Errors
///
/// As [`prepare_code`].
pub fn prepare_code_for_tracing(
    wasm: &[u8],
    schedule: &GasSchedule,
    limits: &ValidationLimits,
) -> Result<PreparedCode, PrepareError> {
    prepare_variant(wasm, schedule, limits, Variant::Traced)
}

/// The three forms of prepared code; they differ only where the spec leaves
/// the rewrite free (`specs/gas.md`, section 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// [`prepare_code`].
    Deployed,
    /// [`prepare_code_for_tracing`]: failed checks publish the counter.
    Traced,
    /// [`prepare_code_for_profiling`]: as traced, and every function a
    /// boundary.
    Profiled,
}

fn prepare_variant(
    wasm: &[u8],
    schedule: &GasSchedule,
    limits: &ValidationLimits,
    variant: Variant,
) -> Result<PreparedCode, PrepareError> {
    checks::check_code_size(wasm.len(), limits)?;
    with_scratch(wasm, |scratch| {
        let mut preparer = Preparer::new(wasm, schedule, limits, scratch);
        preparer.all_boundary = variant == Variant::Profiled;
        preparer.exact_halt = variant != Variant::Deployed;
        (preparer.run(), preparer.scratch)
    })
    .map_err(|mut e| {
        if let Some(index) = e.violation().function
            && let Some(name) = function_names(wasm).remove(&index)
        {
            e.set_function_name(name);
        }
        e
    })
}

/// Modules up to this size leave their buffers to the next preparation on
/// the same thread: a few MiB at most per thread that prepares (a node may
/// prepare on many threads: block execution, RPC calls and estimates).
/// Larger modules gain little from the reuse (their cost grows with their
/// size, not with the number of buffers), so theirs are dropped.
const SCRATCH_MODULE_LIMIT: usize = 64 * 1024;

thread_local! {
    static SCRATCH: std::cell::Cell<Option<Box<Scratch>>> = const { std::cell::Cell::new(None) };
}

/// Runs `prepare` with this thread's [`Scratch`] (or a new one), and keeps
/// what it hands back for the next call. Every buffer is cleared before it
/// is used, so what an earlier module left in them cannot reach the output.
fn with_scratch<T>(wasm: &[u8], prepare: impl FnOnce(Box<Scratch>) -> (T, Box<Scratch>)) -> T {
    let scratch = SCRATCH.with(std::cell::Cell::take).unwrap_or_default();
    let (result, mut scratch) = prepare(scratch);
    if wasm.len() <= SCRATCH_MODULE_LIMIT {
        scratch.recycle();
        SCRATCH.with(|cell| cell.set(Some(scratch)));
    }
    result
}

/// [`prepare_code`], then validates the instrumented module again with the
/// same feature set: a failure is the `instrumentation` rule (a bug in
/// Cairn, never the contract author's fault).
pub fn prepare_code_checked(
    wasm: &[u8],
    schedule: &GasSchedule,
    limits: &ValidationLimits,
) -> Result<PreparedCode, PrepareError> {
    let prepared = prepare_code(wasm, schedule, limits)?;
    let mut validator = Validator::new_with_features(wasm_features());
    if let Err(e) = validator.validate_all(&prepared.code) {
        return Err(PrepareError::new(
            Rule::Instrumentation,
            format!("instrumented module does not validate: {e}"),
        ));
    }
    Ok(prepared)
}

/// [`GasSchedule::hash`], computed once for the current schedule.
pub(crate) fn schedule_hash(schedule: &GasSchedule) -> H256 {
    static CURRENT: OnceLock<(GasSchedule, H256)> = OnceLock::new();
    let (current, hash) = CURRENT.get_or_init(|| {
        let current = GasSchedule::v2();
        let hash = current.hash();
        (current, hash)
    });
    if schedule == current {
        *hash
    } else {
        schedule.hash()
    }
}

/// Function names from the name section; empty if absent or malformed.
pub fn function_names(wasm: &[u8]) -> BTreeMap<u32, String> {
    let mut names = BTreeMap::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else { break };
        if let Payload::CustomSection(section) = payload {
            collect_function_names(&section, &mut names);
        }
    }
    names
}

fn collect_function_names(
    section: &wasmparser::CustomSectionReader<'_>,
    names: &mut BTreeMap<u32, String>,
) {
    if let wasmparser::KnownCustom::Name(reader) = section.as_known() {
        for name in reader.into_iter().flatten() {
            if let wasmparser::Name::Function(map) = name {
                for naming in map.into_iter().flatten() {
                    names.insert(naming.index, naming.name.to_owned());
                }
            }
        }
    }
}

fn to_val_type(ty: wasmparser::ValType) -> ValType {
    match ty {
        wasmparser::ValType::I64 => ValType::I64,
        // Other types were rejected by `check_value_type` before we get here.
        _ => ValType::I32,
    }
}

fn usize_of(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

/// A section of the original module, in order.
#[derive(Debug)]
struct Section {
    id: u8,
    range: Range<usize>,
}

/// The buffers of a preparation that do not leave it: kept per thread
/// between calls, so that preparing a small module does not pay the
/// allocator dozens of times (wasmi keeps its translator's buffers in its
/// engine for the same reason).
#[derive(Default)]
struct Scratch {
    allocs: FuncValidatorAllocations,
    recording: RecordingBuffers,
    sections: Vec<Section>,
    planned: Vec<PlannedFunction>,
    /// Plans of an earlier module, emptied; the next functions record
    /// into their buffers.
    spare_plans: Vec<FunctionPlan>,
    assembly: AssemblyBuffers,
}

impl Scratch {
    /// Empties what the next preparation fills, keeping the buffers.
    fn recycle(&mut self) {
        self.sections.clear();
        self.spare_plans
            .extend(self.planned.drain(..).map(|f| f.plan));
    }
}

/// What [`Preparer::assemble`] reuses.
#[derive(Debug, Default)]
struct AssemblyBuffers {
    analyzer: Analyzer,
    analysis: Analysis,
    graph: CallGraph,
    /// Instrumented bodies, one after the other.
    bodies: Vec<u8>,
    /// `bodies[written[d]]` is function `d`'s (empty for a `Static` one,
    /// copied as it is).
    written: Vec<Range<usize>>,
    /// Defined callees of every function, one list after the other: those
    /// of `d` end at `callee_ends[d]`.
    callee_list: Vec<usize>,
    callee_ends: Vec<usize>,
    /// Defined functions in the table.
    table: Vec<usize>,
    info: Vec<CalleeInfo>,
    /// The new function types, encoded as in the type section, one after
    /// the other; type `k` ends at `new_type_ends[k]`.
    new_types: Vec<u8>,
    new_type_ends: Vec<usize>,
    /// Type index of every defined function in the prepared module.
    function_types: Vec<u32>,
    /// Contents of the section being written.
    section: Vec<u8>,
}

struct Preparer<'a> {
    wasm: &'a [u8],
    schedule: &'a GasSchedule,
    limits: &'a ValidationLimits,
    validator: Validator,
    types: Vec<FuncType>,
    /// Type index of every function, imports first.
    func_types: Vec<u32>,
    imported_funcs: u32,
    imports: Vec<String>,
    globals: u32,
    memories: u32,
    /// Declared maximum of the memory, in pages.
    memory_max_pages: u32,
    exports: ExportSummary,
    export_names: Vec<String>,
    scratch: Box<Scratch>,
    data_segments: u32,
    /// From the name section, read as it passes.
    function_names: BTreeMap<u32, String>,
    /// Functions named by any element segment (possible `call_indirect` targets).
    in_table: BTreeSet<u32>,
    /// Every function a boundary (profiling only, see
    /// [`prepare_code_for_profiling`]).
    all_boundary: bool,
    /// A failed check publishes the exact counter (traced and profiled
    /// runs, see [`prepare_code_for_tracing`]).
    exact_halt: bool,
}

/// A validated function, recorded for the rewrite.
#[derive(Debug)]
struct PlannedFunction {
    index: u32,
    body: Range<usize>,
    plan: FunctionPlan,
    /// Declared local groups (parameters excluded).
    locals: Vec<(u32, ValType)>,
    params: u32,
    result: Option<ValType>,
    frame_cost: u32,
    exported: bool,
}

impl<'a> Preparer<'a> {
    fn new(
        wasm: &'a [u8],
        schedule: &'a GasSchedule,
        limits: &'a ValidationLimits,
        scratch: Box<Scratch>,
    ) -> Self {
        Self {
            validator: Validator::new_with_features(wasm_features()),
            wasm,
            schedule,
            limits,
            types: Vec::new(),
            func_types: Vec::new(),
            imported_funcs: 0,
            imports: Vec::new(),
            globals: 0,
            memories: 0,
            memory_max_pages: 0,
            exports: ExportSummary::default(),
            export_names: Vec::new(),
            scratch,
            data_segments: 0,
            function_names: BTreeMap::new(),
            in_table: BTreeSet::new(),
            all_boundary: false,
            exact_halt: false,
        }
    }

    fn injected_globals(&self) -> InjectedGlobals {
        InjectedGlobals {
            gas_left: self.globals,
            halt: self.globals + 1,
            stack_budget: self.globals + 2,
            memory_max_pages: self.memory_max_pages,
            // Appended after the module's own functions.
            out_of_gas: self.imported_funcs + len_u32(self.scratch.planned.len()),
            exact_halt: self.exact_halt,
        }
    }

    fn run(&mut self) -> Result<PreparedCode, PrepareError> {
        let wasm = self.wasm;
        let mut ended = false;
        let mut parser = Parser::new(0);
        // Parse-level features too (e.g. compact import encodings), exactly
        // as `Validator::validate_all` does.
        parser.set_features(wasm_features());
        for payload in parser.parse_all(wasm) {
            let payload = payload.map_err(|e| PrepareError::malformed(&e))?;
            self.check_payload(&payload)?;
            let valid = self
                .validator
                .payload(&payload)
                .map_err(|e| PrepareError::malformed(&e))?;
            match (&payload, valid) {
                (_, ValidPayload::Func(to_validate, body)) => {
                    let index = to_validate.index;
                    let allocs = std::mem::take(&mut self.scratch.allocs);
                    let mut func_validator = to_validate.into_validator(allocs);
                    let result = self.prepare_function(index, &body, &mut func_validator);
                    self.scratch.allocs = func_validator.into_allocations();
                    result.map_err(|e| e.in_function(index))?;
                }
                (_, ValidPayload::End(_)) => ended = true,
                _ => {
                    if let Some((id, range)) = payload.as_section() {
                        self.scratch.sections.push(Section {
                            id,
                            range: usize_of(range.start)..usize_of(range.end),
                        });
                    }
                }
            }
        }
        if !ended {
            return Err(PrepareError::new(
                Rule::Malformed,
                "unexpected end of module",
            ));
        }
        if self.memories != 1 {
            return Err(PrepareError::new(
                Rule::MemoryCount,
                format!(
                    "{} memories defined, exactly one is required",
                    self.memories
                ),
            ));
        }
        let types = &self.types;
        let func_types = &self.func_types;
        checks::check_entry_points(&self.exports, |index| {
            let ty = *func_types.get(index as usize)?;
            types.get(ty as usize).cloned()
        })?;
        let mut assembly = std::mem::take(&mut self.scratch.assembly);
        let (code, out_of_gas_function) = self.assemble(&mut assembly);
        self.scratch.assembly = assembly;
        let mut exports = std::mem::take(&mut self.export_names);
        exports.sort_unstable();
        Ok(PreparedCode {
            code,
            schedule_hash: schedule_hash(self.schedule),
            original_size: wasm.len(),
            imports: std::mem::take(&mut self.imports),
            has_deploy: self.exports.deploy.is_some(),
            exports,
            function_names: std::mem::take(&mut self.function_names),
            out_of_gas_function,
            publishes_halt_counter: self.exact_halt,
        })
    }

    /// Our own checks of a section, before `wasmparser` validates it.
    fn check_payload(&mut self, payload: &Payload<'_>) -> Result<(), PrepareError> {
        let malformed = |e: wasmparser::BinaryReaderError| PrepareError::malformed(&e);
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    let group = group.map_err(malformed)?;
                    for sub in group.into_types() {
                        let index = u32::try_from(self.types.len()).unwrap_or(u32::MAX);
                        let ty = checks::func_type_of(&sub, index)?;
                        checks::check_func_type(index, &ty, self.limits)
                            .map_err(|e| e.at(usize_of(reader.range().start)))?;
                        self.types.push(ty);
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    let import = import.map_err(malformed)?;
                    checks::check_import(&import, &self.types)
                        .map_err(|e| e.at(usize_of(reader.range().start)))?;
                    if let wasmparser::TypeRef::Func(ty) = import.ty {
                        self.func_types.push(ty);
                        self.imported_funcs += 1;
                        self.imports
                            .push(format!("{}::{}", import.module, import.name));
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                checks::check_function_count(reader.count(), self.limits)?;
                self.func_types.reserve(reader.count() as usize);
                self.scratch.planned.reserve(reader.count() as usize);
                for ty in reader.clone() {
                    self.func_types.push(ty.map_err(malformed)?);
                }
            }
            Payload::TableSection(reader) => {
                for (index, table) in (0u32..).zip(reader.clone()) {
                    let table = table.map_err(malformed)?;
                    checks::check_table(index, &table.ty, self.limits)
                        .map_err(|e| e.at(usize_of(reader.range().start)))?;
                }
            }
            Payload::MemorySection(reader) => {
                for (index, memory) in (0u32..).zip(reader.clone()) {
                    let memory = memory.map_err(malformed)?;
                    checks::check_memory(index, &memory, self.limits)
                        .map_err(|e| e.at(usize_of(reader.range().start)))?;
                    self.memory_max_pages =
                        u32::try_from(memory.maximum.unwrap_or(0)).unwrap_or(u32::MAX);
                    self.memories += 1;
                }
            }
            Payload::TagSection(reader) => {
                return Err(PrepareError::new(
                    Rule::UnsupportedFeature,
                    "tag section (exceptions)",
                )
                .at(usize_of(reader.range().start)));
            }
            Payload::GlobalSection(reader) => {
                for (index, global) in (0u32..).zip(reader.clone()) {
                    let global = global.map_err(malformed)?;
                    checks::check_global(index, &global.ty, self.limits)
                        .map_err(|e| e.at(usize_of(reader.range().start)))?;
                    self.globals += 1;
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader.clone() {
                    let export = export.map_err(malformed)?;
                    checks::check_export(&export, &mut self.exports)
                        .map_err(|e| e.at(usize_of(reader.range().start)))?;
                    self.export_names.push(export.name.to_owned());
                }
            }
            Payload::StartSection { range, func } => {
                return Err(PrepareError::new(
                    Rule::StartFunction,
                    format!("the module declares function {func} as its start function"),
                )
                .at(usize_of(range.start)));
            }
            Payload::ElementSection(reader) => {
                for element in reader.clone() {
                    let element = element.map_err(malformed)?;
                    checks::check_element(&element)?;
                    match element.items {
                        wasmparser::ElementItems::Functions(items) => {
                            for index in items {
                                self.in_table.insert(index.map_err(malformed)?);
                            }
                        }
                        wasmparser::ElementItems::Expressions(_, items) => {
                            for expr in items {
                                for op in expr.map_err(malformed)?.get_operators_reader() {
                                    if let Operator::RefFunc { function_index } =
                                        op.map_err(malformed)?
                                    {
                                        self.in_table.insert(function_index);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Payload::DataCountSection { count, range } => {
                checks::check_data_count(*count, self.limits)
                    .map_err(|e| e.at(usize_of(range.start)))?;
            }
            Payload::DataSection(reader) => {
                self.data_segments += reader.count();
                checks::check_data_count(self.data_segments, self.limits)
                    .map_err(|e| e.at(usize_of(reader.range().start)))?;
            }
            Payload::CustomSection(section) => {
                collect_function_names(section, &mut self.function_names);
            }
            _ => {}
        }
        Ok(())
    }

    fn prepare_function(
        &mut self,
        index: u32,
        body: &wasmparser::FunctionBody<'_>,
        validator: &mut wasmparser::FuncValidator<wasmparser::ValidatorResources>,
    ) -> Result<(), PrepareError> {
        let malformed = |e: wasmparser::BinaryReaderError| PrepareError::malformed(&e);
        let ty = self
            .func_types
            .get(index as usize)
            .and_then(|t| self.types.get(*t as usize))
            .ok_or_else(|| PrepareError::new(Rule::Malformed, "function without a type"))?;
        let params = u32::try_from(ty.params().len()).unwrap_or(u32::MAX);
        let result = ty.results().first().copied().map(to_val_type);

        let mut locals = Vec::new();
        let mut local_count = u64::from(params);
        let mut reader = body.get_locals_reader().map_err(malformed)?;
        for _ in 0..reader.get_count() {
            let offset = reader.original_position();
            let (count, ty) = reader.read().map_err(malformed)?;
            local_count += u64::from(count);
            checks::check_local_count(local_count, self.limits)
                .map_err(|e| e.at(usize_of(offset)))?;
            checks::check_value_type(ty, "a local").map_err(|e| e.at(usize_of(offset)))?;
            validator
                .define_locals(offset, count, ty)
                .map_err(malformed)?;
            locals.push((count, to_val_type(ty)));
        }

        // Instructions take 1.5 to 2 bytes on average: reserving half the
        // body's size spares most of the growing.
        let body_len = usize_of(body.range().end - body.range().start);
        let buffers = std::mem::take(&mut self.scratch.recording);
        let spare = self.scratch.spare_plans.pop();
        let mut plan = FunctionPlan::reusing(spare, body_len / 2 + 8, buffers);
        plan.params = params;
        let mut max_height = 0u32;
        let mut recording = Recording {
            plan,
            limits: self.limits,
            imported_funcs: self.imported_funcs,
            height: 0,
            after_call: false,
        };
        let mut ops = body.get_operators_reader().map_err(malformed)?;
        while !ops.eof() {
            let offset = ops.original_position();
            let at = usize_of(offset);
            recording.height = validator.operand_stack_height();
            if self.wasm.get(at) == Some(&SIMD_PREFIX) {
                // Rejected by our own check (`wasmparser` may not read
                // these at all without its `simd` feature).
                let (op, offset) = ops.read_with_offset().map_err(malformed)?;
                let cost = self
                    .schedule
                    .cost_of(&op)
                    .ok_or_else(|| checks::reject_instruction(&op).at(at))?;
                validator.op(offset, &op).map_err(malformed)?;
                recording.record(&op, cost, at)?;
            } else {
                let mut checked = CheckedOp {
                    validator: validator.visitor(offset),
                    schedule: self.schedule,
                    at,
                    recording: &mut recording,
                };
                ops.visit_operator(&mut checked).map_err(malformed)??;
            }
            max_height = max_height.max(validator.operand_stack_height());
        }
        let mut plan = recording.plan;
        ops.finish().map_err(malformed)?;
        self.scratch.recording = plan.finish();
        if validator.control_stack_height() != 0 {
            return Err(
                PrepareError::new(Rule::Malformed, "function body is not terminated")
                    .at(usize_of(body.range().end)),
            );
        }

        let local_count = u32::try_from(local_count).unwrap_or(u32::MAX);
        let frame_cost = self
            .schedule
            .frame_overhead
            .saturating_add(local_count)
            .saturating_add(max_height);
        let exported = self.exports.call == Some(index) || self.exports.deploy == Some(index);
        let body_range = body.range();
        self.scratch.planned.push(PlannedFunction {
            index,
            body: usize_of(body_range.start)..usize_of(body_range.end),
            plan,
            locals,
            params,
            result,
            frame_cost,
            exported,
        });
        Ok(())
    }

    /// Decides every function's calling convention and charges, then writes
    /// the prepared module.
    /// The prepared module, and the index of its out-of-gas function if
    /// it has one.
    fn assemble(&self, buffers: &mut AssemblyBuffers) -> (Vec<u8>, Option<u32>) {
        let AssemblyBuffers {
            analyzer,
            analysis,
            graph,
            bodies,
            written,
            callee_list,
            callee_ends,
            table,
            info,
            new_types,
            new_type_ends,
            function_types,
            section,
        } = buffers;
        let planned = &self.scratch.planned;
        let imported = self.imported_funcs;
        let n = planned.len();
        let defined = |index: u32| {
            index
                .checked_sub(imported)
                .map(|d| d as usize)
                .filter(|&d| d < n)
        };
        callee_list.clear();
        callee_ends.clear();
        for f in planned {
            callee_list.extend(f.plan.callees.iter().filter_map(|&c| defined(c)));
            callee_ends.push(callee_list.len());
        }
        let (callee_list, callee_ends) = (&*callee_list, &*callee_ends);
        let callees = |d: usize| {
            let start = d.checked_sub(1).map_or(0, |p| callee_ends[p]);
            &callee_list[start..callee_ends[d]]
        };
        table.clear();
        table.extend(self.in_table.iter().filter_map(|&i| defined(i)));
        graph.compute(n, callees, |d| planned[d].plan.has_call_indirect, table);
        let graph = &*graph;
        let boundary = |d: usize| {
            self.all_boundary || planned[d].exported || self.in_table.contains(&planned[d].index)
        };

        // Conventions, callees first.
        info.clear();
        info.extend((0..n).map(|d| CalleeInfo {
            convention: if boundary(d) {
                Convention::Boundary
            } else {
                Convention::Absolute
            },
            exit: 0,
            entry: 0,
            recursive: graph.recursive[d],
            reaches_recursion: graph.reaches_recursion[d],
            frame_cost: planned[d].frame_cost,
        }));
        for component in graph.components() {
            for &d in component {
                let plan = &planned[d].plan;
                let passes_no_check = !boundary(d)
                    && !graph.recursive[d]
                    && !plan.has_loop
                    && !plan.has_host_call
                    && !plan.has_call_indirect
                    && !plan.has_dynamic
                    && callees(d).iter().all(|&c| {
                        matches!(
                            info[c].convention,
                            Convention::Relative | Convention::Static
                        )
                    });
                if passes_no_check {
                    info[d].convention = Convention::Relative;
                }
            }
        }

        let table_reaches_recursion = table.iter().any(|&t| graph.reaches_recursion[t]);
        let table_recursive = table.iter().any(|&t| graph.recursive[t]);
        let lookup = |info: &[CalleeInfo], index: u32| match defined(index) {
            Some(c) => info[c],
            None => CalleeInfo {
                convention: Convention::Boundary,
                exit: 0,
                entry: 0,
                recursive: false,
                reaches_recursion: false,
                frame_cost: 0,
            },
        };

        // Charges, callees first; a cycle is analysed twice so every member
        // knows the others' exit offsets. A function is written as soon as
        // its last analysis is done: by then its own convention and its
        // callees' are final (only a non-recursive function, alone in its
        // component, may still turn `Static`, right after its analysis), so
        // one set of analysis buffers serves every function.
        let globals = self.injected_globals();
        meter::empty_with_room(bodies, self.wasm.len() + self.wasm.len() / 2);
        written.clear();
        written.resize(n, 0..0);
        let mut out_of_gas = false;
        for component in graph.components() {
            let rounds = if graph.recursive[component[0]] { 2 } else { 1 };
            for round in 0..rounds {
                for &d in component {
                    let forced = (round > 0).then_some(info[d].exit);
                    let f = &planned[d];
                    analyze_function(
                        &f.plan,
                        forced,
                        &|index| lookup(info, index),
                        analyzer,
                        analysis,
                    );
                    if info[d].convention != Convention::Boundary {
                        info[d].exit = analysis.exit;
                    }
                    if info[d].convention == Convention::Absolute && !graph.recursive[d] {
                        info[d].entry = analysis.entry_charge;
                    }
                    if round + 1 < rounds {
                        continue;
                    }
                    let static_body = info[d].convention == Convention::Relative
                        && analysis.charges == 0
                        && callees(d)
                            .iter()
                            .all(|&c| info[c].convention == Convention::Static);
                    if static_body {
                        info[d].convention = Convention::Static;
                        continue;
                    }
                    let shape = FunctionShape {
                        wasm: self.wasm,
                        plan: &f.plan,
                        locals: &f.locals,
                        params: f.params,
                        convention: info[d].convention,
                        recursive: graph.recursive[d],
                        exported: f.exported,
                        frame_cost: f.frame_cost,
                        result: f.result,
                        table_reaches_recursion,
                        table_recursive,
                    };
                    let start = bodies.len();
                    out_of_gas |= meter::emit(
                        &shape,
                        analysis,
                        &|index| lookup(info, index),
                        self.schedule,
                        globals,
                        bodies,
                    );
                    written[d] = start..bodies.len();
                }
            }
        }

        // New function types: parameters (+ counter, + budget) -> results + counter.
        // Numbered in order of first use; a module has few distinct ones,
        // so a list serves as the map.
        new_types.clear();
        new_type_ends.clear();
        function_types.clear();
        let base_types = u32::try_from(self.types.len()).unwrap_or(u32::MAX);
        for (d, f) in planned.iter().enumerate() {
            let original = self.func_types[f.index as usize];
            let convention = info[d].convention;
            if matches!(convention, Convention::Static | Convention::Boundary) {
                function_types.push(original);
                continue;
            }
            let ty = &self.types[original as usize];
            let absolute = convention == Convention::Absolute;
            let added = if absolute {
                1 + usize::from(graph.recursive[d])
            } else {
                0
            };
            // Encoded at the end of `new_types`; dropped again if an
            // earlier new type is the same.
            let start = new_types.len();
            new_types.push(0x60);
            leb_u32(new_types, len_u32(ty.params().len() + added));
            new_types.extend(ty.params().iter().map(|&t| to_val_type(t).byte()));
            if absolute {
                new_types.push(ValType::I64.byte());
                if graph.recursive[d] {
                    new_types.push(ValType::I32.byte());
                }
            }
            leb_u32(new_types, len_u32(ty.results().len() + 1));
            new_types.extend(ty.results().iter().map(|&t| to_val_type(t).byte()));
            new_types.push(ValType::I64.byte());
            let position = intern_new_type(new_types, new_type_ends, start);
            function_types.push(base_types + len_u32(position));
        }
        // The out-of-gas function, `(param i64)` with `exact_halt` and
        // `[] -> []` without, if a check calls it: an original type if one
        // fits, else a new one after the others.
        let out_of_gas_body = out_of_gas.then(|| {
            let params: &[wasmparser::ValType] = if self.exact_halt {
                &[wasmparser::ValType::I64]
            } else {
                &[]
            };
            let ty = self
                .types
                .iter()
                .position(|ty| ty.params() == params && ty.results().is_empty())
                .map(len_u32)
                .unwrap_or_else(|| {
                    let start = new_types.len();
                    new_types.push(0x60);
                    leb_u32(new_types, len_u32(params.len()));
                    new_types.extend(params.iter().map(|&t| to_val_type(t).byte()));
                    new_types.push(0);
                    base_types + len_u32(intern_new_type(new_types, new_type_ends, start))
                });
            function_types.push(ty);
            let mut body = Vec::with_capacity(16);
            meter::out_of_gas_body(globals, &mut body);
            body
        });

        // Every section but the code section as in the original, give or
        // take a few entries.
        let mut module = Vec::with_capacity(self.wasm.len() + bodies.len() + 256);
        module.extend_from_slice(&wasm_encoder::Module::HEADER);
        let mut globals_written = false;
        for original in &self.scratch.sections {
            let data = &self.wasm[original.range.clone()];
            section.clear();
            let id = match original.id {
                1 => {
                    append_entries(section, data, new_type_ends.len(), |out| {
                        out.extend_from_slice(new_types);
                    });
                    1
                }
                3 => {
                    leb_u32(section, len_u32(function_types.len()));
                    for &ty in &*function_types {
                        leb_u32(section, ty);
                    }
                    3
                }
                6 => {
                    self.global_section(Some(data), section);
                    globals_written = true;
                    6
                }
                7 => {
                    if !globals_written {
                        self.global_section(None, section);
                        raw_section(&mut module, 6, section);
                        section.clear();
                        globals_written = true;
                    }
                    self.export_section(data, section);
                    7
                }
                10 => {
                    // Written in place: the section's size first.
                    let body = |d: usize| {
                        if written[d].is_empty() {
                            &self.wasm[planned[d].body.clone()]
                        } else {
                            &bodies[written[d].clone()]
                        }
                    };
                    let extra = out_of_gas_body.as_deref();
                    let count = n + usize::from(extra.is_some());
                    let size = leb_len(len_u32(count))
                        + (0..n)
                            .map(&body)
                            .chain(extra)
                            .map(|b| leb_len(len_u32(b.len())) + b.len())
                            .sum::<usize>();
                    module.push(10);
                    leb_u32(&mut module, len_u32(size));
                    leb_u32(&mut module, len_u32(count));
                    for b in (0..n).map(body).chain(extra) {
                        leb_u32(&mut module, len_u32(b.len()));
                        module.extend_from_slice(b);
                    }
                    continue;
                }
                id => {
                    raw_section(&mut module, id, data);
                    continue;
                }
            };
            raw_section(&mut module, id, section);
        }
        (module, out_of_gas.then_some(globals.out_of_gas))
    }

    /// The global section: the module's globals (from `original`, its
    /// section contents) followed by the injected ones.
    fn global_section(&self, original: Option<&[u8]>, bytes: &mut Vec<u8>) {
        let stack_limit = i32::try_from(self.schedule.stack_limit).unwrap_or(i32::MAX);
        let injected = |out: &mut Vec<u8>| {
            // cairn_gas_left: mut i64 = 0; cairn_halt: mut i32 = 0; the
            // stack budget: mut i32 = stack_limit (it counts down).
            out.extend_from_slice(&[ValType::I64.byte(), 1, 0x42, 0, 0x0b]);
            out.extend_from_slice(&[ValType::I32.byte(), 1, 0x41, 0, 0x0b]);
            out.extend_from_slice(&[ValType::I32.byte(), 1, 0x41]);
            meter::leb_i64(out, i64::from(stack_limit));
            out.push(0x0b);
        };
        match original {
            Some(data) => append_entries(bytes, data, 3, injected),
            None => {
                bytes.push(3);
                injected(bytes);
            }
        }
    }

    /// The export section: the module's exports (from `data`, its section
    /// contents, already validated) followed by the injected ones.
    fn export_section(&self, data: &[u8], bytes: &mut Vec<u8>) {
        let globals = self.injected_globals();
        let extra = 2 + usize::from(!self.exports.memory);
        append_entries(bytes, data, extra, |out| {
            let mut export = |name: &str, kind: u8, index: u32| {
                leb_u32(out, len_u32(name.len()));
                out.extend_from_slice(name.as_bytes());
                out.push(kind);
                leb_u32(out, index);
            };
            export(GAS_LEFT_GLOBAL, EXPORT_GLOBAL, globals.gas_left);
            export(HALT_GLOBAL, EXPORT_GLOBAL, globals.halt);
            if !self.exports.memory {
                export("memory", EXPORT_MEMORY, 0);
            }
        });
    }
}

/// The function type encoded at `new_types[start..]`: its position among
/// the new types (`new_type_ends` holds where each ends). If an earlier new
/// type is the same, that one's position, and the encoding is dropped again.
fn intern_new_type(new_types: &mut Vec<u8>, new_type_ends: &mut Vec<usize>, start: usize) -> usize {
    let known = (0..new_type_ends.len()).find(|&k| {
        let from = k.checked_sub(1).map_or(0, |j| new_type_ends[j]);
        new_types[from..new_type_ends[k]] == new_types[start..]
    });
    match known {
        Some(position) => {
            new_types.truncate(start);
            position
        }
        None => {
            new_type_ends.push(new_types.len());
            new_type_ends.len() - 1
        }
    }
}

/// Export kinds in the binary format.
const EXPORT_MEMORY: u8 = 0x02;
const EXPORT_GLOBAL: u8 = 0x03;

/// `len` as a `u32` (sizes and counts of an accepted module fit).
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Bytes `value` takes as an unsigned LEB128.
fn leb_len(value: u32) -> usize {
    match value {
        0..0x80 => 1,
        0x80..0x4000 => 2,
        0x4000..0x20_0000 => 3,
        0x20_0000..0x1000_0000 => 4,
        _ => 5,
    }
}

/// The recording of one function's instructions into its [`FunctionPlan`],
/// with the state carried from one instruction to the next.
struct Recording<'l> {
    plan: FunctionPlan,
    limits: &'l ValidationLimits,
    imported_funcs: u32,
    /// Operand stack height before the instruction being recorded.
    height: u32,
    /// The previous instruction was a call: wasmi keeps no operand in a
    /// register across a call, so code injected right after one spills
    /// nothing either.
    after_call: bool,
}

impl Recording<'_> {
    /// Records `op`, validated, costing `cost`, at byte `at`.
    #[inline(always)]
    fn record(&mut self, op: &Operator<'_>, cost: u32, at: usize) -> Result<(), PrepareError> {
        let plan = &mut self.plan;
        let height = self.height;
        let at_rest = plan.at_rest(height) || self.after_call;
        self.after_call = matches!(op, Operator::Call { .. } | Operator::CallIndirect { .. });
        let kind = match op {
            Operator::Block { blockty } | Operator::Loop { blockty } | Operator::If { blockty } => {
                if let BlockType::FuncType(_) = blockty {
                    return Err(PrepareError::new(
                        Rule::MultiValue,
                        "block type with parameters or several results",
                    )
                    .at(at));
                }
                let (kind, base) = match op {
                    Operator::Block { .. } => (OpKind::Block, height),
                    Operator::Loop { .. } => (OpKind::Loop, height),
                    _ => (OpKind::If(false), height.saturating_sub(1)),
                };
                plan.push(at, cost, kind, Shape::of(op), at_rest);
                plan.open_frame_at(base);
                return Ok(());
            }
            Operator::Else => {
                plan.mark_else();
                OpKind::Else
            }
            Operator::End => {
                if plan.close_frame() {
                    OpKind::End
                } else {
                    OpKind::FinalEnd
                }
            }
            Operator::Br { relative_depth } => OpKind::Br(plan.target(*relative_depth)),
            Operator::BrIf { relative_depth } => OpKind::BrIf(plan.target(*relative_depth)),
            Operator::BrTable { targets } => {
                // Counted with the default label.
                let count = targets.len().saturating_add(1);
                if count > self.limits.max_br_table_targets {
                    return Err(PrepareError::new(
                        Rule::BrTableTargets,
                        format!(
                            "br_table with {count} targets (default included), the limit is {}",
                            self.limits.max_br_table_targets
                        ),
                    )
                    .at(at));
                }
                let mut depths = Vec::with_capacity(count as usize);
                for target in targets.targets() {
                    depths.push(target.map_err(|e| PrepareError::malformed(&e))?);
                }
                depths.push(targets.default());
                plan.br_table(depths.into_iter())
            }
            Operator::Return => OpKind::Return(plan.depth()),
            Operator::Unreachable => OpKind::Unreachable,
            Operator::Call { function_index } => {
                if *function_index < self.imported_funcs {
                    OpKind::HostCall
                } else {
                    OpKind::Call(*function_index)
                }
            }
            Operator::CallIndirect { .. } => OpKind::CallIndirect,
            Operator::LocalGet { local_index } => OpKind::Local(0x20, *local_index),
            Operator::LocalSet { local_index } => OpKind::Local(0x21, *local_index),
            Operator::LocalTee { local_index } => OpKind::Local(0x22, *local_index),
            Operator::TypedSelect { ty } => {
                checks::check_value_type(*ty, "select").map_err(|e| e.at(at))?;
                OpKind::Plain
            }
            Operator::MemoryGrow { .. } => OpKind::MemoryGrow,
            Operator::MemoryCopy { .. }
            | Operator::MemoryFill { .. }
            | Operator::MemoryInit { .. } => OpKind::BulkMemory,
            _ => OpKind::Plain,
        };
        plan.push(at, cost, kind, Shape::of(op), at_rest);
        Ok(())
    }
}

/// First byte of the SIMD instructions.
const SIMD_PREFIX: u8 = 0xfd;

/// One instruction as `wasmparser` reads it: our own instruction check
/// (`GasSchedule::cost_of`), then the function validator, called directly
/// rather than through a second dispatch over the [`Operator`] (as
/// `FuncValidator::op` does), then its [`Recording`].
struct CheckedOp<'s, 'r, V> {
    validator: V,
    schedule: &'s GasSchedule,
    /// Byte offset of the instruction.
    at: usize,
    recording: &'r mut Recording<'s>,
}

/// The instructions whose immediates own memory (`wasmparser` 0.263).
#[inline(always)]
fn owns_memory(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::TryTable { .. }
            | Operator::TypedSelectMulti { .. }
            | Operator::Resume { .. }
            | Operator::ResumeThrow { .. }
            | Operator::ResumeThrowRef { .. }
    )
}

macro_rules! define_checked_visit {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                let op = Operator::$op $({ $($arg: $arg.clone()),* })?;
                let cost = self
                    .schedule
                    .cost_of(&op)
                    .ok_or_else(|| checks::reject_instruction(&op).at(self.at))?;
                // The drop glue of `Operator` is an out-of-line call per
                // instruction; only the few variants that own memory need it
                // (`owns_memory`, decided at compile time here), and none
                // of them is an accepted instruction.
                let op = std::mem::ManuallyDrop::new(op);
                let recorded = self
                    .validator
                    .$visit($($($arg),*)?)
                    .map_err(|e| PrepareError::malformed(&e))
                    .and_then(|()| self.recording.record(&op, cost, self.at));
                if owns_memory(&op) {
                    drop(std::mem::ManuallyDrop::into_inner(op));
                }
                recorded
            }
        )*
    };
}

#[allow(
    clippy::clone_on_copy,
    reason = "generated for every instruction; most immediates are Copy, a few are not"
)]
impl<'a, V> wasmparser::VisitOperator<'a> for CheckedOp<'_, '_, V>
where
    V: wasmparser::VisitOperator<'a, Output = wasmparser::Result<()>>,
{
    type Output = Result<(), PrepareError>;

    wasmparser::for_each_visit_operator!(define_checked_visit);
}

/// What [`analyze_function`] reuses from one function to the next.
#[derive(Debug, Default)]
struct Analyzer {
    buffers: meter::AnalysisBuffers,
    /// The probe's decisions (only its back edges are read).
    probe: Analysis,
    hints: Vec<Option<i64>>,
}

/// [`meter::analyze`] into `out`, then, if some loop's back edge arrives
/// with a pending cost that does not depend on the value agreed at its
/// header (it follows a call or host call inside the loop), again with that
/// value agreed at the header: the charge moves from every iteration to the
/// loop's entry.
fn analyze_function(
    plan: &FunctionPlan,
    exit: Option<i64>,
    callee: &dyn Fn(u32) -> CalleeInfo,
    analyzer: &mut Analyzer,
    out: &mut Analysis,
) {
    use meter::LoopHeaders;
    let buffers = &mut analyzer.buffers;
    meter::analyze(plan, exit, LoopHeaders::Entry, callee, buffers, out);
    if out.back_edges.is_empty() {
        return;
    }
    // Only a call that charges everything pending makes a back edge's
    // pending cost independent of its header: without one, the probe
    // cannot find anything.
    let resets = plan.has_host_call
        || plan.has_call_indirect
        || plan.callees.iter().any(|&index| {
            matches!(
                callee(index).convention,
                Convention::Absolute | Convention::Boundary
            )
        });
    if !resets {
        return;
    }
    // Shift every header by a constant no path cost reaches: back edges that
    // arrive with the same pending cost do not depend on their header.
    let probe = &mut analyzer.probe;
    meter::analyze(
        plan,
        exit,
        LoopHeaders::Shifted(1 << 40),
        callee,
        buffers,
        probe,
    );
    let hints = &mut analyzer.hints;
    meter::reset(hints, plan.ops.len(), None);
    let mut any = false;
    for (&(l, pending), &(probed_l, probed)) in out.back_edges.iter().zip(&probe.back_edges) {
        if l == probed_l && pending == probed {
            hints[l] = Some(pending);
            any = true;
        }
    }
    if !any {
        return;
    }
    meter::analyze(plan, exit, LoopHeaders::Given(hints), callee, buffers, out);
}

/// Writes section `id` with contents `data`.
fn raw_section(out: &mut Vec<u8>, id: u8, data: &[u8]) {
    out.push(id);
    leb_u32(out, u32::try_from(data.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(data);
}

/// Writes a vector section's contents `data` (a LEB128 count, then the
/// entries) with `extra` more entries appended by `append`.
fn append_entries(out: &mut Vec<u8>, data: &[u8], extra: usize, append: impl FnOnce(&mut Vec<u8>)) {
    let mut count = 0u32;
    let mut shift = 0;
    let mut len = 0;
    for &byte in data {
        len += 1;
        count |= u32::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 || shift >= 35 {
            break;
        }
    }
    leb_u32(
        out,
        count.saturating_add(u32::try_from(extra).unwrap_or(u32::MAX)),
    );
    out.extend_from_slice(&data[len..]);
    append(out);
}
#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the prepared `call` export on wasmi with `limit` gas; returns
    /// (gas left, halt code, trapped).
    fn run(wat: &str, limit: i64) -> (i64, i32, bool) {
        run_prepared(prepare_code, wat, limit)
    }

    fn run_prepared(
        prepare: fn(&[u8], &GasSchedule, &ValidationLimits) -> Result<PreparedCode, PrepareError>,
        wat: &str,
        limit: i64,
    ) -> (i64, i32, bool) {
        let wasm = wat::parse_str(wat).unwrap();
        let prepared = prepare(&wasm, &GasSchedule::v2(), &ValidationLimits::default()).unwrap();
        // wasmi's own limit looser than the injected one, as in the runtime.
        let mut config = wasmi::Config::default();
        config.set_max_recursion_depth(100_000);
        let engine = wasmi::Engine::new(&config);
        let module = wasmi::Module::new(&engine, &prepared.code).unwrap();
        let mut store = wasmi::Store::new(&engine, ());
        let instance = wasmi::Linker::<()>::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .unwrap();
        let gas = instance.get_global(&store, GAS_LEFT_GLOBAL).unwrap();
        gas.set(&mut store, wasmi::Val::I64(limit)).unwrap();
        let call = instance.get_typed_func::<(), ()>(&store, "call").unwrap();
        let trapped = call.call(&mut store, ()).is_err();
        let left = gas.get(&store).i64().unwrap();
        let halt = instance
            .get_global(&store, HALT_GLOBAL)
            .unwrap()
            .get(&store)
            .i32()
            .unwrap();
        (left, halt, trapped)
    }

    /// Gas used equals the hand-computed sum of the executed instructions'
    /// costs (specs/gas.md), and one unit less runs out of gas.
    fn assert_gas(body: &str, expected: i64) {
        let wat = format!(
            r#"(module (memory 1 4)
                (func $static (result i32) (i32.add (i32.const 1) (i32.const 2)))
                (func (export "call") (local i32) {body}))"#
        );
        let (left, halt, trapped) = run(&wat, 1_000_000);
        assert_eq!(
            (1_000_000 - left, halt, trapped),
            (expected, 0, false),
            "{body}"
        );
        let (_, halt, trapped) = run(&wat, expected - 1);
        assert_eq!((halt, trapped), (1, true), "{body} with one unit less");
    }

    #[test]
    fn loop_costs_each_executed_instruction() {
        // entry: i32.const 1 + local.set 1 + loop 0 = 2; per iteration:
        // local.get, i32.const, i32.sub, local.set (4) + local.get, br_if (3);
        // three iterations; then two `end`s (0).
        assert_gas(
            "(local.set 0 (i32.const 3))
             (loop $l
               (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
               (br_if $l (local.get 0)))",
            2 + 3 * 7,
        );
    }

    #[test]
    fn only_the_taken_arm_is_charged() {
        // i32.const 1 + if 2 + else arm (i32.const 1 + drop 1) = 5
        assert_gas(
            "(if (i32.const 0) (then (drop (i32.const 9)) (drop (i32.const 9))) (else (drop (i32.const 5))))",
            5,
        );
    }

    #[test]
    fn static_callee_is_charged_at_the_call_site() {
        // call 12 + callee (1 + 1 + 1) + drop 1
        assert_gas("(drop (call $static))", 16);
    }

    #[test]
    fn memory_grow_is_charged_per_page_and_failing_grows_return_minus_one() {
        // i32.const 1 + memory.grow 100 + 2 pages * 2048 + drop 1
        assert_gas("(drop (memory.grow (i32.const 2)))", 4_198);
        // 1 + 100 + 9 * 2048 + i32.const 1 + i32.eq 1 + br_if 2 + unreachable never runs
        assert_gas(
            "(block (br_if 0 (i32.eq (memory.grow (i32.const 9)) (i32.const -1))) (unreachable))",
            1 + 100 + 9 * 2_048 + 1 + 1 + 2,
        );
    }

    #[test]
    fn bulk_memory_is_charged_per_byte() {
        // three i32.const (3) + memory.fill 10 + 100 bytes
        assert_gas(
            "(memory.fill (i32.const 0) (i32.const 7) (i32.const 100))",
            113,
        );
    }

    #[test]
    fn deep_recursion_is_stack_exhausted() {
        let wat = r#"(module (memory 1 1)
            (func $down (param i32) (call $down (i32.add (local.get 0) (i32.const 1))))
            (func (export "call") (call $down (i32.const 0))))"#;
        let (_, halt, trapped) = run(wat, i64::MAX / 4);
        assert_eq!((halt, trapped), (2, true));
    }

    #[test]
    fn mutual_and_indirect_recursion_are_stack_exhausted() {
        let mutual = r#"(module (memory 1 1)
            (func $a (call $b))
            (func $b (call $c))
            (func $c (call $a))
            (func (export "call") (call $a)))"#;
        assert_eq!(run(mutual, i64::MAX / 4).1, 2);
        let indirect = r#"(module (memory 1 1) (type $t (func))
            (table 1 funcref) (elem (i32.const 0) func $f)
            (func $f (call_indirect (type $t) (i32.const 0)))
            (func (export "call") (call $f)))"#;
        assert_eq!(run(indirect, i64::MAX / 4).1, 2);
    }

    #[test]
    fn infinite_loop_runs_out_of_gas() {
        let wat = r#"(module (memory 1 1) (func (export "call") (loop $l (br $l))))"#;
        // Deployed code halts without publishing the counter: the global
        // still holds the limit the export read on entry.
        let (left, halt, trapped) = run(wat, 10_000);
        assert_eq!((left, halt, trapped), (10_000, 1, true));
        // Traced code publishes the counter at the failed check: below zero
        // by less than one round of the loop (`br` costs 2).
        let (left, halt, trapped) = run_prepared(prepare_code_for_tracing, wat, 10_000);
        assert_eq!((halt, trapped), (1, true));
        assert!((-2..0).contains(&left), "{left}");
    }

    #[test]
    fn deployed_checks_are_smaller_than_traced_ones() {
        // Six checks: the traced code shares one landing path that passes
        // the exact counter; deployed code calls a parameterless function.
        let wat = r#"(module (memory 1 1) (func (export "call") (local i32)
            (loop $a (br_if $a (local.get 0)))
            (loop $b (br_if $b (local.get 0)))
            (loop $c (br_if $c (local.get 0)))
            (loop $d (br_if $d (local.get 0)))
            (loop $e (br_if $e (local.get 0)))))"#;
        let wasm = wat::parse_str(wat).unwrap();
        let (schedule, limits) = (GasSchedule::v2(), ValidationLimits::default());
        let deployed = prepare_code_checked(&wasm, &schedule, &limits).unwrap();
        let traced = prepare_code_for_tracing(&wasm, &schedule, &limits).unwrap();
        assert!(
            deployed.code.len() < traced.code.len(),
            "{} {}",
            deployed.code.len(),
            traced.code.len()
        );
        assert_eq!(deployed.out_of_gas_function, traced.out_of_gas_function);
    }
}
