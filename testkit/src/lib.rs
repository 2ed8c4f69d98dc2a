//! Property checks behind the fuzz targets in `fuzz/` and the corpus replay
//! test `tests/fuzz_replay.rs`.
//!
//! **Internal, not published.** This crate is a workspace member used only
//! as a dev-dependency of `ssekit` and as the fuzz crate's dependency, so
//! users of ssekit never compile it. It is a library rather than part of the
//! fuzz crate so that a plain `cargo test` on stable replays the committed
//! corpus through exactly the checks the fuzzer runs; each fuzz target is
//! one line calling a function here.
//!
//! Every check takes raw bytes and derives all of its parameters from them
//! deterministically: a few header bytes, then the payload. Corpus files are
//! therefore plain bytes (`fuzz/seed.py` writes the seeds). A check returns
//! normally on any input and panics only when a property is violated, with a
//! message naming the property.
//!
//! | check | input | property |
//! |---|---|---|
//! | `decode` | limits, feed mode, chunk size, bytes | no panic; buffered bytes and every event within [`Limits`]; errors well formed |
//! | `decode_chunked` | limits, chunk lengths, bytes | every split and every entry point gives the one-piece transcript; field layer plus a spec assembler agrees; naive reference agrees |
//! | `decode_borrowed` | limits, chunk lengths, bytes | `BorrowedDecoder` over those chunks, over 1-byte chunks and over chunks eight times as long gives `EventDecoder`'s one-piece transcript, items and events alike |
//! | `roundtrip` | one event's parts | encode then decode gives exactly that event, or a refusal under a CR, LF or NUL rule |
//! | `encode_no_injection` | several frames' parts | each encoded frame decodes to exactly its own items, never more |
//! | `tokio_codec` | limits, read sizes, bytes | the tokio-util codecs driven by hand equal direct decoding; their encoder round-trips |
//!
//! Limits header (three bytes, used by several checks): `max_line_len`,
//! `max_event_len`, `max_data_lines`, each unbounded when the byte is
//! `0xF0` or more and otherwise small (`b % 80`, `b`, `b % 8`), so that the
//! limits are actually hit.

use core::fmt;

use bytes::{Bytes, BytesMut};
use ssekit_codec::{
    data_round_trips, BorrowedDecoder, BorrowedItem, DecodeError, Decoder, EncodeError,
    EndOfStream, Event, EventDecoder, EventRef, Field, FieldName, Item, Limit, Limits, Step,
    DEFAULT_EVENT_TYPE, KEEP_ALIVE_FRAME,
};

/// The names of the checks, which are also the fuzz targets' names and the
/// directories under `fuzz/corpus/`.
pub const TARGETS: &[&str] = &[
    "decode",
    "decode_chunked",
    "decode_borrowed",
    "roundtrip",
    "encode_no_injection",
    "tokio_codec",
];

/// The check named `name` (one of [`TARGETS`]), or `None` for an unknown
/// name.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    match name {
        "decode" => Some(decode),
        "decode_chunked" => Some(decode_chunked),
        "decode_borrowed" => Some(decode_borrowed),
        "roundtrip" => Some(roundtrip),
        "encode_no_injection" => Some(encode_no_injection),
        "tokio_codec" => Some(tokio_codec),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Deriving parameters from bytes

/// Reads parameters from the front of the input; past its end every read
/// gives zeros, so any input is valid.
struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    fn new(data: &'a [u8]) -> Input<'a> {
        Input { rest: data }
    }

    fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&b, rest)) => {
                self.rest = rest;
                b
            }
            None => 0,
        }
    }

    /// Up to `n` bytes.
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = rest;
        head
    }

    /// A value prefixed by its length in one byte.
    fn value(&mut self) -> &'a [u8] {
        let n = self.byte();
        self.take(usize::from(n))
    }

    /// Eight bytes, little-endian, zero-padded.
    fn u64(&mut self) -> u64 {
        let mut raw = [0u8; 8];
        let head = self.take(8);
        raw[..head.len()].copy_from_slice(head);
        u64::from_le_bytes(raw)
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn rest(self) -> &'a [u8] {
        self.rest
    }
}

/// A header byte at or above this means "no limit".
const UNBOUNDED: u8 = 0xF0;

/// Reads the three-byte limits header.
fn read_limits(input: &mut Input<'_>) -> Limits {
    let pick = |b: u8, modulus: usize| {
        if b >= UNBOUNDED {
            usize::MAX
        } else {
            usize::from(b) % modulus
        }
    };
    Limits::default()
        .max_line_len(pick(input.byte(), 80))
        .max_event_len(pick(input.byte(), 256))
        .max_data_lines(pick(input.byte(), 8))
}

/// Cuts `body` into chunks of the given lengths (empty chunks included); the
/// last chunk is whatever is left.
fn cut<'a>(body: &'a [u8], lengths: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::with_capacity(lengths.len() + 1);
    let mut rest = body;
    for &n in lengths {
        let (head, tail) = rest.split_at(n.min(rest.len()));
        chunks.push(head);
        rest = tail;
    }
    chunks.push(rest);
    chunks
}

// ---------------------------------------------------------------------------
// Transcripts

/// A dispatched event, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ev {
    event_type: Bytes,
    lines: Vec<Bytes>,
    id: Bytes,
    retry: Option<u64>,
}

impl Ev {
    fn of(event: &Event) -> Ev {
        Ev {
            event_type: event.event_type().clone(),
            lines: event.data_lines().to_vec(),
            id: event.id().clone(),
            retry: event.retry(),
        }
    }
}

/// One thing reported while decoding, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rec {
    Event(Ev),
    Retry(u64),
    Comment(Bytes),
    Error(DecodeError),
}

/// Everything one decoding run reported.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Transcript {
    items: Vec<Rec>,
    end: EndOfStream,
    last_event_id: Bytes,
    reconnection_time: Option<u64>,
}

