//! Numeric data from CSV files: one example per line, feature columns and one label column,
//! read into a [`TensorDataset`] whose targets are class [`Indices`] or a tensor of values.
//!
//! A file is outside data, so nothing in it can make the reader panic: a line with too few or
//! too many fields, a field that is not a number, bytes that are not UTF-8, a quote left open,
//! each is a [`CsvError`] that names the file, the line and the column (1-based, as editors
//! show them), the field and its header name, and the text at fault.
//!
//! The format read is RFC 4180's with numbers in it: fields separated by a delimiter (`,` by
//! default), optionally in double quotes (a quote inside written twice), `\n` or `\r\n` line
//! ends, an optional byte-order mark. Blank lines are skipped. A quoted field cannot span lines.
//! Spaces around a field are ignored. Numbers are Rust's (and most writers') decimal floats:
//! `3`, `-0.5`, `1e-3`; `NaN` and infinities are refused, since no model trains on them.
//!
//! ```
//! use shendu_nn::data::Csv;
//!
//! let text = "sepal,petal,class\n5.1,1.4,0\n7.0,4.7,1\n";
//! let data = Csv::new().header(true).parse_classes::<f32>(text)?;
//! assert_eq!(data.x().shape(), &[2, 2]);
//! assert_eq!(data.y().to_vec(), vec![0, 1]);
//!
//! let err = Csv::new().header(true).parse_classes::<f32>("a,b,class\n1,2,0\n3,x4,1\n").unwrap_err();
//! assert_eq!((err.line(), err.column(), err.field()), (Some(3), Some(3), Some(2)));
//! assert_eq!(err.to_string(), r#"line 3, column 3: field 2 ("b"): "x4" is not a number"#);
//! # Ok::<(), shendu_nn::data::CsvError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use shendu_tensor::{Element, Indices, Tensor};

use super::TensorDataset;
use crate::check::fail;

/// How to read a CSV file of numbers: the delimiter, whether the first line is a header, and
/// which column holds the label; then [`read_classes`](Csv::read_classes) or
/// [`read_values`](Csv::read_values) (and their `parse_` forms for text in memory).
///
/// The defaults: `,` between fields, no header line, the label in the last column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Csv {
    delimiter: char,
    header: bool,
    /// The label's column, counted from 0; `None` for the last one.
    label: Option<usize>,
}

impl Default for Csv {
    fn default() -> Self {
        Csv::new()
    }
}

impl Csv {
    /// The default reader: `,` between fields, no header line, the label in the last column.
    pub fn new() -> Self {
        Csv {
            delimiter: ',',
            header: false,
            label: None,
        }
    }

    /// Whether the first (non-blank) line names the columns instead of holding data. Its names
    /// appear in error messages.
    pub fn header(self, header: bool) -> Self {
        Csv { header, ..self }
    }

    /// The character between fields: `,` by default, `;` or `\t` for other files.
    ///
    /// # Panics
    /// If `delimiter` is `"` or a line end, which cannot separate fields.
    #[track_caller]
    pub fn delimiter(self, delimiter: char) -> Self {
        if matches!(delimiter, '"' | '\n' | '\r') {
            fail(
                "Csv::delimiter",
                format!("{delimiter:?} cannot separate fields: it quotes or ends them"),
            );
        }
        Csv { delimiter, ..self }
    }

    /// The column that holds the label, counted from 0 (the first column is 0); the others are
    /// the features, in their order. By default the label is the last column.
    pub fn label_column(self, column: usize) -> Self {
        Csv {
            label: Some(column),
            ..self
        }
    }

