//! `ssekit serve --redis`: nodes run as processes against a real
//! `redis-server`, with `curl -N` clients. Two nodes on one topic, a client
//! on one and the input on the other, then a client resuming on either
//! node with `Last-Event-ID`; ids, comments and retry times of the input;
//! heartbeats, `400`, `503` past the limit and while Redis is down, open
//! streams through a Redis restart; the end of input, an invalid line,
//! Ctrl-C.
//!
//! The shared server is the one `SSEKIT_REDIS_URL` names (see
//! `tests/redis_common` at the root: `.ci/run` starts one); each test uses
//! a topic of its own, named after it and the process id. The tests that
//! stop Redis start a private `redis-server`. Every wait is bounded, and
//! every process is killed when its guard drops. Unix only.
#![cfg(unix)]

#[path = "../../tests/redis_common/mod.rs"]
mod redis_common;
mod serve_common;

use core::time::Duration;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Instant;

use redis_common::{command, port_of, redis_url, RedisServer};
use serve_common::*;

/// A topic of one test's own on the shared server (named after the test
/// and the process id), its stream deleted at the start and on drop.
struct Topic {
    url: String,
    port: u16,
    name: String,
    key: String,
}

impl Topic {
    fn new(test: &str) -> Topic {
        let url = redis_url();
        let port = port_of(&url);
        let name = format!("cli-{test}-{}", std::process::id());
        let key = format!("ssekit:{name}");
        command(port, &["DEL", &key]);
        Topic {
            url,
            port,
            name,
            key,
        }
    }

    /// `ssekit serve --redis URL --topic NAME --heartbeat BEAT <args>`,
    /// listening.
    fn node(&self, args: &[&str]) -> Server {
        node_on(&self.url, &self.name, args)
    }

    /// A node that only serves: its input is closed at once, as with
    /// `</dev/null`.
    fn serving_node(&self, args: &[&str]) -> Server {
        let mut node = self.node(args);
        node.end_input();
        node.expect_stderr("the input ended after 0 events published to Redis; still serving");
        node
    }

