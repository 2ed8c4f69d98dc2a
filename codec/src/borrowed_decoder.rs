//! The borrowing event layer: the spec's "event stream interpretation" with
//! events handed out as views, for callers that use each event at once.

use alloc::vec::Vec;

use crate::borrowed_event::{BorrowedEvent, BorrowedItem};
use crate::error::DecodeError;
use crate::field::Field;
use crate::field_decoder::{Decoder, EndOfStream};
use crate::limits::Limits;

/// The type of an event that names none.
const MESSAGE: &[u8] = b"message";

/// A chunk of at most this many bytes that follows a carried incomplete
/// line is carried whole: cheaper than searching it for the line's end
/// first and then decoding the rest in place.
const SMALL_CHUNK: usize = 256;

/// Where a part of the event in progress is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Not set.
    None,
    /// A range of the input of the current call; only while that call
    /// runs (every return that leaves the event in progress copies it out).
    Input(usize, usize),
    /// A range of the carry; only until the carry's complete lines are
    /// used up, when the carry's buffer becomes the data's (no copy) or the
    /// range is copied out.
    Carry(usize, usize),
    /// In the decoder's own buffer for that part, from the offset to its
    /// end (a buffer taken over from the carry starts with the field name).
    Owned(usize),
}

/// What the decoding loop stopped at.
enum Found {
    Event,
    /// A comment, as a range of the input (`in_carry` false) or of the carry.
    Comment {
        in_carry: bool,
        from: usize,
        to: usize,
    },
    Retry(u64),
    NeedMore,
}

/// The event in progress and the stream's state, apart from the bytes.
#[derive(Debug, Clone)]
struct Pending {
    data: Vec<u8>,
    data_at: Part,
    event_type: Vec<u8>,
    type_at: Part,
    retry: Option<u64>,
    /// The spec's last event ID buffer, while `id_changed`.
    id_buffer: Vec<u8>,
    /// An `id` field set `id_buffer` since the last blank line.
    id_changed: bool,
    /// Whether the event last dispatched had an `id` field.
    sets_id: bool,
    last_event_id: Vec<u8>,
    reconnection_time: Option<u64>,
    /// The last call returned an event: its parts are cleared at the next.
    dispatched: bool,
}

/// The event layer for callers that use each event before decoding the
/// next (parse its JSON, forward it): events are [`BorrowedEvent`] views
/// of the input or of buffers the decoder reuses, so decoding costs no
/// allocation and no reference-count update per event once those buffers
/// have grown to the stream's largest event.
///
/// It applies the spec's event stream interpretation exactly as
/// [`EventDecoder`](crate::EventDecoder) does, with the same [`Limits`],
/// errors and recovery, on input that arrives as `&[u8]` chunks: pass each
/// chunk in and call until `Ok(None)`; the start of a line left incomplete
/// is kept inside (at most `max_line_len` bytes plus 256).
///
/// # Example
///
/// ```
/// use ssekit_codec::BorrowedDecoder;
///
/// let mut decoder = BorrowedDecoder::new();
/// let mut seen = Vec::new();
/// for chunk in [&b"data: hel"[..], b"lo\r", b"\n\r\nevent: end\ndata: a\ndata: b\n\n"] {
///     let mut chunk = chunk;
///     while let Some(event) = decoder.decode(&mut chunk)? {
///         seen.push((event.event_type().to_vec(), event.data().to_vec()));
///     }
/// }
/// assert_eq!(seen[0], (b"message".to_vec(), b"hello".to_vec()));
/// assert_eq!(seen[1], (b"end".to_vec(), b"a\nb".to_vec()));
/// # Ok::<(), ssekit_codec::DecodeError>(())
/// ```
///
/// With `serde_json`, each event's JSON is parsed straight from the input:
///
/// ```
/// # #[cfg(feature = "std")] {
/// use ssekit_codec::BorrowedDecoder;
///
/// #[derive(serde::Deserialize)]
/// struct Delta<'a> {
///     text: &'a str,
/// }
///
/// let body: &[u8] = b"data: {\"text\":\"Hel\"}\n\ndata: {\"text\":\"lo\"}\n\n";
/// let mut decoder = BorrowedDecoder::new();
/// let mut input = body;
/// let mut text = String::new();
/// while let Some(event) = decoder.decode(&mut input)? {
///     let delta: Delta<'_> = serde_json::from_slice(event.data())?;
///     text.push_str(delta.text);
/// }
/// assert_eq!(text, "Hello");
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors and recovery
///
/// A [`Limits`] bound being exceeded returns a [`DecodeError`]; the event
/// in progress is dropped whole and decoding goes on after the next blank
/// line, as [`EventDecoder`](crate::EventDecoder#errors-and-recovery)
/// describes.
#[derive(Debug, Clone)]
pub struct BorrowedDecoder {
    fields: Decoder,
    /// The start of a line that an earlier input left incomplete, and then
    /// the input that completes it.
    carry: Vec<u8>,
    /// How much of `carry` the field layer has consumed.
    carry_used: usize,
    pending: Pending,
}

