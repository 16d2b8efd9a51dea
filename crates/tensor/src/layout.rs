//! Where a tensor's elements sit in its storage: shape, strides and offset.
//!
//! Every view (transpose, permute, broadcast, narrow, squeeze, reshape of a compatible layout) is a
//! new `Layout` over the same storage. A broadcast dimension has stride 0. Strides are in elements
//! and never negative.

use crate::check::{fail, fmt_shape};
use crate::shape::{contiguous_strides, dims, dims_from, numel, Axis, Dims};

/// Shape, strides and offset of a tensor within its storage.
#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    shape: Dims,
    strides: Dims,
    offset: usize,
}

impl Clone for Layout {
    /// Copies a layout of rank ≤ 4 bit for bit: every op clones its operands' layouts, and on a
    /// small model's tensors the element-by-element copy of `SmallVec`'s clone was a twentieth
    /// of a training step.
    #[inline]
    fn clone(&self) -> Self {
        if self.shape.spilled() || self.strides.spilled() {
            return self.clone_by_elements();
        }
        // SAFETY: neither `SmallVec` has spilled, so each keeps its `usize` elements in its own
        // inline array and owns no heap memory, and it holds no pointer into itself. A bitwise
        // copy is then a second value that shares nothing with the first (the elements are
        // `Copy` and have no drop), as the element-by-element clone below would make it; the
        // test `bitwise_clones_equal_element_clones` checks the two against each other.
        unsafe { std::ptr::read(self) }
    }
}

impl Layout {
    /// The clone of a layout of rank > 4, whose shape or strides live on the heap.
    #[cold]
    fn clone_by_elements(&self) -> Self {
        Layout {
            shape: dims(&self.shape),
            strides: dims(&self.strides),
            offset: self.offset,
        }
    }

    /// The row-major layout of a fresh tensor of this shape.
    ///
    /// # Panics
    /// If a stride overflows `usize` (see [`contiguous_strides`]); the ops that make shapes check
    /// them first, with a message naming the op (`shape::checked_numel`).
    // Always inlined: called, it received the shape its caller had just written, and moving that
    // into the layout read it back at once, with the wait described in `inline_strides`.
    #[track_caller]
    #[inline(always)]
    pub(crate) fn contiguous(shape: Dims) -> Self {
        let strides = contiguous_strides(&shape);
        Layout {
            shape,
            strides,
            offset: 0,
        }
    }

