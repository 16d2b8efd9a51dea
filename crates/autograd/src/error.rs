//! How the tape reports programming errors: a panic whose message names the op, what was wrong
//! with its operands, and the source line it was called from, as the tensor crate's errors do.
//!
//! Most errors are the caller's (a seed of the wrong shape, a var of another tape): [`fail`] is
//! `#[track_caller]`, like every public op, so it names the user's line. An error found in the
//! backward sweep belongs to the op that recorded the node, so [`fail_at`] names that op's line.

use std::fmt::Display;
use std::panic::Location;

/// Panics with `"{op}: {message} (at {file}:{line})"`, naming the caller's line.
#[track_caller]
#[cold]
pub(crate) fn fail(op: &str, message: impl Display) -> ! {
    fail_at(op, message, Location::caller())
}

/// Panics with `"{op}: {message} (at {file}:{line})"`, naming the line `at`.
#[cold]
pub(crate) fn fail_at(op: &str, message: impl Display, at: &Location<'_>) -> ! {
    panic!("{op}: {message} (at {}:{})", at.file(), at.line())
}
