//! The event layer: the spec's "event stream interpretation" over `bytes`.

use bytes::{Bytes, BytesMut};

use crate::error::DecodeError;
use crate::field_decoder::{Decoder, EndOfStream, Step};
use alloc::vec::Vec;

use crate::event::{DataLines, Event};
use crate::field::Field;
use crate::limits::Limits;
use crate::value::Value;

/// One thing the event layer reports, from [`EventDecoder::decode_item`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Item {
    /// A dispatched event.
    Event(Event),
    /// A comment line: the bytes after the colon, with no space removed.
    /// Servers send comments as heartbeats.
    Comment(Bytes),
    /// A valid `retry` field: the stream's new reconnection time, in
    /// milliseconds, reported when its line is processed.
    Retry(u64),
}

/// A buffer the event layer can take bytes from without copying.
pub(crate) trait Source {
    /// Whether slices taken from this source keep its storage from being
    /// reused: a `BytesMut` that the caller appends to must allocate anew
    /// whenever it grows while a slice of it is alive. When a call runs out
    /// of input, the lines of an event in progress are then copied out (see
    /// `EventDecoder::copied`).
    const PINS: bool;
    /// Whether the last event ID and the type and ID of an event in
    /// progress are copied out too (see `EventDecoder::kept`).
    const PINS_SMALL: bool;
    /// Whether a data line of at least [`CARRY_ROOM`] bytes is kept as a
    /// slice rather than copied out when `PINS`: such a line took a growth
    /// of the buffer of its own, so the storage it pins is mostly itself.
    const KEEPS_LONG_LINES: bool;
    fn bytes(&self) -> &[u8];
    /// Removes the first `n` bytes and returns them.
    fn take(&mut self, n: usize) -> Bytes;
}

impl Source for BytesMut {
    const PINS: bool = true;
    const PINS_SMALL: bool = true;
    const KEEPS_LONG_LINES: bool = false;
    fn bytes(&self) -> &[u8] {
        self
    }
    fn take(&mut self, n: usize) -> Bytes {
        self.split_to(n).freeze()
    }
}

impl Source for Bytes {
    const PINS: bool = false;
    const PINS_SMALL: bool = false;
    const KEEPS_LONG_LINES: bool = false;
    fn bytes(&self) -> &[u8] {
        self
    }
    fn take(&mut self, n: usize) -> Bytes {
        self.split_to(n)
    }
}

/// The carry of [`EventDecoder::decode_chunk`]: a `BytesMut` whose data
/// lines are copied out as the caller's would be, but which grows by at
/// least [`CARRY_ROOM`] at a time, so that the few bytes of a type or an ID
/// are not worth copying.
struct Carry<'a>(&'a mut BytesMut);

impl Source for Carry<'_> {
    const PINS: bool = true;
    const PINS_SMALL: bool = false;
    const KEEPS_LONG_LINES: bool = true;
    fn bytes(&self) -> &[u8] {
        self.0
    }
    fn take(&mut self, n: usize) -> Bytes {
        self.0.split_to(n).freeze()
    }
}

/// A data line of an event whose lines are being copied (see
/// `EventDecoder::copied`).
#[derive(Debug, Clone)]
enum CopiedLine {
    /// Copied: its range in `copied`.
    Copied(usize, usize),
    /// From a source that slices do not pin (a `Bytes` chunk), or a long
    /// line of the carry (`Source::KEEPS_LONG_LINES`): kept as a slice, not
    /// copied.
    Shared(Bytes),
}

/// Whether a data line of `len` bytes from a source that `PINS` is kept as
/// a slice rather than copied out, for a source whose `KEEPS_LONG_LINES`
/// is `keep_long`.
#[inline]
fn kept_as_slice(keep_long: bool, len: usize) -> bool {
    keep_long && len >= CARRY_ROOM
}

/// A chunk of at most this many bytes that follows a carried incomplete line
/// is appended to the carry whole by [`EventDecoder::decode_chunk`].
const SMALL_CHUNK: usize = 256;

/// The least room [`EventDecoder::decode_chunk`] makes when its carry buffer
/// must grow.
const CARRY_ROOM: usize = 4096;

/// The least room the buffer of kept IDs and types makes when it must grow:
/// one allocation per 1 KiB of them.
const KEPT_ROOM: usize = 1024;

