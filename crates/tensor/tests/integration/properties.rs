//! Property tests of elementwise ops: random shapes (rank 0–4, dims 0–5), random values
//! (±0, ±∞, NaN and ±1e4 included), broadcastable pairs and non-contiguous views, compared with
//! the plain references in `common`. They must match bit for bit, since they compute the same
//! scalar function.
//!
//! Each op family is one enum, and the op and its reference are two `match`es without a `_` arm,
//! so adding a variant without a reference does not compile; and the enums are the op lists: a
//! scan of `src/unary.rs` and `src/binary.rs` checks that every public elementwise method of
//! `Tensor` is a variant (or is listed as tested elsewhere), so a new op without a value test
//! fails.

use crate::common;
#[path = "../../../../tests/source_scan/mod.rs"]
mod source_scan;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use shendu_tensor::{Element, Tensor};

/// A tensor with a scalar on the left of an operator, and that operator on one element.
type ScalarLeftCase = (Tensor<f32>, fn(f32) -> f32);

fn mask<T: Element>(c: bool) -> T {
    if c {
        T::one()
    } else {
        T::zero()
    }
}

// ----------------------------------------------------------------------------------------------
// Binary ops
// ----------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Maximum,
    Minimum,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    OpAdd,
    OpSub,
    OpMul,
    OpDiv,
}

const BINARY: [Binary; 17] = [
    Binary::Add,
    Binary::Sub,
    Binary::Mul,
    Binary::Div,
    Binary::Pow,
    Binary::Maximum,
    Binary::Minimum,
    Binary::Eq,
    Binary::Ne,
    Binary::Lt,
    Binary::Le,
    Binary::Gt,
    Binary::Ge,
    Binary::OpAdd,
    Binary::OpSub,
    Binary::OpMul,
    Binary::OpDiv,
];

impl Binary {
    fn apply<T: Element>(self, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
        match self {
            Binary::Add => a.add(b),
            Binary::Sub => a.sub(b),
            Binary::Mul => a.mul(b),
            Binary::Div => a.div(b),
            Binary::Pow => a.pow(b),
            Binary::Maximum => a.maximum(b),
            Binary::Minimum => a.minimum(b),
            Binary::Eq => a.eq(b),
            Binary::Ne => a.ne(b),
            Binary::Lt => a.lt(b),
            Binary::Le => a.le(b),
            Binary::Gt => a.gt(b),
            Binary::Ge => a.ge(b),
            Binary::OpAdd => a + b,
            Binary::OpSub => a - b,
            Binary::OpMul => a * b,
            Binary::OpDiv => a / b,
        }
    }

    fn reference<T: Element>(self, x: T, y: T) -> T {
        match self {
            Binary::Add | Binary::OpAdd => x + y,
            Binary::Sub | Binary::OpSub => x - y,
            Binary::Mul | Binary::OpMul => x * y,
            Binary::Div | Binary::OpDiv => x / y,
            Binary::Pow => x.powf(y),
            Binary::Maximum => {
                if x.is_nan() || y.is_nan() {
                    T::nan()
                } else if x > y {
                    x
                } else {
                    y
                }
            }
            Binary::Minimum => {
                if x.is_nan() || y.is_nan() {
                    T::nan()
                } else if x < y {
                    x
                } else {
                    y
                }
            }
            Binary::Eq => mask(x == y),
            Binary::Ne => mask(x != y),
            Binary::Lt => mask(x < y),
            Binary::Le => mask(x <= y),
            Binary::Gt => mask(x > y),
            Binary::Ge => mask(x >= y),
        }
    }

    /// Whether `got` is an acceptable result for `want`: the same bits, except that the
    /// maximum of +0 and −0 may be either zero.
    fn agrees<T: Element>(self, got: T, want: T) -> bool {
        same_bits(got, want) || (matches!(self, Binary::Maximum | Binary::Minimum) && got == want)
    }
}

