//! What a training session looks like at one moment, as plain numbers: the heat maps, the
//! network's weights, the points and the loss history. The pictures (PNG files) and, later, the
//! browser page draw from a [`Snapshot`] alone, so they never reach into the model.

/// The side of the square every picture covers: points and heat maps live in
/// [−`EXTENT`, `EXTENT`]².
pub const EXTENT: f64 = 6.0;

/// Whether the network learns labels ±1 (two classes) or real values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Labels +1 (blue) and −1 (orange); the output is read as a class by its sign.
    Classification,
    /// Real-valued labels, drawn on the same colour scale as classes (clamped to [−1, 1]).
    Regression,
}

/// A function's values over [−6, 6]² on a `resolution × resolution` grid of cell centres.
///
/// Row 0 is the top of the picture (x₂ near +6), column 0 its left (x₁ near −6), so that
/// `values[row * resolution + column]` is the value at
/// x₁ = −6 + 12·(column + ½)/resolution, x₂ = 6 − 12·(row + ½)/resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatMap {
    /// Cells per side.
    pub resolution: usize,
    /// `resolution²` values, row by row from the top.
    pub values: Vec<f64>,
}

impl HeatMap {
    /// The point (x₁, x₂) at the centre of a cell.
    pub fn cell_centre(resolution: usize, row: usize, column: usize) -> (f64, f64) {
        let step = 2.0 * EXTENT / resolution as f64;
        (
            -EXTENT + step * (column as f64 + 0.5),
            EXTENT - step * (row as f64 + 0.5),
        )
    }

    /// The value at a cell.
    pub fn get(&self, row: usize, column: usize) -> f64 {
        self.values[row * self.resolution + column]
    }
}

/// A data point: its coordinates and its label (±1 for a class, a real value for regression).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// The first coordinate, x₁ (horizontal).
    pub x1: f64,
    /// The second coordinate, x₂ (vertical).
    pub x2: f64,
    /// +1 (blue) or −1 (orange) for a class; the target value for regression.
    pub label: f64,
}

/// One layer of neurons: their incoming weights and their biases.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// `weights[j][i]`: the weight of the link from neuron (or input) `i` of the layer before
    /// to neuron `j` of this one.
    pub weights: Vec<Vec<f64>>,
    /// `biases[j]`: neuron `j`'s bias.
    pub biases: Vec<f64>,
}

/// The network as the Playground draws it: input nodes (one per feature), hidden layers and
/// one output neuron.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// The inputs' labels, in order (`X_1`, `X_2`, `X_1^2`, …).
    pub inputs: Vec<String>,
    /// The hidden layers, then the output layer (one neuron) last.
    pub layers: Vec<Layer>,
}

/// The train and test loss after an epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossPoint {
    /// Epochs completed (0: before training).
    pub epoch: usize,
    /// Mean loss over the training set.
    pub train: f64,
    /// Mean loss over the test set.
    pub test: f64,
}

/// Everything a picture of a session needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Classification or regression.
    pub problem: Problem,
    /// Epochs completed.
    pub epoch: usize,
    /// The losses of the epochs kept so far ([`Session::history`](crate::Session::history): every
    /// epoch up to [`HISTORY_CAP`](crate::session::HISTORY_CAP) of them, then evenly thinned),
    /// the initial one first and the latest last.
    pub history: Vec<LossPoint>,
    /// The name of the reported loss (`½(o − t)²`, `cross-entropy`), for titles.
    pub loss_name: String,
    /// The network's output over the square (in [−1, 1] for classification).
    pub output: HeatMap,
    /// One small heat map per node, layer by layer: `neurons[0]` are the inputs (the features'
    /// values), then every hidden layer, the output neuron last.
    pub neurons: Vec<Vec<HeatMap>>,
    /// Weights and biases.
    pub network: Network,
    /// The training points.
    pub train: Vec<Point>,
    /// The test points.
    pub test: Vec<Point>,
    /// The share of training points whose sign the output gets right (classification only).
    pub train_accuracy: Option<f64>,
    /// The same on the test points.
    pub test_accuracy: Option<f64>,
    /// A one-line summary of the settings (dataset, features, layers, …), for titles.
    pub settings: String,
}
