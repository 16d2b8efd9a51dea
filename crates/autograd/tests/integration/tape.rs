//! The tape's first-order behaviour: accumulation, leaves and constants, retain_grad, no_grad,
//! detach, backward and backward_with, node counts and the DOT export. Expected gradients are
//! worked out by hand in the comments.

use crate::common;

use common::{assert_close, assert_mentions, at, panic_message};
use shendu_autograd::{Tape, Var};
use shendu_tensor::Tensor;

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape)
}

#[test]
fn a_var_used_several_times_accumulates() {
    // y = Σ x·x + 3x  ⇒  dy/dx = 2x + 3.
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0, -3.0], &[3]));
    let y = (&(&x * &x) + &(&x * 3.0)).sum_all();
    assert_eq!(y.value().item(), (1.0 + 3.0) + (4.0 + 6.0) + (9.0 - 9.0));
    let grads = y.backward();
    assert_eq!(grads[&x].to_vec(), vec![5.0, 7.0, -3.0]);

    // The same var three times in one op chain: y = Σ x + x + x ⇒ dy/dx = 3.
    let z = (&(&x + &x) + &x).sum_all();
    assert_eq!(z.backward()[&x].to_vec(), vec![3.0, 3.0, 3.0]);
}

#[test]
fn a_var_used_in_two_broadcast_branches_accumulates() {
    // L = Σᵢⱼ (xⱼ + cᵢⱼ)² + Σⱼ sin xⱼ, x of shape [3] broadcast against c of shape [2, 3]
    // ⇒ dL/dxⱼ = 2 Σᵢ (xⱼ + cᵢⱼ) + cos xⱼ.
    let tape = Tape::new();
    let xs = [0.5, -1.0, 2.0];
    let cs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let x = tape.var(t(&xs, &[3]));
    let c = tape.constant(t(&cs, &[2, 3]));
    let l = &(&x + &c).square().sum_all() + &x.sin().sum_all();
    let expected: Vec<f64> = (0..3)
        .map(|j| 2.0 * ((xs[j] + cs[j]) + (xs[j] + cs[3 + j])) + xs[j].cos())
        .collect();
    assert_close(&l.backward()[&x].to_vec(), &expected, 1e-12, 1e-12);

    // Two vars broadcast against each other, one of them also used alone:
    // L = Σᵢⱼ aᵢ·bⱼ + Σᵢ aᵢ², a of shape [2, 1], b of shape [1, 3]
    // ⇒ dL/daᵢ = Σⱼ bⱼ + 2aᵢ, dL/dbⱼ = Σᵢ aᵢ.
    let a = tape.var(t(&[1.0, 2.0], &[2, 1]));
    let b = tape.var(t(&[3.0, 4.0, 5.0], &[1, 3]));
    let l = &(&a * &b).sum_all() + &a.square().sum_all();
    let grads = l.backward();
    assert_eq!(grads[&a].shape(), &[2, 1]);
    assert_eq!(grads[&b].shape(), &[1, 3]);
    assert_eq!(grads[&a].to_vec(), vec![12.0 + 2.0, 12.0 + 4.0]);
    assert_eq!(grads[&b].to_vec(), vec![3.0, 3.0, 3.0]);
}

#[test]
fn an_unused_input_gets_a_zero_gradient_of_its_shape() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let unused = tape.var(t(&[7.0, 8.0, 9.0, 10.0], &[4]));
    let y = x.sum_all();
    let grads = y.backward();
    assert_eq!(grads[&x].to_vec(), vec![1.0; 6]);
    assert_eq!(grads[&unused].shape(), &[4]);
    assert_eq!(grads[&unused].to_vec(), vec![0.0; 4]);
    // Also a leaf made after the output was computed.
    let later = tape.var(t(&[1.0], &[1, 1]));
    let grads = y.backward();
    assert_eq!(grads[&later].shape(), &[1, 1]);
    assert_eq!(grads[&later].to_vec(), vec![0.0]);
}

