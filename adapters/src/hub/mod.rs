//! Fan-out: an in-process hub of topics that encodes each event once,
//! numbers it, retains a replay window, and resumes every subscriber
//! exactly after its `Last-Event-ID` (feature `hub`).
//!
//! # Example
//!
//! An axum-style handler is a few lines: subscribe with the request's
//! `Last-Event-ID`, answer `503` past the limits, stream the subscription.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use http_body_util::BodyExt;
//! use ssekit_adapters::codec::Event;
//! use ssekit_adapters::http::LastEventId;
//! use ssekit_adapters::hub::{Hub, Resume};
//!
//! let hub = Hub::default();
//! let first = hub.publish("news", &Event::new("one"))?;
//! hub.publish("news", &Event::builder().event_type("update").data("two").build()?)?;
//!
//! // A client that saw the first event comes back.
//! let request = http::Request::builder()
//!     .header("last-event-id", first.to_string())
//!     .body(())?;
//! let last_id = LastEventId::from_headers(request.headers())?;
//! let subscription = hub.subscribe("news", last_id.as_deref())?;
//! assert_eq!(subscription.resume(), Resume::Exact);
//!
//! let mut body = subscription.into_body();
//! let frame = body.frame().await.unwrap()?.into_data().unwrap();
//! let epoch = first.major;
//! assert_eq!(frame, format!("id: {epoch}-1\nevent: update\ndata: two\n\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # How it works
//!
//! - **Encode once.** [`Hub::publish`] encodes the event into one
//!   [`Bytes`] frame (one allocation), and every subscriber is handed a
//!   reference to that same frame: there is no copy per subscriber.
//! - **One window per topic.** A topic keeps its recent frames in one ring
//!   that is both the replay buffer and the live queue, and a subscriber is
//!   only a position in it. Publishing costs the same whatever the number
//!   of subscribers, plus one wake-up for each one waiting; a subscriber
//!   takes up to 32 frames per lock.
//! - **IDs** are `<epoch>-<sequence>` when the publisher gives none. The
//!   epoch is drawn at random when the topic is made, so after a restart
//!   (the history is gone) an old ID is recognised as
//!   [`GapReason::OtherEpoch`] instead of being matched against a new
//!   count. An ID the publisher gives is kept as it is, and found in the
//!   window by comparison.
//! - **Replay without gap or duplicate.** A `Last-Event-ID` is looked up in
//!   the window under the same lock that publishing takes, and the
//!   subscriber starts right after it: replay and live are one sequence, so
//!   there is no hand-over at which an event could be missed or sent twice.
//!   An ID that cannot be resumed is a [`Resume::Gap`] the application
//!   sees, counted in the stats, optionally told to the client with
//!   [`HubConfig::gap_frame`].
//! - **Slow consumers** are bounded in bytes and in time
//!   ([`HubConfig::max_backlog_bytes`], [`HubConfig::max_backlog_age`]),
//!   counted from when they subscribed, and [`SlowPolicy`] decides. A slow
//!   subscriber holds no memory of its own and never slows the publisher.
//!   One that stopped reading altogether is found by a sweep at most every
//!   [`HubConfig::sweep_interval`] of publishing, and its
//!   [`Subscription::disconnect_token`] is cancelled.
//! - **Limits**: subscribers per hub and per topic ([`SubscribeError`],
//!   answered `503`), topics, and the size of a published event.

mod config;
mod error;
pub(crate) mod history;
mod id;
mod ring;
mod stats;
mod subscription;
pub(crate) mod topic;

#[cfg(test)]
mod tests;

use core::fmt;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ssekit_codec::Event;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use config::{HubConfig, SlowPolicy, StartAt};
pub use error::{PublishError, SubscribeError};
pub use id::Position;
pub use stats::HubStats;
pub(crate) use subscription::HISTORY_BATCH;
pub use subscription::{GapReason, Resume, Subscription};

use history::History;
use stats::Counters;
use subscription::{preload, Phase};
use topic::{lock, Common, Kind, SubShared, Topic};

/// The longest `id: <epoch>-<sequence>\n` line: 4 + 20 + 1 + 20 + 1.
const ID_LINE_MAX: usize = 46;

