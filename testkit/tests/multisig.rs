//! The multisig example on `cairn-testkit`: owners sign keccak256 of the
//! proposal (`specs/abi.md` section 7) off chain, `execute` checks the
//! signatures with `ecrecover`, then releases value or calls a contract.

use std::path::PathBuf;

use cairn_chain::SigningKey;
use cairn_host_api::abi::{encode_call, event_signature, topic};
use cairn_host_api::world::{Address, H256, U256};
use cairn_testkit::{CHAIN_ID, CallOptions, Contract, TestChain};
use parity_scale_codec::{Decode, Encode};

/// A committed contract of the checkout being tested (`cargo test` names
/// the package's directory at run time; a path baked in at build time may
/// be another checkout's when they share a build cache).
fn wasm(name: &str) -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
        .join("../contracts/artifacts")
        .join(format!("{name}.wasm"))
}

struct Wallet {
    contract: Contract,
    keys: Vec<SigningKey>,
}

/// The proposal hash as an off-chain signer computes it.
fn proposal_hash(wallet: Address, nonce: u64, to: Address, value: U256, data: &[u8]) -> H256 {
    cairn_host_api::keccak256(
        &("cairn-multisig", CHAIN_ID, wallet, nonce, to, value, data).encode(),
    )
}

/// A 2-of-3 wallet holding `funds`.
fn deploy_wallet(chain: &mut TestChain, funds: u64) -> Wallet {
    let mut keys: Vec<SigningKey> = (0..3u8)
        .map(|i| SigningKey::from_seed(&[b'k', i]))
        .collect();
    keys.sort_by_key(SigningKey::address);
    let owners: Vec<Address> = keys.iter().map(SigningKey::address).collect();
    let options = CallOptions {
        value: U256::from(funds),
        ..CallOptions::default()
    };
    let (contract, deployed) =
        chain.try_deploy(chain.account(0), wasm("multisig"), &(owners, 2u32), options);
    deployed.assert_success();
    Wallet { contract, keys }
}

fn sign(keys: &[&SigningKey], hash: &H256) -> Vec<[u8; 65]> {
    keys.iter().map(|k| k.sign_digest(hash)).collect()
}

#[test]
fn multisig_releases_value_with_enough_owner_signatures() {
    let mut chain = TestChain::new();
    let wallet = deploy_wallet(&mut chain, 1_000);
    let caller = chain.account(5);
    let recipient = Address::from_low_u64_be(0xBEEF);
    let value = U256::from(400u64);
    let hash = proposal_hash(wallet.contract.address, 0, recipient, value, &[]);
    let on_chain: H256 = chain.query(
        caller,
        &wallet.contract,
        "proposal_hash",
        &(recipient, value, Vec::<u8>::new()),
    );
    assert_eq!(on_chain, hash);

    let [k0, _, k2] = [&wallet.keys[0], &wallet.keys[1], &wallet.keys[2]];
    let execute = |chain: &mut TestChain, sigs: Vec<[u8; 65]>| {
        chain.call(
            caller,
            &wallet.contract,
            "execute",
            &(recipient, value, Vec::<u8>::new(), sigs),
        )
    };
    execute(&mut chain, sign(&[k0], &hash)).assert_revert("not enough signatures");
    execute(&mut chain, sign(&[k0, k0], &hash))
        .assert_revert("signatures must be ordered by signer, without duplicates");
    let stranger = SigningKey::from_seed(b"stranger");
    execute(&mut chain, sign(&[k0, &stranger], &hash)).assert_revert("signer is not an owner");
    let mut garbage = sign(&[k0, k2], &hash);
    garbage[1][64] = 9;
    execute(&mut chain, garbage).assert_revert("invalid signature");

    let done = execute(&mut chain, sign(&[k0, k2], &hash));
    let executed = done.assert_success().events("Executed");
    assert_eq!(
        executed[0].topics,
        vec![event_signature("Executed"), topic(&0u64), topic(&recipient)]
    );
    assert_eq!(chain.balance(recipient), value);
    assert_eq!(chain.balance(wallet.contract.address), U256::from(600u64));
    assert_eq!(
        chain.query::<_, u64>(caller, &wallet.contract, "nonce", &()),
        1
    );

    // The same signatures are spent: the nonce is part of what was signed.
    execute(&mut chain, sign(&[k0, k2], &hash)).assert_revert("signer is not an owner");
    assert_eq!(chain.balance(recipient), value);
}

