//! The server side (`ssekit::adapters::http`) under faults and load, over
//! real TCP connections on 127.0.0.1, with servers and clients in this
//! process (but for the load test's clients):
//!
//! - **load**: 2,000 concurrent streams on one hyper-util server each get
//!   all of a 100-event broadcast, in order; the clients run in a child
//!   process (this test binary run again, its one ignored test), so that
//!   the memory per connection printed is the server's alone; prints the
//!   delivery time and the client process's memory too;
//! - **disconnect**: clients that drop their connection make their
//!   producers' sends fail within about one keep-alive interval, and leave
//!   no producer task and no body behind;
//! - **shutdown**: the shutdown token ends 100 open streams within 1 s,
//!   each with the `retry:` hint as its last frame, and the server (hyper-util
//!   graceful shutdown, and axum's) exits;
//! - **bad input**: bad `Last-Event-ID` headers, written raw on the wire, get
//!   a defined answer and leave the server serving;
//! - **connection limit**: the stream over the limit gets `503` with
//!   `Retry-After`, and a place freed by a client that left is taken again;
//! - **compression**: tower-http's `CompressionLayer` passes an event stream
//!   through uncompressed and unbuffered.
//!
//! Every wait is bounded by a timeout; no time is asserted except protocol
//! bounds (the 1 s shutdown, the keep-alive interval).

mod server_http_common;

use core::future::Future;
use core::net::SocketAddr;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures::stream::{self, Stream, StreamExt};
use http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use server_http_common::{
    boxed, events, eventually, listen, open_fds, panic_message, parse_response, raw_exchange,
    rss_bytes, rss_bytes_of, serve_axum, serve_hyper, soft_nofile_limit, Client, Live, RawResponse,
    Server, TestChild,
};
use ssekit::adapters::http::{
    channel, ConnectionLimit, ConnectionPermit, LastEventId, LastEventIdError, Receiver, Sender,
    SseBody,
};
use ssekit::adapters::stream::SseStreamExt;
use ssekit::{EndOfStream, Event, KEEP_ALIVE_FRAME};
use tokio::sync::{mpsc, RwLock, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;

/// The load test takes this lock for writing, the others for reading: it
/// runs alone, so that the RSS it reads and the descriptors it needs are
/// its own, and the other tests run side by side.
static SERIAL: RwLock<()> = RwLock::const_new(());

/// The bound on every test but the load test.
const TEST_BOUND: Duration = Duration::from_secs(30);

/// Runs `test` within `bound`, after taking [`SERIAL`] for reading.
async fn bounded<F: Future<Output = ()>>(name: &str, bound: Duration, test: F) {
    // The load test holds the lock for at most its own 120 s.
    let _shared = timeout(Duration::from_secs(150), SERIAL.read())
        .await
        .unwrap_or_else(|_| panic!("{name}: the load test held the lock over 150 s"));
    timeout(bound, test)
        .await
        .unwrap_or_else(|_| panic!("{name} did not finish within {bound:?}"));
}

/// A stream of one event, `data: welcome`, that then stays open: the body
/// of the streams that the shutdown and limit tests hold open.
fn welcome() -> impl Stream<Item = Event> + Send + 'static {
    stream::iter([Event::new("welcome")]).chain(stream::pending())
}

/// The encoded frame of [`welcome`]'s event.
const WELCOME_FRAME: &[u8] = b"data: welcome\n\n";

// ---------------------------------------------------------------------------
// 1. Load
// ---------------------------------------------------------------------------

/// Concurrent connections in the load test.
const LOAD_CLIENTS: usize = 2_000;
/// Events broadcast to each of them.
const LOAD_EVENTS: usize = 100;

/// The test that the load test runs in a child process: its clients.
const LOAD_CHILD_TEST: &str = "load_clients_in_a_child_process";
/// The environment of that child: the server's address,
const LOAD_ADDR_VAR: &str = "SSEKIT_LOAD_ADDR";
/// the number of clients,
const LOAD_CLIENTS_VAR: &str = "SSEKIT_LOAD_CLIENTS";
/// and the number of events.
const LOAD_EVENTS_VAR: &str = "SSEKIT_LOAD_EVENTS";
/// What starts the child's reports on its stdout (after libtest's
/// `test name ... ` on the same line, maybe): `READY ...` when all its
/// streams are open, then `OK ...` or `FAIL ...`.
const LOAD_MARK: &str = "ssekit-load-child: ";

/// Broadcast event `n` of `total`.
fn broadcast_event(n: usize, total: usize) -> Event {
    Event::builder()
        .event_type("tick")
        .id(n.to_string())
        .data(format!("broadcast event {n} of {total}"))
        .build()
        .expect("a valid event")
}

/// Panics unless the soft `RLIMIT_NOFILE` of this process leaves room for
/// `connections` loopback connections, one descriptor each here, and a
/// margin.
fn check_nofile_limit(process: &str, connections: usize) {
    let needed = connections + 200;
    if let Some(soft) = soft_nofile_limit() {
        assert!(
            soft >= needed as u64,
            "the soft limit on open files (RLIMIT_NOFILE) of the {process} process is {soft}, but \
             its {connections} loopback connections need about {needed} descriptors (one per \
             connection in each of the server and client processes): raise it, e.g. `ulimit -n \
             20000`, and run again"
        );
    }
}

