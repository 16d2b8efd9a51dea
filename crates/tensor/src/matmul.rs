//! Matrix products with NumPy's `matmul` semantics.
//!
//! 1-D · 1-D is a dot product; a 1-D left operand is treated as a row vector and a 1-D right
//! operand as a column vector, the added axis removed from the result; operands of rank ≥ 3 are
//! stacks of matrices whose leading (batch) axes broadcast. Every operand goes to the kernel as
//! strides, so a transposed view costs no copy. `linear` is a dense layer's product with its bias
//! and activation.

use std::mem::MaybeUninit;

use crate::check::{fail, fmt_shape};
use crate::cpu::gemm::{gemm, MatRef};
use crate::cpu::par_for_each_chunk;
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::{broadcast_shapes, dims, try_numel, Dims};
use crate::storage::{uninit_buffer, Buffer};
use crate::tensor::Tensor;

/// Below this many multiply-adds per matrix, a batch is spread over the pool matrix by matrix
/// instead of letting each product use the pool on its own.
const SMALL_MATRIX_MACS: usize = 1 << 15;

impl<T: Element> Tensor<T> {
    /// The matrix product, NumPy style (see the module documentation for the rank rules).
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]);
    /// let b = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], [3, 2]);
    /// assert_eq!(a.matmul(&b).to_vec(), vec![4.0, 5.0, 10.0, 11.0]);
    /// // Transposed operands are strides, not copies.
    /// assert_eq!(a.matmul(&a.t()).to_vec(), vec![14.0, 32.0, 32.0, 77.0]);
    /// // A batch of 4 matrices times one matrix: the batch axis broadcasts.
    /// let batch = Tensor::<f32>::ones([4, 2, 3]);
    /// assert_eq!(batch.matmul(&b).shape(), &[4, 2, 2]);
    /// ```
    #[track_caller]
    pub fn matmul(&self, other: &Tensor<T>) -> Tensor<T> {
        let (ra, rb) = (self.rank(), other.rank());
        if ra == 0 || rb == 0 {
            fail(
                "matmul",
                format!(
                    "{} x {}: both operands need at least one axis",
                    fmt_shape(self.shape()),
                    fmt_shape(other.shape())
                ),
            );
        }
        if ra == 2 && rb == 2 {
            return self.matmul_2d(other);
        }
        // Promote 1-D operands to matrices; remember which axes to drop from the result.
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
        let (m, k) = (a.shape()[a.rank() - 2], a.shape()[a.rank() - 1]);
        let (k2, n) = (b.shape()[b.rank() - 2], b.shape()[b.rank() - 1]);
        check_inner("matmul", self.shape(), other.shape(), k, k2);
        let batch_a = &a.shape()[..a.rank() - 2];
        let batch_b = &b.shape()[..b.rank() - 2];
        let batch: Dims = if batch_a == batch_b {
            batch_a.into()
        } else {
            broadcast_shapes("matmul", batch_a, batch_b)
        };
        let full = |mat: &[usize]| -> Dims { batch.iter().chain(mat).copied().collect() };
        // The batch comes from both operands, so each broadcast operand (batch·m·k, batch·k·n)
        // may be larger than either input, and so may the result (batch·m·n).
        let (a_full, b_full, out_full) = (full(&[m, k]), full(&[k, n]), full(&[m, n]));
        let operands = (self.shape(), other.shape());
        check_size::<T>(operands, &a_full, |s| {
            format!("the left operand broadcast to {s}")
        });
        check_size::<T>(operands, &b_full, |s| {
            format!("the right operand broadcast to {s}")
        });
        check_size::<T>(operands, &out_full, |s| {
            format!("the result, of shape {s},")
        });
        let la = a.layout.broadcast_to("matmul", &a_full);
        let lb = b.layout.broadcast_to("matmul", &b_full);
        let out = batched_gemm(
            &batch,
            m,
            k,
            n,
            (a.storage.as_slice(), &la),
            (b.storage.as_slice(), &lb),
        );

        let mut shape = out_full;
        if rb == 1 {
            shape.pop();
        }
        if ra == 1 {
            shape.remove(shape.len() - if rb == 1 { 1 } else { 2 });
        }
        Tensor::from_parts(out, Layout::contiguous(shape))
    }
}

