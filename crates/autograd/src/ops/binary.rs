//! Elementwise ops of two vars (and `where_cond`), with NumPy broadcasting, and their
//! `std::ops` forms: one table, each row an op's value and its two partial derivatives.
//!
//! Broadcasting is recorded as an explicit `broadcast_to` of each operand whose shape differs
//! from the result's; the gradient of `broadcast_to` (a sum back to the operand's shape) is the
//! only place where broadcasting is undone. The rules below therefore see equal shapes. At kinks
//! and NaN they follow PyTorch: at a tie `maximum` and `minimum` split the gradient evenly, and
//! where either operand is NaN both get the whole of it; `pow` has derivative 0 in the base
//! where the exponent is 0, and 0 in the exponent where the base is 0 and the exponent ≥ 0.

use std::ops::{Add, Div, Mul, Neg, Sub};

use shendu_tensor::{broadcast_shapes, Element, Tensor};

use crate::op::{if_tracked, two_grads, InputGrads, Op, OpKind};
use crate::var::Var;

/// Calls a table's forward; the closure's argument types come from this signature.
fn value_of<T: Element>(
    f: impl FnOnce(&Tensor<T>, &Tensor<T>) -> Tensor<T>,
    a: &Tensor<T>,
    b: &Tensor<T>,
) -> Tensor<T> {
    f(a, b)
}

/// Calls a table's partial derivative with inputs `a`, `b`, output `y` and output gradient `g`.
fn grad_of<T: Element>(
    rule: impl FnOnce(&Var<T>, &Var<T>, &Var<T>, &Var<T>) -> Var<T>,
    [a, b, y, g]: [&Var<T>; 4],
) -> Var<T> {
    rule(a, b, y, g)
}

/// The part of `g` that `maximum` or `minimum` sends to `a`'s side: none where `a` `loses` to
/// `b`, half at a tie, all of it otherwise (so a NaN on either side passes the whole gradient to
/// both). As in PyTorch, the losing side is chosen out, not multiplied by 0, so an infinite or
/// NaN `g` gives it 0 rather than NaN.
fn share<T: Element>(a: &Var<T>, b: &Var<T>, g: &Var<T>, loses: fn(T, T) -> bool) -> Var<T> {
    let half = T::from_f64_lossy(0.5);
    // 0, ½ or 1: also the mask of where `a` keeps any of `g`.
    let scale = a.constant(a.value.zip_with("share", &b.value, move |x, y| {
        if loses(x, y) {
            T::zero()
        } else if x == y {
            half
        } else {
            T::one()
        }
    }));
    Var::where_cond(&scale, &(g * &scale), &a.constant(Tensor::zeros([])))
}

/// `x` with `value` where `cond(x, other)` holds, recorded only if it holds somewhere: keeps a
/// rule's masked branch finite (ln 0, 0⁻¹), so that its gradient is 0 there rather than NaN.
fn replace_where<T: Element>(
    x: &Var<T>,
    other: &Var<T>,
    cond: fn(T, T) -> bool,
    value: T,
) -> Var<T> {
    let mask = x.value.zip_with("pow", &other.value, |u, v| {
        if cond(u, v) {
            T::one()
        } else {
            T::zero()
        }
    });
    if mask.to_vec().iter().all(|&m| m == T::zero()) {
        return x.clone();
    }
    Var::where_cond(&x.constant(mask), &x.constant(Tensor::scalar(value)), x)
}