    /// The file at `path` with class labels: features `[rows, columns − 1]` and the label
    /// column as [`Indices`] of shape `[rows]` (whole numbers from 0, what `cross_entropy`
    /// takes).
    pub fn read_classes<T: Element>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<TensorDataset<T, Indices>, CsvError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| CsvError::io(path, e))?;
        self.parse_classes(bytes).map_err(|e| e.in_file(path))
    }

    /// The file at `path` with values as labels (regression): features `[rows, columns − 1]`
    /// and targets `[rows, 1]`.
    pub fn read_values<T: Element>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<TensorDataset<T, Tensor<T>>, CsvError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| CsvError::io(path, e))?;
        self.parse_values(bytes).map_err(|e| e.in_file(path))
    }

    /// [`read_classes`](Csv::read_classes) of text in memory (a `&str`, a `String` or bytes).
    pub fn parse_classes<T: Element>(
        &self,
        text: impl AsRef<[u8]>,
    ) -> Result<TensorDataset<T, Indices>, CsvError> {
        let (x, labels) = self.parse(text.as_ref(), parse_class)?;
        let rows = labels.len();
        Ok(TensorDataset::new(x, Indices::from_vec(labels, [rows])))
    }

    /// [`read_values`](Csv::read_values) of text in memory (a `&str`, a `String` or bytes).
    pub fn parse_values<T: Element>(
        &self,
        text: impl AsRef<[u8]>,
    ) -> Result<TensorDataset<T, Tensor<T>>, CsvError> {
        let (x, values) = self.parse(text.as_ref(), parse_number::<T>)?;
        let rows = values.len();
        Ok(TensorDataset::new(x, Tensor::from_vec(values, [rows, 1])))
    }

    /// The features as a `[rows, columns − 1]` tensor and the labels parsed by `label`.
    fn parse<T: Element, L>(
        &self,
        bytes: &[u8],
        label: fn(&str) -> Result<L, Problem>,
    ) -> Result<(Tensor<T>, Vec<L>), CsvError> {
        let text = decode(bytes)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
            .filter(|(_, line)| !line.trim().is_empty());

        let mut names = Vec::new();
        let mut fields = Vec::new();
        let mut columns = None;
        if self.header
            && let Some((number, line)) = lines.next()
        {
            split_fields(line, number, self.delimiter, &mut names)?;
            columns = Some(names.len());
        }
        let mut x = Vec::new();
        let mut labels = Vec::new();
        for (number, line) in lines {
            // Text in the first line of a file read without a header is most likely a header.
            let hint = !self.header && columns.is_none();
            let with_hint = |e: CsvError| CsvError {
                header_hint: hint && e.text().is_some(),
                ..e
            };
            split_fields(line, number, self.delimiter, &mut fields)?;
            let expected = *columns.get_or_insert(fields.len());
            let label_column = self.label_column_of(expected, number)?;
            check_count(&fields, expected, line, number)?;
            for (k, field) in fields.iter().enumerate() {
                let text = field.text.as_ref();
                let located = |problem| CsvError::at(number, field, k, &names, problem);
                if k == label_column {
                    labels.push(label(text).map_err(located).map_err(with_hint)?);
                } else {
                    x.push(
                        parse_number::<T>(text)
                            .map_err(located)
                            .map_err(with_hint)?,
                    );
                }
            }
        }
        let Some(columns) = columns.filter(|_| !labels.is_empty()) else {
            return Err(CsvError::new(None, Problem::NoRows));
        };
        let rows = labels.len();
        Ok((Tensor::from_vec(x, [rows, columns - 1]), labels))
    }

    /// The label's column for rows of `columns` fields, or an error if there is no such column.
    fn label_column_of(&self, columns: usize, line: usize) -> Result<usize, CsvError> {
        match self.label {
            None if columns > 0 => Ok(columns - 1),
            Some(column) if column < columns => Ok(column),
            _ => Err(CsvError::new(
                Some(Location {
                    line,
                    column: 1,
                    field: 0,
                    name: None,
                }),
                Problem::NoLabelColumn {
                    label: self.label.map_or(columns, |c| c + 1),
                    columns,
                },
            )),
        }
    }
}

/// The UCI handwritten digits as scikit-learn ships them (`data/digits.csv` in this
/// repository): 1,797 images of 8×8 pixels, features `[1797, 64]` with values 0..=16 and labels
/// 0..=9. The file has a header line and the label in its last column, so this is
/// `Csv::new().header(true).read_classes(path)`.
///
/// ```no_run
/// let digits = shendu_nn::data::digits::<f32>("data/digits.csv")?;
/// let digits = digits.map_x(|x| x / 16.0);       // pixels in [0, 1]
/// # Ok::<(), shendu_nn::data::CsvError>(())
/// ```
pub fn digits<T: Element>(path: impl AsRef<Path>) -> Result<TensorDataset<T, Indices>, CsvError> {
    Csv::new().header(true).read_classes(path)
}

/// One field of a line: its text (unquoted, trimmed; borrowed from the line unless it was
/// quoted) and the 1-based character column where it starts.
#[derive(Debug)]
struct Field<'a> {
    text: Cow<'a, str>,
    column: usize,
}