#[test]
fn a_constant_has_no_gradient_and_indexing_it_panics_clearly() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0], &[2]));
    let c = tape.constant(t(&[3.0, 4.0], &[2]));
    let y = (&x * &c).sum_all();
    let grads = y.backward();
    assert_eq!(grads[&x].to_vec(), vec![3.0, 4.0]);
    assert!(grads.get(&c).is_none());
    assert!(!c.is_tracked());
    // Only the one leaf holds a gradient.
    assert_eq!(grads.len(), 1);

    let line = line!() + 1;
    let message = panic_message(|| grads[&c].clone());
    assert_mentions(
        &message,
        &["no gradient", "constant", "[2]", &at(file!(), line)],
    );
}

#[test]
fn retain_grad_reports_an_intermediate_gradient() {
    // h = eˣ, y = Σ h²  ⇒  dy/dh = 2h, dy/dx = 2h·eˣ = 2e²ˣ.
    let tape = Tape::new();
    let x = tape.var(t(&[0.0, 1.0], &[2]));
    let h = x.exp();
    h.retain_grad();
    let y = (&h * &h).sum_all();
    let grads = y.backward();
    let e = 1f64.exp();
    assert_close(&grads[&h].to_vec(), &[2.0, 2.0 * e], 1e-15, 1e-15);
    assert_close(&grads[&x].to_vec(), &[2.0, 2.0 * e * e], 1e-15, 1e-14);
    assert_eq!(grads.len(), 2);
}

#[test]
fn an_intermediate_without_retain_grad_has_no_gradient() {
    let tape = Tape::new();
    let x = tape.var(t(&[0.0, 1.0, 2.0], &[3]));
    let h = x.exp();
    let y = (&h * &h).sum_all();
    let grads = y.backward();
    assert!(grads.get(&h).is_none());
    let line = line!() + 1;
    let message = panic_message(|| grads[&h].clone());
    assert_mentions(
        &message,
        &["no gradient", "retain_grad", "[3]", &at(file!(), line)],
    );
}

#[test]
fn no_grad_stops_recording_until_the_guard_drops() {
    let tape = Tape::new();
    let x = tape.var(t(&[1.0, 2.0], &[2]));
    assert_eq!(tape.len(), 1);
    let frozen = {
        let _guard = tape.no_grad();
        let y = (&x.exp() * &x).sum_all();
        assert!(!y.is_tracked());
        assert_eq!(tape.len(), 1, "no node is recorded under no_grad");
        {
            let _inner = tape.no_grad();
            assert!(!x.sin().is_tracked());
        }
        // Dropping an inner guard keeps the outer one in force.
        assert!(!x.sin().is_tracked());
        assert_eq!(tape.len(), 1);
        x.exp()
    };
    // Recording resumes; a value computed under no_grad acts as a constant: y = Σ x·eˣ' with
    // eˣ' frozen ⇒ dy/dx = eˣ.
    let y = (&x * &frozen).sum_all();
    assert!(y.is_tracked());
    assert_eq!(tape.len(), 3);
    assert_eq!(y.backward()[&x].to_vec(), vec![1f64.exp(), 2f64.exp()]);
}

#[test]
fn detach_stops_the_gradient() {
    // y = Σ x · detach(x)  ⇒  dy/dx = x (not 2x).
    let tape = Tape::new();
    let x = tape.var(t(&[1.5, -2.0, 3.0], &[3]));
    let d = x.detach();
    assert!(!d.is_tracked());
    assert_eq!(d.value().to_vec(), x.value().to_vec());
    let y = (&x * &d).sum_all();
    assert_eq!(y.backward()[&x].to_vec(), vec![1.5, -2.0, 3.0]);
    // A function of a detached var only cannot be differentiated.
    assert!(!d.exp().sum_all().is_tracked());
}

