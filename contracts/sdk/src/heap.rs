//! A bump allocator for one call's lifetime.
//!
//! Every call instantiates a fresh module, so the heap never needs to outlive
//! it: allocation moves a pointer up from the linker's `__heap_base`, growing
//! linear memory a page at a time (up to the module's declared maximum);
//! freeing only reclaims the most recent allocation (the common push/pop and
//! grow-in-place patterns). Fully deterministic: addresses depend only on the
//! sequence of allocations.
#![allow(unsafe_code, reason = "a global allocator is unsafe by definition")]

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;

const PAGE: usize = 65_536;

struct BumpHeap {
    next: Cell<usize>,
    end: Cell<usize>,
}

// SAFETY: a Wasm instance runs one thread; there is no concurrent access.
unsafe impl Sync for BumpHeap {}

#[global_allocator]
static HEAP: BumpHeap = BumpHeap {
    next: Cell::new(0),
    end: Cell::new(0),
};

unsafe extern "C" {
    /// First byte after static data and the stack, defined by the linker.
    static __heap_base: u8;
}

impl BumpHeap {
    fn ensure_initialised(&self) {
        if self.end.get() == 0 {
            // SAFETY: only the symbol's address is taken.
            let base = (&raw const __heap_base) as usize;
            self.next.set(base);
            self.end.set(wasm32::memory_size(0) * PAGE);
        }
    }

    /// Makes `[.., end)` cover `needed`, growing memory; false if it cannot.
    fn reserve_until(&self, needed: usize) -> bool {
        let end = self.end.get();
        if needed <= end {
            return true;
        }
        let pages = (needed - end).div_ceil(PAGE);
        if wasm32::memory_grow(0, pages) == usize::MAX {
            return false;
        }
        self.end.set(end + pages * PAGE);
        true
    }
}

// SAFETY: returned blocks are aligned, disjoint from live blocks and inside
// linear memory; null on exhaustion.
unsafe impl GlobalAlloc for BumpHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.ensure_initialised();
        let Some(start) = self.next.get().checked_next_multiple_of(layout.align()) else {
            return core::ptr::null_mut();
        };
        let Some(new_next) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if !self.reserve_until(new_next) {
            return core::ptr::null_mut();
        }
        self.next.set(new_next);
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize + layout.size() == self.next.get() {
            self.next.set(ptr as usize);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = ptr as usize;
        if start + layout.size() == self.next.get() {
            // The last block grows or shrinks in place.
            if let Some(new_next) = start.checked_add(new_size) {
                if self.reserve_until(new_next) {
                    self.next.set(new_next);
                    return ptr;
                }
            }
            return core::ptr::null_mut();
        }
        // SAFETY: same contract as `GlobalAlloc::realloc`'s default.
        unsafe {
            let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
                return core::ptr::null_mut();
            };
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            }
            new
        }
    }
}
