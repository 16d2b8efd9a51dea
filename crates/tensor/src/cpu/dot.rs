//! shendu's kernel for products whose two operands both run along the inner dimension, as
//! `x·Wᵀ` does with a weight stored `[out, in]` (every `Linear` forward): a row of `x` and a row
//! of `W` are each contiguous, so an output element is the dot product of two contiguous rows.
//!
//! The `gemm` crate computes such a product by first copying the transposed operand, element by
//! element, into its packed layout, on every call and into memory it allocates for that call;
//! that copy is spread over the rows of A, so it weighs most where A has few rows. This kernel
//! reads both operands where they lie: a register tile of `ROWS × COLS` output elements keeps
//! one vector accumulator per element, multiplies a vector of each of `ROWS` rows of A by a
//! vector of each of `COLS` rows of Bᵀ per step, and sums each accumulator's lanes at the end.
//! That last sum is its own cost, a few shuffles per output element whatever `k`, which is why
//! the crate stays the faster of the two for products of many rows and a short inner dimension
//! (`dot_kernel_takes` in `gemm` draws the line). Nothing is allocated per call: the only memory
//! is a thread's copy of one tile's rows of A (see `block`), kept from call to call, so the worker
//! threads of a parallel product leave no freed buffers behind in their heaps.
//!
//! It runs on 512-bit vectors of 16 lanes with AVX-512F, and on 256-bit vectors of 8 lanes on
//! CPUs with AVX2 and FMA alone (or in a build without the `avx512` feature). The arithmetic of
//! element (i, j) depends on `k` and the number of lanes alone: lane `l` of its accumulator is the
//! in-order fused multiply-add chain, from zero, over the positions `p ≡ l (mod lanes)`; the
//! lanes are then added in halves (`lane_sum`, in the tests). So a product may be divided among
//! threads in any way, and its operands may sit anywhere in memory, without changing a bit; the
//! tests check every element against that arithmetic written plainly, for each vector width the
//! CPU runs. The sums differ in their last bits from the crate's, which adds each element's
//! products in order.
//!
//! It is for `f32` alone: an `f64` instance (8 lanes) ran at 36–43 GFLOP/s on an Intel Xeon with
//! AVX-512, 1.2–1.7 times the crate's time from 32 rows of A on, and was dropped.

use std::any::TypeId;

use super::gemm::{MatRef, OutPtr};
use crate::element::Element;

/// Whether this CPU and build run the kernel (see [`lanes`]).
pub(crate) fn available() -> bool {
    lanes().is_some()
}

/// The lanes of the widest vectors the kernel runs on here: 16 on x86-64 with AVX-512F in a
/// build with the `avx512` feature (the one that gives the `gemm` crate's AVX-512 kernels too, so
/// that a build without it runs none of the AVX-512 code), 8 with AVX2 and FMA, else none.
pub(crate) fn lanes() -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        if cfg!(feature = "avx512") && std::arch::is_x86_feature_detected!("avx512f") {
            return Some(16);
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Some(8);
        }
    }
    None
}

/// `out = a · b` for an `m × k` by `k × n` product in which `a`'s rows and `b`'s columns are
/// contiguous (`a.col_stride == 1`, `b.row_stride == 1`), on the widest vectors of [`lanes`]. It
/// writes every element of `out` and reads none, so they may be uninitialized. With `parallel`,
/// parts of the output's rows (or of its columns) are shared among the current rayon pool's
/// threads.
///
/// # Panics
/// If `T` is not `f32`, the one type the kernel is for.
///
/// # Safety
/// [`available`] holds; `out` is valid for writes of its `m × n` elements and no other thread
/// accesses them during the call; `a` and `b` hold an `m × k` and a `k × n` matrix (`fits`) with
/// those unit strides; `m`, `n`, `k` > 0.
pub(crate) unsafe fn gemm<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    out: OutPtr<'_, T>,
    a: MatRef<T>,
    b: MatRef<T>,
    parallel: bool,
) {
    // SAFETY: the caller's contract; `lanes` names vectors this CPU and build run.
    unsafe {
        match lanes() {
            Some(16) => gemm_on::<T, 16>(m, n, k, out, a, b, parallel),
            Some(8) => gemm_on::<T, 8>(m, n, k, out, a, b, parallel),
            _ => unreachable!("the dot kernel is only called where `available` holds"),
        }
    }
}

