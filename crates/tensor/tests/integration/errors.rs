//! Programming errors panic with a message that names the op, the shapes or axes involved, and
//! the caller's line. These tests pin the messages users will see.

use crate::common;

use common::panic_message;
use proptest::prelude::*;
use shendu_tensor::{Correction, Indices, Tensor};

fn m23() -> Tensor<f32> {
    Tensor::zeros([2, 3])
}

#[test]
#[should_panic(expected = "add: shapes [2, 3] and [4] do not broadcast")]
fn add_names_itself_and_both_shapes() {
    let _ = m23().add(&Tensor::zeros([4]));
}

#[test]
#[should_panic(expected = "mul: shapes [2, 3] and [3, 2] do not broadcast")]
fn the_mul_operator_names_mul_and_both_shapes() {
    let _ = &m23() * &Tensor::zeros([3, 2]);
}

#[test]
#[should_panic(expected = "where_cond: shapes [2, 3] and [2] do not broadcast")]
fn where_cond_names_the_shapes_that_clash() {
    let _ = Tensor::where_cond(&m23(), &m23(), &Tensor::zeros([2]));
}

#[test]
#[should_panic(expected = "fused: shapes [2, 3] and [3, 2] do not broadcast")]
fn zip3_with_names_the_callers_op_and_the_shapes() {
    let _ = m23().zip3_with("fused", &m23(), &Tensor::zeros([3, 2]), |a, b, c| a + b + c);
}

#[test]
#[should_panic(expected = "sum: axis 2 is out of range for a tensor of rank 2")]
fn sum_names_the_bad_axis_and_the_rank() {
    let _ = m23().sum(2, false);
}

#[test]
#[should_panic(expected = "sum: axis -3 is out of range for a tensor of rank 2")]
fn sum_names_a_bad_negative_axis_as_written() {
    let _ = m23().sum([0, -3], false);
}

#[test]
#[should_panic(expected = "mean: an axis is given twice in [1, 1]")]
fn an_axis_given_twice_is_rejected() {
    let _ = m23().mean([1, -1], false);
}

#[test]
#[should_panic(expected = "softmax: axis 2 is out of range for a tensor of rank 2")]
fn softmax_names_the_bad_axis() {
    let _ = m23().softmax(2);
}

#[test]
#[should_panic(expected = "argmax: axis -3 is out of range for a tensor of rank 2")]
fn argmax_names_the_bad_axis() {
    let _ = m23().argmax(-3, false);
}

#[test]
#[should_panic(expected = "max: cannot reduce an empty axis of shape [0, 3]")]
fn max_of_an_empty_axis_is_an_error() {
    let _ = Tensor::<f32>::zeros([0, 3]).max(0, false);
}

#[test]
#[should_panic(expected = "reshape: cannot reshape [2, 3] (6 elements) to [4] (4 elements)")]
fn reshape_with_the_wrong_element_count() {
    let _ = m23().reshape([4]);
}

#[test]
#[should_panic(expected = "matmul: [2, 3] x [4, 5]: inner dimensions 3 and 4 differ")]
fn matmul_inner_dimension_mismatch() {
    let _ = m23().matmul(&Tensor::zeros([4, 5]));
}

#[test]
#[should_panic(expected = "matmul: [3] x [4]: inner dimensions 3 and 4 differ")]
fn matmul_of_vectors_names_the_shapes_as_given() {
    let _ = Tensor::<f32>::zeros([3]).matmul(&Tensor::zeros([4]));
}

#[test]
#[should_panic(expected = "matmul: [] x [3]: both operands need at least one axis")]
fn matmul_of_a_scalar_is_an_error() {
    let _ = Tensor::scalar(1.0f32).matmul(&Tensor::zeros([3]));
}

#[test]
#[should_panic(
    expected = "narrow: range 2..5 is out of bounds for axis 1 of size 3 in shape [2, 3]"
)]
fn narrow_out_of_range() {
    let _ = m23().narrow(1, 2, 3);
}

#[test]
#[should_panic(expected = "from_vec: 5 elements cannot fill shape [2, 3] (6 elements)")]
fn from_vec_with_the_wrong_length() {
    let _ = Tensor::from_vec(vec![0.0f32; 5], [2, 3]);
}

#[test]
#[should_panic(expected = "item: a tensor of shape [2, 3] has 6 elements, not 1")]
fn item_of_a_multi_element_tensor() {
    let _ = m23().item();
}

