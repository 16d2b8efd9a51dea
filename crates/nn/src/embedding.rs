//! `Embedding`: a table of learned vectors, looked up by integer position, as
//! `torch.nn.Embedding` (entry `weight`, of shape `[num_embeddings, embedding_dim]`).
//!
//! Its input is a batch of positions ([`Indices`]), not a var, so it is a [`Module`] with a
//! lookup of its own rather than a [`Forward`](crate::Forward) layer. The lookup is the tape's
//! `index_select`, whose gradient adds each output row's gradient back into its table row
//! (repeated positions accumulating): nothing here is differentiated by hand.

use rand::Rng;
use shendu_autograd::{Tape, Var};
use shendu_tensor::{Element, Indices, Tensor};

use crate::check::fail;
use crate::init::Init;
use crate::module::{Module, Visit, VisitMut};
use crate::param::Param;

/// A table of `num_embeddings` vectors of `embedding_dim` elements:
/// `y[i…, :] = weight[indices[i…], :]`.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use shendu_autograd::Tape;
/// use shendu_nn::Embedding;
/// use shendu_tensor::Indices;
///
/// let table = Embedding::<f64>::new(10, 3, &mut StdRng::seed_from_u64(0));
/// let tokens = Indices::from_vec(vec![1, 4, 4, 9], [2, 2]);
/// let tape = Tape::new();
/// let vectors = table.forward(&tape, &tokens);
/// assert_eq!(vectors.shape(), &[2, 2, 3]);
/// // Row 4 is looked up twice, so its gradient is 2 in each element.
/// let grads = vectors.sum_all().backward();
/// assert_eq!(grads[table.weight.id()].select(0, 4).to_vec(), vec![2.0; 3]);
/// ```
pub struct Embedding<T: Element = f32> {
    /// `[num_embeddings, embedding_dim]`.
    pub weight: Param<T>,
}

impl<T: Element> Embedding<T> {
    /// A table drawn from N(0, 1), as PyTorch initialises it.
    pub fn new(num_embeddings: usize, embedding_dim: usize, rng: &mut impl Rng) -> Self {
        let init = Init::Normal {
            mean: 0.0,
            std: 1.0,
        };
        Embedding {
            weight: Param::new(init.tensor([num_embeddings, embedding_dim], rng)),
        }
    }

    /// A table holding `weight` `[num_embeddings, embedding_dim]` (PyTorch's `from_pretrained`,
    /// trainable: call [`Module::freeze`] to keep it as it is).
    ///
    /// # Panics
    /// Unless `weight` has rank 2.
    #[track_caller]
    pub fn from_pretrained(weight: Tensor<T>) -> Self {
        if weight.rank() != 2 {
            fail(
                "Embedding::from_pretrained",
                format!(
                    "the table must be [num_embeddings, embedding_dim], got shape {:?}",
                    weight.shape()
                ),
            );
        }
        Embedding {
            weight: Param::new(weight),
        }
    }

    /// Number of vectors in the table.
    pub fn num_embeddings(&self) -> usize {
        self.weight.value().shape()[0]
    }

    /// Number of elements of each vector.
    pub fn embedding_dim(&self) -> usize {
        self.weight.value().shape()[1]
    }

    /// The vectors at `indices`, of shape `[indices' shape…, embedding_dim]`, recorded on `tape`.
    ///
    /// # Panics
    /// If an index is not below [`num_embeddings`](Embedding::num_embeddings), naming the
    /// index, its position and the table's size.
    #[track_caller]
    pub fn forward(&self, tape: &Tape<T>, indices: &Indices) -> Var<T> {
        let num = self.num_embeddings();
        if let Some(at) = indices.as_slice().iter().position(|&i| i >= num) {
            fail(
                &format!("Embedding({num}, {})", self.embedding_dim()),
                format!(
                    "index {} (at flat position {at} of indices of shape {:?}) is out of range \
                     for a table of {num} embeddings",
                    indices.as_slice()[at],
                    indices.shape()
                ),
            );
        }
        let mut shape = indices.shape().to_vec();
        shape.push(self.embedding_dim());
        self.weight
            .on(tape)
            .index_select(0, indices.as_slice())
            .reshape(shape)
    }
}

impl<T: Element> Module<T> for Embedding<T> {
    fn visit(&self, v: &mut Visit<'_, T>) {
        v.param("weight", &self.weight);
    }

    fn visit_mut(&mut self, v: &mut VisitMut<'_, T>) {
        v.param("weight", &mut self.weight);
    }
}
