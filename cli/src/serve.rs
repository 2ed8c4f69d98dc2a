//! `ssekit serve`: JSON lines in on standard input, one event stream out to
//! every HTTP client.
//!
//! # Input
//!
//! The lines are those of `ssekit encode` (keys `type`, `data`, `id`,
//! `retry`, `comment`), read by the same parser. An event (a line with
//! `type`, `data` or `id`) without an `id` gets the next number, starting
//! at 1; a numeric `id` given in the input moves that count past it, so
//! that assigned ids keep increasing. Each line is encoded once, and the
//! same bytes are queued for every client.
//!
//! An invalid line stops the command, as it stops `ssekit encode`: a
//! message names the line, the frames before it are still delivered to
//! the clients connected, every stream then ends, and the exit status is
//! 2. An I/O error reading the input does the same with status 1.
//!
//! # Clients
//!
//! Every `GET`, whatever its path, gets the stream (other methods get
//! `405`). Up to `--replay` frames (events, comments and retry times) are
//! retained:
//!
//! - a client without `Last-Event-ID` first gets every retained frame, then
//!   the live ones;
//! - a client with a `Last-Event-ID` that is the id of a retained event
//!   gets the frames after that event (the last one with that id), then
//!   the live ones: nothing missed, nothing twice;
//! - a client with any other `Last-Event-ID` (too old to be retained, or
//!   from another run) gets every retained frame, and a notice is printed
//!   on standard error; a header that is not an event id at all (a line
//!   break, not UTF-8, over 1 KiB) is answered `400`.
//!
//! Each client has a queue of [`CLIENT_QUEUE`] frames. A client that falls
//! that far behind is disconnected (its stream ends after the frames
//! queued; a notice is printed), so that it never holds the others back;
//! an `EventSource` then reconnects with its `Last-Event-ID` and gets what
//! it missed from the retained frames, if they still are.
//!
//! Past `--max-connections` open streams, requests are answered `503` with
//! `Retry-After: 5`. Streams carry a heartbeat comment after every
//! `--heartbeat` of silence (`0` turns them off).
//!
//! # The end
//!
//! When the input ends, the server keeps serving (new clients still get
//! the retained frames) until Ctrl-C; with `--exit-on-eof` every stream
//! ends once its queued frames are written, and the command exits 0.
//!
//! Ctrl-C (SIGINT) ends every stream with a `retry:` hint of 3 s, waits up
//! to 10 s for the connections to close, and exits 0.
//!
//! # With Redis: several nodes, one stream
//!
//! With `--redis redis://HOST:PORT/` the command is one node of a fan-out
//! on Redis Streams ([`ssekit_adapters::redis`]): every node started on the
//! same Redis with the same `--topic` (default [`DEFAULT_TOPIC`]) serves
//! the same events, whichever node read them. See the [`fanout`] module
//! for the details; in short:
//!
//! - the input's events are appended to the Redis stream `ssekit:TOPIC`
//!   (lines available at once in one pipeline), and each node reads that
//!   stream once and sends its entries to its own clients;
//! - the SSE ids are the stream entry ids (`1733112233445-0`), the same on
//!   every node: an input line's `id` is ignored, and a client can resume
//!   with `Last-Event-ID` on any node, getting exactly the events it
//!   missed, once each, from the node's memory or from the stream;
//! - comments and retry times in the input are not published (only
//!   events are; a notice on standard error says so, once);
//! - a client without `Last-Event-ID` gets the events published from then
//!   on; one whose `Last-Event-ID` cannot be resumed (not an entry id, or
//!   trimmed from the stream) gets what is still retained, with a notice;
//! - `--replay N` is the number of events each node keeps in memory; the
//!   stream keeps at least as many, and at least 1,000;
//! - a client more than 1 MiB or 30 s of events behind is disconnected
//!   (rather than 256 frames), to resume with `Last-Event-ID`;
//! - past `--max-connections` the answer is `503` with `Retry-After`, and
//!   `503` too (with a text saying why) when Redis cannot be reached for a
//!   new stream; open streams survive a Redis restart (the node reconnects
//!   and resumes reading where it was);
//! - the end of the input does not stop a node: start one with
//!   `</dev/null` to only serve. With `--exit-on-eof`, once every line is
//!   published, and after an invalid line, every stream ends with the
//!   `retry:` hint of Ctrl-C (its clients resume on another node).

