//! Proves that `Session::step` with `config.exact` trains as the TensorFlow Playground does.
//!
//! The reference below is the Playground's own algorithm (`src/nn.ts` and `oneStep` in
//! `src/playground.ts`, current version) written again as plain loops over f64 nodes and links:
//! no tape, no tensor, no nn layer. It starts from the Session's initial weights and sees the
//! Session's training points in the Session's order, with the features' formulas written out
//! here; after every epoch each weight, bias and reported loss of the two must agree to ~1e-12
//! (the Session sums a batch in one batched pass, so the last bits may differ). The cases cover
//! full batches, a final partial batch carried across epochs, L1 (with links dying) and L2,
//! every hidden activation, regression, and a network without hidden layers; one more case is
//! worked out by hand.

use shendu_nn::data::playground::Feature;
use shendu_nn::Activation;
use shendu_playground::{Config, Dataset, Point, PointSet, Problem, Regularization, Session};

/// How far the Session may be from the reference, relative to the value (or absolutely, below
/// 1): the two sum the same terms in another order, a few ulps per step.
const TOLERANCE: f64 = 1e-12;

/// A node's activation, as `nn.ts`'s `Activations`: the value and the derivative at the
/// node's total input.
#[derive(Clone, Copy, Debug)]
enum Act {
    Tanh,
    Relu,
    Sigmoid,
    Linear,
}

impl Act {
    fn of(activation: Activation) -> Act {
        match activation {
            Activation::Tanh => Act::Tanh,
            Activation::Relu => Act::Relu,
            Activation::Sigmoid => Act::Sigmoid,
            Activation::Identity => Act::Linear,
            other => panic!("{other:?} is not a Playground activation"),
        }
    }

    fn output(self, x: f64) -> f64 {
        match self {
            Act::Tanh => x.tanh(),
            Act::Relu => x.max(0.0),
            Act::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Act::Linear => x,
        }
    }

    fn der(self, x: f64) -> f64 {
        match self {
            Act::Tanh => {
                let o = x.tanh();
                1.0 - o * o
            }
            Act::Relu => {
                if x <= 0.0 {
                    0.0
                } else {
                    1.0
                }
            }
            Act::Sigmoid => {
                let o = Act::Sigmoid.output(x);
                o * (1.0 - o)
            }
            Act::Linear => 1.0,
        }
    }
}

/// A neuron with its incoming links, as `nn.ts`'s `Node` and `Link` (the link fields are
/// indexed by the source node).
struct Node {
    bias: f64,
    weights: Vec<f64>,
    dead: Vec<bool>,
    acc_error_der: Vec<f64>,
    link_ders: Vec<usize>,
    acc_input_der: f64,
    node_ders: usize,
    total_input: f64,
    output: f64,
    output_der: f64,
    input_der: f64,
    activation: Act,
}

/// The Playground's network and its training loop.
struct Reference {
    /// The input layer's outputs: the features of the current example.
    inputs: Vec<f64>,
    /// Hidden layers, then the output layer of one node.
    layers: Vec<Vec<Node>>,
    learning_rate: f64,
    regularization: Regularization,
    regularization_rate: f64,
    batch: usize,
}

