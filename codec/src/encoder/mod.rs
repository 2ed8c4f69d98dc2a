//! The encoder: events and comments to `text/event-stream` bytes.
//!
//! Two front ends share one writer:
//! - [`EventRef`] encodes borrowed parts (`&str`, `&[u8]`) without building
//!   an owned event. It needs neither `std` nor `alloc`, checks its values on
//!   every encode, and writes into a `&mut [u8]`, a `Vec<u8>` (feature
//!   `alloc`) or any [`bytes::BufMut`] (feature `bytes`).
//! - The owned [`Event`](crate::Event) (feature `bytes`) is checked once,
//!   when it is built with [`EventBuilder`], so encoding it cannot fail.
//!
//! # Wire format
//!
//! A frame is written in this order, each line ending in LF:
//!
//! ```text
//! :<comment>            a comment line, if any, byte for byte after the colon
//! event: <type>         if a type is set
//! id: <id>              if an ID is set
//! retry: <ms>           if a reconnection time is set
//! data: <line>          one per line of data, if data is set
//! (blank line)          ends the frame
//! ```
//!
//! Field values always follow exactly one space, so a value's own leading
//! spaces survive: the decoder removes only the first one. Comments are
//! written with no space added, because the decoder removes none from them;
//! what you pass is what a reader gets back.
//!
//! # Line breaks in data
//!
//! Data may hold any bytes. It is split into lines at LF, CR and CRLF (a CR
//! followed by an LF is one break, not two), and each line gets its own
//! `data: ` line. A decoder joins the lines with LF, so **an LF comes back
//! as it was, while a lone CR and a CRLF both come back as LF**. This is the
//! only change a round trip makes to data; [`data_round_trips`] tells in
//! advance whether it will happen. Data that ends with a line break ends
//! with an empty `data: ` line, and empty data is one empty `data: ` line,
//! so the event is still dispatched.
//!
//! # Values that are refused
//!
//! A value that would change the structure of the stream is refused with
//! [`EncodeError::InvalidValue`], naming the field and the byte offset, and
//! nothing is written:
//! - CR or LF in an event type, an ID or a comment: it would end the line
//!   early and let the rest inject fields. A comment is always one line;
//!   send several comments for several lines;
//! - NUL in an ID: a decoder ignores such an `id` field.
//!
//! Values are bytes. Browsers decode the stream as UTF-8, so bytes that are
//! not UTF-8 reach them as U+FFFD; this crate's decoder keeps the bytes.
//!
//! # Destinations
//!
//! The length of a frame is known before it is written
//! ([`EventRef::encoded_len`]). A destination that cannot take all of it
//! gets [`EncodeError::BufferTooSmall`] with the size required, and nothing
//! is written. A growable destination ([`Vec`](alloc::vec::Vec),
//! [`BytesMut`](bytes::BytesMut)) reserves the whole frame at once.
//!
//! # Code layout
//!
//! - this file: the docs above, [`KEEP_ALIVE_FRAME`], [`data_round_trips`],
//!   the separators written between the parts of a frame, and the check of
//!   values (`check_value`);
//! - `event_ref.rs` and `owned.rs`: the two front ends, [`EventRef`] and
//!   the owned [`Event`](crate::Event) with its [`EventBuilder`];
//! - `lines.rs`: data split into lines at LF, CR and CRLF, each line paired
//!   with the separator before it;
//! - `frame.rs`: a frame's parts in writing order, the head lines and then
//!   the data lines, and the digits of a `retry` value;
//! - `write.rs`: the destinations, and the one home of the performance
//!   tricks (the staging buffers and their sizes, the copies into them, the
//!   check of short values); each trick says what it was measured to save;
//! - `error.rs`: [`EncodeError`] and [`FieldName`].
//!
//! A wrong frame length (`encoded_len` and the writer disagreeing, a bug)
//! is caught by `debug_assert!`s in tests and fuzzing; in release builds
//! the writers still write the frame's own bytes, or panic on an index,
//! and never report as written a frame they cut short.

mod error;
mod event_ref;
mod frame;
mod lines;
#[cfg(feature = "bytes")]
mod owned;
mod write;

