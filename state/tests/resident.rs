//! The resident store (`ResidentStore`): model-based property tests
//! against a `BTreeMap`, the committed root vectors, proofs at every
//! retained version (live, reverse deltas, rebuilt from disk), pruning that
//! bounds disk use, corrupted checkpoint images and journals, concurrent
//! readers, and SIGKILL at random moments (during commits, checkpoint
//! writes and recovery). `CAIRN_CRASH_KILLS` sets the number of kills
//! (default 12 here; `make crash-state` runs 120).
#![cfg(feature = "rocksdb")]

use cairn_state::{
    AuxWrites, MemoryStore, ResidentOptions, ResidentRocksOptions, ResidentStore, Retention,
    StateChanges, StateDb, StateError, StateRead, StateRoot, StateView, keccak256, reference_root,
    verify,
};
use parity_scale_codec::Encode;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

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

fn small_rocks() -> ResidentRocksOptions {
    ResidentRocksOptions {
        block_cache_bytes: 1 << 20,
        write_buffer_bytes: 1 << 20,
        sync_writes: false,
        statistics: false,
    }
}

fn options(retention: Retention, interval: u64, recent: usize) -> ResidentOptions {
    ResidentOptions {
        retention,
        checkpoint_interval: interval,
        recent_versions: recent,
        rocks: small_rocks(),
    }
}

fn open(dir: &Path, options: &ResidentOptions) -> ResidentStore {
    ResidentStore::open(dir, options.clone()).expect("open resident store")
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8, Vec<u8>),
    Delete(u8),
    Commit,
    Reopen,
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..40, proptest::collection::vec(any::<u8>(), 0..24)).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0u8..40).prop_map(Op::Delete),
        4 => Just(Op::Commit),
        1 => Just(Op::Reopen),
        1 => Just(Op::Crash),
    ]
}

fn key_of(k: u8) -> Vec<u8> {
    if k.is_multiple_of(5) {
        vec![k; usize::from(k % 7)]
    } else {
        format!("key-{k}").into_bytes()
    }
}

/// Checks roots, values, proofs and witnesses at every retained version
/// against the model, through `view` (the store or a reader).
fn check_view(view: &impl StateView, history: &BTreeMap<u64, Model>, deep: bool) {
    let Some(latest) = view.latest_version() else {
        return;
    };
    let oldest = view.oldest_version().expect("oldest when committed");
    for (version, model) in history {
        let root = model_root(model);
        assert_eq!(
            view.root_at(*version).expect("root_at"),
            root,
            "root at {version}"
        );
        if *version < oldest {
            assert!(matches!(
                view.get_at(b"key-1", *version),
                Err(StateError::VersionUnavailable { .. })
            ));
            assert!(view.prove(b"key-1", *version).is_err());
            continue;
        }
        for k in 0..40u8 {
            let key = key_of(k);
            let expected = model.get(&key);
            assert_eq!(
                view.get_at(&key, *version).expect("get_at").as_ref(),
                expected,
                "key {k} at {version}"
            );
            if deep || *version == latest || k % 8 == 0 {
                let (value, proof) = view.prove(&key, *version).expect("prove");
                assert_eq!(value.as_ref(), expected, "proven value of {k} at {version}");
                verify(&root, &key, expected.map(Vec::as_slice), &proof).expect("proof verifies");
            }
        }
        let keys: Vec<Vec<u8>> = (0..40u8).step_by(3).map(key_of).collect();
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let witness = view.witness(&refs, *version).expect("witness");
        let claims: Vec<(&[u8], Option<&[u8]>)> = keys
            .iter()
            .map(|k| (k.as_slice(), model.get(k).map(Vec::as_slice)))
            .collect();
        witness.verify(&root, &claims).expect("witness verifies");
        assert_eq!(
            witness,
            node_store_witness(model, &refs),
            "witness at {version}"
        );
    }
    assert!(view.get_at(b"key-1", latest + 1).is_err());
}

