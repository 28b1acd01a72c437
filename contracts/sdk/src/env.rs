//! Safe wrappers over the host API: call data, context, crypto, events,
//! transfers and cross-contract calls.
//!
//! Every function here is one host call (see `host-api/src/table.rs` for its
//! gas); none of them allocate except where they return a `Vec`.
#![allow(
    unsafe_code,
    reason = "each wrapper passes valid in-bounds pointers to one host import"
)]

use crate::abi::{self, Selector};
use crate::sys;
use crate::{Address, H256, U256};
use alloc::string::String;
use alloc::vec::Vec;
use parity_scale_codec::{Decode, DecodeAll, Encode};

/// A guest pointer as the host ABI's `i32` (wasm32 addresses are 32-bit).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "wasm32 pointers fit in 32 bits; the host reads them as unsigned"
)]
fn ptr<T>(p: *const T) -> i32 {
    p as usize as i32
}

/// A guest length as the host ABI's `i32`.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "wasm32 lengths fit in 32 bits; the host reads them as unsigned"
)]
fn len(n: usize) -> i32 {
    n as i32
}

/// A length returned by the host (never negative where this is used).
fn host_len(n: i32) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// The call data of the current call (selector included).
pub fn input() -> Vec<u8> {
    // SAFETY: the host writes exactly `size` bytes into the buffer we reserved.
    unsafe {
        let size = host_len(sys::input_size());
        let mut buf = Vec::with_capacity(size);
        sys::input_copy(ptr(buf.as_mut_ptr()), 0, len(size));
        buf.set_len(size);
        buf
    }
}

/// Ends the call successfully with `data` as return data.
pub fn return_bytes(data: &[u8]) -> ! {
    // SAFETY: `data` is a valid slice.
    unsafe { sys::return_value(ptr(data.as_ptr()), len(data.len())) };
    // The host never returns from `return_value`.
    core::unreachable!()
}

/// Ends the call successfully with `SCALE(value)` as return data.
pub fn return_value<T: Encode + ?Sized>(value: &T) -> ! {
    return_bytes(&value.encode())
}

/// Ends the call as reverted with the revert's data.
pub fn revert(revert: &crate::Revert) -> ! {
    revert_bytes(revert.data())
}

/// Ends the call as reverted with `data` verbatim.
pub fn revert_bytes(data: &[u8]) -> ! {
    // SAFETY: `data` is a valid slice.
    unsafe { sys::revert(ptr(data.as_ptr()), len(data.len())) };
    core::unreachable!()
}

/// Runs `f` with a pointer to 20 writable bytes and returns them as an address.
fn read_address(f: impl FnOnce(i32)) -> Address {
    let mut out = Address::zero();
    f(ptr(out.0.as_mut_ptr()));
    out
}

/// The immediate caller (an account or a contract).
pub fn caller() -> Address {
    // SAFETY: the host writes 20 bytes, the size of `Address`.
    read_address(|p| unsafe { sys::caller(p) })
}

/// The account that signed the transaction.
pub fn origin() -> Address {
    // SAFETY: the host writes 20 bytes, the size of `Address`.
    read_address(|p| unsafe { sys::origin(p) })
}

/// This contract's own address.
pub fn address() -> Address {
    // SAFETY: the host writes 20 bytes, the size of `Address`.
    read_address(|p| unsafe { sys::address(p) })
}

/// The value sent with this call.
pub fn value() -> U256 {
    let mut le = [0u8; 32];
    // SAFETY: the host writes 32 bytes.
    unsafe { sys::value(ptr(le.as_mut_ptr())) };
    U256::from_little_endian(&le)
}

/// The native balance of `account` (zero if it does not exist).
pub fn balance(account: &Address) -> U256 {
    let mut le = [0u8; 32];
    // SAFETY: 20 bytes readable at `account`, 32 writable at `le`.
    unsafe { sys::balance(ptr(account.0.as_ptr()), ptr(le.as_mut_ptr())) };
    U256::from_little_endian(&le)
}

/// The number of the block being executed.
pub fn block_number() -> u64 {
    // SAFETY: no memory involved.
    unsafe { sys::block_number() }.cast_unsigned()
}

/// The block's timestamp (seconds, set by the block producer).
pub fn block_timestamp() -> u64 {
    // SAFETY: no memory involved.
    unsafe { sys::block_timestamp() }.cast_unsigned()
}

/// The chain id.
pub fn chain_id() -> u64 {
    // SAFETY: no memory involved.
    unsafe { sys::chain_id() }.cast_unsigned()
}

