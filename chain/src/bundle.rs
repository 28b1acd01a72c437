//! Replay bundles: one block made checkable offline, with no database.
//!
//! A bundle holds the block, its parent header, the stored receipts, the
//! pre-state values of every key the block read or wrote (code included)
//! with a multi-key witness against the parent's state root, and a witness
//! of every key the block wrote against the block's state root. Verifying it
//! checks the pre-state witness, re-executes the block on exactly those
//! values, compares receipts and header, and checks every written value
//! against the post-state root. Normative text: `specs/replay.md`.

use std::collections::BTreeMap;

use cairn_engine::runtime::Executor;
use cairn_host_api::world::{Account, H256};
use cairn_state::{ProofError, StateChanges, StateError, StateRead, StateRoot, StateView, Witness};
use parity_scale_codec::{Decode, Encode};

use crate::block::{Block, BlockHeader, Receipt, receipts_root};
use crate::certificate::{
    CertificateError, CommitCertificate, GenesisValidator, verify_certificate_under,
};
use crate::codec::decode_exact;
use crate::error::ChainError;
use crate::execute::{BlockEnv, InvalidTxPolicy, execute_transactions};
use crate::merkle::merkle_root;
use crate::storage::BlockStore;
use crate::world::{ACCOUNT_PREFIX, BlockState, StateAt, code_key};

/// A self-contained, offline-checkable block.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ReplayBundle {
    /// The chain id the block runs under.
    pub chain_id: u64,
    /// The parent's header; its state root is what the pre-state witness proves against.
    pub parent: BlockHeader,
    /// The block.
    pub block: Block,
    /// The receipts the chain stored for the block.
    pub receipts: Vec<Receipt>,
    /// Pre-state value (or absence) of every key the block read or wrote.
    pub pre_state: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// SCALE witness of `pre_state` against `parent.state_root`.
    pub pre_witness: Vec<u8>,
    /// The expected post-state: every key the block wrote and its new
    /// value (`None`: deleted), in key order.
    pub post_state: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// SCALE witness of `post_state` against `block.header.state_root`.
    pub post_witness: Vec<u8>,
    /// Validator chains: the genesis validator set and the block's commit
    /// certificate, checked against each other (`specs/consensus.md`). An
    /// auditor compares the set with the genesis they trust.
    pub consensus: Option<(Vec<GenesisValidator>, CommitCertificate)>,
}

impl ReplayBundle {
    /// The SCALE encoding (the bundle file format).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode()
    }

    /// Decodes a bundle file.
    ///
    /// # Errors
    ///
    /// [`BundleError::Malformed`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        decode_exact(bytes).map_err(|e| BundleError::Malformed(e.to_string()))
    }
}

/// Why a bundle does not verify (or cannot be built).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bytes are not a bundle.
    #[error("not a replay bundle: {0}")]
    Malformed(String),
    /// The block does not follow the parent header.
    #[error("the block does not extend the bundle's parent header: {0}")]
    Parent(String),
    /// The pre-state witness does not prove the pre-state values.
    #[error(
        "pre-state witness does not prove the bundle's values against the parent's state root: {0}"
    )]
    PreState(String),
    /// Re-execution needed a key the bundle does not hold, or failed as a node.
    #[error("re-execution failed: {0}")]
    Execution(String),
    /// A receipt or header field differs from re-execution.
    #[error("block {block}{}: {field} is {stored} in the bundle but {replayed} on re-execution", .tx_index.map(|i| format!(", tx {i}")).unwrap_or_default())]
    Divergence {
        /// Block number.
        block: u64,
        /// Transaction, for receipt fields.
        tx_index: Option<usize>,
        /// The field.
        field: String,
        /// The bundle's value.
        stored: String,
        /// The re-executed value.
        replayed: String,
    },
    /// A written value is not what the post-state root holds.
    #[error(
        "post-state witness does not prove the re-executed writes against the block's state root: {0}"
    )]
    PostState(String),
    /// The parent's state with re-execution's writes applied has another
    /// root than the header's `state_root`: the block changed something else
    /// (or is forged).
    #[error(
        "block {block}: the header's state_root is {header} but the parent's state with the re-executed writes has root {computed}"
    )]
    StateRoot {
        /// Block number.
        block: u64,
        /// The header's state root, hex.
        header: String,
        /// The root recomputed from the pre-state witness and the writes, hex.
        computed: String,
    },
    /// The block's commit certificate does not prove it under the bundle's
    /// validator set.
    #[error("block {block}: commit certificate: {error}")]
    Certificate {
        /// Block number.
        block: u64,
        /// Why.
        error: CertificateError,
    },
    /// Building the bundle failed (store or chain error).
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// The pre-state a bundle carries; a read outside it is an error.
struct BundleState<'a> {
    values: &'a BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl StateRead for BundleState<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.values.get(key).cloned().ok_or_else(|| {
            StateError::Backend(format!("key 0x{} is not in the bundle", hex::encode(key)).into())
        })
    }
}

