//! The reverse sweep, and what it returns: `backward`, `grad_graph`, `hvp`, `jvp`.
//!
//! The sweep walks the tape once from the output's node down to node 0, a plain loop, so the
//! depth of the graph never touches the call stack. Each node's gradient rule is run with
//! recording off for first-order gradients (no nodes, no overhead) and with recording on for
//! `grad_graph`, whose gradients are then vars that can be differentiated again.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Index;
use std::rc::Rc;

use shendu_tensor::{Element, Tensor};
use smallvec::SmallVec;

use crate::op::{backward as rule, Op};
use crate::tape::{Node, NodeId};
use crate::var::{first_non_finite, fmt_location, Var};

/// A map keyed by node id. Ids are distinct small integers, so one multiplication spreads them
/// well enough: a step of a small model looks up a handful of gradients, and SipHash would be a
/// visible part of it.
type NodeMap<V> = HashMap<NodeId, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of a node id (the high bits, which the table uses too, come out mixed).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_usize` is used for node ids; fold anything else in byte by byte.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_usize(&mut self, id: usize) {
        self.0 = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Gradients of one output with respect to the leaves (and the vars marked with
/// [`Var::retain_grad`]), indexed by var: `grads[&x]`.
pub struct Gradients<T: Element = f32> {
    tape: u64,
    by_node: NodeMap<Tensor<T>>,
}

impl<T: Element> Gradients<T> {
    /// The gradient for `var`, if it is a leaf or a retained var of the differentiated tape.
    pub fn get(&self, var: &Var<T>) -> Option<&Tensor<T>> {
        if var.tape.id != self.tape {
            return None;
        }
        self.by_node.get(&var.node?)
    }

    /// Number of gradients held.
    pub fn len(&self) -> usize {
        self.by_node.len()
    }

    /// Whether no gradient is held.
    pub fn is_empty(&self) -> bool {
        self.by_node.is_empty()
    }
}

impl<T: Element> Index<&Var<T>> for Gradients<T> {
    type Output = Tensor<T>;

    #[track_caller]
    fn index(&self, var: &Var<T>) -> &Tensor<T> {
        let at = std::panic::Location::caller();
        self.get(var).unwrap_or_else(|| {
            let why = if var.tape.id != self.tape {
                "it belongs to another tape than the differentiated output"
            } else {
                "it is a constant, or an intermediate var without retain_grad()"
            };
            panic!(
                "gradients: no gradient for this var of shape {:?}: {why} (at {})",
                var.shape(),
                fmt_location(at)
            )
        })
    }
}

impl<T: Element> Var<T> {
    /// Gradients of this scalar var with respect to every leaf of its tape (zero for a leaf it
    /// does not depend on) and every var marked with [`Var::retain_grad`].
    ///
    /// A non-scalar var needs an explicit seed: see [`Var::backward_with`].
    #[track_caller]
    pub fn backward(&self) -> Gradients<T> {
        if self.numel() != 1 {
            panic!(
                "backward: the output has shape {:?}, not one element; call backward_with(seed) \
                 with a seed of that shape (the vector in the vector-Jacobian product) (at {})",
                self.shape(),
                fmt_location(std::panic::Location::caller())
            );
        }
        self.backward_with(&Tensor::ones(self.shape()))
    }

    /// Gradients of Σ seed ⊙ self, that is the vector-Jacobian product with `seed`.
    #[track_caller]
    pub fn backward_with(&self, seed: &Tensor<T>) -> Gradients<T> {
        let root = self.root("backward_with", seed.shape());
        let seed = self.constant(seed.clone());
        let found = sweep(&self.tape, root, seed, false, |_, keep| keep);
        let mut by_node: NodeMap<Tensor<T>> =
            found.into_iter().map(|(id, g)| (id, g.value)).collect();
        // A leaf the output does not depend on has gradient zero.
        for (id, node) in self.tape.nodes.borrow().iter().enumerate() {
            if matches!(node.op, Op::Leaf) {
                by_node
                    .entry(id)
                    .or_insert_with(|| Tensor::zeros(node.output.shape()));
            }
        }
        Gradients {
            tape: self.tape.id,
            by_node,
        }
    }

    /// Gradients of this scalar var with respect to `wrt`, as vars recorded on the tape: they
    /// can be differentiated again (gradient penalties, Hessian-vector products).
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![3.0], [1]));
    /// let y = x.powf(3.0).sum_all();                 // x³
    /// let dy = y.grad_graph(&[&x]).remove(0);        // 3x² = 27
    /// let d2y = dy.sum_all().backward();             // 6x = 18
    /// assert_eq!(dy.value().to_vec(), vec![27.0]);
    /// assert_eq!(d2y[&x].to_vec(), vec![18.0]);
    /// ```
    #[track_caller]
    pub fn grad_graph(&self, wrt: &[&Var<T>]) -> Vec<Var<T>> {
        if self.numel() != 1 {
            panic!(
                "grad_graph: the output has shape {:?}, not one element; call grad_graph_with \
                 with a seed var of that shape (at {})",
                self.shape(),
                fmt_location(std::panic::Location::caller())
            );
        }
        self.grad_graph_with(wrt, &self.constant(Tensor::ones(self.shape())))
    }

    /// Like [`Var::grad_graph`] for Σ seed ⊙ self; the seed may itself be a tracked var.
    #[track_caller]
    pub fn grad_graph_with(&self, wrt: &[&Var<T>], seed: &Var<T>) -> Vec<Var<T>> {
        let root = self.root("grad_graph_with", seed.shape());
        let targets: Vec<Option<NodeId>> = wrt.iter().map(|v| v.node).collect();
        let mut found = sweep(&self.tape, root, seed.clone(), true, |id, _| {
            targets.contains(&Some(id))
        });
        wrt.iter()
            .map(|v| match v.node.and_then(|id| found.remove(&id)) {
                Some(g) => g,
                None => v.constant(Tensor::zeros(v.shape())),
            })
            .collect()
    }

    /// The Hessian of this scalar var with respect to `x`, times `v`: ∇²y · v, by differentiating
    /// ⟨∇y, v⟩ once more.
    #[track_caller]
    pub fn hvp(&self, x: &Var<T>, v: &Tensor<T>) -> Tensor<T> {
        let g = self.grad_graph(&[x]).remove(0);
        let g_dot_v = (&g * &x.constant(v.clone())).sum_all();
        // A gradient that does not depend on any var (y linear in x) has Hessian zero.
        if !g_dot_v.is_tracked() {
            return Tensor::zeros(x.shape());
        }
        g_dot_v.backward()[x].clone()
    }

    /// The Jacobian of this var with respect to `x`, times `v` (forward-mode product J·v), by the
    /// double-backward trick: Jᵀu is linear in u, so J·v = ∂⟨Jᵀu, v⟩/∂u.
    #[track_caller]
    pub fn jvp(&self, x: &Var<T>, v: &Tensor<T>) -> Tensor<T> {
        let u = Var::leaf(&self.tape, Tensor::zeros(self.shape()));
        let jt_u = self.grad_graph_with(&[x], &u).remove(0);
        let jt_u_dot_v = (&jt_u * &x.constant(v.clone())).sum_all();
        // Jᵀu not depending on u means J = 0 (the output does not depend on x).
        if !jt_u_dot_v.is_tracked() {
            return Tensor::zeros(self.shape());
        }
        jt_u_dot_v.backward()[&u].clone()
    }

    /// This var's node, checking that it can be differentiated with a seed of `seed_shape`.
    #[track_caller]
    fn root(&self, op: &str, seed_shape: &[usize]) -> NodeId {
        let at = std::panic::Location::caller();
        if seed_shape != self.shape() {
            panic!(
                "{op}: the seed has shape {seed_shape:?} but the output has shape {:?} (at {})",
                self.shape(),
                fmt_location(at)
            );
        }
        self.node.unwrap_or_else(|| {
            panic!(
                "{op}: the output does not depend on any var (it was computed from constants, \
                 after detach(), or under no_grad) (at {})",
                fmt_location(at)
            )
        })
    }
}

