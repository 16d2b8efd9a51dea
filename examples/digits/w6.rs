//! Workload W6, the handwritten digits: an MLP 64→64→10 with ReLU, trained with Adam (lr 1e-3,
//! batch 32) for 60 epochs on a seeded 80/20 split of `data/digits.csv`, pixels scaled by 1/16.
//! The loop is the one a user writes; `examples/digits/main.rs` runs it with a progress bar, and
//! the benchmark (`examples/bench_nn.rs`) and the training tests (`tests/integration/training.rs`) include
//! this file with `#[path]`, so that all three train exactly the same thing.

use std::time::Instant;

use rand::{rngs::StdRng, SeedableRng};
use shendu::nn::data::{self, CsvError, DataLoader, TensorDataset};
use shendu::nn::metrics::ConfusionMatrix;
use shendu::nn::{loss, Activation, Adam, Forward, Mlp, Module, Optimizer};
use shendu::tensor::Indices;

/// The data file shipped with the project (see `data/README.md` for its origin and license).
pub const DIGITS_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv");

/// W6's number of epochs.
pub const EPOCHS: usize = 60;

/// The digits: 1797 images of 8×8 pixels in 0..=16, scaled to [0, 1], and their labels 0..=9.
pub struct Digits {
    data: TensorDataset<f32, Indices>,
}

impl Digits {
    /// Reads the CSV file (64 pixel columns, then the label; one header line).
    pub fn load(path: &str) -> Result<Digits, CsvError> {
        Ok(Digits {
            data: data::digits(path)?.map_x(|x| x / 16.0),
        })
    }
}

/// What a training run leaves: the model, its test figures, and the mean loss of each epoch.
pub struct Outcome {
    /// The trained model.
    pub model: Mlp,
    /// The fraction of the test set classified right.
    pub accuracy: f64,
    /// Actual class against predicted class, on the test set.
    pub confusion: ConfusionMatrix,
    /// Seconds spent in the training epochs (not loading, not testing).
    pub seconds: f64,
    /// The mean training loss of each epoch.
    pub losses: Vec<f32>,
}

/// Trains W6's model for `epochs` epochs from `seed` (initial weights, split and batch order all
/// come from it), calling `on_epoch(epoch, mean_loss)` after each epoch.
pub fn train(
    digits: &Digits,
    seed: u64,
    epochs: usize,
    mut on_epoch: impl FnMut(usize, f32),
) -> Outcome {
    let mut rng = StdRng::seed_from_u64(seed);
    let (train, test) = digits.data.split(0.8, &mut rng);
    let mut model = Mlp::new(&[64, 64, 10], Activation::Relu, &mut rng);
    let mut opt = Adam::new(1e-3);
    let mut losses = Vec::with_capacity(epochs);
    let start = Instant::now();
    for epoch in 0..epochs {
        let (mut sum, mut batches) = (0.0, 0);
        for batch in DataLoader::new(&train, 32).shuffle(&mut rng) {
            let (loss, grads) = model.value_and_grad(|tape, model| {
                let logits = model.forward(&tape.constant(batch.x.clone()));
                loss::cross_entropy(&logits, &batch.y)
            });
            opt.step(&mut model, &grads);
            sum += loss;
            batches += 1;
        }
        losses.push(sum / batches as f32);
        on_epoch(epoch, sum / batches as f32);
    }
    let seconds = start.elapsed().as_secs_f64();
    let logits = model.predict(test.x());
    let mut confusion = ConfusionMatrix::new(10);
    confusion.add_logits(&logits, test.y());
    Outcome {
        accuracy: confusion.accuracy(),
        model,
        confusion,
        seconds,
        losses,
    }
}
