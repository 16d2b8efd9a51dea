#![warn(missing_docs)]
//! shendu-tensor: n-dimensional arrays on the CPU, the base of shendu.
//!
//! A [`Tensor`] is shared storage plus a [`Layout`]; views (transpose, permute, broadcast, narrow,
//! reshape of a contiguous tensor) change only the layout. Elementwise ops broadcast by NumPy's
//! rule, reductions take one axis or several, and `matmul` follows NumPy's semantics including
//! batched, broadcast operands. Large ops run in parallel on rayon, split in chunks that do not
//! depend on the thread count, so results are bit-identical on 1 or N threads.
//!
//! Shape mismatches, bad axes and shapes too large to exist (an element count past `usize`, a
//! buffer past `isize::MAX` bytes) are programming errors: they panic with a message that names
//! the op, the shapes and the caller's line, like slice indexing in `std`.
//!
//! ```
//! use shendu_tensor::Tensor;
//! let x = Tensor::<f32>::arange(6).reshape([2, 3]);
//! let w = Tensor::ones([3, 2]);
//! let y = x.matmul(&w).relu().sum_all();
//! assert_eq!(y.item(), 30.0);
//! ```

mod binary;
mod check;
mod cpu;
mod create;
mod display;
mod element;
mod gather;
mod index;
mod indices;
mod inplace;
mod join;
mod layout;
mod matmul;
mod reduce;
mod shape;
mod storage;
mod tensor;
mod unary;

pub use cpu::gemm::matmul_simd;
pub use cpu::pool::{set_spin_time, spin_time};
pub use element::Element;
pub use indices::Indices;
pub use layout::Layout;
pub use reduce::Correction;
pub use shape::{broadcast_shapes, contiguous_strides, numel, Axes, Axis, Dims, IntoShape};
pub use tensor::Tensor;
pub use unary::{gelu, sigmoid, softplus};
