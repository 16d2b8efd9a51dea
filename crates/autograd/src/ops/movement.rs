//! Views and joins on vars: reshape, transpose, permute, broadcast, squeeze/unsqueeze, narrow,
//! concat, stack, split, chunk, each beside its gradient rule.
//!
//! Views move no data forward and their gradients move none backward beyond the inverse view,
//! except `broadcast_to`, whose gradient sums over the repeated axes: the single place where
//! shendu undoes broadcasting.

use shendu_tensor::{Axis, Dims, Element, IntoShape, Tensor};
use smallvec::SmallVec;

use crate::error::fail;
use crate::op::{if_tracked, one_grad, InputGrads, Op, OpKind};
use crate::var::Var;

/// A recorded view or join, with what its gradient rule needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Movement {
    /// Also records `squeeze`, `unsqueeze` and `flatten`: the rule only needs the input's shape.
    Reshape,
    Transpose(usize, usize),
    Permute(Dims),
    BroadcastTo,
    Narrow {
        axis: usize,
        start: usize,
    },
    Concat {
        axis: usize,
    },
}

impl Movement {
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Movement::Reshape => OpKind::Reshape,
            Movement::Transpose(..) => OpKind::Transpose,
            Movement::Permute(_) => OpKind::Permute,
            Movement::BroadcastTo => OpKind::BroadcastTo,
            Movement::Narrow { .. } => OpKind::Narrow,
            Movement::Concat { .. } => OpKind::Concat,
        }
    }
}

/// The gradients of a movement op's `inputs`, given the output gradient `g`.
pub(crate) fn backward<T: Element>(op: &Movement, inputs: &[Var<T>], g: &Var<T>) -> InputGrads<T> {
    let x = &inputs[0];
    let dx = match *op {
        Movement::Reshape => g.reshape(x.shape()),
        Movement::Transpose(a, b) => g.transpose(a, b),
        Movement::Permute(ref perm) => {
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            g.permute(&inverse)
        }
        Movement::BroadcastTo => unbroadcast(x, g),
        Movement::Narrow { axis, start } => {
            // Pad the gradient with zeros back to the input's extent along the axis.
            let zeros = |len: usize| {
                let mut shape = Dims::from_slice(x.shape());
                shape[axis] = len;
                g.constant(Tensor::zeros(shape))
            };
            let after = x.shape()[axis] - start - g.shape()[axis];
            Var::concat(&[&zeros(start), g, &zeros(after)], axis)
        }
        Movement::Concat { axis } => {
            let mut start = 0;
            return inputs
                .iter()
                .map(|input| {
                    let len = input.shape()[axis];
                    start += len;
                    if_tracked(input, || g.narrow(axis, start - len, len))
                })
                .collect();
        }
    };
    one_grad(Some(dx))
}

/// The gradient of `broadcast_to`: `g` summed over the prepended axes and over the axes
/// stretched from size 1, back to `x`'s shape.
fn unbroadcast<T: Element>(x: &Var<T>, g: &Var<T>) -> Var<T> {
    let lead = g.rank() - x.rank();
    let axes: Vec<usize> = (0..g.rank())
        .filter(|&a| a < lead || (x.shape()[a - lead] == 1 && g.shape()[a] != 1))
        .collect();
    if axes.is_empty() {
        return g.reshape(x.shape());
    }
    // Only prepended axes (a bias over a batch): summing them away gives the input's shape.
    if axes.len() == lead && axes.iter().enumerate().all(|(i, &a)| a == i) {
        return g.sum(axes, false);
    }
    g.sum(axes, true).reshape(x.shape())
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

impl<T: Element> Var<T> {
    /// The same elements in row-major order with another shape.
    #[track_caller]
    pub fn reshape(&self, shape: impl IntoShape) -> Var<T> {
        let value = self.value.reshape(shape);
        Var::record(&[self], value, || Op::Movement(Movement::Reshape))
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
        Var::record(&[self], self.value.transpose(a, b), || {
            Op::Movement(Movement::Transpose(a, b))
        })
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
        Var::record(&[self], value, || {
            Op::Movement(Movement::Permute(Dims::from_slice(perm)))
        })
    }

    /// Repeats axes of size 1 (and prepends axes) to reach `shape`; the gradient sums back.
    #[track_caller]
    pub fn broadcast_to(&self, shape: impl IntoShape) -> Var<T> {
        let value = self.value.broadcast_to(shape);
        Var::record(&[self], value, || Op::Movement(Movement::BroadcastTo))
    }

    /// Removes `axis`, which must have size 1.
    #[track_caller]
    pub fn squeeze(&self, axis: impl Axis) -> Var<T> {
        let value = self.value.squeeze(axis);
        Var::record(&[self], value, || Op::Movement(Movement::Reshape))
    }

    /// Inserts an axis of size 1 before position `axis` (`-1` appends).
    #[track_caller]
    pub fn unsqueeze(&self, axis: impl Axis) -> Var<T> {
        let value = self.value.unsqueeze(axis);
        Var::record(&[self], value, || Op::Movement(Movement::Reshape))
    }

    /// Keeps `len` entries of `axis` from `start`; the gradient is zero elsewhere.
    #[track_caller]
    pub fn narrow(&self, axis: impl Axis, start: usize, len: usize) -> Var<T> {
        let axis = axis.resolve("narrow", self.rank());
        let value = self.value.narrow(axis, start, len);
        Var::record(&[self], value, || {
            Op::Movement(Movement::Narrow { axis, start })
        })
    }

    /// The slice at `index` along `axis`, that axis removed: PyTorch's `select`, `x[.., index, ..]`.
    /// The gradient is zero elsewhere.
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(Tensor::arange(6).reshape([2, 3]));
    /// let column = x.select(1, 2);                 // [2, 5]
    /// assert_eq!(column.to_vec(), vec![2.0, 5.0]);
    /// let grads = column.sum_all().backward();
    /// assert_eq!(grads[&x].to_vec(), vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn select(&self, axis: impl Axis, index: usize) -> Var<T> {
        // The tensor's select checks the axis and the index and names this op; its view is free.
        let axis = axis.resolve("select", self.rank());
        let _ = self.value.select(axis, index);
        self.narrow(axis, index, 1).squeeze(axis)
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
            fail("concat", "no vars to join");
        };
        let axis = axis.resolve("concat", first.rank());
        let values: Vec<&Tensor<T>> = vars.iter().map(|v| &v.value).collect();
        Var::record(vars, Tensor::concat(&values, axis), || {
            Op::Movement(Movement::Concat { axis })
        })
    }

    /// Joins vars of one shape along a new axis at position `axis`.
    #[track_caller]
    pub fn stack(vars: &[&Var<T>], axis: impl Axis) -> Var<T> {
        let Some(first) = vars.first() else {
            fail("stack", "no vars to join");
        };
        let axis = axis.resolve_insert("stack", first.rank());
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
