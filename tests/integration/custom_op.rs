//! The checks of `examples/custom_op.rs`, run as tests: its op (Mish) passes them, and they fail,
//! naming the smallest failing input, on a Mish whose gradient rule is wrong, to first order or
//! only to second. The example's file is included as a module so that the op and the checks
//! exist once.

#[path = "../../examples/custom_op.rs"]
#[allow(dead_code)]
mod custom_op_example;

use custom_op_example::{check_fixed_points, check_op, mish, property_test, Mish};
use shendu::prelude::*;

/// Mish with a wrong rule, in one of two ways.
enum WrongMish {
    /// The rule drops the term x·(1 − w²)·σ(x) of mish'(x): a wrong first derivative.
    MissingTerm,
    /// The right slope, computed from a detached x: right first derivative, but the slope no
    /// longer depends on x, so the second derivative is lost.
    DetachedSlope,
}

impl CustomOp<f64> for WrongMish {
    fn name(&self) -> &str {
        "wrong mish"
    }

    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        CustomOp::<f64>::forward(&Mish, inputs)
    }

    fn backward(
        &self,
        inputs: &[Var<f64>],
        output: &Var<f64>,
        grad: &Var<f64>,
    ) -> Vec<Option<Var<f64>>> {
        match self {
            WrongMish::MissingTerm => vec![Some(grad * &inputs[0].softplus().tanh())],
            WrongMish::DetachedSlope => Mish.backward(&[inputs[0].detach()], output, grad),
        }
    }
}

fn missing_term(x: &Var<f64>) -> Var<f64> {
    Var::custom(WrongMish::MissingTerm, &[x])
}

fn detached_slope(x: &Var<f64>) -> Var<f64> {
    Var::custom(WrongMish::DetachedSlope, &[x])
}

#[test]
fn mish_passes_the_examples_checks() {
    assert_eq!(check_op(mish, 64), Ok(()));
}

#[test]
fn a_wrong_first_derivative_fails_both_checks() {
    let fixed = check_fixed_points(missing_term).unwrap_err();
    assert!(fixed.starts_with("gradcheck: "), "{fixed}");
    let property = property_test(missing_term, 64).unwrap_err();
    assert!(
        property.contains("gradcheck: gradient mismatch"),
        "{property}"
    );
    // Shrunk to one element: a scalar tensor prints without a shape.
    assert!(
        property.contains("smallest failing input: tensor(") && !property.contains("shape="),
        "{property}"
    );
}

#[test]
fn a_wrong_second_derivative_fails_gradgradcheck_only() {
    let fixed = check_fixed_points(detached_slope).unwrap_err();
    assert!(fixed.starts_with("gradgradcheck: "), "{fixed}");
    let property = property_test(detached_slope, 64).unwrap_err();
    assert!(
        property.contains("gradgradcheck: second-order gradient mismatch"),
        "{property}"
    );
}
