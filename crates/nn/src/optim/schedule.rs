//! Learning-rate schedules: the learning rate of each parameter group as a function of the
//! number of scheduler steps taken, in PyTorch's closed forms.
//!
//! A schedule ([`LrSchedule`]) is a pure function of a group's initial learning rate and a step
//! count, so schedules compose (a warm-up followed by a cosine) and a resumed run needs only the
//! count. An [`LrScheduler`] holds the count and writes the rate into an optimizer's
//! [`ParamGroup`](super::ParamGroup)s, as PyTorch's `LRScheduler.step()` does. The closed forms
//! are used rather than PyTorch's recursive updates (each step multiplying the previous rate):
//! they agree to rounding and do not accumulate it.

use shendu_tensor::Element;

use super::Optimizer;
use crate::check::fail;
use crate::checkpoint::{CheckpointError, StateDict};

/// A learning rate as a function of the step count.
pub trait LrSchedule: Send {
    /// The learning rate after `step` scheduler steps, for a group whose initial rate is
    /// `initial_lr`.
    fn lr(&self, initial_lr: f64, step: u64) -> f64;
}

/// A schedule chosen at run time (from a configuration) is a boxed one.
impl<S: LrSchedule + ?Sized> LrSchedule for Box<S> {
    fn lr(&self, initial_lr: f64, step: u64) -> f64 {
        (**self).lr(initial_lr, step)
    }
}

/// The initial learning rate at every step: what a warm-up is followed by unless told otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ConstantLr;

impl LrSchedule for ConstantLr {
    /// `lr = lr₀`.
    fn lr(&self, initial_lr: f64, _step: u64) -> f64 {
        initial_lr
    }
}

/// The rate multiplied by γ every `step_size` steps, as PyTorch's `StepLR`:
/// `lr = lr₀ · γ^⌊t / step_size⌋`.
///
/// ```
/// use shendu_nn::optim::{LrSchedule, StepLr};
/// let s = StepLr::new(3, 0.5);
/// assert_eq!([0, 2, 3, 7].map(|t| s.lr(0.1, t)), [0.1, 0.1, 0.05, 0.025]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLr {
    step_size: u64,
    gamma: f64,
}

impl StepLr {
    /// Every `step_size` (> 0) steps, multiply by `gamma` (finite, ≥ 0).
    #[track_caller]
    pub fn new(step_size: u64, gamma: f64) -> Self {
        if step_size == 0 {
            fail("StepLr", "step_size must be > 0");
        }
        check_gamma("StepLr", gamma);
        StepLr { step_size, gamma }
    }
}

impl LrSchedule for StepLr {
    fn lr(&self, initial_lr: f64, step: u64) -> f64 {
        initial_lr * self.gamma.powf((step / self.step_size) as f64)
    }
}

/// The rate multiplied by γ every step, as PyTorch's `ExponentialLR`: `lr = lr₀ · γᵗ`.
///
/// ```
/// use shendu_nn::optim::{ExponentialLr, LrSchedule};
/// assert_eq!(ExponentialLr::new(0.5).lr(0.1, 3), 0.0125);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialLr {
    gamma: f64,
}

impl ExponentialLr {
    /// Multiply by `gamma` (finite, ≥ 0) every step.
    #[track_caller]
    pub fn new(gamma: f64) -> Self {
        check_gamma("ExponentialLr", gamma);
        ExponentialLr { gamma }
    }
}

impl LrSchedule for ExponentialLr {
    fn lr(&self, initial_lr: f64, step: u64) -> f64 {
        initial_lr * self.gamma.powf(step as f64)
    }
}

