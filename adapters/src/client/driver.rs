//! The driver: one state machine that sends the request, hands the body's
//! bytes to the codec's [`ChunkDecoder`] and asks the codec's [`Reconnect`]
//! policy what to do at every turn, like quinn's `ConnectionDriver`. It
//! holds no parsing and no backoff logic of its own.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::boxed::Box;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Method, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use ssekit_codec::{ChunkDecoder, EndOfStream, GiveUp, Item, Reconnect, Verdict};
use tokio::time::Instant;

use super::connector::HttpClient;
use super::error::{Disconnect, Error, Rejected};
use super::message::Message;
use super::random::Random;

/// How long the client reads a rejected response's body for its excerpt.
const EXCERPT_TIME: Duration = Duration::from_secs(2);

/// What the builder fixed: the request, sent again on every attempt.
#[derive(Debug, Clone)]
pub(crate) struct RequestTemplate {
    pub(crate) method: Method,
    pub(crate) url: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

enum State {
    /// Waiting `delay`, then sending the request.
    Connect { delay: Duration },
    /// Reading the body; `chunk` is the part of the last frame not decoded
    /// yet.
    Streaming { body: Incoming, chunk: Bytes },
    /// Stopped, gave up or rejected: the stream has ended.
    Done,
}

pub(crate) struct Driver {
    pub(crate) http: HttpClient,
    pub(crate) request: RequestTemplate,
    pub(crate) decoder: ChunkDecoder,
    pub(crate) policy: Reconnect,
    pub(crate) comments: bool,
    pub(crate) response_timeout: Duration,
    random: Random,
    /// The policy's clock starts here.
    start: Instant,
    state: State,
}

type Next = Option<Result<Message, Error>>;

impl Driver {
    pub(crate) fn new(
        http: HttpClient,
        request: RequestTemplate,
        decoder: ChunkDecoder,
        policy: Reconnect,
        comments: bool,
        response_timeout: Duration,
    ) -> Driver {
        Driver {
            http,
            request,
            decoder,
            policy,
            comments,
            response_timeout,
            random: Random::new(),
            start: Instant::now(),
            state: State::Connect {
                delay: Duration::ZERO,
            },
        }
    }

    /// The policy's time: since the driver was made.
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// The next item, or `None` once the stream has ended.
    pub(crate) async fn next(&mut self) -> Next {
        loop {
            match core::mem::replace(&mut self.state, State::Done) {
                State::Done => return None,
                State::Connect { delay } => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    return self.connect().await;
                }
                State::Streaming { body, chunk } => {
                    if let Some(next) = self.read(body, chunk).await {
                        return next;
                    }
                }
            }
        }
    }

    fn http_request(&self) -> http::Request<Full<Bytes>> {
        let template = &self.request;
        let mut headers = template.headers.clone();
        let id = self.decoder.last_event_id();
        if !id.is_empty() {
            // An ID the header cannot carry (a control character) is not
            // sent: the server then starts afresh rather than misread it.
            if let Ok(value) = HeaderValue::from_bytes(id) {
                headers.insert("last-event-id", value);
            }
        }
        let mut request = http::Request::new(Full::new(template.body.clone()));
        *request.method_mut() = template.method.clone();
        *request.uri_mut() = template.url.clone();
        *request.headers_mut() = headers;
        request
    }

