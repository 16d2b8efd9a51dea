//! The `Tensor` type: shared storage plus a layout, with its accessors and its views.
//!
//! Cloning a tensor, and every view below, shares the storage; nothing here copies elements except
//! [`Tensor::contiguous`] (and [`Tensor::reshape`] when the layout leaves no other way).

use crate::check::{fail, fmt_shape};
use crate::cpu::map::{map1, map1_strided_into};
use crate::element::Element;
use crate::layout::Layout;
use crate::shape::{checked_numel, dims, Axis, Dims, IntoShape};
use crate::storage::{Buffer, Storage};

/// An n-dimensional array of `T` (`f32` unless stated), row-major, with NumPy broadcasting.
///
/// A tensor is an `Arc` to its storage plus a [`Layout`] (shape, strides, offset), so cloning is
/// cheap and views share elements. Operations return new tensors; the in-place methods (`add_`,
/// `fill_`, …) copy first when the storage is shared, so a view never changes under a reader.
///
/// ```
/// use shendu_tensor::Tensor;
/// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]);
/// let b = Tensor::from_vec(vec![10.0, 20.0, 30.0], [3]);
/// assert_eq!((&a + &b).to_vec(), vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
/// assert_eq!(a.t().shape(), &[3, 2]);
/// ```
pub struct Tensor<T: Element = f32> {
    pub(crate) storage: Storage<T>,
    pub(crate) layout: Layout,
}

impl<T: Element> Clone for Tensor<T> {
    fn clone(&self) -> Self {
        Tensor {
            storage: self.storage.clone(),
            layout: self.layout.clone(),
        }
    }
}

impl<T: Element> Tensor<T> {
    /// A tensor of `data`'s elements, laid out row-major with `shape`. They are copied once, into
    /// the single allocation that holds a tensor's elements and its reference counts.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2]);
    /// assert_eq!(t.get(&[1, 0]), 3.0);
    /// ```
    #[track_caller]
    pub fn from_vec(data: Vec<T>, shape: impl IntoShape) -> Self {
        let shape = shape.into_dims();
        let count = checked_numel::<T>("from_vec", &shape);
        if data.len() != count {
            fail(
                "from_vec",
                format!(
                    "{} elements cannot fill shape {} ({count} elements)",
                    data.len(),
                    fmt_shape(&shape),
                ),
            );
        }
        Tensor {
            storage: Storage::copy_of(&data),
            layout: Layout::contiguous(shape),
        }
    }

    /// A tensor of rank 0 holding one value.
    pub fn scalar(value: T) -> Self {
        Tensor {
            storage: Storage::copy_of(&[value]),
            layout: Layout::contiguous(Dims::new()),
        }
    }

    /// A tensor over a kernel's freshly written output.
    pub(crate) fn from_parts(data: Buffer<T>, layout: Layout) -> Self {
        Tensor {
            storage: data.into_storage(),
            layout,
        }
    }

    /// A new tensor over the same storage with another layout.
    pub(crate) fn with_layout(&self, layout: Layout) -> Self {
        Tensor {
            storage: self.storage.clone(),
            layout,
        }
    }

    /// The storage and the layout, for kernels.
    pub(crate) fn parts(&self) -> (&[T], &Layout) {
        (self.storage.as_slice(), &self.layout)
    }

    /// Dimension sizes, outermost first.
    pub fn shape(&self) -> &[usize] {
        self.layout.shape()
    }

    /// Number of axes (0 for a scalar).
    pub fn rank(&self) -> usize {
        self.layout.rank()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.layout.numel()
    }

    /// Shape, strides and offset within the storage.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Whether two tensors are views of the same storage.
    pub fn shares_storage(&self, other: &Tensor<T>) -> bool {
        self.storage.same_as(&other.storage)
    }

