//! Optimizers: updates in place (the storage of every parameter never moves), the trajectories
//! of PyTorch's optimizers to 1e-12 in f64 (fixtures made by `fixtures/optim/make_fixtures.py`),
//! learning-rate schedules, gradient clipping, arguments checked, and a run resumed from saved
//! state continuing bit for bit.

use crate::common;

use common::panic_message;
use std::collections::HashMap;

use rand::{rngs::StdRng, SeedableRng};
use shendu_autograd::Gradients;
use shendu_nn::{
    clip_grad_norm, clip_grad_value, Activation, Adagrad, Adam, AdamW, Checkpoint,
    CosineAnnealingLr, Entry, ExponentialLr, Forward, LinearWarmup, LrSchedule, LrScheduler, Mlp,
    Module, Optimizer, Param, ParamGroup, RMSprop, Sgd, StateDict, StepLr, Visit, VisitMut,
};
use shendu_tensor::Tensor;

/// One of each optimizer, with the options that add state.
fn every_optimizer() -> Vec<(&'static str, Box<dyn Optimizer<f32>>)> {
    vec![
        (
            "Sgd",
            Box::new(
                Sgd::new(0.01)
                    .momentum(0.9)
                    .nesterov(true)
                    .weight_decay(1e-4),
            ),
        ),
        ("Adam", Box::new(Adam::new(1e-3).weight_decay(1e-4))),
        ("Adam amsgrad", Box::new(Adam::new(1e-3).amsgrad(true))),
        ("AdamW", Box::new(AdamW::new(1e-3))),
        (
            "RMSprop",
            Box::new(RMSprop::new(1e-3).momentum(0.9).centered(true)),
        ),
        ("Adagrad", Box::new(Adagrad::new(0.01).lr_decay(0.01))),
    ]
}

fn addresses(model: &dyn Module<f32>) -> Vec<*const f32> {
    let mut a = Vec::new();
    model.visit(&mut Visit::new(&mut |_, e| {
        if let Entry::Param(p) = e {
            a.push(p.value().data_ptr());
        }
    }));
    a
}

#[test]
fn every_optimizer_updates_the_parameters_in_place() {
    let mut rng = StdRng::seed_from_u64(3);
    // The hidden layer's weight (64·600 elements) is large enough for the parallel path.
    let x = Tensor::rand_uniform([8, 64], -1.0, 1.0, &mut rng);
    let y = x.sum(-1, true);
    for (name, mut opt) in every_optimizer() {
        let mut model = Mlp::<f32>::new(&[64, 600, 1], Activation::Tanh, &mut rng);
        let before = addresses(&model);
        let mut losses = Vec::new();
        for _ in 0..5 {
            let (loss, grads) = model.value_and_grad(|tape, m| {
                (&m.forward(&tape.constant(x.clone())) - &tape.constant(y.clone()))
                    .square()
                    .mean_all()
            });
            opt.step(&mut model, &grads);
            losses.push(loss);
            assert_eq!(
                addresses(&model),
                before,
                "{name}: a step copied a parameter"
            );
        }
        assert!(losses[4] < losses[0], "{name} did not descend: {losses:?}");
    }
}

/// Asserts that `f` panics with a message starting with `want` and naming `line` of this file.
fn assert_panics(f: impl FnOnce(), want: &str, line: u32) {
    let message = panic_message(f);
    assert!(
        message.starts_with(want) && message.ends_with(&format!("(at {}:{line})", file!())),
        "{message}"
    );
}

#[test]
fn bad_arguments_are_named_with_the_callers_line() {
    let at = line!() + 1;
    let f = || drop(Adam::<f32>::new(-1e-3));
    assert_panics(
        f,
        "Adam: learning rate -0.001 is not a finite number ≥ 0",
        at,
    );
    let at = line!() + 1;
    let f = || drop(Adam::<f32>::new(1e-3).betas(0.9, 1.0));
    assert_panics(f, "Adam: beta2 1 is not in [0, 1)", at);
    let at = line!() + 1;
    let f = || drop(AdamW::<f32>::new(1e-3).betas(-0.1, 0.9));
    assert_panics(f, "AdamW: beta1 -0.1 is not in [0, 1)", at);
    let at = line!() + 1;
    let f = || drop(AdamW::<f32>::new(1e-3).weight_decay(f64::NAN));
    assert_panics(f, "AdamW: weight decay NaN is not a finite number ≥ 0", at);
    let at = line!() + 1;
    let f = || drop(RMSprop::<f32>::new(0.01).alpha(1.5));
    assert_panics(f, "RMSprop: alpha 1.5 is not in [0, 1)", at);
    let at = line!() + 1;
    let f = || drop(Adagrad::<f32>::new(0.01).eps(-1.0));
    assert_panics(f, "Adagrad: eps -1 is not a finite number ≥ 0", at);
    let at = line!() + 1;
    let f = || drop(Sgd::<f32>::new(0.1).momentum(-0.9));
    assert_panics(f, "Sgd: momentum -0.9 is not a finite number ≥ 0", at);
}

