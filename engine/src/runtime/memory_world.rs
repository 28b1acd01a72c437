//! An in-memory [`WorldState`] for tests, `cairn run` and dry runs.

use std::collections::BTreeMap;

use cairn_host_api::world::{Account, Address, BackendError, CodeHash, U256, WorldState};

use super::outcome::StateChanges;

/// World state held in `BTreeMap`s. Never fails a read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InMemoryWorld {
    /// Accounts by address.
    pub accounts: BTreeMap<Address, Account>,
    /// Contract storage by (contract, key).
    pub storage: BTreeMap<(Address, Vec<u8>), Vec<u8>>,
    /// Original code by hash.
    pub code: BTreeMap<CodeHash, Vec<u8>>,
}

impl InMemoryWorld {
    /// An empty world.
    pub fn new() -> Self {
        Self::default()
    }

    /// Credits `balance` to `address`, creating the account if needed.
    pub fn fund(&mut self, address: Address, balance: U256) -> &mut Self {
        self.accounts.entry(address).or_default().balance = balance;
        self
    }

    /// Applies a successful message's changes.
    pub fn apply(&mut self, changes: &StateChanges) {
        for (address, account) in &changes.accounts {
            self.accounts.insert(*address, account.clone());
        }
        for (key, value) in &changes.storage {
            match value {
                Some(value) => {
                    self.storage.insert(key.clone(), value.clone());
                }
                None => {
                    self.storage.remove(key);
                }
            }
        }
        for (hash, code) in &changes.code {
            self.code.insert(*hash, code.clone());
        }
    }
}

impl WorldState for InMemoryWorld {
    fn account(&self, address: &Address) -> Result<Option<Account>, BackendError> {
        Ok(self.accounts.get(address).cloned())
    }

    fn storage(&self, address: &Address, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self.storage.get(&(*address, key.to_vec())).cloned())
    }

    fn code(&self, code_hash: &CodeHash) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self.code.get(code_hash).cloned())
    }
}
