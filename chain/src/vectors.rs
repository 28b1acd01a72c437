//! Checks the chain conformance vectors in `specs/vectors/chain/chain.json`.
//! `CAIRN_REGENERATE_VECTORS=1` rewrites the file from this code instead
//! (review the diff: any change there is a consensus change).

use cairn_host_api::world::{Address, H256, U256};
use parity_scale_codec::Encode;
use serde_json::{Value, json};

use cairn_engine::prepare::Rule;
use cairn_engine::runtime::{
    ExecConfig, ExecStatus, Executor, Export, HaltReason, InstantiationFailure, Log, TrapKind,
};
use cairn_state::MemoryStore;

use crate::admission::intrinsic_gas;
use crate::block::{BlockHeader, Receipt, receipts_root};
use crate::chain::Chain;
use crate::codec::decode_exact;
use crate::genesis::{Genesis, GenesisAccount};
use crate::keys::SigningKey;
use crate::merkle::merkle_root;
use crate::tx::{SignedTransaction, Transaction, TxAction, contract_address};

fn path() -> String {
    crate::repo_path("specs/vectors/chain/chain.json")
}

pub(crate) fn key_bytes(n: u8) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[31] = n;
    bytes
}

fn sample_txs() -> Vec<(String, SigningKey, Transaction)> {
    let to = Address::from_slice(&hex::decode("7e5f4552091a69125d5dfcb7b8c2659029395bdf").unwrap());
    vec![
        (
            "native transfer".into(),
            SigningKey::from_bytes(key_bytes(1)).unwrap(),
            Transaction {
                chain_id: 1337,
                nonce: 0,
                gas_limit: 21_000,
                gas_price: 1,
                value: U256::from(1_000_000u64),
                action: TxAction::Call { to, data: vec![] },
            },
        ),
        (
            "token transfer call".into(),
            SigningKey::from_bytes(key_bytes(2)).unwrap(),
            Transaction {
                chain_id: 1337,
                nonce: 7,
                gas_limit: 5_000_000,
                gas_price: 3,
                value: U256::zero(),
                action: TxAction::Call {
                    to,
                    data: cairn_host_api::abi::encode_call(
                        "transfer",
                        &(Address::repeat_byte(0x22), U256::from(5u8)),
                    ),
                },
            },
        ),
        (
            "deploy".into(),
            SigningKey::from_bytes(key_bytes(3)).unwrap(),
            Transaction {
                chain_id: 1,
                nonce: 1,
                gas_limit: 10_000_000,
                gas_price: 0,
                value: U256::from(9u8),
                action: TxAction::Deploy {
                    code: b"\0asm\x01\0\0\0".to_vec(),
                    data: vec![1, 2, 3],
                },
            },
        ),
    ]
}

