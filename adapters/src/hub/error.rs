//! Why a publish or a subscription was refused.

use core::fmt;
use core::time::Duration;

use crate::http::LimitReached;

/// A publish the hub refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The event's frame is larger than
    /// [`HubConfig::max_event_size`](super::HubConfig::max_event_size).
    TooLarge {
        /// The frame's size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The topic is new and the hub has
    /// [`HubConfig::max_topics`](super::HubConfig::max_topics) already.
    TooManyTopics {
        /// The limit.
        max: usize,
    },
    /// The hub is fed from an external log (Redis): publish there.
    External,
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::TooLarge { size, max } => write!(
                f,
                "the event's frame is {size} bytes, over the hub's limit of {max}: split it, or raise HubConfig::max_event_size"
            ),
            PublishError::TooManyTopics { max } => write!(
                f,
                "the hub has {max} topics, its limit: reuse a topic, or raise HubConfig::max_topics"
            ),
            PublishError::External => f.write_str(
                "this hub is fed from Redis: publish through the Redis fan-out, so that every node sees the event",
            ),
        }
    }
}

impl core::error::Error for PublishError {}

/// A subscription refused by a limit: answer it with
/// [`response`](SubscribeError::response), a `503` with `Retry-After`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubscribeError {
    limit: LimitReached,
}

impl SubscribeError {
    pub(crate) fn new(max: usize, retry_after: Duration) -> SubscribeError {
        SubscribeError {
            limit: LimitReached::new(max, retry_after),
        }
    }

    /// The limit that was reached.
    pub fn max(&self) -> usize {
        self.limit.max()
    }

    /// The refusal: `503 Service Unavailable` with `Retry-After`.
    ///
    /// ```
    /// use ssekit_adapters::hub::{Hub, HubConfig};
    ///
    /// let mut config = HubConfig::default();
    /// config.max_subscribers = 0;
    /// let hub = Hub::new(config);
    /// let err = hub.subscribe("news", None).unwrap_err();
    /// let response = err.response(err.to_string());
    /// assert_eq!(response.status(), 503);
    /// assert_eq!(response.headers()["retry-after"], "5");
    /// ```
    pub fn response<B>(&self, body: B) -> http::Response<B> {
        self.limit.response(body)
    }
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "too many subscribers (the limit is {}): retry later",
            self.limit.max()
        )
    }
}

impl core::error::Error for SubscribeError {}
