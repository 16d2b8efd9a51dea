//! Elementwise functions of one var: one table, each row an op's value and its derivative side
//! by side.
//!
//! Derivatives reuse the output where that is cheaper (exp, tanh, sigmoid, sqrt, recip) and are
//! written with var ops, so they can be differentiated again. The activations' rules are one op
//! each, as in PyTorch's derivative table: `tanh_backward`, `sigmoid_backward` and
//! `relu_backward` (in `binary.rs`), each with a rule of its own. At kinks and at NaN they follow
//! PyTorch: relu'(0) = 0 and relu'(NaN) = 1 (the gradient passes), abs'(0) = abs'(NaN) = 0,
//! leaky_relu'(0) = slope, clamp passes the gradient on its closed interval [lo, hi] (not at
//! NaN), sign' = 0, and d/dx xᵖ = 0 for p = 0 (x⁰ is the constant 1, even at x = 0).

use std::f64::consts::{FRAC_1_SQRT_2, PI};

use shendu_tensor::{Element, Tensor};

use crate::op::{one_grad, InputGrads, Op, OpKind};
use crate::var::Var;

fn c<T: Element>(x: f64) -> T {
    T::from_f64_lossy(x)
}

/// A constant of `x`'s shape: `f` of each element of its value (a mask, a sign).
fn mask_of<T: Element>(x: &Var<T>, f: impl Fn(T) -> T + Sync) -> Var<T> {
    x.constant(x.value.map(f))
}

/// Zero, as the gradient of an op whose derivative vanishes: a constant, so nothing records.
fn zero_like<T: Element>(x: &Var<T>) -> Var<T> {
    x.constant(Tensor::zeros(x.shape()))
}

/// Calls a table's forward; the closure's argument type comes from this signature.
fn value_of<T: Element>(f: impl FnOnce(&Tensor<T>) -> Tensor<T>, x: &Tensor<T>) -> Tensor<T> {
    f(x)
}

/// Calls a table's gradient rule with input `x`, output `y` and output gradient `g`.
fn grad_of<T: Element>(
    rule: impl FnOnce(&Var<T>, &Var<T>, &Var<T>) -> Var<T>,
    x: &Var<T>,
    y: &Var<T>,
    g: &Var<T>,
) -> Var<T> {
    rule(x, y, g)
}

/// Defines the elementwise ops of one var from their table: the `Unary` enum (one variant per
/// row, holding the op's scalar parameters), its `OpKind`, its forward, its gradient rule and
/// the public method on [`Var`]. A row reads
/// `/// doc  fn method(params) as Variant { value: |x| …, grad: |x, y, g| … }`.
macro_rules! unary_ops {
    ($(
        $(#[$doc:meta])*
        fn $method:ident($($param:ident: $ptype:ty),*) as $variant:ident {
            value: $value:expr,
            grad: $grad:expr $(,)?
        }
    )*) => {
        /// An elementwise function of one var, with its parameters.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub(crate) enum Unary<T> {
            $($variant($($ptype),*),)*
        }

        impl<T: Element> Unary<T> {
            pub(crate) fn kind(&self) -> OpKind {
                match self {
                    $(Unary::$variant(..) => OpKind::$variant,)*
                }
            }

            // A row's closures need not use every parameter (add_scalar's rule ignores c).
            #[allow(unused_variables)]
            fn apply(self, x: &Tensor<T>) -> Tensor<T> {
                match self {
                    $(Unary::$variant($($param),*) => value_of($value, x),)*
                }
            }

            /// d(op)/dx · g, for input `x` and output `y`.
            #[allow(unused_variables)]
            fn rule(self, x: &Var<T>, y: &Var<T>, g: &Var<T>) -> Var<T> {
                match self {
                    $(Unary::$variant($($param),*) => grad_of($grad, x, y, g),)*
                }
            }
        }

        impl<T: Element> Var<T> {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $method(&self, $($param: $ptype),*) -> Var<T> {
                    self.unary(Unary::$variant($($param),*))
                }
            )*
        }
    };
}

