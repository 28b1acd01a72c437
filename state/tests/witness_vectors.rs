//! Witness and `root_after` vectors (`specs/vectors/state/witnesses.json`,
//! `specs/state.md` 5.2 and 5.3). The check reads the file and recomputes
//! every output from its inputs: roots by `reference_root`, witnesses by
//! the node store (`tests/resident.rs` checks the resident store sends the
//! same bytes), encodings from the listed nodes, new roots by
//! `root_after`; then compares the file with what this code generates.
//! `CAIRN_REGENERATE_VECTORS=1` rewrites it.

use std::collections::BTreeMap;

use cairn_state::hash::{internal_hash, leaf_hash};
use cairn_state::node::LeafNode;
use cairn_state::{
    AuxWrites, EMPTY_HASH, Hash, MemoryStore, ProofError, StateRoot, Witness, WitnessNode,
    reference_root,
};
use serde_json::{Value, json};

fn path() -> String {
    repo_path("specs/vectors/state/witnesses.json")
}

type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

fn h(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

fn hash_of(v: &Value) -> Hash {
    unhex(v).try_into().unwrap()
}

fn node_json(node: &WitnessNode) -> Value {
    match node {
        WitnessNode::Empty => json!("empty"),
        WitnessNode::Leaf(leaf) => {
            json!({"leaf": {"key_hash": h(leaf.key_hash), "value_hash": h(leaf.value_hash)}})
        }
        WitnessNode::Hash(hash) => json!({"hash": h(hash)}),
        WitnessNode::Branch => json!("branch"),
    }
}

fn node_from_json(v: &Value) -> WitnessNode {
    match v {
        Value::String(s) if s == "empty" => WitnessNode::Empty,
        Value::String(s) if s == "branch" => WitnessNode::Branch,
        _ if v.get("leaf").is_some() => WitnessNode::Leaf(LeafNode {
            key_hash: hash_of(&v["leaf"]["key_hash"]),
            value_hash: hash_of(&v["leaf"]["value_hash"]),
        }),
        _ => WitnessNode::Hash(hash_of(&v["hash"])),
    }
}

/// The hash of a pre-order node list by the hash rules alone (section 2),
/// with none of the witness rules: what a rejected witness would hash to.
fn naive_hash(nodes: &[WitnessNode], next: &mut usize) -> Hash {
    let node = nodes[*next].clone();
    *next += 1;
    match node {
        WitnessNode::Empty => EMPTY_HASH,
        WitnessNode::Leaf(leaf) => leaf_hash(&leaf.key_hash, &leaf.value_hash),
        WitnessNode::Hash(hash) => hash,
        WitnessNode::Branch => {
            let left = naive_hash(nodes, next);
            let right = naive_hash(nodes, next);
            internal_hash(&left, &right)
        }
    }
}

fn state(n: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                format!("key-{i}").into_bytes(),
                format!("value-{i}").into_bytes(),
            )
        })
        .collect()
}

fn root_of(entries: &[(Vec<u8>, Vec<u8>)]) -> StateRoot {
    reference_root(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
}

fn store_of(entries: &[(Vec<u8>, Vec<u8>)]) -> MemoryStore {
    let mut store = MemoryStore::in_memory();
    let changes: Changes = entries
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    store.commit(1, &changes, &AuxWrites::new()).unwrap();
    store
}

fn apply(entries: &[(Vec<u8>, Vec<u8>)], changes: &Changes) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut map: BTreeMap<Vec<u8>, Vec<u8>> = entries.iter().cloned().collect();
    for (k, v) in changes {
        match v {
            Some(v) => map.insert(k.clone(), v.clone()),
            None => map.remove(k),
        };
    }
    map.into_iter().collect()
}

struct Case {
    name: &'static str,
    state: u32,
    keys: Vec<&'static str>,
    changes: Vec<(&'static str, Option<&'static str>)>,
}

