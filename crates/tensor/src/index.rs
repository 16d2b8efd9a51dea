//! Indexing by lists of positions, PyTorch style: `index_select` takes whole slices along an axis
//! and `gather` one element per index; their backward ops `index_add` and `scatter_add` add the
//! slices or elements back. Also `one_hot` encoding of class indices, and `allclose`.
//!
//! shendu's tensors hold floats only, so index tensors (of `gather`, `scatter_add`, `one_hot`)
//! hold whole-number floats. Every index is checked once, before any element moves, and a bad one
//! panics with its value and position; the loops below never index out of bounds.
//! Accumulating ops add duplicates in a fixed order, so their results do not vary between runs.

use crate::check::{fail, fmt_shape};
use crate::cpu::walk::Walk;
use crate::element::Element;
use crate::join::copy_strided;
use crate::layout::Layout;
use crate::shape::{contiguous_strides, numel, Axis, Dims};
use crate::storage::output_buffer;
use crate::tensor::Tensor;

impl<T: Element> Tensor<T> {
    /// The slices of `axis` at `indices`, in order (PyTorch's `index_select`; an index may
    /// repeat): `out[.., k, ..] = self[.., indices[k], ..]`.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::<f32>::arange(6).reshape([3, 2]);
    /// let rows = t.index_select(0, &[2, 0, 2]);
    /// assert_eq!(rows.shape(), &[3, 2]);
    /// assert_eq!(rows.to_vec(), vec![4.0, 5.0, 0.0, 1.0, 4.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn index_select(&self, axis: impl Axis, indices: &[usize]) -> Tensor<T> {
        let axis = axis.resolve("index_select", self.rank());
        let size = self.shape()[axis];
        for (k, &i) in indices.iter().enumerate() {
            if i >= size {
                fail(
                    "index_select",
                    format!(
                        "index {i} (indices[{k}]) is out of range for axis {axis} of size {size} \
                         in shape {}",
                        fmt_shape(self.shape())
                    ),
                );
            }
        }
        let mut shape = Dims::from_slice(self.shape());
        shape[axis] = indices.len();
        let strides = contiguous_strides(&shape);
        let mut out = output_buffer(numel(&shape));
        if out.is_empty() {
            // No indices, or an empty axis: nothing to copy.
        } else if let Some(src) = self.as_slice() {
            // The hot path (a data loader gathering the rows of a batch): each selected block
            // is `inner` consecutive elements, one `copy_from_slice`.
            let inner = numel(&self.shape()[axis + 1..]);
            for (o, dst) in out.chunks_exact_mut(indices.len() * inner).enumerate() {
                let src = &src[o * size * inner..];
                for (block, &i) in dst.chunks_exact_mut(inner).zip(indices) {
                    block.copy_from_slice(&src[i * inner..(i + 1) * inner]);
                }
            }
        } else {
            // A view: copy each selected slice from self's layout into its place.
            let (src, layout) = self.parts();
            for (k, &i) in indices.iter().enumerate() {
                let slice = layout.narrow(axis, i, 1);
                copy_strided(src, &slice, &mut out, &strides, k * strides[axis]);
            }
        }
        Tensor::from_parts(out, Layout::contiguous(shape))
    }

    /// Picks one element along `axis` per index (PyTorch's `gather`): for axis 1 of a matrix,
    /// `out[i][j] = self[i][indices[i][j]]`. `indices` holds whole numbers, has `self`'s rank and
    /// is no larger than `self` on the other axes; the result has `indices`' shape.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]);
    /// let idx = Tensor::from_vec(vec![0.0, 0.0, 1.0, 0.0], [2, 2]);
    /// assert_eq!(t.gather(1, &idx).to_vec(), vec![1.0, 1.0, 4.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn gather(&self, axis: impl Axis, indices: &Tensor<T>) -> Tensor<T> {
        let axis = axis.resolve("gather", self.rank());
        check_fits("gather", "self", self.shape(), indices.shape(), Some(axis));
        let idx = whole_indices("gather", "index", indices, self.shape()[axis], || {
            format!(
                "axis {axis} of size {} in shape {}",
                self.shape()[axis],
                fmt_shape(self.shape())
            )
        });
        // Self over the indices' shape with stride 0 along `axis`: the index, times self's
        // stride there, completes each element's position.
        let (src, layout) = self.parts();
        let along = layout.strides()[axis];
        let mut strides = Dims::from_slice(layout.strides());
        strides[axis] = 0;
        let walk = Walk::new(indices.shape(), [&strides], [layout.offset()]);
        let [s] = walk.row_strides();
        let mut out = output_buffer(idx.len());
        walk.for_each_row(0, idx.len(), |pos, len, [o]| {
            for i in 0..len {
                out[pos + i] = src[o + i * s + idx[pos + i] * along];
            }
        });
        Tensor::from_parts(out, Layout::contiguous(Dims::from_slice(indices.shape())))
    }

    /// `self` with `source`'s slices along `axis` added at `indices`: `out[.., indices[k], ..] +=
    /// source[.., k, ..]`, repeated indices accumulating in order of `k`. The backward of
    /// [`index_select`](Tensor::index_select).
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let source = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], [3]);
    /// let out = Tensor::zeros([2]).index_add(0, &[1, 0, 1], &source);
    /// assert_eq!(out.to_vec(), vec![2.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn index_add(&self, axis: impl Axis, indices: &[usize], source: &Tensor<T>) -> Tensor<T> {
        let axis = axis.resolve("index_add", self.rank());
        let mut expected = Dims::from_slice(self.shape());
        expected[axis] = indices.len();
        if source.shape() != expected.as_slice() {
            fail(
                "index_add",
                format!(
                    "source of shape {} does not fit self of shape {} with {} indices along axis \
                     {axis}: expected source shape {}",
                    fmt_shape(source.shape()),
                    fmt_shape(self.shape()),
                    indices.len(),
                    fmt_shape(&expected)
                ),
            );
        }
        let size = self.shape()[axis];
        for (k, &i) in indices.iter().enumerate() {
            if i >= size {
                fail(
                    "index_add",
                    format!(
                        "index {i} (indices[{k}]) is out of range for axis {axis} of size {size} \
                         in shape {}",
                        fmt_shape(self.shape())
                    ),
                );
            }
        }
        let mut out = self.to_vec();
        let strides = contiguous_strides(self.shape());
        let (src, layout) = source.parts();
        for (k, &i) in indices.iter().enumerate() {
            add_strided(
                src,
                &layout.narrow(axis, k, 1),
                &mut out,
                &strides,
                i * strides[axis],
            );
        }
        Tensor::from_parts(out, Layout::contiguous(Dims::from_slice(self.shape())))
    }

    /// `self` with each element of `source` added at the position `indices` names along `axis`
    /// (PyTorch's `scatter_add`, out of place): for axis 1 of a matrix,
    /// `out[i][indices[i][j]] += source[i][j]`. Repeated positions accumulate in row-major order
    /// of `indices`. The backward of [`gather`](Tensor::gather).
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let idx = Tensor::from_vec(vec![0.0f32, 1.0, 0.0, 2.0, 0.0], [5]);
    /// let source = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0], [5]);
    /// let out = Tensor::zeros([3]).scatter_add(0, &idx, &source);
    /// assert_eq!(out.to_vec(), vec![9.0, 2.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn scatter_add(
        &self,
        axis: impl Axis,
        indices: &Tensor<T>,
        source: &Tensor<T>,
    ) -> Tensor<T> {
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
        let idx = whole_indices("scatter_add", "index", indices, self.shape()[axis], || {
            format!(
                "axis {axis} of size {} in shape {}",
                self.shape()[axis],
                fmt_shape(self.shape())
            )
        });
        let mut out = self.to_vec();
        let mut strides = contiguous_strides(self.shape());
        let along = strides[axis];
        strides[axis] = 0;
        let (src, layout) = source.parts();
        let walk = Walk::new(
            indices.shape(),
            [&strides, layout.strides()],
            [0, layout.offset()],
        );
        let [d, s] = walk.row_strides();
        walk.for_each_row(0, idx.len(), |pos, len, [o, so]| {
            for i in 0..len {
                out[o + i * d + idx[pos + i] * along] += src[so + i * s];
            }
        });
        Tensor::from_parts(out, Layout::contiguous(Dims::from_slice(self.shape())))
    }

    /// One-hot encoding of class indices: `self` holds whole numbers in `0..classes`, and the
    /// result, of shape `self.shape + [classes]`, is 1 at each class and 0 elsewhere.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let labels = Tensor::from_vec(vec![2.0f32, 0.0], [2]);
    /// assert_eq!(labels.one_hot(3).to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn one_hot(&self, classes: usize) -> Tensor<T> {
        let idx = whole_indices("one_hot", "class", self, classes, || {
            format!("{classes} classes")
        });
        let mut shape = Dims::from_slice(self.shape());
        shape.push(classes);
        let mut out = output_buffer(numel(&shape));
        out.fill(T::zero());
        for (row, &c) in idx.iter().enumerate() {
            out[row * classes + c] = T::one();
        }
        Tensor::from_parts(out, Layout::contiguous(shape))
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
            let close = if a.is_finite() && b.is_finite() {
                (a - b).abs() <= atol + rtol * b.abs()
            } else {
                a == b
            };
            if close {
                T::one()
            } else {
                T::zero()
            }
        });
        close.to_vec().iter().all(|&c| c == T::one())
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

