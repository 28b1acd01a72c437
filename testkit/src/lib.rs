//! `cairn-testkit`: an in-process harness for testing Cairn contracts.
//!
//! It runs what a node runs: the real validation and gas injection, the real
//! engine and gas meter, the real Merkleized state store (in memory by
//! default; an embedded RocksDB directory with the `rocksdb` feature), and
//! the real transaction path (signed transactions, admission, fees, one
//! block per call as a dev node mines them). So gas figures, events,
//! reverts, halts and state roots in a test are the ones a chain would give.
//!
//! ```no_run
//! use cairn_testkit::TestChain;
//! use cairn_host_api::world::U256;
//!
//! let mut chain = TestChain::new();
//! let [alice, bob] = [chain.account(0), chain.account(1)];
//! let token = chain.deploy(alice, "contracts/artifacts/token.wasm",
//!     &("Cairn Token".to_string(), "CRN".to_string(), U256::from(1000u64)));
//! let receipt = chain.call(alice, &token, "transfer", &(bob, U256::from(10u64)));
//! receipt.assert_success();
//! assert_eq!(receipt.events("Transfer").len(), 1);
//! let balance: U256 = chain.query(bob, &token, "balance_of", &bob);
//! assert_eq!(balance, U256::from(10u64));
//! println!("{}", chain.gas_report());
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use cairn_chain::tx::{SignedTransaction, Transaction, TxAction};
use cairn_chain::world::storage_key as state_storage_key;
use cairn_chain::{
    Block, Chain, Genesis, GenesisAccount, Receipt, Rejected, SigningKey, StateDb, contract_address,
};
pub use cairn_engine::runtime::HaltReason;
use cairn_engine::runtime::{
    ExecConfig, ExecOutcome, ExecStatus, Executor, Log, Message, MessageKind,
};
pub use cairn_host_api::abi::RevertReason;
use cairn_host_api::abi::{
    decode_result, decode_revert, encode_call, encode_deploy, event_signature, storage_key,
};
pub use cairn_host_api::metadata::ContractMetadata;
use cairn_host_api::typed;
pub use cairn_host_api::typed::DecodedEvent;
pub use cairn_host_api::world::{Address, H256, U256};
use cairn_state::{MemoryStore, Proof, StateRoot};
use parity_scale_codec::{Decode, Encode};
/// JSON values, for typed calls through contract metadata ([`TestChain::call_json`]).
pub use serde_json::{Value as JsonValue, json};

/// The SCALE codec, for contract argument and result types of a test's own.
pub use parity_scale_codec;

/// Chain id of a test chain.
pub const CHAIN_ID: u64 = 1337;
/// Accounts funded at genesis.
pub const ACCOUNTS: usize = 10;
/// What each genesis account holds.
pub const ACCOUNT_BALANCE: u128 = 1_000_000_000_000_000_000_000;
/// Gas limit of every block.
pub const BLOCK_GAS_LIMIT: u64 = 1_000_000_000;
/// Gas limit of a call or deploy unless [`CallOptions::gas_limit`] says otherwise.
pub const DEFAULT_GAS_LIMIT: u64 = 100_000_000;
/// Timestamp of the genesis block.
pub const GENESIS_TIMESTAMP: u64 = 1_700_000_000;

/// A contract deployed on a [`TestChain`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// Its address.
    pub address: Address,
    /// The file name it was deployed from, without `.wasm` (gas report label).
    pub name: String,
}

/// A point a [`TestChain`] can return to with [`TestChain::revert_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    head: u64,
    timestamp: u64,
}

/// Value and gas of a call or deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOptions {
    /// Value sent with it.
    pub value: U256,
    /// The transaction's gas limit, intrinsic gas included.
    pub gas_limit: u64,
    /// Gas price.
    pub gas_price: u64,
}

impl Default for CallOptions {
    fn default() -> Self {
        Self {
            value: U256::zero(),
            gas_limit: DEFAULT_GAS_LIMIT,
            gas_price: 1,
        }
    }
}

/// The receipt of a transaction a [`TestChain`] included, with helpers to
/// assert on it and decode it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallReceipt {
    /// The block that included it.
    pub block: u64,
    /// The receipt as the chain stored it.
    pub receipt: Receipt,
    /// What was called (`contract.method`), for messages.
    pub label: String,
}

