//! Proves what a `Session` promises besides `--exact` arithmetic (tests/integration/exact.rs):
//! - a run is reproducible: the same config and seed give bit-identical snapshots, in two
//!   sessions and under rayon pools of 1 and 2 threads;
//! - `Config::validate` rejects every out-of-range field and names it, and `Session::new`
//!   returns that error (the limits themselves are accepted);
//! - a snapshot has the Playground's shapes, and its heat maps, weights and accuracies agree
//!   with a forward pass written out here;
//! - the default spiral run reaches ≥ 95% test accuracy for seeds 0 to 4;
//! - `Session::save` writes a safetensors file that `StateDict` and an `Mlp` load back;
//! - `points::parse_points` reads headers, classes and values, and rejects bad text by line;
//! - the loss history of a long run stays within `HISTORY_CAP` points, from epoch 0 to the
//!   latest, epochs increasing.

use rand::rngs::StdRng;
use rand::SeedableRng;
use shendu_nn::data::playground::Feature;
use shendu_nn::{Activation, Checkpoint, Init, Mlp, StateDict};
use shendu_playground::config::MAX_EPOCHS;
use shendu_playground::points::{parse_points, PointsError};
use shendu_playground::session::HISTORY_CAP;
use shendu_playground::{
    Config, ConfigError, Dataset, HeatMap, LossKind, OptimizerKind, Point, PointSet, Problem,
    Regularization, Session, Snapshot,
};

fn trained(config: &Config, epochs: usize) -> Snapshot {
    let mut session = Session::new(config.clone(), None).expect("a valid config");
    for _ in 0..epochs {
        session.step();
    }
    session.snapshot(100, 10)
}

/// Every number of a snapshot as its bits, in a fixed order: equal fingerprints are equal
/// bits (a −0 differs from a +0, which `==` on f64 would not see).
fn fingerprint(s: &Snapshot) -> Vec<u64> {
    let mut numbers: Vec<f64> = Vec::new();
    for loss in &s.history {
        numbers.extend([loss.epoch as f64, loss.train, loss.test]);
    }
    numbers.extend(&s.output.values);
    for map in s.neurons.iter().flatten() {
        numbers.extend(&map.values);
    }
    for layer in &s.network.layers {
        numbers.extend(layer.weights.iter().flatten());
        numbers.extend(&layer.biases);
    }
    for p in s.train.iter().chain(&s.test) {
        numbers.extend([p.x1, p.x2, p.label]);
    }
    numbers.extend(s.train_accuracy.iter().chain(&s.test_accuracy));
    numbers.into_iter().map(f64::to_bits).collect()
}

fn assert_same_bits(a: &Snapshot, b: &Snapshot, what: &str) {
    assert_eq!(a.settings, b.settings, "{what}: settings");
    let (fa, fb) = (fingerprint(a), fingerprint(b));
    assert_eq!(fa.len(), fb.len(), "{what}: number of values");
    if let Some(i) = (0..fa.len()).find(|&i| fa[i] != fb[i]) {
        panic!(
            "{what}: value {i} of the snapshot differs: {} vs {}",
            f64::from_bits(fa[i]),
            f64::from_bits(fb[i])
        );
    }
}

/// Configs that go through every way of training: the tape with shuffles (SGD and Adam, both
/// penalties, both losses) and the exact mode with a carried batch and L1.
fn determinism_configs() -> Vec<(Config, usize)> {
    vec![
        (Config::defaults(Dataset::Spiral, false), 25),
        (
            Config {
                loss: LossKind::CrossEntropy,
                regularization: Regularization::L1,
                regularization_rate: 0.001,
                batch: 7,
                noise: 20,
                seed: 3,
                ..Config::defaults(Dataset::Xor, false)
            },
            20,
        ),
        (
            Config {
                batch: 7,
                regularization: Regularization::L1,
                regularization_rate: 0.03,
                learning_rate: 0.1,
                seed: 5,
                ..Config::defaults(Dataset::Circle, true)
            },
            20,
        ),
        (
            Config {
                seed: 11,
                ..Config::defaults(Dataset::MultiGaussian, false)
            },
            5,
        ),
    ]
}

