//! Indexing on vars: index_select and gather, and their adjoints index_add and scatter_add,
//! each beside its gradient rule.
//!
//! The four form two pairs whose gradients are each other: the gradient of a selection adds the
//! output gradient back at the selected places, and the gradient of an addition at places
//! selects from the output gradient. Indices are constants.

use std::rc::Rc;

use shendu_tensor::{Axis, Element, Tensor};
use smallvec::smallvec;

use crate::op::{if_tracked, InputGrads, Op};
use crate::ops::movement::pad_end_with_zeros;
use crate::var::Var;

pub(crate) fn index_select_backward<T: Element>(
    axis: usize,
    indices: &[usize],
    x: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    smallvec![Some(
        x.constant(Tensor::zeros(x.shape()))
            .index_add(axis, indices, g)
    )]
}

pub(crate) fn index_add_backward<T: Element>(
    axis: usize,
    indices: &[usize],
    inputs: &[Var<T>],
    g: &Var<T>,
) -> InputGrads<T> {
    smallvec![
        if_tracked(&inputs[0], || g.clone()),
        if_tracked(&inputs[1], || g.index_select(axis, indices))
    ]
}

pub(crate) fn gather_backward<T: Element>(
    axis: usize,
    indices: &Tensor<T>,
    x: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    let indices = x.constant(indices.clone());
    smallvec![Some(
        x.constant(Tensor::zeros(x.shape()))
            .scatter_add(axis, &indices, g)
    )]
}

pub(crate) fn scatter_add_backward<T: Element>(
    axis: usize,
    indices: &Tensor<T>,
    inputs: &[Var<T>],
    g: &Var<T>,
) -> InputGrads<T> {
    let indices = g.constant(indices.clone());
    let source = &inputs[1];
    // Only the leading block of the source, of the indices' shape, is scattered; the rest of
    // it gets gradient zero.
    smallvec![
        if_tracked(&inputs[0], || g.clone()),
        if_tracked(source, || pad_end_with_zeros(
            &g.gather(axis, &indices),
            source.shape()
        ))
    ]
}

impl<T: Element> Var<T> {
    /// The entries `indices` along `axis` (see `Tensor::index_select`); the gradient adds back
    /// at those entries, repeated indices accumulating.
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f32>::new();
    /// let table = tape.var(Tensor::ones([3, 2]));
    /// let rows = table.index_select(0, &[2, 0, 2]).sum_all();
    /// assert_eq!(rows.backward()[&table].to_vec(), vec![1.0, 1.0, 0.0, 0.0, 2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn index_select(&self, axis: impl Axis, indices: &[usize]) -> Var<T> {
        let axis = axis.resolve("index_select", self.rank());
        let value = self.value.index_select(axis, indices);
        Var::record(&[self], value, || Op::IndexSelect {
            axis,
            indices: Rc::from(indices),
        })
    }

    /// This var with `source`'s slices added at `indices` along `axis`.
    #[track_caller]
    pub fn index_add(&self, axis: impl Axis, indices: &[usize], source: &Var<T>) -> Var<T> {
        let axis = axis.resolve("index_add", self.rank());
        let value = self.value.index_add(axis, indices, &source.value);
        Var::record(&[self, source], value, || Op::IndexAdd {
            axis,
            indices: Rc::from(indices),
        })
    }

    /// `out[i][j] = self[indices[i][j]][j]` for axis 0 (and likewise for other axes), PyTorch's
    /// `gather`; `indices` holds whole numbers and is a constant.
    #[track_caller]
    pub fn gather(&self, axis: impl Axis, indices: &Var<T>) -> Var<T> {
        let axis = axis.resolve("gather", self.rank());
        let value = self.value.gather(axis, &indices.value);
        Var::record(&[self], value, || Op::Gather {
            axis,
            indices: self.tape.store_constant(indices.value.clone()),
        })
    }

    /// This var with `source` added at the places `indices` names along `axis` (the adjoint of
    /// `gather`); `indices` is a constant.
    #[track_caller]
    pub fn scatter_add(&self, axis: impl Axis, indices: &Var<T>, source: &Var<T>) -> Var<T> {
        let axis = axis.resolve("scatter_add", self.rank());
        let value = self.value.scatter_add(axis, &indices.value, &source.value);
        Var::record(&[self, source], value, || Op::ScatterAdd {
            axis,
            indices: self.tape.store_constant(indices.value.clone()),
        })
    }
}
