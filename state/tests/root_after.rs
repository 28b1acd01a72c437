//! `Witness::root_after`: the post-state root computed from a witness and a
//! change set equals the root the real store commits and the reference root,
//! and a change the witness does not cover is an error, never a wrong root.

use cairn_state::hash::{bit, internal_hash};
use cairn_state::{
    AuxWrites, EMPTY_HASH, Hash, MemoryStore, ProofError, StateRoot, Witness, WitnessNode,
    keccak256, reference_root,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

fn key(i: u8) -> Vec<u8> {
    vec![b'k', i]
}

fn store_with(pre: &BTreeMap<Vec<u8>, Vec<u8>>) -> (MemoryStore, StateRoot) {
    let mut store = MemoryStore::in_memory();
    let changes: Changes = pre
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    let root = store.commit(1, &changes, &AuxWrites::new()).unwrap();
    (store, root)
}

fn reference(state: &BTreeMap<Vec<u8>, Vec<u8>>) -> StateRoot {
    reference_root(state.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
}

fn pre_state() -> impl Strategy<Value = BTreeMap<Vec<u8>, Vec<u8>>> {
    prop::collection::btree_map(
        (0u8..64).prop_map(key),
        prop::collection::vec(any::<u8>(), 0..4),
        0..24,
    )
}

fn change_set() -> impl Strategy<Value = Changes> {
    prop::collection::btree_map(
        (0u8..64).prop_map(key),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..4)),
        0..16,
    )
}

/// The witness with every internal node off the paths of `keys` (the
/// siblings a witness opens one level) given by its hash instead: a witness
/// that hides whether those subtrees hold one leaf or more.
fn hide_opened_siblings(witness: &Witness, keys: &[&Vec<u8>]) -> Witness {
    fn copy(
        nodes: &[WitnessNode],
        next: &mut usize,
        depth: usize,
        keys: &[Hash],
        out: &mut Vec<WitnessNode>,
    ) -> Hash {
        let node = nodes[*next].clone();
        *next += 1;
        let at = out.len();
        out.push(node.clone());
        match node {
            WitnessNode::Empty => EMPTY_HASH,
            WitnessNode::Hash(hash) => hash,
            WitnessNode::Leaf(leaf) => leaf.hash(),
            WitnessNode::Branch => {
                let split = keys.partition_point(|k| bit(k, depth) == 0);
                let left = copy(nodes, next, depth + 1, &keys[..split], out);
                let right = copy(nodes, next, depth + 1, &keys[split..], out);
                let hash = internal_hash(&left, &right);
                if keys.is_empty() {
                    out.truncate(at);
                    out.push(WitnessNode::Hash(hash));
                }
                hash
            }
        }
    }
    let mut hashes: Vec<Hash> = keys.iter().map(|k| keccak256(k)).collect();
    hashes.sort_unstable();
    let mut out = Vec::new();
    copy(&witness.nodes, &mut 0, 0, &hashes, &mut out);
    Witness { nodes: out }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn root_after_equals_the_committed_and_reference_roots(
        pre in pre_state(),
        changes in change_set(),
        delete_all in any::<bool>(),
    ) {
        let mut changes = changes;
        if delete_all {
            let keys: Vec<Vec<u8>> = pre.keys().chain(changes.keys()).cloned().collect();
            changes = keys.into_iter().map(|k| (k, None)).collect();
        }
        let (mut store, pre_root) = store_with(&pre);
        let keys: Vec<&Vec<u8>> = pre.keys().chain(changes.keys()).collect();
        let witness = store.witness(&keys, 1).unwrap();
        let computed = witness.root_after(&pre_root, &changes).unwrap();

        let committed = store.commit(2, &changes, &AuxWrites::new()).unwrap();
        let mut post = pre.clone();
        for (k, v) in &changes {
            match v {
                Some(v) => { post.insert(k.clone(), v.clone()); }
                None => { post.remove(k); }
            }
        }
        prop_assert_eq!(computed, committed);
        prop_assert_eq!(computed, reference(&post));
        if delete_all {
            prop_assert_eq!(computed, StateRoot(cairn_state::EMPTY_HASH));
        }
    }

    /// A witness of only the changed keys: deletions next to subtrees the
    /// witness would otherwise give as hashes find them opened, so the root
    /// is always computed, in either direction.
    #[test]
    fn root_after_on_a_witness_of_only_the_changed_keys_is_right(
        pre in pre_state(),
        changes in change_set(),
    ) {
        let (mut store, pre_root) = store_with(&pre);
        let keys: Vec<&Vec<u8>> = changes.keys().collect();
        let witness = store.witness(&keys, 1).unwrap();
        let computed = witness.root_after(&pre_root, &changes).unwrap();
        let committed = store.commit(2, &changes, &AuxWrites::new()).unwrap();
        prop_assert_eq!(computed, committed);
        // The reverse direction: the post-state witness with the changes
        // undone gives the pre root.
        let post_witness = store.witness(&keys, 2).unwrap();
        let undo: Changes = changes
            .keys()
            .map(|k| (k.clone(), pre.get(k).cloned()))
            .collect();
        prop_assert_eq!(post_witness.root_after(&committed, &undo).unwrap(), pre_root);
    }

    /// A witness whose hash nodes hide what a deletion collapses into (as
    /// an old or dishonest exporter might send) is refused, never given a
    /// wrong root.
    #[test]
    fn root_after_refuses_a_hidden_sibling(
        pre in pre_state(),
        changes in change_set(),
    ) {
        let (mut store, pre_root) = store_with(&pre);
        let keys: Vec<&Vec<u8>> = changes.keys().collect();
        let witness = hide_opened_siblings(&store.witness(&keys, 1).unwrap(), &keys);
        let result = witness.root_after(&pre_root, &changes);
        let committed = store.commit(2, &changes, &AuxWrites::new()).unwrap();
        match result {
            Ok(root) => prop_assert_eq!(root, committed),
            Err(e) => prop_assert!(matches!(e, ProofError::HiddenSibling(_)), "{e}"),
        }
    }

    #[test]
    fn a_change_outside_the_witness_is_an_error(
        pre in prop::collection::btree_map((0u8..64).prop_map(key), prop::collection::vec(any::<u8>(), 0..4), 1..24),
        changed in (0u8..64).prop_map(key),
        value in prop::option::of(prop::collection::vec(any::<u8>(), 0..4)),
    ) {
        let (store, pre_root) = store_with(&pre);
        let none: [&[u8]; 0] = [];
        let witness = store.witness(&none, 1).unwrap();
        let changes: Changes = [(changed, value)].into_iter().collect();
        let result = witness.root_after(&pre_root, &changes);
        prop_assert!(matches!(result, Err(ProofError::NotCovered(_))), "{result:?}");
    }
}

