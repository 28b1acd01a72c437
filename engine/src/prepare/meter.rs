//! Gas and stack-height injection into one function body.
//!
//! `specs/gas.md` fixes only *what* is observed: the exact cost of the
//! instructions executed so far, at every check point and whenever a host
//! function runs. Where the injected code subtracts from the counter is
//! this module's choice, made to run as few injected instructions as
//! possible on wasmi:
//!
//! - The counter lives in a local. Internal functions receive it as an extra
//!   parameter and return it as an extra result ([`Convention::Absolute`]);
//!   functions that pass no check point start their own counter at zero and
//!   return what they charged ([`Convention::Relative`]), or, if they never
//!   need to charge, run unchanged ([`Convention::Static`]); only exported
//!   and table functions use the global ([`Convention::Boundary`]).
//! - Charges lag: at every instruction the injector knows, as a compile-time
//!   constant, the *pending* cost `p` (executed but not yet subtracted).
//!   Control-flow joins agree on one `p` per label; a charge is placed only
//!   where two paths meeting at a label disagree, on a loop's back edge, and
//!   before a call or host call that observes the counter. A check compares
//!   the counter against `p` instead of 0, so it sees the exact figure.
//! - A charge moves to the latest point of its straight-line piece where the
//!   operand stack of the enclosing frame is empty, so wasmi never spills a
//!   register for it (and a compare stays fused with its `br_if`).
//! - Unreachable code is dropped.
//!
//! [`analyze`] decides the charges and check thresholds; [`emit`] writes the
//! body. Both walk the instructions recorded by [`FunctionPlan`].

use super::plan::{FunctionPlan, OpKind, Target};

/// How a function receives and returns the gas counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Convention {
    /// Runs unchanged; every path costs the same, and its callers account
    /// for it.
    Static,
    /// Passes no check point (no loop, host call, `call_indirect`, dynamic
    /// charge or recursion, and calls only `Relative`/`Static` functions):
    /// counts its own charges in a local that starts at 0 and returns it as
    /// an extra `i64` result, which the caller adds to its counter.
    Relative,
    /// Neither exported nor in the table: takes the counter as an extra
    /// `i64` parameter (and, if recursive, the stack budget as an extra
    /// `i32`) and returns the counter as an extra `i64` result.
    Absolute,
    /// Exported or in the table: keeps its signature and exchanges the
    /// counter (and, if recursive, the stack budget) through the injected
    /// globals.
    Boundary,
}

/// What a caller needs to know about a defined function.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CalleeInfo {
    pub(crate) convention: Convention,
    /// Pending cost the function returns with (its callers take it over).
    pub(crate) exit: i64,
    /// Charged by its callers, with their own charge before the call,
    /// instead of on its entry (an `Absolute` function that is not
    /// recursive: nothing observes the counter between the call and its
    /// first instruction). 0 for every other function.
    pub(crate) entry: i64,
    /// On a call-graph cycle: keeps a stack budget of its own, which it may
    /// publish in the budget global, lowered, before calls.
    pub(crate) recursive: bool,
    /// Recursive, or may call a recursive function: needs the budget of the
    /// innermost recursive frame (as a parameter if it is `Absolute` and
    /// recursive, else in the budget global).
    pub(crate) reaches_recursion: bool,
    /// Stack units of one activation (if recursive).
    pub(crate) frame_cost: u32,
}

impl CalleeInfo {
    /// Takes the stack budget as a parameter.
    fn budget_parameter(self) -> bool {
        self.convention == Convention::Absolute && self.recursive
    }
}

/// Global indices of the injected globals.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InjectedGlobals {
    pub(crate) gas_left: u32,
    pub(crate) halt: u32,
    pub(crate) stack_budget: u32,
    /// Not a global: the memory's declared maximum, for the `memory.grow` guard.
    pub(crate) memory_max_pages: u32,
    /// Not a global: the index of the appended out-of-gas function
    /// (sets `cairn_halt` to 1 and traps; with `exact_halt`, first writes
    /// its `i64` parameter to `cairn_gas_left`), which every check calls
    /// when it fails.
    pub(crate) out_of_gas: u32,
    /// Not a global: a failed check passes the exact counter to the
    /// out-of-gas function, which publishes it, so diagnostics can report
    /// how far below zero it went (traced and profiled runs). Deployed
    /// code leaves it out: `cairn_gas_left` is unspecified after a halt
    /// (`specs/gas.md`, section 7), and each check is smaller without it.
    pub(crate) exact_halt: bool,
}

/// Per instruction: what [`analyze`] decided.
#[derive(Debug, Clone, Copy, Default)]
struct Note {
    /// Subtract this from the counter before the instruction.
    charge: i64,
    /// At an observing call: subtract this from the counter as it is passed
    /// to the callee or published for it (the local keeps the old value;
    /// the call gives the new counter back).
    call_charge: i64,
    /// After a `loop`: subtract this right after it, before its check.
    charge_after: i64,
    /// Before a counted loop: its whole cost, subtracted before its check.
    precharge: i64,
    /// Check after a `loop` or dynamic charge: out of gas if the counter is
    /// below this (the pending cost at that point).
    threshold: i64,
    /// Never executed; not emitted.
    dead: bool,
    /// A frame `end` nothing reaches: `unreachable` follows it so the rest
    /// of the enclosing frame can be dropped.
    unreachable_after: bool,
}

/// How [`analyze`] picks the pending cost agreed at each loop header.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LoopHeaders<'a> {
    /// The pending cost on entering the loop.
    Entry,
    /// That plus a constant: a probe for back edges that do not depend on it.
    Shifted(i64),
    /// Where given (by loop index), this value, charging the difference on
    /// entry; elsewhere the pending cost on entering.
    Given(&'a [Option<i64>]),
}

