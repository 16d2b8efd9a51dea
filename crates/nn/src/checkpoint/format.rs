//! The safetensors format, as shendu writes and reads it.
//!
//! A file is an 8-byte little-endian header length, a JSON header (`{"name": {"dtype": "F32",
//! "shape": [8, 4], "data_offsets": [0, 128]}, …}`, with an optional `"__metadata__"` map of
//! strings), padded with spaces to a multiple of 8 bytes, then the tensors' bytes, little-endian
//! and row-major, tiling the rest of the file.
//!
//! Writing lays the file out exactly as the `safetensors` crate does (entries sorted by dtype
//! alignment, then by name; the same JSON; the same padding), so its files are byte for byte
//! those of `safetensors.torch.save_file`, with one difference: the metadata map is written
//! sorted by key, where the crate writes it in hash order. Equal state dicts make equal files.
//!
//! Reading checks the header first, here, so that every problem is an error naming the tensor
//! or the bytes at fault; then the `safetensors` crate parses the checked bytes and hands out the
//! tensors' data. The order matters: on a header whose tensors' offsets add up to nearly
//! `usize::MAX` the crate's own check computes `end + 8 + header_len` unchecked, which panics
//! in a build with overflow checks (tests, debug builds); ours has already rejected that header.

use std::collections::BTreeMap;
use std::io::{self, Write};

use safetensors::tensor::TensorInfo;
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use shendu_tensor::{Element, Tensor};

use super::error::{CheckpointError, ErrorKind};
use crate::check::fail;

/// The largest header the `safetensors` crate reads (100 MB); a longer one is refused on both
/// sides, so that a reader never allocates a header's worth of memory on a length field's word.
pub(crate) const MAX_HEADER_LEN: usize = 100_000_000;

/// The header key of the string map that is not a tensor.
pub(crate) const METADATA_KEY: &str = "__metadata__";

/// The file dtype of `T`'s elements.
///
/// # Panics
/// For an element type other than `f32` and `f64`: its bytes would need a conversion of their
/// own (a new `Element` must be taught to the checkpoint code first).
#[track_caller]
pub(crate) fn float_dtype<T: Element>() -> Dtype {
    match T::NAME {
        "f32" => Dtype::F32,
        "f64" => Dtype::F64,
        other => fail(
            "checkpoint",
            format!("no safetensors dtype for elements of {other}"),
        ),
    }
}

/// What one entry of a file to write holds.
pub(crate) enum Payload<'a, T: Element> {
    /// A tensor of `T`, written as `T`'s dtype.
    Float(&'a Tensor<T>),
    /// A 0-d `I64` tensor (a counter, as PyTorch stores `num_batches_tracked`).
    I64(i64),
}

impl<T: Element> Payload<'_, T> {
    fn dtype(&self) -> Dtype {
        match self {
            Payload::Float(_) => float_dtype::<T>(),
            Payload::I64(_) => Dtype::I64,
        }
    }

    fn shape(&self) -> &[usize] {
        match self {
            Payload::Float(t) => t.shape(),
            Payload::I64(_) => &[],
        }
    }

    fn byte_len(&self) -> usize {
        match self {
            // A tensor that exists has a size in bytes that fits (the tensor crate checks it).
            Payload::Float(t) => t.numel() * size_of::<T>(),
            Payload::I64(_) => 8,
        }
    }
}

/// A file laid out and ready to write: the length field and header, then the entries in order.
pub(crate) struct Encoder<'a, T: Element> {
    head: Vec<u8>,
    entries: Vec<(&'a str, Payload<'a, T>)>,
}

impl<'a, T: Element> Encoder<'a, T> {
    /// Lays out `entries` and `metadata` as the `safetensors` crate would.
    pub(crate) fn new(
        mut entries: Vec<(&'a str, Payload<'a, T>)>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Self, CheckpointError> {
        entries.sort_by(|(a_name, a), (b_name, b)| {
            b.dtype().cmp(&a.dtype()).then_with(|| a_name.cmp(b_name))
        });
        let mut json = String::from("{");
        if !metadata.is_empty() {
            let map = serde_json::to_string(metadata).map_err(json_error)?;
            json.push_str(&format!("{}:{map}", quote(METADATA_KEY)));
        }
        let mut offset = 0usize;
        for (name, payload) in &entries {
            if *name == METADATA_KEY {
                return Err(CheckpointError::tensor(
                    name,
                    "the format reserves this name for the header's metadata map",
                ));
            }
            // In-memory tensors cannot add up past usize::MAX bytes; checked all the same.
            let end = offset.checked_add(payload.byte_len()).ok_or_else(|| {
                CheckpointError::tensor(name, "the tensors' sizes add up past usize::MAX bytes")
            })?;
            let info = TensorInfo {
                dtype: payload.dtype(),
                shape: payload.shape().to_vec(),
                data_offsets: (offset, end),
            };
            if json.len() > 1 {
                json.push(',');
            }
            let info = serde_json::to_string(&info).map_err(json_error)?;
            json.push_str(&format!("{}:{info}", quote(name)));
            offset = end;
        }
        json.push('}');
        let padded = json.len().next_multiple_of(8);
        if padded > MAX_HEADER_LEN {
            return Err(CheckpointError::header(format!(
                "{padded} bytes long, more than the {MAX_HEADER_LEN} a reader accepts"
            )));
        }
        let mut head = Vec::with_capacity(8 + padded);
        head.extend_from_slice(&(padded as u64).to_le_bytes());
        head.extend_from_slice(json.as_bytes());
        head.resize(8 + padded, b' ');
        Ok(Encoder { head, entries })
    }

    /// Writes the file to `out`.
    pub(crate) fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(&self.head)?;
        // Converted a block at a time: one write call per element would dominate the cost.
        let mut block = Vec::with_capacity(BLOCK * 8);
        for (_, payload) in &self.entries {
            match payload {
                Payload::Float(t) => {
                    let owned;
                    let values = match t.as_slice() {
                        Some(values) => values,
                        None => {
                            owned = t.to_vec();
                            &owned
                        }
                    };
                    for chunk in values.chunks(BLOCK) {
                        block.clear();
                        put_floats(chunk, &mut block);
                        out.write_all(&block)?;
                    }
                }
                Payload::I64(v) => out.write_all(&v.to_le_bytes())?,
            }
        }
        Ok(())
    }

