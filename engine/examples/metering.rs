//! The metering benchmark of `cairn bench metering` (the same code,
//! `benches/src/metering.rs`) built from the engine alone, without the
//! RocksDB build the `cairn` binary needs:
//!
//! ```text
//! cargo run --release -p cairn-engine --example metering -- --json [--samples N]
//! ```
//!
//! With `--run PROGRAM MODE N` it instead runs one program `N` times in one
//! mode (`unmetered`, `injected`, `fuel`), for instruction counts of the
//! metered run time, which do not move with the machine's load:
//!
//! ```text
//! cargo build --release -p cairn-engine --example metering
//! valgrind --tool=callgrind target/release/examples/metering --run fib injected 3
//! ```
//!
//! The difference between runs with `N` and `1`, divided by `N - 1`, is one
//! call of the program's `call` export.

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
    if let Some(at) = args.iter().position(|a| a == "--run") {
        run_loop(&args[at + 1..]);
        return;
    }
    let mut config = metering::MeteringConfig::default();
    if let Some(at) = args.iter().position(|a| a == "--samples") {
        config.samples = args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .filter(|&n| n >= 1)
            .expect("--samples N, N >= 1");
    }
    let report = metering::run(&config);
    if args.iter().any(|a| a == "--json") {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("serialisable")
        );
    } else {
        for p in &report.programs {
            println!(
                "{:<10} ratio {:.2} fuel {:.2} prepare/compile {:.2} size {} -> {}",
                p.name, p.ratio, p.fuel_ratio, p.prepare_ratio, p.original_size, p.prepared_size
            );
        }
        println!(
            "geomean {:.2} worst {:.2} fuel geomean {:.2} prepare/compile {:.2}",
            report.geomean_ratio,
            report.worst_ratio,
            report.fuel_geomean_ratio,
            report.prepare_ratio
        );
    }
}

/// `--run PROGRAM MODE N`: one program, one mode, `N` calls.
fn run_loop(args: &[String]) {
    let usage = "usage: metering --run PROGRAM unmetered|injected|fuel [N]";
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
