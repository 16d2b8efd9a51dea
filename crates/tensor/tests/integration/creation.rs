//! Constructors: filled tensors, ranges, the identity, and seeded random tensors (reproducible,
//! with the right moments).

use crate::common;

use common::rng;
use shendu_tensor::Tensor;

#[test]
fn zeros_ones_full_and_their_like_forms() {
    let z = Tensor::<f32>::zeros([2, 3]);
    assert_eq!(z.shape(), &[2, 3]);
    assert_eq!(z.to_vec(), vec![0.0; 6]);
    let o = Tensor::<f64>::ones([4]);
    assert_eq!(o.to_vec(), vec![1.0; 4]);
    let f = Tensor::full([3, 1], -2.5f32);
    assert_eq!(f.shape(), &[3, 1]);
    assert_eq!(f.to_vec(), vec![-2.5; 3]);
    assert!(f.is_contiguous());
    assert_eq!(Tensor::zeros_like(&f).to_vec(), vec![0.0; 3]);
    assert_eq!(Tensor::ones_like(&f).shape(), &[3, 1]);
    assert_eq!(Tensor::ones_like(&f).to_vec(), vec![1.0; 3]);
    // Rank 0 and empty shapes.
    let s = Tensor::full((), 4.0f64);
    assert_eq!(s.shape(), &[] as &[usize]);
    assert_eq!(s.item(), 4.0);
    assert_eq!(Tensor::<f32>::zeros([2, 0]).numel(), 0);
    assert_eq!(Tensor::scalar(3.0f32).rank(), 0);
}

#[test]
fn large_full_is_filled_everywhere() {
    // Large buffers come from a pool of recycled allocations: every element must be written.
    let n = 1 << 20;
    let junk = Tensor::full([n], 7.0f32);
    drop(junk);
    let z = Tensor::<f32>::zeros([n]);
    assert!(z.to_vec().iter().all(|&x| x == 0.0));
    let f = Tensor::full([n], 3.0f32);
    assert!(f.to_vec().iter().all(|&x| x == 3.0));
}

#[test]
fn arange_counts_from_zero() {
    assert_eq!(
        Tensor::<f32>::arange(5).to_vec(),
        vec![0.0, 1.0, 2.0, 3.0, 4.0]
    );
    assert_eq!(Tensor::<f32>::arange(5).shape(), &[5]);
    assert_eq!(Tensor::<f64>::arange(0).shape(), &[0]);
}

#[test]
fn arange_step_excludes_the_end_and_goes_either_way() {
    assert_eq!(
        Tensor::arange_step(1.0f64, 2.0, 0.25).to_vec(),
        vec![1.0, 1.25, 1.5, 1.75]
    );
    assert_eq!(
        Tensor::arange_step(5.0f32, 0.0, -2.0).to_vec(),
        vec![5.0, 3.0, 1.0]
    );
    assert_eq!(
        Tensor::arange_step(0.0f32, 3.0, 1.0).to_vec(),
        vec![0.0, 1.0, 2.0]
    );
    // NumPy's lengths: ceil((end − start) / step).
    assert_eq!(Tensor::arange_step(0.0f64, 1.0, 0.1).numel(), 10);
    assert_eq!(Tensor::arange_step(0.0f64, 0.3, 0.1).numel(), 3);
    assert_eq!(
        Tensor::arange_step(0.0f64, 2.5, 1.0).to_vec(),
        vec![0.0, 1.0, 2.0]
    );
    // An empty range when the step points away from the end.
    assert_eq!(Tensor::arange_step(0.0f32, 5.0, -1.0).numel(), 0);
    assert_eq!(Tensor::arange_step(2.0f32, 2.0, 1.0).numel(), 0);
}

#[test]
fn linspace_includes_both_ends() {
    assert_eq!(
        Tensor::linspace(0.0f32, 1.0, 5).to_vec(),
        vec![0.0, 0.25, 0.5, 0.75, 1.0]
    );
    assert_eq!(
        Tensor::linspace(1.0f64, -1.0, 3).to_vec(),
        vec![1.0, 0.0, -1.0]
    );
    assert_eq!(Tensor::linspace(2.0f64, 9.0, 1).to_vec(), vec![2.0]);
    assert_eq!(Tensor::linspace(2.0f64, 9.0, 0).shape(), &[0]);
    // The last value is the end exactly, even when start + 3·step rounds elsewhere.
    let l = Tensor::linspace(0.0f64, 0.3, 4).to_vec();
    assert_eq!(l[3], 0.3);
    assert!((l[1] - 0.1).abs() < 1e-16 && (l[2] - 0.2).abs() < 1e-16);
}