#[test]
fn the_same_config_and_seed_give_the_same_bits() {
    for (config, epochs) in determinism_configs() {
        let what = format!("{:?} exact={}", config.dataset, config.exact);
        assert_same_bits(&trained(&config, epochs), &trained(&config, epochs), &what);
    }
    // And the seed matters: the comparison above would notice a difference.
    let config = Config::defaults(Dataset::Circle, false);
    let other = Config {
        seed: 1,
        ..config.clone()
    };
    assert_ne!(
        fingerprint(&trained(&config, 2)),
        fingerprint(&trained(&other, 2))
    );
}

#[test]
fn one_and_two_rayon_threads_give_the_same_bits() {
    let in_pool = |threads: usize, config: &Config, epochs: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a rayon pool");
        pool.install(|| {
            assert_eq!(rayon::current_num_threads(), threads);
            trained(config, epochs)
        })
    };
    for (config, epochs) in determinism_configs() {
        let what = format!(
            "{:?} exact={}, 1 vs 2 threads",
            config.dataset, config.exact
        );
        assert_same_bits(
            &in_pool(1, &config, epochs),
            &in_pool(2, &config, epochs),
            &what,
        );
    }
}

/// One field of a config changed.
type Change = Box<dyn Fn(&mut Config)>;

/// A config with one field changed, the problem it is checked for, and the field the error
/// must name.
type Case = (&'static str, Change, Problem, &'static str);

fn out_of_range() -> Vec<Case> {
    use Problem::{Classification as C, Regression as R};
    vec![
        ("noise 51", Box::new(|c| c.noise = 51), C, "noise"),
        (
            "train 5%",
            Box::new(|c| c.train_percent = 5),
            C,
            "train-percent",
        ),
        (
            "train 95%",
            Box::new(|c| c.train_percent = 95),
            C,
            "train-percent",
        ),
        ("batch 0", Box::new(|c| c.batch = 0), C, "batch"),
        ("batch 31", Box::new(|c| c.batch = 31), C, "batch"),
        (
            "no features",
            Box::new(|c| c.features.clear()),
            C,
            "features",
        ),
        (
            "a repeated feature",
            Box::new(|c| c.features = vec![Feature::X1, Feature::X2, Feature::X1]),
            C,
            "features",
        ),
        (
            "7 hidden layers",
            Box::new(|c| c.hidden = vec![2; 7]),
            C,
            "layers",
        ),
        (
            "a layer of 0",
            Box::new(|c| c.hidden = vec![4, 0]),
            C,
            "layers",
        ),
        (
            "a layer of 9",
            Box::new(|c| c.hidden = vec![9]),
            C,
            "layers",
        ),
        (
            "gelu",
            Box::new(|c| c.activation = Activation::Gelu),
            C,
            "activation",
        ),
        ("lr 0", Box::new(|c| c.learning_rate = 0.0), C, "lr"),
        ("lr NaN", Box::new(|c| c.learning_rate = f64::NAN), C, "lr"),
        ("lr -1", Box::new(|c| c.learning_rate = -1.0), C, "lr"),
        (
            "lr inf",
            Box::new(|c| c.learning_rate = f64::INFINITY),
            C,
            "lr",
        ),
        (
            "reg-rate -0.1",
            Box::new(|c| c.regularization_rate = -0.1),
            C,
            "reg-rate",
        ),
        (
            "reg-rate NaN",
            Box::new(|c| c.regularization_rate = f64::NAN),
            C,
            "reg-rate",
        ),
        (
            "too many epochs",
            Box::new(|c| c.epochs = MAX_EPOCHS + 1),
            C,
            "epochs",
        ),
        (
            "bce on regression",
            Box::new(|c| {
                c.dataset = Dataset::Plane;
                c.loss = LossKind::CrossEntropy;
            }),
            R,
            "loss",
        ),
        (
            "exact with adam",
            Box::new(|c| {
                c.exact = true;
                c.optimizer = OptimizerKind::Adam;
            }),
            C,
            "optimizer",
        ),
        (
            "exact with bce",
            Box::new(|c| {
                c.exact = true;
                c.loss = LossKind::CrossEntropy;
            }),
            C,
            "loss",
        ),
    ]
}

#[test]
fn validate_rejects_each_field_out_of_range_and_names_it() {
    for (what, change, problem, field) in out_of_range() {
        let mut config = Config::defaults(Dataset::Circle, false);
        change(&mut config);
        let error = config
            .validate(problem)
            .expect_err(&format!("{what} was accepted"));
        assert_eq!(error.field, field, "{what}: {error}");
        assert!(!error.message.is_empty(), "{what}: no message");
        // The message shows the flag as the user types it.
        assert!(
            error.to_string().starts_with(&format!("--{field}: ")),
            "{what}: {error}"
        );
        // A session is never built on it, and says the same.
        match Session::new(config, None) {
            Ok(_) => panic!("{what}: Session::new accepted it"),
            Err(e) => assert_eq!(e, error, "{what}"),
        }
    }
}

