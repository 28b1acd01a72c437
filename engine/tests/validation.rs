//! Every validation rule of `specs/validation.md` has a rejecting fixture and
//! an accepted neighbour that differs only in the offending detail; garbage
//! and mutated modules are rejected with an error, never a panic.

use cairn_engine::prepare::{GasSchedule, PrepareError, Rule, ValidationLimits, prepare_code};
use proptest::prelude::*;

fn prepare_with(wat: &str, limits: &ValidationLimits) -> Result<(), PrepareError> {
    let wasm = wat::parse_str(wat).unwrap_or_else(|e| panic!("fixture does not parse: {e}\n{wat}"));
    prepare_code(&wasm, &GasSchedule::v2(), limits).map(|_| ())
}

/// A module around `body` with the memory and `call` export every accepted module needs.
fn module(items: &str) -> String {
    format!("(module {items} (memory 1 1) (func (export \"call\")))")
}

struct Case {
    name: &'static str,
    rule: Rule,
    rejected: String,
    accepted: String,
    limits: ValidationLimits,
}

fn case(name: &'static str, rule: Rule, rejected: String, accepted: String) -> Case {
    Case {
        name,
        rule,
        rejected,
        accepted,
        limits: ValidationLimits::default(),
    }
}

fn cases() -> Vec<Case> {
    let small = |f: fn(&mut ValidationLimits)| {
        let mut limits = ValidationLimits::default();
        f(&mut limits);
        limits
    };
    vec![
        // floating point: instruction, param, result, local, global
        case(
            "float instruction",
            Rule::FloatingPoint,
            module("(func (drop (f32.add (f32.const 1) (f32.const 2))))"),
            module("(func (drop (i32.add (i32.const 1) (i32.const 2))))"),
        ),
        case(
            "float param",
            Rule::FloatingPoint,
            module("(func (param f64))"),
            module("(func (param i64))"),
        ),
        case(
            "float result",
            Rule::FloatingPoint,
            module("(func (result f32) (f32.const 0))"),
            module("(func (result i32) (i32.const 0))"),
        ),
        case(
            "float local",
            Rule::FloatingPoint,
            module("(func (local f32))"),
            module("(func (local i32))"),
        ),
        case(
            "float global",
            Rule::FloatingPoint,
            module("(global f64 (f64.const 0))"),
            module("(global i64 (i64.const 0))"),
        ),
        case(
            "float conversion",
            Rule::FloatingPoint,
            module("(func (param i32) (drop (f32.convert_i32_s (local.get 0))))"),
            module("(func (param i32) (drop (i64.extend_i32_s (local.get 0))))"),
        ),
        // features outside the subset
        case(
            "simd",
            Rule::UnsupportedFeature,
            module("(func (drop (v128.const i32x4 0 0 0 0)))"),
            module("(func (drop (i64.const 0)))"),
        ),
        case(
            "tail call",
            Rule::UnsupportedFeature,
            module("(func $f (return_call $f))"),
            module("(func $f (call $f))"),
        ),
        case(
            "atomics",
            Rule::UnsupportedFeature,
            module("(func (drop (i32.atomic.load (i32.const 0))))"),
            module("(func (drop (i32.load (i32.const 0))))"),
        ),
        case(
            "reference type instruction",
            Rule::UnsupportedFeature,
            module("(func $f (drop (ref.null func)))"),
            module("(func $f (drop (i32.const 0)))"),
        ),
        case(
            "externref param",
            Rule::UnsupportedFeature,
            module("(func (param externref))"),
            module("(func (param i32))"),
        ),
        case(
            "table instruction",
            Rule::UnsupportedFeature,
            module("(table 1 funcref) (func (drop (table.size 0)))"),
            module("(table 1 funcref) (func (drop (memory.size)))"),
        ),
        case(
            "memory64",
            Rule::UnsupportedFeature,
            "(module (memory i64 1 1) (func (export \"call\")))".into(),
            "(module (memory i32 1 1) (func (export \"call\")))".into(),
        ),
        case(
            "exceptions",
            Rule::UnsupportedFeature,
            module("(tag $e) (func (throw $e))"),
            module("(func (unreachable))"),
        ),
        // multi-value
        case(
            "two results",
            Rule::MultiValue,
            module("(func (result i32 i32) (i32.const 0) (i32.const 1))"),
            module("(func (result i32) (i32.const 1))"),
        ),
        case(
            "block with params",
            Rule::MultiValue,
            module("(func (i32.const 1) (block (param i32) (drop)))"),
            module("(func (i32.const 1) (block (drop (i32.const 2))) (drop))"),
        ),
        // limits
        Case {
            limits: small(|l| l.max_params = 2),
            ..case(
                "too many params",
                Rule::TooManyParams,
                module("(func (param i32 i32 i32))"),
                module("(func (param i32 i32))"),
            )
        },
        Case {
            limits: small(|l| l.max_locals = 3),
            ..case(
                "too many locals",
                Rule::TooManyLocals,
                module("(func (param i32) (local i32 i64 i32))"),
                module("(func (param i32) (local i32 i64))"),
            )
        },
        Case {
            limits: small(|l| l.max_functions = 2),
            ..case(
                "too many functions",
                Rule::TooManyFunctions,
                module("(func) (func)"),
                module("(func)"),
            )
        },
        Case {
            limits: small(|l| l.max_globals = 1),
            ..case(
                "too many globals",
                Rule::TooManyGlobals,
                module("(global i32 (i32.const 0)) (global i32 (i32.const 0))"),
                module("(global i32 (i32.const 0))"),
            )
        },
        Case {
            limits: small(|l| l.max_br_table_targets = 2),
            ..case(
                "br_table targets",
                Rule::BrTableTargets,
                module("(func (block (block (br_table 0 1 0 (i32.const 0)))))"),
                module("(func (block (block (br_table 0 1 (i32.const 0)))))"),
            )
        },
        Case {
            limits: small(|l| l.max_data_segments = 1),
            ..case(
                "too many data segments",
                Rule::TooManyDataSegments,
                module("(data (i32.const 0) \"a\") (data (i32.const 1) \"b\")"),
                module("(data (i32.const 0) \"ab\")"),
            )
        },
        Case {
            limits: small(|l| l.max_code_size = 40),
            ..case(
                "code size",
                Rule::CodeSize,
                module("(func (drop (i64.const 1234567890123)) (drop (i64.const 1234567890123)))"),
                module(""),
            )
        },
        Case {
            limits: small(|l| l.max_table_size = 4),
            ..case(
                "table size",
                Rule::Table,
                module("(table 5 funcref)"),
                module("(table 4 funcref)"),
            )
        },
        case(
            "two tables",
            Rule::Table,
            module("(table 1 funcref) (table 1 funcref)"),
            module("(table 2 funcref)"),
        ),
        case(
            "externref table",
            Rule::Table,
            module("(table 1 externref)"),
            module("(table 1 funcref)"),
        ),
        // memory
        case(
            "no memory",
            Rule::MemoryCount,
            "(module (func (export \"call\")))".into(),
            "(module (memory 1 1) (func (export \"call\")))".into(),
        ),
        case(
            "two memories",
            Rule::MemoryCount,
            module("(memory 1 1)"),
            module(""),
        ),
        case(
            "memory without maximum",
            Rule::MemoryMaximum,
            "(module (memory 1) (func (export \"call\")))".into(),
            "(module (memory 1 16) (func (export \"call\")))".into(),
        ),
        case(
            "memory maximum above limit",
            Rule::MemoryMaximum,
            "(module (memory 1 17) (func (export \"call\")))".into(),
            "(module (memory 1 16) (func (export \"call\")))".into(),
        ),
        // imports
        case(
            "unknown import module",
            Rule::UnknownImport,
            module("(import \"env\" \"input_size\" (func (result i32)))"),
            module("(import \"cairn_v1\" \"input_size\" (func (result i32)))"),
        ),
        case(
            "unknown host function",
            Rule::UnknownImport,
            module("(import \"cairn_v1\" \"launch_missiles\" (func))"),
            module("(import \"cairn_v1\" \"block_number\" (func (result i64)))"),
        ),
        case(
            "imported memory",
            Rule::UnknownImport,
            "(module (import \"cairn_v1\" \"memory\" (memory 1 1)) (func (export \"call\")))"
                .into(),
            "(module (memory 1 1) (func (export \"call\")))".into(),
        ),
        case(
            "imported global",
            Rule::UnknownImport,
            module("(import \"cairn_v1\" \"g\" (global i32))"),
            module("(global i32 (i32.const 0))"),
        ),
        case(
            "import signature",
            Rule::ImportSignature,
            module("(import \"cairn_v1\" \"input_size\" (func (result i64)))"),
            module("(import \"cairn_v1\" \"input_size\" (func (result i32)))"),
        ),
        // exports
        case(
            "extra function export",
            Rule::ExportNotAllowed,
            module("(func (export \"transfer\"))"),
            module("(func (export \"deploy\"))"),
        ),
        case(
            "global export",
            Rule::ExportNotAllowed,
            module("(global (export \"cairn_gas_left\") (mut i64) (i64.const 0))"),
            module("(global (mut i64) (i64.const 0))"),
        ),
        case(
            "call with params",
            Rule::ExportNotAllowed,
            "(module (memory 1 1) (func (export \"call\") (param i32)))".into(),
            "(module (memory 1 1) (func (export \"call\")))".into(),
        ),
        case(
            "memory exported under another name",
            Rule::ExportNotAllowed,
            "(module (memory (export \"mem\") 1 1) (func (export \"call\")))".into(),
            "(module (memory (export \"memory\") 1 1) (func (export \"call\")))".into(),
        ),
        case(
            "missing call export",
            Rule::MissingCallExport,
            "(module (memory 1 1) (func (export \"deploy\")))".into(),
            "(module (memory 1 1) (func (export \"deploy\")) (func (export \"call\")))".into(),
        ),
        case(
            "start function",
            Rule::StartFunction,
            module("(func $init) (start $init)"),
            module("(func $init)"),
        ),
        case(
            "externref element segment",
            Rule::ElementSegment,
            module("(table 1 funcref) (func $f) (elem externref (ref.null extern))"),
            module("(table 1 funcref) (func $f) (elem (i32.const 0) func $f)"),
        ),
    ]
}

