//! The chain's read handle under concurrent commits: snapshots pinned to a
//! block keep answering for that block while the writer commits more, on
//! the in-memory store and on RocksDB.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use cairn_chain::{Chain, ChainReader, Genesis, GenesisAccount, SigningKey, Transaction, TxAction};
use cairn_engine::runtime::{ExecConfig, Executor};
use cairn_host_api::world::{Address, U256};
use cairn_state::{MemoryStore, RocksStore, StateDb, StateView, StoreOptions, verify};

const AMOUNT: u64 = 1_000;
const BLOCKS: u64 = 40;

fn recipient() -> Address {
    Address::repeat_byte(0x77)
}

fn genesis(key: &SigningKey) -> Genesis {
    Genesis {
        chain_id: 5,
        block_gas_limit: 1_000_000_000,
        timestamp: 0,
        accounts: vec![GenesisAccount {
            address: key.address(),
            balance: U256::from(u64::MAX),
        }],
        contracts: vec![],
        validators: Vec::new(),
    }
}

/// Block n pays the recipient `AMOUNT` once, so at block n its balance is
/// n x AMOUNT: every snapshot can check it sees exactly its block's state.
fn check_snapshot<V: StateView + Clone>(reader: &ChainReader<V>) -> u64 {
    let snapshot = reader.at_head();
    let number = snapshot.number();
    let account = snapshot.account(&recipient()).expect("account read");
    assert_eq!(
        account.balance,
        U256::from(number * AMOUNT),
        "block {number}"
    );
    let block = snapshot.block(number).expect("block read").expect("block");
    assert_eq!(block.header.hash(), snapshot.header().hash());
    assert!(snapshot.block(number + 1).expect("read").is_none());
    let key = cairn_chain::world::account_key(&recipient());
    let (value, proof) = snapshot.prove(&key).expect("proof");
    verify(&snapshot.state_root(), &key, value.as_deref(), &proof).expect("proof verifies");
    number
}

fn run_concurrently<S: StateDb + Send + 'static>(state: S) {
    let key = SigningKey::from_seed(b"payer");
    let mut chain =
        Chain::init(state, Executor::new(ExecConfig::default()), genesis(&key)).unwrap();
    let reader = chain.reader();
    let pinned = reader.at_head();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(3));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let reader = reader.clone();
            let stop = Arc::clone(&stop);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    seen.push(check_snapshot(&reader));
                }
                seen.push(check_snapshot(&reader));
                seen
            })
        })
        .collect();
    start.wait();
    for nonce in 0..BLOCKS {
        let tx = Transaction {
            chain_id: 5,
            nonce,
            gas_limit: 21_000,
            gas_price: 0,
            value: U256::from(AMOUNT),
            action: TxAction::Call {
                to: recipient(),
                data: vec![],
            },
        }
        .sign(&key);
        let (_, receipts, rejected) = chain
            .produce_block(nonce + 1, Address::zero(), vec![tx])
            .unwrap();
        assert!(rejected.is_empty() && receipts[0].is_success());
    }
    stop.store(true, Ordering::Relaxed);
    for handle in readers {
        let seen = handle.join().expect("reader thread");
        // Heads only move forward, and the last look sees the last block.
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen.last(), Some(&BLOCKS));
    }
    // A snapshot taken at genesis still reads genesis after 40 commits.
    assert_eq!(pinned.number(), 0);
    assert_eq!(pinned.account(&recipient()).unwrap().balance, U256::zero());
    let at_10 = reader.at(10).unwrap().expect("block 10 is committed");
    assert_eq!(
        at_10.account(&recipient()).unwrap().balance,
        U256::from(10 * AMOUNT)
    );
    assert!(reader.at(BLOCKS + 1).unwrap().is_none());
}

#[test]
fn readers_see_whole_committed_blocks_while_the_writer_commits_in_memory() {
    run_concurrently(MemoryStore::in_memory());
}

#[test]
fn readers_see_whole_committed_blocks_while_the_writer_commits_on_rocksdb() {
    let dir = tempfile::tempdir().unwrap();
    run_concurrently(RocksStore::open(dir.path(), StoreOptions::default()).unwrap());
}

#[test]
fn a_pruned_version_fails_reads_instead_of_answering_wrongly() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        retention: cairn_state::Retention::KeepLast(2),
    };
    let key = SigningKey::from_seed(b"payer");
    let mut chain = Chain::init(
        RocksStore::open(dir.path(), options).unwrap(),
        Executor::new(ExecConfig::default()),
        genesis(&key),
    )
    .unwrap();
    let reader = chain.reader();
    let old = reader.at_head();
    for nonce in 0..4 {
        let tx = Transaction {
            chain_id: 5,
            nonce,
            gas_limit: 21_000,
            gas_price: 0,
            value: U256::from(AMOUNT),
            action: TxAction::Call {
                to: recipient(),
                data: vec![],
            },
        }
        .sign(&key);
        chain
            .produce_block(nonce + 1, Address::zero(), vec![tx])
            .unwrap();
    }
    let error = old.account(&recipient()).unwrap_err();
    assert!(error.is_node_failure(), "{error}");
    assert!(error.to_string().contains("not available"), "{error}");
    // The head is still readable.
    assert_eq!(
        reader.at_head().account(&recipient()).unwrap().balance,
        U256::from(4 * AMOUNT)
    );
}
