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
//! assert_eq!(event.event_type(), "delta");
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
//!   [`Event`]s whose data, type and ID are [`bytes::Bytes`] slices of your
//!   input, copying nothing.
//!
//! Both enforce the same [`Limits`], report a [`DecodeError`] naming the limit
//! and the byte offset, and recover at the next event boundary.
//!
//! # Crate features
//!
//! - `alloc`: allocation-backed helpers.
//! - `bytes` (implies `alloc`): the owned, zero-copy event layer:
//!   [`EventDecoder`], [`Event`], [`Item`].
//! - `std` (default, implies `bytes`): `std` support in the dependencies.
//!
//! With no features the crate is `no_std` without `alloc`: the field layer
//! and [`Limits`] remain.
#![no_std]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod decoder;
mod encoder;
mod error;
mod field;
mod limits;

#[cfg(feature = "bytes")]
mod assemble;
#[cfg(feature = "bytes")]
mod event;

pub use decoder::{Decoded, Decoder, EndOfStream, Step};
#[allow(unused_imports)]
pub use encoder::*;
pub use error::{DecodeError, Limit};
pub use field::{parse_retry, Field};
pub use limits::Limits;

#[cfg(feature = "bytes")]
pub use assemble::{EventDecoder, Item};
#[cfg(feature = "bytes")]
pub use event::{Event, DEFAULT_EVENT_TYPE};
