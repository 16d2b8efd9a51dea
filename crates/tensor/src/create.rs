//! Constructors: filled tensors, ranges, the identity, and random tensors from a caller's RNG.
//!
//! Random constructors take the generator as an argument; nothing here reads a global RNG or the
//! clock, so a seed fixes every value.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::check::fail;
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::{numel, IntoShape};
use crate::storage::output_buffer;
use crate::tensor::Tensor;

impl<T: Element> Tensor<T> {
    /// A tensor of `shape` with every element `value`.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// assert_eq!(Tensor::full([2], 7.0f32).to_vec(), vec![7.0, 7.0]);
    /// ```
    pub fn full(shape: impl IntoShape, value: T) -> Self {
        let shape = shape.into_dims();
        let mut data = output_buffer(numel(&shape));
        data.fill(value);
        Self::from_parts(data, Layout::contiguous(shape))
    }

    /// A tensor of zeros.
    pub fn zeros(shape: impl IntoShape) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of ones.
    pub fn ones(shape: impl IntoShape) -> Self {
        Self::full(shape, T::one())
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
    pub fn arange(n: usize) -> Self {
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
        let count = ((end - start) / step)
            .ceil()
            .max(T::zero())
            .to_usize()
            .unwrap_or(0);
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
    pub fn linspace(start: T, end: T, steps: usize) -> Self {
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
    pub fn eye(n: usize) -> Self {
        let mut t = Self::zeros([n, n]);
        let data = t.make_mut();
        for i in 0..n {
            data[i * n + i] = T::one();
        }
        t
    }

    /// Values drawn uniformly from `[lo, hi)` (rounding to `T` may reach `hi`).
    pub fn rand_uniform(shape: impl IntoShape, lo: T, hi: T, rng: &mut impl Rng) -> Self {
        let shape = shape.into_dims();
        let (lo64, width) = (lo.to_f64_exact(), hi.to_f64_exact() - lo.to_f64_exact());
        let mut data = output_buffer(numel(&shape));
        for x in &mut data {
            *x = T::from_f64_lossy(lo64 + width * rng.random::<f64>());
        }
        Self::from_vec(data, shape)
    }

    /// Values drawn from the normal distribution with this mean and standard deviation.
    pub fn rand_normal(shape: impl IntoShape, mean: T, std: T, rng: &mut impl Rng) -> Self {
        let shape = shape.into_dims();
        let (mean64, std64) = (mean.to_f64_exact(), std.to_f64_exact());
        let mut data = output_buffer(numel(&shape));
        for x in &mut data {
            let z: f64 = StandardNormal.sample(rng);
            *x = T::from_f64_lossy(mean64 + std64 * z);
        }
        Self::from_vec(data, shape)
    }
}
