//! `ssekit demo`: a server and a client in one process, on an ephemeral
//! 127.0.0.1 port, streaming an LLM-style answer token by token through a
//! dropped connection.
//!
//! The server is `ssekit serve`'s: its hub (ids, retained frames, resuming
//! after `Last-Event-ID`) and its connections ([`serve::connection`]); the
//! demo publishes to it instead of standard input, and keeps a handle on
//! every connection task so that it can cut them. The client is
//! `ssekit tail`'s `EventSource`, whose notices it prints the same way.
//!
//! The server streams `event: delta` events with `{"text":"..."}` data and
//! ids 1..=N, then an `event: done`. After about 40 % of them it aborts the
//! connection task: the TCP connection closes mid-stream, the client
//! reconnects with `Last-Event-ID`, and the hub replays what it missed.
//! The client checks that every id came exactly once, in order, and that
//! the text is the one sent; the summary line says so, and the exit
//! status is 1 if anything was lost, duplicated or out of order.

use core::time::Duration;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use ssekit_adapters::client::{Builder, Message};
use ssekit_codec::{EventRef, ReconnectConfig};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use crate::serve::{self, note, State};
use crate::tail;

/// What `ssekit demo` was asked to do.
#[derive(Debug)]
pub(crate) struct Options {
    /// How many token events to send; `None` for one per token of the
    /// canned answer.
    pub(crate) events: Option<usize>,
    /// The pause between two tokens.
    pub(crate) delay: Duration,
}

/// The canned answer the demo streams.
const ANSWER: &str = "Server-Sent Events are the simplest way to stream text from a server \
to a client over plain HTTP. The server answers one request with the content type \
text/event-stream and keeps the response open; every event is a few lines of text, such as \
an id, an event type and one or more data lines, ended by a blank line. That is all there is \
to the format, and it is why language models stream their answers this way: each token \
becomes an event the moment it is generated, and the browser shows it at once.\n\n\
The interesting part is what happens when the connection breaks. A client that remembers the \
id of the last event it saw sends it back in the Last-Event-ID header when it reconnects, \
after the reconnection time the server chose with its retry field. A server that keeps the \
recent events can then resume right after that one, so that nothing is missed and nothing \
arrives twice. This demo does exactly that: the server cut the connection a moment ago, in \
the middle of this answer, and the client came back and carried on where it stopped.\n\n\
ssekit decodes every byte split exactly to the specification, in bounded memory and without \
copying, and its reconnecting client takes its delays, its backoff and its limits from one \
policy that you can test without a network. Thank you for reading to the end!\n";

/// The reconnection time the server asks for.
const RETRY_MS: u64 = 250;

/// The most reconnection attempts in a row the demo's client makes.
const MAX_ATTEMPTS: u32 = 5;

/// The longest the demo may take beyond its pacing.
const SLACK: Duration = Duration::from_secs(20);

/// The canned answer cut into tokens: words with their leading space,
/// punctuation on its own, paragraph breaks.
fn tokens(count: Option<usize>) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    for c in ANSWER.chars() {
        let starts_new = c == ' ' || c == '\n' || matches!(c, '.' | ',' | ':' | ';' | '!');
        // A token ends before a space or punctuation, and after a run of
        // line breaks.
        let ends = if current.ends_with('\n') {
            c != '\n'
        } else {
            starts_new && !current.is_empty()
        };
        if ends {
            tokens.push(core::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    match count {
        None => tokens,
        Some(count) => tokens.iter().cycle().take(count).cloned().collect(),
    }
}

/// The JSON data of one token event.
fn token_data(token: &str) -> String {
    let mut data = String::from("{\"text\":");
    data.push_str(&serde_json::Value::from(token).to_string());
    data.push('}');
    data
}

/// Bytes per second as people read it.
fn rate(bytes: usize, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-6);
    #[allow(clippy::cast_precision_loss)]
    let per_sec = bytes as f64 / secs;
    if per_sec >= 1e6 {
        format!("{:.1} MB/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} kB/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} B/s")
    }
}

/// Runs `ssekit demo`.
pub(crate) fn run(options: &Options) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            note!("ssekit demo: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(demo(options));
    runtime.shutdown_timeout(Duration::from_millis(500));
    code
}

/// The connection tasks of the demo's server, to cut them.
type Connections = Arc<Mutex<Vec<AbortHandle>>>;

/// Aborts every connection task: their TCP connections close at once, in
/// the middle of the stream.
fn cut(connections: &Connections) -> usize {
    let mut list = connections.lock().unwrap_or_else(PoisonError::into_inner);
    let open = list.iter().filter(|task| !task.is_finished()).count();
    for task in list.drain(..) {
        task.abort();
    }
    open
}

/// What the client saw, per id.
struct Tally {
    /// How many times each id 1..=N arrived (index 0 is id 1).
    seen: Vec<u32>,
    /// Events whose id is not a number in 1..=N.
    unknown: usize,
    /// Events whose id did not follow the previous one.
    out_of_order: usize,
    previous: usize,
    received: usize,
    payload: usize,
    text: String,
}

impl Tally {
    fn record(&mut self, id: &str, data: &str) {
        self.received += 1;
        let Some(number) = id
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=self.seen.len()).contains(n))
        else {
            self.unknown += 1;
            return;
        };
        if number != self.previous + 1 {
            self.out_of_order += 1;
        }
        self.previous = number;
        if let Some(count) = self.seen.get_mut(number - 1) {
            *count += 1;
            if *count == 1 {
                self.payload += data.len();
            }
        }
    }

    fn lost(&self) -> usize {
        self.seen.iter().filter(|&&n| n == 0).count()
    }

    fn duplicated(&self) -> usize {
        self.seen
            .iter()
            .map(|&n| n.saturating_sub(1) as usize)
            .sum()
    }

    fn distinct(&self) -> usize {
        self.seen.iter().filter(|&&n| n > 0).count()
    }
}

