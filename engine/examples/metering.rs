//! The metering benchmark of `cairn bench metering` (the same code,
//! `benches/src/metering.rs`) built from the engine alone, without the
//! RocksDB build the `cairn` binary needs:
//!
//! ```text
//! cargo run --release -p cairn-engine --example metering -- --json [--samples N]
//! ```

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
