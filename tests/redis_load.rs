//! The hub load test (`hub_load.rs`) through Redis, with two nodes: two
//! [`RedisFanout`]s on one real `redis-server` (from `SSEKIT_REDIS_URL`),
//! in this process, each behind a hyper HTTP/1.1 server of its own on
//! 127.0.0.1 that answers `GET /` with a subscription to topic `load`; raw
//! TCP clients in child processes (this test binary run again, its one
//! ignored test), half of them on each node, read the chunked event stream
//! and check it.
//!
//! N subscribers connect; one node publishes R events/s for D seconds
//! (`publish_all`, an `XADD` each), then a burst as fast as it can
//! (`publish_all` of a batch at a time: one pipeline, one round trip); each
//! node's one reader per topic (`XREAD BLOCK`) fans the entries out to its
//! subscribers. Every subscriber must get every event, in order, with the
//! stream entry IDs that the publish returned (the same on both nodes).
//! Prints the latency (receive time minus publish time, both wall-clock
//! microseconds written into the event, so that the processes agree), the
//! server's memory per idle subscriber, deliveries per second, the CPU
//! time of the server, the clients and Redis, and each node's Redis
//! counters (one reader connection per node).
//!
//! Scale: `SSEKIT_HUB_LOAD=full` runs 15,000 subscribers at 100 events/s
//! for 10 s (build in release: `SSEKIT_HUB_LOAD=full cargo test --release
//! --test redis_load -- --nocapture --test-threads=1`); the default, 1,000
//! subscribers at 50 events/s for 3 s, is small enough for a debug build in
//! CI. Only counts are asserted, never a time; every wait is bounded.

#[allow(dead_code)] // shared with server_http.rs, of which this uses a part
mod server_http_common;

#[allow(dead_code)] // shared with hub_load.rs, of which this uses a part
mod hub_load_common;

mod redis_common;

use core::convert::Infallible;
use core::net::SocketAddr;
use core::sync::atomic::AtomicUsize;
use core::time::Duration;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hub_load_common::child::{
    child_main, digest, IdRule, ADDR_VAR, BOUND_VAR, CLIENTS_VAR, DIGEST_START, MARKS_VAR,
    SIGNAL_VAR, STALLED_VAR,
};
use hub_load_common::parent::{
    child_lines, field, last_receipt, lock, number, numbered_event, share, stop_server, Cpu, Phase,
    Scale, Tally,
};
use hub_load_common::{ensure_nofile_limit, Histogram};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use redis_common::{command, port_of, redis_url, unique_key};
use server_http_common::{boxed, eventually, rss_bytes, rss_bytes_of, Live, ServerBody, TestChild};
use ssekit::adapters::http::LastEventId;
use ssekit::adapters::hub::{HubConfig, HubStats};
use ssekit::adapters::redis::{FanoutError, RedisConfig, RedisFanout, RedisStats};
use ssekit::Event;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// The topic every subscriber reads.
const TOPIC: &str = "load";

/// The nodes, each with its server; client process `i` reads from node
/// `i % NODES`.
const NODES: usize = 2;

/// The test that runs in the child processes: the clients.
const CHILD_TEST: &str = "redis_load_clients_in_a_child_process";

// ---------------------------------------------------------------------------
// Scale
// ---------------------------------------------------------------------------

/// The run.
#[derive(Clone, Debug)]
struct Spec {
    subscribers: usize,
    /// The paced phase: this many events per second,
    rate: u32,
    /// for this many seconds.
    seconds: u32,
    /// Events published as fast as possible after the paced phase,
    burst: usize,
    /// in `publish_all` calls of this many (one pipeline each).
    batch: usize,
    /// The length of each event's data: the event number and the publish
    /// time, padded with `x` to this length.
    payload: usize,
    /// Client processes: a multiple of [`NODES`].
    children: usize,
    /// The bound on the whole run.
    bound: Duration,
}

impl Spec {
    fn new(scale: Scale) -> Spec {
        let (subscribers, rate, seconds, burst, bound) = match scale {
            Scale::Default => (1_000, 50, 3, 500, 120),
            Scale::Full => (15_000, 100, 10, 2_000, 900),
        };
        Spec {
            subscribers,
            rate,
            seconds,
            burst,
            batch: 100,
            payload: 60,
            children: NODES,
            bound: Duration::from_secs(bound),
        }
    }

    fn paced_events(&self) -> u64 {
        u64::from(self.rate) * u64::from(self.seconds)
    }

