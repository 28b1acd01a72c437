//! Criterion harness for end-to-end block execution; bodies live in
//! `cairn_benches::e2e`. Group `e2e`: `block_1000_token_transfers` (execute,
//! Merkleize and commit one block on RocksDB; signing is in the untimed
//! setup) and `recover_1000_signatures` (the signature-only bound, all cores).

use cairn_benches::e2e::{E2eFixture, recover_all};
use criterion::{BatchSize, Criterion};

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let fixture = std::cell::RefCell::new(E2eFixture::new(256));
    let mut group = criterion.benchmark_group("e2e");
    group.sample_size(10);
    group.bench_function("block_1000_token_transfers", |b| {
        b.iter_batched(
            || fixture.borrow_mut().next_block_txs(1_000),
            |txs| fixture.borrow_mut().produce(txs),
            BatchSize::PerIteration,
        );
    });
    let txs = fixture.borrow_mut().next_block_txs(1_000);
    group.bench_function("recover_1000_signatures", |b| b.iter(|| recover_all(&txs)));
    group.finish();
    criterion.final_summary();
}
