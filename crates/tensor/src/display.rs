//! Printing tensors the way PyTorch does:
//!
//! ```text
//! tensor([[1.0000, 2.0000],
//!         [3.0000, 4.0000]], shape=[2, 2])
//! ```
//!
//! Every element shown gets one format, fixed point with 4 decimals (or the `N` of `{:.N}`), or
//! scientific notation when the nonzero magnitudes span more than a factor 1000 or leave
//! 1e-4..1e8; and one width, so columns line up. Tensors of more than 1000 elements show only the
//! first and last 3 entries of each longer axis, around `...`. Rows wrap at 80 columns.
//! `Debug` adds the layout and prints the same elements on one line.

use std::fmt;

use crate::check::fmt_shape;
use crate::element::Element;
use crate::tensor::Tensor;

/// Tensors with more elements than this are summarised.
const SUMMARIZE_ABOVE: usize = 1000;
/// Entries kept at each end of a summarised axis.
const EDGE_ITEMS: usize = 3;
/// Rows of numbers wrap before this column.
const LINE_WIDTH: usize = 80;
/// Decimals when the format string gives no precision.
const DEFAULT_PRECISION: usize = 4;

impl<T: Element> fmt::Display for Tensor<T> {
    /// `tensor([..], shape=[..])` like PyTorch, with `, dtype=f64` for non-`f32` tensors.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]);
    /// assert_eq!(t.to_string(), "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], shape=[2, 2])");
    /// assert_eq!(format!("{:.1}", Tensor::scalar(3.25f64)), "tensor(3.2, dtype=f64)");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(DEFAULT_PRECISION);
        const PREFIX: &str = "tensor(";
        f.write_str(PREFIX)?;
        f.write_str(&render(self, precision, Some(PREFIX.len())))?;
        if self.rank() > 0 {
            write!(f, ", shape={}", fmt_shape(self.shape()))?;
        }
        if T::NAME != "f32" {
            write!(f, ", dtype={}", T::NAME)?;
        }
        f.write_str(")")
    }
}

impl<T: Element> fmt::Debug for Tensor<T> {
    /// `Tensor { shape: [2], strides: [1], offset: 0, dtype: f32, data: [1.0000, 2.0000] }`, the
    /// elements on one line and summarised as in `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(DEFAULT_PRECISION);
        write!(
            f,
            "Tensor {{ shape: {:?}, strides: {:?}, offset: {}, dtype: {}, data: {} }}",
            self.shape(),
            self.layout.strides(),
            self.layout.offset(),
            T::NAME,
            render(self, precision, None)
        )
    }
}

/// The elements in nested brackets. `indent` is the column the text starts at, for aligned
/// multi-line output; `None` puts everything on one line.
fn render<T: Element>(t: &Tensor<T>, precision: usize, indent: Option<usize>) -> String {
    let (data, layout) = t.parts();
    if t.numel() == 0 {
        return if t.rank() == 0 {
            String::new()
        } else {
            "[]".to_string()
        };
    }
    let summarize = t.numel() > SUMMARIZE_ABOVE;
    let shown: Vec<Vec<Entry>> = t.shape().iter().map(|&d| entries(d, summarize)).collect();
    let printer = Printer {
        data,
        strides: layout.strides(),
        shown,
        number: Number::default(),
    };
    let mut values = Vec::new();
    printer.collect(0, layout.offset(), &mut values);
    let number = Number::new(&values, precision, indent.is_some());
    let printer = Printer { number, ..printer };
    match indent {
        Some(indent) => printer.lines(0, layout.offset(), indent),
        None => printer.one_line(0, layout.offset()),
    }
}

/// One position along an axis: an index, or the `...` that stands for the elided middle.
#[derive(Clone, Copy)]
enum Entry {
    At(usize),
    Elided,
}

/// The entries shown along an axis of length `len`.
fn entries(len: usize, summarize: bool) -> Vec<Entry> {
    if summarize && len > 2 * EDGE_ITEMS {
        let head = (0..EDGE_ITEMS).map(Entry::At);
        let tail = (len - EDGE_ITEMS..len).map(Entry::At);
        head.chain([Entry::Elided]).chain(tail).collect()
    } else {
        (0..len).map(Entry::At).collect()
    }
}

/// Walks the shown elements of a strided tensor.
struct Printer<'a, T> {
    data: &'a [T],
    strides: &'a [usize],
    shown: Vec<Vec<Entry>>,
    number: Number,
}

