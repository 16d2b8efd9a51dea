//! Accuracy of f32 sums, path by path, on 2^24 to 2^26 elements: each reduction kernel path
//! (contiguous last axis, leading axes over a block of kept ones, a middle axis, strided folds,
//! several axes, the whole tensor, the mean) is compared with an f64 sum by plain loops, and run
//! in rayon pools of 1 and 2 threads, which must agree bit for bit.
//!
//! A sum that adds its terms one after the other into one f32 accumulator loses about n·2^-24
//! of the total in the worst case: for 2^25 ones it sticks at 2^24, where adding 1 rounds to
//! nothing. Sums in blocks combined pairwise stay within a few 10^-7 whatever the length.

use crate::common;

use std::sync::OnceLock;

use common::rng;
use shendu_tensor::Tensor;

/// The largest relative error allowed on sums of positive terms. Blocked sums of a few hundred
/// terms per accumulator, combined pairwise, reach a few 10^-7 at worst on uniform data; a
/// sum that accumulates 10^6 terms in a row is off by over 10^-5.
const REL_TOL: f64 = 2e-6;

/// 2^25 values uniform in [0, 1), made once and shared by the tests.
fn uniform() -> &'static Tensor<f32> {
    static DATA: OnceLock<Tensor<f32>> = OnceLock::new();
    DATA.get_or_init(|| Tensor::rand_uniform([1 << 25], 0.0, 1.0, &mut rng(2024)))
}

/// Σ of `x` over `axes` in f64, by a plain loop over every element in row-major order of `x`'s
/// shape, each added to its output in turn: the result row-major over the kept axes.
fn reference(x: &Tensor<f32>, axes: &[usize]) -> Vec<f64> {
    let shape = x.shape();
    // Stride of each axis in the output (0 for a folded axis).
    let mut out_strides = vec![0; shape.len()];
    let mut outputs = 1;
    for d in (0..shape.len()).rev() {
        if !axes.contains(&d) {
            out_strides[d] = outputs;
            outputs *= shape[d];
        }
    }
    let mut out = vec![0.0f64; outputs];
    let mut index = vec![0usize; shape.len()];
    let mut at = 0;
    for v in x.to_vec() {
        out[at] += v as f64;
        // Step the row-major odometer, keeping `at` in step with it.
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            at += out_strides[d];
            if index[d] < shape[d] {
                break;
            }
            at -= shape[d] * out_strides[d];
            index[d] = 0;
        }
    }
    out
}

/// Runs `f` in a rayon pool of `threads` threads.
fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// The largest relative error of `got` against `want`, element by element.
fn max_rel_error(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "output lengths differ");
    got.iter()
        .zip(want)
        .map(|(&g, &w)| (g as f64 - w).abs() / w.abs())
        .fold(0.0, f64::max)
}

/// Checks `op` against `want` (scaled by `scale`, for a mean) within [`REL_TOL`], and that one
/// and two threads give the same bits.
#[track_caller]
fn check(what: &str, op: impl Fn() -> Tensor<f32> + Send + Sync, want: &[f64]) {
    let one = on_threads(1, &op).to_vec();
    let two = on_threads(2, &op).to_vec();
    let error = max_rel_error(&one, want);
    assert!(
        error <= REL_TOL,
        "{what}: relative error {error:.2e} exceeds {REL_TOL:.0e}"
    );
    let same = one
        .iter()
        .zip(&two)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(same, "{what}: 1 and 2 threads give different bits");
}

/// `check` for a sum over `axes`, against the f64 reference.
#[track_caller]
fn check_sum(what: &str, x: &Tensor<f32>, axes: &[usize]) {
    let want = reference(x, axes);
    check(what, || x.sum(axes.to_vec(), false), &want);
}

#[test]
fn leading_axis_of_ones_counts_every_row() {
    // Adding row after row stuck at 2^24 = 16777216, where 2^24 + 1 rounds back to 2^24. Every
    // partial sum of ones is a whole number the blocked sum holds exactly, so the result is
    // exact, in one thread and in two.
    let ones = Tensor::<f32>::ones([1 << 25, 2]);
    let all = Tensor::<f32>::ones([1 << 25]);
    for threads in [1, 2] {
        let sums = on_threads(threads, || ones.sum(0, false)).to_vec();
        assert_eq!(sums, vec![33554432.0, 33554432.0], "{threads} thread(s)");
        let total = on_threads(threads, || all.sum_all()).item();
        assert_eq!(total, 33554432.0, "{threads} thread(s)");
    }
}

