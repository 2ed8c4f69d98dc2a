//! The owned event: what the spec's "dispatch the event" step produces.

use alloc::borrow::Cow;
use alloc::string::String;
use bytes::{Bytes, BytesMut};
use core::fmt;
use core::str::Utf8Error;
use smallvec::SmallVec;

use crate::value::Value;

/// The event type used when an event names none.
pub const DEFAULT_EVENT_TYPE: &str = "message";

/// The lines of an event's data, kept as separate slices of the input.
pub(crate) type DataLines = SmallVec<[Bytes; 1]>;

/// An owned Server-Sent Event.
///
/// When it comes from [`EventDecoder`](crate::EventDecoder), the data lines
/// are [`Bytes`] slices of the input buffer: they are not copied. Data of
/// several lines is kept as one slice per line and joined with LF only when
/// [`data`](Event::data) is called. A decoded type or ID of up to 23 bytes
/// is held inside the event itself, so making, cloning and dropping the
/// event touch no reference count for them; a longer one is a [`Bytes`]
/// slice too. [`Event::builder`] keeps the `Bytes` it is given.
///
/// Text accessors come in two kinds:
/// - `*_lossy` decode as the spec does, replacing each invalid UTF-8 sequence
///   with U+FFFD (maximal subpart), and never fail;
/// - [`data_str`](Event::data_str) validates strictly and returns the
///   [`Utf8Error`] instead.
///
/// The byte accessors always return the raw bytes.
///
/// # Example
///
/// ```
/// use bytes::BytesMut;
/// use ssekit_codec::EventDecoder;
///
/// let mut decoder = EventDecoder::new();
/// let mut buf = BytesMut::from(&b"event: greet\nid: 7\ndata: hello\ndata: world\n\n"[..]);
/// let event = decoder.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(event.event_type(), b"greet");
/// assert_eq!(event.id(), b"7");
/// assert_eq!(event.data(), "hello\nworld");
/// assert_eq!(event.data_lines().len(), 2);
/// assert_eq!(event.data_lossy(), "hello\nworld");
/// ```
///
/// Two events are equal when their type, data (line by line), ID and
/// reconnection time are; whether the ID came from the event's own block
/// ([`sets_id`](Event::sets_id)) is how it arrived, not what it is, and is
/// not compared.
#[derive(Clone)]
pub struct Event {
    pub(crate) event_type: Value,
    pub(crate) data: DataLines,
    pub(crate) id: Value,
    pub(crate) retry: Option<u64>,
    /// Whether the event's block of lines had an `id` field.
    pub(crate) sets_id: bool,
}

impl Event {
    /// The event type: the last `event` field's value, or `message`.
    pub fn event_type(&self) -> &[u8] {
        &self.event_type
    }

    /// The event type as text, failing on invalid UTF-8.
    ///
    /// ```
    /// use ssekit_codec::Event;
    ///
    /// let event = Event::builder().event_type("delta").data("x").build()?;
    /// assert_eq!(event.event_type_str(), Ok("delta"));
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn event_type_str(&self) -> Result<&str, Utf8Error> {
        core::str::from_utf8(&self.event_type)
    }

