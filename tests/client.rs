//! The reconnecting client (`ssekit::adapters::client`) against real local
//! servers on 127.0.0.1, built with `ssekit::adapters::http::SseBody` on
//! hyper, that close connections at chosen points: mid-event and between
//! events, cleanly or by aborting. Run with `--nocapture` for the counts.

use core::convert::Infallible;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures::{stream, StreamExt};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ssekit::adapters::client::{Disconnect, Error, EventSource, Message};
use ssekit::adapters::codec::{Event, Jitter, Limits, ReconnectConfig};
use ssekit::adapters::http::{LastEventId, SseBody};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::{timeout, Instant};

type BoxError = Box<dyn core::error::Error + Send + Sync>;
type ServerBody = UnsyncBoxBody<Bytes, BoxError>;

/// The bound on every wait of these tests.
const BOUND: Duration = Duration::from_secs(20);

/// What the server saw of one request.
#[derive(Debug, Clone)]
struct Recorded {
    method: Method,
    headers: HeaderMap,
    body: Bytes,
    last_event_id: Option<String>,
    at: Instant,
}

type Handler = Arc<dyn Fn(&Recorded, usize) -> Response<ServerBody> + Send + Sync>;

/// A server on 127.0.0.1:0 that answers each request with `handler`
/// (given the request and its index), records every request, and stops
/// all its connections when dropped.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    tasks: JoinSet<()>,
}

impl Server {
    async fn start(handler: Handler) -> Server {
        Server::start_with(handler, None).await
    }

    async fn start_with(handler: Handler, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{addr}/events");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = JoinSet::new();
        let recorded = Arc::clone(&requests);
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    break;
                };
                let handler = Arc::clone(&handler);
                let recorded = Arc::clone(&recorded);
                let tls = tls.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        let handler = Arc::clone(&handler);
                        let recorded = Arc::clone(&recorded);
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let last_event_id = LastEventId::from_headers(&parts.headers)
                                .ok()
                                .flatten()
                                .map(LastEventId::into_string);
                            let request = Recorded {
                                method: parts.method,
                                headers: parts.headers,
                                body,
                                last_event_id,
                                at: Instant::now(),
                            };
                            let index = {
                                let mut all =
                                    recorded.lock().unwrap_or_else(PoisonError::into_inner);
                                all.push(request.clone());
                                all.len() - 1
                            };
                            Ok::<_, Infallible>(handler(&request, index))
                        }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(tls) => {
                            if let Ok(socket) = tls.accept(socket).await {
                                let _ = http.serve_connection(TokioIo::new(socket), service).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(socket), service).await;
                        }
                    }
                });
            }
        });
        Server {
            url,
            requests,
            tasks,
        }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops accepting and closes every connection.
    async fn shut_down(mut self) {
        self.tasks.shutdown().await;
    }
}

/// The frame of event `n`.
fn event(n: u64) -> Bytes {
    Event::builder()
        .id(n.to_string())
        .data(format!("event {n}"))
        .build()
        .expect("a valid event")
        .to_bytes()
}

/// An SSE response of `frames`, heartbeats off; a frame `Err` aborts the
/// connection there.
fn sse<S>(frames: S) -> Response<ServerBody>
where
    S: futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let response = SseBody::new(frames).keep_alive(Duration::ZERO).response();
    response.map(|body| body.map_err(BoxError::from).boxed_unsync())
}

fn plain(status: StatusCode, content_type: &str, body: &'static str) -> Response<ServerBody> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(
            Full::new(Bytes::from_static(body.as_bytes()))
                .map_err(BoxError::from)
                .boxed_unsync(),
        )
        .expect("a response")
}

/// Quick reconnects, exactly the server's `retry:` time each time.
fn quick() -> ReconnectConfig {
    ReconnectConfig::default()
        .reconnection_time(Duration::from_millis(10))
        .min_delay(Duration::ZERO)
        .jitter(Jitter::Off)
        .reset_after(Duration::ZERO)
}

/// The next message, within [`BOUND`].
async fn next(source: &mut EventSource) -> Option<Result<Message, Error>> {
    timeout(BOUND, source.next())
        .await
        .expect("a message within the bound")
}

/// Reads messages until `n` events arrived, returning (events, notices).
async fn events(source: &mut EventSource, n: usize) -> (Vec<Event>, Vec<Message>) {
    let mut events = Vec::new();
    let mut notices = Vec::new();
    while events.len() < n {
        match next(source).await {
            Some(Ok(Message::Event(event))) => events.push(event),
            Some(Ok(notice)) => notices.push(notice),
            Some(Err(err)) => panic!("unexpected error: {err}"),
            None => panic!("the stream ended after {} events", events.len()),
        }
    }
    (events, notices)
}

