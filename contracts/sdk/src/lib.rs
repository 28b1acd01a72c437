//! Write Cairn contracts in Rust.
//!
//! A contract is a `no_std` `cdylib` built for `wasm32v1-none`. It declares its
//! methods with [`entry_points!`]; the SDK reads the call data, dispatches on
//! the 4-byte selector (`specs/abi.md`), decodes the SCALE arguments, encodes
//! the SCALE result and turns an `Err` or a Rust panic into a revert carrying
//! a reason.
//!
//! ```ignore
//! #![no_std]
//! use cairn_sdk::prelude::*;
//!
//! static COUNT: StorageValue<u64> = StorageValue::new("count");
//!
//! fn increment(by: u64) -> Result<u64> {
//!     let next = COUNT.get_or_default().checked_add(by).ok_or(Revert::reason("overflow"))?;
//!     COUNT.set(&next);
//!     Ok(next)
//! }
//!
//! cairn_sdk::entry_points! {
//!     "increment" => increment,
//! }
//! ```
//!
//! What the SDK provides:
//! - [`entry_points!`] and [`entry::Handler`]: `deploy` / `call` exports;
//! - [`storage`]: [`StorageValue`] and [`StorageMap`] over the contract's
//!   key-value storage, with the key layout of `specs/abi.md`;
//! - [`env`]: caller, value, block, keccak256, ecrecover, events, transfers,
//!   cross-contract calls with typed results;
//! - [`abi`]: selectors, revert data and event topics, shared with the host
//!   encoder in `cairn-host-api`;
//! - on `wasm32`: a bump allocator for the call's lifetime and a panic handler
//!   that reverts with the panic message.
//!
//! Everything that talks to the host is only meaningful inside the engine;
//! compiled for any other target the host functions panic, so the pure parts
//! (ABI, key layout) can be unit-tested on the host.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod abi;
pub mod entry;
pub mod env;
pub mod metadata;
pub mod storage;
mod sys;

#[cfg(target_arch = "wasm32")]
mod heap;
#[cfg(all(not(target_arch = "wasm32"), not(test)))]
mod host_lang_items;
#[cfg(target_arch = "wasm32")]
mod panic;

pub use abi::{Revert, Selector};
pub use parity_scale_codec::{self as codec, Decode, Encode};
pub use primitive_types::{H160, H256, U256};
pub use storage::{StorageMap, StorageValue};

/// A 20-byte account address (same layout as the host's `Address`).
pub type Address = H160;

/// The result type of contract methods: `Err` reverts the call.
pub type Result<T, E = Revert> = core::result::Result<T, E>;

/// Everything a contract usually needs, in one import.
pub mod prelude {
    pub use crate::abi::{Revert, Selector, event_signature, selector};
    pub use crate::env::{self, CallError};
    pub use crate::metadata::AbiType;
    pub use crate::storage::{StorageMap, StorageValue};
    pub use crate::{Address, H160, H256, Result, U256, ensure};
    pub use alloc::{string::String, vec, vec::Vec};
    pub use parity_scale_codec::{Decode, Encode};
}

/// Returns `Err(Revert::reason(msg))` from the enclosing function unless
/// `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $reason:expr $(,)?) => {
        if !$cond {
            return ::core::result::Result::Err($crate::Revert::reason($reason));
        }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::entry::{assert_distinct_selectors, run_call, run_deploy};
}
