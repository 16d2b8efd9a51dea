//! User-defined ops through `CustomOp`, and proof that `gradcheck` and `gradgradcheck` can fail:
//! ops with deliberately wrong gradient rules must be caught, with a report that names the
//! input, the element and both values.

use crate::common;

use common::{assert_close, assert_mentions, at, panic_message};
use shendu_autograd::{gradcheck, gradgradcheck, CustomOp, GradcheckError, Tape, Var};
use shendu_tensor::Tensor;

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape)
}

/// swish(x) = x·σ(x); swish'(x) = σ(x) + x·σ(x)(1 − σ(x)).
struct Swish;

impl CustomOp<f64> for Swish {
    fn name(&self) -> &str {
        "swish"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].mul(&inputs[0].sigmoid())
    }
    fn backward(
        &self,
        inputs: &[Var<f64>],
        _output: &Var<f64>,
        grad: &Var<f64>,
    ) -> Vec<Option<Var<f64>>> {
        let x = &inputs[0];
        let s = x.sigmoid();
        let slope = &s + &(&(x * &s) * &(-&s).add_scalar(1.0));
        vec![Some(grad * &slope)]
    }
}

fn swish(xs: &[Var<f64>]) -> Var<f64> {
    Var::custom(Swish, &[&xs[0]])
}

#[test]
fn a_custom_swish_passes_gradcheck_and_gradgradcheck() {
    let x = t(&[-2.0, -0.5, 0.0, 0.7, 3.0, 1.3], &[2, 3]);
    gradcheck(swish, std::slice::from_ref(&x)).unwrap();
    gradgradcheck(swish, &[x]).unwrap();
}

#[test]
fn a_custom_swish_records_one_node_with_hand_checked_values() {
    let tape = Tape::new();
    let x = tape.var(t(&[0.0, 2.0], &[2]));
    let y = Var::custom(Swish, &[&x]);
    assert_eq!(tape.len(), 2);
    assert!(tape.to_dot().contains("swish [2]"));
    // swish(0) = 0, swish'(0) = σ(0) = 1/2; swish(2) = 2σ(2), swish'(2) = σ(2)(1 + 2(1 − σ(2))).
    let s2 = 1.0 / (1.0 + (-2.0f64).exp());
    assert_close(&y.value().to_vec(), &[0.0, 2.0 * s2], 1e-15, 1e-15);
    let grads = y.sum_all().backward();
    assert_close(
        &grads[&x].to_vec(),
        &[0.5, s2 * (1.0 + 2.0 * (1.0 - s2))],
        1e-15,
        1e-14,
    );
}

/// a ⊙ b whose gradient for `b` is off by 10·g at one element (flat index 2 of a [2, 2] b).
struct MulWrongAtOneElement;

impl CustomOp<f64> for MulWrongAtOneElement {
    fn name(&self) -> &str {
        "mul_wrong"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].mul(inputs[1])
    }
    fn backward(
        &self,
        inputs: &[Var<f64>],
        _output: &Var<f64>,
        grad: &Var<f64>,
    ) -> Vec<Option<Var<f64>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let bump = grad.constant(t(&[0.0, 0.0, 10.0, 0.0], &[2, 2]));
        vec![Some(grad * b), Some(&(grad * a) + &(grad * &bump))]
    }
}

#[test]
fn gradcheck_reports_the_input_element_and_both_values_of_a_wrong_gradient() {
    let a = t(&[1.5, -2.0, 0.75, 3.0], &[2, 2]);
    let b = t(&[0.5, 1.0, -1.0, 2.0], &[2, 2]);
    let f = |xs: &[Var<f64>]| Var::custom(MulWrongAtOneElement, &[&xs[0], &xs[1]]);
    let error: GradcheckError = gradcheck(f, &[a, b]).unwrap_err();
    assert_eq!(error.order, 1);
    assert_eq!(error.input, 1);
    assert_eq!(error.index, vec![1, 0]);
    assert_eq!(error.mismatches, 1);
    // With the projection r: numeric = r·a[1, 0] and analytic = numeric + 10·r, whatever r is.
    assert_close(
        &[(error.analytic - error.numeric) / error.numeric],
        &[10.0 / 0.75],
        1e-6,
        1e-6,
    );

    let shown = error.to_string();
    assert_mentions(
        &shown,
        &[
            "input 1",
            "index [1, 0]",
            &format!("{:e}", error.analytic),
            &format!("{:e}", error.numeric),
        ],
    );
}

/// sin, whose gradient rule wrongly uses sin instead of cos.
struct SinWithWrongGradient;

