//! The JSON the page and the server exchange: [`Settings`] and their partial form
//! [`SettingsPatch`], the control and weight requests, the errors, and the snapshot's wire form.
//! Requests are read strictly (an unknown field or a value of the wrong type is a 400 naming the
//! field); ranges are checked by [`Config::validate`], whose field names are mapped to the
//! wire's.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shendu_nn::data::playground::Feature;
use shendu_nn::Activation;

use crate::config::{
    Choice, Config, ConfigError, Dataset, LossKind, OptimizerKind, Regularization, MAX_EPOCHS,
};
use crate::session::Session;
use crate::snapshot::{HeatMap, LossPoint, Network, Point, Problem};

/// A rejected request: its status, a message naming the field at fault, and the field.
#[derive(Debug)]
pub struct ApiError {
    /// 400, 404, 413, 415 or 503.
    pub status: StatusCode,
    /// What is wrong, the field's name first when there is one.
    pub message: String,
    /// The field at fault, as the wire spells it (`batch`, `train_percent`, …).
    pub field: Option<String>,
}

impl ApiError {
    /// A 400 about `field`.
    pub fn field(field: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: format!("{field}: {message}"),
            field: Some(field.to_string()),
        }
    }

    /// An error about no field in particular.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            field: None,
        }
    }

    /// The 404 of an id no session has (any more).
    pub fn no_session(id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no session {id:?}: it was freed, or never was"),
        )
    }

    /// A range error of [`Config::validate`] or [`Session::set_weight`], its field renamed
    /// from the command line's spelling to the wire's.
    pub fn config(error: ConfigError) -> ApiError {
        let field = match error.field {
            "train-percent" => "train_percent",
            "reg-rate" => "reg_rate",
            "data" => "points",
            other => other,
        };
        ApiError::field(field, error.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.message, "field": self.field});
        (self.status, axum::Json(body)).into_response()
    }
}

/// Reads a request body as `T`, naming the field of any error: an unknown field (the types
/// deny them), a value of the wrong type, or JSON that does not parse.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let mut json = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let inner = e.inner().to_string();
        // serde names an unknown or a missing field in its message, not in the path.
        for (prefix, what) in [
            ("unknown field `", "unknown field"),
            ("missing field `", "missing"),
        ] {
            if let Some(name) = inner
                .strip_prefix(prefix)
                .and_then(|rest| rest.split('`').next())
            {
                return ApiError::field(name, format!("{what} ({inner})"));
            }
        }
        // The path's first segment is the request's field (`layers[1]` is in `layers`); "."
        // is the body itself.
        let path = e.path().to_string();
        let field = path.split(['.', '[']).next().unwrap_or_default();
        if field.is_empty() || path == "?" {
            not_json(&inner)
        } else {
            ApiError::field(field, inner)
        }
    })?;
    json.end().map_err(|e| not_json(&e.to_string()))?;
    Ok(value)
}

fn not_json(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        format!("the body is not the JSON expected: {why}"),
    )
}

/// A [`Choice`] on the wire: its word as a JSON string. An unknown word is a 400 that lists
/// the words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word<C>(pub C);

impl<C: Choice> Serialize for Word<C> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.word())
    }
}

impl<'de, C: Choice> Deserialize<'de> for Word<C> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let word = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        C::from_word(&word)
            .map(Word)
            .map_err(serde::de::Error::custom)
    }
}

/// A session's settings, complete, as the server reports them (see the [module docs](super)).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Settings {
    pub dataset: Word<Dataset>,
    pub noise: u32,
    pub train_percent: u32,
    pub batch: usize,
    pub features: Vec<Word<Feature>>,
    pub layers: Vec<usize>,
    pub activation: Word<Activation>,
    pub lr: f64,
    pub reg: Word<Regularization>,
    pub reg_rate: f64,
    pub optimizer: Word<OptimizerKind>,
    pub loss: Word<LossKind>,
    pub seed: u64,
    pub exact: bool,
}

impl Settings {
    /// The wire form of `config`.
    pub fn of(config: &Config) -> Settings {
        Settings {
            dataset: Word(config.dataset),
            noise: config.noise,
            train_percent: config.train_percent,
            batch: config.batch,
            features: config.features.iter().copied().map(Word).collect(),
            layers: config.hidden.clone(),
            activation: Word(config.activation),
            lr: config.learning_rate,
            reg: Word(config.regularization),
            reg_rate: config.regularization_rate,
            optimizer: Word(config.optimizer),
            loss: Word(config.loss),
            seed: config.seed,
            exact: config.exact,
        }
    }
}