/// The witness the node store (format 1) gives for `keys` over the state
/// `model`: both formats must send the same bytes (`specs/state.md` 5.2).
fn node_store_witness(model: &Model, keys: &[&[u8]]) -> cairn_state::Witness {
    let mut store = MemoryStore::in_memory();
    let changes: StateChanges = model
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    store.commit(1, &changes, &AuxWrites::new()).unwrap();
    store.witness(keys, 1).unwrap()
}

fn run_model(retention: Retention, interval: u64, recent: usize, ops: &[Op]) {
    let dir = tempfile::tempdir().unwrap();
    let options = options(retention, interval, recent);
    let mut store = open(dir.path(), &options);
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
                for (k, v) in &current {
                    assert_eq!(store.get(k).unwrap().as_ref(), Some(v));
                }
                check_view(&store, &history, step % 4 == 0);
                check_view(&store.reader(), &history, false);
            }
            Op::Reopen => {
                drop(store);
                store = open(dir.path(), &options);
                pending.clear();
                check_view(&store, &history, false);
            }
            Op::Crash => {
                store.abandon();
                store = open(dir.path(), &options);
                pending.clear();
                check_view(&store, &history, false);
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

fn retention() -> impl Strategy<Value = Retention> {
    prop_oneof![
        Just(Retention::Archive),
        (1u64..5).prop_map(Retention::KeepLast)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(24)))]

    #[test]
    fn resident_store_matches_model(
        retention in retention(),
        interval in 1u64..6,
        recent in 0usize..3,
        ops in proptest::collection::vec(op(), 1..50),
    ) {
        run_model(retention, interval, recent, &ops);
    }
}

