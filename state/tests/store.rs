//! Integration tests of the state store: model-based property tests over
//! memory and RocksDB, proofs and tampering, root vectors, corruption, format
//! and lock errors, and a SIGKILL crash loop.

use cairn_state::{
    AuxWrites, Backend, Column, EMPTY_HASH, MemoryBackend, Proof, Retention, StateChanges,
    StateError, StateRoot, Store, StoreOptions, Witness, keccak256, reference_root, verify,
};
use parity_scale_codec::Encode;
use proptest::prelude::*;
use std::collections::BTreeMap;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn model_root(model: &Model) -> StateRoot {
    reference_root(model.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
}

/// Flips one bit of every byte of the encoded proof in turn (and some other
/// edits): every variant must fail to decode or to verify.
fn assert_tampering_fails(root: &StateRoot, key: &[u8], value: Option<&[u8]>, proof: &Proof) {
    let bytes = proof.encode();
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut tampered = bytes.clone();
            tampered[i] ^= flip;
            if let Ok(p) = Proof::from_bytes(&tampered) {
                assert!(
                    verify(root, key, value, &p).is_err(),
                    "tampered byte {i} (^{flip:#x}) still verifies"
                );
            }
        }
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(
        Proof::from_bytes(&longer).is_err(),
        "trailing byte accepted"
    );
    assert!(
        Proof::from_bytes(&bytes[..bytes.len() - 1]).is_err(),
        "truncated proof accepted"
    );
    // A tampered key or value fails too. (An exclusion proof may rightly
    // also prove another key absent, so only inclusion checks the key.)
    match value {
        Some(v) => {
            let mut other_key = key.to_vec();
            other_key.push(0);
            assert!(verify(root, &other_key, value, proof).is_err());
            let mut other = v.to_vec();
            other.push(1);
            assert!(verify(root, key, Some(&other), proof).is_err());
            assert!(verify(root, key, None, proof).is_err());
        }
        None => assert!(verify(root, key, Some(b""), proof).is_err()),
    }
}

fn assert_witness_tampering_fails(root: &StateRoot, witness: &Witness) {
    let bytes = witness.encode();
    for i in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        if let Ok(w) = Witness::from_bytes(&tampered) {
            assert!(
                w.check_root(root).is_err(),
                "tampered witness byte {i} still checks"
            );
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8, Vec<u8>),
    Delete(u8),
    Commit,
    Reopen,
    Prune(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..40, proptest::collection::vec(any::<u8>(), 0..24)).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0u8..40).prop_map(Op::Delete),
        3 => Just(Op::Commit),
        1 => Just(Op::Reopen),
        1 => (0u64..4).prop_map(Op::Prune),
    ]
}

fn retention() -> impl Strategy<Value = Retention> {
    prop_oneof![
        Just(Retention::Archive),
        (1u64..4).prop_map(Retention::KeepLast)
    ]
}

fn key_of(k: u8) -> Vec<u8> {
    // Some keys share long prefixes, some are empty-ish: shapes vary.
    if k.is_multiple_of(5) {
        vec![k; usize::from(k % 7)]
    } else {
        format!("key-{k}").into_bytes()
    }
}

/// Reopenable stores for the model test.
trait Harness {
    type B: Backend;
    fn open(&mut self, options: StoreOptions) -> Store<Self::B>;
}

struct MemoryHarness(MemoryBackend);
impl Harness for MemoryHarness {
    type B = MemoryBackend;
    fn open(&mut self, options: StoreOptions) -> Store<MemoryBackend> {
        Store::with_backend(self.0.clone(), options).expect("open memory store")
    }
}

#[cfg(feature = "rocksdb")]
struct RocksHarness(tempfile::TempDir);
#[cfg(feature = "rocksdb")]
impl Harness for RocksHarness {
    type B = cairn_state::RocksBackend;
    fn open(&mut self, options: StoreOptions) -> Store<Self::B> {
        let rocks = cairn_state::RocksOptions {
            block_cache_bytes: 1 << 20,
            write_buffer_bytes: 1 << 20,
            sync_writes: false,
        };
        cairn_state::RocksStore::open_with(self.0.path(), options, &rocks)
            .expect("open rocksdb store")
    }
}

