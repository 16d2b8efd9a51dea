//! When the kernels hand work to the rayon pool, and how the pool's threads wait between ops.
//!
//! A training step alternates parallel ops (the products, an optimizer's update) with short
//! serial ones (an activation, a loss). Between two parallel ops a rayon worker that finds no
//! work spins for a few dozen rounds (tens of microseconds), then sleeps until new work wakes
//! it. On a virtual machine, a sleeping worker's core halts, and waking it took 22–40 µs on a
//! 2-vCPU Xeon: longer than half of W3's 128×256×128 product, which then ran slower on two
//! threads than on one. OpenMP runtimes keep their threads spinning for a while after parallel
//! work for this reason (`OMP_WAIT_POLICY`, `KMP_BLOCKTIME`).
//!
//! So a thread that starts parallel work keeps N − 1 of its pool's N threads spinning for a
//! while ([`spin_time`], 1 ms unless [`set_spin_time`] says otherwise): each runs a spinner, a
//! job that looks for the pool's work and runs it, until that long after the last parallel op.
//! The N-th core is the calling thread's, which takes parts of each op's work itself
//! ([`for_each_part`]): if it is one of the pool's threads, the others spin; if it is outside
//! every pool (a program's main thread, on the global pool), all of them but the last. Handed
//! to the pool whole, an op would leave a thread from outside asleep until the pool is done with
//! it, and then wait for it to wake too: W3's step on two threads took 1.06–1.30 ms from `main`
//! that way, and 0.76–0.94 ms once `main` took its share (three runs alternating the two builds,
//! `benches/README.md`, thirteenth part of issue 12).
//!
//! A spinner is a job broadcast to each of those threads, which only that thread runs. A worker
//! that waits inside a job (for the rest of a `join`, as in the `gemm` crate's own division) may
//! take its spinner up there, and cannot see that its wait is over until the spinner stops:
//! with one calling thread that does not happen (its parallel ops are over before it starts the
//! next), but it may when several of a pool's threads call ops at once. So a spinner stops after
//! at most 10 ms (or the spin time, if longer), and the caller's next parallel op starts a new
//! one.
//!
//! Nothing here changes which thread computes which element's arithmetic, so results keep their
//! bits whatever the threads do.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a thread that started parallel work keeps its pool's other threads spinning, in
/// nanoseconds; 0 turns spinning off.
static SPIN_NANOS: AtomicU64 = AtomicU64::new(1_000_000);

/// The longest a spinner runs, in nanoseconds, however often its caller tells it to go on,
/// unless the spin time is longer: the caller's next parallel op then starts a new one. This
/// bounds how long a spinner can hold up a thread that picked it up while waiting inside a job
/// (see the module's doc).
const LIFETIME_NANOS: u64 = 10_000_000;

/// Sets how long a thread that starts a parallel op keeps the other threads of its rayon pool
/// spinning (looking for work) before they sleep; [`Duration::ZERO`] turns it off.
///
/// Spinning keeps a step's parallel ops from waiting for sleeping threads to wake, which took
/// 22–40 µs on a virtual machine; the threads use their cores meanwhile, as an OpenMP program's
/// do (1 ms here, 200 ms under Intel's OpenMP). A pool of N threads spins N − 1 of them, the
/// calling thread being the N-th busy one. The setting holds for every pool and thread from the
/// call on.
pub fn set_spin_time(time: Duration) {
    let nanos = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
    SPIN_NANOS.store(nanos, Ordering::Relaxed);
}

/// How long a thread that starts a parallel op keeps its pool's other threads spinning: 1 ms
/// unless [`set_spin_time`] changed it.
pub fn spin_time() -> Duration {
    Duration::from_nanos(SPIN_NANOS.load(Ordering::Relaxed))
}

/// Whether work worth dividing should go to the current rayon pool: only if it has more than one
/// thread. A pool of one runs the work in the end on that one thread, and from outside the pool
/// handing it over costs two thread wake-ups. When the answer is yes, the pool's threads but
/// one spin for a while (see the module's doc): all but the caller, or, for a caller outside
/// the pool, all but the last.
pub(crate) fn divides() -> bool {
    let threads = rayon::current_num_threads();
    if threads < 2 {
        return false;
    }
    // A thread outside the pool takes parts of the work itself (`for_each_part`), so one of
    // the pool's threads is left to sleep, to leave it a core.
    let idle = rayon::current_thread_index().unwrap_or(threads - 1);
    keep_awake(idle, SPIN_NANOS.load(Ordering::Relaxed));
    true
}