/// The value of `name=value` among the space-separated fields of `report`.
fn report_field<'a>(report: &'a str, name: &str) -> Option<&'a str> {
    report
        .split_whitespace()
        .find_map(|field| field.strip_prefix(name)?.strip_prefix('='))
}

/// 2,000 streams on one hyper-util server, fed by one broadcast task through
/// a channel each, every event encoded once and its `Bytes` cloned: every
/// client gets every event, in order, then a clean end of stream. The
/// clients run in a child process ([`load_clients_in_a_child_process`]), so
/// that the memory per connection read here is the server's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_2000_streams_each_get_the_whole_broadcast_in_order() {
    let run = async {
        let _alone = SERIAL.write().await;
        load().await;
    };
    // On a timeout `run` is dropped, and with it the child process, killed.
    timeout(Duration::from_secs(120), run)
        .await
        .expect("the load test did not finish within 120 s");
}

async fn load() {
    // The server's side of each connection takes one descriptor here; the
    // client process checks its own limit.
    check_nofile_limit("server (test)", LOAD_CLIENTS);
    let fds_before = open_fds();

    let token = CancellationToken::new();
    let subscribers: Arc<Mutex<Vec<Sender>>> = Arc::default();
    // A limit no one reaches, as a count of the server-side bodies alive:
    // each body holds a permit until it is dropped.
    let bodies = ConnectionLimit::new(usize::MAX);
    let handler = {
        let subscribers = Arc::clone(&subscribers);
        let bodies = bodies.clone();
        let token = token.clone();
        move |request: http::Request<hyper::body::Incoming>| {
            let subscribers = Arc::clone(&subscribers);
            let bodies = bodies.clone();
            let token = token.clone();
            async move {
                if request.uri().path() != "/events" {
                    let mut response = http::Response::new(boxed(Full::new(Bytes::new())));
                    *response.status_mut() = StatusCode::NOT_FOUND;
                    return response;
                }
                // Room for the whole broadcast: the broadcaster never waits.
                let (tx, body) = channel(LOAD_EVENTS + 1);
                subscribers.lock().expect("not poisoned").push(tx);
                let permit = bodies.try_acquire().expect("no limit in the load test");
                body.hold(permit)
                    .shutdown_token(token)
                    .response()
                    .map(boxed)
            }
        }
    };
    let server = serve_hyper(listen(4096), token.clone(), handler);
    let addr = server.addr;

    // Read before the child exists (its two reader threads here cost a few
    // pages, nothing per connection).
    let rss_before = rss_bytes();
    let connecting = Instant::now();
    // Killed and reaped if anything below fails.
    let mut child = TestChild::spawn(
        LOAD_CHILD_TEST,
        &[
            (LOAD_ADDR_VAR, addr.to_string()),
            (LOAD_CLIENTS_VAR, LOAD_CLIENTS.to_string()),
            (LOAD_EVENTS_VAR, LOAD_EVENTS.to_string()),
        ],
    );
    let ready = child.marked_line(LOAD_MARK, Duration::from_secs(60)).await;
    if !ready.starts_with("READY ") {
        panic!(
            "the client process failed before its streams were all open: {ready}\n{}",
            child.output()
        );
    }
    assert_eq!(
        report_field(&ready, "clients"),
        Some(LOAD_CLIENTS.to_string().as_str()),
        "the client process's READY line: {ready}"
    );
    let child_rss_before: u64 = report_field(&ready, "rss_before")
        .and_then(|rss| rss.parse().ok())
        .unwrap_or_else(|| panic!("no rss_before in the READY line: {ready}"));
    eventually(
        "every stream of the client process registered here",
        Duration::from_secs(10),
        || {
            bodies.open() == LOAD_CLIENTS
                && subscribers.lock().expect("not poisoned").len() == LOAD_CLIENTS
        },
        || format!("{} bodies alive", bodies.open()),
    )
    .await;
    let open_time = connecting.elapsed();
    // Both processes idle for a moment (the child waits for its first
    // event), then read the memory with everything open.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_open = rss_bytes();
    let child_rss_open = rss_bytes_of(child.id());
    let bodies_alive = bodies.open();
    let fds_open = open_fds();
    assert_eq!(bodies_alive, LOAD_CLIENTS, "server-side bodies alive");
    assert!(
        fds_open >= fds_before + LOAD_CLIENTS,
        "{fds_open} descriptors open, {fds_before} before: the connections are not all open"
    );

    let senders = core::mem::take(&mut *subscribers.lock().expect("not poisoned"));
    let started = Instant::now();
    let broadcaster = tokio::spawn(async move {
        for n in 0..LOAD_EVENTS {
            let frame = broadcast_event(n, LOAD_EVENTS).to_bytes();
            for tx in &senders {
                tx.send(frame.clone())
                    .await
                    .expect("no client leaves before the end of the broadcast");
            }
        }
        // The senders are dropped here: each stream ends after its queue.
    });
    let result = child.marked_line(LOAD_MARK, Duration::from_secs(40)).await;
    let delivery = started.elapsed();
    let status = child.wait(Duration::from_secs(10)).await;
    let expected = format!("OK clients={LOAD_CLIENTS} events={LOAD_EVENTS} ");
    assert!(
        result.starts_with(&expected),
        "the client process reported {result:?}, not {expected:?}...\n{}",
        child.output()
    );
    assert!(
        status.success(),
        "the client process reported OK but exited with {status}\n{}",
        child.output()
    );
    timeout(Duration::from_secs(10), broadcaster)
        .await
        .expect("the broadcaster finished")
        .expect("the broadcaster panicked");

    eventually(
        "every server-side body dropped after its stream ended",
        Duration::from_secs(10),
        || bodies.open() == 0,
        || format!("{} bodies alive", bodies.open()),
    )
    .await;
    server.shutdown(Duration::from_secs(10)).await;

    let kib = |bytes: u64| bytes as f64 / 1024.0;
    let mib = |bytes: u64| bytes as f64 / 1048576.0;
    let per_conn = |before: u64, open: u64| kib(open.saturating_sub(before)) / LOAD_CLIENTS as f64;
    println!(
        "load: {LOAD_CLIENTS} connections from a child process (pid {}) opened in {open_time:?} \
         from its start ({} in the child); {bodies_alive} server-side bodies alive, {fds_open} \
         descriptors open in the server process",
        child.id(),
        report_field(&ready, "opened_in").unwrap_or("?"),
    );
    println!(
        "load: {LOAD_EVENTS} events x {LOAD_CLIENTS} clients = {} events delivered in {delivery:?} \
         ({:.0} events/s; first send to the child's OK line; in the child, first event to last \
         end: {})",
        LOAD_EVENTS * LOAD_CLIENTS,
        (LOAD_EVENTS * LOAD_CLIENTS) as f64 / delivery.as_secs_f64(),
        report_field(&result, "first_event_to_last_end").unwrap_or("?"),
    );
    println!(
        "load: server RSS {:.1} MiB before, {:.1} MiB with all connections open and idle: {:.1} \
         KiB per connection (server side alone)",
        mib(rss_before),
        mib(rss_open),
        per_conn(rss_before, rss_open)
    );
    println!(
        "load: client process RSS {:.1} MiB before connecting, {:.1} MiB with all connections \
         open and idle: {:.1} KiB per connection (client side: hyper client, event decoder, \
         tokio task)",
        mib(child_rss_before),
        mib(child_rss_open),
        per_conn(child_rss_before, child_rss_open)
    );
}

