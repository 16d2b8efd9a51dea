//! `Sequential`: layers applied one after the other, named by position (`0.weight`,
//! `2.bias`, …) as in `torch.nn.Sequential`.

use shendu_autograd::Var;
use shendu_tensor::Element;

use crate::module::{Forward, Module, Visit, VisitMut};

/// A chain of layers; the output of each is the input of the next.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_nn::{Activation, Linear, Module, Sequential};
/// let mut rng = StdRng::seed_from_u64(0);
/// let model = Sequential::<f32>::new()
///     .push(Linear::new(4, 8, &mut rng))
///     .push(Activation::Relu)
///     .push(Linear::new(8, 2, &mut rng));
/// assert_eq!(model.param_names(), ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// ```
pub struct Sequential<T: Element = f32> {
    layers: Vec<Box<dyn Forward<T>>>,
}

impl<T: Element> Default for Sequential<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Sequential<T> {
    /// An empty chain (the identity).
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// This chain with `layer` appended.
    pub fn push(mut self, layer: impl Forward<T> + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there is no layer.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The layer at `index`.
    pub fn layer(&self, index: usize) -> &dyn Forward<T> {
        &*self.layers[index]
    }
}

impl<T: Element> Module<T> for Sequential<T> {
    fn visit(&self, v: &mut Visit<'_, T>) {
        for (i, layer) in self.layers.iter().enumerate() {
            v.module_at(i, &**layer);
        }
    }

    fn visit_mut(&mut self, v: &mut VisitMut<'_, T>) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            v.dyn_module_at(i, &mut **layer);
        }
    }
}

impl<T: Element> Forward<T> for Sequential<T> {
    #[track_caller]
    fn forward(&self, x: &Var<T>) -> Var<T> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(&h);
        }
        h
    }
}
