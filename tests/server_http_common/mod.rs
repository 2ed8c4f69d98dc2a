//! Helpers for `tests/server_http.rs`: servers on 127.0.0.1:0 (hyper-util
//! with graceful shutdown, and axum), HTTP/1.1 clients, raw requests written
//! byte for byte, the process counters the tests read (RSS, file
//! descriptors), and a child process running one test of the same binary.

use core::convert::Infallible;
use core::future::Future;
use core::net::SocketAddr;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyDataStream, BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use ssekit::adapters::stream::{EventStream, SseStreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// The error of a boxed server body.
pub(crate) type BoxError = Box<dyn core::error::Error + Send + Sync>;

/// The body type of the hyper test servers: an SSE body or a plain answer.
pub(crate) type ServerBody = UnsyncBoxBody<Bytes, BoxError>;

/// Boxes a body for [`serve_hyper`]. `SseBody` is `Send` but not `Sync`
/// (its shutdown signal is a boxed `Send` future), hence the unsync box.
pub(crate) fn boxed<B>(body: B) -> ServerBody
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// A listener on 127.0.0.1, on a port the system picks, with room for
/// `backlog` connections not accepted yet.
pub(crate) fn listen(backlog: u32) -> TcpListener {
    let socket = TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind 127.0.0.1:0");
    socket.listen(backlog).expect("listen")
}

/// A server running in a task of the test's runtime.
pub(crate) struct Server {
    /// Where it listens, on 127.0.0.1.
    pub(crate) addr: SocketAddr,
    /// Its shutdown signal, which the tests also give to their streams.
    pub(crate) token: CancellationToken,
    task: JoinHandle<()>,
}

impl Server {
    /// Cancels the shutdown token and waits, at most `bound`, for the
    /// server task to end; returns how long it took.
    pub(crate) async fn shutdown(self, bound: Duration) -> Duration {
        let start = Instant::now();
        self.token.cancel();
        self.join(bound).await;
        start.elapsed()
    }

    /// Waits, at most `bound`, for the server task to end (after its token
    /// was cancelled).
    pub(crate) async fn join(self, bound: Duration) {
        match timeout(bound, self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => panic!("the server task failed: {err}"),
            Err(_) => panic!("the server did not exit within {bound:?} of its shutdown signal"),
        }
    }
}

/// Serves `handler` with hyper-util's `auto` connection builder (HTTP/1.1
/// and HTTP/2), every connection watched by a `GracefulShutdown`. When
/// `token` is cancelled the server stops accepting, asks every connection
/// to finish, and its task ends once all of them have closed.
pub(crate) fn serve_hyper<H, F>(
    listener: TcpListener,
    token: CancellationToken,
    handler: H,
) -> Server
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<ServerBody>> + Send + 'static,
{
    let addr = listener.local_addr().expect("the listener's address");
    let stop = token.clone();
    let task = tokio::spawn(async move {
        let builder = auto::Builder::new(TokioExecutor::new());
        let graceful = GracefulShutdown::new();
        loop {
            let stream = tokio::select! {
                biased;
                () = stop.cancelled() => break,
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
            let handler = handler.clone();
            let service = hyper::service::service_fn(move |request| {
                let response = handler(request);
                async move { Ok::<_, Infallible>(response.await) }
            });
            let conn = builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                // A connection that fails (the client left) is not the
                // server's failure.
                let _ = conn.await;
            });
        }
        drop(listener);
        graceful.shutdown().await;
    });
    Server { addr, token, task }
}

/// Serves `router` with `axum::serve(..).with_graceful_shutdown(..)` on the
/// cancellation of `token`.
pub(crate) fn serve_axum(
    listener: TcpListener,
    token: CancellationToken,
    router: axum::Router,
) -> Server {
    let addr = listener.local_addr().expect("the listener's address");
    let signal = token.clone().cancelled_owned();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(signal)
            .await
            .expect("axum::serve failed");
    });
    Server { addr, token, task }
}

/// One HTTP/1.1 client connection (hyper's `client::conn::http1`).
pub(crate) struct Client {
    sender: SendRequest<Empty<Bytes>>,
    conn: JoinHandle<()>,
}

impl Client {
    /// Connects to `addr` and does the (trivial) HTTP/1.1 handshake.
    pub(crate) async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP/1.1 handshake");
        let conn = tokio::spawn(async move {
            let _ = conn.await;
        });
        Client { sender, conn }
    }

    /// Sends `GET path` with `headers` and waits for the response head.
    pub(crate) async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Response<Incoming> {
        let mut request = Request::get(path).header(http::header::HOST, "127.0.0.1");
        for &(name, value) in headers {
            request = request.header(name, value);
        }
        let request = request.body(Empty::new()).expect("a valid request");
        self.sender
            .send_request(request)
            .await
            .expect("a response head")
    }

    /// Drops the TCP connection at once, whatever is in flight: the
    /// connection task, which owns the socket, is aborted and awaited, so
    /// the socket is closed when this returns.
    pub(crate) async fn disconnect(self) {
        self.conn.abort();
        let _ = self.conn.await;
    }
}

