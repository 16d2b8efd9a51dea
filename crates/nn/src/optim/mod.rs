//! Optimizers: the update of each parameter from its gradient, in place.
//!
//! An optimizer walks the model's parameters by name ([`Module::visit_mut`]), finds each one's
//! gradient by [`ParamId`] and updates its value in place: after
//! [`Module::value_and_grad`] no tape holds a parameter's storage,
//! so the update never copies a parameter. Frozen parameters, and parameters without a gradient
//! (not used by the loss), are left alone.
//!
//! Parameters fall into [`ParamGroup`]s by name, each with its own learning rate and weight
//! decay; the first group whose selector takes a name wins, and the default group takes the
//! rest. State (momentum buffers, moments) is kept by parameter id during a run.

mod adagrad;
mod adam;
mod clip;
mod rmsprop;
mod schedule;
mod sgd;
mod state;

use std::collections::HashMap;

use shendu_autograd::{Gradients, ParamId};
use shendu_tensor::{Element, Tensor};

use crate::check::fail;
use crate::checkpoint::{CheckpointError, StateDict};
use crate::module::{EntryMut, Module, VisitMut};

pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use rmsprop::RMSprop;
pub use schedule::{
    ConstantLr, CosineAnnealingLr, ExponentialLr, LinearWarmup, LrSchedule, LrScheduler, StepLr,
};
pub use sgd::Sgd;

/// Updates a model's parameters from their gradients.
pub trait Optimizer<T: Element = f32> {
    /// Updates every trainable parameter of `model` that has a gradient in `grads`, in place.
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>);

    /// The parameter groups, the default group first.
    fn param_groups(&self) -> &[ParamGroup];

    /// The parameter groups, to change a learning rate (what a scheduler does).
    fn param_groups_mut(&mut self) -> &mut [ParamGroup];

    /// The optimizer's state for the parameters of `model`, by name: each parameter's tensors
    /// (`exp_avg.0.weight`) and step count (`step.0.weight`), and each group's rates, to be
    /// written in a file of its own beside the model ([`StateDict::write`]).
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use shendu_nn::{Adam, Linear, Module, Optimizer};
    ///
    /// let mut model = Linear::<f32>::new(2, 1, &mut StdRng::seed_from_u64(0));
    /// let mut opt = Adam::new(1e-3);
    /// let (_, grads) = model.value_and_grad(|tape, m| m.weight.on(tape).sum_all());
    /// opt.step(&mut model, &grads);
    /// let state = opt.state_dict(&model);
    /// assert_eq!(state.counter("step.weight")?, 1);
    /// assert_eq!(state.tensor("exp_avg_sq.weight")?.shape(), &[1, 2]);
    ///
    /// // A fresh optimizer for the same model continues where this one stopped.
    /// let mut resumed = Adam::new(1e-3);
    /// resumed.load_state_dict(&model, &state)?;
    /// assert_eq!(resumed.state_dict(&model), state);
    /// # Ok::<(), shendu_nn::CheckpointError>(())
    /// ```
    fn state_dict(&self, model: &dyn Module<T>) -> StateDict<T>;

    /// Replaces the optimizer's state with `state` (made by [`Optimizer::state_dict`] of the
    /// same kind of optimizer, for a model with the same parameter names), and the groups'
    /// rates with the saved ones.
    ///
    /// # Errors
    /// Another optimizer's state, another number of groups, a parameter's state incomplete, of
    /// another shape, or for a name the model lacks: an error naming each, and the optimizer
    /// is left as it was.
    fn load_state_dict(
        &mut self,
        model: &dyn Module<T>,
        state: &StateDict<T>,
    ) -> Result<(), CheckpointError>;
}

/// Which parameters a group takes: a predicate on full names (`layers.0.bias`).
pub type Selector = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// Parameters updated with one learning rate and one weight decay.
pub struct ParamGroup {
    /// `None` for the default group, which takes every parameter no other group takes.
    selector: Option<Selector>,
    /// The learning rate now.
    pub lr: f64,
    /// The learning rate the group started with, from which schedulers compute `lr`.
    pub initial_lr: f64,
    /// The weight decay (an L2 penalty in `Sgd` and `Adam`, decoupled in `AdamW`).
    pub weight_decay: f64,
}

