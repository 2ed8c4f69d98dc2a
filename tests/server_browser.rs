//! A real browser against the server side (`ssekit::adapters::http`).
//!
//! The test serves a page and an event stream from an axum server in this
//! process, on 127.0.0.1, and opens the page in headless Chromium. The
//! page's `EventSource` reads the stream and posts, as JSON, everything it
//! saw to `POST /report`. The test then checks that the browser received:
//!
//! - multi-line data: data with CRLF, a lone CR and LF, encoded by the
//!   codec, comes back with LF breaks; a frame written by hand with CRLF and
//!   lone-CR line endings on the wire is read as well;
//! - named events (`addEventListener`) and IDs (`lastEventId`), UTF-8 data
//!   and leading spaces kept, comments and heartbeats ignored;
//! - a reconnection: the first response sends `retry: R`, events 1 to 3,
//!   and ends; the browser reconnects with `Last-Event-ID: 3` (read on the
//!   server with the `Option<LastEventId>` extractor), and the second
//!   response, in channel mode, resumes with 4 to 6 and a final `done`
//!   event, after which the page closes the `EventSource`. Every event
//!   arrives exactly once, in order;
//! - that `retry:` was obeyed: the second request arrives at least R after
//!   the first stream ended. R is 3.5 s, longer than Chromium's default
//!   reconnection time (3 s), so a browser that ignored the field would
//!   fail the check;
//! - that the server sees the client leave: after `close()`, the channel's
//!   `Sender::closed` completes (the next heartbeat's write fails).
//!
//! Chromium is `/usr/bin/chromium` (or `chromium` on the `PATH`); without
//! it the test fails and says how to install it. Its output goes to a file
//! that is printed when the test fails.

mod browser_common;

use core::net::SocketAddr;
use core::task::Poll;
use core::time::Duration;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use browser_common::{check_messages, check_reconnection, expected_messages, Browser};
use bytes::Bytes;
use futures::stream::{self, StreamExt};
use serde_json::Value;
use ssekit::adapters::http::{channel, LastEventId, SseBody};
use ssekit::{Event, EventRef};
use tokio::sync::mpsc;

/// The reconnection time the first response sets, in milliseconds. Longer
/// than Chromium's default of 3000 ms, so that obeying it is observable.
const RETRY_MS: u64 = 3500;

/// How long the whole exchange may take before the test gives up.
const REPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the server may take to notice that the page closed the stream.
const CLIENT_GONE_TIMEOUT: Duration = Duration::from_secs(15);

/// The heartbeat interval of the resumed stream: short, so that a write
/// soon finds the connection the browser closed.
const RESUMED_KEEP_ALIVE: Duration = Duration::from_millis(250);

/// How many events the first connection sends before it ends.
const FIRST_CONNECTION_EVENTS: usize = 3;

