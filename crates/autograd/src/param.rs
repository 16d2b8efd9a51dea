//! Parameter identity: the stable key under which a model's parameter enters each tape.
//!
//! Parameters live outside the tape (DESIGN decision 3): a model keeps its weights from one step
//! to the next while each step records on a fresh tape. [`Tape::param`](crate::Tape::param) puts
//! a parameter on a tape under its [`ParamId`], once per tape, and the gradients come back keyed
//! by the same id, so an optimizer finds them without holding any var or tape.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The identity of a parameter: unique in the process, fixed for the parameter's life, cheap to
/// copy and to hash.
///
/// ```
/// use shendu_autograd::ParamId;
/// let (a, b) = (ParamId::new(), ParamId::new());
/// assert_ne!(a, b);
/// assert_eq!(a, a.clone());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParamId(u64);

static NEXT_PARAM_ID: AtomicU64 = AtomicU64::new(0);

impl ParamId {
    /// A fresh id, different from every other id of this process.
    pub fn new() -> Self {
        ParamId(NEXT_PARAM_ID.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number (for logs; two ids are equal exactly when their numbers are).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl Default for ParamId {
    /// A fresh id, as [`ParamId::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ParamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "param#{}", self.0)
    }
}
