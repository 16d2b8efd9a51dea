//! The module protocol: names as PyTorch's state_dict gives them, train/eval and freezing
//! reaching every submodule, errors naming the layer and the caller's line, and a training loop
//! that never copies a parameter.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::{rngs::StdRng, SeedableRng};
use shendu_autograd::Var;
use shendu_nn::{
    Activation, Entry, EntryMut, Forward, Linear, Mlp, Module, Optimizer, Param, Sequential, Sgd,
    Visit, VisitMut,
};
use shendu_tensor::Tensor;

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

/// A module that remembers its mode, with one buffer and one counter.
struct Probe {
    training: Option<bool>,
    scale: Option<Param<f64>>,
    running: Tensor<f64>,
    steps: u64,
}

impl Module<f64> for Probe {
    fn visit(&self, v: &mut Visit<'_, f64>) {
        if let Some(s) = &self.scale {
            v.param("scale", s);
        }
        v.buffer("running", &self.running);
        v.counter("steps", self.steps);
    }
    fn visit_mut(&mut self, v: &mut VisitMut<'_, f64>) {
        if let Some(s) = &mut self.scale {
            v.param("scale", s);
        }
        v.buffer("running", &mut self.running);
        v.counter("steps", &mut self.steps);
    }
    fn set_training(&mut self, training: bool) {
        self.training = Some(training);
    }
}

impl Forward<f64> for Probe {
    fn forward(&self, x: &Var<f64>) -> Var<f64> {
        match &self.scale {
            Some(s) => x * &s.on(&x.tape()),
            None => x.clone(),
        }
    }
}

/// Two probes, one nested a level deeper.
struct Outer {
    first: Probe,
    inner: Sequential<f64>,
}

impl Module<f64> for Outer {
    fn visit(&self, v: &mut Visit<'_, f64>) {
        v.module("first", &self.first);
        v.module("inner", &self.inner);
    }
    fn visit_mut(&mut self, v: &mut VisitMut<'_, f64>) {
        v.module("first", &mut self.first);
        v.module("inner", &mut self.inner);
    }
}

fn outer() -> Outer {
    let probe = || Probe {
        training: None,
        scale: Some(Param::new(Tensor::from_vec(vec![2.0], [1]))),
        running: Tensor::zeros([1]),
        steps: 0,
    };
    Outer {
        first: probe(),
        inner: Sequential::new()
            .push(Linear::new(1, 1, &mut rng()))
            .push(probe()),
    }
}

#[test]
fn names_compose_with_dots_as_in_a_state_dict() {
    let model = outer();
    let mut seen = Vec::new();
    model.visit(&mut Visit::new(&mut |name, entry| {
        let kind = match entry {
            Entry::Param(_) => "param",
            Entry::Buffer(_) => "buffer",
            Entry::Counter(_) => "counter",
        };
        seen.push(format!("{kind} {name}"));
    }));
    assert_eq!(
        seen,
        [
            "param first.scale",
            "buffer first.running",
            "counter first.steps",
            "param inner.0.weight",
            "param inner.0.bias",
            "param inner.1.scale",
            "buffer inner.1.running",
            "counter inner.1.steps",
        ]
    );
    assert_eq!(model.param_count(), 4);
}

#[test]
fn train_and_eval_reach_every_module_and_freeze_every_parameter() {
    let mut model = outer();
    model.eval();
    assert_eq!(model.first.training, Some(false));
    let mut modes = Vec::new();
    model.visit_mut(&mut VisitMut::new(&mut |name, entry| {
        if let EntryMut::Module(_) = entry {
            modes.push(name.to_string());
        }
    }));
    assert_eq!(modes, ["first", "inner", "inner.0", "inner.1"]);
    model.train();
    assert_eq!(model.first.training, Some(true));

    model.inner.freeze();
    let (_, grads) = model.value_and_grad(|tape, m| {
        let x = tape.constant(Tensor::from_vec(vec![1.5], [1, 1]));
        m.inner.forward(&m.first.forward(&x)).sum_all()
    });
    // Only the unfrozen parameter has a gradient.
    assert_eq!(grads.iter().count(), 1);
    assert!(grads
        .param(model.first.scale.as_ref().unwrap().id())
        .is_some());
}

#[test]
fn a_cloned_parameter_is_another_parameter() {
    let p = Param::new(Tensor::<f32>::ones([2]));
    let q = p.clone();
    assert_ne!(p.id(), q.id());
    assert_eq!(p.value().to_vec(), q.value().to_vec());
}

