//! Losses: the scalar a training step differentiates, composed from the tape's ops so that
//! their gradients (and gradients of gradients) come from the ops' own rules.
//!
//! Each loss has two forms. The function (`loss::mse(&output, &target)`) takes PyTorch's defaults
//! and returns the **mean**. The struct of the same name (`loss::Mse`) is the loss configured:
//! built with `new()` (the same defaults), then its options set by methods, and applied by
//! `loss(..)`. This is `torch.nn.functional.mse_loss` beside `torch.nn.MSELoss`:
//!
//! ```
//! use shendu_autograd::Tape;
//! use shendu_nn::loss::{self, Reduction};
//! use shendu_tensor::{Indices, Tensor};
//!
//! let tape = Tape::<f64>::new();
//! let logits = tape.var(Tensor::from_vec(vec![2.0, 0.0, 0.0, 1.0, 3.0, 0.0], [2, 3]));
//! let labels = Indices::from_vec(vec![0, 1], [2]);
//! let mean = loss::cross_entropy(&logits, &labels);
//! let smoothed = loss::CrossEntropy::new()
//!     .label_smoothing(0.1)
//!     .reduction(Reduction::Sum)
//!     .loss(&logits, &labels);
//! assert!(mean.item() > 0.0 && smoothed.item() > 2.0 * mean.item());
//! let grads = smoothed.backward();
//! assert_eq!(grads[&logits].shape(), &[2, 3]);
//! ```
//!
//! Why a struct rather than `_with` functions: the options differ by loss (Huber's δ, smooth-L1's
//! β, cross-entropy's label smoothing and class weights), so one struct per loss lets the type
//! checker refuse an option a loss does not have, names each option at the call site, and a
//! configured loss (class weights included) can be kept and reused for every batch. Every struct
//! takes its [`Reduction`] the same way. A `_with` suffix would also have collided with
//! `bce_with_logits`.
//!
//! Output and target must have the same shape (no broadcasting, where PyTorch broadcasts with a
//! warning): a mismatch is a programming error, and panics naming the loss, both shapes and the
//! caller's line. L1 and L2 penalties over a model's weights are in [`l1_penalty`] and
//! [`l2_penalty`].

mod binary;
mod classes;
mod penalty;
mod regression;

use shendu_autograd::Var;
use shendu_tensor::{Element, Tensor};

use crate::check::fail;

pub use binary::{bce, bce_with_logits, Bce, BceWithLogits};
pub use classes::{cross_entropy, nll, CrossEntropy, Nll};
pub use penalty::{is_weight, l1_penalty, l2_penalty};
pub use regression::{
    half_squared_error, huber, l1, mse, smooth_l1, HalfSquaredError, Huber, Mse, SmoothL1, L1,
};

/// How a loss turns its per-element (or per-sample) terms into one scalar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// The mean of the terms (PyTorch's default); for class-weighted losses, the weighted mean
    /// Σ wᵢ·lᵢ / Σ wᵢ. The mean of no terms is NaN, as in PyTorch.
    #[default]
    Mean,
    /// The sum of the terms.
    Sum,
}

impl Reduction {
    /// The terms reduced to a rank-0 var.
    #[track_caller]
    fn reduce<T: Element>(self, terms: &Var<T>) -> Var<T> {
        match self {
            Reduction::Mean => terms.mean_all(),
            Reduction::Sum => terms.sum_all(),
        }
    }
}

/// Panics unless `output` and `target` have the same shape: losses compare them element by
/// element.
#[track_caller]
fn check_same_shape<T: Element>(loss: &str, output: &Var<T>, target: &Var<T>) {
    if output.shape() != target.shape() {
        fail(
            loss,
            format!(
                "output of shape {:?} and target of shape {:?} differ; a loss compares them \
                 element by element and does not broadcast",
                output.shape(),
                target.shape()
            ),
        );
    }
}

/// A constant 0/1 mask of `x`'s shape: 1 where `keep` holds for the element.
fn mask<T: Element>(x: &Var<T>, keep: impl Fn(T) -> bool + Sync) -> Var<T> {
    x.constant(
        x.value()
            .map(|v| if keep(v) { T::one() } else { T::zero() }),
    )
}

/// `x` where `mask` is 1 and the constant `fill` elsewhere: the input of a branch of a
/// `where_cond` that `mask` selects. The branch's gradient at the elements it does not select is
/// then taken at `fill`, a harmless point, instead of at `x`, where it could be ∞ and turn the
/// zero gradient `where_cond` sends there into ∞·0 = NaN.
#[track_caller]
fn only_where<T: Element>(mask: &Var<T>, x: &Var<T>, fill: T) -> Var<T> {
    Var::where_cond(mask, x, &x.constant(Tensor::scalar(fill)))
}

/// Panics unless `value` is finite and at least `min` (or more than `min` if `strict`).
#[track_caller]
fn check_parameter(what: &str, name: &str, value: f64, min: f64, strict: bool) {
    let ok = value.is_finite() && if strict { value > min } else { value >= min };
    if !ok {
        let bound = if strict { ">" } else { "≥" };
        fail(
            what,
            format!("{name} must be finite and {bound} {min}, not {value}"),
        );
    }
}
