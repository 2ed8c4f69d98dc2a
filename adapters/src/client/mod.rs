//! The reconnecting client: an [`EventSource`], a [`Stream`](futures_core::Stream)
//! of events over HTTP/1.1 that reconnects as the browser's `EventSource`
//! does, with the request you choose (any method, headers, a body).
//!
//! The client is a shell. The body's bytes go to the codec's
//! [`ChunkDecoder`](ssekit_codec::ChunkDecoder); every decision about time
//! (when to reconnect, when to give up, when a silent connection is dead)
//! comes from the codec's [`Reconnect`](ssekit_codec::Reconnect) policy,
//! set with [`Builder::reconnect`].
//!
//! - **Every reconnect** sends the same request again with
//!   `Last-Event-ID` set to the ID of the latest event received (or the one
//!   seeded with [`Builder::last_event_id`]), after the server's `retry:`
//!   time, with backoff and jitter.
//! - **A clean end is not an error**: when the server closes the stream,
//!   the client reconnects after the reconnection time, as `EventSource`
//!   does. A `204 No Content` stops it for good ([`Message::Stopped`]).
//! - **Rejections are typed**: a status other than 200 (and not retryable:
//!   by default 429, 502, 503 and 504 are, honouring `Retry-After`) or a
//!   content type other than `text/event-stream` ends the stream with
//!   [`Error::Rejected`], carrying the status, headers and the first 512
//!   bytes of the body.
//! - **Notices** tell the application what happens: [`Message::Open`] with
//!   the response's status and headers, [`Message::Reconnecting`] with the
//!   delay and a [`Disconnect`] reason.
//! - **Nothing left behind**: events are read only while the stream is
//!   polled, and dropping the stream closes the connection at once, which
//!   ends hyper-util's task for it.
//!
//! # Example
//!
//! A server made with this crate's [`SseBody`](crate::http::SseBody) on
//! 127.0.0.1, and a client reading two events from it:
//!
//! ```
//! # #[cfg(feature = "http")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use futures::{stream, StreamExt};
//! use hyper_util::rt::TokioIo;
//! use ssekit_adapters::client::{EventSource, Message};
//! use ssekit_adapters::codec::Event;
//! use ssekit_adapters::http::SseBody;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("http://{}/events", listener.local_addr()?);
//! let server = tokio::spawn(async move {
//!     let (socket, _) = listener.accept().await?;
//!     let service = hyper::service::service_fn(|_request| async {
//!         let events = stream::iter([Event::new("one"), Event::new("two")]);
//!         Ok::<_, std::convert::Infallible>(SseBody::new(events).response())
//!     });
//!     hyper::server::conn::http1::Builder::new()
//!         .serve_connection(TokioIo::new(socket), service)
//!         .await
//!         .map_err(std::io::Error::other)
//! });
//!
//! let mut source = EventSource::builder(url).build()?;
//! let mut data = Vec::new();
//! while let Some(message) = source.next().await {
//!     match message? {
//!         Message::Open { status, .. } => assert_eq!(status, 200),
//!         Message::Event(event) => data.push(event.data()),
//!         _ => {}
//!     }
//!     if data.len() == 2 {
//!         break;
//!     }
//! }
//! assert_eq!(data, ["one", "two"]);
//! drop(source); // closes the connection
//! server.await??;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Features
//!
//! - `client`: this module, plain `http://`.
//! - `client-rustls`: `https://` through hyper-rustls and rustls with the
//!   `ring` provider; the Mozilla roots of `webpki-roots` by default, or
//!   your own configuration with [`Builder::tls_config`].

mod builder;
mod connector;
mod driver;
mod error;
mod message;
mod random;
#[cfg(test)]
mod tests;

pub use builder::Builder;
pub use driver::EventSource;
pub use error::{BoxError, BuildError, Disconnect, Error, Rejected};
pub use message::Message;
