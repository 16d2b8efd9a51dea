//! Losses over classes: cross-entropy on logits and the negative log-likelihood on
//! log-probabilities, both against class indices (`Indices`, as a data loader yields them),
//! with PyTorch's class weights and label smoothing.

use shendu_autograd::Var;
use shendu_tensor::{Element, Indices, Tensor};

use super::Reduction;
use crate::check::fail;

/// Cross-entropy of `logits` `[batch, classes]` against class indices `labels` `[batch]`,
/// averaged over the batch: −ln softmax(z)ᵢ,ₗᵢ, from a log-softmax that is stable for any
/// finite logits.
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::loss;
/// use shendu_tensor::{Indices, Tensor};
/// let tape = Tape::<f64>::new();
/// let logits = tape.var(Tensor::from_vec(vec![0.0, 0.0, 1e4, -1e4], [2, 2]));
/// let labels = Indices::from_vec(vec![1, 0], [2]);
/// let l = loss::cross_entropy(&logits, &labels);
/// assert_eq!(l.item(), 2f64.ln() / 2.0);                // ln 2 for the tie, 0 for the sure row
/// // d/dz = (softmax(z) − one_hot(label)) / batch
/// let expected = Tensor::from_vec(vec![0.25, -0.25, 0.0, 0.0], [2, 2]);
/// assert!(l.backward()[&logits].allclose(&expected, 1e-15, 1e-15));
/// ```
#[track_caller]
pub fn cross_entropy<T: Element>(logits: &Var<T>, labels: &Indices) -> Var<T> {
    CrossEntropy::new().loss(logits, labels)
}

/// Cross-entropy on logits, configured, as `torch.nn.CrossEntropyLoss(weight, label_smoothing)`.
///
/// With class weights w and label smoothing ε over C classes, the term of sample i with label
/// lᵢ is (1 − ε)·w_lᵢ·(−ln pᵢ,ₗᵢ) + (ε/C)·Σ_c w_c·(−ln pᵢ,c), and the mean divides the sum of
/// terms by Σᵢ w_lᵢ (the batch size when there are no weights), exactly as PyTorch does.
#[derive(Clone, Debug)]
pub struct CrossEntropy<T: Element = f32> {
    class_weights: Option<Tensor<T>>,
    label_smoothing: f64,
    reduction: Reduction,
}

impl<T: Element> Default for CrossEntropy<T> {
    fn default() -> Self {
        CrossEntropy {
            class_weights: None,
            label_smoothing: 0.0,
            reduction: Reduction::Mean,
        }
    }
}

impl<T: Element> CrossEntropy<T> {
    /// No weights, no smoothing, the mean: as [`cross_entropy`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A weight for each class, shape `[classes]`, scaling that class's terms (for unbalanced
    /// classes); the mean becomes the weighted mean.
    pub fn class_weights(self, weights: Tensor<T>) -> Self {
        CrossEntropy {
            class_weights: Some(weights),
            ..self
        }
    }

    /// Label smoothing ε in [0, 1]: the target puts 1 − ε + ε/C on the label and ε/C on every
    /// other class.
    #[track_caller]
    pub fn label_smoothing(self, epsilon: f64) -> Self {
        if !(0.0..=1.0).contains(&epsilon) {
            fail(
                "CrossEntropy::label_smoothing",
                format!("epsilon must lie in [0, 1], not {epsilon}"),
            );
        }
        CrossEntropy {
            label_smoothing: epsilon,
            ..self
        }
    }

    /// How the per-sample terms are combined.
    pub fn reduction(self, reduction: Reduction) -> Self {
        CrossEntropy { reduction, ..self }
    }

    /// The loss of `logits` `[batch, classes]` against `labels` `[batch]`.
    #[track_caller]
    pub fn loss(&self, logits: &Var<T>, labels: &Indices) -> Var<T> {
        let weights = check_classes("cross_entropy", logits, labels, self.class_weights.as_ref());
        let log_p = logits.log_softmax(1);
        let nll = weighted_nll(&log_p, labels, weights.as_ref(), self.reduction);
        let epsilon = self.label_smoothing;
        if epsilon == 0.0 {
            return nll;
        }
        // −Σ_c w_c·ln p_c for each sample, reduced with the same denominator as the nll.
        let smooth = match &weights {
            Some((w, _)) => (&log_p * &log_p.constant(w.clone())).sum(1, false),
            None => log_p.sum(1, false),
        }
        .neg();
        let smooth = match (self.reduction, &weights) {
            (Reduction::Mean, Some((_, total))) => {
                &smooth.sum_all() / &smooth.constant(Tensor::scalar(*total))
            }
            (reduction, _) => reduction.reduce(&smooth),
        };
        let classes = logits.shape()[1] as f64;
        &nll.mul_scalar(T::from_f64_lossy(1.0 - epsilon))
            + &smooth.mul_scalar(T::from_f64_lossy(epsilon / classes))
    }
}

