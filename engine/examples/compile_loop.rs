//! Compiles one (original, unprepared) module `N` times with wasmi's eager
//! compilation, the yardstick `prepare_code` is compared against (`cairn
//! bench metering`, `prepare_ratio`): run it beside `prepare_loop` under
//! callgrind for a load-immune prepare / compile ratio.
//!
//! ```sh
//! cargo build --release -p cairn-engine --example compile_loop
//! valgrind --tool=callgrind target/release/examples/compile_loop contracts/artifacts/token.wasm 11
//! ```
//!
//! The difference between runs with `N` and `1`, divided by `N - 1`, is
//! one compile. The engine is configured as the metering benchmark's
//! compile engine (`benches/src/metering.rs`): default configuration,
//! eager compilation, no fuel. `FILE` may be `.wat` text.

use wasmi::{CompilationMode, Config, Engine, Module};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .expect("usage: compile_loop FILE.wasm|FILE.wat [N]");
    let times: u32 = args.get(1).map_or(1, |n| n.parse().expect("N"));
    let wasm = if path.ends_with(".wat") {
        wat::parse_file(path).expect("parse the text module")
    } else {
        std::fs::read(path).expect("read the module")
    };
    let mut config = Config::default();
    config.compilation_mode(CompilationMode::Eager);
    config.consume_fuel(false);
    let engine = Engine::new(&config);
    for _ in 0..times {
        let module = Module::new(&engine, &wasm).expect("wasmi compiles the module");
        std::hint::black_box(&module);
    }
    println!("{path}: {} bytes compiled {times} times", wasm.len());
}