impl Reference {
    /// The Session's network as it is now, its weights read from the model (`[out, in]`).
    fn of(session: &Session) -> Reference {
        let config = session.config();
        let hidden = Act::of(config.activation);
        let output = match session.problem() {
            Problem::Classification => Act::Tanh,
            Problem::Regression => Act::Linear,
        };
        let count = session.model().layers().len();
        let layers = session
            .model()
            .layers()
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                let (outputs, inputs) = (layer.out_features(), layer.in_features());
                let w = layer.weight.value().to_vec();
                let b = layer.bias.as_ref().expect("a bias").value().to_vec();
                (0..outputs)
                    .map(|j| Node {
                        bias: b[j],
                        weights: w[j * inputs..(j + 1) * inputs].to_vec(),
                        dead: vec![false; inputs],
                        acc_error_der: vec![0.0; inputs],
                        link_ders: vec![0; inputs],
                        acc_input_der: 0.0,
                        node_ders: 0,
                        total_input: 0.0,
                        output: 0.0,
                        output_der: 0.0,
                        input_der: 0.0,
                        activation: if l + 1 == count { output } else { hidden },
                    })
                    .collect()
            })
            .collect();
        Reference {
            inputs: Vec::new(),
            layers,
            learning_rate: config.learning_rate,
            regularization: config.regularization,
            regularization_rate: config.regularization_rate,
            batch: config.batch,
        }
    }

    /// `forwardProp`: every node's total input (bias first, then the links in order) and
    /// output; returns the output node's.
    fn forward(&mut self, input: &[f64]) -> f64 {
        self.inputs = input.to_vec();
        for l in 0..self.layers.len() {
            let (before, rest) = self.layers.split_at_mut(l);
            let previous: Vec<f64> = match before.last() {
                Some(layer) => layer.iter().map(|n| n.output).collect(),
                None => self.inputs.clone(),
            };
            for node in &mut rest[0] {
                node.total_input = node.bias;
                for (w, x) in node.weights.iter().zip(&previous) {
                    node.total_input += w * x;
                }
                node.output = node.activation.output(node.total_input);
            }
        }
        self.layers.last().expect("an output layer")[0].output
    }

    /// `backProp` of ½(o − t)² after a `forward`: accumulates every node's input derivative and
    /// every live link's error derivative, each with its own count.
    fn backward(&mut self, target: f64) {
        let last = self.layers.len() - 1;
        let output = &mut self.layers[last][0];
        output.output_der = output.output - target;
        for l in (0..self.layers.len()).rev() {
            let previous: Vec<f64> = if l == 0 {
                self.inputs.clone()
            } else {
                self.layers[l - 1].iter().map(|n| n.output).collect()
            };
            for node in &mut self.layers[l] {
                node.input_der = node.output_der * node.activation.der(node.total_input);
                node.acc_input_der += node.input_der;
                node.node_ders += 1;
                for (i, source) in previous.iter().enumerate() {
                    if node.dead[i] {
                        continue;
                    }
                    node.acc_error_der[i] += node.input_der * source;
                    node.link_ders[i] += 1;
                }
            }
            if l == 0 {
                continue;
            }
            // The derivative with respect to each output of the layer before: the sum over
            // its outgoing links (a dead link's weight is 0 and adds nothing).
            let (before, rest) = self.layers.split_at_mut(l);
            for (i, source) in before[l - 1].iter_mut().enumerate() {
                source.output_der = rest[0]
                    .iter()
                    .map(|dest| dest.weights[i] * dest.input_der)
                    .sum();
            }
        }
    }

    /// `updateWeights`.
    fn update(&mut self) {
        let lr = self.learning_rate;
        let rate = self.regularization_rate;
        for node in self.layers.iter_mut().flatten() {
            if node.node_ders > 0 {
                node.bias -= lr * node.acc_input_der / node.node_ders as f64;
                node.acc_input_der = 0.0;
                node.node_ders = 0;
            }
            for i in 0..node.weights.len() {
                if node.dead[i] {
                    continue;
                }
                let w = node.weights[i];
                // reg′ at the weight before this update.
                let regul_der = match self.regularization {
                    Regularization::None => 0.0,
                    Regularization::L1 => {
                        if w < 0.0 {
                            -1.0
                        } else if w > 0.0 {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    Regularization::L2 => w,
                };
                if node.link_ders[i] > 0 {
                    let moved = w - (lr / node.link_ders[i] as f64) * node.acc_error_der[i];
                    let penalised = moved - (lr * rate) * regul_der;
                    if self.regularization == Regularization::L1 && moved * penalised < 0.0 {
                        node.weights[i] = 0.0;
                        node.dead[i] = true;
                    } else {
                        node.weights[i] = penalised;
                    }
                    node.acc_error_der[i] = 0.0;
                    node.link_ders[i] = 0;
                }
            }
        }
    }

    /// `oneStep`: the examples in order, an update after every `batch` of them counted from
    /// the start of this epoch; what is left after the last full batch stays accumulated.
    fn epoch(&mut self, examples: &[(Vec<f64>, f64)]) {
        for (i, (input, target)) in examples.iter().enumerate() {
            self.forward(input);
            self.backward(*target);
            if (i + 1) % self.batch == 0 {
                self.update();
            }
        }
    }

    /// `getLoss`: the mean of ½(o − t)².
    fn loss(&mut self, examples: &[(Vec<f64>, f64)]) -> f64 {
        let mut sum = 0.0;
        for (input, target) in examples {
            let o = self.forward(input);
            sum += 0.5 * (o - target) * (o - target);
        }
        sum / examples.len() as f64
    }

    fn dead_links(&self) -> usize {
        self.layers
            .iter()
            .flatten()
            .map(|n| n.dead.iter().filter(|d| **d).count())
            .sum()
    }
}

/// The Playground's input for a point (`constructInput`), the formulas written out.
fn input(point: &Point, features: &[Feature]) -> Vec<f64> {
    let (x1, x2) = (point.x1, point.x2);
    features
        .iter()
        .map(|f| match f {
            Feature::X1 => x1,
            Feature::X2 => x2,
            Feature::X1Squared => x1 * x1,
            Feature::X2Squared => x2 * x2,
            Feature::X1X2 => x1 * x2,
            Feature::SinX1 => x1.sin(),
            Feature::SinX2 => x2.sin(),
        })
        .collect()
}

fn examples(points: &[Point], features: &[Feature]) -> Vec<(Vec<f64>, f64)> {
    points
        .iter()
        .map(|p| (input(p, features), p.label))
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

/// Every weight and bias of the Session equals the reference's.
fn assert_same_network(session: &Session, reference: &Reference, when: &str) {
    let layers = session.model().layers();
    assert_eq!(layers.len(), reference.layers.len(), "{when}: layer count");
    for (l, (layer, nodes)) in layers.iter().zip(&reference.layers).enumerate() {
        let inputs = layer.in_features();
        let w = layer.weight.value().to_vec();
        let b = layer.bias.as_ref().expect("a bias").value().to_vec();
        assert_eq!(b.len(), nodes.len(), "{when}: layer {l} width");
        for (j, node) in nodes.iter().enumerate() {
            assert!(
                close(b[j], node.bias),
                "{when}: layer {l} bias {j}: session {} reference {} (difference {:e})",
                b[j],
                node.bias,
                b[j] - node.bias
            );
            for (i, &r) in node.weights.iter().enumerate() {
                let s = w[j * inputs + i];
                assert!(
                    close(s, r),
                    "{when}: layer {l} weight [{j}][{i}]: session {s} reference {r} \
                     (difference {:e}, link dead in the reference: {})",
                    s - r,
                    node.dead[i]
                );
                if node.dead[i] {
                    // A dead link is exactly 0, not merely close to it.
                    assert_eq!(s, 0.0, "{when}: layer {l} dead weight [{j}][{i}]");
                }
            }
        }
    }
}

/// Steps the Session and the reference `epochs` times from the same start and compares the
/// networks and the reported train and test losses after each epoch. Returns the reference.
fn train_both(config: Config, points: Option<PointSet>, epochs: usize) -> Reference {
    assert!(config.exact);
    let mut session = Session::new(config, points).expect("a valid config");
    let features = session.config().features.clone();
    let train = examples(session.train_points(), &features);
    let test = examples(session.test_points(), &features);
    let mut reference = Reference::of(&session);
    assert_same_network(&session, &reference, "initially");
    let initial = session.history()[0];
    assert!(
        close(initial.train, reference.loss(&train)),
        "initial train loss"
    );
    for epoch in 1..=epochs {
        let losses = session.step();
        reference.epoch(&train);
        let when = format!("after epoch {epoch}");
        assert_same_network(&session, &reference, &when);
        assert_eq!(losses.epoch, epoch);
        let (train_loss, test_loss) = (reference.loss(&train), reference.loss(&test));
        assert!(
            close(losses.train, train_loss),
            "{when}: train loss: session {} reference {train_loss}",
            losses.train
        );
        assert!(
            close(losses.test, test_loss),
            "{when}: test loss: session {} reference {test_loss}",
            losses.test
        );
    }
    reference
}

fn exact(dataset: Dataset) -> Config {
    Config {
        noise: 10,
        ..Config::defaults(dataset, true)
    }
}

#[test]
fn circle_with_full_batches_matches_the_playground() {
    // The Playground's defaults: 250 training points in 25 batches of 10, nothing carried.
    let config = exact(Dataset::Circle);
    assert_eq!(250 % config.batch, 0);
    train_both(config, None, 5);
}

#[test]
fn a_final_partial_batch_is_carried_into_the_next_epoch() {
    // 250 points in batches of 7 leave 5 each epoch: the next epoch's first update sums 12
    // examples and divides by 12. Several epochs, so that the carry crosses several boundaries.
    let config = Config {
        batch: 7,
        learning_rate: 0.1,
        ..exact(Dataset::Xor)
    };
    assert_ne!(250 % config.batch, 0);
    train_both(config, None, 6);

    // A training set that is not a round number either: 30% of 500 = 150 points in batches
    // of 13 leave 7.
    let config = Config {
        batch: 13,
        train_percent: 30,
        ..exact(Dataset::Gauss)
    };
    train_both(config, None, 4);
}

#[test]
fn l2_regularisation_matches_the_playground() {
    let config = Config {
        regularization: Regularization::L2,
        regularization_rate: 0.3,
        learning_rate: 0.1,
        batch: 9,
        ..exact(Dataset::Circle)
    };
    train_both(config, None, 5);
}

#[test]
fn l1_regularisation_kills_links_as_the_playground_does() {
    // lr·rate = 0.001 per update, 25 updates an epoch: the small weights cross zero and die
    // within a few epochs, and then stay at 0 for good.
    let config = Config {
        regularization: Regularization::L1,
        regularization_rate: 0.01,
        learning_rate: 0.1,
        hidden: vec![6, 4],
        ..exact(Dataset::Xor)
    };
    let reference = train_both(config, None, 8);
    assert!(
        reference.dead_links() > 0,
        "no link died: the L1 path was not exercised"
    );
    // Not all of them either: the comparison must also cover live L1 weights.
    let links: usize = reference
        .layers
        .iter()
        .flatten()
        .map(|n| n.weights.len())
        .sum();
    assert!(reference.dead_links() < links);
}

#[test]
fn every_hidden_activation_matches_the_playground() {
    for activation in [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Identity,
        Activation::Tanh,
    ] {
        let config = Config {
            activation,
            features: Feature::ALL.to_vec(),
            hidden: vec![5, 3],
            batch: 6,
            learning_rate: 0.1,
            ..exact(Dataset::Spiral)
        };
        train_both(config, None, 4);
    }
}

#[test]
fn regression_with_a_linear_output_matches_the_playground() {
    // The plane: 1,200 points, 600 to train; the output neuron is linear.
    let config = Config {
        hidden: vec![3],
        batch: 11,
        learning_rate: 0.01,
        ..exact(Dataset::Plane)
    };
    train_both(config, None, 4);

    let config = Config {
        regularization: Regularization::L2,
        regularization_rate: 0.01,
        learning_rate: 0.003,
        ..exact(Dataset::MultiGaussian)
    };
    train_both(config, None, 3);
}

#[test]
fn a_network_without_hidden_layers_matches_the_playground() {
    let config = Config {
        hidden: Vec::new(),
        features: vec![Feature::X1Squared, Feature::X2Squared, Feature::SinX1],
        batch: 4,
        ..exact(Dataset::Circle)
    };
    train_both(config, None, 5);
}

#[test]
fn one_update_and_one_carried_example_worked_out_by_hand() {
    // Six points of the user's own with labels that are not classes: a regression, so the
    // output is linear. 50% gives 3 training points (p, q, r in the Session's order) and,
    // with input x₁ alone and no hidden layer, the network is o = w·x + b.
    let points = [
        (1.0, 0.0, 0.5),
        (-2.0, 1.0, -0.25),
        (0.5, -1.0, 1.5),
        (3.0, 2.0, 0.75),
        (-1.5, 0.5, -1.0),
        (2.5, -2.0, 0.25),
    ]
    .map(|(x1, x2, label)| Point { x1, x2, label })
    .to_vec();
    let config = Config {
        features: vec![Feature::X1],
        hidden: Vec::new(),
        batch: 2,
        learning_rate: 0.1,
        regularization: Regularization::L2,
        regularization_rate: 0.5,
        ..Config::defaults(Dataset::Plane, true)
    };
    let (lr, rate) = (config.learning_rate, config.regularization_rate);
    let set = PointSet {
        name: "hand".into(),
        points,
        problem: Problem::Regression,
    };
    let mut session = Session::new(config, Some(set)).unwrap();
    let train = session.train_points().to_vec();
    assert_eq!(train.len(), 3);
    let layer = &session.model().layers()[0];
    let w0 = layer.weight.value().to_vec()[0];
    let b0 = layer.bias.as_ref().unwrap().value().to_vec()[0];
    // The Playground's initial bias, and a weight in U(−0.5, 0.5).
    assert_eq!(b0, 0.1);
    assert!(w0.abs() < 0.5);

    // Per example, ½(o − t)² has ∂/∂b = e = o − t and ∂/∂w = e·x.
    let error = |w: f64, b: f64, p: &Point| w * p.x1 + b - p.label;
    let [p, q, r] = [train[0], train[1], train[2]];

    // Epoch 1: p and q make the first batch of 2 (at i = 1), both at (w₀, b₀):
    //   b₁ = b₀ − lr·(e_p + e_q)/2
    //   w₁ = w₀ − (lr/2)·(e_p·x_p + e_q·x_q) − lr·rate·w₀
    // the L2 term taken at w₀ and NOT divided by the batch count.
    let (ep, eq) = (error(w0, b0, &p), error(w0, b0, &q));
    let b1 = b0 - lr * (ep + eq) / 2.0;
    let w1 = w0 - (lr / 2.0) * (ep * p.x1 + eq * q.x1) - lr * rate * w0;
    // r (i = 2) is accumulated at (w₁, b₁), but 3 is not a multiple of 2: no update.
    let er = error(w1, b1, &r);
    session.step();
    let layer = &session.model().layers()[0];
    let (w, b) = (
        layer.weight.value().to_vec()[0],
        layer.bias.as_ref().unwrap().value().to_vec()[0],
    );
    assert!(close(w, w1), "after epoch 1: w = {w}, by hand {w1}");
    assert!(close(b, b1), "after epoch 1: b = {b}, by hand {b1}");

    // Epoch 2: p (i = 0) and q (i = 1) at (w₁, b₁) join the carried r, and the update at
    // i = 1 divides by the 3 examples summed:
    //   b₂ = b₁ − lr·(e_r + e_p + e_q)/3
    //   w₂ = w₁ − (lr/3)·(e_r·x_r + e_p·x_p + e_q·x_q) − lr·rate·w₁
    let (ep, eq) = (error(w1, b1, &p), error(w1, b1, &q));
    let b2 = b1 - lr * (er + ep + eq) / 3.0;
    let w2 = w1 - (lr / 3.0) * (er * r.x1 + ep * p.x1 + eq * q.x1) - lr * rate * w1;
    let losses = session.step();
    let layer = &session.model().layers()[0];
    let (w, b) = (
        layer.weight.value().to_vec()[0],
        layer.bias.as_ref().unwrap().value().to_vec()[0],
    );
    assert!(close(w, w2), "after epoch 2: w = {w}, by hand {w2}");
    assert!(close(b, b2), "after epoch 2: b = {b}, by hand {b2}");

    // The reported loss: the mean of ½(o − t)² over p, q and r at (w₂, b₂).
    let loss = [p, q, r]
        .iter()
        .map(|x| 0.5 * error(w2, b2, x).powi(2))
        .sum::<f64>()
        / 3.0;
    assert!(
        close(losses.train, loss),
        "train loss {} by hand {loss}",
        losses.train
    );
}
