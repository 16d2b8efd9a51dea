//! Checkpoints: round trips in f32 and f64, strict and non-strict loads that name every
//! difference, files that go both ways with PyTorch (fixtures made by
//! `fixtures/checkpoint/make_fixtures.py`, read here with no Python), BatchNorm-style buffers
//! and counters, atomic saves, and a loader that no damaged file can make panic.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};
use safetensors::{Dtype, SafeTensors};
use shendu_autograd::Var;
use shendu_nn::checkpoint::{EntryKind, ErrorKind, Mismatch};
use shendu_nn::{
    Activation, Checkpoint, CheckpointError, Forward, Linear, Mlp, Module, Param, Sequential,
    StateDict, Visit, VisitMut,
};
use shendu_tensor::{Element, Tensor};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/checkpoint")
        .join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// PyTorch's input batch and the logits its model computed for it.
fn torch_io<T: Element>(name: &str) -> (Tensor<T>, Tensor<T>) {
    let io = StateDict::<T>::read(fixture(name)).unwrap();
    (
        io.tensor("x").unwrap().clone(),
        io.tensor("logits").unwrap().clone(),
    )
}

/// `nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))`, freshly initialised.
fn torch_like<T: Element>(seed: u64) -> Sequential<T> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .push(Linear::new(4, 8, &mut rng))
        .push(Activation::Relu)
        .push(Linear::new(8, 3, &mut rng))
}

fn max_abs_diff<T: Element>(a: &Tensor<T>, b: &Tensor<T>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let (a, b) = (a.to_vec(), b.to_vec());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x.to_f64().unwrap() - y.to_f64().unwrap()).abs())
        .fold(0.0, f64::max)
}

fn bits<T: Element>(t: &Tensor<T>) -> Vec<u64> {
    t.to_vec()
        .iter()
        .map(|x| x.to_f64().unwrap().to_bits())
        .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------- round trips

fn round_trip<T: Element>() {
    let dir = tempfile::tempdir().unwrap();
    let x = Tensor::<T>::from_vec(
        (0..12)
            .map(|i| T::from_f64(i as f64 * 0.37 - 2.0).unwrap())
            .collect(),
        [4, 3],
    );

    let mlp = Mlp::<T>::new(
        &[3, 5, 4, 2],
        Activation::Tanh,
        &mut StdRng::seed_from_u64(1),
    );
    let path = dir.path().join("mlp.safetensors");
    mlp.save(&path).unwrap();
    let mut other = Mlp::<T>::new(
        &[3, 5, 4, 2],
        Activation::Tanh,
        &mut StdRng::seed_from_u64(2),
    );
    assert_ne!(bits(&other.predict(&x)), bits(&mlp.predict(&x)));
    other.load(&path).unwrap();
    assert_eq!(bits(&other.predict(&x)), bits(&mlp.predict(&x)));
    assert!(other.state_dict() == mlp.state_dict());
    // Equal state, equal bytes.
    let again = dir.path().join("again.safetensors");
    other.save(&again).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );

    let seq = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        Sequential::<T>::new()
            .push(Linear::new(3, 6, &mut rng))
            .push(Activation::Gelu)
            .push(Linear::new(6, 6, &mut rng))
            .push(Activation::Sigmoid)
            .push(Linear::new(6, 1, &mut rng))
    };
    let (saved, mut loaded) = (seq(3), seq(4));
    let path = dir.path().join("seq.safetensors");
    saved.save(&path).unwrap();
    loaded.load(&path).unwrap();
    assert_eq!(bits(&loaded.predict(&x)), bits(&saved.predict(&x)));
    let file = std::fs::read(&path).unwrap();
    let parsed = SafeTensors::deserialize(&file).unwrap();
    let mut names = parsed.names();
    names.sort();
    assert_eq!(
        names,
        ["0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"]
    );
}

#[test]
fn a_saved_model_loads_back_bit_for_bit_in_f32_and_f64() {
    round_trip::<f32>();
    round_trip::<f64>();
}

