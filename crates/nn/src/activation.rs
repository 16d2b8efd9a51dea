//! Activations as modules: no parameters, a function of each element.

use shendu_autograd::Var;
use shendu_tensor::Element;

use crate::module::{Forward, Module, Visit, VisitMut};

/// An elementwise activation, usable as a layer (in a [`Sequential`](crate::Sequential)) and as
/// the hidden activation of an [`Mlp`](crate::Mlp). Its gradients are those of the tape's ops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// x, unchanged.
    Identity,
    /// max(x, 0).
    Relu,
    /// x for x > 0, slope·x otherwise (PyTorch's default slope is 0.01).
    LeakyRelu(f64),
    /// 1 / (1 + e^(−x)).
    Sigmoid,
    /// tanh x.
    Tanh,
    /// x·Φ(x), the exact GELU.
    Gelu,
    /// ln(1 + eˣ).
    Softplus,
}

impl<T: Element> Module<T> for Activation {
    fn visit(&self, _: &mut Visit<'_, T>) {}

    fn visit_mut(&mut self, _: &mut VisitMut<'_, T>) {}
}

impl<T: Element> Forward<T> for Activation {
    #[track_caller]
    fn forward(&self, x: &Var<T>) -> Var<T> {
        match *self {
            Activation::Identity => x.clone(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(slope) => x.leaky_relu(T::from_f64_lossy(slope)),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Gelu => x.gelu(),
            Activation::Softplus => x.softplus(),
        }
    }
}
