//! The smallest useful contract: a counter anyone can increase and the
//! deployer can reset.
#![no_std]

use cairn_sdk::prelude::*;

static COUNT: StorageValue<u64> = StorageValue::new("count");
static OWNER: StorageValue<Address> = StorageValue::new("owner");

/// Emitted on every change: data is `(old, new)`.
const CHANGED: [u8; 32] = event_signature("Changed");

fn deploy(start: u64) -> Result<()> {
    OWNER.set(&env::caller());
    COUNT.set(&start);
    Ok(())
}

fn get() -> Result<u64> {
    Ok(COUNT.get_or_default())
}

fn increment(by: u64) -> Result<u64> {
    let old = COUNT.get_or_default();
    let new = old
        .checked_add(by)
        .ok_or_else(|| Revert::reason("counter overflow"))?;
    COUNT.set(&new);
    env::emit_event(&CHANGED, &[], &(old, new));
    Ok(new)
}

fn reset() -> Result<()> {
    ensure!(
        OWNER.get() == Some(env::caller()),
        "only the owner can reset"
    );
    let old = COUNT.get_or_default();
    COUNT.set(&0);
    env::emit_event(&CHANGED, &[], &(old, 0u64));
    Ok(())
}

cairn_sdk::entry_points! {
    deploy: deploy,
    "get" => get,
    "increment" => increment,
    "reset" => reset,
    events: {
        Changed { old: u64, new: u64 },
    },
}