#[test]
fn leading_axes_folded_over_kept_columns() {
    let x = uniform();
    let half = x.narrow(0, 0, 1 << 24);
    // The case reported: 10^6 rows of 4, off by 1.4e-5 when summed row after row.
    let million = x.narrow(0, 0, 4_000_000).reshape([1_000_000, 4]);
    check_sum("[1e6, 4] sum(0)", &million, &[0]);
    // Narrow rows on 2^25 elements: folded in parallel over blocks of rows.
    check_sum("[2^24, 2] sum(0)", &x.reshape([1 << 24, 2]), &[0]);
    check_sum("[2^20, 16] sum(0)", &half.reshape([1 << 20, 16]), &[0]);
    check_sum("[2^15, 2^9] sum(0)", &half.reshape([1 << 15, 1 << 9]), &[0]);
    check_sum(
        "[2^12, 2^12] sum(0)",
        &half.reshape([1 << 12, 1 << 12]),
        &[0],
    );
    // Rows wider than one task's columns.
    check_sum("[16, 2^20] sum(0)", &half.reshape([16, 1 << 20]), &[0]);
}

#[test]
fn last_axis_contiguous() {
    let x = uniform();
    let half = x.narrow(0, 0, 1 << 24);
    check_sum("[2, 2^24] sum(1)", &x.reshape([2, 1 << 24]), &[1]);
    check_sum(
        "[2^12, 2^12] sum(1)",
        &half.reshape([1 << 12, 1 << 12]),
        &[1],
    );
    check_sum("[2^20, 16] sum(1)", &half.reshape([1 << 20, 16]), &[1]);
}

#[test]
fn middle_axis() {
    let x = uniform();
    check_sum(
        "[2^8, 2^9, 2^8] sum(1)",
        &x.reshape([1 << 8, 1 << 9, 1 << 8]),
        &[1],
    );
    check_sum("[2, 2^23, 2] sum(1)", &x.reshape([2, 1 << 23, 2]), &[1]);
}

/// 2^24 of the shared values as a cube of side 2^8.
fn cube() -> Tensor<f32> {
    uniform()
        .narrow(0, 0, 1 << 24)
        .reshape([1 << 8, 1 << 8, 1 << 8])
}

#[test]
fn strided_folds() {
    // A transposed matrix: its last axis has stride 2^12, its first stride 1.
    let t = uniform()
        .narrow(0, 0, 1 << 24)
        .reshape([1 << 12, 1 << 12])
        .t();
    check_sum("[2^12, 2^12].t() sum(1)", &t, &[1]);
    check_sum("[2^12, 2^12].t() sum(0)", &t, &[0]);
    // A permuted view whose folded axes are neither leading nor contiguous in memory.
    let p = cube().permute(&[2, 0, 1]);
    check_sum("permuted cube sum(1)", &p, &[1]);
    check_sum("permuted cube sum([0, 2])", &p, &[0, 2]);
}

#[test]
fn several_axes_at_once() {
    let x = cube();
    check_sum("cube sum([0, 1])", &x, &[0, 1]);
    check_sum("cube sum([1, 2])", &x, &[1, 2]);
    check_sum("cube sum([0, 2])", &x, &[0, 2]);
    check_sum("cube sum([0, 1, 2])", &x, &[0, 1, 2]);
}

#[test]
fn whole_tensor_and_means() {
    let x = uniform();
    let total = reference(x, &[0]);
    check("sum_all of 2^25", || x.sum_all(), &total);
    let half = x.narrow(0, 0, 1 << 24);
    check(
        "sum_all of 2^24",
        || half.sum_all(),
        &reference(&half, &[0]),
    );
    let scale = |v: Vec<f64>, n: usize| -> Vec<f64> { v.iter().map(|s| s / n as f64).collect() };
    check("mean_all of 2^25", || x.mean_all(), &scale(total, 1 << 25));
    let pairs = x.reshape([1 << 24, 2]);
    let want = scale(reference(&pairs, &[0]), 1 << 24);
    check("[2^24, 2] mean(0)", || pairs.mean(0, false), &want);
    let rows = half.reshape([1 << 12, 1 << 12]);
    let want = scale(reference(&rows, &[1]), 1 << 12);
    check(
        "[2^12, 2^12] mean(1)",
        || rows.mean(1, true).flatten(),
        &want,
    );
}
