//! The nn crate's workloads under criterion: W2 and W3 written with `Mlp`, a loss,
//! `Module::value_and_grad` and an optimizer (compare with `w2_w3_tape`, the same networks on
//! the raw tape), and W6, the whole 60-epoch digits training.
//!
//! `cargo bench --bench nn`. `examples/bench_nn.rs` prints these beside the raw tape and
//! PyTorch, measured in one run, with the W3 peak heap.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{rngs::StdRng, SeedableRng};
use shendu::nn::{Adam, Sgd};

// Shared with other binaries, each of which uses part of it.
#[allow(dead_code)]
#[path = "nn_nets.rs"]
mod nn_nets;
// Shared with other binaries, each of which uses part of it.
#[allow(dead_code)]
#[path = "../examples/digits/w6.rs"]
mod w6;

use nn_nets::NnNet;

fn w2(c: &mut Criterion) {
    let mut net = NnNet::w2(&mut StdRng::seed_from_u64(0), Sgd::new(0.03));
    let mut group = c.benchmark_group("w2_nn");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("sgd_step", |b| b.iter(|| net.step()));
    group.finish();
}

fn w3(c: &mut Criterion) {
    let mut sgd = NnNet::w3(&mut StdRng::seed_from_u64(0), Sgd::new(0.01));
    let mut adam = NnNet::w3(&mut StdRng::seed_from_u64(0), Adam::new(1e-3));
    let mut group = c.benchmark_group("w3_nn");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("sgd_step", |b| b.iter(|| sgd.step()));
    group.bench_function("adam_step", |b| b.iter(|| adam.step()));
    group.finish();
}

fn w6(c: &mut Criterion) {
    let digits = w6::Digits::load(w6::DIGITS_CSV).expect("data/digits.csv");
    let mut group = c.benchmark_group("w6");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("train_60_epochs", |b| {
        b.iter(|| w6::train(&digits, 0, w6::EPOCHS, |_, _| {}).accuracy)
    });
    group.finish();
}

criterion_group!(benches, w2, w3, w6);
criterion_main!(benches);