#[test]
fn loading_copies_into_the_parameters_in_place_and_shares_nothing_with_the_state_dict() {
    let mlp = |seed| {
        Mlp::<f32>::new(
            &[4, 8, 3],
            Activation::Relu,
            &mut StdRng::seed_from_u64(seed),
        )
    };
    let address = |m: &Mlp<f32>| m.layers()[0].weight.value().as_slice().unwrap().as_ptr();
    let mut model = mlp(0);
    let state = mlp(1).state_dict();
    let before = address(&model);
    model.load_state_dict(&state).unwrap();
    assert_eq!(address(&model), before, "the parameter keeps its storage");

    // The state dict is a snapshot: changing the model afterwards does not change it.
    let snapshot = model.state_dict();
    model.layers_mut()[0]
        .weight
        .value_mut()
        .copy_from(&Tensor::zeros([8, 4]));
    assert!(snapshot == state);
    assert!(model.state_dict() != state);
}

// ---------------------------------------------------------------- tied weights

/// `logits = relu(x·Eᵀ)·Eᵀ + b`: the head's weight is the embedding's, as `Tied` in
/// make_fixtures.py; one parameter shown under two names.
struct Tied {
    embed: Param<f32>,
    head_bias: Param<f32>,
}

impl Tied {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let layer = Linear::<f32>::new(4, 4, &mut rng);
        Tied {
            embed: layer.weight,
            head_bias: layer.bias.unwrap(),
        }
    }
}

impl Module<f32> for Tied {
    fn visit(&self, v: &mut Visit<'_, f32>) {
        v.param("embed.weight", &self.embed);
        v.param("head.weight", &self.embed);
        v.param("head.bias", &self.head_bias);
    }
    fn visit_mut(&mut self, v: &mut VisitMut<'_, f32>) {
        v.param("embed.weight", &mut self.embed);
        v.param("head.weight", &mut self.embed);
        v.param("head.bias", &mut self.head_bias);
    }
}

impl Forward<f32> for Tied {
    fn forward(&self, x: &Var<f32>) -> Var<f32> {
        let tape = x.tape();
        let e = self.embed.on(&tape).t();
        &x.matmul(&e).relu().matmul(&e) + &self.head_bias.on(&tape)
    }
}

#[test]
fn a_tied_weight_is_saved_once_with_its_other_name_in_the_metadata_as_pytorch_does() {
    let tied = Tied::new(0);
    let state = tied.state_dict();
    let tensors: Vec<&str> = state.tensors().map(|(n, _)| n).collect();
    assert_eq!(tensors, ["embed.weight", "head.bias"]);
    assert_eq!(state.text("head.weight").unwrap(), "embed.weight");

    // PyTorch's save_model wrote the same: loading its file strictly and saving it again gives
    // its bytes back, and the model computes PyTorch's logits.
    let mut from_torch = Tied::new(1);
    from_torch.load(fixture("torch_tied.safetensors")).unwrap();
    assert_eq!(
        from_torch.state_dict().to_bytes().unwrap(),
        fixture_bytes("torch_tied.safetensors")
    );
    let (x, logits) = torch_io::<f32>("torch_tied_io.safetensors");
    let diff = max_abs_diff(&from_torch.predict(&x), &logits);
    assert!(diff < 1e-5, "{diff}");

    // Either name restores the one parameter; neither is missing.
    let mut renamed = StateDict::<f32>::new();
    renamed.insert("head.weight", state.tensor("embed.weight").unwrap().clone());
    renamed.insert("head.bias", state.tensor("head.bias").unwrap().clone());
    let mut other = Tied::new(2);
    other.load_state_dict(&renamed).unwrap();
    assert_eq!(bits(other.embed.value()), bits(tied.embed.value()));

    let mut without = StateDict::<f32>::new();
    without.insert("head.bias", state.tensor("head.bias").unwrap().clone());
    let report = Tied::new(2).load_state_dict_non_strict(&without);
    assert_eq!(report.missing, ["embed.weight"]);
}

// ---------------------------------------------------------------- strict and non-strict

fn mismatch(err: &CheckpointError) -> (&[String], &[String], &[Mismatch]) {
    match err.kind() {
        ErrorKind::Mismatch {
            missing,
            unexpected,
            mismatched,
        } => (missing, unexpected, mismatched),
        other => panic!("not a mismatch: {other}"),
    }
}

