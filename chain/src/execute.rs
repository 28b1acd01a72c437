//! The transaction handler: admission, fees, execution of a block's
//! transactions into a [`BlockState`], and the genesis state. Normative
//! text: `specs/chain.md` ("Admission", "Fees", "Execution").

use cairn_engine::runtime::{
    BlockContext, ExecOutcome, ExecStatus, Executor, Message, MessageKind,
};
use cairn_host_api::world::{Account, Address, BackendError, U256};
use cairn_state::StateRead;
use parity_scale_codec::Encode;
use rayon::prelude::*;

use crate::admission::{self, AdmissionError, intrinsic_gas};
use crate::block::Receipt;
use crate::error::{ChainError, InvalidBlock, SetupError};
use crate::genesis::Genesis;
use crate::tx::{Envelope, TxAction, contract_address};
use crate::world::BlockState;

/// Gas a genesis contract's `deploy` export may use.
pub const GENESIS_DEPLOY_GAS: u64 = 1_000_000_000_000;

/// Transactions a producer left out: index in its input and the reason.
pub type Rejected = Vec<(usize, AdmissionError)>;

/// What to do with a transaction that fails admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidTxPolicy {
    /// Producing a block: leave it out and report it.
    Skip,
    /// Importing or replaying a block: the block is invalid.
    Reject,
}

impl InvalidTxPolicy {
    /// Applies the policy to transaction `index` of block `number` that
    /// failed admission: records it under `Skip`, fails the block under `Reject`.
    fn apply(
        self,
        rejected: &mut Rejected,
        number: u64,
        index: usize,
        error: AdmissionError,
    ) -> Result<(), ChainError> {
        match self {
            Self::Skip => {
                rejected.push((index, error));
                Ok(())
            }
            Self::Reject => Err(InvalidBlock::Transaction {
                number,
                index,
                error,
            }
            .into()),
        }
    }
}

/// Parameters of one block's execution.
#[derive(Debug, Clone, Copy)]
pub struct BlockEnv {
    /// Block number.
    pub number: u64,
    /// Timestamp.
    pub timestamp: u64,
    /// Fee recipient.
    pub beneficiary: Address,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Chain id.
    pub chain_id: u64,
}

/// The outcome of executing a list of transactions into a [`BlockState`].
#[derive(Debug, Default)]
pub struct TxsOutcome {
    /// Included transactions.
    pub included: Vec<Envelope>,
    /// Their receipts.
    pub receipts: Vec<Receipt>,
    /// Left-out transactions.
    pub rejected: Rejected,
    /// Gas used by the included ones.
    pub gas_used: u64,
}

fn fee(gas: u64, price: u64) -> U256 {
    U256::from(gas).saturating_mul(U256::from(price))
}

fn credit(
    state: &mut BlockState<'_, impl StateRead + ?Sized>,
    who: &Address,
    amount: U256,
) -> Result<(), BackendError> {
    if amount.is_zero() {
        return Ok(());
    }
    let mut account = state.account_or_default(who)?;
    account.balance = account.balance.saturating_add(amount);
    state.put_account(who, &account);
    Ok(())
}

/// Executes `txs` in order into `state`: parallel signature recovery, then
/// sequential admission and execution. Fees: the sender pays gas limit x
/// price up front, gets the unused part back, the beneficiary gets the rest.
/// An included failure keeps only the fee and the nonce bump.
///
/// # Errors
///
/// [`InvalidBlock::Transaction`] under [`InvalidTxPolicy::Reject`];
/// node failures always.
pub fn execute_transactions<R: StateRead + ?Sized>(
    executor: &Executor,
    state: &mut BlockState<'_, R>,
    env: &BlockEnv,
    txs: Vec<Envelope>,
    policy: InvalidTxPolicy,
) -> Result<TxsOutcome, ChainError> {
    let prechecked = precheck_transactions(&txs, env.chain_id, env.gas_limit);
    execute_prechecked(executor, state, env, txs, prechecked, policy)
}

/// Stateless admission checks and recovered senders of a block's
/// transactions, in order.
pub type Prechecked = Vec<Result<Address, AdmissionError>>;

/// At most this many transactions recovered as one piece of parallel work.
///
/// Without a bound rayon splits the block into about one piece per core up
/// front. When the pipelined producer recovers the next block's senders on
/// one core while the other executes, the executing core finds nothing left
/// to take when it is done, and one core recovers the whole block alone.
/// Pieces of 16 (about 1 ms of work) let it join in.
const PRECHECK_CHUNK: usize = 16;

/// Runs the stateless admission checks and recovers every sender, in
/// parallel on all cores: they are independent per transaction.
pub fn precheck_transactions(txs: &[Envelope], chain_id: u64, block_gas_limit: u64) -> Prechecked {
    txs.par_iter()
        .with_max_len(PRECHECK_CHUNK)
        .map(|tx| {
            admission::check_stateless(tx, tx.encoded_size(), chain_id, block_gas_limit)?;
            Ok(tx.recover_sender()?)
        })
        .collect()
}

