//! [`tokio_util::codec`] support: read events with [`FramedRead`] from any
//! [`AsyncRead`], write them with [`FramedWrite`] to any [`AsyncWrite`].
//!
//! Two decoders share one [`EventDecoder`] underneath and differ only in what
//! happens after a [`Limits`] bound is exceeded:
//!
//! | codec | `FramedRead` yields | after an over-limit event |
//! |---|---|---|
//! | [`SseCodec`] | `Result<Event, Error>` | one `Err(Error::Decode)`, then the stream ends |
//! | [`RecoveringSseCodec`] | `Result<Result<Event, DecodeError>, io::Error>` | one `Ok(Err(_))`, then the next events |
//!
//! The difference comes from [`FramedRead`], not from the codec: tokio-util
//! treats every decoder error as unrecoverable, returns it, and then ends the
//! stream by returning `None`. The event decoder itself has already skipped to
//! the next event boundary, so [`RecoveringSseCodec`] reports the dropped
//! event as an item (as tokio-util's docs suggest for messages that can be
//! ignored) and only I/O errors remain errors.
//!
//! [`FramedRead`]: tokio_util::codec::FramedRead
//! [`FramedWrite`]: tokio_util::codec::FramedWrite
//! [`AsyncRead`]: https://docs.rs/tokio/1/tokio/io/trait.AsyncRead.html
//! [`AsyncWrite`]: https://docs.rs/tokio/1/tokio/io/trait.AsyncWrite.html
//!
//! # Example
//!
//! ```
//! use futures::StreamExt;
//! use ssekit_adapters::tokio::SseCodec;
//! use tokio_util::codec::FramedRead;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ssekit_adapters::tokio::Error> {
//! // Any `AsyncRead` works: a socket, a child's stdout, or a byte slice.
//! let input: &[u8] = b"event: greet\ndata: hello\n\n: keep-alive\n\ndata: bye\n\n";
//! let mut events = FramedRead::new(input, SseCodec::new());
//! let mut seen = Vec::new();
//! while let Some(event) = events.next().await {
//!     let event = event?;
//!     seen.push((event.event_type_lossy().into_owned(), event.data_lossy().into_owned()));
//! }
//! assert_eq!(seen, [("greet".into(), "hello".into()), ("message".into(), "bye".into())]);
//! # Ok(())
//! # }
//! ```
//!
//! Writing is the other way round; [`SseCodec`] also takes pre-encoded
//! frames, so that an event sent to many clients is encoded once:
//!
//! ```
//! use futures::SinkExt;
//! use ssekit_adapters::codec::Event;
//! use ssekit_adapters::tokio::SseCodec;
//! use tokio_util::codec::FramedWrite;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn core::error::Error>> {
//! // Any `AsyncWrite` works; a `Vec<u8>` keeps what was written.
//! let mut out = FramedWrite::new(Vec::new(), SseCodec::new());
//! out.send(Event::new("hello")).await?;
//! let shared = Event::builder().event_type("news").data("for everyone").build()?.to_bytes();
//! out.send(shared.clone()).await?;
//! assert_eq!(out.get_ref(), b"data: hello\n\nevent: news\ndata: for everyone\n\n");
//! # Ok(())
//! # }
//! ```

use core::fmt;
use core::time::Duration;
use std::io;

use bytes::{Bytes, BytesMut};
use ssekit_codec::{DecodeError, EndOfStream, Event, EventDecoder, Limits};
use tokio_util::codec::{Decoder, Encoder};

/// The room the decoders ask for at the back of the read buffer, in bytes:
/// what `FramedRead` starts its buffer with.
const READ_ROOM: usize = 8 * 1024;

