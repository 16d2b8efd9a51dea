//! Gradient clipping, between the backward pass and the optimizer's step: by the joint L2 norm of
//! all parameters' gradients (PyTorch's `clip_grad_norm_`) or elementwise by value
//! (`clip_grad_value_`). Both scale or clamp the gradients in place.

use shendu_autograd::Gradients;
use shendu_tensor::{Element, Tensor};

use super::check_at_least_zero;

/// Scales every parameter's gradient by `max_norm / (‖g‖ + 1e-6)` when that factor is below 1,
/// where ‖g‖ is the L2 norm of all the gradients together, and returns ‖g‖ before clipping, as
/// PyTorch's `clip_grad_norm_` (norm type 2). ‖g‖ is PyTorch's norm of the per-parameter norms,
/// each accumulated in f64 (PyTorch computes in the gradients' type; for f32 this is more
/// accurate, for f64 the same formula).
///
/// A non-finite norm behaves as PyTorch's default (`error_if_nonfinite=False`): the factor is
/// NaN (a NaN norm) or 0 (an infinite one) and is applied, so the gradients become NaN or 0.
/// To skip such a step instead, as PyTorch's `error_if_nonfinite=True` or a loss scaler would,
/// test the returned norm with `is_finite()` before stepping.
///
/// Panics, naming the caller's line, if `max_norm` is negative or not finite.
///
/// ```
/// use shendu_autograd::value_and_grad;
/// use shendu_nn::clip_grad_norm;
/// use shendu_tensor::Tensor;
///
/// let w = shendu_nn::Param::new(Tensor::from_vec(vec![3.0f64, 4.0], [2]));
/// // The gradient of ½‖w‖² is w: norm 5.
/// let (_, mut grads) = value_and_grad(|tape| w.on(tape).square().sum_all() * 0.5);
/// assert_eq!(clip_grad_norm(&mut grads, 1.0), 5.0);
/// let g = grads.param(w.id()).unwrap().to_vec();
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// ```
#[track_caller]
pub fn clip_grad_norm<T: Element>(grads: &mut Gradients<T>, max_norm: f64) -> f64 {
    check_at_least_zero("clip_grad_norm", "max_norm", max_norm);
    let total = grads
        .iter()
        .map(|(_, g)| {
            let n = l2_norm(g);
            n * n
        })
        .sum::<f64>()
        .sqrt();
    let factor = max_norm / (total + 1e-6);
    // A factor of 1 or more leaves the gradients as they are (PyTorch multiplies by the factor
    // clamped to 1, which changes nothing); NaN is applied, as PyTorch does.
    if factor < 1.0 || factor.is_nan() {
        let factor = Tensor::scalar(T::from_f64_lossy(factor));
        for (_, g) in grads.iter_mut() {
            g.mul_(&factor);
        }
    }
    total
}

/// The L2 norm of `t`'s elements, accumulated in f64 in row-major order.
fn l2_norm<T: Element>(t: &Tensor<T>) -> f64 {
    let sum_squares = |xs: &[T]| {
        xs.iter()
            .map(|&x| {
                let x = x.to_f64_exact();
                x * x
            })
            .sum::<f64>()
    };
    match t.as_slice() {
        Some(xs) => sum_squares(xs),
        None => sum_squares(&t.to_vec()),
    }
    .sqrt()
}

/// Clamps every element of every parameter's gradient to [−clip, clip], in place, as PyTorch's
/// `clip_grad_value_`. NaN stays NaN.
///
/// Panics, naming the caller's line, if `clip` is negative or not finite.
///
/// ```
/// use shendu_autograd::value_and_grad;
/// use shendu_nn::clip_grad_value;
/// use shendu_tensor::Tensor;
///
/// let w = shendu_nn::Param::new(Tensor::from_vec(vec![-3.0f64, 0.25, 4.0], [3]));
/// let (_, mut grads) = value_and_grad(|tape| w.on(tape).square().sum_all() * 0.5);
/// clip_grad_value(&mut grads, 1.0);
/// assert_eq!(grads.param(w.id()).unwrap().to_vec(), vec![-1.0, 0.25, 1.0]);
/// ```
#[track_caller]
pub fn clip_grad_value<T: Element>(grads: &mut Gradients<T>, clip: f64) {
    check_at_least_zero("clip_grad_value", "clip", clip);
    let bound = Tensor::scalar(T::from_f64_lossy(clip));
    for (_, g) in grads.iter_mut() {
        g.zip_mut_with(&bound, [], |x, c, []| {
            // Comparisons with NaN are false: NaN passes through unchanged.
            if *x > c {
                *x = c;
            } else if *x < -c {
                *x = -c;
            }
        });
    }
}