/// Runs the gradient rules from `root` down with `seed` as the root's gradient, recording the
/// rules' ops if `record`. Returns the gradients of the nodes for which `keep(id, retain)` is
/// true, `retain` being the node's own flag (set for leaves and retained vars).
fn sweep<T: Element>(
    tape: &Rc<crate::tape::TapeState<T>>,
    root: NodeId,
    seed: Var<T>,
    record: bool,
    keep: impl Fn(NodeId, bool) -> bool,
) -> NodeMap<Var<T>> {
    // The rules' own ops must not trip the forward anomaly check: a non-finite gradient is
    // reported below, naming the op whose rule produced it and that op's line.
    let anomaly = tape.anomaly.replace(false);
    let recording = tape.recording.replace(record);
    // Restore both flags even if a rule panics.
    struct Restore<'a, T: Element>(&'a crate::tape::TapeState<T>, bool, bool);
    impl<T: Element> Drop for Restore<'_, T> {
        fn drop(&mut self) {
            self.0.recording.set(self.1);
            self.0.anomaly.set(self.2);
        }
    }
    let _restore = Restore(tape, recording, anomaly);

    let mut grads: Vec<Option<Var<T>>> = vec![None; root + 1];
    grads[root] = Some(seed);
    let mut found = NodeMap::default();
    for id in (0..=root).rev() {
        let Some(grad) = grads[id].take() else {
            continue;
        };
        // A first-order sweep records nothing, so the node list can stay borrowed while the rule
        // runs; a recording sweep appends nodes, so it works on a copy of the node's parts.
        let borrowed;
        let copied;
        let node: &Node<T> = if record {
            copied = tape.nodes.borrow()[id].parts();
            &copied
        } else {
            borrowed = tape.nodes.borrow();
            &borrowed[id]
        };
        let (op, location) = (&node.op, node.location);
        if keep(id, node.retain) {
            found.insert(id, grad.clone());
        }
        if matches!(op, Op::Leaf) {
            continue;
        }
        let inputs = &node.inputs;
        let output = node.output.clone();
        let input_vars: SmallVec<[Var<T>; 2]> = inputs
            .iter()
            .map(|&operand| tape.operand(operand))
            .collect();
        let output = Var::new(output, Some(id), tape);
        let input_grads = rule(op, &input_vars, &output, &grad, tape);
        for (input, input_grad) in input_vars.iter().zip(input_grads) {
            let (Some(to), Some(input_grad)) = (input.node, input_grad) else {
                continue;
            };
            if anomaly {
                if let Some(bad) = first_non_finite(&input_grad.value) {
                    let shapes: Vec<&[usize]> = input_vars.iter().map(|v| v.shape()).collect();
                    panic!(
                        "anomaly: the gradient of {} (input shapes {shapes:?}) is {bad} in the \
                         backward pass (at {})",
                        op.name(),
                        fmt_location(location)
                    );
                }
            }
            // A rule returning the wrong shape would corrupt every gradient below it; a custom
            // op's rule is user code, so this is checked in release builds too.
            assert_eq!(
                input_grad.shape(),
                input.shape(),
                "the gradient rule of {} returned shape {:?} for an input of shape {:?} (op at {})",
                op.name(),
                input_grad.shape(),
                input.shape(),
                fmt_location(location)
            );
            grads[to] = Some(match grads[to].take() {
                Some(sum) => &sum + &input_grad,
                None => input_grad,
            });
        }
    }
    found
}

impl<T: Element> Var<T> {
    /// A new leaf on the tape behind `state`.
    pub(crate) fn leaf(state: &Rc<crate::tape::TapeState<T>>, value: Tensor<T>) -> Var<T> {
        crate::Tape {
            state: Rc::clone(state),
        }
        .var(value)
    }
}
