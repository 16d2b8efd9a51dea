//! Reductions with values worked out by hand: one axis, several, negative axes, keepdim, the
//! whole tensor, ties and NaN, and the softmax family at inputs where a naive formula overflows.
//!
//! Most cases use `v = arange(24).reshape([2, 3, 4])`, so `v[i, j, k] = 12i + 4j + k`.

use crate::common;

use common::assert_near;
use shendu_tensor::{Correction, Tensor};
use std::f64::consts::LN_2;

fn v() -> Tensor<f64> {
    Tensor::<f64>::arange(24).reshape([2, 3, 4])
}

#[test]
fn sum_over_one_axis_with_and_without_keepdim() {
    // Σ_i (12i + 4j + k) = 12 + 8j + 2k.
    let s0 = v().sum(0, false);
    assert_eq!(s0.shape(), &[3, 4]);
    assert_eq!(
        s0.to_vec(),
        vec![12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0, 26.0, 28.0, 30.0, 32.0, 34.0]
    );
    // Σ_k (12i + 4j + k) = 48i + 16j + 6, along the last axis written as -1.
    let s2 = v().sum(-1, true);
    assert_eq!(s2.shape(), &[2, 3, 1]);
    assert_eq!(s2.to_vec(), vec![6.0, 22.0, 38.0, 54.0, 70.0, 86.0]);
    assert_eq!(v().sum(2, false).shape(), &[2, 3]);
    assert_eq!(v().sum(2, false).to_vec(), s2.to_vec());
    // The middle axis: Σ_j (12i + 4j + k) = 36i + 12 + 3k.
    let s1 = v().sum(1, false);
    assert_eq!(
        s1.to_vec(),
        vec![12.0, 15.0, 18.0, 21.0, 48.0, 51.0, 54.0, 57.0]
    );
}

#[test]
fn sum_over_several_axes_in_any_order_and_sign() {
    // Σ_i Σ_k = 32j + 60.
    let want = vec![60.0, 92.0, 124.0];
    assert_eq!(v().sum([0, 2], false).to_vec(), want);
    assert_eq!(v().sum([2, 0], false).to_vec(), want);
    assert_eq!(v().sum([-1, 0], false).to_vec(), want);
    assert_eq!(v().sum(vec![0usize, 2], false).to_vec(), want);
    assert_eq!(v().sum(&[-3i64, -1][..], false).to_vec(), want);
    let kept = v().sum([0, -1], true);
    assert_eq!(kept.shape(), &[1, 3, 1]);
    assert_eq!(kept.to_vec(), want);
    let all = v().sum([0, 1, 2], false);
    assert_eq!(all.shape(), &[] as &[usize]);
    assert_eq!(all.item(), 276.0);
    assert_eq!(v().sum([0, 1, 2], true).shape(), &[1, 1, 1]);
}

#[test]
fn sum_all_and_mean_all() {
    assert_eq!(v().sum_all().item(), 276.0);
    assert_eq!(v().sum_all().shape(), &[] as &[usize]);
    assert_eq!(v().mean_all().item(), 11.5);
    assert_eq!(Tensor::<f32>::zeros([0, 3]).sum_all().item(), 0.0);
    assert_eq!(Tensor::scalar(7.0f32).sum_all().item(), 7.0);
    assert!(Tensor::<f32>::zeros([0]).mean_all().item().is_nan());
}

#[test]
fn sum_over_an_empty_axis_is_zero() {
    let s = Tensor::<f32>::zeros([2, 0]).sum(1, false);
    assert_eq!(s.shape(), &[2]);
    assert_eq!(s.to_vec(), vec![0.0, 0.0]);
}

#[test]
fn mean_over_one_and_several_axes() {
    // mean_j (12i + 4j + k) = 12i + 4 + k.
    let m = v().mean(1, false);
    assert_eq!(m.shape(), &[2, 4]);
    assert_eq!(m.to_vec(), vec![4.0, 5.0, 6.0, 7.0, 16.0, 17.0, 18.0, 19.0]);
    // mean over i and k: (32j + 60) / 8 = 4j + 7.5.
    let m = v().mean([-3, -1], true);
    assert_eq!(m.shape(), &[1, 3, 1]);
    assert_eq!(m.to_vec(), vec![7.5, 11.5, 15.5]);
}

