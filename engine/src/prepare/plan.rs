//! What the validating pass records about one function body.
//!
//! [`FunctionPlan`] keeps, per instruction, its byte range in the original
//! module, its cost, what the injector must do around it ([`OpKind`]) and
//! whether the operand stack of the enclosing control frame is empty before
//! it (injected code placed there costs wasmi no register spill). Branch
//! targets are resolved to the instruction that opened their frame, so the
//! injector never counts depths again.

use super::meter::empty_with_room;

/// A branch target: the frame opened by the instruction at this index, or
/// the function body itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The `block`, `loop` or `if` at this index in [`FunctionPlan::ops`].
    Frame(u32),
    /// The function body (a branch to it returns).
    Function,
}

/// What the injector does around one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// Copied unchanged.
    Plain,
    /// `local.get`/`local.set`/`local.tee` (opcode byte, index): copied, the
    /// index renumbered when the injector adds parameters.
    Local(u8, u32),
    /// `block`.
    Block,
    /// `loop`.
    Loop,
    /// A counted `loop` (`specs/gas.md`, "Counted loops"): its body runs
    /// exactly `trips` times, each costing `cost`.
    CountedLoop { trips: u32, cost: u32 },
    /// `if`; `true` if it has an `else`.
    If(bool),
    /// `else`.
    Else,
    /// The `end` of a `block`, `loop` or `if`.
    End,
    /// The body's final `end`.
    FinalEnd,
    /// `br`.
    Br(Target),
    /// `br_if`.
    BrIf(Target),
    /// `br_table`: its targets are `table_targets[first..first + len]`, the
    /// default last.
    BrTable { first: u32, len: u32 },
    /// `return`, at this block depth (0 = the body itself).
    Return(u32),
    /// `unreachable`.
    Unreachable,
    /// `call` of a defined function (index in the whole function space).
    Call(u32),
    /// `call` of an imported (host) function.
    HostCall,
    /// `call_indirect`.
    CallIndirect,
    /// `memory.grow`.
    MemoryGrow,
    /// `memory.copy`, `memory.fill`, `memory.init`.
    BulkMemory,
}

/// The shape of an instruction, as far as the counted-loop rule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    I32Const(i32),
    LocalGet(u32),
    LocalSet(u32),
    LocalTee(u32),
    I32Add,
    I32Sub,
    I32LtU,
    I32LtS,
    I32Ne,
    I32Eq,
    I32Eqz,
    /// `br_if 0`.
    BrIfInnermost,
    /// `loop` with an empty block type.
    LoopEmpty,
    Other,
}

impl Shape {
    #[inline(always)]
    pub(crate) fn of(op: &wasmparser::Operator<'_>) -> Self {
        use wasmparser::Operator as O;
        match *op {
            O::I32Const { value } => Self::I32Const(value),
            O::LocalGet { local_index } => Self::LocalGet(local_index),
            O::LocalSet { local_index } => Self::LocalSet(local_index),
            O::LocalTee { local_index } => Self::LocalTee(local_index),
            O::I32Add => Self::I32Add,
            O::I32Sub => Self::I32Sub,
            O::I32LtU => Self::I32LtU,
            O::I32LtS => Self::I32LtS,
            O::I32Ne => Self::I32Ne,
            O::I32Eq => Self::I32Eq,
            O::I32Eqz => Self::I32Eqz,
            O::BrIf { relative_depth: 0 } => Self::BrIfInnermost,
            O::Loop {
                blockty: wasmparser::BlockType::Empty,
            } => Self::LoopEmpty,
            _ => Self::Other,
        }
    }
}

/// Most iterations a counted loop may have.
pub(crate) const MAX_COUNTED_TRIPS: i64 = 65_536;

/// The loop test of a counted loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    LtU,
    LtS,
    Ne,
}

/// The number of times the body of a counted loop runs: `x` starts at
/// `start`, each iteration adds `step` (`add`) or subtracts it, and the loop
/// goes on while `test(x, bound)` holds. Computed on integers; `None` unless
/// it stops within [`MAX_COUNTED_TRIPS`] iterations without `x` leaving the
/// range of its interpretation (unsigned for `lt_u`, signed otherwise), where
/// the integer and the Wasm arithmetic agree. Normative: `specs/gas.md`.
fn counted_trips(start: i32, step: i32, add: bool, test: Test, bound: i32) -> Option<u32> {
    if step <= 0 {
        return None;
    }
    let unsigned = |v: i32| i64::from(v.cast_unsigned());
    let (start, bound, range) = match test {
        Test::LtU => (unsigned(start), unsigned(bound), 0..=i64::from(u32::MAX)),
        Test::LtS | Test::Ne => (
            i64::from(start),
            i64::from(bound),
            i64::from(i32::MIN)..=i64::from(i32::MAX),
        ),
    };
    let step = i64::from(step);
    let trips = match (test, add) {
        (Test::LtU | Test::LtS, true) => {
            if start + step >= bound {
                1
            } else {
                (bound - start + step - 1) / step
            }
        }
        (Test::LtU | Test::LtS, false) => {
            if start - step >= bound {
                1
            } else {
                return None;
            }
        }
        (Test::Ne, true) if bound > start && (bound - start) % step == 0 => (bound - start) / step,
        (Test::Ne, false) if start > bound && (start - bound) % step == 0 => (start - bound) / step,
        (Test::Ne, _) => return None,
    };
    let last = if add {
        start + trips * step
    } else {
        start - trips * step
    };
    if trips > MAX_COUNTED_TRIPS || !range.contains(&last) {
        return None;
    }
    u32::try_from(trips).ok()
}

