//! Validators and commit certificates: who may decide blocks, what they
//! sign, and how anyone checks a decision without the network.
//!
//! Normative text: `specs/consensus.md`. Validators sign with ed25519
//! (RFC 8032, verified under the ZIP-215 rules of `ed25519-consensus`, the
//! crate Malachite's ed25519 scheme uses): deterministic signatures, fast
//! verification, 32-byte keys, and the same key gives the validator's
//! libp2p identity. Transaction senders keep secp256k1.

use cairn_host_api::world::{Address, H256};
use parity_scale_codec::{Decode, Encode};

use crate::block::BlockHeader;
use crate::genesis::Genesis;
use crate::keys::keccak256;

/// Domain prefix of a vote's sign bytes.
pub const VOTE_DOMAIN: &[u8] = b"cairn/vote/v1";
/// Domain prefix of a proposal's sign bytes.
pub const PROPOSAL_DOMAIN: &[u8] = b"cairn/proposal/v1";

/// A validator of the genesis set.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct GenesisValidator {
    /// Its ed25519 public key.
    pub public_key: [u8; 32],
    /// Its voting power; positive.
    pub power: u64,
}

impl GenesisValidator {
    /// The validator's address: the last 20 bytes of keccak256 of its public key.
    pub fn address(&self) -> Address {
        validator_address(&self.public_key)
    }
}

/// The address of the validator with ed25519 public key `public_key`: the
/// last 20 bytes of its keccak256.
pub fn validator_address(public_key: &[u8; 32]) -> Address {
    Address::from_slice(&keccak256(public_key).as_bytes()[12..])
}

/// The two kinds of vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum VoteKind {
    /// The first vote of a round.
    Prevote = 0,
    /// The deciding vote.
    Precommit = 1,
}

/// The bytes a validator signs for a vote: [`VOTE_DOMAIN`] then the SCALE
/// encoding of `(chain_id, kind, height, round, block)`, `block` `None` for
/// a nil vote.
pub fn vote_sign_bytes(
    chain_id: u64,
    kind: VoteKind,
    height: u64,
    round: u32,
    block: Option<H256>,
) -> Vec<u8> {
    let mut bytes = VOTE_DOMAIN.to_vec();
    (chain_id, kind, height, round, block).encode_to(&mut bytes);
    bytes
}

/// The bytes a proposer signs for a proposal: [`PROPOSAL_DOMAIN`] then the
/// SCALE encoding of `(chain_id, height, round, pol_round, block)`.
pub fn proposal_sign_bytes(
    chain_id: u64,
    height: u64,
    round: u32,
    pol_round: Option<u32>,
    block: H256,
) -> Vec<u8> {
    let mut bytes = PROPOSAL_DOMAIN.to_vec();
    (chain_id, height, round, pol_round, block).encode_to(&mut bytes);
    bytes
}

/// One validator's precommit signature in a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct CommitSignature {
    /// The validator's address.
    pub validator: Address,
    /// Its ed25519 signature over the precommit's sign bytes.
    pub signature: [u8; 64],
}

/// Proof that the validators decided a block: precommits for its hash from
/// more than two thirds of the voting power, at one height and round.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct CommitCertificate {
    /// The block's number.
    pub height: u64,
    /// The consensus round that decided it.
    pub round: u32,
    /// The block's header hash.
    pub block_hash: H256,
    /// Precommit signatures, in strictly ascending validator address order.
    pub signatures: Vec<CommitSignature>,
}

/// Why a commit certificate does not prove its block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The chain has no validator set, so nothing can certify its blocks.
    #[error("the genesis names no validators")]
    NoValidators,
    /// The certificate is for another height.
    #[error("certificate for height {certificate}, block {block}")]
    Height {
        /// The certificate's height.
        certificate: u64,
        /// The block's number.
        block: u64,
    },
    /// The certificate is for another block.
    #[error("certificate for block hash {certificate:?}, the block's hash is {block:?}")]
    BlockHash {
        /// The hash the certificate names.
        certificate: H256,
        /// The block's header hash.
        block: H256,
    },
    /// Signatures are not in strictly ascending address order (or repeat one).
    #[error("signature {index} is out of order or repeats a validator")]
    Order {
        /// Its index.
        index: usize,
    },
    /// A signer is not in the validator set.
    #[error("signature {index} is by {validator:?}, not a validator")]
    UnknownValidator {
        /// Its index.
        index: usize,
        /// The address it names.
        validator: Address,
    },
    /// A signature does not verify.
    #[error("signature {index} by validator {validator:?} does not verify")]
    BadSignature {
        /// Its index.
        index: usize,
        /// The validator.
        validator: Address,
    },
    /// The signers hold two thirds of the voting power or less.
    #[error("signers hold {signed} of {total} voting power; more than two thirds is needed")]
    Quorum {
        /// Power of the valid signers.
        signed: u128,
        /// Total power.
        total: u128,
    },
}