    /// Sends the request and reports the response.
    async fn connect(&mut self) -> Next {
        let request = self.http_request();
        let url = self.request.url.clone();
        let sent = tokio::time::timeout(self.response_timeout, self.http.request(request)).await;
        let response = match sent {
            Err(_elapsed) => {
                let timeout = self.response_timeout;
                return self.disconnected(Disconnect::ResponseTimeout { url, timeout });
            }
            Ok(Err(err)) => {
                return self.disconnected(Disconnect::Connect {
                    url,
                    source: Box::new(err),
                })
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        let headers = response.headers();
        let content_type = headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
        let retry_after = retry_after(headers);
        let random = self.random.next_u32();
        let verdict = self.policy.on_response(
            self.now(),
            status.as_u16(),
            content_type,
            retry_after,
            random,
        );
        match verdict {
            Ok(Verdict::Connected) => {
                let (parts, body) = response.into_parts();
                self.state = State::Streaming {
                    body,
                    chunk: Bytes::new(),
                };
                Some(Ok(Message::Open {
                    status,
                    headers: parts.headers,
                }))
            }
            Ok(Verdict::Stop) => Some(Ok(Message::Stopped)),
            Ok(Verdict::Reconnect(next)) => {
                self.state = State::Connect {
                    delay: next.after(),
                };
                Some(Ok(Message::Reconnecting {
                    delay: next.after(),
                    attempt: next.attempt(),
                    reason: Disconnect::Status {
                        status,
                        retry_after,
                    },
                }))
            }
            Err(GiveUp::Rejected(_)) => {
                let (parts, body) = response.into_parts();
                let excerpt = excerpt(body).await;
                Some(Err(Error::Rejected(Box::new(Rejected {
                    url,
                    status,
                    headers: parts.headers,
                    excerpt,
                }))))
            }
            Err(give_up) => Some(Err(Error::GaveUp {
                give_up,
                last: Disconnect::Status {
                    status,
                    retry_after,
                },
            })),
        }
    }

    /// Decodes what is buffered, then reads frames until there is an item
    /// to yield. `None` means "poll again": the state was put back.
    async fn read(&mut self, mut body: Incoming, mut chunk: Bytes) -> Option<Next> {
        loop {
            loop {
                let message = match self.decoder.decode_item(&mut chunk) {
                    Ok(None) => break,
                    Ok(Some(Item::Event(event))) => Ok(Message::Event(event)),
                    Ok(Some(Item::Comment(comment))) if self.comments => {
                        Ok(Message::Comment(comment))
                    }
                    Ok(Some(Item::Retry(ms))) => {
                        self.policy.on_retry_field(ms);
                        continue;
                    }
                    Ok(Some(_)) => continue,
                    Err(err) => Err(Error::Decode(err)),
                };
                self.state = State::Streaming { body, chunk };
                return Some(Some(message));
            }
            let deadline = self.policy.poll_timeout().map(|due| self.start + due);
            let frame = match deadline {
                Some(at) => tokio::time::timeout_at(at, body.frame()).await.ok(),
                None => Some(body.frame().await),
            };
            match frame {
                None => {
                    if self.policy.handle_timeout(self.now()) {
                        drop(body);
                        self.decoder.reset();
                        let timeout = self.policy.config().get_idle_timeout();
                        return Some(self.disconnected(Disconnect::Idle {
                            timeout: timeout.unwrap_or_default(),
                        }));
                    }
                }
                Some(None) => {
                    drop(body);
                    let mid_event = self.decoder.finish() == EndOfStream::Truncated;
                    return Some(self.disconnected(Disconnect::Closed { mid_event }));
                }
                Some(Some(Err(err))) => {
                    drop(body);
                    self.decoder.reset();
                    return Some(self.disconnected(Disconnect::Body {
                        source: Box::new(err),
                    }));
                }
                Some(Some(Ok(frame))) => {
                    self.policy.on_activity(self.now());
                    if let Ok(data) = frame.into_data() {
                        chunk = data;
                    }
                }
            }
        }
    }

    /// The connection ended or failed: the policy's next attempt, or why
    /// there is none.
    fn disconnected(&mut self, reason: Disconnect) -> Next {
        let random = self.random.next_u32();
        match self.policy.on_disconnected(self.now(), random) {
            Ok(next) => {
                self.state = State::Connect {
                    delay: next.after(),
                };
                Some(Ok(Message::Reconnecting {
                    delay: next.after(),
                    attempt: next.attempt(),
                    reason,
                }))
            }
            Err(give_up) => Some(Err(Error::GaveUp {
                give_up,
                last: reason,
            })),
        }
    }
}

/// `Retry-After` in delta-seconds, or as an HTTP date (the time from now
/// to it; a date past is no delay).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// The first bytes of a rejected response's body, read within
/// [`EXCERPT_TIME`].
async fn excerpt(mut body: Incoming) -> Bytes {
    let mut out = BytesMut::new();
    let read = async {
        while out.len() < Rejected::MAX_EXCERPT {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        let room = Rejected::MAX_EXCERPT - out.len();
                        out.extend_from_slice(&data[..data.len().min(room)]);
                    }
                }
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(EXCERPT_TIME, read).await;
    out.freeze()
}

/// A reconnecting stream of Server-Sent Events: a [`Stream`] of
/// [`Message`]s. Made by [`Builder::build`](super::Builder::build); see
/// [the module](super) for an example.
///
/// - It yields events, comments if asked for, and notices
///   ([`Message::Open`], [`Message::Reconnecting`], [`Message::Stopped`]).
/// - An `Err` ends the stream, except [`Error::Decode`] (one event
///   dropped): see [`Error::is_terminal`].
/// - Nothing outlives it: events are only read while the stream is
///   polled; the one task hyper-util runs per connection (its I/O) ends
///   with the connection, and dropping the stream closes the connection at
///   once. No connection is kept idle for reuse.
pub struct EventSource {
    inner: Pin<Box<dyn Stream<Item = Result<Message, Error>> + Send>>,
}

impl EventSource {
    pub(crate) fn new(driver: Driver) -> EventSource {
        let stream = futures_util::stream::unfold(driver, |mut driver| async move {
            let item = driver.next().await?;
            Some((item, driver))
        });
        EventSource {
            inner: Box::pin(stream),
        }
    }

    /// A builder for `url`; the same as [`Builder::new`](super::Builder::new).
    pub fn builder(url: impl Into<std::string::String>) -> super::Builder {
        super::Builder::new(url)
    }
}

impl Stream for EventSource {
    type Item = Result<Message, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSource").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        let date = HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap();
        headers.insert(RETRY_AFTER, date);
        let delay = retry_after(&headers).unwrap();
        assert!(delay > Duration::from_secs(100) && delay <= Duration::from_secs(120));
        for (value, expected) in [
            ("7", Some(Duration::from_secs(7))),
            (" 2 ", Some(Duration::from_secs(2))),
            ("-1", None),
            ("+1", None),
            ("Wed, 21 Oct 2015 07:28:00 GMT", Some(Duration::ZERO)),
            ("soon", None),
            (
                "99999999999999999999999",
                Some(Duration::from_secs(u64::MAX)),
            ),
        ] {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            assert_eq!(retry_after(&headers), expected, "{value}");
        }
    }
}
