//! A limit on open streams, answered with `503 Service Unavailable`.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::sync::Arc;

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::StatusCode;

/// At most so many event streams open at once.
///
/// Take a [`ConnectionPermit`] for each new stream and give it to the body
/// with [`SseBody::hold`](super::SseBody::hold): the stream counts as open
/// until the body is dropped (the client left, or the stream ended). When
/// every permit is taken, answer with [`LimitReached::response`]. Clones
/// share one count.
///
/// # Example
///
/// ```
/// use ssekit_adapters::http::ConnectionLimit;
///
/// let limit = ConnectionLimit::new(2);
/// let first = limit.try_acquire().unwrap();
/// let _second = limit.try_acquire().unwrap();
/// let refused = limit.try_acquire().unwrap_err();
/// assert_eq!(refused.response(()).status(), 503);
/// assert_eq!(limit.open(), 2);
///
/// drop(first); // that client left
/// assert!(limit.try_acquire().is_ok());
/// ```
#[derive(Clone)]
pub struct ConnectionLimit {
    inner: Arc<Inner>,
}

struct Inner {
    max: usize,
    open: AtomicUsize,
    retry_after: Duration,
}

impl ConnectionLimit {
    /// A limit of `max` open streams, with a `Retry-After` of 5 s in the
    /// refusal.
    pub fn new(max: usize) -> ConnectionLimit {
        ConnectionLimit::with_retry_after(max, Duration::from_secs(5))
    }

    /// A limit of `max` open streams whose refusals tell clients to come
    /// back after `retry_after` (whole seconds, rounded up).
    pub fn with_retry_after(max: usize, retry_after: Duration) -> ConnectionLimit {
        ConnectionLimit {
            inner: Arc::new(Inner {
                max,
                open: AtomicUsize::new(0),
                retry_after,
            }),
        }
    }

    /// A permit for one more stream, or [`LimitReached`] when `max` are
    /// open.
    ///
    /// # Errors
    ///
    /// [`LimitReached`] when every permit is taken.
    pub fn try_acquire(&self) -> Result<ConnectionPermit, LimitReached> {
        let acquired = self
            .inner
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.inner.max).then_some(open + 1)
            });
        match acquired {
            Ok(_) => Ok(ConnectionPermit {
                inner: Arc::clone(&self.inner),
            }),
            Err(_) => Err(LimitReached {
                max: self.inner.max,
                retry_after: self.inner.retry_after,
            }),
        }
    }

    /// How many streams hold a permit now.
    pub fn open(&self) -> usize {
        self.inner.open.load(Ordering::Acquire)
    }

    /// The most streams allowed.
    pub fn max(&self) -> usize {
        self.inner.max
    }
}

impl fmt::Debug for ConnectionLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionLimit")
            .field("open", &self.open())
            .field("max", &self.max())
            .finish()
    }
}

/// One open stream's place under a [`ConnectionLimit`]; dropping it frees
/// the place.
pub struct ConnectionPermit {
    inner: Arc<Inner>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.inner.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for ConnectionPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionPermit").finish_non_exhaustive()
    }
}

/// Every permit of a [`ConnectionLimit`] is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LimitReached {
    max: usize,
    retry_after: Duration,
}

impl LimitReached {
    #[cfg_attr(not(feature = "hub"), allow(dead_code))]
    pub(crate) fn new(max: usize, retry_after: Duration) -> LimitReached {
        LimitReached { max, retry_after }
    }

    /// The limit that was reached.
    pub fn max(&self) -> usize {
        self.max
    }

    /// When the refusal tells clients to come back.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// The refusal: `503 Service Unavailable` with `Retry-After` (whole
    /// seconds), `Cache-Control: no-store`, and `body`, sent as plain text.
    /// A browser's `EventSource` does not reconnect after it; clients that
    /// follow `Retry-After` come back then.
    ///
    /// ```
    /// let limit = ssekit_adapters::http::ConnectionLimit::new(0);
    /// let err = limit.try_acquire().unwrap_err();
    /// let response = err.response(err.to_string());
    /// assert_eq!(response.headers()["retry-after"], "5");
    /// assert_eq!(response.body(), "too many open event streams (the limit is 0): retry later");
    /// ```
    pub fn response<B>(&self, body: B) -> http::Response<B> {
        let mut response = http::Response::new(body);
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        let headers = response.headers_mut();
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}

impl fmt::Display for LimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "too many open event streams (the limit is {}): retry later",
            self.max
        )
    }
}

impl core::error::Error for LimitReached {}
