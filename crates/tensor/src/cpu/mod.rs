//! The CPU kernels: everything that touches tensor elements in bulk lives behind this boundary,
//! so that another backend can sit beside it later.
//!
//! Parallel work is split into chunks whose size does not depend on the number of threads, so a
//! result is the same bit for bit in a pool of one thread or of many. Work below [`PAR_MIN`]
//! elements never enters the rayon pool: handing a tiny op to the pool costs more than doing it.

pub(crate) mod copy;
pub(crate) mod gemm;
pub(crate) mod index;
pub(crate) mod map;
pub(crate) mod math;
pub(crate) mod memory;
pub(crate) mod reduce;
pub(crate) mod walk;

/// Elementwise and reduction work of fewer elements than this runs on the calling thread.
pub(crate) const PAR_MIN: usize = 1 << 15;

/// The unit of parallel elementwise work, in elements.
pub(crate) const CHUNK: usize = 1 << 14;

/// Runs `task(i, chunk)` on the rayon pool for each chunk `i` of `size` elements of `out` (the
/// last one shorter).
///
/// The elementwise, reduction and batched-product kernels go through here with their loops
/// behind a `dyn` closure, so that rayon's splitting and joining is compiled once per element
/// type instead of once per kernel and closure: those copies were a quarter of a training
/// binary's code, and code counts in a process's resident memory. The indirect call costs one
/// jump per chunk, and a kernel only comes here with work enough for the pool (at least
/// [`PAR_MIN`] elements, or a batch of products above the small-product bound).
#[inline(never)]
pub(crate) fn par_for_each_chunk<U: Send>(
    out: &mut [U],
    size: usize,
    task: &(dyn Fn(usize, &mut [U]) + Sync),
) {
    use rayon::prelude::*;
    out.par_chunks_mut(size)
        .enumerate()
        .for_each(|(i, chunk)| task(i, chunk));
}
