//! The write journal: an overlay over the world state with a checkpoint per
//! call frame.
//!
//! Reads go to the overlay first and to the [`WorldState`] otherwise. Every
//! write records the overlay's previous entry in an undo log; reverting to a
//! checkpoint replays the undo log backwards and truncates the logs, so a
//! reverted or halted frame leaves no trace (storage, accounts, code, logs).

use std::collections::BTreeMap;

use cairn_host_api::world::{Account, Address, CodeHash, U256, WorldState};

use super::outcome::{Log, NodeError, StateChanges};

enum Undo {
    Storage {
        key: (Address, Vec<u8>),
        previous: Option<Option<Vec<u8>>>,
    },
    Account {
        address: Address,
        previous: Option<Account>,
    },
    Code {
        hash: CodeHash,
    },
}

/// A position in the journal to return to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checkpoint {
    undo_len: usize,
    logs_len: usize,
}

/// Overlay of pending writes for one top-level message.
#[derive(Default)]
pub(crate) struct Journal {
    storage: BTreeMap<(Address, Vec<u8>), Option<Vec<u8>>>,
    accounts: BTreeMap<Address, Account>,
    code: BTreeMap<CodeHash, Vec<u8>>,
    logs: Vec<Log>,
    undo: Vec<Undo>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("storage", &self.storage.len())
            .field("accounts", &self.accounts.len())
            .field("logs", &self.logs.len())
            .field("undo", &self.undo.len())
            .finish()
    }
}

