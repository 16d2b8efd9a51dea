//! Moving a strided tensor's elements into a block of a strided buffer: copied by `concat`,
//! `stack` and `index_select` of a view, added by `index_add`.
//!
//! Stretches contiguous on both sides (whole rows of a contiguous tensor) are copied with one
//! `copy_from_slice`; every other row is a loop with one stride per side.

use super::walk::Walk;
use crate::element::Element;
use crate::layout::Layout;

/// What [`copy_strided`] does with each element at its place in the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Combine {
    /// `dst = src`.
    Copy,
    /// `dst += src`.
    Add,
}

/// Writes the elements of `src` under `layout` into `dst`: the element at multi-index `i` goes
/// to `dst[dst_offset + Σ i[d] · dst_strides[d]]`, replacing what is there or added to it as
/// `combine` says.
pub(crate) fn copy_strided<T: Element>(
    src: &[T],
    layout: &Layout,
    dst: &mut [T],
    dst_strides: &[usize],
    dst_offset: usize,
    combine: Combine,
) {
    let walk = Walk::new(
        layout.shape(),
        [layout.strides(), dst_strides],
        [layout.offset(), dst_offset],
    );
    let [s, d] = walk.row_strides();
    walk.for_each_row(0, layout.numel(), |_, len, [so, dof]| match combine {
        Combine::Copy if s == 1 && d == 1 => {
            dst[dof..dof + len].copy_from_slice(&src[so..so + len]);
        }
        Combine::Copy => {
            for i in 0..len {
                dst[dof + i * d] = src[so + i * s];
            }
        }
        Combine::Add => {
            for i in 0..len {
                dst[dof + i * d] += src[so + i * s];
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::{copy_strided, Combine};
    use crate::layout::Layout;
    use crate::shape::dims;

    #[test]
    fn copies_and_adds_a_transposed_source_into_a_strided_block() {
        // src [[0, 1, 2], [3, 4, 5]] read transposed: [[0, 3], [1, 4], [2, 5]].
        let src: Vec<f32> = (0..6).map(|x| x as f32).collect();
        let layout = Layout::contiguous(dims(&[2, 3])).transpose(0, 1);
        // Into columns 1..3 of a [3, 4] destination (row stride 4), starting at offset 1.
        let strides = [4, 1];
        let mut copied = vec![-1.0f32; 12];
        copy_strided(&src, &layout, &mut copied, &strides, 1, Combine::Copy);
        let mut added = vec![1.0f32; 12];
        copy_strided(&src, &layout, &mut added, &strides, 1, Combine::Add);
        for (i, j) in (0..3).flat_map(|i| (0..4).map(move |j| (i, j))) {
            let inside = (1..3).contains(&j);
            let value = if inside {
                (i + 3 * (j - 1)) as f32
            } else {
                0.0
            };
            let at = i * 4 + j;
            assert_eq!(
                copied[at],
                if inside { value } else { -1.0 },
                "copy at {i}, {j}"
            );
            assert_eq!(added[at], 1.0 + value, "add at {i}, {j}");
        }
    }
}
