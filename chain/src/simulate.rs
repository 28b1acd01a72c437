//! Transactions run without a signature and without committing: what a
//! transaction would do against a state (`cairn estimate`, the node's
//! `eth_estimateGas`), and the exact lowest gas limit at which it succeeds.
//!
//! A simulation goes through the same admission, fee and execution code as
//! a block (`execute.rs`), with the sender given instead of recovered and
//! its nonce taken from its account, so a signed transaction with the same
//! fields, sent against the same state, gets the same receipt.

use cairn_engine::runtime::{BlockContext, ExecStatus, Executor};
use cairn_host_api::world::{Address, U256};
use cairn_state::StateRead;

use crate::admission::{self, AdmissionError, intrinsic_gas_of};
use crate::block::Receipt;
use crate::error::ChainError;
use crate::execute::{BlockEnv, execute_admitted};
use crate::tx::{Envelope, SignedTransaction, Transaction, TxAction};
use crate::world::BlockState;

/// A transaction to simulate: a signed one's fields but the signature and
/// nonce (the sender's next nonce is used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRequest {
    /// Who sends it.
    pub sender: Address,
    /// Gas price.
    pub gas_price: u64,
    /// Value sent.
    pub value: U256,
    /// Call or deploy.
    pub action: TxAction,
}

impl TxRequest {
    /// Intrinsic gas of a transaction doing this (`specs/chain.md`,
    /// "Admission"): the least gas limit that can be admitted.
    pub fn intrinsic_gas(&self) -> u64 {
        intrinsic_gas_of(&self.action)
    }

    fn envelope(&self, chain_id: u64, nonce: u64, gas_limit: u64) -> Envelope {
        Envelope::Native(SignedTransaction {
            tx: Transaction {
                chain_id,
                nonce,
                gas_limit,
                gas_price: self.gas_price,
                value: self.value,
                action: self.action.clone(),
            },
            // Never checked: the sender is given.
            signature: [0; 65],
        })
    }
}

/// Runs `request` with `gas_limit` as the first transaction of the block
/// `env` describes, on top of `state`, and returns its receipt; nothing is
/// committed. `Ok(Err(_))` if admission would refuse it (intrinsic gas above
/// the limit, the limit above the block's, the sender's balance short of
/// gas limit x price + value).
///
/// # Errors
///
/// Node failures.
pub fn simulate<R: StateRead + ?Sized>(
    executor: &Executor,
    state: &R,
    env: &BlockEnv,
    request: &TxRequest,
    gas_limit: u64,
) -> Result<Result<Receipt, AdmissionError>, ChainError> {
    let mut state = BlockState::new(state, false);
    let mut account = state.account_or_default(&request.sender)?;
    let tx = request.envelope(env.chain_id, account.nonce, gas_limit);
    if let Err(error) = admission::check_stateless(&tx, 0, env.chain_id, env.gas_limit)
        .and_then(|()| admission::check_sender(&tx, request.sender, &account))
    {
        return Ok(Err(error));
    }
    let context = BlockContext {
        number: env.number,
        timestamp: env.timestamp,
        chain_id: env.chain_id,
    };
    let receipt = execute_admitted(
        executor,
        &mut state,
        &context,
        env,
        &tx,
        request.sender,
        &mut account,
        0,
    )?;
    Ok(Ok(receipt))
}

/// What [`estimate_gas`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Estimate {
    /// The lowest gas limit at which the transaction succeeds: it succeeds
    /// at `gas_limit` and fails at `gas_limit - 1` (both were run). It can
    /// exceed the gas the transaction uses: a call forwards at most 63/64
    /// of its gas (`specs/host-api.md`, `call`), so a nested call may need more gas to be
    /// available than it spends. `receipt` is the run at `gas_limit`.
    Succeeds {
        /// The lowest gas limit that succeeds.
        gas_limit: u64,
        /// The receipt at that limit.
        receipt: Receipt,
    },
    /// The transaction does not succeed even at `cap`; `receipt` says how
    /// it fails there.
    Fails {
        /// The highest gas limit tried.
        cap: u64,
        /// The receipt at `cap`.
        receipt: Receipt,
    },
    /// Admission refuses it at `cap` (for example the sender cannot pay
    /// `cap` x price + value, or `cap` is below the intrinsic gas).
    Refused(AdmissionError),
}

/// The exact lowest gas limit, at most `cap`, at which `request` succeeds
/// against `state` in the block `env` describes.
///
/// It runs the transaction at `cap`, then at the gas the run used (the
/// answer whenever that much suffices and one less does not), and otherwise
/// bisects. The answer is checked, not assumed: the returned limit succeeded
/// and the limit below it failed. Success is assumed monotone in the limit
/// between those probes, which holds for a transaction whose path does not
/// depend on the gas it has left.
///
/// # Errors
///
/// Node failures.
pub fn estimate_gas<R: StateRead + ?Sized>(
    executor: &Executor,
    state: &R,
    env: &BlockEnv,
    request: &TxRequest,
    cap: u64,
) -> Result<Estimate, ChainError> {
    let run = |gas_limit: u64| simulate(executor, state, env, request, gas_limit);
    let at_cap = match run(cap)? {
        Err(error) => return Ok(Estimate::Refused(error)),
        Ok(receipt) if !succeeded(&receipt) => {
            return Ok(Estimate::Fails { cap, receipt });
        }
        Ok(receipt) => receipt,
    };
    let succeeds = |gas_limit: u64| -> Result<Option<Receipt>, ChainError> {
        Ok(run(gas_limit)?.ok().filter(succeeded))
    };
    // `high` succeeds; `low` fails (or is below anything admissible).
    let (mut high, mut high_receipt) = (cap, at_cap.clone());
    let mut low = request.intrinsic_gas().saturating_sub(1);
    let used = at_cap.gas_used;
    if used < high {
        match succeeds(used)? {
            Some(receipt) => {
                high = used;
                high_receipt = receipt;
                // Below the gas it uses, the same path runs out of gas.
                match used.checked_sub(1) {
                    Some(below) if below > low && succeeds(below)?.is_none() => low = below,
                    _ => {}
                }
            }
            None => low = low.max(used),
        }
    }
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        match succeeds(mid)? {
            Some(receipt) => {
                high = mid;
                high_receipt = receipt;
            }
            None => low = mid,
        }
    }
    Ok(Estimate::Succeeds {
        gas_limit: high,
        receipt: high_receipt,
    })
}

fn succeeded(receipt: &Receipt) -> bool {
    matches!(receipt.status, ExecStatus::Success { .. })
}
