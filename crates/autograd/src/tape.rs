//! The tape: a Wengert list of the ops recorded during one forward pass.
//!
//! Each recorded op appends a [`Node`]: which op, the ids and values of its inputs, its output
//! and the caller's source line. Nodes are only ever appended, so a node's inputs always have
//! smaller ids than the node, and the backward sweep is a single loop from the last id down.
//! A tape lives for one forward/backward pass; parameters live outside it.

use std::cell::{Cell, RefCell};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use shendu_tensor::{Element, Tensor};
use smallvec::SmallVec;

use crate::error::{fail, fail_at};
use crate::op::Op;
use crate::param::ParamId;
use crate::spare;
use crate::var::Var;

/// Position of a node on its tape.
pub(crate) type NodeId = usize;

/// Position of a constant in its tape's constant store.
pub(crate) type ConstantId = usize;

/// A map keyed by node id or parameter id. Ids are distinct small integers, so one
/// multiplication spreads them well enough: a step of a small model looks up a handful of them,
/// and SipHash would be a visible part of it.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of an id (the high bits, which the table uses too, come out mixed).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_usize` and `write_u64` are used for ids; fold anything else in bytewise.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, id: usize) {
        self.write_u64(id as u64);
    }
}

/// One input of a recorded op: a node, whose value is that node's output, or a constant kept in
/// the tape's constant store. Keeping values out of the node keeps nodes small, and a value
/// shared by many ops is stored once.
#[derive(Clone, Copy)]
pub(crate) enum Operand {
    Node(NodeId),
    Constant(ConstantId),
}

/// The inputs a node holds without a heap allocation: the most any built-in op takes (`linear`'s
/// input, weight and bias). A small model's step is per-node overhead, and a spilled list is an
/// allocation in each of the node, its sweep and its rule's result.
pub(crate) const INLINE_INPUTS: usize = 3;

/// One recorded op.
pub(crate) struct Node<T: Element> {
    pub op: Op<T>,
    pub inputs: SmallVec<[Operand; INLINE_INPUTS]>,
    pub output: Tensor<T>,
    pub location: &'static Location<'static>,
    /// Keep this node's gradient in the result of `backward` (leaves always keep theirs).
    pub retain: bool,
}

/// The shared state behind a [`Tape`] and its [`Var`]s.
pub(crate) struct TapeState<T: Element> {
    /// Unique among the tapes of this process, so that gradients can tell vars of other tapes.
    pub id: u64,
    pub nodes: RefCell<Vec<Node<T>>>,
    /// Values of the constant operands of recorded ops (and of masks and indices ops keep).
    pub constants: RefCell<Vec<Tensor<T>>>,
    /// The leaf of each parameter put on this tape, so that a parameter used twice is one leaf.
    pub params: RefCell<IdMap<ParamId, NodeId>>,
    /// False inside a no-grad scope and while first-order gradient rules run.
    pub recording: Cell<bool>,
    pub anomaly: Cell<bool>,
    /// Set by the sweep of [`value_and_grad`](crate::value_and_grad), which takes the nodes off
    /// the tape as it goes: no op can be recorded on it any more, nor a var differentiated.
    pub spent: Cell<bool>,
    /// The list of per-node gradient slots the last sweep used, emptied (see `grad_slots`).
    grad_slots: Cell<Vec<Option<Var<T>>>>,
    /// The box the tape's containers came in, given back with them when the tape is dropped.
    parts: Option<Box<TapeParts<T>>>,
}

/// Why a spent tape (see [`TapeState::spent`]) refuses an op.
pub(crate) const SPENT: &str = "this var's tape was differentiated by value_and_grad, which frees \
     the tape as it goes; its vars' values can still be read, but they cannot be used in recorded \
     ops or differentiated again (return what is needed from the closure instead)";

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(0);

/// Room for the nodes of a small model's step, so that recording it never regrows the list.
const INITIAL_NODES: usize = 64;

