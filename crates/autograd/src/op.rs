//! The recorded ops: what a node remembers, and the dispatch from a node to its gradient rule.
//!
//! Each family of ops keeps its forward methods and its gradient rule side by side in `ops/`;
//! this file only names the primitives and routes a node to its family's rule. Composite ops
//! (mean, var, stack, split, …) are written with primitives and record no op of their own.

use std::rc::Rc;

use shendu_tensor::{Dims, Element};
use smallvec::SmallVec;

use crate::custom::CustomOp;
use crate::ops::{binary, index, matmul, movement, reduce, unary};
use crate::tape::{ConstantId, TapeState};
use crate::var::Var;

pub(crate) use crate::ops::binary::Binary;
pub(crate) use crate::ops::unary::Unary;

/// A recorded primitive op and what its gradient rule needs beyond the input values.
#[derive(Clone)]
pub(crate) enum Op<T: Element> {
    Leaf,
    Unary(Unary<T>),
    Binary(Binary),
    /// Inputs: a, b; the mask (a constant of the output's shape) picks a where non-zero.
    WhereCond {
        mask: ConstantId,
    },
    Sum {
        axes: Dims,
        keepdim: bool,
    },
    Max {
        axes: Dims,
        keepdim: bool,
    },
    Min {
        axes: Dims,
        keepdim: bool,
    },
    LogSumExp {
        axes: Dims,
        keepdim: bool,
    },
    Softmax {
        axis: usize,
    },
    LogSoftmax {
        axis: usize,
    },
    /// Both operands of rank ≥ 2 with equal batch axes (broadcasting is recorded before).
    Matmul,
    Reshape,
    Transpose(usize, usize),
    Permute(Dims),
    BroadcastTo,
    Narrow {
        axis: usize,
        start: usize,
    },
    Concat {
        axis: usize,
    },
    IndexSelect {
        axis: usize,
        indices: Rc<[usize]>,
    },
    IndexAdd {
        axis: usize,
        indices: Rc<[usize]>,
    },
    Gather {
        axis: usize,
        indices: ConstantId,
    },
    ScatterAdd {
        axis: usize,
        indices: ConstantId,
    },
    Custom(Rc<dyn CustomOp<T>>),
}

impl<T: Element> Op<T> {
    /// The op's name, as in the method that records it.
    pub(crate) fn name(&self) -> &str {
        match self {
            Op::Leaf => "leaf",
            Op::Unary(u) => u.name(),
            Op::Binary(b) => b.name(),
            Op::WhereCond { .. } => "where_cond",
            Op::Sum { .. } => "sum",
            Op::Max { .. } => "max",
            Op::Min { .. } => "min",
            Op::LogSumExp { .. } => "log_sum_exp",
            Op::Softmax { .. } => "softmax",
            Op::LogSoftmax { .. } => "log_softmax",
            Op::Matmul => "matmul",
            Op::Reshape => "reshape",
            Op::Transpose(..) => "transpose",
            Op::Permute(_) => "permute",
            Op::BroadcastTo => "broadcast_to",
            Op::Narrow { .. } => "narrow",
            Op::Concat { .. } => "concat",
            Op::IndexSelect { .. } => "index_select",
            Op::IndexAdd { .. } => "index_add",
            Op::Gather { .. } => "gather",
            Op::ScatterAdd { .. } => "scatter_add",
            Op::Custom(c) => c.name(),
        }
    }
}

/// Input gradients of one node, `None` where an input needs none.
pub(crate) type InputGrads<T> = SmallVec<[Option<Var<T>>; 2]>;