#[test]
fn max_and_min_over_axes() {
    assert_eq!(
        v().max(1, false).to_vec(),
        vec![8.0, 9.0, 10.0, 11.0, 20.0, 21.0, 22.0, 23.0]
    );
    assert_eq!(
        v().min(1, false).to_vec(),
        vec![0.0, 1.0, 2.0, 3.0, 12.0, 13.0, 14.0, 15.0]
    );
    let m = v().max([0, 1], true);
    assert_eq!(m.shape(), &[1, 1, 4]);
    assert_eq!(m.to_vec(), vec![20.0, 21.0, 22.0, 23.0]);
    assert_eq!(
        v().min(-1, false).to_vec(),
        vec![0.0, 4.0, 8.0, 12.0, 16.0, 20.0]
    );
    assert_eq!(v().max_all().item(), 23.0);
    assert_eq!(v().min_all().item(), 0.0);
    // Negative numbers: the max of an all-negative row is not the fold's -inf start value.
    let neg = Tensor::from_vec(vec![-5.0f32, -2.0, -9.0], [3]);
    assert_eq!(neg.max(0, false).item(), -2.0);
    assert_eq!(neg.min(0, false).item(), -9.0);
}

#[test]
fn max_and_min_propagate_nan() {
    let t = Tensor::from_vec(vec![1.0f32, f32::NAN, 3.0, 4.0, 5.0, 6.0], [2, 3]);
    let max = t.max(1, false).to_vec();
    assert!(max[0].is_nan(), "{max:?}");
    assert_eq!(max[1], 6.0);
    let min = t.min(1, false).to_vec();
    assert!(min[0].is_nan(), "{min:?}");
    assert_eq!(min[1], 4.0);
    assert!(t.max_all().item().is_nan());
    assert!(t.min_all().item().is_nan());
    // A NaN after the first few lanes of a long row is still seen.
    let mut long = vec![0.0f64; 10_000];
    long[9_999] = f64::NAN;
    assert!(Tensor::from_vec(long, [10_000])
        .max(0, false)
        .item()
        .is_nan());
}

#[test]
fn max_and_min_over_no_axes_are_the_identity_even_when_empty() {
    // Folding no axes folds nothing: every element is its own maximum. That holds for an
    // empty tensor too (NumPy: `np.max(np.zeros((0, 3)), axis=())` has shape (0, 3)); only a
    // fold over an empty axis has no answer.
    let none: Vec<usize> = vec![];
    let t = Tensor::from_vec(vec![1.0f32, -2.0], [2]);
    assert_eq!(t.max(none.clone(), false).to_vec(), vec![1.0, -2.0]);
    let empty = Tensor::<f32>::zeros([0, 3]);
    assert_eq!(empty.max(none.clone(), true).shape(), &[0, 3]);
    assert_eq!(empty.min(none, false).shape(), &[0, 3]);
}

#[test]
fn argmax_and_argmin_return_the_first_extreme_position() {
    let t = Tensor::from_vec(vec![3.0f32, 1.0, 3.0, 0.0, -2.0, -2.0], [2, 3]);
    assert_eq!(t.argmax(1, false).to_vec(), vec![0, 0]);
    assert_eq!(t.argmin(1, false).to_vec(), vec![1, 1]);
    assert_eq!(t.argmax(0, false).to_vec(), vec![0, 0, 0]);
    let am = t.argmin(-2, true);
    assert_eq!(am.shape(), &[1, 3]);
    assert_eq!(am.to_vec(), vec![1, 1, 1]);
    assert_eq!(t.argmax(-1, true).shape(), &[2, 1]);
    assert_eq!(t.argmax_all(), 0);
    assert_eq!(t.argmin_all(), 4);
    // Along the middle axis of v: the maximum over j is at j = 2 everywhere.
    assert_eq!(v().argmax(1, false).to_vec(), vec![2; 8]);
    assert_eq!(v().argmin(1, false).to_vec(), vec![0; 8]);
    assert_eq!(v().argmax_all(), 23);
}

#[test]
fn argmax_points_at_the_first_nan() {
    let t = Tensor::from_vec(vec![1.0f64, f64::NAN, 9.0, f64::NAN], [4]);
    assert_eq!(t.argmax(0, false).as_slice(), [1]);
    assert_eq!(t.argmin(0, false).as_slice(), [1]);
    assert_eq!(t.argmax_all(), 1);
}

