//! The matrix-multiply kernel: one strided GEMM entry point over the `gemm` crate.
//!
//! `gemm` was chosen over `matrixmultiply` by measurement (see "Choosing the GEMM kernel" in
//! `benches/README.md`): it was as fast or faster at every W1 size, picks its SIMD kernel at run
//! time (AVX-512 where the CPU has it, through the crate's `x86-v4` feature, else AVX2/FMA),
//! takes row and column strides for every operand, so transposed views need no copy, and never
//! splits the inner dimension, so its sums do not depend on how the work is divided.
//!
//! A large product is divided among rayon's threads here, by blocks of output columns whose width
//! depends on the product's size alone, each block a single-threaded call of the crate. On two
//! cores that was 10–40% faster than the crate's own division at mid sizes (n = 256, and x·Wᵀ
//! with a transposed weight, whose packing the crate does on one thread), and on par at n = 2048.
//! A product whose left operand is a transposed view, as a weight's gradient gᵀ·x is, goes
//! whole to the crate's own division instead: the crate packs such an operand once per call, so
//! column blocks would pack it once per block. The choice depends on the operands' layout alone,
//! and the crate never splits the inner dimension, so the bits of a result still do not depend
//! on the thread count. See "Dividing a product among threads" in `benches/README.md`.
//!
//! Where the dot kernel takes x·Wᵀ, a left operand whose rows are not contiguous (a transposed
//! view, as gᵀ in a weight's gradient gᵀ·x) is first copied into a buffer of the tensor pool, so
//! that the crate reads it where it lies. The crate would otherwise copy it into memory of its
//! own, allocated on every call, and in a training loop those short-lived blocks fragmented the
//! heap (see [`gemm`]).
//!
//! On a CPU with AVX2 but no AVX-512, products whose sides are all at least
//! [`PACKED_MIN_SIDE`] run on shendu's own packed kernel (`packed`) instead of the crate's; it
//! divides its own work among threads, by blocks of rows that may follow the thread count, since
//! its arithmetic per element does not depend on them.
//!
//! On x86-64 with AVX2 or AVX-512, an `f32` product whose two operands both run along the inner
//! dimension, as `x·Wᵀ` with a weight stored `[out, in]` does, goes to shendu's dot kernel (`dot`)
//! where A has few rows or the output few columns ([`dot_kernel_takes`]): it reads both operands
//! where they lie, where the crate would copy the transposed one into its packed layout on every
//! call, and it allocates nothing per call, so a parallel product leaves no buffer behind in a
//! worker's heap.
//!
//! Products of at most [`SMALL_MACS`] multiply-adds skip the crate: its setup (packing, kernel
//! dispatch) costs more than the arithmetic of, say, a 10×8 by 8×8 product, and a small model's
//! training step is made of such products. They run as plain loops, laid out so that the
//! innermost one reads contiguous memory in the two layouts such a step produces: rows of B
//! (`x·W`, and every gradient product) and columns of B against rows of A (`x·Wᵀ`).

use std::marker::PhantomData;
use std::mem::MaybeUninit;

use std::any::TypeId;

use gemm_common::Parallelism;

use super::{dot, map, packed, pool, with_wide_vectors};
use crate::element::Element;
use crate::storage::{uninit_buffer, Buffer};

/// With AVX-512 kernels, products the `gemm` crate divides itself need this many multiply-adds
/// (m·n·k), twice a 128³ product, to be divided: below it, splitting a product in two gained
/// nothing reliable over one thread, because waking the second thread costs as much as the half
/// it takes over (the measurement is under "Dividing a product among threads" in
/// `benches/README.md`). Products shendu divides itself start lower, at [`SHARED_MIN_MACS`].
const PAR_MIN_MACS: usize = 1 << 22;

/// The fewest multiply-adds a product needs to be divided among threads with the kernels this
/// CPU runs. A thread's wake-up costs about the same time whatever the kernel, so the bound is
/// one of time: narrower kernels take longer over the same product (a 128³ one: about 40 µs with
/// AVX-512 on a Xeon, 116 µs with AVX2 on a Zen 1 EPYC, where a second thread made it 1.6–1.85×
/// faster), so they divide from half of [`PAR_MIN_MACS`]. The bound depends on the CPU alone,
/// never on the number of threads, so the bits of a product do not either.
fn par_min_macs() -> usize {
    if matmul_simd() == "AVX-512" {
        PAR_MIN_MACS
    } else {
        PAR_MIN_MACS / 2
    }
}

/// The fewest multiply-adds a product needs to be divided among threads when shendu divides it
/// itself (the dot kernel's parts, the column blocks), on every CPU: half of [`PAR_MIN_MACS`], a
/// 128³ product. There the calling thread takes its share and the pool's threads spin between
/// ops (`pool`), so a second thread costs no wake-up: with AVX-512 a divided 128³ product took
/// 0.70–0.78 of one thread's time, from inside a pool and from outside (`benches/README.md`,
/// thirteenth part of issue 12). The `gemm` crate's own division keeps [`par_min_macs`].
const SHARED_MIN_MACS: usize = PAR_MIN_MACS / 2;

/// Products of at most this many multiply-adds (m·n·k) use the plain loops of `small_gemm`:
/// below it they were faster than the `gemm` crate in `benches/README.md`'s measurement.
pub(crate) const SMALL_MACS: usize = 1 << 11;

/// The SIMD instruction set that matrix products run with, in this build and on this CPU:
/// `"AVX-512"`, `"AVX2+FMA"`, `"NEON"`, `"SIMD128"` or `"scalar"`.
///
/// The `gemm` crate picks its kernel once, at run time, by the CPU's features; this follows the
/// same rule, so that a speed figure can name the kernels it measured. On x86-64, AVX-512 needs
/// both a CPU with AVX-512F and a build with the `avx512` feature (on by default); without
/// either, the AVX2/FMA kernels run. Products too small for the crate, and most elementwise
/// kernels, are plain Rust compiled for the build's target, whatever this says; the `f32` tanh
/// picks the widest vectors the CPU has at run time.
///
/// ```
/// let simd = shendu_tensor::matmul_simd();
/// assert!(["AVX-512", "AVX2+FMA", "NEON", "SIMD128", "scalar"].contains(&simd));
/// ```
pub fn matmul_simd() -> &'static str {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if cfg!(feature = "avx512") && std::arch::is_x86_feature_detected!("avx512f") {
            "AVX-512"
        } else if std::arch::is_x86_feature_detected!("fma") {
            "AVX2+FMA"
        } else {
            "scalar"
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            "NEON"
        } else {
            "scalar"
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        if gemm_common::get_wasm_simd128() {
            "SIMD128"
        } else {
            "scalar"
        }
    }
    #[cfg(not(any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "wasm32"
    )))]
    {
        "scalar"
    }
}