use core::convert::Infallible;
use core::pin::{pin, Pin};
use core::task::{Context, Poll};
use core::time::Duration;
use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use futures_core::Stream;
use http::header::{HeaderValue, ALLOW, CONTENT_TYPE, RETRY_AFTER};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulConnection, GracefulShutdown};
use ssekit_adapters::http::{
    channel, ConnectionLimit, LastEventId, Receiver, SseBody, TrySendError,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::encode::{self, Parts};

mod fanout;

/// `eprintln!` that cannot panic: a message that cannot be written (standard
/// error closed, or a pipe whose reader left) is lost, and serving goes on.
macro_rules! note {
    ($($arg:tt)*) => {{
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr(),
            format_args!("{}\n", format_args!($($arg)*)),
        );
    }};
}
pub(crate) use note;

/// How many frames each client's queue holds; a client that falls this far
/// behind is disconnected.
pub(crate) const CLIENT_QUEUE: usize = 256;

/// The reconnection time sent to every client at Ctrl-C.
const SHUTDOWN_RETRY: Duration = Duration::from_secs(3);

/// How long the connections get to close at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `--topic` of `--redis` when none is given.
pub(crate) const DEFAULT_TOPIC: &str = "events";

/// What `ssekit serve` was asked to do.
#[derive(Debug)]
pub(crate) struct Options {
    /// Where to listen.
    pub(crate) addr: String,
    /// The heartbeat interval; zero for none.
    pub(crate) heartbeat: Duration,
    /// How many frames to retain for replay.
    pub(crate) replay: usize,
    /// The most streams open at once, if limited.
    pub(crate) max_connections: Option<usize>,
    /// Whether to end every stream and exit when the input ends.
    pub(crate) exit_on_eof: bool,
    /// The Redis to fan out through (`redis://HOST:PORT/`), if any.
    pub(crate) redis: Option<String>,
    /// The topic on that Redis.
    pub(crate) topic: String,
}

/// Checks a `--topic`: any text but the empty one.
pub(crate) fn parse_topic(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err(format!(
            "the topic is empty: name one, such as {DEFAULT_TOPIC}"
        ));
    }
    Ok(text.to_owned())
}

/// Reads a duration such as `15s`, `500ms`, `2m` or `0` (for `--heartbeat`).
pub(crate) fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let Ok(count) = digits.parse::<u64>() else {
        return Err(format!(
            "{text:?} is not a duration: write a whole number and a unit, as in 15s, 500ms or 2m (0 turns heartbeats off)"
        ));
    };
    match unit {
        "ms" => Ok(Duration::from_millis(count)),
        "s" => Ok(Duration::from_secs(count)),
        "m" | "min" => count
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{text:?} is too long")),
        "" => Err(format!(
            "{text:?} has no unit: write 15s, 500ms or 2m (only 0 goes without one)"
        )),
        _ => Err(format!(
            "{text:?} has an unknown unit {unit:?}: use ms, s or m"
        )),
    }
}

