//! `eth_call`, `eth_estimateGas` and `cairn_call`: a call request run
//! against a committed block, committing nothing.
//!
//! Gas: a request's `gas` is a transaction's gas limit (intrinsic gas
//! included, as in Ethereum); the message runs with that minus intrinsic
//! gas, capped by [`crate::config::RpcConfig::gas_cap`]. Without `gas`, the
//! message gets the cap. `eth_estimateGas` returns the lowest transaction gas
//! limit with which the call succeeds: the chain's exact estimate, shared with
//! `cairn estimate`.

use alloy_primitives::{Bytes, TxKind};
use alloy_rpc_types_eth::TransactionRequest;
use cairn_chain::admission::{AdmissionError, intrinsic_gas_of};
use cairn_chain::codec::decode_exact;
use cairn_chain::tx::{TxAction, contract_address};
use cairn_chain::{Estimate, TxRequest};
use cairn_engine::runtime::{ExecOutcome, ExecStatus, Message, MessageKind};

use super::error::{RpcResult, execution_error, internal, invalid_params, server_error};
use super::{RpcContext, Snapshot};
use crate::convert::{from_alloy_address, from_alloy_u256};

/// A request turned into a message, and its intrinsic gas.
#[derive(Debug)]
pub struct CallMessage {
    /// The message (its gas limit still to be set).
    pub message: Message,
    /// Intrinsic gas of a transaction doing the same.
    pub intrinsic: u64,
    /// What a transaction doing the same would carry.
    pub action: TxAction,
}

/// The message of `request` against `snapshot`.
///
/// # Errors
///
/// -32602 for a malformed request (both `input` and `data`, differing; a
/// deploy whose data is not SCALE `(code, input)`).
pub fn call_message(snapshot: &Snapshot, request: &TransactionRequest) -> RpcResult<CallMessage> {
    let from = request
        .from
        .as_ref()
        .map(from_alloy_address)
        .unwrap_or_default();
    let input = request
        .input
        .clone()
        .try_into_unique_input()
        .map_err(|_| invalid_params("both `input` and `data` are set and they differ"))?
        .unwrap_or_default()
        .to_vec();
    let value = request
        .value
        .as_ref()
        .map(from_alloy_u256)
        .unwrap_or_default();
    let (target, kind, data, action) = match request.to {
        Some(TxKind::Call(to)) => {
            let to = from_alloy_address(&to);
            (
                to,
                MessageKind::Call,
                input.clone(),
                TxAction::Call { to, data: input },
            )
        }
        None | Some(TxKind::Create) => {
            let (code, data): (Vec<u8>, Vec<u8>) = decode_exact(&input).map_err(|_| {
                invalid_params(
                    "a deploy's data must be the SCALE encoding of (code: Vec<u8>, input: Vec<u8>)",
                )
            })?;
            let nonce = snapshot.account(&from).map_err(|e| internal(&e))?.nonce;
            (
                contract_address(&from, nonce),
                MessageKind::Deploy { code: code.clone() },
                data.clone(),
                TxAction::Deploy { code, data },
            )
        }
    };
    Ok(CallMessage {
        intrinsic: intrinsic_gas_of(&action),
        action,
        message: Message {
            origin: from,
            caller: from,
            target,
            value,
            input: data,
            gas_limit: 0,
            kind,
        },
    })
}

/// Runs `message`. A halt runs again traced when the node says so
/// ([`crate::config::RpcConfig::trace_failed_calls`]), and its diagnostics
/// (the function that trapped, the backtrace, the exact out-of-gas counter)
/// replace the plain run's; status and gas are the plain run's either way.
fn run(ctx: &RpcContext, snapshot: &Snapshot, message: &Message) -> RpcResult<ExecOutcome> {
    let mut outcome = snapshot.query(message).map_err(|e| internal(&e))?;
    if matches!(outcome.status, ExecStatus::Halt { .. })
        && ctx.config.trace_failed_calls == Some(true)
    {
        let traced = snapshot.query_traced(message).map_err(|e| internal(&e))?;
        // A traced run does what the plain one does (engine tests pin it);
        // should it ever not, the plain run's diagnostics stand.
        if traced.status == outcome.status && traced.gas_used == outcome.gas_used {
            outcome.diagnostics = traced.diagnostics;
        }
    }
    Ok(outcome)
}

