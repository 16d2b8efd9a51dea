//! Optimizers: updates in place (the storage of every parameter never moves), the trajectories
//! of PyTorch's optimizers to 1e-12 in f64 (fixtures made by `fixtures/optim/make_fixtures.py`),
//! learning-rate schedules, gradient clipping, arguments checked, and a run resumed from saved
//! state continuing bit for bit.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::{rngs::StdRng, SeedableRng};
use shendu_nn::{
    Activation, Adagrad, Adam, AdamW, Entry, Forward, Mlp, Module, Optimizer, RMSprop, Sgd, Visit,
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

/// The panic message of `f`.
fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).unwrap_err();
    match err.downcast_ref::<String>() {
        Some(s) => s.clone(),
        None => err.downcast_ref::<&str>().unwrap().to_string(),
    }
}

#[test]
fn bad_arguments_are_named_with_the_callers_line() {
    let cases: Vec<(Box<dyn FnOnce()>, &str, u32)> = vec![
        (
            Box::new(|| drop(Adam::<f32>::new(-1e-3))),
            "Adam: learning rate -0.001 is not a finite number ≥ 0",
            line!(),
        ),
        (
            Box::new(|| drop(Adam::<f32>::new(1e-3).betas(0.9, 1.0))),
            "Adam: beta2 1 is not in [0, 1)",
            line!(),
        ),
        (
            Box::new(|| drop(AdamW::<f32>::new(1e-3).betas(-0.1, 0.9))),
            "AdamW: beta1 -0.1 is not in [0, 1)",
            line!(),
        ),
        (
            Box::new(|| drop(AdamW::<f32>::new(1e-3).weight_decay(f64::NAN))),
            "AdamW: weight decay NaN is not a finite number ≥ 0",
            line!(),
        ),
        (
            Box::new(|| drop(RMSprop::<f32>::new(0.01).alpha(1.5))),
            "RMSprop: alpha 1.5 is not in [0, 1)",
            line!(),
        ),
        (
            Box::new(|| drop(Adagrad::<f32>::new(0.01).eps(-1.0))),
            "Adagrad: eps -1 is not a finite number ≥ 0",
            line!(),
        ),
        (
            Box::new(|| drop(Sgd::<f32>::new(0.1).momentum(-0.9))),
            "Sgd: momentum -0.9 is not a finite number ≥ 0",
            line!(),
        ),
    ];
    for (f, want, line) in cases {
        let message = panic_message(f);
        assert!(
            message.starts_with(want) && message.ends_with(&format!("(at {}:{line})", file!())),
            "{message}"
        );
    }
}
