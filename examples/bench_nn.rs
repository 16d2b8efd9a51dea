//! What the nn crate costs: W2 and W3 written with `Mlp`, a loss, `value_and_grad` and an
//! optimizer, beside the same networks on the raw tape (`benches/mlp.rs`); W3's 200-step peak
//! heap and peak RSS with Adam, the RSS beside PyTorch's; and W6 (the digits) beside PyTorch
//! eager, all measured in this run.
//!
//! cargo run --release --example bench_nn -- [--threads N] [--python PATH] [--rounds R]
//!
//! The raw and nn versions take turns in blocks of 0.2 s, and each ratio is the median of the
//! blocks' ratios, so that the host's drift hits both sides alike. W2 runs on one thread (pin it
//! with `taskset -c 0`); W3 runs at 1 thread and at N. `benches/reference_w6.py` runs under PATH
//! (else `$SHENDU_PYTHON`, else `python3`) with `torch.set_num_threads(N)`, one seed per round.
//!
//! The RSS rows need a fresh process, since this one has grown for the other rows by then: the
//! bench runs itself again with the hidden flag `--w3-rss-child`, and that child does only the
//! 200 W3 steps (nn, Adam, N threads) and reports its peak RSS (`VmHWM` of `/proc/self/status`,
//! Linux only) and its RSS before building anything. `benches/reference_rss_torch.py` does the
//! same for PyTorch under PATH. One row shows each process's whole peak, the other its growth
//! from that starting RSS (the workload's own share, without the runtime's libraries).

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use rand::{rngs::StdRng, SeedableRng};
use shendu::nn::{Adam, Sgd};

#[path = "../benches/heap.rs"]
mod heap;
#[path = "../benches/machine.rs"]
mod machine;
// Shared with other binaries, each of which uses part of it.
#[allow(dead_code)]
#[path = "../benches/mlp.rs"]
mod mlp;
#[allow(dead_code)]
#[path = "../benches/nn_nets.rs"]
mod nn_nets;
// Shared with other binaries, each of which uses part of it.
#[allow(dead_code)]
#[path = "digits/w6.rs"]
mod w6;

use mlp::Net;
use nn_nets::NnNet;

#[global_allocator]
static ALLOC: heap::Counting = heap::Counting;