/// An event a contract emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The emitting contract.
    pub address: Address,
    /// Topic 0 is the event signature; the rest are indexed fields.
    pub topics: Vec<H256>,
    /// SCALE-encoded payload.
    pub data: Vec<u8>,
}

impl Event {
    /// Whether topic 0 is `event_signature(name)`.
    pub fn is(&self, name: &str) -> bool {
        self.topics.first() == Some(&event_signature(name))
    }

    /// The payload decoded as `T`.
    ///
    /// # Panics
    ///
    /// If it does not decode as exactly a `T`.
    pub fn decode<T: Decode>(&self) -> T {
        let mut data = &self.data[..];
        let value = T::decode(&mut data).unwrap_or_else(|e| {
            panic!(
                "event payload does not decode as {}: {e}",
                std::any::type_name::<T>()
            )
        });
        assert!(
            data.is_empty(),
            "event payload has {} bytes left after {}",
            data.len(),
            std::any::type_name::<T>()
        );
        value
    }
}

impl From<&Log> for Event {
    fn from(log: &Log) -> Self {
        Self {
            address: log.address,
            topics: log.topics.clone(),
            data: log.data.clone(),
        }
    }
}

impl CallReceipt {
    /// Whether it succeeded.
    pub fn is_success(&self) -> bool {
        self.receipt.is_success()
    }

    /// Gas charged, intrinsic gas included.
    pub fn gas_used(&self) -> u64 {
        self.receipt.gas_used
    }

    /// Panics with the revert reason or halt unless it succeeded.
    ///
    /// # Panics
    ///
    /// If it did not succeed.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        match &self.receipt.status {
            ExecStatus::Success { .. } => self,
            ExecStatus::Revert { data } => {
                panic!("{} {}", self.label, decode_revert(data))
            }
            ExecStatus::Halt { reason } => panic!("{} halted: {}", self.label, reason.kind()),
        }
    }

    /// The result decoded as `R`.
    ///
    /// # Panics
    ///
    /// If it did not succeed, or its return data is not exactly an `R`.
    #[track_caller]
    pub fn result<R: Decode>(&self) -> R {
        self.assert_success();
        let ExecStatus::Success { return_data } = &self.receipt.status else {
            unreachable!("checked above")
        };
        decode_result(return_data).unwrap_or_else(|e| panic!("{} result: {e}", self.label))
    }

    /// The revert reason, if it reverted.
    pub fn revert_reason(&self) -> Option<RevertReason> {
        match &self.receipt.status {
            ExecStatus::Revert { data } => Some(decode_revert(data)),
            _ => None,
        }
    }

    /// Panics unless it reverted with `Error(reason)` (the SDK's `revert!`,
    /// `ensure!`) or `Panic(reason)`.
    ///
    /// # Panics
    ///
    /// If it did not revert with that message.
    #[track_caller]
    pub fn assert_revert(&self, reason: &str) -> &Self {
        match self.revert_reason() {
            Some(got) if got.message() == Some(reason) => self,
            Some(got) => panic!("{} {got}, expected the reason {reason:?}", self.label),
            None => panic!(
                "{} did not revert ({}), expected the reason {reason:?}",
                self.label,
                self.receipt.status.name()
            ),
        }
    }

    /// The halt reason, if it halted (out of gas, a trap, ...).
    pub fn halt(&self) -> Option<HaltReason> {
        match &self.receipt.status {
            ExecStatus::Halt { reason } => Some(*reason),
            _ => None,
        }
    }

    /// Panics unless it halted with a reason of kind `kind` (`out_of_gas`,
    /// `stack_exhausted`, `unreachable`, ...: [`HaltReason::kind`]).
    ///
    /// # Panics
    ///
    /// If it did not halt that way.
    #[track_caller]
    pub fn assert_halt(&self, kind: &str) -> &Self {
        match self.halt() {
            Some(reason) if reason.kind() == kind => self,
            Some(reason) => panic!("{} halted: {}, expected {kind}", self.label, reason.kind()),
            None => panic!(
                "{} did not halt ({}), expected {kind}",
                self.label,
                self.receipt.status.name()
            ),
        }
    }

    /// Every event, in emission order (none unless it succeeded).
    pub fn all_events(&self) -> Vec<Event> {
        self.receipt.logs.iter().map(Event::from).collect()
    }

    /// The events `meta` knows, decoded (name and fields as JSON), in
    /// emission order; logs of events it does not declare are skipped.
    ///
    /// # Panics
    ///
    /// If a log of a declared event does not match its fields.
    #[track_caller]
    pub fn decoded_events(&self, meta: &ContractMetadata) -> Vec<DecodedEvent> {
        self.receipt
            .logs
            .iter()
            .filter_map(|log| typed::decode_event(meta, &log.topics, &log.data))
            .map(|decoded| decoded.unwrap_or_else(|e| panic!("{}: {e}", self.label)))
            .collect()
    }

    /// The events named `name`, in emission order.
    pub fn events(&self, name: &str) -> Vec<Event> {
        self.all_events()
            .into_iter()
            .filter(|e| e.is(name))
            .collect()
    }
}

