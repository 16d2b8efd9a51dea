//! User-defined ops: a forward on tensors and a gradient rule on vars, recorded like a built-in.

use std::rc::Rc;

use shendu_tensor::{Element, Tensor};

use crate::error::fail;
use crate::op::Op;
use crate::var::Var;

/// An op written by a user. `forward` computes the value from tensors; `backward` maps the
/// output gradient to one gradient per input (`None` where an input needs none), written with
/// var ops so that the op also supports gradients of gradients.
///
/// Check a custom op as the built-in ones are checked, with [`gradcheck`](crate::gradcheck) and
/// [`gradgradcheck`](crate::gradgradcheck):
///
/// ```
/// use shendu_autograd::{gradcheck, gradgradcheck, CustomOp, Tape, Var};
/// use shendu_tensor::Tensor;
///
/// /// swish(x) = x·σ(x), with swish'(x) = σ(x)·(1 + x·(1 − σ(x))).
/// struct Swish;
///
/// impl CustomOp<f64> for Swish {
///     fn name(&self) -> &str {
///         "swish"
///     }
///     fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
///         inputs[0].mul(&inputs[0].sigmoid())
///     }
///     fn backward(&self, inputs: &[Var<f64>], _output: &Var<f64>, grad: &Var<f64>) -> Vec<Option<Var<f64>>> {
///         let x = &inputs[0];
///         let s = x.sigmoid();
///         let slope = &s * &(x * &(-&s).add_scalar(1.0)).add_scalar(1.0);
///         vec![Some(grad * &slope)]
///     }
/// }
///
/// let swish = |xs: &[Var<f64>]| Var::custom(Swish, &[&xs[0]]);
/// let x = Tensor::from_vec(vec![-2.0, -0.5, 0.0, 0.7, 3.0], [5]);
/// gradcheck(swish, &[x.clone()]).unwrap();
/// gradgradcheck(swish, &[x]).unwrap();
/// ```
pub trait CustomOp<T: Element> {
    /// The name shown in errors, anomaly reports and the DOT graph.
    fn name(&self) -> &str;

    /// The value of the op on its inputs' values.
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T>;

    /// One gradient per input (of that input's shape), given the inputs, the output and the
    /// gradient of the output.
    fn backward(&self, inputs: &[Var<T>], output: &Var<T>, grad: &Var<T>) -> Vec<Option<Var<T>>>;
}

impl<T: Element> Var<T> {
    /// Applies a user-defined op to `inputs` and records it on their tape.
    #[track_caller]
    pub fn custom(op: impl CustomOp<T> + 'static, inputs: &[&Var<T>]) -> Var<T> {
        if inputs.is_empty() {
            fail(op.name(), "a custom op needs at least one input");
        }
        let values: Vec<&Tensor<T>> = inputs.iter().map(|v| &v.value).collect();
        let value = op.forward(&values);
        let op: Rc<dyn CustomOp<T>> = Rc::new(op);
        Var::record(inputs, value, || Op::Custom(op))
    }
}
