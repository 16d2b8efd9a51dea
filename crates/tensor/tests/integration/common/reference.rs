//! Plain reference implementations: index arithmetic over row-major `Vec`s with broadcasting
//! spelled out, written without looking at the library's kernels (no blocking, no axis merging,
//! no fast paths, one loop over every output index).

// ---------------------------------------------------------------------------------------------
// Index arithmetic
// ---------------------------------------------------------------------------------------------

/// Number of elements of a shape (1 for rank 0).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides of `shape`.
pub fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut acc = 1;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc *= shape[i];
    }
    strides
}

/// The multi-index of row-major position `flat` in `shape`.
pub fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for i in (0..shape.len()).rev() {
        index[i] = flat % shape[i];
        flat /= shape[i];
    }
    index
}

/// The row-major position of `index` in `shape`.
pub fn ravel(index: &[usize], shape: &[usize]) -> usize {
    index
        .iter()
        .zip(strides_of(shape))
        .map(|(i, s)| i * s)
        .sum()
}

/// NumPy's broadcast of two shapes, or `None` when they do not broadcast.
pub fn broadcast_ref(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let pad = |s: &[usize]| -> Vec<usize> {
        let mut v = vec![1; rank - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (a, b) = (pad(a), pad(b));
    a.iter()
        .zip(&b)
        .map(|(&x, &y)| match (x, y) {
            _ if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// The element of `data` (row-major, `shape`) that lands at `out_index` of a broadcast result.
pub fn broadcast_get<T: Copy>(data: &[T], shape: &[usize], out_index: &[usize]) -> T {
    let lead = out_index.len() - shape.len();
    let index: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if d == 1 { 0 } else { out_index[lead + i] })
        .collect();
    data[ravel(&index, shape)]
}

/// `f(a, b)` over two row-major operands broadcast together: the result's shape and values.
pub fn zip_ref<T: Copy>(
    (a, sa): (&[T], &[usize]),
    (b, sb): (&[T], &[usize]),
    f: impl Fn(T, T) -> T,
) -> (Vec<usize>, Vec<T>) {
    let shape = broadcast_ref(sa, sb).expect("shapes broadcast");
    let values = (0..numel(&shape))
        .map(|flat| {
            let index = unravel(flat, &shape);
            f(broadcast_get(a, sa, &index), broadcast_get(b, sb, &index))
        })
        .collect();
    (shape, values)
}

// ---------------------------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------------------------

/// The shape left after reducing `axes` (sorted, distinct).
pub fn reduced_shape(shape: &[usize], axes: &[usize], keepdim: bool) -> Vec<usize> {
    let mut out = Vec::new();
    for (a, &d) in shape.iter().enumerate() {
        if axes.contains(&a) {
            if keepdim {
                out.push(1);
            }
        } else {
            out.push(d);
        }
    }
    out
}

/// For each input position, the row-major position of the output it folds into (keepdim form).
fn output_position(flat: usize, shape: &[usize], axes: &[usize]) -> usize {
    let mut index = unravel(flat, shape);
    for &a in axes {
        index[a] = 0;
    }
    ravel(&index, &reduced_shape(shape, axes, true))
}

/// Folds `axes` of a row-major tensor with `f` from `init`, one plain loop in row-major order.
pub fn fold_ref(
    data: &[f64],
    shape: &[usize],
    axes: &[usize],
    init: f64,
    f: impl Fn(f64, f64) -> f64,
) -> Vec<f64> {
    let mut out = vec![init; numel(&reduced_shape(shape, axes, true))];
    for (flat, &x) in data.iter().enumerate() {
        let o = output_position(flat, shape, axes);
        out[o] = f(out[o], x);
    }
    out
}

/// Σ over `axes`.
pub fn sum_ref(data: &[f64], shape: &[usize], axes: &[usize]) -> Vec<f64> {
    fold_ref(data, shape, axes, 0.0, |a, b| a + b)
}

/// Count of elements folded into each output.
pub fn fold_count(shape: &[usize], axes: &[usize]) -> usize {
    axes.iter().map(|&a| shape[a]).product()
}

/// The mean over `axes`.
pub fn mean_ref(data: &[f64], shape: &[usize], axes: &[usize]) -> Vec<f64> {
    let n = fold_count(shape, axes) as f64;
    sum_ref(data, shape, axes)
        .into_iter()
        .map(|s| s / n)
        .collect()
}

/// Σ(x − mean)² / (N − correction) over `axes`, two passes.
pub fn var_ref(data: &[f64], shape: &[usize], axes: &[usize], correction: usize) -> Vec<f64> {
    let mean = mean_ref(data, shape, axes);
    let mut out = vec![0.0; mean.len()];
    for (flat, &x) in data.iter().enumerate() {
        let o = output_position(flat, shape, axes);
        out[o] += (x - mean[o]) * (x - mean[o]);
    }
    let divisor = fold_count(shape, axes) as f64 - correction as f64;
    out.into_iter().map(|s| s / divisor).collect()
}

/// The maximum over `axes`, NaN if any folded element is NaN.
pub fn max_ref(data: &[f64], shape: &[usize], axes: &[usize]) -> Vec<f64> {
    fold_ref(data, shape, axes, f64::NEG_INFINITY, |a, b| {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            a.max(b)
        }
    })
}

/// The minimum over `axes`, NaN if any folded element is NaN.
pub fn min_ref(data: &[f64], shape: &[usize], axes: &[usize]) -> Vec<f64> {
    fold_ref(data, shape, axes, f64::INFINITY, |a, b| {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else {
            a.min(b)
        }
    })
}

/// Position along `axis` of the first element that is largest (`largest = true`) or smallest,
/// a NaN counting as more extreme than any number (the first NaN wins).
pub fn arg_ref(data: &[f64], shape: &[usize], axis: usize, largest: bool) -> Vec<f64> {
    let out_shape = reduced_shape(shape, &[axis], true);
    let mut best: Vec<Option<(usize, f64)>> = vec![None; numel(&out_shape)];
    for (flat, &x) in data.iter().enumerate() {
        let index = unravel(flat, shape);
        let o = output_position(flat, shape, &[axis]);
        let replace = match best[o] {
            None => true,
            Some((_, b)) if b.is_nan() => false,
            Some(_) if x.is_nan() => true,
            Some((_, b)) => {
                if largest {
                    x > b
                } else {
                    x < b
                }
            }
        };
        if replace {
            best[o] = Some((index[axis], x));
        }
    }
    best.into_iter()
        .map(|b| b.expect("non-empty axis").0 as f64)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Matrix multiply
// ---------------------------------------------------------------------------------------------

/// NumPy's `matmul` by a triple loop in f64: 1-D operands are promoted (a row for the left, a
/// column for the right) and the added axis removed; batch axes broadcast.
pub fn matmul_ref(a: &[f64], sa: &[usize], b: &[f64], sb: &[usize]) -> (Vec<usize>, Vec<f64>) {
    assert!(
        !sa.is_empty() && !sb.is_empty(),
        "matmul_ref needs rank ≥ 1"
    );
    let sa2: Vec<usize> = if sa.len() == 1 {
        vec![1, sa[0]]
    } else {
        sa.to_vec()
    };
    let sb2: Vec<usize> = if sb.len() == 1 {
        vec![sb[0], 1]
    } else {
        sb.to_vec()
    };
    let (m, k) = (sa2[sa2.len() - 2], sa2[sa2.len() - 1]);
    let (k2, n) = (sb2[sb2.len() - 2], sb2[sb2.len() - 1]);
    assert_eq!(k, k2, "matmul_ref: inner dimensions");
    let (batch_a, batch_b) = (&sa2[..sa2.len() - 2], &sb2[..sb2.len() - 2]);
    let batch = broadcast_ref(batch_a, batch_b).expect("batch axes broadcast");
    let mut out = Vec::with_capacity(numel(&batch) * m * n);
    for bflat in 0..numel(&batch) {
        let bi = unravel(bflat, &batch);
        let pick = |shape: &[usize]| -> usize {
            let lead = bi.len() - shape.len();
            let index: Vec<usize> = shape
                .iter()
                .enumerate()
                .map(|(i, &d)| if d == 1 { 0 } else { bi[lead + i] })
                .collect();
            ravel(&index, shape)
        };
        let (oa, ob) = (pick(batch_a) * m * k, pick(batch_b) * k * n);
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0;
                for p in 0..k {
                    acc += a[oa + i * k + p] * b[ob + p * n + j];
                }
                out.push(acc);
            }
        }
    }
    let mut shape = batch;
    if sa.len() > 1 {
        shape.push(m);
    }
    if sb.len() > 1 {
        shape.push(n);
    }
    (shape, out)
}

/// Σ|a|·|b| for each output of `matmul_ref`: the scale that rounding errors are relative to.
pub fn matmul_abs_ref(a: &[f64], sa: &[usize], b: &[f64], sb: &[usize]) -> Vec<f64> {
    let abs = |v: &[f64]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
    matmul_ref(&abs(a), sa, &abs(b), sb).1
}
