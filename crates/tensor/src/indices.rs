//! `Indices`: an n-dimensional array of positions, the integer counterpart of [`Tensor`] for the
//! ops that index: class labels, `gather` and `scatter_add` indices, `argmax` results.
//!
//! Tensors hold `f32` or `f64` only; an index stored as a float is exact only below 2²⁴ in `f32`,
//! must be checked to be a whole number on every use, and lets a label be passed where a
//! probability was meant. `Indices` holds `usize`s: what PyTorch users know as an `int64` tensor,
//! and what `cross_entropy` and a data loader's labels are. It is always contiguous and shares its
//! buffer between clones and reshapes.

use std::fmt;
use std::sync::Arc;

use crate::check::{fail, fmt_shape};
use crate::element::Element;
use crate::shape::{checked_numel, dims, Axis, Dims, IntoShape};
use crate::tensor::Tensor;

/// An n-dimensional array of positions (`usize`), row-major, cheap to clone.
///
/// ```
/// use shendu_tensor::{Indices, Tensor};
/// let labels = Indices::from_vec(vec![2, 0, 1], [3]);
/// let logits = Tensor::from_vec(vec![0.1f32, 0.2, 0.7, 0.9, 0.05, 0.05, 0.3, 0.4, 0.3], [3, 3]);
/// assert_eq!(logits.argmax(1, false), labels);
/// let picked = logits.gather(1, &labels.unsqueeze(1));    // each row's value at its label
/// assert_eq!(picked.to_vec(), vec![0.7, 0.9, 0.4]);
/// assert_eq!(labels.one_hot::<f32>(3).to_vec()[..3], [0.0, 0.0, 1.0]);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Indices {
    data: Arc<Vec<usize>>,
    shape: Dims,
}

impl Indices {
    /// Indices holding `data` in row-major order with `shape`.
    #[track_caller]
    pub fn from_vec(data: Vec<usize>, shape: impl IntoShape) -> Self {
        let shape = shape.into_dims();
        // A usize has the size of an f64 on 64-bit targets and is smaller elsewhere: the f64 bound
        // on the buffer size is safe for both.
        let numel = checked_numel::<f64>("Indices::from_vec", &shape);
        if data.len() != numel {
            fail(
                "Indices::from_vec",
                format!(
                    "{} indices cannot fill shape {} ({numel} elements)",
                    data.len(),
                    fmt_shape(&shape),
                ),
            );
        }
        Indices {
            data: Arc::new(data),
            shape,
        }
    }

    /// Dimension sizes, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of indices.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The indices in row-major order.
    pub fn as_slice(&self) -> &[usize] {
        &self.data
    }

    /// The indices in row-major order, copied.
    pub fn to_vec(&self) -> Vec<usize> {
        self.data.to_vec()
    }

    /// The index at a multi-index.
    #[track_caller]
    pub fn get(&self, index: &[usize]) -> usize {
        if index.len() != self.rank() || index.iter().zip(&self.shape).any(|(&i, &d)| i >= d) {
            fail(
                "get",
                format!(
                    "index {index:?} is out of bounds for shape {}",
                    fmt_shape(&self.shape)
                ),
            );
        }
        let flat = index
            .iter()
            .zip(&self.shape)
            .fold(0, |flat, (&i, &d)| flat * d + i);
        self.data[flat]
    }

    /// The same indices with another shape of equal count (sharing the buffer).
    #[track_caller]
    pub fn reshape(&self, shape: impl IntoShape) -> Indices {
        let shape = shape.into_dims();
        let numel = checked_numel::<f64>("reshape", &shape);
        if numel != self.numel() {
            fail(
                "reshape",
                format!(
                    "cannot reshape indices of shape {} ({} elements) to {} ({numel} elements)",
                    fmt_shape(&self.shape),
                    self.numel(),
                    fmt_shape(&shape),
                ),
            );
        }
        Indices {
            data: Arc::clone(&self.data),
            shape,
        }
    }

    /// Inserts an axis of size 1 before position `axis` (`-1` appends one): labels of shape
    /// `[n]` become the `[n, 1]` indices that `gather` along axis 1 takes.
    #[track_caller]
    pub fn unsqueeze(&self, axis: impl Axis) -> Indices {
        let axis = axis.resolve_insert("unsqueeze", self.rank());
        let mut shape = dims(&self.shape);
        shape.insert(axis, 1);
        Indices {
            data: Arc::clone(&self.data),
            shape,
        }
    }

