//! Constructors: filled tensors, ranges, the identity, and random tensors from a caller's RNG.
//!
//! Random constructors take the generator as an argument; nothing here reads a global RNG or the
//! clock, so a seed fixes every value.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::check::fail;
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::{checked_numel, IntoShape};
use crate::storage::output_buffer;
use crate::tensor::Tensor;

impl<T: Element> Tensor<T> {
    /// A tensor of `shape` with every element `value`.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// assert_eq!(Tensor::full([2], 7.0f32).to_vec(), vec![7.0, 7.0]);
    /// ```
    #[track_caller]
    pub fn full(shape: impl IntoShape, value: T) -> Self {
        Self::filled("full", shape, value)
    }

    /// A tensor of zeros.
    #[track_caller]
    pub fn zeros(shape: impl IntoShape) -> Self {
        Self::filled("zeros", shape, T::zero())
    }

    /// A tensor of ones.
    #[track_caller]
    pub fn ones(shape: impl IntoShape) -> Self {
        Self::filled("ones", shape, T::one())
    }

    /// `full` under the name of the op that called it, for messages.
    #[track_caller]
    fn filled(op: &str, shape: impl IntoShape, value: T) -> Self {
        let shape = shape.into_dims();
        let mut data = output_buffer(checked_numel::<T>(op, &shape));
        data.fill(value);
        Self::from_parts(data, Layout::contiguous(shape))
    }

    /// Zeros of `other`'s shape.
    pub fn zeros_like(other: &Tensor<T>) -> Self {
        Self::zeros(other.shape())
    }

    /// Ones of `other`'s shape.
    pub fn ones_like(other: &Tensor<T>) -> Self {
        Self::ones(other.shape())
    }

    /// `[0, 1, …, n - 1]`.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::arange(3).to_vec(), vec![0.0, 1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn arange(n: usize) -> Self {
        checked_numel::<T>("arange", &[n]);
        Self::from_vec((0..n).map(|i| T::from_usize(i).unwrap()).collect(), [n])
    }

    /// `start, start + step, …` up to but excluding `end`.
    #[track_caller]
    pub fn arange_step(start: T, end: T, step: T) -> Self {
        if step == T::zero() || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            fail(
                "arange_step",
                format!("start {start}, end {end} and step {step} must be finite with step ≠ 0"),
            );
        }
        // A count past usize (or an infinite one, when end − start overflows T) cannot be a
        // length; it is an error, not an empty range.
        let Some(count) = ((end - start) / step).ceil().max(T::zero()).to_usize() else {
            fail(
                "arange_step",
                format!("from {start} to {end} by {step} gives more values than a tensor can hold"),
            )
        };
        checked_numel::<T>("arange_step", &[count]);
        Self::from_vec(
            (0..count)
                .map(|i| start + T::from_usize(i).unwrap() * step)
                .collect(),
            [count],
        )
    }

    /// `steps` evenly spaced values from `start` to `end`, both included.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// assert_eq!(Tensor::linspace(0.0f32, 1.0, 5).to_vec(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    /// ```
    #[track_caller]
    pub fn linspace(start: T, end: T, steps: usize) -> Self {
        checked_numel::<T>("linspace", &[steps]);
        let data = match steps {
            0 => vec![],
            1 => vec![start],
            _ => {
                let step = (end - start) / T::from_usize(steps - 1).unwrap();
                // The last value is `end` exactly, not `start + (steps - 1) * step` rounded.
                (0..steps)
                    .map(|i| {
                        if i == steps - 1 {
                            end
                        } else {
                            start + T::from_usize(i).unwrap() * step
                        }
                    })
                    .collect()
            }
        };
        Self::from_vec(data, [steps])
    }

    /// The `n × n` identity matrix.
    #[track_caller]
    pub fn eye(n: usize) -> Self {
        let mut t = Self::filled("eye", [n, n], T::zero());
        let data = t.as_mut_slice();
        for i in 0..n {
            data[i * n + i] = T::one();
        }
        t
    }

    /// Values drawn uniformly from `[lo, hi)` (rounding to `T` may reach `hi`; `lo == hi` gives
    /// that constant).
    ///
    /// # Panics
    /// Unless `lo` and `hi` are finite with `lo ≤ hi`, as PyTorch's `uniform_`.
    #[track_caller]
    pub fn rand_uniform(shape: impl IntoShape, lo: T, hi: T, rng: &mut impl Rng) -> Self {
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            fail(
                "rand_uniform",
                format!("the bounds must be finite with lo ≤ hi, got lo = {lo} and hi = {hi}"),
            );
        }
        let shape = shape.into_dims();
        let (lo64, width) = (lo.to_f64_exact(), hi.to_f64_exact() - lo.to_f64_exact());
        let mut data = output_buffer(checked_numel::<T>("rand_uniform", &shape));
        for x in data.iter_mut() {
            *x = T::from_f64_lossy(lo64 + width * rng.random::<f64>());
        }
        Self::from_parts(data, Layout::contiguous(shape))
    }

    /// Values drawn from the normal distribution with this mean and standard deviation (`std`
    /// of 0 gives the constant `mean`).
    ///
    /// # Panics
    /// Unless `mean` is finite and `std` finite and ≥ 0, as PyTorch's `normal_` requires of
    /// `std`.
    #[track_caller]
    pub fn rand_normal(shape: impl IntoShape, mean: T, std: T, rng: &mut impl Rng) -> Self {
        if !mean.is_finite() {
            fail("rand_normal", format!("mean must be finite, got {mean}"));
        }
        if !(std.is_finite() && std >= T::zero()) {
            fail(
                "rand_normal",
                format!("std must be finite and ≥ 0, got {std}"),
            );
        }
        let shape = shape.into_dims();
        let (mean64, std64) = (mean.to_f64_exact(), std.to_f64_exact());
        let mut data = output_buffer(checked_numel::<T>("rand_normal", &shape));
        for x in data.iter_mut() {
            let z: f64 = StandardNormal.sample(rng);
            *x = T::from_f64_lossy(mean64 + std64 * z);
        }
        Self::from_parts(data, Layout::contiguous(shape))
    }
}
