//! Differential testing of the gas injector: random modules from `wasm-smith`
//! (configured to Cairn's subset) run three ways on wasmi with stub host
//! functions that log their calls and the gas counter they see:
//!
//! - ORIGINAL, unmetered;
//! - PREPARED by `prepare_code_checked` (the injector under test);
//! - REFERENCE: the same module instrumented by [`reference`], a deliberately
//!   naive model of `specs/gas.md` written without reference to the
//!   injector: it subtracts every instruction's cost from the global right
//!   before the instruction and checks exactly at the spec's check points.
//!
//! With ample gas, ORIGINAL and PREPARED end the same way (result or trap),
//! leave the same memory and make the same host calls. PREPARED and
//! REFERENCE must then agree on *everything* observable for a range of
//! limits around the gas the run needs: how it ends (including out of gas
//! against a trap), the halt code, memory, every host call with the counter
//! it saw, and the gas left. That pins the injector to the spec's exact
//! semantics, not only to `G` succeeds and `G - 1` runs out.
//!
//! The CI variant runs [`CI_CASES`] cases; `make fuzz` runs the ignored
//! variant with `CAIRN_FUZZ_CASES` cases (default 20,000) from seed
//! `CAIRN_FUZZ_FIRST`. `CAIRN_FUZZ_DUMP=dir` writes each generated module to
//! `dir/<seed>.wasm`, to look at a failing one.

use arbitrary::Unstructured;
use cairn_engine::prepare::{
    GAS_LEFT_GLOBAL, GasSchedule, HALT_GLOBAL, ValidationLimits, prepare_code_checked,
    prepare_code_for_tracing,
};
use cairn_host_api::{HOST_FUNCTIONS, ValType as HostValType};
use wasmi::{Config, Engine, Linker, Module, Store, Val};

const CI_CASES: u64 = 300;
const ORIGINAL_FUEL: u64 = 2_000_000;
const PREPARED_FUEL: u64 = 400_000_000;
const AMPLE_GAS: i64 = 1 << 60;

#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Returned,
    Trap(String),
}

/// One host call as the stub saw it: name, arguments, and the gas counter
/// (`None` for the unmetered original).
type HostCall = (String, Vec<i64>, Option<i64>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    end: End,
    memory: Vec<u8>,
    host_calls: Vec<HostCall>,
    gas_left: Option<i64>,
    halt: Option<i32>,
}

impl Run {
    fn host_calls_without_gas(&self) -> Vec<(String, Vec<i64>)> {
        self.host_calls
            .iter()
            .map(|(name, args, _)| (name.clone(), args.clone()))
            .collect()
    }
}