#[test]
fn every_rule_rejects_its_fixture_and_accepts_its_neighbour() {
    let mut failures = Vec::new();
    for case in cases() {
        match prepare_with(&case.rejected, &case.limits) {
            Ok(()) => failures.push(format!("{}: accepted", case.name)),
            Err(e) if e.rule() != case.rule => {
                failures.push(format!("{}: expected {}, got {e}", case.name, case.rule));
            }
            Err(_) => {}
        }
        if let Err(e) = prepare_with(&case.accepted, &case.limits) {
            failures.push(format!("{}: neighbour rejected: {e}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_a_fixture() {
    let covered: Vec<Rule> = cases().iter().map(|c| c.rule).collect();
    for rule in [
        Rule::CodeSize,
        Rule::FloatingPoint,
        Rule::UnsupportedFeature,
        Rule::MultiValue,
        Rule::TooManyParams,
        Rule::UnknownImport,
        Rule::ImportSignature,
        Rule::TooManyFunctions,
        Rule::Table,
        Rule::MemoryCount,
        Rule::MemoryMaximum,
        Rule::TooManyGlobals,
        Rule::ExportNotAllowed,
        Rule::MissingCallExport,
        Rule::StartFunction,
        Rule::ElementSegment,
        Rule::TooManyDataSegments,
        Rule::TooManyLocals,
        Rule::BrTableTargets,
    ] {
        assert!(covered.contains(&rule), "no fixture for {rule}");
    }
}

#[test]
fn errors_name_function_offset_and_hint() {
    let wat = r#"(module (memory 1 1)
        (func (export "call") (call $bad))
        (func $bad (drop (f64.const 1))))"#;
    let err = prepare_with(wat, &ValidationLimits::default()).unwrap_err();
    let v = err.violation();
    assert_eq!(v.rule, Rule::FloatingPoint);
    assert_eq!(v.function, Some(1));
    assert_eq!(v.function_name.as_deref(), Some("bad"));
    assert!(v.offset.is_some());
    let text = err.to_string();
    assert!(
        text.contains("floating-point") && text.contains("`bad`") && text.contains("hint"),
        "{text}"
    );
}

#[test]
fn garbage_and_truncation_are_malformed() {
    let limits = ValidationLimits::default();
    let schedule = GasSchedule::v2();
    for bytes in [&b""[..], b"\0asm", b"hello world", b"\0asm\x01\0\0\0\x01"] {
        let err = prepare_code(bytes, &schedule, &limits).unwrap_err();
        assert_eq!(err.rule(), Rule::Malformed, "{bytes:?}: {err}");
    }
    let valid = wat::parse_str(module("(func (drop (i32.const 7)))")).unwrap();
    for len in 0..valid.len() {
        let err = prepare_code(&valid[..len], &schedule, &limits).unwrap_err();
        assert!(
            matches!(
                err.rule(),
                Rule::Malformed | Rule::MemoryCount | Rule::MissingCallExport
            ),
            "{len}: {err}"
        );
    }
    prepare_code(&valid, &schedule, &limits).unwrap();
}

#[test]
fn prepared_code_reports_imports_exports_and_hashes() {
    let wasm = wat::parse_str(
        r#"(module
            (import "cairn_v1" "input_size" (func $size (result i32)))
            (memory (export "memory") 1 1)
            (func (export "deploy"))
            (func $main (export "call") (drop (call $size))))"#,
    )
    .unwrap();
    let p = prepare_code(&wasm, &GasSchedule::v2(), &ValidationLimits::default()).unwrap();
    assert_eq!(p.imports, ["cairn_v1::input_size"]);
    assert_eq!(p.exports, ["call", "deploy", "memory"]);
    assert!(p.has_deploy);
    assert_eq!(p.original_size, wasm.len());
    assert_eq!(p.function_names.get(&2).map(String::as_str), Some("main"));
    assert_eq!(p.schedule_hash, GasSchedule::v2().hash());
    // Pure: same input, same output.
    let again = prepare_code(&wasm, &GasSchedule::v2(), &ValidationLimits::default()).unwrap();
    assert_eq!(p, again);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut input = b"\0asm\x01\0\0\0".to_vec();
        input.extend(&bytes);
        let _ = prepare_code(&bytes, &GasSchedule::v2(), &ValidationLimits::default());
        let _ = prepare_code(&input, &GasSchedule::v2(), &ValidationLimits::default());
    }

    #[test]
    fn mutated_valid_modules_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
    ) {
        let mut wasm = wat::parse_str(r#"(module
            (import "cairn_v1" "input_size" (func $size (result i32)))
            (memory (export "memory") 1 2)
            (data (i32.const 8) "hello")
            (table 2 funcref) (elem (i32.const 0) func $f $main)
            (func $f (param i32) (result i32)
                (if (result i32) (local.get 0)
                    (then (i32.mul (local.get 0) (call $f (i32.sub (local.get 0) (i32.const 1)))))
                    (else (i32.const 1))))
            (func $main (export "call") (local i32)
                (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get 0) (i32.const 10))))
                (drop (call $f (call $size)))
                (memory.fill (i32.const 0) (i32.const 1) (i32.const 4))
                (drop (memory.grow (i32.const 1)))))"#).unwrap();
        for (at, byte) in edits {
            let i = at.index(wasm.len());
            wasm[i] = byte;
        }
        if let Ok(p) = prepare_code(&wasm, &GasSchedule::v2(), &ValidationLimits::default()) {
            // Whatever was accepted must yield a module that validates.
            wasmparser::Validator::new_with_features(cairn_engine::prepare::wasm_features())
                .validate_all(&p.code)
                .unwrap();
        }
    }
}

