//! Encoding from borrowed parts, without allocating.

use core::fmt;

use super::frame::{Digits, Frame, Head};
use super::lines::RefLines;
use super::{check_value, write};
use super::{EncodeError, FieldName};

/// The parts of one frame, borrowed: encode an event (or a comment, an `id`
/// or a `retry` on its own) without building an owned event.
///
/// Set the parts you need, then encode. Nothing is checked until then: each
/// encode checks the values (see [`validate`](EventRef::validate)), works out
/// the length, and writes all of the frame or nothing. No part of this needs
/// `alloc`.
///
/// Parts are written in a fixed order: comment, `event`, `id`, `retry`, then
/// the `data` lines and a blank line (see
/// [the wire format](crate#encoding)). An `EventRef` with nothing set
/// encodes to zero bytes.
///
/// # Example
///
/// ```
/// use ssekit_codec::EventRef;
///
/// let frame = EventRef::new()
///     .event_type("update")
///     .id("42")
///     .data("  indented\r\nsecond line");
///
/// let mut buf = [0u8; 128];
/// let n = frame.encode_to_slice(&mut buf)?;
/// assert_eq!(n, frame.encoded_len());
/// assert_eq!(
///     &buf[..n],
///     b"event: update\nid: 42\ndata:   indented\ndata: second line\n\n"
/// );
/// # Ok::<(), ssekit_codec::EncodeError>(())
/// ```
///
/// Without data there is no event, but the other parts still take effect:
///
/// ```
/// use ssekit_codec::EventRef;
///
/// let mut buf = [0u8; 32];
/// let n = EventRef::new().retry(5000).encode_to_slice(&mut buf)?;
/// assert_eq!(&buf[..n], b"retry: 5000\n\n");
///
/// // An empty `id` clears the client's last event ID.
/// let n = EventRef::new().id("").encode_to_slice(&mut buf)?;
/// assert_eq!(&buf[..n], b"id: \n\n");
/// # Ok::<(), ssekit_codec::EncodeError>(())
/// ```
#[derive(Default, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "an EventRef does nothing until it is encoded"]
pub struct EventRef<'a> {
    comment: Option<&'a [u8]>,
    event_type: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    retry: Option<u64>,
    data: Option<&'a [u8]>,
}

