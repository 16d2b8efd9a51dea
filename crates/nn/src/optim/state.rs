//! Optimizer state by parameter name, in a [`StateDict`]: what a resumed run needs to continue
//! bit for bit, in a file of its own beside the model (so the model file stays exactly a
//! PyTorch state_dict).
//!
//! Each per-parameter tensor is named `{kind}.{parameter}` with PyTorch's state keys as kinds
//! (`exp_avg.0.weight`, `exp_avg_sq.0.weight`, `momentum_buffer.layers.2.bias`), each step count
//! is a counter `step.{parameter}`, and the groups' rates are scalars in the header
//! (`group.0.lr`, `group.0.initial_lr`, `group.0.weight_decay`), with the optimizer's name under
//! `optimizer`. The state is keyed by name, not by the run's [`ParamId`]s, which are new in every
//! process; a parameter tied under two names is saved under the first in visiting order and
//! found under any. Hyperparameters set by the constructor (betas, eps, momentum) are code, not
//! state: the resumed run builds its optimizer with the same ones.

use std::collections::{BTreeMap, HashMap};

use shendu_autograd::ParamId;
use shendu_tensor::{Element, Tensor};

use super::ParamGroup;
use crate::checkpoint::{CheckpointError, EntryKind, ErrorKind, Mismatch, StateDict};
use crate::module::{Entry, Module, Visit};

/// What one optimizer keeps per parameter: the kinds of its tensors (PyTorch's state keys) and
/// whether it counts steps.
pub(super) struct StateKinds {
    pub(super) optimizer: &'static str,
    pub(super) tensors: Vec<&'static str>,
    pub(super) step: bool,
}

/// One parameter's state as names see it: its step count (if counted) and tensors by kind,
/// in the order of [`StateKinds::tensors`].
pub(super) struct Slots<T: Element> {
    pub(super) step: u64,
    pub(super) tensors: Vec<Tensor<T>>,
}

/// The model's parameters: every name of each, and each one's id and shape by name.
struct Names {
    first: HashMap<ParamId, String>,
    by_name: HashMap<String, (ParamId, Vec<usize>)>,
}

fn names<T: Element>(model: &dyn Module<T>) -> Names {
    let mut n = Names {
        first: HashMap::new(),
        by_name: HashMap::new(),
    };
    model.visit(&mut Visit::new(&mut |name, entry| {
        if let Entry::Param(p) = entry {
            n.first.entry(p.id()).or_insert_with(|| name.to_string());
            n.by_name
                .insert(name.to_string(), (p.id(), p.value().shape().to_vec()));
        }
    }));
    n
}

/// The state dict of an optimizer: its groups' rates and, for each parameter of `model` it has
/// state for, that state under the parameter's name. State of a parameter the model does not
/// show (any more) is left out.
pub(super) fn save<T: Element, S>(
    kinds: &StateKinds,
    groups: &[ParamGroup],
    model: &dyn Module<T>,
    states: &HashMap<ParamId, S>,
    slots: impl Fn(&S) -> Slots<T>,
) -> StateDict<T> {
    let mut dict = StateDict::new();
    dict.insert_text("optimizer", kinds.optimizer);
    for (i, g) in groups.iter().enumerate() {
        dict.insert_f64(format!("group.{i}.lr"), g.lr);
        dict.insert_f64(format!("group.{i}.initial_lr"), g.initial_lr);
        dict.insert_f64(format!("group.{i}.weight_decay"), g.weight_decay);
    }
    let names = names(model);
    for (id, s) in states {
        let Some(name) = names.first.get(id) else {
            continue;
        };
        let s = slots(s);
        if kinds.step {
            dict.insert_counter(format!("step.{name}"), s.step);
        }
        for (kind, t) in kinds.tensors.iter().zip(s.tensors) {
            dict.insert(format!("{kind}.{name}"), t);
        }
    }
    dict
}

/// Reads an optimizer's state for `model` from `dict`: sets the groups' rates and returns the
/// per-parameter state by id. Checks everything before changing anything: the optimizer's name
/// and number of groups, every per-parameter entry naming a parameter of the model with the
/// right shape, and each parameter's state complete.
pub(super) fn load<T: Element, S>(
    kinds: &StateKinds,
    groups: &mut [ParamGroup],
    model: &dyn Module<T>,
    dict: &StateDict<T>,
    build: impl Fn(Slots<T>) -> S,
) -> Result<HashMap<ParamId, S>, CheckpointError> {
    let found = dict.text("optimizer")?;
    if found != kinds.optimizer {
        return Err(ErrorKind::Scalar {
            name: "optimizer".into(),
            text: found.into(),
            expected: kinds.optimizer,
        }
        .into());
    }
    let mut rates = Vec::with_capacity(groups.len());
    for i in 0..groups.len() {
        let rate = |what: &str| dict.f64(&format!("group.{i}.{what}"));
        rates.push([rate("lr")?, rate("initial_lr")?, rate("weight_decay")?]);
    }
    let (mut missing, mut unexpected, mut mismatched) = (Vec::new(), Vec::new(), Vec::new());
    let extra_group = format!("group.{}.lr", groups.len());
    if dict.text(&extra_group).is_ok() {
        unexpected.push(extra_group);
    }
    let names = names(model);
    // The parameters with state, by id, under the name their state was found.
    let mut with_state: BTreeMap<String, ParamId> = BTreeMap::new();
    let entries = dict
        .tensors()
        .map(|(n, t)| (n, Some(t)))
        .chain(dict.counters().map(|(n, _)| (n, None)));
    for (entry, tensor) in entries {
        let known = entry.split_once('.').and_then(|(kind, param)| {
            let kind_known = match tensor {
                Some(_) => kinds.tensors.contains(&kind),
                None => kinds.step && kind == "step",
            };
            kind_known.then(|| names.by_name.get(param).map(|p| (param, p)))?
        });
        let Some((param, (id, shape))) = known else {
            unexpected.push(entry.to_string());
            continue;
        };
        with_state.insert(param.to_string(), *id);
        if let Some(t) = tensor
            && t.shape() != shape.as_slice()
        {
            let kind = |shape: &[usize]| EntryKind::Tensor {
                dtype: T::NAME.to_uppercase(),
                shape: shape.to_vec(),
            };
            mismatched.push(Mismatch {
                name: entry.to_string(),
                model: kind(shape),
                file: kind(t.shape()),
            });
        }
    }
    let mut states = HashMap::new();
    for (param, id) in &with_state {
        let step = if kinds.step {
            let key = format!("step.{param}");
            dict.counter(&key).inspect_err(|_| missing.push(key)).ok()
        } else {
            Some(0)
        };
        let tensors: Vec<Option<Tensor<T>>> = kinds
            .tensors
            .iter()
            .map(|kind| {
                let key = format!("{kind}.{param}");
                dict.tensor(&key)
                    .inspect_err(|_| missing.push(key))
                    .ok()
                    .cloned()
            })
            .collect();
        if let (Some(step), Some(tensors)) = (step, tensors.into_iter().collect::<Option<_>>()) {
            states.insert(*id, build(Slots { step, tensors }));
        }
    }
    if !(missing.is_empty() && unexpected.is_empty() && mismatched.is_empty()) {
        return Err(ErrorKind::Mismatch {
            missing,
            unexpected,
            mismatched,
        }
        .into());
    }
    for (g, [lr, initial_lr, weight_decay]) in groups.iter_mut().zip(rates) {
        g.lr = lr;
        g.initial_lr = initial_lr;
        g.weight_decay = weight_decay;
    }
    Ok(states)
}
