//! Where a step's time goes, op by op: [`profile`] runs a closure and reports, for each op name,
//! how many times it was recorded and how long its forward computation and its gradient rule
//! took, as PyTorch's autograd profiler does.
//!
//! The tape computes eagerly, one op after another, so an op's forward time is the time from
//! the previous event on this thread (the previous op recorded, a tape created) to its own
//! recording; its backward time is its rule's run in the reverse sweep, accumulation into the
//! input's gradient included. Time after a sweep and before the next tape (an optimizer's
//! update, the user's code) belongs to no op: it is the profile's wall time less the ops' sum.
//! A sweep that records (`grad_graph`, `hvp`) runs its rules as recorded ops, which count as
//! forward ops of their own names.
//!
//! Off, the cost is one thread-local flag read per recorded op and per gradient rule run.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

thread_local! {
    /// Whether this thread is profiling: the one check on the recording path.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static RECORDER: RefCell<Recorder> = RefCell::new(Recorder::default());
}

#[derive(Default)]
struct Recorder {
    /// The previous event, if the time since it belongs to the next op recorded.
    last: Option<Instant>,
    by_name: HashMap<String, usize>,
    rows: Vec<OpTime>,
}

impl Recorder {
    fn row(&mut self, name: &str) -> &mut OpTime {
        let k = match self.by_name.get(name) {
            Some(&k) => k,
            None => {
                self.rows.push(OpTime {
                    op: name.to_string(),
                    ..OpTime::default()
                });
                self.by_name.insert(name.to_string(), self.rows.len() - 1);
                self.rows.len() - 1
            }
        };
        &mut self.rows[k]
    }
}

/// One op's share of a [`Profile`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpTime {
    /// The op's name, as the method that records it (`matmul`, `relu`, …; a custom op's own).
    pub op: String,
    /// How many times it was recorded.
    pub calls: u64,
    /// The time of its forward computations, all calls together.
    pub forward: Duration,
    /// How many times its gradient rule ran.
    pub backward_calls: u64,
    /// The time of its gradient rules, all runs together.
    pub backward: Duration,
}

/// What [`profile`] measured: the ops' times and the wall time of the whole closure.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// One row per op name, in the order first recorded.
    pub ops: Vec<OpTime>,
    /// The closure's wall time: the ops' times plus everything outside the tape.
    pub wall: Duration,
}

impl Profile {
    /// The sum of every op's forward time.
    pub fn forward(&self) -> Duration {
        self.ops.iter().map(|o| o.forward).sum()
    }

    /// The sum of every op's backward time.
    pub fn backward(&self) -> Duration {
        self.ops.iter().map(|o| o.backward).sum()
    }

    /// The wall time spent outside any op (optimizer updates, the caller's own code).
    pub fn outside(&self) -> Duration {
        self.wall.saturating_sub(self.forward() + self.backward())
    }

    /// The row of op `name`, if it was recorded.
    pub fn op(&self, name: &str) -> Option<&OpTime> {
        self.ops.iter().find(|o| o.op == name)
    }
}

/// A table, the costliest op first, with times divided by nothing: totals over the closure.
impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mut ops: Vec<&OpTime> = self.ops.iter().collect();
        ops.sort_by_key(|o| std::cmp::Reverse(o.forward + o.backward));
        writeln!(
            f,
            "{:<16}{:>8}{:>14}{:>14}{:>8}",
            "op", "calls", "forward ms", "backward ms", "share"
        )?;
        let wall = self.wall.as_secs_f64().max(f64::MIN_POSITIVE);
        for o in ops {
            writeln!(
                f,
                "{:<16}{:>8}{:>14.3}{:>14.3}{:>7.1}%",
                o.op,
                o.calls,
                ms(o.forward),
                ms(o.backward),
                100.0 * (o.forward + o.backward).as_secs_f64() / wall
            )?;
        }
        writeln!(
            f,
            "{:<16}{:>8}{:>14.3}{:>14.3}{:>7.1}%",
            "(outside ops)",
            "",
            ms(self.outside()),
            0.0,
            100.0 * self.outside().as_secs_f64() / wall
        )?;
        write!(
            f,
            "{:<16}{:>8}{:>14.3}{:>14.3}   wall {:.3} ms",
            "total",
            "",
            ms(self.forward()),
            ms(self.backward()),
            ms(self.wall)
        )
    }
}

/// Runs `f` and reports the time of every op recorded and differentiated on this thread while
/// it ran, by op name.
///
/// ```
/// use shendu_autograd::{profile, Tape};
/// use shendu_tensor::Tensor;
///
/// let (_, report) = profile(|| {
///     let tape = Tape::new();
///     let x = tape.var(Tensor::<f32>::ones([64, 64]));
///     x.matmul(&x).relu().sum_all().backward()
/// });
/// let matmul = report.op("matmul").expect("recorded");
/// assert_eq!((matmul.calls, matmul.backward_calls), (1, 1));
/// assert!(report.forward() + report.backward() <= report.wall);
/// println!("{report}");
/// ```
///
/// Ops on other threads are not seen (a tape belongs to one thread; kernels that fan out over
/// rayon's threads are timed as a whole by the thread that called them).
///
/// # Panics
/// If this thread is already inside `profile`: the inner report would steal the outer's times.
pub fn profile<R>(f: impl FnOnce() -> R) -> (R, Profile) {
    assert!(
        !ACTIVE.get(),
        "profile: this thread is already profiling (profile calls do not nest)"
    );
    RECORDER.with_borrow_mut(|r| *r = Recorder::default());
    // Turned off again even if `f` panics, so that a caught panic leaves no profiler running.
    struct Off;
    impl Drop for Off {
        fn drop(&mut self) {
            ACTIVE.set(false);
        }
    }
    let off = Off;
    ACTIVE.set(true);
    let start = Instant::now();
    let result = f();
    let wall = start.elapsed();
    drop(off);
    let ops = RECORDER.with_borrow_mut(|r| std::mem::take(&mut r.rows));
    (result, Profile { ops, wall })
}

/// A tape was created: the time from here to its first op is that op's.
pub(crate) fn tape_created() {
    if ACTIVE.get() {
        RECORDER.with_borrow_mut(|r| r.last = Some(Instant::now()));
    }
}

/// An op named `name` is being recorded: the time since the previous event is its forward.
/// Called only while [`active`].
pub(crate) fn recorded(name: &str) {
    let now = Instant::now();
    RECORDER.with_borrow_mut(|r| {
        let since = r.last.map(|last| now - last).unwrap_or_default();
        let row = r.row(name);
        row.calls += 1;
        row.forward += since;
        r.last = Some(now);
    });
}

/// Whether this thread is profiling (so that the tape and the sweep name ops and read the clock
/// only then).
pub(crate) fn active() -> bool {
    ACTIVE.get()
}

/// The gradient rule of an op named `name` ran from `start` until now.
pub(crate) fn differentiated(name: &str, start: Instant) {
    let now = Instant::now();
    RECORDER.with_borrow_mut(|r| {
        let row = r.row(name);
        row.backward_calls += 1;
        row.backward += now - start;
        r.last = Some(now);
    });
}

/// A sweep ended: what follows, until the next tape or op, belongs to no op.
pub(crate) fn sweep_ended() {
    if ACTIVE.get() {
        RECORDER.with_borrow_mut(|r| r.last = None);
    }
}
