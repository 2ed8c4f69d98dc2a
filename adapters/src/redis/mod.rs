//! Multi-node fan-out on Redis Streams (feature `redis`).
//!
//! Every node runs a [`RedisFanout`]: publishing appends to one Redis
//! stream per topic (`XADD`, trimmed to the replay window with
//! `MAXLEN ~`), each node reads each topic it serves with **one**
//! `XREAD BLOCK` loop (not one per client) and fans the entries out
//! through its in-process [`Hub`]. The SSE ID of an event is its stream
//! entry ID, so a `Last-Event-ID` means the same on every node: a client
//! can come back to any of them and resume exactly.
//!
//! # Example
//!
//! ```no_run
//! # #[allow(dead_code)]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use ssekit_adapters::codec::Event;
//! use ssekit_adapters::hub::HubConfig;
//! use ssekit_adapters::redis::{RedisConfig, RedisFanout};
//!
//! let node = RedisFanout::connect("redis://127.0.0.1:6379/", HubConfig::default(), RedisConfig::default()).await?;
//! // In a handler, with the request's Last-Event-ID:
//! let subscription = node.subscribe("news", Some("1733112233445-0")).await?;
//! let body = subscription.into_body(); // an http_body::Body for hyper or axum
//! // Anywhere, on any node:
//! let id = node.publish("news", &Event::new("hello")).await?;
//! # let _ = (body, id); Ok(()) }
//! ```
//!
//! # The client library
//!
//! [`redis`](https://docs.rs/redis) (redis-rs): the most used and
//! maintained Rust client, with tokio support, every Streams command, and
//! multiplexed connections; it is driven here through plain commands
//! (`XADD`, `XREAD`, `XRANGE`, `XREVRANGE`, `XINFO STREAM`), so any
//! Redis 5 or later, or a compatible server, works. Reconnection is ours:
//! a reader that loses its connection reconnects with backoff and resumes
//! after the last entry it delivered, so nothing is lost while Redis keeps
//! the entries, and clients stay connected meanwhile (their heartbeats go
//! on).
//!
//! # Replay
//!
//! A `Last-Event-ID` within the node's window is served from memory, with
//! no Redis round trip; an older one is replayed from the stream
//! (`XRANGE` in batches of 1,000) until the window takes over, with no gap
//! and no duplicate. One the stream no longer holds (trimmed away) is a
//! [`Resume::Gap`] with
//! [`GapReason::TooOld`].
//!
//! # What is not done yet
//!
//! - Topics stay once made (bounded by
//!   [`HubConfig::max_topics`](crate::hub::HubConfig::max_topics)), and each
//!   keeps its reader, and so one Redis connection, for the node's life.
//! - Only the first batch of a replay is shared between clients resuming
//!   after the same ID; the batches after it are read by each client.
//! - A client replaying from Redis is outside the slow-consumer sweep until
//!   it reaches the window (it holds at most one batch of 1,000 frames).
//!
//! # When Redis loses its data
//!
//! A Redis restarted without persistence comes back without the streams.
//! Entry IDs are times, so the new entries still sort after the old ones:
//! a client resuming with an old ID gets the new entries from that time
//! on, and what Redis lost is lost. Run Redis with append-only
//! persistence (`appendonly yes`) for a history that survives restarts.

mod coalesce;
mod entry;
mod reader;

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::boxed::Box;
use std::collections::{HashMap, HashSet};
use std::string::{String, ToString};
use std::sync::{Arc, Mutex};
use std::vec::Vec;

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use ssekit_codec::Event;
use tokio_util::sync::CancellationToken;

use crate::hub::history::{History, HistoryBatch, HistoryFuture};
use crate::hub::topic::{lock, Topic};
use crate::hub::{
    GapReason, Hub, HubConfig, Position, PublishError, Resume, StartAt, SubscribeError,
    Subscription,
};
use coalesce::Coalesce;
use entry::{entries, newest_id, DATA_FIELD, TYPE_FIELD};
use reader::Reader;

