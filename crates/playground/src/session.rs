//! A training session: the data, the network and the optimizer of one Playground run, stepped
//! an epoch at a time and reported as [`Snapshot`]s. No terminal, file or picture here: the
//! command line and the browser page both drive a `Session`, so they cannot train differently.
//!
//! Two ways to train:
//! - the default, the way a shendu user trains: the training set shuffled every epoch, the
//!   mean loss of each batch (the last one may be smaller) plus the weight penalty,
//!   differentiated on the tape and handed to the optimizer;
//! - [`Config::exact`], the Playground's own algorithm, in `f64` (see [`Session::step`]).

use rand::rngs::StdRng;
use rand::SeedableRng;
use shendu_autograd::{Gradients, Tape, Var};
use shendu_nn::checkpoint::CheckpointError;
use shendu_nn::data::playground::{self as generators, Feature};
use shendu_nn::data::{DataLoader, TensorDataset};
use shendu_nn::{loss, Adam, Checkpoint, Forward, Init, Mlp, Module, Optimizer, Sgd};
use shendu_tensor::Tensor;

use crate::config::{
    Choice, Config, ConfigError, Dataset, LossKind, OptimizerKind, Regularization,
};
use crate::snapshot::{HeatMap, Layer, LossPoint, Network, Point, Problem, Snapshot, EXTENT};

/// The resolution of the Playground's output heat map.
pub const OUTPUT_RESOLUTION: usize = 100;

/// The resolution of the Playground's small per-neuron heat maps.
pub const NEURON_RESOLUTION: usize = 10;

/// The most loss points a session keeps. A page left playing trains for hours at a thousand
/// epochs a second, and a chart is a few hundred pixels wide: past this many points the history
/// is thinned (see [`Session::history`]), so that its memory is bounded (192 KiB) while the
/// chart still spans the whole run. Twice the [`MAX_HISTORY_SENT`](crate::serve::routes::MAX_HISTORY_SENT)
/// a new stream is sent, so that a long history always has more points than that to choose from.
pub const HISTORY_CAP: usize = 8192;

/// Points given by the user instead of a generated data set.
#[derive(Clone, Debug, PartialEq)]
pub struct PointSet {
    /// Where they come from (a file name), for titles.
    pub name: String,
    /// The points, in their order (they are shuffled once, with the seed, before the split).
    pub points: Vec<Point>,
    /// Classes (every label ±1) or values.
    pub problem: Problem,
}

/// One Playground run. See the [module docs](self).
pub struct Session {
    config: Config,
    problem: Problem,
    data_name: String,
    train_points: Vec<Point>,
    test_points: Vec<Point>,
    /// The training set as the network sees it: features `[n, k]`, targets `[n, 1]`.
    train: TensorDataset<f64, Tensor<f64>>,
    test: TensorDataset<f64, Tensor<f64>>,
    model: Mlp<f64>,
    optimizer: Box<dyn Optimizer<f64> + Send>,
    shuffle_rng: StdRng,
    epoch: usize,
    history: Vec<LossPoint>,
    /// The history keeps the epochs that are multiples of this (and the latest); it doubles
    /// each time the history reaches [`HISTORY_CAP`].
    history_stride: usize,
    /// Exact mode: gradients summed over a final partial batch, waiting for the next epoch.
    carried: Option<(Gradients<f64>, usize)>,
    /// Exact mode: per layer, the weights L1 drove to zero, which never move again.
    dead: Vec<Vec<bool>>,
}

