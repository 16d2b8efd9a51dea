//! How fast `shendu-playground serve` trains at the Playground's defaults (circle, 2 inputs,
//! [4, 2] tanh, batch 10, learning rate 0.03), as a page sees it: the server runs in-process on
//! 127.0.0.1, and a real HTTP/1 client creates sessions (`POST /api/sessions` with `{}`), opens
//! their event streams and presses play. Per round of S seconds it counts, per session, the
//! epochs trained per second (the snapshots' `epoch`: last − first over the time between
//! them), the snapshots received per second and their size; with 1 session, then with 4 at once
//! (how they share the cores). It prints medians over the rounds and their ratio to the original
//! Playground's epochs per second in a browser ([`ORIGINAL_EPOCHS_PER_SECOND`]).
//!
//! `cargo run --release -p shendu-playground --example serve_speed [-- --rounds N --seconds S]`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use shendu_playground::serve::{self, Options};

#[path = "../../../benches/machine.rs"]
mod machine;

/// The original TensorFlow Playground (github.com/tensorflow/playground @ 02469bd, built with
/// `npm run build`, served from `dist/`) at its defaults, in epochs per second: measured on this
/// machine (Intel Xeon, AVX-512, 2 cores shared with other builds) on 2026-11-30 in headless
/// Chromium 148.0.7778.167 (`--headless --disable-gpu`: software rendering, 60 Hz animation
/// frames while paused) by a WebDriver script that pressed play and read `#iter-number`: the
/// median of 5 rounds of 10 s. Three runs gave medians of 33.5, 44.5 and 45.7 as the load
/// varied; the highest is used, so the ratio is the least flattering. It trains one epoch per
/// animation frame (`d3.timer` in `Player.start`, calling `oneStep`, src/playground.ts lines
/// 133–140 and 909–922), so no browser goes beyond its frame rate, 60 Hz on most screens.
const ORIGINAL_EPOCHS_PER_SECOND: f64 = 45.7;

/// What a stream saw of one snapshot.
struct Seen {
    at: Instant,
    epoch: u64,
    bytes: usize,
}

/// One round of one session: epochs/s, snapshots/s, KiB per snapshot.
type Rates = [f64; 3];

/// Sends one request on a new connection; the status and the body.
async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, hyper::body::Incoming) {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid request");
    let response = sender.send_request(request).await.expect("a response");
    (response.status().as_u16(), response.into_body())
}

/// Creates a session at the defaults, opens its stream and presses play; its id, and the list
/// the stream's snapshots are appended to as they come.
async fn start_session(addr: std::net::SocketAddr) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let (status, body) = request(addr, "POST", "/api/sessions", "{}").await;
    let created: serde_json::Value =
        serde_json::from_slice(&body.collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("an id").to_string();
    let (_, mut events) = request(addr, "GET", &format!("/api/sessions/{id}/events"), "").await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    tokio::spawn(async move {
        // Events end with a blank line; a snapshot is one `data:` line of JSON.
        let mut pending = Vec::new();
        while let Some(Ok(frame)) = events.frame().await {
            pending.extend_from_slice(frame.data_ref().map_or(&[][..], |d| d));
            while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = pending.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&event);
                let Some(data) = text.lines().find_map(|l| l.strip_prefix("data:")) else {
                    continue;
                };
                let snapshot: serde_json::Value = serde_json::from_str(data.trim()).expect("JSON");
                let epoch = snapshot["epoch"].as_u64().expect("an epoch");
                sink.lock().unwrap().push(Seen {
                    at: Instant::now(),
                    epoch,
                    bytes: data.len(),
                });
            }
        }
    });
    let (status, _) = request(
        addr,
        "POST",
        &format!("/api/sessions/{id}/control"),
        r#"{"action":"play"}"#,
    )
    .await;
    assert_eq!(status, 200);
    (id, seen)
}

