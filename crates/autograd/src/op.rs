//! The recorded ops: what a node remembers, the dispatch from a node to its family's gradient
//! rule, and [`OpKind`], the list of every differentiable op.
//!
//! Each family keeps its ops' forward and gradient rule side by side in `ops/`: elementwise
//! (`unary`, `binary`), `reduce`, `movement`, `index` and `matmul`. This file only routes a node
//! to its family. Composite ops (mean, var, stack, split, …) are written with primitives and
//! record no op of their own.
//!
//! Adding an elementwise op or a reduction touches three places, and the compiler names each:
//! a row of its family's table (`unary_ops!`, `binary_ops!`, `reductions!`), which names an
//! `OpKind` variant; that variant in [`op_kinds!`](OpKind); and its case in the gradient test
//! (`tests/integration/gradients.rs`), whose `match` over `OpKind` has no `_` arm.

use std::rc::Rc;

use shendu_tensor::{Dims, Element};
use smallvec::SmallVec;

use crate::custom::CustomOp;
use crate::error::fail_at;
use crate::ops::{binary, index, matmul, movement, reduce, unary};
use crate::param::ParamId;
use crate::tape::{ConstantId, TapeState, INLINE_INPUTS};
use crate::var::Var;

pub(crate) use crate::ops::binary::Binary;
pub(crate) use crate::ops::index::Indexing;
pub(crate) use crate::ops::movement::Movement;
pub(crate) use crate::ops::reduce::Reduce;
pub(crate) use crate::ops::unary::Unary;

/// A recorded primitive op and what its gradient rule needs beyond the input values.
#[derive(Clone)]
pub(crate) enum Op<T: Element> {
    /// A leaf made by [`Tape::var`](crate::Tape::var).
    Leaf,
    /// A parameter's leaf, made by [`Tape::param`](crate::Tape::param).
    Param(ParamId),
    Unary(Unary<T>),
    Binary(Binary),
    /// Inputs: a, b; the mask (a constant of the output's shape) picks a where non-zero.
    WhereCond {
        mask: ConstantId,
    },
    Reduce {
        op: Reduce,
        axes: Dims,
        keepdim: bool,
    },
    /// Softmax, or log-softmax if `log`, along one axis.
    Softmax {
        axis: usize,
        log: bool,
    },
    /// Both operands of rank ≥ 2 with equal batch axes (broadcasting is recorded before).
    Matmul,
    /// Inputs: x `[n, in]`, weight `[out, in]` and, if present, bias `[out]`; followed by a ReLU
    /// if `relu`.
    Linear {
        relu: bool,
    },
    Movement(Movement),
    Index(Indexing),
    Custom(Rc<dyn CustomOp<T>>),
}

impl<T: Element> Op<T> {
    /// The op's name, as in the method that records it.
    pub(crate) fn name(&self) -> &str {
        match self {
            Op::Leaf => "leaf",
            Op::Param(_) => "param",
            Op::Custom(c) => c.name(),
            Op::Unary(u) => u.kind().method_name(),
            Op::Binary(b) => b.kind().method_name(),
            Op::WhereCond { .. } => OpKind::WhereCond.method_name(),
            Op::Reduce { op, .. } => op.kind().method_name(),
            Op::Softmax { log: false, .. } => OpKind::Softmax.method_name(),
            Op::Softmax { log: true, .. } => OpKind::LogSoftmax.method_name(),
            Op::Matmul => OpKind::Matmul.method_name(),
            Op::Linear { relu: false } => OpKind::Linear.method_name(),
            Op::Linear { relu: true } => OpKind::LinearRelu.method_name(),
            Op::Movement(m) => m.kind().method_name(),
            Op::Index(i) => i.kind().method_name(),
        }
    }

    /// Whether the node is a leaf (of [`Tape::var`](crate::Tape::var) or
    /// [`Tape::param`](crate::Tape::param)): the sweep stops there.
    pub(crate) fn is_leaf(&self) -> bool {
        matches!(self, Op::Leaf | Op::Param(_))
    }
}

/// Input gradients of one node, `None` where an input needs none.
pub(crate) type InputGrads<T> = SmallVec<[Option<Var<T>>; INLINE_INPUTS]>;

/// The input gradients of a rule with one input.
///
/// The rules build their lists with these, not with `smallvec!`: that macro fills a local list
/// and then moves it out, a copy of the whole list (room for three vars, a few hundred bytes)
/// in every rule of a sweep, where a list built as the return value is written where the caller
/// keeps it.
#[inline(always)]
pub(crate) fn one_grad<T: Element>(dx: Option<Var<T>>) -> InputGrads<T> {
    SmallVec::from_buf_and_len([dx, None, None], 1)
}

/// The input gradients of a rule with two inputs (see [`one_grad`]).
#[inline(always)]
pub(crate) fn two_grads<T: Element>(da: Option<Var<T>>, db: Option<Var<T>>) -> InputGrads<T> {
    SmallVec::from_buf_and_len([da, db, None], 2)
}

