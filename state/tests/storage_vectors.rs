//! Storage vectors (`specs/vectors/state/storage.json`, `specs/state.md`
//! sections 6.1 to 6.3 and appendix A): a few commits (keys, values,
//! versions) and every entry both stores then hold, key and value bytes
//! beside the fields they encode. The check rebuilds every stored key and
//! value from its fields with encoders written here from the spec (not the
//! crate's), hashes every storage node by the slot rule of A.1 and follows
//! each child reference to the node it names, runs the commits through the
//! real stores (the node store over a memory backend, the resident store on
//! RocksDB, its columns read back raw) and compares what they hold with the
//! file; then compares the file with what this code generates.
//! `CAIRN_REGENERATE_VECTORS=1` rewrites it.
#![cfg(feature = "rocksdb")]

use std::collections::BTreeMap;

use cairn_state::node::Node;
use cairn_state::{
    AuxWrites, Backend, Column, EMPTY_HASH, Hash, MemoryBackend, ResidentOptions,
    ResidentRocksOptions, ResidentStore, Retention, RootRef, StateChanges, Store, StoreOptions,
    keccak256, reference_root,
};
use parity_scale_codec::DecodeAll;
use serde_json::{Value, json};

fn path() -> String {
    repo_path("specs/vectors/state/storage.json")
}