/// Runs `ssekit serve`.
pub(crate) fn run(options: Options) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            note!("ssekit serve: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(serve(options));
    // Tasks still running (a connection past the close timeout) are
    // dropped; the thread reading standard input ends with the process.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

/// One retained frame.
struct Retained {
    /// The event's id, for `Last-Event-ID`; `None` for a comment or a
    /// retry time.
    id: Option<Box<str>>,
    frame: Bytes,
}

/// One connected client.
struct Client {
    number: u64,
    tx: ssekit_adapters::http::Sender,
}

/// The frames retained and the clients to send new ones to.
struct Hub {
    retained: VecDeque<Retained>,
    clients: Vec<Client>,
    next_client: u64,
    /// How many frames were published.
    published: u64,
    /// Every stream was told to end: new clients get the retained frames
    /// and nothing after.
    closed: bool,
}

/// What every stream of a server gets: heartbeats, and its end at shutdown.
struct Streams {
    heartbeat: Duration,
    shutdown: CancellationToken,
}

impl Streams {
    fn new(heartbeat: Duration) -> Streams {
        Streams {
            heartbeat,
            shutdown: CancellationToken::new(),
        }
    }

    /// The `200` response streaming `body`, with heartbeats and the
    /// `retry:` hint at shutdown.
    fn respond<S>(&self, body: SseBody<S>) -> Response<Body>
    where
        S: Stream<Item = Bytes> + Send + 'static,
    {
        body.keep_alive(self.heartbeat)
            .shutdown_token(self.shutdown.clone())
            .shutdown_retry(SHUTDOWN_RETRY)
            .response()
            .map(BodyExt::boxed_unsync)
    }
}

/// What every connection shares.
pub(crate) struct State {
    hub: Mutex<Hub>,
    replay: usize,
    streams: Streams,
    limit: Option<ConnectionLimit>,
}

impl State {
    /// A hub with no frames and no clients yet, retaining `replay` frames,
    /// with a heartbeat after `heartbeat` of silence (zero for none) and
    /// at most `max_connections` streams open at once.
    pub(crate) fn new(replay: usize, heartbeat: Duration, max_connections: Option<usize>) -> State {
        State {
            hub: Mutex::new(Hub {
                retained: VecDeque::new(),
                clients: Vec::new(),
                next_client: 1,
                published: 0,
                closed: false,
            }),
            replay,
            streams: Streams::new(heartbeat),
            limit: max_connections.map(ConnectionLimit::new),
        }
    }

    fn hub(&self) -> MutexGuard<'_, Hub> {
        // A panic while holding the lock cannot leave the hub inconsistent
        // (every change is a single push or removal), so carry on.
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Retains `frame` and queues it for every client, disconnecting those
    /// whose queue is full.
    pub(crate) fn publish(&self, id: Option<Box<str>>, frame: Bytes) {
        let mut dropped = Vec::new();
        {
            let mut hub = self.hub();
            hub.published += 1;
            if self.replay > 0 {
                if hub.retained.len() >= self.replay {
                    hub.retained.pop_front();
                }
                hub.retained.push_back(Retained {
                    id,
                    frame: frame.clone(),
                });
            }
            hub.clients
                .retain(|client| match client.tx.try_send(frame.clone()) {
                    Ok(()) => true,
                    Err(TrySendError::Full(_)) => {
                        dropped.push(client.number);
                        false
                    }
                    Err(_) => false,
                });
        }
        for number in dropped {
            note!(
                "ssekit serve: client {number} fell {CLIENT_QUEUE} frames behind and was \
                 disconnected; it can reconnect with Last-Event-ID to get what it missed"
            );
        }
    }

    /// Registers a new client resuming after `last_id`: the frames to
    /// replay, and the channel of live ones, taken under one lock so that
    /// nothing is missed or sent twice.
    fn subscribe(&self, last_id: Option<&str>) -> Replay {
        let (tx, body) = channel(CLIENT_QUEUE);
        let mut hub = self.hub();
        let found = last_id.map(|last| {
            hub.retained
                .iter()
                .rposition(|r| r.id.as_deref() == Some(last))
        });
        let start = match found {
            Some(Some(index)) => index + 1,
            None | Some(None) => 0,
        };
        let frames: Vec<Bytes> = hub
            .retained
            .iter()
            .skip(start)
            .map(|r| r.frame.clone())
            .collect();
        if !hub.closed {
            hub.clients.retain(|client| !client.tx.is_closed());
            let number = hub.next_client;
            hub.next_client += 1;
            hub.clients.push(Client { number, tx });
        }
        let retained = hub.retained.len();
        drop(hub);
        if let (Some(last), Some(None)) = (last_id, found) {
            note!(
                "ssekit serve: a client resumes after id {last:?}, which is not among \
                 the {retained} retained frames (too old, or from another run); it gets all of them"
            );
        }
        Replay {
            frames: frames.into_iter(),
            live: body.into_inner(),
        }
    }

    /// Ends every stream once its queued frames are written.
    pub(crate) fn close(&self) {
        let mut hub = self.hub();
        hub.closed = true;
        hub.clients.clear();
    }

    /// The answer to a `GET` resuming after `last_id`: the stream, or `503`
    /// past `--max-connections`.
    fn respond(&self, last_id: Option<&str>) -> Response<Body> {
        let permit = match &self.limit {
            None => None,
            Some(limit) => match limit.try_acquire() {
                Ok(permit) => Some(permit),
                Err(refused) => return refused.response(plain(format!("{refused}\n"))),
            },
        };
        let mut body = SseBody::new(self.subscribe(last_id));
        if let Some(permit) = permit {
            body = body.hold(permit);
        }
        self.streams.respond(body)
    }
}

/// Where the streams come from: this process's input alone, or a topic on
/// Redis that every node's input feeds.
#[derive(Clone)]
pub(crate) enum Source {
    /// The hub of this process.
    Local(Arc<State>),
    /// A node of the fan-out on Redis.
    Redis(Arc<fanout::Node>),
}

impl From<Arc<State>> for Source {
    fn from(state: Arc<State>) -> Source {
        Source::Local(state)
    }
}

impl Source {
    fn streams(&self) -> &Streams {
        match self {
            Source::Local(state) => &state.streams,
            Source::Redis(node) => &node.streams,
        }
    }

    /// Starts reading standard input; the receiver says how it ended once
    /// everything before the end is published.
    fn read_stdin(&self) -> io::Result<oneshot::Receiver<InputEnd>> {
        let (end_tx, end_rx) = oneshot::channel();
        match self {
            Source::Local(state) => {
                let state = Arc::clone(state);
                spawn_stdin(move |stdin| {
                    let _ = end_tx.send(read_input(stdin, &state));
                })?;
            }
            Source::Redis(node) => {
                let (lines_tx, lines_rx) = mpsc::channel(fanout::QUEUE);
                let max_size = node.max_event_size();
                spawn_stdin(move |stdin| fanout::read_input(stdin, max_size, &lines_tx))?;
                let node = Arc::clone(node);
                tokio::spawn(async move {
                    let _ = end_tx.send(node.publish(lines_rx).await);
                });
            }
        }
        Ok(end_rx)
    }

    /// What was published, for the notice at the end of the input, and
    /// what is still served after it.
    fn input_summary(&self) -> (String, String) {
        match self {
            Source::Local(state) => (
                format!("{} frames", state.hub().published),
                "the retained ones".to_owned(),
            ),
            Source::Redis(node) => node.input_summary(),
        }
    }

    /// Ends every stream: after its queued frames here; with Redis, with
    /// the `retry:` hint, so that clients resume on another node.
    fn end_streams(&self) {
        match self {
            Source::Local(state) => state.close(),
            Source::Redis(_) => self.streams().shutdown.cancel(),
        }
    }
}

/// Reads standard input on a thread of its own, which the process does
/// not wait for at the end (a blocking read cannot be cancelled).
fn spawn_stdin(read: impl FnOnce(io::StdinLock<'static>) + Send + 'static) -> io::Result<()> {
    std::thread::Builder::new()
        .name("ssekit-stdin".into())
        .spawn(move || read(io::stdin().lock()))
        .map(drop)
}

/// A client's stream: the frames it missed, then the live ones.
struct Replay {
    frames: std::vec::IntoIter<Bytes>,
    live: Receiver,
}

impl Stream for Replay {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let this = self.get_mut();
        match this.frames.next() {
            Some(frame) => Poll::Ready(Some(frame)),
            None => Pin::new(&mut this.live).poll_next(cx),
        }
    }
}

/// How reading the input ended.
enum InputEnd {
    /// At its end.
    Eof,
    /// At an invalid line.
    BadLine { number: u64, reason: String },
    /// On an I/O error.
    Failed(io::Error),
    /// Publishing to Redis failed for good: why.
    Unpublished(String),
}

/// Reads `input` line by line, handing the keys of each line that is not
/// blank to `each` with its number, until the end, an invalid line, or an
/// end that `each` gives.
fn each_line(
    mut input: impl BufRead,
    mut each: impl FnMut(u64, Parts) -> Result<(), InputEnd>,
) -> InputEnd {
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return InputEnd::Eof,
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return InputEnd::Failed(err),
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let result = match encode::parse(&line) {
            Ok(parts) => each(number, parts),
            Err(reason) => Err(InputEnd::BadLine { number, reason }),
        };
        if let Err(end) = result {
            return end;
        }
    }
}

