//! Adagrad, as PyTorch's `torch.optim.Adagrad` documents it: each coordinate's step divided by
//! the root of the sum of its squared gradients so far (Duchi, Hazan and Singer), with a
//! learning rate that may decay with the step count. One fused pass per parameter.

use std::collections::HashMap;

use shendu_autograd::{Gradients, ParamId};
use shendu_tensor::{Element, Tensor};

use super::state::{self, Slots, StateKinds};
use super::{check_at_least_zero, Groups, Optimizer, ParamGroup};
use crate::checkpoint::{CheckpointError, StateDict};
use crate::module::Module;

/// Adagrad: for each parameter p with gradient g, at its step t (counted per parameter),
///
/// ```text
/// g ← g + λ·p                                   (weight decay λ)
/// γ ← lr / (1 + (t − 1)·η)                      (learning-rate decay η)
/// s ← s + g²                                    (s₀ = the initial accumulator value)
/// p ← p − γ·g / (√s + ε)
/// ```
///
/// Defaults as in PyTorch: η = 0, λ = 0, s₀ = 0, ε = 1e-10.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_nn::{Adagrad, Linear, Module, Optimizer};
///
/// let mut model = Linear::<f64>::new(1, 1, &mut StdRng::seed_from_u64(0));
/// let mut opt = Adagrad::new(0.5).initial_accumulator_value(16.0);
/// let w0 = model.weight.value().item();
/// let (_, grads) = model.value_and_grad(|tape, m| m.weight.on(tape).sum_all() * 3.0);
/// opt.step(&mut model, &grads);
/// // s = 16 + 9: the step is 0.5 · 3 / (5 + 1e-10).
/// assert!((model.weight.value().item() - (w0 - 0.3)).abs() < 1e-9);
/// ```
pub struct Adagrad<T: Element = f32> {
    groups: Groups,
    lr_decay: f64,
    initial_accumulator_value: f64,
    eps: f64,
    state: HashMap<ParamId, AdagradState<T>>,
}

/// The names of Adagrad's per-parameter state.
fn kinds() -> StateKinds {
    StateKinds {
        optimizer: "Adagrad",
        tensors: vec!["sum"],
        step: true,
    }
}

/// The state of one parameter.
pub(super) struct AdagradState<T: Element> {
    pub(super) step: u64,
    pub(super) sum: Tensor<T>,
}

impl<T: Element> Adagrad<T> {
    /// Adagrad with learning rate `lr` and PyTorch's defaults for the rest.
    #[track_caller]
    pub fn new(lr: f64) -> Self {
        check_at_least_zero("Adagrad", "learning rate", lr);
        Adagrad {
            groups: Groups::new(lr, 0.0),
            lr_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            state: HashMap::new(),
        }
    }

    /// With learning-rate decay η: the step t uses lr / (1 + (t − 1)·η).
    #[track_caller]
    pub fn lr_decay(mut self, lr_decay: f64) -> Self {
        check_at_least_zero("Adagrad", "lr_decay", lr_decay);
        self.lr_decay = lr_decay;
        self
    }

    /// With the value the sum of squares starts from.
    #[track_caller]
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        check_at_least_zero("Adagrad", "initial accumulator value", value);
        self.initial_accumulator_value = value;
        self
    }

    /// With ε, the term added to the denominator for numerical stability.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Self {
        check_at_least_zero("Adagrad", "eps", eps);
        self.eps = eps;
        self
    }

    /// With weight decay λ in the default group, added to the gradient as λ·p.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        check_at_least_zero("Adagrad", "weight decay", weight_decay);
        self.groups.groups[0].weight_decay = weight_decay;
        self
    }

    /// With a group of parameters of their own learning rate and weight decay.
    pub fn with_group(mut self, group: ParamGroup) -> Self {
        self.groups.add(group);
        self
    }
}

impl<T: Element> Optimizer<T> for Adagrad<T> {
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) {
        let c = T::from_f64_lossy;
        let (lr_decay, eps, initial) = (self.lr_decay, self.eps, self.initial_accumulator_value);
        let state = &mut self.state;
        self.groups.for_each(model, grads, |group, id, p, g| {
            let s = state.entry(id).or_insert_with(|| AdagradState {
                step: 0,
                sum: Tensor::full(p.shape(), c(initial)),
            });
            s.step += 1;
            let clr = group.lr / (1.0 + (s.step - 1) as f64 * lr_decay);
            let (l2, neg_clr, eps) = (c(group.weight_decay), c(-clr), c(eps));
            p.zip_mut_with(g, [&mut s.sum], |p, g, [s]| {
                // Skipped at λ = 0 so that an infinite p stays out of g.
                let g = if l2 != T::zero() { g + l2 * *p } else { g };
                *s += g * g;
                *p += neg_clr * (g / (s.sqrt() + eps));
            });
        });
    }

    fn param_groups(&self) -> &[ParamGroup] {
        &self.groups.groups
    }

    fn param_groups_mut(&mut self) -> &mut [ParamGroup] {
        &mut self.groups.groups
    }

    fn state_dict(&self, model: &dyn Module<T>) -> StateDict<T> {
        state::save(&kinds(), &self.groups.groups, model, &self.state, |s| {
            Slots {
                step: s.step,
                tensors: vec![s.sum.clone()],
            }
        })
    }

    fn load_state_dict(
        &mut self,
        model: &dyn Module<T>,
        state: &StateDict<T>,
    ) -> Result<(), CheckpointError> {
        self.state = state::load(&kinds(), &mut self.groups.groups, model, state, |s| {
            AdagradState {
                step: s.step,
                sum: s.tensors.into_iter().next().expect("sum"),
            }
        })?;
        Ok(())
    }
}
