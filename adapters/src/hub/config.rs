//! The hub's configuration: the replay window, the slow-consumer policy,
//! the limits. Every default is safe for a public server.

use core::time::Duration;

use bytes::Bytes;

/// What to do with a subscriber whose backlog (the events published that
/// it has not read yet) passes [`HubConfig::max_backlog_bytes`] or
/// [`HubConfig::max_backlog_age`], or who fell out of the replay window.
///
/// Whatever the policy, a slow subscriber never slows the publisher or the
/// other subscribers: the topic keeps one shared window of frames, and a
/// subscriber is only a position in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SlowPolicy {
    /// End the stream with a `retry:` hint
    /// ([`HubConfig::slow_retry`]), so that the client reconnects with its
    /// `Last-Event-ID` and replays what it missed: nothing is lost while
    /// the replay window still holds it. A subscriber that stopped reading
    /// altogether is found by the hub's sweep and its
    /// [`disconnect token`](super::Subscription::disconnect_token) is
    /// cancelled, so the server can drop the connection. The default.
    #[default]
    Disconnect,
    /// Skip the oldest unread events until the backlog is within bounds,
    /// and count them as dropped.
    DropOldest,
    /// Skip to the newest event, counting the others as dropped: for
    /// streams where only the latest state matters (a price, a progress
    /// bar).
    KeepLatest,
}

/// Where a subscription starts when there is no exact place to resume:
/// no `Last-Event-ID`, or one that does not match (see
/// [`Resume`](super::Resume)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartAt {
    /// With the next event published.
    Live,
    /// With the oldest event the replay window retains, then the live ones.
    Oldest,
}

/// The hub's configuration.
///
/// ```
/// use std::time::Duration;
/// use ssekit_adapters::hub::{HubConfig, SlowPolicy};
///
/// let mut config = HubConfig::default();
/// config.replay_events = 10_000;
/// config.replay_age = Duration::from_secs(600);
/// config.slow_policy = SlowPolicy::DropOldest;
/// let hub = ssekit_adapters::hub::Hub::new(config);
/// assert_eq!(hub.config().replay_events, 10_000);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HubConfig {
    /// How many events each topic retains for replay. Default 1,000.
    pub replay_events: usize,
    /// How long each topic retains an event for replay. Default 5 minutes.
    pub replay_age: Duration,
    /// How many bytes of frames each topic retains at most; the oldest go
    /// first past it. Default 16 MiB.
    pub replay_bytes: usize,
    /// A subscriber's backlog bound in bytes. Default 1 MiB.
    pub max_backlog_bytes: u64,
    /// A subscriber's backlog bound in time: the age of the oldest event it
    /// has not read. Default 30 s.
    pub max_backlog_age: Duration,
    /// What happens past those bounds. Default [`SlowPolicy::Disconnect`].
    pub slow_policy: SlowPolicy,
    /// The reconnection time sent to a subscriber that
    /// [`SlowPolicy::Disconnect`] ends. Default 1 s.
    pub slow_retry: Duration,
    /// Where a subscription without `Last-Event-ID` starts. Default
    /// [`StartAt::Live`].
    pub start: StartAt,
    /// Where a subscription whose `Last-Event-ID` does not match starts.
    /// Default [`StartAt::Oldest`]: the client gets what is retained, and
    /// the application learns of the gap from
    /// [`Subscription::resume`](super::Subscription::resume).
    pub start_after_gap: StartAt,
    /// A frame sent first to a subscriber whose `Last-Event-ID` does not
    /// match, so that the client learns of the gap too (for example an
    /// `event: reset` that makes it reload its state). Default none.
    pub gap_frame: Option<Bytes>,
    /// The most subscribers on the hub, all topics together. Default 100,000.
    pub max_subscribers: usize,
    /// The most subscribers on one topic. Default 100,000.
    pub max_subscribers_per_topic: usize,
    /// The most topics at once. Default 10,000.
    pub max_topics: usize,
    /// The largest event [`publish`](super::Hub::publish) accepts: its
    /// encoded size in bytes, without the `id:` line the hub adds (at most
    /// 46 bytes). Default 1 MiB.
    pub max_event_size: usize,
    /// How often, at most, a publish also sweeps the topic's subscribers
    /// for ones past their backlog bounds that stopped reading. Default
    /// 100 ms.
    pub sweep_interval: Duration,
    /// The `Retry-After` of the `503` answered past the subscriber limits.
    /// Default 5 s.
    pub limit_retry_after: Duration,
}

impl Default for HubConfig {
    fn default() -> HubConfig {
        HubConfig {
            replay_events: 1_000,
            replay_age: Duration::from_secs(300),
            replay_bytes: 16 << 20,
            max_backlog_bytes: 1 << 20,
            max_backlog_age: Duration::from_secs(30),
            slow_policy: SlowPolicy::Disconnect,
            slow_retry: Duration::from_secs(1),
            start: StartAt::Live,
            start_after_gap: StartAt::Oldest,
            gap_frame: None,
            max_subscribers: 100_000,
            max_subscribers_per_topic: 100_000,
            max_topics: 10_000,
            max_event_size: 1 << 20,
            sweep_interval: Duration::from_millis(100),
            limit_retry_after: Duration::from_secs(5),
        }
    }
}
