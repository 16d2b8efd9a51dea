//! The reverse sweep, and the entry points that run it: `backward`, `grad_graph`, `hvp`, `jvp`.
//!
//! The sweep walks the tape once from the output's node down to node 0, a plain loop, so the
//! depth of the graph never touches the call stack. Each node's gradient rule is run with
//! recording off for first-order gradients (no nodes, no overhead) and with recording on for
//! `grad_graph`, whose gradients are then vars that can be differentiated again.

use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::time::Instant;

use shendu_tensor::{Element, Tensor};
use smallvec::SmallVec;

use crate::error::{fail, fail_at};
use crate::gradients::Gradients;
use crate::op::{backward as rule, Op};
use crate::profile;
use crate::tape::{IdMap, Node, NodeId, TapeState, INLINE_INPUTS, SPENT};
use crate::var::{first_non_finite, Var};

impl<T: Element> Var<T> {
    /// Gradients of this scalar var with respect to every leaf of its tape (zero for a leaf it
    /// does not depend on) and every var marked with [`Var::retain_grad`].
    ///
    /// A non-scalar var needs an explicit seed: see [`Var::backward_with`].
    #[track_caller]
    pub fn backward(&self) -> Gradients<T> {
        if self.numel() != 1 {
            fail(
                "backward",
                format!(
                    "the output has shape {:?}, not one element; call backward_with(seed) with a \
                     seed of that shape (the vector in the vector-Jacobian product)",
                    self.shape()
                ),
            );
        }
        self.backward_with(&Tensor::ones(self.shape()))
    }

    /// Gradients of Σ seed ⊙ self, that is the vector-Jacobian product with `seed`.
    #[track_caller]
    pub fn backward_with(&self, seed: &Tensor<T>) -> Gradients<T> {
        let root = self.root("backward_with", seed.shape());
        let seed = self.constant(seed.clone());
        // The sweep kept only nodes marked `retain`, last node first; leaves are among them, and
        // a leaf the output does not depend on has gradient zero. Parameters go to their list,
        // the rest into the map, which a model's step (only parameters are leaves) leaves empty.
        let mut found = sweep(&self.tape, root, seed, false, |_, keep| keep);
        let mut grads = Gradients::empty(self.tape.id, self.tape.params.borrow().len());
        for (id, node) in self.tape.nodes.borrow().iter().enumerate() {
            let grad = match found.last() {
                Some(&(next, _)) if next == id => found.pop().map(|(_, g)| g.value),
                _ => None,
            };
            let zero = || Tensor::zeros(node.output.shape());
            match node.op {
                Op::Param(param) => grads.push_param(param, id, grad.unwrap_or_else(zero)),
                Op::Leaf => grads.insert_var(id, grad.unwrap_or_else(zero)),
                _ => {
                    if let Some(grad) = grad {
                        grads.insert_var(id, grad);
                    }
                }
            }
        }
        debug_assert!(found.is_empty());
        grads.index_params(false);
        grads
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
            fail(
                "grad_graph",
                format!(
                    "the output has shape {:?}, not one element; call grad_graph_with with a \
                     seed var of that shape",
                    self.shape()
                ),
            );
        }
        self.grad_graph_with(wrt, &self.constant(Tensor::ones(self.shape())))
    }

    /// Like [`Var::grad_graph`] for Σ seed ⊙ self; the seed may itself be a tracked var.
    #[track_caller]
    pub fn grad_graph_with(&self, wrt: &[&Var<T>], seed: &Var<T>) -> Vec<Var<T>> {
        let root = self.root("grad_graph_with", seed.shape());
        for (k, v) in wrt.iter().enumerate() {
            if !Rc::ptr_eq(&v.tape, &self.tape) {
                fail(
                    "grad_graph",
                    format!(
                        "wrt[{k}] (shape {:?}) belongs to another tape than the output",
                        v.shape()
                    ),
                );
            }
        }
        let targets: Vec<Option<NodeId>> = wrt.iter().map(|v| v.node).collect();
        let mut found: IdMap<NodeId, Var<T>> =
            sweep(&self.tape, root, seed.clone(), true, |id, _| {
                targets.contains(&Some(id))
            })
            .into_iter()
            .collect();
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
        check_direction("hvp", x, v);
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
        check_direction("jvp", x, v);
        let u = self.tape().var(Tensor::zeros(self.shape()));
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
        if self.tape.spent.get() {
            fail(op, SPENT);
        }
        if seed_shape != self.shape() {
            fail(
                op,
                format!(
                    "the seed has shape {seed_shape:?} but the output has shape {:?}",
                    self.shape()
                ),
            );
        }
        match self.node {
            Some(node) => node,
            None => fail(
                op,
                "the output does not depend on any var (it was computed from constants, after \
                 detach(), or under no_grad)",
            ),
        }
    }
}