/// A stack-neutral statement for [`loop_like_bodies_are_accepted`]: pieces of
/// the counted-loop shapes of `specs/gas.md` 5.1 and their near misses, in
/// any order and nesting, so the counted-loop matcher sees every prefix,
/// suffix and length of them.
fn loop_statement() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (0i32..5).prop_map(|k| format!("local.get 1 i32.const {k} i32.lt_u drop")),
        (0i32..5).prop_map(|k| format!("local.get 1 i32.const {k} i32.add local.set 1")),
        (0i32..5).prop_map(|k| format!("local.get 1 i32.const {k} i32.sub local.tee 1 drop")),
        (0i32..5).prop_map(|k| format!("i32.const {k} local.set 1")),
        (0i32..5).prop_map(|k| format!("local.get 1 i32.const {k} i32.lt_s br_if 0")),
        (0i32..5).prop_map(|k| format!("local.get 1 i32.const {k} i32.ne br_if 0")),
        Just("local.get 1 br_if 0".to_owned()),
        Just("local.get 0 i32.const 1 i32.add local.set 0".to_owned()),
        Just("br 0".to_owned()),
        Just("nop".to_owned()),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            (0i32..5, proptest::collection::vec(inner.clone(), 0..6)).prop_map(|(k, body)| {
                format!(
                    "local.get 1 i32.const {k} i32.lt_u if {} end",
                    body.join(" ")
                )
            }),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(|body| format!(
                "local.get 1 i32.const 3 i32.eq i32.eqz if {} br 1 end",
                body.join(" ")
            )),
            proptest::collection::vec(inner.clone(), 0..6)
                .prop_map(|body| format!("loop {} end", body.join(" "))),
            proptest::collection::vec(inner, 0..6)
                .prop_map(|body| format!("block {} end", body.join(" "))),
        ]
    })
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

