//! Programming errors panic with the op, the shapes and the caller's line; anomaly mode names
//! the first NaN or infinity, in the forward pass or in a gradient.

use crate::common;

use common::{assert_mentions, at, panic_message};
use shendu_autograd::{CustomOp, Tape, Var};
use shendu_tensor::Tensor;

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape)
}

#[test]
fn anomaly_mode_names_a_nan_in_the_forward_pass() {
    let tape = Tape::new();
    tape.detect_anomaly(true);
    let x = tape.var(t(&[1.0, 2.0, -3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let line = line!() + 1;
    let message = panic_message(|| x.ln());
    assert_mentions(
        &message,
        &[
            "anomaly",
            "ln",
            "NaN",
            "[2, 3]",
            "forward",
            &at(file!(), line),
        ],
    );
}

#[test]
fn anomaly_mode_names_an_infinity_that_arises_only_in_the_backward_pass() {
    // √x at 0 is finite, its derivative 1/(2√x) is not.
    let tape = Tape::new();
    tape.detect_anomaly(true);
    let x = tape.var(t(&[0.0, 4.0], &[2]));
    let line = line!() + 1;
    let y = x.sqrt();
    assert_eq!(y.value().to_vec(), vec![0.0, 2.0]);
    let s = y.sum_all();
    let message = panic_message(|| s.backward());
    assert_mentions(
        &message,
        &["anomaly", "sqrt", "backward", "[2]", &at(file!(), line)],
    );
    // The tape records again after the panic in the sweep.
    assert!(x.exp().is_tracked());
}

#[test]
fn anomaly_mode_names_a_custom_op() {
    struct Log;
    impl CustomOp<f64> for Log {
        fn name(&self) -> &str {
            "my_log"
        }
        fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
            inputs[0].ln()
        }
        fn backward(
            &self,
            inputs: &[Var<f64>],
            _output: &Var<f64>,
            grad: &Var<f64>,
        ) -> Vec<Option<Var<f64>>> {
            vec![Some(grad / &inputs[0])]
        }
    }
    let tape = Tape::new();
    tape.detect_anomaly(true);
    let x = tape.var(t(&[-1.0], &[1]));
    let line = line!() + 1;
    let message = panic_message(|| Var::custom(Log, &[&x]));
    assert_mentions(&message, &["anomaly", "my_log", &at(file!(), line)]);
}

#[test]
fn without_anomaly_mode_nan_and_infinity_pass_silently() {
    let tape = Tape::new();
    let x = tape.var(t(&[-1.0, 0.0, 4.0], &[3]));
    let y = x.ln().sum_all();
    assert!(y.value().item().is_nan());
    let g = y.backward()[&x].to_vec();
    assert_eq!(g[0], -1.0);
    assert!(g[1].is_infinite());
    let s = x.sqrt().sum_all();
    let g = s.backward()[&x].to_vec();
    assert!(g[0].is_nan() && g[1].is_infinite() && g[2] == 0.25, "{g:?}");

    // Switching anomaly mode off again restores the silence.
    tape.detect_anomaly(true);
    tape.detect_anomaly(false);
    assert!(x.ln().value().to_vec()[0].is_nan());
}

#[test]
fn a_shape_mismatch_in_add_names_the_op_both_shapes_and_the_line() {
    let tape = Tape::new();
    let a = tape.var(Tensor::<f64>::ones([2, 3]));
    let b = tape.var(Tensor::<f64>::ones([4]));
    let line = line!() + 1;
    let message = panic_message(|| &a + &b);
    assert_mentions(&message, &["add", "[2, 3]", "[4]", &at(file!(), line)]);
    // The method form reports the same line.
    let line = line!() + 1;
    let message = panic_message(|| a.add(&b));
    assert_mentions(&message, &["add", "[2, 3]", "[4]", &at(file!(), line)]);
}

#[test]
fn other_shape_errors_name_the_op_and_the_line() {
    let tape = Tape::new();
    let a = tape.var(Tensor::<f64>::ones([2, 3]));
    let b = tape.var(Tensor::<f64>::ones([4, 5]));
    let line = line!() + 1;
    let message = panic_message(|| a.matmul(&b));
    assert_mentions(
        &message,
        &["matmul", "[2, 3]", "[4, 5]", &at(file!(), line)],
    );

    let line = line!() + 1;
    let message = panic_message(|| a.sum(5, false));
    assert_mentions(&message, &["sum", "axis 5", &at(file!(), line)]);

    let line = line!() + 1;
    let message = panic_message(|| a.reshape([4, 2]));
    assert_mentions(
        &message,
        &["reshape", "[2, 3]", "[4, 2]", &at(file!(), line)],
    );

    let line = line!() + 1;
    let message = panic_message(|| &a * &b);
    assert_mentions(&message, &["mul", "[2, 3]", "[4, 5]", &at(file!(), line)]);
}

#[test]
fn vars_of_two_tapes_cannot_be_combined() {
    let first = Tape::new();
    let second = Tape::new();
    let x = first.var(t(&[1.0, 2.0], &[2]));
    let y = second.var(t(&[3.0, 4.0], &[2]));
    let line = line!() + 1;
    let message = panic_message(|| &x + &y);
    assert_mentions(&message, &["add", "different tapes", &at(file!(), line)]);

    // With broadcasting on the way.
    let z = second.var(t(&[3.0], &[1]));
    let line = line!() + 1;
    let message = panic_message(|| &x * &z);
    assert_mentions(&message, &["mul", "different tapes", &at(file!(), line)]);

    let m = second.var(t(&[1.0, 0.0, 0.0, 1.0], &[2, 2]));
    let line = line!() + 1;
    let message = panic_message(|| m.matmul(&x));
    assert_mentions(&message, &["different tapes", &at(file!(), line)]);

    let line = line!() + 1;
    let message = panic_message(|| Var::concat(&[&x, &y], 0));
    assert_mentions(&message, &["concat", "different tapes", &at(file!(), line)]);

    // A constant of the other tape is refused as well.
    let c = second.constant(t(&[1.0, 1.0], &[2]));
    let message = panic_message(|| &x - &c);
    assert_mentions(&message, &["sub", "different tapes"]);
}

#[test]
fn grad_graph_of_a_non_scalar_names_grad_graph_with() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0], &[2]));
    let y = x.square();
    let line = line!() + 1;
    let message = panic_message(|| y.grad_graph(&[&x]));
    assert_mentions(&message, &["grad_graph_with", "[2]", &at(file!(), line)]);
}

