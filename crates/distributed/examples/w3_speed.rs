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
//! Run plainly, it is the driver. Each round starts one shendu job of two ranks (`mpirun -np 2
//! --bind-to core`, `RAYON_NUM_THREADS=1`), then `benches/reference_ddp.py` on one process and
//! on two (gloo), under PATH (else `$SHENDU_PYTHON`, else `python3`); then it prints medians over
//! the rounds. Without torch the reference's lines say so and shendu's figures stand alone; a
//! failing shendu job is an error.
//!
//! The shendu job measures three ways of training, in blocks of about 0.3 s taken in turn, so
//! that the host's noise (this is a shared machine) falls on all three alike:
//!
//! - **one rank**: rank 0 trains on the whole batch of 256 while rank 1 sleeps;
//! - **two ranks**: each trains on its 128 rows, and [`DistributedOptimizer`] averages the
//!   gradients in one all-reduce per step;
//! - **two ranks, no all-reduce**: each trains its own replica on its 128 rows and never
//!   communicates: the ceiling two ranks reach on this machine if communication were free (two
//!   busy cores may each run slower than one alone: shared caches and memory bandwidth, the
//!   host's other guests).
//!
//! Rank 0 prints `key<TAB>value` lines for the driver: samples per second of each, the ratios
//! (taken within each turn, then the median), and the two-rank step split into compute (forward,
//! loss, backward), packing (the gradients into the one buffer and back), the all-reduce call
//! (with its wait for the slower rank) and the update, and the all-reduce of a buffer of the
//! same size alone, after a barrier, so without waiting: what the wire costs.

use std::process::Command;
use std::time::{Duration, Instant};

use mpi::traits::{Communicator, Destination, Source};
use rand::{rngs::StdRng, Rng, SeedableRng};
use shendu_distributed::{broadcast_parameters, shard, DistributedOptimizer, World};
use shendu_nn::{loss, Activation, Forward, Mlp, Module, Optimizer, Sgd};
use shendu_tensor::{Indices, Tensor};

#[path = "../../../benches/machine.rs"]
mod machine;

/// The global batch of every step, cut into one shard per rank.
const GLOBAL_BATCH: usize = 256;

/// The command line, for `--help` and for an unknown flag.
const USAGE: &str = "w3_speed [--rounds R] [--python PATH] [--quick]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut rounds, mut python, mut quick) = (5usize, None, false);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("usage: {USAGE}");
            return Ok(());
        }
        match flag.as_str() {
            "--rounds" => rounds = args.next().ok_or("--rounds needs a value")?.parse()?,
            "--python" => python = Some(args.next().ok_or("--python needs a value")?),
            "--quick" => quick = true,
            _ => return Err(format!("unknown flag {flag}: {USAGE}").into()),
        }
    }
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        let world = shendu_distributed::init()?;
        if world.size() != 2 {
            return Err("the shendu side runs on exactly 2 ranks".into());
        }
        return rank(&world, quick);
    }
    let python = python
        .or_else(|| std::env::var("SHENDU_PYTHON").ok())
        .unwrap_or_else(|| "python3".into());
    drive(rounds, &python, quick)
}

// ---------------------------------------------------------------------------------------------
// The shendu job.

/// Seconds of each phase of one step.
#[derive(Clone, Copy, Default)]
struct Phases {
    compute: f64,
    packing: f64,
    all_reduce: f64,
    update: f64,
}

impl std::ops::AddAssign for Phases {
    fn add_assign(&mut self, p: Phases) {
        self.compute += p.compute;
        self.packing += p.packing;
        self.all_reduce += p.all_reduce;
        self.update += p.update;
    }
}

/// One way of training, timed in blocks taken in turn with the others.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    OneRank,
    TwoRanks,
    Independent,
}

/// A model and its data: `rows` of the global batch.
struct Replica {
    model: Mlp<f32>,
    x: Tensor<f32>,
    labels: Indices,
}

