//! L1 and L2 penalties over a model's weights, as vars on the step's tape so that they
//! differentiate with the loss they are added to.
//!
//! A weight is told from a bias by its name, which every module gives as PyTorch's state_dict
//! would: a parameter whose last name component is `bias` (`bias`, `layers.2.bias`) is a bias
//! and is left out; every other parameter is a weight. The Playground regularises weights only,
//! and so does the usual practice of not decaying biases.

use shendu_autograd::{Tape, Var};
use shendu_tensor::{Element, Tensor};

use crate::module::{Entry, Module, Visit};

/// Whether the parameter named `name` counts as a weight for [`l1_penalty`] and [`l2_penalty`]:
/// its last dotted component is not `bias`.
///
/// ```
/// use shendu_nn::loss::is_weight;
/// assert!(is_weight("layers.0.weight"));
/// assert!(!is_weight("layers.0.bias"));
/// assert!(is_weight("bias_scale"));    // only the exact component `bias` is a bias
/// ```
pub fn is_weight(name: &str) -> bool {
    name.rsplit('.').next() != Some("bias")
}

/// Σ |w| over the model's weights (biases excluded, see [`is_weight`]), on `tape`. Its gradient
/// is sign(w), 0 at w = 0 as PyTorch's `abs` (the Playground takes +1 there).
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_nn::{loss, Forward, Linear, Module};
/// use shendu_tensor::Tensor;
/// let model = Linear::<f64>::new(2, 1, &mut StdRng::seed_from_u64(0));
/// let (_, grads) = model.value_and_grad(|tape, model| {
///     let out = model.forward(&tape.constant(Tensor::ones([1, 2])));
///     &out.sum_all() + &loss::l1_penalty(tape, model).mul_scalar(0.01)
/// });
/// let w = model.weight.value().to_vec();
/// let g = grads[model.weight.id()].to_vec();
/// assert_eq!(g[0], 1.0 + 0.01 * w[0].signum());
/// ```
#[track_caller]
pub fn l1_penalty<T: Element, M: Module<T> + ?Sized>(tape: &Tape<T>, model: &M) -> Var<T> {
    penalty(tape, model, |w| w.abs().sum_all())
}

/// ½ Σ w² over the model's weights (biases excluded, see [`is_weight`]), on `tape`. The ½ makes
/// its gradient w itself: λ times this penalty is weight decay λ, and the Playground's L2.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_nn::{loss, Linear, Module};
/// let model = Linear::<f64>::new(3, 2, &mut StdRng::seed_from_u64(0));
/// let (penalty, grads) = model.value_and_grad(|tape, model| loss::l2_penalty(tape, model));
/// let w = model.weight.value();
/// assert!((penalty - 0.5 * w.square().sum_all().item()).abs() < 1e-15);
/// assert_eq!(grads[model.weight.id()].to_vec(), w.to_vec());    // d/dw ½w² = w
/// assert!(grads.param(model.bias.as_ref().unwrap().id()).is_none());
/// ```
#[track_caller]
pub fn l2_penalty<T: Element, M: Module<T> + ?Sized>(tape: &Tape<T>, model: &M) -> Var<T> {
    penalty(tape, model, |w| {
        w.square().sum_all().mul_scalar(T::from_f64_lossy(0.5))
    })
}

/// The sum of `term` over the model's weights on `tape`; 0 for a model without weights.
#[track_caller]
fn penalty<T: Element, M: Module<T> + ?Sized>(
    tape: &Tape<T>,
    model: &M,
    term: impl Fn(&Var<T>) -> Var<T>,
) -> Var<T> {
    let mut terms = Vec::new();
    model.visit(&mut Visit::new(&mut |name, entry| {
        if let Entry::Param(p) = entry
            && is_weight(name)
        {
            terms.push(term(&p.on(tape)));
        }
    }));
    let mut terms = terms.into_iter();
    match terms.next() {
        None => tape.constant(Tensor::scalar(T::zero())),
        Some(first) => terms.fold(first, |total, t| &total + &t),
    }
}
