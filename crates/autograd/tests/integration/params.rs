//! Parameters on the tape: keyed leaves, tied weights, gradients by parameter that outlive the
//! tape, and a training loop whose in-place updates never copy a parameter.

use crate::common;

use common::{assert_close, assert_mentions, fd_gradient, panic_message};
use shendu_autograd::{value_and_grad, value_and_grad_with_aux, ParamId, Tape, Var};
use shendu_tensor::Tensor;

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape)
}

/// (w·x)·(w·y) with one weight vector used twice, as plain arithmetic.
fn tied(w: &[f64], x: &[f64], y: &[f64]) -> f64 {
    let dot = |u: &[f64]| w.iter().zip(u).map(|(a, b)| a * b).sum::<f64>();
    dot(x) * dot(y)
}

#[test]
fn a_weight_used_twice_is_one_leaf_with_the_summed_gradient() {
    let (x, y) = ([0.5, -1.0, 2.0], [1.5, 0.25, -0.5]);
    let w = t(&[0.3, -0.7, 1.1], &[3]);
    let id = ParamId::new();
    let tape = Tape::new();
    let first = tape.param(id, &w);
    let second = tape.param(id, &w);
    assert_eq!(tape.len(), 1, "the second use records no new leaf");
    let out = (&first * &tape.constant(t(&x, &[3]))).sum_all()
        * (&second * &tape.constant(t(&y, &[3]))).sum_all();
    let grads = out.backward();
    let expected = fd_gradient(&|w: &[f64]| tied(w, &x, &y), &w.to_vec(), 1e-6);
    assert_close(&grads[id].to_vec(), &expected, 1e-8, 1e-6);
    // The var of either use finds the same gradient.
    assert_eq!(grads[&first].to_vec(), grads[id].to_vec());
    assert_eq!(grads[&second].to_vec(), grads[id].to_vec());
    assert_eq!(grads.iter().count(), 1);
}

