//! `shendu-playground serve`: the Playground in the browser, trained live by shendu. One
//! [`Session`](crate::Session) per page, each on its own thread ([`worker`]), streamed to the
//! page as snapshots (server-sent events); the page (`web/`: `index.html`, `app.js`,
//! `style.css`) is built into the binary. This is the reference of the HTTP API, the contract
//! between the server and the page.
//!
//! # The HTTP API
//! All JSON field names are snake_case. Errors are JSON `{"error": "<message>", "field": "<name
//! or null>"}` with status 400 (bad JSON, unknown field, a value of the wrong type or out of
//! range: the message and `field` name the field, e.g. `batch`), 404 (unknown session), 413
//! (upload too large), 415 (wrong content type), 503 (too many sessions: `--max-sessions`,
//! default 16). A rejected request leaves the session exactly as it was.
//!
//! `Settings` (request and response; every field optional in a request; in `POST
//! /api/sessions` a missing one takes the data set's defaults,
//! [`Config::defaults(dataset, exact)`](crate::Config::defaults), the data set circle when none
//! is given; in `PUT …/settings` a missing one keeps its value; unknown fields are a 400):
//! ```json
//! {"dataset": "circle|xor|gauss|spiral|plane|multigauss", "noise": 0, "train_percent": 50, "batch": 10,
//!  "features": ["x1","x2"], "layers": [4, 2], "activation": "tanh|relu|sigmoid|linear", "lr": 0.03,
//!  "reg": "none|l1|l2", "reg_rate": 0, "optimizer": "sgd|adam", "loss": "mse|bce", "seed": 0, "exact": false}
//! ```
//! (feature names as on the command line: `x1`, `x2`, `x1sq`, `x2sq`, `x1x2`, `sinx1`,
//! `sinx2`; the browser trains until paused, so there is no `epochs`; a session pauses by
//! itself at [`MAX_EPOCHS`](crate::config::MAX_EPOCHS).)
//!
//! Endpoints:
//! - `GET /` the page (`index.html`); `GET /app.js`, `GET /style.css` (embedded in the binary
//!   with `include_str!`, no CDN, no build step).
//! - `POST /api/sessions` body `Settings` (an empty body is `{}`) → 201 `{"id": "<opaque
//!   string>", "settings": Settings (complete), "snapshot": Snapshot}`.
//! - `GET /api/sessions/{id}/events` → `text/event-stream`: events `event: snapshot` with
//!   `data: Snapshot` JSON: one at once, then while playing one every 1/30 s
//!   ([`worker::FRAMES_PER_SECOND`]; the server trains as many epochs as it can between two
//!   snapshots), and one after every change (control, settings, weight, points). A comment
//!   line `:keep-alive` every 15 s. When the stream closes (the tab closed) and no new stream
//!   opens within 10 s (`Options::stream_grace`), the session is freed.
//! - `POST /api/sessions/{id}/control` body `{"action": "play"|"pause"|"step"|"reset"|"regenerate"}`
//!   → 200 `{"epoch": n, "playing": bool}`. `step` trains one epoch (pauses first); `reset`
//!   re-initialises the network (epoch 0, same data, paused); `regenerate` draws new data with
//!   the next seed (`settings.seed + 1`, returned in the next snapshot's `settings`) and resets.
//! - `PUT /api/sessions/{id}/settings` body partial `Settings` → 200 `{"settings": Settings,
//!   "snapshot": Snapshot}`. `lr`, `reg`, `reg_rate` apply live (no reset); a change of any
//!   other field rebuilds the session (epoch 0, paused), as the Playground does; a field sent
//!   with its current value changes nothing.
//! - `PUT /api/sessions/{id}/weight` body `{"layer": l, "neuron": j, "input": i, "value": v}`
//!   where `layer` indexes `snapshot.network.layers` (0 = first hidden layer, last = output),
//!   `neuron` the neuron in it, `input` the index of the link's source in the previous layer,
//!   or `null` for the neuron's bias (required: a missing `input` is a 400) → 200
//!   `{"snapshot": Snapshot}`; out-of-range indices or a non-finite value are a 400 naming
//!   the field.
//! - `POST /api/sessions/{id}/points` body `text/csv` (`x1,x2,label` lines, optional header;
//!   at most 1 MiB and 10,000 rows, else 413) → 200 `{"settings": Settings, "snapshot":
//!   Snapshot}`; a malformed file is a 400 (`field`: `points`) whose message names the line
//!   (e.g. `line 3, column 2: "zz" is not a number`). The session then trains on these points
//!   (`dataset` ignored while they are in use; sending `{"dataset": …}` in settings goes back
//!   to generated data).
//! - `GET /api/sessions/{id}/model.safetensors` → `application/octet-stream`,
//!   `Content-Disposition: attachment; filename="playground.safetensors"` (the bytes
//!   [`Session::save`](crate::Session::save) would write).
//! - `DELETE /api/sessions/{id}` → 204.
//!
//! `Snapshot` (wire form):
//! ```json
//! {"epoch": 12, "playing": true, "problem": "classification|regression", "loss_name": "½(o − t)²",
//!  "settings": Settings,
//!  "losses": [{"epoch": 11, "train": 0.21, "test": 0.23}, {"epoch": 12, "train": 0.2, "test": 0.22}],
//!  "train_loss": 0.2, "test_loss": 0.22, "train_accuracy": 0.95, "test_accuracy": 0.93,
//!  "output": {"resolution": 100, "values": [/* 10000 numbers, f32, row 0 = top (x2 near +6), column 0 = left (x1 near -6) */]},
//!  "neurons": [[{"resolution": 10, "values": [/* 100 */]}, …], …],
//!  "network": {"inputs": ["x₁", "x₂"], "layers": [{"weights": [[w_ji, …], …], "biases": [b_j, …]}, …]},
//!  "points": {"train": [[x1, x2, label], …], "test": [[x1, x2, label], …]} | null}
//! ```
//! A session keeps at most [`HISTORY_CAP`](crate::session::HISTORY_CAP) points of its loss
//! history ([`Session::history`](crate::Session::history)): every epoch until then, then every
//! second one, every fourth… (evenly spaced, so the chart spans the whole run), the initial
//! losses (epoch 0) first and the latest epoch's always last. In an event, `losses` holds the
//! kept epochs since the previous event on that stream, the latest epoch last even when it is
//! not one kept (the page appends them to its chart, epochs increasing; until 8,192 epochs that
//! is every epoch); the first event of a stream holds the whole history (at most
//! [`routes::MAX_HISTORY_SENT`] epochs of it, evenly spaced, the first and the latest among
//! them, when it is longer), and so does the first event after a rebuild (reset, regenerate,
//! settings, points), whose `losses` then starts again at epoch 0: a `losses` starting at epoch
//! 0 replaces the chart.
//! In a reply to a request, `losses` holds the latest epoch only (the stream carries the
//! history) and `points` the points. In an event, `points` is sent in the first event of a
//! stream and after the data changes, else `null`. `neurons[0]` are the inputs (one map per
//! feature), then each hidden layer, the output last (as
//! [`Snapshot::neurons`](crate::Snapshot::neurons)). Accuracies are `null` for regression, and
//! a loss that is not finite (a diverged run) is `null`.

