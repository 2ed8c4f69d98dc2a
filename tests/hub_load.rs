//! The fan-out hub (`ssekit::adapters::hub`) under load, over real TCP on
//! 127.0.0.1: a hyper server answers `GET /` with a subscription to topic
//! `load`, and raw TCP clients in child processes (this test binary run
//! again, its one ignored test) read the chunked event stream and check it.
//!
//! - **load**: N subscribers connect; the hub publishes R events/s for D
//!   seconds, then a burst as fast as it can; every subscriber must get
//!   every event, in order. Prints the latency (receive time minus publish
//!   time, both wall-clock microseconds written into the event, so that
//!   the two processes agree), the server's memory per idle subscriber,
//!   deliveries per second, and the CPU time of the server and the clients.
//! - **slow consumers**: the same with 1 % of the subscribers stalled
//!   (they read the response head, then nothing, on a small receive
//!   buffer): each is disconnected by the hub (small backlog bounds), its
//!   connection dropped by the server on the subscription's disconnect
//!   token, and the others still get everything; their p99 latency is
//!   printed next to that of the same run without stalled subscribers.
//!
//! Scale: `SSEKIT_HUB_LOAD=full` runs 15,000 subscribers (build in release:
//! `cargo test --release --test hub_load -- --nocapture --test-threads=1`);
//! the default is small enough for a debug build in CI. Only counts are
//! asserted, never a time; every wait is bounded.

#[allow(dead_code)] // shared with server_http.rs, of which this uses a part
mod server_http_common;

mod hub_load_common;

use core::convert::Infallible;
use core::net::SocketAddr;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hub_load_common::{
    cpu_time, ensure_nofile_limit, now_micros, Histogram, MachineCpu, SseEvent, SseParser,
};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use server_http_common::{
    boxed, eventually, panic_message, parse_response, rss_bytes, rss_bytes_of, Live, ServerBody,
    TestChild,
};
use ssekit::adapters::http::LastEventId;
use ssekit::adapters::hub::{Hub, HubConfig, HubStats};
use ssekit::Event;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// The topic every subscriber reads.
const TOPIC: &str = "load";

/// The two tests take this lock: they run one at a time, so that the
/// memory and CPU time they read, and the descriptors they need, are their
/// own.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs done in this process so far: after the first, the allocator reuses
/// memory the earlier runs freed, and the server's RSS delta undercounts.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// `SSEKIT_HUB_LOAD=full` selects the full scale.
const SCALE_VAR: &str = "SSEKIT_HUB_LOAD";

/// The test that runs in the child processes: the clients.
const CHILD_TEST: &str = "hub_load_clients_in_a_child_process";
/// The environment of a child: the server's address,
const ADDR_VAR: &str = "SSEKIT_HUB_LOAD_ADDR";
/// how many clients it runs,
const CLIENTS_VAR: &str = "SSEKIT_HUB_LOAD_CLIENTS";
/// how many of them stall,
const STALLED_VAR: &str = "SSEKIT_HUB_LOAD_STALLED";
/// the event numbers that end each phase (comma-separated, increasing;
/// the last is the number of events in all),
const MARKS_VAR: &str = "SSEKIT_HUB_LOAD_MARKS";
/// the file whose appearance tells it to finish,
const SIGNAL_VAR: &str = "SSEKIT_HUB_LOAD_SIGNAL";
/// and how long it may run in all, in seconds.
const BOUND_VAR: &str = "SSEKIT_HUB_LOAD_BOUND";
/// What starts a child's reports on its stdout (after libtest's `test name
/// ... ` on the same line, maybe): `READY ...` once its clients have all
/// read their response head, `MARK<k> ...` once its reading clients all
/// have the last event of phase `k`, then, after the signal, `RESULT ...`;
/// or `FAIL ...`.
const MARK: &str = "ssekit-hub-load-child: ";

/// The receive buffer a stalled client asks for (the kernel doubles it).
const STALLED_RECV_BUFFER: u32 = 4 << 10;
/// How long a stalled client reads, at the end, for the server's close.
const STALLED_DRAIN: Duration = Duration::from_secs(10);

/// The request every client writes.
const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\ncache-control: no-cache\r\n\r\n";

// ---------------------------------------------------------------------------
// Scale
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    Default,
    Full,
}

impl Scale {
    fn from_env() -> Scale {
        match std::env::var(SCALE_VAR).as_deref() {
            Err(_) | Ok("" | "default") => Scale::Default,
            Ok("full") => Scale::Full,
            Ok(other) => panic!("{SCALE_VAR}={other:?}: expected `full` (or nothing)"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scale::Default => "default scale; SSEKIT_HUB_LOAD=full for the full one",
            Scale::Full => "full scale, SSEKIT_HUB_LOAD=full",
        }
    }
}

/// One run: a hub, a server, child processes of clients.
#[derive(Clone, Debug)]
struct Spec {
    subscribers: usize,
    /// Of the subscribers, how many stall.
    stalled: usize,
    /// The paced phase: this many events per second,
    rate: u32,
    /// for this many seconds.
    seconds: u32,
    /// Events published as fast as possible after the paced phase (0: no
    /// such phase).
    burst: usize,
    /// The length of each event's data: the event number and the publish
    /// time, padded with `x` to this length.
    payload: usize,
    config: HubConfig,
    /// `SO_SNDBUF` of the server's sockets, when set (it turns off the
    /// kernel's autotuning, which on loopback lets a stalled connection
    /// absorb megabytes before the hub sees it behind).
    send_buffer: Option<u32>,
    /// Client processes.
    children: usize,
    /// The bound on the whole run.
    bound: Duration,
}

impl Spec {
    fn paced_events(&self) -> u64 {
        u64::from(self.rate) * u64::from(self.seconds)
    }

    fn total_events(&self) -> u64 {
        self.paced_events() + self.burst as u64
    }

    /// The load test's run.
    fn load(scale: Scale) -> Spec {
        let (subscribers, rate, seconds, bound) = match scale {
            Scale::Default => (2_000, 50, 4, 150),
            Scale::Full => (15_000, 100, 10, 900),
        };
        Spec {
            subscribers,
            stalled: 0,
            rate,
            seconds,
            burst: 200,
            payload: 60,
            config: HubConfig::default(),
            send_buffer: None,
            children: 2,
            bound: Duration::from_secs(bound),
        }
    }

