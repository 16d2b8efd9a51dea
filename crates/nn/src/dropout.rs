//! `Dropout`: in training, each element is zeroed with probability p and the survivors are
//! scaled by 1/(1 − p), as `torch.nn.Dropout`; in evaluation, the identity.
//!
//! The mask is a constant on the tape, multiplied in, so the gradient is the tape's multiply's.
//! Its randomness is a function of a seed and of how many masks the layer has drawn, not of a
//! shared RNG or of the thread that runs it: see [`Dropout`] for why.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shendu_autograd::Var;
use shendu_tensor::{Element, Tensor};

use crate::check::fail;
use crate::module::{Forward, Module, Visit, VisitMut};

/// Zeroes each element with probability `p` in training and scales the rest by 1/(1 − p):
/// y = x ⊙ m / (1 − p), mᵢ ~ Bernoulli(1 − p); y = x in evaluation mode.
///
/// **Randomness.** The layer holds a seed and a count of the masks it has drawn. Mask number k
/// is drawn, element by element in row-major order on the calling thread, from a ChaCha
/// generator keyed by (seed, k) alone. So:
/// - the same seed gives the same masks whatever the number of rayon threads;
/// - masks do not depend on what else the program draws from its own RNGs, nor on the order in
///   which two dropout layers run;
/// - a run resumed from a checkpoint reproduces the masks it would have drawn if it had saved
///   [`masks_drawn`](Dropout::masks_drawn) and restores it with
///   [`set_masks_drawn`](Dropout::set_masks_drawn). The count is not a state_dict entry,
///   because PyTorch's `Dropout` has none and a model file must load in PyTorch as it is.
///
/// `forward` takes `&self`, as every layer's does, so the count is an atomic; two threads
/// running one layer at once each get a distinct mask, in an order the scheduler picks.
///
/// As PyTorch: p = 0 is the identity; p = 1 gives x · 0 (zeros, NaN where x is NaN or
/// infinite); a p outside [0, 1] panics.
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::{Dropout, Forward, Module};
/// use shendu_tensor::Tensor;
///
/// let mut dropout = Dropout::with_seed(0.5, 42);
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::ones([1000]));
/// let y = dropout.forward(&x);
/// // Survivors are scaled by 1/(1 − p) = 2, the rest are zero.
/// assert!(y.to_vec().iter().all(|&v| v == 0.0 || v == 2.0));
/// let kept = y.to_vec().iter().filter(|&&v| v == 2.0).count();
/// assert!((400..600).contains(&kept));
/// // The gradient flows through the mask: 2 where kept, 0 where dropped.
/// assert_eq!(y.sum_all().backward()[&x].to_vec(), y.to_vec());
///
/// dropout.eval();
/// assert_eq!(dropout.forward(&x).to_vec(), x.to_vec());
/// ```
#[derive(Debug)]
pub struct Dropout<T: Element = f32> {
    p: f64,
    seed: u64,
    masks_drawn: AtomicU64,
    training: bool,
    /// The element type of the masks; a `fn` so that the layer is `Send` and `Sync` for any `T`.
    element: PhantomData<fn() -> T>,
}

impl<T: Element> Dropout<T> {
    /// A dropout layer with probability `p`, its seed drawn from `rng`.
    #[track_caller]
    pub fn new(p: f64, rng: &mut impl Rng) -> Self {
        Self::with_seed(p, rng.random())
    }

    /// A dropout layer with probability `p` and an explicit `seed`.
    ///
    /// # Panics
    /// Unless 0 ≤ p ≤ 1.
    #[track_caller]
    pub fn with_seed(p: f64, seed: u64) -> Self {
        if !(0.0..=1.0).contains(&p) {
            fail(
                &format!("Dropout(p = {p})"),
                format!("the probability must be between 0 and 1, got {p}"),
            );
        }
        Dropout {
            p,
            seed,
            masks_drawn: AtomicU64::new(0),
            training: true,
            element: PhantomData,
        }
    }

    /// The probability of zeroing an element.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The seed the masks are drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// How many masks this layer has drawn: the position of its random stream, to save with a
    /// training checkpoint.
    pub fn masks_drawn(&self) -> u64 {
        self.masks_drawn.load(Ordering::Relaxed)
    }

    /// Moves the random stream to mask number `count`: restoring a checkpoint, so that the next
    /// masks are those the saved run would have drawn.
    pub fn set_masks_drawn(&mut self, count: u64) {
        *self.masks_drawn.get_mut() = count;
    }

    /// Whether the layer is in training mode (dropping) or evaluation mode (the identity).
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// The mask for `shape`, with 0 where dropped and 1/(1 − p) where kept: mask number
    /// `masks_drawn`, which is then counted.
    fn next_mask(&self, shape: &[usize]) -> Tensor<T> {
        let k = self.masks_drawn.fetch_add(1, Ordering::Relaxed);
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.seed.to_le_bytes());
        key[8..16].copy_from_slice(&k.to_le_bytes());
        let mut rng = StdRng::from_seed(key);
        let numel = shape.iter().product();
        // p = 1 keeps nothing: a zero mask, not 0 · (1/0).
        let scale = if self.p < 1.0 {
            T::from_f64_lossy(1.0 / (1.0 - self.p))
        } else {
            T::zero()
        };
        // Kept when u ≥ p for u uniform in [0, 1): probability 1 − p, as Bernoulli(1 − p).
        let data = (0..numel)
            .map(|_| {
                if rng.random::<f64>() >= self.p {
                    scale
                } else {
                    T::zero()
                }
            })
            .collect();
        Tensor::from_vec(data, shape)
    }
}

impl<T: Element> Module<T> for Dropout<T> {
    fn visit(&self, _: &mut Visit<'_, T>) {}

    fn visit_mut(&mut self, _: &mut VisitMut<'_, T>) {}

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

impl<T: Element> Forward<T> for Dropout<T> {
    /// x ⊙ mask in training (a fresh mask each call), x in evaluation or for p = 0.
    #[track_caller]
    fn forward(&self, x: &Var<T>) -> Var<T> {
        if !self.training || self.p == 0.0 {
            return x.clone();
        }
        x * &x.constant(self.next_mask(x.shape()))
    }
}
