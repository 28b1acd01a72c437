//! `specs/vectors/abi/vectors.json`: the worked examples of `specs/abi.md`,
//! each with its inputs (method names, typed argument and result values,
//! revert payloads, event fields, storage items, proposal fields) beside the
//! bytes. The check rebuilds every byte string from the inputs with the host
//! encoder, decodes it back to the same values, classifies every revert
//! with `decode_revert`, and runs the cases that name a contract through
//! the committed artifacts (a token transfer's log, a counter's result, the
//! multisig's proposal hash); then compares the file with what this code
//! generates. `CAIRN_REGENERATE_VECTORS=1` rewrites it.

use super::*;
use cairn_engine::runtime::Log;
use cairn_host_api::abi::{AbiError, encode_revert_reason, selector};
use serde_json::{Value, json};

const PATH: &str = "specs/vectors/abi/vectors.json";

fn h(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

/// A value of the vectors: its Rust type, read from and written to JSON.
trait Typed: Encode + Decode + PartialEq + std::fmt::Debug {
    fn from_json(v: &Value) -> Self;
    fn to_json(&self) -> Value;
}

impl Typed for () {
    fn from_json(v: &Value) -> Self {
        assert!(v.is_null());
    }
    fn to_json(&self) -> Value {
        Value::Null
    }
}

impl Typed for bool {
    fn from_json(v: &Value) -> Self {
        v.as_bool().unwrap()
    }
    fn to_json(&self) -> Value {
        json!(self)
    }
}

macro_rules! small_int {
    ($($t:ty),*) => {$(
        impl Typed for $t {
            fn from_json(v: &Value) -> Self {
                <$t>::try_from(v.as_u64().unwrap()).unwrap()
            }
            fn to_json(&self) -> Value {
                json!(self)
            }
        }
    )*};
}
small_int!(u8, u32, u64);

impl Typed for u128 {
    fn from_json(v: &Value) -> Self {
        v.as_str().unwrap().parse().unwrap()
    }
    fn to_json(&self) -> Value {
        json!(self.to_string())
    }
}

impl Typed for U256 {
    fn from_json(v: &Value) -> Self {
        U256::from_dec_str(v.as_str().unwrap()).unwrap()
    }
    fn to_json(&self) -> Value {
        json!(self.to_string())
    }
}

impl Typed for Address {
    fn from_json(v: &Value) -> Self {
        Address::from_slice(&unhex(v))
    }
    fn to_json(&self) -> Value {
        json!(h(self))
    }
}

impl Typed for H256 {
    fn from_json(v: &Value) -> Self {
        H256::from_slice(&unhex(v))
    }
    fn to_json(&self) -> Value {
        json!(h(self))
    }
}

impl Typed for String {
    fn from_json(v: &Value) -> Self {
        v.as_str().unwrap().to_string()
    }
    fn to_json(&self) -> Value {
        json!(self)
    }
}

impl Typed for Vec<u8> {
    fn from_json(v: &Value) -> Self {
        unhex(v)
    }
    fn to_json(&self) -> Value {
        json!(h(self))
    }
}

macro_rules! byte_array {
    ($($n:literal),*) => {$(
        impl Typed for [u8; $n] {
            fn from_json(v: &Value) -> Self {
                unhex(v).try_into().unwrap()
            }
            fn to_json(&self) -> Value {
                json!(h(self))
            }
        }
    )*};
}
byte_array!(4, 40);

impl Typed for Vec<Address> {
    fn from_json(v: &Value) -> Self {
        v.as_array()
            .unwrap()
            .iter()
            .map(Address::from_json)
            .collect()
    }
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(Typed::to_json).collect())
    }
}

impl<T: Typed> Typed for Option<T> {
    fn from_json(v: &Value) -> Self {
        (!v.is_null()).then(|| T::from_json(v))
    }
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, Typed::to_json)
    }
}

impl<A: Typed, B: Typed> Typed for (A, B) {
    fn from_json(v: &Value) -> Self {
        (A::from_json(&v[0]), B::from_json(&v[1]))
    }
    fn to_json(&self) -> Value {
        json!([self.0.to_json(), self.1.to_json()])
    }
}