/// The token of a `{"text":"..."}` data, if it is one.
fn token_of(data: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    value.get("text")?.as_str().map(str::to_owned)
}

async fn demo(options: &Options) -> ExitCode {
    let tokens = tokens(options.events);
    let total = tokens.len();
    let cut_after = (total * 2 / 5).max(1);

    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(err) => {
            note!("ssekit demo: cannot listen on 127.0.0.1: {err}");
            return ExitCode::from(1);
        }
    };
    let url = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}/v1/answer"),
        Err(err) => {
            note!("ssekit demo: cannot read the local address: {err}");
            return ExitCode::from(1);
        }
    };
    note!(
        "ssekit demo: serving {total} token events on {url}; the server cuts the connection after event {cut_after}"
    );

    // The server: serve's hub, retaining everything, and serve's
    // connections, each on a task the demo can abort.
    let state = Arc::new(State::new(total + 8, Duration::ZERO, None));
    let connections: Connections = Arc::default();
    let accept = {
        let state = Arc::clone(&state);
        let connections = Arc::clone(&connections);
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let task = tokio::spawn(serve::connection(&builder, socket, Arc::clone(&state)));
                connections
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(task.abort_handle());
            }
        })
    };

    // The producer: the answer, token by token, once the client is there.
    let connected = Arc::new(Notify::new());
    let producer = {
        let state = Arc::clone(&state);
        let connections = Arc::clone(&connections);
        let connected = Arc::clone(&connected);
        let tokens = tokens.clone();
        let delay = options.delay;
        tokio::spawn(async move {
            let _ = tokio::time::timeout(SLACK, connected.notified()).await;
            state.publish(None, Bytes::from(format!("retry: {RETRY_MS}\n\n")));
            for (index, token) in tokens.iter().enumerate() {
                let id = (index + 1).to_string();
                let data = token_data(token);
                let Ok(frame) = EventRef::new()
                    .id(&id)
                    .event_type("delta")
                    .data(&data)
                    .to_bytes()
                else {
                    continue;
                };
                state.publish(Some(id.into_boxed_str()), frame);
                if index + 1 == cut_after {
                    cut(&connections);
                }
                if delay.is_zero() {
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(delay).await;
                }
            }
            let done = format!("event: done\ndata: {{\"events\":{total}}}\n\n");
            state.publish(None, Bytes::from(done));
        })
    };

    // The client: tail's EventSource, with the server's retry time from
    // the start (the cut may come before the retry field) and a short
    // floor on the delay, so that it is honoured.
    let config = ReconnectConfig::default()
        .reconnection_time(Duration::from_millis(RETRY_MS))
        .min_delay(Duration::from_millis(50))
        .max_attempts(Some(MAX_ATTEMPTS));
    let source = Builder::new(url.clone()).reconnect(config).build();
    let mut source = match source {
        Ok(source) => source,
        Err(err) => {
            note!("ssekit demo: {err}");
            return ExitCode::from(1);
        }
    };
    let mut tally = Tally {
        seen: vec![0; total],
        unknown: 0,
        out_of_order: 0,
        previous: 0,
        received: 0,
        payload: 0,
        text: String::new(),
    };
    let mut out = io::stdout().lock();
    let mut line_open = false;
    let mut reconnects = 0usize;
    let mut last_id = String::new();
    let mut failed = None;
    let mut finished = false;
    let budget = SLACK
        + options
            .delay
            .saturating_mul(u32::try_from(total).unwrap_or(u32::MAX));
    let deadline = tokio::time::Instant::now() + budget;
    let start = Instant::now();
    let mut elapsed = Duration::ZERO;
    while !finished {
        let message = match tokio::time::timeout_at(deadline, source.next()).await {
            Ok(Some(message)) => message,
            Ok(None) => break,
            Err(_) => {
                failed = Some(format!("the demo did not finish within {budget:?}"));
                break;
            }
        };
        let mut notice = None;
        match message {
            Ok(Message::Event(event)) => {
                let data = event.data_lossy();
                if event.event_type() == b"done" {
                    elapsed = start.elapsed();
                    finished = true;
                    continue;
                }
                let id = event.id_lossy();
                last_id = id.clone().into_owned();
                tally.record(&id, &data);
                if let Some(token) = token_of(&data) {
                    let _ = out.write_all(token.as_bytes());
                    let _ = out.flush();
                    line_open = !token.ends_with('\n');
                    tally.text.push_str(&token);
                }
            }
            Ok(Message::Reconnecting {
                delay,
                attempt,
                reason,
            }) => {
                reconnects += 1;
                let message = Message::Reconnecting {
                    delay,
                    attempt,
                    reason,
                };
                notice = Some(tail::describe(&message, &url, &last_id, Some(MAX_ATTEMPTS)));
            }
            Ok(Message::Stopped) => break,
            Ok(message @ Message::Open { .. }) => {
                connected.notify_one();
                notice = Some(tail::describe(&message, &url, &last_id, Some(MAX_ATTEMPTS)));
            }
            Ok(_) => {}
            Err(err) if !err.is_terminal() => notice = Some(err.to_string()),
            Err(err) => {
                failed = Some(tail::failure(&err));
                break;
            }
        }
        if let Some(notice) = notice {
            if line_open {
                let _ = writeln!(out);
                let _ = out.flush();
                line_open = false;
            }
            note!("ssekit demo: {notice}");
        }
    }
    if elapsed.is_zero() {
        elapsed = start.elapsed();
    }
    drop(source);
    producer.abort();
    state.close();
    accept.abort();
    cut(&connections);
    if line_open {
        let _ = writeln!(out);
    }

    let expected: String = tokens.concat();
    let lost = tally.lost();
    let duplicated = tally.duplicated();
    let _ = writeln!(
        out,
        "demo: {total} events sent, {} received, {reconnects} reconnect{}, {lost} lost, \
         {duplicated} duplicated, {}",
        tally.distinct(),
        if reconnects == 1 { "" } else { "s" },
        rate(tally.payload, elapsed),
    );
    let _ = out.flush();
    let mut problems = Vec::new();
    if let Some(failed) = failed {
        problems.push(failed);
    }
    if tally.out_of_order > 0 {
        problems.push(format!("{} events out of order", tally.out_of_order));
    }
    if tally.unknown > 0 {
        problems.push(format!("{} events with an unexpected id", tally.unknown));
    }
    if lost == 0 && duplicated == 0 && tally.text != expected {
        problems.push("the text received is not the text sent".to_owned());
    }
    if lost > 0 || duplicated > 0 {
        problems.push(format!("{lost} events lost and {duplicated} duplicated"));
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        note!("ssekit demo: FAILED: {}", problems.join("; "));
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_rebuild_the_answer() {
        let all = tokens(None);
        assert_eq!(all.concat(), ANSWER);
        assert!((200..=400).contains(&all.len()), "{}", all.len());
        assert_eq!(tokens(Some(7)).len(), 7);
        assert_eq!(tokens(Some(all.len() + 3)).len(), all.len() + 3);
    }

    #[test]
    fn token_data_is_json() {
        let data = token_data(" \"quoted\"\n");
        assert_eq!(token_of(&data).as_deref(), Some(" \"quoted\"\n"));
    }

    #[test]
    fn tally_counts_losses_and_duplicates() {
        let mut tally = Tally {
            seen: vec![0; 4],
            unknown: 0,
            out_of_order: 0,
            previous: 0,
            received: 0,
            payload: 0,
            text: String::new(),
        };
        for id in ["1", "2", "2", "4", "x"] {
            tally.record(id, "d");
        }
        assert_eq!(
            (
                tally.lost(),
                tally.duplicated(),
                tally.unknown,
                tally.distinct()
            ),
            (1, 1, 1, 3)
        );
        assert_eq!(tally.out_of_order, 2);
    }
}
