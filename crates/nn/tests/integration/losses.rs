//! Losses: values and gradients against PyTorch in f64 (edges included) from a fixture made by
//! `fixtures/losses/make_reference.py`, gradients of every loss and option against finite
//! differences, and errors that name the loss, the shapes and this file's line.

use crate::common;

use common::panic_message;

use rand::{rngs::StdRng, SeedableRng};
use shendu_autograd::{gradcheck, gradgradcheck, Tape, Var};
use shendu_nn::loss::{self, Reduction};
use shendu_nn::{Activation, Mlp, Module, Param};
use shendu_tensor::{Indices, Tensor};

/// One PyTorch computation: inputs, loss value, and gradient for the first input.
pub struct Case {
    name: &'static str,
    loss: &'static str,
    reduction: &'static str,
    param: f64,
    shape: &'static [usize],
    output: &'static [f64],
    target: &'static [f64],
    labels: &'static [usize],
    weights: &'static [f64],
    value: f64,
    grad: &'static [f64],
}

include!("../fixtures/losses/reference.rs");

fn reduction(name: &str) -> Reduction {
    match name {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        other => panic!("unknown reduction {other}"),
    }
}

/// Our loss for a fixture case, with `x` as the first input.
fn our_loss(case: &Case, x: &Var<f64>) -> Var<f64> {
    let red = reduction(case.reduction);
    let target = || x.constant(Tensor::from_vec(case.target.to_vec(), case.shape));
    let labels = Indices::from_vec(case.labels.to_vec(), [case.labels.len()]);
    let weights = (!case.weights.is_empty())
        .then(|| Tensor::from_vec(case.weights.to_vec(), [case.weights.len()]));
    match case.loss {
        "mse" => loss::Mse::new().reduction(red).loss(x, &target()),
        "l1" => loss::L1::new().reduction(red).loss(x, &target()),
        "half_squared_error" => loss::HalfSquaredError::new()
            .reduction(red)
            .loss(x, &target()),
        "smooth_l1" => loss::SmoothL1::new()
            .beta(case.param)
            .reduction(red)
            .loss(x, &target()),
        "huber" => loss::Huber::new()
            .delta(case.param)
            .reduction(red)
            .loss(x, &target()),
        "bce" => loss::Bce::new().reduction(red).loss(x, &target()),
        "bce_with_logits" => loss::BceWithLogits::new().reduction(red).loss(x, &target()),
        "cross_entropy" => {
            let mut ce = loss::CrossEntropy::new()
                .label_smoothing(case.param)
                .reduction(red);
            if let Some(w) = weights {
                ce = ce.class_weights(w);
            }
            ce.loss(x, &labels)
        }
        "nll" => {
            let mut nll = loss::Nll::new().reduction(red);
            if let Some(w) = weights {
                nll = nll.class_weights(w);
            }
            nll.loss(x, &labels)
        }
        other => panic!("no loss {other}"),
    }
}

/// Equal within 1e-12 relative (plus a small absolute slack for values near 0), NaN matching
/// NaN and infinities matching exactly.
fn close(ours: f64, torch: f64) -> bool {
    if torch.is_nan() || ours.is_nan() || torch.is_infinite() {
        return ours.to_bits() == torch.to_bits() || (ours.is_nan() && torch.is_nan());
    }
    (ours - torch).abs() <= 1e-12 * torch.abs() + 1e-14
}

