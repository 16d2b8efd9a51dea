//! Adam and AdamW, as PyTorch's `torch.optim.Adam` and `torch.optim.AdamW` document them: the
//! moments and the bias corrections of Kingma and Ba, with weight decay as an L2 term in the
//! gradient (Adam) or decoupled from it (AdamW, Loshchilov and Hutter).
//!
//! Both share one fused update: the parameter and its moments are written in place in a single
//! pass over the gradient ([`Tensor::zip_mut_with`]); the moments are created at a parameter's
//! first step and are the only memory the optimizer adds (two, or three with AMSGrad, tensors
//! of the parameter's size).

use std::collections::HashMap;

use shendu_autograd::{Gradients, ParamId};
use shendu_tensor::{Element, Tensor};

use super::state::{self, Slots, StateKinds};
use super::{check_at_least_zero, check_beta, Groups, Optimizer, ParamGroup};
use crate::checkpoint::{CheckpointError, StateDict};
use crate::module::Module;

/// Adam: for each parameter p with gradient g, at its step t (counted per parameter),
///
/// ```text
/// g ← g + λ·p                                   (weight decay λ, an L2 penalty)
/// m ← β₁·m + (1 − β₁)·g                         (m₀ = 0)
/// v ← β₂·v + (1 − β₂)·g²                        (v₀ = 0)
/// v̂max ← max(v̂max, v)                           (AMSGrad only; then v is read as v̂max below)
/// p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// which is the update of PyTorch's `Adam` written as its implementation computes it (ε added
/// after the square root of the bias-corrected v). Defaults as in PyTorch: β = (0.9, 0.999),
/// ε = 1e-8, λ = 0, no AMSGrad.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_nn::{Adam, Forward, Linear, Module, Optimizer};
/// use shendu_tensor::Tensor;
///
/// // Fit y = 2x − 1.
/// let x = Tensor::from_vec(vec![-1.0f64, 0.0, 1.0, 2.0], [4, 1]);
/// let y = x.map(|x| 2.0 * x - 1.0);
/// let mut model = Linear::<f64>::new(1, 1, &mut StdRng::seed_from_u64(0));
/// let mut opt = Adam::new(0.1).betas(0.9, 0.99);
/// for _ in 0..300 {
///     let (_, grads) = model.value_and_grad(|tape, m| {
///         (&m.forward(&tape.constant(x.clone())) - &tape.constant(y.clone())).square().mean_all()
///     });
///     opt.step(&mut model, &grads);
/// }
/// assert!((model.weight.value().item() - 2.0).abs() < 1e-3);
/// ```
pub struct Adam<T: Element = f32> {
    pub(super) groups: Groups,
    pub(super) betas: (f64, f64),
    pub(super) eps: f64,
    pub(super) amsgrad: bool,
    /// AdamW's decay `p ← p·(1 − lr·λ)` instead of Adam's `g ← g + λ·p`.
    pub(super) decoupled: bool,
    pub(super) state: HashMap<ParamId, AdamState<T>>,
}

/// The state of one parameter: its step count and moments.
pub(super) struct AdamState<T: Element> {
    pub(super) step: u64,
    pub(super) exp_avg: Tensor<T>,
    pub(super) exp_avg_sq: Tensor<T>,
    /// Present with AMSGrad only.
    pub(super) max_exp_avg_sq: Option<Tensor<T>>,
}

impl<T: Element> Adam<T> {
    /// The names of this optimizer's per-parameter state.
    fn kinds(&self) -> StateKinds {
        let mut tensors = vec!["exp_avg", "exp_avg_sq"];
        if self.amsgrad {
            tensors.push("max_exp_avg_sq");
        }
        StateKinds {
            optimizer: self.name(),
            tensors,
            step: true,
        }
    }

    /// Adam with learning rate `lr` and PyTorch's defaults for the rest.
    #[track_caller]
    pub fn new(lr: f64) -> Self {
        Self::with_decay("Adam", lr, 0.0, false)
    }

    #[track_caller]
    pub(super) fn with_decay(what: &str, lr: f64, weight_decay: f64, decoupled: bool) -> Self {
        check_at_least_zero(what, "learning rate", lr);
        check_at_least_zero(what, "weight decay", weight_decay);
        Adam {
            groups: Groups::new(lr, weight_decay),
            betas: (0.9, 0.999),
            eps: 1e-8,
            amsgrad: false,
            decoupled,
            state: HashMap::new(),
        }
    }