/// The Redis side's configuration.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisConfig {
    /// The prefix of every stream key: topic `news` is stream
    /// `ssekit:news` by default.
    pub key_prefix: String,
    /// How many entries each stream keeps (`XADD ... MAXLEN ~`): the
    /// replay window every node can serve. Default 100,000.
    pub stream_max_len: usize,
    /// How long one `XREAD` blocks. Default 5 s.
    pub block: Duration,
    /// How many entries one `XREAD` returns at most. Default 1,000.
    pub read_count: usize,
    /// The first reconnection delay of a reader; it doubles up to
    /// `reconnect_max`. Default 100 ms.
    pub reconnect_min: Duration,
    /// The longest reconnection delay. Default 5 s.
    pub reconnect_max: Duration,
    /// How long a connection attempt may take. Default 2 s.
    pub connect_timeout: Duration,
    /// How long a command (other than the blocking read) may take.
    /// Default 5 s.
    pub response_timeout: Duration,
}

impl Default for RedisConfig {
    fn default() -> RedisConfig {
        RedisConfig {
            key_prefix: String::from("ssekit:"),
            stream_max_len: 100_000,
            block: Duration::from_secs(5),
            read_count: 1_000,
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(5),
        }
    }
}

/// What went wrong talking to Redis, or a limit of the hub.
#[derive(Debug)]
#[non_exhaustive]
pub enum FanoutError {
    /// A command failed or Redis could not be reached; the text says why.
    /// Retry later: readers reconnect by themselves.
    Redis(String),
    /// A subscriber limit: answer with [`SubscribeError::response`].
    Subscribe(SubscribeError),
    /// The event was refused before it reached Redis.
    Publish(PublishError),
}

impl fmt::Display for FanoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FanoutError::Redis(why) => write!(f, "redis: {why}"),
            FanoutError::Subscribe(err) => err.fmt(f),
            FanoutError::Publish(err) => err.fmt(f),
        }
    }
}

impl core::error::Error for FanoutError {}

impl From<SubscribeError> for FanoutError {
    fn from(err: SubscribeError) -> FanoutError {
        FanoutError::Subscribe(err)
    }
}

fn redis_error(err: redis::RedisError) -> FanoutError {
    FanoutError::Redis(err.to_string())
}

fn parse_error(err: impl fmt::Display) -> FanoutError {
    FanoutError::Redis(std::format!("unexpected reply: {err}"))
}

/// The Redis side's counters, from [`RedisFanout::redis_stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisStats {
    /// Connections the readers made (the first ones included).
    pub reader_connects: u64,
    /// Reader failures, each followed by a reconnection.
    pub reader_errors: u64,
    /// Entries that could not become events (no `data` field, a line break
    /// in `event`), skipped.
    pub malformed: u64,
    /// `XRANGE` reads for replays.
    pub history_reads: u64,
    /// Publishes that failed.
    pub publish_errors: u64,
}

#[derive(Debug, Default)]
pub(crate) struct RedisCounters {
    pub(crate) reader_connects: AtomicU64,
    pub(crate) reader_errors: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) history_reads: AtomicU64,
    pub(crate) publish_errors: AtomicU64,
}

/// A lazily made connection for commands that do not block, made again
/// after a failure.
struct Commands {
    client: redis::Client,
    config: RedisConfig,
    connection: Mutex<Option<MultiplexedConnection>>,
}

