//! Runs one metering benchmark program `N` times in one mode, for
//! instruction-count profiles of the metered run time (immune to a noisy
//! machine, unlike the wall clock of `cairn bench metering`):
//!
//! ```sh
//! cargo build --release -p cairn-engine --example run_loop
//! valgrind --tool=callgrind target/release/examples/run_loop fib injected 3
//! ```
//!
//! The difference between runs with `N` and `1`, divided by `N - 1`, is
//! one call of the program's `call` export. Modes: `unmetered`,
//! `injected`, `fuel`; programs: as in `benches/README.md` ("Metering").

#[path = "../../benches/src/metering.rs"]
#[allow(
    unreachable_pub,
    dead_code,
    reason = "the benchmark module's public interface, used here only in part"
)]
mod metering;

/// What `metering` needs from `cairn_benches::workload`.
mod workload {
    pub(crate) const TOKEN_WASM: &[u8] = include_bytes!("../../contracts/artifacts/token.wasm");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: run_loop PROGRAM unmetered|injected|fuel [N]";
    let name = args.first().expect(usage);
    let mode = match args.get(1).map(String::as_str) {
        Some("unmetered") => metering::Mode::Unmetered,
        Some("injected") => metering::Mode::Injected,
        Some("fuel") => metering::Mode::Fuel,
        _ => panic!("{usage}"),
    };
    let times: u32 = args.get(2).map_or(1, |n| n.parse().expect("N"));
    let programs = metering::programs();
    let program = programs
        .iter()
        .find(|p| p.name == name.as_str())
        .expect("a program of the metering benchmark");
    let mut runner = metering::Runner::new(program, mode);
    for _ in 0..times {
        runner.run();
    }
    println!("{name}: {times} calls");
}
