//! `cairn replay`: re-execute the stored chain in a scratch store and report
//! the first divergence.

use std::path::PathBuf;

use anyhow::Result;
use cairn_chain::view::ReplayView;
use clap::Args;
use serde::Serialize;

use crate::common::{Status, open_chain, print_json, replay_into_scratch};

/// `cairn replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// Data directory of the chain to check.
    #[arg(long)]
    data_dir: PathBuf,
    /// First block to check (earlier blocks are re-executed too, to rebuild the state).
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// Last block to check (default: the head).
    #[arg(long)]
    to: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// A replay's report with its timing (not consensus data).
#[derive(Debug, Serialize)]
struct TimedReplay {
    #[serde(flatten)]
    report: ReplayView,
    seconds: f64,
    tx_per_s: f64,
}

#[allow(
    clippy::float_arithmetic,
    reason = "throughput figures for people; they never reach a root, receipt or gas figure"
)]
pub(crate) fn replay_cmd(args: ReplayArgs) -> Result<Status> {
    let chain = open_chain(&args.data_dir)?;
    let source = chain.into_state();
    let (report, seconds) = replay_into_scratch(&source, args.from, args.to, !args.json)?;
    if args.json {
        #[allow(clippy::cast_precision_loss, reason = "a throughput figure for people")]
        let tx_per_s = if seconds > 0.0 {
            report.txs as f64 / seconds
        } else {
            0.0
        };
        print_json(&TimedReplay {
            report: ReplayView::from(&report),
            seconds,
            tx_per_s,
        })?;
    } else if let Some(divergence) = &report.divergence {
        println!("DIVERGENCE at {divergence}");
    } else {
        println!(
            "replayed blocks {}..={}: {} txs in {:.2}s, every receipt, receipts root and state root verified",
            report.from, report.to, report.txs, seconds
        );
        if report.certificates > 0 {
            println!(
                "{} commit certificates verified against the genesis validator set",
                report.certificates
            );
        }
        println!("state root 0x{}", report.state_root);
    }
    Ok(if report.verified() {
        Status::Done
    } else {
        Status::NotVerified
    })
}