/// Why a genesis validator set cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidatorSetError {
    /// A public key is not a valid ed25519 point.
    #[error("validators[{index}].public_key is not a valid ed25519 public key")]
    BadKey {
        /// Its index.
        index: usize,
    },
    /// A validator has no voting power.
    #[error("validators[{index}].power must be positive")]
    ZeroPower {
        /// Its index.
        index: usize,
    },
    /// Two validators share an address.
    #[error("validators[{index}] repeats the address of an earlier validator")]
    Duplicate {
        /// Its index.
        index: usize,
    },
    /// The total voting power overflows.
    #[error("the total voting power exceeds 2^63")]
    TotalPower,
}

/// Checks a genesis validator set: valid keys, positive powers, distinct
/// addresses, a total power below 2^63.
///
/// # Errors
///
/// The first fault found.
pub fn check_validator_set(validators: &[GenesisValidator]) -> Result<(), ValidatorSetError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut total: u64 = 0;
    for (index, validator) in validators.iter().enumerate() {
        if ed25519_consensus::VerificationKey::try_from(validator.public_key).is_err() {
            return Err(ValidatorSetError::BadKey { index });
        }
        if validator.power == 0 {
            return Err(ValidatorSetError::ZeroPower { index });
        }
        if !seen.insert(validator.address()) {
            return Err(ValidatorSetError::Duplicate { index });
        }
        total = total
            .checked_add(validator.power)
            .filter(|t| *t < 1 << 63)
            .ok_or(ValidatorSetError::TotalPower)?;
    }
    Ok(())
}

/// Checks that `certificate` proves the block with `header`, under the
/// validator set and chain id of `genesis`.
///
/// # Errors
///
/// The first fault found.
pub fn verify_certificate(
    genesis: &Genesis,
    header: &BlockHeader,
    certificate: &CommitCertificate,
) -> Result<(), CertificateError> {
    verify_certificate_under(genesis.chain_id, &genesis.validators, header, certificate)
}

/// [`verify_certificate`] under an explicit chain id and validator set (a
/// replay bundle carries both).
///
/// # Errors
///
/// The first fault found.
pub fn verify_certificate_under(
    chain_id: u64,
    validators: &[GenesisValidator],
    header: &BlockHeader,
    certificate: &CommitCertificate,
) -> Result<(), CertificateError> {
    if validators.is_empty() {
        return Err(CertificateError::NoValidators);
    }
    if certificate.height != header.number {
        return Err(CertificateError::Height {
            certificate: certificate.height,
            block: header.number,
        });
    }
    let hash = header.hash();
    if certificate.block_hash != hash {
        return Err(CertificateError::BlockHash {
            certificate: certificate.block_hash,
            block: hash,
        });
    }
    let sign_bytes = vote_sign_bytes(
        chain_id,
        VoteKind::Precommit,
        certificate.height,
        certificate.round,
        Some(hash),
    );
    let total: u128 = validators.iter().map(|v| u128::from(v.power)).sum();
    let mut signed: u128 = 0;
    let mut previous: Option<Address> = None;
    for (index, entry) in certificate.signatures.iter().enumerate() {
        if previous.is_some_and(|p| p >= entry.validator) {
            return Err(CertificateError::Order { index });
        }
        previous = Some(entry.validator);
        let validator = validators
            .iter()
            .find(|v| v.address() == entry.validator)
            .ok_or(CertificateError::UnknownValidator {
                index,
                validator: entry.validator,
            })?;
        let valid = ed25519_consensus::VerificationKey::try_from(validator.public_key)
            .and_then(|key| {
                key.verify(
                    &ed25519_consensus::Signature::from(entry.signature),
                    &sign_bytes,
                )
            })
            .is_ok();
        if !valid {
            return Err(CertificateError::BadSignature {
                index,
                validator: entry.validator,
            });
        }
        signed += u128::from(validator.power);
    }
    if signed * 3 <= total * 2 {
        return Err(CertificateError::Quorum { signed, total });
    }
    Ok(())
}

#[cfg(test)]
mod vectors {
    //! `specs/vectors/consensus/certificate.json`: validator addresses, sign
    //! bytes, signatures and a certificate's encoding, from fixed secret
    //! keys. `CAIRN_REGENERATE_VECTORS=1` rewrites the file (review the
    //! diff: any change is a consensus change).
    use super::*;
    use serde_json::{Value, json};