/// A fixture file of `key : numbers` lines (`#` starts a comment), by key.
fn fixture(text: &str) -> HashMap<String, Vec<f64>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (key, numbers) = l.split_once(" : ").expect("a `key : numbers` line");
            let numbers = numbers
                .split_whitespace()
                .map(|x| x.parse().expect("a number"))
                .collect();
            (key.to_string(), numbers)
        })
        .collect()
}

/// Asserts `got` is within `rel` of `want`, relative to each wanted value (to 1e-300 near 0).
fn assert_close(got: &[f64], want: &[f64], rel: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= rel * w.abs().max(1e-300),
            "{what}: {got:?} differs from PyTorch's {want:?}"
        );
    }
}

/// The two parameters of the trajectory fixtures.
struct Pair {
    w: Param<f64>,
    b: Param<f64>,
}

impl Module<f64> for Pair {
    fn visit(&self, v: &mut Visit<'_, f64>) {
        v.param("w", &self.w);
        v.param("b", &self.b);
    }
    fn visit_mut(&mut self, v: &mut VisitMut<'_, f64>) {
        v.param("w", &mut self.w);
        v.param("b", &mut self.b);
    }
}

/// The optimizer of each case of `make_fixtures.py`, with the same options.
fn fixture_optimizer(case: &str) -> Box<dyn Optimizer<f64>> {
    match case {
        "sgd" => Box::new(Sgd::new(0.1)),
        "sgd_momentum" => Box::new(
            Sgd::new(0.1)
                .momentum(0.9)
                .dampening(0.1)
                .weight_decay(0.01),
        ),
        "sgd_nesterov" => Box::new(
            Sgd::new(0.1)
                .momentum(0.9)
                .nesterov(true)
                .weight_decay(0.01),
        ),
        "adam" => Box::new(Adam::new(0.01)),
        "adam_weight_decay" => {
            Box::new(Adam::new(0.01).betas(0.8, 0.99).eps(1e-6).weight_decay(0.1))
        }
        "adam_amsgrad" => Box::new(Adam::new(0.01).amsgrad(true).weight_decay(0.01)),
        "adam_groups" => Box::new(
            Adam::new(0.01)
                .weight_decay(0.1)
                .with_group(ParamGroup::new(|name| name == "b", 0.05, 0.0)),
        ),
        "adamw" => Box::new(AdamW::new(0.01).weight_decay(0.1)),
        "adamw_amsgrad" => Box::new(AdamW::new(0.01).amsgrad(true)),
        "rmsprop" => Box::new(RMSprop::new(0.01)),
        "rmsprop_centered_momentum" => Box::new(
            RMSprop::new(0.01)
                .alpha(0.9)
                .momentum(0.5)
                .centered(true)
                .weight_decay(0.01),
        ),
        "adagrad" => Box::new(
            Adagrad::new(0.1)
                .lr_decay(0.1)
                .weight_decay(0.01)
                .initial_accumulator_value(0.1),
        ),
        other => panic!("no optimizer for the fixture case {other}"),
    }
}

const CASES: [&str; 12] = [
    "sgd",
    "sgd_momentum",
    "sgd_nesterov",
    "adam",
    "adam_weight_decay",
    "adam_amsgrad",
    "adam_groups",
    "adamw",
    "adamw_amsgrad",
    "rmsprop",
    "rmsprop_centered_momentum",
    "adagrad",
];

/// The loss sum(p·G) + ½·sum(p²) of each parameter of `model`, whose gradient is G + p.
fn fixture_step(
    model: &mut Pair,
    opt: &mut dyn Optimizer<f64>,
    (gw, gb): (&Tensor<f64>, &Tensor<f64>),
) {
    let (_, grads) = model.value_and_grad(|tape, m| {
        let term = |p: &Param<f64>, g: &Tensor<f64>| {
            let p = p.on(tape);
            (&p * &tape.constant(g.clone())).sum_all() + p.square().sum_all() * 0.5
        };
        term(&m.w, gw) + term(&m.b, gb)
    });
    opt.step(model, &grads);
}

