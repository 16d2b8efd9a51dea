//! Reductions: over one axis or several (with `keepdim`), over the whole tensor, and the
//! softmax family along an axis with its gradients.
//!
//! Every reduction permutes the folded axes to the back and hands the view to one kernel
//! (`cpu::reduce`), whose fixed blocking makes results identical for any thread count. Maximum
//! and minimum propagate NaN; `argmax`/`argmin` return the first position of the extreme value.

use crate::check::{fail, fmt_shape};
use crate::cpu::reduce::{arg_best, reduce, reduce_small_run, softmax_backward_rows, softmax_rows};
use crate::cpu::PAR_MIN;
use crate::element::Element;
use crate::indices::Indices;
use crate::layout::Layout;
use crate::shape::{checked_numel, dims, Axes, Axis, Dims};
use crate::storage::Buffer;
use crate::tensor::Tensor;

fn add<T: Element>(a: T, b: T) -> T {
    a + b
}

fn max_nan<T: Element>(a: T, b: T) -> T {
    if b > a || b.is_nan() {
        b
    } else {
        a
    }
}

fn min_nan<T: Element>(a: T, b: T) -> T {
    if b < a || b.is_nan() {
        b
    } else {
        a
    }
}

/// What a variance divides by: the count of the reduced elements minus this many degrees of
/// freedom. PyTorch's `correction=` keyword, as a type so that a call reads unambiguously:
/// `x.var(0, Correction::UNBIASED, false)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Correction(pub usize);

impl Correction {
    /// Bessel's correction, N − 1: the unbiased sample variance (PyTorch's default).
    pub const UNBIASED: Correction = Correction(1);
    /// No correction, N: the population variance (NumPy's default).
    pub const POPULATION: Correction = Correction(0);
}

impl<T: Element> Tensor<T> {
    /// Folds `axes` with `f` from `init`; the shared body of every reduction, `op` naming it.
    #[track_caller]
    fn fold_axes(
        &self,
        op: &str,
        axes: &Dims,
        keepdim: bool,
        init: T,
        f: impl Fn(T, T) -> T + Sync,
    ) -> Tensor<T> {
        // Smaller than the input unless the input is empty: folding the empty axis of
        // [2^40, 2^40, 0] would leave 2^80 elements.
        let shape = self.reduced_shape(axes, keepdim);
        checked_numel::<T>(op, &shape);
        let (data, layout) = self.parts();
        let numel = self.numel();
        let consecutive = axes.windows(2).all(|w| w[1] == w[0] + 1);
        if (1..PAR_MIN).contains(&numel) && consecutive && layout.is_contiguous() {
            // An empty list of axes (a rank-0 tensor's sum_all) takes the general path.
            if let (Some(&first), Some(&last)) = (axes.first(), axes.last()) {
                let sizes = self.shape();
                let product = |axes: &[usize]| axes.iter().product::<usize>();
                let data = &data[layout.offset()..layout.offset() + numel];
                let (outer, span) = (product(&sizes[..first]), product(&sizes[first..=last]));
                let out = reduce_small_run(data, outer, span, product(&sizes[last + 1..]), init, f);
                return Tensor::from_parts(out, Layout::contiguous(shape));
            }
        }
        let kept: Dims = (0..self.rank()).filter(|a| !axes.contains(a)).collect();
        let perm: Dims = kept.iter().chain(axes.iter()).copied().collect();
        let out = reduce(data, &layout.permute(&perm), kept.len(), init, f);
        Tensor::from_parts(out, Layout::contiguous(shape))
    }

    /// How many elements each output of a reduction over `axes` folds. Saturating: the product
    /// passes usize only for an empty tensor, whose result is then empty too.
    fn fold_count(&self, axes: &[usize]) -> usize {
        axes.iter()
            .fold(1usize, |n, &a| n.saturating_mul(self.shape()[a]))
    }

    fn all_axes(&self) -> Dims {
        (0..self.rank()).collect()
    }

    fn reduced_shape(&self, axes: &[usize], keepdim: bool) -> Dims {
        let shape = self.shape().iter().enumerate();
        if keepdim {
            shape
                .map(|(a, &d)| if axes.contains(&a) { 1 } else { d })
                .collect()
        } else {
            shape
                .filter(|(a, _)| !axes.contains(a))
                .map(|(_, &d)| d)
                .collect()
        }
    }

    /// Panics if one of `axes` is empty: a maximum or minimum over nothing has no value.
    #[track_caller]
    fn check_nonempty(&self, op: &str, axes: &[usize]) {
        if axes.iter().any(|&a| self.shape()[a] == 0) {
            fail(
                op,
                format!(
                    "cannot reduce an empty axis of shape {}",
                    fmt_shape(self.shape())
                ),
            );
        }
    }

