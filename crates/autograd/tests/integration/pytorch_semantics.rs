//! Gradients at the edges, NaN, zero bases and kinks, against the values PyTorch gives (its
//! `derivatives.yaml` rules, worked out by hand below), where an op's doc says it follows them.

use shendu_autograd::{Tape, Var};
use shendu_tensor::Tensor;

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape)
}

/// `a` and `b` compare equal, NaN equal to NaN.
#[track_caller]
fn assert_same(a: &[f64], b: &[f64]) {
    let same = a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()));
    assert!(same, "got {a:?}, expected {b:?}");
}

#[test]
fn pow_at_a_zero_base_has_the_gradients_of_pytorch() {
    // a^b at a = 0: d/db is 0 where b ≥ 0 (PyTorch masks a·ln a's 0·(−∞)); d/da is 0 where
    // b = 0 (x⁰ is constant) and b·a^(b−1) elsewhere: 2·0 = 0 at b = 2, 1 at b = 1.
    let tape = Tape::new();
    tape.detect_anomaly(true); // ordinary code must not trip it
    let a = tape.var(t(&[0.0, 0.0, 0.0, 2.0], &[4]));
    let b = tape.var(t(&[2.0, 0.0, 1.0, 0.0], &[4]));
    let grads = a.pow(&b).sum_all().backward();
    assert_same(&grads[&a].to_vec(), &[0.0, 0.0, 1.0, 0.0]);
    assert_same(&grads[&b].to_vec(), &[0.0, 0.0, 0.0, 2f64.ln()]);
}

#[test]
fn powf_zero_and_the_second_derivative_of_powf_one_at_zero_are_zero() {
    let tape = Tape::new();
    tape.detect_anomaly(true);
    let x = tape.var(t(&[0.0, 3.0], &[2]));
    // d/dx x⁰ = 0, even at 0.
    assert_same(&x.powf(0.0).sum_all().backward()[&x].to_vec(), &[0.0, 0.0]);
    // d²/dx² x¹ = 0, even at 0 (the first derivative is 1·x⁰).
    let y = x.powf(1.0).sum_all();
    assert_same(&y.hvp(&x, &t(&[1.0, 1.0], &[2])).to_vec(), &[0.0, 0.0]);
}

#[test]
fn relu_passes_the_gradient_of_a_nan() {
    // PyTorch: threshold_backward(grad, result, 0) keeps grad unless result ≤ 0.
    let tape = Tape::new();
    let x = tape.var(t(&[f64::NAN, -1.0, 0.0, 2.0], &[4]));
    let grads = x.relu().sum_all().backward();
    assert_same(&grads[&x].to_vec(), &[1.0, 0.0, 0.0, 1.0]);
}

#[test]
fn relu_tanh_and_sigmoid_differentiate_as_pytorchs_backward_kernels() {
    // threshold_backward chooses rather than multiplies: an infinite or NaN output gradient
    // stays out where x ≤ 0, where a product with a 0/1 mask would give NaN.
    let tape = Tape::new();
    let x = tape.var(t(&[-1.0, 0.0, 2.0, -3.0], &[4]));
    let g = t(&[f64::INFINITY, f64::NAN, f64::INFINITY, f64::NAN], &[4]);
    let grads = x.relu().backward_with(&g);
    assert_same(&grads[&x].to_vec(), &[0.0, 0.0, f64::INFINITY, 0.0]);
    // tanh_backward is g·(1 − y·y) and sigmoid_backward g·(1 − y)·y, rounded in that order.
    let x = tape.var(t(&[-0.7, 0.3, 1.9, -4.1], &[4]));
    let g = [1.3, -0.2, 2.5, 0.6];
    let tanh_backward: fn(f64, f64) -> f64 = |y, g| g * (1.0 - y * y);
    let sigmoid_backward: fn(f64, f64) -> f64 = |y, g| g * (1.0 - y) * y;
    for (y, backward) in [(x.tanh(), tanh_backward), (x.sigmoid(), sigmoid_backward)] {
        let expected: Vec<f64> = y
            .value()
            .to_vec()
            .iter()
            .zip(g)
            .map(|(&y, g)| backward(y, g))
            .collect();
        let grads = y.backward_with(&t(&g, &[4]));
        assert_same(&grads[&x].to_vec(), &expected);
    }
}

#[test]
fn abs_of_a_nan_has_gradient_zero() {
    // PyTorch: grad · sgn(x), and sgn(NaN) = 0.
    let tape = Tape::new();
    let x = tape.var(t(&[f64::NAN, -2.0, 0.0, 3.0], &[4]));
    let grads = x.abs().sum_all().backward();
    assert_same(&grads[&x].to_vec(), &[0.0, -1.0, 0.0, 1.0]);
}

#[test]
fn maximum_and_minimum_with_a_nan_give_both_sides_the_gradient() {
    // PyTorch: where(a == b, g/2, g), zeroed where the side loses; NaN loses nowhere.
    let tape = Tape::new();
    let a = tape.var(t(&[f64::NAN, 1.0, 2.0, 3.0], &[4]));
    let b = tape.var(t(&[1.0, f64::NAN, 2.0, 1.0], &[4]));
    let g = t(&[1.0, 10.0, 100.0, 1000.0], &[4]);
    let grads = a.maximum(&b).backward_with(&g);
    assert_same(&grads[&a].to_vec(), &[1.0, 10.0, 50.0, 1000.0]);
    assert_same(&grads[&b].to_vec(), &[1.0, 10.0, 50.0, 0.0]);
    let grads = a.minimum(&b).backward_with(&g);
    assert_same(&grads[&a].to_vec(), &[1.0, 10.0, 50.0, 0.0]);
    assert_same(&grads[&b].to_vec(), &[1.0, 10.0, 50.0, 1000.0]);
}