    fn total_events(&self) -> u64 {
        self.paced_events() + self.burst as u64
    }

    /// The subscribers of node `node`: those of its client processes.
    fn on_node(&self, node: usize) -> usize {
        (0..self.children)
            .filter(|child| child % NODES == node)
            .map(|child| share(self.subscribers, self.children, child))
            .sum()
    }
}

// ---------------------------------------------------------------------------
// The servers
// ---------------------------------------------------------------------------

/// A hyper HTTP/1.1 server of one node on 127.0.0.1, in tasks of the
/// test's runtime, that also calls the node's [`Hub::expire`] every sweep
/// interval (as the hub's documentation asks).
///
/// [`Hub::expire`]: ssekit::adapters::hub::Hub::expire
struct NodeServer {
    addr: SocketAddr,
    stop: CancellationToken,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl NodeServer {
    async fn start(node: RedisFanout) -> NodeServer {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the listener's address");
        let stop = CancellationToken::new();
        let connections = Arc::new(AtomicUsize::new(0));
        let task = {
            let (stop, connections) = (stop.clone(), connections.clone());
            tokio::spawn(async move {
                let mut sweep = tokio::time::interval(node.hub().config().sweep_interval);
                loop {
                    let stream = tokio::select! {
                        biased;
                        () = stop.cancelled() => break,
                        _ = sweep.tick() => {
                            node.hub().expire();
                            continue;
                        }
                        accepted = listener.accept() => match accepted {
                            Ok((stream, _)) => stream,
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
                        node.clone(),
                        stop.clone(),
                        Live::new(&connections),
                    ));
                }
            })
        };
        NodeServer {
            addr,
            stop,
            connections,
            task,
        }
    }

    /// Stops accepting, drops every connection, and waits at most `bound`
    /// for all that to be done.
    async fn stop(self, bound: Duration) {
        stop_server(&self.stop, self.task, &self.connections, bound).await;
    }
}

/// The sender of a connection's subscription's disconnect token.
type OnSubscribe = Arc<Mutex<Option<oneshot::Sender<CancellationToken>>>>;

/// One connection: hyper's HTTP/1.1 server, dropped when the node's hub
/// cancels the disconnect token of the subscription it serves (the hub
/// gave up on a client that stopped reading), or when the server stops.
async fn connection(stream: TcpStream, node: RedisFanout, stop: CancellationToken, _live: Live) {
    let (tx, rx) = oneshot::channel::<CancellationToken>();
    let tx: OnSubscribe = Arc::new(Mutex::new(Some(tx)));
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let (node, tx) = (node.clone(), Arc::clone(&tx));
        let (method, path, headers) = (
            request.method().clone(),
            request.uri().path().to_owned(),
            request.headers().clone(),
        );
        async move {
            let response = respond(&node, &method, &path, &headers, &tx).await;
            Ok::<_, Infallible>(response)
        }
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
        () = disconnect => {}
        () = stop.cancelled() => {}
    }
}

/// `GET /`: a subscription to [`TOPIC`] on `node` after the request's
/// `Last-Event-ID`; the hub's `503` past its limits, a `503` when Redis
/// could not be asked.
async fn respond(
    node: &RedisFanout,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    on_subscribe: &OnSubscribe,
) -> Response<ServerBody> {
    let plain = |status: StatusCode, text: String| {
        let mut response = Response::new(boxed(Full::new(Bytes::from(text))));
        *response.status_mut() = status;
        response
    };
    if method != Method::GET || path != "/" {
        return plain(StatusCode::NOT_FOUND, String::from("not found"));
    }
    let last_id = match LastEventId::from_headers(headers) {
        Ok(last_id) => last_id,
        Err(err) => return plain(StatusCode::BAD_REQUEST, err.to_string()),
    };
    match node.subscribe(TOPIC, last_id.as_deref()).await {
        Ok(subscription) => {
            if let Some(tx) = lock(on_subscribe).take() {
                let _ = tx.send(subscription.disconnect_token());
            }
            subscription.into_body().response().map(boxed)
        }
        Err(FanoutError::Subscribe(err)) => {
            err.response(boxed(Full::new(Bytes::from(err.to_string()))))
        }
        Err(err) => plain(StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
    }
}

/// Publishes events `numbers` through `node` in one `publish_all`,
/// recording each one's publish time and the entry ID Redis gave it.
async fn publish(
    node: &RedisFanout,
    numbers: core::ops::RangeInclusive<u64>,
    payload: usize,
    times: &mut Vec<u64>,
    ids: &mut Vec<String>,
) {
    let (events, at): (Vec<Event>, Vec<u64>) =
        numbers.clone().map(|n| numbered_event(n, payload)).unzip();
    let positions = node
        .publish_all(TOPIC, &events)
        .await
        .unwrap_or_else(|err| panic!("publishing events {numbers:?}: {err}"));
    assert_eq!(positions.len(), events.len(), "an entry ID per event");
    times.extend(at);
    ids.extend(positions.iter().map(ToString::to_string));
}

// ---------------------------------------------------------------------------
// Redis's own CPU time
// ---------------------------------------------------------------------------

/// The CPU time Redis reports having used (`INFO cpu`: `used_cpu_user`
/// plus `used_cpu_sys`), when its URL is on loopback (the test helpers
/// talk to loopback only); `None` otherwise.
fn redis_cpu(url: &str) -> Option<Duration> {
    let authority = url.strip_prefix("redis://")?.split('/').next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    if host != "127.0.0.1" && host != "localhost" {
        return None;
    }
    let info = command(port_of(url), &["INFO", "cpu"]);
    let seconds = |name: &str| -> Option<f64> {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.trim().parse().ok())
    };
    Some(Duration::from_secs_f64(
        seconds("used_cpu_user")? + seconds("used_cpu_sys")?,
    ))
}