/// What the decoding loop stopped at. The event itself is built by the
/// caller, straight into its return value.
enum Found {
    Event,
    Comment(Bytes),
    Retry(u64),
    NeedMore,
}

/// Which items the caller wants back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Events,
    Items,
}

/// The event layer: turns an event stream into [`Event`]s exactly as the
/// WHATWG HTML standard's "event stream interpretation" does, without copying
/// the data.
///
/// Feed it with a [`BytesMut`] that you append input to; each call to
/// [`decode`](EventDecoder::decode) takes what it uses from the front. Event
/// data, types and IDs are [`Bytes`] slices of that buffer.
///
/// The spec's rules, all applied here:
/// - one U+FEFF at the start of the stream is skipped; lines end at CRLF, LF
///   or CR, also across calls;
/// - `data` lines are joined with LF; a block of lines with no `data` field
///   dispatches nothing; the type defaults to `message`;
/// - `id` (without NUL) sets the last event ID buffer, which becomes the last
///   event ID at every blank line, whether or not an event is dispatched;
/// - `retry` with only ASCII digits sets the reconnection time;
/// - other fields are ignored; comments are reported by
///   [`decode_item`](EventDecoder::decode_item) and skipped by
///   [`decode`](EventDecoder::decode);
/// - at the end of the stream ([`finish`](EventDecoder::finish)) an event with
///   no blank line after it is dropped.
///
/// # Example
///
/// ```
/// use bytes::BytesMut;
/// use ssekit_codec::EventDecoder;
///
/// let mut decoder = EventDecoder::new();
/// let mut buf = BytesMut::new();
/// let mut events = Vec::new();
/// for chunk in [&b"data: hel"[..], b"lo\r", b"\n\r\ndata: wor", b"ld\n\n"] {
///     buf.extend_from_slice(chunk);
///     while let Some(event) = decoder.decode(&mut buf)? {
///         events.push(event.data());
///     }
/// }
/// assert_eq!(events, ["hello", "world"]);
/// # Ok::<(), ssekit_codec::DecodeError>(())
/// ```
///
/// # Errors and recovery
///
/// A [`Limits`] bound being exceeded returns a [`DecodeError`]. The event in
/// progress is dropped whole (its data, its type and any `id` it set; a
/// `retry` it carried stays in effect), the input is skipped up to the next
/// blank line, and later calls decode the following events normally.
///
/// # Allocation
///
/// Decoding allocates nothing per event in steady state, except that an event
/// with more than one data line keeps its line slices in one exactly sized
/// heap array (one allocation per such event). Taking bytes from a
/// [`BytesMut`] makes it allocate once to share its storage, and again
/// whenever it must grow while slices of it are still held: by events the
/// caller keeps, or by the last event ID, which is a slice of the input too.
#[derive(Debug, Clone)]
pub struct EventDecoder {
    fields: Decoder,
    /// Complete lines taken from the input and not yet interpreted, from
    /// `ready_at` on. Taking every complete line at once costs one split of
    /// the input per batch rather than one per event.
    ready: Bytes,
    ready_at: usize,
    /// How many bytes at the front of the input are known to hold no line
    /// ending, so that an incomplete line is searched only once.
    tail_scanned: usize,
    /// The data buffer: one slice per `data` line. Its storage is reused
    /// from event to event.
    data: Vec<Bytes>,
    /// The data buffer of an event whose lines come from a buffer that
    /// slices would pin (a `BytesMut` the caller appends to), once a call
    /// ran out of input in the middle of it: its lines are copied here, end
    /// to end, and `copied_lines` holds their ranges, so that the caller's
    /// buffer can grow in place while the event is in progress. At the
    /// blank line the copy is frozen and sliced. `data` is empty while this
    /// is in use. An event that lies whole in the input is never copied.
    copied: BytesMut,
    copied_lines: Vec<CopiedLine>,
    /// Where the last event ID, and the type and ID of an event in
    /// progress, are copied when they come from a buffer that slices would
    /// pin: small values end to end, split off as `Bytes`, so that one
    /// allocation serves many of them.
    kept: BytesMut,
    /// `last_event_id` is a slice of a buffer that it would pin, not yet
    /// copied to `kept`.
    last_id_pinned: bool,
    event_type: Option<Value>,
    retry: Option<u64>,
    id_buffer: Value,
    /// An `id` field set `id_buffer` since the last blank line. While this
    /// is false, the spec's last event ID buffer equals `last_event_id` and
    /// `id_buffer` is left empty, so no reference to the input is held twice.
    id_changed: bool,
    /// `id_changed` as it was at the last dispatch: whether the event
    /// [`take_event`](EventDecoder::take_event) builds had an `id` field.
    event_sets_id: bool,
    last_event_id: Value,
    reconnection_time: Option<u64>,
    /// For [`decode_chunk`](EventDecoder::decode_chunk): whole chunks that
    /// continue the line carried in its `carry`, with no line ending in
    /// them, kept as they are until the line ends and then copied into the
    /// carry at once. Together at most `max_line_len` bytes.
    pieces: Vec<Bytes>,
    pieces_len: usize,
}

