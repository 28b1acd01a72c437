//! `eth_subscribe` over WebSocket: `newHeads` (each committed block's
//! header) and `logs` (each matching log of each committed block, with an
//! optional `{address, topics}` filter), as geth sends them
//! (`eth_subscription` notifications); `eth_unsubscribe` ends one.
//!
//! A subscriber too slow to keep up with new blocks (more than the event
//! buffer behind) is closed rather than silently skipped: its client
//! resubscribes and can fill the gap with `eth_getLogs`.

use std::sync::Arc;

use alloy_rpc_types_eth::Filter;
use jsonrpsee::server::{PendingSubscriptionSink, RpcModule, SubscriptionMessage};
use jsonrpsee::types::Params;
use tokio::sync::broadcast::error::RecvError;

use super::RpcContext;
use super::error::invalid_params;
use super::shapes::{TxLocation, block_bloom, first_log_index, rpc_header, rpc_logs};
use crate::producer::CommittedBlock;

enum Kind {
    NewHeads,
    Logs(Box<Filter>),
}

fn parse(params: &Params<'_>) -> Result<Kind, jsonrpsee::types::ErrorObjectOwned> {
    super::at_most(params, 2)?;
    let mut seq = params.sequence();
    let kind: String = seq.next()?;
    match kind.as_str() {
        "newHeads" => Ok(Kind::NewHeads),
        "logs" => {
            let filter: Option<Filter> = seq.optional_next()?;
            Ok(Kind::Logs(Box::new(filter.unwrap_or_default())))
        }
        other => Err(invalid_params(format!(
            "unsupported subscription `{other}` (supported: newHeads, logs)"
        ))),
    }
}

fn messages(kind: &Kind, committed: &CommittedBlock) -> Vec<SubscriptionMessage> {
    let block = &committed.block;
    match kind {
        Kind::NewHeads => {
            let header = rpc_header(&block.header, block_bloom(&committed.receipts), None);
            to_message(&header).into_iter().collect()
        }
        Kind::Logs(filter) => {
            let block_hash = block.header.hash();
            let mut out = Vec::new();
            for (index, receipt) in committed.receipts.iter().enumerate() {
                if receipt.logs.is_empty() {
                    continue;
                }
                let location = TxLocation {
                    block_hash,
                    block_number: block.header.number,
                    block_timestamp: block.header.timestamp,
                    index: u64::try_from(index).unwrap_or(u64::MAX),
                };
                let hash = block.transactions[index].hash();
                for log in rpc_logs(
                    receipt,
                    &hash,
                    location,
                    first_log_index(&committed.receipts, index),
                ) {
                    if filter.matches_address(log.address()) && filter.matches_topics(log.topics())
                    {
                        out.extend(to_message(&log));
                    }
                }
            }
            out
        }
    }
}

fn to_message(value: &impl serde::Serialize) -> Option<SubscriptionMessage> {
    serde_json::value::to_raw_value(value)
        .ok()
        .map(SubscriptionMessage::from)
}

async fn serve(pending: PendingSubscriptionSink, ctx: Arc<RpcContext>, kind: Kind) {
    let mut events = ctx.shared.subscribe();
    let Ok(sink) = pending.accept().await else {
        return;
    };
    loop {
        tokio::select! {
            () = sink.closed() => return,
            event = events.recv() => match event {
                Ok(block) => {
                    for message in messages(&kind, &block) {
                        if sink.send(message).await.is_err() {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "closing a subscription that fell behind");
                    return;
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// Registers `eth_subscribe` / `eth_unsubscribe`.
///
/// # Errors
///
/// A duplicate name (a bug).
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |params, pending, ctx, _| async move {
            match parse(&params) {
                Ok(kind) => serve(pending, ctx, kind).await,
                Err(error) => pending.reject(error).await,
            }
        },
    )?;
    Ok(())
}
