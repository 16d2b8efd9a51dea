//! Dropout, LayerNorm, Embedding and BatchNorm1d: values against PyTorch in f64 (from
//! `fixtures/layers/layers.txt`, made by `make_layers.py` beside it), gradients against finite
//! differences, state_dict names, train/eval behaviour, determinism, and panics that name the
//! layer, the shapes and the caller's line.

use crate::common;

use common::panic_message;
use std::collections::HashMap;

use rand::{rngs::StdRng, SeedableRng};
use shendu_autograd::{gradcheck, gradgradcheck, Tape, Var};
use shendu_nn::{
    BatchNorm1d, Dropout, Embedding, Entry, Forward, LayerNorm, Linear, Module, Sequential,
    VisitMut,
};
use shendu_tensor::{Element, Indices, Tensor};

/// The arrays PyTorch computed, by name.
fn fixture() -> HashMap<String, Tensor<f64>> {
    include_str!("../fixtures/layers/layers.txt")
        .lines()
        .map(|line| {
            let mut words = line.split(' ');
            let name = words.next().unwrap().to_string();
            let shape = words.next().unwrap().trim_matches(['[', ']']);
            let shape: Vec<usize> = shape
                .split(',')
                .filter(|d| !d.is_empty())
                .map(|d| d.parse().unwrap())
                .collect();
            let values = words.map(|v| v.parse().unwrap()).collect();
            (name, Tensor::from_vec(values, shape))
        })
        .collect()
}

/// Asserts `actual` equals PyTorch's `expected` up to a few ulps of the values' scale.
#[track_caller]
fn assert_matches(actual: &Tensor<f64>, expected: &Tensor<f64>, what: &str) {
    assert_close(actual, expected, 1e-12, what);
}

/// Asserts |actual − expected| ≤ tolerance · max(|expected|, 1) element by element.
#[track_caller]
fn assert_close(actual: &Tensor<f64>, expected: &Tensor<f64>, tolerance: f64, what: &str) {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shape");
    let worst = actual
        .to_vec()
        .iter()
        .zip(expected.to_vec())
        .map(|(a, e)| (a - e).abs() / e.abs().max(1.0))
        .fold(0.0, f64::max);
    assert!(
        worst <= tolerance,
        "{what}: worst relative difference {worst:e}"
    );
}

/// Gradient check of the parameters of `model` under the scalar `loss`: each element of each
/// trainable parameter is moved by ±ε through [`VisitMut`] and the central difference of the
/// loss is compared with the tape's gradient (by [`Module::value_and_grad`]), with gradcheck's
/// default tolerances. `gradcheck` itself takes its inputs as vars, and a layer's parameters
/// enter the tape under their ids, so this is the same check seen from the model's side.
fn check_param_grads<M: Module<f64>>(model: &mut M, loss: impl Fn(&Tape<f64>, &M) -> Var<f64>) {
    let (_, grads) = model.value_and_grad(|tape, m| loss(tape, m));
    let mut params = Vec::new();
    model.visit(&mut shendu_nn::Visit::new(&mut |name, entry| {
        if let Entry::Param(p) = entry {
            params.push((name.to_string(), p.id(), p.value().to_vec()));
        }
    }));
    assert!(!params.is_empty());
    let eps = 1e-6;
    for (name, id, original) in params {
        let analytic = grads.param(id).expect("a gradient for each parameter");
        for (j, (&a, &p)) in analytic.to_vec().iter().zip(&original).enumerate() {
            let mut at = |value: f64| {
                set_element(model, &name, j, value);
                loss(&Tape::new(), model).value().item()
            };
            let numeric = (at(p + eps) - at(p - eps)) / (2.0 * eps);
            set_element(model, &name, j, p);
            assert!(
                (a - numeric).abs() <= 1e-5 + 1e-3 * numeric.abs(),
                "{name}[{j}]: tape {a:e}, finite differences {numeric:e}"
            );
        }
    }
}