/// The commits: version, then (key, new value or `None` to delete).
type Commit = (u64, &'static [(&'static str, Option<&'static str>)]);

const COMMITS: &[Commit] = &[
    (
        100,
        &[
            ("alice", Some("100")),
            ("bob", Some("")),
            ("carol", Some("c")),
            ("", Some("the empty key")),
            ("dave", Some("d")),
            ("erin", Some("e")),
            ("key-0", Some("0")),
            ("key-1", Some("1")),
            ("key-2", Some("2")),
            ("key-3", Some("3")),
        ],
    ),
    (
        101,
        &[("alice", Some("99")), ("bob", None), ("frank", Some("f"))],
    ),
    (102, &[("alice", Some("98")), ("carol", None)]),
];

const RETENTIONS: [Retention; 2] = [Retention::Archive, Retention::KeepLast(2)];

fn h(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

fn hash_of(v: &Value) -> Hash {
    unhex(v).try_into().unwrap()
}

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// A version and its changes, as the stores take them.
type Changes = Vec<(u64, StateChanges)>;

fn changes_of(commits: &[Commit]) -> Changes {
    commits
        .iter()
        .map(|(version, changes)| {
            let changes = changes
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
                .collect();
            (*version, changes)
        })
        .collect()
}

fn changes_from_file(file: &Value) -> Changes {
    file["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let changes = c["changes"]
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
            (num(&c["version"]), changes)
        })
        .collect()
}

fn retention_json(retention: Retention) -> Value {
    match retention {
        Retention::Archive => json!("archive"),
        Retention::KeepLast(n) => json!({ "keep_last": n }),
    }
}

fn retention_from(v: &Value) -> Retention {
    match v.get("keep_last") {
        Some(n) => Retention::KeepLast(num(n)),
        None => Retention::Archive,
    }
}

// ---- encoders written from the spec, used only by the check ----

/// SCALE `Compact<u64>` (chain.md: the canonical, shortest mode).
fn compact(n: u64) -> Vec<u8> {
    match n {
        0..=0x3f => (n << 2).to_le_bytes()[..1].to_vec(),
        0x40..=0x3fff => (n << 2 | 1).to_le_bytes()[..2].to_vec(),
        0x4000..=0x3fff_ffff => (n << 2 | 2).to_le_bytes()[..4].to_vec(),
        _ => {
            let bytes = n.to_le_bytes();
            let len = 8 - bytes.iter().rev().take_while(|b| **b == 0).count();
            let mut out = vec![u8::try_from(len - 4).unwrap() << 2 | 3];
            out.extend_from_slice(&bytes[..len]);
            out
        }
    }
}

fn len(n: usize) -> Vec<u8> {
    compact(u64::try_from(n).unwrap())
}

fn u32_le(v: &Value) -> [u8; 4] {
    u32::try_from(num(v)).unwrap().to_le_bytes()
}

/// SCALE `Option<T>` from the encoding of `T`.
fn option(inner: Option<Vec<u8>>) -> Vec<u8> {
    match inner {
        None => vec![0],
        Some(bytes) => [vec![1], bytes].concat(),
    }
}

/// SCALE `Vec<u8>`: compact length, then the bytes.
fn bytes_vec(bytes: &[u8]) -> Vec<u8> {
    [len(bytes.len()), bytes.to_vec()].concat()
}

/// An optional value (`null`: deleted) as SCALE `Option<Vec<u8>>`.
fn stored_value(v: &Value) -> Vec<u8> {
    option(v.as_str().map(|s| bytes_vec(s.as_bytes())))
}

/// A node key (A.2) from `version` and its nibble path as hex digits.
fn node_key(version: u64, path: &str) -> Vec<u8> {
    let nibbles: Vec<u8> = path
        .chars()
        .map(|c| u8::try_from(c.to_digit(16).unwrap()).unwrap())
        .collect();
    let mut out = version.to_be_bytes().to_vec();
    out.push(u8::try_from(nibbles.len()).unwrap());
    for pair in nibbles.chunks(2) {
        out.push(pair[0] << 4 | pair.get(1).copied().unwrap_or(0));
    }
    out
}

fn node_bytes(node: &Value) -> Vec<u8> {
    if let Some(leaf) = node.get("leaf") {
        return [
            vec![0],
            unhex(&leaf["key_hash"]),
            unhex(&leaf["value_hash"]),
        ]
        .concat();
    }
    let children = node["internal"].as_array().unwrap();
    let (mut present, mut leaves) = (0u16, 0u16);
    let mut tail = Vec::new();
    for child in children {
        let slot = num(&child["slot"]);
        present |= 1 << slot;
        if child["leaf"].as_bool().unwrap() {
            leaves |= 1 << slot;
        }
        tail.extend(unhex(&child["hash"]));
        tail.extend(compact(num(&child["version"])));
    }
    [
        vec![1],
        present.to_le_bytes().to_vec(),
        leaves.to_le_bytes().to_vec(),
        tail,
    ]
    .concat()
}

fn keccak_node(left: &Hash, right: &Hash) -> Hash {
    keccak256(&[&[1u8][..], left, right].concat())
}

/// A.1: the hash of an internal node over its 16 slots.
fn range_hash(slots: &[Option<(Hash, bool)>; 16], start: usize, width: usize) -> Hash {
    let used: Vec<&(Hash, bool)> = slots[start..start + width].iter().flatten().collect();
    match used.as_slice() {
        [] => EMPTY_HASH,
        [(hash, true)] => *hash,
        [(hash, false)] if width == 1 => *hash,
        _ => keccak_node(
            &range_hash(slots, start, width / 2),
            &range_hash(slots, start + width / 2, width / 2),
        ),
    }
}

fn node_hash(node: &Value) -> Hash {
    if let Some(leaf) = node.get("leaf") {
        return keccak256(
            &[
                vec![0],
                unhex(&leaf["key_hash"]),
                unhex(&leaf["value_hash"]),
            ]
            .concat(),
        );
    }
    let mut slots = [None; 16];
    for child in node["internal"].as_array().unwrap() {
        slots[usize::try_from(num(&child["slot"])).unwrap()] =
            Some((hash_of(&child["hash"]), child["leaf"].as_bool().unwrap()));
    }
    range_hash(&slots, 0, 16)
}

fn u64_be(v: &Value) -> Vec<u8> {
    num(v).to_be_bytes().to_vec()
}

/// Key and value bytes of an entry rebuilt from its fields.
fn rebuild(column: &str, e: &Value) -> (Vec<u8>, Vec<u8>) {
    match column {
        "nodes" => (
            node_key(num(&e["version"]), e["path"].as_str().unwrap()),
            node_bytes(&e["node"]),
        ),
        "latest" => (
            e["state_key"].as_str().unwrap().as_bytes().to_vec(),
            e["state_value"].as_str().unwrap().as_bytes().to_vec(),
        ),
        "history" => (
            [unhex(&e["key_hash"]), u64_be(&e["version"])].concat(),
            stored_value(&e["state_value"]),
        ),
        // Format 3: the version inverted, so a key hash's entries sort
        // newest first.
        "values" => (
            [
                unhex(&e["key_hash"]),
                (!num(&e["version"])).to_be_bytes().to_vec(),
            ]
            .concat(),
            stored_value(&e["state_value"]),
        ),
        "stale" => {
            let mut key = u64_be(&e["since"]);
            let value = if let Some(nodes) = e.get("nodes") {
                key.push(0);
                let nodes = nodes.as_array().unwrap();
                let mut out = len(nodes.len());
                for n in nodes {
                    out.extend(bytes_vec(&node_key(
                        num(&n["version"]),
                        n["path"].as_str().unwrap(),
                    )));
                }
                out
            } else {
                key.push(1);
                let values = e["values"].as_array().unwrap();
                let mut out = len(values.len());
                for v in values {
                    out.extend(unhex(&v["key_hash"]));
                    out.extend(num(&v["bound"]).to_le_bytes());
                }
                out
            };
            (key, value)
        }
        "journal" => {
            let changes = e["changes"].as_array().unwrap();
            let mut value = [unhex(&e["root"]), len(changes.len())].concat();
            for c in changes {
                value.extend(unhex(&c["key_hash"]));
                value.extend(option(
                    c["value_hash"].as_str().map(|_| unhex(&c["value_hash"])),
                ));
                value.extend(option(
                    c["replaced"].as_u64().map(|v| v.to_le_bytes().to_vec()),
                ));
            }
            (u64_be(&e["version"]), value)
        }
        "checkpoint" => {
            let mut key = u64_be(&e["image"]);
            if let Some(header) = e.get("header") {
                key.extend(u32::MAX.to_be_bytes());
                let value = [
                    u32_le(&header["format"]).to_vec(),
                    num(&header["version"]).to_le_bytes().to_vec(),
                    num(&header["leaves"]).to_le_bytes().to_vec(),
                    unhex(&header["root"]),
                    u32_le(&header["chunks"]).to_vec(),
                ]
                .concat();
                return (key, value);
            }
            key.extend(u32::try_from(num(&e["chunk"])).unwrap().to_be_bytes());
            let mut leaves = Vec::new();
            for leaf in e["leaves"].as_array().unwrap() {
                leaves.extend(unhex(&leaf["key_hash"]));
                leaves.extend(unhex(&leaf["leaf_hash"]));
                leaves.extend(num(&leaf["version"]).to_le_bytes());
            }
            let digest = keccak256(&leaves);
            (key, [leaves, digest.to_vec()].concat())
        }
        "meta" => {
            let name = e["name"].as_str().unwrap();
            match name {
                "format" => (name.as_bytes().to_vec(), u32_le(&e["format"]).to_vec()),
                "latest" | "first" | "oldest" => (name.as_bytes().to_vec(), u64_be(&e["version"])),
                "root/" => {
                    let key = [name.as_bytes().to_vec(), u64_be(&e["version"])].concat();
                    let value = match (&e["root_node"], &e["root"]) {
                        // format 1: Option<(node key as SCALE bytes, hash)>
                        (Value::Null, Value::Null) => vec![0],
                        (Value::Null, root) => unhex(root),
                        (node, _) => option(Some(
                            [
                                bytes_vec(&node_key(
                                    num(&node["version"]),
                                    node["path"].as_str().unwrap(),
                                )),
                                unhex(&node["hash"]),
                            ]
                            .concat(),
                        )),
                    };
                    (key, value)
                }
                "image/" => (
                    [name.as_bytes().to_vec(), u64_be(&e["version"])].concat(),
                    Vec::new(),
                ),
                other => panic!("unknown meta record {other}"),
            }
        }
        other => panic!("unknown column {other}"),
    }
}

// ---- the stores, and the fields of what they hold ----

fn key_text(key_hash: &[u8]) -> Option<&'static str> {
    COMMITS
        .iter()
        .flat_map(|c| c.1.iter())
        .map(|(k, _)| *k)
        .find(|k| keccak256(k.as_bytes())[..] == *key_hash)
}

