//! Which rows each rank trains on: every rank draws the same seeded shuffle of the whole
//! dataset, cuts it into global batches, and takes its own contiguous part of each.
//!
//! The concatenation of the ranks' shards of a step, in rank order, is exactly that step's
//! global batch, so a run on N ranks sees the same batches as one process with the global batch
//! size (what the tests compare against). No rows travel: each rank reads its rows from its own
//! copy of the dataset.

use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::error::DistributedError;
use crate::world::World;

/// Each rank's shard of the same seeded shuffle, one epoch at a time.
///
/// A global batch of `b` rows is cut into `size` shards of `b / size` rows, the first `b % size`
/// ranks taking one row more: the shards differ by at most a row, and only in the last, shorter
/// batch when the global batch size is a multiple of the number of ranks. A final global batch
/// with fewer rows than ranks is dropped, as a rank with no rows has no mean loss.
///
/// ```
/// use shendu_distributed::DistributedSampler;
///
/// // 10 rows, global batches of 4, 2 ranks: batches of 4, 4 and 2 rows.
/// let rank0 = DistributedSampler::new(10, 4, 7, 0, 2)?;
/// let rank1 = DistributedSampler::new(10, 4, 7, 1, 2)?;
/// let (a, b) = (rank0.epoch(0), rank1.epoch(0));
/// assert_eq!(a.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
/// // Together the shards cover every row once.
/// let mut all: Vec<usize> = a.concat().into_iter().chain(b.concat()).collect();
/// all.sort();
/// assert_eq!(all, (0..10).collect::<Vec<_>>());
/// # Ok::<(), shendu_distributed::DistributedError>(())
/// ```
#[derive(Clone, Debug)]
pub struct DistributedSampler {
    rows: usize,
    global_batch: usize,
    seed: u64,
    rank: usize,
    size: usize,
}

impl DistributedSampler {
    /// A sampler of a dataset of `rows` rows in global batches of `global_batch` rows, shuffled
    /// from `seed`, for rank `rank` of `size`.
    ///
    /// # Errors
    /// If `global_batch` is smaller than `size` (some rank would get no rows), or `rank` is not
    /// below `size`.
    pub fn new(
        rows: usize,
        global_batch: usize,
        seed: u64,
        rank: usize,
        size: usize,
    ) -> Result<Self, DistributedError> {
        if size == 0 || rank >= size {
            return Err(DistributedError::Invalid(format!(
                "DistributedSampler: rank {rank} of {size} ranks"
            )));
        }
        if global_batch < size {
            return Err(DistributedError::Invalid(format!(
                "DistributedSampler: a global batch of {global_batch} rows cannot give each of \
                 {size} ranks a row"
            )));
        }
        Ok(DistributedSampler {
            rows,
            global_batch,
            seed,
            rank,
            size,
        })
    }

    /// [`DistributedSampler::new`] for this process's rank in `world`.
    ///
    /// # Errors
    /// As [`DistributedSampler::new`].
    pub fn for_world(
        world: &World,
        rows: usize,
        global_batch: usize,
        seed: u64,
    ) -> Result<Self, DistributedError> {
        Self::new(rows, global_batch, seed, world.rank(), world.size())
    }

    /// The global batches of epoch `epoch`, in order: the same on every rank (the rows of each
    /// step, all ranks together).
    pub fn global_batches(&self, epoch: u64) -> Vec<Vec<usize>> {
        // A seed per epoch, mixed so that nearby (seed, epoch) pairs give unrelated orders.
        let mix = self
            .seed
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(epoch.wrapping_mul(0xbf58_476d_1ce4_e5b9));
        let mut rng = StdRng::seed_from_u64(mix);
        let mut order: Vec<usize> = (0..self.rows).collect();
        // Fisher–Yates, as nn's DataLoader shuffles.
        for last in (1..self.rows).rev() {
            order.swap(last, rng.random_range(0..=last));
        }
        order
            .chunks(self.global_batch)
            .filter(|batch| batch.len() >= self.size)
            .map(<[usize]>::to_vec)
            .collect()
    }

    /// This rank's rows of each step of epoch `epoch`.
    pub fn epoch(&self, epoch: u64) -> Vec<Vec<usize>> {
        self.global_batches(epoch)
            .iter()
            .map(|batch| {
                let range = shard(batch.len(), self.rank, self.size);
                batch[range].to_vec()
            })
            .collect()
    }

    /// The number of steps in one epoch (the same on every rank).
    pub fn steps(&self) -> usize {
        let full = self.rows / self.global_batch;
        full + usize::from(self.rows % self.global_batch >= self.size)
    }
}

/// The rows `start..end` of a batch of `rows` rows that rank `rank` of `size` takes.
pub fn shard(rows: usize, rank: usize, size: usize) -> std::ops::Range<usize> {
    let (base, extra) = (rows / size, rows % size);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_a_batch_in_rank_order_and_differ_by_at_most_one_row() {
        for rows in 0..40 {
            for size in 1..6 {
                let ranges: Vec<_> = (0..size).map(|r| shard(rows, r, size)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[size - 1].end, rows);
                assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
                let lens: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
                assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1);
            }
        }
    }

    #[test]
    fn the_ranks_shards_are_the_global_batches_of_one_shuffle() {
        let (rows, batch, size) = (103, 10, 3);
        let samplers: Vec<_> = (0..size)
            .map(|r| DistributedSampler::new(rows, batch, 5, r, size).unwrap())
            .collect();
        for epoch in 0..3 {
            let global = samplers[0].global_batches(epoch);
            // 10 full batches and 3 rows: one for each rank.
            assert_eq!(global.len(), 11);
            assert_eq!(samplers[0].steps(), 11);
            let shards: Vec<_> = samplers.iter().map(|s| s.epoch(epoch)).collect();
            for (step, batch) in global.iter().enumerate() {
                let joined: Vec<usize> = shards.iter().flat_map(|s| s[step].clone()).collect();
                assert_eq!(&joined, batch);
            }
            let mut all: Vec<usize> = global.concat();
            all.sort_unstable();
            assert_eq!(all, (0..rows).collect::<Vec<_>>());
        }
        // Same seed, same order; another epoch or seed, another.
        assert_eq!(samplers[1].epoch(1), samplers[1].epoch(1));
        assert_ne!(samplers[0].global_batches(0), samplers[0].global_batches(1));
        let other = DistributedSampler::new(rows, batch, 6, 0, size).unwrap();
        assert_ne!(other.global_batches(0), samplers[0].global_batches(0));
    }

    #[test]
    fn a_last_batch_too_small_to_share_is_dropped_and_bad_arguments_are_errors() {
        // 21 rows in batches of 10 on 2 ranks: the last row alone cannot be shared.
        let sampler = DistributedSampler::new(21, 10, 0, 0, 2).unwrap();
        assert_eq!(sampler.steps(), 2);
        assert_eq!(sampler.epoch(0).len(), 2);
        assert!(DistributedSampler::new(10, 1, 0, 0, 2).is_err());
        assert!(DistributedSampler::new(10, 4, 0, 2, 2).is_err());
        assert!(DistributedSampler::new(10, 4, 0, 0, 0).is_err());
    }
}
