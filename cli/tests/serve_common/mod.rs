//! What the tests of `ssekit serve` share: the command run as a process on
//! 127.0.0.1 ([`Server`]), `curl -N` clients ([`Curl`]), and bounded waits
//! on their output.
//!
//! Every wait is bounded, and every process started is killed when its
//! guard drops, so that a failing test leaves nothing behind.

#![allow(dead_code, unreachable_pub)]

use core::time::Duration;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Instant;

/// The longest any single wait may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// Sends each line `from` gives on a channel, from a thread of its own.
pub fn lines_of(from: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads lines from `rx` until `done` says so, for at most `WAIT`; panics
/// with what was read if it does not come.
pub fn read_until(
    rx: &Receiver<String>,
    what: &str,
    mut done: impl FnMut(&str) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let stop = done(&line);
                seen.push(line);
                if stop {
                    return seen;
                }
            }
            Err(RecvTimeoutError::Timeout) => panic!("no {what} within {WAIT:?}; got {seen:#?}"),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the output ended before {what}; got {seen:#?}")
            }
        }
    }
}

/// Everything `rx` gives until its writer ends, for at most `WAIT`.
pub fn read_to_end(rx: &Receiver<String>, what: &str) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(RecvTimeoutError::Disconnected) => return seen,
            Err(RecvTimeoutError::Timeout) => {
                panic!("{what} did not end within {WAIT:?}; got {seen:#?}")
            }
        }
    }
}

/// Waits at most `WAIT` for `child` to exit.
pub fn wait_exit(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not exit within {WAIT:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// A running `ssekit serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub stderr: Receiver<String>,
    pub url: String,
}

impl Server {
    /// Starts `ssekit serve --addr 127.0.0.1:0 <args>` and waits until it
    /// listens.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ssekit"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ssekit starts");
        let stdin = child.stdin.take();
        let stderr = lines_of(child.stderr.take().unwrap());
        let mut server = Server {
            child,
            stdin,
            stderr,
            url: String::new(),
        };
        let lines = read_until(&server.stderr, "listening line", |l| {
            l.contains("listening on http://")
        });
        let line = lines.last().unwrap();
        let start = line.find("http://").unwrap();
        server.url = line[start..].trim().to_owned();
        assert!(server.url.starts_with("http://127.0.0.1:"), "{line}");
        server
    }

    /// Writes lines to its standard input.
    pub fn send(&mut self, lines: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(lines.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes its standard input.
    pub fn end_input(&mut self) {
        self.stdin = None;
    }

    /// Waits for a line on its standard error containing `needle`.
    pub fn expect_stderr(&self, needle: &str) -> String {
        read_until(&self.stderr, needle, |l| l.contains(needle))
            .pop()
            .unwrap()
    }

    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `curl -N` client, killed on drop.
pub struct Curl {
    pub child: Child,
    pub lines: Receiver<String>,
}

impl Curl {
    /// `curl -sN <args> URL`, its output read line by line.
    pub fn get(url: &str, args: &[&str]) -> Curl {
        let mut child = Command::new("curl")
            .args(["-sN", "--max-time", "20", "--noproxy", "*"])
            .args(args)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("curl runs (it is needed by these tests)");
        let lines = lines_of(child.stdout.take().unwrap());
        Curl { child, lines }
    }

    /// Lines until the one equal to `last`.
    pub fn until(&self, last: &str) -> Vec<String> {
        read_until(&self.lines, last, |l| l == last)
    }
}

impl Drop for Curl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `id:` values among `lines`, in order.
pub fn ids(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(str::to_owned)
        .collect()
}

pub fn events(range: core::ops::RangeInclusive<u32>) -> String {
    range
        .map(|n| format!("{{\"data\":\"event {n}\"}}\n"))
        .collect()
}

/// A `GET` of `url` that is refused: asserts `503` with `Retry-After: 5`,
/// and returns the reply's lines, lowercased, without their line ends.
pub fn refusal(url: &str) -> Vec<String> {
    let refused = Curl::get(url, &["-i"]);
    let reply = read_to_end(&refused.lines, "the refusal");
    let lower: Vec<String> = reply
        .iter()
        .map(|l| l.trim_end().to_ascii_lowercase())
        .collect();
    assert!(lower[0].starts_with("http/1.1 503"), "{reply:#?}");
    assert!(lower.iter().any(|l| l == "retry-after: 5"), "{reply:#?}");
    lower
}

/// Waits, at most `WAIT`, until a `GET` of `url` is answered `200` (once a
/// place under the connection limit is free: the server sees a client
/// leave at its next write, a heartbeat at the latest).
pub fn wait_admitted(url: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let again = Curl::get(url, &["-i"]);
        let status = read_until(&again.lines, "a status line", |_| true).remove(0);
        if status.starts_with("HTTP/1.1 200") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still refused after {WAIT:?}: {status}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// `ssekit serve <args>` with its input closed, run to its exit.
pub fn serve_output(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssekit"))
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ssekit runs")
}