/// Redis's CPU time from `before` to `after`, as text.
fn redis_cpu_text(before: Option<Duration>, after: Option<Duration>) -> String {
    match (before, after) {
        (Some(before), Some(after)) => {
            format!("{:.2} s", after.saturating_sub(before).as_secs_f64())
        }
        _ => String::from("unknown (not on loopback)"),
    }
}

// ---------------------------------------------------------------------------
// A run
// ---------------------------------------------------------------------------

/// What a run measured.
struct Outcome {
    spec: Spec,
    connect_time: Duration,
    rss_before: u64,
    rss_open: u64,
    client_rss_before: u64,
    client_rss_open: u64,
    paced: Phase,
    paced_redis_cpu: String,
    burst: Phase,
    burst_redis_cpu: String,
    tally: Tally,
    /// The digest of the entry IDs the publishes returned, in order.
    expected_digest: u64,
    /// Each node's hub and Redis counters, before the clients leave.
    stats: Vec<(HubStats, RedisStats)>,
}

impl Outcome {
    /// Every subscriber got every event, once, in order, with the IDs the
    /// publishes returned; each node read the topic with one reader
    /// connection and delivered every event to each of its subscribers.
    fn assert_complete(&self) {
        let spec = &self.spec;
        let tally = &self.tally;
        let context = || format!("{tally:?}\n{:?}", self.stats);
        tally.assert_clean(&context);
        assert_eq!(
            tally.counts.received,
            spec.subscribers as u64 * spec.total_events(),
            "events received by the {} subscribers\n{}",
            spec.subscribers,
            context()
        );
        assert_eq!(
            tally.id_digests,
            [self.expected_digest],
            "the digests of the IDs the subscribers got, and of the IDs the publishes returned\n{}",
            context()
        );
        for (node, (hub, redis)) in self.stats.iter().enumerate() {
            let on_node = spec.on_node(node) as u64;
            assert_eq!(hub.subscribers, on_node, "node {node}\n{}", context());
            assert_eq!(
                hub.published,
                spec.total_events(),
                "node {node}\n{}",
                context()
            );
            assert_eq!(
                hub.delivered,
                on_node * spec.total_events(),
                "node {node}\n{}",
                context()
            );
            assert_eq!(
                (hub.dropped, hub.disconnected_slow),
                (0, 0),
                "node {node}\n{}",
                context()
            );
            assert_eq!(
                redis.reader_connects,
                1,
                "node {node}: one reader per topic per node, connected once\n{}",
                context()
            );
            assert_eq!(
                (redis.reader_errors, redis.malformed, redis.publish_errors),
                (0, 0, 0),
                "node {node}\n{}",
                context()
            );
        }
    }

