//! Block execution, admission, fees, replay and bundles on the in-memory
//! store with the real token contract (the shared transfer workload).

use cairn_host_api::abi::encode_call;
use cairn_host_api::world::{Address, U256};
use cairn_state::{Column, MemoryStore};
use parity_scale_codec::{Decode, Encode};

use cairn_benches::workload::{TOKEN_WASM, TransferWorkload, WORKLOAD_CHAIN_ID};
use cairn_chain::admission::AdmissionError;
use cairn_chain::replay::{ReplayOptions, replay};
use cairn_chain::schema::{block_key, receipts_key};
use cairn_chain::tx::{SignedTransaction, Transaction, TxAction};
use cairn_chain::{Block, Chain, InvalidBlock, SigningKey, contract_address};
use cairn_engine::runtime::{ExecConfig, ExecStatus, Executor, Message, MessageKind};

fn executor() -> Executor {
    Executor::new(ExecConfig::default())
}

fn new_chain(workload: &TransferWorkload) -> Chain<MemoryStore> {
    Chain::init(MemoryStore::in_memory(), executor(), workload.genesis()).expect("genesis")
}

fn token_balance(chain: &Chain<MemoryStore>, token: Address, owner: Address) -> U256 {
    let message = Message {
        origin: owner,
        caller: owner,
        target: token,
        value: U256::zero(),
        input: encode_call("balance_of", &owner),
        gas_limit: 10_000_000,
        kind: MessageKind::Call,
    };
    match chain.query(&message).unwrap().status {
        ExecStatus::Success { return_data } => U256::decode(&mut &return_data[..]).unwrap(),
        other => panic!("balance_of failed: {other:?}"),
    }
}

fn produce(
    chain: &mut Chain<MemoryStore>,
    workload: &mut TransferWorkload,
    blocks: u64,
    txs: usize,
) {
    for _ in 0..blocks {
        let timestamp = chain.head().timestamp + 1;
        let (_, receipts, rejected) = chain
            .produce_block(
                timestamp,
                Address::repeat_byte(0xbe),
                workload.next_transactions(txs),
            )
            .unwrap();
        assert!(rejected.is_empty(), "{rejected:?}");
        assert!(receipts.iter().all(|r| r.is_success()), "{receipts:?}");
    }
}

#[test]
fn blocks_of_token_and_native_transfers_execute_and_commit() {
    let mut workload = TransferWorkload::new(8);
    let mut chain = new_chain(&workload);
    let token = workload.token();
    let holder = workload.addresses()[0];
    let supply = token_balance(&chain, token, holder);
    assert!(!supply.is_zero());
    produce(&mut chain, &mut workload, 3, 20);
    assert_eq!(chain.head().number, 3);
    let block = chain.block(2).unwrap().unwrap();
    assert_eq!(block.transactions.len(), 20);
    let receipts = chain.receipts(2).unwrap().unwrap();
    assert_eq!(
        receipts.last().unwrap().cumulative_gas_used,
        block.header.gas_used
    );
    // The tx index points at the block and position.
    assert_eq!(
        chain.tx_location(&block.transactions[5].hash()).unwrap(),
        Some((2, 5))
    );
    // Tokens are conserved.
    let total: U256 = workload
        .addresses()
        .iter()
        .map(|a| token_balance(&chain, token, *a))
        .fold(U256::zero(), |x, y| x + y);
    assert_eq!(total, supply);
    // The beneficiary received exactly the fees (gas price 1).
    let fees: u64 = (1..=3)
        .map(|n| chain.block(n).unwrap().unwrap().header.gas_used)
        .sum();
    assert_eq!(
        chain.account(&Address::repeat_byte(0xbe)).unwrap().balance,
        U256::from(fees)
    );
}

#[test]
fn two_executions_of_the_same_blocks_are_byte_identical() {
    let mut workload = TransferWorkload::new(6);
    let mut producer = new_chain(&workload);
    produce(&mut producer, &mut workload, 3, 15);
    let mut importer = new_chain(&workload);
    for n in 1..=3 {
        let block = producer.block(n).unwrap().unwrap();
        let receipts = importer.import_block(block).unwrap();
        assert_eq!(
            receipts.encode(),
            producer.receipts(n).unwrap().unwrap().encode()
        );
    }
    assert_eq!(importer.head().encode(), producer.head().encode());
}

