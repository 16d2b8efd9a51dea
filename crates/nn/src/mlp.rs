//! `Mlp`: the multilayer perceptron, linear layers with one activation between them.
//!
//! Its entries are named as the `torch.nn.Sequential(Linear, act, Linear, act, …, Linear)` it
//! equals (`0.weight`, `2.weight`, …), so its checkpoint loads in that PyTorch model.

use rand::Rng;
use shendu_autograd::Var;
use shendu_tensor::Element;

use crate::activation::Activation;
use crate::check::fail;
use crate::init::Init;
use crate::linear::Linear;
use crate::module::{Forward, Module, Visit, VisitMut};

/// Linear layers of the given widths, with `activation` after every one but the last.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_nn::{Activation, Forward, Mlp, Module};
/// use shendu_tensor::Tensor;
/// let model = Mlp::<f32>::new(&[2, 8, 8, 1], Activation::Tanh, &mut StdRng::seed_from_u64(0));
/// assert_eq!(model.param_count(), (2 * 8 + 8) + (8 * 8 + 8) + (8 + 1));
/// assert_eq!(model.param_names()[4], "4.weight");
/// assert_eq!(model.predict(&Tensor::zeros([10, 2])).shape(), &[10, 1]);
/// ```
pub struct Mlp<T: Element = f32> {
    layers: Vec<Linear<T>>,
    activation: Activation,
}

impl<T: Element> Mlp<T> {
    /// An MLP with layer widths `sizes` (input first, output last), PyTorch's default
    /// initialisation.
    #[track_caller]
    pub fn new(sizes: &[usize], activation: Activation, rng: &mut impl Rng) -> Self {
        check_sizes(sizes);
        let layers = sizes
            .windows(2)
            .map(|io| Linear::new(io[0], io[1], rng))
            .collect();
        Mlp { layers, activation }
    }

    /// An MLP whose weights and biases are drawn from `weight` and `bias` (the Playground's:
    /// [`Init::PLAYGROUND_WEIGHT`], [`Init::PLAYGROUND_BIAS`]).
    #[track_caller]
    pub fn with_init(
        sizes: &[usize],
        activation: Activation,
        weight: Init,
        bias: Init,
        rng: &mut impl Rng,
    ) -> Self {
        check_sizes(sizes);
        let layers = sizes
            .windows(2)
            .map(|io| Linear::with_init(io[0], io[1], weight, Some(bias), rng))
            .collect();
        Mlp { layers, activation }
    }

    /// The linear layers, input side first.
    pub fn layers(&self) -> &[Linear<T>] {
        &self.layers
    }

    /// The linear layers, mutable (to set a weight by hand).
    pub fn layers_mut(&mut self) -> &mut [Linear<T>] {
        &mut self.layers
    }

    /// The activation between layers.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// One layer's output: the activation of `layer`'s output if `activated`. A ReLU goes into the
    /// layer's own node ([`Linear::forward_relu`]), with the same bits as the two ops.
    #[track_caller]
    fn layer_forward(&self, activated: bool, layer: &Linear<T>, x: &Var<T>) -> Var<T> {
        match (activated, self.activation) {
            (false, _) => layer.forward(x),
            (true, Activation::Relu) => layer.forward_relu(x),
            (true, activation) => activation.forward(&layer.forward(x)),
        }
    }

    /// The output of every layer for `x`, after its activation (the last one's is the model's
    /// output): what a picture of each neuron's response needs.
    #[track_caller]
    pub fn forward_layers(&self, x: &Var<T>) -> Vec<Var<T>> {
        let last = self.layers.len() - 1;
        let mut outputs: Vec<Var<T>> = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let input = outputs.last().unwrap_or(x);
            outputs.push(self.layer_forward(i < last, layer, input));
        }
        outputs
    }
}

#[track_caller]
fn check_sizes(sizes: &[usize]) {
    if sizes.len() < 2 {
        fail(
            "Mlp",
            format!("layer sizes {sizes:?} need an input and an output width at least"),
        );
    }
}

impl<T: Element> Module<T> for Mlp<T> {
    fn visit(&self, v: &mut Visit<'_, T>) {
        for (i, layer) in self.layers.iter().enumerate() {
            v.module_at(2 * i, layer);
        }
    }

    fn visit_mut(&mut self, v: &mut VisitMut<'_, T>) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            v.module_at(2 * i, layer);
        }
    }
}

impl<T: Element> Forward<T> for Mlp<T> {
    #[track_caller]
    fn forward(&self, x: &Var<T>) -> Var<T> {
        let last = self.layers.len() - 1;
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = self.layer_forward(i < last, layer, &h);
        }
        h
    }
}
