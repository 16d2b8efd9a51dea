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
//! much as the arithmetic. Buffers of at least [`POOL_MIN_BYTES`] (64 KiB) therefore go back to a
//! pool when their last tensor is dropped, and the next allocation of the same length takes one
//! from there, already mapped; below 1 MiB the allocator would give the pages back on `free` too,
//! and the pool keeps a few of those ([`POOL_MID_BYTES`]). The pool is bounded
//! ([`POOL_MAX_BYTES`] in all), so it never holds more than a few recently freed results. A fresh pooled buffer also asks the kernel for transparent huge
//! pages, as NumPy does for its large arrays: 512 times fewer page faults and TLB entries.
//!
//! At the other end, a small model's step makes and drops a few dozen tensors of a few dozen
//! elements, and the allocator's `malloc` and `free` (with the `Arc`'s layout arithmetic) were
//! about 160 instructions for each, a tenth of such a step. Buffers of at most
//! [`SMALL_MAX_BYTES`] therefore go back to a cache of the thread that drops them
//! ([`SmallCache`]), bounded per thread, and the next allocation of the same length on that
//! thread takes one from there without locking anything.

use std::collections::HashMap;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use crate::element::Element;

/// Buffers smaller than this (and larger than [`SMALL_MAX_BYTES`]) go straight to and from the
/// allocator, which serves them from its free lists.
const POOL_MIN_BYTES: usize = 64 << 10;

/// Pooled buffers smaller than this are mid-sized: the pool keeps fewer of them
/// ([`POOL_MID_PER_LEN`], [`POOL_MID_MAX_BYTES`]). The allocator hands such buffers out from
/// the top of its heap and gives the pages back when they are freed, so an inference loop
/// whose activations are this size faulted in their pages again on every call (16 page faults
/// and two `brk` calls per W4 forward); a few kept here are enough to stop that.
///
/// The bounds below hold every mid-sized buffer a small model's training step frees (W3: its
/// activations, their gradients, the first layer's weight gradient), so that none goes back to
/// the allocator between steps. Given back, such a buffer raised glibc's mmap threshold and the
/// next ones came from its heap, in holes that depend on every allocation before them: W3's
/// peak RSS then moved by half a MiB and more with changes that touched no memory use, while
/// with these bounds no buffer of 16 KiB or more that a tensor owns is freed after the first step
/// (`benches/README.md`, sixteenth part of issue 12).
const POOL_MID_BYTES: usize = 1 << 20;

/// How many mid-sized buffers of one length the pool keeps: an activation, its gradient and the
/// temporaries of their rules.
const POOL_MID_PER_LEN: usize = 4;

/// The most memory the pool keeps in mid-sized buffers, of one element type: 4 MiB, beside the
/// 256 MiB it may keep of large ones.
const POOL_MID_MAX_BYTES: usize = 4 << 20;

/// Buffers of at most this many bytes (256 `f32`) are recycled through the cache of the thread
/// that drops them ([`SmallCache`]).
const SMALL_MAX_BYTES: usize = 1 << 10;

/// The most memory one thread's cache of one element type keeps for reuse.
const SMALL_CACHE_MAX_BYTES: usize = 64 << 10;

/// How many buffers of one length a thread's cache keeps.
const SMALL_PER_LEN: usize = 8;

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
    /// The part of `bytes` in mid-sized buffers.
    mid_bytes: usize,
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
        let reused = if SmallCache::<T>::is_cached(len) {
            SmallCache::take(len)
        } else if Self::is_pooled(len) {
            self.take_pooled(len).map(|mut buf| {
                let elements = NonNull::from(Arc::get_mut(&mut buf).expect("one owner"));
                (buf, elements)
            })
        } else {
            None
        };
        if let Some((buf, elements)) = reused {
            // `MaybeUninit<T>` has the layout of `T`; writes through it store values of `T`.
            let elements = NonNull::slice_from_raw_parts(elements.cast(), elements.len());
            return UninitBuffer {
                slots: Slots::Reused(buf),
                elements,
            };
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

    /// A free buffer of `len` elements from the pool, if it has one.
    fn take_pooled(&self, len: usize) -> Option<Arc<[T]>> {
        let mut guard = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let state = guard.as_mut()?;
        let buf = state.by_len.get_mut(&len).and_then(Vec::pop)?;
        let bytes = len * size_of::<T>();
        state.bytes -= bytes;
        if bytes < POOL_MID_BYTES {
            state.mid_bytes -= bytes;
        }
        Some(buf)
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
            mid_bytes: 0,
        });
        let mid = bytes < POOL_MID_BYTES;
        let room = if mid {
            state.by_len.get(&len).map_or(0, Vec::len) < POOL_MID_PER_LEN
                && state.mid_bytes + bytes <= POOL_MID_MAX_BYTES
        } else {
            state.by_len.get(&len).map_or(0, Vec::len) < POOL_MAX_PER_LEN
        };
        if room && state.bytes + bytes <= POOL_MAX_BYTES {
            state.by_len.entry(len).or_default().push(buf);
            state.bytes += bytes;
            if mid {
                state.mid_bytes += bytes;
            }
        }
    }
}

