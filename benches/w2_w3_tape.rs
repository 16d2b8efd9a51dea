//! W2, W3 and W4 of the reference workloads (`benches/README.md`) on the autograd tape: one SGD step of an MLP
//! recorded on a fresh `Tape` (W2, W3), the forward pass alone (W3), and inference (W4).
//!
//! `cargo bench --bench w2_w3_tape`. Threads: the global rayon pool (`RAYON_NUM_THREADS=1
//! taskset -c 0 cargo bench ...` for one core, as W2 is measured). `examples/bench_tape.rs`
//! prints the same figures beside PyTorch's, with the backward/forward split and peak memory.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{rngs::StdRng, SeedableRng};
use shendu_autograd::Tape;

#[allow(dead_code)]
#[path = "mlp.rs"]
mod mlp;
use mlp::Net;

fn w2(c: &mut Criterion) {
    let mut net = Net::w2(&mut StdRng::seed_from_u64(0));
    let mut group = c.benchmark_group("w2");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("sgd_step", |b| b.iter(|| net.step()));
    group.finish();
}

fn w3_w4(c: &mut Criterion) {
    let mut net = Net::w3(&mut StdRng::seed_from_u64(0));
    let mut group = c.benchmark_group("w3");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("sgd_step", |b| b.iter(|| net.step()));
    group.bench_function("forward_and_loss", |b| {
        b.iter(|| {
            let tape = Tape::new();
            net.record(&tape).1.value().item()
        })
    });
    group.finish();
    let mut group = c.benchmark_group("w4");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("inference", |b| b.iter(|| net.infer()));
    group.finish();
}

criterion_group!(benches, w2, w3_w4);
criterion_main!(benches);
