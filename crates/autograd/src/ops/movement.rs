//! Views and joins on vars: reshape, transpose, permute, broadcast, squeeze/unsqueeze, narrow,
//! concat, stack, split, chunk, each beside its gradient rule.
//!
//! Views move no data forward and their gradients move none backward beyond the inverse view,
//! except `broadcast_to`, whose gradient sums over the repeated axes: the single place where
//! shendu undoes broadcasting.

use shendu_tensor::{Axis, Dims, Element, IntoShape, Tensor};
use smallvec::{smallvec, SmallVec};

use crate::op::{if_tracked, InputGrads, Op};
use crate::var::Var;

pub(crate) fn reshape_backward<T: Element>(x: &Var<T>, g: &Var<T>) -> InputGrads<T> {
    smallvec![Some(g.reshape(x.shape()))]
}

pub(crate) fn transpose_backward<T: Element>(a: usize, b: usize, g: &Var<T>) -> InputGrads<T> {
    smallvec![Some(g.transpose(a, b))]
}

pub(crate) fn permute_backward<T: Element>(perm: &[usize], g: &Var<T>) -> InputGrads<T> {
    let mut inverse = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    smallvec![Some(g.permute(&inverse))]
}

pub(crate) fn broadcast_backward<T: Element>(x: &Var<T>, g: &Var<T>) -> InputGrads<T> {
    // Sum over the prepended axes and over the axes stretched from size 1.
    let lead = g.rank() - x.rank();
    let axes: Vec<usize> = (0..g.rank())
        .filter(|&a| a < lead || (x.shape()[a - lead] == 1 && g.shape()[a] != 1))
        .collect();
    if axes.is_empty() {
        return smallvec![Some(g.reshape(x.shape()))];
    }
    // Only prepended axes (a bias over a batch): summing them away gives the input's shape.
    if axes.len() == lead && axes.iter().enumerate().all(|(i, &a)| a == i) {
        return smallvec![Some(g.sum(axes, false))];
    }
    smallvec![Some(g.sum(axes, true).reshape(x.shape()))]
}

pub(crate) fn narrow_backward<T: Element>(
    axis: usize,
    start: usize,
    x: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    // Pad the gradient with zeros back to the input's extent along the axis.
    let zeros = |len: usize| {
        let mut shape = Dims::from_slice(x.shape());
        shape[axis] = len;
        g.constant(Tensor::zeros(shape))
    };
    let after = x.shape()[axis] - start - g.shape()[axis];
    let (before, after) = (zeros(start), zeros(after));
    smallvec![Some(Var::concat(&[&before, g, &after], axis))]
}

/// `v` extended with zeros at the end of each axis up to `shape` (differentiable: a concat).
pub(crate) fn pad_end_with_zeros<T: Element>(v: &Var<T>, shape: &[usize]) -> Var<T> {
    let mut padded = v.clone();
    for (axis, &size) in shape.iter().enumerate() {
        let have = padded.shape()[axis];
        if have < size {
            let mut zeros_shape = Dims::from_slice(padded.shape());
            zeros_shape[axis] = size - have;
            let zeros = v.constant(Tensor::zeros(zeros_shape));
            padded = Var::concat(&[&padded, &zeros], axis);
        }
    }
    padded
}

pub(crate) fn concat_backward<T: Element>(
    axis: usize,
    inputs: &[Var<T>],
    g: &Var<T>,
) -> InputGrads<T> {
    let mut start = 0;
    inputs
        .iter()
        .map(|input| {
            let len = input.shape()[axis];
            start += len;
            if_tracked(input, || g.narrow(axis, start - len, len))
        })
        .collect()
}

impl<T: Element> Var<T> {
    /// The same elements in row-major order with another shape.
    #[track_caller]
    pub fn reshape(&self, shape: impl IntoShape) -> Var<T> {
        let value = self.value.reshape(shape);
        Var::record(&[self], value, || Op::Reshape)
    }

    /// Flattens to one axis.
    #[track_caller]
    pub fn flatten(&self) -> Var<T> {
        self.reshape([self.numel()])
    }

    /// Swaps two axes.
    #[track_caller]
    pub fn transpose(&self, a: impl Axis, b: impl Axis) -> Var<T> {
        let (a, b) = (
            a.resolve("transpose", self.rank()),
            b.resolve("transpose", self.rank()),
        );
        Var::record(&[self], self.value.transpose(a, b), || Op::Transpose(a, b))
    }

