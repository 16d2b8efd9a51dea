//! Data-parallel training for shendu across processes and machines, on MPI.
//!
//! Every process (a *rank*) holds a replica of the model and computes the gradient on its shard
//! of each batch; the gradients are averaged with one all-reduce and every rank's optimizer then
//! takes the same step, as Horovod and PyTorch's `DistributedDataParallel` do. MPI is Open MPI
//! through the [`mpi`] crate (rsmpi): launch with `mpirun -np 2 your-program`.
//!
//! This crate is the only part of shendu that links MPI; it is out of the workspace's default
//! members, so a `cargo test` on a machine without MPI never builds it.
//!
//! | piece | what it does |
//! | --- | --- |
//! | [`init`], [`World`] | starts MPI; rank, size; a panicking rank aborts the job naming itself |
//! | [`check_consistency`] | at start-up: same parameter names and shapes, same seed, on every rank |
//! | [`broadcast_parameters`] | makes every replica equal to rank 0's, in one broadcast |
//! | [`DistributedSampler`] | each rank's shard of the same seeded shuffle |
//! | [`DistributedOptimizer`] | averages the gradients (one all-reduce per step), then steps any nn optimizer |
//! | [`MetricSums`] | loss and accuracy summed over all ranks |
//! | [`save_checkpoint`] | rank 0 writes, atomically; every rank learns the outcome |
//!
//! # From one process to many
//!
//! A training loop changes by a few lines (`-` one process, `+` many):
//!
//! ```text
//! +   let world = shendu_distributed::init()?;
//!     let mut model = Mlp::<f64>::new(&[64, 64, 10], Activation::Relu, &mut rng);
//! +   shendu_distributed::check_consistency(&world, &model, seed)?;
//! +   shendu_distributed::broadcast_parameters(&world, &mut model);
//! -   let mut opt = Adam::new(1e-3);
//! +   let mut opt = DistributedOptimizer::new(Adam::new(1e-3), &world);
//! +   let sampler = DistributedSampler::for_world(&world, train.len(), 32, seed)?;
//!     for epoch in 0..epochs {
//! -       for batch in DataLoader::new(&train, 32).shuffle(&mut rng) {
//! +       for rows in sampler.epoch(epoch) {
//! +           let batch = train.select_rows(&rows);
//! -           let (loss, grads) = model.value_and_grad(|tape, m| /* mean loss */);
//! -           opt.step(&mut model, &grads);
//! +           let (loss, mut grads) = model.value_and_grad(|tape, m| /* mean loss */);
//! +           opt.step(&mut model, &mut grads, rows.len(), loss)?;
//!         }
//!     }
//! -   model.save(path)?;
//! +   shendu_distributed::save_checkpoint(&world, &model, path)?;
//! ```
//!
//! # Why the average is weighted by shard size
//!
//! Each rank's loss is the mean over its own rows. When the shards differ in size (the last,
//! shorter batch of an epoch), the plain mean of the ranks' gradients would weigh a row of the
//! short shard more than a row of a long one. Rank `r` sends `n_r · grad_r` and its row count
//! `n_r`; the sum divided by `N = Σ n_r` is the gradient of the mean loss over all `N` rows,
//! which is what one process computes on the whole global batch.
//!
//! # Faults
//!
//! - A rank that panics aborts the job (`MPI_Abort`, from the panic hook [`init`] installs)
//!   after printing `rank R of N panicked`: the others would otherwise wait forever in their
//!   next collective call. A rank that is killed is noticed by `mpirun`, which ends the job and
//!   names the rank. Either way a checkpoint being written is the old file or the new one: nn's
//!   atomic write renames a complete temporary file over it.
//! - Ranks started with different models or seeds fail [`check_consistency`] at start-up, every
//!   rank with the same error naming the first rank that differs from rank 0.
//! - A parameter with a gradient on some ranks but not others (a loss that uses it only
//!   sometimes) fails the step on every rank rather than letting the replicas drift apart.
//!
//! # Replicas stay equal
//!
//! Every rank receives the same bits from the all-reduce (MPI's sum is commutative, and Open
//! MPI's algorithms either reduce each element once and send the result around, or add in
//! pairs that both sides compute alike), applies the same optimizer to them, and so holds the
//! same parameters after every step; the tests check it bit for bit. Buffers that training
//! changes per rank (BatchNorm's running statistics, computed on each rank's shard) are not
//! averaged: call [`broadcast_parameters`] before evaluating or saving to take rank 0's.
//!
//! # At 8 and 64 machines (on paper)
//!
//! A ring all-reduce of `S` bytes over `n` ranks sends and receives `2(n−1)/n · S` bytes per
//! rank in `2(n−1)` steps, so it costs about `2(n−1)/n · S / B + 2(n−1) · α` for a link of
//! bandwidth `B` and a per-message latency `α`. The bandwidth term barely grows with `n` (it
//! tends to `2S/B`); the latency term grows linearly, which is why MPI libraries switch to
//! tree or recursive-doubling algorithms for small buffers and many ranks.
//!
//! W3's 235k f32 gradients are `S` ≈ 0.94 MB. On one machine, two ranks through shared memory
//! measured 0.40 ms per all-reduce (`examples/allreduce_speed.rs`, release build, a bus
//! bandwidth of about 2.4 GB/s on a 2-core machine shared with another job). Between machines, assuming 10 Gb/s Ethernet
//! (`B` ≈ 1.2 GB/s) and `α` ≈ 20 µs: at 8 machines 1.4 ms + 0.3 ms ≈ 1.7 ms, at 64 machines
//! 1.5 ms + 2.5 ms ≈ 4 ms per step. These figures are to be replaced by ones measured on a
//! real cluster.
//!
//! Overlap: today the all-reduce starts after the whole backward pass. Bucketing the gradients
//! as they become ready (the last layer's first, as DDP does with 25 MB buckets) and starting a
//! non-blocking all-reduce per bucket hides communication behind the rest of the backward pass,
//! so a step costs `max(compute, communication)` rather than their sum; that needs the tape to
//! report each parameter's gradient as it is finished, which it does not yet.

mod checkpoint;
mod error;
mod metrics;
mod optimizer;
mod params;
mod sampler;
mod world;

pub use checkpoint::{save_checkpoint, save_state};
pub use error::DistributedError;
pub use metrics::MetricSums;
pub use optimizer::{DistributedOptimizer, StepReport};
pub use params::{
    average_gradients, broadcast_parameters, check_consistency, GradientBuffer, Reduced,
};
pub use sampler::{shard, DistributedSampler};
pub use world::{init, MpiElement, World};
