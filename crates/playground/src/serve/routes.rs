//! The HTTP handlers: each checks its request in full (the body's JSON, the session's id, the
//! upload's size and rows) and hands the change to the session's thread, which applies it whole
//! or not at all.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};

use super::sessions::{Sessions, StreamGuard};
use super::wire::{
    losses_json, parse, ApiError, ControlRequest, Frame, Settings, SettingsPatch, WeightRequest,
};
use super::worker::Command;
use crate::points::{parse_points, PointsError};
use crate::session::Session;
use crate::snapshot::LossPoint;

/// The largest CSV upload, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 1 << 20;

/// The most points in an upload.
pub const MAX_UPLOAD_ROWS: usize = 10_000;

/// The shared state of the handlers.
pub type AppState = Arc<Sessions>;

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A request body, or the JSON error of one that could not be read (413 when too large).
fn body(bytes: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    bytes.map_err(|e| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the body is larger than {MAX_UPLOAD_BYTES} bytes")
        } else {
            e.body_text()
        };
        ApiError::new(status, message)
    })
}

/// 415 unless the body is declared JSON (a missing type is taken as JSON, for curl's sake).
fn expect_json(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(header::CONTENT_TYPE) {
        None => Ok(()),
        Some(v) if v.to_str().is_ok_and(|t| t.starts_with("application/json")) => Ok(()),
        Some(v) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("expected application/json, got {v:?}"),
        )),
    }
}

/// A snapshot reply: `losses` the latest epoch's (a stream carries the history), `points` the
/// points.
fn snapshot_json(frame: &Frame) -> String {
    let last = frame.history.last().map_or(&[][..], std::slice::from_ref);
    frame.snapshot_json(&losses_json(last), &frame.points)
}

fn settings_reply(settings: &Settings, frame: &Frame) -> String {
    format!(
        "{{\"settings\":{},\"snapshot\":{}}}",
        serde_json::to_string(settings).unwrap_or_else(|_| "null".into()),
        snapshot_json(frame)
    )
}

/// `POST /api/sessions`.
pub async fn create(
    State(sessions): State<AppState>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    expect_json(&headers)?;
    let patch: SettingsPatch = parse(&body(bytes)?)?;
    let config = patch.new_config();
    if sessions.len() >= sessions.options().max_sessions {
        // Checked before the session is built, so that a full server does no work; checked
        // again, under the lock, when it is added.
        return Err(sessions.create_refusal());
    }
    // Building generates the data set: a blocking thread, not the executor.
    let session = tokio::task::spawn_blocking(move || Session::new(config, None))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(ApiError::config)?;
    let settings = Settings::of(session.config());
    let (id, handle) = sessions.create(session)?;
    let frame = handle.frames.borrow().clone();
    let body = format!(
        "{{\"id\":{},\"settings\":{},\"snapshot\":{}}}",
        serde_json::Value::String(id),
        serde_json::to_string(&settings).unwrap_or_else(|_| "null".into()),
        snapshot_json(&frame)
    );
    Ok(json(StatusCode::CREATED, body))
}

/// `DELETE /api/sessions/{id}`.
pub async fn delete(
    State(sessions): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if sessions.remove(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::no_session(&id))
    }
}

/// `POST /api/sessions/{id}/control`.
pub async fn control(
    State(sessions): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let handle = sessions.get(&id)?;
    expect_json(&headers)?;
    let request: ControlRequest = parse(&body(bytes)?)?;
    let reply = handle
        .ask(|reply| Command::Control(request.action, reply))
        .await?;
    Ok(json(
        StatusCode::OK,
        serde_json::to_string(&reply).unwrap_or_default(),
    ))
}

/// `PUT /api/sessions/{id}/settings`.
pub async fn settings(
    State(sessions): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let handle = sessions.get(&id)?;
    expect_json(&headers)?;
    let patch: SettingsPatch = parse(&body(bytes)?)?;
    let (settings, frame) = handle
        .ask(|reply| Command::Settings(patch, reply))
        .await??;
    Ok(json(StatusCode::OK, settings_reply(&settings, &frame)))
}

/// `PUT /api/sessions/{id}/weight`.
pub async fn weight(
    State(sessions): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let handle = sessions.get(&id)?;
    expect_json(&headers)?;
    let w: WeightRequest = parse(&body(bytes)?)?;
    let frame = handle
        .ask(|reply| Command::Weight {
            layer: w.layer,
            neuron: w.neuron,
            input: w.input,
            value: w.value,
            reply,
        })
        .await??;
    Ok(json(
        StatusCode::OK,
        format!("{{\"snapshot\":{}}}", snapshot_json(&frame)),
    ))
}