#[test]
fn argmax_of_a_transposed_view() {
    // t = [[0, 5], [7, 1], [2, 3]]; t.t() = [[0, 7, 2], [5, 1, 3]].
    let t = Tensor::from_vec(vec![0.0f32, 5.0, 7.0, 1.0, 2.0, 3.0], [3, 2]);
    assert_eq!(t.t().argmax(1, false).to_vec(), vec![1, 0]);
    assert_eq!(t.t().argmin(1, false).to_vec(), vec![0, 1]);
    assert_eq!(t.t().argmax_all(), 1);
}

#[test]
fn var_unbiased_and_population() {
    let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], [4]);
    assert_eq!(t.var(0, Correction(1), false).item(), 5.0 / 3.0);
    assert_eq!(t.var(0, Correction(0), false).item(), 1.25);
    assert_eq!(t.var_all(Correction(0)).item(), 1.25);
    // [[1, 2], [3, 6]]: columns have means 2 and 4, population variances 1 and 4.
    let m = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 6.0], [2, 2]);
    assert_eq!(m.var(0, Correction(0), false).to_vec(), vec![1.0, 4.0]);
    let kept = m.var(-1, Correction(1), true);
    assert_eq!(kept.shape(), &[2, 1]);
    assert_eq!(kept.to_vec(), vec![0.5, 4.5]);
    // Both axes: mean 3, squared deviations 4 + 1 + 0 + 9 = 14.
    assert_eq!(m.var([0, 1], Correction(1), false).item(), 14.0 / 3.0);
    assert_eq!(m.var_all(Correction(1)).item(), 14.0 / 3.0);
    // A constant whose mean is exact has zero variance, exactly.
    assert_eq!(
        Tensor::full([1000], 3.0f32).var_all(Correction(1)).item(),
        0.0
    );
    // Two passes (mean first, then squared deviations) keep the digits that E[x²] − E[x]²
    // would cancel away: in f32, 1e4² is 1e8, whose unit in the last place is 8.
    let shifted = Tensor::from_vec(vec![10_001.0f32, 10_002.0, 10_003.0, 10_004.0], [4]);
    assert_eq!(shifted.var(0, Correction(1), false).item(), 5.0 / 3.0);
}

#[test]
fn var_of_a_single_sample_with_correction_is_nan() {
    assert!(Tensor::from_vec(vec![3.0f32], [1])
        .var(0, Correction(1), false)
        .item()
        .is_nan());
}

#[test]
fn var_with_correction_at_least_the_count_is_never_negative() {
    // Two samples with mean 5.5: Σ(x − mean)² = 0.5. With correction 3 there are −1 degrees of
    // freedom; NumPy gives +inf and PyTorch clamps the divisor at 0, and neither reports a
    // negative variance.
    let v = Tensor::from_vec(vec![5.0f64, 6.0], [2])
        .var(0, Correction(3), false)
        .item();
    assert!(
        v.is_nan() || v == f64::INFINITY,
        "var([5, 6], correction 3) = {v}"
    );
    // An empty axis with correction 1: there is no sample at all.
    let v = Tensor::<f64>::zeros([0])
        .var(0, Correction(1), false)
        .item();
    assert!(v.is_nan(), "var([], correction 1) = {v}");
}

#[test]
fn log_sum_exp_at_ordinary_and_huge_inputs() {
    let t = Tensor::from_vec(vec![0.0f64, 3f64.ln()], [2]);
    assert_near(&t.log_sum_exp(0, false), &[4f64.ln()], 1e-15);
    // 1e4 overflows exp in f64 and f32; the shifted form is exact.
    let big = Tensor::from_vec(vec![1e4f64, 1e4], [2])
        .log_sum_exp(0, false)
        .item();
    assert_eq!(big, 1e4 + LN_2);
    let big32 = Tensor::from_vec(vec![1e4f32, 1e4], [2]).log_sum_exp(0, true);
    assert_eq!(big32.shape(), &[1]);
    assert_eq!(big32.item(), 1e4f32 + std::f32::consts::LN_2);
    // -1e4 underflows exp to zero; the result stays -1e4 + ln 2, not -inf.
    let small = Tensor::from_vec(vec![-1e4f64, -1e4], [2])
        .log_sum_exp(0, false)
        .item();
    assert_eq!(small, -1e4 + LN_2);
    // All -inf: the sum of nothing, -inf, without a NaN.
    let none = Tensor::from_vec(vec![f64::NEG_INFINITY; 3], [3])
        .log_sum_exp(0, false)
        .item();
    assert_eq!(none, f64::NEG_INFINITY);
}