const PAGE: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>ssekit EventSource test</title></head>
<body>
<script>
"use strict";
const log = { messages: [], opens: [], errors: [] };
let reported = false;
function stamp() { return { t: performance.now(), wall: Date.now() }; }
function post(kind, extra) {
  const body = JSON.stringify(Object.assign({ kind: kind, log: log }, extra || {}));
  return fetch("/report", { method: "POST", headers: { "content-type": "application/json" }, body: body });
}
function fail(message) {
  if (reported) return;
  reported = true;
  post("error", { message: String(message) });
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
    post("report", { readyState: es.readyState });
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

/// One frame of the server's script: an event for the codec to encode, or a
/// frame written by hand.
#[derive(Clone)]
enum Frame {
    Event(Event),
    Raw(Bytes),
}

impl Frame {
    fn into_bytes(self) -> Bytes {
        match self {
            Frame::Event(event) => event.to_bytes(),
            Frame::Raw(bytes) => bytes,
        }
    }
}

/// Every event the server has, in order; the event at index `i` has the ID
/// `i + 1`.
fn script() -> Vec<Frame> {
    let event = |builder: ssekit::EventBuilder| Frame::Event(builder.build().expect("valid event"));
    vec![
        // CRLF, a lone CR and LF inside the data: the encoder splits them
        // into data lines. The first event also sets the reconnection time.
        event(
            Event::builder()
                .id("1")
                .retry(RETRY_MS)
                .data("a\r\nb\rc\nd"),
        ),
        event(
            Event::builder()
                .id("2")
                .event_type("greeting")
                .data("named event two"),
        ),
        // Written by hand on purpose: CRLF and lone-CR line endings on the
        // wire, which the encoder never writes, passed through as `Bytes`.
        Frame::Raw(Bytes::from_static(
            b"id: 3\r\nevent: greeting\r\ndata: crlf\r\ndata: lone cr\rdata: lf\n\r\n",
        )),
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

/// One request to `/events`, as the server saw it.
#[derive(Debug, Clone)]
struct Connection {
    at: Instant,
    /// The raw `Last-Event-ID` header, if any.
    raw_header: Option<String>,
    /// What the `Option<LastEventId>` extractor gave.
    last_event_id: Option<String>,
}

struct Shared {
    connections: Mutex<Vec<Connection>>,
    /// When the first stream's body reached its end.
    first_end: Mutex<Option<Instant>>,
    /// When the producer of the resumed stream saw the client leave.
    client_gone: Mutex<Option<Instant>>,
    /// Problems seen on the server side.
    server_errors: Mutex<Vec<String>>,
    reports: mpsc::UnboundedSender<Value>,
}

impl Shared {
    fn error(&self, message: String) {
        self.server_errors.lock().unwrap().push(message);
    }

    fn diagnostics(&self) -> String {
        format!(
            "connections: {:#?}\nfirst stream ended at: {:?}\nclient gone at: {:?}\nserver errors: {:?}",
            self.connections.lock().unwrap(),
            self.first_end.lock().unwrap(),
            self.client_gone.lock().unwrap(),
            self.server_errors.lock().unwrap(),
        )
    }
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn events(
    State(shared): State<Arc<Shared>>,
    last_event_id: Option<LastEventId>,
    headers: HeaderMap,
) -> Response {
    let raw_header = headers
        .get("last-event-id")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    shared.connections.lock().unwrap().push(Connection {
        at: Instant::now(),
        raw_header,
        last_event_id: last_event_id.as_ref().map(|id| id.as_str().to_owned()),
    });

    match last_event_id {
        // A first connection: a plain stream of three frames, then the end
        // of the body. The last step records when the body saw the end.
        None => {
            let frames: Vec<Bytes> = script()
                .into_iter()
                .take(FIRST_CONNECTION_EVENTS)
                .map(Frame::into_bytes)
                .collect();
            let end = Arc::clone(&shared);
            let at_end = stream::poll_fn(move |_| {
                end.first_end
                    .lock()
                    .unwrap()
                    .get_or_insert_with(Instant::now);
                Poll::Ready(None::<Bytes>)
            });
            SseBody::new(stream::iter(frames).chain(at_end)).into_response()
        }
        // A reconnection: resume after the client's ID, in channel mode.
        Some(id) => {
            let Ok(after) = id.as_str().parse::<usize>() else {
                shared.error(format!("Last-Event-ID {:?} is not a number", id.as_str()));
                return (StatusCode::BAD_REQUEST, "bad Last-Event-ID").into_response();
            };
            let (tx, body) = channel(4);
            let producer = Arc::clone(&shared);
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
                    let sent = match frame {
                        Frame::Event(event) => tx.send(event).await,
                        Frame::Raw(bytes) => tx.send(bytes).await,
                    };
                    if sent.is_err() {
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
            body.keep_alive(RESUMED_KEEP_ALIVE).into_response()
        }
    }
}

async fn report(State(shared): State<Arc<Shared>>, body: String) -> StatusCode {
    let value = serde_json::from_str(&body).unwrap_or_else(|err| {
        serde_json::json!({ "kind": "error", "message": format!("report is not JSON ({err}): {body}") })
    });
    let _ = shared.reports.send(value);
    StatusCode::NO_CONTENT
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_event_source_reads_every_event_and_reconnects_after_retry() {
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        connections: Mutex::new(Vec::new()),
        first_end: Mutex::new(None),
        client_gone: Mutex::new(None),
        server_errors: Mutex::new(Vec::new()),
        reports: reports_tx,
    });
    let app = Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route("/report", post(report))
        .with_state(Arc::clone(&shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr: SocketAddr = listener.local_addr().expect("local address");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

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

    // Two connections: the first without Last-Event-ID, the second resuming
    // after event 3, both as the raw header and through the extractor.
    let connections = shared.connections.lock().unwrap().clone();
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

    // The page saw two opens, and an error (the close) between them;
    // `retry:` obeyed: the reconnection came at least R after the end.
    let first_end = shared
        .first_end
        .lock()
        .unwrap()
        .expect("the first stream reached its end");
    let gap = connections[1].at.duration_since(first_end);
    check_reconnection(&report, &times, FIRST_CONNECTION_EVENTS, RETRY_MS, gap);

    // The server saw the client leave once the page closed the stream.
    assert!(
        shared.client_gone.lock().unwrap().is_some(),
        "Sender::closed did not complete within {CLIENT_GONE_TIMEOUT:?} of the page closing the EventSource\n{diagnostics}"
    );

    server.abort();
    println!("browser test done in {:?}", started.elapsed());
}
