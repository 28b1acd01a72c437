//! Cairn's host API, declared once.
//!
//! A Cairn contract reaches the world only through the functions in
//! [`for_each_host_function!`]. This crate turns that one table into:
//!
//! - [`HOST_FUNCTIONS`]: names, signatures, gas formulas and versions, read by
//!   the validator (imports are checked against it) and by the spec test;
//! - [`guest`]: `no_std` bindings contracts call (on `wasm32` targets);
//! - with the `std` feature (the default): the [`world`] traits the engine
//!   reads state through, and the host-side [`abi`] call-data encoder.
//!
//! ```
//! use cairn_host_api::{HOST_FUNCTIONS, HOST_MODULE, ValType};
//!
//! let f = HOST_FUNCTIONS.iter().find(|f| f.name == "storage_read").unwrap();
//! assert_eq!(f.module, HOST_MODULE);
//! assert_eq!(f.params, &[ValType::I32; 4]);
//! assert_eq!(f.results, &[ValType::I32]);
//! ```
#![cfg_attr(not(feature = "std"), no_std)]

mod table;

#[cfg(feature = "std")]
pub mod abi;
pub mod metadata;
#[cfg(feature = "json")]
pub mod typed;
#[cfg(feature = "std")]
pub mod world;

/// keccak256 of `data`: the one hash function of Cairn's host side
/// (addresses, selectors, topics, transaction and block hashes, code
/// hashes, the `keccak256` host function). Computed with `keccak-asm`
/// (the CRYPTOGAMS assembly the state trie uses too); a unit test checks
/// known digests, and `tests/e2e/contracts.rs` checks the host call and
/// code hashes against the `sha3` crate.
#[cfg(feature = "std")]
pub fn keccak256(data: &[u8]) -> primitive_types::H256 {
    primitive_types::H256(keccak_asm::Keccak256::digest(data).into())
}

/// Version of the host API this crate declares.
pub const HOST_API_VERSION: u32 = 1;

/// The Wasm import module every host function of [`HOST_API_VERSION`] lives in.
pub const HOST_MODULE: &str = "cairn_v1";

/// A Wasm value type allowed in host function signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValType {
    /// 32-bit integer (pointers and lengths are unsigned i32s).
    I32,
    /// 64-bit integer.
    I64,
}

/// Gas formula of a host function: `base + per_byte * n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostGas {
    /// Charged on every call.
    pub base: u64,
    /// Charged per byte of `n`.
    pub per_byte: u64,
    /// What `n` counts, as an expression over the parameters (empty if `per_byte` is 0).
    pub per_byte_of: &'static str,
}

impl HostGas {
    /// Cost of a call that handles `n` bytes, saturating (a saturated cost
    /// always exceeds any gas limit).
    pub const fn cost(&self, n: u64) -> u64 {
        self.base.saturating_add(self.per_byte.saturating_mul(n))
    }
}

/// One row of the host function table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFunction {
    /// Import module name (versioned).
    pub module: &'static str,
    /// Import field name.
    pub name: &'static str,
    /// Parameter types.
    pub params: &'static [ValType],
    /// Result types (zero or one).
    pub results: &'static [ValType],
    /// Gas formula.
    pub gas: HostGas,
    /// Host API version the function appeared in.
    pub since: u32,
    /// The declaration's documentation.
    pub doc: &'static str,
}

#[doc(hidden)]
#[macro_export]
macro_rules! __valtype {
    (i32) => {
        $crate::ValType::I32
    };
    (i64) => {
        $crate::ValType::I64
    };
}

macro_rules! build_table {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($($p:ident: $pt:ident),* $(,)?) $(-> $rt:ident)?;
            gas($base:expr, $per:expr, $of:literal); since($since:literal);
    )*) => {
        /// Every host function, in declaration order.
        pub const HOST_FUNCTIONS: &[HostFunction] = &[$(
            HostFunction {
                module: HOST_MODULE,
                name: stringify!($name),
                params: &[$($crate::__valtype!($pt)),*],
                results: &[$($crate::__valtype!($rt))?],
                gas: HostGas { base: $base, per_byte: $per, per_byte_of: $of },
                since: $since,
                doc: concat!($($doc, "\n"),*),
            },
        )*];

        /// Gas formulas by function, as constants (`gas::STORAGE_READ.cost(n)`).
        #[allow(non_upper_case_globals, reason = "generated from snake_case function names")]
        pub mod gas {
            use super::HostGas;
            $(
                #[doc = concat!("Gas formula of `", stringify!($name), "`.")]
                pub const $name: HostGas = HostGas { base: $base, per_byte: $per, per_byte_of: $of };
            )*
        }
    };
}
for_each_host_function!(build_table);

/// Looks a host function up by import module and name.
pub fn host_function(module: &str, name: &str) -> Option<&'static HostFunction> {
    HOST_FUNCTIONS
        .iter()
        .find(|f| f.module == module && f.name == name)
}

/// Raw guest bindings: the host functions as `extern "C"` imports.
///
/// Only compiled for `wasm32` targets. Contracts normally use the SDK in
/// `contracts/sdk`, which wraps these in safe functions.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, reason = "FFI declarations of host imports")]
pub mod guest {
    macro_rules! build_guest {
        ($(
            $(#[doc = $doc:literal])*
            fn $name:ident($($p:ident: $pt:ident),* $(,)?) $(-> $rt:ident)?;
                gas($base:expr, $per:expr, $of:literal); since($since:literal);
        )*) => {
            #[link(wasm_import_module = "cairn_v1")]
            unsafe extern "C" {
                $(
                    $(#[doc = $doc])*
                    pub fn $name($($p: $pt),*) $(-> $rt)?;
                )*
            }
        };
    }
    crate::for_each_host_function!(build_guest);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known keccak256 digests: the empty string, "abc", and 200 bytes
    /// (more than one 136-byte block).
    #[cfg(feature = "std")]
    #[test]
    fn keccak256_gives_known_digests() {
        let hex = |h: primitive_types::H256| {
            h.as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert_eq!(
            hex(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(
            hex(keccak256(b"abc")),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
        );
        assert_eq!(
            hex(keccak256(&[0xa3; 200])),
            "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a"
        );
    }

    #[test]
    fn names_are_unique_and_module_is_versioned() {
        let mut names: Vec<_> = HOST_FUNCTIONS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate host function name");
        assert!(HOST_MODULE.ends_with(&format!("_v{HOST_API_VERSION}")));
        assert!(HOST_FUNCTIONS.iter().all(|f| f.since <= HOST_API_VERSION));
    }

    #[test]
    fn per_byte_costs_say_what_they_count() {
        for f in HOST_FUNCTIONS {
            assert_eq!(
                f.gas.per_byte == 0,
                f.gas.per_byte_of.is_empty(),
                "{}",
                f.name
            );
            assert!(!f.doc.trim().is_empty(), "{} has no docs", f.name);
            assert!(f.results.len() <= 1, "{}", f.name);
        }
    }

    #[test]
    fn cost_saturates() {
        assert_eq!(gas::keccak256.cost(10), 120);
        assert_eq!(gas::keccak256.cost(u64::MAX), u64::MAX);
    }
}
