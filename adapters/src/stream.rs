//! [`Stream`] support: turn any stream of byte chunks, such as an HTTP
//! response body, into a stream of [`Event`]s.
//!
//! [`SseStreamExt::sse_events`] works on every `Stream<Item = Result<B, E>>`
//! whose chunks `B` implement [`Buf`], and yields `Result<Event, Error<E>>`;
//! [`SseStreamExt::sse_items`] yields comments (heartbeats) and `retry`
//! fields too. A hyper 1.x body (`hyper::body::Incoming`) is an
//! `http_body::Body`, not a `Stream`: turn it into one with
//! `http_body_util::BodyExt::into_data_stream()` first. After a broken
//! connection, [`EventStream::resume`] goes on with the new body, keeping
//! the last event ID.
//!
//! - **No copies for `Bytes` chunks.** Events whose lines lie whole in one
//!   [`Bytes`] (or [`BytesMut`](bytes::BytesMut)) chunk are slices of it. Only a line split
//!   across chunks is copied, into a small carry buffer, and only up to its
//!   line ending: the rest of the next chunk is sliced again (a chunk of at
//!   most 256 bytes that continues a split line is copied whole, which costs
//!   less than slicing it). Chunks of other
//!   [`Buf`] types are gathered once with [`Buf::copy_to_bytes`].
//! - **Transport errors pass through typed** as [`Error::Transport`], and the
//!   stream keeps polling the transport after them.
//! - **Limit errors drop one event**: an event that breaks a [`Limits`] bound
//!   is reported as [`Error::Decode`], and the events after it follow.
//! - **Truncation is visible**: after the stream ends,
//!   [`EventStream::end_of_stream`] tells whether it ended between events or
//!   in the middle of one, and [`EventStream::error_on_truncation`] turns the
//!   latter into a final [`Error::Truncated`] item.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use futures::{stream, StreamExt};
//! use ssekit_adapters::stream::SseStreamExt;
//!
//! # futures::executor::block_on(async {
//! let chunks = [&b"data: hel"[..], b"lo\n\nid: 2\nda", b"ta: world\n\n"];
//! let body = stream::iter(chunks.map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c))));
//! let mut events = body.sse_events();
//! let mut data = Vec::new();
//! while let Some(event) = events.next().await {
//!     data.push(event?.data());
//! }
//! assert_eq!(data, ["hello", "world"]);
//! assert_eq!(events.last_event_id(), b"2");
//! # Ok::<(), ssekit_adapters::stream::Error<std::io::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Migrating from `eventsource-stream`
//!
//! Change the import; [`SseStreamExt::eventsource`] is an alias of
//! [`SseStreamExt::sse_events`]:
//!
//! ```text
//! - use eventsource_stream::Eventsource;
//! + use ssekit::adapters::stream::SseStreamExt as Eventsource;
//! ```
//!
//! `response.bytes_stream().eventsource()` then compiles as before. The
//! [`Event`] fields become methods that do not copy: `event.event` is
//! [`event.event_type()`](Event::event_type), `event.data` is
//! [`event.data()`](Event::data) (or [`data_lossy()`](Event::data_lossy) for
//! text), `event.id` is [`event.id()`](Event::id), and `event.retry` is
//! [`event.retry()`](Event::retry) in milliseconds. Chunks must implement
//! [`Buf`] rather than `AsRef<[u8]>`; `Bytes`, which HTTP clients yield, does.

use core::fmt;
use core::pin::Pin;
use core::task::{ready, Context, Poll};
use core::time::Duration;

use bytes::{Buf, Bytes};
use futures_core::stream::{FusedStream, Stream};
use pin_project_lite::pin_project;
use ssekit_codec::{ChunkDecoder, DecodeError, EndOfStream, Event, EventDecoder, Item, Limits};

/// An error from an [`EventStream`].
///
/// [`Display`](fmt::Display) gives a one-line summary;
/// [`source`](std::error::Error::source) returns the transport's error or
/// the [`DecodeError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Error<E> {
    /// The byte stream yielded an error. It is passed on as it is, and the
    /// byte stream is polled again afterwards.
    Transport(E),
    /// An event broke a [`Limits`] bound and was dropped; the events after it
    /// follow.
    Decode(DecodeError),
    /// The byte stream ended in the middle of an event, which was dropped as
    /// the spec says. Yielded last, and only when
    /// [`EventStream::error_on_truncation`] asked for it.
    Truncated,
}