/// Every committed contract and benchmark program, then modules rejected
/// part-way (truncated, a function body cut short), in a fixed order.
fn sample_modules() -> Vec<Vec<u8>> {
    let mut paths: Vec<std::path::PathBuf> = ["contracts/artifacts", "benches/programs"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(repo_path(dir)).expect("read the directory"))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "wasm" || e == "wat"))
        .collect();
    paths.sort();
    let mut modules: Vec<Vec<u8>> = paths
        .iter()
        .map(|path| {
            if path.extension().is_some_and(|e| e == "wat") {
                wat::parse_file(path).expect("parse the program")
            } else {
                std::fs::read(path).expect("read the module")
            }
        })
        .collect();
    assert!(modules.len() >= 10, "the sample found too few modules");
    let largest = modules
        .iter()
        .max_by_key(|m| m.len())
        .expect("modules")
        .clone();
    modules.push(largest[..largest.len() / 2].to_vec());
    modules.push(largest[..largest.len() - 3].to_vec());
    modules
}

/// The bytes (or the error) of preparing `wasm`, normally or for profiling.
fn prepared_outcome(wasm: &[u8], profiling: bool) -> Result<Vec<u8>, String> {
    let (schedule, limits) = (GasSchedule::v2(), ValidationLimits::default());
    let prepared = if profiling {
        cairn_engine::prepare::prepare_code_for_profiling(wasm, &schedule, &limits)
    } else {
        prepare_code(wasm, &schedule, &limits)
    };
    prepared.map(|p| p.code).map_err(|e| e.to_string())
}