#[test]
fn replay_verifies_an_honest_chain() {
    let mut workload = TransferWorkload::new(5);
    let mut chain = new_chain(&workload);
    produce(&mut chain, &mut workload, 4, 10);
    let mut seen = Vec::new();
    let report = replay(
        chain.state(),
        MemoryStore::in_memory(),
        &ReplayOptions {
            from: 1,
            ..ReplayOptions::default()
        },
        |n, txs| seen.push((n, txs)),
    )
    .unwrap();
    assert!(report.verified(), "{:?}", report.divergence);
    assert_eq!((report.blocks, report.txs), (4, 40));
    assert_eq!(report.state_root, hex::encode(chain.head().state_root));
    assert_eq!(seen.len(), 4);
}

#[test]
fn replay_names_a_tampered_receipt() {
    let mut workload = TransferWorkload::new(5);
    let mut chain = new_chain(&workload);
    produce(&mut chain, &mut workload, 3, 10);
    let mut receipts = chain.receipts(2).unwrap().unwrap();
    receipts[4].gas_used += 1;
    chain
        .state()
        .backend()
        .poke(Column::Aux, &receipts_key(2), Some(receipts.encode()));
    let report = replay(
        chain.state(),
        MemoryStore::in_memory(),
        &ReplayOptions {
            from: 1,
            ..ReplayOptions::default()
        },
        |_, _| {},
    )
    .unwrap();
    let divergence = report.divergence.expect("tampered receipt must be caught");
    assert_eq!(
        (
            divergence.block,
            divergence.tx_index,
            divergence.field.as_str()
        ),
        (2, Some(4), "gas_used")
    );
    assert_eq!(
        divergence.replayed.parse::<u64>().unwrap() + 1,
        divergence.stored.parse::<u64>().unwrap()
    );
}

#[test]
fn replay_names_a_tampered_block() {
    let mut workload = TransferWorkload::new(5);
    let mut chain = new_chain(&workload);
    produce(&mut chain, &mut workload, 3, 10);
    // Swap two transactions of block 3: the senders' signatures stay valid,
    // but the tx root no longer matches the header.
    let mut block = chain.block(3).unwrap().unwrap();
    block.transactions.swap(0, 1);
    chain
        .state()
        .backend()
        .poke(Column::Aux, &block_key(3), Some(block.encode()));
    let report = replay(
        chain.state(),
        MemoryStore::in_memory(),
        &ReplayOptions {
            from: 1,
            ..ReplayOptions::default()
        },
        |_, _| {},
    )
    .unwrap();
    let divergence = report.divergence.expect("tampered block must be caught");
    assert_eq!(divergence.block, 3);
    assert!(
        divergence.tx_index.is_some() || divergence.field == "tx_root",
        "{divergence}"
    );

    // A forged state root in a header is reported with the field.
    let mut workload = TransferWorkload::new(5);
    let mut chain = new_chain(&workload);
    produce(&mut chain, &mut workload, 2, 4);
    let mut block = chain.block(2).unwrap().unwrap();
    block.header.state_root.0[0] ^= 1;
    chain
        .state()
        .backend()
        .poke(Column::Aux, &block_key(2), Some(block.encode()));
    let report = replay(
        chain.state(),
        MemoryStore::in_memory(),
        &ReplayOptions {
            from: 1,
            ..ReplayOptions::default()
        },
        |_, _| {},
    )
    .unwrap();
    let divergence = report.divergence.unwrap();
    assert_eq!(
        (divergence.block, divergence.field.as_str()),
        (2, "state_root"),
        "{divergence}"
    );
}

fn send(
    key: &SigningKey,
    nonce: u64,
    gas_limit: u64,
    value: U256,
    action: TxAction,
) -> SignedTransaction {
    Transaction {
        chain_id: WORKLOAD_CHAIN_ID,
        nonce,
        gas_limit,
        gas_price: 1,
        value,
        action,
    }
    .sign(key)
}

