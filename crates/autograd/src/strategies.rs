//! Proptest strategies for tensors: random shapes, values, broadcastable and matmul-compatible
//! pairs, and non-contiguous views, the ones shendu's own gradient tests draw from.
//!
//! Every strategy is generic over the element type: values are drawn as `f64` in the given range
//! and converted with [`Element::from_f64_lossy`]. Shapes have rank `0..=max_rank` and every
//! dimension in `1..=max_dim`. Failures shrink toward smaller ranks, dimensions and values.
//!
//! [`gradcheck`](crate::gradcheck) copies its inputs into fresh contiguous tensors, so to check an
//! op on a non-contiguous operand, draw the storage and its [`View`] with [`strided_view`] and
//! apply the view inside the checked function with [`View::apply_var`].
//!
//! Property-testing an op of your own, here softsign x/(1 + |x|), takes a few lines:
//!
//! ```
//! use proptest::prelude::*;
//! use shendu_autograd::strategies::tensor;
//! use shendu_autograd::{gradcheck, Var};
//!
//! fn softsign(x: &Var<f64>) -> Var<f64> {
//!     x / &x.abs().add_scalar(1.0)
//! }
//!
//! proptest!(ProptestConfig::with_cases(16), |(x in tensor::<f64>(3, 4, 0.1..3.0))| {
//!     // Positive inputs keep away from the kink of |x| at 0.
//!     gradcheck(|v| softsign(&v[0]), &[x]).map_err(|e| TestCaseError::fail(e.to_string()))?;
//! });
//! ```

use std::ops::Range;

use proptest::collection::vec;
use proptest::prelude::*;
use shendu_tensor::{Element, Tensor};

use crate::error::fail;
use crate::var::Var;

/// A shape of rank `0..=max_rank` with every dimension in `1..=max_dim`.
#[track_caller]
pub fn shape(max_rank: usize, max_dim: usize) -> impl Strategy<Value = Vec<usize>> {
    if max_dim < 1 {
        fail("strategies::shape", "max_dim must be at least 1");
    }
    vec(1..=max_dim, 0..=max_rank)
}

/// A contiguous tensor of `shape` with values drawn uniformly from `range`.
pub fn tensor_of_shape<T: Element>(
    shape: &[usize],
    range: Range<f64>,
) -> impl Strategy<Value = Tensor<T>> + use<T> {
    let shape = shape.to_vec();
    vec(range, shape.iter().product::<usize>()).prop_map(move |data| {
        Tensor::from_vec(
            data.into_iter().map(T::from_f64_lossy).collect(),
            &shape[..],
        )
    })
}

/// A contiguous tensor of a random [`shape`] with values drawn uniformly from `range`.
pub fn tensor<T: Element>(
    max_rank: usize,
    max_dim: usize,
    range: Range<f64>,
) -> impl Strategy<Value = Tensor<T>> {
    shape(max_rank, max_dim).prop_flat_map(move |s| tensor_of_shape(&s, range.clone()))
}

/// Two shapes that broadcast together, NumPy style: both are cut from one random shape, each
/// possibly losing some leading axes and having some dimensions set to 1.
pub fn broadcastable_shapes(
    max_rank: usize,
    max_dim: usize,
) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    let drop = || prop_oneof![Just(0), 0..=max_rank];
    let ones = || vec(prop::bool::weighted(0.3), max_rank);
    (shape(max_rank, max_dim), drop(), drop(), ones(), ones()).prop_map(
        |(full, drop_a, drop_b, ones_a, ones_b)| {
            let cut = |drop: usize, ones: &[bool]| -> Vec<usize> {
                let lead = drop.min(full.len());
                full.iter()
                    .enumerate()
                    .skip(lead)
                    .map(|(i, &d)| if ones[i] { 1 } else { d })
                    .collect()
            };
            (cut(drop_a, &ones_a), cut(drop_b, &ones_b))
        },
    )
}

/// Two tensors whose shapes broadcast together (see [`broadcastable_shapes`]), with values
/// drawn uniformly from `range`.
pub fn broadcastable_pair<T: Element>(
    max_rank: usize,
    max_dim: usize,
    range: Range<f64>,
) -> impl Strategy<Value = (Tensor<T>, Tensor<T>)> {
    broadcastable_shapes(max_rank, max_dim).prop_flat_map(move |(a, b)| {
        (
            tensor_of_shape(&a, range.clone()),
            tensor_of_shape(&b, range.clone()),
        )
    })
}

