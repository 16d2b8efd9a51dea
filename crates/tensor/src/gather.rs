//! Indexing element by element along an axis, PyTorch style: `gather` picks one element per
//! index, and its backward `scatter_add` adds each element back at its index.
//!
//! The indices come as [`Indices`] with `self`'s rank, no larger than `self` on the other axes.
//! Every index is checked before any element moves, so the kernels (`cpu::index`) never index out
//! of bounds.
//! `scatter_add` adds duplicates in row-major order of the indices, so its results do not vary
//! between runs.

use crate::check::{fail, fmt_shape};
use crate::cpu;
use crate::element::Element;
use crate::indices::Indices;
use crate::layout::Layout;
use crate::shape::{dims, Axis};
use crate::storage::output_buffer;
use crate::tensor::Tensor;

impl<T: Element> Tensor<T> {
    /// Picks one element along `axis` per index (PyTorch's `gather`): for axis 1 of a matrix,
    /// `out[i][j] = self[i][indices[i][j]]`. `indices` has `self`'s rank and is no larger than
    /// `self` on the other axes; the result has `indices`' shape.
    ///
    /// ```
    /// # use shendu_tensor::{Indices, Tensor};
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]);
    /// let idx = Indices::from_vec(vec![0, 0, 1, 0], [2, 2]);
    /// assert_eq!(t.gather(1, &idx).to_vec(), vec![1.0, 1.0, 4.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn gather(&self, axis: impl Axis, indices: &Indices) -> Tensor<T> {
        let axis = axis.resolve("gather", self.rank());
        check_fits("gather", "self", self.shape(), indices.shape(), Some(axis));
        indices.check_below("gather", self.shape()[axis], || {
            format!(
                "axis {axis} of size {} in shape {}",
                self.shape()[axis],
                fmt_shape(self.shape())
            )
        });
        let idx = indices.as_slice();
        let mut out = output_buffer(idx.len());
        cpu::index::gather(self.parts(), axis, indices.shape(), idx, &mut out);
        Tensor::from_parts(out, Layout::contiguous(dims(indices.shape())))
    }

    /// `self` with each element of `source` added at the position `indices` names along `axis`
    /// (PyTorch's `scatter_add`, out of place): for axis 1 of a matrix,
    /// `out[i][indices[i][j]] += source[i][j]`. Repeated positions accumulate in row-major order
    /// of `indices`. The backward of [`gather`](Tensor::gather).
    ///
    /// ```
    /// # use shendu_tensor::{Indices, Tensor};
    /// let idx = Indices::from(vec![0, 1, 0, 2, 0]);
    /// let source = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0], [5]);
    /// let out = Tensor::zeros([3]).scatter_add(0, &idx, &source);
    /// assert_eq!(out.to_vec(), vec![9.0, 2.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn scatter_add(&self, axis: impl Axis, indices: &Indices, source: &Tensor<T>) -> Tensor<T> {
        let axis = axis.resolve("scatter_add", self.rank());
        check_fits(
            "scatter_add",
            "self",
            self.shape(),
            indices.shape(),
            Some(axis),
        );
        check_fits(
            "scatter_add",
            "source",
            source.shape(),
            indices.shape(),
            None,
        );
        indices.check_below("scatter_add", self.shape()[axis], || {
            format!(
                "axis {axis} of size {} in shape {}",
                self.shape()[axis],
                fmt_shape(self.shape())
            )
        });
        let mut out = self.to_buffer();
        cpu::index::scatter_add(
            &mut out,
            self.shape(),
            axis,
            indices.shape(),
            indices.as_slice(),
            source.parts(),
        );
        Tensor::from_parts(out, Layout::contiguous(dims(self.shape())))
    }
}

