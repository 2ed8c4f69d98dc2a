//! The response body: a stream of events, encoded one frame per event, with
//! heartbeats and a shutdown signal.

use core::convert::Infallible;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::boxed::Box;

use bytes::Bytes;
use futures_core::Stream;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use ssekit_codec::{EncodeError, Event, EventRef};

use super::limit::ConnectionPermit;
use super::timer::Timer;

/// A stream item that becomes one frame of the event stream.
///
/// - [`Event`] is encoded with [`Event::to_bytes`]: one allocation, of
///   exactly the frame's length.
/// - [`Bytes`] is taken as a frame already encoded (for example one
///   [`Event::to_bytes`] shared by many streams) and passed on without a
///   copy or a check.
/// - `Result<T, E>` passes `T` on and ends the stream with `E`, which the
///   body yields as its error: the server then aborts the response, and a
///   client sees a broken stream and reconnects.
pub trait IntoFrame {
    /// The error that ends the stream.
    type Error;

    /// The encoded frame.
    ///
    /// # Errors
    ///
    /// Whatever the item carries; see the implementations.
    fn into_frame(self) -> Result<Bytes, Self::Error>;
}

impl IntoFrame for Event {
    type Error = Infallible;

    #[inline]
    fn into_frame(self) -> Result<Bytes, Infallible> {
        Ok(self.to_bytes())
    }
}

impl IntoFrame for Bytes {
    type Error = Infallible;

    #[inline]
    fn into_frame(self) -> Result<Bytes, Infallible> {
        Ok(self)
    }
}

/// A borrowed frame is checked and encoded; an invalid one (a line break
/// in its type, ID or comment) ends the stream with the [`EncodeError`].
impl IntoFrame for EventRef<'_> {
    type Error = EncodeError;

    #[inline]
    fn into_frame(self) -> Result<Bytes, EncodeError> {
        self.to_bytes()
    }
}

impl<T: IntoFrame<Error = Infallible>, E> IntoFrame for Result<T, E> {
    type Error = E;

    #[inline]
    fn into_frame(self) -> Result<Bytes, E> {
        match self {
            Ok(item) => match item.into_frame() {
                Ok(frame) => Ok(frame),
                Err(never) => match never {},
            },
            Err(err) => Err(err),
        }
    }
}

/// A shutdown signal, boxed once per stream. It is only ever polled
/// through `&mut`, so the wrapper makes the body `Sync` (as
/// `http_body_util::combinators::BoxBody` requires) without asking the
/// signal to be.
type Signal = sync_wrapper::SyncWrapper<Pin<Box<dyn Future<Output = ()> + Send>>>;

pin_project! {
    /// An [`http_body::Body`] that streams Server-Sent Events.
    ///
    /// Built from any [`Stream`] whose items are [`IntoFrame`]: owned
    /// [`Event`]s, pre-encoded [`Bytes`] frames, or `Result`s of either. Each
    /// item becomes one data frame, written as soon as the stream yields it.
    ///
    /// - **Heartbeats** (feature `tokio`): after 15 s with no frame (see
    ///   [`keep_alive`](SseBody::keep_alive)), the body writes a comment
    ///   that clients ignore and proxies count as traffic. The schedule is
    ///   the codec's [`KeepAlive`](ssekit_codec::KeepAlive); an event
    ///   written costs one clock read, never a timer reset.
    /// - **Shutdown**: when the future given to
    ///   [`shutdown_on`](SseBody::shutdown_on) completes, the body writes
    ///   an optional last frame (a `retry:` hint, say) and ends, so that the
    ///   server's graceful shutdown can finish. Events still queued are not
    ///   written.
    /// - **Ends** when the stream ends, cleanly; or with the stream's error
    ///   when it yields an `Err`.
    /// - **Client gone**: when the client disconnects, the server drops the
    ///   body, and with it the stream. Producers that feed the stream
    ///   through [`channel`](super::channel) see their next send fail.
    ///
    /// # Example
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use futures::stream;
    /// use http_body_util::BodyExt;
    /// use ssekit_adapters::http::SseBody;
    /// use ssekit_adapters::codec::Event;
    ///
    /// let events = stream::iter([Event::new("one"), Event::builder().id("2").data("two").build()?]);
    /// let response = SseBody::new(events).keep_alive(Duration::from_secs(30)).response();
    /// assert_eq!(response.headers()["content-type"], "text/event-stream");
    ///
    /// let bytes = response.into_body().collect().await.unwrap().to_bytes();
    /// assert_eq!(bytes, "data: one\n\nid: 2\ndata: two\n\n");
    /// # Ok::<(), ssekit_adapters::codec::EncodeError>(())
    /// # }).unwrap();
    /// ```
    #[must_use = "a body does nothing unless it is sent as a response"]
    pub struct SseBody<S> {
        #[pin]
        stream: S,
        timer: Timer,
        shutdown: Option<Signal>,
        shutdown_frame: Option<Bytes>,
        permit: Option<ConnectionPermit>,
        done: bool,
    }
}