/// Splits `line` (number `number`) into `out`.
fn split_fields<'a>(
    line: &'a str,
    number: usize,
    delimiter: char,
    out: &mut Vec<Field<'a>>,
) -> Result<(), CsvError> {
    out.clear();
    // (character position, (byte position, character)): columns count characters, slices bytes.
    let mut chars = line.char_indices().enumerate().peekable();
    loop {
        while chars
            .next_if(|&(_, (_, c))| c != delimiter && c.is_whitespace())
            .is_some()
        {}
        let (column, start) = match chars.peek() {
            Some(&(column, (start, _))) => (column + 1, start),
            // Lazily: counting the line's characters for every field would be quadratic.
            None => (line.chars().count() + 1, line.len()),
        };
        let mut ended = false;
        let text = if chars.next_if(|&(_, (_, c))| c == '"').is_some() {
            let mut text = String::new();
            loop {
                match chars.next() {
                    None => {
                        let location = Location {
                            line: number,
                            column,
                            field: out.len() + 1,
                            name: None,
                        };
                        return Err(CsvError::new(Some(location), Problem::UnclosedQuote));
                    }
                    Some((_, (_, '"'))) if chars.next_if(|&(_, (_, c))| c == '"').is_some() => {
                        text.push('"')
                    }
                    Some((_, (_, '"'))) => break,
                    Some((_, (_, c))) => text.push(c),
                }
            }
            // What follows a closing quote up to the delimiter is kept, so that a stray
            // character shows in the error of a field that is then not a number.
            for (_, (_, c)) in chars.by_ref() {
                if c == delimiter {
                    ended = true;
                    break;
                }
                text.push(c);
            }
            text.truncate(text.trim_end().len());
            Cow::Owned(text)
        } else {
            let mut end = line.len();
            for (_, (at, c)) in chars.by_ref() {
                if c == delimiter {
                    (end, ended) = (at, true);
                    break;
                }
            }
            Cow::Borrowed(line[start..end].trim_end())
        };
        out.push(Field { text, column });
        if !ended {
            return Ok(());
        }
    }
}

/// An error unless the line has `expected` fields, pointing at the first missing or extra one.
fn check_count(
    fields: &[Field],
    expected: usize,
    line: &str,
    number: usize,
) -> Result<(), CsvError> {
    if fields.len() == expected {
        return Ok(());
    }
    let (column, field) = match fields.get(expected) {
        Some(extra) => (extra.column, expected + 1),
        None => (line.chars().count() + 1, fields.len() + 1),
    };
    let location = Location {
        line: number,
        column,
        field,
        name: None,
    };
    Err(CsvError::new(
        Some(location),
        Problem::FieldCount {
            expected,
            found: fields.len(),
        },
    ))
}

/// The text as UTF-8, or an error at the line and column of the first bad byte.
fn decode(bytes: &[u8]) -> Result<&str, CsvError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        // The valid prefix is UTF-8, so it decodes; its last line holds the bad byte.
        let good = std::str::from_utf8(good).unwrap_or_default();
        let line = good.matches('\n').count() + 1;
        let start = good.rsplit('\n').next().unwrap_or_default();
        // Columns count from after a byte-order mark, as the fields' do.
        let start = start
            .strip_prefix('\u{feff}')
            .filter(|_| line == 1)
            .unwrap_or(start);
        let column = start.chars().count() + 1;
        let location = Location {
            line,
            column,
            field: 0,
            name: None,
        };
        CsvError::new(Some(location), Problem::NotUtf8)
    })
}

fn parse_number<T: Element>(text: &str) -> Result<T, Problem> {
    if text.is_empty() {
        return Err(Problem::Empty);
    }
    let value: f64 = text.parse().map_err(|_| Problem::NotANumber {
        text: text.to_string(),
    })?;
    let value = T::from_f64_lossy(value);
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Problem::NotFinite {
            text: text.to_string(),
            element: T::NAME,
        })
    }
}

fn parse_class(text: &str) -> Result<usize, Problem> {
    if text.is_empty() {
        return Err(Problem::Empty);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::NotAClass {
            text: text.to_string(),
        });
    }
    text.parse().map_err(|_| Problem::NotAClass {
        text: text.to_string(),
    })
}

/// Where in a file an error is: line and character column (1-based), and the field
/// (1-based) with its header name when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Location {
    line: usize,
    column: usize,
    /// 0 when the error is not about one field (bytes that are not UTF-8).
    field: usize,
    name: Option<String>,
}

