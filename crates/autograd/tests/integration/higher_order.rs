//! Gradients of gradients: grad_graph, Hessian-vector products, forward-mode products and a
//! gradient penalty, each checked against finite differences in f64 of function values.

use crate::common;

use common::{assert_close, fd_gradient, fd_hessian, mat_vec};
use rand::rngs::StdRng;
use rand::SeedableRng;
use shendu_autograd::{Tape, Var};
use shendu_tensor::Tensor;

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape)
}

#[test]
fn grad_graph_of_a_cube_is_a_differentiable_var() {
    // y = Σ x³: dy/dx = 3x², d/dx Σ 3x² = 6x, d/dx Σ 6x = 6.
    let xs = [1.0, 2.0, -0.5];
    let tape = Tape::new();
    let x = tape.var(t(&xs, &[3]));
    let y = (&(&x * &x) * &x).sum_all();
    let g = y.grad_graph(&[&x]).remove(0);
    assert!(g.is_tracked());
    assert_eq!(g.shape(), &[3]);
    assert_close(&g.value().to_vec(), &[3.0, 12.0, 0.75], 1e-15, 0.0);

    let s = g.sum_all();
    assert_close(&s.backward()[&x].to_vec(), &[6.0, 12.0, -3.0], 1e-14, 0.0);

    let h = s.grad_graph(&[&x]).remove(0);
    assert_close(&h.value().to_vec(), &[6.0, 12.0, -3.0], 1e-14, 0.0);
    assert_close(
        &h.sum_all().backward()[&x].to_vec(),
        &[6.0, 6.0, 6.0],
        1e-14,
        0.0,
    );
}

#[test]
fn grad_graph_gives_zeros_for_a_var_the_output_does_not_use() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0], &[2]));
    let unused = tape.var(t(&[3.0, 4.0, 5.0], &[3]));
    let c = tape.constant(t(&[1.0], &[1]));
    let gs = x.square().sum_all().grad_graph(&[&x, &unused, &c]);
    assert_eq!(gs.len(), 3);
    assert_eq!(gs[0].value().to_vec(), vec![2.0, 4.0]);
    assert_eq!(gs[1].value().to_vec(), vec![0.0; 3]);
    assert_eq!(gs[2].value().to_vec(), vec![0.0]);
}

/// f(x) = Σ sin(xᵢ)·xᵢ² + (Σ xᵢ)³ in plain f64, the reference for the tape's forward.
fn sin_cubic_reference(x: &[f64]) -> f64 {
    x.iter().map(|v| v.sin() * v * v).sum::<f64>() + x.iter().sum::<f64>().powi(3)
}

fn sin_cubic(x: &Var<f64>) -> Var<f64> {
    &(&x.sin() * &x.square()).sum_all() + &x.sum_all().powf(3.0)
}

#[test]
fn hvp_matches_a_finite_difference_hessian_on_a_non_quadratic_function() {
    let xs = [0.3, -1.2, 0.8, 2.0];
    let vs = [1.0, -0.5, 0.25, 2.0];
    let tape = Tape::new();
    let x = tape.var(t(&xs, &[4]));
    let y = sin_cubic(&x);
    assert_close(
        &[y.value().item()],
        &[sin_cubic_reference(&xs)],
        1e-13,
        1e-13,
    );
    let hv = y.hvp(&x, &t(&vs, &[4]));
    let expected = mat_vec(&fd_hessian(&sin_cubic_reference, &xs, 1e-4), &vs);
    assert_close(&hv.to_vec(), &expected, 1e-5, 1e-6);
}

/// A two-layer tanh network's mean squared error as a function of its first weight matrix.
struct Mlp {
    x: Tensor<f64>,
    b1: Tensor<f64>,
    w2: Tensor<f64>,
    y: Tensor<f64>,
}

impl Mlp {
    fn new() -> Self {
        let mut rng = StdRng::seed_from_u64(7);
        Mlp {
            x: Tensor::rand_uniform([5, 3], -1.0, 1.0, &mut rng),
            b1: Tensor::rand_uniform([4], -0.5, 0.5, &mut rng),
            w2: Tensor::rand_uniform([4, 1], -1.0, 1.0, &mut rng),
            y: Tensor::rand_uniform([5, 1], -1.0, 1.0, &mut rng),
        }
    }

    /// mean((tanh(x W1ᵀ + b1) w2 − y)²) for W1 of shape [4, 3].
    fn loss(&self, w1: &Var<f64>) -> Var<f64> {
        let hidden =
            (&w1.constant(self.x.clone()).matmul(&w1.t()) + &w1.constant(self.b1.clone())).tanh();
        let out = hidden.matmul(&w1.constant(self.w2.clone()));
        (&out - &w1.constant(self.y.clone())).square().mean_all()
    }

