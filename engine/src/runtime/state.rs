//! The state one running frame shares between the frame loop and the host
//! functions, and the accessors both use: the gas counter, the guest's
//! memory, how a host function stops the guest. A leaf module: it imports
//! neither the frame loop nor the host functions.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use cairn_host_api::world::{Address, U256};
use wasmi::{AsContextMut, Caller, Global, Memory, Store, StoreLimits, Val};

use super::BlockContext;
use super::journal::Journal;
use super::outcome::{FrameTrace, TrapKind};

/// `call` return codes.
pub(crate) const CALL_SUCCESS: i32 = 0;
pub(crate) const CALL_REVERTED: i32 = 1;
pub(crate) const CALL_HALTED: i32 = 2;
pub(crate) const CALL_NOT_STARTED: i32 = 3;

/// Per-message state shared by every frame of the message, moved into the
/// running frame's store and back out around nested calls.
#[derive(Debug, Default)]
pub(crate) struct MessageShared {
    pub(crate) journal: Journal,
    pub(crate) debug_output: Vec<String>,
    /// Ended frames, in traced runs only.
    pub(crate) frames: Vec<FrameTrace>,
    /// The top-level frame's gas profile, in profiled runs only.
    pub(crate) profile: Option<super::profile::GasProfile>,
}

/// How a frame ended through a host function.
#[derive(Debug)]
pub(crate) enum FrameExit {
    Return(Vec<u8>),
    Revert(Vec<u8>),
}

/// The store data of one running frame.
#[derive(Debug)]
pub(crate) struct FrameState {
    pub(crate) shared: MessageShared,
    pub(crate) origin: Address,
    pub(crate) block: BlockContext,
    pub(crate) dev_mode: bool,
    pub(crate) address: Address,
    pub(crate) caller: Address,
    pub(crate) value: U256,
    pub(crate) input: Vec<u8>,
    pub(crate) depth: u32,
    /// Return or revert data of the last `call` this frame made.
    pub(crate) return_data: Vec<u8>,
    pub(crate) exit: Option<FrameExit>,
    pub(crate) host_function: Option<&'static str>,
    /// A world operation a host function left for the frame loop.
    pub(crate) pending: Option<WorldOp>,
    pub(crate) memory: Option<Memory>,
    pub(crate) gas_left: Option<Global>,
    /// Function indices of the active Wasm calls (traced runs only).
    pub(crate) shadow_stack: Vec<u32>,
    pub(crate) shadow_map: Option<Arc<ShadowStackMap>>,
    /// The gas profile being recorded (the top-level frame of a profiled run only).
    pub(crate) profile: Option<Box<super::profile::ProfileState>>,
    pub(crate) limits: StoreLimits,
}

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

pub(crate) type HostResult<T> = Result<T, wasmi::Error>;
pub(crate) type Ctx<'a> = Caller<'a, FrameState>;

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

pub(crate) fn trap(kind: TrapKind) -> wasmi::Error {
    wasmi::Error::host(HostTrap::Trap(kind))
}

pub(crate) fn gas_left(caller: &impl FrameContext) -> i64 {
    match caller.state().gas_left.map(|global| global.get(caller)) {
        Some(Val::I64(left)) => left,
        _ => 0,
    }
}

pub(crate) fn set_gas_left(caller: &mut impl FrameContext, left: i64) {
    if let Some(global) = caller.state().gas_left {
        // The global is the module's exported mutable i64 (checked at start).
        let _ = global.set(&mut *caller, Val::I64(left));
    }
}

/// Subtracts `cost` from `cairn_gas_left`. If that goes negative the global
/// keeps the negative remainder and the call fails with out of gas.
pub(crate) fn charge(caller: &mut impl FrameContext, cost: u64) -> HostResult<()> {
    let before = gas_left(caller);
    let state = caller.state_mut();
    if let Some(profile) = state.profile.as_mut() {
        profile.host_charge(state.host_function, cost, before);
    }
    let left = i128::from(before) - i128::from(cost);
    let clamped = i64::try_from(left).unwrap_or(i64::MIN);
    set_gas_left(caller, clamped);
    if left < 0 {
        return Err(wasmi::Error::host(HostTrap::OutOfGas));
    }
    Ok(())
}

pub(crate) fn len_u64(len: i32) -> u64 {
    u64::from(len.cast_unsigned())
}

/// The guest region `ptr..ptr+len` as a host range, if it lies inside memory.
pub(crate) fn region(memory_len: usize, ptr: i32, len: u64) -> HostResult<std::ops::Range<usize>> {
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

pub(crate) fn memory(caller: &impl FrameContext) -> HostResult<wasmi::Memory> {
    caller
        .state()
        .memory
        .ok_or_else(|| trap(TrapKind::NoMemoryExport))
}

pub(crate) fn read_bytes(caller: &impl FrameContext, ptr: i32, len: u64) -> HostResult<Vec<u8>> {
    let memory = memory(caller)?;
    let data = memory.data(caller);
    let range = region(data.len(), ptr, len)?;
    Ok(data[range].to_vec())
}

pub(crate) fn read_array<const N: usize>(
    caller: &impl FrameContext,
    ptr: i32,
) -> HostResult<[u8; N]> {
    let memory = memory(caller)?;
    let data = memory.data(caller);
    let range = region(data.len(), ptr, N as u64)?;
    let mut out = [0u8; N];
    out.copy_from_slice(&data[range]);
    Ok(out)
}

pub(crate) fn check_writable(caller: &impl FrameContext, ptr: i32, len: u64) -> HostResult<()> {
    let memory = memory(caller)?;
    region(memory.data(caller).len(), ptr, len).map(|_| ())
}

pub(crate) fn write_bytes(
    caller: &mut impl FrameContext,
    ptr: i32,
    bytes: &[u8],
) -> HostResult<()> {
    let memory = memory(caller)?;
    let data = memory.data_mut(&mut *caller);
    let range = region(data.len(), ptr, bytes.len() as u64)?;
    data[range].copy_from_slice(bytes);
    Ok(())
}

pub(crate) fn read_address(caller: &impl FrameContext, ptr: i32) -> HostResult<Address> {
    read_array::<20>(caller, ptr).map(Address::from)
}

pub(crate) fn read_u256(caller: &impl FrameContext, ptr: i32) -> HostResult<U256> {
    read_array::<32>(caller, ptr).map(|bytes| U256::from_little_endian(&bytes))
}

/// A position already checked against a host buffer's length, as `usize`.
pub(crate) fn host_index(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

pub(crate) fn to_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Where traced code's exports and table slots point, in original indices.
#[derive(Debug, Clone, Default)]
pub(crate) struct ShadowStackMap {
    /// Export name -> function index.
    pub(crate) exports: BTreeMap<String, u32>,
    /// Table 0 slot -> function index, for active segments at constant offsets.
    pub(crate) table: BTreeMap<u32, u32>,
}

/// Marker pushed for a `call_indirect` whose target slot is not statically known.
pub(crate) const UNKNOWN_FUNCTION: u32 = u32::MAX;

/// A gas figure as the guest's i64 (saturating: figures above `i64::MAX`
/// never reach the guest, limits are capped to it).
pub(crate) fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
