//! shendu's own matrix-multiply kernel for x86-64 CPUs with AVX2 and FMA but no AVX-512.
//!
//! On an AVX2-only AMD EPYC (Zen 3) the `gemm` crate's AVX2 kernel ran square products of
//! n = 256 to 2048 at 47–60 GFLOP/s on one thread, this one at 55–68 (9–23% faster; see
//! "2026-12-02 (evening)" in `benches/README.md`). It is the classic packed design: a
//! block of B (`kc × nc`) is copied into panels of `NR` columns, a block of A (`mc × kc`) into
//! panels of `MR` rows, and a register-tiled micro-kernel multiplies one A panel by one B panel
//! into an `MR × NR` tile of the output, 12 vector accumulators held in registers. One B panel
//! (`kc · NR` elements) is reused across all the A panels of a block, which sits in L2.
//!
//! The inner dimension is cut into chunks of [`chunk_depth`] (at most 512), a length that
//! depends on `k` alone. Element (i, j) of the output is the in-order fused multiply-add chain
//! over each chunk, from zero, and the chunks' sums are added to it in order. That is the
//! arithmetic of the `gemm` crate's packed kernels too, where its chunks are 512 long (as with
//! the 32 KiB 8-way L1 of a Zen 3). It does not depend on which part of the output a call
//! computes, so a product may be divided among threads in any way without changing a bit.

use std::any::TypeId;
use std::cell::Cell;
use std::mem::MaybeUninit;
use std::thread::LocalKey;

use super::gemm::{MatRef, OutPtr};
use crate::element::Element;

/// The largest chunk of the inner dimension a micro-kernel call sums over.
const MAX_DEPTH: usize = 512;

/// Whether the CPU can run this kernel (x86-64 with AVX2 and FMA).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The length of the inner dimension's chunks: `k` cut into as few chunks of at most
/// [`MAX_DEPTH`] as it takes, of equal length but for a shorter last one (the division the
/// `gemm` crate makes with chunks of 512).
pub(crate) fn chunk_depth(k: usize) -> usize {
    k.div_ceil(k.div_ceil(MAX_DEPTH).max(1)).max(1)
}