#[test]
fn clamp_and_leaky_relu_at_a_nan() {
    // PyTorch: clamp passes the gradient where lo ≤ x ≤ hi (false at NaN); leaky_relu uses
    // slope where x > 0 is false (NaN included).
    let tape = Tape::new();
    let x = tape.var(t(&[f64::NAN, -1.0, 0.5], &[3]));
    let grads = x.clamp(0.0, 1.0).sum_all().backward();
    assert_same(&grads[&x].to_vec(), &[0.0, 0.0, 1.0]);
    let grads = x.leaky_relu(0.1).sum_all().backward();
    assert_same(&grads[&x].to_vec(), &[0.1, 0.1, 1.0]);
}

#[test]
fn clamp_maximum_and_minimum_choose_the_gradient_as_pytorch_does() {
    // PyTorch's clamp_backward and max/min backward select (where, masked_fill) rather than
    // multiply by a 0/1 mask: an infinite or NaN output gradient gives 0 where the input is cut
    // off or loses, and passes unchanged (halved at a tie) elsewhere.
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    let tape = Tape::new();
    let x = tape.var(t(&[-1.0, 0.5, 2.0, nan], &[4]));
    let grads = x
        .clamp(0.0, 1.0)
        .backward_with(&t(&[inf, nan, inf, inf], &[4]));
    assert_same(&grads[&x].to_vec(), &[0.0, nan, 0.0, 0.0]);
    let a = tape.var(t(&[nan, 1.0, 2.0, 3.0, 0.0], &[5]));
    let b = tape.var(t(&[1.0, nan, 2.0, 1.0, 5.0], &[5]));
    let g = t(&[inf, inf, inf, inf, nan], &[5]);
    let grads = a.maximum(&b).backward_with(&g);
    assert_same(&grads[&a].to_vec(), &[inf, inf, inf, inf, 0.0]);
    assert_same(&grads[&b].to_vec(), &[inf, inf, inf, 0.0, nan]);
    let grads = a.minimum(&b).backward_with(&g);
    assert_same(&grads[&a].to_vec(), &[inf, inf, inf, 0.0, nan]);
    assert_same(&grads[&b].to_vec(), &[inf, inf, inf, inf, 0.0]);
}

#[test]
fn a_softmax_row_with_an_infinity_is_nan_as_in_pytorch() {
    // PyTorch subtracts the row maximum unconditionally: inf − inf = NaN spreads over the row.
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[f64::INFINITY, 1.0, 2.0, 0.0, 1.0, 2.0], &[2, 3]));
    let p = x.softmax(-1).to_vec();
    assert!(p[..3].iter().all(|v| v.is_nan()), "{p:?}");
    assert!(p[3..].iter().all(|v| v.is_finite()), "{p:?}");
}

#[test]
fn var_log_is_ln() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[0.5, 2.0], &[2]));
    assert_same(&x.log().to_vec(), &x.ln().to_vec());
    assert_same(&x.log().sum_all().backward()[&x].to_vec(), &[2.0, 0.5]);
    let _: Var<f64> = x.log();
}

/// `linear` is `matmul(x, wᵀ) + b` in one node: the same values and gradients, to the bit,
/// NaN and infinities included (PyTorch's `F.linear` propagates them the same way), for a
/// batch of rows, a single row (rank 1) and a stack of batches (rank 3).
#[test]
fn linear_is_the_product_with_the_transposed_weight_plus_the_bias() {
    let w_data = [0.5, -1.0, 2.0, f64::INFINITY, 0.0, -0.0, 1e300, 3.0, -2.5];
    let b_data = [0.25, f64::NAN, -1e-310];
    for x_shape in [vec![4, 3], vec![3], vec![2, 2, 3]] {
        let n: usize = x_shape.iter().product();
        let x_data: Vec<f64> = (0..n).map(|i| (i as f64 - 5.0) * 0.75).collect();
        let run = |fused: bool| {
            let tape = Tape::new();
            let x = tape.var(t(&x_data, &x_shape));
            let w = tape.var(t(&w_data, &[3, 3]));
            let b = tape.var(t(&b_data, &[3]));
            let y = if fused {
                x.linear(&w, Some(&b))
            } else {
                &x.matmul(&w.t()) + &b
            };
            let weights: Vec<f64> = (0..y.value().numel()).map(|i| i as f64 - 2.0).collect();
            let loss = (&y * &y.constant(t(&weights, y.shape()))).sum_all();
            let grads = loss.backward();
            let to_vec = |v: &Var<f64>| grads[v].to_vec();
            (
                y.shape().to_vec(),
                y.value().to_vec(),
                to_vec(&x),
                to_vec(&w),
                to_vec(&b),
            )
        };
        let (fused, composed) = (run(true), run(false));
        assert_eq!(fused.0, composed.0, "shape for x {x_shape:?}");
        for (got, want) in [
            (&fused.1, &composed.1),
            (&fused.2, &composed.2),
            (&fused.3, &composed.3),
            (&fused.4, &composed.4),
        ] {
            assert_same(got, want);
        }
    }
}