/// Gas of one method across the calls a test made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GasStats {
    /// Calls made.
    pub calls: u64,
    /// Least gas used.
    pub min: u64,
    /// Most gas used.
    pub max: u64,
    /// Total gas used.
    pub total: u64,
}

impl GasStats {
    fn record(&mut self, gas: u64) {
        if self.calls == 0 {
            self.min = gas;
            self.max = gas;
        } else {
            self.min = self.min.min(gas);
            self.max = self.max.max(gas);
        }
        self.calls += 1;
        self.total = self.total.saturating_add(gas);
    }

    /// Mean gas per call (integer division).
    pub fn mean(&self) -> u64 {
        self.total.checked_div(self.calls).unwrap_or(0)
    }
}

/// Gas per contract and method of the transactions a test sent (deploys
/// are listed as `deploy`), including failed ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GasReport {
    /// (contract name, method) to gas.
    pub methods: BTreeMap<(String, String), GasStats>,
}

impl GasReport {
    /// The stats of `contract.method`, if called.
    pub fn get(&self, contract: &str, method: &str) -> Option<&GasStats> {
        self.methods.get(&(contract.to_owned(), method.to_owned()))
    }
}

impl fmt::Display for GasReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:<20} {:>6} {:>12} {:>12} {:>12}",
            "contract", "method", "calls", "min", "mean", "max"
        )?;
        for ((contract, method), stats) in &self.methods {
            writeln!(
                f,
                "{contract:<16} {method:<20} {:>6} {:>12} {:>12} {:>12}",
                stats.calls,
                stats.min,
                stats.mean(),
                stats.max
            )?;
        }
        Ok(())
    }
}

/// The value of a contract's storage entry and its Merkle proof against the
/// state root of the block it was read at.
#[derive(Debug, Clone)]
pub struct StorageProof {
    /// The state key (`specs/chain.md`: contract address and SDK key).
    pub key: Vec<u8>,
    /// The stored value, `None` if absent.
    pub value: Option<Vec<u8>>,
    /// The proof.
    pub proof: Proof,
    /// The state root it proves against.
    pub root: StateRoot,
}

impl StorageProof {
    /// Whether the proof shows `value` under `key` in `root`.
    pub fn verify(&self) -> bool {
        self.proof
            .verify(&self.root, &self.key, self.value.as_deref())
            .is_ok()
    }
}

/// Makes the fresh, empty state stores a [`TestChain`] runs on (one more
/// for every [`TestChain::revert_to`]).
pub type StoreFactory<S> = Box<dyn FnMut() -> S>;

/// A chain in this process: genesis with [`ACCOUNTS`] funded accounts, one
/// block per transaction.
pub struct TestChain<S: StateDb = MemoryStore> {
    chain: Chain<S>,
    fresh_store: StoreFactory<S>,
    genesis: Genesis,
    blocks: Vec<Block>,
    keys: BTreeMap<Address, SigningKey>,
    accounts: Vec<Address>,
    timestamp: u64,
    gas: GasReport,
    contracts: BTreeMap<Address, String>,
}

impl<S: StateDb> fmt::Debug for TestChain<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestChain")
            .field("head", &self.chain.head().number)
            .field("accounts", &self.accounts)
            .finish_non_exhaustive()
    }
}

impl Default for TestChain<MemoryStore> {
    fn default() -> Self {
        Self::new()
    }
}

impl TestChain<MemoryStore> {
    /// A chain on the in-memory Merkle store.
    pub fn new() -> Self {
        Self::with_store(Box::new(MemoryStore::in_memory))
    }
}