/// A read-only matrix inside a buffer: element (i, j) is `data[offset + i·row_stride +
/// j·col_stride]`. Strides may be 0 (a broadcast operand).
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a, T> {
    pub data: &'a [T],
    pub offset: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a, T: Copy> MatRef<'a, T> {
    /// The row-major matrix with rows of `cols` elements that fills `data`.
    fn rows_of(data: &'a [T], cols: usize) -> Self {
        MatRef {
            data,
            offset: 0,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// Element (i, j), without a bounds check: the small-product loops read every element of
    /// both operands once per row or column of the other, and the checks were a sixth of a small
    /// model's step.
    ///
    /// # Safety
    /// `self.fits(rows, cols)` holds for some `rows > i` and `cols > j`. Then the position is at
    /// most the last one `fits` computed without overflow, so it neither wraps nor passes the end.
    #[inline(always)]
    unsafe fn at_unchecked(&self, i: usize, j: usize) -> T {
        let at = self.offset + i * self.row_stride + j * self.col_stride;
        debug_assert!(at < self.data.len());
        // SAFETY: in bounds by the caller's contract (see above).
        unsafe { *self.data.get_unchecked(at) }
    }

    /// Whether every element of a `rows × cols` matrix lies inside `data`. The last element's
    /// position is computed with checked arithmetic: one past `usize::MAX` is out of bounds, not
    /// wrapped around to a small position that looks in bounds.
    pub(crate) fn fits(&self, rows: usize, cols: usize) -> bool {
        if rows == 0 || cols == 0 {
            return true;
        }
        let last = (rows - 1)
            .checked_mul(self.row_stride)
            .zip((cols - 1).checked_mul(self.col_stride))
            .and_then(|(down, across)| down.checked_add(across))
            .and_then(|from_first| from_first.checked_add(self.offset));
        last.is_some_and(|last| last < self.data.len())
    }

    /// The same matrix with the stride of a dimension of size 1 set to 0 when it does not fit in
    /// `isize`: it is only ever multiplied by index 0, and the kernel takes strides as `isize`.
    fn with_isize_strides(self, rows: usize, cols: usize) -> Self {
        let fix = |len: usize, stride: usize| {
            if len <= 1 && stride > isize::MAX as usize {
                0
            } else {
                stride
            }
        };
        MatRef {
            row_stride: fix(rows, self.row_stride),
            col_stride: fix(cols, self.col_stride),
            ..self
        }
    }
}

/// `out = a · b`, `a` being `m × k`, `b` `k × n` and `out` a row-major `m × n` slice. Every
/// element of `out` is written and none is read, so `out` may come uninitialized.
/// `parallel` lets a large product use the current rayon pool.
pub(crate) fn gemm<T: Element>(
    m: usize,
    k: usize,
    n: usize,
    a: MatRef<T>,
    b: MatRef<T>,
    out: &mut [MaybeUninit<T>],
    parallel: bool,
) {
    assert!(
        a.fits(m, k) && b.fits(k, n) && m.checked_mul(n) == Some(out.len()),
        "gemm: operand out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for slot in out.iter_mut() {
            slot.write(T::zero());
        }
        return;
    }
    let (a, b) = (a.with_isize_strides(m, k), b.with_isize_strides(k, n));
    // m·n is out.len(); times k it may pass usize when an operand is a broadcast view.
    let macs = (m * n).saturating_mul(k);
    if macs <= SMALL_MACS {
        with_wide_vectors(
            #[inline(always)]
            || {
                // SAFETY: `a` fits m × k and `b` k × n, as asserted above; `with_isize_strides`
                // only zeroes the stride of a dimension of size 1, whose one index is 0, so they
                // still fit.
                unsafe { small_gemm(k, n, a, b, out) }
            },
        );
        return;
    }
    let out = OutPtr::new(out, n);
    // Whether to divide the product, for a kernel that divides from `bound` multiply-adds.
    let divides_from = |bound: usize| parallel && macs >= bound && pool::divides();
    if TypeId::of::<T>() == TypeId::of::<f32>()
        && a.col_stride == 1
        && b.row_stride == 1
        && dot_kernel_takes(m, k, n)
        && dot::available()
    {
        // SAFETY: as for the calls below, with the unit strides just checked; `available`
        // holds and m, n, k > 0. Whether it divides the product is no part of the contract:
        // its parts write disjoint rows or columns of `out`, which it holds alone for the call.
        unsafe { dot::gemm(m, n, k, out, a, b, divides_from(SHARED_MIN_MACS)) };
        return;
    }
    if m.min(n).min(k) >= PACKED_MIN_SIDE && uses_packed_kernel() {
        // SAFETY: as for the calls below; `with_isize_strides` has run, k > 0, and
        // `uses_packed_kernel` checked `packed::available`. Dividing the product, or not, is
        // no part of the contract, as for the dot kernel above.
        unsafe { packed::gemm(m, n, k, out, a, b, divides_from(par_min_macs())) };
        return;
    }
    // The crate would copy a left operand whose rows are not contiguous (a transposed view, as
    // gᵀ in a weight's gradient gᵀ·x) into memory it allocates on every call. Between a training
    // step's other allocations those blocks left holes that the heap grew past, step after step:
    // W3's RSS rose by 0.6 MiB on one thread and 0.9–1.1 on two over its first dozen steps on an
    // AMD EPYC (Zen 4), and not at all with the copy made here instead, into a buffer of the
    // tensor pool that the next step takes again (`benches/README.md`, seventeenth part of
    // issue 12). The crate then reads A where it lies. Only where the dot kernel takes x·Wᵀ
    // (f32, on x86-64 with AVX2 or AVX-512), though: elsewhere the crate also copies the
    // transposed weight of every x·Wᵀ on each call, so the heap fragments anyway, and the copy
    // of gᵀ only added its buffers to it (on one thread, W3's RSS was 0.5–0.7 MiB higher with the
    // copy than without, on the same EPYC in a build with AVX2, before the dot kernel ran there).
    let a_rows_apart = k > 1 && a.col_stride != 1;
    let a_is_copied = a_rows_apart && TypeId::of::<T>() == TypeId::of::<f32>() && dot::available();
    let rows_of_a;
    let a = match a_is_copied.then(|| contiguous_rows(m, k, a)) {
        Some(Some(copy)) => {
            rows_of_a = copy;
            MatRef::rows_of(&rows_of_a, k)
        }
        _ => a,
    };
    let cols = column_block(n);
    // A narrow product (one column block), or one whose A has no contiguous rows, is left to the
    // crate's own division, by rows. The crate packs such an A once per call, where column blocks
    // would pack it once per block; and where A was copied above, the crate's division was still
    // 5–15% faster than column blocks on two threads at W3's gradient shapes (128×128×256,
    // 784×128×256). Not from a thread outside the pool, though, which the crate's division would
    // leave asleep until the pool's threads are done, and which would then wait to be woken;
    // there a packed A is packed once per column block, which took 0.72–0.99 of the time
    // (`benches/README.md`, thirteenth part of issue 12).
    let crate_divides = cols >= n || (a_rows_apart && rayon::current_thread_index().is_some());
    let parallel = divides_from(if crate_divides {
        par_min_macs()
    } else {
        SHARED_MIN_MACS
    });
    // `out` comes from a unique borrow of exactly m·n elements at row stride n (m·n checked
    // above without overflow), and `a` and `b` fit m × k and k × n.
    if !parallel {
        // SAFETY: the whole product into the whole of `out`, on this thread.
        unsafe { gemm_into(m, n, k, out, a, b, Parallelism::None) };
    } else if crate_divides {
        let threads = Parallelism::Rayon(rayon::current_num_threads());
        // SAFETY: as above; the crate divides the product among the pool's threads itself.
        unsafe { gemm_into(m, n, k, out, a, b, threads) };
    } else {
        pool::for_each_part(n.div_ceil(cols), &|block| {
            let j = block * cols;
            let b = MatRef {
                offset: b.offset + j * b.col_stride,
                ..b
            };
            // SAFETY: block j writes columns j..j + width of every row, with j + width ≤ n, so
            // `out.at(j)` stays in the slice; `for_each_part` runs each block once, so no two
            // threads write one element. Its `b` starts at column j < n, whose offset
            // j·col_stride is at most the (n − 1)·col_stride that `fits` computed without
            // overflow.
            unsafe { gemm_into(m, cols.min(n - j), k, out.at(j), a, b, Parallelism::None) };
        });
    }
}

/// `matrix`, of `rows × cols` elements (`cols > 0`), copied into a row-major buffer of the tensor
/// pool; `None` if `rows · cols` overflows, as it may for a broadcast view, which the crate then
/// reads as it is.
fn contiguous_rows<T: Element>(rows: usize, cols: usize, matrix: MatRef<T>) -> Option<Buffer<T>> {
    let mut out = uninit_buffer::<T>(rows.checked_mul(cols)?);
    let MatRef {
        data,
        offset,
        row_stride,
        col_stride,
    } = matrix;
    if row_stride == 1 {
        // A transposed view: a matrix whose columns are contiguous, copied tile by tile.
        map::transposed(&data[offset..], rows, cols, col_stride, &mut out, &|x| x);
    } else {
        for (i, row) in out.chunks_mut(cols).enumerate() {
            for (j, slot) in row.iter_mut().enumerate() {
                slot.write(data[offset + i * row_stride + j * col_stride]);
            }
        }
    }
    // SAFETY: both branches write each of the rows · cols elements: `transposed` every element
    // of a `rows × cols` output, the loop every (i, j).
    Some(unsafe { out.assume_init() })
}

/// The packed kernel takes products whose three dimensions are all at least this. It ran
/// 9–23% faster than the `gemm` crate's AVX2 kernel on square products from 256 up, but the
/// products of a small model's step (W3's 128×784×256, 10×128×128, ...) ran as fast or faster
/// on the crate, whose packing keeps less in L2. The choice depends on the shape alone, never
/// on the number of threads.
const PACKED_MIN_SIDE: usize = 256;

/// Whether the CPU's large products run on shendu's own packed kernel (`packed`) rather than the
/// `gemm` crate's: on CPUs with AVX2 and FMA but no AVX-512 (or a build without the `avx512`
/// feature), where it was the faster of the two. The answer depends on the CPU alone.
fn uses_packed_kernel() -> bool {
    static PACKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PACKED.get_or_init(|| matmul_simd() == "AVX2+FMA" && packed::available())
}

/// Whether an `f32` product whose operands both run along the inner dimension (`x·Wᵀ`) goes to
/// the dot kernel (`dot`), on a CPU that has it, rather than to the `gemm` crate. The crate packs
/// the transposed operand on every call, a cost spread over the rows of A, while the dot kernel
/// pays a fixed cost per output element (summing its lanes): so the dot kernel is the faster
/// where A has few rows and the inner dimension is long, and where the output has few columns,
/// which the crate's tiles fill poorly. On an Intel Xeon with AVX-512, one thread, n ≥ 64 and
/// k ≥ 256, the dot kernel took 0.04–0.73 of the crate's time for m ≤ 7 (but for m = 1 and a
/// weight past L2's size, 0.98), 0.15–0.97 for 8 ≤ m ≤ 64, 0.7–1.1 for m = 128 and 0.8–1.5 (1.1
/// on the median) from m = 256 on; for k ≤ 128, 1.1–2.7 from m = 32 on. For n = 10 it took
/// 0.3–1.0 of the crate's time from m = 32 on, but 0.6–1.7 below (`benches/README.md`, twelfth
/// part of issue 12). On an AMD EPYC (Zen 4), n ≥ 64, one thread, each width of the dot kernel
/// against the crate's kernels of the same width: for 64 ≤ k < 256 the dot kernel ran at
/// 0.95–3.6 times the crate's speed up to m = 16 (3 shapes of 32 below 1, with AVX-512) and at
/// 0.49–0.97 from m = 64 on; for k ≥ 256 and m = 128, at 0.79–1.02 with AVX2 (8 lanes) and
/// 0.94–1.97 with AVX-512 (eighteenth part). The rule depends on the shape alone, so the bits of
/// a result do not depend on the number of threads.
fn dot_kernel_takes(m: usize, k: usize, n: usize) -> bool {
    k >= 64
        && if n < 16 {
            m >= 16
        } else {
            m <= 16 || (m <= 128 && k >= 256)
        }
}

/// Width of the column blocks a parallel product is divided into: about a quarter of the
/// columns, a multiple of 16 (whole kernel tiles), and at least 64, so that a block's share of
/// packing A stays small. It depends on n alone, so the division, and with it every bit of the
/// result, is the same whatever the number of threads.
fn column_block(n: usize) -> usize {
    n.div_ceil(4).next_multiple_of(16).max(64)
}

/// Where a product's output goes: element (i, j) at `ptr + i·row_stride + j`. Shared by the
/// blocks of a parallel product, which write disjoint columns. It holds the unique borrow of the
/// output slice for `'a`, so it cannot outlive the slice it points into.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr<'a, T> {
    pub(crate) ptr: *mut T,
    pub(crate) row_stride: usize,
    _borrow: PhantomData<&'a mut [MaybeUninit<T>]>,
}

