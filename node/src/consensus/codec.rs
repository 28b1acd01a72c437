//! The wire and WAL encoding of Malachite's messages for Cairn: SCALE, over
//! mirror types that name every field, so the bytes are specified by this
//! file alone (`specs/consensus.md`, "Wire format").
//!
//! Decoding rejects trailing bytes and any value that does not decode; a
//! peer's garbage is an error, never a panic.

use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, CommitSignature, ExtendedCommitCertificate, ExtendedCommitSignature,
    NilOrVal, PolkaCertificate, PolkaSignature, Round, RoundCertificate, RoundCertificateType,
    RoundSignature, SignedMessage, ValidatorProof, Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_app_channel::app::types::{PeerId, ProposedValue, SignedConsensusMsg};
use malachitebft_sync::{ValueRequest, ValueResponse};
use parity_scale_codec::{Decode, Encode};

use super::context::{
    BlockHash, CairnContext, Height, Proposal, ProposalPart, Signature, ValidatorAddress, Vote,
};

/// Why bytes from a peer or the WAL do not decode.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode {what}: {reason}")]
pub struct CodecError {
    what: &'static str,
    reason: String,
}

/// Cairn's codec for every message Malachite sends or logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CairnCodec;

fn decode_all<T: Decode>(what: &'static str, bytes: &[u8]) -> Result<T, CodecError> {
    let mut input = bytes;
    let value = T::decode(&mut input).map_err(|e| CodecError {
        what,
        reason: e.to_string(),
    })?;
    if !input.is_empty() {
        return Err(CodecError {
            what,
            reason: format!("{} trailing bytes", input.len()),
        });
    }
    Ok(value)
}

fn bad(what: &'static str, reason: impl Into<String>) -> CodecError {
    CodecError {
        what,
        reason: reason.into(),
    }
}

// ---- mirrors -------------------------------------------------------------

/// A round: `None` is nil.
type WireRound = Option<u32>;

fn round_to_wire(round: Round) -> WireRound {
    round.as_u32()
}

fn round_from_wire(round: WireRound) -> Round {
    Round::from(round)
}

fn kind_to_wire(kind: VoteType) -> u8 {
    match kind {
        VoteType::Prevote => 0,
        VoteType::Precommit => 1,
    }
}

fn kind_from_wire(kind: u8) -> Result<VoteType, CodecError> {
    match kind {
        0 => Ok(VoteType::Prevote),
        1 => Ok(VoteType::Precommit),
        other => Err(bad("vote", format!("vote type {other}"))),
    }
}

fn value_to_wire(value: &NilOrVal<BlockHash>) -> Option<BlockHash> {
    match value {
        NilOrVal::Nil => None,
        NilOrVal::Val(hash) => Some(*hash),
    }
}

fn value_from_wire(value: Option<BlockHash>) -> NilOrVal<BlockHash> {
    value.map_or(NilOrVal::Nil, NilOrVal::Val)
}

fn signature_from_wire(bytes: [u8; 64]) -> Signature {
    Signature::from_bytes(bytes)
}

#[derive(Encode, Decode)]
struct WireVote {
    kind: u8,
    height: u64,
    round: WireRound,
    value: Option<BlockHash>,
    validator: ValidatorAddress,
    /// A vote extension's signature (the extension itself is empty).
    extension: Option<[u8; 64]>,
}

impl From<&Vote> for WireVote {
    fn from(vote: &Vote) -> Self {
        Self {
            kind: kind_to_wire(vote.kind),
            height: vote.height.0,
            round: round_to_wire(vote.round),
            value: value_to_wire(&vote.value),
            validator: vote.validator,
            extension: vote.extension.as_ref().map(|e| e.signature.to_bytes()),
        }
    }
}

impl WireVote {
    fn into_vote(self) -> Result<Vote, CodecError> {
        Ok(Vote {
            kind: kind_from_wire(self.kind)?,
            height: Height(self.height),
            round: round_from_wire(self.round),
            value: value_from_wire(self.value),
            validator: self.validator,
            extension: self
                .extension
                .map(|s| SignedMessage::new((), signature_from_wire(s))),
        })
    }
}

#[derive(Encode, Decode)]
struct WireProposal {
    height: u64,
    round: WireRound,
    value: BlockHash,
    pol_round: WireRound,
    proposer: ValidatorAddress,
}

