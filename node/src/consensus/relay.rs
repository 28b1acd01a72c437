//! Transaction relay between validators: a transaction one validator admits
//! is sent on to the others' JSON-RPC (`eth_sendRawTransaction` or
//! `cairn_sendRawTransaction`, in batches), so whichever validator proposes
//! next can include it. A validator relays only what it newly admitted, so
//! a transaction crosses each link at most twice and the relay ends at
//! "already known".

use std::time::Duration;

use jsonrpsee_core::client::ClientT;
use jsonrpsee_core::params::BatchRequestBuilder;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// A transaction to relay: the RPC method that admits it and its raw bytes.
#[derive(Debug, Clone)]
pub struct RelayTx {
    /// `eth_sendRawTransaction` or `cairn_sendRawTransaction`.
    pub method: &'static str,
    /// The raw transaction.
    pub raw: Vec<u8>,
}

/// Most transactions in one relayed batch.
const BATCH: usize = 100;

/// Starts relaying to `peers` (RPC URLs); returns where to send transactions.
pub fn start(peers: &[String]) -> Result<UnboundedSender<RelayTx>, String> {
    let clients = peers
        .iter()
        .map(|url| {
            HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(5))
                .build(url)
                .map(|client| (url.clone(), client))
                .map_err(|e| format!("validator.relay {url}: {e}"))
        })
        .collect::<Result<Vec<(String, HttpClient)>, String>>()?;
    let (sender, receiver) = unbounded_channel();
    tokio::spawn(run(clients, receiver));
    Ok(sender)
}

async fn run(clients: Vec<(String, HttpClient)>, mut receiver: UnboundedReceiver<RelayTx>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(tx) => batch.push(tx),
                Err(_) => break,
            }
        }
        for (url, client) in &clients {
            let mut request = BatchRequestBuilder::new();
            for tx in &batch {
                let hex = format!("0x{}", hex::encode(&tx.raw));
                if request.insert(tx.method, vec![hex]).is_err() {
                    continue;
                }
            }
            // A peer that is down misses these; it still gets the blocks.
            match client.batch_request::<serde_json::Value>(request).await {
                Ok(_) => {}
                Err(error) => tracing::debug!(%url, %error, "transaction relay failed"),
            }
        }
    }
}