/// A free buffer with no other owner, and its elements as `Arc::get_mut` gave them.
type FreeBuffer<T> = (Arc<[T]>, NonNull<[T]>);

/// One thread's small buffers of one element type, free for reuse: see the module documentation.
///
/// Not part of the public API, for the reason given at [`BufferPool`].
pub struct SmallCache<T> {
    /// `by_len[len - 1]` holds free buffers of `len` elements, none with another owner, each
    /// with its elements as `Arc::get_mut` gave them when the buffer came in. Nothing clones a
    /// buffer while it is here, so that stays the only path to them, and taking one out needs
    /// no second `get_mut` (an atomic compare-and-swap, which costs more than the rest).
    by_len: Vec<Vec<FreeBuffer<T>>>,
    bytes: usize,
}

impl<T: Element> SmallCache<T> {
    /// An empty cache (a `const fn`, for a `thread_local!`).
    pub(crate) const fn new() -> Self {
        SmallCache {
            by_len: Vec::new(),
            bytes: 0,
        }
    }

    /// Whether buffers of `len` elements go through the cache. An empty one does not: it is not
    /// worth a slot.
    fn is_cached(len: usize) -> bool {
        len > 0 && len <= SMALL_MAX_BYTES / size_of::<T>()
    }

    /// A free buffer of `len` elements from this thread's cache, with its elements, if it has
    /// one. `None` as well while the thread is being torn down and its cache is gone.
    fn take(len: usize) -> Option<FreeBuffer<T>> {
        T::small_cache()
            .try_with(|cache| {
                let mut cache = cache.try_borrow_mut().ok()?;
                let free = cache.by_len.get_mut(len - 1)?.pop()?;
                cache.bytes -= len * size_of::<T>();
                Some(free)
            })
            .ok()
            .flatten()
    }

    /// Keeps `buf` in this thread's cache if it has no other owner and there is room; drops it
    /// otherwise. Its elements are taken from `get_mut` here, the one compare-and-swap of its
    /// way through the cache.
    fn give(mut buf: Arc<[T]>) {
        let Some(elements) = Arc::get_mut(&mut buf).map(NonNull::from) else {
            return;
        };
        let (len, bytes) = (buf.len(), size_of_val::<[T]>(&buf));
        let rejected = T::small_cache().try_with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return Some(buf);
            };
            if cache.bytes + bytes > SMALL_CACHE_MAX_BYTES {
                return Some(buf);
            }
            if cache.by_len.len() < len {
                cache.by_len.resize_with(len, Vec::new);
            }
            let slot = &mut cache.by_len[len - 1];
            if slot.len() >= SMALL_PER_LEN {
                return Some(buf);
            }
            slot.push((buf, elements));
            cache.bytes += bytes;
            None
        });
        // A buffer the cache did not take (or a thread with no cache left) is freed here.
        drop(rejected);
    }
}

/// The elements behind one or more tensors. Cloning shares them; dropping the last owner of a
/// large buffer hands it back to the pool.
pub(crate) struct Storage<T: Element> {
    /// Dropped by hand in `drop`, which moves the last owner's buffer into the cache or the pool
    /// (taking it out of an `Arc` field otherwise needs a replacement, itself an allocation).
    data: ManuallyDrop<Arc<[T]>>,
}

impl<T: Element> Storage<T> {
    /// Storage holding a copy of `data`.
    pub(crate) fn copy_of(data: &[T]) -> Self {
        Storage {
            data: ManuallyDrop::new(Arc::from(data)),
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
            data: ManuallyDrop::new(Arc::clone(&self.data)),
        }
    }
}

