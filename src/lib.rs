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
//! # Crate features
//!
//! - `std` (default): the owned, zero-copy event layer of the codec.

#[doc(inline)]
pub use ssekit_codec::*;

pub use ssekit_adapters as adapters;
pub use ssekit_codec as codec;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
