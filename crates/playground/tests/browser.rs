//! The Playground page in a real browser: headless Chromium driven through chromedriver
//! (WebDriver, plain HTTP JSON), against the server started in-process on port 0. It proves
//! what the HTTP tests cannot: that the page's script starts a session, draws the stream, and
//! that its buttons, menus and URL hash work for a user:
//! - the page draws its first snapshot; a click on play trains until the shown test loss is
//!   low; a screenshot is saved to `target/browser/playground.png` for a person to look at;
//! - a learning rate chosen in the menu reaches the URL hash and the server's session;
//! - a link with a hash opens with its settings in the controls and in the session.
//!
//! Ignored by default because it needs Debian's `chromium` and `chromium-driver`; when run, a
//! missing one is a failure naming the package, never a skip, so that CI cannot pass without
//! having looked.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Bytes, Method};
use serde_json::{json, Value};
use shendu_playground::serve::{self, Options};

const HOW_TO_RUN: &str = "cargo test --release -p shendu-playground --test browser -- --ignored";

/// The default page (circle, x₁ and x₂, [4, 2] tanh, SGD at 0.03, seed 0) passes this test
/// loss after about 150 epochs, well under a second of training; 0.02 is low enough that only
/// a network that learned the circle shows it.
const TEST_LOSS_BOUND: f64 = 0.02;

/// How long the page may take to train to [`TEST_LOSS_BOUND`] on a loaded 2-core machine.
const TRAINING_WAIT: Duration = Duration::from_secs(60);

/// How long a page may take to load, or a control to show the server's answer.
const PAGE_WAIT: Duration = Duration::from_secs(20);

/// The path of `program` on `PATH`; a failure naming the Debian package when it is missing.
fn require(program: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{program}` is not on PATH: install Debian's package `{package}` \
                 (sudo apt-get install chromium chromium-driver), then run: {HOW_TO_RUN}"
            )
        })
}

/// A free port on 127.0.0.1, for chromedriver (which takes a port, not a listener). Another
/// process could take it before chromedriver does; the wait for `/status` would then name it.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// The chromedriver process, killed when dropped, so that a failing test leaves none behind.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    /// Starts chromedriver and waits until it says it is ready.
    async fn start(program: &Path) -> Chromedriver {
        let port = free_port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", program.display()));
        let mut driver = Chromedriver { child, port };
        let started = Instant::now();
        loop {
            if let Some(status) = driver.child.try_wait().expect("chromedriver's status") {
                panic!("chromedriver exited at start ({status}); was port {port} taken?");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                let (_, _, body) = common::get(&format!("{}/status", driver.url())).await;
                let status: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if status["value"]["ready"] == json!(true) {
                    return driver;
                }
            }
            assert!(
                started.elapsed() < PAGE_WAIT,
                "chromedriver on port {port} not ready after {PAGE_WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session through WebDriver. Dropping it ends the session (Chromium
/// quits), then chromedriver, then removes the browser's profile directory.
struct WebDriver {
    /// `http://127.0.0.1:{port}/session/{id}`.
    session: String,
    driver: Chromedriver,
    _profile: tempfile::TempDir,
}

/// The key WebDriver names an element reference by (W3C WebDriver, "web element identifier").
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl WebDriver {
    /// Starts chromedriver and a headless Chromium with a new, empty profile.
    async fn start(chromium: &Path, chromedriver: &Path) -> WebDriver {
        let driver = Chromedriver::start(chromedriver).await;
        let profile = tempfile::tempdir().expect("a temporary profile directory");
        // As root Chromium needs --no-sandbox; without the background-networking flags it
        // waits on the closed network (updates, sync, QUIC probes).
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1400,1000".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let reply = command(
            Method::POST,
            &format!("{}/session", driver.url()),
            capabilities,
        )
        .await;
        let id = reply["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver gave no session id: {reply}"));
        WebDriver {
            session: format!("{}/session/{id}", driver.url()),
            driver,
            _profile: profile,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Value) -> Value {
        command(method, &format!("{}{path}", self.session), body).await
    }

    /// Opens `url` and returns when the page has loaded (its script then starts a session).
    async fn goto(&self, url: &str) {
        self.call(Method::POST, "/url", json!({ "url": url })).await;
    }

    /// The reference of the element `css` selects.
    async fn find(&self, css: &str) -> String {
        let reply = self
            .call(
                Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        reply[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {reply}"))
            .to_string()
    }

    /// Clicks `css` as a user would: the browser scrolls it into view and sends a real mouse
    /// click (refused if something covers it), unlike a click from JavaScript.
    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    /// The rendered text of `css`.
    async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        let reply = self
            .call(
                Method::GET,
                &format!("/element/{element}/text"),
                Value::Null,
            )
            .await;
        reply.as_str().unwrap_or_default().to_string()
    }

    /// Runs `script` (a function body: `return …` gives its value) in the page.
    async fn execute(&self, script: &str) -> Value {
        self.call(
            Method::POST,
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// The window's content as PNG bytes.
    async fn screenshot(&self) -> Vec<u8> {
        let reply = self.call(Method::GET, "/screenshot", Value::Null).await;
        base64_decode(reply.as_str().expect("a screenshot is base64 text"))
    }

    /// Polls `probe` until it returns a value, for at most `wait`; the failure says `what` was
    /// waited for and the last thing seen.
    async fn wait_for<T, F, Fut>(&self, what: &str, wait: Duration, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        let started = Instant::now();
        loop {
            match probe().await {
                Ok(value) => return value,
                Err(seen) => assert!(
                    started.elapsed() < wait,
                    "waited {wait:?} for {what}; last seen: {seen}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for WebDriver {
    /// Ends the session so that Chromium quits before chromedriver is killed (killing only
    /// chromedriver would leave the browser running). Plain blocking I/O: a drop cannot wait
    /// on the async client, and this also runs while a failed test unwinds.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let path = self
            .session
            .trim_start_matches(&self.driver.url())
            .to_string();
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.driver.port)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.driver.port
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            let _ = stream.read_to_end(&mut Vec::new());
        }
    }
}

/// A WebDriver command; its `value`, or a failure naming the command and WebDriver's error.
async fn command(method: Method, url: &str, body: Value) -> Value {
    let what = format!("{method} {url}");
    let payload = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let content_type = if body.is_null() {
        ""
    } else {
        "application/json"
    };
    let (status, _, bytes) = common::request(method, url, content_type, payload).await;
    let reply: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{what}: {status}, not JSON: {bytes:?}"));
    assert!(
        status.is_success(),
        "{what}: {status}: {} {}",
        reply["value"]["error"],
        reply["value"]["message"]
    );
    reply["value"].clone()
}

/// Standard base64 (RFC 4648, with padding), as WebDriver sends screenshots; no crate needed
/// for a test.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("{:?} is not base64", char::from(c)),
        }
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut bytes = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut n = 0;
        for (k, &c) in chunk.iter().enumerate() {
            n |= value(c) << (18 - 6 * k);
        }
        let whole = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        bytes.extend_from_slice(&whole[..chunk.len() - 1]);
    }
    bytes
}

