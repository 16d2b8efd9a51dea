//! `BatchNorm1d`: each feature normalised over the batch, then scaled and shifted, as
//! `torch.nn.BatchNorm1d`; with running estimates of each feature's mean and variance, kept as
//! buffers (`running_mean`, `running_var`) and a counter (`num_batches_tracked`) so that they go
//! into the state_dict under PyTorch's names, and used in evaluation mode.
//!
//! A forward pass takes `&self`, as every layer's does (a training step borrows the model
//! immutably while the tape records), yet in training it must update the running estimates, as
//! PyTorch's does. They sit behind a `Mutex`: the layer stays `Send` and `Sync`, the lock is held
//! only for the few element-wise operations of the update, and [`Module::visit_mut`] reaches
//! them with no locking at all. The update is outside the tape: the estimates are not trained.

use std::sync::{Mutex, MutexGuard, PoisonError};

use shendu_autograd::Var;
use shendu_tensor::{Element, Tensor};

use crate::check::fail;
use crate::module::{Forward, Module, Visit, VisitMut};
use crate::param::Param;

/// The running estimates, updated by each training forward pass.
struct Running<T: Element> {
    mean: Tensor<T>,
    var: Tensor<T>,
    batches: u64,
}

/// Batch normalisation of `num_features` features, for inputs `[N, C]` or `[N, C, L]`:
/// y = (x − E(x)) / √(Var(x) + ε) ⊙ weight + bias, per feature c.
///
/// - In training mode, E and Var are the batch's (over N, and L; the variance biased, divided by
///   the count), and the running estimates move towards them:
///   r_mean ← (1 − m)·r_mean + m·E(x) and r_var ← (1 − m)·r_var + m·Var_unbiased(x) (divided
///   by count − 1), with momentum m; `num_batches_tracked` counts the updates. A batch of one
///   value per feature panics, as PyTorch's raises.
/// - In evaluation mode, E and Var are the running estimates, and nothing changes.
///
/// Initially weight = 1, bias = 0, r_mean = 0, r_var = 1; ε = 1e-5 and m = 0.1, as PyTorch.
///
/// ```
/// use shendu_nn::{BatchNorm1d, Forward, Module};
/// use shendu_tensor::Tensor;
///
/// let mut norm = BatchNorm1d::<f64>::new(2);
/// assert_eq!(norm.param_names(), ["weight", "bias"]);
/// let x = Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], [2, 2]);
/// let y = norm.predict(&x);                      // training mode: the batch's statistics
/// assert!((y.to_vec()[0] + 1.0).abs() < 1e-4);   // (1 − 2) / √1
/// // The running mean moved a tenth of the way from 0 to the batch mean [2, 20].
/// assert_eq!(norm.running_mean().to_vec(), vec![0.2, 2.0]);
/// assert_eq!(norm.num_batches_tracked(), 1);
/// norm.eval();                                   // now the running estimates
/// let running_var = 0.9 * 1.0 + 0.1 * 2.0;       // the unbiased batch variance of [1, 3] is 2
/// let expected = (1.0 - 0.2) / (running_var + 1e-5f64).sqrt();
/// assert!((norm.predict(&x).to_vec()[0] - expected).abs() < 1e-12);
/// ```
pub struct BatchNorm1d<T: Element = f32> {
    /// `[num_features]`, initially ones; `None` without an affine map (PyTorch's `affine=False`).
    pub weight: Option<Param<T>>,
    /// `[num_features]`, initially zeros; `None` without an affine map.
    pub bias: Option<Param<T>>,
    running: Mutex<Running<T>>,
    num_features: usize,
    eps: f64,
    momentum: f64,
    training: bool,
}

impl<T: Element> BatchNorm1d<T> {
    /// Batch normalisation of `num_features` features with PyTorch's defaults.
    ///
    /// # Panics
    /// If `num_features` is 0.
    #[track_caller]
    pub fn new(num_features: usize) -> Self {
        if num_features == 0 {
            fail("BatchNorm1d(0)", "needs at least one feature");
        }
        BatchNorm1d {
            weight: Some(Param::new(Tensor::ones([num_features]))),
            bias: Some(Param::new(Tensor::zeros([num_features]))),
            running: Mutex::new(Running {
                mean: Tensor::zeros([num_features]),
                var: Tensor::ones([num_features]),
                batches: 0,
            }),
            num_features,
            eps: 1e-5,
            momentum: 0.1,
            training: true,
        }
    }