impl From<&Proposal> for WireProposal {
    fn from(p: &Proposal) -> Self {
        Self {
            height: p.height.0,
            round: round_to_wire(p.round),
            value: p.value,
            pol_round: round_to_wire(p.pol_round),
            proposer: p.proposer,
        }
    }
}

impl From<WireProposal> for Proposal {
    fn from(p: WireProposal) -> Self {
        Self {
            height: Height(p.height),
            round: round_from_wire(p.round),
            value: p.value,
            pol_round: round_from_wire(p.pol_round),
            proposer: p.proposer,
        }
    }
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index to u8"
)]
#[derive(Encode, Decode)]
enum WireConsensusMsg {
    #[codec(index = 0)]
    Vote(WireVote, [u8; 64]),
    #[codec(index = 1)]
    Proposal(WireProposal, [u8; 64]),
}

#[derive(Encode, Decode)]
struct WireSigned {
    address: ValidatorAddress,
    signature: [u8; 64],
}

#[derive(Encode, Decode)]
struct WirePolka {
    height: u64,
    round: WireRound,
    value: BlockHash,
    signatures: Vec<WireSigned>,
}

fn polka_to_wire(c: &PolkaCertificate<CairnContext>) -> WirePolka {
    WirePolka {
        height: c.height.0,
        round: round_to_wire(c.round),
        value: c.value_id,
        signatures: c
            .polka_signatures
            .iter()
            .map(|s| WireSigned {
                address: s.address,
                signature: s.signature.to_bytes(),
            })
            .collect(),
    }
}

fn polka_from_wire(c: WirePolka) -> PolkaCertificate<CairnContext> {
    PolkaCertificate {
        height: Height(c.height),
        round: round_from_wire(c.round),
        value_id: c.value,
        polka_signatures: c
            .signatures
            .into_iter()
            .map(|s| PolkaSignature::new(s.address, signature_from_wire(s.signature)))
            .collect(),
    }
}

#[derive(Encode, Decode)]
struct WireRoundSignature {
    kind: u8,
    value: Option<BlockHash>,
    address: ValidatorAddress,
    signature: [u8; 64],
}

#[derive(Encode, Decode)]
struct WireRoundCertificate {
    height: u64,
    round: WireRound,
    /// 0: skip, 1: precommit.
    cert_type: u8,
    signatures: Vec<WireRoundSignature>,
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index to u8"
)]
#[derive(Encode, Decode)]
enum WireLiveness {
    #[codec(index = 0)]
    Vote(WireVote, [u8; 64]),
    #[codec(index = 1)]
    Polka(WirePolka),
    #[codec(index = 2)]
    SkipRound(WireRoundCertificate),
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "parity-scale-codec's derive casts the variant index to u8"
)]
#[derive(Encode, Decode)]
enum WireStreamContent {
    #[codec(index = 0)]
    Data(ProposalPart),
    #[codec(index = 1)]
    Fin,
}

#[derive(Encode, Decode)]
struct WireStreamMessage {
    stream_id: Vec<u8>,
    sequence: u64,
    content: WireStreamContent,
}

#[derive(Encode, Decode)]
struct WireProof {
    public_key: Vec<u8>,
    peer_id: Vec<u8>,
    signature: [u8; 64],
}

#[derive(Encode, Decode)]
struct WireStatus {
    peer_id: Vec<u8>,
    tip_height: u64,
    history_min_height: u64,
}

#[derive(Encode, Decode)]
struct WireExtendedSignature {
    address: ValidatorAddress,
    signature: [u8; 64],
    extension: Option<[u8; 64]>,
}

#[derive(Encode, Decode)]
struct WireExtendedCertificate {
    height: u64,
    round: WireRound,
    value: BlockHash,
    signatures: Vec<WireExtendedSignature>,
}

#[derive(Encode, Decode)]
struct WireDecided {
    value_bytes: Vec<u8>,
    certificate: WireExtendedCertificate,
}

#[derive(Encode, Decode)]
struct WireValueResponse {
    start_height: u64,
    values: Vec<WireDecided>,
}

#[derive(Encode, Decode)]
struct WireProposedValue {
    height: u64,
    round: WireRound,
    valid_round: WireRound,
    proposer: ValidatorAddress,
    value: BlockHash,
    valid: bool,
}

