//! One test binary for the crate: every file here is a module of it, so that the release build
//! links one binary instead of one per file.

mod custom_op;
mod design_sketch;
mod gradients;
mod op_lists;
mod training;