/// Whether the loop test holds for `x`, read as the test reads it.
fn test_holds(test: Test, x: i32, bound: i32) -> bool {
    match test {
        Test::LtU => x.cast_unsigned() < bound.cast_unsigned(),
        Test::LtS => x < bound,
        Test::Ne => x != bound,
    }
}

/// One recorded instruction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlannedOp {
    /// Offset of its first byte in the module; it ends where the next
    /// instruction starts (every instruction but the final `end` has one).
    pub(crate) start: u32,
    pub(crate) cost: u32,
    pub(crate) kind: OpKind,
    /// Injected code before it makes wasmi spill no register: the operand
    /// stack of the enclosing control frame is empty, or it follows a call.
    pub(crate) at_rest: bool,
}

/// The buffers a [`FunctionPlan`] needs only while it records, passed on
/// from one function to the next.
#[derive(Debug, Default)]
pub(crate) struct RecordingBuffers {
    shapes: Vec<Shape>,
    open: Vec<(u32, u32)>,
}

/// The instructions of one function and what the injector needs to know
/// about them, recorded while the function is validated.
#[derive(Debug, Default)]
pub(crate) struct FunctionPlan {
    pub(crate) ops: Vec<PlannedOp>,
    pub(crate) table_targets: Vec<Target>,
    /// Contains a `loop`.
    pub(crate) has_loop: bool,
    /// Calls a host function.
    pub(crate) has_host_call: bool,
    /// Contains a `call_indirect`.
    pub(crate) has_call_indirect: bool,
    /// Contains `memory.grow` or a bulk memory instruction.
    pub(crate) has_dynamic: bool,
    /// A `br_if` or `br_table` leaves the function (not only `return`, `br`
    /// and falling off the end).
    pub(crate) exits_by_branch: bool,
    /// Defined functions called directly, in order of appearance (repeats included).
    pub(crate) callees: Vec<u32>,
    /// Number of parameters (locals below it are parameters).
    pub(crate) params: u32,
    /// While recording: (index of the opening instruction, operand stack
    /// height at the frame's start) of every open frame.
    open: Vec<(u32, u32)>,
    /// While recording: the operand stack height at the start of the
    /// innermost open frame (0 for the body).
    base: u32,
    /// While recording: the shape of every instruction.
    shapes: Vec<Shape>,
}

impl FunctionPlan {
    /// An empty plan with room for `ops` instructions, recording into
    /// `buffers` (left behind by [`Self::finish`] of an earlier plan), and
    /// keeping the buffers of `spare` (an earlier module's plan) if given.
    pub(crate) fn reusing(spare: Option<Self>, ops: usize, buffers: RecordingBuffers) -> Self {
        let RecordingBuffers {
            mut shapes,
            mut open,
        } = buffers;
        let Self {
            ops: mut planned,
            mut callees,
            mut table_targets,
            ..
        } = spare.unwrap_or_default();
        empty_with_room(&mut shapes, ops);
        empty_with_room(&mut planned, ops);
        // About one call in eight instructions.
        empty_with_room(&mut callees, ops / 8);
        table_targets.clear();
        open.clear();
        Self {
            ops: planned,
            callees,
            table_targets,
            shapes,
            open,
            ..Self::default()
        }
    }

    /// Current block depth (0 = the function body itself).
    pub(crate) fn depth(&self) -> u32 {
        u32::try_from(self.open.len()).unwrap_or(u32::MAX)
    }

    /// Whether the operand stack of the innermost frame is empty at `height`
    /// (the height of the whole operand stack).
    pub(crate) fn at_rest(&self, height: u32) -> bool {
        height == self.base
    }

    /// The target of a branch with relative depth `depth`.
    pub(crate) fn target(&self, depth: u32) -> Target {
        let open = self.open.len();
        match usize::try_from(depth)
            .ok()
            .and_then(|d| open.checked_sub(d + 1))
        {
            Some(i) => Target::Frame(self.open[i].0),
            None => Target::Function,
        }
    }

