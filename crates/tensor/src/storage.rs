//! Tensor storage: one shared allocation per tensor, and the pool that recycles large ones.
//!
//! A tensor's elements live in an `Arc<[T]>`: the reference counts and the elements share one
//! allocation. A small model's step makes dozens of small tensors, and a second allocation for
//! the counts (an `Arc` around a `Vec`) was a third of all the allocations such a step made.
//!
//! A kernel writes its result into a [`Buffer`], which is the future storage, still unshared;
//! no copy happens when it becomes a tensor. A kernel that writes every element starts from an
//! [`UninitBuffer`] instead, and skips the zeros a `Buffer` is first filled with.
//!
//! A fresh multi-megabyte allocation comes from the kernel as untouched pages, and the first write
//! to each page faults: for a memory-bound op such as `a + b` on 2^24 elements that costs about as
//! much as the arithmetic. Buffers of at least [`POOL_MIN_BYTES`] therefore go back to a pool when
//! their last tensor is dropped, and the next allocation of the same length takes one from there,
//! already mapped. The pool is bounded ([`POOL_MAX_BYTES`] in all), so it never holds more than a
//! few recently freed results. A fresh pooled buffer also asks the kernel for transparent huge
//! pages, as NumPy does for its large arrays: 512 times fewer page faults and TLB entries.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use crate::element::Element;