/// Shapes of the two operands of a NumPy-style matrix product, each independently a vector
/// `[k]`, a matrix (`[m, k]` on the left, `[k, n]` on the right) or a stack of matrices whose
/// batch axes (up to two) broadcast with the other side's: all of 1-D·1-D, 1-D·2-D, 2-D·1-D,
/// 2-D·2-D and batched products are drawn. Dimensions are in `1..=max_dim`.
#[track_caller]
pub fn matmul_shapes(max_dim: usize) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    if max_dim < 1 {
        fail("strategies::matmul_shapes", "max_dim must be at least 1");
    }
    let form = || 0..3usize; // vector, matrix, stack of matrices
    let dims = (1..=max_dim, 1..=max_dim, 1..=max_dim);
    (
        dims,
        form(),
        form(),
        broadcastable_shapes(2, max_dim.min(3)),
    )
        .prop_map(|((m, k, n), form_a, form_b, (batch_a, batch_b))| {
            let operand = |form: usize, batch: Vec<usize>, matrix: [usize; 2]| match form {
                0 => vec![k],
                1 => matrix.to_vec(),
                _ => batch.into_iter().chain(matrix).collect(),
            };
            (
                operand(form_a, batch_a, [m, k]),
                operand(form_b, batch_b, [k, n]),
            )
        })
}

/// Two tensors that can be multiplied with `matmul` (see [`matmul_shapes`]), with values drawn
/// uniformly from `range`.
pub fn matmul_pair<T: Element>(
    max_dim: usize,
    range: Range<f64>,
) -> impl Strategy<Value = (Tensor<T>, Tensor<T>)> {
    matmul_shapes(max_dim).prop_flat_map(move |(a, b)| {
        (
            tensor_of_shape(&a, range.clone()),
            tensor_of_shape(&b, range.clone()),
        )
    })
}

/// Tensors of the given shapes whose values, all together, are distinct and well separated:
/// any two differ by at least `spacing / 2`, and every value is at least `spacing / 4` away from
/// each whole multiple of `spacing` (zero among them). For ops with kinks or ties (abs, relu,
/// clamp to bounds that are multiples of `spacing`, maximum, max), whose finite differences are
/// only meaningful away from them. The values lie within ±(n/2 + 1)·`spacing` for n elements in
/// all, in random order.
pub fn separated<T: Element>(
    shapes: Vec<Vec<usize>>,
    spacing: f64,
) -> impl Strategy<Value = Vec<Tensor<T>>> {
    let n: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
    let slots = Just((0..n).collect::<Vec<usize>>()).prop_shuffle();
    (slots, vec(-0.25..0.25f64, n)).prop_map(move |(slots, jitter)| {
        let mut values = slots.iter().zip(&jitter).map(|(&slot, &j)| {
            let k = slot as f64 - (n / 2) as f64;
            T::from_f64_lossy((k + 0.5 + j) * spacing)
        });
        shapes
            .iter()
            .map(|s| Tensor::from_vec(values.by_ref().take(s.iter().product()).collect(), &s[..]))
            .collect()
    })
}

/// How a (usually non-contiguous) view is cut from the contiguous storage it was drawn with; see
/// [`strided_view`]. Cells of the storage outside the view hold NaN, so an op that reads past its
/// view shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum View {
    /// The storage itself (rank 0, where there is no other view).
    Whole,
    /// The storage with `axes` swapped: the storage holds the values transposed.
    Transpose(usize, usize),
    /// `len` entries from `start` along `axis` of a storage padded along that axis.
    Narrow {
        /// The padded axis.
        axis: usize,
        /// Entries of padding before the view.
        start: usize,
        /// The view's length along the axis.
        len: usize,
    },
    /// Every other element: the storage has an extra last axis of size 2, and the view takes
    /// slot 0 of it, so every stride is doubled.
    EveryOther,
}

impl View {
    /// The view of `storage` (no copy).
    #[track_caller]
    pub fn apply<T: Element>(&self, storage: &Tensor<T>) -> Tensor<T> {
        match *self {
            View::Whole => storage.clone(),
            View::Transpose(a, b) => storage.transpose(a, b),
            View::Narrow { axis, start, len } => storage.narrow(axis, start, len),
            View::EveryOther => {
                let last = storage.rank() - 1;
                storage.narrow(last, 0, 1).squeeze(last)
            }
        }
    }

    /// The same view of a var, recorded on its tape, so that gradients flow back to the storage.
    #[track_caller]
    pub fn apply_var<T: Element>(&self, storage: &Var<T>) -> Var<T> {
        match *self {
            View::Whole => storage.clone(),
            View::Transpose(a, b) => storage.transpose(a, b),
            View::Narrow { axis, start, len } => storage.narrow(axis, start, len),
            View::EveryOther => {
                let last = storage.rank() - 1;
                storage.narrow(last, 0, 1).squeeze(last)
            }
        }
    }