#[test]
fn trajectories_match_pytorch_in_f64() {
    let f = fixture(include_str!("../fixtures/optim/trajectories.txt"));
    let cases_in_fixture = f
        .keys()
        .filter(|k| k.ends_with(" 1 w") && !k.starts_with("grad "))
        .count();
    assert_eq!(
        cases_in_fixture,
        CASES.len(),
        "a fixture case is not replayed"
    );
    let tensor = |key: &str, shape: &[usize]| Tensor::from_vec(f[key].clone(), shape);
    let mut worst = 0.0f64;
    for case in CASES {
        let mut model = Pair {
            w: Param::new(tensor("init w", &[3, 2])),
            b: Param::new(tensor("init b", &[2])),
        };
        let mut opt = fixture_optimizer(case);
        for t in 1..=5 {
            let gw = tensor(&format!("grad {t} w"), &[3, 2]);
            let gb = tensor(&format!("grad {t} b"), &[2]);
            fixture_step(&mut model, opt.as_mut(), (&gw, &gb));
            for (name, p) in [("w", &model.w), ("b", &model.b)] {
                let key = format!("{case} {t} {name}");
                let got = p.value().to_vec();
                assert_close(&got, &f[&key], 1e-12, &key);
                for (g, w) in got.iter().zip(&f[&key]) {
                    worst = worst.max((g - w).abs() / w.abs());
                }
            }
        }
    }
    // The differences are roundings (PyTorch's vectorised lerp uses a fused multiply-add).
    println!("largest relative difference from PyTorch: {worst:e}");
}

#[test]
fn schedules_match_pytorch() {
    let f = fixture(include_str!("../fixtures/optim/schedules.txt"));
    let cases: Vec<(&str, Box<dyn LrSchedule>)> = vec![
        ("step", Box::new(StepLr::new(3, 0.5))),
        ("exponential", Box::new(ExponentialLr::new(0.9))),
        ("cosine", Box::new(CosineAnnealingLr::new(10, 0.001))),
        (
            "warmup_cosine",
            Box::new(
                LinearWarmup::new(4)
                    .start_factor(0.25)
                    .then(CosineAnnealingLr::new(8, 0.0)),
            ),
        ),
        ("warmup", Box::new(LinearWarmup::new(4).start_factor(0.25))),
    ];
    assert_eq!(cases.len(), f.len(), "a fixture case is not replayed");
    for (name, schedule) in cases {
        // Through an optimizer's group, as a training loop uses it.
        let mut opt = Sgd::<f64>::new(0.1);
        let mut sched = LrScheduler::new(schedule, &mut opt);
        let mut got = vec![opt.param_groups()[0].lr];
        for _ in 0..15 {
            sched.step(&mut opt);
            got.push(opt.param_groups()[0].lr);
        }
        // PyTorch's values near 0 come from its recursive form: compare those absolutely.
        let want = &f[&format!("lrs {name}")];
        for (t, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1e-3),
                "{name} at step {t}: {got:?} differs from PyTorch's {want:?}"
            );
        }
    }
}

#[test]
fn a_scheduler_sets_every_group_from_its_own_initial_rate() {
    let mut opt =
        Adam::<f32>::new(0.1).with_group(ParamGroup::new(|n| n.ends_with("bias"), 0.4, 0.0));
    let mut sched = LrScheduler::new(StepLr::new(1, 0.5), &mut opt);
    sched.step(&mut opt);
    sched.step(&mut opt);
    let lrs: Vec<f64> = opt.param_groups().iter().map(|g| g.lr).collect();
    assert_eq!(lrs, [0.025, 0.1]);
    sched.set_step_count(0, &mut opt);
    let lrs: Vec<f64> = opt.param_groups().iter().map(|g| g.lr).collect();
    assert_eq!(lrs, [0.1, 0.4]);
}

/// Gradients equal to the fixture's step-1 gradients, through a tape: the gradient of
/// sum(p·G) is G.
fn fixture_grads(f: &HashMap<String, Vec<f64>>) -> (Pair, Gradients<f64>) {
    let tensor = |key: &str, shape: &[usize]| Tensor::from_vec(f[key].clone(), shape);
    let (gw, gb) = (tensor("grad w", &[3, 2]), tensor("grad b", &[2]));
    let model = Pair {
        w: Param::new(Tensor::zeros([3, 2])),
        b: Param::new(Tensor::zeros([2])),
    };
    let (_, grads) = model.value_and_grad(|tape, m| {
        (&m.w.on(tape) * &tape.constant(gw.clone())).sum_all()
            + (&m.b.on(tape) * &tape.constant(gb.clone())).sum_all()
    });
    (model, grads)
}