fn f32_tensor(shape: &[usize]) -> EntryKind {
    EntryKind::Tensor {
        dtype: "F32".into(),
        shape: shape.to_vec(),
    }
}

/// A state dict for `torch_like` with one entry missing (`2.bias`), one unexpected
/// (`5.weight`), one of another shape (`0.weight`) and one of another kind (`0.bias`).
fn damaged_state() -> StateDict<f32> {
    let good = torch_like::<f32>(1).state_dict();
    let mut state = StateDict::new();
    state.insert("2.weight", good.tensor("2.weight").unwrap().clone());
    state.insert("0.weight", Tensor::zeros([4, 8]));
    state.insert_counter("0.bias", 3);
    state.insert("5.weight", Tensor::zeros([2]));
    state
}

#[test]
fn a_strict_load_names_every_difference_and_changes_nothing() {
    let mut model = torch_like::<f32>(0);
    let x = Tensor::<f32>::ones([2, 4]);
    let before = bits(&model.predict(&x));
    let err = model.load_state_dict(&damaged_state()).unwrap_err();
    let (missing, unexpected, mismatched) = mismatch(&err);
    assert_eq!(missing, ["2.bias"]);
    assert_eq!(unexpected, ["5.weight"]);
    assert_eq!(
        mismatched,
        [
            Mismatch {
                name: "0.weight".into(),
                model: f32_tensor(&[8, 4]),
                file: f32_tensor(&[4, 8]),
            },
            Mismatch {
                name: "0.bias".into(),
                model: f32_tensor(&[8]),
                file: EntryKind::Counter,
            },
        ]
    );
    assert_eq!(
        err.to_string(),
        "the state dict does not match the model; nothing was loaded\n    \
         missing: `2.bias`\n    \
         unexpected: `5.weight`\n    \
         `0.weight`: the model has an F32 tensor of shape [8, 4], the state dict an F32 tensor \
         of shape [4, 8]\n    \
         `0.bias`: the model has an F32 tensor of shape [8], the state dict a counter"
    );
    assert_eq!(bits(&model.predict(&x)), before);
}

#[test]
fn a_non_strict_load_loads_what_matches_and_reports_the_rest() {
    let mut model = torch_like::<f32>(0);
    let untouched = model.state_dict();
    let state = damaged_state();
    let report = model.load_state_dict_non_strict(&state);
    assert_eq!(report.loaded, ["2.weight"]);
    assert_eq!(report.missing, ["2.bias"]);
    assert_eq!(report.unexpected, ["5.weight"]);
    assert_eq!(report.mismatched.len(), 2);
    assert!(!report.is_exact());
    let now = model.state_dict();
    assert_eq!(
        bits(now.tensor("2.weight").unwrap()),
        bits(state.tensor("2.weight").unwrap())
    );
    for name in ["0.weight", "0.bias", "2.bias"] {
        assert_eq!(
            bits(now.tensor(name).unwrap()),
            bits(untouched.tensor(name).unwrap()),
            "{name}"
        );
    }
}

#[test]
fn a_file_of_another_float_type_is_a_mismatch_per_tensor_and_loads_after_a_cast() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f64.safetensors");
    torch_like::<f64>(0).save(&path).unwrap();

    let mut model = torch_like::<f32>(1);
    let err = model.load(&path).unwrap_err();
    assert_eq!(err.path(), Some(path.as_path()));
    let (missing, unexpected, mismatched) = mismatch(&err);
    assert!(missing.is_empty() && unexpected.is_empty());
    let named: Vec<&str> = mismatched.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(named, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    assert!(
        err.to_string().contains(
            "`0.weight`: the model has an F32 tensor of shape [8, 4], the state dict an F64 \
             tensor of shape [8, 4]"
        ),
        "{err}"
    );
    // As a StateDict of the wrong type: an error with the way out.
    let err = StateDict::<f32>::read(&path).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Dtype { name, .. } if name == "0.bias"));
    assert!(err.to_string().contains("cast it"), "{err}");

    let cast = StateDict::<f64>::read(&path).unwrap().cast::<f32>();
    model.load_state_dict(&cast).unwrap();
}