pub(crate) fn h(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// A receipt's fields as JSON, so an implementation can build the receipt
/// from them and compare its encoding (the vector tests an encoder as well
/// as a decoder).
pub(crate) fn receipt_fields(receipt: &Receipt) -> Value {
    let status = match &receipt.status {
        ExecStatus::Success { return_data } => {
            json!({"variant": "Success", "index": 0, "return_data": h(return_data)})
        }
        ExecStatus::Revert { data } => json!({"variant": "Revert", "index": 1, "data": h(data)}),
        ExecStatus::Halt { reason } => {
            let (variant, index, payload) = match reason {
                HaltReason::OutOfGas => ("OutOfGas", 0, Value::Null),
                HaltReason::StackExhausted => ("StackExhausted", 1, Value::Null),
                HaltReason::Trap(kind) => (
                    "Trap",
                    2,
                    json!({"trap_kind": format!("{kind:?}"), "index": kind.encode()[0]}),
                ),
                HaltReason::InvalidCode(rule) => (
                    "InvalidCode",
                    3,
                    json!({"rule": rule.name(), "index": rule.encode()[0]}),
                ),
                HaltReason::ContractExists => ("ContractExists", 4, Value::Null),
                HaltReason::InsufficientBalance => ("InsufficientBalance", 5, Value::Null),
                HaltReason::MissingExport(export) => (
                    "MissingExport",
                    6,
                    json!({"export": export.name(), "index": export.encode()[0]}),
                ),
                HaltReason::Instantiation(failure) => (
                    "Instantiation",
                    7,
                    json!({"failure": failure.name(), "index": failure.encode()[0]}),
                ),
                other => panic!("a halt reason without a vector: {other:?}"),
            };
            json!({"variant": "Halt", "index": 2, "reason": {"variant": variant, "index": index, "payload": payload}})
        }
    };
    json!({
        "status": status,
        "gas_used": receipt.gas_used,
        "cumulative_gas_used": receipt.cumulative_gas_used,
        "logs": receipt.logs.iter().map(|log| json!({
            "address": h(log.address),
            "topics": log.topics.iter().map(h).collect::<Vec<_>>(),
            "data": h(&log.data),
        })).collect::<Vec<_>>(),
        "contract_address": receipt.contract_address.map(h),
    })
}

/// One receipt of every status and halt variant, with logs and a created
/// address among them.
fn sample_receipts() -> Vec<(String, Receipt)> {
    let receipt = |status, gas_used, logs, contract_address| Receipt {
        status,
        gas_used,
        cumulative_gas_used: gas_used + 100_000,
        logs,
        contract_address,
    };
    let halt = |reason| ExecStatus::Halt { reason };
    let mut out = vec![
        (
            "success with return data and logs".to_owned(),
            receipt(
                ExecStatus::Success {
                    return_data: vec![1, 0, 0, 0],
                },
                45_123,
                vec![
                    Log {
                        address: Address::repeat_byte(0xaa),
                        topics: vec![H256::repeat_byte(1), H256::repeat_byte(2)],
                        data: vec![9, 8, 7],
                    },
                    Log {
                        address: Address::repeat_byte(0xaa),
                        topics: vec![],
                        data: vec![],
                    },
                ],
                None,
            ),
        ),
        (
            "deploy that created a contract".to_owned(),
            receipt(
                ExecStatus::Success {
                    return_data: vec![],
                },
                120_000,
                vec![],
                Some(Address::repeat_byte(0xcc)),
            ),
        ),
        (
            "revert with data".to_owned(),
            receipt(
                ExecStatus::Revert {
                    data: cairn_host_api::abi::encode_revert_reason("no"),
                },
                30_000,
                vec![],
                None,
            ),
        ),
    ];
    let halts = [
        HaltReason::OutOfGas,
        HaltReason::StackExhausted,
        HaltReason::Trap(TrapKind::Unreachable),
        HaltReason::Trap(TrapKind::NoMemoryExport),
        HaltReason::InvalidCode(Rule::FloatingPoint),
        HaltReason::ContractExists,
        HaltReason::InsufficientBalance,
        HaltReason::MissingExport(Export::Call),
        HaltReason::Instantiation(InstantiationFailure::ResourceLimit),
    ];
    for reason in halts {
        out.push((
            format!("halt: {reason}"),
            receipt(halt(reason), 50_000, vec![], None),
        ));
    }
    out
}

/// A real deploy of code that breaks a validation rule, executed in a
/// block: its inputs and the receipt it gets.
fn invalid_code_deploy() -> Value {
    let key = SigningKey::from_bytes(key_bytes(1)).unwrap();
    let genesis = Genesis {
        chain_id: 1337,
        block_gas_limit: 1_000_000_000,
        timestamp: 0,
        accounts: vec![GenesisAccount {
            address: key.address(),
            balance: U256::from(10u64).pow(U256::from(18u64)),
        }],
        contracts: vec![],
        validators: Vec::new(),
    };
    let code = wat::parse_str(r#"(module (func (export "call") (drop (f32.const 1))))"#).unwrap();
    let tx = Transaction {
        chain_id: 1337,
        nonce: 0,
        gas_limit: 1_000_000,
        gas_price: 2,
        value: U256::zero(),
        action: TxAction::Deploy {
            code: code.clone(),
            data: vec![],
        },
    }
    .sign(&key);
    let mut chain = Chain::init(
        MemoryStore::in_memory(),
        Executor::new(ExecConfig::default()),
        genesis,
    )
    .unwrap();
    let (block, receipts, rejected) = chain
        .produce_block(1, Address::zero(), vec![tx.clone()])
        .unwrap();
    assert!(rejected.is_empty());
    json!({
        "description": "key 0x..01 funded with 10^18 at genesis deploys Wasm code that uses a float; the deploy is included and halts with InvalidCode(floating-point), charged its intrinsic gas only",
        "code": h(&code),
        "signed_transaction": h(tx.encode()),
        "receipt": receipt_fields(&receipts[0]),
        "receipt_encoding": h(receipts[0].encode()),
        "receipts_root": h(block.header.receipts_root),
    })
}

fn generate() -> Value {
    let keys: Vec<Value> = [1u8, 2, 3]
        .iter()
        .map(|n| {
            let key = SigningKey::from_bytes(key_bytes(*n)).unwrap();
            json!({"private_key": h(key_bytes(*n)), "address": h(key.address())})
        })
        .collect();
    let txs: Vec<Value> = sample_txs()
        .into_iter()
        .map(|(name, key, tx)| {
            let signing_hash = tx.signing_hash();
            let unsigned = tx.encode();
            let fields = crate::vectors_blocks::tx_fields(&tx);
            let signed = tx.sign(&key);
            json!({
                "name": name,
                "fields": fields,
                "private_key": h(key.to_bytes()),
                "unsigned_encoding": h(unsigned),
                "signing_hash": h(signing_hash),
                "signature": h(signed.signature),
                "signed_encoding": h(signed.encode()),
                "tx_hash": h(signed.hash()),
                "sender": h(key.address()),
                "intrinsic_gas": intrinsic_gas(&signed.clone().into()),
            })
        })
        .collect();
    let contracts: Vec<Value> = [(Address::repeat_byte(0x11), 0u64), (Address::repeat_byte(0x11), 1), (Address::zero(), 42)]
        .iter()
        .map(|(sender, nonce)| json!({"sender": h(sender), "nonce": nonce, "address": h(contract_address(sender, *nonce))}))
        .collect();
    let lists: Vec<Vec<Vec<u8>>> = vec![
        vec![],
        vec![b"a".to_vec()],
        vec![b"a".to_vec(), b"b".to_vec()],
        (0u8..5).map(|i| vec![i; 3]).collect(),
    ];
    let roots: Vec<Value> = lists
        .iter()
        .map(|items| json!({"items": items.iter().map(h).collect::<Vec<_>>(), "root": h(merkle_root(items))}))
        .collect();
    let header = BlockHeader {
        parent_hash: H256::repeat_byte(1),
        number: 5,
        timestamp: 1_700_000_005,
        beneficiary: Address::repeat_byte(2),
        gas_limit: 1_000_000_000,
        gas_used: 21_000,
        tx_root: H256::repeat_byte(3),
        receipts_root: H256::repeat_byte(4),
        state_root: H256::repeat_byte(5),
        schedule_hash: H256::repeat_byte(6),
        host_api_version: 1,
    };
    json!({
        "description": "Cairn chain conformance vectors (specs/chain.md): addresses, transaction encodings, signatures and hashes, contract addresses, binary Merkle roots, header hashes, receipts of every status and halt variant, and an executed deploy of invalid code. Hex strings are 0x-prefixed.",
        "keys": keys,
        "transactions": txs,
        "contract_addresses": contracts,
        "merkle_roots": roots,
        "headers": [{"fields": crate::vectors_blocks::header_fields(&header), "encoding": h(header.encode()), "hash": h(header.hash())}],
        "receipts": sample_receipts().into_iter().map(|(name, receipt)| json!({
            "name": name,
            "fields": receipt_fields(&receipt),
            "encoding": h(receipt.encode()),
        })).collect::<Vec<_>>(),
        "receipts_root_of_all": h(receipts_root(&sample_receipts().into_iter().map(|(_, r)| r).collect::<Vec<_>>())),
        "invalid_code_deploy": invalid_code_deploy(),
    })
}

pub(crate) fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

#[test]
fn chain_vectors_hold() {
    if std::env::var_os("CAIRN_REGENERATE_VECTORS").is_some() {
        std::fs::write(
            path(),
            serde_json::to_string_pretty(&generate()).unwrap() + "\n",
        )
        .unwrap();
    }
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(path()).expect("vectors file")).unwrap();
    // Check the file independently of `generate`: decode and recompute.
    for k in file["keys"].as_array().unwrap() {
        let key = SigningKey::from_bytes(unhex(&k["private_key"]).try_into().unwrap()).unwrap();
        assert_eq!(h(key.address()), k["address"].as_str().unwrap());
    }
    for t in file["transactions"].as_array().unwrap() {
        let signed: SignedTransaction = decode_exact(&unhex(&t["signed_encoding"])).unwrap();
        // The encoder: the fields given encode to the bytes given.
        let from_fields = crate::vectors_blocks::tx_from_fields(&t["fields"]);
        assert_eq!(
            h(from_fields.encode()),
            t["unsigned_encoding"].as_str().unwrap()
        );
        assert_eq!(from_fields, signed.tx);
        assert_eq!(
            h(signed.tx.encode()),
            t["unsigned_encoding"].as_str().unwrap()
        );
        assert_eq!(
            h(signed.tx.signing_hash()),
            t["signing_hash"].as_str().unwrap()
        );
        assert_eq!(h(signed.signature), t["signature"].as_str().unwrap());
        assert_eq!(h(signed.hash()), t["tx_hash"].as_str().unwrap());
        assert_eq!(
            h(signed.recover_sender().unwrap()),
            t["sender"].as_str().unwrap()
        );
        assert_eq!(
            intrinsic_gas(&signed.clone().into()),
            t["intrinsic_gas"].as_u64().unwrap()
        );
        // Signing is deterministic (RFC 6979): the same key signs to the same bytes.
        let key = SigningKey::from_bytes(unhex(&t["private_key"]).try_into().unwrap()).unwrap();
        assert_eq!(signed.tx.clone().sign(&key), signed);
    }
    for c in file["contract_addresses"].as_array().unwrap() {
        let sender = Address::from_slice(&unhex(&c["sender"]));
        assert_eq!(
            h(contract_address(&sender, c["nonce"].as_u64().unwrap())),
            c["address"].as_str().unwrap()
        );
    }
    for r in file["merkle_roots"].as_array().unwrap() {
        let items: Vec<Vec<u8>> = r["items"].as_array().unwrap().iter().map(unhex).collect();
        assert_eq!(h(merkle_root(&items)), r["root"].as_str().unwrap());
    }
    for hd in file["headers"].as_array().unwrap() {
        let header: BlockHeader = decode_exact(&unhex(&hd["encoding"])).unwrap();
        let from_fields = crate::vectors_blocks::header_from_fields(&hd["fields"]);
        assert_eq!(h(from_fields.encode()), hd["encoding"].as_str().unwrap());
        assert_eq!(h(header.hash()), hd["hash"].as_str().unwrap());
    }
    let mut all = Vec::new();
    for r in file["receipts"].as_array().unwrap() {
        let receipt: Receipt = decode_exact(&unhex(&r["encoding"])).unwrap();
        assert_eq!(receipt_fields(&receipt), r["fields"], "{}", r["name"]);
        assert_eq!(h(receipt.encode()), r["encoding"].as_str().unwrap());
        all.push(receipt);
    }
    assert_eq!(
        h(receipts_root(&all)),
        file["receipts_root_of_all"].as_str().unwrap()
    );
    // And the file is what the code generates (nothing silently drifted).
    assert_eq!(
        file,
        generate(),
        "vectors differ from the code; a consensus change?"
    );
}

fn ethereum_path() -> String {
    crate::repo_path("specs/vectors/chain/ethereum.json")
}

pub(crate) fn action_json(action: &TxAction) -> Value {
    match action {
        TxAction::Call { to, data } => json!({"call": {"to": h(to), "data": h(data)}}),
        TxAction::Deploy { code, data } => json!({"deploy": {"code": h(code), "data": h(data)}}),
    }
}

fn rejection_name(error: &crate::ethereum::EthereumTxError) -> &'static str {
    use crate::ethereum::EthereumTxError as E;
    match error {
        E::Malformed(_) | E::NonCanonical => "malformed",
        E::UnsupportedType(_) => "unsupported_type",
        E::NoChainId => "no_chain_id",
        E::AccessList => "access_list",
        E::GasPriceTooHigh(_) => "gas_price_too_high",
        E::TipAboveFeeCap => "tip_above_fee_cap",
        E::DeployPayload(_) => "deploy_payload",
    }
}

