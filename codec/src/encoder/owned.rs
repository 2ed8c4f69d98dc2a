//! Building owned events, and encoding them.
//!
//! `impl Event` is split between `event.rs` (the event and its accessors,
//! what a decoder makes) and this file (building and encoding), which is
//! why the event's fields are `pub(crate)`.

use bytes::{Buf, BufMut, Bytes};

use super::check_value;
use super::frame::{Digits, Frame, Head};
use super::lines::{LineSplit, Lines};
use super::write::{self, Stage};
use super::{EncodeError, FieldName, END, NL_DATA};
use crate::event::{DataLines, Event, DEFAULT_EVENT_TYPE};
use crate::value::Value;

/// Encoding. Every [`Event`] can be encoded: the builder checks its values
/// once, and a decoded event is valid by construction. A decoder given the
/// encoding gives back an equal event (with an ID of its own when the event's
/// ID is empty, see [`encode`](Event::encode)).
impl Event {
    /// An event of type `message` with this data and no ID. Any data is
    /// allowed; LF, CR and CRLF split it into lines (see
    /// [line breaks in data](crate#encoding)), so [`data`](Event::data)
    /// shows it as a client will receive it.
    ///
    /// ```
    /// use ssekit_codec::Event;
    ///
    /// let event = Event::new("line one\r\nline two");
    /// assert_eq!(event.event_type(), b"message");
    /// assert_eq!(event.data(), "line one\nline two");
    /// assert_eq!(event.to_bytes(), "data: line one\ndata: line two\n\n");
    /// ```
    pub fn new(data: impl Into<Bytes>) -> Event {
        Event {
            event_type: Value::MESSAGE,
            data: split_data(data.into()),
            id: Value::EMPTY,
            retry: None,
            sets_id: false,
        }
    }

