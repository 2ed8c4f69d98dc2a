//! A sans-IO codec for Server-Sent Events: the `text/event-stream` format of
//! the WHATWG HTML standard.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "bytes")] {
//! use bytes::BytesMut;
//! use ssekit_codec::EventDecoder;
//!
//! let mut decoder = EventDecoder::new();
//! let mut buf = BytesMut::from(&b"event: delta\ndata: {\"text\":\"hi\"}\n\n"[..]);
//! let event = decoder.decode(&mut buf).unwrap().unwrap();
//! assert_eq!(event.event_type(), b"delta");
//! assert_eq!(event.data(), r#"{"text":"hi"}"#);
//! # }
//! ```
//!
//! # Layers
//!
//! - [`Decoder`] is the field layer. It finds lines in bytes you own and
//!   reports each as a borrowed [`Field`], with how many bytes it used. It
//!   needs neither `std` nor `alloc`, never allocates, and keeps only a few
//!   words of state between calls.
//! - [`EventDecoder`] (feature `bytes`) is the event layer. It applies the
//!   spec's event stream interpretation to those fields and hands out owned
//!   [`Event`]s whose data lines are [`bytes::Bytes`] slices of your input,
//!   copying nothing; a type or ID of up to 23 bytes is held inside the
//!   event, a longer one is a slice too. [`ChunkDecoder`] wraps it for input that
//!   arrives as [`bytes::Bytes`] chunks (an HTTP body), carrying split
//!   lines itself.
//! - [`BorrowedDecoder`] (feature `alloc`) is the event layer for callers
//!   that use each event at once (parse its JSON, forward it): it hands out
//!   [`BorrowedEvent`] views of `&[u8]` input, or of buffers it reuses for
//!   data of several lines, with no allocation and no reference counting
//!   per event.
//!
//! Both enforce the same [`Limits`], report a [`DecodeError`] naming the limit
//! and the byte offset, and recover at the next event boundary.
//!
//! # Encoding
//!
//! [`EventRef`] encodes borrowed parts into a `&mut [u8]` with no features
//! at all (no `alloc`), into a `Vec<u8>` with `alloc`, and into any
//! [`bytes::BufMut`] with `bytes`. With `bytes`, an owned [`Event`] made by
//! [`Event::builder`] is checked once and then encodes infallibly, for
//! example into [`bytes::Bytes`] shared by many connections;
//! [`KEEP_ALIVE_FRAME`] is a ready-made heartbeat.
//!
//! # Keep-alive
//!
//! [`KeepAlive`] is the schedule of heartbeats on one stream, with time
//! passed in (no clock, no runtime), and [`Heartbeat`] the comment frame it
//! asks for, with an optional padding for proxies that hold small writes.
//!
//! ```
//! use ssekit_codec::EventRef;
//!
//! let mut buf = [0u8; 64];
//! let n = EventRef::new().event_type("greet").data(" hi\nthere").encode_to_slice(&mut buf)?;
//! assert_eq!(&buf[..n], b"event: greet\ndata:  hi\ndata: there\n\n");
//! # Ok::<(), ssekit_codec::EncodeError>(())
//! ```
//!
//! The wire format and its guarantees:
//! - every value follows exactly one space, so leading spaces survive;
//! - data is split into lines at LF, CR and CRLF (CRLF is one break), and a
//!   decoder gives each break back as LF: **a lone CR or a CRLF in data
//!   comes back as LF**, and nothing else changes ([`data_round_trips`]
//!   tells whether data holds a CR);
//! - empty data is still an event, with empty data;
//! - a value that would change the stream's structure (CR or LF in an event
//!   type, an ID or a comment; NUL in an ID) is refused with
//!   [`EncodeError::InvalidValue`], naming the field and the byte offset;
//! - nothing is ever written partially: the length is known first
//!   ([`EventRef::encoded_len`], [`Event::encoded_len`]), and a buffer too
//!   small gets [`EncodeError::BufferTooSmall`] with the size required.
//!
//! # Reconnecting
//!
//! [`Reconnect`] is the client's reconnect policy, with time and randomness
//! passed in: the server's reconnection time, backoff with jitter and a
//! cap, limits on attempts and outage time that really count, HTTP status
//! and `Content-Type` handling ([`ReconnectConfig::classify`]) and an idle
//! timeout.
//!
//! # Crate features
//!
//! - `alloc`: [`BorrowedDecoder`] and allocation-backed helpers.
//! - `bytes` (implies `alloc`): the owned, zero-copy event layer:
//!   [`EventDecoder`], [`Event`], [`Item`].
//! - `std` (default, implies `bytes`): `std` support in the dependencies.
//!
//! With no features the crate is `no_std` without `alloc`: the field layer
//! and [`Limits`] remain.
#![no_std]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod encoder;
mod error;
mod field;
mod field_decoder;
mod keepalive;
mod limits;
mod line_end;
mod reconnect;

#[cfg(feature = "alloc")]
mod borrowed_decoder;
#[cfg(feature = "alloc")]
mod borrowed_event;
#[cfg(feature = "bytes")]
mod chunked;
#[cfg(feature = "bytes")]
mod event;
#[cfg(feature = "bytes")]
mod event_decoder;
#[cfg(feature = "bytes")]
mod value;

#[cfg(feature = "bytes")]
pub use encoder::EventBuilder;
pub use encoder::{data_round_trips, EncodeError, EventRef, FieldName, KEEP_ALIVE_FRAME};
pub use error::{DecodeError, Limit};
pub use field::{parse_retry, Field};
pub use field_decoder::{Decoded, Decoder, EndOfStream, Step};
pub use keepalive::{Heartbeat, KeepAlive};
pub use limits::Limits;
pub use reconnect::{
    GiveUp, Jitter, NextAttempt, Reconnect, ReconnectConfig, ResponseClass, ResponseError, Verdict,
};

#[cfg(feature = "alloc")]
pub use borrowed_decoder::BorrowedDecoder;
#[cfg(feature = "alloc")]
pub use borrowed_event::{BorrowedEvent, BorrowedItem};
#[cfg(feature = "bytes")]
pub use chunked::ChunkDecoder;
#[cfg(feature = "bytes")]
pub use event::{Event, DEFAULT_EVENT_TYPE};
#[cfg(feature = "bytes")]
pub use event_decoder::{EventDecoder, Item};
