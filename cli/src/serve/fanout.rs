//! `ssekit serve --redis URL --topic NAME`: one node of a fan-out on Redis
//! Streams ([`ssekit_adapters::redis`]).
//!
//! # Publishing
//!
//! Each event line of the input becomes an entry of the Redis stream
//! `ssekit:NAME` (`XADD ... MAXLEN ~`, fields `event` and `data`); the lines
//! already read when the previous publish returns go together, in one
//! pipeline of up to 1,000 `XADD`s. The SSE id of an event is its entry
//! id, so an input line's `id` is ignored, and a line with only a comment
//! or a retry time publishes nothing: a notice on standard error says so,
//! the first time. An event over 1 MiB encoded is an invalid line.
//!
//! When Redis cannot be reached, publishing waits and tries again (from
//! 100 ms, doubling up to 5 s) with a notice, and the input waits with it;
//! the events of a batch whose answer was lost (Redis stopped after
//! appending them) may then be appended twice.
//!
//! # Serving
//!
//! Every node reads the topic's stream once, whatever its number of
//! clients, and keeps the last `--replay` events in memory. A `GET` is a
//! subscription to the topic:
//!
//! - without `Last-Event-ID`, the events published from then on;
//! - with the id of an entry, every event after it, once each, in order:
//!   from memory, or from the stream (`XRANGE`) when it is older, on any
//!   node;
//! - with an id that cannot be resumed (not an entry id, or trimmed from
//!   the stream), what is still retained, and a notice;
//! - `503` with `Retry-After` past `--max-connections`, or when Redis
//!   cannot be reached to start the stream.
//!
//! A client that falls more than 1 MiB or 30 s of events behind is ended
//! with a `retry:` hint, or, when it stopped reading altogether, its
//! connection is closed: it resumes with `Last-Event-ID`. The stream keeps
//! at least `--replay` entries, and at least [`STREAM_MIN`].

use core::pin::Pin;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::{Context, Poll};
use core::time::Duration;
use std::io::BufRead;

use bytes::Bytes;
use futures_core::Stream;
use http::Response;
use ssekit_adapters::http::SseBody;
use ssekit_adapters::hub::{HubConfig, Resume, Subscription};
use ssekit_adapters::redis::{FanoutError, RedisConfig, RedisFanout};
use ssekit_codec::Event;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{each_line, note, plain, unavailable, Body, InputEnd, Options, Parts, Streams};
use crate::encode;

/// The fewest entries the Redis stream keeps, whatever `--replay`: room
/// for a node's reader behind a burst, and for clients resuming after a
/// longer absence than the nodes' memory covers.
pub(crate) const STREAM_MIN: usize = 1_000;

/// How many events the input may be read ahead of publishing.
pub(super) const QUEUE: usize = 1_024;

/// The most events in one pipeline of `XADD`s.
const BATCH: usize = 1_000;

/// The first and the longest wait before publishing again after a failure.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// How often the node looks for stalled clients when nothing is published.
const EXPIRE_EVERY: Duration = Duration::from_secs(1);

/// What the input thread hands to the publisher.
pub(super) enum Line {
    /// An event to publish.
    Event(Event),
    /// The input ended so: everything before was handed over.
    End(InputEnd),
}

/// One node: its fan-out, and what its streams get.
pub(crate) struct Node {
    fanout: RedisFanout,
    url: String,
    topic: String,
    pub(super) streams: Streams,
    /// How many events this node published.
    published: AtomicU64,
}