impl Transcript {
    /// The transcript as an events-only entry point reports it: comments
    /// and `retry` items left out.
    fn events_only(&self) -> Transcript {
        Transcript {
            items: self
                .items
                .iter()
                .filter(|r| matches!(r, Rec::Event(_) | Rec::Error(_)))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    fn errors(&self) -> impl Iterator<Item = &DecodeError> {
        self.items.iter().filter_map(|r| match r {
            Rec::Error(e) => Some(e),
            _ => None,
        })
    }
}

/// Bytes shown as an escaped byte string, shortened.
struct Shown<'a>(&'a [u8]);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 512;
        let head = &self.0[..self.0.len().min(MAX)];
        write!(f, "{:?}", Bytes::copy_from_slice(head))?;
        if self.0.len() > MAX {
            write!(f, "... ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// Panics, showing the first difference, unless the transcripts are equal.
fn assert_same(what: &str, input: &[u8], expected: &Transcript, actual: &Transcript) {
    if expected == actual {
        return;
    }
    let mut msg = format!("{what}: transcripts differ for input {:?}\n", Shown(input));
    let first = expected
        .items
        .iter()
        .zip(&actual.items)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.items.len().min(actual.items.len()));
    msg += &format!(
        "  first difference at item {first}:\n    expected {:?}\n    actual   {:?}\n",
        expected.items.get(first),
        actual.items.get(first)
    );
    msg += &format!(
        "  items: expected {}, actual {}\n  end: {:?} vs {:?}\n  last_event_id: {:?} vs {:?}\n  reconnection_time: {:?} vs {:?}",
        expected.items.len(),
        actual.items.len(),
        expected.end,
        actual.end,
        expected.last_event_id,
        actual.last_event_id,
        expected.reconnection_time,
        actual.reconnection_time
    );
    panic!("{msg}");
}

// ---------------------------------------------------------------------------
// Driving the event layer

/// Which `EventDecoder` entry point is fed, and from what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    /// `decode_item` on a `BytesMut`.
    Items,
    /// `decode` on a `BytesMut`.
    Events,
    /// `decode_item_bytes` on each chunk as `Bytes`, the leftover carried.
    ItemsBytes,
    /// `decode_bytes` on each chunk as `Bytes`, the leftover carried.
    EventsBytes,
    /// `decode_chunk` on each chunk as `Bytes`, with its carry buffer.
    EventsChunk,
}

impl Feed {
    fn items(self) -> bool {
        matches!(self, Feed::Items | Feed::ItemsBytes)
    }

