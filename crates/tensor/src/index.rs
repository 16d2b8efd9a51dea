//! Indexing by lists of positions, PyTorch style: `index_select` takes whole slices along an axis
//! and its backward `index_add` adds them back; the one-hot encoding of [`Indices`] is built
//! here. Indexing element by element (`gather`, `scatter_add`) is in `gather.rs`.
//!
//! Every index is checked once, before any element moves, and a bad one panics with its value
//! and position; the kernels (`cpu::index`) never index out of bounds. `index_add` adds
//! duplicates in order, so its results do not vary between runs.
//!
//! [`Indices`]: crate::Indices

use crate::check::{fail, fmt_shape};
use crate::cpu;
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::{checked_numel, dims, Axis};
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
        check_in_range("index_select", self.shape(), axis, indices);
        let mut shape = dims(self.shape());
        shape[axis] = indices.len();
        let mut out = output_buffer(checked_numel::<T>("index_select", &shape));
        cpu::index::index_select(self.parts(), axis, indices, &mut out);
        Tensor::from_parts(out, Layout::contiguous(shape))
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
        let mut expected = dims(self.shape());
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
        check_in_range("index_add", self.shape(), axis, indices);
        let mut out = self.to_buffer();
        cpu::index::index_add(&mut out, self.shape(), axis, indices, source.parts());
        Tensor::from_parts(out, Layout::contiguous(dims(self.shape())))
    }

    /// The one-hot encoding of `indices` (row-major, of shape `shape`, each below `classes`):
    /// shape `shape + [classes]`, 1 at each index and 0 elsewhere. See `Indices::one_hot`.
    #[track_caller]
    pub(crate) fn one_hot_of(indices: &[usize], shape: &[usize], classes: usize) -> Tensor<T> {
        let mut shape = dims(shape);
        shape.push(classes);
        let mut out = output_buffer(checked_numel::<T>("one_hot", &shape));
        cpu::index::one_hot(indices, classes, &mut out);
        Tensor::from_parts(out, Layout::contiguous(shape))
    }
}

/// Panics unless every index names a slice of `axis` in `shape`.
#[track_caller]
fn check_in_range(op: &str, shape: &[usize], axis: usize, indices: &[usize]) {
    let size = shape[axis];
    for (k, &i) in indices.iter().enumerate() {
        if i >= size {
            fail(
                op,
                format!(
                    "index {i} (indices[{k}]) is out of range for axis {axis} of size {size} \
                     in shape {}",
                    fmt_shape(shape)
                ),
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::Tensor;

    pub(crate) fn t(data: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(data.to_vec(), shape)
    }

    /// [[0, 3], [1, 4], [2, 5]], a transposed (non-contiguous) view.
    pub(crate) fn transposed() -> Tensor {
        Tensor::arange(6).reshape([2, 3]).t()
    }

    /// [[1, 2], [5, 6], [9, 10]], a narrowed (non-contiguous) view.
    pub(crate) fn narrowed() -> Tensor {
        Tensor::arange(12).reshape([3, 4]).narrow(1, 1, 2)
    }

    /// The panic message of `f`, which must panic.
    pub(crate) fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).expect_err("should panic");
        err.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn panics_name_the_callers_line() {
        let here = |line: u32| format!("(at {}:{line})", file!());
        let line = line!() + 1;
        let msg = panic_message(|| drop(Tensor::<f32>::zeros([2]).index_select(0, &[2])));
        assert!(msg.ends_with(&here(line)), "{msg}");
        let (x, source) = (Tensor::<f32>::zeros([2]), Tensor::zeros([1]));
        let line = line!() + 1;
        let msg = panic_message(|| drop(x.index_add(0, &[2], &source)));
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
}