#[derive(Debug)]
enum Skip {
    Rejected(#[allow(dead_code, reason = "shown in the skip list on failure")] &'static str),
    OutOfFuel,
    StackOverflow,
}

fn smith_config() -> wasm_smith::Config {
    let imports = wasm_encoder_imports();
    wasm_smith::Config {
        available_imports: Some(imports),
        exports: Some(
            wat::parse_str(r#"(module (memory (export "memory") 1 16) (func (export "call")))"#)
                .unwrap(),
        ),
        allow_floats: false,
        allow_start_export: false,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        reference_types_enabled: false,
        multi_value_enabled: false,
        tail_call_enabled: false,
        threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
        compact_imports_enabled: false,
        // No table instructions: `table.copy` and friends are outside the subset.
        allowed_instructions: wasm_smith::InstructionKinds::new(&[
            wasm_smith::InstructionKind::NumericInt,
            wasm_smith::InstructionKind::Parametric,
            wasm_smith::InstructionKind::Variable,
            wasm_smith::InstructionKind::MemoryInt,
            wasm_smith::InstructionKind::Control,
        ]),
        saturating_float_to_int_enabled: false,
        sign_extension_ops_enabled: true,
        bulk_memory_enabled: true,
        // The exported memory is generated on top of this maximum.
        max_memories: 0,
        memory_max_size_required: true,
        max_memory32_bytes: 16 * 65_536,
        max_tables: 1,
        max_table_elements: 64,
        max_data_segments: 16,
        max_element_segments: 8,
        max_funcs: 24,
        max_instructions: 200,
        max_type_size: 64,
        ..wasm_smith::Config::default()
    }
}

/// A module whose imports are the whole host API table, for `available_imports`.
fn wasm_encoder_imports() -> Vec<u8> {
    let mut text = String::from("(module\n");
    for f in HOST_FUNCTIONS {
        let ty = |v: &HostValType| match v {
            HostValType::I32 => "i32",
            HostValType::I64 => "i64",
        };
        let params: Vec<&str> = f.params.iter().map(ty).collect();
        let results: Vec<&str> = f.results.iter().map(ty).collect();
        text.push_str(&format!(
            "(import \"{}\" \"{}\" (func (param {}) (result {})))\n",
            f.module,
            f.name,
            params.join(" "),
            results.join(" ")
        ));
    }
    text.push(')');
    wat::parse_str(&text).unwrap()
}

/// The stub every host function gets. Like the real host it first charges
/// its cost (here: the length of its name) against `cairn_gas_left` and
/// ends the call out of gas if the counter cannot pay; then it logs the
/// call with the counter it saw and returns a value derived from the
/// arguments. `return_value` and `revert` end the call like the real ones.
fn linker(engine: &Engine) -> Linker<Vec<HostCall>> {
    let mut linker = Linker::<Vec<HostCall>>::new(engine);
    for f in HOST_FUNCTIONS {
        let ty = |v: &HostValType| match v {
            HostValType::I32 => wasmi::ValType::I32,
            HostValType::I64 => wasmi::ValType::I64,
        };
        let func_type = wasmi::FuncType::new(f.params.iter().map(ty), f.results.iter().map(ty));
        let name = f.name;
        linker
            .func_new(
                f.module,
                f.name,
                func_type,
                move |mut caller, params, results| {
                    let args: Vec<i64> = params
                        .iter()
                        .map(|v| match v {
                            Val::I32(x) => i64::from(*x),
                            Val::I64(x) => *x,
                            _ => 0,
                        })
                        .collect();
                    let gas = caller
                        .get_export(GAS_LEFT_GLOBAL)
                        .and_then(wasmi::Extern::into_global);
                    let seen = match gas {
                        Some(global) => {
                            let left = global.get(&caller).i64().unwrap();
                            let after = left - i64::try_from(name.len()).unwrap();
                            global.set(&mut caller, Val::I64(after)).unwrap();
                            if after < 0 {
                                return Err(wasmi::Error::new("host: out of gas"));
                            }
                            Some(left)
                        }
                        None => None,
                    };
                    let derived = args
                        .iter()
                        .fold(i64::try_from(name.len()).unwrap_or(0), |a, b| {
                            a.wrapping_mul(31).wrapping_add(*b)
                        });
                    caller.data_mut().push((name.to_owned(), args, seen));
                    if name == "return_value" || name == "revert" {
                        return Err(wasmi::Error::new(format!("host ended the call: {name}")));
                    }
                    for r in results.iter_mut() {
                        *r = match r {
                            Val::I64(_) => Val::I64(derived),
                            _ => Val::I32(i32::from_le_bytes(
                                derived.to_le_bytes()[..4].try_into().unwrap(),
                            )),
                        };
                    }
                    Ok(())
                },
            )
            .unwrap();
    }
    linker
}

fn describe(error: &wasmi::Error) -> String {
    match error.as_trap_code() {
        Some(code) => format!("trap: {code:?}"),
        None => error.to_string(),
    }
}

fn execute(engine: &Engine, wasm: &[u8], fuel: u64, gas: Option<i64>) -> Result<Run, Skip> {
    let module = Module::new(engine, wasm).expect("wasmi accepts the module");
    let mut store = Store::new(engine, Vec::new());
    store.set_fuel(fuel).unwrap();
    let linker = linker(engine);
    let instance = match linker.instantiate_and_start(&mut store, &module) {
        Ok(instance) => instance,
        Err(e) => {
            return Ok(Run {
                // The message names store ids; the trap code is what matters.
                end: End::Trap(format!("instantiation: {:?}", e.as_trap_code())),
                memory: Vec::new(),
                host_calls: Vec::new(),
                gas_left: None,
                halt: None,
            });
        }
    };
    if let Some(gas) = gas {
        instance
            .get_global(&store, GAS_LEFT_GLOBAL)
            .unwrap()
            .set(&mut store, Val::I64(gas))
            .unwrap();
    }
    let call = instance.get_typed_func::<(), ()>(&store, "call").unwrap();
    let end = match call.call(&mut store, ()) {
        Ok(()) => End::Returned,
        Err(e) => match e.as_trap_code() {
            Some(wasmi::TrapCode::OutOfFuel) => return Err(Skip::OutOfFuel),
            Some(wasmi::TrapCode::StackOverflow) => return Err(Skip::StackOverflow),
            _ => End::Trap(describe(&e)),
        },
    };
    let memory = instance
        .get_memory(&store, "memory")
        .unwrap()
        .data(&store)
        .to_vec();
    let global = |name: &str| instance.get_global(&store, name).map(|g| g.get(&store));
    let gas_left = match global(GAS_LEFT_GLOBAL) {
        Some(Val::I64(v)) => Some(v),
        _ => None,
    };
    let halt = match global(HALT_GLOBAL) {
        Some(Val::I32(v)) => Some(v),
        _ => None,
    };
    Ok(Run {
        end,
        memory,
        host_calls: store.into_data(),
        gas_left,
        halt,
    })
}

fn engine() -> Engine {
    let mut config = Config::default();
    config.consume_fuel(true);
    // Looser than the injected limit, so the injected one triggers first.
    config.set_max_recursion_depth(100_000);
    Engine::new(&config)
}

/// PREPARED and REFERENCE with `limit` gas agree on everything observable.
/// The gas left is compared only when the run returned: after a halt the
/// global holds whatever the last write left there, which the spec leaves
/// open (a halted call uses its whole limit).
fn assert_same(
    engine: &Engine,
    seed: u64,
    prepared: &[u8],
    reference: &[u8],
    limit: i64,
) -> (Run, Run) {
    let ours = execute(engine, prepared, PREPARED_FUEL, Some(limit))
        .unwrap_or_else(|skip| panic!("seed {seed}, limit {limit}: prepared: {skip:?}"));
    let model = execute(engine, reference, PREPARED_FUEL, Some(limit))
        .unwrap_or_else(|skip| panic!("seed {seed}, limit {limit}: reference: {skip:?}"));
    let context = format!("seed {seed}, limit {limit}");
    assert_eq!(ours.end, model.end, "{context}: ends differ");
    assert_eq!(ours.halt, model.halt, "{context}: halt codes differ");
    assert_eq!(
        ours.host_calls, model.host_calls,
        "{context}: host calls differ"
    );
    assert!(ours.memory == model.memory, "{context}: memories differ");
    if ours.end == End::Returned {
        assert_eq!(ours.gas_left, model.gas_left, "{context}: gas left differs");
    }
    (ours, model)
}

/// Runs one case; returns why it was skipped, if it was.
fn check_case(engine: &Engine, schedule: &GasSchedule, seed: u64) -> Result<(), Skip> {
    let mut bytes = vec![0u8; 4096];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for b in &mut bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *b = state.to_le_bytes()[3];
    }
    let mut u = Unstructured::new(&bytes);
    let Ok(module) = wasm_smith::Module::new(smith_config(), &mut u) else {
        return Err(Skip::Rejected("wasm-smith"));
    };
    let wasm = module.to_bytes();
    if let Some(dir) = std::env::var_os("CAIRN_FUZZ_DUMP") {
        // Keep the module for a failing seed (debugging aid).
        std::fs::write(
            std::path::Path::new(&dir).join(format!("{seed}.wasm")),
            &wasm,
        )
        .unwrap();
    }
    let prepared = match prepare_code_checked(&wasm, schedule, &ValidationLimits::default()) {
        Ok(p) => p,
        Err(e) => {
            // Only rules wasm-smith cannot be told to respect may reject.
            use cairn_engine::prepare::Rule;
            assert!(
                matches!(
                    e.rule(),
                    Rule::ElementSegment | Rule::TooManyParams | Rule::Table
                ),
                "seed {seed}: wasm-smith module outside the expected rules: {e}"
            );
            return Err(Skip::Rejected(e.rule().name()));
        }
    };
    let reference = reference::instrument(&wasm, schedule);
    let original = execute(engine, &wasm, ORIGINAL_FUEL, None)?;
    let (ample, model) = assert_same(engine, seed, &prepared.code, &reference, AMPLE_GAS);
    if ample.halt != Some(2) {
        // Unless the injected stack limit stopped it (the original then
        // overflows wasmi's own, looser limit or runs out of fuel), the
        // prepared run does what the original does.
        assert!(
            matches!(ample.halt, None | Some(0)),
            "seed {seed}: halted with ample gas"
        );
        assert_eq!(original.end, ample.end, "seed {seed}: different ends");
        assert_eq!(
            original.host_calls_without_gas(),
            ample.host_calls_without_gas(),
            "seed {seed}: different host calls"
        );
        assert!(
            original.memory == ample.memory,
            "seed {seed}: different memory"
        );
    }
    let Some(left) = model.gas_left else {
        return Ok(());
    };
    // For a run that returned, `used` is its gas; for one that ended
    // otherwise, the model's global holds what it had charged when it
    // ended, the neighbourhood where out of gas and that end compete.
    let used = (AMPLE_GAS - left).max(0);
    let mut limits = vec![used, used - 1, used / 2, used / 3, used - used / 7, 0];
    limits.retain(|&l| l >= 0);
    limits.dedup();
    // The traced preparation (`cairn run`'s) differs only in what a failed
    // check publishes: the exact counter, which the model's global holds
    // when it halts at the same check.
    let traced = prepare_code_for_tracing(&wasm, schedule, &ValidationLimits::default())
        .unwrap_or_else(|e| panic!("seed {seed}: traced preparation refused: {e}"));
    wasmparser::Validator::new_with_features(cairn_engine::prepare::wasm_features())
        .validate_all(&traced.code)
        .unwrap_or_else(|e| panic!("seed {seed}: traced code does not validate: {e}"));
    for limit in limits {
        let (run, _) = assert_same(engine, seed, &prepared.code, &reference, limit);
        let (traced_run, model_run) = assert_same(engine, seed, &traced.code, &reference, limit);
        if traced_run.halt == Some(1) {
            assert_eq!(
                traced_run.gas_left, model_run.gas_left,
                "seed {seed}, limit {limit}: traced out-of-gas counter differs"
            );
        }
        if ample.end == End::Returned && limit == used {
            assert_eq!(run.end, End::Returned, "seed {seed}: limit G failed");
            assert_eq!(run.gas_left, Some(0), "seed {seed}");
        }
        if ample.end == End::Returned && limit == used - 1 {
            assert!(
                run.halt == Some(1) || run.end == End::Trap("host: out of gas".into()),
                "seed {seed}: limit G-1 did not run out of gas: {:?}",
                run.end
            );
        }
    }
    Ok(())
}

fn run_cases(first: u64, count: u64) {
    // wasmi 2.0 uses native stack for every failing `memory.grow` it executes
    // (see `failing_memory_grow_loop_runs_on_a_small_stack`); the ORIGINAL
    // and REFERENCE modules run unguarded, so give them room.
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || run_cases_on_this_thread(first, count))
        .unwrap()
        .join()
        .unwrap();
}