fn text_value(bytes: Option<Vec<u8>>) -> Value {
    bytes.map_or(Value::Null, |b| json!(String::from_utf8(b).unwrap()))
}

fn path_hex(key: &cairn_state::NodeKey) -> String {
    key.path
        .nibbles()
        .iter()
        .map(|n| format!("{n:x}"))
        .collect()
}

fn node_fields(node: &Node) -> Value {
    match node {
        Node::Leaf(leaf) => json!({"leaf": {
            "key_hash": h(leaf.key_hash),
            "value_hash": h(leaf.value_hash),
        }}),
        Node::Internal(internal) => {
            let children: Vec<Value> = internal
                .children
                .iter()
                .enumerate()
                .filter_map(|(slot, c)| {
                    c.map(|c| {
                        json!({"slot": slot, "hash": h(c.hash), "version": c.version, "leaf": c.is_leaf})
                    })
                })
                .collect();
            json!({ "internal": children })
        }
    }
}

fn entry(key: &[u8], value: &[u8], fields: Value) -> Value {
    let mut out = json!({"key_bytes": h(key), "value_bytes": h(value)});
    for (k, v) in fields.as_object().unwrap() {
        out[k] = v.clone();
    }
    out
}

fn meta_fields(key: &[u8], value: &[u8], format: u32) -> Value {
    for name in ["format", "latest", "first", "oldest"] {
        if key == name.as_bytes() {
            return if name == "format" {
                json!({"name": name, "format": u32::decode_all(&mut &value[..]).unwrap()})
            } else {
                json!({"name": name, "version": u64::from_be_bytes(value.try_into().unwrap())})
            };
        }
    }
    for name in ["root/", "image/"] {
        if let Some(rest) = key.strip_prefix(name.as_bytes()) {
            let version = u64::from_be_bytes(rest.try_into().unwrap());
            return match (name, format) {
                ("image/", _) => json!({"name": name, "version": version}),
                (_, 1) => {
                    let root = Option::<RootRef>::decode_all(&mut &value[..]).unwrap();
                    json!({"name": name, "version": version, "root_node": root.map(|r| json!({
                        "version": r.key.version, "path": path_hex(&r.key), "hash": h(r.hash),
                    }))})
                }
                _ => json!({"name": name, "version": version, "root": h(value)}),
            };
        }
    }
    panic!("unexpected meta key {}", h(key))
}

