//! `Gradients`: what a backward pass returns, indexed by var and by parameter.
//!
//! It holds plain tensors and the id of the tape it came from, never the tape itself: a
//! `Gradients` is `Send`, and keeping it (to log, accumulate or step an optimizer) keeps no tape,
//! node or parameter storage alive.

use std::cell::RefCell;
use std::fmt;
use std::ops::Index;

use shendu_tensor::{Element, Tensor};

use crate::error::fail;
use crate::param::ParamId;
use crate::spare;
use crate::tape::{IdMap, NodeId};
use crate::var::Var;

/// Gradients of one output with respect to the leaves of its tape (and the vars marked with
/// [`Var::retain_grad`]): indexed by var (`grads[&x]`) while the tape lives, and by parameter id
/// (`grads[id]`, [`Gradients::param`]) for the leaves made by [`Tape::param`](crate::Tape::param).
///
/// Iterating visits the parameters' gradients, in the order the parameters entered the tape
/// (the order of the forward pass, the same in every run).
///
/// ```
/// use shendu_autograd::{ParamId, Tape};
/// use shendu_tensor::Tensor;
///
/// let (a, b) = (ParamId::new(), ParamId::new());
/// let (wa, wb) = (Tensor::from_vec(vec![2.0f32], [1]), Tensor::from_vec(vec![5.0], [1]));
/// let tape = Tape::new();
/// let y = (&tape.param(a, &wa) * &tape.param(b, &wb)).sum_all();
/// let grads = y.backward();
/// drop(tape);                                  // the gradients outlive the tape
/// let by_param: Vec<(ParamId, Vec<f32>)> = grads.iter().map(|(id, g)| (id, g.to_vec())).collect();
/// assert_eq!(by_param, vec![(a, vec![5.0]), (b, vec![2.0])]);
/// ```
pub struct Gradients<T: Element = f32> {
    /// The id of the differentiated tape, so that vars of other tapes find nothing.
    tape: u64,
    /// The gradients of vars that are not parameters, by node.
    by_node: IdMap<NodeId, Tensor<T>>,
    /// The parameters' gradients with their leaf's node, in node order.
    params: Vec<(ParamId, NodeId, Tensor<T>)>,
    /// The position of each parameter in `params`.
    param_index: IdMap<ParamId, usize>,
    /// The box the containers came in, given back with them when this is dropped.
    parts: Option<Box<GradientParts<T>>>,
}

/// The containers of a `Gradients`, handed from each one dropped to the next one made on the
/// thread (see `spare`).
pub(crate) struct GradientParts<T: Element> {
    by_node: IdMap<NodeId, Tensor<T>>,
    params: Vec<(ParamId, NodeId, Tensor<T>)>,
    param_index: IdMap<ParamId, usize>,
}

impl<T: Element> Default for GradientParts<T> {
    fn default() -> Self {
        GradientParts {
            by_node: IdMap::default(),
            params: Vec::new(),
            param_index: IdMap::default(),
        }
    }
}

thread_local! {
    /// The emptied containers of the last `Gradients` this thread dropped.
    static SPARE_GRADIENTS: spare::Slot = const { RefCell::new(None) };
}

impl<T: Element> Drop for Gradients<T> {
    fn drop(&mut self) {
        let Some(mut parts) = self.parts.take() else {
            return;
        };
        parts.by_node = spare::emptied_map(std::mem::take(&mut self.by_node));
        parts.params = spare::emptied(std::mem::take(&mut self.params));
        parts.param_index = spare::emptied_map(std::mem::take(&mut self.param_index));
        spare::give(&SPARE_GRADIENTS, parts);
    }
}

impl<T: Element> Gradients<T> {
    /// No gradients yet, of the tape `tape`, with room for `params` parameters. A backward
    /// sweep fills it with [`Gradients::insert_var`] and [`Gradients::push_param`], then calls
    /// [`Gradients::index_params`].
    pub(crate) fn empty(tape: u64, params: usize) -> Self {
        let mut parts = spare::take::<GradientParts<T>>(&SPARE_GRADIENTS);
        let GradientParts {
            by_node,
            params: mut param_list,
            param_index,
        } = std::mem::take(&mut *parts);
        param_list.reserve(params);
        Gradients {
            tape,
            by_node,
            params: param_list,
            param_index,
            parts: Some(parts),
        }
    }

    /// The gradient of the var of node `node`, which is not a parameter's leaf.
    pub(crate) fn insert_var(&mut self, node: NodeId, grad: Tensor<T>) {
        self.by_node.insert(node, grad);
    }

    /// The gradient of parameter `id`, whose leaf is node `node`. Parameters come in node order,
    /// or all in reverse node order.
    pub(crate) fn push_param(&mut self, id: ParamId, node: NodeId, grad: Tensor<T>) {
        self.params.push((id, node, grad));
    }

    /// Indexes the parameters once they are all in, after putting them in node order if they
    /// came `last_first`.
    pub(crate) fn index_params(&mut self, last_first: bool) {
        if last_first {
            self.params.reverse();
        }
        debug_assert!(self.params.windows(2).all(|w| w[0].1 < w[1].1));
        self.param_index.clear();
        let positions = self.params.iter().enumerate();
        self.param_index
            .extend(positions.map(|(k, (id, _, _))| (*id, k)));
    }

    /// The gradient for `var`, if it is a leaf (a parameter's too) or a retained var of the
    /// differentiated tape.
    pub fn get(&self, var: &Var<T>) -> Option<&Tensor<T>> {
        if var.tape.id != self.tape {
            return None;
        }
        let node = var.node?;
        if let Some(g) = self.by_node.get(&node) {
            return Some(g);
        }
        let k = self.params.binary_search_by_key(&node, |p| p.1).ok()?;
        Some(&self.params[k].2)
    }