fn env_of(chain_id: u64, header: &BlockHeader) -> BlockEnv {
    BlockEnv {
        number: header.number,
        timestamp: header.timestamp,
        beneficiary: header.beneficiary,
        gas_limit: header.gas_limit,
        chain_id,
    }
}

/// Builds the bundle of committed block `number` (needs the parent's state
/// version retained, e.g. an archive store).
///
/// # Errors
///
/// [`BundleError::Chain`] if the block or its parent's state is not available.
pub fn export_bundle<S: StateView + ?Sized>(
    store: &S,
    executor: &Executor,
    number: u64,
) -> Result<ReplayBundle, BundleError> {
    if number == 0 {
        return Err(BundleError::Parent(
            "block 0 is genesis; it has no parent to prove against".into(),
        ));
    }
    let genesis = store.genesis()?;
    let block = store.expect_block(number)?;
    let parent = store.expect_block(number - 1)?.header;
    let receipts = store.expect_receipts(number)?;
    let base = StateAt::new(store, number - 1);
    let mut state = BlockState::new(&base, true);
    execute_transactions(
        executor,
        &mut state,
        &env_of(genesis.chain_id, &block.header),
        block.transactions.clone(),
        InvalidTxPolicy::Reject,
    )?;
    let (changes, mut keys) = state.finish();
    keys.extend(changes.keys().cloned());
    // The executor's module cache may have skipped reading code it had
    // compiled before; a verifier's fresh executor will read it, so every
    // contract account touched brings its code.
    let mut code_keys = Vec::new();
    for key in keys.iter().filter(|k| k.first() == Some(&ACCOUNT_PREFIX)) {
        let value = store.get_at(key, number - 1).map_err(ChainError::from)?;
        if let Some(bytes) = value {
            let account: Account = decode_exact(&bytes).map_err(|e| {
                ChainError::corrupt(format!("account 0x{}", hex::encode(key)), e.to_string())
            })?;
            if let Some(hash) = account.code_hash {
                code_keys.push(code_key(&hash));
            }
        }
    }
    keys.extend(code_keys);
    let mut pre_state = Vec::with_capacity(keys.len());
    for key in &keys {
        let value = store.get_at(key, number - 1).map_err(ChainError::from)?;
        pre_state.push((key.clone(), value));
    }
    let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let pre_witness = store
        .witness(&keys, number - 1)
        .map_err(ChainError::from)?
        .to_bytes();
    let written: Vec<&[u8]> = changes.keys().map(Vec::as_slice).collect();
    let post_witness = store
        .witness(&written, number)
        .map_err(ChainError::from)?
        .to_bytes();
    let post_state = changes.into_iter().collect();
    let consensus = if genesis.validators.is_empty() {
        None
    } else {
        let certificate = store.certificate(number)?.ok_or_else(|| {
            ChainError::corrupt(format!("certificate of block {number}"), "missing")
        })?;
        Some((genesis.validators.clone(), certificate))
    };
    Ok(ReplayBundle {
        chain_id: genesis.chain_id,
        parent,
        block,
        receipts,
        pre_state,
        pre_witness,
        post_state,
        post_witness,
        consensus,
    })
}

/// What a verified bundle established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleVerification {
    /// Block number.
    pub block: u64,
    /// Transactions re-executed.
    pub txs: usize,
    /// Pre-state keys proven.
    pub keys_read: usize,
    /// Keys written and proven against the post-state root.
    pub keys_written: usize,
    /// The block's (verified) state root.
    pub state_root: H256,
    /// Validator chains: how many validators' precommits the verified
    /// certificate holds.
    pub certificate_signers: Option<usize>,
}

fn claims(values: &StateChanges) -> Vec<(&[u8], Option<&[u8]>)> {
    values
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_deref()))
        .collect()
}