/// The client side of the load test, run by
/// [`load_2000_streams_each_get_the_whole_broadcast_in_order`] in a child
/// process (this test binary again) with the server's address and the
/// parameters in [`LOAD_ADDR_VAR`], [`LOAD_CLIENTS_VAR`] and
/// [`LOAD_EVENTS_VAR`]: opens every stream, prints `READY`, checks that
/// every client gets every event in order and a clean end, and prints `OK`
/// (or `FAIL`) and the figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by load_2000_streams_each_get_the_whole_broadcast_in_order in a child process"]
async fn load_clients_in_a_child_process() {
    fn param<T: core::str::FromStr>(name: &str) -> T
    where
        T::Err: core::fmt::Display,
    {
        let value = std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: this test is the client side of \
                 `load_2000_streams_each_get_the_whole_broadcast_in_order`, which runs it in a \
                 child process with its server's address; run that test instead"
            )
        });
        value
            .parse()
            .unwrap_or_else(|err| panic!("{name}={value:?}: {err}"))
    }
    let addr: SocketAddr = param(LOAD_ADDR_VAR);
    let clients: usize = param(LOAD_CLIENTS_VAR);
    let events: usize = param(LOAD_EVENTS_VAR);
    assert!(
        addr.ip().is_loopback(),
        "{LOAD_ADDR_VAR}={addr}: not a loopback address"
    );

    let bound = Duration::from_secs(100);
    let outcome = tokio::spawn(timeout(bound, load_clients(addr, clients, events))).await;
    let failure = match outcome {
        Ok(Ok(summary)) => {
            println!("{LOAD_MARK}OK {summary}");
            return;
        }
        Ok(Err(_)) => format!("the clients did not finish within {bound:?}"),
        Err(err) => panic_message(err),
    };
    println!("{LOAD_MARK}FAIL {}", failure.replace('\n', " | "));
    panic!("the load clients failed: {failure}");
}