#[test]
fn backward_on_a_non_scalar_names_backward_with_and_the_shape() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::ones([2, 3]));
    let y = &x * 2.0;
    let line = line!() + 1;
    let message = panic_message(|| y.backward());
    assert_mentions(&message, &["backward_with", "[2, 3]", &at(file!(), line)]);

    // One element of any rank is a scalar for backward.
    let z = tape.var(t(&[4.0], &[1, 1]));
    assert_eq!(z.square().backward()[&z].to_vec(), vec![8.0]);
}

#[test]
fn backward_with_gives_the_vector_jacobian_product() {
    // y = (A x)² elementwise, A = [[1, 2], [3, 4], [5, 6]], x = [1, −1]: A x = [−1, −1, −1],
    // J = diag(2 A x) A, so sᵀJ with s = [1, 2, 3] is Aᵀ (s ⊙ 2Ax) = Aᵀ [−2, −4, −6]
    // = [1·−2 + 3·−4 + 5·−6, 2·−2 + 4·−4 + 6·−6] = [−44, −56].
    let tape = Tape::new();
    let a = tape.constant(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]));
    let x = tape.var(t(&[1.0, -1.0], &[2]));
    let y = a.matmul(&x).square();
    assert_eq!(y.shape(), &[3]);
    let grads = y.backward_with(&t(&[1.0, 2.0, 3.0], &[3]));
    assert_eq!(grads[&x].to_vec(), vec![-44.0, -56.0]);

    // The seed must have the output's shape.
    let line = line!() + 1;
    let message = panic_message(|| y.backward_with(&t(&[1.0, 2.0], &[2])));
    assert_mentions(
        &message,
        &["backward_with", "[2]", "[3]", &at(file!(), line)],
    );
}

#[test]
fn backward_on_an_untracked_output_panics_clearly() {
    let tape = Tape::new();
    let c = tape.constant(t(&[1.0, 2.0], &[2]));
    let y = c.exp().sum_all();
    let line = line!() + 1;
    let message = panic_message(|| y.backward());
    assert_mentions(
        &message,
        &["backward", "does not depend on any var", &at(file!(), line)],
    );

    let x = tape.var(t(&[1.0, 2.0], &[2]));
    let frozen = {
        let _guard = tape.no_grad();
        x.square().sum_all()
    };
    let line = line!() + 1;
    let message = panic_message(|| frozen.backward());
    assert_mentions(
        &message,
        &["does not depend on any var", &at(file!(), line)],
    );
}

