//! Elementwise functions of one tensor.
//!
//! Each op is its scalar function, applied by [`Tensor::map`]. The numerically delicate ones say
//! how they stay exact: `sigmoid` and `softplus` never evaluate `exp` of a large positive number.

use std::any::TypeId;

use crate::cpu::map::{map1, map1_widest};
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::dims;
use crate::tensor::Tensor;

/// The logistic function 1 / (1 + e^(−x)), without overflow for any finite x.
pub fn sigmoid<T: Element>(x: T) -> T {
    // One exp for either sign, e^(−|x|), so that over a slice of `f32` the two cases are a
    // select in vectors rather than a branch per element.
    let e = (-x.abs()).exp_accurate();
    if x >= T::zero() {
        T::one() / (T::one() + e)
    } else {
        e / (T::one() + e)
    }
}

/// ln(1 + e^x), computed as max(x, 0) + ln(1 + e^(−|x|)) so that it neither overflows for large
/// x nor loses precision for very negative x.
pub fn softplus<T: Element>(x: T) -> T {
    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
}

/// x · Φ(x), Φ the standard normal CDF, written with erf (the exact GELU, not the tanh form).
pub fn gelu<T: Element>(x: T) -> T {
    let half = T::from_f64_lossy(0.5);
    half * x * (T::one() + (x * T::from_f64_lossy(std::f64::consts::FRAC_1_SQRT_2)).erf())
}

impl<T: Element> Tensor<T> {
    /// `f` applied to every element: the building block of every unary op, public so that users
    /// can write their own.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 4.0], [2]);
    /// assert_eq!(t.map(|x| x * 10.0).to_vec(), vec![10.0, 40.0]);
    /// ```
    pub fn map(&self, f: impl Fn(T) -> T + Sync) -> Tensor<T> {
        let (data, layout) = self.parts();
        Tensor::from_parts(
            map1(data, layout, f),
            Layout::contiguous(dims(self.shape())),
        )
    }

    /// [`Tensor::map`] of a function built on [`Element::exp_accurate`]: plain arithmetic for
    /// `f32`, which the widest vectors speed up, and a call to libm for `f64`, which ran slower
    /// on them (see `map1_widest`), so only `f32` takes them.
    fn map_math(&self, f: impl Fn(T) -> T + Sync) -> Tensor<T> {
        let (data, layout) = self.parts();
        let values = if TypeId::of::<T>() == TypeId::of::<f32>() {
            map1_widest(data, layout, f)
        } else {
            map1(data, layout, f)
        };
        Tensor::from_parts(values, Layout::contiguous(dims(self.shape())))
    }

    /// −x.
    pub fn neg(&self) -> Tensor<T> {
        self.map(|x| -x)
    }

    /// |x|.
    pub fn abs(&self) -> Tensor<T> {
        self.map(|x| x.abs())
    }

    /// eˣ (within one ulp; see [`Element::exp_accurate`]).
    pub fn exp(&self) -> Tensor<T> {
        self.map_math(T::exp_accurate)
    }

    /// The natural logarithm ln x (−∞ at 0, NaN below).
    pub fn ln(&self) -> Tensor<T> {
        self.map(|x| x.ln())
    }

    /// The natural logarithm, as [`Tensor::ln`]: the name PyTorch and NumPy use.
    pub fn log(&self) -> Tensor<T> {
        self.ln()
    }

    /// √x.
    pub fn sqrt(&self) -> Tensor<T> {
        self.map(|x| x.sqrt())
    }

    /// x².
    pub fn square(&self) -> Tensor<T> {
        self.map(|x| x * x)
    }

    /// 1 / x.
    pub fn recip(&self) -> Tensor<T> {
        self.map(|x| x.recip())
    }

    /// sin x.
    pub fn sin(&self) -> Tensor<T> {
        self.map(|x| x.sin())
    }

    /// cos x.
    pub fn cos(&self) -> Tensor<T> {
        self.map(|x| x.cos())
    }

    /// tanh x (within one ulp; see [`Element::tanh_accurate`]).
    pub fn tanh(&self) -> Tensor<T> {
        // The f32 tanh is plain arithmetic, which wide vectors speed up; the f64 one calls
        // libm either way.
        let (data, layout) = self.parts();
        Tensor::from_parts(
            map1_widest(data, layout, T::tanh_accurate),
            Layout::contiguous(dims(self.shape())),
        )
    }

    /// 1 / (1 + e^(−x)), stable for all finite x.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let s = Tensor::from_vec(vec![-1e4f32, 0.0, 1e4], [3]).sigmoid();
    /// assert_eq!(s.to_vec(), vec![0.0, 0.5, 1.0]);
    /// ```
    pub fn sigmoid(&self) -> Tensor<T> {
        self.map_math(sigmoid)
    }

    /// max(x, 0); NaN stays NaN.
    pub fn relu(&self) -> Tensor<T> {
        self.map(relu)
    }

    /// x for x ≥ 0, slope · x below.
    pub fn leaky_relu(&self, slope: T) -> Tensor<T> {
        self.map(move |x| if x < T::zero() { slope * x } else { x })
    }

    /// x · Φ(x), the Gaussian error linear unit (exact form, with erf).
    pub fn gelu(&self) -> Tensor<T> {
        self.map(gelu)
    }

    /// ln(1 + eˣ), stable for all finite x.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let s = Tensor::from_vec(vec![-1e4f64, 0.0, 1e4], [3]).softplus();
    /// assert_eq!(s.to_vec(), vec![0.0, std::f64::consts::LN_2, 1e4]);
    /// ```
    pub fn softplus(&self) -> Tensor<T> {
        self.map(softplus)
    }

    /// x limited to `[lo, hi]`; NaN stays NaN.
    pub fn clamp(&self, lo: T, hi: T) -> Tensor<T> {
        self.map(move |x| {
            if x < lo {
                lo
            } else if x > hi {
                hi
            } else {
                x
            }
        })
    }

    /// −1, 0 or +1 by the sign of x (0 for ±0; NaN stays NaN).
    pub fn sign(&self) -> Tensor<T> {
        self.map(|x| {
            if x > T::zero() {
                T::one()
            } else if x < T::zero() {
                -T::one()
            } else {
                x
            }
        })
    }

    /// erf x = 2/√π ∫₀ˣ e^(−t²) dt, the error function.
    pub fn erf(&self) -> Tensor<T> {
        self.map(T::erf)
    }

    /// xᵖ for a fixed real power p.
    pub fn powf(&self, p: T) -> Tensor<T> {
        self.map(move |x| x.powf(p))
    }
}

/// max(x, 0), NaN kept, −0 kept: the one definition of the element's ReLU, shared by
/// [`Tensor::relu`] and the in-place updates that fuse it ([`Tensor::add_relu_`]).
pub(crate) fn relu<T: Element>(x: T) -> T {
    if x < T::zero() {
        T::zero()
    } else {
        x
    }
}
