//! Redis for the integration tests, always a real `redis-server` (no mock),
//! with the standard library only, so that any test binary of the root
//! package can use it with `mod redis_common;`:
//!
//! - [`redis_url`]: the shared server of the test run, from the
//!   `SSEKIT_REDIS_URL` environment variable (`.ci/run` starts one and sets
//!   it); [`redis_port`] is its port, for [`command`];
//! - [`RedisServer`]: a private `redis-server` child process on a free
//!   loopback port with a data directory of its own, for the tests that
//!   restart or kill Redis; with [`RedisOptions::append_only`] what was
//!   written survives a restart, and a SIGKILL too;
//! - [`command`]: one command sent in RESP and its reply, raw (`+PONG\r\n`,
//!   `:1\r\n`, ...), to set up and check what a test needs (`XLEN`,
//!   `CLIENT KILL`, ...) without a Redis client crate;
//! - [`unique_key`]: a key of one test's own (no other test, thread or
//!   test binary of the run uses it), since the tests share one server.
//!
//! Every wait is bounded: a server has 10 s to answer `PING` or to exit,
//! a reply 10 s to come.
//!
//! Every binary compiles this module and uses only part of it.

#![allow(dead_code, unreachable_pub)]

use core::net::{Ipv4Addr, SocketAddr};
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The environment variable naming the shared server, a `redis://` URL.
pub const URL_VAR: &str = "SSEKIT_REDIS_URL";

/// How long a server has to answer `PING` after it starts, or to exit after
/// `SHUTDOWN`; how long a connection or a reply may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// How long one readiness probe of a starting server may take.
const PROBE: Duration = Duration::from_millis(500);

/// The URL of the run's shared Redis server, from [`URL_VAR`], such as
/// `redis://127.0.0.1:6390/`.
///
/// Panics, failing the test, when the variable is unset or empty, with a
/// message saying how to provide a server.
pub fn redis_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
        _ => panic!(
            "this test needs a real redis-server, and {URL_VAR} is not set.\n\
             `.ci/run` starts one on a free 127.0.0.1 port and exports {URL_VAR} \
             for `cargo test`.\n\
             By hand (install it with `apt-get install redis-server`), start one \
             in another terminal:\n    \
             redis-server --bind 127.0.0.1 --port 6390 --save '' --appendonly no\n\
             then export the variable and run the tests:\n    \
             export {URL_VAR}=redis://127.0.0.1:6390/\n\
             and stop it afterwards with `redis-cli -p 6390 shutdown nosave`."
        ),
    }
}

/// The port of [`redis_url`], for [`command`]. Panics unless the URL's host
/// is `127.0.0.1` or `localhost`: the helpers here talk to loopback only.
pub fn redis_port() -> u16 {
    port_of(&redis_url())
}

/// The port of a `redis://[user:password@]host[:port][/db]` URL on
/// `127.0.0.1` or `localhost` (6379 when it names none).
pub fn port_of(url: &str) -> u16 {
    let rest = url
        .strip_prefix("redis://")
        .unwrap_or_else(|| panic!("{url:?} is not a redis:// URL"));
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse()
                .unwrap_or_else(|_| panic!("{url:?}: the port {port:?} is not a number")),
        ),
        None => (host_port, 6379),
    };
    assert!(
        host == "127.0.0.1" || host == "localhost",
        "{url:?}: the Redis test helpers reach 127.0.0.1 only, not {host:?}"
    );
    port
}

/// A key for one test, unique to this process and call: `ssekit-test:`,
/// `name`, the process id and a counter. The tests of a run share one
/// server and run in parallel; each should use keys of its own.
pub fn unique_key(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("ssekit-test:{name}:{}:{n}", std::process::id())
}

/// Sends one command (`args`, such as `&["XLEN", key]`) to the server on
/// `127.0.0.1:port` over a connection of its own, and returns its reply as
/// it came, in RESP2: `+PONG\r\n`, `:1\r\n`, `$3\r\nabc\r\n`, `$-1\r\n`,
/// `*2\r\n...`, or an error reply `-ERR ...\r\n` (which is returned, not a
/// panic). Panics when the connection fails or no whole reply comes within
/// [`WAIT`] (so no blocking command that waits longer).
pub fn command(port: u16, args: &[&str]) -> String {
    try_command(port, args)
        .unwrap_or_else(|err| panic!("redis command {args:?} on 127.0.0.1:{port}: {err}"))
}