#[test]
fn clipping_matches_pytorch() {
    let f = fixture(include_str!("../fixtures/optim/clip.txt"));
    for max_norm in ["1.0", "100.0"] {
        let (model, mut grads) = fixture_grads(&f);
        let total = clip_grad_norm(&mut grads, max_norm.parse().unwrap());
        let key = format!("norm {max_norm} total");
        assert_close(&[total], &f[&key], 1e-12, &key);
        for (name, p) in [("w", &model.w), ("b", &model.b)] {
            let key = format!("norm {max_norm} {name}");
            assert_close(
                &grads.param(p.id()).unwrap().to_vec(),
                &f[&key],
                1e-12,
                &key,
            );
        }
    }
    let (model, mut grads) = fixture_grads(&f);
    clip_grad_value(&mut grads, 0.5);
    for (name, p) in [("w", &model.w), ("b", &model.b)] {
        let key = format!("value 0.5 {name}");
        assert_eq!(grads.param(p.id()).unwrap().to_vec(), f[&key], "{key}");
    }
}

#[test]
fn a_non_finite_norm_is_returned_and_applied_as_pytorch_does() {
    let f = fixture(include_str!("../fixtures/optim/clip.txt"));
    let (model, mut grads) = fixture_grads(&f);
    let (_, first) = grads.iter_mut().next().unwrap();
    first.fill_(f64::NAN);
    assert!(clip_grad_norm(&mut grads, 1.0).is_nan());
    assert!(grads
        .param(model.b.id())
        .unwrap()
        .to_vec()
        .iter()
        .all(|x| x.is_nan()));
}

/// A small regression problem: 32 rows of 4 features, a target from 3 of them.
fn regression_data() -> (Vec<f32>, Vec<f32>) {
    let x = Tensor::<f32>::rand_uniform([32, 4], -1.0, 1.0, &mut StdRng::seed_from_u64(11));
    let xs = x.to_vec();
    let ys = xs
        .chunks(4)
        .flat_map(|r| [r[0] * r[1] - r[2], r[3].sin()])
        .collect();
    (xs, ys)
}

/// One epoch of 4 batches of 8 rows, in the order of a shuffle seeded by the epoch: the data
/// RNG is reseeded per epoch (`seed + epoch`), so a resumed run needs only the epoch number.
fn train_epoch(
    model: &mut Mlp<f32>,
    opt: &mut Adam<f32>,
    sched: &mut LrScheduler<LinearWarmup<CosineAnnealingLr>>,
    epoch: u64,
) {
    use rand::seq::SliceRandom;
    let (xs, ys) = regression_data();
    let mut order: Vec<usize> = (0..32).collect();
    order.shuffle(&mut StdRng::seed_from_u64(1000 + epoch));
    for batch in order.chunks(8) {
        let x: Vec<f32> = batch
            .iter()
            .flat_map(|&i| xs[4 * i..4 * i + 4].to_vec())
            .collect();
        let y: Vec<f32> = batch
            .iter()
            .flat_map(|&i| ys[2 * i..2 * i + 2].to_vec())
            .collect();
        let (x, y) = (Tensor::from_vec(x, [8, 4]), Tensor::from_vec(y, [8, 2]));
        let (_, mut grads) = model.value_and_grad(|tape, m| {
            (&m.forward(&tape.constant(x.clone())) - &tape.constant(y.clone()))
                .square()
                .mean_all()
        });
        clip_grad_norm(&mut grads, 1.0);
        opt.step(model, &grads);
        sched.step(opt);
    }
}

fn schedule() -> LinearWarmup<CosineAnnealingLr> {
    LinearWarmup::new(5).then(CosineAnnealingLr::new(20, 1e-4))
}

fn parameters(model: &Mlp<f32>) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    model.visit(&mut Visit::new(&mut |_, e| {
        if let Entry::Param(p) = e {
            out.push(p.value().to_vec().iter().map(|x| x.to_bits()).collect());
        }
    }));
    out
}

