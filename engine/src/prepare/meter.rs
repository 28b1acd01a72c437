//! Gas and stack-height injection into one function body.
//!
//! The body is cut into metered segments as it is validated
//! ([`FunctionPlan::push`]); [`FunctionPlan::emit`] then writes the
//! instrumented body, copying every original instruction's bytes unchanged
//! except `return` (which becomes a branch to the wrapper block, so the
//! epilogue runs on every exit). The algorithm is normative: see
//! `specs/gas.md`.

use wasm_encoder::{BlockType, Function, Instruction, ValType};

/// Global indices of the injected globals.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InjectedGlobals {
    pub(crate) gas_left: u32,
    pub(crate) halt: u32,
    pub(crate) stack_height: u32,
    /// Not a global: the memory's declared maximum, for the `memory.grow` guard.
    pub(crate) memory_max_pages: u32,
}

/// What the injector must do around one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// Copied; the segment continues.
    Plain,
    /// Copied; a new segment starts after it (`if`, `else`, `end`, `br`,
    /// `br_if`, `br_table`, `unreachable`).
    EndsSegment,
    /// `loop`: a new segment starts after it and is checked.
    Loop,
    /// `return` at block depth `depth`: rewritten to `br depth`.
    Return { depth: u32 },
    /// `call` of an imported host function.
    HostCall,
    /// `call` of a defined function (`Some(index)`) or `call_indirect` (`None`).
    Call { callee: Option<u32> },
    /// `memory.grow`: charged per page before it runs.
    MemoryGrow,
    /// `memory.copy` / `memory.fill` / `memory.init`: charged per byte.
    BulkMemory,
    /// The body's final `end`.
    FinalEnd,
}

impl OpKind {
    fn ends_segment(self) -> bool {
        !matches!(self, Self::Plain | Self::MemoryGrow | Self::BulkMemory)
    }
}

#[derive(Debug, Clone, Copy)]
struct PlannedOp {
    start: usize,
    end: usize,
    kind: OpKind,
    cost: u32,
}

/// The instructions of one function with their kinds and costs, recorded
/// while it is validated; segments are computed when it is emitted, once
/// every function's plan (and so every static function) is known.
#[derive(Debug, Default)]
pub(crate) struct FunctionPlan {
    ops: Vec<PlannedOp>,
    depth: u32,
}

impl FunctionPlan {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The function's total cost if it is straight-line code (no branch,
    /// call, loop, `unreachable` or dynamically charged instruction before
    /// its final `end`), else `None`. See "Static functions" in `specs/gas.md`.
    pub(crate) fn straight_line_cost(&self) -> Option<u64> {
        let mut total = 0u64;
        for op in &self.ops {
            match op.kind {
                OpKind::Plain | OpKind::FinalEnd => total += u64::from(op.cost),
                _ => return None,
            }
        }
        Some(total)
    }

    /// Current block depth (0 = the function body itself).
    pub(crate) fn depth(&self) -> u32 {
        self.depth
    }

    /// Records the next instruction: its byte range in the module, its kind
    /// and its static cost.
    pub(crate) fn push(&mut self, start: usize, end: usize, kind: OpKind, cost: u32) {
        self.ops.push(PlannedOp {
            start,
            end,
            kind,
            cost,
        });
    }

