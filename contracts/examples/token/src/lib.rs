//! An ERC20-like fungible token.
//!
//! Amounts are `U256` with checked arithmetic; every failure reverts with a
//! reason (`insufficient balance`, `insufficient allowance`). The whole supply
//! is minted to the deployer; nothing mints or burns afterwards, so the total
//! supply is conserved by every call.
//!
//! Events (topic 0 = keccak256 of the name; indexed addresses as topics):
//! - `Transfer`: topics `[sig, from, to]`, data `SCALE(amount)`;
//! - `Approval`: topics `[sig, owner, spender]`, data `SCALE(amount)`.
#![no_std]

use cairn_sdk::abi::topic_of;
use cairn_sdk::prelude::*;

static NAME: StorageValue<String> = StorageValue::new("name");
static SYMBOL: StorageValue<String> = StorageValue::new("symbol");
static TOTAL_SUPPLY: StorageValue<U256> = StorageValue::new("total_supply");
static BALANCES: StorageMap<Address, U256> = StorageMap::new("balances");
static ALLOWANCES: StorageMap<(Address, Address), U256> = StorageMap::new("allowances");

const TRANSFER: [u8; 32] = event_signature("Transfer");
const APPROVAL: [u8; 32] = event_signature("Approval");

fn deploy(name: String, symbol: String, supply: U256) -> Result<()> {
    let owner = env::caller();
    NAME.set(&name);
    SYMBOL.set(&symbol);
    TOTAL_SUPPLY.set(&supply);
    BALANCES.insert(&owner, &supply);
    env::emit_event(
        &TRANSFER,
        &[topic_of(&Address::zero()), topic_of(&owner)],
        &supply,
    );
    Ok(())
}

fn name() -> Result<String> {
    Ok(NAME.get_or_default())
}

fn symbol() -> Result<String> {
    Ok(SYMBOL.get_or_default())
}

fn decimals() -> Result<u8> {
    Ok(18)
}

fn total_supply() -> Result<U256> {
    Ok(TOTAL_SUPPLY.get_or_default())
}

fn balance_of(owner: Address) -> Result<U256> {
    Ok(BALANCES.get_or_default(&owner))
}

fn allowance(owner: Address, spender: Address) -> Result<U256> {
    Ok(ALLOWANCES.get_or_default(&(owner, spender)))
}

/// Moves `amount` from `from` to `to`; the caller has checked authority.
fn move_balance(from: Address, to: Address, amount: U256) -> Result<()> {
    let from_balance = BALANCES.get_or_default(&from);
    let from_after = from_balance
        .checked_sub(amount)
        .ok_or_else(|| Revert::reason("insufficient balance"))?;
    BALANCES.insert(&from, &from_after);
    let to_balance = BALANCES.get_or_default(&to);
    // Cannot overflow while the supply is conserved, but never wrap silently.
    let to_after = to_balance
        .checked_add(amount)
        .ok_or_else(|| Revert::reason("balance overflow"))?;
    BALANCES.insert(&to, &to_after);
    env::emit_event(&TRANSFER, &[topic_of(&from), topic_of(&to)], &amount);
    Ok(())
}

fn transfer(to: Address, amount: U256) -> Result<()> {
    move_balance(env::caller(), to, amount)
}

fn approve(spender: Address, amount: U256) -> Result<()> {
    let owner = env::caller();
    ALLOWANCES.insert(&(owner, spender), &amount);
    env::emit_event(&APPROVAL, &[topic_of(&owner), topic_of(&spender)], &amount);
    Ok(())
}

fn transfer_from(from: Address, to: Address, amount: U256) -> Result<()> {
    let spender = env::caller();
    let allowed = ALLOWANCES.get_or_default(&(from, spender));
    let remaining = allowed
        .checked_sub(amount)
        .ok_or_else(|| Revert::reason("insufficient allowance"))?;
    ALLOWANCES.insert(&(from, spender), &remaining);
    move_balance(from, to, amount)
}

cairn_sdk::entry_points! {
    deploy: deploy,
    "name" => name,
    "symbol" => symbol,
    "decimals" => decimals,
    "total_supply" => total_supply,
    "balance_of" => balance_of,
    "allowance" => allowance,
    "transfer" => transfer,
    "approve" => approve,
    "transfer_from" => transfer_from,
    events: {
        Transfer { #[indexed] from: Address, #[indexed] to: Address, amount: U256 },
        Approval { #[indexed] owner: Address, #[indexed] spender: Address, amount: U256 },
    },
}
