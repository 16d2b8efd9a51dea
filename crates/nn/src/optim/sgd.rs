//! Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay, as
//! PyTorch's `torch.optim.SGD` documents it. One fused pass per parameter writes the parameter
//! and its momentum buffer in place.

use std::collections::HashMap;

use shendu_autograd::{Gradients, ParamId};
use shendu_tensor::{Element, Tensor};

use super::state::{self, Slots, StateKinds};
use super::{check_at_least_zero, Groups, Optimizer, ParamGroup};
use crate::checkpoint::{CheckpointError, StateDict};
use crate::module::Module;

/// SGD: for each parameter p with gradient g, at step t,
///
/// ```text
/// g ← g + λ·p                                  (weight decay λ)
/// b ← g                      at t = 1
/// b ← μ·b + (1 − τ)·g        after             (momentum μ, dampening τ)
/// g ← g + μ·b if Nesterov, else b               (when μ ≠ 0)
/// p ← p − lr·g
/// ```
///
/// ```
/// use shendu_autograd::Gradients;
/// use shendu_nn::{Linear, Module, Optimizer, Sgd};
/// use rand::{rngs::StdRng, SeedableRng};
/// # use shendu_nn::Forward;
/// let mut model = Linear::<f64>::new(1, 1, &mut StdRng::seed_from_u64(0));
/// let mut opt = Sgd::new(0.1).momentum(0.9);
/// let w0 = model.weight.value().item();
/// let (_, grads) = model.value_and_grad(|tape, m| m.weight.on(tape).sum_all());   // d/dw = 1
/// opt.step(&mut model, &grads);
/// assert_eq!(model.weight.value().item(), w0 - 0.1);
/// ```
pub struct Sgd<T: Element = f32> {
    groups: Groups,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    /// Momentum buffers by parameter.
    buffers: HashMap<ParamId, Tensor<T>>,
}

impl<T: Element> Sgd<T> {
    /// The names of this optimizer's per-parameter state: a momentum buffer, with momentum.
    fn kinds(&self) -> StateKinds {
        StateKinds {
            optimizer: "Sgd",
            tensors: if self.momentum != 0.0 {
                vec!["momentum_buffer"]
            } else {
                Vec::new()
            },
            step: false,
        }
    }

    /// Plain SGD with learning rate `lr`.
    #[track_caller]
    pub fn new(lr: f64) -> Self {
        check_at_least_zero("Sgd", "learning rate", lr);
        Sgd {
            groups: Groups::new(lr, 0.0),
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            buffers: HashMap::new(),
        }
    }

    /// With momentum μ.
    #[track_caller]
    pub fn momentum(mut self, momentum: f64) -> Self {
        check_at_least_zero("Sgd", "momentum", momentum);
        self.momentum = momentum;
        self
    }

    /// With dampening τ of the momentum.
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// With Nesterov momentum.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// With weight decay λ in the default group.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        check_at_least_zero("Sgd", "weight decay", weight_decay);
        self.groups.groups[0].weight_decay = weight_decay;
        self
    }

    /// With a group of parameters of their own learning rate and weight decay.
    pub fn with_group(mut self, group: ParamGroup) -> Self {
        self.groups.add(group);
        self
    }
}

impl<T: Element> Optimizer<T> for Sgd<T> {
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) {
        let c = T::from_f64_lossy;
        let (momentum, dampening, nesterov) = (self.momentum, self.dampening, self.nesterov);
        let buffers = &mut self.buffers;
        self.groups.for_each(model, grads, |group, id, p, g| {
            let (l2, neg_lr) = (c(group.weight_decay), c(-group.lr));
            // Skipped at λ = 0 so that an infinite p stays out of g.
            let decayed = |p: &T, g: T| if l2 != T::zero() { g + l2 * *p } else { g };
            if momentum == 0.0 {
                p.zip_mut_with(g, [], |p, g, []| *p += neg_lr * decayed(p, g));
                return;
            }
            // PyTorch's buffer starts as a copy of the first gradient, not as zeros.
            let first = !buffers.contains_key(&id);
            let b = buffers
                .entry(id)
                .or_insert_with(|| Tensor::zeros(p.shape()));
            let (mu, one_minus_tau) = (c(momentum), c(1.0 - dampening));
            p.zip_mut_with(g, [b], |p, g, [b]| {
                let g = decayed(p, g);
                *b = if first {
                    g
                } else {
                    *b * mu + one_minus_tau * g
                };
                let step = if nesterov { g + mu * *b } else { *b };
                *p += neg_lr * step;
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
        state::save(
            &self.kinds(),
            &self.groups.groups,
            model,
            &self.buffers,
            |b| Slots {
                step: 0,
                tensors: vec![b.clone()],
            },
        )
    }

    fn load_state_dict(
        &mut self,
        model: &dyn Module<T>,
        state: &StateDict<T>,
    ) -> Result<(), CheckpointError> {
        let kinds = self.kinds();
        self.buffers = state::load(&kinds, &mut self.groups.groups, model, state, |s| {
            s.tensors.into_iter().next().expect("momentum_buffer")
        })?;
        Ok(())
    }
}
