//! Checkpoints: a model's state in a safetensors file, under the names PyTorch's `state_dict`
//! gives it, so that files go both ways between shendu and PyTorch.
//!
//! [`Checkpoint`] gives every [`Module`] `save`, `load` (strict) and `load_non_strict`, and
//! their in-memory forms over a [`StateDict`]. A file holds each parameter and buffer as a
//! tensor of the model's element type (`F32` or `F64`) and each counter as a 0-d `I64`, exactly
//! as `safetensors.torch.save_file(model.state_dict(), path)` writes a PyTorch model; such a file
//! loads into the equivalent shendu model, and a shendu file loads in PyTorch with
//! `model.load_state_dict(safetensors.torch.load_file(path))`.
//!
//! In Python, with PyTorch and the `safetensors` package, for the equivalent `torch.nn` model
//! (same module names, same element type):
//!
//! ```python
//! import safetensors.torch
//! model.load_state_dict(safetensors.torch.load_file("model.safetensors"))  # strict
//! safetensors.torch.save_file(model.state_dict(), "model.safetensors")    # and back
//! ```
//!
//! A model with tied weights loads with `safetensors.torch.load_model(model, path)` (and saves
//! with `save_model`), as files PyTorch writes with tied weights do: the file holds the shared
//! tensor once, and a plain strict `load_state_dict` would report its other names as missing.
//!
//! Decisions, and why:
//! - **Strict means exact.** A strict load checks every name, kind (tensor or counter), type and
//!   shape before it changes anything, and fails naming each missing, unexpected and mismatched
//!   entry; the model is then untouched. A non-strict load loads every entry that matches and
//!   reports the rest in a [`LoadReport`].
//! - **The element type is part of the file.** A tensor of another type than the model's is a
//!   mismatch like a wrong shape, named with both types, not a silent conversion: to convert,
//!   read the file as a `StateDict` of its own type, [`cast`](StateDict::cast) it, and load that.
//! - **Tied weights are saved once.** A parameter the model shows under several names (one
//!   [`ParamId`]) is written under the alphabetically first of them, and each other name is
//!   recorded in the metadata as pointing to it, exactly as `safetensors.torch.save_model` does
//!   (safetensors forbids two names over one storage). Loading accepts any one of the names and
//!   restores them all, since they are one parameter; if a file has several, each is loaded in
//!   visiting order, as PyTorch's `load_state_dict` copies them.
//! - **Loading copies into the parameters in place** (PyTorch's `copy_`): a parameter keeps its
//!   storage, and shares none with the state dict afterwards.
//! - **A state dict is a snapshot.** [`Checkpoint::state_dict`] shares the parameters' storage
//!   until either side is written; a later optimizer step copies the parameter first
//!   (copy-on-write) and never changes the state dict, unlike PyTorch's, which aliases.
//! - **Files are written atomically**, to a temporary file in the same directory, synced, then
//!   renamed: a crash leaves the old file or the new one, never half of one.
//!
//! ```
//! use rand::{rngs::StdRng, SeedableRng};
//! use shendu_nn::{Activation, Checkpoint, Forward, Mlp};
//! use shendu_tensor::Tensor;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("model.safetensors");
//! let model = Mlp::<f32>::new(&[2, 8, 1], Activation::Tanh, &mut StdRng::seed_from_u64(0));
//! model.save(&path)?;
//!
//! let mut restored = Mlp::<f32>::new(&[2, 8, 1], Activation::Tanh, &mut StdRng::seed_from_u64(1));
//! restored.load(&path)?;
//! let x = Tensor::ones([3, 2]);
//! assert_eq!(restored.predict(&x).to_vec(), model.predict(&x).to_vec());
//!
//! // Another architecture: a strict load names every difference and changes nothing.
//! let mut wider = Mlp::<f32>::new(&[2, 16, 1], Activation::Tanh, &mut StdRng::seed_from_u64(0));
//! let err = wider.load(&path).unwrap_err();
//! assert!(err.to_string().contains("`0.weight`: the model has an F32 tensor of shape [16, 2], \
//!                                   the state dict an F32 tensor of shape [8, 2]"), "{err}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod atomic;
mod error;
mod format;
mod state_dict;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use shendu_autograd::ParamId;
use shendu_tensor::{Element, Tensor};

