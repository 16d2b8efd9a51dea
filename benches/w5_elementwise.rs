//! W5 of the reference workloads (`benches/README.md`): memory-bound elementwise ops on 2^24 f32 elements,
//! each returning a new tensor.
//!
//! `cargo bench --bench w5_elementwise`. Throughput counts the bytes moved per element (add: read
//! two, write one = 12; relu, tanh, exp and sigmoid: read one, write one = 8) in decimal units,
//! so criterion's `GB/s` is the figure of `benches/README.md`. tanh, exp and sigmoid compute more
//! than they move. `examples/bench_table.rs` prints them beside NumPy's. A second group times
//! copies of transposed views, a third the softmax's rows and their fused gradients.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::SeedableRng;
use shendu::tensor::Tensor;

const N: usize = 1 << 24;

fn w5(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(5);
    // Centred on 0 so relu's branch is taken half the time.
    let a = Tensor::<f32>::rand_uniform([N], -1.0, 1.0, &mut rng);
    let b = Tensor::<f32>::rand_uniform([N], -1.0, 1.0, &mut rng);
    let mut group = c.benchmark_group("w5_elementwise_f32");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));

    group.throughput(Throughput::BytesDecimal(12 * N as u64));
    group.bench_function("add/2^24", |bench| bench.iter(|| &a + &b));

    group.throughput(Throughput::BytesDecimal(8 * N as u64));
    group.bench_function("relu/2^24", |bench| bench.iter(|| a.relu()));
    group.bench_function("tanh/2^24", |bench| bench.iter(|| a.tanh()));
    group.bench_function("exp/2^24", |bench| bench.iter(|| a.exp()));
    group.bench_function("sigmoid/2^24", |bench| bench.iter(|| a.sigmoid()));
    group.finish();
}

/// A transposed view copied into row-major order (`w.t().contiguous()`), as a weight of W3's
/// first layer and a square one: a copy bound by its shuffles more than by memory. Throughput
/// counts the bytes read and written.
fn transposed_copy(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(6);
    let mut group = c.benchmark_group("transposed_copy");
    group.sample_size(50);
    for (rows, cols) in [(256, 784), (512, 512)] {
        let w = Tensor::<f32>::rand_uniform([rows, cols], -1.0, 1.0, &mut rng);
        group.throughput(Throughput::BytesDecimal(8 * (rows * cols) as u64));
        group.bench_function(format!("f32/{rows}x{cols}"), |bench| {
            bench.iter(|| w.t().contiguous())
        });
    }
    let w = Tensor::<f64>::rand_uniform([512, 512], -1.0, 1.0, &mut rng);
    group.throughput(Throughput::BytesDecimal(16 * 512 * 512));
    group.bench_function("f64/512x512", |bench| bench.iter(|| w.t().contiguous()));
    group.finish();
}

/// Softmax rows as a classifier's loss has them (W3's 128 × 10 logits) and as a wide output
/// (256 × 1000): the log-softmax forward, and the one-pass gradients that autograd's rule calls
/// on every `backward` (`log_softmax_backward`, `softmax_backward`). Throughput counts elements.
fn softmax_rows(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut group = c.benchmark_group("softmax_rows_f32");
    group.sample_size(50);
    for (rows, cols) in [(128, 10), (256, 1000)] {
        let x = Tensor::<f32>::rand_normal([rows, cols], 0.0, 1.0, &mut rng);
        let g = Tensor::<f32>::rand_normal([rows, cols], 0.0, 1.0, &mut rng);
        let (log_p, p) = (x.log_softmax(1), x.softmax(1));
        group.throughput(Throughput::Elements((rows * cols) as u64));
        group.bench_function(format!("log_softmax/{rows}x{cols}"), |bench| {
            bench.iter(|| x.log_softmax(1))
        });
        group.bench_function(format!("log_softmax_backward/{rows}x{cols}"), |bench| {
            bench.iter(|| log_p.log_softmax_backward(&g, 1))
        });
        group.bench_function(format!("softmax_backward/{rows}x{cols}"), |bench| {
            bench.iter(|| p.softmax_backward(&g, 1))
        });
    }
    group.finish();
}

criterion_group!(benches, w5, transposed_copy, softmax_rows);
criterion_main!(benches);
