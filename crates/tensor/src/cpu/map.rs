//! Elementwise kernels: one, two or three operands of one broadcast shape into a fresh
//! contiguous buffer, and the in-place update of a contiguous buffer by a broadcast operand.
//!
//! Contiguous operands take a straight zip loop that the compiler vectorises; everything else
//! goes through [`Walk`], with the row loop specialised for the common stride patterns (both
//! contiguous, one broadcast along the row).

use std::mem::MaybeUninit;

use super::walk::Walk;
use super::{par_for_each_chunk, pool, with_wide_vectors, SharedMut, CHUNK, PAR_MIN};
use crate::element::Element;
use crate::layout::Layout;
use crate::storage::{uninit_buffer, Buffer};

/// Fills `out` by calling `fill(start, chunk)` on consecutive chunks, in parallel when large.
/// The chunks cover `out`.
#[inline(always)]
pub(crate) fn fill_chunks<U: Send>(out: &mut [U], fill: impl Fn(usize, &mut [U]) + Sync) {
    if out.len() >= PAR_MIN {
        par_for_each_chunk(out, CHUNK, &|i, chunk| fill(i * CHUNK, chunk));
    } else {
        fill(0, out);
    }
}

/// `f` applied to every element of a tensor, into a new contiguous buffer in row-major order.
pub(crate) fn map1<T: Element>(src: &[T], layout: &Layout, f: impl Fn(T) -> T + Sync) -> Buffer<T> {
    map1_with::<T, false>(src, layout, f)
}

/// [`map1`] with the loop over a contiguous tensor compiled for the widest vectors this CPU has
/// ([`with_wide_vectors`]), for an `f` of plain arithmetic: the `f32` tanh ran 3.5× faster with
/// AVX-512 than with SSE2 on a Zen 5. An `f` that calls out (libm's `exp`, a user's closure)
/// gains nothing from wider vectors, and was measured slower: sigmoid, which calls `exp`, took
/// 7.9–8.3 ns an element over 2²⁰ elements on the widest vectors, 3.4–5.5 on SSE2.
pub(crate) fn map1_widest<T: Element>(
    src: &[T],
    layout: &Layout,
    f: impl Fn(T) -> T + Sync,
) -> Buffer<T> {
    map1_with::<T, true>(src, layout, f)
}

/// [`map1`], or [`map1_widest`] when `WIDEST`.
fn map1_with<T: Element, const WIDEST: bool>(
    src: &[T],
    layout: &Layout,
    f: impl Fn(T) -> T + Sync,
) -> Buffer<T> {
    let n = layout.numel();
    if layout.is_contiguous() {
        let src = &src[layout.offset()..layout.offset() + n];
        let mut out = uninit_buffer(n);
        fill_chunks(&mut out, |start, chunk| {
            let src = &src[start..start + chunk.len()];
            if WIDEST {
                with_wide_vectors(
                    #[inline(always)]
                    || write_mapped(chunk, src, &f),
                );
            } else {
                write_mapped(chunk, src, &f);
            }
        });
        // SAFETY: the chunks cover the buffer, and each is zipped with a source of its length,
        // so every element is written.
        return unsafe { out.assume_init() };
    }
    let mut out = uninit_buffer(n);
    map1_strided_into(src, layout, f, &mut out);
    // SAFETY: `map1_strided_into` writes every element of `out`.
    unsafe { out.assume_init() }
}

/// `out[i] = f(src[i])`, for slices of one length.
#[inline(always)]
fn write_mapped<T: Copy>(out: &mut [MaybeUninit<T>], src: &[T], f: &impl Fn(T) -> T) {
    for (o, &x) in out.iter_mut().zip(src) {
        o.write(f(x));
    }
}

/// `f` applied to every element of a tensor that is not contiguous, written in row-major order
/// into `out`, which holds its `layout.numel()` elements: [`map1`]'s path for such a tensor, and
/// `Tensor::to_vec`'s, which writes straight into the vector it returns. Every element of `out`
/// is written and none is read, so it may come uninitialized: zeros written first were a second
/// pass over the output, as long as a transposed copy's own.
pub(crate) fn map1_strided_into<T: Element>(
    src: &[T],
    layout: &Layout,
    f: impl Fn(T) -> T + Sync,
    out: &mut [MaybeUninit<T>],
) {
    // Checked in release builds too: the callers' `assume_init` relies on every element of `out`
    // being written, which holds only if `out` is no longer than the tensor.
    assert_eq!(
        out.len(),
        layout.numel(),
        "map1_strided_into: output length"
    );
    if out.is_empty() {
        return;
    }
    let walk = Walk::new(layout.shape(), [layout.strides()], [layout.offset()]);
    if let Some((rows, cols, stride)) = walk.as_transposed_matrix() {
        transposed(&src[walk.offset(0)..], rows, cols, stride, out, &f);
        return;
    }
    let [s] = walk.row_strides();
    fill_chunks(out, |start, chunk| {
        walk.for_each_row(start, start + chunk.len(), |pos, len, [o]| {
            let row = &mut chunk[pos..pos + len];
            if s == 1 {
                for (r, &x) in row.iter_mut().zip(&src[o..o + len]) {
                    r.write(f(x));
                }
            } else {
                for (i, r) in row.iter_mut().enumerate() {
                    r.write(f(src[o + i * s]));
                }
            }
        });
    });
}

