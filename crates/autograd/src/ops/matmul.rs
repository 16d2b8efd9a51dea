//! The matrix product on vars, NumPy style, beside its gradient rule.
//!
//! 1-D operands are promoted with `unsqueeze` and batch axes broadcast with `broadcast_to`, both
//! recorded, so the `Matmul` node itself always sees two stacks of matrices with equal batch
//! axes, and its rule needs no special cases: dA = G·Bᵀ, dB = Aᵀ·G.
//!
//! A gradient comes out in its input's layout, as in PyTorch: for an operand that is a transposed
//! view (a weight used as `w.t()`), dB = (Gᵀ·A)ᵀ instead, the same products with the operands
//! swapped. The transpose's own rule then hands the weight a contiguous gradient, which an
//! optimizer's in-place update reads straight through instead of a cache miss per element.

use shendu_tensor::{broadcast_shapes, Dims, Element};
use smallvec::smallvec;

use crate::op::{if_tracked, InputGrads, Op};
use crate::var::Var;

pub(crate) fn backward<T: Element>(inputs: &[Var<T>], g: &Var<T>) -> InputGrads<T> {
    let (a, b) = (&inputs[0], &inputs[1]);
    smallvec![
        if_tracked(a, || if is_transposed(a) {
            b.matmul(&g.t()).t()
        } else {
            g.matmul(&b.t())
        }),
        if_tracked(b, || if is_transposed(b) {
            g.t().matmul(a).t()
        } else {
            a.t().matmul(g)
        })
    ]
}

/// Whether the var's matrices are stored column by column (a transposed view).
fn is_transposed<T: Element>(v: &Var<T>) -> bool {
    let (shape, strides) = (v.shape(), v.value().layout().strides());
    let r = shape.len();
    strides[r - 2] == 1 && strides[r - 1] != 1 && shape[r - 2] != 1
}

impl<T: Element> Var<T> {
    /// The matrix product with NumPy's rules: 1-D·1-D is a dot product, a 1-D operand acts as a
    /// row (left) or column (right) vector, and batch axes broadcast.
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let w = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2]));
    /// let x = tape.constant(Tensor::from_vec(vec![1.0, 1.0], [2]));
    /// let y = w.matmul(&x).sum_all();        // Σ_i Σ_j w_ij x_j
    /// assert_eq!(y.backward()[&w].to_vec(), vec![1.0, 1.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn matmul(&self, other: &Var<T>) -> Var<T> {
        // The tensor product checks the shapes (naming the caller's operands) and computes the
        // value once; the recorded graph below only rearranges views around it.
        let value = self.value.matmul(&other.value);
        let (ra, rb) = (self.rank(), other.rank());
        if ra >= 2 && rb >= 2 && self.shape()[..ra - 2] == other.shape()[..rb - 2] {
            return Var::record(&[self, other], value, || Op::Matmul);
        }
        let a = if ra == 1 {
            self.unsqueeze(0)
        } else {
            self.clone()
        };
        let b = if rb == 1 {
            other.unsqueeze(1)
        } else {
            other.clone()
        };
        let batch = broadcast_shapes(
            "matmul",
            &a.shape()[..a.rank() - 2],
            &b.shape()[..b.rank() - 2],
        );
        let full = |tail: &[usize]| -> Dims { batch.iter().chain(tail).copied().collect() };
        let a = a.expand(&full(&a.shape()[a.rank() - 2..]));
        let b = b.expand(&full(&b.shape()[b.rank() - 2..]));
        let product_shape = full(&[a.shape()[a.rank() - 2], b.shape()[b.rank() - 1]]);
        let product = Var::record(&[&a, &b], value.reshape(&product_shape), || Op::Matmul);
        product.reshape(value.shape())
    }
}
