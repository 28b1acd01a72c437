//! Genesis and block vectors (`specs/vectors/chain/genesis.json`,
//! `specs/vectors/chain/blocks.json`): a genesis file with its state, root,
//! header and hash; then blocks of transactions over that state with every
//! state write, the post-state roots, receipts and headers. The execution
//! rules they exercise are `specs/chain.md`, "Execution rules that decide the
//! state root". `CAIRN_REGENERATE_VECTORS=1` rewrites both files.
//!
//! The checks read the files and recompute every output from the inputs
//! given there, by a second path (a bare state store and
//! [`execute_transactions`], not [`Chain`]), then compare the files with
//! what the code generates.

use std::path::Path;

use cairn_engine::runtime::{ExecConfig, Executor};
use cairn_host_api::world::{Account, Address, H256, U256};
use cairn_state::{AuxWrites, MemoryStore, StateChanges, reference_root};
use parity_scale_codec::Encode;
use serde_json::{Value, json};

use crate::block::{BlockHeader, receipts_root};
use crate::bundle::{ReplayBundle, export_bundle, verify_bundle};
use crate::chain::Chain;
use crate::codec::decode_exact;
use crate::execute::{BlockEnv, InvalidTxPolicy, apply_genesis, execute_transactions};
use crate::genesis::Genesis;
use crate::keys::SigningKey;
use crate::merkle::merkle_root;
use crate::tx::{Envelope, SignedTransaction, Transaction, TxAction, contract_address};
use crate::vectors::{action_json, h, key_bytes, receipt_fields, unhex};
use crate::world::BlockState;

fn genesis_path() -> String {
    crate::repo_path("specs/vectors/chain/genesis.json")
}
fn bundle_path() -> String {
    crate::repo_path("specs/vectors/chain/bundle.json")
}
fn blocks_path() -> String {
    crate::repo_path("specs/vectors/chain/blocks.json")
}