impl Default for EventDecoder {
    fn default() -> Self {
        EventDecoder::new()
    }
}

impl EventDecoder {
    /// An event decoder with the default [`Limits`].
    pub fn new() -> EventDecoder {
        EventDecoder::with_limits(Limits::DEFAULT)
    }

    /// An event decoder with the given [`Limits`].
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ssekit_codec::{EventDecoder, Limit, Limits};
    ///
    /// let mut decoder = EventDecoder::with_limits(Limits::default().max_data_lines(1));
    /// let mut buf = BytesMut::from(&b"data: 1\ndata: 2\n\ndata: 3\n\n"[..]);
    /// let err = decoder.decode(&mut buf).unwrap_err();
    /// assert_eq!(err.limit(), Limit::DataLines);
    /// // The over-limit event is dropped; the next one comes through.
    /// assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().data(), "3");
    /// ```
    pub fn with_limits(limits: Limits) -> EventDecoder {
        EventDecoder {
            fields: Decoder::with_limits(limits),
            ready: Bytes::new(),
            ready_at: 0,
            tail_scanned: 0,
            data: Vec::new(),
            copied: BytesMut::new(),
            copied_lines: Vec::new(),
            kept: BytesMut::new(),
            last_id_pinned: false,
            event_type: None,
            retry: None,
            id_buffer: Value::EMPTY,
            id_changed: false,
            event_sets_id: false,
            last_event_id: Value::EMPTY,
            reconnection_time: None,
            pieces: Vec::new(),
            pieces_len: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        self.fields.limits()
    }

    /// The field layer underneath, to read its position or state.
    pub fn fields(&self) -> &Decoder {
        &self.fields
    }

    /// The last event ID: the value a reconnecting client sends in the
    /// `Last-Event-ID` header. Updated at every blank line.
    pub fn last_event_id(&self) -> &[u8] {
        &self.last_event_id
    }

    /// Sets the last event ID, as when resuming a stream from a saved ID.
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use ssekit_codec::EventDecoder;
    ///
    /// let mut decoder = EventDecoder::new();
    /// decoder.set_last_event_id(Bytes::from_static(b"41"));
    /// let mut buf = BytesMut::from(&b"data: x\n\n"[..]);
    /// assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().id(), b"41");
    /// ```
    pub fn set_last_event_id(&mut self, id: Bytes) {
        self.id_buffer = Value::EMPTY;
        self.id_changed = false;
        self.last_event_id = Value::from_bytes(id);
        self.last_id_pinned = false;
    }

    /// The reconnection time in milliseconds from the latest valid `retry`
    /// field, if any has been seen.
    pub fn reconnection_time(&self) -> Option<u64> {
        self.reconnection_time
    }

    /// Decodes the next event from the front of `src`, skipping comments.
    ///
    /// Returns `Ok(None)` when no complete event is left; append more input
    /// and call again. Call until it returns `Ok(None)` before appending:
    /// the decoder takes every complete line out of `src` at once and keeps
    /// those it has not interpreted yet, so `src` can be empty while events
    /// are still to come. What stays in `src` is the start of an incomplete
    /// line.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when a [`Limits`] bound is exceeded; see
    /// [the type's docs](EventDecoder#errors-and-recovery).
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        match self.run(src, Want::Events)? {
            Found::Event => Ok(Some(self.take_event())),
            _ => Ok(None),
        }
    }

