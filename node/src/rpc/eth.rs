//! The Ethereum methods: `web3_`, `net_` and `eth_`.
//!
//! Block parameters take the standard tags (`latest`, `pending`, `safe`,
//! `finalized` all mean the head: a committed block is final; `earliest` is
//! genesis), numbers, and EIP-1898 `{blockHash}` / `{blockNumber}` objects.
//! `pending` adds the mempool where it has a meaning: the nonce of
//! `eth_getTransactionCount`, and `eth_getBalance` (the head balance less
//! the most the sender's pending transactions can cost).

use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use alloy_rpc_types_eth::{
    FeeHistory, Filter, FilterBlockOption, Log, Transaction, TransactionReceipt, TransactionRequest,
};
use cairn_chain::BlockStore as _;
use jsonrpsee::server::RpcModule;

use super::error::{RpcResult, internal, invalid_params, server_error, submit_error};
use super::shapes::{
    TxLocation, first_log_index, quantity, rpc_block, rpc_logs, rpc_receipt, rpc_transaction,
};
use super::{RpcContext, at_most, exec};
use crate::convert::{from_alloy_address, from_alloy_b256};
use crate::envelope::decode_ethereum;

/// Most blocks one `eth_feeHistory` covers.
pub const MAX_FEE_HISTORY_BLOCKS: u64 = 1024;