#[test]
fn root_vectors_match() {
    let text = std::fs::read_to_string(repo_path("specs/vectors/state/roots.json")).unwrap();
    let vectors: serde_json::Value = serde_json::from_str(&text).unwrap();
    for case in vectors["cases"].as_array().unwrap() {
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
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path(), &ResidentOptions::default());
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

/// Deterministic pseudo-random changes: `count` keys out of `space`.
fn random_changes(seed: &mut u64, count: usize, space: u64) -> StateChanges {
    let mut changes = StateChanges::new();
    for _ in 0..count {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let key = (*seed % space).to_be_bytes().to_vec();
        let value = (!seed.is_multiple_of(5))
            .then(|| seed.to_le_bytes()[..usize::try_from(*seed % 9).unwrap()].to_vec());
        changes.insert(key, value);
    }
    changes
}

fn apply(model: &mut Model, changes: &StateChanges) {
    for (k, v) in changes {
        match v {
            Some(v) => model.insert(k.clone(), v.clone()),
            None => model.remove(k),
        };
    }
}

#[test]
fn large_commits_and_relayouts_match_the_reference_root() {
    // Grows through several bucket layouts, then shrinks, with proofs from
    // the live trie, reverse deltas and rebuilds along the way.
    let dir = tempfile::tempdir().unwrap();
    let options = options(Retention::Archive, 3, 2);
    let mut store = open(dir.path(), &options);
    let mut model = Model::new();
    let mut models = BTreeMap::new();
    let mut seed = 0x1234_5678_9abc_def1u64;
    for version in 1..=12u64 {
        let mut changes = random_changes(&mut seed, 6000, 40_000);
        if version > 8 {
            // Shrink: delete most keys.
            for k in model.keys().take(model.len() * 3 / 4) {
                changes.insert(k.clone(), None);
            }
        }
        apply(&mut model, &changes);
        let root = store.commit(version, &changes, &AuxWrites::new()).unwrap();
        assert_eq!(root, model_root(&model), "version {version}");
        models.insert(version, model.clone());
        for (v, m) in &models {
            let root = model_root(m);
            for key in (0..40_000u64).step_by(997) {
                let key = key.to_be_bytes();
                let (value, proof) = store.prove(&key, *v).unwrap();
                assert_eq!(value.as_ref(), m.get(key.as_slice()), "key at {v}");
                verify(&root, &key, value.as_deref(), &proof).unwrap();
            }
        }
        // Witnesses through buckets of several leaves, against the node
        // store's and through a deletion of every witnessed key.
        let keys: Vec<[u8; 8]> = (0..40_000u64).step_by(373).map(u64::to_be_bytes).collect();
        let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        let witness = store.witness(&refs, version).unwrap();
        assert_eq!(
            witness,
            node_store_witness(&model, &refs),
            "witness at {version}"
        );
        let deletions: StateChanges = keys.iter().map(|k| (k.to_vec(), None)).collect();
        let mut after = model.clone();
        apply(&mut after, &deletions);
        assert_eq!(
            witness.root_after(&root, &deletions).unwrap(),
            model_root(&after),
            "deleting the witnessed keys at {version}"
        );
    }
    drop(store);
    let store = open(dir.path(), &options);
    assert_eq!(store.root(), model_root(&model));
    assert_eq!(store.key_count(), model.len() as u64);
}

#[test]
fn pruning_bounds_what_is_kept_on_disk() {
    let churn = |retention| {
        let dir = tempfile::tempdir().unwrap();
        let options = options(retention, 10, 2);
        let mut store = open(dir.path(), &options);
        let value = vec![0x5a; 200];
        for version in 1..=120u64 {
            let changes: StateChanges = (0..500u32)
                .map(|i| {
                    let present = i % 7 != 3 || version % 2 == 0;
                    let mut v = value.clone();
                    v[..8].copy_from_slice(&version.to_be_bytes());
                    (i.to_be_bytes().to_vec(), present.then_some(v))
                })
                .collect();
            store.commit(version, &changes, &AuxWrites::new()).unwrap();
        }
        let root = store.root();
        drop(store);
        (dir, root)
    };
    let (archive, archive_root) = churn(Retention::Archive);
    let (pruned, pruned_root) = churn(Retention::KeepLast(3));
    assert_eq!(archive_root, pruned_root);
    let entries = |dir: &Path, cf: &str| {
        let names = rocksdb::DB::list_cf(&rocksdb::Options::default(), dir).unwrap();
        let db =
            rocksdb::DB::open_cf_for_read_only(&rocksdb::Options::default(), dir, &names, false)
                .unwrap();
        let handle = db.cf_handle(cf).unwrap();
        db.iterator_cf(handle, rocksdb::IteratorMode::Start).count()
    };
    let (kept, all) = (
        entries(pruned.path(), "values"),
        entries(archive.path(), "values"),
    );
    // Archive keeps 120 versions of 500 keys; keeping 3 versions needs at
    // most 3 entries per key plus this version's tombstones.
    assert!(all >= 120 * 500 - 1000, "archive kept {all}");
    assert!(kept <= 4 * 500, "pruned store keeps {kept} value entries");
    let (journal_kept, journal_all) = (
        entries(pruned.path(), "journal"),
        entries(archive.path(), "journal"),
    );
    // Images every 10 versions (written in the background, so one may lag
    // behind): the journal kept is bounded by the interval, not by the 120
    // versions committed.
    assert!(
        journal_kept <= 30,
        "pruned store keeps {journal_kept} journal entries"
    );
    assert_eq!(journal_all, 120);
    let reopened = open(pruned.path(), &options(Retention::KeepLast(3), 10, 2));
    assert_eq!(reopened.oldest_version(), Some(118));
    for version in 118..=120 {
        for i in (0..500u32).step_by(37) {
            let (value, proof) = reopened.prove(&i.to_be_bytes(), version).unwrap();
            verify(
                &reopened.root_at(version).unwrap(),
                &i.to_be_bytes(),
                value.as_deref(),
                &proof,
            )
            .unwrap();
        }
    }
    assert!(matches!(
        reopened.get_at(b"x", 117),
        Err(StateError::VersionUnavailable { .. })
    ));
}

/// `wait_for_compactions` (used by the benchmarks before they measure)
/// returns once RocksDB is idle, and the store reads as before.
#[test]
fn waiting_for_compactions_returns_and_keeps_the_store_intact() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(Retention::Archive, u64::MAX, 2);
    options.rocks.statistics = true;
    let mut store = open(dir.path(), &options);
    let mut model = Model::new();
    let mut seed = 7u64;
    // 1 MiB memtables: these commits flush many times and compact.
    for version in 1..=60u64 {
        let changes = random_changes(&mut seed, 4_000, 50_000);
        apply(&mut model, &changes);
        store.commit(version, &changes, &AuxWrites::new()).unwrap();
    }
    store.flush().unwrap();
    store
        .wait_for_compactions(std::time::Duration::from_secs(120))
        .unwrap();
    let written = store.write_bytes();
    assert!(written.flush > 0 && written.compaction > 0, "{written:?}");
    assert_eq!(store.root(), model_root(&model));
    for (key, value) in model.iter().step_by(97) {
        assert_eq!(store.get(key).unwrap().as_deref(), Some(value.as_slice()));
    }
}