/// The containers a tape fills as it records and differentiates, handed from each tape to the
/// next on its thread (see `spare`).
pub(crate) struct TapeParts<T: Element> {
    nodes: Vec<Node<T>>,
    constants: Vec<Tensor<T>>,
    params: IdMap<ParamId, NodeId>,
    grad_slots: Vec<Option<Var<T>>>,
}

impl<T: Element> Default for TapeParts<T> {
    fn default() -> Self {
        TapeParts {
            nodes: Vec::new(),
            constants: Vec::new(),
            params: IdMap::default(),
            grad_slots: Vec::new(),
        }
    }
}

thread_local! {
    /// The emptied containers of the last tape this thread dropped, for its next tape.
    static SPARE_TAPE: spare::Slot = const { RefCell::new(None) };
}

impl<T: Element> Drop for TapeState<T> {
    fn drop(&mut self) {
        let Some(mut parts) = self.parts.take() else {
            return;
        };
        parts.nodes = spare::emptied(std::mem::take(self.nodes.get_mut()));
        parts.constants = spare::emptied(std::mem::take(self.constants.get_mut()));
        parts.params = spare::emptied_map(std::mem::take(self.params.get_mut()));
        parts.grad_slots = spare::emptied(self.grad_slots.take());
        spare::give(&SPARE_TAPE, parts);
    }
}

/// Records the ops of one forward pass so that [`Var::backward`] can run them in reverse.
///
/// Cheap to create; drop it (and its vars) after the backward pass to free what it holds. A
/// `Tape` is a handle: clones share one recording.
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_tensor::Tensor;
///
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0f32, 2.0, 3.0], [3]));
/// let y = (&x * &x).sum_all();          // Σ x²
/// let grads = y.backward();
/// assert_eq!(grads[&x].to_vec(), vec![2.0, 4.0, 6.0]);
/// ```
pub struct Tape<T: Element = f32> {
    pub(crate) state: Rc<TapeState<T>>,
}

impl<T: Element> Clone for Tape<T> {
    fn clone(&self) -> Self {
        Tape {
            state: Rc::clone(&self.state),
        }
    }
}

impl<T: Element> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Tape<T> {
    /// An empty tape, recording.
    pub fn new() -> Self {
        crate::profile::tape_created();
        let mut parts = spare::take::<TapeParts<T>>(&SPARE_TAPE);
        // Moving the containers out leaves empty ones, which own no memory, in the box.
        let TapeParts {
            mut nodes,
            constants,
            params,
            grad_slots,
        } = std::mem::take(&mut *parts);
        nodes.reserve(INITIAL_NODES);
        Tape {
            state: Rc::new(TapeState {
                id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
                nodes: RefCell::new(nodes),
                constants: RefCell::new(constants),
                params: RefCell::new(params),
                recording: Cell::new(true),
                anomaly: Cell::new(false),
                spent: Cell::new(false),
                grad_slots: Cell::new(grad_slots),
                parts: Some(parts),
            }),
        }
    }

    /// A leaf that wants a gradient: `backward` reports d(output)/d(this).
    #[track_caller]
    pub fn var(&self, value: Tensor<T>) -> Var<T> {
        let node = self.state.push(Node {
            op: Op::Leaf,
            inputs: SmallVec::new(),
            output: value.clone(),
            location: Location::caller(),
            retain: true,
        });
        Var::new(value, Some(node), &self.state)
    }

