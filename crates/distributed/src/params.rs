//! A model's parameters across ranks: making the replicas equal at the start (broadcast from
//! rank 0), checking at start-up that the ranks were configured alike, and averaging each step's
//! gradients in one all-reduce.
//!
//! Parameters are walked in the model's visit order, which is the same on every rank for the
//! same model: that order is the layout of the packed buffer, so no names travel. A tied
//! parameter (one [`Param`](shendu_nn::Param) shown under two names) is packed once.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use shendu_autograd::{Gradients, ParamId};
use shendu_nn::{Entry, EntryMut, Module, Visit, VisitMut};
use shendu_tensor::Tensor;

use crate::error::DistributedError;
use crate::world::{MpiElement, World};

/// One parameter as the packed buffer lays it out.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub(crate) name: String,
    pub(crate) id: ParamId,
    pub(crate) shape: Vec<usize>,
    pub(crate) trainable: bool,
    /// Where its values start in the packed buffer.
    pub(crate) offset: usize,
    pub(crate) len: usize,
}

/// The model's parameters in visit order, each once, with their offsets in a packed buffer.
pub(crate) fn slots<T: MpiElement, M: Module<T> + ?Sized>(model: &M) -> Vec<Slot> {
    let mut seen = HashSet::new();
    let mut slots = Vec::new();
    let mut offset = 0;
    model.visit(&mut Visit::new(&mut |name, entry| {
        if let Entry::Param(p) = entry
            && seen.insert(p.id())
        {
            let len = p.value().numel();
            slots.push(Slot {
                name: name.to_string(),
                id: p.id(),
                shape: p.value().shape().to_vec(),
                trainable: p.is_trainable(),
                offset,
                len,
            });
            offset += len;
        }
    }));
    slots
}

/// Makes every rank's model equal to rank 0's: every parameter, trainable or frozen, and every
/// buffer (BatchNorm's running statistics), packed into one buffer and sent in one broadcast.
/// Call it once after building the model (each rank may have drawn different initial weights)
/// and after loading a checkpoint on rank 0 alone.
///
/// Counters (BatchNorm's `num_batches_tracked`) are left alone: every rank counts the same
/// steps.
pub fn broadcast_parameters<T: MpiElement, M: Module<T> + ?Sized>(world: &World, model: &mut M) {
    let mut packed: Vec<T> = Vec::new();
    let mut seen = HashSet::new();
    model.visit(&mut Visit::new(&mut |_, entry| match entry {
        Entry::Param(p) if seen.insert(p.id()) => packed.extend(p.value().to_vec()),
        Entry::Buffer(b) => packed.extend(b.to_vec()),
        _ => {}
    }));
    if world.size() == 1 {
        return;
    }
    world.broadcast(&mut packed);
    let mut offset = 0;
    let mut seen = HashSet::new();
    // Straight into each tensor's storage: one copy, not a temporary tensor and a second copy.
    let mut take = |t: &mut Tensor<T>| {
        let values = t.as_mut_slice();
        values.copy_from_slice(&packed[offset..offset + values.len()]);
        offset += values.len();
    };
    model.visit_mut(&mut VisitMut::new(&mut |_, entry| match entry {
        EntryMut::Param(p) if seen.insert(p.id()) => take(p.value_mut()),
        EntryMut::Buffer(b) => take(b),
        _ => {}
    }));
}