impl<T: Element> Printer<'_, T> {
    /// The shown positions along `axis` of the sub-tensor starting at `offset`.
    fn positions(&self, axis: usize, offset: usize) -> impl Iterator<Item = Option<usize>> + '_ {
        let stride = self.strides[axis];
        self.shown[axis].iter().map(move |e| match *e {
            Entry::At(i) => Some(offset + i * stride),
            Entry::Elided => None,
        })
    }

    /// Appends the shown elements to `out`, to choose their format.
    fn collect(&self, axis: usize, offset: usize, out: &mut Vec<f64>) {
        if axis == self.shown.len() {
            out.push(self.data[offset].to_f64_exact());
            return;
        }
        for pos in self.positions(axis, offset).flatten() {
            self.collect(axis + 1, pos, out);
        }
    }

    fn value(&self, offset: usize) -> String {
        let s = self.number.format(self.data[offset].to_f64_exact());
        format!("{s:>width$}", width = self.number.width)
    }

    /// PyTorch's layout: rows separated by a line break (two between matrices, three between
    /// blocks of matrices...) and indented under the opening bracket; long rows wrap.
    fn lines(&self, axis: usize, offset: usize, indent: usize) -> String {
        let rank = self.shown.len();
        if axis == rank {
            return self.value(offset);
        }
        let items: Vec<String> = self
            .positions(axis, offset)
            .map(|pos| match pos {
                Some(pos) if axis + 1 == rank => self.value(pos),
                Some(pos) => self.lines(axis + 1, pos, indent + 1),
                None if axis + 1 == rank => " ...".to_string(),
                None => "...".to_string(),
            })
            .collect();
        let newline = format!("{}{}", "\n".repeat(rank - axis - 1), " ".repeat(indent + 1));
        if axis + 1 < rank {
            return format!("[{}]", items.join(&format!(",{newline}")));
        }
        let per_line = (LINE_WIDTH.saturating_sub(indent) / (self.number.width + 2)).max(1);
        let rows: Vec<String> = items.chunks(per_line).map(|row| row.join(", ")).collect();
        format!("[{}]", rows.join(&format!(",\n{}", " ".repeat(indent + 1))))
    }

    /// Everything on one line, for `Debug`.
    fn one_line(&self, axis: usize, offset: usize) -> String {
        if axis == self.shown.len() {
            return self.value(offset);
        }
        let items: Vec<String> = self
            .positions(axis, offset)
            .map(|pos| pos.map_or_else(|| "...".to_string(), |pos| self.one_line(axis + 1, pos)))
            .collect();
        format!("[{}]", items.join(", "))
    }
}

/// How numbers are written: fixed point or scientific, with `precision` decimals, right-aligned
/// to `width` columns.
#[derive(Default)]
struct Number {
    scientific: bool,
    precision: usize,
    width: usize,
}

impl Number {
    /// The format for `values` (PyTorch's rule); aligned to the widest of them if `align`.
    fn new(values: &[f64], precision: usize, align: bool) -> Self {
        let magnitudes = values
            .iter()
            .filter(|x| x.is_finite() && **x != 0.0)
            .map(|x| x.abs());
        let range = magnitudes.fold(None, |acc: Option<(f64, f64)>, x| match acc {
            None => Some((x, x)),
            Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
        });
        let scientific = range.is_some_and(|(lo, hi)| hi / lo > 1000.0 || hi > 1e8 || lo < 1e-4);
        let mut number = Number {
            scientific,
            precision,
            width: 0,
        };
        if align {
            number.width = values
                .iter()
                .map(|&x| number.format(x).len())
                .max()
                .unwrap_or(0);
        }
        number
    }

