//! The gas schedule: what each Wasm instruction costs.
//!
//! Costs are assigned per [`CostClass`]; every instruction of the accepted
//! subset belongs to exactly one class (see [`INSTRUCTION_CLASSES`]). The
//! schedule is versioned and identified by [`GasSchedule::hash`], which is
//! part of a prepared module's identity: changing any figure here changes the
//! hash, and `specs/gas.md` must show the same table (a test checks it).

use cairn_host_api::world::H256;
use parity_scale_codec::Encode;
use wasmparser::Operator;

/// A group of instructions that cost the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode)]
#[non_exhaustive]
pub enum CostClass {
    /// Structure markers that execute nothing (`block`, `loop`, `else`, `end`, `nop`).
    Structure,
    /// `i32.const`, `i64.const`.
    Constant,
    /// `local.get`, `local.set`, `local.tee`.
    Local,
    /// `global.get`, `global.set`.
    Global,
    /// Single-cycle integer arithmetic, logic, comparison, conversion, `drop`, `select`.
    Simple,
    /// Integer multiplication.
    Multiply,
    /// Integer division and remainder.
    Divide,
    /// Memory loads.
    Load,
    /// Memory stores.
    Store,
    /// `br`, `br_if`, `if`, `return`.
    Branch,
    /// `br_table`.
    BranchTable,
    /// `call`.
    Call,
    /// `call_indirect`.
    CallIndirect,
    /// `memory.size`, `data.drop`.
    MemoryMeta,
    /// `memory.grow` (plus [`GasSchedule::memory_grow_per_page`] per requested page).
    MemoryGrow,
    /// `memory.copy`, `memory.fill`, `memory.init` (plus
    /// [`GasSchedule::bulk_memory_per_byte`] per byte).
    BulkMemory,
    /// `unreachable`.
    Unreachable,
}

impl CostClass {
    /// Every class, in the canonical order used by the spec table and the hash.
    pub const ALL: [Self; 17] = [
        Self::Structure,
        Self::Constant,
        Self::Local,
        Self::Global,
        Self::Simple,
        Self::Multiply,
        Self::Divide,
        Self::Load,
        Self::Store,
        Self::Branch,
        Self::BranchTable,
        Self::Call,
        Self::CallIndirect,
        Self::MemoryMeta,
        Self::MemoryGrow,
        Self::BulkMemory,
        Self::Unreachable,
    ];

    /// The class's name as written in `specs/gas.md`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Structure => "structure",
            Self::Constant => "constant",
            Self::Local => "local",
            Self::Global => "global",
            Self::Simple => "simple",
            Self::Multiply => "multiply",
            Self::Divide => "divide",
            Self::Load => "load",
            Self::Store => "store",
            Self::Branch => "branch",
            Self::BranchTable => "branch_table",
            Self::Call => "call",
            Self::CallIndirect => "call_indirect",
            Self::MemoryMeta => "memory_meta",
            Self::MemoryGrow => "memory_grow",
            Self::BulkMemory => "bulk_memory",
            Self::Unreachable => "unreachable",
        }
    }
}

/// Declares every accepted instruction once: its `wasmparser` operator, its
/// text-format name and its cost class. Generates [`classify`] and
/// [`INSTRUCTION_CLASSES`] from the same list so they cannot disagree.
macro_rules! instruction_table {
    ($($op:ident $name:literal $class:ident,)*) => {
        /// Every instruction the validator accepts, with its cost class, in
        /// the canonical order used by the schedule hash and `specs/gas.md`.
        pub const INSTRUCTION_CLASSES: &[(&str, CostClass)] = &[
            $(($name, CostClass::$class),)*
        ];

        /// The cost class of `op`, or `None` if the instruction is outside
        /// the accepted subset.
        #[inline(always)]
        pub(crate) fn classify(op: &Operator<'_>) -> Option<CostClass> {
            match op {
                $(Operator::$op { .. } => Some(CostClass::$class),)*
                _ => None,
            }
        }
    };
}