#[cfg(feature = "rocksdb")]
impl TestChain<cairn_state::RocksStore> {
    /// A chain on an embedded RocksDB data directory, in a temporary
    /// directory removed when the chain is dropped.
    ///
    /// # Panics
    ///
    /// If the directory or the database cannot be created.
    pub fn on_rocksdb() -> Self {
        // Owned by the store factory, which is dropped after the chain.
        let root = tempfile::tempdir().expect("creating a temporary directory");
        let mut next = 0u32;
        Self::with_store(Box::new(move || {
            next += 1;
            let dir = root.path().join(format!("store-{next}"));
            cairn_state::RocksStore::open(&dir, cairn_state::StoreOptions::default())
                .unwrap_or_else(|e| panic!("opening RocksDB in {}: {e}", dir.display()))
        }))
    }
}

/// The key of test account `index`: derived from a fixed seed, so the
/// addresses are the same in every run.
pub fn account_key(index: usize) -> SigningKey {
    SigningKey::from_seed(format!("cairn-testkit account {index}").as_bytes())
}

impl<S: StateDb> TestChain<S> {
    /// A chain on stores `fresh_store` makes.
    ///
    /// # Panics
    ///
    /// If the genesis cannot be committed (a store failure).
    pub fn with_store(mut fresh_store: StoreFactory<S>) -> Self {
        let keys: Vec<SigningKey> = (0..ACCOUNTS).map(account_key).collect();
        let accounts: Vec<Address> = keys.iter().map(SigningKey::address).collect();
        let genesis = Genesis {
            chain_id: CHAIN_ID,
            block_gas_limit: BLOCK_GAS_LIMIT,
            timestamp: GENESIS_TIMESTAMP,
            accounts: accounts
                .iter()
                .map(|address| GenesisAccount {
                    address: *address,
                    balance: U256::from(ACCOUNT_BALANCE),
                })
                .collect(),
            contracts: Vec::new(),
        };
        let chain = Chain::init(fresh_store(), executor(), genesis.clone())
            .unwrap_or_else(|e| panic!("committing the genesis: {e}"));
        Self {
            chain,
            fresh_store,
            genesis,
            blocks: Vec::new(),
            keys: accounts.iter().copied().zip(keys).collect(),
            accounts,
            timestamp: GENESIS_TIMESTAMP,
            gas: GasReport::default(),
            contracts: BTreeMap::new(),
        }
    }

    /// Funded account `index` (0..[`ACCOUNTS`]).
    ///
    /// # Panics
    ///
    /// If `index` is out of range.
    pub fn account(&self, index: usize) -> Address {
        self.accounts[index]
    }

    /// Every funded account.
    pub fn accounts(&self) -> &[Address] {
        &self.accounts
    }

    /// A new account with `balance`, sent to it by account 0.
    ///
    /// # Panics
    ///
    /// If account 0 cannot pay.
    pub fn new_account(&mut self, balance: U256) -> Address {
        let key = account_key(self.keys.len());
        let address = key.address();
        self.keys.insert(address, key);
        let from = self.accounts[0];
        self.send(
            from,
            TxAction::Call {
                to: address,
                data: Vec::new(),
            },
            CallOptions {
                value: balance,
                ..CallOptions::default()
            },
            "transfer".to_owned(),
        )
        .assert_success();
        address
    }

    /// The underlying chain (blocks, receipts, state reads).
    pub fn chain(&self) -> &Chain<S> {
        &self.chain
    }

    /// Number of the last block.
    pub fn block_number(&self) -> u64 {
        self.chain.head().number
    }

    /// Timestamp the next block gets.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// Moves the next block's timestamp `seconds` forward.
    pub fn advance_time(&mut self, seconds: u64) {
        self.timestamp = self.timestamp.saturating_add(seconds);
    }

    /// Mines `count` empty blocks, one second apart.
    pub fn mine_blocks(&mut self, count: u64) {
        for _ in 0..count {
            self.commit(Vec::new());
        }
    }

    /// The state root of the last block.
    pub fn state_root(&self) -> StateRoot {
        StateRoot(self.chain.head().state_root.0)
    }

    /// The native balance of `who`.
    ///
    /// # Panics
    ///
    /// On a store failure.
    pub fn balance(&self, who: Address) -> U256 {
        self.chain
            .account(&who)
            .unwrap_or_else(|e| panic!("reading {who:?}: {e}"))
            .balance
    }

