//! One test binary for the crate: every file here is a module of it, so that the release build
//! links one binary instead of one per file.

mod common;

mod custom_ops;
mod deep_chain;
mod errors;
mod higher_order;
mod params;
mod profile;
mod pytorch_semantics;
mod tape;
