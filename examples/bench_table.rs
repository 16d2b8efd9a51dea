//! W1 (matmul) and W5 (elementwise) of the reference workloads (`benches/README.md`): shendu beside NumPy,
//! both measured in this run on this machine.
//!
//! cargo run --release --example bench_table -- [--threads N] [--only W1,W5] [--python PATH]
//!     [--rounds R] [--reference-kernel NAME]
//!
//! shendu runs in a rayon pool of N threads, then `benches/reference.py` runs under PATH (else
//! `$SHENDU_PYTHON`, else `python3`) with the same N; the two take turns for R rounds (3 unless
//! told). One thread: `taskset -c 0 ... --threads 1`. The first line names the CPU and the SIMD
//! kernels of shendu's products, the reference's line OpenBLAS's kernel; `--reference-kernel`
//! names the latter (OpenBLAS's core name, e.g. Haswell), to set AVX2 against AVX2 on an
//! AVX-512 CPU with a shendu built without its `avx512` feature (see `benches/README.md`).

#[path = "../benches/machine.rs"]
mod machine;
#[path = "../benches/timing.rs"]
mod timing;

use std::collections::HashMap;
use std::process::Command;

use rand::{rngs::StdRng, SeedableRng};
use shendu::tensor::{Element, Tensor};

/// Seconds per call: median, min, max.
type Stats = [f64; 3];

/// A warm-up call, then 7 repetitions of enough calls to last at least 0.2 s each (as in
/// `benches/reference.py`).
fn timed<R>(f: impl FnMut() -> R) -> Stats {
    let s = timing::samples(f, 0.2, 7);
    [s[3], s[0], s[6]]
}

/// One line of the table: a label that is also the key of the reference line to compare with,
/// the FLOPs or bytes per call (figure = work / seconds / 1e9), and shendu's timings.
struct Row(String, f64, Stats);

fn matmul_row<T: Element>(n: usize, transposed: bool, rng: &mut StdRng) -> Row {
    let a = Tensor::<T>::rand_uniform([n, n], T::zero(), T::one(), rng);
    let b = Tensor::<T>::rand_uniform([n, n], T::zero(), T::one(), rng);
    let (what, stats) = match transposed {
        false => ("", timed(|| a.matmul(&b))),
        true => (", A transposed", timed(|| a.t().matmul(&b))),
    };
    let label = format!("W1 matmul {} n={n}{what}", T::NAME);
    Row(label, 2.0 * (n as f64).powi(3), stats)
}

fn measure(only: &str) -> Vec<Row> {
    let mut rng = StdRng::seed_from_u64(0);
    let mut rows = Vec::new();
    if only.contains("W1") {
        for n in [64, 128, 256, 512, 1024, 2048] {
            rows.push(matmul_row::<f32>(n, false, &mut rng));
        }
        rows.push(matmul_row::<f64>(1024, false, &mut rng));
        rows.push(matmul_row::<f32>(512, true, &mut rng));
        // A Linear layer's forward, x·Wᵀ with W stored [out, in]: W3's three layers, and the
        // first at the batch sizes of online inference.
        for (m, k, n) in [
            (1, 784, 256),
            (8, 784, 256),
            (32, 784, 256),
            (128, 784, 256),
            (128, 256, 128),
            (128, 128, 10),
        ] {
            let x = Tensor::<f32>::rand_uniform([m, k], 0.0, 1.0, &mut rng);
            let w = Tensor::<f32>::rand_uniform([n, k], 0.0, 1.0, &mut rng);
            let stats = timed(|| x.matmul(&w.t()));
            let label = format!("W1 x·Wᵀ f32 {m}x{k}x{n}");
            rows.push(Row(label, 2.0 * (m * k * n) as f64, stats));
        }
    }
    if only.contains("W5") {
        let n = 1 << 24;
        let a = Tensor::<f32>::rand_uniform([n], -1.0, 1.0, &mut rng);
        let b = Tensor::<f32>::rand_uniform([n], -1.0, 1.0, &mut rng);
        let (add, relu, tanh) = (timed(|| &a + &b), timed(|| a.relu()), timed(|| a.tanh()));
        let exp = timed(|| a.exp());
        let gb = |bytes: usize| (bytes * n) as f64;
        rows.push(Row("W5 add 2^24 vs np.add(out=)".into(), gb(12), add));
        rows.push(Row("W5 add 2^24 vs a + b (new)".into(), gb(12), add));
        rows.push(Row("W5 relu 2^24 vs np.maximum(out=)".into(), gb(8), relu));
        rows.push(Row("W5 tanh 2^24 vs np.tanh(out=)".into(), gb(8), tanh));
        rows.push(Row("W5 exp 2^24 vs np.exp(out=)".into(), gb(8), exp));
    }
    rows
}

