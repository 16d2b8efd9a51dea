//! Joining tensors along an axis (`concat`, `stack`) and cutting one into pieces (`split`,
//! `split_sizes`, `chunk`).
//!
//! Joins copy each input once, straight from its own layout into its block of the result, so a
//! transposed, narrowed or broadcast input costs no extra copy. Pieces are views: they share the
//! storage of the tensor they were cut from.

use crate::check::{fail, fmt_shape};
use crate::cpu::copy::{copy_strided, Combine};
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::{checked_numel, contiguous_strides, dims, Axis};
use crate::storage::output_buffer;
use crate::tensor::Tensor;

impl<T: Element> Tensor<T> {
    /// Joins tensors end to end along an existing `axis`; every other axis must agree.
    /// The result's size at `axis` is the sum of the inputs' sizes.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], [2, 1]);
    /// let b = Tensor::from_vec(vec![3.0, 4.0, 5.0, 6.0], [2, 2]);
    /// let c = Tensor::concat(&[&a, &b], -1);
    /// assert_eq!(c.shape(), &[2, 3]);
    /// assert_eq!(c.to_vec(), vec![1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn concat(tensors: &[&Tensor<T>], axis: impl Axis) -> Tensor<T> {
        let Some(first) = tensors.first() else {
            fail("concat", "needs at least one tensor, got an empty list")
        };
        let axis = axis.resolve("concat", first.rank());
        for (pos, t) in tensors.iter().enumerate().skip(1) {
            let agrees = t.rank() == first.rank()
                && (0..t.rank()).all(|d| d == axis || t.shape()[d] == first.shape()[d]);
            if !agrees {
                fail(
                    "concat",
                    format!(
                        "tensor {pos} has shape {}, but tensor 0 has shape {}: shapes must agree \
                         on every axis except the concatenated axis {axis}",
                        fmt_shape(t.shape()),
                        fmt_shape(first.shape())
                    ),
                );
            }
        }
        concat_along("concat", tensors, axis)
    }

    /// Joins tensors of one shape along a new `axis` (`0..=rank`; `-1` appends it):
    /// `out[.., i, ..] = tensors[i]`.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], [2]);
    /// let b = Tensor::from_vec(vec![3.0, 4.0], [2]);
    /// assert_eq!(Tensor::stack(&[&a, &b], 0).to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(Tensor::stack(&[&a, &b], 1).to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn stack(tensors: &[&Tensor<T>], axis: impl Axis) -> Tensor<T> {
        let Some(first) = tensors.first() else {
            fail("stack", "needs at least one tensor, got an empty list")
        };
        let axis = axis.resolve_insert("stack", first.rank());
        for (pos, t) in tensors.iter().enumerate().skip(1) {
            if t.shape() != first.shape() {
                fail(
                    "stack",
                    format!(
                        "tensor {pos} has shape {}, but tensor 0 has shape {}: stacked tensors \
                         must all have one shape",
                        fmt_shape(t.shape()),
                        fmt_shape(first.shape())
                    ),
                );
            }
        }
        let views: Vec<Tensor<T>> = tensors
            .iter()
            .map(|t| t.with_layout(t.layout.unsqueeze(axis)))
            .collect();
        concat_along("stack", &views.iter().collect::<Vec<_>>(), axis)
    }

    /// Cuts `axis` into pieces of `size` entries, the last one smaller when `size` does not
    /// divide the axis; the pieces are views sharing this tensor's storage. An axis of length 0
    /// gives one empty piece.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::<f32>::arange(5);
    /// let pieces = t.split(0, 2);
    /// assert_eq!(pieces.len(), 3);
    /// assert_eq!(pieces[2].to_vec(), vec![4.0]);
    /// assert!(pieces[0].shares_storage(&t));
    /// ```
    #[track_caller]
    pub fn split(&self, axis: impl Axis, size: usize) -> Vec<Tensor<T>> {
        let axis = axis.resolve("split", self.rank());
        if size == 0 {
            fail(
                "split",
                format!(
                    "piece size must be positive, got 0 (axis {axis} of shape {})",
                    fmt_shape(self.shape())
                ),
            );
        }
        self.split_every(axis, size)
    }

    /// Cuts `axis` into consecutive pieces of the given sizes, which must sum to the axis
    /// length; the pieces are views sharing this tensor's storage.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::<f32>::arange(5);
    /// let pieces = t.split_sizes(0, &[1, 3, 1]);
    /// assert_eq!(pieces[1].to_vec(), vec![1.0, 2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn split_sizes(&self, axis: impl Axis, sizes: &[usize]) -> Vec<Tensor<T>> {
        let axis = axis.resolve("split_sizes", self.rank());
        let len = self.shape()[axis];
        let total = sizes.iter().fold(0usize, |acc, &n| acc.saturating_add(n));
        if total != len {
            fail(
                "split_sizes",
                format!(
                    "sizes {sizes:?} sum to {total}, but axis {axis} has size {len} in shape {}",
                    fmt_shape(self.shape())
                ),
            );
        }
        let mut start = 0;
        let mut pieces = Vec::with_capacity(sizes.len());
        for &n in sizes {
            pieces.push(self.with_layout(self.layout.narrow(axis, start, n)));
            start += n;
        }
        pieces
    }

    /// Cuts `axis` into at most `n` pieces of ⌈len / n⌉ entries, the last one smaller
    /// (PyTorch's `chunk`: there may be fewer than `n` pieces). Views sharing this storage.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::<f32>::arange(6);
    /// let sizes: Vec<usize> = t.chunk(0, 4).iter().map(|c| c.numel()).collect();
    /// assert_eq!(sizes, vec![2, 2, 2]);
    /// ```
    #[track_caller]
    pub fn chunk(&self, axis: impl Axis, n: usize) -> Vec<Tensor<T>> {
        let axis = axis.resolve("chunk", self.rank());
        if n == 0 {
            fail(
                "chunk",
                format!(
                    "cannot cut axis {axis} of shape {} into 0 chunks",
                    fmt_shape(self.shape())
                ),
            );
        }
        self.split_every(axis, self.shape()[axis].div_ceil(n))
    }

    /// Pieces of `size > 0` entries along a resolved `axis` (one empty piece if the axis is
    /// empty).
    fn split_every(&self, axis: usize, size: usize) -> Vec<Tensor<T>> {
        let len = self.shape()[axis];
        if len == 0 {
            return vec![self.clone()];
        }
        (0..len)
            .step_by(size.max(1))
            .map(|start| self.with_layout(self.layout.narrow(axis, start, size.min(len - start))))
            .collect()
    }
}

