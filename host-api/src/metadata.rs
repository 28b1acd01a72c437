//! Contract metadata: the `cairn:abi` custom section (`specs/abi.md`, section 8).
//!
//! The SDK's `entry_points!` writes one custom section named [`SECTION`]
//! into every contract: its methods with argument and result types, its
//! events with their fields, its deploy arguments, and the SDK and ABI
//! versions. The engine never reads it (it is not part of consensus beyond
//! being bytes of the code, so it is paid for like any other byte of the
//! deploy), and the code in state is the code as deployed, so any tool can
//! read it back from `eth_getCode` or the code record.
//!
//! The format constants are available without `std` (the SDK writes the
//! section with them at compile time); the decoder needs `std`.
//!
//! ```
//! use cairn_host_api::metadata::{ContractMetadata, Type};
//!
//! // format 1, ABI 1, sdk "x", no deploy, one method `get() -> u64`, no events
//! let payload = [1, 1, 4, b'x', 0, 4, 12, b'g', b'e', b't', 0, 0x04, 0];
//! let meta = ContractMetadata::decode(&payload).unwrap();
//! assert_eq!(meta.method("get").unwrap().result, Type::U64);
//! ```

/// Name of the custom section holding the metadata.
pub const SECTION: &str = "cairn:abi";

/// Version of the section's layout described here.
pub const FORMAT_VERSION: u8 = 1;

/// Version of the contract ABI (`specs/abi.md`) the contract speaks.
pub const ABI_VERSION: u8 = 1;

/// The one-byte tags of [`Type`] in the section.
pub mod tag {
    /// `bool`
    pub const BOOL: u8 = 0x00;
    /// `u8`
    pub const U8: u8 = 0x01;
    /// `u16`
    pub const U16: u8 = 0x02;
    /// `u32`
    pub const U32: u8 = 0x03;
    /// `u64`
    pub const U64: u8 = 0x04;
    /// `u128`
    pub const U128: u8 = 0x05;
    /// `i8`
    pub const I8: u8 = 0x06;
    /// `i16`
    pub const I16: u8 = 0x07;
    /// `i32`
    pub const I32: u8 = 0x08;
    /// `i64`
    pub const I64: u8 = 0x09;
    /// `i128`
    pub const I128: u8 = 0x0a;
    /// `String` (UTF-8; the same bytes as `Vec<u8>`)
    pub const STRING: u8 = 0x0b;
    /// `Address` (`H160`, 20 raw bytes)
    pub const ADDRESS: u8 = 0x0c;
    /// `H256` (32 raw bytes)
    pub const H256: u8 = 0x0d;
    /// `U256` (32 bytes little-endian)
    pub const U256: u8 = 0x0e;
    /// `Vec<T>`: followed by `T`
    pub const VEC: u8 = 0x10;
    /// `Option<T>`: followed by `T`
    pub const OPTION: u8 = 0x11;
    /// `[T; N]`: followed by `Compact(N)` and `T`
    pub const ARRAY: u8 = 0x12;
    /// `(T1, .., Tn)`: followed by `Compact(n)` and each `Ti` (`()` is n = 0)
    pub const TUPLE: u8 = 0x13;
}

/// How deeply types may nest in a section a decoder accepts.
pub const MAX_TYPE_DEPTH: usize = 16;

#[cfg(feature = "std")]
pub use decode::*;

#[cfg(feature = "std")]
mod decode {
    use super::{ABI_VERSION, FORMAT_VERSION, MAX_TYPE_DEPTH, SECTION, tag};
    use crate::abi::{Selector, selector};
    use parity_scale_codec::{Compact, Decode};
    use primitive_types::H256;
    use std::fmt;

