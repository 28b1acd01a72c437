//! Benchmark bodies shared by the criterion harnesses in `benches/benches/`
//! and by `cairn bench`, so both measure exactly the same code, and the
//! deterministic transfer workload they (and `cairn demo` and the tests) run.

pub mod e2e;
pub mod metering;
pub mod state;
pub mod workload;