impl Session {
    /// A session on the generated data set of `config`, or on `points` when given. Checks the
    /// config first: on an error nothing is built.
    pub fn new(config: Config, points: Option<PointSet>) -> Result<Session, ConfigError> {
        let problem = points
            .as_ref()
            .map_or(config.dataset.problem(), |p| p.problem);
        config.validate(problem)?;
        let mut data_rng = StdRng::seed_from_u64(config.seed);
        let (data, data_name) = match points {
            Some(set) => {
                if set.points.len() < 2 {
                    return Err(ConfigError {
                        field: "data",
                        message: format!(
                            "{} has {} point(s): a train and a test set need 2 at least",
                            set.name,
                            set.points.len()
                        ),
                    });
                }
                (points_to_dataset(&set.points), set.name)
            }
            None => (
                generate(config.dataset, config.noise, &mut data_rng),
                config.dataset.word().to_string(),
            ),
        };
        let (train, test) = data.split(f64::from(config.train_percent) / 100.0, &mut data_rng);
        let (train_points, test_points) = (dataset_points(&train), dataset_points(&test));
        let train = train.map_x(|x| generators::features(x, &config.features));
        let test = test.map_x(|x| generators::features(x, &config.features));

        let mut init_rng = StdRng::seed_from_u64(config.seed.wrapping_add(1));
        let model = Mlp::with_init(
            &config.layer_sizes(),
            config.activation,
            Init::PLAYGROUND_WEIGHT,
            Init::PLAYGROUND_BIAS,
            &mut init_rng,
        );
        let optimizer: Box<dyn Optimizer<f64> + Send> = match config.optimizer {
            OptimizerKind::Sgd => Box::new(Sgd::new(config.learning_rate)),
            OptimizerKind::Adam => Box::new(Adam::new(config.learning_rate)),
        };
        let dead = model
            .layers()
            .iter()
            .map(|l| vec![false; l.weight.value().numel()])
            .collect();
        let mut session = Session {
            shuffle_rng: StdRng::seed_from_u64(config.seed.wrapping_add(2)),
            config,
            problem,
            data_name,
            train_points,
            test_points,
            train,
            test,
            model,
            optimizer,
            epoch: 0,
            history: Vec::new(),
            history_stride: 1,
            carried: None,
            dead,
        };
        let initial = session.losses();
        session.history.push(initial);
        Ok(session)
    }

    /// The settings of the run.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Classification or regression.
    pub fn problem(&self) -> Problem {
        self.problem
    }

    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// The losses after the epochs kept, epochs increasing: every epoch until there are
    /// [`HISTORY_CAP`] of them; then every second one (and so on, doubling each time the cap is
    /// reached again), evenly spaced from the initial losses (epoch 0, always first) to the
    /// latest epoch's (always last, whether or not its epoch is one to keep).
    pub fn history(&self) -> &[LossPoint] {
        &self.history
    }

    /// The network.
    pub fn model(&self) -> &Mlp<f64> {
        &self.model
    }

    /// The training points.
    pub fn train_points(&self) -> &[Point] {
        &self.train_points
    }

    /// The test points.
    pub fn test_points(&self) -> &[Point] {
        &self.test_points
    }

