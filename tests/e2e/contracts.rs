//! The committed contract artifacts (`contracts/artifacts`) run through the
//! real engine: deploys, calls, events, reverts and gas of every example,
//! token invariants as property tests against a model, the hostile fixtures'
//! halts, and the host ABI encoder against the SDK decoder.

use cairn_chain::{SigningKey, contract_address};
use cairn_engine::runtime::{
    BlockContext, ExecConfig, ExecOutcome, ExecStatus, Executor, HaltReason, InMemoryWorld,
    Message, MessageKind,
};
use cairn_host_api::abi::{
    RevertReason, decode_result, decode_revert, encode_call, encode_deploy, event_signature,
    storage_key, topic,
};
use cairn_host_api::world::{Address, H256, U256};
use parity_scale_codec::{Decode, Encode};
use proptest::prelude::*;
use sha3::{Digest, Keccak256};

const GAS: u64 = 50_000_000;
const BLOCK: BlockContext = BlockContext {
    number: 7,
    timestamp: 1_700_000_000,
    chain_id: 31,
};

fn artifact(name: &str) -> Vec<u8> {
    let path = cairn_tests::repo_root()
        .join("contracts/artifacts")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn account(n: u64) -> Address {
    Address::from_low_u64_be(0xA000 + n)
}

/// A world, an executor and the block, applying each successful message.
struct Chain {
    executor: Executor,
    world: InMemoryWorld,
    deploys: u64,
}

impl Chain {
    fn new() -> Self {
        let mut world = InMemoryWorld::new();
        for n in 0..8 {
            world.fund(account(n), U256::from(1_000_000_000u64));
        }
        Self {
            executor: Executor::new(ExecConfig::default()),
            world,
            deploys: 0,
        }
    }

    fn run(&mut self, message: &Message) -> ExecOutcome {
        let outcome = self
            .executor
            .execute(&self.world, &BLOCK, message)
            .expect("node failure");
        assert!(
            outcome.gas_used <= message.gas_limit,
            "gas used above the limit"
        );
        if outcome.is_success() {
            self.world.apply(&outcome.changes);
        } else {
            assert!(outcome.changes.is_empty() && outcome.logs.is_empty());
        }
        outcome
    }

    fn deploy_with(
        &mut self,
        from: Address,
        code: Vec<u8>,
        input: Vec<u8>,
        value: U256,
    ) -> (Address, ExecOutcome) {
        self.deploys += 1;
        let target = contract_address(&from, self.deploys);
        let outcome = self.run(&Message {
            origin: from,
            caller: from,
            target,
            value,
            input,
            gas_limit: GAS,
            kind: MessageKind::Deploy { code },
        });
        (target, outcome)
    }

    fn deploy<A: Encode>(&mut self, from: Address, name: &str, args: &A) -> Address {
        let (address, outcome) =
            self.deploy_with(from, artifact(name), encode_deploy(args), U256::zero());
        assert!(
            outcome.is_success(),
            "deploying {name}: {:?}",
            outcome.status
        );
        address
    }

    fn call_raw(
        &mut self,
        from: Address,
        to: Address,
        input: Vec<u8>,
        value: U256,
        gas_limit: u64,
    ) -> ExecOutcome {
        self.run(&Message {
            origin: from,
            caller: from,
            target: to,
            value,
            input,
            gas_limit,
            kind: MessageKind::Call,
        })
    }

    fn call<A: Encode>(
        &mut self,
        from: Address,
        to: Address,
        method: &str,
        args: &A,
    ) -> ExecOutcome {
        self.call_raw(from, to, encode_call(method, args), U256::zero(), GAS)
    }

    /// Calls `method` and decodes its result, failing the test on anything else.
    fn query<A: Encode, R: Decode>(
        &mut self,
        from: Address,
        to: Address,
        method: &str,
        args: &A,
    ) -> R {
        let outcome = self.call(from, to, method, args);
        decode_result(&success_data(&outcome, method)).unwrap_or_else(|e| panic!("{method}: {e}"))
    }
}

fn success_data(outcome: &ExecOutcome, what: &str) -> Vec<u8> {
    match &outcome.status {
        ExecStatus::Success { return_data } => return_data.clone(),
        ExecStatus::Revert { data } => panic!("{what} reverted: {}", decode_revert(data)),
        other => panic!(
            "{what} did not succeed: {other:?} {:?}",
            outcome.diagnostics
        ),
    }
}

fn revert_reason(outcome: &ExecOutcome) -> RevertReason {
    match &outcome.status {
        ExecStatus::Revert { data } => decode_revert(data),
        other => panic!("expected a revert, got {other:?}"),
    }
}

fn halt_reason(outcome: &ExecOutcome) -> HaltReason {
    match &outcome.status {
        ExecStatus::Halt { reason } => *reason,
        other => panic!("expected a halt, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Artifacts
// ---------------------------------------------------------------------------

#[test]
fn manifest_matches_committed_artifacts() {
    let path = cairn_tests::repo_root().join("contracts/artifacts/manifest.json");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let contracts = manifest["contracts"].as_array().unwrap();
    assert!(contracts.len() >= 11);
    for entry in contracts {
        let name = entry["name"].as_str().unwrap();
        let code = artifact(name);
        assert_eq!(entry["size"].as_u64().unwrap(), code.len() as u64, "{name}");
        let hash = format!("0x{}", hex::encode(Keccak256::digest(&code)));
        assert_eq!(entry["code_hash"].as_str().unwrap(), hash, "{name}");
    }
    let token = contracts.iter().find(|c| c["name"] == "token").unwrap();
    assert!(
        token["size"].as_u64().unwrap() < 16 * 1024,
        "token must stay under 16 KiB"
    );
}

/// Every artifact but the float fixture passes validation with the default
/// limits and exports what its kind needs; the float fixture fails on the
/// floating-point rule and nothing else.
#[test]
fn every_artifact_prepares_except_the_float_fixture() {
    use cairn_engine::prepare::{GasSchedule, Rule, ValidationLimits, prepare_code};
    let (schedule, limits) = (GasSchedule::v2(), ValidationLimits::default());
    for name in [
        "counter",
        "token",
        "multisig",
        "router",
        "abi_echo",
        "infinite_loop",
        "deep_recursion",
        "memory_bomb",
        "storage_spam",
        "giant_return",
    ] {
        let prepared = prepare_code(&artifact(name), &schedule, &limits)
            .unwrap_or_else(|e| panic!("{name} rejected: {e}"));
        assert!(prepared.exports.iter().any(|e| e == "call"), "{name}");
        assert!(
            prepared.imports.iter().all(|i| i.starts_with("cairn_v1::")),
            "{name}: {:?}",
            prepared.imports
        );
        let deploys = matches!(name, "counter" | "token" | "multisig");
        assert_eq!(prepared.has_deploy, deploys, "{name}");
    }
    let rejected = prepare_code(&artifact("uses_floats"), &schedule, &limits).unwrap_err();
    assert_eq!(rejected.rule(), Rule::FloatingPoint, "{rejected}");
}

// ---------------------------------------------------------------------------
// counter
// ---------------------------------------------------------------------------

// The counter's behaviour is tested on cairn-testkit (testkit/tests/examples.rs).

#[test]
fn dispatch_rejects_bad_call_data() {
    let mut chain = Chain::new();
    let counter = chain.deploy(account(0), "counter", &0u64);
    let unknown = chain.call(account(0), counter, "no_such_method", &());
    assert_eq!(
        revert_reason(&unknown),
        RevertReason::UnknownSelector(cairn_host_api::abi::selector("no_such_method"))
    );
    let short = chain.call_raw(account(0), counter, vec![1, 2], U256::zero(), GAS);
    assert_eq!(
        revert_reason(&short),
        RevertReason::Error("call data shorter than a selector".into())
    );
    // Trailing bytes after the arguments are malformed call data too.
    let mut long = encode_call("increment", &1u64);
    long.push(0);
    let malformed = chain.call_raw(account(0), counter, long, U256::zero(), GAS);
    assert_eq!(
        revert_reason(&malformed),
        RevertReason::Error("malformed arguments".into())
    );
    let truncated = chain.call_raw(
        account(0),
        counter,
        encode_call("increment", &1u32),
        U256::zero(),
        GAS,
    );
    assert_eq!(
        revert_reason(&truncated),
        RevertReason::Error("malformed arguments".into())
    );
}

#[test]
fn gas_is_deterministic_and_bounded() {
    let run = || {
        let mut chain = Chain::new();
        let counter = chain.deploy(account(0), "counter", &1u64);
        chain.call(account(1), counter, "increment", &1u64).gas_used
    };
    let first = run();
    assert_eq!(first, run());

    let mut chain = Chain::new();
    let counter = chain.deploy(account(0), "counter", &1u64);
    let starved = chain.call_raw(
        account(1),
        counter,
        encode_call("increment", &1u64),
        U256::zero(),
        first - 1,
    );
    assert_eq!(halt_reason(&starved), HaltReason::OutOfGas);
    assert_eq!(starved.gas_used, first - 1);
    let exact = chain.call_raw(
        account(1),
        counter,
        encode_call("increment", &1u64),
        U256::zero(),
        first,
    );
    assert!(exact.is_success(), "{:?}", exact.status);
    assert_eq!(exact.gas_used, first);
}

// ---------------------------------------------------------------------------
// token
// ---------------------------------------------------------------------------

fn deploy_token(chain: &mut Chain, owner: Address, supply: u64) -> Address {
    chain.deploy(
        owner,
        "token",
        &(
            "Cairn Token".to_string(),
            "CRN".to_string(),
            U256::from(supply),
        ),
    )
}

// The token's behaviour (transfers, approvals, reverts, events, a model of
// its balances and allowances under random calls) is tested on cairn-testkit:
// testkit/tests/examples.rs and testkit/tests/token_model.rs.

// router: tested on cairn-testkit (testkit/tests/examples.rs).

// ---------------------------------------------------------------------------
// multisig: ecrecover over keccak256 of the proposal
// ---------------------------------------------------------------------------

struct Wallet {
    address: Address,
}

fn deploy_wallet(chain: &mut Chain, funds: u64) -> Wallet {
    let mut keys: Vec<SigningKey> = (0..3u8)
        .map(|i| SigningKey::from_seed(&[b'k', i]))
        .collect();
    keys.sort_by_key(SigningKey::address);
    let owners: Vec<Address> = keys.iter().map(SigningKey::address).collect();
    let (address, outcome) = chain.deploy_with(
        account(0),
        artifact("multisig"),
        encode_deploy(&(owners, 2u32)),
        U256::from(funds),
    );
    assert!(outcome.is_success(), "{:?}", outcome.status);
    Wallet { address }
}

// The multisig's own behaviour (signatures, deposits, owner sets, calls) is
// tested on cairn-testkit: testkit/tests/multisig.rs. The helpers above stay
// for the ABI vectors' proposals.

// ---------------------------------------------------------------------------
// Hostile fixtures
// ---------------------------------------------------------------------------

#[test]
fn infinite_loop_runs_out_of_gas_exactly() {
    let mut chain = Chain::new();
    let spinner = chain.deploy(account(0), "infinite_loop", &());
    for limit in [10_000u64, 1_000_000] {
        let outcome = chain.call_raw(
            account(0),
            spinner,
            encode_call("spin", &()),
            U256::zero(),
            limit,
        );
        assert_eq!(halt_reason(&outcome), HaltReason::OutOfGas);
        assert_eq!(outcome.gas_used, limit);
    }
}

#[test]
fn unbounded_recursion_exhausts_the_stack_limit() {
    let mut chain = Chain::new();
    let fixture = chain.deploy(account(0), "deep_recursion", &());
    assert_eq!(
        chain.query::<_, u32>(account(0), fixture, "recurse", &100u32),
        100
    );
    let deep = chain.call(account(0), fixture, "recurse", &u32::MAX);
    assert_eq!(halt_reason(&deep), HaltReason::StackExhausted);
    // The stack limit, not gas, stops the recursion, and the halt uses the
    // whole limit (specs/gas.md, 7). Deployed code keeps the counter in a
    // local, so the diagnostics give none.
    let diagnostics = deep.diagnostics.as_ref().expect("halt diagnostics");
    assert_eq!(diagnostics.gas_left, None, "{diagnostics:?}");
    assert_eq!(deep.gas_used, GAS);
}

#[test]
fn memory_bomb_stops_at_the_declared_maximum() {
    let mut chain = Chain::new();
    let bomb = chain.deploy(account(0), "memory_bomb", &());
    assert_eq!(chain.query::<_, u32>(account(0), bomb, "grow", &()), 16);
    let starved = chain.call_raw(
        account(0),
        bomb,
        encode_call("grow", &()),
        U256::zero(),
        5_000,
    );
    assert_eq!(halt_reason(&starved), HaltReason::OutOfGas);
    // More than 1 MiB cannot be allocated: the SDK's allocator fails and the
    // panic handler reverts.
    let too_big = chain.call(account(0), bomb, "allocate", &2_000_000u32);
    // Its message is formatted ("memory allocation of N bytes failed"); the
    // default panic handler carries a fixed text for those.
    assert_eq!(
        revert_reason(&too_big),
        RevertReason::Panic(
            "panic with a formatted message (build with the SDK's `formatted-panics` feature to see it)".into()
        )
    );
}

#[test]
fn storage_spam_is_bounded_by_gas() {
    let mut chain = Chain::new();
    let spam = chain.deploy(account(0), "storage_spam", &());
    let few = chain.call(account(0), spam, "spam", &(3u32, 10u32));
    success_data(&few, "spam");
    let writes = few
        .changes
        .storage
        .keys()
        .filter(|(a, _)| *a == spam)
        .count();
    assert_eq!(writes, 3);
    let flood = chain.call_raw(
        account(0),
        spam,
        encode_call("spam", &(u32::MAX, 1_024u32)),
        U256::zero(),
        10_000_000,
    );
    assert_eq!(halt_reason(&flood), HaltReason::OutOfGas);
    assert_eq!(flood.gas_used, 10_000_000);
}

#[test]
fn giant_return_data_is_paid_per_byte() {
    let mut chain = Chain::new();
    let giant = chain.deploy(account(0), "giant_return", &());
    let small = chain.call(account(0), giant, "sized", &100u32);
    assert_eq!(success_data(&small, "sized"), vec![0x5A; 100]);
    let starved = chain.call_raw(
        account(0),
        giant,
        encode_call("giant", &()),
        U256::zero(),
        200_000,
    );
    assert_eq!(halt_reason(&starved), HaltReason::OutOfGas);
    let all = chain.call(account(0), giant, "giant", &());
    assert_eq!(success_data(&all, "giant").len(), 16 * 65_536);
    assert!(all.gas_used > 16 * 65_536, "return_value charges per byte");
}

#[test]
fn float_fixture_is_rejected_at_deploy() {
    let mut chain = Chain::new();
    let (_, outcome) = chain.deploy_with(
        account(0),
        artifact("uses_floats"),
        Vec::new(),
        U256::zero(),
    );
    assert_eq!(
        halt_reason(&outcome),
        HaltReason::InvalidCode(cairn_engine::prepare::Rule::FloatingPoint)
    );
    let message = outcome.diagnostics.expect("diagnostics").message;
    assert!(message.contains("float"), "{message}");
    assert_eq!(outcome.gas_used, 0);
}

// ---------------------------------------------------------------------------
// ABI: host encoder against the SDK decoder
// ---------------------------------------------------------------------------

/// The contract's flat 13-tuple; nested here because std implements `Debug`
/// and `PartialEq` only up to 12 elements. SCALE encodes a tuple as the
/// concatenation of its fields, so both shapes have the same encoding.
type Everything = (
    (u8, u16, u32, u64, u128, bool),
    (
        String,
        Vec<u8>,
        Option<u32>,
        U256,
        Address,
        Vec<(u16, i64)>,
        H256,
    ),
);

fn everything() -> impl Strategy<Value = Everything> {
    let numbers = (
        any::<u8>(),
        any::<u16>(),
        any::<u32>(),
        any::<u64>(),
        any::<u128>(),
        any::<bool>(),
    );
    let containers = (
        ".{0,40}",
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::option::of(any::<u32>()),
        any::<[u8; 32]>().prop_map(|b| U256::from_little_endian(&b)),
        any::<[u8; 20]>().prop_map(Address::from),
        proptest::collection::vec((any::<u16>(), any::<i64>()), 0..8),
        any::<[u8; 32]>().prop_map(H256::from),
    );
    (numbers, containers)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn host_encoder_round_trips_through_the_sdk_decoder(value in everything()) {
        let mut chain = Chain::new();
        let echo = chain.deploy(account(0), "abi_echo", &());
        let echoed: Everything = chain.query(account(0), echo, "echo", &(value.clone(),));
        prop_assert_eq!(echoed, value);
    }
}

#[test]
fn sdk_context_crypto_storage_and_reverts_agree_with_the_host() {
    let mut chain = Chain::new();
    let echo = chain.deploy(account(0), "abi_echo", &());
    let args = (
        u64::MAX,
        "multi ✓".to_string(),
        vec![account(1), account(2)],
    );
    assert_eq!(
        chain.query::<_, (u64, String, Vec<Address>)>(account(0), echo, "echo_args", &args),
        args
    );

    // Context: caller, origin, own address, value, block fields, own balance.
    let outcome = chain.call_raw(
        account(3),
        echo,
        encode_call("context", &()),
        U256::from(77u64),
        GAS,
    );
    let context: (Address, Address, Address, U256, u64, u64, u64, U256) =
        decode_result(&success_data(&outcome, "context")).unwrap();
    assert_eq!(
        context,
        (
            account(3),
            account(3),
            echo,
            U256::from(77u64),
            BLOCK.number,
            BLOCK.timestamp,
            BLOCK.chain_id,
            U256::from(77u64)
        )
    );

    let data = b"keccak me".to_vec();
    let hash: H256 = chain.query(account(0), echo, "keccak", &data);
    assert_eq!(hash, H256(Keccak256::digest(&data).into()));

    let key = SigningKey::from_seed(b"echo");
    let signature = key.sign_digest(&hash);
    assert_eq!(
        chain.query::<_, Option<Address>>(account(0), echo, "recover", &(hash, signature)),
        Some(key.address())
    );
    let mut bad = signature;
    bad[64] = 7;
    assert_eq!(
        chain.query::<_, Option<Address>>(account(0), echo, "recover", &(hash, bad)),
        None
    );

    success_data(
        &chain.call(account(0), echo, "store", &(b"k".to_vec(), b"v".to_vec())),
        "store",
    );
    assert_eq!(
        chain.world.storage[&(echo, storage_key("entries", &b"k".to_vec()))],
        b"v".to_vec().encode()
    );
    assert_eq!(
        chain.query::<_, Option<Vec<u8>>>(account(0), echo, "load", &b"k".to_vec()),
        Some(b"v".to_vec())
    );
    assert!(chain.query::<_, bool>(account(0), echo, "contains", &b"k".to_vec()));
    assert!(!chain.query::<_, bool>(account(0), echo, "contains", &b"other".to_vec()));
    assert!(chain.query::<_, bool>(account(0), echo, "remove", &b"k".to_vec()));
    assert!(!chain.query::<_, bool>(account(0), echo, "contains", &b"k".to_vec()));
    assert_eq!(
        chain.query::<_, Option<Vec<u8>>>(account(0), echo, "load", &b"k".to_vec()),
        None
    );
    assert!(!chain.query::<_, bool>(account(0), echo, "remove", &b"k".to_vec()));

    let topics = vec![event_signature("Echo"), topic(&1u8), topic(&[7u8; 40])];
    let logged = chain.call(account(0), echo, "log", &(topics.clone(), vec![1u8, 2]));
    success_data(&logged, "log");
    assert_eq!(logged.logs[0].topics, topics);
    assert_eq!(logged.logs[0].data, vec![1u8, 2].encode());

    let failed = chain.call(account(0), echo, "fail", &"nope".to_string());
    assert_eq!(revert_reason(&failed), RevertReason::Error("nope".into()));
    let custom = chain.call(account(0), echo, "fail_custom", &7u32);
    assert_eq!(revert_reason(&custom).custom::<u32>("EchoError"), Some(7));
    let panicked = chain.call(account(0), echo, "panic_with", &"boom".to_string());
    assert_eq!(revert_reason(&panicked), RevertReason::Panic("boom".into()));
    let overflow = chain.call(account(0), echo, "add", &(u64::MAX, 1u64));
    match revert_reason(&overflow) {
        RevertReason::Panic(message) => assert!(message.contains("overflow"), "{message}"),
        other => panic!("expected a panic revert, got {other:?}"),
    }
    assert_eq!(
        chain.query::<_, u64>(account(0), echo, "add", &(2u64, 3u64)),
        5
    );
    let left: u64 = chain.query(account(0), echo, "gas", &());
    assert!(left > 0 && left < GAS);
}
#[test]
fn debug_print_reaches_dev_mode_only_and_costs_the_same() {
    let run = |dev_mode: bool| {
        let mut chain = Chain::new();
        chain.executor = Executor::new(ExecConfig {
            dev_mode,
            ..ExecConfig::default()
        });
        let echo = chain.deploy(account(0), "abi_echo", &());
        chain.call(account(0), echo, "debug", &"hello from wasm".to_string())
    };
    let (dev, node) = (run(true), run(false));
    assert!(dev.is_success() && node.is_success());
    assert_eq!(dev.debug_output, vec!["hello from wasm".to_string()]);
    assert!(node.debug_output.is_empty());
    assert_eq!(dev.gas_used, node.gas_used);
}

mod abi_vectors;
mod metadata;
mod profile;

// ---------------------------------------------------------------------------
// Debug artifacts
// ---------------------------------------------------------------------------

fn debug_artifact(name: &str) -> Vec<u8> {
    let path = cairn_tests::repo_root()
        .join("contracts/artifacts/debug")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `wasm` without its custom `name` section; every other byte as it was.
fn without_name_section(wasm: &[u8]) -> Vec<u8> {
    fn leb(bytes: &[u8], at: &mut usize) -> usize {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let b = bytes[*at];
            *at += 1;
            value |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }
    let mut out = wasm[..8].to_vec();
    let mut at = 8;
    while at < wasm.len() {
        let start = at;
        let id = wasm[at];
        at += 1;
        let size = leb(wasm, &mut at);
        let end = at + size;
        let mut name_at = at;
        let name_len = if id == 0 { leb(wasm, &mut name_at) } else { 0 };
        let is_name = id == 0 && &wasm[name_at..name_at + name_len] == b"name";
        if !is_name {
            out.extend_from_slice(&wasm[start..end]);
        }
        at = end;
    }
    out
}

/// The debug artifacts carry demangled function names, so a traced failing
/// call names the Rust function; their code is the release artifacts' code,
/// so the consensus result is the same.
#[test]
fn debug_artifacts_name_functions_in_trap_diagnostics() {
    let mut chain = Chain::new();
    let debug_code = debug_artifact("deep_recursion");
    let release_code = artifact("deep_recursion");
    assert!(debug_code.len() > release_code.len());
    assert_eq!(
        without_name_section(&debug_code),
        release_code,
        "the release artifact is the debug one without its name section"
    );
    let (debug, outcome) =
        chain.deploy_with(account(0), debug_code, encode_deploy(&()), U256::zero());
    assert!(outcome.is_success(), "{:?}", outcome.status);
    let release = chain.deploy(account(0), "deep_recursion", &());
    let message = |target| Message {
        origin: account(0),
        caller: account(0),
        target,
        value: U256::zero(),
        input: encode_call("recurse", &u32::MAX),
        gas_limit: GAS,
        kind: MessageKind::Call,
    };
    let traced = chain
        .executor
        .execute_traced(&chain.world, &BLOCK, &message(debug))
        .expect("node failure");
    assert_eq!(halt_reason(&traced), HaltReason::StackExhausted);
    let d = traced.diagnostics.expect("a halt has diagnostics");
    assert_eq!(
        d.function.as_deref(),
        Some("deep_recursion::descend"),
        "{d:?}"
    );
    assert!(
        d.message.contains("deep_recursion::descend"),
        "{}",
        d.message
    );
    assert!(d.backtrace.len() > 100);
    assert!(d.backtrace.iter().all(|f| f.name.is_some()), "{d:?}");

    // The stripped release artifact halts identically, without names.
    let stripped = chain
        .executor
        .execute_traced(&chain.world, &BLOCK, &message(release))
        .expect("node failure");
    assert_eq!(
        (&stripped.status, stripped.gas_used),
        (&traced.status, traced.gas_used)
    );
    let d = stripped.diagnostics.expect("a halt has diagnostics");
    assert!(
        !d.message.contains("deep_recursion::descend"),
        "{}",
        d.message
    );
}
