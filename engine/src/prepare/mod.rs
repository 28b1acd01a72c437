//! Preparation: validation of an untrusted module against Cairn's
//! deterministic Wasm subset, then gas and stack-height injection.
//!
//! [`prepare_code`] runs the named checks of `specs/validation.md` while
//! `wasmparser` validates the module, cuts every function body into metered
//! segments as it goes, and rewrites the code section with `wasm-encoder`
//! following `specs/gas.md`. Everything except the code, global and export
//! sections is copied byte for byte; function indices do not change.
//!
//! ```
//! use cairn_engine::prepare::{GasSchedule, ValidationLimits, prepare_code};
//!
//! let wasm = wat::parse_str(r#"(module
//!     (memory 1 1)
//!     (func (export "call") (local i32)
//!         (local.set 0 (i32.add (i32.const 1) (i32.const 2)))))"#).unwrap();
//! let prepared = prepare_code(&wasm, &GasSchedule::v1(), &ValidationLimits::default()).unwrap();
//! assert!(prepared.exports.contains(&"call".to_string()));
//! assert!(prepared.code.len() > wasm.len());
//! ```

mod checks;
mod error;
mod limits;
mod meter;
mod schedule;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::OnceLock;

use cairn_host_api::world::H256;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasmparser::{
    BlockType, FuncType, FuncValidatorAllocations, Operator, Parser, Payload, ValType,
    ValidPayload, Validator, WasmFeatures,
};

pub use error::{PrepareError, Rule, Violation};
pub use limits::ValidationLimits;
pub use schedule::{CostClass, GasSchedule, INSTRUCTION_CLASSES, InstructionCosts};

use checks::ExportSummary;
use meter::{FunctionPlan, InjectedGlobals, OpKind};

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
    /// The instrumented module; it validated again after rewriting.
    pub code: Vec<u8>,
    /// keccak256 of the original code.
    pub code_hash: H256,
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
}

/// The Wasm features `wasmparser` may accept. Everything beyond the subset
/// that our own checks name more precisely (floats, reference types,
/// multi-value) is enabled here and then rejected by those checks.
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
pub fn prepare_code(
    wasm: &[u8],
    schedule: &GasSchedule,
    limits: &ValidationLimits,
) -> Result<PreparedCode, PrepareError> {
    checks::check_code_size(wasm.len(), limits)?;
    let prepared = Preparer::new(wasm, schedule, limits)
        .run()
        .map_err(|mut e| {
            if let Some(index) = e.violation().function
                && let Some(name) = function_names(wasm).remove(&index)
            {
                e.set_function_name(name);
            }
            e
        })?;
    let mut validator = Validator::new_with_features(wasm_features());
    if let Err(e) = validator.validate_all(&prepared.code) {
        return Err(PrepareError::new(
            Rule::Instrumentation,
            format!("instrumented module does not validate: {e}"),
        ));
    }
    Ok(prepared)
}

