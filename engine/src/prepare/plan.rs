//! What the validating pass records about one function body.
//!
//! [`FunctionPlan`] keeps, per instruction, its byte range in the original
//! module, its cost, what the injector must do around it ([`OpKind`]) and
//! whether the operand stack of the enclosing control frame is empty before
//! it (injected code placed there costs wasmi no register spill). Branch
//! targets are resolved to the instruction that opened their frame, so the
//! injector never counts depths again.

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

/// One recorded instruction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlannedOp {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) cost: u32,
    pub(crate) kind: OpKind,
    /// Injected code before it makes wasmi spill no register: the operand
    /// stack of the enclosing control frame is empty, or it follows a call.
    pub(crate) at_rest: bool,
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
    /// While recording: (index of the opening instruction, operand stack
    /// height at the frame's start) of every open frame.
    open: Vec<(u32, u32)>,
}

impl FunctionPlan {
    /// Current block depth (0 = the function body itself).
    pub(crate) fn depth(&self) -> u32 {
        u32::try_from(self.open.len()).unwrap_or(u32::MAX)
    }

    /// Whether the operand stack of the innermost frame is empty at `height`
    /// (the height of the whole operand stack).
    pub(crate) fn at_rest(&self, height: u32) -> bool {
        height == self.open.last().map_or(0, |&(_, base)| base)
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
    pub(crate) fn close_frame(&mut self) -> bool {
        self.open.pop().is_some()
    }

    /// Records the next instruction.
    pub(crate) fn push(
        &mut self,
        start: usize,
        end: usize,
        cost: u32,
        kind: OpKind,
        at_rest: bool,
    ) {
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
            end: u32::try_from(end).unwrap_or(u32::MAX),
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

    /// The function's total cost if it is straight-line code, else `None`.
    #[cfg(test)]
    pub(crate) fn straight_line_cost(&self) -> Option<u64> {
        let mut total = 0u64;
        for op in &self.ops {
            match op.kind {
                OpKind::Plain
                | OpKind::Local(..)
                | OpKind::Block
                | OpKind::End
                | OpKind::FinalEnd => {
                    total += u64::from(op.cost);
                }
                _ => return None,
            }
        }
        Some(total)
    }
}
