//! The TensorFlow Playground's data: its six generators (four classification sets with labels
//! ±1, two regression sets) and its seven input features, with the Playground's formulas, noise
//! parameter and order of points, drawing from an RNG the caller passes.
//!
//! Each generator returns the points in the order the Playground makes them (for the
//! two-class sets, all of the first class, then all of the second); the Playground then
//! shuffles the whole set once and cuts it, which is [`TensorDataset::split`]. Every value is
//! computed in `f64` as the Playground's JavaScript does, then rounded to `T`.
//!
//! `noise` is the Playground's slider divided by 100: it offers 0 to 0.5. The labels are +1
//! (blue) and −1 (orange); for a loss that wants 0/1 targets, such as `bce_with_logits`, map
//! them: `data.map_y(|y| (y + 1.0) / 2.0)`.
//!
//! ```
//! use rand::{rngs::StdRng, SeedableRng};
//! use shendu_nn::data::playground::{self, Feature};
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let data = playground::circle::<f32>(playground::CLASSIFICATION_POINTS, 0.1, &mut rng);
//! assert_eq!((data.x().shape(), data.y().shape()), (&[500, 2][..], &[500, 1][..]));
//! let (train, test) = data.split(0.5, &mut rng);
//! // The network's inputs: x₁², x₂² make the circle linearly separable.
//! let inputs = [Feature::X1Squared, Feature::X2Squared];
//! let train = train.map_x(|x| playground::features(x, &inputs));
//! assert_eq!(train.x().shape(), &[250, 2]);
//! ```
//!
//! [`TensorDataset::split`]: super::TensorDataset::split

use std::f64::consts::PI;

use rand::Rng;
use shendu_tensor::{Element, Tensor};

use super::TensorDataset;
use crate::check::fail;

/// The number of points the Playground draws for a classification set.
pub const CLASSIFICATION_POINTS: usize = 500;

/// The number of points the Playground draws for a regression set.
pub const REGRESSION_POINTS: usize = 1200;

/// A set of points `[n, 2]` with targets `[n, 1]`.
type Points<T> = TensorDataset<T, Tensor<T>>;

/// Two classes of `n` points, a disc and a ring around it: the first `⌈n/2⌉` points at
/// radius r ~ U(0, 2.5), the others at r ~ U(3.5, 5), at an angle a ~ U(0, 2π), the point being
/// (r·sin a, r·cos a). A point's label is +1 if the point shifted by (U(−5, 5)·noise,
/// U(−5, 5)·noise) lies less than 2.5 from the origin, else −1; the stored point is the
/// unshifted one. Draws per point: r, a, the two shifts.
///
/// # Panics
/// Unless `noise` is finite and ≥ 0.
#[track_caller]
pub fn circle<T: Element>(n: usize, noise: f64, rng: &mut impl Rng) -> Points<T> {
    check_noise("playground::circle", noise);
    let mut points = Builder::new(n);
    for (count, (r_low, r_high)) in halves(n).into_iter().zip([(0.0, 2.5), (3.5, 5.0)]) {
        for _ in 0..count {
            let r = uniform(rng, r_low, r_high);
            let angle = uniform(rng, 0.0, 2.0 * PI);
            let (x, y) = (r * angle.sin(), r * angle.cos());
            let shift_x = uniform(rng, -5.0, 5.0) * noise;
            let shift_y = uniform(rng, -5.0, 5.0) * noise;
            let inside = distance(x + shift_x, y + shift_y, 0.0, 0.0) < 2.5;
            points.push(x, y, sign(inside));
        }
    }
    points.finish()
}

