//! The CPU kernels: everything that touches tensor elements in bulk lives behind this boundary,
//! so that another backend can sit beside it later.
//!
//! Parallel work is split into chunks whose size does not depend on the number of threads, so a
//! result is the same bit for bit in a pool of one thread or of many; only the product kernels
//! (`packed`, `dot`) divide their work by the thread count, since none of their elements'
//! arithmetic depends on the division. Work below [`PAR_MIN`] elements never enters the rayon
//! pool: handing a tiny op to the pool costs more than doing it. Work that does enters it
//! through [`pool`], where the calling thread takes a share and the pool's threads spin
//! between ops instead of sleeping.
//! A loop of plain arithmetic may run on the widest vectors the CPU has, picked at run time
//! ([`with_wide_vectors`]), with the same bits as on the build's own.

pub(crate) mod copy;
pub(crate) mod dot;
pub(crate) mod gemm;
pub(crate) mod index;
pub(crate) mod map;
pub(crate) mod math;
pub(crate) mod memory;
pub(crate) mod packed;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod walk;

/// Operands and a harness for the tests of shendu's own matrix kernels (`packed`, `dot`).
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) mod test_support {
    use std::mem::MaybeUninit;

    use super::gemm::{MatRef, OutPtr};
    use crate::element::Element;

    /// A kernel's entry point, `gemm(m, n, k, out, a, b, parallel)`: `out = a · b` for an
    /// `m × k` by `k × n` product, dividing its work among the pool's threads when told.
    pub(crate) type Kernel<T> = for<'o, 'x> unsafe fn(
        usize,
        usize,
        usize,
        OutPtr<'o, T>,
        MatRef<'x, T>,
        MatRef<'x, T>,
        bool,
    );

    /// Runs `kernel` into a destination of NaNs, so that an element left unwritten shows; with
    /// `threads` past 1, in a pool of that many, dividing its work.
    ///
    /// # Safety
    /// The CPU runs `kernel`, and the operands meet its own conditions beyond the ones asserted
    /// here (both fit, `k > 0`).
    pub(crate) unsafe fn run<T: Element>(
        kernel: Kernel<T>,
        (m, k, n): (usize, usize, usize),
        a: MatRef<T>,
        b: MatRef<T>,
        threads: usize,
    ) -> Vec<T> {
        assert!(k > 0 && a.fits(m, k) && b.fits(k, n));
        let mut out = vec![MaybeUninit::new(T::nan()); m * n];
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        // SAFETY: `out` holds m × n elements at row stride n; the operands fit, k > 0; the rest
        // is the caller's contract.
        pool.install(|| unsafe { kernel(m, n, k, OutPtr::new(&mut out, n), a, b, threads > 1) });
        // SAFETY: the kernel writes every element.
        out.into_iter()
            .map(|x| unsafe { x.assume_init() })
            .collect()
    }

    /// Values of every magnitude and sign, with a few NaNs, infinities and zeros of both signs
    /// among them when `special`.
    pub(crate) fn values<T: Element>(len: usize, seed: u64, special: bool) -> Vec<T> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                let value = match (special, i % 397) {
                    (true, 3) => f64::NAN,
                    (true, 101) => f64::INFINITY,
                    (true, 202) => -0.0,
                    _ => unit * 2f64.powi((state % 9) as i32 - 4),
                };
                T::from(value).unwrap()
            })
            .collect()
    }
}

/// Elementwise and reduction work of fewer elements than this runs on the calling thread.
pub(crate) const PAR_MIN: usize = 1 << 15;

/// The unit of parallel elementwise work, in elements.
pub(crate) const CHUNK: usize = 1 << 14;

/// Runs `task(i, chunk)` on the rayon pool for each chunk `i` of `size` elements of `out` (the
/// last one shorter), or on the calling thread alone if the pool has one thread.
///
/// The elementwise, reduction and batched-product kernels go through here with their loops
/// behind a `dyn` closure, so that the division is compiled once per element type instead of
/// once per kernel and closure: those copies were a quarter of a training
/// binary's code, and code counts in a process's resident memory. The indirect call costs one
/// jump per chunk, and a kernel only comes here with work enough for the pool (at least
/// [`PAR_MIN`] elements, or a batch of products above the small-product bound).
#[inline(never)]
pub(crate) fn par_for_each_chunk<U: Send>(
    out: &mut [U],
    size: usize,
    task: &(dyn Fn(usize, &mut [U]) + Sync),
) {
    if !pool::divides() {
        for (i, chunk) in out.chunks_mut(size).enumerate() {
            task(i, chunk);
        }
        return;
    }
    assert!(size > 0, "par_for_each_chunk: chunks of 0 elements");
    let len = out.len();
    let base = SharedMut(out.as_mut_ptr());
    pool::for_each_part(len.div_ceil(size), &|i| {
        let start = i * size;
        // SAFETY: part i is chunk i of `out`, elements start..min(start + size, len), inside
        // `out` since i < len / size rounded up; `for_each_part` runs each part once, so no two
        // of these slices overlap, and it returns before the borrow of `out` ends.
        let chunk =
            unsafe { std::slice::from_raw_parts_mut(base.at(start), size.min(len - start)) };
        task(i, chunk);
    });
}