    /// The file's bytes.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.write_to(&mut bytes)
            .expect("writing to a Vec cannot fail");
        bytes
    }
}

const BLOCK: usize = 8192;

fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn json_error(e: serde_json::Error) -> CheckpointError {
    CheckpointError::header(e.to_string())
}

/// Appends `values` as `T`'s dtype, little-endian. For `f32` and `f64` the conversion to the
/// file's type is the identity, so every bit is kept, NaN payloads included.
pub(crate) fn put_floats<T: Element>(values: &[T], out: &mut Vec<u8>) {
    if float_dtype::<T>() == Dtype::F32 {
        for x in values {
            out.extend_from_slice(&x.to_f32().unwrap_or(f32::NAN).to_le_bytes());
        }
    } else {
        for x in values {
            out.extend_from_slice(&x.to_f64().unwrap_or(f64::NAN).to_le_bytes());
        }
    }
}

/// The elements of `bytes`, of `T`'s own dtype, as `T` (bit for bit).
pub(crate) fn get_floats<T: Element>(bytes: &[u8]) -> Vec<T> {
    if float_dtype::<T>() == Dtype::F32 {
        bytes
            .chunks_exact(4)
            .map(|b| {
                let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                T::from_f32(x).unwrap_or_else(T::nan)
            })
            .collect()
    } else {
        bytes
            .chunks_exact(8)
            .map(|b| {
                let x = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                T::from_f64(x).unwrap_or_else(T::nan)
            })
            .collect()
    }
}

/// One tensor of a file that passed every check: its bytes hold exactly its dtype and shape.
pub(crate) struct RawTensor<'a> {
    pub(crate) name: String,
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) data: &'a [u8],
}

/// The contents of a file that passed every check.
pub(crate) struct Decoded<'a> {
    pub(crate) tensors: Vec<RawTensor<'a>>,
    pub(crate) metadata: BTreeMap<String, String>,
}

/// A tensor's header entry, checked on its own.
struct Declared {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    begin: usize,
    end: usize,
}

/// Reads a safetensors file's bytes: every problem, whatever the bytes, is an error.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded<'_>, CheckpointError> {
    let Some((len_field, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(ErrorKind::TooShort { len: bytes.len() }.into());
    };
    let header_len = u64::from_le_bytes(*len_field);
    let header = usize::try_from(header_len)
        .ok()
        .and_then(|n| rest.get(..n))
        .ok_or(ErrorKind::HeaderLength {
            header_len,
            available: rest.len(),
        })?;
    if header.len() > MAX_HEADER_LEN {
        return Err(CheckpointError::header(format!(
            "its length field says {} bytes, more than the {MAX_HEADER_LEN} a reader accepts",
            header.len()
        )));
    }
    let data_len = rest.len() - header.len();
    let text = std::str::from_utf8(header).map_err(|e| {
        CheckpointError::header(format!(
            "not UTF-8 text: byte {} of the header is not",
            e.valid_up_to()
        ))
    })?;
    let json: Value = serde_json::from_str(text)
        .map_err(|e| CheckpointError::header(format!("not JSON: {e}")))?;
    let Value::Object(object) = json else {
        return Err(CheckpointError::header(format!(
            "a JSON {}, not an object of tensors",
            json_kind(&json)
        )));
    };

    let mut metadata = BTreeMap::new();
    let mut declared = Vec::with_capacity(object.len());
    for (name, entry) in &object {
        if name == METADATA_KEY {
            metadata = parse_metadata(entry)?;
        } else {
            declared.push(parse_entry(name, entry)?);
        }
    }
    check_tiling(&mut declared, data_len)?;

    // Now the crate's own parser: the offsets add up to the data's length, so it cannot
    // overflow, and it must agree.
    let file = SafeTensors::deserialize(bytes).map_err(ErrorKind::Library)?;
    let mut tensors = Vec::with_capacity(declared.len());
    for d in declared {
        let view = file.tensor(&d.name).map_err(ErrorKind::Library)?;
        tensors.push(RawTensor {
            data: view.data(),
            name: d.name,
            dtype: d.dtype,
            shape: d.shape,
        });
    }
    Ok(Decoded { tensors, metadata })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn parse_metadata(entry: &Value) -> Result<BTreeMap<String, String>, CheckpointError> {
    let not_strings = || {
        CheckpointError::header(format!(
            "`{METADATA_KEY}` is not a map of strings to strings"
        ))
    };
    match entry {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(not_strings()),
            })
            .collect(),
        _ => Err(not_strings()),
    }
}