    fn bytes(self) -> bool {
        matches!(self, Feed::ItemsBytes | Feed::EventsBytes)
    }
}

/// Feeds `chunks` to an `EventDecoder` through `feed`, checking on the way
/// that every event respects `limits` and that what stays buffered while
/// the decoder waits for input is at most `max(max_line_len, 2)` bytes (an
/// incomplete line within the limit, or two bytes of a byte order mark).
fn run(limits: Limits, chunks: &[&[u8]], feed: Feed) -> Transcript {
    let mut decoder = EventDecoder::with_limits(limits);
    let mut items = Vec::new();
    let mut carry = BytesMut::new();
    let bound = limits.get_max_line_len().max(2);
    let mut fed = 0usize;
    for &chunk in chunks {
        fed += chunk.len();
        let left = if feed == Feed::EventsChunk {
            let mut src = Bytes::copy_from_slice(chunk);
            loop {
                let result = decoder
                    .decode_chunk(&mut carry, &mut src)
                    .map(|e| e.map(Item::Event));
                if !record(limits, result, &mut items, fed) {
                    break;
                }
            }
            assert!(src.is_empty(), "decode_chunk left part of the chunk unread");
            carry.len()
        } else if feed.bytes() {
            let mut src = if carry.is_empty() {
                Bytes::copy_from_slice(chunk)
            } else {
                carry.extend_from_slice(chunk);
                carry.split().freeze()
            };
            loop {
                let result = if feed.items() {
                    decoder.decode_item_bytes(&mut src)
                } else {
                    decoder.decode_bytes(&mut src).map(|e| e.map(Item::Event))
                };
                if !record(limits, result, &mut items, fed) {
                    break;
                }
            }
            carry.extend_from_slice(&src);
            src.len()
        } else {
            carry.extend_from_slice(chunk);
            loop {
                let result = if feed.items() {
                    decoder.decode_item(&mut carry)
                } else {
                    decoder.decode(&mut carry).map(|e| e.map(Item::Event))
                };
                if !record(limits, result, &mut items, fed) {
                    break;
                }
            }
            carry.len()
        };
        assert!(
            left <= bound,
            "{left} bytes stayed buffered waiting for input ({feed:?}), more than \
             max(max_line_len, 2) = {bound}; {limits:?}"
        );
    }
    let end = decoder.finish(&mut carry);
    assert!(
        carry.is_empty(),
        "EventDecoder::finish must empty the buffer"
    );
    Transcript {
        items,
        end,
        last_event_id: decoder.last_event_id().clone(),
        reconnection_time: decoder.reconnection_time(),
    }
}

/// Records one result; returns whether to call again. `fed` is the number
/// of bytes fed so far, which bounds the number of items (each needs at
/// least one line ending, or one byte of an over-long line): more would
/// mean a decoder going round without progress.
fn record(
    limits: Limits,
    result: Result<Option<Item>, DecodeError>,
    items: &mut Vec<Rec>,
    fed: usize,
) -> bool {
    let rec = match result {
        Ok(None) => return false,
        Ok(Some(Item::Event(event))) => Rec::Event(checked_event(limits, &event)),
        Ok(Some(Item::Comment(text))) => {
            assert!(
                text.len() < limits.get_max_line_len(),
                "comment {:?} is longer than a line may be: {limits:?}",
                Shown(&text)
            );
            assert!(
                !text.contains(&b'\r') && !text.contains(&b'\n'),
                "comment {:?} holds a line break",
                Shown(&text)
            );
            Rec::Comment(text)
        }
        Ok(Some(Item::Retry(ms))) => Rec::Retry(ms),
        Ok(Some(other)) => panic!("unexpected item {other:?}"),
        Err(err) => Rec::Error(err),
    };
    items.push(rec);
    assert!(
        items.len() <= fed + 1,
        "{} items from {fed} bytes: the decoder is not making progress",
        items.len()
    );
    true
}

/// Checks a dispatched event against the limits and the spec's shape, and
/// returns it owned.
///
/// Every data line came from a field line of at least `value + 4` bytes
/// (`data` alone, or `data:` and the value), the type from one of at least
/// `type + 6` (`event:`), the ID from one of at least `id + 3` (`id:`).
/// The data lines and the type (unless it is `message`, which may be the
/// default) lie in the event's own block, so their field lines count
/// towards `max_event_len` together.
fn checked_event(limits: Limits, event: &Event) -> Ev {
    let max_line = limits.get_max_line_len();
    let max_event = limits.get_max_event_len();
    let lines = event.data_lines();
    let show = || format!("{event:?} with {limits:?}");
    assert!(
        !lines.is_empty(),
        "an event has at least one data line: {}",
        show()
    );
    assert!(
        lines.len() <= limits.get_max_data_lines(),
        "{} data lines: {}",
        lines.len(),
        show()
    );
    let mut block = 0usize;
    for line in lines {
        assert!(
            line.len().saturating_add(4) <= max_line,
            "data line of {} bytes: {}",
            line.len(),
            show()
        );
        assert!(
            !line.contains(&b'\r') && !line.contains(&b'\n'),
            "data line with a line break: {}",
            show()
        );
        block = block.saturating_add(line.len() + 4);
    }
    let ty = event.event_type();
    assert!(!ty.is_empty(), "empty event type: {}", show());
    assert!(
        !ty.contains(&b'\r') && !ty.contains(&b'\n'),
        "event type with a line break: {}",
        show()
    );
    if ty != DEFAULT_EVENT_TYPE {
        assert!(
            ty.len().saturating_add(6) <= max_line,
            "event type of {} bytes: {}",
            ty.len(),
            show()
        );
        block = block.saturating_add(ty.len() + 6);
    }
    assert!(
        block <= max_event,
        "the event's field lines hold at least {block} bytes: {}",
        show()
    );
    assert!(
        event.data_len() <= max_event,
        "data_len {}: {}",
        event.data_len(),
        show()
    );
    let id = event.id();
    assert!(
        id.len().saturating_add(3) <= max_line.min(max_event),
        "ID of {} bytes: {}",
        id.len(),
        show()
    );
    assert!(
        !id.contains(&0) && !id.contains(&b'\r') && !id.contains(&b'\n'),
        "ID with NUL or a line break: {}",
        show()
    );
    let joined = lines.join(&b'\n');
    assert_eq!(event.data(), joined, "data() is the lines joined with LF");
    assert_eq!(event.data_len(), joined.len(), "data_len() is data().len()");
    Ev::of(event)
}

/// Checks the errors of a run: the bound each names is the configured one,
/// and their offsets are inside the input and strictly increasing (after an
/// error the decoder skips at least to the end of that line).
fn check_errors(limits: Limits, transcript: &Transcript, len: usize) {
    let mut previous: Option<u64> = None;
    for err in transcript.errors() {
        let configured = match err.limit() {
            Limit::LineLength => limits.get_max_line_len(),
            Limit::EventSize => limits.get_max_event_len(),
            Limit::DataLines => limits.get_max_data_lines(),
            other => panic!("unknown limit {other:?}"),
        };
        match *err {
            DecodeError::LimitExceeded { max, offset, .. } => {
                assert_eq!(max, configured, "{err:?} names the wrong bound");
                assert!(offset < len as u64, "{err:?} is past the input's end");
                if let Some(prev) = previous {
                    assert!(offset > prev, "{err:?} does not come after {prev}");
                }
                previous = Some(offset);
            }
            _ => panic!("unknown error {err:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Two independent models

/// The spec's event stream interpretation over the field layer, with
/// ssekit's documented error recovery (the event in progress is dropped
/// whole, including an `id` it set).
#[derive(Default)]
struct Assembler {
    items: Vec<Rec>,
    data: Vec<Bytes>,
    event_type: Bytes,
    retry: Option<u64>,
    id_buffer: Bytes,
    last_event_id: Bytes,
    reconnection_time: Option<u64>,
}

impl Assembler {
    fn field(&mut self, field: Field<'_>) {
        let copy = Bytes::copy_from_slice;
        match field {
            Field::Data(v) => self.data.push(copy(v)),
            Field::Event(v) => self.event_type = copy(v),
            Field::Id(v) => self.id_buffer = copy(v),
            Field::Retry(ms) => {
                self.reconnection_time = Some(ms);
                self.retry = Some(ms);
                self.items.push(Rec::Retry(ms));
            }
            Field::Comment(v) => self.items.push(Rec::Comment(copy(v))),
            Field::Ignored { .. } => {}
            Field::Dispatch => {
                self.last_event_id = self.id_buffer.clone();
                if !self.data.is_empty() {
                    let event_type = if self.event_type.is_empty() {
                        Bytes::from_static(DEFAULT_EVENT_TYPE.as_bytes())
                    } else {
                        self.event_type.clone()
                    };
                    self.items.push(Rec::Event(Ev {
                        event_type,
                        lines: core::mem::take(&mut self.data),
                        id: self.last_event_id.clone(),
                        retry: self.retry,
                    }));
                }
                self.drop_event();
            }
            other => panic!("unknown field {other:?}"),
        }
    }

    fn error(&mut self, err: DecodeError) {
        self.items.push(Rec::Error(err));
        self.drop_event();
        self.id_buffer = self.last_event_id.clone();
    }

    fn drop_event(&mut self) {
        self.data.clear();
        self.event_type = Bytes::new();
        self.retry = None;
    }
}

/// Runs the field layer over `chunks` with a `Vec` buffer, as a caller
/// without `bytes` would, and assembles events from its fields.
fn assemble(limits: Limits, chunks: &[&[u8]]) -> Transcript {
    let mut decoder = Decoder::with_limits(limits);
    let mut model = Assembler::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut consumed_total = 0u64;
    for &chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let step = decoder.decode(&buf);
            let consumed = step.consumed;
            assert!(
                consumed <= buf.len(),
                "Decoder consumed {consumed} of {} bytes",
                buf.len()
            );
            let more = match step.status {
                Ok(Step::Field(field)) => {
                    model.field(field);
                    true
                }
                Ok(Step::NeedMore) => false,
                Err(err) => {
                    model.error(err);
                    true
                }
            };
            assert!(
                !more || consumed > 0,
                "Decoder reported a field or an error without consuming input"
            );
            buf.drain(..consumed);
            consumed_total += consumed as u64;
            if !more {
                break;
            }
        }
    }
    assert_eq!(
        decoder.position(),
        consumed_total,
        "Decoder::position is the sum of consumed"
    );
    let end = decoder.finish(&buf);
    Transcript {
        items: model.items,
        end,
        last_event_id: model.last_event_id,
        reconnection_time: model.reconnection_time,
    }
}

/// A naive decoder written from the spec over the whole input, with no
/// limits: lines split at CRLF, LF or CR, then each line interpreted.
fn reference(input: &[u8]) -> Transcript {
    let text = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\n' || text[i] == b'\r' {
            lines.push(&text[start..i]);
            if text[i] == b'\r' && text.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    let rest = &text[start..];

    let mut model = Assembler::default();
    let mut in_event = false;
    for line in lines {
        if line.is_empty() {
            in_event = false;
            model.field(Field::Dispatch);
            continue;
        }
        if line[0] == b':' {
            model.field(Field::Comment(&line[1..]));
            continue;
        }
        in_event = true;
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        let field = match name {
            b"event" => Field::Event(value),
            b"data" => Field::Data(value),
            b"id" if !value.contains(&0) => Field::Id(value),
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                match core::str::from_utf8(value).map(str::parse::<u64>) {
                    Ok(Ok(ms)) => Field::Retry(ms),
                    _ => continue,
                }
            }
            _ => continue,
        };
        model.field(field);
    }
    let end = if in_event || !rest.is_empty() {
        EndOfStream::Truncated
    } else {
        EndOfStream::Clean
    };
    Transcript {
        items: model.items,
        end,
        last_event_id: model.last_event_id,
        reconnection_time: model.reconnection_time,
    }
}

// ---------------------------------------------------------------------------
// Decoding checks

/// Decodes arbitrary bytes with arbitrary small [`Limits`]: never panics,
/// keeps at most `max(max_line_len, 2)` bytes buffered while waiting for
/// input, and every event, comment and error respects the limits.
///
/// Input: the limits header (3 bytes), a mode byte (bit 7: `decode_item`
/// rather than `decode`; bit 6: from `Bytes` chunks rather than a
/// `BytesMut`; bits 0-5: chunk size, 0 for one piece), then the stream.
pub fn decode(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = read_limits(&mut input);
    let mode = input.byte();
    let body = input.rest();
    let feed = match (mode & 0x80 != 0, mode & 0x40 != 0) {
        (true, false) => Feed::Items,
        (false, false) => Feed::Events,
        (true, true) => Feed::ItemsBytes,
        (false, true) => Feed::EventsBytes,
    };
    let size = usize::from(mode & 0x3F);
    let chunks: Vec<&[u8]> = if size == 0 {
        vec![body]
    } else {
        body.chunks(size).collect()
    };
    let transcript = run(limits, &chunks, feed);
    check_errors(limits, &transcript, body.len());
}

/// Decodes bytes cut at fuzzer-chosen points and checks that the result
/// does not depend on the cuts or on the entry point, and that two models
/// agree with it:
/// - `decode_item` and `decode_item_bytes` on the chunks give the transcript
///   of `decode_item` on the whole input (events, retries, comments, errors
///   with their offsets, how the stream ended, the last event ID and the
///   reconnection time);
/// - `decode`, `decode_bytes` and `decode_chunk` on the chunks give its events
///   and errors (`decode_chunk` also on chunks eight times as long);
/// - the field layer (`Decoder`) plus a small assembler of the spec's steps
///   gives the same transcript;
/// - with no limits, so does a naive decoder over the whole input.
///
/// Input: the limits header (3 bytes), a count byte `n` (taken modulo 17),
/// `n` chunk lengths of one byte each (0 makes an empty chunk), then the
/// stream; the last chunk is whatever the lengths leave.
pub fn decode_chunked(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = read_limits(&mut input);
    let n = usize::from(input.byte() % 17);
    let lengths: Vec<usize> = (0..n).map(|_| usize::from(input.byte())).collect();
    let body = input.rest();
    let chunks = cut(body, &lengths);

    let whole = run(limits, &[body], Feed::Items);
    check_errors(limits, &whole, body.len());
    let what = |feed: Feed| format!("EventDecoder {feed:?} over chunks {lengths:?}, {limits:?}");
    for feed in [Feed::Items, Feed::ItemsBytes] {
        assert_same(&what(feed), body, &whole, &run(limits, &chunks, feed));
    }
    let events = whole.events_only();
    for feed in [Feed::Events, Feed::EventsBytes, Feed::EventsChunk] {
        assert_same(&what(feed), body, &events, &run(limits, &chunks, feed));
    }
    // `decode_chunk` treats chunks over 256 bytes differently: check it on
    // chunks eight times as long too.
    let long: Vec<usize> = lengths.iter().map(|&n| n * 8).collect();
    let feed = Feed::EventsChunk;
    assert_same(
        &format!("EventDecoder {feed:?} over chunks {long:?}, {limits:?}"),
        body,
        &events,
        &run(limits, &cut(body, &long), feed),
    );
    assert_same(
        &format!("Decoder + spec assembler over chunks {lengths:?}, {limits:?}"),
        body,
        &assemble(limits, &chunks),
        &whole,
    );
    if limits == Limits::unbounded() {
        assert_same("naive reference decoder", body, &reference(body), &whole);
    }
}

/// Decodes bytes cut at fuzzer-chosen points with the borrowing event
/// layer and checks that it gives exactly what the owned one gives on the
/// whole input: with `decode_item`, the same transcript (events, comments,
/// retries, errors with their offsets, the end, the last event ID and the
/// reconnection time); with `decode`, its events and errors. Both run over
/// the chunks, over 1-byte chunks, and over chunks eight times as long (the
/// borrowing decoder treats chunks over 256 bytes that follow a carried
/// line differently).
///
/// Input: as for [`decode_chunked`].
pub fn decode_borrowed(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = read_limits(&mut input);
    let n = usize::from(input.byte() % 17);
    let lengths: Vec<usize> = (0..n).map(|_| usize::from(input.byte())).collect();
    let body = input.rest();

    let whole = run(limits, &[body], Feed::Items);
    let events = whole.events_only();
    let long: Vec<usize> = lengths.iter().map(|&n| n * 8).collect();
    let cuts: [(String, Vec<&[u8]>); 3] = [
        (format!("{lengths:?}"), cut(body, &lengths)),
        ("1-byte".into(), body.chunks(1).collect()),
        (format!("{long:?}"), cut(body, &long)),
    ];
    for (name, chunks) in &cuts {
        for items in [true, false] {
            let what = format!(
                "BorrowedDecoder {} over chunks {name}, {limits:?}",
                if items { "decode_item" } else { "decode" }
            );
            let expected = if items { &whole } else { &events };
            assert_same(&what, body, expected, &run_borrowed(limits, chunks, items));
        }
    }
}

/// Decodes `chunks` with [`BorrowedDecoder`], each event checked and copied
/// out as an owned [`Event`].
fn run_borrowed(limits: Limits, chunks: &[&[u8]], items: bool) -> Transcript {
    let mut decoder = BorrowedDecoder::with_limits(limits);
    let mut recs = Vec::new();
    let mut fed = 0usize;
    for &chunk in chunks {
        fed += chunk.len();
        let mut chunk = chunk;
        loop {
            let result = if items {
                decoder.decode_item(&mut chunk)
            } else {
                decoder
                    .decode(&mut chunk)
                    .map(|e| e.map(BorrowedItem::Event))
            };
            let result = result.map(|item| {
                item.map(|item| match item {
                    BorrowedItem::Event(e) => {
                        let owned = e.to_event();
                        assert_eq!(owned.data(), e.data(), "to_event keeps the data");
                        assert_eq!(owned.sets_id(), e.sets_id(), "to_event keeps sets_id");
                        Item::Event(owned)
                    }
                    BorrowedItem::Comment(text) => Item::Comment(Bytes::copy_from_slice(text)),
                    BorrowedItem::Retry(ms) => Item::Retry(ms),
                    other => panic!("unexpected item {other:?}"),
                })
            });
            if !record(limits, result, &mut recs, fed) {
                break;
            }
        }
        assert!(
            chunk.is_empty(),
            "BorrowedDecoder left part of the input unread"
        );
    }
    let end = decoder.finish();
    Transcript {
        items: recs,
        end,
        last_event_id: Bytes::copy_from_slice(decoder.last_event_id()),
        reconnection_time: decoder.reconnection_time(),
    }
}

// ---------------------------------------------------------------------------
// Encoding checks

/// The parts of one frame.
#[derive(Debug, Clone, Copy, Default)]
struct Parts<'a> {
    comment: Option<&'a [u8]>,
    event_type: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    retry: Option<u64>,
    data: Option<&'a [u8]>,
}

/// Flag bits of a frame's first byte.
const HAS_TYPE: u8 = 1;
const HAS_ID: u8 = 1 << 1;
const HAS_RETRY: u8 = 1 << 2;
const HAS_COMMENT: u8 = 1 << 3;
const HAS_DATA: u8 = 1 << 4;
/// Encode as an owned `Event` (built with `EventBuilder`) instead of an
/// `EventRef`; the comment is then left out.
const OWNED: u8 = 1 << 5;
/// Send `KEEP_ALIVE_FRAME` instead; nothing else is read for this frame.
const KEEP_ALIVE: u8 = 1 << 6;

impl<'a> Parts<'a> {
    /// Reads the flags' parts: length-prefixed comment, type and ID, an
    /// eight-byte retry; the data is length-prefixed when `data_len_prefix`
    /// is set, and otherwise everything left.
    fn read(flags: u8, input: &mut Input<'a>, data_len_prefix: bool) -> Parts<'a> {
        let mut parts = Parts::default();
        let has = |bit: u8| flags & bit != 0;
        if has(HAS_COMMENT) {
            parts.comment = Some(input.value());
        }
        if has(HAS_TYPE) {
            parts.event_type = Some(input.value());
        }
        if has(HAS_ID) {
            parts.id = Some(input.value());
        }
        if has(HAS_RETRY) {
            parts.retry = Some(input.u64());
        }
        if has(HAS_DATA) {
            parts.data = Some(if data_len_prefix {
                input.value()
            } else {
                core::mem::replace(input, Input::new(&[])).rest()
            });
        }
        parts
    }

    fn event_ref(&self) -> EventRef<'a> {
        let mut frame = EventRef::new();
        if let Some(v) = self.comment {
            frame = frame.comment(v);
        }
        if let Some(v) = self.event_type {
            frame = frame.event_type(v);
        }
        if let Some(v) = self.id {
            frame = frame.id(v);
        }
        if let Some(ms) = self.retry {
            frame = frame.retry(ms);
        }
        if let Some(v) = self.data {
            frame = frame.data(v);
        }
        frame
    }