/// Runs `task(0)`, …, `task(parts - 1)`, each once, dividing them among the current pool's
/// threads, and returns when all have run. Kernels call it only when [`divides`] said yes.
///
/// The calling thread takes parts itself, whether it is one of the pool's threads or not (a
/// program's main thread, using the global pool), as an OpenMP program's main thread does, and
/// helper jobs on the pool take the others as they come. It waits for the parts others took by
/// spinning. Handed to the pool whole, the work would wait for a sleeping thread to wake, and a
/// caller from outside the pool, asleep meanwhile, would wait to be woken in turn; and with
/// rayon's own parallel loop, a thread that woke late took half of the work when the caller had
/// nearly done its own, so two threads could take longer than one. Here a helper that starts
/// after every part was taken finds none and returns.
///
/// A panic in `task` reaches the caller once no part is running any more.
pub(crate) fn for_each_part(parts: usize, task: &(dyn Fn(usize) + Sync)) {
    share_parts(parts, task, rayon::current_num_threads() - 1, &|job| {
        rayon::spawn(job)
    });
}

/// The parts of one [`share_parts`] call.
struct Parts {
    /// The next part to take; `parts` and beyond once all are taken.
    next: AtomicUsize,
    /// Parts that have run.
    done: AtomicUsize,
    parts: usize,
    /// The task, as a pointer that may outlive it: only a thread that took a part below `parts`
    /// calls it, and [`share_parts`] returns, ending the task's borrow, only once every such
    /// part has run.
    task: *const (dyn Fn(usize) + Sync + 'static),
    /// The first panic of a part, kept until no part runs.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

// SAFETY: the task is `Sync`, so calling it from any thread is sound; the other fields are
// atomics and a mutex.
unsafe impl Send for Parts {}
// SAFETY: as for `Send`.
unsafe impl Sync for Parts {}

impl Parts {
    /// Takes and runs parts until none is left; a panic in one is kept, and counts as its end.
    fn run(&self) {
        loop {
            let part = self.next.fetch_add(1, Ordering::Relaxed);
            if part >= self.parts {
                return;
            }
            // SAFETY: this thread took a part below `parts`, which `share_parts` waits for
            // before it returns: the task is still borrowed there.
            let task = unsafe { &*self.task };
            let outcome = catch_unwind(AssertUnwindSafe(|| task(part)));
            if let Err(payload) = outcome {
                let mut panic = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                panic.get_or_insert(payload);
            }
            // Release: the part's writes happen before the caller, seeing the count, returns.
            self.done.fetch_add(1, Ordering::Release);
        }
    }
}

/// [`for_each_part`] with `helpers` jobs given to `spawn` taking parts beside the calling thread,
/// which waits, spinning, until every part has run.
fn share_parts(
    parts: usize,
    task: &(dyn Fn(usize) + Sync),
    helpers: usize,
    spawn: &dyn Fn(Box<dyn FnOnce() + Send>),
) {
    // SAFETY: only the lifetime changes, and the pointer is dereferenced only while the borrow
    // lasts: `Parts::run` calls the task only for a part below `parts` that it took, and counts
    // the part done after the call. This function returns only once `done` reached `parts`,
    // that is once every part below `parts` has run, and none can be taken after that (`next`
    // only grows). A helper may still hold `Parts` after this returns, but never calls the task.
    let task: *const (dyn Fn(usize) + Sync + 'static) =
        unsafe { std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), _>(task) };
    let shared = Arc::new(Parts {
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        parts,
        task,
        panic: Mutex::new(None),
    });
    for _ in 0..helpers.min(parts.saturating_sub(1)) {
        let shared = Arc::clone(&shared);
        spawn(Box::new(move || shared.run()));
    }
    shared.run();
    while shared.done.load(Ordering::Acquire) < parts {
        std::hint::spin_loop();
    }
    let panic = shared
        .panic
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(payload) = panic {
        resume_unwind(payload);
    }
}

/// The spinners one caller started: they spin until `until` (nanoseconds on [`now`]'s clock),
/// which each parallel op of the caller pushes back; 0 once they stopped.
struct Spin {
    until: AtomicU64,
    /// Spinners that started, and spinners running: for the tests, which cannot count on seeing
    /// every spinner at once on a loaded machine.
    started: AtomicUsize,
    running: AtomicUsize,
}

thread_local! {
    /// The spinners this thread started, as the thread that calls the ops.
    static STARTED: RefCell<Option<Arc<Spin>>> = const { RefCell::new(None) };
    /// Whether this thread is running a spinner, so that it does not start another inside it
    /// (through the work the spinner runs).
    static SPINNING: Cell<bool> = const { Cell::new(false) };
}

/// Nanoseconds since the first call: one clock for every thread.
fn now() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let nanos = EPOCH.get_or_init(Instant::now).elapsed().as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

/// Keeps the threads of the current pool but the one of index `idle` (the caller's, if it is one
/// of them) spinning for `window` nanoseconds from now: the spinners the calling thread started
/// are told to go on, or, if they stopped, new ones start.
fn keep_awake(idle: usize, window: u64) {
    if window == 0 {
        return;
    }
    // Never 0, which means stopped.
    let until = now().saturating_add(window).max(1);
    STARTED.with(|started| {
        let mut started = started.borrow_mut();
        if let Some(spin) = started.as_ref() {
            let extended = spin
                .until
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                    (old != 0).then_some(old.max(until))
                });
            if extended.is_ok() {
                return;
            }
        }
        let spin = Arc::new(Spin {
            until: AtomicU64::new(until),
            started: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
        });
        *started = Some(Arc::clone(&spin));
        rayon::spawn_broadcast(move |context| {
            if context.index() != idle {
                spinner(&spin, context.index());
            }
        });
    });
}