/// FNV-1a, 64 bits: a hash that is the same in every process and on every machine (std's
/// `DefaultHasher` makes no such promise across builds).
fn fnv1a(bytes: &[u8], mut hash: u64) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Checks that every rank was started with the same configuration: the same parameter names,
/// shapes and trainability (in the same order), the same element type, and the same `seed`
/// (the one the ranks' shuffles must share). Call it at start-up, before training: a mismatch
/// found later would have been trained on.
///
/// # Errors
/// [`DistributedError::Mismatch`] on every rank, naming the first rank that differs from rank 0
/// and what differs (the same error on every rank, so that all stop).
pub fn check_consistency<T: MpiElement, M: Module<T> + ?Sized>(
    world: &World,
    model: &M,
    seed: u64,
) -> Result<(), DistributedError> {
    let slots = slots(model);
    let mut hash = fnv1a(T::NAME.as_bytes(), 0xcbf2_9ce4_8422_2325);
    for s in &slots {
        hash = fnv1a(s.name.as_bytes(), hash);
        hash = fnv1a(&[0, u8::from(s.trainable)], hash);
        for &d in &s.shape {
            hash = fnv1a(&(d as u64).to_le_bytes(), hash);
        }
    }
    let count = slots.len() as u64;
    let values = slots.iter().map(|s| s.len as u64).sum::<u64>();
    let mine = [hash, count, values, seed];
    let all = world.all_gather(&mine);
    let root = &all[..4];
    for (rank, theirs) in all.chunks(4).enumerate().skip(1) {
        let what = if theirs[0] != root[0] {
            Some(format!(
                "its parameters (names, shapes, element type) differ: {} parameters of {} values \
                 on rank {rank}, {} parameters of {} values on rank 0",
                theirs[1], theirs[2], root[1], root[2]
            ))
        } else if theirs[3] != root[3] {
            Some(format!(
                "its seed is {}, rank 0's is {}: the ranks' shuffles would not be shards of one \
                 order",
                theirs[3], root[3]
            ))
        } else {
            None
        };
        if let Some(what) = what {
            return Err(DistributedError::Mismatch {
                rank: rank as i32,
                what,
            });
        }
    }
    Ok(())
}

/// What one gradient all-reduce found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reduced {
    /// The rows of the global batch: the sum of the ranks' shard sizes.
    pub global_rows: usize,
    /// The mean loss over the global batch (each rank's mean loss weighted by its shard size).
    pub loss: f64,
    /// The time in the all-reduce call itself, waiting for the slowest rank included (zero on
    /// one rank): the rest of the call's time is packing and unpacking.
    pub all_reduce: Duration,
}

/// A reusable packed buffer for [`average_gradients`], so that a training loop allocates it
/// once.
#[derive(Debug, Default)]
pub struct GradientBuffer<T> {
    send: Vec<T>,
    receive: Vec<T>,
}

