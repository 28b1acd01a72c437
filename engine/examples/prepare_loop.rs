//! Prepares one module `N` times, for instruction-count profiles of
//! `prepare_code` (immune to a noisy machine):
//!
//! ```sh
//! cargo build --release -p cairn-engine --example prepare_loop
//! valgrind --tool=callgrind target/release/examples/prepare_loop contracts/artifacts/token.wasm 21
//! ```
//!
//! The difference between runs with `N` and `1`, divided by `N - 1`, is
//! one `prepare_code`.

use cairn_engine::prepare::{GasSchedule, ValidationLimits, prepare_code};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().expect("usage: prepare_loop FILE.wasm [N]");
    let times: u32 = args.get(1).map_or(1, |n| n.parse().expect("N"));
    let wasm = std::fs::read(path).expect("read the module");
    let schedule = GasSchedule::v2();
    let limits = ValidationLimits::default();
    let mut size = 0;
    for _ in 0..times {
        let prepared = prepare_code(&wasm, &schedule, &limits).expect("prepare");
        size = prepared.code.len();
    }
    println!("{path}: {} -> {size} bytes, {times} times", wasm.len());
}
