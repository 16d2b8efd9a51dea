//! Property tests of reductions over random axis sets (written from the front or the back, in
//! any order, with and without keepdim) on non-contiguous views, against naive loops: sums,
//! means and variances to a tight tolerance (their order differs), extremes and their positions
//! exactly; and the softmax family along any axis, at inputs up to ±1e4.

use crate::common;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use shendu_tensor::{Correction, Element, Tensor};

/// A view and a set of its axes, each written from the front or the back at random, in random
/// order.
fn view_and_axes(kind: Values) -> BoxedStrategy<(ViewSpec, Vec<isize>, bool)> {
    any_view(kind)
        .prop_flat_map(|v| {
            let rank = v.shape().len();
            let axes =
                prop::sample::subsequence((0..rank).collect::<Vec<_>>(), 0..=rank).prop_shuffle();
            (
                Just(v),
                axes,
                prop::collection::vec(any::<bool>(), rank),
                any::<bool>(),
            )
        })
        .prop_map(|(v, axes, negative, keepdim)| {
            let rank = v.shape().len() as isize;
            let signed = axes
                .iter()
                .map(|&a| {
                    if negative[a] {
                        a as isize - rank
                    } else {
                        a as isize
                    }
                })
                .collect();
            (v, signed, keepdim)
        })
        .boxed()
}

fn sorted_axes(signed: &[isize], rank: usize) -> Vec<usize> {
    let mut axes: Vec<usize> = signed
        .iter()
        .map(|&a| {
            if a < 0 {
                (a + rank as isize) as usize
            } else {
                a as usize
            }
        })
        .collect();
    axes.sort_unstable();
    axes
}

#[derive(Clone, Copy, Debug)]
enum Reduction {
    Sum,
    Mean,
    Max,
    Min,
    Var0,
    Var1,
    LogSumExp,
}

const REDUCTIONS: [Reduction; 7] = [
    Reduction::Sum,
    Reduction::Mean,
    Reduction::Max,
    Reduction::Min,
    Reduction::Var0,
    Reduction::Var1,
    Reduction::LogSumExp,
];

impl Reduction {
    /// The op over `axes`; a single axis goes through the one-axis form.
    fn apply<T: Element>(self, t: &Tensor<T>, axes: &[isize], keepdim: bool) -> Tensor<T> {
        let list = axes.to_vec();
        if let [axis] = axes {
            let axis = *axis;
            return match self {
                Reduction::Sum => t.sum(axis, keepdim),
                Reduction::Mean => t.mean(axis, keepdim),
                Reduction::Max => t.max(axis, keepdim),
                Reduction::Min => t.min(axis, keepdim),
                Reduction::Var0 => t.var(axis, Correction(0), keepdim),
                Reduction::Var1 => t.var(axis, Correction(1), keepdim),
                Reduction::LogSumExp => t.log_sum_exp(axis, keepdim),
            };
        }
        match self {
            Reduction::Sum => t.sum(list, keepdim),
            Reduction::Mean => t.mean(list, keepdim),
            Reduction::Max => t.max(list, keepdim),
            Reduction::Min => t.min(list, keepdim),
            Reduction::Var0 => t.var(list, Correction(0), keepdim),
            Reduction::Var1 => t.var(list, Correction(1), keepdim),
            Reduction::LogSumExp => t.log_sum_exp(list, keepdim),
        }
    }

    /// The reference value of each output, and the scale its rounding error is relative to.
    fn reference(self, x: &[f64], shape: &[usize], axes: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let abs: Vec<f64> = x.iter().map(|v| v.abs()).collect();
        let count = fold_count(shape, axes) as f64;
        match self {
            Reduction::Sum => (sum_ref(x, shape, axes), sum_ref(&abs, shape, axes)),
            Reduction::Mean => (mean_ref(x, shape, axes), mean_ref(&abs, shape, axes)),
            Reduction::Max => (
                max_ref(x, shape, axes),
                vec![0.0; numel(&reduced_shape(shape, axes, true))],
            ),
            Reduction::Min => (
                min_ref(x, shape, axes),
                vec![0.0; numel(&reduced_shape(shape, axes, true))],
            ),
            Reduction::Var0 | Reduction::Var1 => {
                let correction = if matches!(self, Reduction::Var0) {
                    0
                } else {
                    1
                };
                let squares: Vec<f64> = x.iter().map(|v| v * v).collect();
                let divisor = (count - correction as f64).abs();
                let var = var_ref(x, shape, axes, correction);
                let scale = sum_ref(&squares, shape, axes)
                    .iter()
                    .zip(&var)
                    .map(|(s, v)| s / divisor + v.abs())
                    .collect();
                (var, scale)
            }
            Reduction::LogSumExp => {
                let max = max_ref(x, shape, axes);
                let mut sums = vec![0.0; max.len()];
                for (flat, &v) in x.iter().enumerate() {
                    let mut index = unravel(flat, shape);
                    for &a in axes {
                        index[a] = 0;
                    }
                    let o = ravel(&index, &reduced_shape(shape, axes, true));
                    sums[o] += (v - max[o]).exp();
                }
                let lse: Vec<f64> = sums.iter().zip(&max).map(|(s, m)| m + s.ln()).collect();
                let scale = max.iter().map(|m| m.abs() + count.ln() + 1.0).collect();
                (lse, scale)
            }
        }
    }