    /// Whether another tensor (a clone, a view, a tape's node or var) holds this tensor's storage
    /// too. An in-place update (`add_`, `scaled_add_`, …) of a tensor whose storage is shared
    /// copies it first, so that the others never see the change: check this before an update
    /// that should happen in place.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let w = Tensor::<f32>::zeros([3]);
    /// assert!(!w.is_storage_shared());
    /// let view = w.t();
    /// assert!(w.is_storage_shared());
    /// drop(view);
    /// assert!(!w.is_storage_shared());
    /// ```
    pub fn is_storage_shared(&self) -> bool {
        self.storage.owners() > 1
    }

    /// The address of the first element, as PyTorch's `data_ptr`: equal for two tensors that view
    /// the same elements, unchanged by an in-place update that did not copy. Meant for identity
    /// checks, not for reading.
    pub fn data_ptr(&self) -> *const T {
        self.storage
            .as_slice()
            .as_ptr()
            .wrapping_add(self.layout.offset())
    }

    /// Whether the elements sit in row-major order without gaps.
    pub fn is_contiguous(&self) -> bool {
        self.layout.is_contiguous()
    }

    /// The elements in row-major order as a slice, when the tensor is contiguous.
    pub fn as_slice(&self) -> Option<&[T]> {
        let (data, layout) = self.parts();
        layout
            .is_contiguous()
            .then(|| &data[layout.offset()..layout.offset() + layout.numel()])
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<T> {
        match self.as_slice() {
            Some(slice) => slice.to_vec(),
            None => {
                let (data, layout) = self.parts();
                let n = layout.numel();
                let mut out = Vec::with_capacity(n);
                map1_strided_into(data, layout, |x| x, &mut out.spare_capacity_mut()[..n]);
                // SAFETY: `map1_strided_into` wrote every one of the first n slots.
                unsafe { out.set_len(n) };
                out
            }
        }
    }

    /// The elements in row-major order, in a fresh buffer for a kernel to update.
    pub(crate) fn to_buffer(&self) -> Buffer<T> {
        match self.as_slice() {
            Some(slice) => Buffer::copy_of(slice),
            None => {
                let (data, layout) = self.parts();
                map1(data, layout, |x| x)
            }
        }
    }

    /// The single element of a tensor with one element (of any rank).
    #[track_caller]
    pub fn item(&self) -> T {
        if self.numel() != 1 {
            fail(
                "item",
                format!(
                    "a tensor of shape {} has {} elements, not 1",
                    fmt_shape(self.shape()),
                    self.numel()
                ),
            );
        }
        self.storage.as_slice()[self.layout.offset()]
    }

    /// The element at a multi-index.
    #[track_caller]
    pub fn get(&self, index: &[usize]) -> T {
        self.storage.as_slice()[self.layout.position("get", index)]
    }

    /// This tensor if it is contiguous (sharing storage), else a contiguous copy.
    pub fn contiguous(&self) -> Tensor<T> {
        if self.is_contiguous() {
            return self.clone();
        }
        let (data, layout) = self.parts();
        Self::from_parts(
            map1(data, layout, |x| x),
            Layout::contiguous(dims(self.shape())),
        )
    }

    /// The same elements, in row-major order, with another shape of equal element count.
    /// A view when the layout allows (always for a contiguous tensor), a copy otherwise.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::<f32>::arange(6).reshape([2, 3]);
    /// assert_eq!(t.t().reshape([6]).to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn reshape(&self, shape: impl IntoShape) -> Tensor<T> {
        let shape = shape.into_dims();
        let count = checked_numel::<T>("reshape", &shape);
        if count != self.numel() {
            fail(
                "reshape",
                format!(
                    "cannot reshape {} ({} elements) to {} ({count} elements)",
                    fmt_shape(self.shape()),
                    self.numel(),
                    fmt_shape(&shape),
                ),
            );
        }
        match self.layout.reshape_view(&shape) {
            Some(layout) => self.with_layout(layout),
            None => self.contiguous().with_layout(Layout::contiguous(shape)),
        }
    }

