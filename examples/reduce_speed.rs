//! Speed of f32 sums along each reduction path, on 2^24 elements, in pools of 1 and 2 threads.
//!
//! cargo run --release --example reduce_speed [-- --quick]
//!
//! Prints the median of 9 repetitions of each case in milliseconds and in GB/s of input read
//! (4 bytes per element). A figure for comparing kernels on one machine, not a test. `--quick`
//! takes 3 short repetitions: a check that the example runs (CI), not a measurement.

#[path = "../benches/timing.rs"]
mod timing;

use rand::{rngs::StdRng, SeedableRng};
use shendu::tensor::Tensor;

/// Median seconds per call of `f` over `repetitions` of enough calls to last `seconds`.
fn timed<R>(f: impl FnMut() -> R, (seconds, repetitions): (f64, usize)) -> f64 {
    timing::samples(f, seconds, repetitions)[repetitions / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let repetitions = if quick { (0.01, 3) } else { (0.1, 9) };
    let n = 1usize << 24;
    let mut rng = StdRng::seed_from_u64(0);
    let flat = Tensor::<f32>::rand_uniform([n], 0.0, 1.0, &mut rng);
    let square = flat.reshape([1 << 12, 1 << 12]);
    let cube = flat.reshape([1 << 8, 1 << 8, 1 << 8]);
    type Case<'a> = (&'static str, Box<dyn Fn() -> Tensor<f32> + Sync + 'a>);
    let cases: Vec<Case> = vec![
        (
            "[4096, 4096] sum(-1)  rows",
            Box::new(|| square.sum(-1, false)),
        ),
        (
            "[2^20, 16] sum(-1)    short rows",
            Box::new(|| flat.reshape([1 << 20, 16]).sum(-1, false)),
        ),
        (
            "[4096, 4096] sum(0)   columns",
            Box::new(|| square.sum(0, false)),
        ),
        (
            "[16, 2^20] sum(0)     few rows",
            Box::new(|| flat.reshape([16, 1 << 20]).sum(0, false)),
        ),
        (
            "[2^23, 2] sum(0)      narrow",
            Box::new(|| flat.reshape([1 << 23, 2]).sum(0, false)),
        ),
        (
            "[2^22, 4] sum(0)      narrow",
            Box::new(|| flat.reshape([1 << 22, 4]).sum(0, false)),
        ),
        (
            "[256^3] sum(1)        middle",
            Box::new(|| cube.sum(1, false)),
        ),
        (
            "[256^3] sum([0, 2])   two axes",
            Box::new(|| cube.sum([0, 2], false)),
        ),
        (
            "[4096^2].t() sum(-1)  strided",
            Box::new(|| square.t().sum(-1, false)),
        ),
        ("[2^24] sum_all", Box::new(|| flat.sum_all())),
        ("[4096, 4096] mean(0)", Box::new(|| square.mean(0, false))),
    ];
    println!(
        "{:32} {:>16} {:>16}",
        "f32, 2^24 elements", "1 thread", "2 threads"
    );
    for (name, f) in &cases {
        let mut line = format!("{name:32}");
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let secs = pool.install(|| timed(f, repetitions));
            line += &format!(" {:7.2} ms {:4.1}", secs * 1e3, 4.0 * n as f64 / secs / 1e9);
        }
        println!("{line}");
    }
}