/// Panics unless `indices` has the rank of `target` (named `what`) and is no larger on each
/// axis, `axis` excepted when given.
#[track_caller]
fn check_fits(op: &str, what: &str, target: &[usize], indices: &[usize], axis: Option<usize>) {
    if indices.len() != target.len() {
        fail(
            op,
            format!(
                "indices of shape {} must have the rank of {what} of shape {} ({}, not {})",
                fmt_shape(indices),
                fmt_shape(target),
                target.len(),
                indices.len()
            ),
        );
    }
    for d in (0..target.len()).filter(|&d| Some(d) != axis) {
        if indices[d] > target[d] {
            fail(
                op,
                format!(
                    "indices of shape {} are larger than {what} of shape {} at axis {d} ({} > {})",
                    fmt_shape(indices),
                    fmt_shape(target),
                    indices[d],
                    target[d]
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::index::tests::{narrowed, panic_message, t, transposed};
    use crate::{Indices, Tensor};

    fn ix(data: &[usize], shape: &[usize]) -> Indices {
        Indices::from_vec(data.to_vec(), shape)
    }

    #[test]
    fn panics_name_the_callers_line() {
        let here = |line: u32| format!("(at {}:{line})", file!());
        let line = line!() + 1;
        let msg = panic_message(|| drop(Tensor::<f32>::zeros([3]).gather(0, &ix(&[5], &[1]))));
        assert!(msg.ends_with(&here(line)), "{msg}");
        let (x, idx) = (Tensor::<f32>::zeros([2]), ix(&[0], &[1, 1]));
        let line = line!() + 1;
        let msg = panic_message(|| drop(x.gather(0, &idx)));
        assert!(msg.ends_with(&here(line)), "{msg}");
    }

    #[test]
    fn gather_follows_pytorch() {
        let x = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let out = x.gather(1, &ix(&[0, 0, 1, 0], &[2, 2]));
        assert_eq!(out.to_vec(), vec![1.0, 1.0, 4.0, 3.0]);
        let y = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let out = y.gather(0, &ix(&[1, 0, 1], &[1, 3]));
        assert_eq!(out.shape(), &[1, 3]);
        assert_eq!(out.to_vec(), vec![4.0, 2.0, 6.0]);
    }

    #[test]
    fn gather_with_indices_smaller_than_self() {
        // [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
        let x = Tensor::<f32>::arange(9).reshape([3, 3]);
        let out = x.gather(1, &ix(&[2, 0], &[2, 1]));
        assert_eq!(out.shape(), &[2, 1]);
        assert_eq!(out.to_vec(), vec![2.0, 3.0]);
    }

    #[test]
    fn gather_of_views_along_negative_axis() {
        let idx = ix(&[1, 0, 1], &[3, 1]);
        assert_eq!(transposed().gather(-1, &idx).to_vec(), vec![3.0, 1.0, 5.0]);
        assert_eq!(narrowed().gather(-1, &idx).to_vec(), vec![2.0, 5.0, 10.0]);
    }

    #[test]
    #[should_panic(
        expected = "gather: index 3 at [1, 0] of indices of shape [2, 1] is out of range 0..3 for axis 1 of size 3 in shape [3, 3]"
    )]
    fn gather_index_out_of_range() {
        Tensor::<f32>::zeros([3, 3]).gather(1, &ix(&[0, 3], &[2, 1]));
    }

    #[test]
    #[should_panic(
        expected = "gather: indices of shape [2] must have the rank of self of shape [2, 2] (2, not 1)"
    )]
    fn gather_rank_mismatch() {
        Tensor::<f32>::zeros([2, 2]).gather(0, &ix(&[0, 1], &[2]));
    }

    #[test]
    #[should_panic(
        expected = "gather: indices of shape [3, 1] are larger than self of shape [2, 2] at axis 0 (3 > 2)"
    )]
    fn gather_indices_too_large() {
        Tensor::<f32>::zeros([2, 2]).gather(1, &ix(&[0; 3], &[3, 1]));
    }

    #[test]
    fn scatter_add_accumulates_duplicates_in_order() {
        let idx = ix(&[0, 1, 0, 2, 0], &[5]);
        let source = t(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5]);
        assert_eq!(
            Tensor::zeros([3]).scatter_add(0, &idx, &source).to_vec(),
            vec![9.0, 2.0, 4.0]
        );
    }

    #[test]
    fn scatter_add_2d_with_larger_source() {
        // out[idx[i][j]][j] += src[i][j]; the source's last column lies outside the indices.
        let idx = ix(&[0, 1, 0, 1, 1, 0], &[2, 3]);
        let source = t(&[1.0, 2.0, 3.0, 100.0, 4.0, 5.0, 6.0, 100.0], &[2, 4]);
        let out = Tensor::zeros([2, 3]).scatter_add(0, &idx, &source);
        assert_eq!(out.to_vec(), vec![1.0, 0.0, 9.0, 4.0, 7.0, 0.0]);
    }

    #[test]
    fn scatter_add_along_negative_axis_and_into_views() {
        let idx = ix(&[1, 1, 0, 0], &[2, 2]);
        let source = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let out = Tensor::ones([2, 2]).scatter_add(-1, &idx, &source);
        assert_eq!(out.to_vec(), vec![1.0, 4.0, 8.0, 1.0]);
        // Into [[1, 3], [2, 4]] (transposed) from a transposed source [[10, 20]].
        let x = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).t();
        let src = t(&[10.0, 20.0], &[2, 1]).t();
        let out = x.scatter_add(0, &ix(&[1, 0], &[1, 2]), &src);
        assert_eq!(out.to_vec(), vec![1.0, 23.0, 12.0, 4.0]);
    }

    #[test]
    fn scatter_add_is_the_adjoint_of_gather() {
        // <gather(x, idx), g> = <x, scatter_add(0, idx, g)> for every x and g.
        let x = Tensor::<f64>::from_vec(vec![1.0, -2.0, 3.0, 0.5, 4.0, -1.0], [3, 2]);
        let idx = ix(&[2, 0, 2, 2, 1, 0, 0, 1], &[4, 2]);
        let g = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [4, 2]);
        let lhs = x.gather(0, &idx).mul(&g).to_vec().iter().sum::<f64>();
        let back = Tensor::zeros([3, 2]).scatter_add(0, &idx, &g);
        let rhs = x.mul(&back).to_vec().iter().sum::<f64>();
        assert_eq!(lhs, rhs);
    }

    #[test]
    #[should_panic(
        expected = "scatter_add: indices of shape [2, 2] are larger than source of shape [2, 1] at axis 1 (2 > 1)"
    )]
    fn scatter_add_source_too_small() {
        Tensor::<f32>::zeros([2, 2]).scatter_add(0, &ix(&[0; 4], &[2, 2]), &Tensor::zeros([2, 1]));
    }

    #[test]
    #[should_panic(
        expected = "scatter_add: index 2 at [0, 1] of indices of shape [1, 2] is out of range 0..2"
    )]
    fn scatter_add_bad_index() {
        let idx = ix(&[0, 2], &[1, 2]);
        Tensor::<f32>::zeros([2, 2]).scatter_add(0, &idx, &Tensor::zeros([1, 2]));
    }
}