/// Publishes every line of `input`; returns how it ended.
fn read_input(input: impl BufRead, state: &State) -> InputEnd {
    let mut next_id = 1u64;
    each_line(input, |number, mut parts| {
        if parts.is_event() {
            match parts.id.as_deref().map(str::parse::<u64>) {
                None => {
                    parts.id = Some(next_id.to_string());
                    next_id = next_id.saturating_add(1);
                }
                Some(Ok(given)) => next_id = next_id.max(given.saturating_add(1)),
                Some(Err(_)) => {}
            }
        }
        let frame = encode::frame_of(&parts)
            .to_bytes()
            .map_err(|err| InputEnd::BadLine {
                number,
                reason: encode::describe(err),
            })?;
        if frame.is_empty() {
            return Ok(()); // `{}`
        }
        let id = if parts.is_event() {
            parts.id.map(String::into_boxed_str)
        } else {
            None
        };
        state.publish(id, frame);
        Ok(())
    })
}

/// Every response's body: an event stream, or a short text.
type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

/// Answers one request: the stream for a `GET`, from `source`; `stalled`
/// is cancelled to drop the connection of a client that stopped reading.
async fn handle(
    request: Request<Incoming>,
    source: Source,
    stalled: CancellationToken,
) -> Result<Response<Body>, Infallible> {
    if request.method() != Method::GET {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "ssekit serve: use GET to get the event stream\n",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return Ok(response);
    }
    let last_id = match LastEventId::from_headers(request.headers()) {
        Ok(id) => id,
        Err(err) => return Ok(text(StatusCode::BAD_REQUEST, &format!("{err}\n"))),
    };
    Ok(match &source {
        Source::Local(state) => state.respond(last_id.as_deref()),
        Source::Redis(node) => node.respond(last_id.as_deref(), &stalled).await,
    })
}