/// The decisions for one function. Its buffers are reused: [`analyze`]
/// overwrites what a previous call left.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    notes: Vec<Note>,
    /// Pending cost at every exit.
    pub(crate) exit: i64,
    /// Subtracted on entry, before the entry check.
    pub(crate) entry_charge: i64,
    /// Number of charges placed.
    pub(crate) charges: usize,
    /// Number of checks placed (after a `loop`, before a counted loop, at
    /// a dynamic charge).
    checks: usize,
    /// Per loop (by index of its `loop`), not counted: the pending cost
    /// its first back edge arrives with, before any charge.
    pub(crate) back_edges: Vec<(usize, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    Body,
    Block,
    Loop,
    If,
    Else,
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// Label id: the opening instruction's index, or `ops.len()` for the body.
    label: usize,
    /// Pending cost at the start of both arms of an `if`.
    if_pending: i64,
    /// The straight-line piece the frame opened in (its first point of rest
    /// and how it began).
    opened_in: (Option<usize>, Head),
    /// Nothing inside observes the counter or leaves the frame except
    /// through its end: the code after its end runs exactly once per run of
    /// the piece it opened in, so charges there may go to that piece.
    transparent: bool,
}

impl Frame {
    fn new(kind: FrameKind, label: usize, if_pending: i64, w: &Walker) -> Self {
        Self {
            kind,
            label,
            if_pending,
            opened_in: (w.rest, w.head),
            transparent: true,
        }
    }
}

/// A branch to `label` leaves every frame inside it.
fn leaving(frames: &mut [Frame], label: usize) {
    let inside = frames
        .iter()
        .rposition(|f| f.label == label)
        .map_or(0, |at| at + 1);
    for frame in &mut frames[inside..] {
        frame.transparent = false;
    }
}

/// A check point or an observing call: no enclosing frame is transparent.
fn observed(frames: &mut [Frame]) {
    for frame in frames {
        frame.transparent = false;
    }
}

/// Labels of one function: the pending cost agreed at each, and which ones
/// something branches to. Targets of one `br_table` share a value.
#[derive(Debug, Default)]
struct Labels {
    pending: Vec<Option<i64>>,
    /// Something live arrives at the label (its group may have a value
    /// from other labels even if it does not).
    arrived: Vec<bool>,
    /// A branch, not only falling through, arrives at the label.
    joined: Vec<bool>,
    parent: Vec<u32>,
    /// Per label: the cost of one iteration of a counted loop, paid before
    /// the loop started, so its back edge owes nothing for it.
    prepaid: Vec<i64>,
    /// Per label: shares its value with other labels.
    shared: Vec<bool>,
}

impl Labels {
    /// Clears the labels for `plan`, keeping the buffers.
    fn reset(&mut self, plan: &FunctionPlan) {
        let n = plan.ops.len() + 1;
        reset(&mut self.pending, n, None);
        reset(&mut self.arrived, n, false);
        reset(&mut self.joined, n, false);
        reset(&mut self.prepaid, n, 0);
        self.parent.clear();
        self.shared.clear();
        if !plan.table_targets.is_empty() {
            self.parent.extend(0..u32::try_from(n).unwrap_or(u32::MAX));
            let function = n - 1;
            for op in &plan.ops {
                if let OpKind::BrTable { first, len } = op.kind {
                    let targets = plan.targets(first, len);
                    let id = |t: &Target| match t {
                        Target::Frame(i) => *i as usize,
                        Target::Function => function,
                    };
                    if let Some(head) = targets.first() {
                        let head = self.find(id(head));
                        for t in &targets[1..] {
                            let other = self.find(id(t));
                            if other != head {
                                self.parent[other] = u32::try_from(head).unwrap_or(u32::MAX);
                            }
                        }
                    }
                }
            }
            // Only `br_table` targets are ever joined: a label shares its
            // value if it is not its group's root, or is the root of others.
            reset(&mut self.shared, n, false);
            for t in &plan.table_targets {
                let label = match t {
                    Target::Frame(i) => *i as usize,
                    Target::Function => function,
                };
                let root = self.find(label);
                if root != label {
                    self.shared[label] = true;
                    self.shared[root] = true;
                }
            }
        }
    }

    fn find(&mut self, mut label: usize) -> usize {
        if self.parent.is_empty() {
            return label;
        }
        while self.parent[label] as usize != label {
            let up = self.parent[label] as usize;
            self.parent[label] = self.parent[up];
            label = up;
        }
        label
    }

    fn get(&mut self, label: usize) -> Option<i64> {
        let root = self.find(label);
        self.pending[root]
    }
}

/// `v` as `len` copies of `value`, keeping its buffer if it is large
/// enough (see [`empty_with_room`]).
pub(crate) fn reset<T: Clone>(v: &mut Vec<T>, len: usize, value: T) {
    empty_with_room(v, len);
    v.resize(len, value);
}

/// Empties `v`, with room for at least `len` elements: a buffer too small
/// is replaced, not grown (growing would copy stale contents).
pub(crate) fn empty_with_room<T>(v: &mut Vec<T>, len: usize) {
    v.clear();
    if v.capacity() < len {
        *v = Vec::with_capacity(len);
    }
}

/// Buffers [`analyze`] reuses from one function to the next.
#[derive(Debug, Default)]
pub(crate) struct AnalysisBuffers {
    labels: Labels,
    loop_state: Vec<u8>,
    frames: Vec<Frame>,
}

/// Where the current straight-line piece began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    /// At the function's entry.
    Entry,
    /// Right after the `loop` at this index (and its check).
    Loop(usize),
    /// Right after the observing call at this index, which reads the
    /// counter back (a charge there is folded into that read).
    Call(usize),
    /// Anywhere else.
    Other,
}

/// The walk of [`analyze`]: pending cost, reachability and where a charge
/// can go.
struct Walker {
    notes: Vec<Note>,
    labels: Labels,
    pending: i64,
    /// The first instruction of the current straight-line piece before
    /// which the frame's operand stack is empty.
    rest: Option<usize>,
    head: Head,
    entry_charge: i64,
    charges: usize,
    checks: usize,
    /// Per label: 1 for a loop whose back edge is not recorded yet.
    loop_state: Vec<u8>,
    back_edges: Vec<(usize, i64)>,
}