/// Verifies a bundle offline: no database, only the bundle and the rules.
///
/// # Errors
///
/// [`BundleError`] naming the first check that fails.
pub fn verify_bundle(
    bundle: &ReplayBundle,
    executor: &Executor,
) -> Result<BundleVerification, BundleError> {
    let header = &bundle.block.header;
    if header.parent_hash != bundle.parent.hash()
        || Some(header.number) != bundle.parent.number.checked_add(1)
    {
        return Err(BundleError::Parent(format!(
            "block {} has parent hash {:?}, the bundle's parent is block {} with hash {:?}",
            header.number,
            header.parent_hash,
            bundle.parent.number,
            bundle.parent.hash()
        )));
    }
    let pre: StateChanges = bundle.pre_state.iter().cloned().collect();
    let witness = Witness::from_bytes(&bundle.pre_witness)
        .map_err(|e| BundleError::PreState(e.to_string()))?;
    witness
        .verify(&StateRoot(bundle.parent.state_root.0), &claims(&pre))
        .map_err(|e| BundleError::PreState(e.to_string()))?;

    let base = BundleState { values: &pre };
    let mut state = BlockState::new(&base, false);
    let outcome = execute_transactions(
        executor,
        &mut state,
        &env_of(bundle.chain_id, header),
        bundle.block.transactions.clone(),
        InvalidTxPolicy::Reject,
    )
    .map_err(|e| BundleError::Execution(e.to_string()))?;
    let (changes, _) = state.finish();

    let divergence =
        |tx_index, field: &str, stored: String, replayed: String| BundleError::Divergence {
            block: header.number,
            tx_index,
            field: field.into(),
            stored,
            replayed,
        };
    for (index, (stored, replayed)) in bundle.receipts.iter().zip(&outcome.receipts).enumerate() {
        if let Some((field, s, r)) = stored.first_difference(replayed) {
            return Err(divergence(Some(index), field, s, r));
        }
    }
    if bundle.receipts.len() != outcome.receipts.len() {
        return Err(divergence(
            None,
            "receipt_count",
            bundle.receipts.len().to_string(),
            outcome.receipts.len().to_string(),
        ));
    }
    let checks = [
        (
            "gas_used",
            format!("{}", header.gas_used),
            format!("{}", outcome.gas_used),
        ),
        (
            "tx_root",
            format!("{:?}", header.tx_root),
            format!(
                "{:?}",
                merkle_root(outcome.included.iter().map(Encode::encode))
            ),
        ),
        (
            "receipts_root",
            format!("{:?}", header.receipts_root),
            format!("{:?}", receipts_root(&outcome.receipts)),
        ),
    ];
    for (field, stored, replayed) in checks {
        if stored != replayed {
            return Err(divergence(None, field, stored, replayed));
        }
    }
    let expected: StateChanges = bundle.post_state.iter().cloned().collect();
    if let Some((key, replayed)) = changes.iter().find(|(k, v)| expected.get(*k) != Some(*v)) {
        return Err(BundleError::PostState(format!(
            "re-execution writes key 0x{} = {}, the bundle's post-state says {}",
            hex::encode(key),
            replayed
                .as_ref()
                .map_or("deleted".to_string(), |v| format!("0x{}", hex::encode(v))),
            expected
                .get(key)
                .map_or("nothing".to_string(), |v| format!("{v:?}")),
        )));
    }
    if expected.len() != changes.len() {
        return Err(BundleError::PostState(format!(
            "the bundle's post-state has {} writes, re-execution made {}",
            expected.len(),
            changes.len()
        )));
    }
    let parent_root = StateRoot(bundle.parent.state_root.0);
    let header_root = StateRoot(header.state_root.0);
    let post = Witness::from_bytes(&bundle.post_witness)
        .map_err(|e| BundleError::PostState(e.to_string()))?;
    // The whole post-state root, recomputed: the parent's state with exactly
    // the re-executed writes. A deletion next to a subtree the pre-state
    // witness only hashes cannot be applied forward; then the reverse is
    // checked: the post-state witness with the writes undone must give the
    // parent's root (either direction proves the same equality).
    match witness.root_after(&parent_root, &changes) {
        Ok(computed) if computed == header_root => {}
        Ok(computed) => {
            return Err(BundleError::StateRoot {
                block: header.number,
                header: header_root.to_hex(),
                computed: computed.to_hex(),
            });
        }
        Err(ProofError::HiddenSibling(_)) => {
            let undo: StateChanges = changes
                .keys()
                .map(|key| (key.clone(), pre.get(key).cloned().flatten()))
                .collect();
            let computed = post
                .root_after(&header_root, &undo)
                .map_err(|e| BundleError::PostState(e.to_string()))?;
            if computed != parent_root {
                return Err(BundleError::StateRoot {
                    block: header.number,
                    header: header_root.to_hex(),
                    computed: format!(
                        "(undoing the writes from it gives {computed}, not the parent's {parent_root})"
                    ),
                });
            }
        }
        Err(e) => return Err(BundleError::PreState(e.to_string())),
    }
    post.verify(&header_root, &claims(&changes))
        .map_err(|e| BundleError::PostState(e.to_string()))?;
    let certificate_signers = match &bundle.consensus {
        None => None,
        Some((validators, certificate)) => {
            verify_certificate_under(bundle.chain_id, validators, header, certificate).map_err(
                |error| BundleError::Certificate {
                    block: header.number,
                    error,
                },
            )?;
            Some(certificate.signatures.len())
        }
    };
    Ok(BundleVerification {
        block: header.number,
        txs: bundle.block.transactions.len(),
        keys_read: bundle.pre_state.len(),
        keys_written: changes.len(),
        state_root: header.state_root,
        certificate_signers,
    })
}
