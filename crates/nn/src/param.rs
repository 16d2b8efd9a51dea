//! `Param`: a trainable tensor with a stable identity, owned by a module.
//!
//! A parameter outlives every tape: each training step puts it on a fresh tape under its
//! [`ParamId`] ([`Param::on`]), and the gradients come back keyed by the same id. Its name is not
//! stored here: a module's visit gives it, composed from the path to it (`layers.2.weight`), as
//! PyTorch's state_dict names it.

use shendu_autograd::{ParamId, Tape, Var};
use shendu_tensor::{Element, Tensor};

use crate::check::fail;

/// A tensor a module learns, with the identity under which it enters a tape.
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::Param;
/// use shendu_tensor::Tensor;
///
/// let w = Param::new(Tensor::from_vec(vec![2.0f32], [1]));
/// let tape = Tape::new();
/// let y = (&w.on(&tape) * &w.on(&tape)).sum_all();    // w², one leaf
/// assert_eq!(y.backward()[w.id()].to_vec(), vec![4.0]);
/// ```
pub struct Param<T: Element = f32> {
    value: Tensor<T>,
    id: ParamId,
    trainable: bool,
}

impl<T: Element> Param<T> {
    /// A trainable parameter holding `value`, with a fresh id.
    pub fn new(value: Tensor<T>) -> Self {
        Param {
            value,
            id: ParamId::new(),
            trainable: true,
        }
    }

    /// The current value.
    pub fn value(&self) -> &Tensor<T> {
        &self.value
    }

    /// The value, to update in place (an optimizer's step). An in-place update copies the tensor
    /// first if a tape or a var still shares its storage; train with
    /// [`Module::value_and_grad`](crate::Module::value_and_grad) and none does.
    pub fn value_mut(&mut self) -> &mut Tensor<T> {
        &mut self.value
    }

    /// Replaces the value (loading a checkpoint); the shape must stay the same.
    #[track_caller]
    pub fn set(&mut self, value: Tensor<T>) {
        if value.shape() != self.value.shape() {
            fail(
                "Param::set",
                format!(
                    "a value of shape {:?} cannot replace one of shape {:?}",
                    value.shape(),
                    self.value.shape()
                ),
            );
        }
        self.value = value;
    }

    /// The identity under which this parameter enters a tape and finds its gradient.
    pub fn id(&self) -> ParamId {
        self.id
    }

    /// Whether gradients are computed for it and optimizers update it.
    pub fn is_trainable(&self) -> bool {
        self.trainable
    }

    /// Freezes (`false`) or unfreezes (`true`) the parameter: a frozen parameter enters a tape as
    /// a constant, gets no gradient, and optimizers leave it as it is.
    pub fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }

    /// This parameter on `tape`: its leaf (one per tape, however often it is used) if trainable,
    /// a constant if frozen.
    #[track_caller]
    pub fn on(&self, tape: &Tape<T>) -> Var<T> {
        if self.trainable {
            tape.param(self.id, &self.value)
        } else {
            tape.constant(self.value.clone())
        }
    }
}

impl<T: Element> Clone for Param<T> {
    /// A copy with a fresh id: the copy is another parameter (as `copy.deepcopy` of a PyTorch
    /// module), not a tied one. Its value shares the storage until either is updated in place.
    fn clone(&self) -> Self {
        Param {
            value: self.value.clone(),
            id: ParamId::new(),
            trainable: self.trainable,
        }
    }
}

impl<T: Element> std::fmt::Debug for Param<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Param")
            .field("id", &self.id)
            .field("shape", &self.value.shape())
            .field("trainable", &self.trainable)
            .finish()
    }
}
