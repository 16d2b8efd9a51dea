//! Reduction kernels, accurate and deterministic whatever the axes, the layout and the thread
//! count.
//!
//! No accumulator takes more than [`RUN`] terms in a row: a sum that adds n terms one after the
//! other into one f32 loses up to n·2^-24 of the total (2^25 ones sum to 2^24), while partial sums
//! of a few hundred terms, combined pairwise or folded again in blocks, stay within a few 10^-7
//! (`tests/integration/accuracy.rs`). Two shapes of fold cover every reduction:
//! - a contiguous run (`fold_slice`): blocks of [`BLOCK`] elements, each folded with [`LANES`]
//!   independent accumulators (so the compiler can vectorise it) combined pairwise, and the
//!   block results folded again the same way;
//! - the columns of a row-major block of rows (`fold_columns`), when the folded axes lie before
//!   (or between) kept ones, as in a sum over the batch axis: blocks of [`RUN`] rows (or `RUN`
//!   groups of `LANES` rows, for rows narrower than `LANES`) are added row by row into partial
//!   rows, which are folded again the same way, so every access stays sequential.
//!
//! Any other layout is first copied into a contiguous run per output. Blocks, and the parallel
//! tasks made of them, are cut by sizes alone, never by the pool, so one thread and many produce
//! the same bits; a long fold runs in parallel over its blocks, however few outputs it has.

use std::any::TypeId;

use super::walk::Walk;
use super::{par_for_each_chunk, with_wide_vectors, CHUNK, PAR_MIN};
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::dims;
use crate::storage::{output_buffer, Buffer};

/// Elements folded into one partial result.
const BLOCK: usize = 1 << 12;

/// Independent accumulators within a block.
const LANES: usize = 16;

/// Terms each accumulator adds one after the other before its partial result is set aside: the
/// share of one lane of a [`BLOCK`] in `fold_slice`, and the rows of one block in `fold_columns`.
const RUN: usize = BLOCK / LANES;

/// Columns one task of `fold_columns` takes from a wider row, so that its accumulators stay in
/// cache.
const COLUMNS: usize = CHUNK;

/// Folds `x` with the associative `f` from the identity `init`, in a fixed order.
pub(crate) fn fold_slice<T: Element>(x: &[T], init: T, f: &(impl Fn(T, T) -> T + Sync)) -> T {
    if x.len() <= BLOCK {
        return fold_block(x, init, f);
    }
    let partials: Vec<T> = if x.len() >= PAR_MIN {
        let mut partials = vec![init; x.len().div_ceil(BLOCK)];
        par_for_each_chunk(&mut partials, 1, &|b, partial| {
            partial[0] = fold_block(&x[b * BLOCK..x.len().min((b + 1) * BLOCK)], init, f);
        });
        partials
    } else {
        x.chunks(BLOCK).map(|c| fold_block(c, init, f)).collect()
    };
    fold_slice(&partials, init, f)
}

#[inline(always)]
fn fold_block<T: Element>(x: &[T], init: T, f: &impl Fn(T, T) -> T) -> T {
    if x.len() < LANES {
        // The lanes below would hold nothing but identities, and combining them before
        // folding the slice in order gives the bits of folding it in order: a softmax row of
        // 10 classes is two such folds.
        return x.iter().fold(init, |a, &b| f(a, b));
    }
    let mut acc = [init; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] = f(acc[l], c[l]);
        }
    }
    // Combine the lanes pairwise, then the tail.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] = f(acc[l], acc[l + width]);
        }
    }
    tail.iter().fold(acc[0], |a, &b| f(a, b))
}

/// Whether axes `shape` with `strides` are row-major with innermost stride `unit` (axes of size 1
/// may have any stride). Called with the sizes of a non-empty tensor, whose products times
/// `unit` stay within its element count, so they cannot overflow. A small model's step asks
/// this a few times per reduction, so it allocates nothing.
fn is_row_major(shape: &[usize], strides: &[usize], unit: usize) -> bool {
    let mut expected = unit;
    for (&d, &s) in shape.iter().zip(strides).rev() {
        if d != 1 && s != expected {
            return false;
        }
        expected *= d;
    }
    true
}