/// Opens `clients` streams on `addr`, prints `READY` when they are all open,
/// then checks every client's `events` events; returns the `OK` figures.
async fn load_clients(addr: SocketAddr, clients: usize, events: usize) -> String {
    // The client side of each connection takes one descriptor here.
    check_nofile_limit("client (child)", clients);
    let fds_before = open_fds();
    let rss_before = rss_bytes();
    let connecting = Instant::now();
    let opened = Arc::new(AtomicUsize::new(0));
    // At most 256 handshakes in flight, so that no SYN waits for a
    // retransmission; the connections all stay open together.
    let gate = Arc::new(Semaphore::new(256));
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let opened = Arc::clone(&opened);
        let gate = Arc::clone(&gate);
        tasks.push(tokio::spawn(async move {
            let permit = gate
                .acquire_owned()
                .await
                .expect("the gate is never closed");
            let mut conn = Client::connect(addr).await;
            let response = conn.get("/events", &[]).await;
            drop(permit);
            assert_eq!(response.status(), StatusCode::OK, "client {client}");
            assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
            opened.fetch_add(1, Ordering::AcqRel);
            let mut stream = server_http_common::events(response);
            let mut received = 0;
            let mut first = None;
            while let Some(event) = stream.next().await {
                first.get_or_insert_with(Instant::now);
                let event = event.unwrap_or_else(|err| panic!("client {client}: {err}"));
                let expected = broadcast_event(received, events);
                assert_eq!(event.id(), expected.id(), "client {client}: out of order");
                assert_eq!(event.data(), expected.data(), "client {client}");
                assert_eq!(event.event_type(), b"tick", "client {client}");
                received += 1;
            }
            assert_eq!(
                received, events,
                "client {client} got {received} of {events} events"
            );
            assert_eq!(
                stream.end_of_stream(),
                Some(EndOfStream::Clean),
                "client {client}"
            );
            let done = Instant::now();
            conn.disconnect().await;
            (first.unwrap_or(done), done)
        }));
    }

    // A client task that ends before the broadcast has failed: stop waiting.
    eventually(
        "every client connected",
        Duration::from_secs(60),
        || opened.load(Ordering::Acquire) == clients || tasks.iter().any(JoinHandle::is_finished),
        || format!("{} open", opened.load(Ordering::Acquire)),
    )
    .await;
    if let Some(at) = tasks.iter().position(JoinHandle::is_finished) {
        match tasks.swap_remove(at).await {
            Err(err) => panic!("client {at}: {}", panic_message(err)),
            Ok(_) => panic!("client {at} got its whole stream before the others were open"),
        }
    }
    let open_time = connecting.elapsed();
    let fds_open = open_fds();
    assert!(
        fds_open >= fds_before + clients,
        "{fds_open} descriptors open, {fds_before} before: the connections are not all open"
    );
    println!(
        "{LOAD_MARK}READY clients={clients} rss_before={rss_before} fds_open={fds_open} \
         opened_in={open_time:?}"
    );

    let mut first_event: Option<Instant> = None;
    let mut last_end: Option<Instant> = None;
    for (client, task) in tasks.into_iter().enumerate() {
        let (first, done) = task
            .await
            .unwrap_or_else(|err| panic!("client {client}: {}", panic_message(err)));
        first_event = Some(first_event.map_or(first, |at| at.min(first)));
        last_end = Some(last_end.map_or(done, |at| at.max(done)));
    }
    let span = match (first_event, last_end) {
        (Some(first), Some(last)) => last.saturating_duration_since(first),
        _ => Duration::ZERO,
    };
    format!("clients={clients} events={events} first_event_to_last_end={span:?}")
}

// ---------------------------------------------------------------------------
// 2. Disconnect
// ---------------------------------------------------------------------------

/// The keep-alive interval of the disconnect test.
const DISCONNECT_INTERVAL: Duration = Duration::from_millis(200);
/// Clients that leave at once.
const DISCONNECT_CLIENTS: usize = 50;

/// 50 clients drop their connections mid-stream at once: each producer,
/// which sends once and then only every 5 s (or when its client is gone),
/// sees its send fail within a few keep-alive intervals; then no producer
/// task and no body is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_fails_the_next_send_and_leaks_nothing() {
    bounded("the disconnect test", TEST_BOUND, disconnect()).await;
}