impl Default for BorrowedDecoder {
    fn default() -> Self {
        BorrowedDecoder::new()
    }
}

impl BorrowedDecoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> BorrowedDecoder {
        BorrowedDecoder::with_limits(Limits::DEFAULT)
    }

    /// A decoder with the given [`Limits`].
    ///
    /// ```
    /// use ssekit_codec::{BorrowedDecoder, Limit, Limits};
    ///
    /// let mut decoder = BorrowedDecoder::with_limits(Limits::default().max_data_lines(1));
    /// let mut input: &[u8] = b"data: 1\ndata: 2\n\ndata: 3\n\n";
    /// assert_eq!(decoder.decode(&mut input).unwrap_err().limit(), Limit::DataLines);
    /// // The over-limit event is dropped; the next one comes through.
    /// assert_eq!(decoder.decode(&mut input)?.unwrap().data(), b"3");
    /// # Ok::<(), ssekit_codec::DecodeError>(())
    /// ```
    pub fn with_limits(limits: Limits) -> BorrowedDecoder {
        BorrowedDecoder {
            fields: Decoder::with_limits(limits),
            carry: Vec::new(),
            carry_used: 0,
            pending: Pending {
                data: Vec::new(),
                data_at: Part::None,
                event_type: Vec::new(),
                type_at: Part::None,
                retry: None,
                id_buffer: Vec::new(),
                id_changed: false,
                sets_id: false,
                last_event_id: Vec::new(),
                reconnection_time: None,
                dispatched: false,
            },
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        self.fields.limits()
    }

    /// The last event ID: what a reconnecting client sends as
    /// `Last-Event-ID`. Updated at every blank line.
    pub fn last_event_id(&self) -> &[u8] {
        &self.pending.last_event_id
    }

    /// Sets the last event ID, as when resuming a stream from a saved ID.
    ///
    /// ```
    /// use ssekit_codec::BorrowedDecoder;
    ///
    /// let mut decoder = BorrowedDecoder::new();
    /// decoder.set_last_event_id(b"41");
    /// let mut input: &[u8] = b"data: x\n\n";
    /// assert_eq!(decoder.decode(&mut input)?.unwrap().id(), b"41");
    /// # Ok::<(), ssekit_codec::DecodeError>(())
    /// ```
    pub fn set_last_event_id(&mut self, id: &[u8]) {
        let p = &mut self.pending;
        p.last_event_id.clear();
        p.last_event_id.extend_from_slice(id);
        p.id_changed = false;
    }

    /// The reconnection time in milliseconds from the latest valid `retry`
    /// field, if any has been seen.
    pub fn reconnection_time(&self) -> Option<u64> {
        self.pending.reconnection_time
    }

    /// Decodes the next event from `input`, skipping comments, and advances
    /// `input` past what it used.
    ///
    /// Call until it returns `Ok(None)`; `input` is then empty (the start
    /// of an incomplete line is kept inside) and the next input can be
    /// passed in. The event borrows from `input` and from the decoder, so
    /// it must be dropped before the next call.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when a [`Limits`] bound is exceeded; the event in
    /// progress is dropped and decoding goes on at the next one.
    pub fn decode<'s, 'i: 's>(
        &'s mut self,
        input: &mut &'i [u8],
    ) -> Result<Option<BorrowedEvent<'s>>, DecodeError> {
        let whole: &'i [u8] = input;
        match self.run(input, whole, false)? {
            Found::Event => Ok(Some(self.pending.event(whole, &self.carry))),
            _ => Ok(None),
        }
    }

    /// Decodes the next event, comment or `retry` field from `input`; call
    /// as [`decode`](BorrowedDecoder::decode). A client that keeps an idle
    /// timer resets it on comments, which servers send as heartbeats.
    ///
    /// ```
    /// use ssekit_codec::{BorrowedDecoder, BorrowedItem};
    ///
    /// let mut decoder = BorrowedDecoder::new();
    /// let mut input: &[u8] = b": ping\nretry: 500\ndata: x\n\n";
    /// assert_eq!(decoder.decode_item(&mut input)?, Some(BorrowedItem::Comment(b" ping")));
    /// assert_eq!(decoder.decode_item(&mut input)?, Some(BorrowedItem::Retry(500)));
    /// assert!(matches!(decoder.decode_item(&mut input)?, Some(BorrowedItem::Event(_))));
    /// assert_eq!(decoder.decode_item(&mut input)?, None);
    /// # Ok::<(), ssekit_codec::DecodeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`decode`](BorrowedDecoder::decode).
    pub fn decode_item<'s, 'i: 's>(
        &'s mut self,
        input: &mut &'i [u8],
    ) -> Result<Option<BorrowedItem<'s>>, DecodeError> {
        let whole: &'i [u8] = input;
        Ok(match self.run(input, whole, true)? {
            Found::Event => Some(BorrowedItem::Event(self.pending.event(whole, &self.carry))),
            Found::Comment { in_carry, from, to } => {
                let text = if in_carry {
                    &self.carry[from..to]
                } else {
                    &whole[from..to]
                };
                Some(BorrowedItem::Comment(text))
            }
            Found::Retry(ms) => Some(BorrowedItem::Retry(ms)),
            Found::NeedMore => None,
        })
    }

    /// Ends the stream: applies the spec's end-of-file rule (an event with
    /// no blank line after it is dropped), says whether the stream ended
    /// cleanly, and readies the decoder for a new stream, keeping the last
    /// event ID and the reconnection time.
    ///
    /// Call [`decode`](BorrowedDecoder::decode) until `Ok(None)` first:
    /// lines taken but not interpreted count as truncation.
    ///
    /// ```
    /// use ssekit_codec::{BorrowedDecoder, EndOfStream};
    ///
    /// let mut decoder = BorrowedDecoder::new();
    /// let mut input: &[u8] = b"id: 1\ndata: done\n\ndata: cu";
    /// assert!(decoder.decode(&mut input)?.is_some());
    /// assert!(decoder.decode(&mut input)?.is_none());
    /// assert_eq!(decoder.finish(), EndOfStream::Truncated);
    /// assert_eq!(decoder.last_event_id(), b"1");
    /// # Ok::<(), ssekit_codec::DecodeError>(())
    /// ```
    pub fn finish(&mut self) -> EndOfStream {
        let end = self.fields.finish(&self.carry[self.carry_used..]);
        self.clear();
        end
    }

    /// Starts a new stream, such as a reconnection, without a verdict on the
    /// old one: drops everything held and the event in progress, keeps the
    /// limits, the last event ID and the reconnection time.
    ///
    /// ```
    /// use ssekit_codec::BorrowedDecoder;
    ///
    /// let mut decoder = BorrowedDecoder::new();
    /// let mut input: &[u8] = b"id: 1\ndata: a\n\nid: 2\ndata: par";
    /// assert!(decoder.decode(&mut input)?.is_some());
    /// assert!(decoder.decode(&mut input)?.is_none());
    /// decoder.reset(); // the connection broke; a new one replays event 2
    /// let mut input: &[u8] = b"id: 2\ndata: b\n\n";
    /// assert_eq!(decoder.decode(&mut input)?.unwrap().data(), b"b");
    /// # Ok::<(), ssekit_codec::DecodeError>(())
    /// ```
    pub fn reset(&mut self) {
        let _ = self.fields.finish(&[]);
        self.clear();
    }

    fn clear(&mut self) {
        self.carry.clear();
        self.carry_used = 0;
        self.pending.drop_event();
        self.pending.dispatched = false;
    }

    /// The decoding loop: first the carried line and the input that
    /// completes it, then the input in place.
    #[inline(always)]
    fn run<'i>(
        &mut self,
        input: &mut &'i [u8],
        whole: &'i [u8],
        items: bool,
    ) -> Result<Found, DecodeError> {
        if self.pending.dispatched {
            self.pending.dispatched = false;
            self.pending.next_event();
        }
        while !self.carry.is_empty() {
            match self.run_carry(items)? {
                Found::NeedMore => {}
                found => return Ok(found),
            }
            if self.carry.is_empty() {
                break;
            }
            if input.is_empty() {
                return Ok(Found::NeedMore);
            }
            let (take, clean) = self.completing(input);
            // What the carry held before holds no line ending (the field
            // layer asked for more), nor do the first `clean` bytes taken:
            // they are not searched again.
            let searched = self.carry.len() + clean;
            self.carry.extend_from_slice(&input[..take]);
            self.fields.assume_no_line_end(searched);
            *input = &input[take..];
        }
        let buf: &'i [u8] = input;
        let pending = &mut self.pending;
        let (consumed, stop) = self.fields.decode_each(buf, items, |field| {
            pending.field(field, Within::Input(whole), items)
        });
        *input = &buf[consumed..];
        match stop {
            Ok(Some(found)) => {
                if !matches!(found, Found::Event) {
                    self.pending.unpin(whole);
                }
                Ok(found)
            }
            Ok(None) => {
                self.carry.extend_from_slice(input);
                *input = &[];
                self.pending.unpin(whole);
                Ok(Found::NeedMore)
            }
            Err(err) => {
                self.pending.drop_event();
                Err(err)
            }
        }
    }

    /// How many bytes at the front of `input` to append to the carried
    /// line (a small input whole, else up to the first line ending, and
    /// never much more than the line may still grow by), and how many of
    /// them are known to hold no line ending.
    fn completing(&self, input: &[u8]) -> (usize, usize) {
        if input.len() <= SMALL_CHUNK {
            return (input.len(), 0);
        }
        // One byte past the limit is enough for the field layer to report
        // an over-long line.
        let room = self
            .limits()
            .get_max_line_len()
            .saturating_sub(self.carry.len())
            .saturating_add(1);
        match memchr::memchr2(b'\n', b'\r', &input[..input.len().min(room)]) {
            Some(at) => (at + 1, at),
            None => {
                let take = input.len().min(room);
                (take, take)
            }
        }
    }

    /// Decodes the complete lines in the carry; their values are copied.
    fn run_carry(&mut self, items: bool) -> Result<Found, DecodeError> {
        let carry = &self.carry;
        let pending = &mut self.pending;
        let (consumed, stop) = self
            .fields
            .decode_each(&carry[self.carry_used..], items, |field| {
                pending.field(field, Within::Carry(carry), items)
            });
        self.carry_used += consumed;
        match stop {
            Ok(Some(found)) => Ok(found),
            Ok(None) => {
                self.drop_used_carry();
                Ok(Found::NeedMore)
            }
            Err(err) => {
                self.pending.drop_event();
                Err(err)
            }
        }
    }

    /// Drops the lines of the carry the field layer has used, keeping the
    /// incomplete one after them. Data of the event in progress that lies
    /// in those lines is kept: when it is at least as long as what stays,
    /// the carry's buffer becomes the data's and what stays moves to the
    /// other buffer (so a long line that came in many chunks is copied
    /// once, into the carry), else the data is copied out.
    fn drop_used_carry(&mut self) {
        if let Part::Carry(from, to) = self.pending.data_at {
            self.keep_carried_data(from, to);
        }
        self.carry.drain(..self.carry_used);
        self.carry_used = 0;
    }

    /// The part of [`drop_used_carry`](Self::drop_used_carry) for data
    /// at `from..to` in the carry's used lines; once per event at most.
    #[inline(never)]
    fn keep_carried_data(&mut self, from: usize, to: usize) {
        let used = self.carry_used;
        let pending = &mut self.pending;
        debug_assert!(from <= to && to <= used);
        if to - from >= self.carry.len() - used {
            core::mem::swap(&mut self.carry, &mut pending.data);
            self.carry.clear();
            self.carry.extend_from_slice(&pending.data[used..]);
            self.carry_used = 0;
            pending.data.truncate(to);
            pending.data_at = Part::Owned(from);
        } else {
            pending.data.clear();
            pending.data.extend_from_slice(&self.carry[from..to]);
            pending.data_at = Part::Owned(0);
        }
    }
}