/// An error from [`SseCodec`]: reading or writing failed, or an event broke a
/// [`Limits`] bound.
///
/// [`Display`](fmt::Display) gives a one-line summary;
/// [`source`](std::error::Error::source) returns the underlying
/// [`io::Error`] or [`DecodeError`].
///
/// ```
/// use std::error::Error as _;
/// use ssekit_adapters::tokio::Error;
///
/// let err = Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
/// assert!(matches!(err, Error::Io(_)));
/// assert_eq!(err.to_string(), "I/O error on the event stream");
/// assert!(err.source().is_some());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The underlying reader or writer failed.
    Io(io::Error),
    /// An event broke a [`Limits`] bound and was dropped. The codec has
    /// skipped to the next event boundary, but [`FramedRead`] ends its stream
    /// after any error; use [`RecoveringSseCodec`] to keep reading.
    ///
    /// [`FramedRead`]: tokio_util::codec::FramedRead
    Decode(DecodeError),
}

impl Error {
    /// The decoding error, if this is one.
    pub fn as_decode(&self) -> Option<&DecodeError> {
        match self {
            Error::Decode(err) => Some(err),
            Error::Io(_) => None,
        }
    }

    /// The I/O error, if this is one.
    pub fn as_io(&self) -> Option<&io::Error> {
        match self {
            Error::Io(err) => Some(err),
            Error::Decode(_) => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(_) => f.write_str("I/O error on the event stream"),
            Error::Decode(err) => write!(f, "event dropped: over the {} limit", err.limit()),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Io(err) => Some(err),
            Error::Decode(err) => Some(err),
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::Io(err)
    }
}

/// For callers that want [`io::Error`]s only, such as
/// `tokio_util::io::StreamReader`: a decoding error becomes
/// [`io::ErrorKind::InvalidData`] carrying the [`DecodeError`].
///
/// ```
/// use ssekit_adapters::tokio::Error;
///
/// let err = Error::from(std::io::Error::other("boom"));
/// assert_eq!(std::io::Error::from(err).to_string(), "boom");
/// ```
impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        match err {
            Error::Io(err) => err,
            Error::Decode(err) => io::Error::new(io::ErrorKind::InvalidData, err),
        }
    }
}

impl From<DecodeError> for Error {
    fn from(err: DecodeError) -> Self {
        Error::Decode(err)
    }
}

/// The state both codecs share: the event decoder and how the last stream
/// ended.
#[derive(Debug, Clone, Default)]
struct Core {
    decoder: EventDecoder,
    end: Option<EndOfStream>,
}

impl Core {
    fn new(decoder: EventDecoder) -> Core {
        Core { decoder, end: None }
    }

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        // Input after an end of stream starts a new stream.
        self.end = None;
        let decoded = self.decoder.decode(src);
        if let Ok(None) = decoded {
            // The decoder splits complete lines off the front of the buffer,
            // which can leave it little room at the back. FramedRead reads
            // only into that room, so ask for a full read's worth: with no
            // event still holding the storage, this moves the incomplete
            // line to the front instead of allocating.
            if src.capacity() - src.len() < READ_ROOM / 4 {
                src.reserve(READ_ROOM);
            }
        }
        decoded
    }

    /// Decodes what is left; once nothing is, applies the spec's end-of-file
    /// rule: an event with no blank line after it is dropped, silently.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        if let Some(event) = self.decode(src)? {
            return Ok(Some(event));
        }
        self.end = Some(self.decoder.finish(src));
        Ok(None)
    }

    fn reconnection_time(&self) -> Option<Duration> {
        self.decoder.reconnection_time().map(Duration::from_millis)
    }
}

