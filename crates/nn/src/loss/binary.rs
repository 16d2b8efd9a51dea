//! Binary cross-entropy, on probabilities and on logits.
//!
//! On probabilities the logarithms are floored at −100, as PyTorch does, so that a probability
//! of exactly 0 or 1 gives a finite loss. On logits the loss is written so that it neither
//! overflows nor cancels for |z| up to 1e4 and beyond, and its gradient σ(z) − t stays finite.

use shendu_autograd::Var;
use shendu_tensor::{Element, Tensor};

use super::{check_same_shape, mask, only_where, Reduction};
use crate::check::fail;

/// max(ln x, −100), with gradient 1/x where ln x > −100 and 0 where the floor holds, x = 0
/// included (ln's own rule would give 0/0 = NaN there). NaN stays NaN.
#[track_caller]
fn floored_ln<T: Element>(x: &Var<T>) -> Var<T> {
    let floor = T::from_f64_lossy(-100.0);
    let nonzero = mask(x, |v| v != T::zero());
    let logs = only_where(&nonzero, x, T::one()).ln();
    let floored = Var::where_cond(&nonzero, &logs, &x.constant(Tensor::scalar(floor)));
    floored.clamp(floor, T::infinity())
}

/// Binary cross-entropy of probabilities `p` against targets `t` in [0, 1], averaged:
/// −[t·ln p + (1 − t)·ln(1 − p)], each logarithm floored at −100 as PyTorch does.
///
/// Prefer [`bce_with_logits`] on a model's raw output: it is exact where σ saturates.
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::loss;
/// use shendu_tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let p = tape.var(Tensor::from_vec(vec![0.5, 0.0], [2]));
/// let t = tape.constant(Tensor::from_vec(vec![1.0, 1.0], [2]));
/// assert_eq!(loss::bce(&p, &t).item(), (2f64.ln() + 100.0) / 2.0);   // ln 0 floored at −100
/// ```
#[track_caller]
pub fn bce<T: Element>(probabilities: &Var<T>, targets: &Var<T>) -> Var<T> {
    Bce::new().loss(probabilities, targets)
}

/// Binary cross-entropy on probabilities, configured, as `torch.nn.BCELoss`.
///
/// A probability outside [0, 1] is a programming error (a model's output given without its
/// sigmoid) and panics, as PyTorch raises; a NaN probability, the sign of a diverging run rather
/// than a mistake, gives a NaN loss, where PyTorch raises. The gradient is the derivative of the
/// value computed: (p − t)/(p(1 − p)) while both logarithms are above the floor, and 0 for the
/// floored term (PyTorch instead divides by max(p(1 − p), 1e-12) throughout). In `f32` it
/// overflows to ±∞ for p (or 1 − p) below about 3e-39, where 1/p does not fit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bce {
    reduction: Reduction,
}

impl Bce {
    /// The mean, as [`bce`].
    pub fn new() -> Self {
        Self::default()
    }

    /// How the terms are combined.
    pub fn reduction(self, reduction: Reduction) -> Self {
        Bce { reduction }
    }

    /// The loss of `probabilities` against `targets` (same shape).
    #[track_caller]
    pub fn loss<T: Element>(&self, probabilities: &Var<T>, targets: &Var<T>) -> Var<T> {
        check_same_shape("bce", probabilities, targets);
        let p = probabilities;
        let outside = p
            .value()
            .to_vec()
            .into_iter()
            .enumerate()
            .find(|&(_, v)| v < T::zero() || v > T::one());
        if let Some((at, v)) = outside {
            fail(
                "bce",
                format!(
                    "probabilities must lie in [0, 1], but element {at} (row-major) of the \
                     output of shape {:?} is {v}; apply a sigmoid, or use bce_with_logits",
                    p.shape()
                ),
            );
        }
        // PyTorch's order: (t − 1)·ln(1 − p) − t·ln p.
        let log_p = floored_ln(p);
        let log_q = floored_ln(&p.neg().add_scalar(T::one()));
        let terms = &(&targets.add_scalar(-T::one()) * &log_q) - &(targets * &log_p);
        self.reduction.reduce(&terms)
    }
}

/// Binary cross-entropy of logits `z` against targets `t` in [0, 1], averaged:
/// −[t·ln σ(z) + (1 − t)·ln(1 − σ(z))], computed without forming σ(z).
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::loss;
/// use shendu_tensor::Tensor;
/// let tape = Tape::<f32>::new();
/// let z = tape.var(Tensor::from_vec(vec![0.0, 1e4, -1e4], [3]));
/// let t = tape.constant(Tensor::from_vec(vec![1.0, 0.0, 0.0], [3]));
/// let l = loss::bce_with_logits(&z, &t);
/// assert!((l.item() - (2f32.ln() + 1e4) / 3.0).abs() < 1e-3);
/// assert_eq!(l.backward()[&z].to_vec(), vec![-0.5 / 3.0, 1.0 / 3.0, 0.0]);  // (σ(z) − t) / 3
/// ```
#[track_caller]
pub fn bce_with_logits<T: Element>(logits: &Var<T>, targets: &Var<T>) -> Var<T> {
    BceWithLogits::new().loss(logits, targets)
}

/// Binary cross-entropy on logits, configured, as `torch.nn.BCEWithLogitsLoss`.
///
/// Each term is t·softplus(−z) + (1 − t)·softplus(z), since −ln σ(z) = softplus(−z) and
/// −ln(1 − σ(z)) = softplus(z). Both terms are non-negative, so nothing cancels, and softplus
/// neither overflows nor loses small values, for any finite z (|z| = 1e4 included). The function
/// is smooth: its gradient is σ(z) − t everywhere, z = 0 included, and so are its higher
/// derivatives (written with max(z, 0) and |z|, the kinks at 0 would give −t there, or a wrong
/// second derivative). PyTorch computes (1 − t)·z − ln σ(z), which cancels for very negative z:
/// there its value carries an absolute error near 1e-16·|z| that this one does not. At z = ±∞
/// the gradient is σ(z) − t, as PyTorch's; the value is NaN for z = +∞ with t = 1 and z = −∞
/// with t = 0 (0·∞), as in PyTorch, and +∞ for z = −∞ with t > 0, the limit, where PyTorch
/// gives NaN.
///
/// The terms are one tape op, [`Var::bce_with_logits`], rather than a composition of nine: the
/// W2 benchmark (a Playground-size step) spent a tenth of its time in the composed form.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BceWithLogits {
    reduction: Reduction,
}

impl BceWithLogits {
    /// The mean, as [`bce_with_logits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// How the terms are combined.
    pub fn reduction(self, reduction: Reduction) -> Self {
        BceWithLogits { reduction }
    }

    /// The loss of `logits` against `targets` (same shape).
    #[track_caller]
    pub fn loss<T: Element>(&self, logits: &Var<T>, targets: &Var<T>) -> Var<T> {
        check_same_shape("bce_with_logits", logits, targets);
        self.reduction.reduce(&logits.bce_with_logits(targets))
    }
}
