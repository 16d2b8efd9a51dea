//! `Var`: a value on a tape, and the one function through which every op records itself.

use std::fmt;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::rc::Rc;

use shendu_tensor::{Element, Tensor};
use smallvec::SmallVec;

use crate::error::fail;
use crate::op::Op;
use crate::tape::{Node, NodeId, Operand, Tape, TapeState, SPENT};

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

impl<T: Element> fmt::Display for Var<T> {
    /// The value as a tensor prints, with what the tape knows of it, as PyTorch shows
    /// `grad_fn` and `requires_grad`: `tensor([1.0000, 2.0000], shape=[2], grad_fn=tanh)` for
    /// the output of an op, `requires_grad=true` for a leaf, nothing more for a constant.
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0, 1.0], [2]));
    /// assert_eq!(x.to_string(), "tensor([0.0000, 1.0000], shape=[2], requires_grad=true)");
    /// assert_eq!(format!("{:.2}", x.tanh()), "tensor([0.00, 0.76], shape=[2], grad_fn=tanh)");
    /// assert_eq!(x.detach().to_string(), "tensor([0.0000, 1.0000], shape=[2])");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = match f.precision() {
            Some(p) => format!("{:.p$}", self.value),
            None => self.value.to_string(),
        };
        let Some(node) = self.node else {
            return f.write_str(&value);
        };
        // The tensor's text ends with its closing parenthesis; the tape's part goes inside it.
        f.write_str(value.strip_suffix(')').unwrap_or(&value))?;
        let nodes = self.tape.nodes.borrow();
        let op = &nodes[node].op;
        if op.is_leaf() {
            f.write_str(", requires_grad=true)")
        } else {
            write!(f, ", grad_fn={})", op.name())
        }
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

    /// A var over `value` that owns nothing, for a gradient rule's inputs and output: its tensor
    /// and its tape pointer are bitwise copies whose reference counts were not raised, and it
    /// comes in a `ManuallyDrop` so that they are never lowered either. A sweep makes three or
    /// four of these a node; as owning vars, each was an atomic increment and decrement of the
    /// value's count (and a change of the tape's), and a small model's step (W2) ran 6% slower.
    ///
    /// Whatever a rule does with such a var goes through `&Var`: it can read it, or clone it,
    /// which raises the counts for the clone as for any var; nothing can move the value out or
    /// change it in place, which needs an owned tensor.
    ///
    /// # Safety
    /// The view must not be used after `value` or `tape` is dropped or moved (it reads both
    /// through the copies), and must never be taken out of its `ManuallyDrop`.
    #[inline(always)]
    pub(crate) unsafe fn unowned(
        value: &Tensor<T>,
        node: Option<NodeId>,
        tape: &Rc<TapeState<T>>,
    ) -> ManuallyDrop<Self> {
        // SAFETY: the copies are never dropped (`ManuallyDrop`), so the counts they did not
        // raise are not lowered; while the caller keeps `value` and `tape` alive, as the
        // contract says, the storage and the tape they point to stay allocated.
        ManuallyDrop::new(Var {
            value: unsafe { std::ptr::read(value) },
            node,
            tape: unsafe { std::ptr::read(tape) },
        })
    }

    /// [`Var::unowned`] views as the vars they are, for a rule that takes `&[Var]`.
    pub(crate) fn as_vars(views: &[ManuallyDrop<Self>]) -> &[Self] {
        // SAFETY: `ManuallyDrop<Var>` is `repr(transparent)` over `Var`, so the slices have the
        // same layout; a shared slice cannot drop or move its elements, so nothing the
        // `ManuallyDrop` prevents becomes possible.
        unsafe { &*(views as *const [ManuallyDrop<Self>] as *const [Self]) }
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

    /// The single element of a var with one element (a loss, say).
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f32>::new();
    /// let loss = tape.var(Tensor::from_vec(vec![1.0, 2.0], [2])).square().sum_all();
    /// assert_eq!(loss.item(), 5.0);
    /// ```
    #[track_caller]
    pub fn item(&self) -> T {
        self.value.item()
    }

    /// The value's elements in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        self.value.to_vec()
    }

    /// The tape this var is recorded on: a layer's forward reaches it through its input.
    ///
    /// ```
    /// # use shendu_autograd::{ParamId, Tape, Var};
    /// # use shendu_tensor::Tensor;
    /// fn scale(x: &Var<f32>, id: ParamId, w: &Tensor<f32>) -> Var<f32> {
    ///     x * &x.tape().param(id, w)
    /// }
    /// let tape = Tape::new();
    /// let (id, w) = (ParamId::new(), Tensor::from_vec(vec![2.0], [1]));
    /// let y = scale(&tape.constant(Tensor::ones([3])), id, &w).sum_all();
    /// assert_eq!(y.backward()[id].to_vec(), vec![3.0]);
    /// ```
    pub fn tape(&self) -> Tape<T> {
        Tape {
            state: Rc::clone(&self.tape),
        }
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
    #[track_caller]
    pub fn retain_grad(&self) {
        if let Some(id) = self.node {
            if self.tape.spent.get() {
                fail("retain_grad", SPENT);
            }
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
            fail(make_op().name(), "the operands belong to different tapes");
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
                fail(
                    "anomaly",
                    format!(
                        "{} produced {bad} in the forward pass (input shapes {shapes:?})",
                        op.name()
                    ),
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

/// The first NaN or infinity in `value`, if any, for anomaly messages.
pub(crate) fn first_non_finite<T: Element>(value: &Tensor<T>) -> Option<String> {
    let data = value.to_vec();
    let (i, x) = data.iter().enumerate().find(|(_, x)| !x.is_finite())?;
    Some(format!("{x} at flat index {i}"))
}
