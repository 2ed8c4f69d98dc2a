//! `ssekit serve`, run as a process on 127.0.0.1 with real clients
//! (`curl -N`): ids and order, replay after `Last-Event-ID`, headers, the
//! connection limit, heartbeats, the end of input, and Ctrl-C.
//!
//! Every wait is bounded, and every process started is killed when its
//! guard drops (see `serve_common`), so that a failing test leaves nothing
//! behind. Unix only: SIGINT is sent with `kill`.
#![cfg(unix)]

use core::time::Duration;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Instant;

mod serve_common;

use serve_common::*;

#[test]
fn events_arrive_in_order_and_a_resuming_client_gets_what_it_missed_once() {
    let mut server = Server::start(&["--heartbeat", "0"]);
    server.send(&events(1..=3));
    let first = Curl::get(&server.url, &[]);
    let seen = first.until("data: event 3");
    assert_eq!(ids(&seen), ["1", "2", "3"]);
    assert_eq!(
        seen,
        [
            "id: 1",
            "data: event 1",
            "",
            "id: 2",
            "data: event 2",
            "",
            "id: 3",
            "data: event 3"
        ]
    );

    server.send(&events(4..=5));
    let seen = first.until("data: event 5");
    assert_eq!(ids(&seen), ["4", "5"]);

    // The client reconnects after event 3: it gets 4 and 5 from the
    // replay buffer, then 6 live, each once.
    let resumed = Curl::get(&server.url, &["-H", "Last-Event-ID: 3"]);
    let replayed = resumed.until("data: event 5");
    server.send(&events(6..=6));
    let live = resumed.until("data: event 6");
    let all: Vec<String> = replayed.into_iter().chain(live).collect();
    assert_eq!(ids(&all), ["4", "5", "6"]);
    assert_eq!(ids(&first.until("data: event 6")), ["6"]);

    // Given ids are kept, and assigned ones go on after numeric ones.
    server.send(
        "{\"id\":\"10\",\"type\":\"t\",\"data\":\"x\"}\n{\"data\":\"y\"}\n{\"comment\":\"c\"}\n",
    );
    let seen = first.until(":c");
    assert_eq!(
        seen,
        ["", "event: t", "id: 10", "data: x", "", "id: 11", "data: y", "", ":c"]
    );
}

#[test]
fn an_unknown_last_event_id_gets_everything_retained_with_a_notice() {
    let mut server = Server::start(&["--heartbeat", "0", "--replay", "3"]);
    server.send(&events(1..=5));
    // Wait until all five were published (a client sees the fifth).
    Curl::get(&server.url, &[]).until("data: event 5");
    let client = Curl::get(&server.url, &["-H", "Last-Event-ID: 1"]);
    assert_eq!(ids(&client.until("data: event 5")), ["3", "4", "5"]);
    let notice = server.expect_stderr("resumes after id \"1\"");
    assert!(
        notice.contains("not among the 3 retained frames"),
        "{notice}"
    );
}

#[test]
fn responses_have_the_event_stream_headers() {
    let server = Server::start(&["--heartbeat", "200ms"]);
    let client = Curl::get(&server.url, &["-i"]);
    let head = client.until(": keep-alive");
    let head: Vec<String> = head
        .iter()
        .map(|l| l.trim_end().to_ascii_lowercase())
        .collect();
    assert_eq!(head[0], "http/1.1 200 ok", "{head:#?}");
    for header in [
        "content-type: text/event-stream",
        "cache-control: no-cache",
        "x-accel-buffering: no",
    ] {
        assert!(
            head.iter().any(|l| l == header),
            "{header} missing: {head:#?}"
        );
    }

    let post = Curl::get(&server.url, &["-i", "-X", "POST"]);
    let reply = read_to_end(&post.lines, "the POST reply");
    assert!(reply[0].starts_with("HTTP/1.1 405"), "{reply:#?}");
}

#[test]
fn past_the_connection_limit_the_answer_is_503_with_retry_after() {
    let mut server = Server::start(&["--heartbeat", "200ms", "--max-connections", "1"]);
    server.send(&events(1..=1));
    let first = Curl::get(&server.url, &[]);
    first.until("data: event 1");

    let lower = refusal(&server.url);
    assert!(
        lower
            .iter()
            .any(|l| l.contains("too many open event streams")),
        "{lower:#?}"
    );

    // Once the first client leaves, there is room again.
    drop(first);
    wait_admitted(&server.url);
}