/// [`execute_transactions`] with the stateless checks already done
/// (`prechecked` from [`precheck_transactions`] over the same `txs`), so a
/// caller can recover the next block's senders while this one executes.
///
/// # Errors
///
/// As [`execute_transactions`].
pub fn execute_prechecked<R: StateRead + ?Sized>(
    executor: &Executor,
    state: &mut BlockState<'_, R>,
    env: &BlockEnv,
    txs: Vec<Envelope>,
    prechecked: Prechecked,
    policy: InvalidTxPolicy,
) -> Result<TxsOutcome, ChainError> {
    assert_eq!(
        txs.len(),
        prechecked.len(),
        "prechecked results must match the transactions"
    );
    let context = BlockContext {
        number: env.number,
        timestamp: env.timestamp,
        chain_id: env.chain_id,
    };
    let mut out = TxsOutcome::default();
    for (index, (tx, sender)) in txs.into_iter().zip(prechecked).enumerate() {
        let admitted = sender.and_then(|sender| {
            admission::check_block_gas_left(&tx, env.gas_limit.saturating_sub(out.gas_used))?;
            Ok(sender)
        });
        let sender = match admitted {
            Ok(sender) => sender,
            Err(error) => {
                policy.apply(&mut out.rejected, env.number, index, error)?;
                continue;
            }
        };
        let mut account = state.account_or_default(&sender)?;
        if let Err(error) = admission::check_sender(&tx, sender, &account) {
            policy.apply(&mut out.rejected, env.number, index, error)?;
            continue;
        }
        let receipt = execute_admitted(
            executor,
            state,
            &context,
            env,
            &tx,
            sender,
            &mut account,
            out.gas_used,
        )?;
        out.gas_used = receipt.cumulative_gas_used;
        out.receipts.push(receipt);
        out.included.push(tx);
    }
    Ok(out)
}

#[allow(
    clippy::too_many_arguments,
    reason = "one call site; the arguments are the block's and the tx's context"
)]
pub(crate) fn execute_admitted<R: StateRead + ?Sized>(
    executor: &Executor,
    state: &mut BlockState<'_, R>,
    context: &BlockContext,
    env: &BlockEnv,
    tx: &Envelope,
    sender: Address,
    account: &mut Account,
    gas_before: u64,
) -> Result<Receipt, ChainError> {
    let intrinsic = intrinsic_gas(tx);
    // Admission checked balance >= max fee + value and nonce == account nonce.
    account.nonce = account.nonce.saturating_add(1);
    account.balance = account
        .balance
        .saturating_sub(fee(tx.gas_limit(), tx.gas_price()));
    state.put_account(&sender, account);

    let (target, kind, input) = match tx.action() {
        TxAction::Call { to, data } => (*to, MessageKind::Call, data.clone()),
        TxAction::Deploy { code, data } => (
            contract_address(&sender, tx.nonce()),
            MessageKind::Deploy { code: code.clone() },
            data.clone(),
        ),
    };
    let message = Message {
        origin: sender,
        caller: sender,
        target,
        value: tx.value(),
        input,
        gas_limit: tx.gas_limit().saturating_sub(intrinsic),
        kind,
    };
    let outcome: ExecOutcome = executor.execute(state, context, &message)?;
    if outcome.is_success() {
        state.apply(&outcome.changes);
    }
    let gas_used = intrinsic
        .saturating_add(outcome.gas_used)
        .min(tx.gas_limit());
    credit(
        state,
        &sender,
        fee(tx.gas_limit().saturating_sub(gas_used), tx.gas_price()),
    )?;
    credit(state, &env.beneficiary, fee(gas_used, tx.gas_price()))?;
    let created = matches!(tx.action(), TxAction::Deploy { .. }) && outcome.is_success();
    Ok(Receipt {
        status: outcome.status,
        gas_used,
        cumulative_gas_used: gas_before.saturating_add(gas_used),
        logs: outcome.logs,
        contract_address: created.then_some(target),
    })
}

/// Runs the genesis deploys and balances into `state`.
///
/// # Errors
///
/// [`SetupError::GenesisDeploy`] if a contract's deploy does not succeed.
pub fn apply_genesis<R: StateRead + ?Sized>(
    executor: &Executor,
    state: &mut BlockState<'_, R>,
    genesis: &Genesis,
) -> Result<(), ChainError> {
    for entry in &genesis.accounts {
        credit(state, &entry.address, entry.balance)?;
    }
    let context = BlockContext {
        number: 0,
        timestamp: genesis.timestamp,
        chain_id: genesis.chain_id,
    };
    for contract in &genesis.contracts {
        let message = Message {
            origin: contract.deployer,
            caller: contract.deployer,
            target: contract.address,
            value: U256::zero(),
            input: contract.input.clone(),
            gas_limit: GENESIS_DEPLOY_GAS,
            kind: MessageKind::Deploy {
                code: contract.code.clone(),
            },
        };
        let outcome = executor.execute(state, &context, &message)?;
        match &outcome.status {
            ExecStatus::Success { .. } => state.apply(&outcome.changes),
            other => {
                let reason = match &outcome.diagnostics {
                    Some(d) => d.message.clone(),
                    None => format!("{} ({other:?})", other.name()),
                };
                return Err(SetupError::GenesisDeploy {
                    name: contract.name.clone(),
                    reason,
                }
                .into());
            }
        }
        credit(state, &contract.address, contract.balance)?;
    }
    Ok(())
}
