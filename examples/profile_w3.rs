//! Where a W3 training step's time goes: the 784→256→128→10 ReLU MLP with softmax cross-entropy
//! and SGD (lr 0.01), batch 128, f32, written with nn as users write it, profiled op by op with
//! `shendu::autograd::profile`, then its matrix products set against their floor.
//!
//! cargo run --release --example profile_w3 -- [--threads N] [--steps S]
//!
//! The floor of a product is its `2·m·k·n` flops at the GFLOP/s the same shape reaches alone
//! (W1's measure: `Tensor::matmul` of contiguous operands, the median of 7 repetitions): the
//! step's eight products are the three layers' forward, their three weight gradients and the
//! input gradients of the last two layers. What the profile shows beyond the products is the
//! rest of the step: elementwise ops, the loss, reductions, copies, the tape and the update.

use rand::{rngs::StdRng, Rng, SeedableRng};
use shendu::autograd::profile;
use shendu::nn::{loss, Activation, Forward, Mlp, Module, Optimizer, Sgd};
use shendu::tensor::{Indices, Tensor};

#[path = "../benches/machine.rs"]
mod machine;
#[path = "../benches/timing.rs"]
mod timing;

/// The command line, for `--help` and for an unknown flag.
const USAGE: &str = "profile_w3 [--threads N] [--steps S]";

fn main() {
    let (mut threads, mut steps) = (1usize, 200usize);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("usage: {USAGE}");
            return;
        }
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--threads" => threads = value.parse().expect("--threads N"),
            "--steps" => steps = value.parse().expect("--steps S"),
            _ => panic!("unknown flag {flag}: {USAGE}"),
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool");
    pool.install(|| run(threads, steps));
}

/// How a product's operands are stored.
#[derive(Clone, Copy)]
enum Layout {
    Contiguous,
    /// A is a transposed view (a weight's gradient, gᵀ·x).
    ATransposed,
    /// B is a transposed view (the forward, x·Wᵀ).
    BTransposed,
}