/// Seconds per call of `a` and of `b`, timed in alternating blocks of at least 0.2 s each (after
/// a warm-up), 7 blocks each: one pair per block, so that a slow spell of the host hits both.
fn paired<R, S>(mut a: impl FnMut() -> R, mut b: impl FnMut() -> S) -> Vec<(f64, f64)> {
    let calls = |f: &mut dyn FnMut()| {
        f();
        let t = Instant::now();
        f();
        (0.2 / t.elapsed().as_secs_f64()).ceil().max(1.0) as u32
    };
    let (na, nb) = (calls(&mut || drop(a())), calls(&mut || drop(b())));
    let block = |f: &mut dyn FnMut(), n: u32| {
        let t = Instant::now();
        (0..n).for_each(|_| f());
        t.elapsed().as_secs_f64() / f64::from(n)
    };
    (0..7)
        .map(|_| {
            let ta = block(&mut || drop(black_box(a())), na);
            let tb = block(&mut || drop(black_box(b())), nb);
            (ta, tb)
        })
        .collect()
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Timed pairs of W3 steps: the raw-tape net against the nn net with SGD, and against the nn
/// net with Adam, all built from the same seed; checks first that the nn steps update every
/// parameter in place.
fn measure_w3(seed: u64) -> [Vec<(f64, f64)>; 2] {
    let mut raw = Net::w3(&mut StdRng::seed_from_u64(seed));
    let mut sgd = NnNet::w3(&mut StdRng::seed_from_u64(seed), Sgd::new(0.01));
    let mut adam = NnNet::w3(&mut StdRng::seed_from_u64(seed), Adam::new(1e-3));
    sgd.assert_steps_in_place();
    adam.assert_steps_in_place();
    let with_sgd = paired(|| raw.step(), || sgd.step());
    let with_adam = paired(|| raw.step(), || adam.step());
    [with_sgd, with_adam]
}

/// Timed pairs of W2 steps, raw tape and nn with SGD.
fn measure_w2(seed: u64) -> Vec<(f64, f64)> {
    let mut raw = Net::w2(&mut StdRng::seed_from_u64(seed));
    let mut sgd = NnNet::w2(&mut StdRng::seed_from_u64(seed), Sgd::new(0.03));
    sgd.assert_steps_in_place();
    paired(|| raw.step(), || sgd.step())
}

/// Peak heap of 200 W3 steps with nn and Adam, data and model included.
fn peak_of_w3_adam_run() -> usize {
    heap::peak_of(|| {
        let mut net = NnNet::w3(&mut StdRng::seed_from_u64(3), Adam::new(1e-3));
        for _ in 0..200 {
            net.step();
        }
    })
}

/// The values of `keys` in the `key<TAB>value` lines that `command` prints, in that order; if
/// any is missing, the line that best says why: the spawn error (as `# {what}: ...`), else the
/// last line of its output, its stderr's last line winning (a traceback ends there).
fn figures_of<const K: usize>(
    command: &mut Command,
    what: &str,
    keys: [&str; K],
) -> Result<[f64; K], String> {
    let out = command.output().map_err(|e| {
        let program = std::path::Path::new(command.get_program()).display();
        format!("# {what}: cannot run {program}: {e}")
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| {
        stdout.lines().find_map(|l| {
            let (k, v) = l.split_once('\t')?;
            (k == key).then(|| v.parse::<f64>().ok()).flatten()
        })
    };
    let values: Option<Vec<f64>> = keys.iter().map(|&key| value(key)).collect();
    match values.and_then(|v| v.try_into().ok()) {
        Some(values) => Ok(values),
        None => Err(stdout
            .lines()
            .chain(String::from_utf8_lossy(&out.stderr).lines())
            .last()
            .map_or_else(|| format!("# {what}: no output"), str::to_string)),
    }
}

/// PyTorch's W6 for `seed`: (seconds, accuracy), or a line saying why there is none.
fn torch_w6(python: &str, threads: usize, seed: u64) -> Result<(f64, f64), String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/reference_w6.py");
    let mut command = Command::new(python);
    command
        .args([script, "--threads", &threads.to_string()])
        .args(["--seeds", "1", "--first-seed", &seed.to_string()]);
    let [seconds, accuracy] = figures_of(&mut command, "reference", ["W6_seconds", "W6_accuracy"])?;
    Ok((seconds, accuracy))
}

/// The keys under which a W3 RSS run (this bench's child, or the PyTorch script) prints its
/// peak RSS and its RSS before building the net, both in KiB.
const RSS_KEYS: [&str; 2] = ["W3_rss_kib", "W3_rss_base_kib"];

/// A W3 RSS run's two figures in MiB: (whole-process peak, growth of the peak over the RSS
/// before the net was built); or a line saying why there are none.
fn rss_of(command: &mut Command, what: &str) -> Result<(f64, f64), String> {
    let [peak_kib, base_kib] = figures_of(command, what, RSS_KEYS)?;
    Ok((peak_kib / 1024.0, (peak_kib - base_kib) / 1024.0))
}

/// A field of `/proc/self/status` given in kB (`VmRSS`, `VmHWM`), in KiB; `None` where that
/// file or field does not exist (not Linux).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// The child process behind the RSS rows (`--w3-rss-child`): runs 200 W3 steps with nn and Adam
/// on `threads` threads, as `peak_of_w3_adam_run` does, and prints its RSS at start and its peak
/// RSS under `RSS_KEYS`; where the kernel does not report them, a note line instead.
fn w3_rss_child(threads: usize) {
    // Read before the pool and the net exist, so that the growth counts both, as PyTorch's
    // figure counts its threads and model.
    let Some(base) = status_kib("VmRSS") else {
        println!("# W3 RSS: no VmRSS in /proc/self/status (not Linux?), so no RSS rows");
        return;
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool")
        .install(|| {
            let mut net = NnNet::w3(&mut StdRng::seed_from_u64(3), Adam::new(1e-3));
            for _ in 0..200 {
                net.step();
            }
        });
    match status_kib("VmHWM") {
        Some(peak) => println!("{}\t{peak}\n{}\t{base}", RSS_KEYS[0], RSS_KEYS[1]),
        None => println!("# W3 RSS: no VmHWM in /proc/self/status, so no RSS rows"),
    }
}

/// shendu's W3 RSS figures (see `rss_of`), measured by running this bench again as a child.
fn shendu_w3_rss(threads: usize) -> Result<(f64, f64), String> {
    let exe = std::env::current_exe().map_err(|e| format!("# W3 RSS: no path to self: {e}"))?;
    let mut command = Command::new(exe);
    command.args(["--threads", &threads.to_string(), "--w3-rss-child"]);
    rss_of(&mut command, "W3 RSS")
}

/// PyTorch's W3 RSS figures (see `rss_of`), from `benches/reference_rss_torch.py` under `python`.
fn torch_w3_rss(python: &str, threads: usize) -> Result<(f64, f64), String> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/reference_rss_torch.py"
    );
    let mut command = Command::new(python);
    command.args([script, "--threads", &threads.to_string()]);
    rss_of(&mut command, "reference")
}

/// A memory row: label, then shendu's and PyTorch's figures in MiB, "-" for a missing one.
fn memory_row(label: &str, ours: Option<f64>, torch: Option<f64>) {
    let mib = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
    println!(
        "{label:34}{:>10} {:<8}{:>10} {:<8}",
        "nn+adam",
        mib(ours),
        "torch",
        mib(torch)
    );
}

/// One row: label, the two sides' medians (scaled), and the median of the per-round ratios.
fn row(label: &str, pairs: &[(f64, f64)], scale: f64, names: (&str, &str)) {
    let a = median(pairs.iter().map(|p| p.0).collect());
    let b = median(pairs.iter().map(|p| p.1).collect());
    let ratio = median(pairs.iter().map(|p| p.1 / p.0).collect());
    println!(
        "{label:34}{:>10} {:<8.3}{:>10} {:<8.3}{:>8.3}",
        names.0,
        a * scale,
        names.1,
        b * scale,
        ratio
    );
}

/// The command line, for `--help` and for an unknown flag.
const USAGE: &str = "bench_nn [--threads N] [--python PATH] [--rounds R]";

fn main() {
    let (mut threads, mut python, mut rounds, mut rss_child) = (None, None, 3, false);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("usage: {USAGE}");
            return;
        }
        let mut value = || args.next().unwrap_or_default();
        match flag.as_str() {
            "--threads" => threads = Some(value().parse::<usize>().expect("--threads N")),
            "--python" => python = Some(value()),
            "--rounds" => rounds = value().parse::<usize>().expect("--rounds N").max(1),
            "--w3-rss-child" => rss_child = true,
            _ => panic!("unknown flag {flag}: {USAGE}"),
        }
    }
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if rss_child {
        return w3_rss_child(threads);
    }
    let python = python
        .or_else(|| std::env::var("SHENDU_PYTHON").ok())
        .unwrap_or("python3".into());
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("rayon pool")
    };
    let (one, many) = (pool(1), pool(threads));
    let digits = w6::Digits::load(w6::DIGITS_CSV).expect("data/digits.csv");

    eprintln!("measuring on 1 and {threads} thread(s), {rounds} rounds, torch with {python} ...");
    let peak = many.install(peak_of_w3_adam_run);
    let (mut w6, mut accuracy, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    let (our_rss_peak, our_rss_growth) = shendu_w3_rss(threads)
        .map_err(|why| notes.push(why))
        .ok()
        .unzip();
    let torch_rss = torch_w3_rss(&python, threads);
    let (mut w2, mut w3_sgd_one, mut w3_adam_one) = (Vec::new(), Vec::new(), Vec::new());
    let (mut w3_sgd_many, mut w3_adam_many) = (Vec::new(), Vec::new());
    for round in 0..rounds as u64 {
        w2.extend(one.install(|| measure_w2(round)));
        let [sgd, adam] = one.install(|| measure_w3(round));
        w3_sgd_one.extend(sgd);
        w3_adam_one.extend(adam);
        let [sgd, adam] = many.install(|| measure_w3(round));
        w3_sgd_many.extend(sgd);
        w3_adam_many.extend(adam);
        let t = Instant::now();
        let ours = many.install(|| w6::train(&digits, round, w6::EPOCHS, |_, _| {}));
        let seconds = t.elapsed().as_secs_f64();
        match torch_w6(&python, threads, round) {
            Ok((torch_seconds, torch_accuracy)) => {
                w6.push((torch_seconds, seconds));
                accuracy.push((torch_accuracy, ours.accuracy));
            }
            Err(why) if round == 0 => notes.push(why),
            Err(_) => {}
        }
    }

    // One note per cause: if PyTorch never ran W6, that note already says why it is missing.
    let (torch_rss_peak, torch_rss_growth) = match torch_rss {
        Ok((peak, growth)) => (Some(peak), Some(growth)),
        Err(why) => {
            if !w6.is_empty() {
                notes.push(why);
            }
            (None, None)
        }
    };
    println!("# {}", machine::describe(shendu::tensor::matmul_simd()));
    println!(
        "# shendu {}, {rounds} rounds\n\
         # W2 2-8-8-1 tanh BCE b=10; W3 784-256-128-10 relu CE b=128; W6 digits 64-64-10 Adam, \
         60 epochs\n# W2, W3: per round 7 alternating pairs of >= 0.2 s blocks; W6: one seed per round\n\
         # ratio = right / left, the median of the pairs' ratios",
        env!("CARGO_PKG_VERSION")
    );
    for note in &notes {
        println!("{note}");
    }
    row("W2 step, 1 thread (us)", &w2, 1e6, ("raw", "nn+sgd"));
    row(
        "W3 step, 1 thread (ms)",
        &w3_sgd_one,
        1e3,
        ("raw", "nn+sgd"),
    );
    let label = format!("W3 step, {threads} thread(s) (ms)");
    row(&label, &w3_sgd_many, 1e3, ("raw", "nn+sgd"));
    row(
        "W3 step, 1 thread (ms)",
        &w3_adam_one,
        1e3,
        ("raw", "nn+adam"),
    );
    row(&label, &w3_adam_many, 1e3, ("raw", "nn+adam"));
    if !w6.is_empty() {
        let label = format!("W6 training, {threads} thread(s) (s)");
        row(&label, &w6, 1.0, ("torch", "shendu"));
        row(
            "W6 test accuracy (%)",
            &accuracy,
            100.0,
            ("torch", "shendu"),
        );
    }
    let mib = peak as f64 / f64::from(1 << 20);
    println!(
        "{:34}{:>10} {mib:<8.2}",
        "W3 200-step peak heap (MiB)", "nn+adam"
    );
    memory_row("W3 200-step peak RSS (MiB)", our_rss_peak, torch_rss_peak);
    memory_row(
        "W3 200-step RSS growth (MiB)",
        our_rss_growth,
        torch_rss_growth,
    );
}