async fn disconnect() {
    let token = CancellationToken::new();
    let producers = Arc::new(AtomicUsize::new(0));
    let limit = ConnectionLimit::new(DISCONNECT_CLIENTS);
    let (failed_tx, mut failed_rx) = mpsc::unbounded_channel::<Instant>();
    let handler = {
        let producers = Arc::clone(&producers);
        let limit = limit.clone();
        let token = token.clone();
        move |_request: http::Request<hyper::body::Incoming>| {
            let producers = Arc::clone(&producers);
            let permit = limit.try_acquire().expect("one permit per client");
            let token = token.clone();
            let failed_tx = failed_tx.clone();
            async move {
                let (tx, body) = channel(4);
                let live = Live::new(&producers);
                tokio::spawn(async move {
                    let _live = live;
                    if tx.send(Event::new("hello")).await.is_err() {
                        let _ = failed_tx.send(Instant::now());
                        return;
                    }
                    loop {
                        // A producer that rarely has something to say.
                        tokio::select! {
                            () = tx.closed() => {}
                            () = tokio::time::sleep(Duration::from_secs(5)) => {}
                        }
                        if tx.send(Event::new("tick")).await.is_err() {
                            let _ = failed_tx.send(Instant::now());
                            return;
                        }
                    }
                });
                body.hold(permit)
                    .keep_alive(DISCONNECT_INTERVAL)
                    .shutdown_token(token)
                    .response()
                    .map(boxed)
            }
        }
    };
    let server = serve_hyper(listen(1024), token.clone(), handler);

    let mut clients = Vec::new();
    for _ in 0..DISCONNECT_CLIENTS {
        let mut client = Client::connect(server.addr).await;
        let response = client.get("/events", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut events = events(response);
        let hello = timeout(Duration::from_secs(5), events.next())
            .await
            .expect("the first event within 5 s")
            .expect("an event")
            .expect("no error");
        assert_eq!(hello.data(), "hello");
        clients.push((client, events));
    }
    assert_eq!(producers.load(Ordering::Acquire), DISCONNECT_CLIENTS);
    assert_eq!(limit.open(), DISCONNECT_CLIENTS);
    // Let a heartbeat or two go by on every stream: the streams are idle,
    // not ended, and their producers still waiting.
    tokio::time::sleep(2 * DISCONNECT_INTERVAL).await;
    assert!(
        failed_rx.try_recv().is_err(),
        "no send fails while clients read"
    );
    assert_eq!(producers.load(Ordering::Acquire), DISCONNECT_CLIENTS);

    let left = Instant::now();
    for (client, events) in clients {
        drop(events);
        client.disconnect().await;
    }
    // A protocol bound, not a speed: the server learns of a gone client at
    // its next write at the latest, a heartbeat one interval later. (On
    // loopback a dropped connection always sends its FIN, which hyper's
    // HTTP/1 dispatcher reads at once even while the body is idle: by
    // experiment the sends fail within a few ms, with heartbeats off too.
    // The heartbeat is what bounds a half-open connection, which loopback
    // cannot produce.)
    let bound = 5 * DISCONNECT_INTERVAL;
    let mut slowest = Duration::ZERO;
    for n in 0..DISCONNECT_CLIENTS {
        let failed = timeout(bound + Duration::from_secs(1), failed_rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("only {n} of {DISCONNECT_CLIENTS} producers saw a send fail")
            })
            .expect("the server holds a sender");
        slowest = slowest.max(failed.saturating_duration_since(left));
    }
    assert!(
        slowest < bound,
        "a producer's send failed {slowest:?} after its client left, over the {bound:?} bound \
         (keep-alive interval {DISCONNECT_INTERVAL:?})"
    );
    eventually(
        "no producer task and no body left",
        Duration::from_secs(2),
        || producers.load(Ordering::Acquire) == 0 && limit.open() == 0,
        || {
            format!(
                "{} producers, {} bodies",
                producers.load(Ordering::Acquire),
                limit.open()
            )
        },
    )
    .await;
    println!(
        "disconnect: {DISCONNECT_CLIENTS} producers saw their send fail at most {slowest:?} after \
         their clients left (keep-alive {DISCONNECT_INTERVAL:?})"
    );
    server.shutdown(Duration::from_secs(5)).await;
}

// ---------------------------------------------------------------------------
// 3. Shutdown
// ---------------------------------------------------------------------------

/// Open streams at shutdown.
const SHUTDOWN_STREAMS: usize = 100;
/// The reconnection hint of the last frame.
const SHUTDOWN_RETRY: Duration = Duration::from_millis(1500);

#[derive(Clone, Copy, Debug)]
enum Kind {
    Hyper,
    Axum,
}

/// The shutdown test's stream: [`welcome`], no heartbeats (so that the
/// bytes are exact), ended by `token` with the retry hint.
fn shutdown_stream(
    token: &CancellationToken,
    permit: ConnectionPermit,
) -> SseBody<impl Stream<Item = Event> + Send> {
    SseBody::new(welcome())
        .keep_alive(Duration::ZERO)
        .shutdown_token(token.clone())
        .shutdown_retry(SHUTDOWN_RETRY)
        .hold(permit)
}

#[derive(Clone)]
struct ShutdownApp {
    token: CancellationToken,
    limit: ConnectionLimit,
}

async fn shutdown_route(State(app): State<ShutdownApp>) -> Response {
    let permit = app.limit.try_acquire().expect("one permit per stream");
    shutdown_stream(&app.token, permit).into_response()
}

/// hyper-util's `GracefulShutdown`: the token ends 100 streams within 1 s,
/// each with its retry hint last, and the server exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_every_stream_with_a_retry_hint_hyper() {
    bounded("the hyper shutdown test", TEST_BOUND, shutdown(Kind::Hyper)).await;
}

/// `axum::serve(..).with_graceful_shutdown(..)`: the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_every_stream_with_a_retry_hint_axum() {
    bounded("the axum shutdown test", TEST_BOUND, shutdown(Kind::Axum)).await;
}

