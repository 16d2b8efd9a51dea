//! Standardisation of feature columns: [`Standardizer`] learns each column's mean and standard
//! deviation from the training rows, then scales any rows (train, test, new inputs) the same way,
//! so that no statistic of the test set leaks into the model.

use shendu_tensor::{Correction, Element, Tensor};

use crate::check::fail;

/// Per-column mean and standard deviation of a `[rows, columns]` tensor, and the map
/// `(x − mean) / std` that gives each column mean 0 and variance 1 on the rows it was fitted on:
/// scikit-learn's `StandardScaler`.
///
/// The standard deviation is the population one (dividing by the number of rows, as
/// `StandardScaler` does). A column whose values are all equal is scaled by 1 instead of its
/// zero deviation, so it becomes all zeros rather than NaN (again as `StandardScaler`, which
/// detects such columns despite rounding; here a column counts as constant when its minimum
/// equals its maximum).
///
/// ```
/// use shendu_nn::data::Standardizer;
/// use shendu_tensor::Tensor;
///
/// let train = Tensor::from_vec(vec![1.0f64, 5.0, 3.0, 5.0], [2, 2]);
/// let scaler = Standardizer::fit(&train);
/// assert_eq!(scaler.mean().to_vec(), vec![2.0, 5.0]);
/// assert_eq!(scaler.scale().to_vec(), vec![1.0, 1.0]);          // column 1 is constant
/// assert_eq!(scaler.transform(&train).to_vec(), vec![-1.0, 0.0, 1.0, 0.0]);
/// let test = Tensor::from_vec(vec![4.0, 6.0], [1, 2]);
/// assert_eq!(scaler.transform(&test).to_vec(), vec![2.0, 1.0]);
/// ```
#[derive(Clone, Debug)]
pub struct Standardizer<T: Element = f32> {
    /// Shape `[1, columns]`, so that it broadcasts over rows.
    mean: Tensor<T>,
    /// Shape `[1, columns]`; never 0.
    scale: Tensor<T>,
}

impl<T: Element> Standardizer<T> {
    /// The means and standard deviations of the columns of `x`, of shape `[rows, columns]`.
    ///
    /// # Panics
    /// If `x` is not of rank 2 or has no rows.
    #[track_caller]
    pub fn fit(x: &Tensor<T>) -> Self {
        let columns = check_matrix("Standardizer::fit", x);
        if x.shape()[0] == 0 {
            fail(
                "Standardizer::fit",
                format!(
                    "x of shape {:?} has no rows to take statistics of",
                    x.shape()
                ),
            );
        }
        let mean = x.mean(0, true);
        let deviation = x.var(0, Correction::POPULATION, true).sqrt();
        let constant = x.max(0, true).eq(&x.min(0, true));
        let scale = Tensor::where_cond(&constant, &Tensor::ones([1, columns]), &deviation);
        Standardizer { mean, scale }
    }

    /// Each column's mean, shape `[1, columns]`.
    pub fn mean(&self) -> &Tensor<T> {
        &self.mean
    }

    /// Each column's divisor: its population standard deviation, or 1 for a constant column;
    /// shape `[1, columns]`.
    pub fn scale(&self) -> &Tensor<T> {
        &self.scale
    }

    /// `(x − mean) / scale`, column by column, for `x` of shape `[rows, columns]`.
    ///
    /// # Panics
    /// If `x` is not of rank 2 with as many columns as the fitted data.
    #[track_caller]
    pub fn transform(&self, x: &Tensor<T>) -> Tensor<T> {
        self.check_columns("Standardizer::transform", x);
        &(x - &self.mean) / &self.scale
    }

    /// `x · scale + mean`: the inverse of [`transform`](Standardizer::transform), back to the
    /// original units (a regression's predictions, say).
    ///
    /// # Panics
    /// If `x` is not of rank 2 with as many columns as the fitted data.
    #[track_caller]
    pub fn inverse_transform(&self, x: &Tensor<T>) -> Tensor<T> {
        self.check_columns("Standardizer::inverse_transform", x);
        &(x * &self.scale) + &self.mean
    }

    #[track_caller]
    fn check_columns(&self, what: &str, x: &Tensor<T>) {
        let columns = check_matrix(what, x);
        let fitted = self.mean.shape()[1];
        if columns != fitted {
            fail(
                what,
                format!(
                    "x of shape {:?} has {columns} columns, but the standardizer was fitted on \
                     {fitted}",
                    x.shape()
                ),
            );
        }
    }
}

/// The number of columns of a `[rows, columns]` tensor; panics for another rank.
#[track_caller]
fn check_matrix<T: Element>(what: &str, x: &Tensor<T>) -> usize {
    match *x.shape() {
        [_, columns] => columns,
        _ => fail(
            what,
            format!(
                "x must have shape [rows, columns], got {:?} (rank {})",
                x.shape(),
                x.rank()
            ),
        ),
    }
}