    /// Deploys the `.wasm` at `path` from `from` with constructor
    /// arguments `args`.
    ///
    /// # Panics
    ///
    /// If the file cannot be read (the message says how to build it), or
    /// the deploy does not succeed.
    #[track_caller]
    pub fn deploy<A: Encode>(
        &mut self,
        from: Address,
        path: impl AsRef<Path>,
        args: &A,
    ) -> Contract {
        let (contract, receipt) = self.try_deploy(from, path, args, CallOptions::default());
        receipt.assert_success();
        contract
    }

    /// Deploys the `.wasm` at `path` and returns the address it would get
    /// and the receipt, whatever happened.
    ///
    /// # Panics
    ///
    /// If the file cannot be read (the message says how to build it).
    #[track_caller]
    pub fn try_deploy<A: Encode>(
        &mut self,
        from: Address,
        path: impl AsRef<Path>,
        args: &A,
        options: CallOptions,
    ) -> (Contract, CallReceipt) {
        let path = path.as_ref();
        let code = read_wasm(path);
        let name = path.file_stem().map_or_else(
            || "contract".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        );
        let nonce = self.nonce(from);
        let contract = Contract {
            address: contract_address(&from, nonce),
            name: name.clone(),
        };
        let receipt = self.send_labelled(
            from,
            TxAction::Deploy {
                code,
                data: encode_deploy(args),
            },
            options,
            (name.clone(), "deploy".to_owned()),
        );
        if receipt.is_success() {
            self.contracts.insert(contract.address, name);
        }
        (contract, receipt)
    }

    /// Calls `method` of `contract` from `from` with `args`, in a new block.
    /// Failures are receipts too: assert on them with
    /// [`CallReceipt::assert_success`], [`CallReceipt::assert_revert`] or
    /// [`CallReceipt::assert_halt`].
    pub fn call<A: Encode>(
        &mut self,
        from: Address,
        contract: &Contract,
        method: &str,
        args: &A,
    ) -> CallReceipt {
        self.call_with(from, contract, method, args, CallOptions::default())
    }

    /// [`TestChain::call`] with value and gas options.
    pub fn call_with<A: Encode>(
        &mut self,
        from: Address,
        contract: &Contract,
        method: &str,
        args: &A,
        options: CallOptions,
    ) -> CallReceipt {
        self.send_labelled(
            from,
            TxAction::Call {
                to: contract.address,
                data: encode_call(method, args),
            },
            options,
            (contract.name.clone(), method.to_owned()),
        )
    }

    /// Calls `method` read-only against the last block (nothing is
    /// committed) and decodes the result.
    ///
    /// # Panics
    ///
    /// If the call does not succeed (the message gives the revert reason or
    /// halt), or the result does not decode as `R`.
    #[track_caller]
    pub fn query<A: Encode, R: Decode>(
        &self,
        from: Address,
        contract: &Contract,
        method: &str,
        args: &A,
    ) -> R {
        let outcome = self.try_query(from, contract, method, args);
        let label = format!("{}.{method}", contract.name);
        match &outcome.status {
            ExecStatus::Success { return_data } => {
                decode_result(return_data).unwrap_or_else(|e| panic!("{label} result: {e}"))
            }
            ExecStatus::Revert { data } => panic!("{label} {}", decode_revert(data)),
            ExecStatus::Halt { reason } => panic!(
                "{label} halted: {}{}",
                reason.kind(),
                outcome
                    .diagnostics
                    .as_ref()
                    .map(|d| format!(" ({})", d.message))
                    .unwrap_or_default()
            ),
        }
    }

    /// A read-only call's whole outcome, whatever happened.
    ///
    /// # Panics
    ///
    /// On a store failure.
    pub fn try_query<A: Encode>(
        &self,
        from: Address,
        contract: &Contract,
        method: &str,
        args: &A,
    ) -> ExecOutcome {
        let message = Message {
            origin: from,
            caller: from,
            target: contract.address,
            value: U256::zero(),
            input: encode_call(method, args),
            gas_limit: DEFAULT_GAS_LIMIT,
            kind: MessageKind::Call,
        };
        self.chain
            .query(&message)
            .unwrap_or_else(|e| panic!("query of {}.{method}: {e}", contract.name))
    }