#[test]
fn values_and_gradients_match_pytorch_in_f64() {
    let mut failures = Vec::new();
    for case in CASES {
        let tape = Tape::<f64>::new();
        let x = tape.var(Tensor::from_vec(case.output.to_vec(), case.shape));
        let l = our_loss(case, &x);
        if !close(l.item(), case.value) {
            failures.push(format!(
                "{}: value {} vs PyTorch {}",
                case.name,
                l.item(),
                case.value
            ));
        }
        let grad = l.backward()[&x].to_vec();
        // Where bce's floor at −100 holds, PyTorch's gradient is its own formula, not the
        // derivative of the value (see `Bce`); that edge case is checked below instead.
        if case.name.starts_with("bce edges") {
            continue;
        }
        for (i, (&ours, &torch)) in grad.iter().zip(case.grad).enumerate() {
            if !close(ours, torch) {
                failures.push(format!(
                    "{}: gradient[{i}] {ours} vs PyTorch {torch}",
                    case.name
                ));
            }
        }
    }
    assert!(CASES.len() > 60, "the fixture lost its cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bce_floors_the_log_and_keeps_the_gradient_finite_at_0_and_1() {
    let tape = Tape::<f64>::new();
    let p = tape.var(Tensor::from_vec(vec![0.0, 1.0, 0.0, 1.0, 0.25], [5]));
    let t = tape.constant(Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0], [5]));
    let l = loss::Bce::new().reduction(Reduction::Sum).loss(&p, &t);
    assert_eq!(l.item(), 200.0 + 4f64.ln());
    let g = l.backward()[&p].to_vec();
    // Flat where the floor holds; −1/p for the last.
    assert_eq!(g, vec![0.0, 0.0, 1.0, -1.0, -4.0]);
}

#[test]
fn nan_propagates_through_every_loss() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(vec![0.5, f64::NAN], [1, 2]));
    let t = tape.constant(Tensor::from_vec(vec![0.0, 1.0], [1, 2]));
    let labels = Indices::from_vec(vec![0], [1]);
    let losses = [
        loss::mse(&x, &t),
        loss::half_squared_error(&x, &t),
        loss::l1(&x, &t),
        loss::smooth_l1(&x, &t),
        loss::huber(&x, &t),
        loss::bce(&x, &t),
        loss::bce_with_logits(&x, &t),
        loss::cross_entropy(&x, &labels),
        loss::nll(&x.log_softmax(1), &labels),
    ];
    for (i, l) in losses.iter().enumerate() {
        assert!(l.item().is_nan(), "loss {i} gave {}", l.item());
    }
}

#[test]
fn bce_with_logits_is_exact_and_its_gradient_finite_for_huge_logits_in_f32() {
    let tape = Tape::<f32>::new();
    let z = tape.var(Tensor::from_vec(
        vec![1e4, -1e4, 1e4, -1e4, 3e38, -3e38],
        [6],
    ));
    let t = tape.constant(Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0], [6]));
    let l = loss::BceWithLogits::new()
        .reduction(Reduction::Sum)
        .loss(&z, &t);
    assert_eq!(l.item(), 2e4);
    let g = l.backward()[&z].to_vec();
    assert_eq!(g, vec![0.0, 0.0, 1.0, -1.0, 0.0, 0.0]);
}

#[test]
fn cross_entropy_is_stable_for_huge_logits_in_f32() {
    let tape = Tape::<f32>::new();
    let logits = tape.var(Tensor::from_vec(
        vec![1e4, -1e4, 0.0, 1e38, -1e38, 0.0],
        [2, 3],
    ));
    let labels = Indices::from_vec(vec![0, 1], [2]);
    let l = loss::CrossEntropy::new()
        .reduction(Reduction::Sum)
        .loss(&logits, &labels);
    assert_eq!(l.item(), 2e38);
    let g = l.backward()[&logits].to_vec();
    assert_eq!(g, vec![0.0, 0.0, 0.0, 1.0, -1.0, 0.0]);
}

fn uniform(shape: &[usize], lo: f64, hi: f64, seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(shape, lo, hi, &mut StdRng::seed_from_u64(seed))
}

