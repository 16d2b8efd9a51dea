//! `CheckpointError`: what went wrong reading or writing a checkpoint, and in which file.
//!
//! Every problem a file can have is a value here, never a panic: the loader reads bytes from
//! outside, and damaged bytes are an expected input. Each message names the file, and the
//! tensor, the header field or the byte range at fault.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A checkpoint could not be read, written, or loaded into a model.
///
/// ```
/// use shendu_nn::checkpoint::{ErrorKind, StateDict};
/// let err = StateDict::<f32>::from_bytes(b"\x10\0\0\0\0\0\0\0{}").unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::HeaderLength { header_len: 16, .. }));
/// assert_eq!(
///     err.to_string(),
///     "the header length field says 16 bytes, but only 2 follow it (a truncated file?)"
/// );
/// ```
#[derive(Debug)]
pub struct CheckpointError {
    path: Option<PathBuf>,
    kind: ErrorKind,
}

/// What is wrong, with the evidence.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file system refused: `action` says what was being done ("read", "rename … to").
    Io {
        /// What was being done, with the file it was done to when that is not the checkpoint.
        action: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The bytes are too few to hold the 8-byte header length.
    TooShort {
        /// How many bytes there are.
        len: usize,
    },
    /// The header length field points past the end of the bytes.
    HeaderLength {
        /// The length the field gives.
        header_len: u64,
        /// The bytes after the field.
        available: usize,
    },
    /// The JSON header is longer than the format allows, not UTF-8, not JSON, not an object, or
    /// its `__metadata__` is not a map of strings.
    Header {
        /// What is wrong, with the parser's line and column where it has them.
        problem: String,
    },
    /// One tensor's header entry is malformed: a dtype nobody knows, a shape whose size
    /// overflows, offsets that do not hold the shape; or (when writing) a name the format
    /// reserves, a counter too large for `I64`.
    Tensor {
        /// The tensor's name.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The tensors' byte ranges do not tile the data section: an overlap, a gap, a range past
    /// the end (a truncated file), bytes after the last tensor.
    Data {
        /// What is wrong, with the tensors and byte offsets involved.
        problem: String,
    },
    /// A tensor of a type this state dict cannot hold: another float type than its element
    /// type (convert explicitly with [`StateDict::cast`](super::StateDict::cast)), or a type
    /// shendu does not read at all.
    Dtype {
        /// The tensor's name.
        name: String,
        /// Its type in the file (`"F64"`, `"BF16"`, an `"I64"` that is not a 0-d counter).
        found: String,
        /// What it could be read as.
        expected: String,
    },
    /// A strict load found the state dict and the model disagreeing; nothing was loaded.
    Mismatch {
        /// Entries of the model the state dict lacks.
        missing: Vec<String>,
        /// Entries of the state dict the model lacks.
        unexpected: Vec<String>,
        /// Entries both have, with another shape or kind.
        mismatched: Vec<super::Mismatch>,
    },
    /// A [`StateDict`](super::StateDict) lookup found nothing under the name.
    Missing {
        /// The name looked up.
        name: String,
        /// What was looked for: `"tensor"`, `"counter"` or `"scalar"`.
        what: &'static str,
    },
    /// A scalar in the header is not a number of the type asked for.
    Scalar {
        /// Its key.
        name: String,
        /// Its text in the header.
        text: String,
        /// The type asked for (`"f64"`, `"u64"`).
        expected: &'static str,
    },
    /// The `safetensors` crate rejected bytes that shendu's own checks accepted.
    Library(safetensors::SafeTensorError),
}

impl CheckpointError {
    /// The file this error is about, if it came from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// What is wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The same error, about the file `path`.
    pub(crate) fn in_file(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    pub(crate) fn io(path: &Path, action: impl Into<String>, source: io::Error) -> Self {
        CheckpointError::from(ErrorKind::Io {
            action: action.into(),
            source,
        })
        .in_file(path)
    }

    pub(crate) fn tensor(name: &str, problem: impl Into<String>) -> Self {
        ErrorKind::Tensor {
            name: name.to_string(),
            problem: problem.into(),
        }
        .into()
    }

    pub(crate) fn header(problem: impl Into<String>) -> Self {
        ErrorKind::Header {
            problem: problem.into(),
        }
        .into()
    }

    pub(crate) fn data(problem: impl Into<String>) -> Self {
        ErrorKind::Data {
            problem: problem.into(),
        }
        .into()
    }
}

impl From<ErrorKind> for CheckpointError {
    fn from(kind: ErrorKind) -> Self {
        CheckpointError { path: None, kind }
    }
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        write!(f, "{}", self.kind)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Io { action, source } => write!(f, "cannot {action}: {source}"),
            ErrorKind::TooShort { len } => write!(
                f,
                "{len} bytes cannot be a safetensors file: its header length alone takes 8"
            ),
            ErrorKind::HeaderLength {
                header_len,
                available,
            } => write!(
                f,
                "the header length field says {header_len} bytes, but only {available} follow it \
                 (a truncated file?)"
            ),
            ErrorKind::Header { problem } => write!(f, "header: {problem}"),
            ErrorKind::Tensor { name, problem } => write!(f, "tensor `{name}`: {problem}"),
            ErrorKind::Data { problem } => write!(f, "data section: {problem}"),
            ErrorKind::Dtype {
                name,
                found,
                expected,
            } => write!(
                f,
                "tensor `{name}` is {found}, which reads only as {expected}"
            ),
            ErrorKind::Mismatch {
                missing,
                unexpected,
                mismatched,
            } => {
                write!(
                    f,
                    "the state dict does not match the model; nothing was loaded"
                )?;
                if !missing.is_empty() {
                    write!(f, "\n    missing: {}", quoted(missing))?;
                }
                if !unexpected.is_empty() {
                    write!(f, "\n    unexpected: {}", quoted(unexpected))?;
                }
                for m in mismatched {
                    write!(f, "\n    {m}")?;
                }
                Ok(())
            }
            ErrorKind::Missing { name, what } => write!(f, "no {what} named `{name}`"),
            ErrorKind::Scalar {
                name,
                text,
                expected,
            } => write!(f, "scalar `{name}`: {text:?} is not a {expected}"),
            ErrorKind::Library(e) => write!(f, "the safetensors crate rejects the file: {e}"),
        }
    }
}

fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io { source, .. } => Some(source),
            ErrorKind::Library(e) => Some(e),
            _ => None,
        }
    }
}
