//! The host functions of `cairn_v1`, one Rust function per table row.
//!
//! The linker is wired by expanding [`cairn_host_api::for_each_host_function!`]:
//! a table row without a function here of exactly the declared signature does
//! not compile. Every function follows the same order: charge its gas
//! (`base + per_byte * n`) against `cairn_gas_left`, then bounds-check and read
//! its arguments, then act. A failure after the charge keeps the charge.

use std::fmt;

use cairn_host_api::gas;
use cairn_host_api::world::{Address, H256, U256};
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId, Signature};
use sha3::{Digest, Keccak256};
use wasmi::{AsContextMut, Caller, Engine, Linker, Store, Val};

use super::frame::{FrameCall, FrameExit, FrameState, MessageContext, load_module, run_frame};
use super::outcome::{ExecStatus, HaltReason, Log, NodeError, TrapKind};

/// Maximum storage key length in bytes.
pub(crate) const MAX_KEY_LEN: u32 = 1_024;
/// Maximum storage value length in bytes.
pub(crate) const MAX_VALUE_LEN: u32 = 65_536;
/// Maximum number of log topics.
pub(crate) const MAX_TOPICS: u32 = 4;
/// Maximum log data length in bytes.
pub(crate) const MAX_LOG_DATA: u32 = 16_384;

/// `call` return codes.
const CALL_SUCCESS: i32 = 0;
const CALL_REVERTED: i32 = 1;
const CALL_HALTED: i32 = 2;
const CALL_NOT_STARTED: i32 = 3;

/// Why a host function stopped the guest.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HostTrap {
    /// `return_value` or `revert`: the frame ends normally (see `FrameState::exit`).
    Exit,
    /// The function could not pay its gas.
    OutOfGas,
    /// A contract error.
    Trap(TrapKind),
    /// The function needs the world state: the frame loop performs
    /// `FrameState::pending` outside wasmi and resumes the call with its result.
    NeedsWorld,
}

impl fmt::Display for HostTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exit => f.write_str("frame exit"),
            Self::OutOfGas => f.write_str("out of gas"),
            Self::Trap(kind) => write!(f, "{kind}"),
            Self::NeedsWorld => f.write_str("world access pending"),
        }
    }
}

impl wasmi::errors::HostError for HostTrap {}

type HostResult<T> = Result<T, wasmi::Error>;
type Ctx<'a> = Caller<'a, FrameState>;

/// Access to a frame's state and store from inside a host function (a
/// [`Caller`]) and from the frame loop (the [`Store`]) alike.
pub(crate) trait FrameContext: AsContextMut<Data = FrameState> {
    fn state(&self) -> &FrameState;
    fn state_mut(&mut self) -> &mut FrameState;
}

impl FrameContext for Caller<'_, FrameState> {
    fn state(&self) -> &FrameState {
        self.data()
    }
    fn state_mut(&mut self) -> &mut FrameState {
        self.data_mut()
    }
}

impl FrameContext for Store<FrameState> {
    fn state(&self) -> &FrameState {
        self.data()
    }
    fn state_mut(&mut self) -> &mut FrameState {
        self.data_mut()
    }
}

/// A host function's world access, performed by the frame loop after the
/// function charged its gas and read its arguments.
#[derive(Debug)]
pub(crate) enum WorldOp {
    StorageRead {
        key: Vec<u8>,
        dst_ptr: i32,
        dst_cap: u32,
    },
    StorageRemove {
        key: Vec<u8>,
    },
    Balance {
        address: Address,
        dst_ptr: i32,
    },
    Transfer {
        to: Address,
        value: U256,
    },
    Call {
        target: Address,
        value: U256,
        input: Vec<u8>,
        gas_limit: i64,
    },
}

/// Suspends the Wasm call until the frame loop has performed `op`.
fn defer(caller: &mut Ctx<'_>, op: WorldOp) -> wasmi::Error {
    caller.state_mut().pending = Some(op);
    wasmi::Error::host(HostTrap::NeedsWorld)
}