/// Fields of an entry of the node store's `column`.
fn node_store_fields(column: Column, key: &[u8], value: &[u8]) -> Value {
    match column {
        Column::Nodes => {
            let node_key = cairn_state::NodeKey::from_bytes(key).unwrap();
            let node = Node::decode_all(&mut &value[..]).unwrap();
            json!({"version": node_key.version, "path": path_hex(&node_key),
                   "node": node_fields(&node), "hash": h(node.hash())})
        }
        Column::Latest => json!({
            "state_key": String::from_utf8(key.to_vec()).unwrap(),
            "state_value": String::from_utf8(value.to_vec()).unwrap(),
        }),
        Column::History => history_fields(key, value, false),
        Column::Stale => {
            let since = u64::from_be_bytes(key[..8].try_into().unwrap());
            if key[8] == 0 {
                let nodes = Vec::<cairn_state::NodeKey>::decode_all(&mut &value[..]).unwrap();
                json!({"since": since, "nodes": nodes.iter().map(|k| json!({
                    "version": k.version, "path": path_hex(k),
                })).collect::<Vec<_>>()})
            } else {
                let values = Vec::<(Hash, u64)>::decode_all(&mut &value[..]).unwrap();
                json!({"since": since, "values": values.iter().map(|(kh, bound)| json!({
                    "key_hash": h(kh), "bound": bound,
                })).collect::<Vec<_>>()})
            }
        }
        Column::Meta => meta_fields(key, value, 1),
        Column::Aux => json!({}),
    }
}

