//! Parameters on the tape: keyed leaves, tied weights, gradients by parameter that outlive the
//! tape, and a training loop whose in-place updates never copy a parameter.

use crate::common;

use common::{assert_close, fd_gradient};
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