/// Buffers smaller than this go straight to and from the allocator: they are cheap to allocate
/// and the allocator keeps them mapped.
const POOL_MIN_BYTES: usize = 1 << 20;

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
    /// Every buffer here has no other owner.
    by_len: HashMap<usize, Vec<Arc<[T]>>>,
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

    /// A buffer of exactly `len` elements, not yet written, or holding old values when it is
    /// a reused one.
    fn take(&self, len: usize) -> UninitBuffer<T> {
        if Self::is_pooled(len) {
            let mut guard = self.free.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(state) = guard.as_mut()
                && let Some(mut buf) = state.by_len.get_mut(&len).and_then(Vec::pop)
            {
                state.bytes -= len * size_of::<T>();
                let elements = Arc::get_mut(&mut buf).expect("a pooled buffer has one owner");
                // `MaybeUninit<T>` has the layout of `T`; writes through it store values of `T`.
                let elements = NonNull::from(elements);
                let elements = NonNull::slice_from_raw_parts(elements.cast(), elements.len());
                return UninitBuffer {
                    slots: Slots::Reused(buf),
                    elements,
                };
            }
        }
        let mut fresh = Arc::<[T]>::new_uninit_slice(len);
        let slots = Arc::get_mut(&mut fresh).expect("a fresh allocation has one owner");
        if Self::is_pooled(len) {
            // Before the first write, which maps the pages.
            crate::cpu::memory::advise_huge_pages(slots);
        }
        let elements = NonNull::from(slots);
        UninitBuffer {
            slots: Slots::Fresh(fresh),
            elements,
        }
    }

    /// Keeps `buf`, which has no other owner, for reuse if it is large and the pool has room;
    /// drops it otherwise.
    fn give(&self, buf: Arc<[T]>) {
        let len = buf.len();
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

/// The elements behind one or more tensors. Cloning shares them; dropping the last owner of a
/// large buffer hands it back to the pool.
pub(crate) struct Storage<T: Element> {
    data: Arc<[T]>,
}

impl<T: Element> Storage<T> {
    /// Storage holding a copy of `data`.
    pub(crate) fn copy_of(data: &[T]) -> Self {
        Storage {
            data: Arc::from(data),
        }
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// The elements, if no other tensor shares them.
    pub(crate) fn get_mut(&mut self) -> Option<&mut [T]> {
        Arc::get_mut(&mut self.data)
    }

    /// How many tensors share these elements.
    pub(crate) fn owners(&self) -> usize {
        Arc::strong_count(&self.data)
    }

    /// Whether `self` and `other` are the same elements.
    pub(crate) fn same_as(&self, other: &Storage<T>) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
    }
}

impl<T: Element> Clone for Storage<T> {
    fn clone(&self) -> Self {
        Storage {
            data: Arc::clone(&self.data),
        }
    }
}

impl<T: Element> Drop for Storage<T> {
    fn drop(&mut self) {
        // Two owners dropped on two threads at once may each see the other and skip the pool:
        // a buffer missed by the pool, never one pooled while still in use.
        if BufferPool::<T>::is_pooled(self.data.len()) && Arc::get_mut(&mut self.data).is_some() {
            let buf = std::mem::replace(&mut self.data, Arc::from([]));
            T::pool().give(buf);
        }
    }
}

/// A fresh buffer of `len` elements that a kernel fills before it becomes a tensor's storage.
/// The contents are unspecified: the caller overwrites every element.
pub(crate) fn output_buffer<T: Element>(len: usize) -> Buffer<T> {
    let mut buf = uninit_buffer(len);
    if let Slots::Fresh(_) = buf.slots {
        // Zeros, though the kernel overwrites them, so that no element is ever uninitialized.
        // `Arc::new_zeroed_slice` would let the allocator skip that for fresh pages, but it
        // needs Rust 1.92; a fresh pooled buffer is filled once and then reused.
        for slot in buf.iter_mut() {
            slot.write(T::zero());
        }
    }
    // SAFETY: a fresh buffer was filled above; a reused one holds the values of its last use.
    unsafe { buf.assume_init() }
}

/// A fresh buffer of `len` elements not yet written, for a kernel that writes every element: it
/// skips the zeros that [`output_buffer`] writes first, a pass over the memory as long as the
/// kernel's own for a product or a copy.
pub(crate) fn uninit_buffer<T: Element>(len: usize) -> UninitBuffer<T> {
    T::pool().take(len)
}

/// A kernel's output before its elements are written: see [`uninit_buffer`].
pub(crate) struct UninitBuffer<T: Element> {
    slots: Slots<T>,
    /// The elements of `slots`, taken from `Arc::get_mut` when it had one owner. `slots` is
    /// never cloned or read while the buffer lives, so this stays the only path to them.
    elements: NonNull<[MaybeUninit<T>]>,
}

/// Where an [`UninitBuffer`]'s elements live.
enum Slots<T> {
    /// A new allocation, its elements uninitialized until written.
    Fresh(Arc<[MaybeUninit<T>]>),
    /// A buffer from the pool, holding the values of its last use.
    Reused(Arc<[T]>),
}

// SAFETY: as for `Buffer` below: it owns its elements alone.
unsafe impl<T: Element> Send for UninitBuffer<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Element> Sync for UninitBuffer<T> {}

impl<T: Element> UninitBuffer<T> {
    /// The written buffer.
    ///
    /// # Safety
    /// Every element must have been written with a value since the buffer was made.
    pub(crate) unsafe fn assume_init(self) -> Buffer<T> {
        let data = match self.slots {
            // SAFETY: the caller has written every element.
            Slots::Fresh(fresh) => unsafe { fresh.assume_init() },
            Slots::Reused(reused) => reused,
        };
        // The same elements, now read as `T`; `data` has moved but its allocation has not.
        let elements = NonNull::slice_from_raw_parts(self.elements.cast(), self.elements.len());
        Buffer { data, elements }
    }
}

impl<T: Element> Deref for UninitBuffer<T> {
    type Target = [MaybeUninit<T>];

    fn deref(&self) -> &[MaybeUninit<T>] {
        // SAFETY: as in `Buffer::deref`.
        unsafe { self.elements.as_ref() }
    }
}

impl<T: Element> DerefMut for UninitBuffer<T> {
    fn deref_mut(&mut self) -> &mut [MaybeUninit<T>] {
        // SAFETY: as in `Buffer::deref_mut`.
        unsafe { self.elements.as_mut() }
    }
}

/// A kernel's output before it becomes a tensor: storage that nothing else owns yet, written
/// through `&mut [T]` like a `Vec`.
pub(crate) struct Buffer<T: Element> {
    data: Arc<[T]>,
    /// `data`'s elements, taken from `Arc::get_mut` when `data` had one owner. `data` is never
    /// cloned or read while the buffer lives, so this stays the only path to them; keeping it
    /// spares each write access the atomic check that `Arc::get_mut` makes.
    elements: NonNull<[T]>,
}

// SAFETY: a `Buffer` owns its elements alone, like a `Vec<T>`: sending it sends that ownership,
// and sharing `&Buffer` gives only `&[T]`. `Element` types are `Send + Sync`.
unsafe impl<T: Element> Send for Buffer<T> {}
// SAFETY: as for `Send` above.
unsafe impl<T: Element> Sync for Buffer<T> {}

impl<T: Element> Buffer<T> {
    fn new(mut data: Arc<[T]>) -> Self {
        let elements =
            NonNull::from(Arc::get_mut(&mut data).expect("a fresh buffer has one owner"));
        Buffer { data, elements }
    }

    /// A buffer holding a copy of `data`.
    pub(crate) fn copy_of(data: &[T]) -> Self {
        Buffer::new(Arc::from(data))
    }

    /// The buffer as a tensor's storage, without a copy.
    pub(crate) fn into_storage(self) -> Storage<T> {
        Storage { data: self.data }
    }
}

impl<T: Element> Deref for Buffer<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        // SAFETY: `elements` points at the live elements of `data`, which `self` owns alone (see
        // the field); `&self` rules out a `&mut` to them for the returned lifetime.
        unsafe { self.elements.as_ref() }
    }
}