#[test]
fn len_counts_recorded_nodes_and_constants_cost_none() {
    let tape = Tape::<f64>::new();
    assert!(tape.is_empty());
    assert_eq!(tape.len(), 0);

    // Ops on constants only record nothing, whatever they are.
    let c = tape.constant(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let d = tape.constant(t(&[1.0, 2.0, 3.0], &[3]));
    let e = (&c + &d).exp().matmul(&c.t()).sum(0, false).mean_all();
    assert!(!e.is_tracked());
    let _ = Var::concat(&[&c, &c], 0).softmax(1).narrow(1, 0, 2);
    assert_eq!(tape.len(), 0);
    assert!(tape.is_empty());

    // A leaf is one node.
    let x = tape.var(t(&[1.0, 2.0, 3.0], &[3]));
    assert_eq!(tape.len(), 1);

    // var ⊙ constant of the same shape: one node.
    let _ = &x * &d;
    assert_eq!(tape.len(), 2);
    // var + broadcast constant: the constant's broadcast costs nothing, the add one node.
    let b = tape.constant(t(&[10.0], &[1]));
    let _ = &x + &b;
    assert_eq!(tape.len(), 3);
    // Scalars on either side: one node each.
    let _ = &x * 2.0;
    assert_eq!(tape.len(), 4);
    let _ = 2.0 * &x;
    assert_eq!(tape.len(), 5);
    // var + var of another shape: the var's broadcast is a node, then the add.
    let y = tape.var(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    assert_eq!(tape.len(), 6);
    let _ = &x + &y;
    assert_eq!(tape.len(), 8);
    // mean_all is one node, its sum and scale together.
    let m = y.mean_all();
    assert_eq!(tape.len(), 9);
    // matrix · constant vector: the matmul node and the reshape back to 1-D.
    let _ = y.matmul(&d);
    assert_eq!(tape.len(), 11);

    // A first-order backward records nothing.
    let _ = m.backward();
    assert_eq!(tape.len(), 11);
}

#[test]
fn to_dot_has_one_labelled_node_per_op_and_the_edges_between_them() {
    let tape = Tape::<f64>::new();
    let (x, l0) = (tape.var(Tensor::ones([2, 3])), line!());
    let (y, l1) = (x.tanh(), line!());
    let c = tape.constant(Tensor::ones([2, 3]));
    let (z, l2) = (&y * &c, line!());
    let (s, l3) = (z.sum_all(), line!());
    assert_eq!(tape.len(), 4);
    let _ = s;

    let dot = tape.to_dot();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");
    let node_lines: Vec<&str> = dot
        .lines()
        .filter(|l| l.trim_start().starts_with('n') && l.contains("[label="))
        .collect();
    assert_eq!(node_lines.len(), 4, "one node per recorded op:\n{dot}");
    let expect = [
        ("leaf", "[2, 3]", l0),
        ("tanh", "[2, 3]", l1),
        ("mul", "[2, 3]", l2),
        ("sum", "[]", l3),
    ];
    for (i, (line, (name, shape, at_line))) in node_lines.iter().zip(expect).enumerate() {
        assert!(line.trim_start().starts_with(&format!("n{i} ")), "{line}");
        assert_mentions(line, &[name, shape, &at(file!(), at_line)]);
    }
    for edge in ["n0 -> n1", "n1 -> n2", "n2 -> n3"] {
        assert!(dot.contains(edge), "missing edge {edge}:\n{dot}");
    }
    // The constant operand of the product is drawn too, as a non-op input.
    assert!(
        dot.lines()
            .any(|l| l.contains("-> n2") && !l.contains("n1 -> n2")),
        "{dot}"
    );
}

#[test]
fn gradients_do_not_answer_for_a_var_of_another_tape() {
    // Both tapes' first var is node 0; a gradient of one tape must not be handed out for the
    // other tape's var.
    let first = Tape::new();
    let x = first.var(t(&[1.0, 2.0], &[2]));
    let second = Tape::new();
    let z = second.var(t(&[5.0, 6.0], &[2]));
    let grads = x.square().sum_all().backward();
    assert_eq!(grads[&x].to_vec(), vec![2.0, 4.0]);
    assert!(
        grads.get(&z).is_none(),
        "got {:?} for a var of another tape",
        grads.get(&z).map(|g| g.to_vec())
    );
}

#[test]
fn f32_is_the_default_element() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![1.0f32, -2.0], [2]));
    let y = (&x * &x).sum_all();
    assert_eq!(y.backward()[&x].to_vec(), vec![2.0f32, -4.0]);
}

#[test]
fn a_transposed_matmul_operand_gets_its_gradient_in_its_own_layout() {
    // A weight used as w.t(), as in a linear layer: its gradient arrives contiguous, so an
    // optimizer reads it straight through. The values are checked against finite differences,
    // with both operands transposed, and for a batch of matrices.
    use shendu_autograd::gradcheck;
    let x = Tensor::<f64>::from_vec((0..12).map(|i| i as f64 * 0.3 - 1.0).collect(), [4, 3]);
    let w = Tensor::<f64>::from_vec((0..15).map(|i| (i as f64 * 0.7).sin()).collect(), [5, 3]);
    let tape = Tape::new();
    let (xv, wv) = (tape.var(x.clone()), tape.var(w.clone()));
    let grads = xv.matmul(&wv.t()).square().sum_all().backward();
    assert!(grads[&wv].is_contiguous());
    assert_eq!(grads[&wv].shape(), &[5, 3]);
    gradcheck(|v| v[0].matmul(&v[1].t()), &[x.clone(), w.clone()]).unwrap();
    gradcheck(|v| v[0].t().matmul(&v[1].t()), &[x.t().contiguous(), w]).unwrap();
    let batch = Tensor::<f64>::from_vec((0..24).map(|i| (i as f64).cos()).collect(), [2, 3, 4]);
    gradcheck(|v| v[0].transpose(-1, -2).matmul(&v[1].t()), &[batch, x]).unwrap();
}

