//! Criterion harness for the state store; bodies live in `cairn_benches::state`.
//! `CAIRN_BENCH_KEYS` sets the state size (default 100,000 to keep
//! `cargo bench` short; `cairn bench state` runs the 1M-key comparison).

use cairn_benches::state::StateFixture;
use criterion::Criterion;

fn main() {
    let keys = std::env::var("CAIRN_BENCH_KEYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let mut criterion = Criterion::default().configure_from_args();
    let mut fixture = StateFixture::new(keys);
    let mut group = criterion.benchmark_group("state");
    group.sample_size(10);
    group.bench_function("commit_10k", |b| b.iter(|| fixture.commit_block(10_000)));
    group.bench_function("raw_write_10k", |b| {
        b.iter(|| fixture.raw_write_block(10_000))
    });
    group.sample_size(50);
    group.bench_function("get_latest", |b| b.iter(|| fixture.get_latest()));
    group.bench_function("raw_get", |b| b.iter(|| fixture.raw_get()));
    group.bench_function("prove", |b| b.iter(|| fixture.prove()));
    let (root, key, value, proof) = fixture.proof_to_verify();
    group.bench_function("verify", |b| {
        b.iter(|| cairn_state::verify(&root, &key, value.as_deref(), &proof).expect("valid proof"));
    });
    group.finish();
    criterion.final_summary();
}
