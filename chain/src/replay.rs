//! Replay: re-execute a stored chain into a fresh scratch store and check
//! every receipt, receipts root and state root against what is stored.
//!
//! Normative text: `specs/replay.md`. The scratch store starts empty and is
//! initialised from the stored genesis, so a replay trusts nothing but the
//! genesis and the stored blocks' transactions; every other stored record is
//! a claim that it checks.

use cairn_engine::runtime::{ExecConfig, Executor};
use cairn_state::{StateDb, StateView};

use crate::block::{Block, Receipt, header_difference, receipts_root};
use crate::certificate::verify_certificate;
use crate::chain::Chain;
use crate::error::{ChainError, InvalidBlock};
use crate::execute::{InvalidTxPolicy, Prechecked, precheck_transactions};
use crate::storage::BlockStore;

/// Where and how a replay diverged from the stored chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The block.
    pub block: u64,
    /// The transaction, for receipt divergences.
    pub tx_index: Option<usize>,
    /// The field that differs (`status`, `gas_used`, `receipts_root`,
    /// `state_root`, `tx_root`, `receipt_count`, `transaction`...).
    pub field: String,
    /// The stored value.
    pub stored: String,
    /// The value re-execution gives.
    pub replayed: String,
    /// For a state root: the first state key (hex) whose stored value
    /// differs from the replayed one, if one is found among the keys the
    /// block wrote on replay.
    pub first_differing_key: Option<String>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "block {}", self.block)?;
        if let Some(index) = self.tx_index {
            write!(f, ", tx {index}")?;
        }
        write!(
            f,
            ": {} is {} in the stored chain but {} on replay",
            self.field, self.stored, self.replayed
        )?;
        if let Some(key) = &self.first_differing_key {
            write!(f, " (first differing key 0x{key})")?;
        }
        Ok(())
    }
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// First block checked.
    pub from: u64,
    /// Last block checked (or the one that diverged).
    pub to: u64,
    /// Blocks re-executed and checked.
    pub blocks: u64,
    /// Transactions re-executed.
    pub txs: u64,
    /// Commit certificates checked against the genesis validator set
    /// (validator chains; 0 for a single-producer chain).
    pub certificates: u64,
    /// Final replayed state root (hex, no prefix).
    pub state_root: String,
    /// The first divergence, if any; the replay stopped there.
    pub divergence: Option<Divergence>,
}

impl ReplayReport {
    /// Whether every checked record matched.
    pub fn verified(&self) -> bool {
        self.divergence.is_none()
    }
}

/// Why a replay could not run (as opposed to running and finding a divergence).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Reading the stored chain or writing the scratch store failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The requested range is not in the stored chain.
    #[error("cannot replay blocks {from}..={to}: the stored chain ends at block {head}")]
    Range {
        /// Requested start.
        from: u64,
        /// Requested end.
        to: u64,
        /// The stored head.
        head: u64,
    },
}

fn first_differing_key<S: StateView + ?Sized>(
    source: &S,
    version: u64,
    changes: &cairn_state::StateChanges,
) -> Option<String> {
    changes
        .iter()
        .find_map(|(key, replayed)| match source.get_at(key, version) {
            Ok(stored) if stored == *replayed => None,
            Ok(_) => Some(hex::encode(key)),
            Err(_) => None,
        })
}

fn receipt_divergence(block: u64, stored: &[Receipt], replayed: &[Receipt]) -> Option<Divergence> {
    for (index, (s, r)) in stored.iter().zip(replayed).enumerate() {
        if let Some((field, stored, replayed)) = s.first_difference(r) {
            return Some(Divergence {
                block,
                tx_index: Some(index),
                field: field.to_string(),
                stored,
                replayed,
                first_differing_key: None,
            });
        }
    }
    (stored.len() != replayed.len()).then(|| Divergence {
        block,
        tx_index: None,
        field: "receipt_count".into(),
        stored: stored.len().to_string(),
        replayed: replayed.len().to_string(),
        first_differing_key: None,
    })
}

/// What to replay and how.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// First block to check (blocks before it are re-executed and checked
    /// too: a replay never skips execution). 0 and 1 both mean block 1.
    pub from: u64,
    /// Last block to check; `None`: the stored head.
    pub to: Option<u64>,
    /// The executor configuration (gas schedule, limits) to re-execute with.
    pub config: ExecConfig,
}