/// Sets element `j` (row-major) of the parameter `name` to `value`.
fn set_element<M: Module<f64>>(model: &mut M, name: &str, j: usize, value: f64) {
    model.visit_mut(&mut VisitMut::new(&mut |n, entry| {
        if let (true, shendu_nn::EntryMut::Param(p)) = (n == name, entry) {
            let mut values = p.value().to_vec();
            values[j] = value;
            let shape = p.value().shape().to_vec();
            p.set(Tensor::from_vec(values, shape));
        }
    }));
}

fn random<T: Element>(shape: &[usize], seed: u64) -> Tensor<T> {
    Tensor::rand_normal(shape, T::zero(), T::one(), &mut StdRng::seed_from_u64(seed))
}

// ---- Dropout ----------------------------------------------------------------------------------

#[test]
fn dropout_zeroes_about_p_and_scales_the_rest_by_one_over_one_minus_p() {
    let dropout = Dropout::with_seed(0.3, 5);
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::ones([100_000]));
    let y = dropout.forward(&x);
    let scale = 1.0 / 0.7;
    let values = y.to_vec();
    assert!(values.iter().all(|&v| v == 0.0 || v == scale));
    let kept = values.iter().filter(|&&v| v != 0.0).count() as f64 / 1e5;
    // 1e5 Bernoulli(0.7) draws: the standard deviation of the fraction is 0.0014.
    assert!((kept - 0.7).abs() < 0.006, "kept {kept}");
    // The expectation is kept: E[y] = x.
    assert!((y.mean_all().item() - 1.0).abs() < 0.01);
    // The mask is a constant multiplied in: the gradient is the mask itself.
    assert_eq!(y.sum_all().backward()[&x].to_vec(), values);
}

#[test]
fn dropout_is_the_identity_in_eval_and_at_p_zero_and_gives_zeros_at_p_one() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(
        vec![f64::NAN, 1.5, f64::INFINITY, -2.0],
        [4],
    ));
    let same = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits());

    let mut dropout = Dropout::with_seed(0.5, 1);
    dropout.eval();
    assert!(same(&dropout.forward(&x).to_vec(), &x.to_vec()));
    assert_eq!(dropout.masks_drawn(), 0);
    dropout.train();
    assert!(dropout.is_training());

    let p0 = Dropout::with_seed(0.0, 1);
    assert!(same(&p0.forward(&x).to_vec(), &x.to_vec()));

    // PyTorch: input · 0, so NaN and ∞ give NaN.
    let p1 = Dropout::with_seed(1.0, 1).forward(&x).to_vec();
    assert!(p1[0].is_nan() && p1[2].is_nan());
    assert_eq!((p1[1], p1[3]), (0.0, 0.0));
}

#[test]
fn dropout_masks_follow_the_seed_and_the_count_of_masks_drawn() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::ones([64]));
    let masks = |dropout: &Dropout<f32>, n: usize| -> Vec<Vec<f32>> {
        (0..n).map(|_| dropout.forward(&x).to_vec()).collect()
    };
    let first = masks(&Dropout::with_seed(0.5, 9), 3);
    assert_eq!(first, masks(&Dropout::with_seed(0.5, 9), 3));
    assert_ne!(first[0], first[1], "each call draws a fresh mask");
    assert_ne!(first[0], masks(&Dropout::with_seed(0.5, 10), 1)[0]);

    // A resumed run: restore the count, and the next masks are those of the uninterrupted run.
    let mut resumed = Dropout::with_seed(0.5, 9);
    resumed.set_masks_drawn(2);
    assert_eq!(masks(&resumed, 1)[0], first[2]);
    assert_eq!(resumed.masks_drawn(), 3);
}

#[test]
fn dropout_gradient_matches_finite_differences() {
    // A fixed mask for each evaluation: a fresh layer with the same seed.
    let f = |xs: &[Var<f64>]| Dropout::with_seed(0.4, 3).forward(&xs[0]).tanh();
    gradcheck(f, &[random(&[3, 5], 1)]).unwrap();
}

