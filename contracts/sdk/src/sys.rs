//! The raw host functions: the generated guest bindings inside the engine,
//! and stand-ins that panic everywhere else (so the SDK and contracts compile
//! and unit-test on the host).

#[cfg(target_arch = "wasm32")]
pub(crate) use cairn_host_api::guest::*;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use host_stand_ins::*;

#[cfg(not(target_arch = "wasm32"))]
#[allow(
    unsafe_code,
    reason = "same `unsafe fn` signatures as the wasm32 imports"
)]
mod host_stand_ins {
    macro_rules! build_stand_ins {
        ($(
            $(#[doc = $doc:literal])*
            fn $name:ident($($p:ident: $pt:ident),* $(,)?) $(-> $rt:ident)?;
                gas($base:expr, $per:expr, $of:literal); since($since:literal);
        )*) => {
            $(
                #[allow(clippy::missing_safety_doc, reason = "stand-in that always panics")]
                pub(crate) unsafe fn $name($(_: $pt),*) $(-> $rt)? {
                    panic!(concat!("host function `", stringify!($name), "` is only available inside the Cairn engine"))
                }
            )*
        };
    }
    cairn_host_api::for_each_host_function!(build_stand_ins);
}