    /// The defined functions this one calls: `Some(index)` for `call`,
    /// `None` for `call_indirect` (any function in a table).
    pub(crate) fn callees(&self) -> impl Iterator<Item = Option<u32>> + '_ {
        self.ops.iter().filter_map(|op| match op.kind {
            OpKind::Call { callee } => Some(callee),
            _ => None,
        })
    }

    /// Cuts the body into metered segments: per instruction, the cost of
    /// the segment starting there (0 if none does) and whether the counter
    /// is checked after charging it. A call to a static function is an
    /// ordinary instruction costing `call` plus the callee's total. Only a
    /// function on a call-graph cycle (`recursive`) checks at entry.
    fn segments(
        &self,
        static_cost: &dyn Fn(u32) -> Option<u64>,
        recursive: bool,
    ) -> Vec<(OpKind, u64, bool)> {
        let mut out: Vec<(OpKind, u64, bool)> = Vec::with_capacity(self.ops.len());
        let mut segment_start = 0;
        let mut segment_cost = 0u64;
        let mut check_next = recursive;
        for op in &self.ops {
            let (kind, cost) = match op.kind {
                OpKind::Call {
                    callee: Some(callee),
                } => match static_cost(callee) {
                    Some(total) => (OpKind::Plain, u64::from(op.cost) + total),
                    None => (op.kind, u64::from(op.cost)),
                },
                kind => (kind, u64::from(op.cost)),
            };
            out.push((kind, 0, std::mem::take(&mut check_next)));
            segment_cost += cost;
            if kind.ends_segment() {
                out[segment_start].1 = segment_cost;
                segment_start = out.len();
                segment_cost = 0;
                check_next = kind == OpKind::Loop;
            }
        }
        out
    }

    /// Tracks block nesting; call for `block`/`loop`/`if` (+1) and `end` (-1).
    pub(crate) fn enter_block(&mut self) {
        self.depth += 1;
    }

    /// See [`Self::enter_block`]. Returns false for the function's final `end`.
    pub(crate) fn leave_block(&mut self) -> bool {
        if self.depth == 0 {
            false
        } else {
            self.depth -= 1;
            true
        }
    }

    /// Writes the instrumented body.
    #[allow(
        clippy::too_many_arguments,
        reason = "plain data the caller already has at hand"
    )]
    pub(crate) fn emit(
        &self,
        code: &[u8],
        locals: &[(u32, ValType)],
        local_count: u32,
        result: Option<ValType>,
        frame_cost: u32,
        exported: bool,
        schedule: &super::GasSchedule,
        globals: InjectedGlobals,
        static_cost: &dyn Fn(u32) -> Option<u64>,
        recursive: bool,
    ) -> Function {
        let gas = local_count;
        let scratch = local_count + 1;
        let mut all_locals: Vec<(u32, ValType)> = locals.to_vec();
        all_locals.push((1, ValType::I64));
        all_locals.push((1, ValType::I32));
        let mut f = Function::new(all_locals);
        let out_of_gas = |f: &mut Function| {
            f.instruction(&Instruction::LocalGet(gas))
                .instruction(&Instruction::I64Const(0))
                .instruction(&Instruction::I64LtS)
                .instruction(&Instruction::If(BlockType::Empty))
                .instruction(&Instruction::LocalGet(gas))
                .instruction(&Instruction::GlobalSet(globals.gas_left))
                .instruction(&Instruction::I32Const(1))
                .instruction(&Instruction::GlobalSet(globals.halt))
                .instruction(&Instruction::Unreachable)
                .instruction(&Instruction::End);
        };
        let charge = |f: &mut Function, cost: u64, reload: bool| {
            if reload {
                f.instruction(&Instruction::GlobalGet(globals.gas_left));
            } else if cost > 0 {
                f.instruction(&Instruction::LocalGet(gas));
            }
            if cost > 0 {
                f.instruction(&Instruction::I64Const(as_i64(cost)))
                    .instruction(&Instruction::I64Sub);
            }
            if reload || cost > 0 {
                f.instruction(&Instruction::LocalSet(gas));
            }
        };
        let dynamic_charge = |f: &mut Function, per_unit: u64| {
            f.instruction(&Instruction::LocalTee(scratch))
                .instruction(&Instruction::LocalGet(gas))
                .instruction(&Instruction::LocalGet(scratch))
                .instruction(&Instruction::I64ExtendI32U)
                .instruction(&Instruction::I64Const(as_i64(per_unit)))
                .instruction(&Instruction::I64Mul)
                .instruction(&Instruction::I64Sub)
                .instruction(&Instruction::LocalSet(gas));
        };

        // Prologue: take the frame from the stack budget (only functions on
        // a call-graph cycle are counted).
        if recursive {
            f.instruction(&Instruction::GlobalGet(globals.stack_height))
                .instruction(&Instruction::I32Const(as_i32(frame_cost)))
                .instruction(&Instruction::I32Sub)
                .instruction(&Instruction::LocalTee(scratch))
                .instruction(&Instruction::GlobalSet(globals.stack_height))
                .instruction(&Instruction::LocalGet(scratch))
                .instruction(&Instruction::I32Const(0))
                .instruction(&Instruction::I32LtS)
                .instruction(&Instruction::If(BlockType::Empty))
                .instruction(&Instruction::I32Const(2))
                .instruction(&Instruction::GlobalSet(globals.halt))
                .instruction(&Instruction::Unreachable)
                .instruction(&Instruction::End);
        }
        f.instruction(&Instruction::Block(match result {
            Some(ty) => BlockType::Result(ty),
            None => BlockType::Empty,
        }));

        let mut reload = true;
        let mut raw_from: Option<usize> = None;
        let flush = |f: &mut Function, raw_from: &mut Option<usize>, upto: usize| {
            if let Some(start) = raw_from.take() {
                f.raw(code[start..upto].iter().copied());
            }
        };
        let segments = self.segments(static_cost, recursive);
        for (op, &(kind, segment_charge, check)) in self.ops.iter().zip(&segments) {
            let needs_code = reload || segment_charge > 0 || check || kind != OpKind::Plain;
            if !needs_code {
                raw_from.get_or_insert(op.start);
                continue;
            }
            flush(&mut f, &mut raw_from, op.start);
            charge(&mut f, segment_charge, reload);
            reload = false;
            if check {
                out_of_gas(&mut f);
            }
            match kind {
                OpKind::Plain | OpKind::EndsSegment | OpKind::Loop => {
                    raw_from = Some(op.start);
                }
                OpKind::Return { depth } => {
                    f.instruction(&Instruction::Br(depth));
                }
                OpKind::HostCall | OpKind::Call { .. } => {
                    f.instruction(&Instruction::LocalGet(gas))
                        .instruction(&Instruction::GlobalSet(globals.gas_left));
                    if kind == OpKind::HostCall {
                        out_of_gas(&mut f);
                    }
                    f.raw(code[op.start..op.end].iter().copied());
                    reload = true;
                }
                OpKind::MemoryGrow => {
                    dynamic_charge(&mut f, schedule.memory_grow_per_page);
                    out_of_gas(&mut f);
                    // A grow beyond the declared maximum yields -1 without
                    // running `memory.grow`: same result, and wasmi 2.0's
                    // failing-grow path consumes native stack per execution
                    // (a loop of failing grows overflows the node's stack).
                    f.instruction(&Instruction::LocalSet(scratch))
                        .instruction(&Instruction::LocalGet(scratch))
                        .instruction(&Instruction::I32Const(as_i32(globals.memory_max_pages)))
                        .instruction(&Instruction::MemorySize(0))
                        .instruction(&Instruction::I32Sub)
                        .instruction(&Instruction::I32GtU)
                        .instruction(&Instruction::If(BlockType::Result(ValType::I32)))
                        .instruction(&Instruction::I32Const(-1))
                        .instruction(&Instruction::Else)
                        .instruction(&Instruction::LocalGet(scratch))
                        .raw(code[op.start..op.end].iter().copied())
                        .instruction(&Instruction::End);
                }
                OpKind::BulkMemory => {
                    dynamic_charge(&mut f, schedule.bulk_memory_per_byte);
                    out_of_gas(&mut f);
                    raw_from = Some(op.start);
                }
                OpKind::FinalEnd => {
                    // Closes the wrapper block; the epilogue follows.
                    f.instruction(&Instruction::End);
                }
            }
        }
        debug_assert!(raw_from.is_none(), "the final end is never copied raw");

        // Epilogue: return the frame to the stack budget, publish the counter.
        if recursive {
            f.instruction(&Instruction::GlobalGet(globals.stack_height))
                .instruction(&Instruction::I32Const(as_i32(frame_cost)))
                .instruction(&Instruction::I32Add)
                .instruction(&Instruction::GlobalSet(globals.stack_height));
        }
        f.instruction(&Instruction::LocalGet(gas))
            .instruction(&Instruction::GlobalSet(globals.gas_left));
        if exported {
            out_of_gas(&mut f);
        }
        f.instruction(&Instruction::End);
        f
    }
}

/// Costs fit in i64: a segment is bounded by the code-size limit times the
/// largest class cost, and per-unit costs are schedule constants.
fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn as_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