/// Replays blocks `1..=to` of the chain in `source` into `scratch` (which
/// must be empty), checking every receipt, receipts root and state root.
/// `progress(block, txs)` is called after each block.
///
/// # Errors
///
/// [`ReplayError`] if the replay cannot run; a divergence is not an error
/// but [`ReplayReport::divergence`].
pub fn replay<S: StateView + ?Sized, T: StateDb>(
    source: &S,
    scratch: T,
    options: &ReplayOptions,
    mut progress: impl FnMut(u64, usize),
) -> Result<ReplayReport, ReplayError> {
    let span = tracing::info_span!("replay", from = options.from, to = options.to);
    let _entered = span.enter();
    let head = source.head_number()?;
    let to = options.to.unwrap_or(head);
    let from = options.from.max(1);
    if to > head || from > to.max(1) {
        return Err(ReplayError::Range { from, to, head });
    }
    let executor = Executor::new(options.config.clone());
    let genesis = source.genesis()?;
    let mut chain = Chain::init(scratch, executor, genesis)?;
    let mut report = ReplayReport {
        from,
        to,
        blocks: 0,
        txs: 0,
        certificates: 0,
        state_root: String::new(),
        divergence: None,
    };
    let stored_genesis = source.expect_block(0)?;
    if let Some((field, stored, replayed)) = header_difference(&stored_genesis.header, chain.head())
    {
        report.to = 0;
        report.divergence = Some(Divergence {
            block: 0,
            tx_index: None,
            field: field.into(),
            stored,
            replayed,
            first_differing_key: None,
        });
        return Ok(report);
    }
    let (chain_id, gas_limit) = (chain.genesis().chain_id, chain.genesis().block_gas_limit);
    let load = |number: u64| -> Result<(Block, Prechecked), ChainError> {
        let block = source.expect_block(number)?;
        let prechecked = precheck_transactions(&block.transactions, chain_id, gas_limit);
        Ok((block, prechecked))
    };
    let mut current = if to >= 1 { Some(load(1)?) } else { None };
    let mut number = 1;
    while let Some((block, prechecked)) = current.take() {
        let tx_count = block.transactions.len();
        // Recover the next block's senders on the other cores while this one executes.
        let (checked, next) = rayon::join(
            || replay_block(&mut chain, source, number, block, prechecked),
            || (number < to).then(|| load(number + 1)),
        );
        if let Some(found) = checked? {
            report.to = number;
            report.divergence = Some(found);
            return Ok(report);
        }
        if number >= from {
            report.blocks = report.blocks.saturating_add(1);
            if !chain.genesis().validators.is_empty() {
                report.certificates = report.certificates.saturating_add(1);
            }
            report.txs = report
                .txs
                .saturating_add(u64::try_from(tx_count).unwrap_or(u64::MAX));
        }
        progress(number, tx_count);
        current = next.transpose()?;
        number += 1;
    }
    report.state_root = hex::encode(chain.head().state_root);
    Ok(report)
}

/// Re-executes one stored block on the replayed head, compares, and commits
/// it to the scratch store if nothing diverges.
fn replay_block<S: StateView + ?Sized, T: StateDb>(
    chain: &mut Chain<T>,
    source: &S,
    number: u64,
    block: Block,
    prechecked: Prechecked,
) -> Result<Option<Divergence>, ReplayError> {
    let stored_receipts = source.expect_receipts(number)?;
    let divergence = |field: &str, stored: String, replayed: String| Divergence {
        block: number,
        tx_index: None,
        field: field.into(),
        stored,
        replayed,
        first_differing_key: None,
    };
    if let Err(error) = chain.check_extends_head(&block.header) {
        return Ok(Some(divergence(
            "parent",
            format!("{:?}", block.header.parent_hash),
            error.to_string(),
        )));
    }
    let executed = match chain.execute_block_prechecked(
        block.header.timestamp,
        block.header.beneficiary,
        block.transactions.clone(),
        prechecked,
        InvalidTxPolicy::Reject,
        false,
    ) {
        Ok(executed) => executed,
        Err(ChainError::Invalid(invalid)) => {
            return Ok(Some(match *invalid {
                InvalidBlock::Transaction { index, error, .. } => Divergence {
                    tx_index: Some(index),
                    ..divergence("transaction", "admissible".into(), error.to_string())
                },
                other => divergence("block", "valid".into(), other.to_string()),
            }));
        }
        Err(other) => return Err(other.into()),
    };
    if let Some(found) = receipt_divergence(number, &stored_receipts, &executed.receipts) {
        return Ok(Some(found));
    }
    if let Some((field, stored, replayed)) =
        header_difference(&block.header, &executed.block.header)
    {
        let key = (field == "state_root")
            .then(|| first_differing_key(source, number, &executed.changes))
            .flatten();
        return Ok(Some(Divergence {
            first_differing_key: key,
            ..divergence(field, stored, replayed)
        }));
    }
    let recomputed = receipts_root(&stored_receipts);
    if recomputed != block.header.receipts_root {
        return Ok(Some(divergence(
            "stored_receipts_root",
            format!("{:?}", block.header.receipts_root),
            format!("{recomputed:?}"),
        )));
    }
    if !chain.genesis().validators.is_empty() {
        // A validator chain: the block must carry a certificate from its
        // validators, checked against the genesis set.
        let problem = match source.certificate(number)? {
            None => Some("missing".to_string()),
            Some(certificate) => verify_certificate(chain.genesis(), &block.header, &certificate)
                .err()
                .map(|e| e.to_string()),
        };
        if let Some(problem) = problem {
            return Ok(Some(divergence(
                "certificate",
                problem,
                "a certificate from more than 2/3 of the voting power".into(),
            )));
        }
    }
    chain.commit(executed)?;
    Ok(None)
}
