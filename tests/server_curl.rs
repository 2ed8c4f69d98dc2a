//! `curl -N` against the server side's heartbeats (`ssekit::adapters::http`).
//!
//! An axum server in this process, on 127.0.0.1, serves event streams with
//! a 200 ms keep-alive interval and a custom heartbeat comment
//! (`Heartbeat::new(" hb")`, the frame `": hb\n\n"`). `curl -N -s -D -`
//! prints the response headers and then the body as it arrives; a thread
//! reads curl's output line by line and timestamps each line.
//!
//! - An idle stream: heartbeats arrive, their number fits the time taken,
//!   every gap is about one interval (between 0.5x and 3x: this checks the
//!   protocol's behaviour, not performance), each is a comment followed by
//!   a blank line, and the headers include `content-type:
//!   text/event-stream`, `cache-control: no-cache` and `x-accel-buffering:
//!   no`.
//! - A stream with an event every 100 ms for 2 s: no heartbeat while events
//!   flow (every event pushes the next heartbeat back), and heartbeats
//!   resume about one interval after the last event.
//!
//! curl is `/usr/bin/curl`; without it the tests fail and say how to
//! install it. curl is killed at the end, on failure too.

use core::net::SocketAddr;
use core::time::Duration;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use axum::routing::get;
use axum::Router;
use futures::stream::{self, StreamExt};
use ssekit::adapters::http::SseBody;
use ssekit::{Event, Heartbeat};

const CURL: &str = "/usr/bin/curl";

/// The keep-alive interval of every stream here.
const INTERVAL: Duration = Duration::from_millis(200);

/// The heartbeat's comment line, as curl prints it.
const HEARTBEAT_LINE: &str = ": hb";

/// How many events the busy stream sends, one every [`EVENT_PERIOD`].
const EVENTS: u64 = 20;
const EVENT_PERIOD: Duration = Duration::from_millis(100);

/// A stream that never yields, with heartbeats.
async fn idle() -> SseBody<stream::Pending<Event>> {
    SseBody::new(stream::pending::<Event>())
        .keep_alive(INTERVAL)
        .heartbeat(Heartbeat::new(" hb"))
        .expect("a valid heartbeat")
}