/// Side of the square tiles of a transposed copy.
const TILE: usize = 16;

/// `out[i][j] = f(src[i + j·stride])` for a `rows × cols` output: a transposed matrix. Read row
/// by row, the source would cost a cache miss per element; instead each 16 × 16 tile is read a
/// cache line at a time into a small buffer ([`transpose_tile`], in registers where the CPU has
/// AVX) and written out a line at a time, `f` applied on the way. (Writing the output in place
/// with a large power-of-two row length thrashes a few cache sets.)
pub(crate) fn transposed<T: Element>(
    src: &[T],
    rows: usize,
    cols: usize,
    stride: usize,
    out: &mut [MaybeUninit<T>],
    f: &(impl Fn(T) -> T + Sync),
) {
    let band = |first_row: usize, band: &mut [MaybeUninit<T>]| {
        let band_rows = band.len() / cols;
        let mut tile = [T::zero(); TILE * TILE];
        for col0 in (0..cols).step_by(TILE) {
            let tile_cols = TILE.min(cols - col0);
            if tile_cols == TILE && band_rows == TILE {
                // A whole tile: transposed into a buffer, then `f` along its rows.
                let mut whole = [[T::zero(); TILE]; TILE];
                transpose_tile(src, col0 * stride + first_row, stride, &mut whole);
                for (i, row) in whole.iter().enumerate() {
                    for (o, &x) in band[i * cols + col0..][..TILE].iter_mut().zip(row) {
                        o.write(f(x));
                    }
                }
                continue;
            }
            for j in 0..tile_cols {
                let column = &src[(col0 + j) * stride + first_row..][..band_rows];
                for (i, &x) in column.iter().enumerate() {
                    tile[i * TILE + j] = f(x);
                }
            }
            for i in 0..band_rows {
                let from = &tile[i * TILE..][..tile_cols];
                for (o, &x) in band[i * cols + col0..][..tile_cols].iter_mut().zip(from) {
                    o.write(x);
                }
            }
        }
    };
    if rows * cols >= PAR_MIN {
        par_for_each_chunk(out, TILE * cols, &|b, chunk| band(b * TILE, chunk));
    } else {
        for (b, chunk) in out.chunks_mut(TILE * cols).enumerate() {
            band(b * TILE, chunk);
        }
    }
}

/// `whole[i][j] = src[base + j·stride + i]` for i, j < [`TILE`]: one whole tile of a transposed
/// copy, whose columns are the runs of `TILE` elements from `base + j·stride`.
///
/// With AVX (every x86-64 CPU since 2011 or so) an `f32` tile moves as four 8 × 8 blocks and an
/// `f64` one as sixteen 4 × 4 blocks, each loaded a row at a time and transposed in registers:
/// element by element, the compiler leaves this a load and a store per element, which made a
/// transposed copy about three times slower. The bits are those of the source either way.
///
/// # Panics
/// If the tile reaches past `src`.
#[inline(always)]
fn transpose_tile<T: Element>(
    src: &[T],
    base: usize,
    stride: usize,
    whole: &mut [[T; TILE]; TILE],
) {
    // One past the last element read, base + 15·stride + 16, without overflow.
    let end = (TILE - 1)
        .checked_mul(stride)
        .and_then(|last_column| last_column.checked_add(base))
        .and_then(|last_column| last_column.checked_add(TILE));
    assert!(
        end.is_some_and(|end| end <= src.len()),
        "transpose_tile: the tile reaches past the source"
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        use std::any::TypeId;
        let (from, to) = (src[base..].as_ptr(), whole.as_mut_ptr().cast::<T>());
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            for (bi, bj) in [(0, 0), (0, 8), (8, 0), (8, 8)] {
                // SAFETY: the CPU has AVX. `T` is f32, so the casts keep each pointer's type.
                // The block reads rows bj..bj + 8 of the source, elements bi..bi + 8 of each:
                // at most base + 15·stride + 15 < `end` ≤ src.len(), as asserted. It writes
                // rows bi..bi + 8 of `whole`, elements bj..bj + 8 of each, inside its 16 × 16.
                unsafe {
                    transpose_8x8_f32(
                        from.add(bj * stride + bi).cast::<f32>(),
                        stride,
                        to.add(bi * TILE + bj).cast::<f32>(),
                    )
                };
            }
            return;
        }
        if TypeId::of::<T>() == TypeId::of::<f64>() {
            for bi in (0..TILE).step_by(4) {
                for bj in (0..TILE).step_by(4) {
                    // SAFETY: as for f32 above, with 4 × 4 blocks of f64.
                    unsafe {
                        transpose_4x4_f64(
                            from.add(bj * stride + bi).cast::<f64>(),
                            stride,
                            to.add(bi * TILE + bj).cast::<f64>(),
                        )
                    };
                }
            }
            return;
        }
    }
    transpose_tile_by_element(src, base, stride, whole);
}