fn extended_to_wire(c: &ExtendedCommitCertificate<CairnContext>) -> WireExtendedCertificate {
    WireExtendedCertificate {
        height: c.height.0,
        round: round_to_wire(c.round),
        value: c.value_id,
        signatures: c
            .commit_signatures
            .iter()
            .map(|s| WireExtendedSignature {
                address: s.address,
                signature: s.signature.to_bytes(),
                extension: s.extension.as_ref().map(|e| e.signature.to_bytes()),
            })
            .collect(),
    }
}

fn extended_from_wire(c: WireExtendedCertificate) -> ExtendedCommitCertificate<CairnContext> {
    ExtendedCommitCertificate {
        height: Height(c.height),
        round: round_from_wire(c.round),
        value_id: c.value,
        commit_signatures: c
            .signatures
            .into_iter()
            .map(|s| {
                ExtendedCommitSignature::new(
                    s.address,
                    signature_from_wire(s.signature),
                    s.extension
                        .map(|e| SignedMessage::new((), signature_from_wire(e))),
                )
            })
            .collect(),
    }
}

/// The plain commit certificate of an extended one.
pub fn trim(
    certificate: ExtendedCommitCertificate<CairnContext>,
) -> CommitCertificate<CairnContext> {
    CommitCertificate {
        height: certificate.height,
        round: certificate.round,
        value_id: certificate.value_id,
        commit_signatures: certificate
            .commit_signatures
            .into_iter()
            .map(|s| CommitSignature::new(s.address, s.signature))
            .collect(),
    }
}

fn peer_from_wire(bytes: &[u8]) -> Result<PeerId, CodecError> {
    PeerId::from_bytes(bytes).map_err(|e| bad("peer id", e.to_string()))
}

// ---- codec impls ---------------------------------------------------------

type Result<T, E = CodecError> = std::result::Result<T, E>;

impl Codec<ProposalPart> for CairnCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<ProposalPart> {
        decode_all("proposal part", &bytes)
    }

    fn encode(&self, part: &ProposalPart) -> Result<Bytes> {
        Ok(Bytes::from(part.encode()))
    }
}

impl Codec<SignedConsensusMsg<CairnContext>> for CairnCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<SignedConsensusMsg<CairnContext>> {
        Ok(
            match decode_all::<WireConsensusMsg>("consensus message", &bytes)? {
                WireConsensusMsg::Vote(vote, signature) => SignedConsensusMsg::Vote(
                    SignedMessage::new(vote.into_vote()?, signature_from_wire(signature)),
                ),
                WireConsensusMsg::Proposal(proposal, signature) => SignedConsensusMsg::Proposal(
                    SignedMessage::new(proposal.into(), signature_from_wire(signature)),
                ),
            },
        )
    }

    fn encode(&self, msg: &SignedConsensusMsg<CairnContext>) -> Result<Bytes> {
        let wire = match msg {
            SignedConsensusMsg::Vote(v) => {
                WireConsensusMsg::Vote((&v.message).into(), v.signature.to_bytes())
            }
            SignedConsensusMsg::Proposal(p) => {
                WireConsensusMsg::Proposal((&p.message).into(), p.signature.to_bytes())
            }
        };
        Ok(Bytes::from(wire.encode()))
    }
}