/// A server on a free port of 127.0.0.1, serving in the background of the test's runtime.
async fn start_server() -> String {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = serve::bind(addr, Options::default())
        .await
        .expect("binds port 0");
    let base = format!("http://{}", server.local_addr().unwrap());
    tokio::spawn(server.run());
    base
}

/// The settings and epoch of the page's session, as the server holds them (an empty settings change
/// changes nothing and answers with them). The page keeps its session id in `Api.id`.
async fn server_state(browser: &WebDriver, base: &str) -> (Value, u64) {
    let id = browser.execute("return Api.id;").await;
    let id = id.as_str().expect("the page has a session");
    let (status, _, body) = common::request(
        Method::PUT,
        &format!("{base}/api/sessions/{id}/settings"),
        "application/json",
        "{}",
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let reply: Value = serde_json::from_slice(&body).expect("JSON");
    let epoch = reply["snapshot"]["epoch"].as_u64().expect("an epoch");
    (reply["settings"].clone(), epoch)
}

/// An epoch as the page shows it: six digits at least, thousands separated by commas.
fn format_epoch(epoch: u64) -> String {
    let digits = format!("{epoch:06}");
    let mut shown = String::new();
    for (k, digit) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            shown.push(',');
        }
        shown.push(digit);
    }
    shown
}

/// Waits until the page shows its session's first snapshot: the losses are drawn only from
/// one (the HTML's placeholder is a dash).
async fn wait_for_first_snapshot(browser: &WebDriver) {
    browser
        .wait_for("the page's first snapshot", PAGE_WAIT, || async move {
            let loss = browser.text("#test-loss").await;
            match loss.parse::<f64>() {
                Ok(_) => Ok(()),
                Err(_) => Err(format!("test loss {loss:?}")),
            }
        })
        .await;
}

