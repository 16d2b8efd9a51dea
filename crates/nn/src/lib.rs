#![warn(missing_docs)]
//! shendu-nn: models, losses and optimizers for shendu, trained through the tape.
//!
//! A model is a [`Module`]: layers ([`Linear`], [`Sequential`], [`Mlp`], [`Activation`]) or a
//! struct of your own, whose [`Param`]s enter each step's tape under their stable ids. A training
//! step is [`Module::value_and_grad`], which records the loss on a fresh tape, differentiates it
//! and drops the tape, then an [`Optimizer`] that updates the parameters in place. Every
//! gradient comes from the tape; nothing here is hand-written backprop.
//!
//! ```
//! use rand::{rngs::StdRng, SeedableRng};
//! use shendu_nn::{Activation, Forward, Mlp, Module, Optimizer, Sgd};
//! use shendu_tensor::Tensor;
//!
//! // XOR: a linear model cannot, one hidden layer can.
//! let x = Tensor::from_vec(vec![0.0f64, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], [4, 2]);
//! let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], [4, 1]);
//! let mut rng = StdRng::seed_from_u64(1);
//! let mut model = Mlp::new(&[2, 8, 1], Activation::Tanh, &mut rng);
//! let mut opt = Sgd::new(0.1);
//! for _ in 0..500 {
//!     let (_loss, grads) = model.value_and_grad(|tape, model| {
//!         let out = model.forward(&tape.constant(x.clone()));
//!         (&out - &tape.constant(y.clone())).square().mean_all()
//!     });
//!     opt.step(&mut model, &grads);
//! }
//! let out = model.predict(&x).to_vec();
//! assert!(out[0] < 0.5 && out[1] > 0.5 && out[2] > 0.5 && out[3] < 0.5, "{out:?}");
//! ```

mod activation;
mod batch_norm;
mod check;
pub mod checkpoint;
pub mod data;
mod dropout;
mod embedding;
mod init;
mod layer_norm;
mod linear;
pub mod loss;
pub mod metrics;
mod mlp;
mod module;
pub mod optim;
mod param;
mod sequential;

pub use activation::Activation;
pub use batch_norm::BatchNorm1d;
pub use checkpoint::{Checkpoint, CheckpointError, StateDict};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use init::{gain, Fan, Init};
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use metrics::{ConfusionMatrix, RunningMean};
pub use mlp::Mlp;
pub use module::{Entry, EntryMut, Forward, Module, Visit, VisitMut};
pub use optim::{
    clip_grad_norm, clip_grad_value, Adagrad, Adam, AdamW, CosineAnnealingLr, ExponentialLr,
    LinearWarmup, LrSchedule, LrScheduler, Optimizer, ParamGroup, RMSprop, Sgd, StepLr,
};
pub use param::Param;
pub use sequential::Sequential;