impl Walker {
    /// Subtracts `amount` before instruction `at`, or earlier in its piece:
    /// at its first point of rest. A piece that starts at a check point
    /// (function entry, loop header) subtracts before the check, which then
    /// reads the counter just written (cheaper in wasmi).
    fn charge(&mut self, amount: i64, at: usize) {
        if amount == 0 {
            return;
        }
        let place = self.rest.unwrap_or(at);
        match self.head {
            Head::Entry if place == 0 => {
                if self.entry_charge == 0 {
                    self.charges += 1;
                }
                self.entry_charge += amount;
            }
            Head::Loop(header) if place == header + 1 => {
                let note = &mut self.notes[header];
                if note.charge_after == 0 {
                    self.charges += 1;
                }
                note.charge_after += amount;
                note.threshold -= amount;
            }
            _ => {
                if self.notes[place].charge == 0 {
                    self.charges += 1;
                }
                self.notes[place].charge += amount;
            }
        }
        self.pending -= amount;
    }

    /// Makes the counter exact for the observing call at `at`, which owes
    /// `amount`. In the call's own operand (`local.get; i64.const; i64.sub`
    /// in place of a separate `local.set`/`local.get`), unless the charge
    /// can go to the function's entry (callers may pay it) or right after
    /// the previous call (folded into reading its counter back).
    fn charge_at_call(&mut self, amount: i64, at: usize) {
        if amount == 0 {
            return;
        }
        let place = self.rest.unwrap_or(at);
        let folded = match self.head {
            Head::Entry => place == 0,
            Head::Call(call) => place == call + 1,
            Head::Loop(_) | Head::Other => false,
        };
        if folded {
            self.charge(amount, at);
            return;
        }
        if self.notes[at].call_charge == 0 {
            self.charges += 1;
        }
        self.notes[at].call_charge += amount;
        self.pending -= amount;
    }

    /// Control goes from before instruction `at` to `label`; `branch` if
    /// not by falling through the frame's `end`.
    fn arrive(&mut self, label: usize, at: usize, branch: bool) {
        self.pending -= self.labels.prepaid[label];
        if self.loop_state[label] == 1 {
            self.loop_state[label] = 2;
            self.back_edges.push((label, self.pending));
        }
        let root = self.labels.find(label);
        self.labels.arrived[label] = true;
        self.labels.joined[label] |= branch;
        match self.labels.pending[root] {
            None => self.labels.pending[root] = Some(self.pending),
            Some(agreed) => self.charge(self.pending - agreed, at),
        }
    }

    fn new_piece(&mut self, head: Head) {
        self.rest = None;
        self.head = head;
    }
}