/// The page's URL hash, where it keeps its whole state.
async fn hash(browser: &WebDriver) -> String {
    let hash = browser.execute("return location.hash;").await;
    hash.as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's chromium and chromium-driver; run: cargo test --release -p shendu-playground --test browser -- --ignored"]
async fn the_page_trains_follows_its_controls_and_reproduces_a_link() {
    let chromium = require("chromium", "chromium");
    let chromedriver = require("chromedriver", "chromium-driver");
    let base = start_server().await;
    let owned = WebDriver::start(&chromium, &chromedriver).await;
    // A reference, which the polling closures copy into each of their futures.
    let browser = &owned;

    // The default page: play, and it learns the circle.
    browser.goto(&format!("{base}/")).await;
    wait_for_first_snapshot(browser).await;
    assert_eq!(browser.text("#epoch").await, "000,000");
    browser.click("#play").await;
    let started = Instant::now();
    let loss = browser
        .wait_for(
            &format!("the shown test loss to fall below {TEST_LOSS_BOUND}"),
            TRAINING_WAIT,
            || async move {
                let loss = browser.text("#test-loss").await;
                match loss.parse::<f64>() {
                    Ok(value) if value < TEST_LOSS_BOUND => Ok(value),
                    _ => Err(format!(
                        "test loss {loss:?} at epoch {}",
                        browser.text("#epoch").await
                    )),
                }
            },
        )
        .await;
    eprintln!(
        "the page trained to test loss {loss} (shown at epoch {}) in {:.1} s",
        browser.text("#epoch").await,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        browser
            .execute("return document.querySelector('#play').getAttribute('aria-pressed');")
            .await,
        json!("true"),
        "the play button shows pause while training"
    );

    // Pause, so that the picture shows a settled state, and keep it for a person to look at.
    browser.click("#play").await;
    browser
        .wait_for(
            "the play button to show play again",
            PAGE_WAIT,
            || async move {
                let pressed = browser
                    .execute("return document.querySelector('#play').getAttribute('aria-pressed');")
                    .await;
                if pressed == json!("false") {
                    Ok(())
                } else {
                    Err(format!("aria-pressed {pressed}"))
                }
            },
        )
        .await;
    // The stream's last snapshot, sent after the pause, shows where training stopped.
    let (_, paused_at) = server_state(browser, &base).await;
    let epoch = format_epoch(paused_at);
    let wanted = epoch.as_str();
    browser
        .wait_for(
            "the page to show the epoch it paused at",
            PAGE_WAIT,
            || async move {
                let shown = browser.text("#epoch").await;
                if shown == wanted {
                    Ok(())
                } else {
                    Err(format!("{shown}, the server {wanted}"))
                }
            },
        )
        .await;
    let png = browser.screenshot().await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser/playground.png");
    std::fs::create_dir_all(path.parent().unwrap()).expect("target/browser is writable");
    std::fs::write(&path, &png).expect("the screenshot is written");
    let path = path.canonicalize().expect("the screenshot's path");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is not a PNG"
    );
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(
        png.len() > 20_000 && width >= 800 && height >= 600,
        "the screenshot is {width}×{height}, {} bytes: too small to show the page",
        png.len()
    );
    eprintln!(
        "screenshot: {} ({width}×{height}, {} bytes)",
        path.display(),
        png.len()
    );

    // A learning rate chosen in the menu, as a user does: the hash follows once the server has
    // accepted it (the page writes the hash from the server's answer), and the session has it.
    assert!(hash(browser).await.contains("lr=0.03"));
    // As Selenium's Select does: a click on the option picks it and fires the change event.
    browser.click("#learning-rate option[value='0.1']").await;
    browser
        .wait_for("lr=0.1 in the URL hash", PAGE_WAIT, || async move {
            let hash = hash(browser).await;
            if hash.split(['#', '&']).any(|p| p == "lr=0.1") {
                Ok(())
            } else {
                Err(hash)
            }
        })
        .await;
    let (settings, now) = server_state(browser, &base).await;
    assert_eq!(
        settings["lr"],
        json!(0.1),
        "the server's session: {settings}"
    );
    // The learning rate applies live: the trained network stays.
    assert_eq!(now, paused_at, "the epoch after a change of learning rate");
    assert_eq!(browser.text("#epoch").await, epoch);

    // A data set picked by its thumbnail rebuilds the session on the new data.
    browser.click("#dataset-xor").await;
    browser
        .wait_for("dataset=xor in the URL hash", PAGE_WAIT, || async move {
            let hash = hash(browser).await;
            if hash.split(['#', '&']).any(|p| p == "dataset=xor") {
                Ok(())
            } else {
                Err(hash)
            }
        })
        .await;
    let (settings, _) = server_state(browser, &base).await;
    assert_eq!(settings["dataset"], json!("xor"), "{settings}");

    // A link with a hash opens with its settings, in the controls and in the new session. By
    // way of a blank page: from the page itself, a URL that differs only in its hash is a jump
    // within the page, not a load, and the page does not follow hash changes.
    browser.goto("about:blank").await;
    browser
        .goto(&format!("{base}/#lr=0.1&dataset=xor&seed=7"))
        .await;
    wait_for_first_snapshot(browser).await;
    let shown = browser
        .wait_for("the link's settings in the controls", PAGE_WAIT, || async move {
            let shown = browser
                .execute(
                    "return {lr: document.querySelector('#learning-rate').value, \
                     seed: document.querySelector('#seed').value, \
                     xor: document.querySelector('#dataset-xor').getAttribute('aria-pressed'), \
                     circle: document.querySelector('#dataset-circle').getAttribute('aria-pressed')};",
                )
                .await;
            if shown["seed"] == json!("7") {
                Ok(shown)
            } else {
                Err(shown.to_string())
            }
        })
        .await;
    assert_eq!(
        shown,
        json!({"lr": "0.1", "seed": "7", "xor": "true", "circle": "false"})
    );
    let hash = hash(browser).await;
    for part in ["lr=0.1", "dataset=xor", "seed=7"] {
        assert!(
            hash.split(['#', '&']).any(|p| p == part),
            "{part} in {hash}"
        );
    }
    let (settings, _) = server_state(browser, &base).await;
    assert_eq!(
        (&settings["lr"], &settings["dataset"], &settings["seed"]),
        (&json!(0.1), &json!("xor"), &json!(7)),
        "the server's session: {settings}"
    );
    assert_eq!(browser.text("#epoch").await, "000,000");
}
