//! The `deploy` and `call` exports: reading call data, dispatching on the
//! selector, decoding arguments, encoding results, reverting on `Err`.

use crate::abi::{Revert, Selector};
use crate::env;
use parity_scale_codec::{Decode, DecodeAll, Encode};

/// A contract method: a function of SCALE-decodable arguments returning
/// `Result<R>` with `R` SCALE-encodable. Implemented for functions of up to
/// eight arguments; `Args` is the tuple of their types.
pub trait Handler<Args> {
    /// Decodes `args` (all of them: trailing bytes are an error), runs the
    /// method and ends the call with its result or revert.
    fn handle(self, args: &[u8]) -> !;
}

/// Ends the call with a method's outcome.
pub fn finish<R: Encode>(outcome: crate::Result<R>) -> ! {
    match outcome {
        Ok(value) => env::return_value(&value),
        Err(revert) => env::revert(&revert),
    }
}

fn decode_args<A: Decode>(mut args: &[u8]) -> A {
    match A::decode_all(&mut args) {
        Ok(a) => a,
        Err(_) => env::revert(&Revert::reason("malformed arguments")),
    }
}

macro_rules! impl_handler {
    ($($arg:ident),*) => {
        impl<F, R, $($arg),*> Handler<($($arg,)*)> for F
        where
            F: FnOnce($($arg),*) -> crate::Result<R>,
            R: Encode,
            $($arg: Decode,)*
        {
            #[allow(non_snake_case, reason = "argument values named after their types")]
            fn handle(self, args: &[u8]) -> ! {
                let ($($arg,)*) = decode_args::<($($arg,)*)>(args);
                finish(self($($arg),*))
            }
        }

        impl<F, R, $($arg),*> crate::metadata::Signature<($($arg,)*)> for F
        where
            F: FnOnce($($arg),*) -> crate::Result<R>,
            R: crate::metadata::AbiType,
            $($arg: crate::metadata::AbiType,)*
        {
            const ARGS: &'static [crate::metadata::Type] = &[$(<$arg as crate::metadata::AbiType>::TYPE),*];
            const RESULT: crate::metadata::Type = <R as crate::metadata::AbiType>::TYPE;
        }
    };
}
impl_handler!();
impl_handler!(A1);
impl_handler!(A1, A2);
impl_handler!(A1, A2, A3);
impl_handler!(A1, A2, A3, A4);
impl_handler!(A1, A2, A3, A4, A5);
impl_handler!(A1, A2, A3, A4, A5, A6);
impl_handler!(A1, A2, A3, A4, A5, A6, A7);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8);

/// Body of the generated `deploy` export: the input is the SCALE arguments.
pub fn run_deploy<Args, H: Handler<Args>>(handler: H) -> ! {
    handler.handle(&env::input())
}

/// Tag of the revert for a selector no method has; the payload is the selector.
pub const UNKNOWN_SELECTOR_TAG: Selector = crate::abi::selector("UnknownSelector");

/// Body of the generated `call` export: splits off the selector and lets
/// `dispatch` run the matching handler; reverts if none matches.
pub fn run_call(dispatch: impl FnOnce(Selector, &[u8])) -> ! {
    let input = env::input();
    let Some((selector, args)) = input.split_first_chunk::<4>() else {
        env::revert(&Revert::reason("call data shorter than a selector"))
    };
    dispatch(*selector, args);
    env::revert(&Revert::custom(UNKNOWN_SELECTOR_TAG, selector))
}

/// Compile-time check that no two methods share a selector.
pub const fn assert_distinct_selectors(selectors: &[Selector]) {
    let mut i = 0;
    while i < selectors.len() {
        let mut j = i + 1;
        while j < selectors.len() {
            let (a, b) = (selectors[i], selectors[j]);
            if a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] {
                panic!("two methods have the same selector");
            }
            j += 1;
        }
        i += 1;
    }
}