/// Rewrites one record of the store's RocksDB directly.
fn poke(dir: &Path, cf: &str, edit: impl Fn(&[u8], &[u8]) -> Option<Vec<u8>>) -> usize {
    let names = rocksdb::DB::list_cf(&rocksdb::Options::default(), dir).unwrap();
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir, &names).unwrap();
    let handle = db.cf_handle(cf).unwrap();
    let mut edits = Vec::new();
    for item in db.iterator_cf(handle, rocksdb::IteratorMode::Start) {
        let (key, value) = item.unwrap();
        if let Some(new) = edit(&key, &value) {
            edits.push((key.to_vec(), new));
        }
    }
    for (key, value) in &edits {
        db.put_cf(handle, key, value).unwrap();
    }
    edits.len()
}

fn filled(dir: &Path, versions: u64) -> (ResidentOptions, StateRoot) {
    let options = options(Retention::Archive, 1000, 2);
    let mut store = open(dir, &options);
    let mut seed = 7u64;
    for version in 1..=versions {
        store
            .commit(
                version,
                &random_changes(&mut seed, 500, 3000),
                &AuxWrites::new(),
            )
            .unwrap();
    }
    let root = store.root();
    (options, root)
}

#[test]
fn corrupted_checkpoint_image_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (options, _) = filled(dir.path(), 3);
    // Dropped cleanly: an image of version 3 exists.
    for (what, position) in [("flip", 40usize), ("garbage", 0)] {
        let work = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), work.path());
        let edited = poke(work.path(), "checkpoint", |key, value| {
            (key[8..12] == [0, 0, 0, 5]).then(|| {
                let mut bad = value.to_vec();
                if what == "flip" {
                    bad[position] ^= 0x04;
                } else {
                    bad = b"garbage".to_vec();
                }
                bad
            })
        });
        assert_eq!(edited, 1);
        let err = ResidentStore::open(work.path(), options.clone()).unwrap_err();
        assert!(
            matches!(
                err,
                StateError::CorruptRecord {
                    what: "checkpoint image",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("image of version 3"), "{err}");
    }
    // A garbage header.
    let work = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), work.path());
    poke(work.path(), "checkpoint", |key, _| {
        (key[8..12] == [0xff; 4]).then(|| vec![1, 2, 3])
    });
    let err = ResidentStore::open(work.path(), options).unwrap_err();
    assert!(matches!(err, StateError::CorruptRecord { .. }), "{err}");
}

