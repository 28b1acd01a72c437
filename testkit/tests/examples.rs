//! The example contracts' tests, written against `cairn-testkit` as a
//! contract developer would write them: deploy by path, typed calls and
//! queries, decoded events, revert and halt assertions, snapshots, gas
//! reports and storage proofs, on the real engine and Merkle store.

use std::path::PathBuf;

use cairn_host_api::abi::{RevertReason, event_signature, topic};
use cairn_host_api::world::{Address, U256};
use cairn_testkit::{CallOptions, TestChain};
use parity_scale_codec::Encode;

/// A committed contract of the checkout being tested (`cargo test` names
/// the package's directory at run time; a path baked in at build time may
/// be another checkout's when they share a build cache).
fn wasm(name: &str) -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
        .join("../contracts/artifacts")
        .join(format!("{name}.wasm"))
}

fn token_args(supply: u64) -> (String, String, U256) {
    (
        "Cairn Token".to_string(),
        "CRN".to_string(),
        U256::from(supply),
    )
}

#[test]
fn counter_counts_emits_and_guards_reset() {
    let mut chain = TestChain::new();
    let (owner, other) = (chain.account(0), chain.account(1));
    let counter = chain.deploy(owner, wasm("counter"), &5u64);
    assert_eq!(chain.query::<_, u64>(other, &counter, "get", &()), 5);

    let increment = chain.call(other, &counter, "increment", &3u64);
    assert_eq!(increment.result::<u64>(), 8);
    let changed = increment.events("Changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].address, counter.address);
    assert_eq!(changed[0].decode::<(u64, u64)>(), (5, 8));
    // The SDK's storage layout, read from the Merkle store and proven.
    assert_eq!(chain.storage(&counter, "count", &()), Some(8u64.encode()));
    let proof = chain.prove_storage(&counter, "count", &());
    assert_eq!(proof.value, Some(8u64.encode()));
    assert!(proof.verify());

    chain
        .call(other, &counter, "reset", &())
        .assert_revert("only the owner can reset");
    assert_eq!(chain.query::<_, u64>(other, &counter, "get", &()), 8);
    chain.call(owner, &counter, "reset", &()).assert_success();
    assert_eq!(chain.query::<_, u64>(other, &counter, "get", &()), 0);

    chain
        .call(owner, &counter, "increment", &(u64::MAX - 1))
        .assert_success();
    chain
        .call(owner, &counter, "increment", &2u64)
        .assert_revert("counter overflow");
    let unknown = chain.call(owner, &counter, "no_such_method", &());
    assert_eq!(
        unknown.revert_reason(),
        Some(RevertReason::UnknownSelector(
            cairn_host_api::abi::selector("no_such_method")
        ))
    );
}

#[test]
fn token_transfers_approves_and_reverts_with_reasons() {
    let mut chain = TestChain::new();
    let [alice, bob, carol] = [chain.account(0), chain.account(1), chain.account(2)];
    let (token, deployed) = chain.try_deploy(
        alice,
        wasm("token"),
        &token_args(1_000),
        CallOptions::default(),
    );
    deployed.assert_success();
    assert_eq!(
        deployed.events("Transfer")[0].topics,
        vec![
            event_signature("Transfer"),
            topic(&Address::zero()),
            topic(&alice)
        ]
    );
    assert_eq!(
        chain.query::<_, String>(bob, &token, "name", &()),
        "Cairn Token"
    );
    assert_eq!(chain.query::<_, u8>(bob, &token, "decimals", &()), 18);

    let sent = chain.call(alice, &token, "transfer", &(bob, U256::from(300u64)));
    let transfers = sent.assert_success().events("Transfer");
    assert_eq!(transfers.len(), 1);
    assert_eq!(transfers[0].topics[1..], [topic(&alice), topic(&bob)]);
    assert_eq!(transfers[0].decode::<U256>(), U256::from(300u64));
    let balance =
        |chain: &TestChain, who: Address| -> U256 { chain.query(who, &token, "balance_of", &who) };
    assert_eq!(balance(&chain, alice), U256::from(700u64));
    assert_eq!(balance(&chain, bob), U256::from(300u64));

    chain
        .call(bob, &token, "transfer", &(carol, U256::from(301u64)))
        .assert_revert("insufficient balance");
    chain
        .call(
            carol,
            &token,
            "transfer_from",
            &(bob, carol, U256::from(1u64)),
        )
        .assert_revert("insufficient allowance");
    chain
        .call(bob, &token, "approve", &(carol, U256::from(50u64)))
        .assert_success();
    chain
        .call(
            carol,
            &token,
            "transfer_from",
            &(bob, carol, U256::from(50u64)),
        )
        .assert_success();
    assert_eq!(balance(&chain, carol), U256::from(50u64));

    // Gas report: every call counted per method, failures included.
    let report = chain.gas_report();
    let transfer = report.get("token", "transfer").expect("transfer called");
    assert_eq!(transfer.calls, 2);
    assert!(transfer.min > 0 && transfer.min <= transfer.mean() && transfer.mean() <= transfer.max);
    assert_eq!(report.get("token", "deploy").map(|s| s.calls), Some(1));
    assert!(report.to_string().contains("transfer_from"));

    assert_eq!(chain.query::<_, String>(bob, &token, "symbol", &()), "CRN");
    assert_eq!(
        chain.query::<_, U256>(bob, &token, "total_supply", &()),
        U256::from(1_000u64)
    );
    assert_eq!(
        chain.query::<_, U256>(carol, &token, "allowance", &(bob, carol)),
        U256::zero()
    );
    // Amounts near 2^256 are checked, never wrapped.
    chain
        .call(alice, &token, "transfer", &(bob, U256::MAX))
        .assert_revert("insufficient balance");
    // Starved of gas: a halt, charged its whole limit.
    let intrinsic = 21_000 + 16 * (4 + 20 + 32);
    let starved = chain.call_with(
        alice,
        &token,
        "transfer",
        &(bob, U256::one()),
        CallOptions {
            gas_limit: intrinsic + 1_000,
            ..CallOptions::default()
        },
    );
    starved.assert_halt("out_of_gas");
    assert_eq!(starved.gas_used(), intrinsic + 1_000);
    assert_eq!(balance(&chain, alice), U256::from(700u64));
}

#[test]
fn router_pays_through_token_and_forwards_its_revert() {
    let mut chain = TestChain::new();
    let [alice, bob] = [chain.account(0), chain.account(1)];
    let token = chain.deploy(alice, wasm("token"), &token_args(1_000));
    let router = chain.deploy(alice, wasm("router"), &());
    chain
        .call(
            alice,
            &token,
            "approve",
            &(router.address, U256::from(500u64)),
        )
        .assert_success();

    let paid = chain.call(
        alice,
        &router,
        "pay",
        &(token.address, bob, U256::from(300u64)),
    );
    assert!(paid.result::<bool>());
    // The callee's event comes first, then the router's.
    let events = paid.all_events();
    assert_eq!(events.len(), 2);
    assert!(events[0].is("Transfer") && events[0].address == token.address);
    assert!(events[1].is("Payment") && events[1].address == router.address);

    // Over the allowance: `pay` catches the token's revert...
    let caught = chain.call(
        alice,
        &router,
        "pay",
        &(token.address, bob, U256::from(300u64)),
    );
    assert!(!caught.result::<bool>());
    assert_eq!(
        caught.events("PaymentFailed")[0].decode::<(U256, String)>(),
        (U256::from(300u64), "insufficient allowance".to_string())
    );
    // ...and `pay_or_revert` forwards it unchanged.
    chain
        .call(
            alice,
            &router,
            "pay_or_revert",
            &(token.address, bob, U256::from(300u64)),
        )
        .assert_revert("insufficient allowance");
    assert_eq!(
        chain.query::<_, (u64, u64)>(alice, &router, "stats", &()),
        (1, 1)
    );
    assert_eq!(
        chain.query::<_, U256>(alice, &router, "balance_via", &(token.address, bob)),
        U256::from(300u64)
    );

    // A "token" that never returns runs out of gas inside its budget; the
    // router keeps its reserve, records the failure and succeeds.
    let spinner = chain.deploy(alice, wasm("infinite_loop"), &());
    let halted = chain.call(
        alice,
        &router,
        "pay",
        &(spinner.address, bob, U256::from(1u64)),
    );
    assert!(!halted.result::<bool>());
    assert_eq!(
        halted.events("PaymentFailed")[0].decode::<(U256, String)>(),
        (U256::from(1u64), "no reason".to_string())
    );
    assert_eq!(
        chain.query::<_, (u64, u64)>(alice, &router, "stats", &()),
        (1, 2)
    );
    // A call to an address without code cannot start.
    chain
        .call(
            alice,
            &router,
            "balance_via",
            &(Address::repeat_byte(7), bob),
        )
        .assert_revert("call could not start");
}

#[test]
fn snapshots_revert_state_blocks_and_time() {
    let mut chain = TestChain::new();
    let alice = chain.account(0);
    let counter = chain.deploy(alice, wasm("counter"), &0u64);
    let snapshot = chain.snapshot();
    let (root, number, timestamp) = (chain.state_root(), chain.block_number(), chain.timestamp());

    chain
        .call(alice, &counter, "increment", &7u64)
        .assert_success();
    chain.advance_time(3_600);
    chain.mine_blocks(2);
    assert_eq!(chain.query::<_, u64>(alice, &counter, "get", &()), 7);
    assert_eq!(chain.block_number(), number + 3);
    assert_ne!(chain.state_root(), root);

    chain.revert_to(snapshot);
    assert_eq!(chain.query::<_, u64>(alice, &counter, "get", &()), 0);
    assert_eq!(chain.block_number(), number);
    assert_eq!(chain.timestamp(), timestamp);
    assert_eq!(chain.state_root(), root);
    // The chain goes on from there, with the same results as before.
    assert_eq!(
        chain
            .call(alice, &counter, "increment", &7u64)
            .result::<u64>(),
        7
    );
}

#[test]
fn halts_and_out_of_gas_are_receipts_with_their_reason() {
    let mut chain = TestChain::new();
    let alice = chain.account(0);
    let spinner = chain.deploy(alice, wasm("infinite_loop"), &());
    let options = CallOptions {
        gas_limit: 2_000_000,
        ..CallOptions::default()
    };
    let before = chain.balance(alice);
    let halted = chain.call_with(alice, &spinner, "spin", &(), options);
    halted.assert_halt("out_of_gas");
    // A halt is charged the whole limit, paid at the gas price (1).
    assert_eq!(halted.gas_used(), 2_000_000);
    assert_eq!(before - chain.balance(alice), U256::from(2_000_000u64));

    let deep = chain.deploy(alice, wasm("deep_recursion"), &());
    chain
        .call(alice, &deep, "recurse", &u32::MAX)
        .assert_halt("stack_exhausted");
    assert_eq!(chain.query::<_, u32>(alice, &deep, "recurse", &10u32), 10);
}

#[test]
fn new_accounts_are_funded_by_account_zero() {
    let mut chain = TestChain::new();
    let fresh = chain.new_account(U256::from(1_000_000u64));
    assert_eq!(chain.balance(fresh), U256::from(1_000_000u64));
    // It can send transactions of its own (gas price 1, so it pays gas).
    let counter = chain.deploy(chain.account(0), wasm("counter"), &0u64);
    let options = CallOptions {
        gas_limit: 100_000,
        ..CallOptions::default()
    };
    let call = chain.call_with(fresh, &counter, "get", &(), options);
    call.assert_success();
    assert_eq!(
        chain.balance(fresh),
        U256::from(1_000_000u64 - call.gas_used())
    );
}

#[test]
#[should_panic(expected = "was not admitted: intrinsic gas")]
fn a_transaction_that_cannot_be_admitted_is_a_clear_panic() {
    let mut chain = TestChain::new();
    let alice = chain.account(0);
    let counter = chain.deploy(alice, wasm("counter"), &0u64);
    let options = CallOptions {
        gas_limit: 1_000,
        ..CallOptions::default()
    };
    chain.call_with(alice, &counter, "get", &(), options);
}

#[test]
#[should_panic(expected = "build it first")]
fn a_missing_wasm_says_how_to_build_it() {
    let mut chain = TestChain::new();
    let alice = chain.account(0);
    chain.deploy(alice, wasm("no_such_contract"), &());
}

#[cfg(feature = "rocksdb")]
#[test]
fn the_same_calls_on_rocksdb_give_the_same_roots() {
    let mut memory = TestChain::new();
    let mut rocks = TestChain::on_rocksdb();
    for chain in [&mut memory as &mut dyn FnMutChain, &mut rocks] {
        chain.run();
    }
    assert_eq!(memory.state_root(), rocks.state_root());
}

#[cfg(feature = "rocksdb")]
trait FnMutChain {
    fn run(&mut self);
}

#[cfg(feature = "rocksdb")]
impl<S: cairn_chain::StateDb> FnMutChain for TestChain<S> {
    fn run(&mut self) {
        let alice = self.account(0);
        let counter = self.deploy(alice, wasm("counter"), &1u64);
        self.call(alice, &counter, "increment", &2u64)
            .assert_success();
        let snapshot = self.snapshot();
        self.call(alice, &counter, "increment", &2u64)
            .assert_success();
        self.revert_to(snapshot);
        assert_eq!(self.query::<_, u64>(alice, &counter, "get", &()), 3);
    }
}

#[test]
fn typed_calls_by_method_name_through_the_contract_metadata() {
    use cairn_testkit::json;
    let mut chain = TestChain::new();
    let [alice, bob] = [chain.account(0), chain.account(1)];
    let token = chain.deploy(alice, wasm("token"), &token_args(1_000));
    let meta = chain.metadata(&token);
    assert_eq!(meta.method("transfer").unwrap().args.len(), 2);
    let bob_hex = format!("{bob:?}");
    let sent = chain.call_json(alice, &token, "transfer", &json!([bob_hex, "250"]));
    let events = sent.assert_success().decoded_events(&meta);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].name, "Transfer");
    assert_eq!(events[0].fields["amount"], "250");
    assert_eq!(events[0].fields["to"], json!(bob_hex));
    // The JSON call is byte for byte the SCALE one: the same balance moves.
    assert_eq!(
        chain.query_json(bob, &token, "balance_of", &json!([bob_hex])),
        json!("250")
    );
    assert_eq!(
        chain.query::<_, U256>(bob, &token, "balance_of", &bob),
        U256::from(250u64)
    );
    assert_eq!(
        chain.query_json(bob, &token, "name", &json!([])),
        json!("Cairn Token")
    );
}

#[test]
#[should_panic(expected = "token.transfer: argument 2")]
fn typed_calls_with_bad_arguments_are_a_clear_panic() {
    let mut chain = TestChain::new();
    let alice = chain.account(0);
    let token = chain.deploy(alice, wasm("token"), &token_args(1_000));
    chain.call_json(
        alice,
        &token,
        "transfer",
        &cairn_testkit::json!([format!("{alice:?}"), -1]),
    );
}