impl Replica {
    fn new(rows: std::ops::Range<usize>) -> Replica {
        // The same global batch and initial weights on every rank; each takes its rows.
        let mut rng = StdRng::seed_from_u64(1);
        let x = Tensor::<f32>::rand_normal([GLOBAL_BATCH, 784], 0.0, 1.0, &mut rng);
        let labels: Vec<usize> = (0..GLOBAL_BATCH).map(|_| rng.random_range(0..10)).collect();
        let model = Mlp::<f32>::new(&[784, 256, 128, 10], Activation::Relu, &mut rng);
        let mine: Vec<usize> = rows.collect();
        Replica {
            model,
            x: x.narrow(0, mine[0], mine.len()).contiguous(),
            labels: Indices::from_vec(labels, [GLOBAL_BATCH]).select_rows(&mine),
        }
    }

    /// Forward, loss and backward: the loss and the gradients.
    fn gradients(&self) -> (f32, shendu_autograd::Gradients<f32>) {
        let (x, labels) = (&self.x, &self.labels);
        self.model.value_and_grad(|tape, model| {
            loss::cross_entropy(&model.forward(&tape.constant(x.clone())), labels)
        })
    }
}

fn rank(world: &World, quick: bool) -> Result<(), Box<dyn std::error::Error>> {
    let my_rows = shard(GLOBAL_BATCH, world.rank(), world.size());
    let rows = my_rows.len();
    let mut synchronous = Replica::new(my_rows.clone());
    broadcast_parameters(world, &mut synchronous.model);
    let mut distributed = DistributedOptimizer::new(Sgd::new(0.01), world);
    let mut independent = Replica::new(my_rows);
    let mut independent_sgd = Sgd::new(0.01);
    let mut whole = Replica::new(0..GLOBAL_BATCH);
    let mut whole_sgd = Sgd::new(0.01);
    let comm = mpi::topology::SimpleCommunicator::world();

    let mut step = |mode: Mode| -> Result<Phases, Box<dyn std::error::Error>> {
        let start = Instant::now();
        let replica = match mode {
            Mode::OneRank => &mut whole,
            Mode::TwoRanks => &mut synchronous,
            Mode::Independent => &mut independent,
        };
        let (loss, mut grads) = replica.gradients();
        let compute = start.elapsed();
        let (communication, all_reduce) = match mode {
            Mode::TwoRanks => {
                let report =
                    distributed.step(&mut replica.model, &mut grads, rows, f64::from(loss))?;
                (report.communication, report.all_reduce)
            }
            Mode::OneRank => {
                whole_sgd.step(&mut replica.model, &grads);
                (Duration::ZERO, Duration::ZERO)
            }
            Mode::Independent => {
                independent_sgd.step(&mut replica.model, &grads);
                (Duration::ZERO, Duration::ZERO)
            }
        };
        let wall = start.elapsed();
        Ok(Phases {
            compute: compute.as_secs_f64(),
            packing: (communication - all_reduce).as_secs_f64(),
            all_reduce: all_reduce.as_secs_f64(),
            update: (wall - compute - communication).as_secs_f64(),
        })
    };

    // A block: both ranks start together; the wall time of `steps` steps on rank 0 (for two
    // ranks, until the slower is done), and the sum of their phases. For one rank, rank 1 sleeps until rank 0 says it is done (a blocking
    // MPI wait would spin on rank 1's core).
    let mut block = |mode: Mode, steps: u64| -> Result<(f64, Phases), Box<dyn std::error::Error>> {
        world.barrier();
        let mut sum = Phases::default();
        let start = Instant::now();
        if mode == Mode::OneRank && !world.is_root() {
            let mut done = comm.process_at_rank(0).immediate_receive::<u8>();
            loop {
                match done.r#try() {
                    Ok(_) => break,
                    Err(pending) => done = pending,
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        } else {
            for _ in 0..steps {
                sum += step(mode)?;
            }
            if mode == Mode::OneRank {
                comm.process_at_rank(1).send(&1u8);
            }
        }
        if mode == Mode::Independent {
            // The block lasts until the slower rank is done, as a step of two ranks does.
            world.barrier();
        }
        Ok((start.elapsed().as_secs_f64() / steps as f64, sum))
    };

    for mode in [Mode::OneRank, Mode::TwoRanks, Mode::Independent] {
        block(mode, 20)?;
    }
    // Steps per block, chosen by rank 0 for blocks of about 0.3 s and sent to all: both ranks
    // must take the same number of steps, or one would wait forever in an all-reduce.
    let block_seconds = if quick { 0.05 } else { 0.3 };
    let (per_step, _) = block(Mode::TwoRanks, 10)?;
    let mut steps = [(block_seconds / per_step).ceil() as u64];
    world.broadcast(&mut steps);
    let steps = steps[0].max(2);

    // Per turn: seconds per step of each mode; and the two-rank phases, summed.
    let mut turns: Vec<[f64; 3]> = Vec::new();
    let mut phases = Phases::default();
    let modes = [Mode::OneRank, Mode::TwoRanks, Mode::Independent];
    for turn in 0..if quick { 2 } else { 7 } {
        let mut seconds = [0.0; 3];
        // The order rotates, so that no mode always follows the same one.
        for k in 0..3 {
            let m = (turn + k) % 3;
            // One rank does twice the rows per step: half the steps make a block as long.
            let n = if modes[m] == Mode::OneRank {
                steps / 2
            } else {
                steps
            };
            let (s, sum) = block(modes[m], n)?;
            seconds[m] = s;
            if modes[m] == Mode::TwoRanks {
                phases += sum;
            }
        }
        turns.push(seconds);
    }
    let total_steps = (turns.len() as u64 * steps) as f64;

    // The all-reduce alone, of the same number of values as a step's buffer (the values, a
    // flag per parameter, three counters: see `average_gradients`).
    let model = &synchronous.model;
    let values = model.param_count() + model.param_names().len() + 3;
    let send = vec![1.0f32; values];
    let mut receive = vec![0.0f32; values];
    let mut alone = Vec::new();
    for _ in 0..if quick { 5 } else { 50 } {
        world.barrier();
        let start = Instant::now();
        world.all_reduce_sum(&send, &mut receive)?;
        alone.push(start.elapsed());
    }
    alone.sort();

    if world.is_root() {
        let sps = |m: usize| median(turns.iter().map(|t| GLOBAL_BATCH as f64 / t[m]).collect());
        let ratio = |a: usize, b: usize| spread(turns.iter().map(|t| t[b] / t[a]).collect());
        println!("one_rank_samples_per_second\t{}", sps(0));
        println!("two_ranks_samples_per_second\t{}", sps(1));
        println!("independent_samples_per_second\t{}", sps(2));
        let (m, lo, hi) = ratio(1, 0);
        println!(
            "two_ranks_over_one\t{m}\ntwo_ranks_over_one_min\t{lo}\ntwo_ranks_over_one_max\t{hi}"
        );
        let (m, lo, hi) = ratio(2, 0);
        println!(
            "independent_over_one\t{m}\nindependent_over_one_min\t{lo}\nindependent_over_one_max\t{hi}"
        );
        println!(
            "two_ranks_step_ms\t{}",
            median(turns.iter().map(|t| t[1] * 1e3).collect())
        );
        println!("compute_ms\t{}", phases.compute / total_steps * 1e3);
        println!("packing_ms\t{}", phases.packing / total_steps * 1e3);
        println!(
            "all_reduce_in_step_ms\t{}",
            phases.all_reduce / total_steps * 1e3
        );
        println!("update_ms\t{}", phases.update / total_steps * 1e3);
        println!(
            "all_reduce_alone_ms\t{}",
            alone[alone.len() / 2].as_secs_f64() * 1e3
        );
    }
    Ok(())
}

/// The median of `values`.
fn median(values: Vec<f64>) -> f64 {
    spread(values).0
}

/// The median, least and greatest of `values` (NaN if empty).
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    values.sort_by(f64::total_cmp);
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

// ---------------------------------------------------------------------------------------------
// The driver.

/// The `key<TAB>value` lines of one run, or none, with a line saying why.
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

fn shendu_job(quick: bool) -> Vec<(String, f64)> {
    let exe = std::env::current_exe().expect("this example's path");
    let mut command = Command::new("mpirun");
    command
        .args(["-np", "2", "--bind-to", "core", "--map-by", "core"])
        .args(["-x", "RAYON_NUM_THREADS=1"])
        .arg(exe);
    if quick {
        command.arg("--quick");
    }
    command
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    figures(command.output(), "shendu on 2 ranks")
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

fn drive(rounds: usize, python: &str, quick: bool) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "# W3 784-256-128-10 relu CE, SGD 0.01, f32, global batch {GLOBAL_BATCH}; \
         each rank or process one thread on its own core"
    );
    println!("# {}", machine::describe(shendu_tensor::matmul_simd()));
    println!(
        "# {rounds} round(s): a shendu job (its three modes in turn, 7 turns of 0.3 s blocks), \
         torch on 1 process, torch DDP gloo on 2; figures: medians over rounds [least–greatest]"
    );
    let mut shendu = Vec::new();
    let mut torch = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let job = shendu_job(quick);
        if job.is_empty() {
            // The reference may be missing (no torch here); shendu's own side may not.
            return Err("the shendu job failed".into());
        }
        let one = torch_run(python, 1, quick);
        let two = torch_run(python, 2, quick);
        let get = |f: &[(String, f64)], key: &str| {
            f.iter()
                .find(|(k, _)| k == key)
                .map_or(f64::NAN, |(_, v)| *v)
        };
        println!(
            "round {round}: shendu 1 rank {:.0}, 2 ranks {:.0}, 2 independent {:.0}; \
             torch 1 process {:.0}, DDP 2 {:.0} samples/s",
            get(&job, "one_rank_samples_per_second"),
            get(&job, "two_ranks_samples_per_second"),
            get(&job, "independent_samples_per_second"),
            get(&one, "samples_per_second"),
            get(&two, "samples_per_second"),
        );
        shendu.push(job);
        torch[0].push(one);
        torch[1].push(two);
    }
    let over = |runs: &[Vec<(String, f64)>], key: &str| {
        spread(
            runs.iter()
                .filter_map(|f| f.iter().find(|(k, _)| k == key).map(|(_, v)| *v))
                .collect(),
        )
    };
    let cell = |(m, lo, hi): (f64, f64, f64), digits: usize| {
        format!("{m:.digits$} [{lo:.digits$}–{hi:.digits$}]")
    };
    println!();
    println!("| side | samples/s |");
    println!("|---|---|");
    for (label, runs, key) in [
        ("shendu, 1 rank", &shendu, "one_rank_samples_per_second"),
        ("shendu, 2 ranks", &shendu, "two_ranks_samples_per_second"),
        (
            "shendu, 2 ranks, no all-reduce (ceiling)",
            &shendu,
            "independent_samples_per_second",
        ),
        ("torch, 1 process", &torch[0], "samples_per_second"),
        (
            "torch DDP gloo, 2 processes",
            &torch[1],
            "samples_per_second",
        ),
    ] {
        println!("| {label} | {} |", cell(over(runs, key), 0));
    }
    println!();
    println!(
        "shendu 2 ranks / 1 rank (each job's median over its turns): {}",
        cell(over(&shendu, "two_ranks_over_one"), 2)
    );
    println!(
        "shendu 2 ranks without all-reduce / 1 rank (the ceiling): {}",
        cell(over(&shendu, "independent_over_one"), 2)
    );
    let per_round = |a: &[Vec<(String, f64)>], ka: &str, b: &[Vec<(String, f64)>], kb: &str| {
        let value = |f: &[(String, f64)], k: &str| f.iter().find(|(x, _)| x == k).map(|(_, v)| *v);
        spread(
            a.iter()
                .zip(b)
                .filter_map(|(x, y)| Some(value(x, ka)? / value(y, kb)?))
                .collect(),
        )
    };
    println!(
        "torch DDP 2 / torch 1 (per round): {}",
        cell(
            per_round(
                &torch[1],
                "samples_per_second",
                &torch[0],
                "samples_per_second"
            ),
            2
        )
    );
    println!(
        "shendu 2 ranks / torch DDP 2 (per round): {}",
        cell(
            per_round(
                &shendu,
                "two_ranks_samples_per_second",
                &torch[1],
                "samples_per_second"
            ),
            2
        )
    );
    println!();
    println!("shendu's two-rank step (ms, medians over rounds):");
    for key in [
        "two_ranks_step_ms",
        "compute_ms",
        "packing_ms",
        "all_reduce_in_step_ms",
        "update_ms",
        "all_reduce_alone_ms",
    ] {
        println!("  {key:24} {}", cell(over(&shendu, key), 3));
    }
    Ok(())
}