impl Journal {
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            undo_len: self.undo.len(),
            logs_len: self.logs.len(),
        }
    }

    /// Discards every change made since `checkpoint`.
    pub(crate) fn revert_to(&mut self, checkpoint: Checkpoint) {
        while self.undo.len() > checkpoint.undo_len {
            match self.undo.pop() {
                Some(Undo::Storage { key, previous }) => match previous {
                    Some(value) => {
                        self.storage.insert(key, value);
                    }
                    None => {
                        self.storage.remove(&key);
                    }
                },
                Some(Undo::Account { address, previous }) => match previous {
                    Some(account) => {
                        self.accounts.insert(address, account);
                    }
                    None => {
                        self.accounts.remove(&address);
                    }
                },
                Some(Undo::Code { hash }) => {
                    self.code.remove(&hash);
                }
                None => break,
            }
        }
        self.logs.truncate(checkpoint.logs_len);
    }

    pub(crate) fn storage(
        &self,
        world: &dyn WorldState,
        address: &Address,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, NodeError> {
        // A BTreeMap keyed by (Address, Vec<u8>) needs an owned key to look up.
        if let Some(value) = self.storage.get(&(*address, key.to_vec())) {
            return Ok(value.clone());
        }
        Ok(world.storage(address, key)?)
    }

    pub(crate) fn set_storage(&mut self, address: Address, key: Vec<u8>, value: Option<Vec<u8>>) {
        let previous = self.storage.insert((address, key.clone()), value);
        self.undo.push(Undo::Storage {
            key: (address, key),
            previous,
        });
    }

    pub(crate) fn account(
        &self,
        world: &dyn WorldState,
        address: &Address,
    ) -> Result<Option<Account>, NodeError> {
        if let Some(account) = self.accounts.get(address) {
            return Ok(Some(account.clone()));
        }
        Ok(world.account(address)?)
    }

    pub(crate) fn balance(
        &self,
        world: &dyn WorldState,
        address: &Address,
    ) -> Result<U256, NodeError> {
        Ok(self
            .account(world, address)?
            .map(|a| a.balance)
            .unwrap_or_default())
    }

    pub(crate) fn set_account(&mut self, address: Address, account: Account) {
        let previous = self.accounts.insert(address, account);
        self.undo.push(Undo::Account { address, previous });
    }

    pub(crate) fn code(
        &self,
        world: &dyn WorldState,
        hash: &CodeHash,
    ) -> Result<Option<Vec<u8>>, NodeError> {
        if let Some(code) = self.code.get(hash) {
            return Ok(Some(code.clone()));
        }
        Ok(world.code(hash)?)
    }

    pub(crate) fn add_code(&mut self, hash: CodeHash, code: Vec<u8>) {
        if self.code.insert(hash, code).is_none() {
            self.undo.push(Undo::Code { hash });
        }
    }

    pub(crate) fn push_log(&mut self, log: Log) {
        self.logs.push(log);
    }

    /// Moves `value` from `from` to `to`. Returns `false` (and changes nothing)
    /// if `from` cannot cover it. A zero value changes nothing.
    pub(crate) fn transfer(
        &mut self,
        world: &dyn WorldState,
        from: &Address,
        to: &Address,
        value: U256,
    ) -> Result<bool, NodeError> {
        if value.is_zero() {
            return Ok(true);
        }
        let mut sender = self.account(world, from)?.unwrap_or_default();
        let Some(remaining) = sender.balance.checked_sub(value) else {
            return Ok(false);
        };
        if from == to {
            return Ok(true);
        }
        let mut recipient = self.account(world, to)?.unwrap_or_default();
        let Some(credited) = recipient.balance.checked_add(value) else {
            // Total supply is bounded far below 2^256; treat as unpayable.
            return Ok(false);
        };
        sender.balance = remaining;
        recipient.balance = credited;
        self.set_account(*from, sender);
        self.set_account(*to, recipient);
        Ok(true)
    }

    /// The accumulated changes and logs.
    pub(crate) fn into_changes(self) -> (StateChanges, Vec<Log>) {
        (
            StateChanges {
                accounts: self.accounts,
                storage: self.storage,
                code: self.code,
            },
            self.logs,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::InMemoryWorld;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Write(u8, Option<u8>),
        Fund(u8, u64),
        Transfer(u8, u8, u64),
        Log(u8),
        Enter,
        Revert,
        Commit,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..4, proptest::option::of(any::<u8>())).prop_map(|(k, v)| Op::Write(k, v)),
            (0u8..3, 0u64..100).prop_map(|(a, b)| Op::Fund(a, b)),
            (0u8..3, 0u8..3, 0u64..150).prop_map(|(a, b, v)| Op::Transfer(a, b, v)),
            any::<u8>().prop_map(Op::Log),
            Just(Op::Enter),
            Just(Op::Revert),
            Just(Op::Commit),
        ]
    }

    /// The model: a stack of full snapshots of (storage, balances, logs).
    type Snapshot = (BTreeMap<u8, Option<u8>>, BTreeMap<u8, u64>, Vec<u8>);

    proptest! {
        #[test]
        fn checkpoints_behave_like_snapshots(ops in proptest::collection::vec(op(), 0..80)) {
            let world = InMemoryWorld::new();
            let contract = Address::repeat_byte(9);
            let account = |n: u8| Address::repeat_byte(n);
            let mut journal = Journal::default();
            let mut checkpoints = Vec::new();
            let mut model: Snapshot = Default::default();
            let mut snapshots: Vec<Snapshot> = Vec::new();
            for op in ops {
                match op {
                    Op::Write(k, v) => {
                        journal.set_storage(contract, vec![k], v.map(|v| vec![v]));
                        model.0.insert(k, v);
                    }
                    Op::Fund(a, amount) => {
                        let mut acc = journal.account(&world, &account(a)).unwrap().unwrap_or_default();
                        acc.balance = U256::from(amount);
                        journal.set_account(account(a), acc);
                        model.1.insert(a, amount);
                    }
                    Op::Transfer(a, b, v) => {
                        let done = journal.transfer(&world, &account(a), &account(b), U256::from(v)).unwrap();
                        let from = model.1.get(&a).copied().unwrap_or(0);
                        prop_assert_eq!(done, from >= v);
                        if done && a != b && v > 0 {
                            model.1.insert(a, from - v);
                            *model.1.entry(b).or_insert(0) += v;
                        }
                    }
                    Op::Log(byte) => {
                        journal.push_log(Log { address: contract, topics: vec![], data: vec![byte] });
                        model.2.push(byte);
                    }
                    Op::Enter => {
                        checkpoints.push(journal.checkpoint());
                        snapshots.push(model.clone());
                    }
                    Op::Revert => {
                        if let (Some(checkpoint), Some(snapshot)) = (checkpoints.pop(), snapshots.pop()) {
                            journal.revert_to(checkpoint);
                            model = snapshot;
                        }
                    }
                    Op::Commit => {
                        checkpoints.pop();
                        snapshots.pop();
                    }
                }
                for k in 0u8..4 {
                    let expected = model.0.get(&k).copied().flatten().map(|v| vec![v]);
                    prop_assert_eq!(journal.storage(&world, &contract, &[k]).unwrap(), expected);
                }
                for a in 0u8..3 {
                    let expected = U256::from(model.1.get(&a).copied().unwrap_or(0));
                    prop_assert_eq!(journal.balance(&world, &account(a)).unwrap(), expected);
                }
                let logs: Vec<u8> = journal.logs.iter().map(|log| log.data[0]).collect();
                prop_assert_eq!(&logs, &model.2);
            }
        }
    }
}