#[test]
fn each_admission_failure_is_distinct_and_changes_nothing() {
    let workload = TransferWorkload::new(2);
    let mut chain = new_chain(&workload);
    let key = SigningKey::from_seed(b"cairn workload account 1");
    let to = Address::repeat_byte(9);
    let call = || TxAction::Call {
        to,
        data: Vec::new(),
    };
    let root_before = chain.head().state_root;
    let mut wrong_chain = send(&key, 0, 50_000, U256::one(), call());
    wrong_chain.tx.chain_id = 1;
    wrong_chain = wrong_chain.tx.clone().sign(&key);
    let mut bad_sig = send(&key, 0, 50_000, U256::one(), call());
    bad_sig.signature[64] = 7;
    let poor = SigningKey::from_seed(b"nobody");
    type Case = (SignedTransaction, fn(&AdmissionError) -> bool);
    let cases: Vec<Case> = vec![
        (bad_sig, |e| matches!(e, AdmissionError::BadSignature(_))),
        (wrong_chain, |e| {
            matches!(e, AdmissionError::WrongChainId { .. })
        }),
        (send(&key, 5, 50_000, U256::one(), call()), |e| {
            matches!(e, AdmissionError::NonceNotNext { .. })
        }),
        (send(&poor, 0, 50_000, U256::one(), call()), |e| {
            matches!(e, AdmissionError::InsufficientBalance { .. })
        }),
        (send(&key, 0, u64::MAX, U256::one(), call()), |e| {
            matches!(e, AdmissionError::GasLimitAboveBlock { .. })
        }),
        (
            send(
                &key,
                0,
                21_001,
                U256::one(),
                TxAction::Call {
                    to,
                    data: vec![0; 64],
                },
            ),
            |e| matches!(e, AdmissionError::IntrinsicGasAboveLimit { .. }),
        ),
        (
            send(
                &key,
                0,
                50_000_000,
                U256::one(),
                TxAction::Call {
                    to,
                    data: vec![0; 300_000],
                },
            ),
            |e| matches!(e, AdmissionError::Oversize { .. }),
        ),
    ];
    for (tx, expected) in cases {
        let (block, receipts, rejected) = chain
            .produce_block(chain.head().timestamp, Address::zero(), vec![tx])
            .unwrap();
        assert!(block.transactions.is_empty() && receipts.is_empty());
        assert_eq!(rejected.len(), 1);
        assert!(expected(&rejected[0].1), "unexpected {:?}", rejected[0].1);
        assert_eq!(
            block.header.state_root, root_before,
            "a rejected tx changed the state"
        );
        // An importer refuses a block that includes it.
        let mut bad = Block {
            header: block.header.clone(),
            transactions: vec![],
        };
        bad.header.number += 1;
        let error = chain.import_block(bad).unwrap_err();
        assert!(
            matches!(error.invalid_block(), Some(InvalidBlock::BadParent { .. })),
            "{error:?}"
        );
        assert!(!error.is_node_failure());
    }
}

#[test]
fn an_included_failure_charges_the_fee_bumps_the_nonce_and_reverts_the_rest() {
    let workload = TransferWorkload::new(2);
    let mut chain = new_chain(&workload);
    let token = workload.token();
    let key = SigningKey::from_seed(b"cairn workload account 1");
    let sender = key.address();
    let before = chain.account(&sender).unwrap();
    // Account 1 holds no tokens yet: the transfer reverts.
    let data = encode_call("transfer", &(Address::repeat_byte(3), U256::from(5u8)));
    let tx = send(
        &key,
        0,
        2_000_000,
        U256::from(7u8),
        TxAction::Call { to: token, data },
    );
    let (_, receipts, rejected) = chain
        .produce_block(
            chain.head().timestamp + 1,
            Address::repeat_byte(0xfe),
            vec![tx],
        )
        .unwrap();
    assert!(rejected.is_empty());
    let receipt = &receipts[0];
    assert!(
        matches!(receipt.status, ExecStatus::Revert { .. }),
        "{receipt:?}"
    );
    assert!(receipt.logs.is_empty());
    let after = chain.account(&sender).unwrap();
    assert_eq!(after.nonce, before.nonce + 1);
    // Fee charged, value (7) not moved.
    assert_eq!(before.balance - after.balance, U256::from(receipt.gas_used));
    assert_eq!(chain.account(&token).unwrap().balance, U256::zero());
    assert_eq!(
        token_balance(&chain, token, Address::repeat_byte(3)),
        U256::zero()
    );
}

#[test]
fn deploy_creates_a_contract_at_the_derived_address() {
    let workload = TransferWorkload::new(2);
    let mut chain = new_chain(&workload);
    let key = SigningKey::from_seed(b"cairn workload account 1");
    let input = ("T".to_string(), "T".to_string(), U256::from(1000u32)).encode();
    let tx = send(
        &key,
        0,
        50_000_000,
        U256::zero(),
        TxAction::Deploy {
            code: TOKEN_WASM.to_vec(),
            data: input,
        },
    );
    let (_, receipts, _) = chain
        .produce_block(chain.head().timestamp, Address::zero(), vec![tx])
        .unwrap();
    let created = contract_address(&key.address(), 0);
    assert_eq!(
        receipts[0].contract_address,
        Some(created),
        "{:?}",
        receipts[0]
    );
    assert_eq!(
        token_balance(&chain, created, key.address()),
        U256::from(1000u32)
    );
}

