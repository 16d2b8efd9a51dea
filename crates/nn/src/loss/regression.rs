//! Losses on the difference d = output − target, element by element: mse, the Playground's
//! ½d², L1, smooth-L1 and Huber.
//!
//! Smooth-L1 and Huber choose between a quadratic and a linear piece with `where_cond`; the
//! linear piece is written |d| = d·sign(d), with the sign a constant, so that its gradient is
//! PyTorch's: ±δ beyond the threshold, ±δ at d = ±∞ too, and NaN at a NaN difference.

use shendu_autograd::Var;
use shendu_tensor::Element;

use super::{check_parameter, check_same_shape, mask, only_where, Reduction};

/// |d| as d·sign(d), its gradient sign(d) with NaN at NaN (PyTorch's for the linear pieces).
#[track_caller]
fn abs_through_sign<T: Element>(d: &Var<T>) -> Var<T> {
    d * &d.constant(d.value().sign())
}

/// Mean squared error, (output − target)² averaged over every element.
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::loss;
/// use shendu_tensor::Tensor;
/// let tape = Tape::<f32>::new();
/// let output = tape.var(Tensor::from_vec(vec![1.0, 3.0], [2]));
/// let target = tape.constant(Tensor::from_vec(vec![0.0, 1.0], [2]));
/// let l = loss::mse(&output, &target);
/// assert_eq!(l.item(), 2.5);                                       // (1 + 4) / 2
/// assert_eq!(l.backward()[&output].to_vec(), vec![1.0, 2.0]);      // (o − t)
/// ```
#[track_caller]
pub fn mse<T: Element>(output: &Var<T>, target: &Var<T>) -> Var<T> {
    Mse::new().loss(output, target)
}

/// Mean squared error, configured: Σ or mean of (output − target)², as `torch.nn.MSELoss`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mse {
    reduction: Reduction,
}

impl Mse {
    /// The mean, as [`mse`].
    pub fn new() -> Self {
        Self::default()
    }

    /// How the squared differences are combined.
    pub fn reduction(self, reduction: Reduction) -> Self {
        Mse { reduction }
    }

    /// The loss of `output` against `target` (same shape).
    #[track_caller]
    pub fn loss<T: Element>(&self, output: &Var<T>, target: &Var<T>) -> Var<T> {
        check_same_shape("mse", output, target);
        self.reduction.reduce(&(output - target).square())
    }
}

/// The Playground's loss, ½(output − target)² averaged over every element: its gradient is
/// (output − target) / n.
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::loss;
/// use shendu_tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let output = tape.var(Tensor::from_vec(vec![0.5, -1.0], [2, 1]));
/// let target = tape.constant(Tensor::from_vec(vec![1.0, 1.0], [2, 1]));
/// assert_eq!(loss::half_squared_error(&output, &target).item(), (0.25 + 4.0) / 4.0);
/// ```
#[track_caller]
pub fn half_squared_error<T: Element>(output: &Var<T>, target: &Var<T>) -> Var<T> {
    HalfSquaredError::new().loss(output, target)
}

/// ½(output − target)², configured. With [`Reduction::Sum`] its gradient is the Playground's
/// per-example error derivative, output − target.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HalfSquaredError {
    reduction: Reduction,
}

impl HalfSquaredError {
    /// The mean, as [`half_squared_error`].
    pub fn new() -> Self {
        Self::default()
    }

    /// How the terms are combined.
    pub fn reduction(self, reduction: Reduction) -> Self {
        HalfSquaredError { reduction }
    }

    /// The loss of `output` against `target` (same shape).
    #[track_caller]
    pub fn loss<T: Element>(&self, output: &Var<T>, target: &Var<T>) -> Var<T> {
        check_same_shape("half_squared_error", output, target);
        let half = T::from_f64_lossy(0.5);
        self.reduction
            .reduce(&(output - target).square().mul_scalar(half))
    }
}

/// Mean absolute error, |output − target| averaged over every element. Its gradient is
/// sign(output − target) / n, 0 where they are equal (and at NaN, as PyTorch).
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::loss;
/// use shendu_tensor::Tensor;
/// let tape = Tape::<f32>::new();
/// let output = tape.var(Tensor::from_vec(vec![1.0, -3.0], [2]));
/// let target = tape.constant(Tensor::zeros([2]));
/// assert_eq!(loss::l1(&output, &target).item(), 2.0);
/// ```
#[track_caller]
pub fn l1<T: Element>(output: &Var<T>, target: &Var<T>) -> Var<T> {
    L1::new().loss(output, target)
}

/// Absolute error, configured, as `torch.nn.L1Loss`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct L1 {
    reduction: Reduction,
}

impl L1 {
    /// The mean, as [`l1`].
    pub fn new() -> Self {
        Self::default()
    }

    /// How the absolute differences are combined.
    pub fn reduction(self, reduction: Reduction) -> Self {
        L1 { reduction }
    }

