//! Differential testing of the gas injector: random modules from `wasm-smith`
//! (configured to Cairn's subset) run ORIGINAL vs PREPARED on wasmi with stub
//! host functions that log their calls. With ample gas both must end the same
//! way (result or trap), leave the same memory and make the same host calls.
//! For every successful run with gas used `G`, a limit of exactly `G` gives
//! the same run and `G - 1` ends out of gas.
//!
//! The CI variant runs [`CI_CASES`] cases; `make fuzz` runs the ignored
//! variant with `CAIRN_FUZZ_CASES` cases (default 20,000).

use arbitrary::Unstructured;
use cairn_engine::prepare::{
    GAS_LEFT_GLOBAL, GasSchedule, HALT_GLOBAL, ValidationLimits, prepare_code_checked,
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

#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    end: End,
    memory: Vec<u8>,
    host_calls: Vec<(String, Vec<i64>)>,
    gas_left: Option<i64>,
    halt: Option<i32>,
}

#[derive(Debug)]
enum Skip {
    Rejected(#[allow(dead_code, reason = "shown in the skip list on failure")] &'static str),
    OutOfFuel,
    StackOverflow,
    InjectedStackLimit,
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

/// The stub every host function gets: log the call, return a value derived
/// from the arguments; `return_value` and `revert` end the call like the
/// real ones do.
fn linker(engine: &Engine) -> Linker<Vec<(String, Vec<i64>)>> {
    let mut linker = Linker::<Vec<(String, Vec<i64>)>>::new(engine);
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
                    let derived = args
                        .iter()
                        .fold(i64::try_from(name.len()).unwrap_or(0), |a, b| {
                            a.wrapping_mul(31).wrapping_add(*b)
                        });
                    caller.data_mut().push((name.to_owned(), args));
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

/// Runs one case; returns why it was skipped, if it was.
fn check_case(engine: &Engine, seed: u64) -> Result<(), Skip> {
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
    let prepared =
        match prepare_code_checked(&wasm, &GasSchedule::v2(), &ValidationLimits::default()) {
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
    let original = execute(engine, &wasm, ORIGINAL_FUEL, None)?;
    let metered = execute(engine, &prepared.code, PREPARED_FUEL, Some(AMPLE_GAS))
        .unwrap_or_else(|skip| panic!("seed {seed}: prepared run did not finish: {skip:?}"));
    if metered.halt == Some(2) {
        return Err(Skip::InjectedStackLimit);
    }
    // `None`: instantiation failed (e.g. a data segment out of bounds), as
    // the original's must have; the ends are compared next.
    assert!(
        matches!(metered.halt, None | Some(0)),
        "seed {seed}: halted with ample gas"
    );
    assert_eq!(original.end, metered.end, "seed {seed}: different ends");
    assert_eq!(
        original.host_calls, metered.host_calls,
        "seed {seed}: different host calls"
    );
    assert!(
        original.memory == metered.memory,
        "seed {seed}: different memory"
    );

    if metered.end == End::Returned {
        let used = AMPLE_GAS - metered.gas_left.unwrap();
        assert!(used >= 0, "seed {seed}: negative gas used");
        let exact = execute(engine, &prepared.code, PREPARED_FUEL, Some(used)).unwrap();
        assert_eq!(exact.end, End::Returned, "seed {seed}: limit G failed");
        assert_eq!(exact.gas_left, Some(0), "seed {seed}");
        assert_eq!(exact.host_calls, metered.host_calls, "seed {seed}");
        assert!(exact.memory == metered.memory, "seed {seed}");
        if used == 0 {
            return Ok(());
        }
        let short = execute(engine, &prepared.code, PREPARED_FUEL, Some(used - 1)).unwrap();
        assert!(
            matches!(short.end, End::Trap(_)),
            "seed {seed}: limit G-1 succeeded"
        );
        assert_eq!(short.halt, Some(1), "seed {seed}: limit G-1 not out of gas");
        // Host calls made before running out are a prefix of the full run's.
        assert!(
            metered.host_calls.starts_with(&short.host_calls),
            "seed {seed}"
        );
    }
    Ok(())
}

fn run_cases(first: u64, count: u64) {
    // wasmi 2.0 uses native stack for every failing `memory.grow` it executes
    // (see `failing_memory_grow_loop_runs_on_a_small_stack`); the ORIGINAL
    // modules run unguarded, so give them room.
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || run_cases_on_this_thread(first, count))
        .unwrap()
        .join()
        .unwrap();
}

fn run_cases_on_this_thread(first: u64, count: u64) {
    let engine = engine();
    let (mut ran, mut skipped) = (0u64, Vec::new());
    for seed in first..first + count {
        if std::env::var_os("CAIRN_FUZZ_VERBOSE").is_some() {
            eprintln!("seed {seed}");
        }
        match check_case(&engine, seed) {
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
