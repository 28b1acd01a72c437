//! The write overlay the engine works in during a block.

use crate::error::StateError;
use crate::store::{StateChanges, StateRead};

/// Pending writes over a read-only base (a [`Store`](crate::Store) or another
/// overlay): reads see the pending writes first. The chain layer executes a
/// block into an overlay, then drains it with [`Overlay::into_changes`] into
/// [`Store::commit`](crate::Store::commit); nesting one overlay per
/// transaction gives cheap rollback (drop it) or keep ([`Overlay::absorb`]).
#[derive(Debug)]
pub struct Overlay<'a, R: StateRead + ?Sized> {
    base: &'a R,
    writes: StateChanges,
}

impl<'a, R: StateRead + ?Sized> Overlay<'a, R> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a R) -> Self {
        Self {
            base,
            writes: StateChanges::new(),
        }
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    /// Deletes `key`.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// Applies writes drained from a nested overlay.
    pub fn absorb(&mut self, changes: StateChanges) {
        self.writes.extend(changes);
    }

    /// The pending writes.
    #[must_use]
    pub fn changes(&self) -> &StateChanges {
        &self.writes
    }

    /// Whether nothing is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Drains the pending writes, for [`Store::commit`](crate::Store::commit).
    #[must_use]
    pub fn into_changes(self) -> StateChanges {
        self.writes
    }
}

impl<R: StateRead + ?Sized> StateRead for Overlay<'_, R> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        ReadThrough::new(&self.writes, self.base).get(key)
    }
}

/// Borrowed changes over a read-only base: reads see the changes first,
/// like an [`Overlay`] that does not own its writes (the chain executes a
/// block over its parent's changes while the parent is being committed).
#[derive(Debug, Clone, Copy)]
pub struct ReadThrough<'a, R: StateRead + ?Sized> {
    changes: &'a StateChanges,
    base: &'a R,
}

impl<'a, R: StateRead + ?Sized> ReadThrough<'a, R> {
    /// `changes` over `base`.
    pub fn new(changes: &'a StateChanges, base: &'a R) -> Self {
        Self { changes, base }
    }
}

impl<R: StateRead + ?Sized> StateRead for ReadThrough<'_, R> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.changes.get(key) {
            Some(pending) => Ok(pending.clone()),
            None => self.base.get(key),
        }
    }
}