    fn build(&self) -> Result<Event, EncodeError> {
        let mut builder = Event::builder();
        if let Some(v) = self.event_type {
            builder = builder.event_type(Bytes::copy_from_slice(v));
        }
        if let Some(v) = self.id {
            builder = builder.id(Bytes::copy_from_slice(v));
        }
        if let Some(ms) = self.retry {
            builder = builder.retry(ms);
        }
        if let Some(v) = self.data {
            builder = builder.data(Bytes::copy_from_slice(v));
        }
        builder.build()
    }

    /// The value the encoder checks for `field`.
    fn value(&self, field: FieldName) -> Option<&'a [u8]> {
        match field {
            FieldName::Comment => self.comment,
            FieldName::Event => self.event_type,
            FieldName::Id => self.id,
            _ => None,
        }
    }

    /// The error the encoder must give, worked out independently: the
    /// first CR or LF (or, in the ID, NUL) in the checked values, in the
    /// documented order (comment, event type, ID).
    fn expected_check(&self, with_comment: bool) -> Result<(), EncodeError> {
        let checked = [
            (
                FieldName::Comment,
                if with_comment { self.comment } else { None },
                false,
            ),
            (FieldName::Event, self.event_type, false),
            (FieldName::Id, self.id, true),
        ];
        for (field, value, nul) in checked {
            let Some(value) = value else { continue };
            let bad = |b: &u8| *b == b'\r' || *b == b'\n' || (nul && *b == 0);
            if let Some(offset) = value.iter().position(bad) {
                return Err(EncodeError::InvalidValue {
                    field,
                    offset,
                    byte: value[offset],
                });
            }
        }
        Ok(())
    }

