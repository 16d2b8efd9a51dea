//! `Var`: a value on a tape, and the one function through which every op records itself.

use std::fmt;
use std::panic::Location;
use std::rc::Rc;

use shendu_tensor::{Element, Tensor};
use smallvec::SmallVec;

use crate::op::Op;
use crate::tape::{Node, NodeId, Operand, TapeState};

/// A tensor on a [`Tape`](crate::Tape): a leaf made by [`Tape::var`](crate::Tape::var), the
/// result of an op on vars, or a constant (no node, no gradient).
///
/// A `Var` is a cheap handle (a tensor, a node id, a pointer to its tape): clone it freely.
/// Every op of `shendu-tensor` that has a derivative exists on `Var` under the same name, with
/// the same broadcasting rules.
pub struct Var<T: Element = f32> {
    pub(crate) value: Tensor<T>,
    pub(crate) node: Option<NodeId>,
    pub(crate) tape: Rc<TapeState<T>>,
}

impl<T: Element> Clone for Var<T> {
    fn clone(&self) -> Self {
        Var {
            value: self.value.clone(),
            node: self.node,
            tape: Rc::clone(&self.tape),
        }
    }
}

impl<T: Element> fmt::Debug for Var<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Var")
            .field("node", &self.node)
            .field("value", &self.value)
            .finish()
    }
}

impl<T: Element> Var<T> {
    pub(crate) fn new(value: Tensor<T>, node: Option<NodeId>, tape: &Rc<TapeState<T>>) -> Self {
        Var {
            value,
            node,
            tape: Rc::clone(tape),
        }
    }

    /// The value.
    pub fn value(&self) -> &Tensor<T> {
        &self.value
    }

    /// The value's shape.
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }

    /// The value's rank.
    pub fn rank(&self) -> usize {
        self.value.rank()
    }

    /// The value's number of elements.
    pub fn numel(&self) -> usize {
        self.value.numel()
    }

    /// Whether gradients flow through this var (a leaf, or an op recorded on a var).
    pub fn is_tracked(&self) -> bool {
        self.node.is_some()
    }

    /// The same value as a constant: gradients stop here.
    pub fn detach(&self) -> Var<T> {
        Var {
            value: self.value.clone(),
            node: None,
            tape: Rc::clone(&self.tape),
        }
    }

    /// A constant on this var's tape (for masks and other values that need no gradient).
    pub fn constant(&self, value: Tensor<T>) -> Var<T> {
        Var {
            value,
            node: None,
            tape: Rc::clone(&self.tape),
        }
    }

    /// Asks `backward` to report this intermediate var's gradient too, like PyTorch's
    /// `retain_grad` (leaves always have theirs).
    pub fn retain_grad(&self) {
        if let Some(id) = self.node {
            self.tape.nodes.borrow_mut()[id].retain = true;
        }
    }

    /// Records `op` with `inputs`, whose result is `value`. An op on constants only, or while the
    /// tape is not recording, costs no node. `make_op` runs only if a node is recorded.
    #[track_caller]
    pub(crate) fn record(
        inputs: &[&Var<T>],
        value: Tensor<T>,
        make_op: impl FnOnce() -> Op<T>,
    ) -> Var<T> {
        let tape = &inputs[0].tape;
        if inputs[1..].iter().any(|v| !Rc::ptr_eq(&v.tape, tape)) {
            let op = make_op();
            panic!(
                "{}: the operands belong to different tapes (at {})",
                op.name(),
                fmt_location(Location::caller())
            );
        }
        let tracked = tape.recording.get() && inputs.iter().any(|v| v.node.is_some());
        let anomaly = tape.anomaly.get();
        if !tracked && !anomaly {
            return Var {
                value,
                node: None,
                tape: Rc::clone(tape),
            };
        }
        let op = make_op();
        if anomaly {
            if let Some(bad) = first_non_finite(&value) {
                let shapes: Vec<&[usize]> = inputs.iter().map(|v| v.shape()).collect();
                panic!(
                    "anomaly: {} produced {bad} in the forward pass (input shapes {shapes:?}) (at {})",
                    op.name(),
                    fmt_location(Location::caller())
                );
            }
            if !tracked {
                return Var {
                    value,
                    node: None,
                    tape: Rc::clone(tape),
                };
            }
        }
        let node = tape.push(Node {
            op,
            inputs: inputs
                .iter()
                .map(|v| match v.node {
                    Some(id) => Operand::Node(id),
                    None => Operand::Constant(tape.store_constant(v.value.clone())),
                })
                .collect::<SmallVec<_>>(),
            output: value.clone(),
            location: Location::caller(),
            retain: false,
        });
        Var {
            value,
            node: Some(node),
            tape: Rc::clone(tape),
        }
    }
}

pub(crate) fn fmt_location(at: &Location<'_>) -> String {
    format!("{}:{}", at.file(), at.line())
}

/// The first NaN or infinity in `value`, if any, for anomaly messages.
pub(crate) fn first_non_finite<T: Element>(value: &Tensor<T>) -> Option<String> {
    let data = value.to_vec();
    let (i, x) = data.iter().enumerate().find(|(_, x)| !x.is_finite())?;
    Some(format!("{x} at flat index {i}"))
}
