//! Criterion harness for the metering suite (bodies in `cairn_benches::metering`).
//!
//! Groups: `metering/<program>` with `unmetered`, `injected` and `fuel`;
//! `prepare/<program>` with `prepare_code` and `wasmi_compile`.

use cairn_benches::metering::{Mode, Runner, programs};
use cairn_engine::prepare::{GasSchedule, ValidationLimits, prepare_code};
use criterion::{Criterion, criterion_group, criterion_main};

fn metering(c: &mut Criterion) {
    for program in programs() {
        let mut group = c.benchmark_group(format!("metering/{}", program.name));
        for (label, mode) in [
            ("unmetered", Mode::Unmetered),
            ("injected", Mode::Injected),
            ("fuel", Mode::Fuel),
        ] {
            let mut runner = Runner::new(&program, mode);
            group.bench_function(label, |b| b.iter(|| runner.run()));
        }
        group.finish();

        let mut group = c.benchmark_group(format!("prepare/{}", program.name));
        let (schedule, limits) = (GasSchedule::v2(), ValidationLimits::default());
        group.bench_function("prepare_code", |b| {
            b.iter(|| prepare_code(&program.wasm, &schedule, &limits).ok())
        });
        let engine = wasmi::Engine::new(
            wasmi::Config::default().compilation_mode(wasmi::CompilationMode::Eager),
        );
        group.bench_function("wasmi_compile", |b| {
            b.iter(|| wasmi::Module::new(&engine, &program.wasm).ok())
        });
        group.finish();
    }
}

criterion_group!(benches, metering);
criterion_main!(benches);
