//! The chain on RocksDB: replay catches tampering with stored blocks and
//! receipts and names the divergence; a reopened chain continues where it
//! stopped. (The chain conformance vectors are checked by
//! `chain/src/vectors.rs`; the CLI and its crash tests by
//! `cli/tests/cli/chain.rs`, which needs the built binary.)

use cairn_benches::workload::TransferWorkload;
use cairn_chain::Chain;
use cairn_chain::replay::{ReplayOptions, replay};
use cairn_chain::schema::{block_key, receipts_key};
use cairn_engine::runtime::{ExecConfig, Executor};
use cairn_host_api::world::Address;
use cairn_state::{Backend, Column, MemoryStore, RocksStore, StoreOptions, WriteBatch};
use parity_scale_codec::Encode;

fn executor() -> Executor {
    Executor::new(ExecConfig::default())
}

fn build_chain(dir: &std::path::Path, blocks: u64, txs: usize) -> Chain<RocksStore> {
    let mut workload = TransferWorkload::new(8);
    let store = RocksStore::open(dir, StoreOptions::default()).unwrap();
    let mut chain = Chain::init(store, executor(), workload.genesis()).unwrap();
    for _ in 0..blocks {
        let ts = chain.head().timestamp + 1;
        let (_, _, rejected) = chain
            .produce_block(ts, Address::repeat_byte(7), workload.next_transactions(txs))
            .unwrap();
        assert!(rejected.is_empty());
    }
    chain
}

fn poke(chain: &Chain<RocksStore>, key: Vec<u8>, value: Vec<u8>) {
    let mut batch = WriteBatch::default();
    batch.put(Column::Aux, key, value);
    chain.state().backend().write(batch).unwrap();
}

#[test]
fn replay_on_rocksdb_verifies_and_reopened_chain_continues() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = build_chain(tmp.path(), 3, 12);
    let root = chain.head().state_root;
    drop(chain);
    let store = RocksStore::open(tmp.path(), StoreOptions::default()).unwrap();
    let chain = Chain::open(store, executor()).unwrap();
    assert_eq!((chain.head().number, chain.head().state_root), (3, root));
    let report = replay(
        chain.state(),
        MemoryStore::in_memory(),
        &ReplayOptions::default(),
        |_, _| {},
    )
    .unwrap();
    assert!(report.verified(), "{:?}", report.divergence);
    assert_eq!(report.state_root, hex::encode(root));
    // A range replay checks only the requested blocks but re-executes from genesis.
    let partial = replay(
        chain.state(),
        MemoryStore::in_memory(),
        &ReplayOptions {
            from: 2,
            to: Some(2),
            ..ReplayOptions::default()
        },
        |_, _| {},
    )
    .unwrap();
    assert!(partial.verified());
    assert_eq!((partial.blocks, partial.txs), (1, 12));
    assert!(
        replay(
            chain.state(),
            MemoryStore::in_memory(),
            &ReplayOptions {
                from: 1,
                to: Some(9),
                ..ReplayOptions::default()
            },
            |_, _| {}
        )
        .is_err()
    );
}

#[test]
fn replay_on_rocksdb_names_a_tampered_receipt_and_block() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = build_chain(tmp.path(), 3, 10);
    // A receipt whose logs were dropped.
    let mut receipts = chain.receipts(2).unwrap().unwrap();
    receipts[3].logs.clear();
    poke(&chain, receipts_key(2), receipts.encode());
    let report = replay(
        chain.state(),
        MemoryStore::in_memory(),
        &ReplayOptions::default(),
        |_, _| {},
    )
    .unwrap();
    let d = report.divergence.expect("caught");
    assert_eq!(
        (d.block, d.tx_index, d.field.as_str()),
        (2, Some(3), "logs"),
        "{d}"
    );
    assert!(d.to_string().contains("block 2, tx 3: logs"), "{d}");

    // A block whose beneficiary was changed: fees go elsewhere, the state root differs.
    let tmp = tempfile::tempdir().unwrap();
    let chain = build_chain(tmp.path(), 3, 10);
    let mut block = chain.block(3).unwrap().unwrap();
    block.header.beneficiary = Address::repeat_byte(0x99);
    poke(&chain, block_key(3), block.encode());
    let report = replay(
        chain.state(),
        MemoryStore::in_memory(),
        &ReplayOptions::default(),
        |_, _| {},
    )
    .unwrap();
    let d = report.divergence.expect("caught");
    assert_eq!((d.block, d.field.as_str()), (3, "state_root"), "{d}");
    let key = d
        .first_differing_key
        .expect("the state root divergence names a key");
    // The first differing key is an account record (prefix 0x01).
    assert!(key.starts_with("01"), "{key}");

    // A block with a dropped transaction.
    let tmp = tempfile::tempdir().unwrap();
    let chain = build_chain(tmp.path(), 2, 10);
    let mut block = chain.block(2).unwrap().unwrap();
    block.transactions.pop();
    poke(&chain, block_key(2), block.encode());
    let report = replay(
        chain.state(),
        MemoryStore::in_memory(),
        &ReplayOptions::default(),
        |_, _| {},
    )
    .unwrap();
    let d = report.divergence.expect("caught");
    assert_eq!(d.block, 2, "{d}");
    assert_eq!(d.field, "receipt_count", "{d}");
}