    /// The slow-consumer test's run with stalled subscribers; its baseline
    /// is the same with none.
    fn slow(scale: Scale) -> Spec {
        let (subscribers, stalled, rate, seconds, bound) = match scale {
            Scale::Default => (1_000, 10, 20, 5, 120),
            Scale::Full => (15_000, 150, 20, 10, 900),
        };
        let mut config = HubConfig::default();
        config.max_backlog_bytes = 64 << 10;
        config.max_backlog_age = Duration::from_secs(2);
        Spec {
            subscribers,
            stalled,
            rate,
            seconds,
            burst: 0,
            payload: 1024,
            config,
            send_buffer: Some(32 << 10),
            children: 2,
            bound: Duration::from_secs(bound),
        }
    }
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Connections the server dropped on a disconnect token: the client's port
/// and when, in wall-clock microseconds.
type Dropped = Arc<Mutex<Vec<(u16, u64)>>>;

/// A hyper HTTP/1.1 server of the hub on 127.0.0.1, in tasks of the test's
/// runtime, that also calls [`Hub::expire`] every sweep interval (as the
/// hub's documentation asks when a topic can go quiet).
struct HubServer {
    addr: SocketAddr,
    stop: CancellationToken,
    connections: Arc<AtomicUsize>,
    dropped: Dropped,
    task: JoinHandle<()>,
}

impl HubServer {
    fn start(hub: Hub, send_buffer: Option<u32>) -> HubServer {
        let socket = TcpSocket::new_v4().expect("a TCP socket");
        if let Some(size) = send_buffer {
            // Accepted sockets inherit it from the listener.
            socket.set_send_buffer_size(size).expect("SO_SNDBUF");
        }
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind 127.0.0.1:0");
        let listener = socket.listen(4096).expect("listen");
        let addr = listener.local_addr().expect("the listener's address");
        let stop = CancellationToken::new();
        let connections = Arc::new(AtomicUsize::new(0));
        let dropped: Dropped = Arc::default();
        let task = {
            let (stop, connections, dropped) = (stop.clone(), connections.clone(), dropped.clone());
            tokio::spawn(async move {
                let mut sweep = tokio::time::interval(hub.config().sweep_interval);
                loop {
                    let (stream, peer) = tokio::select! {
                        biased;
                        () = stop.cancelled() => break,
                        _ = sweep.tick() => {
                            hub.expire();
                            continue;
                        }
                        accepted = listener.accept() => match accepted {
                            Ok(accepted) => accepted,
                            Err(err) => {
                                // Out of descriptors, say: report, back off, go on.
                                eprintln!("accept failed: {err}");
                                tokio::time::sleep(Duration::from_millis(10)).await;
                                continue;
                            }
                        },
                    };
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(
                        stream,
                        peer,
                        hub.clone(),
                        stop.clone(),
                        Arc::clone(&dropped),
                        Live::new(&connections),
                    ));
                }
            })
        };
        HubServer {
            addr,
            stop,
            connections,
            dropped,
            task,
        }
    }

    /// Stops accepting, drops every connection, and waits at most `bound`
    /// for all that to be done.
    async fn stop(self, bound: Duration) {
        self.stop.cancel();
        match timeout(bound, self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => panic!("the server task failed: {}", panic_message(err)),
            Err(_) => panic!("the server task did not end within {bound:?}"),
        }
        let connections = &self.connections;
        eventually(
            "every connection task ended",
            bound,
            || connections.load(Ordering::Acquire) == 0,
            || format!("{} open", connections.load(Ordering::Acquire)),
        )
        .await;
    }
}

/// One connection: hyper's HTTP/1.1 server, dropped when the hub cancels
/// the disconnect token of the subscription it serves (the hub gave up on
/// a client that stopped reading: its body is not polled, so only this can
/// end it), or when the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    hub: Hub,
    stop: CancellationToken,
    dropped: Dropped,
    _live: Live,
) {
    // The handler hands over the subscription's token.
    let (tx, rx) = oneshot::channel::<CancellationToken>();
    let tx = Mutex::new(Some(tx));
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let response = respond(&hub, &request, &tx);
        async move { Ok::<_, Infallible>(response) }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    let disconnect = async move {
        match rx.await {
            Ok(token) => token.cancelled_owned().await,
            // No subscription on this connection.
            Err(_) => core::future::pending().await,
        }
    };
    tokio::select! {
        // A connection that fails (the client left) is not the server's
        // failure.
        _ = conn => {}
        () = disconnect => lock(&dropped).push((peer.port(), now_micros())),
        () = stop.cancelled() => {}
    }
}

/// `GET /`: a subscription to [`TOPIC`] after the request's
/// `Last-Event-ID`, or the hub's `503` past its limits.
fn respond(
    hub: &Hub,
    request: &Request<Incoming>,
    on_subscribe: &Mutex<Option<oneshot::Sender<CancellationToken>>>,
) -> Response<ServerBody> {
    let plain = |status: StatusCode, text: String| {
        let mut response = Response::new(boxed(Full::new(Bytes::from(text))));
        *response.status_mut() = status;
        response
    };
    if request.method() != Method::GET || request.uri().path() != "/" {
        return plain(StatusCode::NOT_FOUND, String::from("not found"));
    }
    let last_id = match LastEventId::from_headers(request.headers()) {
        Ok(last_id) => last_id,
        Err(err) => return plain(StatusCode::BAD_REQUEST, err.to_string()),
    };
    match hub.subscribe(TOPIC, last_id.as_deref()) {
        Ok(subscription) => {
            if let Some(tx) = lock(on_subscribe).take() {
                let _ = tx.send(subscription.disconnect_token());
            }
            subscription.into_body().response().map(boxed)
        }
        Err(err) => err.response(boxed(Full::new(Bytes::from(err.to_string())))),
    }
}

/// Event `n`: its data is `<n> <publish time in µs>`, padded to `payload`
/// bytes. Returns it with that time.
fn numbered_event(n: u64, payload: usize) -> (Event, u64) {
    let at = now_micros();
    let mut data = format!("{n} {at}");
    if data.len() < payload {
        data.push(' ');
        data.push_str(&"x".repeat(payload - data.len()));
    }
    (Event::new(data), at)
}

/// Publishes event `n`, recording its publish time.
fn publish(hub: &Hub, n: u64, payload: usize, times: &mut Vec<u64>) {
    let (event, at) = numbered_event(n, payload);
    hub.publish(TOPIC, &event)
        .unwrap_or_else(|err| panic!("publishing event {n}: {err}"));
    times.push(at);
}

// ---------------------------------------------------------------------------
// A run, as the parent sees it
// ---------------------------------------------------------------------------

/// The value of `name=value` among the space-separated fields of `line`.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no `{name}=` in the child's line {line:?}"))
}

fn number(line: &str, name: &str) -> u64 {
    let value = field(line, name);
    value
        .parse()
        .unwrap_or_else(|_| panic!("`{name}={value}` in the child's line {line:?}"))
}