    /// The entries `rows` along axis 0, in order (a batch of labels).
    ///
    /// ```
    /// # use shendu_tensor::Indices;
    /// let labels = Indices::from_vec(vec![7, 8, 9], [3]);
    /// assert_eq!(labels.select_rows(&[2, 0]).to_vec(), vec![9, 7]);
    /// ```
    #[track_caller]
    pub fn select_rows(&self, rows: &[usize]) -> Indices {
        if self.rank() == 0 {
            fail("select_rows", "indices of rank 0 have no rows");
        }
        let (count, inner) = (self.shape[0], self.numel() / self.shape[0].max(1));
        let mut data = Vec::with_capacity(rows.len() * inner);
        for (k, &r) in rows.iter().enumerate() {
            if r >= count {
                fail(
                    "select_rows",
                    format!(
                        "row {r} (rows[{k}]) is out of range for {count} rows of shape {}",
                        fmt_shape(&self.shape)
                    ),
                );
            }
            data.extend_from_slice(&self.data[r * inner..(r + 1) * inner]);
        }
        let mut shape = dims(&self.shape);
        shape[0] = rows.len();
        Indices {
            data: Arc::new(data),
            shape,
        }
    }

    /// One-hot encoding: a tensor of shape `self.shape + [classes]`, 1 at each index and 0
    /// elsewhere. Every index must be below `classes`.
    ///
    /// ```
    /// # use shendu_tensor::Indices;
    /// let labels = Indices::from_vec(vec![2, 0], [2]);
    /// assert_eq!(labels.one_hot::<f32>(3).to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn one_hot<T: Element>(&self, classes: usize) -> Tensor<T> {
        self.check_below("one_hot", classes, || format!("{classes} classes"));
        Tensor::one_hot_of(&self.data, &self.shape, classes)
    }

    /// The indices as values of a float tensor (for arithmetic on them; exact below 2²⁴ in
    /// `f32` and 2⁵³ in `f64`).
    pub fn to_tensor<T: Element>(&self) -> Tensor<T> {
        Tensor::from_vec(
            self.data
                .iter()
                .map(|&i| T::from_f64_lossy(i as f64))
                .collect(),
            &self.shape[..],
        )
    }

    /// Panics unless every index is below `bound`; `range` describes where the bound comes from.
    #[track_caller]
    pub(crate) fn check_below(&self, op: &str, bound: usize, range: impl FnOnce() -> String) {
        if let Some(pos) = self.data.iter().position(|&i| i >= bound) {
            fail(
                op,
                format!(
                    "index {} at {:?} of indices of shape {} is out of range 0..{bound} for {}",
                    self.data[pos],
                    unravel(pos, &self.shape),
                    fmt_shape(&self.shape),
                    range()
                ),
            );
        }
    }
}

impl From<Vec<usize>> for Indices {
    /// One axis of indices.
    fn from(data: Vec<usize>) -> Self {
        let len = data.len();
        Indices::from_vec(data, [len])
    }
}

/// The multi-index of row-major position `pos` in `shape`.
fn unravel(mut pos: usize, shape: &[usize]) -> Dims {
    let mut index = Dims::from_elem(0, shape.len());
    for (i, &d) in index.iter_mut().zip(shape).rev() {
        *i = pos % d;
        pos /= d;
    }
    index
}

impl fmt::Display for Indices {
    /// `indices([2, 0, 1], shape=[3])`, rows on their own lines for higher ranks.
    ///
    /// ```
    /// # use shendu_tensor::Indices;
    /// let i = Indices::from_vec(vec![1, 2, 3, 4], [2, 2]);
    /// assert_eq!(i.to_string(), "indices([[1, 2],\n         [3, 4]], shape=[2, 2])");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PREFIX: &str = "indices(";
        f.write_str(PREFIX)?;
        write_nested(f, &self.data, &self.shape, PREFIX.len() + 1)?;
        if self.rank() > 0 {
            write!(f, ", shape={}", fmt_shape(&self.shape))?;
        }
        f.write_str(")")
    }
}