impl Commands {
    async fn connection(&self) -> Result<MultiplexedConnection, FanoutError> {
        if let Some(conn) = lock(&self.connection).clone() {
            return Ok(conn);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.config.connect_timeout))
            .set_response_timeout(Some(self.config.response_timeout));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(redis_error)?;
        *lock(&self.connection) = Some(conn.clone());
        Ok(conn)
    }

    /// Runs `cmd`, dropping the connection if it failed.
    async fn query(&self, cmd: &redis::Cmd) -> Result<redis::Value, FanoutError> {
        let mut conn = self.connection().await?;
        match cmd.query_async(&mut conn).await {
            Ok(value) => Ok(value),
            Err(err) => {
                *lock(&self.connection) = None;
                Err(redis_error(err))
            }
        }
    }

    async fn pipeline(&self, pipe: &redis::Pipeline) -> Result<Vec<redis::Value>, FanoutError> {
        let mut conn = self.connection().await?;
        match pipe.query_async(&mut conn).await {
            Ok(values) => Ok(values),
            Err(err) => {
                *lock(&self.connection) = None;
                Err(redis_error(err))
            }
        }
    }

    fn key(&self, topic: &str) -> String {
        let mut key = String::with_capacity(self.config.key_prefix.len() + topic.len());
        key.push_str(&self.config.key_prefix);
        key.push_str(topic);
        key
    }
}

/// The history of a hub fed from Redis: `XRANGE` after a position.
struct StreamHistory {
    commands: Arc<Commands>,
    counters: Arc<RedisCounters>,
}

impl History for StreamHistory {
    fn after(&self, topic: &str, after: Position, _limit: usize) -> HistoryFuture {
        let commands = Arc::clone(&self.commands);
        let counters = Arc::clone(&self.counters);
        let key = commands.key(topic);
        Box::pin(async move {
            let (entries, info) = range_and_info(&commands, &counters, &key, after).await?;
            Ok(HistoryBatch {
                entries,
                gap: info.trimmed_after(after),
            })
        })
    }
}

/// What a resume outside the window learns in its first round trip.
#[derive(Clone)]
struct FirstRead {
    /// Entries right after the ID may be gone from the stream.
    trimmed: bool,
    /// The ID is past every entry the stream ever had: not one of its IDs.
    ahead: bool,
    entries: Vec<(Position, bytes::Bytes)>,
}

/// What `XINFO STREAM` says about a stream's history.
#[derive(Clone, Copy, Debug, Default)]
struct StreamInfo {
    /// Entries were removed (`entries-added` above `length`; Redis 7), or
    /// that cannot be told (Redis 5 and 6): then assumed.
    removed: bool,
    /// The oldest entry left, if any.
    first: Option<Position>,
    /// The newest ID the stream ever gave (`0-0` for no stream).
    last_generated: Position,
}

impl StreamInfo {
    /// Whether entries right after `after` may be gone: some were removed,
    /// and `after` is older than the first one left. (When `after` is
    /// exactly the newest entry removed nothing is missing, but this
    /// cannot be told: it is reported as a gap, never the other way round.)
    fn trimmed_after(&self, after: Position) -> bool {
        self.removed
            && match self.first {
                Some(first) => after < first,
                None => after < self.last_generated,
            }
    }

    /// Reads an `XINFO STREAM` reply; an error reply (no such key) is a
    /// stream with no history.
    fn parse(reply: &redis::Value) -> Result<StreamInfo, String> {
        if let redis::Value::ServerError(_) = reply {
            return Ok(StreamInfo::default());
        }
        let info: HashMap<String, redis::Value> = redis::from_redis_value_ref(reply)
            .map_err(|e| std::format!("unexpected XINFO reply: {e}"))?;
        let number = |name: &str| -> Option<u64> {
            info.get(name)
                .and_then(|v| redis::from_redis_value_ref::<u64>(v).ok())
        };
        let id = |v: &redis::Value| {
            redis::from_redis_value_ref::<String>(v)
                .ok()
                .and_then(|id| Position::parse(&id))
        };
        let removed = match (number("entries-added"), number("length")) {
            (Some(added), Some(length)) => added > length,
            _ => true,
        };
        let first = info.get("first-entry").and_then(|v| match v {
            redis::Value::Array(pair) => pair.first().and_then(id),
            _ => None,
        });
        let last_generated = info
            .get("last-generated-id")
            .and_then(id)
            .unwrap_or_default();
        Ok(StreamInfo {
            removed,
            first,
            last_generated,
        })
    }
}