/// Two classes of `n` points in the four quadrants: x, y ~ U(−5, 5), each pushed 0.3 away from
/// the axis (`x + 0.3` if x > 0, else `x − 0.3`, as the Playground writes it). A point's label
/// is +1 if (x + U(−5, 5)·noise)·(y + U(−5, 5)·noise) ≥ 0, else −1. Draws per point: x, y, the
/// two shifts.
///
/// # Panics
/// Unless `noise` is finite and ≥ 0.
#[track_caller]
pub fn xor<T: Element>(n: usize, noise: f64, rng: &mut impl Rng) -> Points<T> {
    check_noise("playground::xor", noise);
    let mut points = Builder::new(n);
    let pad = |v: f64| if v > 0.0 { v + 0.3 } else { v - 0.3 };
    for _ in 0..n {
        let x = pad(uniform(rng, -5.0, 5.0));
        let y = pad(uniform(rng, -5.0, 5.0));
        let shift_x = uniform(rng, -5.0, 5.0) * noise;
        let shift_y = uniform(rng, -5.0, 5.0) * noise;
        points.push(x, y, sign((x + shift_x) * (y + shift_y) >= 0.0));
    }
    points.finish()
}

/// Two Gaussian blobs of `n` points: the first `⌈n/2⌉` with both coordinates ~ N(2, v) and
/// label +1, the others ~ N(−2, v) with label −1, where the variance v = 0.5 + 7·noise grows
/// from 0.5 at noise 0 to 4 at noise 0.5. Normal values come from the Playground's method
/// (Marsaglia's polar method, one value kept per accepted pair); x is drawn before y.
///
/// # Panics
/// Unless `noise` is finite and ≥ 0.
#[track_caller]
pub fn gauss<T: Element>(n: usize, noise: f64, rng: &mut impl Rng) -> Points<T> {
    check_noise("playground::gauss", noise);
    let variance = 0.5 + (4.0 - 0.5) * (noise / 0.5);
    let mut points = Builder::new(n);
    for (count, (centre, label)) in halves(n).into_iter().zip([(2.0, 1.0), (-2.0, -1.0)]) {
        for _ in 0..count {
            let x = normal(rng, centre, variance);
            let y = normal(rng, centre, variance);
            points.push(x, y, label);
        }
    }
    points.finish()
}

/// Two interleaved spiral arms of `n` points: the first arm has the first `⌈n/2⌉` points with
/// label +1, the second the others with label −1. Point i of an arm of m points has radius
/// r = 5i/m and angle t = 1.75·2π·i/m + δ (δ = 0 for the first arm, π for the second), and is
/// (r·sin t + U(−1, 1)·noise, r·cos t + U(−1, 1)·noise). Draws per point: the two shifts.
///
/// # Panics
/// Unless `noise` is finite and ≥ 0.
#[track_caller]
pub fn spiral<T: Element>(n: usize, noise: f64, rng: &mut impl Rng) -> Points<T> {
    check_noise("playground::spiral", noise);
    let mut points = Builder::new(n);
    for (m, (delta, label)) in halves(n).into_iter().zip([(0.0, 1.0), (PI, -1.0)]) {
        for i in 0..m {
            let (r, t) = spiral_polar(i, m, delta);
            let x = r * t.sin() + uniform(rng, -1.0, 1.0) * noise;
            let y = r * t.cos() + uniform(rng, -1.0, 1.0) * noise;
            points.push(x, y, label);
        }
    }
    points.finish()
}

/// The radius and angle of point `i` of a spiral arm of `m` points turned by `delta`, with the
/// Playground's order of operations.
fn spiral_polar(i: usize, m: usize, delta: f64) -> (f64, f64) {
    let (i, m) = (i as f64, m as f64);
    (i / m * 5.0, 1.75 * i / m * 2.0 * PI + delta)
}

/// A regression set of `n` points on a tilted plane: x, y ~ U(−6, 6), target (x' + y')/10 where
/// x' and y' are x and y shifted by U(−6, 6)·noise. Draws per point: x, y, the two shifts.
///
/// # Panics
/// Unless `noise` is finite and ≥ 0.
#[track_caller]
pub fn plane<T: Element>(n: usize, noise: f64, rng: &mut impl Rng) -> Points<T> {
    check_noise("playground::plane", noise);
    regression(n, noise, rng, |x, y| (x + y) / 10.0)
}