impl ParamGroup {
    /// The default group.
    pub(crate) fn default_group(lr: f64, weight_decay: f64) -> Self {
        ParamGroup {
            selector: None,
            lr,
            initial_lr: lr,
            weight_decay,
        }
    }

    /// A group of the parameters whose full name `selects` accepts, with its own learning rate
    /// and weight decay.
    ///
    /// ```
    /// use shendu_nn::{ParamGroup, Sgd};
    /// // Biases learn faster and are not decayed.
    /// let opt = Sgd::<f32>::new(0.1)
    ///     .weight_decay(1e-4)
    ///     .with_group(ParamGroup::new(|name| name.ends_with("bias"), 0.2, 0.0));
    /// assert_eq!(opt.param_groups().len(), 2);
    /// # use shendu_nn::Optimizer;
    /// ```
    pub fn new(
        selects: impl Fn(&str) -> bool + Send + Sync + 'static,
        lr: f64,
        weight_decay: f64,
    ) -> Self {
        ParamGroup {
            selector: Some(Box::new(selects)),
            lr,
            initial_lr: lr,
            weight_decay,
        }
    }

    /// Whether this group takes the parameter `name` (the default group takes any).
    fn takes(&self, name: &str) -> bool {
        self.selector.as_ref().is_none_or(|s| s(name))
    }
}

impl std::fmt::Debug for ParamGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParamGroup")
            .field("default", &self.selector.is_none())
            .field("lr", &self.lr)
            .field("initial_lr", &self.initial_lr)
            .field("weight_decay", &self.weight_decay)
            .finish()
    }
}

/// The groups of an optimizer and which group each parameter fell into.
pub(crate) struct Groups {
    /// The default group first, then the added ones in order.
    pub groups: Vec<ParamGroup>,
    /// Cache of the group of each parameter seen, so names are matched once per parameter.
    of: HashMap<ParamId, usize>,
}

impl Groups {
    pub(crate) fn new(lr: f64, weight_decay: f64) -> Self {
        Groups {
            groups: vec![ParamGroup::default_group(lr, weight_decay)],
            of: HashMap::new(),
        }
    }

    pub(crate) fn add(&mut self, group: ParamGroup) {
        self.groups.push(group);
        self.of.clear();
    }

    /// The index of the group of the parameter `id` named `name`: the first added group that
    /// takes the name, else the default.
    fn index(&mut self, id: ParamId, name: &str) -> usize {
        // With the default group alone there is nothing to look up; the map's hashing was a
        // sixth of a small model's update.
        if self.groups.len() == 1 {
            return 0;
        }
        let groups = &self.groups;
        *self.of.entry(id).or_insert_with(|| {
            (1..groups.len())
                .find(|&g| groups[g].takes(name))
                .unwrap_or(0)
        })
    }

    /// Calls `update(group, id, value, grad)` for each trainable parameter of `model` that has a
    /// gradient in `grads`, in the model's visiting order.
    pub(crate) fn for_each<T: Element>(
        &mut self,
        model: &mut dyn Module<T>,
        grads: &Gradients<T>,
        mut update: impl FnMut(&ParamGroup, ParamId, &mut Tensor<T>, &Tensor<T>),
    ) {
        model.visit_mut(&mut VisitMut::new(&mut |name, entry| {
            let EntryMut::Param(param) = entry else {
                return;
            };
            if !param.is_trainable() {
                return;
            }
            let id = param.id();
            let Some(grad) = grads.param(id) else {
                return;
            };
            let g = self.index(id, name);
            update(&self.groups[g], id, param.value_mut(), grad);
        }));
    }
}

/// Panics, naming the optimizer, unless `value` is a finite number ≥ 0 (a learning rate, a decay).
#[track_caller]
pub(crate) fn check_at_least_zero(what: &str, name: &str, value: f64) {
    if !(value >= 0.0 && value.is_finite()) {
        fail(what, format!("{name} {value} is not a finite number ≥ 0"));
    }
}

/// Panics, naming the optimizer, unless `value` lies in [0, 1) (a moment's decay rate).
#[track_caller]
pub(crate) fn check_beta(what: &str, name: &str, value: f64) {
    if !(0.0..1.0).contains(&value) {
        fail(what, format!("{name} {value} is not in [0, 1)"));
    }
}