/// Defines the elementwise ops of two vars from their table: the `Binary` enum, its `OpKind`,
/// its forward, its two partial derivatives and the public method on [`Var`]. A row reads
/// `/// doc  fn method as Variant { value: |a, b| …, grad_a: |a, b, y, g| …, grad_b: … }`.
macro_rules! binary_ops {
    ($(
        $(#[$doc:meta])*
        fn $method:ident as $variant:ident {
            value: $value:expr,
            grad_a: $grad_a:expr,
            grad_b: $grad_b:expr $(,)?
        }
    )*) => {
        /// An elementwise op of two vars of one shape.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Binary {
            $($variant,)*
        }

        impl Binary {
            pub(crate) fn kind(self) -> OpKind {
                match self {
                    $(Binary::$variant => OpKind::$variant,)*
                }
            }

            fn apply<T: Element>(self, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
                match self {
                    $(Binary::$variant => value_of($value, a, b),)*
                }
            }

            /// Gradients of `a op b` for inputs `[a, b]`, output `y` and output gradient `g`;
            /// each partial derivative runs only if its input is tracked.
            fn rule<T: Element>(self, a: &Var<T>, b: &Var<T>, y: &Var<T>, g: &Var<T>) -> InputGrads<T> {
                let args = [a, b, y, g];
                match self {
                    $(Binary::$variant => two_grads(
                        if_tracked(a, || grad_of($grad_a, args)),
                        if_tracked(b, || grad_of($grad_b, args)),
                    ),)*
                }
            }
        }

        impl<T: Element> Var<T> {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $method(&self, other: &Var<T>) -> Var<T> {
                    self.binary(Binary::$variant, other)
                }
            )*
        }
    };
}

binary_ops! {
    /// a + b, broadcasting.
    fn add as Add {
        value: |a, b| a.add(b),
        grad_a: |_a, _b, _y, g| g.clone(),
        grad_b: |_a, _b, _y, g| g.clone(),
    }
    /// a − b, broadcasting.
    fn sub as Sub {
        value: |a, b| a.sub(b),
        grad_a: |_a, _b, _y, g| g.clone(),
        grad_b: |_a, _b, _y, g| g.neg(),
    }
    /// a · b, broadcasting.
    fn mul as Mul {
        value: |a, b| a.mul(b),
        grad_a: |_a, b, _y, g| g * b,
        grad_b: |a, _b, _y, g| g * a,
    }
    /// a / b, broadcasting.
    fn div as Div {
        value: |a, b| a.div(b),
        grad_a: |_a, b, _y, g| g / b,
        // d(a/b)/db = −a/b² = −y/b.
        grad_b: |_a, b, y, g| -(&(g * y) / b),
    }
    /// aᵇ, broadcasting; d/da = b·aᵇ⁻¹ (0 where b = 0), d/db = aᵇ·ln a (0 where a = 0 and
    /// b ≥ 0), as in PyTorch. Real only for a > 0 otherwise.
    fn pow as Pow {
        value: |a, b| a.pow(b),
        // b·aᵇ⁻¹ with a read as 1 where b = 0: the product is 0 there, and so is its gradient.
        grad_a: |a, b, _y, g| {
            let a = replace_where(a, b, |_, v| v == T::zero(), T::one());
            &(g * b) * &a.pow(&b.add_scalar(-T::one()))
        },
        // aᵇ·ln a with a read as 1 where a = 0 ≤ b: ln 1 = 0 there.
        grad_b: |a, b, y, g| {
            let a = replace_where(a, b, |u, v| u == T::zero() && v >= T::zero(), T::one());
            &(g * y) * &a.ln()
        },
    }
    /// Binary cross-entropy of logits a against targets b, elementwise, broadcasting:
    /// b·softplus(−a) + (1 − b)·softplus(a), which is −[b·ln σ(a) + (1 − b)·ln(1 − σ(a))]
    /// without forming σ(a). Both terms are non-negative, so nothing cancels for any finite a.
    /// d/da = σ(a) − b, d/db = −a. One node instead of the nine of its composition: on a
    /// small batch the tape's cost is per node, and this loss ends every binary classifier.
    fn bce_with_logits as BceWithLogits {
        value: |a, b| a.zip_with("bce_with_logits", b, |z, t| {
            t * shendu_tensor::softplus(-z) + (T::one() - t) * shendu_tensor::softplus(z)
        }),
        grad_a: |a, b, _y, g| g * &(&a.sigmoid() - b),
        grad_b: |a, _b, _y, g| -(g * a),
    }
    /// The gradient of `tanh` from its output: `self` is y = tanh(x), `other` the output
    /// gradient g, and the value g·(1 − y²) (PyTorch's `tanh_backward`, in its order of
    /// operations), broadcasting. `tanh`'s rule records this one op rather than three, and it
    /// is itself differentiable, so gradients of gradients still work; a custom op's rule can
    /// call it too.
    fn tanh_backward as TanhBackward {
        value: |a, b| a.zip_with("tanh_backward", b, |y, g| g * (T::one() - y * y)),
        // ∂/∂y = −2·y·g.
        grad_a: |a, b, _y, g| (&(g * b) * a).mul_scalar(T::from_f64_lossy(-2.0)),
        grad_b: |a, _b, _y, g| a.tanh_backward(g),
    }
    /// The gradient of `sigmoid` from its output: `self` is y = σ(x), `other` the output
    /// gradient g, and the value g·(1 − y)·y (PyTorch's `sigmoid_backward`, in its order of
    /// operations); one recorded op for `sigmoid`'s rule, as [`Var::tanh_backward`] for `tanh`.
    fn sigmoid_backward as SigmoidBackward {
        value: |a, b| a.zip_with("sigmoid_backward", b, |y, g| g * (T::one() - y) * y),
        // ∂/∂y = g·(1 − 2y).
        grad_a: |a, b, _y, g| {
            &(g * b) * &a.mul_scalar(T::from_f64_lossy(-2.0)).add_scalar(T::one())
        },
        grad_b: |a, _b, _y, g| a.sigmoid_backward(g),
    }
    /// The gradient of `relu` from its input: `self` is x, `other` the output gradient g, and the
    /// value g where x > 0 or x is NaN and 0 elsewhere (PyTorch's `threshold_backward`: a
    /// choice, not a product, so an infinite or NaN g gives 0, not NaN, where x ≤ 0). One
    /// recorded op for `relu`'s rule; its derivative in x is 0.
    fn relu_backward as ReluBackward {
        value: |a, b| a.zip_with("relu_backward", b, |x, g| {
            if x <= T::zero() { T::zero() } else { g }
        }),
        grad_a: |a, _b, _y, _g| a.constant(Tensor::zeros(a.shape())),
        grad_b: |a, _b, _y, g| a.relu_backward(g),
    }
    /// max(a, b), broadcasting; at a tie each side gets half the gradient, and where either
    /// side is NaN both get all of it.
    fn maximum as Maximum {
        value: |a, b| a.maximum(b),
        grad_a: |a, b, _y, g| share(a, b, g, |x, y| x < y),
        grad_b: |a, b, _y, g| share(b, a, g, |x, y| x < y),
    }
    /// min(a, b), broadcasting; at a tie each side gets half the gradient, and where either
    /// side is NaN both get all of it.
    fn minimum as Minimum {
        value: |a, b| a.minimum(b),
        grad_a: |a, b, _y, g| share(a, b, g, |x, y| x > y),
        grad_b: |a, b, _y, g| share(b, a, g, |x, y| x > y),
    }
}