/// [`command`], with the I/O error returned instead of a panic (a server
/// not up yet, a connection closed by `SHUTDOWN`).
pub fn try_command(port: u16, args: &[&str]) -> io::Result<String> {
    exchange(port, args, WAIT)
}

/// [`try_command`] with `bound` on the connection, the request and the
/// reply each.
fn exchange(port: u16, args: &[&str], bound: Duration) -> io::Result<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, bound)?;
    stream.set_read_timeout(Some(bound))?;
    stream.set_write_timeout(Some(bound))?;
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        request.extend_from_slice(arg.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    stream.write_all(&request)?;
    let mut reply = Vec::new();
    read_reply(&mut BufReader::new(stream), &mut reply)?;
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// Appends one whole RESP2 reply read from `reader` to `out`.
fn read_reply(reader: &mut impl BufRead, out: &mut Vec<u8>) -> io::Result<()> {
    let start = out.len();
    if reader.read_until(b'\n', out)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the connection closed before a reply",
        ));
    }
    let line = out[start..].to_vec();
    let bad = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{what} in the reply line {:?}",
                String::from_utf8_lossy(&line)
            ),
        )
    };
    let head = line.strip_suffix(b"\r\n").ok_or_else(|| bad("no CRLF"))?;
    let (&kind, digits) = head.split_first().ok_or_else(|| bad("no type"))?;
    let count = || -> io::Result<i64> {
        core::str::from_utf8(digits)
            .ok()
            .and_then(|digits| digits.parse().ok())
            .ok_or_else(|| bad("a bad length"))
    };
    match kind {
        b'+' | b'-' | b':' => Ok(()),
        b'$' => match usize::try_from(count()?) {
            // The string and its CRLF; `$-1` is a null and has none.
            Ok(n) => {
                let mut body = vec![0; n + 2];
                reader.read_exact(&mut body)?;
                out.extend_from_slice(&body);
                Ok(())
            }
            Err(_) => Ok(()),
        },
        b'*' => {
            // `*-1` is a null array.
            for _ in 0..count()?.max(0) {
                read_reply(reader, out)?;
            }
            Ok(())
        }
        _ => Err(bad("an unknown type (RESP2 only)")),
    }
}

/// How a [`RedisServer`] persists what it is given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisOptions {
    /// `--appendonly yes --appendfsync always`: every write is in the
    /// append-only file before its reply, so the data survives
    /// [`RedisServer::restart`] and [`RedisServer::kill`]. Without it the
    /// server keeps nothing on disk (`--save ''`, `--appendonly no`) and
    /// comes back from a restart empty.
    pub append_only: bool,
}

/// A private `redis-server` child process, listening on `127.0.0.1` on a
/// port that was free when it started, in a temporary directory of its own
/// (its data and its log, `redis.log`), for the tests that restart or kill
/// Redis. Dropping it kills the process and removes the directory.
///
/// `redis-server` is found on `PATH`; without it the constructors panic,
/// saying how to install it.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    options: RedisOptions,
    port: u16,
    dir: PathBuf,
    /// The running process; `None` after [`Self::stop`] or [`Self::kill`].
    child: Option<Child>,
}

impl RedisServer {
    /// A server that keeps nothing on disk.
    pub fn start() -> RedisServer {
        RedisServer::start_with(RedisOptions::default())
    }

    /// A server with the append-only file, fsynced on every write.
    pub fn start_append_only() -> RedisServer {
        RedisServer::start_with(RedisOptions { append_only: true })
    }