    /// The event type as text, with U+FFFD for invalid UTF-8.
    pub fn event_type_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.event_type)
    }

    /// The data: its lines joined with LF, without a final LF.
    ///
    /// Costs one allocation when the data has more than one line; a
    /// single-line event returns its slice of the input.
    pub fn data(&self) -> Bytes {
        match self.data.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            lines => {
                let mut joined = BytesMut::with_capacity(self.data_len());
                for (i, line) in lines.iter().enumerate() {
                    if i > 0 {
                        joined.extend_from_slice(b"\n");
                    }
                    joined.extend_from_slice(line);
                }
                joined.freeze()
            }
        }
    }

    /// The data's lines, one slice per `data` field, without line endings.
    pub fn data_lines(&self) -> &[Bytes] {
        &self.data
    }

    /// The length in bytes of [`data`](Event::data), without joining it.
    pub fn data_len(&self) -> usize {
        let lines: usize = self.data.iter().map(Bytes::len).sum();
        lines + self.data.len().saturating_sub(1)
    }

    /// The data as text, with U+FFFD for invalid UTF-8, as a browser's
    /// `MessageEvent.data` would show it. Borrows when the data is one valid
    /// line.
    pub fn data_lossy(&self) -> Cow<'_, str> {
        match self.data.as_slice() {
            [] => Cow::Borrowed(""),
            [one] => String::from_utf8_lossy(one),
            _ => Cow::Owned(String::from_utf8_lossy(&self.data()).into_owned()),
        }
    }

    /// The data as text, failing on invalid UTF-8 instead of replacing it.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ssekit_codec::EventDecoder;
    ///
    /// let mut buf = BytesMut::from(&b"data: \xFF\n\n"[..]);
    /// let event = EventDecoder::new().decode(&mut buf).unwrap().unwrap();
    /// assert!(event.data_str().is_err());
    /// assert_eq!(event.data_lossy(), "\u{FFFD}");
    /// ```
    pub fn data_str(&self) -> Result<Cow<'_, str>, Utf8Error> {
        match self.data.as_slice() {
            [] => Ok(Cow::Borrowed("")),
            [one] => core::str::from_utf8(one).map(Cow::Borrowed),
            _ => {
                let joined = self.data();
                core::str::from_utf8(&joined).map(|s| Cow::Owned(String::from(s)))
            }
        }
    }

    /// The last event ID in force when the event was dispatched (empty if
    /// none was ever set). This is `MessageEvent.lastEventId`: it persists
    /// from earlier events when this one has no `id` field.
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// The ID as text, failing on invalid UTF-8.
    ///
    /// ```
    /// use ssekit_codec::Event;
    ///
    /// let event = Event::builder().id("msg-9").data("x").build()?;
    /// assert_eq!(event.id_str(), Ok("msg-9"));
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn id_str(&self) -> Result<&str, Utf8Error> {
        core::str::from_utf8(&self.id)
    }

    /// Whether this event's own block of lines had an `id` field, rather
    /// than inheriting [`id`](Event::id) from an earlier event. A client
    /// that drops events whose ID it has seen must only do so for events
    /// that set their ID: a final `data: [DONE]` without an `id` line
    /// inherits the last ID and is not a repeat.
    ///
    /// An event built with [`EventBuilder::id`](crate::EventBuilder::id)
    /// and a non-empty ID sets it; one built without, or with an empty ID
    /// (which is not encoded), does not.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ssekit_codec::EventDecoder;
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut buf = BytesMut::from(&b"id: 7\ndata: a\n\ndata: [DONE]\n\nid\ndata: b\n\n"[..]);
    /// let a = decoder.decode(&mut buf)?.unwrap();
    /// let done = decoder.decode(&mut buf)?.unwrap();
    /// let b = decoder.decode(&mut buf)?.unwrap();
    /// assert_eq!((a.id(), a.sets_id()), (&b"7"[..], true));
    /// assert_eq!((done.id(), done.sets_id()), (&b"7"[..], false));
    /// assert!(b.resets_id());
    /// # Ok::<(), ssekit_codec::DecodeError>(())
    /// ```
    pub fn sets_id(&self) -> bool {
        self.sets_id
    }

    /// Whether this event's block had an `id` field with an empty value,
    /// which resets the last event ID: [`sets_id`](Event::sets_id) and an
    /// empty [`id`](Event::id).
    pub fn resets_id(&self) -> bool {
        self.sets_id && self.id.is_empty()
    }

    /// The ID as text, with U+FFFD for invalid UTF-8.
    pub fn id_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.id)
    }

    /// The reconnection time, in milliseconds, from a valid `retry` field in
    /// this event's block of lines, if it had one.
    ///
    /// A `retry` field changes the stream's reconnection time whether or not
    /// an event is dispatched; see
    /// [`EventDecoder::reconnection_time`](crate::EventDecoder::reconnection_time).
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }
}

impl Event {
    /// An event with the parts of `event`, copied into one new buffer.
    pub(crate) fn copied_from(event: &crate::BorrowedEvent<'_>) -> Event {
        let (event_type, id) = (Value::copied(event.event_type()), Value::copied(event.id()));
        // Data lines never hold LF: the joined data splits back into them.
        let mut data = DataLines::new();
        let mut rest = Bytes::copy_from_slice(event.data());
        while let Some(at) = memchr::memchr(b'\n', &rest) {
            data.push(rest.split_to(at));
            bytes::Buf::advance(&mut rest, 1);
        }
        data.push(rest);
        Event {
            event_type,
            data,
            id,
            retry: event.retry(),
            sets_id: event.sets_id(),
        }
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        self.event_type == other.event_type
            && self.data == other.data
            && self.id == other.id
            && self.retry == other.retry
    }
}

impl Eq for Event {}

impl core::hash::Hash for Event {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.event_type[..].hash(state);
        self.data.hash(state);
        self.id[..].hash(state);
        self.retry.hash(state);
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("event_type", &self.event_type_lossy())
            .field("data", &self.data_lossy())
            .field("id", &self.id_lossy())
            .field("retry", &self.retry)
            .field("sets_id", &self.sets_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(lines: &[&'static [u8]]) -> Event {
        Event {
            event_type: Value::copied(DEFAULT_EVENT_TYPE.as_bytes()),
            data: lines.iter().map(|l| Bytes::from_static(l)).collect(),
            id: Value::EMPTY,
            retry: None,
            sets_id: false,
        }
    }

    #[test]
    fn data_joins_lines_with_lf() {
        let e = event(&[b"a", b"", b"c"]);
        assert_eq!(e.data(), "a\n\nc");
        assert_eq!(e.data_len(), 4);
        assert_eq!(e.data_str().unwrap(), "a\n\nc");
    }

    #[test]
    fn empty_and_single_line_data() {
        assert_eq!(event(&[]).data(), "");
        assert_eq!(event(&[]).data_len(), 0);
        assert_eq!(event(&[b""]).data_len(), 0);
        assert!(matches!(event(&[b"x"]).data_lossy(), Cow::Borrowed("x")));
    }

    #[test]
    fn lossy_replaces_maximal_subparts() {
        let e = event(&[b"a\xF0\x9F\x98", b"\xFFb"]);
        assert_eq!(e.data_lossy(), "a\u{FFFD}\n\u{FFFD}b");
        assert!(e.data_str().is_err());
    }
}
