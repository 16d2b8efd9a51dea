//! Indexing on vars: index_select and gather, and their adjoints index_add and scatter_add,
//! each beside its gradient rule.
//!
//! The four form two pairs whose gradients are each other: the gradient of a selection adds the
//! output gradient back at the selected places, and the gradient of an addition at places
//! selects from the output gradient. Indices are constants, kept in the node.

use std::rc::Rc;

use shendu_tensor::{Axis, Element, Indices, Tensor};

use crate::op::{if_tracked, one_grad, two_grads, InputGrads, Op, OpKind};
use crate::ops::movement::pad_end_with_zeros;
use crate::var::Var;

/// A recorded indexing op: its axis and its (constant) indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Indexing {
    IndexSelect { axis: usize, indices: Rc<[usize]> },
    IndexAdd { axis: usize, indices: Rc<[usize]> },
    Gather { axis: usize, indices: Indices },
    ScatterAdd { axis: usize, indices: Indices },
}

impl Indexing {
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Indexing::IndexSelect { .. } => OpKind::IndexSelect,
            Indexing::IndexAdd { .. } => OpKind::IndexAdd,
            Indexing::Gather { .. } => OpKind::Gather,
            Indexing::ScatterAdd { .. } => OpKind::ScatterAdd,
        }
    }
}

/// The gradients of an indexing op's `inputs`, given the output gradient `g`.
pub(crate) fn backward<T: Element>(op: &Indexing, inputs: &[Var<T>], g: &Var<T>) -> InputGrads<T> {
    let x = &inputs[0];
    let zeros_like_x = || x.constant(Tensor::zeros(x.shape()));
    match op {
        Indexing::IndexSelect { axis, indices } => {
            one_grad(Some(zeros_like_x().index_add(*axis, indices, g)))
        }
        Indexing::IndexAdd { axis, indices } => two_grads(
            if_tracked(x, || g.clone()),
            if_tracked(&inputs[1], || g.index_select(*axis, indices)),
        ),
        Indexing::Gather { axis, indices } => {
            one_grad(Some(zeros_like_x().scatter_add(*axis, indices, g)))
        }
        Indexing::ScatterAdd { axis, indices } => {
            let source = &inputs[1];
            // Only the leading block of the source, of the indices' shape, is scattered; the
            // rest of it gets gradient zero.
            two_grads(
                if_tracked(x, || g.clone()),
                if_tracked(source, || {
                    pad_end_with_zeros(&g.gather(*axis, indices), source.shape())
                }),
            )
        }
    }
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
        Var::record(&[self], value, || {
            Op::Index(Indexing::IndexSelect {
                axis,
                indices: Rc::from(indices),
            })
        })
    }

    /// This var with `source`'s slices added at `indices` along `axis`.
    #[track_caller]
    pub fn index_add(&self, axis: impl Axis, indices: &[usize], source: &Var<T>) -> Var<T> {
        let axis = axis.resolve("index_add", self.rank());
        let value = self.value.index_add(axis, indices, &source.value);
        Var::record(&[self, source], value, || {
            Op::Index(Indexing::IndexAdd {
                axis,
                indices: Rc::from(indices),
            })
        })
    }

    /// `out[i][j] = self[indices[i][j]][j]` for axis 0 (and likewise for other axes), PyTorch's
    /// `gather`; the gradient adds back at the gathered places. The classic use picks each row's
    /// log-probability at its label:
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::{Indices, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let logits = tape.var(Tensor::from_vec(vec![0.0, 1.0, 2.0, 2.0, 0.0, 1.0], [2, 3]));
    /// let labels = Indices::from(vec![2, 0]);
    /// let loss = -logits.log_softmax(-1).gather(1, &labels.unsqueeze(1)).mean_all();
    /// let grads = loss.backward();
    /// // d/dz of the mean cross-entropy: (softmax − one_hot) / batch.
    /// let expected = logits.value().softmax(-1).sub(&labels.one_hot(3)).mul(&Tensor::scalar(0.5));
    /// assert!(grads[&logits].allclose(&expected, 1e-12, 1e-12));
    /// ```
    #[track_caller]
    pub fn gather(&self, axis: impl Axis, indices: &Indices) -> Var<T> {
        let axis = axis.resolve("gather", self.rank());
        let value = self.value.gather(axis, indices);
        Var::record(&[self], value, || {
            Op::Index(Indexing::Gather {
                axis,
                indices: indices.clone(),
            })
        })
    }

    /// This var with `source` added at the places `indices` names along `axis` (the adjoint of
    /// `gather`).
    #[track_caller]
    pub fn scatter_add(&self, axis: impl Axis, indices: &Indices, source: &Var<T>) -> Var<T> {
        let axis = axis.resolve("scatter_add", self.rank());
        let value = self.value.scatter_add(axis, indices, &source.value);
        Var::record(&[self, source], value, || {
            Op::Index(Indexing::ScatterAdd {
                axis,
                indices: indices.clone(),
            })
        })
    }
}