use crate::check::fail;
use crate::module::{Entry, EntryMut, Module, Visit, VisitMut};

pub use atomic::write_atomically;
pub use error::{CheckpointError, ErrorKind};
pub use state_dict::StateDict;

/// What a state dict (or a file) or a model holds under one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A tensor (a parameter or a buffer).
    Tensor {
        /// Its element type, as safetensors names it: `"F32"`, `"F64"`, or in a file, any
        /// other (`"BF16"`, `"I64"` of a non-0-d shape).
        dtype: String,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// A counter (a 0-d `I64` in a file).
    Counter,
}

impl EntryKind {
    /// A tensor of `T` of this shape.
    fn tensor<T: Element>(shape: &[usize]) -> Self {
        EntryKind::Tensor {
            dtype: format::float_dtype::<T>().to_string(),
            shape: shape.to_vec(),
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryKind::Tensor { dtype, shape } => {
                // Read aloud, F32 and I64 begin with a vowel; BF16, U8 and C64 do not.
                let article = if dtype.starts_with(['F', 'I']) {
                    "an"
                } else {
                    "a"
                };
                write!(f, "{article} {dtype} tensor of shape {shape:?}")
            }
            EntryKind::Counter => write!(f, "a counter"),
        }
    }
}

/// A name both the model and the state dict have, with different contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The entry's name.
    pub name: String,
    /// What the model holds there.
    pub model: EntryKind,
    /// What the state dict holds there.
    pub file: EntryKind,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}`: the model has {}, the state dict {}",
            self.name, self.model, self.file
        )
    }
}

/// What a non-strict load did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// The state dict's entries that were loaded, sorted.
    pub loaded: Vec<String>,
    /// The model's entries the state dict lacks, in visiting order (left as they were).
    pub missing: Vec<String>,
    /// The state dict's entries the model lacks, sorted (ignored).
    pub unexpected: Vec<String>,
    /// Entries both have with another shape or kind, in visiting order (left as they were).
    pub mismatched: Vec<Mismatch>,
}

impl LoadReport {
    /// Whether the state dict matched the model exactly: nothing missing, unexpected or
    /// mismatched (what a strict load requires).
    pub fn is_exact(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }
}

/// Saving and loading a model's state: implemented for every [`Module`].
///
/// See the [module documentation](self) for the file's contents and the decisions behind them.
pub trait Checkpoint<T: Element>: Module<T> {
    /// The model's parameters and buffers as tensors and its counters, by name; a tied
    /// parameter once, under its alphabetically first name, its other names in the metadata.
    ///
    /// # Panics
    /// If the model shows two different entries under one name (a bug in its `visit`).
    #[track_caller]
    fn state_dict(&self) -> StateDict<T> {
        let survey = Survey::of(self, "state_dict");
        let mut state = StateDict::new();
        for item in survey.items {
            match item.value {
                Value::Param(id, tensor) => {
                    let kept = &survey.params[&id][0];
                    if *kept == item.name {
                        state.insert(item.name, tensor);
                    } else {
                        state.insert_text(item.name, kept.clone());
                    }
                }
                Value::Buffer(tensor) => state.insert(item.name, tensor),
                Value::Counter(value) => state.insert_counter(item.name, value),
            }
        }
        state
    }

    /// Loads `state` if it matches the model exactly (names, kinds, shapes); otherwise returns
    /// an error naming every difference and leaves the model as it was.
    ///
    /// # Panics
    /// If the model shows two different entries under one name (a bug in its `visit`).
    #[track_caller]
    fn load_state_dict(&mut self, state: &StateDict<T>) -> Result<(), CheckpointError> {
        load_strict(self, state, &BTreeMap::new())
    }

    /// Loads every entry of `state` that matches the model, and reports what it loaded and
    /// what it could not.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use shendu_nn::{Checkpoint, Linear, Module, Sequential, Activation};
    ///
    /// // A new head on a trained body: load the body, keep the head as initialised.
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let trained = Sequential::<f32>::new()
    ///     .push(Linear::new(4, 8, &mut rng)).push(Activation::Relu).push(Linear::new(8, 10, &mut rng));
    /// let mut fresh = Sequential::<f32>::new()
    ///     .push(Linear::new(4, 8, &mut rng)).push(Activation::Relu).push(Linear::new(8, 2, &mut rng));
    /// let report = fresh.load_state_dict_non_strict(&trained.state_dict());
    /// assert_eq!(report.loaded, ["0.bias", "0.weight"]);
    /// assert_eq!(report.mismatched.len(), 2);
    /// ```
    ///
    /// # Panics
    /// If the model shows two different entries under one name (a bug in its `visit`).
    #[track_caller]
    fn load_state_dict_non_strict(&mut self, state: &StateDict<T>) -> LoadReport {
        load_non_strict(self, state, &BTreeMap::new())
    }

    /// Writes [`state_dict`](Checkpoint::state_dict) to the safetensors file `path`, atomically.
    #[track_caller]
    fn save(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        self.state_dict().write(path)
    }

    /// Reads the safetensors file `path` and loads it strictly
    /// ([`load_state_dict`](Checkpoint::load_state_dict)). A tensor of another type than the
    /// model's (an `F64` file for an `f32` model) is one more mismatch, named with the others.
    ///
    /// # Errors
    /// The file cannot be read, is damaged, or does not match the model; then nothing is loaded.
    #[track_caller]
    fn load(&mut self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        let path = path.as_ref();
        let (state, others) = StateDict::read_with_others(path)?;
        load_strict(self, &state, &others).map_err(|e| e.in_file(path))
    }

    /// Reads the safetensors file `path` and loads what matches
    /// ([`load_state_dict_non_strict`](Checkpoint::load_state_dict_non_strict)); a tensor of
    /// another type than the model's is reported as mismatched (or unexpected) and not loaded.
    ///
    /// # Errors
    /// The file cannot be read or is damaged; then nothing is loaded.
    #[track_caller]
    fn load_non_strict(&mut self, path: impl AsRef<Path>) -> Result<LoadReport, CheckpointError> {
        let (state, others) = StateDict::read_with_others(path.as_ref())?;
        Ok(load_non_strict(self, &state, &others))
    }
}