/// [`GasSchedule::hash`], computed once for the v1 schedule.
fn schedule_hash(schedule: &GasSchedule) -> H256 {
    static V1: OnceLock<(GasSchedule, H256)> = OnceLock::new();
    let (v1, hash) = V1.get_or_init(|| {
        let v1 = GasSchedule::v1();
        let hash = v1.hash();
        (v1, hash)
    });
    if schedule == v1 {
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

fn to_encoder(ty: ValType) -> wasm_encoder::ValType {
    match ty {
        ValType::I64 => wasm_encoder::ValType::I64,
        // Other types were rejected by `check_value_type` before we get here.
        _ => wasm_encoder::ValType::I32,
    }
}

fn usize_of(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

struct Preparer<'a> {
    wasm: &'a [u8],
    schedule: &'a GasSchedule,
    limits: &'a ValidationLimits,
    validator: Validator,
    module: wasm_encoder::Module,
    types: Vec<FuncType>,
    /// Type index of every function, imports first.
    func_types: Vec<u32>,
    imported_funcs: u32,
    imports: Vec<String>,
    globals: u32,
    globals_emitted: bool,
    memories: u32,
    /// Declared maximum of the memory, in pages.
    memory_max_pages: u32,
    exports: ExportSummary,
    export_names: Vec<String>,
    code_remaining: u32,
    next_defined: u32,
    allocs: FuncValidatorAllocations,
    data_segments: u32,
    /// From the name section, read as it passes.
    function_names: BTreeMap<u32, String>,
    /// Functions named by any element segment (possible `call_indirect` targets).
    in_table: BTreeSet<u32>,
    planned: Vec<PlannedFunction>,
}

/// A validated function waiting for the end of the code section, when every
/// static function is known and the section is written.
#[derive(Debug)]
struct PlannedFunction {
    index: u32,
    body: Range<usize>,
    plan: FunctionPlan,
    locals: Vec<(u32, wasm_encoder::ValType)>,
    local_count: u32,
    result: Option<wasm_encoder::ValType>,
    frame_cost: u32,
    exported: bool,
}

impl<'a> Preparer<'a> {
    fn new(wasm: &'a [u8], schedule: &'a GasSchedule, limits: &'a ValidationLimits) -> Self {
        Self {
            wasm,
            schedule,
            limits,
            validator: Validator::new_with_features(wasm_features()),
            module: wasm_encoder::Module::new(),
            types: Vec::new(),
            func_types: Vec::new(),
            imported_funcs: 0,
            imports: Vec::new(),
            globals: 0,
            globals_emitted: false,
            memories: 0,
            memory_max_pages: 0,
            exports: ExportSummary::default(),
            export_names: Vec::new(),
            code_remaining: 0,
            next_defined: 0,
            allocs: FuncValidatorAllocations::default(),
            data_segments: 0,
            function_names: BTreeMap::new(),
            in_table: BTreeSet::new(),
            planned: Vec::new(),
        }
    }

    fn injected_globals(&self) -> InjectedGlobals {
        InjectedGlobals {
            gas_left: self.globals,
            halt: self.globals + 1,
            stack_height: self.globals + 2,
            memory_max_pages: self.memory_max_pages,
        }
    }

    fn copy_raw(&mut self, payload: &Payload<'_>) {
        if let Some((id, range)) = payload.as_section() {
            self.module.section(&wasm_encoder::RawSection {
                id,
                data: &self.wasm[usize_of(range.start)..usize_of(range.end)],
            });
        }
    }

    fn run(mut self) -> Result<PreparedCode, PrepareError> {
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
                    let allocs = std::mem::take(&mut self.allocs);
                    let mut func_validator = to_validate.into_validator(allocs);
                    let result = self.prepare_function(index, &body, &mut func_validator);
                    self.allocs = func_validator.into_allocations();
                    result.map_err(|e| e.in_function(index))?;
                }
                (_, ValidPayload::End(_)) => ended = true,
                _ => self.emit_section(&payload)?,
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
        let mut exports = self.export_names.clone();
        exports.sort_unstable();
        Ok(PreparedCode {
            code: self.module.finish(),
            code_hash: cairn_host_api::keccak256(wasm),
            schedule_hash: schedule_hash(self.schedule),
            original_size: wasm.len(),
            imports: self.imports,
            has_deploy: self.exports.deploy.is_some(),
            exports,
            function_names: self.function_names,
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
            Payload::CodeSectionStart { count, .. } => {
                self.code_remaining = *count;
            }
            Payload::CustomSection(section) => {
                collect_function_names(section, &mut self.function_names);
            }
            _ => {}
        }
        Ok(())
    }

    /// Writes a non-code section to the output.
    fn emit_section(&mut self, payload: &Payload<'_>) -> Result<(), PrepareError> {
        let reencode_error =
            |e: wasm_encoder::reencode::Error| PrepareError::new(Rule::Malformed, e.to_string());
        match payload {
            Payload::GlobalSection(reader) => {
                let mut section = wasm_encoder::GlobalSection::new();
                RoundtripReencoder
                    .parse_global_section(&mut section, reader.clone())
                    .map_err(reencode_error)?;
                self.push_injected_globals(&mut section);
                self.module.section(&section);
            }
            Payload::ExportSection(reader) => {
                if !self.globals_emitted {
                    let mut section = wasm_encoder::GlobalSection::new();
                    self.push_injected_globals(&mut section);
                    self.module.section(&section);
                }
                let mut section = wasm_encoder::ExportSection::new();
                RoundtripReencoder
                    .parse_export_section(&mut section, reader.clone())
                    .map_err(reencode_error)?;
                let globals = self.injected_globals();
                section.export(
                    GAS_LEFT_GLOBAL,
                    wasm_encoder::ExportKind::Global,
                    globals.gas_left,
                );
                section.export(HALT_GLOBAL, wasm_encoder::ExportKind::Global, globals.halt);
                if !self.exports.memory {
                    section.export("memory", wasm_encoder::ExportKind::Memory, 0);
                }
                self.module.section(&section);
            }
            Payload::CodeSectionStart { .. } => {}
            Payload::Version { .. } | Payload::End(_) => {}
            _ => self.copy_raw(payload),
        }
        Ok(())
    }

    fn push_injected_globals(&mut self, section: &mut wasm_encoder::GlobalSection) {
        let mutable = |val_type| wasm_encoder::GlobalType {
            val_type,
            mutable: true,
            shared: false,
        };
        section.global(
            mutable(wasm_encoder::ValType::I64),
            &wasm_encoder::ConstExpr::i64_const(0),
        );
        section.global(
            mutable(wasm_encoder::ValType::I32),
            &wasm_encoder::ConstExpr::i32_const(0),
        );
        // The stack budget counts down from the limit.
        section.global(
            mutable(wasm_encoder::ValType::I32),
            &wasm_encoder::ConstExpr::i32_const(
                i32::try_from(self.schedule.stack_limit).unwrap_or(i32::MAX),
            ),
        );
        self.globals_emitted = true;
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
        let result = ty.results().first().copied().map(to_encoder);

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
            locals.push((count, to_encoder(ty)));
        }

        let mut plan = FunctionPlan::new();
        let mut max_height = 0u32;
        let mut ops = body.get_operators_reader().map_err(malformed)?;
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset().map_err(malformed)?;
            let at = usize_of(offset);
            let cost = self
                .schedule
                .cost_of(&op)
                .ok_or_else(|| checks::reject_instruction(&op).at(at))?;
            validator.op(offset, &op).map_err(malformed)?;
            max_height = max_height.max(validator.operand_stack_height());
            let end = usize_of(ops.original_position());
            let kind = match &op {
                Operator::Block { blockty }
                | Operator::Loop { blockty }
                | Operator::If { blockty } => {
                    if let BlockType::FuncType(_) = blockty {
                        return Err(PrepareError::new(
                            Rule::MultiValue,
                            "block type with parameters or several results",
                        )
                        .at(at));
                    }
                    plan.enter_block();
                    match op {
                        Operator::Block { .. } => OpKind::Plain,
                        Operator::Loop { .. } => OpKind::Loop,
                        _ => OpKind::EndsSegment,
                    }
                }
                Operator::End => {
                    if plan.leave_block() {
                        OpKind::EndsSegment
                    } else {
                        OpKind::FinalEnd
                    }
                }
                Operator::Else
                | Operator::Br { .. }
                | Operator::BrIf { .. }
                | Operator::Unreachable => OpKind::EndsSegment,
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
                    OpKind::EndsSegment
                }
                Operator::Return => OpKind::Return {
                    depth: plan.depth(),
                },
                Operator::Call { function_index } => {
                    if *function_index < self.imported_funcs {
                        OpKind::HostCall
                    } else {
                        OpKind::Call {
                            callee: Some(*function_index),
                        }
                    }
                }
                Operator::CallIndirect { .. } => OpKind::Call { callee: None },
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
            plan.push(at, end, kind, cost);
        }
        ops.finish().map_err(malformed)?;
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
        self.planned.push(PlannedFunction {
            index,
            body: usize_of(body_range.start)..usize_of(body_range.end),
            plan,
            locals,
            local_count,
            result,
            frame_cost,
            exported,
        });
        self.next_defined += 1;
        self.code_remaining = self.code_remaining.saturating_sub(1);
        if self.code_remaining == 0 {
            self.emit_code_section();
        }
        Ok(())
    }

    /// Functions on a cycle of the call graph (a `call_indirect` may call
    /// any function in a table): only they can be active more than once, so
    /// only they check at entry and count against the stack budget
    /// (`specs/gas.md`, sections 5 and 6). Tarjan's algorithm, iterative.
    fn recursive_functions(&self, static_costs: &BTreeMap<u32, u64>) -> BTreeSet<u32> {
        let first = self.planned.first().map_or(0, |f| f.index);
        let n = self.planned.len();
        let node = |index: u32| {
            index
                .checked_sub(first)
                .map(|i| i as usize)
                .filter(|&i| i < n && !static_costs.contains_key(&index))
        };
        let table: Vec<usize> = self.in_table.iter().filter_map(|&i| node(i)).collect();
        let edges: Vec<Vec<usize>> = self
            .planned
            .iter()
            .map(|f| {
                let mut out = Vec::new();
                for callee in f.plan.callees() {
                    match callee {
                        Some(index) => out.extend(node(index)),
                        None => out.extend(&table),
                    }
                }
                out.sort_unstable();
                out.dedup();
                out
            })
            .collect();

        let mut order = vec![usize::MAX; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut recursive = BTreeSet::new();
        let mut next = 0;
        for root in 0..n {
            if order[root] != usize::MAX {
                continue;
            }
            // (node, next edge to visit)
            let mut work = vec![(root, 0usize)];
            order[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(&mut (v, ref mut edge)) = work.last_mut() {
                if let Some(&w) = edges[v].get(*edge) {
                    *edge += 1;
                    if order[w] == usize::MAX {
                        order[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        work.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(order[w]);
                    }
                    continue;
                }
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == order[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    let cyclic = component.len() > 1 || edges[v].contains(&v);
                    if cyclic {
                        for w in component {
                            recursive.insert(self.planned[w].index);
                        }
                    }
                }
            }
        }
        recursive
    }

    /// Writes the code section once every function has been validated.
    fn emit_code_section(&mut self) {
        // Static functions: straight-line, not exported, not in a table.
        let mut static_costs = BTreeMap::new();
        for f in &self.planned {
            if !f.exported
                && !self.in_table.contains(&f.index)
                && let Some(total) = f.plan.straight_line_cost()
            {
                static_costs.insert(f.index, total);
            }
        }
        let static_cost = |index: u32| static_costs.get(&index).copied();
        let recursive = self.recursive_functions(&static_costs);
        let globals = self.injected_globals();
        let mut code = wasm_encoder::CodeSection::new();
        for f in &self.planned {
            if static_costs.contains_key(&f.index) {
                // Charged by its callers; runs uninstrumented.
                code.raw(&self.wasm[f.body.clone()]);
                continue;
            }
            let function = f.plan.emit(
                self.wasm,
                &f.locals,
                f.local_count,
                f.result,
                f.frame_cost,
                f.exported,
                self.schedule,
                globals,
                &static_cost,
                recursive.contains(&f.index),
            );
            code.function(&function);
        }
        self.module.section(&code);
        self.planned.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the prepared `call` export on wasmi with `limit` gas; returns
    /// (gas left, halt code, trapped).
    fn run(wat: &str, limit: i64) -> (i64, i32, bool) {
        let wasm = wat::parse_str(wat).unwrap();
        let prepared =
            prepare_code(&wasm, &GasSchedule::v1(), &ValidationLimits::default()).unwrap();
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
        let (left, halt, trapped) = run(
            r#"(module (memory 1 1) (func (export "call") (loop $l (br $l))))"#,
            10_000,
        );
        assert_eq!((halt, trapped), (1, true));
        assert!(left < 0);
    }
}
