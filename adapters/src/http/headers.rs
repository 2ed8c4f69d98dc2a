//! Response headers for an event stream, and the `Last-Event-ID` request
//! header.

use core::fmt;
use std::string::String;

use http::header::{HeaderMap, HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};

/// `text/event-stream`, the event stream's media type.
pub const TEXT_EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");

/// The `Last-Event-ID` request header, which a reconnecting client sends
/// with the ID of the last event it received.
pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// The `X-Accel-Buffering` response header: `no` tells nginx not to buffer
/// the response, which would otherwise hold events back.
pub const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// Sets the headers every event stream response needs, replacing any
/// already there:
///
/// - `content-type: text/event-stream`, which `EventSource` requires;
/// - `cache-control: no-cache`, so that no cache stores or replays the
///   stream;
/// - `x-accel-buffering: no`, so that nginx passes each event on at once
///   instead of buffering the response.
///
/// It sets no `connection` header (HTTP/2 forbids it, and HTTP/1.1
/// connections are persistent anyway), and no `content-encoding`: see
/// [compression](super#compression).
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// ssekit_adapters::http::set_response_headers(&mut headers);
/// assert_eq!(headers["content-type"], "text/event-stream");
/// assert_eq!(headers["cache-control"], "no-cache");
/// assert_eq!(headers["x-accel-buffering"], "no");
/// assert!(!headers.contains_key("connection"));
/// ```
pub fn set_response_headers(headers: &mut HeaderMap) {
    headers.insert(CONTENT_TYPE, TEXT_EVENT_STREAM);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
}

/// The ID a reconnecting client resumes from: a valid `Last-Event-ID`
/// request header.
///
/// A browser's `EventSource` sends the header on every reconnection, with
/// the last event ID it has, when that is not empty. The value is text
/// without NUL, CR or LF (an ID with any of them cannot be sent by a
/// conforming server), at most [`MAX_LEN`](LastEventId::MAX_LEN) bytes by
/// default (a server whose IDs are longer reads the header with
/// [`from_headers_with_limit`](LastEventId::from_headers_with_limit)).
///
/// It derefs to `str` and compares with `str`.
///
/// # Example
///
/// ```
/// use http::HeaderMap;
/// use ssekit_adapters::http::{LastEventId, LastEventIdError};
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(LastEventId::from_headers(&headers), Ok(None)); // a first connection
///
/// headers.insert("last-event-id", "42".parse().unwrap());
/// let id = LastEventId::from_headers(&headers)?.unwrap();
/// assert_eq!(id.as_str(), "42");
///
/// headers.insert("last-event-id", http::HeaderValue::from_bytes(b"4\xff2").unwrap());
/// assert_eq!(LastEventId::from_headers(&headers), Err(LastEventIdError::NotUtf8 { offset: 1 }));
/// # Ok::<(), LastEventIdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LastEventId(String);

impl LastEventId {
    /// The longest ID accepted, in bytes: 1 KiB. Longer headers are
    /// [`LastEventIdError::TooLong`].
    pub const MAX_LEN: usize = 1024;

