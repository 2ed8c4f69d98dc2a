//! A real browser against the lite connection
//! (`ssekit::adapters::http::lite::serve_connection`).
//!
//! Every request of the test is served by the lite connection on
//! 127.0.0.1, one connection each: the page, its event stream, and the
//! page's report. Headless Chromium opens the page; its `EventSource` reads
//! `/events`, and the page sends everything it saw as JSON in the query of
//! `GET /report?r=...` (the lite connection takes no request bodies). The
//! test then checks that the browser received:
//!
//! - multi-line data: CRLF, a lone CR and LF inside an event's data,
//!   encoded by the codec, arrive as LF breaks; a frame written by hand
//!   with CRLF and lone-CR line endings on the wire is read as well;
//! - a named event (`addEventListener`), IDs (`lastEventId`), UTF-8 data
//!   and leading spaces kept, a comment and heartbeats ignored;
//! - a reconnection: the first response sends events 1 to 3, then a frame
//!   with only `retry: R`, and ends (the last chunk, then the close); the
//!   browser reconnects after R with `Last-Event-ID: 3`, and the second
//!   response, from a channel, sends 4 to 6 and a final `done` event, after
//!   which the page closes the `EventSource`. Every event arrives exactly
//!   once, in order; R is 3.5 s, longer than Chromium's default of 3 s, so
//!   the gap shows that the `retry:` at the stream's end was obeyed;
//! - that the server sees the client leave: after `close()`, the lite
//!   connection, watching the socket while the body waits, drops the body,
//!   and the channel's `Sender::closed` completes.
//!
//! Chromium is `/usr/bin/chromium` (or `chromium` on the `PATH`); without
//! it the test fails and says how to install it.

mod browser_common;

use core::net::SocketAddr;
use core::task::Poll;
use core::time::Duration;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use browser_common::{check_messages, check_reconnection, expected_messages, Browser};
use bytes::Bytes;
use futures::stream::{self, StreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use ssekit::adapters::http::{channel, lite, LastEventId, SseBody};
use ssekit::{Event, EventRef};
use tokio::sync::mpsc;

type BoxError = Box<dyn core::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// The reconnection time the end of the first stream sets, in
/// milliseconds. Longer than Chromium's default of 3000 ms, so that obeying
/// it is observable.
const RETRY_MS: u64 = 3500;

/// How long the whole exchange may take before the test gives up.
const REPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the server may take to notice that the page closed the stream.
const CLIENT_GONE_TIMEOUT: Duration = Duration::from_secs(15);

/// The heartbeat interval of the resumed stream.
const RESUMED_KEEP_ALIVE: Duration = Duration::from_millis(250);

/// How many events the first connection sends before its `retry:` frame.
const FIRST_CONNECTION_EVENTS: usize = 3;

const PAGE: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>ssekit lite EventSource test</title></head>
<body>
<script>
"use strict";
const log = { messages: [], opens: [], errors: [] };
let reported = false;
function stamp() { return { t: performance.now(), wall: Date.now() }; }
function send(kind, extra) {
  const results = Object.assign({ kind: kind, log: log }, extra || {});
  return fetch("/report?r=" + encodeURIComponent(JSON.stringify(results)));
}
function fail(message) {
  if (reported) return;
  reported = true;
  send("error", { message: String(message) });
}
window.addEventListener("error", (e) => fail("uncaught: " + e.message + " at " + e.lineno + ":" + e.colno));
window.addEventListener("unhandledrejection", (e) => fail("unhandled rejection: " + e.reason));
try {
  const es = new EventSource("/events");
  function record(e) {
    const s = stamp();
    log.messages.push({ type: e.type, data: e.data, lastEventId: e.lastEventId, t: s.t, wall: s.wall });
  }
  es.onmessage = record;
  es.addEventListener("greeting", record);
  es.addEventListener("done", (e) => {
    record(e);
    es.close();
    if (reported) return;
    reported = true;
    send("report", { readyState: es.readyState });
  });
  es.onopen = () => { const s = stamp(); s.readyState = es.readyState; log.opens.push(s); };
  es.onerror = () => {
    const s = stamp();
    s.readyState = es.readyState;
    log.errors.push(s);
    if (es.readyState === EventSource.CLOSED) fail("the EventSource gave up (readyState CLOSED)");
  };
  setTimeout(() => fail("no `done` event after 50 s"), 50000);
} catch (e) {
  fail("exception: " + e);
}
</script>
</body>
</html>
"#;

/// Every event the server has, in order, as frames: the frame at index `i`
/// is the event with the ID `i + 1`.
fn script() -> Vec<Bytes> {
    let event = |builder: ssekit::EventBuilder| builder.build().expect("valid event").to_bytes();
    vec![
        // CRLF, a lone CR and LF inside the data: the encoder splits them
        // into data lines.
        event(Event::builder().id("1").data("a\r\nb\rc\nd")),
        event(
            Event::builder()
                .id("2")
                .event_type("greeting")
                .data("named event two"),
        ),
        // Written by hand on purpose: CRLF and lone-CR line endings on the
        // wire, which the encoder never writes.
        Bytes::from_static(
            b"id: 3\r\nevent: greeting\r\ndata: crlf\r\ndata: lone cr\rdata: lf\n\r\n",
        ),
        event(Event::builder().id("4").data("multi\nline\nfour")),
        event(
            Event::builder()
                .id("5")
                .event_type("greeting")
                .data("h\u{e9}llo \u{2603} five"),
        ),
        event(Event::builder().id("6").data("  leading spaces kept")),
        event(Event::builder().id("7").event_type("done").data("bye")),
    ]
}

/// One request, as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    path: String,
    /// The raw `Last-Event-ID` header, if any.
    raw_header: Option<String>,
    /// What `LastEventId::from_headers` gave.
    last_event_id: Option<String>,
}