#[test]
fn corrupted_journal_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (options, root) = filled(dir.path(), 4);
    {
        // Commit two more versions and "crash": the journal must be replayed.
        let mut store = open(dir.path(), &options);
        let mut seed = 99u64;
        for version in 5..=6 {
            store
                .commit(
                    version,
                    &random_changes(&mut seed, 300, 3000),
                    &AuxWrites::new(),
                )
                .unwrap();
        }
        assert_ne!(store.root(), root);
        store.abandon();
    }
    let intact = open(dir.path(), &options);
    let expected = intact.root();
    intact.abandon();
    let mut refused = 0;
    for edit in 0..3 {
        let work = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), work.path());
        poke(work.path(), "journal", |key, value| {
            (key == 6u64.to_be_bytes()).then(|| match edit {
                0 => b"garbage".to_vec(),
                1 => {
                    let mut bad = value.to_vec();
                    bad[50] ^= 1; // a key hash
                    bad
                }
                _ => {
                    let mut bad = value.to_vec();
                    let at = bad.len() - 20;
                    bad[at] ^= 0x80; // a value hash
                    bad
                }
            })
        });
        match ResidentStore::open(work.path(), options.clone()) {
            Err(StateError::CorruptRecord {
                what: "journal", ..
            }) => refused += 1,
            Err(other) => panic!("edit {edit}: unexpected error {other}"),
            // An edit can turn a deletion of an absent key into a deletion
            // of another absent key: the state is the same. Never a wrong root.
            Ok(store) => assert_eq!(store.root(), expected, "edit {edit}: wrong root"),
        }
    }
    assert!(
        refused >= 2,
        "only {refused} of 3 corrupted journals refused"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn readers_never_see_wrong_answers_while_the_writer_commits_and_prunes() {
    let dir = tempfile::tempdir().unwrap();
    let options = options(Retention::KeepLast(2), 4, 1);
    let mut store = open(dir.path(), &options);
    let value_of = |version: u64, i: u32| -> Vec<u8> {
        let mut v = version.to_be_bytes().to_vec();
        v.extend_from_slice(&i.to_be_bytes());
        v
    };
    let commit = |store: &mut ResidentStore, version: u64| {
        let changes: StateChanges = (0..200u32)
            .map(|i| (i.to_be_bytes().to_vec(), Some(value_of(version, i))))
            .collect();
        store.commit(version, &changes, &AuxWrites::new()).unwrap();
    };
    commit(&mut store, 1);
    let reader = store.reader();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let checker = scope.spawn(|| {
            let mut checked = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Some(latest) = reader.latest_version() else {
                    continue;
                };
                for version in latest.saturating_sub(2)..=latest {
                    let i = checked % 200;
                    match reader.get_at(&i.to_be_bytes(), version) {
                        Ok(value) => assert_eq!(value, Some(value_of(version, i))),
                        Err(StateError::VersionUnavailable { .. }) => {}
                        Err(e) => panic!("reader failed: {e}"),
                    }
                    match reader.prove(&i.to_be_bytes(), version) {
                        Ok((value, proof)) => {
                            assert_eq!(value, Some(value_of(version, i)));
                            let root = reader.root_at(version).unwrap();
                            verify(&root, &i.to_be_bytes(), value.as_deref(), &proof).unwrap();
                        }
                        Err(StateError::VersionUnavailable { .. }) => {}
                        Err(e) => panic!("reader failed: {e}"),
                    }
                    let latest_value = reader.get(&i.to_be_bytes()).unwrap().unwrap();
                    // The latest value is never older than a version seen as latest before.
                    assert!(latest_value[..8] >= latest.to_be_bytes()[..]);
                    checked += 1;
                }
            }
            checked
        });
        for version in 2..=60 {
            commit(&mut store, version);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(checker.join().unwrap() > 0);
    });
}

#[test]
fn a_second_open_is_refused_and_formats_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ResidentOptions::default());
    let err = ResidentStore::open(dir.path(), ResidentOptions::default()).unwrap_err();
    assert!(matches!(err, StateError::AlreadyOpen { .. }), "{err}");
    drop(store);
    // A node store's directory (other column families) is refused.
    let other = tempfile::tempdir().unwrap();
    drop(
        cairn_state::RocksStore::open(other.path(), cairn_state::StoreOptions::default()).unwrap(),
    );
    let err = ResidentStore::open(other.path(), ResidentOptions::default()).unwrap_err();
    assert!(
        matches!(err, StateError::IncompatibleFormat { .. }),
        "{err}"
    );
}