    /// The loss's value at flat weights, without recording.
    fn value(&self, w1: &[f64]) -> f64 {
        let tape = Tape::new();
        self.loss(&tape.constant(t(w1, &[4, 3]))).value().item()
    }
}

#[test]
fn hvp_matches_finite_differences_on_a_small_mlp_loss() {
    let mlp = Mlp::new();
    let mut rng = StdRng::seed_from_u64(8);
    let w1 = Tensor::rand_uniform([4, 3], -1.0, 1.0, &mut rng);
    let v = Tensor::rand_uniform([4, 3], -1.0, 1.0, &mut rng);
    let tape = Tape::new();
    let w = tape.var(w1.clone());
    let hv = mlp.loss(&w).hvp(&w, &v);
    assert_eq!(hv.shape(), &[4, 3]);
    let expected = mat_vec(
        &fd_hessian(&|p| mlp.value(p), &w1.to_vec(), 1e-4),
        &v.to_vec(),
    );
    assert_close(&hv.to_vec(), &expected, 1e-6, 1e-4);
    // The first-order gradient of the same loss, for good measure.
    let g = mlp.loss(&w).backward()[&w].to_vec();
    assert_close(
        &g,
        &fd_gradient(&|p| mlp.value(p), &w1.to_vec(), 1e-6),
        1e-8,
        1e-6,
    );
}

#[test]
fn hvp_of_a_quadratic_is_exact() {
    // y = Σ x²: the Hessian is 2I, so Hv = 2v.
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, -2.0, 3.0], &[3]));
    let hv = x.square().sum_all().hvp(&x, &t(&[0.5, 1.0, -4.0], &[3]));
    assert_eq!(hv.to_vec(), vec![1.0, 2.0, -8.0]);
}

#[test]
fn hvp_of_a_linear_function_is_zero() {
    // y = Σ cᵢxᵢ has a zero Hessian: the product must be zeros, not a panic.
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, -2.0, 3.0], &[3]));
    let c = tape.constant(t(&[2.0, 3.0, 4.0], &[3]));
    let y = (&x * &c).sum_all();
    let hv = y.hvp(&x, &t(&[1.0, 1.0, 1.0], &[3]));
    assert_eq!(hv.to_vec(), vec![0.0; 3]);
}

/// f: ℝ³ → ℝ², f(x) = tanh(W x) ⊙ (x₀, x₁)² + x₂·(e^x₀, e^x₁), for a fixed W of shape [2, 3].
fn vector_function(x: &Var<f64>) -> Var<f64> {
    let w = x.constant(t(&[0.5, -1.0, 2.0, 1.5, 0.25, -0.75], &[2, 3]));
    let first_two = x.narrow(0, 0, 2);
    let last = x.narrow(0, 2, 1);
    &(&w.matmul(x).tanh() * &first_two.square()) + &(&last * &first_two.exp())
}

fn vector_function_at(x: &[f64]) -> Vec<f64> {
    let tape = Tape::new();
    vector_function(&tape.constant(t(x, &[3]))).value().to_vec()
}

#[test]
fn jvp_matches_finite_differences_of_a_vector_function() {
    let xs = [0.4, -0.7, 1.1];
    let vs = [1.0, 0.5, -2.0];
    let tape = Tape::new();
    let x = tape.var(t(&xs, &[3]));
    let y = vector_function(&x);
    assert_eq!(y.shape(), &[2]);
    let jv = y.jvp(&x, &t(&vs, &[3]));
    assert_eq!(jv.shape(), &[2]);
    let eps = 1e-6;
    let plus: Vec<f64> = xs.iter().zip(&vs).map(|(x, v)| x + eps * v).collect();
    let minus: Vec<f64> = xs.iter().zip(&vs).map(|(x, v)| x - eps * v).collect();
    let expected: Vec<f64> = vector_function_at(&plus)
        .iter()
        .zip(vector_function_at(&minus))
        .map(|(p, m)| (p - m) / (2.0 * eps))
        .collect();
    assert_close(&jv.to_vec(), &expected, 1e-8, 1e-7);
}