/// Runs `$f::<T>($arg)` for the type named `$ty`.
macro_rules! dispatch {
    ($ty:expr, $f:ident, $arg:expr) => {
        match $ty {
            "()" => $f::<()>($arg),
            "bool" => $f::<bool>($arg),
            "u8" => $f::<u8>($arg),
            "u32" => $f::<u32>($arg),
            "u64" => $f::<u64>($arg),
            "u128" => $f::<u128>($arg),
            "U256" => $f::<U256>($arg),
            "Address" => $f::<Address>($arg),
            "H256" => $f::<H256>($arg),
            "String" => $f::<String>($arg),
            "Vec<u8>" => $f::<Vec<u8>>($arg),
            "[u8; 4]" => $f::<[u8; 4]>($arg),
            "[u8; 40]" => $f::<[u8; 40]>($arg),
            "Vec<Address>" => $f::<Vec<Address>>($arg),
            "Option<u64>" => $f::<Option<u64>>($arg),
            "Option<Address>" => $f::<Option<Address>>($arg),
            "(u64, u64)" => $f::<(u64, u64)>($arg),
            "(U256, String)" => $f::<(U256, String)>($arg),
            other => panic!("no type {other} in the vectors"),
        }
    };
}

fn encode_one<T: Typed>(v: &Value) -> Vec<u8> {
    T::from_json(v).encode()
}

fn decode_one<T: Typed>(data: &[u8]) -> Result<Value, AbiError> {
    decode_result::<T>(data).map(|t| t.to_json())
}

fn topic_one<T: Typed>(v: &Value) -> H256 {
    topic(&T::from_json(v))
}

/// SCALE bytes of a typed value `{"type": .., "value": ..}`.
fn encode_typed(typed: &Value) -> Vec<u8> {
    dispatch!(typed["type"].as_str().unwrap(), encode_one, &typed["value"])
}

fn decode_typed(ty: &str, data: &[u8]) -> Result<Value, AbiError> {
    dispatch!(ty, decode_one, data)
}

fn typed<T: Typed>(ty: &str, value: &T) -> Value {
    json!({"type": ty, "value": value.to_json()})
}

fn concat(args: &[Value]) -> Vec<u8> {
    args.iter().flat_map(encode_typed).collect()
}

fn revert_json(reason: &RevertReason) -> Value {
    match reason {
        RevertReason::Error(m) => json!({ "Error": m }),
        RevertReason::Panic(m) => json!({ "Panic": m }),
        RevertReason::UnknownSelector(s) => json!({ "UnknownSelector": h(s) }),
        RevertReason::Custom { tag, payload } => {
            json!({"Custom": {"tag": h(tag), "payload": h(payload)}})
        }
        RevertReason::Raw(data) => json!({ "Raw": h(data) }),
    }
}

fn a() -> Address {
    Address::repeat_byte(0x11)
}

fn b() -> Address {
    Address::repeat_byte(0x22)
}

fn calls() -> Vec<Value> {
    let call = |name: &str, method: Option<&str>, args: Vec<Value>| {
        let data = [
            method.map(|m| selector(m).to_vec()).unwrap_or_default(),
            concat(&args),
        ]
        .concat();
        json!({"name": name, "method": method, "args": args, "data": h(data)})
    };
    vec![
        call(
            "transfer",
            Some("transfer"),
            vec![typed("Address", &a()), typed("U256", &U256::from(1000u64))],
        ),
        call("increment", Some("increment"), vec![typed("u64", &5u64)]),
        call("get (no arguments)", Some("get"), vec![]),
        call(
            "multisig execute",
            Some("execute"),
            vec![
                typed("Address", &b()),
                typed("U256", &U256::from(400u64)),
                typed("Vec<u8>", &vec![0xde, 0xad]),
                typed("Vec<u8>", &Vec::<u8>::new()),
            ],
        ),
        call(
            "token deploy input (no selector)",
            None,
            vec![
                typed("String", &"Cairn".to_string()),
                typed("String", &"CRN".to_string()),
                typed("U256", &U256::from(1000u64)),
            ],
        ),
        call(
            "multisig deploy input (no selector)",
            None,
            vec![typed("Vec<Address>", &vec![a(), b()]), typed("u32", &2u32)],
        ),
    ]
}

