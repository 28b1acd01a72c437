//! Validators as processes: `cairn testnet init` writes a network of four,
//! each runs as `cairn node --config FILE` on loopback ports chosen for the
//! test, and Malachite decides every block. Every wait is bounded.

use std::path::Path;
use std::time::{Duration, Instant};

use cairn_chain::codec::to_hex;
use cairn_host_api::world::{Address, H256};
use cairn_node::client::RpcClient;
use serde_json::Value;

use crate::node::{NodeProcess, WAIT, block, block_number, rpc, transfer};
use crate::support::{cairn, ok_json, path, stderr};

const VALIDATORS: usize = 4;

/// One network at a time: four validators each already share two cores.
static ONE_NETWORK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_network() -> std::sync::MutexGuard<'static, ()> {
    ONE_NETWORK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A base port whose p2p (BASE..BASE+N) and RPC (BASE+100..) ports are all
/// free now; each test asks for its own.
fn free_base_port() -> u16 {
    let seed = u64::from(std::process::id())
        ^ u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos(),
        );
    cairn_node::testnet::free_base_port(VALIDATORS, seed).expect("a free block of loopback ports")
}

/// A network of four validators in `dir`, not yet started.
fn init(dir: &Path, extra: &[&str]) -> u16 {
    let base = free_base_port();
    let base_text = base.to_string();
    let mut args = vec![
        "testnet",
        "init",
        "--dir",
        path(dir),
        "--base-port",
        &base_text,
        "--timeout-propose-ms",
        "1000",
        "--timeout-vote-ms",
        "500",
        "--block-time-ms",
        "200",
    ];
    args.extend_from_slice(extra);
    let out = cairn(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    base
}

fn config(dir: &Path, i: usize) -> std::path::PathBuf {
    dir.join(format!("validator-{i}")).join("config.toml")
}

fn start_all(dir: &Path) -> Vec<Option<NodeProcess>> {
    (0..VALIDATORS)
        .map(|i| Some(NodeProcess::with_config(&config(dir, i))))
        .collect()
}

fn height(node: &NodeProcess) -> u64 {
    block_number(&node.client())
}

/// Waits (bounded) until `node` has committed `target`.
fn wait_height(node: &NodeProcess, target: u64, limit: Duration) {
    let started = Instant::now();
    loop {
        let h = height(node);
        if h >= target {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "height {h}, not {target}, after {limit:?}\nstderr: {}",
            node.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every listed node has the same block hash, state root and receipts
/// root at every height 1..=to.
fn assert_agree(nodes: &[&NodeProcess], to: u64) {
    let clients: Vec<RpcClient> = nodes.iter().map(|n| n.client()).collect();
    for number in 1..=to {
        let blocks: Vec<Value> = clients.iter().map(|c| block(c, number)).collect();
        for (i, b) in blocks.iter().enumerate().skip(1) {
            for field in ["hash", "stateRoot", "receiptsRoot", "transactionsRoot"] {
                assert_eq!(
                    b[field], blocks[0][field],
                    "validator {i} differs from validator 0 in {field} at block {number}"
                );
            }
        }
    }
}

fn certificate(client: &RpcClient, number: u64) -> Value {
    rpc(
        client,
        "cairn_getCommitCertificate",
        vec![format!("0x{number:x}").into()],
    )
}

fn stop_all(nodes: Vec<Option<NodeProcess>>) {
    for node in nodes.into_iter().flatten() {
        let (status, err) = node.stop_with("TERM");
        assert!(status.success(), "{err}");
    }
}

fn replay_verifies(dir: &Path, i: usize) -> Value {
    let data = dir.join(format!("validator-{i}")).join("data");
    let replayed = ok_json(&["replay", "--data-dir", path(&data), "--json"]);
    assert_eq!(replayed["verified"], true, "{replayed}");
    assert!(
        replayed["certificates"].as_u64().unwrap() >= 1,
        "{replayed}"
    );
    assert_eq!(replayed["certificates"], replayed["blocks"], "{replayed}");
    replayed
}

/// Four validators reach height 10 with identical blocks and roots at
/// every height; transactions sent to different validators are each
/// included exactly once; certificates carry more than 2/3 of the power;
/// `cairn replay` verifies every validator's data directory, certificates
/// included.
#[test]
fn four_validators_agree_include_each_tx_once_and_replay_verifies() {
    let _network = one_network();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir, &[]);
    let nodes = start_all(dir);
    let live: Vec<&NodeProcess> = nodes.iter().flatten().collect();
    wait_height(live[0], 2, WAIT);
    // Three transfers from each of four accounts, each account sending to a
    // different validator.
    let chain_id = live[0].client().chain_id().unwrap();
    let mut hashes: Vec<H256> = Vec::new();
    for (account, node) in live.iter().enumerate() {
        let client = node.client();
        for nonce in 0..3 {
            let tx = transfer(
                chain_id,
                account,
                nonce,
                Address::repeat_byte(0x99),
                1 + nonce,
            );
            hashes.push(client.send(&tx).unwrap());
        }
    }
    for hash in &hashes {
        for node in &live {
            node.client()
                .wait_for_receipt(hash, WAIT)
                .unwrap_or_else(|e| panic!("{hash:?}: {e}\n{}", node.stderr()));
        }
    }
    // Every validator, not only the first: a decision needs three of the
    // four, so one of them may trail the others by a height or two.
    for node in &live {
        wait_height(node, 10, WAIT);
    }
    let to = live.iter().map(|n| height(n)).min().unwrap();
    assert!(to >= 10, "every validator at height 10 or more");
    assert_agree(&live, to);
    // Each transaction is in exactly one block.
    let client = live[0].client();
    let mut seen = std::collections::BTreeMap::new();
    for number in 1..=to {
        let b = block(&client, number);
        for tx in b["transactions"].as_array().unwrap() {
            *seen.entry(tx.as_str().unwrap().to_owned()).or_insert(0) += 1;
        }
    }
    for hash in &hashes {
        assert_eq!(seen.get(&to_hex(hash)), Some(&1), "{hash:?} included once");
    }
    // Certificates: more than two thirds of four validators signed.
    for number in [1, to] {
        let c = certificate(&client, number);
        assert_eq!(c["block_hash"], block(&client, number)["hash"], "{c}");
        assert!(c["signatures"].as_array().unwrap().len() >= 3, "{c}");
    }
    stop_all(nodes);
    for i in 0..VALIDATORS {
        replay_verifies(dir, i);
    }
}

/// SIGKILL one validator: the other three keep finalizing. Restarted, it
/// catches up by sync and agrees with them.
#[test]
fn a_killed_validator_is_not_missed_and_catches_up() {
    let _network = one_network();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir, &[]);
    let mut nodes = start_all(dir);
    wait_height(nodes[0].as_ref().unwrap(), 3, WAIT);
    nodes[3].take().unwrap().sigkill();
    let at_kill = height(nodes[0].as_ref().unwrap());
    wait_height(nodes[0].as_ref().unwrap(), at_kill + 5, WAIT);
    let restarted = NodeProcess::with_config(&config(dir, 3));
    let target = height(nodes[0].as_ref().unwrap());
    wait_height(&restarted, target, WAIT);
    nodes[3] = Some(restarted);
    let live: Vec<&NodeProcess> = nodes.iter().flatten().collect();
    let to = live.iter().map(|n| height(n)).min().unwrap();
    assert_agree(&live, to);
    stop_all(nodes);
    replay_verifies(dir, 3);
}

/// With two of four down there is no progress and no fork; when they
/// return, progress resumes.
#[test]
fn two_of_four_down_halts_without_fork_and_resumes() {
    let _network = one_network();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir, &[]);
    let mut nodes = start_all(dir);
    wait_height(nodes[0].as_ref().unwrap(), 3, WAIT);
    nodes[2].take().unwrap().sigkill();
    nodes[3].take().unwrap().sigkill();
    // A height in flight may still finish; after that nothing moves.
    std::thread::sleep(Duration::from_secs(2));
    let stalled = height(nodes[0].as_ref().unwrap());
    std::thread::sleep(Duration::from_secs(5));
    for node in nodes.iter().flatten() {
        assert!(
            height(node) <= stalled + 1,
            "progress without a quorum: {} > {stalled}",
            height(node)
        );
    }
    let live: Vec<&NodeProcess> = nodes.iter().flatten().collect();
    let to = live.iter().map(|n| height(n)).min().unwrap();
    assert_agree(&live, to);
    nodes[2] = Some(NodeProcess::with_config(&config(dir, 2)));
    nodes[3] = Some(NodeProcess::with_config(&config(dir, 3)));
    wait_height(nodes[0].as_ref().unwrap(), stalled + 3, WAIT);
    wait_height(nodes[3].as_ref().unwrap(), stalled + 3, WAIT);
    let live: Vec<&NodeProcess> = nodes.iter().flatten().collect();
    let to = live.iter().map(|n| height(n)).min().unwrap();
    assert_agree(&live, to);
    stop_all(nodes);
    replay_verifies(dir, 0);
}

/// A proposer that states a wrong state root (validator 0, through the
/// test-only hook) never gets its block decided: every height it proposes
/// at round 0 is decided in a later round, by an honest proposer.
#[test]
fn a_proposer_lying_about_the_state_root_gets_no_decision() {
    let _network = one_network();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir, &[]);
    let liar = config(dir, 0);
    let text = std::fs::read_to_string(&liar).unwrap();
    std::fs::write(&liar, format!("{text}testing_wrong_state_root = true\n")).unwrap();
    let nodes = start_all(dir);
    let honest = nodes[1].as_ref().unwrap();
    wait_height(honest, 9, Duration::from_secs(120));
    let client = honest.client();
    let to = height(honest);
    let mut liar_heights = 0;
    for number in 1..=to {
        let c = certificate(&client, number);
        // Round robin: validator (h - 1 + r) mod 4 proposes.
        if (number - 1) % 4 == 0 {
            liar_heights += 1;
            assert!(
                c["round"].as_u64().unwrap() >= 1,
                "height {number} was decided in round 0, on the liar's block: {c}"
            );
        }
    }
    assert!(liar_heights >= 2);
    let live: Vec<&NodeProcess> = nodes.iter().flatten().skip(1).collect();
    assert_agree(&live, to);
    stop_all(nodes);
    replay_verifies(dir, 1);
}