impl<E> Error<E> {
    /// The transport's error, if this is one.
    pub fn as_transport(&self) -> Option<&E> {
        match self {
            Error::Transport(err) => Some(err),
            _ => None,
        }
    }

    /// The decoding error, if this is one.
    pub fn as_decode(&self) -> Option<&DecodeError> {
        match self {
            Error::Decode(err) => Some(err),
            _ => None,
        }
    }
}

impl<E> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Transport(_) => f.write_str("the event stream's transport failed"),
            Error::Decode(err) => write!(f, "event dropped: over the {} limit", err.limit()),
            Error::Truncated => f.write_str("the event stream ended in the middle of an event"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Transport(err) => Some(err),
            Error::Decode(err) => Some(err),
            Error::Truncated => None,
        }
    }
}

impl<E> From<DecodeError> for Error<E> {
    fn from(err: DecodeError) -> Self {
        Error::Decode(err)
    }
}

/// Adds [`sse_events`](SseStreamExt::sse_events) to every stream of
/// `Result<B, E>` where `B` implements [`Buf`].
pub trait SseStreamExt: Sized {
    /// Decodes this byte stream into events, with the default [`Limits`].
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::{stream, StreamExt};
    /// use ssekit_adapters::stream::SseStreamExt;
    ///
    /// # futures::executor::block_on(async {
    /// let body = stream::iter([Ok::<_, ()>(Bytes::from_static(b"data: x\n\n"))]);
    /// let event = body.sse_events().next().await.unwrap().unwrap();
    /// assert_eq!(event.data(), "x");
    /// # });
    /// ```
    fn sse_events(self) -> EventStream<Self> {
        EventStream::new(self)
    }

    /// Decodes this byte stream into events, with the given [`Limits`].
    fn sse_events_with_limits(self, limits: Limits) -> EventStream<Self> {
        EventStream::with_decoder(self, EventDecoder::with_limits(limits))
    }

    /// The same as [`sse_events`](SseStreamExt::sse_events), under the name
    /// the `eventsource-stream` crate uses, so that code written for it only
    /// needs its import changed.
    fn eventsource(self) -> EventStream<Self> {
        self.sse_events()
    }

    /// Decodes this byte stream into [`Item`]s: events, and also comments
    /// (which servers send as heartbeats, so an idle timer can be reset on
    /// them) and `retry` fields, in stream order.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::{stream, StreamExt};
    /// use ssekit_adapters::stream::SseStreamExt;
    /// use ssekit_codec::Item;
    ///
    /// # futures::executor::block_on(async {
    /// let body = stream::iter([Ok::<_, ()>(Bytes::from_static(b": hi\n\nretry: 90\ndata: x\n\n"))]);
    /// let items: Vec<Item> = body.sse_items().map(Result::unwrap).collect().await;
    /// assert_eq!(items[0], Item::Comment(Bytes::from_static(b" hi")));
    /// assert_eq!(items[1], Item::Retry(90));
    /// assert!(matches!(&items[2], Item::Event(event) if event.data() == "x"));
    /// # });
    /// ```
    fn sse_items(self) -> ItemStream<Self> {
        ItemStream::new(self)
    }
}

impl<S, B, E> SseStreamExt for S
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
}

pin_project! {
    /// A stream of [`Event`]s decoded from a stream of byte chunks; made by
    /// [`SseStreamExt::sse_events`].
    ///
    /// Yields `Ok(event)` for every event, `Err(Error::Transport)` for every
    /// error of the byte stream, `Err(Error::Decode)` for every event dropped
    /// for breaking a [`Limits`] bound, and, if asked for with
    /// [`error_on_truncation`](EventStream::error_on_truncation), a last
    /// `Err(Error::Truncated)` when the byte stream ends inside an event.
    /// None of these errors ends the stream; only the end of the byte stream
    /// does, and the stream returns `None` from then on.
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct EventStream<S> {
        #[pin]
        inner: S,
        decoder: ChunkDecoder,
        // The rest of the latest chunk, not decoded yet.
        chunk: Bytes,
        // The decoder may have more events from the input it has: it
        // returned one last time.
        pending: bool,
        end: Option<EndOfStream>,
        truncation_error: bool,
    }
}