#[test]
fn a_directory_of_the_previous_format_is_refused() {
    // Format 2 stored a key hash's `values` entries oldest first; format 3
    // newest first. Reading one with the other would return wrong values,
    // so an older directory is refused by its format record.
    let dir = tempfile::tempdir().unwrap();
    let options = options(Retention::Archive, 4, 2);
    let mut store = open(dir.path(), &options);
    store
        .commit(
            1,
            &StateChanges::from([(b"a".to_vec(), Some(b"1".to_vec()))]),
            &AuxWrites::new(),
        )
        .unwrap();
    drop(store);
    {
        let names = rocksdb::DB::list_cf(&rocksdb::Options::default(), dir.path()).unwrap();
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.path(), &names).unwrap();
        let meta = db.cf_handle("meta").unwrap();
        assert_eq!(
            db.get_cf(meta, b"format").unwrap(),
            Some(cairn_state::RESIDENT_FORMAT_VERSION.encode())
        );
        db.put_cf(meta, b"format", 2u32.encode()).unwrap();
    }
    let err = ResidentStore::open(dir.path(), options).unwrap_err();
    match err {
        StateError::IncompatibleFormat { found, expected } => {
            assert_eq!((&*found, expected), ("2", 3));
        }
        other => panic!("expected IncompatibleFormat, got {other}"),
    }
}

#[test]
fn the_chain_traits_are_implemented() {
    fn assert_db<D: StateDb>() {}
    fn assert_send_sync<T: Send + Sync>() {}
    assert_db::<ResidentStore>();
    assert_send_sync::<ResidentStore>();
    assert_send_sync::<cairn_state::ResidentReader>();
}

mod crash {
    //! SIGKILL at random moments. The child commits deterministic versions
    //! (with images every few versions, so kills land in image writes too)
    //! and reports each committed version on stdout; some children only
    //! open the store (recovery) and are killed during it.

    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    const KEYS: u64 = 20_000;

    fn crash_options() -> ResidentOptions {
        options(Retention::KeepLast(6), 4, 2)
    }

    /// The changes of `version`: a genesis of `KEYS` keys, then 300
    /// overwrites and deletions per version.
    fn changes(version: u64) -> StateChanges {
        if version == 1 {
            return (0..KEYS)
                .map(|i| {
                    (
                        i.to_be_bytes().to_vec(),
                        Some(keccak256(&i.to_le_bytes())[..8].to_vec()),
                    )
                })
                .collect();
        }
        (0..300u64)
            .map(|j| {
                let h = keccak256(&(version * 1000 + j).to_be_bytes());
                let key = (u64::from_be_bytes(h[..8].try_into().unwrap()) % (KEYS + 500))
                    .to_be_bytes()
                    .to_vec();
                let value =
                    (!h[8].is_multiple_of(7)).then(|| h[9..9 + usize::from(h[10] % 20)].to_vec());
                (key, value)
            })
            .collect()
    }

