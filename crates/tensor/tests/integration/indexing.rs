//! Indexing and joining: `index_select`, `gather`, `index_add`, `scatter_add`, `one_hot`,
//! `allclose`, `concat`, `stack`, `split`, `split_sizes`, `chunk`, and `Display`; hand-worked
//! values first, then random shapes and layouts against index arithmetic.

use crate::common;

use common::*;
use proptest::prelude::*;
use shendu_tensor::{Indices, Tensor};

fn t32(values: &[f32], shape: &[usize]) -> Tensor<f32> {
    Tensor::from_vec(values.to_vec(), shape)
}

/// `[[0, 1, 2], [3, 4, 5]]`.
fn m() -> Tensor<f32> {
    Tensor::<f32>::arange(6).reshape([2, 3])
}

#[test]
fn index_select_picks_whole_slices_in_order() {
    let cols = m().index_select(1, &[2, 0, 2, 1]);
    assert_eq!(cols.shape(), &[2, 4]);
    assert_eq!(cols.to_vec(), vec![2.0, 0.0, 2.0, 1.0, 5.0, 3.0, 5.0, 4.0]);
    let rows = m().index_select(-2, &[1]);
    assert_eq!(rows.to_vec(), vec![3.0, 4.0, 5.0]);
    // From a transposed view: m.t() = [[0, 3], [1, 4], [2, 5]].
    let picked = m().t().index_select(0, &[2, 2, 0]);
    assert_eq!(picked.to_vec(), vec![2.0, 5.0, 2.0, 5.0, 0.0, 3.0]);
    // No indices: an empty axis.
    assert_eq!(m().index_select(1, &[]).shape(), &[2, 0]);
}

#[test]
fn gather_picks_one_element_per_index() {
    // out[i][j] = m[i][idx[i][j]].
    let idx = Indices::from_vec(vec![2, 0, 1, 1], [2, 2]);
    assert_eq!(m().gather(1, &idx).to_vec(), vec![2.0, 0.0, 4.0, 4.0]);
    // Along axis 0: out[i][j] = m[idx[i][j]][j], with fewer columns than m.
    let idx = Indices::from_vec(vec![1, 0, 0, 1], [2, 2]);
    assert_eq!(m().gather(0, &idx).to_vec(), vec![3.0, 1.0, 0.0, 4.0]);
    // The classic use: pick each row's target class.
    let logits = t32(&[0.1, 0.7, 0.2, 0.5, 0.3, 0.2], &[2, 3]);
    let targets = Indices::from(vec![1, 0]);
    assert_eq!(
        logits.gather(1, &targets.unsqueeze(1)).to_vec(),
        vec![0.7, 0.5]
    );
}

#[test]
fn index_add_adds_slices_back_and_accumulates_repeats() {
    let source = t32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let out = Tensor::<f32>::ones([2, 2]).index_add(1, &[1, 0, 1], &source);
    // Column 0 gets source column 1; column 1 gets columns 0 and 2.
    assert_eq!(out.to_vec(), vec![3.0, 5.0, 6.0, 11.0]);
    // index_add undoes index_select's shape: select rows, add them back onto zeros.
    let x = m();
    let back = Tensor::zeros([2, 3]).index_add(0, &[1, 1], &x.index_select(0, &[1, 1]));
    assert_eq!(back.to_vec(), vec![0.0, 0.0, 0.0, 6.0, 8.0, 10.0]);
}

#[test]
fn scatter_add_adds_elements_back_and_accumulates_repeats() {
    // out[i][idx[i][j]] += src[i][j].
    let idx = Indices::from_vec(vec![0, 0, 2, 1, 1, 1], [2, 3]);
    let src = t32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let out = Tensor::<f32>::zeros([2, 3]).scatter_add(1, &idx, &src);
    assert_eq!(out.to_vec(), vec![3.0, 0.0, 3.0, 0.0, 15.0, 0.0]);
    // Along axis 0 onto a non-zero base.
    let idx = Indices::from_vec(vec![1, 0, 1], [1, 3]);
    let out = m().scatter_add(0, &idx, &t32(&[10.0, 20.0, 30.0], &[1, 3]));
    assert_eq!(out.to_vec(), vec![0.0, 21.0, 2.0, 13.0, 4.0, 35.0]);
}

