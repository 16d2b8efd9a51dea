#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
//!
//! ## The umbrella crate
//!
//! This umbrella crate re-exports the workspace's crates; most programs need only the prelude:
//!
//! ```
//! use shendu::prelude::*;
//! let t = Tensor::from_vec(vec![1.0f32, -2.0], [2]).relu();
//! assert_eq!(t.to_vec(), vec![1.0, 0.0]);
//! ```

pub use shendu_autograd as autograd;
pub use shendu_nn as nn;
pub use shendu_tensor as tensor;

/// The names most programs use, with the seeded RNG every random op takes.
pub mod prelude {
    pub use rand::{rngs::StdRng, SeedableRng};
    pub use shendu_autograd::{
        gradcheck, gradgradcheck, value_and_grad, value_and_grad_with_aux, CustomOp, Gradients,
        ParamId, Tape, Var,
    };
    pub use shendu_nn::data::{self, playground, DataLoader, Dataset, Standardizer, TensorDataset};
    pub use shendu_nn::{
        loss, metrics, Activation, Adagrad, Adam, AdamW, BatchNorm1d, Checkpoint, Dropout,
        Embedding, Forward, Init, LayerNorm, Linear, LrScheduler, Mlp, Module, Optimizer, Param,
        ParamGroup, RMSprop, Sequential, Sgd, StateDict,
    };
    pub use shendu_tensor::{Correction, Element, Indices, Tensor};
}
