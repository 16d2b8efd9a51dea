//! RMSprop, as PyTorch's `torch.optim.RMSprop` documents it: each gradient divided by a running
//! root mean square of its recent values (Hinton's lecture 6e), optionally centered (Graves) and
//! with momentum. One fused pass per parameter writes the parameter and its state in place.

use std::collections::HashMap;

use shendu_autograd::{Gradients, ParamId};
use shendu_tensor::{Element, Tensor};

use super::state::{self, Slots, StateKinds};
use super::{check_at_least_zero, check_beta, Groups, Optimizer, ParamGroup};
use crate::checkpoint::{CheckpointError, StateDict};
use crate::module::Module;

/// RMSprop: for each parameter p with gradient g,
///
/// ```text
/// g ← g + λ·p                                   (weight decay λ)
/// v ← α·v + (1 − α)·g²                          (v₀ = 0)
/// ḡ ← α·ḡ + (1 − α)·g,  d ← √(v − ḡ²) + ε       (centered; ḡ₀ = 0)
/// d ← √v + ε                                    (not centered)
/// b ← μ·b + g/d,  p ← p − lr·b                  (momentum μ > 0; b₀ = 0)
/// p ← p − lr·g/d                                (μ = 0)
/// ```
///
/// Defaults as in PyTorch: α = 0.99, ε = 1e-8, λ = 0, μ = 0, not centered.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_nn::{Linear, Module, Optimizer, RMSprop};
///
/// let mut model = Linear::<f64>::new(1, 1, &mut StdRng::seed_from_u64(0));
/// let mut opt = RMSprop::new(0.01).alpha(0.9).momentum(0.5).centered(true);
/// let w0 = model.weight.value().item();
/// let (_, grads) = model.value_and_grad(|tape, m| m.weight.on(tape).sum_all() * 3.0);
/// opt.step(&mut model, &grads);
/// // v = 0.1·9, ḡ = 0.1·3: d = √(0.9 − 0.09) + ε, b = 3/d.
/// let d = (0.9f64 - 0.09).sqrt() + 1e-8;
/// assert!((model.weight.value().item() - (w0 - 0.01 * 3.0 / d)).abs() < 1e-15);
/// ```
pub struct RMSprop<T: Element = f32> {
    groups: Groups,
    alpha: f64,
    eps: f64,
    momentum: f64,
    centered: bool,
    state: HashMap<ParamId, RMSpropState<T>>,
}

/// The state of one parameter.
pub(super) struct RMSpropState<T: Element> {
    pub(super) step: u64,
    pub(super) square_avg: Tensor<T>,
    /// Present when centered.
    pub(super) grad_avg: Option<Tensor<T>>,
    /// Present with momentum.
    pub(super) momentum_buffer: Option<Tensor<T>>,
}

impl<T: Element> RMSprop<T> {
    /// The names of this optimizer's per-parameter state.
    fn kinds(&self) -> StateKinds {
        let mut tensors = vec!["square_avg"];
        if self.centered {
            tensors.push("grad_avg");
        }
        if self.momentum > 0.0 {
            tensors.push("momentum_buffer");
        }
        StateKinds {
            optimizer: "RMSprop",
            tensors,
            step: true,
        }
    }

    /// RMSprop with learning rate `lr` and PyTorch's defaults for the rest.
    #[track_caller]
    pub fn new(lr: f64) -> Self {
        check_at_least_zero("RMSprop", "learning rate", lr);
        RMSprop {
            groups: Groups::new(lr, 0.0),
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
            centered: false,
            state: HashMap::new(),
        }
    }

    /// With the smoothing constant α of the running mean square, in [0, 1).
    #[track_caller]
    pub fn alpha(mut self, alpha: f64) -> Self {
        check_beta("RMSprop", "alpha", alpha);
        self.alpha = alpha;
        self
    }

    /// With ε, the term added to the denominator for numerical stability.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Self {
        check_at_least_zero("RMSprop", "eps", eps);
        self.eps = eps;
        self
    }

    /// With momentum μ.
    #[track_caller]
    pub fn momentum(mut self, momentum: f64) -> Self {
        check_at_least_zero("RMSprop", "momentum", momentum);
        self.momentum = momentum;
        self
    }

    /// Centered: the denominator estimates the variance of the gradient, not its mean square.
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }

    /// With weight decay λ in the default group, added to the gradient as λ·p.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        check_at_least_zero("RMSprop", "weight decay", weight_decay);
        self.groups.groups[0].weight_decay = weight_decay;
        self
    }

    /// With a group of parameters of their own learning rate and weight decay.
    pub fn with_group(mut self, group: ParamGroup) -> Self {
        self.groups.add(group);
        self
    }
}

