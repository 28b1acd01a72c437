//! The `cairn_` namespace: what Ethereum has no method for. Answers are
//! the JSON views the CLI prints (`cairn_chain::view`).
//!
//! | method | params | result |
//! |---|---|---|
//! | `cairn_sendRawTransaction` | SCALE-encoded native signed transaction, hex | tx hash |
//! | `cairn_getTransactionReceipt` | tx hash | `TxReceiptView` (block header, index, sender, receipt) or null |
//! | `cairn_traceTransaction` | tx hash | `TxTraceView`: the tx re-executed with the trapping function, host call, backtrace and every frame; or null |
//! | `cairn_call` | call request, block? | `OutcomeView` (what `cairn query` prints) |
//! | `cairn_getProof` | state key (hex), block? | `ProofView`: value and proof against the block's state root |
//! | `cairn_getReplayBundle` | block | `BundleExportView`: the SCALE bundle `cairn bundle verify` checks |
//! | `cairn_getCodeInfo` | address, block? | `PreparedCodeView` (what `cairn prepare` prints) or null |
//! | `cairn_getCommitCertificate` | block | `CertificateView`: the validators' precommit signatures, or null (not committed, or a single-producer chain) |

use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes};
use alloy_rpc_types_eth::TransactionRequest;
use cairn_chain::bundle::export_bundle;
use cairn_chain::codec::to_hex;
use cairn_chain::view::{
    BundleExportView, CertificateView, HeaderView, OutcomeView, PreparedCodeView, ProofView,
    ReceiptView, TxReceiptView, TxTraceView,
};
use cairn_engine::prepare::prepare_code;
use jsonrpsee::server::RpcModule;

use super::error::{RpcResult, internal, invalid_params, server_error, submit_error};
use super::{RpcContext, at_most, exec};
use crate::convert::{from_alloy_address, from_alloy_b256, to_alloy_b256};
use crate::envelope::decode_native;

/// `cairn_sendRawTransaction`: a native SCALE transaction.
///
/// # Errors
///
/// -32602 for bytes that are not one; the geth message of a refusal.
pub fn send_raw_transaction(ctx: &RpcContext, raw: &Bytes) -> RpcResult<B256> {
    let tx = decode_native(raw).map_err(|e| super::error::admission_error(&e))?;
    let (hash, _) = ctx.shared.submit(tx).map_err(|e| submit_error(&e))?;
    ctx.shared.relay("cairn_sendRawTransaction", raw);
    Ok(to_alloy_b256(&hash))
}

/// `cairn_getTransactionReceipt`.
///
/// # Errors
///
/// Node failures.
pub fn get_receipt(ctx: &RpcContext, hash: B256) -> RpcResult<Option<TxReceiptView>> {
    let hash = from_alloy_b256(&hash);
    let Some((number, index)) = ctx
        .shared
        .reader
        .at_head()
        .tx_location(&hash)
        .map_err(|e| internal(&e))?
    else {
        return Ok(None);
    };
    let Some(data) = ctx.shared.block(number).map_err(|e| internal(&e))? else {
        return Ok(None);
    };
    let position = usize::try_from(index).unwrap_or(usize::MAX);
    let Some(receipt) = data.receipts.get(position) else {
        return Ok(None);
    };
    let sender = data.sender(position).map_err(|e| internal(&e))?;
    Ok(Some(TxReceiptView {
        hash: to_hex(hash),
        block: HeaderView::from(&data.block.header),
        index,
        sender: to_hex(sender),
        receipt: ReceiptView::from(receipt),
    }))
}

/// `cairn_traceTransaction`.
///
/// # Errors
///
/// Node failures.
pub fn trace_transaction(ctx: &RpcContext, hash: B256) -> RpcResult<Option<TxTraceView>> {
    let hash = from_alloy_b256(&hash);
    let trace = ctx
        .shared
        .reader
        .trace_transaction(&hash)
        .map_err(|e| internal(&e))?;
    Ok(trace.map(|trace| TxTraceView::new(&hash, &trace)))
}

/// `cairn_call`.
///
/// # Errors
///
/// Bad requests, unknown block; node failures.
pub fn call(
    ctx: &RpcContext,
    request: &TransactionRequest,
    block: Option<BlockId>,
) -> RpcResult<OutcomeView> {
    let snapshot = ctx.snapshot(block)?;
    let (outcome, gas_limit) = exec::simulate(ctx, &snapshot, request)?;
    Ok(OutcomeView::new(&outcome, gas_limit))
}

/// `cairn_getProof`.
///
/// # Errors
///
/// Unknown block; node failures.
pub fn get_proof(ctx: &RpcContext, key: &Bytes, block: Option<BlockId>) -> RpcResult<ProofView> {
    let snapshot = ctx.snapshot(block)?;
    let (value, proof) = snapshot.prove(key).map_err(|e| internal(&e))?;
    Ok(ProofView::new(
        snapshot.number(),
        &snapshot.state_root(),
        key,
        value.as_deref(),
        &proof,
    ))
}

