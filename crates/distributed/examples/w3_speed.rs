//! W3 data-parallel, beside PyTorch's DistributedDataParallel on gloo, both measured in this run:
//! the 784→256→128→10 ReLU MLP with softmax cross-entropy and SGD (lr 0.01), f32, one global
//! batch of 256 rows (x ~ N(0, 1)) per step, on one rank and on two, each rank one thread pinned
//! to its own core.
//!
//! ```text
//! cargo build --release -p shendu-distributed --example w3_speed
//! target/release/examples/w3_speed [--rounds R] [--python PATH] [--quick]
//! ```
//!
//! Run plainly, it is the driver: each round runs, in turn, shendu on 1 and 2 ranks
//! (`mpirun --bind-to core`, `RAYON_NUM_THREADS=1`), shendu on 2 ranks that never communicate
//! (the ceiling: what two busy cores of this machine allow), and `benches/reference_ddp.py` on
//! 1 process and on 2 (gloo), under PATH (else `$SHENDU_PYTHON`, else `python3`); then it
//! prints the medians over the rounds and the ratios. Under `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE`) it is one rank of the
//! shendu side, and rank 0 prints `key<TAB>value` lines for the driver:
//!
//! - `samples_per_second`: global rows per second of wall time;
//! - `step_ms`, split into `compute_ms` (forward, loss and backward on this rank's shard),
//!   `packing_ms` (gradients into the one buffer and back), `all_reduce_in_step_ms` (the
//!   all-reduce call, with its wait for the slower rank) and `update_ms` (SGD);
//! - `allreduce_ms`: the all-reduce of a buffer of the same size alone, after a barrier, so
//!   without waiting: what the wire costs.

use std::process::Command;
use std::time::{Duration, Instant};

use rand::{rngs::StdRng, Rng, SeedableRng};
use shendu_distributed::{broadcast_parameters, shard, DistributedOptimizer, World};
use shendu_nn::{loss, Activation, Forward, Mlp, Module, Optimizer, Sgd};
use shendu_tensor::{Indices, Tensor};

/// The global batch of every step, cut into one shard per rank.
const GLOBAL_BATCH: usize = 256;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut rounds, mut python, mut quick, mut independent) = (5usize, None, false, false);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--rounds" => rounds = args.next().ok_or("--rounds needs a value")?.parse()?,
            "--python" => python = Some(args.next().ok_or("--python needs a value")?),
            "--quick" => quick = true,
            "--independent" => independent = true,
            _ => {
                return Err(
                    format!("unknown flag {flag}: [--rounds R] [--python PATH] [--quick]").into(),
                )
            }
        }
    }
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        let world = shendu_distributed::init()?;
        return rank(&world, quick, independent);
    }
    let python = python
        .or_else(|| std::env::var("SHENDU_PYTHON").ok())
        .unwrap_or_else(|| "python3".into());
    drive(rounds, &python, quick)
}

// ---------------------------------------------------------------------------------------------
// One rank.

/// Per-step seconds of each phase, summed over a block of steps.
#[derive(Clone, Copy, Default)]
struct Phases {
    compute: f64,
    packing: f64,
    all_reduce: f64,
    update: f64,
    wall: f64,
}

