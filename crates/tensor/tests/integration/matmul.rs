//! Matrix products: NumPy's rank rules worked by hand, then random shapes (vectors, matrices,
//! broadcast batches; sizes 0 to 70 so that every edge of the kernel's blocking is hit) and random
//! layouts (transposed, permuted, narrowed, broadcast operands) against a triple loop.

use crate::common;

use common::*;
use proptest::prelude::*;
use shendu_tensor::{Element, Tensor};

fn t32(values: &[f32], shape: &[usize]) -> Tensor<f32> {
    Tensor::from_vec(values.to_vec(), shape)
}

#[test]
fn vector_dot_vector_is_a_scalar() {
    let d = t32(&[1.0, 2.0, 3.0], &[3]).matmul(&t32(&[4.0, 5.0, 6.0], &[3]));
    assert_eq!(d.shape(), &[] as &[usize]);
    assert_eq!(d.item(), 32.0);
    // Empty vectors: the empty sum.
    let e = Tensor::<f64>::zeros([0]).matmul(&Tensor::zeros([0]));
    assert_eq!(e.shape(), &[] as &[usize]);
    assert_eq!(e.item(), 0.0);
}

#[test]
fn vector_times_matrix_and_matrix_times_vector_drop_the_added_axis() {
    let m = t32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let vm = t32(&[1.0, 2.0], &[2]).matmul(&m);
    assert_eq!(vm.shape(), &[3]);
    assert_eq!(vm.to_vec(), vec![9.0, 12.0, 15.0]);
    let mv = m.matmul(&t32(&[1.0, 0.0, -1.0], &[3]));
    assert_eq!(mv.shape(), &[2]);
    assert_eq!(mv.to_vec(), vec![-2.0, -2.0]);
}