/// Negative log-likelihood of `log_probabilities` `[batch, classes]` (a log-softmax's output)
/// against class indices `labels` `[batch]`, averaged: −ln pᵢ,ₗᵢ.
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::loss;
/// use shendu_tensor::{Indices, Tensor};
/// let tape = Tape::<f64>::new();
/// let log_p = tape.var(Tensor::from_vec(vec![-0.5, -1.0, -2.0, -0.25], [2, 2]));
/// let labels = Indices::from_vec(vec![0, 1], [2]);
/// assert_eq!(loss::nll(&log_p, &labels).item(), 0.375);
/// ```
#[track_caller]
pub fn nll<T: Element>(log_probabilities: &Var<T>, labels: &Indices) -> Var<T> {
    Nll::new().loss(log_probabilities, labels)
}

/// Negative log-likelihood, configured, as `torch.nn.NLLLoss(weight)`: the term of sample i is
/// −w_lᵢ·ln pᵢ,ₗᵢ, and the mean divides their sum by Σᵢ w_lᵢ.
#[derive(Clone, Debug)]
pub struct Nll<T: Element = f32> {
    class_weights: Option<Tensor<T>>,
    reduction: Reduction,
}

impl<T: Element> Default for Nll<T> {
    fn default() -> Self {
        Nll {
            class_weights: None,
            reduction: Reduction::Mean,
        }
    }
}

impl<T: Element> Nll<T> {
    /// No weights, the mean: as [`nll`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A weight for each class, shape `[classes]`; the mean becomes the weighted mean.
    pub fn class_weights(self, weights: Tensor<T>) -> Self {
        Nll {
            class_weights: Some(weights),
            ..self
        }
    }

    /// How the per-sample terms are combined.
    pub fn reduction(self, reduction: Reduction) -> Self {
        Nll { reduction, ..self }
    }

    /// The loss of `log_probabilities` `[batch, classes]` against `labels` `[batch]`.
    #[track_caller]
    pub fn loss(&self, log_probabilities: &Var<T>, labels: &Indices) -> Var<T> {
        let weights = check_classes(
            "nll",
            log_probabilities,
            labels,
            self.class_weights.as_ref(),
        );
        weighted_nll(log_probabilities, labels, weights.as_ref(), self.reduction)
    }
}

/// Checks the shapes of a class loss and returns the class weights as a `[1, classes]` row with
/// the sum of the labels' weights, Σᵢ w_lᵢ.
#[track_caller]
fn check_classes<T: Element>(
    what: &str,
    scores: &Var<T>,
    labels: &Indices,
    weights: Option<&Tensor<T>>,
) -> Option<(Tensor<T>, T)> {
    let shape = scores.shape();
    if shape.len() != 2 || labels.shape() != [shape[0]] {
        fail(
            what,
            format!(
                "scores of shape {shape:?} and labels of shape {:?} do not match; expected \
                 scores [batch, classes] and labels [batch]",
                labels.shape()
            ),
        );
    }
    let classes = shape[1];
    if let Some((at, &label)) = labels
        .as_slice()
        .iter()
        .enumerate()
        .find(|&(_, &l)| l >= classes)
    {
        fail(
            what,
            format!(
                "label {label} at position {at} is out of range for scores of shape {shape:?} \
                 ({classes} classes)"
            ),
        );
    }
    // Not `Option::map`: a closure would lose the caller's line.
    let w = weights?;
    if w.shape() != [classes] {
        fail(
            what,
            format!(
                "class weights of shape {:?} do not match scores of shape {shape:?}; \
                 expected [{classes}]",
                w.shape()
            ),
        );
    }
    let total = w.gather(0, labels).sum_all().item();
    Some((w.reshape([1, classes]), total))
}

/// The reduced −w_lᵢ·sᵢ,ₗᵢ of scores `s` (log-probabilities) at each sample's label.
#[track_caller]
fn weighted_nll<T: Element>(
    log_p: &Var<T>,
    labels: &Indices,
    weights: Option<&(Tensor<T>, T)>,
    reduction: Reduction,
) -> Var<T> {
    let picked = log_p.gather(1, &labels.unsqueeze(1)).neg();
    match weights {
        None => reduction.reduce(&picked),
        Some((w, total)) => {
            let per_sample = w.reshape([w.numel()]).gather(0, labels).unsqueeze(1);
            let weighted = (&picked * &log_p.constant(per_sample)).sum_all();
            match reduction {
                Reduction::Mean => &weighted / &weighted.constant(Tensor::scalar(*total)),
                Reduction::Sum => weighted,
            }
        }
    }
}