    /// A builder for an event with a type, an ID or a reconnection time.
    ///
    /// ```
    /// use ssekit_codec::Event;
    ///
    /// let event = Event::builder().event_type("add").id("9").data("{}").build()?;
    /// assert_eq!(event.to_bytes(), "event: add\nid: 9\ndata: {}\n\n");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn builder() -> EventBuilder {
        EventBuilder::new()
    }

    /// The length in bytes of the event's encoding. Costs a few additions
    /// per data line; the data is not scanned.
    ///
    /// ```
    /// use ssekit_codec::Event;
    ///
    /// let event = Event::new("hi");
    /// assert_eq!(event.encoded_len(), b"data: hi\n\n".len());
    /// ```
    pub fn encoded_len(&self) -> usize {
        self.with_frame(|_, len| len)
    }

    /// Writes the event into `dst`: an `event` line unless the type is
    /// `message`, an `id` line unless the ID is empty, a `retry` line if the
    /// event has one, one `data` line per data line, and a blank line.
    ///
    /// The event is handed over as one [`Buf`] of known length,
    /// so [`BytesMut`](bytes::BytesMut) and `Vec<u8>` reserve room for it at
    /// once; a buffer that already has the room does not allocate.
    ///
    /// An empty ID writes no `id` line, so the client keeps the last event
    /// ID it has (a decoded event carries that ID along). To clear it, send
    /// `EventRef::new().id("")` (see [`EventRef::id`](crate::EventRef::id)).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ssekit_codec::Event;
    ///
    /// let mut buf = BytesMut::with_capacity(256);
    /// Event::new("first").encode(&mut buf);
    /// Event::builder().event_type("done").retry(100).build()?.encode(&mut buf);
    /// assert_eq!(&buf[..], b"data: first\n\nevent: done\nretry: 100\ndata: \n\n");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// Like [`BufMut::put_slice`], if `dst` is a fixed-size buffer whose
    /// `remaining_mut()` is less than [`encoded_len`](Event::encoded_len).
    /// Growable buffers never do this. For a fixed buffer, use
    /// [`encode_to_slice`](Event::encode_to_slice), which returns an error
    /// instead.
    pub fn encode(&self, dst: &mut impl BufMut) {
        let result = match self.data.as_slice() {
            [line] if self.retry.is_none() && self.is_plain() => {
                // The most common event: data of one line alone.
                write::write_line_to_buf(line, dst)
            }
            _ => self.with_frame(|frame, len| write::write_to_buf(len, frame, dst)),
        };
        if let Err(err) = result {
            panic!("Event::encode: {err}, more than the destination has room for");
        }
    }

    /// Writes the event at the start of `dst` and returns its length; all or
    /// nothing.
    ///
    /// ```
    /// use ssekit_codec::{EncodeError, Event};
    ///
    /// let event = Event::new("hi");
    /// let mut buf = [0u8; 16];
    /// assert_eq!(event.encode_to_slice(&mut buf), Ok(10));
    /// assert_eq!(&buf[..10], b"data: hi\n\n");
    /// assert_eq!(
    ///     event.encode_to_slice(&mut buf[..9]),
    ///     Err(EncodeError::BufferTooSmall { required: 10 })
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// [`EncodeError::BufferTooSmall`], with the event's length, if `dst` is
    /// shorter; nothing is written then.
    pub fn encode_to_slice(&self, dst: &mut [u8]) -> Result<usize, EncodeError> {
        self.with_frame(|frame, len| write::write_to_slice(len, frame, dst))
    }

    /// Encodes the event into new [`Bytes`] with one allocation of exactly
    /// its length: a pre-encoded frame to write to many connections, whose
    /// clones share the storage. (As with any [`Bytes`] made from a `Vec`,
    /// the first clone allocates once more, to make the storage shared.)
    ///
    /// ```
    /// use ssekit_codec::Event;
    ///
    /// let frame = Event::builder().event_type("news").data("hi").build()?.to_bytes();
    /// let (a, b) = (frame.clone(), frame.clone());
    /// assert_eq!(a, "event: news\ndata: hi\n\n");
    /// assert_eq!(a.as_ptr(), b.as_ptr());
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn to_bytes(&self) -> Bytes {
        if let [line] = self.data.as_slice() {
            if self.retry.is_none() && self.is_plain() {
                // The most common event: data of one line alone.
                return write::line_to_bytes(line);
            }
        }
        // The encoding is shorter than the event's own storage, so it is
        // never too large.
        self.with_frame(|frame, len| write::write_to_bytes(len, frame))
            .unwrap_or_default()
    }

    /// Calls `f` with [`frame`](Self::frame), the `retry` value's digits
    /// living here.
    #[inline]
    fn with_frame<R>(&self, f: impl FnOnce(Frame<'_, OwnedLines<'_>>, usize) -> R) -> R {
        let retry = self.retry.map(Digits::new);
        let (frame, len) = self.frame(retry.as_ref().map(Digits::as_bytes));
        f(frame, len)
    }

    /// The encoding as a sequence of chunks, and its length, worked out
    /// from the lines' lengths without reading them.
    #[inline]
    fn frame<'p>(&'p self, retry: Option<&'p [u8]>) -> (Frame<'p, OwnedLines<'p>>, usize) {
        let head = Head::new([None, self.written_type(), self.written_id(), retry]);
        let lines = OwnedLines::new(&self.data, head.data_prefix());
        let len = lines.encoded_len();
        head.frame(lines, len)
    }

    /// Whether neither the type nor the ID is written.
    #[inline]
    fn is_plain(&self) -> bool {
        self.id.is_empty() && is_default_type(&self.event_type)
    }

    /// The event type, unless a decoder would assume it.
    fn written_type(&self) -> Option<&[u8]> {
        (!is_default_type(&self.event_type)).then_some(&self.event_type[..])
    }

    /// The ID, unless it is empty.
    fn written_id(&self) -> Option<&[u8]> {
        (!self.id.is_empty()).then_some(&self.id[..])
    }
}

/// Whether a decoder would give this type when no `event` line is sent.
fn is_default_type(event_type: &[u8]) -> bool {
    event_type.is_empty() || event_type == DEFAULT_EVENT_TYPE.as_bytes()
}

