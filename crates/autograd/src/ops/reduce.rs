//! Reductions and the softmax family on vars: one table of reductions, each row an op's value
//! beside its gradient rule, and softmax with its rule below it.
//!
//! A reduction's gradient is the output gradient broadcast back over the reduced axes (through
//! `broadcast_to`, so that gradients of gradients fold it again). `max` and `min` split the
//! gradient evenly between tied extremes (and a NaN extreme, which ties with nothing, gives NaN,
//! as PyTorch's `amax` does); `mean` is one node whose rule is `sum`'s scaled, and `var` a
//! composite of `mean` and `sum`.

use shendu_tensor::{Axes, Axis, Correction, Dims, Element, Tensor};

use crate::op::{one_grad, InputGrads, Op, OpKind};
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

/// The gradient of `max` or `min`: the output gradient shared evenly among the elements equal to
/// the extreme `y`.
fn extremum_grad<T: Element>(
    x: &Var<T>,
    y: &Var<T>,
    g: &Var<T>,
    axes: &[usize],
    keepdim: bool,
) -> Var<T> {
    let extreme = y.value.reshape(keepdim_shape(x.shape(), axes));
    let hits = x.value.eq(&extreme);
    let share = x.constant(hits.div(&hits.sum(axes, true)));
    &with_kept_axes(g, x, axes, keepdim).broadcast_to(x.shape()) * &share
}

/// The gradient of `sum` over `axes`: the output gradient `g` spread back over `x`'s shape.
fn sum_grad<T: Element>(x: &Var<T>, g: &Var<T>, axes: &[usize], keepdim: bool) -> Var<T> {
    // Leading axes summed away broadcast straight back (NumPy prepends axes); others need their
    // size-1 place restored first.
    let leading = axes.iter().enumerate().all(|(i, &a)| a == i);
    let g = if keepdim || leading {
        g.clone()
    } else {
        g.reshape(keepdim_shape(x.shape(), axes))
    };
    g.broadcast_to(x.shape())
}

/// 1/count for a mean over `axes` of `shape`, the factor `Tensor::mean` scales its sums by.
fn mean_scale<T: Element>(shape: &[usize], axes: &[usize]) -> T {
    let count = axes.iter().fold(1usize, |n, &a| n.saturating_mul(shape[a]));
    T::from_usize(count).unwrap().recip()
}

/// Calls a table's forward; the closure's argument types come from this signature.
fn value_of<T: Element>(
    f: impl FnOnce(&Tensor<T>, &[usize], bool) -> Tensor<T>,
    x: &Tensor<T>,
    axes: &[usize],
    keepdim: bool,
) -> Tensor<T> {
    f(x, axes, keepdim)
}

/// Calls a table's gradient rule with input `x`, output `y`, output gradient `g` and the
/// reduction's axes.
fn grad_of<T: Element>(
    rule: impl FnOnce(&Var<T>, &Var<T>, &Var<T>, &[usize], bool) -> Var<T>,
    [x, y, g]: [&Var<T>; 3],
    axes: &[usize],
    keepdim: bool,
) -> Var<T> {
    rule(x, y, g, axes, keepdim)
}

