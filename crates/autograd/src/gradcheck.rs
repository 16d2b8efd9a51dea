//! Gradient checks against central finite differences in f64: for the built-in ops and for ops
//! users write.
//!
//! A check projects the function's output on a fixed pseudo-random tensor `r`, so that one
//! backward pass gives the gradient of the scalar Σ f(x) ⊙ r, and compares every element of that
//! gradient with (L(x + εeⱼ) − L(x − εeⱼ)) / 2ε. The second-order check applies the same test to
//! the function x ↦ ⟨∇L(x), v⟩, whose gradient runs through the gradient rules themselves.

use std::fmt;

use rand::rngs::StdRng;
use rand::SeedableRng;
use shendu_tensor::Tensor;

use crate::error::fail;
use crate::tape::Tape;
use crate::var::Var;

/// Step and tolerances of a gradient check; the defaults are PyTorch's.
#[derive(Clone, Debug)]
pub struct GradcheckOptions {
    /// Finite-difference step ε.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance, against the numeric value.
    pub rtol: f64,
    /// Seed of the projection tensors.
    pub seed: u64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
            seed: 0,
        }
    }
}

/// A disagreement between the tape's gradient and finite differences: the worst element.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckError {
    /// 1 for `gradcheck`, 2 for `gradgradcheck`.
    pub order: usize,
    /// Which input.
    pub input: usize,
    /// The element's multi-index within that input.
    pub index: Vec<usize>,
    /// The tape's value.
    pub analytic: f64,
    /// The finite-difference value.
    pub numeric: f64,
    /// How many elements disagree in all.
    pub mismatches: usize,
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let which = if self.order == 1 {
            "gradient"
        } else {
            "second-order gradient"
        };
        write!(
            f,
            "{which} mismatch at input {} index {:?}: analytic {:e}, numeric {:e} (difference {:e}; {} element(s) disagree)",
            self.input,
            self.index,
            self.analytic,
            self.numeric,
            (self.analytic - self.numeric).abs(),
            self.mismatches
        )
    }
}

impl std::error::Error for GradcheckError {}

/// Checks the gradients of `f` at `inputs` against central finite differences.
///
/// `f` may return a var of any shape; it is projected on a fixed random tensor. See
/// [`CustomOp`](crate::CustomOp) for an example.
#[track_caller]
pub fn gradcheck(
    f: impl Fn(&[Var<f64>]) -> Var<f64>,
    inputs: &[Tensor<f64>],
) -> Result<(), GradcheckError> {
    gradcheck_with(f, inputs, &GradcheckOptions::default())
}

/// Checks the gradients of the gradients of `f` (see [`gradcheck`]): the function
/// x ↦ ⟨∇ₓ Σ f(x) ⊙ r, v⟩ is built with [`Var::grad_graph`] and checked in turn.
#[track_caller]
pub fn gradgradcheck(
    f: impl Fn(&[Var<f64>]) -> Var<f64>,
    inputs: &[Tensor<f64>],
) -> Result<(), GradcheckError> {
    gradgradcheck_with(f, inputs, &GradcheckOptions::default())
}

/// [`gradcheck`] with explicit options.
#[track_caller]
pub fn gradcheck_with(
    f: impl Fn(&[Var<f64>]) -> Var<f64>,
    inputs: &[Tensor<f64>],
    options: &GradcheckOptions,
) -> Result<(), GradcheckError> {
    check_inputs("gradcheck", inputs);
    check(1, &projected(f, options.seed), inputs, options)
}

/// [`gradgradcheck`] with explicit options.
#[track_caller]
pub fn gradgradcheck_with(
    f: impl Fn(&[Var<f64>]) -> Var<f64>,
    inputs: &[Tensor<f64>],
    options: &GradcheckOptions,
) -> Result<(), GradcheckError> {
    check_inputs("gradgradcheck", inputs);
    let loss = projected(f, options.seed);
    let mut rng = StdRng::seed_from_u64(options.seed.wrapping_add(1));
    let directions: Vec<Tensor<f64>> = inputs
        .iter()
        .map(|x| Tensor::rand_uniform(x.shape(), -1.0, 1.0, &mut rng))
        .collect();
    let grad_dot_v = |xs: &[Var<f64>]| {
        let l = loss(xs);
        let grads = if l.is_tracked() {
            l.grad_graph(&xs.iter().collect::<Vec<_>>())
        } else {
            xs.iter()
                .map(|x| x.constant(Tensor::zeros(x.shape())))
                .collect()
        };
        grads
            .iter()
            .zip(&directions)
            .map(|(g, v)| (g * &g.constant(v.clone())).sum_all())
            .reduce(|a, b| &a + &b)
            .expect("at least one input")
    };
    check(2, &grad_dot_v, inputs, options)
}