#[test]
#[should_panic(expected = "permute: [0, 0] is not a permutation of the 2 axes of shape [2, 3]")]
fn permute_with_a_repeated_axis() {
    let _ = m23().permute(&[0, 0]);
}

#[test]
#[should_panic(expected = "permute: [1, 0, 2] is not a permutation of the 2 axes of shape [2, 3]")]
fn permute_with_too_many_axes() {
    let _ = m23().permute(&[1, 0, 2]);
}

#[test]
#[should_panic(expected = "squeeze: axis 1 of shape [2, 3] has size 3, not 1")]
fn squeeze_of_an_axis_that_is_not_one() {
    let _ = m23().squeeze(1);
}

#[test]
#[should_panic(
    expected = "broadcast_to: cannot broadcast shape [2, 3] to [2, 4]: axis 1 has size 3, not 1 or 4"
)]
fn broadcast_to_an_incompatible_shape() {
    let _ = m23().broadcast_to([2, 4]);
}

#[test]
#[should_panic(expected = "get: index [2, 0] is out of bounds for shape [2, 3]")]
fn get_out_of_bounds() {
    let _ = m23().get(&[2, 0]);
}

#[test]
#[should_panic(expected = "add_: cannot broadcast shape [2, 3] to the lower rank shape [3]")]
fn an_in_place_update_cannot_grow_its_target() {
    let mut w = Tensor::<f32>::zeros([3]);
    w.add_(&m23());
}

#[test]
#[should_panic(expected = "transpose: axis 2 is out of range for a tensor of rank 2")]
fn transpose_names_the_bad_axis() {
    let _ = m23().transpose(0, 2);
}

#[test]
#[should_panic(expected = "arange_step: start 0, end 1 and step 0 must be finite with step ≠ 0")]
fn arange_step_with_a_zero_step() {
    let _ = Tensor::arange_step(0.0f32, 1.0, 0.0);
}

#[test]
#[should_panic(
    expected = "concat: tensor 1 has shape [3, 2], but tensor 0 has shape [2, 3]: shapes must \
                           agree on every axis except the concatenated axis 0"
)]
fn concat_names_the_tensor_whose_shape_disagrees() {
    let _ = Tensor::concat(&[&m23(), &m23().t()], 0);
}

#[test]
#[should_panic(expected = "concat: needs at least one tensor, got an empty list")]
fn concat_of_nothing() {
    let _ = Tensor::<f32>::concat(&[], 0);
}

#[test]
#[should_panic(expected = "stack: tensor 1 has shape [3], but tensor 0 has shape [2]")]
fn stack_of_different_shapes() {
    let _ = Tensor::stack(&[&Tensor::<f32>::zeros([2]), &Tensor::zeros([3])], 0);
}

#[test]
#[should_panic(expected = "split: piece size must be positive, got 0 (axis 0 of shape [2, 3])")]
fn split_into_empty_pieces() {
    let _ = m23().split(0, 0);
}

#[test]
#[should_panic(
    expected = "split_sizes: sizes [1, 1] sum to 2, but axis 1 has size 3 in shape [2, 3]"
)]
fn split_sizes_that_do_not_sum_to_the_axis() {
    let _ = m23().split_sizes(-1, &[1, 1]);
}

#[test]
#[should_panic(expected = "chunk: cannot cut axis 1 of shape [2, 3] into 0 chunks")]
fn chunk_into_zero_pieces() {
    let _ = m23().chunk(1, 0);
}

#[test]
#[should_panic(
    expected = "index_select: index 2 (indices[1]) is out of range for axis 0 of size 2 in shape [2, 3]"
)]
fn index_select_out_of_range() {
    let _ = m23().index_select(0, &[1, 2]);
}

#[test]
#[should_panic(
    expected = "gather: index 3 at [1, 0] of indices of shape [2, 1] is out of range 0..3 for axis 1 \
                           of size 3 in shape [2, 3]"
)]
fn gather_with_an_index_out_of_range() {
    let _ = m23().gather(1, &Indices::from_vec(vec![0, 3], [2, 1]));
}

#[test]
#[should_panic(
    expected = "gather: indices of shape [2] must have the rank of self of shape [2, 3] (2, not 1)"
)]
fn gather_with_indices_of_the_wrong_rank() {
    let _ = m23().gather(1, &Indices::from(vec![0, 0]));
}