#[test]
fn an_idle_stream_gets_heartbeats() {
    let server = Server::start(&["--heartbeat", "200ms"]);
    let client = Curl::get(&server.url, &[]);
    let started = Instant::now();
    let mut beats = 0;
    read_until(&client.lines, "three heartbeats", |l| {
        beats += usize::from(l == ": keep-alive");
        beats == 3
    });
    // Three beats 200 ms apart: well over 400 ms, well under the 15 s default.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn sigint_ends_every_stream_with_a_retry_hint_and_exits_0() {
    let mut server = Server::start(&["--heartbeat", "0"]);
    server.send(&events(1..=2));
    let first = Curl::get(&server.url, &[]);
    let second = Curl::get(&server.url, &["-H", "Last-Event-ID: 1"]);
    first.until("data: event 2");
    second.until("data: event 2");

    server.interrupt();
    for client in [&first, &second] {
        let rest = read_to_end(&client.lines, "the stream");
        assert_eq!(
            rest,
            ["", "retry: 3000", ""],
            "the stream ends with the hint"
        );
    }
    let status = wait_exit(&mut server.child, "ssekit serve after SIGINT");
    assert!(status.success(), "{status:?}");
    server.expect_stderr("shutting down");
}

#[test]
fn with_exit_on_eof_every_stream_ends_after_its_events() {
    let mut server = Server::start(&["--heartbeat", "0", "--exit-on-eof"]);
    server.send(&events(1..=2));
    let client = Curl::get(&server.url, &[]);
    client.until("data: event 2");
    server.send(&events(3..=3));
    server.end_input();
    let rest = read_to_end(&client.lines, "the stream");
    assert_eq!(rest, ["", "id: 3", "data: event 3", ""]);
    let status = wait_exit(&mut server.child, "ssekit serve at the end of input");
    assert!(status.success(), "{status:?}");
}

#[test]
fn without_exit_on_eof_the_retained_events_are_still_served() {
    let mut server = Server::start(&["--heartbeat", "0"]);
    server.send(&events(1..=2));
    server.end_input();
    server.expect_stderr("the input ended after 2 frames");
    let client = Curl::get(&server.url, &[]);
    assert_eq!(ids(&client.until("data: event 2")), ["1", "2"]);
    assert!(server.child.try_wait().unwrap().is_none(), "still serving");
}

#[test]
fn an_invalid_line_is_named_and_stops_the_server_with_status_2() {
    let mut server = Server::start(&["--heartbeat", "0"]);
    server.send(&events(1..=1));
    let client = Curl::get(&server.url, &[]);
    client.until("data: event 1");
    server.send("{\"data\":\"event 2\"}\n{\"data\":\n{\"data\":\"never\"}\n");
    let rest = read_to_end(&client.lines, "the stream");
    assert_eq!(
        rest,
        ["", "id: 2", "data: event 2", ""],
        "the events before it are sent"
    );
    let status = wait_exit(&mut server.child, "ssekit serve after a bad line");
    assert_eq!(status.code(), Some(2));
    let message = server.expect_stderr("line 3:");
    assert!(message.contains("invalid JSON"), "{message}");
}

#[test]
fn an_address_in_use_is_explained() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = serve_output(&["--addr", &addr]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        format!("ssekit serve: cannot listen on {addr}: address in use; pick another with --addr")
    );
}

