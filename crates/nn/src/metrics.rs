//! Metrics: how well a model does, on plain tensors (no tape): accuracy for class indices, ±1
//! and 0/1 targets, a confusion matrix, and a running mean to average a metric or a loss over
//! the batches of an epoch.
//!
//! A shape mismatch or a target that is not a class is a programming error and panics naming
//! the metric, the shapes and the caller's line. An accuracy over no samples is NaN (0/0), as a
//! mean of nothing is in PyTorch.

use std::fmt;

use shendu_tensor::{Element, Indices, Tensor};

use crate::check::fail;

/// The fraction of rows of `logits` `[batch, classes]` whose largest entry is at the row's
/// label (`labels` `[batch]`). Ties go to the first largest, and a NaN counts as the largest,
/// as `argmax` does.
///
/// ```
/// use shendu_nn::metrics;
/// use shendu_tensor::{Indices, Tensor};
/// let logits = Tensor::from_vec(vec![2.0f32, 1.0, 0.0, 3.0, 5.0, 4.0], [3, 2]);
/// let labels = Indices::from_vec(vec![0, 1, 1], [3]);
/// assert_eq!(metrics::accuracy(&logits, &labels), 2.0 / 3.0);
/// ```
#[track_caller]
pub fn accuracy<T: Element>(logits: &Tensor<T>, labels: &Indices) -> f64 {
    let predicted = predicted_classes("accuracy", logits, labels);
    let correct = predicted
        .as_slice()
        .iter()
        .zip(labels.as_slice())
        .filter(|(p, l)| p == l)
        .count();
    fraction(correct, labels.numel())
}

/// The fraction of `outputs` whose sign matches their ±1 target: an output ≥ 0 predicts +1, one
/// below 0 predicts −1, a NaN predicts nothing (and counts as wrong). This is how the
/// Playground's classification output (tanh, targets ±1) is read.
///
/// ```
/// use shendu_nn::metrics;
/// use shendu_tensor::Tensor;
/// let outputs = Tensor::from_vec(vec![0.3f64, -0.9, 0.0, -0.1], [4, 1]);
/// let targets = Tensor::from_vec(vec![1.0, -1.0, -1.0, 1.0], [4, 1]);
/// assert_eq!(metrics::sign_accuracy(&outputs, &targets), 0.5);
/// ```
#[track_caller]
pub fn sign_accuracy<T: Element>(outputs: &Tensor<T>, targets: &Tensor<T>) -> f64 {
    let one = T::one();
    thresholded("sign_accuracy", outputs, targets, T::zero(), -one, one)
}

/// The fraction of `probabilities` on the side of 0.5 their 0/1 target is on: p ≥ 0.5 predicts
/// 1, p < 0.5 predicts 0, NaN counts as wrong.
///
/// ```
/// use shendu_nn::metrics;
/// use shendu_tensor::Tensor;
/// let p = Tensor::from_vec(vec![0.7f32, 0.2, 0.5], [3]);
/// let targets = Tensor::from_vec(vec![1.0, 1.0, 1.0], [3]);
/// assert_eq!(metrics::binary_accuracy(&p, &targets), 2.0 / 3.0);
/// ```
#[track_caller]
pub fn binary_accuracy<T: Element>(probabilities: &Tensor<T>, targets: &Tensor<T>) -> f64 {
    let half = T::from_f64_lossy(0.5);
    thresholded(
        "binary_accuracy",
        probabilities,
        targets,
        half,
        T::zero(),
        T::one(),
    )
}

/// [`binary_accuracy`] for logits: z ≥ 0 (σ(z) ≥ 0.5) predicts 1, z < 0 predicts 0, with no
/// sigmoid to round. The pair of [`loss::bce_with_logits`](crate::loss::bce_with_logits).
///
/// ```
/// use shendu_nn::metrics;
/// use shendu_tensor::Tensor;
/// let z = Tensor::from_vec(vec![2.0f32, -1.0, 0.0], [3]);
/// let targets = Tensor::from_vec(vec![1.0, 0.0, 0.0], [3]);
/// assert_eq!(metrics::binary_accuracy_with_logits(&z, &targets), 2.0 / 3.0);
/// ```
#[track_caller]
pub fn binary_accuracy_with_logits<T: Element>(logits: &Tensor<T>, targets: &Tensor<T>) -> f64 {
    let zero = T::zero();
    thresholded(
        "binary_accuracy_with_logits",
        logits,
        targets,
        zero,
        zero,
        T::one(),
    )
}

/// `correct / total` as f64; NaN for no samples.
fn fraction(correct: usize, total: usize) -> f64 {
    correct as f64 / total as f64
}

