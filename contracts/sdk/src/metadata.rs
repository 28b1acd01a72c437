//! The contract's metadata, written at compile time into the `cairn:abi`
//! custom section by [`entry_points!`](crate::entry_points) (layout:
//! `specs/abi.md`, section 8; the host-side decoder is
//! `cairn_host_api::metadata`).
//!
//! Argument and result types come from the handlers' signatures through
//! [`AbiType`]; implement it for a type of your own by describing its SCALE
//! shape (a struct encodes like the tuple of its fields):
//!
//! ```ignore
//! impl AbiType for Order {
//!     const TYPE: Type = Type::Tuple(&[Address::TYPE, U256::TYPE]);
//! }
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use cairn_host_api::metadata::{ABI_VERSION, FORMAT_VERSION, tag};
use primitive_types::{H160, H256, U256};

/// The SCALE shape of a value, as the metadata describes it.
#[derive(Debug, Clone, Copy)]
pub enum Type {
    /// `bool`
    Bool,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `u128`
    U128,
    /// `i8`
    I8,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `i128`
    I128,
    /// `String`
    String,
    /// `Address` (`H160`)
    Address,
    /// `H256`
    H256,
    /// `U256`
    U256,
    /// `Vec<T>` (`Vec<u8>` is a byte string)
    Vec(&'static Type),
    /// `Option<T>`
    Option(&'static Type),
    /// `[T; N]`
    Array(u32, &'static Type),
    /// A tuple, or a struct as the tuple of its fields; `()` is empty.
    Tuple(&'static [Type]),
}

/// A type the metadata can describe: its [`Type`].
pub trait AbiType {
    /// The type's SCALE shape.
    const TYPE: Type;
}

macro_rules! abi_types {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl AbiType for $t { const TYPE: Type = Type::$v; })*
    };
}
abi_types!(
    bool => Bool, u8 => U8, u16 => U16, u32 => U32, u64 => U64, u128 => U128,
    i8 => I8, i16 => I16, i32 => I32, i64 => I64, i128 => I128,
    String => String, H160 => Address, H256 => H256, U256 => U256,
);

impl<T: AbiType> AbiType for Vec<T> {
    const TYPE: Type = Type::Vec(&T::TYPE);
}

impl<T: AbiType> AbiType for Option<T> {
    const TYPE: Type = Type::Option(&T::TYPE);
}

impl<T: AbiType, const N: usize> AbiType for [T; N] {
    const TYPE: Type = Type::Array(array_len(N), &T::TYPE);
}

const fn array_len(n: usize) -> u32 {
    assert!(n <= u32::MAX as usize, "array too long for the metadata");
    #[allow(clippy::cast_possible_truncation, reason = "checked just above")]
    let n = n as u32;
    n
}

macro_rules! abi_tuples {
    ($(($($t:ident),*)),* $(,)?) => {
        $(impl<$($t: AbiType),*> AbiType for ($($t,)*) {
            const TYPE: Type = Type::Tuple(&[$($t::TYPE),*]);
        })*
    };
}
abi_tuples!(
    (),
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F),
    (A, B, C, D, E, F, G),
    (A, B, C, D, E, F, G, H),
    (A, B, C, D, E, F, G, H, I),
    (A, B, C, D, E, F, G, H, I, J),
    (A, B, C, D, E, F, G, H, I, J, K),
    (A, B, C, D, E, F, G, H, I, J, K, L),
    (A, B, C, D, E, F, G, H, I, J, K, L, M),
    (A, B, C, D, E, F, G, H, I, J, K, L, M, N),
    (A, B, C, D, E, F, G, H, I, J, K, L, M, N, O),
    (A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P),
);

/// The argument and result types of a handler (implemented with
/// [`Handler`](crate::entry::Handler) for functions of up to eight arguments).
pub trait Signature<Args> {
    /// The argument types, in order.
    const ARGS: &'static [Type];
    /// The `Ok` type of the result.
    const RESULT: Type;
}

/// The argument types of `handler`.
pub const fn args_of<Args, F: Signature<Args>>(_handler: &F) -> &'static [Type] {
    F::ARGS
}

/// The result type of `handler`.
pub const fn result_of<Args, F: Signature<Args>>(_handler: &F) -> Type {
    F::RESULT
}