fn cases() -> Vec<Case> {
    let case = |name,
                state,
                keys: &[&'static str],
                changes: &[(&'static str, Option<&'static str>)]| Case {
        name,
        state,
        keys: keys.to_vec(),
        changes: changes.to_vec(),
    };
    vec![
        case(
            "empty state, one absent key",
            0,
            &["key-0"],
            &[("key-0", Some("v"))],
        ),
        case(
            "one key: the witness is its leaf; deleting it empties the state",
            1,
            &["key-0"],
            &[("key-0", None)],
        ),
        case(
            "delete a key whose sibling subtree has no key of the witness: the sibling is opened one level (0x03 and two hashes, or its leaf), so the collapse is computed",
            12,
            &["key-3"],
            &[("key-3", None)],
        ),
        case(
            "update one key's value",
            12,
            &["key-3"],
            &[("key-3", Some("new"))],
        ),
        case(
            "several keys, one absent: insert the absent one, delete two",
            12,
            &["key-1", "key-5", "key-7", "key-99"],
            &[
                ("key-1", None),
                ("key-7", None),
                ("key-99", Some("ninety-nine")),
            ],
        ),
        case(
            "delete every key of a subtree next to an unopened one",
            40,
            &["key-0", "key-1", "key-2", "key-3", "key-4"],
            &[
                ("key-0", None),
                ("key-1", None),
                ("key-2", None),
                ("key-3", None),
                ("key-4", None),
            ],
        ),
    ]
}

fn changes_of(case: &Case) -> Changes {
    case.changes
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
        .collect()
}

/// The witness with every internal node that no key's path crosses given as
/// its hash: what an exporter that opens no sibling sends.
fn hide_opened(witness: &Witness, keys: &[&[u8]]) -> Witness {
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
            WitnessNode::Leaf(leaf) => leaf_hash(&leaf.key_hash, &leaf.value_hash),
            WitnessNode::Branch => {
                let split = keys.partition_point(|k| cairn_state::hash::bit(k, depth) == 0);
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
    let mut hashes: Vec<Hash> = keys.iter().map(|k| cairn_state::keccak256(k)).collect();
    hashes.sort_unstable();
    let mut out = Vec::new();
    copy(&witness.nodes, &mut 0, 0, &hashes, &mut out);
    Witness { nodes: out }
}

fn accepted() -> Vec<Value> {
    cases()
        .iter()
        .map(|case| {
            let entries = state(case.state);
            let root = root_of(&entries);
            let store = store_of(&entries);
            let keys: Vec<&[u8]> = case.keys.iter().map(|k| k.as_bytes()).collect();
            let witness = store.witness(&keys, 1).unwrap();
            let changes = changes_of(case);
            let after = witness.root_after(&root, &changes).unwrap();
            let hidden = hide_opened(&witness, &keys);
            let hidden_result = match hidden.root_after(&root, &changes) {
                Ok(root) => json!({"root": h(root.0)}),
                Err(ProofError::HiddenSibling(_)) => json!("HiddenSibling"),
                Err(e) => panic!("{e}"),
            };
            json!({
                "name": case.name,
                "state": format!("key-i -> value-i for i in 0..{}", case.state),
                "root": h(root.0),
                "keys": case.keys,
                "claims": case.keys.iter().map(|k| {
                    let value = entries.iter().find(|(key, _)| key == k.as_bytes()).map(|(_, v)| String::from_utf8(v.clone()).unwrap());
                    json!({"key": k, "value": value})
                }).collect::<Vec<_>>(),
                "witness": h(witness.to_bytes()),
                "nodes": witness.nodes.iter().map(node_json).collect::<Vec<_>>(),
                "changes": case.changes.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
                "root_after": h(after.0),
                "with_opened_siblings_hidden": {
                    "witness": h(hidden.to_bytes()),
                    "root_after": hidden_result,
                },
            })
        })
        .collect()
}

fn leaf(byte: u8, last: u8) -> LeafNode {
    let mut key_hash = [byte; 32];
    key_hash[31] = last;
    LeafNode {
        key_hash,
        value_hash: [0x77; 32],
    }
}

/// Two leaves whose key hashes differ only in bit 255, under `levels`
/// internal nodes (the last holding both leaves): deepest at depth
/// `levels - 1`.
fn deep(levels: usize) -> Vec<WitnessNode> {
    let mut nodes = Vec::new();
    for _ in 0..levels - 1 {
        nodes.push(WitnessNode::Branch);
    }
    nodes.push(WitnessNode::Branch);
    nodes.push(WitnessNode::Leaf(leaf(0, 0)));
    nodes.push(WitnessNode::Leaf(leaf(0, 1)));
    for _ in 0..levels - 1 {
        nodes.push(WitnessNode::Empty);
    }
    nodes
}

/// Witnesses checked against the root their nodes hash to, by name: the
/// deepest one accepted, the rest rejected by the rules of 5.2.
fn structural() -> Vec<(&'static str, bool, Vec<WitnessNode>)> {
    let a = leaf(0x11, 0);
    let b = leaf(0x99, 0);
    vec![
        (
            "internal nodes at depths 0..=255, leaves at depth 256: accepted",
            true,
            deep(256),
        ),
        ("an internal node at depth 256: rejected", false, deep(257)),
        (
            "a hash node holding EMPTY (an empty subtree is 0x00): rejected",
            false,
            vec![WitnessNode::Hash(EMPTY_HASH)],
        ),
        (
            "an internal node over an empty subtree and one leaf: rejected",
            false,
            vec![
                WitnessNode::Branch,
                WitnessNode::Empty,
                WitnessNode::Leaf(b),
            ],
        ),
        (
            "an internal node over two empty subtrees: rejected",
            false,
            vec![WitnessNode::Branch, WitnessNode::Empty, WitnessNode::Empty],
        ),
        (
            "a leaf whose key hash does not start with its path (bit 0 of 0x99.. is 1, on the left): rejected",
            false,
            vec![
                WitnessNode::Branch,
                WitnessNode::Leaf(b),
                WitnessNode::Leaf(a),
            ],
        ),
        (
            "an item left over after the root's subtree: rejected",
            false,
            vec![WitnessNode::Leaf(a), WitnessNode::Empty],
        ),
        (
            "two leaves and an internal node over a hash and an empty subtree: accepted",
            true,
            vec![
                WitnessNode::Branch,
                WitnessNode::Branch,
                WitnessNode::Hash([0x42; 32]),
                WitnessNode::Empty,
                WitnessNode::Leaf(b),
            ],
        ),
    ]
}

fn generate() -> Value {
    let structural: Vec<Value> = structural()
        .into_iter()
        .map(|(name, ok, nodes)| {
            let root = naive_hash(&nodes, &mut 0);
            json!({
                "name": name,
                "accepted": ok,
                "nodes": nodes.iter().map(node_json).collect::<Vec<_>>(),
                "witness": h(Witness { nodes }.to_bytes()),
                "root": h(root),
            })
        })
        .collect();
    let mut unknown_tag = Witness {
        nodes: vec![WitnessNode::Empty],
    }
    .to_bytes();
    unknown_tag[1] = 4;
    json!({
        "description": "Multi-key witnesses (specs/state.md 5.2) and new roots from them (5.3). `accepted`: a state (keys and values as UTF-8 strings), its root, the keys witnessed, the claims (value, null if absent) the witness proves, the witness (SCALE) and its nodes in pre-order, a change set (value null: delete) and the root after it; `with_opened_siblings_hidden` is the same witness with every node off the keys' paths given as a hash, and what root_after makes of it. `structural`: node lists checked against the root they hash to, accepted or rejected by the rules of 5.2. `undecodable`: bytes that are not a witness.",
        "accepted": accepted(),
        "structural": structural,
        "undecodable": [
            {"name": "unknown node tag 0x04", "witness": h(unknown_tag)},
            {"name": "a leaf cut short", "witness": "0x04010000"},
        ],
    })
}

#[test]
fn witness_vectors_hold() {
    if std::env::var_os("CAIRN_REGENERATE_VECTORS").is_some() {
        std::fs::write(
            path(),
            serde_json::to_string_pretty(&generate()).unwrap() + "\n",
        )
        .unwrap();
    }
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    for case in file["accepted"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let n: u32 = case["state"]
            .as_str()
            .unwrap()
            .rsplit("..")
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let entries = state(n);
        let root = root_of(&entries);
        assert_eq!(h(root.0), case["root"].as_str().unwrap(), "{name}");
        let nodes: Vec<WitnessNode> = case["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(node_from_json)
            .collect();
        let witness = Witness { nodes };
        assert_eq!(
            h(witness.to_bytes()),
            case["witness"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            Witness::from_bytes(&unhex(&case["witness"])).unwrap(),
            witness
        );
        // The store exports exactly these bytes.
        let keys: Vec<&str> = case["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        let key_bytes: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
        assert_eq!(
            store_of(&entries).witness(&key_bytes, 1).unwrap(),
            witness,
            "{name}"
        );
        let claims: Vec<(Vec<u8>, Option<Vec<u8>>)> = case["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["key"].as_str().unwrap().as_bytes().to_vec(),
                    c["value"].as_str().map(|v| v.as_bytes().to_vec()),
                )
            })
            .collect();
        let claim_refs: Vec<(&[u8], Option<&[u8]>)> = claims
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
            .collect();
        witness.verify(&root, &claim_refs).unwrap();
        let changes: Changes = case["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["key"].as_str().unwrap().as_bytes().to_vec(),
                    c["value"].as_str().map(|v| v.as_bytes().to_vec()),
                )
            })
            .collect();
        let after = root_of(&apply(&entries, &changes));
        assert_eq!(
            witness.root_after(&root, &changes).unwrap(),
            after,
            "{name}"
        );
        assert_eq!(h(after.0), case["root_after"].as_str().unwrap(), "{name}");
        let hidden =
            Witness::from_bytes(&unhex(&case["with_opened_siblings_hidden"]["witness"])).unwrap();
        hidden.check_root(&root).unwrap();
        match (
            &case["with_opened_siblings_hidden"]["root_after"],
            hidden.root_after(&root, &changes),
        ) {
            (Value::String(s), Err(ProofError::HiddenSibling(_))) if s == "HiddenSibling" => {}
            (v, Ok(computed)) => assert_eq!(v["root"].as_str().unwrap(), h(computed.0), "{name}"),
            (v, other) => panic!("{name}: {v} but {other:?}"),
        }
    }
    for case in file["structural"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let nodes: Vec<WitnessNode> = case["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(node_from_json)
            .collect();
        assert_eq!(
            h(naive_hash(&nodes, &mut 0)),
            case["root"].as_str().unwrap(),
            "{name}"
        );
        let witness = Witness { nodes };
        assert_eq!(
            h(witness.to_bytes()),
            case["witness"].as_str().unwrap(),
            "{name}"
        );
        let root = StateRoot(hash_of(&case["root"]));
        let result = Witness::from_bytes(&unhex(&case["witness"]))
            .and_then(|w| w.check_root(&root).map(|_| ()));
        assert_eq!(
            result.is_ok(),
            case["accepted"].as_bool().unwrap(),
            "{name}: {result:?}"
        );
    }
    for case in file["undecodable"].as_array().unwrap() {
        assert!(
            Witness::from_bytes(&unhex(&case["witness"])).is_err(),
            "{}",
            case["name"]
        );
    }
    assert_eq!(file, generate(), "vectors differ from the code");
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