/// An in-process hub of topics. Cheap to clone: clones share the topics.
///
/// See the [module documentation](self) for an example and how it works.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    common: Arc<Common>,
    topics: Mutex<HashMap<Arc<str>, Arc<Topic>>>,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub::new(HubConfig::default())
    }
}

impl Hub {
    /// A hub with `config`.
    pub fn new(config: HubConfig) -> Hub {
        Hub::build(config, None)
    }

    pub(crate) fn build(config: HubConfig, history: Option<Arc<dyn History>>) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                common: Arc::new(Common {
                    config,
                    counters: Counters::default(),
                    history,
                    next_subscriber: AtomicU64::new(0),
                }),
                topics: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.inner.common.config
    }

    /// The topic `name`, made if it does not exist (`None` past
    /// [`HubConfig::max_topics`]).
    pub(crate) fn topic(&self, name: &str, base: Position) -> Option<Arc<Topic>> {
        let mut topics = lock(&self.inner.topics);
        if let Some(topic) = topics.get(name) {
            return Some(Arc::clone(topic));
        }
        if topics.len() >= self.inner.common.config.max_topics {
            return None;
        }
        let name: Arc<str> = Arc::from(name);
        let kind = match self.inner.common.history {
            Some(_) => Kind::External,
            None => Kind::Local {
                epoch: id::new_epoch(),
            },
        };
        let topic = Arc::new(Topic::new(
            Arc::clone(&name),
            kind,
            base,
            Arc::clone(&self.inner.common),
        ));
        topics.insert(name, Arc::clone(&topic));
        Some(topic)
    }

    /// Publishes `event` to `topic`: encodes it once and queues that frame
    /// for every subscriber. An event without an ID gets the next hub ID,
    /// `<epoch>-<sequence>`; one with an ID keeps it. Returns the event's
    /// position (its ID, when the hub gave it).
    ///
    /// # Errors
    ///
    /// [`PublishError::TooLarge`] past [`HubConfig::max_event_size`],
    /// [`PublishError::TooManyTopics`] for a new topic past
    /// [`HubConfig::max_topics`], [`PublishError::External`] on a hub that
    /// a Redis fan-out feeds (publish through it instead).
    ///
    /// ```
    /// use ssekit_adapters::codec::Event;
    /// use ssekit_adapters::hub::Hub;
    ///
    /// let hub = Hub::default();
    /// let a = hub.publish("prices", &Event::new("101.5"))?;
    /// let b = hub.publish("prices", &Event::new("101.7"))?;
    /// assert_eq!((a.major, a.minor + 1), (b.major, b.minor));
    /// # Ok::<(), ssekit_adapters::hub::PublishError>(())
    /// ```
    pub fn publish(&self, topic: &str, event: &Event) -> Result<Position, PublishError> {
        let common = &self.inner.common;
        let size = event.encoded_len() + ID_LINE_MAX;
        if event.encoded_len() > common.config.max_event_size {
            Counters::add(&common.counters.refused_too_large, 1);
            return Err(PublishError::TooLarge {
                size: event.encoded_len(),
                max: common.config.max_event_size,
            });
        }
        if common.history.is_some() {
            return Err(PublishError::External);
        }
        let topic = self
            .topic(topic, Position::default())
            .ok_or(PublishError::TooManyTopics {
                max: common.config.max_topics,
            })?;
        let Kind::Local { epoch } = topic.kind else {
            return Err(PublishError::External);
        };
        let own_id = (!event.id().is_empty()).then(|| Bytes::copy_from_slice(event.id()));
        let position = topic.push(
            |seq| Position::new(epoch, seq),
            |key, arena| {
                if arena.capacity() < size {
                    // A new block; the frames split off the old one keep it.
                    *arena = bytes::BytesMut::with_capacity(size.max(topic::ARENA));
                }
                if own_id.is_none() {
                    // Straight into the frame: no `String` of its own.
                    let _ = writeln!(arena, "id: {key}");
                }
                event.encode(arena);
                arena.split().freeze()
            },
            own_id.clone(),
        );
        // Local keys come from the ring's own count, so they always increase.
        position.ok_or(PublishError::External)
    }

    /// Subscribes to `topic`, resuming after `last_event_id` (the request's
    /// `Last-Event-ID`, if any). The topic is made if it does not exist.
    /// See [`Resume`] for how the ID was matched.
    ///
    /// # Errors
    ///
    /// [`SubscribeError`] past [`HubConfig::max_subscribers`],
    /// [`HubConfig::max_subscribers_per_topic`] or
    /// [`HubConfig::max_topics`]; [`SubscribeError::response`] is the
    /// `503` to answer.
    pub fn subscribe(
        &self,
        topic: &str,
        last_event_id: Option<&str>,
    ) -> Result<Subscription, SubscribeError> {
        let topic = self.admit(topic, Position::default())?;
        let Kind::Local { epoch } = topic.kind else {
            // A hub fed by Redis resolves IDs against Redis first; here,
            // without history at hand, only the window is searched.
            let position = last_event_id.and_then(Position::parse);
            let resume = (last_event_id.is_some() && position.is_none())
                .then_some(Resume::Gap(GapReason::Unknown));
            return Ok(self.subscribe_after(topic, position, resume, Vec::new()));
        };
        let config = &self.inner.common.config;
        let state = lock(&topic.state);
        let ring = &state.ring;
        let (cursor, resume) = match last_event_id {
            None => (start_of(ring, config.start), Resume::Fresh),
            Some(id) => match locate_local(ring, epoch, id) {
                Ok(seq) => (seq, Resume::Exact),
                Err(reason) => (start_of(ring, config.start_after_gap), Resume::Gap(reason)),
            },
        };
        drop(state);
        Ok(self.register(topic, cursor, None, resume, Phase::Live, Vec::new()))
    }

    /// A subscription to an external topic for a place [`admit`](Hub::admit)
    /// took: right after `after` (from the window if it covers it, from the
    /// history otherwise), or where the configuration says without a
    /// position. `resume` overrides how the match is reported.
    pub(crate) fn subscribe_after(
        &self,
        topic: Arc<Topic>,
        after: Option<Position>,
        resume: Option<Resume>,
        preloaded: Vec<Bytes>,
    ) -> Subscription {
        let config = &self.inner.common.config;
        let state = lock(&topic.state);
        let gap = matches!(resume, Some(Resume::Gap(_)));
        let (cursor, skip, phase, found) = match after {
            Some(after) if after >= state.ring.base() => {
                let skip = (after > state.ring.last_key()).then_some(after);
                (
                    state.ring.seq_after_key(after),
                    skip,
                    Phase::Live,
                    Resume::Exact,
                )
            }
            Some(after) => (
                u64::MAX,
                None,
                Phase::Fetching { after, fut: None },
                Resume::Exact,
            ),
            None => {
                let start = if gap {
                    config.start_after_gap
                } else {
                    config.start
                };
                (
                    start_of(&state.ring, start),
                    None,
                    Phase::Live,
                    Resume::Fresh,
                )
            }
        };
        drop(state);
        self.register(
            topic,
            cursor,
            skip,
            resume.unwrap_or(found),
            phase,
            preloaded,
        )
    }

    /// Checks the limits and takes a place for a new subscriber.
    pub(crate) fn admit(&self, name: &str, base: Position) -> Result<Arc<Topic>, SubscribeError> {
        let common = &self.inner.common;
        let config = &common.config;
        let refuse = |max| {
            Counters::add(&common.counters.refused_limit, 1);
            SubscribeError::new(max, config.limit_retry_after)
        };
        // The hub-wide limit first, so that a refused subscription does
        // not make a topic.
        if common.counters.subscribers.fetch_add(1, Ordering::AcqRel)
            >= config.max_subscribers as u64
        {
            common.counters.subscribers.fetch_sub(1, Ordering::AcqRel);
            return Err(refuse(config.max_subscribers));
        }
        let Some(topic) = self.topic(name, base) else {
            common.counters.subscribers.fetch_sub(1, Ordering::AcqRel);
            return Err(refuse(config.max_topics));
        };
        if topic.subscribers.fetch_add(1, Ordering::AcqRel) >= config.max_subscribers_per_topic {
            topic.subscribers.fetch_sub(1, Ordering::AcqRel);
            common.counters.subscribers.fetch_sub(1, Ordering::AcqRel);
            return Err(refuse(config.max_subscribers_per_topic));
        }
        Ok(topic)
    }

    /// Makes the subscription for a place `admit` took.
    fn register(
        &self,
        topic: Arc<Topic>,
        cursor: u64,
        skip_through: Option<Position>,
        resume: Resume,
        phase: Phase,
        preloaded: Vec<Bytes>,
    ) -> Subscription {
        let common = &self.inner.common;
        let counters = &common.counters;
        Counters::add(&counters.subscribed, 1);
        Counters::add(&counters.delivered, preloaded.len() as u64);
        Counters::add(&counters.history_fetched, preloaded.len() as u64);
        match resume {
            Resume::Exact => Counters::add(&counters.resumed, 1),
            Resume::Gap(GapReason::TooOld) => Counters::add(&counters.gaps_too_old, 1),
            Resume::Gap(GapReason::OtherEpoch) => Counters::add(&counters.gaps_other_epoch, 1),
            Resume::Gap(_) => Counters::add(&counters.gaps_unknown, 1),
            Resume::Fresh => {}
        }
        let gap_frame = match resume {
            Resume::Gap(_) => common.config.gap_frame.clone(),
            _ => None,
        };
        let id = common.next_subscriber.fetch_add(1, Ordering::Relaxed);
        let mut state = lock(&topic.state);
        let shared = Arc::new(SubShared {
            cursor: AtomicU64::new(cursor),
            since_bytes: state.ring.end_bytes(),
            since_at: Instant::now(),
            killed: AtomicBool::new(false),
            token: CancellationToken::new(),
        });
        state.subscribers.insert(id, Arc::clone(&shared));
        drop(state);
        Subscription {
            topic,
            shared,
            id,
            cursor,
            skip_through,
            batch: preload(gap_frame.into_iter().chain(preloaded)),
            phase,
            registered: None,
            resume,
        }
    }

    /// Evicts what has aged out of every topic's window and sweeps for
    /// stalled subscribers, as a publish does. Call it from a timer when
    /// topics can go quiet for longer than
    /// [`HubConfig::max_backlog_age`].
    pub fn expire(&self) {
        let topics: std::vec::Vec<Arc<Topic>> =
            lock(&self.inner.topics).values().cloned().collect();
        let now = Instant::now();
        for topic in topics {
            topic.expire(now);
        }
    }

    /// The counters, as plain numbers.
    pub fn stats(&self) -> HubStats {
        let mut stats = self.inner.common.counters.snapshot();
        let topics = lock(&self.inner.topics);
        stats.topics = topics.len() as u64;
        stats.backlog_bytes = 0;
        for topic in topics.values() {
            stats.backlog_bytes += topic.backlog_bytes.load(Ordering::Relaxed);
            let state = lock(&topic.state);
            stats.retained_events += state.ring.len() as u64;
            stats.retained_bytes += state.ring.retained_bytes() as u64;
        }
        stats
    }
}

/// The sequence number a subscription starts at without a place to resume.
fn start_of(ring: &ring::Ring, start: StartAt) -> u64 {
    match start {
        StartAt::Oldest => ring.first(),
        _ => ring.head(),
    }
}

/// The sequence number right after the event `id` names in a local topic.
fn locate_local(ring: &ring::Ring, epoch: u64, id: &str) -> Result<u64, GapReason> {
    if let Some(seq) = ring.find_own_id(id.as_bytes()) {
        return Ok(seq + 1);
    }
    match Position::parse(id) {
        Some(p) if p.major == epoch => {
            if p.minor >= ring.head() {
                Err(GapReason::Unknown)
            } else if p.minor + 1 < ring.first() {
                Err(GapReason::TooOld)
            } else {
                Ok(p.minor + 1)
            }
        }
        Some(_) => Err(GapReason::OtherEpoch),
        None => Err(GapReason::Unknown),
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.inner.common.config)
            .field("topics", &lock(&self.inner.topics).len())
            .finish_non_exhaustive()
    }
}