impl CustomOp<f64> for SinWithWrongGradient {
    fn name(&self) -> &str {
        "bad_sin"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].sin()
    }
    fn backward(
        &self,
        inputs: &[Var<f64>],
        _output: &Var<f64>,
        grad: &Var<f64>,
    ) -> Vec<Option<Var<f64>>> {
        vec![Some(grad * &inputs[0].sin())]
    }
}

#[test]
fn gradcheck_catches_a_wrong_gradient_rule() {
    let x = t(&[0.3, -1.1, 2.0, 0.9, -0.4], &[5]);
    let error = gradcheck(
        |xs: &[Var<f64>]| Var::custom(SinWithWrongGradient, &[&xs[0]]),
        std::slice::from_ref(&x),
    )
    .unwrap_err();
    assert_eq!(error.order, 1);
    assert_eq!(error.input, 0);
    // sin and cos differ at every one of these points.
    assert_eq!(error.mismatches, 5);
    assert!(
        error.to_string().starts_with("gradient mismatch"),
        "{error}"
    );
    // The correct built-in passes at the same points, so the failure is the rule's fault.
    gradcheck(|xs: &[Var<f64>]| xs[0].sin(), &[x]).unwrap();
}

/// x²/2 with a gradient rule g·x that is right to first order but detaches x, so its own
/// derivative (the second derivative of the op) is lost.
struct HalfSquareDetached;

impl CustomOp<f64> for HalfSquareDetached {
    fn name(&self) -> &str {
        "half_square"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].square().map(|v| v * 0.5)
    }
    fn backward(
        &self,
        inputs: &[Var<f64>],
        _output: &Var<f64>,
        grad: &Var<f64>,
    ) -> Vec<Option<Var<f64>>> {
        vec![Some(grad * &inputs[0].detach())]
    }
}

#[test]
fn gradgradcheck_catches_a_rule_that_is_not_differentiable_again() {
    let x = t(&[0.5, -1.5, 2.0], &[3]);
    let f = |xs: &[Var<f64>]| Var::custom(HalfSquareDetached, &[&xs[0]]);
    gradcheck(f, std::slice::from_ref(&x)).unwrap();
    let error = gradgradcheck(f, &[x]).unwrap_err();
    assert_eq!(error.order, 2);
    assert_eq!(error.input, 0);
    assert!(
        error
            .to_string()
            .starts_with("second-order gradient mismatch"),
        "{error}"
    );
}

/// Two inputs, but a rule that returns one gradient.
struct TooFewGradients;

impl CustomOp<f64> for TooFewGradients {
    fn name(&self) -> &str {
        "too_few"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].add(inputs[1])
    }
    fn backward(
        &self,
        _inputs: &[Var<f64>],
        _output: &Var<f64>,
        grad: &Var<f64>,
    ) -> Vec<Option<Var<f64>>> {
        vec![Some(grad.clone())]
    }
}

#[test]
fn a_rule_with_the_wrong_number_of_gradients_panics_with_the_op_name() {
    let tape = Tape::new();
    let a = tape.var(t(&[1.0], &[1]));
    let b = tape.var(t(&[2.0], &[1]));
    let line = line!() + 1;
    let y = Var::custom(TooFewGradients, &[&a, &b]).sum_all();
    let message = panic_message(|| y.backward());
    // The line named is the one that applied the op, where the user can look.
    assert_mentions(
        &message,
        &["too_few", "1 gradients for 2 inputs", &at(file!(), line)],
    );
}

/// a·b with no gradient for the second input (treated like a constant by its rule).
struct ScaleBy;

impl CustomOp<f64> for ScaleBy {
    fn name(&self) -> &str {
        "scale_by"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].mul(inputs[1])
    }
    fn backward(
        &self,
        inputs: &[Var<f64>],
        _output: &Var<f64>,
        grad: &Var<f64>,
    ) -> Vec<Option<Var<f64>>> {
        vec![Some(grad * &inputs[1]), None]
    }
}

#[test]
fn a_custom_op_may_leave_an_input_without_gradient() {
    let tape = Tape::new();
    let a = tape.var(t(&[1.0, 2.0], &[2]));
    let b = tape.var(t(&[3.0, 4.0], &[2]));
    let grads = Var::custom(ScaleBy, &[&a, &b]).sum_all().backward();
    assert_eq!(grads[&a].to_vec(), vec![3.0, 4.0]);
    assert_eq!(grads[&b].to_vec(), vec![0.0, 0.0]);
}