    /// Whether the op is defined for these axes: the extreme-value ops need a non-empty fold.
    fn defined(self, shape: &[usize], axes: &[usize]) -> bool {
        let nonempty =
            axes.iter().all(|&a| shape[a] > 0) && !(axes.is_empty() && numel(shape) == 0);
        match self {
            Reduction::Max | Reduction::Min | Reduction::LogSumExp => nonempty,
            // var with correction 1 over an empty axis divides by −1; pinned in reductions.rs.
            Reduction::Var1 => fold_count(shape, axes) >= 1,
            Reduction::Sum | Reduction::Mean | Reduction::Var0 => true,
        }
    }
}

fn check_reductions<T: Element>(
    v: &ViewSpec,
    signed: &[isize],
    keepdim: bool,
    rel: f64,
) -> Result<(), TestCaseError> {
    let t = v.tensor::<T>();
    let shape = v.shape();
    let axes = sorted_axes(signed, shape.len());
    let x: Vec<f64> = v
        .values_as::<T>()
        .into_iter()
        .map(Element::to_f64_exact)
        .collect();
    for op in REDUCTIONS {
        if !op.defined(&shape, &axes) {
            continue;
        }
        let got = op.apply(&t, signed, keepdim);
        prop_assert_eq!(
            got.shape(),
            &reduced_shape(&shape, &axes, keepdim)[..],
            "{:?} over {:?}",
            op,
            signed
        );
        let (want, scale) = op.reference(&x, &shape, &axes);
        let result = close_to(&to_f64(&got), &want, &scale, rel);
        prop_assert!(
            result.is_ok(),
            "{:?} of {:?} over {:?}: {}",
            op,
            shape,
            signed,
            result.unwrap_err()
        );
    }
    Ok(())
}