#[test]
#[should_panic(
    expected = "index_add: source of shape [2, 2] does not fit self of shape [2, 3] with 1 indices \
                           along axis 0: expected source shape [1, 3]"
)]
fn index_add_with_a_source_of_the_wrong_shape() {
    let _ = m23().index_add(0, &[1], &Tensor::zeros([2, 2]));
}

#[test]
#[should_panic(
    expected = "one_hot: index 3 at [1] of indices of shape [2] is out of range 0..3 for 3 classes"
)]
fn one_hot_of_a_class_out_of_range() {
    let _ = Indices::from(vec![0, 3]).one_hot::<f32>(3);
}

#[test]
#[should_panic(
    expected = "log_softmax_backward: the gradient's shape [4] does not match the output's shape \
                [2, 3]"
)]
fn a_softmax_gradient_of_the_wrong_shape() {
    let _ = m23().log_softmax_backward(&Tensor::zeros([4]), 0);
}

#[test]
#[should_panic(
    expected = "linear: an input of shape [2, 3] and a weight of shape [3, 2]: the weight \
                           must be [out, in] and the input [..., in]"
)]
fn a_linear_weight_of_the_wrong_shape() {
    let _ = m23().linear(&Tensor::zeros([3, 2]), None);
}

#[test]
#[should_panic(
    expected = "linear_relu: a bias of shape [4] for a weight of shape [2, 3]: the bias \
                           must be [2]"
)]
fn a_linear_bias_of_the_wrong_shape() {
    let _ = m23().linear_relu(&m23(), Some(&Tensor::zeros([4])));
}

#[test]
fn messages_name_the_callers_line() {
    let (a, b) = (m23(), Tensor::<f32>::zeros([4]));
    let labels = Indices::from(vec![2, 0]);
    // Each call sits on the same line as its `line!()`, so the expected location is exact.
    #[rustfmt::skip]
    let cases: Vec<(String, u32)> = vec![
        (panic_message(|| a.add(&b)), line!()),
        (panic_message(|| &a + &b), line!()),
        (panic_message(|| a.sum(5, false)), line!()),
        (panic_message(|| a.reshape([7])), line!()),
        (panic_message(|| a.matmul(&b)), line!()),
        (panic_message(|| a.linear(&b, None)), line!()),
        (panic_message(|| a.linear_relu(&m23().t(), Some(&b))), line!()),
        (panic_message(|| a.narrow(0, 1, 5)), line!()),
        (panic_message(|| Tensor::from_vec(vec![1.0f32], [2])), line!()),
        (panic_message(|| a.item()), line!()),
        (panic_message(|| a.permute(&[1, 1])), line!()),
        (panic_message(|| a.softmax(-3)), line!()),
        (panic_message(|| a.softmax_backward(&b, 1)), line!()),
        (panic_message(|| a.var(4, Correction(1), false)), line!()),
        (panic_message(|| a.clone().add_(&b)), line!()),
        (panic_message(|| a.broadcast_to([3])), line!()),
        (panic_message(|| Tensor::concat(&[&a, &b], 0)), line!()),
        (panic_message(|| a.split_sizes(0, &[5])), line!()),
        (panic_message(|| a.index_select(1, &[9])), line!()),
        (panic_message(|| a.gather(0, &labels)), line!()),
        (panic_message(|| labels.one_hot::<f32>(1)), line!()),
        (panic_message(|| a.unsqueeze(3)), line!()),
        (panic_message(|| Tensor::<f32>::rand_uniform([2], 1.0, 0.0, &mut common::rng(0))), line!()),
        (panic_message(|| Tensor::<f32>::rand_normal([2], 0.0, -1.0, &mut common::rng(0))), line!()),
    ];
    for (message, line) in cases {
        let at = format!("(at {}:{line})", file!());
        assert!(
            message.ends_with(&at),
            "message {message:?} does not end with {at:?}"
        );
        assert!(message.contains("errors.rs:"), "{message}");
    }
}