/// A method of the contract.
#[derive(Debug, Clone, Copy)]
pub struct MethodInfo {
    /// The method name.
    pub name: &'static str,
    /// The argument types.
    pub args: &'static [Type],
    /// The result type.
    pub result: Type,
}

/// A field of an event.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    /// The field name.
    pub name: &'static str,
    /// The field type.
    pub ty: Type,
    /// A topic (true) or part of the data (false).
    pub indexed: bool,
}

/// An event of the contract.
#[derive(Debug, Clone, Copy)]
pub struct EventInfo {
    /// The event name (topic 0 is its keccak256).
    pub name: &'static str,
    /// The fields, in order.
    pub fields: &'static [FieldInfo],
}

/// Everything the section holds.
#[derive(Debug, Clone, Copy)]
pub struct ContractInfo {
    /// The deploy arguments, if there is a `deploy` export.
    pub deploy: Option<&'static [Type]>,
    /// The methods.
    pub methods: &'static [MethodInfo],
    /// The events.
    pub events: &'static [EventInfo],
}

/// The SDK that writes the section, recorded in it.
pub const SDK_VERSION: &str = concat!("cairn-sdk ", env!("CARGO_PKG_VERSION"));

/// `true` for the `#[indexed]` marker of an event field; any other
/// attribute stops the build.
pub const fn indexed_marker(word: &str) -> bool {
    let (a, b) = (word.as_bytes(), b"indexed");
    assert!(
        a.len() == b.len(),
        "event fields take only the #[indexed] attribute"
    );
    let mut i = 0;
    while i < a.len() {
        assert!(a[i] == b[i], "event fields take only the #[indexed] attribute");
        i += 1;
    }
    true
}

/// Writes into a fixed buffer; with `N = 0` it only counts, so one routine
/// gives both the section's length and its bytes.
struct Writer<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Writer<N> {
    const fn byte(&mut self, b: u8) {
        if N > 0 {
            self.buf[self.len] = b;
        }
        self.len += 1;
    }

    /// SCALE compact of a length (lengths here stay far below 2^30).
    #[allow(clippy::cast_possible_truncation, reason = "each byte is masked")]
    const fn compact(&mut self, n: usize) {
        if n < 1 << 6 {
            self.byte((n << 2) as u8);
        } else if n < 1 << 14 {
            let v = (n << 2) | 1;
            self.byte(v as u8);
            self.byte((v >> 8) as u8);
        } else {
            assert!(n < 1 << 30, "metadata length too large");
            let v = (n << 2) | 2;
            self.byte(v as u8);
            self.byte((v >> 8) as u8);
            self.byte((v >> 16) as u8);
            self.byte((v >> 24) as u8);
        }
    }

    const fn str(&mut self, s: &str) {
        let bytes = s.as_bytes();
        self.compact(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            self.byte(bytes[i]);
            i += 1;
        }
    }

    const fn ty(&mut self, ty: &Type) {
        match ty {
            Type::Bool => self.byte(tag::BOOL),
            Type::U8 => self.byte(tag::U8),
            Type::U16 => self.byte(tag::U16),
            Type::U32 => self.byte(tag::U32),
            Type::U64 => self.byte(tag::U64),
            Type::U128 => self.byte(tag::U128),
            Type::I8 => self.byte(tag::I8),
            Type::I16 => self.byte(tag::I16),
            Type::I32 => self.byte(tag::I32),
            Type::I64 => self.byte(tag::I64),
            Type::I128 => self.byte(tag::I128),
            Type::String => self.byte(tag::STRING),
            Type::Address => self.byte(tag::ADDRESS),
            Type::H256 => self.byte(tag::H256),
            Type::U256 => self.byte(tag::U256),
            Type::Vec(item) => {
                self.byte(tag::VEC);
                self.ty(item);
            }
            Type::Option(item) => {
                self.byte(tag::OPTION);
                self.ty(item);
            }
            Type::Array(n, item) => {
                self.byte(tag::ARRAY);
                self.compact(*n as usize);
                self.ty(item);
            }
            Type::Tuple(items) => {
                self.byte(tag::TUPLE);
                self.types(items);
            }
        }
    }