/// [`transpose_tile`] one element at a time: its path without AVX.
#[inline(always)]
fn transpose_tile_by_element<T: Element>(
    src: &[T],
    base: usize,
    stride: usize,
    whole: &mut [[T; TILE]; TILE],
) {
    for j in 0..TILE {
        let column: &[T; TILE] = src[base + j * stride..][..TILE]
            .try_into()
            .expect("a slice of TILE elements");
        for (i, &x) in column.iter().enumerate() {
            whole[i][j] = x;
        }
    }
}

/// `to[i·TILE + j] = from[j·stride + i]` for i, j < 8.
///
/// # Safety
/// The CPU has AVX; `from` is readable at `j·stride + i` and `to` writable at `i·TILE + j` for
/// every i, j < 8.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn transpose_8x8_f32(from: *const f32, stride: usize, to: *mut f32) {
    use std::arch::x86_64::*;
    // SAFETY: the caller vouches for every address read and written.
    unsafe {
        let r: [__m256; 8] = std::array::from_fn(|j| _mm256_loadu_ps(from.add(j * stride)));
        // Pairs of rows interleaved, then pairs of pairs, then the 128-bit halves swapped.
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let rows = [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ];
        for (i, row) in rows.into_iter().enumerate() {
            _mm256_storeu_ps(to.add(i * TILE), row);
        }
    }
}

/// `to[i·TILE + j] = from[j·stride + i]` for i, j < 4.
///
/// # Safety
/// The CPU has AVX; `from` is readable at `j·stride + i` and `to` writable at `i·TILE + j` for
/// every i, j < 4.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn transpose_4x4_f64(from: *const f64, stride: usize, to: *mut f64) {
    use std::arch::x86_64::*;
    // SAFETY: the caller vouches for every address read and written.
    unsafe {
        let r: [__m256d; 4] = std::array::from_fn(|j| _mm256_loadu_pd(from.add(j * stride)));
        let t0 = _mm256_unpacklo_pd(r[0], r[1]);
        let t1 = _mm256_unpackhi_pd(r[0], r[1]);
        let t2 = _mm256_unpacklo_pd(r[2], r[3]);
        let t3 = _mm256_unpackhi_pd(r[2], r[3]);
        let rows = [
            _mm256_permute2f128_pd::<0x20>(t0, t2),
            _mm256_permute2f128_pd::<0x20>(t1, t3),
            _mm256_permute2f128_pd::<0x31>(t0, t2),
            _mm256_permute2f128_pd::<0x31>(t1, t3),
        ];
        for (i, row) in rows.into_iter().enumerate() {
            _mm256_storeu_pd(to.add(i * TILE), row);
        }
    }
}

/// `f(a, b)` over two operands already broadcast to one shape, into a new contiguous buffer.
pub(crate) fn map2<T: Element>(
    (a, la): (&[T], &Layout),
    (b, lb): (&[T], &Layout),
    f: impl Fn(T, T) -> T + Sync,
) -> Buffer<T> {
    let n = la.numel();
    if la.is_contiguous() && lb.is_contiguous() {
        let a = &a[la.offset()..la.offset() + n];
        let b = &b[lb.offset()..lb.offset() + n];
        let mut out = uninit_buffer(n);
        fill_chunks(&mut out, |start, chunk| {
            let end = start + chunk.len();
            for ((o, &x), &y) in chunk.iter_mut().zip(&a[start..end]).zip(&b[start..end]) {
                o.write(f(x, y));
            }
        });
        // SAFETY: as in `map1`.
        return unsafe { out.assume_init() };
    }
    let mut out = uninit_buffer(n);
    let walk = Walk::new(
        la.shape(),
        [la.strides(), lb.strides()],
        [la.offset(), lb.offset()],
    );
    let [sa, sb] = walk.row_strides();
    fill_chunks(&mut out, |start, chunk| {
        walk.for_each_row(start, start + chunk.len(), |pos, len, [oa, ob]| {
            let row = &mut chunk[pos..pos + len];
            match (sa, sb) {
                (1, 1) => {
                    for ((r, &x), &y) in row.iter_mut().zip(&a[oa..oa + len]).zip(&b[ob..ob + len])
                    {
                        r.write(f(x, y));
                    }
                }
                (1, 0) => {
                    let y = b[ob];
                    for (r, &x) in row.iter_mut().zip(&a[oa..oa + len]) {
                        r.write(f(x, y));
                    }
                }
                (0, 1) => {
                    let x = a[oa];
                    for (r, &y) in row.iter_mut().zip(&b[ob..ob + len]) {
                        r.write(f(x, y));
                    }
                }
                _ => {
                    for (i, r) in row.iter_mut().enumerate() {
                        r.write(f(a[oa + i * sa], b[ob + i * sb]));
                    }
                }
            }
        });
    });
    // SAFETY: the rows of `for_each_row` cover positions start..start + len of each chunk, and
    // the chunks cover the buffer; each row's loop zips with slices of the row's length (or
    // counts to it), so every element is written.
    unsafe { out.assume_init() }
}

