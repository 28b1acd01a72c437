//! JSON-RPC errors: standard codes, and go-ethereum's messages where
//! Ethereum clients parse them.
//!
//! | condition | code | message |
//! |---|---|---|
//! | undecodable or mistyped parameters, garbage raw transaction | -32602 | what is wrong |
//! | refused by the chain's admission checks or the mempool | -32000 | geth's text: `nonce too low: next nonce N, tx nonce M`, `insufficient funds for gas * price + value: ...`, `already known`, `replacement transaction underpriced`, `exceeds block gas limit`, `intrinsic gas too low: ...`, ... |
//! | `eth_call`/`eth_estimateGas` reverted | 3 | `execution reverted: <reason>`, `data` = the revert bytes |
//! | `eth_call`/`eth_estimateGas` halted (out of gas, trap) | -32000 | the halt, `data` = its diagnostics |
//! | a limit (block range, results, batch) | -32000 | what the limit is |
//! | the node failed (I/O, corruption) | -32603 | `internal error` (details in the log) |
//!
//! -32603 is kept for the node's own faults: viem retries it, which would
//! resend a transaction that was refused for a reason.

use cairn_chain::AdmissionError;
use cairn_chain::view::ErrorView;
use cairn_engine::runtime::{ExecStatus, TrapDiagnostics};
use cairn_host_api::abi::{RevertReason, decode_revert};
use jsonrpsee::types::ErrorObjectOwned;

use crate::shared::SubmitError;

/// Invalid params.
pub const INVALID_PARAMS: i32 = -32602;
/// Internal error.
pub const INTERNAL_ERROR: i32 = -32603;
/// go-ethereum's code for every plain server-side error.
pub const SERVER_ERROR: i32 = -32000;
/// Execution reverted (eth_call, eth_estimateGas).
pub const EXECUTION_REVERTED: i32 = 3;

/// An error of an RPC method.
pub type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// -32602 with `message`.
pub fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS, message.into(), None::<()>)
}

/// -32000 with `message`.
pub fn server_error(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(SERVER_ERROR, message.into(), None::<()>)
}

/// A node failure: logged here with its details, reported as -32603.
pub fn internal(error: &dyn std::fmt::Display) -> ErrorObjectOwned {
    tracing::error!(%error, "RPC request failed inside the node");
    ErrorObjectOwned::owned(INTERNAL_ERROR, "internal error", None::<()>)
}

/// The geth message of an admission failure.
pub fn admission_error(error: &AdmissionError) -> ErrorObjectOwned {
    match error {
        AdmissionError::BadEncoding(reason) => {
            invalid_params(format!("invalid transaction: {reason}"))
        }
        AdmissionError::Oversize { size, limit } => server_error(format!(
            "oversized data: transaction size {size}, limit {limit}"
        )),
        AdmissionError::BadSignature(reason) => server_error(format!("invalid sender: {reason}")),
        AdmissionError::WrongChainId { expected, got } => server_error(format!(
            "invalid chain id for signer: have {got} want {expected}"
        )),
        AdmissionError::GasLimitAboveBlock { .. } => server_error("exceeds block gas limit"),
        AdmissionError::GasLimitAboveRemaining { .. } => server_error("gas limit reached"),
        AdmissionError::IntrinsicGasAboveLimit {
            intrinsic,
            gas_limit,
        } => server_error(format!(
            "intrinsic gas too low: gas {gas_limit}, minimum needed {intrinsic}"
        )),
        AdmissionError::NonceNotNext { expected, got, .. } if got < expected => server_error(
            format!("nonce too low: next nonce {expected}, tx nonce {got}"),
        ),
        AdmissionError::NonceNotNext { expected, got, .. } => server_error(format!(
            "nonce too high: next nonce {expected}, tx nonce {got}"
        )),
        AdmissionError::InsufficientBalance {
            balance, needed, ..
        } => server_error(format!(
            "insufficient funds for gas * price + value: balance {balance}, tx cost {needed}, overshot {}",
            needed.saturating_sub(*balance)
        )),
        other => server_error(other.to_string()),
    }
}

/// The error of a refused submission.
pub fn submit_error(error: &SubmitError) -> ErrorObjectOwned {
    match error {
        SubmitError::Admission(admission) => admission_error(admission),
        SubmitError::Pool(pool) => server_error(pool.to_string()),
        SubmitError::Node(node) => internal(node),
    }
}

/// The reason text of revert data as geth appends it to "execution reverted: ".
pub fn revert_reason(data: &[u8]) -> Option<String> {
    match decode_revert(data) {
        RevertReason::Error(reason) => Some(reason),
        RevertReason::Raw(bytes) if bytes.is_empty() => None,
        other => Some(other.to_string()),
    }
}

/// The error of an `eth_call`/`eth_estimateGas` that did not succeed.
pub fn execution_error(
    status: &ExecStatus,
    diagnostics: Option<&TrapDiagnostics>,
) -> ErrorObjectOwned {
    match status {
        ExecStatus::Revert { data } => {
            let message = match revert_reason(data) {
                Some(reason) => format!("execution reverted: {reason}"),
                None => "execution reverted".to_owned(),
            };
            ErrorObjectOwned::owned(
                EXECUTION_REVERTED,
                message,
                Some(format!("0x{}", hex::encode(data))),
            )
        }
        other => {
            let view = ErrorView::of(other, diagnostics);
            let message = match (other, &view) {
                (ExecStatus::Halt { reason }, _) if reason.kind() == "out_of_gas" => {
                    "out of gas".to_owned()
                }
                (_, Some(view)) => view.message.clone(),
                (_, None) => other.name().to_owned(),
            };
            ErrorObjectOwned::owned(SERVER_ERROR, message, view)
        }
    }
}

#[cfg(test)]
mod tests {
    use cairn_host_api::abi::encode_revert_reason;

    use super::*;

    #[test]
    fn reverts_carry_code_3_the_reason_and_the_bytes() {
        let data = encode_revert_reason("insufficient balance");
        let error = execution_error(&ExecStatus::Revert { data: data.clone() }, None);
        assert_eq!(error.code(), EXECUTION_REVERTED);
        assert_eq!(error.message(), "execution reverted: insufficient balance");
        let expected = format!("\"0x{}\"", hex::encode(&data));
        assert_eq!(error.data().map(|d| d.get()), Some(expected.as_str()));
        let bare = execution_error(&ExecStatus::Revert { data: vec![] }, None);
        assert_eq!(bare.message(), "execution reverted");
    }

    #[test]
    fn admission_errors_use_geth_messages() {
        let low = admission_error(&AdmissionError::NonceNotNext {
            sender: Default::default(),
            expected: 5,
            got: 3,
        });
        assert_eq!(low.code(), SERVER_ERROR);
        assert_eq!(low.message(), "nonce too low: next nonce 5, tx nonce 3");
        let intrinsic = admission_error(&AdmissionError::IntrinsicGasAboveLimit {
            intrinsic: 21_000,
            gas_limit: 100,
        });
        assert_eq!(
            intrinsic.message(),
            "intrinsic gas too low: gas 100, minimum needed 21000"
        );
        let block = admission_error(&AdmissionError::GasLimitAboveBlock {
            gas_limit: 2,
            block_gas_limit: 1,
        });
        assert_eq!(block.message(), "exceeds block gas limit");
    }
}
