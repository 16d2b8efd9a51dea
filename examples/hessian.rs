//! Second order: Newton's method, with the Hessian known only through its products H·v.
//!
//! The problem is the Rosenbrock function f(x, y) = (1 − x)² + 100·(y − x²)², whose minimum
//! f = 0 at (1, 1) lies at the end of a long, curved, flat-bottomed valley, from the classic
//! start (−1.2, 1). Gradient descent zigzags down the valley for thousands of steps; Newton's
//! method models f by its second-order Taylor expansion and jumps to that model's minimum,
//! solving H·p = −g for the step p.
//!
//! H is never formed. The gradient g is recorded as a differentiable var (`grad_graph`), and
//! each product H·v is one more backward pass, through ⟨g, v⟩: what `Var::hvp` does, with the
//! gradient's graph built once per Newton step and reused by every product. Conjugate
//! gradients solve H·p = −g from such products alone, so the same code works for a model with
//! millions of parameters, where H could not even be stored. Where H is not positive definite,
//! CG stops at the first direction of negative curvature; a backtracking line search (halve the
//! step until f falls enough) keeps every step a descent. Near the minimum the full Newton step
//! is taken and ‖g‖ falls quadratically: the number of correct digits doubles at each step.
//!
//! cargo run --release --example hessian

use shendu::prelude::*;

/// f(x, y) = (1 − x)² + 100·(y − x²)², for `p` = [x, y].
fn rosenbrock(p: &Var<f64>) -> Var<f64> {
    let (x, y) = (p.select(0, 0), p.select(0, 1));
    &x.neg().add_scalar(1.0).square() + &(&y - &x.square()).square().mul_scalar(100.0)
}

/// ⟨a, b⟩.
fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    (a * b).sum_all().item()
}

/// f at `p`, for the line search: a value only, on a tape of its own.
fn value_at(p: &Tensor<f64>) -> f64 {
    rosenbrock(&Tape::new().var(p.clone())).item()
}

/// The largest step α in 1, ½, ¼, … along `dir` that lowers f by at least 10⁻⁴·α·⟨g, dir⟩
/// (Armijo's condition); returns α and the new point.
fn line_search(p: &Tensor<f64>, f: f64, g: &Tensor<f64>, dir: &Tensor<f64>) -> (f64, Tensor<f64>) {
    let slope = dot(g, dir);
    let mut alpha = 1.0;
    loop {
        let next = p + &(dir * alpha);
        if value_at(&next) <= f + 1e-4 * alpha * slope || alpha < 1e-12 {
            return (alpha, next);
        }
        alpha *= 0.5;
    }
}

/// Conjugate gradients for H·s = −g, using `hv` for every product with H. Stops when the
/// residual is below `tol`, or at a direction of negative curvature (then returns the step so
/// far, or −g if there is none yet). Returns the step and the number of products used.
fn conjugate_gradient(
    g: &Tensor<f64>,
    hv: impl Fn(&Tensor<f64>) -> Tensor<f64>,
    tol: f64,
) -> (Tensor<f64>, usize) {
    let mut s = Tensor::zeros(g.shape());
    let (mut r, mut d) = (g.clone(), -g);
    for products in 1..=10 * g.numel() {
        let hd = hv(&d);
        let curvature = dot(&d, &hd);
        if curvature <= 0.0 {
            return (if products == 1 { -g } else { s }, products);
        }
        let alpha = dot(&r, &r) / curvature;
        s = &s + &(&d * alpha);
        let r_next = &r + &(&hd * alpha);
        if dot(&r_next, &r_next).sqrt() < tol {
            return (s, products);
        }
        let beta = dot(&r_next, &r_next) / dot(&r, &r);
        d = &(&d * beta) - &r_next;
        r = r_next;
    }
    (s, 10 * g.numel())
}

fn main() {
    let start = Tensor::from_vec(vec![-1.2, 1.0], [2]);
    println!(
        "minimise f(x, y) = (1 - x)² + 100·(y - x²)² from (-1.2, 1); the minimum is f(1, 1) = 0\n"
    );
    println!("Newton's method, H·v products only, conjugate gradients for H·p = -g:");
    println!("step          x          y             f       ‖g‖  CG products  line search α");
    let mut p = start.clone();
    let (mut steps, mut all_products) = (0, 0);
    loop {
        let tape = Tape::new();
        let pv = tape.var(p.clone());
        let f = rosenbrock(&pv);
        let g = f.grad_graph(&[&pv]).remove(0);
        let (fv, gv) = (f.item(), g.value().clone());
        let g_norm = dot(&gv, &gv).sqrt();
        let xy = p.to_vec();
        print!(
            "{steps:>4}  {:>9.6}  {:>9.6}  {fv:>12.4e}  {g_norm:>8.1e}",
            xy[0], xy[1]
        );
        if g_norm < 1e-10 || steps == 50 {
            println!();
            break;
        }
        // H·v = ∇⟨g, v⟩, one backward pass through the recorded gradient.
        let hv = |v: &Tensor<f64>| {
            let g_dot_v = (&g * &pv.constant(v.clone())).sum_all();
            g_dot_v.backward()[&pv].clone()
        };
        // Solved to 1e-8 of ‖g‖: in two dimensions CG gets there in two products. (In large
        // problems CG is stopped much earlier, which is what makes Newton-CG affordable.)
        let (step, products) = conjugate_gradient(&gv, hv, 1e-8 * g_norm);
        let (alpha, next) = line_search(&p, fv, &gv, &step);
        println!("  {products:>11}  {alpha:>13}");
        p = next;
        steps += 1;
        all_products += products;
    }

    println!("{steps} Newton steps, {all_products} Hessian-vector products; H itself never formed");
    println!("\ngradient descent, the same line search, from the same start:");
    let mut p = start;
    for step in 0..=10_000 {
        let tape = Tape::new();
        let pv = tape.var(p.clone());
        let f = rosenbrock(&pv);
        let g = f.backward()[&pv].clone();
        if [steps, 100, 1000, 10_000].contains(&step) {
            let (xy, g_norm) = (p.to_vec(), dot(&g, &g).sqrt());
            println!(
                "after {step:>5} steps: (x, y) = ({:.6}, {:.6}), f = {:.4e}, ‖g‖ = {g_norm:.1e}",
                xy[0],
                xy[1],
                f.item()
            );
        }
        p = line_search(&p, f.item(), &g, &-&g).1;
    }
}
