//! Reductions and the softmax family on vars: each forward beside its gradient rule.
//!
//! A reduction's gradient is the output gradient broadcast back over the reduced axes (through
//! `broadcast_to`, so that gradients of gradients fold it again). `max` and `min` split the
//! gradient evenly between tied extremes; `mean` and `var` are composites of `sum`.

use shendu_tensor::{Axes, Axis, Dims, Element};
use smallvec::smallvec;

use crate::op::{InputGrads, Op};
use crate::var::Var;

/// `shape` with the reduced `axes` kept as size 1.
fn keepdim_shape(shape: &[usize], axes: &[usize]) -> Dims {
    shape
        .iter()
        .enumerate()
        .map(|(a, &d)| if axes.contains(&a) { 1 } else { d })
        .collect()
}

/// The output gradient with the reduced axes restored as size 1.
fn with_kept_axes<T: Element>(g: &Var<T>, x: &Var<T>, axes: &[usize], keepdim: bool) -> Var<T> {
    if keepdim {
        g.clone()
    } else {
        g.reshape(keepdim_shape(x.shape(), axes))
    }
}

pub(crate) fn sum_backward<T: Element>(
    axes: &[usize],
    keepdim: bool,
    x: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    // Leading axes summed away broadcast straight back (NumPy prepends axes); others need
    // their size-1 place restored first.
    let leading = axes.iter().enumerate().all(|(i, &a)| a == i);
    let g = if keepdim || leading {
        g.clone()
    } else {
        g.reshape(keepdim_shape(x.shape(), axes))
    };
    smallvec![Some(g.broadcast_to(x.shape()))]
}

pub(crate) fn extremum_backward<T: Element>(
    axes: &[usize],
    keepdim: bool,
    x: &Var<T>,
    y: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    let extreme = y.value.reshape(keepdim_shape(x.shape(), axes));
    let hits = x.value.eq(&extreme);
    let share = x.constant(hits.div(&hits.sum(axes, true)));
    smallvec![Some(
        &with_kept_axes(g, x, axes, keepdim).broadcast_to(x.shape()) * &share
    )]
}

pub(crate) fn log_sum_exp_backward<T: Element>(
    axes: &[usize],
    keepdim: bool,
    x: &Var<T>,
    y: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    // d/dx ln Σ eˣ = eˣ / Σ eˣ = exp(x − y).
    let y_kept = with_kept_axes(y, x, axes, keepdim);
    let g_kept = with_kept_axes(g, x, axes, keepdim);
    smallvec![Some(&g_kept * &(x - &y_kept).exp())]
}

pub(crate) fn softmax_backward<T: Element>(axis: usize, y: &Var<T>, g: &Var<T>) -> InputGrads<T> {
    // dx = y ⊙ (g − Σ g ⊙ y) along the axis.
    smallvec![Some(y * &(g - &(g * y).sum(axis, true)))]
}

pub(crate) fn log_softmax_backward<T: Element>(
    axis: usize,
    y: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    // dx = g − softmax(x) · Σ g, and softmax(x) = exp(y).
    smallvec![Some(g - &(&y.exp() * &g.sum(axis, true)))]
}

impl<T: Element> Var<T> {
    /// Σ over `axes` (one axis or several; negative counts from the back); `keepdim` leaves them
    /// with size 1.
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(Tensor::ones([2, 3]));
    /// let y = x.sum(-1, false).square().sum_all();  // Σ_rows (Σ_cols x)²
    /// assert_eq!(y.backward()[&x].to_vec(), vec![6.0; 6]);
    /// ```
    #[track_caller]
    pub fn sum(&self, axes: impl Axes, keepdim: bool) -> Var<T> {
        let axes = axes.resolve_all("sum", self.rank());
        let value = self.value.sum(&axes[..], keepdim);
        Var::record(&[self], value, || Op::Sum { axes, keepdim })
    }

    /// Σ of all elements, as a rank-0 var.
    #[track_caller]
    pub fn sum_all(&self) -> Var<T> {
        let axes: Dims = (0..self.rank()).collect();
        Var::record(&[self], self.value.sum_all(), || Op::Sum {
            axes,
            keepdim: false,
        })
    }