#[test]
fn an_mlp_records_its_relu_layers_fused_with_the_bits_of_the_two_ops() {
    let model = Mlp::<f32>::new(&[5, 16, 8, 3], Activation::Relu, &mut rng());
    let x = Tensor::rand_normal([7, 5], 0.0, 1.0, &mut rng());
    // The same layers, each Linear followed by a separate relu op.
    let apart = |tape: &shendu_autograd::Tape<f32>, m: &Mlp<f32>| {
        let mut h = tape.constant(x.clone());
        for (i, layer) in m.layers().iter().enumerate() {
            h = layer.forward(&h);
            if i + 1 < m.layers().len() {
                h = h.relu();
            }
        }
        h.square().sum_all()
    };
    let (fused_loss, fused) = model.value_and_grad(|tape, m| {
        let layers = m.forward_layers(&tape.constant(x.clone()));
        let node = |v: &Var<f32>| v.to_string().rsplit("grad_fn=").next().unwrap().to_string();
        assert_eq!(node(&layers[0]), "linear_relu)");
        assert_eq!(node(&layers[2]), "linear)");
        m.forward(&tape.constant(x.clone())).square().sum_all()
    });
    let (apart_loss, apart) = model.value_and_grad(apart);
    assert_eq!(fused_loss.to_bits(), apart_loss.to_bits());
    let mut compared = 0;
    model.visit(&mut Visit::new(&mut |name, e| {
        if let Entry::Param(p) = e {
            let bits = |g: &Tensor<f32>| g.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fused[p.id()]), bits(&apart[p.id()]), "{name}");
            compared += 1;
        }
    }));
    assert_eq!(compared, 6);
    // Some units are off for some rows, so the ReLU's mask is exercised.
    let hidden = model.forward_layers(&shendu_autograd::Tape::new().constant(x.clone()));
    assert!(hidden[0].value().to_vec().contains(&0.0));
}

#[test]
fn a_layer_names_itself_both_shapes_and_the_callers_line() {
    let model = Mlp::<f32>::new(&[3, 4, 2], Activation::Relu, &mut rng());
    let x = Tensor::<f32>::ones([5, 7]);
    let line = line!() + 1;
    let err = catch_unwind(AssertUnwindSafe(|| model.predict(&x))).unwrap_err();
    let message = err.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("Linear(3 -> 4): an input of shape [5, 7] does not end in 3 features")
            && message.contains("[4, 3]")
            && message.ends_with(&format!("(at {}:{line})", file!())),
        "{message}"
    );
}

#[test]
fn the_training_loop_updates_parameters_in_place() {
    let mut model = Mlp::<f32>::new(&[2, 8, 1], Activation::Tanh, &mut rng());
    let x = Tensor::rand_uniform([16, 2], -1.0, 1.0, &mut rng());
    let y = x.sum(-1, true);
    let mut opt = Sgd::new(0.05).momentum(0.9);
    let addresses = |m: &Mlp<f32>| -> Vec<*const f32> {
        let mut a = Vec::new();
        m.visit(&mut Visit::new(&mut |_, e| {
            if let Entry::Param(p) = e {
                a.push(p.value().data_ptr());
            }
        }));
        a
    };
    let before = addresses(&model);
    let mut losses = Vec::new();
    for _ in 0..50 {
        let (loss, logits, grads) = model.value_and_grad_with_aux(|tape, m| {
            let out = m.forward(&tape.constant(x.clone()));
            let loss = (&out - &tape.constant(y.clone())).square().mean_all();
            (loss, out.value().clone())
        });
        assert_eq!(logits.shape(), &[16, 1]);
        losses.push(loss);
        opt.step(&mut model, &grads);
        assert_eq!(addresses(&model), before, "a step copied a parameter");
    }
    assert!(losses[49] < losses[0] / 10.0, "{losses:?}");
}

#[test]
fn predict_records_nothing() {
    let model = Linear::<f64>::new(2, 2, &mut rng());
    let out = model.predict(&Tensor::ones([1, 2]));
    let w = model.weight.value();
    let b = model.bias.as_ref().unwrap().value();
    let want: Vec<f64> = (0..2)
        .map(|i| w.get(&[i, 0]) + w.get(&[i, 1]) + b.get(&[i]))
        .collect();
    assert_eq!(out.to_vec(), want);
    assert!(!model.weight.value().is_storage_shared());
}
