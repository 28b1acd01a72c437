//! Wasm backtraces for developer tools, through a shadow call stack.
//!
//! wasmi records no backtrace. For a traced run
//! ([`super::Executor::execute_traced`]) the code is prepared by
//! [`crate::prepare::prepare_code_for_tracing`] (a failed gas check publishes
//! the exact counter, which deployed code does not) and rewritten once more:
//! every `call` to a defined function becomes
//! `i32.const callee; call $enter; call callee; call $leave` and every
//! `call_indirect` becomes `call $enter_indirect; call_indirect; call $leave`,
//! where the hooks are three extra imports (module `cairn_trace`) that push and
//! pop the frame's shadow stack. On a trap, the stack unwinds without running
//! `$leave`, so the shadow stack is the Wasm call stack at the trap.
//!
//! In a profiled run the `enter` and `leave` hooks also read the counter
//! (module `profile`).
//!
//! The hooks touch neither `cairn_gas_left` nor the injected stack-height
//! counter, so a traced run halts at the same point with the same gas as the
//! consensus run; only the consensus path (which never uses this) stays free
//! of the overhead. Function indices in the shadow stack are the prepared
//! module's, before the hook imports were added, so they match the name section.

use std::collections::BTreeMap;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{ImportSection, Instruction, SectionId, ValType};
use wasmi::{Caller, Linker};
use wasmparser::{ExternalKind, Operator, Payload, TypeRef};

use super::state::{FrameState, ShadowStackMap, UNKNOWN_FUNCTION, gas_left};

/// Import module of the shadow-stack hooks (not a host API module: validation
/// never lets a contract import it).
pub(crate) const TRACE_MODULE: &str = "cairn_trace";
const HOOK_COUNT: u32 = 3;

/// Adds the `cairn_trace` hooks to a linker.
pub(crate) fn define_shadow_stack_hooks(linker: &mut Linker<FrameState>) {
    linker
        .func_wrap(
            TRACE_MODULE,
            "enter",
            |mut caller: Caller<'_, FrameState>, index: i32| {
                profile_hook(&mut caller);
                caller.data_mut().shadow_stack.push(index.cast_unsigned());
            },
        )
        .and_then(|linker| {
            linker.func_wrap(
                TRACE_MODULE,
                "leave",
                |mut caller: Caller<'_, FrameState>| {
                    profile_hook(&mut caller);
                    caller.data_mut().shadow_stack.pop();
                },
            )
        })
        .and_then(|linker| {
            linker.func_wrap(
                TRACE_MODULE,
                "enter_indirect",
                |mut caller: Caller<'_, FrameState>, slot: i32| {
                    profile_hook(&mut caller);
                    let state = caller.data_mut();
                    let index = state
                        .shadow_map
                        .as_ref()
                        .and_then(|map| map.table.get(&slot.cast_unsigned()).copied())
                        .unwrap_or(UNKNOWN_FUNCTION);
                    state.shadow_stack.push(index);
                    slot
                },
            )
        })
        .expect("shadow-stack hook names are unique");
}

/// In a profiled run, attributes the gas since the last hook to the
/// function on top of the shadow stack (module `profile`): code prepared for
/// profiling keeps `cairn_gas_left` exact at every call edge.
fn profile_hook(caller: &mut Caller<'_, FrameState>) {
    if caller.data().profile.is_none() {
        return;
    }
    let now = gas_left(caller);
    let state = caller.data_mut();
    if let Some(profile) = state.profile.as_mut() {
        profile.at_hook(&state.shadow_stack, now);
    }
}

struct ShadowStackRewriter {
    function_imports: u32,
    type_count: u32,
    imports_emitted: bool,
    /// Whether the module has an import section the hooks are appended to;
    /// otherwise they get a section of their own after the types.
    has_import_section: bool,
    /// A defined function whose calls get no hooks.
    untraced: Option<u32>,
}

impl ShadowStackRewriter {
    fn enter(&self) -> u32 {
        self.function_imports
    }
    fn leave(&self) -> u32 {
        self.function_imports + 1
    }
    fn enter_indirect(&self) -> u32 {
        self.function_imports + 2
    }