#[test]
fn jvp_matches_finite_differences_of_a_matrix_function() {
    // f(X) = softmax(X Xᵀ, axis 1) for X of shape [2, 3].
    let f = |x: &Var<f64>| x.matmul(&x.t()).softmax(1);
    let xs = [0.2, -0.4, 0.9, 1.0, 0.3, -0.6];
    let vs = [0.5, 1.0, -1.0, 0.25, -0.5, 2.0];
    let tape = Tape::new();
    let x = tape.var(t(&xs, &[2, 3]));
    let jv = f(&x).jvp(&x, &t(&vs, &[2, 3]));
    assert_eq!(jv.shape(), &[2, 2]);
    let at = |s: f64| {
        let p: Vec<f64> = xs.iter().zip(&vs).map(|(x, v)| x + s * v).collect();
        let tape = Tape::new();
        f(&tape.constant(t(&p, &[2, 3]))).value().to_vec()
    };
    let eps = 1e-6;
    let expected: Vec<f64> = at(eps)
        .iter()
        .zip(at(-eps))
        .map(|(p, m)| (p - m) / (2.0 * eps))
        .collect();
    assert_close(&jv.to_vec(), &expected, 1e-8, 1e-7);
}

#[test]
fn jvp_of_a_function_that_ignores_x_is_zero() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0], &[2]));
    let z = tape.var(t(&[0.5, 0.5], &[2]));
    let y = z.exp();
    let jv = y.jvp(&x, &t(&[1.0, 1.0], &[2]));
    assert_eq!(jv.to_vec(), vec![0.0, 0.0]);
}

/// P(W, v, x) = ‖∇ₓ f‖² for f(x) = v · tanh(W x), W of shape [3, 2]; by hand,
/// ∇ₓ f = Wᵀ (v ⊙ (1 − tanh²(W x))). Flat parameters: W (6), then v (3), then x (2).
fn penalty_reference(p: &[f64]) -> f64 {
    let (w, v, x) = (&p[0..6], &p[6..9], &p[9..11]);
    let slope: Vec<f64> = (0..3)
        .map(|k| 1.0 - (w[2 * k] * x[0] + w[2 * k + 1] * x[1]).tanh().powi(2))
        .collect();
    (0..2)
        .map(|j| {
            (0..3)
                .map(|k| w[2 * k + j] * v[k] * slope[k])
                .sum::<f64>()
                .powi(2)
        })
        .sum()
}

#[test]
fn a_gradient_penalty_matches_finite_differences() {
    let ws = [0.5, -1.0, 1.5, 0.3, -0.8, 0.9];
    let vs = [1.2, -0.7, 0.4];
    let xs = [0.6, -0.2];
    let tape = Tape::new();
    let w = tape.var(t(&ws, &[3, 2]));
    let v = tape.var(t(&vs, &[3]));
    let x = tape.var(t(&xs, &[2]));
    let f = (&v * &w.matmul(&x).tanh()).sum_all();
    let gx = f.grad_graph(&[&x]).remove(0);
    let penalty = gx.square().sum_all();

    let params: Vec<f64> = ws.iter().chain(&vs).chain(&xs).copied().collect();
    assert_close(
        &[penalty.value().item()],
        &[penalty_reference(&params)],
        1e-14,
        1e-13,
    );

    let grads = penalty.backward();
    let expected = fd_gradient(&penalty_reference, &params, 1e-6);
    assert_close(&grads[&w].to_vec(), &expected[0..6], 1e-8, 1e-6);
    assert_close(&grads[&v].to_vec(), &expected[6..9], 1e-8, 1e-6);
    assert_close(&grads[&x].to_vec(), &expected[9..11], 1e-8, 1e-6);
}

#[test]
fn second_derivatives_through_a_deep_chain_need_no_recursion() {
    // y = (K·x)² after 100,000 scalings by k, K = k¹⁰⁰⁰⁰⁰: dy/dx = 2K²x, d²y/dx² = 2K².
    // On a 256 KiB stack, so that neither sweep nor drop can be recursive.
    let result = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let k = 1.000001f64;
            let tape = Tape::new();
            let x = tape.var(t(&[0.5], &[1]));
            let mut y = x.clone();
            for _ in 0..100_000 {
                y = y.mul_scalar(k);
            }
            let y = y.square().sum_all();
            let g = y.grad_graph(&[&x]).remove(0);
            let second = g.sum_all().backward()[&x].item();
            (g.value().item(), second)
        })
        .unwrap()
        .join()
        .unwrap();
    let big_k = (0..100_000).fold(1.0f64, |acc, _| acc * 1.000001);
    assert_close(
        &[result.0, result.1],
        &[2.0 * big_k * big_k * 0.5, 2.0 * big_k * big_k],
        0.0,
        1e-10,
    );
}
