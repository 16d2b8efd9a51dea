//! A chain of a million ops on one scalar: the forward pass, the backward sweep and dropping the
//! tape must all run on a 256 KiB stack, which any recursion over the graph would overflow.
//!
//! Alone in its test binary so that the peak resident memory it prints (run with
//! `--nocapture`) is its own.

use std::time::Instant;

use shendu_autograd::Tape;
use shendu_tensor::Tensor;

const OPS: usize = 1_000_000;
const SCALE: f64 = 1.000001;
const SHIFT: f64 = 1e-6;

/// Peak resident set size of this process in KiB, from /proc (None off Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_million_op_chain_differentiates_on_a_small_stack() {
    let report = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let start = Instant::now();
            let tape = Tape::new();
            let x = tape.var(Tensor::from_vec(vec![0.5f64], [1]));
            let mut y = x.clone();
            // Alternating x·k and x + c: the derivative is k^(OPS/2), the value follows the
            // same recurrence in plain f64.
            for i in 0..OPS {
                y = if i % 2 == 0 {
                    y.mul_scalar(SCALE)
                } else {
                    y.add_scalar(SHIFT)
                };
            }
            let forward = start.elapsed();
            assert_eq!(tape.len(), OPS + 1);
            let value = y.value().item();

            let start = Instant::now();
            let grads = y.sum_all().backward();
            let backward = start.elapsed();
            let gradient = grads[&x].item();
            assert_eq!(
                tape.len(),
                OPS + 2,
                "backward records nothing beyond the sum"
            );

            let start = Instant::now();
            drop(grads);
            drop(y);
            drop(x);
            drop(tape);
            let dropped = start.elapsed();
            let value_check = {
                let mut v = 0.5f64;
                for i in 0..OPS {
                    v = if i % 2 == 0 { v * SCALE } else { v + SHIFT };
                }
                v
            };
            (gradient, value, value_check, forward, backward, dropped)
        })
        .expect("spawn")
        .join()
        .expect("the chain must not overflow a 256 KiB stack");
    let (gradient, value, value_check, forward, backward, dropped) = report;
    assert_eq!(
        value, value_check,
        "the forward value follows the plain f64 recurrence"
    );
    let expected = (0..OPS / 2).fold(1.0f64, |acc, _| acc * SCALE);
    assert!(
        (gradient - expected).abs() <= 1e-9 * expected,
        "gradient {gradient}, expected k^{} = {expected}",
        OPS / 2
    );
    println!(
        "million-op chain: forward {forward:?}, backward {backward:?}, drop {dropped:?}, total {:?}; \
         peak RSS {} MiB",
        forward + backward + dropped,
        peak_rss_kib().map_or("unknown".to_string(), |k| format!("{:.1}", k as f64 / 1024.0))
    );
}