/// Decides the charges and check thresholds of one function into `out`.
/// `exit`, if given, is the pending cost every exit must have; otherwise
/// the first exit decides. `callee` describes the function a `call` targets.
pub(crate) fn analyze(
    plan: &FunctionPlan,
    exit: Option<i64>,
    headers: LoopHeaders<'_>,
    callee: &dyn Fn(u32) -> CalleeInfo,
    buffers: &mut AnalysisBuffers,
    out: &mut Analysis,
) {
    let ops = &plan.ops;
    let n = ops.len();
    let function = n;
    let mut notes = std::mem::take(&mut out.notes);
    reset(&mut notes, n, Note::default());
    let mut labels = std::mem::take(&mut buffers.labels);
    labels.reset(plan);
    let mut loop_state = std::mem::take(&mut buffers.loop_state);
    reset(&mut loop_state, n + 1, 0);
    let mut back_edges = std::mem::take(&mut out.back_edges);
    back_edges.clear();
    let mut w = Walker {
        notes,
        labels,
        pending: 0,
        rest: None,
        head: Head::Entry,
        entry_charge: 0,
        charges: 0,
        checks: 0,
        loop_state,
        back_edges,
    };
    if let Some(exit) = exit {
        let root = w.labels.find(function);
        w.labels.pending[root] = Some(exit);
    }
    let label_of = |t: Target| match t {
        Target::Frame(i) => i as usize,
        Target::Function => function,
    };
    let mut frames = std::mem::take(&mut buffers.frames);
    frames.clear();
    frames.push(Frame::new(FrameKind::Body, function, 0, &w));
    let mut reachable = true;
    let mut dead_depth = 0u32;
    for (i, op) in ops.iter().enumerate() {
        let cost = i64::from(op.cost);
        if !reachable {
            let skip = match op.kind {
                OpKind::Block | OpKind::Loop | OpKind::CountedLoop { .. } | OpKind::If(_) => {
                    dead_depth += 1;
                    true
                }
                OpKind::End if dead_depth > 0 => {
                    dead_depth -= 1;
                    true
                }
                OpKind::Else => dead_depth > 0,
                OpKind::End | OpKind::FinalEnd => false,
                _ => true,
            };
            if skip {
                w.notes[i].dead = true;
                continue;
            }
        } else if op.at_rest && w.rest.is_none() {
            w.rest = Some(i);
        }
        match op.kind {
            OpKind::Plain | OpKind::Local(..) | OpKind::Unreachable => {
                w.pending += cost;
                if op.kind == OpKind::Unreachable {
                    reachable = false;
                }
            }
            OpKind::Block => {
                w.pending += cost;
                frames.push(Frame::new(FrameKind::Block, i, 0, &w));
            }
            OpKind::Loop => {
                w.pending += cost;
                let alone = w.labels.shared.get(i).is_none_or(|shared| !shared);
                if alone && w.labels.pending[i].is_none() {
                    w.labels.pending[i] = match headers {
                        LoopHeaders::Entry => None,
                        LoopHeaders::Shifted(by) => Some(w.pending + by),
                        LoopHeaders::Given(values) => values.get(i).copied().flatten(),
                    };
                }
                w.arrive(i, i, false);
                w.loop_state[i] = 1;
                w.checks += 1;
                w.notes[i].threshold = w.pending;
                observed(&mut frames);
                frames.push(Frame::new(FrameKind::Loop, i, 0, &w));
                w.new_piece(Head::Loop(i));
            }
            OpKind::CountedLoop { trips, cost: each } => {
                // One check before the loop for all its iterations, which are
                // paid for there; none at its header (specs/gas.md).
                w.pending += cost;
                w.arrive(i, i, false);
                let each = i64::from(each);
                w.labels.prepaid[i] = each;
                w.notes[i].precharge = i64::from(trips) * each;
                w.checks += 1;
                w.notes[i].threshold = w.pending;
                w.charges += 1;
                observed(&mut frames);
                frames.push(Frame::new(FrameKind::Loop, i, 0, &w));
                w.new_piece(Head::Other);
            }
            OpKind::If(has_else) => {
                w.pending += cost;
                if !has_else {
                    // The implicit `else` reaches the end with the pending
                    // cost of the `if`: the label takes it now.
                    w.arrive(i, i, true);
                }
                frames.push(Frame::new(FrameKind::If, i, w.pending, &w));
                w.new_piece(Head::Other);
            }
            OpKind::Else => {
                let frame = frames.last_mut().expect("validated: `else` inside an `if`");
                if reachable {
                    w.arrive(frame.label, i, true);
                }
                frame.kind = FrameKind::Else;
                w.pending = frame.if_pending;
                reachable = true;
                w.new_piece(Head::Other);
            }
            OpKind::End => {
                let frame = frames.pop().expect("validated: `end` closes a frame");
                if frame.kind == FrameKind::Loop {
                    // Only the loop's own body falls through its end.
                    if !reachable {
                        w.notes[i].unreachable_after = true;
                    }
                    continue;
                }
                if reachable {
                    w.arrive(frame.label, i, false);
                }
                match w.labels.get(frame.label) {
                    Some(agreed) if w.labels.arrived[frame.label] => {
                        w.pending = agreed;
                        reachable = true;
                    }
                    _ => {
                        reachable = false;
                        w.notes[i].unreachable_after = true;
                    }
                }
                if frame.transparent && frame.opened_in.0.is_some() {
                    // Charges from here on may go where the frame opened.
                    (w.rest, w.head) = frame.opened_in;
                } else if frame.kind != FrameKind::Block || w.labels.joined[frame.label] {
                    // A join; after a block nothing branches to, the piece goes on.
                    w.new_piece(Head::Other);
                }
            }
            OpKind::FinalEnd => {
                if reachable {
                    w.arrive(function, i, false);
                }
            }
            OpKind::Br(target) => {
                w.pending += cost;
                w.arrive(label_of(target), i, true);
                leaving(&mut frames, label_of(target));
                reachable = false;
            }
            OpKind::BrIf(target) => {
                w.pending += cost;
                w.arrive(label_of(target), i, true);
                leaving(&mut frames, label_of(target));
                w.new_piece(Head::Other);
            }
            OpKind::BrTable { first, len } => {
                w.pending += cost;
                for &target in plan.targets(first, len) {
                    w.arrive(label_of(target), i, true);
                    leaving(&mut frames, label_of(target));
                }
                reachable = false;
            }
            OpKind::Return(_) => {
                w.pending += cost;
                w.arrive(function, i, true);
                observed(&mut frames);
                reachable = false;
            }
            OpKind::Call(index) => {
                let info = callee(index);
                w.pending += cost;
                match info.convention {
                    Convention::Static | Convention::Relative => w.pending += info.exit,
                    Convention::Absolute | Convention::Boundary => {
                        w.pending += info.entry;
                        w.charge_at_call(w.pending, i);
                        w.pending = info.exit;
                        observed(&mut frames);
                        w.new_piece(Head::Call(i));
                    }
                }
            }
            OpKind::HostCall | OpKind::CallIndirect => {
                w.pending += cost;
                w.charge_at_call(w.pending, i);
                observed(&mut frames);
                w.new_piece(Head::Call(i));
            }
            OpKind::MemoryGrow | OpKind::BulkMemory => {
                w.pending += cost;
                w.checks += 1;
                w.notes[i].threshold = w.pending;
                observed(&mut frames);
                w.new_piece(Head::Other);
            }
        }
    }
    let exit = w.labels.get(function).unwrap_or(0);
    *out = Analysis {
        notes: w.notes,
        exit,
        entry_charge: w.entry_charge,
        charges: w.charges,
        checks: w.checks,
        back_edges: w.back_edges,
    };
    buffers.labels = w.labels;
    buffers.loop_state = w.loop_state;
    buffers.frames = frames;
}

/// Everything [`emit`] needs to know about one function.
#[derive(Debug)]
pub(crate) struct FunctionShape<'a> {
    /// The original module.
    pub(crate) wasm: &'a [u8],
    pub(crate) plan: &'a FunctionPlan,
    /// Declared local groups (parameters excluded), as in the original.
    pub(crate) locals: &'a [(u32, ValType)],
    pub(crate) params: u32,
    pub(crate) convention: Convention,
    /// On a call-graph cycle (holds a stack budget).
    pub(crate) recursive: bool,
    pub(crate) exported: bool,
    /// Stack units one activation takes (only used if `recursive`).
    pub(crate) frame_cost: u32,
    /// The function's result type, for the exit block.
    pub(crate) result: Option<ValType>,
    /// Some function in the table reaches a recursive one.
    pub(crate) table_reaches_recursion: bool,
    /// Some function in the table is recursive.
    pub(crate) table_recursive: bool,
}

/// What a call must do about the stack budget (`specs/gas.md`, "Stack
/// height": the budget of the innermost active recursive frame). Recursive
/// functions hold theirs in a local; elsewhere the budget global holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BudgetAtCall {
    /// The callee never meets a recursive function.
    Nothing,
    /// A recursive caller publishes its budget in the global first.
    Publish,
    /// A recursive caller passes its budget minus the callee's frame (the
    /// budget of the callee's frame) as the callee's parameter.
    Pass,
    /// A non-recursive caller passes the global's value minus the callee's
    /// frame, and puts the global back afterwards (the callee's frames may
    /// have lowered it).
    PassGlobalAndRestore,
    /// A non-recursive caller puts the global's value back after the call.
    Restore,
    /// As `PassGlobalAndRestore` before a call that `unreachable` follows:
    /// nothing runs after it that could read the global, so it is not put
    /// back.
    PassGlobal,
}