/// A validator's configuration and key are checked before it starts.
#[test]
fn a_bad_validator_setup_is_refused_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir, &[]);
    // A key that is not in the validator set.
    std::fs::remove_file(dir.join("validator-0/validator.key")).unwrap();
    std::fs::write(dir.join("validator-0/validator.key"), "11".repeat(32)).unwrap();
    let out = cairn(&["node", "--config", path(&config(dir, 0))]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not in the genesis validator set"),
        "{}",
        stderr(&out)
    );
    // Garbage key.
    std::fs::write(dir.join("validator-0/validator.key"), "not a key").unwrap();
    let out = cairn(&["node", "--config", path(&config(dir, 0))]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("validator key"), "{}", stderr(&out));
    // `init` refuses to overwrite a network.
    let out = cairn(&["testnet", "init", "--dir", path(dir)]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already holds a network"),
        "{}",
        stderr(&out)
    );
}

/// Garbage flags of `cairn testnet` and `cairn bench network`: a reason,
/// and nothing written.
#[test]
fn garbage_testnet_and_bench_flags_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let cases: [(&[&str], &str); 8] = [
        (&["--validators", "0"], "at least one validator"),
        (&["--validators", "101"], "at most 100"),
        (&["--base-port", "65500"], "within 1..=65535"),
        (&["--base-port", "0"], "within 1..=65535"),
        (&["--validators", "four"], "invalid value"),
        (&["--base-port", "-1"], "unexpected argument"),
        (&["--base-port", "70000"], "invalid value"),
        (&["--chain-id", "0x"], "invalid value"),
    ];
    for (flags, reason) in cases {
        let mut args = vec!["testnet", "init", "--dir", path(&dir)];
        args.extend_from_slice(flags);
        let out = cairn(&args);
        assert!(!out.status.success(), "{flags:?} was accepted");
        assert!(stderr(&out).contains(reason), "{flags:?}: {}", stderr(&out));
        assert!(
            !dir.join("genesis.json").exists(),
            "{flags:?} wrote a network"
        );
        let mut args = vec!["testnet", "run", "--until-height", "1", "--timeout", "5"];
        args.extend_from_slice(flags);
        let out = cairn(&args);
        assert!(!out.status.success(), "run {flags:?} was accepted");
        assert!(
            stderr(&out).contains(reason),
            "run {flags:?}: {}",
            stderr(&out)
        );
    }
    for (flags, reason) in [
        (&["--validators", "0"][..], "at least one validator"),
        (&["--validators", "500"][..], "at most 100"),
        (&["--senders", "0"][..], "--senders must be at least 1"),
        (
            &["--txs-per-sender", "0"][..],
            "--txs-per-sender must be at least 1",
        ),
        (&["--senders", "many"][..], "invalid value"),
    ] {
        let mut args = vec!["bench", "network", "--json"];
        args.extend_from_slice(flags);
        let out = cairn(&args);
        assert!(
            !out.status.success(),
            "bench network {flags:?} was accepted"
        );
        assert!(
            stderr(&out).contains(reason),
            "bench network {flags:?}: {}",
            stderr(&out)
        );
    }
}
