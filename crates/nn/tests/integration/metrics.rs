//! Metrics on tensors: accuracy for class indices, ±1 and 0/1 targets (ties, NaN, empty
//! batches), the confusion matrix (counts, recall, precision, its table), the running mean, and
//! errors naming the metric, the shapes and this file's line.

use crate::common;

use common::panic_message;

use rand::{rngs::StdRng, SeedableRng};
use shendu_nn::metrics::{self, ConfusionMatrix, RunningMean};
use shendu_tensor::{Indices, Tensor};

fn at(line: u32) -> String {
    format!("(at {}:{line})", file!())
}

#[test]
fn accuracy_takes_the_first_largest_logit_and_a_nan_as_largest() {
    let logits = Tensor::from_vec(
        vec![
            1.0f64,
            1.0,
            0.0, // tie: class 0
            0.0,
            2.0,
            1.0, // class 1
            f64::NAN,
            5.0,
            1.0, // NaN counts as the largest: class 0
            0.0,
            0.0,
            9.0, // class 2
        ],
        [4, 3],
    );
    let labels = Indices::from_vec(vec![0, 1, 0, 1], [4]);
    assert_eq!(metrics::accuracy(&logits, &labels), 0.75);
    let none = Tensor::<f32>::zeros([0, 3]);
    assert!(metrics::accuracy(&none, &Indices::from_vec(vec![], [0])).is_nan());
}

#[test]
fn sign_and_binary_accuracies_put_the_threshold_on_the_positive_side() {
    let outputs = Tensor::from_vec(vec![0.0f32, -0.0, -1e-30, 1e-30, f32::NAN, 0.9], [6]);
    let pm = Tensor::from_vec(vec![1.0, 1.0, -1.0, 1.0, 1.0, -1.0], [6]);
    assert_eq!(metrics::sign_accuracy(&outputs, &pm), 4.0 / 6.0);
    let p = Tensor::from_vec(vec![0.5f64, 0.4999, 0.0, 1.0, f64::NAN], [5]);
    let t = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 0.0], [5]);
    assert_eq!(metrics::binary_accuracy(&p, &t), 0.8);
}

#[test]
fn accuracy_on_logits_agrees_with_accuracy_on_their_sigmoid() {
    let mut rng = StdRng::seed_from_u64(3);
    let z = Tensor::<f64>::rand_normal([200], 0.0, 3.0, &mut rng);
    let t = Tensor::<f64>::rand_uniform([200], 0.0, 1.0, &mut rng).map(|u| u.round());
    let on_logits = metrics::binary_accuracy_with_logits(&z, &t);
    assert_eq!(on_logits, metrics::binary_accuracy(&z.sigmoid(), &t));
    assert!(on_logits > 0.3 && on_logits < 0.7, "{on_logits}");
    // Flipping every target flips every verdict.
    let flipped = t.map(|v| 1.0 - v);
    let on_flipped = metrics::binary_accuracy_with_logits(&z, &flipped);
    assert!(
        (on_flipped + on_logits - 1.0).abs() < 1e-15,
        "{on_flipped} + {on_logits}"
    );
}

#[test]
fn accuracies_name_the_metric_the_shapes_and_the_callers_line() {
    let logits = Tensor::<f32>::zeros([4, 3]);
    let line = line!() + 1;
    let message = panic_message(|| metrics::accuracy(&logits, &Indices::from_vec(vec![0; 3], [3])));
    assert_eq!(
        message,
        format!(
            "accuracy: logits of shape [4, 3] and labels of shape [3] do not match; expected \
             logits [batch, classes] (classes ≥ 1) and labels [batch] {}",
            at(line)
        )
    );
    let labels = Indices::from_vec(vec![0, 1, 3, 2], [4]);
    let line = line!() + 1;
    let message = panic_message(|| metrics::accuracy(&logits, &labels));
    assert_eq!(
        message,
        format!(
            "accuracy: label 3 at position 2 is not one of the 3 classes {}",
            at(line)
        )
    );
    let (a, b) = (Tensor::<f64>::zeros([2, 1]), Tensor::<f64>::zeros([2]));
    let line = line!() + 1;
    let message = panic_message(|| metrics::binary_accuracy(&a, &b));
    assert_eq!(
        message,
        format!(
            "binary_accuracy: outputs of shape [2, 1] and targets of shape [2] differ {}",
            at(line)
        )
    );
    let line = line!() + 1;
    let message = panic_message(|| metrics::sign_accuracy(&a, &a));
    assert_eq!(
        message,
        format!(
            "sign_accuracy: targets must be -1 or 1, but element 0 (row-major) is 0 {}",
            at(line)
        )
    );
}

