//! The borrowed event: a dispatched event as a view of the input or of the
//! decoder's own buffers.

use core::fmt;
use core::str::Utf8Error;

/// A dispatched event that borrows its parts, from
/// [`BorrowedDecoder`](crate::BorrowedDecoder): valid until the next call
/// to the decoder.
///
/// Single-line data lies in the caller's input and is returned as a slice of
/// it; data of several lines, and anything that was split across inputs, is
/// joined in a buffer the decoder reuses from event to event. Handing out an
/// event therefore costs no allocation and no reference-count update.
///
/// # Example
///
/// ```
/// use ssekit_codec::BorrowedDecoder;
///
/// let mut decoder = BorrowedDecoder::new();
/// let mut input: &[u8] = b"event: delta\nid: 9\ndata: {\"n\":1}\n\n";
/// let event = decoder.decode(&mut input)?.unwrap();
/// assert_eq!(event.event_type(), b"delta");
/// assert_eq!(event.data(), br#"{"n":1}"#);
/// assert_eq!(event.id(), b"9");
/// assert!(event.sets_id());
/// # Ok::<(), ssekit_codec::DecodeError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BorrowedEvent<'a> {
    pub(crate) event_type: &'a [u8],
    pub(crate) data: &'a [u8],
    pub(crate) id: &'a [u8],
    pub(crate) retry: Option<u64>,
    pub(crate) sets_id: bool,
}

impl<'a> BorrowedEvent<'a> {
    /// The event type: the last `event` field's value, or `message`.
    pub fn event_type(&self) -> &'a [u8] {
        self.event_type
    }

    /// The event type as text, failing on invalid UTF-8.
    ///
    /// # Errors
    ///
    /// The [`Utf8Error`] of the first invalid sequence.
    pub fn event_type_str(&self) -> Result<&'a str, Utf8Error> {
        core::str::from_utf8(self.event_type)
    }

    /// The data: the `data` lines joined with LF, without a final LF.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The data as text, failing on invalid UTF-8 instead of replacing it.
    ///
    /// ```
    /// use ssekit_codec::BorrowedDecoder;
    ///
    /// let mut decoder = BorrowedDecoder::new();
    /// let mut input: &[u8] = b"data: one\ndata: two\n\ndata: \xFF\n\n";
    /// assert_eq!(decoder.decode(&mut input)?.unwrap().data_str(), Ok("one\ntwo"));
    /// assert!(decoder.decode(&mut input)?.unwrap().data_str().is_err());
    /// # Ok::<(), ssekit_codec::DecodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The [`Utf8Error`] of the first invalid sequence.
    pub fn data_str(&self) -> Result<&'a str, Utf8Error> {
        core::str::from_utf8(self.data)
    }

    /// The last event ID in force when the event was dispatched (empty if
    /// none was ever set): `MessageEvent.lastEventId`. It persists from
    /// earlier events when this one has no `id` field.
    pub fn id(&self) -> &'a [u8] {
        self.id
    }

    /// The ID as text, failing on invalid UTF-8.
    ///
    /// # Errors
    ///
    /// The [`Utf8Error`] of the first invalid sequence.
    pub fn id_str(&self) -> Result<&'a str, Utf8Error> {
        core::str::from_utf8(self.id)
    }

    /// Whether this event's own block of lines had an `id` field, rather
    /// than inheriting [`id`](BorrowedEvent::id) from an earlier event; see
    /// [`Event::sets_id`](crate::Event::sets_id).
    pub fn sets_id(&self) -> bool {
        self.sets_id
    }

    /// Whether this event's block had an `id` field with an empty value,
    /// which resets the last event ID.
    pub fn resets_id(&self) -> bool {
        self.sets_id && self.id.is_empty()
    }

    /// The reconnection time, in milliseconds, from a valid `retry` field in
    /// this event's block of lines, if it had one.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// An owned [`Event`](crate::Event) with the same parts, copied into
    /// one new buffer, for an event that must outlive the next call.
    ///
    /// ```
    /// use ssekit_codec::BorrowedDecoder;
    ///
    /// let mut decoder = BorrowedDecoder::new();
    /// let mut input: &[u8] = b"event: up\ndata: a\ndata: b\n\n";
    /// let event = decoder.decode(&mut input)?.unwrap().to_event();
    /// assert_eq!((event.event_type().as_ref(), event.data()), (&b"up"[..], "a\nb".into()));
    /// assert_eq!(event.data_lines().len(), 2);
    /// # Ok::<(), ssekit_codec::DecodeError>(())
    /// ```
    #[cfg(feature = "bytes")]
    pub fn to_event(&self) -> crate::Event {
        crate::event::Event::copied_from(self)
    }
}

impl fmt::Debug for BorrowedEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BorrowedEvent")
            .field("event_type", &self.event_type.escape_ascii())
            .field("data", &self.data.escape_ascii())
            .field("id", &self.id.escape_ascii())
            .field("retry", &self.retry)
            .field("sets_id", &self.sets_id)
            .finish()
    }
}

/// One thing [`BorrowedDecoder::decode_item`](crate::BorrowedDecoder::decode_item)
/// reports, borrowed as [`BorrowedEvent`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BorrowedItem<'a> {
    /// A dispatched event.
    Event(BorrowedEvent<'a>),
    /// A comment line: the bytes after the colon, with no space removed.
    /// Servers send comments as heartbeats.
    Comment(&'a [u8]),
    /// A valid `retry` field: the stream's new reconnection time, in
    /// milliseconds, reported when its line is processed.
    Retry(u64),
}