fn run_cases_on_this_thread(first: u64, count: u64) {
    let engine = engine();
    let schedule = GasSchedule::v2();
    let (mut ran, mut skipped) = (0u64, Vec::new());
    for seed in first..first + count {
        if std::env::var_os("CAIRN_FUZZ_VERBOSE").is_some() {
            eprintln!("seed {seed}");
        }
        match check_case(&engine, &schedule, seed) {
            Ok(()) => ran += 1,
            Err(skip) => skipped.push(skip),
        }
    }
    let rejected = skipped
        .iter()
        .filter(|s| matches!(s, Skip::Rejected(_)))
        .count();
    println!(
        "{ran} compared, {} skipped ({rejected} rejected by validation)",
        skipped.len()
    );
    // The test would be vacuous if most cases were skipped.
    assert!(
        ran * 2 >= count,
        "only {ran} of {count} cases were compared: {skipped:?}"
    );
}

/// The naive model of `specs/gas.md` the injector is compared with.
mod reference {
    use cairn_engine::prepare::{
        GAS_LEFT_GLOBAL, GasSchedule, HALT_GLOBAL, HaltCode, wasm_features,
    };
    use wasm_encoder::reencode::{self, Reencode};
    use wasm_encoder::{BlockType, Function, Instruction, SectionId, ValType};
    use wasmparser::{Operator, Payload, TypeRef};

    /// Instruments a module that `prepare_code` accepted: every instruction
    /// subtracts its cost from `cairn_gas_left` right before it runs, and
    /// the counter is checked exactly at the spec's check points: at the
    /// entry of a recursive function (after the stack budget), after each
    /// `loop` that is not counted, before each counted loop (against the
    /// cost of all its iterations), after the dynamic part of `memory.grow`
    /// and the bulk memory instructions, and when an export returns.
    pub(super) fn instrument(wasm: &[u8], schedule: &GasSchedule) -> Vec<u8> {
        let module = survey(wasm, schedule);
        let mut model = Model {
            schedule: schedule.clone(),
            next_function: module.imported,
            module,
        };
        let mut out = wasm_encoder::Module::new();
        model
            .parse_core_module(&mut out, wasmparser::Parser::new(0), wasm)
            .unwrap();
        out.finish()
    }

    /// What the model needs to know before rewriting.
    struct Survey {
        imported: u32,
        globals: u32,
        has_global_section: bool,
        exported: Vec<u32>,
        memory_exported: bool,
        /// Per defined function: on a call-graph cycle.
        recursive: Vec<bool>,
        /// Per defined function: parameters + locals + max operand height.
        frame_units: Vec<u32>,
        types: Vec<wasmparser::FuncType>,
        func_types: Vec<u32>,
        globals_written: bool,
    }