fn results() -> Vec<Value> {
    let result = |name: &str, typed: Value| {
        let data = encode_typed(&typed);
        json!({"name": name, "result": typed, "data": h(data)})
    };
    vec![
        result("unit (empty return data)", typed("()", &())),
        result("counter increment(5) from 0", typed("u64", &5u64)),
        result("bool", typed("bool", &true)),
        result("u128", typed("u128", &u128::MAX)),
        result("token balance_of", typed("U256", &U256::from(1000u64))),
        result("large U256", typed("U256", &(U256::MAX - 1))),
        result("token name", typed("String", &"Cairn".to_string())),
        result("empty string", typed("String", &String::new())),
        result("bytes", typed("Vec<u8>", &vec![0xde, 0xad, 0xbe, 0xef])),
        result("address", typed("Address", &a())),
        result(
            "multisig proposal_hash",
            typed("H256", &H256::repeat_byte(0x33)),
        ),
        result("router stats", typed("(u64, u64)", &(1u64, 2u64))),
        result("None", typed("Option<u64>", &None::<u64>)),
        result("Some", typed("Option<u64>", &Some(5u64))),
        result("multisig owners", typed("Vec<Address>", &vec![a(), b()])),
        result(
            "a length of 64 (two-byte compact)",
            typed("Vec<u8>", &vec![7u8; 64]),
        ),
    ]
}

fn rejected_results() -> Vec<Value> {
    [
        ("u8", "0x0301", "trailing bytes"),
        ("()", "0x00", "trailing bytes after an empty result"),
        ("u64", "0x0102", "too short"),
        ("bool", "0x02", "a bool is 0 or 1"),
        ("String", "0x04ff", "not UTF-8"),
        ("String", "0x0861", "the length says 2 bytes, 1 follows"),
        (
            "Vec<u8>",
            "0x0100",
            "non-canonical compact length (0 in the two-byte mode)",
        ),
        ("Option<u64>", "0x02", "an Option tag is 0 or 1"),
        ("U256", "0x01", "too short"),
    ]
    .iter()
    .map(|(ty, data, why)| json!({"type": ty, "data": data, "why": why}))
    .collect()
}

fn reverts() -> Vec<Value> {
    let tagged = |name: &str, tag: &str, payload: Value| {
        let data = [selector(tag).to_vec(), encode_typed(&payload)].concat();
        json!({"name": name, "tag_name": tag, "tag": h(selector(tag)), "payload": payload,
               "data": h(&data), "decoded": revert_json(&decode_revert(&data))})
    };
    let raw = |name: &str, data: Vec<u8>| json!({"name": name, "data": h(&data), "decoded": revert_json(&decode_revert(&data))});
    let error = selector("Error").to_vec();
    let panic = selector("Panic").to_vec();
    let unknown = selector("UnknownSelector").to_vec();
    vec![
        tagged(
            "insufficient_balance",
            "Error",
            typed("String", &"insufficient balance".to_string()),
        ),
        tagged("empty reason", "Error", typed("String", &String::new())),
        tagged(
            "overflow panic",
            "Panic",
            typed("String", &"attempt to add with overflow".to_string()),
        ),
        tagged(
            "unknown selector",
            "UnknownSelector",
            typed("[u8; 4]", &[1u8, 2, 3, 4]),
        ),
        tagged(
            "counter called with the transfer selector",
            "UnknownSelector",
            typed("[u8; 4]", &selector("transfer")),
        ),
        tagged("custom error", "EchoError", typed("u32", &7u32)),
        tagged("custom tag, empty payload", "Paused", typed("()", &())),
        raw("empty data", vec![]),
        raw("shorter than a tag", vec![1, 2, 3]),
        raw("Error tag without payload", error.clone()),
        raw(
            "Error with a trailing byte",
            [error.clone(), vec![4, b'a', 0]].concat(),
        ),
        raw(
            "Error with invalid UTF-8",
            [error.clone(), vec![4, 0xff]].concat(),
        ),
        raw(
            "Error with a non-canonical length",
            [error.clone(), vec![5, 0, b'a']].concat(),
        ),
        raw("Panic cut short", [panic, vec![20, b'b', b'o']].concat()),
        raw(
            "UnknownSelector with 3 bytes",
            [unknown.clone(), vec![1, 2, 3]].concat(),
        ),
        raw(
            "UnknownSelector with 5 bytes",
            [unknown, vec![1, 2, 3, 4, 5]].concat(),
        ),
    ]
}

