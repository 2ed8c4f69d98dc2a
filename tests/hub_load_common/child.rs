//! The client side of the load tests (`hub_load.rs`, `redis_load.rs`), run
//! in child processes (the test binary again, its one ignored test, which
//! calls [`child_main`]): raw TCP clients that read the chunked event
//! stream of `GET /`, check every event, and report on their stdout.

use core::net::SocketAddr;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use super::parent::{lock, Counts};
use super::{now_micros, Histogram, SseEvent, SseParser};
use crate::server_http_common::{eventually, panic_message, parse_response, rss_bytes};

/// The environment of a child: the server's address,
pub(crate) const ADDR_VAR: &str = "SSEKIT_HUB_LOAD_ADDR";
/// how many clients it runs,
pub(crate) const CLIENTS_VAR: &str = "SSEKIT_HUB_LOAD_CLIENTS";
/// how many of them stall,
pub(crate) const STALLED_VAR: &str = "SSEKIT_HUB_LOAD_STALLED";
/// the event numbers that end each phase (comma-separated, increasing;
/// the last is the number of events in all),
pub(crate) const MARKS_VAR: &str = "SSEKIT_HUB_LOAD_MARKS";
/// the file whose appearance tells it to finish,
pub(crate) const SIGNAL_VAR: &str = "SSEKIT_HUB_LOAD_SIGNAL";
/// and how long it may run in all, in seconds.
pub(crate) const BOUND_VAR: &str = "SSEKIT_HUB_LOAD_BOUND";
/// What starts a child's reports on its stdout (after libtest's `test name
/// ... ` on the same line, maybe): `READY ...` once its clients have all
/// read their response head, `MARK<k> ...` once its reading clients all
/// have the last event of phase `k`, then, after the signal, `RESULT ...`;
/// or `FAIL ...`.
pub(crate) const MARK: &str = "ssekit-hub-load-child: ";

/// The receive buffer a stalled client asks for (the kernel doubles it).
pub(crate) const STALLED_RECV_BUFFER: u32 = 4 << 10;
/// How long a stalled client reads, at the end, for the server's close.
pub(crate) const STALLED_DRAIN: Duration = Duration::from_secs(10);

/// The request every client writes.
const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\ncache-control: no-cache\r\n\r\n";

/// What a child's clients share.
struct Shared {
    /// What the IDs must be.
    rule: IdRule,
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
    /// The [`digest`] of the IDs it got.
    digest: u64,
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

/// What the IDs of a stream must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdRule {
    /// The hub's: `<epoch>-<sequence>`, one epoch, the sequence one apart
    /// from one event to the next.
    Consecutive,
    /// Redis stream entry IDs: `<milliseconds>-<sequence>`, each above the
    /// last (as a pair of numbers).
    Increasing,
}

/// The running digest of a stream's IDs after `id`: FNV-1a over the IDs,
/// each followed by a newline. Two clients with the same digest got the
/// same IDs, in the same order (to a 64-bit hash's chance).
pub(crate) fn digest(mut hash: u64, id: &[u8]) -> u64 {
    for &byte in id.iter().chain(b"\n") {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// [`digest`]'s start.
pub(crate) const DIGEST_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Checks one client's events as they come.
struct Checker {
    tally: ClientTally,
    /// The event number expected next.
    next: u64,
    /// The last event number received.
    last: u64,
    /// What the IDs must be.
    rule: IdRule,
    /// For [`IdRule::Consecutive`]: the epoch of the IDs, and their
    /// sequence number minus the event number, from the first event.
    id_base: Option<(u64, i128)>,
    /// For [`IdRule::Increasing`]: the last ID's two numbers.
    last_id: Option<(u64, u64)>,
    /// The next phase whose last event this client has not had.
    phase: usize,
}

impl Checker {
    fn new(rule: IdRule) -> Checker {
        Checker {
            rule,
            last_id: None,
            tally: ClientTally {
                digest: DIGEST_START,
                ..ClientTally::default()
            },
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
        // Both kinds of ID are two numbers joined by `-`.
        let id = core::str::from_utf8(event.id)
            .ok()
            .and_then(|id| id.split_once('-'))
            .and_then(|(e, s)| Some((e.parse::<u64>().ok()?, s.parse::<u64>().ok()?)));
        let good = match (id, self.rule) {
            (Some((epoch, seq)), IdRule::Consecutive) => {
                let base = (epoch, i128::from(seq) - i128::from(n));
                *self.id_base.get_or_insert(base) == base
            }
            (Some(id), IdRule::Increasing) => {
                let after = self.last_id.map_or(true, |last| id > last);
                self.last_id = Some(id);
                after
            }
            (None, _) => false,
        };
        if !good {
            self.tally.counts.bad_ids += 1;
        }
        self.tally.digest = digest(self.tally.digest, event.id);
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
    let mut checker = Checker::new(shared.rule);
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
            "{name} is not set: this test is the client side of the load tests (hub_load.rs, \
             redis_load.rs), which run it in child processes; run those instead"
        )
    });
    value
        .parse()
        .unwrap_or_else(|err| panic!("{name}={value:?}: {err}"))
}

/// The client side of the load tests, which run it in child processes
/// (the test binary again, its ignored test, on a current-thread runtime)
/// with the parameters in [`ADDR_VAR`] and the others, its clients'
/// streams checked by `rule`: reports on its stdout, see [`MARK`].
pub(crate) async fn child_main(rule: IdRule) {
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
        clients_main(addr, clients, stalled, marks, signal, rule),
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
    panic!("the load test clients failed: {failure}");
}

/// Runs the clients, printing `READY` and the `MARK` lines; returns the
/// `RESULT` fields.
async fn clients_main(
    addr: SocketAddr,
    clients: usize,
    stalled: usize,
    marks: Vec<u64>,
    signal: PathBuf,
    rule: IdRule,
) -> Result<String, String> {
    let rss_before = rss_bytes();
    let shared = Arc::new(Shared {
        rule,
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
    // The distinct ID digests of the reading clients: one when they all
    // got the same IDs.
    let mut digests: Vec<u64> = Vec::new();
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
        if !digests.contains(&tally.digest) {
            digests.push(tally.digest);
        }
    }
    let digests: Vec<String> = digests.iter().map(|d| format!("{d:x},")).collect();
    let latency = lock(&shared.latency);
    let histograms: Vec<String> = latency
        .iter()
        .enumerate()
        .map(|(phase, h)| format!("h{phase}={}", h.to_field()))
        .collect();
    Ok(format!(
        "{} first_error={} stalled_dropped={dropped} stalled_ended={ended} stalled_open={open} \
         stalled_events={stalled_events} stalled_last={} id_digests={} {}",
        sum.to_fields(),
        first_error().replace(char::is_whitespace, "_") + "_",
        stalled_last.join(",") + ",",
        digests.concat(),
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