    fn name(&self) -> &'static str {
        if self.decoupled {
            "AdamW"
        } else {
            "Adam"
        }
    }

    /// With the moments' decay rates β₁ and β₂, each in [0, 1).
    #[track_caller]
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        check_beta(self.name(), "beta1", beta1);
        check_beta(self.name(), "beta2", beta2);
        self.betas = (beta1, beta2);
        self
    }

    /// With ε, the term added to the denominator for numerical stability.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Self {
        check_at_least_zero(self.name(), "eps", eps);
        self.eps = eps;
        self
    }

    /// With weight decay λ in the default group: added to the gradient as λ·p (Adam).
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        check_at_least_zero(self.name(), "weight decay", weight_decay);
        self.groups.groups[0].weight_decay = weight_decay;
        self
    }

    /// With the AMSGrad variant (Reddi et al.): the denominator uses the largest v seen.
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.amsgrad = amsgrad;
        self
    }

    /// With a group of parameters of their own learning rate and weight decay.
    pub fn with_group(mut self, group: ParamGroup) -> Self {
        self.groups.add(group);
        self
    }
}

impl<T: Element> Optimizer<T> for Adam<T> {
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) {
        let (beta1, beta2) = self.betas;
        let (amsgrad, decoupled, eps) = (self.amsgrad, self.decoupled, self.eps);
        let state = &mut self.state;
        self.groups.for_each(model, grads, |group, id, p, g| {
            let s = state.entry(id).or_insert_with(|| AdamState {
                step: 0,
                exp_avg: Tensor::zeros(p.shape()),
                exp_avg_sq: Tensor::zeros(p.shape()),
                max_exp_avg_sq: amsgrad.then(|| Tensor::zeros(p.shape())),
            });
            s.step += 1;
            // The scalars in f64, as PyTorch's Python floats; `powf` as Python's `**`.
            let t = s.step as f64;
            let bias_correction1 = 1.0 - beta1.powf(t);
            let bias_correction2 = 1.0 - beta2.powf(t);
            let c = T::from_f64_lossy;
            let k = Scalars {
                beta2: c(beta2),
                lerp_weight: c(1.0 - beta1),
                one_minus_beta2: c(1.0 - beta2),
                l2: c(if decoupled { 0.0 } else { group.weight_decay }),
                decay: c(if decoupled {
                    1.0 - group.lr * group.weight_decay
                } else {
                    1.0
                }),
                neg_step_size: c(-(group.lr / bias_correction1)),
                bias_correction2_sqrt: c(bias_correction2.sqrt()),
                eps: c(eps),
            };
            // Weight decay or not is decided here, once per parameter, not per element: a
            // branch in the loop keeps the compiler from vectorising it.
            if k.l2 != T::zero() {
                update::<T, true>(&k, p, g, s);
            } else {
                update::<T, false>(&k, p, g, s);
            }
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
            &self.state,
            |s| Slots {
                step: s.step,
                tensors: [
                    Some(&s.exp_avg),
                    Some(&s.exp_avg_sq),
                    s.max_exp_avg_sq.as_ref(),
                ]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            },
        )
    }

    fn load_state_dict(
        &mut self,
        model: &dyn Module<T>,
        state: &StateDict<T>,
    ) -> Result<(), CheckpointError> {
        let kinds = self.kinds();
        self.state = state::load(&kinds, &mut self.groups.groups, model, state, |s| {
            let mut t = s.tensors.into_iter();
            AdamState {
                step: s.step,
                exp_avg: t.next().expect("exp_avg"),
                exp_avg_sq: t.next().expect("exp_avg_sq"),
                max_exp_avg_sq: t.next(),
            }
        })?;
        Ok(())
    }
}

/// One parameter's update: a single pass over its gradient, writing the parameter and its
/// moments (and the largest second moment, with AMSGrad).
#[inline(always)]
fn update<T: Element, const L2: bool>(
    k: &Scalars<T>,
    p: &mut Tensor<T>,
    g: &Tensor<T>,
    s: &mut AdamState<T>,
) {
    match &mut s.max_exp_avg_sq {
        None => p.zip_mut_with(g, [&mut s.exp_avg, &mut s.exp_avg_sq], |p, g, [m, v]| {
            k.moments::<L2>(p, g, m, v);
            k.apply(p, *m, *v);
        }),
        Some(vmax) => p.zip_mut_with(
            g,
            [&mut s.exp_avg, &mut s.exp_avg_sq, vmax],
            |p, g, [m, v, vmax]| {
                k.moments::<L2>(p, g, m, v);
                *vmax = vmax.max(*v);
                k.apply(p, *m, *vmax);
            },
        ),
    }
}

/// One parameter's step constants, in the element type.
struct Scalars<T> {
    beta2: T,
    lerp_weight: T,
    one_minus_beta2: T,
    l2: T,
    /// 1 for Adam: multiplying by 1 changes nothing, not even an infinity, so it needs no branch.
    decay: T,
    neg_step_size: T,
    bias_correction2_sqrt: T,
    eps: T,
}