/// CPU time of the server (this process), of the clients (the children),
/// and of the whole machine.
#[derive(Clone, Copy)]
struct Cpu {
    server: Duration,
    clients: Duration,
    machine: MachineCpu,
}

impl Cpu {
    fn now(children: &[TestChild]) -> Cpu {
        Cpu {
            server: cpu_time(std::process::id()),
            clients: children.iter().map(|child| cpu_time(child.id())).sum(),
            machine: MachineCpu::now(),
        }
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            server: self.server.saturating_sub(before.server),
            clients: self.clients.saturating_sub(before.clients),
            machine: self.machine.since(before.machine),
        }
    }

    /// The machine's share, and what went outside the two processes.
    fn machine(&self) -> String {
        let machine = &self.machine;
        let elsewhere = machine.busy.saturating_sub(self.server + self.clients);
        format!(
            "machine {:.0} % busy ({:.2} of {:.2} CPU-seconds; {:.2} outside the server and the \
             clients: other processes, kernel threads; {:.2} in interrupts and softirqs, the \
             loopback traffic, charged to whichever was running)",
            100.0 * machine.busy.as_secs_f64() / machine.total.as_secs_f64().max(1e-6),
            machine.busy.as_secs_f64(),
            machine.total.as_secs_f64(),
            elsewhere.as_secs_f64(),
            machine.interrupts.as_secs_f64(),
        )
    }
}

/// The figures of one phase.
struct Phase {
    events: u64,
    /// Publishing it took this long.
    published_in: Duration,
    /// From its first publish to the last client's receipt of its last
    /// event.
    end_to_end: Duration,
    cpu: Cpu,
    /// Every reading client's latency for every event of the phase.
    latency: Histogram,
}

impl Phase {
    fn deliveries(&self) -> u64 {
        self.latency.count()
    }

    fn per_second(&self) -> f64 {
        self.deliveries() as f64 / self.end_to_end.as_secs_f64().max(1e-6)
    }

    fn describe(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let per_delivery = |d: Duration| d.as_secs_f64() * 1e6 / self.deliveries().max(1) as f64;
        format!(
            "{} deliveries in {:.2} s end to end ({:.0}/s; published in {:.2} s); latency p50 \
             {:.2} ms, p99 {:.2} ms, max {:.2} ms; CPU server {:.2} s, clients {:.2} s ({:.1} + \
             {:.1} µs per delivery); {}",
            self.deliveries(),
            self.end_to_end.as_secs_f64(),
            self.per_second(),
            self.published_in.as_secs_f64(),
            ms(self.latency.quantile(0.50)),
            ms(self.latency.quantile(0.99)),
            ms(self.latency.max()),
            self.cpu.server.as_secs_f64(),
            self.cpu.clients.as_secs_f64(),
            per_delivery(self.cpu.server),
            per_delivery(self.cpu.clients),
            self.cpu.machine(),
        )
    }
}

/// What the reading clients count: the events they received, and each way
/// a stream can go wrong.
#[derive(Clone, Copy, Default, Debug)]
struct Counts {
    received: u64,
    lost: u64,
    out_of_order: u64,
    /// Events whose ID is not `<epoch>-<sequence>` one apart from the last.
    bad_ids: u64,
    /// Events whose data is not an event number and a time.
    bad_data: u64,
    /// Streams that ended before the parent's signal.
    ended_early: u64,
    errors: u64,
}

impl Counts {
    const NAMES: [&'static str; 7] = [
        "received",
        "lost",
        "out_of_order",
        "bad_ids",
        "bad_data",
        "ended_early",
        "errors",
    ];

    fn slots(&mut self) -> [&mut u64; 7] {
        [
            &mut self.received,
            &mut self.lost,
            &mut self.out_of_order,
            &mut self.bad_ids,
            &mut self.bad_data,
            &mut self.ended_early,
            &mut self.errors,
        ]
    }

    fn add(&mut self, mut other: Counts) {
        for (mine, theirs) in self.slots().into_iter().zip(other.slots()) {
            *mine += *theirs;
        }
    }

    /// As `name=value` fields, for a report line.
    fn to_fields(mut self) -> String {
        let values = self.slots().map(|value| *value);
        let fields: Vec<String> = Counts::NAMES
            .iter()
            .zip(values)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        fields.join(" ")
    }

    /// The inverse of [`to_fields`](Counts::to_fields).
    fn from_fields(line: &str) -> Counts {
        let mut counts = Counts::default();
        for (slot, name) in counts.slots().into_iter().zip(Counts::NAMES) {
            *slot = number(line, name);
        }
        counts
    }
}

/// What the children reported, summed.
#[derive(Default, Debug)]
struct Tally {
    /// Of the reading clients.
    counts: Counts,
    first_error: Option<String>,
    /// Stalled clients whose connection the server closed (EOF or reset
    /// without the body's last chunk),
    stalled_dropped: u64,
    /// that the server ended with the body's last chunk,
    stalled_ended: u64,
    /// and that were still open after [`STALLED_DRAIN`].
    stalled_open: u64,
    /// Events the stalled clients read at the end, from their buffers.
    stalled_events: u64,
    /// Each stalled client's port and the last event number it got.
    stalled_last: Vec<(u16, u64)>,
}

impl Tally {
    fn add(&mut self, line: &str) {
        let counts = Counts::from_fields(line);
        self.counts.add(counts);
        if self.first_error.is_none() && counts.errors > 0 {
            self.first_error = Some(field(line, "first_error").replace('_', " "));
        }
        self.stalled_dropped += number(line, "stalled_dropped");
        self.stalled_ended += number(line, "stalled_ended");
        self.stalled_open += number(line, "stalled_open");
        self.stalled_events += number(line, "stalled_events");
        for pair in field(line, "stalled_last")
            .split(',')
            .filter(|p| !p.is_empty())
        {
            let (port, last) = pair.split_once(':').expect("port:last");
            let port = port.parse().expect("a port");
            self.stalled_last
                .push((port, last.parse().expect("an event number")));
        }
    }
}

/// What a run measured.
struct Outcome {
    spec: Spec,
    /// Runs before this one in this process.
    earlier_runs: usize,
    connect_time: Duration,
    rss_before: u64,
    rss_open: u64,
    client_rss_before: u64,
    client_rss_open: u64,
    paced: Phase,
    burst: Option<Phase>,
    tally: Tally,
    /// The hub's stats once the stalled subscribers are gone, before the
    /// clients leave.
    stats: HubStats,
    /// Connections the server dropped on the disconnect token.
    dropped: Vec<(u16, u64)>,
    /// For each stalled client: from the publish of the first event it
    /// never got to the server's drop of its connection.
    drop_delays: Vec<Duration>,
}

