//! Reduction kernels, deterministic whatever the thread count.
//!
//! A long reduction is cut into blocks of [`BLOCK`] elements; each block is folded with
//! [`LANES`] independent accumulators (so the compiler can vectorise it), and the block results
//! are folded again the same way. The cut depends only on the length, never on the pool, so one
//! thread and many produce the same bits.

use rayon::prelude::*;

use super::walk::Walk;
use super::{CHUNK, PAR_MIN};
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::{contiguous_strides, dims};
use crate::storage::output_buffer;

/// Elements folded into one partial result.
const BLOCK: usize = 1 << 12;

/// Independent accumulators within a block.
const LANES: usize = 16;

/// Folds `x` with the associative `f` from the identity `init`, in a fixed order.
pub(crate) fn fold_slice<T: Element>(x: &[T], init: T, f: &(impl Fn(T, T) -> T + Sync)) -> T {
    if x.len() <= BLOCK {
        return fold_block(x, init, f);
    }
    let partials: Vec<T> = if x.len() >= PAR_MIN {
        x.par_chunks(BLOCK)
            .map(|c| fold_block(c, init, f))
            .collect()
    } else {
        x.chunks(BLOCK).map(|c| fold_block(c, init, f)).collect()
    };
    fold_slice(&partials, init, f)
}

fn fold_block<T: Element>(x: &[T], init: T, f: &impl Fn(T, T) -> T) -> T {
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

/// Whether axes `shape` with `strides` are row-major with innermost stride `unit`.
fn is_row_major(shape: &[usize], strides: &[usize], unit: usize) -> bool {
    let expected = contiguous_strides(shape);
    shape
        .iter()
        .zip(strides)
        .zip(&expected)
        .all(|((&d, &s), &e)| d == 1 || s == e * unit)
}

/// Reduces a layout whose first `kept` axes survive and whose remaining axes are folded, into a
/// row-major buffer of the kept axes.
pub(crate) fn reduce<T: Element>(
    src: &[T],
    layout: &Layout,
    kept: usize,
    init: T,
    f: impl Fn(T, T) -> T + Sync,
) -> Vec<T> {
    let (shape, strides) = (layout.shape(), layout.strides());
    let (kept_shape, reduced_shape) = shape.split_at(kept);
    let (kept_strides, reduced_strides) = strides.split_at(kept);
    let outputs: usize = kept_shape.iter().product();
    let span: usize = reduced_shape.iter().product();
    let mut out = output_buffer(outputs);
    if span == 0 {
        out.fill(init);
        return out;
    }
    // Leading axes folded over a contiguous block of kept ones (a sum over the batch axis):
    // accumulate whole rows, which keeps every access sequential.
    if outputs > 1
        && is_row_major(kept_shape, kept_strides, 1)
        && is_row_major(reduced_shape, reduced_strides, outputs)
    {
        let base = layout.offset();
        let column_block = |start: usize, acc: &mut [T]| {
            acc.fill(init);
            for r in 0..span {
                let row = &src[base + r * outputs + start..][..acc.len()];
                for (a, &x) in acc.iter_mut().zip(row) {
                    *a = f(*a, x);
                }
            }
        };
        if outputs * span >= PAR_MIN {
            out.par_chunks_mut(CHUNK)
                .enumerate()
                .for_each(|(i, c)| column_block(i * CHUNK, c));
        } else {
            column_block(0, &mut out);
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
        out.par_chunks_mut(per_task)
            .enumerate()
            .for_each(|(i, c)| fold_outputs(i * per_task, c));
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
pub(crate) fn softmax_rows<T: Element>(rows: &[T], span: usize, log: bool) -> Vec<T> {
    let mut out = output_buffer(rows.len());
    let row_kernel = |x: &[T], y: &mut [T]| {
        let max = fold_slice(x, T::neg_infinity(), &|a: T, b: T| {
            if b > a || b.is_nan() {
                b
            } else {
                a
            }
        });
        // An all -inf row stays NaN-free only where there is a finite maximum to shift by.
        let shift = if max.is_finite() { max } else { T::zero() };
        for (o, &v) in y.iter_mut().zip(x) {
            *o = (v - shift).exp();
        }
        let sum = fold_slice(y, T::zero(), &|a, b| a + b);
        if log {
            // (v − shift) − ln Σ, not v − (shift + ln Σ): the latter rounds ln Σ to the
            // spacing of a large shift.
            let log_sum = sum.ln();
            for (o, &v) in y.iter_mut().zip(x) {
                *o = (v - shift) - log_sum;
            }
        } else {
            let inv = sum.recip();
            for o in y.iter_mut() {
                *o *= inv;
            }
        }
    };
    if rows.len() >= PAR_MIN && rows.len() > span {
        let per_task = (CHUNK / span).max(1) * span;
        out.par_chunks_mut(per_task)
            .zip(rows.par_chunks(per_task))
            .for_each(|(y, x)| {
                for (yr, xr) in y.chunks_mut(span).zip(x.chunks(span)) {
                    row_kernel(xr, yr);
                }
            });
    } else {
        for (yr, xr) in out.chunks_mut(span).zip(rows.chunks(span)) {
            row_kernel(xr, yr);
        }
    }
    out
}
