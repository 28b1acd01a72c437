//! Why a module was rejected.

use std::fmt;

/// The validation rule a module broke. Each rule is one named check of the
/// pipeline in `specs/validation.md`. A deploy of code that breaks one puts
/// the rule (its fixed SCALE index, `specs/chain.md`) into the receipt; the
/// message and hint never reach consensus data.
#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index"
)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, parity_scale_codec::Encode, parity_scale_codec::Decode,
)]
#[non_exhaustive]
pub enum Rule {
    /// Not a well-formed, valid Wasm module (parse or type error).
    #[codec(index = 0)]
    Malformed,
    /// The module is larger than `max_code_size`.
    #[codec(index = 1)]
    CodeSize,
    /// A floating-point type, value or instruction.
    #[codec(index = 2)]
    FloatingPoint,
    /// A feature outside the subset (SIMD, threads, tail calls, exceptions,
    /// GC, reference types beyond the MVP table, memory64, multi-memory,
    /// custom page sizes, table bulk operations).
    #[codec(index = 3)]
    UnsupportedFeature,
    /// A function type with more than one result or a block with parameters.
    #[codec(index = 4)]
    MultiValue,
    /// More parameters than `max_params`.
    #[codec(index = 5)]
    TooManyParams,
    /// An import that is not a host function of the host API table.
    #[codec(index = 6)]
    UnknownImport,
    /// A host function imported with a signature other than the table's.
    #[codec(index = 7)]
    ImportSignature,
    /// More defined functions than `max_functions`.
    #[codec(index = 8)]
    TooManyFunctions,
    /// More than one table, a non-`funcref` table, or a table larger than `max_table_size`.
    #[codec(index = 9)]
    Table,
    /// Not exactly one memory, defined in the module.
    #[codec(index = 10)]
    MemoryCount,
    /// The memory has no declared maximum or one above `max_memory_pages`.
    #[codec(index = 11)]
    MemoryMaximum,
    /// More globals than `max_globals`.
    #[codec(index = 12)]
    TooManyGlobals,
    /// An export other than the `call`/`deploy` functions and the `memory`.
    #[codec(index = 13)]
    ExportNotAllowed,
    /// No `call` function export.
    #[codec(index = 14)]
    MissingCallExport,
    /// The module declares a start function.
    #[codec(index = 15)]
    StartFunction,
    /// An element segment for a table other than 0, or of non-function references.
    #[codec(index = 16)]
    ElementSegment,
    /// More data segments than `max_data_segments`.
    #[codec(index = 17)]
    TooManyDataSegments,
    /// A function with more locals (parameters included) than `max_locals`.
    #[codec(index = 18)]
    TooManyLocals,
    /// A `br_table` with more targets than `max_br_table_targets`.
    #[codec(index = 19)]
    BrTableTargets,
    /// The instrumented module failed to re-validate (a bug in the injector).
    #[codec(index = 20)]
    Instrumentation,
}

