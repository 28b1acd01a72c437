//! The one table of host functions.
//!
//! Every host function Cairn offers a contract is declared here exactly once:
//! its import module and name, its Wasm signature, its gas formula and the API
//! version it appeared in. Everything else is generated from this table:
//!
//! - [`HOST_FUNCTIONS`], the runtime-readable table the validator checks imports
//!   against and `specs/host-api.md` is checked against;
//! - the `no_std` guest bindings in [`crate::guest`] that contracts call;
//! - the engine's linker wiring (`engine` expands [`for_each_host_function!`]
//!   with its own macro, so a host function without an implementation does not
//!   compile).
//!
//! Pointers and lengths are `i32` on the Wasm side and are interpreted as
//! unsigned 32-bit numbers by the host. Every region the guest names is
//! bounds-checked against its linear memory; an out-of-bounds region is a
//! deterministic trap (`MemoryAccessOutOfBounds`), never a host panic.
//!
//! Gas: each call costs `base + per_byte * n`, charged against the same counter
//! the injected metering uses, *before* the function has any effect, where `n`
//! is the byte count named in the function's `per_byte` clause. Gas is charged
//! also when the function then fails or traps.

/// Calls `$callback!` with the whole host function table.
///
/// Each entry has the form
///
/// ```text
/// /// docs
/// fn name(param: i32, ...) -> i32; gas(base, per_byte, "what n counts"); since(1);
/// ```
///
/// where the return type is optional (absent means no results). Only `i32` and
/// `i64` appear in signatures: the deterministic subset has no floats.
#[macro_export]
macro_rules! for_each_host_function {
    ($callback:ident) => {
        $callback! {
            // ---------------------------------------------------------------
            // Call data and results
            // ---------------------------------------------------------------

            /// Length in bytes of the current call's input (call data).
            fn input_size() -> i32; gas(20, 0, ""); since(1);

            /// Copies `len` bytes of the call input starting at `offset` to
            /// guest memory at `dst_ptr`. Traps with `InputOutOfBounds` if
            /// `offset + len` exceeds the input length.
            fn input_copy(dst_ptr: i32, offset: i32, len: i32); gas(40, 1, "len"); since(1);

            /// Ends the call successfully with `len` bytes at `ptr` as return
            /// data. Does not return to the guest.
            fn return_value(ptr: i32, len: i32); gas(40, 1, "len"); since(1);

            /// Ends the call as reverted with `len` bytes at `ptr` as revert
            /// data: every state change, log and value transfer of this call
            /// frame (and of frames it called) is discarded; gas used stays
            /// charged. Does not return to the guest.
            fn revert(ptr: i32, len: i32); gas(40, 1, "len"); since(1);

            // ---------------------------------------------------------------
            // Storage of the executing contract
            // ---------------------------------------------------------------

            /// Reads the value stored under the key at `key_ptr..key_ptr+key_len`.
            /// Returns -1 if the key is absent (distinct from an empty value,
            /// which returns 0). Otherwise returns the value's full length `L`
            /// and copies `min(L, dst_cap)` bytes of it to `dst_ptr`; a guest
            /// whose buffer was too small calls again with a larger one.
            fn storage_read(key_ptr: i32, key_len: i32, dst_ptr: i32, dst_cap: i32) -> i32;
                gas(2_000, 3, "key_len + bytes copied"); since(1);

            /// Stores `val_len` bytes at `val_ptr` under the key. An empty value
            /// is a stored empty value, not a removal. Keys are at most 1,024
            /// bytes and values at most 65,536 bytes
            /// (trap `StorageLimitExceeded`).
            fn storage_write(key_ptr: i32, key_len: i32, val_ptr: i32, val_len: i32);
                gas(5_000, 20, "key_len + val_len"); since(1);

            /// Removes the key. Returns 1 if it was present, 0 if it was not.
            fn storage_remove(key_ptr: i32, key_len: i32) -> i32;
                gas(5_000, 3, "key_len"); since(1);

            // ---------------------------------------------------------------
            // Call context
            // ---------------------------------------------------------------

            /// Writes the 20-byte address of the immediate caller to `dst_ptr`.
            fn caller(dst_ptr: i32); gas(20, 0, ""); since(1);

            /// Writes the 20-byte address of the account that signed the
            /// transaction to `dst_ptr`.
            fn origin(dst_ptr: i32); gas(20, 0, ""); since(1);

            /// Writes the executing contract's own 20-byte address to `dst_ptr`.
            fn address(dst_ptr: i32); gas(20, 0, ""); since(1);

            /// Writes the value sent with this call (U256, 32 bytes
            /// little-endian) to `dst_ptr`.
            fn value(dst_ptr: i32); gas(20, 0, ""); since(1);

            /// Writes the balance (U256, 32 bytes little-endian) of the 20-byte
            /// address at `addr_ptr` to `dst_ptr`. An absent account has
            /// balance zero.
            fn balance(addr_ptr: i32, dst_ptr: i32); gas(400, 0, ""); since(1);

            /// The number of the block being executed.
            fn block_number() -> i64; gas(20, 0, ""); since(1);

            /// The block's timestamp, in seconds since the Unix epoch, as set by
            /// the block producer (never the node's clock).
            fn block_timestamp() -> i64; gas(20, 0, ""); since(1);

            /// The chain id.
            fn chain_id() -> i64; gas(20, 0, ""); since(1);

            /// Gas left after this function's own cost has been charged.
            fn gas_left() -> i64; gas(20, 0, ""); since(1);

            // ---------------------------------------------------------------
            // Crypto
            // ---------------------------------------------------------------

            /// Writes keccak256 of `len` bytes at `ptr` to the 32 bytes at
            /// `dst_ptr`.
            fn keccak256(ptr: i32, len: i32, dst_ptr: i32); gas(100, 2, "len"); since(1);

            /// Recovers the signer of the 32-byte message hash at `hash_ptr` from
            /// the 65-byte signature at `sig_ptr` (`r ‖ s ‖ v`, `v` in {0, 1}
            /// or {27, 28}; `s` must be in the lower half of the curve order)
            /// and writes its 20-byte address to `dst_ptr`. Returns 0 on
            /// success and 1 if the signature is malformed, high-s or does not
            /// recover; a failed recovery writes nothing and is not a trap.
            fn ecrecover(hash_ptr: i32, sig_ptr: i32, dst_ptr: i32) -> i32;
                gas(10_000, 0, ""); since(1);

            // ---------------------------------------------------------------
            // Events
            // ---------------------------------------------------------------

            /// Emits a log with `topic_count` (0..=4) 32-byte topics read
            /// contiguously from `topics_ptr` and `data_len` bytes of data at
            /// `data_ptr`. More than 4 topics traps with `TooManyTopics`; data
            /// above 16,384 bytes traps with `LogDataTooLarge`.
            fn emit_log(topics_ptr: i32, topic_count: i32, data_ptr: i32, data_len: i32);
                gas(400, 8, "32 * topic_count + data_len"); since(1);

            // ---------------------------------------------------------------
            // Cross-contract calls and value transfer
            // ---------------------------------------------------------------

            /// Calls the contract at the 20-byte address at `addr_ptr`,
            /// transferring the U256 value (32 bytes LE) at `value_ptr`, with
            /// `input_len` bytes of input at `input_ptr` and at most `gas_limit`
            /// gas (capped at `left - left / 64`, where `left` is the gas left
            /// after this function's cost, so the caller always keeps a
            /// reserve to handle a failed callee; a negative limit means "as
            /// much as allowed"). A callee that halts uses all the gas it was
            /// given. Returns 0 if the
            /// callee succeeded, 1 if it reverted, 2 if it halted (trap, out of
            /// gas, stack exhausted), 3 if the call could not start (depth
            /// limit, insufficient balance, no code at the address). The
            /// callee's return or revert data is then readable with
            /// `return_data_size` / `return_data_copy`. Gas the callee did not
            /// use is returned to the caller.
            fn call(addr_ptr: i32, value_ptr: i32, gas_limit: i64, input_ptr: i32, input_len: i32) -> i32;
                gas(2_000, 1, "input_len"); since(1);

            /// Length of the return data of the last `call` made by this frame
            /// (0 before any call).
            fn return_data_size() -> i32; gas(20, 0, ""); since(1);

            /// Copies `len` bytes of the last call's return data starting at
            /// `offset` to `dst_ptr`. Traps with `ReturnDataOutOfBounds` if the
            /// range exceeds it.
            fn return_data_copy(dst_ptr: i32, offset: i32, len: i32); gas(40, 1, "len"); since(1);

            /// Transfers the U256 value (32 bytes LE) at `value_ptr` from the
            /// executing contract to the 20-byte address at `addr_ptr` without
            /// running any code there. Returns 0 on success and 1 if the
            /// balance is insufficient.
            fn transfer(addr_ptr: i32, value_ptr: i32) -> i32; gas(2_500, 0, ""); since(1);

            // ---------------------------------------------------------------
            // Development
            // ---------------------------------------------------------------

            /// Prints `len` bytes of UTF-8 (lossily decoded) at `ptr`. Charged
            /// like any other call, then dropped unless the node runs in dev
            /// mode; it never affects state, receipts or roots.
            fn debug_print(ptr: i32, len: i32); gas(100, 1, "len"); since(1);
        }
    };
}