    /// Index the next recorded instruction will have.
    pub(crate) fn next_index(&self) -> u32 {
        u32::try_from(self.ops.len()).unwrap_or(u32::MAX)
    }

    /// Opens a frame at the instruction just recorded; `base` is the operand
    /// stack height inside it before its first instruction.
    pub(crate) fn open_frame_at(&mut self, base: u32) {
        let index = self.next_index().saturating_sub(1);
        self.open.push((index, base));
        self.base = base;
    }

    /// Marks the innermost open `if` as having an `else`.
    pub(crate) fn mark_else(&mut self) {
        if let Some(&(index, _)) = self.open.last()
            && let Some(op) = self.ops.get_mut(index as usize)
            && let OpKind::If(has_else) = &mut op.kind
        {
            *has_else = true;
        }
    }

    /// Closes the innermost frame; returns false for the body's final `end`.
    /// A `loop` that turns out to be counted is marked so.
    pub(crate) fn close_frame(&mut self) -> bool {
        let Some((opener, _)) = self.open.pop() else {
            return false;
        };
        self.base = self.open.last().map_or(0, |&(_, base)| base);
        let opener = opener as usize;
        if self
            .ops
            .get(opener)
            .is_some_and(|op| op.kind == OpKind::Loop)
            && let Some((trips, cost)) = self.counted(opener)
        {
            self.ops[opener].kind = OpKind::CountedLoop { trips, cost };
        }
        true
    }

    /// Whether the `loop` at `opener`, whose body is every instruction
    /// recorded after it, is counted (`specs/gas.md`, "Counted loops"); if
    /// so its trip count and the cost of one iteration.
    fn counted(&self, opener: usize) -> Option<(u32, u32)> {
        use Shape as S;
        if self.shapes.get(opener) != Some(&S::LoopEmpty) {
            return None;
        }
        let body = &self.shapes[opener + 1..];
        let ops = &self.ops[opener + 1..];
        let step_of = |s: Shape| match s {
            S::I32Add => Some(true),
            S::I32Sub => Some(false),
            _ => None,
        };
        let test_of = |s: Shape| match s {
            S::I32LtU => Some(Test::LtU),
            S::I32LtS => Some(Test::LtS),
            S::I32Ne => Some(Test::Ne),
            _ => None,
        };
        // (counter, step, add, test, bound, instructions around the
        // straight-line part: before it, after it, test at the top)
        let shape = match *body {
            // Test at the bottom, longest forms first.
            [
                ..,
                S::LocalGet(a),
                S::I32Const(step),
                op,
                S::LocalSet(b),
                S::LocalGet(c),
                S::I32Const(bound),
                cmp,
                S::BrIfInnermost,
            ] if a == b && b == c => {
                Some((a, step, step_of(op)?, test_of(cmp)?, bound, 0, 8, false))
            }
            [
                ..,
                S::LocalGet(a),
                S::I32Const(step),
                op,
                S::LocalTee(b),
                S::I32Const(bound),
                cmp,
                S::BrIfInnermost,
            ] if a == b => Some((a, step, step_of(op)?, test_of(cmp)?, bound, 0, 7, false)),
            [
                ..,
                S::LocalGet(a),
                S::I32Const(step),
                op,
                S::LocalSet(b),
                S::LocalGet(c),
                S::BrIfInnermost,
            ] if a == b && b == c => Some((a, step, step_of(op)?, Test::Ne, 0, 0, 6, false)),
            [
                ..,
                S::LocalGet(a),
                S::I32Const(step),
                op,
                S::LocalTee(b),
                S::BrIfInnermost,
            ] if a == b => Some((a, step, step_of(op)?, Test::Ne, 0, 0, 5, false)),
            _ => None,
        };
        let shape = shape.or_else(|| {
            // Test at the top: the body is one `if` that steps and branches back.
            let (x, bound, test, head) = match *body {
                [S::LocalGet(x), S::I32Const(bound), S::I32Eq, S::I32Eqz, ..] => {
                    (x, bound, Test::Ne, 5)
                }
                [S::LocalGet(x), S::I32Const(bound), cmp, ..] => (x, bound, test_of(cmp)?, 4),
                _ => return None,
            };
            let n = ops.len();
            if n < head + 6 {
                // Too short for the test, the `if`, the step and `br 1; end`.
                return None;
            }
            let tail_ok = ops[head - 1].kind == OpKind::If(false)
                && ops[n - 2].kind == OpKind::Br(Target::Frame(u32::try_from(opener).ok()?))
                && ops[n - 1].kind == OpKind::End;
            let [S::LocalGet(a), S::I32Const(step), op, S::LocalSet(b), _, _] = body[n - 6..]
            else {
                return None;
            };
            (tail_ok && a == x && b == x).then_some((
                x,
                step,
                step_of(op)?,
                test,
                bound,
                head,
                6,
                true,
            ))
        });
        let (x, step, add, test, bound, head, tail, test_first) = shape?;
        // Between the test and the step: straight-line code that leaves the
        // counter alone.
        let straight = ops[head..ops.len() - tail].iter().all(|op| match op.kind {
            OpKind::Plain => true,
            OpKind::Local(opcode, index) => index != x || opcode == 0x20,
            _ => false,
        });
        if !straight {
            return None;
        }
        // The counter's value on entry: set right before the loop, or a
        // declared local nothing has written yet, in a loop that runs once.
        let start = match opener
            .checked_sub(2)
            .map(|i| (self.shapes[i], self.shapes[i + 1]))
        {
            Some((S::I32Const(start), S::LocalSet(set))) if set == x => start,
            _ => {
                let written = self.ops[..opener]
                    .iter()
                    .any(|op| matches!(op.kind, OpKind::Local(0x21 | 0x22, index) if index == x));
                let in_loop = self.open.iter().any(|&(at, _)| {
                    matches!(
                        self.ops[at as usize].kind,
                        OpKind::Loop | OpKind::CountedLoop { .. }
                    )
                });
                if x < self.params || written || in_loop {
                    return None;
                }
                0
            }
        };
        let trips = if test_first && !test_holds(test, start, bound) {
            0
        } else {
            counted_trips(start, step, add, test, bound)?
        };
        let cost: u64 = ops.iter().map(|op| u64::from(op.cost)).sum();
        Some((trips, u32::try_from(cost).ok()?))
    }