/// `concat` of tensors already checked to agree on every axis but `axis`; `op` names the
/// caller in messages.
#[track_caller]
fn concat_along<T: Element>(op: &str, tensors: &[&Tensor<T>], axis: usize) -> Tensor<T> {
    let mut shape = dims(tensors[0].shape());
    let total = tensors
        .iter()
        .try_fold(0usize, |sum, t| sum.checked_add(t.shape()[axis]));
    let Some(total) = total else {
        fail(
            op,
            format!(
                "the sizes of axis {axis} add up to more than usize can count ({} tensors, the \
                 first of shape {})",
                tensors.len(),
                fmt_shape(tensors[0].shape())
            ),
        )
    };
    shape[axis] = total;
    let mut out = output_buffer(checked_numel::<T>(op, &shape));
    let strides = contiguous_strides(&shape);
    let mut start = 0;
    for t in tensors {
        let (src, layout) = t.parts();
        let at = start * strides[axis];
        copy_strided(src, layout, &mut out, &strides, at, Combine::Copy);
        start += t.shape()[axis];
    }
    Tensor::from_parts(out, Layout::contiguous(shape))
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    fn t(data: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(data.to_vec(), shape)
    }

    #[test]
    fn panics_name_the_callers_line() {
        let message = |f: &dyn Fn()| {
            let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
            err.downcast_ref::<String>().cloned().unwrap_or_default()
        };
        let here = |line: u32| format!("(at {}:{line})", file!());
        let a = Tensor::<f32>::zeros([2, 3]);
        let line = line!() + 1;
        let msg = message(&|| drop(Tensor::concat(&[&a, &a.t()], 0)));
        assert!(msg.ends_with(&here(line)), "{msg}");
        let line = line!() + 1;
        let msg = message(&|| drop(Tensor::stack(&[&a, &a], 3)));
        assert!(msg.ends_with(&here(line)), "{msg}");
        let line = line!() + 1;
        let msg = message(&|| drop(a.split_sizes(-1, &[1])));
        assert!(msg.ends_with(&here(line)), "{msg}");
    }

    #[test]
    fn concat_along_first_axis() {
        let a = t(&[1.0, 2.0], &[1, 2]);
        let b = t(&[3.0, 4.0, 5.0, 6.0], &[2, 2]);
        let c = Tensor::concat(&[&a, &b], 0);
        assert_eq!(c.shape(), &[3, 2]);
        assert_eq!(c.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn concat_along_negative_axis() {
        let a = t(&[1.0, 2.0], &[2, 1]);
        let b = t(&[3.0, 4.0, 5.0, 6.0], &[2, 2]);
        let c = Tensor::concat(&[&a, &b], -1);
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(c.to_vec(), vec![1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
    }

    #[test]
    fn concat_of_transposed_narrowed_and_broadcast_views() {
        // [[0, 3], [1, 4], [2, 5]]
        let a = Tensor::<f32>::arange(6).reshape([2, 3]).t();
        // [[1], [5], [9]]
        let b = Tensor::<f32>::arange(12).reshape([3, 4]).narrow(1, 1, 1);
        // [[7], [7], [7]]
        let c = Tensor::scalar(7.0).broadcast_to([3, 1]);
        let out = Tensor::concat(&[&a, &b, &c], 1);
        assert_eq!(out.shape(), &[3, 4]);
        assert_eq!(
            out.to_vec(),
            vec![0.0, 3.0, 1.0, 7.0, 1.0, 4.0, 5.0, 7.0, 2.0, 5.0, 9.0, 7.0]
        );
    }

    #[test]
    fn concat_with_an_empty_piece_and_of_one_tensor() {
        let a = t(&[1.0, 2.0], &[1, 2]);
        let empty = Tensor::zeros([0, 2]);
        let c = Tensor::concat(&[&empty, &a, &empty], 0);
        assert_eq!(c.shape(), &[1, 2]);
        assert_eq!(c.to_vec(), vec![1.0, 2.0]);
        let single = Tensor::concat(&[&a.t()], 0);
        assert_eq!(single.shape(), &[2, 1]);
        assert!(!single.shares_storage(&a));
    }

    #[test]
    #[should_panic(expected = "concat: tensor 2 has shape [3, 2], but tensor 0 has shape [2, 3]")]
    fn concat_shape_mismatch_names_the_tensor() {
        let a = Tensor::<f32>::zeros([2, 3]);
        let b = Tensor::<f32>::zeros([5, 3]);
        let c = Tensor::<f32>::zeros([3, 2]);
        Tensor::concat(&[&a, &b, &c], 0);
    }

    #[test]
    #[should_panic(expected = "concat: tensor 1 has shape [3], but tensor 0 has shape [2, 3]")]
    fn concat_rank_mismatch() {
        Tensor::concat(&[&Tensor::<f32>::zeros([2, 3]), &Tensor::zeros([3])], 0);
    }

    #[test]
    #[should_panic(expected = "concat: axis 2 is out of range for a tensor of rank 2")]
    fn concat_bad_axis() {
        let a = Tensor::<f32>::zeros([2, 3]);
        Tensor::concat(&[&a, &a], 2);
    }

    #[test]
    #[should_panic(expected = "concat: needs at least one tensor")]
    fn concat_of_nothing() {
        Tensor::<f32>::concat(&[], 0);
    }

    #[test]
    fn stack_on_each_axis() {
        let a = t(&[1.0, 2.0], &[2]);
        let b = t(&[3.0, 4.0], &[2]);
        let s0 = Tensor::stack(&[&a, &b], 0);
        assert_eq!(s0.shape(), &[2, 2]);
        assert_eq!(s0.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        let s1 = Tensor::stack(&[&a, &b], 1);
        assert_eq!(s1.shape(), &[2, 2]);
        assert_eq!(s1.to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
        assert_eq!(Tensor::stack(&[&a, &b], -1).to_vec(), s1.to_vec());
    }

    #[test]
    fn stack_scalars_and_transposed_views() {
        let s = Tensor::stack(&[&Tensor::scalar(1.0f32), &Tensor::scalar(2.0)], 0);
        assert_eq!(s.shape(), &[2]);
        assert_eq!(s.to_vec(), vec![1.0, 2.0]);
        // [[0, 2], [1, 3]] and [[1, 1], [1, 1]]
        let a = Tensor::<f32>::arange(4).reshape([2, 2]).t();
        let b = Tensor::scalar(1.0).broadcast_to([2, 2]);
        let s = Tensor::stack(&[&a, &b], 1);
        assert_eq!(s.shape(), &[2, 2, 2]);
        assert_eq!(s.to_vec(), vec![0.0, 2.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0]);
    }

    #[test]
    #[should_panic(expected = "stack: tensor 1 has shape [3], but tensor 0 has shape [2]")]
    fn stack_shape_mismatch() {
        Tensor::stack(&[&Tensor::<f32>::zeros([2]), &Tensor::zeros([3])], 0);
    }

    #[test]
    #[should_panic(
        expected = "stack: axis 3 is out of range for a tensor of rank 1 (valid: -2..=1)"
    )]
    fn stack_bad_axis() {
        let a = Tensor::<f32>::zeros([2]);
        Tensor::stack(&[&a, &a], 3);
    }

    #[test]
    fn split_gives_views_sharing_storage() {
        let x = Tensor::<f32>::arange(5);
        let pieces = x.split(0, 2);
        let values: Vec<Vec<f32>> = pieces.iter().map(Tensor::to_vec).collect();
        assert_eq!(values, vec![vec![0.0, 1.0], vec![2.0, 3.0], vec![4.0]]);
        assert!(pieces.iter().all(|p| p.shares_storage(&x)));
    }

    #[test]
    fn split_along_negative_axis_of_a_transposed_view() {
        // [[0, 3], [1, 4], [2, 5]] split along the last axis into columns.
        let x = Tensor::<f32>::arange(6).reshape([2, 3]).t();
        let pieces = x.split(-1, 1);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].shape(), &[3, 1]);
        assert_eq!(pieces[0].to_vec(), vec![0.0, 1.0, 2.0]);
        assert_eq!(pieces[1].to_vec(), vec![3.0, 4.0, 5.0]);
        assert!(pieces[1].shares_storage(&x));
        let rows = x.split(0, 2);
        assert_eq!(rows[1].to_vec(), vec![2.0, 5.0]);
    }

    #[test]
    fn split_sizes_and_back_with_concat() {
        let x = Tensor::<f32>::arange(10).reshape([2, 5]);
        let pieces = x.split_sizes(1, &[1, 0, 3, 1]);
        let shapes: Vec<&[usize]> = pieces.iter().map(Tensor::shape).collect();
        assert_eq!(shapes, vec![&[2, 1][..], &[2, 0], &[2, 3], &[2, 1]]);
        assert_eq!(pieces[2].to_vec(), vec![1.0, 2.0, 3.0, 6.0, 7.0, 8.0]);
        assert!(pieces.iter().all(|p| p.shares_storage(&x)));
        let refs: Vec<&Tensor> = pieces.iter().collect();
        assert_eq!(Tensor::concat(&refs, 1).to_vec(), x.to_vec());
    }

    #[test]
    #[should_panic(
        expected = "split_sizes: sizes [1, 2] sum to 3, but axis 0 has size 5 in shape [5]"
    )]
    fn split_sizes_must_sum_to_the_axis() {
        Tensor::<f32>::arange(5).split_sizes(0, &[1, 2]);
    }

    #[test]
    #[should_panic(expected = "split: piece size must be positive")]
    fn split_by_zero() {
        Tensor::<f32>::arange(5).split(0, 0);
    }

    #[test]
    fn chunk_follows_pytorch() {
        let sizes = |len: usize, n: usize| -> Vec<usize> {
            Tensor::<f32>::arange(len)
                .chunk(0, n)
                .iter()
                .map(Tensor::numel)
                .collect()
        };
        assert_eq!(sizes(5, 3), vec![2, 2, 1]);
        assert_eq!(sizes(6, 4), vec![2, 2, 2]);
        assert_eq!(sizes(2, 5), vec![1, 1]);
        assert_eq!(sizes(0, 3), vec![0]);
        let x = Tensor::<f32>::arange(6).reshape([3, 2]);
        let chunks = x.chunk(-2, 2);
        assert_eq!(chunks[1].to_vec(), vec![4.0, 5.0]);
        assert!(chunks[1].shares_storage(&x));
    }

    #[test]
    #[should_panic(expected = "chunk: cannot cut axis 0 of shape [6] into 0 chunks")]
    fn chunk_into_zero() {
        Tensor::<f32>::arange(6).chunk(0, 0);
    }
}
