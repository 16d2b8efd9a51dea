//! What the integration tests share: plain reference implementations ([`reference`]),
//! proptest strategies for shapes, values, broadcastable pairs and non-contiguous views
//! ([`strategies`]), and comparisons.

// Each test file uses part of this module; the rest would warn as dead code (or an unused
// re-export) there.
#![allow(dead_code, unused_imports)]

mod reference;
mod strategies;

pub use reference::*;
pub use strategies::*;

use proptest::test_runner::Config as ProptestConfig;
use shendu_tensor::{Element, Tensor};

/// `cases` random cases per property; a failure is reported with its shrunk input, not saved to
/// a file.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------------

/// The same value bit for bit, any NaN matching any NaN.
pub fn same_bits<T: Element>(a: T, b: T) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_f64_exact().to_bits() == b.to_f64_exact().to_bits()
}

/// Whether each `got[i]` is within `rel · scale[i]` (plus a tiny absolute slack) of `want[i]`;
/// NaN and infinities must match exactly. Returns a description of the first mismatch.
pub fn close_to(got: &[f64], want: &[f64], scale: &[f64], rel: f64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("length {} != {}", got.len(), want.len()));
    }
    for i in 0..got.len() {
        let (g, w) = (got[i], want[i]);
        let ok = if w.is_nan() || g.is_nan() {
            w.is_nan() && g.is_nan()
        } else if w.is_infinite() || g.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= rel * scale[i] + 1e-300
        };
        if !ok {
            return Err(format!(
                "element {i}: got {g:e}, want {w:e} (scale {:e}, rel {rel:e})",
                scale[i]
            ));
        }
    }
    Ok(())
}

/// Widens a tensor's elements to f64.
pub fn to_f64<T: Element>(t: &Tensor<T>) -> Vec<f64> {
    t.to_vec().into_iter().map(Element::to_f64_exact).collect()
}

/// Asserts `a` and `b` hold the same bits, position by position.
#[track_caller]
pub fn assert_bits<T: Element>(got: &[T], want: &[T]) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(same_bits(g, w), "element {i}: got {g:?}, want {w:?}");
    }
}

/// Asserts every element of `got` is within `tol` of `want` (absolute).
#[track_caller]
pub fn assert_near<T: Element>(got: &Tensor<T>, want: &[f64], tol: f64) {
    let got = to_f64(got);
    assert_eq!(
        got.len(),
        want.len(),
        "lengths differ: got {got:?}, want {want:?}"
    );
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol,
            "element {i}: got {g}, want {w} (tolerance {tol}); all: {got:?}"
        );
    }
}

/// A seeded RNG for tests that draw large random inputs.
pub fn rng(seed: u64) -> rand::rngs::StdRng {
    use rand::SeedableRng;
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// The panic message of `f`, which must panic.
pub fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    }
}
