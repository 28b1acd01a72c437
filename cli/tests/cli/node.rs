//! `cairn node` as a process: started from the built binary on a loopback
//! port it picks itself (`--port 0`, read back from "Listening on"),
//! driven over real sockets, stopped by SIGTERM/SIGINT or killed with
//! SIGKILL. Every wait is bounded.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cairn_chain::codec::to_hex;
use cairn_chain::keys::SigningKey;
use cairn_chain::{Transaction, TxAction};
use cairn_host_api::world::{Address, H256, U256};
use cairn_node::client::RpcClient;
use serde_json::{Value, json};

use crate::support::{cairn_command, ok_json, path, repo_path};

/// Private keys of dev accounts 0..4 (the standard test mnemonic).
const DEV_KEYS: [&str; 4] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

/// The bound on every single wait of these tests.
pub(crate) const WAIT: Duration = Duration::from_secs(60);

pub(crate) fn dev_key(i: usize) -> SigningKey {
    let bytes: [u8; 32] = hex::decode(DEV_KEYS[i]).unwrap().try_into().unwrap();
    SigningKey::from_bytes(bytes).unwrap()
}

/// Polls `done` every 20 ms until it holds; panics after [`WAIT`].
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < WAIT, "timed out after {WAIT:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `cairn node` process; killed if dropped still running.
pub(crate) struct NodeProcess {
    child: Child,
    address: String,
    data_dir: PathBuf,
    stdout: String,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl NodeProcess {
    /// Starts `cairn node --port 0 args...` and waits for "Listening on".
    fn start(args: &[&str]) -> Self {
        let mut all = vec!["--port", "0"];
        all.extend_from_slice(args);
        Self::launch(&all)
    }

    /// Starts `cairn node --config FILE` (its own ports) and waits for
    /// "Listening on".
    pub(crate) fn with_config(config: &Path) -> Self {
        Self::launch(&["--config", path(config)])
    }

    fn launch(args: &[&str]) -> Self {
        let mut command = cairn_command(&["node"]);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start cairn node");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        let mut err_pipe = child.stderr.take().unwrap();
        let collected = Arc::clone(&stderr);
        readers.push(std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        }));
        let (lines_tx, lines) = mpsc::channel();
        let out_pipe = child.stdout.take().unwrap();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(out_pipe).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        }));
        let started = Instant::now();
        let mut stdout = String::new();
        let (mut address, mut data_dir) = (None, None);
        while address.is_none() {
            let left = WAIT.saturating_sub(started.elapsed());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("Listening on ") {
                        address = Some(rest.trim().to_owned());
                    }
                    if let Some(rest) = line.strip_prefix("Data directory: ") {
                        let dir = rest.split(" (temporary").next().unwrap();
                        data_dir = Some(PathBuf::from(dir));
                    }
                    stdout.push_str(&line);
                    stdout.push('\n');
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "cairn node did not print its address within {WAIT:?}\nstdout: {stdout}\nstderr: {}",
                        stderr.lock().unwrap()
                    );
                }
            }
        }
        // Keep draining stdout so the node never blocks on a full pipe.
        readers.push(std::thread::spawn(move || while lines.recv().is_ok() {}));
        Self {
            child,
            address: address.unwrap(),
            data_dir: data_dir.expect("the node prints its data directory"),
            stdout,
            stderr,
            readers,
        }
    }

    pub(crate) fn http_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub(crate) fn client(&self) -> RpcClient {
        RpcClient::new(&self.http_url()).unwrap()
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends `signal` (by name, as `kill -s` takes it) and waits for the exit.
    pub(crate) fn stop_with(mut self, signal: &str) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -s {signal} {pid}");
        let status = self.wait_exit();
        (status, self.stderr())
    }

    /// SIGKILL: no chance to clean up.
    pub(crate) fn sigkill(mut self) {
        self.child.kill().expect("SIGKILL the node");
        self.wait_exit();
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return status;
            }
            if started.elapsed() > WAIT {
                let _ = self.child.kill();
                panic!(
                    "cairn node did not exit within {WAIT:?}\nstderr: {}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn rpc(client: &RpcClient, method: &str, params: Vec<Value>) -> Value {
    client
        .request(method, params)
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

pub(crate) fn hex_u64(value: &Value) -> u64 {
    let text = value.as_str().unwrap_or_else(|| panic!("not hex: {value}"));
    u64::from_str_radix(text.trim_start_matches("0x"), 16).unwrap()
}

pub(crate) fn block_number(client: &RpcClient) -> u64 {
    hex_u64(&rpc(client, "eth_blockNumber", vec![]))
}

pub(crate) fn block(client: &RpcClient, number: u64) -> Value {
    rpc(
        client,
        "eth_getBlockByNumber",
        vec![format!("0x{number:x}").into(), false.into()],
    )
}

/// A native transfer of `amount` from dev account `from` to `to`.
pub(crate) fn transfer(
    chain_id: u64,
    from: usize,
    nonce: u64,
    to: Address,
    amount: u64,
) -> cairn_chain::Envelope {
    Transaction {
        chain_id,
        nonce,
        gas_limit: 21_000,
        gas_price: 1,
        value: U256::from(amount),
        action: TxAction::Call { to, data: vec![] },
    }
    .sign(&dev_key(from))
    .into()
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// viem (npm), a stock Ethereum client library, drives a dev node:
/// chain id, balances, a transfer, a deploy, a token call and a balance
/// read, receipts and logs by topic, a revert, a traced out-of-gas halt and
/// a stale nonce (`node/tests/viem/client.mjs`). Skipped, saying so, only
/// when Node.js or the npm packages are missing and `CI` is not `true`.
#[test]
fn a_stock_client_library_drives_a_dev_node() {
    let viem_dir = repo_path("node/tests/viem");
    let ready = have("node") && viem_dir.join("node_modules/viem").is_dir();
    if !ready {
        let why = "Node.js (`node`) or the npm packages of node/tests/viem are missing; \
                   run `make test` (it installs both) or `cd node/tests/viem && npm ci`";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and {why}"
        );
        eprintln!("SKIPPED a_stock_client_library_drives_a_dev_node: {why}");
        return;
    }
    let node = NodeProcess::start(&["--dev"]);
    assert!(
        node.stdout.contains(
            "(0) 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 (10000.000000000000000000 ETH)"
        ),
        "the banner lists dev account 0: {}",
        node.stdout
    );
    assert!(
        node.stdout
            .contains("(0) 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
        "the banner lists its key"
    );
    let temp_dir = node.data_dir.clone();
    assert!(temp_dir.is_dir());

    // The script, bounded: a watchdog inside it, and a kill from here.
    let mut script = Command::new("node")
        .current_dir(&viem_dir)
        .args([
            "client.mjs",
            &node.http_url(),
            &format!("ws://{}", node.address),
            path(&repo_path("contracts/artifacts/token.wasm")),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node client.mjs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = script.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(180) {
            let _ = script.kill();
            panic!("client.mjs did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    let mut err = String::new();
    script
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    script
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success(),
        "client.mjs failed ({status})\nstdout: {out}\nstderr: {err}\nnode stderr: {}",
        node.stderr()
    );
    let summary: Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("client.mjs summary is not JSON ({e}): {out}"));

    // What viem saw, checked again from here over the same RPC.
    let client = node.client();
    assert_eq!(summary["chainId"], 31337);
    assert_eq!(summary["bobTokens"], "1234");
    let receipt = |hash: &Value| rpc(&client, "eth_getTransactionReceipt", vec![hash.clone()]);
    assert_eq!(receipt(&summary["transferHash"])["status"], "0x1");
    assert_eq!(receipt(&summary["tokenTransferHash"])["status"], "0x1");
    assert_eq!(receipt(&summary["revertedHash"])["status"], "0x0");
    let deployed = receipt(&summary["deployHash"]);
    assert_eq!(deployed["contractAddress"], summary["token"]);
    let tx = rpc(
        &client,
        "eth_getTransactionByHash",
        vec![summary["transferHash"].clone()],
    );
    assert_eq!(tx["type"], "0x2", "viem signed an EIP-1559 transaction");
    assert!(block_number(&client) >= summary["head"].as_u64().unwrap());

    // SIGINT: a clean stop, and the temporary data directory is removed.
    let (status, stderr) = node.stop_with("INT");
    assert!(status.success(), "exit status {status}; stderr: {stderr}");
    assert!(stderr.contains("SIGINT: stopped cleanly"), "{stderr}");
    assert!(!temp_dir.exists(), "temporary data directory left behind");
}

/// SIGTERM stops cleanly; a restart on the same data directory resumes at
/// the same head with the same blocks, receipts and nonces, and goes on.
#[test]
fn sigterm_stops_cleanly_and_a_restart_resumes_at_the_head() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let node = NodeProcess::start(&["--dev", "--data-dir", path(&dir)]);
    assert_eq!(node.data_dir, dir);
    let client = node.client();
    let chain_id = client.chain_id().unwrap();
    let bob = dev_key(1).address();
    let mut hashes = Vec::new();
    for nonce in 0..3 {
        let tx = transfer(chain_id, 0, nonce, bob, 1_000 + nonce);
        let hash = client.send(&tx).unwrap();
        client.wait_for_receipt(&hash, WAIT).unwrap();
        hashes.push(hash);
    }
    let head = block_number(&client);
    assert!(head >= 1);
    let head_block = block(&client, head);
    let bob_balance = rpc(
        &client,
        "eth_getBalance",
        vec![to_hex(bob).into(), "latest".into()],
    );
    drop(client);
    let (status, stderr) = node.stop_with("TERM");
    assert!(status.success(), "exit status {status}; stderr: {stderr}");
    assert!(stderr.contains("SIGTERM: stopped cleanly"), "{stderr}");
    assert!(dir.is_dir(), "a given data directory is kept");

    let node = NodeProcess::start(&["--dev", "--data-dir", path(&dir)]);
    let client = node.client();
    assert_eq!(block_number(&client), head, "resumes at the head");
    assert_eq!(block(&client, head), head_block, "the same head block");
    assert_eq!(
        rpc(
            &client,
            "eth_getBalance",
            vec![to_hex(bob).into(), "latest".into()]
        ),
        bob_balance
    );
    for hash in &hashes {
        let receipt = rpc(
            &client,
            "eth_getTransactionReceipt",
            vec![to_hex(hash).into()],
        );
        assert_eq!(receipt["status"], "0x1", "receipt of {hash:?} survives");
    }
    assert_eq!(client.pending_nonce(&dev_key(0).address()).unwrap(), 3);
    // And it goes on from there.
    let hash = client.send(&transfer(chain_id, 0, 3, bob, 7)).unwrap();
    let receipt = client.wait_for_receipt(&hash, WAIT).unwrap();
    assert_eq!(receipt.block.number, head + 1);
    let (status, stderr) = node.stop_with("TERM");
    assert!(status.success(), "{stderr}");
}

/// One load-and-SIGKILL round: senders keep submitting transfers; once
/// blocks have been made under load the node is killed. Returns what was
/// observed committed before the kill: (block number, block JSON) and the
/// hashes whose receipts were seen.
fn load_then_sigkill(dir: &Path, round: u64) -> (u64, Value, Vec<(H256, String)>) {
    let node = NodeProcess::start(&["--dev", "--data-dir", path(dir)]);
    let client = node.client();
    let chain_id = client.chain_id().unwrap();
    let start_head = block_number(&client);
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<(H256, String)>>> = Arc::default();
    let mut senders = Vec::new();
    for sender in 0..DEV_KEYS.len() {
        let (url, stop, seen) = (node.http_url(), Arc::clone(&stop), Arc::clone(&seen));
        senders.push(std::thread::spawn(move || {
            let client = RpcClient::new(&url).unwrap();
            let Ok(mut nonce) = client.pending_nonce(&dev_key(sender).address()) else {
                return;
            };
            let to = dev_key((sender + 1) % DEV_KEYS.len()).address();
            let mut sent = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let tx = transfer(chain_id, sender, nonce, to, round * 1_000_000 + sent + 1);
                let Ok(hash) = client.send(&tx) else { return };
                nonce += 1;
                sent += 1;
                // Every 16th: await its receipt, remembering where it landed.
                if sent.is_multiple_of(16) {
                    let Ok(receipt) = client.wait_for_receipt(&hash, WAIT) else {
                        return;
                    };
                    seen.lock().unwrap().push((hash, receipt.block.hash));
                }
            }
        }));
    }
    // Kill once the load has made a few blocks and receipts were seen.
    wait_until("blocks and receipts under load", || {
        block_number(&client) >= start_head + 5 && seen.lock().unwrap().len() >= 4
    });
    let observed = block_number(&client);
    let observed_block = block(&client, observed);
    let seen_before = seen.lock().unwrap().clone();
    node.sigkill();
    stop.store(true, Ordering::SeqCst);
    for sender in senders {
        sender.join().unwrap();
    }
    (observed, observed_block, seen_before)
}

/// SIGKILL under load, then restart: the chain resumes at a head at or
/// past every block and receipt seen before the kill, with the same block
/// (state root included), and `cairn replay` re-executes it to the same
/// roots. `CAIRN_NODE_KILLS` rounds (1 by default; `make soak-node` runs
/// more).
#[test]
fn sigkill_under_load_resumes_at_a_consistent_head() {
    let rounds: u64 = std::env::var("CAIRN_NODE_KILLS")
        .ok()
        .map_or(1, |v| v.parse().expect("CAIRN_NODE_KILLS is a number"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    for round in 0..rounds {
        let (observed, observed_block, seen) = load_then_sigkill(&dir, round);
        let node = NodeProcess::start(&["--dev", "--data-dir", path(&dir)]);
        let client = node.client();
        let head = block_number(&client);
        assert!(
            head >= observed,
            "round {round}: head {head} is behind block {observed} seen before the kill"
        );
        assert_eq!(
            block(&client, observed),
            observed_block,
            "round {round}: block {observed} (hash, state root) changed across the kill"
        );
        for (hash, block_hash) in &seen {
            let receipt = rpc(
                &client,
                "eth_getTransactionReceipt",
                vec![to_hex(hash).into()],
            );
            assert_eq!(
                receipt["blockHash"],
                json!(block_hash),
                "round {round}: {hash:?}"
            );
        }
        // The restarted node takes transactions again.
        let chain_id = client.chain_id().unwrap();
        let nonce = client.pending_nonce(&dev_key(0).address()).unwrap();
        let hash = client
            .send(&transfer(chain_id, 0, nonce, dev_key(1).address(), 1))
            .unwrap();
        assert_eq!(
            client.wait_for_receipt(&hash, WAIT).unwrap().block.number,
            head + 1
        );
        drop(client);
        let (status, stderr) = node.stop_with("TERM");
        assert!(status.success(), "round {round}: {stderr}");
    }
    // Every block re-executed from genesis reproduces its roots.
    let replayed = ok_json(&["replay", "--data-dir", path(&dir), "--json"]);
    assert_eq!(replayed["verified"], true, "{replayed}");
}

/// `GET path` over a plain socket: (status, headers, body).
fn http_get(address: &str, path: &str) -> (u16, String, String) {
    use std::io::Write as _;
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// The value of an unlabelled sample `name` in Prometheus text.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

/// `/metrics` (Prometheus text) and `/health` on the RPC port of the
/// process: counters follow the blocks, transactions and RPC calls made;
/// `--no-metrics` turns `/metrics` off but not `/health`.
#[test]
fn metrics_and_health_over_http() {
    let node = NodeProcess::start(&["--dev"]);
    let client = node.client();
    let chain_id = client.chain_id().unwrap();
    for nonce in 0..2 {
        let hash = client
            .send(&transfer(chain_id, 2, nonce, dev_key(3).address(), 1))
            .unwrap();
        client.wait_for_receipt(&hash, WAIT).unwrap();
    }
    let head = block_number(&client);
    let (status, headers, body) = http_get(&node.address, "/metrics");
    assert_eq!(status, 200, "{body}");
    assert!(
        headers.contains("content-type: application/openmetrics-text"),
        "{headers}"
    );
    assert_eq!(sample(&body, "cairn_txs_total"), Some(2.0), "{body}");
    #[allow(clippy::cast_precision_loss, reason = "a small block count")]
    let head_f = head as f64;
    assert_eq!(sample(&body, "cairn_head_block"), Some(head_f), "{body}");
    assert_eq!(
        sample(&body, "cairn_gas_used_total"),
        Some(42_000.0),
        "{body}"
    );
    assert_eq!(sample(&body, "cairn_mempool_txs"), Some(0.0), "{body}");
    for name in [
        "cairn_block_execution_seconds_bucket",
        "cairn_block_commit_seconds_bucket",
        "cairn_rpc_requests_total{method=\"cairn_sendRawTransaction\",outcome=\"ok\"} 2",
        "cairn_rpc_request_seconds_count{method=\"eth_chainId\"} 1",
    ] {
        assert!(body.contains(name), "{name} missing from\n{body}");
    }
    assert!(
        body.trim_end().ends_with("# EOF"),
        "OpenMetrics text ends with # EOF"
    );
    let (status, headers, body) = http_get(&node.address, "/health");
    assert_eq!(status, 200);
    assert!(headers.contains("content-type: application/json"));
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["head"], head);
    drop(client);
    let (status, stderr) = node.stop_with("TERM");
    assert!(status.success(), "{stderr}");

    let node = NodeProcess::start(&["--dev", "--no-metrics"]);
    assert_eq!(http_get(&node.address, "/metrics").0, 404);
    assert_eq!(http_get(&node.address, "/health").0, 200);
    let (status, stderr) = node.stop_with("TERM");
    assert!(status.success(), "{stderr}");
}

/// A TOML file configures the node and flags override it; the `cairn`
/// commands work against it with `--rpc`: a deploy, a call in a block and
/// a query, each signed with the node's pending nonce.
#[test]
fn a_config_file_and_the_cli_over_rpc() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = crate::support::write(
        tmp.path(),
        "cairn.toml",
        format!(
            "data_dir = {:?}\n[rpc]\nlisten = \"127.0.0.1:0\"\ngas_price = 7\n[dev]\nenabled = true\nchain_id = 4242\npredeploy = [\"counter\"]\n",
            path(&data)
        )
        .as_bytes(),
    );
    let node = NodeProcess::start(&["--config", path(&config), "--gas-price", "9"]);
    assert_eq!(node.data_dir, data, "data_dir from the file");
    assert!(node.stdout.contains("counter "), "{}", node.stdout);
    let client = node.client();
    assert_eq!(client.chain_id().unwrap(), 4242, "chain id from the file");
    assert_eq!(
        rpc(&client, "eth_gasPrice", vec![]),
        "0x9",
        "the flag overrides the file"
    );

    let key = crate::support::write(tmp.path(), "alice.key", DEV_KEYS[0].as_bytes());
    let url = node.http_url();
    // Constructor input: SCALE (name, symbol, supply = 500).
    let mut input = Vec::new();
    for text in ["Rpc Token", "RPC"] {
        input.push(u8::try_from(text.len() * 4).unwrap());
        input.extend_from_slice(text.as_bytes());
    }
    let mut supply = [0u8; 32];
    supply[0] = 244;
    supply[1] = 1;
    input.extend_from_slice(&supply);
    let deployed = ok_json(&[
        "deploy",
        "--rpc",
        &url,
        "--key",
        path(&key),
        "--wasm",
        path(&repo_path("contracts/artifacts/token.wasm")),
        "--input",
        &to_hex(&input),
        "--json",
    ]);
    let text = deployed.to_string();
    let token = rpc(
        &client,
        "eth_getTransactionReceipt",
        vec![deployed["txs"][0]["hash"].clone()],
    )["contractAddress"]
        .as_str()
        .unwrap_or_else(|| panic!("no contract address after {text}"))
        .to_owned();
    let bob = dev_key(1).address();
    let mut args = bob.as_bytes().to_vec();
    let mut amount = [0u8; 32];
    amount[0] = 42;
    args.extend_from_slice(&amount);
    ok_json(&[
        "call",
        "--rpc",
        &url,
        "--key",
        path(&key),
        "--to",
        &token,
        "--method",
        "transfer",
        "--args",
        &to_hex(&args),
        "--json",
    ]);
    let queried = ok_json(&[
        "query",
        "--rpc",
        &url,
        "--to",
        &token,
        "--method",
        "balance_of",
        "--args",
        &to_hex(bob),
        "--json",
    ]);
    assert_eq!(queried["status"], "success", "{queried}");
    assert_eq!(
        queried["output"],
        to_hex(amount),
        "balance_of(bob) = 42 after the call: {queried}"
    );
    assert_eq!(client.pending_nonce(&dev_key(0).address()).unwrap(), 2);
    drop(client);
    let (status, stderr) = node.stop_with("TERM");
    assert!(status.success(), "{stderr}");
}

/// `cairn bench rpc --json` runs its three loads end to end on a small
/// workload and reports every figure (counts checked exactly; rates only
/// for being positive: the test does not time anything).
#[test]
fn bench_rpc_reports_every_figure() {
    let report = ok_json(&[
        "bench",
        "rpc",
        "--senders",
        "8",
        "--txs-per-sender",
        "10",
        "--closed-loop-txs",
        "3",
        "--json",
    ]);
    assert_eq!(report["txs_in_flight"], 80, "{report}");
    assert_eq!(report["closed_loop_txs"], 24, "{report}");
    for key in [
        "in_process_tx_per_s",
        "rpc_in_flight_tx_per_s",
        "in_flight_ratio",
        "closed_loop_tx_per_s",
        "closed_loop_p50_ms",
        "closed_loop_p99_ms",
        "eth_call_per_s",
    ] {
        assert!(report[key].as_f64().unwrap() > 0.0, "{key} in {report}");
    }
}

/// Typed `--args` and decoded output over `--rpc`: the deploy types its
/// constructor arguments from the `.wasm`'s metadata, `call` and `query`
/// read the metadata of the code at `--to` with `eth_getCode`.
#[test]
fn typed_args_and_decoded_output_over_rpc() {
    let tmp = tempfile::tempdir().unwrap();
    let node = NodeProcess::start(&["--dev"]);
    let key = crate::support::write(tmp.path(), "alice.key", DEV_KEYS[0].as_bytes());
    let url = node.http_url();
    let wasm = repo_path("contracts/artifacts/token.wasm");
    let deployed = ok_json(&[
        "deploy",
        "--rpc",
        &url,
        "--key",
        path(&key),
        "--wasm",
        path(&wasm),
        "--args",
        r#"["Rpc Token", "RPC", "500"]"#,
        "--json",
    ]);
    let tx = &deployed["txs"][0];
    assert_eq!(tx["receipt"]["status"], "success", "{deployed}");
    assert_eq!(
        tx["decoded"]["events"][0]["fields"]["amount"], "500",
        "{deployed}"
    );
    let token = tx["receipt"]["contract_address"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = to_hex(dev_key(1).address());
    let called = ok_json(&[
        "call",
        "--rpc",
        &url,
        "--key",
        path(&key),
        "--to",
        &token,
        "--method",
        "transfer",
        "--args",
        &format!(r#"["{bob}", "42"]"#),
        "--json",
    ]);
    let tx = &called["txs"][0];
    assert_eq!(tx["decoded"]["method"], "transfer", "{called}");
    assert_eq!(tx["decoded"]["events"][0]["event"], "Transfer", "{called}");
    assert_eq!(tx["decoded"]["events"][0]["fields"]["to"], bob.as_str());
    let queried = ok_json(&[
        "query",
        "--rpc",
        &url,
        "--to",
        &token,
        "--method",
        "balance_of",
        "--args",
        &format!(r#"["{bob}"]"#),
        "--json",
    ]);
    assert_eq!(queried["decoded"]["result"], "42", "{queried}");
    assert!(
        queried["output"].as_str().unwrap().starts_with("0x2a00"),
        "hex kept"
    );
    let (status, stderr) = node.stop_with("TERM");
    assert!(status.success(), "{stderr}");
}
