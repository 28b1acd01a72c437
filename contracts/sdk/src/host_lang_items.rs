//! Lang items for compiling contracts for the host (`cargo clippy`, `cargo
//! check` without a wasm target): a `no_std` `cdylib` needs a panic handler
//! and a global allocator to type-check. Nothing here runs in a contract.
#![allow(unsafe_code, reason = "a global allocator is unsafe by definition")]

use core::alloc::{GlobalAlloc, Layout};

struct NoHeap;

// SAFETY: never hands out memory.
unsafe impl GlobalAlloc for NoHeap {
    unsafe fn alloc(&self, _: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static HEAP: NoHeap = NoHeap;

#[panic_handler]
fn halt(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
