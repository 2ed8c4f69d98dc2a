//! Server-Sent Events for Rust: the `text/event-stream` format of the WHATWG
//! HTML standard, decoded exactly to the spec on every byte split, in bounded
//! memory, without copying.
//!
//! This is the facade crate: it re-exports [`ssekit_codec`] (the sans-IO
//! codec) and [`ssekit_adapters`] (runtime adapters).
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use ssekit::EventDecoder;
//!
//! let mut decoder = EventDecoder::new();
//! let mut buf = BytesMut::from(&b"data: first\n\n: ping\n\ndata: second\n\n"[..]);
//! let mut data = Vec::new();
//! while let Some(event) = decoder.decode(&mut buf)? {
//!     data.push(event.data());
//! }
//! assert_eq!(data, ["first", "second"]);
//! # Ok::<(), ssekit::DecodeError>(())
//! ```
//!
//! Encoding is just as direct, and refuses values that would change the
//! stream's structure instead of panicking or writing them:
//!
//! ```
//! use ssekit::{EncodeError, Event, EventRef, FieldName};
//!
//! let event = Event::builder().event_type("delta").id("7").data("  two\nlines").build()?;
//! assert_eq!(event.to_bytes(), "event: delta\nid: 7\ndata:   two\ndata: lines\n\n");
//!
//! let err = EventRef::new().id("1\nevent: forged").data("x").validate();
//! assert!(matches!(err, Err(EncodeError::InvalidValue { field: FieldName::Id, offset: 1, .. })));
//! # Ok::<(), ssekit::EncodeError>(())
//! ```
//!
//! # Crate features
//!
//! - `std` (default): the owned, zero-copy event layer of the codec, and
//!   encoding into any `bytes::BufMut`.
//! - `tokio-util` (default): [`adapters::tokio`], codecs for tokio-util's
//!   `FramedRead`/`FramedWrite` over any `AsyncRead`/`AsyncWrite`.
//! - `stream` (default): [`adapters::stream`], turning any `futures` `Stream`
//!   of byte chunks (an HTTP body, a channel) into a `Stream` of events.
//!
//! - `http`: `adapters::http`, the server side: an `http_body::Body` of
//!   events with graceful shutdown, response headers, `Last-Event-ID` and a
//!   connection limit.
//! - `tokio` (implies `http`): heartbeats on a tokio timer, channel mode and
//!   shutdown on a `CancellationToken`.
//! - `axum` (implies `http`): the body as an axum response and
//!   `Last-Event-ID` as an extractor.
//!
//! - `client`: `adapters::client`, the reconnecting client over hyper 1.x;
//!   `client-rustls` adds `https://` through rustls.
//!
//! For a `no_std` target, depend on `ssekit-codec` with
//! `default-features = false` directly.

#[doc(inline)]
pub use ssekit_codec::*;

pub use ssekit_adapters as adapters;

pub use ssekit_codec as codec;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