/// Accessors both codecs share; documented once here.
macro_rules! shared_accessors {
    ($codec:ident) => {
        impl $codec {
            /// A codec with the default [`Limits`], which are safe for
            /// untrusted peers.
            pub fn new() -> $codec {
                $codec::from_decoder(EventDecoder::new())
            }

            /// A codec with the given [`Limits`].
            pub fn with_limits(limits: Limits) -> $codec {
                $codec::from_decoder(EventDecoder::with_limits(limits))
            }

            /// A codec around a configured [`EventDecoder`], for example one
            /// given a saved last event ID with
            /// [`EventDecoder::set_last_event_id`] to resume a stream.
            pub fn from_decoder(decoder: EventDecoder) -> $codec {
                $codec {
                    core: Core::new(decoder),
                }
            }

            /// The event decoder underneath.
            pub fn decoder(&self) -> &EventDecoder {
                &self.core.decoder
            }

            /// The limits in force.
            pub fn limits(&self) -> &Limits {
                self.core.decoder.limits()
            }

            /// The last event ID seen so far: what a reconnecting client
            /// sends as `Last-Event-ID`. Empty if none was set.
            pub fn last_event_id(&self) -> &[u8] {
                self.core.decoder.last_event_id()
            }

            /// The reconnection time from the latest valid `retry` field, if
            /// any was seen.
            pub fn reconnection_time(&self) -> Option<Duration> {
                self.core.reconnection_time()
            }

            /// How the input ended, once [`FramedRead`] has reached its end:
            /// [`EndOfStream::Clean`] at an event boundary,
            /// [`EndOfStream::Truncated`] when an incomplete event was
            /// dropped there. `None` while the stream is still being read.
            ///
            /// The spec does not treat a truncated stream as an error, so
            /// [`FramedRead`] does not report one; ask here through
            /// [`FramedRead::decoder`] to tell a complete answer from a cut
            /// off one.
            ///
            /// [`FramedRead`]: tokio_util::codec::FramedRead
            /// [`FramedRead::decoder`]: tokio_util::codec::FramedRead::decoder
            pub fn end_of_stream(&self) -> Option<EndOfStream> {
                self.core.end
            }
        }

        impl Default for $codec {
            fn default() -> Self {
                $codec::new()
            }
        }

        impl From<EventDecoder> for $codec {
            fn from(decoder: EventDecoder) -> Self {
                $codec::from_decoder(decoder)
            }
        }
    };
}

/// A [`tokio_util::codec`] codec for `text/event-stream`: decodes [`Event`]s
/// and encodes them.
///
/// All parsing is done by [`EventDecoder`]: events share the read buffer's
/// storage instead of being copied, comments are skipped, and
/// [`Limits`] bound what one peer can make you buffer.
///
/// # Decoding
///
/// - `decode` returns the next complete event, or `None` until more input
///   arrives.
/// - `decode_eof` applies the spec's end-of-file rule: an event without a
///   blank line after it is dropped and this is *not* an error. Whether that
///   happened is told by [`end_of_stream`](SseCodec::end_of_stream).
/// - A [`Limits`] bound being exceeded returns [`Error::Decode`]. The codec
///   drops that event and would carry on at the next one, but [`FramedRead`]
///   ends its stream after any decoder error. To keep reading, use
///   [`RecoveringSseCodec`], which reports dropped events as items.
///
/// # Encoding
///
/// `SseCodec` implements `Encoder<Event>`, `Encoder<&Event>` and
/// `Encoder<Bytes>`. The last one writes an already encoded frame as it is,
/// so a server that fans one event out to many clients encodes it once with
/// [`Event::to_bytes`] and sends the [`Bytes`] to every [`FramedWrite`].
///
/// With three item types, `FramedWrite`'s `flush` and `close` (which take no
/// item) need the type named: `SinkExt::<Event>::close(&mut sink)`. `send`
/// infers it from its argument.
///
/// ```
/// use futures::SinkExt;
/// use ssekit_adapters::codec::Event;
/// use ssekit_adapters::tokio::SseCodec;
/// use tokio_util::codec::FramedWrite;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ssekit_adapters::tokio::Error> {
/// let (client, server) = tokio::io::duplex(1024);
/// let mut sink = FramedWrite::new(server, SseCodec::new());
/// let event = Event::new("kept");
/// sink.send(&event).await?;
/// SinkExt::<Event>::close(&mut sink).await?;
/// # drop(client);
/// # Ok(())
/// # }
/// ```
///
/// # Example
///
/// ```
/// use futures::StreamExt;
/// use ssekit_adapters::tokio::SseCodec;
/// use ssekit_codec::{EndOfStream, Limits};
/// use tokio_util::codec::FramedRead;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ssekit_adapters::tokio::Error> {
/// let input: &[u8] = b"retry: 2500\nid: 7\ndata: done\n\ndata: cut of";
/// let codec = SseCodec::with_limits(Limits::default().max_line_len(64 * 1024));
/// let mut events = FramedRead::new(input, codec);
/// assert_eq!(events.next().await.unwrap()?.data(), "done");
/// assert!(events.next().await.is_none());
///
/// let codec = events.decoder();
/// assert_eq!(codec.end_of_stream(), Some(EndOfStream::Truncated));
/// assert_eq!(codec.last_event_id(), b"7");
/// assert_eq!(codec.reconnection_time(), Some(std::time::Duration::from_millis(2500)));
/// # Ok(())
/// # }
/// ```
///
/// [`FramedRead`]: tokio_util::codec::FramedRead
/// [`FramedWrite`]: tokio_util::codec::FramedWrite
#[derive(Debug, Clone)]
pub struct SseCodec {
    core: Core,
}