#[test]
fn bundles_verify_offline_and_catch_tampering() {
    use cairn_chain::bundle::{BundleError, ReplayBundle, export_bundle, verify_bundle};
    let mut workload = TransferWorkload::new(6);
    let mut chain = new_chain(&workload);
    produce(&mut chain, &mut workload, 3, 12);
    let bundle = export_bundle(chain.state(), chain.executor(), 2).unwrap();
    let bytes = bundle.to_bytes();
    // Verification needs only the bytes and an executor: no store.
    let decoded = ReplayBundle::from_bytes(&bytes).unwrap();
    let verified = verify_bundle(&decoded, &executor()).unwrap();
    assert_eq!((verified.block, verified.txs), (2, 12));
    assert!(verified.keys_read > 0 && verified.keys_written > 0);
    assert_eq!(
        verified.state_root,
        chain.block(2).unwrap().unwrap().header.state_root
    );

    let mut bad = bundle.clone();
    let slot = bad.pre_state.iter_mut().find(|(_, v)| v.is_some()).unwrap();
    slot.1.as_mut().unwrap().push(0);
    assert!(matches!(
        verify_bundle(&bad, &executor()),
        Err(BundleError::PreState(_))
    ));

    let mut bad = bundle.clone();
    bad.pre_state.remove(0);
    assert!(matches!(
        verify_bundle(&bad, &executor()),
        Err(BundleError::Execution(_))
    ));

    let mut bad = bundle.clone();
    bad.receipts[1].gas_used += 1;
    match verify_bundle(&bad, &executor()) {
        Err(BundleError::Divergence {
            tx_index: Some(1),
            field,
            ..
        }) => assert_eq!(field, "gas_used"),
        other => panic!("{other:?}"),
    }

    let mut bad = bundle.clone();
    bad.block.header.state_root.0[0] ^= 1;
    // The header is part of the parent link only through its own hash; a
    // forged state root differs from the recomputed one.
    match verify_bundle(&bad, &executor()) {
        Err(e @ BundleError::StateRoot { .. }) => {
            let message = e.to_string();
            assert!(message.contains("state_root"), "{message}");
            assert!(
                message.contains(&hex::encode(bundle.block.header.state_root.0)),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }

    // A dishonest block: its header's root holds one write more than the
    // block's transactions make (a key the block only read). Its written
    // keys are all in that post-state, so only the recomputed root catches it.
    let pre_witness = cairn_state::Witness::from_bytes(&bundle.pre_witness).unwrap();
    let written: cairn_state::StateChanges = bundle.post_state.iter().cloned().collect();
    let (read_only, _) = bundle
        .pre_state
        .iter()
        .find(|(k, v)| v.is_some() && !written.contains_key(k))
        .unwrap();
    let mut dishonest = written.clone();
    dishonest.insert(read_only.clone(), Some(b"stolen".to_vec()));
    let parent_root = cairn_state::StateRoot(bundle.parent.state_root.0);
    let forged = pre_witness.root_after(&parent_root, &dishonest).unwrap();
    assert_eq!(
        pre_witness.root_after(&parent_root, &written).unwrap().0,
        bundle.block.header.state_root.0
    );
    let mut bad = bundle.clone();
    bad.block.header.state_root.0 = forged.0;
    match verify_bundle(&bad, &executor()) {
        Err(BundleError::StateRoot {
            block,
            header,
            computed,
        }) => {
            assert_eq!(block, 2);
            assert_eq!(header, forged.to_hex());
            assert_eq!(computed, hex::encode(bundle.block.header.state_root.0));
        }
        other => panic!("{other:?}"),
    }

    let mut bad = bundle.clone();
    bad.post_state[0].1 = Some(b"forged".to_vec());
    assert!(matches!(
        verify_bundle(&bad, &executor()),
        Err(BundleError::PostState(_))
    ));
    let mut bad = bundle.clone();
    bad.post_state.push((b"extra".to_vec(), None));
    assert!(matches!(
        verify_bundle(&bad, &executor()),
        Err(BundleError::PostState(_))
    ));

    let mut bad = bundle;
    bad.parent.timestamp += 1;
    assert!(matches!(
        verify_bundle(&bad, &executor()),
        Err(BundleError::Parent(_))
    ));
    assert!(matches!(
        ReplayBundle::from_bytes(&bytes[..bytes.len() - 1]),
        Err(BundleError::Malformed(_))
    ));
}

mod garbage {
    use parity_scale_codec::Encode;
    use proptest::prelude::*;

    use cairn_chain::Block;
    use cairn_chain::bundle::ReplayBundle;
    use cairn_chain::codec::decode_exact;
    use cairn_chain::tx::{SignedTransaction, Transaction, TxAction};
    use cairn_host_api::world::{Address, U256};

    proptest! {
        #[test]
        fn random_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_exact::<SignedTransaction>(&bytes);
            let _ = decode_exact::<Block>(&bytes);
            let _ = ReplayBundle::from_bytes(&bytes);
        }

        #[test]
        fn signed_transactions_roundtrip_and_recover(
            chain_id in any::<u64>(), nonce in any::<u64>(), gas_limit in any::<u64>(), gas_price in any::<u64>(),
            value in any::<[u8; 32]>(), to in any::<[u8; 20]>(), data in proptest::collection::vec(any::<u8>(), 0..64),
            deploy in any::<bool>(), seed in any::<u64>(),
        ) {
            let action = if deploy { TxAction::Deploy { code: data.clone(), data } } else { TxAction::Call { to: Address::from(to), data } };
            let tx = Transaction { chain_id, nonce, gas_limit, gas_price, value: U256::from_little_endian(&value), action };
            let key = cairn_chain::SigningKey::from_seed(&seed.to_le_bytes());
            let signed = tx.sign(&key);
            let decoded: SignedTransaction = decode_exact(&signed.encode()).unwrap();
            prop_assert_eq!(decoded.recover_sender(), Ok(key.address()));
            prop_assert_eq!(decoded, signed);
        }
    }
}

/// `produce_blocks_pipelined` (block n+1 executes over block n's changes
/// while block n is written) gives exactly the blocks and receipts of
/// producing them one at a time, on the node store and the resident store.
#[test]
fn pipelined_production_equals_block_by_block_production() {
    fn blocks(
        workload: &mut TransferWorkload,
        start: u64,
    ) -> Vec<(u64, Address, Vec<cairn_chain::Envelope>)> {
        (1..=5u64)
            .map(|n| {
                let txs = workload.next_transactions(12);
                let txs = txs.into_iter().map(Into::into).collect();
                (start + n, Address::repeat_byte(0xbe), txs)
            })
            .collect()
    }
    fn pipelined<S: cairn_state::StateDb>(
        mut chain: Chain<S>,
        blocks: Vec<(u64, Address, Vec<cairn_chain::Envelope>)>,
    ) -> Vec<(Vec<u8>, Vec<u8>)>
    where
        S::Reader: cairn_state::StateRead,
    {
        let mut out = Vec::new();
        chain
            .produce_blocks_pipelined(blocks, |block, receipts, rejected| {
                assert!(rejected.is_empty(), "{rejected:?}");
                out.push((block.encode(), receipts.encode()));
            })
            .unwrap();
        for (n, (block, receipts)) in (1u64..).zip(&out) {
            assert_eq!(&chain.block(n).unwrap().unwrap().encode(), block);
            assert_eq!(&chain.receipts(n).unwrap().unwrap().encode(), receipts);
        }
        out
    }
    let mut workload = TransferWorkload::new(7);
    let mut sequential = new_chain(&workload);
    let input = blocks(&mut workload, sequential.head().timestamp);
    let mut expected = Vec::new();
    for (timestamp, beneficiary, txs) in input.clone() {
        let (block, receipts, rejected) = sequential
            .produce_block(timestamp, beneficiary, txs)
            .unwrap();
        assert!(rejected.is_empty());
        assert!(receipts.iter().all(|r| r.is_success()), "{receipts:?}");
        expected.push((block.encode(), receipts.encode()));
    }
    let workload = TransferWorkload::new(7);
    assert_eq!(pipelined(new_chain(&workload), input.clone()), expected);
    let dir = tempfile::tempdir().unwrap();
    let store = cairn_state::ResidentStore::open(dir.path(), Default::default()).unwrap();
    let resident = Chain::init(store, executor(), workload.genesis()).unwrap();
    assert_eq!(pipelined(resident, input), expected);
}
