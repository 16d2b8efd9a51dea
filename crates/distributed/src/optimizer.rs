//! [`DistributedOptimizer`]: any nn optimizer, stepping on gradients averaged over all ranks.

use std::time::{Duration, Instant};

use shendu_autograd::Gradients;
use shendu_nn::{Module, Optimizer};

use crate::error::DistributedError;
use crate::params::{average_gradients, GradientBuffer, Reduced};
use crate::world::{MpiElement, World};

/// What one distributed step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// The rows of the global batch (all ranks' shards).
    pub global_rows: usize,
    /// The mean loss over the global batch.
    pub loss: f64,
    /// Time spent packing, all-reducing and unpacking the gradients: the step's communication,
    /// to set against its compute.
    pub communication: Duration,
    /// The part of `communication` inside the all-reduce call, waiting for the slowest rank
    /// included; the rest is packing and unpacking.
    pub all_reduce: Duration,
}

/// Wraps an nn [`Optimizer`] so that each step first averages the gradients over all ranks (one
/// all-reduce of every parameter packed into one buffer), then lets the inner optimizer update
/// the parameters. Every replica starts equal ([`broadcast_parameters`](crate::broadcast_parameters))
/// and applies the same update, so the replicas stay equal.
///
/// The inner optimizer keeps its state (momenta, moments) on every rank, each rank the same; its
/// `state_dict` from rank 0 is the run's.
pub struct DistributedOptimizer<'w, T: MpiElement, O: Optimizer<T>> {
    inner: O,
    world: &'w World,
    buffer: GradientBuffer<T>,
}

impl<'w, T: MpiElement, O: Optimizer<T>> DistributedOptimizer<'w, T, O> {
    /// `inner`, stepping on gradients averaged over the ranks of `world`.
    pub fn new(inner: O, world: &'w World) -> Self {
        DistributedOptimizer {
            inner,
            world,
            buffer: GradientBuffer::default(),
        }
    }

    /// Averages `grads` (the gradient of this rank's mean `loss` over its `shard_rows` rows)
    /// over all ranks, weighting each rank by its rows, then steps the inner optimizer with the
    /// result: the step one process would take on the whole global batch. Every rank must call
    /// it once per step.
    ///
    /// # Errors
    /// As [`average_gradients`](crate::average_gradients); the parameters are then left as
    /// they were, on every rank.
    pub fn step<M: Module<T>>(
        &mut self,
        model: &mut M,
        grads: &mut Gradients<T>,
        shard_rows: usize,
        loss: f64,
    ) -> Result<StepReport, DistributedError> {
        let start = Instant::now();
        let Reduced {
            global_rows,
            loss,
            all_reduce,
        } = average_gradients(self.world, model, grads, shard_rows, loss, &mut self.buffer)?;
        let communication = start.elapsed();
        self.inner.step(model, grads);
        Ok(StepReport {
            global_rows,
            loss,
            communication,
            all_reduce,
        })
    }

    /// The wrapped optimizer (its state, its groups).
    pub fn inner(&self) -> &O {
        &self.inner
    }

    /// The wrapped optimizer, to change a learning rate (a scheduler) the same way on every
    /// rank.
    pub fn inner_mut(&mut self) -> &mut O {
        &mut self.inner
    }

    /// The wrapped optimizer, unwrapped.
    pub fn into_inner(self) -> O {
        self.inner
    }
}
