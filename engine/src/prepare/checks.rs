//! The named checks of the validation pipeline (`specs/validation.md`).
//!
//! Each function checks one rule over one section and returns a
//! [`PrepareError`] naming the rule. They run before `wasmparser`'s own
//! validation of the same section, so a module outside our subset is reported
//! by our rule rather than as a generic parse error.

use cairn_host_api::{HOST_MODULE, ValType as HostValType, host_function};
use wasmparser::{
    CompositeInnerType, ElementItems, ElementKind, Export, ExternalKind, FuncType, Import,
    MemoryType, Operator, RefType, TableType, TypeRef, ValType,
};

use super::error::{PrepareError, Rule};
use super::limits::ValidationLimits;

/// Names the feature a value type needs if it is outside the subset.
pub(crate) fn check_value_type(ty: ValType, what: &str) -> Result<(), PrepareError> {
    check_value_type_of(ty, || what.to_owned())
}

/// [`check_value_type`], naming the offender only if there is one.
fn check_value_type_of(ty: ValType, what: impl FnOnce() -> String) -> Result<(), PrepareError> {
    match ty {
        ValType::I32 | ValType::I64 => Ok(()),
        ValType::F32 | ValType::F64 => Err(PrepareError::new(
            Rule::FloatingPoint,
            format!("{} has floating-point type {ty}", what()),
        )),
        ValType::V128 => Err(PrepareError::new(
            Rule::UnsupportedFeature,
            format!("{} has SIMD type v128", what()),
        )),
        ValType::Ref(r) => Err(PrepareError::new(
            Rule::UnsupportedFeature,
            format!(
                "{} has reference type {r} (reference types beyond the MVP table)",
                what()
            ),
        )),
    }
}

/// `code-size`.
pub(crate) fn check_code_size(len: usize, limits: &ValidationLimits) -> Result<(), PrepareError> {
    if len > limits.max_code_size {
        return Err(PrepareError::new(
            Rule::CodeSize,
            format!(
                "module is {len} bytes, the limit is {}",
                limits.max_code_size
            ),
        ));
    }
    Ok(())
}

/// `floating-point`, `unsupported-feature`, `multi-value`, `too-many-params` over one function type.
pub(crate) fn check_func_type(
    index: u32,
    ty: &FuncType,
    limits: &ValidationLimits,
) -> Result<(), PrepareError> {
    let what = || format!("type {index}");
    for &p in ty.params() {
        check_value_type_of(p, || format!("a parameter of {}", what()))?;
    }
    for &r in ty.results() {
        check_value_type_of(r, || format!("a result of {}", what()))?;
    }
    if ty.results().len() > 1 {
        return Err(PrepareError::new(
            Rule::MultiValue,
            format!("{} has {} results", what(), ty.results().len()),
        ));
    }
    let params = ty.params().len();
    if params > limits.max_params as usize {
        return Err(PrepareError::new(
            Rule::TooManyParams,
            format!(
                "{} has {params} parameters, the limit is {}",
                what(),
                limits.max_params
            ),
        ));
    }
    Ok(())
}

/// Extracts the function type of a type-section entry, rejecting GC types.
pub(crate) fn func_type_of(
    sub: &wasmparser::SubType,
    index: u32,
) -> Result<FuncType, PrepareError> {
    match &sub.composite_type.inner {
        CompositeInnerType::Func(f) if !sub.composite_type.shared => Ok(f.clone()),
        _ => Err(PrepareError::new(
            Rule::UnsupportedFeature,
            format!("type {index} is not a plain function type (GC / shared types)"),
        )),
    }
}

/// `unknown-import` and `import-signature`.
pub(crate) fn check_import(import: &Import<'_>, types: &[FuncType]) -> Result<(), PrepareError> {
    let TypeRef::Func(type_index) = import.ty else {
        return Err(PrepareError::new(
            Rule::UnknownImport,
            format!(
                "`{}::{}` imports a {}, only host functions may be imported",
                import.module,
                import.name,
                match import.ty {
                    TypeRef::Memory(_) => "memory",
                    TypeRef::Table(_) => "table",
                    TypeRef::Global(_) => "global",
                    _ => "non-function item",
                }
            ),
        ));
    };
    let Some(host) = host_function(import.module, import.name) else {
        return Err(PrepareError::new(
            Rule::UnknownImport,
            format!(
                "`{}::{}` is not a host function (the host API module is `{HOST_MODULE}`)",
                import.module, import.name
            ),
        ));
    };
    let Some(ty) = types.get(type_index as usize) else {
        return Err(PrepareError::new(
            Rule::Malformed,
            format!("import `{}` uses undefined type {type_index}", import.name),
        ));
    };
    let convert = |v: &HostValType| match v {
        HostValType::I32 => ValType::I32,
        HostValType::I64 => ValType::I64,
    };
    let matches = ty
        .params()
        .iter()
        .copied()
        .eq(host.params.iter().map(convert))
        && ty
            .results()
            .iter()
            .copied()
            .eq(host.results.iter().map(convert));
    if !matches {
        let want_params: Vec<ValType> = host.params.iter().map(convert).collect();
        let want_results: Vec<ValType> = host.results.iter().map(convert).collect();
        return Err(PrepareError::new(
            Rule::ImportSignature,
            format!(
                "`{}::{}` imported as {ty}, the host API declares {}",
                import.module,
                import.name,
                FuncType::new(want_params, want_results)
            ),
        ));
    }
    Ok(())
}