/// For a layout of `kept` axes then folded ones (of `span` elements), whether memory holds
/// `[outer kept axes, folded axes, inner kept axes]`, each group row-major without gaps and the
/// inner group more than one element wide: then `(outer, width)`, the element counts of the
/// outer and inner groups.
fn column_split(layout: &Layout, kept: usize, span: usize) -> Option<(usize, usize)> {
    let (shape, strides) = (layout.shape(), layout.strides());
    let (reduced_shape, reduced_strides) = (&shape[kept..], &strides[kept..]);
    (0..kept).find_map(|split| {
        let (outer, inner) = shape[..kept].split_at(split);
        let (outer_strides, inner_strides) = strides[..kept].split_at(split);
        let width: usize = inner.iter().product();
        (width > 1
            && is_row_major(inner, inner_strides, 1)
            && is_row_major(reduced_shape, reduced_strides, width)
            && is_row_major(outer, outer_strides, span * width))
        .then(|| (outer.iter().product(), width))
    })
}

/// Folds the columns of a row-major matrix of `rows` rows: `out[j]` = the fold of
/// `x[r·width + j]` over `r`, with `width = out.len()`. Rows wider than [`COLUMNS`] are cut into
/// tasks of `COLUMNS` columns, a cut that depends on the width alone.
fn fold_columns<T: Element>(
    x: &[T],
    rows: usize,
    out: &mut [T],
    init: T,
    f: &(impl Fn(T, T) -> T + Sync),
) {
    let width = out.len();
    if width <= COLUMNS {
        return fold_column_block(x, rows, width, out, init, f);
    }
    let task =
        |c: usize, o: &mut [T]| fold_column_block(&x[c * COLUMNS..], rows, width, o, init, f);
    if rows * width >= PAR_MIN {
        par_for_each_chunk(out, COLUMNS, &task);
    } else {
        for (c, o) in out.chunks_mut(COLUMNS).enumerate() {
            task(c, o);
        }
    }
}

/// `out[j]` = the fold of `x[r·stride + j]` over `r < rows`, for `j < out.len() ≤ stride`.
///
/// Blocks of rows are each folded into a partial row (see [`fold_row_block`]); the partial rows
/// form a smaller matrix, folded again the same way until one block remains. A large fold runs
/// its blocks in parallel, in tasks of whole blocks.
fn fold_column_block<T: Element>(
    x: &[T],
    rows: usize,
    stride: usize,
    out: &mut [T],
    init: T,
    f: &(impl Fn(T, T) -> T + Sync),
) {
    let width = out.len();
    // Rows narrower than LANES are contiguous here (`fold_columns` cuts only wide rows) and, when
    // there are more than one block's worth, are read LANES rows at a time, so that a vector of
    // accumulators spans whole lanes. A short fold (a bias gradient over a small batch) adds its
    // rows one by one: no accumulator takes more than RUN terms either way.
    let lanes = if width < LANES && stride == width && rows > RUN {
        LANES
    } else {
        1
    };
    let block_rows = RUN * lanes;
    if rows <= block_rows {
        return fold_row_block(x, rows, stride, out, lanes, init, f);
    }
    let blocks = rows.div_ceil(block_rows);
    let mut partials = output_buffer(blocks * width);
    let one = |b: usize, partial: &mut [T]| {
        let first = b * block_rows;
        let count = block_rows.min(rows - first);
        fold_row_block(&x[first * stride..], count, stride, partial, lanes, init, f);
    };
    if rows * width >= PAR_MIN {
        let per_task = (CHUNK / (block_rows * width)).max(1);
        par_for_each_chunk(&mut partials, per_task * width, &|t, chunk| {
            for (i, partial) in chunk.chunks_mut(width).enumerate() {
                one(t * per_task + i, partial);
            }
        });
    } else {
        for (b, partial) in partials.chunks_mut(width).enumerate() {
            one(b, partial);
        }
    }
    fold_column_block(&partials, blocks, width, out, init, f);
}

