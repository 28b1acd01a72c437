//! Contract metadata (`specs/abi.md` section 8) in the committed artifacts:
//! what `entry_points!` wrote, that validation accepts it and the prepared
//! module keeps it, that it decodes real calls, results and events, and
//! that a deploy keeps it in the code in state.

use cairn_engine::prepare::{GasSchedule, ValidationLimits, prepare_code_checked};
use cairn_host_api::metadata::{ContractMetadata, SECTION, Type, find_section};
use cairn_host_api::typed::{decode_event, decode_result, encode_args};
use serde_json::json;

use super::{Chain, account, artifact, deploy_token, success_data};
use cairn_engine::runtime::{Message, MessageKind};
use cairn_host_api::world::U256;

const CONTRACTS: [&str; 11] = [
    "abi_echo",
    "counter",
    "multisig",
    "router",
    "token",
    "deep_recursion",
    "giant_return",
    "infinite_loop",
    "memory_bomb",
    "storage_spam",
    "uses_floats",
];

fn metadata(name: &str) -> ContractMetadata {
    ContractMetadata::from_code(&artifact(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .unwrap_or_else(|| panic!("{name} has no {SECTION} section"))
}

#[test]
fn every_artifact_carries_metadata_that_validation_accepts_and_prepare_keeps() {
    for name in CONTRACTS {
        let code = artifact(name);
        let meta = metadata(name);
        assert!(meta.sdk.starts_with("cairn-sdk "), "{name}: {}", meta.sdk);
        assert!(!meta.methods.is_empty(), "{name}");
        if name == "uses_floats" {
            continue; // rejected by validation for its floats, not its metadata
        }
        let prepared =
            prepare_code_checked(&code, &GasSchedule::v2(), &ValidationLimits::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            find_section(&prepared.code).unwrap(),
            find_section(&code).unwrap(),
            "{name}: the prepared module keeps the section byte for byte"
        );
    }
}

#[test]
fn token_metadata_describes_its_abi() {
    let meta = metadata("token");
    assert_eq!(
        meta.deploy,
        Some(vec![Type::String, Type::String, Type::U256])
    );
    let sigs: Vec<String> = meta
        .methods
        .iter()
        .map(|m| {
            let args: Vec<String> = m.args.iter().map(ToString::to_string).collect();
            format!("{}({}) -> {}", m.name, args.join(", "), m.result)
        })
        .collect();
    assert_eq!(
        sigs,
        [
            "name() -> String",
            "symbol() -> String",
            "decimals() -> u8",
            "total_supply() -> U256",
            "balance_of(Address) -> U256",
            "allowance(Address, Address) -> U256",
            "transfer(Address, U256) -> ()",
            "approve(Address, U256) -> ()",
            "transfer_from(Address, Address, U256) -> ()",
        ]
    );
    let transfer = &meta.events[0];
    assert_eq!(transfer.name, "Transfer");
    let fields: Vec<(&str, bool)> = transfer
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.indexed))
        .collect();
    assert_eq!(fields, [("from", true), ("to", true), ("amount", false)]);
    // Multisig: arrays of signatures, and a nonce as an indexed u64.
    let multisig = metadata("multisig");
    assert_eq!(
        multisig.method("execute").unwrap().args[3].to_string(),
        "Vec<[u8; 65]>"
    );
    assert_eq!(metadata("counter").events[0].fields.len(), 2);
    assert_eq!(metadata("router").deploy, None);
    // The section is small: it is paid per byte at deploy.
    let token = artifact("token");
    let payload = find_section(&token).unwrap().unwrap();
    assert!(payload.len() < 256, "{} bytes", payload.len());
}

#[test]
fn typed_calls_through_metadata_run_on_the_token() {
    let meta = metadata("token");
    let mut chain = Chain::new();
    let owner = account(0);
    let token = deploy_token(&mut chain, owner, 1000);
    let to = format!("0x{}", "22".repeat(20));
    let transfer = meta.method("transfer").unwrap();
    let mut input = transfer.selector().to_vec();
    input.extend(encode_args(&transfer.args, &json!([to, "250"])).unwrap());
    let outcome = chain.run(&Message {
        origin: owner,
        caller: owner,
        target: token,
        value: U256::zero(),
        input,
        gas_limit: super::GAS,
        kind: MessageKind::Call,
    });
    let data = success_data(&outcome, "transfer");
    assert_eq!(decode_result(&transfer.result, &data).unwrap(), json!([]));
    let log = &outcome.logs[0];
    let event = decode_event(&meta, &log.topics, &log.data)
        .unwrap()
        .unwrap();
    assert_eq!(event.name, "Transfer");
    assert_eq!(
        serde_json::Value::Object(event.fields),
        json!({"from": cairn_chain::codec::to_hex(owner), "to": to, "amount": "250"})
    );
}

#[test]
fn a_deploy_keeps_the_metadata_in_the_code_in_state() {
    let mut t = cairn_testkit::TestChain::new();
    let owner = t.account(0);
    let path = cairn_tests::repo_root().join("contracts/artifacts/token.wasm");
    let token = t.deploy(
        owner,
        &path,
        &("Token".to_string(), "TKN".to_string(), U256::from(1)),
    );
    let code_hash = t
        .chain()
        .account(&token.address)
        .unwrap()
        .code_hash
        .unwrap();
    let reader = t.chain().reader();
    let stored = reader.at_head().code(&code_hash).unwrap().unwrap();
    assert_eq!(stored, artifact("token"));
    assert_eq!(
        ContractMetadata::from_code(&stored).unwrap(),
        Some(metadata("token"))
    );
}