    fn print(&self, title: &str) {
        let spec = &self.spec;
        let mib = |bytes: u64| bytes as f64 / 1048576.0;
        let per_sub = |before: u64, open: u64| {
            open.saturating_sub(before) as f64 / 1024.0 / spec.subscribers as f64
        };
        println!(
            "{title}: {} subscribers over TCP from {} client processes, {} on each of {NODES} \
             nodes on one Redis, all subscribed in {:.2} s; {} events published through node 0: \
             {} at {}/s for {} s (publish_all of 1), then {} at full speed (publish_all of {}), \
             data of {} bytes",
            spec.subscribers,
            spec.children,
            spec.on_node(0),
            self.connect_time.as_secs_f64(),
            spec.total_events(),
            spec.paced_events(),
            spec.rate,
            spec.seconds,
            spec.burst,
            spec.batch,
            spec.payload,
        );
        println!(
            "{title}: memory: server RSS {:.1} MiB before (both nodes connected), {:.1} MiB with \
             every subscriber idle: {:.1} KiB per idle subscriber (hyper connection, task, body, \
             subscription); client processes {:.1} KiB per connection",
            mib(self.rss_before),
            mib(self.rss_open),
            per_sub(self.rss_before, self.rss_open),
            per_sub(self.client_rss_before, self.client_rss_open),
        );
        println!(
            "{title}: paced: {}; redis-server CPU {}",
            self.paced.describe(),
            self.paced_redis_cpu
        );
        println!(
            "{title}: full speed: {}; redis-server CPU {}",
            self.burst.describe(),
            self.burst_redis_cpu
        );
        let tally = &self.tally;
        println!(
            "{title}: received {} events of the {} x {} expected, {} lost, {} out of order, {} \
             bad IDs; ID digests of the subscribers {:x?}, of the publishes {:x}",
            tally.counts.received,
            spec.total_events(),
            spec.subscribers,
            tally.counts.lost,
            tally.counts.out_of_order,
            tally.counts.bad_ids,
            tally.id_digests,
            self.expected_digest,
        );
        for (node, (hub, redis)) in self.stats.iter().enumerate() {
            println!(
                "{title}: node {node}: hub: subscribers {}, published {}, delivered {}, dropped \
                 {}, disconnected_slow {}, history_fetched {}; redis_stats: reader_connects {}, \
                 reader_errors {}, malformed {}, history_reads {}, publish_errors {}",
                hub.subscribers,
                hub.published,
                hub.delivered,
                hub.dropped,
                hub.disconnected_slow,
                hub.history_fetched,
                redis.reader_connects,
                redis.reader_errors,
                redis.malformed,
                redis.history_reads,
                redis.publish_errors,
            );
        }
    }
}

/// The Redis configuration of a run: keys of its own.
fn redis_config() -> RedisConfig {
    let mut config = RedisConfig::default();
    config.key_prefix = format!("{}:", unique_key("redis-load"));
    config
}