impl Rule {
    /// The rule's name, as used in `specs/validation.md` and CLI output.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::CodeSize => "code-size",
            Self::FloatingPoint => "floating-point",
            Self::UnsupportedFeature => "unsupported-feature",
            Self::MultiValue => "multi-value",
            Self::TooManyParams => "too-many-params",
            Self::UnknownImport => "unknown-import",
            Self::ImportSignature => "import-signature",
            Self::TooManyFunctions => "too-many-functions",
            Self::Table => "table",
            Self::MemoryCount => "memory-count",
            Self::MemoryMaximum => "memory-maximum",
            Self::TooManyGlobals => "too-many-globals",
            Self::ExportNotAllowed => "export-not-allowed",
            Self::MissingCallExport => "missing-call-export",
            Self::StartFunction => "start-function",
            Self::ElementSegment => "element-segment",
            Self::TooManyDataSegments => "too-many-data-segments",
            Self::TooManyLocals => "too-many-locals",
            Self::BrTableTargets => "br-table-targets",
            Self::Instrumentation => "instrumentation",
        }
    }

    /// What a contract author can do about it.
    pub const fn hint(self) -> &'static str {
        match self {
            Self::Malformed => "the file is not a valid Wasm module; check the build output",
            Self::CodeSize => "shrink the module (opt-level=\"z\", lto, strip, wasm-opt -Oz)",
            Self::FloatingPoint => {
                "floats are not deterministic enough for consensus; use integer or fixed-point arithmetic"
            }
            Self::UnsupportedFeature => {
                "build for the MVP subset (e.g. -C target-cpu=mvp, plus sign-ext and bulk-memory)"
            }
            Self::MultiValue => "return at most one value (build without the multivalue ABI)",
            Self::TooManyParams => "pass large argument lists through memory",
            Self::UnknownImport => {
                "import only functions of the `cairn_v1` host API (see specs/host-api.md)"
            }
            Self::ImportSignature => {
                "use the signature from specs/host-api.md (the SDK's bindings have it)"
            }
            Self::TooManyFunctions => "reduce the number of functions (lto, opt-level)",
            Self::Table => "use at most one funcref table within the size limit",
            Self::MemoryCount => "define exactly one memory in the module (do not import it)",
            Self::MemoryMaximum => {
                "declare a memory maximum within the limit (e.g. -C link-arg=--max-memory=1048576)"
            }
            Self::TooManyGlobals => "reduce the number of globals",
            Self::ExportNotAllowed => "export only `call`, optionally `deploy`, and `memory`",
            Self::MissingCallExport => {
                "export a function named `call` taking no parameters and returning nothing"
            }
            Self::StartFunction => "remove the start function; run set-up code from `deploy`",
            Self::ElementSegment => "use element segments of functions for the one table",
            Self::TooManyDataSegments => "merge data segments (wasm-opt does this)",
            Self::TooManyLocals => "split the function or reduce its locals",
            Self::BrTableTargets => "split the jump table",
            Self::Instrumentation => "this is a bug in Cairn; please report the module",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Details of a rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule broken.
    pub rule: Rule,
    /// What was found.
    pub message: String,
    /// Byte offset in the module, where known.
    pub offset: Option<usize>,
    /// Function index (in the whole function index space, imports first), where known.
    pub function: Option<u32>,
    /// The function's name from the name section, if any.
    pub function_name: Option<String>,
}

/// A module was rejected by [`crate::prepare::prepare_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PrepareError(Box<Violation>);

impl PrepareError {
    pub(crate) fn new(rule: Rule, message: impl Into<String>) -> Self {
        Self(Box::new(Violation {
            rule,
            message: message.into(),
            offset: None,
            function: None,
            function_name: None,
        }))
    }

    pub(crate) fn at(mut self, offset: usize) -> Self {
        self.0.offset = Some(offset);
        self
    }

    pub(crate) fn in_function(mut self, index: u32) -> Self {
        self.0.function = Some(index);
        self
    }

    pub(crate) fn malformed(error: &wasmparser::BinaryReaderError) -> Self {
        Self::new(Rule::Malformed, error.message().to_owned())
            .at(usize::try_from(error.offset()).unwrap_or(usize::MAX))
    }

    pub(crate) fn set_function_name(&mut self, name: String) {
        self.0.function_name = Some(name);
    }

    /// The rule broken.
    pub fn rule(&self) -> Rule {
        self.0.rule
    }

    /// The hint for the rule.
    pub fn hint(&self) -> &'static str {
        self.0.rule.hint()
    }

    /// All details.
    pub fn violation(&self) -> &Violation {
        &self.0
    }
}

impl fmt::Display for PrepareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.0;
        write!(f, "rule `{}` violated: {}", v.rule, v.message)?;
        if let Some(index) = v.function {
            write!(f, " in function {index}")?;
            if let Some(name) = &v.function_name {
                write!(f, " `{name}`")?;
            }
        }
        if let Some(offset) = v.offset {
            write!(f, " at byte offset {offset:#x}")?;
        }
        write!(f, " (hint: {})", v.rule.hint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer() {
        assert_eq!(
            std::mem::size_of::<PrepareError>(),
            std::mem::size_of::<usize>()
        );
    }
}
