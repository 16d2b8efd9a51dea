//! Shapes, axes and the NumPy broadcasting rule.
//!
//! A shape is a list of dimension sizes, outermost first. `SmallVec` keeps shapes of rank ≤ 4 off
//! the heap, which matters for the many tiny tensors of a small model. Axes may be given from the
//! front (`0`, `1`, …) or, as in NumPy and PyTorch, from the back (`-1` is the last axis).
//!
//! Element counts and strides are computed with checked arithmetic. Every op that makes a shape
//! (a constructor, `reshape`, a broadcast, a join, a product) passes it through
//! [`checked_numel`], so a tensor's element count, its strides, and its size in bytes all fit:
//! the kernels' index arithmetic over a tensor that exists cannot wrap around.

use smallvec::SmallVec;

use crate::check::{fail, fmt_shape};
use crate::element::Element;

/// Dimension sizes (or strides), inline up to rank 4.
pub type Dims = SmallVec<[usize; 4]>;

/// `src` as `Dims`. Up to rank 4 this fills the inline array whole, with no call to `memcpy` for
/// a length known only at run time: shapes are copied by every op, and on a small model's tensors
/// that call was a visible share of the per-op cost.
#[inline]
pub(crate) fn dims(src: &[usize]) -> Dims {
    dims_from(src.len(), |i| src[i])
}

/// The `Dims` of length `len` whose element `i` is `at(i)`, filled whole up to rank 4 (see
/// [`dims`]).
#[inline]
pub(crate) fn dims_from(len: usize, at: impl Fn(usize) -> usize) -> Dims {
    if len <= 4 {
        let buf: [usize; 4] = std::array::from_fn(|i| if i < len { at(i) } else { 0 });
        Dims::from_buf_and_len(buf, len)
    } else {
        (0..len).map(at).collect()
    }
}

/// Anything that names a shape: `[2, 3]`, `&[2, 3][..]`, `vec![2, 3]`, or `()` for a scalar.
pub trait IntoShape {
    /// The dimension sizes.
    fn into_dims(self) -> Dims;
}

impl<const N: usize> IntoShape for [usize; N] {
    fn into_dims(self) -> Dims {
        dims(&self)
    }
}

impl<const N: usize> IntoShape for &[usize; N] {
    fn into_dims(self) -> Dims {
        dims(self)
    }
}

impl IntoShape for &[usize] {
    fn into_dims(self) -> Dims {
        dims(self)
    }
}

impl IntoShape for Vec<usize> {
    fn into_dims(self) -> Dims {
        Dims::from_vec(self)
    }
}

impl IntoShape for &Vec<usize> {
    fn into_dims(self) -> Dims {
        dims(self)
    }
}

impl IntoShape for Dims {
    fn into_dims(self) -> Dims {
        self
    }
}

impl IntoShape for &Dims {
    fn into_dims(self) -> Dims {
        self.clone()
    }
}

impl IntoShape for () {
    fn into_dims(self) -> Dims {
        Dims::new()
    }
}

/// One axis: a `usize` counts from the front, a negative `isize`/`i32`/`i64` from the back.
pub trait Axis: Copy {
    /// Resolves the axis against a tensor of rank `rank`, panicking with the op's name if it is
    /// out of range.
    #[track_caller]
    fn resolve(self, op: &str, rank: usize) -> usize;

    /// Resolves a position at which an op inserts a new axis into a tensor of rank `rank`
    /// (`unsqueeze`, `stack`): `0..=rank`, or from the back `-1` (append) to `-(rank + 1)`. It
    /// panics with the op's name, the tensor's own rank and the valid positions if the position
    /// is out of range.
    ///
    /// The default resolves against `rank + 1` with `resolve`'s message; the implementations for
    /// `usize` and the signed integers give the message above.
    #[track_caller]
    fn resolve_insert(self, op: &str, rank: usize) -> usize {
        self.resolve(op, rank + 1)
    }
}

/// Panics for an axis out of range: `axis` as written, the tensor's `rank`, and the valid
/// axes, which number `count` (the rank, or one more for a new axis).
#[track_caller]
#[cold]
fn out_of_range(op: &str, axis: impl std::fmt::Display, rank: usize, count: usize) -> ! {
    let valid = if count == 0 {
        "it has no axes".to_string()
    } else {
        format!("valid: -{count}..={}", count - 1)
    };
    fail(
        op,
        format!("axis {axis} is out of range for a tensor of rank {rank} ({valid})"),
    )
}

impl Axis for usize {
    #[track_caller]
    fn resolve(self, op: &str, rank: usize) -> usize {
        if self >= rank {
            out_of_range(op, self, rank, rank);
        }
        self
    }

    #[track_caller]
    fn resolve_insert(self, op: &str, rank: usize) -> usize {
        if self > rank {
            out_of_range(op, self, rank, rank + 1);
        }
        self
    }
}