#[test]
fn eye_is_the_identity() {
    let i = Tensor::<f32>::eye(3);
    assert_eq!(i.shape(), &[3, 3]);
    assert_eq!(
        i.to_vec(),
        vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(Tensor::<f64>::eye(1).to_vec(), vec![1.0]);
    assert_eq!(Tensor::<f64>::eye(0).shape(), &[0, 0]);
}

/// Mean and standard deviation (population) in f64.
fn moments(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[test]
fn rand_uniform_is_reproducible_from_the_seed() {
    let a = Tensor::rand_uniform([100], -1.0f32, 1.0, &mut rng(7));
    let b = Tensor::rand_uniform([100], -1.0f32, 1.0, &mut rng(7));
    let c = Tensor::rand_uniform([100], -1.0f32, 1.0, &mut rng(8));
    assert_eq!(a.to_vec(), b.to_vec());
    assert_ne!(a.to_vec(), c.to_vec());
    // The generator advances: two draws from one RNG differ.
    let mut r = rng(7);
    let first = Tensor::rand_uniform([100], -1.0f32, 1.0, &mut r);
    let second = Tensor::rand_uniform([100], -1.0f32, 1.0, &mut r);
    assert_eq!(first.to_vec(), a.to_vec());
    assert_ne!(first.to_vec(), second.to_vec());
}

#[test]
fn rand_uniform_has_the_range_and_moments_of_the_distribution() {
    let (lo, hi) = (-2.0f64, 4.0);
    let t = Tensor::rand_uniform([100_000], lo, hi, &mut rng(1));
    let x = t.to_vec();
    assert!(x.iter().all(|&v| (lo..hi).contains(&v)));
    let (mean, std) = moments(&x);
    // Uniform on [-2, 4): mean 1, std 6/√12 ≈ 1.732; the mean's standard error is ≈ 0.0055.
    assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
    assert!((std - 6.0 / 12f64.sqrt()).abs() < 0.02, "std {std}");
    // Both ends of the interval are reached (to within a bin of 1/1000 of the width).
    let (min, max) = x
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(min < lo + 0.006 && max > hi - 0.006, "range {min}..{max}");
    // f32 too, in its own shape.
    let t32 = Tensor::rand_uniform([250, 400], 0.0f32, 1.0, &mut rng(2));
    assert_eq!(t32.shape(), &[250, 400]);
    let x: Vec<f64> = t32.to_vec().into_iter().map(f64::from).collect();
    let (mean, std) = moments(&x);
    assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
    assert!((std - 1.0 / 12f64.sqrt()).abs() < 0.005, "std {std}");
}

#[test]
fn rand_normal_is_reproducible_and_has_the_requested_moments() {
    let a = Tensor::rand_normal([64], 0.0f64, 1.0, &mut rng(3));
    let b = Tensor::rand_normal([64], 0.0f64, 1.0, &mut rng(3));
    assert_eq!(a.to_vec(), b.to_vec());
    assert_ne!(
        a.to_vec(),
        Tensor::rand_normal([64], 0.0f64, 1.0, &mut rng(4)).to_vec()
    );

    let t = Tensor::rand_normal([100_000], 3.0f32, 2.0, &mut rng(5));
    let x: Vec<f64> = t.to_vec().into_iter().map(f64::from).collect();
    let (mean, std) = moments(&x);
    // Standard error of the mean: 2/√1e5 ≈ 0.0063; of the std: ≈ 2/√2e5 ≈ 0.0045.
    assert!((mean - 3.0).abs() < 0.03, "mean {mean}");
    assert!((std - 2.0).abs() < 0.025, "std {std}");
    // About 68.3% within one standard deviation, 95.4% within two.
    let within = |k: f64| x.iter().filter(|&&v| (v - 3.0).abs() < 2.0 * k).count() as f64 / 1e5;
    assert!((within(1.0) - 0.6827).abs() < 0.01, "{}", within(1.0));
    assert!((within(2.0) - 0.9545).abs() < 0.005, "{}", within(2.0));
}

#[test]
fn cast_converts_between_element_types() {
    let t = Tensor::from_vec(vec![0.1f64, -2.5, 1e40], [3]);
    let c = t.cast::<f32>();
    assert_eq!(c.to_vec(), vec![0.1f32, -2.5, f32::INFINITY]);
    let back = Tensor::from_vec(vec![0.1f32], [1]).cast::<f64>();
    assert_eq!(back.item(), 0.1f32 as f64);
    // A view casts in logical order.
    let m = Tensor::<f64>::arange(6).reshape([2, 3]).t().cast::<f32>();
    assert_eq!(m.shape(), &[3, 2]);
    assert_eq!(m.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
}