impl<T: Element> Drop for Storage<T> {
    fn drop(&mut self) {
        // SAFETY: this is `drop`: `data` is never used again, and taken only here.
        let mut data = unsafe { ManuallyDrop::take(&mut self.data) };
        // A shared buffer only loses an owner. The count is a plain load; `get_mut` below, which
        // decides, is a compare-and-swap, too dear to run on every drop. Two owners dropped on
        // two threads at once may each see the other and skip the recycling: a buffer missed by
        // the cache or the pool, never one kept while still in use.
        if Arc::strong_count(&data) != 1 {
            return;
        }
        let len = data.len();
        if SmallCache::<T>::is_cached(len) {
            SmallCache::give(data);
        } else if BufferPool::<T>::is_pooled(len) && Arc::get_mut(&mut data).is_some() {
            T::pool().give(data);
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
        Storage {
            data: ManuallyDrop::new(self.data),
        }
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
    /// Large, not mid-sized: the mid-sized buffers' budget is shared by every test running at
    /// once, so a test that expects its buffer back could find that budget spent by another.
    const POOLED_LEN: usize = (POOL_MID_BYTES / size_of::<f64>()) + 7;
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
        let address = share_then_drop_both::<f64>(POOLED_LEN);
        // Now the pool holds both, the last owner's last; the next take reuses it.
        let reused = output_buffer::<f64>(POOLED_LEN);
        assert_eq!(reused.as_ptr(), address);
        assert_eq!(reused.len(), POOLED_LEN);
    }

    /// Makes a buffer of `len` elements with two owners and drops one, checks that a buffer
    /// taken then is another one and that the remaining owner still reads its values; then
    /// drops that buffer and the last owner, in that order. Returns the shared buffer's address.
    fn share_then_drop_both<T: Element>(len: usize) -> *const T {
        let mut buf = output_buffer::<T>(len);
        buf.fill(T::from_f64_lossy(4.0));
        let first = buf.into_storage();
        let address = first.as_slice().as_ptr();
        let second = first.clone();
        assert_eq!(second.owners(), 2);
        // Dropping one of two owners must not recycle the buffer: `second` still reads it.
        drop(first);
        let other = output_buffer::<T>(len);
        assert_ne!(
            other.as_ptr(),
            address,
            "a buffer in use was handed out again"
        );
        assert!(second
            .as_slice()
            .iter()
            .all(|&x| x == T::from_f64_lossy(4.0)));
        drop(other);
        drop(second);
        address
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

    /// The number of free buffers of `T` in this thread's cache, and their bytes (through the
    /// `Element` bound, which brings the sealed half's items).
    fn cached<T: Element>() -> (usize, usize) {
        T::small_cache().with(|cache| {
            let cache = cache.borrow();
            (cache.by_len.iter().map(Vec::len).sum(), cache.bytes)
        })
    }

    #[test]
    fn the_pool_keeps_a_few_mid_sized_buffers_of_a_length_and_a_bounded_sum() {
        // A pool of this test's own (the process-wide one is shared by every test running).
        let pool = BufferPool::<f64>::new();
        let fresh = |len: usize| Arc::<[f64]>::from(vec![1.5; len]);
        let count = |pool: &BufferPool<f64>, len: usize| {
            let guard = pool.free.lock().unwrap();
            let state = guard.as_ref().expect("a pool that has been given buffers");
            (state.by_len.get(&len).map_or(0, Vec::len), state.mid_bytes)
        };
        // One more mid-sized buffer of a length than the pool keeps: the rest are kept.
        let mid = POOL_MIN_BYTES / size_of::<f64>();
        for _ in 0..=POOL_MID_PER_LEN {
            pool.give(fresh(mid));
        }
        assert_eq!(
            count(&pool, mid),
            (POOL_MID_PER_LEN, POOL_MID_PER_LEN * POOL_MIN_BYTES)
        );
        // Other mid-sized lengths, more than the sum holds: none is kept past it.
        let lengths = POOL_MID_MAX_BYTES / POOL_MIN_BYTES + 1;
        for extra in 1..=lengths {
            pool.give(fresh(mid + extra));
        }
        let (_, mid_bytes) = count(&pool, mid);
        assert!(mid_bytes <= POOL_MID_MAX_BYTES, "{mid_bytes} bytes");
        assert!(mid_bytes + (mid + lengths) * size_of::<f64>() > POOL_MID_MAX_BYTES);
        // A large buffer is outside that sum, and four of a length are kept.
        let large = POOL_MID_BYTES / size_of::<f64>();
        for _ in 0..5 {
            pool.give(fresh(large));
        }
        assert_eq!(count(&pool, large), (POOL_MAX_PER_LEN, mid_bytes));
        // Taking one back takes it out of the sums.
        let taken = pool.take_pooled(mid).expect("a kept buffer");
        assert_eq!(taken.len(), mid);
        assert_eq!(
            count(&pool, mid),
            (POOL_MID_PER_LEN - 1, mid_bytes - POOL_MIN_BYTES)
        );
    }

    #[test]
    fn the_last_owner_of_a_small_buffer_leaves_it_to_its_thread_and_a_shared_one_stays_put() {
        // Each test runs on a thread of its own, so this cache is this test's alone.
        let address = share_then_drop_both::<f32>(24);
        // The last one dropped is taken first, with the values of its last use; the next one
        // is `other`'s buffer, then a fresh allocation.
        let mut reused = uninit_buffer::<f32>(24);
        assert_eq!(reused.as_ptr().cast::<f32>(), address);
        assert_eq!(reused.len(), 24);
        for (i, slot) in reused.iter_mut().enumerate() {
            slot.write(i as f32);
        }
        // SAFETY: every element was written just above.
        let reused = unsafe { reused.assume_init() }.into_storage();
        assert_eq!(reused.as_slice()[23], 23.0);
        // Another length, another slot: the 24-element buffer is not cut to 10.
        assert_ne!(output_buffer::<f32>(10).as_ptr(), address);
    }

    #[test]
    fn a_thread_keeps_a_bounded_number_of_small_buffers() {
        let (count, bytes) = cached::<f32>();
        assert_eq!((count, bytes), (0, 0), "a fresh thread's cache is empty");
        // Many buffers of one length, alive at once, then dropped: the slot keeps SMALL_PER_LEN.
        let many: Vec<_> = (0..3 * SMALL_PER_LEN)
            .map(|_| output_buffer::<f32>(16).into_storage())
            .collect();
        drop(many);
        assert_eq!(cached::<f32>(), (SMALL_PER_LEN, SMALL_PER_LEN * 16 * 4));
        // Buffers of every small length: the whole cache stays under its bound.
        let all: Vec<_> = (1..=SMALL_MAX_BYTES / 4)
            .flat_map(|len| (0..SMALL_PER_LEN).map(move |_| output_buffer::<f32>(len)))
            .map(Buffer::into_storage)
            .collect();
        drop(all);
        let (count, bytes) = cached::<f32>();
        assert!(bytes <= SMALL_CACHE_MAX_BYTES, "{bytes} bytes cached");
        assert!(
            bytes > SMALL_CACHE_MAX_BYTES - SMALL_MAX_BYTES,
            "the cache stopped early"
        );
        assert!(count <= SMALL_PER_LEN * SMALL_MAX_BYTES / 4);
        // A buffer just past the small sizes is neither cached nor pooled.
        let large = output_buffer::<f32>(SMALL_MAX_BYTES / 4 + 1).into_storage();
        drop(large);
        assert_eq!(cached::<f32>().1, bytes);
    }

    #[test]
    fn small_buffers_dropped_on_other_threads_and_at_thread_exit_stay_intact() {
        // Storage made here and dropped on worker threads (whose caches keep it), workers that
        // end with full caches, and the values read back here stay what was written.
        for round in 0..4 {
            let kept: Vec<_> = (0..16)
                .map(|i| {
                    let mut buf = output_buffer::<f64>(8 + i % 4);
                    buf.fill(f64::from(round * 100 + i as u32));
                    buf.into_storage()
                })
                .collect();
            std::thread::scope(|scope| {
                for chunk in kept.chunks(4) {
                    let clones: Vec<_> = chunk.to_vec();
                    scope.spawn(move || {
                        let mut fresh: Vec<_> = (0..8).map(|_| output_buffer::<f64>(9)).collect();
                        drop(clones);
                        for buf in &mut fresh {
                            buf.fill(-1.0);
                        }
                    });
                }
            });
            for (i, storage) in kept.iter().enumerate() {
                assert_eq!(storage.owners(), 1);
                let expected = f64::from(round * 100 + i as u32);
                assert!(storage.as_slice().iter().all(|&x| x == expected));
            }
        }
    }
}