async fn shutdown(kind: Kind) {
    let token = CancellationToken::new();
    let limit = ConnectionLimit::new(SHUTDOWN_STREAMS);
    let listener = listen(1024);
    let server: Server = match kind {
        Kind::Hyper => {
            let (streams, limit) = (token.clone(), limit.clone());
            let handler = move |_request: http::Request<hyper::body::Incoming>| {
                let permit = limit.try_acquire().expect("one permit per stream");
                let response = shutdown_stream(&streams, permit).response().map(boxed);
                async move { response }
            };
            serve_hyper(listener, token.clone(), handler)
        }
        Kind::Axum => {
            let app = ShutdownApp {
                token: token.clone(),
                limit: limit.clone(),
            };
            let router = Router::new()
                .route("/events", get(shutdown_route))
                .with_state(app);
            serve_axum(listener, token.clone(), router)
        }
    };

    let opened = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for client in 0..SHUTDOWN_STREAMS {
        let addr = server.addr;
        let opened = Arc::clone(&opened);
        clients.push(tokio::spawn(async move {
            let mut conn = Client::connect(addr).await;
            let response = conn.get("/events", &[]).await;
            assert_eq!(response.status(), StatusCode::OK, "client {client}");
            let mut body = response.into_body();
            let mut bytes = Vec::new();
            let mut frames = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.unwrap_or_else(|err| panic!("client {client}: {err}"));
                let data = frame.into_data().expect("no trailers");
                bytes.extend_from_slice(&data);
                if bytes == WELCOME_FRAME {
                    opened.fetch_add(1, Ordering::AcqRel);
                }
                frames.push(data);
            }
            (Instant::now(), bytes, frames.pop())
        }));
    }
    eventually(
        "every stream open",
        Duration::from_secs(10),
        || opened.load(Ordering::Acquire) == SHUTDOWN_STREAMS && limit.open() == SHUTDOWN_STREAMS,
        || {
            format!(
                "{} open, {} permits",
                opened.load(Ordering::Acquire),
                limit.open()
            )
        },
    )
    .await;

    let signalled = Instant::now();
    token.cancel();
    let retry_frame = format!("retry: {}\n\n", SHUTDOWN_RETRY.as_millis());
    let mut expected = WELCOME_FRAME.to_vec();
    expected.extend_from_slice(retry_frame.as_bytes());
    let mut slowest = Duration::ZERO;
    for (n, client) in clients.into_iter().enumerate() {
        let (ended, bytes, last) = timeout(Duration::from_secs(2), client)
            .await
            .unwrap_or_else(|_| panic!("{kind:?}: stream {n} still open 2 s after the shutdown"))
            .expect("a client task panicked");
        slowest = slowest.max(ended - signalled);
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&expected),
            "{kind:?}: stream {n}'s bytes"
        );
        assert_eq!(
            last.as_deref(),
            Some(retry_frame.as_bytes()),
            "{kind:?}: stream {n}'s last frame"
        );
        // The decoder takes the hint, and the stream ended between events.
        let mut events =
            stream::iter([Ok::<_, core::convert::Infallible>(Bytes::from(bytes))]).sse_events();
        let mut datas = Vec::new();
        while let Some(event) = events.next().await {
            datas.push(event.expect("no error").data());
        }
        assert_eq!(datas, ["welcome"]);
        assert_eq!(events.reconnection_time(), Some(SHUTDOWN_RETRY));
        assert_eq!(events.end_of_stream(), Some(EndOfStream::Clean));
    }
    // The protocol bound the body promises: every stream ended within 1 s.
    assert!(
        slowest < Duration::from_secs(1),
        "{kind:?}: the last stream ended {slowest:?} after the shutdown signal"
    );
    // The server exits on the same token; bounded, generously.
    server.join(Duration::from_secs(5)).await;
    let exited = signalled.elapsed();
    assert_eq!(
        limit.open(),
        0,
        "{kind:?}: bodies alive after the server exited"
    );
    println!(
        "shutdown ({kind:?}): {SHUTDOWN_STREAMS} streams ended at most {slowest:?} after the \
         signal, server exited after {exited:?}"
    );
}

// ---------------------------------------------------------------------------
// 4. Bad input
// ---------------------------------------------------------------------------

/// The route of the bad-input test: `Option<LastEventId>`, and an event
/// that says what the handler saw.
async fn resume(last: Option<LastEventId>) -> impl IntoResponse {
    let data = match last {
        Some(id) => format!("resumed after {id}"),
        None => String::from("fresh"),
    };
    SseBody::new(stream::iter([Event::new(data)]))
}

/// A `GET /events` with `value` as its `Last-Event-ID`, byte for byte.
fn request_with_id(value: &[u8]) -> Vec<u8> {
    let mut request = b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: ".to_vec();
    request.extend_from_slice(value);
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    request
}

/// Sends `value` as a `Last-Event-ID` and parses the answer, which must
/// be there whatever happened to the connection after it.
async fn send_id(addr: SocketAddr, value: &[u8]) -> RawResponse {
    let exchange = raw_exchange(addr, request_with_id(value), Duration::from_secs(10)).await;
    parse_response(&exchange.read).unwrap_or_else(|| {
        panic!(
            "no complete response to a {}-byte Last-Event-ID: read {:?}, read error {:?}, write \
             error {:?}",
            value.len(),
            String::from_utf8_lossy(&exchange.read),
            exchange.read_error,
            exchange.write_error
        )
    })
}

/// A normal request still gets its stream.
async fn still_serves(addr: SocketAddr, after: &str) {
    let response = send_id(addr, b"41").await;
    assert_eq!(response.status, 200, "after {after}: {response:?}");
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        response.body, b"data: resumed after 41\n\n",
        "after {after}"
    );
}

/// Bad `Last-Event-ID` values, written raw, against an axum route with the
/// `Option<LastEventId>` extractor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_last_event_id_gets_a_defined_answer_and_the_server_lives() {
    bounded("the bad-input test", TEST_BOUND, bad_input()).await;
}