/// Checks one tensor's entry: a known dtype, a shape whose element count and byte size fit in
/// `usize`, and offsets holding exactly that many bytes.
fn parse_entry(name: &str, entry: &Value) -> Result<Declared, CheckpointError> {
    let fail = |problem: String| CheckpointError::tensor(name, problem);
    let Value::Object(fields) = entry else {
        return Err(fail(format!(
            "its header entry is a JSON {}, not an object with dtype, shape and data_offsets",
            json_kind(entry)
        )));
    };
    let field = |key: &str| {
        fields
            .get(key)
            .ok_or_else(|| fail(format!("its header entry has no `{key}`")))
    };
    let dtype = match field("dtype")? {
        Value::String(s) => serde_json::from_value::<Dtype>(Value::String(s.clone()))
            .map_err(|_| fail(format!("unknown dtype {s:?}")))?,
        other => return Err(fail(format!("its dtype is {other}, not a string"))),
    };
    let shape_field = field("shape")?;
    let shape = sizes(shape_field)
        .ok_or_else(|| fail(format!("its shape {shape_field} is not a list of sizes")))?;
    let offsets = field("data_offsets")?;
    let (begin, end) = match sizes(offsets).as_deref() {
        Some(&[begin, end]) => (begin, end),
        _ => {
            return Err(fail(format!(
                "its data_offsets {offsets} are not a pair of byte offsets"
            )))
        }
    };
    // The count must be computable from the front (as the safetensors crate does) and from
    // the back (the strides, as the tensor crate does): `[0, 2^40, 2^40]` passes neither.
    let from_front = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let from_back = shape
        .iter()
        .rev()
        .try_fold(1usize, |n, &d| n.checked_mul(d));
    let bits = from_front
        .zip(from_back)
        .and_then(|(count, _)| count.checked_mul(dtype.bitsize()))
        .ok_or_else(|| {
            fail(format!(
                "shape {shape:?}: its element count overflows usize"
            ))
        })?;
    if bits % 8 != 0 {
        return Err(fail(format!(
            "{bits} bits of {dtype} (shape {shape:?}) do not end on a byte boundary"
        )));
    }
    if end < begin {
        return Err(fail(format!(
            "its data_offsets [{begin}, {end}] end before they begin"
        )));
    }
    if end - begin != bits / 8 {
        return Err(fail(format!(
            "a {dtype} tensor of shape {shape:?} takes {} bytes, but its data_offsets \
             [{begin}, {end}] hold {}",
            bits / 8,
            end - begin
        )));
    }
    Ok(Declared {
        name: name.to_string(),
        dtype,
        shape,
        begin,
        end,
    })
}

/// A JSON list of non-negative integers that fit in `usize`.
fn sizes(value: &Value) -> Option<Vec<usize>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_u64().and_then(|n| usize::try_from(n).ok()))
        .collect()
}

/// Checks that the tensors' byte ranges, sorted, tile the data section exactly.
fn check_tiling(declared: &mut [Declared], data_len: usize) -> Result<(), CheckpointError> {
    declared.sort_by(|a, b| (a.begin, a.end, &a.name).cmp(&(b.begin, b.end, &b.name)));
    let mut at = 0usize;
    let mut previous: Option<&Declared> = None;
    for d in declared.iter() {
        let range = format!("`{}` [{}, {}]", d.name, d.begin, d.end);
        if d.begin < at {
            let p = previous.map_or(String::new(), |p| {
                format!(" `{}` [{}, {}]", p.name, p.begin, p.end)
            });
            return Err(CheckpointError::data(format!("{range} overlaps{p}")));
        }
        if d.begin > at {
            let after = previous.map_or("the start".to_string(), |p| format!("`{}`", p.name));
            return Err(CheckpointError::data(format!(
                "bytes {at}..{} between {after} and `{}` belong to no tensor",
                d.begin, d.name
            )));
        }
        if d.end > data_len {
            return Err(CheckpointError::data(format!(
                "{range} reaches past its end at byte {data_len} (a truncated file?)"
            )));
        }
        at = d.end;
        previous = Some(d);
    }
    if at < data_len {
        return Err(CheckpointError::data(format!(
            "its {} bytes after the last tensor belong to no tensor",
            data_len - at
        )));
    }
    Ok(())
}