#[test]
fn multisig_accepts_deposits() {
    let mut chain = TestChain::new();
    let wallet = deploy_wallet(&mut chain, 0);
    let depositor = chain.account(4);
    let options = CallOptions {
        value: U256::from(250u64),
        ..CallOptions::default()
    };
    let deposited = chain.call_with(depositor, &wallet.contract, "deposit", &(), options);
    let events = deposited.assert_success().events("Deposit");
    assert_eq!(
        events[0].topics,
        vec![event_signature("Deposit"), topic(&depositor)]
    );
    assert_eq!(events[0].decode::<U256>(), U256::from(250u64));
    assert_eq!(chain.balance(wallet.contract.address), U256::from(250u64));
    let owners: Vec<Address> = chain.query(depositor, &wallet.contract, "owners", &());
    assert_eq!(
        owners,
        wallet
            .keys
            .iter()
            .map(SigningKey::address)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        chain.query::<_, u32>(depositor, &wallet.contract, "threshold", &()),
        2
    );
}

#[test]
fn multisig_deploy_rejects_bad_owner_sets() {
    let mut chain = TestChain::new();
    let (a, b) = {
        let (x, y) = (chain.account(1), chain.account(2));
        (x.min(y), x.max(y))
    };
    for (owners, threshold, reason) in [
        (vec![a, b], 0u32, "threshold must be at least 1"),
        (vec![a, b], 3, "threshold above the number of owners"),
        (vec![b, a], 1, "owners must be sorted and distinct"),
        (vec![a, a], 1, "owners must be sorted and distinct"),
    ] {
        let (_, deployed) = chain.try_deploy(
            chain.account(0),
            wasm("multisig"),
            &(owners, threshold),
            CallOptions::default(),
        );
        deployed.assert_revert(reason);
    }
}

#[test]
fn multisig_calls_another_contract_and_reverts_with_it() {
    let mut chain = TestChain::new();
    let wallet = deploy_wallet(&mut chain, 0);
    let caller = chain.account(3);
    let counter = chain.deploy(chain.account(0), wasm("counter"), &0u64);
    let data = encode_call("increment", &41u64);
    let hash = proposal_hash(
        wallet.contract.address,
        0,
        counter.address,
        U256::zero(),
        &data,
    );
    let sigs = sign(&[&wallet.keys[1], &wallet.keys[2]], &hash);
    let done = chain.call(
        caller,
        &wallet.contract,
        "execute",
        &(counter.address, U256::zero(), data, sigs),
    );
    // `execute` returns the callee's return data: the counter's new value.
    let output: Vec<u8> = done.result();
    assert_eq!(u64::decode(&mut &output[..]).unwrap(), 41);
    assert_eq!(chain.query::<_, u64>(caller, &counter, "get", &()), 41);

    // The counter's `reset` is owner-only: its revert reverts the execution, nonce included.
    let data = encode_call("reset", &());
    let hash = proposal_hash(
        wallet.contract.address,
        1,
        counter.address,
        U256::zero(),
        &data,
    );
    let sigs = sign(&[&wallet.keys[0], &wallet.keys[1]], &hash);
    chain
        .call(
            caller,
            &wallet.contract,
            "execute",
            &(counter.address, U256::zero(), data, sigs),
        )
        .assert_revert("only the owner can reset");
    assert_eq!(
        chain.query::<_, u64>(caller, &wallet.contract, "nonce", &()),
        1
    );
}