    /// Σ over `axes`; `keepdim` leaves them in place with size 1.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::<f32>::arange(6).reshape([2, 3]);
    /// assert_eq!(t.sum(0, false).to_vec(), vec![3.0, 5.0, 7.0]);
    /// assert_eq!(t.sum(-1, true).shape(), &[2, 1]);
    /// assert_eq!(t.sum([0, 1], false).item(), 15.0);
    /// ```
    #[track_caller]
    pub fn sum(&self, axes: impl Axes, keepdim: bool) -> Tensor<T> {
        let axes = axes.resolve_all("sum", self.rank());
        self.fold_axes("sum", &axes, keepdim, T::zero(), add)
    }

    /// Σ of all elements, as a rank-0 tensor.
    pub fn sum_all(&self) -> Tensor<T> {
        self.fold_axes("sum_all", &self.all_axes(), false, T::zero(), add)
    }

    /// The mean over `axes` (NaN for an empty axis).
    #[track_caller]
    pub fn mean(&self, axes: impl Axes, keepdim: bool) -> Tensor<T> {
        let axes = axes.resolve_all("mean", self.rank());
        let scale = T::from_usize(self.fold_count(&axes)).unwrap().recip();
        self.fold_axes("mean", &axes, keepdim, T::zero(), add)
            .map(|x| x * scale)
    }

    /// The mean of all elements, as a rank-0 tensor.
    pub fn mean_all(&self) -> Tensor<T> {
        let scale = T::from_usize(self.numel()).unwrap().recip();
        self.sum_all().map(|x| x * scale)
    }

    /// The maximum over `axes` (NaN if any element is NaN).
    #[track_caller]
    pub fn max(&self, axes: impl Axes, keepdim: bool) -> Tensor<T> {
        let axes = axes.resolve_all("max", self.rank());
        self.check_nonempty("max", &axes);
        self.fold_axes("max", &axes, keepdim, T::neg_infinity(), max_nan)
    }

    /// The largest element, as a rank-0 tensor.
    #[track_caller]
    pub fn max_all(&self) -> Tensor<T> {
        self.check_nonempty("max_all", &self.all_axes());
        self.fold_axes(
            "max_all",
            &self.all_axes(),
            false,
            T::neg_infinity(),
            max_nan,
        )
    }

    /// The minimum over `axes` (NaN if any element is NaN).
    #[track_caller]
    pub fn min(&self, axes: impl Axes, keepdim: bool) -> Tensor<T> {
        let axes = axes.resolve_all("min", self.rank());
        self.check_nonempty("min", &axes);
        self.fold_axes("min", &axes, keepdim, T::infinity(), min_nan)
    }

    /// The smallest element, as a rank-0 tensor.
    #[track_caller]
    pub fn min_all(&self) -> Tensor<T> {
        self.check_nonempty("min_all", &self.all_axes());
        self.fold_axes("min_all", &self.all_axes(), false, T::infinity(), min_nan)
    }

