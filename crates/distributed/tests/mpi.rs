//! The distributed crate's tests, on two real ranks: this binary launches
//! `mpirun -np 2 --oversubscribe` on itself once per scenario and checks what the ranks print and
//! how the job ends. Under mpirun (Open MPI sets `OMPI_COMM_WORLD_SIZE`) it is a rank running the
//! scenario named by its argument.
//!
//! Each rank also computes, alone and without MPI, what one process computes on the whole
//! global batch, and compares: that is the reference, not a copy of the distributed formula.
//! MPI is required: without `mpirun` the test fails, it never skips.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{rngs::StdRng, Rng, SeedableRng};
use shendu_autograd::Gradients;
use shendu_distributed::{
    average_gradients, broadcast_parameters, check_consistency, save_checkpoint, shard,
    DistributedError, DistributedOptimizer, DistributedSampler, GradientBuffer, MetricSums, World,
};
use shendu_nn::data::{Dataset, TensorDataset};
use shendu_nn::{
    loss, Activation, Adam, Checkpoint, EntryMut, Forward, Mlp, Module, Optimizer, Sgd, VisitMut,
};
use shendu_tensor::{Indices, Tensor};

/// The relative tolerance between N ranks and one process: the sums are grouped differently.
const TOLERANCE: f64 = 1e-12;

/// How long one job may take before it counts as hung.
const JOB_LIMIT: Duration = Duration::from_secs(120);

fn main() {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        let scenario = std::env::args().nth(1).unwrap_or_default();
        let world = shendu_distributed::init().expect("MPI starts");
        rank_main(&world, &scenario);
        return;
    }
    launcher();
}

// ---------------------------------------------------------------------------------------------
// The launcher.

/// How one `mpirun` job ended.
struct Job {
    success: bool,
    stdout: String,
    stderr: String,
    seconds: f64,
}

fn mpirun(scenario: &str, extra: &[&str]) -> Job {
    mpirun_ranks(2, scenario, extra)
}