impl Node {
    /// Connects to the Redis at `url` for `options`, or says why it cannot.
    pub(super) async fn connect(url: &str, options: &Options) -> Result<Node, String> {
        let mut hub = HubConfig::default();
        hub.replay_events = options.replay;
        if let Some(max) = options.max_connections {
            hub.max_subscribers = max;
        }
        let mut redis = RedisConfig::default();
        redis.stream_max_len = options.replay.max(STREAM_MIN);
        let key = format!("{}{}", redis.key_prefix, options.topic);
        let fanout = RedisFanout::connect(url, hub, redis).await.map_err(|err| {
            format!(
                "ssekit serve: cannot reach Redis at {url}: {}; start one with \
                     `redis-server --port 6379` or pass --redis URL (redis://HOST:PORT/)",
                why(&err)
            )
        })?;
        note!(
            "ssekit serve: topic {:?} on Redis at {url} (stream {key:?})",
            options.topic
        );
        // Stalled clients are found as events are published; this finds
        // them when the topic goes quiet too.
        let hub = fanout.hub().clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(EXPIRE_EVERY);
            loop {
                ticks.tick().await;
                hub.expire();
            }
        });
        Ok(Node {
            fanout,
            url: url.to_owned(),
            topic: options.topic.clone(),
            streams: Streams::new(options.heartbeat),
            published: AtomicU64::new(0),
        })
    }

    /// The largest event accepted, encoded.
    pub(super) fn max_event_size(&self) -> usize {
        self.fanout.hub().config().max_event_size
    }

    /// The answer to a `GET` resuming after `last_id`: the topic's stream,
    /// or `503`. `stalled` is cancelled if the client stops reading.
    pub(super) async fn respond(
        &self,
        last_id: Option<&str>,
        stalled: &CancellationToken,
    ) -> Response<Body> {
        let subscription = match self.fanout.subscribe(&self.topic, last_id).await {
            Ok(subscription) => subscription,
            Err(FanoutError::Subscribe(refused)) => {
                return refused.response(plain(format!("{refused}\n")))
            }
            Err(err) => {
                let message = format!(
                    "ssekit serve: cannot reach Redis at {} to start the stream: {}; retry later",
                    self.url,
                    why(&err)
                );
                note!("{message}");
                return unavailable(&format!("{message}\n"));
            }
        };
        if let (Some(id), Resume::Gap(reason)) = (last_id, subscription.resume()) {
            note!(
                "ssekit serve: a client resumes after id {id:?}, which cannot be resumed \
                 ({reason}); it gets what is still retained"
            );
        }
        let done = CancellationToken::new();
        let token = subscription.disconnect_token();
        let watch = done.clone();
        let stalled = stalled.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = token.cancelled() => stalled.cancel(),
                () = watch.cancelled() => {}
            }
        });
        self.streams.respond(SseBody::new(Watched {
            subscription,
            _done: done.drop_guard(),
        }))
    }

    /// Publishes what `lines` brings, in batches, until its end; returns
    /// that end.
    pub(super) async fn publish(&self, mut lines: mpsc::Receiver<Line>) -> InputEnd {
        let mut batch = Vec::new();
        loop {
            let mut end = match lines.recv().await {
                Some(Line::Event(event)) => {
                    batch.push(event);
                    None
                }
                Some(Line::End(end)) => Some(end),
                None => Some(InputEnd::Eof),
            };
            while end.is_none() && batch.len() < BATCH {
                match lines.try_recv() {
                    Ok(Line::Event(event)) => batch.push(event),
                    Ok(Line::End(input_end)) => end = Some(input_end),
                    Err(_) => break,
                }
            }
            if !batch.is_empty() {
                if let Err(why) = self.publish_batch(&batch).await {
                    return InputEnd::Unpublished(why);
                }
                batch.clear();
            }
            if let Some(end) = end {
                return end;
            }
        }
    }

    /// Appends `events` to the stream, trying again while Redis cannot be
    /// reached.
    async fn publish_batch(&self, events: &[Event]) -> Result<(), String> {
        let mut delay = RETRY_MIN;
        let mut failing = false;
        loop {
            match self.fanout.publish_all(&self.topic, events).await {
                Ok(ids) => {
                    self.published
                        .fetch_add(ids.len() as u64, Ordering::Relaxed);
                    if failing {
                        note!("ssekit serve: publishing to Redis at {} again", self.url);
                    }
                    return Ok(());
                }
                Err(FanoutError::Redis(why)) => {
                    if !failing {
                        note!(
                            "ssekit serve: cannot publish to Redis at {}: {why}; trying again \
                             until it answers ({} events waiting)",
                            self.url,
                            events.len()
                        );
                        failing = true;
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RETRY_MAX);
                }
                Err(err) => return Err(format!("cannot publish to Redis at {}: {err}", self.url)),
            }
        }
    }

    /// What was published, for the notice at the end of the input, and
    /// what is still served after it.
    pub(super) fn input_summary(&self) -> (String, String) {
        let published = self.published.load(Ordering::Relaxed);
        (
            format!("{published} events published to Redis"),
            format!("topic {:?}", self.topic),
        )
    }
}