#[test]
fn a_non_strict_file_load_skips_a_tensor_of_another_type_and_loads_the_rest() {
    // A file PyTorch could write: the model's F32 tensors and one BF16 tensor.
    let model = torch_like::<f32>(3);
    let bytes = model.state_dict().to_bytes().unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut views: Vec<(String, safetensors::tensor::TensorView<'_>)> = file
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != "2.bias")
        .collect();
    let half = [0u8; 6];
    views.push((
        "2.bias".into(),
        safetensors::tensor::TensorView::new(Dtype::BF16, vec![3], &half).unwrap(),
    ));
    let steps = 5u32.to_le_bytes();
    views.push((
        "steps".into(),
        safetensors::tensor::TensorView::new(Dtype::U32, vec![], &steps).unwrap(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.safetensors");
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();

    let mut loaded = torch_like::<f32>(4);
    let err = loaded.load(&path).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("`2.bias`: the model has an F32 tensor of shape [3], the state dict a BF16 tensor of shape [3]"),
        "{err}"
    );
    assert!(err.to_string().contains("unexpected: `steps`"), "{err}");
    let report = loaded.load_non_strict(&path).unwrap();
    assert_eq!(report.loaded, ["0.bias", "0.weight", "2.weight"]);
    assert_eq!(report.mismatched.len(), 1);
    assert_eq!(report.unexpected, ["steps"]);
    let (got, want) = (loaded.state_dict(), model.state_dict());
    assert_eq!(
        bits(got.tensor("2.weight").unwrap()),
        bits(want.tensor("2.weight").unwrap())
    );
}

// ---------------------------------------------------------------- PyTorch interop

fn torch_logits<T: Element>(suffix: &str, tolerance: f64) {
    let weights = format!("torch_mlp_{suffix}.safetensors");
    let (x, logits) = torch_io::<T>(&format!("torch_mlp_io_{suffix}.safetensors"));
    let mut seq = torch_like::<T>(9);
    seq.load(fixture(&weights)).unwrap();
    let diff = max_abs_diff(&seq.predict(&x), &logits);
    assert!(diff <= tolerance, "{suffix}: {diff}");
    // Mlp names its layers as Sequential does (activations between them): the same file loads.
    let mut mlp = Mlp::<T>::new(&[4, 8, 3], Activation::Relu, &mut StdRng::seed_from_u64(9));
    mlp.load(fixture(&weights)).unwrap();
    assert!(max_abs_diff(&mlp.predict(&x), &logits) <= tolerance);
    // Saving it again writes PyTorch's file byte for byte.
    assert_eq!(
        seq.state_dict().to_bytes().unwrap(),
        fixture_bytes(&weights)
    );
}

#[test]
fn a_pytorch_sequential_loads_and_gives_pytorchs_logits() {
    torch_logits::<f64>("f64", 1e-12);
    torch_logits::<f32>("f32", 1e-5);
}

#[test]
fn a_shendu_file_is_what_the_safetensors_crate_writes_and_reads() {
    let model = torch_like::<f64>(5);
    let state = model.state_dict();
    let bytes = state.to_bytes().unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut read: Vec<String> = file.names().into_iter().map(String::from).collect();
    read.sort();
    assert_eq!(read, names(&["0.bias", "0.weight", "2.bias", "2.weight"]));
    for (name, tensor) in state.tensors() {
        let view = file.tensor(name).unwrap();
        assert_eq!(view.dtype(), Dtype::F64);
        assert_eq!(view.shape(), tensor.shape());
        let values: Vec<f64> = view
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(values, tensor.to_vec(), "{name}");
    }
    // The crate's own writer, given the same tensors, writes the same bytes.
    assert_eq!(safetensors::serialize(file.tensors(), None).unwrap(), bytes);
}

// ---------------------------------------------------------------- buffers and counters

/// A stand-in for BatchNorm1d's state: two parameters, two buffers and a counter under
/// PyTorch's names (BatchNorm1d itself lives elsewhere).
struct NormState {
    weight: Param<f32>,
    bias: Param<f32>,
    running_mean: Tensor<f32>,
    running_var: Tensor<f32>,
    num_batches_tracked: u64,
}

impl Module<f32> for NormState {
    fn visit(&self, v: &mut Visit<'_, f32>) {
        v.param("weight", &self.weight);
        v.param("bias", &self.bias);
        v.buffer("running_mean", &self.running_mean);
        v.buffer("running_var", &self.running_var);
        v.counter("num_batches_tracked", self.num_batches_tracked);
    }
    fn visit_mut(&mut self, v: &mut VisitMut<'_, f32>) {
        v.param("weight", &mut self.weight);
        v.param("bias", &mut self.bias);
        v.buffer("running_mean", &mut self.running_mean);
        v.buffer("running_var", &mut self.running_var);
        v.counter("num_batches_tracked", &mut self.num_batches_tracked);
    }
}

/// `nn.Sequential(Linear(4, 8), BatchNorm1d(8), ReLU, Linear(8, 3))`'s state.
struct WithNorm {
    first: Linear<f32>,
    norm: NormState,
    last: Linear<f32>,
}

impl WithNorm {
    fn new() -> Self {
        let mut rng = StdRng::seed_from_u64(0);
        WithNorm {
            first: Linear::new(4, 8, &mut rng),
            norm: NormState {
                weight: Param::new(Tensor::ones([8])),
                bias: Param::new(Tensor::zeros([8])),
                running_mean: Tensor::zeros([8]),
                running_var: Tensor::ones([8]),
                num_batches_tracked: 0,
            },
            last: Linear::new(8, 3, &mut rng),
        }
    }
}

impl Module<f32> for WithNorm {
    fn visit(&self, v: &mut Visit<'_, f32>) {
        v.module("0", &self.first);
        v.module("1", &self.norm);
        v.module("3", &self.last);
    }
    fn visit_mut(&mut self, v: &mut VisitMut<'_, f32>) {
        v.module("0", &mut self.first);
        v.module("1", &mut self.norm);
        v.module("3", &mut self.last);
    }
}

#[test]
fn buffers_and_counters_go_through_the_state_dict_under_pytorchs_names() {
    let mut model = WithNorm::new();
    model.load(fixture("torch_batchnorm.safetensors")).unwrap();
    assert_eq!(model.norm.num_batches_tracked, 3);
    let bytes = fixture_bytes("torch_batchnorm.safetensors");
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mean: Vec<f32> = (file.tensor("1.running_mean").unwrap().data())
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(model.norm.running_mean.to_vec(), mean);
    assert!(mean.iter().all(|&m| m != 0.0), "the statistics have moved");
    // Saved again: PyTorch's file, the I64 counter included, byte for byte.
    assert_eq!(model.state_dict().to_bytes().unwrap(), bytes);

    // A counter in the model and a tensor in the file (or back) is a mismatch, named.
    let mut state = model.state_dict();
    state.insert("1.num_batches_tracked", Tensor::zeros([]));
    let err = WithNorm::new().load_state_dict(&state).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "`1.num_batches_tracked`: the model has a counter, the state dict an F32 tensor of \
             shape []"
        ),
        "{err}"
    );
}