/// A regression set of `n` points over six bumps: x, y ~ U(−6, 6); centres (−4, 2.5), (0, 2.5),
/// (4, 2.5), (−4, −2.5), (0, −2.5), (4, −2.5) with signs +, −, +, −, +, −; the target is, of the
/// values sign·max(0, 1 − d/2) over the centres (d the distance from the centre to the point
/// shifted by (U(−6, 6)·noise, U(−6, 6)·noise)), the one of largest magnitude, the first on a
/// tie, 0 far from all. Draws per point: x, y, the two shifts.
///
/// # Panics
/// Unless `noise` is finite and ≥ 0.
#[track_caller]
pub fn multi_gaussian<T: Element>(n: usize, noise: f64, rng: &mut impl Rng) -> Points<T> {
    check_noise("playground::multi_gaussian", noise);
    regression(n, noise, rng, multi_gaussian_target)
}

/// The target of [`multi_gaussian`] at a (shifted) point.
fn multi_gaussian_target(x: f64, y: f64) -> f64 {
    const CENTRES: [(f64, f64, f64); 6] = [
        (-4.0, 2.5, 1.0),
        (0.0, 2.5, -1.0),
        (4.0, 2.5, 1.0),
        (-4.0, -2.5, -1.0),
        (0.0, -2.5, 1.0),
        (4.0, -2.5, -1.0),
    ];
    let mut target: f64 = 0.0;
    for (cx, cy, sign) in CENTRES {
        let value = sign * (1.0 - distance(x, y, cx, cy) / 2.0).clamp(0.0, 1.0);
        if value.abs() > target.abs() {
            target = value;
        }
    }
    target
}

/// The two regression sets: uniform points over [−6, 6)², targets from noise-shifted points.
fn regression<T: Element>(
    n: usize,
    noise: f64,
    rng: &mut impl Rng,
    target: impl Fn(f64, f64) -> f64,
) -> Points<T> {
    let mut points = Builder::new(n);
    for _ in 0..n {
        let x = uniform(rng, -6.0, 6.0);
        let y = uniform(rng, -6.0, 6.0);
        let shift_x = uniform(rng, -6.0, 6.0) * noise;
        let shift_y = uniform(rng, -6.0, 6.0) * noise;
        points.push(x, y, target(x + shift_x, y + shift_y));
    }
    points.finish()
}

/// One of the Playground's seven input features, a function of a point (x₁, x₂).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Feature {
    /// x₁.
    X1,
    /// x₂.
    X2,
    /// x₁².
    X1Squared,
    /// x₂².
    X2Squared,
    /// x₁·x₂.
    X1X2,
    /// sin x₁.
    SinX1,
    /// sin x₂.
    SinX2,
}

impl Feature {
    /// All seven, in the Playground's order.
    pub const ALL: [Feature; 7] = [
        Feature::X1,
        Feature::X2,
        Feature::X1Squared,
        Feature::X2Squared,
        Feature::X1X2,
        Feature::SinX1,
        Feature::SinX2,
    ];

    /// The Playground's default inputs: x₁ and x₂.
    pub const DEFAULT: [Feature; 2] = [Feature::X1, Feature::X2];

    /// The feature's value at the point (x₁, x₂).
    ///
    /// ```
    /// # use shendu_nn::data::playground::Feature;
    /// assert_eq!(Feature::X1X2.value(3.0f32, -2.0), -6.0);
    /// ```
    pub fn value<T: Element>(self, x1: T, x2: T) -> T {
        match self {
            Feature::X1 => x1,
            Feature::X2 => x2,
            Feature::X1Squared => x1 * x1,
            Feature::X2Squared => x2 * x2,
            Feature::X1X2 => x1 * x2,
            Feature::SinX1 => x1.sin(),
            Feature::SinX2 => x2.sin(),
        }
    }

    /// The Playground's label for the feature: `X_1`, `X_1^2`, `X_1X_2`, `sin(X_1)`, ….
    pub fn name(self) -> &'static str {
        match self {
            Feature::X1 => "X_1",
            Feature::X2 => "X_2",
            Feature::X1Squared => "X_1^2",
            Feature::X2Squared => "X_2^2",
            Feature::X1X2 => "X_1X_2",
            Feature::SinX1 => "sin(X_1)",
            Feature::SinX2 => "sin(X_2)",
        }
    }
}