#[test]
fn tapes_one_after_another_start_empty_whatever_their_element_type() {
    // A dropped tape leaves its emptied node list to the next tape on the thread: the next
    // one, of either element type, must start with no nodes and differentiate as a fresh one.
    // The long tape's list is past what is kept, and is freed instead.
    let long = Tape::<f64>::new();
    let mut x = long.var(t(&[1.0], &[1]));
    for _ in 0..5000 {
        x = x.add_scalar(1.0);
    }
    assert_eq!(long.len(), 5001);
    drop((x, long));
    for round in 0..3 {
        let tape = Tape::<f64>::new();
        assert_eq!(tape.len(), 0);
        let x = tape.var(t(&[3.0], &[1]));
        let grads = (&x * &x).sum_all().backward(); // d(x²)/dx = 6
        assert_close(&grads[&x].to_vec(), &[6.0], 0.0, 0.0);
        drop((x, grads, tape));
        let tape = Tape::<f32>::new();
        assert_eq!(tape.len(), 0, "round {round}");
        let y = tape.var(Tensor::from_vec(vec![2.0f32], [1]));
        let grads = y.powf(3.0).sum_all().backward(); // 3·y² = 12
        assert_eq!(grads[&y].to_vec(), vec![12.0]);
    }
}

#[test]
fn mean_is_one_node_with_the_bits_of_sum_then_mul_scalar() {
    // 1/3 and 1/7 do not divide exactly, so a different order of scaling and summing would show
    // in the last bit; the values span magnitudes so that the sum rounds.
    let data: Vec<f64> = (0..21)
        .map(|i| (i as f64 * 0.37).sin() * 10f64.powi(i % 5 - 2))
        .collect();
    let bits = |t: &Tensor<f64>| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for (axes, keepdim) in [(vec![0], false), (vec![1], true), (vec![0, 1], false)] {
        let fused = Tape::new();
        let x = fused.var(t(&data, &[3, 7]));
        let before = fused.len();
        let mean = x.mean(&axes[..], keepdim);
        assert_eq!(
            fused.len(),
            before + 1,
            "mean over {axes:?} recorded one node"
        );
        let composite = Tape::new();
        let x2 = composite.var(t(&data, &[3, 7]));
        let count: usize = axes.iter().map(|&a| [3, 7][a]).product();
        let reference = x2.sum(&axes[..], keepdim).mul_scalar(1.0 / count as f64);
        assert_eq!(
            bits(mean.value()),
            bits(reference.value()),
            "mean over {axes:?}"
        );
        // First order through a weight that is not uniform, then second order through
        // grad_graph, which records the rule's own ops.
        let weights = Tensor::from_vec(
            (0..mean.numel()).map(|i| 1.0 + i as f64 / 3.0).collect(),
            mean.shape(),
        );
        let loss = (&mean * &fused.constant(weights.clone()))
            .square()
            .sum_all();
        let loss2 = (&reference * &composite.constant(weights))
            .square()
            .sum_all();
        assert_eq!(bits(&loss.backward()[&x]), bits(&loss2.backward()[&x2]));
        let fused = Tape::new();
        let x = fused.var(t(&data, &[3, 7]));
        let [dx] = <[_; 1]>::try_from(
            x.mean(&axes[..], keepdim)
                .square()
                .sum_all()
                .grad_graph(&[&x]),
        )
        .unwrap();
        let composite = Tape::new();
        let x2 = composite.var(t(&data, &[3, 7]));
        let reference = x2.sum(&axes[..], keepdim).mul_scalar(1.0 / count as f64);
        let [dx2] = <[_; 1]>::try_from(reference.square().sum_all().grad_graph(&[&x2])).unwrap();
        let second = (&dx * &dx).sum_all().backward();
        let second2 = (&dx2 * &dx2).sum_all().backward();
        assert_eq!(
            bits(&second[&x]),
            bits(&second2[&x2]),
            "second order over {axes:?}"
        );
    }
}