/// A plain-text body.
fn plain(message: String) -> Body {
    Full::new(Bytes::from(message)).boxed_unsync()
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = Response::new(plain(message.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A `503` saying `message`, with `Retry-After: 5`.
fn unavailable(message: &str) -> Response<Body> {
    let mut response = text(StatusCode::SERVICE_UNAVAILABLE, message);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// One accepted connection, served by [`handle`] until the client leaves
/// (HTTP/1.1 or HTTP/2); spawn it, or watch it for a graceful shutdown.
pub(crate) fn connection(
    builder: &auto::Builder<TokioExecutor>,
    socket: TcpStream,
    source: impl Into<Source>,
) -> impl GracefulConnection<Error = Box<dyn core::error::Error + Send + Sync>> + Send + 'static {
    watched_connection(builder, socket, source.into(), CancellationToken::new())
}

/// [`connection`], whose streams cancel `stalled` when their client stopped
/// reading: drop the connection then.
fn watched_connection(
    builder: &auto::Builder<TokioExecutor>,
    socket: TcpStream,
    source: Source,
    stalled: CancellationToken,
) -> impl GracefulConnection<Error = Box<dyn core::error::Error + Send + Sync>> + Send + 'static {
    let service = service_fn(move |request| handle(request, source.clone(), stalled.clone()));
    builder
        .serve_connection(TokioIo::new(socket), service)
        .into_owned()
}

/// Why the server stopped.
enum Stop {
    /// Ctrl-C.
    Interrupted,
    /// The input ended, with `--exit-on-eof`.
    InputEnded,
    /// The input could not be read to its end: exit with this status.
    BadInput(u8),
}

/// What to say when binding `addr` failed.
fn listen_error(addr: &str, err: &io::Error) -> String {
    let hint = match err.kind() {
        io::ErrorKind::AddrInUse => "address in use; pick another with --addr",
        io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges); pick another with --addr"
        }
        io::ErrorKind::AddrNotAvailable => {
            "no such address on this machine; pick another with --addr, such as 127.0.0.1:8080"
        }
        _ => "",
    };
    if hint.is_empty() {
        format!("ssekit serve: cannot listen on {addr}: {err}; check --addr (HOST:PORT, such as 127.0.0.1:8080)")
    } else {
        format!("ssekit serve: cannot listen on {addr}: {hint}")
    }
}

