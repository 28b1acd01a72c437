//! Node errors: a failing backend is never an outcome.

use super::*;

struct FailingStorage(InMemoryWorld);

impl WorldState for FailingStorage {
    fn account(&self, address: &Address) -> Result<Option<Account>, BackendError> {
        self.0.account(address)
    }
    fn storage(&self, _: &Address, _: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        Err(BackendError::msg("disk on fire"))
    }
    fn code(&self, code_hash: &CodeHash) -> Result<Option<Vec<u8>>, BackendError> {
        self.0.code(code_hash)
    }
}

#[test]
fn backend_failures_are_node_errors_not_outcomes() {
    let mut h = Harness::new();
    h.install(addr(2), STORAGE);
    h.install(addr(1), CALLER);
    let world = FailingStorage(h.world.clone());
    // Directly, and from inside a nested call.
    let error = h
        .executor
        .execute(&world, &h.block, &h.message(addr(2), &[3], GAS))
        .unwrap_err();
    assert!(matches!(error, NodeError::Backend(_)), "{error}");
    let error = h
        .executor
        .execute(
            &world,
            &h.block,
            &h.message(addr(1), &caller_input(5, -1), GAS),
        )
        .unwrap_err();
    assert!(error.to_string().contains("disk on fire"), "{error}");
}

// ---------------------------------------------------------------------------
