//! Error reporting for programming errors: a shape mismatch or a bad axis panics with a message
//! that names the op, the shapes involved and the caller's source line.
//!
//! Every public op is `#[track_caller]`, and so is every function between it and [`fail`], so that
//! `Location::caller()` here is the line in the user's code.

use std::fmt::Display;
use std::panic::Location;

/// Panics with `"{op}: {message} (at {file}:{line})"`, naming the user's call site.
#[track_caller]
#[cold]
pub(crate) fn fail(op: &str, message: impl Display) -> ! {
    let at = Location::caller();
    panic!("{op}: {message} (at {}:{})", at.file(), at.line())
}

/// Formats a shape the way messages show it: `[2, 3]`.
pub(crate) fn fmt_shape(shape: &[usize]) -> String {
    format!("{shape:?}")
}