    /// Checks that a refusal is for one of the documented reasons, and the
    /// expected one.
    fn check_refusal(&self, err: EncodeError, with_comment: bool) {
        match err {
            EncodeError::InvalidValue {
                field,
                offset,
                byte,
            } => {
                let rule = matches!(
                    (field, byte),
                    (
                        FieldName::Comment | FieldName::Event | FieldName::Id,
                        b'\r' | b'\n'
                    ) | (FieldName::Id, 0)
                );
                assert!(
                    rule,
                    "refused {field:?} for byte {byte:#04x}, which no CR, LF or NUL rule forbids: {self:?}"
                );
                assert_eq!(
                    self.value(field).and_then(|v| v.get(offset)),
                    Some(&byte),
                    "the refusal points at a byte the {field:?} value does not have: {self:?}"
                );
            }
            EncodeError::BufferTooSmall { required } => {
                panic!("a growable destination refused a frame of {required} bytes: {self:?}")
            }
            other => panic!("unknown encode error {other:?}: {self:?}"),
        }
        assert_eq!(
            Err(err),
            self.expected_check(with_comment),
            "the refusal is not the first offending byte: {self:?}"
        );
    }

    /// The items a decoder must report for this frame sent with an
    /// `EventRef`, given the last event ID before it (updated).
    fn expected_ref(&self, last_event_id: &mut Bytes) -> Vec<Rec> {
        let mut items = Vec::new();
        if let Some(c) = self.comment {
            items.push(Rec::Comment(Bytes::copy_from_slice(c)));
        }
        if let Some(ms) = self.retry {
            items.push(Rec::Retry(ms));
        }
        if let Some(id) = self.id {
            *last_event_id = Bytes::copy_from_slice(id);
        }
        if let Some(data) = self.data {
            items.push(Rec::Event(Ev {
                event_type: expected_type(self.event_type),
                lines: expected_lines(data),
                id: last_event_id.clone(),
                retry: self.retry,
            }));
        }
        items
    }