    /// Flattens to one axis (a view when contiguous).
    pub fn flatten(&self) -> Tensor<T> {
        self.reshape([self.numel()])
    }

    /// Swaps two axes (a view).
    #[track_caller]
    pub fn transpose(&self, a: impl Axis, b: impl Axis) -> Tensor<T> {
        self.with_layout(self.layout.transpose(a, b))
    }

    /// Swaps the last two axes (a view); the identity on tensors of rank below 2.
    pub fn t(&self) -> Tensor<T> {
        if self.rank() < 2 {
            return self.clone();
        }
        self.with_layout(self.layout.transpose(self.rank() - 2, self.rank() - 1))
    }

    /// Reorders the axes: axis `i` of the result is axis `perm[i]` of `self` (a view).
    #[track_caller]
    pub fn permute(&self, perm: &[usize]) -> Tensor<T> {
        self.with_layout(self.layout.permute(perm))
    }

    /// Repeats axes of size 1 (and prepends axes) to reach `shape`, NumPy style (a view: the
    /// repeated axes have stride 0).
    ///
    /// The view must be able to exist as a tensor of its own: its element count and size in
    /// bytes are checked as a fresh tensor's are, so that copying it can never overflow.
    #[track_caller]
    pub fn broadcast_to(&self, shape: impl IntoShape) -> Tensor<T> {
        let shape = shape.into_dims();
        checked_numel::<T>("broadcast_to", &shape);
        self.with_layout(self.layout.broadcast_to("broadcast_to", &shape))
    }

    /// Removes `axis`, which must have size 1 (a view).
    #[track_caller]
    pub fn squeeze(&self, axis: impl Axis) -> Tensor<T> {
        self.with_layout(self.layout.squeeze(axis))
    }

    /// Removes every axis of size 1 (a view).
    pub fn squeeze_all(&self) -> Tensor<T> {
        self.with_layout(self.layout.squeeze_all())
    }

    /// Inserts an axis of size 1 before position `axis`, one of `0..=rank`, or from the back
    /// `-1` (which appends one) to `-(rank + 1)` (a view).
    #[track_caller]
    pub fn unsqueeze(&self, axis: impl Axis) -> Tensor<T> {
        self.with_layout(self.layout.unsqueeze(axis))
    }

    /// Keeps `len` entries of `axis` starting at `start` (a view).
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::<f32>::arange(6).reshape([2, 3]);
    /// assert_eq!(t.narrow(1, 1, 2).to_vec(), vec![1.0, 2.0, 4.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn narrow(&self, axis: impl Axis, start: usize, len: usize) -> Tensor<T> {
        self.with_layout(self.layout.narrow(axis, start, len))
    }

    /// The slice at `index` along `axis`, that axis removed (a view): PyTorch's `select`,
    /// `x[.., index, ..]`.
    ///
    /// ```
    /// # use shendu_tensor::Tensor;
    /// let t = Tensor::<f32>::arange(6).reshape([2, 3]);
    /// assert_eq!(t.select(0, 1).to_vec(), vec![3.0, 4.0, 5.0]);
    /// assert_eq!(t.select(-1, 0).to_vec(), vec![0.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn select(&self, axis: impl Axis, index: usize) -> Tensor<T> {
        let axis = axis.resolve("select", self.rank());
        let size = self.shape()[axis];
        if index >= size {
            fail(
                "select",
                format!(
                    "index {index} is out of range for axis {axis} of size {size} in shape {}",
                    fmt_shape(self.shape())
                ),
            );
        }
        self.narrow(axis, index, 1).squeeze(axis)
    }

    /// Converts every element to another element type.
    ///
    /// # Panics
    /// If the shape is too large for the new type (a wider type needs more bytes).
    #[track_caller]
    pub fn cast<U: Element>(&self) -> Tensor<U> {
        let data = self
            .to_vec()
            .into_iter()
            .map(|x| U::from_f64_lossy(x.to_f64_exact()))
            .collect();
        Tensor::from_vec(data, self.shape())
    }
}