    fn survey(wasm: &[u8], schedule: &GasSchedule) -> Survey {
        let mut s = Survey {
            imported: 0,
            globals: 0,
            has_global_section: false,
            exported: Vec::new(),
            memory_exported: false,
            recursive: Vec::new(),
            frame_units: Vec::new(),
            types: Vec::new(),
            func_types: Vec::new(),
            globals_written: false,
        };
        let mut calls: Vec<Vec<u32>> = Vec::new();
        let mut indirect: Vec<bool> = Vec::new();
        let mut table: Vec<u32> = Vec::new();
        let mut validator = wasmparser::Validator::new_with_features(wasm_features());
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            let payload = payload.unwrap();
            match &payload {
                Payload::TypeSection(r) => {
                    for ty in r.clone().into_iter_err_on_gc_types() {
                        s.types.push(ty.unwrap());
                    }
                }
                Payload::ImportSection(r) => {
                    for import in r.clone().into_imports() {
                        if let TypeRef::Func(ty) = import.unwrap().ty {
                            s.imported += 1;
                            s.func_types.push(ty);
                        }
                    }
                }
                Payload::FunctionSection(r) => {
                    for ty in r.clone() {
                        s.func_types.push(ty.unwrap());
                    }
                }
                Payload::GlobalSection(r) => {
                    s.has_global_section = true;
                    s.globals = r.count();
                }
                Payload::ExportSection(r) => {
                    for export in r.clone() {
                        let export = export.unwrap();
                        match export.kind {
                            wasmparser::ExternalKind::Func => s.exported.push(export.index),
                            wasmparser::ExternalKind::Memory => s.memory_exported = true,
                            _ => {}
                        }
                    }
                }
                Payload::ElementSection(r) => {
                    for element in r.clone() {
                        match element.unwrap().items {
                            wasmparser::ElementItems::Functions(items) => {
                                table.extend(items.into_iter().map(Result::unwrap));
                            }
                            wasmparser::ElementItems::Expressions(_, items) => {
                                for expr in items {
                                    for op in expr.unwrap().get_operators_reader() {
                                        if let Operator::RefFunc { function_index } = op.unwrap() {
                                            table.push(function_index);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
            if let wasmparser::ValidPayload::Func(to_validate, body) =
                validator.payload(&payload).unwrap()
            {
                let index = to_validate.index;
                let mut func = to_validate.into_validator(Default::default());
                let params = s.types[s.func_types[index as usize] as usize]
                    .params()
                    .len();
                let mut units = u32::try_from(params).unwrap();
                let mut locals = body.get_locals_reader().unwrap();
                for _ in 0..locals.get_count() {
                    let offset = locals.original_position();
                    let (count, ty) = locals.read().unwrap();
                    func.define_locals(offset, count, ty).unwrap();
                    units += count;
                }
                let mut height = 0;
                let mut callees = Vec::new();
                let mut calls_indirect = false;
                let mut ops = body.get_operators_reader().unwrap();
                while !ops.eof() {
                    let (op, offset) = ops.read_with_offset().unwrap();
                    match op {
                        Operator::Call { function_index } => callees.push(function_index),
                        Operator::CallIndirect { .. } => calls_indirect = true,
                        _ => {}
                    }
                    func.op(offset, &op).unwrap();
                    height = height.max(func.operand_stack_height());
                }
                s.frame_units.push(schedule.frame_overhead + units + height);
                calls.push(callees);
                indirect.push(calls_indirect);
            }
        }
        // reaches[f][g]: f can call g, directly or not (defined functions).
        let n = calls.len();
        let imported = s.imported;
        let defined = |f: u32| {
            f.checked_sub(imported)
                .map(|d| d as usize)
                .filter(|&d| d < n)
        };
        let mut reaches = vec![vec![false; n]; n];
        for f in 0..n {
            for &g in &calls[f] {
                if let Some(g) = defined(g) {
                    reaches[f][g] = true;
                }
            }
            if indirect[f] {
                for &t in &table {
                    if let Some(t) = defined(t) {
                        reaches[f][t] = true;
                    }
                }
            }
        }
        for k in 0..n {
            for f in 0..n {
                if reaches[f][k] {
                    let through_k = reaches[k].clone();
                    for (g, reached) in through_k.into_iter().enumerate() {
                        if reached {
                            reaches[f][g] = true;
                        }
                    }
                }
            }
        }
        s.recursive = (0..n).map(|f| reaches[f][f]).collect();
        s
    }

    /// Counted loops (`specs/gas.md`, "Counted loops") among `ops`, the
    /// body of a function with `params` parameters: index of the `loop` ->
    /// its trip count times the cost of one iteration. The trip count is
    /// found by running the counter on integers, as the spec defines it.
    fn counted_loops(
        ops: &[Operator<'_>],
        params: u32,
        schedule: &GasSchedule,
    ) -> Vec<(usize, i64)> {
        let mut found = Vec::new();
        let mut loops_open = Vec::new();
        for (l, op) in ops.iter().enumerate() {
            match op {
                Operator::Block { .. } | Operator::If { .. } => loops_open.push(false),
                Operator::End => {
                    loops_open.pop();
                }
                _ => {}
            }
            let Operator::Loop { blockty } = op else {
                continue;
            };
            let inside_a_loop = loops_open.contains(&true);
            loops_open.push(true);
            if *blockty != wasmparser::BlockType::Empty {
                continue;
            }
            // The matching `end`.
            let mut depth = 0;
            let mut end = None;
            for (i, op) in ops.iter().enumerate().skip(l + 1) {
                match op {
                    Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                        depth += 1
                    }
                    Operator::End if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    Operator::End => depth -= 1,
                    _ => {}
                }
            }
            let Some(end) = end else { continue };
            let body = &ops[l + 1..end];
            let n = body.len();
            let local = |o: &Operator<'_>, want: u8| match (o, want) {
                (Operator::LocalGet { local_index }, 0)
                | (Operator::LocalSet { local_index }, 1)
                | (Operator::LocalTee { local_index }, 2) => Some(*local_index),
                _ => None,
            };
            let konst = |o: &Operator<'_>| match o {
                Operator::I32Const { value } => Some(*value),
                _ => None,
            };
            let sign = |o: &Operator<'_>| match o {
                Operator::I32Add => Some(1i64),
                Operator::I32Sub => Some(-1i64),
                _ => None,
            };
            // test: 0 lt_u, 1 lt_s, 2 ne
            let test = |o: &Operator<'_>| match o {
                Operator::I32LtU => Some(0),
                Operator::I32LtS => Some(1),
                Operator::I32Ne => Some(2),
                _ => None,
            };
            let br_if0 = |o: &Operator<'_>| matches!(o, Operator::BrIf { relative_depth: 0 });
            let at = |k: usize| &body[n - k];
            // (counter, step, sign, test, bound, straight-line part, test at the top)
            let mut shape = None;
            if n >= 8
                && br_if0(at(1))
                && let (Some(x), Some(by), Some(sg), Some(x2), Some(x3), Some(bound), Some(t)) = (
                    local(at(8), 0),
                    konst(at(7)),
                    sign(at(6)),
                    local(at(5), 1),
                    local(at(4), 0),
                    konst(at(3)),
                    test(at(2)),
                )
                && x == x2
                && x == x3
            {
                shape = Some((x, by, sg, t, bound, 0..n - 8, false));
            }
            if shape.is_none()
                && n >= 7
                && br_if0(at(1))
                && let (Some(x), Some(by), Some(sg), Some(x2), Some(bound), Some(t)) = (
                    local(at(7), 0),
                    konst(at(6)),
                    sign(at(5)),
                    local(at(4), 2),
                    konst(at(3)),
                    test(at(2)),
                )
                && x == x2
            {
                shape = Some((x, by, sg, t, bound, 0..n - 7, false));
            }
            if shape.is_none()
                && n >= 6
                && br_if0(at(1))
                && let (Some(x), Some(by), Some(sg), Some(x2), Some(x3)) = (
                    local(at(6), 0),
                    konst(at(5)),
                    sign(at(4)),
                    local(at(3), 1),
                    local(at(2), 0),
                )
                && x == x2
                && x == x3
            {
                shape = Some((x, by, sg, 2, 0, 0..n - 6, false));
            }
            if shape.is_none()
                && n >= 5
                && br_if0(at(1))
                && let (Some(x), Some(by), Some(sg), Some(x2)) =
                    (local(at(5), 0), konst(at(4)), sign(at(3)), local(at(2), 2))
                && x == x2
            {
                shape = Some((x, by, sg, 2, 0, 0..n - 5, false));
            }
            if shape.is_none() && n >= 10 {
                // Test at the top: `x cmp N; if; ...; x := x +- S; br 1; end`.
                let (t, if_at) = match (&body[2], body.get(3)) {
                    (Operator::I32Eq, Some(Operator::I32Eqz)) => (Some(2), 4),
                    (o, _) => (test(o), 3),
                };
                let opens_if = matches!(
                    body[if_at],
                    Operator::If {
                        blockty: wasmparser::BlockType::Empty
                    }
                );
                let closes = matches!(at(2), Operator::Br { relative_depth: 1 })
                    && matches!(at(1), Operator::End);
                if let (Some(x), Some(bound), Some(t), Some(x2), Some(by), Some(sg), Some(x3)) = (
                    local(&body[0], 0),
                    konst(&body[1]),
                    t,
                    local(at(6), 0),
                    konst(at(5)),
                    sign(at(4)),
                    local(at(3), 1),
                ) && opens_if
                    && closes
                    && x == x2
                    && x == x3
                    && n >= if_at + 7
                {
                    shape = Some((x, by, sg, t, bound, if_at + 1..n - 6, true));
                }
            }
            let Some((x, by, sign, test, bound, straight, test_first)) = shape else {
                continue;
            };
            let plain = body[straight].iter().all(|o| {
                !matches!(
                    o,
                    Operator::Block { .. }
                        | Operator::Loop { .. }
                        | Operator::If { .. }
                        | Operator::Else
                        | Operator::End
                        | Operator::Br { .. }
                        | Operator::BrIf { .. }
                        | Operator::BrTable { .. }
                        | Operator::Return
                        | Operator::Unreachable
                        | Operator::Call { .. }
                        | Operator::CallIndirect { .. }
                        | Operator::MemoryGrow { .. }
                        | Operator::MemoryCopy { .. }
                        | Operator::MemoryFill { .. }
                        | Operator::MemoryInit { .. }
                ) && local(o, 1) != Some(x)
                    && local(o, 2) != Some(x)
            });
            if !plain || by <= 0 {
                continue;
            }
            // The counter on entry.
            let start = match (
                l.checked_sub(2).map(|i| &ops[i]),
                l.checked_sub(1).map(|i| &ops[i]),
            ) {
                (Some(Operator::I32Const { value }), Some(Operator::LocalSet { local_index }))
                    if *local_index == x =>
                {
                    *value
                }
                _ => {
                    let written = ops[..l]
                        .iter()
                        .any(|o| local(o, 1) == Some(x) || local(o, 2) == Some(x));
                    if x < params || written || inside_a_loop {
                        continue;
                    }
                    0
                }
            };
            // Run the counter on integers, in the interpretation of the test.
            let read = |v: i32| {
                if test == 0 {
                    i64::from(v.cast_unsigned())
                } else {
                    i64::from(v)
                }
            };
            let (lo, hi) = if test == 0 {
                (0, i64::from(u32::MAX))
            } else {
                (i64::from(i32::MIN), i64::from(i32::MAX))
            };
            let holds = |v: i64, bound: i64| if test == 2 { v != bound } else { v < bound };
            let (mut value, bound) = (read(start), read(bound));
            let mut trips = None;
            if test_first && !holds(value, bound) {
                trips = Some(0);
            } else {
                for k in 1..=65_537i64 {
                    value += sign * i64::from(by);
                    if value < lo || value > hi {
                        break;
                    }
                    if !holds(value, bound) {
                        trips = Some(k);
                        break;
                    }
                }
            }
            let Some(trips) = trips.filter(|&t| t <= 65_536) else {
                continue;
            };
            let cost: i64 = body
                .iter()
                .map(|o| i64::from(schedule.cost_of(o).unwrap()))
                .sum();
            found.push((l, trips * cost));
        }
        found
    }

    struct Model {
        schedule: GasSchedule,
        module: Survey,
        next_function: u32,
    }

    impl Model {
        fn gas(&self) -> u32 {
            self.module.globals
        }
        fn halt(&self) -> u32 {
            self.module.globals + 1
        }
        fn budget(&self) -> u32 {
            self.module.globals + 2
        }

        fn injected_globals(&mut self, globals: &mut wasm_encoder::GlobalSection) {
            let mutable = |val_type| wasm_encoder::GlobalType {
                val_type,
                mutable: true,
                shared: false,
            };
            globals.global(
                mutable(ValType::I64),
                &wasm_encoder::ConstExpr::i64_const(0),
            );
            globals.global(
                mutable(ValType::I32),
                &wasm_encoder::ConstExpr::i32_const(0),
            );
            globals.global(
                mutable(ValType::I32),
                &wasm_encoder::ConstExpr::i32_const(
                    i32::try_from(self.schedule.stack_limit).unwrap(),
                ),
            );
            self.module.globals_written = true;
        }

        fn charge(&self, f: &mut Function, cost: i64) {
            if cost != 0 {
                f.instruction(&Instruction::GlobalGet(self.gas()))
                    .instruction(&Instruction::I64Const(cost))
                    .instruction(&Instruction::I64Sub)
                    .instruction(&Instruction::GlobalSet(self.gas()));
            }
        }

        fn check(&self, f: &mut Function) {
            f.instruction(&Instruction::GlobalGet(self.gas()))
                .instruction(&Instruction::I64Const(0))
                .instruction(&Instruction::I64LtS)
                .instruction(&Instruction::If(BlockType::Empty))
                .instruction(&Instruction::I32Const(HaltCode::OutOfGas as i32))
                .instruction(&Instruction::GlobalSet(self.halt()))
                .instruction(&Instruction::Unreachable)
                .instruction(&Instruction::End);
        }

        /// Charges `per_unit` times the i32 length on top of the stack
        /// (left in place) through local `scratch`, then checks.
        fn dynamic(&self, f: &mut Function, scratch: u32, per_unit: u64) {
            f.instruction(&Instruction::LocalTee(scratch))
                .instruction(&Instruction::GlobalGet(self.gas()))
                .instruction(&Instruction::LocalGet(scratch))
                .instruction(&Instruction::I64ExtendI32U)
                .instruction(&Instruction::I64Const(i64::try_from(per_unit).unwrap()))
                .instruction(&Instruction::I64Mul)
                .instruction(&Instruction::I64Sub)
                .instruction(&Instruction::GlobalSet(self.gas()));
            self.check(f);
        }
    }

    impl Reencode for Model {
        type Error = std::convert::Infallible;

        fn parse_global_section(
            &mut self,
            globals: &mut wasm_encoder::GlobalSection,
            section: wasmparser::GlobalSectionReader<'_>,
        ) -> Result<(), reencode::Error<Self::Error>> {
            reencode::utils::parse_global_section(self, globals, section)?;
            self.injected_globals(globals);
            Ok(())
        }

        fn intersperse_section_hook(
            &mut self,
            module: &mut wasm_encoder::Module,
            _after: Option<SectionId>,
            before: Option<SectionId>,
        ) -> Result<(), reencode::Error<Self::Error>> {
            let later = matches!(
                before,
                Some(
                    SectionId::Export
                        | SectionId::Start
                        | SectionId::Element
                        | SectionId::DataCount
                        | SectionId::Code
                        | SectionId::Data
                ) | None
            );
            if !self.module.has_global_section && !self.module.globals_written && later {
                let mut globals = wasm_encoder::GlobalSection::new();
                self.injected_globals(&mut globals);
                module.section(&globals);
            }
            Ok(())
        }

        fn parse_export_section(
            &mut self,
            exports: &mut wasm_encoder::ExportSection,
            section: wasmparser::ExportSectionReader<'_>,
        ) -> Result<(), reencode::Error<Self::Error>> {
            reencode::utils::parse_export_section(self, exports, section)?;
            exports.export(
                GAS_LEFT_GLOBAL,
                wasm_encoder::ExportKind::Global,
                self.gas(),
            );
            exports.export(HALT_GLOBAL, wasm_encoder::ExportKind::Global, self.halt());
            if !self.module.memory_exported {
                exports.export("memory", wasm_encoder::ExportKind::Memory, 0);
            }
            Ok(())
        }

        fn parse_function_body(
            &mut self,
            code: &mut wasm_encoder::CodeSection,
            body: wasmparser::FunctionBody<'_>,
        ) -> Result<(), reencode::Error<Self::Error>> {
            let index = self.next_function;
            self.next_function += 1;
            let defined = (index - self.module.imported) as usize;
            let ty = self.module.types[self.module.func_types[index as usize] as usize].clone();
            let params = u32::try_from(ty.params().len()).unwrap();
            let result = ty.results().first().map(|&t| self.val_type(t).unwrap());
            let mut locals = Vec::new();
            let mut count = params;
            for local in body.get_locals_reader()? {
                let (n, ty) = local?;
                locals.push((n, self.val_type(ty)?));
                count += n;
            }
            let scratch = count;
            locals.push((1, ValType::I32));
            let mut f = Function::new(locals);
            let recursive = self.module.recursive[defined];
            let units = i32::try_from(self.module.frame_units[defined]).unwrap();
            if recursive {
                f.instruction(&Instruction::GlobalGet(self.budget()))
                    .instruction(&Instruction::I32Const(units))
                    .instruction(&Instruction::I32Sub)
                    .instruction(&Instruction::GlobalSet(self.budget()))
                    .instruction(&Instruction::GlobalGet(self.budget()))
                    .instruction(&Instruction::I32Const(0))
                    .instruction(&Instruction::I32LtS)
                    .instruction(&Instruction::If(BlockType::Empty))
                    .instruction(&Instruction::I32Const(HaltCode::StackExhausted as i32))
                    .instruction(&Instruction::GlobalSet(self.halt()))
                    .instruction(&Instruction::Unreachable)
                    .instruction(&Instruction::End);
                self.check(&mut f);
            }
            f.instruction(&Instruction::Block(match result {
                Some(ty) => BlockType::Result(ty),
                None => BlockType::Empty,
            }));
            let mut depth = 0u32;
            let mut ops = Vec::new();
            let mut reader = body.get_operators_reader()?;
            while !reader.eof() {
                ops.push(reader.read()?);
            }
            let counted = counted_loops(&ops, params, &self.schedule);
            for (i, op) in ops.into_iter().enumerate() {
                let cost = self.schedule.cost_of(&op).expect("accepted instruction");
                self.charge(&mut f, i64::from(cost));
                match op {
                    Operator::Block { .. } | Operator::If { .. } => depth += 1,
                    Operator::Loop { .. } => {
                        depth += 1;
                        if let Some(&(_, total)) = counted.iter().find(|(l, _)| *l == i) {
                            // Out of gas now if all its iterations cannot be paid.
                            f.instruction(&Instruction::GlobalGet(self.gas()))
                                .instruction(&Instruction::I64Const(total))
                                .instruction(&Instruction::I64Sub)
                                .instruction(&Instruction::I64Const(0))
                                .instruction(&Instruction::I64LtS)
                                .instruction(&Instruction::If(BlockType::Empty))
                                .instruction(&Instruction::I32Const(HaltCode::OutOfGas as i32))
                                .instruction(&Instruction::GlobalSet(self.halt()))
                                .instruction(&Instruction::Unreachable)
                                .instruction(&Instruction::End);
                            let instruction = self.instruction(op)?;
                            f.instruction(&instruction);
                            continue;
                        }
                        let instruction = self.instruction(op)?;
                        f.instruction(&instruction);
                        self.check(&mut f);
                        continue;
                    }
                    Operator::End => depth = depth.saturating_sub(1),
                    Operator::Return => {
                        f.instruction(&Instruction::Br(depth));
                        continue;
                    }
                    Operator::MemoryGrow { .. } => {
                        self.dynamic(&mut f, scratch, self.schedule.memory_grow_per_page);
                    }
                    Operator::MemoryCopy { .. }
                    | Operator::MemoryFill { .. }
                    | Operator::MemoryInit { .. } => {
                        self.dynamic(&mut f, scratch, self.schedule.bulk_memory_per_byte);
                    }
                    _ => {}
                }
                let instruction = self.instruction(op)?;
                f.instruction(&instruction);
            }
            // The body's own `end` closed the wrapper block; now leave.
            if recursive {
                f.instruction(&Instruction::GlobalGet(self.budget()))
                    .instruction(&Instruction::I32Const(units))
                    .instruction(&Instruction::I32Add)
                    .instruction(&Instruction::GlobalSet(self.budget()));
            }
            if self.module.exported.contains(&index) {
                self.check(&mut f);
            }
            f.instruction(&Instruction::End);
            code.function(&f);
            Ok(())
        }
    }
}

/// Runs `wat` (a module exporting `call` and `memory`) prepared and under
/// the model, with ample gas and a range of limits below what it needs.
fn check_against_model(name: &str, wat: &str) {
    let wasm = wat::parse_str(wat).unwrap_or_else(|e| panic!("{name}: {e}"));
    let schedule = GasSchedule::v2();
    let prepared = prepare_code_checked(&wasm, &schedule, &ValidationLimits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let reference = reference::instrument(&wasm, &schedule);
    let engine = engine();
    let (ample, model) = assert_same(&engine, 0, &prepared.code, &reference, AMPLE_GAS);
    let used = AMPLE_GAS - model.gas_left.unwrap();
    let mut limits: Vec<i64> = (0..=40).map(|k| used * k / 40).collect();
    limits.extend([used - 1, used + 1, 1, 2, 3]);
    for limit in limits.into_iter().filter(|&l| l >= 0) {
        let (ours, _) = assert_same(&engine, 0, &prepared.code, &reference, limit);
        if ample.end == End::Returned && limit >= used {
            assert_eq!(ours.end, End::Returned, "{name}: limit {limit}");
        }
    }
}

/// Hand-written modules for what random ones rarely contain: counted loops
/// (every form, and near misses), traps after the counter went negative,
/// joins of arms of different cost, `br_table`, recursion, host calls in
/// loops, exports calling each other, the table.
#[test]
fn hand_written_modules_match_the_model() {
    for (name, wat) in hand_written_modules() {
        check_against_model(name, &wat);
    }
}

/// The modules of [`hand_written_modules_match_the_model`], each with its
/// name, as complete WAT.
fn hand_written_modules() -> Vec<(&'static str, String)> {
    let host = r#"(import "cairn_v1" "input_size" (func $size (result i32)))
        (import "cairn_v1" "storage_write" (func $write (param i32 i32 i32 i32)))"#;
    let cases: &[(&str, &str)] = &[
        ("counted lt_u set form", "(func (export \"call\") (local $i i32) (local $a i32)
            (i32.const 0) (local.set $i)
            (loop $l (local.set $a (i32.add (local.get $a) (i32.load (local.get $i))))
              (local.set $i (i32.add (local.get $i) (i32.const 4)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 400))))
            (i32.store (i32.const 0) (local.get $a)))"),
        ("counted lt_s tee form", "(func (export \"call\") (local $i i32)
            (local.set $i (i32.const -50))
            (loop $l (i32.store (i32.const 8) (i32.mul (local.get $i) (local.get $i)))
              (br_if $l (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 3))) (i32.const 47)))))"),
        ("counted ne countdown", "(func (export \"call\") (local $i i32)
            (local.set $i (i32.const 9))
            (loop $l (i32.store8 (local.get $i) (local.get $i))
              (local.set $i (i32.sub (local.get $i) (i32.const 1)))
              (br_if $l (local.get $i))))"),
        ("counted ne tee countdown", "(func (export \"call\") (local $i i32)
            (local.set $i (i32.const 12))
            (loop $l (i32.store8 (local.get $i) (i32.const 7))
              (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 3))))))"),
        ("counted, test at the top, zero-initialised counter", "(func (export \"call\") (local $i i32)
            (call $write (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1))
            (loop $l (if (i32.eqz (i32.eq (local.get $i) (i32.const 32)))
              (then (i64.store (local.get $i) (i64.load offset=64 (local.get $i)))
                (local.set $i (i32.add (local.get $i) (i32.const 8)))
                (br $l)))))"),
        ("counted, test at the top, lt_u and ne, zero trips", "(func (export \"call\") (local $i i32) (local $j i32)
            (local.set $i (i32.const 3))
            (loop $l (if (i32.lt_u (local.get $i) (i32.const 40))
              (then (i32.store8 (local.get $i) (local.get $i))
                (local.set $i (i32.add (local.get $i) (i32.const 5)))
                (br $l))))
            (local.set $j (i32.const 7))
            (loop $m (if (i32.ne (local.get $j) (i32.const 7))
              (then (local.set $j (i32.sub (local.get $j) (i32.const 1)))
                (br $m)))))"),
        ("near miss: zero-initialised counter written before", "(func (export \"call\") (local $i i32)
            (if (call $size) (then (local.set $i (i32.const 16))))
            (loop $l (if (i32.ne (local.get $i) (i32.const 32))
              (then (i32.store (local.get $i) (i32.const 1))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $l)))))"),
        ("near miss: zero-initialised counter in a loop", "(func (export \"call\") (local $i i32) (local $k i32)
            (loop $outer
              (loop $l (if (i32.ne (local.get $i) (i32.const 32))
                (then (i32.store (local.get $i) (local.get $k))
                  (local.set $i (i32.add (local.get $i) (i32.const 4)))
                  (br $l))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $outer (i32.lt_u (local.get $k) (i32.const 3)))))"),
        ("counted loop trapping inside", "(func (export \"call\") (local $i i32)
            (local.set $i (i32.const 0))
            (loop $l (i32.store (i32.mul (local.get $i) (i32.const 8000)) (local.get $i))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.ne (local.get $i) (i32.const 20)))))"),
        ("near miss: a short loop that starts like a test at the top", "(func (export \"call\") (local $i i32)
            (loop $l (drop (i32.lt_u (local.get $i) (i32.const 3))))
            (loop $n (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $n (i32.lt_u (local.get $i) (i32.const 3)))))"),
        ("near miss: counter written in the body", "(func (export \"call\") (local $i i32)
            (local.set $i (i32.const 0))
            (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 30)))))"),
        ("near miss: wraps", "(func (export \"call\") (local $i i32)
            (local.set $i (i32.const -3))
            (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 5)))))"),
        ("near miss: branch inside", "(func (export \"call\") (local $i i32)
            (local.set $i (i32.const 0))
            (loop $l (if (i32.and (local.get $i) (i32.const 1)) (then (i32.store (i32.const 0) (local.get $i))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 30)))))"),
        ("nested counted in dynamic", "(func (export \"call\") (local $i i32) (local $j i32)
            (loop $outer
              (local.set $j (i32.const 0))
              (loop $inner (i32.store (local.get $j) (local.get $i))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br_if $inner (i32.lt_u (local.get $j) (i32.const 64))))
              (local.set $i (i32.add (i32.add (local.get $i) (call $size)) (i32.const 1)))
              (br_if $outer (i32.lt_u (local.get $i) (i32.const 10)))))"),
        ("trap after a long straight stretch", "(func (export \"call\") (local $x i32)
            (local.set $x (i32.add (i32.mul (i32.const 3) (i32.const 4)) (i32.const 5)))
            (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 4)) (i32.const 5)))
            (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 4)) (i32.const 5)))
            (drop (i32.div_u (local.get $x) (call $size))))"),
        ("arms of different cost and a br_table", "(func $pick (param $k i32) (result i32)
              (block $c (block $b (block $a
                (br_table $a $b $c (local.get $k)))
                (return (i32.mul (local.get $k) (i32.const 7))))
                (return (i32.div_u (i32.const 100) (i32.add (local.get $k) (i32.const 1)))))
              (if (result i32) (local.get $k) (then (i32.const 1)) (else (i32.rem_u (i32.const 9) (i32.const 4)))))
            (func (export \"call\") (local $i i32)
              (loop $l (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (call $pick (i32.rem_u (local.get $i) (i32.const 4)))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (call $size)))))"),
        ("recursion with a host call", "(func $fib (param $n i32) (result i32)
              (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
                (then (call $write (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1)) (local.get $n))
                (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
            (func (export \"call\") (i32.store (i32.const 0) (call $fib (i32.const 9))))"),
        ("host calls in a loop", "(func (export \"call\") (local $i i32)
            (loop $l (call $write (i32.const 0) (i32.const 4) (i32.const 4) (local.get $i))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 12)))))"),
        ("exports, table and indirect calls", "(type $t (func (param i32) (result i32)))
            (table 2 funcref) (elem (i32.const 0) $twice $inc)
            (func $twice (param $x i32) (result i32) (i32.mul (local.get $x) (i32.const 2)))
            (func $inc (param $x i32) (result i32) (drop (call $size)) (i32.add (local.get $x) (i32.const 1)))
            (func $deploy (export \"deploy\") (drop (call $size)))
            (func $leaf (param $x i32) (result i32) (if (result i32) (local.get $x) (then (i32.const 3)) (else (i32.div_u (i32.const 8) (i32.const 2)))))
            (func (export \"call\") (local $i i32)
              (loop $l (i32.store (i32.const 0) (call_indirect (type $t) (call $leaf (local.get $i)) (i32.and (local.get $i) (i32.const 1))))
                (call $deploy)
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 6)))))"),
        ("budget across recursion entries", "(type $t (func (param i32) (result i32)))
            (table 1 funcref) (elem (i32.const 0) $odd)
            (func $deep (param $n i32) (result i32)
              (if (result i32) (local.get $n)
                (then (i32.add (call $deep (i32.sub (local.get $n) (i32.const 1))) (call $helper (local.get $n))))
                (else (i32.const 0))))
            (func $helper (param $n i32) (result i32)
              (if (result i32) (i32.eqz (i32.and (local.get $n) (i32.const 31)))
                (then (call $even (i32.const 40)))
                (else (local.get $n))))
            (func $even (param $n i32) (result i32)
              (if (result i32) (local.get $n)
                (then (call_indirect (type $t) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0)))
                (else (i32.const 1))))
            (func $odd (param $n i32) (result i32)
              (if (result i32) (local.get $n)
                (then (call $even (i32.sub (local.get $n) (i32.const 1))))
                (else (i32.const 0))))
            (func $twice (result i32) (i32.add (call $deep (i32.const 300)) (call $deep (i32.const 300))))
            (func (export \"call\")
              (i32.store (i32.const 0) (call $twice))
              (i32.store (i32.const 4) (call $deep (i32.add (call $size) (i32.const 990))))
              (i32.store (i32.const 8) (call $deep (i32.const 2000))))"),
        ("memory.grow and fill", "(func (export \"call\")
            (drop (memory.grow (i32.const 2)))
            (memory.fill (i32.const 0) (i32.const 1) (i32.const 300))
            (memory.fill (i32.const 0) (i32.const 1) (i32.const 1000000)))"),
    ];
    cases
        .iter()
        .map(|(name, body)| {
            let wat = format!("(module {host} (memory (export \"memory\") 1 4) {body})");
            (*name, wat)
        })
        .collect()
}

/// The prepared module never executes a `memory.grow` that would fail, so a
/// loop of failing grows cannot exhaust the node's native stack through
/// wasmi's failing-grow path. Runs on the default 2 MiB test thread stack.
#[test]
fn failing_memory_grow_loop_runs_on_a_small_stack() {
    let wasm = wat::parse_str(
        r#"(module (memory 1 1) (func (export "call") (local i32)
            (loop $l
              (drop (memory.grow (i32.const 1)))
              (local.set 0 (i32.add (local.get 0) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get 0) (i32.const 1000000))))
            (i32.store (i32.const 0) (memory.grow (i32.const 1)))))"#,
    )
    .unwrap();
    let prepared =
        prepare_code_checked(&wasm, &GasSchedule::v2(), &ValidationLimits::default()).unwrap();
    let run = execute(&engine(), &prepared.code, PREPARED_FUEL, Some(AMPLE_GAS)).unwrap();
    assert_eq!(run.end, End::Returned);
    assert_eq!(
        run.memory[..4],
        (-1i32).to_le_bytes(),
        "a failed grow returns -1"
    );
}