/// Fields of a `kh ‖ version` entry; `inverted`: the version is stored as
/// its bitwise complement (the resident store's `values`).
fn history_fields(key: &[u8], value: &[u8], inverted: bool) -> Value {
    let value = Option::<Vec<u8>>::decode_all(&mut &value[..]).unwrap();
    let stored = u64::from_be_bytes(key[32..].try_into().unwrap());
    json!({
        "state_key": key_text(&key[..32]),
        "key_hash": h(&key[..32]),
        "version": if inverted { !stored } else { stored },
        "state_value": text_value(value),
    })
}

/// Fields of an entry of the resident store's column family `cf`.
fn resident_fields(cf: &str, key: &[u8], value: &[u8]) -> Value {
    match cf {
        "values" => history_fields(key, value, true),
        "journal" => {
            type Change = (Hash, Option<Hash>, Option<u64>);
            let (root, changes) = <(Hash, Vec<Change>)>::decode_all(&mut &value[..]).unwrap();
            json!({
                "version": u64::from_be_bytes(key.try_into().unwrap()),
                "root": h(root),
                "changes": changes.iter().map(|(kh, vh, replaced)| json!({
                    "key_hash": h(kh), "value_hash": vh.map(h), "replaced": replaced,
                })).collect::<Vec<_>>(),
            })
        }
        "checkpoint" => {
            let image = u64::from_be_bytes(key[..8].try_into().unwrap());
            let chunk = u32::from_be_bytes(key[8..].try_into().unwrap());
            if chunk == u32::MAX {
                let (format, version, leaves, root, chunks) =
                    <(u32, u64, u64, Hash, u32)>::decode_all(&mut &value[..]).unwrap();
                return json!({"image": image, "header": {
                    "format": format, "version": version, "leaves": leaves,
                    "root": h(root), "chunks": chunks,
                }});
            }
            let body = &value[..value.len() - 32];
            let leaves: Vec<Value> = body
                .chunks(72)
                .map(|l| {
                    json!({
                        "key_hash": h(&l[..32]),
                        "leaf_hash": h(&l[32..64]),
                        "version": u64::from_le_bytes(l[64..].try_into().unwrap()),
                    })
                })
                .collect();
            json!({"image": image, "chunk": chunk, "leaves": leaves})
        }
        "meta" => meta_fields(key, value, 2),
        other => panic!("unexpected column family {other}"),
    }
}

const NODE_COLUMNS: [Column; 5] = [
    Column::Nodes,
    Column::Latest,
    Column::History,
    Column::Stale,
    Column::Meta,
];
const RESIDENT_CFS: [&str; 4] = ["values", "journal", "checkpoint", "meta"];

type Dump = BTreeMap<String, Vec<(Vec<u8>, Vec<u8>)>>;

/// Every entry of the node store's columns after the commits.
fn node_store_dump(commits: &Changes, retention: Retention) -> Dump {
    let backend = MemoryBackend::new();
    let mut store = Store::with_backend(backend.clone(), StoreOptions { retention }).unwrap();
    for (version, changes) in commits {
        store.commit(*version, changes, &AuxWrites::new()).unwrap();
    }
    NODE_COLUMNS
        .iter()
        .map(|c| {
            let entries = backend.scan(*c, &[], &[0xff; 64], usize::MAX).unwrap();
            (c.name().to_string(), entries)
        })
        .collect()
}

/// Every entry of the resident store's column families after the commits
/// and a clean close (which writes the image of the latest version).
fn resident_dump(commits: &Changes, retention: Retention) -> Dump {
    let dir = tempfile::tempdir().unwrap();
    {
        let options = ResidentOptions {
            retention,
            checkpoint_interval: 1000,
            recent_versions: 8,
            rocks: ResidentRocksOptions {
                block_cache_bytes: 1 << 20,
                write_buffer_bytes: 1 << 20,
                sync_writes: false,
                statistics: false,
            },
        };
        let mut store = ResidentStore::open(dir.path(), options).unwrap();
        for (version, changes) in commits {
            store.commit(*version, changes, &AuxWrites::new()).unwrap();
        }
    }
    let names = rocksdb::DB::list_cf(&rocksdb::Options::default(), dir.path()).unwrap();
    let db =
        rocksdb::DB::open_cf_for_read_only(&rocksdb::Options::default(), dir.path(), &names, false)
            .unwrap();
    RESIDENT_CFS
        .iter()
        .map(|name| {
            let handle = db.cf_handle(name).unwrap();
            let entries = db
                .iterator_cf(handle, rocksdb::IteratorMode::Start)
                .map(|item| {
                    let (k, v) = item.unwrap();
                    (k.to_vec(), v.to_vec())
                })
                .collect();
            (name.to_string(), entries)
        })
        .collect()
}

