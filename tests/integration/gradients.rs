//! The gradient of every differentiable op on `Var`, checked against finite differences.
//!
//! One property test walks `OpKind::ALL`. [`case`] maps each kind to the inputs it draws (random
//! shapes, broadcasting for binary ops, values in the op's domain and away from its kinks,
//! transposed or narrowed operands a third of the time) and the function that applies the op;
//! its `match` has no `_` arm, so a new kind without a case does not compile. Each drawn case
//! passes three checks, with PyTorch's tolerances:
//!
//! - `gradcheck(f)`: the tape's gradient against central differences;
//! - `gradgradcheck(f)`: the second derivative, through `grad_graph`;
//! - `gradgradcheck(f²)`: for an op linear in its inputs the second derivative of f is zero and
//!   the incoming gradient of its rule a constant, so the recorded rule would never itself be
//!   differentiated; squaring the output makes the incoming gradient depend on the inputs.
//!
//! The checks are themselves checked: three deliberately wrong custom rules must each be caught
//! by one of them. `tests/integration/op_lists.rs` checks that every public method of `Var` is an `OpKind`
//! or has no derivative, so a differentiable method cannot be added without being tested here.
//!
//! `PROPTEST_CASES` and `PROPTEST_RNG_SEED` change the number of cases per op (48) and the seed
//! (0) for a deeper run.

use std::fmt;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use shendu::autograd::strategies::{self as st, View};
use shendu::autograd::{gradcheck, gradgradcheck, CustomOp, GradcheckError, OpKind, Var};
use shendu::tensor::{broadcast_shapes, Correction, Indices, Tensor};

/// Largest rank and dimension of the drawn inputs: small, since a check costs two evaluations
/// per input element.
const RANK: usize = 3;
const DIM: usize = 4;
/// Spacing of the values drawn for ops with kinks or ties (see `strategies::separated`).
const SPACING: f64 = 0.5;
/// Cases per op, unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 48;

// ---------------------------------------------------------------------------------------------
// What a case is
// ---------------------------------------------------------------------------------------------

/// One input: contiguous storage, and the view of it that the op sees.
type Arg = (Tensor<f64>, View);

/// A drawn instance of an op: its inputs, its parameters (for the failure message) and the
/// function applying it to the viewed inputs.
struct Check {
    inputs: Vec<Arg>,
    params: String,
    op: ApplyOp,
}

/// The function applying an op to its viewed inputs.
type ApplyOp = Rc<dyn Fn(&[Var<f64>]) -> Var<f64>>;

/// The inputs (and parameters) an op is checked at.
type Case = BoxedStrategy<Check>;

impl Check {
    fn run(&self, kind: OpKind) -> Result<(), TestCaseError> {
        // gradcheck hands `f` fresh contiguous vars; the views are applied on the tape.
        let storage: Vec<Tensor<f64>> = self.inputs.iter().map(|(t, _)| t.clone()).collect();
        let f = |xs: &[Var<f64>]| {
            let viewed: Vec<Var<f64>> = xs
                .iter()
                .zip(&self.inputs)
                .map(|(x, (_, view))| view.apply_var(x))
                .collect();
            (self.op)(&viewed)
        };
        // A failure names the op and the check; a panic inside a check (a shape error from a
        // rule) is reported the same way rather than as a bare panic.
        let guard = |check: &str, run: &dyn Fn() -> Result<(), GradcheckError>| {
            let problem = match panic::catch_unwind(AssertUnwindSafe(run)) {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => e.to_string(),
                Err(payload) => {
                    let message = payload
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| payload.downcast_ref::<&str>().copied())
                        .unwrap_or("(no message)");
                    format!("panicked: {message}")
                }
            };
            Err(TestCaseError::fail(format!(
                "{kind:?} (Var::{}): {check}: {problem}",
                kind.method_name()
            )))
        };
        guard("gradcheck of f", &|| gradcheck(f, &storage))?;
        guard("gradgradcheck of f", &|| gradgradcheck(f, &storage))?;
        guard("gradgradcheck of f²", &|| {
            gradgradcheck(|xs: &[Var<f64>]| f(xs).square(), &storage)
        })?;
        Ok(())
    }
}

