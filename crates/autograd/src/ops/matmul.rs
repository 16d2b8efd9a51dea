//! The matrix product on vars, NumPy style, and the affine map of a dense layer, each beside its
//! gradient rule.
//!
//! 1-D operands are promoted with `unsqueeze` and batch axes broadcast with `broadcast_to`, both
//! recorded, so the `Matmul` node itself always sees two stacks of matrices with equal batch
//! axes, and its rule needs no special cases: dA = G·Bᵀ, dB = Aᵀ·G.
//!
//! A gradient comes out in its input's layout, as in PyTorch: for an operand that is a transposed
//! view (a weight used as `w.t()`), dB = (Gᵀ·A)ᵀ instead, the same products with the operands
//! swapped. The transpose's own rule then hands the weight a contiguous gradient, which an
//! optimizer's in-place update reads straight through instead of a cache miss per element.

use shendu_tensor::{broadcast_shapes, Dims, Element};
use smallvec::{smallvec, SmallVec};

use crate::op::{if_tracked, three_grads, two_grads, InputGrads, Op};
use crate::var::Var;

pub(crate) fn backward<T: Element>(inputs: &[Var<T>], g: &Var<T>) -> InputGrads<T> {
    let (a, b) = (&inputs[0], &inputs[1]);
    two_grads(
        if_tracked(a, || {
            if is_transposed(a) {
                b.matmul(&g.t()).t()
            } else {
                g.matmul(&b.t())
            }
        }),
        if_tracked(b, || {
            if is_transposed(b) {
                g.t().matmul(a).t()
            } else {
                a.t().matmul(g)
            }
        }),
    )
}

/// The rule of [`Var::linear`] (and of [`Var::linear_relu`], if `relu`) on a 2-D input x
/// `[n, in]`, weight w `[out, in]` and, if there are three inputs, bias b `[out]`, with output y:
/// G is the output's gradient g, or with `relu` g where y > 0 and 0 elsewhere; then dx = G·w,
/// dw = Gᵀ·x (contiguous, in the weight's own layout) and db = Σ over the rows of G.
pub(crate) fn linear_backward<T: Element>(
    relu: bool,
    inputs: &[Var<T>],
    y: &Var<T>,
    g: &Var<T>,
) -> InputGrads<T> {
    // Through the ReLU first: its gradient needs only the output, which is ≤ 0 exactly where
    // the input is (NaN passing the gradient on, as in `Var::relu`).
    let relu_grad;
    let g = if relu {
        relu_grad = y.relu_backward(g);
        &relu_grad
    } else {
        g
    };
    let (x, w) = (&inputs[0], &inputs[1]);
    if !g.tape.recording.get() {
        // A first-order sweep records nothing, so the rule needs no ops of the tape: the same
        // tensor ops, without a var and its checks around each (an eighth of this rule in a
        // small model's layer).
        let dx = if_tracked(x, || g.constant(g.value.matmul(&w.value)));
        let dw = if_tracked(w, || g.constant(g.value.t().matmul(&x.value)));
        return match inputs.get(2) {
            Some(b) => three_grads(dx, dw, if_tracked(b, || g.constant(g.value.sum(0, false)))),
            None => two_grads(dx, dw),
        };
    }
    let dx = if_tracked(x, || g.matmul(w));
    let dw = if_tracked(w, || g.t().matmul(x));
    match inputs.get(2) {
        Some(b) => three_grads(dx, dw, if_tracked(b, || g.sum(0, false))),
        None => two_grads(dx, dw),
    }
}

/// Whether the var's matrices are stored column by column (a transposed view).
fn is_transposed<T: Element>(v: &Var<T>) -> bool {
    let (shape, strides) = (v.shape(), v.value().layout().strides());
    let r = shape.len();
    strides[r - 2] == 1 && strides[r - 1] != 1 && shape[r - 2] != 1
}