/// One block of [`fold_column_block`]: `out[j]` = the fold of `x[r·stride + j]` over `r < rows`,
/// with `rows ≤ RUN · lanes`, so that no accumulator takes more than `RUN` terms in a row.
///
/// With one lane, `out` is the accumulator row and each row is added to it in turn. With
/// `LANES` lanes (narrow contiguous rows), `LANES` consecutive rows side by side form one row of
/// `LANES · width` accumulators; their `LANES` partial rows are then combined pairwise, and the
/// rows left over (fewer than `LANES`) added last.
fn fold_row_block<T: Element>(
    x: &[T],
    rows: usize,
    stride: usize,
    out: &mut [T],
    lanes: usize,
    init: T,
    f: &impl Fn(T, T) -> T,
) {
    let width = out.len();
    let add_row = |acc: &mut [T], row: &[T]| {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a = f(*a, v);
        }
    };
    if lanes == 1 {
        out.fill(init);
        for r in 0..rows {
            add_row(out, &x[r * stride..][..width]);
        }
        return;
    }
    let group = LANES * width;
    let mut lanes_acc = [init; LANES * LANES];
    let acc = &mut lanes_acc[..group];
    let groups = x[..rows * width].chunks_exact(group);
    let left_over = groups.remainder();
    for g in groups {
        add_row(acc, g);
    }
    let mut n = LANES;
    while n > 1 {
        n /= 2;
        let (low, high) = acc.split_at_mut(n * width);
        add_row(low, &high[..n * width]);
    }
    out.copy_from_slice(&acc[..width]);
    for row in left_over.chunks_exact(width) {
        add_row(out, row);
    }
}

/// [`reduce`] of a small row-major tensor (fewer than [`PAR_MIN`] elements, none of them
/// skipped) over a run of consecutive axes: `outer` blocks of `span` rows of `width` elements,
/// each block's rows folded into one row. The folds are those `reduce` runs for that layout, so
/// the bits are the same; only its layout analysis (permuting, finding the column split,
/// walking the kept axes) is skipped, which costs more than the additions in a small model's
/// step (a bias gradient, a mean loss).
pub(crate) fn reduce_small_run<T: Element>(
    src: &[T],
    outer: usize,
    span: usize,
    width: usize,
    init: T,
    f: impl Fn(T, T) -> T + Sync,
) -> Buffer<T> {
    let block = span * width;
    debug_assert!(src.len() == outer * block && src.len() < PAR_MIN && span > 0);
    let mut out = output_buffer(outer * width);
    if width == 1 {
        for (o, run) in out.iter_mut().zip(src.chunks_exact(span)) {
            *o = fold_slice(run, init, &f);
        }
    } else {
        for (o, rows) in out.chunks_exact_mut(width).zip(src.chunks_exact(block)) {
            fold_columns(rows, span, o, init, &f);
        }
    }
    out
}

/// Reduces a layout whose first `kept` axes survive and whose remaining axes are folded, into a
/// row-major buffer of the kept axes.
pub(crate) fn reduce<T: Element>(
    src: &[T],
    layout: &Layout,
    kept: usize,
    init: T,
    f: impl Fn(T, T) -> T + Sync,
) -> Buffer<T> {
    let (shape, strides) = (layout.shape(), layout.strides());
    let (kept_shape, reduced_shape) = shape.split_at(kept);
    let (kept_strides, reduced_strides) = strides.split_at(kept);
    // The caller has checked the output's shape. Only once there are outputs is the span a
    // product of the input's sizes that cannot overflow (an empty input can have folded axes
    // of 2^40 × 2^40 beside an empty kept one).
    let outputs: usize = kept_shape.iter().product();
    let mut out = output_buffer(outputs);
    if outputs == 0 {
        return out;
    }
    let span: usize = reduced_shape.iter().product();
    if span == 0 {
        out.fill(init);
        return out;
    }
    // Folded axes before a block of kept ones (a sum over the batch axis), or between two: in
    // memory, `outer` blocks of `span` rows of `width` outputs. Fold each block's columns.
    if let Some((outer, width)) = column_split(layout, kept, span) {
        let block = span * width;
        let src = &src[layout.offset()..layout.offset() + outer * block];
        let one =
            |a: usize, o: &mut [T]| fold_columns(&src[a * block..][..block], span, o, init, &f);
        if outer > 1 && outputs * span >= PAR_MIN {
            let per_task = (CHUNK / block).max(1);
            par_for_each_chunk(&mut out, per_task * width, &|t, chunk| {
                for (i, o) in chunk.chunks_mut(width).enumerate() {
                    one(t * per_task + i, o);
                }
            });
        } else {
            for (a, o) in out.chunks_mut(width).enumerate() {
                one(a, o);
            }
        }
        return out;
    }
    // Otherwise each output folds a contiguous run; copy first if the folded axes are strided.
    if !is_row_major(reduced_shape, reduced_strides, 1) {
        let copy = super::map::map1(src, layout, |x| x);
        return reduce(&copy, &Layout::contiguous(dims(shape)), kept, init, f);
    }
    let walk = Walk::new(kept_shape, [kept_strides], [layout.offset()]);
    let [step] = walk.row_strides();
    let fold_outputs = |start: usize, chunk: &mut [T]| {
        walk.for_each_row(start, start + chunk.len(), |pos, len, [o]| {
            for (i, r) in chunk[pos..pos + len].iter_mut().enumerate() {
                let at = o + i * step;
                *r = fold_slice(&src[at..at + span], init, &f);
            }
        });
    };
    if outputs > 1 && outputs * span >= PAR_MIN {
        let per_task = (CHUNK / span).max(1);
        par_for_each_chunk(&mut out, per_task, &|i, c| fold_outputs(i * per_task, c));
    } else {
        fold_outputs(0, &mut out);
    }
    out
}