    /// The mean over `axes`.
    #[track_caller]
    pub fn mean(&self, axes: impl Axes, keepdim: bool) -> Var<T> {
        let axes = axes.resolve_all("mean", self.rank());
        let count: usize = axes.iter().map(|&a| self.shape()[a]).product();
        self.sum(&axes[..], keepdim)
            .mul_scalar(T::from_usize(count).unwrap().recip())
    }

    /// The mean of all elements, as a rank-0 var.
    #[track_caller]
    pub fn mean_all(&self) -> Var<T> {
        self.sum_all()
            .mul_scalar(T::from_usize(self.numel()).unwrap().recip())
    }

    /// The maximum over `axes`; tied maxima share the gradient evenly.
    #[track_caller]
    pub fn max(&self, axes: impl Axes, keepdim: bool) -> Var<T> {
        let axes = axes.resolve_all("max", self.rank());
        let value = self.value.max(&axes[..], keepdim);
        Var::record(&[self], value, || Op::Max { axes, keepdim })
    }

    /// The largest element, as a rank-0 var; tied maxima share the gradient evenly.
    #[track_caller]
    pub fn max_all(&self) -> Var<T> {
        let axes: Dims = (0..self.rank()).collect();
        Var::record(&[self], self.value.max_all(), || Op::Max {
            axes,
            keepdim: false,
        })
    }

    /// The minimum over `axes`; tied minima share the gradient evenly.
    #[track_caller]
    pub fn min(&self, axes: impl Axes, keepdim: bool) -> Var<T> {
        let axes = axes.resolve_all("min", self.rank());
        let value = self.value.min(&axes[..], keepdim);
        Var::record(&[self], value, || Op::Min { axes, keepdim })
    }

    /// The smallest element, as a rank-0 var; tied minima share the gradient evenly.
    #[track_caller]
    pub fn min_all(&self) -> Var<T> {
        let axes: Dims = (0..self.rank()).collect();
        Var::record(&[self], self.value.min_all(), || Op::Min {
            axes,
            keepdim: false,
        })
    }

    /// Variance over `axes`, Σ(x − mean)² / (N − correction) (see `Tensor::var`).
    #[track_caller]
    pub fn var(&self, axes: impl Axes, correction: usize, keepdim: bool) -> Var<T> {
        let axes = axes.resolve_all("var", self.rank());
        let count: usize = axes.iter().map(|&a| self.shape()[a]).product();
        let deviation = self - &self.mean(&axes[..], true);
        let divisor = T::from_usize(count.saturating_sub(correction)).unwrap();
        deviation
            .square()
            .sum(&axes[..], keepdim)
            .mul_scalar(divisor.recip())
    }

    /// Variance of all elements, as a rank-0 var.
    #[track_caller]
    pub fn var_all(&self, correction: usize) -> Var<T> {
        self.var((0..self.rank()).collect::<Vec<usize>>(), correction, false)
    }

    /// ln Σ exp(x) over `axes`, stable for large inputs; d/dx = softmax over those axes.
    #[track_caller]
    pub fn log_sum_exp(&self, axes: impl Axes, keepdim: bool) -> Var<T> {
        let axes = axes.resolve_all("log_sum_exp", self.rank());
        let value = self.value.log_sum_exp(&axes[..], keepdim);
        Var::record(&[self], value, || Op::LogSumExp { axes, keepdim })
    }

    /// exp(x) / Σ exp(x) along `axis`, stable for large inputs.
    #[track_caller]
    pub fn softmax(&self, axis: impl Axis) -> Var<T> {
        let axis = axis.resolve("softmax", self.rank());
        Var::record(&[self], self.value.softmax(axis), || Op::Softmax { axis })
    }

    /// x − ln Σ exp(x) along `axis`, stable for large inputs.
    #[track_caller]
    pub fn log_softmax(&self, axis: impl Axis) -> Var<T> {
        let axis = axis.resolve("log_softmax", self.rank());
        Var::record(&[self], self.value.log_softmax(axis), || Op::LogSoftmax {
            axis,
        })
    }
}