impl<T: Element> DerefMut for Buffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only reference for its lifetime.
        unsafe { self.elements.as_mut() }
    }
}

impl<T: Element> std::fmt::Debug for Buffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lengths whose buffers the pool keeps, each allocated by one test only (tests run in
    /// parallel, and share the pool), so that the pool's entries for it are that test's alone.
    const POOLED_LEN: usize = (POOL_MIN_BYTES / size_of::<f64>()) + 7;
    const POOLED_LEN_THREADS: usize = POOLED_LEN + 1;

    #[test]
    fn a_buffer_reads_back_what_was_written_through_it() {
        // The unsafe `Deref`/`DerefMut` pair against the safe path: the same writes through a
        // `Vec`, and the storage read back through the `Arc` after `into_storage`.
        for len in [0, 1, 5, 80, 4099] {
            let mut buf = output_buffer::<f32>(len);
            let mut safe = vec![0.0f32; len];
            for (i, (b, s)) in buf.iter_mut().zip(&mut safe).enumerate() {
                *b = i as f32 * 0.5 - 3.0;
                *s = i as f32 * 0.5 - 3.0;
            }
            buf[len / 2..].reverse();
            safe[len / 2..].reverse();
            assert_eq!(&*buf, &safe[..]);
            let address = buf.as_ptr();
            let storage = buf.into_storage();
            assert_eq!(storage.as_slice(), &safe[..], "length {len}");
            assert_eq!(storage.as_slice().as_ptr(), address, "no copy into storage");
        }
    }

    #[test]
    fn a_copied_buffer_has_the_source_elements() {
        let source = [1.0f64, -0.0, f64::NAN, f64::INFINITY];
        let buf = Buffer::copy_of(&source);
        let bits = |xs: &[f64]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&buf), bits(&source));
        assert_eq!(bits(Storage::copy_of(&source).as_slice()), bits(&source));
    }

    #[test]
    fn a_buffer_moves_to_another_thread() {
        let mut buf = output_buffer::<f64>(1000);
        buf.fill(2.5);
        let storage = std::thread::spawn(move || {
            buf[0] = -1.0;
            buf.into_storage()
        })
        .join()
        .unwrap();
        assert_eq!(storage.as_slice()[..2], [-1.0, 2.5]);
        assert!(storage.as_slice()[1..].iter().all(|&x| x == 2.5));
    }

    #[test]
    fn the_last_owner_of_a_large_buffer_returns_it_and_a_shared_one_stays_put() {
        let mut buf = output_buffer::<f64>(POOLED_LEN);
        buf.fill(4.0);
        let first = buf.into_storage();
        let address = first.as_slice().as_ptr();
        let second = first.clone();
        assert_eq!(second.owners(), 2);
        // Dropping one of two owners must not pool the buffer: `second` still reads it.
        drop(first);
        let other = output_buffer::<f64>(POOLED_LEN);
        assert_ne!(
            other.as_ptr(),
            address,
            "a buffer in use was handed out again"
        );
        assert!(second.as_slice().iter().all(|&x| x == 4.0));
        drop(other);
        drop(second);
        // Now the pool holds both, `second`'s last; the next take reuses it.
        let reused = output_buffer::<f64>(POOLED_LEN);
        assert_eq!(reused.as_ptr(), address);
        assert_eq!(reused.len(), POOLED_LEN);
    }

    #[test]
    fn a_small_storage_is_not_pooled() {
        assert!(!BufferPool::<f32>::is_pooled(80));
        assert!(BufferPool::<f32>::is_pooled(POOL_MIN_BYTES / 4));
        // A length whose byte count overflows is pooled-sized, not small after wrapping.
        assert!(BufferPool::<f64>::is_pooled(usize::MAX / 4));
    }

    #[test]
    fn owners_dropping_on_many_threads_never_free_a_buffer_in_use() {
        // Clones of one large storage dropped on four threads while the main thread keeps one:
        // whatever the interleaving, the kept owner's elements stay intact.
        for round in 0..8 {
            let mut buf = output_buffer::<f64>(POOLED_LEN_THREADS);
            buf.fill(round as f64);
            let kept = buf.into_storage();
            let clones: Vec<_> = (0..4).map(|_| kept.clone()).collect();
            std::thread::scope(|scope| {
                for clone in clones {
                    scope.spawn(move || {
                        // Take and fill buffers of the same length while dropping the clone, so
                        // a wrongly pooled buffer would be overwritten.
                        let mut fresh = output_buffer::<f64>(POOLED_LEN_THREADS);
                        drop(clone);
                        fresh.fill(-1.0);
                    });
                }
            });
            assert_eq!(kept.owners(), 1);
            assert!(kept.as_slice().iter().all(|&x| x == round as f64));
        }
    }
}