    /// The leaf of the parameter `id` on this tape, holding `value`: the first call puts it on
    /// the tape, later calls with the same id return the same leaf, so that a weight used twice
    /// (tied weights) is one leaf whose gradient sums both uses. The gradients of a
    /// [`backward`](Var::backward) come back keyed by `id` too ([`Gradients::param`]), in a type
    /// that outlives the tape.
    ///
    /// Under [`Tape::no_grad`] the parameter is a constant and records nothing.
    ///
    /// The leaf shares `value`'s storage: drop the tape and its vars before updating the
    /// parameter in place, or the update copies it first ([`value_and_grad`] does both).
    ///
    /// ```
    /// use shendu_autograd::{ParamId, Tape};
    /// use shendu_tensor::Tensor;
    ///
    /// let (id, w) = (ParamId::new(), Tensor::from_vec(vec![3.0f64], [1]));
    /// let tape = Tape::new();
    /// let y = (&tape.param(id, &w) * &tape.param(id, &w)).sum_all();   // w·w, one leaf
    /// let grads = y.backward();
    /// assert_eq!(grads[id].to_vec(), vec![6.0]);
    /// ```
    ///
    /// [`Gradients::param`]: crate::Gradients::param
    /// [`value_and_grad`]: crate::value_and_grad
    #[track_caller]
    pub fn param(&self, id: ParamId, value: &Tensor<T>) -> Var<T> {
        // Not recording (inference under no_grad): a parameter is a value like any other.
        if !self.state.recording.get() {
            return self.constant(value.clone());
        }
        // One lookup: a parameter enters a tape once per step, and the second lookup, to insert
        // it, was two fifths of this call.
        let node = match self.state.params.borrow_mut().entry(id) {
            Entry::Occupied(slot) => *slot.get(),
            Entry::Vacant(slot) => {
                let node = self.state.push(Node {
                    op: Op::Param(id),
                    inputs: SmallVec::new(),
                    output: value.clone(),
                    location: Location::caller(),
                    retain: true,
                });
                slot.insert(node);
                return Var::new(value.clone(), Some(node), &self.state);
            }
        };
        let output = self.state.nodes.borrow()[node].output.clone();
        if output.shape() != value.shape() || !output.shares_storage(value) {
            fail(
                "param",
                format!(
                    "{id} is already on this tape with another value (shape {:?}, now {:?}): a \
                     parameter enters a tape with one value",
                    output.shape(),
                    value.shape()
                ),
            );
        }
        Var::new(output, Some(node), &self.state)
    }

    /// A value that needs no gradient (inputs, labels, masks). It costs no node.
    pub fn constant(&self, value: Tensor<T>) -> Var<T> {
        Var::new(value, None, &self.state)
    }

    /// Number of recorded nodes (leaves included).
    pub fn len(&self) -> usize {
        self.state.nodes.borrow().len()
    }

    /// Whether nothing has been recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops recording until the returned guard is dropped: ops on vars then produce constants,
    /// as in an evaluation pass.
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(Tensor::ones([2]));
    /// {
    ///     let _guard = tape.no_grad();
    ///     assert!(!x.exp().is_tracked());
    /// }
    /// assert!(x.exp().is_tracked());
    /// ```
    pub fn no_grad(&self) -> NoGradGuard<T> {
        NoGradGuard {
            previous: self.state.recording.replace(false),
            state: Rc::clone(&self.state),
        }
    }

    /// Turns anomaly detection on or off: when on, the first NaN or infinity produced by an op,
    /// in the forward pass or in a gradient, panics with the op, its input shapes and its line.
    pub fn detect_anomaly(&self, on: bool) {
        self.state.anomaly.set(on);
    }