    /// Child: commits forever (or only opens, with `CAIRN_STATE_CRASH_OPEN_ONLY`).
    #[test]
    fn crash_child() {
        let Ok(dir) = std::env::var("CAIRN_STATE_CRASH_DIR") else {
            return;
        };
        let mut store = ResidentStore::open(Path::new(&dir), crash_options()).unwrap();
        let mut out = std::io::stdout().lock();
        if std::env::var("CAIRN_STATE_CRASH_OPEN_ONLY").is_ok() {
            use std::io::Write;
            writeln!(out, "opened").unwrap();
            out.flush().unwrap();
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
        loop {
            use std::io::Write;
            let version = store.latest_version().map_or(1, |v| v + 1);
            let mut aux = AuxWrites::new();
            aux.insert(b"height".to_vec(), Some(version.to_be_bytes().to_vec()));
            store.commit(version, &changes(version), &aux).unwrap();
            writeln!(out, "committed {version}").unwrap();
            out.flush().unwrap();
        }
    }

    fn spawn(dir: &Path, open_only: bool) -> (std::process::Child, mpsc::Receiver<u64>) {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "crash::crash_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CAIRN_STATE_CRASH_DIR", dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if open_only {
            command.env("CAIRN_STATE_CRASH_OPEN_ONLY", "1");
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Only commit reports; the test harness prints its own lines.
                let Some(version) = line
                    .strip_prefix("committed ")
                    .and_then(|v| v.parse::<u64>().ok())
                else {
                    continue;
                };
                if sender.send(version).is_err() {
                    break;
                }
            }
        });
        (child, receiver)
    }

    #[test]
    fn sigkill_at_random_moments_loses_nothing_committed() {
        let kills: u32 = std::env::var("CAIRN_CRASH_KILLS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(12);
        let dir = tempfile::tempdir().unwrap();
        let mut models: BTreeMap<u64, Model> = BTreeMap::new();
        let mut model = Model::new();
        let mut last_seen = 0u64;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut recovery_kills = 0u32;
        for round in 0..kills {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // One round in four kills a child during its recovery.
            let open_only = round % 4 == 3;
            let (mut child, reports) = spawn(dir.path(), open_only);
            // A committing child is killed at a random moment after its
            // first commit (its recovery done), so every round makes progress.
            let mut first_report = 0;
            if !open_only {
                first_report = reports.recv_timeout(Duration::from_secs(60)).unwrap_or(0);
            }
            let wait = if open_only { seed % 40 } else { seed % 300 };
            std::thread::sleep(Duration::from_millis(wait));
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let reported = reports.try_iter().max().unwrap_or(0).max(first_report);
            if open_only {
                recovery_kills += 1;
            }
            let store = ResidentStore::open(dir.path(), crash_options()).unwrap();
            let latest = store.latest_version().unwrap_or(0);
            assert!(
                latest >= last_seen.max(reported),
                "round {round}: version {latest} after {last_seen} (child reported {reported})"
            );
            let mut version = models.keys().next_back().copied().unwrap_or(0);
            while version < latest {
                version += 1;
                apply(&mut model, &changes(version));
                models.insert(version, model.clone());
                while models.len() > 8 {
                    models.pop_first();
                }
            }
            if latest > 0 {
                let oldest = store.oldest_version().unwrap();
                assert_eq!(oldest, latest.saturating_sub(5).max(1), "round {round}");
                for (version, m) in models.range(oldest..=latest) {
                    let root = model_root(m);
                    assert_eq!(
                        store.root_at(*version).unwrap(),
                        root,
                        "round {round}: root of {version}"
                    );
                    for k in (0..KEYS + 500).step_by(1999) {
                        let key = k.to_be_bytes();
                        assert_eq!(
                            store.get_at(&key, *version).unwrap().as_ref(),
                            m.get(key.as_slice())
                        );
                    }
                    for k in (0..KEYS + 500).step_by(4999) {
                        let key = k.to_be_bytes();
                        let (value, proof) = store.prove(&key, *version).unwrap();
                        assert_eq!(value.as_ref(), m.get(key.as_slice()));
                        verify(&root, &key, value.as_deref(), &proof).unwrap();
                    }
                }
                assert_eq!(store.root(), model_root(&model));
                assert_eq!(
                    store.get_aux(b"height").unwrap(),
                    Some(latest.to_be_bytes().to_vec())
                );
                for k in (0..KEYS).step_by(777) {
                    let key = k.to_be_bytes();
                    assert_eq!(store.get(&key).unwrap().as_ref(), model.get(key.as_slice()));
                }
            }
            // Half the time reopen as a crash (no image on close) too.
            if seed.is_multiple_of(2) {
                store.abandon();
            } else {
                drop(store);
            }
            last_seen = latest;
        }
        eprintln!(
            "{kills} kills ({recovery_kills} during recovery), {last_seen} versions committed"
        );
        assert!(
            last_seen > u64::from(kills) / 2,
            "too little progress: {last_seen} versions"
        );
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