/// x·y, whose rule keeps a clone of each input and of the output it was given, so that a test
/// can see them outlive the sweep.
struct MulKeepingClones(std::rc::Rc<std::cell::RefCell<Vec<Var<f64>>>>);

impl shendu_autograd::CustomOp<f64> for MulKeepingClones {
    fn name(&self) -> &str {
        "mul_keeping_clones"
    }

    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0] * inputs[1]
    }

    fn backward(
        &self,
        inputs: &[Var<f64>],
        output: &Var<f64>,
        grad: &Var<f64>,
    ) -> Vec<Option<Var<f64>>> {
        let mut kept = self.0.borrow_mut();
        kept.extend([inputs[0].clone(), inputs[1].clone(), output.clone()]);
        vec![Some(grad * &inputs[1]), Some(grad * &inputs[0])]
    }
}

#[test]
fn every_sweep_leaves_the_owners_of_the_values_it_read_as_it_found_them() {
    // The sweeps hand each rule its inputs and output as vars that own nothing (no reference
    // count raised, none lowered). A count raised and never lowered would leave a value shared
    // once everything else is dropped; one lowered twice would show it unshared while the test
    // still holds a second owner. The ops' rules read inputs (mul, linear, the custom op),
    // outputs (tanh, softmax) and constants (the data c); the custom op's rule clones what it
    // is given, which must then own its values like any var.
    let values = |seed: f64, n: usize| -> Vec<f64> {
        (0..n).map(|i| (i as f64 * 0.37 + seed).sin()).collect()
    };
    let (w, b) = (t(&values(1.0, 12), &[4, 3]), t(&values(2.0, 4), &[4]));
    let (x, c) = (t(&values(3.0, 6), &[2, 3]), t(&values(4.0, 8), &[2, 4]));
    let kept = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let model = |tape: &Tape<f64>| {
        let (wv, bv, xv) = (
            tape.var(w.clone()),
            tape.var(b.clone()),
            tape.var(x.clone()),
        );
        let h = xv.linear(&wv, Some(&bv)).tanh();
        let h = Var::custom(
            MulKeepingClones(kept.clone()),
            &[&h, &tape.constant(c.clone())],
        );
        (&h.softmax(1) * &h).mean_all()
    };
    let all = [&w, &b, &x, &c];
    let check = |sweep: &str| {
        // The rule's clone of its constant operand owns c.
        assert!(
            c.is_storage_shared(),
            "{sweep}: the constant is held by a clone"
        );
        kept.borrow_mut().clear();
        let second_owners: Vec<Tensor<f64>> = all.iter().map(|v| (*v).clone()).collect();
        for (k, value) in all.iter().enumerate() {
            assert!(
                value.is_storage_shared(),
                "{sweep}: value {k} lost an owner"
            );
        }
        drop(second_owners);
        for (k, value) in all.iter().enumerate() {
            assert!(
                !value.is_storage_shared(),
                "{sweep}: value {k} kept an owner"
            );
        }
    };
    {
        let tape = Tape::new();
        let grads = model(&tape).backward();
        assert_eq!(grads.len(), 3);
    }
    check("backward");
    {
        let tape = Tape::new();
        let w_var = tape.var(w.clone());
        let loss = (&model(&tape) + &w_var.square().sum_all()).sum_all();
        let dw = loss.grad_graph(&[&w_var]).remove(0);
        dw.square().sum_all().backward();
    }
    check("grad_graph, then backward of its result");
    let (_, grads) = shendu_autograd::value_and_grad(|tape| model(tape));
    drop(grads);
    check("value_and_grad");
}