/// One rank's side. `independent`: each rank trains its own replica on its shard with no
/// all-reduce at all, the ceiling that two ranks on this machine could reach if communication
/// were free (two busy cores may each run slower than one alone: shared caches, memory
/// bandwidth, the host's other guests).
fn rank(world: &World, quick: bool, independent: bool) -> Result<(), Box<dyn std::error::Error>> {
    let rows = shard(GLOBAL_BATCH, world.rank(), world.size()).len();
    // Each rank its own rows; the model is rank 0's after the broadcast.
    let mut rng = StdRng::seed_from_u64(1 + world.rank() as u64);
    let x = Tensor::<f32>::rand_normal([rows, 784], 0.0, 1.0, &mut rng);
    let labels = Indices::from_vec((0..rows).map(|_| rng.random_range(0..10)).collect(), [rows]);
    let mut model = Mlp::<f32>::new(&[784, 256, 128, 10], Activation::Relu, &mut rng);
    broadcast_parameters(world, &mut model);
    let mut opt = DistributedOptimizer::new(Sgd::new(0.01), world);
    let mut alone = Sgd::new(0.01);

    let mut step = || -> Result<Phases, Box<dyn std::error::Error>> {
        let start = Instant::now();
        let (loss, mut grads) = model.value_and_grad(|tape, model| {
            loss::cross_entropy(&model.forward(&tape.constant(x.clone())), &labels)
        });
        let compute = start.elapsed();
        if independent {
            alone.step(&mut model, &grads);
            let wall = start.elapsed();
            return Ok(Phases {
                compute: compute.as_secs_f64(),
                update: (wall - compute).as_secs_f64(),
                wall: wall.as_secs_f64(),
                ..Phases::default()
            });
        }
        let report = opt.step(&mut model, &mut grads, rows, f64::from(loss))?;
        let wall = start.elapsed();
        Ok(Phases {
            compute: compute.as_secs_f64(),
            packing: (report.communication - report.all_reduce).as_secs_f64(),
            all_reduce: report.all_reduce.as_secs_f64(),
            update: (wall - compute - report.communication).as_secs_f64(),
            wall: wall.as_secs_f64(),
        })
    };
    for _ in 0..20 {
        step()?;
    }
    // Steps per block, chosen by rank 0 for blocks of about 0.3 s and sent to all: every rank
    // must take the same number of steps, or one would wait forever in an all-reduce.
    let block_seconds = if quick { 0.05 } else { 0.3 };
    let mut steps = [0u64];
    if world.is_root() {
        let start = Instant::now();
        for _ in 0..10 {
            step()?;
        }
        steps[0] = (block_seconds / (start.elapsed().as_secs_f64() / 10.0)).ceil() as u64;
    } else {
        for _ in 0..10 {
            step()?;
        }
    }
    world.broadcast(&mut steps);
    let steps = steps[0].max(1);

    let mut blocks = Vec::new();
    for _ in 0..if quick { 3 } else { 7 } {
        world.barrier();
        let mut sum = Phases::default();
        let start = Instant::now();
        for _ in 0..steps {
            let p = step()?;
            sum.compute += p.compute;
            sum.packing += p.packing;
            sum.all_reduce += p.all_reduce;
            sum.update += p.update;
        }
        sum.wall = start.elapsed().as_secs_f64();
        blocks.push(sum);
    }
    let per_step = |f: fn(&Phases) -> f64| {
        let mut v: Vec<f64> = blocks.iter().map(|b| f(b) / steps as f64).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let step_seconds = per_step(|p| p.wall);

    // The all-reduce alone, of the same number of values as a step's buffer.
    // (Its layout: the values, a flag per parameter, three counters; see `average_gradients`.)
    let values = model.param_count() + model.param_names().len() + 3;
    let send = vec![1.0f32; values];
    let mut receive = vec![0.0f32; values];
    let mut alone = Vec::new();
    for _ in 0..if quick { 5 } else { 30 } {
        world.barrier();
        let start = Instant::now();
        world.all_reduce_sum(&send, &mut receive)?;
        alone.push(start.elapsed());
    }
    alone.sort();
    let allreduce = alone[alone.len() / 2];

    if world.is_root() {
        println!("ranks\t{}", world.size());
        println!("samples_per_second\t{}", GLOBAL_BATCH as f64 / step_seconds);
        println!("step_ms\t{}", step_seconds * 1e3);
        println!("compute_ms\t{}", per_step(|p| p.compute) * 1e3);
        println!("packing_ms\t{}", per_step(|p| p.packing) * 1e3);
        println!(
            "all_reduce_in_step_ms\t{}",
            per_step(|p| p.all_reduce) * 1e3
        );
        println!("update_ms\t{}", per_step(|p| p.update) * 1e3);
        println!("allreduce_ms\t{}", ms(allreduce));
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------------
// The driver.

/// The `key<TAB>value` lines of one run, or why there are none.
fn figures(output: std::io::Result<std::process::Output>, what: &str) -> Vec<(String, f64)> {
    match output {
        Err(e) => {
            println!("# {what}: cannot start: {e}");
            Vec::new()
        }
        Ok(out) if !out.status.success() => {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().rev().find(|l| !l.trim().is_empty());
            println!("# {what} failed: {}", last.unwrap_or("(no message)"));
            Vec::new()
        }
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let (key, value) = line.split_once('\t')?;
                Some((key.to_string(), value.trim().parse().ok()?))
            })
            .collect(),
    }
}

fn shendu_run(ranks: usize, quick: bool, independent: bool) -> Vec<(String, f64)> {
    let exe = std::env::current_exe().expect("this example's path");
    let mut command = Command::new("mpirun");
    command
        .args([
            "-np",
            &ranks.to_string(),
            "--bind-to",
            "core",
            "--map-by",
            "core",
        ])
        .args(["-x", "RAYON_NUM_THREADS=1"])
        .arg(exe);
    if quick {
        command.arg("--quick");
    }
    if independent {
        command.arg("--independent");
    }
    command
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    figures(command.output(), &format!("shendu on {ranks} rank(s)"))
}

fn torch_run(python: &str, processes: usize, quick: bool) -> Vec<(String, f64)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/reference_ddp.py");
    let mut command = Command::new(python);
    command.args([script, "--processes", &processes.to_string()]);
    if quick {
        command.arg("--quick");
    }
    figures(
        command.output(),
        &format!("torch on {processes} process(es)"),
    )
}