    /// A contiguous storage for `logical`, such that `self.apply(&storage)` has `logical`'s
    /// shape and values.
    fn storage_for<T: Element>(&self, logical: &Tensor<T>) -> Tensor<T> {
        let nan = |shape: &[usize]| Tensor::full(shape, T::nan());
        match *self {
            View::Whole => logical.contiguous(),
            View::Transpose(a, b) => logical.transpose(a, b).contiguous(),
            View::Narrow { axis, start, len } => {
                let mut pad = logical.shape().to_vec();
                pad[axis] = start;
                let before = nan(&pad);
                pad[axis] = 1; // one entry after the view too, so it never ends at the storage's end
                let after = nan(&pad);
                let pieces: Vec<&Tensor<T>> = if start == 0 {
                    vec![logical, &after]
                } else {
                    vec![&before, logical, &after]
                };
                debug_assert_eq!(logical.shape()[axis], len);
                Tensor::concat(&pieces, axis)
            }
            View::EveryOther => Tensor::stack(&[logical, &nan(logical.shape())], logical.rank()),
        }
    }
}

/// The tensors of `tensors` as contiguous storage plus a [`View`] of it that has the drawn
/// tensor's shape and values: a transpose, a narrowed slice of a padded tensor, or every other
/// element (rank 0 stays whole). The view is non-contiguous except in degenerate cases (a
/// transpose of axes of size 1, a narrow along the first axis).
pub fn strided_view<T: Element>(
    tensors: impl Strategy<Value = Tensor<T>>,
) -> impl Strategy<Value = (Tensor<T>, View)> {
    tensors
        .prop_flat_map(|t| {
            let rank = t.rank().max(1);
            (Just(t), 0..3usize, 0..rank, 0..rank, 0..=1usize)
        })
        .prop_map(|(t, kind, a, b, start)| {
            let view = match (t.rank(), kind) {
                (0, _) => View::Whole,
                (rank, 0) if rank >= 2 => {
                    let b = if a == b { (a + 1) % rank } else { b };
                    View::Transpose(a.min(b), a.max(b))
                }
                (_, 1) | (_, 0) => View::Narrow {
                    axis: a,
                    start,
                    len: t.shape()[a],
                },
                _ => View::EveryOther,
            };
            (view.storage_for(&t), view)
        })
}

/// The tensors of `tensors` as views with the same shapes and values, usually non-contiguous
/// (see [`strided_view`]): for testing that ops read strided operands correctly.
///
/// ```
/// use proptest::prelude::*;
/// use shendu_autograd::strategies::{strided, tensor};
///
/// proptest!(|(x in strided(tensor::<f32>(3, 4, -1.0..1.0)))| {
///     prop_assert_eq!(x.relu().to_vec(), x.contiguous().relu().to_vec());
/// });
/// ```
pub fn strided<T: Element>(
    tensors: impl Strategy<Value = Tensor<T>>,
) -> impl Strategy<Value = Tensor<T>> {
    strided_view(tensors).prop_map(|(storage, view)| view.apply(&storage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tape;
    use shendu_tensor::broadcast_shapes;

    proptest! {
        #[test]
        fn shapes_are_in_bounds(s in shape(3, 4)) {
            prop_assert!(s.len() <= 3 && s.iter().all(|&d| (1..=4).contains(&d)));
        }

        #[test]
        fn pairs_broadcast_and_multiply((a, b) in broadcastable_pair::<f32>(3, 4, -1.0..1.0),
                                        (x, y) in matmul_pair::<f32>(4, -1.0..1.0)) {
            broadcast_shapes("test", a.shape(), b.shape());
            prop_assert!(x.rank() >= 1 && y.rank() >= 1);
            x.matmul(&y);
        }

        #[test]
        fn views_hold_the_drawn_values(
            (t, (storage, view)) in tensor::<f64>(3, 4, -1.0..1.0)
                .prop_flat_map(|t| (Just(t.clone()), strided_view(Just(t))))
        ) {
            let seen = view.apply(&storage);
            prop_assert_eq!(seen.shape(), t.shape());
            prop_assert_eq!(seen.to_vec(), t.to_vec());
            prop_assert!(storage.is_contiguous());
            if t.numel() > 1 && view == View::EveryOther {
                prop_assert!(!seen.is_contiguous());
            }
            let tape = Tape::new();
            prop_assert_eq!(view.apply_var(&tape.var(storage)).value().to_vec(), t.to_vec());
        }

        #[test]
        fn separated_values_keep_their_distance(ts in separated::<f64>(vec![vec![3, 2], vec![4]], 0.5)) {
            let mut all: Vec<f64> = ts.iter().flat_map(|t| t.to_vec()).collect();
            all.sort_by(f64::total_cmp);
            prop_assert!(all.windows(2).all(|w| w[1] - w[0] >= 0.25 - 1e-12));
            prop_assert!(all.iter().all(|v| ((v / 0.5).round() - v / 0.5).abs() >= 0.25 - 1e-12));
        }
    }
}