#[test]
fn validate_accepts_the_limits() {
    // Each limit itself is allowed, so that the rejections above are not off by one.
    let accepted: Vec<(&str, Change)> = vec![
        ("noise 50", Box::new(|c| c.noise = 50)),
        ("train 10%", Box::new(|c| c.train_percent = 10)),
        ("train 90%", Box::new(|c| c.train_percent = 90)),
        ("batch 1", Box::new(|c| c.batch = 1)),
        ("batch 30", Box::new(|c| c.batch = 30)),
        ("6 layers of 8", Box::new(|c| c.hidden = vec![8; 6])),
        ("layers of 1", Box::new(|c| c.hidden = vec![1, 1])),
        ("no hidden layer", Box::new(|c| c.hidden.clear())),
        (
            "all features",
            Box::new(|c| c.features = Feature::ALL.to_vec()),
        ),
        ("lr 10", Box::new(|c| c.learning_rate = 10.0)),
        ("reg-rate 0", Box::new(|c| c.regularization_rate = 0.0)),
        ("epochs at most", Box::new(|c| c.epochs = MAX_EPOCHS)),
        (
            "bce on classes",
            Box::new(|c| c.loss = LossKind::CrossEntropy),
        ),
        ("exact sgd", Box::new(|c| c.exact = true)),
    ];
    for (what, change) in accepted {
        let mut config = Config::defaults(Dataset::Circle, false);
        change(&mut config);
        assert_eq!(
            config.validate(Problem::Classification),
            Ok(()),
            "{what} was rejected"
        );
    }
    for dataset in Dataset::ALL {
        for exact in [false, true] {
            let config = Config::defaults(dataset, exact);
            assert_eq!(config.validate(dataset.problem()), Ok(()), "{dataset:?}");
        }
    }
}

#[test]
fn session_new_checks_the_users_points() {
    let regression = PointSet {
        name: "values.csv".into(),
        points: (0..10)
            .map(|i| Point {
                x1: i as f64,
                x2: -(i as f64),
                label: 0.1 * i as f64,
            })
            .collect(),
        problem: Problem::Regression,
    };
    // Cross-entropy is checked against the points' problem, not the generated data set's.
    let config = Config {
        loss: LossKind::CrossEntropy,
        ..Config::defaults(Dataset::Circle, false)
    };
    let error = Session::new(config, Some(regression.clone()))
        .err()
        .unwrap();
    assert_eq!(error.field, "loss");

    let single = PointSet {
        points: regression.points[..1].to_vec(),
        ..regression
    };
    let error: ConfigError = Session::new(Config::defaults(Dataset::Circle, false), Some(single))
        .err()
        .unwrap();
    assert_eq!(error.field, "data");
    assert!(error.message.contains("values.csv"), "{error}");
}

/// The point at the centre of a cell, as `HeatMap`'s doc defines it: row 0 at the top.
fn centre(resolution: usize, row: usize, column: usize) -> (f64, f64) {
    let step = 12.0 / resolution as f64;
    (
        -6.0 + step * (column as f64 + 0.5),
        6.0 - step * (row as f64 + 0.5),
    )
}

fn feature(f: Feature, x1: f64, x2: f64) -> f64 {
    match f {
        Feature::X1 => x1,
        Feature::X2 => x2,
        Feature::X1Squared => x1 * x1,
        Feature::X2Squared => x2 * x2,
        Feature::X1X2 => x1 * x2,
        Feature::SinX1 => x1.sin(),
        Feature::SinX2 => x2.sin(),
    }
}