instruction_table! {
    Unreachable "unreachable" Unreachable,
    Nop "nop" Structure,
    Block "block" Structure,
    Loop "loop" Structure,
    If "if" Branch,
    Else "else" Structure,
    End "end" Structure,
    Br "br" Branch,
    BrIf "br_if" Branch,
    BrTable "br_table" BranchTable,
    Return "return" Branch,
    Call "call" Call,
    CallIndirect "call_indirect" CallIndirect,
    Drop "drop" Simple,
    Select "select" Simple,
    TypedSelect "select (typed)" Simple,
    LocalGet "local.get" Local,
    LocalSet "local.set" Local,
    LocalTee "local.tee" Local,
    GlobalGet "global.get" Global,
    GlobalSet "global.set" Global,
    I32Load "i32.load" Load,
    I64Load "i64.load" Load,
    I32Load8S "i32.load8_s" Load,
    I32Load8U "i32.load8_u" Load,
    I32Load16S "i32.load16_s" Load,
    I32Load16U "i32.load16_u" Load,
    I64Load8S "i64.load8_s" Load,
    I64Load8U "i64.load8_u" Load,
    I64Load16S "i64.load16_s" Load,
    I64Load16U "i64.load16_u" Load,
    I64Load32S "i64.load32_s" Load,
    I64Load32U "i64.load32_u" Load,
    I32Store "i32.store" Store,
    I64Store "i64.store" Store,
    I32Store8 "i32.store8" Store,
    I32Store16 "i32.store16" Store,
    I64Store8 "i64.store8" Store,
    I64Store16 "i64.store16" Store,
    I64Store32 "i64.store32" Store,
    MemorySize "memory.size" MemoryMeta,
    MemoryGrow "memory.grow" MemoryGrow,
    I32Const "i32.const" Constant,
    I64Const "i64.const" Constant,
    I32Eqz "i32.eqz" Simple,
    I32Eq "i32.eq" Simple,
    I32Ne "i32.ne" Simple,
    I32LtS "i32.lt_s" Simple,
    I32LtU "i32.lt_u" Simple,
    I32GtS "i32.gt_s" Simple,
    I32GtU "i32.gt_u" Simple,
    I32LeS "i32.le_s" Simple,
    I32LeU "i32.le_u" Simple,
    I32GeS "i32.ge_s" Simple,
    I32GeU "i32.ge_u" Simple,
    I64Eqz "i64.eqz" Simple,
    I64Eq "i64.eq" Simple,
    I64Ne "i64.ne" Simple,
    I64LtS "i64.lt_s" Simple,
    I64LtU "i64.lt_u" Simple,
    I64GtS "i64.gt_s" Simple,
    I64GtU "i64.gt_u" Simple,
    I64LeS "i64.le_s" Simple,
    I64LeU "i64.le_u" Simple,
    I64GeS "i64.ge_s" Simple,
    I64GeU "i64.ge_u" Simple,
    I32Clz "i32.clz" Simple,
    I32Ctz "i32.ctz" Simple,
    I32Popcnt "i32.popcnt" Simple,
    I32Add "i32.add" Simple,
    I32Sub "i32.sub" Simple,
    I32Mul "i32.mul" Multiply,
    I32DivS "i32.div_s" Divide,
    I32DivU "i32.div_u" Divide,
    I32RemS "i32.rem_s" Divide,
    I32RemU "i32.rem_u" Divide,
    I32And "i32.and" Simple,
    I32Or "i32.or" Simple,
    I32Xor "i32.xor" Simple,
    I32Shl "i32.shl" Simple,
    I32ShrS "i32.shr_s" Simple,
    I32ShrU "i32.shr_u" Simple,
    I32Rotl "i32.rotl" Simple,
    I32Rotr "i32.rotr" Simple,
    I64Clz "i64.clz" Simple,
    I64Ctz "i64.ctz" Simple,
    I64Popcnt "i64.popcnt" Simple,
    I64Add "i64.add" Simple,
    I64Sub "i64.sub" Simple,
    I64Mul "i64.mul" Multiply,
    I64DivS "i64.div_s" Divide,
    I64DivU "i64.div_u" Divide,
    I64RemS "i64.rem_s" Divide,
    I64RemU "i64.rem_u" Divide,
    I64And "i64.and" Simple,
    I64Or "i64.or" Simple,
    I64Xor "i64.xor" Simple,
    I64Shl "i64.shl" Simple,
    I64ShrS "i64.shr_s" Simple,
    I64ShrU "i64.shr_u" Simple,
    I64Rotl "i64.rotl" Simple,
    I64Rotr "i64.rotr" Simple,
    I32WrapI64 "i32.wrap_i64" Simple,
    I64ExtendI32S "i64.extend_i32_s" Simple,
    I64ExtendI32U "i64.extend_i32_u" Simple,
    I32Extend8S "i32.extend8_s" Simple,
    I32Extend16S "i32.extend16_s" Simple,
    I64Extend8S "i64.extend8_s" Simple,
    I64Extend16S "i64.extend16_s" Simple,
    I64Extend32S "i64.extend32_s" Simple,
    MemoryInit "memory.init" BulkMemory,
    DataDrop "data.drop" MemoryMeta,
    MemoryCopy "memory.copy" BulkMemory,
    MemoryFill "memory.fill" BulkMemory,
}

