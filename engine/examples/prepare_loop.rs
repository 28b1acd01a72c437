//! Prepares one module `N` times, for instruction-count profiles of
//! `prepare_code` (immune to a noisy machine):
//!
//! ```sh
//! cargo build --release -p cairn-engine --example prepare_loop
//! valgrind --tool=callgrind target/release/examples/prepare_loop contracts/artifacts/token.wasm 21
//! ```
//!
//! The difference between runs with `N` and `1`, divided by `N - 1`, is
//! one `prepare_code`. `FILE` may be `.wat` text (parsed once, before the
//! loop). With `--out PREPARED`, the prepared module is also written there
//! (to check that a change keeps the output byte for byte).

use cairn_engine::prepare::{GasSchedule, ValidationLimits, prepare_code};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.iter().position(|a| a == "--out").map(|at| {
        let path = args.get(at + 1).expect("--out PREPARED").clone();
        args.drain(at..at + 2);
        path
    });
    let path = args
        .first()
        .expect("usage: prepare_loop FILE.wasm|FILE.wat [N] [--out PREPARED]");
    let times: u32 = args.get(1).map_or(1, |n| n.parse().expect("N"));
    let wasm = read_module(path);
    let schedule = GasSchedule::v2();
    let limits = ValidationLimits::default();
    let mut prepared = None;
    for _ in 0..times {
        prepared = Some(prepare_code(&wasm, &schedule, &limits).expect("prepare"));
    }
    let size = prepared.as_ref().map_or(0, |p| p.code.len());
    if let (Some(out), Some(prepared)) = (out, &prepared) {
        std::fs::write(out, &prepared.code).expect("write the prepared module");
    }
    println!("{path}: {} -> {size} bytes, {times} times", wasm.len());
}

/// The module at `path`: binary, or text if it ends in `.wat`.
fn read_module(path: &str) -> Vec<u8> {
    if path.ends_with(".wat") {
        wat::parse_file(path).expect("parse the text module")
    } else {
        std::fs::read(path).expect("read the module")
    }
}
