//! In-place updates, for optimizers and buffer reuse.
//!
//! A tensor writes into its storage only when it is the storage's sole owner and its elements are
//! contiguous; otherwise it first takes a private contiguous copy (copy-on-write). A view or clone
//! taken earlier therefore never sees the update.

use crate::check::{fail, fmt_shape};
use crate::cpu::map::{update, update_rows, zip_update};
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::dims;
use crate::tensor::Tensor;
use crate::unary::relu;

impl<T: Element> Tensor<T> {
    /// The elements in row-major order, to write in place: the mutable twin of
    /// [`as_slice`](Tensor::as_slice), for code that fills a tensor from a buffer of its own
    /// (gradients arriving from other processes, a data loader) without a temporary tensor.
    ///
    /// Copy-on-write, as every in-place update: unless this tensor is the sole, contiguous owner
    /// of its storage it first takes a private contiguous copy, so a view or clone taken earlier
    /// never sees the writes.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let mut g = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]);
    /// let earlier = g.clone();
    /// for (v, incoming) in g.as_mut_slice().iter_mut().zip([10.0, 20.0, 30.0, 40.0]) {
    ///     *v += incoming;
    /// }
    /// assert_eq!(g.to_vec(), vec![11.0, 22.0, 33.0, 44.0]);
    /// assert_eq!(earlier.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// ```
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        let unique = self.storage.get_mut().is_some();
        if !unique || !self.layout.is_contiguous() {
            *self = Tensor {
                storage: self.to_buffer().into_storage(),
                layout: Layout::contiguous(dims(self.shape())),
            };
        }
        let (offset, n) = (self.layout.offset(), self.layout.numel());
        let elements = self
            .storage
            .get_mut()
            .expect("a fresh storage has one owner");
        &mut elements[offset..offset + n]
    }

    /// `self[i] = f(self[i], other[i])` with `other` broadcast to `self`'s shape.
    #[track_caller]
    fn update_with(&mut self, op: &str, other: &Tensor<T>, f: impl Fn(T, T) -> T + Sync) {
        // A contiguous source of this shape, or of its last axes (a layer's bias, a scalar), is
        // read where it lies: no broadcast view, no reference count, no search for its rows, a
        // fixed cost that a small model's step paid for each of its layers.
        if other.numel() > 0
            && self.shape().ends_with(other.shape())
            && let Some(row) = other.as_slice()
        {
            update_rows(self.as_mut_slice(), row, f);
            return;
        }
        let mut other = other.with_layout(other.layout.broadcast_to(op, self.shape()));
        // A transposed source (the gradient of a weight used as `w.t()`) is read a cache miss
        // per element; a tiled copy first and a straight loop after are several times faster.
        if !other.is_contiguous() && other.layout.strides().iter().all(|&s| s != 0) {
            other = other.contiguous();
        }
        let dst = self.as_mut_slice();
        let (src, layout) = other.parts();
        update(dst, (src, layout), f);
    }

    /// `self += other`, with `other` broadcast to `self`'s shape.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let mut w = Tensor::from_vec(vec![1.0f32, 2.0], [2]);
    /// let view = w.clone();
    /// w.add_(&Tensor::scalar(1.0));
    /// assert_eq!(w.to_vec(), vec![2.0, 3.0]);
    /// assert_eq!(view.to_vec(), vec![1.0, 2.0]); // copy-on-write: the earlier clone is unchanged
    /// ```
    #[track_caller]
    pub fn add_(&mut self, other: &Tensor<T>) {
        self.update_with("add_", other, |a, b| a + b);
    }

    /// `self -= other`, with `other` broadcast to `self`'s shape.
    #[track_caller]
    pub fn sub_(&mut self, other: &Tensor<T>) {
        self.update_with("sub_", other, |a, b| a - b);
    }

    /// `self *= other`, with `other` broadcast to `self`'s shape.
    #[track_caller]
    pub fn mul_(&mut self, other: &Tensor<T>) {
        self.update_with("mul_", other, |a, b| a * b);
    }

    /// `self += alpha · other`, the update of SGD and its relatives.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let mut w = Tensor::from_vec(vec![1.0f32, 2.0], [2]);
    /// w.scaled_add_(&Tensor::from_vec(vec![10.0, 20.0], [2]), -0.1);
    /// assert_eq!(w.to_vec(), vec![0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn scaled_add_(&mut self, other: &Tensor<T>, alpha: T) {
        self.update_with("scaled_add_", other, |a, b| a + alpha * b);
    }

    /// `self = relu(self + bias)`, with `bias` broadcast to `self`'s shape, in one pass: the
    /// epilogue of a dense layer followed by a ReLU (autograd's `Var::linear_relu`). The result
    /// has the bits of `add_` then [`Tensor::relu`].
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let mut z = Tensor::from_vec(vec![1.0f32, -2.0, -3.0, 4.0], [2, 2]);
    /// z.add_relu_(&Tensor::from_vec(vec![0.5, 2.5], [2]));
    /// assert_eq!(z.to_vec(), vec![1.5, 0.5, 0.0, 6.5]);
    /// ```
    #[track_caller]
    pub fn add_relu_(&mut self, bias: &Tensor<T>) {
        self.update_with("add_relu_", bias, |a, b| relu(a + b));
    }

    /// `self = relu(self)` in place, with the bits of [`Tensor::relu`].
    pub fn relu_(&mut self) {
        // The shared kernel of in-place updates (parallel when large), with a source it ignores.
        self.update_with("relu_", &Tensor::scalar(T::zero()), |a, _| relu(a));
    }

    /// Sets every element to `value`.
    pub fn fill_(&mut self, value: T) {
        self.as_mut_slice().fill(value);
    }

    /// Copies `src`'s elements into `self`, broadcasting `src` to `self`'s shape.
    #[track_caller]
    pub fn copy_from(&mut self, src: &Tensor<T>) {
        self.update_with("copy_from", src, |_, b| b);
    }

    /// Updates `self` and `N` state tensors of its shape together, in one pass: for each
    /// element `i` in row-major order, `f(&mut self[i], src[i], [&mut states[0][i], …])`, with
    /// `src` broadcast to `self`'s shape. This is the loop of a fused optimizer step (Adam's
    /// parameter and two moments from one read of the gradient), with no temporary tensor.
    ///
    /// Like the other in-place updates, each of `self` and `states` is written in place when it
    /// is the sole, contiguous owner of its storage and copied first otherwise. A source that is
    /// not contiguous (a transposed gradient) is read through a contiguous copy.
    ///
    /// Panics, naming the caller's line, if a state's shape differs from `self`'s or `src` does
    /// not broadcast to it.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// // Momentum SGD: b ← 0.9·b + g, p ← p − 0.1·b.
    /// let mut p = Tensor::from_vec(vec![1.0f64, 2.0], [2]);
    /// let mut b = Tensor::from_vec(vec![10.0, 0.0], [2]);
    /// let g = Tensor::from_vec(vec![1.0, 1.0], [2]);
    /// p.zip_mut_with(&g, [&mut b], |p, g, [b]| {
    ///     *b = 0.9 * *b + g;
    ///     *p -= 0.1 * *b;
    /// });
    /// assert_eq!(b.to_vec(), vec![10.0, 1.0]);
    /// assert_eq!(p.to_vec(), vec![0.0, 1.9]);
    /// ```
    #[track_caller]
    pub fn zip_mut_with<const N: usize>(
        &mut self,
        src: &Tensor<T>,
        states: [&mut Tensor<T>; N],
        f: impl Fn(&mut T, T, [&mut T; N]) + Sync,
    ) {
        for (k, s) in states.iter().enumerate() {
            if s.shape() != self.shape() {
                fail(
                    "zip_mut_with",
                    format!(
                        "state {k} has shape {}, the updated tensor {}",
                        fmt_shape(s.shape()),
                        fmt_shape(self.shape())
                    ),
                );
            }
        }
        let states = states.map(|s| s.as_mut_slice());
        // An optimizer's gradient has its parameter's shape and is contiguous: it is read
        // where it lies, without the view and the reference count of a broadcast.
        if src.shape() == self.shape()
            && let Some(values) = src.as_slice()
        {
            zip_update(self.as_mut_slice(), values, states, &f);
            return;
        }
        let mut src = src.with_layout(src.layout.broadcast_to("zip_mut_with", self.shape()));
        if !src.is_contiguous() {
            src = src.contiguous();
        }
        let (values, layout) = src.parts();
        let values = &values[layout.offset()..layout.offset() + layout.numel()];
        zip_update(self.as_mut_slice(), values, states, &f);
    }
}