/// A thread keeps the buffers of one preparation for the next: nothing an
/// earlier module (larger or smaller, accepted or rejected, profiled or
/// not) left in them reaches the output. Every module prepares to the same
/// bytes after any other as on a thread of its own.
#[test]
fn prepared_bytes_do_not_depend_on_earlier_modules() {
    let modules = sample_modules();
    let fresh: Vec<[Result<Vec<u8>, String>; 2]> = modules
        .iter()
        .map(|wasm| {
            let wasm = wasm.clone();
            std::thread::spawn(move || {
                [false, true].map(|profiling| prepared_outcome(&wasm, profiling))
            })
            .join()
            .expect("a fresh thread prepares")
        })
        .collect();
    assert!(fresh.iter().filter(|f| f[0].is_err()).count() >= 2);
    assert!(fresh.iter().filter(|f| f[0].is_ok()).count() >= 8);
    let forward = 0..modules.len();
    let order: Vec<usize> = forward.clone().chain(forward.rev()).collect();
    for (step, &i) in order.iter().enumerate() {
        let profiling = step % 3 == 1;
        assert_eq!(
            prepared_outcome(&modules[i], profiling),
            fresh[i][usize::from(profiling)],
            "module {i} (profiling: {profiling}) after module {:?}",
            step.checked_sub(1).map(|s| order[s])
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Valid modules made of loop-like pieces are accepted (never a panic,
    /// never a rejection) and the prepared module validates.
    #[test]
    fn loop_like_bodies_are_accepted(
        start in proptest::option::of(0i32..5),
        body in proptest::collection::vec(loop_statement(), 0..8),
    ) {
        let start = start.map(|c| format!("i32.const {c} local.set 1")).unwrap_or_default();
        let wat = format!(
            "(module (memory 1 1) (func $f (param i32) (local i32) {start} loop {} end) \
             (func (export \"call\") (call $f (i32.const 7))))",
            body.join(" ")
        );
        let wasm = wat::parse_str(&wat).unwrap();
        let prepared = cairn_engine::prepare::prepare_code_checked(
            &wasm,
            &GasSchedule::v2(),
            &ValidationLimits::default(),
        );
        prop_assert!(prepared.is_ok(), "{}: {:?}", wat, prepared.err());
    }
}