impl<S> EventStream<S> {
    /// Decodes `inner` with the default [`Limits`]; the same as
    /// [`SseStreamExt::sse_events`].
    pub fn new(inner: S) -> EventStream<S> {
        EventStream::with_decoder(inner, EventDecoder::new())
    }

    /// Decodes `inner` with a configured [`EventDecoder`]: other
    /// [`Limits`], or a saved last event ID set with
    /// [`EventDecoder::set_last_event_id`] when resuming a stream. Input the
    /// decoder still held is dropped: `inner` is a new stream.
    pub fn with_decoder(inner: S, decoder: EventDecoder) -> EventStream<S> {
        EventStream {
            inner,
            decoder: ChunkDecoder::from_decoder(decoder),
            chunk: Bytes::new(),
            pending: false,
            end: None,
            truncation_error: false,
        }
    }

    /// Makes the stream yield a last `Err(`[`Error::Truncated`]`)` when the
    /// byte stream ends in the middle of an event, before ending itself.
    ///
    /// A client of an API that streams an answer as events can tell a cut-off
    /// answer from a complete one this way even after the stream was moved
    /// into combinators; otherwise ask
    /// [`end_of_stream`](EventStream::end_of_stream).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::{stream, StreamExt};
    /// use ssekit_adapters::stream::{Error, SseStreamExt};
    ///
    /// # futures::executor::block_on(async {
    /// let body = stream::iter([Ok::<_, ()>(Bytes::from_static(b"data: 1\n\ndata: 2"))]);
    /// let items: Vec<_> = body.sse_events().error_on_truncation().collect().await;
    /// assert_eq!(items[0].as_ref().unwrap().data(), "1");
    /// assert!(matches!(items[1], Err(Error::Truncated)));
    /// assert_eq!(items.len(), 2);
    /// # });
    /// ```
    pub fn error_on_truncation(mut self) -> EventStream<S> {
        self.truncation_error = true;
        self
    }

    /// The event decoder underneath: its [`Limits`] and state.
    ///
    /// To go on after a broken connection, use
    /// [`resume`](EventStream::resume), not a clone of this decoder: a
    /// clone still holds the old connection's half-read event.
    pub fn decoder(&self) -> &EventDecoder {
        self.decoder.decoder()
    }

    /// Goes on decoding from a new byte stream, such as the body of a
    /// reconnection: the last event ID, the reconnection time and the
    /// limits carry over; the old connection's unfinished event and bytes
    /// are dropped, as the spec's end-of-file rule says.
    ///
    /// Send [`last_event_id`](EventStream::last_event_id) as the
    /// `Last-Event-ID` header of the new request first.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::{stream, StreamExt};
    /// use ssekit_adapters::stream::SseStreamExt;
    ///
    /// # futures::executor::block_on(async {
    /// let first = stream::iter([Ok::<_, ()>(Bytes::from_static(b"id: 1\ndata: a\n\nid: 2\ndata: par"))]);
    /// let mut events = first.sse_events();
    /// assert_eq!(events.next().await.unwrap().unwrap().data(), "a");
    /// assert!(events.next().await.is_none()); // cut in the middle of event 2
    /// assert_eq!(events.last_event_id(), b"1");
    ///
    /// // The server replays after event 1 on the new connection.
    /// let second = stream::iter([Ok::<_, ()>(Bytes::from_static(b"id: 2\ndata: b\n\n"))]);
    /// let mut events = events.resume(second);
    /// let event = events.next().await.unwrap().unwrap();
    /// assert_eq!((event.id(), event.data()), (&b"2"[..], Bytes::from("b")));
    /// # });
    /// ```
    pub fn resume<T>(self, inner: T) -> EventStream<T> {
        EventStream {
            inner,
            decoder: ChunkDecoder::from_decoder(self.decoder.into_decoder()),
            chunk: Bytes::new(),
            pending: false,
            end: None,
            truncation_error: self.truncation_error,
        }
    }