fn after(request: &Recorded) -> u64 {
    request
        .last_event_id
        .as_deref()
        .map_or(0, |id| id.parse().expect("a numeric ID"))
}

#[tokio::test]
async fn reconnects_after_the_announced_retry_delay_with_last_event_id() {
    // Each connection: `retry: 150`, two events, then a clean close.
    let handler: Handler = Arc::new(|request, _| {
        let from = after(request) + 1;
        let frames = [
            Bytes::from_static(b"retry: 150\n\n"),
            event(from),
            event(from + 1),
        ];
        sse(stream::iter(frames.map(Ok)))
    });
    let server = Server::start(handler).await;
    let mut source = EventSource::builder(&server.url)
        .reconnect(quick())
        .build()
        .expect("a client");
    let (got, notices) = events(&mut source, 6).await;
    let data: Vec<_> = got.iter().map(|e| e.data()).collect();
    assert_eq!(
        data,
        (1..=6).map(|n| format!("event {n}")).collect::<Vec<_>>()
    );

    let delays: Vec<_> = notices
        .iter()
        .filter_map(|m| match m {
            Message::Reconnecting { delay, reason, .. } => {
                assert!(
                    matches!(reason, Disconnect::Closed { mid_event: false }),
                    "{reason}"
                );
                Some(*delay)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        delays,
        [Duration::from_millis(150); 2],
        "the server's retry: time"
    );
    drop(source);

    let requests = server.requests();
    let ids: Vec<_> = requests.iter().map(|r| r.last_event_id.clone()).collect();
    assert_eq!(
        ids[..3],
        [None, Some("2".to_string()), Some("4".to_string())]
    );
    for pair in requests.windows(2).take(2) {
        // The client waits the delay after it saw the close, which the
        // server caused after the request: a lower bound, never an upper.
        assert!(pair[1].at - pair[0].at >= Duration::from_millis(150));
    }
    for request in &requests {
        assert_eq!(request.headers["accept"], "text/event-stream");
    }
    server.shut_down().await;
}

#[tokio::test]
async fn post_with_a_json_body_is_resent_on_every_reconnect() {
    let handler: Handler = Arc::new(|request, _| {
        let from = after(request) + 1;
        sse(stream::iter([Ok(event(from))]))
    });
    let server = Server::start(handler).await;
    let json = r#"{"prompt":"hello"}"#;
    let mut source = EventSource::builder(&server.url)
        .method(Method::POST)
        .header("content-type", "application/json")
        .header("x-api-key", "k1")
        .body(json)
        .last_event_id("40")
        .reconnect(quick())
        .build()
        .expect("a client");
    let (got, _) = events(&mut source, 3).await;
    assert_eq!(
        got.iter()
            .map(|e| Bytes::copy_from_slice(e.id()))
            .collect::<Vec<_>>(),
        ["41", "42", "43"]
    );
    drop(source);
    let requests = server.requests();
    assert!(requests.len() >= 3);
    let ids: Vec<_> = requests.iter().take(3).map(after).collect();
    assert_eq!(
        ids,
        [40, 41, 42],
        "seeded, then the decoder's last event ID"
    );
    for request in &requests {
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.body, json);
        assert_eq!(request.headers["content-type"], "application/json");
        assert_eq!(request.headers["x-api-key"], "k1");
    }
    server.shut_down().await;
}

/// How a connection of the replay server ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    /// A clean end between events.
    CleanBetween,
    /// A clean end after half an event.
    CleanMidEvent,
    /// An aborted connection between events.
    AbortBetween,
    /// An aborted connection after half an event.
    AbortMidEvent,
}