/// The lines of an event's data as pairs of a frame's chunks: each line
/// after the separator before it, then the end of the frame. An event with
/// no lines gets one empty line, which keeps it an event.
pub(crate) struct OwnedLines<'p> {
    lines: core::slice::Iter<'p, Bytes>,
    /// The separator before the next line: the frame's own before the
    /// first, then [`NL_DATA`].
    sep: &'static [u8],
    /// Whether [`END`] is still due.
    end: bool,
}

/// The lines of an event without lines: one empty line.
static NO_LINES: [Bytes; 1] = [Bytes::new()];

impl<'p> OwnedLines<'p> {
    #[inline]
    fn new(lines: &'p [Bytes], first: &'static [u8]) -> OwnedLines<'p> {
        let lines = if lines.is_empty() { &NO_LINES } else { lines };
        OwnedLines {
            lines: lines.iter(),
            sep: first,
            end: true,
        }
    }

    /// The length of what the pairs write.
    #[inline]
    fn encoded_len(&self) -> usize {
        let lines = self.lines.as_slice();
        let seps = lines.len().saturating_sub(1).saturating_mul(NL_DATA.len());
        lines
            .iter()
            .fold(self.sep.len() + END.len(), |sum, line| {
                sum.saturating_add(line.len())
            })
            .saturating_add(seps)
    }
}

impl<'p> Iterator for OwnedLines<'p> {
    type Item = (&'static [u8], &'p [u8]);

    #[inline]
    fn next(&mut self) -> Option<(&'static [u8], &'p [u8])> {
        match self.lines.next() {
            Some(line) => Some((core::mem::replace(&mut self.sep, NL_DATA), line)),
            None if self.end => {
                self.end = false;
                Some((END, &[]))
            }
            None => None,
        }
    }
}

impl<'p> Lines<'p> for OwnedLines<'p> {
    #[inline]
    fn is_done(&self) -> bool {
        self.lines.len() == 0 && !self.end
    }

    #[inline(always)]
    fn fill(&mut self, stage: &mut Stage<'_>) -> Option<&'p [u8]> {
        // The first line follows the frame's own separator, the others
        // `\ndata: `, written as the constant it is.
        if self.sep != NL_DATA {
            if !stage.has_room() {
                return None;
            }
            let (sep, line) = self.next()?;
            stage.put_sep(sep);
            if !stage.takes(line.len()) {
                return Some(line);
            }
            stage.put(line);
        }
        while let [line, rest @ ..] = self.lines.as_slice() {
            if !stage.has_room() {
                return None;
            }
            self.lines = rest.iter();
            stage.put_sep(NL_DATA);
            if !stage.takes(line.len()) {
                return Some(line);
            }
            stage.put(line);
        }
        // The end of the frame.
        stage.fill_pairs(self)
    }
}

/// Splits data into lines at LF, CR and CRLF, as slices of it: one search
/// for data of one line, which is kept as it is.
///
/// The list of lines is allocated once, of the size counted first. (Finding
/// up to 16 lines into a stack array first, to skip the count for data of
/// few lines, was tried: 8 % fewer instructions on the `crlf` workload of
/// `examples/profile_encode.rs`, but 4 % slower on the clock.)
fn split_data(mut data: Bytes) -> DataLines {
    let lines = LineSplit::new(&data);
    if lines.is_one_line() {
        return DataLines::from_buf([data]);
    }
    let mut out = DataLines::with_capacity(lines.count_lines());
    let last = lines.broken_lines(|start, end| out.push(data.slice(start..end)));
    // The last line takes over the data's own handle.
    if last < data.len() {
        data.advance(last);
        out.push(data);
    } else {
        out.push(Bytes::new());
    }
    out
}