    fn push_hook_imports(&mut self, imports: &mut ImportSection) {
        let types = self.type_count;
        imports.import(
            TRACE_MODULE,
            "enter",
            wasm_encoder::EntityType::Function(types),
        );
        imports.import(
            TRACE_MODULE,
            "leave",
            wasm_encoder::EntityType::Function(types + 1),
        );
        imports.import(
            TRACE_MODULE,
            "enter_indirect",
            wasm_encoder::EntityType::Function(types + 2),
        );
        self.imports_emitted = true;
    }
}

impl Reencode for ShadowStackRewriter {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(if func < self.function_imports {
            func
        } else {
            func + HOOK_COUNT
        })
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        types.ty().function([ValType::I32], []);
        types.ty().function([], []);
        types.ty().function([ValType::I32], [ValType::I32]);
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_import_section(self, imports, section)?;
        self.push_hook_imports(imports);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        after: Option<SectionId>,
        _before: Option<SectionId>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        // A module without an import section gets one right after its types.
        if !self.has_import_section && !self.imports_emitted && after == Some(SectionId::Type) {
            let mut imports = ImportSection::new();
            self.push_hook_imports(&mut imports);
            module.section(&imports);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let mut function = self.new_function_with_parsed_locals(&func)?;
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            match reader.read()? {
                Operator::Call { function_index }
                    if function_index >= self.function_imports
                        && Some(function_index) != self.untraced =>
                {
                    function.instruction(&Instruction::I32Const(function_index.cast_signed()));
                    function.instruction(&Instruction::Call(self.enter()));
                    function.instruction(&Instruction::Call(function_index + HOOK_COUNT));
                    function.instruction(&Instruction::Call(self.leave()));
                }
                operator @ Operator::CallIndirect { .. } => {
                    function.instruction(&Instruction::Call(self.enter_indirect()));
                    let instruction = self.instruction(operator)?;
                    function.instruction(&instruction);
                    function.instruction(&Instruction::Call(self.leave()));
                }
                operator => {
                    let instruction = self.instruction(operator)?;
                    function.instruction(&instruction);
                }
            }
        }
        code.function(&function);
        Ok(())
    }
}

/// Rewrites prepared code with the shadow-stack hooks and maps its exports
/// and table slots to function indices.
/// Calls of `untraced` (the out-of-gas function) get no hooks: a halt there
/// is the caller's.
pub(crate) fn instrument_shadow_stack(
    wasm: &[u8],
    untraced: Option<u32>,
) -> Result<(Vec<u8>, ShadowStackMap), String> {
    let mut map = ShadowStackMap::default();
    let mut function_imports = 0u32;
    let mut type_count = None;
    let mut has_import_section = false;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(reader) => type_count = Some(reader.count()),
            Payload::ImportSection(reader) => {
                has_import_section = true;
                for import in reader.into_imports() {
                    if matches!(import.map_err(|e| e.to_string())?.ty, TypeRef::Func(_)) {
                        function_imports += 1;
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    if export.kind == ExternalKind::Func {
                        map.exports.insert(export.name.to_owned(), export.index);
                    }
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    collect_table_slots(&element.map_err(|e| e.to_string())?, &mut map.table);
                }
            }
            _ => {}
        }
    }
    // Without a type section the module defines no functions: nothing to trace.
    let Some(type_count) = type_count else {
        return Ok((wasm.to_vec(), map));
    };
    let mut rewriter = ShadowStackRewriter {
        function_imports,
        type_count,
        imports_emitted: false,
        has_import_section,
        untraced,
    };
    let mut module = wasm_encoder::Module::new();
    rewriter
        .parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .map_err(|e| format!("{e:?}"))?;
    Ok((module.finish(), map))
}

fn collect_table_slots(element: &wasmparser::Element<'_>, table: &mut BTreeMap<u32, u32>) {
    let wasmparser::ElementKind::Active {
        table_index,
        offset_expr,
    } = &element.kind
    else {
        return;
    };
    if table_index.unwrap_or(0) != 0 {
        return;
    }
    let mut ops = offset_expr.get_operators_reader();
    let Ok(Operator::I32Const { value: offset }) = ops.read() else {
        return;
    };
    if let wasmparser::ElementItems::Functions(functions) = &element.items {
        for (i, function) in functions.clone().into_iter().enumerate() {
            let (Ok(function), Ok(i)) = (function, u32::try_from(i)) else {
                continue;
            };
            table.insert(offset.cast_unsigned().wrapping_add(i), function);
        }
    }
}