/// A small deterministic generator (the test must replay the same way).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[tokio::test]
async fn every_event_exactly_once_over_many_kills() {
    const EVENTS: u64 = 500;
    const KILLS: usize = 50;
    // The plan: connection i < KILLS sends 0 to 14 events after the
    // client's ID and ends in the i-th way; later ones send the rest and a
    // reconnect after the last event gets 204.
    // A new plan each run; `SSEKIT_CLIENT_SEED=<n>` replays one.
    let seed = std::env::var("SSEKIT_CLIENT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map_or(0x5eed, |d| d.as_nanos() as u64)
        });
    println!("many kills: seed {seed} (SSEKIT_CLIENT_SEED replays it)");
    let plan: Arc<Vec<(u64, Kill)>> = {
        let mut random = Lcg(seed);
        let kills = [
            Kill::CleanBetween,
            Kill::CleanMidEvent,
            Kill::AbortBetween,
            Kill::AbortMidEvent,
        ];
        Arc::new(
            (0..KILLS)
                .map(|_| (random.below(15), kills[random.below(4) as usize]))
                .collect(),
        )
    };
    let handler: Handler = {
        let plan = Arc::clone(&plan);
        Arc::new(move |request, index| {
            let from = after(request) + 1;
            if from > EVENTS {
                return plain(StatusCode::NO_CONTENT, "text/plain", "");
            }
            let mut frames: Vec<Result<Bytes, std::io::Error>> =
                vec![Ok(Bytes::from_static(b"retry: 5\n\n"))];
            let Some(&(count, kill)) = plan.get(index) else {
                frames.extend((from..=EVENTS).map(|n| Ok(event(n))));
                return sse(stream::iter(frames));
            };
            let end = (from + count).min(EVENTS + 1);
            frames.extend((from..end).map(|n| Ok(event(n))));
            if matches!(kill, Kill::CleanMidEvent | Kill::AbortMidEvent) && end <= EVENTS {
                let whole = event(end);
                frames.push(Ok(whole.slice(..whole.len() / 2)));
            }
            let frames = stream::iter(frames);
            if matches!(kill, Kill::AbortBetween | Kill::AbortMidEvent) {
                // Abort once the bytes before it are on the wire; an
                // immediate error would also drop the unsent head.
                let abort = stream::once(async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Err(std::io::Error::other("killed"))
                });
                return sse(frames.chain(abort));
            }
            sse(frames)
        })
    };
    let server = Server::start(handler).await;
    let mut source = EventSource::builder(&server.url)
        .reconnect(quick())
        .build()
        .expect("a client");

    let started = Instant::now();
    let mut ids = Vec::new();
    let mut last_at_reconnect = Vec::new();
    let mut reasons = [0usize; 4];
    let mut stopped = false;
    while let Some(message) = next(&mut source).await {
        match message.expect("no error") {
            Message::Event(event) => ids.push(event.id_lossy().parse::<u64>().expect("numeric")),
            Message::Reconnecting { reason, .. } => {
                last_at_reconnect.push(ids.last().copied());
                match reason {
                    Disconnect::Closed { mid_event: false } => reasons[0] += 1,
                    Disconnect::Closed { mid_event: true } => reasons[1] += 1,
                    Disconnect::Body { .. } => reasons[2] += 1,
                    // Aborted before the response head was flushed.
                    Disconnect::Connect { .. } => reasons[3] += 1,
                    other => panic!("unexpected reason: {other}"),
                }
            }
            Message::Stopped => stopped = true,
            _ => {}
        }
    }
    assert!(stopped, "the 204 after the last event stops the client");

    let unique: HashSet<_> = ids.iter().copied().collect();
    let duplicates = ids.len() - unique.len();
    let lost = (1..=EVENTS).filter(|n| !unique.contains(n)).count();
    let requests = server.requests();
    println!(
        "many kills: {} connections, {} killed ({} clean between events, {} clean mid-event, \
         {} broken mid-body, {} broken before the response), {} events received, {duplicates} duplicates, {lost} lost, in {:?}",
        requests.len(),
        reasons.iter().sum::<usize>(),
        reasons[0],
        reasons[1],
        reasons[2],
        reasons[3],
        ids.len(),
        started.elapsed(),
    );
    assert_eq!((duplicates, lost), (0, 0), "seed {seed}");
    assert_eq!(ids, (1..=EVENTS).collect::<Vec<_>>(), "in order");
    assert!(
        reasons.iter().sum::<usize>() >= KILLS,
        "every planned kill was seen"
    );
    assert!(
        reasons[..3].iter().all(|&n| n > 0),
        "every way of ending was tried"
    );
    // Request k + 1 carried the ID of the last event the client had when
    // connection k ended.
    assert_eq!(requests.len(), last_at_reconnect.len() + 1);
    for (request, expected) in requests.iter().skip(1).zip(&last_at_reconnect) {
        assert_eq!(request.last_event_id, expected.map(|n| n.to_string()));
    }
    server.shut_down().await;
}