    /// The last event ID seen so far: what a reconnecting client sends as
    /// `Last-Event-ID`. Empty if none was set.
    pub fn last_event_id(&self) -> &[u8] {
        self.decoder.last_event_id()
    }

    /// The reconnection time from the latest valid `retry` field, if any was
    /// seen.
    pub fn reconnection_time(&self) -> Option<Duration> {
        self.decoder.reconnection_time().map(Duration::from_millis)
    }

    /// The next item: an event, or with `items` also a comment or `retry`.
    fn poll_item<B, E>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        items: bool,
    ) -> Poll<Option<Result<Item, Error<E>>>>
    where
        S: Stream<Item = Result<B, E>>,
        B: Buf,
    {
        let mut this = self.project();
        if this.end.is_some() {
            return Poll::Ready(None);
        }
        loop {
            if *this.pending || !this.chunk.is_empty() {
                let decoded = if items {
                    this.decoder.decode_item(this.chunk)
                } else {
                    this.decoder
                        .decode(this.chunk)
                        .map(|event| event.map(Item::Event))
                };
                match decoded {
                    Ok(Some(item)) => {
                        *this.pending = true;
                        return Poll::Ready(Some(Ok(item)));
                    }
                    Err(err) => {
                        *this.pending = true;
                        return Poll::Ready(Some(Err(Error::Decode(err))));
                    }
                    Ok(None) => *this.pending = false,
                }
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(mut chunk)) => {
                    let len = chunk.remaining();
                    if len > 0 {
                        *this.chunk = chunk.copy_to_bytes(len);
                    }
                }
                Some(Err(err)) => return Poll::Ready(Some(Err(Error::Transport(err)))),
                None => {
                    let end = this.decoder.finish();
                    *this.end = Some(end);
                    if end == EndOfStream::Truncated && *this.truncation_error {
                        return Poll::Ready(Some(Err(Error::Truncated)));
                    }
                    return Poll::Ready(None);
                }
            }
        }
    }

    /// How the byte stream ended, once it has: [`EndOfStream::Clean`] at an
    /// event boundary, [`EndOfStream::Truncated`] in the middle of an event
    /// (which the spec says to drop, and which was dropped). `None` while
    /// the byte stream has not ended.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::{stream, StreamExt};
    /// use ssekit_adapters::stream::SseStreamExt;
    /// use ssekit_codec::EndOfStream;
    ///
    /// # futures::executor::block_on(async {
    /// let body = stream::iter([Ok::<_, ()>(Bytes::from_static(b"data: 1\n\ndata: par"))]);
    /// let mut events = body.sse_events();
    /// assert_eq!(events.next().await.unwrap().unwrap().data(), "1");
    /// assert_eq!(events.end_of_stream(), None);
    /// assert!(events.next().await.is_none());
    /// assert_eq!(events.end_of_stream(), Some(EndOfStream::Truncated));
    /// # });
    /// ```
    pub fn end_of_stream(&self) -> Option<EndOfStream> {
        self.end
    }

    /// The byte stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The byte stream. Taking bytes from it directly loses them to the
    /// decoder.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The pinned byte stream. Taking bytes from it directly loses them to
    /// the decoder.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut S> {
        self.project().inner
    }

    /// The byte stream, giving up any input received but not yet decoded.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, E> Stream for EventStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    type Item = Result<Event, Error<E>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            return match ready!(self.as_mut().poll_item(cx, false)) {
                Some(Ok(Item::Event(event))) => Poll::Ready(Some(Ok(event))),
                // Not produced when only events are asked for.
                Some(Ok(_)) => continue,
                Some(Err(err)) => Poll::Ready(Some(Err(err))),
                None => Poll::Ready(None),
            };
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.end.is_some() {
            (0, Some(0))
        } else {
            (0, None)
        }
    }
}

