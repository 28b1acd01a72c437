//! Cairn's types for Malachite: what a height, a value, a vote and a
//! proposal are, who proposes, and what validators sign.
//!
//! The value validators agree on is a block's header hash. The block itself
//! travels as proposal parts ([`ProposalPart`]); a proposal or a vote names
//! only the hash, so a signed precommit for a hash is exactly the commit
//! signature `cairn replay` checks ([`cairn_chain::certificate`]).

use std::fmt;

use async_trait::async_trait;
use cairn_chain::certificate::{VoteKind, proposal_sign_bytes, vote_sign_bytes};
use cairn_host_api::world::{Address, H256};
use malachitebft_app_channel::app::types::core::{
    self as mc, LinearTimeouts, NilOrVal, Round, SignedExtension, SignedMessage, ValidatorProof,
    VoteExtensionScope, VoteType,
};
use malachitebft_app_channel::{Signer, Verifier};
use malachitebft_signing::{Error as SigningError, VerificationResult};
pub use malachitebft_signing_ed25519::{Ed25519, PrivateKey, PublicKey, Signature};
use parity_scale_codec::{Decode, Encode};

/// A validator's address: the last 20 bytes of keccak256 of its ed25519
/// public key ([`cairn_chain::certificate::validator_address`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct ValidatorAddress(pub Address);

impl fmt::Display for ValidatorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0.as_bytes()))
    }
}

impl mc::Address for ValidatorAddress {}

/// A block number; consensus starts at 1 (block 0 is genesis).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Height for Height {
    const ZERO: Self = Self(0);
    const INITIAL: Self = Self(1);

    fn increment_by(&self, n: u64) -> Self {
        Self(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Self)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// The value of consensus: a block's header hash (also its id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct BlockHash(pub H256);

impl fmt::Display for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0.as_bytes()))
    }
}

impl mc::Value for BlockHash {
    type Id = BlockHash;

    fn id(&self) -> BlockHash {
        *self
    }
}

/// A prevote or precommit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    /// Prevote or precommit.
    pub kind: VoteType,
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// The block voted for, or nil.
    pub value: NilOrVal<BlockHash>,
    /// Who votes.
    pub validator: ValidatorAddress,
    /// Vote extension (Cairn uses none; kept to carry a peer's faithfully).
    pub extension: Option<SignedExtension<CairnContext>>,
}

/// The round as a `u32`; a vote's or proposal's round is always defined.
pub(crate) fn round_number(round: Round) -> u32 {
    round.as_u32().unwrap_or(u32::MAX)
}

impl Vote {
    /// What the validator signs ([`vote_sign_bytes`]).
    pub fn sign_bytes(&self, chain_id: u64) -> Vec<u8> {
        let kind = match self.kind {
            VoteType::Prevote => VoteKind::Prevote,
            VoteType::Precommit => VoteKind::Precommit,
        };
        let block = match self.value {
            NilOrVal::Nil => None,
            NilOrVal::Val(hash) => Some(hash.0),
        };
        vote_sign_bytes(
            chain_id,
            kind,
            self.height.0,
            round_number(self.round),
            block,
        )
    }
}

impl mc::Vote<CairnContext> for Vote {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &NilOrVal<BlockHash> {
        &self.value
    }

    fn take_value(self) -> NilOrVal<BlockHash> {
        self.value
    }

    fn vote_type(&self) -> VoteType {
        self.kind
    }

    fn validator_address(&self) -> &ValidatorAddress {
        &self.validator
    }

    fn extension(&self) -> Option<&SignedExtension<CairnContext>> {
        self.extension.as_ref()
    }

    fn take_extension(&mut self) -> Option<SignedExtension<CairnContext>> {
        self.extension.take()
    }

    fn extend(self, extension: SignedExtension<CairnContext>) -> Self {
        Self {
            extension: Some(extension),
            ..self
        }
    }
}

/// A proposal: the proposer's signed claim that `value` is its block for
/// (`height`, `round`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// The proposed block's hash.
    pub value: BlockHash,
    /// The proof-of-lock round, or nil.
    pub pol_round: Round,
    /// The proposer.
    pub proposer: ValidatorAddress,
}

impl Proposal {
    /// What the proposer signs ([`proposal_sign_bytes`]).
    pub fn sign_bytes(&self, chain_id: u64) -> Vec<u8> {
        proposal_sign_bytes(
            chain_id,
            self.height.0,
            round_number(self.round),
            self.pol_round.as_u32(),
            self.value.0,
        )
    }
}

impl mc::Proposal<CairnContext> for Proposal {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &BlockHash {
        &self.value
    }

    fn take_value(self) -> BlockHash {
        self.value
    }

    fn pol_round(&self) -> Round {
        self.pol_round
    }

    fn validator_address(&self) -> &ValidatorAddress {
        &self.proposer
    }
}

/// A piece of a streamed block: a header naming the proposal, then the
/// block's SCALE bytes in chunks. The stream's end is Malachite's `Fin`.
#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index to u8"
)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ProposalPart {
    /// The first part.
    #[codec(index = 0)]
    Init {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
        /// The proof-of-lock round of a re-proposed block.
        pol_round: Option<u32>,
        /// The proposer.
        proposer: Address,
        /// Total length of the block's bytes.
        length: u32,
    },
    /// A chunk of the block's SCALE bytes.
    #[codec(index = 1)]
    Data(Vec<u8>),
}

impl mc::ProposalPart<CairnContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, Self::Init { .. })
    }

    fn is_last(&self) -> bool {
        false
    }
}

/// A member of the validator set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// Its address.
    pub address: ValidatorAddress,
    /// Its ed25519 public key.
    pub public_key: PublicKey,
    /// Its voting power.
    pub voting_power: u64,
}