#[test]
fn matrix_times_matrix() {
    // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]].
    let a = t32(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let b = t32(&[5.0, 6.0, 7.0, 8.0], &[2, 2]);
    assert_eq!(a.matmul(&b).to_vec(), vec![19.0, 22.0, 43.0, 50.0]);
    // aᵀ · b = [[1, 3], [2, 4]] · b = [[26, 30], [38, 44]], with aᵀ a view.
    assert_eq!(a.t().matmul(&b).to_vec(), vec![26.0, 30.0, 38.0, 44.0]);
    // a · bᵀ = [[17, 23], [39, 53]].
    assert_eq!(a.matmul(&b.t()).to_vec(), vec![17.0, 23.0, 39.0, 53.0]);
    // The identity leaves a matrix alone; a column times a row is the outer product.
    let x = Tensor::<f64>::arange(12).reshape([3, 4]);
    assert_eq!(Tensor::eye(3).matmul(&x).to_vec(), x.to_vec());
    let outer = t32(&[1.0, 2.0], &[2, 1]).matmul(&t32(&[3.0, 4.0, 5.0], &[1, 3]));
    assert_eq!(outer.to_vec(), vec![3.0, 4.0, 5.0, 6.0, 8.0, 10.0]);
}

#[test]
fn batched_products_broadcast_their_batch_axes() {
    // Two matrices times one: [2, 2, 2] · [2, 2].
    let batch = t32(&[1.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 3.0], &[2, 2, 2]);
    let b = t32(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let p = batch.matmul(&b);
    assert_eq!(p.shape(), &[2, 2, 2]);
    assert_eq!(p.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 9.0, 12.0]);
    // [2, 1, 2, 2] · [3, 2, 2] -> [2, 3, 2, 2]: entry [i, j] is batch i times scale j.
    let left = batch.unsqueeze(1);
    let scales = Tensor::from_vec(vec![1.0f32, 10.0, 100.0], [3, 1, 1]).mul(&Tensor::eye(2));
    let q = left.matmul(&scales);
    assert_eq!(q.shape(), &[2, 3, 2, 2]);
    assert_eq!(q.get(&[1, 2, 1, 1]), 300.0);
    assert_eq!(q.get(&[0, 1, 0, 0]), 10.0);
    assert_eq!(q.get(&[1, 0, 0, 1]), 0.0);
    // A vector against a stack: [2] · [3, 2, 4] -> [3, 4], and [3, 2, 4] · [4] -> [3, 2].
    let stack = Tensor::<f32>::arange(24).reshape([3, 2, 4]);
    let vs = t32(&[1.0, -1.0], &[2]).matmul(&stack);
    assert_eq!(vs.shape(), &[3, 4]);
    assert_eq!(vs.to_vec(), vec![-4.0; 12]);
    let sv = stack.matmul(&t32(&[1.0, 1.0, 1.0, 1.0], &[4]));
    assert_eq!(sv.shape(), &[3, 2]);
    assert_eq!(sv.to_vec(), vec![6.0, 22.0, 38.0, 54.0, 70.0, 86.0]);
}

#[test]
fn empty_products_have_the_right_shape_and_zeros() {
    assert_eq!(
        Tensor::<f32>::zeros([0, 3])
            .matmul(&Tensor::zeros([3, 2]))
            .shape(),
        &[0, 2]
    );
    assert_eq!(
        Tensor::<f32>::zeros([2, 3])
            .matmul(&Tensor::zeros([3, 0]))
            .shape(),
        &[2, 0]
    );
    assert_eq!(
        Tensor::<f32>::zeros([0, 2, 3])
            .matmul(&Tensor::zeros([3, 2]))
            .shape(),
        &[0, 2, 2]
    );
    // k = 0: every entry is an empty sum, even in a buffer recycled from a dropped tensor.
    let n = 1024;
    drop(Tensor::full([n, n], 7.0f32));
    let z = Tensor::<f32>::zeros([n, 0]).matmul(&Tensor::zeros([0, n]));
    assert_eq!(z.shape(), &[n, n]);
    assert!(z.to_vec().iter().all(|&x| x == 0.0));
}

#[test]
fn operands_may_be_narrowed_or_broadcast_views() {
    // The middle 2 × 2 block of a 4 × 4 matrix (non-zero offset, row stride 4).
    let big = Tensor::<f64>::arange(16).reshape([4, 4]);
    let block = big.narrow(0, 1, 2).narrow(1, 1, 2); // [[5, 6], [9, 10]]
    let p = block.matmul(&Tensor::from_vec(vec![1.0, 1.0], [2]));
    assert_eq!(p.to_vec(), vec![11.0, 19.0]);
    // A broadcast (stride 0) operand: every row of ones · m sums m's columns.
    let ones = Tensor::<f64>::ones([3]).broadcast_to([2, 3]);
    let m = Tensor::<f64>::arange(6).reshape([3, 2]);
    assert_eq!(ones.matmul(&m).to_vec(), vec![6.0, 9.0, 6.0, 9.0]);
    assert_eq!(m.t().matmul(&ones.t()).to_vec(), vec![6.0, 6.0, 9.0, 9.0]);
}

#[test]
fn a_large_product_is_a_product() {
    // 130 × 257 · 257 × 129: several kernel blocks with ragged edges, the parallel path, and a
    // transposed left operand; exact because the inputs are small integers.
    let (m, k, n) = (130, 257, 129);
    let a = Tensor::<f64>::from_vec(
        (0..k * m).map(|i| ((i * 7) % 11) as f64 - 5.0).collect(),
        [k, m],
    )
    .t();
    let b = Tensor::<f64>::from_vec(
        (0..k * n).map(|i| ((i * 5) % 13) as f64 - 6.0).collect(),
        [k, n],
    );
    let p = a.matmul(&b);
    let (av, bv) = (a.to_vec(), b.to_vec());
    let (_, want) = matmul_ref(&av, &[m, k], &bv, &[k, n]);
    assert_eq!(p.to_vec(), want);
    let p32 = a.cast::<f32>().matmul(&b.cast::<f32>());
    assert_eq!(
        p32.to_vec(),
        want.iter().map(|&x| x as f32).collect::<Vec<_>>()
    );
}

#[test]
fn small_products_in_every_layout() {
    // Products of up to a few thousand multiply-adds take their own loops, in column blocks of
    // 8, 4 and 1, with a right operand that is not row-major copied into rows first. Every width
    // up to 19 and every layout of both operands, across the size at which the `gemm` crate takes
    // over; exact, because the entries are small integers.
    let value = |i: usize| ((i * 7) % 11) as f64 - 5.0;
    for (m, k) in [(1, 1), (3, 2), (10, 8), (5, 13), (16, 9)] {
        for n in 1..=19 {
            let a = Tensor::<f64>::from_vec((0..m * k).map(value).collect(), [m, k]);
            let b = Tensor::<f64>::from_vec((0..k * n).map(|i| value(i + 3)).collect(), [k, n]);
            let (_, want) = matmul_ref(&a.to_vec(), &[m, k], &b.to_vec(), &[k, n]);
            let a_t = a.t().contiguous().t();
            let b_t = b.t().contiguous().t();
            let b_row = b.narrow(0, 0, 1);
            let (_, want_row) = matmul_ref(
                &a.to_vec(),
                &[m, k],
                &b_row.broadcast_to([k, n]).to_vec(),
                &[k, n],
            );
            for (left, right, want) in [
                (&a, &b, &want),
                (&a_t, &b, &want),
                (&a, &b_t, &want),
                (&a_t, &b_t, &want),
                (&a, &b_row.broadcast_to([k, n]), &want_row),
            ] {
                assert_eq!(&left.matmul(right).to_vec(), want, "{m}x{k}x{n}");
                assert_eq!(
                    left.cast::<f32>().matmul(&right.cast::<f32>()).to_vec(),
                    want.iter().map(|&x| x as f32).collect::<Vec<_>>(),
                    "f32 {m}x{k}x{n}"
                );
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Properties
// ----------------------------------------------------------------------------------------------

/// A matrix dimension: 0 now and then, mostly small, sometimes up to 70.
fn mat_dim() -> BoxedStrategy<usize> {
    prop_oneof![1 => Just(0usize), 5 => 1..=9usize, 3 => 10..=70usize].boxed()
}

/// Shapes of two operands that matmul accepts: vector or matrix on each side, with batch axes
/// (rank 0–2, broadcastable) in front of matrices.
fn matmul_shapes() -> BoxedStrategy<(Vec<usize>, Vec<usize>)> {
    let batch = prop::collection::vec(prop_oneof![1 => Just(0usize), 8 => 1..=3usize], 0..=2);
    (
        mat_dim(),
        mat_dim(),
        mat_dim(),
        batch,
        0..4u8,
        any::<bool>(),
    )
        .prop_flat_map(|(m, k, n, batch, kind, batched)| {
            // Small matrices when there is a batch, so the cases stay quick.
            let (m, k, n) = if batched && !batch.is_empty() {
                (m % 9, k % 9, n % 9)
            } else {
                (m, k, n)
            };
            let batch = if batched { batch } else { vec![] };
            (operand_shape(batch.clone()), operand_shape(batch)).prop_map(move |(ba, bb)| {
                let with = |b: &[usize], r: usize, c: usize| -> Vec<usize> {
                    let mut s = b.to_vec();
                    s.extend([r, c]);
                    s
                };
                match kind {
                    0 => (vec![k], vec![k]),
                    1 => (vec![k], with(&bb, k, n)),
                    2 => (with(&ba, m, k), vec![k]),
                    _ => (with(&ba, m, k), with(&bb, k, n)),
                }
            })
        })
        .boxed()
}

fn check_matmul<T: Element>(a: &ViewSpec, b: &ViewSpec, rel: f64) -> Result<(), TestCaseError> {
    let (sa, sb) = (a.shape(), b.shape());
    let (va, vb): (Vec<f64>, Vec<f64>) = (
        a.values_as::<T>()
            .into_iter()
            .map(Element::to_f64_exact)
            .collect(),
        b.values_as::<T>()
            .into_iter()
            .map(Element::to_f64_exact)
            .collect(),
    );
    let got = a.tensor::<T>().matmul(&b.tensor::<T>());
    let (shape, want) = matmul_ref(&va, &sa, &vb, &sb);
    prop_assert_eq!(got.shape(), &shape[..], "{:?} x {:?}", sa, sb);
    let scale = matmul_abs_ref(&va, &sa, &vb, &sb);
    let result = close_to(&to_f64(&got), &want, &scale, rel);
    prop_assert!(
        result.is_ok(),
        "{} {:?} x {:?}: {}",
        T::NAME,
        sa,
        sb,
        result.unwrap_err()
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(160))]

    #[test]
    fn matmul_matches_a_triple_loop(
        (a, b) in matmul_shapes().prop_flat_map(|(sa, sb)| {
            (view_of(sa, Values::Finite), view_of(sb, Values::Finite))
        })
    ) {
        check_matmul::<f64>(&a, &b, 1e-12)?;
        check_matmul::<f32>(&a, &b, 1e-5)?;
    }
}

/// A value for a dense layer's operands: mostly ordinary, sometimes an edge (±0, ±inf, NaN, huge
/// or tiny), so that the bias and the ReLU meet them.
fn dense_value() -> BoxedStrategy<f64> {
    prop_oneof![
        8 => -4.0..4.0f64,
        1 => prop::sample::select(vec![
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            1e300,
            -1e-300,
        ]),
    ]
    .boxed()
}

/// A dense layer's operands: an input `[..., in]` of rank 1 to 3 (as a transposed view when it is
/// a matrix and `transposed`), a weight `[out, in]` (stored as such or as the transpose of an
/// `[in, out]` tensor), and a bias `[out]` that is contiguous, a strided view, or absent. Up to 40
/// rows of up to 24 by 24, so that products fall on both sides of the small kernels' bound.
#[derive(Clone, Debug)]
struct Dense {
    leading: Vec<usize>,
    inner: usize,
    outer: usize,
    x: Vec<f64>,
    w: Vec<f64>,
    b: Vec<f64>,
    transposed: bool,
    bias: Option<bool>,
}

fn dense() -> BoxedStrategy<Dense> {
    let leading = prop_oneof![
        Just(vec![]),
        (0usize..=40).prop_map(|m| vec![m]),
        (0usize..=5, 0usize..=8).prop_map(|(a, b)| vec![a, b]),
    ];
    (leading, 0usize..=24, 0usize..=24)
        .prop_flat_map(|(leading, inner, outer)| {
            let rows: usize = leading.iter().product();
            (
                Just(leading),
                Just(inner),
                Just(outer),
                prop::collection::vec(dense_value(), rows * inner),
                prop::collection::vec(dense_value(), outer * inner),
                prop::collection::vec(dense_value(), 2 * outer),
                any::<bool>(),
                prop::option::of(any::<bool>()),
            )
        })
        .prop_map(|(leading, inner, outer, x, w, b, transposed, bias)| Dense {
            leading,
            inner,
            outer,
            x,
            w,
            b,
            transposed,
            bias,
        })
        .boxed()
}

impl Dense {
    /// The operands in `T`: (x, w, bias).
    fn operands<T: Element>(&self) -> (Tensor<T>, Tensor<T>, Option<Tensor<T>>) {
        let cast = |v: &[f64]| v.iter().map(|&v| T::from_f64_lossy(v)).collect::<Vec<T>>();
        let mut x_shape = self.leading.clone();
        x_shape.push(self.inner);
        let x = if self.transposed && self.leading.len() == 1 {
            // The same values, stored column by column.
            let m = self.leading[0];
            let mut by_columns = vec![T::zero(); m * self.inner];
            for i in 0..m {
                for p in 0..self.inner {
                    by_columns[p * m + i] = T::from_f64_lossy(self.x[i * self.inner + p]);
                }
            }
            Tensor::from_vec(by_columns, [self.inner, m]).t()
        } else {
            Tensor::from_vec(cast(&self.x), x_shape)
        };
        let (out, inner) = (self.outer, self.inner);
        let w = if self.transposed {
            let mut by_columns = vec![T::zero(); out * inner];
            for o in 0..out {
                for p in 0..inner {
                    by_columns[p * out + o] = T::from_f64_lossy(self.w[o * inner + p]);
                }
            }
            Tensor::from_vec(by_columns, [inner, out]).t()
        } else {
            Tensor::from_vec(cast(&self.w), [out, inner])
        };
        let bias = self.bias.map(|strided| {
            if strided {
                // Every other element of a [2·out] tensor.
                Tensor::from_vec(cast(&self.b), [out, 2]).select(1, 0)
            } else {
                Tensor::from_vec(cast(&self.b[..out]), [out])
            }
        });
        (x, w, bias)
    }
}

/// `linear` and `linear_relu` against the ops they stand for (the rows' product, the bias added,
/// the ReLU), bit for bit.
fn check_linear<T: Element>(case: &Dense) -> Result<(), TestCaseError> {
    let (x, w, bias) = case.operands::<T>();
    let rows: usize = case.leading.iter().product();
    let mut out_shape = case.leading.clone();
    out_shape.push(case.outer);
    // A matrix goes to the product as it lies (a transposed view too), as `linear` passes it.
    let matrix = if x.rank() == 2 {
        x.clone()
    } else {
        x.reshape([rows, case.inner])
    };
    let product = matrix.matmul(&w.t());
    let biased = match &bias {
        Some(b) => product.add(b),
        None => product,
    };
    let separate = biased.reshape(out_shape);
    for (got, want) in [
        (x.linear(&w, bias.as_ref()), separate.clone()),
        (x.linear_relu(&w, bias.as_ref()), separate.relu()),
    ] {
        prop_assert_eq!(got.shape(), want.shape());
        let (got, want) = (got.to_vec(), want.to_vec());
        let differs = got.iter().zip(&want).position(|(&g, &w)| !same_bits(g, w));
        prop_assert!(
            differs.is_none(),
            "element {:?}: {:?} against {:?}",
            differs,
            differs.map(|i| got[i]),
            differs.map(|i| want[i])
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(200))]

    /// A dense layer's product with its bias and ReLU has the bits of the separate ops, in every
    /// layout, small products (bias and ReLU applied as each element is stored) and large alike.
    #[test]
    fn linear_has_the_bits_of_the_product_then_the_bias_then_the_relu(case in dense()) {
        check_linear::<f32>(&case)?;
        check_linear::<f64>(&case)?;
    }
}

#[test]
fn linear_of_a_batch_and_of_one_row() {
    // 2 → 3 with rows [1, 2] and [−1, 0]: x·Wᵀ = [1, 3, −3] and [−1, −1, 1].
    let w = t32(&[1.0, 0.0, 1.0, 1.0, -1.0, -1.0], &[3, 2]);
    let b = t32(&[0.5, 0.0, 1.0], &[3]);
    let x = t32(&[1.0, 2.0, -1.0, 0.0], &[2, 2]);
    assert_eq!(
        x.linear(&w, Some(&b)).to_vec(),
        vec![1.5, 3.0, -2.0, -0.5, -1.0, 2.0]
    );
    assert_eq!(
        x.linear_relu(&w, None).to_vec(),
        vec![1.0, 3.0, 0.0, 0.0, 0.0, 1.0]
    );
    // One row as a vector, and a batch of batches.
    let one = t32(&[1.0, 2.0], &[2]).linear(&w, Some(&b));
    assert_eq!(one.shape(), &[3]);
    assert_eq!(one.to_vec(), vec![1.5, 3.0, -2.0]);
    let stacked = x.reshape([2, 1, 2]).linear(&w, Some(&b));
    assert_eq!(stacked.shape(), &[2, 1, 3]);
    assert_eq!(stacked.to_vec(), vec![1.5, 3.0, -2.0, -0.5, -1.0, 2.0]);
}