#[test]
fn prepared_modules_behave_like_originals() {
    run_cases(0, CI_CASES);
}

#[test]
#[ignore = "long run: `make fuzz` (CAIRN_FUZZ_CASES cases)"]
fn prepared_modules_behave_like_originals_long() {
    let cases = std::env::var("CAIRN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let first = std::env::var("CAIRN_FUZZ_FIRST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    run_cases(first, cases);
}

// ---------------------------------------------------------------------------
// Conformance vectors: specs/vectors/gas/*.json (specs/vectors/gas/README.md).

/// The modules of the gas vectors: the hand-written ones, the benchmark
/// programs and the example token contract. Each is `(name, description,
/// module)`; `module` is WAT, or `None` for the token (its bytes are read
/// from `contracts/artifacts/token.wasm`).
fn gas_vector_modules() -> Vec<(String, String, Option<String>)> {
    let slug = |name: &str| {
        let mut s: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        while s.contains("__") {
            s = s.replace("__", "_");
        }
        s.trim_matches('_').to_owned()
    };
    let mut modules: Vec<_> = hand_written_modules()
        .into_iter()
        .map(|(name, wat)| (slug(name), name.to_owned(), Some(wat)))
        .collect();
    for (name, text) in [
        ("fib", include_str!("../../benches/programs/fib.wat")),
        (
            "coremark",
            include_str!("../../benches/programs/coremark.wat"),
        ),
        ("keccak", include_str!("../../benches/programs/keccak.wat")),
        ("sort", include_str!("../../benches/programs/sort.wat")),
        (
            "storage",
            include_str!("../../benches/programs/storage.wat"),
        ),
    ] {
        modules.push((
            format!("bench_{name}"),
            format!("benchmark program benches/programs/{name}.wat"),
            Some(text.to_owned()),
        ));
    }
    modules.push((
        "contract_token".to_owned(),
        "the example token contract (contracts/artifacts/token.wasm); its `call` reads garbage call data from the stub host".to_owned(),
        None,
    ));
    modules
}

fn gas_vector_dir() -> std::path::PathBuf {
    repo_path("specs/vectors/gas")
}

/// `relative` in the checkout being tested: `cargo test` names the
/// package's directory at run time, which stays right when one build cache
/// serves several checkouts (a path baked in at build time may be another
/// checkout's, or gone).
fn repo_path(relative: &str) -> std::path::PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || env!("CARGO_MANIFEST_DIR").into(),
        std::path::PathBuf::from,
    );
    package.join("..").join(relative)
}