#[test]
fn a_custom_op_without_inputs_panics_with_its_name() {
    struct Nothing;
    impl CustomOp<f64> for Nothing {
        fn name(&self) -> &str {
            "nothing"
        }
        fn forward(&self, _inputs: &[&Tensor<f64>]) -> Tensor<f64> {
            Tensor::zeros([1])
        }
        fn backward(&self, _: &[Var<f64>], _: &Var<f64>, _: &Var<f64>) -> Vec<Option<Var<f64>>> {
            vec![]
        }
    }
    let line = line!() + 1;
    let message = panic_message(|| Var::custom(Nothing, &[]));
    assert_mentions(
        &message,
        &["nothing", "at least one input", &at(file!(), line)],
    );
}

#[test]
fn hvp_and_jvp_reject_a_direction_of_another_shape() {
    // A v of shape [3] or [] against x of shape [3, 1] used to broadcast and give another product.
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0, 3.0], &[3, 1]));
    let y = x.powf(3.0).sum_all();
    for v in [t(&[1.0, 0.0, 0.0], &[3]), Tensor::scalar(1.0)] {
        let v_shape = format!("{:?}", v.shape());
        let line = line!() + 1;
        let message = panic_message(|| y.hvp(&x, &v));
        assert_mentions(&message, &["hvp", &v_shape, "[3, 1]", &at(file!(), line)]);
        let line = line!() + 1;
        let message = panic_message(|| x.square().jvp(&x, &v));
        assert_mentions(&message, &["jvp", &v_shape, "[3, 1]", &at(file!(), line)]);
    }
    // The right shape still works: ∇²(Σx³)·v = 6x ⊙ v.
    let v = t(&[1.0, 0.0, 1.0], &[3, 1]);
    assert_eq!(y.hvp(&x, &v).to_vec(), vec![6.0, 0.0, 18.0]);
}