/// `too-many-functions`.
pub(crate) fn check_function_count(
    count: u32,
    limits: &ValidationLimits,
) -> Result<(), PrepareError> {
    if count > limits.max_functions {
        return Err(PrepareError::new(
            Rule::TooManyFunctions,
            format!("{count} functions, the limit is {}", limits.max_functions),
        ));
    }
    Ok(())
}

/// `table`.
pub(crate) fn check_table(
    index: u32,
    table: &TableType,
    limits: &ValidationLimits,
) -> Result<(), PrepareError> {
    if index > 0 {
        return Err(PrepareError::new(
            Rule::Table,
            "more than one table (multiple tables need reference types)",
        ));
    }
    if table.element_type != RefType::FUNCREF || table.table64 || table.shared {
        return Err(PrepareError::new(
            Rule::Table,
            format!(
                "table of {} is not a plain funcref table",
                table.element_type
            ),
        ));
    }
    if table.initial > u64::from(limits.max_table_size) {
        return Err(PrepareError::new(
            Rule::Table,
            format!(
                "table has {} elements, the limit is {}",
                table.initial, limits.max_table_size
            ),
        ));
    }
    Ok(())
}

/// `memory-count` (more than one) and `memory-maximum`; memory64, shared
/// memories and custom page sizes are `unsupported-feature`.
pub(crate) fn check_memory(
    index: u32,
    memory: &MemoryType,
    limits: &ValidationLimits,
) -> Result<(), PrepareError> {
    if index > 0 {
        return Err(PrepareError::new(
            Rule::MemoryCount,
            "more than one memory (multi-memory)",
        ));
    }
    if memory.memory64 {
        return Err(PrepareError::new(
            Rule::UnsupportedFeature,
            "64-bit memory (memory64)",
        ));
    }
    if memory.shared {
        return Err(PrepareError::new(
            Rule::UnsupportedFeature,
            "shared memory (threads)",
        ));
    }
    if memory.page_size_log2.is_some() {
        return Err(PrepareError::new(
            Rule::UnsupportedFeature,
            "custom page size",
        ));
    }
    match memory.maximum {
        None => Err(PrepareError::new(
            Rule::MemoryMaximum,
            "the memory declares no maximum",
        )),
        Some(max) if max > u64::from(limits.max_memory_pages) => Err(PrepareError::new(
            Rule::MemoryMaximum,
            format!(
                "the memory's maximum is {max} pages, the limit is {}",
                limits.max_memory_pages
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// `too-many-globals`, plus the value-type rules for a global.
pub(crate) fn check_global(
    index: u32,
    ty: &wasmparser::GlobalType,
    limits: &ValidationLimits,
) -> Result<(), PrepareError> {
    if index >= limits.max_globals {
        return Err(PrepareError::new(
            Rule::TooManyGlobals,
            format!("more than {} globals", limits.max_globals),
        ));
    }
    if ty.shared {
        return Err(PrepareError::new(
            Rule::UnsupportedFeature,
            "shared global (threads)",
        ));
    }
    check_value_type_of(ty.content_type, || format!("global {index}"))
}

/// The exports the engine knows about.
#[derive(Debug, Default)]
pub(crate) struct ExportSummary {
    pub(crate) call: Option<u32>,
    pub(crate) deploy: Option<u32>,
    pub(crate) memory: bool,
}

/// `export-not-allowed`.
pub(crate) fn check_export(
    export: &Export<'_>,
    summary: &mut ExportSummary,
) -> Result<(), PrepareError> {
    match (export.name, export.kind) {
        ("call", ExternalKind::Func) => summary.call = Some(export.index),
        ("deploy", ExternalKind::Func) => summary.deploy = Some(export.index),
        ("memory", ExternalKind::Memory) => summary.memory = true,
        (name, kind) => {
            return Err(PrepareError::new(
                Rule::ExportNotAllowed,
                format!("export `{name}` ({kind:?}) is not allowed"),
            ));
        }
    }
    Ok(())
}

/// `missing-call-export`, and the `call`/`deploy` signature (no params, no results).
pub(crate) fn check_entry_points(
    summary: &ExportSummary,
    func_type: impl Fn(u32) -> Option<FuncType>,
) -> Result<(), PrepareError> {
    let Some(call) = summary.call else {
        return Err(PrepareError::new(
            Rule::MissingCallExport,
            "the module exports no function named `call`",
        ));
    };
    for (name, index) in [("call", Some(call)), ("deploy", summary.deploy)] {
        let Some(index) = index else { continue };
        if let Some(ty) = func_type(index)
            && (!ty.params().is_empty() || !ty.results().is_empty())
        {
            return Err(PrepareError::new(
                Rule::ExportNotAllowed,
                format!("`{name}` has type {ty}; entry points take and return nothing"),
            )
            .in_function(index));
        }
    }
    Ok(())
}

/// `element-segment`. Passive and declared segments are accepted: no
/// accepted instruction (`table.init`, `elem.drop`, `ref.func`) can use them.
pub(crate) fn check_element(element: &wasmparser::Element<'_>) -> Result<(), PrepareError> {
    let for_table0 = matches!(
        element.kind,
        ElementKind::Active {
            table_index: None | Some(0),
            ..
        } | ElementKind::Passive
            | ElementKind::Declared
    );
    // Expression items can only be `ref.func` / `ref.null func` here (globals
    // are integers), which is the same as the MVP form.
    let functions = match &element.items {
        ElementItems::Functions(_) => true,
        ElementItems::Expressions(ty, _) => *ty == RefType::FUNCREF,
    };
    if !for_table0 || !functions {
        return Err(PrepareError::new(
            Rule::ElementSegment,
            "element segment for another table or of non-function references",
        )
        .at(usize::try_from(element.range.start).unwrap_or(usize::MAX)));
    }
    Ok(())
}

/// `too-many-data-segments`.
pub(crate) fn check_data_count(count: u32, limits: &ValidationLimits) -> Result<(), PrepareError> {
    if count > limits.max_data_segments {
        return Err(PrepareError::new(
            Rule::TooManyDataSegments,
            format!(
                "{count} data segments, the limit is {}",
                limits.max_data_segments
            ),
        ));
    }
    Ok(())
}

/// `too-many-locals` (parameters included).
pub(crate) fn check_local_count(total: u64, limits: &ValidationLimits) -> Result<(), PrepareError> {
    if total > u64::from(limits.max_locals) {
        return Err(PrepareError::new(
            Rule::TooManyLocals,
            format!("{total} locals, the limit is {}", limits.max_locals),
        ));
    }
    Ok(())
}

/// Per-instruction rules: `floating-point`, `unsupported-feature`,
/// `multi-value` (block types), `br-table-targets`. Called only for
/// instructions that [`super::schedule::classify`] did not accept, or that
/// need a closer look.
pub(crate) fn reject_instruction(op: &Operator<'_>) -> PrepareError {
    let debug = format!("{op:?}");
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned();
    if name.contains("F32") || name.contains("F64") {
        return PrepareError::new(
            Rule::FloatingPoint,
            format!("floating-point instruction {name}"),
        );
    }
    let feature = if name.starts_with("V128")
        || ["I8x16", "I16x8", "I32x4", "I64x2"]
            .iter()
            .any(|p| name.starts_with(p))
    {
        "SIMD"
    } else if name.contains("Atomic") {
        "threads"
    } else if name.starts_with("ReturnCall") {
        "tail calls"
    } else if ["Try", "Throw", "Rethrow", "Delegate", "Catch"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        "exceptions"
    } else if [
        "Struct",
        "Array",
        "I31",
        "BrOn",
        "RefTest",
        "RefCast",
        "AnyConvert",
        "ExternConvert",
    ]
    .iter()
    .any(|p| name.starts_with(p))
    {
        "GC"
    } else if name.starts_with("Table") || name.starts_with("ElemDrop") {
        "table instructions (reference types / bulk table operations)"
    } else if name.starts_with("Ref") || name.starts_with("CallRef") {
        "reference types"
    } else {
        "an extension outside the subset"
    };
    PrepareError::new(
        Rule::UnsupportedFeature,
        format!("instruction {name} needs {feature}"),
    )
}
