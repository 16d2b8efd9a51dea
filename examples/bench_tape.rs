//! W2, W3 and W4 of `../shared/bench/WORKLOADS.md` on the autograd tape, beside PyTorch eager,
//! both measured in this run on this machine.
//!
//! cargo run --release --example bench_tape -- [--threads N] [--python PATH]
//!
//! The networks are plain tensors recorded on a fresh `Tape` each step (there is no nn crate
//! yet). shendu runs in a rayon pool of N threads, then `benches/reference_torch.py` runs under
//! PATH (else `$SHENDU_PYTHON`, else `python3`) with `torch.set_num_threads(N)`. W2 is a
//! one-thread workload: `taskset -c 0 ... --threads 1`.

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};
use std::time::Instant;

use rand::{rngs::StdRng, Rng, SeedableRng};
use shendu::tensor::Tensor;
use shendu_autograd::{Tape, Var};

/// Heap bytes allocated minus freed since counting was switched on, and their peak: the memory
/// row of the table. Counting is on only while that row is measured, so that the timed rows pay
/// one relaxed load per allocation and no atomic add.
static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

/// The system allocator, counting live bytes while `COUNTING` is on.
struct Counting;

fn grew(bytes: usize) {
    if !COUNTING.load(Relaxed) {
        return;
    }
    let live = LIVE.fetch_add(bytes as isize, Relaxed) + bytes as isize;
    if live > PEAK.load(Relaxed) {
        PEAK.fetch_max(live, Relaxed);
    }
}

