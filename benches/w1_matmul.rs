//! W1 of the reference workloads (`benches/README.md`): the matrix product C = A·B of square n×n matrices.
//!
//! `cargo bench --bench w1_matmul`. The throughput counts 2n³ "elements" per product, so
//! criterion's `Gelem/s` reads as GFLOP/s. Threads: the global rayon pool (`RAYON_NUM_THREADS=1
//! taskset -c 0 cargo bench ...` for one core). `examples/bench_table.rs` prints the same figures
//! beside NumPy's.

use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use shendu::tensor::{Element, Tensor};

/// Two uniform [0, 1) n×n matrices.
fn operands<T: Element>(n: usize, rng: &mut StdRng) -> (Tensor<T>, Tensor<T>) {
    let (lo, hi) = (T::zero(), T::one());
    (
        Tensor::rand_uniform([n, n], lo, hi, rng),
        Tensor::rand_uniform([n, n], lo, hi, rng),
    )
}

fn flops(n: usize) -> Throughput {
    Throughput::Elements(2 * (n as u64).pow(3))
}

fn w1_f32(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let mut group = c.benchmark_group("w1_matmul_f32");
    for n in [64, 128, 256, 512, 1024, 2048] {
        let (a, b) = operands::<f32>(n, &mut rng);
        group.throughput(flops(n));
        if n >= 1024 {
            // Tens to hundreds of milliseconds per product: few samples of one product each.
            group
                .sampling_mode(SamplingMode::Flat)
                .sample_size(10)
                .measurement_time(Duration::from_secs(8));
        } else {
            group
                .sample_size(20)
                .measurement_time(Duration::from_secs(3));
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter(|| a.matmul(&b))
        });
    }
    group.finish();
}

fn w1_f64_and_transposed(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let mut group = c.benchmark_group("w1_matmul");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));

    let (a, b) = operands::<f64>(1024, &mut rng);
    group.throughput(flops(1024));
    group.bench_function("f64/1024", |bench| bench.iter(|| a.matmul(&b)));

    // Aᵀ·B with Aᵀ a strided view: should match the plain n=512 figure, since the kernel takes
    // strides and nothing is copied.
    let (a, b) = operands::<f32>(512, &mut rng);
    group.throughput(flops(512));
    group.bench_function("f32_at_b/512", |bench| bench.iter(|| a.t().matmul(&b)));
    group.finish();
}

criterion_group!(benches, w1_f32, w1_f64_and_transposed);
criterion_main!(benches);
