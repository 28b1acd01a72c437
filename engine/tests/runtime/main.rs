//! Runtime tests: every host function (also fed garbage), the journal,
//! cross-contract calls, gas exactness, determinism, hostile modules and the
//! committed execution vectors. Every module runs through `prepare_code`.

use cairn_engine::prepare::Rule;
use cairn_engine::runtime::{
    BlockContext, ExecConfig, ExecOutcome, ExecStatus, Executor, HaltReason, InMemoryWorld,
    Message, MessageKind, NodeError, TrapKind,
};
use cairn_host_api::world::{Account, Address, BackendError, CodeHash, H256, U256, WorldState};
use cairn_host_api::{HOST_FUNCTIONS, ValType};
use proptest::prelude::*;
use sha3::{Digest, Keccak256};

const GAS: u64 = 10_000_000;

fn addr(n: u8) -> Address {
    Address::repeat_byte(n)
}

const USER: u8 = 0xAA;

/// Imports of every host function, named `$<name>`.
fn imports() -> String {
    let mut out = String::new();
    for f in HOST_FUNCTIONS {
        let ty = |t: &ValType| match t {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
        };
        let params: Vec<_> = f.params.iter().map(ty).collect();
        let results: Vec<_> = f.results.iter().map(ty).collect();
        out.push_str(&format!(
            "(import \"{}\" \"{}\" (func ${} (param {}) (result {})))\n",
            f.module,
            f.name,
            f.name,
            params.join(" "),
            results.join(" ")
        ));
    }
    out
}

/// A module importing every host function, with one page of exported memory,
/// the given data segments and functions (`call` must be among them).
fn module(body: &str) -> Vec<u8> {
    let wat = format!(
        "(module\n{}\n(memory (export \"memory\") 1 1)\n{body})",
        imports()
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("bad test WAT: {e}\n{wat}"))
}

struct Harness {
    executor: Executor,
    world: InMemoryWorld,
    block: BlockContext,
}

impl Harness {
    fn new() -> Self {
        Self::with_config(ExecConfig::default())
    }

    fn with_config(config: ExecConfig) -> Self {
        let mut world = InMemoryWorld::new();
        world.fund(addr(USER), U256::from(1_000_000u64));
        Self {
            executor: Executor::new(config),
            world,
            block: BlockContext {
                number: 7,
                timestamp: 1_700_000_000,
                chain_id: 42,
            },
        }
    }

    /// A fresh executor over a copy of an existing world.
    fn new_with_world(world: InMemoryWorld) -> Self {
        Self {
            world,
            ..Self::new()
        }
    }

    fn message(&self, target: Address, input: &[u8], gas_limit: u64) -> Message {
        Message {
            origin: addr(USER),
            caller: addr(USER),
            target,
            value: U256::zero(),
            input: input.to_vec(),
            gas_limit,
            kind: MessageKind::Call,
        }
    }

    fn deploy(&mut self, at: Address, code: &[u8]) -> ExecOutcome {
        let msg = Message {
            kind: MessageKind::Deploy {
                code: code.to_vec(),
            },
            ..self.message(at, &[], GAS)
        };
        let outcome = self
            .executor
            .execute(&self.world, &self.block, &msg)
            .expect("no node error");
        self.world.apply(&outcome.changes);
        outcome
    }

    fn install(&mut self, at: Address, body: &str) {
        let outcome = self.deploy(at, &module(body));
        assert!(outcome.is_success(), "deploy failed: {:?}", outcome.status);
    }

    fn run(&self, msg: &Message) -> ExecOutcome {
        self.executor
            .execute(&self.world, &self.block, msg)
            .expect("no node error")
    }

    fn call(&self, target: Address, input: &[u8]) -> ExecOutcome {
        self.run(&self.message(target, input, GAS))
    }

    fn call_apply(&mut self, target: Address, input: &[u8]) -> ExecOutcome {
        let outcome = self.call(target, input);
        self.world.apply(&outcome.changes);
        outcome
    }

    fn storage(&self, contract: Address, key: &[u8]) -> Option<Vec<u8>> {
        self.world.storage.get(&(contract, key.to_vec())).cloned()
    }
}

fn returned(outcome: &ExecOutcome) -> Vec<u8> {
    match &outcome.status {
        ExecStatus::Success { return_data } => return_data.clone(),
        other => panic!(
            "expected success, got {other:?} ({:?})",
            outcome.diagnostics
        ),
    }
}

fn trap_of(outcome: &ExecOutcome) -> TrapKind {
    match &outcome.status {
        ExecStatus::Halt {
            reason: HaltReason::Trap(kind),
        } => *kind,
        other => panic!("expected a trap, got {other:?}"),
    }
}

fn is_halt(outcome: &ExecOutcome, expected: &HaltReason) -> bool {
    matches!(&outcome.status, ExecStatus::Halt { reason } if reason == expected)
}

/// `call` that returns `len` bytes of memory at `ptr` after running `body`.
fn returning(body: &str, ptr: u32, len: u32) -> String {
    format!(
        "(func (export \"call\") {body} (call $return_value (i32.const {ptr}) (i32.const {len})))"
    )
}

// Contracts and helpers several topics use.