fn dump_json(dump: &Dump, fields: impl Fn(&str, &[u8], &[u8]) -> Value) -> Value {
    let mut out = serde_json::Map::new();
    for (column, entries) in dump {
        let list: Vec<Value> = entries
            .iter()
            .map(|(k, v)| entry(k, v, fields(column, k, v)))
            .collect();
        out.insert(column.clone(), Value::Array(list));
    }
    Value::Object(out)
}

fn column_of(name: &str) -> Column {
    *NODE_COLUMNS.iter().find(|c| c.name() == name).unwrap()
}

fn generate() -> Value {
    let mut state: BTreeMap<&str, &str> = BTreeMap::new();
    let mut roots = Vec::new();
    for commit in COMMITS {
        for (k, v) in commit.1 {
            match v {
                Some(v) => state.insert(k, v),
                None => state.remove(k),
            };
        }
        let root = reference_root(state.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())));
        roots.push(json!({"version": commit.0, "root": h(root.0)}));
    }
    let commits: Vec<Value> = COMMITS
        .iter()
        .map(|c| {
            json!({"version": c.0, "changes": c.1.iter().map(|(k, v)| json!({
                "key": k, "key_hash": h(keccak256(k.as_bytes())), "value": v,
            })).collect::<Vec<_>>()})
        })
        .collect();
    let stores = |dump: &dyn Fn(Retention) -> Value| -> Vec<Value> {
        RETENTIONS
            .iter()
            .map(|r| json!({"retention": retention_json(*r), "columns": dump(*r)}))
            .collect()
    };
    json!({
        "description": "Storage vectors (specs/state.md 6.1 to 6.3 and appendix A): commits of keys and values (UTF-8 text; value null deletes) at versions, the root of each version, and every entry the node store (format 1) and the resident store (format 3, after a clean close, which writes the image of the latest version) then hold in each column, under two retentions. Every entry gives its key and value bytes (key_bytes, value_bytes) beside the fields they encode. The aux column is empty here (no chain records). Checked by state/tests/storage_vectors.rs.",
        "commits": commits,
        "roots": roots,
        "node_store": stores(&|r| dump_json(&node_store_dump(&changes_of(COMMITS), r), |c, k, v| {
            node_store_fields(column_of(c), k, v)
        })),
        "resident_store": stores(&|r| dump_json(&resident_dump(&changes_of(COMMITS), r), resident_fields)),
    })
}

/// What a dump in the file lists, as bytes.
fn listed(columns: &Value) -> Dump {
    columns
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, entries)| {
            let list = entries
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (unhex(&e["key_bytes"]), unhex(&e["value_bytes"])))
                .collect();
            (name.clone(), list)
        })
        .collect()
}