impl Outcome {
    fn reading(&self) -> u64 {
        (self.spec.subscribers - self.spec.stalled) as u64
    }

    /// Every reading subscriber got every event, once, in order; every
    /// stalled one was disconnected by the hub and its connection closed.
    fn assert_complete(&self) {
        let spec = &self.spec;
        let tally = &self.tally;
        let context = || format!("{tally:?}\n{:?}", self.stats);
        assert_eq!(
            tally.counts.errors,
            0,
            "client errors, the first: {:?}\n{}",
            tally.first_error,
            context()
        );
        assert_eq!(tally.counts.lost, 0, "events lost\n{}", context());
        assert_eq!(
            tally.counts.out_of_order,
            0,
            "events out of order\n{}",
            context()
        );
        assert_eq!(
            tally.counts.bad_ids,
            0,
            "IDs that do not follow the events\n{}",
            context()
        );
        assert_eq!(
            tally.counts.bad_data,
            0,
            "events with bad data\n{}",
            context()
        );
        assert_eq!(
            tally.counts.ended_early,
            0,
            "streams ended early\n{}",
            context()
        );
        assert_eq!(
            tally.counts.received,
            self.reading() * spec.total_events(),
            "events received by the {} reading subscribers\n{}",
            self.reading(),
            context()
        );
        assert_eq!(self.stats.published, spec.total_events(), "{}", context());
        assert_eq!(self.stats.dropped, 0, "{}", context());
        let stalled = spec.stalled as u64;
        // `disconnected_slow` counts every subscriber the policy ended,
        // `disconnected_stalled` the part of them the sweep found.
        assert_eq!(
            self.stats.disconnected_slow,
            stalled,
            "subscribers the hub disconnected (disconnected_slow), each counted once\n{}",
            context()
        );
        assert!(
            self.stats.disconnected_stalled <= self.stats.disconnected_slow,
            "disconnected_stalled is part of disconnected_slow\n{}",
            context()
        );
        assert_eq!(
            tally.stalled_dropped + tally.stalled_ended,
            stalled,
            "stalled connections closed by the server (the rest still open after {STALLED_DRAIN:?} \
             of reading)\n{}",
            context()
        );
        assert_eq!(
            self.stats.subscribers,
            self.reading(),
            "subscriptions left once the stalled ones were gone\n{}",
            context()
        );
    }

    fn print(&self, title: &str) {
        let spec = &self.spec;
        let mib = |bytes: u64| bytes as f64 / 1048576.0;
        let per_sub = |before: u64, open: u64| {
            open.saturating_sub(before) as f64 / 1024.0 / spec.subscribers as f64
        };
        println!(
            "{title}: {} subscribers ({} stalled) over TCP from {} client processes, all \
             subscribed in {:.2} s; {} events: {} at {}/s for {} s{}, data of {} bytes",
            spec.subscribers,
            spec.stalled,
            spec.children,
            self.connect_time.as_secs_f64(),
            spec.total_events(),
            spec.paced_events(),
            spec.rate,
            spec.seconds,
            if spec.burst > 0 {
                format!(", then {} at full speed", spec.burst)
            } else {
                String::new()
            },
            spec.payload,
        );
        println!(
            "{title}: memory: server RSS {:.1} MiB before, {:.1} MiB with every subscriber idle: \
             {:.1} KiB per idle subscriber (hyper connection, task, body, subscription){}; \
             client processes {:.1} KiB per connection",
            mib(self.rss_before),
            mib(self.rss_open),
            per_sub(self.rss_before, self.rss_open),
            if self.earlier_runs > 0 {
                " (not the first run in this process: the allocator reuses what the earlier \
                 ones freed, so this undercounts; read the first run's figure)"
            } else {
                ""
            },
            per_sub(self.client_rss_before, self.client_rss_open),
        );
        println!("{title}: paced: {}", self.paced.describe());
        if let Some(burst) = &self.burst {
            println!("{title}: full speed: {}", burst.describe());
        }
        let tally = &self.tally;
        println!(
            "{title}: received {} events of the {} x {} expected by the reading subscribers, {} \
             lost, {} out of order; hub: published {}, delivered {}, dropped {}, \
             disconnected_stalled {}, disconnected_slow {}",
            tally.counts.received,
            spec.total_events(),
            self.reading(),
            tally.counts.lost,
            tally.counts.out_of_order,
            self.stats.published,
            self.stats.delivered,
            self.stats.dropped,
            self.stats.disconnected_stalled,
            self.stats.disconnected_slow,
        );
        if spec.stalled > 0 {
            let secs = |d: Option<&Duration>| d.map_or(f64::NAN, Duration::as_secs_f64);
            println!(
                "{title}: stalled: {} connections dropped by the server on the disconnect token, \
                 {} ended by the body, {} still open; before the drop they had got {} events \
                 ({:.1} per connection, sitting in the socket buffers); drop {:.2}..{:.2} s after \
                 the publish of the first event the client never got (bound: max_backlog_age {:?} \
                 + sweep {:?}, counted from the first frame the body had not taken: the frames \
                 hyper and the subscription's batch held come before it)",
                tally.stalled_dropped,
                tally.stalled_ended,
                tally.stalled_open,
                tally.stalled_events,
                tally.stalled_events as f64 / spec.stalled as f64,
                secs(self.drop_delays.iter().min()),
                secs(self.drop_delays.iter().max()),
                spec.config.max_backlog_age,
                spec.config.sweep_interval,
            );
        }
    }
}

/// Splits `total` among `parts`: the share of part `index`.
fn share(total: usize, parts: usize, index: usize) -> usize {
    total / parts + usize::from(index < total % parts)
}

/// Waits for each child's next line, which must start with `expected`.
async fn child_lines(children: &mut [TestChild], expected: &str, bound: Duration) -> Vec<String> {
    let mut lines = Vec::with_capacity(children.len());
    for child in children.iter_mut() {
        let line = child.marked_line(MARK, bound).await;
        match line.strip_prefix(expected) {
            Some(rest) => lines.push(rest.to_owned()),
            None => panic!(
                "a client process reported {line:?}, not {expected}...\n{}",
                child.output()
            ),
        }
    }
    lines
}

/// The latest receipt, in µs, of a phase's last event among the children's
/// `MARK` lines.
fn last_receipt(lines: &[String]) -> u64 {
    lines
        .iter()
        .map(|line| number(line, "last_rx_us"))
        .max()
        .unwrap_or(0)
}

