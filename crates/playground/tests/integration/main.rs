//! One test binary for the crate: every file here is a module of it, so that the release build
//! links one binary instead of one per file. The browser test (`tests/browser.rs`) stays apart:
//! it needs Chromium, so it is ignored and run on its own.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod exact;
mod http;
mod pictures;
mod session;
