//! `ssekit tail`, run as a process against `ssekit serve` children and
//! small in-test HTTP servers, all on 127.0.0.1: the JSON and readable
//! forms, resuming after `--last-event-id`, the request options, and the
//! failures (nothing listening, 404) with their messages and statuses.
//!
//! Every wait is bounded, and every process started is killed when its
//! guard drops. Unix only: SIGINT is sent with `kill`.
#![cfg(unix)]

use core::time::Duration;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Instant;

/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(15);

/// Sends each line `from` gives on a channel, from a thread of its own.
fn lines_of(from: impl Read + Send + 'static) -> Receiver<String> {
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

/// Reads lines from `rx` until `done` says so, for at most `WAIT`.
fn read_until(
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
fn read_to_end(rx: &Receiver<String>) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(RecvTimeoutError::Disconnected) => return seen,
            Err(RecvTimeoutError::Timeout) => panic!("the output did not end; got {seen:#?}"),
        }
    }
}

/// A child process, killed on drop.
struct Guard {
    child: Child,
}

impl Guard {
    /// Waits at most `WAIT` for it to exit.
    fn wait(&mut self, what: &str) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not exit within {WAIT:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends it SIGINT, as Ctrl-C does.
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `ssekit serve --addr 127.0.0.1:0` that has read all of
/// `lines` (its input is closed; it serves on until killed).
struct Server {
    _guard: Guard,
    url: String,
}

fn serve(lines: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssekit"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssekit serve starts");
    let mut stdin = child.stdin.take().unwrap();
    let stderr = lines_of(child.stderr.take().unwrap());
    let guard = Guard { child };
    let seen = read_until(&stderr, "listening line", |l| {
        l.contains("listening on http://")
    });
    let line = seen.last().unwrap();
    let url = line[line.find("http://").unwrap()..].trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    stdin.write_all(lines.as_bytes()).unwrap();
    drop(stdin);
    // Every line is published (and retained) before a client connects.
    read_until(&stderr, "the end of the input", |l| {
        l.contains("the input ended")
    });
    Server { _guard: guard, url }
}

/// A running `ssekit tail <args>`: its guard and its output lines.
struct Tail {
    guard: Guard,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

fn tail(args: &[&str]) -> Tail {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ssekit"))
        .arg("tail")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssekit tail starts");
    let stdout = lines_of(child.stdout.take().unwrap());
    let stderr = lines_of(child.stderr.take().unwrap());
    Tail {
        guard: Guard { child },
        stdout,
        stderr,
    }
}

/// Runs `ssekit tail <args>` to its end: status, stdout and stderr.
fn tail_to_end(args: &[&str]) -> (ExitStatus, Vec<String>, String) {
    let mut tail = tail(args);
    let status = tail.guard.wait("ssekit tail");
    let out = read_to_end(&tail.stdout);
    let err = read_to_end(&tail.stderr).join("\n");
    (status, out, err)
}

/// An HTTP server on 127.0.0.1 answering one request with `response`;
/// the request it read comes back on the channel.
fn one_shot(response: &'static str) -> (String, Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let Ok((mut socket, _)) = listener.accept() else {
            return;
        };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
        let mut request = Vec::new();
        let mut chunk = [0u8; 4096];
        // The head, then as much body as Content-Length says.
        while let Ok(n) = socket.read(&mut chunk) {
            if n == 0 {
                break;
            }
            request.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&request).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break;
                }
            }
        }
        let _ = socket.write_all(response.as_bytes());
        let _ = socket.flush();
        let _ = tx.send(String::from_utf8_lossy(&request).into_owned());
    });
    (url, rx)
}

const EVENTS: &str = "{\"data\":\"a\"}\n{\"type\":\"delta\",\"data\":\"b\"}\n{\"data\":\"c\"}\n\
{\"data\":\"d\"}\n{\"data\":\"e\"}\n{\"data\":\"f\\nsecond line\"}\n";

