//! Gas profiles (`Executor::execute_profiled`, `cairn run --profile`) never
//! change the outcome: the same status, gas, logs and state changes as the
//! consensus run, and a profile that accounts for exactly the gas used, on
//! every example and hostile fixture, nested calls and halts included.

use cairn_engine::runtime::{ExecOutcome, GasProfile, Message, MessageKind};
use cairn_host_api::abi::{encode_call, encode_deploy};
use cairn_host_api::world::{Address, U256};

use super::{BLOCK, Chain, GAS, account, artifact};

fn debug_artifact(name: &str) -> Vec<u8> {
    let path = cairn_tests::repo_root()
        .join("contracts/artifacts/debug")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `message` both ways and checks they agree; returns the profile.
fn profiled(chain: &Chain, message: &Message) -> (ExecOutcome, GasProfile) {
    let plain = chain
        .executor
        .execute(&chain.world, &BLOCK, message)
        .expect("node failure");
    let (outcome, profile) = chain
        .executor
        .execute_profiled(&chain.world, &BLOCK, message)
        .expect("node failure");
    assert_eq!(outcome.status, plain.status);
    assert_eq!(
        outcome.gas_used, plain.gas_used,
        "profiling changed the gas"
    );
    assert_eq!(outcome.logs, plain.logs);
    assert_eq!(outcome.changes, plain.changes);
    assert_eq!(
        profile.total(),
        plain.gas_used,
        "the profile accounts for all the gas: {:?}",
        profile.folded()
    );
    (outcome, profile)
}

fn call(from: Address, to: Address, input: Vec<u8>, gas_limit: u64) -> Message {
    Message {
        origin: from,
        caller: from,
        target: to,
        value: U256::zero(),
        input,
        gas_limit,
        kind: MessageKind::Call,
    }
}

fn self_gas(profile: &GasProfile, frame: &str) -> u64 {
    profile
        .by_function()
        .into_iter()
        .find(|(name, _)| name == frame)
        .map_or(0, |(_, gas)| gas)
}

#[test]
fn profiling_never_changes_the_outcome() {
    let mut chain = Chain::new();
    let owner = account(0);
    let supply = U256::from(1_000_000u64);
    let token = chain.deploy(owner, "token", &("T".to_string(), "T".to_string(), supply));
    let router = chain.deploy(owner, "router", &());
    chain.call(owner, token, "approve", &(router, U256::from(500u64)));
    let mut cases: Vec<(&str, Message)> = vec![
        (
            "transfer",
            call(
                owner,
                token,
                encode_call("transfer", &(account(1), U256::from(5u64))),
                GAS,
            ),
        ),
        (
            "transfer reverting",
            call(
                account(2),
                token,
                encode_call("transfer", &(owner, U256::from(5u64))),
                GAS,
            ),
        ),
        (
            "nested call through the router",
            call(
                owner,
                router,
                encode_call("pay", &(token, account(3), U256::from(7u64))),
                GAS,
            ),
        ),
        (
            "nested call that fails",
            call(
                owner,
                router,
                encode_call("pay", &(token, account(3), U256::from(9_999u64))),
                GAS,
            ),
        ),
    ];
    // Limits around the point where a transfer runs out of gas.
    for gas in [1_000, 5_000, 20_000] {
        cases.push((
            "transfer out of gas",
            call(
                owner,
                token,
                encode_call("transfer", &(account(1), U256::from(1u64))),
                gas,
            ),
        ));
    }
    // Every hostile fixture, deployed as plain code.
    let fixtures: [(&str, Vec<u8>); 5] = [
        ("infinite_loop", encode_call("spin", &())),
        ("deep_recursion", encode_call("recurse", &(100_000u32,))),
        ("memory_bomb", encode_call("allocate", &(4_000_000u32,))),
        ("storage_spam", encode_call("spam", &(50u32, 40u32))),
        ("giant_return", encode_call("sized", &(1_000u32,))),
    ];
    for (name, input) in fixtures {
        let (address, deployed) =
            chain.deploy_with(owner, artifact(name), encode_deploy(&()), U256::zero());
        assert!(deployed.is_success(), "{name}");
        cases.push((name, call(owner, address, input, 2_000_000)));
    }
    let deploy = Message {
        kind: MessageKind::Deploy {
            code: artifact("token"),
        },
        input: encode_deploy(&("T".to_string(), "T".to_string(), supply)),
        target: Address::repeat_byte(0x77),
        ..call(owner, token, Vec::new(), GAS)
    };
    cases.push(("deploy", deploy));
    let mut statuses = Vec::new();
    for (what, message) in &cases {
        let (outcome, profile) = profiled(&chain, message);
        assert!(!profile.stacks.is_empty(), "{what}: an empty profile");
        statuses.push(outcome.status.name());
    }
    // The cases cover success, revert and halts.
    for status in ["success", "revert", "out_of_gas"] {
        assert!(
            statuses.contains(&status),
            "{status} not covered: {statuses:?}"
        );
    }
}

#[test]
fn profiles_attribute_gas_to_functions_and_host_calls() {
    let mut chain = Chain::new();
    let owner = account(0);
    let (counter, deployed) = chain.deploy_with(
        owner,
        debug_artifact("counter"),
        encode_deploy(&(0u64,)),
        U256::zero(),
    );
    assert!(deployed.is_success());
    let message = call(owner, counter, encode_call("increment", &(5u64,)), GAS);
    let (_, profile) = profiled(&chain, &message);
    // The host functions' own costs (specs/host-api.md), each a frame.
    let key_len = cairn_host_api::abi::storage_key("count", &()).len() as u64;
    let write = cairn_host_api::gas::storage_write.cost(key_len + 8);
    assert_eq!(self_gas(&profile, "host:storage_write"), write);
    assert!(self_gas(&profile, "host:storage_read") > 0);
    assert!(self_gas(&profile, "host:emit_log") > 0);
    // Wasm functions by their names (the debug artifact has a name section),
    // under the `call` export.
    assert!(
        profile
            .stacks
            .keys()
            .all(|stack| stack.first().map(String::as_str) == Some("call")),
        "{:?}",
        profile.folded()
    );
    assert!(
        profile
            .stacks
            .keys()
            .any(|s| s.iter().any(|f| f.contains("StorageValue<u64>>::set"))),
        "{:?}",
        profile.folded()
    );
    // A nested call is one host frame holding what the callee used.
    let token = chain.deploy(
        owner,
        "token",
        &("T".to_string(), "T".to_string(), U256::from(100u64)),
    );
    let router = chain.deploy(owner, "router", &());
    chain.call(owner, token, "approve", &(router, U256::from(50u64)));
    let pay = call(
        owner,
        router,
        encode_call("pay", &(token, account(1), U256::from(5u64))),
        GAS,
    );
    let (outcome, profile) = profiled(&chain, &pay);
    let nested = outcome
        .frames
        .iter()
        .find(|f| f.depth == 2)
        .expect("a nested frame");
    assert!(self_gas(&profile, "host:call") >= nested.gas_used);
}