/// One run: a hub, its server, the clients in child processes; every
/// figure of [`Outcome`]. Asserts nothing but that each step happens
/// within its bound.
async fn run(spec: &Spec) -> Outcome {
    let per_child = spec.subscribers.div_ceil(spec.children);
    ensure_nofile_limit("server (test)", spec.subscribers as u64 + 200);
    ensure_nofile_limit("client (child)", per_child as u64 + 200);

    let hub = Hub::new(spec.config.clone());
    let server = HubServer::start(hub.clone(), spec.send_buffer);
    let signal_dir = tempfile::tempdir().expect("a temporary directory");
    let signal = signal_dir.path().join("finish");
    let mut marks = vec![spec.paced_events()];
    if spec.burst > 0 {
        marks.push(spec.total_events());
    }
    let marks_text: Vec<String> = marks.iter().map(u64::to_string).collect();

    // Read before the children exist (their reader threads here cost a few
    // pages, nothing per connection).
    let rss_before = rss_bytes();
    let connecting = Instant::now();
    let mut children: Vec<TestChild> = (0..spec.children)
        .map(|index| {
            TestChild::spawn(
                CHILD_TEST,
                &[
                    (ADDR_VAR, server.addr.to_string()),
                    (
                        CLIENTS_VAR,
                        share(spec.subscribers, spec.children, index).to_string(),
                    ),
                    (
                        STALLED_VAR,
                        share(spec.stalled, spec.children, index).to_string(),
                    ),
                    (MARKS_VAR, marks_text.join(",")),
                    (SIGNAL_VAR, signal.display().to_string()),
                    (BOUND_VAR, spec.bound.as_secs().to_string()),
                ],
            )
        })
        .collect();
    let connect_bound =
        Duration::from_secs(30) + Duration::from_millis(spec.subscribers as u64 * 5);
    let ready = child_lines(&mut children, "READY ", connect_bound).await;
    let client_rss_before: u64 = ready.iter().map(|line| number(line, "rss_before")).sum();
    eventually(
        "every client subscribed",
        Duration::from_secs(30),
        || hub.stats().subscribers == spec.subscribers as u64,
        || format!("{:?}", hub.stats()),
    )
    .await;
    let connect_time = connecting.elapsed();
    // Everything idle for a moment, then the memory with every subscriber
    // connected.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_open = rss_bytes();
    let client_rss_open = children.iter().map(|child| rss_bytes_of(child.id())).sum();

    // The paced phase.
    let mut times = Vec::with_capacity(spec.total_events() as usize);
    let cpu = Cpu::now(&children);
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs(1) / spec.rate);
    for n in 1..=spec.paced_events() {
        ticks.tick().await;
        publish(&hub, n, spec.payload, &mut times);
    }
    let published_in = started.elapsed();
    let drain_bound = Duration::from_secs(60) + spec.bound / 4;
    let lines = child_lines(&mut children, "MARK0 ", drain_bound).await;
    let paced_cpu = Cpu::now(&children).since(cpu);
    let paced_end = Duration::from_micros(last_receipt(&lines).saturating_sub(times[0]));

    // The burst.
    let burst = if spec.burst > 0 {
        let cpu = Cpu::now(&children);
        let started = Instant::now();
        for n in spec.paced_events() + 1..=spec.total_events() {
            publish(&hub, n, spec.payload, &mut times);
        }
        let published_in = started.elapsed();
        let first = times[spec.paced_events() as usize];
        let lines = child_lines(&mut children, "MARK1 ", drain_bound).await;
        let cpu = Cpu::now(&children).since(cpu);
        Some((
            published_in,
            Duration::from_micros(last_receipt(&lines).saturating_sub(first)),
            cpu,
        ))
    } else {
        None
    };

    // The stalled subscribers: the hub gives up on each within its
    // bounds (the server's timer sweeps), the server drops its
    // connection, and the subscription goes.
    let stalled = spec.stalled as u64;
    let reading = (spec.subscribers - spec.stalled) as u64;
    eventually(
        "the hub disconnected every stalled subscriber",
        spec.config.max_backlog_age + Duration::from_secs(20),
        || {
            let stats = hub.stats();
            stats.disconnected_slow >= stalled && stats.subscribers <= reading
        },
        || format!("{:?}", hub.stats()),
    )
    .await;
    let stats = hub.stats();
    let dropped = lock(&server.dropped).clone();

    // The end: the children check their stalled clients, report, close.
    std::fs::write(&signal, b"").expect("the signal file");
    let results = child_lines(&mut children, "RESULT ", STALLED_DRAIN * 3).await;
    let mut tally = Tally::default();
    let mut paced = Histogram::new();
    let mut full = Histogram::new();
    for line in &results {
        tally.add(line);
        paced.merge(&Histogram::from_field(field(line, "h0")));
        if spec.burst > 0 {
            full.merge(&Histogram::from_field(field(line, "h1")));
        }
    }
    for child in &mut children {
        let status = child.wait(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "a client process reported its result but exited with {status}\n{}",
            child.output()
        );
    }
    server.stop(Duration::from_secs(30)).await;

    let drop_delays = tally
        .stalled_last
        .iter()
        .filter_map(|(port, last)| {
            let (_, at) = dropped.iter().find(|(p, _)| p == port)?;
            let missed = times.get(usize::try_from(*last).ok()?)?;
            Some(Duration::from_micros(at.saturating_sub(*missed)))
        })
        .collect();
    Outcome {
        spec: spec.clone(),
        earlier_runs: RUNS.fetch_add(1, Ordering::AcqRel),
        connect_time,
        rss_before,
        rss_open,
        client_rss_before,
        client_rss_open,
        paced: Phase {
            events: spec.paced_events(),
            published_in,
            end_to_end: paced_end,
            cpu: paced_cpu,
            latency: paced,
        },
        burst: burst.map(|(published_in, end_to_end, cpu)| Phase {
            events: spec.burst as u64,
            published_in,
            end_to_end,
            cpu,
            latency: full,
        }),
        tally,
        stats,
        dropped,
        drop_delays,
    }
}

/// Runs `spec` alone (after taking [`SERIAL`]), within its bound; on a
/// timeout the run is dropped, and with it the child processes, killed.
async fn run_alone(spec: &Spec) -> Outcome {
    let _alone = SERIAL.lock().await;
    timeout(spec.bound, run(spec))
        .await
        .unwrap_or_else(|_| panic!("the run did not finish within {:?}: {spec:?}", spec.bound))
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// N subscribers, R events/s for D s, then a burst: every subscriber gets
/// every event in order; prints latency, memory, throughput and CPU.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_load_every_subscriber_gets_every_event_in_order() {
    let scale = Scale::from_env();
    let spec = Spec::load(scale);
    let outcome = run_alone(&spec).await;
    outcome.print(&format!("hub load ({})", scale.name()));
    outcome.assert_complete();
    assert_eq!(
        outcome.paced.events + outcome.burst.as_ref().map_or(0, |b| b.events),
        spec.total_events()
    );
}

