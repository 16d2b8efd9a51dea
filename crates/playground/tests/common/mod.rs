//! The tests' HTTP/1.1 client: one request per connection, on the hyper, tokio and body crates
//! the server already builds, so that the tests add no client library (and its URL, idna and
//! ICU crates) to a cold build. Enough for a server on 127.0.0.1 and for chromedriver: plain
//! HTTP, no TLS, no redirects, no pooling.

// Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::time::Duration;

use http_body_util::{BodyExt, Full};
pub use hyper::body::Bytes;
use hyper::body::Incoming;
pub use hyper::{HeaderMap, Method, StatusCode};
use hyper_util::rt::TokioIo;

/// Sends one request and reads the whole answer: its status, headers and body. An empty
/// `content_type` sends none. Panics, naming the URL, when the server cannot be reached.
pub async fn request(
    method: Method,
    url: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> (StatusCode, HeaderMap, Bytes) {
    let response = open(method, url, content_type, body.into()).await;
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{url}: the body reads: {e}"))
        .to_bytes();
    (parts.status, parts.headers, bytes)
}

/// `GET url`, whole.
pub async fn get(url: &str) -> (StatusCode, HeaderMap, Bytes) {
    request(Method::GET, url, "", Bytes::new()).await
}

/// Sends a request and returns the answer as soon as its head is in, its body still to read
/// (a stream that never ends, for server-sent events). The connection lives as long as the
/// body: dropping the body closes it, which is how the server learns a tab closed.
pub async fn open(
    method: Method,
    url: &str,
    content_type: &str,
    body: Bytes,
) -> hyper::Response<Incoming> {
    let uri: hyper::Uri = url
        .parse()
        .unwrap_or_else(|e| panic!("{url} is not a URL: {e}"));
    assert_eq!(uri.scheme_str(), Some("http"), "{url}: plain HTTP only");
    let authority = uri
        .authority()
        .unwrap_or_else(|| panic!("{url} has no host"))
        .clone();
    let stream = tokio::net::TcpStream::connect(authority.as_str())
        .await
        .unwrap_or_else(|e| panic!("{url}: cannot connect: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap_or_else(|e| panic!("{url}: the HTTP handshake: {e}"));
    // The connection is driven by its own task; it ends when the answer's body is dropped or
    // read to its end. Its error, if any, shows up in the request or the body read instead.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, authority.as_str());
    if !content_type.is_empty() {
        builder = builder.header(hyper::header::CONTENT_TYPE, content_type);
    }
    let request = builder
        .body(Full::new(body))
        .unwrap_or_else(|e| panic!("{url}: a request: {e}"));
    sender
        .send_request(request)
        .await
        .unwrap_or_else(|e| panic!("{url}: the server answers: {e}"))
}

/// One server-sent event: its `event:` name (empty when it has none) and its `data:` lines
/// joined.
#[derive(Debug)]
pub struct Event {
    /// The `event:` field.
    pub name: String,
    /// The `data:` fields, joined by newlines.
    pub data: String,
}

/// Reads server-sent events from a streamed body, frame by frame: an event may arrive split
/// over several frames, or several in one.
pub struct EventReader {
    body: Incoming,
    // Bytes, not text: a frame may end inside a character (the loss name's ½).
    buffer: Vec<u8>,
}

impl EventReader {
    /// Reads the events of `body` (an answer from [`open`]).
    pub fn new(body: Incoming) -> EventReader {
        EventReader {
            body,
            buffer: Vec::new(),
        }
    }

    /// The next event; blocks that carry no field (comments such as keep-alives) are
    /// skipped. Panics if no event comes within `wait` of the last frame, or the stream ends.
    pub async fn next(&mut self, wait: Duration) -> Event {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let bytes: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let block = String::from_utf8(bytes).expect("an event is UTF-8");
                let (mut name, mut data, mut fields) = (String::new(), Vec::new(), 0);
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event:") {
                        name = e.trim().to_string();
                        fields += 1;
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
                        fields += 1;
                    }
                }
                if fields > 0 {
                    return Event {
                        name,
                        data: data.join("\n"),
                    };
                }
                continue;
            }
            let frame = tokio::time::timeout(wait, self.body.frame())
                .await
                .unwrap_or_else(|_| panic!("no event within {wait:?}"))
                .expect("the stream stays open")
                .expect("the stream reads");
            if let Ok(data) = frame.into_data() {
                self.buffer.extend_from_slice(&data);
            }
        }
    }
}