unary_ops! {
    /// −x.
    fn neg() as Neg {
        value: |x| x.neg(),
        grad: |_x, _y, g| g.neg(),
    }
    /// |x|; the derivative is sign(x), and 0 at 0 and at NaN (as PyTorch).
    fn abs() as Abs {
        value: |x| x.abs(),
        grad: |x, _y, g| {
            let sign = mask_of(x, |v| {
                if v > T::zero() {
                    T::one()
                } else if v < T::zero() {
                    -T::one()
                } else {
                    T::zero()
                }
            });
            g * &sign
        },
    }
    /// eˣ; d/dx = eˣ.
    fn exp() as Exp {
        value: |x| x.exp(),
        grad: |_x, y, g| g * y,
    }
    /// ln x; d/dx = 1/x.
    fn ln() as Ln {
        value: |x| x.ln(),
        grad: |x, _y, g| g / x,
    }
    /// √x; d/dx = 1/(2√x).
    fn sqrt() as Sqrt {
        value: |x| x.sqrt(),
        grad: |_x, y, g| (g / y).mul_scalar(c(0.5)),
    }
    /// x²; d/dx = 2x.
    fn square() as Square {
        value: |x| x.square(),
        grad: |x, _y, g| (g * x).mul_scalar(c(2.0)),
    }
    /// 1/x; d/dx = −1/x².
    fn recip() as Recip {
        value: |x| x.recip(),
        grad: |_x, y, g| -(g * &y.square()),
    }
    /// sin x; d/dx = cos x.
    fn sin() as Sin {
        value: |x| x.sin(),
        grad: |x, _y, g| g * &x.cos(),
    }
    /// cos x; d/dx = −sin x.
    fn cos() as Cos {
        value: |x| x.cos(),
        grad: |x, _y, g| -(g * &x.sin()),
    }
    /// tanh x; d/dx = 1 − tanh² x.
    fn tanh() as Tanh {
        value: |x| x.tanh(),
        grad: |_x, y, g| y.tanh_backward(g),
    }
    /// σ(x) = 1/(1 + e^(−x)), stable for all finite x; d/dx = σ(1 − σ).
    fn sigmoid() as Sigmoid {
        value: |x| x.sigmoid(),
        grad: |_x, y, g| y.sigmoid_backward(g),
    }
    /// max(x, 0); the derivative is 0 for x ≤ 0 and 1 otherwise, NaN included (as PyTorch, a
    /// NaN passes the gradient on).
    fn relu() as Relu {
        value: |x| x.relu(),
        grad: |x, _y, g| x.relu_backward(g),
    }
    /// x for x > 0, slope·x otherwise; the derivative at 0 (and at NaN) is `slope`.
    fn leaky_relu(slope: T) as LeakyRelu {
        value: |x| x.leaky_relu(slope),
        grad: |x, _y, g| g * &mask_of(x, |v| if v > T::zero() { T::one() } else { slope }),
    }
    /// x·Φ(x) (exact GELU, with erf); d/dx = Φ(x) + x·φ(x).
    fn gelu() as Gelu {
        value: |x| x.gelu(),
        grad: |x, _y, g| {
            // Φ(x) = (1 + erf(x/√2)) / 2, φ(x) = e^(−x²/2) / √(2π).
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
        },
    }
    /// ln(1 + eˣ), stable for all finite x; d/dx = σ(x).
    fn softplus() as Softplus {
        value: |x| x.softplus(),
        grad: |x, _y, g| g * &x.sigmoid(),
    }
    /// x limited to [lo, hi]; the derivative is 1 on the closed interval, 0 outside and at NaN.
    /// The gradient is chosen, not multiplied by a 0/1 mask, as in PyTorch: an infinite or NaN
    /// output gradient gives 0 outside the interval, not NaN.
    fn clamp(lo: T, hi: T) as Clamp {
        value: |x| x.clamp(lo, hi),
        grad: |x, _y, g| {
            let inside = mask_of(x, |v| if v >= lo && v <= hi { T::one() } else { T::zero() });
            Var::where_cond(&inside, g, &x.constant(Tensor::zeros([])))
        },
    }
    /// −1, 0 or 1 by the sign of x; its derivative is 0 everywhere.
    fn sign() as Sign {
        value: |x| x.sign(),
        grad: |x, _y, _g| zero_like(x),
    }
    /// xᵖ for a fixed p; d/dx = p·xᵖ⁻¹, and 0 for p = 0 (x⁰ is constant, even at x = 0, as in
    /// PyTorch).
    fn powf(p: T) as Powf {
        value: |x| x.powf(p),
        grad: |x, _y, g| {
            if p == T::zero() {
                zero_like(x)
            } else {
                (g * &x.powf(p - T::one())).mul_scalar(p)
            }
        },
    }
    /// erf x; d/dx = 2/√π · e^(−x²).
    fn erf() as Erf {
        value: |x| x.erf(),
        grad: |x, _y, g| g * &x.square().neg().exp().mul_scalar(c(2.0 / PI.sqrt())),
    }
    /// x + c for a scalar c.
    fn add_scalar(c: T) as AddScalar {
        value: |x| x.map(|v| v + c),
        grad: |_x, _y, g| g.clone(),
    }
    /// c·x for a scalar c.
    fn mul_scalar(c: T) as MulScalar {
        value: |x| x.map(|v| v * c),
        grad: |_x, _y, g| g.mul_scalar(c),
    }
}

/// d(op)/dx · g for input `x`, output `y` and output gradient `g`.
pub(crate) fn backward<T: Element>(
    op: Unary<T>,
    x: &Var<T>,
    y: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    if !x.is_tracked() {
        return one_grad(None);
    }
    one_grad(Some(op.rule(x, y, g)))
}

impl<T: Element> Var<T> {
    #[track_caller]
    fn unary(&self, op: Unary<T>) -> Var<T> {
        Var::record(&[self], op.apply(&self.value), || Op::Unary(op))
    }

    /// The natural logarithm, as [`Var::ln`]: the name PyTorch and NumPy use.
    #[track_caller]
    pub fn log(&self) -> Var<T> {
        self.ln()
    }
}