    fn path() -> String {
        crate::repo_path("specs/vectors/consensus/certificate.json")
    }

    fn h(bytes: impl AsRef<[u8]>) -> String {
        format!("0x{}", hex::encode(bytes))
    }

    fn unhex(v: &Value) -> Vec<u8> {
        hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
    }

    fn header() -> BlockHeader {
        BlockHeader {
            parent_hash: H256::repeat_byte(0x11),
            number: 42,
            timestamp: 1_700_000_000,
            beneficiary: Address::zero(),
            gas_limit: 1_000_000_000,
            gas_used: 21_000,
            tx_root: H256::repeat_byte(0x22),
            receipts_root: H256::repeat_byte(0x33),
            state_root: H256::repeat_byte(0x44),
            schedule_hash: H256::repeat_byte(0x55),
            host_api_version: 1,
        }
    }

    fn generate() -> Value {
        let secrets: Vec<[u8; 32]> = (1..=4u8).map(|i| [i; 32]).collect();
        let chain_id = 1337;
        let header = header();
        let hash = header.hash();
        let round = 1;
        let bytes = vote_sign_bytes(chain_id, VoteKind::Precommit, 42, round, Some(hash));
        let validators: Vec<Value> = secrets
            .iter()
            .map(|secret| {
                let key = ed25519_consensus::SigningKey::from(*secret);
                let public = key.verification_key().to_bytes();
                json!({
                    "secret_key": h(secret),
                    "public_key": h(public),
                    "power": 1,
                    "address": h(validator_address(&public)),
                    "precommit_signature": h(key.sign(&bytes).to_bytes()),
                })
            })
            .collect();
        let mut signatures: Vec<CommitSignature> = secrets[..3]
            .iter()
            .map(|secret| {
                let key = ed25519_consensus::SigningKey::from(*secret);
                CommitSignature {
                    validator: validator_address(&key.verification_key().to_bytes()),
                    signature: key.sign(&bytes).to_bytes(),
                }
            })
            .collect();
        signatures.sort_by_key(|s| s.validator);
        let certificate = CommitCertificate {
            height: 42,
            round,
            block_hash: hash,
            signatures,
        };
        json!({
            "chain_id": chain_id,
            "validators": validators,
            "header_encoding": h(header.encode()),
            "block_hash": h(hash),
            "round": round,
            "precommit_sign_bytes": h(&bytes),
            "prevote_nil_sign_bytes": h(vote_sign_bytes(chain_id, VoteKind::Prevote, 42, 0, None)),
            "proposal_sign_bytes": h(proposal_sign_bytes(chain_id, 42, 1, Some(0), hash)),
            "certificate_of_validators_0_1_2": h(certificate.encode()),
        })
    }