#[tokio::test]
async fn a_204_stops_the_stream_without_an_error() {
    let handler: Handler = Arc::new(|_, _| plain(StatusCode::NO_CONTENT, "text/plain", ""));
    let server = Server::start(handler).await;
    let mut source = EventSource::builder(&server.url).build().expect("a client");
    assert!(matches!(
        next(&mut source).await,
        Some(Ok(Message::Stopped))
    ));
    assert!(next(&mut source).await.is_none());
    assert_eq!(server.requests().len(), 1);
    server.shut_down().await;
}

#[tokio::test]
async fn a_404_fails_once_typed_with_the_body_excerpt() {
    let handler: Handler =
        Arc::new(|_, _| plain(StatusCode::NOT_FOUND, "text/plain", "no stream here"));
    let server = Server::start(handler).await;
    let mut source = EventSource::builder(&server.url).build().expect("a client");
    let err = next(&mut source).await.expect("an item").unwrap_err();
    let rejected = err.rejected().expect("a rejection");
    assert_eq!(rejected.status(), StatusCode::NOT_FOUND);
    assert_eq!(rejected.excerpt(), "no stream here");
    assert!(err.is_terminal());
    let message = err.to_string();
    assert!(
        message.contains("404") && message.contains("no stream here"),
        "{message}"
    );
    println!("404: {message}");
    assert!(next(&mut source).await.is_none(), "fails once");
    assert_eq!(server.requests().len(), 1, "no retry");
    server.shut_down().await;
}

#[tokio::test]
async fn a_text_html_response_fails_with_the_content_type_and_excerpt() {
    const PAGE: &str = "<html><body>Please log in</body></html>";
    let long: &'static str = Box::leak(format!("{PAGE}{}", "x".repeat(2000)).into_boxed_str());
    let handler: Handler = Arc::new(move |_, _| plain(StatusCode::OK, "text/html", long));
    let server = Server::start(handler).await;
    let mut source = EventSource::builder(&server.url).build().expect("a client");
    let err = next(&mut source).await.expect("an item").unwrap_err();
    let Error::Rejected(rejected) = &err else {
        panic!("not a rejection: {err}")
    };
    assert_eq!(rejected.status(), StatusCode::OK);
    assert_eq!(rejected.content_type(), Some(&b"text/html"[..]));
    assert_eq!(rejected.excerpt().len(), 512, "the first 512 bytes only");
    assert!(rejected.excerpt().starts_with(PAGE.as_bytes()));
    assert!(err.to_string().contains("text/html"), "{err}");
    println!("text/html: {}", &err.to_string()[..160]);
    assert!(next(&mut source).await.is_none());
    server.shut_down().await;
}

#[tokio::test]
async fn a_503_is_retried_after_its_retry_after() {
    let handler: Handler = Arc::new(|_, index| {
        if index == 0 {
            let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "busy");
            response
                .headers_mut()
                .insert("retry-after", "1".parse().expect("a value"));
            response
        } else {
            sse(stream::iter([Ok(event(1))]))
        }
    });
    let server = Server::start(handler).await;
    let mut source = EventSource::builder(&server.url)
        .reconnect(quick())
        .build()
        .expect("a client");
    match next(&mut source).await {
        Some(Ok(Message::Reconnecting {
            delay,
            attempt,
            reason,
        })) => {
            assert_eq!(attempt, 1);
            assert_eq!(
                delay,
                Duration::from_secs(1),
                "Retry-After over the 10 ms backoff"
            );
            assert!(matches!(
                reason,
                Disconnect::Status { status: StatusCode::SERVICE_UNAVAILABLE, retry_after: Some(d) }
                    if d == Duration::from_secs(1)
            ));
        }
        other => panic!("expected a reconnect notice, got {other:?}"),
    }
    assert!(matches!(
        next(&mut source).await,
        Some(Ok(Message::Open {
            status: StatusCode::OK,
            ..
        }))
    ));
    assert!(matches!(next(&mut source).await, Some(Ok(Message::Event(e))) if e.id() == b"1"));
    drop(source);
    let requests = server.requests();
    assert!(requests[1].at - requests[0].at >= Duration::from_secs(1));
    server.shut_down().await;
}

/// Counts the drops of the streams it is moved into.
#[derive(Clone)]
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