impl<T: Element> Tensor<T> {
    /// The product of two matrices: the common case, kept free of the batch bookkeeping because
    /// a small model's step is made of many small products.
    #[track_caller]
    fn matmul_2d(&self, other: &Tensor<T>) -> Tensor<T> {
        let ([m, k], [k2, n]) = (
            [self.shape()[0], self.shape()[1]],
            [other.shape()[0], other.shape()[1]],
        );
        check_inner("matmul", self.shape(), other.shape(), k, k2);
        // m·k and k·n are the operands' own element counts, checked when they were made.
        check_size::<T>((self.shape(), other.shape()), &[m, n], |s| {
            format!("the result, of shape {s},")
        });
        let a = matrix(
            self.storage.as_slice(),
            &self.layout,
            self.layout.offset(),
            0,
        );
        let b = matrix(
            other.storage.as_slice(),
            &other.layout,
            other.layout.offset(),
            0,
        );
        let mut out = uninit_buffer(m * n);
        gemm(m, k, n, a, b, &mut out, true);
        // SAFETY: `gemm` writes every element of its output.
        let out = unsafe { out.assume_init() };
        Tensor::from_parts(out, Layout::contiguous(dims(&[m, n])))
    }
}

impl<T: Element> Tensor<T> {
    /// A dense layer's output, x·Wᵀ + b, for a weight stored `[out, in]` (as PyTorch's
    /// `nn.functional.linear`) and an input `[..., in]`: the leading axes of the input are rows of
    /// one product, and the result is `[..., out]`. `bias`, if any, is `[out]`.
    ///
    /// The values are those of `self.matmul(&weight.t())` then `add_(bias)`, bit for bit: the
    /// bias (and the ReLU) go onto the product's fresh output in place, in one pass.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], [1, 2]);
    /// let w = Tensor::from_vec(vec![1.0, 0.0, 1.0, 1.0, -1.0, -1.0], [3, 2]); // 2 → 3
    /// let b = Tensor::from_vec(vec![0.5, 0.0, 1.0], [3]);
    /// assert_eq!(x.linear(&w, Some(&b)).to_vec(), vec![1.5, 3.0, -2.0]);
    /// assert_eq!(x.linear_relu(&w, Some(&b)).to_vec(), vec![1.5, 3.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn linear(&self, weight: &Tensor<T>, bias: Option<&Tensor<T>>) -> Tensor<T> {
        self.dense("linear", weight, bias, false)
    }

    /// relu(x·Wᵀ + b): [`Tensor::linear`] and then [`Tensor::relu`], bit for bit, in one call.
    #[track_caller]
    pub fn linear_relu(&self, weight: &Tensor<T>, bias: Option<&Tensor<T>>) -> Tensor<T> {
        self.dense("linear_relu", weight, bias, true)
    }

    /// [`Tensor::linear`], followed by a ReLU if `relu`; `op` names it in errors.
    #[track_caller]
    fn dense(
        &self,
        op: &str,
        weight: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        relu: bool,
    ) -> Tensor<T> {
        let (x_shape, w_shape) = (self.shape(), weight.shape());
        let (out_features, in_features) = match *w_shape {
            [out, inner] if x_shape.last() == Some(&inner) => (out, inner),
            _ => fail(
                op,
                format!(
                    "an input of shape {} and a weight of shape {}: the weight must be [out, in] \
                     and the input [..., in]",
                    fmt_shape(x_shape),
                    fmt_shape(w_shape)
                ),
            ),
        };
        if let Some(b) = bias
            && b.shape() != [out_features]
        {
            fail(
                op,
                format!(
                    "a bias of shape {} for a weight of shape {}: the bias must be [{out_features}]",
                    fmt_shape(b.shape()),
                    fmt_shape(w_shape)
                ),
            );
        }
        if self.rank() != 2 {
            // Checked: with in = 0 the input holds no element, so its leading axes alone may
            // multiply past usize.
            let leading = &x_shape[..x_shape.len() - 1];
            let rows = leading
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .unwrap_or_else(|| {
                    fail(
                        op,
                        format!(
                            "an input of shape {} has more rows than usize holds",
                            fmt_shape(x_shape)
                        ),
                    )
                });
            let mut out_shape: Dims = leading.iter().copied().collect();
            out_shape.push(out_features);
            return self
                .reshape([rows, in_features])
                .dense(op, weight, bias, relu)
                .reshape(out_shape);
        }
        let mut value = self.matmul_2d(&weight.t());
        match (bias, relu) {
            (Some(b), true) => value.add_relu_(b),
            (Some(b), false) => value.add_(b),
            (None, true) => value.relu_(),
            (None, false) => {}
        }
        value
    }
}