impl<S, B, E> FusedStream for EventStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    fn is_terminated(&self) -> bool {
        self.end.is_some()
    }
}

pin_project! {
    /// A stream of [`Item`]s (events, comments and `retry` fields) decoded
    /// from a stream of byte chunks; made by [`SseStreamExt::sse_items`].
    ///
    /// It is an [`EventStream`] that also yields what the event stream
    /// skips, with the same errors, the same end, and the same accessors.
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct ItemStream<S> {
        #[pin]
        events: EventStream<S>,
    }
}

impl<S> ItemStream<S> {
    /// Decodes `inner` with the default [`Limits`]; the same as
    /// [`SseStreamExt::sse_items`].
    pub fn new(inner: S) -> ItemStream<S> {
        ItemStream {
            events: EventStream::new(inner),
        }
    }

    /// Decodes `inner` with a configured [`EventDecoder`]; see
    /// [`EventStream::with_decoder`].
    pub fn with_decoder(inner: S, decoder: EventDecoder) -> ItemStream<S> {
        ItemStream {
            events: EventStream::with_decoder(inner, decoder),
        }
    }

    /// See [`EventStream::error_on_truncation`].
    pub fn error_on_truncation(self) -> ItemStream<S> {
        ItemStream {
            events: self.events.error_on_truncation(),
        }
    }

    /// See [`EventStream::resume`].
    pub fn resume<T>(self, inner: T) -> ItemStream<T> {
        ItemStream {
            events: self.events.resume(inner),
        }
    }

    /// The event decoder underneath.
    pub fn decoder(&self) -> &EventDecoder {
        self.events.decoder()
    }

    /// The last event ID seen so far.
    pub fn last_event_id(&self) -> &[u8] {
        self.events.last_event_id()
    }

    /// The reconnection time from the latest valid `retry` field, if any.
    pub fn reconnection_time(&self) -> Option<Duration> {
        self.events.reconnection_time()
    }

    /// How the byte stream ended, once it has; see
    /// [`EventStream::end_of_stream`].
    pub fn end_of_stream(&self) -> Option<EndOfStream> {
        self.events.end_of_stream()
    }

    /// The byte stream.
    pub fn get_ref(&self) -> &S {
        self.events.get_ref()
    }

    /// The byte stream, giving up any input received but not yet decoded.
    pub fn into_inner(self) -> S {
        self.events.into_inner()
    }
}

impl<S, B, E> Stream for ItemStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    type Item = Result<Item, Error<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.project().events.poll_item(cx, true)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.events.size_hint()
    }
}

impl<S, B, E> FusedStream for ItemStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    fn is_terminated(&self) -> bool {
        self.events.is_terminated()
    }
}