impl<T: Element> Optimizer<T> for RMSprop<T> {
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) {
        let c = T::from_f64_lossy;
        let (alpha, eps, momentum, centered) = (self.alpha, self.eps, self.momentum, self.centered);
        let state = &mut self.state;
        self.groups.for_each(model, grads, |group, id, p, g| {
            let s = state.entry(id).or_insert_with(|| RMSpropState {
                step: 0,
                square_avg: Tensor::zeros(p.shape()),
                grad_avg: centered.then(|| Tensor::zeros(p.shape())),
                momentum_buffer: (momentum > 0.0).then(|| Tensor::zeros(p.shape())),
            });
            s.step += 1;
            let k = Scalars {
                alpha: c(alpha),
                one_minus_alpha: c(1.0 - alpha),
                lerp_low: 1.0 - alpha < 0.5,
                eps: c(eps),
                l2: c(group.weight_decay),
                momentum: c(momentum),
                neg_lr: c(-group.lr),
            };
            let v = &mut s.square_avg;
            match (&mut s.grad_avg, &mut s.momentum_buffer) {
                (None, None) => p.zip_mut_with(g, [v], |p, g, [v]| {
                    let g = k.decayed(p, g);
                    let d = k.plain(g, v);
                    *p += k.neg_lr * (g / d);
                }),
                (Some(ga), None) => p.zip_mut_with(g, [v, ga], |p, g, [v, ga]| {
                    let g = k.decayed(p, g);
                    let d = k.centered(g, v, ga);
                    *p += k.neg_lr * (g / d);
                }),
                (None, Some(b)) => p.zip_mut_with(g, [v, b], |p, g, [v, b]| {
                    let g = k.decayed(p, g);
                    let d = k.plain(g, v);
                    k.with_momentum(p, g, d, b);
                }),
                (Some(ga), Some(b)) => p.zip_mut_with(g, [v, ga, b], |p, g, [v, ga, b]| {
                    let g = k.decayed(p, g);
                    let d = k.centered(g, v, ga);
                    k.with_momentum(p, g, d, b);
                }),
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
                    Some(&s.square_avg),
                    s.grad_avg.as_ref(),
                    s.momentum_buffer.as_ref(),
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
        let (centered, momentum) = (self.centered, self.momentum > 0.0);
        let kinds = self.kinds();
        self.state = state::load(&kinds, &mut self.groups.groups, model, state, |s| {
            let mut t = s.tensors.into_iter();
            RMSpropState {
                step: s.step,
                square_avg: t.next().expect("square_avg"),
                grad_avg: if centered { t.next() } else { None },
                momentum_buffer: if momentum { t.next() } else { None },
            }
        })?;
        Ok(())
    }
}

/// One parameter's step constants, in the element type; each method rounds as the PyTorch op
/// it stands for.
struct Scalars<T> {
    alpha: T,
    one_minus_alpha: T,
    lerp_low: bool,
    eps: T,
    l2: T,
    momentum: T,
    neg_lr: T,
}

impl<T: Element> Scalars<T> {
    /// `grad.add(param, alpha=λ)`, skipped at λ = 0 so that an infinite p stays out of g.
    #[inline(always)]
    fn decayed(&self, p: &T, g: T) -> T {
        if self.l2 != T::zero() {
            g + self.l2 * *p
        } else {
            g
        }
    }

    /// `square_avg.mul_(α).addcmul_(g, g, 1 − α)`, then `square_avg.sqrt().add_(ε)`.
    #[inline(always)]
    fn plain(&self, g: T, v: &mut T) -> T {
        *v = *v * self.alpha + self.one_minus_alpha * g * g;
        v.sqrt() + self.eps
    }

    /// The same mean square, `grad_avg.lerp_(g, 1 − α)`, then
    /// `square_avg.addcmul(grad_avg, grad_avg, −1).sqrt_().add_(ε)`.
    #[inline(always)]
    fn centered(&self, g: T, v: &mut T, ga: &mut T) -> T {
        *v = *v * self.alpha + self.one_minus_alpha * g * g;
        *ga = if self.lerp_low {
            *ga + self.one_minus_alpha * (g - *ga)
        } else {
            g - (g - *ga) * (T::one() - self.one_minus_alpha)
        };
        (*v - *ga * *ga).sqrt() + self.eps
    }

    /// `buf.mul_(μ).addcdiv_(g, d)`, `param.add_(buf, alpha=−lr)`.
    #[inline(always)]
    fn with_momentum(&self, p: &mut T, g: T, d: T, b: &mut T) {
        *b = *b * self.momentum + g / d;
        *p += self.neg_lr * *b;
    }
}