fn check_binary<T: Element>(a: &ViewSpec, b: &ViewSpec) -> Result<(), TestCaseError> {
    let (ta, tb) = (a.tensor::<T>(), b.tensor::<T>());
    let (va, vb) = (a.values_as::<T>(), b.values_as::<T>());
    let (sa, sb) = (a.shape(), b.shape());
    // The views themselves read in the reference's order.
    prop_assert_eq!(ta.shape(), &sa[..]);
    prop_assert!(
        ta.to_vec().iter().zip(&va).all(|(&g, &w)| same_bits(g, w)),
        "view reads wrong values"
    );
    for op in BINARY {
        let got = op.apply(&ta, &tb);
        let (shape, want) = zip_ref((&va, &sa), (&vb, &sb), |x, y| op.reference(x, y));
        prop_assert_eq!(got.shape(), &shape[..], "{:?}: {:?} with {:?}", op, sa, sb);
        prop_assert!(got.is_contiguous());
        let got = got.to_vec();
        for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
            prop_assert!(
                op.agrees(g, w),
                "{:?} of {:?} and {:?}: element {} is {:?}, want {:?}",
                op,
                sa,
                sb,
                i,
                g,
                w
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn binary_ops_match_the_reference_f64((a, b) in broadcast_pair(Values::Any)) {
        check_binary::<f64>(&a, &b)?;
    }

    #[test]
    fn binary_ops_match_the_reference_f32((a, b) in broadcast_pair(Values::Any)) {
        check_binary::<f32>(&a, &b)?;
    }

    #[test]
    fn where_cond_matches_the_reference(
        (m, a, b) in broadcast_triple(Values::Any),
        mask_values in prop::collection::vec(prop::sample::select(vec![0.0, -0.0, 1.0, -2.0, f64::NAN]), 0..=625),
    ) {
        // The mask takes its values from a small set so that both sides get picked.
        let mut m = m;
        let n = m.base.len();
        m.base = (0..n).map(|i| mask_values.get(i).copied().unwrap_or(if i % 2 == 0 { 0.0 } else { 1.0 })).collect();
        let (tm, ta, tb) = (m.tensor::<f32>(), a.tensor::<f32>(), b.tensor::<f32>());
        let got = Tensor::where_cond(&tm, &ta, &tb);
        let (vm, va, vb) = (m.values_as::<f32>(), a.values_as::<f32>(), b.values_as::<f32>());
        let (sm, sa, sb) = (m.shape(), a.shape(), b.shape());
        let shape = broadcast_ref(&broadcast_ref(&sm, &sa).unwrap(), &sb).unwrap();
        prop_assert_eq!(got.shape(), &shape[..]);
        let got = got.to_vec();
        for (flat, &g) in got.iter().enumerate() {
            let index = unravel(flat, &shape);
            let want = if broadcast_get(&vm, &sm, &index) != 0.0 {
                broadcast_get(&va, &sa, &index)
            } else {
                broadcast_get(&vb, &sb, &index)
            };
            prop_assert!(same_bits(g, want), "element {}: got {}, want {}", flat, g, want);
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Unary ops
// ----------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Unary {
    Neg,
    Abs,
    Exp,
    Ln,
    Sqrt,
    Square,
    Recip,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Relu,
    LeakyRelu,
    Gelu,
    Softplus,
    Clamp,
    Sign,
    Powf,
    Erf,
    Log,
    OpNeg,
    AddScalar,
    SubScalar,
    MulScalar,
    DivScalar,
    Contiguous,
}

const UNARY: [Unary; 26] = [
    Unary::Neg,
    Unary::Abs,
    Unary::Exp,
    Unary::Ln,
    Unary::Sqrt,
    Unary::Square,
    Unary::Recip,
    Unary::Sin,
    Unary::Cos,
    Unary::Tanh,
    Unary::Sigmoid,
    Unary::Relu,
    Unary::LeakyRelu,
    Unary::Gelu,
    Unary::Softplus,
    Unary::Clamp,
    Unary::Sign,
    Unary::Powf,
    Unary::Erf,
    Unary::Log,
    Unary::OpNeg,
    Unary::AddScalar,
    Unary::SubScalar,
    Unary::MulScalar,
    Unary::DivScalar,
    Unary::Contiguous,
];

impl Unary {
    fn apply<T: Element>(self, t: &Tensor<T>) -> Tensor<T> {
        let c = |x: f64| T::from_f64_lossy(x);
        match self {
            Unary::Neg => t.neg(),
            Unary::Abs => t.abs(),
            Unary::Exp => t.exp(),
            Unary::Ln => t.ln(),
            Unary::Sqrt => t.sqrt(),
            Unary::Square => t.square(),
            Unary::Recip => t.recip(),
            Unary::Sin => t.sin(),
            Unary::Cos => t.cos(),
            Unary::Tanh => t.tanh(),
            Unary::Sigmoid => t.sigmoid(),
            Unary::Relu => t.relu(),
            Unary::LeakyRelu => t.leaky_relu(c(0.01)),
            Unary::Gelu => t.gelu(),
            Unary::Softplus => t.softplus(),
            Unary::Clamp => t.clamp(c(-1.5), c(2.0)),
            Unary::Sign => t.sign(),
            Unary::Powf => t.powf(c(3.0)),
            Unary::Erf => t.erf(),
            Unary::Log => t.log(),
            Unary::OpNeg => -t,
            Unary::AddScalar => t + c(2.5),
            Unary::SubScalar => t - c(2.5),
            Unary::MulScalar => t * c(-3.0),
            Unary::DivScalar => t / c(7.0),
            Unary::Contiguous => t.contiguous(),
        }
    }

    fn reference<T: Element>(self, x: T) -> T {
        let c = |x: f64| T::from_f64_lossy(x);
        let zero = T::zero();
        match self {
            Unary::Neg | Unary::OpNeg => -x,
            Unary::Abs => x.abs(),
            // Within an ulp of f64's exp, checked over the f32 range in `cpu::math`.
            Unary::Exp => shendu_tensor::Element::exp_accurate(x),
            Unary::Ln | Unary::Log => x.ln(),
            // Pinned to known values in elementwise.rs.
            Unary::Erf => shendu_tensor::Element::erf(x),
            Unary::Sqrt => x.sqrt(),
            Unary::Square => x * x,
            Unary::Recip => T::one() / x,
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Tanh => shendu_tensor::Element::tanh_accurate(x),
            // The stable scalar forms are public; their values are pinned in elementwise.rs
            // and against naive formulas below.
            Unary::Sigmoid => shendu_tensor::sigmoid(x),
            Unary::Gelu => shendu_tensor::gelu(x),
            Unary::Softplus => shendu_tensor::softplus(x),
            Unary::Relu => {
                if x < zero {
                    zero
                } else {
                    x
                }
            }
            Unary::LeakyRelu => {
                if x < zero {
                    c(0.01) * x
                } else {
                    x
                }
            }
            Unary::Clamp => {
                if x.is_nan() {
                    x
                } else if x < c(-1.5) {
                    c(-1.5)
                } else if x > c(2.0) {
                    c(2.0)
                } else {
                    x
                }
            }
            Unary::Sign => {
                if x.is_nan() || x == zero {
                    x
                } else if x > zero {
                    T::one()
                } else {
                    -T::one()
                }
            }
            Unary::Powf => x.powf(c(3.0)),
            Unary::AddScalar => x + c(2.5),
            Unary::SubScalar => x - c(2.5),
            Unary::MulScalar => x * c(-3.0),
            Unary::DivScalar => x / c(7.0),
            Unary::Contiguous => x,
        }
    }
}

fn check_unary<T: Element>(v: &ViewSpec) -> Result<(), TestCaseError> {
    let t = v.tensor::<T>();
    let values = v.values_as::<T>();
    let shape = v.shape();
    for op in UNARY {
        let got = op.apply(&t);
        prop_assert_eq!(got.shape(), &shape[..], "{:?}", op);
        prop_assert!(got.is_contiguous());
        for (i, (&g, &x)) in got.to_vec().iter().zip(&values).enumerate() {
            let w = op.reference(x);
            prop_assert!(
                same_bits(g, w),
                "{:?} of {:?} (element {}): got {:?}, want {:?}",
                op,
                x,
                i,
                g,
                w
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn unary_ops_on_views_match_the_scalar_function_f64(v in any_view(Values::Any)) {
        check_unary::<f64>(&v)?;
    }

    #[test]
    fn unary_ops_on_views_match_the_scalar_function_f32(v in any_view(Values::Any)) {
        check_unary::<f32>(&v)?;
    }

    #[test]
    fn scalar_on_the_left_matches_the_scalar_function(v in any_view(Values::Any)) {
        let (t, x) = (v.tensor::<f32>(), v.values_as::<f32>());
        let cases: [ScalarLeftCase; 4] = [
            (2.0 - &t, |x| 2.0 - x),
            (2.0 / &t, |x| 2.0 / x),
            (2.0 + &t, |x| 2.0 + x),
            (-0.5 * &t, |x| -0.5 * x),
        ];
        for (k, (got, f)) in cases.iter().enumerate() {
            prop_assert_eq!(got.shape(), &v.shape()[..]);
            let want: Vec<f32> = x.iter().map(|&x| f(x)).collect();
            prop_assert!(got.to_vec().iter().zip(&want).all(|(&g, &w)| same_bits(g, w)), "case {}", k);
        }
        let (t, x) = (v.tensor::<f64>(), v.values_as::<f64>());
        let got = (1.0 - &t).to_vec();
        prop_assert!(got.iter().zip(&x).all(|(&g, &x)| same_bits(g, 1.0 - x)));
    }

    #[test]
    fn stable_activations_match_naive_formulas_where_those_are_safe(x in -30.0..30.0f64) {
        let tol = |want: f64, rel: f64| rel * want.abs().max(1e-300);
        let t = Tensor::scalar(x);
        let sigmoid = 1.0 / (1.0 + (-x).exp());
        prop_assert!((t.sigmoid().item() - sigmoid).abs() <= tol(sigmoid, 1e-14));
        let softplus = x.exp().ln_1p();
        prop_assert!((t.softplus().item() - softplus).abs() <= tol(softplus, 1e-14));
        // Φ(x) + Φ(−x) = 1, so gelu(x) − gelu(−x) = x; and gelu(x) lies between min(x, 0)
        // and max(x, 0).
        let (g, gm) = (t.gelu().item(), Tensor::scalar(-x).gelu().item());
        prop_assert!((g - gm - x).abs() <= 1e-14 * (1.0 + x.abs()), "gelu({}) = {}, gelu(-x) = {}", x, g, gm);
        prop_assert!(g >= x.min(0.0) && g <= x.max(0.0));
        // f32 agrees with the f64 value to f32 precision.
        let t32 = Tensor::scalar(x as f32);
        let x32 = (x as f32) as f64;
        let sigmoid = 1.0 / (1.0 + (-x32).exp());
        prop_assert!((t32.sigmoid().item() as f64 - sigmoid).abs() <= tol(sigmoid, 1e-6));
        let softplus = x32.exp().ln_1p();
        prop_assert!((t32.softplus().item() as f64 - softplus).abs() <= tol(softplus, 1e-6));
        let (g, gm) = (t32.gelu().item() as f64, Tensor::scalar(-x as f32).gelu().item() as f64);
        prop_assert!((g - gm - x32).abs() <= 1e-6 * (1.0 + x32.abs()));
    }
}

// ----------------------------------------------------------------------------------------------
// The lists are the ops
// ----------------------------------------------------------------------------------------------

/// Public elementwise methods of `Tensor` whose values are tested elsewhere, not by the enums.
const TESTED_ELSEWHERE: &[&str] = &[
    // The building blocks every op above goes through, with user functions in elementwise.rs.
    "map",
    "zip_with",
    // With views and broadcasting in elementwise.rs; where_cond's property test goes through it.
    "zip3_with",
    // Its own property test above.
    "where_cond",
    // A tolerance test folding to one bool, in indexing.rs.
    "allclose",
];

/// `LeakyRelu` → `leaky_relu`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[test]
fn every_public_elementwise_method_has_a_value_test() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut methods = source_scan::methods_in_file(&src.join("unary.rs"), "Tensor");
    methods.extend(source_scan::methods_in_file(
        &src.join("binary.rs"),
        "Tensor",
    ));
    assert!(
        methods.contains("exp") && methods.contains("add"),
        "{methods:?}"
    );
    let listed: Vec<String> = UNARY
        .iter()
        .map(|op| snake_case(&format!("{op:?}")))
        .chain(BINARY.iter().map(|op| snake_case(&format!("{op:?}"))))
        .collect();
    let untested: Vec<&String> = methods
        .iter()
        .filter(|m| !listed.contains(m) && !TESTED_ELSEWHERE.contains(&m.as_str()))
        .collect();
    assert!(
        untested.is_empty(),
        "public elementwise methods of Tensor without a value test: {untested:?}; add a variant \
         to the Unary or Binary enum of this file (or to TESTED_ELSEWHERE, naming the test)"
    );
    let stale: Vec<&&str> = TESTED_ELSEWHERE
        .iter()
        .filter(|m| !methods.contains(**m))
        .collect();
    assert!(stale.is_empty(), "not public methods of Tensor: {stale:?}");
}