struct Shared {
    requests: Mutex<Vec<Seen>>,
    /// When the first stream's body reached its end.
    first_end: Mutex<Option<Instant>>,
    /// When the producer of the resumed stream saw the client leave.
    client_gone: Mutex<Option<Instant>>,
    /// Problems seen on the server side, the lite connection's errors too.
    server_errors: Mutex<Vec<String>>,
    reports: mpsc::UnboundedSender<Value>,
}

impl Shared {
    fn error(&self, message: String) {
        self.server_errors.lock().unwrap().push(message);
    }

    fn event_requests(&self) -> Vec<Seen> {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .filter(|seen| seen.path == "/events")
            .cloned()
            .collect()
    }

    fn diagnostics(&self) -> String {
        format!(
            "requests: {:#?}\nfirst stream ended at: {:?}\nclient gone at: {:?}\nserver errors: {:?}",
            self.requests.lock().unwrap(),
            self.first_end.lock().unwrap(),
            self.client_gone.lock().unwrap(),
            self.server_errors.lock().unwrap(),
        )
    }
}

fn plain(status: StatusCode, content_type: &'static str, text: impl Into<Bytes>) -> Response<Body> {
    let body = Full::new(text.into()).map_err(|never| match never {});
    let mut response = Response::new(body.boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}

/// `%XX` escapes decoded, as `encodeURIComponent` writes them; `None` for
/// a bad escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = core::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The whole site: the page, the event stream, the report.
async fn handle(shared: Arc<Shared>, request: Request<()>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let raw_header = request
        .headers()
        .get("last-event-id")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let last_event_id = LastEventId::from_headers(request.headers());
    shared.requests.lock().unwrap().push(Seen {
        at: Instant::now(),
        path: path.clone(),
        raw_header,
        last_event_id: match &last_event_id {
            Ok(id) => id.as_ref().map(|id| id.as_str().to_owned()),
            Err(err) => Some(format!("error: {err}")),
        },
    });
    match path.as_str() {
        "/" => plain(StatusCode::OK, "text/html; charset=utf-8", PAGE),
        "/events" => match last_event_id {
            Ok(None) => first_stream(&shared),
            Ok(Some(id)) => match id.as_str().parse::<usize>() {
                Ok(after) => resumed_stream(&shared, after),
                Err(_) => {
                    shared.error(format!("Last-Event-ID {:?} is not a number", id.as_str()));
                    plain(StatusCode::BAD_REQUEST, "text/plain", "bad Last-Event-ID")
                }
            },
            Err(err) => {
                shared.error(format!("Last-Event-ID refused: {err}"));
                plain(StatusCode::BAD_REQUEST, "text/plain", "bad Last-Event-ID")
            }
        },
        "/report" => {
            let query = request.uri().query().unwrap_or("");
            let value = query
                .strip_prefix("r=")
                .and_then(percent_decode)
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_else(|| {
                    serde_json::json!({ "kind": "error", "message": format!("report is not JSON: {query}") })
                });
            let _ = shared.reports.send(value);
            plain(StatusCode::NO_CONTENT, "text/plain", "")
        }
        _ => plain(StatusCode::NOT_FOUND, "text/plain", "not found"),
    }
}

/// The first connection: events 1 to 3, a frame with only `retry: R`, then
/// the end of the body (whose last step records when).
fn first_stream(shared: &Arc<Shared>) -> Response<Body> {
    let mut frames: Vec<Bytes> = script().into_iter().take(FIRST_CONNECTION_EVENTS).collect();
    // `retry: R` on its own (an `Event` always has a data line, which the
    // browser would dispatch as an empty message).
    let retry = EventRef::new().retry(RETRY_MS).to_bytes();
    let retry = retry.expect("a retry frame");
    assert_eq!(&retry[..], format!("retry: {RETRY_MS}\n\n").as_bytes());
    frames.push(retry);
    let end = Arc::clone(shared);
    let at_end = stream::poll_fn(move |_| {
        end.first_end
            .lock()
            .unwrap()
            .get_or_insert_with(Instant::now);
        Poll::Ready(None::<Bytes>)
    });
    SseBody::new(stream::iter(frames).chain(at_end))
        .response()
        .map(|body| body.map_err(Into::into).boxed_unsync())
}

/// A reconnection: a comment, the events after `after` from a channel,
/// then heartbeats until the client leaves.
fn resumed_stream(shared: &Arc<Shared>, after: usize) -> Response<Body> {
    let (tx, body) = channel(4);
    let producer = Arc::clone(shared);
    tokio::spawn(async move {
        let comment = EventRef::new()
            .comment(" a comment the browser ignores")
            .to_bytes()
            .expect("valid comment");
        if tx.send(comment).await.is_err() {
            producer.error("client gone before the first frame".to_owned());
            return;
        }
        for frame in script().into_iter().skip(after) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if tx.send(frame).await.is_err() {
                producer.error("client gone before the last event".to_owned());
                return;
            }
        }
        // Keep the stream open until the page closes it.
        match tokio::time::timeout(CLIENT_GONE_TIMEOUT * 2, tx.closed()).await {
            Ok(()) => *producer.client_gone.lock().unwrap() = Some(Instant::now()),
            Err(_) => producer.error("Sender::closed never completed".to_owned()),
        }
    });
    body.keep_alive(RESUMED_KEEP_ALIVE)
        .response()
        .map(|body| body.map_err(Into::into).boxed_unsync())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_event_source_through_the_lite_connection_reconnects_after_retry() {
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        requests: Mutex::new(Vec::new()),
        first_end: Mutex::new(None),
        client_gone: Mutex::new(None),
        server_errors: Mutex::new(Vec::new()),
        reports: reports_tx,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr: SocketAddr = listener.local_addr().expect("local address");
    let server = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = {
                        let shared = Arc::clone(&shared);
                        move |request| handle(shared, request)
                    };
                    match lite::serve_connection(stream, service).await {
                        Ok(()) => {}
                        // A browser may close a connection it no longer
                        // needs; only a refused request is the server's
                        // problem here.
                        Err(lite::ServeError::Io(_)) => {}
                        Err(err) => shared.error(format!("lite connection: {err}")),
                    }
                });
            }
        })
    };

    let url = format!("http://{addr}/");
    let mut browser = Browser::open(&url);
    let report = browser
        .report(&mut reports, REPORT_TIMEOUT, || shared.diagnostics())
        .await;
    let started = browser.started;
    let reported_after = started.elapsed();

    // The server must see the client leave, through `Sender::closed`.
    let deadline = Instant::now() + CLIENT_GONE_TIMEOUT;
    while shared.client_gone.lock().unwrap().is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.child.kill();
    println!(
        "report after {reported_after:?}:\n{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    let diagnostics = shared.diagnostics();
    println!("{diagnostics}");

    // What the browser received: every event once, in order.
    let times = check_messages(&report, &expected_messages(), &diagnostics);

    // The page, the report, and two requests to /events: the first without
    // Last-Event-ID, the second resuming after event 3.
    let paths: Vec<String> = {
        let requests = shared.requests.lock().unwrap();
        requests.iter().map(|seen| seen.path.clone()).collect()
    };
    assert_eq!(paths.first().map(String::as_str), Some("/"), "{paths:?}");
    assert!(paths.iter().any(|p| p == "/report"), "{paths:?}");
    let connections = shared.event_requests();
    assert_eq!(
        connections.len(),
        2,
        "two requests to /events\n{diagnostics}"
    );
    assert_eq!(connections[0].raw_header, None, "first request's header");
    assert_eq!(connections[0].last_event_id, None, "first request's ID");
    assert_eq!(
        connections[1].raw_header.as_deref(),
        Some("3"),
        "the reconnection's Last-Event-ID header"
    );
    assert_eq!(
        connections[1].last_event_id.as_deref(),
        Some("3"),
        "the reconnection's LastEventId"
    );
    let errors = shared.server_errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "server-side errors: {errors:?}");

    // The page saw two opens, and an error (the end) between them; the
    // `retry:` at the stream's end obeyed: the reconnection came at least R
    // after the end.
    let first_end = shared
        .first_end
        .lock()
        .unwrap()
        .expect("the first stream reached its end");
    let gap = connections[1].at.duration_since(first_end);
    check_reconnection(&report, &times, FIRST_CONNECTION_EVENTS, RETRY_MS, gap);

    // The lite connection saw the client leave once the page closed the
    // stream, and dropped the body.
    assert!(
        shared.client_gone.lock().unwrap().is_some(),
        "Sender::closed did not complete within {CLIENT_GONE_TIMEOUT:?} of the page closing the EventSource\n{diagnostics}"
    );

    server.abort();
    println!("lite browser test done in {:?}", started.elapsed());
}

#[test]
fn percent_decoding_reads_what_encode_uri_component_writes() {
    assert_eq!(
        percent_decode("%7B%22a%22%3A%22h%C3%A9%20%E2%98%83%5Cn%22%7D").as_deref(),
        Some("{\"a\":\"h\u{e9} \u{2603}\\n\"}")
    );
    assert_eq!(
        percent_decode("a-b_c.d!~*'()").as_deref(),
        Some("a-b_c.d!~*'()")
    );
    assert_eq!(percent_decode("%zz"), None);
    assert_eq!(percent_decode("%4"), None);
    assert_eq!(percent_decode("%ff"), None, "not UTF-8");
}
