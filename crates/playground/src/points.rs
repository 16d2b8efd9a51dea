//! A user's own points: a CSV file of `x1,x2,label` lines (an optional header line first),
//! read into a [`PointSet`]. Labels that are all ±1, or all 0/1 (read as −1/+1), make a
//! classification problem; any other labels a regression.

use std::fmt;
use std::path::Path;

use shendu_nn::data::{Csv, CsvError, TensorDataset};
use shendu_tensor::Tensor;

use crate::session::PointSet;
use crate::snapshot::{Point, Problem};

/// A points file that cannot be used: where and why.
#[derive(Debug)]
pub enum PointsError {
    /// The file cannot be read.
    Io {
        /// The file's name.
        file: String,
        /// Why.
        error: std::io::Error,
    },
    /// A line that is not three numbers (the error names file, line and column).
    Csv(CsvError),
    /// The file has lines, but not three columns.
    Columns {
        /// The file's name.
        file: String,
        /// The columns it has.
        columns: usize,
    },
    /// The file holds no points.
    Empty {
        /// The file's name.
        file: String,
    },
}

impl fmt::Display for PointsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PointsError::Io { file, error } => write!(f, "{file}: {error}"),
            PointsError::Csv(e) => write!(f, "{e}"),
            PointsError::Columns { file, columns } => write!(
                f,
                "{file}: {columns} column(s), expected 3: x1, x2 and the label"
            ),
            PointsError::Empty { file } => write!(f, "{file}: no points"),
        }
    }
}

impl std::error::Error for PointsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PointsError::Io { error, .. } => Some(error),
            PointsError::Csv(e) => Some(e),
            _ => None,
        }
    }
}

/// Reads the points in the CSV file at `path`.
pub fn read_points(path: impl AsRef<Path>) -> Result<PointSet, PointsError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let text = std::fs::read(path).map_err(|error| PointsError::Io {
        file: file.clone(),
        error,
    })?;
    let header = check_layout(&file, &text)?;
    let data = Csv::new()
        .header(header)
        .read_values::<f64>(path)
        .map_err(PointsError::Csv)?;
    point_set(file, data)
}

/// [`read_points`] of text in memory; `name` names it in the point set and in errors.
pub fn parse_points(name: &str, text: &[u8]) -> Result<PointSet, PointsError> {
    let header = check_layout(name, text)?;
    let data = Csv::new()
        .header(header)
        .parse_values::<f64>(text)
        .map_err(PointsError::Csv)?;
    point_set(name.into(), data)
}

/// Checks that the first line has three fields and tells whether it is a header (a field that
/// is not a number).
fn check_layout(name: &str, text: &[u8]) -> Result<bool, PointsError> {
    let text = String::from_utf8_lossy(text);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    let Some(first) = first else {
        return Err(PointsError::Empty { file: name.into() });
    };
    let columns = first.split(',').count();
    if columns != 3 {
        return Err(PointsError::Columns {
            file: name.into(),
            columns,
        });
    }
    Ok(first
        .trim_start_matches('\u{feff}')
        .split(',')
        .any(|field| field.trim().trim_matches('"').parse::<f64>().is_err()))
}

fn point_set(name: String, data: TensorDataset<f64, Tensor<f64>>) -> Result<PointSet, PointsError> {
    if data.is_empty() {
        return Err(PointsError::Empty { file: name });
    }
    let xy = data.x().to_vec();
    let mut labels = data.y().to_vec();
    let problem = if labels.iter().all(|&l| l == 1.0 || l == -1.0) {
        Problem::Classification
    } else if labels.iter().all(|&l| l == 1.0 || l == 0.0) {
        labels.iter_mut().for_each(|l| *l = 2.0 * *l - 1.0);
        Problem::Classification
    } else {
        Problem::Regression
    };
    let points = xy
        .chunks_exact(2)
        .zip(labels)
        .map(|(p, label)| Point {
            x1: p[0],
            x2: p[1],
            label,
        })
        .collect();
    Ok(PointSet {
        name,
        points,
        problem,
    })
}