#[test]
fn one_hot_encodes_classes_along_a_new_last_axis() {
    let labels = Indices::from_vec(vec![2, 0, 1, 2], [2, 2]);
    let h = labels.one_hot::<f32>(3);
    assert_eq!(h.shape(), &[2, 2, 3]);
    assert_eq!(
        h.to_vec(),
        vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(h.sum(-1, false).to_vec(), vec![1.0; 4]);
    // The argmax of a one-hot row is its class.
    assert_eq!(h.argmax(-1, false), labels);
}

#[test]
fn allclose_uses_numpy_tolerances_and_never_matches_nan() {
    let a = t32(&[1.0, 100.0], &[2]);
    assert!(a.allclose(&t32(&[1.0 + 1e-6, 100.0 + 1e-4], &[2]), 1e-5, 1e-8));
    assert!(!a.allclose(&t32(&[1.0, 100.01], &[2]), 1e-5, 1e-8));
    assert!(a.allclose(&t32(&[1.05, 100.0], &[2]), 0.0, 0.1));
    let nan = t32(&[f32::NAN], &[1]);
    assert!(!nan.allclose(&nan, 1.0, 1.0));
    let inf = t32(&[f32::INFINITY, -f32::INFINITY], &[2]);
    assert!(inf.allclose(&inf, 0.0, 0.0));
    assert!(!inf.allclose(&t32(&[f32::INFINITY, f32::INFINITY], &[2]), 1.0, 1.0));
    // It broadcasts.
    assert!(Tensor::<f32>::ones([2, 3]).allclose(&Tensor::scalar(1.0), 0.0, 0.0));
}

#[test]
fn concat_joins_along_any_axis_from_any_layout() {
    let a = m();
    let b = Tensor::<f32>::full([1, 3], 9.0);
    let c = Tensor::concat(&[&a, &b], 0);
    assert_eq!(c.shape(), &[3, 3]);
    assert_eq!(
        c.to_vec(),
        vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 9.0, 9.0]
    );
    // Along the last axis, with a transposed and a broadcast input.
    let t = Tensor::<f32>::arange(4).reshape([2, 2]).t(); // [[0, 2], [1, 3]]
    let col = Tensor::scalar(7.0f32).broadcast_to([2, 1]);
    let c = Tensor::concat(&[&a, &t, &col], -1);
    assert_eq!(c.shape(), &[2, 6]);
    assert_eq!(
        c.to_vec(),
        vec![0.0, 1.0, 2.0, 0.0, 2.0, 7.0, 3.0, 4.0, 5.0, 1.0, 3.0, 7.0]
    );
    // A single input, and empty inputs along the axis.
    assert_eq!(Tensor::concat(&[&a], 1).to_vec(), a.to_vec());
    let empty = Tensor::<f32>::zeros([2, 0]);
    assert_eq!(
        Tensor::concat(&[&empty, &a, &empty], 1).to_vec(),
        a.to_vec()
    );
}