impl BudgetAtCall {
    /// What is left to do before a call that `unreachable` follows (see
    /// [`BudgetAtCall::PassGlobal`]).
    fn diverging(self) -> Self {
        match self {
            Self::PassGlobalAndRestore => Self::PassGlobal,
            Self::Restore => Self::Nothing,
            other => other,
        }
    }
}

fn budget_at_call(
    caller_recursive: bool,
    parameter: bool,
    callee_recursive: bool,
    reaches: bool,
) -> BudgetAtCall {
    match (caller_recursive, parameter) {
        _ if !reaches => BudgetAtCall::Nothing,
        (true, true) => BudgetAtCall::Pass,
        (true, false) => BudgetAtCall::Publish,
        (false, true) => BudgetAtCall::PassGlobalAndRestore,
        (false, false) if callee_recursive => BudgetAtCall::Restore,
        (false, false) => BudgetAtCall::Nothing,
    }
}

/// A value type of the accepted subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ValType {
    I32,
    I64,
}

impl ValType {
    pub(crate) fn byte(self) -> u8 {
        match self {
            Self::I32 => 0x7f,
            Self::I64 => 0x7e,
        }
    }
}

/// Writes the instrumented body (locals and code, no size prefix) to `out`.
/// Returns whether it calls the out-of-gas function.
pub(crate) fn emit(
    shape: &FunctionShape<'_>,
    analysis: &Analysis,
    callee: &dyn Fn(u32) -> CalleeInfo,
    schedule: &super::GasSchedule,
    globals: InjectedGlobals,
    out: &mut Vec<u8>,
) -> bool {
    let plan = shape.plan;
    let declared: u32 = shape.locals.iter().map(|&(count, _)| count).sum();
    let absolute = shape.convention == Convention::Absolute;
    let shift = if absolute {
        1 + u32::from(shape.recursive)
    } else {
        0
    };
    let mut extra: Vec<(u32, ValType)> = Vec::new();
    let (gas, budget);
    let mut next = shape.params + shift + declared;
    if absolute {
        gas = shape.params;
        budget = shape.params + 1;
    } else {
        gas = next;
        next += 1;
        extra.push((1, ValType::I64));
        budget = next;
        if shape.recursive {
            next += 1;
            extra.push((1, ValType::I32));
        }
    }
    let scratch = next;
    if plan.has_dynamic {
        next += 1;
        extra.push((1, ValType::I32));
    }
    // A non-recursive function that enters recursion keeps the global's
    // budget here to put it back.
    let saved = next;
    let restores = !shape.recursive
        && ((plan.has_call_indirect && shape.table_recursive)
            || plan.callees.iter().any(|&index| {
                let info = callee(index);
                info.recursive && info.reaches_recursion
            }));
    if restores {
        extra.push((1, ValType::I32));
    }
    // Neighbouring groups of one type are written as one (the indices are
    // the same either way).
    let merged = |each: &mut dyn FnMut(u32, ValType)| {
        let mut pending: Option<(u32, ValType)> = None;
        for &(count, ty) in shape.locals.iter().chain(&extra) {
            pending = match pending {
                Some((n, t)) if t == ty => Some((n + count, ty)),
                Some((n, t)) => {
                    each(n, t);
                    Some((count, ty))
                }
                None => Some((count, ty)),
            };
        }
        if let Some((n, t)) = pending {
            each(n, t);
        }
    };
    let mut groups = 0u32;
    merged(&mut |_, _| groups += 1);
    leb_u32(out, groups);
    merged(&mut |count, ty| {
        leb_u32(out, count);
        out.push(ty.byte());
    });

    let boundary = shape.convention == Convention::Boundary;
    let wrapped = boundary || plan.exits_by_branch;
    // Where failed checks pass the exact counter (`exact_halt`: traced and
    // profiled code), with four checks or more they share one out-of-gas
    // path at the end of the body instead of each calling the out-of-gas
    // function itself (smaller code from about four checks on: the shared
    // path and its block take about ten bytes, and save two to four per
    // check; the path is cold, so it costs nothing at run time). Deployed
    // checks pass nothing: each is `if; call f; end`.
    let checks =
        analysis.checks + usize::from(shape.recursive) + usize::from(boundary && shape.exported);
    let landing = globals.exact_halt && checks >= 4;
    let mut e = Emitter {
        out,
        gas,
        globals,
        landing,
        depth: 0,
        last_set: None,
        calls_out_of_gas: false,
    };
    if landing {
        e.bytes(&[BLOCK, ValType::I64.byte()]);
    }

    // Prologue.
    if boundary {
        e.op(GLOBAL_GET, globals.gas_left);
        e.set_gas();
        if shape.recursive {
            e.op(GLOBAL_GET, globals.stack_budget);
            e.i32_const(as_i32(shape.frame_cost));
            e.byte(I32_SUB);
            // Kept and checked below.
            e.op(LOCAL_TEE, budget);
        }
    }
    // An `Absolute` recursive function's caller already took its frame out
    // of the budget it passes.
    if shape.recursive {
        if !boundary {
            e.op(LOCAL_GET, budget);
        }
        e.i32_const(0);
        e.byte(I32_LT_S);
        e.bytes(&[IF, EMPTY]);
        e.i32_const(super::HaltCode::StackExhausted as i32);
        e.op(GLOBAL_SET, globals.halt);
        e.bytes(&[UNREACHABLE, END]);
    }
    // An `Absolute` function that is not recursive has its entry charge
    // paid by its callers (`CalleeInfo::entry`).
    let entry_paid_by_callers = absolute && !shape.recursive;
    if analysis.entry_charge != 0 && !entry_paid_by_callers {
        e.charge(analysis.entry_charge);
    }
    if shape.recursive {
        e.check(-analysis.entry_charge);
    }
    if wrapped {
        e.bytes(&[BLOCK, shape.result.map_or(EMPTY, ValType::byte)]);
        e.depth += 1;
    }

    let wasm = shape.wasm;
    let notes = &analysis.notes;
    let mut raw: Option<usize> = None;
    // A charge right after an `Absolute` call is applied to the counter the
    // call returns (one wasmi instruction instead of two).
    let mut charged_with_call = false;
    for (i, (op, note)) in plan.ops.iter().zip(notes).enumerate() {
        let start = op.start as usize;
        // Where the next instruction starts (only the final `end`, which
        // needs no end, has none).
        let end = || {
            plan.ops
                .get(i + 1)
                .map_or(start, |next| next.start as usize)
        };
        // A charge placed right after this instruction, for calls to fold in.
        let next_charge = || {
            notes
                .get(i + 1)
                .filter(|n| n.charge != 0 && !n.dead)
                .map_or(0, |n| n.charge)
        };
        if note.dead {
            e.flush(wasm, &mut raw, start);
            continue;
        }
        // A call right before `unreachable` never needs its counter back:
        // the call traps or ends the frame, or the `unreachable` does, and
        // a halt uses the whole limit. Its results stay on the stack.
        let diverges = || {
            notes
                .get(i + 1)
                .zip(plan.ops.get(i + 1))
                .is_some_and(|(n, next)| !n.dead && next.kind == OpKind::Unreachable)
        };
        if note.charge != 0 && !std::mem::take(&mut charged_with_call) {
            e.flush(wasm, &mut raw, start);
            e.charge(note.charge);
        }
        let mut sync = None;
        match op.kind {
            OpKind::Local(opcode, index) if shift > 0 && index >= shape.params => {
                e.flush(wasm, &mut raw, start);
                e.op(opcode, index + shift);
            }
            OpKind::Block | OpKind::If(_) => {
                raw.get_or_insert(start);
                e.depth += 1;
            }
            OpKind::Plain
            | OpKind::Local(..)
            | OpKind::Else
            | OpKind::Unreachable
            | OpKind::Br(Target::Frame(_))
            | OpKind::BrIf(_)
            | OpKind::BrTable { .. } => {
                raw.get_or_insert(start);
            }
            OpKind::CountedLoop { .. } => {
                e.flush(wasm, &mut raw, start);
                e.charge(note.precharge);
                e.check(note.threshold);
                raw = Some(start);
                e.depth += 1;
            }
            OpKind::Loop => {
                raw.get_or_insert(start);
                e.flush(wasm, &mut raw, end());
                e.depth += 1;
                if note.charge_after != 0 {
                    e.charge(note.charge_after);
                }
                e.check(note.threshold);
            }
            OpKind::End => {
                raw.get_or_insert(start);
                e.depth -= 1;
                if note.unreachable_after {
                    e.flush(wasm, &mut raw, end());
                    e.byte(UNREACHABLE);
                }
            }
            OpKind::Br(Target::Function) | OpKind::Return(_) if !wrapped => {
                e.flush(wasm, &mut raw, start);
                e.get_gas();
                e.byte(RETURN);
            }
            OpKind::Br(Target::Function) => {
                raw.get_or_insert(start);
            }
            OpKind::Return(depth) => {
                e.flush(wasm, &mut raw, start);
                e.op(BR, depth);
            }
            OpKind::Call(index) => {
                let info = callee(index);
                match info.convention {
                    Convention::Static => {
                        raw.get_or_insert(start);
                    }
                    Convention::Relative => {
                        raw.get_or_insert(start);
                        if !diverges() {
                            e.flush(wasm, &mut raw, end());
                            e.get_gas();
                            e.byte(I64_ADD);
                            e.set_gas();
                        }
                    }
                    Convention::Absolute => {
                        e.flush(wasm, &mut raw, start);
                        let mut at_call = budget_at_call(
                            shape.recursive,
                            info.budget_parameter(),
                            info.recursive,
                            info.reaches_recursion,
                        );
                        let diverges = diverges();
                        if diverges {
                            at_call = at_call.diverging();
                        }
                        e.get_gas();
                        e.sub_const(note.call_charge);
                        e.budget_before(at_call, budget, saved, info.frame_cost);
                        e.bytes(&wasm[start..end()]);
                        if !diverges {
                            e.budget_after(at_call, saved);
                            let next_charge = next_charge();
                            e.sub_const(next_charge);
                            charged_with_call = next_charge != 0;
                            e.set_gas();
                        }
                    }
                    Convention::Boundary => {
                        sync = Some(budget_at_call(
                            shape.recursive,
                            false,
                            info.recursive,
                            info.reaches_recursion,
                        ));
                    }
                }
            }
            OpKind::HostCall => sync = Some(BudgetAtCall::Nothing),
            OpKind::CallIndirect => {
                sync = Some(budget_at_call(
                    shape.recursive,
                    false,
                    shape.table_recursive,
                    shape.table_reaches_recursion,
                ));
            }
            OpKind::MemoryGrow => {
                e.flush(wasm, &mut raw, start);
                e.dynamic_charge(scratch, schedule.memory_grow_per_page, note.threshold);
                // A grow beyond the declared maximum yields -1 without
                // running `memory.grow`: same result, and wasmi 2.0's
                // failing-grow path consumes native stack per execution
                // (a loop of failing grows overflows the node's stack).
                e.op(LOCAL_SET, scratch);
                e.op(LOCAL_GET, scratch);
                e.i32_const(as_i32(globals.memory_max_pages));
                e.bytes(&[MEMORY_SIZE, 0, I32_SUB, I32_GT_U, IF, ValType::I32.byte()]);
                e.i32_const(-1);
                e.byte(ELSE);
                e.op(LOCAL_GET, scratch);
                e.bytes(&wasm[start..end()]);
                e.byte(END);
            }
            OpKind::BulkMemory => {
                e.flush(wasm, &mut raw, start);
                e.dynamic_charge(scratch, schedule.bulk_memory_per_byte, note.threshold);
                raw = Some(start);
            }
            OpKind::FinalEnd => {
                e.flush(wasm, &mut raw, start);
                if wrapped {
                    e.byte(END);
                    e.depth -= 1;
                }
                if boundary {
                    e.get_gas();
                    e.sub_const(analysis.exit);
                    e.op(GLOBAL_SET, globals.gas_left);
                    if shape.exported {
                        e.check(analysis.exit);
                    }
                } else if wrapped || !stopped_before(plan, notes, i) {
                    e.get_gas();
                }
                if landing {
                    // The shared out-of-gas path: a check branches here
                    // with minus its threshold, so the counter passed on
                    // is the exact one.
                    e.bytes(&[RETURN, END]);
                    e.get_gas();
                    e.byte(I64_ADD);
                    e.call_out_of_gas();
                    e.byte(UNREACHABLE);
                }
                e.byte(END);
            }
        }
        // A call through the globals (a boundary function, a host function,
        // `call_indirect`).
        if let Some(mut at_call) = sync {
            let diverges = diverges();
            if diverges {
                at_call = at_call.diverging();
            }
            e.flush(wasm, &mut raw, start);
            let next_charge = if diverges { None } else { Some(next_charge()) };
            e.sync_call(
                &wasm[start..end()],
                note.call_charge,
                at_call,
                (budget, saved),
                next_charge,
            );
            charged_with_call = next_charge.is_some_and(|charge| charge != 0);
        }
    }
    debug_assert!(raw.is_none(), "the final end is never copied raw");
    e.calls_out_of_gas
}

