//! The TensorFlow Playground on shendu: small networks trained on the Playground's 2-D data sets
//! (or a user's own), watched as they learn.
//!
//! Training lives in [`session`], apart from any display: a [`Session`] steps
//! through epochs and reports its state as a [`Snapshot`] of plain numbers. The command line
//! (`src/main.rs`) drives a session with a progress bar and writes [`picture`]s of it as PNG
//! files; the browser page ([`serve`]) drives the same session from a web server.

pub mod config;
pub mod picture;
pub mod plot;
pub mod points;
pub mod serve;
pub mod session;
pub mod snapshot;

pub use config::{Config, ConfigError, Dataset, LossKind, OptimizerKind, Regularization};
pub use picture::{write_pictures, PictureError, PictureOptions};
pub use session::{PointSet, Session};
pub use snapshot::{HeatMap, LossPoint, Network, Point, Problem, Snapshot};