#[test]
fn stack_adds_a_new_axis() {
    let a = t32(&[1.0, 2.0, 3.0], &[3]);
    let b = t32(&[4.0, 5.0, 6.0], &[3]);
    let s0 = Tensor::stack(&[&a, &b], 0);
    assert_eq!(s0.shape(), &[2, 3]);
    assert_eq!(s0.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let s1 = Tensor::stack(&[&a, &b], -1);
    assert_eq!(s1.shape(), &[3, 2]);
    assert_eq!(s1.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    // Stacking matrices in the middle: out[i, k, j] = tensors[k][i, j].
    let s = Tensor::stack(&[&m(), &m().map(|x| -x)], 1);
    assert_eq!(s.shape(), &[2, 2, 3]);
    assert_eq!(s.get(&[1, 1, 2]), -5.0);
    assert_eq!(s.get(&[1, 0, 2]), 5.0);
    // Scalars stack into a vector.
    let v = Tensor::stack(&[&Tensor::scalar(1.0f32), &Tensor::scalar(2.0)], 0);
    assert_eq!(v.to_vec(), vec![1.0, 2.0]);
}

#[test]
fn split_split_sizes_and_chunk_cut_views() {
    let x = Tensor::<f32>::arange(10).reshape([2, 5]);
    let pieces = x.split(1, 2);
    let shapes: Vec<Vec<usize>> = pieces.iter().map(|p| p.shape().to_vec()).collect();
    assert_eq!(shapes, vec![vec![2, 2], vec![2, 2], vec![2, 1]]);
    assert!(pieces.iter().all(|p| p.shares_storage(&x)));
    assert_eq!(pieces[1].to_vec(), vec![2.0, 3.0, 7.0, 8.0]);
    assert_eq!(pieces[2].to_vec(), vec![4.0, 9.0]);
    let sized = x.split_sizes(-1, &[3, 0, 2]);
    assert_eq!(sized[0].to_vec(), vec![0.0, 1.0, 2.0, 5.0, 6.0, 7.0]);
    assert_eq!(sized[1].shape(), &[2, 0]);
    assert_eq!(sized[2].to_vec(), vec![3.0, 4.0, 8.0, 9.0]);
    // chunk(5 elements, 3) gives pieces of ⌈5/3⌉ = 2: 2, 2, 1.
    let chunks = x.chunk(1, 3);
    assert_eq!(
        chunks.iter().map(|c| c.shape()[1]).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    // chunk(6, 4) gives pieces of 2: only three of them.
    assert_eq!(Tensor::<f32>::arange(6).chunk(0, 4).len(), 3);
    assert_eq!(Tensor::<f32>::arange(6).chunk(0, 1)[0].numel(), 6);
}

#[test]
fn display_prints_views_in_logical_order() {
    let b = Tensor::from_vec(vec![1.0f32, -2.0], [2, 1]).broadcast_to([2, 3]);
    assert_eq!(
        b.to_string(),
        "tensor([[ 1.0000,  1.0000,  1.0000],\n        [-2.0000, -2.0000, -2.0000]], shape=[2, 3])"
    );
    let n = Tensor::<f64>::arange(6).reshape([2, 3]).narrow(1, 1, 2);
    assert_eq!(
        format!("{n:.1}"),
        "tensor([[1.0, 2.0],\n        [4.0, 5.0]], shape=[2, 2], dtype=f64)"
    );
    assert_eq!(Tensor::scalar(-0.5f32).to_string(), "tensor(-0.5000)");
}

// ----------------------------------------------------------------------------------------------
// Properties
// ----------------------------------------------------------------------------------------------

/// Cuts `len` into consecutive sizes at the sorted positions `cuts`.
fn sizes_from_cuts(len: usize, mut cuts: Vec<usize>) -> Vec<usize> {
    cuts.iter_mut().for_each(|c| *c %= len + 1);
    cuts.sort_unstable();
    let mut sizes = Vec::new();
    let mut last = 0;
    for c in cuts {
        sizes.push(c - last);
        last = c;
    }
    sizes.push(len - last);
    sizes
}

/// A view of rank 1–4 (dims 0–5) and one of its axes.
fn view_and_axis() -> BoxedStrategy<(ViewSpec, usize)> {
    prop::collection::vec(dim(), 1..=4)
        .prop_flat_map(|s| {
            let rank = s.len();
            (view_of(s, Values::Any), 0..rank)
        })
        .boxed()
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn split_then_concat_is_the_identity(
        (v, axis) in view_and_axis(),
        cuts in prop::collection::vec(0..=5usize, 0..=3),
        size in 1..=6usize,
        n in 1..=6usize,
    ) {
        let t = v.tensor::<f64>();
        let shape = v.shape();
        let want = v.values();
        let same = |a: &[f64]| a.len() == want.len() && a.iter().zip(&want).all(|(&x, &y)| same_bits(x, y));
        let sizes = sizes_from_cuts(shape[axis], cuts);
        let pieces = t.split_sizes(axis, &sizes);
        prop_assert_eq!(pieces.len(), sizes.len());
        let mut start = 0;
        for (p, &s) in pieces.iter().zip(&sizes) {
            prop_assert!(p.shares_storage(&t));
            let (pv, nv) = (p.to_vec(), t.narrow(axis, start, s).to_vec());
            prop_assert!(pv.len() == nv.len() && pv.iter().zip(&nv).all(|(&a, &b)| same_bits(a, b)));
            start += s;
        }
        let joined = Tensor::concat(&pieces.iter().collect::<Vec<_>>(), axis);
        prop_assert_eq!(joined.shape(), &shape[..]);
        prop_assert!(same(&joined.to_vec()), "split_sizes {:?} then concat differs", sizes);

        let pieces = t.split(axis, size);
        let len = shape[axis];
        prop_assert_eq!(pieces.len(), if len == 0 { 1 } else { len.div_ceil(size) });
        prop_assert!(pieces.iter().take(pieces.len().saturating_sub(1)).all(|p| p.shape()[axis] == size));
        prop_assert!(same(&Tensor::concat(&pieces.iter().collect::<Vec<_>>(), axis).to_vec()));

        let chunks = t.chunk(axis, n);
        prop_assert!(chunks.len() <= n);
        prop_assert!(same(&Tensor::concat(&chunks.iter().collect::<Vec<_>>(), axis).to_vec()));
    }

    #[test]
    fn concat_and_stack_of_views_match_index_arithmetic(
        (views, axis) in (prop::collection::vec(dim(), 1..=3), 1..=3usize)
            .prop_flat_map(|(s, count)| {
                let rank = s.len();
                // Each input gets its own size along the axis, and its own layout.
                (Just(s), prop::collection::vec(dim(), count), 0..rank)
            })
            .prop_flat_map(|(s, lens, axis)| {
                let views: Vec<_> = lens
                    .iter()
                    .map(|&l| {
                        let mut si = s.clone();
                        si[axis] = l;
                        view_of(si, Values::Any)
                    })
                    .collect();
                (views, Just(axis))
            })
    ) {
        let tensors: Vec<Tensor<f32>> = views.iter().map(|v| v.tensor::<f32>()).collect();
        let got = Tensor::concat(&tensors.iter().collect::<Vec<_>>(), axis);
        let mut shape = views[0].shape();
        shape[axis] = views.iter().map(|v| v.shape()[axis]).sum();
        prop_assert_eq!(got.shape(), &shape[..]);
        let got = got.to_vec();
        for (flat, &g) in got.iter().enumerate() {
            let mut index = unravel(flat, &shape);
            let mut k = 0;
            while index[axis] >= views[k].shape()[axis] {
                index[axis] -= views[k].shape()[axis];
                k += 1;
            }
            let w = views[k].values_as::<f32>()[ravel(&index, &views[k].shape())];
            prop_assert!(same_bits(g, w), "element {}", flat);
        }
        // Stack copies of the first input along every possible new axis.
        let first = &tensors[0];
        let s0 = views[0].shape();
        let x0 = views[0].values_as::<f32>();
        for new_axis in 0..=s0.len() {
            let stacked = Tensor::stack(&[first, &first.neg(), first], new_axis);
            let mut want_shape = s0.clone();
            want_shape.insert(new_axis, 3);
            prop_assert_eq!(stacked.shape(), &want_shape[..]);
            for (flat, &g) in stacked.to_vec().iter().enumerate() {
                let mut index = unravel(flat, &want_shape);
                let which = index.remove(new_axis);
                let x = x0[ravel(&index, &s0)];
                let w = if which == 1 { -x } else { x };
                prop_assert!(same_bits(g, w));
            }
        }
    }

    #[test]
    fn index_select_and_index_add_match_naive_loops(
        (v, axis, indices) in view_and_axis().prop_flat_map(|(v, axis)| {
            let size = v.shape()[axis];
            let count = if size == 0 { 0..=0usize } else { 0..=7usize };
            (Just(v), Just(axis), prop::collection::vec(0..size.max(1), count))
        })
    ) {
        let t = v.tensor::<f64>();
        let shape = v.shape();
        let x = v.values();
        let got = t.index_select(axis, &indices);
        let mut out_shape = shape.clone();
        out_shape[axis] = indices.len();
        prop_assert_eq!(got.shape(), &out_shape[..]);
        let got = got.to_vec();
        for (flat, &g) in got.iter().enumerate() {
            let mut index = unravel(flat, &out_shape);
            index[axis] = indices[index[axis]];
            prop_assert!(same_bits(g, x[ravel(&index, &shape)]));
        }
        // index_add of the selected slices onto `t`: each output element gets its additions in
        // order of k.
        let selected = Tensor::from_vec(got.clone(), out_shape.clone());
        let added = t.index_add(axis, &indices, &selected).to_vec();
        let mut want = x.clone();
        for (flat, &s) in got.iter().enumerate() {
            let mut index = unravel(flat, &out_shape);
            index[axis] = indices[index[axis]];
            want[ravel(&index, &shape)] += s;
        }
        prop_assert!(added.iter().zip(&want).all(|(&a, &b)| same_bits(a, b)), "{:?} != {:?}", added, want);
    }

    #[test]
    fn gather_scatter_add_and_one_hot_match_naive_loops(
        (v, axis, idx_view, src_view) in view_and_axis()
            .prop_flat_map(|(v, axis)| {
                // Index shape: at most v's size on every other axis, anything along `axis`
                // (nothing if that axis is empty, as no index would be valid).
                let shape = v.shape();
                let dims: Vec<BoxedStrategy<usize>> = shape
                    .iter()
                    .enumerate()
                    .map(|(d, &n)| {
                        if d == axis {
                            if n == 0 { Just(0usize).boxed() } else { (0..=5usize).boxed() }
                        } else {
                            (0..=n).boxed()
                        }
                    })
                    .collect();
                (Just(v), Just(axis), dims)
            })
            .prop_flat_map(|(v, axis, idx_shape)| {
                let bound = v.shape()[axis];
                // The source of scatter_add is at least as large as the indices on every axis.
                let src_shape = idx_shape.iter().map(|&d| d..=d + 1).collect::<Vec<_>>();
                (Just(v), Just(axis), view_of(idx_shape, Values::Indices(bound)), src_shape)
            })
            .prop_flat_map(|(v, axis, idx, src_shape)| {
                (Just(v), Just(axis), Just(idx), view_of(src_shape, Values::Finite))
            })
    ) {
        let t = v.tensor::<f64>();
        let (shape, x) = (v.shape(), v.values());
        let (idx_shape, idx) = (idx_view.shape(), idx_view.values());
        // Drawn as whole-number floats in 0..bound, in the view's logical order.
        let indices = Indices::from_vec(idx.iter().map(|&i| i as usize).collect(), &idx_shape[..]);
        // gather: out[p] = t[p with p[axis] = idx[p]].
        let got = t.gather(axis, &indices);
        prop_assert_eq!(got.shape(), &idx_shape[..]);
        for (flat, &g) in got.to_vec().iter().enumerate() {
            let mut index = unravel(flat, &idx_shape);
            index[axis] = idx[flat] as usize;
            prop_assert!(same_bits(g, x[ravel(&index, &shape)]), "gather element {}", flat);
        }
        // scatter_add: out[p with p[axis] = idx[p]] += src[p], in row-major order of p.
        let (src_shape, src) = (src_view.shape(), src_view.values());
        let got = t.scatter_add(axis, &indices, &src_view.tensor::<f64>());
        prop_assert_eq!(got.shape(), &shape[..]);
        let mut want = x.clone();
        for (flat, &i) in idx.iter().enumerate() {
            let p = unravel(flat, &idx_shape);
            let mut target = p.clone();
            target[axis] = i as usize;
            want[ravel(&target, &shape)] += src[ravel(&p, &src_shape)];
        }
        let got = got.to_vec();
        prop_assert!(got.iter().zip(&want).all(|(&a, &b)| same_bits(a, b)), "scatter_add: {:?} != {:?}", got, want);
        // one_hot of the indices, as classes out of `bound`.
        let bound = shape[axis];
        if bound > 0 {
            let h = indices.one_hot::<f64>(bound);
            let mut want_shape = idx_shape.clone();
            want_shape.push(bound);
            prop_assert_eq!(h.shape(), &want_shape[..]);
            for (flat, &g) in h.to_vec().iter().enumerate() {
                let (row, class) = (flat / bound, flat % bound);
                prop_assert_eq!(g, if idx[row] as usize == class { 1.0 } else { 0.0 });
            }
        }
    }
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn display_shows_every_element_of_a_small_view(v in any_view(Values::Finite)) {
        // Each shown number is the element rounded to 4 decimals (fixed-point, since the
        // values' magnitudes are within 1e-4..1e8 unless they span a factor above 1000).
        let t = v.tensor::<f64>();
        let text = t.to_string();
        prop_assert!(text.starts_with("tensor(") && text.ends_with(")"));
        if t.rank() > 0 {
            prop_assert!(text.contains(&format!("shape={:?}", v.shape())), "{}", text);
        }
        let body = &text["tensor(".len()..];
        let numbers: Vec<f64> = body
            .split(|c: char| c == '[' || c == ']' || c == ',' || c.is_whitespace())
            .take_while(|s| !s.starts_with("shape=") && !s.starts_with("dtype="))
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches(')').parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        let want = v.values();
        prop_assert_eq!(numbers.len(), want.len(), "{}", text);
        for (n, w) in numbers.iter().zip(&want) {
            prop_assert!((n - w).abs() <= 0.5e-4 * (1.0 + w.abs()), "{} shown as {} in {}", w, n, text);
        }
    }
}