/// Every layer's outputs at a point, from the snapshot's weights, written out as loops; the
/// last layer is the output as shown (tanh for classification).
fn forward(s: &Snapshot, config: &Config, x1: f64, x2: f64) -> Vec<Vec<f64>> {
    let act = |z: f64| match config.activation {
        Activation::Tanh => z.tanh(),
        Activation::Relu => z.max(0.0),
        Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
        Activation::Identity => z,
        other => panic!("{other:?}"),
    };
    let mut values: Vec<f64> = config
        .features
        .iter()
        .map(|f| feature(*f, x1, x2))
        .collect();
    let mut layers = Vec::new();
    let last = s.network.layers.len() - 1;
    for (l, layer) in s.network.layers.iter().enumerate() {
        values = layer
            .weights
            .iter()
            .zip(&layer.biases)
            .map(|(w, b)| {
                let z = b + w.iter().zip(&values).map(|(w, x)| w * x).sum::<f64>();
                match (l == last, s.problem) {
                    (false, _) => act(z),
                    (true, Problem::Classification) => z.tanh(),
                    (true, Problem::Regression) => z,
                }
            })
            .collect();
        layers.push(values.clone());
    }
    layers
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn a_snapshot_has_the_playgrounds_shapes_and_values() {
    let config = Config {
        train_percent: 30,
        hidden: vec![3, 5, 2],
        features: vec![Feature::X1, Feature::X2, Feature::X1X2, Feature::SinX2],
        activation: Activation::Relu,
        ..Config::defaults(Dataset::Circle, false)
    };
    let mut session = Session::new(config.clone(), None).unwrap();
    for _ in 0..3 {
        session.step();
    }
    let s = session.snapshot(100, 10);

    // 500 points at 30%: 150 to train, 350 to test.
    assert_eq!((s.train.len(), s.test.len()), (150, 350));
    assert_eq!(s.problem, Problem::Classification);
    assert_eq!(s.epoch, 3);
    assert_eq!(s.history.len(), 4);
    assert_eq!(
        s.history.iter().map(|l| l.epoch).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );

    // The output: 100 × 100 cells.
    assert_eq!(s.output.resolution, 100);
    assert_eq!(s.output.values.len(), 100 * 100);

    // One list of maps per layer: the 4 inputs, the hidden layers, the output; 10 × 10 each.
    let counts: Vec<usize> = s.neurons.iter().map(Vec::len).collect();
    assert_eq!(counts, [4, 3, 5, 2, 1]);
    for map in s.neurons.iter().flatten() {
        assert_eq!((map.resolution, map.values.len()), (10, 100));
    }

    // The weights `[out][in]` and biases, as the model holds them.
    assert_eq!(s.network.inputs.len(), 4);
    assert_eq!(s.network.layers.len(), 4);
    for (layer, linear) in s.network.layers.iter().zip(session.model().layers()) {
        let (out, inp) = (linear.out_features(), linear.in_features());
        assert_eq!(layer.weights.len(), out);
        assert!(layer.weights.iter().all(|row| row.len() == inp));
        let flat: Vec<f64> = layer.weights.iter().flatten().copied().collect();
        assert_eq!(flat, linear.weight.value().to_vec());
        assert_eq!(layer.biases, linear.bias.as_ref().unwrap().value().to_vec());
    }

    // The maps' values: the network written out, at cell centres, row 0 at the top.
    for (row, column) in [(0, 0), (0, 99), (99, 0), (37, 62), (99, 99)] {
        let (x1, x2) = centre(100, row, column);
        let expected = forward(&s, &config, x1, x2).last().unwrap()[0];
        let got = s.output.get(row, column);
        assert!(
            close(got, expected),
            "output at ({row}, {column}): {got} vs {expected}"
        );
    }
    for (row, column) in [(0, 0), (2, 7), (9, 9)] {
        let (x1, x2) = centre(10, row, column);
        let layers = forward(&s, &config, x1, x2);
        for (l, values) in layers.iter().enumerate() {
            for (j, &expected) in values.iter().enumerate() {
                let got = s.neurons[l + 1][j].get(row, column);
                assert!(close(got, expected), "neuron {l}.{j}: {got} vs {expected}");
            }
        }
        // An input's map: the feature divided by its largest magnitude over the grid.
        for (k, f) in config.features.iter().enumerate() {
            let largest = (0..10)
                .flat_map(|r| (0..10).map(move |c| (r, c)))
                .map(|(r, c)| {
                    let (a, b) = centre(10, r, c);
                    feature(*f, a, b).abs()
                })
                .fold(0.0, f64::max);
            let expected = feature(*f, x1, x2) / largest;
            let got = s.neurons[0][k].get(row, column);
            assert!(close(got, expected), "input {f:?}: {got} vs {expected}");
        }
    }

    // Accuracies: the share of points whose sign the written-out network gets right.
    let accuracy = |points: &[Point]| {
        let right = points
            .iter()
            .filter(|p| {
                let o = forward(&s, &config, p.x1, p.x2).last().unwrap()[0];
                (o >= 0.0) == (p.label > 0.0)
            })
            .count();
        right as f64 / points.len() as f64
    };
    assert_eq!(s.train_accuracy, Some(accuracy(&s.train)));
    assert_eq!(s.test_accuracy, Some(accuracy(&s.test)));

    // A regression set: 1,200 points, and no accuracy.
    let config = Config {
        train_percent: 70,
        hidden: Vec::new(),
        ..Config::defaults(Dataset::Plane, false)
    };
    let s = Session::new(config, None).unwrap().snapshot(20, 4);
    assert_eq!((s.train.len(), s.test.len()), (840, 360));
    assert_eq!(s.problem, Problem::Regression);
    assert_eq!((s.train_accuracy, s.test_accuracy), (None, None));
    assert_eq!(s.output.values.len(), 400);
    let counts: Vec<usize> = s.neurons.iter().map(Vec::len).collect();
    assert_eq!(counts, [2, 1]);
    assert!(s
        .neurons
        .iter()
        .flatten()
        .all(|m: &HeatMap| m.values.len() == 16));
}

#[test]
fn the_default_spiral_run_reaches_95_percent_on_every_seed() {
    for seed in 0..5 {
        let config = Config {
            seed,
            ..Config::defaults(Dataset::Spiral, false)
        };
        let epochs = config.epochs;
        let mut session = Session::new(config, None).unwrap();
        for _ in 0..epochs {
            session.step();
        }
        let (_, test) = session.accuracies();
        let test = test.expect("classification");
        assert!(test >= 0.95, "seed {seed}: test accuracy {test}");
    }
}

#[test]
fn save_writes_a_checkpoint_that_loads_back() {
    let config = Config {
        features: vec![Feature::X1, Feature::X2, Feature::SinX1],
        activation: Activation::Sigmoid,
        ..Config::defaults(Dataset::Gauss, false)
    };
    let mut session = Session::new(config.clone(), None).unwrap();
    for _ in 0..3 {
        session.step();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    session.save(&path).unwrap();

    // Exactly one file: the temporary name was renamed.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["model.safetensors"]);

    // The tensors, named as the PyTorch Sequential(Linear, act, Linear, act, Linear).
    let state = StateDict::<f64>::read(&path).unwrap();
    let layers = session.model().layers();
    assert_eq!(state.tensors().count(), 2 * layers.len());
    for (i, linear) in layers.iter().enumerate() {
        let weight = state.tensor(&format!("{}.weight", 2 * i)).unwrap();
        assert_eq!(weight.shape(), linear.weight.value().shape());
        assert_eq!(weight.to_vec(), linear.weight.value().to_vec());
        let bias = state.tensor(&format!("{}.bias", 2 * i)).unwrap();
        assert_eq!(
            bias.to_vec(),
            linear.bias.as_ref().unwrap().value().to_vec()
        );
    }
    assert_eq!(state.text("playground.features").unwrap(), "x1,x2,sinx1");
    assert_eq!(state.text("playground.activation").unwrap(), "sigmoid");
    assert_eq!(state.text("playground.output").unwrap(), "tanh");
    assert_eq!(state.u64("playground.epoch").unwrap(), 3);
    assert_eq!(
        state.text("playground.settings").unwrap(),
        config.to_string()
    );

    // An Mlp of the same shape, initialised otherwise, loads it and then computes the same.
    let mut model = Mlp::<f64>::with_init(
        &config.layer_sizes(),
        Activation::Sigmoid,
        Init::PLAYGROUND_WEIGHT,
        Init::PLAYGROUND_BIAS,
        &mut StdRng::seed_from_u64(99),
    );
    model.load(&path).unwrap();
    for (loaded, original) in model.layers().iter().zip(layers) {
        assert_eq!(
            loaded.weight.value().to_vec(),
            original.weight.value().to_vec()
        );
        assert_eq!(
            loaded.bias.as_ref().unwrap().value().to_vec(),
            original.bias.as_ref().unwrap().value().to_vec()
        );
    }

    // A folder that does not exist is an error, not a panic.
    assert!(session
        .save(dir.path().join("no/such/model.safetensors"))
        .is_err());
}

#[test]
fn parse_points_reads_headers_classes_and_values() {
    // A header line is skipped; 0/1 labels become the classes −1/+1.
    let set = parse_points("a.csv", b"x1,x2,label\n1.5,-2,1\n0,3,0\n").unwrap();
    assert_eq!(set.name, "a.csv");
    assert_eq!(set.problem, Problem::Classification);
    assert_eq!(
        set.points,
        [
            Point {
                x1: 1.5,
                x2: -2.0,
                label: 1.0
            },
            Point {
                x1: 0.0,
                x2: 3.0,
                label: -1.0
            },
        ]
    );

    // ±1 labels stay as they are, without a header.
    let set = parse_points("b.csv", b"1,2,-1\n3,4,1\n5,6,-1\n").unwrap();
    assert_eq!(set.problem, Problem::Classification);
    let labels: Vec<f64> = set.points.iter().map(|p| p.label).collect();
    assert_eq!(labels, [-1.0, 1.0, -1.0]);

    // Any other labels are values to fit, unchanged.
    let set = parse_points("c.csv", b"x,y,z\n1,2,0.25\n3,4,-3\n5,6,1\n").unwrap();
    assert_eq!(set.problem, Problem::Regression);
    let labels: Vec<f64> = set.points.iter().map(|p| p.label).collect();
    assert_eq!(labels, [0.25, -3.0, 1.0]);
}

#[test]
fn parse_points_rejects_bad_text_and_says_where() {
    // A bad number: the error names line 3 and the column where "x" starts.
    let error = parse_points("d.csv", b"1,2,1\n3,4,0\n5,x,1\n").unwrap_err();
    let PointsError::Csv(csv) = &error else {
        panic!("not a CSV error: {error}");
    };
    assert_eq!((csv.line(), csv.column()), (Some(3), Some(3)));
    let message = error.to_string();
    assert!(
        message.contains("line 3") && message.contains("column 3"),
        "{message}"
    );
    assert!(message.contains("\"x\""), "{message}");

    // The same after a header: lines are counted in the text, the header included.
    let error = parse_points("d.csv", b"x1,x2,label\n3,4,0\n5,6,oops\n").unwrap_err();
    assert!(error.to_string().contains("line 3"), "{error}");

    // Two or four columns.
    for (text, columns) in [(&b"1,2\n3,4\n"[..], 2), (b"1,2,3,4\n5,6,7,8\n", 4)] {
        match parse_points("e.csv", text) {
            Err(PointsError::Columns { file, columns: c }) => {
                assert_eq!((file.as_str(), c), ("e.csv", columns));
            }
            other => panic!("{columns} columns: {other:?}"),
        }
    }
    // A short line further down.
    let error = parse_points("f.csv", b"1,2,1\n3,4\n").unwrap_err();
    assert!(error.to_string().contains("line 2"), "{error}");

    // No points at all: an empty or blank text.
    for text in [&b""[..], b"\n\n"] {
        match parse_points("g.csv", text) {
            Err(PointsError::Empty { file }) => assert_eq!(file, "g.csv"),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(text)),
        }
    }
    // A header alone holds no points either (the CSV reader says so).
    assert!(parse_points("g.csv", b"x1,x2,label\n").is_err());
}

/// A page left playing must not grow the history without bound: trained past the cap three
/// times over (4 points and one neuron, so that it takes a moment), it stays within it.
#[test]
fn a_long_runs_history_stays_within_the_cap() {
    let points = PointSet {
        name: "four".into(),
        points: [
            (1.0, 1.0, 1.0),
            (-1.0, -1.0, 1.0),
            (1.0, -1.0, -1.0),
            (-1.0, 1.0, -1.0),
        ]
        .map(|(x1, x2, label)| Point { x1, x2, label })
        .to_vec(),
        problem: Problem::Classification,
    };
    let config = Config {
        hidden: vec![1],
        ..Config::defaults(Dataset::Circle, false)
    };
    let mut session = Session::new(config, Some(points)).unwrap();
    let epochs = 4 * HISTORY_CAP + 3;
    for _ in 0..epochs {
        session.step();
        assert!(session.history().len() <= HISTORY_CAP);
    }
    let history = session.history();
    assert!(history.len() > HISTORY_CAP / 2, "{} points", history.len());
    assert_eq!(history[0].epoch, 0);
    assert_eq!(history[history.len() - 1].epoch, epochs);
    assert!(history.windows(2).all(|w| w[0].epoch < w[1].epoch));
    assert_eq!(session.snapshot(10, 2).history, history);
}
