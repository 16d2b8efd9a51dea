//! W2, W3 and W4 of the reference workloads (`benches/README.md`), beside PyTorch eager and
//! JAX's `jax.jit` step, all measured in this run on this machine.
//!
//! cargo run --release --example bench_tape -- [--threads N] [--python PATH]
//!
//! Each workload runs twice: written with nn as users write it (`Mlp`, a loss, `Sgd`,
//! `Forward::predict`), and as plain tensors recorded on a fresh `Tape` each step, which shows
//! what the nn layer costs. shendu runs in a rayon pool of N threads (and W3's nn step once more
//! from the main thread, on a global pool of N, as a program written without a pool runs it),
//! then `benches/reference_torch.py`
//! (`torch.set_num_threads(N)`) and `benches/reference_jax.py` (XLA on one thread when N is 1)
//! run under PATH (else `$SHENDU_PYTHON`, else `python3`); a reference that cannot run leaves
//! its column empty. W2 is a
//! one-thread workload: `taskset -c 0 ... --threads 1`.

use std::collections::HashMap;
use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use rand::{rngs::StdRng, SeedableRng};
use shendu::nn::Sgd;
use shendu::tensor::Tensor;
#[path = "../benches/mlp.rs"]
mod mlp;
use mlp::Net;
#[allow(dead_code)]
#[path = "../benches/nn_nets.rs"]
mod nn_nets;
use nn_nets::NnNet;
#[path = "../benches/plain_w2.rs"]
mod plain_w2;
use plain_w2::PlainW2;

#[path = "../benches/heap.rs"]
mod heap;
#[path = "../benches/machine.rs"]
mod machine;

#[global_allocator]
static ALLOC: heap::Counting = heap::Counting;

/// Median over 7 repetitions (after a warm-up) of the seconds per call of `f`, each repetition
/// lasting at least 0.2 s. `f` returns the seconds of its phases: the result is the median of
/// each phase and, last, of the whole call measured from outside.
fn timed<const K: usize>(mut f: impl FnMut() -> [f64; K]) -> Vec<f64> {
    black_box(f());
    let t = Instant::now();
    black_box(f());
    let inner = (0.2 / t.elapsed().as_secs_f64()).ceil().max(1.0) as u32;
    let mut reps: Vec<Vec<f64>> = (0..7)
        .map(|_| {
            let mut sums = vec![0.0; K + 1];
            let t = Instant::now();
            for _ in 0..inner {
                for (s, x) in sums.iter_mut().zip(black_box(f())) {
                    *s += x;
                }
            }
            sums[K] = t.elapsed().as_secs_f64();
            sums.iter().map(|s| s / f64::from(inner)).collect()
        })
        .collect();
    (0..=K)
        .map(|k| {
            reps.sort_by(|a, b| a[k].total_cmp(&b[k]));
            reps[3][k]
        })
        .collect()
}

/// Whether a step updates the parameters in their own storage (no copy-on-write).
fn updates_in_place(net: &mut Net) -> bool {
    let before: Vec<*const f32> = net
        .params
        .iter()
        .map(|p| p.as_slice().unwrap().as_ptr())
        .collect();
    net.step();
    net.params
        .iter()
        .zip(before)
        .all(|(p, b)| std::ptr::eq(p.as_slice().unwrap().as_ptr(), b))
}

/// Peak live heap of a fresh 200-step W3 run (data, parameters and all), in bytes above the
/// heap before it.
fn peak_of_w3_run() -> usize {
    heap::peak_of(|| {
        let mut net = Net::w3(&mut StdRng::seed_from_u64(3));
        for _ in 0..200 {
            net.step();
        }
    })
}

/// The rows of the table: the key shared with the reference scripts, a label, and the unit's
/// scale (1e6 for µs, 1e3 for ms). Shendu's figures come in this order from each round; the nn
/// rows are the workloads as users write them, the raw rows the same networks on a bare tape.
const ROWS: [(&str, &str, f64); 10] = [
    ("W2_step", "W2 step, 1 thread, nn (us)", 1e6),
    ("W2_step", "W2 step, 1 thread, raw (us)", 1e6),
    ("W2_step", "W2 step, plain loops (us)", 1e6),
    ("W3_step", "W3 step, nn (ms)", 1e3),
    ("W3_step", "W3 step, raw (ms)", 1e3),
    ("W3_step", "W3 step, nn, main thread (ms)", 1e3),
    ("W3_forward", "W3   forward + loss, raw (ms)", 1e3),
    ("W3_backward", "W3   backward, raw (ms)", 1e3),
    ("W4_forward", "W4 inference, nn (ms)", 1e3),
    ("W4_forward", "W4 inference, raw (ms)", 1e3),
];