/// The test contract of the block vectors. `deploy` stores its input under
/// `init`. `call` with empty input returns; otherwise the first input byte
/// selects: 1 writes input[2..] under the one-byte key input[1] and logs it
/// (topic `init` padded with zeros), 2 removes key input[1], 3 reverts with
/// input[1..], 4 transfers the U256 (LE) at input[21..53] to the address
/// at input[1..21] and returns the host's status as an i32 LE; anything
/// else traps (`unreachable`).
pub(crate) const STORE_WAT: &str = r#"(module
  (import "cairn_v1" "input_size" (func $input_size (result i32)))
  (import "cairn_v1" "input_copy" (func $input_copy (param i32 i32 i32)))
  (import "cairn_v1" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (import "cairn_v1" "storage_remove" (func $storage_remove (param i32 i32) (result i32)))
  (import "cairn_v1" "revert" (func $revert (param i32 i32)))
  (import "cairn_v1" "return_value" (func $return_value (param i32 i32)))
  (import "cairn_v1" "emit_log" (func $emit_log (param i32 i32 i32 i32)))
  (import "cairn_v1" "transfer" (func $transfer (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 1024) "init")
  (func $load (result i32)
    (local $n i32)
    (local.set $n (call $input_size))
    (call $input_copy (i32.const 0) (i32.const 0) (local.get $n))
    (local.get $n))
  (func (export "deploy")
    (local $n i32)
    (local.set $n (call $load))
    (call $storage_write (i32.const 1024) (i32.const 4) (i32.const 0) (local.get $n)))
  (func (export "call")
    (local $n i32) (local $op i32)
    (local.set $n (call $load))
    (if (i32.eqz (local.get $n)) (then (return)))
    (local.set $op (i32.load8_u (i32.const 0)))
    (if (i32.eq (local.get $op) (i32.const 1)) (then
      (call $storage_write (i32.const 1) (i32.const 1) (i32.const 2) (i32.sub (local.get $n) (i32.const 2)))
      (call $emit_log (i32.const 1024) (i32.const 1) (i32.const 2) (i32.sub (local.get $n) (i32.const 2)))
      (return)))
    (if (i32.eq (local.get $op) (i32.const 2)) (then
      (drop (call $storage_remove (i32.const 1) (i32.const 1)))
      (return)))
    (if (i32.eq (local.get $op) (i32.const 3)) (then
      (call $revert (i32.const 1) (i32.sub (local.get $n) (i32.const 1)))))
    (if (i32.eq (local.get $op) (i32.const 4)) (then
      (i32.store (i32.const 2048) (call $transfer (i32.const 1) (i32.const 21)))
      (call $return_value (i32.const 2048) (i32.const 4))))
    (unreachable)))"#;

const STORE_ADDRESS: Address = Address::repeat_byte(0xc0);

fn store_code() -> Vec<u8> {
    wat::parse_str(STORE_WAT).unwrap()
}

fn executor() -> Executor {
    Executor::new(ExecConfig::default())
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(key_bytes(n)).unwrap()
}

/// The genesis file of the vectors (JSON, as `specs/chain.md` "Genesis").
fn genesis_file() -> Value {
    let (a, b) = (key(1).address(), key(2).address());
    json!({
        "chain_id": 1337,
        "block_gas_limit": 30_000_000,
        "timestamp": 1_700_000_000,
        "accounts": [
            {"address": h(a), "balance": "1000000000000000000"},
            {"address": h(b), "balance": "0xde0b6b3a7640000"},
            {"address": h(contract_address(&b, 0)), "balance": "5"},
            {"address": h(a), "balance": "1"},
        ],
        "contracts": [
            {"name": "store", "address": h(STORE_ADDRESS), "deployer": h(a),
             "code_hex": h(store_code()), "input": h(b"genesis"), "balance": "100"},
            {"name": "squatter", "address": h(contract_address(&b, 1)),
             "deployer": h(Address::zero()), "code_hex": h(store_code())},
        ],
    })
}

fn account_fields(account: &Account) -> Value {
    json!({
        "nonce": account.nonce,
        "balance": account.balance.to_string(),
        "code_hash": account.code_hash.map(h),
    })
}

fn account_from_fields(v: &Value) -> Account {
    Account {
        nonce: v["nonce"].as_u64().unwrap(),
        balance: U256::from_dec_str(v["balance"].as_str().unwrap()).unwrap(),
        code_hash: match &v["code_hash"] {
            Value::Null => None,
            hash => Some(H256::from_slice(&unhex(hash))),
        },
    }
}

/// A state entry (key, value or `null` for a deletion) with what it means
/// under the layout of `specs/chain.md`.
pub(crate) fn state_entry(key: &[u8], value: Option<&[u8]>) -> Value {
    let meaning = match (key[0], value) {
        (0x01, Some(value)) => json!({
            "account": h(&key[1..]),
            "fields": account_fields(&decode_exact::<Account>(value).unwrap()),
        }),
        (0x01, None) => json!({"account": h(&key[1..])}),
        (0x02, _) => json!({"storage_of": h(&key[1..21]), "slot": h(&key[21..])}),
        (0x03, _) => json!({"code_hash": h(&key[1..])}),
        _ => panic!("a key outside the chain's layout"),
    };
    json!({"key": h(key), "value": value.map(h), "meaning": meaning})
}

fn state_json(changes: &StateChanges) -> Vec<Value> {
    changes
        .iter()
        .map(|(k, v)| state_entry(k, v.as_deref()))
        .collect()
}

/// Checks one state entry's meaning against its key and value: an account
/// built from its fields encodes to the value, a code record's value hashes
/// to its key.
fn check_state_entry(entry: &Value) -> (Vec<u8>, Option<Vec<u8>>) {
    let key = unhex(&entry["key"]);
    let value = match &entry["value"] {
        Value::Null => None,
        v => Some(unhex(v)),
    };
    let meaning = &entry["meaning"];
    match key[0] {
        0x01 => {
            assert_eq!(h(&key[1..]), meaning["account"].as_str().unwrap());
            if let Some(value) = &value {
                assert_eq!(&account_from_fields(&meaning["fields"]).encode(), value);
            }
        }
        0x02 => {
            assert_eq!(key.len(), 21 + unhex(&meaning["slot"]).len());
            assert_eq!(h(&key[1..21]), meaning["storage_of"].as_str().unwrap());
        }
        0x03 => {
            let code = value.as_ref().expect("code is never deleted");
            assert_eq!(
                h(cairn_host_api::keccak256(code)),
                meaning["code_hash"].as_str().unwrap()
            );
            assert_eq!(h(&key[1..]), meaning["code_hash"].as_str().unwrap());
        }
        other => panic!("key prefix {other}"),
    }
    (key, value)
}

pub(crate) fn header_fields(header: &BlockHeader) -> Value {
    json!({
        "parent_hash": h(header.parent_hash),
        "number": header.number,
        "timestamp": header.timestamp,
        "beneficiary": h(header.beneficiary),
        "gas_limit": header.gas_limit,
        "gas_used": header.gas_used,
        "tx_root": h(header.tx_root),
        "receipts_root": h(header.receipts_root),
        "state_root": h(header.state_root),
        "schedule_hash": h(header.schedule_hash),
        "host_api_version": header.host_api_version,
    })
}

pub(crate) fn header_from_fields(v: &Value) -> BlockHeader {
    let h256 = |name: &str| H256::from_slice(&unhex(&v[name]));
    BlockHeader {
        parent_hash: h256("parent_hash"),
        number: v["number"].as_u64().unwrap(),
        timestamp: v["timestamp"].as_u64().unwrap(),
        beneficiary: Address::from_slice(&unhex(&v["beneficiary"])),
        gas_limit: v["gas_limit"].as_u64().unwrap(),
        gas_used: v["gas_used"].as_u64().unwrap(),
        tx_root: h256("tx_root"),
        receipts_root: h256("receipts_root"),
        state_root: h256("state_root"),
        schedule_hash: h256("schedule_hash"),
        host_api_version: u32::try_from(v["host_api_version"].as_u64().unwrap()).unwrap(),
    }
}

pub(crate) fn tx_fields(tx: &Transaction) -> Value {
    json!({
        "chain_id": tx.chain_id,
        "nonce": tx.nonce,
        "gas_limit": tx.gas_limit,
        "gas_price": tx.gas_price,
        "value": tx.value.to_string(),
        "action": action_json(&tx.action),
    })
}

pub(crate) fn tx_from_fields(v: &Value) -> Transaction {
    let action = &v["action"];
    let action = if let Some(call) = action.get("call") {
        TxAction::Call {
            to: Address::from_slice(&unhex(&call["to"])),
            data: unhex(&call["data"]),
        }
    } else {
        let deploy = &action["deploy"];
        TxAction::Deploy {
            code: unhex(&deploy["code"]),
            data: unhex(&deploy["data"]),
        }
    };
    Transaction {
        chain_id: v["chain_id"].as_u64().unwrap(),
        nonce: v["nonce"].as_u64().unwrap(),
        gas_limit: v["gas_limit"].as_u64().unwrap(),
        gas_price: v["gas_price"].as_u64().unwrap(),
        value: U256::from_dec_str(v["value"].as_str().unwrap()).unwrap(),
        action,
    }
}

fn genesis() -> Genesis {
    Genesis::from_json(genesis_file().to_string().as_bytes(), Path::new(".")).unwrap()
}

/// Genesis applied to an empty state: its writes.
fn genesis_state(genesis: &Genesis) -> StateChanges {
    let empty = MemoryStore::in_memory();
    let mut state = BlockState::new(&empty, false);
    apply_genesis(&executor(), &mut state, genesis).unwrap();
    state.finish().0
}

fn generate_genesis(block_1_parent: H256) -> Value {
    let genesis = genesis();
    let chain = Chain::init(MemoryStore::in_memory(), executor(), genesis.clone()).unwrap();
    let header = chain.head();
    json!({
        "description": "A genesis file (specs/chain.md, Genesis), the SCALE Genesis stored at chain/genesis, the state it creates (every key and value, in key order, with what each means), its state root, the genesis header with its encoding and hash, and block 1's parent hash (block 1 is the first block of blocks.json). The `store` contract is blocks.json's `store_wat`.",
        "file": genesis_file(),
        "genesis_encoding": h(genesis.encode()),
        "state": state_json(&genesis_state(&genesis)),
        "state_root": h(header.state_root),
        "header": header_fields(header),
        "header_encoding": h(header.encode()),
        "hash": h(header.hash()),
        "block_1_parent_hash": h(block_1_parent),
    })
}

struct PlannedTx {
    note: &'static str,
    key: u8,
    tx: Transaction,
}

fn call(
    key: u8,
    nonce: u64,
    price: u64,
    value: u64,
    to: Address,
    data: &[u8],
) -> (u8, Transaction) {
    (
        key,
        Transaction {
            chain_id: 1337,
            nonce,
            gas_limit: 1_000_000,
            gas_price: price,
            value: U256::from(value),
            action: TxAction::Call {
                to,
                data: data.to_vec(),
            },
        },
    )
}

fn deploy(key: u8, nonce: u64, price: u64, value: u64, data: &[u8]) -> (u8, Transaction) {
    (
        key,
        Transaction {
            chain_id: 1337,
            nonce,
            gas_limit: 2_000_000,
            gas_price: price,
            value: U256::from(value),
            action: TxAction::Deploy {
                code: store_code(),
                data: data.to_vec(),
            },
        },
    )
}

/// The blocks: (timestamp, beneficiary, transactions).
fn plan() -> Vec<(u64, Address, Vec<PlannedTx>)> {
    let beneficiary = Address::repeat_byte(0xbe);
    let fresh = |b: u8| Address::repeat_byte(b);
    let planned = |note, (key, tx)| PlannedTx { note, key, tx };
    let mut transfer_40 = vec![4u8];
    transfer_40.extend_from_slice(fresh(0xf2).as_bytes());
    transfer_40.extend_from_slice(&U256::from(40u8).to_little_endian());
    let exact = {
        let (key, mut tx) = call(1, 1, 0, 0, fresh(0xf0), &[1, 2, 3]);
        tx.gas_limit = 21_048;
        (key, tx)
    };
    vec![
        (
            1_700_000_012,
            beneficiary,
            vec![
                planned(
                    "gas price 0: zero-value call of the store contract, writes slot 'x' = 'one'; the contract's account record is not rewritten; the beneficiary is credited nothing and gets no record",
                    call(1, 0, 0, 0, STORE_ADDRESS, b"\x01xone"),
                ),
                planned(
                    "zero-value call with data to an address without code, gas limit exactly the intrinsic gas: gas used is the intrinsic gas, no account record is created",
                    exact,
                ),
                planned(
                    "deploy with value 7 at the derived address: account record (nonce 0, balance 7, code hash), storage 'init' = 'hello'; the code record is the genesis contract's (same code hash), rewritten with the same bytes",
                    deploy(1, 2, 0, 7, b"hello"),
                ),
            ],
        ),
        (
            1_700_000_012,
            beneficiary,
            vec![
                planned(
                    "transfer of 1000 to a fresh address: its account record is created",
                    call(1, 3, 1, 1000, fresh(0xf1), &[]),
                ),
                planned(
                    "deploy onto the derived address of key 2 nonce 0, which holds balance 5 and no code: succeeds, balance 5 + 10, nonce stays 0",
                    deploy(2, 0, 2, 10, b""),
                ),
                planned(
                    "deploy onto the derived address of key 2 nonce 1, which holds code (genesis contract `squatter`): halts ContractExists, charged intrinsic gas only, nonce bumped",
                    deploy(2, 1, 2, 10, b""),
                ),
                planned(
                    "remove slot 'x': the key is deleted from the state",
                    call(1, 4, 1, 0, STORE_ADDRESS, b"\x02x"),
                ),
                planned(
                    "revert with data 'no': only the sender's nonce and fee change",
                    call(1, 5, 1, 0, STORE_ADDRESS, b"\x03no"),
                ),
                planned(
                    "the contract transfers 40 to a fresh address (host transfer): both account records written",
                    call(1, 6, 1, 0, STORE_ADDRESS, &transfer_40),
                ),
                planned(
                    "a trap (unreachable): halts, all of the gas limit is used",
                    call(1, 7, 1, 0, STORE_ADDRESS, &[9]),
                ),
                planned(
                    "call with value 3 writing slot 'y' = '' (an empty value is present, not a deletion): the contract's balance grows",
                    call(1, 8, 3, 3, STORE_ADDRESS, b"\x01y"),
                ),
            ],
        ),
    ]
}

fn generate_blocks() -> Value {
    let genesis = genesis();
    let pre_state = genesis_state(&genesis);
    let mut chain = Chain::init(MemoryStore::in_memory(), executor(), genesis.clone()).unwrap();
    let pre_root = chain.head().state_root;
    let parent_hash = chain.head().hash();
    let mut blocks = Vec::new();
    for (timestamp, beneficiary, txs) in plan() {
        let signed: Vec<SignedTransaction> =
            txs.iter().map(|p| p.tx.clone().sign(&key(p.key))).collect();
        let executed = chain
            .execute_block(
                timestamp,
                beneficiary,
                signed.clone(),
                InvalidTxPolicy::Reject,
                false,
            )
            .unwrap();
        let header = executed.block.header.clone();
        blocks.push(json!({
            "transactions": txs.iter().zip(&signed).map(|(p, s)| json!({
                "note": p.note,
                "private_key": h(key_bytes(p.key)),
                "sender": h(key(p.key).address()),
                "fields": tx_fields(&p.tx),
                "signed_encoding": h(s.encode()),
                "hash": h(s.hash()),
            })).collect::<Vec<_>>(),
            "receipts": executed.receipts.iter().map(|r| json!({
                "fields": receipt_fields(r),
                "encoding": h(r.encode()),
            })).collect::<Vec<_>>(),
            "writes": state_json(&executed.changes),
            "header": header_fields(&header),
            "header_encoding": h(header.encode()),
            "hash": h(header.hash()),
            "block_encoding": h(executed.block.encode()),
        }));
        chain.commit(executed).unwrap();
    }
    json!({
        "description": "Blocks executed over a pre-state (specs/chain.md, Execution rules that decide the state root): the pre-state (every key and value, the state of genesis.json) and its root; per block, the transactions (fields, signing key, signed encoding), the receipts (fields and encoding), every state write of the block in key order (value null: a deletion), and the header (fields, encoding, hash; state_root is the post-state root). Block n executes on block n-1's post-state; block 1's parent is the genesis header. Wasm of `store_wat` is `store_code` (wat2wasm of the text).",
        "chain_id": genesis.chain_id,
        "store_wat": STORE_WAT,
        "store_code": h(store_code()),
        "pre_state": state_json(&pre_state),
        "pre_state_root": h(pre_root),
        "parent_hash": h(parent_hash),
        "blocks": blocks,
    })
}

/// The chain of the block vectors with every planned block committed.
fn committed_chain() -> Chain<MemoryStore> {
    let mut chain = Chain::init(MemoryStore::in_memory(), executor(), genesis()).unwrap();
    for (timestamp, beneficiary, txs) in plan() {
        let signed: Vec<SignedTransaction> =
            txs.iter().map(|p| p.tx.clone().sign(&key(p.key))).collect();
        let executed = chain
            .execute_block(
                timestamp,
                beneficiary,
                signed,
                InvalidTxPolicy::Reject,
                false,
            )
            .unwrap();
        chain.commit(executed).unwrap();
    }
    chain
}

fn generate_bundle() -> Value {
    let chain = committed_chain();
    let bundle = export_bundle(chain.state(), chain.executor(), 2).unwrap();
    let entries = |list: &[(Vec<u8>, Option<Vec<u8>>)]| {
        list.iter()
            .map(|(k, v)| state_entry(k, v.as_deref()))
            .collect::<Vec<_>>()
    };
    json!({
        "description": "The replay bundle (specs/replay.md) of block 2 of blocks.json: its SCALE bytes, and its parts: the pre-state (every key block 2 read or wrote, value at block 1, null if absent), the pre-state witness against block 1's state root, the post-state (every key block 2 wrote, null: deleted), and the post-state witness against block 2's state root. It verifies; its pre-state witness gives block 2's state root by root_after (a deletion of slot 'x' included). `records`: the chain's aux records (specs/chain.md, Storage of the chain) after block 2: key and value of the head, the genesis, block 2, its receipts and the tx index record of each of its transactions.",
        "block": 2,
        "bundle": h(bundle.to_bytes()),
        "chain_id": bundle.chain_id,
        "parent_hash": h(bundle.parent.hash()),
        "block_hash": h(bundle.block.header.hash()),
        "pre_state": entries(&bundle.pre_state),
        "pre_witness": h(&bundle.pre_witness),
        "post_state": entries(&bundle.post_state),
        "post_witness": h(&bundle.post_witness),
        "records": chain_records(&chain),
    })
}

/// The chain's records (aux keys and values, `specs/chain.md` "Storage of
/// the chain") after the two blocks: head, genesis, block 2, its receipts,
/// and the tx index record of each of its transactions.
fn chain_records(chain: &Chain<MemoryStore>) -> Vec<Value> {
    let block = chain.block(2).unwrap().unwrap();
    let mut keys = vec![
        crate::schema::AUX_HEAD.to_vec(),
        crate::schema::AUX_GENESIS.to_vec(),
        crate::schema::block_key(2),
        crate::schema::receipts_key(2),
    ];
    keys.extend(
        block
            .transactions
            .iter()
            .map(|tx| crate::schema::tx_key(&tx.hash())),
    );
    keys.iter()
        .map(|key| json!({"key": h(key), "value": h(chain.state().get_aux(key).unwrap().unwrap())}))
        .collect()
}

/// Recomputes every record of `bundle.json` from blocks.json and genesis.json.
fn check_records(records: &Value, blocks: &Value, genesis: &Value) {
    let block = &blocks["blocks"][1];
    let receipts: Vec<Vec<u8>> = block["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| unhex(&r["encoding"]))
        .collect();
    let mut receipts_value =
        parity_scale_codec::Compact(u32::try_from(receipts.len()).unwrap()).encode();
    receipts_value.extend(receipts.concat());
    let mut expected = vec![
        (b"chain/head".to_vec(), 2u64.to_be_bytes().to_vec()),
        (
            b"chain/genesis".to_vec(),
            unhex(&genesis["genesis_encoding"]),
        ),
        (
            [&b"chain/block/"[..], &2u64.to_be_bytes()].concat(),
            unhex(&block["block_encoding"]),
        ),
        (
            [&b"chain/receipts/"[..], &2u64.to_be_bytes()].concat(),
            receipts_value,
        ),
    ];
    for (index, tx) in block["transactions"].as_array().unwrap().iter().enumerate() {
        expected.push((
            [&b"chain/tx/"[..], &unhex(&tx["hash"])].concat(),
            (2u64, u32::try_from(index).unwrap()).encode(),
        ));
    }
    let listed: Vec<(Vec<u8>, Vec<u8>)> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (unhex(&r["key"]), unhex(&r["value"])))
        .collect();
    assert_eq!(listed, expected);
}

fn check_bundle(blocks: &Value) {
    let file = regenerate_or_read(&bundle_path(), generate_bundle);
    let genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(genesis_path()).unwrap()).unwrap();
    check_records(&file["records"], blocks, &genesis);
    let bundle = ReplayBundle::from_bytes(&unhex(&file["bundle"])).unwrap();
    let verified = verify_bundle(&bundle, &executor()).unwrap();
    assert_eq!(verified.block, 2);
    // The parts listed beside the bytes are the bundle's.
    let listed = |name: &str| -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        file[name]
            .as_array()
            .unwrap()
            .iter()
            .map(check_state_entry)
            .collect()
    };
    assert_eq!(bundle.pre_state, listed("pre_state"));
    assert_eq!(bundle.post_state, listed("post_state"));
    assert_eq!(
        h(&bundle.pre_witness),
        file["pre_witness"].as_str().unwrap()
    );
    assert_eq!(
        h(&bundle.post_witness),
        file["post_witness"].as_str().unwrap()
    );
    // The block and its parent are those of blocks.json.
    let block = &blocks["blocks"][1];
    assert_eq!(
        h(bundle.block.encode()),
        block["block_encoding"].as_str().unwrap()
    );
    assert_eq!(
        h(bundle.parent.encode()),
        blocks["blocks"][0]["header_encoding"].as_str().unwrap()
    );
    assert_eq!(
        h(bundle.parent.hash()),
        file["parent_hash"].as_str().unwrap()
    );
    // The post-state root follows forward from the pre-state witness,
    // deletions included (export opens the siblings they collapse onto).
    let writes: StateChanges = bundle.post_state.iter().cloned().collect();
    assert!(
        writes.values().any(Option::is_none),
        "the vector deletes a key"
    );
    let witness = cairn_state::Witness::from_bytes(&bundle.pre_witness).unwrap();
    let root = witness
        .root_after(&cairn_state::StateRoot(bundle.parent.state_root.0), &writes)
        .unwrap();
    assert_eq!(h(root.0), block["header"]["state_root"].as_str().unwrap());
    assert_eq!(file, generate_bundle(), "vectors differ from the code");
}