impl fmt::Debug for Check {
    /// The parameters and each input in full precision, ready to paste into a reproduction.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "params {}", self.params)?;
        for (i, (storage, view)) in self.inputs.iter().enumerate() {
            let x = view.apply(storage);
            write!(
                f,
                "\n    x{i}: shape {:?} ({view:?} of {:?}) = {:?}",
                x.shape(),
                storage.shape(),
                x.to_vec()
            )?;
        }
        Ok(())
    }
}

/// A case from a strategy for the logical input tensors and the op's parameters `P`, and the op
/// applied to the (viewed) inputs. Each input is used as drawn two times in three, and as a
/// transposed, narrowed or every-other-element view of a larger storage otherwise.
fn case_of<P: Clone + fmt::Debug + 'static>(
    draw: impl Strategy<Value = (Vec<Tensor<f64>>, P)> + 'static,
    op: fn(&[Var<f64>], &P) -> Var<f64>,
) -> Case {
    draw.prop_flat_map(|(tensors, params)| {
        (
            tensors.into_iter().map(arg).collect::<Vec<_>>(),
            Just(params),
        )
    })
    .prop_map(move |(inputs, params)| Check {
        inputs,
        params: format!("{params:?}"),
        op: Rc::new(move |xs: &[Var<f64>]| op(xs, &params)),
    })
    .boxed()
}