    /// Decodes the next event, comment or `retry` from the front of `src`.
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use ssekit_codec::{EventDecoder, Item};
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut buf = BytesMut::from(&b": keep-alive\nretry: 500\ndata: x\n\n"[..]);
    /// assert_eq!(
    ///     decoder.decode_item(&mut buf).unwrap(),
    ///     Some(Item::Comment(Bytes::from_static(b" keep-alive")))
    /// );
    /// assert_eq!(decoder.decode_item(&mut buf).unwrap(), Some(Item::Retry(500)));
    /// assert!(matches!(decoder.decode_item(&mut buf).unwrap(), Some(Item::Event(_))));
    /// assert_eq!(decoder.decode_item(&mut buf).unwrap(), None);
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`decode`](EventDecoder::decode).
    pub fn decode_item(&mut self, src: &mut BytesMut) -> Result<Option<Item>, DecodeError> {
        let found = self.run(src, Want::Items)?;
        Ok(self.item(found))
    }

    /// Like [`decode`](EventDecoder::decode), but takes from a [`Bytes`]
    /// chunk, so that events whose lines lie whole in the chunk share its
    /// storage. What is left in `src` afterwards is an incomplete line: keep
    /// it (for example in a [`BytesMut`]) and put the next input after it.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use ssekit_codec::EventDecoder;
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut chunk = Bytes::from_static(b"data: one\n\ndata: tw");
    /// assert_eq!(decoder.decode_bytes(&mut chunk).unwrap().unwrap().data(), "one");
    /// assert!(decoder.decode_bytes(&mut chunk).unwrap().is_none());
    /// assert_eq!(chunk, "data: tw");
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`decode`](EventDecoder::decode).
    pub fn decode_bytes(&mut self, src: &mut Bytes) -> Result<Option<Event>, DecodeError> {
        match self.run(src, Want::Events)? {
            Found::Event => Ok(Some(self.take_event())),
            _ => Ok(None),
        }
    }

    /// Like [`decode_item`](EventDecoder::decode_item), taking from a
    /// [`Bytes`] chunk as [`decode_bytes`](EventDecoder::decode_bytes) does.
    ///
    /// # Errors
    ///
    /// As for [`decode`](EventDecoder::decode).
    pub fn decode_item_bytes(&mut self, src: &mut Bytes) -> Result<Option<Item>, DecodeError> {
        let found = self.run(src, Want::Items)?;
        Ok(self.item(found))
    }

    /// Decodes input that arrives as [`Bytes`] chunks, such as an HTTP
    /// body: `chunk` is the newest chunk and `carry` holds the start of a
    /// line that an earlier chunk left incomplete. Logically the input is
    /// `carry` followed by `chunk`.
    ///
    /// Events whose lines lie whole in a chunk share its storage; only a line
    /// split across chunks is copied (into `carry`), up to its line ending,
    /// and only once: chunks with no line ending that continue a long line
    /// are kept as they are (within `max_line_len`) and copied when the line
    /// ends. A chunk of at most 256 bytes that continues a carried line is
    /// copied whole, which is cheaper than slicing it. `carry` is part of the
    /// decoder's state: pass it only to this method and to
    /// [`finish`](EventDecoder::finish). Call again until it
    /// returns `Ok(None)`; then `chunk` is empty and `carry` holds at most one
    /// incomplete line, and the next chunk can be passed in.
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use ssekit_codec::EventDecoder;
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut carry = BytesMut::new();
    /// let mut data = Vec::new();
    /// for chunk in ["data: one\n\ndata: t", "wo\n", "\n"] {
    ///     let mut chunk = Bytes::from(chunk);
    ///     while let Some(event) = decoder.decode_chunk(&mut carry, &mut chunk)? {
    ///         data.push(event.data());
    ///     }
    ///     assert!(chunk.is_empty());
    /// }
    /// assert_eq!(data, ["one", "two"]);
    /// # Ok::<(), ssekit_codec::DecodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`decode`](EventDecoder::decode).
    pub fn decode_chunk(
        &mut self,
        carry: &mut BytesMut,
        chunk: &mut Bytes,
    ) -> Result<Option<Event>, DecodeError> {
        match self.run_chunk(carry, chunk, Want::Events)? {
            Found::Event => Ok(Some(self.take_event())),
            _ => Ok(None),
        }
    }

    /// Like [`decode_chunk`](EventDecoder::decode_chunk), but returns
    /// comments and `retry` fields too, as
    /// [`decode_item`](EventDecoder::decode_item) does.
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use ssekit_codec::{EventDecoder, Item};
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut carry = BytesMut::new();
    /// let mut chunk = Bytes::from_static(b": ping\n\ndata: x\n\n");
    /// let first = decoder.decode_item_chunk(&mut carry, &mut chunk)?;
    /// assert_eq!(first, Some(Item::Comment(Bytes::from_static(b" ping"))));
    /// assert!(matches!(decoder.decode_item_chunk(&mut carry, &mut chunk)?, Some(Item::Event(_))));
    /// assert_eq!(decoder.decode_item_chunk(&mut carry, &mut chunk)?, None);
    /// # Ok::<(), ssekit_codec::DecodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`decode`](EventDecoder::decode).
    pub fn decode_item_chunk(
        &mut self,
        carry: &mut BytesMut,
        chunk: &mut Bytes,
    ) -> Result<Option<Item>, DecodeError> {
        let found = self.run_chunk(carry, chunk, Want::Items)?;
        Ok(self.item(found))
    }

    /// The loop of [`decode_chunk`](EventDecoder::decode_chunk).
    fn run_chunk(
        &mut self,
        carry: &mut BytesMut,
        chunk: &mut Bytes,
        want: Want,
    ) -> Result<Found, DecodeError> {
        // The carried line grew without a line end: the field layer must
        // still check it against the limits.
        let mut grew = false;
        loop {
            // Interpret the lines already taken, and any carried bytes not
            // yet searched.
            if grew || self.ready_at < self.ready.len() || self.tail_scanned < carry.len() {
                grew = false;
                match self.run(&mut Carry(carry), want)? {
                    Found::NeedMore => {}
                    found => return Ok(found),
                }
            }
            if chunk.is_empty() {
                return Ok(Found::NeedMore);
            }
            if carry.is_empty() {
                match self.run(chunk, want)? {
                    Found::NeedMore => {}
                    found => return Ok(found),
                }
                // What is left of the chunk is the start of a line, already
                // searched; it moves to the front of the input unchanged.
                self.extend_carry(carry, chunk);
                chunk.clear();
            } else if chunk.len() <= SMALL_CHUNK {
                // A small chunk after a carried line is carried whole:
                // cheaper than searching it for the line end first and then
                // decoding the rest of it in place.
                self.extend_carry(carry, chunk);
                chunk.clear();
            } else {
                // Complete the carried line from the chunk; the rest of the
                // chunk is then decoded in place.
                match memchr::memchr2(b'\n', b'\r', chunk) {
                    Some(at) => {
                        let end = chunk.split_to(at + 1);
                        self.extend_carry(carry, &end);
                    }
                    None => {
                        let len = carry.len() + self.pieces_len + chunk.len();
                        if len <= self.limits().get_max_line_len() {
                            // The line goes on and is still within its
                            // limit: keep the chunk as it is, to be copied
                            // once when the line ends.
                            self.pieces_len += chunk.len();
                            self.pieces.push(core::mem::take(chunk));
                        } else {
                            // Over the limit: the field layer reports it
                            // and drops the line, from one buffer.
                            self.extend_carry(carry, chunk);
                            chunk.clear();
                            self.tail_scanned = carry.len();
                            grew = true;
                        }
                    }
                }
            }
        }
    }

    /// Appends the kept pieces of the carried line, then `more`, to `carry`,
    /// growing it at most once. The pieces hold no line ending, so only
    /// `more` is left to be searched.
    fn extend_carry(&mut self, carry: &mut BytesMut, more: &[u8]) {
        if carry.capacity() - carry.len() < more.len() {
            // Events and the last event ID may hold slices of the carry's
            // storage, so growing it usually means a new allocation: make
            // it big enough for the next few small chunks too.
            carry.reserve((self.pieces_len + more.len()).max(CARRY_ROOM));
        }
        if !self.pieces.is_empty() {
            // Pieces are only kept once the carry was searched whole.
            let searched = self.tail_scanned >= carry.len();
            carry.reserve(self.pieces_len + more.len());
            for piece in self.pieces.drain(..) {
                carry.extend_from_slice(&piece);
            }
            self.pieces_len = 0;
            if searched {
                self.tail_scanned = carry.len();
                self.fields.assume_no_line_end(carry.len());
            }
        }
        carry.extend_from_slice(more);
    }

    /// Ends the stream: drops the event in progress and the unconsumed input
    /// in `src` (an incomplete line), as the spec's end-of-file rule says,
    /// and readies the decoder for a new stream such as a reconnection.
    ///
    /// The last event ID and the reconnection time are kept: a reconnecting
    /// client sends the former and waits the latter.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ssekit_codec::{EndOfStream, EventDecoder};
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut buf = BytesMut::from(&b"id: 1\ndata: done\n\ndata: cut"[..]);
    /// assert!(decoder.decode(&mut buf).unwrap().is_some());
    /// assert!(decoder.decode(&mut buf).unwrap().is_none());
    /// assert_eq!(decoder.finish(&mut buf), EndOfStream::Truncated);
    /// assert!(buf.is_empty());
    /// assert_eq!(decoder.last_event_id(), b"1");
    /// ```
    ///
    /// Call [`decode`](EventDecoder::decode) until it returns `Ok(None)`
    /// first: complete lines the decoder took and did not interpret yet
    /// (events not yet returned) are dropped too, and then reported as
    /// [`EndOfStream::Truncated`], never as `Clean`.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ssekit_codec::{EndOfStream, EventDecoder};
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut buf = BytesMut::from(&b"data: a\n\ndata: b\n\n"[..]);
    /// assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().data(), "a");
    /// // `b` was taken from `buf` but not returned: finishing now loses it.
    /// assert_eq!(decoder.finish(&mut buf), EndOfStream::Truncated);
    /// ```
    pub fn finish(&mut self, src: &mut BytesMut) -> EndOfStream {
        let untaken = self.ready_at < self.ready.len() || !self.pieces.is_empty();
        let end = self.fields.finish(src);
        src.clear();
        self.reset_buffers();
        if untaken {
            EndOfStream::Truncated
        } else {
            end
        }
    }

    /// Readies the decoder for a new stream, such as a reconnection, as
    /// [`finish`](EventDecoder::finish) does but without a verdict: drops
    /// every byte and line it holds and the event in progress, and keeps the
    /// limits, the last event ID and the reconnection time (what a
    /// reconnecting client needs). Drop or clear your own input buffer too.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ssekit_codec::EventDecoder;
    ///
    /// let mut decoder = EventDecoder::new();
    /// let mut buf = BytesMut::from(&b"retry: 900\nid: 1\ndata: a\n\nid: 2\ndata: cut"[..]);
    /// assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().data(), "a");
    /// assert!(decoder.decode(&mut buf).unwrap().is_none());
    ///
    /// // The connection broke mid-event: start afresh on a new one.
    /// decoder.reset();
    /// assert_eq!((decoder.last_event_id().as_ref(), decoder.reconnection_time()), (&b"1"[..], Some(900)));
    /// let mut buf = BytesMut::from(&b"data: b\n\n"[..]);
    /// let event = decoder.decode(&mut buf).unwrap().unwrap();
    /// assert_eq!((event.data(), event.id().as_ref()), ("b".into(), &b"1"[..]));
    /// ```
    pub fn reset(&mut self) {
        let _ = self.fields.finish(&[]);
        self.reset_buffers();
    }

    /// Drops the lines and pieces held, and the event in progress.
    fn reset_buffers(&mut self) {
        self.ready = Bytes::new();
        self.ready_at = 0;
        self.tail_scanned = 0;
        self.pieces.clear();
        self.pieces_len = 0;
        self.drop_event();
    }

    /// The shared decoding loop over any [`Source`].
    #[inline]
    fn run<S: Source>(&mut self, src: &mut S, want: Want) -> Result<Found, DecodeError> {
        loop {
            if self.ready_at == self.ready.len() && !self.refill(src)? {
                if S::PINS {
                    // The caller appends next: the event in progress must
                    // not pin its buffer meanwhile.
                    self.unpin_event(S::PINS_SMALL, S::KEEPS_LONG_LINES);
                }
                return Ok(Found::NeedMore);
            }
            let step = self
                .fields
                .decode_lines(&self.ready[self.ready_at..], want == Want::Items);
            let base = self.ready_at;
            self.ready_at += step.consumed;
            let field = match step.status {
                Ok(Step::Field(field)) => field,
                Ok(Step::NeedMore) => continue,
                Err(err) => {
                    self.drop_event();
                    return Err(err);
                }
            };
            // The field borrows `self.ready`; turn its value into a range.
            let start = self.ready.as_ptr() as usize;
            let range = |v: &[u8]| {
                let from = v.as_ptr() as usize - start;
                debug_assert!(from >= base);
                from..from + v.len()
            };
            match field {
                Field::Data(v) => {
                    let line = range(v);
                    if self.copied_lines.is_empty() {
                        self.data.push(self.ready.slice(line));
                    } else if S::PINS && !kept_as_slice(S::KEEPS_LONG_LINES, line.len()) {
                        let at = self.copied.len();
                        self.copied.extend_from_slice(&self.ready[line]);
                        self.copied_lines
                            .push(CopiedLine::Copied(at, self.copied.len()));
                    } else {
                        let line = self.ready.slice(line);
                        self.copied_lines.push(CopiedLine::Shared(line));
                    }
                }
                Field::Event(v) => {
                    let from = range(v).start;
                    self.event_type = Some(Value::copy_or_slice(&self.ready, from, v));
                }
                Field::Id(v) => {
                    let from = range(v).start;
                    self.id_buffer = Value::copy_or_slice(&self.ready, from, v);
                    self.id_changed = true;
                }
                Field::Retry(ms) => {
                    self.reconnection_time = Some(ms);
                    self.retry = Some(ms);
                    if want == Want::Items {
                        return Ok(Found::Retry(ms));
                    }
                }
                Field::Comment(v) => {
                    if want == Want::Items {
                        return Ok(Found::Comment(self.ready.slice(range(v))));
                    }
                }
                Field::Ignored { .. } => {}
                Field::Dispatch => {
                    if self.dispatch(S::PINS_SMALL) {
                        return Ok(Found::Event);
                    }
                }
            }
        }
    }

    /// Moves every complete line at the front of `src` into `self.ready`.
    /// Returns `false` when `src` holds no complete line; the field layer has
    /// then checked the incomplete line against the limits.
    fn refill<S: Source>(&mut self, src: &mut S) -> Result<bool, DecodeError> {
        self.ready = Bytes::new();
        self.ready_at = 0;
        let bytes = src.bytes();
        let from = self.tail_scanned.min(bytes.len());
        if let Some(last) = memchr::memrchr2(b'\n', b'\r', &bytes[from..]) {
            self.ready = src.take(from + last + 1);
            self.tail_scanned = 0;
            return Ok(true);
        }
        self.tail_scanned = bytes.len();
        if self.fields.incomplete_line_fits(bytes.len()) {
            return Ok(false);
        }
        self.fields.assume_no_line_end(bytes.len());
        let step = self.fields.decode(bytes);
        let consumed = step.consumed;
        let status = step.status.map(|_| ());
        if consumed > 0 {
            drop(src.take(consumed));
            self.tail_scanned -= consumed;
        }
        match status {
            Ok(()) => Ok(false),
            Err(err) => {
                self.drop_event();
                Err(err)
            }
        }
    }

    /// The spec's "dispatch the event" steps, at a blank line. Returns
    /// whether there is an event to dispatch; [`take_event`] then builds it.
    ///
    /// [`take_event`]: EventDecoder::take_event
    #[inline]
    fn dispatch(&mut self, pins: bool) -> bool {
        self.event_sets_id = self.id_changed;
        if self.id_changed {
            self.last_event_id = core::mem::take(&mut self.id_buffer);
            // The last event ID lives on, unlike the event: it is copied out
            // of the caller's buffer before the caller appends to it.
            self.last_id_pinned = pins && self.last_event_id.is_shared();
            self.id_changed = false;
        }
        if self.data.is_empty() && self.copied_lines.is_empty() {
            self.event_type = None;
            self.retry = None;
            return false;
        }
        true
    }

    /// Builds the event that [`dispatch`](EventDecoder::dispatch) found,
    /// resetting the data and event type buffers.
    #[inline]
    fn take_event(&mut self) -> Event {
        let event_type = match self.event_type.take() {
            Some(t) if !t.is_empty() => t,
            _ => Value::MESSAGE,
        };
        let id = self.last_event_id.clone();
        Event {
            event_type,
            data: self.take_data(),
            id,
            retry: self.retry.take(),
            sets_id: self.event_sets_id,
        }
    }

    /// Moves the data lines into an event's storage: inline for one line,
    /// one exactly sized allocation for more.
    #[inline]
    fn take_data(&mut self) -> DataLines {
        if self.data.len() == 1 {
            if let Some(line) = self.data.pop() {
                return DataLines::from_buf([line]);
            }
        }
        if !self.copied_lines.is_empty() {
            return self.take_copied();
        }
        self.data.drain(..).collect()
    }

    /// Copies the event's data lines so far into `copied`, releasing the
    /// slices that pinned the caller's buffer, except, when `keep_long`,
    /// lines of at least [`CARRY_ROOM`] bytes (see
    /// `Source::KEEPS_LONG_LINES`). The event's later data lines are copied
    /// too.
    #[cold]
    fn start_copying(&mut self, keep_long: bool) {
        debug_assert!(self.copied.is_empty() && self.copied_lines.is_empty());
        let kept = |line: &Bytes| kept_as_slice(keep_long, line.len());
        let len = self
            .data
            .iter()
            .filter(|l| !kept(l))
            .map(Bytes::len)
            .sum::<usize>();
        // Room for as much again: an event cut by a chunk boundary goes on.
        self.copied.reserve(2 * len);
        for held in self.data.drain(..) {
            if kept(&held) {
                self.copied_lines.push(CopiedLine::Shared(held));
                continue;
            }
            let at = self.copied.len();
            self.copied.extend_from_slice(&held);
            self.copied_lines
                .push(CopiedLine::Copied(at, self.copied.len()));
        }
    }

    /// Copies what the event in progress holds of the input (its data lines,
    /// type and ID) out of it, before the caller appends to its buffer.
    fn unpin_event(&mut self, small: bool, keep_long: bool) {
        if !self.data.is_empty() {
            self.start_copying(keep_long);
        }
        if !small {
            return;
        }
        if let Some(event_type) = self.event_type.take() {
            self.event_type = Some(self.keep(event_type));
        }
        if self.id_changed {
            let id = core::mem::take(&mut self.id_buffer);
            self.id_buffer = self.keep(id);
        }
        if self.last_id_pinned {
            let id = core::mem::take(&mut self.last_event_id);
            self.last_event_id = self.keep(id);
            self.last_id_pinned = false;
        }
    }

    /// `value`, copied into `kept` if it is a slice of some other buffer.
    /// Inline values (short ones) are already the decoder's own.
    fn keep(&mut self, value: Value) -> Value {
        if !value.is_shared() {
            return value;
        }
        if self.kept.capacity() - self.kept.len() < value.len() {
            self.kept.reserve(value.len().max(KEPT_ROOM));
        }
        self.kept.extend_from_slice(&value);
        Value::Shared(self.kept.split().freeze())
    }

    /// The copied data lines, as slices of one frozen buffer. `copied`
    /// keeps its spare room for the next event, and can reuse all of its
    /// storage once the event's slices are dropped.
    #[cold]
    fn take_copied(&mut self) -> DataLines {
        let all = self.copied.split().freeze();
        let lines = self
            .copied_lines
            .drain(..)
            .map(|line| match line {
                CopiedLine::Copied(from, to) => all.slice(from..to),
                CopiedLine::Shared(line) => line,
            })
            .collect();
        lines
    }

    /// Turns what the loop found into an [`Item`].
    fn item(&mut self, found: Found) -> Option<Item> {
        match found {
            Found::Event => Some(Item::Event(self.take_event())),
            Found::Comment(text) => Some(Item::Comment(text)),
            Found::Retry(ms) => Some(Item::Retry(ms)),
            Found::NeedMore => None,
        }
    }

    /// Forgets the event in progress, including any `id` it set.
    fn drop_event(&mut self) {
        self.data.clear();
        self.copied.clear();
        self.copied_lines.clear();
        self.event_type = None;
        self.retry = None;
        if self.id_changed {
            self.id_buffer = Value::EMPTY;
            self.id_changed = false;
        }
    }
}