#[test]
fn dropout_with_a_bad_probability_panics_naming_it() {
    let message = panic_message(|| {
        Dropout::<f32>::with_seed(1.5, 0);
    });
    assert!(message.starts_with("Dropout(p = 1.5): "), "{message}");
    assert!(message.contains("between 0 and 1") && message.contains("layers.rs:"));
    assert!(panic_message(|| {
        Dropout::<f32>::with_seed(f64::NAN, 0);
    })
    .contains("got NaN"));
}

// ---- LayerNorm -------------------------------------------------------------------------------

#[test]
fn layer_norm_matches_pytorch_in_f64() {
    let fx = fixture();
    let mut norm = LayerNorm::<f64>::new([2, 4]);
    norm.weight.as_mut().unwrap().set(fx["ln.weight"].clone());
    norm.bias.as_mut().unwrap().set(fx["ln.bias"].clone());
    let y = norm.predict(&fx["ln.x"]);
    let last = LayerNorm::<f64>::new([4]).eps(1e-3).predict(&fx["ln.x"]);
    // Samples 0 (ordinary) and 1 (constant: variance 0, so the output is the bias).
    for (ours, theirs, what) in [
        (&y, "ln.y", "LayerNorm([2, 4])"),
        (&last, "ln_last.y", "LayerNorm([4])"),
    ] {
        let (ours, theirs) = (ours.narrow(0, 0, 2), fx[theirs].narrow(0, 0, 2));
        assert_matches(&ours, &theirs, what);
    }
    assert_eq!(y.narrow(0, 1, 1).to_vec(), fx["ln.bias"].to_vec());
    // Sample 2 sits at 1e8 with spread 1: one ulp of its values is 1.5e-8 of its spread, so any
    // two summation orders (ours and PyTorch's) agree to a few of those only; PyTorch itself is
    // 3e-8 from the exact result (computed with fractions) at worst.
    assert_close(
        &y.narrow(0, 2, 1),
        &fx["ln.y"].narrow(0, 2, 1),
        1e-7,
        "at 1e8",
    );
    assert_close(
        &last.narrow(0, 2, 1),
        &fx["ln_last.y"].narrow(0, 2, 1),
        1e-7,
        "at 1e8",
    );
}

#[test]
fn layer_norm_gradients_match_finite_differences() {
    let mut norm = LayerNorm::<f64>::new([3]);
    norm.weight.as_mut().unwrap().set(random(&[3], 2));
    norm.bias.as_mut().unwrap().set(random(&[3], 3));
    let x = random::<f64>(&[2, 2, 3], 4);
    gradcheck(|xs| norm.forward(&xs[0]), std::slice::from_ref(&x)).unwrap();
    // Composed of tape ops, the layer has second derivatives too (a gradient penalty's).
    gradgradcheck(|xs| norm.forward(&xs[0]), std::slice::from_ref(&x)).unwrap();
    let r = random::<f64>(&[2, 2, 3], 5);
    check_param_grads(&mut norm, |tape, m| {
        (&m.forward(&tape.constant(x.clone())) * &tape.constant(r.clone())).sum_all()
    });
}

#[test]
fn layer_norm_names_options_and_shape_errors() {
    let norm = LayerNorm::<f32>::new([2, 3]);
    assert_eq!(norm.param_names(), ["weight", "bias"]);
    assert_eq!(norm.param_count(), 12);
    assert_eq!(norm.normalized_shape(), &[2, 3]);
    assert_eq!(
        LayerNorm::<f32>::new([3]).without_bias().param_names(),
        ["weight"]
    );
    let plain = LayerNorm::<f32>::new([3]).without_affine();
    assert!(plain.param_names().is_empty());
    let y = plain
        .predict(&Tensor::from_vec(vec![1.0, 2.0, 3.0], [3]))
        .to_vec();
    assert!((y[0] + 1.2247).abs() < 1e-3 && y[1] == 0.0);

    let message = panic_message(|| {
        norm.predict(&Tensor::zeros([4, 3, 2]));
    });
    assert!(
        message.starts_with("LayerNorm([2, 3]): an input of shape [4, 3, 2] does not end in"),
        "{message}"
    );
    assert!(message.contains("layers.rs:"), "{message}");
    assert!(panic_message(|| {
        LayerNorm::<f32>::new(Vec::<usize>::new());
    })
    .starts_with("LayerNorm([]): "));
}