fn topics() -> Vec<Value> {
    let signature = |event: &str| json!({"event": event, "topic": h(event_signature(event))});
    let field = |name: &str, typed: Value| {
        let t = dispatch!(typed["type"].as_str().unwrap(), topic_one, &typed["value"]);
        json!({"name": name, "field": typed, "topic": h(t)})
    };
    vec![
        signature("Transfer"),
        signature("Executed"),
        field("address_0x11", typed("Address", &a())),
        field("u64 nonce", typed("u64", &7u64)),
        field(
            "U256 (32 bytes, no padding)",
            typed("U256", &U256::from(1000u64)),
        ),
        field("string", typed("String", &"Cairn".to_string())),
        field(
            "31 bytes (32 encoded: padded, not hashed)",
            typed("Vec<u8>", &vec![9u8; 31]),
        ),
        field(
            "32 bytes (33 encoded: hashed)",
            typed("Vec<u8>", &vec![9u8; 32]),
        ),
        field("forty_sevens", typed("[u8; 40]", &[7u8; 40])),
    ]
}

fn storage_keys() -> Vec<Value> {
    vec![
        json!({"item": "count", "key": null, "bytes": h(storage_key("count", &()))}),
        json!({"item": "balances", "key": typed("Address", &a()),
               "bytes": h(storage_key("balances", &a()))}),
        json!({"item": "allowances", "key": [typed("Address", &a()), typed("Address", &b())],
               "bytes": h(storage_key("allowances", &(a(), b())))}),
    ]
}

/// The token's Transfer log of a real transfer: account 0 deploys the
/// token (supply 10000) and sends 1000 to account 1.
fn token_transfer_log() -> Log {
    let mut chain = Chain::new();
    let token = deploy_token(&mut chain, account(0), 10_000);
    let outcome = chain.call(
        account(0),
        token,
        "transfer",
        &(account(1), U256::from(1000u64)),
    );
    assert!(outcome.is_success(), "{:?}", outcome.status);
    assert_eq!(outcome.logs.len(), 1);
    outcome.logs[0].clone()
}

fn events() -> Vec<Value> {
    let log = token_transfer_log();
    vec![json!({
        "name": "token transfer of 1000 from account 0 to account 1",
        "event": "Transfer",
        "indexed": [typed("Address", &account(0)), typed("Address", &account(1))],
        "fields": [typed("U256", &U256::from(1000u64))],
        "topics": log.topics.iter().map(h).collect::<Vec<_>>(),
        "data": h(&log.data),
    })]
}

/// The wallet `deploy_wallet` makes, and the proposal cases.
fn multisig() -> Value {
    let wallet = deploy_wallet(&mut Chain::new(), 1_000).address;
    let case = |nonce: u64, to: Address, value: u64, data: Vec<u8>| {
        let preimage = (
            "cairn-multisig",
            BLOCK.chain_id,
            wallet,
            nonce,
            to,
            U256::from(value),
            data.clone(),
        )
            .encode();
        json!({
            "domain": "cairn-multisig", "chain_id": BLOCK.chain_id, "wallet": h(wallet),
            "nonce": nonce, "to": h(to), "value": U256::from(value).to_string(), "data": h(&data),
            "preimage": h(&preimage), "hash": h(Keccak256::digest(&preimage)),
        })
    };
    json!({
        "about": "the wallet is the multisig artifact deployed by account 0 (its first deploy) with three owners and threshold 2; nonce 0 is the fresh wallet's, which its proposal_hash method answers",
        "proposals": [
            case(0, Address::from_low_u64_be(0xBEEF), 400, vec![]),
            case(1, b(), 0, encode_call("increment", &5u64)),
        ],
    })
}

