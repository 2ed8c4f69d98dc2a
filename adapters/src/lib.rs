//! Runtime adapters for [`ssekit_codec`]: they move bytes between a transport
//! and the codec's [`EventDecoder`](ssekit_codec::EventDecoder), and contain
//! no parsing logic of their own.
//!
//! # Example
//!
//! Decode a byte stream, such as an HTTP response body, into events:
//!
//! ```
//! # #[cfg(feature = "stream")]
//! # futures::executor::block_on(async {
//! use bytes::Bytes;
//! use futures::{stream, StreamExt};
//! use ssekit_adapters::stream::SseStreamExt;
//!
//! let body = stream::iter([
//!     Ok::<_, std::io::Error>(Bytes::from_static(b"event: delta\ndata: {\"text\":\"He")),
//!     Ok(Bytes::from_static(b"llo\"}\n\nevent: done\ndata: [DONE]\n\n")),
//! ]);
//! let mut events = body.sse_events();
//! while let Some(event) = events.next().await {
//!     let event = event?;
//!     if event.event_type() == b"done" {
//!         break;
//!     }
//!     assert_eq!(event.data(), r#"{"text":"Hello"}"#);
//! }
//! # Ok::<(), ssekit_adapters::stream::Error<std::io::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Or read them from any `AsyncRead` with tokio-util's `FramedRead`:
//!
//! ```
//! # #[cfg(feature = "tokio-util")]
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use futures::StreamExt;
//! use ssekit_adapters::tokio::SseCodec;
//! use tokio_util::codec::FramedRead;
//!
//! let socket: &[u8] = b"data: first\n\ndata: second\n\n";
//! let mut events = FramedRead::new(socket, SseCodec::new());
//! assert_eq!(events.next().await.unwrap()?.data(), "first");
//! assert_eq!(events.next().await.unwrap()?.data(), "second");
//! # Ok::<(), ssekit_adapters::tokio::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Crate features
//!
//! No feature is on by default; the `ssekit` facade turns on both.
//!
//! - `tokio-util`: the [`tokio`] module: [`SseCodec`](tokio::SseCodec) and
//!   [`RecoveringSseCodec`](tokio::RecoveringSseCodec), implementing
//!   `tokio_util::codec::Decoder` (and `Encoder` for `SseCodec`), for
//!   `FramedRead`, `FramedWrite` and `Framed` over any `AsyncRead` or
//!   `AsyncWrite`.
//! - `stream`: the [`stream`] module: [`SseStreamExt`](stream::SseStreamExt),
//!   which turns any `futures` `Stream` of byte chunks into a stream of
//!   events, without copying `Bytes` chunks.
//!
//! - `http`: the `http` module, the server side: `SseBody`,
//!   an `http_body::Body` of events with graceful shutdown, response
//!   headers, the `Last-Event-ID` request header and a connection limit.
//! - `tokio` (implies `http`): heartbeats on a tokio timer, channel mode
//!   (`http::channel`) and shutdown on a `CancellationToken`.
//! - `axum` (implies `tokio`): the body as an axum response and
//!   `Last-Event-ID` as an extractor, through `axum-core` alone.
//! - `lite-server` (implies `tokio`): `http::lite`, a small HTTP/1.1
//!   server connection for event streams that holds no read or write
//!   buffer while a stream is idle.
//! - `hub` (implies `tokio`): the `hub` module, fan-out: topics that
//!   encode each event once for every subscriber, a replay window, exact
//!   `Last-Event-ID` resumption, bounded slow consumers, stats.
//! - `client`: the `client` module, the reconnecting client: an
//!   `EventSource` stream of events over hyper 1.x that reconnects with
//!   `Last-Event-ID`, driven by the codec's `Reconnect` policy.
//! - `client-rustls` (implies `client`): `https://` URLs through
//!   hyper-rustls (rustls with the `ring` provider).
//!
//! Without features, the crate only re-exports the codec as [`codec`].
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

pub use ssekit_codec as codec;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "hub")]
pub mod hub;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "stream")]
pub mod stream;
#[cfg(feature = "tokio-util")]
pub mod tokio;