    /// The contract metadata of `contract` (`specs/abi.md` section 8), read
    /// from its code in state, as any tool would.
    ///
    /// # Panics
    ///
    /// If the contract has no code, no metadata, or metadata that does not
    /// decode.
    #[track_caller]
    pub fn metadata(&self, contract: &Contract) -> ContractMetadata {
        let snapshot = self.chain.reader().at_head();
        let code = snapshot
            .account(&contract.address)
            .ok()
            .and_then(|account| account.code_hash)
            .and_then(|hash| snapshot.code(&hash).ok().flatten())
            .unwrap_or_else(|| panic!("{} has no code", contract.name));
        match ContractMetadata::from_code(&code) {
            Ok(Some(meta)) => meta,
            Ok(None) => panic!(
                "{} has no `cairn:abi` metadata section (not built with cairn-sdk's entry_points!)",
                contract.name
            ),
            Err(e) => panic!("{}: {e}", contract.name),
        }
    }

    /// Call data for `method` with `args` (a JSON array) typed through the
    /// contract's metadata.
    #[track_caller]
    fn typed_call_data(&self, contract: &Contract, method: &str, args: &JsonValue) -> Vec<u8> {
        let meta = self.metadata(contract);
        let m = meta
            .method(method)
            .unwrap_or_else(|| panic!("{} has no method `{method}`", contract.name));
        let mut data = m.selector().to_vec();
        data.extend(
            typed::encode_args(&m.args, args)
                .unwrap_or_else(|e| panic!("{}.{method}: {e}", contract.name)),
        );
        data
    }

    /// [`TestChain::call`] with the arguments as JSON (`specs/abi.md`
    /// section 8: `json!(["0x11..", "1000"])`), typed through the contract's
    /// metadata.
    ///
    /// # Panics
    ///
    /// If the contract has no such method or the arguments do not fit it.
    #[track_caller]
    pub fn call_json(
        &mut self,
        from: Address,
        contract: &Contract,
        method: &str,
        args: &JsonValue,
    ) -> CallReceipt {
        let data = self.typed_call_data(contract, method, args);
        self.send_labelled(
            from,
            TxAction::Call {
                to: contract.address,
                data,
            },
            CallOptions::default(),
            (contract.name.clone(), method.to_owned()),
        )
    }

    /// [`TestChain::query`] with JSON arguments and the result decoded as
    /// JSON, both through the contract's metadata.
    ///
    /// # Panics
    ///
    /// As [`TestChain::query`], or if the arguments do not fit the method.
    #[track_caller]
    pub fn query_json(
        &self,
        from: Address,
        contract: &Contract,
        method: &str,
        args: &JsonValue,
    ) -> JsonValue {
        let input = self.typed_call_data(contract, method, args);
        let message = Message {
            origin: from,
            caller: from,
            target: contract.address,
            value: U256::zero(),
            input,
            gas_limit: DEFAULT_GAS_LIMIT,
            kind: MessageKind::Call,
        };
        let label = format!("{}.{method}", contract.name);
        let outcome = self
            .chain
            .query(&message)
            .unwrap_or_else(|e| panic!("query of {label}: {e}"));
        match &outcome.status {
            ExecStatus::Success { return_data } => {
                let meta = self.metadata(contract);
                let result = &meta.method(method).map(|m| m.result.clone());
                let result = result
                    .as_ref()
                    .unwrap_or_else(|| panic!("{label}: no method"));
                typed::decode_result(result, return_data).unwrap_or_else(|e| panic!("{label}: {e}"))
            }
            ExecStatus::Revert { data } => panic!("{label} {}", decode_revert(data)),
            ExecStatus::Halt { reason } => panic!("{label} halted: {}", reason.kind()),
        }
    }

    /// The raw value of the SDK storage entry `name`/`key` of `contract`
    /// (`StorageValue`: pass `&()`).
    ///
    /// # Panics
    ///
    /// On a store failure.
    pub fn storage<K: Encode + ?Sized>(
        &self,
        contract: &Contract,
        name: &str,
        key: &K,
    ) -> Option<Vec<u8>> {
        self.chain
            .reader()
            .at_head()
            .storage(&contract.address, &storage_key(name, key))
            .unwrap_or_else(|e| panic!("reading storage of {}: {e}", contract.name))
    }

