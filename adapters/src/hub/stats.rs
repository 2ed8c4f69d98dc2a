//! The hub's counters, as plain numbers.

use core::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the hub's counters, from [`Hub::stats`](super::Hub::stats).
/// Every count is since the hub was made, except the gauges
/// (`subscribers`, `topics`, `retained_*`, `backlog_bytes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Subscriptions open now.
    pub subscribers: u64,
    /// Topics that exist now.
    pub topics: u64,
    /// Subscriptions made.
    pub subscribed: u64,
    /// Events published (each encoded once).
    pub published: u64,
    /// Bytes of frames published.
    pub published_bytes: u64,
    /// Events retained for replay now, all topics together.
    pub retained_events: u64,
    /// Bytes of frames retained for replay now (each frame once, however
    /// many subscribers it is queued for).
    pub retained_bytes: u64,
    /// The unread bytes of every subscriber together, as of the last sweep.
    pub backlog_bytes: u64,
    /// Frames handed to subscribers.
    pub delivered: u64,
    /// Subscriptions that resumed exactly after their `Last-Event-ID`.
    pub resumed: u64,
    /// `Last-Event-ID`s older than the replay window, and replays or live
    /// streams ended because the history they needed was trimmed away.
    pub gaps_too_old: u64,
    /// `Last-Event-ID`s from an earlier epoch of the topic (the history
    /// they belong to is gone).
    pub gaps_other_epoch: u64,
    /// `Last-Event-ID`s this hub never gave.
    pub gaps_unknown: u64,
    /// Subscribers ended by [`SlowPolicy::Disconnect`](super::SlowPolicy::Disconnect).
    pub disconnected_slow: u64,
    /// Of those, the ones found by a sweep while not reading at all.
    pub disconnected_stalled: u64,
    /// Events skipped by [`SlowPolicy::DropOldest`](super::SlowPolicy::DropOldest)
    /// or [`SlowPolicy::KeepLatest`](super::SlowPolicy::KeepLatest).
    pub dropped: u64,
    /// Subscriptions refused by a subscriber or topic limit.
    pub refused_limit: u64,
    /// Publishes refused for their size.
    pub refused_too_large: u64,
    /// Events read from an external history (Redis) for replays.
    pub history_fetched: u64,
    /// Failed reads of the external history.
    pub history_errors: u64,
}

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        /// The live counters behind [`HubStats`].
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $(pub(crate) $name: AtomicU64,)*
        }

        impl Counters {
            pub(crate) fn snapshot(&self) -> HubStats {
                HubStats {
                    $($name: self.$name.load(Ordering::Relaxed),)*
                    ..HubStats::default()
                }
            }
        }
    };
}

counters!(
    subscribers,
    subscribed,
    published,
    published_bytes,
    delivered,
    resumed,
    gaps_too_old,
    gaps_other_epoch,
    gaps_unknown,
    disconnected_slow,
    disconnected_stalled,
    dropped,
    refused_limit,
    refused_too_large,
    history_fetched,
    history_errors,
);

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