#[test]
fn a_resumed_run_continues_bit_for_bit() {
    let new_model = |seed| {
        Mlp::<f32>::new(
            &[4, 16, 2],
            Activation::Tanh,
            &mut StdRng::seed_from_u64(seed),
        )
    };
    let new_opt = || Adam::<f32>::new(1e-2).weight_decay(1e-4).amsgrad(true);

    // Four epochs in one go.
    let mut model = new_model(5);
    let mut opt = new_opt();
    let mut sched = LrScheduler::new(schedule(), &mut opt);
    for epoch in 0..4 {
        train_epoch(&mut model, &mut opt, &mut sched, epoch);
    }

    // Two epochs, saved, then two more in fresh objects loaded from the files.
    let dir = tempfile::tempdir().unwrap();
    let (model_path, opt_path) = (
        dir.path().join("model.safetensors"),
        dir.path().join("optimizer.safetensors"),
    );
    {
        let mut model = new_model(5);
        let mut opt = new_opt();
        let mut sched = LrScheduler::new(schedule(), &mut opt);
        for epoch in 0..2 {
            train_epoch(&mut model, &mut opt, &mut sched, epoch);
        }
        model.save(&model_path).unwrap();
        let mut state = opt.state_dict(&model);
        sched.save_state(&mut state);
        state.insert_u64("epoch", 2);
        state.write(&opt_path).unwrap();
    }
    let mut resumed = new_model(99);
    resumed.load(&model_path).unwrap();
    let mut opt = new_opt();
    let mut sched = LrScheduler::new(schedule(), &mut opt);
    let state = StateDict::read(&opt_path).unwrap();
    opt.load_state_dict(&resumed, &state).unwrap();
    sched.load_state(&state, &mut opt).unwrap();
    for epoch in state.u64("epoch").unwrap()..4 {
        train_epoch(&mut resumed, &mut opt, &mut sched, epoch);
    }
    assert_eq!(parameters(&resumed), parameters(&model));
    assert_eq!(sched.step_count(), 16);

    // Without the optimizer's state the same two epochs end elsewhere: the test can tell.
    let mut cold = new_model(99);
    cold.load(&model_path).unwrap();
    let mut opt = new_opt();
    let mut sched = LrScheduler::new(schedule(), &mut opt);
    sched.load_state(&state, &mut opt).unwrap();
    for epoch in 2..4 {
        train_epoch(&mut cold, &mut opt, &mut sched, epoch);
    }
    assert_ne!(parameters(&cold), parameters(&model));
}

#[test]
fn every_optimizers_state_round_trips_and_a_wrong_state_is_named() {
    let f = fixture(include_str!("../fixtures/optim/trajectories.txt"));
    let tensor = |key: &str, shape: &[usize]| Tensor::from_vec(f[key].clone(), shape);
    let pair = || Pair {
        w: Param::new(tensor("init w", &[3, 2])),
        b: Param::new(tensor("init b", &[2])),
    };
    let grads = |t: usize| {
        (
            tensor(&format!("grad {t} w"), &[3, 2]),
            tensor(&format!("grad {t} b"), &[2]),
        )
    };
    for case in CASES {
        // Two steps, save, and three more: the same as five steps in one go.
        let mut model = pair();
        let mut opt = fixture_optimizer(case);
        for t in 1..=2 {
            let (gw, gb) = grads(t);
            fixture_step(&mut model, opt.as_mut(), (&gw, &gb));
        }
        let state = opt.state_dict(&model);
        let mut resumed = fixture_optimizer(case);
        resumed.load_state_dict(&model, &state).unwrap();
        assert!(resumed.state_dict(&model) == state, "{case}");
        for t in 3..=5 {
            let (gw, gb) = grads(t);
            fixture_step(&mut model, resumed.as_mut(), (&gw, &gb));
        }
        for (name, p) in [("w", &model.w), ("b", &model.b)] {
            let key = format!("{case} 5 {name}");
            assert_close(&p.value().to_vec(), &f[&key], 1e-12, &key);
        }
    }

    // Adam's state into RMSprop, a model without `b`, a wrong shape.
    let mut model = pair();
    let mut adam = fixture_optimizer("adam");
    let (gw, gb) = grads(1);
    fixture_step(&mut model, adam.as_mut(), (&gw, &gb));
    let state = adam.state_dict(&model);
    let err = fixture_optimizer("rmsprop")
        .load_state_dict(&model, &state)
        .unwrap_err();
    assert!(err.to_string().contains("Adam"), "{err}");
    let mut other = pair();
    other.b = Param::new(Tensor::zeros([3]));
    let err = adam
        .load_state_dict(&other, &state)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exp_avg.b") && err.contains("[3]") && err.contains("[2]"),
        "{err}"
    );
    // The failed load left the optimizer as it was.
    assert!(adam.state_dict(&model) == state);
}
