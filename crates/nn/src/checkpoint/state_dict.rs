//! `StateDict`: the named contents of a checkpoint file, in memory.
//!
//! A state dict holds what shendu puts in a safetensors file: tensors of one float type (a
//! model's parameters and buffers, an optimizer's moments), counters (integer state such as
//! BatchNorm's `num_batches_tracked`, stored as 0-d `I64` tensors as PyTorch stores them), and
//! scalars (an optimizer's step count, learning rate, RNG words) in the header's `__metadata__`
//! string map. Scalars live in the header and not as 0-d tensors so that a file's tensors stay
//! exactly a model's state_dict (PyTorch's strict load sees no extra key) and so that an `f64`
//! scalar cannot be mistaken for a 0-d tensor of an `f64` model; they are written in Rust's
//! shortest round-trip form, so that every value reads back bit for bit (NaN as NaN), and read in
//! Python with `float(...)` or `int(...)`.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::Dtype;
use shendu_tensor::{Element, Tensor};

use super::atomic::write_atomically;
use super::error::{CheckpointError, ErrorKind};
use super::format::{decode, float_dtype, get_floats, put_floats, Encoder, Payload};
use super::EntryKind;

/// Named tensors of `T`, named counters and named scalars: a model's state or an optimizer's,
/// as a safetensors file holds it.
///
/// ```
/// use shendu_nn::StateDict;
/// use shendu_tensor::Tensor;
///
/// let mut state = StateDict::<f32>::new();
/// state.insert("0.weight.exp_avg", Tensor::from_vec(vec![0.5, -0.25], [2]));
/// state.insert_u64("step", 10);
/// state.insert_f64("lr", 1e-3);
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("optimizer.safetensors");
/// state.write(&path)?;
/// let back = StateDict::<f32>::read(&path)?;
/// assert_eq!(back.tensor("0.weight.exp_avg")?.to_vec(), vec![0.5, -0.25]);
/// assert_eq!(back.u64("step")?, 10);
/// assert_eq!(back.f64("lr")?, 1e-3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct StateDict<T: Element = f32> {
    tensors: BTreeMap<String, Tensor<T>>,
    counters: BTreeMap<String, u64>,
    metadata: BTreeMap<String, String>,
}

impl<T: Element> Default for StateDict<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> PartialEq for StateDict<T> {
    /// Equal names, shapes, element bits (so a NaN equals the same NaN), counters and metadata:
    /// the same file.
    fn eq(&self, other: &Self) -> bool {
        let same_tensor = |a: &Tensor<T>, b: &Tensor<T>| {
            let (mut a_bytes, mut b_bytes) = (Vec::new(), Vec::new());
            put_floats(&a.to_vec(), &mut a_bytes);
            put_floats(&b.to_vec(), &mut b_bytes);
            a.shape() == b.shape() && a_bytes == b_bytes
        };
        self.counters == other.counters
            && self.metadata == other.metadata
            && self.tensors.len() == other.tensors.len()
            && self
                .tensors
                .iter()
                .zip(&other.tensors)
                .all(|((a_name, a), (b_name, b))| a_name == b_name && same_tensor(a, b))
    }
}

impl<T: Element> StateDict<T> {
    /// An empty state dict.
    pub fn new() -> Self {
        StateDict {
            tensors: BTreeMap::new(),
            counters: BTreeMap::new(),
            metadata: BTreeMap::new(),
        }
    }

    /// Stores `tensor` under `name`, replacing whatever tensor or counter had that name.
    pub fn insert(&mut self, name: impl Into<String>, tensor: Tensor<T>) {
        let name = name.into();
        self.counters.remove(&name);
        self.tensors.insert(name, tensor);
    }

    /// Stores the counter `value` under `name` (a 0-d `I64` tensor in the file), replacing
    /// whatever tensor or counter had that name. Writing fails for a value above `i64::MAX`.
    pub fn insert_counter(&mut self, name: impl Into<String>, value: u64) {
        let name = name.into();
        self.tensors.remove(&name);
        self.counters.insert(name, value);
    }

    /// Stores the scalar `value` under `key` in the header, replacing the key's previous text.
    pub fn insert_f64(&mut self, key: impl Into<String>, value: f64) {
        // `{:?}` is the shortest text that parses back to the same f64, and always shows a
        // decimal point or an exponent, so that it never reads as a `u64` by mistake.
        self.metadata.insert(key.into(), format!("{value:?}"));
    }