    /// The name of the loss the session reports: the one it trains on, without the penalty.
    pub fn loss_name(&self) -> &'static str {
        match self.config.loss {
            LossKind::SquaredError => "½(o − t)²",
            LossKind::CrossEntropy => "cross-entropy",
        }
    }

    /// Trains one epoch (one pass over the training set) and returns the losses after it.
    ///
    /// With [`Config::exact`] the epoch is the Playground's: the examples in their fixed order;
    /// the gradients of ½(o − t)² summed over each batch (here by one batched pass on the tape,
    /// so the sum is grouped differently than the Playground's example-by-example loop); after
    /// every `batch` examples of the epoch, each bias moves by −lr·Σg/n and each weight first by
    /// −(lr/n)·Σg, then by −lr·rate·reg′(w), reg′ taken at the weight before the update (L1:
    /// sign(w), 0 at 0; L2: w), where n counts the examples summed; an L1 step that carries a
    /// weight across zero sets it to 0 for good, as the Playground marks such a link dead. The
    /// examples left after the last full batch are not applied: their gradients are carried into
    /// the first batch of the next epoch, which then counts more than `batch` examples.
    ///
    /// This is the Playground's rule since March 2017. Before, the penalty was added to the
    /// gradient sum and divided by n with it, L1's derivative was +1 at 0, and no weight died;
    /// written descriptions of the Playground often still give that older rule.
    pub fn step(&mut self) -> LossPoint {
        if self.config.exact {
            self.exact_epoch();
        } else {
            self.epoch_on_tape();
        }
        self.epoch += 1;
        let losses = self.losses();
        self.record(losses);
        losses
    }

    /// Appends the latest epoch's losses to the history, thinning it at [`HISTORY_CAP`].
    fn record(&mut self, losses: LossPoint) {
        let history = &mut self.history;
        // The previous latest point was there only for being the latest.
        if history
            .last()
            .is_some_and(|last| last.epoch % self.history_stride != 0)
        {
            history.pop();
        }
        history.push(losses);
        if history.len() > HISTORY_CAP {
            self.history_stride *= 2;
            let (stride, latest) = (self.history_stride, losses.epoch);
            history.retain(|p| p.epoch % stride == 0 || p.epoch == latest);
        }
    }

    /// The way a shendu user trains (see the module docs).
    fn epoch_on_tape(&mut self) {
        let Session {
            config,
            problem,
            train,
            model,
            optimizer,
            shuffle_rng,
            ..
        } = self;
        for batch in DataLoader::new(&*train, config.batch).shuffle(shuffle_rng) {
            let (_, grads) = model.value_and_grad(|tape, model| {
                let x = tape.constant(batch.x.clone());
                let y = tape.constant(batch.y.clone());
                let loss = objective(config, *problem, &model.forward(&x), &y);
                match config.regularization {
                    Regularization::None => loss,
                    Regularization::L1 => {
                        &loss
                            + &loss::l1_penalty(tape, model).mul_scalar(config.regularization_rate)
                    }
                    Regularization::L2 => {
                        &loss
                            + &loss::l2_penalty(tape, model).mul_scalar(config.regularization_rate)
                    }
                }
            });
            optimizer.step(model, &grads);
        }
    }

    /// The Playground's epoch (see [`Session::step`]).
    fn exact_epoch(&mut self) {
        let n = self.train.len();
        let batch = self.config.batch;
        let mut start = 0;
        while start < n {
            let end = ((start / batch + 1) * batch).min(n);
            let x = self.train.x().narrow(0, start, end - start);
            let y = self.train.y().narrow(0, start, end - start);
            let problem = self.problem;
            let (_, grads) = self.model.value_and_grad(|tape, model| {
                let output = playground_output(problem, &model.forward(&tape.constant(x)));
                let error = &output - &tape.constant(y);
                error.square().sum_all().mul_scalar(0.5)
            });
            let (sum, count) = match self.carried.take() {
                Some((mut carried, count)) => {
                    carried.accumulate(&grads);
                    (carried, count + end - start)
                }
                None => (grads, end - start),
            };
            if end.is_multiple_of(batch) {
                self.exact_update(&sum, count);
            } else {
                self.carried = Some((sum, count));
            }
            start = end;
        }
    }

    /// The Playground's update after `count` examples whose gradients sum to `sum`.
    fn exact_update(&mut self, sum: &Gradients<f64>, count: usize) {
        let lr = self.config.learning_rate;
        let rate = self.config.regularization_rate;
        let regularization = self.config.regularization;
        let count = count as f64;
        for (layer, dead) in self.model.layers_mut().iter_mut().zip(&mut self.dead) {
            if let Some(bias) = layer.bias.as_mut()
                && let Some(g) = sum.param(bias.id())
            {
                let g = g.to_vec();
                let b: Vec<f64> = bias
                    .value()
                    .to_vec()
                    .iter()
                    .zip(&g)
                    .map(|(b, g)| b - lr * g / count)
                    .collect();
                bias.set(Tensor::from_vec(b, bias.value().shape()));
            }
            let Some(g) = sum.param(layer.weight.id()) else {
                continue;
            };
            let g = g.to_vec();
            let mut w = layer.weight.value().to_vec();
            for ((w, g), dead) in w.iter_mut().zip(&g).zip(dead.iter_mut()) {
                if *dead {
                    continue;
                }
                let derivative = match regularization {
                    Regularization::None => 0.0,
                    Regularization::L1 => {
                        if *w < 0.0 {
                            -1.0
                        } else if *w > 0.0 {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    Regularization::L2 => *w,
                };
                let moved = *w - (lr / count) * g;
                let penalised = moved - (lr * rate) * derivative;
                if regularization == Regularization::L1 && moved * penalised < 0.0 {
                    *w = 0.0;
                    *dead = true;
                } else {
                    *w = penalised;
                }
            }
            let shape = layer.weight.value().shape().to_vec();
            layer.weight.set(Tensor::from_vec(w, shape));
        }
    }

    /// The mean loss on the training and the test set.
    fn losses(&self) -> LossPoint {
        LossPoint {
            epoch: self.epoch,
            train: self.mean_loss(&self.train),
            test: self.mean_loss(&self.test),
        }
    }

    fn mean_loss(&self, data: &TensorDataset<f64, Tensor<f64>>) -> f64 {
        if data.is_empty() {
            return f64::NAN;
        }
        let tape = Tape::new();
        let z = self.model.forward(&tape.constant(data.x().clone()));
        objective(
            &self.config,
            self.problem,
            &z,
            &tape.constant(data.y().clone()),
        )
        .item()
    }

    /// The share of `points` whose class the output's sign gets right (an output of exactly 0
    /// counts as +1); `None` for regression.
    fn accuracy(&self, data: &TensorDataset<f64, Tensor<f64>>) -> Option<f64> {
        if self.problem == Problem::Regression || data.is_empty() {
            return None;
        }
        let shown = self.shown_output(data.x());
        let right = shown
            .to_vec()
            .iter()
            .zip(data.y().to_vec())
            .filter(|(o, t)| (**o >= 0.0) == (*t > 0.0))
            .count();
        Some(right as f64 / data.len() as f64)
    }

    /// The train and test accuracy (classification only).
    pub fn accuracies(&self) -> (Option<f64>, Option<f64>) {
        (self.accuracy(&self.train), self.accuracy(&self.test))
    }

    /// The output as the Playground shows it, for inputs `[n, k]`: on the ±1 scale of the
    /// labels for classification, the predicted value for regression.
    fn shown_output(&self, inputs: &Tensor<f64>) -> Tensor<f64> {
        let tape = Tape::new();
        let z = self.model.forward(&tape.constant(inputs.clone()));
        self.shown(&z).value().clone()
    }

    fn shown(&self, z: &Var<f64>) -> Var<f64> {
        match (self.problem, self.config.loss) {
            (Problem::Regression, _) => z.clone(),
            (Problem::Classification, LossKind::SquaredError) => z.tanh(),
            (Problem::Classification, LossKind::CrossEntropy) => z.mul_scalar(0.5).tanh(),
        }
    }

    /// The session as numbers: the output over [−6, 6]² at `output_resolution`², every
    /// node's map at `neuron_resolution`², the weights, the points and the losses.
    pub fn snapshot(&self, output_resolution: usize, neuron_resolution: usize) -> Snapshot {
        let output = self.output_map(output_resolution);
        let (train_accuracy, test_accuracy) = self.accuracies();
        Snapshot {
            problem: self.problem,
            epoch: self.epoch,
            history: self.history.clone(),
            loss_name: self.loss_name().to_string(),
            output,
            neurons: self.neuron_maps(neuron_resolution),
            network: self.network(),
            train: self.train_points.clone(),
            test: self.test_points.clone(),
            train_accuracy,
            test_accuracy,
            settings: format!("{} · {}", self.data_name, self.config),
        }
    }

    /// Every node's output over the square: the inputs (each feature scaled by its largest
    /// magnitude on the square, so that it spans the colour scale), the hidden neurons, and
    /// the output as shown.
    pub fn neuron_maps(&self, resolution: usize) -> Vec<Vec<HeatMap>> {
        let cells = resolution * resolution;
        let inputs = generators::features(&grid(resolution), &self.config.features);
        let tape = Tape::new();
        let layers = self.model.forward_layers(&tape.constant(inputs.clone()));
        let columns = |t: &Tensor<f64>, scale: bool| -> Vec<HeatMap> {
            let width = t.shape()[1];
            let values = t.to_vec();
            (0..width)
                .map(|j| {
                    let mut column: Vec<f64> = (0..cells).map(|i| values[i * width + j]).collect();
                    if scale {
                        let largest = column.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                        if largest > 0.0 {
                            column.iter_mut().for_each(|v| *v /= largest);
                        }
                    }
                    HeatMap {
                        resolution,
                        values: column,
                    }
                })
                .collect()
        };
        let mut maps = vec![columns(&inputs, true)];
        let last = layers.len() - 1;
        for (i, layer) in layers.iter().enumerate() {
            let values = if i == last {
                self.shown(layer).value().clone()
            } else {
                layer.value().clone()
            };
            maps.push(columns(&values, false));
        }
        maps
    }

    /// The weights and biases, layer by layer.
    pub fn network(&self) -> Network {
        Network {
            inputs: self
                .config
                .features
                .iter()
                .map(|f| feature_label(*f).to_string())
                .collect(),
            layers: self
                .model
                .layers()
                .iter()
                .map(|l| {
                    let (out, inp) = (l.out_features(), l.in_features());
                    let w = l.weight.value().to_vec();
                    Layer {
                        weights: (0..out)
                            .map(|j| w[j * inp..(j + 1) * inp].to_vec())
                            .collect(),
                        biases: l
                            .bias
                            .as_ref()
                            .map_or(vec![0.0; out], |b| b.value().to_vec()),
                    }
                })
                .collect(),
        }
    }

    /// Writes the network to `path` as safetensors (atomically: the old file or the new one,
    /// never half of one), its tensors named as the PyTorch
    /// `Sequential(Linear, act, …, Linear)` it equals, with the settings as metadata.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), CheckpointError> {
        self.state_dict().write(path)
    }

    /// The bytes [`Session::save`] writes, for a download.
    pub fn save_bytes(&self) -> Result<Vec<u8>, CheckpointError> {
        self.state_dict().to_bytes()
    }

    /// Changes the learning rate from the next update on, keeping the weights, the epoch and
    /// the optimizer's state (the Playground changes it live). An invalid rate is an error
    /// naming `lr`, and changes nothing.
    pub fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), ConfigError> {
        let config = Config {
            learning_rate,
            ..self.config.clone()
        };
        config.validate(self.problem)?;
        self.config = config;
        for group in self.optimizer.param_groups_mut() {
            group.lr = learning_rate;
        }
        Ok(())
    }

    /// Changes the weight penalty and its rate from the next update on, keeping the weights
    /// and the epoch (the Playground changes them live). An invalid rate is an error naming
    /// `reg-rate`, and changes nothing.
    pub fn set_regularization(
        &mut self,
        regularization: Regularization,
        rate: f64,
    ) -> Result<(), ConfigError> {
        let config = Config {
            regularization,
            regularization_rate: rate,
            ..self.config.clone()
        };
        config.validate(self.problem)?;
        self.config = config;
        Ok(())
    }

    /// Sets one parameter, as the Playground's page does when a link or a bias is clicked:
    /// `layer` counts the model's layers (0 the first hidden layer, the last the output),
    /// `neuron` a neuron in it, `input` the link's source in the layer before, or `None` for
    /// the neuron's bias. A link the exact mode's L1 had killed comes back to life. An index
    /// out of range or a value that is not finite is an error naming its field (`layer`,
    /// `neuron`, `input`, `value`), and changes nothing. The losses are not recomputed until
    /// the next epoch.
    pub fn set_weight(
        &mut self,
        layer: usize,
        neuron: usize,
        input: Option<usize>,
        value: f64,
    ) -> Result<(), ConfigError> {
        let fail = |field, message: String| Err(ConfigError { field, message });
        let layers = self.model.layers().len();
        if layer >= layers {
            return fail("layer", format!("{layer} is not in 0..{layers}"));
        }
        let linear = &self.model.layers()[layer];
        let (outputs, inputs) = (linear.out_features(), linear.in_features());
        if neuron >= outputs {
            return fail(
                "neuron",
                format!("{neuron} is not in 0..{outputs} (layer {layer})"),
            );
        }
        if let Some(i) = input
            && i >= inputs
        {
            return fail(
                "input",
                format!("{i} is not in 0..{inputs} (layer {layer})"),
            );
        }
        if !value.is_finite() {
            return fail("value", format!("{value} is not a finite number"));
        }
        let linear = &mut self.model.layers_mut()[layer];
        match input {
            Some(i) => {
                let mut w = linear.weight.value().to_vec();
                w[neuron * inputs + i] = value;
                linear.weight.set(Tensor::from_vec(w, [outputs, inputs]));
                if let Some(dead) = self.dead[layer].get_mut(neuron * inputs + i) {
                    *dead = false;
                }
            }
            None => {
                let Some(bias) = linear.bias.as_mut() else {
                    return fail("input", format!("layer {layer} has no biases"));
                };
                let mut b = bias.value().to_vec();
                b[neuron] = value;
                bias.set(Tensor::from_vec(b, [outputs]));
            }
        }
        Ok(())
    }

    /// The output as shown over [−6, 6]², at `resolution`² (the big heat map of a snapshot).
    pub fn output_map(&self, resolution: usize) -> HeatMap {
        let grid = generators::features(&grid(resolution), &self.config.features);
        HeatMap {
            resolution,
            values: self.shown_output(&grid).to_vec(),
        }
    }

    /// The network as tensors named like PyTorch's, with the settings as metadata.
    fn state_dict(&self) -> shendu_nn::StateDict<f64> {
        let mut state = self.model.state_dict();
        let features: Vec<&str> = self.config.features.iter().map(|f| f.word()).collect();
        state.insert_text("playground.features", features.join(","));
        state.insert_text("playground.activation", self.config.activation.word());
        state.insert_text(
            "playground.output",
            match (self.problem, self.config.loss) {
                (Problem::Regression, _) => "linear",
                (Problem::Classification, LossKind::SquaredError) => "tanh",
                (Problem::Classification, LossKind::CrossEntropy) => "sigmoid",
            },
        );
        state.insert_text("playground.settings", self.config.to_string());
        state.insert_u64("playground.epoch", self.epoch as u64);
        state
    }
}