    /// Reads the `Last-Event-ID` header (the first, if there are several).
    ///
    /// Returns `Ok(None)` when there is none or it is empty: the client
    /// starts afresh, as on a first connection.
    ///
    /// # Errors
    ///
    /// A [`LastEventIdError`] naming what is wrong, when the value is not
    /// an event ID. The client did not get it from a conforming server; a
    /// server should answer `400 Bad Request` (the axum extractor does),
    /// or treat it as absent.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<LastEventId>, LastEventIdError> {
        LastEventId::from_headers_with_limit(headers, LastEventId::MAX_LEN)
    }

    /// [`from_headers`](LastEventId::from_headers) with IDs of up to
    /// `max_len` bytes.
    ///
    /// ```
    /// use ssekit_adapters::http::LastEventId;
    ///
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("last-event-id", "x".repeat(2000).parse().unwrap());
    /// assert!(LastEventId::from_headers(&headers).is_err());
    /// assert_eq!(LastEventId::from_headers_with_limit(&headers, 4096)?.unwrap().len(), 2000);
    /// # Ok::<(), ssekit_adapters::http::LastEventIdError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`from_headers`](LastEventId::from_headers).
    pub fn from_headers_with_limit(
        headers: &HeaderMap,
        max_len: usize,
    ) -> Result<Option<LastEventId>, LastEventIdError> {
        match headers.get(LAST_EVENT_ID) {
            None => Ok(None),
            Some(value) if value.is_empty() => Ok(None),
            Some(value) => LastEventId::parse_with_limit(value.as_bytes(), max_len).map(Some),
        }
    }

    /// Checks the bytes of a header value: valid UTF-8, no NUL, CR or LF,
    /// at most [`MAX_LEN`](LastEventId::MAX_LEN) bytes.
    ///
    /// ```
    /// use ssekit_adapters::http::{LastEventId, LastEventIdError};
    ///
    /// assert_eq!(LastEventId::parse(b"7").unwrap(), "7");
    /// assert_eq!(LastEventId::parse(b"a\0b"), Err(LastEventIdError::Nul { offset: 1 }));
    /// ```
    ///
    /// # Errors
    ///
    /// The first problem found, as a [`LastEventIdError`].
    pub fn parse(value: &[u8]) -> Result<LastEventId, LastEventIdError> {
        LastEventId::parse_with_limit(value, LastEventId::MAX_LEN)
    }

    /// [`parse`](LastEventId::parse) with IDs of up to `max_len` bytes.
    ///
    /// # Errors
    ///
    /// The first problem found, as a [`LastEventIdError`].
    pub fn parse_with_limit(value: &[u8], max_len: usize) -> Result<LastEventId, LastEventIdError> {
        if value.len() > max_len {
            return Err(LastEventIdError::TooLong {
                len: value.len(),
                limit: max_len,
            });
        }
        let text = core::str::from_utf8(value).map_err(|err| LastEventIdError::NotUtf8 {
            offset: err.valid_up_to(),
        })?;
        if let Some(offset) = memchr_any(value) {
            return Err(if value[offset] == 0 {
                LastEventIdError::Nul { offset }
            } else {
                LastEventIdError::LineBreak { offset }
            });
        }
        Ok(LastEventId(String::from(text)))
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ID, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

fn memchr_any(value: &[u8]) -> Option<usize> {
    value.iter().position(|&b| matches!(b, 0 | b'\r' | b'\n'))
}

impl fmt::Display for LastEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for LastEventId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl core::ops::Deref for LastEventId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for LastEventId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for LastEventId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Why a `Last-Event-ID` header is not an event ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LastEventIdError {
    /// The value is not UTF-8.
    NotUtf8 {
        /// The offset of the first byte that is not.
        offset: usize,
    },
    /// The value holds a NUL, which no event ID can.
    Nul {
        /// Its offset.
        offset: usize,
    },
    /// The value holds a CR or LF, which no event ID can.
    LineBreak {
        /// Its offset.
        offset: usize,
    },
    /// The value is longer than the limit.
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit: [`LastEventId::MAX_LEN`] unless another was given.
        limit: usize,
    },
}

impl fmt::Display for LastEventIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid Last-Event-ID header: ")?;
        match *self {
            LastEventIdError::NotUtf8 { offset } => {
                write!(f, "not UTF-8 (at byte {offset})")?;
            }
            LastEventIdError::Nul { offset } => write!(f, "NUL at byte {offset}")?,
            LastEventIdError::LineBreak { offset } => {
                write!(f, "line break at byte {offset}")?;
            }
            LastEventIdError::TooLong { len, limit } => {
                write!(f, "{len} bytes, more than the {limit} allowed")?;
            }
        }
        f.write_str(
            "; the stream cannot resume from it (the client should connect without the header)",
        )
    }
}

impl core::error::Error for LastEventIdError {}
