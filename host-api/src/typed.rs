//! Typed values as JSON, encoded and decoded through contract metadata.
//!
//! The JSON shape is the one of `specs/abi.md`'s typed values: integers up to
//! 64 bits as JSON numbers, `u128`, `i128` and `U256` as decimal strings
//! (`U256` also as `0x` hex on input), `String` as a string, addresses,
//! hashes and byte strings (`Vec<u8>`, `[u8; N]`) as `0x` hex, other vectors,
//! arrays and tuples as JSON arrays, `None` as `null`. On input, integers may
//! also be given as decimal strings.
//!
//! ```
//! use cairn_host_api::metadata::Type;
//! use cairn_host_api::typed::{decode_value, encode_args};
//! use serde_json::json;
//!
//! let data = encode_args(&[Type::U64, Type::String], &json!([5, "hi"])).unwrap();
//! assert_eq!(data, [5, 0, 0, 0, 0, 0, 0, 0, 8, b'h', b'i']);
//! assert_eq!(decode_value(&Type::U64, &data[..8]).unwrap(), json!(5));
//! ```

use crate::metadata::{ContractMetadata, Event, Type};
use parity_scale_codec::{Compact, Decode, Encode};
use primitive_types::{H160, H256, U256};
use serde_json::{Map, Value};

/// A value that does not fit its type, or bytes that do not decode as it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct TypedError {
    /// Where in the value: `argument 2`, `argument 1[3]`, `result.0`, ...
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

fn err<T>(path: &str, reason: impl Into<String>) -> Result<T, TypedError> {
    Err(TypedError {
        path: path.to_owned(),
        reason: reason.into(),
    })
}

/// The SCALE encoding of `args` (a JSON array) as the argument list `types`.
///
/// # Errors
///
/// `args` is not an array of `types.len()` values, or a value does not fit
/// its type; the error names the argument (1-based) and where inside it.
pub fn encode_args(types: &[Type], args: &Value) -> Result<Vec<u8>, TypedError> {
    let Value::Array(values) = args else {
        return err(
            "arguments",
            format!(
                "expected a JSON array of {} values, got {}",
                types.len(),
                kind(args)
            ),
        );
    };
    if values.len() != types.len() {
        let list: Vec<String> = types.iter().map(ToString::to_string).collect();
        return err(
            "arguments",
            format!(
                "expected {} values ({}), got {}",
                types.len(),
                list.join(", "),
                values.len()
            ),
        );
    }
    let mut out = Vec::new();
    for (i, (ty, value)) in types.iter().zip(values).enumerate() {
        encode_value(ty, value, &format!("argument {}", i + 1), &mut out)?;
    }
    Ok(out)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_hex(path: &str, value: &Value, len: Option<usize>) -> Result<Vec<u8>, TypedError> {
    let Value::String(s) = value else {
        return err(
            path,
            format!("expected a 0x hex string, got {}", kind(value)),
        );
    };
    let Some(digits) = s.strip_prefix("0x") else {
        return err(path, format!("expected a 0x hex string, got {s:?}"));
    };
    let bytes = match hex::decode(digits) {
        Ok(bytes) => bytes,
        Err(e) => return err(path, format!("{s:?} is not hex: {e}")),
    };
    if let Some(len) = len
        && bytes.len() != len
    {
        return err(path, format!("expected {len} bytes, got {}", bytes.len()));
    }
    Ok(bytes)
}

/// An integer from a JSON number or a decimal string.
fn parse_int<T: TryFrom<i128> + TryFrom<u128>>(
    path: &str,
    value: &Value,
    ty: &Type,
) -> Result<T, TypedError> {
    let out_of_range = || TypedError {
        path: path.to_owned(),
        reason: format!("{value} does not fit in {ty}"),
    };
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                T::try_from(u128::from(u)).map_err(|_| out_of_range())
            } else if let Some(i) = n.as_i64() {
                T::try_from(i128::from(i)).map_err(|_| out_of_range())
            } else {
                err(path, format!("{n} is not an integer"))
            }
        }
        Value::String(s) => {
            if let Ok(u) = s.parse::<u128>() {
                T::try_from(u).map_err(|_| out_of_range())
            } else if let Ok(i) = s.parse::<i128>() {
                T::try_from(i).map_err(|_| out_of_range())
            } else {
                err(path, format!("{s:?} is not a decimal integer"))
            }
        }
        other => err(
            path,
            format!(
                "expected {ty} as a number or decimal string, got {}",
                kind(other)
            ),
        ),
    }
}

