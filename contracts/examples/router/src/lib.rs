//! Pays through a token contract: the router calls the token's
//! `transfer_from(payer, to, amount)` across contracts (the payer approves
//! the router first) and handles the token's revert.
//!
//! - `pay` catches a failed payment: it returns `false`, counts the failure
//!   and emits `PaymentFailed` with the token's revert reason; the token's
//!   own changes are undone by the engine, the router's stay. The token gets
//!   all gas but a reserve, so even a callee that halts (e.g. runs out of gas)
//!   leaves the router enough to record the failure.
//! - `pay_or_revert` propagates the token's revert data unchanged.
//! - `balance_via` shows a typed cross-contract result.
#![no_std]

use cairn_sdk::abi::topic_of;
use cairn_sdk::prelude::*;

static PAID: StorageValue<u64> = StorageValue::new("paid");
static FAILED: StorageValue<u64> = StorageValue::new("failed");

const PAYMENT: [u8; 32] = event_signature("Payment");
const PAYMENT_FAILED: [u8; 32] = event_signature("PaymentFailed");

const TRANSFER_FROM: Selector = selector("transfer_from");
const BALANCE_OF: Selector = selector("balance_of");

/// Gas kept back from the token call, so that the router can still record a
/// failure after a callee that burnt all the gas it was given.
const GAS_RESERVE: u64 = 200_000;

fn call_transfer_from(token: Address, to: Address, amount: U256) -> Result<(), CallError> {
    let budget = env::gas_left().saturating_sub(GAS_RESERVE);
    env::call(token).gas(budget).invoke(TRANSFER_FROM, &(env::caller(), to, amount))
}

fn pay(token: Address, to: Address, amount: U256) -> Result<bool> {
    match call_transfer_from(token, to, amount) {
        Ok(()) => {
            PAID.set(&PAID.get_or_default().saturating_add(1));
            env::emit_event(&PAYMENT, &[topic_of(&token), topic_of(&to)], &amount);
            Ok(true)
        }
        Err(error) => {
            FAILED.set(&FAILED.get_or_default().saturating_add(1));
            let reason = error.reason().unwrap_or_else(|| String::from("no reason"));
            env::emit_event(
                &PAYMENT_FAILED,
                &[topic_of(&token), topic_of(&to)],
                &(amount, reason),
            );
            Ok(false)
        }
    }
}

fn pay_or_revert(token: Address, to: Address, amount: U256) -> Result<()> {
    call_transfer_from(token, to, amount)?;
    PAID.set(&PAID.get_or_default().saturating_add(1));
    env::emit_event(&PAYMENT, &[topic_of(&token), topic_of(&to)], &amount);
    Ok(())
}

fn balance_via(token: Address, owner: Address) -> Result<U256> {
    Ok(env::call(token).invoke(BALANCE_OF, &owner)?)
}

fn stats() -> Result<(u64, u64)> {
    Ok((PAID.get_or_default(), FAILED.get_or_default()))
}

cairn_sdk::entry_points! {
    "pay" => pay,
    "pay_or_revert" => pay_or_revert,
    "balance_via" => balance_via,
    "stats" => stats,
    events: {
        Payment { #[indexed] token: Address, #[indexed] to: Address, amount: U256 },
        PaymentFailed { #[indexed] token: Address, #[indexed] to: Address, amount: U256, reason: String },
    },
}