fn keccak_hex(bytes: &[u8]) -> String {
    format!(
        "0x{}",
        hex::encode(cairn_host_api::keccak256(bytes).as_bytes())
    )
}

/// How a run ended, in the vectors' words (never an engine's error text).
fn end_name(run: &Run) -> &'static str {
    match (&run.end, run.halt) {
        (End::Returned, _) => "returned",
        (_, Some(1)) => "out_of_gas",
        (_, Some(2)) => "stack_exhausted",
        (End::Trap(text), _) if text == "host: out of gas" => "out_of_gas",
        (End::Trap(text), _) if text.starts_with("host ended the call") => "host_ended",
        (End::Trap(_), _) => "trap",
    }
}

/// One run as a vector records it: the limit, how it ended, the gas left if
/// it returned, and every host call with the counter it saw.
fn run_json(limit: i64, run: &Run) -> serde_json::Value {
    serde_json::json!({
        "gas_limit": limit,
        "end": end_name(run),
        "gas_left": if run.end == End::Returned { run.gas_left } else { None },
        "host_calls": run.host_calls.iter().map(|(name, _, seen)| serde_json::json!([name, seen])).collect::<Vec<_>>(),
    })
}

/// Computes one vector's expected part, checking on the way that the
/// injector and the naive model of the spec agree on every run.
fn gas_vector_expected(name: &str, wasm: &[u8]) -> serde_json::Value {
    let schedule = GasSchedule::v2();
    let prepared = prepare_code_checked(wasm, &schedule, &ValidationLimits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let reference = reference::instrument(wasm, &schedule);
    let engine = engine();
    let (_, model) = assert_same(&engine, 0, &prepared.code, &reference, AMPLE_GAS);
    // What the call charged by the time it ended (for a call that did not
    // return: where out of gas and that end compete).
    let used = AMPLE_GAS - model.gas_left.unwrap_or(AMPLE_GAS);
    let mut limits = vec![AMPLE_GAS, used + 1, used, used - 1, used / 2, 0];
    limits.retain(|&l| l >= 0);
    limits.dedup();
    let runs: Vec<_> = limits
        .iter()
        .map(|&limit| {
            let (ours, _) = assert_same(&engine, 0, &prepared.code, &reference, limit);
            run_json(limit, &ours)
        })
        .collect();
    serde_json::json!({
        "gas_used": if model.end == End::Returned { Some(used) } else { None },
        "runs": runs,
        "prepared": {
            "schedule_hash": format!("0x{}", hex::encode(schedule.hash())),
            "size": prepared.code.len(),
            "keccak256": keccak_hex(&prepared.code),
        },
    })
}

/// The gas vectors hold: every module's gas figures under the injector and
/// under the naive model (both must equal the committed figures), and the
/// prepared bytes of Cairn's injector (their hash pins the rewrite; a second
/// implementation need not match it). `CAIRN_BLESS_VECTORS=1` rewrites them.
#[test]
fn gas_vectors_match() {
    let dir = gas_vector_dir();
    let bless = std::env::var("CAIRN_BLESS_VECTORS").as_deref() == Ok("1");
    let modules = gas_vector_modules();
    let mut names: Vec<String> = modules
        .iter()
        .map(|(name, _, _)| format!("{name}.json"))
        .collect();
    names.sort();
    let listed = dir.clone();
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || {
            for (name, description, wat) in modules {
                let path = dir.join(format!("{name}.json"));
                let wasm = match &wat {
                    Some(text) => wat::parse_str(text).unwrap_or_else(|e| panic!("{name}: {e}")),
                    None => std::fs::read(repo_path("contracts/artifacts/token.wasm")).unwrap(),
                };
                let expected = gas_vector_expected(&name, &wasm);
                if bless {
                    std::fs::create_dir_all(&dir).unwrap();
                    let mut vector = serde_json::json!({
                        "name": name,
                        "description": description,
                    });
                    match &wat {
                        Some(text) => vector["module_wat"] = text.clone().into(),
                        None => vector["module_file"] = "contracts/artifacts/token.wasm".into(),
                    }
                    vector["module_keccak256"] = keccak_hex(&wasm).into();
                    vector["expected"] = expected.clone();
                    let text = serde_json::to_string_pretty(&vector).unwrap() + "\n";
                    std::fs::write(&path, text).unwrap();
                }
                let committed: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(&path)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
                )
                .unwrap();
                assert_eq!(
                    committed["module_keccak256"],
                    keccak_hex(&wasm),
                    "{name}: module changed"
                );
                assert_eq!(
                    committed["expected"], expected,
                    "{name}: gas figures or prepared code differ from the committed vector \
                     (regenerate with CAIRN_BLESS_VECTORS=1 and say why in the commit)"
                );
            }
        })
        .unwrap()
        .join()
        .unwrap();
    // No stale vector stays behind.
    let mut files: Vec<String> = std::fs::read_dir(&listed)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(
        files, names,
        "specs/vectors/gas holds other vectors than the test's"
    );
}