fn regenerate_or_read(path: &str, generate: impl Fn() -> Value) -> Value {
    if std::env::var_os("CAIRN_REGENERATE_VECTORS").is_some() {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&generate()).unwrap() + "\n",
        )
        .unwrap();
    }
    serde_json::from_str(&std::fs::read_to_string(path).expect("vectors file")).unwrap()
}

fn root_of(entries: &[Value]) -> (MemoryStore, H256) {
    let changes: StateChanges = entries.iter().map(check_state_entry).collect();
    assert!(
        changes.values().all(Option::is_some),
        "a pre-state holds values"
    );
    let present: Vec<(Vec<u8>, Vec<u8>)> = changes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().unwrap()))
        .collect();
    let mut store = MemoryStore::in_memory();
    let root = store.commit(0, &changes, &AuxWrites::new()).unwrap();
    assert_eq!(
        root,
        reference_root(present.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
    );
    (store, H256(root.0))
}

/// Checks genesis.json against blocks.json (read by [`check_blocks`]).
fn check_genesis(blocks: &Value) {
    let file = regenerate_or_read(&genesis_path(), || {
        let first = header_from_fields(&blocks["blocks"][0]["header"]);
        generate_genesis(first.parent_hash)
    });
    // The genesis file resolves to the stored encoding.
    let genesis = Genesis::from_json(file["file"].to_string().as_bytes(), Path::new(".")).unwrap();
    assert_eq!(
        h(genesis.encode()),
        file["genesis_encoding"].as_str().unwrap()
    );
    assert_eq!(
        decode_exact::<Genesis>(&unhex(&file["genesis_encoding"])).unwrap(),
        genesis
    );
    // Applying it to an empty state gives exactly the listed writes.
    let listed: StateChanges = file["state"]
        .as_array()
        .unwrap()
        .iter()
        .map(check_state_entry)
        .collect();
    assert_eq!(genesis_state(&genesis), listed);
    let (_, root) = root_of(file["state"].as_array().unwrap());
    assert_eq!(h(root), file["state_root"].as_str().unwrap());
    // The header, built field by field as chain.md says.
    let header = BlockHeader {
        parent_hash: H256::zero(),
        number: 0,
        timestamp: genesis.timestamp,
        beneficiary: Address::zero(),
        gas_limit: genesis.block_gas_limit,
        gas_used: 0,
        tx_root: H256::zero(),
        receipts_root: H256::zero(),
        state_root: root,
        schedule_hash: executor().config().schedule.hash(),
        host_api_version: cairn_host_api::HOST_API_VERSION,
    };
    assert_eq!(header, header_from_fields(&file["header"]));
    assert_eq!(
        h(header.encode()),
        file["header_encoding"].as_str().unwrap()
    );
    assert_eq!(h(header.hash()), file["hash"].as_str().unwrap());
    assert_eq!(file["block_1_parent_hash"], file["hash"]);
    assert_eq!(
        header_from_fields(&blocks["blocks"][0]["header"]).parent_hash,
        header.hash()
    );
    assert_eq!(blocks["pre_state"], file["state"]);
    assert_eq!(
        file,
        generate_genesis(header.hash()),
        "vectors differ from the code; a consensus change?"
    );
}

