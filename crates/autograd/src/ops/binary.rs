//! Elementwise ops of two vars (and `where_cond`), with NumPy broadcasting, and their
//! `std::ops` forms.
//!
//! Broadcasting is recorded as an explicit `broadcast_to` of each operand whose shape differs
//! from the result's; the gradient of `broadcast_to` (a sum back to the operand's shape) is the
//! only place where broadcasting is undone. The rules below therefore see equal shapes. At ties,
//! `maximum` and `minimum` split the gradient evenly between the two operands.

use std::ops::{Add, Div, Mul, Neg, Sub};

use shendu_tensor::{broadcast_shapes, Element, Tensor};
use smallvec::smallvec;

use crate::op::{if_tracked, InputGrads, Op};
use crate::var::Var;

/// An elementwise op of two vars of one shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Maximum,
    Minimum,
}

impl Binary {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
            Binary::Pow => "pow",
            Binary::Maximum => "maximum",
            Binary::Minimum => "minimum",
        }
    }

    fn apply<T: Element>(self, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
        match self {
            Binary::Add => a.add(b),
            Binary::Sub => a.sub(b),
            Binary::Mul => a.mul(b),
            Binary::Div => a.div(b),
            Binary::Pow => a.pow(b),
            Binary::Maximum => a.maximum(b),
            Binary::Minimum => a.minimum(b),
        }
    }
}

/// Gradients of `a op b` for inputs `[a, b]`, output `y` and output gradient `g`.
pub(crate) fn backward<T: Element>(
    op: Binary,
    inputs: &[Var<T>],
    y: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    let (a, b) = (&inputs[0], &inputs[1]);
    // A constant weight in [0, 1] on `a`'s side, for the kinks of maximum and minimum.
    let tie_weight = |wins: Tensor<T>| {
        let half = T::from_f64_lossy(0.5);
        a.constant(wins.add(&a.value.eq(&b.value).map(|t| t * half)))
    };
    match op {
        Binary::Add => smallvec![if_tracked(a, || g.clone()), if_tracked(b, || g.clone())],
        Binary::Sub => smallvec![if_tracked(a, || g.clone()), if_tracked(b, || g.neg())],
        Binary::Mul => smallvec![if_tracked(a, || g * b), if_tracked(b, || g * a)],
        // d(a/b)/db = −a/b² = −y/b.
        Binary::Div => smallvec![if_tracked(a, || g / b), if_tracked(b, || -(&(g * y) / b))],
        // d(aᵇ)/da = b·aᵇ⁻¹, d(aᵇ)/db = aᵇ·ln a.
        Binary::Pow => smallvec![
            if_tracked(a, || &(g * b) * &a.pow(&b.add_scalar(-T::one()))),
            if_tracked(b, || &(g * y) * &a.ln())
        ],
        Binary::Maximum => {
            let w = tie_weight(a.value.gt(&b.value));
            smallvec![
                if_tracked(a, || g * &w),
                if_tracked(b, || g * &(-&w).add_scalar(T::one()))
            ]
        }
        Binary::Minimum => {
            let w = tie_weight(a.value.lt(&b.value));
            smallvec![
                if_tracked(a, || g * &w),
                if_tracked(b, || g * &(-&w).add_scalar(T::one()))
            ]
        }
    }
}

/// Gradients of `where_cond(mask, a, b)`: the output gradient goes to the side the mask chose.
pub(crate) fn where_cond_backward<T: Element>(
    mask: &Tensor<T>,
    inputs: &[Var<T>],
    g: &Var<T>,
) -> InputGrads<T> {
    let (a, b) = (&inputs[0], &inputs[1]);
    let mask = g.constant(mask.clone());
    let zero = g.constant(Tensor::scalar(T::zero()));
    smallvec![
        if_tracked(a, || Var::where_cond(&mask, g, &zero)),
        if_tracked(b, || Var::where_cond(&mask, &zero, g))
    ]
}

impl<T: Element> Var<T> {
    /// This var broadcast to `shape`, recorded only if the shape changes.
    #[track_caller]
    pub(crate) fn expand(&self, shape: &[usize]) -> Var<T> {
        if self.shape() == shape {
            self.clone()
        } else {
            self.broadcast_to(shape)
        }
    }

    #[track_caller]
    fn binary(&self, op: Binary, other: &Var<T>) -> Var<T> {
        if self.shape() == other.shape() {
            return Var::record(&[self, other], op.apply(&self.value, &other.value), || {
                Op::Binary(op)
            });
        }
        let shape = broadcast_shapes(op.name(), self.shape(), other.shape());
        let (a, b) = (self.expand(&shape), other.expand(&shape));
        Var::record(&[&a, &b], op.apply(&a.value, &b.value), || Op::Binary(op))
    }

    /// a + b, broadcasting.
    #[track_caller]
    pub fn add(&self, other: &Var<T>) -> Var<T> {
        self.binary(Binary::Add, other)
    }

    /// a − b, broadcasting.
    #[track_caller]
    pub fn sub(&self, other: &Var<T>) -> Var<T> {
        self.binary(Binary::Sub, other)
    }

    /// a · b, broadcasting.
    #[track_caller]
    pub fn mul(&self, other: &Var<T>) -> Var<T> {
        self.binary(Binary::Mul, other)
    }

    /// a / b, broadcasting.
    #[track_caller]
    pub fn div(&self, other: &Var<T>) -> Var<T> {
        self.binary(Binary::Div, other)
    }