    /// The items a decoder must report for this frame sent as an owned
    /// event: an empty ID writes no `id` line, so the previous one stays.
    fn expected_owned(&self, last_event_id: &mut Bytes) -> Vec<Rec> {
        let mut items = Vec::new();
        if let Some(ms) = self.retry {
            items.push(Rec::Retry(ms));
        }
        if let Some(id) = self.id.filter(|id| !id.is_empty()) {
            *last_event_id = Bytes::copy_from_slice(id);
        }
        items.push(Rec::Event(Ev {
            event_type: expected_type(self.event_type),
            lines: expected_lines(self.data.unwrap_or_default()),
            id: last_event_id.clone(),
            retry: self.retry,
        }));
        items
    }
}

fn expected_type(event_type: Option<&[u8]>) -> Bytes {
    match event_type {
        Some(t) if !t.is_empty() => Bytes::copy_from_slice(t),
        _ => Bytes::from_static(DEFAULT_EVENT_TYPE.as_bytes()),
    }
}

/// Data with every CRLF and lone CR turned into LF.
fn normalise(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut bytes = data.iter().peekable();
    while let Some(&b) = bytes.next() {
        if b == b'\r' {
            bytes.next_if_eq(&&b'\n');
            out.push(b'\n');
        } else {
            out.push(b);
        }
    }
    out
}

/// The data lines a decoder gives back for `data`.
fn expected_lines(data: &[u8]) -> Vec<Bytes> {
    normalise(data)
        .split(|&b| b == b'\n')
        .map(Bytes::copy_from_slice)
        .collect()
}

/// Encodes `frame` through every destination, checks they agree with each
/// other and with `encoded_len` (and that a buffer one byte short is
/// refused untouched), and returns the bytes, or the refusal (after
/// checking that every destination refuses the same way, writing nothing).
fn encode_ref(frame: &EventRef<'_>) -> Result<Vec<u8>, EncodeError> {
    let mut vec = b"keep".to_vec();
    let result = frame.encode_to_vec(&mut vec);
    let mut slice = vec![0xA5u8; frame.encoded_len() + 1];
    let mut buf = BytesMut::from(&b"keep"[..]);
    let via_buf = frame.encode(&mut buf);
    let via_bytes = frame.to_bytes();
    let validated = frame.validate();
    let via_slice = frame.encode_to_slice(&mut slice);
    if let Err(err) = result {
        assert_eq!(vec, b"keep", "encode_to_vec wrote on error");
        assert_eq!(&buf[..], b"keep", "encode wrote on error");
        assert!(
            slice.iter().all(|&b| b == 0xA5),
            "encode_to_slice wrote on error"
        );
        assert_eq!(via_buf, Err(err), "encode and encode_to_vec disagree");
        assert_eq!(via_bytes, Err(err), "to_bytes and encode_to_vec disagree");
        assert_eq!(validated, Err(err), "validate and encode_to_vec disagree");
        assert_eq!(
            via_slice,
            Err(err),
            "encode_to_slice and encode_to_vec disagree"
        );
        return Err(err);
    }
    assert_eq!(
        validated,
        Ok(()),
        "validate refused what encode_to_vec took"
    );
    let out = vec.split_off(4);
    let len = frame.encoded_len();
    assert_eq!(out.len(), len, "encoded_len disagrees with encode_to_vec");
    assert_eq!(&buf[4..], &out[..], "encode (BufMut) differs");
    assert_eq!(
        via_bytes.ok().as_deref(),
        Some(&out[..]),
        "to_bytes differs"
    );
    assert_eq!(via_slice, Ok(len), "encode_to_slice length");
    assert_eq!(&slice[..len], &out[..], "encode_to_slice differs");
    assert_eq!(slice[len], 0xA5, "encode_to_slice wrote past the frame");
    if len > 0 {
        let mut short = vec![0x5Au8; len - 1];
        assert_eq!(
            frame.encode_to_slice(&mut short),
            Err(EncodeError::BufferTooSmall { required: len }),
            "a slice one byte short"
        );
        assert!(short.iter().all(|&b| b == 0x5A), "wrote into a short slice");
        let mut fixed: &mut [u8] = &mut short;
        assert_eq!(
            frame.encode(&mut fixed),
            Err(EncodeError::BufferTooSmall { required: len }),
            "a fixed BufMut one byte short"
        );
        assert!(
            short.iter().all(|&b| b == 0x5A),
            "wrote into a short BufMut"
        );
    } else {
        assert!(
            frame.is_empty(),
            "only an empty EventRef encodes to nothing"
        );
    }
    Ok(out)
}