async fn bad_input() {
    let token = CancellationToken::new();
    let router = Router::new().route("/events", get(resume));
    let server = serve_axum(listen(128), token.clone(), router);
    let addr = server.addr;
    still_serves(addr, "nothing").await;

    // What hyper's parser refuses never reaches the handler: a NUL, a bare
    // CR or a bare LF in a header value makes the head invalid, and hyper
    // answers `400` with an empty body (not our extractor's message) and
    // closes the connection.
    for (what, value) in [
        ("a NUL", &b"4\x002"[..]),
        ("a bare CR", b"4\r2"),
        ("a bare LF", b"4\n2"),
    ] {
        let response = send_id(addr, value).await;
        assert_eq!(response.status, 400, "{what}: {response:?}");
        assert_eq!(response.header("content-length"), Some("0"), "{what}");
        assert!(
            response.body.is_empty(),
            "{what}: answered by hyper, not the handler"
        );
        still_serves(addr, what).await;
    }

    // Byte 0xFF is obs-text, which HTTP lets through: the extractor sees it
    // and answers `400` saying why.
    let response = send_id(addr, b"4\xff2").await;
    assert_eq!(response.status, 400, "0xFF: {response:?}");
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        LastEventIdError::NotUtf8 { offset: 1 }.to_string()
    );
    still_serves(addr, "0xFF").await;

    // Over our 1 KiB limit but well within hyper's: the extractor's `400`.
    let response = send_id(addr, &[b'7'; 2048]).await;
    assert_eq!(response.status, 400, "2 KiB: {response:?}");
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        LastEventIdError::TooLong {
            len: 2048,
            limit: LastEventId::MAX_LEN
        }
        .to_string()
    );
    still_serves(addr, "2 KiB").await;

    // 1 MiB without a CR: more than hyper buffers for a request head (about
    // 400 KiB by default), so hyper answers `431 Request Header Fields Too
    // Large`, empty, and closes. The answer is read before the connection
    // ends (on loopback the whole request fits in the socket buffers, so
    // the write completes too; a reset after the answer would not matter).
    let response = send_id(addr, &vec![b'a'; 1 << 20]).await;
    assert_eq!(response.status, 431, "1 MiB: {response:?}");
    assert!(response.body.is_empty());
    still_serves(addr, "1 MiB").await;

    // An empty value is no ID: a fresh start, as on a first connection.
    let response = send_id(addr, b"").await;
    assert_eq!(response.status, 200, "empty: {response:?}");
    assert_eq!(response.body, b"data: fresh\n\n");
    // Whitespace around a value is not part of it (RFC 9110 §5.5).
    let response = send_id(addr, b"  42\t ").await;
    assert_eq!(response.status, 200, "padded: {response:?}");
    assert_eq!(response.body, b"data: resumed after 42\n\n");
    still_serves(addr, "an empty value").await;

    server.shutdown(Duration::from_secs(5)).await;
}

// ---------------------------------------------------------------------------
// 5. Connection limit
// ---------------------------------------------------------------------------

/// The limit of the connection-limit test.
const LIMIT: usize = 3;
/// Its `Retry-After`.
const LIMIT_RETRY_AFTER: Duration = Duration::from_secs(2);
/// The heartbeat interval there, which finds a client that left.
const LIMIT_HEARTBEAT: Duration = Duration::from_millis(100);

#[derive(Clone)]
struct LimitApp {
    token: CancellationToken,
    limit: ConnectionLimit,
}

