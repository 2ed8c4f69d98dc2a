//! The server side: an [`http_body::Body`] that streams events, with
//! heartbeats, backpressure, graceful shutdown, the right headers, the
//! `Last-Event-ID` request header, and a connection limit.
//!
//! # Example
//!
//! A handler that serves a stream from a producer task (channel mode),
//! resumes after the client's `Last-Event-ID`, and ends at shutdown with a
//! hint to reconnect in 2 s. It works with any server built on `http` 1.x
//! (hyper, axum, tonic's web stack):
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use http_body_util::BodyExt;
//! use ssekit_adapters::codec::Event;
//! use ssekit_adapters::http::{channel, LastEventId, Receiver, SseBody};
//! use tokio_util::sync::CancellationToken;
//!
//! fn handle<B>(request: &http::Request<B>, shutdown: &CancellationToken) -> http::Response<SseBody<Receiver>> {
//!     // IDs are counts; a header that is not one starts afresh. (Parsed as
//!     // u32 so that `after + 1` cannot overflow.)
//!     let after: u64 = match LastEventId::from_headers(request.headers()) {
//!         Ok(Some(id)) => id.parse::<u32>().map_or(0, u64::from),
//!         _ => 0,
//!     };
//!     let (tx, body) = channel(64);
//!     tokio::spawn(async move {
//!         for n in after + 1.. {
//!             let event = Event::builder().id(n.to_string()).data(format!("tick {n}")).build();
//!             if tx.send(event.expect("digits are a valid id")).await.is_err() {
//!                 break; // the client is gone
//!             }
//!             tokio::time::sleep(Duration::from_secs(1)).await;
//!         }
//!     });
//!     body.keep_alive(Duration::from_secs(15))
//!         .shutdown_token(shutdown.clone())
//!         .shutdown_retry(Duration::from_secs(2))
//!         .response()
//! }
//!
//! // A client reconnecting after event 41.
//! let request = http::Request::builder().header("last-event-id", "41").body(()).unwrap();
//! let shutdown = CancellationToken::new();
//! let mut body = handle(&request, &shutdown).into_body();
//! let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
//! assert_eq!(first, "id: 42\ndata: tick 42\n\n");
//!
//! shutdown.cancel(); // the server shuts down: the stream ends with a retry hint
//! let last = body.frame().await.unwrap().unwrap().into_data().unwrap();
//! assert_eq!(last, "retry: 2000\n\n");
//! assert!(body.frame().await.is_none());
//! # });
//! ```
//!
//! The examples `hyper_server` and `axum_server` in `adapters/examples/`
//! serve a complete application this way.
//!
//! # What the body guarantees
//!
//! - One HTTP data frame per event, encoded by the codec, written as soon as
//!   the event is there. A pre-encoded [`Bytes`](bytes::Bytes) frame is
//!   passed through as it is; an owned [`Event`](ssekit_codec::Event) costs
//!   one allocation, its frame.
//! - Heartbeats (feature `tokio`) after each interval (`SseBody::keep_alive`)
//!   of silence, from the codec's [`KeepAlive`](ssekit_codec::KeepAlive)
//!   schedule.
//! - A stream that stops at once when the client leaves: the server drops
//!   the body, and with it the stream and the channel, so a producer's
//!   `Sender::send` (feature `tokio`) fails. A client that closes its connection is seen
//!   at once by hyper, or at the latest by the next write (an event or a
//!   heartbeat). A client that vanished without closing (its machine lost
//!   power) is only found when TCP gives up on the unacknowledged writes,
//!   which takes minutes by default: heartbeats make that possible, and a
//!   server that must notice sooner sets `TCP_USER_TIMEOUT` or TCP
//!   keep-alive on its sockets.
//! - An end on [shutdown](SseBody::shutdown_on), so that the server's
//!   graceful shutdown completes instead of waiting for streams that would
//!   never end.
//!
//! # Compression
//!
//! A compressing middleware must not buffer the stream: a compressor that
//! waits for a full block holds every event back, and heartbeats with
//! them. tower-http's `CompressionLayer` leaves `text/event-stream`
//! responses alone with its default predicate, so events flow uncompressed;
//! keep that exclusion if you set a predicate of your own
//! (`DefaultPredicate`, or `NotForContentType::const_new("text/event-stream")`).
//! The tests run a stream through `CompressionLayer` to check it.
//!
//! # Features
//!
//! - `http`: this module without a timer: [`SseBody`], headers,
//!   [`LastEventId`], [`ConnectionLimit`], shutdown on any `Future`.
//! - `tokio`: heartbeats (`SseBody::keep_alive`, `SseBody::heartbeat`),
//!   `channel` mode, and `SseBody::shutdown_token`. Heartbeats are on by
//!   default with this feature (every 15 s), off without it.
//! - `axum` (implies `tokio`): `SseBody` is an `IntoResponse`;
//!   `Option<LastEventId>` is an extractor; `LastEventIdError` and
//!   `LimitReached` are responses.
//!
//! `SseBody<S>` is `Unpin` when `S` is, and `Send`/`Sync` when `S` is,
//! whatever the features.

mod body;
#[cfg(feature = "tokio")]
mod channel;
mod headers;
mod limit;
#[cfg(feature = "lite-server")]
pub mod lite;
mod timer;

#[cfg(all(test, feature = "tokio"))]
mod tests;

#[cfg(feature = "axum")]
mod axum;

pub use body::{IntoFrame, SseBody};
#[cfg(feature = "tokio")]
pub use channel::{channel, Receiver, SendError, Sender, TrySendError};
pub use headers::{
    set_response_headers, LastEventId, LastEventIdError, LAST_EVENT_ID, TEXT_EVENT_STREAM,
    X_ACCEL_BUFFERING,
};
pub use limit::{ConnectionLimit, ConnectionPermit, LimitReached};
