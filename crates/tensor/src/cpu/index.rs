//! Indexing kernels: whole slices along an axis (`index_select`, `index_add`), one element per
//! index (`gather`, `scatter_add`), and the one-hot fill.
//!
//! The callers (`index.rs`, `gather.rs`) have checked every index against its bound and every
//! shape before a kernel runs, so the kernels only move elements. Additions of repeated indices
//! happen in the order of the indices, so results do not vary between runs.

use super::copy::{copy_strided, Combine};
use super::walk::Walk;
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::{contiguous_strides, dims, numel};

/// Fills `out`, row-major of `src`'s shape with `axis` resized to `indices.len()`, with the
/// slices of `axis` at `indices`: `out[.., k, ..] = src[.., indices[k], ..]`.
pub(crate) fn index_select<T: Element>(
    (src, layout): (&[T], &Layout),
    axis: usize,
    indices: &[usize],
    out: &mut [T],
) {
    if out.is_empty() {
        // No indices, or an empty axis: nothing to copy.
        return;
    }
    let shape = layout.shape();
    if layout.is_contiguous() {
        // The hot path (a data loader gathering the rows of a batch): each selected block is
        // `inner` consecutive elements, one `copy_from_slice`.
        let src = &src[layout.offset()..layout.offset() + layout.numel()];
        let (size, inner) = (shape[axis], numel(&shape[axis + 1..]));
        for (o, dst) in out.chunks_exact_mut(indices.len() * inner).enumerate() {
            let src = &src[o * size * inner..];
            for (block, &i) in dst.chunks_exact_mut(inner).zip(indices) {
                block.copy_from_slice(&src[i * inner..(i + 1) * inner]);
            }
        }
    } else {
        // A view: copy each selected slice from the layout into its place.
        let mut out_shape = dims(shape);
        out_shape[axis] = indices.len();
        let strides = contiguous_strides(&out_shape);
        for (k, &i) in indices.iter().enumerate() {
            let slice = layout.narrow(axis, i, 1);
            let at = k * strides[axis];
            copy_strided(src, &slice, out, &strides, at, Combine::Copy);
        }
    }
}

/// Adds `source`'s slices along `axis` into `out` (row-major of `shape`) at `indices`:
/// `out[.., indices[k], ..] += source[.., k, ..]`, in order of `k`.
pub(crate) fn index_add<T: Element>(
    out: &mut [T],
    shape: &[usize],
    axis: usize,
    indices: &[usize],
    (src, layout): (&[T], &Layout),
) {
    let strides = contiguous_strides(shape);
    for (k, &i) in indices.iter().enumerate() {
        let slice = layout.narrow(axis, k, 1);
        let at = i * strides[axis];
        copy_strided(src, &slice, out, &strides, at, Combine::Add);
    }
}

/// Fills `out`, row-major of `index_shape`, with one element of `src` per index: the element at
/// the index's own position, but at `idx[p]` along `axis` (`idx` holds the indices row-major).
pub(crate) fn gather<T: Element>(
    (src, layout): (&[T], &Layout),
    axis: usize,
    index_shape: &[usize],
    idx: &[usize],
    out: &mut [T],
) {
    // Src over the indices' shape with stride 0 along `axis`: the index, times src's stride
    // there, completes each element's position.
    let along = layout.strides()[axis];
    let mut strides = dims(layout.strides());
    strides[axis] = 0;
    let walk = Walk::new(index_shape, [&strides], [layout.offset()]);
    let [s] = walk.row_strides();
    walk.for_each_row(0, idx.len(), |pos, len, [o]| {
        for i in 0..len {
            out[pos + i] = src[o + i * s + idx[pos + i] * along];
        }
    });
}

/// Adds each element of `source` (read over `index_shape`) into `out`, row-major of `shape`, at
/// its own position but at `idx[p]` along `axis`; repeated positions add in row-major order.
pub(crate) fn scatter_add<T: Element>(
    out: &mut [T],
    shape: &[usize],
    axis: usize,
    index_shape: &[usize],
    idx: &[usize],
    (src, layout): (&[T], &Layout),
) {
    let mut strides = contiguous_strides(shape);
    let along = strides[axis];
    strides[axis] = 0;
    let walk = Walk::new(
        index_shape,
        [&strides, layout.strides()],
        [0, layout.offset()],
    );
    let [d, s] = walk.row_strides();
    walk.for_each_row(0, idx.len(), |pos, len, [o, so]| {
        for i in 0..len {
            out[o + i * d + idx[pos + i] * along] += src[so + i * s];
        }
    });
}

/// Fills `out`, rows of `classes` elements, with zeros and a one in row `r` at `class_of[r]`.
pub(crate) fn one_hot<T: Element>(class_of: &[usize], classes: usize, out: &mut [T]) {
    out.fill(T::zero());
    for (row, &c) in class_of.iter().enumerate() {
        out[row * classes + c] = T::one();
    }
}
