//! An op of your own, with its own backward: Mish, mish(x) = x·tanh(softplus(x)), a smooth
//! activation that shendu does not ship. A `CustomOp` gives its value on tensors (`forward`) and
//! its gradient rule (`backward`), the rule written with `Var` ops so that gradients of
//! gradients work too:
//!
//!   mish'(x) = w + x·(1 − w²)·σ(x),  where w = tanh(softplus(x)) and σ is the sigmoid.
//!
//! The op is then proven as shendu proves its own: `gradcheck` and `gradgradcheck` against
//! finite differences at fixed points, and a proptest property test on 64 random tensors (fixed
//! seed) of the value and both derivatives; a failure prints the smallest failing input and
//! exits with an error. Last, the op is the activation of a small network fit to sin(x), to
//! show that it trains like a built-in op. `tests/integration/custom_op.rs` runs the same checks.
//!
//! cargo run --release --example custom_op

use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRunner};
use shendu::autograd::strategies::tensor;
use shendu::nn::{Visit, VisitMut};
use shendu::prelude::*;

/// Mish: x·tanh(softplus(x)), softplus(x) = ln(1 + eˣ) computed without overflow.
pub struct Mish;

impl<T: Element> CustomOp<T> for Mish {
    fn name(&self) -> &str {
        "mish"
    }

    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        inputs[0].mul(&inputs[0].softplus().tanh())
    }

    fn backward(&self, inputs: &[Var<T>], _output: &Var<T>, grad: &Var<T>) -> Vec<Option<Var<T>>> {
        let x = &inputs[0];
        let w = x.softplus().tanh();
        let one_minus_w2 = w.square().neg().add_scalar(T::one());
        let slope = &w + &(&(x * &one_minus_w2) * &x.sigmoid());
        vec![Some(grad * &slope)]
    }
}

/// Mish of `x`, recorded on `x`'s tape like any op.
pub fn mish<T: Element>(x: &Var<T>) -> Var<T> {
    Var::custom(Mish, &[x])
}

/// Checks `op` as shendu checks its own ops, printing each step: [`check_fixed_points`], then
/// the [`property_test`] over `cases` random tensors. The first failure is the error.
pub fn check_op(op: fn(&Var<f64>) -> Var<f64>, cases: u32) -> Result<(), String> {
    check_fixed_points(op)?;
    println!("gradcheck and gradgradcheck at 41 points in [-20, 20]: ok");
    property_test(op, cases)?;
    println!("property test: {cases} cases ok (value, gradient and second derivative)");
    Ok(())
}

/// First and second derivatives of `op` against finite differences at points from −20 to 20,
/// and finite values far out, where a naive ln(1 + eˣ) would overflow.
pub fn check_fixed_points(op: fn(&Var<f64>) -> Var<f64>) -> Result<(), String> {
    let far = op(&Tape::new().var(Tensor::from_vec(vec![-1e4, 1e4], [2]))).to_vec();
    if far != [0.0, 1e4] {
        return Err(format!("mish(±1e4) = {far:?}, expected [0, 10000]"));
    }
    let x = [Tensor::linspace(-20.0, 20.0, 41)];
    let f = |v: &[Var<f64>]| op(&v[0]);
    gradcheck(f, &x).map_err(|e| format!("gradcheck: {e}"))?;
    gradgradcheck(f, &x).map_err(|e| format!("gradgradcheck: {e}"))
}

/// The property test: on `cases` random tensors (rank ≤ 3, values in ±8), `op` agrees with
/// x·tanh(ln(1 + eˣ)) computed element by element, and passes gradcheck and gradgradcheck. On
/// failure, the error shows the smallest failing tensor that proptest shrank the case to.
pub fn property_test(op: fn(&Var<f64>) -> Var<f64>, cases: u32) -> Result<(), String> {
    let config = Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(9),
        failure_persistence: None,
        ..Config::default()
    };
    let fail = |message: String| TestCaseError::fail(message);
    let property = |x: Tensor<f64>| {
        let value = op(&Tape::new().var(x.clone())).to_vec();
        for (v, y) in x.to_vec().iter().zip(value) {
            let expected = v * v.exp().ln_1p().tanh();
            if (y - expected).abs() > 1e-12 * (1.0 + expected.abs()) {
                return Err(fail(format!("mish({v}) = {y}, expected {expected}")));
            }
        }
        let f = |v: &[Var<f64>]| op(&v[0]);
        let x = [x];
        gradcheck(f, &x).map_err(|e| fail(format!("gradcheck: {e}")))?;
        gradgradcheck(f, &x).map_err(|e| fail(format!("gradgradcheck: {e}")))
    };
    match TestRunner::new(config).run(&tensor::<f64>(3, 4, -8.0..8.0), property) {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, smallest)) => Err(format!(
            "property test failed: {reason}\nsmallest failing input: {smallest}"
        )),
        Err(TestError::Abort(reason)) => Err(format!("property test aborted: {reason}")),
    }
}

/// y = out(mish(hidden(x))): one hidden layer whose activation is the custom op.
struct MishNet {
    hidden: Linear,
    out: Linear,
}

impl Module for MishNet {
    fn visit(&self, v: &mut Visit<'_>) {
        v.module("hidden", &self.hidden);
        v.module("out", &self.out);
    }
    fn visit_mut(&mut self, v: &mut VisitMut<'_>) {
        v.module("hidden", &mut self.hidden);
        v.module("out", &mut self.out);
    }
}

impl Forward for MishNet {
    fn forward(&self, x: &Var) -> Var {
        self.out.forward(&mish(&self.hidden.forward(x)))
    }
}

fn main() {
    if let Err(message) = check_op(mish, 64) {
        eprintln!("{message}");
        std::process::exit(1);
    }

    // The op in use: a 1→16→1 network with Mish as its activation, fit to sin on [−3, 3].
    let mut rng = StdRng::seed_from_u64(0);
    let x = Tensor::linspace(-3.0, 3.0, 32).reshape([32, 1]);
    let y = x.sin();
    let mut net = MishNet {
        hidden: Linear::new(1, 16, &mut rng),
        out: Linear::new(16, 1, &mut rng),
    };
    let mut opt = Adam::new(0.01);
    println!("\nfitting sin(x) with a 1→16→1 network whose activation is mish:");
    for step in 1..=2000 {
        let (loss, grads) = net.value_and_grad(|tape, net| {
            let out = net.forward(&tape.constant(x.clone()));
            loss::mse(&out, &tape.constant(y.clone()))
        });
        opt.step(&mut net, &grads);
        if [1, 10, 100, 1000, 2000].contains(&step) {
            println!("  step {step:>4}: mean squared error {loss:.6}");
        }
    }
    let probe = Tensor::from_vec(vec![-2.5, -1.0, 0.0, 1.0, 2.5], [5, 1]);
    let (sin, fit) = (probe.sin().to_vec(), net.predict(&probe).to_vec());
    println!("     x  sin(x)  network");
    for ((x, s), p) in probe.to_vec().iter().zip(sin).zip(fit) {
        println!("  {x:>4.1}  {s:>6.3}  {p:>7.3}");
    }
}