// ---- Embedding -------------------------------------------------------------------------------

#[test]
fn embedding_looks_up_rows_and_accumulates_their_gradients() {
    let table = Tensor::from_vec((0..12).map(f64::from).collect(), [4, 3]);
    let embedding = Embedding::from_pretrained(table);
    assert_eq!(embedding.param_names(), ["weight"]);
    assert_eq!(
        (embedding.num_embeddings(), embedding.embedding_dim()),
        (4, 3)
    );
    let tape = Tape::new();
    let tokens = Indices::from_vec(vec![3, 0, 3], [1, 3]);
    let y = embedding.forward(&tape, &tokens);
    assert_eq!(y.shape(), &[1, 3, 3]);
    assert_eq!(
        y.to_vec(),
        [9.0, 10.0, 11.0, 0.0, 1.0, 2.0, 9.0, 10.0, 11.0]
    );
    let grads = y.square().sum_all().backward();
    // d/dw Σ y² = 2·w at each looked-up row, summed over its repeats.
    assert_eq!(
        grads[embedding.weight.id()].to_vec(),
        [0.0, 2.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 36.0, 40.0, 44.0]
    );
}

#[test]
fn embedding_gradients_match_finite_differences() {
    let mut embedding = Embedding::<f64>::new(5, 2, &mut StdRng::seed_from_u64(1));
    let tokens = Indices::from_vec(vec![4, 1, 1, 0, 4, 4], [3, 2]);
    check_param_grads(&mut embedding, |tape, m| {
        m.forward(tape, &tokens).tanh().square().sum_all()
    });
}

#[test]
fn embedding_starts_from_a_standard_normal() {
    let embedding = Embedding::<f64>::new(1000, 20, &mut StdRng::seed_from_u64(2));
    let w = embedding.weight.value();
    let (mean, var) = (
        w.mean_all().item(),
        w.var_all(shendu_tensor::Correction::UNBIASED).item(),
    );
    // 20 000 draws: the standard error of the mean is 0.007, of the variance 0.01.
    assert!(
        mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
        "{mean} {var}"
    );
    let again = Embedding::<f64>::new(1000, 20, &mut StdRng::seed_from_u64(2));
    assert_eq!(again.weight.value().to_vec(), w.to_vec());
}

#[test]
fn embedding_index_out_of_range_panics_naming_the_index_and_the_size() {
    let embedding = Embedding::<f32>::new(10, 4, &mut StdRng::seed_from_u64(0));
    let message = panic_message(|| {
        embedding.forward(&Tape::new(), &Indices::from_vec(vec![3, 10], [2]));
    });
    assert!(
        message.starts_with("Embedding(10, 4): index 10 (at flat position 1"),
        "{message}"
    );
    assert!(message.contains("a table of 10 embeddings") && message.contains("layers.rs:"));
}

// ---- BatchNorm1d -----------------------------------------------------------------------------

#[test]
fn batch_norm_matches_pytorch_over_three_steps_and_in_eval() {
    let fx = fixture();
    let mut norm = BatchNorm1d::<f64>::new(3);
    norm.weight.as_mut().unwrap().set(fx["bn.weight"].clone());
    norm.bias.as_mut().unwrap().set(fx["bn.bias"].clone());
    for step in 0..3 {
        let y = norm.predict(&fx[&format!("bn.x{step}")]);
        assert_matches(&y, &fx[&format!("bn.y{step}")], &format!("step {step}"));
    }
    assert_matches(&norm.running_mean(), &fx["bn.running_mean"], "running_mean");
    assert_matches(&norm.running_var(), &fx["bn.running_var"], "running_var");
    assert_eq!(
        norm.num_batches_tracked() as f64,
        fx["bn.num_batches_tracked"].item()
    );
    norm.eval();
    assert!(!norm.is_training());
    assert_matches(&norm.predict(&fx["bn.x_eval"]), &fx["bn.y_eval"], "eval");
    // Evaluation leaves the estimates alone.
    assert_eq!(norm.num_batches_tracked(), 3);
    assert_matches(&norm.running_mean(), &fx["bn.running_mean"], "running_mean");
}