/// Why a fan-out call failed, without the `redis:` prefix.
fn why(err: &FanoutError) -> String {
    match err {
        FanoutError::Redis(why) => why.clone(),
        other => other.to_string(),
    }
}

/// Reads the events of `input` into `queue`, then how it ended. Ids,
/// comments and retry times are left out, with a notice the first time.
pub(super) fn read_input(input: impl BufRead, max_size: usize, queue: &mpsc::Sender<Line>) {
    let mut told_id = false;
    let mut told_other = false;
    let end = each_line(input, |number, parts| {
        if parts.id.is_some() && !told_id {
            told_id = true;
            note!(
                "ssekit serve: line {number}: with --redis the ids are the Redis stream entry ids; \
                 the input's \"id\" is ignored (this is said once)"
            );
        }
        if (parts.comment.is_some() || parts.retry.is_some()) && !told_other {
            told_other = true;
            note!(
                "ssekit serve: line {number}: comments and retry times are not published to \
                 Redis, only events; left out (this is said once)"
            );
        }
        if !parts.is_event() {
            return Ok(());
        }
        let event =
            event_of(parts, max_size).map_err(|reason| InputEnd::BadLine { number, reason })?;
        // The publisher is gone only when the server stops.
        queue
            .blocking_send(Line::Event(event))
            .map_err(|_| InputEnd::Eof)
    });
    let _ = queue.blocking_send(Line::End(end));
}

/// The event an input line stands for (its type and data), or why it
/// cannot be one.
fn event_of(parts: Parts, max_size: usize) -> Result<Event, String> {
    let event = Event::builder()
        .event_type(parts.event_type.unwrap_or_default())
        .data(parts.data.unwrap_or_default())
        .build()
        .map_err(encode::describe)?;
    let size = event.encoded_len();
    if size > max_size {
        return Err(format!(
            "the event is {size} bytes encoded, over the limit of {max_size} with --redis"
        ));
    }
    Ok(event)
}

/// A subscription that tells, by being dropped, that its stream is over.
struct Watched {
    subscription: Subscription,
    _done: DropGuard,
}

impl Stream for Watched {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        Pin::new(&mut self.get_mut().subscription).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(line: &str) -> Parts {
        encode::parse(line.as_bytes()).unwrap()
    }

    #[test]
    fn events_keep_their_type_and_data_and_lose_their_id() {
        let event = event_of(parts(r#"{"type":"t","data":"a\nb","id":"9"}"#), 1 << 20).unwrap();
        assert_eq!(event.event_type(), b"t");
        assert_eq!(event.data(), "a\nb");
        assert!(event.id().is_empty());
        assert_eq!(
            event_of(parts(r#"{"id":"9"}"#), 1 << 20).unwrap().data(),
            ""
        );
    }

    #[test]
    fn bad_types_and_large_events_are_refused() {
        let err = event_of(parts(r#"{"type":"a\nb"}"#), 1 << 20).unwrap_err();
        assert!(err.starts_with("\"type\""), "{err}");
        let err = event_of(parts(r#"{"data":"0123456789"}"#), 10).unwrap_err();
        assert!(err.contains("over the limit of 10"), "{err}");
    }

    #[test]
    fn the_input_gives_events_then_its_end() {
        let (tx, mut rx) = mpsc::channel(16);
        let input = "{\"data\":\"a\"}\n{\"comment\":\"c\"}\n\n{}\n{\"retry\":5}\n{\"data\":\"b\"}\n{\"data\":\n";
        read_input(input.as_bytes(), 1 << 20, &tx);
        let mut got = Vec::new();
        while let Ok(line) = rx.try_recv() {
            got.push(line);
        }
        assert_eq!(got.len(), 3, "two events and the end");
        match (&got[0], &got[1], &got[2]) {
            (Line::Event(a), Line::Event(b), Line::End(InputEnd::BadLine { number, .. })) => {
                assert_eq!((a.data(), b.data(), *number), ("a".into(), "b".into(), 7));
            }
            _ => panic!("unexpected lines"),
        }
    }
}