fn parse_u256(path: &str, value: &Value) -> Result<U256, TypedError> {
    match value {
        Value::Number(n) => match n.as_u64() {
            Some(u) => Ok(U256::from(u)),
            None => err(path, format!("{n} is not a U256")),
        },
        Value::String(s) if s.starts_with("0x") => {
            let digits = &s[2..];
            if digits.is_empty() || digits.len() > 64 {
                return err(path, format!("{s:?} is not a U256 in hex"));
            }
            U256::from_str_radix(digits, 16)
                .or_else(|_| err(path, format!("{s:?} is not a U256 in hex")))
        }
        Value::String(s) => {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return err(path, format!("{s:?} is not a decimal U256"));
            }
            U256::from_dec_str(s).or_else(|_| err(path, format!("{s:?} does not fit in U256")))
        }
        other => err(
            path,
            format!(
                "expected U256 as a decimal or 0x hex string, got {}",
                kind(other)
            ),
        ),
    }
}

fn items<'v>(path: &str, value: &'v Value, ty: &Type) -> Result<&'v [Value], TypedError> {
    match value {
        Value::Array(items) => Ok(items),
        other => err(
            path,
            format!("expected {ty} as an array, got {}", kind(other)),
        ),
    }
}

/// Appends the SCALE encoding of `value` as `ty`; `path` names it in errors.
///
/// # Errors
///
/// The value does not fit the type.
pub fn encode_value(
    ty: &Type,
    value: &Value,
    path: &str,
    out: &mut Vec<u8>,
) -> Result<(), TypedError> {
    match ty {
        Type::Bool => match value {
            Value::Bool(b) => b.encode_to(out),
            other => return err(path, format!("expected true or false, got {}", kind(other))),
        },
        Type::U8 => parse_int::<u8>(path, value, ty)?.encode_to(out),
        Type::U16 => parse_int::<u16>(path, value, ty)?.encode_to(out),
        Type::U32 => parse_int::<u32>(path, value, ty)?.encode_to(out),
        Type::U64 => parse_int::<u64>(path, value, ty)?.encode_to(out),
        Type::U128 => parse_int::<u128>(path, value, ty)?.encode_to(out),
        Type::I8 => parse_int::<i8>(path, value, ty)?.encode_to(out),
        Type::I16 => parse_int::<i16>(path, value, ty)?.encode_to(out),
        Type::I32 => parse_int::<i32>(path, value, ty)?.encode_to(out),
        Type::I64 => parse_int::<i64>(path, value, ty)?.encode_to(out),
        Type::I128 => parse_int::<i128>(path, value, ty)?.encode_to(out),
        Type::String => match value {
            Value::String(s) => s.encode_to(out),
            other => return err(path, format!("expected a string, got {}", kind(other))),
        },
        Type::Address => out.extend_from_slice(&parse_hex(path, value, Some(20))?),
        Type::H256 => out.extend_from_slice(&parse_hex(path, value, Some(32))?),
        Type::U256 => parse_u256(path, value)?.encode_to(out),
        Type::Vec(item) if **item == Type::U8 && value.is_string() => {
            parse_hex(path, value, None)?.encode_to(out);
        }
        Type::Array(n, item) if **item == Type::U8 && value.is_string() => {
            out.extend_from_slice(&parse_hex(path, value, Some(*n as usize))?);
        }
        Type::Vec(item) => {
            let values = items(path, value, ty)?;
            let len = u32::try_from(values.len()).unwrap_or(u32::MAX);
            Compact(len).encode_to(out);
            for (i, v) in values.iter().enumerate() {
                encode_value(item, v, &format!("{path}[{i}]"), out)?;
            }
        }
        Type::Array(n, item) => {
            let values = items(path, value, ty)?;
            if values.len() != *n as usize {
                return err(path, format!("expected {n} items, got {}", values.len()));
            }
            for (i, v) in values.iter().enumerate() {
                encode_value(item, v, &format!("{path}[{i}]"), out)?;
            }
        }
        Type::Option(item) => match value {
            Value::Null => out.push(0),
            v => {
                out.push(1);
                encode_value(item, v, path, out)?;
            }
        },
        Type::Tuple(types) => {
            let values = items(path, value, ty)?;
            if values.len() != types.len() {
                return err(
                    path,
                    format!("expected {ty}: {} items, got {}", types.len(), values.len()),
                );
            }
            for (i, (t, v)) in types.iter().zip(values).enumerate() {
                encode_value(t, v, &format!("{path}.{i}"), out)?;
            }
        }
    }
    Ok(())
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn take<T: Decode>(path: &str, ty: &Type, input: &mut &[u8]) -> Result<T, TypedError> {
    T::decode(input).or_else(|e| err(path, format!("does not decode as {ty}: {e}")))
}

fn take_bytes<'a>(path: &str, input: &mut &'a [u8], n: usize) -> Result<&'a [u8], TypedError> {
    if input.len() < n {
        return err(
            path,
            format!("ends early: {n} bytes needed, {} left", input.len()),
        );
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn decode_from(ty: &Type, input: &mut &[u8], path: &str) -> Result<Value, TypedError> {
    Ok(match ty {
        Type::Bool => Value::Bool(take::<bool>(path, ty, input)?),
        Type::U8 => take::<u8>(path, ty, input)?.into(),
        Type::U16 => take::<u16>(path, ty, input)?.into(),
        Type::U32 => take::<u32>(path, ty, input)?.into(),
        Type::U64 => take::<u64>(path, ty, input)?.into(),
        Type::U128 => take::<u128>(path, ty, input)?.to_string().into(),
        Type::I8 => take::<i8>(path, ty, input)?.into(),
        Type::I16 => take::<i16>(path, ty, input)?.into(),
        Type::I32 => take::<i32>(path, ty, input)?.into(),
        Type::I64 => take::<i64>(path, ty, input)?.into(),
        Type::I128 => take::<i128>(path, ty, input)?.to_string().into(),
        Type::String => take::<String>(path, ty, input)?.into(),
        Type::Address => hex0x(take::<H160>(path, ty, input)?.as_bytes()).into(),
        Type::H256 => hex0x(take::<H256>(path, ty, input)?.as_bytes()).into(),
        Type::U256 => take::<U256>(path, ty, input)?.to_string().into(),
        Type::Vec(item) => {
            let len = take::<Compact<u32>>(path, ty, input)?.0 as usize;
            if **item == Type::U8 {
                hex0x(take_bytes(path, input, len)?).into()
            } else {
                // Every item takes at least a byte unless it is a zero-sized
                // tuple: bound the allocation by what is left.
                let mut values = Vec::with_capacity(len.min(input.len()));
                for i in 0..len {
                    values.push(decode_from(item, input, &format!("{path}[{i}]"))?);
                }
                Value::Array(values)
            }
        }
        Type::Array(n, item) => {
            let n = *n as usize;
            if **item == Type::U8 {
                hex0x(take_bytes(path, input, n)?).into()
            } else {
                let mut values = Vec::with_capacity(n.min(input.len()));
                for i in 0..n {
                    values.push(decode_from(item, input, &format!("{path}[{i}]"))?);
                }
                Value::Array(values)
            }
        }
        Type::Option(item) => match take::<u8>(path, ty, input)? {
            0 => Value::Null,
            1 => decode_from(item, input, path)?,
            b => return err(path, format!("Option tag {b} is not 0 or 1")),
        },
        Type::Tuple(types) => Value::Array(
            types
                .iter()
                .enumerate()
                .map(|(i, t)| decode_from(t, input, &format!("{path}.{i}")))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Decodes `data` as exactly one value of `ty` (trailing bytes are an error).
///
/// # Errors
///
/// The data ends early, has bytes left over, or is not a value of the type.
pub fn decode_value(ty: &Type, data: &[u8]) -> Result<Value, TypedError> {
    decode_exact(ty, data, "value")
}

fn decode_exact(ty: &Type, data: &[u8], path: &str) -> Result<Value, TypedError> {
    let mut input = data;
    let value = decode_from(ty, &mut input, path)?;
    if !input.is_empty() {
        return err(
            path,
            format!("{} bytes left over after the {ty}", input.len()),
        );
    }
    Ok(value)
}

/// A log decoded through its contract's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedEvent {
    /// The event name.
    pub name: String,
    /// The fields as a JSON object keyed by field name.
    pub fields: Map<String, Value>,
}

/// Decodes one indexed field from its topic: fixed-size values of at most
/// 32 bytes are stored padded in the topic; any other value's topic is the
/// keccak256 of its encoding and is given as `{"hash": "0x.."}`.
fn decode_topic(ty: &Type, topic: &H256, path: &str) -> Result<Value, TypedError> {
    match ty.fixed_size() {
        Some(size) if size <= 32 => {
            let (value, padding) = topic.as_bytes().split_at(size);
            if padding.iter().any(|&b| b != 0) {
                return err(path, "topic has non-zero bytes after the value");
            }
            decode_exact(ty, value, path)
        }
        _ => Ok(serde_json::json!({ "hash": hex0x(topic.as_bytes()) })),
    }
}

/// Decodes a log with `topics` and `data` through `meta`: `None` if its
/// topic 0 names no event of the metadata.
///
/// # Errors
///
/// The event is known but the log does not match its fields: the wrong
/// number of topics, or data that does not decode as the tuple of the
/// non-indexed fields.
pub fn decode_event(
    meta: &ContractMetadata,
    topics: &[H256],
    data: &[u8],
) -> Option<Result<DecodedEvent, TypedError>> {
    let event = meta.event_by_signature(topics.first()?)?;
    Some(decode_known_event(event, &topics[1..], data))
}

fn decode_known_event(
    event: &Event,
    topics: &[H256],
    data: &[u8],
) -> Result<DecodedEvent, TypedError> {
    let indexed = event.fields.iter().filter(|f| f.indexed).count();
    if topics.len() != indexed {
        return err(
            &event.name,
            format!(
                "{} indexed fields but the log has {} topics after the signature",
                indexed,
                topics.len()
            ),
        );
    }
    let mut topic = topics.iter();
    let mut input = data;
    let mut fields = Map::new();
    for field in &event.fields {
        let path = format!("{}.{}", event.name, field.name);
        let value = match (field.indexed, field.indexed.then(|| topic.next()).flatten()) {
            (true, Some(t)) => decode_topic(&field.ty, t, &path)?,
            (true, None) => return err(&path, "no topic left"),
            (false, _) => decode_from(&field.ty, &mut input, &path)?,
        };
        fields.insert(field.name.clone(), value);
    }
    if !input.is_empty() {
        return err(
            &event.name,
            format!("{} bytes of data left over after the fields", input.len()),
        );
    }
    Ok(DecodedEvent {
        name: event.name.clone(),
        fields,
    })
}

/// Decodes SCALE bytes that must be exactly `ty`; a convenience for results.
///
/// # Errors
///
/// As [`decode_value`].
pub fn decode_result(ty: &Type, data: &[u8]) -> Result<Value, TypedError> {
    decode_exact(ty, data, "result")
}

/// The values of `data` as the argument list `types` (call data after the
/// selector, or deploy input), as a JSON array.
///
/// # Errors
///
/// As [`decode_value`], naming the argument.
pub fn decode_args(types: &[Type], data: &[u8]) -> Result<Value, TypedError> {
    let mut input = data;
    let mut values = Vec::new();
    for (i, ty) in types.iter().enumerate() {
        values.push(decode_from(ty, &mut input, &format!("argument {}", i + 1))?);
    }
    if !input.is_empty() {
        return err("arguments", format!("{} bytes left over", input.len()));
    }
    Ok(Value::Array(values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::EventField;
    use serde_json::json;

    #[test]
    fn values_round_trip() {
        let ty = Type::Tuple(vec![
            Type::U8,
            Type::I64,
            Type::U128,
            Type::Bool,
            Type::String,
            Type::Vec(Box::new(Type::U8)),
            Type::Option(Box::new(Type::U32)),
            Type::U256,
            Type::Address,
            Type::Vec(Box::new(Type::Tuple(vec![Type::U16, Type::I64]))),
            Type::Array(2, Box::new(Type::U8)),
            Type::Option(Box::new(Type::H256)),
        ]);
        let value = json!([
            7,
            -3,
            "340282366920938463463374607431768211455",
            true,
            "héllo",
            "0x0102",
            null,
            "115792089237316195423570985008687907853269984665640564039457584007913129639935",
            format!("0x{}", "11".repeat(20)),
            [[1, -1], [65535, 9]],
            "0xabcd",
            format!("0x{}", "22".repeat(32)),
        ]);
        let mut out = Vec::new();
        encode_value(&ty, &value, "v", &mut out).unwrap();
        // The same bytes the Rust types encode to.
        let expected = (
            7u8,
            -3i64,
            u128::MAX,
            true,
            "héllo".to_string(),
            vec![1u8, 2],
            None::<u32>,
            U256::MAX,
            H160::repeat_byte(0x11),
            vec![(1u16, -1i64), (65535, 9)],
            [0xabu8, 0xcd],
            Some(H256::repeat_byte(0x22)),
        )
            .encode();
        assert_eq!(out, expected);
        assert_eq!(decode_value(&ty, &out).unwrap(), value);
        // Hex and decimal input for U256 give the same bytes.
        let mut hex = Vec::new();
        encode_value(&Type::U256, &json!("0x3e8"), "v", &mut hex).unwrap();
        assert_eq!(hex, U256::from(1000).encode());
    }

    #[test]
    fn bad_arguments_name_the_argument() {
        let types = [Type::Address, Type::U256];
        let e = encode_args(&types, &json!({"to": 1}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected a JSON array of 2 values, got an object"),
            "{e}"
        );
        let e = encode_args(&types, &json!(["0x11"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected 2 values (Address, U256), got 1"),
            "{e}"
        );
        let e = encode_args(&types, &json!(["0x11", "1"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("argument 1: expected 20 bytes, got 1"), "{e}");
        let addr = format!("0x{}", "11".repeat(20));
        let e = encode_args(&types, &json!([addr, "1e3"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("argument 2: \"1e3\" is not a decimal U256"),
            "{e}"
        );
        let e = encode_args(&[Type::U8], &json!([256]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("256 does not fit in u8"), "{e}");
        let e = encode_args(&[Type::U64], &json!([-1]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("-1 does not fit in u64"), "{e}");
        let e = encode_args(&[Type::U64], &json!([1.5]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("1.5 is not an integer"), "{e}");
        let nested = [Type::Vec(Box::new(Type::Tuple(vec![Type::Bool, Type::U8])))];
        let e = encode_args(&nested, &json!([[[true, 1], [1, 1]]]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("argument 1[1].0: expected true or false"), "{e}");
    }

    #[test]
    fn bad_data_is_an_error() {
        assert!(decode_value(&Type::U64, &[1, 2, 3]).is_err());
        let e = decode_value(&Type::U8, &[1, 2]).unwrap_err().to_string();
        assert!(e.contains("1 bytes left over"), "{e}");
        let e = decode_value(&Type::Option(Box::new(Type::U8)), &[2])
            .unwrap_err()
            .to_string();
        assert!(e.contains("Option tag 2"), "{e}");
        // A length claiming more than is there does not allocate it.
        assert!(decode_value(&Type::Vec(Box::new(Type::U64)), &[0xfe, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn events_decode_topics_and_data() {
        let meta = ContractMetadata {
            sdk: String::new(),
            abi_version: 1,
            deploy: None,
            methods: vec![],
            events: vec![Event {
                name: "Transfer".into(),
                fields: vec![
                    EventField {
                        name: "from".into(),
                        ty: Type::Address,
                        indexed: true,
                    },
                    EventField {
                        name: "memo".into(),
                        ty: Type::String,
                        indexed: true,
                    },
                    EventField {
                        name: "amount".into(),
                        ty: Type::U256,
                        indexed: false,
                    },
                ],
            }],
        };
        let from = H160::repeat_byte(7);
        let memo = "a memo longer than thirty-two bytes, hashed".to_string();
        let topics = [
            crate::abi::event_signature("Transfer"),
            crate::abi::topic(&from),
            crate::abi::topic(&memo),
        ];
        let data = U256::from(5).encode();
        let event = decode_event(&meta, &topics, &data).unwrap().unwrap();
        assert_eq!(event.name, "Transfer");
        assert_eq!(
            Value::Object(event.fields),
            json!({
                "from": hex0x(from.as_bytes()),
                "memo": {"hash": hex0x(crate::abi::topic(&memo).as_bytes())},
                "amount": "5",
            })
        );
        assert!(decode_event(&meta, &[H256::zero()], &data).is_none());
        assert!(decode_event(&meta, &topics[..2], &data).unwrap().is_err());
        assert!(decode_event(&meta, &topics, &[0; 33]).unwrap().is_err());
    }
}
