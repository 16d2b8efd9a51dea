//! Shapes too large to exist are rejected with a message, never wrapped around.
//!
//! A shape's element count, its strides and its buffer's size in bytes are computed with checked
//! arithmetic: a count that overflows `usize`, or a buffer over `isize::MAX` bytes (the most an
//! allocation may hold), panics naming the op and the shape, as PyTorch rejects such shapes.
//! Before these checks, `[64, 2^62 + 1]` had "64 elements" (the product wrapped), which let
//! `from_vec` accept 64 values for it and let `matmul` read far outside its operands.
//!
//! Views that broadcast a scalar are used to reach huge shapes without allocating them.

use crate::common;

use common::panic_message;
use shendu_tensor::{contiguous_strides, numel, Correction, Indices, Tensor};

/// 2^62 + 1: times 64 it wraps around to 64.
const HUGE: usize = (1 << 62) + 1;

/// Asserts that `f` panics with a message starting with `start` and naming this file's line.
#[track_caller]
fn assert_rejected<R>(start: &str, f: impl FnOnce() -> R) {
    let message = panic_message(f);
    assert!(
        message.starts_with(start),
        "message {message:?} does not start with {start:?}"
    );
    assert!(message.contains("overflow.rs:"), "{message}");
}

/// A view of `shape` that holds one element, broadcast.
fn view_f32(shape: &[usize]) -> Tensor<f32> {
    Tensor::scalar(1.0f32).broadcast_to(shape)
}

fn view_f64(shape: &[usize]) -> Tensor<f64> {
    Tensor::scalar(1.0f64).broadcast_to(shape)
}

#[test]
fn the_matmul_that_read_out_of_bounds_panics_instead() {
    // Each operand's element count wrapped to 64, and the product then read past its buffers.
    assert_rejected(
        "zeros: shape [64, 4611686018427387905] is too large: its element count overflows usize",
        || Tensor::<f64>::zeros([64, HUGE]).matmul(&Tensor::zeros([HUGE, 64])),
    );
}

#[test]
fn from_vec_rejects_a_shape_whose_count_wraps_to_the_data_length() {
    assert_rejected(
        "from_vec: shape [64, 4611686018427387905] is too large: its element count overflows usize",
        || Tensor::from_vec(vec![0.0f64; 64], [64, HUGE]),
    );
}

#[test]
fn filled_constructors_check_count_and_bytes() {
    assert_rejected("full: shape [64, 4611686018427387905] is too large", || {
        Tensor::full([64, HUGE], 1.0f32)
    });
    // 2^61 f64 is 2^64 bytes: the count fits in usize, the buffer does not fit in memory.
    assert_rejected(
        "zeros: shape [2305843009213693952] is too large: its 2305843009213693952 elements of f64 \
         take 18446744073709551616 bytes, more than a buffer can hold (isize::MAX)",
        || Tensor::<f64>::zeros([1 << 61]),
    );
    assert_rejected("ones: shape [2147483648, 2147483648] is too large", || {
        Tensor::<f32>::ones([1 << 31, 1 << 31])
    });
    assert_rejected("eye: shape [4294967296, 4294967296] is too large", || {
        Tensor::<f32>::eye(1 << 32)
    });
}

#[test]
fn random_constructors_check_the_shape_before_drawing() {
    let mut rng = rand::rng();
    assert_rejected(
        "rand_uniform: shape [64, 4611686018427387905] is too large",
        || Tensor::<f32>::rand_uniform([64, HUGE], 0.0, 1.0, &mut rng),
    );
    assert_rejected(
        "rand_normal: shape [64, 4611686018427387905] is too large",
        || Tensor::<f32>::rand_normal([64, HUGE], 0.0, 1.0, &mut rng),
    );
}

#[test]
fn ranges_check_their_length() {
    assert_rejected("arange: shape [4611686018427387904] is too large", || {
        Tensor::<f64>::arange(1 << 62)
    });
    assert_rejected("linspace: shape [4611686018427387904] is too large", || {
        Tensor::<f64>::linspace(0.0, 1.0, 1 << 62)
    });
    assert_rejected(
        "arange_step: shape [4611686018427387904] is too large",
        || Tensor::<f64>::arange_step(0.0, 4611686018427387904.0, 1.0),
    );
    // 10^30 values: more than usize counts, which used to give an empty tensor.
    assert_rejected(
        "arange_step: from 0 to 1000000000000000000000000000000 by 1 gives more values than a \
         tensor can hold",
        || Tensor::<f64>::arange_step(0.0, 1e30, 1.0),
    );
}

#[test]
fn reshape_rejects_a_shape_whose_count_wraps_to_the_same_count() {
    let t = Tensor::<f32>::zeros([64]);
    assert_rejected(
        "reshape: shape [64, 4611686018427387905] is too large: its element count overflows usize",
        || t.reshape([64, HUGE]),
    );
}

#[test]
fn broadcast_views_are_checked_like_fresh_tensors() {
    assert_rejected(
        "broadcast_to: shape [4294967296, 4294967296] is too large: its element count overflows",
        || view_f32(&[1 << 32, 1 << 32]),
    );
    // 2^61 f32 is 2^63 bytes: one byte over isize::MAX, so even a view of it cannot be copied.
    assert_rejected(
        "broadcast_to: shape [2305843009213693952] is too large",
        || view_f32(&[1 << 61]),
    );
    // Half that is a valid (if unallocatable) view: it has a shape and readable elements.
    let view = view_f32(&[1 << 60]);
    assert_eq!(view.numel(), 1 << 60);
    assert_eq!(view.get(&[(1 << 60) - 1]), 1.0);
    // Elementwise ops broadcast their operands to one shape, checked the same way.
    let (column, row) = (view_f32(&[1 << 32, 1]), view_f32(&[1, 1 << 32]));
    assert_rejected(
        "add: shape [4294967296, 4294967296] is too large: its element count overflows",
        || column.add(&row),
    );
    assert_rejected(
        "where_cond: shape [4294967296, 4294967296] is too large",
        || Tensor::where_cond(&column, &row, &Tensor::scalar(0.0)),
    );
}