/// One side of the comparison, run once per round.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    /// shendu on N ranks, averaging gradients with one all-reduce per step.
    Shendu(usize),
    /// shendu on N ranks that never communicate: the ceiling for N ranks on this machine.
    Independent(usize),
    /// PyTorch on N processes (DistributedDataParallel on gloo when N > 1).
    Torch(usize),
}

impl Side {
    fn label(self) -> String {
        match self {
            Side::Shendu(1) => "shendu, 1 rank".into(),
            Side::Shendu(n) => format!("shendu, {n} ranks"),
            Side::Independent(n) => format!("shendu, {n} ranks, no all-reduce (ceiling)"),
            Side::Torch(1) => "torch, 1 process".into(),
            Side::Torch(n) => format!("torch DDP gloo, {n} processes"),
        }
    }

    fn run(self, python: &str, quick: bool) -> Vec<(String, f64)> {
        match self {
            Side::Shendu(n) => shendu_run(n, quick, false),
            Side::Independent(n) => shendu_run(n, quick, true),
            Side::Torch(n) => torch_run(python, n, quick),
        }
    }
}

/// The median, least and greatest of `values` (none if empty).
fn spread(mut values: Vec<f64>) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some((
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    ))
}

fn drive(rounds: usize, python: &str, quick: bool) -> Result<(), Box<dyn std::error::Error>> {
    let sides = [
        Side::Shendu(1),
        Side::Shendu(2),
        Side::Independent(2),
        Side::Torch(1),
        Side::Torch(2),
    ];
    println!(
        "# W3 784-256-128-10 relu CE, SGD 0.01, f32, global batch {GLOBAL_BATCH}; \
         each rank or process one thread on its own core"
    );
    println!("# cpu: {}", cpu_model());
    println!("# {rounds} round(s), each running the sides in turn; figures: medians over rounds");
    // Per side, per round, the figures of that run.
    let mut results: Vec<Vec<Vec<(String, f64)>>> = vec![Vec::new(); sides.len()];
    for round in 0..rounds {
        for (side, results) in sides.iter().zip(&mut results) {
            let figures = side.run(python, quick);
            if let Some((_, v)) = figures.iter().find(|(k, _)| k == "samples_per_second") {
                println!("round {round}: {}: {v:.0} samples/s", side.label());
            }
            results.push(figures);
        }
    }
    let value = |figures: &[(String, f64)], key: &str| {
        figures.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    };
    let median = |side: usize, key: &str| {
        spread(results[side].iter().filter_map(|f| value(f, key)).collect())
    };

    println!();
    println!(
        "| side | samples/s (median, range) | step ms | compute | packing | all-reduce in step | update | all-reduce alone |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (k, side) in sides.iter().enumerate() {
        let Some((sps, lo, hi)) = median(k, "samples_per_second") else {
            println!("| {} | (no figures) | | | | | | |", side.label());
            continue;
        };
        let cell = |key: &str| match median(k, key) {
            Some((m, _, _)) => format!("{m:.3}"),
            None => "–".into(),
        };
        println!(
            "| {} | {sps:.0} ({lo:.0}–{hi:.0}) | {} | {} | {} | {} | {} | {} |",
            side.label(),
            cell("step_ms"),
            cell("compute_ms"),
            cell("packing_ms"),
            cell("all_reduce_in_step_ms"),
            cell("update_ms"),
            cell("allreduce_ms"),
        );
    }
    // A ratio is taken within each round (its two runs seconds apart), then the median.
    let ratio = |a: Side, b: Side| {
        let (a, b) = (&results[position(&sides, a)], &results[position(&sides, b)]);
        spread(
            a.iter()
                .zip(b)
                .filter_map(|(x, y)| {
                    Some(value(x, "samples_per_second")? / value(y, "samples_per_second")?)
                })
                .collect(),
        )
    };
    println!();
    for (a, b) in [
        (Side::Shendu(2), Side::Shendu(1)),
        (Side::Independent(2), Side::Shendu(1)),
        (Side::Shendu(2), Side::Independent(2)),
        (Side::Torch(2), Side::Torch(1)),
        (Side::Shendu(2), Side::Torch(2)),
        (Side::Shendu(1), Side::Torch(1)),
    ] {
        match ratio(a, b) {
            Some((m, lo, hi)) => println!(
                "{} / {}: {m:.2}× (rounds {lo:.2}–{hi:.2})",
                a.label(),
                b.label()
            ),
            None => println!("{} / {}: (missing figures)", a.label(), b.label()),
        }
    }
    Ok(())
}

fn position(sides: &[Side], side: Side) -> usize {
    sides
        .iter()
        .position(|&s| s == side)
        .expect("a measured side")
}

/// The CPU's model name, as Linux reports it.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