    /// Stores the scalar `value` under `key` in the header, replacing the key's previous text.
    pub fn insert_u64(&mut self, key: impl Into<String>, value: u64) {
        self.metadata.insert(key.into(), value.to_string());
    }

    /// Stores a text under `key` in the header (as `safetensors.torch.save_model` records a
    /// tied weight's dropped name), replacing the key's previous text.
    pub fn insert_text(&mut self, key: impl Into<String>, text: impl Into<String>) {
        self.metadata.insert(key.into(), text.into());
    }

    /// The tensor `name`.
    pub fn tensor(&self, name: &str) -> Result<&Tensor<T>, CheckpointError> {
        self.tensors
            .get(name)
            .ok_or_else(|| missing(name, "tensor"))
    }

    /// The counter `name`.
    pub fn counter(&self, name: &str) -> Result<u64, CheckpointError> {
        self.counters
            .get(name)
            .copied()
            .ok_or_else(|| missing(name, "counter"))
    }

    /// The scalar `key`, as an `f64` (one stored by [`insert_u64`](Self::insert_u64) reads too,
    /// rounded to the nearest `f64`).
    pub fn f64(&self, key: &str) -> Result<f64, CheckpointError> {
        let text = self.text(key)?;
        text.parse().map_err(|_| scalar_error(key, text, "f64"))
    }

    /// The scalar `key`, as a `u64`.
    pub fn u64(&self, key: &str) -> Result<u64, CheckpointError> {
        let text = self.text(key)?;
        text.parse().map_err(|_| scalar_error(key, text, "u64"))
    }