/// Whether the last instruction emitted before `at` ends straight-line
/// control (`unreachable`, `br`, `br_table`, `return`, or an `end` nothing
/// reaches): then nothing reaches `at`, the final `end` of a body that is
/// not wrapped needs no counter pushed for its result.
fn stopped_before(plan: &FunctionPlan, notes: &[Note], at: usize) -> bool {
    let Some(last) = (0..at).rev().find(|&j| !notes[j].dead) else {
        return false;
    };
    matches!(
        plan.ops[last].kind,
        OpKind::Unreachable | OpKind::Br(_) | OpKind::BrTable { .. } | OpKind::Return(_)
    ) || (plan.ops[last].kind == OpKind::End && notes[last].unreachable_after)
}

/// The body of the out-of-gas function (locals and code, no size prefix):
/// with `exact_halt`, `(param i64)`, the exact counter of the failed check,
/// written to `cairn_gas_left` first; otherwise no parameter.
pub(crate) fn out_of_gas_body(globals: InjectedGlobals, out: &mut Vec<u8>) {
    out.push(0);
    if globals.exact_halt {
        out.extend_from_slice(&[LOCAL_GET, 0, GLOBAL_SET]);
        leb_u32(out, globals.gas_left);
    }
    out.push(I32_CONST);
    leb_i64(out, super::HaltCode::OutOfGas as i64);
    out.push(GLOBAL_SET);
    leb_u32(out, globals.halt);
    out.extend_from_slice(&[UNREACHABLE, END]);
}

