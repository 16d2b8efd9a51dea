//! Helpers shared by the autograd integration tests: catching a panic's message, comparing
//! floats, and finite differences in f64 that never look at a gradient formula.

#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, which must panic, and returns its panic message.
#[track_caller]
pub fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned normally"),
        Err(payload) => {
            if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else {
                panic!("the panic payload is not a string")
            }
        }
    }
}

/// Asserts that `message` contains every one of `parts`, showing the message otherwise.
#[track_caller]
pub fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "the message does not mention {part:?}:\n{message}"
        );
    }
}

/// `file:line` as a panic message built with `Location` spells it.
pub fn at(file: &str, line: u32) -> String {
    format!("{file}:{line}")
}

/// Asserts |a − e| ≤ atol + rtol·|e| elementwise.
#[track_caller]
pub fn assert_close(actual: &[f64], expected: &[f64], atol: f64, rtol: f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "lengths differ: {actual:?} vs {expected:?}"
    );
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= atol + rtol * e.abs(),
            "element {i}: got {a}, expected {e} (|diff| = {:e})\n  actual:   {actual:?}\n  expected: {expected:?}",
            (a - e).abs()
        );
    }
}

/// Central finite-difference gradient of a scalar function of a flat vector.
pub fn fd_gradient(f: &dyn Fn(&[f64]) -> f64, x: &[f64], eps: f64) -> Vec<f64> {
    (0..x.len())
        .map(|j| {
            let mut plus = x.to_vec();
            let mut minus = x.to_vec();
            plus[j] += eps;
            minus[j] -= eps;
            (f(&plus) - f(&minus)) / (2.0 * eps)
        })
        .collect()
}

/// The Hessian of a scalar function by second-order central differences of its values only:
/// H_ij ≈ (f(x+hεi+hεj) − f(x+hεi−hεj) − f(x−hεi+hεj) + f(x−hεi−hεj)) / 4h².
pub fn fd_hessian(f: &dyn Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<Vec<f64>> {
    let n = x.len();
    let at = |i: usize, si: f64, j: usize, sj: f64| {
        let mut p = x.to_vec();
        p[i] += si * h;
        p[j] += sj * h;
        f(&p)
    };
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    (at(i, 1.0, j, 1.0) - at(i, 1.0, j, -1.0) - at(i, -1.0, j, 1.0)
                        + at(i, -1.0, j, -1.0))
                        / (4.0 * h * h)
                })
                .collect()
        })
        .collect()
}

/// Matrix times vector.
pub fn mat_vec(m: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
    m.iter()
        .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum())
        .collect()
}