/// `f(a, b, c)` over three operands already broadcast to one shape, into a new buffer.
pub(crate) fn map3<T: Element>(
    (a, la): (&[T], &Layout),
    (b, lb): (&[T], &Layout),
    (c, lc): (&[T], &Layout),
    f: impl Fn(T, T, T) -> T + Sync,
) -> Buffer<T> {
    let n = la.numel();
    if la.is_contiguous() && lb.is_contiguous() && lc.is_contiguous() {
        // Operands of one shape, laid out plainly: straight slices, no index walk, which a small
        // tensor would pay more for than for its arithmetic.
        let mut out = uninit_buffer(n);
        let (a, b, c) = (
            &a[la.offset()..la.offset() + n],
            &b[lb.offset()..lb.offset() + n],
            &c[lc.offset()..lc.offset() + n],
        );
        fill_chunks(&mut out, |start, chunk| {
            let end = start + chunk.len();
            let sources = a[start..end].iter().zip(&b[start..end]).zip(&c[start..end]);
            for (r, ((&x, &y), &z)) in chunk.iter_mut().zip(sources) {
                r.write(f(x, y, z));
            }
        });
        // SAFETY: as in `map1`.
        return unsafe { out.assume_init() };
    }
    let mut out = uninit_buffer(n);
    let walk = Walk::new(
        la.shape(),
        [la.strides(), lb.strides(), lc.strides()],
        [la.offset(), lb.offset(), lc.offset()],
    );
    let [sa, sb, sc] = walk.row_strides();
    fill_chunks(&mut out, |start, chunk| {
        walk.for_each_row(start, start + chunk.len(), |pos, len, [oa, ob, oc]| {
            for (i, r) in chunk[pos..pos + len].iter_mut().enumerate() {
                r.write(f(a[oa + i * sa], b[ob + i * sb], c[oc + i * sc]));
            }
        });
    });
    // SAFETY: as in `map2`.
    unsafe { out.assume_init() }
}

/// `dst[i] = f(dst[i], src[i])` over `dst`'s elements in row-major order, `src` being read
/// through `layout` (of `dst`'s shape; broadcast axes have stride 0): the loop of the in-place
/// updates.
pub(crate) fn update<T: Element>(
    dst: &mut [T],
    (src, layout): (&[T], &Layout),
    f: impl Fn(T, T) -> T + Sync,
) {
    if layout.is_contiguous() {
        let src = &src[layout.offset()..layout.offset() + dst.len()];
        fill_chunks(dst, |start, chunk| {
            let end = start + chunk.len();
            for (d, &x) in chunk.iter_mut().zip(&src[start..end]) {
                *d = f(*d, x);
            }
        });
        return;
    }
    if let Some(row) = repeated_row(layout) {
        update_rows(dst, &src[layout.offset()..layout.offset() + row], f);
        return;
    }
    let walk = Walk::new(layout.shape(), [layout.strides()], [layout.offset()]);
    let [s] = walk.row_strides();
    fill_chunks(dst, |start, chunk| {
        walk.for_each_row(start, start + chunk.len(), |pos, len, [o]| {
            for (i, d) in chunk[pos..pos + len].iter_mut().enumerate() {
                *d = f(*d, src[o + i * s]);
            }
        })
    });
}

