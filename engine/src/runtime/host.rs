//! The host functions of `cairn_v1`, one Rust function per table row.
//!
//! The linker is wired by expanding [`cairn_host_api::for_each_host_function!`]:
//! a table row without a function here of exactly the declared signature does
//! not compile. Every function follows the same order: charge its gas
//! (`base + per_byte * n`) against `cairn_gas_left`, then bounds-check and read
//! its arguments, then act. A failure after the charge keeps the charge.

use cairn_host_api::gas;
use cairn_host_api::world::{Address, H256};
use wasmi::{Engine, Linker};

use super::outcome::{Log, TrapKind};
use super::state::{
    Ctx, FrameContext, FrameExit, FrameState, HostResult, HostTrap, WorldOp, as_i64, charge,
    check_writable, gas_left, host_index, len_u64, read_address, read_array, read_bytes, read_u256,
    to_i32, trap, write_bytes,
};

/// Maximum storage key length in bytes.
pub(crate) const MAX_KEY_LEN: u32 = 1_024;
/// Maximum storage value length in bytes.
pub(crate) const MAX_VALUE_LEN: u32 = 65_536;
/// Maximum number of log topics.
pub(crate) const MAX_TOPICS: u32 = 4;
/// Maximum log data length in bytes.
pub(crate) const MAX_LOG_DATA: u32 = 16_384;

/// Suspends the Wasm call until the frame loop has performed `op`.
fn defer(caller: &mut Ctx<'_>, op: WorldOp) -> wasmi::Error {
    caller.state_mut().pending = Some(op);
    wasmi::Error::host(HostTrap::NeedsWorld)
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
    let hash = cairn_host_api::keccak256(&data);
    write_bytes(&mut caller, dst_ptr, hash.as_bytes())?;
    finish(&mut caller, ())
}

/// The signer of a 32-byte hash from `r ‖ s ‖ v`, `v` in {0, 1, 27, 28}
/// (Ethereum's two conventions), low-s only.
fn recover_signer(hash: &[u8; 32], signature: &[u8; 65]) -> Option<Address> {
    let recovery_id = match signature[64] {
        0 | 27 => 0,
        1 | 28 => 1,
        _ => return None,
    };
    let mut compact = [0u8; 64];
    compact.copy_from_slice(&signature[..64]);
    crate::crypto::recover_address(&H256(*hash), &compact, recovery_id).ok()
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