    /// Waits at most `WAIT` for the stream to hold `len` entries.
    fn wait_len(&self, len: usize) {
        let want = format!(":{len}\r\n");
        let deadline = Instant::now() + WAIT;
        loop {
            let got = command(self.port, &["XLEN", &self.key]);
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} has {got:?} entries, not {len}, after {WAIT:?}",
                self.key
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Topic {
    fn drop(&mut self) {
        let _ = redis_common::try_command(self.port, &["DEL", &self.key]);
    }
}

/// `ssekit serve --redis url --topic topic --heartbeat BEAT <args>`,
/// listening.
fn node_on(url: &str, topic: &str, args: &[&str]) -> Server {
    let mut all = vec!["--redis", url, "--topic", topic, "--heartbeat", BEAT];
    all.extend_from_slice(args);
    Server::start(&all)
}

/// The heartbeat of the nodes under test: the first one tells that a
/// client's stream is open (curl prints no header before some body).
const BEAT: &str = "100ms";

/// A client whose stream is open: a heartbeat came, so the node has
/// subscribed it (a new client gets only the events after that).
fn subscribed(url: &str, args: &[&str]) -> Curl {
    let client = Curl::get(url, args);
    read_until(&client.lines, "a first heartbeat", |l| l == ": keep-alive");
    client
}

/// Whether `lines` end with the `retry:` hint of a shutdown, with only
/// heartbeats and blank lines before.
fn ends_with_the_hint(lines: &[String]) -> bool {
    lines.ends_with(&["retry: 3000".into(), String::new()])
        && lines[..lines.len() - 2]
            .iter()
            .all(|l| l.is_empty() || l == ": keep-alive")
}

/// The `data:` values among `lines`, in order.
fn data(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

fn event_data(range: core::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("event {n}")).collect()
}

/// Whether `id` is a Redis stream entry id, `<ms>-<seq>`.
fn is_entry_id(id: &str) -> bool {
    id.split_once('-').is_some_and(|(ms, seq)| {
        [ms, seq]
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// An entry id as its two numbers, to compare.
fn entry_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').expect("an entry id");
    (ms.parse().unwrap(), seq.parse().unwrap())
}

/// A `GET /` of its own over TCP with `header` (raw bytes), read to its
/// end: the whole response.
fn raw_get(url: &str, header: &[u8]) -> String {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut socket = TcpStream::connect(host).unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let mut request =
        format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n").into_bytes();
    request.extend_from_slice(header);
    request.extend_from_slice(b"\r\n\r\n");
    socket.write_all(&request).unwrap();
    let mut reply = Vec::new();
    socket.read_to_end(&mut reply).expect("the reply ends");
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn two_nodes_serve_one_topic_and_a_client_resumes_exactly_on_either() {
    let topic = Topic::new("two-nodes");
    // A reads the input; B only serves.
    let mut a = topic.node(&[]);
    let mut b = topic.serving_node(&[]);

    let client = subscribed(&b.url, &[]);
    a.send(&events(1..=3));
    let seen = client.until("data: event 3");
    assert_eq!(data(&seen), event_data(1..=3));
    let first = ids(&seen);
    assert_eq!(first.len(), 3, "{seen:#?}");
    assert!(first.iter().all(|id| is_entry_id(id)), "{first:?}");
    // They are the entries' ids, in the stream's order.
    let range = command(topic.port, &["XRANGE", &topic.key, "-", "+"]);
    let mut at = 0;
    for id in &first {
        at += range[at..]
            .find(id.as_str())
            .unwrap_or_else(|| panic!("{id} is not in {range:?}"));
    }

    // The client leaves; three more events are published meanwhile.
    drop(client);
    a.send(&events(4..=6));
    topic.wait_len(6);
    let last = &first[2];

    // On A, which has not served the topic yet: replayed from the stream.
    let on_a = Curl::get(&a.url, &["-H", &format!("Last-Event-ID: {last}")]);
    let replay_a = on_a.until("data: event 6");
    assert_eq!(data(&replay_a), event_data(4..=6));
    // On B, which read them while the client was away: from its memory.
    let on_b = Curl::get(&b.url, &["-H", &format!("Last-Event-ID: {last}")]);
    let replay_b = on_b.until("data: event 6");
    assert_eq!(data(&replay_b), event_data(4..=6));
    assert_eq!(ids(&replay_a), ids(&replay_b), "the same ids on every node");
    assert!(ids(&replay_a)
        .iter()
        .all(|id| entry_id(id) > entry_id(last)));

    // Then the live events, and nothing twice in between.
    a.send(&events(7..=7));
    let live_a = on_a.until("data: event 7");
    let live_b = on_b.until("data: event 7");
    assert_eq!(data(&live_a), ["event 7"]);
    assert_eq!(data(&live_b), ["event 7"]);
    assert_eq!(ids(&live_a), ids(&live_b));
    topic.wait_len(7);
    assert!(b.child.try_wait().unwrap().is_none(), "B serves on");
}

#[test]
fn input_ids_comments_and_retry_times_are_not_published_and_headers_are_checked() {
    let topic = Topic::new("input");
    let mut server = topic.node(&[]);
    let client = subscribed(&server.url, &[]);
    server.send(
        "{\"id\":\"7\",\"data\":\"a\"}\n{\"comment\":\"c\"}\n{\"retry\":100}\n\n{}\n\
         {\"type\":\"t\",\"data\":\"b\",\"comment\":\"d\"}\n",
    );
    let seen: Vec<String> = client
        .until("data: b")
        .into_iter()
        .filter(|l| l != ": keep-alive" && !l.is_empty())
        .collect();
    let tail = &seen[seen.len() - 5..];
    assert_eq!(tail[1], "data: a");
    assert_eq!(tail[2], "event: t");
    assert_eq!(tail[4], "data: b");
    let given = ids(tail);
    assert!(given.iter().all(|id| is_entry_id(id)), "{seen:#?}");
    assert!(!seen
        .iter()
        .any(|l| l.starts_with(":c") || l.starts_with("retry")));
    server.expect_stderr("line 1: with --redis the ids are the Redis stream entry ids");
    server.expect_stderr("line 2: comments and retry times are not published");
    topic.wait_len(2);

    // An idle stream gets heartbeats.
    read_until(&client.lines, "a heartbeat", |l| l == ": keep-alive");

    // A Last-Event-ID that is no entry id: what is retained, and a notice.
    let other = Curl::get(&server.url, &["-H", "Last-Event-ID: 7"]);
    assert_eq!(data(&other.until("data: b")), ["a", "b"]);
    server.expect_stderr("resumes after id \"7\", which cannot be resumed");

    // A header that is no event id at all: 400.
    let reply = raw_get(&server.url, b"Last-Event-ID: 4\xff2");
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert!(
        reply.contains("invalid Last-Event-ID header: not UTF-8"),
        "{reply}"
    );
}

#[test]
fn past_max_connections_the_answer_is_503_with_retry_after() {
    let topic = Topic::new("limit");
    let server = topic.serving_node(&["--max-connections", "1"]);
    let first = subscribed(&server.url, &[]);
    let lower = refusal(&server.url);
    assert!(
        lower.iter().any(|l| l.contains("too many subscribers")),
        "{lower:#?}"
    );

    // Once the first client has left, there is room again.
    drop(first);
    wait_admitted(&server.url);
}

#[test]
fn sigint_ends_every_stream_with_a_retry_hint_and_exits_0() {
    let topic = Topic::new("sigint");
    let mut server = topic.node(&[]);
    let first = subscribed(&server.url, &[]);
    let second = subscribed(&server.url, &[]);
    server.send(&events(1..=2));
    for client in [&first, &second] {
        assert_eq!(data(&client.until("data: event 2")), event_data(1..=2));
    }

    server.interrupt();
    for stream in [&first, &second] {
        let rest = read_to_end(&stream.lines, "the stream");
        assert!(ends_with_the_hint(&rest), "{rest:#?}");
    }
    let status = wait_exit(&mut server.child, "ssekit serve after SIGINT");
    assert!(status.success(), "{status:?}");
    server.expect_stderr("shutting down");
}

#[test]
fn the_end_of_input_with_exit_on_eof_and_an_invalid_line_stop_after_publishing() {
    let topic = Topic::new("eof");
    let mut server = topic.node(&["--exit-on-eof"]);
    let client = subscribed(&server.url, &[]);
    server.send(&events(1..=2));
    server.end_input();
    let status = wait_exit(&mut server.child, "ssekit serve --exit-on-eof");
    assert!(status.success(), "{status:?}");
    server.expect_stderr("the input ended after 2 events published to Redis; ending every stream");
    // Every stream ends with the hint to resume (on another node), after
    // the events it had been sent by then, if any.
    let mut rest = read_to_end(&client.lines, "the stream");
    let got = data(&rest);
    assert!(event_data(1..=2).starts_with(&got), "{rest:#?}");
    rest.retain(|l| !l.starts_with("id: ") && !l.starts_with("data: "));
    assert!(ends_with_the_hint(&rest), "{rest:#?}");
    topic.wait_len(2);

    let topic = Topic::new("bad-line");
    let mut server = topic.node(&[]);
    server.send("{\"data\":\"event 1\"}\n{\"data\":\n{\"data\":\"never\"}\n");
    let status = wait_exit(&mut server.child, "ssekit serve after a bad line");
    assert_eq!(status.code(), Some(2));
    let message = server.expect_stderr("line 2:");
    assert!(message.contains("invalid JSON"), "{message}");
    topic.wait_len(1);
}

#[test]
fn a_redis_that_cannot_be_reached_at_the_start_is_explained() {
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/", free.local_addr().unwrap());
    drop(free);
    let output = serve_output(&["--addr", "127.0.0.1:0", "--redis", &url]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!("ssekit serve: cannot reach Redis at {url}: ")),
        "{stderr}"
    );
    assert!(
        stderr.contains("start one with `redis-server --port 6379` or pass --redis URL"),
        "{stderr}"
    );

    let output = serve_output(&["--topic", "news"]);
    assert_eq!(output.status.code(), Some(2), "--topic needs --redis");
}

#[test]
fn while_redis_is_down_new_streams_get_503_and_open_ones_carry_on_after() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let mut server = node_on(&url, "down", &[]);

    redis.stop();
    let lower = refusal(&server.url);
    let why = format!("ssekit serve: cannot reach redis at {url} to start the stream: ");
    assert!(lower.iter().any(|l| l.starts_with(&why)), "{lower:#?}");
    // Publishing waits for Redis.
    server.send(&events(1..=1));
    server.expect_stderr("trying again until it answers");
    redis.restart();
    server.expect_stderr("publishing to Redis at");
    assert_eq!(redis.command(&["XLEN", "ssekit:down"]), ":1\r\n");

    // A stream open through a restart of Redis gets the events after it.
    let client = subscribed(&server.url, &[]);
    redis.restart();
    server.send(&events(2..=2));
    let seen = client.until("data: event 2");
    assert_eq!(data(&seen), ["event 2"]);
}