async fn wait_for(counter: &AtomicUsize, n: usize) {
    timeout(BOUND, async {
        while counter.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("within the bound");
}

#[tokio::test]
async fn reconnects_after_the_idle_timeout_when_the_server_goes_silent() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let handler: Handler = {
        let dropped = Arc::clone(&dropped);
        Arc::new(move |request, _| {
            let guard = DropCount(Arc::clone(&dropped));
            let from = after(request) + 1;
            // One event, then silence: no bytes, no close.
            let frames = stream::iter([Ok(event(from))])
                .chain(stream::pending())
                .map(move |f| {
                    let _ = &guard;
                    f
                });
            sse(frames)
        })
    };
    let server = Server::start(handler).await;
    let config = quick().idle_timeout(Some(Duration::from_millis(200)));
    let mut source = EventSource::builder(&server.url)
        .reconnect(config)
        .build()
        .expect("a client");
    let (got, notices) = events(&mut source, 2).await;
    assert_eq!(
        got.iter()
            .map(|e| Bytes::copy_from_slice(e.id()))
            .collect::<Vec<_>>(),
        ["1", "2"]
    );
    let idle = notices.iter().any(|m| {
        matches!(m, Message::Reconnecting { reason: Disconnect::Idle { timeout }, .. }
            if *timeout == Duration::from_millis(200))
    });
    assert!(idle, "{notices:?}");
    // The silent connection was closed by the client: its stream dropped.
    wait_for(&dropped, 1).await;
    let requests = server.requests();
    assert_eq!(requests[1].last_event_id.as_deref(), Some("1"));
    assert!(requests[1].at - requests[0].at >= Duration::from_millis(200));

    // Dropping the client closes the open connection at once.
    drop(source);
    wait_for(&dropped, 2).await;
    server.shut_down().await;
}

#[tokio::test]
async fn heartbeats_keep_an_idle_connection_alive() {
    // No events at all, a heartbeat every 50 ms, an idle timeout of 300 ms.
    let handler: Handler = Arc::new(|_, _| {
        let response = SseBody::new(stream::pending::<Result<Bytes, std::io::Error>>())
            .keep_alive(Duration::from_millis(50))
            .response();
        response.map(|body| body.map_err(BoxError::from).boxed_unsync())
    });
    let server = Server::start(handler).await;
    let config = quick().idle_timeout(Some(Duration::from_millis(300)));
    let mut source = EventSource::builder(&server.url)
        .reconnect(config)
        .build()
        .expect("a client");
    assert!(matches!(
        next(&mut source).await,
        Some(Ok(Message::Open { .. }))
    ));
    // Over four idle timeouts, nothing: no reconnect, comments not yielded.
    let quiet = timeout(Duration::from_millis(1200), source.next()).await;
    assert!(quiet.is_err(), "unexpected {:?}", quiet.ok());
    assert_eq!(server.requests().len(), 1);
    drop(source);
    server.shut_down().await;
}

#[tokio::test]
async fn dropping_the_stream_leaves_no_task_or_connection_behind() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let handler: Handler = {
        let dropped = Arc::clone(&dropped);
        Arc::new(move |_, _| {
            let guard = DropCount(Arc::clone(&dropped));
            let frames = stream::iter([Ok(event(1))])
                .chain(stream::pending())
                .map(move |f| {
                    let _ = &guard;
                    f
                });
            sse(frames)
        })
    };
    let server = Server::start(handler).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    let mut source = EventSource::builder(&server.url).build().expect("a client");
    let (got, _) = events(&mut source, 1).await;
    assert_eq!(got[0].id(), b"1");
    assert!(metrics.num_alive_tasks() > baseline, "a connection is open");
    drop(source);
    // The server sees the connection close and drops its stream, and
    // every task (the client's connection, the server's) ends.
    wait_for(&dropped, 1).await;
    timeout(BOUND, async {
        while metrics.num_alive_tasks() > baseline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("every connection task ends");
    server.shut_down().await;
}

#[tokio::test]
async fn dropping_the_stream_while_waiting_for_the_response_closes_the_connection() {
    use tokio::io::AsyncReadExt;
    // A server that reads the request and never answers; it sees the
    // client close the connection as the end of its input.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("an address"));
    let (accepted_tx, accepted_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("a connection");
        let _ = accepted_tx.send(());
        let mut buf = [0u8; 1024];
        while socket.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    });
    let mut source = EventSource::builder(&url).build().expect("a client");
    let pending = timeout(Duration::from_millis(300), source.next()).await;
    assert!(pending.is_err(), "no response, no message");
    timeout(BOUND, accepted_rx)
        .await
        .expect("accepted")
        .expect("sent");
    drop(source);
    timeout(BOUND, server)
        .await
        .expect("the server saw the connection close")
        .expect("the server task");
}

#[tokio::test]
async fn comments_are_yielded_only_when_asked_for() {
    let handler: Handler = Arc::new(|_, _| {
        sse(
            stream::iter([Ok(Bytes::from_static(b": hi\n\n")), Ok(event(1))])
                .chain(stream::pending()),
        )
    });
    let server = Server::start(handler).await;
    for comments in [false, true] {
        let mut source = EventSource::builder(&server.url)
            .comments(comments)
            .build()
            .expect("a client");
        assert!(matches!(
            next(&mut source).await,
            Some(Ok(Message::Open { .. }))
        ));
        let second = next(&mut source).await;
        if comments {
            assert!(matches!(second, Some(Ok(Message::Comment(c))) if c == " hi"));
            assert!(matches!(
                next(&mut source).await,
                Some(Ok(Message::Event(_)))
            ));
        } else {
            assert!(matches!(second, Some(Ok(Message::Event(_)))));
        }
    }
    server.shut_down().await;
}

#[tokio::test]
async fn an_event_over_the_limits_is_one_non_terminal_error() {
    let handler: Handler = Arc::new(|_, _| {
        let big = Event::new("x".repeat(1000)).to_bytes();
        sse(stream::iter([Ok(big), Ok(event(2))]).chain(stream::pending()))
    });
    let server = Server::start(handler).await;
    let mut source = EventSource::builder(&server.url)
        .limits(Limits::default().max_event_len(64))
        .build()
        .expect("a client");
    assert!(matches!(
        next(&mut source).await,
        Some(Ok(Message::Open { .. }))
    ));
    let err = next(&mut source).await.expect("an item").unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");
    assert!(!err.is_terminal());
    assert!(matches!(next(&mut source).await, Some(Ok(Message::Event(e))) if e.id() == b"2"));
    drop(source);
    assert_eq!(
        server.requests().len(),
        1,
        "no reconnect for a dropped event"
    );
    server.shut_down().await;
}

#[tokio::test]
async fn connection_refused_says_so_and_gives_up_by_policy() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("an address"));
    drop(listener);
    let mut source = EventSource::builder(&url)
        .reconnect(quick().max_attempts(Some(2)))
        .build()
        .expect("a client");
    let mut notices = 0;
    let err = loop {
        match next(&mut source).await.expect("an item") {
            Ok(Message::Reconnecting { reason, .. }) => {
                assert!(matches!(reason, Disconnect::Connect { .. }));
                notices += 1;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(err) => break err,
        }
    };
    assert_eq!(notices, 2, "max_attempts reconnects, then the error");
    let message = err.to_string();
    println!("refused: {message}");
    assert!(matches!(err, Error::GaveUp { .. }));
    assert!(
        message.contains(&format!(
            "connection refused to {url}: is the server running?"
        )),
        "{message}"
    );
    assert!(next(&mut source).await.is_none());
}