    /// The header text under `key`.
    pub fn text(&self, key: &str) -> Result<&str, CheckpointError> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| missing(key, "scalar"))
    }

    /// The tensors, by name in sorted order.
    pub fn tensors(&self) -> impl Iterator<Item = (&str, &Tensor<T>)> {
        self.tensors.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// The counters, by name in sorted order.
    pub fn counters(&self) -> impl Iterator<Item = (&str, u64)> {
        self.counters.iter().map(|(n, &v)| (n.as_str(), v))
    }

    /// The header's texts (scalars included), by key in sorted order.
    pub fn metadata(&self) -> impl Iterator<Item = (&str, &str)> {
        self.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The tensors, converted to `U` (rounding to nearest, as PyTorch's `.to(dtype)`), with the
    /// counters and the metadata: how an `f64` checkpoint loads into an `f32` model, or back.
    ///
    /// ```
    /// use shendu_nn::StateDict;
    /// use shendu_tensor::Tensor;
    /// let mut precise = StateDict::<f64>::new();
    /// precise.insert("w", Tensor::from_vec(vec![0.1], [1]));
    /// assert_eq!(precise.cast::<f32>().tensor("w").unwrap().to_vec(), vec![0.1f32]);
    /// ```
    pub fn cast<U: Element>(&self) -> StateDict<U> {
        StateDict {
            tensors: self
                .tensors
                .iter()
                .map(|(n, t)| (n.clone(), t.cast::<U>()))
                .collect(),
            counters: self.counters.clone(),
            metadata: self.metadata.clone(),
        }
    }

    /// The number of tensors and counters (scalars not included).
    pub fn len(&self) -> usize {
        self.tensors.len() + self.counters.len()
    }

    /// Whether there is no tensor and no counter.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `name` holds a tensor or a counter.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name) || self.counters.contains_key(name)
    }

    /// The contents of a safetensors file with these entries. Fails only for a counter above
    /// `i64::MAX`, a tensor named `__metadata__`, or a header above the format's 100 MB.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CheckpointError> {
        Ok(self.encoder()?.to_bytes())
    }

    /// Writes the safetensors file `path` atomically: to a temporary file beside it, synced to
    /// the disk, then renamed over `path`. A crash leaves the old file or the new one whole.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        let path = path.as_ref();
        let encoder = self.encoder().map_err(|e| e.in_file(path))?;
        write_atomically(path, |out| encoder.write_to(out))
            .map_err(|e| CheckpointError::io(path, "write the file", e))
    }

    /// Reads a state dict from a safetensors file's bytes: tensors of `T`'s float type, 0-d
    /// `I64` counters, the header's metadata. Any other content (another float type, `BF16`, an
    /// `I64` that is not 0-d, a negative counter), and any damage to the header or the layout,
    /// is an error naming the tensor or the bytes at fault; bytes never make it panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let (state, others) = Self::from_bytes_with_others(bytes)?;
        match others.into_iter().next() {
            None => Ok(state),
            Some((name, kind)) => Err(dtype_error::<T>(name, &kind)),
        }
    }

    /// [`from_bytes`](Self::from_bytes), with the tensors of a type `T` cannot hold set aside
    /// (by name, with their type and shape) rather than failing: a model's load reports each of
    /// them beside its other differences, and a non-strict load loads the rest.
    pub(crate) fn from_bytes_with_others(
        bytes: &[u8],
    ) -> Result<(Self, BTreeMap<String, EntryKind>), CheckpointError> {
        let decoded = decode(bytes)?;
        let mut state = StateDict::new();
        let mut others = BTreeMap::new();
        state.metadata = decoded.metadata;
        for raw in decoded.tensors {
            let name = raw.name;
            if raw.dtype == float_dtype::<T>() {
                let values = get_floats::<T>(raw.data);
                state
                    .tensors
                    .insert(name, Tensor::from_vec(values, raw.shape));
            } else if raw.dtype == Dtype::I64 && raw.shape.is_empty() {
                let mut word = [0u8; 8];
                word.copy_from_slice(raw.data);
                let value = i64::from_le_bytes(word);
                let value = u64::try_from(value).map_err(|_| {
                    CheckpointError::tensor(
                        &name,
                        format!("a counter of {value}, but counters are never negative"),
                    )
                })?;
                state.counters.insert(name, value);
            } else {
                let kind = EntryKind::Tensor {
                    dtype: raw.dtype.to_string(),
                    shape: raw.shape,
                };
                others.insert(name, kind);
            }
        }
        Ok((state, others))
    }

    /// [`read`](Self::read), with the tensors of other types set aside as
    /// [`from_bytes_with_others`](Self::from_bytes_with_others) does.
    pub(crate) fn read_with_others(
        path: &Path,
    ) -> Result<(Self, BTreeMap<String, EntryKind>), CheckpointError> {
        let bytes = std::fs::read(path).map_err(|e| CheckpointError::io(path, "read", e))?;
        Self::from_bytes_with_others(&bytes).map_err(|e| e.in_file(path))
    }

    /// Reads the safetensors file `path` (see [`from_bytes`](Self::from_bytes)).
    pub fn read(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| CheckpointError::io(path, "read", e))?;
        Self::from_bytes(&bytes).map_err(|e| e.in_file(path))
    }

    fn encoder(&self) -> Result<Encoder<'_, T>, CheckpointError> {
        let mut entries = Vec::with_capacity(self.len());
        for (name, tensor) in &self.tensors {
            entries.push((name.as_str(), Payload::Float(tensor)));
        }
        for (name, &value) in &self.counters {
            let value = i64::try_from(value).map_err(|_| {
                CheckpointError::tensor(
                    name,
                    format!("the counter {value} does not fit the file's I64 (PyTorch's int64)"),
                )
            })?;
            entries.push((name.as_str(), Payload::I64(value)));
        }
        Encoder::new(entries, &self.metadata)
    }
}

/// The error for a tensor of a type a `StateDict<T>` cannot hold, with the way out when it is
/// the other float type.
fn dtype_error<T: Element>(name: String, kind: &EntryKind) -> CheckpointError {
    let this = float_dtype::<T>();
    let (found, shape) = match kind {
        EntryKind::Tensor { dtype, shape } => (dtype.as_str(), shape.as_slice()),
        EntryKind::Counter => ("I64", &[][..]),
    };
    let hint = match found {
        "F32" => " (read it as StateDict<f32> and cast it)",
        "F64" => " (read it as StateDict<f64> and cast it)",
        _ => "",
    };
    ErrorKind::Dtype {
        name,
        found: format!("{found} of shape {shape:?}"),
        expected: format!("{this} tensors and 0-d I64 counters{hint}"),
    }
    .into()
}

fn missing(name: &str, what: &'static str) -> CheckpointError {
    ErrorKind::Missing {
        name: name.to_string(),
        what,
    }
    .into()
}

fn scalar_error(name: &str, text: &str, expected: &'static str) -> CheckpointError {
    ErrorKind::Scalar {
        name: name.to_string(),
        text: text.to_string(),
        expected,
    }
    .into()
}
