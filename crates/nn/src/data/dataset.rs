//! What a data loader draws from: the [`Dataset`] trait (a number of rows, and a batch of rows
//! gathered by index in one copy), [`Target`] for the two kinds of targets (a tensor of values,
//! or [`Indices`] of classes), and [`TensorDataset`], features and targets held in memory, with
//! the seeded train/test split.

use rand::Rng;
use shendu_tensor::{Element, Indices, Tensor};

use crate::check::fail;

/// Some rows of a dataset: features `x` (rows along the first axis) and their targets `y`, in
/// the same order.
#[derive(Clone, Debug)]
pub struct Batch<T: Element = f32, Y = Tensor<T>> {
    /// The features, one row per example: shape `[rows, …]`.
    pub x: Tensor<T>,
    /// The targets of the same rows: a `Tensor<T>` of shape `[rows, …]` or class [`Indices`] of
    /// shape `[rows]`.
    pub y: Y,
}

impl<T: Element, Y> Batch<T, Y> {
    /// The number of rows (examples) in the batch.
    pub fn len(&self) -> usize {
        self.x.shape()[0]
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Targets with rows along their first axis, from which a batch's rows can be picked: a
/// `Tensor<T>` of values (regression, or 0/1 and ±1 targets) or class [`Indices`] (what
/// `cross_entropy` takes).
pub trait Target: Clone {
    /// The number of rows: the size of the first axis.
    fn row_count(&self) -> usize;

    /// The rows at `rows`, in that order (a row may repeat), as one new contiguous value.
    ///
    /// Panics (naming the caller's line) if a row is out of range.
    fn select_rows(&self, rows: &[usize]) -> Self;

    /// The `len` rows starting at `start`: a view where the type has views, else a copy.
    ///
    /// Panics (naming the caller's line) if the rows run past the end.
    fn narrow_rows(&self, start: usize, len: usize) -> Self;
}

impl<T: Element> Target for Tensor<T> {
    #[track_caller]
    fn row_count(&self) -> usize {
        leading_rows("Tensor", self.shape())
    }

    #[track_caller]
    fn select_rows(&self, rows: &[usize]) -> Self {
        self.index_select(0, rows)
    }

    #[track_caller]
    fn narrow_rows(&self, start: usize, len: usize) -> Self {
        self.narrow(0, start, len)
    }
}

impl Target for Indices {
    #[track_caller]
    fn row_count(&self) -> usize {
        leading_rows("Indices", self.shape())
    }

    #[track_caller]
    fn select_rows(&self, rows: &[usize]) -> Self {
        Indices::select_rows(self, rows)
    }

    #[track_caller]
    fn narrow_rows(&self, start: usize, len: usize) -> Self {
        let count = self.row_count();
        match start.checked_add(len) {
            Some(end) if end <= count => {
                Indices::select_rows(self, &(start..end).collect::<Vec<_>>())
            }
            _ => fail(
                "narrow_rows",
                format!("rows {start}.. ({len} of them) run past the {count} rows of the indices"),
            ),
        }
    }
}

/// The size of the first axis; a rank-0 value has no rows to batch.
#[track_caller]
fn leading_rows(what: &str, shape: &[usize]) -> usize {
    match shape.first() {
        Some(&rows) => rows,
        None => fail(
            "Target::row_count",
            format!("a {what} of rank 0 has no rows: give it shape [rows, …]"),
        ),
    }
}

/// A source of examples that a [`DataLoader`](super::DataLoader) cuts into batches: a number of
/// rows, and a batch of any of them gathered at once.
///
/// Gathering a batch in one call lets a dataset copy each of its arrays once per batch instead
/// of building a tensor per row and stacking them. [`TensorDataset`] is the implementation for
/// data held in memory; implement the trait for data made or loaded on the fly.
pub trait Dataset {
    /// The element type of the features.
    type Element: Element;
    /// The kind of targets: a `Tensor` of values or class `Indices`.
    type Target: Target;

    /// The number of rows (examples).
    fn len(&self) -> usize;

    /// Whether the dataset has no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `rows`, in that order, as one batch. Panics if a row is out of range.
    fn select_rows(&self, rows: &[usize]) -> Batch<Self::Element, Self::Target>;

    /// The `len` rows starting at `start`, as one batch (a loader's in-order batches). The
    /// default gathers them with [`select_rows`](Dataset::select_rows); an implementation can
    /// return views instead, as [`TensorDataset`] does.
    #[track_caller]
    fn narrow_rows(&self, start: usize, len: usize) -> Batch<Self::Element, Self::Target> {
        let end = start.checked_add(len).unwrap_or_else(|| {
            fail(
                "Dataset::narrow_rows",
                format!("rows {start}.. ({len} of them) overflow usize"),
            )
        });
        self.select_rows(&(start..end).collect::<Vec<_>>())
    }
}

/// Features and targets held in memory: `x` of shape `[rows, …]` and `y` a [`Target`] with as
/// many rows, row `i` of each being one example.
///
/// ```
/// use shendu_nn::data::{Dataset, TensorDataset};
/// use shendu_tensor::{Indices, Tensor};
///
/// let x = Tensor::from_vec(vec![0.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], [4, 2]);
/// let labels = Indices::from_vec(vec![0, 1, 1, 0], [4]);
/// let data = TensorDataset::new(x, labels);
/// let batch = data.select_rows(&[3, 1]);
/// assert_eq!(batch.x.to_vec(), vec![1.0, 1.0, 0.0, 1.0]);
/// assert_eq!(batch.y.to_vec(), vec![0, 1]);
/// ```
#[derive(Clone, Debug)]
pub struct TensorDataset<T: Element = f32, Y: Target = Tensor<T>> {
    x: Tensor<T>,
    y: Y,
}

impl<T: Element, Y: Target> TensorDataset<T, Y> {
    /// A dataset of the rows of `x` with the targets `y`.
    ///
    /// `x` is made contiguous once here, so that every batch is gathered by the fast row copy.
    ///
    /// # Panics
    /// If `x` or `y` has rank 0, or their row counts differ.
    #[track_caller]
    pub fn new(x: Tensor<T>, y: Y) -> Self {
        let rows = x.row_count();
        let targets = y.row_count();
        if rows != targets {
            fail(
                "TensorDataset::new",
                format!(
                    "x has {rows} rows (shape {:?}) but y has {targets}: every example needs \
                     one target",
                    x.shape()
                ),
            );
        }
        TensorDataset {
            x: x.contiguous(),
            y,
        }
    }

    /// The features, shape `[rows, …]`.
    pub fn x(&self) -> &Tensor<T> {
        &self.x
    }

    /// The targets, one row per example.
    pub fn y(&self) -> &Y {
        &self.y
    }

    /// The features and the targets, taken apart.
    pub fn into_parts(self) -> (Tensor<T>, Y) {
        (self.x, self.y)
    }

    /// The number of rows (examples).
    pub fn len(&self) -> usize {
        self.y.row_count()
    }

    /// Whether the dataset has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same targets with features `f(x)`: standardised, or turned into other features.
    ///
    /// ```
    /// # use shendu_nn::data::TensorDataset;
    /// # use shendu_tensor::Tensor;
    /// let data = TensorDataset::new(Tensor::from_vec(vec![0.0f32, 16.0], [2, 1]), Tensor::<f32>::zeros([2, 1]));
    /// let data = data.map_x(|x| x / 16.0);
    /// assert_eq!(data.x().to_vec(), vec![0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// If `f` changes the number of rows.
    #[track_caller]
    pub fn map_x(self, f: impl FnOnce(&Tensor<T>) -> Tensor<T>) -> Self {
        let x = f(&self.x);
        self.check_rows("map_x", x.row_count());
        TensorDataset {
            x: x.contiguous(),
            y: self.y,
        }
    }

    /// The same features with targets `f(y)`, of the same or another kind: the Playground's ±1
    /// labels as 0/1 targets for `bce_with_logits`, say.
    ///
    /// ```
    /// # use shendu_nn::data::TensorDataset;
    /// # use shendu_tensor::Tensor;
    /// let data = TensorDataset::new(Tensor::<f32>::zeros([2, 2]), Tensor::from_vec(vec![1.0, -1.0], [2, 1]));
    /// let data = data.map_y(|y| (y + 1.0) / 2.0);           // ±1 → 1/0
    /// assert_eq!(data.y().to_vec(), vec![1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If `f` changes the number of rows.
    #[track_caller]
    pub fn map_y<Z: Target>(self, f: impl FnOnce(&Y) -> Z) -> TensorDataset<T, Z> {
        let y = f(&self.y);
        self.check_rows("map_y", y.row_count());
        TensorDataset { x: self.x, y }
    }

    /// A train set and a test set: the rows in a random order drawn from `rng` (a Fisher-Yates
    /// shuffle, as the Playground's), the first `floor(len · fraction_train)` of them for
    /// training and the rest for testing, each in that shuffled order. A product within
    /// rounding error of a whole number counts as that number (0.29 of 100 rows is 29).
    ///
    /// This is the rule of the Playground's split and of scikit-learn's `train_test_split`:
    /// 80% of the 1,797 digits is 1,437 training rows and 360 test rows.
    ///
    /// ```
    /// # use rand::{rngs::StdRng, SeedableRng};
    /// # use shendu_nn::data::TensorDataset;
    /// # use shendu_tensor::Tensor;
    /// let data = TensorDataset::new(Tensor::<f32>::arange(10).reshape([10, 1]), Tensor::<f32>::zeros([10, 1]));
    /// let (train, test) = data.split(0.7, &mut StdRng::seed_from_u64(0));
    /// assert_eq!((train.len(), test.len()), (7, 3));
    /// ```
    ///
    /// # Panics
    /// Unless `0 < fraction_train < 1`.
    #[track_caller]
    pub fn split(&self, fraction_train: f64, rng: &mut impl Rng) -> (Self, Self) {
        if !(fraction_train > 0.0 && fraction_train < 1.0) {
            fail(
                "TensorDataset::split",
                format!("fraction_train must lie strictly between 0 and 1, got {fraction_train}"),
            );
        }
        let n = self.len();
        let order = permutation(n, rng);
        let cut = train_count(n, fraction_train);
        let (train, test) = order.split_at(cut);
        (self.gather(train), self.gather(test))
    }

    /// The rows at `rows` as a dataset of their own.
    fn gather(&self, rows: &[usize]) -> Self {
        TensorDataset {
            x: self.x.index_select(0, rows),
            y: self.y.select_rows(rows),
        }
    }

    #[track_caller]
    fn check_rows(&self, what: &str, rows: usize) {
        if rows != self.len() {
            fail(
                what,
                format!(
                    "the function returned {rows} rows, but the dataset has {}: it must map \
                     each row to one row",
                    self.len()
                ),
            );
        }
    }
}

impl<T: Element, Y: Target> Dataset for TensorDataset<T, Y> {
    type Element = T;
    type Target = Y;

    fn len(&self) -> usize {
        TensorDataset::len(self)
    }

    #[track_caller]
    fn select_rows(&self, rows: &[usize]) -> Batch<T, Y> {
        Batch {
            x: self.x.index_select(0, rows),
            y: self.y.select_rows(rows),
        }
    }

    /// Views of `x` (no copy), and `y`'s rows.
    #[track_caller]
    fn narrow_rows(&self, start: usize, len: usize) -> Batch<T, Y> {
        Batch {
            x: self.x.narrow(0, start, len),
            y: self.y.narrow_rows(start, len),
        }
    }
}

/// `0, 1, …, n − 1` in a random order: the Fisher-Yates shuffle as the Playground writes it
/// (from the last position down, each swapped with a position drawn at or below it). Written
/// out rather than taken from `rand` so that the order a seed gives is ours to keep stable.
pub(crate) fn permutation(n: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for last in (1..n).rev() {
        order.swap(last, rng.random_range(0..=last));
    }
    order
}

/// `floor(n · fraction)`, a product within rounding error of a whole number taken as that number.
fn train_count(n: usize, fraction: f64) -> usize {
    let exact = n as f64 * fraction;
    let nearest = exact.round();
    // f64 holds n exactly up to 2⁵³ rows; the relative error of one product is below 2⁻⁵².
    let count = if (exact - nearest).abs() <= exact * 4.0 * f64::EPSILON {
        nearest
    } else {
        exact.floor()
    };
    (count as usize).min(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_count_is_the_floor_up_to_rounding() {
        assert_eq!(train_count(1797, 0.8), 1437);
        assert_eq!(train_count(100, 0.29), 29);
        assert_eq!(train_count(10, 0.7), 7);
        assert_eq!(train_count(500, 0.5), 250);
        assert_eq!(train_count(3, 0.5), 1);
        assert_eq!(train_count(1, 0.5), 0);
        assert_eq!(train_count(0, 0.5), 0);
    }
}