/// The events of a response body.
pub(crate) fn events(response: Response<Incoming>) -> EventStream<BodyDataStream<Incoming>> {
    response.into_body().into_data_stream().sse_events()
}

/// What a raw exchange got back.
#[derive(Debug)]
pub(crate) struct RawExchange {
    /// Every byte read before the end of the stream or a read error.
    pub(crate) read: Vec<u8>,
    /// The read error that ended reading, if any (a reset, say).
    pub(crate) read_error: Option<io::ErrorKind>,
    /// The write error, if writing the request failed.
    pub(crate) write_error: Option<io::ErrorKind>,
}

/// Connects to `addr`, writes `request` exactly as given (while reading, so
/// that a server that answers early is heard), and reads until the server
/// closes the connection or resets it; at most `bound` in all.
pub(crate) async fn raw_exchange(
    addr: SocketAddr,
    request: Vec<u8>,
    bound: Duration,
) -> RawExchange {
    let work = async move {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let write = tokio::spawn(async move {
            let result = writer.write_all(&request).await;
            // Keep the write half open (no FIN) until the server is done.
            (result.err().map(|err| err.kind()), writer)
        });
        let mut read = Vec::new();
        let read_error = reader.read_to_end(&mut read).await.err().map(|e| e.kind());
        let (write_error, _writer) = write.await.expect("the writer task");
        RawExchange {
            read,
            read_error,
            write_error,
        }
    };
    timeout(bound, work)
        .await
        .unwrap_or_else(|_| panic!("a raw exchange with {addr} took more than {bound:?}"))
}

/// A response parsed from raw bytes.
#[derive(Debug)]
pub(crate) struct RawResponse {
    /// The status code.
    pub(crate) status: u16,
    /// The header fields, names lowercased.
    pub(crate) headers: Vec<(String, String)>,
    /// The body, with any chunked transfer coding removed.
    pub(crate) body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (lowercase).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses one HTTP/1.1 response; `None` if `bytes` holds no complete head.
pub(crate) fn parse_response(bytes: &[u8]) -> Option<RawResponse> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = core::str::from_utf8(&bytes[..end]).expect("an ASCII response head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &bytes[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Some(RawResponse {
        status,
        headers,
        body,
    })
}

/// Removes the chunked transfer coding (RFC 9112 §7.1); stops at the last
/// chunk or at the end of the input.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_line = core::str::from_utf8(&rest[..eol]).expect("an ASCII chunk size");
        let size_hex = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).expect("a hexadecimal chunk size");
        rest = &rest[eol + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        body.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or(&[]);
    }
    body
}

/// Counts live things: `Live::new` adds one, dropping it takes it away.
pub(crate) struct Live(Arc<AtomicUsize>);