    /// Dimension sizes, outermost first.
    #[inline]
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Distance in elements between neighbours along each axis (0 for a broadcast axis).
    #[inline]
    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    /// Position of the first element in the storage.
    #[inline]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Number of axes.
    #[inline]
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    #[inline]
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// Whether the elements are in row-major order with no gaps (axes of size 1 may have any
    /// stride), so the tensor is the slice `storage[offset..offset + numel]`.
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        let mut expected: usize = 1;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            // Saturating: a permuted empty view can have sizes whose product passes usize; no
            // stride can then match it, as in the true product.
            expected = expected.saturating_mul(d);
        }
        true
    }

    /// The storage position of the element at a multi-index.
    #[track_caller]
    pub(crate) fn position(&self, op: &str, index: &[usize]) -> usize {
        if index.len() != self.rank() || index.iter().zip(&self.shape).any(|(&i, &d)| i >= d) {
            fail(
                op,
                format!(
                    "index {index:?} is out of bounds for shape {}",
                    fmt_shape(&self.shape)
                ),
            );
        }
        self.offset
            + index
                .iter()
                .zip(&self.strides)
                .map(|(i, s)| i * s)
                .sum::<usize>()
    }

    /// Swaps two axes.
    #[track_caller]
    pub(crate) fn transpose(&self, a: impl Axis, b: impl Axis) -> Self {
        let (a, b) = (
            a.resolve("transpose", self.rank()),
            b.resolve("transpose", self.rank()),
        );
        // Each list is read from the old layout and written once, not copied and then swapped:
        // a swap's stores, read back at once by the wider loads that move the layout into its
        // tensor, made those loads wait (as in `contiguous_strides`).
        let swapped = |i: usize| match i {
            _ if i == a => b,
            _ if i == b => a,
            _ => i,
        };
        Layout {
            shape: dims_from(self.rank(), |i| self.shape[swapped(i)]),
            strides: dims_from(self.rank(), |i| self.strides[swapped(i)]),
            offset: self.offset,
        }
    }

    /// Reorders the axes: axis `i` of the result is axis `perm[i]` of `self`.
    #[track_caller]
    pub(crate) fn permute(&self, perm: &[usize]) -> Self {
        let rank = self.rank();
        let mut seen = Dims::from_elem(0, rank);
        let valid = perm.len() == rank
            && perm.iter().all(|&p| {
                p < rank && {
                    seen[p] += 1;
                    seen[p] == 1
                }
            });
        if !valid {
            fail(
                "permute",
                format!(
                    "{perm:?} is not a permutation of the {rank} axes of shape {}",
                    fmt_shape(&self.shape)
                ),
            );
        }
        Layout {
            shape: perm.iter().map(|&p| self.shape[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
            offset: self.offset,
        }
    }

    /// Broadcasts to `shape` (NumPy rule, new axes in front) by giving repeated axes stride 0.
    #[track_caller]
    pub(crate) fn broadcast_to(&self, op: &str, shape: &[usize]) -> Self {
        let rank = shape.len();
        let lead = rank.wrapping_sub(self.rank());
        if self.rank() > rank {
            fail(
                op,
                format!(
                    "cannot broadcast shape {} to the lower rank shape {}",
                    fmt_shape(&self.shape),
                    fmt_shape(shape)
                ),
            );
        }
        let mut strides = Dims::from_elem(0, rank);
        for i in 0..self.rank() {
            let (from, to) = (self.shape[i], shape[lead + i]);
            if from == to {
                strides[lead + i] = self.strides[i];
            } else if from != 1 {
                fail(
                    op,
                    format!(
                        "cannot broadcast shape {} to {}: axis {i} has size {from}, not 1 or {to}",
                        fmt_shape(&self.shape),
                        fmt_shape(shape)
                    ),
                );
            }
        }
        Layout {
            shape: dims(shape),
            strides,
            offset: self.offset,
        }
    }

    /// Keeps `len` elements of `axis`, starting at `start`.
    #[track_caller]
    pub(crate) fn narrow(&self, axis: impl Axis, start: usize, len: usize) -> Self {
        let axis = axis.resolve("narrow", self.rank());
        let size = self.shape[axis];
        if start.checked_add(len).is_none_or(|end| end > size) {
            fail(
                "narrow",
                format!(
                    "range {start}..{} is out of bounds for axis {axis} of size {size} in shape {}",
                    start.saturating_add(len),
                    fmt_shape(&self.shape)
                ),
            );
        }
        let mut out = self.clone();
        out.shape[axis] = len;
        // An empty view keeps its offset: it may have nowhere to point inside empty storage.
        if out.numel() > 0 {
            out.offset += start * self.strides[axis];
        }
        out
    }

    /// Removes `axis`, which must have size 1.
    #[track_caller]
    pub(crate) fn squeeze(&self, axis: impl Axis) -> Self {
        let axis = axis.resolve("squeeze", self.rank());
        if self.shape[axis] != 1 {
            fail(
                "squeeze",
                format!(
                    "axis {axis} of shape {} has size {}, not 1",
                    fmt_shape(&self.shape),
                    self.shape[axis]
                ),
            );
        }
        let mut out = self.clone();
        out.shape.remove(axis);
        out.strides.remove(axis);
        out
    }

    /// Removes every axis of size 1.
    pub(crate) fn squeeze_all(&self) -> Self {
        let keep = |&(&d, _): &(&usize, &usize)| d != 1;
        Layout {
            shape: self
                .shape
                .iter()
                .zip(&self.strides)
                .filter(keep)
                .map(|(&d, _)| d)
                .collect(),
            strides: self
                .shape
                .iter()
                .zip(&self.strides)
                .filter(keep)
                .map(|(_, &s)| s)
                .collect(),
            offset: self.offset,
        }
    }

    /// Inserts an axis of size 1 at position `axis` (0..=rank; `-1` appends).
    #[track_caller]
    pub(crate) fn unsqueeze(&self, axis: impl Axis) -> Self {
        let axis = axis.resolve_insert("unsqueeze", self.rank());
        let mut out = self.clone();
        let stride = self.strides.get(axis).map_or(1, |&s| s * self.shape[axis]);
        out.shape.insert(axis, 1);
        out.strides.insert(axis, stride);
        out
    }

    /// The same elements in row-major order with shape `shape`, as a view when the strides allow
    /// it (always for a contiguous layout); `None` when only a copy can do it. The caller has
    /// checked that the element counts agree.
    pub(crate) fn reshape_view(&self, shape: &[usize]) -> Option<Self> {
        if self.is_contiguous() || self.numel() == 0 {
            return Some(Layout {
                shape: dims(shape),
                strides: contiguous_strides(shape),
                offset: self.offset,
            });
        }
        // Match groups of old and new axes with equal products; each group of old axes must be
        // contiguous within itself, and then the new axes of the group get strides carved from
        // the group's innermost stride.
        let old: Dims = self.shape.iter().copied().filter(|&d| d != 1).collect();
        let old_strides: Dims = self
            .shape
            .iter()
            .zip(&self.strides)
            .filter(|&(&d, _)| d != 1)
            .map(|(_, &s)| s)
            .collect();
        let mut strides = Dims::from_elem(0, shape.len());
        let (mut oi, mut ni) = (0, 0);
        while oi < old.len() && ni < shape.len() {
            let (o_start, n_start) = (oi, ni);
            let (mut op, mut np) = (old[oi], shape[ni]);
            while op != np {
                if np < op {
                    ni += 1;
                    np *= shape[ni];
                } else {
                    oi += 1;
                    op *= old[oi];
                }
            }
            for k in o_start..oi {
                if old_strides[k] != old[k + 1] * old_strides[k + 1] {
                    return None;
                }
            }
            strides[ni] = old_strides[oi];
            for k in (n_start..ni).rev() {
                strides[k] = strides[k + 1] * shape[k + 1];
            }
            oi += 1;
            ni += 1;
        }
        // Trailing new axes are all of size 1; any stride will do.
        for k in ni..shape.len() {
            strides[k] = 1;
        }
        Some(Layout {
            shape: dims(shape),
            strides,
            offset: self.offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Layout;
    use crate::shape::dims;

    #[test]
    #[should_panic(
        expected = "contiguous_strides: shape [0, 4294967296, 4294967296] is too large: its strides \
                    overflow usize"
    )]
    fn contiguous_strides_that_overflow_panic_instead_of_wrapping() {
        // No elements, but axis 0's stride would be 2^64, which wrapped around to 0.
        Layout::contiguous(dims(&[0, 1 << 32, 1 << 32]));
    }

    #[test]
    fn transpose_swaps_exactly_the_two_axes_at_every_rank() {
        // Ranks up to 4 fill the inline lists whole, larger ones collect; views of a narrowed
        // layout, so that the offset and strides are not the contiguous ones.
        for rank in 1..=6 {
            let shape: Vec<usize> = (2..rank + 2).collect();
            let layout = Layout::contiguous(dims(&shape)).narrow(0, 1, 1);
            for a in 0..rank {
                for b in 0..rank {
                    let swapped = layout.transpose(a, b);
                    let (mut shape, mut strides) = (layout.shape.clone(), layout.strides.clone());
                    shape.swap(a, b);
                    strides.swap(a, b);
                    assert_eq!(
                        swapped.shape(),
                        shape.as_slice(),
                        "rank {rank}, axes {a} {b}"
                    );
                    assert_eq!(
                        swapped.strides(),
                        strides.as_slice(),
                        "rank {rank}, axes {a} {b}"
                    );
                    assert_eq!(swapped.offset(), layout.offset());
                }
            }
        }
    }

    #[test]
    fn bitwise_clones_equal_element_clones() {
        // Ranks 0 to 4 take the bitwise copy, 5 and 6 the element-by-element one; views too,
        // whose strides are not the contiguous ones.
        for rank in 0..=6 {
            let shape: Vec<usize> = (2..rank + 2).collect();
            let fresh = Layout::contiguous(dims(&shape));
            let mut views = vec![fresh.clone_by_elements()];
            if rank >= 2 {
                views.push(fresh.transpose(0, rank - 1));
                views.push(fresh.narrow(1, 1, 2));
            }
            for layout in views {
                let expected = layout.clone_by_elements();
                let mut copy = layout.clone();
                assert_eq!(copy, expected, "rank {rank}");
                assert_eq!(copy.shape().len(), rank);
                assert_eq!(copy.shape.spilled(), rank > 4);
                // The copy is a value of its own: changing it leaves the original as it was,
                // and both drop on their own (a shared heap buffer would be freed twice).
                if rank > 0 {
                    copy.shape[0] += 7;
                    copy.strides[0] += 7;
                    copy.shape.push(1);
                    copy.strides.push(1);
                    assert_eq!(layout, expected, "rank {rank}");
                }
                drop(copy);
                assert_eq!(layout, expected, "rank {rank}");
            }
        }
    }

    #[test]
    fn contiguous_strides_of_large_and_empty_shapes() {
        let layout = Layout::contiguous(dims(&[1 << 31, 1 << 31]));
        assert_eq!(layout.strides(), &[1 << 31, 1]);
        assert_eq!(layout.numel(), 1 << 62);
        assert_eq!(Layout::contiguous(dims(&[1 << 62, 0])).strides(), &[0, 1]);
    }
}
