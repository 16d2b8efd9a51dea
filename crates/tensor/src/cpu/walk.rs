//! Walking strided layouts row by row.
//!
//! A kernel over K operands that share one (broadcast) shape first merges every pair of adjacent
//! axes that all operands store contiguously, so a contiguous or simply broadcast tensor becomes
//! one or two long axes. It then visits the innermost axis as rows, each row a tight loop with a
//! fixed stride per operand; only the odometer over the outer axes is generic.

use crate::shape::Dims;

/// The merged axes of K operands of one shape, ready to be visited row by row.
pub(crate) struct Walk<const K: usize> {
    dims: Dims,
    strides: [Dims; K],
    offsets: [usize; K],
}

impl<const K: usize> Walk<K> {
    /// Prepares a walk over `shape`, operand `k` having `strides[k]` and `offsets[k]`.
    pub(crate) fn new(shape: &[usize], strides: [&[usize]; K], offsets: [usize; K]) -> Self {
        let mut dims = Dims::new();
        let mut merged: [Dims; K] = std::array::from_fn(|_| Dims::new());
        for axis in 0..shape.len() {
            let d = shape[axis];
            if d == 1 {
                continue;
            }
            let can_merge = !dims.is_empty()
                && (0..K).all(|k| {
                    Some(merged[k][merged[k].len() - 1]) == strides[k][axis].checked_mul(d)
                });
            if can_merge {
                *dims.last_mut().unwrap() *= d;
                for (m, s) in merged.iter_mut().zip(strides) {
                    *m.last_mut().unwrap() = s[axis];
                }
            } else {
                dims.push(d);
                for (m, s) in merged.iter_mut().zip(strides) {
                    m.push(s[axis]);
                }
            }
        }
        if dims.is_empty() {
            dims.push(1);
            for m in &mut merged {
                m.push(0);
            }
        }
        Walk {
            dims,
            strides: merged,
            offsets,
        }
    }

    /// For one operand whose merged layout is a transposed matrix (two axes, the outer one with
    /// stride 1), its `(rows, cols, column stride)`: the case a tiled copy handles far faster
    /// than row by row.
    pub(crate) fn as_transposed_matrix(&self) -> Option<(usize, usize, usize)> {
        let strides = &self.strides[0];
        (K == 1 && self.dims.len() == 2 && strides[0] == 1 && strides[1] > 1)
            .then(|| (self.dims[0], self.dims[1], strides[1]))
    }

    /// Storage offset of the first element of operand `k`.
    pub(crate) fn offset(&self, k: usize) -> usize {
        self.offsets[k]
    }

    /// Length of a full row (the merged innermost axis).
    pub(crate) fn row_len(&self) -> usize {
        self.dims[self.dims.len() - 1]
    }

    /// Stride of each operand along a row.
    pub(crate) fn row_strides(&self) -> [usize; K] {
        std::array::from_fn(|k| self.strides[k][self.dims.len() - 1])
    }

    /// Calls `f(position, len, offsets)` for each stretch of a row that falls within the
    /// row-major element range `start..end`: `position` counts from `start`, and `offsets` are the
    /// storage positions of the stretch's first element in each operand.
    pub(crate) fn for_each_row(
        &self,
        start: usize,
        end: usize,
        mut f: impl FnMut(usize, usize, [usize; K]),
    ) {
        if start >= end {
            return;
        }
        let inner = self.row_len();
        let outer = &self.dims[..self.dims.len() - 1];
        let row_strides = self.row_strides();
        // Unravel the first row's index over the outer axes.
        let mut index = Dims::from_elem(0, outer.len());
        let mut rest = start / inner;
        for (i, &d) in outer.iter().enumerate().rev() {
            index[i] = rest % d;
            rest /= d;
        }
        let mut col = start % inner;
        let mut offsets: [usize; K] = std::array::from_fn(|k| {
            self.offsets[k]
                + index
                    .iter()
                    .zip(&self.strides[k])
                    .map(|(i, s)| i * s)
                    .sum::<usize>()
                + col * row_strides[k]
        });
        let mut pos = start;
        loop {
            let len = (inner - col).min(end - pos);
            f(pos - start, len, offsets);
            pos += len;
            if pos >= end {
                return;
            }
            // Step the odometer to the next row, rewinding the column to 0.
            for (offset, stride) in offsets.iter_mut().zip(row_strides) {
                *offset -= col * stride;
            }
            col = 0;
            for axis in (0..outer.len()).rev() {
                index[axis] += 1;
                if index[axis] < outer[axis] {
                    for (offset, strides) in offsets.iter_mut().zip(&self.strides) {
                        *offset += strides[axis];
                    }
                    break;
                }
                index[axis] = 0;
                for (offset, strides) in offsets.iter_mut().zip(&self.strides) {
                    *offset -= (outer[axis] - 1) * strides[axis];
                }
            }
        }
    }
}