/// Each row's argmax of `logits` `[batch, classes]`, after checking `labels` `[batch]` against it.
#[track_caller]
fn predicted_classes<T: Element>(what: &str, logits: &Tensor<T>, labels: &Indices) -> Indices {
    let shape = logits.shape();
    if shape.len() != 2 || labels.shape() != [shape[0]] || shape[1] == 0 {
        fail(
            what,
            format!(
                "logits of shape {shape:?} and labels of shape {:?} do not match; expected \
                 logits [batch, classes] (classes ≥ 1) and labels [batch]",
                labels.shape()
            ),
        );
    }
    check_labels(what, labels, shape[1]);
    logits.argmax(1, false)
}

/// Panics unless every label is below `classes`.
#[track_caller]
fn check_labels(what: &str, labels: &Indices, classes: usize) {
    let bad = labels
        .as_slice()
        .iter()
        .enumerate()
        .find(|&(_, &l)| l >= classes);
    if let Some((at, label)) = bad {
        fail(
            what,
            format!("label {label} at position {at} is not one of the {classes} classes"),
        );
    }
}

/// The fraction of `outputs` whose prediction (`high` if ≥ `threshold`, `low` if below) equals
/// the target, after checking that the targets are `low` or `high`.
#[track_caller]
fn thresholded<T: Element>(
    what: &str,
    outputs: &Tensor<T>,
    targets: &Tensor<T>,
    threshold: T,
    low: T,
    high: T,
) -> f64 {
    if outputs.shape() != targets.shape() {
        fail(
            what,
            format!(
                "outputs of shape {:?} and targets of shape {:?} differ",
                outputs.shape(),
                targets.shape()
            ),
        );
    }
    let targets = targets.to_vec();
    if let Some((at, t)) = targets
        .iter()
        .enumerate()
        .find(|&(_, &t)| t != low && t != high)
    {
        fail(
            what,
            format!("targets must be {low} or {high}, but element {at} (row-major) is {t}"),
        );
    }
    let correct = outputs
        .to_vec()
        .into_iter()
        .zip(&targets)
        .filter(|&(o, &t)| {
            if o >= threshold {
                t == high
            } else {
                o < threshold && t == low
            }
        })
        .count();
    fraction(correct, targets.len())
}

/// Counts of (actual, predicted) class pairs: row = actual class, column = predicted class.
///
/// ```
/// use shendu_nn::metrics::ConfusionMatrix;
/// use shendu_tensor::Indices;
/// let mut cm = ConfusionMatrix::new(3);
/// let predicted = Indices::from_vec(vec![0, 1, 1, 2, 0], [5]);
/// let actual = Indices::from_vec(vec![0, 1, 2, 2, 0], [5]);
/// cm.add(&predicted, &actual);
/// assert_eq!(cm.count(2, 1), 1);           // one 2 taken for a 1
/// assert_eq!(cm.accuracy(), 0.8);
/// assert_eq!(cm.recall(2), 0.5);
/// assert_eq!(cm.precision(1), 0.5);
/// println!("{cm}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    /// Row-major `[classes, classes]`, row = actual.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix over `classes` classes (at least 1).
    #[track_caller]
    pub fn new(classes: usize) -> Self {
        if classes == 0 {
            fail(
                "ConfusionMatrix::new",
                "a confusion matrix needs at least 1 class",
            );
        }
        let Some(cells) = classes.checked_mul(classes) else {
            fail(
                "ConfusionMatrix::new",
                format!("{classes} classes make too many cells"),
            );
        };
        ConfusionMatrix {
            classes,
            counts: vec![0; cells],
        }
    }

    /// Counts a batch: `predicted[i]` against `actual[i]`, both of the same shape.
    #[track_caller]
    pub fn add(&mut self, predicted: &Indices, actual: &Indices) {
        if predicted.shape() != actual.shape() {
            fail(
                "ConfusionMatrix::add",
                format!(
                    "predictions of shape {:?} and labels of shape {:?} differ",
                    predicted.shape(),
                    actual.shape()
                ),
            );
        }
        check_labels("ConfusionMatrix::add", predicted, self.classes);
        check_labels("ConfusionMatrix::add", actual, self.classes);
        for (&p, &a) in predicted.as_slice().iter().zip(actual.as_slice()) {
            self.counts[a * self.classes + p] += 1;
        }
    }

    /// Counts a batch of `logits` `[batch, classes]`, each row predicting its argmax, against
    /// `labels` `[batch]`.
    #[track_caller]
    pub fn add_logits<T: Element>(&mut self, logits: &Tensor<T>, labels: &Indices) {
        let predicted = predicted_classes("ConfusionMatrix::add_logits", logits, labels);
        self.add(&predicted, labels);
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many samples of class `actual` were predicted as `predicted`.
    #[track_caller]
    pub fn count(&self, actual: usize, predicted: usize) -> u64 {
        if actual >= self.classes || predicted >= self.classes {
            fail(
                "ConfusionMatrix::count",
                format!(
                    "({actual}, {predicted}) is outside a {0}×{0} matrix",
                    self.classes
                ),
            );
        }
        self.counts[actual * self.classes + predicted]
    }

    /// All counts, row-major `[classes, classes]`, row = actual class.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Number of samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The fraction of samples predicted right (the diagonal over the total); NaN if empty.
    pub fn accuracy(&self) -> f64 {
        let right: u64 = (0..self.classes).map(|c| self.diagonal(c)).sum();
        right as f64 / self.total() as f64
    }

    /// Of the samples of class `class`, the fraction predicted as `class`; NaN if none.
    #[track_caller]
    pub fn recall(&self, class: usize) -> f64 {
        self.check_class("ConfusionMatrix::recall", class);
        let row: u64 = self.counts[class * self.classes..][..self.classes]
            .iter()
            .sum();
        self.diagonal(class) as f64 / row as f64
    }

    /// Of the samples predicted as `class`, the fraction that are `class`; NaN if none.
    #[track_caller]
    pub fn precision(&self, class: usize) -> f64 {
        self.check_class("ConfusionMatrix::precision", class);
        let column: u64 = (0..self.classes)
            .map(|a| self.counts[a * self.classes + class])
            .sum();
        self.diagonal(class) as f64 / column as f64
    }

    /// Sets every count back to 0.
    pub fn reset(&mut self) {
        self.counts.fill(0);
    }

    fn diagonal(&self, class: usize) -> u64 {
        self.counts[class * (self.classes + 1)]
    }

    #[track_caller]
    fn check_class(&self, what: &str, class: usize) {
        if class >= self.classes {
            fail(
                what,
                format!("class {class} is not one of the {} classes", self.classes),
            );
        }
    }
}