/// Runs the gradient rule of `op`: maps the output gradient `grad` to the inputs' gradients,
/// with differentiable ops, so that the same rule serves first-order gradients (not recorded)
/// and gradients of gradients (recorded). Only inputs that are tracked get a gradient.
pub(crate) fn backward<T: Element>(
    op: &Op<T>,
    inputs: &[Var<T>],
    output: &Var<T>,
    grad: &Var<T>,
    tape: &TapeState<T>,
) -> InputGrads<T> {
    match op {
        Op::Leaf => SmallVec::new(),
        Op::Unary(u) => unary::backward(*u, &inputs[0], output, grad),
        Op::Binary(b) => binary::backward(*b, inputs, output, grad),
        Op::WhereCond { mask } => binary::where_cond_backward(&tape.constant(*mask), inputs, grad),
        Op::Sum { axes, keepdim } => reduce::sum_backward(axes, *keepdim, &inputs[0], grad),
        Op::Max { axes, keepdim } | Op::Min { axes, keepdim } => {
            reduce::extremum_backward(axes, *keepdim, &inputs[0], output, grad)
        }
        Op::LogSumExp { axes, keepdim } => {
            reduce::log_sum_exp_backward(axes, *keepdim, &inputs[0], output, grad)
        }
        Op::Softmax { axis } => reduce::softmax_backward(*axis, output, grad),
        Op::LogSoftmax { axis } => reduce::log_softmax_backward(*axis, output, grad),
        Op::Matmul => matmul::backward(inputs, grad),
        Op::Reshape => movement::reshape_backward(&inputs[0], grad),
        Op::Transpose(a, b) => movement::transpose_backward(*a, *b, grad),
        Op::Permute(perm) => movement::permute_backward(perm, grad),
        Op::BroadcastTo => movement::broadcast_backward(&inputs[0], grad),
        Op::Narrow { axis, start } => movement::narrow_backward(*axis, *start, &inputs[0], grad),
        Op::Concat { axis } => movement::concat_backward(*axis, inputs, grad),
        Op::IndexSelect { axis, indices } => {
            index::index_select_backward(*axis, indices, &inputs[0], grad)
        }
        Op::IndexAdd { axis, indices } => index::index_add_backward(*axis, indices, inputs, grad),
        Op::Gather { axis, indices } => {
            index::gather_backward(*axis, &tape.constant(*indices), &inputs[0], grad)
        }
        Op::ScatterAdd { axis, indices } => {
            index::scatter_add_backward(*axis, &tape.constant(*indices), inputs, grad)
        }
        Op::Custom(custom) => {
            let grads = custom.backward(inputs, output, grad);
            assert_eq!(
                grads.len(),
                inputs.len(),
                "custom op {}: backward returned {} gradients for {} inputs",
                custom.name(),
                grads.len(),
                inputs.len()
            );
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

/// Every differentiable op on [`Var`], by the name of its method: the list the gradient
/// property tests iterate over. A test maps each kind to a case with a `match` that has no `_`
/// arm, so a kind added here without a gradient test does not compile, and a test checks that
/// every public method of `Var` is either listed here or known to have no derivative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[rustfmt::skip]
pub enum OpKind {
    Neg, Abs, Exp, Ln, Sqrt, Square, Recip, Sin, Cos, Tanh, Sigmoid, Relu, LeakyRelu, Gelu,
    Softplus, Clamp, Sign, Powf, Erf, AddScalar, MulScalar,
    Add, Sub, Mul, Div, Pow, Maximum, Minimum, WhereCond,
    Sum, SumAll, Mean, MeanAll, Max, MaxAll, Min, MinAll, Var, VarAll, LogSumExp, Softmax,
    LogSoftmax,
    Matmul,
    Reshape, Flatten, Transpose, T, Permute, BroadcastTo, Squeeze, Unsqueeze, Narrow, Concat,
    Stack, Split, Chunk,
    IndexSelect, IndexAdd, Gather, ScatterAdd,
    Custom,
}

impl OpKind {
    /// All kinds, in declaration order.
    pub const ALL: &'static [OpKind] = &[
        OpKind::Neg,
        OpKind::Abs,
        OpKind::Exp,
        OpKind::Ln,
        OpKind::Sqrt,
        OpKind::Square,
        OpKind::Recip,
        OpKind::Sin,
        OpKind::Cos,
        OpKind::Tanh,
        OpKind::Sigmoid,
        OpKind::Relu,
        OpKind::LeakyRelu,
        OpKind::Gelu,
        OpKind::Softplus,
        OpKind::Clamp,
        OpKind::Sign,
        OpKind::Powf,
        OpKind::Erf,
        OpKind::AddScalar,
        OpKind::MulScalar,
        OpKind::Add,
        OpKind::Sub,
        OpKind::Mul,
        OpKind::Div,
        OpKind::Pow,
        OpKind::Maximum,
        OpKind::Minimum,
        OpKind::WhereCond,
        OpKind::Sum,
        OpKind::SumAll,
        OpKind::Mean,
        OpKind::MeanAll,
        OpKind::Max,
        OpKind::MaxAll,
        OpKind::Min,
        OpKind::MinAll,
        OpKind::Var,
        OpKind::VarAll,
        OpKind::LogSumExp,
        OpKind::Softmax,
        OpKind::LogSoftmax,
        OpKind::Matmul,
        OpKind::Reshape,
        OpKind::Flatten,
        OpKind::Transpose,
        OpKind::T,
        OpKind::Permute,
        OpKind::BroadcastTo,
        OpKind::Squeeze,
        OpKind::Unsqueeze,
        OpKind::Narrow,
        OpKind::Concat,
        OpKind::Stack,
        OpKind::Split,
        OpKind::Chunk,
        OpKind::IndexSelect,
        OpKind::IndexAdd,
        OpKind::Gather,
        OpKind::ScatterAdd,
        OpKind::Custom,
    ];

    /// The name of the `Var` method (`"leaky_relu"`, `"sum_all"`, …).
    pub fn method_name(self) -> &'static str {
        match self {
            OpKind::Neg => "neg",
            OpKind::Abs => "abs",
            OpKind::Exp => "exp",
            OpKind::Ln => "ln",
            OpKind::Sqrt => "sqrt",
            OpKind::Square => "square",
            OpKind::Recip => "recip",
            OpKind::Sin => "sin",
            OpKind::Cos => "cos",
            OpKind::Tanh => "tanh",
            OpKind::Sigmoid => "sigmoid",
            OpKind::Relu => "relu",
            OpKind::LeakyRelu => "leaky_relu",
            OpKind::Gelu => "gelu",
            OpKind::Softplus => "softplus",
            OpKind::Clamp => "clamp",
            OpKind::Sign => "sign",
            OpKind::Powf => "powf",
            OpKind::Erf => "erf",
            OpKind::AddScalar => "add_scalar",
            OpKind::MulScalar => "mul_scalar",
            OpKind::Add => "add",
            OpKind::Sub => "sub",
            OpKind::Mul => "mul",
            OpKind::Div => "div",
            OpKind::Pow => "pow",
            OpKind::Maximum => "maximum",
            OpKind::Minimum => "minimum",
            OpKind::WhereCond => "where_cond",
            OpKind::Sum => "sum",
            OpKind::SumAll => "sum_all",
            OpKind::Mean => "mean",
            OpKind::MeanAll => "mean_all",
            OpKind::Max => "max",
            OpKind::MaxAll => "max_all",
            OpKind::Min => "min",
            OpKind::MinAll => "min_all",
            OpKind::Var => "var",
            OpKind::VarAll => "var_all",
            OpKind::LogSumExp => "log_sum_exp",
            OpKind::Softmax => "softmax",
            OpKind::LogSoftmax => "log_softmax",
            OpKind::Matmul => "matmul",
            OpKind::Reshape => "reshape",
            OpKind::Flatten => "flatten",
            OpKind::Transpose => "transpose",
            OpKind::T => "t",
            OpKind::Permute => "permute",
            OpKind::BroadcastTo => "broadcast_to",
            OpKind::Squeeze => "squeeze",
            OpKind::Unsqueeze => "unsqueeze",
            OpKind::Narrow => "narrow",
            OpKind::Concat => "concat",
            OpKind::Stack => "stack",
            OpKind::Split => "split",
            OpKind::Chunk => "chunk",
            OpKind::IndexSelect => "index_select",
            OpKind::IndexAdd => "index_add",
            OpKind::Gather => "gather",
            OpKind::ScatterAdd => "scatter_add",
            OpKind::Custom => "custom",
        }
    }
}