fn arg(t: Tensor<f64>) -> BoxedStrategy<Arg> {
    prop_oneof![2 => Just((t.clone(), View::Whole)), 1 => st::strided_view(Just(t))].boxed()
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/// A tensor of rank 0..=RANK with values in `range`.
fn values(range: Range<f64>) -> BoxedStrategy<Tensor<f64>> {
    st::tensor(RANK, DIM, range).boxed()
}

/// A tensor of rank 1..=RANK (for ops that take an axis).
fn values_with_axes(range: Range<f64>) -> BoxedStrategy<Tensor<f64>> {
    vec(1..=DIM, 1..=RANK)
        .prop_flat_map(move |s| st::tensor_of_shape(&s, range.clone()))
        .boxed()
}

/// A tensor whose values are distinct, well apart and away from 0 and the multiples of SPACING:
/// no finite difference crosses a kink or a tie.
fn separated_values(
    shape: impl Strategy<Value = Vec<usize>> + 'static,
) -> BoxedStrategy<Tensor<f64>> {
    shape
        .prop_flat_map(|s| st::separated(vec![s], SPACING))
        .prop_map(|mut t| t.remove(0))
        .boxed()
}

/// A dense layer's operands: x of rank 1 to 3 (`[…, in]`), a weight `[out, in]` and, half the
/// time, a bias `[out]`; the parameter says whether there is a bias.
fn dense_operands() -> impl Strategy<Value = (Vec<Tensor<f64>>, bool)> {
    (vec(1..=DIM, 0..=2), 1..=DIM, 1..=DIM, any::<bool>())
        .prop_flat_map(|(leading, inputs, outputs, with_bias)| {
            let x_shape: Vec<usize> = leading.into_iter().chain([inputs]).collect();
            (
                st::tensor_of_shape(&x_shape, -2.0..2.0),
                st::tensor_of_shape(&[outputs, inputs], -2.0..2.0),
                st::tensor_of_shape(&[outputs], -2.0..2.0),
                Just(with_bias),
            )
        })
        .prop_map(|(x, w, b, with_bias)| match with_bias {
            true => (vec![x, w, b], true),
            false => (vec![x, w], false),
        })
}

/// One input, no parameters.
fn one(values: BoxedStrategy<Tensor<f64>>) -> impl Strategy<Value = (Vec<Tensor<f64>>, ())> {
    values.prop_map(|t| (vec![t], ()))
}

/// One input and a parameter.
fn one_with<P: Clone + fmt::Debug>(
    values: BoxedStrategy<Tensor<f64>>,
    params: impl Strategy<Value = P>,
) -> impl Strategy<Value = (Vec<Tensor<f64>>, P)> {
    (values, params).prop_map(|(t, p)| (vec![t], p))
}

/// Two inputs whose shapes broadcast together, with values in `a` and `b`.
fn pair(a: Range<f64>, b: Range<f64>) -> impl Strategy<Value = (Vec<Tensor<f64>>, ())> {
    st::broadcastable_shapes(RANK, DIM)
        .prop_flat_map(move |(sa, sb)| {
            (
                st::tensor_of_shape(&sa, a.clone()),
                st::tensor_of_shape(&sb, b.clone()),
            )
        })
        .prop_map(|(a, b)| (vec![a, b], ()))
}

/// Two inputs whose shapes broadcast together, with all values distinct and well apart.
fn separated_pair() -> impl Strategy<Value = (Vec<Tensor<f64>>, ())> {
    st::broadcastable_shapes(RANK, DIM)
        .prop_flat_map(|(a, b)| st::separated(vec![a, b], SPACING))
        .prop_map(|tensors| (tensors, ()))
}

/// One input of rank ≥ 1 and an axis of it.
fn with_axis(
    values: BoxedStrategy<Tensor<f64>>,
) -> impl Strategy<Value = (Vec<Tensor<f64>>, usize)> {
    (values, any::<Index>()).prop_map(|(t, axis)| {
        let axis = axis.index(t.rank());
        (vec![t], axis)
    })
}

/// One input, a random subset of its axes (possibly none, possibly all) and `keepdim`.
fn with_axes(
    values: BoxedStrategy<Tensor<f64>>,
) -> impl Strategy<Value = (Vec<Tensor<f64>>, (Vec<usize>, bool))> {
    (values, vec(any::<bool>(), RANK), any::<bool>()).prop_map(|(t, pick, keepdim)| {
        let axes = (0..t.rank()).filter(|&a| pick[a]).collect();
        (vec![t], (axes, keepdim))
    })
}

/// Row-major grouping of `factors` into a shape: a new axis starts wherever `cuts` says.
fn group(factors: &[usize], cuts: &[bool]) -> Vec<usize> {
    let mut shape: Vec<usize> = Vec::new();
    for (&f, &cut) in factors.iter().zip(cuts) {
        match shape.last_mut() {
            Some(last) if !cut => *last *= f,
            _ => shape.push(f),
        }
    }
    shape
}

/// Indices for `gather`/`scatter_add` into `shape` along `axis`, from plain draws (so that they
/// shrink well): no larger than `shape` on the other axes and of any length along `axis`
/// (`sizes` picks each), with values in range picked by `picks` (duplicates are likely).
fn index_tensor(shape: &[usize], axis: usize, sizes: &[Index], picks: &[Index]) -> Indices {
    let idx_shape: Vec<usize> = (0..shape.len())
        .map(|d| 1 + sizes[d].index(if d == axis { DIM } else { shape[d] }))
        .collect();
    let n: usize = idx_shape.iter().product();
    let values = picks[..n].iter().map(|i| i.index(shape[axis])).collect();
    Indices::from_vec(values, &idx_shape[..])
}

/// Draws for [`index_tensor`]: sizes, then enough picks for the largest index tensor.
fn index_draws() -> impl Strategy<Value = (Vec<Index>, Vec<Index>)> {
    (
        vec(any::<Index>(), RANK),
        vec(any::<Index>(), DIM.pow(RANK as u32)),
    )
}

/// The pieces of a split, each scaled by a different weight and joined again: every piece
/// reaches the output, and a piece's gradient cannot be mistaken for another's.
fn rejoin(pieces: Vec<Var<f64>>, axis: usize) -> Var<f64> {
    let weighted: Vec<Var<f64>> = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| p.mul_scalar((i + 1) as f64))
        .collect();
    Var::concat(&weighted.iter().collect::<Vec<_>>(), axis)
}

/// A user-defined op with two inputs: swish with a learnable slope, x·σ(βx).
struct Swish;