/// The network's inputs for points `[n, 2]`: a tensor `[n, k]` whose column j is
/// `features[j]` of each point. Give the features in the Playground's order
/// ([`Feature::ALL`] filtered) to have its input layout.
///
/// ```
/// # use shendu_nn::data::playground::{features, Feature};
/// # use shendu_tensor::Tensor;
/// let points = Tensor::from_vec(vec![2.0f64, 3.0], [1, 2]);
/// let inputs = features(&points, &[Feature::X1, Feature::X1Squared, Feature::X1X2]);
/// assert_eq!(inputs.to_vec(), vec![2.0, 4.0, 6.0]);
/// ```
///
/// # Panics
/// If `points` is not of shape `[n, 2]`.
#[track_caller]
pub fn features<T: Element>(points: &Tensor<T>, features: &[Feature]) -> Tensor<T> {
    let &[n, 2] = points.shape() else {
        fail(
            "playground::features",
            format!("points must have shape [n, 2], got {:?}", points.shape()),
        );
    };
    let points = points.contiguous();
    let xy = points.as_slice().unwrap_or_default();
    let mut out = Vec::with_capacity(n.saturating_mul(features.len()));
    for point in xy.chunks_exact(2) {
        out.extend(features.iter().map(|f| f.value(point[0], point[1])));
    }
    Tensor::from_vec(out, [n, features.len()])
}

/// The sizes of the two halves of `n` points: the first gets the odd one.
fn halves(n: usize) -> [usize; 2] {
    [n - n / 2, n / 2]
}

/// U(low, high) as the Playground draws it: `random() · (high − low) + low`.
fn uniform(rng: &mut impl Rng, low: f64, high: f64) -> f64 {
    rng.random::<f64>() * (high - low) + low
}

/// N(mean, variance) by the Playground's polar method. Unlike it, a pair at the origin
/// (s = 0, where the formula is 0/0) is redrawn too.
fn normal(rng: &mut impl Rng, mean: f64, variance: f64) -> f64 {
    loop {
        let v1 = 2.0 * rng.random::<f64>() - 1.0;
        let v2 = 2.0 * rng.random::<f64>() - 1.0;
        let s = v1 * v1 + v2 * v2;
        if s <= 1.0 && s > 0.0 {
            return mean + variance.sqrt() * ((-2.0 * s.ln() / s).sqrt() * v1);
        }
    }
}

/// The Euclidean distance written as the Playground writes it (not `hypot`, which can differ in
/// the last bit and so flip a label on the boundary).
fn distance(x: f64, y: f64, cx: f64, cy: f64) -> f64 {
    let (dx, dy) = (x - cx, y - cy);
    (dx * dx + dy * dy).sqrt()
}

fn sign(positive: bool) -> f64 {
    if positive {
        1.0
    } else {
        -1.0
    }
}

#[track_caller]
fn check_noise(what: &str, noise: f64) {
    if !(noise.is_finite() && noise >= 0.0) {
        fail(
            what,
            format!("noise must be finite and ≥ 0 (the Playground offers 0 to 0.5), got {noise}"),
        );
    }
}

/// Points and targets collected row by row, then made into one dataset.
struct Builder<T> {
    x: Vec<T>,
    y: Vec<T>,
}

impl<T: Element> Builder<T> {
    fn new(n: usize) -> Self {
        Builder {
            x: Vec::with_capacity(n.saturating_mul(2)),
            y: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, x: f64, y: f64, target: f64) {
        self.x.push(T::from_f64_lossy(x));
        self.x.push(T::from_f64_lossy(y));
        self.y.push(T::from_f64_lossy(target));
    }

    fn finish(self) -> Points<T> {
        let n = self.y.len();
        TensorDataset::new(
            Tensor::from_vec(self.x, [n, 2]),
            Tensor::from_vec(self.y, [n, 1]),
        )
    }
}