const UNREACHABLE: u8 = 0x00;
const BLOCK: u8 = 0x02;
const IF: u8 = 0x04;
const ELSE: u8 = 0x05;
const END: u8 = 0x0b;
const BR: u8 = 0x0c;
const RETURN: u8 = 0x0f;
const CALL: u8 = 0x10;
const LOCAL_GET: u8 = 0x20;
const LOCAL_SET: u8 = 0x21;
const LOCAL_TEE: u8 = 0x22;
const GLOBAL_GET: u8 = 0x23;
const GLOBAL_SET: u8 = 0x24;
const MEMORY_SIZE: u8 = 0x3f;
const I32_CONST: u8 = 0x41;
const I64_CONST: u8 = 0x42;
const I32_LT_S: u8 = 0x48;
const I32_GT_U: u8 = 0x4b;
const I64_LT_S: u8 = 0x53;
const I32_SUB: u8 = 0x6b;
const I64_ADD: u8 = 0x7c;
const I64_SUB: u8 = 0x7d;
const I64_MUL: u8 = 0x7e;
const I64_EXTEND_I32_U: u8 = 0xad;
/// Block type of a block without results.
const EMPTY: u8 = 0x40;

struct Emitter<'a> {
    out: &'a mut Vec<u8>,
    /// The local holding the counter.
    gas: u32,
    globals: InjectedGlobals,
    /// Checks branch to the shared out-of-gas path (a block around the
    /// whole body) instead of halting inline.
    landing: bool,
    /// Frames open between the current point and that block.
    depth: u32,
    /// Where the last `local.set` of the counter was written, if nothing
    /// has been written after it: a `local.get` of the counter right after
    /// it turns it into a `local.tee` (one instruction, two bytes less).
    last_set: Option<(usize, usize)>,
    /// Something calls the out-of-gas function.
    calls_out_of_gas: bool,
}