/// `XRANGE key (after + COUNT n` then `XINFO STREAM key`, one round trip,
/// counted in `history_reads`. An entry that cannot become an event
/// (counted in `malformed`) comes with an empty frame: it still moves a
/// replay on, and a subscription writes no empty frame.
async fn range_and_info(
    commands: &Commands,
    counters: &RedisCounters,
    key: &str,
    after: Position,
) -> Result<(Vec<(Position, bytes::Bytes)>, StreamInfo), String> {
    counters.history_reads.fetch_add(1, Ordering::Relaxed);
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    pipe.cmd("XRANGE")
        .arg(key)
        .arg(std::format!("({after}"))
        .arg("+")
        .arg("COUNT")
        .arg(crate::hub::HISTORY_BATCH);
    pipe.cmd("XINFO").arg("STREAM").arg(key);
    let replies = commands.pipeline(&pipe).await.map_err(|e| e.to_string())?;
    let (Some(range), Some(info)) = (replies.first(), replies.get(1)) else {
        return Err("the pipeline answered too little".into());
    };
    if let redis::Value::ServerError(err) = range {
        return Err(std::format!("XRANGE failed: {err:?}"));
    }
    let read = entries(range)?
        .into_iter()
        .map(|(position, frame)| {
            if frame.is_err() {
                counters.malformed.fetch_add(1, Ordering::Relaxed);
            }
            (position, frame.unwrap_or_default())
        })
        .collect();
    Ok((read, StreamInfo::parse(info)?))
}

/// A node of a multi-node fan-out on Redis Streams. Cheap to clone.
///
/// See the [module documentation](self).
#[derive(Clone)]
pub struct RedisFanout {
    inner: Arc<Inner>,
}

