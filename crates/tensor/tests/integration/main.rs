//! One test binary for the crate: every file here is a module of it, so that the release build
//! links one binary instead of one per file.

mod common;

mod accuracy;
mod creation;
mod determinism;
mod elementwise;
mod errors;
mod indexing;
mod matmul;
mod overflow;
mod properties;
mod properties_movement;
mod properties_reduce;
mod reductions;
mod views;
mod zip_mut_with;
