//! `Linear`: y = x·Wᵀ + b, with W stored `[out, in]` as in `torch.nn.Linear`, so that its
//! checkpoint entries (`weight`, `bias`) load in PyTorch as they are.

use rand::Rng;
use shendu_autograd::Var;
use shendu_tensor::Element;

use crate::check::fail;
use crate::init::Init;
use crate::module::{Forward, Module, Visit, VisitMut};
use crate::param::Param;

/// A fully connected layer from `in_features` to `out_features`.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_nn::{Forward, Linear};
/// use shendu_tensor::Tensor;
/// let layer = Linear::<f32>::new(3, 2, &mut StdRng::seed_from_u64(0));
/// assert_eq!(layer.weight.value().shape(), &[2, 3]);
/// assert_eq!(layer.predict(&Tensor::ones([5, 3])).shape(), &[5, 2]);
/// ```
pub struct Linear<T: Element = f32> {
    /// `[out, in]`.
    pub weight: Param<T>,
    /// `[out]`, if the layer has a bias.
    pub bias: Option<Param<T>>,
}

impl<T: Element> Linear<T> {
    /// PyTorch's default initialisation: weight and bias U(−1/√in, 1/√in).
    pub fn new(in_features: usize, out_features: usize, rng: &mut impl Rng) -> Self {
        let bound = 1.0 / (in_features.max(1) as f64).sqrt();
        let init = Init::Uniform {
            low: -bound,
            high: bound,
        };
        Self::with_init(in_features, out_features, init, Some(init), rng)
    }

    /// The weight from `weight`, and a bias from `bias` (`None`: no bias).
    pub fn with_init(
        in_features: usize,
        out_features: usize,
        weight: Init,
        bias: Option<Init>,
        rng: &mut impl Rng,
    ) -> Self {
        let weight = Param::new(weight.tensor([out_features, in_features], rng));
        let bias = bias.map(|b| Param::new(b.tensor([out_features], rng)));
        Linear { weight, bias }
    }

    /// Number of inputs.
    pub fn in_features(&self) -> usize {
        self.weight.value().shape()[1]
    }

    /// Number of outputs.
    pub fn out_features(&self) -> usize {
        self.weight.value().shape()[0]
    }
}

impl<T: Element> Module<T> for Linear<T> {
    fn visit(&self, v: &mut Visit<'_, T>) {
        v.param("weight", &self.weight);
        if let Some(b) = &self.bias {
            v.param("bias", b);
        }
    }

    fn visit_mut(&mut self, v: &mut VisitMut<'_, T>) {
        v.param("weight", &mut self.weight);
        if let Some(b) = &mut self.bias {
            v.param("bias", b);
        }
    }
}

impl<T: Element> Linear<T> {
    /// relu(x·Wᵀ + b) for `x` of shape `[…, in]`, recorded as one node
    /// ([`Var::linear_relu`]): the values and gradients of [`Forward::forward`] followed by
    /// [`Var::relu`], bit for bit, in one pass over the product's output and with one
    /// activation fewer kept on the tape. [`Mlp`](crate::Mlp) takes it for its ReLU layers.
    #[track_caller]
    pub fn forward_relu(&self, x: &Var<T>) -> Var<T> {
        self.dense(x, true)
    }

    /// x·Wᵀ + b, followed by a ReLU if `relu`, with the parameters entered on `x`'s tape. Panics,
    /// naming the layer and the caller's line, unless `x` ends in `in` features.
    #[track_caller]
    fn dense(&self, x: &Var<T>, relu: bool) -> Var<T> {
        if x.shape().last() != Some(&self.in_features()) {
            fail(
                &format!("Linear({} -> {})", self.in_features(), self.out_features()),
                format!(
                    "an input of shape {:?} does not end in {} features (weight [out, in] = {:?})",
                    x.shape(),
                    self.in_features(),
                    self.weight.value().shape()
                ),
            );
        }
        let tape = x.tape();
        // The bias enters the tape before the weight: the parameters' nodes keep the order in
        // which `Gradients` has always listed them.
        let bias = self.bias.as_ref().map(|b| b.on(&tape));
        let weight = self.weight.on(&tape);
        if relu {
            x.linear_relu(&weight, bias.as_ref())
        } else {
            x.linear(&weight, bias.as_ref())
        }
    }
}

impl<T: Element> Forward<T> for Linear<T> {
    /// x·Wᵀ + b for `x` of shape `[…, in]`.
    #[track_caller]
    fn forward(&self, x: &Var<T>) -> Var<T> {
        self.dense(x, false)
    }
}