/// Gradients of `a op b` for inputs `[a, b]`, output `y` and output gradient `g`.
pub(crate) fn backward<T: Element>(
    op: Binary,
    inputs: &[Var<T>],
    y: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    op.rule(&inputs[0], &inputs[1], y, g)
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
    two_grads(
        if_tracked(a, || Var::where_cond(&mask, g, &zero)),
        if_tracked(b, || Var::where_cond(&mask, &zero, g)),
    )
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
        let shape = broadcast_shapes(op.kind().method_name(), self.shape(), other.shape());
        let (a, b) = (self.expand(&shape), other.expand(&shape));
        Var::record(&[&a, &b], op.apply(&a.value, &b.value), || Op::Binary(op))
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
    ($($(#[$doc:meta])* fn $name:ident;)*) => {
        impl<T: Element> Var<T> {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $name(&self, other: &Var<T>) -> Var<T> {
                    self.constant(self.value.$name(&other.value))
                }
            )*
        }
    };
}

comparisons! {
    /// 1 where a = b, else 0 (a constant mask).
    fn eq;
    /// 1 where a ≠ b, else 0 (a constant mask).
    fn ne;
    /// 1 where a < b, else 0 (a constant mask).
    fn lt;
    /// 1 where a ≤ b, else 0 (a constant mask).
    fn le;
    /// 1 where a > b, else 0 (a constant mask).
    fn gt;
    /// 1 where a ≥ b, else 0 (a constant mask).
    fn ge;
}

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