const STORAGE: &str = r#"
    (data (i32.const 0) "k1")
    (data (i32.const 8) "k2")
    (data (i32.const 16) "value-one")
    ;; input[0]: 0 write k1=value-one, 1 write k2="" (empty), 2 remove k1 -> returns code,
    ;;           3 read k1 into a 4-byte buffer -> returns (len, buffer), 4 read k2, 5 read k1 full
    (func (export "call") (local $op i32) (local $r i32)
      (call $input_copy (i32.const 100) (i32.const 0) (i32.const 1))
      (local.set $op (i32.load8_u (i32.const 100)))
      (block $done
        (if (i32.eq (local.get $op) (i32.const 0)) (then
          (call $storage_write (i32.const 0) (i32.const 2) (i32.const 16) (i32.const 9)) (br $done)))
        (if (i32.eq (local.get $op) (i32.const 1)) (then
          (call $storage_write (i32.const 8) (i32.const 2) (i32.const 16) (i32.const 0)) (br $done)))
        (if (i32.eq (local.get $op) (i32.const 2)) (then
          (i32.store (i32.const 200) (call $storage_remove (i32.const 0) (i32.const 2)))
          (call $return_value (i32.const 200) (i32.const 4))))
        (if (i32.eq (local.get $op) (i32.const 3)) (then
          (i32.store (i32.const 200) (call $storage_read (i32.const 0) (i32.const 2) (i32.const 204) (i32.const 4)))
          (call $return_value (i32.const 200) (i32.const 8))))
        (if (i32.eq (local.get $op) (i32.const 4)) (then
          (i32.store (i32.const 200) (call $storage_read (i32.const 8) (i32.const 2) (i32.const 204) (i32.const 4)))
          (call $return_value (i32.const 200) (i32.const 4))))
        (if (i32.eq (local.get $op) (i32.const 5)) (then
          (local.set $r (call $storage_read (i32.const 0) (i32.const 2) (i32.const 204) (i32.const 64)))
          (call $return_value (i32.const 204) (local.get $r))))
        unreachable))
"#;

fn i32_le(bytes: &[u8]) -> i32 {
    i32::from_le_bytes(bytes[..4].try_into().unwrap())
}

/// Callee: input[0] selects: 0 write "callee"="ok" and return "pong",
/// 1 write then revert with "no", 2 write then trap, 3 loop forever.
const CALLEE: &str = r#"
    (data (i32.const 0) "callee") (data (i32.const 8) "ok") (data (i32.const 16) "pong") (data (i32.const 24) "no")
    (func (export "call") (local $op i32)
      (call $input_copy (i32.const 100) (i32.const 0) (i32.const 1))
      (local.set $op (i32.load8_u (i32.const 100)))
      (call $storage_write (i32.const 0) (i32.const 6) (i32.const 8) (i32.const 2))
      (if (i32.eq (local.get $op) (i32.const 0)) (then (call $return_value (i32.const 16) (i32.const 4))))
      (if (i32.eq (local.get $op) (i32.const 1)) (then (call $revert (i32.const 24) (i32.const 2))))
      (if (i32.eq (local.get $op) (i32.const 2)) (then unreachable))
      (loop $forever (br $forever)))
"#;

/// Caller: writes "caller"="ok", calls addr(2) with its own input and gas
/// limit from input[1..9] (i64 LE), returns code (4) ‖ gas_left before (8) ‖
/// gas_left after (8) ‖ return data.
const CALLER: &str = r#"
    (data (i32.const 0) "caller") (data (i32.const 8) "ok")
    (data (i32.const 40) "\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02")
    (func (export "call") (local $n i32) (local $code i32) (local $limit i64)
      (call $input_copy (i32.const 100) (i32.const 0) (i32.const 9))
      (local.set $limit (i64.load (i32.const 101)))
      (call $storage_write (i32.const 0) (i32.const 6) (i32.const 8) (i32.const 2))
      (i64.store (i32.const 304) (call $gas_left))
      (local.set $code (call $call (i32.const 40) (i32.const 64) (local.get $limit) (i32.const 100) (i32.const 1)))
      (i64.store (i32.const 312) (call $gas_left))
      (i32.store (i32.const 300) (local.get $code))
      (local.set $n (call $return_data_size))
      (call $return_data_copy (i32.const 320) (i32.const 0) (local.get $n))
      (call $return_value (i32.const 300) (i32.add (i32.const 20) (local.get $n))))
"#;

fn caller_input(op: u8, limit: i64) -> Vec<u8> {
    let mut input = vec![op];
    input.extend_from_slice(&limit.to_le_bytes());
    input
}

/// Counts its depth in storage and calls itself until the call does not start.
const RECURSIVE: &str = r#"
    (data (i32.const 0) "n")
    (data (i32.const 40) "\03\03\03\03\03\03\03\03\03\03\03\03\03\03\03\03\03\03\03\03")
    (func (export "call") (local $r i32)
      (i32.store (i32.const 100) (i32.const 0))
      (drop (call $storage_read (i32.const 0) (i32.const 1) (i32.const 100) (i32.const 4)))
      (i32.store (i32.const 100) (i32.add (i32.load (i32.const 100)) (i32.const 1)))
      (call $storage_write (i32.const 0) (i32.const 1) (i32.const 100) (i32.const 4))
      (local.set $r (call $call (i32.const 40) (i32.const 64) (i64.const -1) (i32.const 0) (i32.const 0)))
      (i32.store (i32.const 104) (local.get $r))
      (call $return_value (i32.const 104) (i32.const 4)))
"#;

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

fn bless() -> bool {
    std::env::var("CAIRN_BLESS_VECTORS").as_deref() == Ok("1")
}

mod calls;
mod context;
mod crypto;
mod deploy;
mod diagnostics;
mod events;
mod garbage;
mod gas;
mod hostile;
mod io;
mod node_errors;
mod spec;
mod storage;
mod vectors;