/// 1 % of the subscribers stall: the hub disconnects each, the server drops
/// its connection, the others get everything; their p99 latency is
/// printed next to that of the same run without stalled subscribers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_slow_consumers_are_disconnected_and_the_others_keep_up() {
    let scale = Scale::from_env();
    let spec = Spec::slow(scale);
    // Run after the load test when both run at once, so that its memory
    // figure is that of a fresh process (a tie-break, nothing depends on it).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = run_alone(&Spec {
        stalled: 0,
        ..spec.clone()
    })
    .await;
    let title = format!("hub slow consumers ({})", scale.name());
    baseline.print(&format!("{title}, baseline"));
    baseline.assert_complete();

    let outcome = run_alone(&spec).await;
    outcome.print(&format!("{title}, 1 % stalled"));
    outcome.assert_complete();
    assert_eq!(
        outcome.dropped.len(),
        outcome.tally.stalled_dropped as usize,
        "connections dropped on the disconnect token, and stalled clients that saw it"
    );

    let p99 = |o: &Outcome| o.paced.latency.quantile(0.99);
    let ratio = p99(&outcome).as_secs_f64() / p99(&baseline).as_secs_f64().max(1e-6);
    println!(
        "{title}: p99 latency of the reading subscribers: {:.2} ms without stalled ones, {:.2} ms \
         with {} of {} stalled: {ratio:.2}x (the target is within 2x; not asserted); bounds \
         max_backlog_bytes {} KiB, max_backlog_age {:?}, server SO_SNDBUF {} KiB, stalled \
         clients' SO_RCVBUF {} KiB",
        p99(&baseline).as_secs_f64() * 1e3,
        p99(&outcome).as_secs_f64() * 1e3,
        spec.stalled,
        spec.subscribers,
        spec.config.max_backlog_bytes >> 10,
        spec.config.max_backlog_age,
        spec.send_buffer.unwrap_or(0) >> 10,
        STALLED_RECV_BUFFER >> 10,
    );
}

// ---------------------------------------------------------------------------
// The clients, in a child process
// ---------------------------------------------------------------------------

/// What a child's clients share.
struct Shared {
    /// The event numbers that end each phase.
    marks: Vec<u64>,
    opened: AtomicUsize,
    failed: AtomicUsize,
    first_error: Mutex<Option<String>>,
    /// Per phase: reading clients that got its last event (or ended).
    reached: Vec<AtomicUsize>,
    /// Per phase: the latest receipt of its last event, in µs.
    last_rx: Vec<AtomicU64>,
    /// Per phase: the latencies.
    latency: Mutex<Vec<Histogram>>,
    /// Cancelled when the parent's signal file appears.
    finish: CancellationToken,
}

impl Shared {
    fn error(&self, error: String) {
        lock(&self.first_error).get_or_insert(error);
    }
}

/// How one client's stream went.
#[derive(Default)]
struct ClientTally {
    counts: Counts,
    /// For a stalled client: how its connection ended,
    stalled_end: Option<StalledEnd>,
    /// its local port,
    port: u16,
    /// and the last event number it got.
    last: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StalledEnd {
    /// EOF or a reset without the body's last chunk: the server dropped
    /// the connection.
    Dropped,
    /// The body's last chunk: the server ended the stream.
    Ended,
    /// Nothing within [`STALLED_DRAIN`].
    Open,
}

/// Checks one client's events as they come.
struct Checker {
    tally: ClientTally,
    /// The event number expected next.
    next: u64,
    /// The last event number received.
    last: u64,
    /// The epoch of the IDs, and their sequence number minus the event
    /// number, from the first event.
    id_base: Option<(u64, i128)>,
    /// The next phase whose last event this client has not had.
    phase: usize,
}

impl Checker {
    fn new() -> Checker {
        Checker {
            tally: ClientTally::default(),
            next: 1,
            last: 0,
            id_base: None,
            phase: 0,
        }
    }

    /// Event `event`, received at `now`. Only a `reading` client records
    /// latencies and phases (not a stalled one reading its buffers late).
    fn event(&mut self, event: SseEvent<'_>, now: u64, shared: &Shared, reading: bool) {
        let parsed = core::str::from_utf8(event.data).ok().and_then(|data| {
            let mut parts = data.split(' ');
            let n: u64 = parts.next()?.parse().ok()?;
            let at: u64 = parts.next()?.parse().ok()?;
            Some((n, at))
        });
        let total = *shared.marks.last().expect("at least one phase");
        let Some((n, at)) = parsed.filter(|(n, _)| (1..=total).contains(n)) else {
            self.tally.counts.bad_data += 1;
            return;
        };
        // The hub's IDs are `<epoch>-<sequence>`, one apart per event.
        let id = core::str::from_utf8(event.id)
            .ok()
            .and_then(|id| id.split_once('-'))
            .and_then(|(e, s)| Some((e.parse::<u64>().ok()?, s.parse::<u64>().ok()?)));
        match id {
            Some((epoch, seq)) => {
                let base = (epoch, i128::from(seq) - i128::from(n));
                if *self.id_base.get_or_insert(base) != base {
                    self.tally.counts.bad_ids += 1;
                }
            }
            None => self.tally.counts.bad_ids += 1,
        }
        self.tally.counts.received += 1;
        self.last = n;
        if n < self.next {
            self.tally.counts.out_of_order += 1;
            return;
        }
        self.tally.counts.lost += n - self.next;
        self.next = n + 1;
        if !reading {
            return;
        }
        let phase = shared.marks.iter().position(|&m| n <= m).unwrap_or(0);
        lock(&shared.latency)[phase].record(now.saturating_sub(at));
        while self.phase < shared.marks.len() && n >= shared.marks[self.phase] {
            shared.reached[self.phase].fetch_add(1, Ordering::AcqRel);
            shared.last_rx[self.phase].fetch_max(now, Ordering::AcqRel);
            self.phase += 1;
        }
    }

