//! What the nn integration tests share: reading the message of an expected panic.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// The message `f` panics with; fails the test if `f` returns.
pub fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    let Err(payload) = catch_unwind(AssertUnwindSafe(f)) else {
        panic!("expected a panic");
    };
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