/// The spinner of `spin` on pool thread `thread`: runs the pool's work as it comes until `spin`
/// is over, or for [`LIFETIME_NANOS`] (or the spin time, if longer) since it started.
fn spinner(spin: &Spin, thread: usize) {
    if SPINNING.get() || rayon::current_thread_index() != Some(thread) {
        // A spinner runs on this thread already, further up the stack (another caller's, or
        // one that has yet to see that it should stop). This one does not run, so `spin`
        // stops, and the caller's next parallel op starts new spinners instead of counting on
        // this one.
        spin.until.store(0, Ordering::Relaxed);
        return;
    }
    SPINNING.set(true);
    spin.started.fetch_add(1, Ordering::Relaxed);
    spin.running.fetch_add(1, Ordering::Relaxed);
    let start = now();
    let end = start.saturating_add(SPIN_NANOS.load(Ordering::Relaxed).max(LIFETIME_NANOS));
    loop {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            continue;
        }
        let time = now();
        let until = spin.until.load(Ordering::Relaxed);
        if until == 0 {
            break;
        }
        if time >= end {
            spin.until.store(0, Ordering::Relaxed);
            break;
        }
        // Stop, unless the caller pushed `until` back meanwhile.
        if time >= until
            && spin
                .until
                .compare_exchange(until, 0, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            break;
        }
        std::hint::spin_loop();
    }
    spin.running.fetch_sub(1, Ordering::Relaxed);
    SPINNING.set(false);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::{divides, for_each_part, keep_awake, share_parts, STARTED};

    /// The spinners the current thread started that still run.
    fn running() -> usize {
        STARTED.with(|s| {
            s.borrow()
                .as_ref()
                .map_or(0, |spin| spin.running.load(Ordering::Relaxed))
        })
    }

    /// The spinners the current thread's last start of spinners started, running or not.
    fn started() -> usize {
        STARTED.with(|s| {
            s.borrow()
                .as_ref()
                .map_or(0, |spin| spin.started.load(Ordering::Relaxed))
        })
    }

    /// Polls `condition` for up to ten seconds (a loaded machine may hold a thread back that
    /// long); whether it became true.
    fn eventually(condition: impl Fn() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if condition() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn a_pool_of_one_thread_does_not_divide_work() {
        pool(1).install(|| {
            assert!(!divides());
            // Nor does it start spinners.
            assert!(STARTED.with(|s| s.borrow().is_none()));
        });
    }

    #[test]
    fn the_other_threads_of_a_pool_spin_for_the_time_given_then_stop() {
        pool(3).install(|| {
            keep_awake(rayon::current_thread_index().unwrap(), 20_000_000);
            // The two other threads, not the caller's.
            assert!(eventually(|| started() == 2), "started: {}", started());
            assert!(eventually(|| running() == 0), "running: {}", running());
            // Stopped spinners are started again by the next op.
            keep_awake(rayon::current_thread_index().unwrap(), 20_000_000);
            assert!(eventually(|| started() == 2), "started: {}", started());
            assert!(eventually(|| running() == 0), "running: {}", running());
        });
    }

    #[test]
    fn a_spinner_stops_after_its_lifetime_however_long_its_caller_asks() {
        pool(2).install(|| {
            // 100 s asked; the lifetime is 10 ms, and `eventually` waits 10 s at most.
            keep_awake(rayon::current_thread_index().unwrap(), 100_000_000_000);
            assert!(eventually(|| started() == 1), "started: {}", started());
            assert!(eventually(|| running() == 0), "running: {}", running());
        });
    }

    #[test]
    fn the_spin_time_set_is_the_one_read() {
        assert_eq!(super::spin_time(), Duration::from_millis(1), "the default");
        // A nanosecond more, which the tests running beside this one cannot tell apart.
        super::set_spin_time(Duration::from_nanos(1_000_001));
        assert_eq!(super::spin_time(), Duration::from_nanos(1_000_001));
        super::set_spin_time(Duration::from_millis(1));
    }

    #[test]
    fn a_spin_time_of_zero_starts_no_spinner() {
        pool(2).install(|| {
            keep_awake(rayon::current_thread_index().unwrap(), 0);
            assert!(STARTED.with(|s| s.borrow().is_none()));
        });
    }

    #[test]
    fn a_spinner_on_a_thread_other_than_its_own_stops_its_caller_s_spinners() {
        let spin = std::sync::Arc::new(super::Spin {
            until: std::sync::atomic::AtomicU64::new(u64::MAX),
            started: std::sync::atomic::AtomicUsize::new(0),
            running: std::sync::atomic::AtomicUsize::new(0),
        });
        // Not a pool thread at all: certainly not thread 0 of a pool.
        super::spinner(&spin, 0);
        assert_eq!(spin.until.load(Ordering::Relaxed), 0);
        assert_eq!(spin.started.load(Ordering::Relaxed), 0);
        assert_eq!(spin.running.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_thread_outside_every_pool_divides_on_a_global_pool_of_two_threads_or_more() {
        std::thread::spawn(|| {
            assert!(rayon::current_thread_index().is_none());
            let threads = rayon::current_num_threads();
            assert_eq!(divides(), threads >= 2);
            // It started spinners (on all of the pool's threads but one) if it divides.
            assert_eq!(STARTED.with(|s| s.borrow().is_some()), threads >= 2);
        })
        .join()
        .unwrap();
    }

    /// Runs `share_parts` with `helpers` helpers on a pool of `threads`; how often each part ran.
    fn shared_counts(parts: usize, helpers: usize, threads: usize) -> Vec<usize> {
        let pool = pool(threads);
        let counts: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
        share_parts(
            parts,
            &|part| {
                // Some parts take longer, so that helpers overlap with the caller.
                if part % 3 == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
                counts[part].fetch_add(1, Ordering::Relaxed);
            },
            helpers,
            &|job| pool.spawn(job),
        );
        counts.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }

    #[test]
    fn shared_parts_each_run_once_whatever_the_helpers() {
        for parts in [0, 1, 2, 3, 17, 100] {
            for (helpers, threads) in [(0, 1), (1, 1), (1, 2), (3, 4), (8, 3)] {
                assert_eq!(
                    shared_counts(parts, helpers, threads),
                    vec![1; parts],
                    "{parts} parts, {helpers} helpers, {threads} threads"
                );
            }
        }
    }

    #[test]
    fn a_part_that_panics_reaches_the_caller_after_the_others_ran() {
        let pool = pool(3);
        let counts: Vec<AtomicUsize> = (0..40).map(|_| AtomicUsize::new(0)).collect();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            share_parts(
                40,
                &|part| {
                    std::thread::sleep(Duration::from_micros(100));
                    counts[part].fetch_add(1, Ordering::Relaxed);
                    assert!(part != 7, "part 7 fails");
                },
                2,
                &|job| pool.spawn(job),
            )
        }));
        let message = *outcome.unwrap_err().downcast::<&str>().unwrap();
        assert_eq!(message, "part 7 fails");
        // Every part ran before the panic reached here, and none after: the counts are final.
        let seen: Vec<usize> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        assert_eq!(seen, vec![1; 40]);
    }

    #[test]
    fn parts_run_once_from_inside_a_pool_and_from_outside_every_pool() {
        let run = || {
            let counts: Vec<AtomicUsize> = (0..33).map(|_| AtomicUsize::new(0)).collect();
            for_each_part(33, &|part| {
                counts[part].fetch_add(1, Ordering::Relaxed);
            });
            counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect::<Vec<_>>()
        };
        assert_eq!(pool(3).install(run), vec![1; 33]);
        assert_eq!(std::thread::spawn(run).join().unwrap(), vec![1; 33]);
    }
}
