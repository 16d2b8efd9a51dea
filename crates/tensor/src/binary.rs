//! Elementwise ops of two or three tensors, with NumPy broadcasting, and their `std::ops` forms.
//!
//! Each op is one line: its name (for messages) and its scalar function. The broadcast and the
//! loops are shared, in [`Tensor::zip_with`] and the `cpu::map` kernels.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::cpu::map::{map2, map3};
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::{broadcast_shapes, Dims};
use crate::tensor::Tensor;

impl<T: Element> Tensor<T> {
    /// `f(a, b)` elementwise over `self` and `other` broadcast together; `op` names the
    /// operation in error messages. The building block of every binary op, public so that users
    /// can write their own.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 5.0], [2]);
    /// let hypot = a.zip_with("hypot", &Tensor::scalar(12.0), |x, y| x.hypot(y));
    /// assert_eq!(hypot.to_vec()[1], 13.0);
    /// ```
    #[track_caller]
    pub fn zip_with(&self, op: &str, other: &Tensor<T>, f: impl Fn(T, T) -> T + Sync) -> Tensor<T> {
        let (a, b) = (self.storage.as_slice(), other.storage.as_slice());
        if self.shape() == other.shape() {
            let data = map2((a, &self.layout), (b, &other.layout), f);
            return Tensor::from_parts(data, Layout::contiguous(Dims::from_slice(self.shape())));
        }
        let shape = broadcast_shapes(op, self.shape(), other.shape());
        let la = self.layout.broadcast_to(op, &shape);
        let lb = other.layout.broadcast_to(op, &shape);
        let data = map2((a, &la), (b, &lb), f);
        Tensor::from_parts(data, Layout::contiguous(shape))
    }

    /// `a + b` elementwise, broadcasting.
    #[track_caller]
    pub fn add(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("add", other, |a, b| a + b)
    }

    /// `a - b` elementwise, broadcasting.
    #[track_caller]
    pub fn sub(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("sub", other, |a, b| a - b)
    }

    /// `a · b` elementwise, broadcasting.
    #[track_caller]
    pub fn mul(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("mul", other, |a, b| a * b)
    }

    /// `a / b` elementwise, broadcasting.
    #[track_caller]
    pub fn div(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("div", other, |a, b| a / b)
    }

    /// `a ^ b` elementwise, broadcasting (real powers: a negative base with a fractional
    /// exponent gives NaN).
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![2.0f32, 9.0], [2]);
    /// assert_eq!(a.pow(&Tensor::from_vec(vec![3.0, 0.5], [2])).to_vec(), vec![8.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn pow(&self, exponent: &Tensor<T>) -> Tensor<T> {
        self.zip_with("pow", exponent, |a, b| a.powf(b))
    }

    /// The larger of `a` and `b` elementwise; NaN if either is NaN.
    #[track_caller]
    pub fn maximum(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("maximum", other, |a, b| if a > b || a.is_nan() { a } else { b })
    }

    /// The smaller of `a` and `b` elementwise; NaN if either is NaN.
    #[track_caller]
    pub fn minimum(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("minimum", other, |a, b| if a < b || a.is_nan() { a } else { b })
    }

    /// 1 where `a == b`, else 0.
    #[track_caller]
    pub fn eq(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("eq", other, |a, b| mask(a == b))
    }

    /// 1 where `a != b`, else 0.
    #[track_caller]
    pub fn ne(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("ne", other, |a, b| mask(a != b))
    }

    /// 1 where `a < b`, else 0.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], [3]);
    /// assert_eq!(a.lt(&Tensor::scalar(2.0)).to_vec(), vec![1.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn lt(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("lt", other, |a, b| mask(a < b))
    }

    /// 1 where `a <= b`, else 0.
    #[track_caller]
    pub fn le(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("le", other, |a, b| mask(a <= b))
    }

    /// 1 where `a > b`, else 0.
    #[track_caller]
    pub fn gt(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("gt", other, |a, b| mask(a > b))
    }

    /// 1 where `a >= b`, else 0.
    #[track_caller]
    pub fn ge(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with("ge", other, |a, b| mask(a >= b))
    }

    /// `a` where `mask` is non-zero, `b` elsewhere; all three broadcast together. Unlike
    /// `mask · a + (1 − mask) · b`, the unselected side never leaks in (an infinity there stays out).
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let mask = Tensor::from_vec(vec![1.0f32, 0.0], [2]);
    /// let picked = Tensor::where_cond(&mask, &Tensor::scalar(f32::INFINITY), &Tensor::scalar(-1.0));
    /// assert_eq!(picked.to_vec(), vec![f32::INFINITY, -1.0]);
    /// ```
    #[track_caller]
    pub fn where_cond(mask: &Tensor<T>, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
        let shape = broadcast_shapes(
            "where_cond",
            &broadcast_shapes("where_cond", mask.shape(), a.shape()),
            b.shape(),
        );
        let lm = mask.layout.broadcast_to("where_cond", &shape);
        let la = a.layout.broadcast_to("where_cond", &shape);
        let lb = b.layout.broadcast_to("where_cond", &shape);
        let data = map3(
            (mask.storage.as_slice(), &lm),
            (a.storage.as_slice(), &la),
            (b.storage.as_slice(), &lb),
            |m, x, y| if m != T::zero() { x } else { y },
        );
        Tensor::from_parts(data, Layout::contiguous(shape))
    }
}

fn mask<T: Element>(condition: bool) -> T {
    if condition {
        T::one()
    } else {
        T::zero()
    }
}

/// `std::ops` for every ownership combination of two tensors, for a tensor and a scalar, and for
/// an `f32`/`f64` scalar on the left.
macro_rules! binary_std_ops {
    ($($trait:ident $method:ident $op:tt),*) => {$(
        impl<T: Element> $trait<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$method(self, rhs)
            }
        }
        impl<T: Element> $trait<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$method(self, &rhs)
            }
        }
        impl<T: Element> $trait<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$method(&self, rhs)
            }
        }
        impl<T: Element> $trait<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$method(&self, &rhs)
            }
        }
        impl<T: Element> $trait<T> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map(|x| x $op rhs)
            }
        }
        impl<T: Element> $trait<T> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map(|x| x $op rhs)
            }
        }
        binary_std_ops!(@scalar_lhs f32, $trait $method $op);
        binary_std_ops!(@scalar_lhs f64, $trait $method $op);
    )*};
    (@scalar_lhs $t:ty, $trait:ident $method:ident $op:tt) => {
        impl $trait<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn $method(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.map(|x| self $op x)
            }
        }
        impl $trait<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn $method(self, rhs: Tensor<$t>) -> Tensor<$t> {
                rhs.map(|x| self $op x)
            }
        }
    };
}

binary_std_ops!(Add add +, Sub sub -, Mul mul *, Div div /);

impl<T: Element> Neg for &Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(self)
    }
}

impl<T: Element> Neg for Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(&self)
    }
}
