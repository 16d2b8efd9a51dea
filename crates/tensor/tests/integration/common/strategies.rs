//! Views built from a base tensor and movement ops, with the reference layout tracked here, and
//! the proptest strategies that draw shapes, values, views and broadcastable pairs.

use proptest::prelude::*;
use shendu_tensor::{Element, Tensor};

use super::reference::{numel, strides_of, unravel};

// ---------------------------------------------------------------------------------------------
// Views: a base tensor plus movement ops, with a reference layout computed here
// ---------------------------------------------------------------------------------------------

/// One movement op applied to build a view.
#[derive(Clone, Debug)]
pub enum ViewStep {
    /// `permute(perm)`.
    Permute(Vec<usize>),
    /// `transpose(a, b)`.
    Transpose(usize, usize),
    /// `narrow(axis, start, len)`.
    Narrow(usize, usize, usize),
    /// `broadcast_to(shape)`.
    Broadcast(Vec<usize>),
}

/// A base tensor (row-major values) and the movement ops that make a view of it.
#[derive(Clone, Debug)]
pub struct ViewSpec {
    pub base_shape: Vec<usize>,
    pub base: Vec<f64>,
    pub steps: Vec<ViewStep>,
}

/// Shape, strides and offset, tracked here independently of the library's `Layout`.
struct RefLayout {
    shape: Vec<usize>,
    strides: Vec<usize>,
    offset: usize,
}

impl RefLayout {
    fn apply(&mut self, step: &ViewStep) {
        match step {
            ViewStep::Permute(perm) => {
                self.shape = perm.iter().map(|&p| self.shape[p]).collect();
                self.strides = perm.iter().map(|&p| self.strides[p]).collect();
            }
            ViewStep::Transpose(a, b) => {
                self.shape.swap(*a, *b);
                self.strides.swap(*a, *b);
            }
            ViewStep::Narrow(axis, start, len) => {
                self.offset += start * self.strides[*axis];
                self.shape[*axis] = *len;
            }
            ViewStep::Broadcast(target) => {
                let lead = target.len() - self.shape.len();
                let mut strides = vec![0; target.len()];
                for i in 0..self.shape.len() {
                    if self.shape[i] == target[lead + i] {
                        strides[lead + i] = self.strides[i];
                    }
                }
                self.shape = target.clone();
                self.strides = strides;
            }
        }
    }
}

impl ViewSpec {
    /// A contiguous tensor with these values.
    pub fn contiguous(shape: Vec<usize>, values: Vec<f64>) -> Self {
        ViewSpec {
            base_shape: shape,
            base: values,
            steps: vec![],
        }
    }

    fn layout(&self) -> RefLayout {
        let mut layout = RefLayout {
            shape: self.base_shape.clone(),
            strides: strides_of(&self.base_shape),
            offset: 0,
        };
        for step in &self.steps {
            layout.apply(step);
        }
        layout
    }