#[test]
fn a_counter_out_of_int64_range_is_an_error_naming_it() {
    let mut state = StateDict::<f32>::new();
    state.insert_counter("1.num_batches_tracked", u64::MAX);
    let err = state.to_bytes().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Tensor { name, .. } if name == "1.num_batches_tracked")
    );

    let mut bytes = fixture_bytes("torch_batchnorm.safetensors");
    let at = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[at..at + 8].copy_from_slice(&(-1i64).to_le_bytes());
    let err = StateDict::<f32>::from_bytes(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tensor `1.num_batches_tracked`: a counter of -1, but counters are never negative"
    );
}

// ---------------------------------------------------------------- non-model state

#[test]
fn a_state_dict_keeps_scalars_and_counters_bit_for_bit() {
    let mut state = StateDict::<f64>::new();
    state.insert(
        "m",
        Tensor::from_vec(vec![f64::MIN_POSITIVE, -0.0, 1e300], [3]),
    );
    state.insert_counter("step", i64::MAX as u64);
    for (key, value) in [("nan", f64::NAN), ("neg_zero", -0.0), ("tiny", 5e-324)] {
        state.insert_f64(key, value);
    }
    state.insert_u64("seed", u64::MAX);
    state.insert_text("note", "resumed");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("optimizer.safetensors");
    state.write(&path).unwrap();
    let back = StateDict::<f64>::read(&path).unwrap();
    assert!(back == state);
    assert!(back.f64("nan").unwrap().is_nan());
    assert_eq!(back.f64("neg_zero").unwrap().to_bits(), (-0.0f64).to_bits());
    assert_eq!(back.f64("tiny").unwrap(), 5e-324);
    assert_eq!(back.u64("seed").unwrap(), u64::MAX);
    assert_eq!(back.counter("step").unwrap(), i64::MAX as u64);
    assert_eq!(back.text("note").unwrap(), "resumed");

    let err = back.u64("tiny").unwrap_err();
    assert_eq!(err.to_string(), "scalar `tiny`: \"5e-324\" is not a u64");
    let err = back.tensor("v").unwrap_err();
    assert_eq!(err.to_string(), "no tensor named `v`");
    let mut reserved = StateDict::<f32>::new();
    reserved.insert("__metadata__", Tensor::zeros([1]));
    assert!(matches!(
        reserved.to_bytes().unwrap_err().kind(),
        ErrorKind::Tensor { .. }
    ));
}

