//! W2, W3 and W4 of `../shared/bench/WORKLOADS.md` on the autograd tape: one SGD step of an MLP
//! recorded on a fresh `Tape` (W2, W3), the forward pass alone (W3), and inference (W4).
//!
//! `cargo bench --bench w2_w3_tape`. Threads: the global rayon pool (`RAYON_NUM_THREADS=1
//! taskset -c 0 cargo bench ...` for one core, as W2 is measured). `examples/bench_tape.rs`
//! prints the same figures beside PyTorch's, with the backward/forward split and peak memory.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{rngs::StdRng, Rng, SeedableRng};
use shendu::tensor::Tensor;
use shendu_autograd::{Tape, Var};

/// An MLP as plain tensors `[w1, b1, w2, b2, …]` (weights `[out, in]`, U(−1/√in, 1/√in) as in
/// `torch.nn.Linear`), with its batch and its training settings.
struct Net {
    params: Vec<Tensor>,
    x: Tensor,
    target: Tensor,
    act: fn(&Var) -> Var,
    loss: fn(&Var, &Var) -> Var,
    lr: f32,
}

/// Binary cross-entropy with logits, mean(softplus(z) − y·z); softplus is stable for any z.
fn bce_with_logits(z: &Var, y: &Var) -> Var {
    (z.softplus() - &(z * y)).mean_all()
}

/// Softmax cross-entropy on class indices (`labels`: `[batch, 1]`, whole numbers as floats).
fn cross_entropy(logits: &Var, labels: &Var) -> Var {
    -logits.log_softmax(-1).gather(1, labels).mean_all()
}

impl Net {
    fn init(sizes: &[usize], rng: &mut StdRng) -> Vec<Tensor> {
        sizes
            .windows(2)
            .flat_map(|io| {
                let bound = 1.0 / (io[0] as f32).sqrt();
                [
                    Tensor::rand_uniform([io[1], io[0]], -bound, bound, rng),
                    Tensor::rand_uniform([io[1]], -bound, bound, rng),
                ]
            })
            .collect()
    }

    /// W2: 2→8→8→1, tanh, BCE with logits, batch 10, x ~ U(−6, 6), y ∈ {0, 1}, lr 0.03.
    fn w2(rng: &mut StdRng) -> Net {
        let x = Tensor::rand_uniform([10, 2], -6.0, 6.0, rng);
        let y = (0..10).map(|_| rng.random_range(0..2) as f32).collect();
        let target = Tensor::from_vec(y, [10, 1]);
        let params = Net::init(&[2, 8, 8, 1], rng);
        Net {
            params,
            x,
            target,
            act: Var::tanh,
            loss: bce_with_logits,
            lr: 0.03,
        }
    }

    /// W3: 784→256→128→10, relu, softmax cross-entropy, batch 128, x ~ N(0, 1), lr 0.01.
    fn w3(rng: &mut StdRng) -> Net {
        let x = Tensor::rand_normal([128, 784], 0.0, 1.0, rng);
        let labels = (0..128).map(|_| rng.random_range(0..10) as f32).collect();
        let target = Tensor::from_vec(labels, [128, 1]);
        let params = Net::init(&[784, 256, 128, 10], rng);
        Net {
            params,
            x,
            target,
            act: Var::relu,
            loss: cross_entropy,
            lr: 0.01,
        }
    }

    fn forward(&self, params: &[Var], x: &Var) -> Var {
        let layers = params.len() / 2;
        params.chunks(2).enumerate().fold(x.clone(), |h, (i, wb)| {
            let z = &h.matmul(&wb[0].t()) + &wb[1];
            if i + 1 < layers {
                (self.act)(&z)
            } else {
                z
            }
        })
    }

    /// Forward and loss recorded on `tape`: the parameter vars and the loss.
    fn record(&self, tape: &Tape) -> (Vec<Var>, Var) {
        let vars: Vec<Var> = self.params.iter().map(|p| tape.var(p.clone())).collect();
        let out = self.forward(&vars, &tape.constant(self.x.clone()));
        let loss = (self.loss)(&out, &tape.constant(self.target.clone()));
        (vars, loss)
    }

    /// One SGD step. The tape is dropped before the update, so each parameter owns its storage
    /// alone and `scaled_add_` writes into it without a copy.
    fn step(&mut self) {
        let grads: Vec<Tensor> = {
            let tape = Tape::new();
            let (vars, loss) = self.record(&tape);
            let grads = loss.backward();
            vars.iter().map(|v| grads[v].clone()).collect()
        };
        for (p, g) in self.params.iter_mut().zip(&grads) {
            p.scaled_add_(g, -self.lr);
        }
    }

    /// The forward pass with the parameters as constants: nothing is recorded.
    fn infer(&self) -> Tensor {
        let tape = Tape::new();
        let params: Vec<Var> = self
            .params
            .iter()
            .map(|p| tape.constant(p.clone()))
            .collect();
        self.forward(&params, &tape.constant(self.x.clone()))
            .value()
            .clone()
    }
}

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
