//! The client's errors: why a connection ended ([`Disconnect`], reported
//! in [`Message::Reconnecting`](super::Message::Reconnecting)), why the
//! client stopped for good ([`Error`]), and why a request could not be
//! built ([`BuildError`]).

use core::error::Error as StdError;
use core::fmt;
use core::time::Duration;
use std::boxed::Box;
use std::string::String;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri};
use ssekit_codec::{DecodeError, GiveUp};

/// A boxed error from the transport (hyper, the connector, TLS).
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Why a connection ended or could not be made. The client reconnects
/// after each of these, unless the policy gives up.
#[derive(Debug)]
#[non_exhaustive]
pub enum Disconnect {
    /// The request failed before any response: refused, unreachable, a
    /// DNS or TLS failure. `source` is the transport's error.
    Connect {
        /// The URL requested.
        url: Uri,
        /// The transport's error.
        source: BoxError,
    },
    /// No response headers came within the
    /// [`response_timeout`](super::Builder::response_timeout).
    ResponseTimeout {
        /// The URL requested.
        url: Uri,
        /// The time allowed.
        timeout: Duration,
    },
    /// The server answered with a status the policy retries (by default
    /// 429, 502, 503, 504).
    Status {
        /// The status.
        status: StatusCode,
        /// The server's `Retry-After` (seconds, or the time to its date), if
        /// it sent one.
        retry_after: Option<Duration>,
    },
    /// The server closed the stream. `mid_event` says whether it cut an
    /// event off (which the spec drops) or ended between events.
    Closed {
        /// Whether the last event was incomplete and was dropped.
        mid_event: bool,
    },
    /// Reading the body failed: the connection broke.
    Body {
        /// The transport's error.
        source: BoxError,
    },
    /// No bytes at all (heartbeats included) for the policy's
    /// [idle timeout](ssekit_codec::ReconnectConfig::idle_timeout).
    Idle {
        /// The idle timeout.
        timeout: Duration,
    },
}

/// Whether an error, or one of its sources, is an I/O error of `kind`.
fn has_io_kind(err: &(dyn StdError + 'static), kind: std::io::ErrorKind) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == kind)
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// The innermost message of an error chain, which names the root cause.
fn root_message(err: &(dyn StdError + 'static)) -> String {
    let mut err = err;
    while let Some(source) = err.source() {
        err = source;
    }
    std::format!("{err}")
}

/// Whether the error chain reads like a TLS certificate failure.
fn is_certificate_error(err: &(dyn StdError + 'static)) -> bool {
    let message = root_message(err);
    message.contains("certificate") || message.contains("UnknownIssuer")
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disconnect::Connect { url, source } => {
                let source: &(dyn StdError + 'static) = source.as_ref();
                if has_io_kind(source, std::io::ErrorKind::ConnectionRefused) {
                    write!(f, "connection refused to {url}: is the server running?")
                } else if is_certificate_error(source) {
                    write!(
                        f,
                        "the TLS certificate of {url} is not trusted ({}): \
                         add its CA with `Builder::tls_config`, or check the host name",
                        root_message(source)
                    )
                } else {
                    write!(
                        f,
                        "the request to {url} failed before a response ({}): \
                         check the URL and the network",
                        root_message(source)
                    )
                }
            }
            Disconnect::ResponseTimeout { url, timeout } => write!(
                f,
                "no response from {url} within {timeout:?}: the server is overloaded or \
                 unreachable; raise `response_timeout` if it is just slow"
            ),
            Disconnect::Status {
                status,
                retry_after: Some(after),
            } => write!(
                f,
                "the server answered {status} (retryable) and asked to retry after {after:?}"
            ),
            Disconnect::Status { status, .. } => {
                write!(f, "the server answered {status} (retryable)")
            }
            Disconnect::Closed { mid_event: false } => {
                f.write_str("the server closed the stream between events")
            }
            Disconnect::Closed { mid_event: true } => f.write_str(
                "the server closed the stream in the middle of an event, which was dropped",
            ),
            Disconnect::Body { source } => write!(
                f,
                "the connection broke while reading the stream ({})",
                root_message(source.as_ref())
            ),
            Disconnect::Idle { timeout } => write!(
                f,
                "no bytes for {timeout:?} (the idle timeout): the connection was taken as dead; \
                 make the server send heartbeats more often than that"
            ),
        }
    }
}

impl StdError for Disconnect {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Disconnect::Connect { source, .. } | Disconnect::Body { source } => {
                Some(source.as_ref())
            }
            _ => None,
        }
    }
}

/// A response that is not an event stream and that the policy does not
/// retry: its status, content type, headers and the start of its body.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub(crate) url: Uri,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) excerpt: Bytes,
}