    /// The view's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.layout().shape
    }

    /// The view's elements in row-major order, by index arithmetic on the base.
    pub fn values(&self) -> Vec<f64> {
        let layout = self.layout();
        (0..numel(&layout.shape))
            .map(|flat| {
                let index = unravel(flat, &layout.shape);
                let at: usize = index.iter().zip(&layout.strides).map(|(i, s)| i * s).sum();
                self.base[layout.offset + at]
            })
            .collect()
    }

    /// The view's elements converted to `T`.
    pub fn values_as<T: Element>(&self) -> Vec<T> {
        self.values().into_iter().map(T::from_f64_lossy).collect()
    }

    /// The view built with the library's movement ops.
    pub fn tensor<T: Element>(&self) -> Tensor<T> {
        let base = self.base.iter().map(|&x| T::from_f64_lossy(x)).collect();
        let mut t = Tensor::from_vec(base, self.base_shape.clone());
        for step in &self.steps {
            t = match step {
                ViewStep::Permute(perm) => t.permute(perm),
                ViewStep::Transpose(a, b) => t.transpose(*a, *b),
                ViewStep::Narrow(axis, start, len) => t.narrow(*axis, *start, *len),
                ViewStep::Broadcast(shape) => t.broadcast_to(shape.clone()),
            };
        }
        t
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Which values to draw.
#[derive(Clone, Copy, Debug)]
pub enum Values {
    /// Mostly ordinary numbers, sometimes small integers (ties) and special values (±0, ±∞,
    /// NaN, ±1e4).
    Any,
    /// Finite numbers in [-10, 10].
    Finite,
    /// Integers in [-3, 3], so that maxima tie; sometimes a NaN.
    TiesAndNan,
    /// Whole numbers in `0..bound`, for index tensors.
    Indices(usize),
}

/// One value of the given kind.
pub fn value(kind: Values) -> BoxedStrategy<f64> {
    let special = prop::sample::select(vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1e4,
        -1e4,
        0.5,
    ]);
    match kind {
        Values::Any => prop_oneof![
            8 => -10.0..10.0f64,
            1 => (-3i32..=3).prop_map(f64::from),
            1 => special,
        ]
        .boxed(),
        Values::Finite => (-10.0..10.0f64).boxed(),
        Values::TiesAndNan => prop_oneof![
            15 => (-3i32..=3).prop_map(f64::from),
            1 => Just(f64::NAN),
        ]
        .boxed(),
        // An empty range can only fill empty tensors; 0 keeps the strategy well-formed.
        Values::Indices(bound) => (0..bound.max(1)).prop_map(|i| i as f64).boxed(),
    }
}

/// `n` values of the given kind.
pub fn values(n: usize, kind: Values) -> BoxedStrategy<Vec<f64>> {
    prop::collection::vec(value(kind), n).boxed()
}

/// A dimension size in 0..=5, zero now and then.
pub fn dim() -> BoxedStrategy<usize> {
    prop_oneof![1 => Just(0usize), 11 => 1..=5usize].boxed()
}

/// A dimension size in 1..=5.
pub fn nonzero_dim() -> BoxedStrategy<usize> {
    (1..=5usize).boxed()
}

/// A shape of rank 0..=4, dims 0..=5 (zero-size dims sometimes).
pub fn shape() -> BoxedStrategy<Vec<usize>> {
    prop::collection::vec(dim(), 0..=4).boxed()
}

/// A shape of rank `lo..=hi` with dims 1..=5.
pub fn nonempty_shape(lo: usize, hi: usize) -> BoxedStrategy<Vec<usize>> {
    prop::collection::vec(nonzero_dim(), lo..=hi).boxed()
}

/// A permutation of `0..n`.
pub fn permutation(n: usize) -> BoxedStrategy<Vec<usize>> {
    Just((0..n).collect::<Vec<usize>>()).prop_shuffle().boxed()
}

/// The inverse of a permutation.
pub fn inverse(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    inv
}