#[test]
fn grad_graph_rejects_a_var_of_another_tape() {
    // It used to return dy/da for a `b` of another tape.
    let (tape_a, tape_b) = (Tape::new(), Tape::new());
    let a = tape_a.var(t(&[1.0, 2.0], &[2]));
    let b = tape_b.var(t(&[1.0, 2.0], &[2]));
    let y = a.square().sum_all();
    let line = line!() + 1;
    let message = panic_message(|| y.grad_graph(&[&a, &b]));
    assert_mentions(
        &message,
        &["grad_graph", "wrt[1]", "another tape", &at(file!(), line)],
    );
}

#[test]
fn gradcheck_without_inputs_names_the_callers_line() {
    let line = line!() + 1;
    let message = panic_message(|| shendu_autograd::gradcheck(|_| unreachable!(), &[]));
    assert_mentions(&message, &["gradcheck", "no inputs", &at(file!(), line)]);
    let line = line!() + 1;
    let message = panic_message(|| shendu_autograd::gradgradcheck(|_| unreachable!(), &[]));
    assert_mentions(
        &message,
        &["gradgradcheck", "no inputs", &at(file!(), line)],
    );
}

#[test]
fn select_out_of_range_names_select() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]));
    let line = line!() + 1;
    let message = panic_message(|| x.select(1, 2));
    assert_mentions(
        &message,
        &["select", "index 2", "size 2", &at(file!(), line)],
    );
}

#[test]
fn a_parameter_enters_a_tape_with_one_value() {
    let tape = Tape::new();
    let id = shendu_autograd::ParamId::new();
    let w = t(&[1.0, 2.0], &[2]);
    let _leaf = tape.param(id, &w);
    let line = line!() + 1;
    let message = panic_message(|| tape.param(id, &t(&[1.0, 2.0], &[2])));
    assert_mentions(
        &message,
        &["param", "already on this tape", &at(file!(), line)],
    );
    // On a tape it never entered, the parameter has no gradient.
    let other = Tape::new();
    let grads = other.var(t(&[1.0], &[1])).sum_all().backward();
    let line = line!() + 1;
    let message = panic_message(|| grads[id].clone());
    assert_mentions(
        &message,
        &["no gradient", "did not enter", &at(file!(), line)],
    );
}

#[test]
fn linear_names_the_op_the_shapes_and_the_line() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::ones([5, 3]));
    let w = tape.var(Tensor::<f64>::ones([4, 2]));
    let line = line!() + 1;
    let message = panic_message(|| x.linear(&w, None));
    assert_mentions(
        &message,
        &["linear", "[5, 3]", "[4, 2]", &at(file!(), line)],
    );

    let w = tape.var(Tensor::<f64>::ones([4, 3]));
    let b = tape.var(Tensor::<f64>::ones([3]));
    let line = line!() + 1;
    let message = panic_message(|| x.linear(&w, Some(&b)));
    assert_mentions(
        &message,
        &["linear", "bias", "[3]", "[4]", &at(file!(), line)],
    );

    let scalar = tape.var(Tensor::<f64>::scalar(1.0));
    let line = line!() + 1;
    let message = panic_message(|| scalar.linear(&w, None));
    assert_mentions(&message, &["linear", "[]", "[4, 3]", &at(file!(), line)]);

    // The fused layer names itself, through the path for inputs of rank 3 too.
    let x3 = tape.var(Tensor::<f64>::ones([2, 5, 3]));
    let line = line!() + 1;
    let message = panic_message(|| x3.linear_relu(&w, Some(&b)));
    assert_mentions(
        &message,
        &["linear_relu", "bias", "[3]", "[4]", &at(file!(), line)],
    );
    let w = tape.var(Tensor::<f64>::ones([4, 2]));
    let line = line!() + 1;
    let message = panic_message(|| x.linear_relu(&w, None));
    assert_mentions(
        &message,
        &["linear_relu", "[5, 3]", "[4, 2]", &at(file!(), line)],
    );
}