/// `POST /api/sessions/{id}/points`: a CSV of `x1,x2,label` lines.
pub async fn points(
    State(sessions): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let handle = sessions.get(&id)?;
    if let Some(v) = headers.get(header::CONTENT_TYPE) {
        let ok = v.to_str().is_ok_and(|t| {
            ["text/csv", "text/plain", "application/octet-stream"]
                .iter()
                .any(|k| t.starts_with(k))
        });
        if !ok {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("expected text/csv, got {v:?}"),
            ));
        }
    }
    let text = body(bytes)?;
    if text.len() > MAX_UPLOAD_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the file is larger than {MAX_UPLOAD_BYTES} bytes"),
        ));
    }
    let rows = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count();
    // One line more for a header.
    if rows > MAX_UPLOAD_ROWS + 1 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{rows} lines: at most {MAX_UPLOAD_ROWS} points"),
        ));
    }
    let set = tokio::task::spawn_blocking(move || parse_points("the file", &text))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| match e {
            PointsError::Csv(_) | PointsError::Columns { .. } | PointsError::Empty { .. } => {
                ApiError::field("points", e)
            }
            PointsError::Io { .. } => ApiError::new(StatusCode::BAD_REQUEST, e.to_string()),
        })?;
    // Rust reads "inf" and "NaN" as numbers; no point can be drawn or learnt there.
    if let Some((i, p)) = set
        .points
        .iter()
        .enumerate()
        .find(|(_, p)| !(p.x1.is_finite() && p.x2.is_finite() && p.label.is_finite()))
    {
        return Err(ApiError::field(
            "points",
            format!(
                "point {} ({}, {}, {}) is not three finite numbers",
                i + 1,
                p.x1,
                p.x2,
                p.label
            ),
        ));
    }
    if set.points.len() > MAX_UPLOAD_ROWS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{} points: at most {MAX_UPLOAD_ROWS}", set.points.len()),
        ));
    }
    let (settings, frame) = handle.ask(|reply| Command::Points(set, reply)).await??;
    Ok(json(StatusCode::OK, settings_reply(&settings, &frame)))
}

/// `GET /api/sessions/{id}/model.safetensors`.
pub async fn model(
    State(sessions): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let handle = sessions.get(&id)?;
    let bytes = handle.ask(Command::Save).await??;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"playground.safetensors\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The most losses the first event of a stream sends: a chart of a few hundred pixels cannot
/// show more, and a session keeps up to twice as many
/// ([`HISTORY_CAP`](crate::session::HISTORY_CAP)).
pub const MAX_HISTORY_SENT: usize = 4000;

/// At most `most` of `losses`, evenly spaced, the first and the last among them.
fn thin(losses: &[LossPoint], most: usize) -> Vec<LossPoint> {
    let (n, most) = (losses.len(), most.max(2));
    if n <= most {
        return losses.to_vec();
    }
    (0..most)
        .map(|i| losses[i * (n - 1) / (most - 1)])
        .collect()
}

/// What a stream remembers between its events.
struct Cursor {
    frames: tokio::sync::watch::Receiver<Arc<super::wire::Frame>>,
    history_version: u64,
    /// The latest epoch sent of this history; `None` before its first event.
    sent: Option<usize>,
    data_version: Option<u64>,
    first: bool,
    _guard: StreamGuard,
}

impl Cursor {
    /// The next event: the latest frame with the epochs and points this stream has not sent.
    fn event(&mut self) -> Event {
        let frame = self.frames.borrow_and_update().clone();
        if frame.history_version != self.history_version {
            self.history_version = frame.history_version;
            self.sent = None;
        }
        let history = &frame.history[..];
        let losses = match self.sent {
            None if history.len() > MAX_HISTORY_SENT => {
                losses_json(&thin(history, MAX_HISTORY_SENT))
            }
            None => losses_json(history),
            // The points after the last epoch sent. The previous latest point may have gone
            // since (not one the session keeps): it was sent once, as that epoch's losses.
            Some(sent) => losses_json(&history[history.partition_point(|p| p.epoch <= sent)..]),
        };
        if let Some(last) = history.last() {
            self.sent = Some(last.epoch);
        }
        let points = if self.data_version != Some(frame.data_version) {
            self.data_version = Some(frame.data_version);
            &*frame.points
        } else {
            "null"
        };
        Event::default()
            .event("snapshot")
            .data(frame.snapshot_json(&losses, points))
    }
}

/// `GET /api/sessions/{id}/events`: server-sent snapshots.
pub async fn events(
    State(sessions): State<AppState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let handle = sessions.get(&id)?;
    sessions.mark_streamed(&id);
    let cursor = Cursor {
        frames: handle.frames.clone(),
        history_version: 0,
        sent: None,
        data_version: None,
        first: true,
        _guard: handle.open_stream(),
    };
    let stream = stream::unfold(cursor, |mut cursor| async move {
        if !cursor.first && cursor.frames.changed().await.is_err() {
            // The session's thread is gone: the stream ends.
            return None;
        }
        cursor.first = false;
        let event = cursor.event();
        Some((Ok(event), cursor))
    });
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    ))
}

/// The page: `index.html`, `app.js`, `style.css`, built into the binary.
pub mod page {
    use axum::http::header;
    use axum::response::IntoResponse;

    /// `GET /`.
    pub async fn index() -> impl IntoResponse {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            include_str!("../../web/index.html"),
        )
    }

    /// `GET /app.js`.
    pub async fn app() -> impl IntoResponse {
        (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            include_str!("../../web/app.js"),
        )
    }

    /// `GET /style.css`.
    pub async fn style() -> impl IntoResponse {
        (
            [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
            include_str!("../../web/style.css"),
        )
    }
}