impl<T: Element> Scalars<T> {
    /// Decays `p` (AdamW), adds the L2 term to `g` (Adam, when `L2`) and updates the moments,
    /// each rounded as PyTorch's ops round them: `m.lerp_(g, 1 − β₁)` (PyTorch's formula for a
    /// weight below 0.5, i.e. β₁ > 0.5; for a smaller β₁ PyTorch rounds `g − (g − m)·β₁`, the
    /// same value to an ulp), `v.mul_(β₂).addcmul_(g, g, 1 − β₂)`.
    #[inline(always)]
    fn moments<const L2: bool>(&self, p: &mut T, g: T, m: &mut T, v: &mut T) {
        *p *= self.decay;
        // Without weight decay no 0·p is added: an infinite p must not turn g into NaN.
        let g = if L2 { g + self.l2 * *p } else { g };
        *m += self.lerp_weight * (g - *m);
        *v = *v * self.beta2 + self.one_minus_beta2 * g * g;
    }

    /// `p.addcdiv_(m, √v / √(1 − β₂ᵗ) + ε, −lr / (1 − β₁ᵗ))`.
    #[inline(always)]
    fn apply(&self, p: &mut T, m: T, v: T) {
        let denom = v.sqrt() / self.bias_correction2_sqrt + self.eps;
        *p += self.neg_step_size * (m / denom);
    }
}

/// AdamW: Adam with decoupled weight decay. For each parameter p with gradient g, at its step t,
///
/// ```text
/// p ← p·(1 − lr·λ)                              (weight decay λ, decoupled from g)
/// m ← β₁·m + (1 − β₁)·g
/// v ← β₂·v + (1 − β₂)·g²
/// v̂max ← max(v̂max, v)                           (AMSGrad only; then v is read as v̂max below)
/// p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// as PyTorch's `AdamW`, with its defaults: β = (0.9, 0.999), ε = 1e-8, λ = 0.01.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_nn::{AdamW, Linear, Module, Optimizer};
///
/// let mut model = Linear::<f64>::new(3, 1, &mut StdRng::seed_from_u64(0));
/// let mut opt = AdamW::new(1e-3).weight_decay(0.1);
/// let w0 = model.weight.value().to_vec();
/// // A loss with a zero gradient: only the decay moves the weight.
/// let (_, grads) = model.value_and_grad(|tape, m| m.weight.on(tape).sum_all() * 0.0);
/// opt.step(&mut model, &grads);
/// let w1 = model.weight.value().to_vec();
/// for (w0, w1) in w0.iter().zip(&w1) {
///     assert_eq!(*w1, w0 * (1.0 - 1e-3 * 0.1));
/// }
/// ```
pub struct AdamW<T: Element = f32>(Adam<T>);

impl<T: Element> AdamW<T> {
    /// AdamW with learning rate `lr` and PyTorch's defaults for the rest (λ = 0.01).
    #[track_caller]
    pub fn new(lr: f64) -> Self {
        AdamW(Adam::with_decay("AdamW", lr, 0.01, true))
    }

    /// With the moments' decay rates β₁ and β₂, each in [0, 1).
    #[track_caller]
    pub fn betas(self, beta1: f64, beta2: f64) -> Self {
        AdamW(self.0.betas(beta1, beta2))
    }

    /// With ε, the term added to the denominator for numerical stability.
    #[track_caller]
    pub fn eps(self, eps: f64) -> Self {
        AdamW(self.0.eps(eps))
    }

    /// With decoupled weight decay λ in the default group: p ← p·(1 − lr·λ) before each update.
    #[track_caller]
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        AdamW(self.0.weight_decay(weight_decay))
    }

    /// With the AMSGrad variant: the denominator uses the largest v seen.
    pub fn amsgrad(self, amsgrad: bool) -> Self {
        AdamW(self.0.amsgrad(amsgrad))
    }

    /// With a group of parameters of their own learning rate and (decoupled) weight decay.
    pub fn with_group(self, group: ParamGroup) -> Self {
        AdamW(self.0.with_group(group))
    }
}

impl<T: Element> Optimizer<T> for AdamW<T> {
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) {
        self.0.step(model, grads);
    }

    fn param_groups(&self) -> &[ParamGroup] {
        self.0.param_groups()
    }

    fn param_groups_mut(&mut self) -> &mut [ParamGroup] {
        self.0.param_groups_mut()
    }

    fn state_dict(&self, model: &dyn Module<T>) -> StateDict<T> {
        self.0.state_dict(model)
    }

    fn load_state_dict(
        &mut self,
        model: &dyn Module<T>,
        state: &StateDict<T>,
    ) -> Result<(), CheckpointError> {
        self.0.load_state_dict(model, state)
    }
}
