//! Echoes its decoded arguments and exposes the SDK's context, crypto,
//! storage and revert paths, so host tests can check the host ABI encoder
//! against the SDK decoder through the real engine.
#![no_std]

use cairn_sdk::prelude::*;

/// One value of every commonly used SCALE shape.
type Everything = (
    u8,
    u16,
    u32,
    u64,
    u128,
    bool,
    String,
    Vec<u8>,
    Option<u32>,
    U256,
    Address,
    Vec<(u16, i64)>,
    H256,
);

static ENTRIES: StorageMap<Vec<u8>, Vec<u8>> = StorageMap::new("entries");

fn echo(value: Everything) -> Result<Everything> {
    Ok(value)
}

fn echo_args(a: u64, b: String, c: Vec<Address>) -> Result<(u64, String, Vec<Address>)> {
    Ok((a, b, c))
}

fn fail(reason: String) -> Result<()> {
    Err(Revert::reason(&reason))
}

fn fail_custom(code: u32) -> Result<()> {
    Err(Revert::custom(selector("EchoError"), &code))
}

fn panic_with(message: String) -> Result<()> {
    panic!("{message}")
}

fn add(a: u64, b: u64) -> Result<u64> {
    // Overflow checks are on in contracts: an overflow panics and reverts.
    Ok(core::hint::black_box(a) + b)
}

#[allow(clippy::type_complexity, reason = "the tuple is the ABI under test")]
fn context() -> Result<(Address, Address, Address, U256, u64, u64, u64, U256)> {
    let me = env::address();
    Ok((
        env::caller(),
        env::origin(),
        me,
        env::value(),
        env::block_number(),
        env::block_timestamp(),
        env::chain_id(),
        env::balance(&me),
    ))
}

fn keccak(data: Vec<u8>) -> Result<H256> {
    Ok(env::keccak256(&data))
}

fn recover(hash: H256, signature: [u8; 65]) -> Result<Option<Address>> {
    Ok(env::ecrecover(&hash, &signature))
}

fn store(key: Vec<u8>, value: Vec<u8>) -> Result<()> {
    ENTRIES.insert(&key, &value);
    Ok(())
}

fn load(key: Vec<u8>) -> Result<Option<Vec<u8>>> {
    Ok(ENTRIES.get(&key))
}

fn contains(key: Vec<u8>) -> Result<bool> {
    Ok(ENTRIES.contains(&key))
}

fn remove(key: Vec<u8>) -> Result<bool> {
    Ok(ENTRIES.remove(&key))
}

fn log(topics: Vec<H256>, data: Vec<u8>) -> Result<()> {
    let [first, rest @ ..] = topics.as_slice() else {
        return Err(Revert::reason("need at least one topic"));
    };
    env::emit_event(&first.0, rest, &data);
    Ok(())
}

fn debug(message: String) -> Result<()> {
    env::debug_print(&message);
    Ok(())
}

fn gas() -> Result<u64> {
    Ok(env::gas_left())
}

cairn_sdk::entry_points! {
    "echo" => echo,
    "echo_args" => echo_args,
    "fail" => fail,
    "fail_custom" => fail_custom,
    "panic_with" => panic_with,
    "add" => add,
    "context" => context,
    "keccak" => keccak,
    "recover" => recover,
    "store" => store,
    "load" => load,
    "contains" => contains,
    "remove" => remove,
    "log" => log,
    "gas" => gas,
    "debug" => debug,
}