/// Costs of the instruction classes.
#[derive(Debug, Clone, PartialEq, Eq, Encode)]
pub struct InstructionCosts {
    /// Cost per class, indexed like [`CostClass::ALL`].
    costs: [u32; CostClass::ALL.len()],
}

impl InstructionCosts {
    /// The cost of one instruction of `class`.
    pub fn get(&self, class: CostClass) -> u32 {
        self.costs[class as usize]
    }

    /// Sets the cost of `class` (for experiments and tests; a changed
    /// schedule has a different hash).
    pub fn set(&mut self, class: CostClass, cost: u32) {
        self.costs[class as usize] = cost;
    }
}

/// A gas schedule: the cost figures and the limits `specs/gas.md` defines
/// (version 2: [`GasSchedule::v2`]). See `specs/gas.md`.
#[derive(Debug, Clone, PartialEq, Eq, Encode)]
pub struct GasSchedule {
    /// Schedule version; bumped whenever any figure or rule changes.
    pub version: u32,
    /// Per-class instruction costs.
    pub instructions: InstructionCosts,
    /// Charged by `memory.grow` per requested page, before growing (also
    /// when growing then fails).
    pub memory_grow_per_page: u64,
    /// Charged by `memory.copy`, `memory.fill` and `memory.init` per byte of
    /// their length operand, before the operation.
    pub bulk_memory_per_byte: u64,
    /// Stack-height limit in units (see `specs/gas.md`, "Stack height").
    pub stack_limit: u32,
    /// Units every activation of a function costs on top of its locals and
    /// maximum operand-stack height.
    pub frame_overhead: u32,
}

impl GasSchedule {
    /// The version 2 schedule.
    pub fn v2() -> Self {
        let mut instructions = InstructionCosts {
            costs: [0; CostClass::ALL.len()],
        };
        for (class, cost) in [
            (CostClass::Structure, 0),
            (CostClass::Constant, 1),
            (CostClass::Local, 1),
            (CostClass::Global, 2),
            (CostClass::Simple, 1),
            (CostClass::Multiply, 2),
            (CostClass::Divide, 6),
            (CostClass::Load, 3),
            (CostClass::Store, 3),
            (CostClass::Branch, 2),
            (CostClass::BranchTable, 4),
            (CostClass::Call, 12),
            (CostClass::CallIndirect, 16),
            (CostClass::MemoryMeta, 2),
            (CostClass::MemoryGrow, 100),
            (CostClass::BulkMemory, 10),
            (CostClass::Unreachable, 1),
        ] {
            instructions.set(class, cost);
        }
        Self {
            version: 2,
            instructions,
            memory_grow_per_page: 2_048,
            bulk_memory_per_byte: 1,
            stack_limit: 16_384,
            frame_overhead: 16,
        }
    }