// ---------------------------------------------------------------- atomic saves

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_failing_save_leaves_the_old_file_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = torch_like::<f32>(0);

    // No such directory: an error naming the path, nothing created.
    let nowhere = dir.path().join("missing/model.safetensors");
    let err = model.save(&nowhere).unwrap_err();
    assert_eq!(err.path(), Some(nowhere.as_path()));
    assert!(matches!(err.kind(), ErrorKind::Io { .. }), "{err}");
    assert!(dir_entries(dir.path()).is_empty());

    // The target is a directory: the bytes are written, the rename fails, the temporary goes.
    let taken = dir.path().join("taken.safetensors");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("keep"), b"x").unwrap();
    let err = model.save(&taken).unwrap_err();
    assert!(err.to_string().contains("cannot rename"), "{err}");
    assert_eq!(dir_entries(dir.path()), ["taken.safetensors"]);
    assert_eq!(dir_entries(&taken), ["keep"]);

    // A state that cannot be encoded: the old checkpoint stays as it was.
    let path = dir.path().join("model.safetensors");
    model.save(&path).unwrap();
    let old = std::fs::read(&path).unwrap();
    let mut bad = model.state_dict();
    bad.insert_counter("steps", u64::MAX);
    assert!(bad.write(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), old);
    assert_eq!(
        dir_entries(dir.path()),
        ["model.safetensors", "taken.safetensors"]
    );
}

#[cfg(unix)]
#[test]
fn a_save_into_a_read_only_directory_fails_and_keeps_the_old_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    torch_like::<f32>(0).save(&path).unwrap();
    let old = std::fs::read(&path).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores the mode: then there is nothing to test here.
    let root = std::fs::write(dir.path().join("probe"), b"").is_ok();
    let result = torch_like::<f32>(1).save(&path);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    if root {
        return;
    }
    let err = result.unwrap_err();
    assert!(err.to_string().contains("create a temporary file"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), old);
    assert_eq!(dir_entries(dir.path()), ["model.safetensors"]);
}

// ---------------------------------------------------------------- damaged files

/// A real checkpoint with every part of the format: metadata (a tied name), F32 tensors and
/// an I64 counter.
fn real_checkpoint() -> Vec<u8> {
    let mut model = WithNorm::new();
    model.load(fixture("torch_batchnorm.safetensors")).unwrap();
    let mut state = model.state_dict();
    state.insert_text("3.alias", "3.weight");
    state.to_bytes().unwrap()
}

fn header_end(bytes: &[u8]) -> usize {
    8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize
}