/// An axis given as a signed number, resolved against `count` axes, with `rank` for messages.
#[track_caller]
fn resolve_signed(
    a: i64,
    shown: impl std::fmt::Display,
    op: &str,
    rank: usize,
    count: usize,
) -> usize {
    let c = count as i64;
    if a >= c || a < -c {
        out_of_range(op, shown, rank, count);
    }
    if a < 0 {
        (a + c) as usize
    } else {
        a as usize
    }
}

macro_rules! signed_axis {
    ($($t:ty),*) => {$(
        impl Axis for $t {
            #[track_caller]
            fn resolve(self, op: &str, rank: usize) -> usize {
                resolve_signed(self as i64, self, op, rank, rank)
            }

            #[track_caller]
            fn resolve_insert(self, op: &str, rank: usize) -> usize {
                resolve_signed(self as i64, self, op, rank, rank + 1)
            }
        }
    )*};
}
signed_axis!(i32, i64, isize);

/// One axis or several: `1`, `-1`, `[0, 2]`, `&[0, 2][..]`, `vec![0, 2]`.
pub trait Axes {
    /// Resolves every axis, sorted ascending, panicking on an axis out of range or given twice.
    #[track_caller]
    fn resolve_all(&self, op: &str, rank: usize) -> Dims;
}

#[track_caller]
fn resolve_list<A: Axis>(axes: &[A], op: &str, rank: usize) -> Dims {
    let mut out: Dims = axes.iter().map(|a| a.resolve(op, rank)).collect();
    out.sort_unstable();
    if out.windows(2).any(|w| w[0] == w[1]) {
        fail(op, format!("an axis is given twice in {out:?}"));
    }
    out
}

impl<A: Axis> Axes for A {
    #[track_caller]
    fn resolve_all(&self, op: &str, rank: usize) -> Dims {
        Dims::from_slice(&[self.resolve(op, rank)])
    }
}

impl<A: Axis, const N: usize> Axes for [A; N] {
    #[track_caller]
    fn resolve_all(&self, op: &str, rank: usize) -> Dims {
        resolve_list(self, op, rank)
    }
}

impl<A: Axis> Axes for &[A] {
    #[track_caller]
    fn resolve_all(&self, op: &str, rank: usize) -> Dims {
        resolve_list(self, op, rank)
    }
}

impl<A: Axis> Axes for Vec<A> {
    #[track_caller]
    fn resolve_all(&self, op: &str, rank: usize) -> Dims {
        resolve_list(self, op, rank)
    }
}

/// The number of elements of a shape (1 for a scalar).
///
/// # Panics
/// If the count overflows `usize`.
#[track_caller]
#[inline]
pub fn numel(shape: &[usize]) -> usize {
    if shape.contains(&0) {
        return 0;
    }
    match shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) {
        Some(n) => n,
        None => too_large("numel", shape, OVERFLOW_COUNT),
    }
}

/// Row-major strides of a contiguous tensor of this shape.
///
/// # Panics
/// If a stride, or the element count, overflows `usize`.
#[track_caller]
#[inline]
pub fn contiguous_strides(shape: &[usize]) -> Dims {
    inline_strides(shape).unwrap_or_else(|| strides_by_loop(shape))
}

/// [`contiguous_strides`] of a shape of any rank, one axis at a time from the last.
#[track_caller]
fn strides_by_loop(shape: &[usize]) -> Dims {
    let mut strides = dims(shape);
    let mut acc: usize = 1;
    for s in strides.iter_mut().rev() {
        let d = *s;
        *s = acc;
        acc = match acc.checked_mul(d) {
            Some(next) => next,
            None => too_large("contiguous_strides", shape, overflow_reason(shape)),
        };
    }
    strides
}

/// [`contiguous_strides`] of a shape of rank ≤ 4 (`None` for a larger rank), computed in
/// registers and written once. Written one by one into the list, the strides were read back
/// at once, two to a 16-byte load, by the move of the list that followed; a load that spans two
/// recent stores waits for both to reach the cache, and that wait was most of the time every new
/// tensor of a small model spent on its layout.
#[track_caller]
#[inline(always)]
fn inline_strides(shape: &[usize]) -> Option<Dims> {
    let rank = shape.len();
    if rank > 4 {
        return None;
    }
    // The shape padded on the left with ones to rank 4, whose strides end with `shape`'s.
    let size = |axis: usize| {
        if axis + rank >= 4 {
            shape[axis + rank - 4]
        } else {
            1
        }
    };
    let s3 = 1;
    let s2 = size(3);
    let s1 = s2.checked_mul(size(2));
    let s0 = s1.and_then(|s1| s1.checked_mul(size(1)));
    // The element count must fit as well, as in `strides_by_loop`.
    let count = s0.and_then(|s0| s0.checked_mul(size(0)));
    let (Some(s1), Some(s0), Some(_)) = (s1, s0, count) else {
        too_large("contiguous_strides", shape, overflow_reason(shape))
    };
    let buf = match rank {
        0 => [0; 4],
        1 => [s3, 0, 0, 0],
        2 => [s2, s3, 0, 0],
        3 => [s1, s2, s3, 0],
        _ => [s0, s1, s2, s3],
    };
    Some(Dims::from_buf_and_len(buf, rank))
}

