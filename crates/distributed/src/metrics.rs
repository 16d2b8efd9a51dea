//! Loss and accuracy over all ranks: each rank sums over its own rows, one all-reduce adds the
//! sums up, and every rank divides by the total count (a mean of the ranks' means would weigh a
//! short shard as much as a full one).

use crate::error::DistributedError;
use crate::world::World;

/// Sums over some rows, to be added up across ranks with [`MetricSums::reduce`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MetricSums {
    /// The sum of the per-row losses (a mean loss times its row count).
    pub loss_sum: f64,
    /// How many rows were classified right.
    pub correct: f64,
    /// How many rows.
    pub count: f64,
}

impl MetricSums {
    /// Adds a batch of `rows` rows whose mean loss is `mean_loss`, of which `correct` were
    /// classified right.
    pub fn add(&mut self, mean_loss: f64, correct: usize, rows: usize) {
        self.loss_sum += mean_loss * rows as f64;
        self.correct += correct as f64;
        self.count += rows as f64;
    }

    /// The sums over every rank's rows, on every rank (one all-reduce of three numbers).
    ///
    /// # Errors
    /// Only if MPI's buffers disagree, which cannot happen here.
    pub fn reduce(&self, world: &World) -> Result<MetricSums, DistributedError> {
        let mut all = [0.0; 3];
        world.all_reduce_sum(&[self.loss_sum, self.correct, self.count], &mut all)?;
        Ok(MetricSums {
            loss_sum: all[0],
            correct: all[1],
            count: all[2],
        })
    }

    /// The mean loss per row (NaN with no rows).
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.count
    }

    /// The fraction classified right (NaN with no rows).
    pub fn accuracy(&self) -> f64 {
        self.correct / self.count
    }
}
