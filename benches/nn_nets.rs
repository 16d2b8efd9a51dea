//! The tape workloads W2 and W3 written as a user of shendu-nn writes them: an `Mlp`, a loss
//! from `loss`, `Module::value_and_grad` and an optimizer. Shared by `benches/nn.rs` and
//! `examples/bench_nn.rs` (included with `#[path]`), and measured beside the raw-tape networks
//! of `mlp.rs`, built from the same seed, so that the difference is the nn layer's cost.

use rand::{rngs::StdRng, Rng};
use shendu::nn::{loss, Activation, Entry, Forward, Mlp, Module, Optimizer, Visit};
use shendu::tensor::{Indices, Tensor};

/// What the loss compares the output with.
pub enum Target {
    /// 0/1 targets of binary cross-entropy with logits (W2).
    Binary(Tensor),
    /// Class indices of softmax cross-entropy (W3).
    Classes(Indices),
}

/// A model, its batch and its optimizer: one training step at a time.
pub struct NnNet<O> {
    pub model: Mlp,
    x: Tensor,
    target: Target,
    pub opt: O,
}

impl<O: Optimizer> NnNet<O> {
    /// W2: 2→8→8→1, tanh, BCE with logits, batch 10, x ~ U(−6, 6), y ∈ {0, 1}.
    pub fn w2(rng: &mut StdRng, opt: O) -> Self {
        let x = Tensor::rand_uniform([10, 2], -6.0, 6.0, rng);
        let y = (0..10).map(|_| rng.random_range(0..2) as f32).collect();
        let model = Mlp::new(&[2, 8, 8, 1], Activation::Tanh, rng);
        let target = Target::Binary(Tensor::from_vec(y, [10, 1]));
        NnNet {
            model,
            x,
            target,
            opt,
        }
    }

    /// W3: 784→256→128→10, relu, softmax cross-entropy, batch 128, x ~ N(0, 1).
    pub fn w3(rng: &mut StdRng, opt: O) -> Self {
        let x = Tensor::rand_normal([128, 784], 0.0, 1.0, rng);
        let labels = (0..128).map(|_| rng.random_range(0..10)).collect();
        let model = Mlp::new(&[784, 256, 128, 10], Activation::Relu, rng);
        let target = Target::Classes(Indices::from_vec(labels, [128]));
        NnNet {
            model,
            x,
            target,
            opt,
        }
    }

    /// One step: record forward and loss, differentiate, drop the tape, update in place.
    pub fn step(&mut self) -> f32 {
        let (x, target) = (&self.x, &self.target);
        let (loss, grads) = self.model.value_and_grad(|tape, model| {
            let out = model.forward(&tape.constant(x.clone()));
            match target {
                Target::Binary(y) => loss::bce_with_logits(&out, &tape.constant(y.clone())),
                Target::Classes(labels) => loss::cross_entropy(&out, labels),
            }
        });
        self.opt.step(&mut self.model, &grads);
        loss
    }

    /// Inference on the batch (W4): the model's forward with nothing recorded.
    pub fn predict(&self) -> Tensor {
        self.model.predict(&self.x)
    }

    /// Steps once and panics if any parameter moved to new storage (a copy-on-write copy).
    pub fn assert_steps_in_place(&mut self) {
        let addresses = |model: &Mlp| {
            let mut addresses = Vec::new();
            model.visit(&mut Visit::new(&mut |_, entry| {
                if let Entry::Param(p) = entry {
                    addresses.push(p.value().data_ptr() as usize);
                }
            }));
            addresses
        };
        let before = addresses(&self.model);
        self.step();
        assert_eq!(addresses(&self.model), before, "a step copied a parameter");
    }
}