    /// aᵇ, broadcasting; d/da = b·aᵇ⁻¹, d/db = aᵇ·ln a (real only for a > 0).
    #[track_caller]
    pub fn pow(&self, exponent: &Var<T>) -> Var<T> {
        self.binary(Binary::Pow, exponent)
    }

    /// max(a, b), broadcasting; at a tie each side gets half the gradient.
    #[track_caller]
    pub fn maximum(&self, other: &Var<T>) -> Var<T> {
        self.binary(Binary::Maximum, other)
    }

    /// min(a, b), broadcasting; at a tie each side gets half the gradient.
    #[track_caller]
    pub fn minimum(&self, other: &Var<T>) -> Var<T> {
        self.binary(Binary::Minimum, other)
    }

    /// `a` where `mask` is non-zero, `b` elsewhere, all three broadcast together. The mask is
    /// treated as a constant; the gradient flows to the side that was chosen.
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![-1.0, 2.0], [2]));
    /// let mask = x.gt(&tape.constant(Tensor::scalar(0.0)));
    /// let y = Var::where_cond(&mask, &x.square(), &x.neg()).sum_all();
    /// assert_eq!(y.backward()[&x].to_vec(), vec![-1.0, 4.0]);
    /// # use shendu_autograd::Var;
    /// ```
    #[track_caller]
    pub fn where_cond(mask: &Var<T>, a: &Var<T>, b: &Var<T>) -> Var<T> {
        let shape = broadcast_shapes(
            "where_cond",
            &broadcast_shapes("where_cond", mask.shape(), a.shape()),
            b.shape(),
        );
        let (a, b) = (a.expand(&shape), b.expand(&shape));
        let mask = mask.value.broadcast_to(&shape[..]);
        let value = Tensor::where_cond(&mask, &a.value, &b.value);
        Var::record(&[&a, &b], value, || Op::WhereCond {
            mask: a.tape.store_constant(mask),
        })
    }
}

/// Comparisons give constant 0/1 masks: they have no derivative.
macro_rules! comparisons {
    ($($name:ident $doc:literal),*) => {
        impl<T: Element> Var<T> {
            $(
                #[doc = $doc]
                #[track_caller]
                pub fn $name(&self, other: &Var<T>) -> Var<T> {
                    self.constant(self.value.$name(&other.value))
                }
            )*
        }
    };
}

comparisons!(
    eq "1 where a = b, else 0 (a constant mask).",
    ne "1 where a ≠ b, else 0 (a constant mask).",
    lt "1 where a < b, else 0 (a constant mask).",
    le "1 where a ≤ b, else 0 (a constant mask).",
    gt "1 where a > b, else 0 (a constant mask).",
    ge "1 where a ≥ b, else 0 (a constant mask)."
);

/// `std::ops` for every ownership combination of two vars, for a var and a scalar, and for an
/// `f32`/`f64` scalar on the left.
macro_rules! std_ops {
    ($($trait:ident $method:ident $scalar_op:ident $scalar:expr),*) => {$(
        impl<T: Element> $trait<&Var<T>> for &Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: &Var<T>) -> Var<T> {
                Var::$method(self, rhs)
            }
        }
        impl<T: Element> $trait<Var<T>> for &Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: Var<T>) -> Var<T> {
                Var::$method(self, &rhs)
            }
        }
        impl<T: Element> $trait<&Var<T>> for Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: &Var<T>) -> Var<T> {
                Var::$method(&self, rhs)
            }
        }
        impl<T: Element> $trait<Var<T>> for Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: Var<T>) -> Var<T> {
                Var::$method(&self, &rhs)
            }
        }
        impl<T: Element> $trait<T> for &Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: T) -> Var<T> {
                let scalar: fn(T) -> T = $scalar;
                self.$scalar_op(scalar(rhs))
            }
        }
        impl<T: Element> $trait<T> for Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: T) -> Var<T> {
                let scalar: fn(T) -> T = $scalar;
                self.$scalar_op(scalar(rhs))
            }
        }
        std_ops!(@scalar_lhs f32, $trait $method);
        std_ops!(@scalar_lhs f64, $trait $method);
    )*};
    (@scalar_lhs $t:ty, $trait:ident $method:ident) => {
        impl $trait<&Var<$t>> for $t {
            type Output = Var<$t>;
            #[track_caller]
            fn $method(self, rhs: &Var<$t>) -> Var<$t> {
                Var::$method(&rhs.constant(Tensor::scalar(self)), rhs)
            }
        }
        impl $trait<Var<$t>> for $t {
            type Output = Var<$t>;
            #[track_caller]
            fn $method(self, rhs: Var<$t>) -> Var<$t> {
                Var::$method(&rhs.constant(Tensor::scalar(self)), &rhs)
            }
        }
    };
}

// A var and a scalar record one unary op; dividing by c multiplies by 1/c.
std_ops!(
    Add add add_scalar |c| c,
    Sub sub add_scalar |c: T| -c,
    Mul mul mul_scalar |c| c,
    Div div mul_scalar |c: T| c.recip()
);

impl<T: Element> Neg for &Var<T> {
    type Output = Var<T>;
    #[track_caller]
    fn neg(self) -> Var<T> {
        Var::neg(self)
    }
}

impl<T: Element> Neg for Var<T> {
    type Output = Var<T>;
    #[track_caller]
    fn neg(self) -> Var<T> {
        Var::neg(&self)
    }
}
