//! Workload W6, the handwritten digits, on N ranks: the 64→64→10 MLP with Adam (lr 1e-3) and a
//! global batch of 32 rows cut into one shard per rank, for 60 epochs on the seeded 80/20 split
//! of `data/digits.csv` (pixels scaled by 1/16), as `examples/digits/w6.rs` trains it on one.
//! Each rank prints its throughput; rank 0 prints the test accuracy, computed by all ranks on
//! their shards of the test set and summed.
//!
//! mpirun -np 2 target/release/examples/digits_distributed [--seed S] [--epochs E] [--out PATH]

use std::time::Instant;

use rand::{rngs::StdRng, SeedableRng};
use shendu_distributed::{
    broadcast_parameters, check_consistency, save_checkpoint, shard, DistributedOptimizer,
    DistributedSampler, MetricSums,
};
use shendu_nn::data::{self, Dataset};
use shendu_nn::metrics::ConfusionMatrix;
use shendu_nn::{loss, Activation, Adam, Forward, Mlp, Module};

/// The data file shipped with the project (see `data/README.md` for its origin and license).
const DIGITS_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/digits.csv");

/// The command line, for `--help` and for an unknown flag.
const USAGE: &str = "digits_distributed [--seed S] [--epochs E] [--out PATH]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut seed, mut epochs, mut out) = (0u64, 60usize, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("usage: {USAGE}");
            return Ok(());
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seed" => seed = value.parse()?,
            "--epochs" => epochs = value.parse()?,
            "--out" => out = Some(value),
            _ => return Err(format!("unknown flag {flag}: {USAGE}").into()),
        }
    }
    let world = shendu_distributed::init()?;
    // Every rank reads the file and draws the same split: no rows travel.
    let digits = data::digits::<f32>(DIGITS_CSV)?.map_x(|x| x / 16.0);
    let mut rng = StdRng::seed_from_u64(seed);
    let (train, test) = digits.split(0.8, &mut rng);
    let mut model = Mlp::new(&[64, 64, 10], Activation::Relu, &mut rng);
    check_consistency(&world, &model, seed)?;
    broadcast_parameters(&world, &mut model);
    let mut opt = DistributedOptimizer::new(Adam::new(1e-3), &world);
    let sampler = DistributedSampler::for_world(&world, train.len(), 32, seed)?;

    let (mut rows_seen, mut communication) = (0usize, 0.0f64);
    let start = Instant::now();
    let mut last_loss = f64::NAN;
    for epoch in 0..epochs as u64 {
        let mut sums = MetricSums::default();
        for rows in sampler.epoch(epoch) {
            let batch = train.select_rows(&rows);
            let (loss, mut grads) = model.value_and_grad(|tape, model| {
                loss::cross_entropy(&model.forward(&tape.constant(batch.x.clone())), &batch.y)
            });
            let report = opt.step(&mut model, &mut grads, rows.len(), f64::from(loss))?;
            communication += report.communication.as_secs_f64();
            sums.add(report.loss, 0, report.global_rows);
            rows_seen += rows.len();
        }
        last_loss = sums.mean_loss();
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "rank {} of {} on {}: {rows_seen} rows in {seconds:.2} s, {:.0} samples/s, \
         {:.0}% of the time in the all-reduce",
        world.rank(),
        world.size(),
        world.host(),
        rows_seen as f64 / seconds,
        100.0 * communication / seconds,
    );

    // The test set, each rank its shard; the counts are summed over the ranks.
    let range = shard(test.len(), world.rank(), world.size());
    let mine = test.select_rows(&range.collect::<Vec<_>>());
    let mut confusion = ConfusionMatrix::new(10);
    if !mine.is_empty() {
        confusion.add_logits(&model.predict(&mine.x), &mine.y);
    }
    let correct = (0..10).map(|c| confusion.count(c, c)).sum::<u64>() as usize;
    let mut test_sums = MetricSums::default();
    test_sums.add(0.0, correct, mine.len());
    let total = test_sums.reduce(&world)?;
    if let Some(path) = &out {
        save_checkpoint(&world, &model, path)?;
    }
    if world.is_root() {
        println!(
            "{} ranks, {epochs} epochs, last epoch's mean loss {last_loss:.4}: test accuracy {:.2}% \
             ({} of {} test images)",
            world.size(),
            100.0 * total.accuracy(),
            total.correct,
            total.count,
        );
        if let Some(path) = &out {
            println!("model saved to {path}");
        }
    }
    Ok(())
}