/// The input gradients of a rule with three inputs (see [`one_grad`]).
#[inline(always)]
pub(crate) fn three_grads<T: Element>(
    da: Option<Var<T>>,
    db: Option<Var<T>>,
    dc: Option<Var<T>>,
) -> InputGrads<T> {
    SmallVec::from_buf_and_len([da, db, dc], 3)
}

/// Runs the gradient rule of `op`: maps the output gradient `grad` to the inputs' gradients,
/// with differentiable ops, so that the same rule serves first-order gradients (not recorded)
/// and gradients of gradients (recorded). Only inputs that are tracked get a gradient.
/// `at` is the line that recorded the node, for errors in a custom op's rule.
pub(crate) fn backward<T: Element>(
    op: &Op<T>,
    inputs: &[Var<T>],
    output: &Var<T>,
    grad: &Var<T>,
    tape: &TapeState<T>,
    at: &std::panic::Location<'_>,
) -> InputGrads<T> {
    match op {
        Op::Leaf | Op::Param(_) => SmallVec::new(),
        Op::Unary(u) => unary::backward(*u, &inputs[0], output, grad),
        Op::Binary(b) => binary::backward(*b, inputs, output, grad),
        Op::WhereCond { mask } => binary::where_cond_backward(&tape.constant(*mask), inputs, grad),
        Op::Reduce { op, axes, keepdim } => {
            reduce::backward(*op, axes, *keepdim, &inputs[0], output, grad)
        }
        Op::Softmax { axis, log } => reduce::softmax_backward(*axis, *log, output, grad),
        Op::Matmul => matmul::backward(inputs, grad),
        Op::Linear { relu } => matmul::linear_backward(*relu, inputs, output, grad),
        Op::Movement(m) => movement::backward(m, inputs, grad),
        Op::Index(i) => index::backward(i, inputs, grad),
        Op::Custom(custom) => {
            let grads = custom.backward(inputs, output, grad);
            if grads.len() != inputs.len() {
                fail_at(
                    custom.name(),
                    format!(
                        "the custom op's backward returned {} gradients for {} inputs",
                        grads.len(),
                        inputs.len()
                    ),
                    at,
                );
            }
            grads.into_iter().collect()
        }
    }
}

/// Gradient for `input` if it is tracked: the rule's closure runs only when needed, so a
/// constant operand (the data batch of a first layer) costs nothing.
pub(crate) fn if_tracked<T: Element>(
    input: &Var<T>,
    rule: impl FnOnce() -> Var<T>,
) -> Option<Var<T>> {
    input.is_tracked().then(rule)
}

/// Defines [`OpKind`] from one list of `Variant method` pairs: the enum, [`OpKind::ALL`] and
/// [`OpKind::method_name`] cannot disagree.
macro_rules! op_kinds {
    ($($kind:ident $method:ident),* $(,)?) => {
        /// Every differentiable op on [`Var`], by the name of its method: the list the gradient
        /// property tests iterate over. A test maps each kind to a case with a `match` that has
        /// no `_` arm, so a kind added here without a gradient test does not compile, and a test
        /// checks that every public method of `Var` is either listed here or known to have no
        /// derivative.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum OpKind {
            $(
                #[doc = concat!("[`Var::", stringify!($method), "`]")]
                $kind,
            )*
        }

        impl OpKind {
            /// All kinds, in declaration order.
            pub const ALL: &'static [OpKind] = &[$(OpKind::$kind),*];

            /// The name of the `Var` method (`"leaky_relu"`, `"sum_all"`, …).
            pub fn method_name(self) -> &'static str {
                match self {
                    $(OpKind::$kind => stringify!($method),)*
                }
            }
        }
    };
}

op_kinds! {
    Neg neg, Abs abs, Exp exp, Ln ln, Log log, Sqrt sqrt, Square square, Recip recip, Sin sin,
    Cos cos, Tanh tanh, Sigmoid sigmoid, Relu relu, LeakyRelu leaky_relu, Gelu gelu,
    Softplus softplus, Clamp clamp, Sign sign, Powf powf, Erf erf, AddScalar add_scalar,
    MulScalar mul_scalar,
    Add add, Sub sub, Mul mul, Div div, Pow pow, Maximum maximum, Minimum minimum,
    BceWithLogits bce_with_logits, TanhBackward tanh_backward, SigmoidBackward sigmoid_backward,
    ReluBackward relu_backward,
    WhereCond where_cond,
    Sum sum, SumAll sum_all, Mean mean, MeanAll mean_all, Max max, MaxAll max_all, Min min,
    MinAll min_all, Var var, VarAll var_all, LogSumExp log_sum_exp, Softmax softmax,
    LogSoftmax log_softmax,
    Matmul matmul, Linear linear, LinearRelu linear_relu,
    Reshape reshape, Flatten flatten, Transpose transpose, T t, Permute permute,
    BroadcastTo broadcast_to, Squeeze squeeze, Unsqueeze unsqueeze, Narrow narrow,
    Select select, Concat concat, Stack stack, Split split, Chunk chunk,
    IndexSelect index_select, IndexAdd index_add, Gather gather, ScatterAdd scatter_add,
    Custom custom,
}