/// The client version `web3_clientVersion` reports.
pub fn client_version() -> String {
    format!(
        "cairn/v{}/{}-{}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn account_at(
    ctx: &RpcContext,
    address: &Address,
    block: Option<BlockId>,
) -> RpcResult<cairn_host_api::world::Account> {
    ctx.snapshot(block)?
        .account(&from_alloy_address(address))
        .map_err(|e| internal(&e))
}

fn is_pending(block: Option<&BlockId>) -> bool {
    matches!(block, Some(BlockId::Number(BlockNumberOrTag::Pending)))
}

/// `eth_getBalance`.
///
/// # Errors
///
/// Unknown block; node failures.
pub fn get_balance(ctx: &RpcContext, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
    let account = account_at(ctx, &address, block)?;
    let mut balance = account.balance;
    if is_pending(block.as_ref()) {
        let cost = ctx
            .shared
            .lock_pool()
            .pending_cost(&from_alloy_address(&address), account.nonce);
        balance = balance.saturating_sub(cost);
    }
    Ok(quantity(&balance))
}

/// `eth_getTransactionCount`.
///
/// # Errors
///
/// Unknown block; node failures.
pub fn get_transaction_count(
    ctx: &RpcContext,
    address: Address,
    block: Option<BlockId>,
) -> RpcResult<U64> {
    let account = account_at(ctx, &address, block)?;
    let nonce = if is_pending(block.as_ref()) {
        ctx.shared
            .lock_pool()
            .pending_nonce(&from_alloy_address(&address), account.nonce)
    } else {
        account.nonce
    };
    Ok(U64::from(nonce))
}

/// `eth_getCode`: a contract's original Wasm code.
///
/// # Errors
///
/// Unknown block; node failures.
pub fn get_code(ctx: &RpcContext, address: Address, block: Option<BlockId>) -> RpcResult<Bytes> {
    let snapshot = ctx.snapshot(block)?;
    let account = snapshot
        .account(&from_alloy_address(&address))
        .map_err(|e| internal(&e))?;
    let Some(code_hash) = account.code_hash else {
        return Ok(Bytes::new());
    };
    let code = snapshot.code(&code_hash).map_err(|e| internal(&e))?;
    Ok(Bytes::from(code.unwrap_or_default()))
}

/// `eth_sendRawTransaction`.
///
/// # Errors
///
/// -32602 for bytes that are not a transaction; the geth message of an
/// admission or mempool refusal.
pub fn send_raw_transaction(ctx: &RpcContext, raw: &Bytes) -> RpcResult<B256> {
    let tx =
        decode_ethereum(raw).map_err(|e| invalid_params(format!("invalid transaction: {e}")))?;
    let (hash, _) = ctx.shared.submit(tx).map_err(|e| submit_error(&e))?;
    ctx.shared.relay("eth_sendRawTransaction", raw);
    Ok(crate::convert::to_alloy_b256(&hash))
}

/// `eth_getTransactionByHash`: pooled transactions too (with a null block).
///
/// # Errors
///
/// Node failures.
pub fn get_transaction_by_hash(ctx: &RpcContext, hash: B256) -> RpcResult<Option<Transaction>> {
    let hash = from_alloy_b256(&hash);
    if let Some(pooled) = ctx.shared.lock_pool().get(&hash) {
        return Ok(Some(rpc_transaction(&pooled.tx, &pooled.sender, None)));
    }
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
    let index = usize::try_from(index).unwrap_or(usize::MAX);
    let Some(tx) = data.block.transactions.get(index) else {
        return Ok(None);
    };
    let sender = data.sender(index).map_err(|e| internal(&e))?;
    Ok(Some(rpc_transaction(
        tx,
        &sender,
        Some(TxLocation {
            block_hash: data.block.header.hash(),
            block_number: number,
            block_timestamp: data.block.header.timestamp,
            index: u64::try_from(index).unwrap_or(u64::MAX),
        }),
    )))
}

/// `eth_getTransactionReceipt`.
///
/// # Errors
///
/// Node failures.
pub fn get_transaction_receipt(
    ctx: &RpcContext,
    hash: B256,
) -> RpcResult<Option<TransactionReceipt>> {
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
    let index = usize::try_from(index).unwrap_or(usize::MAX);
    let sender = data.sender(index).map_err(|e| internal(&e))?;
    Ok(rpc_receipt(&data.block, &data.receipts, index, &sender))
}

/// `eth_getBlockByNumber` / `eth_getBlockByHash`: `None` (null) for a block
/// not committed.
///
/// # Errors
///
/// Node failures.
pub fn get_block(
    ctx: &RpcContext,
    block: BlockId,
    full: bool,
) -> RpcResult<Option<alloy_rpc_types_eth::Block>> {
    let number = match ctx.block_number(Some(block)) {
        Ok(number) => number,
        Err(error) if error.message() == "header not found" => return Ok(None),
        Err(error) => return Err(error),
    };
    let Some(data) = ctx.shared.block(number).map_err(|e| internal(&e))? else {
        return Ok(None);
    };
    let senders = if full {
        data.all_senders().map_err(|e| internal(&e))?
    } else {
        Vec::new()
    };
    Ok(Some(rpc_block(&data.block, &data.receipts, &senders, full)))
}

fn resolve_tag(tag: Option<BlockNumberOrTag>, head: u64) -> u64 {
    match tag {
        None
        | Some(
            BlockNumberOrTag::Latest
            | BlockNumberOrTag::Pending
            | BlockNumberOrTag::Safe
            | BlockNumberOrTag::Finalized,
        ) => head,
        Some(BlockNumberOrTag::Earliest) => 0,
        Some(BlockNumberOrTag::Number(n)) => n,
    }
}

/// `eth_getLogs`: logs matching `filter`'s addresses and topics over a
/// block range of at most [`crate::config::RpcConfig::max_logs_block_range`]
/// blocks, at most [`crate::config::RpcConfig::max_logs`] results.
///
/// # Errors
///
/// A range too long or reversed, too many results, an unknown block hash;
/// node failures.
pub fn get_logs(ctx: &RpcContext, filter: &Filter) -> RpcResult<Vec<Log>> {
    let head = ctx.shared.reader.head().number;
    let (from, to) = match &filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => {
            let number = ctx
                .shared
                .reader
                .state()
                .block_number_by_hash(&from_alloy_b256(hash))
                .map_err(|e| internal(&e))?
                .filter(|n| *n <= head)
                .ok_or_else(|| server_error("unknown block"))?;
            (number, number)
        }
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => {
            let from = resolve_tag(*from_block, head);
            let to = resolve_tag(*to_block, head);
            if from > to {
                return Err(server_error(
                    "invalid block range params: fromBlock is after toBlock",
                ));
            }
            // The range asked for is bounded, not only the part that exists yet.
            let span = (to - from).saturating_add(1);
            if span > ctx.config.max_logs_block_range {
                return Err(server_error(format!(
                    "block range too large: {span} blocks, at most {} per query",
                    ctx.config.max_logs_block_range
                )));
            }
            (from, to.min(head))
        }
    };
    if from > to {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for number in from..=to {
        let Some(data) = ctx.shared.block(number).map_err(|e| internal(&e))? else {
            break;
        };
        let location = |index: usize| TxLocation {
            block_hash: data.block.header.hash(),
            block_number: number,
            block_timestamp: data.block.header.timestamp,
            index: u64::try_from(index).unwrap_or(u64::MAX),
        };
        for (index, receipt) in data.receipts.iter().enumerate() {
            if receipt.logs.is_empty() {
                continue;
            }
            let hash = data.block.transactions[index].hash();
            let logs = rpc_logs(
                receipt,
                &hash,
                location(index),
                first_log_index(&data.receipts, index),
            );
            for log in logs {
                if filter.matches_address(log.address()) && filter.matches_topics(log.topics()) {
                    if out.len() >= ctx.config.max_logs {
                        return Err(server_error(format!(
                            "query returned more than {} results",
                            ctx.config.max_logs
                        )));
                    }
                    out.push(log);
                }
            }
        }
    }
    Ok(out)
}

/// A block count given as a JSON number or a hex quantity.
fn parse_count(value: &serde_json::Value) -> RpcResult<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s
            .strip_prefix("0x")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .or_else(|| s.parse().ok()),
        _ => None,
    }
    .ok_or_else(|| invalid_params("block count must be a number or a hex quantity"))
}