/// The error kinds that damage to a file's bytes may give.
fn is_damage(err: &CheckpointError) -> bool {
    !err.to_string().is_empty()
        && matches!(
            err.kind(),
            ErrorKind::TooShort { .. }
                | ErrorKind::HeaderLength { .. }
                | ErrorKind::Header { .. }
                | ErrorKind::Tensor { .. }
                | ErrorKind::Data { .. }
                | ErrorKind::Dtype { .. }
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_truncation_is_an_error_naming_the_damage(cut in 0usize..1024) {
        let bytes = real_checkpoint();
        let cut = cut % bytes.len();
        let err = StateDict::<f32>::from_bytes(&bytes[..cut]).unwrap_err();
        prop_assert!(is_damage(&err), "{err}");
        let expected = if cut < 8 {
            matches!(err.kind(), ErrorKind::TooShort { .. })
        } else if cut < header_end(&bytes) {
            matches!(err.kind(), ErrorKind::HeaderLength { .. })
        } else {
            matches!(err.kind(), ErrorKind::Data { .. })
        };
        prop_assert!(expected, "cut at {cut}: {err}");
    }

    #[test]
    fn a_flipped_byte_is_an_error_in_the_header_and_data_in_the_tensors(
        at in 0usize..1024,
        mask in 1u8..=255,
    ) {
        let mut bytes = real_checkpoint();
        let at = at % bytes.len();
        let data_start = header_end(&bytes);
        bytes[at] ^= mask;
        match StateDict::<f32>::from_bytes(&bytes) {
            // Whatever it reads, it writes back as these very bytes (a renamed tensor in the
            // header aside, which may move in the sorted layout).
            Ok(state) if at >= data_start => prop_assert_eq!(state.to_bytes().unwrap(), bytes),
            Ok(state) => {
                let again = StateDict::<f32>::from_bytes(&state.to_bytes().unwrap()).unwrap();
                prop_assert!(again == state);
            }
            Err(err) => {
                prop_assert!(is_damage(&err), "{err}");
                // In the data, only the counter's sign can be wrong.
                if at >= data_start {
                    prop_assert!(err.to_string().contains("never negative"), "{err}");
                }
            }
        }
    }

    #[test]
    fn random_headers_never_panic(
        header in "\\{(\"[a-z_]{1,12}\":\\{\"dtype\":\"(F32|F64|I64|BF16|U8|BOOL|X)\",\"shape\":\\[([0-9]{1,20}(,[0-9]{1,20}){0,3})?\\],\"data_offsets\":\\[[0-9]{1,20},[0-9]{1,20}\\]\\},?){0,4}\\}",
        data in proptest::collection::vec(any::<u8>(), 0..64),
        length_delta in -3i64..=3,
    ) {
        let mut bytes = Vec::new();
        let len = (header.len() as i64 + length_delta).max(0) as u64;
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&data);
        if let Err(err) = StateDict::<f64>::from_bytes(&bytes) {
            prop_assert!(is_damage(&err), "{err}");
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Err(err) = StateDict::<f32>::from_bytes(&bytes) {
            prop_assert!(is_damage(&err), "{err}");
        }
    }
}

#[test]
fn header_offsets_that_overflow_are_errors_not_panics() {
    let huge = usize::MAX;
    for header in [
        format!(r#"{{"a":{{"dtype":"F32","shape":[{huge}],"data_offsets":[0,4]}}}}"#),
        format!(r#"{{"a":{{"dtype":"F32","shape":[0,{huge},{huge}],"data_offsets":[0,0]}}}}"#),
        format!(r#"{{"a":{{"dtype":"U8","shape":[1],"data_offsets":[{huge},0]}}}}"#),
        format!(
            r#"{{"a":{{"dtype":"U8","shape":[{}],"data_offsets":[0,{}]}},"b":{{"dtype":"U8","shape":[{}],"data_offsets":[{},{huge}]}}}}"#,
            huge - 10,
            huge - 10,
            10,
            huge - 10
        ),
        r#"{"__metadata__":{"a":1}}"#.to_string(),
        r#"[1, 2]"#.to_string(),
    ] {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        let err = StateDict::<f32>::from_bytes(&bytes).unwrap_err();
        assert!(is_damage(&err), "{header}: {err}");
    }
}