    /// The stream ended (`finished`: on the parent's signal, as it should):
    /// the events not received are lost, and the phases not reached are
    /// counted as reached, so that the child does not wait for them.
    fn end(mut self, finished: bool, shared: &Shared) -> ClientTally {
        let total = *shared.marks.last().expect("at least one phase");
        self.tally.counts.lost += (total + 1).saturating_sub(self.next);
        if !finished {
            self.tally.counts.ended_early += 1;
        }
        while self.phase < shared.marks.len() {
            shared.reached[self.phase].fetch_add(1, Ordering::AcqRel);
            self.phase += 1;
        }
        self.tally
    }
}

/// Connects (with a small receive buffer if `small_buffer`), writes the
/// request and reads the response head, which must be a `200` event
/// stream, chunked. Returns the stream and the body's first bytes.
async fn open(addr: SocketAddr, small_buffer: bool) -> Result<(TcpStream, Vec<u8>), String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    if small_buffer {
        socket
            .set_recv_buffer_size(STALLED_RECV_BUFFER)
            .map_err(|e| format!("SO_RCVBUF: {e}"))?;
    }
    let mut stream = socket
        .connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(REQUEST)
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    loop {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("read the head: {e}"))?;
        if n == 0 {
            return Err(format!("closed before the end of the head: {head:?}"));
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let body = head.split_off(end + 4);
            let response = parse_response(&head).ok_or("an unparsable head")?;
            let ok = response.status == 200
                && response.header("content-type") == Some("text/event-stream")
                && response.header("transfer-encoding") == Some("chunked");
            if !ok {
                return Err(format!("not a chunked 200 event stream: {response:?}"));
            }
            return Ok((stream, body));
        }
        if head.len() > 16 << 10 {
            return Err("a response head over 16 KiB".into());
        }
    }
}

/// One client: opens its stream, then reads and checks every event until
/// the parent's signal; or, `stalled`, reads nothing more until the
/// signal, then reads what its buffers hold until the server's close.
async fn client(
    addr: SocketAddr,
    stalled: bool,
    shared: Arc<Shared>,
    gate: Arc<Semaphore>,
) -> ClientTally {
    let permit = gate
        .acquire_owned()
        .await
        .expect("the gate is never closed");
    let (mut stream, first) = match open(addr, stalled).await {
        Ok(opened) => opened,
        Err(err) => {
            shared.error(err);
            shared.failed.fetch_add(1, Ordering::AcqRel);
            let mut tally = ClientTally::default();
            tally.counts.errors = 1;
            return tally;
        }
    };
    drop(permit);
    shared.opened.fetch_add(1, Ordering::AcqRel);
    let port = stream.local_addr().map_or(0, |a| a.port());
    let mut parser = SseParser::new();
    let mut checker = Checker::new();
    let failed = |err: String, checker: &mut Checker| {
        shared.error(err);
        checker.tally.counts.errors += 1;
    };

    if stalled {
        shared.finish.cancelled().await;
        let mut buf = vec![0u8; 16 << 10];
        let mut pending = first;
        let drained = timeout(STALLED_DRAIN, async {
            loop {
                let now = now_micros();
                let fed = parser.feed(&pending, &mut |event| {
                    checker.event(event, now, &shared, false)
                });
                if let Err(err) = fed {
                    failed(format!("a stalled client's stream: {err}"), &mut checker);
                    return StalledEnd::Dropped;
                }
                if parser.ended() {
                    return StalledEnd::Ended;
                }
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return StalledEnd::Dropped,
                    Ok(n) => pending = buf[..n].to_vec(),
                }
            }
        })
        .await;
        let mut tally = checker.tally;
        tally.stalled_end = Some(drained.unwrap_or(StalledEnd::Open));
        tally.port = port;
        tally.last = checker.last;
        return tally;
    }

    let mut buf = vec![0u8; 8 << 10];
    let now = now_micros();
    if let Err(err) = parser.feed(&first, &mut |e| checker.event(e, now, &shared, true)) {
        failed(err, &mut checker);
        return checker.end(false, &shared);
    }
    let finished = loop {
        let read = tokio::select! {
            biased;
            () = shared.finish.cancelled() => break true,
            read = stream.read(&mut buf) => read,
        };
        match read {
            Ok(0) => break false,
            Ok(n) => {
                let now = now_micros();
                let fed = parser.feed(&buf[..n], &mut |e| checker.event(e, now, &shared, true));
                if let Err(err) = fed {
                    failed(err, &mut checker);
                    break false;
                }
                if parser.ended() {
                    break false;
                }
            }
            Err(err) => {
                failed(format!("read: {err}"), &mut checker);
                break false;
            }
        }
    };
    checker.end(finished, &shared)
}

/// A parameter of the child, from its environment.
fn param<T: core::str::FromStr>(name: &str) -> T
where
    T::Err: core::fmt::Display,
{
    let value = std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test is the client side of the tests in hub_load.rs, which \
             run it in child processes; run those instead"
        )
    });
    value
        .parse()
        .unwrap_or_else(|err| panic!("{name}={value:?}: {err}"))
}

/// The client side of the hub load tests, run by them in child processes
/// (this test binary again) with the parameters in [`ADDR_VAR`] and the
/// others: reports on its stdout, see [`MARK`].
#[tokio::test(flavor = "current_thread")]
#[ignore = "run by the hub load tests in child processes"]
async fn hub_load_clients_in_a_child_process() {
    let addr: SocketAddr = param(ADDR_VAR);
    assert!(addr.ip().is_loopback(), "{ADDR_VAR}={addr}: not loopback");
    let clients: usize = param(CLIENTS_VAR);
    let stalled: usize = param(STALLED_VAR);
    let marks: Vec<u64> = param::<String>(MARKS_VAR)
        .split(',')
        .map(|mark| mark.parse().expect("an event number"))
        .collect();
    let signal = PathBuf::from(param::<String>(SIGNAL_VAR));
    let bound = Duration::from_secs(param(BOUND_VAR));

    let work = tokio::spawn(timeout(
        bound,
        clients_main(addr, clients, stalled, marks, signal),
    ));
    let failure = match work.await {
        Ok(Ok(Ok(result))) => {
            println!("{MARK}RESULT {result}");
            return;
        }
        Ok(Ok(Err(err))) => err,
        Ok(Err(_)) => format!("the clients did not finish within {bound:?}"),
        Err(err) => panic_message(err),
    };
    println!("{MARK}FAIL {}", failure.replace('\n', " | "));
    panic!("the hub load clients failed: {failure}");
}

