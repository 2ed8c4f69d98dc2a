//! Channel mode: a producer task sends events, the body streams them.

use core::convert::Infallible;
use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::mpsc;

use super::{IntoFrame, SseBody};

/// A body fed by a [`Sender`], and the sender: channel mode.
///
/// The channel holds at most `capacity` frames (at least 1, at most
/// [`tokio::sync::Semaphore::MAX_PERMITS`]; values outside are clamped).
/// Events are encoded by the sender, in the producer's task, so the body
/// only moves frames. See [`SseBody::new`] for the runtime the body's
/// heartbeats need.
///
/// - [`Sender::send`] waits while the channel is full: a slow client slows
///   its producer down instead of growing a queue without bound.
/// - Once the client is gone (the server dropped the body), every send
///   fails with [`SendError`], so a producer loop ends instead of leaking.
///   [`Sender::closed`] waits for that moment.
/// - Dropping every sender ends the stream cleanly, after the frames
///   already queued are written.
///
/// # Example
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use http_body_util::BodyExt;
/// use ssekit_adapters::codec::Event;
///
/// let (tx, body) = ssekit_adapters::http::channel(16);
/// tokio::spawn(async move {
///     for n in 0..3 {
///         let event = Event::builder().id(n.to_string()).data(format!("tick {n}")).build()?;
///         if tx.send(event).await.is_err() {
///             break; // the client left: stop producing
///         }
///     }
///     Ok::<(), ssekit_adapters::codec::EncodeError>(())
///     // `tx` is dropped here: the stream ends after the queued events.
/// });
/// let bytes = body.collect().await.unwrap().to_bytes();
/// assert_eq!(bytes, "id: 0\ndata: tick 0\n\nid: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\n");
/// # });
/// ```
pub fn channel(capacity: usize) -> (Sender, SseBody<Receiver>) {
    let (tx, rx) = mpsc::channel(capacity.clamp(1, tokio::sync::Semaphore::MAX_PERMITS));
    (Sender { inner: tx }, SseBody::new(Receiver { inner: rx }))
}

/// The sending half of [`channel`]; clone it to feed one stream from
/// several tasks.
#[derive(Clone)]
pub struct Sender {
    inner: mpsc::Sender<Bytes>,
}

impl Sender {
    /// Encodes `event` and queues it, waiting while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] when the client is gone: the body was dropped, so
    /// nothing will ever be written again. Stop producing.
    pub async fn send(&self, event: impl IntoFrame<Error = Infallible>) -> Result<(), SendError> {
        let frame = encode(event);
        self.inner
            .send(frame)
            .await
            .map_err(|mpsc::error::SendError(frame)| SendError { frame })
    }

    /// Encodes `event` and queues it if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when the channel is full (the client reads
    /// slower than you send), and [`TrySendError::Closed`] when the client
    /// is gone. Both give the encoded frame back, to send again later.
    pub fn try_send(&self, event: impl IntoFrame<Error = Infallible>) -> Result<(), TrySendError> {
        self.inner.try_send(encode(event)).map_err(|err| match err {
            mpsc::error::TrySendError::Full(frame) => TrySendError::Full(frame),
            mpsc::error::TrySendError::Closed(frame) => TrySendError::Closed(frame),
        })
    }

    /// Completes when the client is gone (the body was dropped), for a
    /// producer that waits on something else between events.
    pub async fn closed(&self) {
        self.inner.closed().await;
    }

    /// Whether the client is gone.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// How many more frames the channel has room for now.
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .field("capacity", &self.capacity())
            .finish()
    }
}

fn encode(event: impl IntoFrame<Error = Infallible>) -> Bytes {
    match event.into_frame() {
        Ok(frame) => frame,
        Err(never) => match never {},
    }
}

/// The receiving half of [`channel`], inside the body: a [`Stream`] of
/// encoded frames.
#[derive(Debug)]
pub struct Receiver {
    inner: mpsc::Receiver<Bytes>,
}

impl Stream for Receiver {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        self.inner.poll_recv(cx)
    }
}

/// The client is gone: a send on a [`channel`] whose body was dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SendError {
    frame: Bytes,
}

impl SendError {
    /// The frame that was not sent.
    pub fn into_frame(self) -> Bytes {
        self.frame
    }
}

impl fmt::Debug for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the SSE client is gone (its response body was dropped): stop sending to it")
    }
}

impl core::error::Error for SendError {}

/// A [`Sender::try_send`] that did not queue its frame.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrySendError {
    /// The channel is full: the client reads slower than events come.
    Full(Bytes),
    /// The client is gone: stop sending to it.
    Closed(Bytes),
}

impl TrySendError {
    /// The frame that was not sent.
    pub fn into_frame(self) -> Bytes {
        match self {
            TrySendError::Full(frame) | TrySendError::Closed(frame) => frame,
        }
    }
}

impl fmt::Debug for TrySendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "Full(..)",
            TrySendError::Closed(_) => "Closed(..)",
        })
    }
}

impl fmt::Display for TrySendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str(
                "the SSE channel is full: the client reads slower than events are sent; \
                 wait with `send` or drop the event",
            ),
            TrySendError::Closed(_) => f.write_str(
                "the SSE client is gone (its response body was dropped): stop sending to it",
            ),
        }
    }
}

impl core::error::Error for TrySendError {}