/// What the old bundle check accepted: a witness proving every write of a
/// block against a root that also holds an extra write. Only the
/// recomputed root tells them apart.
#[test]
fn root_after_catches_an_extra_write_a_membership_check_misses() {
    let pre: BTreeMap<Vec<u8>, Vec<u8>> = (0..20).map(|i| (key(i), vec![i])).collect();
    let (mut store, pre_root) = store_with(&pre);
    let witness = store.witness(&[key(1), key(2), key(30)], 1).unwrap();
    let honest: Changes = [(key(1), Some(vec![9])), (key(30), Some(vec![3]))].into();
    let mut dishonest = honest.clone();
    dishonest.insert(key(2), Some(b"stolen".to_vec()));
    let forged = store.commit(2, &dishonest, &AuxWrites::new()).unwrap();
    let claims: Vec<(&[u8], Option<&[u8]>)> = honest
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_deref()))
        .collect();
    let post_witness = store.witness(&[key(1), key(30)], 2).unwrap();
    post_witness.verify(&forged, &claims).unwrap();
    assert_ne!(witness.root_after(&pre_root, &honest).unwrap(), forged);
    assert_eq!(witness.root_after(&pre_root, &dishonest).unwrap(), forged);
}

#[test]
fn root_after_checks_the_pre_root() {
    let pre: BTreeMap<Vec<u8>, Vec<u8>> = [(key(1), vec![1]), (key(2), vec![2])].into();
    let (store, pre_root) = store_with(&pre);
    let witness = store.witness(&[key(1), key(2)], 1).unwrap();
    let changes: Changes = [(key(3), Some(vec![3]))].into();
    let mut wrong = pre_root;
    wrong.0[0] ^= 1;
    assert!(matches!(
        witness.root_after(&wrong, &changes),
        Err(ProofError::RootMismatch { .. })
    ));
    // Empty pre-state: inserting into nothing.
    let (empty, empty_root) = store_with(&BTreeMap::new());
    let witness = empty.witness(&[key(3)], 1).unwrap();
    let post: BTreeMap<Vec<u8>, Vec<u8>> = [(key(3), vec![3])].into();
    assert_eq!(
        witness.root_after(&empty_root, &changes).unwrap(),
        reference(&post)
    );
}
