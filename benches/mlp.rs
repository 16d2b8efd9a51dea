//! The MLP of the tape workloads (W2, W3, W4), shared by `benches/w2_w3_tape.rs` and
//! `examples/bench_tape.rs`: plain parameter tensors, a forward pass of `Var` ops, a loss, and a
//! plain SGD step. Included by both with `#[path]`, since a bench and an example share no crate.

use std::time::Instant;

use rand::{rngs::StdRng, Rng};
use shendu::tensor::{Indices, Tensor};
use shendu_autograd::{Tape, Var};

/// An MLP as plain tensors `[w1, b1, w2, b2, …]`, with its data and its training settings.
/// Weights are `[out, in]` and start U(−1/√in, 1/√in), as in `torch.nn.Linear`.
pub struct Net {
    pub params: Vec<Tensor>,
    x: Tensor,
    target: Target,
    act: fn(&Var) -> Var,
    lr: f32,
}

/// What the loss compares the output with.
enum Target {
    /// 0/1 targets of binary cross-entropy with logits.
    Binary(Tensor),
    /// Class indices of softmax cross-entropy, `[batch, 1]`.
    Classes(Indices),
}

impl Target {
    /// The loss of `out` against this target, recorded on `out`'s tape.
    fn loss(&self, out: &Var) -> Var {
        match self {
            // mean(softplus(z) − y·z); softplus is stable for any z.
            Target::Binary(y) => (out.softplus() - &(out * &out.constant(y.clone()))).mean_all(),
            Target::Classes(labels) => -out.log_softmax(-1).gather(1, labels).mean_all(),
        }
    }
}

impl Net {
    /// Fresh parameters for layer widths `sizes`.
    pub fn init(sizes: &[usize], rng: &mut StdRng) -> Vec<Tensor> {
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
    pub fn w2(rng: &mut StdRng) -> Net {
        let x = Tensor::rand_uniform([10, 2], -6.0, 6.0, rng);
        let y = Tensor::from_vec(
            (0..10).map(|_| rng.random_range(0..2) as f32).collect(),
            [10, 1],
        );
        let params = Net::init(&[2, 8, 8, 1], rng);
        Net {
            params,
            x,
            target: Target::Binary(y),
            act: Var::tanh,
            lr: 0.03,
        }
    }

    /// W3: 784→256→128→10, relu, softmax cross-entropy, batch 128, x ~ N(0, 1), lr 0.01.
    pub fn w3(rng: &mut StdRng) -> Net {
        let x = Tensor::rand_normal([128, 784], 0.0, 1.0, rng);
        let labels = (0..128).map(|_| rng.random_range(0..10)).collect();
        let labels = Indices::from_vec(labels, [128, 1]);
        let params = Net::init(&[784, 256, 128, 10], rng);
        Net {
            params,
            x,
            target: Target::Classes(labels),
            act: Var::relu,
            lr: 0.01,
        }
    }

    /// The batch of a binary-target network (W2): inputs and 0/1 targets.
    pub fn binary_batch(&self) -> Option<(&Tensor, &Tensor)> {
        match &self.target {
            Target::Binary(y) => Some((&self.x, y)),
            Target::Classes(_) => None,
        }
    }

    /// The network's output for `params` (vars or constants) on `x`.
    pub fn forward(&self, params: &[Var], x: &Var) -> Var {
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
    pub fn record(&self, tape: &Tape) -> (Vec<Var>, Var) {
        let vars: Vec<Var> = self.params.iter().map(|p| tape.var(p.clone())).collect();
        let out = self.forward(&vars, &tape.constant(self.x.clone()));
        let loss = self.target.loss(&out);
        (vars, loss)
    }

    /// SGD in place. The tape is gone by now, so each parameter owns its storage alone and
    /// `scaled_add_` writes into it without a copy.
    pub fn update(&mut self, grads: &[Tensor]) {
        for (p, g) in self.params.iter_mut().zip(grads) {
            p.scaled_add_(g, -self.lr);
        }
    }

    /// One training step; returns the seconds of [forward + loss, backward + freeing the tape].
    pub fn step(&mut self) -> [f64; 2] {
        let t0 = Instant::now();
        let (grads, t1) = {
            let tape = Tape::new();
            let (vars, loss) = self.record(&tape);
            let t1 = Instant::now();
            let grads = loss.backward();
            (
                vars.iter().map(|v| grads[v].clone()).collect::<Vec<_>>(),
                t1,
            )
        };
        let t2 = Instant::now();
        self.update(&grads);
        [(t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64()]
    }

    /// Inference: the forward pass with the parameters as constants (nothing is recorded).
    pub fn infer(&self) -> Tensor {
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