/// Gas left in this call frame.
pub fn gas_left() -> u64 {
    // SAFETY: no memory involved.
    unsafe { sys::gas_left() }.cast_unsigned()
}

/// keccak256 of `data`.
pub fn keccak256(data: &[u8]) -> H256 {
    let mut out = H256::zero();
    // SAFETY: `data` readable, 32 bytes writable at `out`.
    unsafe { sys::keccak256(ptr(data.as_ptr()), len(data.len()), ptr(out.0.as_mut_ptr())) };
    out
}

/// The address that produced `signature` (`r ‖ s ‖ v`) over `hash`, or `None`
/// if the signature is malformed, high-s or does not recover.
pub fn ecrecover(hash: &H256, signature: &[u8; 65]) -> Option<Address> {
    let mut out = Address::zero();
    // SAFETY: 32 and 65 readable bytes, 20 writable.
    let status = unsafe {
        sys::ecrecover(
            ptr(hash.0.as_ptr()),
            ptr(signature.as_ptr()),
            ptr(out.0.as_mut_ptr()),
        )
    };
    (status == 0).then_some(out)
}

/// Emits an event: topic 0 is `signature` (use [`abi::event_signature`]),
/// followed by at most 3 `indexed` topics (see [`abi::topic_of`]); the data is
/// `SCALE(data)`.
pub fn emit_event<D: Encode + ?Sized>(signature: &[u8; 32], indexed: &[H256], data: &D) {
    let mut topics = [[0u8; 32]; 4];
    let count = indexed.len().min(3) + 1;
    topics[0] = *signature;
    for (slot, topic) in topics[1..].iter_mut().zip(indexed) {
        *slot = topic.0;
    }
    if indexed.len() > 3 {
        panic!("an event has at most 3 indexed topics");
    }
    let data = data.encode();
    // SAFETY: `count` topics of 32 bytes are contiguous in `topics`; `data` readable.
    unsafe {
        sys::emit_log(
            ptr(topics.as_ptr()),
            len(count),
            ptr(data.as_ptr()),
            len(data.len()),
        );
    }
}

/// Prints a debug message (kept only when the node runs in dev mode).
pub fn debug_print(message: &str) {
    // SAFETY: `message` readable.
    unsafe { sys::debug_print(ptr(message.as_ptr()), len(message.len())) };
}

/// Not enough balance for a [`transfer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsufficientBalance;

/// Sends `amount` of the native currency from this contract to `to` without
/// running code there.
pub fn transfer(to: &Address, amount: U256) -> Result<(), InsufficientBalance> {
    let le = amount.to_little_endian();
    // SAFETY: 20 and 32 readable bytes.
    let status = unsafe { sys::transfer(ptr(to.0.as_ptr()), ptr(le.as_ptr())) };
    if status == 0 {
        Ok(())
    } else {
        Err(InsufficientBalance)
    }
}

/// Why a cross-contract call did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The callee reverted; its revert data.
    Reverted(Vec<u8>),
    /// The callee trapped, ran out of gas or exhausted its stack.
    Halted,
    /// The call did not start: depth limit, insufficient balance, or no code.
    NotStarted,
    /// The callee succeeded but its return data did not decode as the
    /// expected type.
    BadReturnData,
}

impl CallError {
    /// The callee's revert reason, if it reverted with an SDK reason.
    pub fn reason(&self) -> Option<String> {
        match self {
            Self::Reverted(data) => abi::decode_reason(data),
            _ => None,
        }
    }
}

impl From<CallError> for crate::Revert {
    /// Propagates a callee's revert data unchanged; other failures become a
    /// reason string.
    fn from(e: CallError) -> Self {
        match e {
            CallError::Reverted(data) => Self::raw(data),
            CallError::Halted => Self::reason("callee halted"),
            CallError::NotStarted => Self::reason("call could not start"),
            CallError::BadReturnData => Self::reason("callee returned malformed data"),
        }
    }
}

/// A cross-contract call being set up: `env::call(to).value(v).invoke(..)`.
#[derive(Debug, Clone)]
#[must_use = "a call does nothing until invoked"]
pub struct Call {
    to: Address,
    value: U256,
    gas_limit: Option<u64>,
}

/// Starts a call to the contract at `to`, with no value and all gas left.
pub fn call(to: Address) -> Call {
    Call {
        to,
        value: U256::zero(),
        gas_limit: None,
    }
}

impl Call {
    /// Sends `value` with the call.
    pub fn value(mut self, value: U256) -> Self {
        self.value = value;
        self
    }

    /// Limits the gas the callee may use.
    pub fn gas(mut self, limit: u64) -> Self {
        self.gas_limit = Some(limit);
        self
    }