// SAFETY: moving it to another thread moves the right to write its elements, which `T: Send`
// allows; the borrow it holds keeps every other access to the slice out meanwhile.
unsafe impl<T: Send> Send for OutPtr<'_, T> {}
// SAFETY: the threads that share it write disjoint elements (see `gemm`), never the same one,
// and no thread reads through it.
unsafe impl<T: Send> Sync for OutPtr<'_, T> {}

impl<'a, T> OutPtr<'a, T> {
    /// The output `out`, rows of `row_stride` elements.
    pub(crate) fn new(out: &'a mut [MaybeUninit<T>], row_stride: usize) -> Self {
        OutPtr {
            // `MaybeUninit<T>` has the layout of `T`.
            ptr: out.as_mut_ptr().cast(),
            row_stride,
            _borrow: PhantomData,
        }
    }

    /// The output from column `j` on. A method, so that closures capture the whole `OutPtr`.
    fn at(self, j: usize) -> Self {
        OutPtr {
            ptr: self.ptr.wrapping_add(j),
            ..self
        }
    }
}

/// `out = a · b` for an `m × n` output, by the `gemm` crate. It writes every element of `out`
/// and reads none, so they may be uninitialized.
///
/// # Safety
/// `out` must be valid for writes of its m × n elements, and no other thread may access them
/// during the call; `a` and `b` must hold an `m × k` and a `k × n` matrix (`fits`).
unsafe fn gemm_into<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    out: OutPtr<'_, T>,
    a: MatRef<T>,
    b: MatRef<T>,
    parallelism: Parallelism,
) {
    // SAFETY: the caller vouches for `out`; `fits` (checked by `gemm`, with overflow checks)
    // proves that the last element of each operand, offset + (rows − 1)·row_stride +
    // (cols − 1)·col_stride, lies within its slice, so every element the kernel reads does, and
    // `add(offset)` stays inside the allocation. The slices cannot alias `out`'s unique borrow.
    // None of the kernel's address arithmetic can wrap: every position it forms is at most that
    // of a last element, inside a slice, and a slice spans at most isize::MAX bytes. Each
    // stride converts to isize exactly: along a dimension of n ≥ 2 it is at most
    // (n − 1)·stride < len ≤ isize::MAX, and along one of size 1 `gemm` has replaced any stride
    // past isize::MAX by 0; `out`'s row stride is n ≤ m·n = its length. `read_dst = false`
    // means the old contents of `out` are never read, so alpha is ignored; beta = 1 gives
    // out = a·b. That makes an uninitialized `out` sound: gemm-common 0.19 turns
    // `read_dst = false` into alpha = 0, and each of its paths (the packed kernels, gemv,
    // the outer products, k = 0) then stores into the destination without loading it first,
    // writing every one of its m × n elements. A test runs every path on a destination of
    // NaNs: a load scaled by 0 would leave a NaN.
    //
    // The kernel is the f32 or f64 one of the crate, chosen by `T` (an `Element` is one of the
    // two), each called with pointers of its own type: the casts below change no address and
    // no element type, since `T` is that type.
    // SAFETY: each offset is inside its slice (`fits`), so `add` stays in the allocation.
    let (a_ptr, b_ptr) = unsafe { (a.data.as_ptr().add(a.offset), b.data.as_ptr().add(b.offset)) };
    // The kernels prefer a column-major destination; a row-major one (a row stride past 1) is
    // the transposed problem, outᵀ = bᵀ·aᵀ, with the operands' roles and strides swapped (what
    // the crate's own `gemm` entry point does before it dispatches).
    let (rows, cols, dst_cs, dst_rs, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs) =
        if 1 < out.row_stride {
            let (out_rs, a_cs, a_rs, b_cs, b_rs) = (
                out.row_stride as isize,
                a.col_stride as isize,
                a.row_stride as isize,
                b.col_stride as isize,
                b.row_stride as isize,
            );
            (n, m, out_rs, 1, b_ptr, b_rs, b_cs, a_ptr, a_rs, a_cs)
        } else {
            (
                m,
                n,
                1,
                out.row_stride as isize,
                a_ptr,
                a.col_stride as isize,
                a.row_stride as isize,
                b_ptr,
                b.col_stride as isize,
                b.row_stride as isize,
            )
        };
    // One call, with the kernel and the element type of `T`.
    macro_rules! kernel {
        ($float:ty, $get:path) => {
            // SAFETY: as above; `T` is `$float`, so the casts keep each pointer's type and
            // address.
            unsafe {
                $get()(
                    rows,
                    cols,
                    k,
                    out.ptr.cast::<$float>(),
                    dst_cs,
                    dst_rs,
                    false,
                    lhs.cast::<$float>(),
                    lhs_cs,
                    lhs_rs,
                    rhs.cast::<$float>(),
                    rhs_cs,
                    rhs_rs,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    parallelism,
                )
            }
        };
    }
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        kernel!(f32, gemm_f32::gemm::f32::get_gemm_fn);
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        kernel!(f64, gemm_f64::gemm::f64::get_gemm_fn);
    } else {
        unreachable!("an Element is f32 or f64");
    }
}