fn trap(kind: TrapKind) -> wasmi::Error {
    wasmi::Error::host(HostTrap::Trap(kind))
}

fn gas_left(caller: &impl FrameContext) -> i64 {
    match caller.state().gas_left.map(|global| global.get(caller)) {
        Some(Val::I64(left)) => left,
        _ => 0,
    }
}

fn set_gas_left(caller: &mut impl FrameContext, left: i64) {
    if let Some(global) = caller.state().gas_left {
        // The global is the module's exported mutable i64 (checked at start).
        let _ = global.set(&mut *caller, Val::I64(left));
    }
}

/// Subtracts `cost` from `cairn_gas_left`. If that goes negative the global
/// keeps the negative remainder and the call fails with out of gas.
fn charge(caller: &mut impl FrameContext, cost: u64) -> HostResult<()> {
    let left = i128::from(gas_left(caller)) - i128::from(cost);
    let clamped = i64::try_from(left).unwrap_or(i64::MIN);
    set_gas_left(caller, clamped);
    if left < 0 {
        return Err(wasmi::Error::host(HostTrap::OutOfGas));
    }
    Ok(())
}

/// Marks `name` as in progress (for diagnostics) and charges `cost`.
fn begin(caller: &mut impl FrameContext, name: &'static str, cost: u64) -> HostResult<()> {
    caller.state_mut().host_function = Some(name);
    charge(caller, cost)
}

fn finish<T>(caller: &mut impl FrameContext, value: T) -> HostResult<T> {
    caller.state_mut().host_function = None;
    Ok(value)
}

fn len_u64(len: i32) -> u64 {
    u64::from(len.cast_unsigned())
}

/// The guest region `ptr..ptr+len` as a host range, if it lies inside memory.
fn region(memory_len: usize, ptr: i32, len: u64) -> HostResult<std::ops::Range<usize>> {
    let start = u64::from(ptr.cast_unsigned());
    let end = start
        .checked_add(len)
        .ok_or_else(|| trap(TrapKind::HostMemoryOutOfBounds))?;
    let in_bounds = usize::try_from(end).is_ok_and(|end| end <= memory_len);
    if !in_bounds {
        return Err(trap(TrapKind::HostMemoryOutOfBounds));
    }
    // Both fit in usize: end does and start <= end.
    Ok(usize::try_from(start).unwrap_or(usize::MAX)..usize::try_from(end).unwrap_or(usize::MAX))
}

fn memory(caller: &impl FrameContext) -> HostResult<wasmi::Memory> {
    caller
        .state()
        .memory
        .ok_or_else(|| trap(TrapKind::NoMemoryExport))
}

fn read_bytes(caller: &impl FrameContext, ptr: i32, len: u64) -> HostResult<Vec<u8>> {
    let memory = memory(caller)?;
    let data = memory.data(caller);
    let range = region(data.len(), ptr, len)?;
    Ok(data[range].to_vec())
}

fn read_array<const N: usize>(caller: &impl FrameContext, ptr: i32) -> HostResult<[u8; N]> {
    let memory = memory(caller)?;
    let data = memory.data(caller);
    let range = region(data.len(), ptr, N as u64)?;
    let mut out = [0u8; N];
    out.copy_from_slice(&data[range]);
    Ok(out)
}

fn check_writable(caller: &impl FrameContext, ptr: i32, len: u64) -> HostResult<()> {
    let memory = memory(caller)?;
    region(memory.data(caller).len(), ptr, len).map(|_| ())
}

fn write_bytes(caller: &mut impl FrameContext, ptr: i32, bytes: &[u8]) -> HostResult<()> {
    let memory = memory(caller)?;
    let data = memory.data_mut(&mut *caller);
    let range = region(data.len(), ptr, bytes.len() as u64)?;
    data[range].copy_from_slice(bytes);
    Ok(())
}

fn read_address(caller: &impl FrameContext, ptr: i32) -> HostResult<Address> {
    read_array::<20>(caller, ptr).map(Address::from)
}