/// Defines the reductions over axes from their table: the `Reduce` enum, its `OpKind`, its
/// forward, its gradient rule and the public methods on [`Var`]: `method(axes, keepdim)`, and
/// `method_all()` over every axis when the row names one. A row reads
/// `/// doc  fn method as Variant { /// doc  all: fn method_all as VariantAll, value: …, grad: … }`.
macro_rules! reductions {
    ($(
        $(#[$doc:meta])*
        fn $method:ident as $variant:ident {
            $(
                $(#[$all_doc:meta])*
                all: fn $all:ident as $all_variant:ident,
            )?
            value: $value:expr,
            grad: $grad:expr $(,)?
        }
    )*) => {
        /// A reduction over axes; the axes and `keepdim` are in the node.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Reduce {
            $($variant,)*
        }

        impl Reduce {
            pub(crate) fn kind(self) -> OpKind {
                match self {
                    $(Reduce::$variant => OpKind::$variant,)*
                }
            }

            fn apply<T: Element>(self, x: &Tensor<T>, axes: &[usize], keepdim: bool) -> Tensor<T> {
                match self {
                    $(Reduce::$variant => value_of($value, x, axes, keepdim),)*
                }
            }

            fn rule<T: Element>(self, args: [&Var<T>; 3], axes: &[usize], keepdim: bool) -> Var<T> {
                match self {
                    $(Reduce::$variant => grad_of($grad, args, axes, keepdim),)*
                }
            }
        }

        impl<T: Element> Var<T> {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $method(&self, axes: impl Axes, keepdim: bool) -> Var<T> {
                    let axes = axes.resolve_all(stringify!($method), self.rank());
                    self.reduce(Reduce::$variant, axes, keepdim)
                }

                $(
                    $(#[$all_doc])*
                    #[track_caller]
                    pub fn $all(&self) -> Var<T> {
                        debug_assert_eq!(OpKind::$all_variant.method_name(), stringify!($all));
                        self.reduce(Reduce::$variant, (0..self.rank()).collect(), false)
                    }
                )?
            )*
        }
    };
}

reductions! {
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
    fn sum as Sum {
        /// Σ of all elements, as a rank-0 var.
        all: fn sum_all as SumAll,
        value: |x, axes, keepdim| x.sum(axes, keepdim),
        grad: |x, _y, g, axes, keepdim| sum_grad(x, g, axes, keepdim),
    }
    /// The mean over `axes`. One node, whose rule scales the output gradient by 1/count and then
    /// spreads it as `sum`'s does: the values and gradients of `sum` then `mul_scalar`, bit for
    /// bit, at one node's cost.
    fn mean as Mean {
        /// The mean of all elements, as a rank-0 var.
        all: fn mean_all as MeanAll,
        value: |x, axes, keepdim| x.mean(axes, keepdim),
        grad: |x, _y, g, axes, keepdim| {
            sum_grad(x, &g.mul_scalar(mean_scale(x.shape(), axes)), axes, keepdim)
        },
    }
    /// The maximum over `axes`; tied maxima share the gradient evenly.
    fn max as Max {
        /// The largest element, as a rank-0 var; tied maxima share the gradient evenly.
        all: fn max_all as MaxAll,
        value: |x, axes, keepdim| x.max(axes, keepdim),
        grad: |x, y, g, axes, keepdim| extremum_grad(x, y, g, axes, keepdim),
    }
    /// The minimum over `axes`; tied minima share the gradient evenly.
    fn min as Min {
        /// The smallest element, as a rank-0 var; tied minima share the gradient evenly.
        all: fn min_all as MinAll,
        value: |x, axes, keepdim| x.min(axes, keepdim),
        grad: |x, y, g, axes, keepdim| extremum_grad(x, y, g, axes, keepdim),
    }
    /// ln Σ exp(x) over `axes`, stable for large inputs; d/dx = softmax over those axes.
    fn log_sum_exp as LogSumExp {
        value: |x, axes, keepdim| x.log_sum_exp(axes, keepdim),
        // d/dx ln Σ eˣ = eˣ / Σ eˣ = exp(x − y).
        grad: |x, y, g, axes, keepdim| {
            let y_kept = with_kept_axes(y, x, axes, keepdim);
            let g_kept = with_kept_axes(g, x, axes, keepdim);
            &g_kept * &(x - &y_kept).exp()
        },
    }
}

/// The gradient of a reduction over `axes` with input `x`, output `y`, output gradient `g`.
pub(crate) fn backward<T: Element>(
    op: Reduce,
    axes: &[usize],
    keepdim: bool,
    x: &Var<T>,
    y: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    one_grad(Some(op.rule([x, y, g], axes, keepdim)))
}

/// The gradient of softmax (or log-softmax, if `log`) along `axis`, from its output `y`: one
/// fused kernel for first-order gradients, differentiable ops when the sweep records (for
/// gradients of gradients).
pub(crate) fn softmax_backward<T: Element>(
    axis: usize,
    log: bool,
    y: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    if !y.tape.recording.get() {
        // A first-order sweep records nothing, so the rule needs no ops of the tape: the
        // fused kernel computes the same formula in one pass instead of four ops' passes.
        let dx = if log {
            y.value.log_softmax_backward(&g.value, axis)
        } else {
            y.value.softmax_backward(&g.value, axis)
        };
        return one_grad(Some(g.constant(dx)));
    }
    let dx = if log {
        // dx = g − softmax(x) · Σ g, and softmax(x) = exp(y).
        g - &(&y.exp() * &g.sum(axis, true))
    } else {
        // dx = y ⊙ (g − Σ g ⊙ y) along the axis.
        y * &(g - &(g * y).sum(axis, true))
    };
    one_grad(Some(dx))
}

impl<T: Element> Var<T> {
    #[track_caller]
    fn reduce(&self, op: Reduce, axes: Dims, keepdim: bool) -> Var<T> {
        let value = op.apply(&self.value, &axes, keepdim);
        Var::record(&[self], value, || Op::Reduce { op, axes, keepdim })
    }

    /// Variance over `axes`, Σ(x − mean)² / (N − correction) (see `Tensor::var`).
    #[track_caller]
    pub fn var(&self, axes: impl Axes, correction: Correction, keepdim: bool) -> Var<T> {
        let axes = axes.resolve_all("var", self.rank());
        let count: usize = axes.iter().map(|&a| self.shape()[a]).product();
        let deviation = self - &self.mean(&axes[..], true);
        let divisor = T::from_usize(count.saturating_sub(correction.0)).unwrap();
        deviation
            .square()
            .sum(&axes[..], keepdim)
            .mul_scalar(divisor.recip())
    }

    /// Variance of all elements, as a rank-0 var.
    #[track_caller]
    pub fn var_all(&self, correction: Correction) -> Var<T> {
        self.var((0..self.rank()).collect::<Vec<usize>>(), correction, false)
    }

    /// exp(x) / Σ exp(x) along `axis`, stable for large inputs.
    #[track_caller]
    pub fn softmax(&self, axis: impl Axis) -> Var<T> {
        let axis = axis.resolve("softmax", self.rank());
        Var::record(&[self], self.value.softmax(axis), || Op::Softmax {
            axis,
            log: false,
        })
    }

    /// x − ln Σ exp(x) along `axis`, stable for large inputs.
    #[track_caller]
    pub fn log_softmax(&self, axis: impl Axis) -> Var<T> {
        let axis = axis.resolve("log_softmax", self.rank());
        Var::record(&[self], self.value.log_softmax(axis), || Op::Softmax {
            axis,
            log: true,
        })
    }
}