/// `out = a · b` by plain loops, for products too small for the `gemm` crate's setup to pay off.
/// Each output element is summed over the inner dimension in order, so the result depends on
/// the operands alone, not on their layout.
///
/// The loops read without bounds checks, which were a sixth of a small model's step; `gemm`
/// has checked the operands once already. `gemm` runs them on the widest vectors the CPU has
/// (`with_wide_vectors`), across the columns of an output row, which leaves each sum's order
/// as it is.
///
/// # Safety
/// `out.len()` is m·n for some m, with `a` fitting m × k and `b` k × n ([`MatRef::fits`]).
#[inline(always)]
unsafe fn small_gemm<T: Element>(
    k: usize,
    n: usize,
    a: MatRef<T>,
    b: MatRef<T>,
    out: &mut [MaybeUninit<T>],
) {
    // The loops read rows of b as slices. A b with other strides (a transposed weight) is first
    // copied into rows on the stack when it fits, since every row of a reads all of b; a larger
    // one (few rows of a) is read element by element where it lies.
    const PACKED: usize = 256;
    if b.col_stride == 1 {
        // SAFETY: the caller's contract, and b's column stride is 1 (`UNIT`).
        unsafe { small_gemm_rows::<T, true>(k, n, &a, &b, out) };
    } else if k * n <= PACKED {
        let mut rows = [T::zero(); PACKED];
        // Read along b's storage order (down its columns when it is a transposed view).
        for j in 0..n {
            for p in 0..k {
                // SAFETY: p < k and j < n, inside what `b` fits.
                rows[p * n + j] = unsafe { b.at_unchecked(p, j) };
            }
        }
        let packed = MatRef {
            data: &rows[..k * n],
            offset: 0,
            row_stride: n,
            col_stride: 1,
        };
        // SAFETY: `a` as the caller's contract says; the copy is exactly k rows of n with
        // column stride 1, so it fits k × n.
        unsafe { small_gemm_rows::<T, true>(k, n, &a, &packed, out) };
    } else {
        // SAFETY: the caller's contract; without `UNIT` any column stride is allowed.
        unsafe { small_gemm_rows::<T, false>(k, n, &a, &b, out) };
    }
}