/// Panics unless there is something to check: a check of no inputs would pass vacuously.
#[track_caller]
fn check_inputs(op: &str, inputs: &[Tensor<f64>]) {
    if inputs.is_empty() {
        fail(op, "no inputs to check; pass at least one input tensor");
    }
}

/// `f` projected to a scalar: x ↦ Σ f(x) ⊙ r, with r drawn once from `seed` for each output shape.
fn projected(f: impl Fn(&[Var<f64>]) -> Var<f64>, seed: u64) -> impl Fn(&[Var<f64>]) -> Var<f64> {
    move |xs: &[Var<f64>]| {
        let y = f(xs);
        let mut rng = StdRng::seed_from_u64(seed);
        let r = Tensor::rand_uniform(y.shape(), -1.0, 1.0, &mut rng);
        (&y * &y.constant(r)).sum_all()
    }
}

/// Compares the tape's gradient of the scalar function `loss` with finite differences.
///
/// Generic over `loss` rather than taking a `dyn Fn`: a concrete f64 body here would make this
/// crate compile every op's f64 gradient rule (and its kernels) whether or not a user ever calls
/// a gradient check; generic, that code is built only in the crates that do.
fn check(
    order: usize,
    loss: &impl Fn(&[Var<f64>]) -> Var<f64>,
    inputs: &[Tensor<f64>],
    options: &GradcheckOptions,
) -> Result<(), GradcheckError> {
    let tape = Tape::new();
    let xs: Vec<Var<f64>> = inputs.iter().map(|x| tape.var(x.contiguous())).collect();
    let l = loss(&xs);
    let analytic: Vec<Vec<f64>> = if l.is_tracked() {
        let grads = l.backward();
        xs.iter().map(|x| grads[x].to_vec()).collect()
    } else {
        inputs.iter().map(|x| vec![0.0; x.numel()]).collect()
    };

    let evaluate = |values: &[Tensor<f64>]| {
        let tape = Tape::new();
        let xs: Vec<Var<f64>> = values.iter().map(|x| tape.var(x.clone())).collect();
        loss(&xs).value().item()
    };
    let mut worst: Option<(f64, GradcheckError)> = None;
    let mut mismatches = 0;
    for (i, input) in inputs.iter().enumerate() {
        let base = input.to_vec();
        for j in 0..base.len() {
            let at = |delta: f64| {
                let mut values: Vec<Tensor<f64>> = inputs.to_vec();
                let mut data = base.clone();
                data[j] += delta;
                values[i] = Tensor::from_vec(data, input.shape());
                evaluate(&values)
            };
            let numeric = (at(options.eps) - at(-options.eps)) / (2.0 * options.eps);
            let a = analytic[i][j];
            let excess = (a - numeric).abs() - (options.atol + options.rtol * numeric.abs());
            // A NaN on either side is the worst mismatch.
            let excess = if excess.is_nan() {
                f64::INFINITY
            } else {
                excess
            };
            if excess > 0.0 {
                mismatches += 1;
                if worst.as_ref().is_none_or(|(w, _)| excess > *w) {
                    let index = unravel(j, input.shape());
                    let error = GradcheckError {
                        order,
                        input: i,
                        index,
                        analytic: a,
                        numeric,
                        mismatches: 0,
                    };
                    worst = Some((excess, error));
                }
            }
        }
    }
    match worst {
        Some((_, error)) => Err(GradcheckError {
            mismatches,
            ..error
        }),
        None => Ok(()),
    }
}

fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (i, &d) in shape.iter().enumerate().rev() {
        index[i] = flat % d;
        flat /= d;
    }
    index
}