shared_accessors!(SseCodec);

impl SseCodec {
    /// Turns this codec into one that reports over-limit events as items and
    /// keeps decoding, keeping its state.
    pub fn recovering(self) -> RecoveringSseCodec {
        RecoveringSseCodec { core: self.core }
    }
}

impl Decoder for SseCodec {
    type Item = Event;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Event>, Error> {
        Ok(self.core.decode(src)?)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Event>, Error> {
        Ok(self.core.decode_eof(src)?)
    }
}

/// Encodes the event into the write buffer with [`Event::encode`]. Never
/// fails: every [`Event`] has a valid encoding.
impl Encoder<Event> for SseCodec {
    type Error = Error;

    fn encode(&mut self, event: Event, dst: &mut BytesMut) -> Result<(), Error> {
        event.encode(dst);
        Ok(())
    }
}

/// Encodes the event into the write buffer with [`Event::encode`], so that
/// the caller keeps the event. Never fails.
impl Encoder<&Event> for SseCodec {
    type Error = Error;

    fn encode(&mut self, event: &Event, dst: &mut BytesMut) -> Result<(), Error> {
        event.encode(dst);
        Ok(())
    }
}

/// Writes an already encoded frame, such as one from [`Event::to_bytes`],
/// as it is: encode once, send to many. The bytes are not checked; they
/// must be whole events (or comments) for the peer to decode them.
impl Encoder<Bytes> for SseCodec {
    type Error = Error;

    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> Result<(), Error> {
        dst.extend_from_slice(&frame);
        Ok(())
    }
}

/// Like [`SseCodec`], but an event that breaks a [`Limits`] bound is reported
/// as an `Err` *item*, so that [`FramedRead`] keeps going with the events
/// after it. The decoder's only errors are I/O errors.
///
/// It only decodes; write events with [`SseCodec`].
///
/// # Example
///
/// ```
/// use futures::StreamExt;
/// use ssekit_adapters::tokio::RecoveringSseCodec;
/// use ssekit_codec::{Limit, Limits};
/// use tokio_util::codec::FramedRead;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let input: &[u8] = b"data: this line is too long\n\ndata: ok\n\n";
/// let codec = RecoveringSseCodec::with_limits(Limits::default().max_line_len(16));
/// let mut items = FramedRead::new(input, codec);
///
/// let dropped = items.next().await.unwrap()?.unwrap_err();
/// assert_eq!(dropped.limit(), Limit::LineLength);
/// let event = items.next().await.unwrap()?.unwrap();
/// assert_eq!(event.data(), "ok");
/// assert!(items.next().await.is_none());
/// # Ok(())
/// # }
/// ```
///
/// [`FramedRead`]: tokio_util::codec::FramedRead
#[derive(Debug, Clone)]
pub struct RecoveringSseCodec {
    core: Core,
}

shared_accessors!(RecoveringSseCodec);

impl Decoder for RecoveringSseCodec {
    type Item = Result<Event, DecodeError>;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Self::Item>> {
        Ok(self.core.decode(src).transpose())
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> io::Result<Option<Self::Item>> {
        Ok(self.core.decode_eof(src).transpose())
    }
}