pub use error::{EncodeError, FieldName};
pub use event_ref::EventRef;
#[cfg(feature = "bytes")]
pub use owned::EventBuilder;

/// A ready-made keep-alive frame: the comment line `: keep-alive` followed
/// by a blank line.
///
/// Servers send it on an idle stream so that proxies and clients do not time
/// the connection out. A decoder reports it as one comment (` keep-alive`,
/// with its leading space) and dispatches no event. The blank line ends the
/// frame, so it is harmless anywhere between events and also reaches clients
/// that only look at whole blank-line-terminated blocks.
///
/// With the `bytes` feature, [`Bytes::from_static`](bytes::Bytes::from_static)
/// turns it into a [`Bytes`](bytes::Bytes) without copying or allocating,
/// to share across connections.
///
/// ```
/// use ssekit_codec::{EventRef, KEEP_ALIVE_FRAME};
///
/// assert_eq!(KEEP_ALIVE_FRAME, b": keep-alive\n\n");
///
/// // The same frame, built by hand.
/// let mut buf = [0u8; 16];
/// let n = EventRef::new().comment(" keep-alive").encode_to_slice(&mut buf)?;
/// assert_eq!(&buf[..n], KEEP_ALIVE_FRAME);
/// # Ok::<(), ssekit_codec::EncodeError>(())
/// ```
pub const KEEP_ALIVE_FRAME: &[u8] = b": keep-alive\n\n";

/// Whether `data` comes back byte for byte after encoding and decoding.
///
/// Returns `false` when `data` contains a CR: the encoder treats a lone CR
/// and a CRLF as line breaks, and a decoder gives every line break back as
/// LF. See [Encoding](crate#encoding) in the crate docs.
///
/// ```
/// use ssekit_codec::data_round_trips;
///
/// assert!(data_round_trips(b"two\nlines"));
/// assert!(data_round_trips(b"  leading spaces are kept"));
/// assert!(!data_round_trips(b"windows\r\nline"));
/// assert!(!data_round_trips(b"old mac\rline"));
/// ```
pub fn data_round_trips(data: &[u8]) -> bool {
    memchr::memchr(b'\r', data).is_none()
}

/// The separators between the parts of a frame. Each line ends in LF, and
/// the LF that ends one line is written together with the name that starts
/// the next (`"\nid: "`), so that a frame is a few large copies rather than
/// many small ones. A frame's first line uses the name alone: the tail of
/// its separator, without the LF.
const NL_COMMENT: &[u8] = b"\n:";
const NL_EVENT: &[u8] = b"\nevent: ";
const NL_ID: &[u8] = b"\nid: ";
const NL_RETRY: &[u8] = b"\nretry: ";
const NL_DATA: &[u8] = b"\ndata: ";
/// What follows a data line that kept its own LF (see
/// [`LineSplit`](lines::LineSplit)).
const DATA: &[u8] = b"data: ";
/// The LF that ends the last line, then the blank line that ends the frame.
const END: &[u8] = b"\n\n";

/// Checks that `value` cannot end its line early: no CR or LF, and, when
/// `nul` is set, no NUL. The offset is that of the first such byte.
#[inline]
pub(crate) fn check_value(field: FieldName, value: &[u8], nul: bool) -> Result<(), EncodeError> {
    if value.is_empty() || write::short_and_clean(value, nul) {
        return Ok(());
    }
    let found = if nul {
        memchr::memchr3(b'\r', b'\n', 0, value)
    } else {
        memchr::memchr2(b'\r', b'\n', value)
    };
    match found {
        None => Ok(()),
        Some(offset) => Err(EncodeError::InvalidValue {
            field,
            offset,
            byte: value[offset],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_finds_first_bad_byte() {
        assert_eq!(check_value(FieldName::Id, b"abc", true), Ok(()));
        assert_eq!(check_value(FieldName::Id, b"", true), Ok(()));
        assert_eq!(
            check_value(FieldName::Id, b"a\0\n", true),
            Err(EncodeError::InvalidValue {
                field: FieldName::Id,
                offset: 1,
                byte: 0
            })
        );
        assert_eq!(check_value(FieldName::Event, b"a\0", false), Ok(()));
    }
}
