//! A deterministic workload of signed token and native transfers, shared by
//! `cairn demo`, `cairn bench e2e`, the criterion benches and the tests, so
//! all of them run exactly the same transactions.

use cairn_host_api::abi::encode_call;
use cairn_host_api::world::{Address, U256};
use parity_scale_codec::Encode;

use cairn_chain::genesis::{Genesis, GenesisAccount, GenesisContract};
use cairn_chain::keys::{SigningKey, keccak256};
use cairn_chain::tx::{SignedTransaction, Transaction, TxAction};

/// The token contract (`contracts/examples/token`), as committed.
pub const TOKEN_WASM: &[u8] = include_bytes!("../../contracts/artifacts/token.wasm");

/// Chain id of the workload's genesis.
pub const WORKLOAD_CHAIN_ID: u64 = 1337;
/// Gas limit of each workload transaction.
pub const WORKLOAD_TX_GAS: u64 = 5_000_000;
/// Block gas limit of the workload's genesis.
pub const WORKLOAD_BLOCK_GAS: u64 = 1_000_000_000_000;

/// Keys, genesis and a generator of signed transfer transactions.
#[derive(Debug)]
pub struct TransferWorkload {
    keys: Vec<SigningKey>,
    addresses: Vec<Address>,
    nonces: Vec<u64>,
    token: Address,
    counter: u64,
    funded: bool,
    native_transfers: bool,
}

impl TransferWorkload {
    /// `accounts` funded accounts (at least 2) with keys derived from fixed seeds.
    pub fn new(accounts: usize) -> Self {
        let accounts = accounts.max(2);
        let keys: Vec<SigningKey> = (0..accounts)
            .map(|i| SigningKey::from_seed(format!("cairn workload account {i}").as_bytes()))
            .collect();
        let addresses = keys.iter().map(SigningKey::address).collect();
        let token = Address::from_slice(&keccak256(b"cairn workload token").as_bytes()[12..]);
        Self {
            keys,
            addresses,
            nonces: vec![0; accounts],
            token,
            counter: 0,
            funded: false,
            native_transfers: true,
        }
    }

    /// Only token transfers from now on (no native transfers): the
    /// end-to-end benchmark's blocks.
    pub fn token_transfers_only(mut self) -> Self {
        self.native_transfers = false;
        self
    }

    /// Continues a workload whose chain already holds `txs_so_far`
    /// transactions: nonces come from the chain (`nonce_of`), the funding
    /// batch is not repeated if anything was sent.
    pub fn resume(&mut self, txs_so_far: u64, mut nonce_of: impl FnMut(&Address) -> u64) {
        for (nonce, address) in self.nonces.iter_mut().zip(&self.addresses) {
            *nonce = nonce_of(address);
        }
        self.funded = txs_so_far > 0;
        self.counter = txs_so_far;
    }

    /// The funded accounts' addresses.
    pub fn addresses(&self) -> &[Address] {
        &self.addresses
    }

    /// The token contract's address.
    pub fn token(&self) -> Address {
        self.token
    }

    /// Genesis: every account funded, the token deployed with its whole
    /// supply held by account 0.
    pub fn genesis(&self) -> Genesis {
        let supply = U256::from(10u64).pow(U256::from(30u64));
        Genesis {
            chain_id: WORKLOAD_CHAIN_ID,
            block_gas_limit: WORKLOAD_BLOCK_GAS,
            timestamp: 1_700_000_000,
            accounts: self
                .addresses
                .iter()
                .map(|address| GenesisAccount {
                    address: *address,
                    balance: supply,
                })
                .collect(),
            contracts: vec![GenesisContract {
                name: "token".into(),
                address: self.token,
                deployer: self.addresses[0],
                code: TOKEN_WASM.to_vec(),
                input: ("Cairn Token".to_string(), "CRN".to_string(), supply).encode(),
                balance: U256::zero(),
            }],
            validators: Vec::new(),
        }
    }

    fn sign(&mut self, sender: usize, value: U256, action: TxAction) -> SignedTransaction {
        let nonce = self.nonces[sender];
        self.nonces[sender] = nonce.saturating_add(1);
        Transaction {
            chain_id: WORKLOAD_CHAIN_ID,
            nonce,
            gas_limit: WORKLOAD_TX_GAS,
            gas_price: 1,
            value,
            action,
        }
        .sign(&self.keys[sender])
    }

    /// The next `count` signed transactions: the first batch hands every
    /// account some tokens; after that three token transfers for every
    /// native transfer, senders in turn.
    pub fn next_transactions(&mut self, count: usize) -> Vec<SignedTransaction> {
        let mut txs = Vec::with_capacity(count);
        let n = self.addresses.len();
        if !self.funded {
            self.funded = true;
            for i in 1..n {
                if txs.len() == count {
                    break;
                }
                let data = encode_call(
                    "transfer",
                    &(self.addresses[i], U256::from(10u64).pow(U256::from(24u64))),
                );
                let tx = self.sign(
                    0,
                    U256::zero(),
                    TxAction::Call {
                        to: self.token,
                        data,
                    },
                );
                txs.push(tx);
            }
        }
        while txs.len() < count {
            let k = self.counter;
            self.counter = self.counter.wrapping_add(1);
            let n64 = u64::try_from(n).unwrap_or(u64::MAX);
            let sender = usize::try_from(k % n64).unwrap_or(0);
            let recipient = self.addresses
                [usize::try_from(k.wrapping_mul(7).wrapping_add(3) % n64).unwrap_or(0)];
            let amount = U256::from(k % 100 + 1);
            let tx = if self.native_transfers && k % 4 == 3 {
                self.sign(
                    sender,
                    amount,
                    TxAction::Call {
                        to: recipient,
                        data: Vec::new(),
                    },
                )
            } else {
                let data = encode_call("transfer", &(recipient, amount));
                self.sign(
                    sender,
                    U256::zero(),
                    TxAction::Call {
                        to: self.token,
                        data,
                    },
                )
            };
            txs.push(tx);
        }
        txs
    }
}