impl<'a> EventRef<'a> {
    /// An empty frame: nothing set, zero bytes long.
    ///
    /// ```
    /// assert_eq!(ssekit_codec::EventRef::new().encoded_len(), 0);
    /// ```
    pub const fn new() -> EventRef<'a> {
        EventRef {
            comment: None,
            event_type: None,
            id: None,
            retry: None,
            data: None,
        }
    }

    /// Sets the data. Any bytes are allowed; LF, CR and CRLF split it into
    /// `data` lines, and each break comes back as LF (see
    /// [line breaks in data](crate#encoding)). Empty data still makes an
    /// event, with empty data. Replaces any data set before.
    ///
    /// ```
    /// use ssekit_codec::EventRef;
    ///
    /// let mut buf = [0u8; 32];
    /// let n = EventRef::new().data("a\nb").encode_to_slice(&mut buf)?;
    /// assert_eq!(&buf[..n], b"data: a\ndata: b\n\n");
    /// let n = EventRef::new().data("").encode_to_slice(&mut buf)?;
    /// assert_eq!(&buf[..n], b"data: \n\n");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn data<T: AsRef<[u8]> + ?Sized>(mut self, data: &'a T) -> EventRef<'a> {
        self.data = Some(data.as_ref());
        self
    }

    /// Sets the event type, written as an `event` line. It may not contain
    /// CR or LF. An empty type, like none, means `message` to a decoder.
    /// Replaces any type set before.
    ///
    /// ```
    /// use ssekit_codec::EventRef;
    ///
    /// let mut buf = [0u8; 32];
    /// let n = EventRef::new().event_type("ping").data("").encode_to_slice(&mut buf)?;
    /// assert_eq!(&buf[..n], b"event: ping\ndata: \n\n");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn event_type<T: AsRef<[u8]> + ?Sized>(mut self, event_type: &'a T) -> EventRef<'a> {
        self.event_type = Some(event_type.as_ref());
        self
    }

    /// Sets the event ID, written as an `id` line; the client sends it back
    /// as `Last-Event-ID` when it reconnects. It may not contain CR, LF or
    /// NUL. An empty ID clears the client's last event ID. Replaces any ID
    /// set before.
    ///
    /// ```
    /// use ssekit_codec::EventRef;
    ///
    /// let mut buf = [0u8; 32];
    /// let n = EventRef::new().id("1").data("x").encode_to_slice(&mut buf)?;
    /// assert_eq!(&buf[..n], b"id: 1\ndata: x\n\n");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn id<T: AsRef<[u8]> + ?Sized>(mut self, id: &'a T) -> EventRef<'a> {
        self.id = Some(id.as_ref());
        self
    }

    /// Sets the reconnection time in milliseconds, written as a `retry`
    /// line. Replaces any time set before.
    ///
    /// ```
    /// use ssekit_codec::EventRef;
    ///
    /// let mut buf = [0u8; 32];
    /// let n = EventRef::new().retry(3000).data("x").encode_to_slice(&mut buf)?;
    /// assert_eq!(&buf[..n], b"retry: 3000\ndata: x\n\n");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub const fn retry(mut self, ms: u64) -> EventRef<'a> {
        self.retry = Some(ms);
        self
    }

    /// Sets a comment, written as one line before everything else: a colon
    /// followed by the comment's bytes exactly, with no space added (pass
    /// `" text"` for the usual `: text` look). It may not contain CR or LF;
    /// a comment is always one line. Replaces any comment set before.
    ///
    /// A decoder reports the comment byte for byte and dispatches no event
    /// for it. A frame with only a comment is the comment line and a blank
    /// line, like [`KEEP_ALIVE_FRAME`](crate::KEEP_ALIVE_FRAME).
    ///
    /// ```
    /// use ssekit_codec::EventRef;
    ///
    /// let mut buf = [0u8; 32];
    /// let n = EventRef::new().comment(" hi").encode_to_slice(&mut buf)?;
    /// assert_eq!(&buf[..n], b": hi\n\n");
    /// let n = EventRef::new().comment("x").data("y").encode_to_slice(&mut buf)?;
    /// assert_eq!(&buf[..n], b":x\ndata: y\n\n");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn comment<T: AsRef<[u8]> + ?Sized>(mut self, comment: &'a T) -> EventRef<'a> {
        self.comment = Some(comment.as_ref());
        self
    }

    /// Whether nothing is set, so that the frame is zero bytes long.
    ///
    /// ```
    /// use ssekit_codec::EventRef;
    ///
    /// assert!(EventRef::new().is_empty());
    /// assert!(!EventRef::new().data("").is_empty());
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.comment.is_none()
            && self.event_type.is_none()
            && self.id.is_none()
            && self.retry.is_none()
            && self.data.is_none()
    }

    /// Checks the values as every encode does, in the order they are
    /// written (comment, event type, ID), and reports the first offending
    /// byte.
    ///
    /// ```
    /// use ssekit_codec::{EncodeError, EventRef, FieldName};
    ///
    /// assert_eq!(EventRef::new().id("ok").data("a\nb").validate(), Ok(()));
    /// assert_eq!(
    ///     EventRef::new().event_type("a\r\nb").validate(),
    ///     Err(EncodeError::InvalidValue { field: FieldName::Event, offset: 1, byte: b'\r' })
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// [`EncodeError::InvalidValue`] for CR or LF in the comment, the event
    /// type or the ID, or NUL in the ID.
    pub fn validate(&self) -> Result<(), EncodeError> {
        if let Some(comment) = self.comment {
            check_value(FieldName::Comment, comment, false)?;
        }
        if let Some(event_type) = self.event_type {
            check_value(FieldName::Event, event_type, false)?;
        }
        if let Some(id) = self.id {
            check_value(FieldName::Id, id, true)?;
        }
        Ok(())
    }

    /// The frame's length in bytes, as the encode methods would write it.
    /// Costs one pass over the data to count its lines. Saturates at
    /// `usize::MAX` for a frame too large for any buffer.
    ///
    /// The length does not depend on whether the values are valid.
    ///
    /// ```
    /// use ssekit_codec::EventRef;
    ///
    /// // "data: a\n" + "data: b\n" + "\n"
    /// assert_eq!(EventRef::new().data("a\r\nb").encoded_len(), 17);
    /// ```
    pub fn encoded_len(&self) -> usize {
        self.with_frame(|_, len| len)
    }

    /// Writes the frame at the start of `dst` and returns its length.
    ///
    /// All or nothing: the values are checked and the length worked out
    /// before the first byte is written.
    ///
    /// ```
    /// use ssekit_codec::{EncodeError, EventRef};
    ///
    /// let frame = EventRef::new().data("hello");
    /// let mut buf = [0u8; 16];
    /// assert_eq!(frame.encode_to_slice(&mut buf), Ok(13));
    /// assert_eq!(&buf[..13], b"data: hello\n\n");
    ///
    /// let mut small = [0u8; 8];
    /// assert_eq!(
    ///     frame.encode_to_slice(&mut small),
    ///     Err(EncodeError::BufferTooSmall { required: 13 })
    /// );
    /// assert_eq!(small, [0u8; 8]);
    /// ```
    ///
    /// # Errors
    ///
    /// [`EncodeError::InvalidValue`] as for [`validate`](EventRef::validate),
    /// which is checked first; then [`EncodeError::BufferTooSmall`] with the
    /// frame's length if `dst` is shorter.
    pub fn encode_to_slice(&self, dst: &mut [u8]) -> Result<usize, EncodeError> {
        self.validate()?;
        self.with_frame(|frame, len| write::write_to_slice(len, frame, dst))
    }

    /// Appends the frame to `dst`, reserving room for all of it first.
    ///
    /// ```
    /// use ssekit_codec::EventRef;
    ///
    /// let mut out = Vec::new();
    /// EventRef::new().data("one").encode_to_vec(&mut out)?;
    /// EventRef::new().data("two").encode_to_vec(&mut out)?;
    /// assert_eq!(out, b"data: one\n\ndata: two\n\n");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EncodeError::InvalidValue`] as for [`validate`](EventRef::validate);
    /// [`EncodeError::BufferTooSmall`] if the room cannot be reserved.
    /// Nothing is appended on error.
    #[cfg(feature = "alloc")]
    pub fn encode_to_vec(&self, dst: &mut alloc::vec::Vec<u8>) -> Result<(), EncodeError> {
        self.validate()?;
        self.with_frame(|frame, len| write::write_to_vec(len, frame, dst))
    }

    /// Writes the frame into any [`BufMut`](bytes::BufMut).
    ///
    /// The frame is handed over as one [`Buf`](bytes::Buf) of known length,
    /// so [`BytesMut`](bytes::BytesMut) and `Vec<u8>` reserve room for all of
    /// it at once; a buffer that already has the room does not allocate.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ssekit_codec::EventRef;
    ///
    /// let mut buf = BytesMut::with_capacity(64);
    /// EventRef::new().event_type("tick").data("1").encode(&mut buf)?;
    /// assert_eq!(&buf[..], b"event: tick\ndata: 1\n\n");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EncodeError::InvalidValue`] as for [`validate`](EventRef::validate);
    /// [`EncodeError::BufferTooSmall`] if `dst.remaining_mut()` is less than
    /// the frame's length (a fixed-size `BufMut`). Nothing is written on
    /// error.
    #[cfg(feature = "bytes")]
    pub fn encode(&self, dst: &mut impl bytes::BufMut) -> Result<(), EncodeError> {
        if let EventRef {
            comment: None,
            event_type: None,
            id: None,
            retry: None,
            data: Some(data),
        } = *self
        {
            // The most common frame, data alone, on one line: one search,
            // three chunks.
            if memchr::memchr2(b'\r', b'\n', data).is_none() {
                return write::write_line_to_buf(data, dst);
            }
        }
        self.validate()?;
        self.with_frame(|frame, len| write::write_to_buf(len, frame, dst))
    }

    /// Encodes the frame into new [`Bytes`](bytes::Bytes) with one
    /// allocation of exactly its length, to write to many connections: clones
    /// share the storage.
    ///
    /// ```
    /// use ssekit_codec::EventRef;
    ///
    /// let frame = EventRef::new().event_type("news").data("hi").to_bytes()?;
    /// let for_each_client = frame.clone();
    /// assert_eq!(for_each_client, "event: news\ndata: hi\n\n");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EncodeError::InvalidValue`] as for [`validate`](EventRef::validate);
    /// [`EncodeError::BufferTooSmall`] if the frame is too large for any
    /// buffer.
    #[cfg(feature = "bytes")]
    pub fn to_bytes(&self) -> Result<bytes::Bytes, EncodeError> {
        self.validate()?;
        self.with_frame(|frame, len| write::write_to_bytes(len, frame))
    }

    /// Calls `f` with [`frame`](Self::frame), the `retry` value's digits
    /// living here.
    #[inline]
    fn with_frame<R>(&self, f: impl FnOnce(Frame<'_, RefLines<'_>>, usize) -> R) -> R {
        let retry = self.retry.map(Digits::new);
        let (frame, len) = self.frame(retry.as_ref().map(Digits::as_bytes));
        f(frame, len)
    }

    /// The frame as a sequence of chunks, and its length: one pass over the
    /// data finds its first line break and counts its lines; the chunks
    /// then find the rest of the breaks as they go.
    #[inline]
    fn frame<'p>(&'p self, retry: Option<&'p [u8]>) -> (Frame<'p, RefLines<'p>>, usize) {
        let head = Head::new([self.comment, self.event_type, self.id, retry]);
        let lines = match self.data {
            Some(data) => RefLines::new(data, head.data_prefix()),
            None => RefLines::none(!head.is_empty()),
        };
        let len = lines.encoded_len();
        head.frame(lines, len)
    }
}

/// Shows the parts that are set, as text (`\xNN` for bytes that are not
/// UTF-8).
impl fmt::Debug for EventRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("EventRef");
        let parts = [
            ("comment", self.comment),
            ("event_type", self.event_type),
            ("id", self.id),
        ];
        for (name, value) in parts {
            if let Some(value) = value {
                out.field(name, &Text(value));
            }
        }
        if let Some(ms) = self.retry {
            out.field("retry", &ms);
        }
        if let Some(data) = self.data {
            out.field("data", &Text(data));
        }
        out.finish()
    }
}

/// Bytes shown as a string literal, without allocating.
struct Text<'a>(&'a [u8]);

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for chunk in self.0.utf8_chunks() {
            write!(f, "{}", chunk.valid().escape_debug())?;
            for byte in chunk.invalid() {
                write!(f, "\\x{byte:02X}")?;
            }
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_set_parts_as_text() {
        extern crate std;
        let frame = EventRef::new().id("7").data(b"a\n\"\xFF");
        assert_eq!(
            std::format!("{frame:?}"),
            r#"EventRef { id: "7", data: "a\n\"\xFF" }"#
        );
        assert_eq!(std::format!("{:?}", EventRef::new()), "EventRef");
    }
}