/// The values of an index tensor as `usize`s in row-major order, each checked to be a whole
/// number in `0..bound`. `noun` names one value ("index", "class") and `range` describes where
/// the bound comes from, for the message.
#[track_caller]
fn whole_indices<T: Element>(
    op: &str,
    noun: &str,
    indices: &Tensor<T>,
    bound: usize,
    range: impl FnOnce() -> String,
) -> Vec<usize> {
    let values = indices.to_vec();
    let mut out = Vec::with_capacity(values.len());
    for (pos, &v) in values.iter().enumerate() {
        let x = v.to_f64_exact();
        if x >= 0.0 && x.fract() == 0.0 && x < bound as f64 {
            out.push(x as usize);
            continue;
        }
        let problem = if x.is_nan() || x.fract() != 0.0 {
            "is not a whole number".to_string()
        } else if x < 0.0 {
            "is negative".to_string()
        } else {
            format!("is out of range 0..{bound} for {}", range())
        };
        fail(
            op,
            format!(
                "{noun} {v} at {:?} of indices of shape {} {problem}",
                unravel(pos, indices.shape()),
                fmt_shape(indices.shape())
            ),
        );
    }
    out
}

/// The multi-index of row-major position `pos` in `shape`.
fn unravel(mut pos: usize, shape: &[usize]) -> Dims {
    let mut index = Dims::from_elem(0, shape.len());
    for (i, &d) in index.iter_mut().zip(shape).rev() {
        *i = pos % d;
        pos /= d;
    }
    index
}