fn generate() -> Value {
    let selectors: serde_json::Map<String, Value> = [
        "",
        "transfer",
        "balance_of",
        "increment",
        "get",
        "execute",
        "Error",
        "Panic",
        "UnknownSelector",
        "EchoError",
        "Paused",
    ]
    .iter()
    .map(|m| (m.to_string(), json!(h(selector(m)))))
    .collect();
    json!({
        "about": "Worked examples of specs/abi.md with their inputs. Typed values are {\"type\", \"value\"}: integers up to u64 as JSON numbers, u128 and U256 as decimal strings, addresses, hashes, byte strings and byte arrays as 0x hex, tuples and Vec<Address> as arrays, None as null. Call data is the selector (none for deploy input) then the arguments' encodings concatenated. decoded is what cairn_host_api::abi::decode_revert returns (specs/abi.md section 4). Checked by tests/e2e/contracts/abi_vectors.rs.",
        "selectors": selectors,
        "calls": calls(),
        "results": results(),
        "results_rejected": rejected_results(),
        "reverts": reverts(),
        "topics": topics(),
        "events": events(),
        "storage_keys": storage_keys(),
        "multisig": multisig(),
    })
}

fn list<'v>(file: &'v Value, what: &str) -> &'v Vec<Value> {
    file[what].as_array().unwrap_or_else(|| panic!("{what}"))
}