/// W2 as plain loops, built from the tape's W2 and checked to take the same step: after three
/// steps on each side, every parameter agrees to 1e-5 (f32 sums in another order).
fn plain_w2_like(raw: &Net) -> PlainW2 {
    let (x, y) = raw.binary_batch().expect("W2 has binary targets");
    let params: Vec<Vec<f32>> = raw.params.iter().map(Tensor::to_vec).collect();
    let mut plain = PlainW2::new(&params, &x.to_vec(), &y.to_vec(), 0.03);
    let mut taped = Net::w2(&mut StdRng::seed_from_u64(0));
    taped.params = raw.params.clone();
    for _ in 0..3 {
        plain.step();
        taped.step();
    }
    for (p, t) in plain.params().iter().zip(&taped.params) {
        for (a, b) in p.iter().zip(t.to_vec()) {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "the plain-loop W2 step drifted from the tape's: {a} vs {b}"
            );
        }
    }
    PlainW2::new(&params, &x.to_vec(), &y.to_vec(), 0.03)
}

/// W2, a one-thread workload: µs per step, [nn, raw, plain loops].
fn measure_w2() -> [f64; 3] {
    let mut nn = NnNet::w2(&mut StdRng::seed_from_u64(0), Sgd::new(0.03));
    nn.assert_steps_in_place();
    let mut raw = Net::w2(&mut StdRng::seed_from_u64(0));
    let mut plain = plain_w2_like(&raw);
    assert!(updates_in_place(&mut raw), "SGD copied a W2 parameter");
    [
        timed(|| {
            black_box(nn.step());
            []
        })[0],
        timed(|| raw.step())[2],
        timed(|| {
            black_box(plain.step());
            []
        })[0],
    ]
}

/// W3 and W4 in the current pool: seconds of [step nn, step raw, forward + loss raw, backward
/// raw, inference nn, inference raw].
fn measure_w3_w4() -> [f64; 6] {
    let mut nn = NnNet::w3(&mut StdRng::seed_from_u64(0), Sgd::new(0.01));
    nn.assert_steps_in_place();
    let mut raw = Net::w3(&mut StdRng::seed_from_u64(0));
    assert!(updates_in_place(&mut raw), "SGD copied a W3 parameter");
    let nn_step = timed(|| {
        black_box(nn.step());
        []
    });
    let raw_step = timed(|| raw.step());
    let nn_infer = timed(|| {
        black_box(nn.predict());
        []
    });
    let raw_infer = timed(|| {
        black_box(raw.infer());
        []
    });
    [
        nn_step[0],
        raw_step[2],
        raw_step[0],
        raw_step[1],
        nn_infer[0],
        raw_infer[0],
    ]
}