    /// Calls `method` (by selector) with SCALE `args` (a tuple for several,
    /// `&()` for none) and decodes the result as `R`.
    pub fn invoke<A: Encode + ?Sized, R: Decode>(
        self,
        method: Selector,
        args: &A,
    ) -> Result<R, CallError> {
        let mut input = method.to_vec();
        args.encode_to(&mut input);
        let data = self.invoke_raw(&input)?;
        R::decode_all(&mut &data[..]).map_err(|_| CallError::BadReturnData)
    }

    /// Calls with raw `input` and returns the raw return data.
    pub fn invoke_raw(self, input: &[u8]) -> Result<Vec<u8>, CallError> {
        let le = self.value.to_little_endian();
        let gas = self
            .gas_limit
            .map_or(-1, |g| i64::try_from(g).unwrap_or(i64::MAX));
        // SAFETY: all regions readable for their stated lengths.
        let status = unsafe {
            sys::call(
                ptr(self.to.0.as_ptr()),
                ptr(le.as_ptr()),
                gas,
                ptr(input.as_ptr()),
                len(input.len()),
            )
        };
        match status {
            0 => Ok(return_data()),
            1 => Err(CallError::Reverted(return_data())),
            2 => Err(CallError::Halted),
            _ => Err(CallError::NotStarted),
        }
    }
}

/// The return (or revert) data of the last call this frame made.
pub fn return_data() -> Vec<u8> {
    // SAFETY: the host writes exactly `size` bytes into the reserved buffer.
    unsafe {
        let size = host_len(sys::return_data_size());
        let mut buf = Vec::with_capacity(size);
        sys::return_data_copy(ptr(buf.as_mut_ptr()), 0, len(size));
        buf.set_len(size);
        buf
    }
}

/// Raw storage: the value under `key`, or `None` if absent.
pub fn storage_read(key: &[u8]) -> Option<Vec<u8>> {
    // Most values (integers, addresses, U256) fit the first read.
    const FIRST_READ: usize = 64;
    let mut buf: Vec<u8> = Vec::with_capacity(FIRST_READ);
    // SAFETY: `key` readable; at most `capacity` bytes written into `buf`,
    // and `set_len` only covers what the host wrote.
    unsafe {
        let full = sys::storage_read(
            ptr(key.as_ptr()),
            len(key.len()),
            ptr(buf.as_mut_ptr()),
            len(FIRST_READ),
        );
        let full = usize::try_from(full).ok()?;
        if full > FIRST_READ {
            buf.reserve_exact(full);
            sys::storage_read(
                ptr(key.as_ptr()),
                len(key.len()),
                ptr(buf.as_mut_ptr()),
                len(full),
            );
        }
        buf.set_len(full);
    }
    Some(buf)
}

/// Raw storage: whether `key` has a value (copies nothing, so it pays no
/// per-byte cost for the value).
pub fn storage_contains(key: &[u8]) -> bool {
    // SAFETY: `key` readable; a zero-capacity destination is never written.
    unsafe { sys::storage_read(ptr(key.as_ptr()), len(key.len()), 0, 0) >= 0 }
}

/// Raw storage: stores `value` under `key`.
pub fn storage_write(key: &[u8], value: &[u8]) {
    // SAFETY: both slices readable.
    unsafe {
        sys::storage_write(
            ptr(key.as_ptr()),
            len(key.len()),
            ptr(value.as_ptr()),
            len(value.len()),
        )
    };
}

/// Raw storage: removes `key`; returns whether it was present.
pub fn storage_remove(key: &[u8]) -> bool {
    // SAFETY: `key` readable.
    unsafe { sys::storage_remove(ptr(key.as_ptr()), len(key.len())) == 1 }
}

/// Size of linear memory in 64 KiB pages.
pub fn memory_pages() -> usize {
    #[cfg(target_arch = "wasm32")]
    return core::arch::wasm32::memory_size(0);
    #[cfg(not(target_arch = "wasm32"))]
    panic!("linear memory exists only inside the Cairn engine")
}

/// Grows linear memory by `pages`; returns the previous size in pages, or
/// `None` if the module's declared maximum (or the engine) refuses.
pub fn grow_memory(pages: usize) -> Option<usize> {
    #[cfg(target_arch = "wasm32")]
    return match core::arch::wasm32::memory_grow(0, pages) {
        usize::MAX => None,
        previous => Some(previous),
    };
    #[cfg(not(target_arch = "wasm32"))]
    panic!("cannot grow memory by {pages} pages outside the Cairn engine")
}
