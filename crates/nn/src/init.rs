//! Initial values of parameters, each drawn from an explicit RNG: the same seed gives the same
//! model. The names and formulas are PyTorch's `torch.nn.init`.
//!
//! Fans come from a weight's shape `[out, in, …]`: fan_in = in·r and fan_out = out·r, with r the
//! product of the remaining sizes (1 for a matrix).

use rand::Rng;
use shendu_tensor::{Element, IntoShape, Tensor};

use crate::activation::Activation;
use crate::check::fail;

/// Which fan a Kaiming initialisation keeps the variance of: the forward pass's (`In`) or the
/// backward pass's (`Out`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fan {
    /// fan_in: the number of inputs of each output.
    In,
    /// fan_out: the number of outputs of each input.
    Out,
}

/// How to fill a parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// Every element this value.
    Constant(f64),
    /// U(low, high).
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// N(mean, std²).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Xavier/Glorot: U(−b, b) with b = gain·√(6 / (fan_in + fan_out)).
    XavierUniform {
        /// The gain of the activation that follows ([`gain`]).
        gain: f64,
    },
    /// Xavier/Glorot: N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out)).
    XavierNormal {
        /// The gain of the activation that follows ([`gain`]).
        gain: f64,
    },
    /// Kaiming/He: U(−b, b) with b = gain·√(3 / fan).
    KaimingUniform {
        /// The gain of the activation that follows ([`gain`]; √2 for ReLU).
        gain: f64,
        /// The fan whose variance is kept.
        fan: Fan,
    },
    /// Kaiming/He: N(0, σ²) with σ = gain / √fan.
    KaimingNormal {
        /// The gain of the activation that follows ([`gain`]; √2 for ReLU).
        gain: f64,
        /// The fan whose variance is kept.
        fan: Fan,
    },
}

impl Init {
    /// The TensorFlow Playground's weights: U(−0.5, 0.5).
    pub const PLAYGROUND_WEIGHT: Init = Init::Uniform {
        low: -0.5,
        high: 0.5,
    };

    /// The TensorFlow Playground's biases: 0.1.
    pub const PLAYGROUND_BIAS: Init = Init::Constant(0.1);

    /// A tensor of `shape` drawn from this initialisation with `rng`.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use shendu_nn::{gain, Activation, Init};
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let w = Init::XavierUniform { gain: gain(Activation::Tanh) }.tensor::<f32>([4, 6], &mut rng);
    /// let bound = 5.0 / 3.0 * (6.0f32 / 10.0).sqrt();
    /// assert!(w.to_vec().iter().all(|v| v.abs() <= bound));
    /// ```
    #[track_caller]
    pub fn tensor<T: Element>(&self, shape: impl IntoShape, rng: &mut impl Rng) -> Tensor<T> {
        let shape = shape.into_dims();
        let c = T::from_f64_lossy;
        match *self {
            Init::Zeros => Tensor::zeros(shape),
            Init::Constant(v) => Tensor::full(shape, c(v)),
            Init::Uniform { low, high } => Tensor::rand_uniform(shape, c(low), c(high), rng),
            Init::Normal { mean, std } => Tensor::rand_normal(shape, c(mean), c(std), rng),
            Init::XavierUniform { gain } => {
                let (fan_in, fan_out) = fans("XavierUniform", &shape);
                let bound = gain * (6.0 / (fan_in + fan_out) as f64).sqrt();
                Tensor::rand_uniform(shape, c(-bound), c(bound), rng)
            }
            Init::XavierNormal { gain } => {
                let (fan_in, fan_out) = fans("XavierNormal", &shape);
                let std = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
                Tensor::rand_normal(shape, T::zero(), c(std), rng)
            }
            Init::KaimingUniform { gain, fan } => {
                let fan = pick(fans("KaimingUniform", &shape), fan);
                let bound = gain * (3.0 / fan as f64).sqrt();
                Tensor::rand_uniform(shape, c(-bound), c(bound), rng)
            }
            Init::KaimingNormal { gain, fan } => {
                let fan = pick(fans("KaimingNormal", &shape), fan);
                Tensor::rand_normal(shape, T::zero(), c(gain / (fan as f64).sqrt()), rng)
            }
        }
    }
}

/// The recommended gain for an activation, PyTorch's `calculate_gain`: 1 for identity and
/// sigmoid, 5/3 for tanh, √2 for ReLU, √(2 / (1 + slope²)) for leaky ReLU; GELU and softplus
/// (which PyTorch does not list) take ReLU's.
pub fn gain(activation: Activation) -> f64 {
    match activation {
        Activation::Identity | Activation::Sigmoid => 1.0,
        Activation::Tanh => 5.0 / 3.0,
        Activation::Relu | Activation::Gelu | Activation::Softplus => 2f64.sqrt(),
        Activation::LeakyRelu(slope) => (2.0 / (1.0 + slope * slope)).sqrt(),
    }
}

/// (fan_in, fan_out) of a weight of `shape` `[out, in, …]`.
#[track_caller]
fn fans(init: &str, shape: &[usize]) -> (usize, usize) {
    if shape.len() < 2 {
        fail(
            init,
            format!("fans need a shape [out, in, ...] of rank 2 or more, not {shape:?}"),
        );
    }
    let receptive: usize = shape[2..].iter().product();
    let (fan_in, fan_out) = (shape[1] * receptive, shape[0] * receptive);
    if fan_in == 0 || fan_out == 0 {
        fail(init, format!("a shape {shape:?} with a zero fan"));
    }
    (fan_in, fan_out)
}

fn pick((fan_in, fan_out): (usize, usize), fan: Fan) -> usize {
    match fan {
        Fan::In => fan_in,
        Fan::Out => fan_out,
    }
}