/// For each run of `span` elements (a contiguous buffer of rows), the position of its first
/// element that `better` prefers to all others.
pub(crate) fn arg_best<T: Element>(
    rows: &[T],
    span: usize,
    better: impl Fn(T, T) -> bool,
) -> Vec<usize> {
    rows.chunks(span)
        .map(|row| {
            let mut best = 0;
            for (i, &x) in row.iter().enumerate().skip(1) {
                if better(x, row[best]) {
                    best = i;
                }
            }
            best
        })
        .collect()
}

/// Softmax (or log-softmax) of each contiguous row of `span` elements, in parallel over rows
/// when large; each row is computed in one fixed order.
pub(crate) fn softmax_rows<T: Element>(rows: &[T], span: usize, log: bool) -> Buffer<T> {
    let mut out = output_buffer(rows.len());
    by_row_parts(
        &mut out,
        span,
        #[inline(always)]
        |at, y| softmax_groups(&rows[at..][..y.len()], y, span, log),
    );
    out
}

/// Runs `part(at, out_part)` over parts of `out` made of whole rows of `span` elements, `at`
/// being the part's first element: in parallel when `out` is large, and for `f32` on the widest
/// vectors the CPU has. The softmax family's f32 exp is plain arithmetic, which wide vectors
/// speed up; the f64 one is a call to libm, which they slow down (see `map1_widest`).
fn by_row_parts<T: Element>(out: &mut [T], span: usize, part: impl Fn(usize, &mut [T]) + Sync) {
    let run = |at: usize, out: &mut [T]| {
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            with_wide_vectors(
                #[inline(always)]
                || part(at, out),
            );
        } else {
            part(at, out);
        }
    };
    if out.len() >= PAR_MIN && out.len() > span {
        let per_task = (CHUNK / span).max(1) * span;
        par_for_each_chunk(out, per_task, &|t, out| run(t * per_task, out));
    } else {
        run(0, out);
    }
}

/// Elements of the rows that [`softmax_group`] takes together: a few KiB, which stay in L1
/// between its passes.
const SOFTMAX_GROUP: usize = 1024;

/// [`softmax_group`] over groups of whole rows of about [`SOFTMAX_GROUP`] elements (one row, if
/// a row is longer).
#[inline(always)]
fn softmax_groups<T: Element>(x: &[T], y: &mut [T], span: usize, log: bool) {
    let group = (SOFTMAX_GROUP / span).max(1) * span;
    for (yg, xg) in y.chunks_mut(group).zip(x.chunks(group)) {
        softmax_group(xg, yg, span, log);
    }
}

