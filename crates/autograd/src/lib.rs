#![warn(missing_docs)]
//! shendu-autograd: the reverse-mode tape of shendu.
//!
//! A model is a computation graph recorded as it runs: each op on a [`Var`] appends a node to
//! its [`Tape`], and [`Var::backward`] walks the tape once in reverse, running each op's gradient
//! rule. Every rule is written with the same differentiable ops users call, so
//! [`Var::grad_graph`] gives gradients that are themselves vars: gradients of gradients,
//! Hessian-vector products ([`Var::hvp`]) and forward-mode products ([`Var::jvp`]) need no second
//! set of formulas.
//!
//! Parameters live outside the tape and enter it under a stable [`ParamId`] with
//! [`Tape::param`]; [`value_and_grad`] records a step on a fresh tape and returns the loss and the
//! [`Gradients`] by parameter, with the tape already dropped, so that an optimizer updates the
//! parameters in place.
//!
//! Gradients are checked, not trusted: [`gradcheck`] and [`gradgradcheck`] compare the tape with
//! central finite differences, for the built-in ops and for [`CustomOp`]s, and the `proptest`
//! feature exposes the strategies shendu's own property tests use.
//!
//! ```
//! use shendu_autograd::Tape;
//! use shendu_tensor::Tensor;
//!
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![1.0f32, 2.0, 3.0], [3]));
//! let y = (&x * &x).sin().sum_all();
//! let grads = y.backward();
//! let expected: Vec<f32> = [1.0f32, 2.0, 3.0].iter().map(|v| 2.0 * v * (v * v).cos()).collect();
//! assert_eq!(grads[&x].to_vec(), expected);
//! ```

mod backward;
mod custom;
mod error;
mod gradcheck;
mod gradients;
mod op;
mod ops;
mod param;
mod profile;
mod spare;
mod tape;
mod value_and_grad;
mod var;

#[cfg(feature = "proptest")]
pub mod strategies;

pub use custom::CustomOp;
pub use gradcheck::{
    gradcheck, gradcheck_with, gradgradcheck, gradgradcheck_with, GradcheckError, GradcheckOptions,
};
pub use gradients::{Gradients, Iter};
pub use op::OpKind;
pub use param::ParamId;
pub use profile::{profile, OpTime, Profile};
pub use tape::{NoGradGuard, Tape};
pub use value_and_grad::{value_and_grad, value_and_grad_with_aux};
pub use var::Var;
