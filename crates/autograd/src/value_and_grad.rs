//! One training step's worth of autodiff: record a function on a fresh tape, differentiate the
//! loss it returns, and drop the tape before handing back the loss value and the gradients.
//!
//! Why a function and not a habit: a tape's leaves share their storage with the parameters, and
//! so does every var kept from the forward pass (a `loss` kept for logging, `logits` kept for an
//! accuracy). An in-place update of a parameter whose storage is shared copies the whole tensor
//! first (copy-on-write), silently, every step. Here the tape and its vars cannot outlive the
//! call: the loss comes back as a number, extra outputs must be `Send` (which a [`Var`] is not),
//! and the [`Gradients`] hold plain tensors. The optimizer that runs next updates in place.
//!
//! Knowing that the tape is dropped next also lets the backward pass free it as it goes: each
//! op's output is released once its gradient rule has run, so the peak memory of a step does not
//! hold every activation up to the first layer's gradients (PyTorch frees a graph's saved tensors
//! the same way during `backward()`).

use shendu_tensor::Element;

use crate::backward::backward_consuming;
use crate::gradients::Gradients;
use crate::tape::Tape;
use crate::var::Var;

/// Runs `f` on a fresh tape, differentiates the scalar loss it returns with respect to every
/// parameter and leaf it put on the tape, drops the tape, and returns the loss value and the
/// gradients (by [`ParamId`](crate::ParamId) for the parameters entered with
/// [`Tape::param`]). The tape is freed node by node during the backward pass: a var smuggled
/// out of `f` keeps its value, but recording an op on it or differentiating it panics.
///
/// ```
/// use shendu_autograd::{value_and_grad, ParamId};
/// use shendu_tensor::Tensor;
///
/// // Fit w in y = w·x to the data by gradient descent.
/// let (id, mut w) = (ParamId::new(), Tensor::from_vec(vec![0.0f64], [1]));
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], [3]);
/// let y = Tensor::from_vec(vec![2.0, 4.0, 6.0], [3]);
/// for _ in 0..50 {
///     let (loss, grads) = value_and_grad(|tape| {
///         let prediction = &tape.param(id, &w) * &tape.constant(x.clone());
///         (&prediction - &tape.constant(y.clone())).square().mean_all()
///     });
///     assert!(loss.is_finite());
///     w.scaled_add_(&grads[id], -0.1);            // in place: no tape holds w any more
/// }
/// assert!((w.item() - 2.0).abs() < 1e-9);
/// ```
#[track_caller]
pub fn value_and_grad<T: Element>(f: impl FnOnce(&Tape<T>) -> Var<T>) -> (T, Gradients<T>) {
    let tape = Tape::new();
    let loss = f(&tape);
    let grads = backward_consuming(&loss);
    (loss.item(), grads)
}

/// [`value_and_grad`] for a function that returns extra values beside its loss, like JAX's
/// `has_aux`: the logits for an accuracy, say, as tensors. The extra values must be `Send`,
/// which keeps vars (and with them the tape) from leaving the call.
///
/// ```
/// use shendu_autograd::{value_and_grad_with_aux, ParamId};
/// use shendu_tensor::Tensor;
///
/// let (id, w) = (ParamId::new(), Tensor::from_vec(vec![1.0f32, -1.0], [2]));
/// let (loss, logits, grads) = value_and_grad_with_aux(|tape| {
///     let logits = tape.param(id, &w).mul_scalar(2.0);
///     (logits.square().sum_all(), logits.value().clone())
/// });
/// assert_eq!(loss, 8.0);
/// assert_eq!(logits.to_vec(), vec![2.0, -2.0]);
/// assert_eq!(grads[id].to_vec(), vec![8.0, -8.0]);
/// ```
#[track_caller]
pub fn value_and_grad_with_aux<T: Element, A: Send>(
    f: impl FnOnce(&Tape<T>) -> (Var<T>, A),
) -> (T, A, Gradients<T>) {
    let tape = Tape::new();
    let (loss, aux) = f(&tape);
    let grads = backward_consuming(&loss);
    (loss.item(), aux, grads)
}