/// [`gemm`] on vectors of `LANES` lanes, 16 or 8: the tests run the narrower ones too on a CPU
/// that has both.
///
/// # Safety
/// As for [`gemm`], with vectors of `LANES` lanes that this CPU and build run (`LANES` at most
/// [`lanes`]).
pub(crate) unsafe fn gemm_on<T: Element, const LANES: usize>(
    m: usize,
    n: usize,
    k: usize,
    out: OutPtr<'_, T>,
    a: MatRef<T>,
    b: MatRef<T>,
    parallel: bool,
) {
    debug_assert!(a.col_stride == 1 || k == 1);
    debug_assert!(b.row_stride == 1 || k == 1);
    assert!(
        TypeId::of::<T>() == TypeId::of::<f32>(),
        "the dot kernel is for f32"
    );
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: the offsets lie inside their slices (`fits`), so `add` stays in the
        // allocations. The casts change no address and no element type: `T` is `f32`, as
        // asserted. The rest is the caller's contract, passed on.
        unsafe {
            let product = x86::Product {
                m,
                n,
                k,
                a: a.data.as_ptr().add(a.offset).cast(),
                lda: a.row_stride,
                b: b.data.as_ptr().add(b.offset).cast(),
                ldb: b.col_stride,
                c: out.ptr.cast(),
                ldc: out.row_stride,
            };
            match LANES {
                #[cfg(feature = "avx512")]
                16 => x86::gemm::<x86::F32x16>(product, parallel),
                8 => x86::gemm::<x86::F32x8>(product, parallel),
                _ => unreachable!("no dot kernel on vectors of {LANES} lanes"),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (m, n, k, out, a, b, parallel);
        unreachable!("the dot kernel is only called where `available` holds");
    }
}

/// The sum of an accumulator's lanes, in the order the kernel adds them: lane l + lane l + L/2
/// for each l < L/2, then the same halving of those L/2 sums, down to one. Each step adds lanes
/// half the remaining width apart, so a rotation of the lanes (what loading from the start of a
/// vector's place in memory does; see `tile` in `x86`) leaves every pair, and with it the sum,
/// unchanged. It is the kernel's arithmetic written plainly, for the tests.
#[cfg(all(test, target_arch = "x86_64"))]
fn lane_sum<T: Element>(lanes: &[T]) -> T {
    let mut lanes = lanes.to_vec();
    while lanes.len() > 1 {
        let half = lanes.len() / 2;
        lanes = (0..half).map(|l| lanes[l] + lanes[l + half]).collect();
    }
    lanes[0]
}

/// The kernel for x86-64, written once over [`x86::Vector`], for each vector width.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::cell::Cell;
    use std::mem::MaybeUninit;

    use crate::cpu::pool;

    /// Output columns of a register tile (rows of Bᵀ), whatever the vectors: one [`Vector::sums`]
    /// call sums the accumulators of a tile's row into one 128-bit vector of four.
    const COLS: usize = 4;

    /// A vector of `f32` lanes, and the few things the kernel does with one. The functions are
    /// inlined into [`block`], whose instances are compiled with the vector's instructions
    /// enabled (in [`Vector::block_any`]), so they run only where those instructions may.
    pub(super) trait Vector: Copy {
        /// Lanes of the vector.
        const LANES: usize;
        /// Output rows of a register tile (rows of A).
        const ROWS: usize;
        /// Which lanes a masked load reads.
        type Mask: Copy;

        /// `block_any::<Self, ROWS>` with the vector's instructions enabled.
        ///
        /// # Safety
        /// As for `gemm`, with the vector's instructions on the CPU.
        unsafe fn block_any(product: Product);

        /// All lanes zero.
        ///
        /// # Safety
        /// The vector's instructions are on the CPU (true inside `block_any`), as for the rest.
        unsafe fn zero() -> Self;

        /// The `LANES` elements from `at`.
        ///
        /// # Safety
        /// As for `zero`; `at` is valid for reads of `LANES` elements.
        unsafe fn load(at: *const f32) -> Self;

        /// Lanes `from .. to` (`from < to ≤ LANES`) of a masked load.
        ///
        /// # Safety
        /// As for `zero`.
        unsafe fn mask(from: usize, to: usize) -> Self::Mask;

        /// The lanes of `mask` from `at`, and zeros in the others, which are not read.
        ///
        /// # Safety
        /// As for `zero`; the lanes of `mask` are valid for reads.
        unsafe fn load_masked(at: *const f32, mask: Self::Mask) -> Self;

        /// `self · x + acc`, lane by lane, each rounded once.
        ///
        /// # Safety
        /// As for `zero`.
        unsafe fn mul_add(self, x: Self, acc: Self) -> Self;

        /// The lane sums of four accumulators, as `[Σa, Σb, Σc, Σd]`, in the order of
        /// `lane_sum`.
        ///
        /// # Safety
        /// As for `zero`.
        unsafe fn sums(sums: &[Self; COLS]) -> __m128;
    }

    /// A product by raw pointers: `a` is `m × k`, row-major with row stride `lda`; `b` is
    /// `k × n`, its column j starting at `b + j·ldb`; `c` is the `m × n` output, row-major with
    /// row stride `ldc`. The parts of a parallel product are such values too, each over its own
    /// rows or columns of the output.
    #[derive(Clone, Copy)]
    pub(super) struct Product {
        pub(super) m: usize,
        pub(super) n: usize,
        pub(super) k: usize,
        pub(super) a: *const f32,
        pub(super) lda: usize,
        pub(super) b: *const f32,
        pub(super) ldb: usize,
        pub(super) c: *mut f32,
        pub(super) ldc: usize,
    }

    // SAFETY: the parts of a product read `a` and `b`, which nothing writes during the product,
    // and write disjoint parts of `c` (see `gemm`).
    unsafe impl Send for Product {}
    // SAFETY: as for `Send`.
    unsafe impl Sync for Product {}

    impl Product {
        /// Rows `row .. row + height` of the product.
        fn rows(self, row: usize, height: usize) -> Product {
            Product {
                m: height,
                a: self.a.wrapping_add(row * self.lda),
                c: self.c.wrapping_add(row * self.ldc),
                ..self
            }
        }

        /// Columns `col .. col + width` of the product.
        fn columns(self, col: usize, width: usize) -> Product {
            Product {
                n: width,
                b: self.b.wrapping_add(col * self.ldb),
                c: self.c.wrapping_add(col),
                ..self
            }
        }
    }

    /// 64-byte units of scratch: a cache line, so that a vector load from a row copied there does
    /// not straddle two lines.
    #[derive(Clone, Copy)]
    #[repr(align(64))]
    struct Line(#[allow(dead_code)] [u8; 64]);

    /// Bytes in a cache line.
    const LINE: usize = size_of::<Line>();

    thread_local! {
        /// A thread's copy of a tile's rows of A, kept from call to call (see `block`).
        static A_ROWS: Cell<Vec<MaybeUninit<Line>>> = const { Cell::new(Vec::new()) };
    }

    /// This thread's scratch, grown to at least `len` elements, cache-line aligned, holding
    /// anything. The caller hands it back with [`give_scratch`] (a call made meanwhile on this
    /// thread, none is made, would find the slot empty and use a scratch of its own).
    fn take_scratch(len: usize) -> Vec<MaybeUninit<Line>> {
        let lines = len
            .checked_mul(size_of::<f32>())
            .expect("dot product: scratch size overflows")
            .div_ceil(LINE);
        let mut scratch = A_ROWS.take();
        if scratch.len() < lines {
            scratch = Vec::with_capacity(lines);
            scratch.resize(lines, MaybeUninit::uninit());
        }
        scratch
    }

    /// Keeps `scratch` for this thread's next product.
    fn give_scratch(scratch: Vec<MaybeUninit<Line>>) {
        A_ROWS.set(scratch);
    }

    /// See [`super::gemm`].
    ///
    /// # Safety
    /// As for [`super::gemm`], with `V`'s instructions on the CPU.
    pub(super) unsafe fn gemm<V: Vector>(product: Product, parallel: bool) {
        let Product { m, n, .. } = product;
        let threads = if parallel {
            rayon::current_num_threads()
        } else {
            1
        };
        if threads == 1 {
            // SAFETY: the caller's contract.
            unsafe { V::block_any(product) };
            return;
        }
        // Each thread reads its part of one operand and all of the other: the parts are cut
        // from the larger one. They may follow the thread count: no element's arithmetic
        // depends on them.
        if m > n {
            let height = m.div_ceil(threads).next_multiple_of(V::ROWS);
            pool::for_each_part(m.div_ceil(height), &|part| {
                let row = part * height;
                // SAFETY: the part's rows lie inside the product's, and no other part writes
                // them.
                unsafe { V::block_any(product.rows(row, height.min(m - row))) }
            });
        } else {
            let width = n.div_ceil(threads).next_multiple_of(COLS);
            pool::for_each_part(n.div_ceil(width), &|part| {
                let col = part * width;
                // SAFETY: the part's columns lie inside the product's, and no other part
                // writes them.
                unsafe { V::block_any(product.columns(col, width.min(n - col))) }
            });
        }
    }

    /// Where `at` lies inside the `V`-sized, `V`-aligned piece of memory that holds it, in
    /// elements.
    fn shift<V: Vector>(at: *const f32) -> usize {
        at as usize % (V::LANES * size_of::<f32>()) / size_of::<f32>()
    }

    /// `block` over whole tiles of `ROWS` rows, then the rows left over in one tile of just that
    /// many: a tile of `ROWS` would repeat one of them in its empty places, which left a product
    /// of 8 rows at two thirds of the speed of one of 4 (with 16 lanes). `ROWS` is `V::ROWS`,
    /// passed apart because a const parameter cannot be computed from a type parameter.
    ///
    /// # Safety
    /// As for `gemm`, with `V`'s instructions on the CPU.
    #[inline(always)]
    unsafe fn block_any<V: Vector, const ROWS: usize>(product: Product) {
        const {
            assert!(ROWS == V::ROWS, "the tiles are V::ROWS rows high");
            assert!(ROWS <= 6, "the rows left over are matched up to 5");
        };
        let whole = product.m - product.m % ROWS;
        // SAFETY: the caller's contract; the rows from `whole` on are the product's last ones,
        // fewer than ROWS, so each arm's tile holds them all. The guards are constants: the arms
        // no remainder reaches fall away in each instance.
        unsafe {
            if whole > 0 {
                block::<V, ROWS>(product.rows(0, whole));
            }
            let rest = product.rows(whole, product.m - whole);
            match rest.m {
                0 => {}
                1 => block::<V, 1>(rest),
                2 if ROWS > 2 => block::<V, 2>(rest),
                3 if ROWS > 3 => block::<V, 3>(rest),
                4 if ROWS > 4 => block::<V, 4>(rest),
                5 if ROWS > 5 => block::<V, 5>(rest),
                _ => unreachable!("fewer than ROWS rows are left"),
            }
        }
    }

    /// The `m × n` output at `c`, tile by tile, on tiles of `R` rows: rows of A in the outer
    /// loop, so that a tile's rows of A stay in L1 while the rows of Bᵀ pass by from L2.
    ///
    /// A vector load that straddles two cache lines costs about two, and with both
    /// operands straddling the kernel ran at two thirds of its speed. When every column
    /// of B starts at the same place in its vector-sized piece of memory (its stride is a
    /// whole number of vectors), the tiles load from the start of that piece: each load then
    /// lies inside one line of B, and of A too once A's rows sit at the same place, as they
    /// do after `block` copies them to its scratch (the rows of a tile are reused across all
    /// of B, so the copy costs a fraction of their reads).
    ///
    /// # Safety
    /// As for `gemm`, with `V`'s instructions on the CPU; `m ≤ R` or `m` is a multiple of `R`
    /// (see `block_any`).
    #[inline(always)]
    unsafe fn block<V: Vector, const R: usize>(product: Product) {
        let Product {
            m,
            n,
            k,
            a,
            lda,
            b,
            ldb,
            c,
            ldc,
        } = product;
        // Along more than one row a stride fits in its operand, so times 4 it cannot
        // overflow; a single row's stride is never multiplied.
        let lined = |len: usize, stride: usize| {
            len == 1 || (stride * size_of::<f32>()).is_multiple_of(V::LANES * size_of::<f32>())
        };
        let start = if lined(n, ldb) { shift::<V>(b) } else { 0 };
        let copy_a = !(lined(m, lda) && shift::<V>(a) == start);
        // Each copied row: `start` elements of padding, then the row, in whole vectors.
        let stride = (start + k).next_multiple_of(V::LANES);
        let scratch_len = if copy_a { R * stride } else { 0 };
        let mut scratch_lines = take_scratch(scratch_len);
        let scratch: *mut f32 = scratch_lines.as_mut_ptr().cast();
        for i in (0..m).step_by(R) {
            let rows = R.min(m - i);
            // An edge tile repeats its last row (or column) in the places past the
            // edge, so every pointer is one of the operands' rows; those results
            // are not stored.
            let mut a_rows = [a; R];
            for (r, row) in a_rows.iter_mut().enumerate() {
                *row = a.wrapping_add((i + r.min(rows - 1)) * lda);
            }
            if copy_a {
                for (r, row) in a_rows.iter_mut().enumerate().take(rows) {
                    // SAFETY: row i + r of A holds k elements; the scratch holds
                    // R rows of `stride` ≥ start + k elements.
                    unsafe {
                        let to = scratch.add(r * stride + start);
                        std::ptr::copy_nonoverlapping(*row, to, k);
                        *row = to;
                    }
                }
                let last = a_rows[rows - 1];
                a_rows[rows..].fill(last);
            }
            for j in (0..n).step_by(COLS) {
                let cols = COLS.min(n - j);
                let mut b_rows = [b; COLS];
                for (s, row) in b_rows.iter_mut().enumerate() {
                    *row = b.wrapping_add((j + s.min(cols - 1)) * ldb);
                }
                // SAFETY: each pointer starts k contiguous elements of a row of A or
                // a column of B; start < V::LANES; `V`'s instructions are on the CPU.
                let sums = unsafe { tile::<V, R>(k, start, &a_rows, &b_rows) };
                for (r, sum) in sums.iter().enumerate().take(rows) {
                    // SAFETY: (i + r, j + s) lies in the m × n output for r < rows
                    // and s < cols; `row` holds COLS elements, the width of a sum.
                    unsafe {
                        let out = c.add((i + r) * ldc + j);
                        if cols == COLS {
                            _mm_storeu_ps(out, *sum);
                        } else {
                            let mut row = [0.0; COLS];
                            _mm_storeu_ps(row.as_mut_ptr(), *sum);
                            std::ptr::copy_nonoverlapping(row.as_ptr(), out, cols);
                        }
                    }
                }
            }
        }
        give_scratch(scratch_lines);
    }

    /// The dot products of `R` rows of A with `COLS` columns of B, each of `k` contiguous
    /// elements: row r of the result holds those of A's row r.
    ///
    /// The vectors are loaded from `start` elements before each row, so that a row
    /// starting `start` elements into a vector-sized piece of memory is read piece by piece.
    /// Lane l then holds the positions p ≡ l − start (mod LANES), a rotation of the lanes
    /// that the sum in halves does not see (`lane_sum`). The first and last loads are masked
    /// to the row: their masked-off lanes are not read and load as zeros, whose products
    /// (0 · 0) leave every sum as it was, a sum of zero included (a chain from +0 never
    /// holds −0).
    ///
    /// # Safety
    /// `V`'s instructions are on the CPU; every pointer is valid for reads of `k` elements;
    /// `start < V::LANES`.
    #[inline(always)]
    unsafe fn tile<V: Vector, const R: usize>(
        k: usize,
        start: usize,
        a: &[*const f32; R],
        b: &[*const f32; COLS],
    ) -> [__m128; R] {
        let a = a.map(|row| row.wrapping_sub(start));
        let b = b.map(|row| row.wrapping_sub(start));
        let end = start + k;
        // SAFETY: `V`'s instructions are on the CPU (the caller's contract), as for every call
        // of `V`'s functions below.
        let mut sums = [[unsafe { V::zero() }; COLS]; R];
        let mut p = 0;
        if start > 0 {
            // SAFETY: as above; start < LANES and start < start + k.
            let mask = unsafe { V::mask(start, end.min(V::LANES)) };
            // SAFETY: lanes start .. min(start + k, LANES) of the first vector lie inside the
            // rows.
            unsafe { step(&mut sums, &a, &b, 0, Some(mask)) };
            p = V::LANES;
        }
        while p + V::LANES <= end {
            // SAFETY: start ≤ p and p + LANES ≤ start + k: all lanes lie inside the rows.
            unsafe { step(&mut sums, &a, &b, p, None) };
            p += V::LANES;
        }
        if p < end {
            // SAFETY: as above; 0 < end − p < LANES.
            let mask = unsafe { V::mask(0, end - p) };
            // SAFETY: lanes p .. start + k lie inside the rows, as start ≤ p.
            unsafe { step(&mut sums, &a, &b, p, Some(mask)) };
        }
        // SAFETY: SSE is part of x86-64.
        let mut out = [unsafe { _mm_setzero_ps() }; R];
        for (row, sum) in sums.iter().zip(&mut out) {
            // SAFETY: as for `zero` above.
            *sum = unsafe { V::sums(row) };
        }
        out
    }

    /// One step of `tile`: the vectors at position `p` of every row (from `start` before
    /// it), all lanes or those of `mask`, multiplied into `sums`. A tile's rows of A are
    /// loaded first and held while the rows of Bᵀ pass, one vector at a time: R + 1
    /// registers besides the accumulators.
    ///
    /// # Safety
    /// `V`'s instructions are on the CPU; the lanes loaded (all, or those of `mask`) lie
    /// inside the rows. Masked-off lanes are not read and load as zeros.
    #[inline(always)]
    unsafe fn step<V: Vector, const R: usize>(
        sums: &mut [[V; COLS]; R],
        a: &[*const f32; R],
        b: &[*const f32; COLS],
        p: usize,
        mask: Option<V::Mask>,
    ) {
        // SAFETY: the lanes read lie inside the row (the caller's contract); a masked load
        // touches only the lanes of its mask.
        let load = |row: *const f32| unsafe {
            let at = row.wrapping_add(p);
            match mask {
                None => V::load(at),
                Some(mask) => V::load_masked(at, mask),
            }
        };
        let mut xs = [sums[0][0]; R];
        for (x, row) in xs.iter_mut().zip(a) {
            *x = load(*row);
        }
        for (s, column) in b.iter().enumerate() {
            let y = load(*column);
            for (x, row) in xs.iter().zip(sums.iter_mut()) {
                // SAFETY: `V`'s instructions are on the CPU.
                row[s] = unsafe { x.mul_add(y, row[s]) };
            }
        }
    }

    /// 512-bit vectors of 16 `f32`, with AVX-512F.
    #[cfg(feature = "avx512")]
    #[derive(Clone, Copy)]
    pub(super) struct F32x16(__m512);

    #[cfg(feature = "avx512")]
    impl Vector for F32x16 {
        const LANES: usize = 16;
        /// 6 × 4 accumulators, 6 vectors of A and one of Bᵀ take 31 of the 32 vector registers.
        const ROWS: usize = 6;
        type Mask = __mmask16;

        #[target_feature(enable = "avx512f")]
        unsafe fn block_any(product: Product) {
            // SAFETY: the caller's contract, with AVX-512F on the CPU.
            unsafe { block_any::<Self, { Self::ROWS }>(product) }
        }

        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: AVX-512F is on the CPU (the caller's contract, as in every function below).
            F32x16(unsafe { _mm512_setzero_ps() })
        }

        #[inline(always)]
        unsafe fn load(at: *const f32) -> Self {
            // SAFETY: as for `zero`; `at` is valid for reads of 16 elements (the caller's
            // contract).
            F32x16(unsafe { _mm512_loadu_ps(at) })
        }

        #[inline(always)]
        unsafe fn mask(from: usize, to: usize) -> __mmask16 {
            let below = |lanes: usize| ((1u32 << lanes) - 1) as __mmask16;
            below(to) & !below(from)
        }

        #[inline(always)]
        unsafe fn load_masked(at: *const f32, mask: __mmask16) -> Self {
            // SAFETY: as for `zero`; the lanes of `mask` are valid for reads (the caller's
            // contract), and a masked load touches no other.
            F32x16(unsafe { _mm512_maskz_loadu_ps(mask, at) })
        }

        #[inline(always)]
        unsafe fn mul_add(self, x: Self, acc: Self) -> Self {
            // SAFETY: as for `zero`.
            F32x16(unsafe { _mm512_fmadd_ps(self.0, x.0, acc.0) })
        }

        #[inline(always)]
        unsafe fn sums(sums: &[Self; COLS]) -> __m128 {
            let [a, b, c, d] = sums.map(|x| x.0);
            // SAFETY: AVX-512F is on the CPU (the caller's contract); the rest is arithmetic.
            unsafe {
                // On an Intel core a 512-bit shuffle across lanes runs on port 5 alone, one of
                // the two ports of the fused multiply-adds, and a blend on either: each step
                // below moves one half by a blend and the other by a shuffle.
                // Lanes l + (l + 8): a's 8 sums in lanes 0..8, b's in 8..16 (as b[l] + b[l − 8]);
                // c and d the same.
                let halves = |x: __m512, y: __m512| {
                    _mm512_add_ps(
                        _mm512_mask_blend_ps(0xff00, x, y),
                        _mm512_shuffle_f32x4::<0b01_00_11_10>(x, y),
                    )
                };
                let (ab, cd) = (halves(a, b), halves(c, d));
                // Then l + (l + 4): the 128-bit groups hold a's 4 sums, c's, b's and d's.
                let across =
                    _mm512_setr_epi32(4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15, 24, 25, 26, 27);
                let quads = _mm512_add_ps(
                    _mm512_mask_blend_ps(0xf0f0, ab, cd),
                    _mm512_permutex2var_ps(ab, across, cd),
                );
                // Then l + (l + 2), then l + (l + 1), in each group.
                let pairs = _mm512_add_ps(quads, _mm512_permute_ps::<0b01_00_11_10>(quads));
                let whole = _mm512_add_ps(pairs, _mm512_permute_ps::<0b10_11_00_01>(pairs));
                // The first lane of each group, in the order a, b, c, d.
                let firsts = _mm512_setr_epi32(0, 8, 4, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
                _mm512_castps512_ps128(_mm512_permutexvar_ps(firsts, whole))
            }
        }
    }

    /// 256-bit vectors of 8 `f32`, with AVX2 and FMA.
    #[derive(Clone, Copy)]
    pub(super) struct F32x8(__m256);

    impl Vector for F32x8 {
        const LANES: usize = 8;
        /// 3 × 4 accumulators, 3 vectors of A and one of Bᵀ take all 16 vector registers.
        const ROWS: usize = 3;
        type Mask = __m256i;

        #[target_feature(enable = "avx2,fma")]
        unsafe fn block_any(product: Product) {
            // SAFETY: the caller's contract, with AVX2 and FMA on the CPU.
            unsafe { block_any::<Self, { Self::ROWS }>(product) }
        }

        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: AVX2 and FMA are on the CPU (the caller's contract, as in every function
            // below).
            F32x8(unsafe { _mm256_setzero_ps() })
        }

        #[inline(always)]
        unsafe fn load(at: *const f32) -> Self {
            // SAFETY: as for `zero`; `at` is valid for reads of 8 elements (the caller's
            // contract).
            F32x8(unsafe { _mm256_loadu_ps(at) })
        }

        #[inline(always)]
        unsafe fn mask(from: usize, to: usize) -> __m256i {
            // A lane is in the mask when its index is ≥ from and < to; both are ≤ 8.
            // SAFETY: as for `zero`.
            unsafe {
                let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                let from = _mm256_set1_epi32(from as i32 - 1);
                let to = _mm256_set1_epi32(to as i32);
                _mm256_and_si256(_mm256_cmpgt_epi32(lane, from), _mm256_cmpgt_epi32(to, lane))
            }
        }

        #[inline(always)]
        unsafe fn load_masked(at: *const f32, mask: __m256i) -> Self {
            // SAFETY: as for `zero`; the lanes of `mask` are valid for reads (the caller's
            // contract), and `vmaskmovps` touches no other, nor faults on them.
            F32x8(unsafe { _mm256_maskload_ps(at, mask) })
        }

        #[inline(always)]
        unsafe fn mul_add(self, x: Self, acc: Self) -> Self {
            // SAFETY: as for `zero`.
            F32x8(unsafe { _mm256_fmadd_ps(self.0, x.0, acc.0) })
        }

        #[inline(always)]
        unsafe fn sums(sums: &[Self; COLS]) -> __m128 {
            let [a, b, c, d] = sums.map(|x| x.0);
            // SAFETY: AVX2 is on the CPU (the caller's contract); the rest is arithmetic.
            unsafe {
                // Lanes l + (l + 4): a's 4 sums in the low half, b's in the high; c and d the
                // same.
                let halves = |x: __m256, y: __m256| {
                    _mm256_add_ps(
                        _mm256_permute2f128_ps::<0x20>(x, y),
                        _mm256_permute2f128_ps::<0x31>(x, y),
                    )
                };
                let (ab, cd) = (halves(a, b), halves(c, d));
                // Then l + (l + 2): the low half holds a's 2 sums and c's, the high b's and d's.
                let quads = _mm256_add_ps(
                    _mm256_shuffle_ps::<0b01_00_01_00>(ab, cd),
                    _mm256_shuffle_ps::<0b11_10_11_10>(ab, cd),
                );
                // Then l + (l + 1): the low half is [Σa, Σc, Σa, Σc], the high [Σb, Σd, ...].
                let whole = _mm256_hadd_ps(quads, quads);
                _mm_unpacklo_ps(
                    _mm256_castps256_ps128(whole),
                    _mm256_extractf128_ps::<1>(whole),
                )
            }
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::{gemm_on, lane_sum, lanes};
    use crate::cpu::gemm::MatRef;
    use crate::cpu::test_support::{self, values};
    use crate::element::Element;

    /// The kernel's arithmetic on vectors of `lanes` lanes, written plainly: for each element,
    /// lane l is the in-order fused multiply-add chain from zero over the positions
    /// p ≡ l (mod lanes), and the lanes are added in [`lane_sum`]'s order.
    fn lane_sums<T: Element>(
        lanes: usize,
        (m, k, n): (usize, usize, usize),
        a: &MatRef<T>,
        b: &MatRef<T>,
    ) -> Vec<T> {
        let at = |x: &MatRef<T>, i: usize, j: usize| {
            x.data[x.offset + i * x.row_stride + j * x.col_stride]
        };
        let mut out = Vec::with_capacity(m * n);
        for i in 0..m {
            for j in 0..n {
                let mut sums = vec![T::zero(); lanes];
                for p in 0..k {
                    sums[p % lanes] = at(a, i, p).mul_add(at(b, p, j), sums[p % lanes]);
                }
                out.push(lane_sum(&sums));
            }
        }
        out
    }

    /// Runs the kernel on vectors of `lanes` lanes, as `test_support::run` does.
    fn run(
        lanes: usize,
        (m, k, n): (usize, usize, usize),
        a: MatRef<f32>,
        b: MatRef<f32>,
        threads: usize,
    ) -> Vec<f32> {
        assert!(m > 0 && n > 0 && a.col_stride == 1 && b.row_stride == 1);
        assert!(
            kernels_here().contains(&lanes),
            "no kernel of {lanes} lanes here"
        );
        let kernel = match lanes {
            16 => gemm_on::<f32, 16>,
            _ => gemm_on::<f32, 8>,
        };
        // SAFETY: the CPU runs vectors of `lanes` lanes, as asserted; the operands have the unit
        // strides asserted, m, n > 0, and `run` checks that they fit and k > 0.
        unsafe { test_support::run(kernel, (m, k, n), a, b, threads) }
    }

    /// A matrix whose row i starts at `data[offset + i·stride]`, its elements contiguous (A).
    fn rows_of<T: Copy>(data: &[T], offset: usize, stride: usize) -> MatRef<'_, T> {
        MatRef {
            data,
            offset,
            row_stride: stride,
            col_stride: 1,
        }
    }

    /// A matrix whose column j starts at `data[offset + j·stride]`, its elements contiguous
    /// (B, as the transposed view of a row-major Bᵀ).
    fn columns_of<T: Copy>(data: &[T], offset: usize, stride: usize) -> MatRef<'_, T> {
        MatRef {
            data,
            offset,
            row_stride: 1,
            col_stride: stride,
        }
    }

    /// Whether two results hold the same bits, any NaN for any NaN: which operand's NaN an
    /// addition passes on depends on the operands' order, which the tree of sums may swap.
    fn same_bits<T: Element>(x: &[T], y: &[T]) -> bool {
        x.len() == y.len()
            && x.iter().zip(y).all(|(p, q)| {
                let (p, q) = (p.to_f64().unwrap(), q.to_f64().unwrap());
                p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan())
            })
    }

    /// The vector widths, in lanes, that the kernel runs on here: each test runs them all. On
    /// a CPU with neither AVX2 nor AVX-512 there is nothing to test, and the test says so.
    fn kernels_here() -> Vec<usize> {
        let widths = match lanes() {
            Some(16) => vec![16, 8],
            Some(8) => vec![8],
            _ => vec![],
        };
        if widths.is_empty() {
            eprintln!("no AVX2 on this CPU: the dot kernel is not used, nor tested, here");
        }
        widths
    }

    /// Every element's place in a cache line of `f32`s.
    const LINE_LANES: usize = 16;

    /// A row-major m × k matrix A and the k × n matrix Bᵀ of a row-major n × k one, each at
    /// `offset` elements into its buffer and with rows of `pad` elements more than k.
    fn operands<T: Element>(
        (m, k, n): (usize, usize, usize),
        (a_offset, b_offset): (usize, usize),
        pad: usize,
        seed: u64,
        special: bool,
    ) -> (Vec<T>, Vec<T>) {
        let a = values::<T>(a_offset + m * (k + pad), seed, special);
        let b = values::<T>(b_offset + n * (k + pad), seed + 1, special);
        (a, b)
    }

    #[test]
    fn dot_products_round_as_the_lane_chains_summed_in_halves_bit_for_bit() {
        // Edges of every kind: rows and columns short of a tile, inner dimensions shorter than
        // a vector, of whole vectors and of a partial last one, one output row or column.
        let shapes = [
            (1, 1, 1),
            (5, 3, 3),
            (6, 16, 4),
            (7, 17, 5),
            (13, 100, 9),
            (1, 64, 33),
            (40, 784, 1),
            (19, 256, 30),
        ];
        for lanes in kernels_here() {
            for (case, &(m, k, n)) in shapes.iter().enumerate() {
                for special in [false, true] {
                    // Every combination of where the operands start in a cache line is too
                    // many; each at its start, each a few elements in, and rows that stay in
                    // step with the vectors (pad 0 when k is whole vectors) or drift across them.
                    let offsets = [(0, 0), (3, 0), (0, 5), (LINE_LANES - 1, 2), (7, 7), (9, 1)];
                    for (a_offset, b_offset) in offsets {
                        for pad in [0, 1] {
                            let (a_data, b_data) = operands::<f32>(
                                (m, k, n),
                                (a_offset, b_offset),
                                pad,
                                case as u64,
                                special,
                            );
                            let a = rows_of(&a_data, a_offset, k + pad);
                            let b = columns_of(&b_data, b_offset, k + pad);
                            let want = lane_sums(lanes, (m, k, n), &a, &b);
                            for threads in [1, 3] {
                                let got = run(lanes, (m, k, n), a, b, threads);
                                assert!(
                                    same_bits(&got, &want),
                                    "{lanes} lanes, {m}x{k}x{n}, special {special}, offsets \
                                     {a_offset}/{b_offset}, pad {pad}, {threads} threads",
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn where_the_operands_start_in_a_cache_line_changes_no_bit() {
        // The kernel loads from the start of B's vector-sized pieces of memory and copies A's
        // rows to match: the same values at every start of A and of B in a cache line give the
        // same bits, with the rows in step with the vectors (k whole vectors) and across them.
        for lanes in kernels_here() {
            for (m, k, n) in [(9, 48, 7), (6, 37, 4)] {
                let base_a = values::<f32>(m * k, 11, true);
                let base_b = values::<f32>(n * k, 12, true);
                let mut first = None;
                for a_offset in 0..LINE_LANES {
                    for b_offset in 0..LINE_LANES {
                        let mut a_data = vec![0.0; a_offset + m * k];
                        a_data[a_offset..].copy_from_slice(&base_a);
                        let mut b_data = vec![0.0; b_offset + n * k];
                        b_data[b_offset..].copy_from_slice(&base_b);
                        let a = rows_of(&a_data, a_offset, k);
                        let b = columns_of(&b_data, b_offset, k);
                        let got = run(lanes, (m, k, n), a, b, 1);
                        let first = first.get_or_insert_with(|| {
                            assert!(same_bits(&got, &lane_sums(lanes, (m, k, n), &a, &b)));
                            got.clone()
                        });
                        assert!(
                            same_bits(&got, first),
                            "{lanes} lanes, {m}x{k}x{n} at {a_offset}/{b_offset}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_parallel_product_splits_the_larger_side_and_keeps_every_bit() {
        // Taller than wide (parts of rows) and wider than tall (parts of columns), on pools of
        // 1 to 4 threads.
        for lanes in kernels_here() {
            for (m, k, n) in [(61, 300, 9), (10, 129, 70)] {
                let (a_data, b_data) = operands::<f32>((m, k, n), (1, 2), 0, 5, false);
                let a = rows_of(&a_data, 1, k);
                let b = columns_of(&b_data, 2, k);
                let want = lane_sums(lanes, (m, k, n), &a, &b);
                for threads in 1..=4 {
                    assert!(
                        same_bits(&run(lanes, (m, k, n), a, b, threads), &want),
                        "{lanes} lanes, {m}x{k}x{n}, {threads}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_broadcast_operand_reads_its_one_row() {
        // Stride 0 between rows of A (and between columns of B): every one is the same.
        for lanes in kernels_here() {
            let (m, k, n) = (20, 30, 8);
            let a_row = values::<f32>(k, 7, false);
            let b_data = values::<f32>(k * n, 8, false);
            let a = rows_of(&a_row, 0, 0);
            let b = columns_of(&b_data, 0, k);
            let got = run(lanes, (m, k, n), a, b, 2);
            assert!(same_bits(&got, &lane_sums(lanes, (m, k, n), &a, &b)));
            assert!(got.chunks(n).all(|row| same_bits(row, &got[..n])));
            let b_column = values::<f32>(k, 9, false);
            let b = columns_of(&b_column, 0, 0);
            let got = run(lanes, (1, k, n), a, b, 1);
            assert!(same_bits(&got, &lane_sums(lanes, (1, k, n), &a, &b)));
            assert!(got.iter().all(|x| x.to_bits() == got[0].to_bits()));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

        /// Any shape, any start of either operand in its buffer, rows in step with the vectors
        /// or not, one to three threads, each vector width: the lane chains summed in halves,
        /// bit for bit. A failure shrinks to the smallest such product.
        #[test]
        fn any_product_rounds_as_the_lane_chains_summed_in_halves(
            m in 1usize..30,
            k in 1usize..200,
            n in 1usize..30,
            a_offset in 0usize..16,
            b_offset in 0usize..16,
            pad in 0usize..3,
            threads in 1usize..4,
            special: bool,
            seed: u64,
        ) {
            for lanes in kernels_here() {
                let (a_data, b_data) =
                    operands::<f32>((m, k, n), (a_offset, b_offset), pad, seed, special);
                let a = rows_of(&a_data, a_offset, k + pad);
                let b = columns_of(&b_data, b_offset, k + pad);
                let got = run(lanes, (m, k, n), a, b, threads);
                proptest::prop_assert!(
                    same_bits(&got, &lane_sums(lanes, (m, k, n), &a, &b)),
                    "{} lanes", lanes
                );
            }
        }
    }

    /// A page of f32s between two pages that any access faults on.
    struct GuardedPage {
        base: *mut u8,
        page: usize,
    }

    impl GuardedPage {
        fn new() -> Self {
            // SAFETY: sysconf has no preconditions.
            let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap();
            // SAFETY: an anonymous private mapping of three pages at an address of the kernel's
            // choosing; the result is checked before use.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    3 * page,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert_ne!(base, libc::MAP_FAILED, "mmap of three pages");
            let base = base.cast::<u8>();
            // SAFETY: the middle page lies inside the mapping just made.
            let made_readable = unsafe {
                libc::mprotect(
                    base.add(page).cast(),
                    page,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            assert_eq!(made_readable, 0, "mprotect of the middle page");
            GuardedPage { base, page }
        }

        /// The middle page, as f32s (zeros, as a fresh anonymous page holds).
        fn floats(&mut self) -> &mut [f32] {
            // SAFETY: the middle page is mapped readable and writable, zero-filled, aligned to
            // a page, and borrowed mutably through `self` alone.
            unsafe {
                std::slice::from_raw_parts_mut(
                    self.base.add(self.page).cast(),
                    self.page / size_of::<f32>(),
                )
            }
        }
    }

    impl Drop for GuardedPage {
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`, no longer borrowed.
            unsafe { libc::munmap(self.base.cast(), 3 * self.page) };
        }
    }

    #[test]
    fn a_masked_load_reads_nothing_past_its_row() {
        // B's last column ends on the last element of a page followed by one that faults on
        // any access. With columns of 37 elements at a stride of no whole number of vectors,
        // the column's last load, masked to its 5 last elements, spans 11 elements of the
        // faulting page with 16 lanes (3 with 8), which it must not touch (an unmasked load
        // there crashed this test); with whole vectors (48), the loads end on the page's edge.
        for lanes in kernels_here() {
            for (k, stride) in [(37, 37), (37, 39), (48, 48)] {
                let (m, n) = (3, 5);
                let mut guarded = GuardedPage::new();
                let page = guarded.floats();
                let len = page.len();
                let a_values = values::<f32>(m * stride, 21, false);
                let b_values = values::<f32>(n * stride, 22, false);
                page[..m * stride].copy_from_slice(&a_values);
                let b_offset = len - ((n - 1) * stride + k);
                page[b_offset..b_offset + n * stride - (stride - k)]
                    .copy_from_slice(&b_values[..n * stride - (stride - k)]);
                let a = rows_of(page, 0, stride);
                let b = columns_of(page, b_offset, stride);
                let got = run(lanes, (m, k, n), a, b, 1);
                assert!(
                    same_bits(&got, &lane_sums(lanes, (m, k, n), &a, &b)),
                    "{lanes} lanes, k {k}, stride {stride}"
                );
            }
        }
    }

    #[test]
    fn the_lanes_are_summed_in_halves() {
        // 16 lanes: ((l0 + l8) + (l4 + l12)) + ..., visible where rounding depends on the order:
        // 1 + 2^-24 + 2^-24 rounds to 1 added left to right, but not with the small ones first.
        let mut lanes = [0.0f32; 16];
        lanes[0] = 1.0;
        lanes[1] = 2f32.powi(-24);
        lanes[9] = 2f32.powi(-24);
        // Halves: lanes 1 + 9 = 2^-23 first, then added to 1: 1 + 2^-23 exactly.
        assert_eq!(lane_sum(&lanes), 1.0 + 2f32.powi(-23));
        let in_order = lanes.iter().fold(0.0f32, |s, &x| s + x);
        assert_eq!(in_order, 1.0);
    }
}