/// W3's step with nn from this thread, outside every rayon pool, on the global pool, as a
/// program's `main` runs it: seconds per step.
fn measure_w3_from_main() -> f64 {
    assert!(rayon::current_thread_index().is_none());
    let mut nn = NnNet::w3(&mut StdRng::seed_from_u64(0), Sgd::new(0.01));
    timed(|| {
        black_box(nn.step());
        []
    })[0]
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The reference scripts, each a column of the table: PyTorch eager and JAX's jitted step.
const REFERENCES: [(&str, &str); 2] = [
    (
        "torch",
        concat!(env!("CARGO_MANIFEST_DIR"), "/benches/reference_torch.py"),
    ),
    (
        "jax",
        concat!(env!("CARGO_MANIFEST_DIR"), "/benches/reference_jax.py"),
    ),
];

/// Runs a reference script: its stdout, or one line saying why there is none.
fn run_reference(python: &str, script: &str, threads: usize) -> String {
    match Command::new(python)
        .args([script, "--threads", &threads.to_string()])
        .output()
    {
        Err(e) => format!("# reference: cannot run {python}: {e}"),
        Ok(out) if !out.status.success() => {
            let err = String::from_utf8_lossy(&out.stderr);
            format!(
                "# reference: {python} failed: {}",
                err.lines().last().unwrap_or("")
            )
        }
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// The command line, for `--help` and for an unknown flag.
const USAGE: &str = "bench_tape [--threads N] [--python PATH] [--rounds N]";

fn main() {
    let (mut threads, mut python, mut rounds) = (None, None, 3);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("usage: {USAGE}");
            return;
        }
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--threads" => threads = Some(value.parse::<usize>().expect("--threads N")),
            "--python" => python = Some(value),
            "--rounds" => rounds = value.parse::<usize>().expect("--rounds N").max(1),
            _ => panic!("unknown flag {flag}: {USAGE}"),
        }
    }
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let python = python
        .or_else(|| std::env::var("SHENDU_PYTHON").ok())
        .unwrap_or("python3".into());

    eprintln!(
        "measuring shendu on {threads} thread(s), then torch and jax with {python}, {rounds} rounds ..."
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    // The pool a program's main thread uses, for the row that runs from here.
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("the global rayon pool, built once");
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("rayon pool");
    let peak = pool.install(peak_of_w3_run);
    // The host's speed drifts over seconds, so the two sides take turns, round after round, and
    // each figure is the median over the rounds: a slow spell then hits both sides alike.
    // Per reference, per round, its figures by key.
    let mut ours = Vec::new();
    let mut theirs: Vec<Vec<HashMap<String, f64>>> = vec![Vec::new(); REFERENCES.len()];
    let mut notes = Vec::new();
    for round in 0..rounds {
        let [w2_nn, w2_raw, w2_plain] = one.install(measure_w2);
        let [step_nn, step_raw, forward, backward, infer_nn, infer_raw] =
            pool.install(measure_w3_w4);
        let step_main = measure_w3_from_main();
        ours.push([
            w2_nn, w2_raw, w2_plain, step_nn, step_raw, step_main, forward, backward, infer_nn,
            infer_raw,
        ]);
        for ((_, script), theirs) in REFERENCES.iter().zip(&mut theirs) {
            let mut figures = HashMap::new();
            for line in run_reference(&python, script, threads).lines() {
                match line.split_once('\t').map(|(k, v)| (k, v.parse::<f64>())) {
                    Some((key, Ok(secs))) => _ = figures.insert(key.to_string(), secs),
                    // A note, or the one line saying why there is no reference: kept from
                    // round one.
                    _ if round == 0 => notes.push(line.to_string()),
                    _ => {}
                }
            }
            theirs.push(figures);
        }
    }

    println!("# {}", machine::describe(shendu::tensor::matmul_simd()));
    println!(
        "# shendu {}, threads {threads} (W2: 1); per round the median of 7 repetitions of \
         >= 0.2 s; {rounds} rounds, the sides in turn\n\
         # W2 2-8-8-1 tanh BCE b=10, W3 784-256-128-10 relu CE b=128 (W4: its forward); \
         speedup = the reference's time / shendu's, median over rounds [least-greatest]",
        env!("CARGO_PKG_VERSION")
    );
    for note in &notes {
        println!("{note}");
    }
    print!("{:30}{:>10}", "workload", "shendu");
    for (name, _) in REFERENCES {
        print!("{name:>10}{:>22}", "speedup");
    }
    println!();
    for (i, (key, label, scale)) in ROWS.into_iter().enumerate() {
        let mine = median(ours.iter().map(|r| r[i]).collect());
        print!("{label:30}{:>10.3}", mine * scale);
        for theirs in &theirs {
            let pairs: Vec<(f64, f64)> = ours
                .iter()
                .zip(theirs)
                .filter_map(|(o, t)| Some((o[i], *t.get(key)?)))
                .collect();
            if pairs.is_empty() {
                print!("{:>10}{:>22}", "-", "-");
                continue;
            }
            let reference = median(pairs.iter().map(|p| p.1).collect());
            let ratios: Vec<f64> = pairs.iter().map(|(o, t)| t / o).collect();
            let (lo, hi) = ratios
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
            print!(
                "{:>10.3}{:>22}",
                reference * scale,
                format!("{:.2}x [{lo:.2}-{hi:.2}]", median(ratios.clone()))
            );
        }
        println!();
    }
    let (forward, backward) = (
        median(ours.iter().map(|r| r[6]).collect()),
        median(ours.iter().map(|r| r[7]).collect()),
    );
    println!(
        "{:30}{:>10.2}",
        "W3 backward / forward, raw",
        backward / forward
    );
    let mib = peak as f64 / f64::from(1 << 20);
    println!("{:30}{mib:>10.2}", "W3 200-step peak heap MiB");
}