async fn limited(State(app): State<LimitApp>) -> Response {
    match app.limit.try_acquire() {
        Ok(permit) => SseBody::new(welcome())
            .keep_alive(LIMIT_HEARTBEAT)
            .shutdown_token(app.token.clone())
            .hold(permit)
            .into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// Opens a stream and reads its first event.
async fn admitted(addr: SocketAddr) -> (Client, impl Stream + Unpin + Send) {
    let mut client = Client::connect(addr).await;
    let response = client.get("/events", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = events(response);
    let first = timeout(Duration::from_secs(5), events.next())
        .await
        .expect("the first event within 5 s")
        .expect("an event")
        .expect("no error");
    assert_eq!(first.data(), "welcome");
    (client, events)
}

/// Asks for one stream too many and checks the refusal.
async fn refused(addr: SocketAddr) {
    let mut client = Client::connect(addr).await;
    let response = client.get("/events", &[]).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[RETRY_AFTER], "2");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(
        response.headers()[CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    let body = timeout(Duration::from_secs(5), response.into_body().collect())
        .await
        .expect("the refusal's body within 5 s")
        .expect("no error")
        .to_bytes();
    assert_eq!(
        body,
        format!("too many open event streams (the limit is {LIMIT}): retry later")
    );
    client.disconnect().await;
}

/// `LIMIT` streams are admitted, one more gets `503` with `Retry-After`;
/// when one client leaves, its place is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_refuses_the_extra_stream_and_readmits() {
    bounded("the connection-limit test", TEST_BOUND, connection_limit()).await;
}

async fn connection_limit() {
    let token = CancellationToken::new();
    let limit = ConnectionLimit::with_retry_after(LIMIT, LIMIT_RETRY_AFTER);
    let app = LimitApp {
        token: token.clone(),
        limit: limit.clone(),
    };
    let router = Router::new().route("/events", get(limited)).with_state(app);
    let server = serve_axum(listen(128), token.clone(), router);
    let addr = server.addr;

    let mut open = Vec::new();
    for _ in 0..LIMIT {
        open.push(admitted(addr).await);
    }
    assert_eq!(limit.open(), LIMIT);
    refused(addr).await;
    assert_eq!(limit.open(), LIMIT, "a refusal takes no permit");

    let (leaving, events) = open.remove(0);
    drop(events);
    leaving.disconnect().await;
    eventually(
        "the place of the client that left is free",
        Duration::from_secs(5),
        || limit.open() == LIMIT - 1,
        || format!("{} open", limit.open()),
    )
    .await;
    open.push(admitted(addr).await);
    assert_eq!(limit.open(), LIMIT);
    refused(addr).await;

    server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(limit.open(), 0, "bodies alive after the server exited");
    drop(open);
}

// ---------------------------------------------------------------------------
// 6. Compression
// ---------------------------------------------------------------------------

/// The heartbeat interval of the compression test.
const COMPRESSION_HEARTBEAT: Duration = Duration::from_millis(100);

#[derive(Clone)]
struct GateApp {
    token: CancellationToken,
    /// Cancelled by the test: the producer may send its second event.
    go: CancellationToken,
}

async fn gated(State(app): State<GateApp>) -> SseBody<Receiver> {
    let (tx, body) = channel(4);
    let GateApp { token, go } = app.clone();
    tokio::spawn(async move {
        if tx.send(Event::new("first")).await.is_err() {
            return;
        }
        tokio::select! {
            () = go.cancelled() => {}
            () = token.cancelled() => return,
            () = tx.closed() => return,
        }
        let _ = tx.send(Event::new("second")).await;
        // `tx` dropped: the stream ends.
    });
    body.keep_alive(COMPRESSION_HEARTBEAT)
        .shutdown_token(app.token)
}

async fn text() -> String {
    "compressible text, ".repeat(200)
}

/// Reads data frames into `buf` until `done(buf)` or the end of the body;
/// returns whether the body ended.
async fn read_until(
    body: &mut hyper::body::Incoming,
    buf: &mut Vec<u8>,
    done: impl Fn(&[u8]) -> bool,
) -> bool {
    while !done(buf) {
        match body.frame().await {
            None => return true,
            Some(frame) => {
                let frame = frame.expect("no error");
                buf.extend_from_slice(&frame.into_data().expect("no trailers"));
            }
        }
    }
    false
}

/// Splits `bytes` into `head`, then heartbeat frames (how many), then the
/// rest; `None` if `bytes` does not start with `head`.
fn heartbeats_after<'a>(bytes: &'a [u8], head: &[u8]) -> Option<(usize, &'a [u8])> {
    let mut rest = bytes.strip_prefix(head)?;
    let mut beats = 0;
    while let Some(after) = rest.strip_prefix(KEEP_ALIVE_FRAME) {
        rest = after;
        beats += 1;
    }
    Some((beats, rest))
}

/// tower-http's `CompressionLayer` (gzip) in front of an SSE route: a
/// client that accepts gzip gets the stream uncompressed, and its first
/// event (and heartbeats) while the stream is still open, so the layer
/// does not buffer it; a plain-text route behind the same layer is
/// compressed, so the layer is really there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_layer_passes_the_stream_through_unbuffered() {
    bounded("the compression test", TEST_BOUND, compression()).await;
}

async fn compression() {
    let token = CancellationToken::new();
    let go = CancellationToken::new();
    let app = GateApp {
        token: token.clone(),
        go: go.clone(),
    };
    let router = Router::new()
        .route("/events", get(gated))
        .route("/text", get(text))
        .layer(CompressionLayer::new())
        .with_state(app);
    let server = serve_axum(listen(128), token.clone(), router);
    let gzip = [(ACCEPT_ENCODING.as_str(), "gzip")];

    // The control: the layer compresses what it should.
    let mut client = Client::connect(server.addr).await;
    let response = client.get("/text", &gzip).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get(CONTENT_ENCODING)
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..]),
        "the layer compresses plain text"
    );
    let compressed = timeout(Duration::from_secs(5), response.into_body().collect())
        .await
        .expect("the text within 5 s")
        .expect("no error")
        .to_bytes();
    assert!(compressed.len() < "compressible text, ".len() * 200);
    assert_eq!(&compressed[..2], b"\x1f\x8b", "a gzip member");
    client.disconnect().await;

    let mut client = Client::connect(server.addr).await;
    let response = client.get("/events", &gzip).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    assert!(
        response.headers().get(CONTENT_ENCODING).is_none(),
        "the event stream is not compressed: {:?}",
        response.headers()
    );
    let mut body = response.into_body();
    let mut buf = Vec::new();
    // The first event, then a heartbeat, while the producer waits for `go`.
    let ended = timeout(
        Duration::from_secs(5),
        read_until(&mut body, &mut buf, |b| {
            heartbeats_after(b, b"data: first\n\n")
                .is_some_and(|(beats, rest)| beats > 0 && rest.is_empty())
        }),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the first event and a heartbeat did not come through the layer within 5 s: got {:?}",
            String::from_utf8_lossy(&buf)
        )
    });
    assert!(!ended, "the stream is still open");
    assert!(!go.is_cancelled());

    go.cancel();
    let ended = timeout(
        Duration::from_secs(5),
        read_until(&mut body, &mut buf, |_| false),
    )
    .await
    .expect("the end of the stream within 5 s");
    assert!(ended);
    let (beats, rest) = heartbeats_after(&buf, b"data: first\n\n").expect("the first event first");
    assert!(beats > 0);
    assert_eq!(
        String::from_utf8_lossy(rest),
        "data: second\n\n",
        "the second event last"
    );
    client.disconnect().await;
    server.shutdown(Duration::from_secs(5)).await;
}