    /// The gradient for the parameter `id`, if it entered the differentiated tape.
    pub fn param(&self, id: ParamId) -> Option<&Tensor<T>> {
        self.param_index.get(&id).map(|&k| &self.params[k].2)
    }

    /// The parameters' gradients, in the order the parameters entered the tape.
    pub fn iter(&self) -> Iter<'_, T> {
        fn entry<T: Element>(p: &(ParamId, NodeId, Tensor<T>)) -> (ParamId, &Tensor<T>) {
            (p.0, &p.2)
        }
        Iter(self.params.iter().map(entry))
    }

    /// The parameters' gradients, mutable (to scale or clip them in place), in the order the
    /// parameters entered the tape.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (ParamId, &mut Tensor<T>)> + '_ {
        self.params.iter_mut().map(|(id, _, g)| (*id, g))
    }

    /// Adds `other`'s parameter gradients to these: gradient accumulation over several batches,
    /// as PyTorch's `.grad` adds up over `backward` calls. A parameter in both gets the sum
    /// (written in place); one only in `other` is added after these, in `other`'s order. The
    /// gradients of `other`'s non-parameter vars belong to its own tape and are not carried over.
    ///
    /// ```
    /// use shendu_autograd::{value_and_grad, ParamId};
    /// use shendu_tensor::Tensor;
    /// let (id, w) = (ParamId::new(), Tensor::from_vec(vec![1.0f64, 2.0], [2]));
    /// let batch = |x: f64| value_and_grad(|tape| tape.param(id, &w).mul_scalar(x).sum_all()).1;
    /// let mut grads = batch(3.0);
    /// grads.accumulate(&batch(4.0));
    /// assert_eq!(grads[id].to_vec(), vec![7.0, 7.0]);
    /// ```
    pub fn accumulate(&mut self, other: &Gradients<T>) {
        for (id, node, g) in &other.params {
            match self.param_index.get(id) {
                Some(&i) => self.params[i].2.add_(g),
                None => {
                    self.param_index.insert(*id, self.params.len());
                    self.params.push((*id, *node, g.clone()));
                }
            }
        }
    }

    /// Number of gradients held: one per leaf (parameters included) and per retained var.
    pub fn len(&self) -> usize {
        self.by_node.len() + self.params.len()
    }

    /// Whether no gradient is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The iterator of [`Gradients::iter`]: each parameter's id and gradient.
pub struct Iter<'a, T: Element>(ParamEntries<'a, T>);

type ParamEntries<'a, T> = std::iter::Map<
    std::slice::Iter<'a, (ParamId, NodeId, Tensor<T>)>,
    fn(&'a (ParamId, NodeId, Tensor<T>)) -> (ParamId, &'a Tensor<T>),
>;

impl<'a, T: Element> Iterator for Iter<'a, T> {
    type Item = (ParamId, &'a Tensor<T>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<T: Element> ExactSizeIterator for Iter<'_, T> {}

impl<'a, T: Element> IntoIterator for &'a Gradients<T> {
    type Item = (ParamId, &'a Tensor<T>);
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T: Element> Index<&Var<T>> for Gradients<T> {
    type Output = Tensor<T>;

    #[track_caller]
    fn index(&self, var: &Var<T>) -> &Tensor<T> {
        // A `match`, not a closure: `fail` must see this function's caller.
        match self.get(var) {
            Some(g) => g,
            None => {
                let why = if var.tape.id != self.tape {
                    "it belongs to another tape than the differentiated output"
                } else {
                    "it is a constant, or an intermediate var without retain_grad()"
                };
                fail(
                    "gradients",
                    format!("no gradient for this var of shape {:?}: {why}", var.shape()),
                )
            }
        }
    }
}

impl<T: Element> Index<ParamId> for Gradients<T> {
    type Output = Tensor<T>;

    #[track_caller]
    fn index(&self, id: ParamId) -> &Tensor<T> {
        match self.param(id) {
            Some(g) => g,
            None => fail(
                "gradients",
                format!("no gradient for {id}: it did not enter the differentiated tape"),
            ),
        }
    }
}

impl<T: Element> fmt::Debug for Gradients<T> {
    /// The shapes of the parameters' gradients, and how many vars have one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shapes: Vec<(ParamId, &[usize])> = self.iter().map(|(id, g)| (id, g.shape())).collect();
        f.debug_struct("Gradients")
            .field("params", &shapes)
            .field("vars", &self.by_node.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use shendu_tensor::Tensor;

    use super::Gradients;
    use crate::param::ParamId;

    #[test]
    fn gradients_can_move_to_another_thread() {
        fn assert_send<S: Send>() {}
        assert_send::<Gradients<f32>>();
        assert_send::<Gradients<f64>>();
    }

    #[test]
    fn the_next_gradients_on_a_thread_fill_the_last_ones_containers() {
        let ids: Vec<ParamId> = (0..5).map(|_| ParamId::new()).collect();
        let mut grads = Gradients::<f32>::empty(7, ids.len());
        for (node, &id) in ids.iter().enumerate().rev() {
            grads.push_param(id, node, Tensor::full([1], node as f32));
        }
        grads.insert_var(9, Tensor::zeros([2]));
        grads.index_params(true);
        assert_eq!(grads[ids[3]].to_vec(), vec![3.0]);
        let list = (grads.params.as_ptr(), grads.params.capacity());
        let index_room = grads.param_index.capacity();
        drop(grads);
        let next = Gradients::<f32>::empty(8, 1);
        assert!(next.is_empty() && next.param(ids[0]).is_none());
        assert_eq!((next.params.as_ptr(), next.params.capacity()), list);
        assert_eq!(next.param_index.capacity(), index_room);
        assert!(next.by_node.capacity() > 0);
    }
}