#[test]
fn storage_vectors_hold() {
    if std::env::var_os("CAIRN_REGENERATE_VECTORS").is_some() {
        std::fs::write(
            path(),
            serde_json::to_string_pretty(&generate()).unwrap() + "\n",
        )
        .unwrap();
    }
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();

    // Roots by definition (section 3) from the commits.
    let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut roots = BTreeMap::new();
    for (commit, root) in file["commits"]
        .as_array()
        .unwrap()
        .iter()
        .zip(file["roots"].as_array().unwrap())
    {
        assert_eq!(commit["version"], root["version"]);
        for c in commit["changes"].as_array().unwrap() {
            let key = c["key"].as_str().unwrap().as_bytes().to_vec();
            assert_eq!(h(keccak256(&key)), c["key_hash"].as_str().unwrap());
            match c["value"].as_str() {
                Some(v) => state.insert(key, v.as_bytes().to_vec()),
                None => state.remove(&key),
            };
        }
        let computed = reference_root(state.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        assert_eq!(h(computed.0), root["root"].as_str().unwrap());
        roots.insert(num(&root["version"]), computed.0);
    }

    // The value each commit set, by key hash and version.
    let set_at: BTreeMap<(Hash, u64), Vec<u8>> = changes_from_file(&file)
        .into_iter()
        .flat_map(|(version, changes)| {
            changes
                .into_iter()
                .filter_map(move |(k, v)| v.map(|v| ((keccak256(&k), version), v)))
        })
        .collect();

    // Every stored key and value rebuilt from its fields.
    for store in ["node_store", "resident_store"] {
        for case in file[store].as_array().unwrap() {
            for (column, entries) in case["columns"].as_object().unwrap() {
                for e in entries.as_array().unwrap() {
                    let (key, value) = rebuild(column, e);
                    assert_eq!(h(key), e["key_bytes"].as_str().unwrap(), "{store} {column}");
                    assert_eq!(
                        h(value),
                        e["value_bytes"].as_str().unwrap(),
                        "{store} {column} {e}"
                    );
                }
            }
        }
    }

    // Node store: every node hashes as A.1 says, every child reference
    // names a stored node with that hash (archive keeps them all), each
    // version's root record names a node hashing to the root.
    let archive = &file["node_store"][0];
    assert_eq!(archive["retention"], "archive");
    let nodes: BTreeMap<(u64, String), &Value> = archive["columns"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                (num(&e["version"]), e["path"].as_str().unwrap().to_string()),
                e,
            )
        })
        .collect();
    let mut deep_internal = false;
    for ((_, path), e) in &nodes {
        assert_eq!(h(node_hash(&e["node"])), e["hash"].as_str().unwrap());
        if let Some(children) = e["node"]["internal"].as_array() {
            deep_internal |= !path.is_empty();
            for child in children {
                let child_path = format!("{path}{:x}", num(&child["slot"]));
                let target = nodes[&(num(&child["version"]), child_path)];
                assert_eq!(target["hash"], child["hash"]);
                assert_eq!(
                    target["node"].get("leaf").is_some(),
                    child["leaf"].as_bool().unwrap()
                );
            }
        }
    }
    assert!(
        deep_internal,
        "the vector should hold an internal node below the root"
    );
    for e in archive["columns"]["meta"].as_array().unwrap() {
        if e["name"] == "root/" {
            let node = &e["root_node"];
            let target = nodes[&(num(&node["version"]), node["path"].as_str().unwrap().into())];
            assert_eq!(target["hash"], node["hash"]);
            assert_eq!(
                h(roots[&num(&e["version"])]),
                node["hash"].as_str().unwrap()
            );
        }
    }
    // Resident store: roots recorded and journalled are the roots; image
    // leaves carry the leaf hash of the key's value at their version.
    for case in file["resident_store"].as_array().unwrap() {
        for e in case["columns"]["meta"].as_array().unwrap() {
            if e["name"] == "root/" {
                assert_eq!(h(roots[&num(&e["version"])]), e["root"].as_str().unwrap());
            }
        }
        for e in case["columns"]["journal"].as_array().unwrap() {
            assert_eq!(h(roots[&num(&e["version"])]), e["root"].as_str().unwrap());
        }
        for e in case["columns"]["checkpoint"].as_array().unwrap() {
            for leaf in e["leaves"].as_array().into_iter().flatten() {
                let key_hash = hash_of(&leaf["key_hash"]);
                let version = num(&leaf["version"]);
                let value = set_at[&(key_hash, version)].as_slice();
                let value_hash = keccak256(value);
                let leaf_hash = keccak256(&[&[0u8][..], &key_hash, &value_hash].concat());
                assert_eq!(h(leaf_hash), leaf["leaf_hash"].as_str().unwrap());
            }
        }
    }

    // The real stores hold exactly these entries.
    for (store, dump) in [
        (
            "node_store",
            &node_store_dump as &dyn Fn(&Changes, Retention) -> Dump,
        ),
        ("resident_store", &resident_dump),
    ] {
        for case in file[store].as_array().unwrap() {
            let retention = retention_from(&case["retention"]);
            assert_eq!(
                dump(&changes_from_file(&file), retention),
                listed(&case["columns"]),
                "{store} {retention:?}"
            );
        }
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
