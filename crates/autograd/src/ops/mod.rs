//! The differentiable ops on [`Var`](crate::Var), one file per family, each op's forward beside
//! its gradient rule.

pub(crate) mod binary;
pub(crate) mod index;
pub(crate) mod matmul;
pub(crate) mod movement;
pub(crate) mod reduce;
pub(crate) mod unary;