    /// Variance over `axes`: Σ(x − mean)² / (N − correction), N the number of reduced elements.
    /// [`Correction::UNBIASED`] is the unbiased estimate (PyTorch's default),
    /// [`Correction::POPULATION`] the population variance (NumPy's).
    ///
    /// ```
    /// # use shendu_tensor::{Correction, Tensor};
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], [4]);
    /// assert_eq!(t.var(0, Correction::UNBIASED, false).item(), 5.0 / 3.0);
    /// assert_eq!(t.var_all(Correction::POPULATION).item(), 1.25);
    /// ```
    #[track_caller]
    pub fn var(&self, axes: impl Axes, correction: Correction, keepdim: bool) -> Tensor<T> {
        let axes = axes.resolve_all("var", self.rank());
        let count = self.fold_count(&axes);
        let deviations = self.sub(
            &self
                .fold_axes("var", &axes, true, T::zero(), add)
                .map(|s| s / T::from_usize(count).unwrap()),
        );
        // PyTorch's rule: a correction at or above the count divides by zero (inf or NaN),
        // never by a negative number.
        let divisor = T::from_usize(count.saturating_sub(correction.0)).unwrap();
        deviations
            .square()
            .fold_axes("var", &axes, keepdim, T::zero(), add)
            .map(|s| s / divisor)
    }

    /// Variance of all elements (see [`Tensor::var`]), as a rank-0 tensor.
    pub fn var_all(&self, correction: Correction) -> Tensor<T> {
        self.var((0..self.rank()).collect::<Vec<usize>>(), correction, false)
    }

    /// Position of the first maximum along `axis` (a NaN counts as the maximum).
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 7.0, 7.0, 9.0, 0.0, 2.0], [2, 3]);
    /// assert_eq!(t.argmax(1, false).to_vec(), vec![1, 0]);
    /// ```
    #[track_caller]
    pub fn argmax(&self, axis: impl Axis, keepdim: bool) -> Indices {
        self.arg_along("argmax", axis, keepdim, |x, best| {
            x > best || (x.is_nan() && !best.is_nan())
        })
    }

    /// Position of the first minimum along `axis` (a NaN counts as the minimum).
    #[track_caller]
    pub fn argmin(&self, axis: impl Axis, keepdim: bool) -> Indices {
        self.arg_along("argmin", axis, keepdim, |x, best| {
            x < best || (x.is_nan() && !best.is_nan())
        })
    }

    /// Row-major position of the first maximum of the whole tensor.
    #[track_caller]
    pub fn argmax_all(&self) -> usize {
        self.check_nonempty("argmax_all", &self.all_axes());
        arg_best(&self.to_vec(), self.numel(), |x, best| {
            x > best || (x.is_nan() && !best.is_nan())
        })[0]
    }

    /// Row-major position of the first minimum of the whole tensor.
    #[track_caller]
    pub fn argmin_all(&self) -> usize {
        self.check_nonempty("argmin_all", &self.all_axes());
        arg_best(&self.to_vec(), self.numel(), |x, best| {
            x < best || (x.is_nan() && !best.is_nan())
        })[0]
    }

    #[track_caller]
    fn arg_along(
        &self,
        op: &str,
        axis: impl Axis,
        keepdim: bool,
        better: impl Fn(T, T) -> bool,
    ) -> Indices {
        let axis = axis.resolve(op, self.rank());
        self.check_nonempty(op, &[axis]);
        let rows = self.move_axis_last(axis).to_vec();
        let best = arg_best(&rows, self.shape()[axis], better);
        Indices::from_vec(best, self.reduced_shape(&[axis], keepdim))
    }

    /// A view with `axis` moved to the back.
    fn move_axis_last(&self, axis: usize) -> Tensor<T> {
        let mut perm: Dims = (0..self.rank()).filter(|&a| a != axis).collect();
        perm.push(axis);
        self.permute(&perm)
    }

    /// `ln Σ exp(x)` over `axes`, computed as `m + ln Σ exp(x − m)` with `m` the maximum, so that
    /// large inputs do not overflow.
    ///
    /// Infinities follow PyTorch's `logsumexp`, which shifts by 0 instead of an infinite
    /// maximum: a +inf among the inputs gives +inf, all −inf gives −inf (the log of an empty
    /// sum), and a NaN gives NaN. (`softmax` shifts by the maximum unconditionally instead, as
    /// PyTorch's does.)
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1000.0f64, 1000.0], [2]);
    /// assert_eq!(t.log_sum_exp(0, false).item(), 1000.0 + 2f64.ln());
    /// ```
    #[track_caller]
    pub fn log_sum_exp(&self, axes: impl Axes, keepdim: bool) -> Tensor<T> {
        let axes = axes.resolve_all("log_sum_exp", self.rank());
        self.check_nonempty("log_sum_exp", &axes);
        let max = self.fold_axes("log_sum_exp", &axes, true, T::neg_infinity(), max_nan);
        let shift = max.map(|m| if m.is_finite() { m } else { T::zero() });
        let sum = self
            .sub(&shift)
            .exp()
            .fold_axes("log_sum_exp", &axes, true, T::zero(), add);
        let out = sum.ln().add(&shift);
        if keepdim {
            out
        } else {
            out.reshape(self.reduced_shape(&axes, false))
        }
    }

    /// `exp(x) / Σ exp(x)` along `axis`, computed as `exp(x − m) / Σ exp(x − m)` with `m` the
    /// maximum so that large inputs are exact.
    ///
    /// As in PyTorch, the shift by `m` is unconditional, so a slice holding +inf, or only −inf,
    /// or a NaN, is NaN throughout (inf − inf = NaN); −inf entries beside a finite maximum get
    /// probability 0.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let p = Tensor::from_vec(vec![1e4f32, 1e4], [1, 2]).softmax(-1);
    /// assert_eq!(p.to_vec(), vec![0.5, 0.5]);
    /// let p = Tensor::from_vec(vec![f32::NEG_INFINITY, 0.0], [2]).softmax(0);
    /// assert_eq!(p.to_vec(), vec![0.0, 1.0]);
    /// assert!(Tensor::from_vec(vec![f32::INFINITY, 0.0], [2]).softmax(0).to_vec()[1].is_nan());
    /// ```
    #[track_caller]
    pub fn softmax(&self, axis: impl Axis) -> Tensor<T> {
        self.softmax_along("softmax", axis, false)
    }

    /// `x − ln Σ exp(x)` along `axis`, computed as `(x − m) − ln Σ exp(x − m)` with `m` the
    /// maximum, stable for large inputs. Infinities and NaN behave as in [`Tensor::softmax`]
    /// (and PyTorch): a slice holding +inf, only −inf, or a NaN is NaN throughout; a −inf entry
    /// beside a finite maximum gives −inf.
    #[track_caller]
    pub fn log_softmax(&self, axis: impl Axis) -> Tensor<T> {
        self.softmax_along("log_softmax", axis, true)
    }

    /// The gradient of [`Tensor::softmax`] along `axis`, from the softmax's output `self` (y)
    /// and the gradient `grad` (g) with respect to it: `y ⊙ (g − Σ g ⊙ y)`, the sum along the
    /// axis, as PyTorch's `_softmax_backward_data`. It takes one pass over each slice, where the
    /// same formula written with tensor ops takes four and three temporaries; autograd's rule
    /// uses it for first-order gradients.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let y = Tensor::from_vec(vec![0.25f64, 0.75], [1, 2]);
    /// let g = Tensor::from_vec(vec![1.0, 0.0], [1, 2]);
    /// // Σ g ⊙ y = 0.25
    /// assert_eq!(y.softmax_backward(&g, 1).to_vec(), vec![0.1875, -0.1875]);
    /// ```
    #[track_caller]
    pub fn softmax_backward(&self, grad: &Tensor<T>, axis: impl Axis) -> Tensor<T> {
        self.softmax_backward_along("softmax_backward", grad, axis, false)
    }

    /// The gradient of [`Tensor::log_softmax`] along `axis`, from the log-softmax's output
    /// `self` (y) and the gradient `grad` (g) with respect to it: `g − exp(y) · Σ g`, the sum
    /// along the axis, as PyTorch's `_log_softmax_backward_data`, in one pass over each slice
    /// (see [`Tensor::softmax_backward`]).
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let y = Tensor::from_vec(vec![0.25f64.ln(), 0.75f64.ln()], [1, 2]);
    /// let g = Tensor::from_vec(vec![-1.0, 0.0], [1, 2]); // of −y₀, a cross-entropy's term
    /// let dx = y.log_softmax_backward(&g, 1).to_vec();
    /// assert!((dx[0] - -0.75).abs() < 1e-15 && (dx[1] - 0.75).abs() < 1e-15);
    /// ```
    #[track_caller]
    pub fn log_softmax_backward(&self, grad: &Tensor<T>, axis: impl Axis) -> Tensor<T> {
        self.softmax_backward_along("log_softmax_backward", grad, axis, true)
    }

    #[track_caller]
    fn softmax_along(&self, op: &str, axis: impl Axis, log: bool) -> Tensor<T> {
        let axis = axis.resolve(op, self.rank());
        self.by_rows_along(axis, |rows, span| softmax_rows(rows, span, log))
    }

    #[track_caller]
    fn softmax_backward_along(
        &self,
        op: &str,
        grad: &Tensor<T>,
        axis: impl Axis,
        log: bool,
    ) -> Tensor<T> {
        let axis = axis.resolve(op, self.rank());
        if grad.shape() != self.shape() {
            fail(
                op,
                format!(
                    "the gradient's shape {} does not match the output's shape {}",
                    fmt_shape(grad.shape()),
                    fmt_shape(self.shape())
                ),
            );
        }
        self.by_rows_along(axis, |y, span| {
            let g = grad.move_axis_last(axis).contiguous();
            softmax_backward_rows(y, g.as_slice().unwrap(), span, log)
        })
    }

    /// A tensor of this one's shape, computed by `rows` from this one's elements laid out as
    /// contiguous rows along `axis`, and the rows' length; the result's rows are laid out the
    /// same way, and the axis is moved back.
    fn by_rows_along(&self, axis: usize, rows: impl FnOnce(&[T], usize) -> Buffer<T>) -> Tensor<T> {
        if self.numel() == 0 {
            return self.contiguous();
        }
        let moved = self.move_axis_last(axis);
        let contiguous = moved.contiguous();
        let out = rows(contiguous.as_slice().unwrap(), self.shape()[axis]);
        let result = Tensor::from_parts(out, Layout::contiguous(dims(moved.shape())));
        if axis + 1 == self.rank() {
            return result;
        }
        // Move the axis back to where it was.
        let mut inverse: Dims = (0..self.rank() - 1).collect();
        inverse.insert(axis, self.rank() - 1);
        result.permute(&inverse).contiguous()
    }
}