impl fmt::Debug for Indices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `data` of `shape` in nested brackets; inner rows start at column `indent`.
fn write_nested(
    f: &mut fmt::Formatter<'_>,
    data: &[usize],
    shape: &[usize],
    indent: usize,
) -> fmt::Result {
    match shape {
        [] => write!(f, "{}", data[0]),
        [_] => {
            let items: Vec<String> = data.iter().map(usize::to_string).collect();
            write!(f, "[{}]", items.join(", "))
        }
        [rows, inner @ ..] => {
            let step = data.len() / rows.max(&1);
            f.write_str("[")?;
            for r in 0..*rows {
                if r > 0 {
                    write!(f, ",\n{:indent$}", "")?;
                }
                write_nested(f, &data[r * step..(r + 1) * step], inner, indent + 1)?;
            }
            f.write_str("]")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Indices;
    use crate::Tensor;

    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).expect_err("should panic");
        err.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn one_hot_of_vectors_matrices_and_scalars() {
        let out = Indices::from(vec![2, 0, 1]).one_hot::<f32>(3);
        assert_eq!(out.shape(), &[3, 3]);
        assert_eq!(
            out.to_vec(),
            vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        );
        let out = Indices::from_vec(vec![1, 0], [2, 1]).one_hot::<f64>(2);
        assert_eq!(out.shape(), &[2, 1, 2]);
        assert_eq!(out.to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
        let out = Indices::from_vec(vec![1], []).one_hot::<f64>(2);
        assert_eq!(out.shape(), &[2]);
        assert_eq!(out.to_vec(), vec![0.0, 1.0]);
        assert_eq!(Indices::from(vec![]).one_hot::<f32>(4).shape(), &[0, 4]);
    }

    #[test]
    fn bad_indices_name_the_op_the_position_and_the_callers_line() {
        let here = |line: u32| format!("(at {}:{line})", file!());
        let line = line!() + 1;
        let msg = panic_message(|| drop(Indices::from(vec![0, 3]).one_hot::<f32>(3)));
        assert_eq!(
            msg,
            format!(
                "one_hot: index 3 at [1] of indices of shape [2] is out of range 0..3 for 3 \
                 classes {}",
                here(line)
            )
        );
        let line = line!() + 1;
        let msg = panic_message(|| drop(Indices::from_vec(vec![1, 2, 3], [2, 2])));
        assert_eq!(
            msg,
            format!(
                "Indices::from_vec: 3 indices cannot fill shape [2, 2] (4 elements) {}",
                here(line)
            )
        );
        let line = line!() + 1;
        let msg = panic_message(|| drop(Indices::from(vec![1, 2]).select_rows(&[0, 2])));
        assert!(
            msg.starts_with("select_rows: row 2 (rows[1]) is out of range"),
            "{msg}"
        );
        assert!(msg.ends_with(&here(line)), "{msg}");
        let msg = panic_message(|| drop(Indices::from_vec(vec![0; 4], [1 << 62, 4])));
        assert!(msg.contains("too large"), "{msg}");
    }

    #[test]
    fn views_share_the_buffer_and_read_in_row_major_order() {
        let i = Indices::from_vec((0..6).collect(), [2, 3]);
        assert_eq!(i.get(&[1, 2]), 5);
        assert_eq!(i.reshape([3, 2]).get(&[2, 0]), 4);
        assert_eq!(i.unsqueeze(1).shape(), &[2, 1, 3]);
        assert_eq!(i.unsqueeze(-1).shape(), &[2, 3, 1]);
        assert!(std::ptr::eq(i.reshape([6]).as_slice(), i.as_slice()));
        assert_eq!(
            i.select_rows(&[1, 1, 0]).to_vec(),
            vec![3, 4, 5, 3, 4, 5, 0, 1, 2]
        );
        assert_eq!(i.select_rows(&[]).shape(), &[0, 3]);
        let as_floats = i.to_tensor::<f32>();
        assert_eq!(as_floats.shape(), &[2, 3]);
        assert_eq!(as_floats.to_vec(), Tensor::<f32>::arange(6).to_vec());
    }

    #[test]
    fn display_and_debug() {
        assert_eq!(
            Indices::from(vec![2, 0, 1]).to_string(),
            "indices([2, 0, 1], shape=[3])"
        );
        assert_eq!(Indices::from_vec(vec![7], []).to_string(), "indices(7)");
        assert_eq!(
            format!("{:?}", Indices::from(vec![])),
            "indices([], shape=[0])"
        );
    }
}