impl Emitter<'_> {
    fn byte(&mut self, b: u8) {
        self.out.push(b);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    /// An instruction with one unsigned immediate (locals, globals, `br`).
    fn op(&mut self, opcode: u8, immediate: u32) {
        self.out.push(opcode);
        leb_u32(self.out, immediate);
    }

    fn i32_const(&mut self, value: i32) {
        self.out.push(I32_CONST);
        leb_i64(self.out, i64::from(value));
    }

    fn i64_const(&mut self, value: i64) {
        self.out.push(I64_CONST);
        leb_i64(self.out, value);
    }

    /// Copies the pending original bytes `raw..upto`.
    fn flush(&mut self, wasm: &[u8], raw: &mut Option<usize>, upto: usize) {
        if let Some(start) = raw.take() {
            self.out.extend_from_slice(&wasm[start..upto]);
        }
    }

    /// Subtracts `value` from the i64 on top of the stack, if non-zero.
    fn sub_const(&mut self, value: i64) {
        if value != 0 {
            self.i64_const(value);
            self.byte(I64_SUB);
        }
    }

    /// Pushes the counter.
    fn get_gas(&mut self) {
        if let Some((at, end)) = self.last_set.take()
            && end == self.out.len()
        {
            self.out[at] = LOCAL_TEE;
            return;
        }
        self.op(LOCAL_GET, self.gas);
    }

    /// Pops the counter.
    fn set_gas(&mut self) {
        let at = self.out.len();
        self.op(LOCAL_SET, self.gas);
        self.last_set = Some((at, self.out.len()));
    }

    fn charge(&mut self, amount: i64) {
        self.get_gas();
        self.i64_const(amount);
        self.byte(I64_SUB);
        self.set_gas();
    }

    /// Out of gas if the counter is below `threshold` (the pending cost
    /// here), that is if the exact counter is negative.
    fn check(&mut self, threshold: i64) {
        self.get_gas();
        self.i64_const(threshold);
        self.bytes(&[I64_LT_S, IF, EMPTY]);
        if !self.globals.exact_halt {
            self.call_out_of_gas();
            self.byte(END);
            return;
        }
        if self.landing {
            self.i64_const(threshold.wrapping_neg());
            self.op(BR, self.depth + 1);
            self.byte(END);
            return;
        }
        self.get_gas();
        self.sub_const(threshold);
        self.call_out_of_gas();
        self.byte(END);
    }

    /// Calls the out-of-gas function (with the exact counter on top of the
    /// stack if `exact_halt`).
    fn call_out_of_gas(&mut self) {
        self.op(CALL, self.globals.out_of_gas);
        self.calls_out_of_gas = true;
    }

    /// A call through the globals: publish the counter minus `charge` (and
    /// the budget), call, take the counter back.
    /// `then_charge`, if not 0, is subtracted from the counter as it is
    /// read back (one wasmi instruction fewer than a separate charge);
    /// `None` if `unreachable` follows the call: nothing is read back.
    fn sync_call(
        &mut self,
        call: &[u8],
        charge: i64,
        at_call: BudgetAtCall,
        (budget, saved): (u32, u32),
        then_charge: Option<i64>,
    ) {
        self.get_gas();
        self.sub_const(charge);
        self.op(GLOBAL_SET, self.globals.gas_left);
        self.budget_before(at_call, budget, saved, 0);
        self.bytes(call);
        let Some(then_charge) = then_charge else {
            return;
        };
        self.budget_after(at_call, saved);
        self.op(GLOBAL_GET, self.globals.gas_left);
        self.sub_const(then_charge);
        self.set_gas();
    }

    /// The stack budget before a call (see [`BudgetAtCall`]); pushes the
    /// callee's budget parameter if it takes one.
    fn budget_before(&mut self, at_call: BudgetAtCall, budget: u32, saved: u32, frame: u32) {
        match at_call {
            BudgetAtCall::Nothing => {}
            BudgetAtCall::Publish => {
                self.op(LOCAL_GET, budget);
                self.op(GLOBAL_SET, self.globals.stack_budget);
            }
            BudgetAtCall::Pass => {
                self.op(LOCAL_GET, budget);
                self.i32_const(as_i32(frame));
                self.byte(I32_SUB);
            }
            BudgetAtCall::PassGlobalAndRestore => {
                self.op(GLOBAL_GET, self.globals.stack_budget);
                self.op(LOCAL_TEE, saved);
                self.i32_const(as_i32(frame));
                self.byte(I32_SUB);
            }
            BudgetAtCall::PassGlobal => {
                self.op(GLOBAL_GET, self.globals.stack_budget);
                self.i32_const(as_i32(frame));
                self.byte(I32_SUB);
            }
            BudgetAtCall::Restore => {
                self.op(GLOBAL_GET, self.globals.stack_budget);
                self.op(LOCAL_SET, saved);
            }
        }
    }

    fn budget_after(&mut self, at_call: BudgetAtCall, saved: u32) {
        if matches!(
            at_call,
            BudgetAtCall::PassGlobalAndRestore | BudgetAtCall::Restore
        ) {
            self.op(LOCAL_GET, saved);
            self.op(GLOBAL_SET, self.globals.stack_budget);
        }
    }

    /// Charges `per_unit` times the i32 on top of the stack (left in place),
    /// then checks.
    fn dynamic_charge(&mut self, scratch: u32, per_unit: u64, threshold: i64) {
        self.op(LOCAL_TEE, scratch);
        self.get_gas();
        self.op(LOCAL_GET, scratch);
        self.byte(I64_EXTEND_I32_U);
        self.i64_const(i64::try_from(per_unit).unwrap_or(i64::MAX));
        self.bytes(&[I64_MUL, I64_SUB]);
        self.set_gas();
        self.check(threshold);
    }
}

pub(crate) fn leb_u32(out: &mut Vec<u8>, mut value: u32) {
    // Most immediates (local, global and type indices, depths, sizes of
    // small bodies) fit in one byte.
    if let Ok(byte) = u8::try_from(value)
        && byte < 0x80
    {
        out.push(byte);
        return;
    }
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub(crate) fn leb_i64(out: &mut Vec<u8>, mut value: i64) {
    if (-64..64).contains(&value) {
        // One byte: the low 7 bits, sign bit included.
        out.push(u8::try_from(value & 0x7f).unwrap_or(0));
        return;
    }
    loop {
        // The low 7 bits, never negative: the cast loses nothing.
        let byte = u8::try_from(value & 0x7f).unwrap_or(0);
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn as_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::Encode;

    /// The LEB128 writers (with their one-byte shortcuts) agree with
    /// wasm-encoder's around every length boundary.
    #[test]
    fn leb_writers_match_wasm_encoder() {
        let mut edges: Vec<i64> = vec![0, i64::MIN, i64::MAX];
        for bits in 1..63 {
            let p = 1i64 << bits;
            edges.extend([p - 1, p, p + 1, -p - 1, -p, -p + 1]);
        }
        for &v in &edges {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            leb_i64(&mut ours, v);
            v.encode(&mut theirs);
            assert_eq!(ours, theirs, "i64 {v}");
            if let Ok(u) = u32::try_from(v) {
                let (mut ours, mut theirs) = (Vec::new(), Vec::new());
                leb_u32(&mut ours, u);
                u.encode(&mut theirs);
                assert_eq!(ours, theirs, "u32 {u}");
            }
        }
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        leb_u32(&mut ours, u32::MAX);
        u32::MAX.encode(&mut theirs);
        assert_eq!(ours, theirs);
    }
}