/// Replaces `grads` on every rank with the gradient of the mean loss over the global batch, in
/// one all-reduce.
///
/// Each rank's `grads` is the gradient of its mean loss over its own shard of `shard_rows` rows
/// (`loss`, that mean, is reduced alongside). Rank r packs `shard_rows_r · grad_r` for every
/// trainable parameter into one buffer, plus, per parameter, a 1 if it has a gradient, plus its
/// row count and `shard_rows_r · loss_r`; one all-reduce sums the buffers; dividing by the summed
/// rows `N` gives `Σ_r n_r·grad_r / N`, the gradient of the mean loss over all `N` rows, which is
/// what one process computes on the whole global batch (up to the grouping of the sums), also
/// when the shards are uneven (the last batch).
///
/// # Errors
/// [`DistributedError::EmptyShard`] if `shard_rows` is 0 on this rank;
/// [`DistributedError::UnevenGradients`] if some ranks have a gradient for a parameter that
/// others lack (returned on every rank, so that all stop).
pub fn average_gradients<T: MpiElement, M: Module<T> + ?Sized>(
    world: &World,
    model: &M,
    grads: &mut Gradients<T>,
    shard_rows: usize,
    loss: f64,
    buffer: &mut GradientBuffer<T>,
) -> Result<Reduced, DistributedError> {
    if world.size() == 1 {
        // The weighted average over one shard is the shard's own gradient: no pass over it, so
        // that one rank costs what one process without this crate costs.
        if shard_rows == 0 {
            return Err(DistributedError::EmptyShard {
                ranks: 1,
                this_rank: true,
            });
        }
        return Ok(Reduced {
            global_rows: shard_rows,
            loss,
            all_reduce: Duration::ZERO,
        });
    }
    let slots = trainable_slots(model);
    let values = slots.iter().map(|s| s.len).sum::<usize>();
    // Layout: the weighted gradients, one presence flag per parameter, then the rows, the
    // weighted loss and the number of ranks with an empty shard.
    let (flags, rows_at) = (values, values + slots.len());
    let n = rows_at + 3;
    let weight = T::from_usize(shard_rows).expect("a row count is a float");
    let send = &mut buffer.send;
    send.clear();
    if shard_rows == 0 {
        // Still take part in the all-reduce, so that no rank blocks waiting for this one; the
        // last element tells all of them to fail.
        send.resize(n, T::zero());
        send[n - 1] = T::one();
    } else {
        for s in &slots {
            match grads.param(s.id) {
                // Straight from the gradient's storage when it is contiguous (it nearly always
                // is): one pass, scaling as it copies.
                Some(g) => match g.as_slice() {
                    Some(values) => send.extend(values.iter().map(|&v| v * weight)),
                    None => send.extend(g.to_vec().into_iter().map(|v| v * weight)),
                },
                None => send.extend(std::iter::repeat_n(T::zero(), s.len)),
            }
        }
        send.extend(slots.iter().map(|s| {
            if grads.param(s.id).is_some() {
                T::one()
            } else {
                T::zero()
            }
        }));
        send.push(weight);
        send.push(T::from_f64(loss * shard_rows as f64).expect("a loss is a float"));
        send.push(T::zero());
    }
    // Every element is overwritten by the all-reduce: no need to zero it each step.
    buffer.receive.resize(n, T::zero());
    let start = Instant::now();
    world.all_reduce_sum(send, &mut buffer.receive)?;
    let all_reduce = start.elapsed();
    let sum = &buffer.receive;
    let empty = sum[n - 1].to_usize().unwrap_or(0);
    if empty > 0 {
        return Err(DistributedError::EmptyShard {
            ranks: empty,
            this_rank: shard_rows == 0,
        });
    }
    let size = world.size();
    for (k, s) in slots.iter().enumerate() {
        let ranks_with = sum[flags + k].to_usize().unwrap_or(0);
        if ranks_with != 0 && ranks_with != size {
            return Err(DistributedError::UnevenGradients {
                name: s.name.clone(),
                ranks_with,
                size,
            });
        }
    }
    let global = sum[rows_at];
    let global_rows = global.to_usize().unwrap_or(0);
    let loss = sum[rows_at + 1].to_f64().unwrap_or(f64::NAN) / global_rows as f64;
    let by_id: HashMap<ParamId, &Slot> = slots.iter().map(|s| (s.id, s)).collect();
    for (id, g) in grads.iter_mut() {
        if let Some(s) = by_id.get(&id) {
            let mean = sum[s.offset..s.offset + s.len].iter().map(|&v| v / global);
            if g.is_contiguous() && g.shape() == s.shape.as_slice() {
                // In place, in one pass (copied first only if something else shares it).
                for (d, m) in g.as_mut_slice().iter_mut().zip(mean) {
                    *d = m;
                }
            } else {
                *g = Tensor::from_vec(mean.collect(), s.shape.clone());
            }
        }
    }
    Ok(Reduced {
        global_rows,
        loss,
        all_reduce,
    })
}

/// The trainable parameters' slots, with offsets in a buffer of trainable parameters only (a
/// frozen parameter has no gradient to send).
fn trainable_slots<T: MpiElement, M: Module<T> + ?Sized>(model: &M) -> Vec<Slot> {
    let mut offset = 0;
    slots(model)
        .into_iter()
        .filter(|s| s.trainable)
        .map(|mut s| {
            s.offset = offset;
            offset += s.len;
            s
        })
        .collect()
}
