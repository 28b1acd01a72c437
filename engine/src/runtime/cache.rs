//! Bounded cache of compiled modules keyed by (code hash, schedule hash).
//!
//! Eviction is least-recently-used by a monotonic use counter kept in a
//! `BTreeMap`, so it is deterministic; it never affects results anyway, only
//! how often code is prepared and compiled again.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_host_api::world::H256;

use super::state::ShadowStackMap;

/// A prepared module compiled by wasmi, plus what diagnostics need.
#[derive(Debug)]
pub(crate) struct CompiledModule {
    pub(crate) module: wasmi::Module,
    pub(crate) function_names: BTreeMap<u32, String>,
    pub(crate) has_deploy: bool,
    /// Export and table targets, for traced (shadow-stack) modules only.
    pub(crate) shadow_map: Option<Arc<ShadowStackMap>>,
    /// A failed check publishes the exact counter before it traps
    /// ([`crate::prepare::PreparedCode::publishes_halt_counter`]).
    pub(crate) publishes_halt_counter: bool,
}

#[derive(Debug)]
pub(crate) struct ModuleCache {
    capacity: usize,
    clock: u64,
    entries: BTreeMap<(H256, H256), (Arc<CompiledModule>, u64)>,
    by_age: BTreeMap<u64, (H256, H256)>,
    /// Modules inserted so far (each was prepared and compiled: a miss).
    inserted: u64,
}

impl ModuleCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            clock: 0,
            entries: BTreeMap::new(),
            by_age: BTreeMap::new(),
            inserted: 0,
        }
    }

    pub(crate) fn inserted(&self) -> u64 {
        self.inserted
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn get(&mut self, key: &(H256, H256)) -> Option<Arc<CompiledModule>> {
        self.clock += 1;
        let clock = self.clock;
        let (module, used) = self.entries.get_mut(key)?;
        self.by_age.remove(used);
        *used = clock;
        self.by_age.insert(clock, *key);
        Some(Arc::clone(module))
    }

    pub(crate) fn insert(&mut self, key: (H256, H256), module: Arc<CompiledModule>) {
        if self.capacity == 0 {
            return;
        }
        self.inserted += 1;
        self.clock += 1;
        if let Some((_, used)) = self.entries.insert(key, (module, self.clock)) {
            self.by_age.remove(&used);
        }
        self.by_age.insert(self.clock, key);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(engine: &wasmi::Engine) -> Arc<CompiledModule> {
        let module = wasmi::Module::new(engine, b"\0asm\x01\0\0\0").unwrap();
        Arc::new(CompiledModule {
            module,
            function_names: BTreeMap::new(),
            has_deploy: false,
            shadow_map: None,
            publishes_halt_counter: false,
        })
    }

    #[test]
    fn evicts_least_recently_used() {
        let engine = wasmi::Engine::default();
        let key = |n: u8| (H256::repeat_byte(n), H256::zero());
        let mut cache = ModuleCache::new(2);
        cache.insert(key(1), module(&engine));
        cache.insert(key(2), module(&engine));
        assert!(cache.get(&key(1)).is_some());
        cache.insert(key(3), module(&engine));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key(2)).is_none(), "2 was least recently used");
        assert!(cache.get(&key(1)).is_some());
        assert!(cache.get(&key(3)).is_some());
    }
}
