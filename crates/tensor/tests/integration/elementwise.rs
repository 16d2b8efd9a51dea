//! Elementwise ops with values worked out by hand: every binary op (named and `std::ops`, with
//! broadcasting), every unary op, and the edge values where a naive formula overflows or loses
//! a NaN.

use crate::common;

use common::{assert_bits, assert_near};
use shendu_tensor::Tensor;
use std::f64::consts::{E, FRAC_PI_2, FRAC_PI_3, FRAC_PI_6, LN_2, PI};

const NAN: f32 = f32::NAN;
const INF: f32 = f32::INFINITY;

fn t32(values: &[f32], shape: &[usize]) -> Tensor<f32> {
    Tensor::from_vec(values.to_vec(), shape)
}

fn t64(values: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(values.to_vec(), shape)
}

// ----------------------------------------------------------------------------------------------
// Binary ops
// ----------------------------------------------------------------------------------------------

#[test]
fn add_broadcasts_a_row_over_a_matrix_and_a_column_against_a_row() {
    let a = t32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let row = t32(&[10.0, 20.0, 30.0], &[3]);
    let sum = a.add(&row);
    assert_eq!(sum.shape(), &[2, 3]);
    assert_eq!(sum.to_vec(), vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
    // [2, 1] + [3] -> [2, 3]: an outer sum.
    let column = t32(&[100.0, 200.0], &[2, 1]);
    let outer = column.add(&t32(&[1.0, 2.0, 3.0], &[3]));
    assert_eq!(outer.shape(), &[2, 3]);
    assert_eq!(
        outer.to_vec(),
        vec![101.0, 102.0, 103.0, 201.0, 202.0, 203.0]
    );
    // A rank-0 operand broadcasts to anything, and the result keeps the larger shape.
    let plus_scalar = Tensor::scalar(0.5f32).add(&a);
    assert_eq!(plus_scalar.shape(), &[2, 3]);
    assert_eq!(plus_scalar.to_vec(), vec![1.5, 2.5, 3.5, 4.5, 5.5, 6.5]);
}

#[test]
fn add_of_an_empty_axis_against_size_one_is_empty() {
    let a = Tensor::<f32>::zeros([0, 3]);
    let b = Tensor::<f32>::ones([1, 3]);
    let c = a.add(&b);
    assert_eq!(c.shape(), &[0, 3]);
    assert!(c.to_vec().is_empty());
}

#[test]
fn sub_mul_div_elementwise() {
    let a = t64(&[5.0, 3.0, -6.0, 1.0], &[4]);
    let b = t64(&[2.0, 7.0, 4.0, -8.0], &[4]);
    assert_eq!(a.sub(&b).to_vec(), vec![3.0, -4.0, -10.0, 9.0]);
    assert_eq!(a.mul(&b).to_vec(), vec![10.0, 21.0, -24.0, -8.0]);
    assert_eq!(a.div(&b).to_vec(), vec![2.5, 3.0 / 7.0, -1.5, -0.125]);
    // sub is not symmetric under broadcasting: [3] - [2, 1].
    let column = t64(&[1.0, 10.0], &[2, 1]);
    let d = t64(&[1.0, 2.0, 3.0], &[3]).sub(&column);
    assert_eq!(d.shape(), &[2, 3]);
    assert_eq!(d.to_vec(), vec![0.0, 1.0, 2.0, -9.0, -8.0, -7.0]);
}

#[test]
fn div_by_zero_follows_ieee() {
    let a = t32(&[1.0, -1.0, 0.0], &[3]);
    let q = a.div(&Tensor::scalar(0.0));
    let q = q.to_vec();
    assert_eq!(q[0], INF);
    assert_eq!(q[1], -INF);
    assert!(q[2].is_nan());
}

#[test]
fn pow_with_integer_fractional_and_zero_exponents() {
    let base = t64(&[2.0, 9.0, -2.0, -8.0, 0.0, 4.0], &[6]);
    let exponent = t64(&[3.0, 0.5, 3.0, 0.5, 0.0, -1.0], &[6]);
    let p = base.pow(&exponent).to_vec();
    assert_eq!(&p[..3], &[8.0, 3.0, -8.0]);
    assert!(
        p[3].is_nan(),
        "a negative base with a fractional exponent is NaN, got {}",
        p[3]
    );
    assert_eq!(&p[4..], &[1.0, 0.25]);
    // The exponent broadcasts: a column of bases against a row of exponents.
    let table = t32(&[2.0, 3.0], &[2, 1]).pow(&t32(&[0.0, 1.0, 2.0], &[3]));
    assert_eq!(table.to_vec(), vec![1.0, 2.0, 4.0, 1.0, 3.0, 9.0]);
}

#[test]
fn maximum_and_minimum_propagate_nan_from_either_side() {
    let a = t32(&[1.0, 5.0, NAN, -1.0, -INF], &[5]);
    let b = t32(&[3.0, 2.0, 0.0, NAN, 7.0], &[5]);
    let max = a.maximum(&b).to_vec();
    let min = a.minimum(&b).to_vec();
    assert_eq!(max[0..2], [3.0, 5.0]);
    assert!(max[2].is_nan() && max[3].is_nan(), "{max:?}");
    assert_eq!(max[4], 7.0);
    assert_eq!(min[0..2], [1.0, 2.0]);
    assert!(min[2].is_nan() && min[3].is_nan(), "{min:?}");
    assert_eq!(min[4], -INF);
    // Broadcast against a scalar: the elementwise max(x, 0).
    let r = t32(&[-2.0, 0.5], &[2]).maximum(&Tensor::scalar(0.0));
    assert_eq!(r.to_vec(), vec![0.0, 0.5]);
}

#[test]
fn comparisons_give_ones_and_zeros_and_nan_compares_unequal() {
    let a = t32(&[1.0, 2.0, 3.0, NAN], &[4]);
    let b = t32(&[2.0, 2.0, 2.0, NAN], &[4]);
    assert_eq!(a.eq(&b).to_vec(), vec![0.0, 1.0, 0.0, 0.0]);
    assert_eq!(a.ne(&b).to_vec(), vec![1.0, 0.0, 1.0, 1.0]);
    assert_eq!(a.lt(&b).to_vec(), vec![1.0, 0.0, 0.0, 0.0]);
    assert_eq!(a.le(&b).to_vec(), vec![1.0, 1.0, 0.0, 0.0]);
    assert_eq!(a.gt(&b).to_vec(), vec![0.0, 0.0, 1.0, 0.0]);
    assert_eq!(a.ge(&b).to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
    // Broadcast: [2, 1] against [3].
    let column = t64(&[1.0, 3.0], &[2, 1]);
    let row = t64(&[1.0, 2.0, 3.0], &[3]);
    assert_eq!(column.ge(&row).to_vec(), vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    assert_eq!(column.eq(&row).shape(), &[2, 3]);
}

#[test]
fn where_cond_broadcasts_all_three_and_never_leaks_the_other_side() {
    let mask = t32(&[1.0, 0.0], &[2, 1]);
    let a = t32(&[10.0, 20.0, 30.0], &[3]);
    let b = Tensor::scalar(-1.0f32);
    let w = Tensor::where_cond(&mask, &a, &b);
    assert_eq!(w.shape(), &[2, 3]);
    assert_eq!(w.to_vec(), vec![10.0, 20.0, 30.0, -1.0, -1.0, -1.0]);
    // Any non-zero mask value selects `a`, including a negative one and NaN; -0 counts as zero.
    let mask = t32(&[-2.0, NAN, -0.0, 0.0], &[4]);
    let a = t32(&[INF, INF, INF, INF], &[4]);
    let b = t32(&[1.0, 2.0, NAN, 4.0], &[4]);
    let w = Tensor::where_cond(&mask, &a, &b).to_vec();
    assert_eq!(w[..2], [INF, INF]);
    assert!(w[2].is_nan());
    assert_eq!(w[3], 4.0);
}

#[test]
fn std_ops_between_tensors_for_every_ownership_combination() {
    let a = t32(&[1.0, 2.0], &[2]);
    let b = t32(&[10.0, 40.0], &[2]);
    let sum = vec![11.0, 42.0];
    assert_eq!((&a + &b).to_vec(), sum);
    assert_eq!((a.clone() + &b).to_vec(), sum);
    assert_eq!((&a + b.clone()).to_vec(), sum);
    assert_eq!((a.clone() + b.clone()).to_vec(), sum);
    let diff = vec![-9.0, -38.0];
    assert_eq!((&a - &b).to_vec(), diff);
    assert_eq!((a.clone() - &b).to_vec(), diff);
    assert_eq!((&a - b.clone()).to_vec(), diff);
    assert_eq!((a.clone() - b.clone()).to_vec(), diff);
    let prod = vec![10.0, 80.0];
    assert_eq!((&a * &b).to_vec(), prod);
    assert_eq!((a.clone() * &b).to_vec(), prod);
    assert_eq!((&a * b.clone()).to_vec(), prod);
    assert_eq!((a.clone() * b.clone()).to_vec(), prod);
    let quot = vec![0.1, 0.05];
    assert_eq!((&a / &b).to_vec(), quot);
    assert_eq!((a.clone() / &b).to_vec(), quot);
    assert_eq!((&a / b.clone()).to_vec(), quot);
    assert_eq!((a.clone() / b.clone()).to_vec(), quot);
    assert_eq!((-&a).to_vec(), vec![-1.0, -2.0]);
    assert_eq!((-a.clone()).to_vec(), vec![-1.0, -2.0]);
    // The operators broadcast like the named ops.
    let column = t32(&[1.0, 2.0], &[2, 1]);
    assert_eq!((&column * &a).to_vec(), vec![1.0, 2.0, 2.0, 4.0]);
    // The operands are untouched.
    assert_eq!(a.to_vec(), vec![1.0, 2.0]);
    assert_eq!(b.to_vec(), vec![10.0, 40.0]);
}

#[test]
fn std_ops_with_a_scalar_on_either_side() {
    let t = t32(&[1.0, 4.0], &[2]);
    assert_eq!((&t + 2.0).to_vec(), vec![3.0, 6.0]);
    assert_eq!((&t - 2.0).to_vec(), vec![-1.0, 2.0]);
    assert_eq!((&t * 2.0).to_vec(), vec![2.0, 8.0]);
    assert_eq!((&t / 2.0).to_vec(), vec![0.5, 2.0]);
    assert_eq!((t.clone() + 2.0).to_vec(), vec![3.0, 6.0]);
    assert_eq!((t.clone() / 4.0).to_vec(), vec![0.25, 1.0]);
    // Scalar on the left: the order of a non-commutative op is kept.
    assert_eq!((2.0 - &t).to_vec(), vec![1.0, -2.0]);
    assert_eq!((2.0 / &t).to_vec(), vec![2.0, 0.5]);
    assert_eq!((2.0 + &t).to_vec(), vec![3.0, 6.0]);
    assert_eq!((3.0 * t.clone()).to_vec(), vec![3.0, 12.0]);
    assert_eq!((1.0 - t.clone()).to_vec(), vec![0.0, -3.0]);
    // f64 has the same forms.
    let d = t64(&[0.5, 2.0], &[2]);
    assert_eq!((1.0 - &d).to_vec(), vec![0.5, -1.0]);
    assert_eq!((1.0 / d.clone()).to_vec(), vec![2.0, 0.5]);
    assert_eq!((&d * 4.0).to_vec(), vec![2.0, 8.0]);
    // A scalar op on a view reads the view, not the storage order.
    let m = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!((10.0 - &m.t()).to_vec(), vec![9.0, 6.0, 8.0, 5.0, 7.0, 4.0]);
}

#[test]
fn zip_with_applies_a_user_function_with_broadcasting() {
    let a = t64(&[3.0, 5.0], &[2, 1]);
    let b = t64(&[4.0, 12.0], &[2]);
    let h = a.zip_with("hypot", &b, |x, y| x.hypot(y));
    assert_eq!(h.shape(), &[2, 2]);
    assert_eq!(
        h.to_vec(),
        vec![5.0, 3f64.hypot(12.0), 5f64.hypot(4.0), 13.0]
    );
}

#[test]
fn zip3_with_reads_views_and_broadcasts_all_three() {
    // Contiguous operands of one shape (the fast path), then a transposed view, a row and a
    // scalar broadcast together (the general one): both read logical order.
    let x = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let y = t64(&[0.5, -1.0, 2.0, 0.0, f64::NAN, -0.0], &[2, 3]);
    let z = t64(&[10.0, 20.0, 30.0, 40.0, 50.0, 60.0], &[2, 3]);
    let fused = x.zip3_with("fused", &y, &z, |x, y, z| x * y + z);
    assert_bits(&fused.to_vec(), &[10.5, 18.0, 36.0, 40.0, f64::NAN, 60.0]);

    let xt = t64(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0], &[3, 2]).t();
    let row = t64(&[1.0, 0.0, -1.0], &[3]);
    let sum = xt.zip3_with("fused", &row, &Tensor::scalar(100.0), |x, r, s| x * r + s);
    assert_eq!(sum.shape(), &[2, 3]);
    assert_bits(&sum.to_vec(), &[101.0, 100.0, 97.0, 104.0, 100.0, 94.0]);
}

// ----------------------------------------------------------------------------------------------
// Unary ops
// ----------------------------------------------------------------------------------------------

#[test]
fn neg_abs_square_recip() {
    let t = t32(&[1.5, -2.0, 0.0, -0.0, -INF], &[5]);
    assert_bits(&t.neg().to_vec(), &[-1.5, 2.0, -0.0, 0.0, INF]);
    assert_bits(&t.abs().to_vec(), &[1.5, 2.0, 0.0, 0.0, INF]);
    assert_bits(&t.square().to_vec(), &[2.25, 4.0, 0.0, 0.0, INF]);
    assert_bits(&t.recip().to_vec(), &[1.0 / 1.5, -0.5, INF, -INF, -0.0]);
    assert!(Tensor::scalar(NAN).abs().item().is_nan());
}

#[test]
fn exp_ln_sqrt_at_ordinary_and_boundary_values() {
    let t = t64(&[0.0, 1.0, -1.0, f64::NEG_INFINITY, 1e3], &[5]);
    let e = t.exp().to_vec();
    assert_eq!(e[0], 1.0);
    assert!((e[1] - E).abs() < 1e-15);
    assert!((e[2] - 1.0 / E).abs() < 1e-15);
    assert_eq!(e[3], 0.0);
    assert_eq!(e[4], f64::INFINITY);

    let l = t64(&[1.0, E, 0.0, -1.0, 0.25], &[5]).ln().to_vec();
    assert_eq!(l[0], 0.0);
    assert!((l[1] - 1.0).abs() < 1e-15);
    assert_eq!(l[2], f64::NEG_INFINITY);
    assert!(l[3].is_nan());
    assert!((l[4] + 2.0 * LN_2).abs() < 1e-15);

    let s = t32(&[4.0, 2.25, 0.0, -1.0, INF], &[5]).sqrt().to_vec();
    assert_eq!(s[..3], [2.0, 1.5, 0.0]);
    assert!(s[3].is_nan());
    assert_eq!(s[4], INF);
}

#[test]
fn sin_cos_tanh_at_known_angles() {
    let angles = t64(&[0.0, FRAC_PI_6, FRAC_PI_2, PI, FRAC_PI_3], &[5]);
    assert_near(
        &angles.sin(),
        &[0.0, 0.5, 1.0, 0.0, 3f64.sqrt() / 2.0],
        1e-15,
    );
    assert_near(
        &angles.cos(),
        &[1.0, 3f64.sqrt() / 2.0, 0.0, -1.0, 0.5],
        1e-15,
    );
    // tanh(atanh(0.5)) = 0.5; saturates to ±1 exactly far out, with no NaN.
    let t = t32(&[0.0, 0.549_306_15, 1e4, -1e4, 20.0], &[5]).tanh();
    assert_near(&t, &[0.0, 0.5, 1.0, -1.0, 1.0], 1e-7);
    assert_eq!(t.to_vec()[2..4], [1.0, -1.0]);
}

#[test]
fn sigmoid_at_known_points() {
    let s = t64(&[0.0, 3f64.ln(), -1.0, 1.0], &[4]).sigmoid();
    assert_near(
        &s,
        &[0.5, 0.75, 0.2689414213699951, 0.7310585786300049],
        1e-15,
    );
}

#[test]
fn sigmoid_is_exact_and_finite_at_plus_minus_1e4_in_f32_and_f64() {
    assert_eq!(
        t32(&[-1e4, 1e4, -1e30, 1e30], &[4]).sigmoid().to_vec(),
        vec![0.0, 1.0, 0.0, 1.0]
    );
    assert_eq!(
        t64(&[-1e4, 1e4, -1e300, 1e300], &[4]).sigmoid().to_vec(),
        vec![0.0, 1.0, 0.0, 1.0]
    );
}

#[test]
fn sigmoid_keeps_relative_precision_far_in_the_left_tail() {
    // sigmoid(-100) = e^-100 / (1 + e^-100) ≈ e^-100 = 3.720075976020836e-44: 1 - sigmoid(100)
    // would give 0 here; the stable form keeps every digit.
    let s = Tensor::scalar(-100.0f64).sigmoid().item();
    let want = 3.720075976020836e-44;
    assert!(
        ((s - want) / want).abs() < 1e-14,
        "sigmoid(-100) = {s:e}, want {want:e}"
    );
    let s = Tensor::scalar(-30.0f32).sigmoid().item();
    let want = (-30f64).exp() / (1.0 + (-30f64).exp());
    assert!(
        ((s as f64 - want) / want).abs() < 1e-6,
        "sigmoid(-30) = {s:e}, want {want:e}"
    );
}

#[test]
fn softplus_at_known_points() {
    let s = t64(&[0.0, 3f64.ln(), 1.0, -1.0], &[4]).softplus();
    assert_near(
        &s,
        &[LN_2, 4f64.ln(), 1.3132616875182228, 0.31326168751822286],
        1e-15,
    );
}

#[test]
fn softplus_is_exact_and_finite_at_plus_minus_1e4_in_f32_and_f64() {
    let s = t32(&[1e4, -1e4, 1e30], &[3]).softplus().to_vec();
    assert_eq!(s, vec![1e4, 0.0, 1e30]);
    let s = t64(&[1e4, -1e4, 1e300], &[3]).softplus().to_vec();
    assert_eq!(s, vec![1e4, 0.0, 1e300]);
    // Deep in the left tail softplus(x) ≈ e^x, kept to full relative precision.
    let s = Tensor::scalar(-100.0f64).softplus().item();
    let want = 3.720075976020836e-44;
    assert!(((s - want) / want).abs() < 1e-14, "softplus(-100) = {s:e}");
}

#[test]
fn relu_leaky_relu_keep_nan_and_the_sign_of_slope() {
    let t = t32(&[-2.0, 0.0, 3.0, NAN, -INF], &[5]);
    let r = t.relu().to_vec();
    assert_eq!(r[..3], [0.0, 0.0, 3.0]);
    assert!(r[3].is_nan(), "relu(NaN) must stay NaN, got {}", r[3]);
    assert_eq!(r[4], 0.0);
    let l = t.leaky_relu(0.1).to_vec();
    assert_eq!(l[..3], [-0.2, 0.0, 3.0]);
    assert!(l[3].is_nan());
    assert_eq!(l[4], -INF);
}

#[test]
fn add_relu_in_place_has_the_bits_of_add_then_relu() {
    // Rows against a broadcast bias, with the edges: −0, NaN, ±inf, and a sum that cancels.
    let z = t64(
        &[
            -2.0,
            -0.0,
            3.0,
            f64::NAN,
            -f64::INFINITY,
            f64::INFINITY,
            1.5,
            -1.5,
            0.0,
            1e300,
            -1e-300,
            2.0,
        ],
        &[3, 4],
    );
    let bias = t64(&[0.0, -0.0, -3.0, 1.0], &[4]);
    let mut fused = z.clone();
    fused.add_relu_(&bias);
    assert_bits(&fused.to_vec(), &z.add(&bias).relu().to_vec());
    // −0 + −0 = −0, which the ReLU keeps, as PyTorch's `relu(-0.0)` does.
    assert_eq!(fused.to_vec()[1].to_bits(), (-0.0f64).to_bits());
    let mut kept = z.clone();
    kept.relu_();
    assert_bits(&kept.to_vec(), &z.relu().to_vec());
    // A view of the old values is left as it was (copy-on-write).
    assert!(z.to_vec()[0] == -2.0);
    // f32, over enough elements for the parallel kernel.
    let n = 1 << 18;
    let z32: Tensor<f32> = Tensor::from_vec(
        (0..n)
            .map(|i| ((i * 37 % 1001) as f32 - 500.0) * 0.01)
            .collect(),
        [n / 256, 256],
    );
    let bias32: Tensor<f32> =
        Tensor::from_vec((0..256).map(|j| (j as f32 - 128.0) * 0.02).collect(), [256]);
    let mut fused32 = z32.clone();
    fused32.add_relu_(&bias32);
    assert_bits(&fused32.to_vec(), &z32.add(&bias32).relu().to_vec());
}

#[test]
fn gelu_at_known_points() {
    // x·Φ(x) with the exact normal CDF.
    let g = t64(&[0.0, 1.0, -1.0, 2.0, -3.0, 10.0, -10.0], &[7]).gelu();
    let want = [
        0.0,
        0.8413447460685429,
        -0.15865525393145707,
        1.9544997361036416,
        -0.00404969409489031,
        10.0,
        0.0,
    ];
    assert_near(&g, &want, 1e-15);
    let g32 = t32(&[1.0, -1.0, 1e4, -1e4], &[4]).gelu();
    assert_near(
        &g32,
        &[0.8413447460685429, -0.15865525393145707, 1e4, 0.0],
        1e-6,
    );
}

#[test]
fn erf_at_known_points() {
    // erf(x) = 2/√π ∫₀ˣ e^(−t²) dt: values from its series, to 16 digits.
    let x = t64(
        &[0.0, 0.5, 1.0, -2.0, 3.5, f64::INFINITY, f64::NEG_INFINITY],
        &[7],
    );
    let expected = [
        0.0,
        0.520_499_877_813_046_5,
        0.842_700_792_949_714_9,
        -0.995_322_265_018_952_7,
        0.999_999_256_901_627_7,
        1.0,
        -1.0,
    ];
    for (got, want) in x.erf().to_vec().iter().zip(expected) {
        assert!(
            (got - want).abs() <= 2.0 * f64::EPSILON * want.abs(),
            "{got} vs {want}"
        );
    }
    assert!(t64(&[f64::NAN], &[1]).erf().to_vec()[0].is_nan());
    let small = t32(&[0.5, -1.0], &[2]).erf().to_vec();
    assert!((small[0] - 0.520_499_9).abs() < 1e-7 && (small[1] + 0.842_700_8).abs() < 1e-7);
}

#[test]
fn log_is_ln() {
    let x = t64(&[0.5, 1.0, 10.0, 0.0, -1.0], &[5]);
    let (log, ln) = (x.log().to_vec(), x.ln().to_vec());
    assert_eq!(log[..4], ln[..4]);
    assert_eq!(log[3], f64::NEG_INFINITY);
    assert!(log[4].is_nan() && ln[4].is_nan());
}

#[test]
fn clamp_limits_and_keeps_nan() {
    let c = t32(&[-2.0, 0.5, 2.0, NAN, -INF, INF], &[6])
        .clamp(-1.0, 1.0)
        .to_vec();
    assert_eq!(c[..3], [-1.0, 0.5, 1.0]);
    assert!(c[3].is_nan(), "clamp(NaN) must stay NaN, got {}", c[3]);
    assert_eq!(c[4..], [-1.0, 1.0]);
}

#[test]
fn sign_is_minus_one_zero_or_one() {
    let s = t64(&[-3.0, 0.0, 2.0, -1e-300, f64::INFINITY], &[5]).sign();
    assert_eq!(s.to_vec(), vec![-1.0, 0.0, 1.0, -1.0, 1.0]);
    assert!(Tensor::scalar(f64::NAN).sign().item().is_nan());
}

#[test]
fn powf_raises_to_a_fixed_power() {
    assert_eq!(
        t32(&[3.0, -2.0, 0.0], &[3]).powf(2.0).to_vec(),
        vec![9.0, 4.0, 0.0]
    );
    assert_eq!(t64(&[9.0, 0.25], &[2]).powf(0.5).to_vec(), vec![3.0, 0.5]);
    assert_eq!(
        t64(&[4.0, -2.0], &[2]).powf(-1.0).to_vec(),
        vec![0.25, -0.5]
    );
    assert!(Tensor::scalar(-8.0f64).powf(1.0 / 3.0).item().is_nan());
}

#[test]
fn unary_ops_keep_the_shape_and_read_views_in_logical_order() {
    let m = t64(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let sq = m.t().square();
    assert_eq!(sq.shape(), &[3, 2]);
    assert_eq!(sq.to_vec(), vec![1.0, 16.0, 4.0, 25.0, 9.0, 36.0]);
    assert!(sq.is_contiguous());
    let scalar = Tensor::scalar(-4.0f32).abs().sqrt();
    assert_eq!(scalar.shape(), &[] as &[usize]);
    assert_eq!(scalar.item(), 2.0);
    let empty = Tensor::<f32>::zeros([2, 0, 3]).exp();
    assert_eq!(empty.shape(), &[2, 0, 3]);
}

#[test]
fn map_applies_a_user_function() {
    let t = t32(&[1.0, 4.0, 9.0], &[3]);
    assert_eq!(t.map(|x| x.sqrt() + 1.0).to_vec(), vec![2.0, 3.0, 4.0]);
}