impl CustomOp<f64> for Swish {
    fn name(&self) -> &str {
        "swish"
    }

    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        let (x, beta) = (inputs[0], inputs[1]);
        x.mul(&beta.mul(x).sigmoid())
    }

    // ∂/∂x = σ(βx) + βx·σ'(βx), ∂/∂β = x²·σ'(βx), with σ' = σ(1 − σ).
    fn backward(
        &self,
        inputs: &[Var<f64>],
        _output: &Var<f64>,
        grad: &Var<f64>,
    ) -> Vec<Option<Var<f64>>> {
        let (x, beta) = (&inputs[0], &inputs[1]);
        let bx = beta * x;
        let s = bx.sigmoid();
        let ds = &s * &(-&s).add_scalar(1.0);
        vec![
            Some(grad * &(&s + &(&bx * &ds))),
            Some(grad * &(&x.square() * &ds)),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// The op list
// ---------------------------------------------------------------------------------------------

/// The inputs each op is checked at, and how it is applied.
fn case(kind: OpKind) -> Case {
    use OpKind as K;
    let real = || values(-3.0..3.0);
    let positive = || values(0.25..3.0);
    let kinked = || separated_values(st::shape(RANK, DIM));
    match kind {
        K::Neg => case_of(one(real()), |x, _| x[0].neg()),
        K::Abs => case_of(one(kinked()), |x, _| x[0].abs()),
        K::Exp => case_of(one(real()), |x, _| x[0].exp()),
        K::Ln => case_of(one(positive()), |x, _| x[0].ln()),
        K::Log => case_of(one(positive()), |x, _| x[0].log()),
        K::Sqrt => case_of(one(positive()), |x, _| x[0].sqrt()),
        K::Square => case_of(one(real()), |x, _| x[0].square()),
        K::Recip => case_of(one(positive()), |x, _| x[0].recip()),
        K::Sin => case_of(one(real()), |x, _| x[0].sin()),
        K::Cos => case_of(one(real()), |x, _| x[0].cos()),
        K::Tanh => case_of(one(real()), |x, _| x[0].tanh()),
        K::Sigmoid => case_of(one(real()), |x, _| x[0].sigmoid()),
        K::Relu => case_of(one(kinked()), |x, _| x[0].relu()),
        K::LeakyRelu => case_of(one_with(kinked(), 0.01..0.5f64), |x, &slope| {
            x[0].leaky_relu(slope)
        }),
        K::Gelu => case_of(one(real()), |x, _| x[0].gelu()),
        K::Softplus => case_of(one(real()), |x, _| x[0].softplus()),
        // Bounds on multiples of SPACING, which the values keep away from.
        K::Clamp => case_of(one_with(kinked(), (0..=3u32, 1..=3u32)), |x, &(lo, hi)| {
            x[0].clamp(-f64::from(lo) * SPACING, f64::from(hi) * SPACING)
        }),
        K::Sign => case_of(one(kinked()), |x, _| x[0].sign()),
        K::Powf => case_of(one_with(positive(), -2.0..3.0f64), |x, &p| x[0].powf(p)),
        K::Erf => case_of(one(real()), |x, _| x[0].erf()),
        K::AddScalar => case_of(one_with(real(), -3.0..3.0f64), |x, &c| x[0].add_scalar(c)),
        K::MulScalar => case_of(one_with(real(), -3.0..3.0f64), |x, &c| x[0].mul_scalar(c)),

        K::Add => case_of(pair(-3.0..3.0, -3.0..3.0), |x, _| &x[0] + &x[1]),
        K::Sub => case_of(pair(-3.0..3.0, -3.0..3.0), |x, _| &x[0] - &x[1]),
        K::Mul => case_of(pair(-3.0..3.0, -3.0..3.0), |x, _| &x[0] * &x[1]),
        K::Div => case_of(pair(-3.0..3.0, 0.25..3.0), |x, _| &x[0] / &x[1]),
        K::Pow => case_of(pair(0.25..3.0, -2.0..3.0), |x, _| x[0].pow(&x[1])),
        K::Maximum => case_of(separated_pair(), |x, _| x[0].maximum(&x[1])),
        K::Minimum => case_of(separated_pair(), |x, _| x[0].minimum(&x[1])),
        K::BceWithLogits => case_of(pair(-6.0..6.0, 0.0..1.0), |x, _| {
            x[0].bce_with_logits(&x[1])
        }),
        K::TanhBackward => case_of(pair(-1.0..1.0, -3.0..3.0), |x, _| x[0].tanh_backward(&x[1])),
        K::SigmoidBackward => case_of(pair(0.0..1.0, -3.0..3.0), |x, _| {
            x[0].sigmoid_backward(&x[1])
        }),
        // x away from the kink at 0.
        K::ReluBackward => case_of(separated_pair(), |x, _| x[0].relu_backward(&x[1])),
        K::WhereCond => case_of(
            (
                st::broadcastable_shapes(RANK, DIM),
                any::<Index>(),
                vec(prop::bool::weighted(0.3), RANK),
            )
                .prop_flat_map(|((sa, sb), drop, ones)| {
                    // The mask broadcasts with both sides: cut from their broadcast shape.
                    let full = broadcast_shapes("where_cond", &sa, &sb);
                    let lead = drop.index(full.len() + 1);
                    let mask: Vec<usize> = full
                        .iter()
                        .enumerate()
                        .skip(lead)
                        .map(|(i, &d)| if ones[i] { 1 } else { d })
                        .collect();
                    let bits =
                        vec(any::<bool>(), mask.iter().product::<usize>()).prop_map(move |bits| {
                            Tensor::from_vec(
                                bits.into_iter()
                                    .map(f64::from)
                                    .map(|b| b.min(1.0))
                                    .collect(),
                                &mask[..],
                            )
                        });
                    (
                        st::tensor_of_shape(&sa, -3.0..3.0),
                        st::tensor_of_shape(&sb, -3.0..3.0),
                        bits,
                    )
                })
                .prop_map(|(a, b, mask)| (vec![a, b], mask)),
            |x, mask| Var::where_cond(&x[0].constant(mask.clone()), &x[0], &x[1]),
        ),

        K::Sum => case_of(with_axes(real()), |x, (axes, keepdim)| {
            x[0].sum(axes.clone(), *keepdim)
        }),
        K::SumAll => case_of(one(real()), |x, _| x[0].sum_all()),
        K::Mean => case_of(with_axes(real()), |x, (axes, keepdim)| {
            x[0].mean(axes.clone(), *keepdim)
        }),
        K::MeanAll => case_of(one(real()), |x, _| x[0].mean_all()),
        K::Max => case_of(with_axes(kinked()), |x, (axes, keepdim)| {
            x[0].max(axes.clone(), *keepdim)
        }),
        K::MaxAll => case_of(one(kinked()), |x, _| x[0].max_all()),
        K::Min => case_of(with_axes(kinked()), |x, (axes, keepdim)| {
            x[0].min(axes.clone(), *keepdim)
        }),
        K::MinAll => case_of(one(kinked()), |x, _| x[0].min_all()),
        // The correction is 0 or 1, never the whole count (which would divide by zero).
        K::Var => case_of(
            (with_axes(real()), 0..=1usize).prop_map(|((t, (axes, keepdim)), correction)| {
                let count: usize = axes.iter().map(|&a| t[0].shape()[a]).product();
                (t, (axes, correction.min(count - 1), keepdim))
            }),
            |x, (axes, correction, keepdim)| {
                x[0].var(axes.clone(), Correction(*correction), *keepdim)
            },
        ),
        K::VarAll => case_of(
            one_with(real(), 0..=1usize).prop_map(|(t, c)| {
                let c = c.min(t[0].numel() - 1);
                (t, c)
            }),
            |x, &correction| x[0].var_all(Correction(correction)),
        ),
        K::LogSumExp => case_of(with_axes(real()), |x, (axes, keepdim)| {
            x[0].log_sum_exp(axes.clone(), *keepdim)
        }),
        K::Softmax => case_of(with_axis(values_with_axes(-3.0..3.0)), |x, &axis| {
            x[0].softmax(axis)
        }),
        K::LogSoftmax => case_of(with_axis(values_with_axes(-3.0..3.0)), |x, &axis| {
            x[0].log_softmax(axis)
        }),

        // 1-D·1-D, 1-D·2-D, 2-D·1-D, 2-D·2-D and batched with broadcast batch axes; `arg` makes
        // transposed (and otherwise strided) operands.
        K::Matmul => case_of(
            st::matmul_pair(DIM, -2.0..2.0).prop_map(|(a, b)| (vec![a, b], ())),
            |x, _| x[0].matmul(&x[1]),
        ),

        // x of rank 1 to 3 ([…, in]), weight [out, in], and a bias [out] half the time; `arg`
        // makes transposed (and otherwise strided) operands.
        K::Linear => case_of(dense_operands(), |x, _| x[0].linear(&x[1], x.get(2))),
        // As for `linear`, at inputs whose pre-activations all lie 1e-3 or more from the ReLU's
        // kink at 0, a thousand finite-difference steps away.
        K::LinearRelu => case_of(
            dense_operands().prop_filter("a pre-activation near the kink", |(x, _)| {
                let mut z = x[0].matmul(&x[1].t());
                if let Some(b) = x.get(2) {
                    z.add_(b);
                }
                z.to_vec().iter().all(|v: &f64| v.abs() >= 1e-3)
            }),
            |x, _| x[0].linear_relu(&x[1], x.get(2)),
        ),

        // Source and target shapes: two groupings of one list of factors, the second shuffled.
        K::Reshape => case_of(
            (
                vec(1..=DIM, 0..=RANK),
                vec(any::<bool>(), RANK),
                vec(any::<bool>(), RANK),
            )
                .prop_flat_map(|(factors, from, to)| {
                    let source = group(&factors, &from);
                    (
                        st::tensor_of_shape(&source, -3.0..3.0),
                        Just(factors).prop_shuffle(),
                        Just(to),
                    )
                })
                .prop_map(|(t, factors, to)| (vec![t], group(&factors, &to))),
            |x, shape| x[0].reshape(shape.clone()),
        ),
        K::Flatten => case_of(one(real()), |x, _| x[0].flatten()),
        K::Transpose => case_of(
            (values_with_axes(-3.0..3.0), any::<Index>(), any::<Index>()).prop_map(|(t, a, b)| {
                let (a, b) = (a.index(t.rank()), b.index(t.rank()));
                (vec![t], (a, b))
            }),
            |x, &(a, b)| x[0].transpose(a, b),
        ),
        K::T => case_of(one(real()), |x, _| x[0].t()),
        K::Permute => case_of(
            st::tensor(4, 3, -3.0..3.0)
                .prop_flat_map(|t| {
                    let perm = Just((0..t.rank()).collect::<Vec<usize>>()).prop_shuffle();
                    (Just(t), perm)
                })
                .prop_map(|(t, perm)| (vec![t], perm)),
            |x, perm| x[0].permute(perm),
        ),
        K::BroadcastTo => case_of(
            st::broadcastable_shapes(RANK, DIM).prop_flat_map(|(sa, sb)| {
                let target = broadcast_shapes("broadcast_to", &sa, &sb).to_vec();
                (st::tensor_of_shape(&sa, -3.0..3.0), Just(target))
                    .prop_map(|(t, target)| (vec![t], target))
            }),
            |x, shape| x[0].broadcast_to(shape.clone()),
        ),
        K::Squeeze => case_of(
            (st::shape(RANK, DIM), any::<Index>()).prop_flat_map(|(mut shape, axis)| {
                let axis = axis.index(shape.len() + 1);
                shape.insert(axis, 1);
                one_with(st::tensor_of_shape(&shape, -3.0..3.0).boxed(), Just(axis))
            }),
            |x, &axis| x[0].squeeze(axis),
        ),
        K::Unsqueeze => case_of(
            (real(), any::<Index>()).prop_map(|(t, axis)| {
                let axis = axis.index(t.rank() + 1);
                (vec![t], axis)
            }),
            |x, &axis| x[0].unsqueeze(axis),
        ),
        K::Narrow => case_of(
            (
                values_with_axes(-3.0..3.0),
                any::<Index>(),
                any::<Index>(),
                any::<Index>(),
            )
                .prop_map(|(t, axis, start, len)| {
                    let axis = axis.index(t.rank());
                    let size = t.shape()[axis];
                    let start = start.index(size);
                    let len = 1 + len.index(size - start);
                    (vec![t], (axis, start, len))
                }),
            |x, &(axis, start, len)| x[0].narrow(axis, start, len),
        ),
        K::Select => case_of(
            (values_with_axes(-3.0..3.0), any::<Index>(), any::<Index>()).prop_map(
                |(t, axis, index)| {
                    let axis = axis.index(t.rank());
                    let index = index.index(t.shape()[axis]);
                    (vec![t], (axis, index))
                },
            ),
            |x, &(axis, index)| x[0].select(axis, index),
        ),
        K::Concat => case_of(
            (vec(1..=DIM, 1..=RANK), any::<Index>(), vec(1..=DIM, 1..=3)).prop_flat_map(
                |(shape, axis, lens)| {
                    let axis = axis.index(shape.len());
                    let pieces: Vec<_> = lens
                        .iter()
                        .map(|&len| {
                            let mut s = shape.clone();
                            s[axis] = len;
                            st::tensor_of_shape(&s, -3.0..3.0)
                        })
                        .collect();
                    (pieces, Just(axis))
                },
            ),
            |x, &axis| Var::concat(&x.iter().collect::<Vec<_>>(), axis),
        ),
        K::Stack => case_of(
            (st::shape(RANK, DIM), 1..=3usize, any::<Index>()).prop_flat_map(|(shape, n, axis)| {
                let axis = axis.index(shape.len() + 1);
                (vec(st::tensor_of_shape(&shape, -3.0..3.0), n), Just(axis))
            }),
            |x, &axis| Var::stack(&x.iter().collect::<Vec<_>>(), axis),
        ),
        K::Split => case_of(
            (with_axis(values_with_axes(-3.0..3.0)), any::<Index>()).prop_map(
                |((t, axis), size)| {
                    let size = 1 + size.index(t[0].shape()[axis] + 1);
                    (t, (axis, size))
                },
            ),
            |x, &(axis, size)| rejoin(x[0].split(axis, size), axis),
        ),
        K::Chunk => case_of(
            (with_axis(values_with_axes(-3.0..3.0)), any::<Index>()).prop_map(|((t, axis), n)| {
                let n = 1 + n.index(t[0].shape()[axis] + 1);
                (t, (axis, n))
            }),
            |x, &(axis, n)| rejoin(x[0].chunk(axis, n), axis),
        ),

        K::IndexSelect => case_of(
            (
                with_axis(values_with_axes(-3.0..3.0)),
                vec(any::<Index>(), 1..=5),
            )
                .prop_map(|((t, axis), idx)| {
                    let size = t[0].shape()[axis];
                    (
                        t,
                        (
                            axis,
                            idx.iter().map(|i| i.index(size)).collect::<Vec<usize>>(),
                        ),
                    )
                }),
            |x, (axis, indices)| x[0].index_select(*axis, indices),
        ),
        K::IndexAdd => case_of(
            (
                vec(1..=DIM, 1..=RANK),
                any::<Index>(),
                vec(any::<Index>(), 1..=5),
            )
                .prop_flat_map(|(shape, axis, idx)| {
                    let axis = axis.index(shape.len());
                    let indices: Vec<usize> = idx.iter().map(|i| i.index(shape[axis])).collect();
                    let mut source = shape.clone();
                    source[axis] = indices.len();
                    (
                        st::tensor_of_shape(&shape, -3.0..3.0),
                        st::tensor_of_shape(&source, -3.0..3.0),
                    )
                        .prop_map(move |(t, s)| (vec![t, s], (axis, indices.clone())))
                }),
            |x, (axis, indices)| x[0].index_add(*axis, indices, &x[1]),
        ),
        K::Gather => case_of(
            (vec(1..=DIM, 1..=RANK), any::<Index>(), index_draws()).prop_flat_map(
                |(shape, axis, (sizes, picks))| {
                    let axis = axis.index(shape.len());
                    let idx = index_tensor(&shape, axis, &sizes, &picks);
                    st::tensor_of_shape(&shape, -3.0..3.0)
                        .prop_map(move |t| (vec![t], (axis, idx.clone())))
                },
            ),
            |x, (axis, idx)| x[0].gather(*axis, idx),
        ),
        // The source may be larger than the indices on every axis; only its leading block is used.
        K::ScatterAdd => case_of(
            (
                vec(1..=DIM, 1..=RANK),
                any::<Index>(),
                index_draws(),
                vec(0..=1usize, RANK),
            )
                .prop_flat_map(|(shape, axis, (sizes, picks), extra)| {
                    let axis = axis.index(shape.len());
                    let idx = index_tensor(&shape, axis, &sizes, &picks);
                    let source: Vec<usize> =
                        idx.shape().iter().zip(&extra).map(|(d, e)| d + e).collect();
                    (
                        st::tensor_of_shape(&shape, -3.0..3.0),
                        st::tensor_of_shape(&source, -3.0..3.0),
                    )
                        .prop_map(move |(t, s)| (vec![t, s], (axis, idx.clone())))
                }),
            |x, (axis, idx)| x[0].scatter_add(*axis, idx, &x[1]),
        ),

        K::Custom => case_of(
            st::shape(RANK, DIM)
                .prop_flat_map(|s| {
                    (
                        st::tensor_of_shape(&s, -3.0..3.0),
                        st::tensor_of_shape(&s, -2.0..2.0),
                    )
                })
                .prop_map(|(x, beta)| (vec![x, beta], ())),
            |x, _| Var::custom(Swish, &[&x[0], &x[1]]),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    // A fixed seed unless PROPTEST_RNG_SEED asks for another, so that runs are reproducible.
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 100_000,
        max_shrink_time: 10_000,
        ..Config::default()
    }
}

#[test]
fn every_op_matches_finite_differences_to_second_order() {
    let mut failures = Vec::new();
    for &kind in OpKind::ALL {
        let mut runner = TestRunner::new(config());
        if let Err(e) = runner.run(&case(kind), |check| check.run(kind)) {
            failures.push(format!("{kind:?}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} ops fail their gradient checks (minimal inputs shown):\n\n{}",
        failures.len(),
        OpKind::ALL.len(),
        failures.join("\n\n")
    );
}

/// Rules that are wrong in the ways a gradient rule goes wrong, each caught by one of the three
/// checks: the harness itself is tested.
#[derive(Clone, Debug)]
enum Mutant {
    /// sin with derivative 1.1·cos: a wrong first derivative.
    WrongSlope,
    /// sin with derivative cos(x.detach()): right first derivative, zero second derivative.
    DetachedInput,
    /// 2x with gradient 2·g.detach(): right as far as f goes, but the rule drops the gradient's
    /// own dependence on x, which only gradients of gradients through f² see.
    DetachedGrad,
}

impl CustomOp<f64> for Mutant {
    fn name(&self) -> &str {
        "mutant"
    }

    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        match self {
            Mutant::DetachedGrad => inputs[0].map(|v| 2.0 * v),
            _ => inputs[0].sin(),
        }
    }

    fn backward(
        &self,
        inputs: &[Var<f64>],
        _output: &Var<f64>,
        grad: &Var<f64>,
    ) -> Vec<Option<Var<f64>>> {
        let x = &inputs[0];
        vec![Some(match self {
            Mutant::WrongSlope => grad * &x.cos().mul_scalar(1.1),
            Mutant::DetachedInput => grad * &x.detach().cos(),
            Mutant::DetachedGrad => grad.detach().mul_scalar(2.0),
        })]
    }
}

#[test]
fn the_checks_catch_wrong_rules() {
    let mutants = [
        (Mutant::WrongSlope, "gradcheck of f:"),
        (Mutant::DetachedInput, "gradgradcheck of f:"),
        (Mutant::DetachedGrad, "gradgradcheck of f²:"),
    ];
    for (mutant, caught_by) in mutants {
        let case = case_of(one_with(values(-3.0..3.0), Just(mutant.clone())), |x, m| {
            Var::custom(m.clone(), &[&x[0]])
        });
        let result = TestRunner::new(config()).run(&case, |check| check.run(OpKind::Custom));
        let message = match result {
            Err(TestError::Fail(reason, _)) => reason.to_string(),
            other => panic!("{mutant:?}: expected a failing check, got {other:?}"),
        };
        assert!(
            message.contains("Custom (Var::custom)")
                && message.contains(caught_by)
                && message.contains("analytic"),
            "{mutant:?}: expected a failure of {caught_by}, got: {message}"
        );
    }
}