fn run(threads: usize, steps: usize) {
    let mut rng = StdRng::seed_from_u64(0);
    let x = Tensor::<f32>::rand_normal([128, 784], 0.0, 1.0, &mut rng);
    let labels = Indices::from_vec((0..128).map(|_| rng.random_range(0..10)).collect(), [128]);
    let mut model = Mlp::<f32>::new(&[784, 256, 128, 10], Activation::Relu, &mut rng);
    let mut sgd = Sgd::new(0.01);
    let mut step = || {
        let (loss, grads) = model.value_and_grad(|tape, model| {
            loss::cross_entropy(&model.forward(&tape.constant(x.clone())), &labels)
        });
        sgd.step(&mut model, &grads);
        loss
    };
    for _ in 0..50 {
        step();
    }
    let (_, report) = profile(|| {
        for _ in 0..steps {
            step();
        }
    });
    let per_step = |d: std::time::Duration| d.as_secs_f64() * 1e3 / steps as f64;
    println!("# {}", machine::describe(shendu::tensor::matmul_simd()));
    println!(
        "# W3 step with nn and Sgd, batch 128, f32, {threads} thread(s); {steps} steps profiled, \
         times per step"
    );
    println!(
        "{:<16}{:>8}{:>14}{:>14}",
        "op", "calls", "forward ms", "backward ms"
    );
    let mut ops = report.ops.clone();
    ops.sort_by_key(|o| std::cmp::Reverse(o.forward + o.backward));
    for o in &ops {
        println!(
            "{:<16}{:>8.1}{:>14.4}{:>14.4}",
            o.op,
            o.calls as f64 / steps as f64,
            per_step(o.forward),
            per_step(o.backward)
        );
    }
    let step_ms = per_step(report.wall);
    println!(
        "{:<16}{:>8}{:>14.4}{:>14.4}",
        "all ops",
        "",
        per_step(report.forward()),
        per_step(report.backward())
    );
    println!(
        "{:<16}{:>8}{:>14.4}   (the update and the loop)",
        "outside ops",
        "",
        per_step(report.outside())
    );
    println!("{:<16}{:>8}{:>14.4}", "step", "", step_ms);

    // The products' floor, each shape measured alone, with contiguous operands and with the
    // operands laid out as the step has them: the forward reads Wᵀ as a transposed view of the
    // [out, in] weight, a weight's gradient is gᵀ·x with gᵀ a transposed view, an input's
    // gradient g·W reads both contiguous.
    let shapes: [(&str, usize, usize, usize, Layout); 8] = [
        ("fwd  x·W1ᵀ", 128, 784, 256, Layout::BTransposed),
        ("fwd  h1·W2ᵀ", 128, 256, 128, Layout::BTransposed),
        ("fwd  h2·W3ᵀ", 128, 128, 10, Layout::BTransposed),
        ("dW3  gᵀ·h2", 10, 128, 128, Layout::ATransposed),
        ("dh2  g·W3", 128, 10, 128, Layout::Contiguous),
        ("dW2  gᵀ·h1", 128, 128, 256, Layout::ATransposed),
        ("dh1  g·W2", 128, 128, 256, Layout::Contiguous),
        ("dW1  gᵀ·x", 256, 128, 784, Layout::ATransposed),
    ];
    println!();
    println!(
        "{:<14}{:>16}{:>12}{:>12}{:>14}{:>12}",
        "product", "m×k×n", "GFLOP/s", "floor ms", "as in step", "ms"
    );
    let (mut floor, mut laid_out) = (0.0, 0.0);
    for (label, m, k, n, layout) in shapes {
        let a = Tensor::<f32>::rand_normal([m, k], 0.0, 1.0, &mut StdRng::seed_from_u64(1));
        let b = Tensor::<f32>::rand_normal([k, n], 0.0, 1.0, &mut StdRng::seed_from_u64(2));
        let flops = 2.0 * (m * k * n) as f64;
        let seconds = timing::samples(|| a.matmul(&b), 0.05, 7)[3];
        // The same values, stored the other way round and viewed back.
        let (a2, b2) = match layout {
            Layout::Contiguous => (a.clone(), b.clone()),
            Layout::ATransposed => (a.t().contiguous().t(), b.clone()),
            Layout::BTransposed => (a.clone(), b.t().contiguous().t()),
        };
        let in_step = timing::samples(|| a2.matmul(&b2), 0.05, 7)[3];
        floor += seconds;
        laid_out += in_step;
        println!(
            "{label:<14}{:>16}{:>12.1}{:>12.4}{:>14.1}{:>12.4}",
            format!("{m}×{k}×{n}"),
            flops / seconds / 1e9,
            seconds * 1e3,
            flops / in_step / 1e9,
            in_step * 1e3
        );
    }
    println!(
        "{:<14}{:>16}{:>12}{:>12.4}{:>14}{:>12.4}",
        "all eight",
        "",
        "",
        floor * 1e3,
        "",
        laid_out * 1e3
    );
    // nn's Linear records one `linear` node (product, bias and their rules), or with the ReLU
    // that follows it in an Mlp one `linear_relu` node; a model written with `matmul` records
    // `matmul` nodes. Either way, these are the step's products.
    let products: f64 = ["linear", "linear_relu", "matmul"]
        .iter()
        .filter_map(|name| report.op(name))
        .map(|o| per_step(o.forward + o.backward))
        .sum();
    println!();
    println!(
        "products in the step: {products:.4} ms (the linear, linear_relu and matmul nodes' \
         forward and backward, bias, ReLU and accumulation included); floor {:.4} ms: {:.2}× the floor, {:.2}× \
         the products laid out as in the step",
        floor * 1e3,
        products / (floor * 1e3),
        products / (laid_out * 1e3)
    );
    println!(
        "the rest of the step: {:.4} ms of {step_ms:.4} ({:.0}%)",
        step_ms - products,
        100.0 * (step_ms - products) / step_ms
    );
}