    #[test]
    fn certificate_vectors_hold() {
        if std::env::var_os("CAIRN_REGENERATE_VECTORS").is_some() {
            std::fs::create_dir_all(std::path::Path::new(&path()).parent().unwrap()).unwrap();
            std::fs::write(
                path(),
                serde_json::to_string_pretty(&generate()).unwrap() + "\n",
            )
            .unwrap();
        }
        let file: Value =
            serde_json::from_str(&std::fs::read_to_string(path()).expect("vectors file")).unwrap();
        assert_eq!(file, generate(), "the vectors and the code disagree");
        // Independently of `generate`: decode the certificate and verify it
        // under the genesis the file gives.
        let chain_id = file["chain_id"].as_u64().unwrap();
        let validators: Vec<GenesisValidator> = file["validators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| GenesisValidator {
                public_key: unhex(&v["public_key"]).try_into().unwrap(),
                power: v["power"].as_u64().unwrap(),
            })
            .collect();
        for (v, g) in file["validators"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&validators)
        {
            assert_eq!(h(g.address()), v["address"].as_str().unwrap());
        }
        let header = BlockHeader::decode(&mut unhex(&file["header_encoding"]).as_slice()).unwrap();
        let certificate = CommitCertificate::decode(
            &mut unhex(&file["certificate_of_validators_0_1_2"]).as_slice(),
        )
        .unwrap();
        let genesis = Genesis {
            chain_id,
            block_gas_limit: 1,
            timestamp: 0,
            accounts: Vec::new(),
            contracts: Vec::new(),
            validators,
        };
        assert_eq!(verify_certificate(&genesis, &header, &certificate), Ok(()));
        let mut two = certificate.clone();
        two.signatures.pop();
        assert!(matches!(
            verify_certificate(&genesis, &header, &two),
            Err(CertificateError::Quorum { .. })
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> ed25519_consensus::SigningKey {
        ed25519_consensus::SigningKey::from([seed; 32])
    }

    fn genesis(n: u8) -> Genesis {
        Genesis {
            chain_id: 7,
            block_gas_limit: 1_000_000,
            timestamp: 0,
            accounts: Vec::new(),
            contracts: Vec::new(),
            validators: (1..=n)
                .map(|i| GenesisValidator {
                    public_key: key(i).verification_key().to_bytes(),
                    power: 1,
                })
                .collect(),
        }
    }

    fn header() -> BlockHeader {
        BlockHeader {
            parent_hash: H256::repeat_byte(1),
            number: 3,
            timestamp: 9,
            beneficiary: Address::zero(),
            gas_limit: 1_000_000,
            gas_used: 0,
            tx_root: H256::zero(),
            receipts_root: H256::zero(),
            state_root: H256::zero(),
            schedule_hash: H256::zero(),
            host_api_version: 1,
        }
    }

    fn certificate(signers: &[u8], round: u32, header: &BlockHeader) -> CommitCertificate {
        let bytes = vote_sign_bytes(7, VoteKind::Precommit, 3, round, Some(header.hash()));
        let mut signatures: Vec<CommitSignature> = signers
            .iter()
            .map(|i| CommitSignature {
                validator: validator_address(&key(*i).verification_key().to_bytes()),
                signature: key(*i).sign(&bytes).to_bytes(),
            })
            .collect();
        signatures.sort_by_key(|s| s.validator);
        CommitCertificate {
            height: 3,
            round,
            block_hash: header.hash(),
            signatures,
        }
    }

    #[test]
    fn three_of_four_certify_and_two_do_not() {
        let (genesis, header) = (genesis(4), header());
        assert_eq!(
            verify_certificate(&genesis, &header, &certificate(&[1, 2, 4], 0, &header)),
            Ok(())
        );
        assert_eq!(
            verify_certificate(&genesis, &header, &certificate(&[1, 3], 0, &header)),
            Err(CertificateError::Quorum {
                signed: 2,
                total: 4
            })
        );
    }

    #[test]
    fn forged_and_mismatched_certificates_fail() {
        let (genesis, header) = (genesis(4), header());
        let good = certificate(&[1, 2, 3], 1, &header);
        // A signature for another round.
        let mut other_round = certificate(&[1, 2, 3], 2, &header);
        other_round.round = 1;
        assert!(matches!(
            verify_certificate(&genesis, &header, &other_round),
            Err(CertificateError::BadSignature { index: 0, .. })
        ));
        // A repeated signer does not count twice.
        let mut repeated = good.clone();
        repeated.signatures[2] = repeated.signatures[1].clone();
        assert_eq!(
            verify_certificate(&genesis, &header, &repeated),
            Err(CertificateError::Order { index: 2 })
        );
        // A stranger's signature.
        let mut stranger = good.clone();
        stranger.signatures[0].validator = Address::zero();
        assert!(matches!(
            verify_certificate(&genesis, &header, &stranger),
            Err(CertificateError::UnknownValidator { .. } | CertificateError::Order { .. })
        ));
        // Another block.
        let mut other = header.clone();
        other.state_root = H256::repeat_byte(9);
        assert!(matches!(
            verify_certificate(&genesis, &other, &good),
            Err(CertificateError::BlockHash { .. })
        ));
        // No validators.
        let mut none = genesis.clone();
        none.validators.clear();
        assert_eq!(
            verify_certificate(&none, &header, &good),
            Err(CertificateError::NoValidators)
        );
    }

    #[test]
    fn validator_sets_are_checked() {
        let mut set = genesis(2).validators;
        assert_eq!(check_validator_set(&set), Ok(()));
        set[1].power = 0;
        assert_eq!(
            check_validator_set(&set),
            Err(ValidatorSetError::ZeroPower { index: 1 })
        );
        set[1] = set[0].clone();
        assert_eq!(
            check_validator_set(&set),
            Err(ValidatorSetError::Duplicate { index: 1 })
        );
        // Some 32-byte strings are not curve points: find one.
        let bad = (0..=255u8)
            .map(|i| [i; 32])
            .find(|bytes| ed25519_consensus::VerificationKey::try_from(*bytes).is_err())
            .unwrap();
        set[1].public_key = bad;
        assert_eq!(
            check_validator_set(&set),
            Err(ValidatorSetError::BadKey { index: 1 })
        );
    }
}