struct Inner {
    hub: Hub,
    commands: Arc<Commands>,
    counters: Arc<RedisCounters>,
    readers: Mutex<HashSet<String>>,
    first_reads: Coalesce<(String, Position), Result<FirstRead, String>>,
    stop: CancellationToken,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl RedisFanout {
    /// A node on the Redis at `url` (`redis://host:port/db`), checked with
    /// a `PING`.
    ///
    /// # Errors
    ///
    /// [`FanoutError::Redis`] when the URL is invalid or Redis does not
    /// answer.
    pub async fn connect(
        url: &str,
        hub: HubConfig,
        config: RedisConfig,
    ) -> Result<RedisFanout, FanoutError> {
        let client = redis::Client::open(url).map_err(redis_error)?;
        let commands = Arc::new(Commands {
            client,
            config,
            connection: Mutex::new(None),
        });
        commands.query(&redis::cmd("PING")).await?;
        let counters = Arc::new(RedisCounters::default());
        let history = StreamHistory {
            commands: Arc::clone(&commands),
            counters: Arc::clone(&counters),
        };
        Ok(RedisFanout {
            inner: Arc::new(Inner {
                hub: Hub::build(hub, Some(Arc::new(history))),
                commands,
                counters,
                readers: Mutex::new(HashSet::new()),
                first_reads: Coalesce::new(Duration::from_secs(1)),
                stop: CancellationToken::new(),
            }),
        })
    }

    /// The node's hub, for its [`stats`](Hub::stats).
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The Redis side's counters.
    pub fn redis_stats(&self) -> RedisStats {
        let c = &self.inner.counters;
        RedisStats {
            reader_connects: c.reader_connects.load(Ordering::Relaxed),
            reader_errors: c.reader_errors.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            history_reads: c.history_reads.load(Ordering::Relaxed),
            publish_errors: c.publish_errors.load(Ordering::Relaxed),
        }
    }

    /// Appends `event` to the topic's stream. Its ID is the entry ID Redis
    /// gives (an ID the event carries is not used), returned here; every
    /// node's subscribers get it from their node's reader.
    ///
    /// # Errors
    ///
    /// [`FanoutError::Publish`] for an event over
    /// [`HubConfig::max_event_size`]; [`FanoutError::Redis`] when the
    /// `XADD` failed (the event may or may not have been appended).
    pub async fn publish(&self, topic: &str, event: &Event) -> Result<Position, FanoutError> {
        let ids = self
            .publish_all(topic, core::slice::from_ref(event))
            .await?;
        ids.into_iter()
            .next()
            .ok_or_else(|| FanoutError::Redis("XADD answered nothing".into()))
    }

    /// Appends `events` in one pipeline of `XADD`s: one round trip.
    ///
    /// # Errors
    ///
    /// As [`publish`](RedisFanout::publish).
    pub async fn publish_all(
        &self,
        topic: &str,
        events: &[Event],
    ) -> Result<Vec<Position>, FanoutError> {
        let commands = &self.inner.commands;
        let max = self.inner.hub.config().max_event_size;
        let key = commands.key(topic);
        let mut pipe = redis::pipe();
        for event in events {
            if event.encoded_len() > max {
                return Err(FanoutError::Publish(PublishError::TooLarge {
                    size: event.encoded_len(),
                    max,
                }));
            }
            let cmd = pipe
                .cmd("XADD")
                .arg(&key)
                .arg("MAXLEN")
                .arg("~")
                .arg(commands.config.stream_max_len)
                .arg("*");
            if !event.event_type().is_empty() && event.event_type() != b"message" {
                cmd.arg(TYPE_FIELD).arg(event.event_type().as_ref());
            }
            cmd.arg(DATA_FIELD).arg(event.data().as_ref());
        }
        let replies = commands.pipeline(&pipe).await.inspect_err(|_| {
            self.inner
                .counters
                .publish_errors
                .fetch_add(1, Ordering::Relaxed);
        })?;
        replies
            .iter()
            .map(|reply| {
                let id: String = redis::from_redis_value_ref(reply).map_err(parse_error)?;
                Position::parse(&id).ok_or_else(|| {
                    FanoutError::Redis(std::format!("XADD gave {id:?}, not an entry ID"))
                })
            })
            .collect()
    }

    /// Subscribes to `topic` on this node, resuming after `last_event_id`:
    /// from the node's window when it covers that ID, from the stream
    /// otherwise. The first subscriber of a topic starts the node's reader
    /// for it.
    ///
    /// # Errors
    ///
    /// [`FanoutError::Subscribe`] past a subscriber limit (answer `503`);
    /// [`FanoutError::Redis`] when Redis could not be asked where the
    /// stream stands.
    pub async fn subscribe(
        &self,
        topic: &str,
        last_event_id: Option<&str>,
    ) -> Result<Subscription, FanoutError> {
        let handle = self.topic(topic).await?;
        let hub = &self.inner.hub;
        let Some(id) = last_event_id else {
            let admitted = hub.admit(topic, Position::default())?;
            return Ok(hub.subscribe_after(admitted, None, None, Vec::new()));
        };
        let Some(after) = Position::parse(id) else {
            let admitted = hub.admit(topic, Position::default())?;
            let gap = Some(Resume::Gap(GapReason::Unknown));
            return Ok(hub.subscribe_after(admitted, None, gap, Vec::new()));
        };
        let (base, last) = {
            let state = lock(&handle.state);
            (state.ring.base(), state.ring.last_key())
        };
        if after >= base && after <= last {
            let admitted = hub.admit(topic, Position::default())?;
            return Ok(hub.subscribe_after(admitted, Some(after), None, Vec::new()));
        }
        // Older than the window, or newer than what this node has read: one
        // round trip (shared by every client resuming after the same ID)
        // reads the first batch after it and asks whether the stream is
        // still complete after it and has it at all. The place is only
        // taken after the wait, so a client that leaves during it holds
        // none.
        let key = self.inner.commands.key(topic);
        let first = self
            .inner
            .first_reads
            .run((key.clone(), after), Result::is_ok, || {
                self.first_read(key, after)
            })
            .await
            .map_err(FanoutError::Redis)?;
        let admitted = hub.admit(topic, Position::default())?;
        let gap = |reason, start: StartAt| {
            let at = match start {
                StartAt::Oldest => Some(Position::default()),
                _ => None,
            };
            (at, Some(Resume::Gap(reason)))
        };
        let (at, resume, frames) = if first.ahead {
            let (at, resume) = gap(GapReason::Unknown, StartAt::Live);
            (at, resume, Vec::new())
        } else if first.trimmed {
            let (at, resume) = gap(GapReason::TooOld, hub.config().start_after_gap);
            (at, resume, Vec::new())
        } else {
            let through = first
                .entries
                .last()
                .map_or(after, |(position, _)| *position);
            let frames = first
                .entries
                .into_iter()
                .map(|(_, frame)| frame)
                .filter(|f| !f.is_empty())
                .collect();
            (Some(through), Some(Resume::Exact), frames)
        };
        Ok(hub.subscribe_after(admitted, at, resume, frames))
    }

    /// The first `XRANGE` after `after` and `XINFO STREAM`, pipelined in
    /// that order (trimming between the two can only make the answer say
    /// "gap" where there was none, never the other way round).
    async fn first_read(&self, key: String, after: Position) -> Result<FirstRead, String> {
        let (entries, info) =
            range_and_info(&self.inner.commands, &self.inner.counters, &key, after).await?;
        Ok(FirstRead {
            trimmed: info.trimmed_after(after),
            ahead: after > info.last_generated,
            entries,
        })
    }

    /// The topic, made with its window starting at the stream's newest
    /// entry, and its reader started, on first use.
    async fn topic(&self, topic: &str) -> Result<Arc<Topic>, FanoutError> {
        if lock(&self.inner.readers).contains(topic) {
            if let Some(handle) = self.inner.hub.topic(topic, Position::default()) {
                return Ok(handle);
            }
        }
        let commands = &self.inner.commands;
        let key = commands.key(topic);
        let reply = commands
            .query(
                redis::cmd("XREVRANGE")
                    .arg(&key)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1),
            )
            .await?;
        let base = newest_id(&reply)
            .map_err(FanoutError::Redis)?
            .unwrap_or_default();
        let max = self.inner.hub.config().max_topics;
        let handle = self.inner.hub.topic(topic, base).ok_or_else(|| {
            FanoutError::Subscribe(SubscribeError::new(
                max,
                self.inner.hub.config().limit_retry_after,
            ))
        })?;
        let mut readers = lock(&self.inner.readers);
        if !readers.contains(topic) {
            // A topic made through `hub()` before any reader: its window
            // starts at the stream's newest entry, not at 0-0 (which would
            // read the whole stream as live).
            lock(&handle.state).ring.raise_base(base);
            readers.insert(topic.to_string());
            let reader = Reader {
                client: commands.client.clone(),
                config: commands.config.clone(),
                topic: Arc::clone(&handle),
                key,
                counters: Arc::clone(&self.inner.counters),
                stop: self.inner.stop.child_token(),
            };
            tokio::spawn(reader.run());
        }
        Ok(handle)
    }

    /// Stops every reader of this node (also done when the last clone is
    /// dropped). Open subscriptions stay open, and get nothing new.
    pub fn stop(&self) {
        self.inner.stop.cancel();
    }
}

impl fmt::Debug for RedisFanout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisFanout")
            .field("hub", &self.inner.hub)
            .field("config", &self.inner.commands.config)
            .field("stats", &self.redis_stats())
            .finish_non_exhaustive()
    }
}