impl Codec<LivenessMsg<CairnContext>> for CairnCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<LivenessMsg<CairnContext>> {
        Ok(
            match decode_all::<WireLiveness>("liveness message", &bytes)? {
                WireLiveness::Vote(vote, signature) => LivenessMsg::Vote(SignedMessage::new(
                    vote.into_vote()?,
                    signature_from_wire(signature),
                )),
                WireLiveness::Polka(c) => LivenessMsg::PolkaCertificate(polka_from_wire(c)),
                WireLiveness::SkipRound(c) => {
                    let cert_type = match c.cert_type {
                        0 => RoundCertificateType::Skip,
                        1 => RoundCertificateType::Precommit,
                        other => return Err(bad("round certificate", format!("type {other}"))),
                    };
                    let round_signatures = c
                        .signatures
                        .into_iter()
                        .map(|s| {
                            Ok(RoundSignature::new(
                                kind_from_wire(s.kind)?,
                                value_from_wire(s.value),
                                s.address,
                                signature_from_wire(s.signature),
                            ))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    LivenessMsg::SkipRoundCertificate(RoundCertificate {
                        height: Height(c.height),
                        round: round_from_wire(c.round),
                        cert_type,
                        round_signatures,
                    })
                }
            },
        )
    }

    fn encode(&self, msg: &LivenessMsg<CairnContext>) -> Result<Bytes> {
        let wire = match msg {
            LivenessMsg::Vote(v) => WireLiveness::Vote((&v.message).into(), v.signature.to_bytes()),
            LivenessMsg::PolkaCertificate(c) => WireLiveness::Polka(polka_to_wire(c)),
            LivenessMsg::SkipRoundCertificate(c) => WireLiveness::SkipRound(WireRoundCertificate {
                height: c.height.0,
                round: round_to_wire(c.round),
                cert_type: match c.cert_type {
                    RoundCertificateType::Skip => 0,
                    RoundCertificateType::Precommit => 1,
                },
                signatures: c
                    .round_signatures
                    .iter()
                    .map(|s| WireRoundSignature {
                        kind: kind_to_wire(s.vote_type),
                        value: value_to_wire(&s.value_id),
                        address: s.address,
                        signature: s.signature.to_bytes(),
                    })
                    .collect(),
            }),
        };
        Ok(Bytes::from(wire.encode()))
    }
}

impl Codec<StreamMessage<ProposalPart>> for CairnCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<StreamMessage<ProposalPart>> {
        let wire: WireStreamMessage = decode_all("stream message", &bytes)?;
        Ok(StreamMessage::new(
            StreamId::new(Bytes::from(wire.stream_id)),
            wire.sequence,
            match wire.content {
                WireStreamContent::Data(part) => StreamContent::Data(part),
                WireStreamContent::Fin => StreamContent::Fin,
            },
        ))
    }

    fn encode(&self, msg: &StreamMessage<ProposalPart>) -> Result<Bytes> {
        let wire = WireStreamMessage {
            stream_id: msg.stream_id.to_bytes().to_vec(),
            sequence: msg.sequence,
            content: match &msg.content {
                StreamContent::Data(part) => WireStreamContent::Data(part.clone()),
                StreamContent::Fin => WireStreamContent::Fin,
            },
        };
        Ok(Bytes::from(wire.encode()))
    }
}

impl Codec<ValidatorProof<CairnContext>> for CairnCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<CairnContext>> {
        let wire: WireProof = decode_all("validator proof", &bytes)?;
        Ok(ValidatorProof::new(
            wire.public_key,
            wire.peer_id,
            signature_from_wire(wire.signature),
        ))
    }

    fn encode(&self, proof: &ValidatorProof<CairnContext>) -> Result<Bytes> {
        Ok(Bytes::from(
            WireProof {
                public_key: proof.public_key.clone(),
                peer_id: proof.peer_id.clone(),
                signature: proof.signature.to_bytes(),
            }
            .encode(),
        ))
    }
}

impl Codec<Status<CairnContext>> for CairnCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Status<CairnContext>> {
        let wire: WireStatus = decode_all("sync status", &bytes)?;
        Ok(Status {
            peer_id: peer_from_wire(&wire.peer_id)?,
            tip_height: Height(wire.tip_height),
            history_min_height: Height(wire.history_min_height),
        })
    }

    fn encode(&self, status: &Status<CairnContext>) -> Result<Bytes> {
        Ok(Bytes::from(
            WireStatus {
                peer_id: status.peer_id.to_bytes(),
                tip_height: status.tip_height.0,
                history_min_height: status.history_min_height.0,
            }
            .encode(),
        ))
    }
}

impl Codec<Request<CairnContext>> for CairnCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Request<CairnContext>> {
        let (start, end): (u64, u64) = decode_all("sync request", &bytes)?;
        Ok(Request::ValueRequest(ValueRequest::new(
            Height(start)..=Height(end),
        )))
    }

    fn encode(&self, request: &Request<CairnContext>) -> Result<Bytes> {
        let Request::ValueRequest(request) = request;
        Ok(Bytes::from(
            (request.range.start().0, request.range.end().0).encode(),
        ))
    }
}

fn response_to_wire(response: &Response<CairnContext>) -> WireValueResponse {
    let Response::ValueResponse(response) = response;
    WireValueResponse {
        start_height: response.start_height.0,
        values: response
            .values
            .iter()
            .map(|v| WireDecided {
                value_bytes: v.value_bytes.to_vec(),
                certificate: extended_to_wire(&v.certificate),
            })
            .collect(),
    }
}