/// Panics unless the direction `v` of a Hessian- or Jacobian-vector product has the shape of the
/// var `x` it perturbs: broadcasting it would silently compute another product.
#[track_caller]
fn check_direction<T: Element>(op: &str, x: &Var<T>, v: &Tensor<T>) {
    if v.shape() != x.shape() {
        fail(
            op,
            format!(
                "the direction v has shape {:?} but x has shape {:?}; they must be equal",
                v.shape(),
                x.shape()
            ),
        );
    }
}

/// Turns off recording (unless `record`) and the forward anomaly check for a sweep, and puts
/// both flags back when dropped, even if a rule panics.
struct SweepFlags<'a, T: Element> {
    tape: &'a TapeState<T>,
    recording: bool,
    anomaly: bool,
}

impl<'a, T: Element> SweepFlags<'a, T> {
    fn set(tape: &'a TapeState<T>, record: bool) -> Self {
        // The rules' own ops must not trip the forward anomaly check: a non-finite gradient is
        // reported by `differentiate`, naming the op whose rule produced it and that op's line.
        SweepFlags {
            tape,
            anomaly: tape.anomaly.replace(false),
            recording: tape.recording.replace(record),
        }
    }
}

impl<T: Element> Drop for SweepFlags<'_, T> {
    fn drop(&mut self) {
        self.tape.recording.set(self.recording);
        self.tape.anomaly.set(self.anomaly);
    }
}

/// Runs the gradient rules from `root` down with `seed` as the root's gradient, recording the
/// rules' ops if `record`. Returns the gradients of the nodes for which `keep(id, retain)` is
/// true, `retain` being the node's own flag (set for leaves and retained vars), last node first.
fn sweep<T: Element>(
    tape: &Rc<TapeState<T>>,
    root: NodeId,
    seed: Var<T>,
    record: bool,
    keep: impl Fn(NodeId, bool) -> bool,
) -> Vec<(NodeId, Var<T>)> {
    let flags = SweepFlags::set(tape, record);
    let mut grads = tape.grad_slots(root + 1);
    grads[root] = Some(seed);
    // A model's step keeps its parameters' gradients (and, rarely, a retained var's).
    let mut found = Vec::with_capacity(tape.params.borrow().len());
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
        let kept = keep(id, node.retain);
        if node.op.is_leaf() {
            // A leaf's gradient goes nowhere else: moved, not cloned (a parameter's, each step).
            if kept {
                found.push((id, grad));
            }
            continue;
        }
        if kept {
            found.push((id, grad.clone()));
        }
        differentiate(tape, id, node, &grad, &mut grads, record, flags.anomaly);
    }
    tape.give_grad_slots(grads);
    profile::sweep_ended();
    found
}