fn shrank(bytes: usize) {
    if COUNTING.load(Relaxed) {
        LIVE.fetch_sub(bytes as isize, Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counters never affect the result.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: AllocLayout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: AllocLayout) {
        // SAFETY: `p` came from `System` through this allocator with this layout.
        unsafe { System.dealloc(p, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, p: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; on failure the old block is untouched and still counted.
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            match new_size.checked_sub(layout.size()) {
                Some(more) => grew(more),
                None => shrank(layout.size() - new_size),
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// An MLP as plain tensors `[w1, b1, w2, b2, …]`, with its data and its training settings.
/// Weights are `[out, in]` and start U(−1/√in, 1/√in), as in `torch.nn.Linear`.
struct Net {
    params: Vec<Tensor>,
    x: Tensor,
    target: Tensor,
    act: fn(&Var) -> Var,
    loss: fn(&Var, &Var) -> Var,
    lr: f32,
}

/// Binary cross-entropy with logits, mean(softplus(z) − y·z); softplus is stable for any z.
fn bce_with_logits(z: &Var, y: &Var) -> Var {
    (z.softplus() - &(z * y)).mean_all()
}

/// Softmax cross-entropy on class indices (`labels`: `[batch, 1]`, whole numbers as floats).
fn cross_entropy(logits: &Var, labels: &Var) -> Var {
    -logits.log_softmax(-1).gather(1, labels).mean_all()
}

impl Net {
    /// Fresh parameters for layer widths `sizes`.
    fn init(sizes: &[usize], rng: &mut StdRng) -> Vec<Tensor> {
        sizes
            .windows(2)
            .flat_map(|io| {
                let bound = 1.0 / (io[0] as f32).sqrt();
                [
                    Tensor::rand_uniform([io[1], io[0]], -bound, bound, rng),
                    Tensor::rand_uniform([io[1]], -bound, bound, rng),
                ]
            })
            .collect()
    }

    /// W2: 2→8→8→1, tanh, BCE with logits, batch 10, x ~ U(−6, 6), y ∈ {0, 1}, lr 0.03.
    fn w2(rng: &mut StdRng) -> Net {
        let x = Tensor::rand_uniform([10, 2], -6.0, 6.0, rng);
        let y = Tensor::from_vec(
            (0..10).map(|_| rng.random_range(0..2) as f32).collect(),
            [10, 1],
        );
        let params = Net::init(&[2, 8, 8, 1], rng);
        Net {
            params,
            x,
            target: y,
            act: Var::tanh,
            loss: bce_with_logits,
            lr: 0.03,
        }
    }

    /// W3: 784→256→128→10, relu, softmax cross-entropy, batch 128, x ~ N(0, 1), lr 0.01.
    fn w3(rng: &mut StdRng) -> Net {
        let x = Tensor::rand_normal([128, 784], 0.0, 1.0, rng);
        let labels = (0..128).map(|_| rng.random_range(0..10) as f32).collect();
        let labels = Tensor::from_vec(labels, [128, 1]);
        let params = Net::init(&[784, 256, 128, 10], rng);
        Net {
            params,
            x,
            target: labels,
            act: Var::relu,
            loss: cross_entropy,
            lr: 0.01,
        }
    }

    /// The network's output for `params` (vars or constants) on `x`.
    fn forward(&self, params: &[Var], x: &Var) -> Var {
        let layers = params.len() / 2;
        params.chunks(2).enumerate().fold(x.clone(), |h, (i, wb)| {
            let z = &h.matmul(&wb[0].t()) + &wb[1];
            if i + 1 < layers {
                (self.act)(&z)
            } else {
                z
            }
        })
    }

    /// Forward and loss recorded on `tape`: the parameter vars and the loss.
    fn record(&self, tape: &Tape) -> (Vec<Var>, Var) {
        let vars: Vec<Var> = self.params.iter().map(|p| tape.var(p.clone())).collect();
        let out = self.forward(&vars, &tape.constant(self.x.clone()));
        let loss = (self.loss)(&out, &tape.constant(self.target.clone()));
        (vars, loss)
    }

    /// SGD in place. The tape is gone by now, so each parameter owns its storage alone and
    /// `scaled_add_` writes into it without a copy.
    fn update(&mut self, grads: &[Tensor]) {
        for (p, g) in self.params.iter_mut().zip(grads) {
            p.scaled_add_(g, -self.lr);
        }
    }

    /// One training step; returns the seconds of [forward + loss, backward + freeing the tape].
    fn step(&mut self) -> [f64; 2] {
        let t0 = Instant::now();
        let (grads, t1) = {
            let tape = Tape::new();
            let (vars, loss) = self.record(&tape);
            let t1 = Instant::now();
            let grads = loss.backward();
            (
                vars.iter().map(|v| grads[v].clone()).collect::<Vec<_>>(),
                t1,
            )
        };
        let t2 = Instant::now();
        self.update(&grads);
        [(t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64()]
    }

    /// Inference: the forward pass with the parameters as constants (nothing is recorded).
    fn infer(&self) -> Tensor {
        let tape = Tape::new();
        let params: Vec<Var> = self
            .params
            .iter()
            .map(|p| tape.constant(p.clone()))
            .collect();
        self.forward(&params, &tape.constant(self.x.clone()))
            .value()
            .clone()
    }
}

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
    LIVE.store(0, Relaxed);
    PEAK.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
    let mut net = Net::w3(&mut StdRng::seed_from_u64(3));
    for _ in 0..200 {
        net.step();
    }
    drop(net);
    COUNTING.store(false, Relaxed);
    PEAK.load(Relaxed) as usize
}

/// One row of the table: the key shared with `reference_torch.py`, a label, the unit's scale
/// (1e6 for µs, 1e3 for ms) and shendu's seconds.
struct Row(&'static str, &'static str, f64, f64);

/// W2, a one-thread workload: µs per step.
fn measure_w2() -> f64 {
    let mut net = Net::w2(&mut StdRng::seed_from_u64(0));
    assert!(updates_in_place(&mut net), "SGD copied a W2 parameter");
    timed(|| net.step())[2]
}

/// W3 and W4 in the current pool: seconds of [step, forward + loss, backward, inference], and
/// the peak heap of a 200-step run.
fn measure_w3_w4() -> ([f64; 4], usize) {
    let peak = peak_of_w3_run();
    let mut net = Net::w3(&mut StdRng::seed_from_u64(0));
    assert!(updates_in_place(&mut net), "SGD copied a W3 parameter");
    let step = timed(|| net.step());
    let infer = timed(|| {
        black_box(net.infer());
        []
    });
    ([step[2], step[0], step[1], infer[0]], peak)
}

/// Runs the reference script: its stdout, or one line saying why there is none.
fn run_reference(python: &str, threads: usize) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/reference_torch.py");
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

fn main() {
    let (mut threads, mut python) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--threads" => threads = Some(value.parse::<usize>().expect("--threads N")),
            "--python" => python = Some(value),
            _ => panic!("unknown flag {flag}: bench_tape [--threads N] [--python PATH]"),
        }
    }
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let python = python
        .or_else(|| std::env::var("SHENDU_PYTHON").ok())
        .unwrap_or("python3".into());

    eprintln!("measuring shendu on {threads} thread(s), then torch with {python} ...");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("rayon pool");
    let w2 = one.install(measure_w2);
    let ([step, forward, backward, infer], peak) = pool.install(measure_w3_w4);
    let rows = [
        Row("W2_step", "W2 step, 1 thread (us)", 1e6, w2),
        Row("W3_step", "W3 step (ms)", 1e3, step),
        Row("W3_forward", "W3   forward + loss (ms)", 1e3, forward),
        Row("W3_backward", "W3   backward (ms)", 1e3, backward),
        Row("W4_forward", "W4 inference (ms)", 1e3, infer),
    ];
    let stdout = run_reference(&python, threads);

    println!(
        "# shendu {}, threads {threads} (W2: 1); median of 7 repetitions of >= 0.2 s\n\
         # W2 2-8-8-1 tanh BCE b=10, W3 784-256-128-10 relu CE b=128 (W4: its forward)",
        env!("CARGO_PKG_VERSION")
    );
    let mut torch = HashMap::new();
    for line in stdout.lines() {
        match line.split_once('\t').map(|(k, v)| (k, v.parse::<f64>())) {
            Some((key, Ok(secs))) => _ = torch.insert(key.to_string(), secs),
            _ => println!("{line}"), // a note, or the one line saying why there is no torch
        }
    }
    println!(
        "{:36}{:>12}{:>12}{:>10}",
        "workload", "shendu", "torch", "speedup"
    );
    for Row(key, label, scale, ours) in &rows {
        let (theirs, speedup) = match torch.get(*key) {
            Some(t) => (format!("{:.3}", t * scale), format!("{:.2}x", t / ours)),
            None => ("-".into(), "-".into()),
        };
        println!("{label:36}{:>12.3}{theirs:>12}{speedup:>10}", ours * scale);
    }
    println!(
        "{:36}{:>12.2}",
        "W3 backward / forward (<= 2.5)",
        backward / forward
    );
    let mib = peak as f64 / f64::from(1 << 20);
    println!(
        "{:36}{mib:>12.2}{:>12}",
        "W3 200-step peak heap MiB (< 30)", "-"
    );
}