impl<S> SseBody<S> {
    /// A body streaming `stream`'s items, with heartbeats every
    /// [15 s](ssekit_codec::KeepAlive::DEFAULT_INTERVAL) of silence when the
    /// `tokio` feature is on.
    ///
    /// # Panics
    ///
    /// With the `tokio` feature, polling the body panics inside a Tokio
    /// runtime built without its time driver (`enable_time`, or
    /// `enable_all`), as any tokio timer does; Tokio offers no way to check
    /// for it first. Turn heartbeats off with `keep_alive(Duration::ZERO)`
    /// on such a runtime. Outside any Tokio runtime the body sends no
    /// heartbeats and does not panic.
    pub fn new(stream: S) -> SseBody<S> {
        SseBody {
            stream,
            timer: Timer::new(),
            shutdown: None,
            shutdown_frame: None,
            permit: None,
            done: false,
        }
    }

    /// Ends the stream when `signal` completes: write the
    /// [`shutdown_frame`](SseBody::shutdown_frame), if any, then end.
    ///
    /// Give each stream its own handle on one shared signal: with a
    /// tokio-util `CancellationToken`, `token.child_token().cancelled_owned()`
    /// (what `shutdown_token` does, with the `tokio` feature). The signal is
    /// polled on every frame, so a signal whose poll takes a lock shared by
    /// every stream (`token.clone().cancelled_owned()`) makes busy streams
    /// contend on it. Costs one allocation per stream.
    ///
    /// ```
    /// use futures::{stream, StreamExt};
    /// use http_body_util::BodyExt;
    /// use ssekit_adapters::codec::Event;
    /// use ssekit_adapters::http::SseBody;
    ///
    /// # futures::executor::block_on(async {
    /// let (stop, stopped) = futures::channel::oneshot::channel::<()>();
    /// // A stream that never ends by itself.
    /// let events = stream::iter([Event::new("hi")]).chain(stream::pending());
    /// let body = SseBody::new(events)
    ///     .shutdown_on(async move { let _ = stopped.await; })
    ///     .shutdown_frame(bytes::Bytes::from_static(b"event: bye\ndata: \n\n"));
    /// stop.send(()).unwrap();
    /// let bytes = body.collect().await.unwrap().to_bytes();
    /// assert_eq!(bytes, "event: bye\ndata: \n\n", "shutdown comes first");
    /// # });
    /// ```
    pub fn shutdown_on<F>(mut self, signal: F) -> SseBody<S>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.shutdown = Some(sync_wrapper::SyncWrapper::new(Box::pin(signal)));
        self
    }

    /// The last frame to write when the shutdown signal ends the stream,
    /// for example a `retry:` hint: see
    /// [`shutdown_retry`](SseBody::shutdown_retry). It is written as it is.
    pub fn shutdown_frame(mut self, frame: Bytes) -> SseBody<S> {
        self.shutdown_frame = Some(frame);
        self
    }

    /// At shutdown, tell clients to reconnect after `delay` (a `retry:`
    /// field, in milliseconds), so that a restart is not an outage: an
    /// `EventSource` waits that long, then reconnects with its
    /// `Last-Event-ID`.
    pub fn shutdown_retry(self, delay: Duration) -> SseBody<S> {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        // A frame with a retry field alone is always valid.
        let frame = EventRef::new().retry(ms).to_bytes().unwrap_or_default();
        self.shutdown_frame(frame)
    }

    /// Holds `permit` for as long as the body lives, so that the
    /// [`ConnectionLimit`](super::ConnectionLimit) counts this stream as
    /// open until the client leaves or the stream ends.
    pub fn hold(mut self, permit: ConnectionPermit) -> SseBody<S> {
        self.permit = Some(permit);
        self
    }

    /// The stream of items.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream of items, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The stream of items, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut S> {
        self.project().stream
    }

    /// The stream of items; the rest of the body (timer, signal, permit)
    /// is dropped.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// Wraps the body in a `200 OK` response with the event stream's
    /// headers (see [`set_response_headers`](super::set_response_headers)).
    pub fn response(self) -> http::Response<SseBody<S>> {
        let mut response = http::Response::new(self);
        super::set_response_headers(response.headers_mut());
        response
    }
}