    /// The SDK storage entry `name`/`key` of `contract` with its Merkle
    /// proof against the last block's state root.
    ///
    /// # Panics
    ///
    /// On a store failure.
    pub fn prove_storage<K: Encode + ?Sized>(
        &self,
        contract: &Contract,
        name: &str,
        key: &K,
    ) -> StorageProof {
        let key = state_storage_key(&contract.address, &storage_key(name, key));
        let snapshot = self.chain.reader().at_head();
        let (value, proof) = snapshot
            .prove(&key)
            .unwrap_or_else(|e| panic!("proving storage of {}: {e}", contract.name));
        StorageProof {
            key,
            value,
            proof,
            root: snapshot.state_root(),
        }
    }

    /// A point to come back to with [`TestChain::revert_to`].
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            head: self.chain.head().number,
            timestamp: self.timestamp,
        }
    }

    /// Returns the chain to `snapshot`: the blocks after it are dropped and
    /// the state is what it was then (rebuilt by re-executing the blocks up
    /// to it on a fresh store). The gas report keeps every call made.
    ///
    /// # Panics
    ///
    /// If `snapshot` is ahead of the chain, or a store failure.
    pub fn revert_to(&mut self, snapshot: Snapshot) {
        let keep = usize::try_from(snapshot.head).expect("block number fits usize");
        assert!(
            keep <= self.blocks.len(),
            "snapshot at block {} is ahead of the chain (block {})",
            snapshot.head,
            self.blocks.len()
        );
        self.blocks.truncate(keep);
        let mut chain = Chain::init((self.fresh_store)(), executor(), self.genesis.clone())
            .unwrap_or_else(|e| panic!("committing the genesis: {e}"));
        for block in &self.blocks {
            chain
                .import_block(block.clone())
                .unwrap_or_else(|e| panic!("re-importing block {}: {e}", block.header.number));
        }
        self.chain = chain;
        self.timestamp = snapshot.timestamp;
    }

    /// Gas per contract and method so far.
    pub fn gas_report(&self) -> &GasReport {
        &self.gas
    }

    fn nonce(&self, who: Address) -> u64 {
        self.chain
            .account(&who)
            .unwrap_or_else(|e| panic!("reading {who:?}: {e}"))
            .nonce
    }

    fn send_labelled(
        &mut self,
        from: Address,
        action: TxAction,
        options: CallOptions,
        (contract, method): (String, String),
    ) -> CallReceipt {
        let label = format!("{contract}.{method}");
        let receipt = self.send(from, action, options, label);
        self.gas
            .methods
            .entry((contract, method))
            .or_default()
            .record(receipt.gas_used());
        receipt
    }

    fn send(
        &mut self,
        from: Address,
        action: TxAction,
        options: CallOptions,
        label: String,
    ) -> CallReceipt {
        let key = self
            .keys
            .get(&from)
            .unwrap_or_else(|| panic!("{from:?} is not an account of this test chain"));
        let tx = Transaction {
            chain_id: CHAIN_ID,
            nonce: self.nonce(from),
            gas_limit: options.gas_limit,
            gas_price: options.gas_price,
            value: options.value,
            action,
        }
        .sign(key);
        let (block, mut receipts, rejected) = self.commit(vec![tx]);
        if let Some((_, error)) = rejected.first() {
            panic!("{label} was not admitted: {error}");
        }
        let receipt = receipts
            .pop()
            .unwrap_or_else(|| unreachable!("an admitted transaction has a receipt"));
        CallReceipt {
            block,
            receipt,
            label,
        }
    }

    fn commit(&mut self, txs: Vec<SignedTransaction>) -> (u64, Vec<Receipt>, Rejected) {
        self.timestamp = self.timestamp.saturating_add(1);
        let (block, receipts, rejected) = self
            .chain
            .produce_block(self.timestamp, Address::zero(), txs)
            .unwrap_or_else(|e| panic!("producing a block: {e}"));
        let number = block.header.number;
        self.blocks.push(block);
        (number, receipts, rejected)
    }
}

fn executor() -> Executor {
    Executor::new(ExecConfig::default())
}

/// Reads a contract's `.wasm`, or panics saying how to build it.
#[track_caller]
fn read_wasm(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "cannot read the contract {}: {e}\n\
             build it first: `cairn build` in the contract's crate \
             (or `./contracts/build.sh` for the examples in the Cairn repository)",
            display(path)
        )
    })
}

fn display(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| PathBuf::from(path))
        .display()
        .to_string()
}