/// Declares the contract's entry points and its metadata.
///
/// ```ignore
/// cairn_sdk::entry_points! {
///     deploy: init,                 // optional: runs once at deployment
///     "get" => get,                 // method name => handler function
///     "increment" => increment,
///     events: {                     // optional: the events the contract emits
///         Changed { #[indexed] by: Address, old: u64, new: u64 },
///     }
/// }
/// ```
///
/// A handler is any `fn(A1, .., An) -> Result<R>` with SCALE-decodable
/// arguments and SCALE-encodable `R` ([`Handler`]) whose types implement
/// [`AbiType`](crate::metadata::AbiType). The macro exports `call` (and
/// `deploy` if given); selectors are checked to be distinct at compile time.
/// It also writes the `cairn:abi` custom section ([`crate::metadata`]): the
/// methods with their argument and result types, the deploy arguments and
/// the declared events. An event's topics are topic 0 = keccak256 of its
/// name, then its `#[indexed]` fields in order ([`topic_of`](crate::abi::topic_of));
/// its data is the SCALE encoding of the tuple of the other fields.
#[macro_export]
macro_rules! entry_points {
    (
        $(deploy: $deploy:path,)?
        $($method:literal => $handler:path,)*
        $(events: { $($event:ident { $($(#[$marker:ident])? $field:ident : $fty:ty),* $(,)? }),* $(,)? } $(,)?)?
    ) => {
        const _: () = {
            $crate::__private::assert_distinct_selectors(&[$($crate::abi::selector($method)),*]);

            $(
                #[allow(unsafe_code, reason = "the engine calls this export by name")]
                #[unsafe(export_name = "deploy")]
                extern "C" fn __cairn_deploy_export() {
                    $crate::__private::run_deploy($deploy)
                }
            )?

            #[allow(unsafe_code, reason = "the engine calls this export by name")]
            #[unsafe(export_name = "call")]
            extern "C" fn __cairn_call_export() {
                $crate::__private::run_call(|selector, args| {
                    $(
                        if selector == const { $crate::abi::selector($method) } {
                            $crate::entry::Handler::handle($handler, args)
                        }
                    )*
                })
            }

            const INFO: $crate::metadata::ContractInfo = $crate::metadata::ContractInfo {
                deploy: {
                    let deploy: Option<&'static [$crate::metadata::Type]> = None;
                    $(let deploy = Some($crate::metadata::args_of(&$deploy));)?
                    deploy
                },
                methods: &[$($crate::metadata::MethodInfo {
                    name: $method,
                    args: $crate::metadata::args_of(&$handler),
                    result: $crate::metadata::result_of(&$handler),
                }),*],
                events: &[$($($crate::metadata::EventInfo {
                    name: stringify!($event),
                    fields: &[$($crate::metadata::FieldInfo {
                        name: stringify!($field),
                        ty: <$fty as $crate::metadata::AbiType>::TYPE,
                        indexed: false $(|| $crate::metadata::indexed_marker(stringify!($marker)))?,
                    }),*],
                }),*)?],
            };
            const LEN: usize = $crate::metadata::encoded_len(&INFO);
            #[allow(unsafe_code, reason = "a custom section, never read by the contract")]
            #[unsafe(link_section = "cairn:abi")]
            static METADATA: [u8; LEN] = $crate::metadata::encode::<LEN>(&INFO);
        };
    };
    // The last method without a trailing comma.
    (
        $(deploy: $deploy:path,)?
        $($method:literal => $handler:path),+
    ) => {
        $crate::entry_points! { $(deploy: $deploy,)? $($method => $handler,)+ }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::selector;

    #[test]
    fn distinct_selectors_pass() {
        assert_distinct_selectors(&[selector("get"), selector("set"), selector("increment")]);
        assert_distinct_selectors(&[]);
    }

    #[test]
    #[should_panic(expected = "two methods have the same selector")]
    fn duplicate_selectors_are_caught() {
        assert_distinct_selectors(&[selector("get"), selector("set"), selector("get")]);
    }

    #[test]
    fn unknown_selector_tag_matches_the_host() {
        // selector("UnknownSelector") as pinned in specs/vectors/abi/vectors.json.
        assert_eq!(UNKNOWN_SELECTOR_TAG, [0x30, 0xc4, 0xf1, 0x84]);
        assert_eq!(crate::abi::ERROR_TAG, [0xe3, 0x42, 0xda, 0xa4]);
        assert_eq!(crate::abi::PANIC_TAG, [0xe3, 0x89, 0xa7, 0x75]);
    }
}