    /// The cost of one execution of `op` (without the dynamic per-page or
    /// per-byte part), or `None` if `op` is outside the accepted subset.
    #[inline(always)]
    pub fn cost_of(&self, op: &Operator<'_>) -> Option<u32> {
        classify(op).map(|class| self.instructions.get(class))
    }

    /// keccak256 of the canonical SCALE encoding: the schedule's fields in
    /// declaration order followed by [`INSTRUCTION_CLASSES`] as a
    /// `Vec<(String, u8)>` (class as its index in [`CostClass::ALL`]).
    pub fn hash(&self) -> H256 {
        let mut bytes = self.encode();
        let classes: Vec<(&str, u8)> = INSTRUCTION_CLASSES
            .iter()
            .map(|&(name, class)| (name, class as u8))
            .collect();
        classes.encode_to(&mut bytes);
        cairn_host_api::keccak256(&bytes)
    }

    /// The class cost table as the Markdown embedded in `specs/gas.md`.
    pub fn cost_table_markdown(&self) -> String {
        let mut out = String::from("| class | cost | instructions |\n|---|---|---|\n");
        for class in CostClass::ALL {
            let names: Vec<String> = INSTRUCTION_CLASSES
                .iter()
                .filter(|(_, c)| *c == class)
                .map(|(name, _)| format!("`{name}`"))
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                class.name(),
                self.instructions.get(class),
                names.join(", ")
            ));
        }
        out.push_str(&format!(
            "| memory.grow per page | {} | `memory.grow` |\n",
            self.memory_grow_per_page
        ));
        out.push_str(&format!(
            "| bulk memory per byte | {} | `memory.copy`, `memory.fill`, `memory.init` |\n",
            self.bulk_memory_per_byte
        ));
        out.push_str(&format!(
            "| stack limit (units) | {} | |\n",
            self.stack_limit
        ));
        out.push_str(&format!(
            "| frame overhead (units) | {} | |\n",
            self.frame_overhead
        ));
        out
    }
}

impl Default for GasSchedule {
    fn default() -> Self {
        Self::v2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_is_used_and_all_is_indexed_by_discriminant() {
        for (i, class) in CostClass::ALL.iter().enumerate() {
            assert_eq!(*class as usize, i);
            assert!(
                INSTRUCTION_CLASSES.iter().any(|(_, c)| c == class),
                "{class:?}"
            );
        }
    }

    #[test]
    fn hash_changes_with_any_figure() {
        let base = GasSchedule::v2();
        assert_eq!(base.hash(), GasSchedule::v2().hash());
        let mut changed = base.clone();
        changed.instructions.set(CostClass::Load, 4);
        assert_ne!(base.hash(), changed.hash());
        let mut changed = base.clone();
        changed.stack_limit += 1;
        assert_ne!(base.hash(), changed.hash());
    }

    #[test]
    fn v2_hash_is_pinned() {
        // Changing any figure must be deliberate: bump the version and update
        // specs/gas.md, which quotes this hash.
        assert_eq!(
            format!("{:#x}", GasSchedule::v2().hash()),
            "0x5a2a3308568bc0c27472b774d9b81db2e1138ceab46f49681ce6d6691ccf866a"
        );
    }

    #[test]
    fn spec_cost_table_matches_v2() {
        // The checkout being tested (see `tests/src/lib.rs`, `repo_root`).
        let package = std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
        let spec = std::fs::read_to_string(format!("{package}/../specs/gas.md"))
            .expect("specs/gas.md exists");
        let begin = spec.find("<!-- cost-table:begin").expect("begin marker");
        let table_start = begin + spec[begin..].find('\n').expect("marker line") + 1;
        let end = spec.find("<!-- cost-table:end -->").expect("end marker");
        assert_eq!(
            &spec[table_start..end],
            GasSchedule::v2().cost_table_markdown(),
            "specs/gas.md cost table disagrees with GasSchedule::v2()"
        );
    }

    #[test]
    fn instruction_names_are_unique() {
        let mut names: Vec<_> = INSTRUCTION_CLASSES.iter().map(|(n, _)| n).collect();
        names.sort_unstable();
        let len = names.len();
        names.dedup();
        assert_eq!(len, names.len());
    }
}