/// Settings in a request: every field optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SettingsPatch {
    pub dataset: Option<Word<Dataset>>,
    pub noise: Option<u32>,
    pub train_percent: Option<u32>,
    pub batch: Option<usize>,
    pub features: Option<Vec<Word<Feature>>>,
    pub layers: Option<Vec<usize>>,
    pub activation: Option<Word<Activation>>,
    pub lr: Option<f64>,
    pub reg: Option<Word<Regularization>>,
    pub reg_rate: Option<f64>,
    pub optimizer: Option<Word<OptimizerKind>>,
    pub loss: Option<Word<LossKind>>,
    pub seed: Option<u64>,
    pub exact: Option<bool>,
}

impl SettingsPatch {
    /// The config of a new session: the data set's defaults (circle when none is given; the
    /// exact mode's when `exact` is set), then every field given. Not yet validated.
    pub fn new_config(&self) -> Config {
        let dataset = self.dataset.map_or(Dataset::Circle, |d| d.0);
        let mut config = Config::defaults(dataset, self.exact.unwrap_or(false));
        self.apply(&mut config);
        config
    }

    /// `config` with every field given here replaced. Not yet validated.
    pub fn apply(&self, config: &mut Config) {
        config.dataset = self.dataset.map_or(config.dataset, |d| d.0);
        config.noise = self.noise.unwrap_or(config.noise);
        config.train_percent = self.train_percent.unwrap_or(config.train_percent);
        config.batch = self.batch.unwrap_or(config.batch);
        if let Some(f) = &self.features {
            config.features = f.iter().map(|f| f.0).collect();
        }
        if let Some(l) = &self.layers {
            config.hidden = l.clone();
        }
        config.activation = self.activation.map_or(config.activation, |a| a.0);
        config.learning_rate = self.lr.unwrap_or(config.learning_rate);
        config.regularization = self.reg.map_or(config.regularization, |r| r.0);
        config.regularization_rate = self.reg_rate.unwrap_or(config.regularization_rate);
        config.optimizer = self.optimizer.map_or(config.optimizer, |o| o.0);
        config.loss = self.loss.map_or(config.loss, |l| l.0);
        config.seed = self.seed.unwrap_or(config.seed);
        config.exact = self.exact.unwrap_or(config.exact);
        // The browser trains until paused; the session stops itself at the limit.
        config.epochs = MAX_EPOCHS;
    }
}

/// `POST …/control`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlRequest {
    /// What to do.
    pub action: Action,
}

/// The buttons of the page.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Train until paused.
    Play,
    /// Stop training.
    Pause,
    /// Pause, then train one epoch.
    Step,
    /// A new network on the same data: epoch 0.
    Reset,
    /// New data with the next seed, and a new network.
    Regenerate,
}

/// The reply to a control.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ControlReply {
    /// Epochs completed.
    pub epoch: usize,
    /// Whether it trains.
    pub playing: bool,
}

/// `PUT …/weight`: a link's weight (`input` its source) or a bias (`input` null).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightRequest {
    /// Indexes `snapshot.network.layers`: 0 the first hidden layer, the last the output.
    pub layer: usize,
    /// The neuron in that layer.
    pub neuron: usize,
    /// The link's source in the layer before, or `None` for the bias. Required (null for a
    /// bias), so that a forgotten index never edits a bias by accident.
    #[serde(deserialize_with = "required_option")]
    pub input: Option<usize>,
    /// The new value.
    pub value: f64,
}

fn required_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    Option::<usize>::deserialize(d)
}

/// A heat map on the wire: f32 values rounded to 4 decimals, which a colour scale cannot tell
/// from f64 and which make the JSON a third of its size (an event of the defaults: about 100
/// KB rather than 300), 30 times a second.
#[derive(Serialize)]
struct WireMap {
    resolution: usize,
    values: Vec<f32>,
}