/// Checks everything the store claims against the model at every retained version.
fn check_store<B: Backend>(store: &Store<B>, history: &BTreeMap<u64, Model>, deep: bool) {
    let Some(latest) = store.latest_version() else {
        assert_eq!(store.root(), StateRoot::EMPTY);
        return;
    };
    let oldest = store.oldest_version().expect("oldest when committed");
    for (version, model) in history {
        assert_eq!(
            store.root_at(*version).expect("root_at"),
            model_root(model),
            "root at {version}"
        );
        if *version < oldest {
            assert!(matches!(
                store.get_at(b"key-1", *version),
                Err(StateError::VersionUnavailable { .. })
            ));
            assert!(store.prove(b"key-1", *version).is_err());
            continue;
        }
        let root = model_root(model);
        for k in 0..40u8 {
            let key = key_of(k);
            let expected = model.get(&key);
            assert_eq!(
                store.get_at(&key, *version).expect("get_at").as_ref(),
                expected,
                "key {k} at {version}"
            );
            if *version == latest {
                assert_eq!(store.get(&key).expect("get").as_ref(), expected);
            }
            if deep || *version == latest {
                let (value, proof) = store.prove(&key, *version).expect("prove");
                assert_eq!(value.as_ref(), expected);
                verify(&root, &key, expected.map(Vec::as_slice), &proof).expect("proof verifies");
                if deep && k % 8 == 0 {
                    assert_tampering_fails(&root, &key, expected.map(Vec::as_slice), &proof);
                }
            }
        }
        let keys: Vec<Vec<u8>> = (0..40u8).step_by(3).map(key_of).collect();
        let witness = store.witness(&keys, *version).expect("witness");
        let claims: Vec<(&[u8], Option<&[u8]>)> = keys
            .iter()
            .map(|k| (k.as_slice(), model.get(k).map(Vec::as_slice)))
            .collect();
        witness.verify(&root, &claims).expect("witness verifies");
        if deep {
            assert_witness_tampering_fails(&root, &witness);
        }
    }
    assert!(store.get_at(b"key-1", latest + 1).is_err());
}

fn run_model<H: Harness>(harness: &mut H, retention: Retention, ops: &[Op]) {
    let options = StoreOptions { retention };
    let mut store = harness.open(options);
    let mut pending = StateChanges::new();
    let mut current = Model::new();
    let mut history: BTreeMap<u64, Model> = BTreeMap::new();
    let mut next_version = 1u64;
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Put(k, v) => {
                pending.insert(key_of(*k), Some(v.clone()));
            }
            Op::Delete(k) => {
                pending.insert(key_of(*k), None);
            }
            Op::Commit => {
                for (k, v) in &pending {
                    match v {
                        Some(v) => current.insert(k.clone(), v.clone()),
                        None => current.remove(k),
                    };
                }
                let mut aux = AuxWrites::new();
                aux.insert(
                    format!("block/{next_version}").into_bytes(),
                    Some(vec![1; 3]),
                );
                let root = store.commit(next_version, &pending, &aux).expect("commit");
                assert_eq!(
                    root,
                    model_root(&current),
                    "root after commit {next_version}"
                );
                history.insert(next_version, current.clone());
                pending.clear();
                next_version += 1;
                check_store(&store, &history, step % 4 == 0);
            }
            Op::Reopen => {
                drop(store);
                store = harness.open(options);
                pending.clear();
                check_store(&store, &history, false);
            }
            Op::Prune(back) => {
                if let Some(latest) = store.latest_version() {
                    store
                        .prune_to(latest.saturating_sub(*back).max(1))
                        .expect("prune");
                    check_store(&store, &history, false);
                }
            }
        }
    }
    for version in history.keys() {
        assert!(
            store
                .get_aux(format!("block/{version}").as_bytes())
                .expect("aux")
                .is_some()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(48)))]

    #[test]
    fn memory_store_matches_model(retention in retention(), ops in proptest::collection::vec(op(), 1..60)) {
        run_model(&mut MemoryHarness(MemoryBackend::new()), retention, &ops);
    }

    #[test]
    fn root_is_independent_of_order_and_batching(
        entries in proptest::collection::btree_map(proptest::collection::vec(any::<u8>(), 0..6), proptest::collection::vec(any::<u8>(), 0..6), 0..60),
        split in 0usize..60,
        noise in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..6), 0..10),
    ) {
        // One batch vs. two batches with transient keys written then deleted.
        let all: StateChanges = entries.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
        let mut one = cairn_state::MemoryStore::in_memory();
        let root_one = one.commit(0, &all, &AuxWrites::new()).unwrap();
        let mut two = cairn_state::MemoryStore::in_memory();
        let mut first: StateChanges = entries.iter().take(split).map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
        for n in &noise {
            first.entry(n.clone()).or_insert(Some(b"transient".to_vec()));
        }
        two.commit(0, &first, &AuxWrites::new()).unwrap();
        let mut second: StateChanges = entries.iter().skip(split).map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
        for n in &noise {
            if !entries.contains_key(n) {
                second.insert(n.clone(), None);
            }
        }
        let root_two = two.commit(1, &second, &AuxWrites::new()).unwrap();
        let reference = reference_root(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        prop_assert_eq!(root_one, reference);
        prop_assert_eq!(root_two, reference);
    }
}