/// Checks first and second derivatives of a loss of two inputs, both differentiated.
fn check_pair(
    name: &str,
    f: impl Fn(&Var<f64>, &Var<f64>) -> Var<f64>,
    a: Tensor<f64>,
    b: Tensor<f64>,
) {
    let inputs = [a, b];
    gradcheck(|v| f(&v[0], &v[1]), &inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
    gradgradcheck(|v| f(&v[0], &v[1]), &inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
}

#[test]
fn regression_losses_pass_gradcheck_for_both_inputs_and_reductions() {
    let (o, t) = (
        uniform(&[3, 4], -3.0, 3.0, 1),
        uniform(&[3, 4], -1.0, 1.0, 2),
    );
    for red in [Reduction::Mean, Reduction::Sum] {
        check_pair(
            "mse",
            |a, b| loss::Mse::new().reduction(red).loss(a, b),
            o.clone(),
            t.clone(),
        );
        check_pair(
            "half_squared_error",
            |a, b| loss::HalfSquaredError::new().reduction(red).loss(a, b),
            o.clone(),
            t.clone(),
        );
        check_pair(
            "l1",
            |a, b| loss::L1::new().reduction(red).loss(a, b),
            o.clone(),
            t.clone(),
        );
        for beta in [0.0, 0.7, 1.0, 2.0] {
            check_pair(
                "smooth_l1",
                |a, b| loss::SmoothL1::new().beta(beta).reduction(red).loss(a, b),
                o.clone(),
                t.clone(),
            );
        }
        for delta in [0.3, 1.0, 2.5] {
            check_pair(
                "huber",
                |a, b| loss::Huber::new().delta(delta).reduction(red).loss(a, b),
                o.clone(),
                t.clone(),
            );
        }
    }
}

#[test]
fn binary_losses_pass_gradcheck_for_both_inputs_and_reductions() {
    let p = uniform(&[3, 4], 0.05, 0.95, 3);
    let soft = uniform(&[3, 4], 0.0, 1.0, 4);
    // Logits from −30 to 30, and around the point where the two forms of the loss meet.
    let mut z = uniform(&[3, 4], -30.0, 30.0, 5).to_vec();
    z[..4].copy_from_slice(&[0.0, 1e-3, -1e-3, 0.5]);
    let z = Tensor::from_vec(z, [3, 4]);
    for red in [Reduction::Mean, Reduction::Sum] {
        check_pair(
            "bce",
            |a, b| loss::Bce::new().reduction(red).loss(a, b),
            p.clone(),
            soft.clone(),
        );
        check_pair(
            "bce_with_logits",
            |a, b| loss::BceWithLogits::new().reduction(red).loss(a, b),
            z.clone(),
            soft.clone(),
        );
    }
}

#[test]
fn class_losses_pass_gradcheck_with_weights_smoothing_and_reductions() {
    let logits = uniform(&[5, 4], -4.0, 4.0, 6);
    let labels = Indices::from_vec(vec![3, 0, 1, 3, 2], [5]);
    let weights = Tensor::from_vec(vec![0.5, 2.0, 1.0, 0.25], [4]);
    for red in [Reduction::Mean, Reduction::Sum] {
        for eps in [0.0, 0.1, 1.0] {
            for weighted in [false, true] {
                let mut ce = loss::CrossEntropy::new()
                    .label_smoothing(eps)
                    .reduction(red);
                let mut nll = loss::Nll::new().reduction(red);
                if weighted {
                    ce = ce.class_weights(weights.clone());
                    nll = nll.class_weights(weights.clone());
                }
                let inputs = [logits.clone()];
                let what = format!("cross_entropy {red:?} eps={eps} weighted={weighted}");
                gradcheck(|v| ce.loss(&v[0], &labels), &inputs)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                gradgradcheck(|v| ce.loss(&v[0], &labels), &inputs)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                gradcheck(|v| nll.loss(&v[0].log_softmax(1), &labels), &inputs)
                    .unwrap_or_else(|e| panic!("nll {what}: {e}"));
            }
        }
    }
}

/// A model with two weights and two biases, its parameters as f64.
fn model() -> Mlp<f64> {
    Mlp::new(&[3, 4, 2], Activation::Tanh, &mut StdRng::seed_from_u64(9))
}

/// The penalty's gradient for every parameter against central differences of its value.
fn check_penalty(name: &str, penalty: impl Fn(&Tape<f64>, &Mlp<f64>) -> Var<f64>) {
    let mut model = model();
    let (_, grads) = model.value_and_grad(|tape, m| penalty(tape, m));
    let value = |m: &Mlp<f64>| penalty(&Tape::new(), m).item();
    let mut entries = Vec::new();
    model.visit(&mut shendu_nn::Visit::new(&mut |name, entry| {
        if let shendu_nn::Entry::Param(p) = entry {
            entries.push((name.to_string(), p.id(), p.value().numel()));
        }
    }));
    assert_eq!(entries.len(), 4);
    for (param_name, id, numel) in entries {
        let Some(grad) = grads.param(id) else {
            assert!(
                !loss::is_weight(&param_name),
                "{name}: no gradient for {param_name}"
            );
            continue;
        };
        assert!(
            loss::is_weight(&param_name),
            "{name}: a gradient for the bias {param_name}"
        );
        let grad = grad.to_vec();
        for i in 0..numel {
            let eps = 1e-6;
            let mut shifted = |delta: f64| {
                let mut found = None;
                model.visit_mut(&mut shendu_nn::VisitMut::new(&mut |_, entry| {
                    if let shendu_nn::EntryMut::Param(p) = entry
                        && p.id() == id
                    {
                        let mut v = p.value().to_vec();
                        v[i] += delta;
                        let shape = p.value().shape().to_vec();
                        p.set(Tensor::from_vec(v, shape));
                        found = Some(());
                    }
                }));
                found.expect("parameter present");
                let value = value(&model);
                model.visit_mut(&mut shendu_nn::VisitMut::new(&mut |_, entry| {
                    if let shendu_nn::EntryMut::Param(p) = entry
                        && p.id() == id
                    {
                        let mut v = p.value().to_vec();
                        v[i] -= delta;
                        let shape = p.value().shape().to_vec();
                        p.set(Tensor::from_vec(v, shape));
                    }
                }));
                value
            };
            let numeric = (shifted(eps) - shifted(-eps)) / (2.0 * eps);
            assert!(
                (grad[i] - numeric).abs() < 1e-6,
                "{name}: {param_name}[{i}]: tape {} vs finite differences {numeric}",
                grad[i]
            );
        }
    }
}

#[test]
fn penalties_differentiate_over_weights_and_leave_biases_out() {
    check_penalty("l1_penalty", |tape, m| loss::l1_penalty(tape, m));
    check_penalty("l2_penalty", |tape, m| loss::l2_penalty(tape, m));
    // A bias, however large, adds nothing.
    let mut m = model();
    let before = loss::l2_penalty(&Tape::new(), &m).item();
    m.visit_mut(&mut shendu_nn::VisitMut::new(&mut |name, entry| {
        if let shendu_nn::EntryMut::Param(p) = entry
            && name.ends_with("bias")
        {
            p.set(Tensor::full(p.value().shape(), 1e3));
        }
    }));
    assert_eq!(loss::l2_penalty(&Tape::new(), &m).item(), before);
    assert!(before > 0.0);
}

#[test]
fn a_model_without_weights_has_no_penalty() {
    let tape = Tape::<f64>::new();
    assert_eq!(loss::l2_penalty(&tape, &Activation::Tanh).item(), 0.0);
    let lonely = Param::new(Tensor::from_vec(vec![3.0f64], [1]));
    let tape = Tape::new();
    assert_eq!(
        (&lonely.on(&tape) * &loss::l1_penalty(&tape, &Activation::Relu)).item(),
        0.0
    );
}

#[test]
fn shape_mismatches_name_the_loss_both_shapes_and_the_callers_line() {
    let tape = Tape::<f32>::new();
    let a = tape.var(Tensor::zeros([2, 3]));
    let b = tape.constant(Tensor::zeros([3, 2]));
    let expect = |name: &str, message: String, line: u32| {
        assert_eq!(
            message,
            format!(
                "{name}: output of shape [2, 3] and target of shape [3, 2] differ; a loss \
                 compares them element by element and does not broadcast (at {}:{line})",
                file!()
            )
        )
    };
    let line = line!() + 1;
    let message = panic_message(|| loss::mse(&a, &b));
    expect("mse", message, line);
    let line = line!() + 1;
    let message = panic_message(|| loss::half_squared_error(&a, &b));
    expect("half_squared_error", message, line);
    let line = line!() + 1;
    let message = panic_message(|| loss::l1(&a, &b));
    expect("l1", message, line);
    let line = line!() + 1;
    let message = panic_message(|| loss::smooth_l1(&a, &b));
    expect("smooth_l1", message, line);
    let line = line!() + 1;
    let message = panic_message(|| loss::huber(&a, &b));
    expect("huber", message, line);
    let line = line!() + 1;
    let message = panic_message(|| loss::bce(&a, &b));
    expect("bce", message, line);
    let line = line!() + 1;
    let message = panic_message(|| loss::bce_with_logits(&a, &b));
    expect("bce_with_logits", message, line);
    let labels = Indices::from_vec(vec![0, 1, 2], [3]);
    let line = line!() + 1;
    let message = panic_message(|| loss::cross_entropy(&a, &labels));
    assert_eq!(
        message,
        format!(
            "cross_entropy: scores of shape [2, 3] and labels of shape [3] do not match; \
             expected scores [batch, classes] and labels [batch] (at {}:{line})",
            file!()
        )
    );
    let labels = Indices::from_vec(vec![0, 3], [2]);
    let line = line!() + 1;
    let message = panic_message(|| loss::nll(&a, &labels));
    assert_eq!(
        message,
        format!(
            "nll: label 3 at position 1 is out of range for scores of shape [2, 3] (3 classes) \
             (at {}:{line})",
            file!()
        )
    );
    let ce = loss::CrossEntropy::new().class_weights(Tensor::ones([2]));
    let labels = Indices::from_vec(vec![0, 1], [2]);
    let line = line!() + 1;
    let message = panic_message(|| ce.loss(&a, &labels));
    assert!(
        message.starts_with(
            "cross_entropy: class weights of shape [2] do not match scores of shape [2, 3]"
        ),
        "{message}"
    );
    assert!(
        message.ends_with(&format!("(at {}:{line})", file!())),
        "{message}"
    );
}

#[test]
fn bad_arguments_panic_naming_the_function_and_value() {
    let tape = Tape::<f64>::new();
    let p = tape.var(Tensor::from_vec(vec![0.5, 1.5], [2]));
    let t = tape.constant(Tensor::zeros([2]));
    let line = line!() + 1;
    let message = panic_message(|| loss::bce(&p, &t));
    assert_eq!(
        message,
        format!(
            "bce: probabilities must lie in [0, 1], but element 1 (row-major) of the output of \
             shape [2] is 1.5; apply a sigmoid, or use bce_with_logits (at {}:{line})",
            file!()
        )
    );
    let message = panic_message(|| loss::Huber::new().delta(0.0));
    assert!(
        message.starts_with("Huber::delta: delta must be finite and > 0, not 0"),
        "{message}"
    );
    let message = panic_message(|| loss::SmoothL1::new().beta(-1.0));
    assert!(
        message.starts_with("SmoothL1::beta: beta must be finite and ≥ 0, not -1"),
        "{message}"
    );
    let message = panic_message(|| loss::CrossEntropy::<f64>::new().label_smoothing(1.5));
    assert!(
        message.starts_with("CrossEntropy::label_smoothing: epsilon must lie in [0, 1], not 1.5"),
        "{message}"
    );
}