#[test]
fn log_sum_exp_along_a_non_last_axis_and_over_several() {
    // Columns [1e4, 1e4] and [0, 0].
    let t = Tensor::from_vec(vec![1e4f64, 0.0, 1e4, 0.0], [2, 2]);
    let l = t.log_sum_exp(0, false);
    assert_eq!(l.shape(), &[2]);
    assert_near(&l, &[1e4 + LN_2, LN_2], 1e-12);
    let l = t.log_sum_exp([0, 1], true);
    assert_eq!(l.shape(), &[1, 1]);
    // ln(2e^1e4 + 2) = 1e4 + ln 2 (the +2 is far below rounding).
    assert_near(&l, &[1e4 + LN_2], 1e-12);
}

#[test]
fn softmax_at_known_points() {
    let p = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], [3]).softmax(0);
    assert_near(
        &p,
        &[0.09003057317038046, 0.24472847105479767, 0.6652409557748219],
        1e-15,
    );
    let p = Tensor::from_vec(vec![0.0f32, 3f32.ln()], [1, 2]).softmax(-1);
    assert_near(&p, &[0.25, 0.75], 1e-7);
}

#[test]
fn softmax_is_exact_at_1e4_in_f32_and_f64() {
    let p = Tensor::from_vec(vec![1e4f32, 1e4, -1e4], [3]).softmax(0);
    assert_eq!(p.to_vec(), vec![0.5, 0.5, 0.0]);
    let p = Tensor::from_vec(vec![1e4f64, 1e4 + 1.0], [2]).softmax(0);
    assert_near(&p, &[0.2689414213699951, 0.7310585786300049], 1e-15);
}

#[test]
fn softmax_along_a_non_last_axis() {
    // Columns: [1e4, 1e4] -> [0.5, 0.5]; [0, ln 3] -> [0.25, 0.75]; [-1e4, 1e4] -> [0, 1].
    let x = Tensor::from_vec(vec![1e4f64, 0.0, -1e4, 1e4, 3f64.ln(), 1e4], [2, 3]);
    let p = x.softmax(0);
    assert_eq!(p.shape(), &[2, 3]);
    assert_near(&p, &[0.5, 0.25, 0.0, 0.5, 0.75, 1.0], 1e-15);
    // The middle axis of a rank-3 tensor: each [i, :, k] column sums to 1.
    let p = v().softmax(1);
    assert_eq!(p.shape(), &[2, 3, 4]);
    let sums = p.sum(1, false);
    assert_near(&sums, &[1.0; 8], 1e-15);
    // v[i, j, k] − v[i, 0, k] = 4j, so each column is softmax([0, 4, 8]).
    let e: Vec<f64> = [0.0f64, 4.0, 8.0].iter().map(|x| x.exp()).collect();
    let z: f64 = e.iter().sum();
    assert!((p.get(&[1, 2, 3]) - e[2] / z).abs() < 1e-15);
    assert!((p.get(&[0, 0, 1]) - e[0] / z).abs() < 1e-15);
}

#[test]
fn log_softmax_at_known_points_and_along_a_non_last_axis() {
    let l = Tensor::from_vec(vec![0.0f64, 3f64.ln()], [2]).log_softmax(0);
    assert_near(&l, &[0.25f64.ln(), 0.75f64.ln()], 1e-15);
    let x = Tensor::from_vec(vec![0.0f64, 1e4, 3f64.ln(), 1e4], [2, 2]);
    let l = x.log_softmax(0);
    assert_near(&l, &[0.25f64.ln(), -LN_2, 0.75f64.ln(), -LN_2], 1e-12);
    // Far apart: exp of the smaller underflows, its log-probability is still exact.
    let l = Tensor::from_vec(vec![-1e4f64, 0.0], [2]).log_softmax(0);
    assert_near(&l, &[-1e4, 0.0], 1e-12);
}

