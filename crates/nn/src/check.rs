//! Programming errors in a model (a layer given an input of the wrong shape, a bad argument):
//! a panic naming the layer or function, the shapes and the caller's line, as the tensor crate
//! and the tape report theirs. Errors from outside (files, data) are `Result`s, in their modules.

use std::fmt::Display;
use std::panic::Location;

/// Panics with `"{what}: {message} (at {file}:{line})"`, naming the caller's line.
#[track_caller]
#[cold]
pub(crate) fn fail(what: &str, message: impl Display) -> ! {
    let at = Location::caller();
    panic!("{what}: {message} (at {}:{})", at.file(), at.line())
}