/// The largest replay bundle served over RPC (a bigger
/// block's bundle is exported with `cairn bundle export` on the data
/// directory).
pub const MAX_RPC_BUNDLE_BYTES: usize = 8 * 1024 * 1024;

/// `cairn_getReplayBundle`.
///
/// # Errors
///
/// Genesis or an unknown block; a bundle above [`MAX_RPC_BUNDLE_BYTES`];
/// node failures.
pub fn get_replay_bundle(ctx: &RpcContext, block: BlockNumberOrTag) -> RpcResult<BundleExportView> {
    let number = ctx.block_number(Some(BlockId::Number(block)))?;
    if number == 0 {
        return Err(server_error(
            "block 0 is genesis: it has no parent to prove against",
        ));
    }
    let bundle = export_bundle(
        ctx.shared.reader.state(),
        ctx.shared.reader.executor(),
        number,
    )
    .map_err(|e| internal(&e))?;
    let bytes = bundle.to_bytes();
    if bytes.len() > MAX_RPC_BUNDLE_BYTES {
        return Err(server_error(format!(
            "the bundle of block {number} is {} bytes, above the {MAX_RPC_BUNDLE_BYTES} served over RPC; use `cairn bundle export`",
            bytes.len()
        )));
    }
    Ok(BundleExportView {
        block: number,
        keys: bundle.pre_state.len(),
        bytes: bytes.len(),
        bundle: to_hex(&bytes),
    })
}

/// `cairn_getCommitCertificate`: the validators' signatures that decided a block.
///
/// # Errors
///
/// Node failures.
pub fn get_commit_certificate(
    ctx: &RpcContext,
    block: BlockNumberOrTag,
) -> RpcResult<Option<CertificateView>> {
    use cairn_chain::BlockStore;
    let number = ctx.block_number(Some(BlockId::Number(block)))?;
    let certificate = ctx
        .shared
        .reader
        .state()
        .certificate(number)
        .map_err(|e| internal(&e))?;
    Ok(certificate.as_ref().map(CertificateView::from))
}

/// `cairn_getCodeInfo`: the contract's code prepared as the chain runs it.
///
/// # Errors
///
/// Unknown block; node failures.
pub fn get_code_info(
    ctx: &RpcContext,
    address: Address,
    block: Option<BlockId>,
) -> RpcResult<Option<PreparedCodeView>> {
    let snapshot = ctx.snapshot(block)?;
    let account = snapshot
        .account(&from_alloy_address(&address))
        .map_err(|e| internal(&e))?;
    let Some(code_hash) = account.code_hash else {
        return Ok(None);
    };
    let Some(code) = snapshot.code(&code_hash).map_err(|e| internal(&e))? else {
        return Ok(None);
    };
    let config = ctx.shared.reader.executor().config();
    let prepared = prepare_code(&code, &config.schedule, &config.limits).map_err(|e| {
        server_error(format!(
            "stored code no longer passes validation under this node's limits: {e}"
        ))
    })?;
    Ok(Some(PreparedCodeView::new(
        code_hash,
        &prepared,
        &config.schedule,
    )))
}

/// Registers the `cairn_` methods.
///
/// # Errors
///
/// A duplicate name (a bug).
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_blocking_method("cairn_sendRawTransaction", |params, ctx, _| {
        at_most(&params, 1)?;
        let raw: Bytes = params.one()?;
        send_raw_transaction(&ctx, &raw)
    })?;
    module.register_blocking_method("cairn_getTransactionReceipt", |params, ctx, _| {
        at_most(&params, 1)?;
        let hash: B256 = params.one()?;
        get_receipt(&ctx, hash)
    })?;
    module.register_blocking_method("cairn_traceTransaction", |params, ctx, _| {
        at_most(&params, 1)?;
        let hash: B256 = params.one()?;
        trace_transaction(&ctx, hash)
    })?;
    module.register_blocking_method("cairn_call", |params, ctx, _| {
        at_most(&params, 2)?;
        let mut seq = params.sequence();
        let request: TransactionRequest = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        call(&ctx, &request, block)
    })?;
    module.register_blocking_method("cairn_getProof", |params, ctx, _| {
        at_most(&params, 2)?;
        let mut seq = params.sequence();
        let key: Bytes = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        if key.is_empty() || key.len() > 4096 {
            return Err(invalid_params("a state key is 1 to 4096 bytes"));
        }
        get_proof(&ctx, &key, block)
    })?;
    module.register_blocking_method("cairn_getReplayBundle", |params, ctx, _| {
        at_most(&params, 1)?;
        let block: BlockNumberOrTag = params.one()?;
        get_replay_bundle(&ctx, block)
    })?;
    module.register_blocking_method("cairn_getCommitCertificate", |params, ctx, _| {
        at_most(&params, 1)?;
        let block: BlockNumberOrTag = params.one()?;
        get_commit_certificate(&ctx, block)
    })?;
    module.register_blocking_method("cairn_getCodeInfo", |params, ctx, _| {
        at_most(&params, 2)?;
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        get_code_info(&ctx, address, block)
    })?;
    Ok(())
}