impl Live {
    /// One more live thing on `count`.
    pub(crate) fn new(count: &Arc<AtomicUsize>) -> Live {
        count.fetch_add(1, Ordering::AcqRel);
        Live(Arc::clone(count))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Waits until `condition` holds, checking every 5 ms, and panics with
/// `what` and `state()` if it does not within `bound`.
pub(crate) async fn eventually(
    what: &str,
    bound: Duration,
    mut condition: impl FnMut() -> bool,
    state: impl Fn() -> String,
) {
    let deadline = Instant::now() + bound;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "{what}: not so after {bound:?} ({})",
            state()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The soft `RLIMIT_NOFILE` of this process, from `/proc/self/limits`
/// (`None` for "unlimited").
pub(crate) fn soft_nofile_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("a `Max open files` line in /proc/self/limits");
    let soft = line["Max open files".len()..]
        .split_whitespace()
        .next()
        .expect("a soft limit");
    soft.parse().ok()
}

/// How many file descriptors this process has open now.
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// The resident set size of this process in bytes: `/proc/self/statm`'s
/// second field (pages) times the page size.
pub(crate) fn rss_bytes() -> u64 {
    statm_rss("/proc/self/statm")
}

/// The resident set size in bytes of process `pid` (a child of this one,
/// say), from `/proc/<pid>/statm`.
pub(crate) fn rss_bytes_of(pid: u32) -> u64 {
    statm_rss(&format!("/proc/{pid}/statm"))
}

/// The second field (resident pages) of the `statm` file at `path`, in
/// bytes.
fn statm_rss(path: &str) -> u64 {
    let statm = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{path}: {err}"));
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or_else(|| panic!("the resident field of {path}"));
    pages * page_size()
}

/// The page size, from the `AT_PAGESZ` entry of `/proc/self/auxv` (pairs
/// of native-endian machine words); 4 KiB if it cannot be read.
fn page_size() -> u64 {
    const AT_PAGESZ: u64 = 6;
    const WORD: usize = core::mem::size_of::<usize>();
    let Ok(auxv) = std::fs::read("/proc/self/auxv") else {
        return 4096;
    };
    auxv.chunks_exact(2 * WORD)
        .find_map(|pair| {
            let word = |b: &[u8]| {
                let mut bytes = [0u8; WORD];
                bytes.copy_from_slice(b);
                usize::from_ne_bytes(bytes) as u64
            };
            (word(&pair[..WORD]) == AT_PAGESZ).then(|| word(&pair[WORD..]))
        })
        .unwrap_or(4096)
}

/// A child process running one test of this very test binary (the client
/// side of the load test): its stdout read line by line, its stderr kept for
/// failure messages. Dropping it kills and reaps the process, so a test that
/// fails or times out leaves no process behind.
pub(crate) struct TestChild {
    child: Child,
    /// What it is running, for messages.
    test: String,
    /// The lines of its stdout, from a reader thread.
    lines: mpsc::UnboundedReceiver<String>,
    /// The lines taken from `lines` so far.
    stdout: Vec<String>,
    /// Its stderr so far (the start and the end), from another reader
    /// thread.
    stderr: Arc<Mutex<StderrLog>>,
}

impl TestChild {
    /// Runs test `test` of the current test binary (`--exact --ignored
    /// --nocapture --test-threads=1`) in a new process, with `env` added to
    /// its environment.
    pub(crate) fn spawn(test: &str, env: &[(&str, String)]) -> TestChild {
        let exe = std::env::current_exe().expect("the path of this test binary");
        let mut child = Command::new(&exe)
            .args([
                test,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {} {test}: {err}", exe.display()));
        let stdout = child.stdout.take().expect("a piped stdout");
        let mut stderr = child.stderr.take().expect("a piped stderr");
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let kept = Arc::new(Mutex::new(StderrLog::default()));
        let sink = Arc::clone(&kept);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(&buf[..n]);
            }
        });
        TestChild {
            child,
            test: test.to_owned(),
            lines,
            stdout: Vec::new(),
            stderr: kept,
        }
    }

    /// Its process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// The rest of the next line of its stdout that contains `marker`,
    /// after the marker (a line may start with libtest's `test name ... `).
    /// Panics, with what the child wrote, if its stdout ends first (it
    /// exited) or if no such line comes within `bound`.
    pub(crate) async fn marked_line(&mut self, marker: &str, bound: Duration) -> String {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    let rest = line
                        .find(marker)
                        .map(|at| line[at + marker.len()..].to_owned());
                    self.stdout.push(line);
                    if let Some(rest) = rest {
                        return rest;
                    }
                }
                Ok(None) => {
                    let status = self.wait(Duration::from_secs(5)).await;
                    panic!(
                        "the child process ended its output without a `{marker}` line: it exited \
                         with {status}\n{}",
                        self.output()
                    );
                }
                Err(_) => panic!(
                    "no `{marker}` line from the child process within {bound:?}\n{}",
                    self.output()
                ),
            }
        }
    }

    /// Waits, at most `bound`, for it to exit, and returns its status.
    pub(crate) async fn wait(&mut self, bound: Duration) -> ExitStatus {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().expect("waitpid on the child") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the child process did not exit within {bound:?}\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// What it wrote so far, for failure messages: its stdout lines read so
    /// far and the start and the end of its stderr.
    pub(crate) fn output(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.stdout.push(line);
        }
        let stderr = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        format!(
            "--- stdout of the child process (test `{}`) ---\n{}\n--- its stderr ---\n{}",
            self.test,
            self.stdout.join("\n"),
            stderr.text()
        )
    }
}

/// The start and the end of a child's stderr: its first panic (the cause,
/// with a backtrace under `RUST_BACKTRACE=1`) and its last, not the panics
/// of 2,000 client tasks in between.
#[derive(Default)]
struct StderrLog {
    head: Vec<u8>,
    tail: Vec<u8>,
    /// Bytes written in all.
    total: usize,
}

impl StderrLog {
    const HEAD: usize = 16 << 10;
    const TAIL: usize = 8 << 10;

    fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len();
        let room = Self::HEAD - self.head.len();
        let (first, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(first);
        bytes = rest;
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > 2 * Self::TAIL {
            self.tail.drain(..self.tail.len() - Self::TAIL);
        }
    }

    fn text(&self) -> String {
        let head = String::from_utf8_lossy(&self.head);
        let kept = self.head.len() + self.tail.len();
        if kept == self.total {
            return format!("{head}{}", String::from_utf8_lossy(&self.tail));
        }
        let tail = &self.tail[self.tail.len().saturating_sub(Self::TAIL)..];
        format!(
            "{head}\n[... {} bytes left out ...]\n{}",
            self.total - self.head.len() - tail.len(),
            String::from_utf8_lossy(tail)
        )
    }
}

impl Drop for TestChild {
    fn drop(&mut self) {
        // A child already reaped is left alone (`kill` does nothing then);
        // else it is killed, then reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The message of a task that panicked, or why it did not finish.
pub(crate) fn panic_message(err: JoinError) -> String {
    match err.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| String::from("a panic with a payload that is not a string")),
        Err(err) => err.to_string(),
    }
}