/// The first-order sweep of a tape that is dropped right after it, as in [`value_and_grad`]:
/// each node is taken off the tape once its rule has run, so the forward pass's values are freed
/// as the sweep goes down, as PyTorch frees a graph's saved tensors during `backward()`. In a
/// step of a model this lowers the peak memory, which comes at the last rules (the gradient of
/// the first layer's weight), by the activations of every later layer. The tape is marked spent:
/// recording on it, or differentiating one of its vars again, panics with a message saying so.
///
/// [`value_and_grad`]: crate::value_and_grad
#[track_caller]
pub(crate) fn backward_consuming<T: Element>(loss: &Var<T>) -> Gradients<T> {
    if loss.numel() != 1 {
        // Fails with `backward`'s message, naming the caller's line.
        return loss.backward();
    }
    let root = loss.root("backward", loss.shape());
    let tape = &loss.tape;
    let flags = SweepFlags::set(tape, false);
    tape.spent.set(true);
    // Nodes recorded after the loss get no gradient, but a leaf among them gets a zero one.
    let len = tape.nodes.borrow().len();
    let mut grads = tape.grad_slots(len);
    grads[root] = Some(loss.constant(Tensor::ones(loss.shape())));
    let mut found = Gradients::empty(tape.id, tape.params.borrow().len());
    for id in (0..len).rev() {
        let grad = grads[id].take();
        {
            // The rules record nothing, so the node is read where it lies, and then dropped there
            // by `truncate`: moving it out first was a copy of the whole node for every op.
            let nodes = tape.nodes.borrow();
            let node = &nodes[id];
            match node.op {
                Op::Param(param) => found.push_param(param, id, leaf_grad(grad, node)),
                Op::Leaf => found.insert_var(id, leaf_grad(grad, node)),
                _ => {
                    if let Some(grad) = grad {
                        differentiate(tape, id, node, &grad, &mut grads, false, flags.anomaly);
                        if node.retain {
                            found.insert_var(id, grad.value);
                        }
                    }
                }
            }
        }
        tape.nodes.borrow_mut().truncate(id);
    }
    tape.give_grad_slots(grads);
    profile::sweep_ended();
    found.index_params(true);
    found
}

/// A leaf's gradient as `backward` reports it: zero where the output does not depend on it.
fn leaf_grad<T: Element>(grad: Option<Var<T>>, node: &Node<T>) -> Tensor<T> {
    grad.map_or_else(|| Tensor::zeros(node.output.shape()), |g| g.value)
}

/// Runs the gradient rule of node `id` (not a leaf), whose output's gradient is `grad`, and adds
/// what it returns to the gradients of the node's inputs in `grads`.
fn differentiate<T: Element>(
    tape: &Rc<TapeState<T>>,
    id: NodeId,
    node: &Node<T>,
    grad: &Var<T>,
    grads: &mut [Option<Var<T>>],
    record: bool,
    anomaly: bool,
) {
    let (op, location) = (&node.op, node.location);
    // Both lists are filled and read where they lie: as values they are a few hundred bytes,
    // and moving them (a `collect`, an owning iterator) was a copy of each for every node.
    let mut input_views: SmallVec<[ManuallyDrop<Var<T>>; INLINE_INPUTS]> = SmallVec::new();
    for &operand in &node.inputs {
        // SAFETY: the views live until this function returns. Meanwhile the operands stay on
        // the tape: the consuming sweep takes a node off only after its rule (and the operands
        // of a node are earlier nodes, or constants, which no sweep drops), a recording sweep
        // takes none off, and the caller's `tape` keeps the tape alive.
        input_views.push(unsafe { tape.operand(operand) });
    }
    let input_vars = Var::as_vars(&input_views);
    // SAFETY: `node` (the tape's, or a recording sweep's copy of it) and `tape` are borrowed for
    // the whole call, which the view does not outlive.
    let output = unsafe { Var::unowned(&node.output, Some(id), tape) };
    // A recording sweep's rules are themselves recorded ops, profiled as such.
    let started = (!record && profile::active()).then(Instant::now);
    let mut input_grads = rule(op, input_vars, &output, grad, tape, location);
    for (input, input_grad) in input_vars.iter().zip(&mut input_grads) {
        let (Some(to), Some(input_grad)) = (input.node, input_grad.take()) else {
            continue;
        };
        if anomaly && let Some(bad) = first_non_finite(&input_grad.value) {
            let shapes: Vec<&[usize]> = input_vars.iter().map(|v| v.shape()).collect();
            fail_at(
                "anomaly",
                format!(
                    "the gradient of {} (input shapes {shapes:?}) is {bad} in the backward pass",
                    op.name()
                ),
                location,
            );
        }
        // A rule returning the wrong shape would corrupt every gradient below it; a custom op's
        // rule is user code, so this is checked in release builds too.
        if input_grad.shape() != input.shape() {
            fail_at(
                op.name(),
                format!(
                    "the gradient rule returned shape {:?} for an input of shape {:?}",
                    input_grad.shape(),
                    input.shape()
                ),
                location,
            );
        }
        grads[to] = Some(match grads[to].take() {
            Some(sum) => &sum + &input_grad,
            None => input_grad,
        });
    }
    if let Some(started) = started {
        profile::differentiated(op.name(), started);
    }
}