    /// A SCALE type the metadata can describe.
    #[derive(Debug, Clone, PartialEq, Eq)]
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
        /// `Address`
        Address,
        /// `H256`
        H256,
        /// `U256`
        U256,
        /// `Vec<T>`
        Vec(Box<Type>),
        /// `Option<T>`
        Option(Box<Type>),
        /// `[T; N]`
        Array(u32, Box<Type>),
        /// `(T1, .., Tn)`; `()` is the empty tuple.
        Tuple(Vec<Type>),
    }

    impl Type {
        /// The encoded size if every value of the type has the same one.
        pub fn fixed_size(&self) -> Option<usize> {
            Some(match self {
                Self::Bool | Self::U8 | Self::I8 => 1,
                Self::U16 | Self::I16 => 2,
                Self::U32 | Self::I32 => 4,
                Self::U64 | Self::I64 => 8,
                Self::U128 | Self::I128 => 16,
                Self::Address => 20,
                Self::H256 | Self::U256 => 32,
                Self::Array(n, item) => item.fixed_size()?.checked_mul(*n as usize)?,
                Self::Tuple(items) => items
                    .iter()
                    .try_fold(0usize, |sum, t| sum.checked_add(t.fixed_size()?))?,
                Self::String | Self::Vec(_) | Self::Option(_) => return None,
            })
        }
    }

    impl fmt::Display for Type {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::Bool => f.write_str("bool"),
                Self::U8 => f.write_str("u8"),
                Self::U16 => f.write_str("u16"),
                Self::U32 => f.write_str("u32"),
                Self::U64 => f.write_str("u64"),
                Self::U128 => f.write_str("u128"),
                Self::I8 => f.write_str("i8"),
                Self::I16 => f.write_str("i16"),
                Self::I32 => f.write_str("i32"),
                Self::I64 => f.write_str("i64"),
                Self::I128 => f.write_str("i128"),
                Self::String => f.write_str("String"),
                Self::Address => f.write_str("Address"),
                Self::H256 => f.write_str("H256"),
                Self::U256 => f.write_str("U256"),
                Self::Vec(t) => write!(f, "Vec<{t}>"),
                Self::Option(t) => write!(f, "Option<{t}>"),
                Self::Array(n, t) => write!(f, "[{t}; {n}]"),
                Self::Tuple(items) => {
                    f.write_str("(")?;
                    for (i, t) in items.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "{t}")?;
                    }
                    if items.len() == 1 {
                        f.write_str(",")?;
                    }
                    f.write_str(")")
                }
            }
        }
    }

    /// A method: `name(args..) -> result`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Method {
        /// The method name (its selector is keccak256 of it).
        pub name: String,
        /// The argument types, in order.
        pub args: Vec<Type>,
        /// The result type (`()` for none).
        pub result: Type,
    }

    impl Method {
        /// The 4-byte selector of the method.
        pub fn selector(&self) -> Selector {
            selector(&self.name)
        }
    }

    /// A field of an event.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EventField {
        /// The field name.
        pub name: String,
        /// The field type.
        pub ty: Type,
        /// Whether the field is a topic (in order after topic 0) rather than
        /// part of the data.
        pub indexed: bool,
    }

    /// An event: topic 0 is keccak256 of the name.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Event {
        /// The event name.
        pub name: String,
        /// The fields, in declaration order.
        pub fields: Vec<EventField>,
    }

    impl Event {
        /// Topic 0 of the event.
        pub fn signature(&self) -> H256 {
            crate::abi::event_signature(&self.name)
        }
    }

    /// The decoded `cairn:abi` section.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ContractMetadata {
        /// The SDK that wrote the section, e.g. `cairn-sdk 0.1.0`.
        pub sdk: String,
        /// The contract ABI version ([`ABI_VERSION`]).
        pub abi_version: u8,
        /// The deploy arguments, if the contract has a `deploy` export.
        pub deploy: Option<Vec<Type>>,
        /// The methods, in declaration order.
        pub methods: Vec<Method>,
        /// The events, in declaration order.
        pub events: Vec<Event>,
    }

    /// Why a module's metadata could not be read.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[non_exhaustive]
    pub enum MetadataError {
        /// The module's section framing is broken.
        #[error("not a Wasm module: {0}")]
        Module(&'static str),
        /// Two `cairn:abi` sections.
        #[error("the module has more than one `{SECTION}` section")]
        Duplicate,
        /// A format version this decoder does not know.
        #[error(
            "`{SECTION}` format version {0} is not supported (this tool reads version {FORMAT_VERSION})"
        )]
        UnsupportedFormat(u8),
        /// Bytes that do not follow the layout.
        #[error("malformed `{SECTION}` section at byte {offset}: {reason}")]
        Malformed {
            /// Offset in the section's payload.
            offset: usize,
            /// What was wrong there.
            reason: String,
        },
    }

    /// The payload of the module's `cairn:abi` custom section, if it has one.
    ///
    /// # Errors
    ///
    /// The module's framing is broken, or it has two such sections.
    pub fn find_section(wasm: &[u8]) -> Result<Option<&[u8]>, MetadataError> {
        if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
            return Err(MetadataError::Module("no Wasm header"));
        }
        let mut found = None;
        let mut rest = &wasm[8..];
        while let Some((&id, after_id)) = rest.split_first() {
            let mut cursor = after_id;
            let size = leb_u32(&mut cursor).ok_or(MetadataError::Module("bad section size"))?;
            let size = size as usize;
            if cursor.len() < size {
                return Err(MetadataError::Module("a section runs past the end"));
            }
            let (contents, next) = cursor.split_at(size);
            if id == 0 {
                let mut name_cursor = contents;
                let len = leb_u32(&mut name_cursor)
                    .ok_or(MetadataError::Module("bad custom section name"))?
                    as usize;
                if name_cursor.len() < len {
                    return Err(MetadataError::Module("bad custom section name"));
                }
                if &name_cursor[..len] == SECTION.as_bytes() {
                    if found.is_some() {
                        return Err(MetadataError::Duplicate);
                    }
                    found = Some(&name_cursor[len..]);
                }
            }
            rest = next;
        }
        Ok(found)
    }

    fn leb_u32(bytes: &mut &[u8]) -> Option<u32> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let (&b, rest) = bytes.split_first()?;
            *bytes = rest;
            value |= u32::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    struct Reader<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl<'a> Reader<'a> {
        fn fail<T>(&self, reason: impl Into<String>) -> Result<T, MetadataError> {
            Err(MetadataError::Malformed {
                offset: self.at,
                reason: reason.into(),
            })
        }

        fn byte(&mut self, what: &str) -> Result<u8, MetadataError> {
            match self.bytes.get(self.at) {
                Some(&b) => {
                    self.at += 1;
                    Ok(b)
                }
                None => self.fail(format!("ends before {what}")),
            }
        }

        fn compact(&mut self, what: &str) -> Result<usize, MetadataError> {
            let mut rest = &self.bytes[self.at..];
            let before = rest.len();
            match Compact::<u32>::decode(&mut rest) {
                Ok(n) => {
                    self.at += before - rest.len();
                    Ok(n.0 as usize)
                }
                Err(_) => self.fail(format!("bad length of {what}")),
            }
        }

        /// A count of items, each at least one byte long (so a count cannot
        /// claim more items than bytes are left).
        fn count(&mut self, what: &str) -> Result<usize, MetadataError> {
            let n = self.compact(what)?;
            if n > self.bytes.len() - self.at {
                return self.fail(format!("{n} {what} cannot fit in the bytes left"));
            }
            Ok(n)
        }

        fn string(&mut self, what: &str) -> Result<String, MetadataError> {
            let len = self.compact(what)?;
            let Some(bytes) = self.bytes.get(self.at..self.at.saturating_add(len)) else {
                return self.fail(format!("{what} runs past the end"));
            };
            match std::str::from_utf8(bytes) {
                Ok(s) => {
                    self.at += len;
                    Ok(s.to_owned())
                }
                Err(_) => self.fail(format!("{what} is not UTF-8")),
            }
        }

        fn name(&mut self, what: &str) -> Result<String, MetadataError> {
            let start = self.at;
            let name = self.string(what)?;
            if name.is_empty() {
                self.at = start;
                return self.fail(format!("empty {what}"));
            }
            Ok(name)
        }

        fn ty(&mut self, depth: usize) -> Result<Type, MetadataError> {
            if depth > MAX_TYPE_DEPTH {
                return self.fail(format!("types nest deeper than {MAX_TYPE_DEPTH}"));
            }
            let t = self.byte("a type")?;
            Ok(match t {
                tag::BOOL => Type::Bool,
                tag::U8 => Type::U8,
                tag::U16 => Type::U16,
                tag::U32 => Type::U32,
                tag::U64 => Type::U64,
                tag::U128 => Type::U128,
                tag::I8 => Type::I8,
                tag::I16 => Type::I16,
                tag::I32 => Type::I32,
                tag::I64 => Type::I64,
                tag::I128 => Type::I128,
                tag::STRING => Type::String,
                tag::ADDRESS => Type::Address,
                tag::H256 => Type::H256,
                tag::U256 => Type::U256,
                tag::VEC => Type::Vec(Box::new(self.ty(depth + 1)?)),
                tag::OPTION => Type::Option(Box::new(self.ty(depth + 1)?)),
                tag::ARRAY => {
                    let n = self.compact("an array")?;
                    let n = u32::try_from(n).unwrap_or(u32::MAX);
                    Type::Array(n, Box::new(self.ty(depth + 1)?))
                }
                tag::TUPLE => {
                    let n = self.count("tuple items")?;
                    let items = (0..n)
                        .map(|_| self.ty(depth + 1))
                        .collect::<Result<_, _>>()?;
                    Type::Tuple(items)
                }
                other => {
                    self.at -= 1;
                    return self.fail(format!("unknown type tag 0x{other:02x}"));
                }
            })
        }

        fn types(&mut self, what: &str) -> Result<Vec<Type>, MetadataError> {
            let n = self.count(what)?;
            (0..n).map(|_| self.ty(0)).collect()
        }

        fn bool(&mut self, what: &str) -> Result<bool, MetadataError> {
            match self.byte(what)? {
                0 => Ok(false),
                1 => Ok(true),
                b => {
                    self.at -= 1;
                    self.fail(format!("{what} is {b}, not 0 or 1"))
                }
            }
        }
    }

    impl ContractMetadata {
        /// Reads the metadata of a module, `None` if it has no `cairn:abi`
        /// section (a contract not built with the SDK, or built before it
        /// wrote one).
        ///
        /// # Errors
        ///
        /// The module is not Wasm, or the section is malformed.
        pub fn from_code(wasm: &[u8]) -> Result<Option<Self>, MetadataError> {
            find_section(wasm)?.map(Self::decode).transpose()
        }

        /// Decodes a section payload (the bytes after the section name).
        ///
        /// # Errors
        ///
        /// The payload does not follow `specs/abi.md` section 8 exactly: an
        /// unknown format version or type tag, a truncated or non-UTF-8
        /// string, a bad length, a duplicate method or event name, or bytes
        /// left over.
        pub fn decode(payload: &[u8]) -> Result<Self, MetadataError> {
            let mut r = Reader {
                bytes: payload,
                at: 0,
            };
            let format = r.byte("the format version")?;
            if format != FORMAT_VERSION {
                return Err(MetadataError::UnsupportedFormat(format));
            }
            let abi_version = r.byte("the ABI version")?;
            if abi_version != ABI_VERSION {
                return r.fail(format!(
                    "ABI version {abi_version} is not supported (this tool speaks version {ABI_VERSION})"
                ));
            }
            let sdk = r.string("the SDK version")?;
            let deploy = if r.bool("the deploy flag")? {
                Some(r.types("deploy arguments")?)
            } else {
                None
            };
            let mut methods: Vec<Method> = Vec::new();
            for _ in 0..r.count("methods")? {
                let start = r.at;
                let name = r.name("method name")?;
                if methods.iter().any(|m| m.selector() == selector(&name)) {
                    r.at = start;
                    return r.fail(format!(
                        "method `{name}` has the selector of another method"
                    ));
                }
                let args = r.types("arguments")?;
                let result = r.ty(0)?;
                methods.push(Method { name, args, result });
            }
            let mut events: Vec<Event> = Vec::new();
            for _ in 0..r.count("events")? {
                let start = r.at;
                let name = r.name("event name")?;
                if events.iter().any(|e| e.name == name) {
                    r.at = start;
                    return r.fail(format!("event `{name}` is declared twice"));
                }
                let mut fields = Vec::new();
                for _ in 0..r.count("event fields")? {
                    let name = r.name("field name")?;
                    let ty = r.ty(0)?;
                    let indexed = r.bool("the indexed flag")?;
                    fields.push(EventField { name, ty, indexed });
                }
                events.push(Event { name, fields });
            }
            if r.at != payload.len() {
                return r.fail(format!("{} bytes left over", payload.len() - r.at));
            }
            Ok(Self {
                sdk,
                abi_version,
                deploy,
                methods,
                events,
            })
        }

        /// The method named `name`.
        pub fn method(&self, name: &str) -> Option<&Method> {
            self.methods.iter().find(|m| m.name == name)
        }

        /// The method whose selector is `selector`.
        pub fn method_by_selector(&self, selector: &Selector) -> Option<&Method> {
            self.methods.iter().find(|m| &m.selector() == selector)
        }

        /// The event whose topic 0 is `topic`.
        pub fn event_by_signature(&self, topic: &H256) -> Option<&Event> {
            self.events.iter().find(|e| &e.signature() == topic)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The token's metadata, written by hand from section 8.
        fn token_payload() -> Vec<u8> {
            let mut p = vec![FORMAT_VERSION, ABI_VERSION];
            p.extend_from_slice(&[4 << 2, b's', b'd', b'k', b'1']);
            p.extend_from_slice(&[1, 1 << 2, tag::U64]); // deploy(u64)
            p.push(1 << 2); // one method
            p.extend_from_slice(&[8 << 2]);
            p.extend_from_slice(b"transfer");
            p.extend_from_slice(&[2 << 2, tag::ADDRESS, tag::U256, tag::TUPLE, 0]);
            p.push(1 << 2); // one event
            p.extend_from_slice(&[8 << 2]);
            p.extend_from_slice(b"Transfer");
            p.push(2 << 2);
            p.extend_from_slice(&[2 << 2, b't', b'o', tag::ADDRESS, 1]);
            p.extend_from_slice(&[6 << 2]);
            p.extend_from_slice(b"amount");
            p.extend_from_slice(&[tag::VEC, tag::OPTION, tag::U8, 0]);
            p
        }

        fn module_with(sections: &[(&str, &[u8])]) -> Vec<u8> {
            let mut wasm = b"\0asm\x01\0\0\0".to_vec();
            for (name, payload) in sections {
                let mut body = vec![u8::try_from(name.len()).unwrap()];
                body.extend_from_slice(name.as_bytes());
                body.extend_from_slice(payload);
                wasm.push(0);
                wasm.push(u8::try_from(body.len()).unwrap());
                wasm.extend_from_slice(&body);
            }
            wasm
        }

        #[test]
        fn decodes_a_hand_written_section() {
            let meta = ContractMetadata::decode(&token_payload()).unwrap();
            assert_eq!(meta.sdk, "sdk1");
            assert_eq!(meta.deploy, Some(vec![Type::U64]));
            let transfer = meta.method("transfer").unwrap();
            assert_eq!(transfer.args, vec![Type::Address, Type::U256]);
            assert_eq!(transfer.result.to_string(), "()");
            let event = meta
                .event_by_signature(&crate::abi::event_signature("Transfer"))
                .unwrap();
            assert!(event.fields[0].indexed);
            assert_eq!(event.fields[1].ty.to_string(), "Vec<Option<u8>>");
            let wasm = module_with(&[("name", &[]), (SECTION, &token_payload())]);
            assert_eq!(ContractMetadata::from_code(&wasm).unwrap(), Some(meta));
            assert_eq!(
                ContractMetadata::from_code(&module_with(&[("name", &[])])).unwrap(),
                None
            );
        }

        #[test]
        fn rejects_every_truncation_and_extension() {
            let payload = token_payload();
            for len in 0..payload.len() {
                let err = ContractMetadata::decode(&payload[..len]).unwrap_err();
                assert!(
                    matches!(err, MetadataError::Malformed { .. }),
                    "{len}: {err}"
                );
            }
            let mut longer = payload.clone();
            longer.push(0);
            let err = ContractMetadata::decode(&longer).unwrap_err().to_string();
            assert!(err.contains("1 bytes left over"), "{err}");
        }

        #[test]
        fn bad_sections_say_what_is_wrong() {
            let mut payload = token_payload();
            payload[0] = 9;
            assert_eq!(
                ContractMetadata::decode(&payload).unwrap_err(),
                MetadataError::UnsupportedFormat(9)
            );
            let mut payload = token_payload();
            let at = payload.iter().position(|&b| b == tag::ADDRESS).unwrap();
            payload[at] = 0x7f;
            let err = ContractMetadata::decode(&payload).unwrap_err().to_string();
            assert!(err.contains("unknown type tag 0x7f"), "{err}");
            assert!(err.contains(&format!("at byte {at}")), "{err}");
            // Nesting beyond the limit.
            let mut deep = vec![FORMAT_VERSION, ABI_VERSION, 0, 0, 1 << 2, 1 << 2, b'f', 0];
            deep.extend(std::iter::repeat_n(tag::VEC, MAX_TYPE_DEPTH + 1));
            deep.extend_from_slice(&[tag::U8, 0]);
            let err = ContractMetadata::decode(&deep).unwrap_err().to_string();
            assert!(err.contains("nest deeper"), "{err}");
            // A count larger than the bytes left.
            let huge = [FORMAT_VERSION, ABI_VERSION, 0, 0, 0xfe, 0xff, 0xff, 0xff];
            let err = ContractMetadata::decode(&huge).unwrap_err().to_string();
            assert!(err.contains("cannot fit"), "{err}");
            // Two sections, and broken framing.
            let two = module_with(&[(SECTION, &token_payload()), (SECTION, &token_payload())]);
            assert_eq!(
                ContractMetadata::from_code(&two).unwrap_err(),
                MetadataError::Duplicate
            );
            let wasm = module_with(&[(SECTION, &token_payload())]);
            assert!(matches!(
                ContractMetadata::from_code(&wasm[..wasm.len() - 1]).unwrap_err(),
                MetadataError::Module(_)
            ));
            assert!(ContractMetadata::from_code(b"junk").is_err());
        }

        #[test]
        fn duplicate_names_are_malformed() {
            let mut p = vec![FORMAT_VERSION, ABI_VERSION, 0, 0, 2 << 2];
            for _ in 0..2 {
                p.extend_from_slice(&[1 << 2, b'f', 0, tag::TUPLE, 0]);
            }
            p.push(0);
            let err = ContractMetadata::decode(&p).unwrap_err().to_string();
            assert!(err.contains("selector of another method"), "{err}");
        }
    }
}