fn read_u256(caller: &impl FrameContext, ptr: i32) -> HostResult<U256> {
    read_array::<32>(caller, ptr).map(|bytes| U256::from_little_endian(&bytes))
}

/// A position already checked against a host buffer's length, as `usize`.
fn host_index(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

fn to_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

// ---------------------------------------------------------------------------
// Call data and results
// ---------------------------------------------------------------------------

/// The guest's `offset..offset + len` of a host-side buffer (both read as
/// unsigned), or the trap `out_of_bounds` if the range exceeds it.
fn copy_range(
    source: &[u8],
    offset: i32,
    len: i32,
    out_of_bounds: TrapKind,
) -> HostResult<Vec<u8>> {
    let start = u64::from(offset.cast_unsigned());
    let end = start + len_u64(len);
    if end > source.len() as u64 {
        return Err(trap(out_of_bounds));
    }
    // Bounded by the source's length, so both fit in usize.
    Ok(source[host_index(start)..host_index(end)].to_vec())
}

pub(crate) fn input_size(mut caller: Ctx<'_>) -> HostResult<i32> {
    begin(&mut caller, "input_size", gas::input_size.cost(0))?;
    let len = to_i32(caller.state().input.len());
    finish(&mut caller, len)
}

pub(crate) fn input_copy(
    mut caller: Ctx<'_>,
    dst_ptr: i32,
    offset: i32,
    len: i32,
) -> HostResult<()> {
    begin(
        &mut caller,
        "input_copy",
        gas::input_copy.cost(len_u64(len)),
    )?;
    let bytes = copy_range(
        &caller.state().input,
        offset,
        len,
        TrapKind::InputOutOfBounds,
    )?;
    write_bytes(&mut caller, dst_ptr, &bytes)?;
    finish(&mut caller, ())
}

pub(crate) fn return_value(mut caller: Ctx<'_>, ptr: i32, len: i32) -> HostResult<()> {
    begin(
        &mut caller,
        "return_value",
        gas::return_value.cost(len_u64(len)),
    )?;
    let data = read_bytes(&caller, ptr, len_u64(len))?;
    caller.state_mut().exit = Some(FrameExit::Return(data));
    caller.state_mut().host_function = None;
    Err(wasmi::Error::host(HostTrap::Exit))
}

pub(crate) fn revert(mut caller: Ctx<'_>, ptr: i32, len: i32) -> HostResult<()> {
    begin(&mut caller, "revert", gas::revert.cost(len_u64(len)))?;
    let data = read_bytes(&caller, ptr, len_u64(len))?;
    caller.state_mut().exit = Some(FrameExit::Revert(data));
    caller.state_mut().host_function = None;
    Err(wasmi::Error::host(HostTrap::Exit))
}

// ---------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------

pub(crate) fn storage_read(
    mut caller: Ctx<'_>,
    key_ptr: i32,
    key_len: i32,
    dst_ptr: i32,
    dst_cap: i32,
) -> HostResult<i32> {
    begin(
        &mut caller,
        "storage_read",
        gas::storage_read.cost(len_u64(key_len)),
    )?;
    let key = read_bytes(&caller, key_ptr, len_u64(key_len))?;
    let dst_cap = dst_cap.cast_unsigned();
    Err(defer(
        &mut caller,
        WorldOp::StorageRead {
            key,
            dst_ptr,
            dst_cap,
        },
    ))
}

pub(crate) fn storage_write(
    mut caller: Ctx<'_>,
    key_ptr: i32,
    key_len: i32,
    val_ptr: i32,
    val_len: i32,
) -> HostResult<()> {
    let n = len_u64(key_len) + len_u64(val_len);
    begin(&mut caller, "storage_write", gas::storage_write.cost(n))?;
    if key_len.cast_unsigned() > MAX_KEY_LEN || val_len.cast_unsigned() > MAX_VALUE_LEN {
        return Err(trap(TrapKind::StorageLimitExceeded));
    }
    let key = read_bytes(&caller, key_ptr, len_u64(key_len))?;
    let value = read_bytes(&caller, val_ptr, len_u64(val_len))?;
    let state = caller.state_mut();
    let address = state.address;
    state.shared.journal.set_storage(address, key, Some(value));
    finish(&mut caller, ())
}

pub(crate) fn storage_remove(mut caller: Ctx<'_>, key_ptr: i32, key_len: i32) -> HostResult<i32> {
    begin(
        &mut caller,
        "storage_remove",
        gas::storage_remove.cost(len_u64(key_len)),
    )?;
    let key = read_bytes(&caller, key_ptr, len_u64(key_len))?;
    Err(defer(&mut caller, WorldOp::StorageRemove { key }))
}

// ---------------------------------------------------------------------------
// Context
// ---------------------------------------------------------------------------

pub(crate) fn caller(mut caller: Ctx<'_>, dst_ptr: i32) -> HostResult<()> {
    begin(&mut caller, "caller", gas::caller.cost(0))?;
    let address = caller.state().caller;
    write_bytes(&mut caller, dst_ptr, address.as_bytes())?;
    finish(&mut caller, ())
}

pub(crate) fn origin(mut caller: Ctx<'_>, dst_ptr: i32) -> HostResult<()> {
    begin(&mut caller, "origin", gas::origin.cost(0))?;
    let address = caller.state().origin;
    write_bytes(&mut caller, dst_ptr, address.as_bytes())?;
    finish(&mut caller, ())
}

pub(crate) fn address(mut caller: Ctx<'_>, dst_ptr: i32) -> HostResult<()> {
    begin(&mut caller, "address", gas::address.cost(0))?;
    let address = caller.state().address;
    write_bytes(&mut caller, dst_ptr, address.as_bytes())?;
    finish(&mut caller, ())
}

pub(crate) fn value(mut caller: Ctx<'_>, dst_ptr: i32) -> HostResult<()> {
    begin(&mut caller, "value", gas::value.cost(0))?;
    let value = caller.state().value.to_little_endian();
    write_bytes(&mut caller, dst_ptr, &value)?;
    finish(&mut caller, ())
}

pub(crate) fn balance(mut caller: Ctx<'_>, addr_ptr: i32, dst_ptr: i32) -> HostResult<()> {
    begin(&mut caller, "balance", gas::balance.cost(0))?;
    let address = read_address(&caller, addr_ptr)?;
    check_writable(&caller, dst_ptr, 32)?;
    Err(defer(&mut caller, WorldOp::Balance { address, dst_ptr }))
}

fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn block_number(mut caller: Ctx<'_>) -> HostResult<i64> {
    begin(&mut caller, "block_number", gas::block_number.cost(0))?;
    let number = as_i64(caller.state().block.number);
    finish(&mut caller, number)
}

pub(crate) fn block_timestamp(mut caller: Ctx<'_>) -> HostResult<i64> {
    begin(&mut caller, "block_timestamp", gas::block_timestamp.cost(0))?;
    let timestamp = as_i64(caller.state().block.timestamp);
    finish(&mut caller, timestamp)
}

pub(crate) fn chain_id(mut caller: Ctx<'_>) -> HostResult<i64> {
    begin(&mut caller, "chain_id", gas::chain_id.cost(0))?;
    let chain_id = as_i64(caller.state().block.chain_id);
    finish(&mut caller, chain_id)
}

pub(crate) fn gas_left_fn(mut caller: Ctx<'_>) -> HostResult<i64> {
    begin(&mut caller, "gas_left", gas::gas_left.cost(0))?;
    let left = gas_left(&caller);
    finish(&mut caller, left)
}

// ---------------------------------------------------------------------------
// Crypto
// ---------------------------------------------------------------------------

pub(crate) fn keccak256(mut caller: Ctx<'_>, ptr: i32, len: i32, dst_ptr: i32) -> HostResult<()> {
    begin(&mut caller, "keccak256", gas::keccak256.cost(len_u64(len)))?;
    let data = read_bytes(&caller, ptr, len_u64(len))?;
    let hash: [u8; 32] = Keccak256::digest(&data).into();
    write_bytes(&mut caller, dst_ptr, &hash)?;
    finish(&mut caller, ())
}

/// Recovers the signer address of a 32-byte hash from `r ‖ s ‖ v`, accepting
/// only low-s signatures.
pub(crate) fn recover_signer(hash: &[u8; 32], signature: &[u8; 65]) -> Option<Address> {
    let recovery = match signature[64] {
        0 | 27 => 0,
        1 | 28 => 1,
        _ => return None,
    };
    let compact = &signature[..64];
    let standard = Signature::from_compact(compact).ok()?;
    let mut normalized = standard;
    normalized.normalize_s();
    if normalized != standard {
        return None;
    }
    let recoverable =
        RecoverableSignature::from_compact(compact, RecoveryId::try_from(recovery).ok()?).ok()?;
    let public_key = recoverable
        .recover(secp256k1::Message::from_digest(*hash))
        .ok()?;
    let uncompressed = public_key.serialize_uncompressed();
    let digest = Keccak256::digest(&uncompressed[1..]);
    Some(Address::from_slice(&digest[12..]))
}

pub(crate) fn ecrecover(
    mut caller: Ctx<'_>,
    hash_ptr: i32,
    sig_ptr: i32,
    dst_ptr: i32,
) -> HostResult<i32> {
    begin(&mut caller, "ecrecover", gas::ecrecover.cost(0))?;
    let hash = read_array::<32>(&caller, hash_ptr)?;
    let signature = read_array::<65>(&caller, sig_ptr)?;
    check_writable(&caller, dst_ptr, 20)?;
    match recover_signer(&hash, &signature) {
        Some(address) => {
            write_bytes(&mut caller, dst_ptr, address.as_bytes())?;
            finish(&mut caller, 0)
        }
        None => finish(&mut caller, 1),
    }
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

pub(crate) fn emit_log(
    mut caller: Ctx<'_>,
    topics_ptr: i32,
    topic_count: i32,
    data_ptr: i32,
    data_len: i32,
) -> HostResult<()> {
    let n = 32 * len_u64(topic_count) + len_u64(data_len);
    begin(&mut caller, "emit_log", gas::emit_log.cost(n))?;
    if topic_count.cast_unsigned() > MAX_TOPICS {
        return Err(trap(TrapKind::TooManyTopics));
    }
    if data_len.cast_unsigned() > MAX_LOG_DATA {
        return Err(trap(TrapKind::LogDataTooLarge));
    }
    let topic_bytes = read_bytes(&caller, topics_ptr, 32 * len_u64(topic_count))?;
    let data = read_bytes(&caller, data_ptr, len_u64(data_len))?;
    let topics = topic_bytes.chunks_exact(32).map(H256::from_slice).collect();
    let state = caller.state_mut();
    let log = Log {
        address: state.address,
        topics,
        data,
    };
    state.shared.journal.push_log(log);
    finish(&mut caller, ())
}

// ---------------------------------------------------------------------------
// Calls and transfers
// ---------------------------------------------------------------------------

pub(crate) fn call(
    mut caller: Ctx<'_>,
    addr_ptr: i32,
    value_ptr: i32,
    gas_limit: i64,
    input_ptr: i32,
    input_len: i32,
) -> HostResult<i32> {
    begin(&mut caller, "call", gas::call.cost(len_u64(input_len)))?;
    let target = read_address(&caller, addr_ptr)?;
    let value = read_u256(&caller, value_ptr)?;
    let input = read_bytes(&caller, input_ptr, len_u64(input_len))?;
    caller.state_mut().return_data.clear();
    Err(defer(
        &mut caller,
        WorldOp::Call {
            target,
            value,
            input,
            gas_limit,
        },
    ))
}

pub(crate) fn return_data_size(mut caller: Ctx<'_>) -> HostResult<i32> {
    begin(
        &mut caller,
        "return_data_size",
        gas::return_data_size.cost(0),
    )?;
    let len = to_i32(caller.state().return_data.len());
    finish(&mut caller, len)
}

pub(crate) fn return_data_copy(
    mut caller: Ctx<'_>,
    dst_ptr: i32,
    offset: i32,
    len: i32,
) -> HostResult<()> {
    begin(
        &mut caller,
        "return_data_copy",
        gas::return_data_copy.cost(len_u64(len)),
    )?;
    let bytes = copy_range(
        &caller.state().return_data,
        offset,
        len,
        TrapKind::ReturnDataOutOfBounds,
    )?;
    write_bytes(&mut caller, dst_ptr, &bytes)?;
    finish(&mut caller, ())
}

pub(crate) fn transfer(mut caller: Ctx<'_>, addr_ptr: i32, value_ptr: i32) -> HostResult<i32> {
    begin(&mut caller, "transfer", gas::transfer.cost(0))?;
    let to = read_address(&caller, addr_ptr)?;
    let value = read_u256(&caller, value_ptr)?;
    Err(defer(&mut caller, WorldOp::Transfer { to, value }))
}

// ---------------------------------------------------------------------------
// Development
// ---------------------------------------------------------------------------

pub(crate) fn debug_print(mut caller: Ctx<'_>, ptr: i32, len: i32) -> HostResult<()> {
    begin(
        &mut caller,
        "debug_print",
        gas::debug_print.cost(len_u64(len)),
    )?;
    let bytes = read_bytes(&caller, ptr, len_u64(len))?;
    if caller.state().dev_mode {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        caller.state_mut().shared.debug_output.push(text);
    }
    finish(&mut caller, ())
}

// ---------------------------------------------------------------------------
// World operations, performed by the frame loop
// ---------------------------------------------------------------------------

/// Performs a deferred world operation for the frame in `store`: returns the
/// host function's result to resume the Wasm call with, or the trap that
/// ends the frame; a backend failure is a node error.
pub(crate) fn perform(
    ctx: &MessageContext<'_>,
    store: &mut Store<FrameState>,
    op: WorldOp,
) -> Result<HostResult<Option<Val>>, NodeError> {
    let world = ctx.world;
    let result = match op {
        WorldOp::StorageRead {
            key,
            dst_ptr,
            dst_cap,
        } => {
            let state = store.state();
            match state.shared.journal.storage(world, &state.address, &key)? {
                None => Ok(-1),
                Some(value) => {
                    let copied = value.len().min(host_index(u64::from(dst_cap)));
                    let per_byte = gas::storage_read.per_byte.saturating_mul(copied as u64);
                    charge(store, per_byte)
                        .and_then(|()| write_bytes(store, dst_ptr, &value[..copied]))
                        .map(|()| to_i32(value.len()))
                }
            }
            .map(|code| Some(Val::I32(code)))
        }
        WorldOp::StorageRemove { key } => {
            let state = store.state_mut();
            let address = state.address;
            let present = state
                .shared
                .journal
                .storage(world, &address, &key)?
                .is_some();
            if present {
                state.shared.journal.set_storage(address, key, None);
            }
            Ok(Some(Val::I32(i32::from(present))))
        }
        WorldOp::Balance { address, dst_ptr } => {
            let balance = store.state().shared.journal.balance(world, &address)?;
            write_bytes(store, dst_ptr, &balance.to_little_endian()).map(|()| None)
        }
        WorldOp::Transfer { to, value } => {
            let state = store.state_mut();
            let from = state.address;
            let done = state.shared.journal.transfer(world, &from, &to, value)?;
            Ok(Some(Val::I32(if done { 0 } else { 1 })))
        }
        WorldOp::Call {
            target,
            value,
            input,
            gas_limit,
        } => perform_call(ctx, store, target, value, input, gas_limit)
            .map(|code| Ok(Some(Val::I32(code))))?,
    };
    if result.is_ok() {
        store.state_mut().host_function = None;
    }
    Ok(result)
}

/// A `call` forwards at most `left - left / 64` gas (specs/host-api.md).
const CALLER_RESERVE_DIVISOR: i64 = 64;

fn perform_call(
    ctx: &MessageContext<'_>,
    store: &mut Store<FrameState>,
    target: Address,
    value: U256,
    input: Vec<u8>,
    gas_limit: i64,
) -> Result<i32, NodeError> {
    let left = gas_left(store);
    // The caller always keeps 1/64 of what it has left (EIP-150's rule): a
    // callee that halts uses its whole limit, and the reserve lets the caller
    // still handle that failure instead of running out itself.
    let forwardable = left.max(0) - left.max(0) / CALLER_RESERVE_DIVISOR;
    let forwarded = if gas_limit < 0 {
        forwardable
    } else {
        gas_limit.min(forwardable)
    }
    .cast_unsigned();
    let state = store.state();
    let depth = state.depth + 1;
    if depth > ctx.executor.config().max_call_depth {
        return Ok(CALL_NOT_STARTED);
    }
    let Some(code_hash) = state
        .shared
        .journal
        .account(ctx.world, &target)?
        .and_then(|a| a.code_hash)
    else {
        return Ok(CALL_NOT_STARTED);
    };
    let Ok(module) = load_module(ctx, &state.shared.journal, code_hash, None)? else {
        return Ok(CALL_NOT_STARTED);
    };
    let frame = FrameCall {
        address: target,
        caller: state.address,
        value,
        input,
        gas_limit: forwarded,
        depth,
        export: "call",
    };
    let mut shared = std::mem::take(&mut store.state_mut().shared);
    let result = run_frame(ctx, &mut shared, frame, &module);
    store.state_mut().shared = shared;
    let result = result?;
    // gas_used <= forwarded <= left, so this cannot go negative.
    set_gas_left(store, left - as_i64(result.gas_used));
    let (code, data) = match result.status {
        ExecStatus::Success { return_data } => (CALL_SUCCESS, return_data),
        ExecStatus::Revert { data } => (CALL_REVERTED, data),
        ExecStatus::Halt {
            reason: HaltReason::OutOfGas | HaltReason::StackExhausted | HaltReason::Trap(_),
        } => (CALL_HALTED, Vec::new()),
        ExecStatus::Halt { .. } => (CALL_NOT_STARTED, Vec::new()),
    };
    store.state_mut().return_data = data;
    Ok(code)
}

// ---------------------------------------------------------------------------
// Linker
// ---------------------------------------------------------------------------

macro_rules! host_result {
    () => {
        ()
    };
    ($rt:ident) => {
        $rt
    };
}

/// The host function implementing a table row; `gas_left` is named
/// `gas_left_fn` here because `gas_left` reads the counter.
macro_rules! host_impl {
    (gas_left) => {
        gas_left_fn
    };
    ($name:ident) => {
        $name
    };
}

macro_rules! wire_host_functions {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident($($p:ident: $pt:ident),* $(,)?) $(-> $rt:ident)?;
            gas($base:expr, $per:expr, $of:literal); since($since:literal);
    )*) => {
        /// A linker with every host function of the table (and the
        /// diagnostics-only shadow-stack hooks).
        pub(crate) fn linker(engine: &Engine) -> Linker<FrameState> {
            let mut linker = Linker::new(engine);
            $(
                // Pins the implementation to the table's exact signature.
                let implementation: fn(Ctx<'_>, $($pt),*) -> HostResult<host_result!($($rt)?)> =
                    host_impl!($name);
                let _ = implementation;
                linker
                    .func_wrap(cairn_host_api::HOST_MODULE, stringify!($name), host_impl!($name))
                    .expect("host function names are unique");
            )*
            super::diagnostics::define_shadow_stack_hooks(&mut linker);
            linker
        }
    };
}
cairn_host_api::for_each_host_function!(wire_host_functions);
