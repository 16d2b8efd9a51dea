//! Data: what a model trains on, and the order it sees it in.
//!
//! A [`Dataset`] hands out batches of rows; [`TensorDataset`] is the one most programs need,
//! features in a tensor and targets beside them (a tensor of values, or [`Indices`] of classes
//! for `cross_entropy`). A [`DataLoader`] cuts a dataset into batches, one epoch at a time, in
//! order or in a fresh random order. A seeded [`TensorDataset::split`] makes a train and a test
//! set, and a [`Standardizer`] fitted on the train set scales both the same way. Data from
//! outside comes from [`csv`] files (the handwritten [`digits`] among them); the TensorFlow
//! Playground's six data sets and seven input features are in [`playground`].
//!
//! Randomness always comes from an RNG the caller passes: the same seed gives the same data, the
//! same split and the same batches, bit for bit.
//!
//! ```
//! use rand::{rngs::StdRng, SeedableRng};
//! use shendu_nn::data::{playground, DataLoader, Dataset, Standardizer};
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let (train, test) = playground::spiral::<f32>(500, 0.0, &mut rng).split(0.5, &mut rng);
//! let scaler = Standardizer::fit(train.x());
//! let (train, test) = (train.map_x(|x| scaler.transform(x)), test.map_x(|x| scaler.transform(x)));
//! assert_eq!((train.len(), test.len()), (250, 250));
//! for _epoch in 0..2 {
//!     for batch in DataLoader::new(&train, 10).shuffle(&mut rng) {
//!         assert_eq!((batch.x.shape(), batch.y.shape()), (&[10, 2][..], &[10, 1][..]));
//!     }
//! }
//! ```
//!
//! [`Indices`]: shendu_tensor::Indices

pub mod csv;
mod dataset;
mod loader;
pub mod playground;
mod standardize;

pub use csv::{digits, Csv, CsvError};
pub use dataset::{Batch, Dataset, Target, TensorDataset};
pub use loader::{DataLoader, Epoch};
pub use standardize::Standardizer;