/// `eth_feeHistory`: base fees are 0 (Cairn has none); rewards are the
/// requested percentiles of each block's gas prices weighted by gas used.
///
/// # Errors
///
/// Bad percentiles; unknown newest block; node failures.
#[allow(
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    reason = "fee history ratios and percentiles are f64 in the Ethereum API; display only, never consensus data"
)]
pub fn fee_history(
    ctx: &RpcContext,
    count: u64,
    newest: BlockNumberOrTag,
    percentiles: Option<Vec<f64>>,
) -> RpcResult<FeeHistory> {
    if let Some(p) = &percentiles {
        let valid = p.iter().all(|x| (0.0..=100.0).contains(x))
            && p.windows(2).all(|w| w[0] <= w[1])
            && p.len() <= 100;
        if !valid {
            return Err(invalid_params(
                "reward percentiles must be at most 100 values, ascending, between 0 and 100",
            ));
        }
    }
    let newest = ctx.block_number(Some(BlockId::Number(newest)))?;
    let count = count.min(MAX_FEE_HISTORY_BLOCKS).min(newest + 1);
    if count == 0 {
        return Ok(FeeHistory::default());
    }
    let oldest = newest + 1 - count;
    let mut gas_used_ratio = Vec::new();
    let mut rewards = Vec::new();
    for number in oldest..=newest {
        let data = ctx
            .shared
            .block(number)
            .map_err(|e| internal(&e))?
            .ok_or_else(|| server_error("header not found"))?;
        let header = &data.block.header;
        gas_used_ratio.push(if header.gas_limit == 0 {
            0.0
        } else {
            header.gas_used as f64 / header.gas_limit as f64
        });
        if let Some(percentiles) = &percentiles {
            let mut prices: Vec<(u64, u64)> = data
                .block
                .transactions
                .iter()
                .zip(&data.receipts)
                .map(|(tx, r)| (tx.gas_price(), r.gas_used))
                .collect();
            prices.sort_unstable();
            let total: u64 = prices.iter().map(|(_, g)| *g).sum();
            let row = percentiles
                .iter()
                .map(|p| {
                    let threshold = (total as f64) * p / 100.0;
                    let mut sum = 0u64;
                    for (price, gas) in &prices {
                        sum = sum.saturating_add(*gas);
                        if sum as f64 >= threshold {
                            return u128::from(*price);
                        }
                    }
                    prices.last().map_or(0, |(price, _)| u128::from(*price))
                })
                .collect();
            rewards.push(row);
        }
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    Ok(FeeHistory {
        base_fee_per_gas: vec![0; count + 1],
        gas_used_ratio,
        base_fee_per_blob_gas: vec![0; count + 1],
        blob_gas_used_ratio: vec![0.0; count],
        oldest_block: oldest,
        reward: percentiles.map(|_| rewards),
    })
}

type Module = RpcModule<RpcContext>;

/// Registers the `web3_`, `net_` and `eth_` methods.
///
/// # Errors
///
/// A duplicate name (a bug).
pub fn register(module: &mut Module) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("web3_clientVersion", |params, _, _| {
        at_most(&params, 0)?;
        RpcResult::Ok(client_version())
    })?;
    module.register_method("net_version", |params, ctx, _| {
        at_most(&params, 0)?;
        RpcResult::Ok(ctx.chain_id().to_string())
    })?;
    module.register_method("net_listening", |params, _, _| {
        at_most(&params, 0)?;
        RpcResult::Ok(true)
    })?;
    module.register_method("eth_chainId", |params, ctx, _| {
        at_most(&params, 0)?;
        RpcResult::Ok(U64::from(ctx.chain_id()))
    })?;
    module.register_method("eth_syncing", |params, _, _| {
        at_most(&params, 0)?;
        RpcResult::Ok(false)
    })?;
    module.register_method("eth_accounts", |params, _, _| {
        at_most(&params, 0)?;
        RpcResult::Ok(Vec::<Address>::new())
    })?;
    module.register_method("eth_blockNumber", |params, ctx, _| {
        at_most(&params, 0)?;
        RpcResult::Ok(U64::from(ctx.shared.reader.head().number))
    })?;
    module.register_method("eth_gasPrice", |params, ctx, _| {
        at_most(&params, 0)?;
        RpcResult::Ok(U256::from(ctx.config.gas_price))
    })?;
    module.register_method("eth_maxPriorityFeePerGas", |params, ctx, _| {
        at_most(&params, 0)?;
        RpcResult::Ok(U256::from(ctx.config.gas_price))
    })?;
    module.register_blocking_method("eth_getBalance", |params, ctx, _| {
        at_most(&params, 2)?;
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        get_balance(&ctx, address, block)
    })?;
    module.register_blocking_method("eth_getTransactionCount", |params, ctx, _| {
        at_most(&params, 2)?;
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        get_transaction_count(&ctx, address, block)
    })?;
    module.register_blocking_method("eth_getCode", |params, ctx, _| {
        at_most(&params, 2)?;
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        get_code(&ctx, address, block)
    })?;
    module.register_blocking_method("eth_call", |params, ctx, _| {
        at_most(&params, 2)?;
        let mut seq = params.sequence();
        let request: TransactionRequest = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        let snapshot = ctx.snapshot(block)?;
        exec::eth_call(&ctx, &snapshot, &request)
    })?;
    module.register_blocking_method("eth_estimateGas", |params, ctx, _| {
        at_most(&params, 2)?;
        let mut seq = params.sequence();
        let request: TransactionRequest = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        let snapshot = ctx.snapshot(block)?;
        exec::estimate_gas(&ctx, &snapshot, &request).map(U64::from)
    })?;
    module.register_blocking_method("eth_sendRawTransaction", |params, ctx, _| {
        at_most(&params, 1)?;
        let raw: Bytes = params.one()?;
        send_raw_transaction(&ctx, &raw)
    })?;
    module.register_blocking_method("eth_getTransactionByHash", |params, ctx, _| {
        at_most(&params, 1)?;
        let hash: B256 = params.one()?;
        get_transaction_by_hash(&ctx, hash)
    })?;
    module.register_blocking_method("eth_getTransactionReceipt", |params, ctx, _| {
        at_most(&params, 1)?;
        let hash: B256 = params.one()?;
        get_transaction_receipt(&ctx, hash)
    })?;
    module.register_blocking_method("eth_getBlockByNumber", |params, ctx, _| {
        at_most(&params, 2)?;
        let mut seq = params.sequence();
        let tag: BlockNumberOrTag = seq.next()?;
        let full: Option<bool> = seq.optional_next()?;
        get_block(&ctx, BlockId::Number(tag), full.unwrap_or(false))
    })?;
    module.register_blocking_method("eth_getBlockByHash", |params, ctx, _| {
        at_most(&params, 2)?;
        let mut seq = params.sequence();
        let hash: B256 = seq.next()?;
        let full: Option<bool> = seq.optional_next()?;
        get_block(&ctx, BlockId::from(hash), full.unwrap_or(false))
    })?;
    module.register_blocking_method("eth_getLogs", |params, ctx, _| {
        at_most(&params, 1)?;
        let filter: Filter = params.one()?;
        get_logs(&ctx, &filter)
    })?;
    module.register_blocking_method("eth_feeHistory", |params, ctx, _| {
        at_most(&params, 3)?;
        let mut seq = params.sequence();
        let count: serde_json::Value = seq.next()?;
        let newest: BlockNumberOrTag = seq.next()?;
        let percentiles: Option<Vec<f64>> = seq.optional_next()?;
        fee_history(&ctx, parse_count(&count)?, newest, percentiles)
    })?;
    Ok(())
}