impl mc::Validator<CairnContext> for Validator {
    fn address(&self) -> &ValidatorAddress {
        &self.address
    }

    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn voting_power(&self) -> u64 {
        self.voting_power
    }
}

/// The validator set, in genesis order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    /// The validators.
    pub validators: Vec<Validator>,
}

impl ValidatorSet {
    /// The set of a genesis.
    ///
    /// # Errors
    ///
    /// A public key that is not an ed25519 point (the genesis checks this).
    pub fn from_genesis(validators: &[cairn_chain::GenesisValidator]) -> Result<Self, String> {
        let validators = validators
            .iter()
            .map(|v| {
                Ok(Validator {
                    address: ValidatorAddress(v.address()),
                    public_key: PublicKey::from_bytes(v.public_key)
                        .map_err(|e| format!("validator public key: {e}"))?,
                    voting_power: v.power,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self { validators })
    }
}

impl mc::ValidatorSet<CairnContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }

    fn total_voting_power(&self) -> u64 {
        self.validators.iter().map(|v| v.voting_power).sum()
    }

    fn get_by_address(&self, address: &ValidatorAddress) -> Option<&Validator> {
        self.validators.iter().find(|v| &v.address == address)
    }

    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }
}

/// Cairn's Malachite context: the chain id goes into every signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CairnContext {
    /// The chain id.
    pub chain_id: u64,
}

impl mc::Context for CairnContext {
    type Address = ValidatorAddress;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = BlockHash;
    type Vote = Vote;
    type Extension = ();
    type SigningScheme = Ed25519;

    /// Round robin in genesis order: height h, round r is proposed by
    /// validator (h - 1 + r) mod n.
    fn select_proposer<'a>(
        &self,
        validator_set: &'a ValidatorSet,
        height: Height,
        round: Round,
    ) -> &'a Validator {
        let n = validator_set.validators.len().max(1) as u64;
        let index = height
            .0
            .saturating_sub(1)
            .wrapping_add(u64::from(round_number(round)))
            % n;
        let index = usize::try_from(index).unwrap_or(0);
        &validator_set.validators[index.min(validator_set.validators.len().saturating_sub(1))]
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: BlockHash,
        pol_round: Round,
        address: ValidatorAddress,
    ) -> Proposal {
        Proposal {
            height,
            round,
            value,
            pol_round,
            proposer: address,
        }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            kind: VoteType::Prevote,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote {
            kind: VoteType::Precommit,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }
}

/// The bytes a vote extension's signature covers: Cairn signs none, but
/// checks a peer's under a domain of its own.
fn extension_sign_bytes(chain_id: u64, scope: &VoteExtensionScope<CairnContext>) -> Vec<u8> {
    let mut bytes = b"cairn/vote-extension/v1".to_vec();
    (
        chain_id,
        scope.height.0,
        round_number(scope.round),
        scope.value_id.0,
        scope.validator_address.0,
    )
        .encode_to(&mut bytes);
    bytes
}

/// Checks consensus signatures (every node).
#[derive(Debug, Clone, Copy)]
pub struct CairnVerifier {
    /// The chain id.
    pub chain_id: u64,
}

fn verify(public_key: &PublicKey, bytes: &[u8], signature: &Signature) -> VerificationResult {
    VerificationResult::from_bool(public_key.verify(bytes, signature).is_ok())
}

#[async_trait]
impl Verifier<CairnContext> for CairnVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verify(
            public_key,
            &vote.sign_bytes(self.chain_id),
            signature,
        ))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verify(
            public_key,
            &proposal.sign_bytes(self.chain_id),
            signature,
        ))
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<CairnContext>,
        _extension: &(),
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verify(
            public_key,
            &extension_sign_bytes(self.chain_id, scope),
            signature,
        ))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<CairnContext>,
    ) -> Result<VerificationResult, SigningError> {
        let Ok(bytes) = <[u8; 32]>::try_from(proof.public_key.as_slice()) else {
            return Ok(VerificationResult::Invalid);
        };
        let Ok(public_key) = PublicKey::from_bytes(bytes) else {
            return Ok(VerificationResult::Invalid);
        };
        Ok(verify(&public_key, &proof.preimage(), &proof.signature))
    }
}

/// Signs with a validator's key (validators only).
#[derive(Debug)]
pub struct CairnSigner {
    key: PrivateKey,
    chain_id: u64,
}

impl CairnSigner {
    /// A signer for `key` on chain `chain_id`.
    pub fn new(key: PrivateKey, chain_id: u64) -> Self {
        Self { key, chain_id }
    }
}

#[async_trait]
impl Signer<CairnContext> for CairnSigner {
    async fn sign_vote(
        &self,
        vote: Vote,
    ) -> Result<SignedMessage<CairnContext, Vote>, SigningError> {
        let signature = self.key.sign(&vote.sign_bytes(self.chain_id));
        Ok(SignedMessage::new(vote, signature))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<CairnContext, Proposal>, SigningError> {
        let signature = self.key.sign(&proposal.sign_bytes(self.chain_id));
        Ok(SignedMessage::new(proposal, signature))
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<CairnContext>,
        extension: (),
    ) -> Result<SignedMessage<CairnContext, ()>, SigningError> {
        let signature = self.key.sign(&extension_sign_bytes(self.chain_id, &scope));
        Ok(SignedMessage::new(extension, signature))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<CairnContext>, SigningError> {
        let preimage = ValidatorProof::<CairnContext>::signing_bytes(&public_key, &peer_id);
        let signature = self.key.sign(&preimage);
        Ok(ValidatorProof::new(public_key, peer_id, signature))
    }
}