    /// Records the next instruction.
    #[inline(always)]
    pub(crate) fn push(
        &mut self,
        start: usize,
        cost: u32,
        kind: OpKind,
        shape: Shape,
        at_rest: bool,
    ) {
        self.shapes.push(shape);
        match kind {
            OpKind::Loop => self.has_loop = true,
            OpKind::HostCall => self.has_host_call = true,
            OpKind::CallIndirect => self.has_call_indirect = true,
            OpKind::MemoryGrow | OpKind::BulkMemory => self.has_dynamic = true,
            OpKind::BrIf(Target::Function) => self.exits_by_branch = true,
            OpKind::Call(callee) => self.callees.push(callee),
            _ => {}
        }
        self.ops.push(PlannedOp {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            cost,
            kind,
            at_rest,
        });
    }

    /// Records the targets of a `br_table` (default last) and returns its kind.
    pub(crate) fn br_table(&mut self, depths: impl Iterator<Item = u32>) -> OpKind {
        let first = u32::try_from(self.table_targets.len()).unwrap_or(u32::MAX);
        for depth in depths {
            let target = self.target(depth);
            if target == Target::Function {
                self.exits_by_branch = true;
            }
            self.table_targets.push(target);
        }
        let len = u32::try_from(self.table_targets.len()).unwrap_or(u32::MAX) - first;
        OpKind::BrTable { first, len }
    }

    /// The targets of a `br_table` recorded by [`Self::br_table`].
    pub(crate) fn targets(&self, first: u32, len: u32) -> &[Target] {
        let first = first as usize;
        &self.table_targets[first..first + len as usize]
    }

    /// Hands back what only recording needed, for the next function.
    pub(crate) fn finish(&mut self) -> RecordingBuffers {
        RecordingBuffers {
            shapes: std::mem::take(&mut self.shapes),
            open: std::mem::take(&mut self.open),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed forms agree with running the loop in Wasm arithmetic.
    fn simulate(start: i32, step: i32, add: bool, test: Test, bound: i32) -> Option<u32> {
        let mut x = start;
        for trips in 1..=MAX_COUNTED_TRIPS + 1 {
            x = if add {
                x.wrapping_add(step)
            } else {
                x.wrapping_sub(step)
            };
            if !test_holds(test, x, bound) {
                return u32::try_from(trips).ok();
            }
        }
        None
    }

    #[test]
    fn counted_trips_match_wasm_arithmetic() {
        let interesting = [
            0,
            1,
            2,
            3,
            7,
            8,
            16,
            24,
            40,
            1_000,
            65_535,
            65_536,
            65_537,
            i32::MAX,
            i32::MAX - 1,
            i32::MIN,
            i32::MIN + 1,
            -1,
            -2,
            -8,
        ];
        let mut checked = 0;
        for &start in &interesting {
            for &step in &[1, 2, 3, 4, 8, 40, 65_536, i32::MAX, 0, -1] {
                for &bound in &interesting {
                    for add in [true, false] {
                        for test in [Test::LtU, Test::LtS, Test::Ne] {
                            if let Some(trips) = counted_trips(start, step, add, test, bound) {
                                assert_eq!(
                                    Some(trips),
                                    simulate(start, step, add, test, bound),
                                    "{start} {step} {add} {test:?} {bound}"
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 500, "{checked}");
    }
}