/// Loads `state` into `model` if they match exactly, `others` (a file's tensors of other types)
/// counting as differences.
#[track_caller]
fn load_strict<T: Element, M: Module<T> + ?Sized>(
    model: &mut M,
    state: &StateDict<T>,
    others: &BTreeMap<String, EntryKind>,
) -> Result<(), CheckpointError> {
    let plan = LoadPlan::new(model, state, others);
    if !plan.report.is_exact() {
        let LoadReport {
            missing,
            unexpected,
            mismatched,
            ..
        } = plan.report;
        return Err(ErrorKind::Mismatch {
            missing,
            unexpected,
            mismatched,
        }
        .into());
    }
    plan.apply(model, state);
    Ok(())
}

/// Loads what matches of `state` into `model`, and reports the rest, `others` included.
#[track_caller]
fn load_non_strict<T: Element, M: Module<T> + ?Sized>(
    model: &mut M,
    state: &StateDict<T>,
    others: &BTreeMap<String, EntryKind>,
) -> LoadReport {
    let plan = LoadPlan::new(model, state, others);
    plan.apply(model, state);
    plan.report
}

impl<T: Element, M: Module<T> + ?Sized> Checkpoint<T> for M {}

/// One entry of a model, as its visit shows it.
struct Item<T: Element> {
    name: String,
    value: Value<T>,
}

enum Value<T: Element> {
    Param(ParamId, Tensor<T>),
    Buffer(Tensor<T>),
    Counter(u64),
}

impl<T: Element> Value<T> {
    fn kind(&self) -> EntryKind {
        match self {
            Value::Param(_, t) | Value::Buffer(t) => EntryKind::tensor::<T>(t.shape()),
            Value::Counter(_) => EntryKind::Counter,
        }
    }
}

/// A model's entries in visiting order, and each parameter's names, sorted (the first is the
/// one a file keeps).
struct Survey<T: Element> {
    items: Vec<Item<T>>,
    params: BTreeMap<ParamId, Vec<String>>,
}