/// `out = a · b` for an `m × k` by `k × n` product. It writes every element of `out` and reads
/// none, so they may be uninitialized. With `parallel`, the blocks of A's rows are shared among
/// the current rayon pool's threads, which all read one packed block of B.
///
/// # Safety
/// [`available`] holds; `out` is valid for writes of its `m × n` elements and no other thread
/// accesses them during the call; `a` and `b` hold an `m × k` and a `k × n` matrix (`fits`),
/// with strides that fit `isize`; `k > 0`.
pub(crate) unsafe fn gemm<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    out: OutPtr<'_, T>,
    a: MatRef<T>,
    b: MatRef<T>,
    parallel: bool,
) {
    #[cfg(target_arch = "x86_64")]
    {
        // The casts change no address and no element type: `T` is the type of each branch.
        let (c, ldc) = (out.ptr, out.row_stride);
        let (a_ptr, b_ptr) = (a.data.as_ptr(), b.data.as_ptr());
        // SAFETY: the offsets lie inside their slices (`fits`), so `add` stays in the
        // allocations; the rest is the caller's contract, passed on.
        unsafe {
            let a = Matrix {
                ptr: a_ptr.add(a.offset),
                row_stride: a.row_stride,
                col_stride: a.col_stride,
            };
            let b = Matrix {
                ptr: b_ptr.add(b.offset),
                row_stride: b.row_stride,
                col_stride: b.col_stride,
            };
            if TypeId::of::<T>() == TypeId::of::<f32>() {
                f32x8::gemm(m, n, k, c.cast(), ldc, a.cast(), b.cast(), parallel);
            } else if TypeId::of::<T>() == TypeId::of::<f64>() {
                f64x4::gemm(m, n, k, c.cast(), ldc, a.cast(), b.cast(), parallel);
            } else {
                unreachable!("an Element is f32 or f64");
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (m, n, k, out, a, b, parallel);
        unreachable!("the packed kernel is only called where `available` holds");
    }
}

/// 32-byte units of scratch, so that a packed block starts on a vector's alignment.
#[derive(Clone, Copy)]
#[repr(align(32))]
struct Unit(#[allow(dead_code)] [u8; 32]);

/// A thread's scratch for packed blocks, kept from call to call and grown to the largest
/// product's need (for B about 2 MiB at most, for A 240 KiB): allocating it per product cost a
/// page fault per 4 KiB touched, which in a training step, where products and other tensors
/// take turns in the heap, doubled the time of W3's products. B's block and A's are apart
/// because a thread that packed B then packs A blocks too.
type Scratch = Cell<Vec<MaybeUninit<Unit>>>;

thread_local! {
    static PACKED_B: Scratch = const { Cell::new(Vec::new()) };
    static PACKED_A: Scratch = const { Cell::new(Vec::new()) };
}

/// Runs `body` with a pointer to `len` elements of this thread's scratch `slot`, which may hold
/// anything.
fn with_scratch<T, R>(
    slot: &'static LocalKey<Scratch>,
    len: usize,
    body: impl FnOnce(*mut T) -> R,
) -> R {
    let units = len
        .checked_mul(size_of::<T>())
        .expect("packed product: scratch size overflows")
        .div_ceil(size_of::<Unit>());
    // Taken out for the call and put back after: a call made meanwhile on this thread with the
    // same slot (none is made) would find it empty and use one of its own.
    let mut scratch = slot.take();
    if scratch.len() < units {
        scratch = Vec::with_capacity(units);
        scratch.resize(units, MaybeUninit::uninit());
    }
    let result = body(scratch.as_mut_ptr().cast());
    slot.set(scratch);
    result
}

/// Pointers that the tasks of a parallel product share.
#[derive(Clone, Copy)]
struct Shared<T> {
    a: Matrix<T>,
    b: Matrix<T>,
    b_packed: *const T,
    c: *mut T,
}

// SAFETY: the tasks that pack B write disjoint panels of `b_packed` and read `a` and `b`
// alone; the tasks that multiply read `a` and `b_packed`, which nothing writes while they run,
// and write disjoint rows of `c` (see `gemm`).
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T: Copy> Shared<T> {
    /// The pointers. A method, so that a closure captures the whole `Shared`, not its fields.
    fn get(&self) -> (Matrix<T>, Matrix<T>, *const T, *mut T) {
        (self.a, self.b, self.b_packed, self.c)
    }
}

/// A matrix by raw pointer: element (i, j) at `ptr + i·row_stride + j·col_stride`.
#[derive(Clone, Copy)]
struct Matrix<T> {
    ptr: *const T,
    row_stride: usize,
    col_stride: usize,
}

impl<T> Matrix<T> {
    /// The same matrix read as elements of type `U`, of the same size.
    fn cast<U>(self) -> Matrix<U> {
        Matrix {
            ptr: self.ptr.cast(),
            row_stride: self.row_stride,
            col_stride: self.col_stride,
        }
    }
}

/// Rows of a micro-kernel tile: 6 rows by 2 vectors is 12 accumulators, which with the two B
/// vectors and one broadcast A element fill 15 of the 16 registers.
#[cfg(target_arch = "x86_64")]
const MR: usize = 6;

/// Packs the `MR × 8` block of f32 at `from` (rows `row_stride` apart) into `to` as 8 columns
/// of `MR`, one after the other: `to[p·MR + i] = from[i·row_stride + p]`.
///
/// # Safety
/// AVX2 is present; the block's rows may be read; `to` may be written for `8 · MR` elements.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_rows_f32(from: *const f32, row_stride: usize, to: *mut f32) {
    use std::arch::x86_64::*;
    // SAFETY: the loads read the block's rows; the stores write columns p·MR ..
    // p·MR + 8 for p < 7, inside the 8 · MR elements, and the last one only its MR lanes.
    unsafe {
        let row = |i: usize| from.add(i * row_stride);
        let r = [
            _mm256_loadu_ps(row(0)),
            _mm256_loadu_ps(row(1)),
            _mm256_loadu_ps(row(2)),
            _mm256_loadu_ps(row(3)),
            _mm256_loadu_ps(row(4)),
            _mm256_loadu_ps(row(5)),
        ];
        // The transpose of an 8 × 8 block whose last two rows are zero: pairs of rows
        // interleaved, then quadruples, then halves exchanged.
        let zero = _mm256_setzero_ps();
        let pairs = [
            _mm256_unpacklo_ps(r[0], r[1]),
            _mm256_unpackhi_ps(r[0], r[1]),
            _mm256_unpacklo_ps(r[2], r[3]),
            _mm256_unpackhi_ps(r[2], r[3]),
            _mm256_unpacklo_ps(r[4], r[5]),
            _mm256_unpackhi_ps(r[4], r[5]),
        ];
        let quads = [
            _mm256_shuffle_ps::<0x44>(pairs[0], pairs[2]),
            _mm256_shuffle_ps::<0xEE>(pairs[0], pairs[2]),
            _mm256_shuffle_ps::<0x44>(pairs[1], pairs[3]),
            _mm256_shuffle_ps::<0xEE>(pairs[1], pairs[3]),
            _mm256_shuffle_ps::<0x44>(pairs[4], zero),
            _mm256_shuffle_ps::<0xEE>(pairs[4], zero),
            _mm256_shuffle_ps::<0x44>(pairs[5], zero),
            _mm256_shuffle_ps::<0xEE>(pairs[5], zero),
        ];
        let columns = [
            _mm256_permute2f128_ps::<0x20>(quads[0], quads[4]),
            _mm256_permute2f128_ps::<0x20>(quads[1], quads[5]),
            _mm256_permute2f128_ps::<0x20>(quads[2], quads[6]),
            _mm256_permute2f128_ps::<0x20>(quads[3], quads[7]),
            _mm256_permute2f128_ps::<0x31>(quads[0], quads[4]),
            _mm256_permute2f128_ps::<0x31>(quads[1], quads[5]),
            _mm256_permute2f128_ps::<0x31>(quads[2], quads[6]),
            _mm256_permute2f128_ps::<0x31>(quads[3], quads[7]),
        ];
        // Each column is stored whole, in order, so that its two lanes past MR are
        // overwritten by the next; the last stores its MR lanes alone.
        for (p, column) in columns.iter().enumerate().take(7) {
            _mm256_storeu_ps(to.add(p * MR), *column);
        }
        let first_six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
        _mm256_maskstore_ps(to.add(7 * MR), first_six, columns[7]);
    }
}

/// Packs the `MR × 4` block of f64 at `from` (rows `row_stride` apart) into `to` as 4 columns
/// of `MR`, one after the other: `to[p·MR + i] = from[i·row_stride + p]`.
///
/// # Safety
/// AVX2 is present; the block's rows may be read; `to` may be written for `4 · MR` elements.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_rows_f64(from: *const f64, row_stride: usize, to: *mut f64) {
    use std::arch::x86_64::*;
    // SAFETY: the loads read the block's rows; column p's stores write p·MR .. p·MR + 6,
    // inside the 4 · MR elements.
    unsafe {
        let row = |i: usize| from.add(i * row_stride);
        let r = [
            _mm256_loadu_pd(row(0)),
            _mm256_loadu_pd(row(1)),
            _mm256_loadu_pd(row(2)),
            _mm256_loadu_pd(row(3)),
            _mm256_loadu_pd(row(4)),
            _mm256_loadu_pd(row(5)),
        ];
        // Rows 0–3 as a 4 × 4 transpose; rows 4 and 5 as pairs, one 128-bit half per column.
        let (low01, high01) = (
            _mm256_unpacklo_pd(r[0], r[1]),
            _mm256_unpackhi_pd(r[0], r[1]),
        );
        let (low23, high23) = (
            _mm256_unpacklo_pd(r[2], r[3]),
            _mm256_unpackhi_pd(r[2], r[3]),
        );
        let (low45, high45) = (
            _mm256_unpacklo_pd(r[4], r[5]),
            _mm256_unpackhi_pd(r[4], r[5]),
        );
        let heads = [
            _mm256_permute2f128_pd::<0x20>(low01, low23),
            _mm256_permute2f128_pd::<0x20>(high01, high23),
            _mm256_permute2f128_pd::<0x31>(low01, low23),
            _mm256_permute2f128_pd::<0x31>(high01, high23),
        ];
        let tails = [
            _mm256_castpd256_pd128(low45),
            _mm256_castpd256_pd128(high45),
            _mm256_extractf128_pd::<1>(low45),
            _mm256_extractf128_pd::<1>(high45),
        ];
        for p in 0..4 {
            _mm256_storeu_pd(to.add(p * MR), heads[p]);
            _mm_storeu_pd(to.add(p * MR + 4), tails[p]);
        }
    }
}

/// One element type's kernel: `$vector` holds `LANES` of `$t`, a micro-kernel tile is `MR` rows
/// by two vectors of columns.
macro_rules! packed_kernel {
    ($module:ident, $t:ty, $vector:ty, $lanes:expr, $block_rows:expr, $block_cols:expr,
     $zero:ident, $load:ident, $store:ident, $splat:ident, $fmadd:ident, $add:ident,
     $transpose_rows:path) => {
        #[cfg(target_arch = "x86_64")]
        mod $module {
            use std::arch::x86_64::*;

            use crate::cpu::pool;

            use super::{chunk_depth, with_scratch, Matrix, Shared, MR, PACKED_A, PACKED_B};

            /// Columns of a micro-kernel tile: two vectors.
            const NR: usize = 2 * $lanes;
            /// Rows of A packed at a time: `MC × 512` elements fill under half of a 512 KiB L2.
            const MC: usize = $block_rows;
            /// Columns of B packed at a time: `512 × NC` elements, 2 MiB, stay in L3. At n = 2048
            /// this ran 6–7% faster than blocks of 4 MiB on a Zen 3, whose L3 other tenants share.
            const NC: usize = $block_cols;

            /// See [`super::gemm`]; `c` is the row-major output with row stride `ldc`.
            ///
            /// # Safety
            /// As for [`super::gemm`], with AVX2 and FMA on the CPU.
            #[allow(clippy::too_many_arguments)]
            pub(super) unsafe fn gemm(
                m: usize,
                n: usize,
                k: usize,
                c: *mut $t,
                ldc: usize,
                a: Matrix<$t>,
                b: Matrix<$t>,
                parallel: bool,
            ) {
                let depth = chunk_depth(k);
                let threads = if parallel {
                    rayon::current_num_threads()
                } else {
                    1
                };
                // A's rows in blocks of at most MC, as many as it takes rounded up to a whole
                // number per thread (so that the threads finish together), of whole tiles as
                // even as they can be: the first `extra` blocks take one tile more. Blocks of a
                // size rounded up to whole tiles left the last one short, and one of two
                // threads with 5% less work at n = 512 and 1024. The blocks may follow the
                // thread count: no element's arithmetic depends on them.
                let tiles = m.div_ceil(MR);
                let blocks = m.div_ceil(MC).next_multiple_of(threads).min(tiles);
                let (per_block, extra) = (tiles / blocks, tiles % blocks);
                let mc = (per_block + usize::from(extra > 0)) * MR;
                let block_start = |block: usize| MR * (block * per_block + block.min(extra));
                // Panels are padded to whole tiles with zeros: the padding's products land in
                // tile rows and columns that are never stored.
                let b_len = depth * n.min(NC).next_multiple_of(NR);
                let a_len = depth * mc;
                with_scratch::<$t, _>(&PACKED_B, b_len, |b_packed| {
                    for col in (0..n).step_by(NC) {
                        let cols = NC.min(n - col);
                        for inner in (0..k).step_by(depth) {
                            let kc = depth.min(k - inner);
                            let shared = Shared {
                                a,
                                b,
                                b_packed,
                                c: c.wrapping_add(col),
                            };
                            // B's block, by parts of whole panels (one per thread): columns
                            // col + j .. col + j + width, into the panels from j on.
                            let pack_part = |j: usize, width: usize| {
                                let (_, b, b_packed, _) = shared.get();
                                // SAFETY: `b` holds a k × n matrix and the part lies inside
                                // it; the scratch holds b_len ≥ kc · cols (rounded up)
                                // elements, and parts write disjoint panels.
                                unsafe {
                                    pack_b(
                                        kc,
                                        width,
                                        b,
                                        inner,
                                        col + j,
                                        b_packed.cast_mut().add(j * kc),
                                    )
                                };
                            };
                            if threads > 1 {
                                let width = cols.div_ceil(threads).next_multiple_of(NR);
                                pool::for_each_part(cols.div_ceil(width), &|part| {
                                    pack_part(part * width, width.min(cols - part * width))
                                });
                            } else {
                                pack_part(0, cols);
                            }
                            // One block of A's rows against this block of columns: packs A's
                            // block, then runs the tiles, B's panels in the outer loop so that
                            // each is reused, from L1 or L2, across all of A's.
                            let rows_block = |block: usize| {
                                let (a, _, b_packed, c) = shared.get();
                                let row = block_start(block);
                                let rows = block_start(block + 1).min(m) - row;
                                with_scratch::<$t, _>(&PACKED_A, a_len, |a_packed| {
                                    // SAFETY: A's block lies inside `a`; the scratch holds
                                    // a_len = kc · mc ≥ kc · rows (rounded up) elements; the
                                    // output tile at (row + i, col + j) lies inside the m × n
                                    // output, in rows no other task writes.
                                    unsafe {
                                        pack_a(rows, kc, a, row, inner, a_packed);
                                        for j in (0..cols).step_by(NR) {
                                            for i in (0..rows).step_by(MR) {
                                                tile(
                                                    kc,
                                                    a_packed.add(i * kc),
                                                    b_packed.add(j * kc),
                                                    c.add((row + i) * ldc + j),
                                                    ldc,
                                                    MR.min(rows - i),
                                                    NR.min(cols - j),
                                                    inner > 0,
                                                );
                                            }
                                        }
                                    }
                                });
                            };
                            if threads > 1 {
                                pool::for_each_part(blocks, &rows_block);
                            } else {
                                (0..blocks).for_each(rows_block);
                            }
                        }
                    }
                });
            }

            /// Copies B's `kc × cols` block at (`inner`, `col`) into panels of `NR` columns:
            /// panel `j` holds, for each p, the row `b[inner + p][col + j·NR ..][..NR]`.
            ///
            /// # Safety
            /// AVX2 is present; the block lies inside `b`; `out` holds
            /// `kc · cols.next_multiple_of(NR)` elements.
            #[target_feature(enable = "avx2")]
            unsafe fn pack_b(
                kc: usize,
                cols: usize,
                b: Matrix<$t>,
                inner: usize,
                col: usize,
                out: *mut $t,
            ) {
                if b.col_stride == 1 {
                    // Along B's rows, each cut into the panels. One panel at a time, down
                    // rows a whole row of B apart (4 KiB at n = 1024), a new page every
                    // step, packing B took 2.8% of an n = 1024 product on a Zen 4; this way,
                    // 1.5%.
                    for p in 0..kc {
                        for j in (0..cols).step_by(NR) {
                            let width = NR.min(cols - j);
                            // SAFETY: the elements read are (inner + p, col + j + jj) for
                            // jj < width, inside the block; those written are p·NR + jj of
                            // panel j, below (j + NR) · kc ≤ the buffer's length.
                            unsafe {
                                let from = b.ptr.add((inner + p) * b.row_stride + col + j);
                                let to = out.add(j * kc + p * NR);
                                if width == NR {
                                    // A length the compiler knows: two vector moves, not a
                                    // call of `memcpy`.
                                    std::ptr::copy_nonoverlapping(from, to, NR);
                                } else {
                                    std::ptr::copy_nonoverlapping(from, to, width);
                                    for jj in width..NR {
                                        *to.add(jj) = 0.0;
                                    }
                                }
                            }
                        }
                    }
                    return;
                }
                // Down each column of each panel, along B's storage when B is a transposed
                // view (as the weight of x·Wᵀ is).
                for j in (0..cols).step_by(NR) {
                    let width = NR.min(cols - j);
                    // SAFETY: every element read is (inner + p, col + j + jj) with p < kc and
                    // jj < width, inside the block; every element written is below
                    // (j + NR) · kc ≤ the buffer's length.
                    unsafe {
                        let panel = out.add(j * kc);
                        let first = b.ptr.add(inner * b.row_stride + (col + j) * b.col_stride);
                        for jj in 0..NR {
                            for p in 0..kc {
                                *panel.add(p * NR + jj) = if jj < width {
                                    *first.add(p * b.row_stride + jj * b.col_stride)
                                } else {
                                    0.0
                                };
                            }
                        }
                    }
                }
            }

            /// Copies A's `rows × kc` block at (`row`, `inner`) into panels of `MR` rows: panel
            /// `i` holds, for each p, the column `a[row + i·MR ..][..MR][inner + p]`.
            ///
            /// # Safety
            /// AVX2 is present; the block lies inside `a`; `out` holds
            /// `kc · rows.next_multiple_of(MR)` elements.
            #[target_feature(enable = "avx2")]
            unsafe fn pack_a(
                rows: usize,
                kc: usize,
                a: Matrix<$t>,
                row: usize,
                inner: usize,
                out: *mut $t,
            ) {
                for i in (0..rows).step_by(MR) {
                    let height = MR.min(rows - i);
                    // SAFETY: as in `pack_b`, with rows for columns; the transposes read and
                    // write the same elements as the loops.
                    unsafe {
                        let panel = out.add(i * kc);
                        let first = a.ptr.add((row + i) * a.row_stride + inner * a.col_stride);
                        let mut p = 0;
                        if height == MR && a.col_stride == 1 {
                            // A's rows are contiguous (x·W): MR rows of `LANES` columns at a
                            // time, turned in registers. Element by element, this panel took
                            // 5.4% of an n = 1024 product on a Zen 4.
                            while p + $lanes <= kc {
                                $transpose_rows(first.add(p), a.row_stride, panel.add(p * MR));
                                p += $lanes;
                            }
                        }
                        if height == MR && a.row_stride == 1 {
                            // A's columns are contiguous (a transposed view, as gᵀ in a
                            // weight's gradient gᵀ·x): each step's MR elements are one copy.
                            while p < kc {
                                let from = first.add(p * a.col_stride);
                                std::ptr::copy_nonoverlapping(from, panel.add(p * MR), MR);
                                p += 1;
                            }
                        }
                        for p in p..kc {
                            for ii in 0..MR {
                                *panel.add(p * MR + ii) = if ii < height {
                                    *first.add(ii * a.row_stride + p * a.col_stride)
                                } else {
                                    0.0
                                };
                            }
                        }
                    }
                }
            }

            /// The micro-kernel: the `MR × NR` tile of a panel of A times a panel of B, over
            /// `kc` steps, stored (or, with `accumulate`, added) into the first `rows × cols`
            /// of the tile at `c`.
            ///
            /// # Safety
            /// AVX2 and FMA are present; `a` holds `kc · MR` and `b` `kc · NR` elements; the
            /// `rows × cols` elements at `c` with row stride `ldc` may be written, and with
            /// `accumulate` have been.
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn tile(
                kc: usize,
                mut a: *const $t,
                mut b: *const $t,
                c: *mut $t,
                ldc: usize,
                rows: usize,
                cols: usize,
                accumulate: bool,
            ) {
                let mut sums = [[$zero(); 2]; MR];
                // Prefetches: the output tile, read or written at the end, and A's panel 16
                // steps ahead, which comes from L2. On a Zen 3 they made n = 1024 and 2048
                // products 12% and 14% faster (medians of 3 runs of pairs in turn, in one
                // process). A prefetch never faults, so addresses past a panel's end are
                // harmless; `wrapping_add` keeps forming them free of undefined behaviour.
                for ii in 0..rows {
                    _mm_prefetch::<_MM_HINT_T0>(c.wrapping_add(ii * ldc) as *const i8);
                    _mm_prefetch::<_MM_HINT_T0>(c.wrapping_add(ii * ldc + NR - 1) as *const i8);
                }
                for _ in 0..kc {
                    _mm_prefetch::<_MM_HINT_T0>(a.wrapping_add(16 * MR) as *const i8);
                    // SAFETY: step p reads a[p·MR ..][..MR] and b[p·NR ..][..NR], inside the
                    // panels; unaligned loads take any address.
                    unsafe {
                        let low = $load(b);
                        let high = $load(b.add($lanes));
                        for (ii, sum) in sums.iter_mut().enumerate() {
                            let x = $splat(*a.add(ii));
                            sum[0] = $fmadd(x, low, sum[0]);
                            sum[1] = $fmadd(x, high, sum[1]);
                        }
                        a = a.add(MR);
                        b = b.add(NR);
                    }
                }
                if rows == MR && cols == NR {
                    for (ii, sum) in sums.iter().enumerate() {
                        // SAFETY: the whole tile may be written (and read, with `accumulate`).
                        unsafe {
                            let out = c.add(ii * ldc);
                            let (mut low, mut high) = (sum[0], sum[1]);
                            if accumulate {
                                low = $add($load(out), low);
                                high = $add($load(out.add($lanes)), high);
                            }
                            $store(out, low);
                            $store(out.add($lanes), high);
                        }
                    }
                } else {
                    // An edge tile: through a buffer, then the part that lies in the output.
                    let mut buffer = [[0.0; NR]; MR];
                    for (row, sum) in buffer.iter_mut().zip(&sums) {
                        // SAFETY: each row of the buffer holds NR = 2 · lanes elements.
                        unsafe {
                            $store(row.as_mut_ptr(), sum[0]);
                            $store(row.as_mut_ptr().add($lanes), sum[1]);
                        }
                    }
                    for (ii, row) in buffer.iter().enumerate().take(rows) {
                        for (jj, &value) in row.iter().enumerate().take(cols) {
                            // SAFETY: (ii, jj) lies in the rows × cols the caller lets us write.
                            unsafe {
                                let out = c.add(ii * ldc + jj);
                                *out = if accumulate { *out + value } else { value };
                            }
                        }
                    }
                }
            }
        }
    };
}

packed_kernel!(
    f32x8,
    f32,
    __m256,
    8,
    120,
    1024,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_add_ps,
    super::transpose_rows_f32
);
packed_kernel!(
    f64x4,
    f64,
    __m256d,
    4,
    60,
    512,
    _mm256_setzero_pd,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_set1_pd,
    _mm256_fmadd_pd,
    _mm256_add_pd,
    super::transpose_rows_f64
);

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::{available, chunk_depth, gemm, transpose_rows_f32, transpose_rows_f64, MR};
    use crate::cpu::gemm::MatRef;
    use crate::cpu::test_support::{self, values};
    use crate::element::Element;

    /// The kernel's arithmetic written plainly: for each element, an in-order fused
    /// multiply-add chain from zero over each chunk of the inner dimension, the chunks' sums
    /// added in order.
    fn chunked_sums<T: Element>(
        m: usize,
        k: usize,
        n: usize,
        a: &MatRef<T>,
        b: &MatRef<T>,
    ) -> Vec<T> {
        let at = |x: &MatRef<T>, i: usize, j: usize| {
            x.data[x.offset + i * x.row_stride + j * x.col_stride]
        };
        let depth = chunk_depth(k);
        let mut out = vec![T::zero(); m * n];
        for i in 0..m {
            for j in 0..n {
                for (chunk, start) in (0..k).step_by(depth).enumerate() {
                    let mut sum = T::zero();
                    for p in start..(start + depth).min(k) {
                        sum = at(a, i, p).mul_add(at(b, p, j), sum);
                    }
                    out[i * n + j] = if chunk == 0 {
                        sum
                    } else {
                        out[i * n + j] + sum
                    };
                }
            }
        }
        out
    }

    /// Runs the kernel, as `test_support::run` does.
    fn run<T: Element>(
        m: usize,
        k: usize,
        n: usize,
        a: MatRef<T>,
        b: MatRef<T>,
        threads: usize,
    ) -> Vec<T> {
        assert!(available(), "these tests need a CPU with AVX2 and FMA");
        // SAFETY: the CPU has AVX2 and FMA; `run` checks that the operands fit and k > 0.
        unsafe { test_support::run(gemm::<T>, (m, k, n), a, b, threads) }
    }

    /// Whether two results hold the same bits, NaN for NaN.
    fn same_bits<T: Element>(x: &[T], y: &[T]) -> bool {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|(p, q)| p.to_f64().unwrap().to_bits() == q.to_f64().unwrap().to_bits())
    }

    fn check_shapes<T: Element>() {
        // Edges of every kind: rows and columns short of a tile, products past the A and B
        // blocks (MC, NC), inner dimensions of one chunk, of several equal ones, and of a
        // shorter last one.
        let shapes = [
            (1, 1, 1),
            (5, 3, 15),
            (6, 16, 16),
            (7, 513, 17),
            (13, 1030, 33),
            (130, 40, 2050),
            (250, 600, 70),
        ];
        for (case, &(m, k, n)) in shapes.iter().enumerate() {
            for special in [false, true] {
                // A row-major and B row-major, then each one transposed, with offsets.
                let a_data = values::<T>(m * k + 3, case as u64, special);
                let b_data = values::<T>(k * n + 5, 100 + case as u64, special);
                let layouts = [
                    (
                        MatRef {
                            data: &a_data[..],
                            offset: 0,
                            row_stride: k,
                            col_stride: 1,
                        },
                        MatRef {
                            data: &b_data[..],
                            offset: 0,
                            row_stride: n,
                            col_stride: 1,
                        },
                    ),
                    (
                        MatRef {
                            data: &a_data[..],
                            offset: 3,
                            row_stride: 1,
                            col_stride: m,
                        },
                        MatRef {
                            data: &b_data[..],
                            offset: 5,
                            row_stride: 1,
                            col_stride: k,
                        },
                    ),
                ];
                for (a, b) in layouts {
                    let want = chunked_sums(m, k, n, &a, &b);
                    for threads in [1, 3] {
                        let got = run(m, k, n, a, b, threads);
                        assert!(
                            same_bits(&got, &want),
                            "{} {m}x{k}x{n}, special {special}, strides a {}/{} b {}/{}, \
                             {threads} threads",
                            T::NAME,
                            a.row_stride,
                            a.col_stride,
                            b.row_stride,
                            b.col_stride
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn packed_products_round_as_the_chunked_fused_sums_bit_for_bit() {
        check_shapes::<f32>();
        check_shapes::<f64>();
    }

    #[test]
    fn a_broadcast_operand_reads_its_one_row_or_column() {
        // Stride 0 along a dimension: every row of A (or column of B) is the same one.
        let (m, k, n) = (20, 30, 40);
        let a_row = values::<f64>(k, 7, false);
        let b_data = values::<f64>(k * n, 8, false);
        let a = MatRef {
            data: &a_row[..],
            offset: 0,
            row_stride: 0,
            col_stride: 1,
        };
        let b = MatRef {
            data: &b_data[..],
            offset: 0,
            row_stride: n,
            col_stride: 1,
        };
        let got = run(m, k, n, a, b, 2);
        assert!(same_bits(&got, &chunked_sums(m, k, n, &a, &b)));
        assert!(got.chunks(n).all(|row| same_bits(row, &got[..n])));
    }

    #[test]
    fn panel_transposes_write_their_block_and_nothing_past_it() {
        assert!(available(), "these tests need a CPU with AVX2 and FMA");
        // Rows 11 apart, so that a load from the wrong row or column shows.
        let from: Vec<f64> = (0..MR * 11).map(|x| x as f64).collect();
        let from_f32: Vec<f32> = from.iter().map(|&x| x as f32).collect();
        let mut to = vec![-1.0f64; 4 * MR + 8];
        let mut to_f32 = vec![-1.0f32; 8 * MR + 8];
        // SAFETY: the CPU has AVX2; the MR rows of 4 (or 8) columns lie in `from`, and `to`
        // holds 4 · MR (8 · MR) elements and more.
        unsafe {
            transpose_rows_f64(from.as_ptr(), 11, to.as_mut_ptr());
            transpose_rows_f32(from_f32.as_ptr(), 11, to_f32.as_mut_ptr());
        }
        for (lanes, got) in [(4, &to), (8, &to_f32.iter().map(|&x| x as f64).collect())] {
            for p in 0..lanes {
                for i in 0..MR {
                    assert_eq!(
                        got[p * MR + i],
                        (i * 11 + p) as f64,
                        "{lanes} lanes, ({i}, {p})"
                    );
                }
            }
            assert!(
                got[lanes * MR..].iter().all(|&x| x == -1.0),
                "{lanes} lanes wrote past"
            );
        }
    }

    #[test]
    fn chunks_are_at_most_512_long_and_as_even_as_they_can_be() {
        assert_eq!(chunk_depth(1), 1);
        assert_eq!(chunk_depth(512), 512);
        assert_eq!(chunk_depth(513), 257);
        assert_eq!(chunk_depth(1000), 500);
        assert_eq!(chunk_depth(1025), 342);
    }
}