/// `EVENTS` events, one every `EVENT_PERIOD`, then silence.
async fn busy() -> impl axum::response::IntoResponse {
    let mut ticks = tokio::time::interval(EVENT_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let events = stream::unfold((ticks, 1u64), |(mut ticks, n)| async move {
        if n > EVENTS {
            return None;
        }
        ticks.tick().await;
        let event = Event::builder()
            .id(n.to_string())
            .data(format!("tick {n}"))
            .build()
            .expect("a valid event");
        Some((event, (ticks, n + 1)))
    })
    .chain(stream::pending());
    SseBody::new(events)
        .keep_alive(INTERVAL)
        .heartbeat(Heartbeat::new(" hb"))
        .expect("a valid heartbeat")
}

/// The server, on its own runtime; dropped at the end of the test.
struct Server {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
}

impl Server {
    fn start() -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let app = Router::new()
            .route("/idle", get(idle))
            .route("/busy", get(busy));
        runtime.spawn(async move { axum::serve(listener, app).await });
        Server {
            runtime: Some(runtime),
            addr,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// One line of curl's output and when it arrived.
struct Line {
    at: Instant,
    text: String,
}

/// curl, killed and waited for when dropped, and its output, line by line.
struct Curl {
    child: Child,
    lines: mpsc::Receiver<Line>,
    reader: Option<thread::JoinHandle<()>>,
    started: Instant,
}

impl Curl {
    fn spawn(url: &str) -> Curl {
        assert!(
            Path::new(CURL).exists(),
            "curl not found at {CURL}: apt-get install -y curl"
        );
        let started = Instant::now();
        let mut child = Command::new(CURL)
            .args(["-N", "-s", "-D", "-", url])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {CURL}: {err}"));
        let stdout = child.stdout.take().expect("curl's stdout");
        let (tx, lines) = mpsc::channel();
        let reader = thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut text = String::new();
            loop {
                text.clear();
                match stdout.read_line(&mut text) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let at = Instant::now();
                        let text = text.trim_end_matches(['\r', '\n']).to_owned();
                        if tx.send(Line { at, text }).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Curl {
            child,
            lines,
            reader: Some(reader),
            started,
        }
    }

    /// The next line, or `None` at `deadline` or when curl has exited.
    fn next_line(&self, deadline: Instant) -> Option<Line> {
        let left = deadline.checked_duration_since(Instant::now())?;
        self.lines.recv_timeout(left).ok()
    }

    /// The status line and headers, names in lower case, up to the blank
    /// line that ends them.
    fn headers(&self, deadline: Instant) -> (String, Vec<(String, String)>) {
        let status = self
            .next_line(deadline)
            .unwrap_or_else(|| panic!("no response from curl before the deadline"))
            .text;
        let mut headers = Vec::new();
        loop {
            let line = self
                .next_line(deadline)
                .unwrap_or_else(|| panic!("the headers did not end; so far: {status} {headers:?}"));
            if line.text.is_empty() {
                return (status, headers);
            }
            let (name, value) = line
                .text
                .split_once(':')
                .unwrap_or_else(|| panic!("not a header line: {:?}", line.text));
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }

    fn kill(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for Curl {
    fn drop(&mut self) {
        self.kill();
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Every gap must lie between 0.5x and 3x the interval.
fn assert_gaps(what: &str, gaps: &[Duration]) {
    let (low, high) = (INTERVAL / 2, INTERVAL * 3);
    let shown: Vec<String> = gaps.iter().map(|g| format!("{:.0}", ms(*g))).collect();
    println!("{what}: gaps in ms: {}", shown.join(", "));
    for (i, gap) in gaps.iter().enumerate() {
        assert!(
            *gap >= low && *gap <= high,
            "{what}: gap {i} is {:.1} ms, outside [{:.0}, {:.0}] ms for a {:.0} ms interval; all gaps: {shown:?}",
            ms(*gap),
            ms(low),
            ms(high),
            ms(INTERVAL)
        );
    }
}

fn assert_event_stream_headers(status: &str, headers: &[(String, String)]) {
    println!("{status}\n{headers:?}");
    assert!(
        status.starts_with("HTTP/1.1 200"),
        "status line: {status:?}"
    );
    for (name, value) in [
        ("content-type", "text/event-stream"),
        ("cache-control", "no-cache"),
        ("x-accel-buffering", "no"),
    ] {
        assert!(
            headers.iter().any(|(n, v)| n == name && v == value),
            "no `{name}: {value}` header in {headers:?}"
        );
    }
}

#[test]
fn curl_sees_heartbeats_on_an_idle_stream_at_the_interval() {
    const WANTED: usize = 10;
    let server = Server::start();
    let mut curl = Curl::spawn(&format!("http://{}/idle", server.addr));
    let deadline = Instant::now() + Duration::from_secs(15);

    let (status, headers) = curl.headers(deadline);
    assert_event_stream_headers(&status, &headers);

    // The body: `: hb` and a blank line, again and again.
    let mut beats: Vec<Instant> = Vec::new();
    let mut expect_blank = false;
    while beats.len() < WANTED {
        let Some(line) = curl.next_line(deadline) else {
            break;
        };
        if expect_blank {
            assert_eq!(
                line.text, "",
                "a heartbeat is one comment line and a blank line"
            );
            expect_blank = false;
        } else {
            assert_eq!(
                line.text, HEARTBEAT_LINE,
                "only heartbeats on an idle stream"
            );
            beats.push(line.at);
            expect_blank = true;
        }
    }
    let elapsed = curl.started.elapsed();
    curl.kill();

    assert_eq!(
        beats.len(),
        WANTED,
        "{WANTED} heartbeats within 15 s, at a {:.0} ms interval; got {}",
        ms(INTERVAL),
        beats.len()
    );
    // The count fits the time: WANTED beats take WANTED intervals of the
    // stream's life, give or take (curl's start-up is in `first`).
    let first = beats[0].duration_since(curl.started);
    let span = beats[WANTED - 1].duration_since(beats[0]);
    println!(
        "{WANTED} heartbeats: the first {:.0} ms after curl started, the last {:.0} ms after the first; {:.0} ms in all",
        ms(first),
        ms(span),
        ms(elapsed)
    );
    let intervals = u32::try_from(WANTED - 1).expect("small");
    assert!(
        span >= INTERVAL * intervals / 2 && span <= INTERVAL * intervals * 3,
        "{WANTED} heartbeats spanned {:.0} ms, not about {} intervals of {:.0} ms",
        ms(span),
        WANTED - 1,
        ms(INTERVAL)
    );
    assert!(
        first >= INTERVAL / 2,
        "the first heartbeat came {:.0} ms after curl started, before one interval of silence",
        ms(first)
    );
    let gaps: Vec<Duration> = beats
        .windows(2)
        .map(|w| w[1].duration_since(w[0]))
        .collect();
    assert_gaps("idle stream", &gaps);
}

#[test]
fn curl_sees_no_heartbeat_while_events_flow_and_heartbeats_after() {
    const BEATS_AFTER: usize = 4;
    let server = Server::start();
    let mut curl = Curl::spawn(&format!("http://{}/busy", server.addr));
    let deadline = Instant::now() + Duration::from_secs(20);

    let (status, headers) = curl.headers(deadline);
    assert_event_stream_headers(&status, &headers);

    // Lines in order: events (`id`, `data`, blank), then heartbeats.
    let mut events: Vec<(Instant, String)> = Vec::new();
    let mut beats_during: Vec<Instant> = Vec::new();
    let mut beats_after: Vec<Instant> = Vec::new();
    let mut blank_lines = 0usize;
    while beats_after.len() < BEATS_AFTER {
        let Some(line) = curl.next_line(deadline) else {
            break;
        };
        match line.text.as_str() {
            "" => blank_lines += 1,
            HEARTBEAT_LINE if events.len() < EVENTS as usize => beats_during.push(line.at),
            HEARTBEAT_LINE => beats_after.push(line.at),
            text if text.starts_with("id: ") => {}
            text if text.starts_with("data: ") => {
                events.push((line.at, text["data: ".len()..].to_owned()));
            }
            other => panic!("unexpected line {other:?}"),
        }
    }
    curl.kill();

    let data: Vec<&str> = events.iter().map(|(_, d)| d.as_str()).collect();
    let expected: Vec<String> = (1..=EVENTS).map(|n| format!("tick {n}")).collect();
    assert_eq!(data, expected, "every event, in order");
    assert!(
        beats_during.is_empty(),
        "{} heartbeat(s) while events were flowing every {:.0} ms (interval {:.0} ms), at {:?} ms after curl started",
        beats_during.len(),
        ms(EVENT_PERIOD),
        ms(INTERVAL),
        beats_during
            .iter()
            .map(|at| ms(at.duration_since(curl.started)).round())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        beats_after.len(),
        BEATS_AFTER,
        "heartbeats resume after the events stop"
    );
    assert_eq!(
        blank_lines,
        EVENTS as usize + BEATS_AFTER - 1,
        "one blank line ends each event and each heartbeat (the last one not read yet)"
    );

    // The events flowed about every EVENT_PERIOD.
    let event_gaps: Vec<f64> = events
        .windows(2)
        .map(|w| ms(w[1].0.duration_since(w[0].0)).round())
        .collect();
    println!("event gaps in ms: {event_gaps:?}");

    // The first heartbeat comes one interval after the last event, and the
    // next ones one interval apart.
    let last_event = events.last().expect("events").0;
    let mut gaps = vec![beats_after[0].duration_since(last_event)];
    gaps.extend(beats_after.windows(2).map(|w| w[1].duration_since(w[0])));
    assert_gaps(
        "after the events (the first gap from the last event)",
        &gaps,
    );
}