#[test]
fn log_softmax_keeps_f32_precision_at_1e4() {
    // log_softmax([1e4, 1e4]) = [-ln 2, -ln 2]. Computed as (x − max) − ln Σ exp(x − max) the
    // answer is exact to f32 rounding; computed as x − (max + ln Σ) it loses the digits that
    // fall below the unit in the last place of 1e4 (about 1e-3).
    let l = Tensor::from_vec(vec![1e4f32, 1e4], [2]).log_softmax(0);
    assert_near(&l, &[-LN_2, -LN_2], 1e-6);
    let l = Tensor::from_vec(vec![1e4f32, 1e4 + 1.0], [2]).log_softmax(0);
    let lse = 1.0 + (1.0 + (-1f64).exp()).ln();
    assert_near(&l, &[-lse, 1.0 - lse], 1e-6);
}

#[test]
fn softmax_of_an_empty_tensor_is_empty() {
    let p = Tensor::<f32>::zeros([0, 3]).softmax(1);
    assert_eq!(p.shape(), &[0, 3]);
}

/// `got` equals `want` element by element, a NaN matching a NaN.
#[track_caller]
fn assert_same<T: shendu_tensor::Element>(got: &Tensor<T>, want: &[f64]) {
    let got: Vec<f64> = got.to_vec().iter().map(|x| x.to_f64_exact()).collect();
    let same = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| g == w || (g.is_nan() && w.is_nan()));
    assert!(same, "got {got:?}, want {want:?}");
}

#[test]
fn softmax_with_infinities_and_nan_follows_pytorch() {
    // PyTorch shifts every row by its maximum, whatever it is: a +inf gives inf − inf = NaN,
    // which spreads through the row's sum; an all −inf row gives −inf − (−inf) = NaN.
    let (inf, nan, ln2) = (f64::INFINITY, f64::NAN, LN_2);
    let rows = [
        vec![inf, 1.0, 2.0, 3.0],
        vec![1.0, inf, -inf, 2.0],
        vec![inf, inf, inf, inf],
        vec![-inf, -inf, -inf, -inf],
        vec![nan, 1.0, 2.0, 3.0],
        vec![-inf, 0.0, -inf, 0.0],
    ];
    let all_nan = vec![nan; 4];
    let softmax = [
        all_nan.clone(),
        all_nan.clone(),
        all_nan.clone(),
        all_nan.clone(),
        all_nan.clone(),
        vec![0.0, 0.5, 0.0, 0.5],
    ];
    let log_softmax = [
        all_nan.clone(),
        all_nan.clone(),
        all_nan.clone(),
        all_nan.clone(),
        all_nan.clone(),
        vec![-inf, -ln2, -inf, -ln2],
    ];
    for (i, row) in rows.iter().enumerate() {
        let x = Tensor::from_vec(row.clone(), [4]);
        assert_same(&x.softmax(0), &softmax[i]);
        assert_same(&x.log_softmax(0), &log_softmax[i]);
        // The same in f32, the expected values rounded to f32.
        let to_f32 = |v: &[f64]| -> Vec<f64> { v.iter().map(|&w| w as f32 as f64).collect() };
        let x32 = Tensor::from_vec(row.iter().map(|&v| v as f32).collect(), [4]);
        assert_same(&x32.softmax(0), &to_f32(&softmax[i]));
        assert_same(&x32.log_softmax(0), &to_f32(&log_softmax[i]));
    }
    // Rows of one matrix do not affect each other, along either axis.
    let x = Tensor::from_vec(vec![inf, 0.0, 0.0, 0.0], [2, 2]);
    assert_same(&x.softmax(1), &[nan, nan, 0.5, 0.5]);
    assert_same(&x.softmax(0), &[nan, 0.5, nan, 0.5]);
    assert_same(&x.log_softmax(1), &[nan, nan, -ln2, -ln2]);
}

/// Σ g ⊙ f(x) for the softmax (or log-softmax) f along `axis`: the scalar whose gradient in x
/// `softmax_backward` (or `log_softmax_backward`) computes.
fn projected_softmax(x: &Tensor<f64>, g: &Tensor<f64>, axis: usize, log: bool) -> f64 {
    let y = if log {
        x.log_softmax(axis)
    } else {
        x.softmax(axis)
    };
    y.mul(g).sum_all().item()
}