#[test]
fn empty_shapes_need_strides_that_fit() {
    // No elements, but the stride of axis 0 would be 2^64.
    assert_rejected(
        "zeros: shape [0, 4294967296, 4294967296] is too large: its strides overflow usize",
        || Tensor::<f32>::zeros([0, 1 << 32, 1 << 32]),
    );
    assert_rejected(
        "contiguous_strides: shape [0, 4294967296, 4294967296]",
        || contiguous_strides(&[0, 1 << 32, 1 << 32]),
    );
    assert_rejected("numel: shape [64, 4611686018427387905]", || {
        numel(&[64, HUGE])
    });
    // An empty shape whose strides fit is fine, however large its other axes.
    assert_eq!(Tensor::<f64>::zeros([1 << 62, 0]).shape(), &[1 << 62, 0]);
    assert_eq!(contiguous_strides(&[1 << 62, 0]).as_slice(), &[0, 1]);
}

#[test]
fn matmul_checks_the_result_and_both_broadcast_operands() {
    // m·n: 2^32 × 2^32 outputs from two small views.
    let (a, b) = (view_f64(&[1 << 32, 1]), view_f64(&[1, 1 << 32]));
    assert_rejected(
        "matmul: [4294967296, 1] x [1, 4294967296]: the result, of shape [4294967296, 4294967296], \
         is too large: its element count overflows usize",
        || a.matmul(&b),
    );
    // batch·m·n: a batch of 2^22 matrices of 2^21 × 2^21.
    let (a, b) = (view_f32(&[1 << 22, 1 << 21, 1]), view_f32(&[1, 1 << 21]));
    assert_rejected(
        "matmul: [4194304, 2097152, 1] x [1, 2097152]: the result, of shape [4194304, 2097152, \
         2097152], is too large",
        || a.matmul(&b),
    );
    // batch·m·k: the left operand, broadcast over the right one's batch of 2^20, is 2^64
    // elements, although the result is empty.
    let (a, b) = (
        view_f32(&[1, 1 << 22, 1 << 22]),
        view_f32(&[1 << 20, 1 << 22, 0]),
    );
    assert_rejected(
        "matmul: [1, 4194304, 4194304] x [1048576, 4194304, 0]: the left operand broadcast to \
         [1048576, 4194304, 4194304] is too large",
        || a.matmul(&b),
    );
    // batch·k·n, the other way round.
    let (a, b) = (
        view_f32(&[1 << 20, 0, 1 << 22]),
        view_f32(&[1, 1 << 22, 1 << 22]),
    );
    assert_rejected(
        "matmul: [1048576, 0, 4194304] x [1, 4194304, 4194304]: the right operand broadcast to \
         [1048576, 4194304, 4194304] is too large",
        || a.matmul(&b),
    );
}

#[test]
fn joins_check_the_joined_shape() {
    // Two views of 2^60 f32 joined: 2^61 elements, 2^63 bytes.
    let half = view_f32(&[1 << 60]);
    assert_rejected("concat: shape [2305843009213693952] is too large", || {
        Tensor::concat(&[&half, &half], 0)
    });
    // Sixteen of them: the axis length itself, 2^64, overflows.
    let many = vec![&half; 16];
    assert_rejected(
        "concat: the sizes of axis 0 add up to more than usize can count",
        || Tensor::concat(&many, 0),
    );
    assert_rejected("stack: shape [4, 1152921504606846976] is too large", || {
        Tensor::stack(&[&half, &half, &half, &half], 0)
    });
}

#[test]
fn index_select_checks_the_selected_shape() {
    // 32 copies of a row of 2^59: 2^64 elements, which wrapped to none.
    let rows = view_f32(&[1, 1 << 59]);
    assert_rejected(
        "index_select: shape [32, 576460752303423488] is too large: its element count overflows",
        || rows.index_select(0, &[0; 32]),
    );
}

#[test]
fn one_hot_checks_shape_and_classes() {
    let labels = Indices::from(vec![0, 1, 2, 3]);
    assert_rejected(
        "one_hot: shape [4, 4611686018427387904] is too large: its element count overflows",
        || labels.one_hot::<f32>(1 << 62),
    );
}

#[test]
fn reductions_of_an_empty_tensor_check_their_result() {
    // No elements, so no stride overflows; folding the empty axis leaves 2^80 zeros.
    let empty = Tensor::<f32>::zeros([1 << 40, 1 << 40, 0]);
    assert_rejected(
        "sum: shape [1099511627776, 1099511627776] is too large: its element count overflows",
        || empty.sum(2, false),
    );
    assert_rejected(
        "mean: shape [1099511627776, 1099511627776, 1] is too large",
        || empty.mean(-1, true),
    );
    // Folding the large axes instead leaves nothing, whose mean is an empty tensor.
    assert_eq!(empty.mean([0, 1], false).shape(), &[0]);
    assert_eq!(empty.var([0, 1], Correction(1), true).shape(), &[1, 1, 0]);
}