/// Checks an HTTP response before its body is decoded, for programs that
/// keep their own HTTP client (reqwest, hyper, isahc...): the same typed
/// verdict as this crate's `client` module gives, from the codec's
/// [`ReconnectConfig::classify`](ssekit_codec::ReconnectConfig::classify).
///
/// Pass the status, the `Content-Type` value as bytes (`None` if absent)
/// and the `Retry-After` already turned into a delay (`None` if absent or
/// unparsable), and the policy's settings (`&ReconnectConfig::DEFAULT` for
/// the defaults, which retry 429, 502, 503 and 504):
///
/// - [`ResponseClass::Connected`](ssekit_codec::ResponseClass::Connected):
///   200 with `text/event-stream`; decode the body with
///   [`SseStreamExt::sse_events`] or [`SseStreamExt::sse_items`].
/// - [`ResponseClass::Stop`](ssekit_codec::ResponseClass::Stop): 204, the
///   server asks not to reconnect.
/// - [`ResponseClass::Retry`](ssekit_codec::ResponseClass::Retry): a
///   retryable status, with its `Retry-After`; hand it to
///   [`Reconnect::on_response`](ssekit_codec::Reconnect::on_response) or
///   wait and reconnect.
/// - [`ResponseClass::Fail`](ssekit_codec::ResponseClass::Fail): not an
///   event stream, with a [`ResponseError`](ssekit_codec::ResponseError)
///   carrying the status and the content type.
///
/// # Why check
///
/// A body that is not an event stream has no lines starting with `data:`,
/// so it decodes to no events at all: a `429 Too Many Requests` with a JSON
/// body used to end the stream silently, as if the server had nothing to
/// say. Checked first, it is an error with its status, before any decoding:
///
/// ```
/// use bytes::Bytes;
/// use futures::{stream, StreamExt};
/// use ssekit_adapters::codec::{ReconnectConfig, ResponseClass};
/// use ssekit_adapters::stream::{check_response, SseStreamExt};
///
/// # futures::executor::block_on(async {
/// let body = || stream::iter([Ok::<_, ()>(Bytes::from_static(br#"{"error":"slow down"}"#))]);
/// // Unchecked: nothing, and no error.
/// assert_eq!(body().sse_events().count().await, 0);
///
/// // Checked: a 429 is retryable by default; a 400 with JSON fails.
/// let json = Some(&b"application/json"[..]);
/// let config = ReconnectConfig::default();
/// assert_eq!(check_response(&config, 429, json, None), ResponseClass::Retry { retry_after: None });
/// let ResponseClass::Fail(err) = check_response(&config, 400, json, None) else { panic!() };
/// assert_eq!((err.status(), err.content_type()), (400, json));
/// // Also when 429 is not retryable for you:
/// let strict = config.retryable_status(429, false);
/// let ResponseClass::Fail(err) = check_response(&strict, 429, json, None) else { panic!() };
/// assert_eq!(err.to_string(), "HTTP status 429 where 200 was expected (content type `application/json`)");
///
/// let ok = Some(&b"text/event-stream; charset=utf-8"[..]);
/// assert_eq!(check_response(&config, 200, ok, None), ResponseClass::Connected);
/// assert_eq!(check_response(&config, 204, None, None), ResponseClass::Stop);
/// # });
/// ```
///
/// # Resuming
///
/// When the connection breaks, send
/// [`EventStream::last_event_id`] as the `Last-Event-ID` header of the new
/// request (if it is not empty), check the new response the same way, and
/// go on with [`EventStream::resume`] (or [`ItemStream::resume`]) on its
/// body: the last event ID and the reconnection time carry over.
///
/// ```
/// use bytes::Bytes;
/// use futures::{stream, StreamExt};
/// use ssekit_adapters::codec::{ReconnectConfig, ResponseClass};
/// use ssekit_adapters::stream::{check_response, SseStreamExt};
///
/// # futures::executor::block_on(async {
/// let config = ReconnectConfig::default();
/// let ct = Some(&b"text/event-stream"[..]);
/// assert_eq!(check_response(&config, 200, ct, None), ResponseClass::Connected);
/// let first = stream::iter([Ok::<_, ()>(Bytes::from_static(b"id: 1\ndata: a\n\nid: 2\nda"))]);
/// let mut events = first.sse_events();
/// assert_eq!(events.next().await.unwrap().unwrap().data(), "a");
/// assert!(events.next().await.is_none()); // the connection broke
///
/// let header = Bytes::copy_from_slice(events.last_event_id()); // send as `Last-Event-ID: 1`
/// assert_eq!(header, "1");
/// assert_eq!(check_response(&config, 200, ct, None), ResponseClass::Connected);
/// let second = stream::iter([Ok::<_, ()>(Bytes::from_static(b"id: 2\ndata: b\n\n"))]);
/// let mut events = events.resume(second);
/// assert_eq!(events.next().await.unwrap().unwrap().data(), "b");
/// # });
/// ```
///
/// A hyper 1.x body (`hyper::body::Incoming`) is an `http_body::Body`,
/// not a `Stream`: call `http_body_util::BodyExt::into_data_stream()` on it
/// before [`sse_events`](SseStreamExt::sse_events). reqwest's
/// `Response::bytes_stream()` (feature `stream`) is a `Stream` already.
pub fn check_response(
    config: &ssekit_codec::ReconnectConfig,
    status: u16,
    content_type: Option<&[u8]>,
    retry_after: Option<Duration>,
) -> ssekit_codec::ResponseClass {
    config.classify(status, content_type, retry_after)
}