/// A feature as a person writes it: x₁, x₁², sin(x₁), ….
fn feature_label(feature: Feature) -> &'static str {
    match feature {
        Feature::X1 => "x₁",
        Feature::X2 => "x₂",
        Feature::X1Squared => "x₁²",
        Feature::X2Squared => "x₂²",
        Feature::X1X2 => "x₁x₂",
        Feature::SinX1 => "sin(x₁)",
        Feature::SinX2 => "sin(x₂)",
    }
}

/// The loss the session trains on and reports, of the network's last layer `z` against the
/// targets (±1, or values).
fn objective(config: &Config, problem: Problem, z: &Var<f64>, targets: &Var<f64>) -> Var<f64> {
    match config.loss {
        LossKind::SquaredError => loss::half_squared_error(&playground_output(problem, z), targets),
        LossKind::CrossEntropy => {
            loss::bce_with_logits(z, &targets.add_scalar(1.0).mul_scalar(0.5))
        }
    }
}

/// The Playground's output neuron: tanh for classification, linear for regression.
fn playground_output(problem: Problem, z: &Var<f64>) -> Var<f64> {
    match problem {
        Problem::Classification => z.tanh(),
        Problem::Regression => z.clone(),
    }
}

/// The points of a generated data set, as the Playground draws them.
fn generate(dataset: Dataset, noise: u32, rng: &mut StdRng) -> TensorDataset<f64, Tensor<f64>> {
    let noise = f64::from(noise) / 100.0;
    let (classes, values) = (
        generators::CLASSIFICATION_POINTS,
        generators::REGRESSION_POINTS,
    );
    match dataset {
        Dataset::Circle => generators::circle(classes, noise, rng),
        Dataset::Xor => generators::xor(classes, noise, rng),
        Dataset::Gauss => generators::gauss(classes, noise, rng),
        Dataset::Spiral => generators::spiral(classes, noise, rng),
        Dataset::Plane => generators::plane(values, noise, rng),
        Dataset::MultiGaussian => generators::multi_gaussian(values, noise, rng),
    }
}