    /// A server with `options`, answering `PING` when this returns. Panics
    /// when it cannot start, with its log.
    pub fn start_with(options: RedisOptions) -> RedisServer {
        let mut server = RedisServer {
            binary: redis_server_binary(),
            options,
            port: 0,
            dir: private_dir(),
            child: None,
        };
        // A port free a moment ago may be taken before the server binds it:
        // then it exits, and another port is tried.
        const ATTEMPTS: usize = 5;
        for attempt in 1..=ATTEMPTS {
            server.port = free_port();
            match server.launch() {
                Ok(()) => return server,
                Err(err) if attempt < ATTEMPTS => {
                    eprintln!("redis-server on port {}: {err}; another port", server.port);
                }
                Err(err) => panic!("redis-server did not start: {err}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Its port on `127.0.0.1`, the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its data directory (kept across restarts, removed on drop).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the process is running (not stopped, killed, or exited).
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// [`command`] on this server.
    pub fn command(&self, args: &[&str]) -> String {
        command(self.port, args)
    }

    /// Shuts the server down (`SHUTDOWN`, which writes out the append-only
    /// file when there is one) and waits for the process to exit; then it
    /// is down until [`Self::restart`]. Nothing when it is not running.
    /// Panics, after killing it, when it has not exited within [`WAIT`].
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) {
            // A successful SHUTDOWN closes the connection without a reply.
            let _ = try_command(self.port, &["SHUTDOWN"]);
        }
        let deadline = Instant::now() + WAIT;
        while matches!(child.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "redis-server on port {} did not exit within {WAIT:?} of SHUTDOWN",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the process with SIGKILL, as a crash would, and reaps it; it is
    /// down until [`Self::restart`]. With the append-only file, every write
    /// that had its reply survives. Nothing when it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server if it is running ([`Self::stop`]), then starts it
    /// again on the same port with the same directory and options, and
    /// waits for its `PONG` (after it has loaded the append-only file).
    /// Panics when it does not come back, with its log.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(err) = self.launch() {
            panic!("redis-server did not restart on port {}: {err}", self.port);
        }
    }

    /// Starts the process on `self.port` and waits for it to answer `PING`;
    /// on failure the process is gone and the error quotes its log.
    fn launch(&mut self) -> Result<(), String> {
        let log_path = self.dir.join("redis.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|err| format!("cannot open {}: {err}", log_path.display()))?;
        let stderr = log
            .try_clone()
            .map_err(|err| format!("cannot share {}: {err}", log_path.display()))?;
        let mut cmd = Command::new(&self.binary);
        cmd.args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--daemonize", "no", "--save", ""])
            .arg("--dir")
            .arg(&self.dir);
        if self.options.append_only {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .spawn()
            .map_err(|err| format!("cannot run {}: {err}", self.binary.display()))?;
        let pid = child.id();
        self.child = Some(child);
        let ready = self.wait_ready(pid);
        if ready.is_err() {
            self.kill();
        }
        ready.map_err(|err| format!("{err}; its log:\n{}", log_tail(&log_path)))
    }

    /// Waits, at most [`WAIT`], for `PING` to get `PONG` from the process
    /// `pid` (checked with `INFO server`, so that nothing else listening on
    /// the port passes for it).
    fn wait_ready(&mut self, pid: u32) -> Result<(), String> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("it exited ({status}) before answering PING"));
                }
            }
            // A short bound: what answers slowly is not this server (which
            // answers `-LOADING` at once while it loads its data).
            let probe = |args: &[&str]| exchange(self.port, args, PROBE);
            if matches!(probe(&["PING"]).as_deref(), Ok("+PONG\r\n")) {
                let info = probe(&["INFO", "server"]).unwrap_or_default();
                if info.contains(&format!("\r\nprocess_id:{pid}\r\n")) {
                    return Ok(());
                }
                return Err(format!("another process answers on port {}", self.port));
            }
            if Instant::now() > deadline {
                return Err(format!("no PONG within {WAIT:?}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `redis-server` on `PATH`; panics, saying how to install it, without it.
fn redis_server_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "this test runs its own redis-server, and there is none on PATH; install it \
                 with `apt-get update && apt-get install -y redis-server` (`.ci/run` does)"
            )
        })
}

/// A port on `127.0.0.1` that the system reported free just now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on 127.0.0.1")
}

/// A new, empty directory under the system's temporary directory.
fn private_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or_default();
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("ssekit-redis-{}-{nanos}-{n}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => panic!("cannot create {}: {err}", dir.display()),
        }
    }
}

/// The last 40 lines of the log at `path`, for a failure's message.
fn log_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Err(err) = File::open(path).and_then(|mut file| file.read_to_string(&mut text)) {
        return format!("(cannot read {}: {err})", path.display());
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