async fn serve(options: Options) -> ExitCode {
    let source = match &options.redis {
        None => Source::Local(Arc::new(State::new(
            options.replay,
            options.heartbeat,
            options.max_connections,
        ))),
        Some(url) => match fanout::Node::connect(url, &options).await {
            Ok(node) => Source::Redis(Arc::new(node)),
            Err(message) => {
                note!("{message}");
                return ExitCode::from(1);
            }
        },
    };
    let listener = match TcpListener::bind(&options.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            note!("{}", listen_error(&options.addr, &err));
            return ExitCode::from(1);
        }
    };
    match listener.local_addr() {
        Ok(local) => note!("ssekit serve: listening on http://{local}/"),
        Err(_) => note!("ssekit serve: listening on http://{}/", options.addr),
    }

    let mut input_end = match source.read_stdin() {
        Ok(end) => end,
        Err(err) => {
            note!("ssekit serve: cannot start reading standard input: {err}");
            return ExitCode::from(1);
        }
    };

    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut ctrl_c = pin!(tokio::signal::ctrl_c());
    let mut signals = true;
    let mut reading = true;
    let stop = loop {
        tokio::select! {
            accepted = listener.accept() => {
                let socket = match accepted {
                    Ok((socket, _)) => socket,
                    Err(err) => {
                        // Out of file descriptors, say: wait a little
                        // rather than spin.
                        note!("ssekit serve: cannot accept a connection: {err}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let stalled = CancellationToken::new();
                let connection = graceful.watch(watched_connection(
                    &builder,
                    socket,
                    source.clone(),
                    stalled.clone(),
                ));
                tokio::spawn(async move {
                    tokio::select! {
                        // A client that leaves mid-stream is no error of ours.
                        _ = connection => {}
                        () = stalled.cancelled() => note!(
                            "ssekit serve: a client stopped reading, too far behind; its connection \
                             was closed, and it can reconnect with Last-Event-ID to get what it missed"
                        ),
                    }
                });
            }
            signal = &mut ctrl_c, if signals => match signal {
                Ok(()) => break Stop::Interrupted,
                Err(err) => {
                    signals = false;
                    note!("ssekit serve: cannot listen for Ctrl-C ({err}); stop the server another way");
                }
            },
            end = &mut input_end, if reading => {
                reading = false;
                match end {
                    Ok(InputEnd::Eof) | Err(_) => {
                        let (published, served) = source.input_summary();
                        if options.exit_on_eof {
                            note!("ssekit serve: the input ended after {published}; ending every stream (--exit-on-eof)");
                            break Stop::InputEnded;
                        }
                        note!(
                            "ssekit serve: the input ended after {published}; still serving \
                             {served} until Ctrl-C"
                        );
                    }
                    Ok(InputEnd::BadLine { number, reason }) => {
                        note!("ssekit serve: line {number}: {reason}; stopping after the frames before it");
                        break Stop::BadInput(2);
                    }
                    Ok(InputEnd::Failed(err)) => {
                        note!("ssekit serve: cannot read input: {err}; stopping");
                        break Stop::BadInput(1);
                    }
                    Ok(InputEnd::Unpublished(why)) => {
                        note!("ssekit serve: {why}; stopping");
                        break Stop::BadInput(1);
                    }
                }
            }
        }
    };
    drop(listener);
    let code = match stop {
        Stop::Interrupted => {
            note!(
                "ssekit serve: shutting down: every stream ends, with a hint to reconnect in {} s",
                SHUTDOWN_RETRY.as_secs()
            );
            source.streams().shutdown.cancel();
            ExitCode::SUCCESS
        }
        Stop::InputEnded => {
            source.end_streams();
            ExitCode::SUCCESS
        }
        Stop::BadInput(status) => {
            source.end_streams();
            ExitCode::from(status)
        }
    };
    if tokio::time::timeout(CLOSE_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        note!(
            "ssekit serve: some connections were still open after {} s; closing them",
            CLOSE_TIMEOUT.as_secs()
        );
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_interval("0"), Ok(Duration::ZERO));
        assert_eq!(parse_interval("0s"), Ok(Duration::ZERO));
        for bad in ["", "15", "s", "1.5s", "-1s", "10h", "99999999999999999999s"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        assert!(parse_interval("18446744073709551615m").is_err());
    }

    fn state(replay: usize) -> State {
        State::new(replay, Duration::ZERO, None)
    }

    fn frames(replay: Replay) -> Vec<Bytes> {
        replay.frames.collect()
    }

    #[test]
    fn ids_are_assigned_and_retained_frames_replayed() {
        let state = state(3);
        let input = "{\"data\":\"a\"}\n{\"comment\":\"c\"}\n{\"data\":\"b\",\"id\":\"7\"}\n\n{}\n{\"data\":\"c\"}\n";
        assert!(matches!(
            read_input(input.as_bytes(), &state),
            InputEnd::Eof
        ));
        let all = frames(state.subscribe(None));
        // Four frames were published; the first fell out.
        assert_eq!(all, [":c\n\n", "id: 7\ndata: b\n\n", "id: 8\ndata: c\n\n"]);
        assert_eq!(frames(state.subscribe(Some("7"))), ["id: 8\ndata: c\n\n"]);
        assert!(frames(state.subscribe(Some("8"))).is_empty());
        assert_eq!(
            frames(state.subscribe(Some("1"))).len(),
            3,
            "too old: everything"
        );
    }

    #[test]
    fn bad_lines_are_named() {
        let state = state(10);
        let input = "{\"data\":\"a\"}\n{\"id\":\"a\\nb\"}\n{\"data\":\"never\"}\n";
        match read_input(input.as_bytes(), &state) {
            InputEnd::BadLine { number, reason } => {
                assert_eq!(number, 2);
                assert!(reason.starts_with("\"id\""), "{reason}");
            }
            _ => panic!("expected a bad line"),
        }
        assert_eq!(frames(state.subscribe(None)), ["id: 1\ndata: a\n\n"]);
    }
}