    /// Swaps the last two axes (the identity below rank 2).
    #[track_caller]
    pub fn t(&self) -> Var<T> {
        if self.rank() < 2 {
            return self.clone();
        }
        self.transpose(self.rank() - 2, self.rank() - 1)
    }

    /// Reorders the axes: axis `i` of the result is axis `perm[i]`.
    #[track_caller]
    pub fn permute(&self, perm: &[usize]) -> Var<T> {
        let value = self.value.permute(perm);
        Var::record(&[self], value, || Op::Permute(Dims::from_slice(perm)))
    }

    /// Repeats axes of size 1 (and prepends axes) to reach `shape`; the gradient sums back.
    #[track_caller]
    pub fn broadcast_to(&self, shape: impl IntoShape) -> Var<T> {
        let value = self.value.broadcast_to(shape);
        Var::record(&[self], value, || Op::BroadcastTo)
    }

    /// Removes `axis`, which must have size 1.
    #[track_caller]
    pub fn squeeze(&self, axis: impl Axis) -> Var<T> {
        let value = self.value.squeeze(axis);
        Var::record(&[self], value, || Op::Reshape)
    }

    /// Inserts an axis of size 1 before position `axis` (`-1` appends).
    #[track_caller]
    pub fn unsqueeze(&self, axis: impl Axis) -> Var<T> {
        let value = self.value.unsqueeze(axis);
        Var::record(&[self], value, || Op::Reshape)
    }

    /// Keeps `len` entries of `axis` from `start`; the gradient is zero elsewhere.
    #[track_caller]
    pub fn narrow(&self, axis: impl Axis, start: usize, len: usize) -> Var<T> {
        let axis = axis.resolve("narrow", self.rank());
        let value = self.value.narrow(axis, start, len);
        Var::record(&[self], value, || Op::Narrow { axis, start })
    }

    /// Joins vars along an existing axis.
    ///
    /// ```
    /// # use shendu_autograd::{Tape, Var};
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f32>::new();
    /// let a = tape.var(Tensor::ones([1, 2]));
    /// let b = tape.var(Tensor::ones([2, 2]));
    /// let y = Var::concat(&[&a, &b], 0).mul_scalar(3.0).sum_all();
    /// let grads = y.backward();
    /// assert_eq!(grads[&b].to_vec(), vec![3.0; 4]);
    /// ```
    #[track_caller]
    pub fn concat(vars: &[&Var<T>], axis: impl Axis) -> Var<T> {
        let Some(first) = vars.first() else {
            panic!(
                "concat: no vars to join (at {})",
                crate::var::fmt_location(std::panic::Location::caller())
            );
        };
        let axis = axis.resolve("concat", first.rank());
        let values: Vec<&Tensor<T>> = vars.iter().map(|v| &v.value).collect();
        Var::record(vars, Tensor::concat(&values, axis), || Op::Concat { axis })
    }

    /// Joins vars of one shape along a new axis at position `axis`.
    #[track_caller]
    pub fn stack(vars: &[&Var<T>], axis: impl Axis) -> Var<T> {
        let Some(first) = vars.first() else {
            panic!(
                "stack: no vars to join (at {})",
                crate::var::fmt_location(std::panic::Location::caller())
            );
        };
        let axis = axis.resolve("stack", first.rank() + 1);
        let expanded: Vec<Var<T>> = vars.iter().map(|v| v.unsqueeze(axis)).collect();
        Var::concat(&expanded.iter().collect::<Vec<_>>(), axis)
    }

    /// Pieces of `size` along `axis` (the last may be smaller).
    #[track_caller]
    pub fn split(&self, axis: impl Axis, size: usize) -> Vec<Var<T>> {
        let axis = axis.resolve("split", self.rank());
        self.value
            .split(axis, size)
            .iter()
            .scan(0, |start, piece| {
                let len = piece.shape()[axis];
                *start += len;
                Some((*start - len, len))
            })
            .map(|(start, len)| self.narrow(axis, start, len))
            .collect()
    }

    /// `n` pieces along `axis`, as `Tensor::chunk` cuts them.
    #[track_caller]
    pub fn chunk(&self, axis: impl Axis, n: usize) -> Vec<Var<T>> {
        let axis = axis.resolve("chunk", self.rank());
        let lens: SmallVec<[usize; 8]> = self
            .value
            .chunk(axis, n)
            .iter()
            .map(|p| p.shape()[axis])
            .collect();
        let mut start = 0;
        lens.iter()
            .map(|&len| {
                start += len;
                self.narrow(axis, start - len, len)
            })
            .collect()
    }
}