#[test]
fn batch_norm_over_n_c_l_matches_pytorch() {
    let fx = fixture();
    let mut norm = BatchNorm1d::<f64>::new(3).momentum(0.3).without_affine();
    assert!(norm.param_names().is_empty());
    for step in 0..2 {
        let y = norm.predict(&fx[&format!("bn3.x{step}")]);
        assert_matches(&y, &fx[&format!("bn3.y{step}")], &format!("step {step}"));
    }
    assert_matches(
        &norm.running_mean(),
        &fx["bn3.running_mean"],
        "running_mean",
    );
    assert_matches(&norm.running_var(), &fx["bn3.running_var"], "running_var");
    norm.eval();
    assert_matches(&norm.predict(&fx["bn3.x_eval"]), &fx["bn3.y_eval"], "eval");
}

#[test]
fn batch_norm_gradients_match_finite_differences_in_training() {
    let mut norm = BatchNorm1d::<f64>::new(3);
    norm.weight.as_mut().unwrap().set(random(&[3], 6));
    norm.bias.as_mut().unwrap().set(random(&[3], 7));
    gradcheck(|xs| norm.forward(&xs[0]), &[random(&[4, 3], 8)]).unwrap();
    gradcheck(|xs| norm.forward(&xs[0]), &[random(&[2, 3, 3], 9)]).unwrap();
    gradgradcheck(|xs| norm.forward(&xs[0]), &[random(&[4, 3], 13)]).unwrap();
    let (x, r) = (random::<f64>(&[5, 3], 10), random::<f64>(&[5, 3], 11));
    check_param_grads(&mut norm, |tape, m| {
        (&m.forward(&tape.constant(x.clone())) * &tape.constant(r.clone())).sum_all()
    });
    // In evaluation, the input's gradient is weight / √(running var + ε) per feature.
    norm.eval();
    gradcheck(|xs| norm.forward(&xs[0]), &[random(&[4, 3], 12)]).unwrap();
}

#[test]
fn batch_norm_state_dict_has_pytorchs_buffers_and_counter() {
    let mut norm = BatchNorm1d::<f32>::new(2);
    norm.predict(&Tensor::from_vec(vec![1.0, 2.0, 3.0, 5.0], [2, 2]));
    let mut seen = Vec::new();
    norm.visit(&mut shendu_nn::Visit::new(&mut |name, entry| {
        seen.push(match entry {
            Entry::Param(p) => format!("param {name} {:?}", p.value().shape()),
            Entry::Buffer(b) => format!("buffer {name} {:?}", b.to_vec()),
            Entry::Counter(c) => format!("counter {name} {c}"),
        });
    }));
    assert_eq!(
        seen,
        [
            "param weight [2]",
            "param bias [2]",
            "buffer running_mean [0.2, 0.35]",
            "buffer running_var [1.1, 1.35]",
            "counter num_batches_tracked 1",
        ]
    );
    // Loading a checkpoint writes them through visit_mut.
    norm.visit_mut(&mut VisitMut::new(&mut |name, entry| match entry {
        shendu_nn::EntryMut::Buffer(b) if name == "running_mean" => {
            *b = Tensor::from_vec(vec![7.0, 8.0], [2])
        }
        shendu_nn::EntryMut::Counter(c) => *c = 41,
        _ => {}
    }));
    assert_eq!(norm.running_mean().to_vec(), [7.0, 8.0]);
    assert_eq!(norm.num_batches_tracked(), 41);
    // A layer inside a model is switched to evaluation with it.
    let mut model = Sequential::<f32>::new().push(BatchNorm1d::new(2));
    model.eval();
    let y = model
        .predict(&Tensor::from_vec(vec![1.0, 2.0], [1, 2]))
        .to_vec();
    assert!((y[0] - 1.0 / 1.00001f32.sqrt()).abs() < 1e-6, "{y:?}");
}