/// The rates of one session over the snapshots `seen` in a round: both over the time from the
/// first snapshot to the last, so that where the round cuts the cadence does not count.
fn rates(seen: &[Seen]) -> Rates {
    let (first, last) = (&seen[0], &seen[seen.len() - 1]);
    let span = (last.at - first.at).as_secs_f64();
    let bytes = seen.iter().map(|s| s.bytes).sum::<usize>() as f64 / seen.len() as f64;
    [
        (last.epoch - first.epoch) as f64 / span,
        (seen.len() - 1) as f64 / span,
        bytes / 1024.0,
    ]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs `rounds` rounds of `seconds` on `n` sessions at once and prints a line for each and
/// the medians (over the rounds, of the sessions' mean); returns the median epochs/s of one
/// session.
async fn measure(addr: std::net::SocketAddr, n: usize, rounds: usize, seconds: f64) -> f64 {
    let (mut ids, mut streams) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let (id, seen) = start_session(addr).await;
        ids.push(id);
        streams.push(seen);
    }
    // A warm-up: the first snapshots come before play, and the threads start.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut all: Vec<Rates> = Vec::new();
    for round in 1..=rounds {
        streams.iter().for_each(|s| s.lock().unwrap().clear());
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        let per: Vec<Rates> = streams.iter().map(|s| rates(&s.lock().unwrap())).collect();
        let mean = |i: usize| per.iter().map(|r| r[i]).sum::<f64>() / n as f64;
        let r = [mean(0), mean(1), mean(2)];
        row(n, &round, r);
        all.push(r);
    }
    // Freed, so that they do not slow the next measurement.
    for id in ids {
        let (status, _) = request(addr, "DELETE", &format!("/api/sessions/{id}"), "").await;
        assert_eq!(status, 204);
    }
    let m = |i: usize| median(all.iter().map(|r| r[i]).collect());
    row(n, &"median", [m(0), m(1), m(2)]);
    m(0)
}

/// A line of the table: `n` sessions, a round (or "median"), the rates of one session.
fn row(n: usize, round: &dyn std::fmt::Display, r: Rates) {
    let all = r[0] * n as f64;
    println!(
        "{n:>8} {round:>6} {all:>10.0} {:>10.0} {:>12.1} {:>8.1}",
        r[0], r[1], r[2]
    );
}

/// The command line, for `--help`.
const USAGE: &str = "serve_speed [--rounds R] [--seconds S]";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: {USAGE}");
        return;
    }
    let flag = |name: &str, default: f64| {
        args.iter()
            .position(|a| a == name)
            .map_or(default, |i| args[i + 1].parse().expect("a number"))
    };
    let (rounds, seconds) = (flag("--rounds", 3.0) as usize, flag("--seconds", 5.0));
    println!("{}", machine::describe(shendu_tensor::matmul_simd()));
    println!("{rounds} rounds of {seconds} s");

    let server = serve::bind(([127, 0, 0, 1], 0).into(), Options::default())
        .await
        .expect("binds");
    let addr = server.local_addr().expect("an address");
    tokio::spawn(server.run());

    println!("epochs/s of all sessions together; the other figures per session (their mean)");
    println!(
        "{:>8} {:>6} {:>10} {:>10} {:>12} {:>8}",
        "sessions", "round", "epochs/s", "each", "snapshots/s", "KiB/snap"
    );
    let one = measure(addr, 1, rounds, seconds).await;
    measure(addr, 4, rounds, seconds).await;
    println!(
        "original Playground in a browser: {ORIGINAL_EPOCHS_PER_SECOND} epochs/s (tensorflow/playground, \
         measured in headless Chromium 148 on this machine on 2026-11-30: ORIGINAL_EPOCHS_PER_SECOND)"
    );
    println!(
        "1 session: {:.0}× the original's measured rate, {:.0}× its ceiling of one epoch per 60 Hz frame",
        one / ORIGINAL_EPOCHS_PER_SECOND,
        one / 60.0
    );
}