/// Panics unless the inner dimensions `k` (of `a`) and `k2` (of `b`) agree, naming the caller's
/// operands' shapes.
#[track_caller]
fn check_inner(op: &str, a: &[usize], b: &[usize], k: usize, k2: usize) {
    if k != k2 {
        fail(
            op,
            format!(
                "{} x {}: inner dimensions {k} and {k2} differ",
                fmt_shape(a),
                fmt_shape(b)
            ),
        );
    }
}

/// Panics unless a tensor of `shape` can exist (see `shape::try_numel`); `describe` names the
/// shape in the message, after the operands' shapes.
#[track_caller]
fn check_size<T: Element>(
    (a, b): (&[usize], &[usize]),
    shape: &[usize],
    describe: impl FnOnce(String) -> String,
) {
    if let Err(why) = try_numel::<T>(shape) {
        fail(
            "matmul",
            format!(
                "{} x {}: {} is too large: {why}",
                fmt_shape(a),
                fmt_shape(b),
                describe(fmt_shape(shape))
            ),
        );
    }
}

/// The matrix whose first element sits at `offset` and whose rows and columns are `layout`'s
/// axes `axis` and `axis + 1`.
fn matrix<'a, T>(data: &'a [T], layout: &Layout, offset: usize, axis: usize) -> MatRef<'a, T> {
    MatRef {
        data,
        offset,
        row_stride: layout.strides()[axis],
        col_stride: layout.strides()[axis + 1],
    }
}

/// Multiplies every matrix of a broadcast batch: `la` is `batch × m × k`, `lb` `batch × k × n`.
fn batched_gemm<T: Element>(
    batch: &[usize],
    m: usize,
    k: usize,
    n: usize,
    (a, la): (&[T], &Layout),
    (b, lb): (&[T], &Layout),
) -> Buffer<T> {
    // The caller has checked batch·m·n (and each operand's size), so these products fit.
    let count: usize = batch.iter().product();
    let mut out = uninit_buffer(count * m * n);
    let rank = batch.len();
    let batch_matrix = |data, layout: &Layout, index: usize| {
        // Unravel the batch index into a storage offset.
        let mut offset = layout.offset();
        let mut rest = index;
        for axis in (0..rank).rev() {
            offset += (rest % batch[axis]) * layout.strides()[axis];
            rest /= batch[axis];
        }
        matrix(data, layout, offset, rank)
    };
    let one = |index: usize, dst: &mut [MaybeUninit<T>], parallel: bool| {
        gemm(
            m,
            k,
            n,
            batch_matrix(a, la, index),
            batch_matrix(b, lb, index),
            dst,
            parallel,
        );
    };
    if m * n == 0 {
        // SAFETY: the buffer has no elements.
        return unsafe { out.assume_init() };
    }
    // Multiply-add counts (·k) may pass usize when an operand is a broadcast view: saturate.
    let macs = (m * n).saturating_mul(k);
    if count > 1 && macs < SMALL_MATRIX_MACS && count.saturating_mul(macs) >= SMALL_MATRIX_MACS {
        par_for_each_chunk(&mut out, m * n, &|i, dst| one(i, dst, false));
    } else {
        for (i, dst) in out.chunks_mut(m * n).enumerate() {
            one(i, dst, true);
        }
    }
    // SAFETY: the chunks of m·n elements cover the buffer's count·m·n, and `gemm` writes every
    // element of each.
    unsafe { out.assume_init() }
}