#[test]
fn batch_norm_shape_errors_name_the_layer_and_the_shape() {
    let norm = BatchNorm1d::<f32>::new(3);
    let message = panic_message(|| {
        norm.predict(&Tensor::zeros([4, 2]));
    });
    assert!(
        message.starts_with("BatchNorm1d(3): an input of shape [4, 2] is not [N, 3] or [N, 3, L]"),
        "{message}"
    );
    assert!(message.contains("layers.rs:"), "{message}");
    let message = panic_message(|| {
        norm.predict(&Tensor::zeros([1, 3]));
    });
    assert!(
        message.starts_with("BatchNorm1d(3): training needs more than one value per feature"),
        "{message}"
    );
    assert!(panic_message(|| {
        BatchNorm1d::<f32>::new(3).momentum(2.0);
    })
    .contains("between 0 and 1, got 2"));
}

// ---- Together --------------------------------------------------------------------------------

/// Embedding → LayerNorm → Dropout → Linear → BatchNorm1d.
struct Tagger {
    embedding: Embedding,
    norm: LayerNorm,
    dropout: Dropout,
    head: Linear,
    batch_norm: BatchNorm1d,
}

impl Module for Tagger {
    fn visit(&self, v: &mut shendu_nn::Visit<'_>) {
        v.module("embedding", &self.embedding);
        v.module("norm", &self.norm);
        v.module("dropout", &self.dropout);
        v.module("head", &self.head);
        v.module("batch_norm", &self.batch_norm);
    }
    fn visit_mut(&mut self, v: &mut VisitMut<'_>) {
        v.module("embedding", &mut self.embedding);
        v.module("norm", &mut self.norm);
        v.module("dropout", &mut self.dropout);
        v.module("head", &mut self.head);
        v.module("batch_norm", &mut self.batch_norm);
    }
}

#[test]
fn a_model_of_these_layers_trains_bit_for_bit_alike_on_1_and_2_threads() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut rng = StdRng::seed_from_u64(3);
            let mut model = Tagger {
                embedding: Embedding::new(50, 64, &mut rng),
                norm: LayerNorm::new([64]),
                dropout: Dropout::new(0.2, &mut rng),
                head: Linear::new(64, 8, &mut rng),
                batch_norm: BatchNorm1d::new(8),
            };
            let tokens = Indices::from_vec((0..4096).map(|i| (i * 7) % 50).collect(), [4096]);
            let mut opt = shendu_nn::Sgd::new(0.1);
            let mut losses = Vec::new();
            for _ in 0..3 {
                let (loss, grads) = model.value_and_grad(|tape, m| {
                    let h = m.norm.forward(&m.embedding.forward(tape, &tokens));
                    let out = m
                        .batch_norm
                        .forward(&m.head.forward(&m.dropout.forward(&h)));
                    out.tanh().square().mean_all()
                });
                shendu_nn::Optimizer::step(&mut opt, &mut model, &grads);
                losses.push(loss.to_bits());
            }
            let mut state = Vec::new();
            model.visit(&mut shendu_nn::Visit::new(&mut |_, entry| match entry {
                Entry::Param(p) => state.extend(p.value().to_vec().iter().map(|v| v.to_bits())),
                Entry::Buffer(b) => state.extend(b.to_vec().iter().map(|v| v.to_bits())),
                Entry::Counter(c) => state.push(c as u32),
            }));
            (losses, state)
        })
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.0, two.0, "losses");
    assert!(one.1 == two.1, "parameters and buffers differ");
    assert_ne!(one.0[0], one.0[2], "the model trains");
}
