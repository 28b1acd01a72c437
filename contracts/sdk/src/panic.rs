//! Turns a Rust panic into a revert: `PANIC_TAG ‖ SCALE(message)`.
//!
//! By default only panics with a constant message (`expect("..")`,
//! `panic!("literal")`, arithmetic overflow, ...) carry it; a panic whose
//! message needs formatting carries [`FORMATTED_PLACEHOLDER`]. Never touching
//! the formatting machinery lets LTO drop it, which saves several KiB per
//! contract. The `formatted-panics` feature formats every message (truncated
//! to 256 bytes) into a stack buffer instead (never the heap: the panic may
//! come from a failed allocation).

use crate::abi::PANIC_TAG;

/// Longest message carried (bytes); longer ones are cut at a char boundary.
const MAX_MESSAGE: usize = 256;

/// The message of a panic whose text would need formatting.
#[cfg(not(feature = "formatted-panics"))]
pub(crate) const FORMATTED_PLACEHOLDER: &str =
    "panic with a formatted message (build with the SDK's `formatted-panics` feature to see it)";

#[cfg(feature = "formatted-panics")]
struct MessageBuffer {
    bytes: [u8; MAX_MESSAGE],
    len: usize,
}

#[cfg(feature = "formatted-panics")]
impl core::fmt::Write for MessageBuffer {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = MAX_MESSAGE - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

#[panic_handler]
fn revert_on_panic(info: &core::panic::PanicInfo<'_>) -> ! {
    #[cfg(feature = "formatted-panics")]
    let mut buffer = MessageBuffer {
        bytes: [0; MAX_MESSAGE],
        len: 0,
    };
    #[cfg(feature = "formatted-panics")]
    let message: &[u8] = {
        let _ = core::fmt::Write::write_fmt(&mut buffer, format_args!("{}", info.message()));
        &buffer.bytes[..buffer.len]
    };
    #[cfg(not(feature = "formatted-panics"))]
    let message: &[u8] = {
        let text = info.message().as_str().unwrap_or(FORMATTED_PLACEHOLDER);
        let mut len = text.len().min(MAX_MESSAGE);
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        &text.as_bytes()[..len]
    };
    // tag ‖ compact(len) ‖ bytes; len <= 256 < 2^14, so the prefix is 1 or 2 bytes.
    let len = message.len();
    let mut out = [0u8; 4 + 2 + MAX_MESSAGE];
    out[..4].copy_from_slice(&PANIC_TAG);
    let prefix = if len < 64 {
        out[4] = u8::try_from(len << 2).unwrap_or(0);
        1
    } else {
        let [lo, hi] = u16::try_from((len << 2) | 1).unwrap_or(0).to_le_bytes();
        out[4] = lo;
        out[5] = hi;
        2
    };
    let start = 4 + prefix;
    out[start..start + len].copy_from_slice(message);
    crate::env::revert_bytes(&out[..start + len])
}
