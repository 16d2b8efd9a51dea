//! Proves the browser Playground's server (`shendu_playground::serve`) over real HTTP, with the
//! server started in-process on port 0:
//! - a session trains live: play, and the event stream carries snapshots (every epoch's
//!   losses once, in order) until the test loss falls below a bound; a new stream gets a long
//!   history thinned;
//! - every bad request gets its 4xx naming the field (bad JSON, unknown fields, wrong types,
//!   each out-of-range setting, a bad weight edit, a malformed or oversized CSV, a wrong
//!   content type, an unknown session), and leaves the session as it was;
//! - the limits hold: one session too many is a 503, a closed stream frees its session;
//! - live settings keep the epoch, the others rebuild; a weight edit shows in the snapshot;
//!   the safetensors download loads; two sessions with one seed train to the same bits;
//! - the binary's `serve` says where it listens, and refuses training flags.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Bytes, EventReader, Method};
use serde_json::{json, Value};
use shendu_nn::StateDict;
use shendu_playground::serve::{self, sessions::Sessions, Options};

/// A server on a free port, serving in the background of the test's runtime.
async fn start(options: Options) -> (String, Arc<Sessions>) {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = serve::bind(addr, options).await.expect("binds port 0");
    let base = format!("http://{}", server.local_addr().unwrap());
    let sessions = server.sessions();
    tokio::spawn(server.run());
    (base, sessions)
}

