//! The matrix-multiply kernel: one strided GEMM entry point over the `gemm` crate.
//!
//! `gemm` was chosen over `matrixmultiply` by measurement (see "Choosing the GEMM kernel" in
//! `benches/README.md`): it was as fast or faster at every W1 size, picks its SIMD kernel at run
//! time (the AVX2/FMA one on x86-64 without its `x86-v4` feature, which was slower here on
//! transposed operands), takes row and column strides for every operand, so transposed views need
//! no copy, runs on the current rayon pool, and splits work by output blocks only, never over the
//! inner dimension, so its sums do not depend on the thread count.

use gemm::Parallelism;

use crate::element::Element;

/// Multiply-adds below this many (m·n·k) run on the calling thread: a small product finishes
/// before the pool would have woken up.
const PAR_MIN_MACS: usize = 1 << 18;

/// A read-only matrix inside a buffer: element (i, j) is `data[offset + i·row_stride +
/// j·col_stride]`. Strides may be 0 (a broadcast operand).
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a, T> {
    pub data: &'a [T],
    pub offset: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<T> MatRef<'_, T> {
    /// Whether every element of a `rows × cols` matrix lies inside `data`.
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || self.offset + (rows - 1) * self.row_stride + (cols - 1) * self.col_stride
                < self.data.len()
    }
}

/// `out = a · b`, `a` being `m × k`, `b` `k × n` and `out` a row-major `m × n` slice.
/// `parallel` lets a large product use the current rayon pool.
pub(crate) fn gemm<T: Element>(
    m: usize,
    k: usize,
    n: usize,
    a: MatRef<T>,
    b: MatRef<T>,
    out: &mut [T],
    parallel: bool,
) {
    assert!(
        a.fits(m, k) && b.fits(k, n) && out.len() == m * n,
        "gemm: operand out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(T::zero());
        return;
    }
    let parallelism = if parallel && m * n * k >= PAR_MIN_MACS {
        Parallelism::Rayon(rayon::current_num_threads())
    } else {
        Parallelism::None
    };
    // SAFETY: `fits` above proves every element the kernel reads lies within `a.data` and
    // `b.data`, and `out` holds exactly m·n elements at row stride n, column stride 1. `out` is
    // a unique borrow, so it cannot alias the inputs. Strides fit in isize because they index
    // existing slices. `read_dst = false` means the old contents of `out` are never read, so
    // alpha is ignored; beta = 1 gives out = a·b.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.data.as_ptr().add(a.offset),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr().add(b.offset),
            b.col_stride as isize,
            b.row_stride as isize,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}