/// Encodes an owned event every way and checks that the ways agree.
fn encode_owned(event: &Event) -> Vec<u8> {
    let bytes = event.to_bytes();
    let len = event.encoded_len();
    assert_eq!(bytes.len(), len, "encoded_len disagrees with to_bytes");
    let mut buf = BytesMut::from(&b"keep"[..]);
    event.encode(&mut buf);
    assert_eq!(
        &buf[4..],
        &bytes[..],
        "encode (BufMut) differs from to_bytes"
    );
    let mut slice = vec![0xA5u8; len + 1];
    assert_eq!(
        event.encode_to_slice(&mut slice),
        Ok(len),
        "encode_to_slice length"
    );
    assert_eq!(&slice[..len], &bytes[..], "encode_to_slice differs");
    assert_eq!(slice[len], 0xA5, "encode_to_slice wrote past the frame");
    assert_eq!(
        event.encode_to_slice(&mut slice[..len - 1]),
        Err(EncodeError::BufferTooSmall { required: len }),
        "a slice one byte short"
    );
    bytes.to_vec()
}

/// Decodes one encoded stream in one piece, with no limits.
fn decode_all(stream: &[u8]) -> Transcript {
    run(Limits::unbounded(), &[stream], Feed::Items)
}

/// Encodes one event built from the bytes, both as an [`EventRef`] and as
/// an owned [`Event`]: if the encoder takes it, decoding the output gives
/// exactly that event (data with CR and CRLF turned into LF, type `message`
/// when none or an empty one is given) and nothing else; if it refuses it,
/// the reason is a CR, LF or NUL rule, at the first offending byte.
///
/// Input: a flags byte (bit 0 type, 1 ID, 2 retry, 3 comment, 4 data),
/// then the comment, type and ID each as a length byte and that many bytes,
/// the retry as eight bytes little-endian, and the data: everything left.
pub fn roundtrip(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let parts = Parts::read(flags | HAS_DATA, &mut input, false);
    let parts_ref = Parts {
        data: parts.data.filter(|_| flags & HAS_DATA != 0),
        ..parts
    };

    // Borrowed parts, with the comment.
    let frame = parts_ref.event_ref();
    match encode_ref(&frame) {
        Err(err) => parts_ref.check_refusal(err, true),
        Ok(out) => {
            let mut last_event_id = Bytes::new();
            let expected = Transcript {
                items: parts_ref.expected_ref(&mut last_event_id),
                end: EndOfStream::Clean,
                last_event_id,
                reconnection_time: parts_ref.retry,
            };
            assert_same(
                &format!("EventRef round trip of {frame:?}"),
                &out,
                &expected,
                &decode_all(&out),
            );
        }
    }

    // Owned: the builder has no comment; no data means empty data.
    let data = parts.data.unwrap_or_default();
    assert_eq!(
        data_round_trips(data),
        !data.contains(&b'\r'),
        "data_round_trips"
    );
    let plain = Event::new(Bytes::copy_from_slice(data));
    assert_eq!(
        plain.data(),
        normalise(data),
        "Event::new normalises the data"
    );
    assert_eq!(plain.event_type(), DEFAULT_EVENT_TYPE, "Event::new type");
    match parts.build() {
        Err(err) => parts.check_refusal(err, false),
        Ok(event) => {
            assert_eq!(event.data(), normalise(data), "built event's data");
            assert_eq!(
                event.event_type(),
                &expected_type(parts.event_type),
                "built event's type"
            );
            assert_eq!(event.id(), parts.id.unwrap_or_default(), "built event's ID");
            assert_eq!(event.retry(), parts.retry, "built event's retry");
            let out = encode_owned(&event);
            let decoded = decode_all(&out);
            let mut last_event_id = Bytes::new();
            let expected = Transcript {
                items: parts.expected_owned(&mut last_event_id),
                end: EndOfStream::Clean,
                last_event_id,
                reconnection_time: parts.retry,
            };
            assert_same(
                &format!("Event round trip of {event:?}"),
                &out,
                &expected,
                &decoded,
            );
            assert_eq!(
                decoded.items.len(),
                usize::from(parts.retry.is_some()) + 1,
                "one event"
            );
            let mut again = EventDecoder::new();
            let mut buf = BytesMut::from(&out[..]);
            assert_eq!(
                again.decode(&mut buf).ok().flatten().as_ref(),
                Some(&event),
                "the decoded event equals the built one"
            );
        }
    }
}

/// Encodes several frames with arbitrary values, some borrowed
/// ([`EventRef`]), some owned ([`Event`]), some keep-alives: every frame the
/// encoder takes decodes to exactly its own items (at most one event, with
/// the fields given), the decoder is at an event boundary after each frame,
/// and the whole stream decodes to the concatenation. Nothing a value holds
/// can make a frame dispatch a second event or change the next one.
///
/// Input: up to 16 frames, each a flags byte (bit 0 type, 1 ID, 2 retry,
/// 3 comment, 4 data, 5 owned, 6 keep-alive), then the comment, type, ID
/// and data as a length byte and that many bytes, the retry as eight bytes.
pub fn encode_no_injection(data: &[u8]) {
    let mut input = Input::new(data);
    let mut stream = Vec::new();
    let mut frames: Vec<(Vec<u8>, Vec<Rec>)> = Vec::new();
    let mut last_event_id = Bytes::new();
    let mut reconnection_time = None;
    while !input.is_empty() && frames.len() < 16 {
        let flags = input.byte();
        if flags & KEEP_ALIVE != 0 {
            let comment = Bytes::from_static(&KEEP_ALIVE_FRAME[1..KEEP_ALIVE_FRAME.len() - 2]);
            frames.push((KEEP_ALIVE_FRAME.to_vec(), vec![Rec::Comment(comment)]));
            continue;
        }
        let owned = flags & OWNED != 0;
        let parts = Parts::read(flags, &mut input, true);
        let parts = if owned {
            Parts {
                comment: None,
                ..parts
            }
        } else {
            parts
        };
        let encoded = if owned {
            parts.build().map(|event| encode_owned(&event))
        } else {
            encode_ref(&parts.event_ref())
        };
        match encoded {
            Err(err) => parts.check_refusal(err, !owned),
            Ok(bytes) => {
                let expected = if owned {
                    parts.expected_owned(&mut last_event_id)
                } else {
                    parts.expected_ref(&mut last_event_id)
                };
                reconnection_time = parts.retry.or(reconnection_time);
                frames.push((bytes, expected));
            }
        }
    }

    // Frame by frame through one decoder.
    let mut decoder = EventDecoder::with_limits(Limits::unbounded());
    let mut buf = BytesMut::new();
    for (i, (bytes, expected)) in frames.iter().enumerate() {
        stream.extend_from_slice(bytes);
        buf.extend_from_slice(bytes);
        let mut got = Vec::new();
        while record(
            Limits::unbounded(),
            decoder.decode_item(&mut buf),
            &mut got,
            stream.len(),
        ) {}
        assert!(
            got == *expected,
            "frame {i} {:?} decodes to {got:?}, expected exactly {expected:?}",
            Shown(bytes)
        );
        assert!(buf.is_empty(), "frame {i} left bytes unread");
        assert!(
            !decoder.fields().in_event(),
            "frame {i} {:?} leaves the decoder inside an event",
            Shown(bytes)
        );
    }
    assert_eq!(decoder.finish(&mut buf), EndOfStream::Clean);

    let expected = Transcript {
        items: frames.into_iter().flat_map(|(_, items)| items).collect(),
        end: EndOfStream::Clean,
        last_event_id,
        reconnection_time,
    };
    assert_same("encoded stream", &stream, &expected, &decode_all(&stream));
}