/// Runs the reference script: its stdout, or one line saying why there is none.
fn run_reference(
    python: &str,
    threads: usize,
    only: &str,
    kernel: Option<&str>,
) -> Result<String, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/reference.py");
    let mut command = Command::new(python);
    command.args([script, "--threads", &threads.to_string(), "--only", only]);
    if let Some(kernel) = kernel {
        command.args(["--blas-kernel", kernel]);
    }
    let out = command
        .output()
        .map_err(|e| format!("# reference: cannot run {python}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "# reference: {python} failed: {}",
            err.lines().last().unwrap_or("")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `median [low-high]` as a figure: the slowest call gives the low end.
fn figure(work: f64, s: &Stats) -> String {
    let g = |secs: f64| work / secs / 1e9;
    format!("{:8.2} [{:.2}-{:.2}]", g(s[0]), g(s[2]), g(s[1]))
}

/// The stats of several rounds as one: the median of their medians, the extremes of their
/// extremes.
fn pooled(rounds: &[Stats]) -> Stats {
    let mut medians: Vec<f64> = rounds.iter().map(|s| s[0]).collect();
    medians.sort_by(f64::total_cmp);
    let min = rounds.iter().map(|s| s[1]).fold(f64::MAX, f64::min);
    let max = rounds.iter().map(|s| s[2]).fold(f64::MIN, f64::max);
    [medians[medians.len() / 2], min, max]
}

/// The command line, for `--help` and for an unknown flag.
const USAGE: &str = "bench_table [--threads N] [--only W1,W5] [--python PATH] [--rounds N] \
     [--reference-kernel NAME]";

fn main() {
    let (mut threads, mut only, mut python, mut rounds) = (None, "W1,W5".to_string(), None, 3);
    let mut kernel = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("usage: {USAGE}");
            return;
        }
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--threads" => threads = Some(value.parse::<usize>().expect("--threads N")),
            "--only" => only = value.to_uppercase(),
            "--python" => python = Some(value),
            "--rounds" => rounds = value.parse::<usize>().expect("--rounds N").max(1),
            "--reference-kernel" => kernel = Some(value),
            _ => panic!("unknown flag {flag}: {USAGE}"),
        }
    }
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let python = python
        .or_else(|| std::env::var("SHENDU_PYTHON").ok())
        .unwrap_or("python3".into());

    eprintln!(
        "measuring shendu on {threads} thread(s), then the reference with {python}, \
         {rounds} rounds ..."
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    // The host's speed drifts over seconds, so the two sides take turns, round after round: a
    // slow spell then hits both alike, and the table pools the rounds.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut notes = Vec::new();
    for round in 0..rounds {
        ours.push(pool.install(|| measure(&only)));
        let stdout =
            run_reference(&python, threads, &only, kernel.as_deref()).unwrap_or_else(|note| note);
        let mut reference = HashMap::new();
        for line in stdout.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            let nums: Vec<f64> = fields[1..].iter().filter_map(|f| f.parse().ok()).collect();
            if let [med, min, max] = nums[..] {
                reference.insert(fields[0].to_string(), [med, min, max]);
            } else if round == 0 {
                notes.push(line.to_string()); // a note, or the one line saying why there is none
            }
        }
        theirs.push(reference);
    }

    let version = env!("CARGO_PKG_VERSION");
    println!("# {}", machine::describe(shendu::tensor::matmul_simd()));
    println!(
        "# shendu {version}, threads {threads}; W1 GFLOP/s, W5 GB/s; median [min-max] of \
         {rounds} rounds of 7, the two sides in turn"
    );
    for note in &notes {
        println!("{note}");
    }
    let head = [
        "workload parameters",
        "shendu",
        "reference",
        "ratio",
        "rounds",
    ];
    println!(
        "{:36}{:>26}{:>26}{:>7}{:>12}",
        head[0], head[1], head[2], head[3], head[4]
    );
    for (i, Row(what, work, _)) in ours[0].iter().enumerate() {
        let mine: Vec<Stats> = ours.iter().map(|rows| rows[i].2).collect();
        let pairs: Vec<(Stats, Stats)> = mine
            .iter()
            .zip(&theirs)
            .filter_map(|(o, t)| Some((*o, *t.get(what)?)))
            .collect();
        let mine = pooled(&mine);
        if pairs.is_empty() {
            println!(
                "{what:36}{:>26}{:>26}{:>7}{:>12}",
                figure(*work, &mine),
                "-",
                "-",
                "-"
            );
            continue;
        }
        let reference = pooled(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
        let (lo, hi) = pairs
            .iter()
            .map(|(o, t)| t[0] / o[0])
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(r), hi.max(r)));
        println!(
            "{what:36}{:>26}{:>26}{:>7.2}{:>12}",
            figure(*work, &mine),
            figure(*work, &reference),
            reference[0] / mine[0],
            format!("{lo:.2}-{hi:.2}")
        );
    }
}