/// One run: two nodes, their servers, the clients in child processes; every
/// figure of [`Outcome`]. Asserts nothing but that each step happens
/// within its bound.
async fn run(spec: &Spec) -> Outcome {
    assert_eq!(
        spec.children % NODES,
        0,
        "as many client processes per node"
    );
    let per_child = spec.subscribers.div_ceil(spec.children);
    ensure_nofile_limit("server (test)", spec.subscribers as u64 + 200);
    ensure_nofile_limit("client (child)", per_child as u64 + 200);

    let url = redis_url();
    let config = redis_config();
    let mut nodes = Vec::with_capacity(NODES);
    let mut servers = Vec::with_capacity(NODES);
    for _ in 0..NODES {
        let node = RedisFanout::connect(&url, HubConfig::default(), config.clone())
            .await
            .unwrap_or_else(|err| panic!("a node on {url}: {err}"));
        servers.push(NodeServer::start(node.clone()).await);
        nodes.push(node);
    }
    let signal_dir = tempfile::tempdir().expect("a temporary directory");
    let signal = signal_dir.path().join("finish");
    let marks = [spec.paced_events(), spec.total_events()].map(|m| m.to_string());

    let rss_before = rss_bytes();
    let connecting = Instant::now();
    let mut children: Vec<TestChild> = (0..spec.children)
        .map(|index| {
            TestChild::spawn(
                CHILD_TEST,
                &[
                    (ADDR_VAR, servers[index % NODES].addr.to_string()),
                    (
                        CLIENTS_VAR,
                        share(spec.subscribers, spec.children, index).to_string(),
                    ),
                    (STALLED_VAR, String::from("0")),
                    (MARKS_VAR, marks.join(",")),
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
        || {
            (0..NODES)
                .all(|node| nodes[node].hub().stats().subscribers == spec.on_node(node) as u64)
        },
        || {
            let stats: Vec<HubStats> = nodes.iter().map(|node| node.hub().stats()).collect();
            format!("{stats:?}")
        },
    )
    .await;
    let connect_time = connecting.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_open = rss_bytes();
    let client_rss_open = children.iter().map(|child| rss_bytes_of(child.id())).sum();

    // The paced phase: one event per tick, through node 0.
    let publisher = &nodes[0];
    let total = spec.total_events() as usize;
    let (mut times, mut ids) = (Vec::with_capacity(total), Vec::with_capacity(total));
    let drain_bound = Duration::from_secs(60) + spec.bound / 4;
    let cpu = Cpu::now(&children);
    let redis_before = redis_cpu(&url);
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs(1) / spec.rate);
    for n in 1..=spec.paced_events() {
        ticks.tick().await;
        publish(publisher, n..=n, spec.payload, &mut times, &mut ids).await;
    }
    let published_in = started.elapsed();
    let lines = child_lines(&mut children, "MARK0 ", drain_bound).await;
    let paced_cpu = Cpu::now(&children).since(cpu);
    let redis_paced = redis_cpu(&url);
    let paced_end = Duration::from_micros(last_receipt(&lines).saturating_sub(times[0]));

    // The burst: pipelines of `batch` events, back to back.
    let cpu = Cpu::now(&children);
    let started = Instant::now();
    let mut n = spec.paced_events() + 1;
    while n <= spec.total_events() {
        let last = (n + spec.batch as u64 - 1).min(spec.total_events());
        publish(publisher, n..=last, spec.payload, &mut times, &mut ids).await;
        n = last + 1;
    }
    let burst_published_in = started.elapsed();
    let first = times[spec.paced_events() as usize];
    let lines = child_lines(&mut children, "MARK1 ", drain_bound).await;
    let burst_cpu = Cpu::now(&children).since(cpu);
    let redis_burst = redis_cpu(&url);
    let burst_end = Duration::from_micros(last_receipt(&lines).saturating_sub(first));

    let stats = nodes
        .iter()
        .map(|node| (node.hub().stats(), node.redis_stats()))
        .collect();

    // The end: the children report, close.
    std::fs::write(&signal, b"").expect("the signal file");
    let results = child_lines(&mut children, "RESULT ", Duration::from_secs(30)).await;
    let mut tally = Tally::default();
    let (mut paced, mut full) = (Histogram::new(), Histogram::new());
    for line in &results {
        tally.add(line);
        paced.merge(&Histogram::from_field(field(line, "h0")));
        full.merge(&Histogram::from_field(field(line, "h1")));
    }
    for child in &mut children {
        let status = child.wait(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "a client process reported its result but exited with {status}\n{}",
            child.output()
        );
    }
    for server in servers {
        server.stop(Duration::from_secs(30)).await;
    }
    for node in &nodes {
        node.stop();
    }
    if redis_cpu(&url).is_some() {
        // The run's stream, gone (on loopback, where the helpers reach).
        command(
            port_of(&url),
            &["DEL", &format!("{}{TOPIC}", config.key_prefix)],
        );
    }

    Outcome {
        spec: spec.clone(),
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
        paced_redis_cpu: redis_cpu_text(redis_before, redis_paced),
        burst: Phase {
            events: spec.burst as u64,
            published_in: burst_published_in,
            end_to_end: burst_end,
            cpu: burst_cpu,
            latency: full,
        },
        burst_redis_cpu: redis_cpu_text(redis_paced, redis_burst),
        tally,
        expected_digest: ids
            .iter()
            .fold(DIGEST_START, |hash, id| digest(hash, id.as_bytes())),
        stats,
    }
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// N subscribers on two nodes, R events/s for D s through one node, then a
/// burst: every subscriber gets every event in order, with the same IDs on
/// both nodes; prints latency, memory, throughput, CPU and the nodes'
/// Redis counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_load_every_subscriber_on_either_node_gets_every_event_in_order() {
    let scale = Scale::from_env();
    let spec = Spec::new(scale);
    let outcome = timeout(spec.bound, run(&spec))
        .await
        .unwrap_or_else(|_| panic!("the run did not finish within {:?}: {spec:?}", spec.bound));
    outcome.print(&format!("redis load, {NODES} nodes ({})", scale.name()));
    outcome.assert_complete();
    assert_eq!(
        outcome.paced.events + outcome.burst.events,
        spec.total_events()
    );
}

/// The client side of the Redis load test, run by it in child processes
/// (this test binary again) with the parameters in [`ADDR_VAR`] and the
/// others.
#[tokio::test(flavor = "current_thread")]
#[ignore = "run by the Redis load test in child processes"]
async fn redis_load_clients_in_a_child_process() {
    child_main(IdRule::Increasing).await;
}