proptest! {
    #![proptest_config(common::config(32))]

    #[test]
    fn any_shapes_that_do_not_broadcast_are_rejected_by_name(
        s in common::nonempty_shape(1, 4),
        axis in any::<prop::sample::Index>(),
        other in 2..=5usize,
    ) {
        // Change one axis (not of size 1) to a different size that is not 1 either.
        let axis = axis.index(s.len());
        prop_assume!(s[axis] != 1);
        let mut t = s.clone();
        t[axis] = if s[axis] == other { other + 1 } else { other };
        let (a, b) = (Tensor::<f32>::zeros(s.clone()), Tensor::<f32>::zeros(t.clone()));
        let message = panic_message(|| a.sub(&b));
        prop_assert!(message.starts_with(&format!("sub: shapes {s:?} and {t:?} do not broadcast")), "{}", message);
    }
}

#[test]
#[should_panic(
    expected = "rand_uniform: the bounds must be finite with lo ≤ hi, got lo = 2 and hi = 1"
)]
fn rand_uniform_with_bounds_in_the_wrong_order() {
    let _ = Tensor::<f32>::rand_uniform([3], 2.0, 1.0, &mut common::rng(0));
}

#[test]
fn rand_uniform_with_a_bound_that_is_not_finite() {
    for (lo, hi) in [
        (0.0, f64::INFINITY),
        (f64::NEG_INFINITY, 0.0),
        (f64::NAN, 1.0),
        (0.0, f64::NAN),
    ] {
        let message =
            panic_message(|| Tensor::<f64>::rand_uniform([3], lo, hi, &mut common::rng(0)));
        let want = format!(
            "rand_uniform: the bounds must be finite with lo ≤ hi, got lo = {lo} and hi = {hi}"
        );
        assert!(
            message.starts_with(&want),
            "{message:?} does not start with {want:?}"
        );
    }
    // Equal bounds are a constant, as in PyTorch.
    let same = Tensor::<f32>::rand_uniform([2], 1.5, 1.5, &mut common::rng(0));
    assert_eq!(same.to_vec(), vec![1.5, 1.5]);
}

#[test]
fn rand_normal_with_a_std_that_is_negative_or_not_finite() {
    for std in [-1.0f32, -0.0 - f32::MIN_POSITIVE, f32::NAN, f32::INFINITY] {
        let message =
            panic_message(|| Tensor::<f32>::rand_normal([3], 0.0, std, &mut common::rng(0)));
        let want = format!("rand_normal: std must be finite and ≥ 0, got {std}");
        assert!(
            message.starts_with(&want),
            "{message:?} does not start with {want:?}"
        );
    }
    let message =
        panic_message(|| Tensor::<f32>::rand_normal([3], f32::NAN, 1.0, &mut common::rng(0)));
    assert!(
        message.starts_with("rand_normal: mean must be finite, got NaN"),
        "{message:?}"
    );
    // A std of 0 is a constant, as in PyTorch.
    let constant = Tensor::<f64>::rand_normal([2], 3.0, 0.0, &mut common::rng(0));
    assert_eq!(constant.to_vec(), vec![3.0, 3.0]);
}

#[test]
#[should_panic(
    expected = "unsqueeze: axis 3 is out of range for a tensor of rank 2 (valid: -3..=2)"
)]
fn unsqueeze_names_the_real_rank_and_the_valid_positions() {
    let _ = m23().unsqueeze(3);
}

#[test]
#[should_panic(
    expected = "unsqueeze: axis -4 is out of range for a tensor of rank 2 (valid: -3..=2)"
)]
fn unsqueeze_with_a_negative_position_past_the_front() {
    let _ = m23().unsqueeze(-4);
}

#[test]
#[should_panic(expected = "stack: axis 3 is out of range for a tensor of rank 1 (valid: -2..=1)")]
fn stack_names_the_rank_of_the_stacked_tensors() {
    let v = Tensor::<f32>::zeros([2]);
    let _ = Tensor::stack(&[&v, &v], 3);
}

#[test]
#[should_panic(expected = "sum: axis 2 is out of range for a tensor of rank 2 (valid: -2..=1)")]
fn axis_messages_give_the_valid_range() {
    let _ = m23().sum(2, false);
}

#[test]
fn unsqueeze_accepts_every_position_from_minus_rank_minus_one_to_rank() {
    let shapes: Vec<Vec<usize>> = (-3..=2i64)
        .map(|a| m23().unsqueeze(a).shape().to_vec())
        .collect();
    assert_eq!(
        shapes,
        vec![
            vec![1, 2, 3],
            vec![2, 1, 3],
            vec![2, 3, 1],
            vec![1, 2, 3],
            vec![2, 1, 3],
            vec![2, 3, 1]
        ]
    );
}