/// A request's status and its body as JSON (`null` when it is not JSON).
async fn send(
    method: Method,
    url: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> (u16, Value) {
    let (status, _, bytes) = common::request(method, url, content_type, body).await;
    (
        status.as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn post(url: &str, body: Value) -> (u16, Value) {
    send(Method::POST, url, "application/json", body.to_string()).await
}

async fn put(url: &str, body: Value) -> (u16, Value) {
    send(Method::PUT, url, "application/json", body.to_string()).await
}

/// Creates a session; returns its URL (`…/api/sessions/{id}`) and the reply.
async fn create(base: &str, settings: Value) -> (String, Value) {
    let (status, reply) = post(&format!("{base}/api/sessions"), settings).await;
    assert_eq!(status, 201, "create: {reply}");
    let id = reply["id"].as_str().expect("an id").to_string();
    (format!("{base}/api/sessions/{id}"), reply)
}

async fn control(session: &str, action: &str) -> Value {
    let (status, reply) = post(&format!("{session}/control"), json!({ "action": action })).await;
    assert_eq!(status, 200, "{action}: {reply}");
    reply
}

/// The session's settings and epoch, read with an empty settings change (which changes
/// nothing).
async fn state(session: &str) -> (Value, Value) {
    let (status, reply) = put(&format!("{session}/settings"), json!({})).await;
    assert_eq!(status, 200, "{reply}");
    (
        reply["settings"].clone(),
        reply["snapshot"]["epoch"].clone(),
    )
}

/// A session's snapshot stream.
struct Events(EventReader);

impl Events {
    async fn open(session: &str) -> Events {
        let response =
            common::open(Method::GET, &format!("{session}/events"), "", Bytes::new()).await;
        assert_eq!(response.status(), 200);
        let kind = response.headers()["content-type"].to_str().unwrap();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Events(EventReader::new(response.into_body()))
    }

    /// The next snapshot event's data.
    async fn next(&mut self) -> Value {
        loop {
            let event = self.0.next(Duration::from_secs(30)).await;
            if event.name == "snapshot" {
                return serde_json::from_str(&event.data).expect("an event's data is JSON");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_trains_live_until_the_test_loss_is_low() {
    let (base, _) = start(Options::default()).await;
    let (session, reply) = create(
        &base,
        json!({"dataset": "circle", "features": ["x1sq", "x2sq"], "seed": 1}),
    )
    .await;
    assert_eq!(reply["settings"]["layers"], json!([4, 2]));
    assert_eq!(reply["settings"]["lr"], json!(0.03));
    assert_eq!(reply["snapshot"]["epoch"], json!(0));

    let mut events = Events::open(&session).await;
    let first = events.next().await;
    assert_eq!(first["epoch"], json!(0));
    assert_eq!(first["losses"].as_array().unwrap().len(), 1);
    assert_eq!(first["points"]["train"].as_array().unwrap().len(), 250);
    assert_eq!(first["output"]["values"].as_array().unwrap().len(), 10_000);
    let neurons: Vec<usize> = first["neurons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_array().unwrap().len())
        .collect();
    assert_eq!(neurons, [2, 4, 2, 1]);

    assert_eq!(control(&session, "play").await["playing"], json!(true));
    let started = Instant::now();
    let mut expected_epoch = 1;
    let (mut events_seen, mut test_loss) = (0, f64::INFINITY);
    while test_loss >= 0.05 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "test loss still {test_loss} after {expected_epoch} epochs"
        );
        let event = events.next().await;
        events_seen += 1;
        // Every epoch's losses come once, in order.
        for loss in event["losses"].as_array().unwrap() {
            assert_eq!(loss["epoch"], json!(expected_epoch));
            expected_epoch += 1;
        }
        assert!(
            event["points"].is_null(),
            "points only when the data changes"
        );
        test_loss = event["test_loss"].as_f64().unwrap();
        assert_eq!(event["epoch"], json!(expected_epoch - 1));
    }
    let reply = control(&session, "pause").await;
    assert_eq!(reply["playing"], json!(false));
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "trained to test loss {test_loss:.4} in {} epochs, {events_seen} events, {seconds:.2} s",
        expected_epoch - 1
    );
}

/// A bad request: what to send, and the status and field of the answer.
struct Bad {
    path: &'static str,
    method: Method,
    content_type: &'static str,
    body: String,
    status: u16,
    field: Option<&'static str>,
}

fn bad_json(path: &'static str, method: Method, body: Value, field: &'static str) -> Bad {
    Bad {
        path,
        method,
        content_type: "application/json",
        body: body.to_string(),
        status: 400,
        field: Some(field),
    }
}

fn bad_settings(body: Value, field: &'static str) -> Bad {
    bad_json("/settings", Method::PUT, body, field)
}

fn bad_weight(body: Value, field: &'static str) -> Bad {
    bad_json("/weight", Method::PUT, body, field)
}

fn bad_requests() -> Vec<Bad> {
    let raw = |path, method, content_type, body: &str, status| Bad {
        path,
        method,
        content_type,
        body: body.to_string(),
        status,
        field: None,
    };
    vec![
        raw(
            "/settings",
            Method::PUT,
            "application/json",
            "{\"noise\": ",
            400,
        ),
        raw("/settings", Method::PUT, "application/json", "[1, 2]", 400),
        raw("/settings", Method::PUT, "text/plain", "{}", 415),
        raw("/control", Method::POST, "application/json", "{", 400),
        bad_settings(json!({"foo": 1}), "foo"),
        bad_settings(json!({"layers": [1, 2, 3, 4, 5, 6, 7]}), "layers"),
        bad_settings(json!({"layers": [9]}), "layers"),
        bad_settings(json!({"layers": [0]}), "layers"),
        bad_settings(json!({"layers": [2, -1]}), "layers"),
        bad_settings(json!({"lr": 0}), "lr"),
        bad_settings(json!({"lr": -0.1}), "lr"),
        bad_settings(json!({"lr": "fast"}), "lr"),
        bad_settings(json!({"batch": 31}), "batch"),
        bad_settings(json!({"batch": 0}), "batch"),
        bad_settings(json!({"noise": 51}), "noise"),
        bad_settings(json!({"noise": -1}), "noise"),
        bad_settings(json!({"train_percent": 95}), "train_percent"),
        bad_settings(json!({"reg_rate": -1}), "reg_rate"),
        bad_settings(json!({"features": []}), "features"),
        bad_settings(json!({"features": ["x1", "x1"]}), "features"),
        bad_settings(json!({"features": ["x1", "x3"]}), "features"),
        bad_settings(json!({"activation": "swish"}), "activation"),
        bad_settings(json!({"dataset": "moon"}), "dataset"),
        bad_settings(json!({"reg": "l3"}), "reg"),
        bad_settings(json!({"optimizer": "adam", "exact": true}), "optimizer"),
        bad_settings(json!({"dataset": "plane", "loss": "bce"}), "loss"),
        bad_settings(json!({"seed": 1.5}), "seed"),
        bad_json(
            "/control",
            Method::POST,
            json!({"action": "jump"}),
            "action",
        ),
        bad_json(
            "/control",
            Method::POST,
            json!({"action": "play", "speed": 2}),
            "speed",
        ),
        bad_weight(
            json!({"layer": 3, "neuron": 0, "input": 0, "value": 1}),
            "layer",
        ),
        bad_weight(
            json!({"layer": 0, "neuron": 4, "input": 0, "value": 1}),
            "neuron",
        ),
        bad_weight(
            json!({"layer": 1, "neuron": 0, "input": 4, "value": 1}),
            "input",
        ),
        bad_weight(json!({"layer": 0, "neuron": 0, "value": 1}), "input"),
        bad_weight(
            json!({"layer": 0, "neuron": 0, "input": 0, "value": "x"}),
            "value",
        ),
        bad_weight(
            json!({"layer": -1, "neuron": 0, "input": 0, "value": 1}),
            "layer",
        ),
        Bad {
            path: "/weight",
            method: Method::PUT,
            content_type: "application/json",
            body: r#"{"layer": 0, "neuron": 0, "input": 0, "value": 1e999}"#.into(),
            status: 400,
            field: Some("value"),
        },
        Bad {
            path: "/points",
            method: Method::POST,
            content_type: "text/csv",
            body: "x1,x2,label\n1,2,1\n3,zz,-1\n".into(),
            status: 400,
            field: Some("points"),
        },
        Bad {
            path: "/points",
            method: Method::POST,
            content_type: "text/csv",
            body: "1,2\n3,4\n".into(),
            status: 400,
            field: Some("points"),
        },
        Bad {
            path: "/points",
            method: Method::POST,
            content_type: "text/csv",
            body: "1,2,1\ninf,0,-1\n3,4,1\n".into(),
            status: 400,
            field: Some("points"),
        },
        Bad {
            path: "/points",
            method: Method::POST,
            content_type: "text/csv",
            body: "1,2,1\n".into(),
            status: 400,
            field: Some("points"),
        },
        Bad {
            path: "/points",
            method: Method::POST,
            content_type: "text/csv",
            body: "1,2,1\n".repeat(200_000),
            status: 413,
            field: None,
        },
        Bad {
            path: "/points",
            method: Method::POST,
            content_type: "text/csv",
            body: "1,2,1\n".repeat(10_002),
            status: 413,
            field: None,
        },
        Bad {
            path: "/points",
            method: Method::POST,
            content_type: "application/json",
            body: "{}".into(),
            status: 415,
            field: None,
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_names_its_field_and_changes_nothing() {
    let (base, sessions) = start(Options::default()).await;
    let (session, _) = create(&base, json!({"dataset": "xor", "noise": 10})).await;
    control(&session, "step").await;
    control(&session, "step").await;
    let before = state(&session).await;
    assert_eq!(before.1, json!(2));

    for bad in bad_requests() {
        let what = format!("{} {}: {:.60}", bad.method, bad.path, bad.body);
        let (status, reply) = send(
            bad.method.clone(),
            &format!("{session}{}", bad.path),
            bad.content_type,
            bad.body.clone(),
        )
        .await;
        assert_eq!(status, bad.status, "{what}: {reply}");
        let message = reply["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {reply}"));
        match bad.field {
            Some(field) => {
                assert_eq!(reply["field"], json!(field), "{what}: {reply}");
                assert!(message.contains(field), "{what}: {message}");
            }
            None => assert!(!message.is_empty()),
        }
        assert_eq!(state(&session).await, before, "{what} changed the session");
    }

    // A malformed CSV names its line.
    let (_, reply) = send(
        Method::POST,
        &format!("{session}/points"),
        "text/csv",
        "x1,x2,label\n1,2,1\n3,zz,-1\n",
    )
    .await;
    let message = reply["error"].as_str().unwrap();
    assert!(message.contains("line 3"), "{message}");

    // Bad settings for a new session create none.
    for (body, field) in [
        (json!({"batch": 31}), "batch"),
        (json!({"layers": [9]}), "layers"),
        (json!({"colour": "blue"}), "colour"),
    ] {
        let (status, reply) = post(&format!("{base}/api/sessions"), body).await;
        assert_eq!(
            (status, reply["field"].clone()),
            (400, json!(field)),
            "{reply}"
        );
    }
    assert_eq!(sessions.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_session_is_a_404_everywhere() {
    let (base, _) = start(Options::default()).await;
    let session = format!("{base}/api/sessions/0123456789abcdef");
    for (method, path, body) in [
        (Method::GET, "/events", ""),
        (Method::POST, "/control", r#"{"action": "play"}"#),
        (Method::PUT, "/settings", "{}"),
        (
            Method::PUT,
            "/weight",
            r#"{"layer":0,"neuron":0,"input":0,"value":1}"#,
        ),
        (Method::POST, "/points", "1,2,1\n3,4,-1\n"),
        (Method::GET, "/model.safetensors", ""),
        (Method::DELETE, "", ""),
    ] {
        let kind = if path == "/points" {
            "text/csv"
        } else {
            "application/json"
        };
        let (status, reply) = send(method.clone(), &format!("{session}{path}"), kind, body).await;
        assert_eq!(status, 404, "{method} {path}: {reply}");
        assert!(reply["error"].as_str().unwrap().contains("no session"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_too_many_is_a_503_and_a_deleted_one_makes_room() {
    let options = Options {
        max_sessions: 2,
        ..Options::default()
    };
    let (base, sessions) = start(options).await;
    let (first, _) = create(&base, json!({})).await;
    create(&base, json!({})).await;
    let (status, reply) = post(&format!("{base}/api/sessions"), json!({})).await;
    assert_eq!(status, 503, "{reply}");
    assert!(reply["error"].as_str().unwrap().contains("--max-sessions"));
    assert_eq!(sessions.len(), 2);

    let (status, _) = send(Method::DELETE, &first, "application/json", "").await;
    assert_eq!(status, 204);
    create(&base, json!({})).await;
    assert_eq!(sessions.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stream_frees_its_session_after_the_grace_period() {
    let options = Options {
        stream_grace: Duration::from_millis(300),
        ..Options::default()
    };
    let (base, sessions) = start(options).await;
    let (session, _) = create(&base, json!({})).await;
    let (kept, _) = create(&base, json!({})).await;
    let mut events = Events::open(&session).await;
    events.next().await;
    control(&session, "play").await;
    events.next().await;
    drop(events);

    let closed = Instant::now();
    while sessions.len() > 1 {
        assert!(
            closed.elapsed() < Duration::from_secs(10),
            "the session outlived its closed stream"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = put(&format!("{session}/settings"), json!({})).await;
    assert_eq!(status, 404);
    // A session that never had a stream waits for the idle timeout instead.
    assert_eq!(state(&kept).await.1, json!(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_is_freed_after_the_timeout() {
    let options = Options {
        idle_timeout: Duration::from_millis(300),
        ..Options::default()
    };
    let (base, sessions) = start(options).await;
    create(&base, json!({})).await;
    let started = Instant::now();
    while !sessions.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_apply_live_or_rebuild_and_weights_can_be_edited() {
    let (base, _) = start(Options::default()).await;
    let (session, _) = create(&base, json!({"dataset": "gauss"})).await;
    for _ in 0..3 {
        control(&session, "step").await;
    }
    // The learning rate and the penalty apply live.
    let (status, reply) = put(
        &format!("{session}/settings"),
        json!({"lr": 0.1, "reg": "l2", "reg_rate": 0.001}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["snapshot"]["epoch"], json!(3));
    assert_eq!(reply["settings"]["lr"], json!(0.1));
    assert_eq!(reply["settings"]["reg"], json!("l2"));
    // Anything else rebuilds.
    let (_, reply) = put(&format!("{session}/settings"), json!({"layers": [3]})).await;
    assert_eq!(reply["snapshot"]["epoch"], json!(0));
    assert_eq!(reply["settings"]["lr"], json!(0.1));
    let layers = reply["snapshot"]["network"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);

    // A link and a bias.
    let (status, reply) = put(
        &format!("{session}/weight"),
        json!({"layer": 1, "neuron": 0, "input": 2, "value": -1.25}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply["snapshot"]["network"]["layers"][1]["weights"][0][2],
        json!(-1.25)
    );
    let (_, reply) = put(
        &format!("{session}/weight"),
        json!({"layer": 0, "neuron": 1, "input": null, "value": 0.5}),
    )
    .await;
    assert_eq!(
        reply["snapshot"]["network"]["layers"][0]["biases"][1],
        json!(0.5)
    );

    // Regenerate takes the next seed; reset keeps it.
    control(&session, "regenerate").await;
    assert_eq!(state(&session).await.0["seed"], json!(1));
    control(&session, "step").await;
    let reply = control(&session, "reset").await;
    assert_eq!(reply["epoch"], json!(0));
    assert_eq!(state(&session).await.0["seed"], json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_points_train_and_a_dataset_goes_back_to_generated_data() {
    let (base, _) = start(Options::default()).await;
    let (session, _) = create(&base, json!({})).await;
    let mut csv = String::from("x1,x2,label\n");
    for i in 0..40 {
        let x = f64::from(i) / 4.0 - 5.0;
        csv.push_str(&format!(
            "{x},{},{}\n",
            -x / 2.0,
            if x > 0.0 { 1 } else { 0 }
        ));
    }
    let mut events = Events::open(&session).await;
    events.next().await;
    let (status, reply) = send(Method::POST, &format!("{session}/points"), "text/csv", csv).await;
    assert_eq!(status, 200, "{reply}");
    let points = &reply["snapshot"]["points"];
    let n = points["train"].as_array().unwrap().len() + points["test"].as_array().unwrap().len();
    assert_eq!(n, 40);
    // The stream sends the new points, and the history anew from epoch 0.
    let event = events.next().await;
    assert_eq!(event["points"]["train"].as_array().unwrap().len(), 20);
    assert_eq!(event["losses"][0]["epoch"], json!(0));

    let (_, reply) = put(&format!("{session}/settings"), json!({"dataset": "circle"})).await;
    assert_eq!(
        reply["snapshot"]["points"]["train"]
            .as_array()
            .unwrap()
            .len(),
        250
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_download_loads_as_a_state_dict() {
    let (base, _) = start(Options::default()).await;
    let (session, _) = create(&base, json!({"layers": [3]})).await;
    control(&session, "step").await;
    let (status, headers, bytes) = common::get(&format!("{session}/model.safetensors")).await;
    assert_eq!(status, 200);
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.contains("playground.safetensors"),
        "{disposition}"
    );
    let state = StateDict::<f64>::from_bytes(&bytes).expect("a safetensors file");
    assert_eq!(state.tensor("0.weight").unwrap().shape(), &[3, 2]);
    assert_eq!(state.tensor("2.weight").unwrap().shape(), &[1, 3]);
    assert_eq!(state.text("playground.features").unwrap(), "x1,x2");
    assert_eq!(state.u64("playground.epoch").unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_with_one_seed_train_to_the_same_bits() {
    let (base, _) = start(Options::default()).await;
    let settings = json!({"dataset": "spiral", "seed": 7, "batch": 7});
    let mut networks = Vec::new();
    for _ in 0..2 {
        let (session, _) = create(&base, settings.clone()).await;
        for _ in 0..5 {
            control(&session, "step").await;
        }
        let (_, reply) = put(&format!("{session}/settings"), json!({})).await;
        networks.push(reply["snapshot"]["network"].to_string());
    }
    assert_eq!(networks[0], networks[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served() {
    let (base, _) = start(Options::default()).await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/style.css", "text/css"),
    ] {
        let (status, headers, body) = common::get(&format!("{base}{path}")).await;
        assert_eq!(status, 200, "{path}");
        let got = headers["content-type"].to_str().unwrap().to_string();
        assert!(got.starts_with(kind), "{path}: {got}");
        assert!(!body.is_empty());
    }
}

#[test]
fn the_binary_says_where_it_serves_and_refuses_training_flags() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_shendu-playground"))
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        line.starts_with("shendu-playground: serving on http://127.0.0.1:")
            && line.contains("local only; --host 0.0.0.0 to share"),
        "{line}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_shendu-playground"))
        .args(["--batch", "3", "serve"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = Command::new(env!("CARGO_BIN_EXE_shendu-playground"))
        .args(["serve", "--max-sessions", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--max-sessions"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_stream_gets_a_long_history_thinned() {
    let (base, _) = start(Options::default()).await;
    let (session, _) = create(&base, json!({"layers": [2]})).await;
    let mut events = Events::open(&session).await;
    events.next().await;
    control(&session, "play").await;
    let started = Instant::now();
    while events.next().await["epoch"].as_u64().unwrap() <= 4500 {
        assert!(started.elapsed() < Duration::from_secs(60), "too slow");
    }
    let epoch = control(&session, "pause").await["epoch"].clone();
    drop(events);
    let mut events = Events::open(&session).await;
    let first = events.next().await;
    let losses = first["losses"].as_array().unwrap();
    assert_eq!(losses.len(), serve::routes::MAX_HISTORY_SENT);
    assert_eq!(losses[0]["epoch"], json!(0));
    assert_eq!(losses[losses.len() - 1]["epoch"], epoch);
    assert!(losses
        .windows(2)
        .all(|w| w[0]["epoch"].as_u64() < w[1]["epoch"].as_u64()));
}