/// The element count of `shape` if a tensor of `T` of that shape can exist, else why not.
///
/// Taken from the back, the running product of the sizes is the stride of each next axis and in
/// the end the element count: none may overflow `usize`. (An empty shape such as `[2^62, 0]` has
/// strides `[0, 1]` and passes; `[0, 2^32, 2^32]` would need a stride of 2^64 and does not.) Then
/// the elements must fit in one buffer, which Rust caps at `isize::MAX` bytes, so every position
/// in bytes fits in `isize` as pointer arithmetic requires.
pub(crate) fn try_numel<T: Element>(shape: &[usize]) -> Result<usize, String> {
    let mut count: usize = 1;
    for &d in shape.iter().rev() {
        count = count
            .checked_mul(d)
            .ok_or_else(|| overflow_reason(shape).to_string())?;
    }
    let size = size_of::<T>();
    if count > isize::MAX as usize / size {
        return Err(format!(
            "its {count} elements of {} take {} bytes, more than a buffer can hold (isize::MAX)",
            T::NAME,
            count as u128 * size as u128
        ));
    }
    Ok(count)
}

/// The element count of `shape` for a tensor of `T`, panicking through [`fail`] with `op` and
/// the shape when no such tensor can exist (see [`try_numel`]).
#[track_caller]
pub(crate) fn checked_numel<T: Element>(op: &str, shape: &[usize]) -> usize {
    match try_numel::<T>(shape) {
        Ok(count) => count,
        Err(why) => too_large(op, shape, why),
    }
}

const OVERFLOW_COUNT: &str = "its element count overflows usize";

/// Why the running product of `shape`'s sizes overflowed: an empty shape has no element count
/// to overflow, only strides.
fn overflow_reason(shape: &[usize]) -> &'static str {
    if shape.contains(&0) {
        "its strides overflow usize"
    } else {
        OVERFLOW_COUNT
    }
}

#[track_caller]
#[cold]
fn too_large(op: &str, shape: &[usize], why: impl std::fmt::Display) -> ! {
    fail(
        op,
        format!("shape {} is too large: {why}", fmt_shape(shape)),
    )
}

/// The shape two shapes broadcast to under NumPy's rule: align from the back; each pair of sizes
/// must be equal or contain a 1.
///
/// ```
/// use shendu_tensor::broadcast_shapes;
/// assert_eq!(broadcast_shapes("add", &[4, 1, 3], &[2, 1]).as_slice(), &[4, 2, 3]);
/// ```
#[track_caller]
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Dims {
    let rank = a.len().max(b.len());
    let mut out = Dims::from_elem(0, rank);
    for i in 0..rank {
        let da = if i < rank - a.len() {
            1
        } else {
            a[i - (rank - a.len())]
        };
        let db = if i < rank - b.len() {
            1
        } else {
            b[i - (rank - b.len())]
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => fail(
                op,
                format!(
                    "shapes {} and {} do not broadcast: sizes {da} and {db} differ at axis {i} \
                     of the aligned shape, and neither is 1",
                    fmt_shape(a),
                    fmt_shape(b)
                ),
            ),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use std::panic::catch_unwind;

    use super::{inline_strides, strides_by_loop, Dims};

    #[test]
    fn inline_strides_match_the_loop_and_fail_where_it_fails() {
        // Every shape of rank ≤ 4 over sizes that make empty shapes, exact fits and overflows
        // of a stride or of the element count alone.
        let sizes = [0, 1, 3, 1 << 31, 1 << 32, usize::MAX];
        let mut shapes: Vec<Vec<usize>> = vec![vec![]];
        for rank in 1..=4 {
            let mut of_rank = vec![vec![]];
            for _ in 0..rank {
                of_rank = of_rank
                    .iter()
                    .flat_map(|s: &Vec<usize>| sizes.map(|d| [s.as_slice(), &[d]].concat()))
                    .collect();
            }
            shapes.extend(of_rank);
        }
        let (mut fits, mut overflows) = (0, 0);
        for shape in &shapes {
            let inline = catch_unwind(|| inline_strides(shape).expect("rank ≤ 4"));
            let by_loop = catch_unwind(|| strides_by_loop(shape));
            match (inline, by_loop) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{shape:?}");
                    assert!(!a.spilled());
                    fits += 1;
                }
                (Err(_), Err(_)) => overflows += 1,
                (a, b) => panic!("{shape:?}: inline {:?}, loop {:?}", a.ok(), b.ok()),
            }
        }
        assert!(
            fits > 100 && overflows > 100,
            "{fits} fit, {overflows} overflow"
        );
        assert_eq!(inline_strides(&[2, 3, 4, 5, 6]), None::<Dims>);
    }
}