fn check_arg<T: Element>(v: &ViewSpec, axis: isize, keepdim: bool) -> Result<(), TestCaseError> {
    let t = v.tensor::<T>();
    let shape = v.shape();
    let a = sorted_axes(&[axis], shape.len())[0];
    let x: Vec<f64> = v
        .values_as::<T>()
        .into_iter()
        .map(Element::to_f64_exact)
        .collect();
    for largest in [true, false] {
        let got = if largest {
            t.argmax(axis, keepdim)
        } else {
            t.argmin(axis, keepdim)
        };
        prop_assert_eq!(got.shape(), &reduced_shape(&shape, &[a], keepdim)[..]);
        let want = arg_ref(&x, &shape, a, largest);
        let got: Vec<f64> = got.to_vec().into_iter().map(|i| i as f64).collect();
        prop_assert_eq!(got, want, "largest = {}", largest);
    }
    if numel(&shape) > 0 {
        // The whole-tensor forms: the first extreme in row-major order.
        let flat = vec![numel(&shape)];
        prop_assert_eq!(t.argmax_all() as f64, arg_ref(&x, &flat, 0, true)[0]);
        prop_assert_eq!(t.argmin_all() as f64, arg_ref(&x, &flat, 0, false)[0]);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn reductions_match_naive_loops_f64((v, axes, keepdim) in view_and_axes(Values::Finite)) {
        check_reductions::<f64>(&v, &axes, keepdim, 1e-13)?;
    }

    #[test]
    fn reductions_match_naive_loops_f32((v, axes, keepdim) in view_and_axes(Values::Finite)) {
        check_reductions::<f32>(&v, &axes, keepdim, 2e-5)?;
    }

    #[test]
    fn max_min_are_exact_with_ties_and_nan((v, axes, keepdim) in view_and_axes(Values::TiesAndNan)) {
        let t = v.tensor::<f64>();
        let shape = v.shape();
        let sorted = sorted_axes(&axes, shape.len());
        prop_assume!(Reduction::Max.defined(&shape, &sorted));
        let x = v.values();
        for (got, want) in [
            (Reduction::Max.apply(&t, &axes, keepdim), max_ref(&x, &shape, &sorted)),
            (Reduction::Min.apply(&t, &axes, keepdim), min_ref(&x, &shape, &sorted)),
        ] {
            let got = to_f64(&got);
            prop_assert!(got.iter().zip(&want).all(|(&g, &w)| g == w || (g.is_nan() && w.is_nan())), "{:?} != {:?}", got, want);
        }
    }

    #[test]
    fn argmax_argmin_pick_the_first_extreme(
        (v, axis, keepdim) in nonempty_shape(1, 4)
            .prop_flat_map(|s| {
                let rank = s.len() as isize;
                (view_of(s, Values::TiesAndNan), -rank..rank, any::<bool>())
            })
    ) {
        check_arg::<f64>(&v, axis, keepdim)?;
        check_arg::<f32>(&v, axis, keepdim)?;
    }

    #[test]
    fn whole_tensor_reductions_match(v in any_view(Values::Finite)) {
        let t = v.tensor::<f64>();
        let x = v.values();
        let n = x.len();
        let sum: f64 = x.iter().sum();
        let abs: f64 = x.iter().map(|v| v.abs()).sum();
        prop_assert_eq!(t.sum_all().rank(), 0);
        prop_assert!((t.sum_all().item() - sum).abs() <= 1e-13 * abs);
        let mean = t.mean_all().item();
        prop_assert!((n == 0 && mean.is_nan()) || (mean - sum / n as f64).abs() <= 1e-13 * abs / n as f64);
        if n > 0 {
            let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let min = x.iter().copied().fold(f64::INFINITY, f64::min);
            prop_assert_eq!(t.max_all().item(), max);
            prop_assert_eq!(t.min_all().item(), min);
        }
        if n > 1 {
            let m = sum / n as f64;
            let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
            let sq: f64 = x.iter().map(|v| v * v).sum();
            let var = t.var_all(Correction(1)).item();
            prop_assert!((var - ss / (n - 1) as f64).abs() <= 1e-13 * (sq / (n - 1) as f64 + 1e-300));
        }
    }

    #[test]
    fn softmax_and_log_softmax_match_the_reference(
        (v, axis) in nonempty_shape(1, 4).prop_flat_map(|s| {
            let rank = s.len() as isize;
            (view_of(s, Values::Finite), -rank..rank)
        }),
        scale in prop::sample::select(vec![1.0, 1e3]),
    ) {
        // Scaled by 1e3 the inputs reach ±1e4, where exp overflows unless shifted.
        let v = ViewSpec { base: v.base.iter().map(|x| x * scale).collect(), ..v };
        let shape = v.shape();
        let a = sorted_axes(&[axis], shape.len())[0];
        let x = v.values();
        // Reference: exp(x − max) / Σ exp(x − max) per line along `a`, in f64.
        let max = max_ref(&x, &shape, &[a]);
        let kept = reduced_shape(&shape, &[a], true);
        let line = |flat: usize| {
            let mut index = unravel(flat, &shape);
            index[a] = 0;
            ravel(&index, &kept)
        };
        let mut sums = vec![0.0; max.len()];
        for (flat, &xv) in x.iter().enumerate() {
            sums[line(flat)] += (xv - max[line(flat)]).exp();
        }
        let p: Vec<f64> = x.iter().enumerate().map(|(f, &xv)| (xv - max[line(f)]).exp() / sums[line(f)]).collect();
        let logp: Vec<f64> =
            x.iter().enumerate().map(|(f, &xv)| (xv - max[line(f)]) - sums[line(f)].ln()).collect();
        let t = v.tensor::<f64>();
        prop_assert_eq!(t.softmax(axis).shape().to_vec(), shape.clone());
        let ones = vec![1.0; p.len()];
        let r = close_to(&to_f64(&t.softmax(axis)), &p, &ones, 1e-14);
        prop_assert!(r.is_ok(), "softmax f64: {}", r.unwrap_err());
        // f32: inputs are rounded to f32 first, so compare with the reference of those.
        let t32 = v.tensor::<f32>();
        let x32: Vec<f64> = v.values_as::<f32>().into_iter().map(f64::from).collect();
        let max32 = max_ref(&x32, &shape, &[a]);
        let mut sums32 = vec![0.0; max32.len()];
        for (flat, &xv) in x32.iter().enumerate() {
            sums32[line(flat)] += (xv - max32[line(flat)]).exp();
        }
        let p32: Vec<f64> =
            x32.iter().enumerate().map(|(f, &xv)| (xv - max32[line(f)]).exp() / sums32[line(f)]).collect();
        let r = close_to(&to_f64(&t32.softmax(axis)), &p32, &ones, 1e-6);
        prop_assert!(r.is_ok(), "softmax f32: {}", r.unwrap_err());
        // log_softmax: exact to rounding of the result, whatever the size of the inputs.
        let log_scale: Vec<f64> = logp.iter().map(|l| 1.0 + l.abs()).collect();
        let r = close_to(&to_f64(&t.log_softmax(axis)), &logp, &log_scale, 1e-14);
        prop_assert!(r.is_ok(), "log_softmax f64: {}", r.unwrap_err());
    }
}