// ---------------------------------------------------------------------------
// The tokio-util codecs

/// Drives a `tokio_util::codec::Decoder` by hand the way `FramedRead` does
/// (decode after every read, `decode_eof` at the end), except that it goes
/// on after an error to see the whole stream. `convert` turns an item or
/// error into an event or a decoding error.
fn drive_codec<C, F>(codec: &mut C, reads: &[&[u8]], mut convert: F) -> (Vec<Rec>, Vec<Event>)
where
    C: tokio_util::codec::Decoder,
    F: FnMut(Result<C::Item, C::Error>) -> Result<Event, DecodeError>,
{
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let mut events = Vec::new();
    let total: usize = reads.iter().map(|r| r.len()).sum();
    let mut push = |result: Result<Option<C::Item>, C::Error>| {
        let result = match result {
            Ok(None) => return false,
            Ok(Some(item)) => convert(Ok(item)),
            Err(err) => convert(Err(err)),
        };
        match result {
            Ok(event) => {
                items.push(Rec::Event(Ev::of(&event)));
                events.push(event);
            }
            Err(err) => items.push(Rec::Error(err)),
        }
        assert!(items.len() <= total + 1, "the codec is not making progress");
        true
    };
    for read in reads {
        buf.extend_from_slice(read);
        while push(codec.decode(&mut buf)) {}
    }
    while push(codec.decode_eof(&mut buf)) {}
    assert!(buf.is_empty(), "decode_eof left bytes in the buffer");
    (items, events)
}

/// Feeds arbitrary bytes, in reads of arbitrary sizes, to `SseCodec` and
/// `RecoveringSseCodec` through their `tokio_util::codec::Decoder` impls,
/// by hand (no runtime): both must give what `EventDecoder::decode` gives
/// on the whole input, including how the stream ended, the last event ID
/// and the reconnection time. Every decoded event encoded with the codec's
/// `Encoder` impls decodes back to itself.
///
/// Input: the limits header (3 bytes), a count byte `n` (taken modulo 17),
/// `n` read sizes of one byte each (the byte plus one, used in turn; none
/// means one read), then the stream.
pub fn tokio_codec(data: &[u8]) {
    use ssekit_adapters::tokio::{RecoveringSseCodec, SseCodec};
    use tokio_util::codec::Encoder as _;

    let mut input = Input::new(data);
    let limits = read_limits(&mut input);
    let n = usize::from(input.byte() % 17);
    let sizes: Vec<usize> = (0..n).map(|_| usize::from(input.byte()) + 1).collect();
    let body = input.rest();
    let reads: Vec<&[u8]> = if sizes.is_empty() {
        vec![body]
    } else {
        let mut reads = Vec::new();
        let mut rest = body;
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (read, tail) = rest.split_at(size.min(rest.len()));
            reads.push(read);
            rest = tail;
        }
        reads
    };

    let expected = run(limits, &[body], Feed::Events);
    let what = |codec: &str| format!("{codec} with reads of {sizes:?}, {limits:?}");
    let millis = |d: Option<core::time::Duration>| d.map(|d| u64::try_from(d.as_millis()).unwrap());

    let mut codec = SseCodec::with_limits(limits);
    let (items, events) = drive_codec(&mut codec, &reads, |r| match r {
        Ok(event) => Ok(event),
        Err(err) => Err(*err.as_decode().expect("SseCodec: only decode errors")),
    });
    let got = Transcript {
        items,
        end: codec
            .end_of_stream()
            .expect("end_of_stream after decode_eof"),
        last_event_id: codec.last_event_id().clone(),
        reconnection_time: millis(codec.reconnection_time()),
    };
    assert_same(&what("SseCodec"), body, &expected, &got);

    let mut recovering = RecoveringSseCodec::with_limits(limits);
    let (items, _) = drive_codec(&mut recovering, &reads, |r| match r {
        Ok(item) => item,
        Err(err) => panic!("RecoveringSseCodec: I/O error {err}"),
    });
    let got = Transcript {
        items,
        end: recovering
            .end_of_stream()
            .expect("end_of_stream after decode_eof"),
        last_event_id: recovering.last_event_id().clone(),
        reconnection_time: millis(recovering.reconnection_time()),
    };
    assert_same(&what("RecoveringSseCodec"), body, &expected, &got);

    for event in events {
        let frame = event.to_bytes();
        let mut by_ref = BytesMut::new();
        let mut by_value = BytesMut::new();
        let mut as_bytes = BytesMut::new();
        codec.encode(&event, &mut by_ref).expect("Encoder<&Event>");
        codec
            .encode(event.clone(), &mut by_value)
            .expect("Encoder<Event>");
        codec
            .encode(frame.clone(), &mut as_bytes)
            .expect("Encoder<Bytes>");
        assert_eq!(by_ref, frame, "Encoder<&Event> differs from to_bytes");
        assert_eq!(by_value, frame, "Encoder<Event> differs from to_bytes");
        assert_eq!(as_bytes, frame, "Encoder<Bytes> changed the frame");
        let mut decoder = EventDecoder::with_limits(Limits::unbounded());
        let decoded = decoder.decode(&mut by_ref).ok().flatten();
        assert_eq!(
            decoded.as_ref(),
            Some(&event),
            "a decoded event, encoded by SseCodec, decodes to itself"
        );
        assert!(by_ref.is_empty(), "the frame holds exactly one event");
        assert!(!decoder.fields().in_event(), "the frame ends the event");
    }
}