    /// The same layer with ε = `eps` added to the variance.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Self {
        if !(eps >= 0.0 && eps.is_finite()) {
            fail(&self.name(), format!("ε must be finite and ≥ 0, got {eps}"));
        }
        self.eps = eps;
        self
    }

    /// The same layer with the running estimates' momentum m (0 ≤ m ≤ 1; PyTorch's
    /// cumulative average, `momentum=None`, is not offered).
    #[track_caller]
    pub fn momentum(mut self, momentum: f64) -> Self {
        if !(0.0..=1.0).contains(&momentum) {
            fail(
                &self.name(),
                format!("the momentum must be between 0 and 1, got {momentum}"),
            );
        }
        self.momentum = momentum;
        self
    }

    /// The same layer without weight and bias (PyTorch's `affine=False`).
    pub fn without_affine(mut self) -> Self {
        self.weight = None;
        self.bias = None;
        self
    }

    /// Number of features (channels), C.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// The running estimate of each feature's mean, `[num_features]`.
    pub fn running_mean(&self) -> Tensor<T> {
        self.lock().mean.clone()
    }

    /// The running estimate of each feature's variance (unbiased), `[num_features]`.
    pub fn running_var(&self) -> Tensor<T> {
        self.lock().var.clone()
    }

    /// How many training batches have updated the running estimates.
    pub fn num_batches_tracked(&self) -> u64 {
        self.lock().batches
    }

    /// Whether the layer is in training mode (batch statistics) or evaluation mode (running).
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// The running estimates. A panic cannot leave them half-updated (each is replaced whole),
    /// so a poisoned lock is still good to read.
    fn lock(&self) -> MutexGuard<'_, Running<T>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn name(&self) -> String {
        format!("BatchNorm1d({})", self.num_features())
    }

    /// Moves the running estimates towards the batch's `mean` and biased `var` over `count`
    /// values per feature.
    fn update_running(&self, mean: &Tensor<T>, var: &Tensor<T>, count: usize) {
        let m = self.momentum;
        let keep = |t: &Tensor<T>| t.map(|v| v * T::from_f64_lossy(1.0 - m));
        let unbiased = T::from_f64_lossy(m * count as f64 / (count - 1) as f64);
        let mean = mean.flatten().map(|v| v * T::from_f64_lossy(m));
        let var = var.flatten().map(|v| v * unbiased);
        let mut running = self.lock();
        running.mean = keep(&running.mean).add(&mean);
        running.var = keep(&running.var).add(&var);
        running.batches += 1;
    }
}

impl<T: Element> Module<T> for BatchNorm1d<T> {
    fn visit(&self, v: &mut Visit<'_, T>) {
        if let Some(w) = &self.weight {
            v.param("weight", w);
        }
        if let Some(b) = &self.bias {
            v.param("bias", b);
        }
        // Cheap clones (shared storage), so that no lock is held while the visitor runs.
        let (mean, var, batches) = {
            let running = self.lock();
            (running.mean.clone(), running.var.clone(), running.batches)
        };
        v.buffer("running_mean", &mean);
        v.buffer("running_var", &var);
        v.counter("num_batches_tracked", batches);
    }

    fn visit_mut(&mut self, v: &mut VisitMut<'_, T>) {
        if let Some(w) = &mut self.weight {
            v.param("weight", w);
        }
        if let Some(b) = &mut self.bias {
            v.param("bias", b);
        }
        let running = self
            .running
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        v.buffer("running_mean", &mut running.mean);
        v.buffer("running_var", &mut running.var);
        v.counter("num_batches_tracked", &mut running.batches);
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

impl<T: Element> Forward<T> for BatchNorm1d<T> {
    /// The normalised `x`, `[N, C]` or `[N, C, L]`; in training mode, also updates the running
    /// estimates.
    #[track_caller]
    fn forward(&self, x: &Var<T>) -> Var<T> {
        let c = self.num_features;
        if !(x.rank() == 2 || x.rank() == 3) || x.shape()[1] != c {
            fail(
                &self.name(),
                format!(
                    "an input of shape {:?} is not [N, {c}] or [N, {c}, L]",
                    x.shape()
                ),
            );
        }
        // Per-feature tensors broadcast against [N, C] as [C], against [N, C, L] as [C, 1].
        let per_feature: &[usize] = if x.rank() == 2 { &[c] } else { &[c, 1] };
        let axes: &[usize] = if x.rank() == 2 { &[0] } else { &[0, 2] };
        let eps = T::from_f64_lossy(self.eps);
        let normalised = if self.training {
            let count = x.numel() / c;
            if count <= 1 {
                fail(
                    &self.name(),
                    format!(
                        "training needs more than one value per feature, got an input of \
                         shape {:?}",
                        x.shape()
                    ),
                );
            }
            let mean = x.mean(axes, true);
            let deviation = x - &mean;
            let var = deviation.square().mean(axes, true);
            self.update_running(mean.value(), var.value(), count);
            &deviation * &var.add_scalar(eps).sqrt().recip()
        } else {
            let (mean, var) = {
                let running = self.lock();
                (
                    running.mean.reshape(per_feature),
                    running.var.reshape(per_feature),
                )
            };
            let inv_std = var.map(|v| (v + eps).sqrt().recip());
            &(x - &x.constant(mean)) * &x.constant(inv_std)
        };
        let tape = x.tape();
        let y = match &self.weight {
            Some(w) => &normalised * &w.on(&tape).reshape(per_feature),
            None => normalised,
        };
        match &self.bias {
            Some(b) => &y + &b.on(&tape).reshape(per_feature),
            None => y,
        }
    }
}
