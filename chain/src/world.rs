//! The world state over the Merkleized store: key layout and the block
//! overlay the engine reads through.
//!
//! Key layout (normative text: `specs/chain.md`, "State layout"):
//!
//! | key | value |
//! |---|---|
//! | `0x01 ‖ address (20)` | SCALE [`Account`] |
//! | `0x02 ‖ address (20) ‖ storage key` | raw storage value |
//! | `0x03 ‖ code hash (32)` | original Wasm code, once per code hash |

use std::cell::RefCell;
use std::collections::BTreeSet;

use cairn_host_api::world::{Account, Address, BackendError, CodeHash, WorldState};
use cairn_state::{Overlay, StateChanges, StateError, StateRead, StateView, Version};
use parity_scale_codec::Encode;

use crate::codec::decode_exact;

/// Prefix of account records.
pub const ACCOUNT_PREFIX: u8 = 0x01;
/// Prefix of contract storage.
pub const STORAGE_PREFIX: u8 = 0x02;
/// Prefix of contract code.
pub const CODE_PREFIX: u8 = 0x03;

/// The state key of `address`'s account record.
pub fn account_key(address: &Address) -> Vec<u8> {
    let mut key = Vec::with_capacity(21);
    key.push(ACCOUNT_PREFIX);
    key.extend_from_slice(address.as_bytes());
    key
}

/// The state key of contract `address`'s storage slot `slot`.
pub fn storage_key(address: &Address, slot: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(21 + slot.len());
    key.push(STORAGE_PREFIX);
    key.extend_from_slice(address.as_bytes());
    key.extend_from_slice(slot);
    key
}

/// The state key of the code with hash `code_hash`.
pub fn code_key(code_hash: &CodeHash) -> Vec<u8> {
    let mut key = Vec::with_capacity(33);
    key.push(CODE_PREFIX);
    key.extend_from_slice(code_hash.as_bytes());
    key
}

pub(crate) fn backend_error(what: &str, err: StateError) -> BackendError {
    BackendError::with_source(format!("reading {what}"), err)
}

/// The state as of a retained `version`, read through a [`StateView`]: what
/// blocks are re-executed over (bundles) and what dry runs at an older
/// block read.
#[derive(Debug)]
pub struct StateAt<'a, V: ?Sized> {
    view: &'a V,
    version: Version,
}

impl<'a, V: StateView + ?Sized> StateAt<'a, V> {
    /// Reads of `view` at `version`.
    pub fn new(view: &'a V, version: Version) -> Self {
        Self { view, version }
    }
}

impl<V: StateView + ?Sized> StateRead for StateAt<'_, V> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.view.get_at(key, self.version)
    }
}

/// A block's pending writes over the state as of the block's parent, seen by
/// the engine as a [`WorldState`]. Optionally records every key read, which a
/// replay bundle's witness must cover.
#[derive(Debug)]
pub struct BlockState<'a, R: StateRead + ?Sized> {
    overlay: Overlay<'a, R>,
    reads: Option<RefCell<BTreeSet<Vec<u8>>>>,
}

impl<'a, R: StateRead + ?Sized> BlockState<'a, R> {
    /// An empty overlay over `base`; `record_reads` keeps the set of keys read.
    pub fn new(base: &'a R, record_reads: bool) -> Self {
        Self {
            overlay: Overlay::new(base),
            reads: record_reads.then(RefCell::default),
        }
    }

    fn read(&self, key: &[u8], what: &str) -> Result<Option<Vec<u8>>, BackendError> {
        if let Some(reads) = &self.reads {
            reads.borrow_mut().insert(key.to_vec());
        }
        self.overlay.get(key).map_err(|e| backend_error(what, e))
    }

    /// Writes an account record.
    pub fn put_account(&mut self, address: &Address, account: &Account) {
        self.overlay.put(account_key(address), account.encode());
    }

    /// Applies the engine's changes of a successful message.
    pub fn apply(&mut self, changes: &cairn_engine::runtime::StateChanges) {
        for (address, account) in &changes.accounts {
            self.put_account(address, account);
        }
        for ((address, slot), value) in &changes.storage {
            let key = storage_key(address, slot);
            match value {
                Some(value) => self.overlay.put(key, value.clone()),
                None => self.overlay.delete(key),
            }
        }
        for (hash, code) in &changes.code {
            self.overlay.put(code_key(hash), code.clone());
        }
    }

    /// The account at `address`, or an empty one.
    ///
    /// # Errors
    ///
    /// [`BackendError`] if the store fails or the record is corrupt.
    pub fn account_or_default(&self, address: &Address) -> Result<Account, BackendError> {
        Ok(self.account(address)?.unwrap_or_default())
    }

    /// The pending writes.
    pub fn changes(&self) -> &StateChanges {
        self.overlay.changes()
    }

    /// Drains the pending writes and the keys read (empty unless recorded).
    pub fn finish(self) -> (StateChanges, BTreeSet<Vec<u8>>) {
        let reads = self.reads.map(RefCell::into_inner).unwrap_or_default();
        (self.overlay.into_changes(), reads)
    }
}

impl<R: StateRead + ?Sized> WorldState for BlockState<'_, R> {
    fn account(&self, address: &Address) -> Result<Option<Account>, BackendError> {
        match self.read(&account_key(address), "an account")? {
            None => Ok(None),
            Some(bytes) => decode_exact(&bytes).map(Some).map_err(|e| {
                BackendError::msg(format!("account record of {address:?} is corrupt: {e}"))
            }),
        }
    }

    fn storage(&self, address: &Address, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        self.read(&storage_key(address, key), "contract storage")
    }

    fn code(&self, code_hash: &CodeHash) -> Result<Option<Vec<u8>>, BackendError> {
        self.read(&code_key(code_hash), "contract code")
    }
}