/// `dst[i] = f(dst[i], row[i % row.len()])`: [`update`] with a source that repeats one contiguous
/// row over `dst`'s leading axes, as a bias added to every row of a batch (or a scalar to every
/// element). `row` is not empty and its length divides `dst`'s.
pub(crate) fn update_rows<T: Element>(dst: &mut [T], row: &[T], f: impl Fn(T, T) -> T + Sync) {
    if let [x] = *row {
        // A scalar: one straight loop, not pieces of one element.
        fill_chunks(dst, |_, chunk| chunk.iter_mut().for_each(|d| *d = f(*d, x)));
        return;
    }
    let width = row.len();
    fill_chunks(dst, |start, chunk| {
        // A chunk may start and end mid-row: it is cut where the rows end, and each piece zips
        // with the matching part of the row (no index arithmetic per element).
        let (mut done, mut col) = (0, start % width);
        while done < chunk.len() {
            let len = (width - col).min(chunk.len() - done);
            for (d, &x) in chunk[done..done + len].iter_mut().zip(&row[col..col + len]) {
                *d = f(*d, x);
            }
            done += len;
            col = 0;
        }
    });
}

/// If `layout` repeats one contiguous block along broadcast leading axes (stride 0) — a bias
/// `[n]` seen as `[m, n]` — the block's length, else `None`. A block of one element (a scalar
/// broadcast) is `None`: the index walk reads it as a row of stride 0, faster than pieces of one.
fn repeated_row(layout: &Layout) -> Option<usize> {
    let (shape, strides) = (layout.shape(), layout.strides());
    // The trailing axes that are laid out contiguously, from the back.
    let (mut row, mut axis) = (1usize, shape.len());
    while axis > 0 && (strides[axis - 1] == row || shape[axis - 1] == 1) {
        row = row.checked_mul(shape[axis - 1])?;
        axis -= 1;
    }
    let leading_broadcast = shape[..axis]
        .iter()
        .zip(&strides[..axis])
        .all(|(&d, &s)| s == 0 || d == 1);
    (axis > 0 && row > 1 && leading_broadcast).then_some(row)
}

/// `f(&mut dst[i], src[i], [&mut states[k][i]; N])` over slices of one length: the loop of a
/// fused optimizer update, which reads the gradient once and writes the parameter and its state
/// in the same pass. Large slices are split in parts of [`CHUNK`] elements that run in
/// parallel; every element is computed alone, so the result does not depend on the split.
pub(crate) fn zip_update<T: Element, const N: usize, F>(
    dst: &mut [T],
    src: &[T],
    states: [&mut [T]; N],
    f: &F,
) where
    F: Fn(&mut T, T, [&mut T; N]) + Sync,
{
    if dst.len() < PAR_MIN || !pool::divides() {
        zip_update_serial(dst, src, states, f);
    } else {
        zip_update_parallel(dst, src, states, &|d, s, states| {
            zip_update_serial(d, s, states, f)
        });
    }
}

/// The parallel split of [`zip_update`], in parts of [`CHUNK`] elements, with its serial loop
/// behind a `dyn` closure so that the split is compiled once per element type and state count,
/// not once per optimizer (see [`par_for_each_chunk`]).
#[allow(clippy::type_complexity)]
fn zip_update_parallel<T: Element, const N: usize>(
    dst: &mut [T],
    src: &[T],
    states: [&mut [T]; N],
    serial: &(dyn Fn(&mut [T], &[T], [&mut [T]; N]) + Sync),
) {
    let len = dst.len();
    assert!(
        src.len() == len && states.iter().all(|s| s.len() == len),
        "zip_update: slices of different lengths"
    );
    let dst = SharedMut(dst.as_mut_ptr());
    let states = states.map(|s| SharedMut(s.as_mut_ptr()));
    pool::for_each_part(len.div_ceil(CHUNK), &|part| {
        let (start, n) = (part * CHUNK, CHUNK.min(len - part * CHUNK));
        // SAFETY: part `part` is elements start..start + n of `dst` and of each state, inside
        // them (all of length `len`, asserted above); `for_each_part` runs each part once, so
        // no two of these slices overlap, and it returns before the borrows end.
        let (d, s) = unsafe {
            (
                std::slice::from_raw_parts_mut(dst.at(start), n),
                std::array::from_fn(|k| std::slice::from_raw_parts_mut(states[k].at(start), n)),
            )
        };
        serial(d, &src[start..start + n], s);
    });
}

fn zip_update_serial<T: Element, const N: usize, F>(
    dst: &mut [T],
    src: &[T],
    mut states: [&mut [T]; N],
    f: &F,
) where
    F: Fn(&mut T, T, [&mut T; N]),
{
    let n = dst.len();
    // Slicing everything to `n` up front lets the compiler drop the bounds checks in the loop.
    let src = &src[..n];
    for s in states.iter_mut() {
        let whole = std::mem::take(s);
        *s = &mut whole[..n];
    }
    for (i, (d, &x)) in dst.iter_mut().zip(src).enumerate() {
        f(d, x, states.each_mut().map(|s| &mut s[i]));
    }
}