/// Softmax (or log-softmax) of each row of `span` elements of `x` (at most [`SOFTMAX_GROUP`]
/// rows), into `y`. The exponentials of all the rows are taken in one loop over the group,
/// which vectorizes however short the rows: a row of 10 classes, alone, left most of the
/// vector's lanes idle, and ran slower than libm's exp.
#[inline(always)]
fn softmax_group<T: Element>(x: &[T], y: &mut [T], span: usize, log: bool) {
    // Each row needs its maximum here; rows past the array would be left out of every loop.
    debug_assert!(x.len() / span <= SOFTMAX_GROUP && x.len() == y.len());
    let mut shifts = [T::zero(); SOFTMAX_GROUP];
    for (shift, (yr, xr)) in shifts
        .iter_mut()
        .zip(y.chunks_mut(span).zip(x.chunks(span)))
    {
        // Shifted by the maximum whatever it is, as PyTorch does: a row holding +inf, or all
        // -inf, becomes NaN (inf - inf), and a NaN anywhere in it spreads through the sum.
        *shift = fold_slice(xr, T::neg_infinity(), &|a: T, b: T| {
            if b > a || b.is_nan() {
                b
            } else {
                a
            }
        });
        for (o, &v) in yr.iter_mut().zip(xr) {
            *o = v - *shift;
        }
    }
    for o in y.iter_mut() {
        *o = o.exp_accurate();
    }
    for (&shift, (yr, xr)) in shifts.iter().zip(y.chunks_mut(span).zip(x.chunks(span))) {
        let sum = fold_slice(yr, T::zero(), &|a, b| a + b);
        if log {
            // (v − shift) − ln Σ, not v − (shift + ln Σ): the latter rounds ln Σ to the
            // spacing of a large shift.
            let log_sum = sum.ln();
            for (o, &v) in yr.iter_mut().zip(xr) {
                *o = (v - shift) - log_sum;
            }
        } else {
            let inv = sum.recip();
            for o in yr.iter_mut() {
                *o *= inv;
            }
        }
    }
}

/// The gradient of a softmax (or log-softmax) of rows of `span` elements, from its output `y`
/// and the output's gradient `g`: `y ⊙ (g − Σ g ⊙ y)` for the softmax, `g − exp(y) · Σ g` for
/// the log-softmax, each row in one fixed order, in parallel over rows when large.
pub(crate) fn softmax_backward_rows<T: Element>(
    y: &[T],
    g: &[T],
    span: usize,
    log: bool,
) -> Buffer<T> {
    debug_assert_eq!(y.len(), g.len());
    let mut out = output_buffer(y.len());
    by_row_parts(
        &mut out,
        span,
        #[inline(always)]
        |at, dx| softmax_backward_groups(&y[at..][..dx.len()], &g[at..][..dx.len()], dx, span, log),
    );
    out
}