/// Half a cosine from the initial rate down to `eta_min` over `t_max` steps, as PyTorch's
/// `CosineAnnealingLR` (in its closed form, without restarts):
/// `lr = η_min + (lr₀ − η_min) · (1 + cos(π·t / t_max)) / 2`. Past `t_max` the cosine goes on,
/// back up, as PyTorch's does.
///
/// ```
/// use shendu_nn::optim::{CosineAnnealingLr, LrSchedule};
/// let s = CosineAnnealingLr::new(10, 0.0);
/// assert_eq!(s.lr(0.1, 0), 0.1);
/// assert!((s.lr(0.1, 5) - 0.05).abs() < 1e-15);
/// assert_eq!(s.lr(0.1, 10), 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealingLr {
    t_max: u64,
    eta_min: f64,
}

impl CosineAnnealingLr {
    /// From the initial rate down to `eta_min` (finite, ≥ 0) in `t_max` (> 0) steps.
    #[track_caller]
    pub fn new(t_max: u64, eta_min: f64) -> Self {
        if t_max == 0 {
            fail("CosineAnnealingLr", "t_max must be > 0");
        }
        if !(eta_min >= 0.0 && eta_min.is_finite()) {
            fail(
                "CosineAnnealingLr",
                format!("eta_min {eta_min} is not a finite number ≥ 0"),
            );
        }
        CosineAnnealingLr { t_max, eta_min }
    }
}

impl LrSchedule for CosineAnnealingLr {
    fn lr(&self, initial_lr: f64, step: u64) -> f64 {
        let phase = std::f64::consts::PI * step as f64 / self.t_max as f64;
        self.eta_min + (initial_lr - self.eta_min) * (1.0 + phase.cos()) / 2.0
    }
}

/// A linear warm-up over `warmup_steps` steps, from `start_factor · lr₀` to `lr₀`, then another
/// schedule whose step count starts at 0 when the warm-up ends:
///
/// ```text
/// lr = lr₀ · (s + (1 − s) · t / w)        for t < w   (start factor s, warm-up steps w)
/// lr = then(lr₀, t − w)                   for t ≥ w
/// ```
///
/// With `then` left as [`ConstantLr`] this is PyTorch's `LinearLR(start_factor=s,
/// total_iters=w)`; with another schedule it is `SequentialLR([LinearLR(..), then],
/// milestones=[w])`. The start factor defaults to 0 (the rate grows from 0, as Hugging Face's
/// `get_linear_schedule_with_warmup`; PyTorch's `LinearLR` needs s > 0 and defaults to 1/3).
///
/// ```
/// use shendu_nn::optim::{CosineAnnealingLr, LinearWarmup, LrSchedule};
/// let s = LinearWarmup::new(4).then(CosineAnnealingLr::new(8, 0.0));
/// assert_eq!([0, 1, 2, 4, 12].map(|t| s.lr(0.1, t)), [0.0, 0.025, 0.05, 0.1, 0.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearWarmup<S: LrSchedule = ConstantLr> {
    warmup_steps: u64,
    start_factor: f64,
    then: S,
}

impl LinearWarmup {
    /// A warm-up from 0 to the initial rate over `warmup_steps` (> 0) steps, constant after.
    #[track_caller]
    pub fn new(warmup_steps: u64) -> Self {
        if warmup_steps == 0 {
            fail("LinearWarmup", "warmup_steps must be > 0");
        }
        LinearWarmup {
            warmup_steps,
            start_factor: 0.0,
            then: ConstantLr,
        }
    }
}

impl<S: LrSchedule> LinearWarmup<S> {
    /// Starting from `start_factor` (in [0, 1]) times the initial rate.
    #[track_caller]
    pub fn start_factor(mut self, start_factor: f64) -> Self {
        if !(0.0..=1.0).contains(&start_factor) {
            fail(
                "LinearWarmup",
                format!("start_factor {start_factor} is not in [0, 1]"),
            );
        }
        self.start_factor = start_factor;
        self
    }

    /// Followed by `then`, whose step count starts at 0 when the warm-up ends.
    pub fn then<S2: LrSchedule>(self, then: S2) -> LinearWarmup<S2> {
        LinearWarmup {
            warmup_steps: self.warmup_steps,
            start_factor: self.start_factor,
            then,
        }
    }
}