#[cfg(test)]
mod tests {
    use super::{map1, map1_widest, map2, map3, repeated_row, PAR_MIN, TILE};
    use super::{transpose_tile, transpose_tile_by_element, zip_update, CHUNK};
    use crate::element::Element;
    use crate::layout::Layout;
    use crate::shape::dims;
    use crate::storage::output_buffer;

    /// tanh's special values and edges (±0, ±∞, NaN, subnormals, the ±9.5 clamp, the extremes)
    /// followed by a grid over [−12, 12] in steps of 1/64.
    fn tanh_inputs() -> Vec<f32> {
        let mut xs = vec![
            0.0,
            -0.0,
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-40,
            -1e-40,
            1e-8,
            9.5,
            -9.5,
            9.51,
            20.0,
            f32::MAX,
            f32::MIN,
        ];
        xs.extend((-768..=768).map(|i| i as f32 / 64.0));
        xs
    }

    #[test]
    fn the_widest_vectors_give_the_bits_of_one_element_at_a_time() {
        // Every length up to a few vectors (whole vectors and every remainder), and one above
        // the parallel bound, each starting at another place in the inputs.
        let xs = tanh_inputs();
        let lengths = (0..=70).chain([PAR_MIN + 17]);
        for (start, len) in lengths.enumerate() {
            let src: Vec<f32> = xs.iter().cycle().skip(start).take(len).copied().collect();
            let layout = Layout::contiguous(dims(&[len]));
            let one_at_a_time: Vec<u32> = src
                .iter()
                .map(|&x| std::hint::black_box(x).tanh_accurate().to_bits())
                .collect();
            for got in [
                map1(&src, &layout, f32::tanh_accurate),
                map1_widest(&src, &layout, f32::tanh_accurate),
            ] {
                let got: Vec<u32> = got.iter().map(|y| y.to_bits()).collect();
                assert!(got == one_at_a_time, "length {len}, from input {start}");
            }
        }
        let src: Vec<f64> = xs.iter().map(|&x| f64::from(x)).collect();
        let layout = Layout::contiguous(dims(&[src.len()]));
        let narrow = map1(&src, &layout, f64::tanh_accurate);
        let wide = map1_widest(&src, &layout, f64::tanh_accurate);
        assert!(narrow
            .iter()
            .zip(wide.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn strided_maps_write_every_element_of_a_fresh_or_reused_buffer() {
        // The strided paths (a transposed copy's tiles, the general walk, broadcast operands)
        // write into an unwritten buffer too. Before each case a buffer of NaNs of the output's
        // length is dropped, and the kernel's output reuses it (from the thread's small-buffer
        // cache or from the pool): NaN is left wherever it failed to write.
        let pooled = (1 << 20) / size_of::<f64>();
        // [rows, cols] outputs: tiny, whole 16 × 16 tiles and partial ones, above PAR_MIN, pooled.
        for [rows, cols] in [
            [1, 1],
            [3, 2],
            [16, 16],
            [37, 21],
            [PAR_MIN / 40 + 3, 41],
            [1030, pooled / 1030 + 1],
        ] {
            let n = rows * cols;
            let poison = || {
                let mut junk = output_buffer::<f64>(n);
                junk.fill(f64::NAN);
                drop(junk.into_storage());
            };
            // A transposed view: out[i][j] = src[j][i], src being [cols, rows] row-major.
            let src: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let transposed = Layout::contiguous(dims(&[cols, rows])).transpose(0, 1);
            poison();
            let got = map1(&src, &transposed, |x| x * 2.0);
            let want = |i: usize, j: usize| src[j * rows + i] * 2.0;
            assert!(
                (0..rows).all(|i| (0..cols).all(|j| got[i * cols + j] == want(i, j))),
                "transposed map1, {rows} × {cols}"
            );
            // A column broadcast across the rows, beside a row-major operand: map2's walk.
            let a: Vec<f64> = (0..n).map(|i| (i % 11) as f64).collect();
            let column: Vec<f64> = (0..rows).map(|i| i as f64 * 0.5).collect();
            let full = Layout::contiguous(dims(&[rows, cols]));
            let spread = Layout::contiguous(dims(&[rows, 1])).broadcast_to("test", &[rows, cols]);
            poison();
            let got = map2((&a, &full), (&column, &spread), |x, y| x - y);
            assert!(
                (0..n).all(|k| got[k] == a[k] - column[k / cols]),
                "broadcast map2, {rows} × {cols}"
            );
            poison();
            let got = map3(
                (&a, &full),
                (&column, &spread),
                (&src, &transposed),
                |x, y, z| x * y + z,
            );
            assert!(
                (0..n)
                    .all(|k| got[k] == a[k] * column[k / cols] + src[(k % cols) * rows + k / cols]),
                "map3, {rows} × {cols}"
            );
            // The general walk of map1: a 3-D permutation, not a plain transpose.
            if rows % 2 == 0 {
                let permuted = Layout::contiguous(dims(&[cols, 2, rows / 2])).permute(&[2, 0, 1]);
                poison();
                let got = map1(&src, &permuted, |x| x + 1.0);
                let want = |h: usize, c: usize, t: usize| src[c * rows + t * (rows / 2) + h] + 1.0;
                let ok = (0..rows / 2).all(|h| {
                    (0..cols).all(|c| (0..2).all(|t| got[(h * cols + c) * 2 + t] == want(h, c, t)))
                });
                assert!(ok, "permuted map1, {rows} × {cols}");
            }
        }
    }

    #[test]
    fn contiguous_maps_write_every_element_of_a_fresh_or_reused_buffer() {
        // The contiguous paths write into an unwritten buffer. Lengths below and above the
        // parallel threshold, with a last partial chunk, and one the pool keeps: a buffer of
        // NaNs of that length is dropped first, so a reused buffer holds NaN wherever the kernel
        // failed to write.
        let pooled = (1 << 20) / size_of::<f64>() + 3;
        for n in [0, 1, 7, 80, PAR_MIN + 5, pooled] {
            let mut junk = output_buffer::<f64>(n);
            junk.fill(f64::NAN);
            drop(junk.into_storage());
            let a: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let b: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
            let c: Vec<f64> = (0..n).map(|i| (i % 3) as f64).collect();
            let layout = Layout::contiguous(dims(&[n]));
            let got = map1(&a, &layout, |x| x + 1.0);
            assert!(got.iter().zip(&a).all(|(&g, &x)| g == x + 1.0), "map1, {n}");
            let got = map2((&a, &layout), (&b, &layout), |x, y| x - y);
            assert!(
                got.iter()
                    .zip(a.iter().zip(&b))
                    .all(|(&g, (&x, &y))| g == x - y),
                "map2, {n}"
            );
            let got = map3((&a, &layout), (&b, &layout), (&c, &layout), |x, y, z| {
                x * y + z
            });
            let want = a.iter().zip(&b).zip(&c).map(|((&x, &y), &z)| x * y + z);
            assert!(got.iter().zip(want).all(|(&g, w)| g == w), "map3, {n}");
            assert_eq!(got.len(), n);
        }
    }

    /// A contiguous `from` seen as `to` by broadcasting.
    fn broadcast(from: &[usize], to: &[usize]) -> Layout {
        Layout::contiguous(dims(from)).broadcast_to("test", to)
    }

    #[test]
    fn a_repeated_row_is_a_contiguous_block_under_broadcast_axes() {
        // A bias [3] broadcast to [4, 3], and to [2, 4, 3].
        assert_eq!(repeated_row(&broadcast(&[3], &[4, 3])), Some(3));
        assert_eq!(repeated_row(&broadcast(&[3], &[2, 4, 3])), Some(3));
        // A block [2, 3] repeated 4 times; a size-1 axis inside the block.
        assert_eq!(repeated_row(&broadcast(&[2, 3], &[4, 2, 3])), Some(6));
        assert_eq!(repeated_row(&broadcast(&[1, 3], &[4, 1, 3])), Some(3));
        // Not repeated: contiguous, a column broadcast along the rows, a transposed block, a
        // broadcast axis between the block's axes, an empty block.
        assert_eq!(repeated_row(&Layout::contiguous(dims(&[4, 3]))), None);
        assert_eq!(repeated_row(&broadcast(&[4, 1], &[4, 3])), None);
        let transposed = Layout::contiguous(dims(&[3, 2])).transpose(0, 1);
        assert_eq!(
            repeated_row(&transposed.broadcast_to("test", &[4, 2, 3])),
            None
        );
        assert_eq!(repeated_row(&broadcast(&[2, 1, 3], &[2, 4, 3])), None);
        assert_eq!(repeated_row(&broadcast(&[0], &[4, 0])), None);
        // A scalar, or a block of one element, is left to the index walk.
        assert_eq!(repeated_row(&broadcast(&[], &[4, 3])), None);
        assert_eq!(repeated_row(&broadcast(&[1], &[4, 1])), None);
    }

    #[test]
    fn transposed_copies_match_the_element_formula() {
        transposed_copies_match::<f32>();
        transposed_copies_match::<f64>();
    }

    /// `transposed_copies_match_the_element_formula` in `T`, whose tiles take another path for
    /// each element type.
    fn transposed_copies_match<T: Element>() {
        // Whole tiles only, partial tiles at the right and bottom edges, a source stride past
        // the rows (a transposed narrowed view) at an offset, and one copy in parallel bands.
        let big = PAR_MIN.isqrt() + 5;
        let cases = [
            (TILE, TILE, TILE, 0),
            (2 * TILE, 3 * TILE, 2 * TILE, 0),
            (37, 53, 37, 0),
            (TILE + 1, 2 * TILE - 1, 40, 3),
            (5, 70, 9, 1),
            (big, big + 3, big, 0),
        ];
        for (rows, cols, stride, offset) in cases {
            let src: Vec<T> = (0..cols * stride)
                .map(|v| T::from_usize(v).unwrap())
                .collect();
            // out[i][j] = src[offset + i + j·stride]: the transpose of a cols × stride matrix,
            // narrowed to `rows` of its columns from `offset`.
            let layout = Layout::contiguous(dims(&[cols, stride]))
                .transpose(0, 1)
                .narrow(0, offset, rows);
            let got = map1(&src, &layout, |x| -x);
            let mut expected = Vec::with_capacity(rows * cols);
            for i in 0..rows {
                for j in 0..cols {
                    expected.push(-src[offset + i + j * stride]);
                }
            }
            assert_eq!(
                *got,
                *expected,
                "{} {rows} x {cols}, stride {stride}, offset {offset}",
                T::NAME
            );
        }
    }

    /// A whole tile transposed against the formula, bit for bit: values of every bit pattern
    /// (NaNs with payloads, subnormals, −0), columns closer than a tile's height (overlapping
    /// reads), just a tile apart, and far apart, from several starting points.
    fn tiles_match_the_formula<T: Element>(bits: impl Fn(u64) -> T, to_bits: impl Fn(T) -> u64) {
        for stride in [1, 9, TILE, TILE + 1, 100] {
            for base in [0, 3, 17] {
                let len = base + (TILE - 1) * stride + TILE;
                let src: Vec<T> = (0..len as u64)
                    .map(|v| bits(v.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
                    .collect();
                let (mut whole, mut by_element) =
                    ([[T::zero(); TILE]; TILE], [[T::zero(); TILE]; TILE]);
                transpose_tile(&src, base, stride, &mut whole);
                transpose_tile_by_element(&src, base, stride, &mut by_element);
                for (i, (row, row_by_element)) in whole.iter().zip(&by_element).enumerate() {
                    for (j, (&x, &y)) in row.iter().zip(row_by_element).enumerate() {
                        let want = to_bits(src[base + j * stride + i]);
                        let at = format!("{} stride {stride}, base {base}, ({i}, {j})", T::NAME);
                        assert_eq!(to_bits(x), want, "{at}");
                        assert_eq!(to_bits(y), want, "{at}, element by element");
                    }
                }
            }
        }
    }

    #[test]
    fn a_transposed_tile_keeps_every_bit_of_its_elements() {
        tiles_match_the_formula(|b| f32::from_bits(b as u32), |x| u64::from(x.to_bits()));
        tiles_match_the_formula(f64::from_bits, f64::to_bits);
    }

    #[test]
    #[should_panic(expected = "the tile reaches past the source")]
    fn a_tile_past_the_end_of_its_source_panics() {
        let src = vec![0.0f32; (TILE - 1) * 20 + TILE - 1];
        transpose_tile(&src, 0, 20, &mut [[0.0; TILE]; TILE]);
    }

    /// An update with two states, as Adam's, over `len` elements in a pool of `threads` (or on the
    /// global pool from this thread, outside every pool, when 0); the three slices after it.
    fn zip_updated(len: usize, threads: usize) -> [Vec<f32>; 3] {
        let mut p: Vec<f32> = (0..len).map(|i| (i % 97) as f32 * 0.25 - 3.0).collect();
        let g: Vec<f32> = (0..len).map(|i| (i % 31) as f32 * 0.5 - 7.0).collect();
        let (mut m, mut v) = (vec![0.5f32; len], vec![0.25f32; len]);
        let mut update = || {
            zip_update(&mut p, &g, [&mut m, &mut v], &|p, g, [m, v]| {
                *m = 0.9 * *m + 0.1 * g;
                *v = 0.999 * *v + 0.001 * g * g;
                *p -= 0.01 * *m / (v.sqrt() + 1e-8);
            })
        };
        if threads == 0 {
            update();
        } else {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(update);
        }
        [p, m, v]
    }

    #[test]
    fn a_parallel_update_gives_the_bits_of_the_serial_one() {
        // Past PAR_MIN, with a last part shorter than CHUNK.
        let len = 3 * CHUNK + 17;
        assert!(len >= PAR_MIN);
        let serial = zip_updated(len, 1);
        for threads in [0, 2, 3] {
            let parallel = zip_updated(len, threads);
            for (k, (a, b)) in serial.iter().zip(&parallel).enumerate() {
                let differ = a
                    .iter()
                    .zip(b)
                    .filter(|(x, y)| x.to_bits() != y.to_bits())
                    .count();
                assert_eq!(differ, 0, "slice {k} on {threads} threads");
            }
        }
    }
}