/// The bytes a field's value lies in.
#[derive(Clone, Copy)]
enum Within<'a> {
    /// The input of the current call: values are kept as ranges of it.
    Input(&'a [u8]),
    /// The carry: values are copied, except comments, which are returned
    /// as ranges of it.
    Carry(&'a [u8]),
}

/// The offset of `value` in `whole`, which holds it.
#[inline]
fn offset(whole: &[u8], value: &[u8]) -> (usize, usize) {
    let from = value.as_ptr() as usize - whole.as_ptr() as usize;
    debug_assert!(from + value.len() <= whole.len());
    (from, from + value.len())
}

impl Pending {
    /// The spec's "process the field" and "dispatch the event" steps for one
    /// field, which lies `within` the input or the carry.
    #[inline(always)]
    fn field(&mut self, field: Field<'_>, within: Within<'_>, items: bool) -> Option<Found> {
        match field {
            Field::Data(v) => match (self.data_at, within) {
                (Part::None, Within::Input(whole)) => {
                    let (from, to) = offset(whole, v);
                    self.data_at = Part::Input(from, to);
                }
                (Part::None, Within::Carry(carry)) => {
                    let (from, to) = offset(carry, v);
                    self.data_at = Part::Carry(from, to);
                }
                (Part::Input(from, to), Within::Input(bytes))
                | (Part::Carry(from, to), Within::Carry(bytes)) => {
                    self.data.clear();
                    self.data.extend_from_slice(&bytes[from..to]);
                    self.data.push(b'\n');
                    self.data.extend_from_slice(v);
                    self.data_at = Part::Owned(0);
                }
                (Part::Owned(_), _)
                | (Part::Input(..), Within::Carry(_))
                | (Part::Carry(..), Within::Input(_)) => {
                    // Input parts are unpinned before the carry is used,
                    // and carry parts resolved before the input is.
                    debug_assert!(matches!(self.data_at, Part::Owned(_)), "{:?}", self.data_at);
                    self.data.push(b'\n');
                    self.data.extend_from_slice(v);
                }
            },
            Field::Event(v) => match within {
                Within::Input(whole) => {
                    let (from, to) = offset(whole, v);
                    self.type_at = Part::Input(from, to);
                }
                Within::Carry(_) => {
                    self.event_type.clear();
                    self.event_type.extend_from_slice(v);
                    self.type_at = Part::Owned(0);
                }
            },
            Field::Id(v) => {
                self.id_buffer.clear();
                self.id_buffer.extend_from_slice(v);
                self.id_changed = true;
            }
            Field::Retry(ms) => {
                self.reconnection_time = Some(ms);
                self.retry = Some(ms);
                if items {
                    return Some(Found::Retry(ms));
                }
            }
            Field::Comment(text) => {
                if items {
                    let (in_carry, bytes) = match within {
                        Within::Input(whole) => (false, whole),
                        Within::Carry(carry) => (true, carry),
                    };
                    let (from, to) = offset(bytes, text);
                    return Some(Found::Comment { in_carry, from, to });
                }
            }
            Field::Ignored { .. } => {}
            Field::Dispatch => {
                self.sets_id = self.id_changed;
                if self.id_changed {
                    core::mem::swap(&mut self.last_event_id, &mut self.id_buffer);
                    self.id_changed = false;
                }
                if self.data_at == Part::None {
                    self.type_at = Part::None;
                    self.retry = None;
                    return None;
                }
                self.dispatched = true;
                return Some(Found::Event);
            }
        }
        None
    }

    /// The event just dispatched, whose input parts lie in `whole` and
    /// carried parts in `carry`.
    #[inline(always)]
    fn event<'a>(&'a self, whole: &'a [u8], carry: &'a [u8]) -> BorrowedEvent<'a> {
        // The type is never in the carry, and its own buffer starts at 0.
        let event_type = match self.type_at {
            Part::Input(from, to) if from < to => &whole[from..to],
            Part::Owned(_) if !self.event_type.is_empty() => &self.event_type,
            _ => MESSAGE,
        };
        let data = match self.data_at {
            Part::Input(from, to) => &whole[from..to],
            Part::Owned(from) => &self.data[from..],
            Part::Carry(from, to) => &carry[from..to],
            Part::None => &[],
        };
        BorrowedEvent {
            event_type,
            data,
            id: &self.last_event_id,
            retry: self.retry,
            sets_id: self.sets_id,
        }
    }

    /// Copies the parts of the event in progress that lie in `whole` into
    /// the decoder's buffers, before `whole` goes away.
    fn unpin(&mut self, whole: &[u8]) {
        if let Part::Input(from, to) = self.data_at {
            self.data.clear();
            self.data.extend_from_slice(&whole[from..to]);
            self.data_at = Part::Owned(0);
        }
        if let Part::Input(from, to) = self.type_at {
            self.event_type.clear();
            self.event_type.extend_from_slice(&whole[from..to]);
            self.type_at = Part::Owned(0);
        }
    }

    /// Resets the data and type buffers after a dispatch.
    fn next_event(&mut self) {
        self.data_at = Part::None;
        self.type_at = Part::None;
        self.retry = None;
    }

    /// Forgets the event in progress, including any `id` it set.
    fn drop_event(&mut self) {
        self.next_event();
        self.id_changed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern crate std;
    use std::format;
    use std::vec::Vec;

    type Seen = Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>;

    fn decode_chunks(decoder: &mut BorrowedDecoder, chunks: &[&[u8]]) -> Seen {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut chunk = *chunk;
            while let Some(e) = decoder.decode(&mut chunk).unwrap() {
                out.push((e.event_type().to_vec(), e.data().to_vec(), e.id().to_vec()));
            }
            assert!(chunk.is_empty());
        }
        out
    }

    fn ev(t: &str, d: &str, id: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        (t.into(), d.into(), id.into())
    }

    #[test]
    fn an_event_split_anywhere_decodes_the_same() {
        let input: &[u8] = b"event: a\nid: 1\ndata: x\ndata: y\n\ndata: z\r\n\r\n";
        let want = [ev("a", "x\ny", "1"), ev("message", "z", "1")];
        for cut in 0..=input.len() {
            let mut decoder = BorrowedDecoder::new();
            let got = decode_chunks(&mut decoder, &[&input[..cut], &input[cut..]]);
            assert_eq!(got, want, "cut at {cut}");
            assert_eq!(decoder.finish(), EndOfStream::Clean);
        }
        let mut decoder = BorrowedDecoder::new();
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(decode_chunks(&mut decoder, &bytes), want);
    }

    #[test]
    fn single_line_data_borrows_the_input() {
        let input: &[u8] = b"data: in place\n\n";
        let mut decoder = BorrowedDecoder::new();
        let mut rest = input;
        let event = decoder.decode(&mut rest).unwrap().unwrap();
        assert_eq!(event.data().as_ptr(), input[6..].as_ptr());
    }

    #[test]
    fn a_comment_in_a_carried_line_and_one_in_place() {
        let mut decoder = BorrowedDecoder::new();
        let mut comments = Vec::new();
        for chunk in [&b": o"[..], b"ne\n: two\ndata: x\n", b"\n"] {
            let mut chunk = chunk;
            while let Some(item) = decoder.decode_item(&mut chunk).unwrap() {
                if let BorrowedItem::Comment(text) = item {
                    comments.push(text.to_vec());
                }
            }
        }
        assert_eq!(comments, [b" one".to_vec(), b" two".to_vec()]);
    }

    #[test]
    fn a_comment_mid_event_keeps_the_event() {
        let mut decoder = BorrowedDecoder::new();
        let mut input: &[u8] = b"event: t\ndata: a\n: c\ndata: b\n\n";
        let mut seen = Vec::new();
        while let Some(item) = decoder.decode_item(&mut input).unwrap() {
            if let BorrowedItem::Event(e) = item {
                seen.push((e.event_type().to_vec(), e.data().to_vec()));
            }
        }
        assert_eq!(seen, [(b"t".to_vec(), b"a\nb".to_vec())]);
    }

    #[test]
    fn ids_persist_reset_and_survive_reset() {
        let mut decoder = BorrowedDecoder::new();
        let got = decode_chunks(
            &mut decoder,
            &[b"id: 5\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 6\n\ndata: d\n\n"],
        );
        let want = [
            ev("message", "a", "5"),
            ev("message", "b", "5"),
            ev("message", "c", ""),
            ev("message", "d", "6"),
        ];
        assert_eq!(got, want);
        let mut input: &[u8] = b"id: 7\ndata: cut";
        assert!(decoder.decode(&mut input).unwrap().is_none());
        decoder.reset();
        assert_eq!(decoder.last_event_id(), b"6");
        assert_eq!(decoder.finish(), EndOfStream::Clean);
    }

    #[test]
    fn data_carried_over_chunks_keeps_what_follows_it() {
        // Long and short data lines, carried over chunks of every size:
        // the carry's buffer is taken over by the data (long line, short
        // rest) or the data copied out (short line, long rest).
        let long = "z".repeat(700);
        let rest = "y".repeat(200);
        let input = format!(
            "data: {long}\ndata: a\n\ndata: b\ndata: {rest}\n: c\r\n\r\nevent: t\rdata: {long}\n\n"
        );
        let want = [
            ev("message", &format!("{long}\na"), ""),
            ev("message", &format!("b\n{rest}"), ""),
            ev("t", &long, ""),
        ];
        // Failures show the long runs as L and R.
        let show = |s: &[(Vec<u8>, Vec<u8>, Vec<u8>)]| {
            let text = |b: &[u8]| std::string::String::from_utf8_lossy(b).into_owned();
            let short = |b: &[u8]| text(b).replace(&long, "L").replace(&rest, "R");
            s.iter()
                .map(|(t, d, _)| (text(t), short(d)))
                .collect::<Vec<_>>()
        };
        for size in 1..=input.len() {
            let mut decoder = BorrowedDecoder::new();
            let chunks: Vec<&[u8]> = input.as_bytes().chunks(size).collect();
            let got = decode_chunks(&mut decoder, &chunks);
            assert_eq!(show(&got), show(&want), "chunks of {size}");
            assert_eq!(decoder.finish(), EndOfStream::Clean);
        }
    }

    /// Decodes `chunks` with a line limit of 16, checking after every call
    /// that the carry stays within the limit plus one small chunk; returns
    /// the errors and the events' data.
    fn bounded(chunks: &[&[u8]]) -> (usize, Vec<Vec<u8>>) {
        let mut decoder = BorrowedDecoder::with_limits(Limits::default().max_line_len(16));
        let (mut errors, mut data) = (0, Vec::new());
        for chunk in chunks {
            let mut chunk = *chunk;
            loop {
                match decoder.decode(&mut chunk) {
                    Ok(Some(e)) => data.push(e.data().to_vec()),
                    Ok(None) => break,
                    Err(_) => errors += 1,
                }
                assert!(decoder.carry.len() <= 16 + SMALL_CHUNK + 1);
            }
        }
        (errors, data)
    }

    #[test]
    fn an_over_long_carried_line_is_bounded_and_recovers() {
        let ok = [b"ok".to_vec()].to_vec();
        let long = [b'x'; 1000];
        let got = bounded(&[b"data: ", &long, &long, b"\n\ndata: ok\n\n"]);
        assert_eq!(got, (1, ok.clone()));
        // The line's end far away in one big chunk: still bounded.
        let mut big = [b'y'; 5000].to_vec();
        big.extend_from_slice(b"\n\ndata: ok\n\n");
        assert_eq!(bounded(&[b"data: x", &big]), (1, ok));
    }
}