#[cfg(feature = "rocksdb")]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(16)))]

    #[test]
    fn rocksdb_store_matches_model(retention in retention(), ops in proptest::collection::vec(op(), 1..50)) {
        run_model(&mut RocksHarness(tempfile::tempdir().unwrap()), retention, &ops);
    }
}

#[test]
fn stores_and_proofs_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store<MemoryBackend>>();
    assert_send_sync::<Store<Box<dyn Backend>>>();
    #[cfg(feature = "rocksdb")]
    assert_send_sync::<cairn_state::RocksStore>();
    assert_send_sync::<Proof>();
    assert_send_sync::<Witness>();
    assert_send_sync::<StateError>();
}

#[test]
fn empty_state_root_and_proofs() {
    let store = cairn_state::MemoryStore::in_memory();
    assert_eq!(store.root(), StateRoot(EMPTY_HASH));
    assert_eq!(model_root(&Model::new()), StateRoot::EMPTY);
    let mut store = store;
    store
        .commit(0, &StateChanges::new(), &AuxWrites::new())
        .unwrap();
    let (value, proof) = store.prove(b"nothing", 0).unwrap();
    assert_eq!(value, None);
    verify(&StateRoot::EMPTY, b"nothing", None, &proof).unwrap();
    assert!(verify(&StateRoot::EMPTY, b"nothing", Some(b""), &proof).is_err());
}

#[test]
fn versions_must_be_sequential() {
    let mut store = cairn_state::MemoryStore::in_memory();
    store
        .commit(5, &StateChanges::new(), &AuxWrites::new())
        .unwrap();
    let err = store
        .commit(7, &StateChanges::new(), &AuxWrites::new())
        .unwrap_err();
    assert!(
        matches!(
            err,
            StateError::NonSequentialVersion {
                expected: 6,
                got: 7
            }
        ),
        "{err}"
    );
    let prepared = store.prepare(6, &StateChanges::new()).unwrap();
    store
        .commit(6, &StateChanges::new(), &AuxWrites::new())
        .unwrap();
    assert!(
        store.commit_prepared(prepared, &AuxWrites::new()).is_err(),
        "stale prepared commit accepted"
    );
}

/// Builds a store of `n` keys and returns it with its root.
fn filled_memory_store(n: u32) -> (MemoryBackend, Store<MemoryBackend>) {
    let backend = MemoryBackend::new();
    let mut store = Store::with_backend(backend.clone(), StoreOptions::default()).unwrap();
    let changes: StateChanges = (0..n)
        .map(|i| (i.to_be_bytes().to_vec(), Some(vec![7; 5])))
        .collect();
    store.commit(1, &changes, &AuxWrites::new()).unwrap();
    (backend, store)
}