    /// The recorded graph in Graphviz DOT: one node per op with its name, output shape and
    /// source line, one edge per input.
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(Tensor::ones([2, 3]));
    /// let _y = x.tanh().sum_all();
    /// let dot = tape.to_dot();
    /// assert!(dot.starts_with("digraph"));
    /// assert!(dot.contains("tanh") && dot.contains("[2, 3]"));
    /// ```
    pub fn to_dot(&self) -> String {
        let nodes = self.state.nodes.borrow();
        let constants = self.state.constants.borrow();
        let mut dot = String::from(
            "digraph shendu {\n  rankdir=LR;\n  node [shape=box, fontname=monospace];\n",
        );
        for (id, node) in nodes.iter().enumerate() {
            let name = node.op.name();
            let _ = writeln!(
                dot,
                "  n{id} [label=\"{name} {:?}\\n{}:{}\"{}];",
                node.output.shape(),
                node.location.file(),
                node.location.line(),
                if node.op.is_leaf() {
                    ", style=filled, fillcolor=lightblue"
                } else {
                    ""
                }
            );
            for (k, input) in node.inputs.iter().enumerate() {
                match *input {
                    Operand::Node(from) => {
                        let _ = writeln!(dot, "  n{from} -> n{id};");
                    }
                    Operand::Constant(c) => {
                        let shape = constants[c].shape();
                        let _ = writeln!(
                            dot,
                            "  c{id}_{k} [label=\"constant {shape:?}\", shape=ellipse];"
                        );
                        let _ = writeln!(dot, "  c{id}_{k} -> n{id};");
                    }
                }
            }
        }
        dot.push_str("}\n");
        dot
    }
}

impl<T: Element> Node<T> {
    /// A copy of the node (its op, operand ids and output share their data with the original).
    pub(crate) fn parts(&self) -> Node<T> {
        Node {
            op: self.op.clone(),
            inputs: SmallVec::from_slice(&self.inputs),
            output: self.output.clone(),
            location: self.location,
            retain: self.retain,
        }
    }
}

impl<T: Element> TapeState<T> {
    pub(crate) fn push(&self, node: Node<T>) -> NodeId {
        if self.spent.get() {
            fail_at(node.op.name(), SPENT, node.location);
        }
        // The op's name is looked up only while profiling: this is every op's recording path.
        if crate::profile::active() {
            crate::profile::recorded(node.op.name());
        }
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(node);
        nodes.len() - 1
    }

    /// Keeps `value` for the backward pass.
    pub(crate) fn store_constant(&self, value: Tensor<T>) -> ConstantId {
        let mut constants = self.constants.borrow_mut();
        constants.push(value);
        constants.len() - 1
    }

    /// `len` empty gradient slots for a backward sweep, in the list the last sweep gave back
    /// (see [`TapeState::give_grad_slots`]); a sweep run meanwhile gets a list of its own.
    pub(crate) fn grad_slots(&self, len: usize) -> Vec<Option<Var<T>>> {
        let mut slots = self.grad_slots.take();
        // Every list put there was emptied: by `give_grad_slots`, or by `spare::emptied`.
        debug_assert!(slots.is_empty());
        slots.resize_with(len, || None);
        slots
    }

    /// Keeps a sweep's slots for the next one. They are emptied first: a var in them would
    /// keep this tape alive from within.
    pub(crate) fn give_grad_slots(&self, mut slots: Vec<Option<Var<T>>>) {
        slots.clear();
        self.grad_slots.set(slots);
    }

    /// A kept constant.
    pub(crate) fn constant(&self, id: ConstantId) -> Tensor<T> {
        self.constants.borrow()[id].clone()
    }

    /// The value of an operand, as an unowned var of this tape (see [`Var::unowned`]).
    ///
    /// # Safety
    /// The view must not be used once the operand's node is taken off the tape, once its
    /// constant is dropped, or once `self` is, and must never be taken out of its `ManuallyDrop`.
    /// (The lists may grow meanwhile: the view copied the tensor, whose storage does not move.)
    pub(crate) unsafe fn operand(self: &Rc<Self>, operand: Operand) -> ManuallyDrop<Var<T>> {
        match operand {
            // SAFETY: the caller's contract, which keeps the node's output and `self` alive.
            Operand::Node(id) => unsafe {
                Var::unowned(&self.nodes.borrow()[id].output, Some(id), self)
            },
            // SAFETY: as above, for the constant.
            Operand::Constant(c) => unsafe {
                Var::unowned(&self.constants.borrow()[c], None, self)
            },
        }
    }
}

