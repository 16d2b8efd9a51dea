//! Elementwise functions of one var: each op's value and its derivative side by side.
//!
//! Derivatives reuse the output where that is cheaper (exp, tanh, sigmoid, sqrt, recip) and are
//! written with var ops, so they can be differentiated again. At kinks the derivative takes a
//! documented one-sided value: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope, clamp passes
//! the gradient on its closed interval [lo, hi], sign' = 0.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

use shendu_tensor::{Element, Tensor};
use smallvec::smallvec;

use crate::op::{InputGrads, Op};
use crate::var::Var;

/// An elementwise function of one var, with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Unary<T> {
    Neg,
    Abs,
    Exp,
    Ln,
    Sqrt,
    Square,
    Recip,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Relu,
    LeakyRelu(T),
    Gelu,
    Softplus,
    Clamp(T, T),
    Sign,
    Powf(T),
    Erf,
    AddScalar(T),
    MulScalar(T),
}

impl<T: Element> Unary<T> {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Unary::Neg => "neg",
            Unary::Abs => "abs",
            Unary::Exp => "exp",
            Unary::Ln => "ln",
            Unary::Sqrt => "sqrt",
            Unary::Square => "square",
            Unary::Recip => "recip",
            Unary::Sin => "sin",
            Unary::Cos => "cos",
            Unary::Tanh => "tanh",
            Unary::Sigmoid => "sigmoid",
            Unary::Relu => "relu",
            Unary::LeakyRelu(_) => "leaky_relu",
            Unary::Gelu => "gelu",
            Unary::Softplus => "softplus",
            Unary::Clamp(..) => "clamp",
            Unary::Sign => "sign",
            Unary::Powf(_) => "powf",
            Unary::Erf => "erf",
            Unary::AddScalar(_) => "add_scalar",
            Unary::MulScalar(_) => "mul_scalar",
        }
    }

    fn apply(self, x: &Tensor<T>) -> Tensor<T> {
        match self {
            Unary::Neg => x.neg(),
            Unary::Abs => x.abs(),
            Unary::Exp => x.exp(),
            Unary::Ln => x.ln(),
            Unary::Sqrt => x.sqrt(),
            Unary::Square => x.square(),
            Unary::Recip => x.recip(),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Tanh => x.tanh(),
            Unary::Sigmoid => x.sigmoid(),
            Unary::Relu => x.relu(),
            Unary::LeakyRelu(slope) => x.leaky_relu(slope),
            Unary::Gelu => x.gelu(),
            Unary::Softplus => x.softplus(),
            Unary::Clamp(lo, hi) => x.clamp(lo, hi),
            Unary::Sign => x.sign(),
            Unary::Powf(p) => x.powf(p),
            Unary::Erf => x.erf(),
            Unary::AddScalar(c) => x.map(|v| v + c),
            Unary::MulScalar(c) => x.map(|v| v * c),
        }
    }
}

fn c<T: Element>(x: f64) -> T {
    T::from_f64_lossy(x)
}

/// d(op)/dx · grad, for input `x` and output `y`.
pub(crate) fn backward<T: Element>(
    op: Unary<T>,
    x: &Var<T>,
    y: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    if !x.is_tracked() {
        return smallvec![None];
    }
    // A constant mask from a test on the input's value.
    let mask = |f: &(dyn Fn(T) -> T + Sync)| x.constant(x.value.map(f));
    let dx = match op {
        Unary::Neg => g.neg(),
        Unary::Abs => g * &x.constant(x.value.sign()),
        Unary::Exp => g * y,
        Unary::Ln => g / x,
        Unary::Sqrt => (g / y).mul_scalar(c(0.5)),
        Unary::Square => (g * x).mul_scalar(c(2.0)),
        Unary::Recip => -(g * &y.square()),
        Unary::Sin => g * &x.cos(),
        Unary::Cos => -(g * &x.sin()),
        // g·(1 − y²), as g − (g·y)·y: three ops instead of four.
        Unary::Tanh => g - &(&(g * y) * y),
        Unary::Sigmoid => g * &(y * &(-y).add_scalar(T::one())),
        Unary::Relu => g * &mask(&|v| if v > T::zero() { T::one() } else { T::zero() }),
        Unary::LeakyRelu(slope) => g * &mask(&|v| if v > T::zero() { T::one() } else { slope }),
        Unary::Gelu => {
            // d/dx x·Φ(x) = Φ(x) + x·φ(x), Φ(x) = (1 + erf(x/√2)) / 2, φ(x) = e^(−x²/2) / √(2π).
            let cdf = x
                .mul_scalar(c(FRAC_1_SQRT_2))
                .erf()
                .add_scalar(T::one())
                .mul_scalar(c(0.5));
            let pdf = x
                .square()
                .mul_scalar(c(-0.5))
                .exp()
                .mul_scalar(c(1.0 / (2.0 * PI).sqrt()));
            g * &(&cdf + &(x * &pdf))
        }
        Unary::Softplus => g * &x.sigmoid(),
        Unary::Clamp(lo, hi) => {
            g * &mask(&|v| {
                if v >= lo && v <= hi {
                    T::one()
                } else {
                    T::zero()
                }
            })
        }
        Unary::Sign => return smallvec![None],
        Unary::Powf(p) => (g * &x.powf(p - T::one())).mul_scalar(p),
        Unary::Erf => g * &x.square().neg().exp().mul_scalar(c(2.0 / PI.sqrt())),
        Unary::AddScalar(_) => g.clone(),
        Unary::MulScalar(k) => g.mul_scalar(k),
    };
    smallvec![Some(dx)]
}

