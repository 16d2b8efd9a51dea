//! When the kernels hand work to the rayon pool, and how the pool's threads wait between ops.
//!
//! A training step alternates parallel ops (the products, an optimizer's update) with short
//! serial ones (an activation, a loss). Between two parallel ops a rayon worker that finds no
//! work spins for a few dozen rounds (tens of microseconds), then sleeps until new work wakes
//! it. On a virtual machine, a sleeping worker's core halts, and waking it took 30–37 µs on a
//! 2-vCPU Xeon: longer than half of W3's 128×256×128 product, which then ran slower on two
//! threads than on one. OpenMP runtimes keep their threads spinning for a while after parallel
//! work for this reason (`OMP_WAIT_POLICY`, `KMP_BLOCKTIME`).
//!
//! So a thread that starts parallel work from inside a pool keeps the pool's other threads
//! spinning for a while ([`spin_time`], 1 ms unless [`set_spin_time`] says otherwise): each of
//! them runs a spinner, a job that looks for the pool's work and runs it, until that long after
//! the last parallel op. Only the calling thread's pool spins, and only its other threads, so a
//! pool of N threads keeps N busy, as the kernels do: a thread outside any pool (a program's
//! main thread, using the global pool) starts no spinner, since its pool's threads would take
//! every core from it.
//!
//! A spinner is a job broadcast to each of those threads, which only that thread runs. A worker
//! that waits inside a job (for the other half of a `join` it made) may take its spinner up
//! there, and cannot see that its wait is over until the spinner stops: with one calling thread
//! that does not happen (its parallel ops are over before it starts the next), but it may when
//! several of a pool's threads call ops at once. So a spinner stops after at most 10 ms (or the
//! spin time, if longer), and the caller's next parallel op starts a new one.
//!
//! Nothing here changes which thread computes which element's arithmetic, so results keep their
//! bits whatever the threads do.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
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
/// 30–37 µs on a virtual machine; the threads use their cores meanwhile, as an OpenMP program's
/// do (1 ms here, 200 ms under Intel's OpenMP). Only a pool whose thread calls the ops spins
/// (`pool.install(|| train())`); the ops a program's main thread runs on the global pool do
/// not make it spin. The setting holds for every pool and thread from the call on.
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
/// handing it over costs two thread wake-ups. When the answer is yes and the caller is one of
/// the pool's threads, the pool's other threads spin for a while (see the module's doc).
pub(crate) fn divides() -> bool {
    if rayon::current_num_threads() < 2 {
        return false;
    }
    if let Some(caller) = rayon::current_thread_index() {
        keep_awake(caller, SPIN_NANOS.load(Ordering::Relaxed));
    }
    true
}

/// The spinners one caller started: they spin until `until` (nanoseconds on [`now`]'s clock),
/// which each parallel op of the caller pushes back; 0 once they stopped.
struct Spin {
    until: AtomicU64,
    /// Spinners running, for the tests.
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

/// Keeps the other threads of the pool of `caller` (its index there) spinning for `window`
/// nanoseconds from now: the spinners it started are told to go on, or, if they stopped, new
/// ones start.
fn keep_awake(caller: usize, window: u64) {
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
            running: AtomicUsize::new(0),
        });
        *started = Some(Arc::clone(&spin));
        rayon::spawn_broadcast(move |context| {
            if context.index() != caller {
                spinner(&spin, context.index());
            }
        });
    });
}

/// The spinner of `spin` on pool thread `thread`: runs the pool's work as it comes until `spin`
/// is over, or for [`LIFETIME`] (or the spin time, if longer) since it started.
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
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use super::{divides, keep_awake, STARTED};

    /// The spinners the current thread started that still run.
    fn running() -> usize {
        STARTED.with(|s| {
            s.borrow()
                .as_ref()
                .map_or(0, |spin| spin.running.load(Ordering::Relaxed))
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
            assert_eq!(running(), 0);
        });
    }

    #[test]
    fn the_other_threads_of_a_pool_spin_for_the_time_given_then_stop() {
        pool(3).install(|| {
            keep_awake(rayon::current_thread_index().unwrap(), 20_000_000);
            // The two other threads, not the caller's.
            assert!(eventually(|| running() == 2), "running: {}", running());
            assert!(eventually(|| running() == 0), "running: {}", running());
            // Stopped spinners are started again by the next op.
            keep_awake(rayon::current_thread_index().unwrap(), 20_000_000);
            assert!(eventually(|| running() == 2), "running: {}", running());
            assert!(eventually(|| running() == 0), "running: {}", running());
        });
    }

    #[test]
    fn a_spinner_stops_after_its_lifetime_however_long_its_caller_asks() {
        pool(2).install(|| {
            // 100 s asked; the lifetime is 10 ms, and `eventually` waits 10 s at most.
            keep_awake(rayon::current_thread_index().unwrap(), 100_000_000_000);
            assert!(eventually(|| running() == 1), "running: {}", running());
            assert!(eventually(|| running() == 0), "running: {}", running());
        });
    }

    #[test]
    fn a_spinner_on_a_thread_other_than_its_own_stops_its_caller_s_spinners() {
        let spin = std::sync::Arc::new(super::Spin {
            until: std::sync::atomic::AtomicU64::new(u64::MAX),
            running: std::sync::atomic::AtomicUsize::new(0),
        });
        // Not a pool thread at all: certainly not thread 0 of a pool.
        super::spinner(&spin, 0);
        assert_eq!(spin.until.load(Ordering::Relaxed), 0);
        assert_eq!(spin.running.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_thread_outside_every_pool_starts_no_spinner() {
        std::thread::spawn(|| {
            assert!(rayon::current_thread_index().is_none());
            divides();
            assert!(STARTED.with(|s| s.borrow().is_none()));
        })
        .join()
        .unwrap();
    }
}