#[test]
fn gradients_come_in_tape_order_outlive_the_tape_and_cross_threads() {
    let (a, b, c) = (ParamId::new(), ParamId::new(), ParamId::new());
    let (wa, wb, wc) = (t(&[2.0], &[1]), t(&[3.0], &[1]), t(&[5.0], &[1]));
    let grads = {
        let tape = Tape::new();
        // Entered in the order c, a, b; b is on the tape but unused.
        let (vc, va) = (tape.param(c, &wc), tape.param(a, &wa));
        let _vb = tape.param(b, &wb);
        let x = tape.var(t(&[7.0], &[1]));
        (&(&vc * &va) * &x).sum_all().backward()
    };
    let order: Vec<ParamId> = grads.iter().map(|(id, _)| id).collect();
    assert_eq!(order, vec![c, a, b]);
    let values = std::thread::spawn(move || {
        let mut grads = grads;
        for (_, g) in grads.iter_mut() {
            g.mul_(&Tensor::scalar(10.0));
        }
        (&grads)
            .into_iter()
            .map(|(id, g)| (id, g.item()))
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    // d/dc (c·a·x) = a·x = 14, d/da = c·x = 35, b unused: 0; each scaled by 10.
    assert_eq!(values, vec![(c, 140.0), (a, 350.0), (b, 0.0)]);
}

#[test]
fn a_layer_reaches_the_tape_through_its_input() {
    let id = ParamId::new();
    let w = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    // A linear map written as a layer would be: it gets only its input.
    let layer = |x: &Var<f64>| x.matmul(&x.tape().param(id, &w).t());
    let tape = Tape::new();
    let x = tape.constant(t(&[1.0, -1.0], &[1, 2]));
    let y = layer(&x).sum_all();
    assert_eq!(y.item(), (1.0 - 2.0) + (3.0 - 4.0));
    assert_eq!(y.backward()[id].to_vec(), vec![1.0, -1.0, 1.0, -1.0]);
}

#[test]
fn the_training_loop_updates_parameters_in_place() {
    // Least squares on a line, y = 2x − 1, with two parameters and plain SGD.
    let (w_id, b_id) = (ParamId::new(), ParamId::new());
    let mut w = t(&[0.0], &[1, 1]);
    let mut b = t(&[0.0], &[1]);
    let x = t(&[-1.0, 0.0, 1.0, 2.0], &[4, 1]);
    let y = t(&[-3.0, -1.0, 1.0, 3.0], &[4, 1]);
    let (w_at, b_at) = (w.data_ptr(), b.data_ptr());
    let mut losses = Vec::new();
    for _ in 0..200 {
        let (loss, prediction, grads) = value_and_grad_with_aux(|tape| {
            let prediction =
                &tape.constant(x.clone()).matmul(&tape.param(w_id, &w)) + &tape.param(b_id, &b);
            let loss = (&prediction - &tape.constant(y.clone()))
                .square()
                .mean_all();
            (loss, prediction.value().clone())
        });
        assert_eq!(prediction.shape(), &[4, 1]);
        losses.push(loss);
        // Nothing but the parameter itself holds its storage: the update writes in place.
        assert!(!w.is_storage_shared() && !b.is_storage_shared());
        w.scaled_add_(&grads[w_id], -0.1);
        b.scaled_add_(&grads[b_id], -0.1);
        assert_eq!((w.data_ptr(), b.data_ptr()), (w_at, b_at));
    }
    assert!(losses[199] < 1e-12, "{:?}", &losses[190..]);
    assert!((w.item() - 2.0).abs() < 1e-6 && (b.item() + 1.0).abs() < 1e-6);
}

#[test]
fn a_tape_kept_alive_shares_the_parameters_storage() {
    // The trap `value_and_grad` closes: while a var of the tape lives, the parameter's storage is
    // shared, and an update copies the whole tensor to a new address.
    let id = ParamId::new();
    let mut w = t(&[1.0, 2.0], &[2]);
    let tape = Tape::new();
    let loss = tape.param(id, &w).square().sum_all();
    let grads = loss.backward();
    assert!(w.is_storage_shared());
    let before = w.data_ptr();
    w.scaled_add_(&grads[id], -0.1);
    assert_ne!(w.data_ptr(), before, "the update had to copy");
    assert_eq!(loss.item(), 5.0, "the tape still sees the old value");
    // Through value_and_grad the same step writes in place.
    let (_, grads) = value_and_grad(|tape| tape.param(id, &w).square().sum_all());
    let before = w.data_ptr();
    w.scaled_add_(&grads[id], -0.1);
    assert_eq!(w.data_ptr(), before);
}

#[test]
fn a_var_prints_as_its_value_with_what_the_tape_knows() {
    let id = ParamId::new();
    let tape = Tape::<f32>::new();
    let w = tape.param(id, &Tensor::from_vec(vec![1.0, -2.0], [2]));
    assert_eq!(
        w.to_string(),
        "tensor([ 1.0000, -2.0000], shape=[2], requires_grad=true)"
    );
    assert_eq!(
        format!("{:.1}", w.relu()),
        "tensor([1.0, 0.0], shape=[2], grad_fn=relu)"
    );
    assert_eq!(w.sum_all().to_string(), "tensor(-1.0000, grad_fn=sum)");
    assert_eq!(w.sum_all().item(), -1.0);
    assert_eq!(w.to_vec(), vec![1.0, -2.0]);
}

/// Accumulating two batches' gradients gives the gradient of the two losses' sum, a parameter
/// seen by one batch only included; the sums are written into the first batch's tensors.
#[test]
fn accumulated_gradients_are_the_gradient_of_the_summed_losses() {
    let (shared, second_only) = (ParamId::new(), ParamId::new());
    let w = t(&[0.5, -1.5, 2.0], &[3]);
    let v = t(&[0.25, 4.0, -3.0], &[3]);
    let loss = |tape: &Tape<f64>, x: &[f64], with_v: bool| {
        let out = (&tape.param(shared, &w) * &tape.constant(t(x, &[3]))).tanh();
        let out = if with_v {
            &out * &tape.param(second_only, &v)
        } else {
            out
        };
        out.sum_all()
    };
    let (a, b) = ([1.0, 2.0, -0.5], [-3.0, 0.5, 1.0]);
    let (_, mut grads) = value_and_grad(|tape| loss(tape, &a, false));
    let first = grads[shared].data_ptr();
    grads.accumulate(&value_and_grad(|tape| loss(tape, &b, true)).1);
    let (_, both) = value_and_grad(|tape| &loss(tape, &a, false) + &loss(tape, &b, true));
    for id in [shared, second_only] {
        assert!(grads[id].allclose(&both[id], 1e-15, 1e-15), "{id:?}");
    }
    assert_eq!(
        grads[shared].data_ptr(),
        first,
        "the sum was not written in place"
    );
    assert_eq!(
        grads.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        [shared, second_only]
    );
}

/// Identity forward; its gradient rule notes whether the watched tensor's storage is still
/// shared with the tape when the sweep reaches it.
struct Probe {
    watched: std::rc::Rc<std::cell::RefCell<Option<Tensor<f64>>>>,
    shared_then: std::rc::Rc<std::cell::Cell<Option<bool>>>,
}

impl shendu_autograd::CustomOp<f64> for Probe {
    fn name(&self) -> &str {
        "probe"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].clone()
    }
    fn backward(
        &self,
        _inputs: &[Var<f64>],
        _output: &Var<f64>,
        grad: &Var<f64>,
    ) -> Vec<Option<Var<f64>>> {
        let watched = self.watched.borrow();
        let shared = watched
            .as_ref()
            .expect("set in the forward")
            .is_storage_shared();
        self.shared_then.set(Some(shared));
        vec![Some(grad.clone())]
    }
}

#[test]
fn value_and_grad_frees_each_activation_once_the_sweep_has_passed_it() {
    // probe(w) → tanh → exp → sum: by the time the sweep reaches the probe (the first layer),
    // the tanh's output is needed by no rule still to run. A copy of it is kept outside the
    // tape; the probe's rule reports whether the tape still holds it too.
    let id = ParamId::new();
    let w = t(&[0.5, -1.0, 2.0], &[3]);
    let run = |consume: bool| {
        let watched = std::rc::Rc::new(std::cell::RefCell::new(None));
        let shared_then = std::rc::Rc::new(std::cell::Cell::new(None));
        let probe = Probe {
            watched: watched.clone(),
            shared_then: shared_then.clone(),
        };
        let forward = |tape: &Tape<f64>| {
            let activation = Var::custom(probe, &[&tape.param(id, &w)]).tanh();
            *watched.borrow_mut() = Some(activation.value().clone());
            activation.exp().sum_all()
        };
        let grads = if consume {
            value_and_grad(forward).1
        } else {
            let tape = Tape::new();
            forward(&tape).backward()
        };
        (
            shared_then.get().expect("the probe's rule ran"),
            grads[id].to_vec(),
        )
    };
    let (shared_in_value_and_grad, through_value_and_grad) = run(true);
    let (shared_in_backward, through_backward) = run(false);
    assert!(
        !shared_in_value_and_grad,
        "value_and_grad still held the activation"
    );
    assert!(
        shared_in_backward,
        "backward keeps the tape whole, for a second sweep"
    );
    // d/dw Σ exp(tanh(w)) = exp(tanh(w))·(1 − tanh²(w)), the same bits either way.
    assert_eq!(through_value_and_grad, through_backward);
    let expected = fd_gradient(
        &|w: &[f64]| w.iter().map(|x| x.tanh().exp()).sum(),
        &w.to_vec(),
        1e-6,
    );
    assert_close(&through_value_and_grad, &expected, 1e-8, 1e-6);
}

#[test]
fn value_and_grad_reports_what_backward_reports() {
    // A parameter used twice, one unused, one entered only after the loss, a plain leaf var
    // and a retained intermediate: every gradient, bit for bit, and in the same order.
    let (a, b, late) = (ParamId::new(), ParamId::new(), ParamId::new());
    let (wa, wb) = (t(&[0.3, -0.7, 1.1], &[3]), t(&[2.0], &[1]));
    let x = t(&[0.5, -1.0, 2.0], &[3]);
    let forward = |tape: &Tape<f64>| {
        let (first, second) = (tape.param(a, &wa), tape.param(a, &wa));
        let _unused = tape.param(b, &wb);
        let input = tape.var(x.clone());
        let hidden = (&first * &input).tanh();
        hidden.retain_grad();
        let loss = (&hidden * &second).sum_all();
        let _after = tape.param(late, &wb);
        loss
    };
    let (loss, grads) = value_and_grad(forward);
    let tape = Tape::new();
    let expected_loss = forward(&tape);
    let expected = expected_loss.backward();
    assert_eq!(loss.to_bits(), expected_loss.item().to_bits());
    let bits = |g: &shendu_autograd::Gradients<f64>| {
        g.iter()
            .map(|(id, g)| (id, g.to_vec().iter().map(|v| v.to_bits()).collect()))
            .collect::<Vec<(ParamId, Vec<u64>)>>()
    };
    assert_eq!(bits(&grads), bits(&expected));
    assert_eq!(
        grads.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        [a, b, late]
    );
    // Three parameters, the leaf var and the retained intermediate.
    assert_eq!((grads.len(), expected.len()), (5, 5));
}

#[test]
fn a_var_kept_past_value_and_grad_can_be_read_but_not_recorded_on() {
    let id = ParamId::new();
    let w = t(&[1.0, 2.0], &[2]);
    let mut kept = None;
    let (loss, _) = value_and_grad(|tape| {
        let squares = tape.param(id, &w).square();
        kept = Some(squares.clone());
        squares.sum_all()
    });
    assert_eq!(loss, 5.0);
    let kept = kept.unwrap();
    assert_eq!(kept.value().to_vec(), vec![1.0, 4.0]);
    let line = line!() + 1;
    let message = panic_message(|| kept.exp());
    assert_mentions(
        &message,
        &["exp", "value_and_grad", &format!("params.rs:{line}")],
    );
    let message = panic_message(|| kept.backward_with(&t(&[1.0, 1.0], &[2])));
    assert_mentions(&message, &["backward_with", "differentiated again"]);
    let message = panic_message(|| kept.retain_grad());
    assert_mentions(&message, &["retain_grad", "value_and_grad"]);
}

#[test]
fn value_and_grad_names_the_callers_line_for_a_loss_it_cannot_differentiate() {
    let w = t(&[1.0, 2.0], &[2]);
    let line = line!() + 1;
    let message = panic_message(|| value_and_grad(|tape| tape.param(ParamId::new(), &w).square()));
    assert_mentions(
        &message,
        &["backward", "not one element", &format!("params.rs:{line}")],
    );
    let line = line!() + 1;
    let message = panic_message(|| value_and_grad(|tape| tape.constant(w.clone()).sum_all()));
    assert_mentions(
        &message,
        &["does not depend on any var", &format!("params.rs:{line}")],
    );
}
