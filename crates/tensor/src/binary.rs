//! Elementwise ops of two or three tensors, with NumPy broadcasting, and their `std::ops` forms.
//!
//! Each op is one line: its name (for messages) and its scalar function. The broadcast and the
//! loops are shared, in [`Tensor::zip_with`] and the `cpu::map` kernels. Next to the comparisons,
//! `allclose` folds an elementwise tolerance test into one `bool`.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::cpu::map::{map2, map3};
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::{broadcast_shapes, checked_numel, dims};
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
            return Tensor::from_parts(data, Layout::contiguous(dims(self.shape())));
        }
        let shape = broadcast_shapes(op, self.shape(), other.shape());
        checked_numel::<T>(op, &shape);
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
        self.zip_with(
            "maximum",
            other,
            |a, b| if a > b || a.is_nan() { a } else { b },
        )
    }

    /// The smaller of `a` and `b` elementwise; NaN if either is NaN.
    #[track_caller]
    pub fn minimum(&self, other: &Tensor<T>) -> Tensor<T> {
        self.zip_with(
            "minimum",
            other,
            |a, b| if a < b || a.is_nan() { a } else { b },
        )
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

    /// Whether `|a − b| ≤ atol + rtol·|b|` for every pair of elements, broadcasting (NumPy's
    /// `allclose`): NaN is never close, and an infinity is close only to itself.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], [2]);
    /// assert!(a.allclose(&Tensor::from_vec(vec![1.0, 2.000001], [2]), 1e-5, 1e-8));
    /// assert!(!a.allclose(&Tensor::scalar(1.0), 1e-5, 1e-8));
    /// ```
    #[track_caller]
    pub fn allclose(&self, other: &Tensor<T>, rtol: T, atol: T) -> bool {
        let close = self.zip_with("allclose", other, move |a, b| {
            mask(if a.is_finite() && b.is_finite() {
                (a - b).abs() <= atol + rtol * b.abs()
            } else {
                a == b
            })
        });
        close.to_vec().iter().all(|&c| c == T::one())
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
        mask.zip3_with(
            "where_cond",
            a,
            b,
            |m, x, y| if m != T::zero() { x } else { y },
        )
    }

    /// `f(self[i], b[i], c[i])` elementwise, the three broadcast together, in one pass: what
    /// several elementwise ops compute one after the other, without their temporaries. `op`
    /// names the caller's operation in a shape error.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], [2]);
    /// let fma = x.zip3_with("fma", &Tensor::scalar(3.0), &Tensor::scalar(0.5), |x, a, b| x * a + b);
    /// assert_eq!(fma.to_vec(), vec![3.5, 6.5]);
    /// ```
    #[track_caller]
    pub fn zip3_with(
        &self,
        op: &str,
        b: &Tensor<T>,
        c: &Tensor<T>,
        f: impl Fn(T, T, T) -> T + Sync,
    ) -> Tensor<T> {
        let shape = if self.shape() == b.shape() && b.shape() == c.shape() {
            dims(self.shape())
        } else {
            let shape = broadcast_shapes(
                op,
                &broadcast_shapes(op, self.shape(), b.shape()),
                c.shape(),
            );
            checked_numel::<T>(op, &shape);
            shape
        };
        let la = self.layout.broadcast_to(op, &shape);
        let lb = b.layout.broadcast_to(op, &shape);
        let lc = c.layout.broadcast_to(op, &shape);
        let data = map3(
            (self.storage.as_slice(), &la),
            (b.storage.as_slice(), &lb),
            (c.storage.as_slice(), &lc),
            f,
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

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn allclose_tolerances() {
        let a = Tensor::<f64>::from_vec(vec![1.0, 2.0], [2]);
        assert!(a.allclose(&Tensor::from_vec(vec![1.0, 2.0 + 1e-6], [2]), 1e-5, 1e-8));
        assert!(!a.allclose(&Tensor::from_vec(vec![1.0, 2.1], [2]), 1e-5, 1e-8));
        // atol alone: |1 - 1.5| = 0.5.
        let one = Tensor::<f64>::scalar(1.0);
        assert!(one.allclose(&Tensor::scalar(1.5), 0.0, 0.5));
        assert!(!one.allclose(&Tensor::scalar(1.5), 0.0, 0.25));
        // rtol scales |b|, the second argument: |9 - 10| = 1 ≤ 0.1 · 10, but not ≤ 0.1 · 9.
        let (nine, ten) = (Tensor::<f64>::scalar(9.0), Tensor::<f64>::scalar(10.0));
        assert!(nine.allclose(&ten, 0.1, 0.0));
        assert!(!ten.allclose(&nine, 0.1, 0.0));
    }

    #[test]
    fn allclose_broadcasts_and_handles_nan_and_infinity() {
        assert!(Tensor::<f32>::ones([2, 2]).allclose(&Tensor::scalar(1.0), 0.0, 0.0));
        // [[0, 3], [1, 4], [2, 5]] as a transposed view and as a contiguous tensor.
        let transposed = Tensor::<f32>::arange(6).reshape([2, 3]).t();
        let contiguous = Tensor::from_vec(vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0], [3, 2]);
        assert!(transposed.allclose(&contiguous, 0.0, 0.0));
        let nan = Tensor::<f32>::scalar(f32::NAN);
        assert!(!nan.allclose(&nan, 1.0, 1.0));
        let inf = Tensor::<f32>::scalar(f32::INFINITY);
        assert!(inf.allclose(&inf, 0.0, 0.0));
        assert!(!Tensor::scalar(1.0f32).allclose(&inf, 1.0, 1.0));
        assert!(!inf.allclose(&Tensor::scalar(-f32::INFINITY), 1.0, 1.0));
    }

    #[test]
    #[should_panic(expected = "allclose: shapes [2] and [3] do not broadcast")]
    fn allclose_shape_mismatch() {
        Tensor::<f32>::zeros([2]).allclose(&Tensor::zeros([3]), 0.0, 0.0);
    }
}