/// What is wrong, without where.
#[derive(Debug)]
enum Problem {
    Io(std::io::Error),
    NotUtf8,
    UnclosedQuote,
    Empty,
    NotANumber { text: String },
    NotFinite { text: String, element: &'static str },
    NotAClass { text: String },
    FieldCount { expected: usize, found: usize },
    NoLabelColumn { label: usize, columns: usize },
    NoRows,
}

/// Why a CSV file or text could not be read, and where: the file, the line and the column
/// (1-based, as editors show them), the field with its header name, and the text at fault.
///
/// Its `Display` is one line in the form editors and compilers use, `path:line:column: what`:
///
/// ```text
/// data/digits.csv:12:17: field 9 ("p8"): "1x" is not a number
/// ```
#[derive(Debug)]
pub struct CsvError {
    path: Option<PathBuf>,
    location: Option<Location>,
    problem: Problem,
    /// Whether the message suggests `Csv::header(true)`: bad text in the first line.
    header_hint: bool,
}

impl CsvError {
    fn new(location: Option<Location>, problem: Problem) -> Self {
        CsvError {
            path: None,
            location,
            problem,
            header_hint: false,
        }
    }

    fn io(path: &Path, error: std::io::Error) -> Self {
        CsvError::new(None, Problem::Io(error)).in_file(path)
    }

    /// An error about field `index` (from 0) of line `line`.
    fn at(line: usize, field: &Field, index: usize, names: &[Field], problem: Problem) -> Self {
        let location = Location {
            line,
            column: field.column,
            field: index + 1,
            name: names.get(index).map(|f| f.text.to_string()),
        };
        CsvError::new(Some(location), problem)
    }

    fn in_file(self, path: &Path) -> Self {
        CsvError {
            path: Some(path.to_path_buf()),
            ..self
        }
    }

    /// The file, when the error comes from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The line (from 1), when the error is about one.
    pub fn line(&self) -> Option<usize> {
        self.location.as_ref().map(|l| l.line)
    }

    /// The character column (from 1) where the faulty field or byte starts, when the error is
    /// about one.
    pub fn column(&self) -> Option<usize> {
        self.location.as_ref().map(|l| l.column)
    }

    /// The field (from 1: the CSV column), when the error is about one.
    pub fn field(&self) -> Option<usize> {
        self.location
            .as_ref()
            .map(|l| l.field)
            .filter(|&field| field > 0)
    }

    /// The text at fault, when a field's text is (not a number, not a class).
    pub fn text(&self) -> Option<&str> {
        match &self.problem {
            Problem::NotANumber { text }
            | Problem::NotFinite { text, .. }
            | Problem::NotAClass { text } => Some(text),
            _ => None,
        }
    }
}

/// At most this many characters of a field in a message: one line must stay readable when a
/// file has a megabyte without a delimiter.
const SHOWN: usize = 40;

/// The text quoted, shortened to [`SHOWN`] characters.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(SHOWN) {
            Some((end, _)) => write!(f, "{:?}…", &self.0[..end]),
            None => write!(f, "{:?}", self.0),
        }
    }
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, &self.location) {
            (Some(path), Some(l)) => write!(f, "{}:{}:{}: ", path.display(), l.line, l.column)?,
            (Some(path), None) => write!(f, "{}: ", path.display())?,
            (None, Some(l)) => write!(f, "line {}, column {}: ", l.line, l.column)?,
            (None, None) => {}
        }
        if let Some(l) = self.location.as_ref().filter(|l| l.field > 0) {
            match &l.name {
                Some(name) => write!(f, "field {} ({}): ", l.field, Quoted(name))?,
                None => write!(f, "field {}: ", l.field)?,
            }
        }
        match &self.problem {
            Problem::Io(e) => write!(f, "{e}"),
            Problem::NotUtf8 => write!(f, "the bytes here are not UTF-8 text"),
            Problem::UnclosedQuote => write!(
                f,
                "the quote opened here is not closed on this line (a quoted field cannot span lines)"
            ),
            Problem::Empty => write!(f, "the field is empty, where a number was expected"),
            Problem::NotANumber { text } => write!(f, "{} is not a number", Quoted(text)),
            Problem::NotFinite { text, element } => {
                write!(f, "{} is not a finite {element}", Quoted(text))
            }
            Problem::NotAClass { text } => write!(
                f,
                "{} is not a class label (a whole number from 0)",
                Quoted(text)
            ),
            Problem::FieldCount { expected, found } => write!(
                f,
                "this line has {found} fields where the first had {expected}"
            ),
            Problem::NoLabelColumn { label, columns } => write!(
                f,
                "the label column {label} (counting from 1) is not among the {columns} columns"
            ),
            Problem::NoRows => write!(f, "no data lines"),
        }?;
        if self.header_hint {
            write!(
                f,
                " (if this line is a header, read with Csv::header(true))"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for CsvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Io(e) => Some(e),
            _ => None,
        }
    }
}