mod tls {
    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    async fn https_server() -> (Server, CertificateDer<'static>) {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
            .expect("a certificate");
        let cert = certified.cert.der().clone();
        let key =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .expect("a server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let handler: Handler =
            Arc::new(|request, _| sse(stream::iter([Ok(event(after(request) + 1))])));
        (Server::start_with(handler, Some(acceptor)).await, cert)
    }

    #[tokio::test]
    async fn connects_over_https_trusting_a_test_certificate() {
        let (server, cert) = https_server().await;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).expect("a root");
        let tls = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut source = EventSource::builder(&server.url)
            .tls_config(tls)
            .reconnect(quick())
            .build()
            .expect("a client");
        let (got, _) = events(&mut source, 2).await;
        assert_eq!(
            got.iter()
                .map(|e| Bytes::copy_from_slice(e.id()))
                .collect::<Vec<_>>(),
            ["1", "2"]
        );
        drop(source);
        assert_eq!(server.requests()[1].last_event_id.as_deref(), Some("1"));
        server.shut_down().await;
    }

    #[tokio::test]
    async fn refuses_an_untrusted_certificate_and_says_so() {
        let (server, _) = https_server().await;
        let mut source = EventSource::builder(&server.url)
            .reconnect(quick().max_attempts(Some(0)))
            .build()
            .expect("a client");
        let err = next(&mut source).await.expect("an item").unwrap_err();
        let message = err.to_string();
        println!("untrusted: {message}");
        assert!(
            matches!(
                &err,
                Error::GaveUp {
                    last: Disconnect::Connect { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(message.contains("not trusted"), "{message}");
        assert!(next(&mut source).await.is_none());
        assert!(server.requests().is_empty(), "no request got through");
        server.shut_down().await;
    }
}
