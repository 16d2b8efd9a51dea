//! `Tensor::zip_mut_with`, the fused in-place update of optimizers: the same numbers as the plain
//! per-element loop on every path (contiguous, transposed and broadcast sources, sizes on both
//! sides of the parallel threshold), in place when the tensor owns its storage, copy-on-write
//! when it does not, and a shape mismatch named.

use std::panic::{catch_unwind, AssertUnwindSafe};

use shendu_tensor::Tensor;

/// The reference: Adam-like update written element by element on plain vectors.
fn reference(p: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64]) {
    for i in 0..p.len() {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.99 * v[i] + 0.01 * g[i] * g[i];
        p[i] -= 0.01 * m[i] / (v[i].sqrt() + 1e-8);
    }
}

fn fused(p: &mut Tensor<f64>, g: &Tensor<f64>, m: &mut Tensor<f64>, v: &mut Tensor<f64>) {
    p.zip_mut_with(g, [m, v], |p, g, [m, v]| {
        *m = 0.9 * *m + 0.1 * g;
        *v = 0.99 * *v + 0.01 * g * g;
        *p -= 0.01 * *m / (v.sqrt() + 1e-8);
    });
}

fn check(shape: [usize; 2], g: Tensor<f64>) {
    let n = shape[0] * shape[1];
    let start = |k: usize| {
        (0..n)
            .map(|i| ((i * 7 + k) % 13) as f64 / 13.0)
            .collect::<Vec<_>>()
    };
    let (mut p, mut m, mut v) = (start(1), start(2), start(3));
    let mut tp = Tensor::from_vec(p.clone(), shape);
    let mut tm = Tensor::from_vec(m.clone(), shape);
    let mut tv = Tensor::from_vec(v.clone(), shape);
    let addresses = [tp.data_ptr(), tm.data_ptr(), tv.data_ptr()];
    for _ in 0..3 {
        fused(&mut tp, &g, &mut tm, &mut tv);
        reference(&mut p, &g.to_vec(), &mut m, &mut v);
    }
    assert_eq!(tp.to_vec(), p);
    assert_eq!(tm.to_vec(), m);
    assert_eq!(tv.to_vec(), v);
    assert_eq!(
        [tp.data_ptr(), tm.data_ptr(), tv.data_ptr()],
        addresses,
        "not in place"
    );
}

fn gradient(shape: [usize; 2]) -> Tensor<f64> {
    let n = shape[0] * shape[1];
    Tensor::from_vec((0..n).map(|i| (i % 17) as f64 - 8.0).collect(), shape)
}

#[test]
fn matches_the_plain_loop_on_every_path() {
    // Small and large (above the parallel threshold, with a ragged last chunk).
    for shape in [[3, 5], [300, 401]] {
        check(shape, gradient(shape));
        // A transposed source.
        let [r, c] = shape;
        check(shape, gradient([c, r]).t());
        // A broadcast source.
        let row = Tensor::from_vec((0..c).map(|j| j as f64 - 2.0).collect(), [c]);
        check(shape, row.broadcast_to(shape));
    }
}

#[test]
fn a_shared_storage_is_copied_first_and_the_other_owner_keeps_its_values() {
    let mut p = Tensor::from_vec(vec![1.0f64, 2.0], [2]);
    let mut m = Tensor::from_vec(vec![0.0f64, 0.0], [2]);
    let p_view = p.clone();
    let m_view = m.clone();
    p.zip_mut_with(&Tensor::scalar(1.0), [&mut m], |p, g, [m]| {
        *m += g;
        *p -= *m;
    });
    assert_eq!(p.to_vec(), vec![0.0, 1.0]);
    assert_eq!(m.to_vec(), vec![1.0, 1.0]);
    assert_eq!(p_view.to_vec(), vec![1.0, 2.0]);
    assert_eq!(m_view.to_vec(), vec![0.0, 0.0]);
}

#[test]
fn a_state_of_another_shape_is_named() {
    let mut p = Tensor::<f32>::zeros([2, 3]);
    let mut m = Tensor::<f32>::zeros([3, 2]);
    let line = line!() + 2;
    let err = catch_unwind(AssertUnwindSafe(|| {
        p.zip_mut_with(&Tensor::zeros([2, 3]), [&mut m], |_, _, [_]| {})
    }))
    .unwrap_err();
    let message = err.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("zip_mut_with: state 0 has shape [3, 2], the updated tensor [2, 3]")
            && message.ends_with(&format!("(at {}:{line})", file!())),
        "{message}"
    );
}
