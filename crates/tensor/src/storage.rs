//! Tensor storage: a shared buffer, and the pool that recycles large buffers.
//!
//! A fresh multi-megabyte allocation comes from the kernel as untouched pages, and the first write
//! to each page faults: for a memory-bound op such as `a + b` on 2^24 elements that costs about as
//! much as the arithmetic. Buffers of at least [`POOL_MIN_BYTES`] therefore go back to a pool when
//! their last tensor is dropped, and the next allocation of the same length takes one from there,
//! already mapped. The pool is bounded ([`POOL_MAX_BYTES`] in all), so it never holds more than a
//! few recently freed results. A fresh pooled buffer also asks the kernel for transparent huge
//! pages, as NumPy does for its large arrays: 512 times fewer page faults and TLB entries.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::element::Element;

/// Buffers smaller than this go straight to and from the allocator: they are cheap to allocate
/// and the allocator keeps them mapped.
const POOL_MIN_BYTES: usize = 1 << 20;

/// Buffers smaller than this are allocated and then zeroed rather than allocated zeroed. glibc's
/// `calloc` bypasses the per-thread cache that `malloc` serves small blocks from, and a small
/// model's step allocates dozens of small outputs: a 10×8 `zeros` costs 150 ns through `calloc`
/// against 120 through `malloc` and a fill. A larger block may come as fresh pages from the
/// kernel, already zero, which only `calloc` knows to skip; 128 KiB is glibc's default threshold
/// for those.
const CALLOC_MIN_BYTES: usize = 128 << 10;

/// The most memory the pool of one element type keeps for reuse.
const POOL_MAX_BYTES: usize = 256 << 20;

/// How many buffers of one length the pool keeps.
const POOL_MAX_PER_LEN: usize = 4;

/// Recycles large buffers of one element type; see the module documentation.
///
/// Not part of the public API: this module is private and nothing re-exports the type, and
/// every method is crate-private. It is declared `pub` only because the sealed half of
/// `Element` returns it, and a sealed trait's items count as reachable from outside; outside
/// the crate it cannot be named, and nothing can be done with it.
pub struct BufferPool<T> {
    free: Mutex<Option<PoolState<T>>>,
}

struct PoolState<T> {
    by_len: HashMap<usize, Vec<Vec<T>>>,
    bytes: usize,
}

impl<T: Element> BufferPool<T> {
    /// An empty pool (a `const fn`, for statics).
    pub(crate) const fn new() -> Self {
        BufferPool {
            free: Mutex::new(None),
        }
    }

    fn is_pooled(len: usize) -> bool {
        // Saturating: a length too large to allocate must not wrap around to a small one.
        len.saturating_mul(size_of::<T>()) >= POOL_MIN_BYTES
    }

    /// A buffer of exactly `len` elements whose contents are unspecified: the caller overwrites
    /// every element.
    pub(crate) fn take(&self, len: usize) -> Vec<T> {
        if Self::is_pooled(len) {
            let mut guard = self.free.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(state) = guard.as_mut()
                && let Some(buf) = state.by_len.get_mut(&len).and_then(Vec::pop)
            {
                state.bytes -= len * size_of::<T>();
                return buf;
            }
        }
        if len.saturating_mul(size_of::<T>()) < CALLOC_MIN_BYTES {
            let mut buf = Vec::with_capacity(len);
            buf.resize(len, T::zero());
            return buf;
        }
        let buf = vec![T::zero(); len];
        if Self::is_pooled(len) {
            crate::cpu::memory::advise_huge_pages(&buf);
        }
        buf
    }

    /// Keeps `buf` for reuse if it is large and the pool has room; drops it otherwise.
    pub(crate) fn give(&self, buf: Vec<T>) {
        let len = buf.len();
        if !Self::is_pooled(len) || buf.capacity() != len {
            return;
        }
        let bytes = len * size_of::<T>();
        let mut guard = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let state = guard.get_or_insert_with(|| PoolState {
            by_len: HashMap::new(),
            bytes: 0,
        });
        let slot = state.by_len.entry(len).or_default();
        if slot.len() < POOL_MAX_PER_LEN && state.bytes + bytes <= POOL_MAX_BYTES {
            slot.push(buf);
            state.bytes += bytes;
        }
    }
}

/// The elements behind one or more tensors. Dropping the last reference hands a large buffer
/// back to the pool.
pub(crate) struct Storage<T: Element> {
    data: Vec<T>,
}

impl<T: Element> Storage<T> {
    pub(crate) fn new(data: Vec<T>) -> Self {
        Storage { data }
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        &self.data
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }
}

impl<T: Element> Drop for Storage<T> {
    fn drop(&mut self) {
        T::pool().give(std::mem::take(&mut self.data));
    }
}

/// A buffer of `len` elements with unspecified contents, to be overwritten by a kernel.
pub(crate) fn output_buffer<T: Element>(len: usize) -> Vec<T> {
    T::pool().take(len)
}