fn node_keys(backend: &MemoryBackend) -> Vec<Vec<u8>> {
    backend
        .scan(Column::Nodes, &[], &[0xff; 64], usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn missing_node_is_an_error_naming_node_and_version() {
    let (backend, _store) = filled_memory_store(300);
    let victims = node_keys(&backend);
    for victim in victims.iter().step_by(37) {
        let saved = backend.get(Column::Nodes, victim).unwrap();
        backend.poke(Column::Nodes, victim, None);
        // A freshly opened store: nothing cached, every node read from the backend.
        let store = Store::with_backend(backend.clone(), StoreOptions::default()).unwrap();
        let mut failures = 0;
        for i in 0..300u32 {
            match store.prove(&i.to_be_bytes(), 1) {
                Ok((_, proof)) => {
                    verify(&store.root(), &i.to_be_bytes(), Some(&[7; 5]), &proof).unwrap()
                }
                Err(StateError::MissingNode { node, version }) => {
                    assert_eq!(version, 1);
                    assert_eq!(node.to_bytes(), *victim);
                    let message = StateError::MissingNode { node, version }.to_string();
                    assert!(
                        message.contains("version 1") && message.contains("path"),
                        "{message}"
                    );
                    failures += 1;
                }
                Err(other) => panic!("unexpected error {other}"),
            }
        }
        assert!(failures > 0, "no proof needed the removed node");
        // A commit that needs the node fails too, rather than computing a wrong root.
        let mut fresh = Store::with_backend(backend.clone(), StoreOptions::default()).unwrap();
        let all: StateChanges = (0..300u32)
            .map(|i| (i.to_be_bytes().to_vec(), Some(vec![8])))
            .collect();
        assert!(matches!(
            fresh.commit(2, &all, &AuxWrites::new()),
            Err(StateError::MissingNode { .. })
        ));
        backend.poke(Column::Nodes, victim, saved);
    }
}

#[test]
fn corrupted_node_is_an_error_never_a_wrong_root() {
    let (backend, store) = filled_memory_store(300);
    let root = store.root();
    let all: StateChanges = (0..300u32)
        .map(|i| (i.to_be_bytes().to_vec(), Some(vec![9])))
        .collect();
    for victim in node_keys(&backend) {
        let saved = backend.get(Column::Nodes, &victim).unwrap().unwrap();
        for position in [0, saved.len() / 2, saved.len() - 1] {
            let mut bad = saved.clone();
            bad[position] ^= 0x10;
            backend.poke(Column::Nodes, &victim, Some(bad));
            let fresh = Store::with_backend(backend.clone(), StoreOptions::default()).unwrap();
            match fresh.prepare(2, &all) {
                Err(StateError::CorruptNode { node, version, .. }) => {
                    assert_eq!(node.to_bytes(), victim);
                    assert_eq!(version, 1);
                }
                // Flipped bits in a child's version point at a node that does not exist.
                Err(StateError::MissingNode { version, .. }) => assert_eq!(version, 1),
                Err(other) => panic!("unexpected error {other}"),
                // Flipping a child's version bits can point at a node that
                // does not exist: that is MissingNode, covered above. Any
                // successful prepare must still give the true root.
                Ok(prepared) => assert_eq!(
                    prepared.root(),
                    reference_root(
                        all.iter()
                            .map(|(k, v)| (k.as_slice(), v.as_deref().unwrap()))
                    )
                ),
            }
            for i in (0..300u32).step_by(17) {
                if let Ok((_, proof)) = fresh.prove(&i.to_be_bytes(), 1) {
                    verify(&root, &i.to_be_bytes(), Some(&[7; 5]), &proof).unwrap();
                }
            }
        }
        backend.poke(Column::Nodes, &victim, Some(saved));
    }
}

#[test]
fn incompatible_format_is_refused() {
    let backend = MemoryBackend::new();
    let mut store = Store::with_backend(backend.clone(), StoreOptions::default()).unwrap();
    store
        .commit(1, &StateChanges::new(), &AuxWrites::new())
        .unwrap();
    backend.poke(Column::Meta, b"format", Some(99u32.encode()));
    let err = Store::with_backend(backend.clone(), StoreOptions::default()).unwrap_err();
    assert!(
        matches!(err, StateError::IncompatibleFormat { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("format 99"), "{err}");
    backend.poke(Column::Meta, b"format", None);
    let err = Store::with_backend(backend, StoreOptions::default()).unwrap_err();
    assert!(
        matches!(err, StateError::IncompatibleFormat { .. }),
        "{err}"
    );
}

#[test]
fn witness_shares_nodes_and_rejects_uncovered_keys() {
    let (_backend, store) = filled_memory_store(2000);
    let root = store.root();
    let keys: Vec<Vec<u8>> = (0..64u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let witness = store.witness(&keys, 1).unwrap();
    let single_total: usize = keys
        .iter()
        .map(|k| store.prove(k, 1).unwrap().1.size())
        .sum();
    assert!(
        witness.size() < single_total,
        "witness {} >= sum of proofs {single_total}",
        witness.size()
    );
    let verified = witness.check_root(&root).unwrap();
    for key in &keys {
        assert_eq!(verified.lookup(key).unwrap(), Some(keccak256(&[7; 5])));
    }
    assert_eq!(
        verified.lookup(b"absent-but-maybe-covered").ok().flatten(),
        None
    );
    assert!(
        verified.lookup(&5000u32.to_be_bytes()).is_err()
            || verified.lookup(&5000u32.to_be_bytes()).unwrap().is_none()
    );
}

/// A vector: name, key/value entries, keys to prove.
type VectorCase = (&'static str, Vec<(Vec<u8>, Vec<u8>)>, Vec<Vec<u8>>);

fn vector_cases() -> Vec<VectorCase> {
    let numbered = |n: u32| -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..n)
            .map(|i| {
                (
                    format!("key-{i}").into_bytes(),
                    format!("value-{i}").into_bytes(),
                )
            })
            .collect()
    };
    vec![
        ("empty", vec![], vec![b"absent".to_vec()]),
        (
            "single",
            vec![(b"alice".to_vec(), b"100".to_vec())],
            vec![b"alice".to_vec(), b"bob".to_vec()],
        ),
        (
            "empty-key-and-value",
            vec![(vec![], vec![]), (vec![0], vec![0])],
            vec![vec![]],
        ),
        (
            "two",
            vec![
                (b"alice".to_vec(), b"100".to_vec()),
                (b"bob".to_vec(), b"7".to_vec()),
            ],
            vec![b"bob".to_vec()],
        ),
        (
            "sixteen",
            numbered(16),
            vec![b"key-3".to_vec(), b"key-99".to_vec()],
        ),
        (
            "three-hundred",
            numbered(300),
            vec![b"key-150".to_vec(), b"key-1000".to_vec()],
        ),
    ]
}

/// Regenerates `specs/vectors/state/roots.json` from the reference root when
/// `CAIRN_BLESS_VECTORS=1`; otherwise does nothing.
#[test]
fn bless_root_vectors() {
    if std::env::var("CAIRN_BLESS_VECTORS").as_deref() != Ok("1") {
        return;
    }
    let mut out = Vec::new();
    for (name, entries, proof_keys) in vector_cases() {
        let root = reference_root(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        let mut store = cairn_state::MemoryStore::in_memory();
        let changes: StateChanges = entries
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        store.commit(0, &changes, &AuxWrites::new()).unwrap();
        let proofs: Vec<serde_json::Value> = proof_keys
            .iter()
            .map(|k| {
                let (value, proof) = store.prove(k, 0).unwrap();
                serde_json::json!({
                    "key": hex::encode(k),
                    "value": value.map(hex::encode),
                    "proof": hex::encode(proof.encode()),
                })
            })
            .collect();
        out.push(serde_json::json!({
            "name": name,
            "entries": entries.iter().map(|(k, v)| [hex::encode(k), hex::encode(v)]).collect::<Vec<_>>(),
            "root": root.to_hex(),
            "proofs": proofs,
        }));
    }
    let doc = serde_json::json!({
        "description": "Cairn state roots (specs/state.md): key/value sets (hex), their root, and SCALE-encoded proofs (hex) of some keys against it; value null = exclusion proof",
        "format_version": cairn_state::FORMAT_VERSION,
        "cases": out,
    });
    std::fs::write(
        repo_path("specs/vectors/state/roots.json"),
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();
}

#[test]
fn root_vectors_match() {
    let text = std::fs::read_to_string(repo_path("specs/vectors/state/roots.json"))
        .expect("specs/vectors/state/roots.json");
    let vectors: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let entries: Vec<(Vec<u8>, Vec<u8>)> = case["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    hex::decode(e[0].as_str().unwrap()).unwrap(),
                    hex::decode(e[1].as_str().unwrap()).unwrap(),
                )
            })
            .collect();
        let expected = StateRoot::from_hex(case["root"].as_str().unwrap()).unwrap();
        let reference = reference_root(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        assert_eq!(reference, expected, "reference root of vector {name}");
        let mut store = cairn_state::MemoryStore::in_memory();
        let changes: StateChanges = entries
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        assert_eq!(
            store.commit(0, &changes, &AuxWrites::new()).unwrap(),
            expected,
            "trie root of vector {name}"
        );
        if let Some(proofs) = case["proofs"].as_array() {
            for p in proofs {
                let key = hex::decode(p["key"].as_str().unwrap()).unwrap();
                let (_, proof) = store.prove(&key, 0).unwrap();
                assert_eq!(
                    hex::encode(proof.encode()),
                    p["proof"].as_str().unwrap(),
                    "proof of {name}"
                );
            }
        }
    }
}

#[cfg(feature = "rocksdb")]
mod rocks {
    use super::*;
    use cairn_state::RocksStore;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    #[test]
    fn second_open_of_a_data_dir_fails_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let _first = RocksStore::open(dir.path(), StoreOptions::default()).unwrap();
        let err = RocksStore::open(dir.path(), StoreOptions::default()).unwrap_err();
        assert!(matches!(err, StateError::AlreadyOpen { .. }), "{err}");
        assert!(err.to_string().contains("already opened"), "{err}");
    }

    #[test]
    fn a_data_dir_held_by_another_process_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut holder = Command::new(std::env::current_exe().unwrap())
            .args([
                "rocks::crash_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CAIRN_STATE_CRASH_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait, without taking the lock, until the child has committed
        // (from then on it holds the lock until killed).
        let mut committed = false;
        for _ in 0..400 {
            std::thread::sleep(Duration::from_millis(25));
            if let Ok(reader) = RocksStore::open_read_only(dir.path())
                && reader.latest_version().is_some()
            {
                committed = true;
                break;
            }
        }
        assert!(committed, "the child never committed");
        let refused = RocksStore::open(dir.path(), CRASH_OPTIONS).err();
        let started = std::time::Instant::now();
        let again = RocksStore::open(dir.path(), CRASH_OPTIONS);
        let waited = started.elapsed();
        // Readers do not need the lock.
        let reader = RocksStore::open_read_only(dir.path()).unwrap();
        assert!(reader.latest_version().is_some());
        holder.kill().unwrap();
        holder.wait().unwrap();
        let refused = refused.expect("a second writer was let in");
        assert!(
            refused
                .to_string()
                .contains("already opened by another process"),
            "{refused}"
        );
        assert!(matches!(again, Err(StateError::AlreadyOpen { .. })));
        assert!(
            waited < Duration::from_secs(5),
            "open waited {waited:?} for the lock"
        );
    }

    #[test]
    fn incompatible_rocksdb_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = RocksStore::open(dir.path(), StoreOptions::default()).unwrap();
            let mut batch = cairn_state::WriteBatch::default();
            batch.put(Column::Meta, b"format".to_vec(), 2u32.encode());
            store.backend().write(batch).unwrap();
        }
        let err = RocksStore::open(dir.path(), StoreOptions::default()).unwrap_err();
        assert!(
            matches!(err, StateError::IncompatibleFormat { .. }),
            "{err}"
        );
    }

    /// The deterministic changes of `version` in the crash test.
    fn crash_changes(version: u64) -> StateChanges {
        (0..40u64)
            .map(|j| {
                let h = keccak256(&(version * 1000 + j).to_be_bytes());
                let key = format!("k{}", u16::from_be_bytes([h[0], h[1]]) % 400).into_bytes();
                let value = if h[2].is_multiple_of(7) {
                    None
                } else {
                    Some(h[3..3 + usize::from(h[4] % 20)].to_vec())
                };
                (key, value)
            })
            .collect()
    }

    const CRASH_OPTIONS: StoreOptions = StoreOptions {
        retention: Retention::KeepLast(4),
    };

    /// Child side of `sigkill_during_commits_never_loses_a_committed_version`:
    /// commits forever until killed.
    #[test]
    fn crash_child() {
        let Ok(dir) = std::env::var("CAIRN_STATE_CRASH_DIR") else {
            return;
        };
        let mut store = RocksStore::open(std::path::Path::new(&dir), CRASH_OPTIONS).unwrap();
        loop {
            let version = store.latest_version().map_or(1, |v| v + 1);
            let mut aux = AuxWrites::new();
            aux.insert(b"height".to_vec(), Some(version.to_be_bytes().to_vec()));
            store
                .commit(version, &crash_changes(version), &aux)
                .unwrap();
        }
    }

    #[test]
    fn sigkill_during_commits_never_loses_a_committed_version() {
        let kills: u32 = std::env::var("CAIRN_CRASH_KILLS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60);
        let dir = tempfile::tempdir().unwrap();
        let exe = std::env::current_exe().unwrap();
        let mut model = cairn_state::MemoryStore::in_memory();
        let mut last_seen = 0u64;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..kills {
            let mut child = Command::new(&exe)
                .args([
                    "rocks::crash_child",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("CAIRN_STATE_CRASH_DIR", dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            std::thread::sleep(Duration::from_millis(20 + seed % 150));
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let store = RocksStore::open(dir.path(), CRASH_OPTIONS).unwrap();
            let latest = store.latest_version().unwrap_or(0);
            assert!(
                latest >= last_seen,
                "round {round}: version went back from {last_seen} to {latest}"
            );
            while model.latest_version().unwrap_or(0) < latest {
                let version = model.latest_version().map_or(1, |v| v + 1);
                model
                    .commit(version, &crash_changes(version), &AuxWrites::new())
                    .unwrap();
            }
            if latest > 0 {
                assert_eq!(
                    store.root(),
                    model.root(),
                    "round {round}: root of version {latest}"
                );
                assert_eq!(store.root_at(latest).unwrap(), model.root());
                // Every retained older version reads as the model (archive) says.
                let oldest = store.oldest_version().unwrap();
                assert!(
                    latest - oldest < 4,
                    "round {round}: retention not applied ({oldest}..={latest})"
                );
                for version in oldest..latest {
                    assert_eq!(
                        store.root_at(version).unwrap(),
                        model.root_at(version).unwrap()
                    );
                    for k in (0..400).step_by(41) {
                        let key = format!("k{k}").into_bytes();
                        assert_eq!(
                            store.get_at(&key, version).unwrap(),
                            model.get_at(&key, version).unwrap()
                        );
                    }
                }
                assert_eq!(
                    store.get_aux(b"height").unwrap(),
                    Some(latest.to_be_bytes().to_vec())
                );
                for k in (0..400).step_by(23) {
                    let key = format!("k{k}").into_bytes();
                    assert_eq!(
                        store.get(&key).unwrap(),
                        model.get(&key).unwrap(),
                        "round {round}"
                    );
                    let (value, proof) = store.prove(&key, latest).unwrap();
                    verify(&store.root(), &key, value.as_deref(), &proof).unwrap();
                }
            }
            last_seen = latest;
        }
        assert!(
            last_seen > u64::from(kills),
            "the child made too little progress ({last_seen} versions)"
        );
    }
}

fn count(backend: &MemoryBackend, column: Column) -> usize {
    backend
        .scan(column, &[], &[0xff; 80], usize::MAX)
        .unwrap()
        .len()
}

#[test]
fn pruning_deletes_what_only_old_versions_use() {
    let churn = |retention| {
        let backend = MemoryBackend::new();
        let mut store = Store::with_backend(backend.clone(), StoreOptions { retention }).unwrap();
        for version in 1..=30u64 {
            let changes: StateChanges = (0..50u32)
                .map(|i| {
                    let value =
                        (i % 7 != 3 || version % 2 == 0).then(|| version.to_be_bytes().to_vec());
                    (i.to_be_bytes().to_vec(), value)
                })
                .collect();
            store.commit(version, &changes, &AuxWrites::new()).unwrap();
        }
        (backend, store)
    };
    let (archive, archive_store) = churn(Retention::Archive);
    let (pruned, pruned_store) = churn(Retention::KeepLast(2));
    assert_eq!(archive_store.root(), pruned_store.root());
    assert_eq!(pruned_store.oldest_version(), Some(29));
    // Archive keeps ~30 versions of nodes and values, pruning about two.
    for column in [Column::Nodes, Column::History, Column::Stale] {
        let (kept, all) = (count(&pruned, column), count(&archive, column));
        assert!(
            kept * 5 < all,
            "{column:?}: pruned store keeps {kept} of {all} entries"
        );
    }
    // What is left is exactly what versions 29 and 30 need.
    for version in [29, 30] {
        for i in 0..50u32 {
            let (value, proof) = pruned_store.prove(&i.to_be_bytes(), version).unwrap();
            verify(
                &pruned_store.root_at(version).unwrap(),
                &i.to_be_bytes(),
                value.as_deref(),
                &proof,
            )
            .unwrap();
            assert_eq!(
                value,
                archive_store.get_at(&i.to_be_bytes(), version).unwrap()
            );
        }
    }
    assert!(matches!(
        pruned_store.get_at(b"x", 28),
        Err(StateError::VersionUnavailable { .. })
    ));
    assert!(
        archive_store
            .get_at(&0u32.to_be_bytes(), 1)
            .unwrap()
            .is_some()
    );
}

#[test]
fn overlays_read_their_writes_and_nest() {
    let mut store = cairn_state::MemoryStore::in_memory();
    let mut base = StateChanges::new();
    base.insert(b"a".to_vec(), Some(b"1".to_vec()));
    base.insert(b"b".to_vec(), Some(b"2".to_vec()));
    store.commit(1, &base, &AuxWrites::new()).unwrap();

    let mut block = cairn_state::Overlay::new(&store);
    block.put(b"a".to_vec(), b"10".to_vec());
    {
        use cairn_state::StateRead;
        let mut tx = cairn_state::Overlay::new(&block);
        tx.delete(b"b".to_vec());
        tx.put(b"c".to_vec(), b"3".to_vec());
        assert_eq!(tx.get(b"a").unwrap(), Some(b"10".to_vec()));
        assert_eq!(tx.get(b"b").unwrap(), None);
        let reverted = cairn_state::Overlay::new(&block);
        assert_eq!(reverted.get(b"b").unwrap(), Some(b"2".to_vec()));
        let kept = tx.into_changes();
        block.absorb(kept);
    }
    let changes = block.into_changes();
    assert_eq!(changes.len(), 3);
    store.commit(2, &changes, &AuxWrites::new()).unwrap();
    assert_eq!(store.get(b"a").unwrap(), Some(b"10".to_vec()));
    assert_eq!(store.get(b"b").unwrap(), None);
    assert_eq!(store.get_at(b"b", 1).unwrap(), Some(b"2".to_vec()));
    let expected: Model = [
        (b"a".to_vec(), b"10".to_vec()),
        (b"c".to_vec(), b"3".to_vec()),
    ]
    .into_iter()
    .collect();
    assert_eq!(store.root(), model_root(&expected));
}

#[test]
fn large_commits_match_the_reference_root() {
    // Thousands of changes per commit, as in a busy block.
    let backend = MemoryBackend::new();
    let mut store = Store::with_backend(backend.clone(), StoreOptions::default()).unwrap();
    let mut model = Model::new();
    let mut seed = 0x1234_5678_9abc_def1u64;
    for version in 1..=4u64 {
        let mut changes = StateChanges::new();
        for _ in 0..3000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let key = (seed % 6000).to_be_bytes().to_vec();
            let value = (!seed.is_multiple_of(5))
                .then(|| seed.to_le_bytes()[..usize::try_from(seed % 9).unwrap()].to_vec());
            changes.insert(key, value);
        }
        for (k, v) in &changes {
            match v {
                Some(v) => model.insert(k.clone(), v.clone()),
                None => model.remove(k),
            };
        }
        let root = store.commit(version, &changes, &AuxWrites::new()).unwrap();
        assert_eq!(root, model_root(&model), "version {version}");
        // Reopen (empty node cache) and check a sample of proofs against the model.
        store = Store::with_backend(backend.clone(), StoreOptions::default()).unwrap();
        for key in (0..6000u64).step_by(97) {
            let key = key.to_be_bytes();
            let (value, proof) = store.prove(&key, version).unwrap();
            assert_eq!(value.as_ref(), model.get(key.as_slice()));
            verify(&root, &key, value.as_deref(), &proof).unwrap();
        }
    }
}

/// `relative` in the checkout being tested: `cargo test` names the
/// package's directory at run time, which stays right when one build cache
/// serves several checkouts (a path baked in at build time may be another
/// checkout's, or gone).
fn repo_path(relative: &str) -> String {
    let package = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    format!("{package}/../{relative}")
}