    const fn types(&mut self, types: &[Type]) {
        self.compact(types.len());
        let mut i = 0;
        while i < types.len() {
            self.ty(&types[i]);
            i += 1;
        }
    }

    const fn contract(&mut self, info: &ContractInfo) {
        self.byte(FORMAT_VERSION);
        self.byte(ABI_VERSION);
        self.str(SDK_VERSION);
        match info.deploy {
            Some(args) => {
                self.byte(1);
                self.types(args);
            }
            None => self.byte(0),
        }
        self.compact(info.methods.len());
        let mut i = 0;
        while i < info.methods.len() {
            let m = &info.methods[i];
            self.str(m.name);
            self.types(m.args);
            self.ty(&m.result);
            i += 1;
        }
        self.compact(info.events.len());
        let mut i = 0;
        while i < info.events.len() {
            let e = &info.events[i];
            self.str(e.name);
            self.compact(e.fields.len());
            let mut j = 0;
            while j < e.fields.len() {
                let f = &e.fields[j];
                self.str(f.name);
                self.ty(&f.ty);
                self.byte(if f.indexed { 1 } else { 0 });
                j += 1;
            }
            i += 1;
        }
    }
}

/// The length of the section's payload for `info`.
pub const fn encoded_len(info: &ContractInfo) -> usize {
    let mut w = Writer::<0> { buf: [], len: 0 };
    w.contract(info);
    w.len
}

/// The section's payload for `info`; `N` must be [`encoded_len`].
pub const fn encode<const N: usize>(info: &ContractInfo) -> [u8; N] {
    let mut w = Writer::<N> {
        buf: [0; N],
        len: 0,
    };
    w.contract(info);
    assert!(w.len == N, "encode::<N> needs N = encoded_len");
    w.buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(_to: H160, _amount: U256) -> crate::Result<Option<Vec<u8>>> {
        Ok(None)
    }

    const INFO: ContractInfo = ContractInfo {
        deploy: Some(&[Type::String, Type::U256]),
        methods: &[MethodInfo {
            name: "transfer",
            args: args_of(&sample),
            result: result_of(&sample),
        }],
        events: &[EventInfo {
            name: "Transfer",
            fields: &[
                FieldInfo {
                    name: "to",
                    ty: H160::TYPE,
                    indexed: true,
                },
                FieldInfo {
                    name: "amount",
                    ty: <(u64, [u8; 65])>::TYPE,
                    indexed: false,
                },
            ],
        }],
    };

    #[test]
    fn section_bytes_follow_the_spec() {
        const LEN: usize = encoded_len(&INFO);
        const BYTES: [u8; LEN] = encode::<LEN>(&INFO);
        let mut expected = vec![FORMAT_VERSION, ABI_VERSION];
        expected.push(u8::try_from(SDK_VERSION.len() << 2).unwrap());
        expected.extend_from_slice(SDK_VERSION.as_bytes());
        expected.extend_from_slice(&[1, 2 << 2, tag::STRING, tag::U256]);
        expected.extend_from_slice(&[1 << 2, 8 << 2]);
        expected.extend_from_slice(b"transfer");
        expected.extend_from_slice(&[2 << 2, tag::ADDRESS, tag::U256]);
        expected.extend_from_slice(&[tag::OPTION, tag::VEC, tag::U8]);
        expected.extend_from_slice(&[1 << 2, 8 << 2]);
        expected.extend_from_slice(b"Transfer");
        expected.extend_from_slice(&[2 << 2, 2 << 2, b't', b'o', tag::ADDRESS, 1, 6 << 2]);
        expected.extend_from_slice(b"amount");
        expected.extend_from_slice(&[tag::TUPLE, 2 << 2, tag::U64, tag::ARRAY, 5, 1, tag::U8, 0]);
        assert_eq!(BYTES.to_vec(), expected);
    }

    #[test]
    fn compact_lengths_take_two_bytes_from_64() {
        let mut w = Writer::<2> {
            buf: [0; 2],
            len: 0,
        };
        w.compact(65);
        assert_eq!(w.buf, [0x05, 0x01]); // 65 << 2 | 1 = 0x105
        assert!(indexed_marker("indexed"));
    }

    #[test]
    #[should_panic(expected = "only the #[indexed] attribute")]
    fn other_markers_are_refused() {
        indexed_marker("index");
    }
}
