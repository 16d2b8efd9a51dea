//! One test binary for the crate: every file here is a module of it, so that the release build
//! links one binary instead of one per file.

mod common;

mod checkpoint;
mod data;
mod layers;
mod losses;
mod metrics;
mod modules;
mod optim;