/// Restores recording when dropped; see [`Tape::no_grad`].
pub struct NoGradGuard<T: Element> {
    previous: bool,
    state: Rc<TapeState<T>>,
}

impl<T: Element> Drop for NoGradGuard<T> {
    fn drop(&mut self) {
        self.state.recording.set(self.previous);
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use shendu_tensor::Tensor;

    use super::Tape;
    use crate::param::ParamId;
    use crate::value_and_grad;

    /// One step of a two-parameter model: a parameter used twice, a constant, a product.
    fn step(w: &Tensor<f64>, b: &Tensor<f64>, ids: (ParamId, ParamId)) -> Vec<Vec<f64>> {
        let x = Tensor::from_vec(vec![1.0, -2.0, 3.0, 0.5], [2, 2]);
        let (_, grads) = value_and_grad(|tape| {
            let (w, b) = (tape.param(ids.0, w), tape.param(ids.1, b));
            let h = tape.constant(x.clone()).matmul(&w) + &b;
            (h.tanh() * &b).sum_all() + (&w * &w).sum_all()
        });
        grads.iter().map(|(_, g)| g.to_vec()).collect()
    }

    #[test]
    fn the_next_tape_on_a_thread_records_into_the_last_ones_containers() {
        let tape = Tape::<f64>::new();
        let w = tape.param(ParamId::new(), &Tensor::ones([2, 2]));
        let _ = (w.exp() * 2.0).sum_all();
        let state = &tape.state;
        let rooms = (
            state.nodes.borrow().capacity(),
            state.constants.borrow().capacity(),
            state.params.borrow().capacity(),
        );
        assert!(rooms.0 > 0 && rooms.2 > 0);
        drop((w, tape));
        let next = Tape::<f64>::new();
        let state = &next.state;
        assert!(state.nodes.borrow().is_empty() && state.params.borrow().is_empty());
        let next_rooms = (
            state.nodes.borrow().capacity(),
            state.constants.borrow().capacity(),
            state.params.borrow().capacity(),
        );
        assert_eq!(next_rooms, rooms);
    }

    #[test]
    fn steps_on_reused_containers_give_the_gradients_of_fresh_ones() {
        let ids = (ParamId::new(), ParamId::new());
        let w = Tensor::from_vec(vec![0.3, -0.1, 0.7, 0.2], [2, 2]);
        let b = Tensor::from_vec(vec![0.5, -0.4], [2]);
        let first = step(&w, &b, ids);
        // Tapes of the other element type and larger graphs in between leave their own
        // containers, which the next f64 step must not mistake for its own.
        let f32_tape = Tape::<f32>::new();
        let v = f32_tape.var(Tensor::ones([3]));
        let _ = (0..50)
            .fold(v, |acc, _| acc.exp().ln())
            .sum_all()
            .backward();
        drop(f32_tape);
        for _ in 0..3 {
            assert_eq!(step(&w, &b, ids), first);
        }
        // The same step on a thread whose containers are all new.
        let fresh = std::thread::spawn(move || step(&w, &b, ids))
            .join()
            .unwrap();
        assert_eq!(fresh, first);
    }

    #[test]
    fn a_differentiated_tape_is_freed_once_its_handles_are_dropped() {
        // The sweeps keep their gradient slots on the tape for the next sweep; a var left in
        // them would hold the tape's state alive from within.
        for consuming in [false, true] {
            let tape = Tape::<f64>::new();
            let state = Rc::downgrade(&tape.state);
            let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], [2]));
            let y = (x.tanh() * &x).sum_all();
            let grads = if consuming {
                crate::backward::backward_consuming(&y)
            } else {
                y.backward()
            };
            assert_eq!(grads.len(), 1);
            drop((x, y, tape));
            assert!(state.upgrade().is_none(), "consuming: {consuming}");
        }
    }
}