/// Builds an [`Event`], checking its values once, in [`build`](EventBuilder::build).
///
/// Every part is optional: no data means empty data (the event is still
/// dispatched), no type or an empty one means `message`, no ID means an
/// empty one. Setting a part again replaces it. Values are [`Bytes`] (or
/// anything that converts into it, such as `&'static str`, `String` and
/// `Vec<u8>`); the event's data lines are slices of the data, not copies.
///
/// # Example
///
/// ```
/// use ssekit_codec::{EncodeError, Event, FieldName};
///
/// let event = Event::builder()
///     .event_type("status")
///     .id(String::from("msg-17"))
///     .retry(2000)
///     .data("up\r\nand running")
///     .build()?;
/// assert_eq!(event.event_type(), b"status");
/// assert_eq!(event.id(), b"msg-17");
/// assert_eq!(event.retry(), Some(2000));
/// // The event shows its data as a client will receive it.
/// assert_eq!(event.data(), "up\nand running");
///
/// let err = Event::builder().id("a\0b").data("x").build().unwrap_err();
/// assert_eq!(err, EncodeError::InvalidValue { field: FieldName::Id, offset: 1, byte: 0 });
/// # Ok::<(), EncodeError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[must_use = "call build() to get the event"]
pub struct EventBuilder {
    // Kept as the caller's `Bytes`, not copied inline: `build` moves them
    // into the event as they are.
    event_type: Value,
    data: Bytes,
    id: Value,
    retry: Option<u64>,
}

impl EventBuilder {
    /// A builder with nothing set; the same as [`Event::builder`].
    ///
    /// ```
    /// let event = ssekit_codec::EventBuilder::new().build()?;
    /// assert_eq!(event.data(), "");
    /// assert_eq!(event.event_type(), b"message");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn new() -> EventBuilder {
        EventBuilder::default()
    }

    /// Sets the data: any bytes. LF, CR and CRLF split it into lines, and
    /// each break comes back as LF (see [line breaks in data](crate#encoding)).
    ///
    /// ```
    /// use ssekit_codec::Event;
    ///
    /// let event = Event::builder().data("a\rb\nc").build()?;
    /// assert_eq!(event.data_lines().len(), 3);
    /// assert_eq!(event.data(), "a\nb\nc");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn data(mut self, data: impl Into<Bytes>) -> EventBuilder {
        self.data = data.into();
        self
    }

    /// Sets the event type. It may not contain CR or LF; empty means
    /// `message`.
    ///
    /// ```
    /// use ssekit_codec::Event;
    ///
    /// let event = Event::builder().event_type("").build()?;
    /// assert_eq!(event.event_type(), b"message");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn event_type(mut self, event_type: impl Into<Bytes>) -> EventBuilder {
        self.event_type = Value::Shared(event_type.into());
        self
    }

    /// Sets the event ID. It may not contain CR, LF or NUL.
    ///
    /// ```
    /// use ssekit_codec::Event;
    ///
    /// let event = Event::builder().id("5").build()?;
    /// assert_eq!(event.id(), b"5");
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn id(mut self, id: impl Into<Bytes>) -> EventBuilder {
        self.id = Value::Shared(id.into());
        self
    }

    /// Sets the reconnection time in milliseconds.
    ///
    /// ```
    /// use ssekit_codec::Event;
    ///
    /// let event = Event::builder().retry(1500).build()?;
    /// assert_eq!(event.retry(), Some(1500));
    /// # Ok::<(), ssekit_codec::EncodeError>(())
    /// ```
    pub fn retry(mut self, ms: u64) -> EventBuilder {
        self.retry = Some(ms);
        self
    }

    /// Checks the values and builds the event.
    ///
    /// ```
    /// use ssekit_codec::{EncodeError, Event, FieldName};
    ///
    /// let err = Event::builder().event_type("a\nb").build().unwrap_err();
    /// assert_eq!(err, EncodeError::InvalidValue { field: FieldName::Event, offset: 1, byte: b'\n' });
    /// ```
    ///
    /// # Errors
    ///
    /// [`EncodeError::InvalidValue`] for CR or LF in the event type, or CR,
    /// LF or NUL in the ID; the type is checked first.
    pub fn build(self) -> Result<Event, EncodeError> {
        check_value(FieldName::Event, &self.event_type, false)?;
        check_value(FieldName::Id, &self.id, true)?;
        let event_type = if self.event_type.is_empty() {
            Value::MESSAGE
        } else {
            self.event_type
        };
        Ok(Event {
            event_type,
            data: split_data(self.data),
            sets_id: !self.id.is_empty(),
            id: self.id,
            retry: self.retry,
        })
    }
}