#[test]
fn softmax_gradients_match_finite_differences_along_every_axis() {
    let values = |seed: usize, scale: f64| -> Vec<f64> {
        (0..60)
            .map(|i| (((i * 37 + seed) % 61) as f64 - 30.0) * scale)
            .collect()
    };
    let x = Tensor::from_vec(values(5, 0.1), [3, 4, 5]);
    let g = Tensor::from_vec(values(11, 0.05), [3, 4, 5]);
    let h = 1e-6;
    for axis in 0..3 {
        for log in [false, true] {
            let dx = if log {
                x.log_softmax(axis).log_softmax_backward(&g, axis)
            } else {
                x.softmax(axis).softmax_backward(&g, axis)
            };
            let base = x.to_vec();
            for (j, &analytic) in dx.to_vec().iter().enumerate() {
                let at = |delta: f64| {
                    let mut shifted = base.clone();
                    shifted[j] += delta;
                    projected_softmax(&Tensor::from_vec(shifted, [3, 4, 5]), &g, axis, log)
                };
                let numeric = (at(h) - at(-h)) / (2.0 * h);
                assert!(
                    (analytic - numeric).abs() <= 1e-8,
                    "axis {axis}, log {log}, element {j}: {analytic} against {numeric}"
                );
            }
            // f32 gives the f64 values rounded, to its precision.
            let (x32, g32) = (x.cast::<f32>(), g.cast::<f32>());
            let dx32 = if log {
                x32.log_softmax(axis).log_softmax_backward(&g32, axis)
            } else {
                x32.softmax(axis).softmax_backward(&g32, axis)
            };
            assert_near(&dx32, &dx.to_vec(), 1e-6);
        }
    }
}

#[test]
fn softmax_gradients_at_infinities_and_nan_follow_pytorch() {
    // The values of torch._softmax_backward_data and torch._log_softmax_backward_data (PyTorch
    // 2.15, f64) at the same output and gradient rows.
    let (inf, nan, ln2) = (f64::INFINITY, f64::NAN, LN_2);
    // (output of log_softmax, gradient, expected)
    let log_rows = [
        (
            vec![-inf, -ln2, -inf, -ln2],
            vec![1.0, 0.0, 0.0, 0.0],
            vec![1.0, -0.5, 0.0, -0.5],
        ),
        (
            vec![-ln2, -ln2, -inf, -inf],
            vec![inf, 0.0, 0.0, 0.0],
            vec![nan, -inf, nan, nan],
        ),
        (
            vec![-ln2, -ln2, -inf, -inf],
            vec![nan, 0.0, 0.0, 0.0],
            vec![nan; 4],
        ),
        (vec![nan; 4], vec![1.0, 0.0, 0.0, 0.0], vec![nan; 4]),
    ];
    for (y, g, want) in &log_rows {
        let (y, g) = (
            Tensor::from_vec(y.clone(), [4]),
            Tensor::from_vec(g.clone(), [4]),
        );
        assert_same(&y.log_softmax_backward(&g, 0), want);
    }
    // (output of softmax, gradient, expected)
    let rows = [
        (
            vec![0.0, 0.5, 0.0, 0.5],
            vec![1.0, 2.0, 3.0, 4.0],
            vec![-0.0, -0.5, 0.0, 0.5],
        ),
        (
            vec![0.0, 0.5, 0.0, 0.5],
            vec![inf, 0.0, 0.0, 0.0],
            vec![nan; 4],
        ),
        (
            vec![0.5, 0.5, 0.0, 0.0],
            vec![inf, 0.0, 0.0, 0.0],
            vec![nan, -inf, nan, nan],
        ),
        (vec![nan; 4], vec![1.0, 0.0, 0.0, 0.0], vec![nan; 4]),
    ];
    for (y, g, want) in &rows {
        let (y, g) = (
            Tensor::from_vec(y.clone(), [4]),
            Tensor::from_vec(g.clone(), [4]),
        );
        assert_same(&y.softmax_backward(&g, 0), want);
    }
}

#[test]
fn log_sum_exp_with_infinities_follows_pytorch() {
    // Unlike softmax, PyTorch's logsumexp shifts by 0 where the maximum is infinite, so +inf
    // gives +inf and an all −inf row −inf; a NaN still gives NaN.
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    let x = Tensor::from_vec(
        vec![inf, 1.0, inf, -inf, -inf, -inf, nan, 1.0, 0.0, 3f64.ln()],
        [5, 2],
    );
    assert_same(&x.log_sum_exp(1, false), &[inf, inf, -inf, nan, 4f64.ln()]);
}
