//! Checks the chain conformance vectors in `specs/vectors/chain/chain.json`.
//! `CAIRN_REGENERATE_VECTORS=1` rewrites the file from this code instead
//! (review the diff: any change there is a consensus change).

use cairn_host_api::world::{Address, H256, U256};
use parity_scale_codec::Encode;
use serde_json::{Value, json};

use crate::admission::intrinsic_gas;
use crate::block::BlockHeader;
use crate::codec::decode_exact;
use crate::keys::SigningKey;
use crate::merkle::merkle_root;
use crate::tx::{SignedTransaction, Transaction, TxAction, contract_address};

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../specs/vectors/chain/chain.json"
);

fn key_bytes(n: u8) -> [u8; 32] {
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

fn h(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(bytes))
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
            let signed = tx.sign(&key);
            json!({
                "name": name,
                "private_key": h(key.to_bytes()),
                "unsigned_encoding": h(unsigned),
                "signing_hash": h(signing_hash),
                "signature": h(signed.signature),
                "signed_encoding": h(signed.encode()),
                "tx_hash": h(signed.hash()),
                "sender": h(key.address()),
                "intrinsic_gas": intrinsic_gas(&signed),
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
        "description": "Cairn chain conformance vectors (specs/chain.md): addresses, transaction encodings, signatures and hashes, contract addresses, binary Merkle roots, header hashes. Hex strings are 0x-prefixed.",
        "keys": keys,
        "transactions": txs,
        "contract_addresses": contracts,
        "merkle_roots": roots,
        "headers": [{"encoding": h(header.encode()), "hash": h(header.hash())}],
    })
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

#[test]
fn chain_vectors_hold() {
    if std::env::var_os("CAIRN_REGENERATE_VECTORS").is_some() {
        std::fs::write(
            PATH,
            serde_json::to_string_pretty(&generate()).unwrap() + "\n",
        )
        .unwrap();
    }
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(PATH).expect("vectors file")).unwrap();
    // Check the file independently of `generate`: decode and recompute.
    for k in file["keys"].as_array().unwrap() {
        let key = SigningKey::from_bytes(unhex(&k["private_key"]).try_into().unwrap()).unwrap();
        assert_eq!(h(key.address()), k["address"].as_str().unwrap());
    }
    for t in file["transactions"].as_array().unwrap() {
        let signed: SignedTransaction = decode_exact(&unhex(&t["signed_encoding"])).unwrap();
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
        assert_eq!(intrinsic_gas(&signed), t["intrinsic_gas"].as_u64().unwrap());
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
        assert_eq!(h(header.hash()), hd["hash"].as_str().unwrap());
    }
    // And the file is what the code generates (nothing silently drifted).
    assert_eq!(
        file,
        generate(),
        "vectors differ from the code; a consensus change?"
    );
}