/// A pointer into a slice whose disjoint parts tasks on several threads write.
pub(crate) struct SharedMut<U>(pub(crate) *mut U);

// SAFETY: a `SharedMut` is only made from a unique borrow, and its users write disjoint parts of
// it, each from one thread, within that borrow (see each use).
unsafe impl<U: Send> Send for SharedMut<U> {}
// SAFETY: as for `Send`; sharing the pointer itself reads nothing.
unsafe impl<U: Send> Sync for SharedMut<U> {}

impl<U> SharedMut<U> {
    /// A pointer to element `i`.
    ///
    /// # Safety
    /// `i` is inside the slice the pointer came from.
    pub(crate) unsafe fn at(&self, i: usize) -> *mut U {
        // SAFETY: the caller's contract.
        unsafe { self.0.add(i) }
    }
}

/// Runs `body` compiled for the widest vector instructions this CPU has: AVX-512, else AVX2
/// with FMA, else the build's own target (SSE2 on a plain x86-64 build). A release build for
/// x86-64 assumes only SSE2, so without this a loop the compiler vectorises works two `f64` or
/// four `f32` lanes at a time even on a CPU that has eight or sixteen.
///
/// `body` is inlined into a copy of this function compiled with those features, as the `gemm`
/// crate does for its kernels, so it should be a small loop marked `#[inline(always)]`. The
/// result is the same bit for bit on every path: Rust never fuses a multiply and an add on its
/// own, and each lane of a vector operation rounds as the scalar operation does.
#[inline(always)]
pub(crate) fn with_wide_vectors<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, the one feature the function is compiled for.
            return unsafe { avx512(body) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA, the features the function is compiled for.
            return unsafe { avx2(body) };
        }
    }
    body()
}

/// `body`, compiled with AVX-512F.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// `body`, compiled with AVX2 and FMA.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::math::{exp_f32, tanh_f32};
    use super::{avx2, avx512};
    use crate::unary::sigmoid;

    /// `f` over `xs`, in a loop the compiler vectorises with the caller's features.
    #[inline(always)]
    fn all(xs: &[f32], f: impl Fn(f32) -> f32) -> Vec<u32> {
        xs.iter().map(|&x| f(x).to_bits()).collect()
    }

    /// The vectorized loops of one function against its value one element at a time, on every
    /// vector width this CPU has.
    #[inline(always)]
    fn check(name: &str, xs: &[f32], f: impl Fn(f32) -> f32 + Copy) {
        let one_at_a_time: Vec<u32> = xs
            .iter()
            .map(|&x| f(std::hint::black_box(x)).to_bits())
            .collect();
        assert_eq!(all(xs, f), one_at_a_time, "{name}, the build's own vectors");
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            let wide = unsafe {
                avx2(
                    #[inline(always)]
                    || all(xs, f),
                )
            };
            assert_eq!(wide, one_at_a_time, "{name}, AVX2");
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            let wide = unsafe {
                avx512(
                    #[inline(always)]
                    || all(xs, f),
                )
            };
            assert_eq!(wide, one_at_a_time, "{name}, AVX-512");
        }
    }

    #[test]
    fn each_vector_width_this_cpu_has_gives_the_bits_of_one_element_at_a_time() {
        // A grid over the functions' ranges (tanh's clamp at ±9.5, exp's at −104 and 89), and
        // their special values.
        let mut xs: Vec<f32> = (-11000..=11000).map(|i| i as f32 / 100.0).collect();
        xs.extend([
            0.0,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e-40,
            -1e-40,
            f32::MAX,
            f32::MIN,
        ]);
        check("tanh", &xs, tanh_f32);
        check("exp", &xs, exp_f32);
        check("sigmoid", &xs, sigmoid::<f32>);
    }
}