impl<T: Element> Survey<T> {
    #[track_caller]
    fn of<M: Module<T> + ?Sized>(model: &M, op: &str) -> Self {
        let mut items = Vec::new();
        model.visit(&mut Visit::new(&mut |name, entry| {
            let value = match entry {
                Entry::Param(p) => Value::Param(p.id(), p.value().clone()),
                Entry::Buffer(b) => Value::Buffer(b.clone()),
                Entry::Counter(c) => Value::Counter(c),
            };
            items.push(Item {
                name: name.to_string(),
                value,
            });
        }));
        let mut params: BTreeMap<ParamId, Vec<String>> = BTreeMap::new();
        let mut owners: BTreeMap<&str, Option<ParamId>> = BTreeMap::new();
        for item in &items {
            let id = match item.value {
                Value::Param(id, _) => Some(id),
                _ => None,
            };
            // One name, one entry; a parameter shown twice under one name is still one entry.
            if let Some(&owner) = owners.get(item.name.as_str()) {
                if owner.is_none() || owner != id {
                    fail(
                        op,
                        format!("the model shows two entries under the name `{}`", item.name),
                    );
                }
                continue;
            }
            owners.insert(&item.name, id);
            if let Some(id) = id {
                params.entry(id).or_default().push(item.name.clone());
            }
        }
        for names in params.values_mut() {
            names.sort();
        }
        Survey { items, params }
    }
}

/// What a load will copy, decided before anything is copied.
struct LoadPlan {
    load: BTreeSet<String>,
    report: LoadReport,
}

impl LoadPlan {
    #[track_caller]
    fn new<T: Element, M: Module<T> + ?Sized>(
        model: &M,
        state: &StateDict<T>,
        others: &BTreeMap<String, EntryKind>,
    ) -> Self {
        let survey = Survey::of(model, "load_state_dict");
        let in_file = |name: &str| -> Option<EntryKind> {
            if let Ok(t) = state.tensor(name) {
                Some(EntryKind::tensor::<T>(t.shape()))
            } else if state.counter(name).is_ok() {
                Some(EntryKind::Counter)
            } else {
                others.get(name).cloned()
            }
        };
        let mut report = LoadReport::default();
        let mut load = BTreeSet::new();
        let mut seen = BTreeSet::new();
        for item in &survey.items {
            if !seen.insert(item.name.as_str()) {
                continue;
            }
            let model_kind = item.value.kind();
            match in_file(&item.name) {
                Some(kind) if kind == model_kind => {
                    load.insert(item.name.clone());
                }
                Some(kind) => report.mismatched.push(Mismatch {
                    name: item.name.clone(),
                    model: model_kind,
                    file: kind,
                }),
                None => {
                    // A tied parameter needs one of its names in the file; report it once,
                    // under the name a file keeps.
                    let reported = match &item.value {
                        Value::Param(id, _) => {
                            let names = &survey.params[id];
                            let any_in_file = names.iter().any(|n| in_file(n).is_some());
                            (!any_in_file && names[0] == item.name).then_some(&item.name)
                        }
                        _ => Some(&item.name),
                    };
                    report.missing.extend(reported.cloned());
                }
            }
        }
        let names = (state.tensors().map(|(n, _)| n))
            .chain(state.counters().map(|(n, _)| n))
            .chain(others.keys().map(String::as_str));
        report.unexpected = names
            .filter(|n| !seen.contains(n))
            .map(str::to_string)
            .collect();
        report.unexpected.sort();
        report.loaded = load.iter().cloned().collect();
        LoadPlan { load, report }
    }

    /// Copies the planned entries into `model`, in visiting order.
    fn apply<T: Element, M: Module<T> + ?Sized>(&self, model: &mut M, state: &StateDict<T>) {
        model.visit_mut(&mut VisitMut::new(&mut |name, entry| {
            if !self.load.contains(name) {
                return;
            }
            // The plan checked each name's kind and shape against this same model.
            match entry {
                EntryMut::Param(p) => {
                    if let Ok(t) = state.tensor(name) {
                        p.value_mut().copy_from(t);
                    }
                }
                EntryMut::Buffer(b) => {
                    if let Ok(t) = state.tensor(name) {
                        b.copy_from(t);
                    }
                }
                EntryMut::Counter(c) => {
                    if let Ok(v) = state.counter(name) {
                        *c = v;
                    }
                }
                EntryMut::Module(_) => {}
            }
        }));
    }
}
