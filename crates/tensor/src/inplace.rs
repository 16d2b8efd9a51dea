//! In-place updates, for optimizers and buffer reuse.
//!
//! A tensor writes into its storage only when it is the storage's sole owner and its elements are
//! contiguous; otherwise it first takes a private contiguous copy (copy-on-write). A view or clone
//! taken earlier therefore never sees the update.

use std::sync::Arc;

use crate::cpu::map::update;
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::dims;
use crate::storage::Storage;
use crate::tensor::Tensor;

impl<T: Element> Tensor<T> {
    /// The elements in row-major order, mutable, copying first unless this tensor is the sole,
    /// contiguous owner of its storage.
    pub(crate) fn make_mut(&mut self) -> &mut [T] {
        let unique = Arc::get_mut(&mut self.storage).is_some();
        if !unique || !self.layout.is_contiguous() {
            *self = Tensor {
                storage: Arc::new(Storage::new(self.to_vec())),
                layout: Layout::contiguous(dims(self.shape())),
            };
        }
        let (offset, n) = (self.layout.offset(), self.layout.numel());
        let storage = Arc::get_mut(&mut self.storage).expect("a fresh storage has one owner");
        &mut storage.as_mut_slice()[offset..offset + n]
    }

    /// `self[i] = f(self[i], other[i])` with `other` broadcast to `self`'s shape.
    #[track_caller]
    fn update_with(&mut self, op: &str, other: &Tensor<T>, f: impl Fn(T, T) -> T + Sync) {
        let mut other = other.with_layout(other.layout.broadcast_to(op, self.shape()));
        // A transposed source (the gradient of a weight used as `w.t()`) is read a cache miss
        // per element; a tiled copy first and a straight loop after are several times faster.
        if !other.is_contiguous() && other.layout.strides().iter().all(|&s| s != 0) {
            other = other.contiguous();
        }
        let dst = self.make_mut();
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

    /// Sets every element to `value`.
    pub fn fill_(&mut self, value: T) {
        self.make_mut().fill(value);
    }

    /// Copies `src`'s elements into `self`, broadcasting `src` to `self`'s shape.
    #[track_caller]
    pub fn copy_from(&mut self, src: &Tensor<T>) {
        self.update_with("copy_from", src, |_, b| b);
    }
}