/// The loops of [`small_gemm`]; `UNIT` says that b's column stride is 1.
///
/// # Safety
/// As for [`small_gemm`], and with `UNIT`, b's column stride is 1.
#[inline(always)]
unsafe fn small_gemm_rows<T: Element, const UNIT: bool>(
    k: usize,
    n: usize,
    a: &MatRef<T>,
    b: &MatRef<T>,
    out: &mut [MaybeUninit<T>],
) {
    let m = out.len().checked_div(n).unwrap_or(0);
    debug_assert!(
        a.fits(m, k) && b.fits(k, n) && (!UNIT || b.col_stride == 1) && m * n == out.len()
    );
    // Rows in groups of ROWS, then one at a time: each output element is its own chain of
    // dependent additions (the sum over p in order), and a group runs ROWS chains side by side
    // where one row alone would wait for each addition before the next.
    const ROWS: usize = 4;
    let mut i = 0;
    while i + ROWS <= m {
        // SAFETY: rows i..i + ROWS < m of a, with `a` fitting m × k and `b` k × n; `out` holds
        // m rows of n (the contract).
        unsafe { row_group::<T, ROWS, UNIT>(k, n, a, i, b, out) };
        i += ROWS;
    }
    while i < m {
        // SAFETY: as above, with row i < m.
        unsafe { row_group::<T, 1, UNIT>(k, n, a, i, b, out) };
        i += 1;
    }
}

/// Rows `i..i + R` of a · b, written into `out` (row-major, n columns): output blocks of 8
/// columns, then 4, then single columns, each summed over p in registers.
///
/// # Safety
/// `a` fits at least `i + R` rows of `k` columns and `b` `k` rows of `n` columns (see
/// [`MatRef::fits`]), `out` holds at least `(i + R) · n` elements; with `UNIT`, b's column stride
/// is 1.
#[inline(always)]
unsafe fn row_group<T: Element, const R: usize, const UNIT: bool>(
    k: usize,
    n: usize,
    a: &MatRef<T>,
    i: usize,
    b: &MatRef<T>,
    out: &mut [MaybeUninit<T>],
) {
    let mut put = |j: usize, block: &[[T; 8]; R], width: usize| {
        for (r, values) in block.iter().enumerate() {
            let row = &mut out[(i + r) * n + j..(i + r) * n + j + width];
            for (slot, &value) in row.iter_mut().zip(values) {
                slot.write(value);
            }
        }
    };
    let mut j = 0;
    while j + 8 <= n {
        // SAFETY: rows i..i + R and columns j..j + 8 ≤ n lie inside what the operands fit.
        let block = unsafe { row_block::<T, R, 8, UNIT>(k, a, i, b, j) };
        put(j, &block, 8);
        j += 8;
    }
    if j + 4 <= n {
        // SAFETY: as above, with j + 4 ≤ n.
        let block = unsafe { row_block::<T, R, 4, UNIT>(k, a, i, b, j) };
        put(j, &block.map(widen), 4);
        j += 4;
    }
    while j < n {
        // SAFETY: as above, with j + 1 ≤ n.
        let block = unsafe { row_block::<T, R, 1, UNIT>(k, a, i, b, j) };
        put(j, &block.map(widen), 1);
        j += 1;
    }
}

/// A block of W ≤ 8 sums in the first W places of 8, for [`row_group`]'s one store loop.
#[inline(always)]
fn widen<T: Element, const W: usize>(values: [T; W]) -> [T; 8] {
    std::array::from_fn(|w| if w < W { values[w] } else { T::zero() })
}