#[cfg(feature = "tokio")]
impl<S> SseBody<S> {
    /// Sets the interval of silence after which a heartbeat is written;
    /// `Duration::ZERO` turns heartbeats off. Any frame written resets it.
    pub fn keep_alive(mut self, interval: Duration) -> SseBody<S> {
        self.timer.set_interval(interval);
        self
    }

    /// Sets the heartbeat frame, encoded once here (one allocation).
    ///
    /// ```
    /// use ssekit_adapters::codec::Heartbeat;
    /// use ssekit_adapters::http::SseBody;
    ///
    /// let body = SseBody::new(futures::stream::empty::<bytes::Bytes>())
    ///     .heartbeat(Heartbeat::new(" heartbeat").pad_to(2048))?;
    /// # drop(body);
    /// # Ok::<(), ssekit_adapters::codec::EncodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EncodeError::InvalidValue`] for a CR or LF in the comment.
    pub fn heartbeat(
        mut self,
        heartbeat: ssekit_codec::Heartbeat<'_>,
    ) -> Result<Self, EncodeError> {
        self.timer.set_frame(heartbeat.to_bytes()?);
        Ok(self)
    }

    /// Ends the stream when `token` is cancelled; see
    /// [`shutdown_on`](SseBody::shutdown_on).
    ///
    /// The body waits on a [child](tokio_util::sync::CancellationToken::child_token)
    /// of `token`, so that the streams of one server do not all poll the
    /// same token's lock on every frame.
    pub fn shutdown_token(self, token: tokio_util::sync::CancellationToken) -> SseBody<S> {
        self.shutdown_on(token.child_token().cancelled_owned())
    }
}

impl<S> http_body::Body for SseBody<S>
where
    S: Stream,
    S::Item: IntoFrame,
{
    type Data = Bytes;
    type Error = <S::Item as IntoFrame>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if let Some(signal) = this.shutdown.as_mut() {
            if signal.get_mut().as_mut().poll(cx).is_ready() {
                *this.done = true;
                *this.shutdown = None;
                return Poll::Ready(this.shutdown_frame.take().map(|f| Ok(Frame::data(f))));
            }
        }
        match this.stream.poll_next(cx) {
            Poll::Ready(Some(item)) => match item.into_frame() {
                Ok(frame) => {
                    this.timer.on_frame_sent();
                    Poll::Ready(Some(Ok(Frame::data(frame))))
                }
                Err(err) => {
                    *this.done = true;
                    Poll::Ready(Some(Err(err)))
                }
            },
            Poll::Ready(None) => {
                *this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => match this.timer.poll_heartbeat(cx) {
                Poll::Ready(frame) => Poll::Ready(Some(Ok(Frame::data(frame)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl<S> fmt::Debug for SseBody<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseBody")
            .field("timer", &self.timer)
            .field("shutdown", &self.shutdown.is_some())
            .field("shutdown_frame", &self.shutdown_frame)
            .field("permit", &self.permit)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