/// The message gas an `eth_call` runs with.
fn call_gas(ctx: &RpcContext, request: &TransactionRequest, intrinsic: u64) -> RpcResult<u64> {
    match request.gas {
        None => Ok(ctx.config.gas_cap),
        Some(gas) if gas < intrinsic => Err(server_error(format!(
            "intrinsic gas too low: gas {gas}, minimum needed {intrinsic}"
        ))),
        Some(gas) => Ok((gas - intrinsic).min(ctx.config.gas_cap)),
    }
}

/// Runs `request` and returns the outcome and the gas it ran with.
///
/// # Errors
///
/// Bad requests; node failures.
pub fn simulate(
    ctx: &RpcContext,
    snapshot: &Snapshot,
    request: &TransactionRequest,
) -> RpcResult<(ExecOutcome, u64)> {
    let CallMessage {
        mut message,
        intrinsic,
        ..
    } = call_message(snapshot, request)?;
    message.gas_limit = call_gas(ctx, request, intrinsic)?;
    Ok((run(ctx, snapshot, &message)?, message.gas_limit))
}

/// `eth_call`: the return data, or the revert as code 3.
///
/// # Errors
///
/// As [`simulate`]; a call that does not succeed.
pub fn eth_call(
    ctx: &RpcContext,
    snapshot: &Snapshot,
    request: &TransactionRequest,
) -> RpcResult<Bytes> {
    let (outcome, _) = simulate(ctx, snapshot, request)?;
    match &outcome.status {
        ExecStatus::Success { return_data } => Ok(Bytes::from(return_data.clone())),
        status => Err(execution_error(status, outcome.diagnostics.as_ref())),
    }
}

/// `eth_estimateGas`: the chain's exact estimate
/// ([`cairn_chain::simulate::estimate_gas`], `specs/chain.md` "Gas
/// estimates"): the request simulated as a transaction through admission,
/// fees and execution; the returned limit succeeds and one less fails.
///
/// # Errors
///
/// As [`simulate`]; a call that fails at the cap (revert: code 3; out of
/// gas: `gas required exceeds allowance (N)`); a sender that cannot pay.
pub fn estimate_gas(
    ctx: &RpcContext,
    snapshot: &Snapshot,
    request: &TransactionRequest,
) -> RpcResult<u64> {
    let CallMessage {
        mut message,
        intrinsic,
        action,
    } = call_message(snapshot, request)?;
    let cap = request
        .gas
        .unwrap_or(snapshot.header().gas_limit)
        .min(ctx.config.gas_cap.saturating_add(intrinsic))
        .min(snapshot.header().gas_limit);
    if cap < intrinsic {
        return Err(server_error(format!(
            "gas required exceeds allowance ({cap})"
        )));
    }
    // A price only when the request names one: without it, as in geth,
    // the sender's balance need only cover the value.
    let gas_price = request
        .gas_price
        .or(request.max_fee_per_gas)
        .map(|price| u64::try_from(price).map_err(|_| invalid_params("gas price above 2^64 - 1")))
        .transpose()?
        .unwrap_or(0);
    let tx = TxRequest {
        sender: message.origin,
        gas_price,
        value: message.value,
        action,
    };
    match snapshot.estimate_gas(&tx, cap).map_err(|e| internal(&e))? {
        Estimate::Succeeds { gas_limit, .. } => Ok(gas_limit),
        Estimate::Fails { cap, receipt } => Err(match &receipt.status {
            ExecStatus::Halt { reason } if reason.kind() == "out_of_gas" => {
                server_error(format!("gas required exceeds allowance ({cap})"))
            }
            ExecStatus::Revert { .. } => execution_error(&receipt.status, None),
            _ => {
                // The diagnostics of the failure (which function, which trap).
                message.gas_limit = cap - intrinsic;
                let outcome = run(ctx, snapshot, &message)?;
                execution_error(&outcome.status, outcome.diagnostics.as_ref())
            }
        }),
        Estimate::Refused(AdmissionError::InsufficientBalance {
            balance, needed, ..
        }) => Err(server_error(format!(
            "insufficient funds for gas * price + value: balance {balance}, needed {needed}"
        ))),
        Estimate::Refused(error) => Err(server_error(error.to_string())),
    }
}