/// A view of exactly `shape` built in one of several ways: contiguous; a permutation of a base
/// tensor; a narrow of a padded base (non-zero offset, gaps between rows), possibly permuted;
/// a transpose of the last two axes; or a broadcast (stride-0 axes) of a smaller tensor.
pub fn view_of(shape: Vec<usize>, kind: Values) -> BoxedStrategy<ViewSpec> {
    let rank = shape.len();
    let contiguous = {
        let shape = shape.clone();
        values(numel(&shape), kind).prop_map(move |v| ViewSpec::contiguous(shape.clone(), v))
    };
    // narrow(permute(base)): the permuted base has shape + padding on each axis.
    let strided = {
        let shape = shape.clone();
        (
            permutation(rank),
            prop::collection::vec((0..=2usize, 0..=2usize), rank),
        )
            .prop_flat_map(move |(perm, pads)| {
                let padded: Vec<usize> = shape
                    .iter()
                    .zip(&pads)
                    .map(|(&d, &(pre, post))| d + pre + post)
                    .collect();
                // Axis i of the permuted view is axis perm[i] of the base.
                let mut base_shape = vec![0; rank];
                for (i, &p) in perm.iter().enumerate() {
                    base_shape[p] = padded[i];
                }
                let mut steps = vec![ViewStep::Permute(perm)];
                for (axis, (&d, &(pre, _))) in shape.iter().zip(&pads).enumerate() {
                    steps.push(ViewStep::Narrow(axis, pre, d));
                }
                let base_shape2 = base_shape.clone();
                values(numel(&base_shape), kind).prop_map(move |base| ViewSpec {
                    base_shape: base_shape2.clone(),
                    base,
                    steps: steps.clone(),
                })
            })
    };
    let transposed = {
        let mut base_shape = shape.clone();
        if rank >= 2 {
            base_shape.swap(rank - 2, rank - 1);
        }
        values(numel(&base_shape), kind).prop_map(move |base| {
            let steps = if rank >= 2 {
                vec![ViewStep::Transpose(rank - 2, rank - 1)]
            } else {
                vec![]
            };
            ViewSpec {
                base_shape: base_shape.clone(),
                base,
                steps,
            }
        })
    };
    // broadcast_to(shape) of a tensor with leading axes dropped and some axes set to 1.
    let broadcast = {
        let shape = shape.clone();
        (
            0..=rank,
            prop::collection::vec(prop::bool::weighted(0.4), rank),
        )
            .prop_flat_map(move |(drop, ones)| {
                let source: Vec<usize> = (drop..rank)
                    .map(|i| if ones[i] { 1 } else { shape[i] })
                    .collect();
                let target = shape.clone();
                let source2 = source.clone();
                values(numel(&source), kind).prop_map(move |base| ViewSpec {
                    base_shape: source2.clone(),
                    base,
                    steps: vec![ViewStep::Broadcast(target.clone())],
                })
            })
    };
    prop_oneof![3 => contiguous, 4 => strided, 1 => transposed, 2 => broadcast].boxed()
}

/// A view of a random shape (rank 0..=4, dims 0..=5).
pub fn any_view(kind: Values) -> BoxedStrategy<ViewSpec> {
    shape().prop_flat_map(move |s| view_of(s, kind)).boxed()
}

/// The shape of an operand that broadcasts to `shape`: some leading axes dropped, some axes set
/// to 1.
pub fn operand_shape(shape: Vec<usize>) -> BoxedStrategy<Vec<usize>> {
    let rank = shape.len();
    (
        prop_oneof![2 => Just(0usize), 1 => 0..=rank],
        prop::collection::vec(prop::bool::weighted(0.25), rank),
    )
        .prop_map(move |(drop, ones)| {
            (drop..rank)
                .map(|i| if ones[i] { 1 } else { shape[i] })
                .collect()
        })
        .boxed()
}

/// Two views whose shapes broadcast together (each possibly strided or broadcast itself).
pub fn broadcast_pair(kind: Values) -> BoxedStrategy<(ViewSpec, ViewSpec)> {
    shape()
        .prop_flat_map(|s| (operand_shape(s.clone()), operand_shape(s)))
        .prop_flat_map(move |(a, b)| (view_of(a, kind), view_of(b, kind)))
        .boxed()
}

/// Three views whose shapes broadcast together.
pub fn broadcast_triple(kind: Values) -> BoxedStrategy<(ViewSpec, ViewSpec, ViewSpec)> {
    shape()
        .prop_flat_map(|s| {
            (
                operand_shape(s.clone()),
                operand_shape(s.clone()),
                operand_shape(s),
            )
        })
        .prop_flat_map(move |(a, b, c)| (view_of(a, kind), view_of(b, kind), view_of(c, kind)))
        .boxed()
}