fn mpirun_ranks(ranks: usize, scenario: &str, extra: &[&str]) -> Job {
    let exe = std::env::current_exe().expect("the test binary's path");
    let start = Instant::now();
    let mut child = Command::new("mpirun")
        .args(["-np", &ranks.to_string(), "--oversubscribe"])
        .arg(&exe)
        .arg(scenario)
        .args(extra)
        // CI runs as root, which mpirun refuses unless told.
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run mpirun ({e}): install Open MPI (Debian's openmpi-bin and \
                 libopenmpi-dev)"
            )
        });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).ok();
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).ok();
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for mpirun") {
            break status;
        }
        if start.elapsed() > JOB_LIMIT {
            child.kill().ok();
            child.wait().ok();
            panic!("the job {scenario} hung for more than {JOB_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Job {
        success: status.success(),
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Runs a scenario that must succeed on both ranks, each printing `ok <scenario>`; returns its
/// output.
fn expect_ok(scenario: &str, extra: &[&str]) -> String {
    expect_ok_on(2, scenario, extra)
}

fn expect_ok_on(ranks: usize, scenario: &str, extra: &[&str]) -> String {
    let job = mpirun_ranks(ranks, scenario, extra);
    let oks = job
        .stdout
        .lines()
        .filter(|l| l.starts_with(&format!("ok {scenario} rank")))
        .count();
    assert!(
        job.success && oks == ranks,
        "{scenario}: success {}, {oks} of {ranks} ranks ok\nstdout:\n{}\nstderr:\n{}",
        job.success,
        job.stdout,
        job.stderr
    );
    job.stdout
}

/// The lines of `output` starting with `prefix`, sorted (the ranks' lines interleave freely).
fn lines_with(output: &str, prefix: &str) -> Vec<String> {
    let mut lines: Vec<String> = output
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// A test of the launcher: it panics on failure.
type Test = Box<dyn Fn()>;

fn launcher() {
    let tests: Vec<(&str, Test)> = vec![
        (
            "broadcast makes the replicas equal to rank 0's",
            Box::new(|| {
                expect_ok("broadcast", &[]);
            }),
        ),
        (
            "averaged gradients equal one process's on the global batch (even and uneven)",
            Box::new(|| {
                expect_ok("gradients", &[]);
            }),
        ),
        (
            "20 steps of SGD and Adam on 2 ranks equal one process's, and repeat bit for bit",
            Box::new(|| {
                let first = expect_ok("train", &[]);
                let second = expect_ok("train", &[]);
                let (a, b) = (lines_with(&first, "params"), lines_with(&second, "params"));
                assert_eq!(a.len(), 4, "two optimizers on two ranks:\n{first}");
                assert_eq!(a, b, "two runs with the same seed differ");
            }),
        ),
        (
            "on one rank, gradients and 20 steps are one process's, bit for bit",
            Box::new(|| {
                expect_ok_on(1, "gradients", &[]);
                let out = expect_ok_on(1, "train", &[]);
                assert_eq!(lines_with(&out, "params").len(), 2, "{out}");
            }),
        ),
        (
            "different parameter shapes are reported at start-up, naming the rank",
            Box::new(|| {
                let out = expect_ok("mismatch-shape", &[]);
                assert!(
                    out.contains("rank 1 does not match rank 0: its parameters"),
                    "{out}"
                );
            }),
        ),
        (
            "different seeds are reported at start-up, naming the rank",
            Box::new(|| {
                let out = expect_ok("mismatch-seed", &[]);
                assert!(
                    out.contains("rank 1 does not match rank 0: its seed is 8"),
                    "{out}"
                );
            }),
        ),
        (
            "a checkpoint is written by rank 0 alone and reads back as the model",
            Box::new(|| {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("model.safetensors");
                expect_ok("checkpoint", &[path.to_str().unwrap()]);
                assert!(path.exists());
                let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
                assert_eq!(leftovers, 1, "only the checkpoint, no temporary file");
            }),
        ),
        (
            "rank 0 killed while writing a checkpoint leaves the old file, and the job ends",
            Box::new(|| {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("model.safetensors");
                let job = mpirun("checkpoint-killed", &[path.to_str().unwrap()]);
                assert!(!job.success, "the job must fail:\n{}", job.stdout);
                assert!(
                    job.stdout.contains("version 1 saved"),
                    "the first checkpoint was not written:\n{}\n{}",
                    job.stdout,
                    job.stderr
                );
                assert!(
                    job.stderr.contains("rank 0") && job.stderr.contains("signal 9"),
                    "stderr:\n{}",
                    job.stderr
                );
                assert!(job.seconds < 60.0, "took {} s", job.seconds);
                // The kill landed mid-write: the temporary file is still there...
                let files = std::fs::read_dir(dir.path()).unwrap().count();
                assert_eq!(
                    files, 2,
                    "the checkpoint and the interrupted temporary file"
                );
                // ...and the checkpoint is version 1, whole.
                let mut read = big_model();
                read.load(&path).expect("the checkpoint reads back whole");
                let values: Vec<f64> = bits(&read).into_iter().map(f64::from_bits).collect();
                assert!(values.iter().all(|&v| v == 1.0), "not the old version");
            }),
        ),
        (
            "a rank that panics ends the job, named, within the time limit",
            Box::new(|| {
                let job = mpirun("panic", &[]);
                assert!(!job.success, "the job must fail:\n{}", job.stdout);
                assert!(
                    job.stderr.contains("rank 1 of 2 panicked"),
                    "stderr:\n{}",
                    job.stderr
                );
                assert!(job.seconds < 60.0, "took {} s", job.seconds);
            }),
        ),
        (
            "a rank that is killed ends the job, named by mpirun, within the time limit",
            Box::new(|| {
                let job = mpirun("killed", &[]);
                assert!(!job.success, "the job must fail:\n{}", job.stdout);
                assert!(
                    job.stderr.contains("rank 1") && job.stderr.contains("signal 9"),
                    "stderr:\n{}",
                    job.stderr
                );
                assert!(job.seconds < 60.0, "took {} s", job.seconds);
            }),
        ),
    ];
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in tests {
        let start = Instant::now();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(test)) {
            Ok(()) => {
                passed += 1;
                println!(
                    "test {name} ... ok ({:.1} s)",
                    start.elapsed().as_secs_f64()
                );
            }
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED");
            }
        }
    }
    println!("mpi: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// The ranks.

fn rank_main(world: &World, scenario: &str) {
    let rank = world.rank();
    match scenario {
        "broadcast" => broadcast(world),
        "gradients" => gradients(world),
        "train" => train(world),
        "mismatch-shape" => {
            let hidden = if rank == 0 { 8 } else { 9 };
            let model = Mlp::<f64>::new(&[4, hidden, 3], Activation::Tanh, &mut rng(1));
            report_mismatch(check_consistency(world, &model, 7));
        }
        "mismatch-seed" => {
            let model = Mlp::<f64>::new(&[4, 8, 3], Activation::Tanh, &mut rng(1));
            report_mismatch(check_consistency(world, &model, 7 + rank as u64));
        }
        "checkpoint" => {
            let path = std::env::args().nth(2).expect("a path");
            let mut model = Mlp::<f64>::new(&[4, 8, 3], Activation::Tanh, &mut rng(rank as u64));
            broadcast_parameters(world, &mut model);
            save_checkpoint(world, &model, &path).expect("saved");
            // Every rank reads it back (one machine): it is rank 0's model, which is everyone's.
            let mut read = Mlp::<f64>::new(&[4, 8, 3], Activation::Tanh, &mut rng(99));
            read.load(&path).expect("readable");
            assert_eq!(bits(&read), bits(&model));
        }
        "checkpoint-killed" => {
            let path = std::path::PathBuf::from(std::env::args().nth(2).expect("a path"));
            let mut model = big_model();
            fill(&mut model, 1.0);
            save_checkpoint(world, &model, &path).expect("saved");
            if rank == 0 {
                println!("version 1 saved");
            }
            fill(&mut model, 2.0);
            let pids = world.all_gather(&[std::process::id()]);
            if rank == 1 {
                // Watches the directory: the moment rank 0's temporary file appears, rank 0 is
                // writing version 2, and is killed there.
                let (dir, target, writer) =
                    (path.parent().unwrap().to_owned(), path.clone(), pids[0]);
                std::thread::spawn(move || loop {
                    let writing = std::fs::read_dir(&dir)
                        .unwrap()
                        .any(|e| e.unwrap().path() != target);
                    if writing {
                        Command::new("kill")
                            .args(["-9", &writer.to_string()])
                            .status()
                            .ok();
                        return;
                    }
                    std::thread::sleep(Duration::from_micros(100));
                });
            }
            save_checkpoint(world, &model, &path).expect("saved");
            world.barrier();
        }
        "panic" => {
            if rank == 1 {
                panic!("a deliberate panic on rank 1");
            }
            // Rank 0 waits in a collective call that rank 1 never joins: without the abort it
            // would wait forever.
            world.barrier();
        }
        "killed" => {
            if rank == 1 {
                // SIGKILL: no panic hook, no MPI_Abort; mpirun alone notices.
                let pid = std::process::id().to_string();
                Command::new("kill").args(["-9", &pid]).status().ok();
                std::thread::sleep(Duration::from_secs(30));
            }
            world.barrier();
        }
        other => panic!("no scenario {other:?}"),
    }
    println!("ok {scenario} rank {rank}");
}

fn report_mismatch(result: Result<(), DistributedError>) {
    match result {
        Ok(()) => panic!("a mismatch went unnoticed"),
        Err(e) => println!("mismatch: {e}"),
    }
}

/// A model of about 40 MB in f64, so that writing it takes a while.
fn big_model() -> Mlp<f64> {
    Mlp::<f64>::new(&[512, 2048, 2048], Activation::Tanh, &mut rng(5))
}

/// Sets every parameter of `model` to `value`.
fn fill(model: &mut Mlp<f64>, value: f64) {
    model.visit_mut(&mut VisitMut::new(&mut |_, entry| {
        if let EntryMut::Param(p) = entry {
            p.value_mut().fill_(value);
        }
    }));
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Every parameter's id, in visit order.
fn param_ids(model: &impl Module<f64>) -> Vec<shendu_autograd::ParamId> {
    let mut ids = Vec::new();
    model.visit(&mut shendu_nn::Visit::new(&mut |_, entry| {
        if let shendu_nn::Entry::Param(p) = entry {
            ids.push(p.id());
        }
    }));
    ids
}

/// Every parameter's bits, in visit order.
fn bits(model: &impl Module<f64>) -> Vec<u64> {
    let mut bits = Vec::new();
    model.visit(&mut shendu_nn::Visit::new(&mut |_, entry| {
        if let shendu_nn::Entry::Param(p) = entry {
            bits.extend(p.value().to_vec().into_iter().map(f64::to_bits));
        }
    }));
    bits
}

fn broadcast(world: &World) {
    // Each rank draws other initial weights.
    let mut model = Mlp::<f64>::new(&[4, 8, 3], Activation::Tanh, &mut rng(world.rank() as u64));
    let rank0 = bits(&Mlp::<f64>::new(&[4, 8, 3], Activation::Tanh, &mut rng(0)));
    if world.rank() == 1 {
        assert_ne!(bits(&model), rank0);
    }
    check_consistency(world, &model, 7).expect("same shapes, same seed");
    broadcast_parameters(world, &mut model);
    assert_eq!(
        bits(&model),
        rank0,
        "rank {} differs from rank 0",
        world.rank()
    );
}

/// A classification data set: 4 features, 3 classes, `rows` rows.
fn data(rows: usize) -> TensorDataset<f64, Indices> {
    let mut r = rng(42);
    let x: Vec<f64> = (0..rows * 4).map(|_| r.random_range(-2.0..2.0)).collect();
    let y: Vec<usize> = (0..rows).map(|_| r.random_range(0..3)).collect();
    TensorDataset::new(Tensor::from_vec(x, [rows, 4]), Indices::from_vec(y, [rows]))
}

/// The mean cross-entropy of `model` on `rows` of `data`, and its gradients.
fn loss_and_grads(
    model: &Mlp<f64>,
    data: &TensorDataset<f64, Indices>,
    rows: &[usize],
) -> (f64, Gradients<f64>) {
    let batch = data.select_rows(rows);
    model.value_and_grad(|tape, m| {
        loss::cross_entropy(&m.forward(&tape.constant(batch.x)), &batch.y)
    })
}

/// `max |a − b| / max |b|`, the error relative to the reference's scale.
fn relative(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    if scale == 0.0 {
        diff
    } else {
        diff / scale
    }
}

fn gradients(world: &World) {
    let data = data(16);
    let model = Mlp::<f64>::new(&[4, 8, 3], Activation::Tanh, &mut rng(3));
    let mut buffer = GradientBuffer::default();
    // An even global batch (4 + 4 rows) and uneven ones (4 + 3, 2 + 1).
    for global in [8usize, 7, 3] {
        let rows: Vec<usize> = (0..global).collect();
        let mine = &rows[shard(global, world.rank(), world.size())];
        let (loss, mut grads) = loss_and_grads(&model, &data, mine);
        let reduced =
            average_gradients(world, &model, &mut grads, mine.len(), loss, &mut buffer).unwrap();
        let (one_loss, one_grads) = loss_and_grads(&model, &data, &rows);
        assert_eq!(reduced.global_rows, global);
        assert!(relative(&[reduced.loss], &[one_loss]) <= TOLERANCE);
        let ids = param_ids(&model);
        assert_eq!(ids.len(), 4, "two weights, two biases");
        for id in ids {
            let (a, b) = (grads[id].to_vec(), one_grads[id].to_vec());
            if world.size() == 1 {
                // One rank's shard is the global batch: its gradient passes untouched.
                assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
            }
            let err = relative(&a, &b);
            assert!(
                err <= TOLERANCE,
                "global batch {global}: relative error {err:e}"
            );
        }
    }
}

/// 20 steps on 2 ranks against 20 steps of one process on the same global batches, for SGD with
/// momentum and for Adam; prints each result's bits for the launcher's repeat check.
fn train(world: &World) {
    train_with(world, "sgd", || Sgd::new(0.1).momentum(0.9));
    train_with(world, "adam", || Adam::new(1e-2));
}

fn train_with<O: Optimizer<f64>>(world: &World, name: &str, make: impl Fn() -> O) {
    let seed = 11;
    let data = data(50);
    {
        // Rank 1 starts from other weights: the broadcast must fix that.
        let mut model =
            Mlp::<f64>::new(&[4, 8, 3], Activation::Tanh, &mut rng(world.rank() as u64));
        let mut reference = Mlp::<f64>::new(&[4, 8, 3], Activation::Tanh, &mut rng(0));
        check_consistency(world, &model, seed).unwrap();
        broadcast_parameters(world, &mut model);
        let mut opt = DistributedOptimizer::new(make(), world);
        let mut one = make();
        // 50 rows in global batches of 12: 12, 12, 12, 12, 2 (1 + 1 rows on the ranks).
        let sampler = DistributedSampler::for_world(world, data.len(), 12, seed).unwrap();
        let mut metrics = MetricSums::default();
        let mut steps = 0;
        'epochs: for epoch in 0.. {
            let global = sampler.global_batches(epoch);
            for (rows, all) in sampler.epoch(epoch).iter().zip(&global) {
                if steps == 20 {
                    break 'epochs;
                }
                let (loss, mut grads) = loss_and_grads(&model, &data, rows);
                let report = opt.step(&mut model, &mut grads, rows.len(), loss).unwrap();
                metrics.add(loss, 0, rows.len());
                let (one_loss, one_grads) = loss_and_grads(&reference, &data, all);
                one.step(&mut reference, &one_grads);
                assert_eq!(report.global_rows, all.len());
                assert!(relative(&[report.loss], &[one_loss]) <= 1e-10);
                steps += 1;
            }
        }
        let (a, b) = (bits(&model), bits(&reference));
        let (a, b): (Vec<f64>, Vec<f64>) = (
            a.into_iter().map(f64::from_bits).collect(),
            b.into_iter().map(f64::from_bits).collect(),
        );
        let err = relative(&a, &b);
        assert!(
            err <= TOLERANCE,
            "{name}: relative error {err:e} after 20 steps"
        );
        if world.size() == 1 {
            assert_eq!(
                bits(&model),
                bits(&reference),
                "{name}: one rank is one process"
            );
        }
        let total = metrics.reduce(world).unwrap();
        // 20 steps are 4 epochs of 5 batches (12, 12, 12, 12, 2 rows): every row 4 times.
        assert_eq!(total.count, 200.0);
        let hash = a.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
            (h ^ v.to_bits()).wrapping_mul(0x0100_0000_01b3)
        });
        println!(
            "params {name} rank {} {hash:016x} (error {err:.1e})",
            world.rank()
        );
    }
}