#[test]
fn json_lines_as_decode_prints_them_and_ctrl_c_exits_0() {
    let server = serve(EVENTS);
    let mut tail = tail(&["--json", &server.url]);
    let lines = read_until(&tail.stdout, "event 6", |l| l.contains("\"id\":\"6\""));
    assert_eq!(
        lines,
        [
            r#"{"type":"message","data":"a","id":"1"}"#,
            r#"{"type":"delta","data":"b","id":"2"}"#,
            r#"{"type":"message","data":"c","id":"3"}"#,
            r#"{"type":"message","data":"d","id":"4"}"#,
            r#"{"type":"message","data":"e","id":"5"}"#,
            r#"{"type":"message","data":"f\nsecond line","id":"6"}"#,
        ]
    );
    let notices = read_until(&tail.stderr, "the connected notice", |l| {
        l.contains("connected to")
    });
    assert!(notices.last().unwrap().contains("200 OK"), "{notices:?}");
    tail.guard.interrupt();
    let status = tail.guard.wait("ssekit tail after Ctrl-C");
    assert!(status.success(), "{status}");
    drop(server);
}

#[test]
fn last_event_id_resumes_after_it() {
    let server = serve(EVENTS);
    let tail = tail(&["--json", "--last-event-id", "3", &server.url]);
    let lines = read_until(&tail.stdout, "event 6", |l| l.contains("\"id\":\"6\""));
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| &l[l.rfind("\"id\":").unwrap() + 6..l.len() - 2])
        .collect();
    assert_eq!(ids, ["4", "5", "6"], "{lines:?}");
    drop(server);
}

#[test]
fn readable_form_by_default() {
    let server = serve(EVENTS);
    let tail = tail(&[&server.url]);
    let lines = read_until(&tail.stdout, "the second data line", |l| {
        l.contains("second line")
    });
    assert_eq!(lines[0], "[1] message: a");
    assert_eq!(lines[1], "[2] delta: b");
    assert_eq!(lines[5], "[6] message: f");
    assert_eq!(lines[6], "             second line");
    drop(server);
}

#[test]
fn nothing_listening_gives_up_after_max_retries() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/events");
    let (status, out, err) = tail_to_end(&["--max-retries", "1", &url]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(out.is_empty(), "{out:?}");
    assert!(err.contains("is the server running?"), "{err}");
    assert!(
        err.contains("gave up after 1 reconnection attempt"),
        "{err}"
    );
    assert!(err.contains("reconnecting in"), "{err}");
}

#[test]
fn a_404_fails_with_the_status_and_the_body() {
    let (url, _request) = one_shot(
        "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 15\r\nconnection: close\r\n\r\nno such stream\n",
    );
    let (status, out, err) = tail_to_end(&[&url]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(out.is_empty(), "{out:?}");
    assert!(err.contains("404 Not Found"), "{err}");
    assert!(err.contains("no such stream"), "{err}");
}

#[test]
fn a_204_stops_cleanly_and_the_request_carries_the_options() {
    let (url, request) = one_shot("HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
    let dir = std::env::temp_dir().join(format!("ssekit-tail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = dir.join("body.json");
    std::fs::write(&body, "{\"prompt\":\"hi\"}").unwrap();
    let data = format!("@{}", body.display());
    let (status, _, err) = tail_to_end(&[
        "-H",
        "Content-Type: application/json",
        "-H",
        "X-Test: yes",
        "-d",
        &data,
        "--last-event-id",
        "41",
        &url,
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.success(), "{status}: {err}");
    assert!(err.contains("204"), "{err}");
    let request = request.recv_timeout(WAIT).expect("the request");
    let lower = request.to_ascii_lowercase();
    assert!(request.starts_with("POST /events "), "{request}");
    assert!(
        lower.contains("content-type: application/json"),
        "{request}"
    );
    assert!(lower.contains("x-test: yes"), "{request}");
    assert!(lower.contains("last-event-id: 41"), "{request}");
    assert!(lower.contains("accept: text/event-stream"), "{request}");
    assert!(request.ends_with("{\"prompt\":\"hi\"}"), "{request}");
}

#[test]
fn invalid_arguments_exit_2_with_a_message() {
    for args in [
        &["-H", "no colon", "http://127.0.0.1:1/"][..],
        &["-X", "GE T", "http://127.0.0.1:1/"],
        &["not a url"],
        &["ftp://127.0.0.1/x"],
        &["-d", "@/nonexistent/ssekit/body", "http://127.0.0.1:1/"],
    ] {
        let (status, _, err) = tail_to_end(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("ssekit tail: "), "{args:?}: {err}");
    }
}
