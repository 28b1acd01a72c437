//! The token example against a model of its specification on
//! `cairn-testkit`: random sequences of transfers, approvals and
//! `transfer_from`s agree with the model call by call (success, or the
//! revert reason), keep the total supply and never move more than a balance
//! or an allowance. Every call is a signed transaction in a block.

use std::collections::BTreeMap;
use std::path::PathBuf;

use cairn_host_api::world::{Address, U256};
use cairn_testkit::{CallReceipt, Contract, TestChain};
use proptest::prelude::*;

/// A committed contract of the checkout being tested (`cargo test` names
/// the package's directory at run time; a path baked in at build time may
/// be another checkout's when they share a build cache).
fn wasm(name: &str) -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
        .join("../contracts/artifacts")
        .join(format!("{name}.wasm"))
}

#[derive(Debug, Clone)]
enum TokenOp {
    Transfer {
        from: u8,
        to: u8,
        amount: u64,
    },
    Approve {
        owner: u8,
        spender: u8,
        amount: u64,
    },
    TransferFrom {
        spender: u8,
        from: u8,
        to: u8,
        amount: u64,
    },
}

fn token_op() -> impl Strategy<Value = TokenOp> {
    let who = 0u8..4;
    // Amounts around the balances, so both successes and reverts are common.
    let amount = prop_oneof![0u64..600, Just(0), Just(1_000), Just(u64::MAX)];
    prop_oneof![
        (who.clone(), who.clone(), amount.clone())
            .prop_map(|(from, to, amount)| TokenOp::Transfer { from, to, amount }),
        (who.clone(), who.clone(), amount.clone()).prop_map(|(owner, spender, amount)| {
            TokenOp::Approve {
                owner,
                spender,
                amount,
            }
        }),
        (who.clone(), who.clone(), who, amount).prop_map(|(spender, from, to, amount)| {
            TokenOp::TransferFrom {
                spender,
                from,
                to,
                amount,
            }
        }),
    ]
}

/// The token's specification as a model: balances and allowances.
#[derive(Debug, Default)]
struct TokenModel {
    balances: BTreeMap<u8, u64>,
    allowances: BTreeMap<(u8, u8), u64>,
}

impl TokenModel {
    fn transfer(&mut self, from: u8, to: u8, amount: u64) -> Result<(), &'static str> {
        let have = self.balances.get(&from).copied().unwrap_or(0);
        let left = have.checked_sub(amount).ok_or("insufficient balance")?;
        self.balances.insert(from, left);
        *self.balances.entry(to).or_default() += amount;
        Ok(())
    }

    fn apply(&mut self, op: &TokenOp) -> Result<(), &'static str> {
        match *op {
            TokenOp::Transfer { from, to, amount } => self.transfer(from, to, amount),
            TokenOp::Approve {
                owner,
                spender,
                amount,
            } => {
                self.allowances.insert((owner, spender), amount);
                Ok(())
            }
            TokenOp::TransferFrom {
                spender,
                from,
                to,
                amount,
            } => {
                let allowed = self.allowances.get(&(from, spender)).copied().unwrap_or(0);
                let left = allowed
                    .checked_sub(amount)
                    .ok_or("insufficient allowance")?;
                self.transfer(from, to, amount)?;
                self.allowances.insert((from, spender), left);
                Ok(())
            }
        }
    }
}

const SUPPLY: u64 = 1_000;

fn expect(outcome: &CallReceipt, expected: Result<(), &'static str>) {
    match expected {
        Ok(()) => {
            outcome.assert_success();
        }
        Err(reason) => {
            outcome.assert_revert(reason);
        }
    }
}

fn balance(chain: &TestChain, token: &Contract, who: Address) -> U256 {
    chain.query(who, token, "balance_of", &who)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Any sequence of calls keeps the total supply, never moves more than a
    /// balance or an allowance, and agrees with the model call by call.
    #[test]
    fn token_matches_model_and_conserves_supply(ops in proptest::collection::vec(token_op(), 1..24)) {
        let mut chain = TestChain::new();
        let account = |n: u8| chain.account(usize::from(n));
        let who: Vec<Address> = (0..4u8).map(account).collect();
        let token = chain.deploy(
            who[0],
            wasm("token"),
            &("Cairn Token".to_string(), "CRN".to_string(), U256::from(SUPPLY)),
        );
        let mut model = TokenModel::default();
        model.balances.insert(0, SUPPLY);

        for op in &ops {
            let expected = model.apply(op);
            let at = |n: u8| who[usize::from(n)];
            let outcome = match *op {
                TokenOp::Transfer { from, to, amount } => chain.call(
                    at(from), &token, "transfer", &(at(to), U256::from(amount))),
                TokenOp::Approve { owner, spender, amount } => chain.call(
                    at(owner), &token, "approve", &(at(spender), U256::from(amount))),
                TokenOp::TransferFrom { spender, from, to, amount } => chain.call(
                    at(spender), &token, "transfer_from",
                    &(at(from), at(to), U256::from(amount))),
            };
            expect(&outcome, expected);
        }

        let mut total = U256::zero();
        for n in 0..4u8 {
            let on_chain = balance(&chain, &token, who[usize::from(n)]);
            prop_assert_eq!(on_chain, U256::from(model.balances.get(&n).copied().unwrap_or(0)));
            total += on_chain;
            for spender in 0..4u8 {
                let allowance: U256 = chain.query(
                    who[0], &token, "allowance", &(who[usize::from(n)], who[usize::from(spender)]));
                prop_assert_eq!(allowance, U256::from(model.allowances.get(&(n, spender)).copied().unwrap_or(0)));
            }
        }
        prop_assert_eq!(total, U256::from(SUPPLY));
        prop_assert_eq!(chain.query::<_, U256>(who[0], &token, "total_supply", &()), U256::from(SUPPLY));
    }
}