#[test]
fn abi_vectors_hold() {
    let path = cairn_tests::repo_root().join(PATH);
    if std::env::var_os("CAIRN_REGENERATE_VECTORS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&generate()).unwrap() + "\n",
        )
        .unwrap();
    }
    let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for (name, sel) in file["selectors"].as_object().unwrap() {
        assert_eq!(h(selector(name)), sel.as_str().unwrap(), "selector({name})");
    }
    for call in list(&file, "calls") {
        let args = call["args"].as_array().unwrap();
        let prefix = call["method"]
            .as_str()
            .map(|m| selector(m).to_vec())
            .unwrap_or_default();
        assert_eq!(
            h([prefix, concat(args)].concat()),
            call["data"].as_str().unwrap(),
            "{call}"
        );
    }
    // The same bytes from the host encoder's typed entry points.
    let data = |name: &str| {
        let call = list(&file, "calls").iter().find(|c| c["name"] == name);
        unhex(&call.unwrap_or_else(|| panic!("{name}"))["data"])
    };
    assert_eq!(
        encode_call("transfer", &(a(), U256::from(1000u64))),
        data("transfer")
    );
    assert_eq!(encode_call("increment", &5u64), data("increment"));
    assert_eq!(encode_call("get", &()), data("get (no arguments)"));
    assert_eq!(
        encode_deploy(&("Cairn".to_string(), "CRN".to_string(), U256::from(1000u64))),
        data("token deploy input (no selector)")
    );
    for result in list(&file, "results") {
        let ty = result["result"]["type"].as_str().unwrap();
        let bytes = unhex(&result["data"]);
        assert_eq!(encode_typed(&result["result"]), bytes, "{result}");
        assert_eq!(
            decode_typed(ty, &bytes).unwrap(),
            result["result"]["value"],
            "{result}"
        );
    }
    for rejected in list(&file, "results_rejected") {
        let ty = rejected["type"].as_str().unwrap();
        assert!(
            decode_typed(ty, &unhex(&rejected["data"])).is_err(),
            "{rejected}"
        );
    }
    for revert in list(&file, "reverts") {
        let bytes = unhex(&revert["data"]);
        if let Some(tag) = revert["tag_name"].as_str() {
            assert_eq!(h(selector(tag)), revert["tag"].as_str().unwrap());
            assert_eq!(
                [selector(tag).to_vec(), encode_typed(&revert["payload"])].concat(),
                bytes,
                "{revert}"
            );
        }
        assert_eq!(
            revert_json(&decode_revert(&bytes)),
            revert["decoded"],
            "{revert}"
        );
    }
    let insufficient = list(&file, "reverts")
        .iter()
        .find(|r| r["name"] == "insufficient_balance")
        .unwrap();
    assert_eq!(
        encode_revert_reason("insufficient balance"),
        unhex(&insufficient["data"])
    );
    for t in list(&file, "topics") {
        let computed = match t["event"].as_str() {
            Some(event) => event_signature(event),
            None => dispatch!(
                t["field"]["type"].as_str().unwrap(),
                topic_one,
                &t["field"]["value"]
            ),
        };
        assert_eq!(h(computed), t["topic"].as_str().unwrap(), "{t}");
    }
    for event in list(&file, "events") {
        let mut topics = vec![h(event_signature(event["event"].as_str().unwrap()))];
        for field in event["indexed"].as_array().unwrap() {
            topics.push(h(dispatch!(
                field["type"].as_str().unwrap(),
                topic_one,
                &field["value"]
            )));
        }
        assert_eq!(json!(topics), event["topics"], "{event}");
        assert_eq!(
            h(concat(event["fields"].as_array().unwrap())),
            event["data"].as_str().unwrap()
        );
    }
    // A counter deployed at 0 answers the listed increment call data with
    // the listed result, and the transfer call data with the listed revert.
    let find = |what: &str, name: &str| {
        list(&file, what)
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{what} {name}"))
            .clone()
    };
    let mut chain = Chain::new();
    let counter = chain.deploy(account(0), "counter", &0u64);
    let outcome = chain.call_raw(account(1), counter, data("increment"), U256::zero(), GAS);
    assert_eq!(
        h(success_data(&outcome, "increment")),
        find("results", "counter increment(5) from 0")["data"]
            .as_str()
            .unwrap()
    );
    let outcome = chain.call_raw(account(1), counter, data("transfer"), U256::zero(), GAS);
    let ExecStatus::Revert { data: reverted } = outcome.status else {
        panic!("{:?}", outcome.status)
    };
    assert_eq!(
        h(reverted),
        find("reverts", "counter called with the transfer selector")["data"]
            .as_str()
            .unwrap()
    );
    // The real token emits exactly the listed log.
    let log = token_transfer_log();
    let listed = &list(&file, "events")[0];
    assert_eq!(
        json!(log.topics.iter().map(h).collect::<Vec<_>>()),
        listed["topics"]
    );
    assert_eq!(h(&log.data), listed["data"].as_str().unwrap());
    for key in list(&file, "storage_keys") {
        let item = key["item"].as_str().unwrap();
        let tail: Vec<u8> = match &key["key"] {
            Value::Null => vec![],
            Value::Array(parts) => concat(parts),
            one => encode_typed(one),
        };
        assert_eq!(
            h([item.to_string().encode(), tail].concat()),
            key["bytes"].as_str().unwrap()
        );
    }
    // Multisig: the preimage from the fields, its hash, and the deployed
    // wallet's own proposal_hash for the nonce it holds.
    let mut chain = Chain::new();
    let wallet = deploy_wallet(&mut chain, 1_000).address;
    for p in list(&file["multisig"], "proposals") {
        let (to, value, data) = (
            Address::from_json(&p["to"]),
            U256::from_json(&p["value"]),
            unhex(&p["data"]),
        );
        let preimage = (
            p["domain"].as_str().unwrap(),
            p["chain_id"].as_u64().unwrap(),
            Address::from_json(&p["wallet"]),
            p["nonce"].as_u64().unwrap(),
            to,
            value,
            data.clone(),
        )
            .encode();
        assert_eq!(h(&preimage), p["preimage"].as_str().unwrap());
        assert_eq!(h(Keccak256::digest(&preimage)), p["hash"].as_str().unwrap());
        if p["nonce"] == 0 {
            assert_eq!(h(wallet), p["wallet"].as_str().unwrap());
            assert_eq!(p["chain_id"].as_u64().unwrap(), BLOCK.chain_id);
            let hash: H256 = chain.query(account(5), wallet, "proposal_hash", &(to, value, data));
            assert_eq!(h(hash), p["hash"].as_str().unwrap());
        }
    }
    assert_eq!(file, generate(), "vectors differ from the code");
}
