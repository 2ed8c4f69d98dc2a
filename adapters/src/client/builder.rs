//! [`Builder`]: the request to send on every attempt, and the policy and
//! decoder settings of the client.

use core::fmt;
use core::time::Duration;
use std::string::{String, ToString};

use bytes::Bytes;
use http::header::ACCEPT;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use ssekit_codec::{ChunkDecoder, EventDecoder, Limits, Reconnect, ReconnectConfig};

use super::connector;
use super::driver::{Driver, RequestTemplate};
use super::error::BuildError;
use super::EventSource;

/// Builds an [`EventSource`]: the URL, method, headers and body of the
/// request (sent again, unchanged, on every reconnect, with the latest
/// `Last-Event-ID`), the [`ReconnectConfig`], and what to yield.
///
/// | Setting | Default |
/// |---|---|
/// | [`method`](Self::method) | `GET` |
/// | headers | `Accept: text/event-stream` |
/// | [`body`](Self::body) | empty |
/// | [`last_event_id`](Self::last_event_id) | none on the first request |
/// | [`reconnect`](Self::reconnect) | [`ReconnectConfig::DEFAULT`] (idle timeout off) |
/// | [`limits`](Self::limits) | [`Limits::default`] |
/// | [`comments`](Self::comments) | not yielded |
/// | [`response_timeout`](Self::response_timeout) | 30 s |
///
/// # Example
///
/// A POST with a JSON body, as LLM APIs take, resumed from a saved ID:
///
/// ```
/// use std::time::Duration;
/// use ssekit_adapters::client::Builder;
/// use ssekit_adapters::codec::ReconnectConfig;
///
/// let source = Builder::new("http://127.0.0.1:8080/v1/stream")
///     .method(http::Method::POST)
///     .header("content-type", "application/json")
///     .header("authorization", "Bearer t0ken")
///     .body(r#"{"prompt":"hello"}"#)
///     .last_event_id("41")
///     .reconnect(ReconnectConfig::default().idle_timeout(Some(Duration::from_secs(45))))
///     .build()?;
/// # drop(source);
/// # Ok::<(), ssekit_adapters::client::BuildError>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    url: String,
    method: Method,
    headers: HeaderMap,
    bad_header: Option<String>,
    /// Whether `Accept` was set, replacing the default.
    custom_accept: bool,
    body: Bytes,
    last_event_id: Option<Bytes>,
    config: ReconnectConfig,
    limits: Limits,
    comments: bool,
    response_timeout: Duration,
    #[cfg(feature = "client-rustls")]
    tls: Option<rustls::ClientConfig>,
}

impl Builder {
    /// A builder for `url`, an absolute `http://` URL (or `https://` with
    /// the `client-rustls` feature). It is checked by
    /// [`build`](Self::build).
    pub fn new(url: impl Into<String>) -> Builder {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        Builder {
            url: url.into(),
            method: Method::GET,
            headers,
            bad_header: None,
            custom_accept: false,
            body: Bytes::new(),
            last_event_id: None,
            config: ReconnectConfig::DEFAULT,
            limits: Limits::default(),
            comments: false,
            response_timeout: Duration::from_secs(30),
            #[cfg(feature = "client-rustls")]
            tls: None,
        }
    }

    /// Sets the request method, `GET` by default.
    pub fn method(mut self, method: Method) -> Builder {
        self.method = method;
        self
    }

