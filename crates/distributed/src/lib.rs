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
//! # Speed on one machine
//!
//! `examples/w3_speed.rs` trains W3 (784→256→128→10, SGD, f32) with a global batch of 256 on one
//! rank and on two, each rank one thread on its own core, beside PyTorch's
//! `DistributedDataParallel` on gloo (`benches/reference_ddp.py`), in one run. On a 2-vCPU
//! Intel Xeon (Emerald Rapids, AVX-512), 7 rounds, medians [least–greatest]:
//!
//! | | samples/s |
//! | --- | --- |
//! | shendu, 1 rank | 94,037 [75,818–107,181] |
//! | shendu, 2 ranks | 104,380 [86,487–130,508] |
//! | shendu, 2 ranks that never communicate | 131,947 [107,740–181,887] |
//! | PyTorch, 1 process | 87,035 [57,986–95,109] |
//! | PyTorch DDP (gloo), 2 processes | 42,225 [36,025–43,889] |
//!
//! Two ranks train 2.77× [2.04–2.97] as many samples a second as PyTorch's DDP on two processes
//! (which trains at 0.46× its own single process), but only 1.16× [1.06–1.37] as many as one
//! rank. Two limits meet here. The machine's: two ranks that never communicate reach 1.64×
//! [1.40–1.71], since two busy cores of this virtual machine each compute slower than one alone
//! (a rank's 128 rows take 1.69 ms, against 1.36 for half of one rank's 256). And the
//! all-reduce's: a two-rank step of 2.45 ms is 1.69 ms of compute, 0.17 ms of packing, 0.54 ms
//! in the all-reduce call (waiting for the slower rank included) and 0.11 ms of update; the
//! all-reduce of the same 235k values alone, without waiting, takes 0.26 ms, 10% of the step.
//! With the slower AVX2 kernels (before AVX-512 was enabled in the GEMM) the step's compute was
//! 2.29 ms and two ranks reached 1.39× one, against a ceiling of 1.50×: the faster the compute,
//! the larger the all-reduce's share.
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
//! take 0.26 ms per all-reduce (above: a bus bandwidth of `2 · ½ · S / t` ≈ 3.7 GB/s, copies
//! made by the same two cores that compute). Between machines, assuming 10 Gb/s Ethernet
//! (`B` ≈ 1.2 GB/s) and `α` ≈ 20 µs:
//!
//! | machines | bandwidth term | latency term | all-reduce | share of a step |
//! | --- | --- | --- | --- | --- |
//! | 2 | 0.8 ms | 0.04 ms | 0.8 ms | 31% |
//! | 8 | 1.4 ms | 0.3 ms | 1.7 ms | 49% |
//! | 64 | 1.5 ms | 2.5 ms | 4.0 ms | 69% |
//!
//! (the share is of a step of this machine's 1.8 ms of compute and update for 128 rows per
//! rank, plus the all-reduce). So at 64 machines W3 with 128 rows per rank spends
//! more time communicating than computing: the global batch must grow with the machines (more
//! rows per rank), or the latency term shrink (a tree algorithm, which Open MPI picks by
//! itself for many ranks, costs `2 log₂ n · α` ≈ 0.24 ms at 64). These are estimates from a
//! formula and an assumed network, to be replaced by figures measured on a cluster.
//!
//! Overlap: today the all-reduce starts after the whole backward pass. Bucketing the gradients
//! as they become ready (the last layer's first, as DDP does with 25 MB buckets) and starting a
//! non-blocking all-reduce per bucket hides communication behind the rest of the backward pass,
//! so a step costs `max(compute, communication)` rather than their sum. For W3 little would
//! hide: the first layer holds 200k of the 235k values and its gradient is the backward pass's
//! last product. On one machine it would not help either, since the cores that compute are the
//! ones that copy. It needs the tape to report each parameter's gradient as it is finished,
//! which it does not yet.

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