impl<T: Element> Var<T> {
    /// The matrix product with NumPy's rules: 1-D·1-D is a dot product, a 1-D operand acts as a
    /// row (left) or column (right) vector, and batch axes broadcast.
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let w = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2]));
    /// let x = tape.constant(Tensor::from_vec(vec![1.0, 1.0], [2]));
    /// let y = w.matmul(&x).sum_all();        // Σ_i Σ_j w_ij x_j
    /// assert_eq!(y.backward()[&w].to_vec(), vec![1.0, 1.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn matmul(&self, other: &Var<T>) -> Var<T> {
        // The tensor product checks the shapes (naming the caller's operands) and computes the
        // value once; the recorded graph below only rearranges views around it.
        let value = self.value.matmul(&other.value);
        let (ra, rb) = (self.rank(), other.rank());
        if ra >= 2 && rb >= 2 && self.shape()[..ra - 2] == other.shape()[..rb - 2] {
            return Var::record(&[self, other], value, || Op::Matmul);
        }
        let a = if ra == 1 {
            self.unsqueeze(0)
        } else {
            self.clone()
        };
        let b = if rb == 1 {
            other.unsqueeze(1)
        } else {
            other.clone()
        };
        let batch = broadcast_shapes(
            "matmul",
            &a.shape()[..a.rank() - 2],
            &b.shape()[..b.rank() - 2],
        );
        let full = |tail: &[usize]| -> Dims { batch.iter().chain(tail).copied().collect() };
        let a = a.expand(&full(&a.shape()[a.rank() - 2..]));
        let b = b.expand(&full(&b.shape()[b.rank() - 2..]));
        let product_shape = full(&[a.shape()[a.rank() - 2], b.shape()[b.rank() - 1]]);
        let product = Var::record(&[&a, &b], value.reshape(&product_shape), || Op::Matmul);
        product.reshape(value.shape())
    }

    /// The affine map of a dense layer, `self · weightᵀ + bias`, as PyTorch's
    /// `torch.nn.functional.linear`: `self` is `[…, in]`, `weight` `[out, in]` and `bias`
    /// `[out]`; the result is `[…, out]`.
    ///
    /// It computes what `self.matmul(&weight.t())` plus the broadcast bias computes, with the same
    /// rounding, but records one node instead of four (transpose, product, broadcast, add), and
    /// adds the bias into the product's fresh output in place. A small network's step is made of
    /// few, small ops, whose bookkeeping is most of its time.
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0], [1, 2]));
    /// let w = tape.var(Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], [3, 2]));
    /// let b = tape.var(Tensor::from_vec(vec![0.5, 0.5, 0.5], [3]));
    /// let y = x.linear(&w, Some(&b));
    /// assert_eq!(y.value().to_vec(), vec![1.5, 2.5, 3.5]);
    /// let grads = y.sum_all().backward();
    /// assert_eq!(grads[&w].to_vec(), vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    /// assert_eq!(grads[&b].to_vec(), vec![1.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn linear(&self, weight: &Var<T>, bias: Option<&Var<T>>) -> Var<T> {
        self.dense(weight, bias, false)
    }

    /// `relu(self · weightᵀ + bias)`, a dense layer and its ReLU as one node: the values and
    /// gradients of [`Var::linear`] then [`Var::relu`], bit for bit, with the bias and the
    /// activation applied to the product's fresh output in one pass, and one activation fewer
    /// kept on the tape (the rule needs only the output: where it is ≤ 0 the gradient is 0).
    /// nn's `Mlp` records its ReLU layers with it.
    ///
    /// ```
    /// # use shendu_autograd::Tape;
    /// # use shendu_tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0], [1, 2]));
    /// let w = tape.var(Tensor::from_vec(vec![1.0, 0.0, 0.0, -1.0], [2, 2]));
    /// let y = x.linear_relu(&w, None);
    /// assert_eq!(y.value().to_vec(), vec![1.0, 0.0]); // relu([1, −2])
    /// let grads = y.sum_all().backward();
    /// assert_eq!(grads[&w].to_vec(), vec![1.0, 2.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn linear_relu(&self, weight: &Var<T>, bias: Option<&Var<T>>) -> Var<T> {
        self.dense(weight, bias, true)
    }

    /// [`Var::linear`], followed by a ReLU if `relu`. The tensor op computes the value and checks
    /// the shapes, naming the method and the caller's line.
    #[track_caller]
    fn dense(&self, weight: &Var<T>, bias: Option<&Var<T>>, relu: bool) -> Var<T> {
        let bias_value = bias.map(|b| &b.value);
        let value = if relu {
            self.value.linear_relu(&weight.value, bias_value)
        } else {
            self.value.linear(&weight.value, bias_value)
        };
        let record = |x: &Var<T>, value| {
            let mut inputs: SmallVec<[&Var<T>; 3]> = smallvec![x, weight];
            inputs.extend(bias);
            Var::record(&inputs, value, || Op::Linear { relu })
        };
        if self.rank() == 2 {
            return record(self, value);
        }
        // Leading axes are rows of one product, as in PyTorch: the node sees the input as a
        // matrix (the value checked that its rows fit usize), and a reshape restores them.
        let [out_features, in_features] = [weight.shape()[0], weight.shape()[1]];
        let rows = self.shape()[..self.rank() - 1].iter().product::<usize>();
        let out_shape = value.shape().to_vec();
        let rows_of_x = self.reshape([rows, in_features]);
        record(&rows_of_x, value.reshape([rows, out_features])).reshape(out_shape)
    }
}