impl Rejected {
    /// The most body bytes kept in [`excerpt`](Self::excerpt).
    pub const MAX_EXCERPT: usize = 512;

    /// The URL requested.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response's `Content-Type`, if any.
    pub fn content_type(&self) -> Option<&[u8]> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.as_bytes())
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first bytes of the body (at most [`MAX_EXCERPT`](Self::MAX_EXCERPT)),
    /// read within a short time bound: often the server's explanation.
    pub fn excerpt(&self) -> &Bytes {
        &self.excerpt
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status;
        match self.content_type() {
            Some(ct) if status == StatusCode::OK => write!(
                f,
                "{} answered with content type `{}` where text/event-stream was expected: \
                 is this the event stream's URL?",
                self.url,
                ct.escape_ascii()
            )?,
            None if status == StatusCode::OK => write!(
                f,
                "{} answered without a content type where text/event-stream was expected: \
                 is this the event stream's URL?",
                self.url
            )?,
            _ => write!(
                f,
                "{} answered {status} where 200 was expected: check the URL, method and \
                 credentials",
                self.url
            )?,
        }
        if !self.excerpt.is_empty() {
            write!(f, "; the body begins `{}`", self.excerpt.escape_ascii())?;
        }
        Ok(())
    }
}

impl StdError for Rejected {}

/// Why an [`EventSource`](super::EventSource) stopped for good, or (for
/// [`Decode`](Error::Decode) only) an event it dropped.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a status or content type that is not an
    /// event stream and not retryable. The stream ends.
    Rejected(Box<Rejected>),
    /// The policy gave up reconnecting
    /// ([`max_attempts`](ssekit_codec::ReconnectConfig::max_attempts) or
    /// [`max_elapsed`](ssekit_codec::ReconnectConfig::max_elapsed)).
    /// `last` is why the last connection ended. The stream ends.
    GaveUp {
        /// The policy's verdict, with its numbers.
        give_up: GiveUp,
        /// Why the last attempt failed.
        last: Disconnect,
    },
    /// An event broke a [`Limits`](ssekit_codec::Limits) bound and was
    /// dropped. Not terminal: the stream goes on with the next event.
    Decode(DecodeError),
}

impl Error {
    /// Whether the stream ends after this error: every error but
    /// [`Decode`](Error::Decode).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Error::Decode(_))
    }

    /// The rejected response, for [`Error::Rejected`].
    pub fn rejected(&self) -> Option<&Rejected> {
        match self {
            Error::Rejected(rejected) => Some(rejected),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Rejected(rejected) => write!(f, "the event stream was rejected: {rejected}"),
            Error::GaveUp { give_up, last } => write!(
                f,
                "{give_up}; the last attempt failed because {last}; raise the policy's limits \
                 or fix the cause"
            ),
            Error::Decode(err) => write!(
                f,
                "an event was dropped ({err}); the stream goes on; raise the decoder's \
                 `Limits` if such events are expected"
            ),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Rejected(rejected) => Some(rejected.as_ref()),
            Error::GaveUp { last, .. } => Some(last),
            Error::Decode(err) => Some(err),
        }
    }
}

/// Why [`Builder::build`](super::Builder::build) could not make a client.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The URL does not parse, or is not absolute.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `https://` URL without the `client-rustls` feature, or a scheme
    /// other than `http` and `https`.
    UnsupportedScheme {
        /// The URL as given.
        url: Uri,
    },
    /// A header name or value that HTTP does not allow.
    InvalidHeader {
        /// The header's name as given.
        name: String,
    },
    /// The seeded `Last-Event-ID` cannot be sent as a header (it holds a
    /// line break or NUL, or is not visible ASCII and tab).
    InvalidLastEventId,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidUrl { url, reason } => write!(
                f,
                "invalid URL `{url}` ({reason}): give an absolute http:// or https:// URL"
            ),
            BuildError::UnsupportedScheme { url } if url.scheme_str() == Some("https") => write!(
                f,
                "{url} needs TLS: enable the `client-rustls` feature of ssekit-adapters"
            ),
            BuildError::UnsupportedScheme { url } => write!(
                f,
                "unsupported URL scheme in {url}: use http:// or https://"
            ),
            BuildError::InvalidHeader { name } => write!(
                f,
                "invalid header `{name}`: names are tokens, values visible ASCII without line breaks"
            ),
            BuildError::InvalidLastEventId => f.write_str(
                "the Last-Event-ID to send is not a valid header value: \
                 remove line breaks and control characters",
            ),
        }
    }
}

impl StdError for BuildError {}