/// A fraction as a percentage with one decimal, or `-` for NaN (no samples).
fn percent(x: f64) -> String {
    if x.is_nan() {
        "-".to_string()
    } else {
        format!("{:.1}%", 100.0 * x)
    }
}

impl fmt::Display for ConfusionMatrix {
    /// A table with one row per actual class and one column per predicted class, each row's
    /// recall at its end and each column's precision under it:
    ///
    /// ```text
    /// actual \ predicted      0      1 | recall
    ///                  0      3      1 |  75.0%
    ///                  1      0      2 | 100.0%
    ///          precision 100.0%  66.7% | accuracy 83.3% of 6
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.classes;
        let largest = self.counts.iter().max().copied().unwrap_or(0);
        let width = largest
            .to_string()
            .len()
            .max((n - 1).to_string().len())
            .max("100.0%".len());
        let label = "actual \\ predicted";
        write!(f, "{label}")?;
        for c in 0..n {
            write!(f, " {c:>width$}")?;
        }
        writeln!(f, " | recall")?;
        for a in 0..n {
            write!(f, "{a:>w$}", w = label.len())?;
            for p in 0..n {
                write!(f, " {:>width$}", self.counts[a * n + p])?;
            }
            writeln!(f, " | {:>6}", percent(self.recall(a)))?;
        }
        write!(f, "{:>w$}", "precision", w = label.len())?;
        for p in 0..n {
            write!(f, " {:>width$}", percent(self.precision(p)))?;
        }
        write!(
            f,
            " | accuracy {} of {}",
            percent(self.accuracy()),
            self.total()
        )
    }
}

/// A weighted running mean: Σ wᵢ·xᵢ / Σ wᵢ, to average a loss or an accuracy over batches of
/// different sizes.
///
/// ```
/// use shendu_nn::metrics::RunningMean;
/// let mut loss = RunningMean::new();
/// loss.add(0.5, 32.0);     // a batch of 32 with mean loss 0.5
/// loss.add(2.0, 8.0);      // a last, smaller batch
/// assert_eq!(loss.mean(), (0.5 * 32.0 + 2.0 * 8.0) / 40.0);
/// loss.reset();
/// assert!(loss.mean().is_nan());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunningMean {
    weighted_sum: f64,
    weight: f64,
}

impl RunningMean {
    /// An empty mean.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` with weight `weight` (a count, such as a batch's size: finite and ≥ 0).
    /// A NaN value makes the mean NaN, as it would a loss.
    #[track_caller]
    pub fn add<T: Element>(&mut self, value: T, weight: f64) {
        if !(weight.is_finite() && weight >= 0.0) {
            fail(
                "RunningMean::add",
                format!("a weight must be finite and ≥ 0, not {weight}"),
            );
        }
        self.weighted_sum += value.to_f64_exact() * weight;
        self.weight += weight;
    }

    /// Σ wᵢ·xᵢ / Σ wᵢ; NaN before anything is added.
    pub fn mean(&self) -> f64 {
        self.weighted_sum / self.weight
    }

    /// Σ wᵢ, the total weight (the number of samples, when weights are counts).
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// Forgets everything added, as at the start of an epoch.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}
