//! An M-of-N multisig wallet.
//!
//! A proposal `(to, value, data)` is approved off-chain: each owner signs
//! `proposal_hash` = keccak256 of
//! `SCALE(("cairn-multisig", chain_id, wallet address, nonce, to, value, data))`
//! with secp256k1. `execute` recovers every signer with `ecrecover`, requires
//! at least `threshold` distinct owners (signatures ordered by signer address,
//! strictly increasing, which rules out duplicates), bumps the nonce (so a
//! signature set is good for one execution) and then either sends `value` to
//! `to` (empty `data`) or calls `to` with `data` and `value`. A callee revert
//! reverts the whole execution, nonce included.
#![no_std]

use cairn_sdk::abi::topic_of;
use cairn_sdk::prelude::*;

static OWNERS: StorageValue<Vec<Address>> = StorageValue::new("owners");
static THRESHOLD: StorageValue<u32> = StorageValue::new("threshold");
static NONCE: StorageValue<u64> = StorageValue::new("nonce");

const EXECUTED: [u8; 32] = event_signature("Executed");
const DEPOSIT: [u8; 32] = event_signature("Deposit");

/// Domain separator inside the signed proposal.
const DOMAIN: &str = "cairn-multisig";

fn deploy(owners: Vec<Address>, threshold: u32) -> Result<()> {
    ensure!(threshold >= 1, "threshold must be at least 1");
    ensure!(
        threshold as usize <= owners.len(),
        "threshold above the number of owners"
    );
    ensure!(
        owners.windows(2).all(|w| w[0] < w[1]),
        "owners must be sorted and distinct"
    );
    OWNERS.set(&owners);
    THRESHOLD.set(&threshold);
    NONCE.set(&0);
    Ok(())
}

fn hash_for(nonce: u64, to: Address, value: U256, data: &[u8]) -> H256 {
    let proposal = (
        DOMAIN,
        env::chain_id(),
        env::address(),
        nonce,
        to,
        value,
        data,
    );
    env::keccak256(&proposal.encode())
}

fn proposal_hash(to: Address, value: U256, data: Vec<u8>) -> Result<H256> {
    Ok(hash_for(NONCE.get_or_default(), to, value, &data))
}

fn execute(to: Address, value: U256, data: Vec<u8>, signatures: Vec<[u8; 65]>) -> Result<Vec<u8>> {
    let nonce = NONCE.get_or_default();
    let hash = hash_for(nonce, to, value, &data);
    let owners = OWNERS.get_or_default();
    let mut previous: Option<Address> = None;
    for signature in &signatures {
        let signer =
            env::ecrecover(&hash, signature).ok_or_else(|| Revert::reason("invalid signature"))?;
        ensure!(
            owners.binary_search(&signer).is_ok(),
            "signer is not an owner"
        );
        ensure!(
            previous.is_none_or(|p| p < signer),
            "signatures must be ordered by signer, without duplicates"
        );
        previous = Some(signer);
    }
    ensure!(
        signatures.len() >= THRESHOLD.get_or_default() as usize,
        "not enough signatures"
    );
    // Bump first: a reentrant call cannot reuse the same signatures.
    NONCE.set(&(nonce + 1));
    let output = if data.is_empty() {
        env::transfer(&to, value).map_err(|_| Revert::reason("insufficient balance"))?;
        Vec::new()
    } else {
        env::call(to).value(value).invoke_raw(&data)?
    };
    env::emit_event(&EXECUTED, &[topic_of(&nonce), topic_of(&to)], &value);
    Ok(output)
}

fn deposit() -> Result<()> {
    env::emit_event(&DEPOSIT, &[topic_of(&env::caller())], &env::value());
    Ok(())
}

fn owners() -> Result<Vec<Address>> {
    Ok(OWNERS.get_or_default())
}

fn threshold() -> Result<u32> {
    Ok(THRESHOLD.get_or_default())
}

fn nonce() -> Result<u64> {
    Ok(NONCE.get_or_default())
}

cairn_sdk::entry_points! {
    deploy: deploy,
    "proposal_hash" => proposal_hash,
    "execute" => execute,
    "deposit" => deposit,
    "owners" => owners,
    "threshold" => threshold,
    "nonce" => nonce,
    events: {
        Executed { #[indexed] nonce: u64, #[indexed] to: Address, value: U256 },
        Deposit { #[indexed] from: Address, value: U256 },
    },
}
