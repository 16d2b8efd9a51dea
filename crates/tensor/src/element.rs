//! The element types a tensor can hold.
//!
//! `Element` gathers what the kernels need from a scalar type: float arithmetic (from num-traits),
//! thread safety for rayon, a name for messages, a buffer pool so that large results reuse
//! memory instead of paying page faults on every fresh allocation, and a per-thread cache that
//! spares small results the allocator.
//!
//! It is sealed: its supertrait `sealed::Sealed` cannot be named outside this crate, so `f32`
//! and `f64` are its only implementations. The kernels are written and tested for those two,
//! and the trait (the pool among its items) can change without breaking anyone's impl.

use std::cell::RefCell;
use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::thread::LocalKey;

use num_traits::{Float, FromPrimitive, NumAssign, ToPrimitive};

use crate::storage::{BufferPool, SmallCache};

/// The private half of [`Element`], which only this crate can implement.
mod sealed {
    use std::cell::RefCell;
    use std::thread::LocalKey;

    use crate::storage::{BufferPool, SmallCache};

    /// What the crate needs from an element type and keeps to itself.
    pub trait Sealed: Sized + 'static {
        /// The process-wide pool of large buffers of this type.
        fn pool() -> &'static BufferPool<Self>;

        /// The calling thread's cache of small buffers of this type.
        fn small_cache() -> &'static LocalKey<RefCell<SmallCache<Self>>>;
    }
}

/// A scalar type a [`Tensor`](crate::Tensor) can hold: `f32` or `f64`, and only those (the
/// trait is sealed).
pub trait Element:
    sealed::Sealed
    + Float
    + NumAssign
    + FromPrimitive
    + ToPrimitive
    + Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// The type's name as it appears in messages and file headers (`"f32"`, `"f64"`).
    const NAME: &'static str;

    /// Converts from `f64`, rounding to the nearest representable value.
    fn from_f64_lossy(x: f64) -> Self;

    /// Widens to `f64` (exact for both implementations).
    fn to_f64_exact(self) -> f64;

    /// The error function, erf(x) = 2/√π ∫₀ˣ e^(−t²) dt, to the type's precision.
    fn erf(self) -> Self;

    /// The hyperbolic tangent, within one ulp. For `f32` it is computed in `f64` by a branch-free
    /// formula that vectorizes, correctly rounded but for rare near-halfway cases (libm's `tanhf`
    /// is within about two ulps); its speed shows in W2 of `benches/README.md`. `f64` uses libm's
    /// `tanh`.
    fn tanh_accurate(self) -> Self;

    /// eˣ, within one ulp. For `f32` it is computed in `f64` by a branch-free formula that
    /// vectorizes, correctly rounded but for rare near-halfway cases, as libm's `expf` is; over a
    /// slice it runs many times faster than a call to `expf` per element. `f64` uses libm's `exp`.
    fn exp_accurate(self) -> Self;
}

static POOL_F32: BufferPool<f32> = BufferPool::new();
static POOL_F64: BufferPool<f64> = BufferPool::new();

thread_local! {
    static SMALL_F32: RefCell<SmallCache<f32>> = const { RefCell::new(SmallCache::new()) };
    static SMALL_F64: RefCell<SmallCache<f64>> = const { RefCell::new(SmallCache::new()) };
}

impl sealed::Sealed for f32 {
    fn pool() -> &'static BufferPool<Self> {
        &POOL_F32
    }

    fn small_cache() -> &'static LocalKey<RefCell<SmallCache<Self>>> {
        &SMALL_F32
    }
}

impl Element for f32 {
    const NAME: &'static str = "f32";

    fn from_f64_lossy(x: f64) -> Self {
        x as f32
    }

    fn to_f64_exact(self) -> f64 {
        self as f64
    }

    fn erf(self) -> Self {
        libm::erff(self)
    }

    #[inline]
    fn tanh_accurate(self) -> Self {
        crate::cpu::math::tanh_f32(self)
    }

    #[inline]
    fn exp_accurate(self) -> Self {
        crate::cpu::math::exp_f32(self)
    }
}

impl sealed::Sealed for f64 {
    fn pool() -> &'static BufferPool<Self> {
        &POOL_F64
    }

    fn small_cache() -> &'static LocalKey<RefCell<SmallCache<Self>>> {
        &SMALL_F64
    }
}

impl Element for f64 {
    const NAME: &'static str = "f64";

    fn from_f64_lossy(x: f64) -> Self {
        x
    }

    fn to_f64_exact(self) -> f64 {
        self
    }

    fn erf(self) -> Self {
        libm::erf(self)
    }

    fn tanh_accurate(self) -> Self {
        self.tanh()
    }

    fn exp_accurate(self) -> Self {
        self.exp()
    }
}