impl Codec<Response<CairnContext>> for CairnCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Response<CairnContext>> {
        let wire: WireValueResponse = decode_all("sync response", &bytes)?;
        Ok(Response::ValueResponse(ValueResponse::new(
            Height(wire.start_height),
            wire.values
                .into_iter()
                .map(|v| {
                    RawDecidedValue::new(
                        Bytes::from(v.value_bytes),
                        extended_from_wire(v.certificate),
                    )
                })
                .collect(),
        )))
    }

    fn encode(&self, response: &Response<CairnContext>) -> Result<Bytes> {
        Ok(Bytes::from(response_to_wire(response).encode()))
    }
}

impl HasEncodedLen<Response<CairnContext>> for CairnCodec {
    fn encoded_len(&self, response: &Response<CairnContext>) -> Result<usize> {
        Ok(response_to_wire(response).encoded_size())
    }
}

impl Codec<ProposedValue<CairnContext>> for CairnCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<ProposedValue<CairnContext>> {
        let wire: WireProposedValue = decode_all("proposed value", &bytes)?;
        Ok(ProposedValue {
            height: Height(wire.height),
            round: round_from_wire(wire.round),
            valid_round: round_from_wire(wire.valid_round),
            proposer: wire.proposer,
            value: wire.value,
            validity: Validity::from_bool(wire.valid),
        })
    }

    fn encode(&self, value: &ProposedValue<CairnContext>) -> Result<Bytes> {
        Ok(Bytes::from(
            WireProposedValue {
                height: value.height.0,
                round: round_to_wire(value.round),
                valid_round: round_to_wire(value.valid_round),
                proposer: value.proposer,
                value: value.value,
                valid: value.validity.is_valid(),
            }
            .encode(),
        ))
    }
}

impl Codec<PolkaCertificate<CairnContext>> for CairnCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<PolkaCertificate<CairnContext>> {
        Ok(polka_from_wire(decode_all("polka certificate", &bytes)?))
    }

    fn encode(&self, certificate: &PolkaCertificate<CairnContext>) -> Result<Bytes> {
        Ok(Bytes::from(polka_to_wire(certificate).encode()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_host_api::world::{Address, H256};

    fn vote() -> Vote {
        Vote {
            kind: VoteType::Precommit,
            height: Height(7),
            round: Round::new(2),
            value: NilOrVal::Val(BlockHash(H256::repeat_byte(3))),
            validator: ValidatorAddress(Address::repeat_byte(4)),
            extension: None,
        }
    }

    #[test]
    fn messages_round_trip() {
        let codec = CairnCodec;
        let msg =
            SignedConsensusMsg::Vote(SignedMessage::new(vote(), Signature::from_bytes([5; 64])));
        let bytes = codec.encode(&msg).unwrap();
        let back: SignedConsensusMsg<CairnContext> = codec.decode(bytes.clone()).unwrap();
        assert_eq!(back, msg);
        let part = StreamMessage::new(
            StreamId::new(Bytes::from_static(b"id")),
            3,
            StreamContent::Data(ProposalPart::Data(vec![1, 2, 3])),
        );
        let encoded = codec.encode(&part).unwrap();
        let decoded: StreamMessage<ProposalPart> = codec.decode(encoded).unwrap();
        assert_eq!(decoded, part);
    }

    #[test]
    fn garbage_is_an_error() {
        let codec = CairnCodec;
        for garbage in [&b""[..], b"\xff", b"\x00\x09garbage", &[0u8; 300]] {
            let bytes = Bytes::copy_from_slice(garbage);
            assert!(
                Codec::<SignedConsensusMsg<CairnContext>>::decode(&codec, bytes.clone()).is_err()
            );
            assert!(Codec::<Response<CairnContext>>::decode(&codec, bytes.clone()).is_err());
            assert!(Codec::<StreamMessage<ProposalPart>>::decode(&codec, bytes).is_err());
        }
        // A valid message with a byte appended.
        let msg =
            SignedConsensusMsg::Vote(SignedMessage::new(vote(), Signature::from_bytes([5; 64])));
        let mut bytes = codec.encode(&msg).unwrap().to_vec();
        bytes.push(0);
        assert!(
            Codec::<SignedConsensusMsg<CairnContext>>::decode(&codec, Bytes::from(bytes)).is_err()
        );
    }
}
