//! `LayerNorm`: each sample normalised over its trailing dimensions, then scaled and shifted
//! elementwise, as `torch.nn.LayerNorm` (entries `weight` and `bias`, of the normalised shape).

use shendu_autograd::Var;
use shendu_tensor::{Element, IntoShape, Tensor};

use crate::check::fail;
use crate::module::{Forward, Module, Visit, VisitMut};
use crate::param::Param;

/// Layer normalisation over the trailing dimensions `normalized_shape`:
/// y = (x − E(x)) / √(Var(x) + ε) ⊙ weight + bias, with the mean and the biased variance
/// (divided by the count, as PyTorch) taken over those dimensions for each leading index.
///
/// ```
/// use shendu_autograd::Tape;
/// use shendu_nn::{Forward, LayerNorm, Module};
/// use shendu_tensor::Tensor;
///
/// let norm = LayerNorm::<f64>::new([4]);
/// assert_eq!(norm.param_names(), ["weight", "bias"]);
/// let y = norm.predict(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 8.0], [2, 4]));
/// // Each row has mean 0 and (biased) variance 1, up to ε.
/// let row = &y.to_vec()[..4];
/// assert!(row.iter().sum::<f64>().abs() < 1e-12);
/// assert!((row.iter().map(|v| v * v).sum::<f64>() / 4.0 - 1.0).abs() < 1e-4);
/// ```
pub struct LayerNorm<T: Element = f32> {
    /// Of the normalised shape; initially ones. `None` without an elementwise affine map.
    pub weight: Option<Param<T>>,
    /// Of the normalised shape; initially zeros. `None` without a bias.
    pub bias: Option<Param<T>>,
    normalized_shape: Vec<usize>,
    eps: f64,
}

impl<T: Element> LayerNorm<T> {
    /// Normalises over the trailing dimensions `normalized_shape`, with ε = 1e-5, weight 1 and
    /// bias 0 (PyTorch's defaults).
    ///
    /// # Panics
    /// If `normalized_shape` is empty or has a zero dimension.
    #[track_caller]
    pub fn new(normalized_shape: impl IntoShape) -> Self {
        let shape = normalized_shape.into_dims().to_vec();
        if shape.is_empty() || shape.contains(&0) {
            fail(
                &format!("LayerNorm({shape:?})"),
                "the normalised shape needs at least one dimension, none of them zero",
            );
        }
        LayerNorm {
            weight: Some(Param::new(Tensor::ones(&shape[..]))),
            bias: Some(Param::new(Tensor::zeros(&shape[..]))),
            normalized_shape: shape,
            eps: 1e-5,
        }
    }

    /// The same layer with ε = `eps` added to the variance.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Self {
        if !(eps >= 0.0 && eps.is_finite()) {
            fail(&self.name(), format!("ε must be finite and ≥ 0, got {eps}"));
        }
        self.eps = eps;
        self
    }

    /// The same layer without weight and bias (PyTorch's `elementwise_affine=False`).
    pub fn without_affine(mut self) -> Self {
        self.weight = None;
        self.bias = None;
        self
    }

    /// The same layer without a bias (PyTorch's `bias=False`).
    pub fn without_bias(mut self) -> Self {
        self.bias = None;
        self
    }

    /// The trailing dimensions normalised over.
    pub fn normalized_shape(&self) -> &[usize] {
        &self.normalized_shape
    }

    fn name(&self) -> String {
        format!("LayerNorm({:?})", self.normalized_shape)
    }
}

impl<T: Element> Module<T> for LayerNorm<T> {
    fn visit(&self, v: &mut Visit<'_, T>) {
        if let Some(w) = &self.weight {
            v.param("weight", w);
        }
        if let Some(b) = &self.bias {
            v.param("bias", b);
        }
    }

    fn visit_mut(&mut self, v: &mut VisitMut<'_, T>) {
        if let Some(w) = &mut self.weight {
            v.param("weight", w);
        }
        if let Some(b) = &mut self.bias {
            v.param("bias", b);
        }
    }
}

impl<T: Element> Forward<T> for LayerNorm<T> {
    /// The normalised `x`, of any shape `[…, normalized_shape]`.
    #[track_caller]
    fn forward(&self, x: &Var<T>) -> Var<T> {
        let k = self.normalized_shape.len();
        if x.rank() < k || x.shape()[x.rank() - k..] != self.normalized_shape[..] {
            fail(
                &self.name(),
                format!(
                    "an input of shape {:?} does not end in the normalised shape {:?}",
                    x.shape(),
                    self.normalized_shape
                ),
            );
        }
        let axes: Vec<usize> = (x.rank() - k..x.rank()).collect();
        let deviation = x - &x.mean(&axes[..], true);
        let variance = deviation.square().mean(&axes[..], true);
        let inv_std = variance
            .add_scalar(T::from_f64_lossy(self.eps))
            .sqrt()
            .recip();
        let y = &deviation * &inv_std;
        let tape = x.tape();
        let y = match &self.weight {
            Some(w) => &y * &w.on(&tape),
            None => y,
        };
        match &self.bias {
            Some(b) => &y + &b.on(&tape),
            None => y,
        }
    }
}
