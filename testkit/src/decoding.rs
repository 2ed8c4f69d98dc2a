//! The decoding checks, and driving the event layers for every check.

use bytes::{Bytes, BytesMut};
use ssekit_codec::{
    BorrowedDecoder, BorrowedItem, DecodeError, Event, EventDecoder, Item, Limit, Limits,
    DEFAULT_EVENT_TYPE,
};

use crate::model::{assemble, reference, Ev, Rec, Transcript};
use crate::{assert_same, cut, read_limits, Input, Shown};

// ---------------------------------------------------------------------------
// Driving the event layer

/// Which `EventDecoder` entry point is fed, and from what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Feed {
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
pub(crate) fn run(limits: Limits, chunks: &[&[u8]], feed: Feed) -> Transcript {
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
        last_event_id: Bytes::copy_from_slice(decoder.last_event_id()),
        reconnection_time: decoder.reconnection_time(),
    }
}

/// Records one result; returns whether to call again. `fed` is the number
/// of bytes fed so far, which bounds the number of items (each needs at
/// least one line ending, or one byte of an over-long line): more would
/// mean a decoder going round without progress.
pub(crate) fn record(
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
    if ty != DEFAULT_EVENT_TYPE.as_bytes() {
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
///   ([`assemble`]) gives the same transcript;
/// - with no limits, so does a naive decoder over the whole input
///   ([`reference()`]).
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
