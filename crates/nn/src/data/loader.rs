//! Cutting a dataset into batches, one epoch at a time: [`DataLoader`] holds the dataset, the
//! batch size and whether a final short batch is kept; each call to [`DataLoader::epoch`] or
//! [`DataLoader::shuffle`] gives an [`Epoch`], an iterator over that pass's batches.
//!
//! The loader is cheap enough to build in every epoch, or to keep: an epoch in order gathers
//! nothing (each batch's features are a view of the dataset's rows), and a shuffled epoch draws
//! one permutation and copies each batch's rows once.

use rand::Rng;

use super::dataset::{permutation, Batch, Dataset};
use crate::check::fail;

/// Batches of a [`Dataset`], one epoch at a time, in order or in a fresh random order.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_nn::data::{DataLoader, TensorDataset};
/// use shendu_tensor::{Indices, Tensor};
///
/// let data = TensorDataset::new(Tensor::<f32>::arange(10).reshape([5, 2]), Indices::from_vec(vec![0, 1, 2, 3, 4], [5]));
/// let loader = DataLoader::new(&data, 2);
/// assert_eq!(loader.len(), 3);                               // 2 + 2 + 1 rows
/// let labels: Vec<Vec<usize>> = loader.epoch().map(|batch| batch.y.to_vec()).collect();
/// assert_eq!(labels, [vec![0, 1], vec![2, 3], vec![4]]);
///
/// let mut rng = StdRng::seed_from_u64(0);
/// for batch in loader.drop_last(true).shuffle(&mut rng) {   // a new order every call
///     assert_eq!(batch.x.shape(), &[2, 2]);
/// }
/// ```
#[derive(Debug)]
pub struct DataLoader<'a, D: Dataset> {
    dataset: &'a D,
    batch_size: usize,
    drop_last: bool,
}

// Derived Clone/Copy would require `D: Clone`; the loader only holds a reference.
impl<D: Dataset> Clone for DataLoader<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: Dataset> Copy for DataLoader<'_, D> {}

impl<'a, D: Dataset> DataLoader<'a, D> {
    /// A loader of `dataset` in batches of `batch_size` rows, keeping a final shorter batch.
    ///
    /// # Panics
    /// If `batch_size` is 0.
    #[track_caller]
    pub fn new(dataset: &'a D, batch_size: usize) -> Self {
        if batch_size == 0 {
            fail(
                "DataLoader::new",
                "the batch size must be at least 1, got 0",
            );
        }
        DataLoader {
            dataset,
            batch_size,
            drop_last: false,
        }
    }

    /// Whether a final batch shorter than the batch size is left out (PyTorch's `drop_last`;
    /// default `false`).
    pub fn drop_last(self, drop_last: bool) -> Self {
        DataLoader { drop_last, ..self }
    }

    /// The number of rows in each batch (the last one may have fewer).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The number of batches in one epoch.
    pub fn len(&self) -> usize {
        let rows = self.dataset.len();
        if self.drop_last {
            rows / self.batch_size
        } else {
            rows.div_ceil(self.batch_size)
        }
    }

    /// Whether an epoch has no batches.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One epoch with the rows in the dataset's order.
    pub fn epoch(&self) -> Epoch<'a, D> {
        self.start(None)
    }

    /// One epoch with the rows in a random order drawn from `rng`: each call draws a new
    /// permutation, so calling it once per epoch reshuffles every epoch (PyTorch's
    /// `shuffle=True`). The same RNG state gives the same batches.
    pub fn shuffle(&self, rng: &mut impl Rng) -> Epoch<'a, D> {
        self.start(Some(permutation(self.dataset.len(), rng)))
    }

    fn start(&self, order: Option<Vec<usize>>) -> Epoch<'a, D> {
        Epoch {
            dataset: self.dataset,
            order,
            batch_size: self.batch_size,
            next: 0,
            remaining: self.len(),
        }
    }
}

/// An epoch in the dataset's order.
impl<'a, D: Dataset> IntoIterator for DataLoader<'a, D> {
    type Item = Batch<D::Element, D::Target>;
    type IntoIter = Epoch<'a, D>;

    fn into_iter(self) -> Epoch<'a, D> {
        self.epoch()
    }
}

/// An epoch in the dataset's order.
impl<'a, D: Dataset> IntoIterator for &DataLoader<'a, D> {
    type Item = Batch<D::Element, D::Target>;
    type IntoIter = Epoch<'a, D>;

    fn into_iter(self) -> Epoch<'a, D> {
        self.epoch()
    }
}

/// The batches of one pass over a dataset, from [`DataLoader::epoch`] or
/// [`DataLoader::shuffle`].
#[derive(Debug)]
pub struct Epoch<'a, D: Dataset> {
    dataset: &'a D,
    /// The rows in the order of this epoch; `None` for the dataset's own order.
    order: Option<Vec<usize>>,
    batch_size: usize,
    /// The position in the order of the next batch's first row.
    next: usize,
    remaining: usize,
}

impl<D: Dataset> Iterator for Epoch<'_, D> {
    type Item = Batch<D::Element, D::Target>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let start = self.next;
        // Never past the dataset's end, so no sum can overflow.
        let len = self.batch_size.min(self.dataset.len() - start);
        self.next = start + len;
        Some(match &self.order {
            None => self.dataset.narrow_rows(start, len),
            Some(order) => self.dataset.select_rows(&order[start..start + len]),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<D: Dataset> ExactSizeIterator for Epoch<'_, D> {}

impl<D: Dataset> std::iter::FusedIterator for Epoch<'_, D> {}