    /// Adds a header, sent on every attempt; a second call with the same
    /// name adds a second value. `Accept` replaces the default. A name or
    /// value that HTTP does not allow makes [`build`](Self::build) fail.
    pub fn header<K, V>(mut self, name: K, value: V) -> Builder
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
        K: fmt::Display,
    {
        let shown = name.to_string();
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(value)) => {
                if name == ACCEPT && !self.custom_accept {
                    self.headers.remove(ACCEPT);
                    self.custom_accept = true;
                }
                self.headers.append(name, value);
            }
            _ => {
                self.bad_header.get_or_insert(shown);
            }
        }
        self
    }

    /// Sets the request body, sent again on every reconnect (a
    /// [`Bytes`] is shared, not copied). Set `Content-Type` with
    /// [`header`](Self::header).
    pub fn body(mut self, body: impl Into<Bytes>) -> Builder {
        self.body = body.into();
        self
    }

    /// Sets the `Last-Event-ID` of the first request, as when resuming
    /// from a saved ID. Later requests send the ID of the latest event
    /// received, as the decoder tracks it.
    pub fn last_event_id(mut self, id: impl Into<Bytes>) -> Builder {
        self.last_event_id = Some(id.into());
        self
    }

    /// Sets the reconnect policy: delays, backoff, limits, the idle
    /// timeout and the retryable statuses.
    pub fn reconnect(mut self, config: ReconnectConfig) -> Builder {
        self.config = config;
        self
    }

    /// Sets the decoder's [`Limits`].
    pub fn limits(mut self, limits: Limits) -> Builder {
        self.limits = limits;
        self
    }

    /// Whether to yield comments ([`Message::Comment`](super::Message::Comment)),
    /// such as heartbeats; off by default. Comments reset the idle timer
    /// either way.
    pub fn comments(mut self, yield_comments: bool) -> Builder {
        self.comments = yield_comments;
        self
    }

    /// Sets how long to wait for the response headers of each attempt
    /// (connecting, TLS and the server's first answer); 30 s by default.
    /// Past it, the attempt fails and the policy schedules the next.
    pub fn response_timeout(mut self, timeout: Duration) -> Builder {
        self.response_timeout = timeout;
        self
    }

    /// Sets the TLS configuration of `https://` URLs, for example one that
    /// trusts a private CA. Build it with the `ring` provider:
    /// `rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())`.
    /// Without it, the client trusts the Mozilla roots of `webpki-roots`.
    #[cfg(feature = "client-rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client-rustls")))]
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Builder {
        self.tls = Some(config);
        self
    }

    /// Makes the [`EventSource`]. Nothing is sent until it is polled, so
    /// it may be built outside a runtime; it must be polled within tokio.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] for a URL that is not absolute `http`/`https`, an
    /// `https` URL without the `client-rustls` feature, an invalid header,
    /// or a seeded `Last-Event-ID` that is not a valid header value.
    pub fn build(self) -> Result<EventSource, BuildError> {
        let url: Uri =
            self.url
                .parse()
                .map_err(|err: http::uri::InvalidUri| BuildError::InvalidUrl {
                    url: self.url.clone(),
                    reason: err.to_string(),
                })?;
        if url.host().is_none() {
            return Err(BuildError::InvalidUrl {
                url: self.url,
                reason: "no host".to_string(),
            });
        }
        match url.scheme_str() {
            Some("http") => {}
            #[cfg(feature = "client-rustls")]
            Some("https") => {}
            _ => return Err(BuildError::UnsupportedScheme { url }),
        }
        if let Some(name) = self.bad_header {
            return Err(BuildError::InvalidHeader { name });
        }
        let headers = self.headers;
        let mut decoder = EventDecoder::with_limits(self.limits);
        if let Some(id) = self.last_event_id {
            if HeaderValue::from_maybe_shared(id.clone()).is_err() {
                return Err(BuildError::InvalidLastEventId);
            }
            decoder.set_last_event_id(id);
        }
        #[cfg(feature = "client-rustls")]
        let http = connector::http_client(self.tls).map_err(|err| BuildError::InvalidUrl {
            url: url.to_string(),
            reason: std::format!("TLS setup failed: {err}"),
        })?;
        #[cfg(not(feature = "client-rustls"))]
        let http = connector::http_client();
        let request = RequestTemplate {
            method: self.method,
            url,
            headers,
            body: self.body,
        };
        Ok(EventSource::new(Driver::new(
            http,
            request,
            ChunkDecoder::from_decoder(decoder),
            Reconnect::new(self.config),
            self.comments,
            self.response_timeout,
        )))
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("url", &self.url)
            .field("method", &self.method)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("last_event_id", &self.last_event_id)
            .field("config", &self.config)
            .field("comments", &self.comments)
            .field("response_timeout", &self.response_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_are_typed_build_errors() {
        let err = Builder::new("not a url").build().unwrap_err();
        assert!(matches!(err, BuildError::InvalidUrl { .. }), "{err}");
        let err = Builder::new("ftp://127.0.0.1/").build().unwrap_err();
        assert!(matches!(err, BuildError::UnsupportedScheme { .. }), "{err}");
        let err = Builder::new("http://127.0.0.1/")
            .header("bad name", "x")
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::InvalidHeader { ref name } if name == "bad name"));
        let err = Builder::new("http://127.0.0.1/")
            .last_event_id("a\nb")
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::InvalidLastEventId), "{err}");
    }

    #[cfg(not(feature = "client-rustls"))]
    #[test]
    fn https_without_tls_says_which_feature() {
        let err = Builder::new("https://127.0.0.1/").build().unwrap_err();
        assert!(err.to_string().contains("client-rustls"), "{err}");
    }
}