impl WireMap {
    fn of(map: &HeatMap) -> WireMap {
        WireMap {
            resolution: map.resolution,
            values: map
                .values
                .iter()
                .map(|&v| ((v * 1e4).round() / 1e4) as f32)
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct WireLayer<'a> {
    weights: &'a [Vec<f64>],
    biases: &'a [f64],
}

#[derive(Serialize)]
struct WireNetwork<'a> {
    inputs: &'a [String],
    layers: Vec<WireLayer<'a>>,
}

/// The snapshot's fields other than `losses` and `points`, which each stream fills in for
/// itself (see [`Frame`]).
#[derive(Serialize)]
struct Rest<'a> {
    epoch: usize,
    playing: bool,
    problem: &'static str,
    loss_name: &'static str,
    settings: Settings,
    train_loss: f64,
    test_loss: f64,
    train_accuracy: Option<f64>,
    test_accuracy: Option<f64>,
    output: WireMap,
    neurons: Vec<Vec<WireMap>>,
    network: WireNetwork<'a>,
}

/// One published state of a session, serialised once however many streams send it.
#[derive(Debug)]
pub struct Frame {
    /// Epochs completed.
    pub epoch: usize,
    /// Whether it trains.
    pub playing: bool,
    /// The snapshot without `losses` and `points`: a JSON object, `{…}`.
    pub rest: String,
    /// Counts the data sets the session has had; a stream sends `points` when it changes.
    pub data_version: u64,
    /// The points of this data version, as JSON.
    pub points: std::sync::Arc<str>,
    /// Counts the loss histories (a rebuild starts a new one at epoch 0).
    pub history_version: u64,
    /// The session's loss history at this frame ([`Session::history`]: at most
    /// [`HISTORY_CAP`](crate::session::HISTORY_CAP) points). A copy, so that the streams need
    /// no other view of the training thread's session; it costs little beside the heat maps.
    pub history: Vec<LossPoint>,
}

impl Frame {
    /// The state of `session` now.
    pub fn of(
        session: &Session,
        playing: bool,
        data_version: u64,
        points: std::sync::Arc<str>,
        history_version: u64,
    ) -> Frame {
        let last = session.history().last().copied().unwrap_or(LossPoint {
            epoch: session.epoch(),
            train: f64::NAN,
            test: f64::NAN,
        });
        let (train_accuracy, test_accuracy) = session.accuracies();
        let network: Network = session.network();
        let rest = Rest {
            epoch: session.epoch(),
            playing,
            problem: match session.problem() {
                Problem::Classification => "classification",
                Problem::Regression => "regression",
            },
            loss_name: session.loss_name(),
            settings: Settings::of(session.config()),
            train_loss: last.train,
            test_loss: last.test,
            train_accuracy,
            test_accuracy,
            output: WireMap::of(&session.output_map(crate::session::OUTPUT_RESOLUTION)),
            neurons: session
                .neuron_maps(crate::session::NEURON_RESOLUTION)
                .iter()
                .map(|layer| layer.iter().map(WireMap::of).collect())
                .collect(),
            network: WireNetwork {
                inputs: &network.inputs,
                layers: network
                    .layers
                    .iter()
                    .map(|l| WireLayer {
                        weights: &l.weights,
                        biases: &l.biases,
                    })
                    .collect(),
            },
        };
        Frame {
            epoch: session.epoch(),
            playing,
            rest: serde_json::to_string(&rest).unwrap_or_else(|_| "{}".into()),
            data_version,
            points,
            history_version,
            history: session.history().to_vec(),
        }
    }

    /// The whole snapshot as JSON, with `losses` and `points` (JSON text, or `null`).
    pub fn snapshot_json(&self, losses: &str, points: &str) -> String {
        let fields = self.rest.strip_prefix('{').unwrap_or("}");
        let sep = if fields.starts_with('}') { "" } else { "," };
        format!("{{\"losses\":{losses},\"points\":{points}{sep}{fields}")
    }
}

/// The train and test points as JSON: `{"train": [[x1, x2, label], …], "test": […]}`.
pub fn points_json(train: &[Point], test: &[Point]) -> String {
    let rows = |points: &[Point]| -> Vec<[f64; 3]> {
        points.iter().map(|p| [p.x1, p.x2, p.label]).collect()
    };
    serde_json::json!({"train": rows(train), "test": rows(test)}).to_string()
}

/// Loss points as JSON: `[{"epoch": …, "train": …, "test": …}, …]`.
pub fn losses_json(losses: &[LossPoint]) -> String {
    let mut out = String::with_capacity(2 + 48 * losses.len());
    out.push('[');
    for (i, l) in losses.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"epoch\":{},\"train\":{},\"test\":{}}}",
            l.epoch,
            number(l.train),
            number(l.test)
        ));
    }
    out.push(']');
    out
}

/// A number as JSON: `null` for NaN and ±∞, which JSON lacks.
fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}