#[test]
fn a_bad_heartbeat_is_a_usage_error() {
    let output = serve_output(&["--heartbeat", "15"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has no unit"), "{stderr}");
}

#[test]
fn a_client_too_far_behind_is_disconnected_without_holding_the_others_and_resumes() {
    use std::net::TcpStream;

    const EVENTS: u32 = 1000;
    let mut server = Server::start(&["--heartbeat", "0", "--replay", "5000"]);
    // A client that sends its request, then reads nothing for a while.
    let host = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut slow = TcpStream::connect(host).unwrap();
    slow.set_read_timeout(Some(WAIT)).unwrap();
    // `Connection: close`, so that the end of the response closes it.
    write!(
        slow,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let fast = Curl::get(&server.url, &[]);
    server.send(&events(0..=0));
    fast.until("data: event 0");

    // 1000 events of 64 KiB: far more than the slow client's queue of 256
    // and the socket buffers can hold.
    let filler = "x".repeat(64 * 1024);
    let mut input = String::new();
    for n in 1..=EVENTS {
        input.push_str(&format!("{{\"data\":\"{n} {filler}\"}}\n"));
    }
    let writer = {
        let mut stdin = server.stdin.take().unwrap();
        thread::spawn(move || {
            stdin.write_all(input.as_bytes()).unwrap();
            stdin
        })
    };
    // The fast client gets every event, in order, while the slow one
    // does not read.
    let seen = read_until(&fast.lines, "the last event", |l| {
        l.starts_with(&format!("data: {EVENTS} "))
    });
    let got: Vec<String> = ids(&seen);
    let want: Vec<String> = (2..=EVENTS + 1).map(|n| n.to_string()).collect();
    assert_eq!(got, want);
    server.stdin = Some(writer.join().unwrap());
    server.expect_stderr("fell 256 frames behind and was disconnected");

    // The slow client's stream ends after what was queued for it.
    let mut received = Vec::new();
    slow.read_to_end(&mut received)
        .expect("the slow stream ends");
    let text = String::from_utf8_lossy(&received);
    let last: u32 = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|id| id.parse().unwrap())
        .max()
        .unwrap();
    assert!(last < EVENTS + 1, "it was cut off: {last}");

    // It resumes from the replay buffer with everything it missed.
    let resumed = Curl::get(&server.url, &["-H", &format!("Last-Event-ID: {last}")]);
    let seen = read_until(&resumed.lines, "the last event", |l| {
        l.starts_with(&format!("data: {EVENTS} "))
    });
    let want: Vec<String> = (last + 1..=EVENTS + 1).map(|n| n.to_string()).collect();
    assert_eq!(ids(&seen), want);
}

#[test]
fn a_last_event_id_that_is_no_event_id_is_answered_400() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let server = Server::start(&["--heartbeat", "0"]);
    let mut child = Command::new("curl")
        .args(["-s", "-i", "--max-time", "20", "--noproxy", "*", "-H"])
        .arg(OsStr::from_bytes(b"Last-Event-ID: 4\xff2"))
        .arg(&server.url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("curl runs");
    let lines = lines_of(child.stdout.take().unwrap());
    let curl = Curl { child, lines };
    let reply = read_to_end(&curl.lines, "the reply");
    assert!(reply[0].starts_with("HTTP/1.1 400"), "{reply:#?}");
    assert!(
        reply
            .iter()
            .any(|l| l.starts_with("invalid Last-Event-ID header: not UTF-8")),
        "{reply:#?}"
    );
}

/// A client in Rust: hyper's HTTP/1 client, and ssekit's stream adapter
/// to decode the body.
mod rust_client {
    use super::*;

    use futures::StreamExt;
    use http_body_util::BodyExt;
    use hyper_util::rt::TokioIo;
    use ssekit_adapters::codec::EndOfStream;
    use ssekit_adapters::stream::{EventStream, SseStreamExt};
    use tokio::net::TcpStream;
    use tokio::time::timeout;

    type Body = http_body_util::BodyDataStream<hyper::body::Incoming>;

    /// GETs `/` from `host`, with `Last-Event-ID` when given; returns the
    /// status and the decoded events.
    async fn get(host: &str, last_id: Option<&str>) -> (u16, EventStream<Body>) {
        let socket = TcpStream::connect(host).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(socket))
            .await
            .unwrap();
        tokio::spawn(connection);
        let mut request = http::Request::get("/").header("host", host);
        if let Some(id) = last_id {
            request = request.header("last-event-id", id);
        }
        let request = request
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        (status, response.into_body().into_data_stream().sse_events())
    }

    /// The next `n` events' ids and data.
    async fn next(events: &mut EventStream<Body>, n: usize) -> Vec<(String, String)> {
        let mut got = Vec::new();
        for _ in 0..n {
            let event = timeout(WAIT, events.next())
                .await
                .expect("an event in time")
                .expect("the stream goes on")
                .expect("a valid event");
            got.push((
                event.id_lossy().into_owned(),
                event.data_lossy().into_owned(),
            ));
        }
        got
    }

    fn want(range: core::ops::RangeInclusive<u32>) -> Vec<(String, String)> {
        range
            .map(|n| (n.to_string(), format!("event {n}")))
            .collect()
    }

    #[test]
    fn decoded_by_ssekit_events_resume_and_end_with_a_retry_hint() {
        let mut server = Server::start(&["--heartbeat", "0"]);
        let host = server
            .url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        server.send(&events(1..=3));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut resumed = runtime.block_on(async {
            let (status, mut first) = get(&host, None).await;
            assert_eq!(status, 200);
            assert_eq!(next(&mut first, 3).await, want(1..=3));
            let last = String::from_utf8(first.last_event_id().to_vec()).unwrap();
            assert_eq!(last, "3");
            drop(first);
            server.send(&events(4..=5));
            let (_, mut resumed) = get(&host, Some(&last)).await;
            assert_eq!(next(&mut resumed, 2).await, want(4..=5));
            resumed
        });
        server.interrupt();
        runtime.block_on(async {
            let end = timeout(WAIT, resumed.next())
                .await
                .expect("the end in time");
            assert!(end.is_none(), "the stream ends cleanly");
            assert_eq!(resumed.reconnection_time(), Some(Duration::from_secs(3)));
            assert_eq!(resumed.end_of_stream(), Some(EndOfStream::Clean));
        });
        assert!(wait_exit(&mut server.child, "ssekit serve").success());
    }
}
