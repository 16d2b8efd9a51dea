//! How the speed tables time a call, shared by `examples/bench_table.rs` and
//! `examples/reduce_speed.rs` (included with `#[path]`, since examples share no crate): a warm-up
//! call, then repetitions of enough calls to last a set time each, as `benches/reference.py`
//! times NumPy.

use std::hint::black_box;
use std::time::Instant;

/// Seconds per call of `f` in `repetitions` repetitions of enough calls to last `seconds` each,
/// sorted from fastest to slowest.
pub fn samples<R>(mut f: impl FnMut() -> R, seconds: f64, repetitions: usize) -> Vec<f64> {
    black_box(f());
    let t = Instant::now();
    black_box(f());
    let inner = (seconds / t.elapsed().as_secs_f64()).ceil().max(1.0) as u32;
    let mut s: Vec<f64> = (0..repetitions)
        .map(|_| {
            let t = Instant::now();
            (0..inner).for_each(|_| drop(black_box(f())));
            t.elapsed().as_secs_f64() / f64::from(inner)
        })
        .collect();
    s.sort_by(f64::total_cmp);
    s
}