impl<T: Element> Var<T> {
    #[track_caller]
    fn unary(&self, op: Unary<T>) -> Var<T> {
        Var::record(&[self], op.apply(&self.value), || Op::Unary(op))
    }

    /// −x.
    #[track_caller]
    pub fn neg(&self) -> Var<T> {
        self.unary(Unary::Neg)
    }

    /// |x|; the derivative at 0 is 0.
    #[track_caller]
    pub fn abs(&self) -> Var<T> {
        self.unary(Unary::Abs)
    }

    /// eˣ; d/dx = eˣ.
    #[track_caller]
    pub fn exp(&self) -> Var<T> {
        self.unary(Unary::Exp)
    }

    /// ln x; d/dx = 1/x.
    #[track_caller]
    pub fn ln(&self) -> Var<T> {
        self.unary(Unary::Ln)
    }

    /// √x; d/dx = 1/(2√x).
    #[track_caller]
    pub fn sqrt(&self) -> Var<T> {
        self.unary(Unary::Sqrt)
    }

    /// x²; d/dx = 2x.
    #[track_caller]
    pub fn square(&self) -> Var<T> {
        self.unary(Unary::Square)
    }

    /// 1/x; d/dx = −1/x².
    #[track_caller]
    pub fn recip(&self) -> Var<T> {
        self.unary(Unary::Recip)
    }

    /// sin x; d/dx = cos x.
    #[track_caller]
    pub fn sin(&self) -> Var<T> {
        self.unary(Unary::Sin)
    }

    /// cos x; d/dx = −sin x.
    #[track_caller]
    pub fn cos(&self) -> Var<T> {
        self.unary(Unary::Cos)
    }

    /// tanh x; d/dx = 1 − tanh² x.
    #[track_caller]
    pub fn tanh(&self) -> Var<T> {
        self.unary(Unary::Tanh)
    }

    /// σ(x) = 1/(1 + e^(−x)), stable for all finite x; d/dx = σ(1 − σ).
    #[track_caller]
    pub fn sigmoid(&self) -> Var<T> {
        self.unary(Unary::Sigmoid)
    }

    /// max(x, 0); the derivative is 1 for x > 0 and 0 for x ≤ 0 (relu'(0) = 0).
    #[track_caller]
    pub fn relu(&self) -> Var<T> {
        self.unary(Unary::Relu)
    }

    /// x for x > 0, slope·x otherwise; the derivative at 0 is `slope`.
    #[track_caller]
    pub fn leaky_relu(&self, slope: T) -> Var<T> {
        self.unary(Unary::LeakyRelu(slope))
    }

    /// x·Φ(x) (exact GELU, with erf); d/dx = Φ(x) + x·φ(x).
    #[track_caller]
    pub fn gelu(&self) -> Var<T> {
        self.unary(Unary::Gelu)
    }

    /// ln(1 + eˣ), stable for all finite x; d/dx = σ(x).
    #[track_caller]
    pub fn softplus(&self) -> Var<T> {
        self.unary(Unary::Softplus)
    }

    /// x limited to [lo, hi]; the derivative is 1 on the closed interval and 0 outside.
    #[track_caller]
    pub fn clamp(&self, lo: T, hi: T) -> Var<T> {
        self.unary(Unary::Clamp(lo, hi))
    }

    /// −1, 0 or 1 by the sign of x; its derivative is 0 everywhere (no gradient flows).
    #[track_caller]
    pub fn sign(&self) -> Var<T> {
        self.unary(Unary::Sign)
    }

    /// xᵖ for a fixed p; d/dx = p·xᵖ⁻¹.
    #[track_caller]
    pub fn powf(&self, p: T) -> Var<T> {
        self.unary(Unary::Powf(p))
    }

    /// erf x; d/dx = 2/√π · e^(−x²).
    #[track_caller]
    pub fn erf(&self) -> Var<T> {
        self.unary(Unary::Erf)
    }

    /// x + c for a scalar c.
    #[track_caller]
    pub fn add_scalar(&self, c: T) -> Var<T> {
        self.unary(Unary::AddScalar(c))
    }

    /// c·x for a scalar c.
    #[track_caller]
    pub fn mul_scalar(&self, c: T) -> Var<T> {
        self.unary(Unary::MulScalar(c))
    }
}