pub mod routes;
pub mod sessions;
pub mod wire;
pub mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;

use routes::{page, AppState, MAX_UPLOAD_BYTES};
use sessions::Sessions;

/// The limits of a server.
#[derive(Clone, Debug)]
pub struct Options {
    /// At most this many sessions at once; one more gets a 503.
    pub max_sessions: usize,
    /// A session with no open stream and no request for this long is freed.
    pub idle_timeout: Duration,
    /// A session whose last stream closed this long ago (a closed tab) is freed.
    pub stream_grace: Duration,
}

impl Default for Options {
    /// 16 sessions, freed after 10 minutes idle or 10 seconds after their tab closed.
    fn default() -> Options {
        Options {
            max_sessions: 16,
            idle_timeout: Duration::from_secs(600),
            stream_grace: Duration::from_secs(10),
        }
    }
}

/// The routes of the API and the page, on `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::app))
        .route("/style.css", get(page::style))
        .route("/api/sessions", post(routes::create))
        .route("/api/sessions/{id}", axum::routing::delete(routes::delete))
        .route("/api/sessions/{id}/events", get(routes::events))
        .route("/api/sessions/{id}/control", post(routes::control))
        .route("/api/sessions/{id}/settings", put(routes::settings))
        .route("/api/sessions/{id}/weight", put(routes::weight))
        .route("/api/sessions/{id}/points", post(routes::points))
        .route("/api/sessions/{id}/model.safetensors", get(routes::model))
        // Every body is read whole; none needs more than an upload.
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .with_state(state)
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    sessions: Arc<Sessions>,
}

/// Binds `addr` (port 0 picks a free one; see [`Server::local_addr`]).
pub async fn bind(addr: SocketAddr, options: Options) -> std::io::Result<Server> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    Ok(Server {
        listener,
        sessions: Arc::new(Sessions::new(options)),
    })
}

impl Server {
    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The sessions, for a test to count.
    pub fn sessions(&self) -> Arc<Sessions> {
        self.sessions.clone()
    }

    /// Serves until the process ends, freeing idle sessions as it goes.
    pub async fn run(self) -> std::io::Result<()> {
        let sessions = self.sessions.clone();
        let reaper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(sessions.reap_every());
            loop {
                tick.tick().await;
                sessions.reap();
            }
        });
        let served = axum::serve(self.listener, router(self.sessions)).await;
        reaper.abort();
        served
    }
}