/// Adds the elements of `src` under `layout` into `dst`, the element at multi-index `i` going to
/// `dst[dst_offset + Σ i[d] · dst_strides[d]]`.
fn add_strided<T: Element>(
    src: &[T],
    layout: &Layout,
    dst: &mut [T],
    dst_strides: &[usize],
    dst_offset: usize,
) {
    let walk = Walk::new(
        layout.shape(),
        [layout.strides(), dst_strides],
        [layout.offset(), dst_offset],
    );
    let [s, d] = walk.row_strides();
    walk.for_each_row(0, layout.numel(), |_, len, [so, dof]| {
        for i in 0..len {
            dst[dof + i * d] += src[so + i * s];
        }
    });
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    fn t(data: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(data.to_vec(), shape)
    }

    /// [[0, 3], [1, 4], [2, 5]], a transposed (non-contiguous) view.
    fn transposed() -> Tensor {
        Tensor::arange(6).reshape([2, 3]).t()
    }

    /// [[1, 2], [5, 6], [9, 10]], a narrowed (non-contiguous) view.
    fn narrowed() -> Tensor {
        Tensor::arange(12).reshape([3, 4]).narrow(1, 1, 2)
    }

    /// The panic message of `f`, which must panic.
    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).expect_err("should panic");
        err.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn panics_name_the_callers_line() {
        let here = |line: u32| format!("(at {}:{line})", file!());
        let line = line!() + 1;
        let msg = panic_message(|| drop(Tensor::<f32>::zeros([3]).gather(0, &t(&[5.0], &[1]))));
        assert!(msg.ends_with(&here(line)), "{msg}");
        let (x, idx) = (Tensor::<f32>::zeros([2]), Tensor::zeros([1, 1]));
        let line = line!() + 1;
        let msg = panic_message(|| drop(x.gather(0, &idx)));
        assert!(msg.ends_with(&here(line)), "{msg}");
        let line = line!() + 1;
        let msg = panic_message(|| drop(t(&[-2.0], &[1]).one_hot(2)));
        assert!(msg.ends_with(&here(line)), "{msg}");
        let line = line!() + 1;
        let msg = panic_message(|| drop(Tensor::<f32>::zeros([2]).index_select(0, &[2])));
        assert!(msg.ends_with(&here(line)), "{msg}");
    }

    #[test]
    fn index_select_rows_and_columns() {
        let x = Tensor::<f32>::arange(6).reshape([3, 2]);
        let rows = x.index_select(0, &[2, 0, 2]);
        assert_eq!(rows.shape(), &[3, 2]);
        assert_eq!(rows.to_vec(), vec![4.0, 5.0, 0.0, 1.0, 4.0, 5.0]);
        let y = Tensor::<f32>::arange(6).reshape([2, 3]);
        let cols = y.index_select(-1, &[2, 0]);
        assert_eq!(cols.shape(), &[2, 2]);
        assert_eq!(cols.to_vec(), vec![2.0, 0.0, 5.0, 3.0]);
        assert_eq!(x.index_select(0, &[]).shape(), &[0, 2]);
        assert_eq!(
            Tensor::<f32>::zeros([3, 0])
                .index_select(0, &[1, 2])
                .shape(),
            &[2, 0]
        );
        assert_eq!(transposed().index_select(1, &[]).shape(), &[3, 0]);
    }

    #[test]
    fn index_select_of_views() {
        assert_eq!(transposed().index_select(0, &[1]).to_vec(), vec![1.0, 4.0]);
        assert_eq!(
            transposed().index_select(1, &[1, 1]).to_vec(),
            vec![3.0, 3.0, 4.0, 4.0, 5.0, 5.0]
        );
        assert_eq!(
            narrowed().index_select(0, &[2, 0]).to_vec(),
            vec![9.0, 10.0, 1.0, 2.0]
        );
        assert_eq!(
            narrowed().index_select(1, &[1]).to_vec(),
            vec![2.0, 6.0, 10.0]
        );
        let broadcast = t(&[1.0, 2.0], &[2]).broadcast_to([3, 2]);
        assert_eq!(
            broadcast.index_select(0, &[0, 2]).to_vec(),
            vec![1.0, 2.0, 1.0, 2.0]
        );
    }

    #[test]
    fn index_select_middle_axis_of_rank_3() {
        // x[i][j][k] = 4i + 2j + k, shape [2, 2, 2]
        let x = Tensor::<f32>::arange(8).reshape([2, 2, 2]);
        let out = x.index_select(1, &[1, 1, 0]);
        assert_eq!(out.shape(), &[2, 3, 2]);
        assert_eq!(
            out.to_vec(),
            vec![2.0, 3.0, 2.0, 3.0, 0.0, 1.0, 6.0, 7.0, 6.0, 7.0, 4.0, 5.0]
        );
    }

    #[test]
    #[should_panic(
        expected = "index_select: index 3 (indices[1]) is out of range for axis 0 of size 3 in shape [3, 2]"
    )]
    fn index_select_bad_index() {
        Tensor::<f32>::zeros([3, 2]).index_select(0, &[0, 3]);
    }

    #[test]
    #[should_panic(expected = "index_select: axis -3 is out of range for a tensor of rank 2")]
    fn index_select_bad_axis() {
        Tensor::<f32>::zeros([3, 2]).index_select(-3, &[0]);
    }

    #[test]
    fn gather_follows_pytorch() {
        let x = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let out = x.gather(1, &t(&[0.0, 0.0, 1.0, 0.0], &[2, 2]));
        assert_eq!(out.to_vec(), vec![1.0, 1.0, 4.0, 3.0]);
        let y = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let out = y.gather(0, &t(&[1.0, 0.0, 1.0], &[1, 3]));
        assert_eq!(out.shape(), &[1, 3]);
        assert_eq!(out.to_vec(), vec![4.0, 2.0, 6.0]);
    }

    #[test]
    fn gather_with_indices_smaller_than_self() {
        // [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
        let x = Tensor::<f32>::arange(9).reshape([3, 3]);
        let out = x.gather(1, &t(&[2.0, 0.0], &[2, 1]));
        assert_eq!(out.shape(), &[2, 1]);
        assert_eq!(out.to_vec(), vec![2.0, 3.0]);
    }

    #[test]
    fn gather_of_views_along_negative_axis() {
        let idx = t(&[1.0, 0.0, 1.0], &[3, 1]);
        assert_eq!(transposed().gather(-1, &idx).to_vec(), vec![3.0, 1.0, 5.0]);
        let idx_t = t(&[1.0, 0.0, 1.0], &[1, 3]).t();
        assert_eq!(
            transposed().gather(-1, &idx_t).to_vec(),
            vec![3.0, 1.0, 5.0]
        );
        assert_eq!(narrowed().gather(-1, &idx).to_vec(), vec![2.0, 5.0, 10.0]);
    }

    #[test]
    #[should_panic(
        expected = "gather: index 3 at [1, 0] of indices of shape [2, 1] is out of range 0..3 for axis 1 of size 3 in shape [3, 3]"
    )]
    fn gather_index_out_of_range() {
        Tensor::<f32>::zeros([3, 3]).gather(1, &t(&[0.0, 3.0], &[2, 1]));
    }

    #[test]
    #[should_panic(
        expected = "gather: index 0.5 at [1] of indices of shape [2] is not a whole number"
    )]
    fn gather_fractional_index() {
        Tensor::<f32>::zeros([3]).gather(0, &t(&[1.0, 0.5], &[2]));
    }

    #[test]
    #[should_panic(expected = "gather: index -1 at [0] of indices of shape [1] is negative")]
    fn gather_negative_index() {
        Tensor::<f32>::zeros([3]).gather(0, &t(&[-1.0], &[1]));
    }

    #[test]
    #[should_panic(
        expected = "gather: indices of shape [2] must have the rank of self of shape [2, 2] (2, not 1)"
    )]
    fn gather_rank_mismatch() {
        Tensor::<f32>::zeros([2, 2]).gather(0, &t(&[0.0, 1.0], &[2]));
    }

    #[test]
    #[should_panic(
        expected = "gather: indices of shape [3, 1] are larger than self of shape [2, 2] at axis 0 (3 > 2)"
    )]
    fn gather_indices_too_large() {
        Tensor::<f32>::zeros([2, 2]).gather(1, &Tensor::zeros([3, 1]));
    }

    #[test]
    fn index_add_accumulates_duplicates() {
        let source = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
        let out = Tensor::zeros([3, 2]).index_add(0, &[0, 2, 0], &source);
        assert_eq!(out.to_vec(), vec![6.0, 8.0, 0.0, 0.0, 3.0, 4.0]);
    }

    #[test]
    fn index_add_along_negative_axis_with_views() {
        let source = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let expected = vec![1.0, 1.0, 4.0, 1.0, 1.0, 8.0];
        assert_eq!(
            Tensor::ones([2, 3])
                .index_add(-1, &[2, 2], &source)
                .to_vec(),
            expected
        );
        // The same source as a transposed view, into a broadcast self.
        let source_t = t(&[1.0, 3.0, 2.0, 4.0], &[2, 2]).t();
        let ones = Tensor::scalar(1.0).broadcast_to([2, 3]);
        assert_eq!(ones.index_add(-1, &[2, 2], &source_t).to_vec(), expected);
        // Into the narrowed view [[1, 2], [5, 6], [9, 10]].
        let out = narrowed().index_add(0, &[1], &t(&[10.0, 20.0], &[1, 2]));
        assert_eq!(out.to_vec(), vec![1.0, 2.0, 15.0, 26.0, 9.0, 10.0]);
    }

    #[test]
    fn index_add_is_the_backward_of_index_select() {
        // d/dx sum(index_select(x, [1, 1, 2])) counts how often each entry was picked.
        let counts = Tensor::<f32>::zeros([3]).index_add(0, &[1, 1, 2], &Tensor::ones([3]));
        assert_eq!(counts.to_vec(), vec![0.0, 2.0, 1.0]);
    }

    #[test]
    #[should_panic(
        expected = "index_add: source of shape [2, 2] does not fit self of shape [3, 2] with 3 indices along axis 0: expected source shape [3, 2]"
    )]
    fn index_add_source_mismatch() {
        Tensor::<f32>::zeros([3, 2]).index_add(0, &[0, 1, 2], &Tensor::zeros([2, 2]));
    }

    #[test]
    #[should_panic(
        expected = "index_add: index 5 (indices[0]) is out of range for axis 1 of size 2"
    )]
    fn index_add_bad_index() {
        Tensor::<f32>::zeros([3, 2]).index_add(1, &[5], &Tensor::zeros([3, 1]));
    }

    #[test]
    fn scatter_add_accumulates_duplicates_in_order() {
        let idx = t(&[0.0, 1.0, 0.0, 2.0, 0.0], &[5]);
        let source = t(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5]);
        assert_eq!(
            Tensor::zeros([3]).scatter_add(0, &idx, &source).to_vec(),
            vec![9.0, 2.0, 4.0]
        );
    }

    #[test]
    fn scatter_add_2d_with_larger_source() {
        // out[idx[i][j]][j] += src[i][j]; the source's last column lies outside the indices.
        let idx = t(&[0.0, 1.0, 0.0, 1.0, 1.0, 0.0], &[2, 3]);
        let source = t(&[1.0, 2.0, 3.0, 100.0, 4.0, 5.0, 6.0, 100.0], &[2, 4]);
        let out = Tensor::zeros([2, 3]).scatter_add(0, &idx, &source);
        assert_eq!(out.to_vec(), vec![1.0, 0.0, 9.0, 4.0, 7.0, 0.0]);
    }

    #[test]
    fn scatter_add_along_negative_axis_and_into_views() {
        let idx = t(&[1.0, 1.0, 0.0, 0.0], &[2, 2]);
        let source = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let out = Tensor::ones([2, 2]).scatter_add(-1, &idx, &source);
        assert_eq!(out.to_vec(), vec![1.0, 4.0, 8.0, 1.0]);
        // Into [[1, 3], [2, 4]] (transposed) from a transposed source [[10, 20]].
        let x = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).t();
        let src = t(&[10.0, 20.0], &[2, 1]).t();
        let out = x.scatter_add(0, &t(&[1.0, 0.0], &[1, 2]), &src);
        assert_eq!(out.to_vec(), vec![1.0, 23.0, 12.0, 4.0]);
    }

    #[test]
    fn scatter_add_is_the_adjoint_of_gather() {
        // <gather(x, idx), g> = <x, scatter_add(0, idx, g)> for every x and g.
        let x = Tensor::<f64>::from_vec(vec![1.0, -2.0, 3.0, 0.5, 4.0, -1.0], [3, 2]);
        let idx = Tensor::from_vec(vec![2.0, 0.0, 2.0, 2.0, 1.0, 0.0, 0.0, 1.0], [4, 2]);
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
        Tensor::<f32>::zeros([2, 2]).scatter_add(0, &Tensor::zeros([2, 2]), &Tensor::zeros([2, 1]));
    }

    #[test]
    #[should_panic(
        expected = "scatter_add: index 2 at [0, 1] of indices of shape [1, 2] is out of range 0..2"
    )]
    fn scatter_add_bad_index() {
        let idx = t(&[0.0, 2.0], &[1, 2]);
        Tensor::<f32>::zeros([2, 2]).scatter_add(0, &idx, &Tensor::zeros([1, 2]));
    }

    #[test]
    fn one_hot_of_vectors_matrices_and_scalars() {
        let out = t(&[2.0, 0.0, 1.0], &[3]).one_hot(3);
        assert_eq!(out.shape(), &[3, 3]);
        assert_eq!(
            out.to_vec(),
            vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        );
        let out = t(&[1.0, 0.0], &[2, 1]).one_hot(2);
        assert_eq!(out.shape(), &[2, 1, 2]);
        assert_eq!(out.to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
        let out = Tensor::scalar(1.0f64).one_hot(2);
        assert_eq!(out.shape(), &[2]);
        assert_eq!(out.to_vec(), vec![0.0, 1.0]);
        // Non-contiguous labels: [[0, 2], [1, 0]] transposed is [[0, 1], [2, 0]].
        let labels = t(&[0.0, 2.0, 1.0, 0.0], &[2, 2]).t();
        assert_eq!(
            labels.one_hot(3).to_vec(),
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
        );
    }

    #[test]
    #[should_panic(
        expected = "one_hot: class 3 at [1] of indices of shape [2] is out of range 0..3 for 3 classes"
    )]
    fn one_hot_class_out_of_range() {
        t(&[0.0, 3.0], &[2]).one_hot(3);
    }

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
        assert!(transposed().allclose(&t(&[0.0, 3.0, 1.0, 4.0, 2.0, 5.0], &[3, 2]), 0.0, 0.0));
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