#[test]
fn genesis_and_block_vectors_hold() {
    let blocks = regenerate_or_read(&blocks_path(), generate_blocks);
    check_blocks(&blocks);
    check_genesis(&blocks);
    check_bundle(&blocks);
}

fn check_blocks(file: &Value) {
    let executor = executor();
    assert_eq!(h(store_code()), file["store_code"].as_str().unwrap());
    let (mut store, root) = root_of(file["pre_state"].as_array().unwrap());
    assert_eq!(h(root), file["pre_state_root"].as_str().unwrap());
    let chain_id = file["chain_id"].as_u64().unwrap();
    let mut parent_hash = H256::from_slice(&unhex(&file["parent_hash"]));
    for (i, block) in file["blocks"].as_array().unwrap().iter().enumerate() {
        let stated = header_from_fields(&block["header"]);
        let mut txs = Vec::new();
        for t in block["transactions"].as_array().unwrap() {
            let key = SigningKey::from_bytes(unhex(&t["private_key"]).try_into().unwrap()).unwrap();
            let signed = tx_from_fields(&t["fields"]).sign(&key);
            assert_eq!(h(signed.encode()), t["signed_encoding"].as_str().unwrap());
            assert_eq!(h(signed.hash()), t["hash"].as_str().unwrap());
            assert_eq!(h(key.address()), t["sender"].as_str().unwrap());
            txs.push(Envelope::from(signed));
        }
        let env = BlockEnv {
            number: stated.number,
            timestamp: stated.timestamp,
            beneficiary: stated.beneficiary,
            gas_limit: stated.gas_limit,
            chain_id,
        };
        let mut state = BlockState::new(&store, false);
        let outcome = execute_transactions(
            &executor,
            &mut state,
            &env,
            txs.clone(),
            InvalidTxPolicy::Reject,
        )
        .unwrap();
        let (changes, _) = state.finish();
        let receipts = block["receipts"].as_array().unwrap();
        assert_eq!(outcome.receipts.len(), receipts.len());
        for (j, (got, want)) in outcome.receipts.iter().zip(receipts).enumerate() {
            assert_eq!(receipt_fields(got), want["fields"], "block {i} receipt {j}");
            assert_eq!(h(got.encode()), want["encoding"].as_str().unwrap());
        }
        let writes: StateChanges = block["writes"]
            .as_array()
            .unwrap()
            .iter()
            .map(check_state_entry)
            .collect();
        assert_eq!(changes, writes, "block {i} writes");
        let root = store
            .commit(stated.number, &changes, &AuxWrites::new())
            .unwrap();
        let header = BlockHeader {
            parent_hash,
            number: stated.number,
            timestamp: stated.timestamp,
            beneficiary: stated.beneficiary,
            gas_limit: stated.gas_limit,
            gas_used: outcome.gas_used,
            tx_root: merkle_root(txs.iter().map(Encode::encode)),
            receipts_root: receipts_root(&outcome.receipts),
            state_root: H256(root.0),
            schedule_hash: executor.config().schedule.hash(),
            host_api_version: cairn_host_api::HOST_API_VERSION,
        };
        assert_eq!(header, stated, "block {i} header");
        assert_eq!(
            h(header.encode()),
            block["header_encoding"].as_str().unwrap()
        );
        assert_eq!(h(header.hash()), block["hash"].as_str().unwrap());
        let whole = crate::block::Block {
            header: header.clone(),
            transactions: txs,
        };
        assert_eq!(h(whole.encode()), block["block_encoding"].as_str().unwrap());
        parent_hash = header.hash();
    }
    assert_eq!(
        *file,
        generate_blocks(),
        "vectors differ from the code; a consensus change?"
    );
}