/// Columns `j..j + W` of rows `i..i + R` of a · b. Fixed-size accumulators stay in registers,
/// where accumulating into the output would wait on a store and a load for every step of the
/// inner dimension. With `UNIT` (b's columns adjacent) each step reads W adjacent elements of
/// b's row p, once for all R rows.
///
/// # Safety
/// `a` fits at least `i + R` rows of `k` columns and `b` `k` rows of at least `j + W` columns
/// (see [`MatRef::fits`]); with `UNIT`, b's column stride is 1.
#[inline(always)]
unsafe fn row_block<T: Element, const R: usize, const W: usize, const UNIT: bool>(
    k: usize,
    a: &MatRef<T>,
    i: usize,
    b: &MatRef<T>,
    j: usize,
) -> [[T; W]; R] {
    let mut acc = [[T::zero(); W]; R];
    for p in 0..k {
        let b_row: [T; W] = if UNIT {
            let start = b.offset + p * b.row_stride + j;
            // SAFETY: elements (p, j..j + W) of `b` lie inside what it fits, and with a column
            // stride of 1 they are the W adjacent elements from `start`; `[T; W]` has T's
            // alignment.
            unsafe { *b.data.as_ptr().add(start).cast::<[T; W]>() }
        } else {
            // SAFETY: p < k and j + w < j + W lie inside what `b` fits.
            std::array::from_fn(|w| unsafe { b.at_unchecked(p, j + w) })
        };
        for (r, sums) in acc.iter_mut().enumerate() {
            // SAFETY: row i + r < i + R and p < k lie inside what `a` fits.
            let a_ip = unsafe { a.at_unchecked(i + r, p) };
            for (sum, &b_pj) in sums.iter_mut().zip(&b_row) {
                *sum += a_ip * b_pj;
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use std::mem::MaybeUninit;

    use super::{column_block, gemm, MatRef, PAR_MIN_MACS, SHARED_MIN_MACS};
    use crate::element::Element;

    /// Whole numbers in -4..=4 from a fixed formula: products and sums of a few hundred of them
    /// are whole numbers far below 2^24, exact in f32 and f64 whatever the order of the additions,
    /// so a blocked kernel must match the plain loop exactly.
    fn small_ints(len: usize, seed: usize) -> Vec<f64> {
        (0..len)
            .map(|i| ((i * 7 + seed * 13 + i / 5) % 9) as f64 - 4.0)
            .collect()
    }

    /// The `rows × cols` matrix stored at `offset` in `data` with the given strides, as a plain
    /// row-major `Vec<f64>`.
    fn dense(m: &MatRef<f64>, rows: usize, cols: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                out.push(m.data[m.offset + i * m.row_stride + j * m.col_stride]);
            }
        }
        out
    }

    /// a · b by the textbook triple loop in f64.
    fn triple_loop(m: usize, k: usize, n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    out[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        out
    }

    /// Runs `gemm` with `parallel = true` inside a pool of two threads, in `T`, on operands given
    /// as f64 storage, and compares with the triple loop exactly.
    fn check<T: Element>(m: usize, k: usize, n: usize, a: MatRef<f64>, b: MatRef<f64>) {
        let want = triple_loop(m, k, n, &dense(&a, m, k), &dense(&b, k, n));
        let cast = |v: &[f64]| -> Vec<T> { v.iter().map(|&x| T::from_f64_lossy(x)).collect() };
        let (a_data, b_data) = (cast(a.data), cast(b.data));
        let a_t = MatRef {
            data: &a_data,
            offset: a.offset,
            row_stride: a.row_stride,
            col_stride: a.col_stride,
        };
        let b_t = MatRef {
            data: &b_data,
            offset: b.offset,
            row_stride: b.row_stride,
            col_stride: b.col_stride,
        };
        // NaN in the destination: a kernel path that loaded it, even scaled by 0, would show.
        let mut out = filled(m * n, T::nan());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| gemm(m, k, n, a_t, b_t, &mut out, true));
        for (i, (got, &w)) in read(&out).into_iter().zip(&want).enumerate() {
            assert_eq!(
                got.to_f64_exact(),
                w,
                "{} {m}x{k}x{n}: element ({}, {})",
                T::NAME,
                i / n,
                i % n
            );
        }
    }

    /// Small products of values that round (not whole numbers) against a loop that sums each
    /// element over the inner dimension in order, one element at a time, bit for bit: the
    /// small-product loops run on the widest vectors the CPU has, and wider vectors must not
    /// change a sum's order.
    fn small_products_match_the_in_order_sum<T: Element>() {
        let value = |i: usize| T::from_f64_lossy(((i * 2654435761) % 1000) as f64 / 97.0 - 5.0);
        for (m, k, n) in [
            (10, 2, 8),
            (10, 8, 8),
            (10, 8, 1),
            (3, 7, 13),
            (1, 20, 20),
            (5, 5, 17),
        ] {
            assert!(m * k * n <= super::SMALL_MACS);
            let a: Vec<T> = (0..m * k).map(value).collect();
            let b: Vec<T> = (0..k * n).map(|i| value(i + 7)).collect();
            let bt: Vec<T> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            let a_ref = MatRef {
                data: &a,
                offset: 0,
                row_stride: k,
                col_stride: 1,
            };
            let mut want = Vec::with_capacity(m * n);
            for i in 0..m {
                for j in 0..n {
                    let mut sum = T::zero();
                    for p in 0..k {
                        sum += std::hint::black_box(a[i * k + p]) * b[p * n + j];
                    }
                    want.push(sum.to_f64_exact().to_bits());
                }
            }
            // b row-major, then b as the transposed view of its transpose.
            for (data, row_stride, col_stride) in [(&b, n, 1), (&bt, 1, k)] {
                let b_ref = MatRef {
                    data,
                    offset: 0,
                    row_stride,
                    col_stride,
                };
                let mut out = filled(m * n, T::nan());
                gemm(m, k, n, a_ref, b_ref, &mut out, false);
                let got: Vec<u64> = read(&out)
                    .into_iter()
                    .map(|x| x.to_f64_exact().to_bits())
                    .collect();
                assert!(
                    got == want,
                    "{} {m}x{k}x{n}, b's column stride {col_stride}",
                    T::NAME
                );
            }
        }
    }

    #[test]
    fn small_products_of_rounding_values_match_the_in_order_sum_bit_for_bit() {
        small_products_match_the_in_order_sum::<f32>();
        small_products_match_the_in_order_sum::<f64>();
    }

    /// A destination holding `value` in every element, as a reused buffer holds old values.
    fn filled<T: Copy>(len: usize, value: T) -> Vec<MaybeUninit<T>> {
        vec![MaybeUninit::new(value); len]
    }

    /// The elements of a destination made by `filled`.
    fn read<T: Copy>(slots: &[MaybeUninit<T>]) -> Vec<T> {
        // SAFETY: `filled` initialized every slot, and `gemm` only ever writes values.
        slots
            .iter()
            .map(|slot| unsafe { slot.assume_init() })
            .collect()
    }

    /// A row-major `rows × cols` matrix at `offset` in a buffer with a little room around it.
    fn row_major(data: &[f64], offset: usize, cols: usize) -> MatRef<'_, f64> {
        MatRef {
            data,
            offset,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// A column-major matrix of `rows` rows at `offset`: the transpose of a row-major one.
    fn col_major(data: &[f64], offset: usize, rows: usize) -> MatRef<'_, f64> {
        MatRef {
            data,
            offset,
            row_stride: 1,
            col_stride: rows,
        }
    }

    #[test]
    fn a_matrix_whose_last_position_wraps_around_does_not_fit() {
        // Two rows 2^64 − 11 apart and 12 columns: the last element sits at 2^64, which wrapped
        // around to 0 and looked in bounds of 64 elements.
        let data = [0.0f64; 64];
        let wraps = MatRef {
            data: &data,
            offset: 0,
            row_stride: usize::MAX - 10,
            col_stride: 1,
        };
        assert!(!wraps.fits(2, 12));
        assert!(wraps.fits(1, 12) && wraps.fits(2, 0));
        let far = MatRef {
            offset: usize::MAX,
            row_stride: 0,
            ..wraps
        };
        assert!(!far.fits(1, 2));
        // The shape of the matmul that read out of bounds: 64 × (2^62 + 1) by (2^62 + 1) × 64.
        let k = (1usize << 62) + 1;
        let a = MatRef {
            data: &data,
            offset: 0,
            row_stride: k,
            col_stride: 1,
        };
        assert!(!a.fits(64, k));
        let mut out = [MaybeUninit::<f64>::uninit(); 64 * 64];
        let msg = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            gemm(64, k, 64, a, a, &mut out, false)
        }))
        .expect_err("gemm must refuse operands out of bounds");
        assert_eq!(
            msg.downcast_ref::<&str>(),
            Some(&"gemm: operand out of bounds")
        );
    }

    #[test]
    fn a_unit_dimension_may_have_any_stride() {
        // A 1 × k row whose row stride does not fit in isize: the product is still right.
        let (k, n) = (300, 40);
        let (a, b) = (small_ints(k, 9), small_ints(k * n, 10));
        let row = MatRef {
            data: &a,
            offset: 0,
            row_stride: usize::MAX,
            col_stride: 1,
        };
        let mut out = filled(n, f64::NAN);
        gemm(1, k, n, row, row_major(&b, 0, n), &mut out, false);
        assert_eq!(read(&out), triple_loop(1, k, n, &a, &b));
    }

    #[test]
    fn every_kernel_path_writes_each_element_without_reading_it() {
        // The destination starts as NaN (see `check`), as a reused buffer holds old values and a
        // fresh one none: each path of the crate must store, never load and scale by 0. Shapes
        // for its matrix-vector products (m = 1, n = 1), its outer product (k = 1), its kernel
        // for outputs of at most 16 × 16 with a long inner dimension, partial tiles, k = 0, the
        // plain loops, and the same with transposed operands; with AVX2 or AVX-512, x·Wᵀ of a
        // narrow output (40, 300, 10) and of few rows (100, 300, 50, 1, 300, 500, and 16, 100,
        // 40 with its short inner dimension) runs on the dot kernel, and (1, 50, 500) keeps x·Wᵀ
        // on the crate's matrix-vector path.
        let shapes = [
            (1, 300, 500),
            (1, 50, 500),
            (500, 300, 1),
            (200, 1, 300),
            (8, 2000, 8),
            (13, 37, 29),
            (3, 0, 4),
            (2, 3, 4),
            (40, 300, 10),
            (100, 300, 50),
            (16, 100, 40),
        ];
        for (m, k, n) in shapes {
            let (a, b) = (small_ints(m * k, 11), small_ints(k * n, 12));
            check::<f32>(m, k, n, row_major(&a, 0, k), row_major(&b, 0, n));
            check::<f64>(m, k, n, row_major(&a, 0, k), row_major(&b, 0, n));
            let (a_t, b_t) = (col_major(&a, 0, m), col_major(&b, 0, k));
            check::<f32>(m, k, n, a_t, b_t);
            check::<f64>(m, k, n, a_t, b_t);
            // x·Wᵀ: the layout that the crate's small-output kernel needs.
            check::<f32>(m, k, n, row_major(&a, 0, k), b_t);
            check::<f64>(m, k, n, row_major(&a, 0, k), b_t);
        }
    }

    #[test]
    fn large_products_match_the_triple_loop_and_keep_their_bits_on_any_number_of_threads() {
        // Every side ≥ PACKED_MIN_SIDE: on an AVX2 CPU the packed kernel, its row blocks
        // shared among 2 or 5 threads; on others the crate's.
        let (m, k, n) = (300, 600, 270);
        assert!(m.min(k).min(n) >= super::PACKED_MIN_SIDE);
        let (a, b) = (small_ints(m * k + 3, 3), small_ints(k * n + 5, 4));
        check::<f32>(m, k, n, row_major(&a, 3, k), row_major(&b, 5, n));
        check::<f64>(m, k, n, col_major(&a, 3, m), col_major(&b, 5, k));
        // Values that round: the same bits whatever the number of threads.
        let value = |i: usize| ((i * 2654435761) % 1000) as f32 / 97.0 - 5.0;
        let (a, b): (Vec<f32>, Vec<f32>) = (
            (0..m * k).map(value).collect(),
            (0..k * n).map(|i| value(i + 9)).collect(),
        );
        let a = MatRef {
            data: &a,
            offset: 0,
            row_stride: k,
            col_stride: 1,
        };
        let b = MatRef {
            data: &b,
            offset: 0,
            row_stride: n,
            col_stride: 1,
        };
        let on = |threads: usize| {
            let mut out = filled(m * n, f32::NAN);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| gemm(m, k, n, a, b, &mut out, true));
            read(&out).into_iter().map(f32::to_bits).collect::<Vec<_>>()
        };
        let one = on(1);
        assert_eq!(one, on(2));
        assert_eq!(one, on(5));
    }

    #[test]
    fn whole_width_parallel_branch_matches_the_triple_loop() {
        // n ≤ 64: one column block as wide as the output, left to the crate's own division.
        let (m, k, n) = (256, 384, 48);
        assert!(column_block(n) >= n && m * n * k >= PAR_MIN_MACS);
        let (a, b) = (small_ints(m * k + 3, 1), small_ints(k * n + 5, 2));
        check::<f32>(m, k, n, row_major(&a, 3, k), row_major(&b, 5, n));
        check::<f64>(m, k, n, row_major(&a, 3, k), row_major(&b, 5, n));
    }

    #[test]
    fn column_block_branch_matches_the_triple_loop() {
        // n = 200: blocks of 64 columns and a last one of 8.
        let (m, k, n) = (160, 200, 200);
        assert!(column_block(n) < n && n % column_block(n) != 0);
        assert!(m * n * k >= PAR_MIN_MACS);
        let (a, b) = (small_ints(m * k, 3), small_ints(k * n, 4));
        check::<f32>(m, k, n, row_major(&a, 0, k), row_major(&b, 0, n));
        check::<f64>(m, k, n, row_major(&a, 0, k), row_major(&b, 0, n));
    }

    #[test]
    fn products_that_divide_from_the_lower_bound_match_the_triple_loop() {
        // Between the two bounds: 128³ in two column blocks, and a 64×256×128 x·Wᵀ, divided
        // on the dot kernel where there is AVX2 or AVX-512.
        for (m, k, n) in [(128, 128, 128), (64, 256, 128)] {
            assert!((SHARED_MIN_MACS..PAR_MIN_MACS).contains(&(m * n * k)));
            let (a, b) = (small_ints(m * k, 7), small_ints(k * n, 8));
            let b_t = col_major(&b, 0, k);
            check::<f32>(m, k, n, row_major(&a, 0, k), row_major(&b, 0, n));
            check::<f32>(m, k, n, row_major(&a, 0, k), b_t);
            check::<f64>(m, k, n, row_major(&a, 0, k), b_t);
        }
    }

    #[test]
    fn transposed_operands_in_both_parallel_branches() {
        // (256, 384, 48): one column block. (160, 200, 200): column blocks, but for a transposed
        // a, which is left whole to the crate's own division (and copied first where the dot
        // kernel takes x·Wᵀ). (128, 784, 64): x·Wᵀ on the dot kernel where there is AVX2 or
        // AVX-512, divided by columns. Each operand sits at an offset in its buffer.
        for (m, k, n) in [(256, 384, 48), (160, 200, 200), (128, 784, 64)] {
            assert!(m * n * k >= PAR_MIN_MACS);
            let (a, b) = (small_ints(m * k + 7, 5), small_ints(k * n + 2, 6));
            let (a_t, b_t) = (col_major(&a, 7, m), col_major(&b, 2, k));
            let (a_rows, b_rows) = (row_major(&a, 7, k), row_major(&b, 2, n));
            for (a, b) in [(a_t, b_t), (a_t, b_rows), (a_rows, b_t)] {
                check::<f32>(m, k, n, a, b);
                check::<f64>(m, k, n, a, b);
            }
        }
    }

    #[test]
    fn contiguous_rows_copies_every_layout() {
        // The copy `gemm` makes of a left operand, on any CPU: a transposed view at an offset
        // (tile by tile, with edge tiles), a view with no unit stride (element by element), and
        // a broadcast (stride 0).
        let (rows, cols) = (37, 70);
        let data = small_ints(3 * rows * cols + 11, 8);
        let strided = |row_stride, col_stride| MatRef {
            data: &data[..],
            offset: 11,
            row_stride,
            col_stride,
        };
        for matrix in [
            strided(1, rows + 2),
            strided(3 * cols - 1, 2),
            strided(1, 0),
        ] {
            assert!(matrix.fits(rows, cols));
            let copy = super::contiguous_rows(rows, cols, matrix).unwrap();
            assert_eq!(&copy[..], &dense(&matrix, rows, cols)[..]);
        }
        let huge = MatRef {
            data: &data[..1],
            offset: 0,
            row_stride: 0,
            col_stride: 0,
        };
        assert!(super::contiguous_rows(usize::MAX, 2, huge).is_none());
    }

    #[test]
    fn left_operands_copied_into_rows_match_the_triple_loop() {
        // Products past the small loops whose A has no contiguous rows, which `gemm` copies
        // before the crate reads it where the dot kernel takes x·Wᵀ (f32, AVX2 or AVX-512), and
        // the crate packs elsewhere: a transposed view at an offset (copied tile by tile, with
        // edge tiles), a view with no unit stride (element by element), and a broadcast along
        // the inner dimension (stride 0). Sides stay below the packed kernel's bound.
        let (m, k, n) = (37, 70, 45);
        let data = small_ints(3 * m * k + 11, 8);
        let b_data = small_ints(k * n + 3, 9);
        let b = row_major(&b_data, 3, n);
        let strided = |row_stride, col_stride| MatRef {
            data: &data[..],
            offset: 11,
            row_stride,
            col_stride,
        };
        for a in [strided(1, m + 2), strided(3 * k - 1, 2), strided(1, 0)] {
            assert!(a.fits(m, k));
            check::<f32>(m, k, n, a, b);
            check::<f64>(m, k, n, a, b);
        }
    }

    #[test]
    fn the_unchecked_small_product_loops_match_the_triple_loop_on_every_layout() {
        // Every shape the small loops take with m ≤ 9 (up to two groups of four rows, and the
        // rows after them) and k, n ≤ 20, each operand row-major,
        // column-major or with padded rows, at offset 0 or 2, in storage that ends at its last
        // element: an index past an operand reads outside its slice (a failed debug assertion
        // in a debug build), and a wrong index reads a wrong value, which the exact comparison
        // with the bounds-checked triple loop shows in any build. Covers b read in place, b
        // copied into rows (k·n ≤ 256) and b read element by element (k·n > 256).
        let layout = |kind: usize, rows: usize, cols: usize| match kind {
            0 => (cols, 1),
            1 => (1, rows),
            _ => (cols + 3, 1),
        };
        let stored = |seed: usize, offset: usize, rows: usize, cols: usize, kind: usize| {
            let (row_stride, col_stride) = layout(kind, rows, cols);
            let len = offset + (rows - 1) * row_stride + (cols - 1) * col_stride + 1;
            (small_ints(len, seed), row_stride, col_stride)
        };
        let mut cases = 0;
        for (m, k, n) in
            (1..=9).flat_map(|m| (1..=20).flat_map(move |k| (1..=20).map(move |n| (m, k, n))))
        {
            if m * k * n > super::SMALL_MACS {
                continue;
            }
            for (a_kind, b_kind, offset) in
                (0..3).flat_map(|x| (0..3).flat_map(move |y| [(x, y, 0), (x, y, 2)]))
            {
                let (a, a_rs, a_cs) = stored(m + k, offset, m, k, a_kind);
                let (b, b_rs, b_cs) = stored(k + n, offset, k, n, b_kind);
                let at = |data: &[f64], rs: usize, cs: usize, i: usize, j: usize| {
                    data[offset + i * rs + j * cs]
                };
                let mut want = vec![0.0; m * n];
                for i in 0..m {
                    for j in 0..n {
                        for p in 0..k {
                            want[i * n + j] += at(&a, a_rs, a_cs, i, p) * at(&b, b_rs, b_cs, p, j);
                        }
                    }
                }
                let operand = |data, row_stride, col_stride| MatRef {
                    data,
                    offset,
                    row_stride,
                    col_stride,
                };
                let mut out = filled(m * n, f64::NAN);
                gemm(
                    m,
                    k,
                    n,
                    operand(&a, a_rs, a_cs),
                    operand(&b, b_rs, b_cs),
                    &mut out,
                    false,
                );
                assert_eq!(
                    read(&out),
                    want,
                    "{m}x{k}x{n}, layouts {a_kind} and {b_kind}, offset {offset}"
                );
                cases += 1;
            }
        }
        assert!(cases > 5_000, "{cases} cases");
    }

    #[test]
    fn small_products_with_a_transposed_b_match_the_triple_loop_and_the_contiguous_b() {
        // (10, 8, 8): b copied into rows on the stack; (1, 40, 40): too large to copy (k·n >
        // 256), read where it lies; (3, 5, 13): blocks of 8, 4 and 1 columns.
        for (m, k, n) in [(10, 8, 8), (1, 40, 40), (3, 5, 13), (2, 1, 3)] {
            assert!(m * k * n <= super::SMALL_MACS);
            let a = small_ints(m * k, 9);
            let b = small_ints(k * n + 3, 10);
            let b_t = MatRef {
                data: &b,
                offset: 3,
                row_stride: 1,
                col_stride: k,
            };
            check::<f32>(m, k, n, row_major(&a, 0, k), b_t);
            check::<f64>(m, k, n, row_major(&a, 0, k), b_t);
            // With values that round, the sums still run in the same order whatever b's layout.
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b_contiguous = dense(&b_t, k, n)
                .iter()
                .map(|x| x / 3.0)
                .collect::<Vec<_>>();
            let mut b_transposed = vec![0.0; k * n];
            for p in 0..k {
                for j in 0..n {
                    b_transposed[j * k + p] = b_contiguous[p * n + j];
                }
            }
            let transposed = MatRef {
                data: &b_transposed,
                offset: 0,
                row_stride: 1,
                col_stride: k,
            };
            let (mut from_rows, mut from_transposed) = (filled(m * n, 0.0), filled(m * n, 0.0));
            gemm(
                m,
                k,
                n,
                row_major(&a, 0, k),
                row_major(&b_contiguous, 0, n),
                &mut from_rows,
                false,
            );
            gemm(
                m,
                k,
                n,
                row_major(&a, 0, k),
                transposed,
                &mut from_transposed,
                false,
            );
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&read(&from_rows)),
                bits(&read(&from_transposed)),
                "{m}x{k}x{n}"
            );
        }
    }

    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn matmul_simd_agrees_with_the_kernel_flags_of_proc_cpuinfo() {
        // The kernel's list of the CPU's features, read apart from the `cpuid` that both
        // `matmul_simd` and the gemm crate go through.
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("/proc/cpuinfo");
        let flags = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("flags")?.split_once(':'))
            .expect("a flags line")
            .1;
        let has = |flag: &str| flags.split_whitespace().any(|f| f == flag);
        let expected = if cfg!(feature = "avx512") && has("avx512f") {
            "AVX-512"
        } else if has("fma") {
            "AVX2+FMA"
        } else {
            "scalar"
        };
        assert_eq!(super::matmul_simd(), expected, "flags: {flags}");
    }
}