    /// The loss of `output` against `target` (same shape).
    #[track_caller]
    pub fn loss<T: Element>(&self, output: &Var<T>, target: &Var<T>) -> Var<T> {
        check_same_shape("l1", output, target);
        self.reduction.reduce(&(output - target).abs())
    }
}

/// Smooth L1 with β = 1, averaged: ½d²/β where |d| < β, |d| − ½β elsewhere (d = output − target).
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::loss;
/// use shendu_tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let output = tape.var(Tensor::from_vec(vec![0.5, 3.0], [2]));
/// let target = tape.constant(Tensor::zeros([2]));
/// assert_eq!(loss::smooth_l1(&output, &target).item(), (0.125 + 2.5) / 2.0);
/// ```
#[track_caller]
pub fn smooth_l1<T: Element>(output: &Var<T>, target: &Var<T>) -> Var<T> {
    SmoothL1::new().loss(output, target)
}

/// Smooth L1, configured, as `torch.nn.SmoothL1Loss(beta)`: ½d²/β where |d| < β, |d| − ½β
/// elsewhere. β = 0 is plain [`L1`], as in PyTorch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmoothL1 {
    beta: f64,
    reduction: Reduction,
}

impl Default for SmoothL1 {
    fn default() -> Self {
        SmoothL1 {
            beta: 1.0,
            reduction: Reduction::Mean,
        }
    }
}

impl SmoothL1 {
    /// β = 1 and the mean, as [`smooth_l1`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The threshold β ≥ 0 between the quadratic and the linear piece.
    #[track_caller]
    pub fn beta(self, beta: f64) -> Self {
        check_parameter("SmoothL1::beta", "beta", beta, 0.0, false);
        SmoothL1 { beta, ..self }
    }

    /// How the terms are combined.
    pub fn reduction(self, reduction: Reduction) -> Self {
        SmoothL1 { reduction, ..self }
    }

    /// The loss of `output` against `target` (same shape).
    #[track_caller]
    pub fn loss<T: Element>(&self, output: &Var<T>, target: &Var<T>) -> Var<T> {
        check_same_shape("smooth_l1", output, target);
        let d = output - target;
        if self.beta == 0.0 {
            // The quadratic piece would divide by β = 0; PyTorch takes L1 here too.
            return self.reduction.reduce(&d.abs());
        }
        let beta = T::from_f64_lossy(self.beta);
        let inner = mask(&d, |v| v.abs() < beta);
        let quadratic = only_where(&inner, &d, T::zero())
            .square()
            .mul_scalar(T::from_f64_lossy(0.5 / self.beta));
        let linear = abs_through_sign(&d).add_scalar(T::from_f64_lossy(-0.5 * self.beta));
        self.reduction
            .reduce(&Var::where_cond(&inner, &quadratic, &linear))
    }
}

/// Huber loss with δ = 1, averaged: ½d² where |d| < δ, δ·(|d| − ½δ) elsewhere
/// (d = output − target).
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::loss;
/// use shendu_tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let output = tape.var(Tensor::from_vec(vec![0.5, -3.0], [2]));
/// let target = tape.constant(Tensor::zeros([2]));
/// assert_eq!(loss::huber(&output, &target).item(), (0.125 + 2.5) / 2.0);
/// assert_eq!(loss::huber(&output, &target).backward()[&output].to_vec(), vec![0.25, -0.5]);
/// ```
#[track_caller]
pub fn huber<T: Element>(output: &Var<T>, target: &Var<T>) -> Var<T> {
    Huber::new().loss(output, target)
}

/// Huber loss, configured, as `torch.nn.HuberLoss(delta)`: ½d² where |d| < δ, δ·(|d| − ½δ)
/// elsewhere; it is δ times smooth L1 with β = δ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    delta: f64,
    reduction: Reduction,
}

impl Default for Huber {
    fn default() -> Self {
        Huber {
            delta: 1.0,
            reduction: Reduction::Mean,
        }
    }
}

impl Huber {
    /// δ = 1 and the mean, as [`huber`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The threshold δ > 0 between the quadratic and the linear piece.
    #[track_caller]
    pub fn delta(self, delta: f64) -> Self {
        check_parameter("Huber::delta", "delta", delta, 0.0, true);
        Huber { delta, ..self }
    }

    /// How the terms are combined.
    pub fn reduction(self, reduction: Reduction) -> Self {
        Huber { reduction, ..self }
    }

    /// The loss of `output` against `target` (same shape).
    #[track_caller]
    pub fn loss<T: Element>(&self, output: &Var<T>, target: &Var<T>) -> Var<T> {
        check_same_shape("huber", output, target);
        let d = output - target;
        let delta = T::from_f64_lossy(self.delta);
        let inner = mask(&d, |v| v.abs() < delta);
        let quadratic = only_where(&inner, &d, T::zero())
            .square()
            .mul_scalar(T::from_f64_lossy(0.5));
        let linear = abs_through_sign(&d)
            .add_scalar(T::from_f64_lossy(-0.5 * self.delta))
            .mul_scalar(delta);
        self.reduction
            .reduce(&Var::where_cond(&inner, &quadratic, &linear))
    }
}