    /// `x` unpadded: `1.0000`, `1.0000e-05`, `nan`, `-inf`.
    fn format(&self, x: f64) -> String {
        let p = self.precision;
        if x.is_nan() {
            "nan".to_string()
        } else if x.is_infinite() {
            (if x > 0.0 { "inf" } else { "-inf" }).to_string()
        } else if !self.scientific {
            format!("{x:.p$}")
        } else {
            // Rust writes `1.0000e-5`; PyTorch (and C's printf) `1.0000e-05`.
            let s = format!("{x:.p$e}");
            match s.split_once('e') {
                Some((mantissa, exp)) => {
                    let (sign, digits) = exp.strip_prefix('-').map_or(('+', exp), |d| ('-', d));
                    format!("{mantissa}e{sign}{digits:0>2}")
                }
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    fn t(data: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(data.to_vec(), shape)
    }

    #[test]
    fn matrix_and_vector() {
        let m = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        assert_eq!(
            m.to_string(),
            "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], shape=[2, 2])"
        );
        assert_eq!(
            t(&[-1.0, 2.5], &[2]).to_string(),
            "tensor([-1.0000,  2.5000], shape=[2])"
        );
    }

    #[test]
    fn transposed_view_prints_its_logical_order() {
        let m = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).t();
        assert_eq!(
            m.to_string(),
            "tensor([[1.0000, 3.0000],\n        [2.0000, 4.0000]], shape=[2, 2])"
        );
    }

    #[test]
    fn scalars_and_dtype() {
        assert_eq!(Tensor::scalar(3.5f32).to_string(), "tensor(3.5000)");
        assert_eq!(
            Tensor::scalar(3.5f64).to_string(),
            "tensor(3.5000, dtype=f64)"
        );
        assert_eq!(
            Tensor::<f64>::ones([1]).to_string(),
            "tensor([1.0000], shape=[1], dtype=f64)"
        );
    }

    #[test]
    fn precision_from_the_format_string() {
        let m = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        assert_eq!(
            format!("{m:.2}"),
            "tensor([[1.00, 2.00],\n        [3.00, 4.00]], shape=[2, 2])"
        );
        assert_eq!(format!("{:.0}", Tensor::scalar(2.0f32)), "tensor(2)");
    }

    #[test]
    fn scientific_when_magnitudes_are_far_apart() {
        assert_eq!(
            t(&[1e-5, 1.0], &[2]).to_string(),
            "tensor([1.0000e-05, 1.0000e+00], shape=[2])"
        );
        assert_eq!(
            t(&[0.0, 2e9], &[2]).to_string(),
            "tensor([0.0000e+00, 2.0000e+09], shape=[2])"
        );
        assert_eq!(
            t(&[1.0, 1000.0], &[2]).to_string(),
            "tensor([   1.0000, 1000.0000], shape=[2])"
        );
    }

    #[test]
    fn nan_and_infinities() {
        let x = t(&[f32::NAN, f32::INFINITY, -f32::INFINITY, 1.0], &[4]);
        assert_eq!(
            x.to_string(),
            "tensor([   nan,    inf,   -inf, 1.0000], shape=[4])"
        );
    }

    #[test]
    fn rank_3_separates_matrices_with_a_blank_line() {
        let x = Tensor::<f32>::arange(4).reshape([2, 1, 2]);
        assert_eq!(
            x.to_string(),
            "tensor([[[0.0000, 1.0000]],\n\n        [[2.0000, 3.0000]]], shape=[2, 1, 2])"
        );
    }

    #[test]
    fn empty_tensors() {
        assert_eq!(
            Tensor::<f32>::zeros([0]).to_string(),
            "tensor([], shape=[0])"
        );
        assert_eq!(
            Tensor::<f32>::zeros([2, 0]).to_string(),
            "tensor([], shape=[2, 0])"
        );
    }

    #[test]
    fn long_rows_wrap_at_80_columns() {
        // 20 values of width 7 after an indent of 7: (80 - 7) / (7 + 2) = 8 per line.
        let text = Tensor::<f32>::arange(20).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.len() <= 80));
        assert_eq!(
            lines[1],
            "         8.0000,  9.0000, 10.0000, 11.0000, 12.0000, 13.0000, 14.0000, 15.0000,"
        );
    }

    #[test]
    fn large_tensors_are_elided() {
        // 1200 elements: 10 + 0.25 i, shape [40, 30].
        let x = Tensor::from_vec(
            (0..1200).map(|i| 10.0 + 0.25 * i as f32).collect(),
            [40, 30],
        );
        let text = x.to_string();
        assert!(text.contains("..."));
        assert!(text.starts_with("tensor([[ 10.0000,"));
        assert!(text.contains("309.7500]]"));
        let expected = "\
tensor([[ 10.0000,  10.2500,  10.5000,  ...,  16.7500,  17.0000,  17.2500],
        [ 17.5000,  17.7500,  18.0000,  ...,  24.2500,  24.5000,  24.7500],
        [ 25.0000,  25.2500,  25.5000,  ...,  31.7500,  32.0000,  32.2500],
        ...,
        [287.5000, 287.7500, 288.0000,  ..., 294.2500, 294.5000, 294.7500],
        [295.0000, 295.2500, 295.5000,  ..., 301.7500, 302.0000, 302.2500],
        [302.5000, 302.7500, 303.0000,  ..., 309.2500, 309.5000, 309.7500]], shape=[40, 30])";
        assert_eq!(text, expected);
        // 1000 elements is still printed in full.
        assert!(!Tensor::<f32>::zeros([1000]).to_string().contains("..."));
    }

    #[test]
    fn debug_shows_the_layout_on_one_line() {
        let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).narrow(1, 1, 2);
        assert_eq!(
            format!("{x:?}"),
            "Tensor { shape: [2, 2], strides: [3, 1], offset: 1, dtype: f32, \
             data: [[2.0000, 3.0000], [5.0000, 6.0000]] }"
        );
        // 2000 elements, elided; 1999 / 1 > 1000 calls for scientific notation.
        assert_eq!(
            format!("{:.1?}", Tensor::<f64>::arange(2000)),
            "Tensor { shape: [2000], strides: [1], offset: 0, dtype: f64, \
             data: [0.0e+00, 1.0e+00, 2.0e+00, ..., 2.0e+03, 2.0e+03, 2.0e+03] }"
        );
    }
}