/// The Ethereum envelope against transactions signed by viem, a stock
/// Ethereum library (`specs/vectors/chain/ethereum/generate.mjs`): these
/// vectors come from outside Cairn's code, so they are checked, never
/// regenerated here.
#[test]
fn ethereum_vectors_signed_by_viem_hold() {
    use crate::ethereum::EthereumTransaction;
    use crate::tx::Envelope;
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(ethereum_path()).expect("vectors file"))
            .unwrap();
    let accepted = file["accepted"].as_array().unwrap();
    assert!(accepted.len() >= 5);
    for v in accepted {
        let name = v["name"].as_str().unwrap();
        let raw = unhex(&v["raw"]);
        let tx = EthereumTransaction::from_raw(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(h(tx.hash()), v["hash"].as_str().unwrap(), "{name}");
        assert_eq!(
            h(tx.recover_sender().unwrap()),
            v["sender"].as_str().unwrap(),
            "{name}"
        );
        let cairn = &v["cairn"];
        assert_eq!(
            u64::from(tx.tx_type().type_byte()),
            cairn["type"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(tx.chain_id(), cairn["chain_id"].as_u64().unwrap(), "{name}");
        assert_eq!(tx.nonce(), cairn["nonce"].as_u64().unwrap(), "{name}");
        assert_eq!(
            tx.gas_limit(),
            cairn["gas_limit"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            tx.gas_price(),
            cairn["gas_price"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            tx.value().to_string(),
            cairn["value"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(action_json(tx.action()), cairn["action"], "{name}");
        let envelope = Envelope::from(tx.clone());
        assert_eq!(
            intrinsic_gas(&envelope),
            cairn["intrinsic_gas"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(envelope.hash(), tx.hash());
        // In a block: SCALE variant 1 then the EIP-2718 bytes as a Vec<u8>.
        let mut expected = vec![1u8];
        expected.extend(raw.encode());
        assert_eq!(envelope.encode(), expected, "{name}");
        assert_eq!(
            Envelope::decode_exact(&expected).unwrap(),
            envelope,
            "{name}"
        );
    }
    for v in file["rejected"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let raw = unhex(&v["raw"]);
        let error = EthereumTransaction::from_raw(&raw).expect_err(name);
        assert_eq!(
            rejection_name(&error),
            v["reason"].as_str().unwrap(),
            "{name}: {error}"
        );
        // Nor does a block holding them decode.
        let mut in_block = vec![1u8];
        in_block.extend(raw.encode());
        assert!(Envelope::decode_exact(&in_block).is_err(), "{name}");
    }
}
