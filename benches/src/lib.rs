//! Benchmark bodies shared by the criterion harnesses in `benches/benches/`
//! and by `cairn bench`, so both measure exactly the same code.

pub mod e2e;
pub mod metering;
pub mod state;