/// Runs the clients, printing `READY` and the `MARK` lines; returns the
/// `RESULT` fields.
async fn clients_main(
    addr: SocketAddr,
    clients: usize,
    stalled: usize,
    marks: Vec<u64>,
    signal: PathBuf,
) -> Result<String, String> {
    let rss_before = rss_bytes();
    let shared = Arc::new(Shared {
        reached: marks.iter().map(|_| AtomicUsize::new(0)).collect(),
        last_rx: marks.iter().map(|_| AtomicU64::new(0)).collect(),
        latency: Mutex::new(marks.iter().map(|_| Histogram::new()).collect()),
        marks,
        opened: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        first_error: Mutex::new(None),
        finish: CancellationToken::new(),
    });
    // At most 256 handshakes in flight, so that no SYN waits for a
    // retransmission; the connections all stay open together.
    let gate = Arc::new(Semaphore::new(256));
    let tasks: Vec<JoinHandle<ClientTally>> = (0..clients)
        .map(|index| {
            tokio::spawn(client(
                addr,
                index < stalled,
                Arc::clone(&shared),
                Arc::clone(&gate),
            ))
        })
        .collect();
    let first_error = || lock(&shared.first_error).clone().unwrap_or_default();

    eventually(
        "every client read its response head",
        Duration::from_secs(120),
        || shared.opened.load(Ordering::Acquire) + shared.failed.load(Ordering::Acquire) == clients,
        || format!("{} open", shared.opened.load(Ordering::Acquire)),
    )
    .await;
    let failed = shared.failed.load(Ordering::Acquire);
    if failed > 0 {
        return Err(format!(
            "{failed} clients failed to open, the first: {}",
            first_error()
        ));
    }
    println!("{MARK}READY clients={clients} stalled={stalled} rss_before={rss_before}");

    let reading = clients - stalled;
    for (phase, reached) in shared.reached.iter().enumerate() {
        while reached.load(Ordering::Acquire) < reading {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let last_rx = shared.last_rx[phase].load(Ordering::Acquire);
        println!("{MARK}MARK{phase} last_rx_us={last_rx}");
    }

    wait_for_file(&signal).await;
    shared.finish.cancel();
    let mut sum = Counts::default();
    let (mut dropped, mut ended, mut open, mut stalled_events) = (0, 0, 0, 0);
    let mut stalled_last = Vec::new();
    for (index, task) in tasks.into_iter().enumerate() {
        let tally = task
            .await
            .map_err(|err| format!("client {index}: {}", panic_message(err)))?;
        if let Some(end) = tally.stalled_end {
            match end {
                StalledEnd::Dropped => dropped += 1,
                StalledEnd::Ended => ended += 1,
                StalledEnd::Open => open += 1,
            }
            stalled_events += tally.counts.received;
            stalled_last.push(format!("{}:{}", tally.port, tally.last));
            sum.errors += tally.counts.errors;
            continue;
        }
        sum.add(tally.counts);
    }
    let latency = lock(&shared.latency);
    let histograms: Vec<String> = latency
        .iter()
        .enumerate()
        .map(|(phase, h)| format!("h{phase}={}", h.to_field()))
        .collect();
    Ok(format!(
        "{} first_error={} stalled_dropped={dropped} stalled_ended={ended} stalled_open={open} \
         stalled_events={stalled_events} stalled_last={} {}",
        sum.to_fields(),
        first_error().replace(char::is_whitespace, "_") + "_",
        stalled_last.join(",") + ",",
        histograms.join(" "),
    ))
}

/// Waits until `path` exists, checking every 10 ms (the child's bound ends
/// the wait if the parent never writes it).
async fn wait_for_file(path: &Path) {
    while !path.exists() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------
// The helpers' own tests
// ---------------------------------------------------------------------------

/// The parser gets the same events from a stream however it is split,
/// with CR, LF and CRLF line ends, comments, a chunk extension, and the
/// last chunk.
#[test]
fn the_clients_parser_reads_a_chunked_event_stream_in_any_split() {
    let body =
        "id: 7-0\ndata: 1 10\n\n: heartbeat\r\n\r\nid: 7-1\r\ndata: 2 20\r\ndata: x\r\n\r\nretry: \
                1000\rdata: 3 30\r\r";
    let mut wire = Vec::new();
    for piece in body.as_bytes().chunks(7) {
        wire.extend_from_slice(format!("{:x};ext=1\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    for split in [1, 2, 3, 5, 8, 13, wire.len()] {
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        for piece in wire.chunks(split) {
            parser
                .feed(piece, &mut |e| {
                    events.push((
                        String::from_utf8_lossy(e.id).into_owned(),
                        String::from_utf8_lossy(e.data).into_owned(),
                    ))
                })
                .expect("a valid stream");
        }
        let expected = [("7-0", "1 10"), ("7-1", "2 20\nx"), ("7-1", "3 30")];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(i, d)| ((*i).into(), (*d).into()))
            .collect();
        assert_eq!(events, expected, "split every {split} bytes");
        assert_eq!((parser.comments, parser.retry), (1, Some(1000)));
        assert!(parser.ended(), "split every {split} bytes");
        assert!(
            parser.feed(b"x", &mut |_| {}).is_err(),
            "bytes after the end"
        );
    }
    let mut parser = SseParser::new();
    assert!(
        parser.feed(b"zz\r\n", &mut |_| {}).is_err(),
        "not a chunk size"
    );

    // Lines of every length around the 8-byte words the line search reads.
    for len in 0..40 {
        for end in ["\n", "\r", "\r\n"] {
            let data = "y".repeat(len);
            let text = format!("data: {data}{end}{end}");
            let mut wire = format!("{:x}\r\n", text.len()).into_bytes();
            wire.extend_from_slice(text.as_bytes());
            wire.extend_from_slice(b"\r\n");
            let mut parser = SseParser::new();
            let mut got = Vec::new();
            parser
                .feed(&wire, &mut |e| got.push(e.data.to_vec()))
                .expect("a valid stream");
            assert_eq!(got, [data.into_bytes()], "{len} bytes, {end:?}");
        }
    }
}

/// The histogram's quantiles are within its precision, and it survives the
/// trip through a report line.
#[test]
fn the_latency_histogram_merges_and_round_trips() {
    let mut a = Histogram::new();
    let mut b = Histogram::new();
    let mut all = Vec::new();
    for v in 1..=1000u64 {
        a.record(v * 100);
        b.record(v * 1000);
        all.extend([v * 100, v * 1000]);
    }
    a.merge(&b);
    let a = Histogram::from_field(&a.to_field());
    assert_eq!(a.count(), 2000);
    assert_eq!(a.max(), Duration::from_micros(1_000_000));
    let close = |d: Duration, micros: f64| (d.as_micros() as f64 / micros - 1.0).abs() < 0.02;
    all.sort_unstable();
    for q in [0.01, 0.5, 0.9, 0.99, 1.0] {
        let exact = all[(q * 2000.0) as usize - 1] as f64;
        assert!(
            close(a.quantile(q), exact),
            "q {q}: {:?}, not {exact}",
            a.quantile(q)
        );
    }
    assert_eq!(Histogram::new().quantile(0.99), Duration::ZERO);
    for v in [0, 1, 127, 128, 129, 255, 256, 1 << 40, u64::MAX / 2] {
        let mut h = Histogram::new();
        h.record(v);
        assert!(close(h.quantile(0.5), v.max(1) as f64) || v == 0, "{v}");
    }
}