impl<S: LrSchedule> LrSchedule for LinearWarmup<S> {
    fn lr(&self, initial_lr: f64, step: u64) -> f64 {
        if step < self.warmup_steps {
            let s = self.start_factor;
            initial_lr * (s + (1.0 - s) * step as f64 / self.warmup_steps as f64)
        } else {
            self.then.lr(initial_lr, step - self.warmup_steps)
        }
    }
}

#[track_caller]
fn check_gamma(what: &str, gamma: f64) {
    if !(gamma >= 0.0 && gamma.is_finite()) {
        fail(what, format!("gamma {gamma} is not a finite number ≥ 0"));
    }
}

/// Drives a schedule: counts scheduler steps and sets the learning rate of every parameter
/// group of an optimizer from the group's `initial_lr`, as PyTorch's `LRScheduler`. Whether a
/// step is a batch or an epoch is the caller's choice.
///
/// ```
/// use shendu_nn::optim::{CosineAnnealingLr, LinearWarmup, LrScheduler};
/// use shendu_nn::{Adam, Optimizer};
///
/// let mut opt = Adam::<f32>::new(1e-3);
/// // Sets the rate of step 0 at once, as PyTorch's constructor does.
/// let mut sched = LrScheduler::new(LinearWarmup::new(10).then(CosineAnnealingLr::new(90, 0.0)), &mut opt);
/// assert_eq!(opt.param_groups()[0].lr, 0.0);
/// for _ in 0..10 {
///     // ... opt.step(&mut model, &grads) for each batch of the epoch ...
///     sched.step(&mut opt);
/// }
/// assert_eq!(opt.param_groups()[0].lr, 1e-3);
/// assert_eq!(sched.step_count(), 10);
/// ```
#[derive(Clone, Debug)]
pub struct LrScheduler<S: LrSchedule> {
    schedule: S,
    step: u64,
}

impl<S: LrSchedule> LrScheduler<S> {
    /// A scheduler at step 0, which sets `opt`'s rates to the schedule's rates of step 0.
    pub fn new<T: Element, O: Optimizer<T> + ?Sized>(schedule: S, opt: &mut O) -> Self {
        let scheduler = LrScheduler { schedule, step: 0 };
        scheduler.apply(opt);
        scheduler
    }

    /// Counts one step and sets `opt`'s rates to the schedule's rates of the new count.
    pub fn step<T: Element, O: Optimizer<T> + ?Sized>(&mut self, opt: &mut O) {
        self.step += 1;
        self.apply(opt);
    }

    /// The number of steps taken.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Moves to step `step` (resuming a run) and sets `opt`'s rates for it.
    pub fn set_step_count<T: Element, O: Optimizer<T> + ?Sized>(&mut self, step: u64, opt: &mut O) {
        self.step = step;
        self.apply(opt);
    }

    /// Records the step count in `state` (the optimizer's state dict, to save them together),
    /// as the scalar `scheduler.step`.
    pub fn save_state<T: Element>(&self, state: &mut StateDict<T>) {
        state.insert_u64("scheduler.step", self.step);
    }

    /// Resumes at the step count saved by [`save_state`](Self::save_state) and sets `opt`'s
    /// rates for it.
    ///
    /// # Errors
    /// `state` has no `scheduler.step`, or it is not an integer; then nothing changes.
    pub fn load_state<T: Element, O: Optimizer<T> + ?Sized>(
        &mut self,
        state: &StateDict<T>,
        opt: &mut O,
    ) -> Result<(), CheckpointError> {
        let step = state.u64("scheduler.step")?;
        self.set_step_count(step, opt);
        Ok(())
    }

    /// The schedule.
    pub fn schedule(&self) -> &S {
        &self.schedule
    }

    /// Sets the rate of each group of `opt` to the schedule's rate at the current count.
    fn apply<T: Element, O: Optimizer<T> + ?Sized>(&self, opt: &mut O) {
        for group in opt.param_groups_mut() {
            group.lr = self.schedule.lr(group.initial_lr, self.step);
        }
    }
}