fn points_to_dataset(points: &[Point]) -> TensorDataset<f64, Tensor<f64>> {
    let n = points.len();
    let xy = points.iter().flat_map(|p| [p.x1, p.x2]).collect();
    let labels = points.iter().map(|p| p.label).collect();
    TensorDataset::new(
        Tensor::from_vec(xy, [n, 2]),
        Tensor::from_vec(labels, [n, 1]),
    )
}

fn dataset_points(data: &TensorDataset<f64, Tensor<f64>>) -> Vec<Point> {
    let xy = data.x().to_vec();
    xy.chunks_exact(2)
        .zip(data.y().to_vec())
        .map(|(p, label)| Point {
            x1: p[0],
            x2: p[1],
            label,
        })
        .collect()
}

/// The centres of a `resolution²` grid over [−6, 6]², row by row from the top: `[r², 2]`.
fn grid(resolution: usize) -> Tensor<f64> {
    let mut xy = Vec::with_capacity(2 * resolution * resolution);
    for row in 0..resolution {
        for column in 0..resolution {
            let (x1, x2) = HeatMap::cell_centre(resolution, row, column);
            xy.extend([x1, x2]);
        }
    }
    debug_assert!(xy.iter().all(|v: &f64| v.abs() < EXTENT));
    Tensor::from_vec(xy, [resolution * resolution, 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The browser's server moves sessions between threads.
    #[test]
    fn a_session_can_move_to_another_thread() {
        fn assert_send<S: Send>() {}
        assert_send::<Session>();
    }

    /// The history's epochs after `record` sees epochs 1 to `epochs` of a fresh session.
    fn recorded(epochs: usize) -> Vec<usize> {
        let mut session = Session::new(Config::defaults(Dataset::Circle, false), None).unwrap();
        for epoch in 1..=epochs {
            let losses = LossPoint {
                epoch,
                train: 0.0,
                test: 0.0,
            };
            session.record(losses);
        }
        session.history.iter().map(|p| p.epoch).collect()
    }

    /// Past the cap (here 300,000 epochs, six halvings) the history stays within it, starts at
    /// epoch 0, ends at the latest, and is evenly spaced between.
    #[test]
    fn the_history_is_thinned_evenly_at_the_cap() {
        for epochs in [
            HISTORY_CAP - 1,
            HISTORY_CAP,
            HISTORY_CAP + 1,
            300_000,
            300_001,
        ] {
            let kept = recorded(epochs);
            assert!(kept.len() <= HISTORY_CAP, "{epochs}: {} points", kept.len());
            assert!(
                kept.len() > HISTORY_CAP / 2,
                "{epochs}: {} points",
                kept.len()
            );
            assert_eq!(kept[0], 0);
            assert_eq!(*kept.last().unwrap(), epochs);
            // One stride between all but the latest, which may come sooner.
            let stride = kept[1] - kept[0];
            let body = &kept[..kept.len() - 1];
            assert!(body.windows(2).all(|w| w[1] - w[0] == stride), "{epochs}");
            assert!(epochs - body[body.len() - 1] <= stride, "{epochs}");
        }
        assert_eq!(
            recorded(HISTORY_CAP - 1),
            (0..HISTORY_CAP).collect::<Vec<_>>()
        );
    }
}