/// [`softmax_backward_rows`] over groups of whole rows of about [`SOFTMAX_GROUP`] elements, so
/// that the log-softmax's exponentials run in one loop over many short rows, as in
/// [`softmax_group`].
#[inline(always)]
fn softmax_backward_groups<T: Element>(y: &[T], g: &[T], dx: &mut [T], span: usize, log: bool) {
    let group = (SOFTMAX_GROUP / span).max(1) * span;
    for ((dxg, yg), gg) in dx
        .chunks_mut(group)
        .zip(y.chunks(group))
        .zip(g.chunks(group))
    {
        if log {
            for (d, &v) in dxg.iter_mut().zip(yg) {
                *d = v.exp_accurate();
            }
            for (dr, gr) in dxg.chunks_mut(span).zip(gg.chunks(span)) {
                let sum = fold_slice(gr, T::zero(), &|a, b| a + b);
                for (d, &gv) in dr.iter_mut().zip(gr) {
                    *d = gv - *d * sum;
                }
            }
        } else {
            for (d, (&v, &gv)) in dxg.iter_mut().zip(yg.iter().zip(gg)) {
                *d = gv * v;
            }
            for (dr, (yr, gr)) in dxg
                .chunks_mut(span)
                .zip(yg.chunks(span).zip(gg.chunks(span)))
            {
                let sum = fold_slice(dr, T::zero(), &|a, b| a + b);
                for (d, (&v, &gv)) in dr.iter_mut().zip(yr.iter().zip(gr)) {
                    *d = v * (gv - sum);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        fold_columns, fold_slice, reduce, reduce_small_run, softmax_backward_rows, softmax_rows,
        LANES, PAR_MIN, RUN, SOFTMAX_GROUP,
    };
    use crate::element::Element;
    use crate::layout::Layout;
    use crate::shape::{dims, Dims};

    /// Whole numbers in 0..8: every partial sum of fewer than 2^21 of them is exact in f32, so
    /// the blocked fold must equal the plain loop exactly, whatever its order.
    fn small_ints(len: usize) -> Vec<f32> {
        (0..len).map(|i| ((i * 5 + i / 7) % 8) as f32).collect()
    }

    /// The column sums and maxima of a row-major `rows × width` matrix by plain loops.
    fn plain(x: &[f32], rows: usize, width: usize) -> (Vec<f32>, Vec<f32>) {
        let mut sums = vec![0.0f64; width];
        let mut maxima = vec![f32::NEG_INFINITY; width];
        for r in 0..rows {
            for j in 0..width {
                sums[j] += x[r * width + j] as f64;
                maxima[j] = maxima[j].max(x[r * width + j]);
            }
        }
        (sums.into_iter().map(|s| s as f32).collect(), maxima)
    }

    #[test]
    fn columns_of_awkward_sizes_match_plain_loops() {
        let wide = super::COLUMNS + 3;
        let block = RUN * LANES;
        // Widths below, at and above LANES, and wider than one task (a last task of 3 columns);
        // row counts within one block, at its edge, and over several with a short last block.
        let cases = [
            (1, 1),
            (7, 3),
            (block, 2),
            (block + 1, 2),
            (3 * block + 17, 5),
            (100_003, 3),
            (RUN + 1, LANES),
            (5 * RUN + 3, 40),
            (2 * RUN + 9, wide),
        ];
        for (rows, width) in cases {
            let x = small_ints(rows * width);
            let (sums, maxima) = plain(&x, rows, width);
            let mut got = vec![f32::NAN; width];
            fold_columns(&x, rows, &mut got, 0.0, &|a, b| a + b);
            assert_eq!(got, sums, "sums of {rows} x {width}");
            fold_columns(&x, rows, &mut got, f32::NEG_INFINITY, &|a: f32, b| a.max(b));
            assert_eq!(got, maxima, "maxima of {rows} x {width}");
        }
    }

    /// Values whose sums round differently in each order, so that a fold taking another order
    /// than the general kernel's shows in the bits.
    fn awkward(len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7919) % 1013) as f32 * 1.37e-3 + 1e4 * (i % 3) as f32 - 0.7)
            .collect()
    }

    #[test]
    fn small_runs_fold_as_the_general_kernel_to_the_bit() {
        // Every run of consecutive axes of each shape, with rows fewer and more than a block of
        // the column fold (RUN, and RUN · LANES for narrow rows), and one span past a BLOCK.
        let shapes: [&[usize]; 7] = [
            &[10, 8],
            &[1, 7],
            &[3, 1, 5],
            &[RUN * LANES + 5, 3],
            &[RUN + 9, 20],
            &[2, 3, 4, 5],
            &[3, 9000],
        ];
        for shape in shapes {
            let numel: usize = shape.iter().product();
            assert!(numel < PAR_MIN);
            let x = awkward(numel);
            let rank = shape.len();
            for first in 0..rank {
                for last in first..rank {
                    let kept: Dims = (0..rank).filter(|&a| a < first || a > last).collect();
                    let perm: Dims = kept.iter().copied().chain(first..=last).collect();
                    let layout = Layout::contiguous(dims(shape)).permute(&perm);
                    let product = |axes: &[usize]| axes.iter().product::<usize>();
                    let (outer, span) = (product(&shape[..first]), product(&shape[first..=last]));
                    let width = product(&shape[last + 1..]);
                    for (init, f) in [
                        (0.0, std::ops::Add::add as fn(f32, f32) -> f32),
                        (f32::MIN, f32::max),
                    ] {
                        let general = reduce(&x, &layout, kept.len(), init, f);
                        let small = reduce_small_run(&x, outer, span, width, init, f);
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(
                            bits(&small),
                            bits(&general),
                            "{shape:?}, axes {first}..={last}"
                        );
                    }
                }
            }
        }
    }

    /// Softmax or log-softmax of each row, one row at a time, written plainly; the sum of a
    /// row is `fold_slice`'s, whose order defines it.
    fn softmax_row_by_row<T: Element>(x: &[T], span: usize, log: bool) -> Vec<T> {
        let mut y = Vec::with_capacity(x.len());
        for row in x.chunks(span) {
            let mut shift = T::neg_infinity();
            for &v in row {
                if v > shift || v.is_nan() {
                    shift = v;
                }
            }
            let exps: Vec<T> = row.iter().map(|&v| (v - shift).exp_accurate()).collect();
            let sum = fold_slice(&exps, T::zero(), &|a, b| a + b);
            if log {
                y.extend(row.iter().map(|&v| (v - shift) - sum.ln()));
            } else {
                y.extend(exps.iter().map(|&e| e * sum.recip()));
            }
        }
        y
    }

    /// Rows short and long, in groups of many rows and of one row, and enough of them for the
    /// parallel tasks: (elements of a row, rows).
    fn row_shapes() -> impl Iterator<Item = (usize, usize)> {
        [1, 3, 10, 16, 17, SOFTMAX_GROUP - 1, SOFTMAX_GROUP + 1, 3000]
            .into_iter()
            .flat_map(|span| [1, 2, 7, 300, PAR_MIN / span + 3].map(|rows| (span, rows)))
    }

    /// `len` values spread over a few dozen units, in an order that repeats every `period`.
    fn spread(len: usize, period: usize, scale: f32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 37 % period) as f32 - (period / 2) as f32) * scale)
            .collect()
    }

    /// Asserts that `got` and `want` hold the same bits, element by element.
    #[track_caller]
    fn assert_same_bits<T: Element>(got: &[T], want: &[T], what: &str) {
        let bits = |v: &[T]| {
            v.iter()
                .map(|e| e.to_f64_exact().to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(got), bits(want), "{what}");
    }

    fn widen(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&e| e.into()).collect()
    }

    /// With NaN and infinite rows among them: each row's bits as computed alone, in f32 and f64.
    #[test]
    fn softmax_groups_of_rows_give_each_row_its_own_bits() {
        for (span, rows) in row_shapes() {
            let mut x = spread(rows * span, 101, 0.3);
            if rows > 2 {
                x[span] = f32::NAN;
                x[2 * span] = f32::INFINITY;
            }
            for log in [false, true] {
                let what = format!("span {span}, {rows} rows, log {log}");
                let alone = softmax_row_by_row(&x, span, log);
                assert_same_bits(&softmax_rows(&x, span, log), &alone, &what);
                let x = widen(&x);
                let alone = softmax_row_by_row(&x, span, log);
                assert_same_bits(&softmax_rows(&x, span, log), &alone, &what);
            }
        }
    }

    /// The softmax's (or log-softmax's) gradient of each row, one row at a time, written
    /// plainly; a row's sum is `fold_slice`'s, whose order defines it.
    fn softmax_backward_row_by_row<T: Element>(y: &[T], g: &[T], span: usize, log: bool) -> Vec<T> {
        let mut dx = Vec::with_capacity(y.len());
        for (yr, gr) in y.chunks(span).zip(g.chunks(span)) {
            if log {
                let sum = fold_slice(gr, T::zero(), &|a, b| a + b);
                dx.extend(
                    yr.iter()
                        .zip(gr)
                        .map(|(&v, &gv)| gv - v.exp_accurate() * sum),
                );
            } else {
                let products: Vec<T> = yr.iter().zip(gr).map(|(&v, &gv)| gv * v).collect();
                let sum = fold_slice(&products, T::zero(), &|a, b| a + b);
                dx.extend(yr.iter().zip(gr).map(|(&v, &gv)| v * (gv - sum)));
            }
        }
        dx
    }

    /// The gradient's groups of rows and parallel tasks, as the forward's above, with NaN and
    /// infinite gradients among the rows: each row's bits as computed alone.
    #[test]
    fn softmax_backward_groups_of_rows_give_each_row_its_own_bits() {
        for (span, rows) in row_shapes() {
            let x = spread(rows * span, 101, 0.3);
            let mut g = spread(rows * span, 97, 0.01);
            if rows > 2 {
                g[span] = f32::NAN;
                g[2 * span] = f32::INFINITY;
            }
            for log in [false, true] {
                let what = format!("span {span}, {rows} rows, log {log}");
                let y = softmax_rows(&x, span, log);
                let alone = softmax_backward_row_by_row(&y, &g, span, log);
                assert_same_bits(&softmax_backward_rows(&y, &g, span, log), &alone, &what);
                let (y, g) = (widen(&y), widen(&g));
                let alone = softmax_backward_row_by_row(&y, &g, span, log);
                assert_same_bits(&softmax_backward_rows(&y, &g, span, log), &alone, &what);
            }
        }
    }
}