#[test]
fn confusion_matrix_counts_actual_by_predicted() {
    let mut cm = ConfusionMatrix::new(3);
    let logits = Tensor::from_vec(
        vec![
            5.0f32, 0.0, 0.0, // predicts 0
            0.0, 5.0, 0.0, // 1
            0.0, 5.0, 0.0, // 1
            0.0, 0.0, 5.0, // 2
            5.0, 0.0, 0.0, // 0
            5.0, 0.0, 0.0, // 0
        ],
        [6, 3],
    );
    let labels = Indices::from_vec(vec![0, 1, 2, 2, 0, 1], [6]);
    cm.add_logits(&logits, &labels);
    assert_eq!(cm.counts(), &[2, 0, 0, 1, 1, 0, 0, 1, 1]);
    assert_eq!((cm.count(2, 1), cm.count(1, 0), cm.total()), (1, 1, 6));
    assert_eq!(cm.accuracy(), metrics::accuracy(&logits, &labels));
    assert_eq!(cm.accuracy(), 4.0 / 6.0);
    assert_eq!([cm.recall(0), cm.recall(1), cm.recall(2)], [1.0, 0.5, 0.5]);
    assert_eq!(
        [cm.precision(0), cm.precision(1), cm.precision(2)],
        [2.0 / 3.0, 0.5, 1.0]
    );
    // A second batch adds to the first.
    let more = Indices::from_vec(vec![2, 2], [2]);
    cm.add(&more, &more);
    assert_eq!((cm.count(2, 2), cm.total(), cm.recall(2)), (3, 8, 0.75));
    cm.reset();
    assert_eq!(cm.total(), 0);
    assert!(cm.accuracy().is_nan() && cm.recall(0).is_nan() && cm.precision(0).is_nan());
}

#[test]
fn confusion_matrix_prints_a_table_with_recall_and_precision() {
    let mut cm = ConfusionMatrix::new(3);
    let predicted = Indices::from_vec(vec![0, 0, 0, 1, 1, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2], [15]);
    let actual = Indices::from_vec(vec![0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 1], [15]);
    cm.add(&predicted, &actual);
    let expected = "\
actual \\ predicted      0      1      2 | recall
                 0      3      0      0 | 100.0%
                 1      1      2      1 |  50.0%
                 2      0      0      8 | 100.0%
         precision  75.0% 100.0%  88.9% | accuracy 86.7% of 15";
    assert_eq!(cm.to_string(), expected);
    // A class never predicted or never seen shows '-' for its undefined fraction.
    let empty = ConfusionMatrix::new(2);
    assert!(empty
        .to_string()
        .ends_with("precision      -      - | accuracy - of 0"));
}

#[test]
fn confusion_matrix_errors_name_the_method_and_the_callers_line() {
    let line = line!() + 1;
    let message = panic_message(|| ConfusionMatrix::new(0));
    assert_eq!(
        message,
        format!(
            "ConfusionMatrix::new: a confusion matrix needs at least 1 class {}",
            at(line)
        )
    );
    let mut cm = ConfusionMatrix::new(2);
    let (p, a) = (
        Indices::from_vec(vec![0, 1], [2]),
        Indices::from_vec(vec![0, 1, 1], [3]),
    );
    let line = line!() + 1;
    let message = panic_message(|| cm.add(&p, &a));
    assert_eq!(
        message,
        format!(
            "ConfusionMatrix::add: predictions of shape [2] and labels of shape [3] differ {}",
            at(line)
        )
    );
    let bad = Indices::from_vec(vec![0, 2], [2]);
    let line = line!() + 1;
    let message = panic_message(|| cm.add(&p, &bad));
    assert_eq!(
        message,
        format!(
            "ConfusionMatrix::add: label 2 at position 1 is not one of the 2 classes {}",
            at(line)
        )
    );
    let line = line!() + 1;
    let message = panic_message(|| cm.recall(5));
    assert_eq!(
        message,
        format!(
            "ConfusionMatrix::recall: class 5 is not one of the 2 classes {}",
            at(line)
        )
    );
}

#[test]
fn running_mean_weights_values_by_their_counts() {
    let mut mean = RunningMean::new();
    assert!(mean.mean().is_nan());
    for (value, count) in [(1.0f32, 10.0), (4.0, 30.0), (100.0, 0.0)] {
        mean.add(value, count);
    }
    assert_eq!(mean.mean(), (10.0 + 120.0) / 40.0);
    assert_eq!(mean.weight(), 40.0);
    mean.add(f64::NAN, 1.0);
    assert!(mean.mean().is_nan());
    mean.reset();
    mean.add(2.5f64, 1.0);
    assert_eq!((mean.mean(), mean.weight()), (2.5, 1.0));
    let line = line!() + 1;
    let message = panic_message(|| mean.add(1.0f64, -1.0));
    assert_eq!(
        message,
        format!(
            "RunningMean::add: a weight must be finite and ≥ 0, not -1 {}",
            at(line)
        )
    );
}
