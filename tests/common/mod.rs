//! Helpers shared by the decoder test binaries.
//!
//! Every binary compiles this module and uses only part of it.
#![allow(dead_code)]

use core::fmt::Write as _;

use bytes::{Bytes, BytesMut};
use ssekit::{
    BorrowedDecoder, BorrowedItem, DecodeError, Decoder, EndOfStream, Event, EventDecoder, Field,
    Item, Limits, Step,
};

/// The transcript types are the testkit's (`ssekit_testkit::model`), so
/// the library, the naive models and the fuzz checks all write down the same
/// records; [`EvExt`] and [`TranscriptExt`] add the views tests compare.
pub(crate) use ssekit_testkit::model::{Ev, Rec, Transcript};

/// Views of an event: the joined data, and the lossy text the conformance
/// vectors describe.
pub(crate) trait EvExt {
    /// The data fields' values joined with LF, as `Event::data` gives them.
    fn data(&self) -> Vec<u8>;
    /// [`EvExt::data`] as lossy text.
    fn data_text(&self) -> String;
    /// The `{type, data, id}` triple the conformance vectors describe, as
    /// lossy text.
    fn text(&self) -> (String, String, String);
}

impl EvExt for Ev {
    fn data(&self) -> Vec<u8> {
        self.lines.join(&b'\n')
    }

    fn data_text(&self) -> String {
        lossy(&EvExt::data(self))
    }

    fn text(&self) -> (String, String, String) {
        (lossy(&self.event_type), self.data_text(), lossy(&self.id))
    }
}

/// The items of a transcript, by kind. (Errors: the inherent
/// `Transcript::errors`.)
pub(crate) trait TranscriptExt {
    fn events(&self) -> Vec<&Ev>;
    /// Each event's data, as lossy text.
    fn data(&self) -> Vec<String>;
    fn retries(&self) -> Vec<u64>;
    /// Each comment, as lossy text.
    fn comments(&self) -> Vec<String>;
}

impl TranscriptExt for Transcript {
    fn events(&self) -> Vec<&Ev> {
        self.items
            .iter()
            .filter_map(|r| match r {
                Rec::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    fn data(&self) -> Vec<String> {
        self.events().iter().map(|e| e.data_text()).collect()
    }

    fn retries(&self) -> Vec<u64> {
        self.items
            .iter()
            .filter_map(|r| match r {
                Rec::Retry(ms) => Some(*ms),
                _ => None,
            })
            .collect()
    }

    fn comments(&self) -> Vec<String> {
        self.items
            .iter()
            .filter_map(|r| match r {
                Rec::Comment(c) => Some(lossy(c)),
                _ => None,
            })
            .collect()
    }
}

/// The record of a dispatched event, after checking that the event's own
/// views agree with its bytes: `data` is its lines joined with LF, and the
/// `*_lossy` methods give the lossy text of the raw bytes.
pub(crate) fn record(event: &Event) -> Ev {
    let ev = Ev::of(event);
    assert_eq!(event.data(), &EvExt::data(&ev)[..], "data vs data_lines");
    assert_eq!(event.event_type_lossy(), lossy(event.event_type()));
    assert_eq!(event.data_lossy(), lossy(&event.data()));
    assert_eq!(event.id_lossy(), lossy(event.id()));
    ev
}

/// Measurements taken while decoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BufferStats {
    /// Largest number of bytes left in the buffer after any call, minus the
    /// size of the chunk appended just before it.
    pub(crate) max_over_chunk: usize,
    /// Largest number of bytes left in the buffer when the decoder asked for
    /// more input (the incomplete line it keeps).
    pub(crate) max_idle: usize,
}

pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Decodes `chunks`, appended one by one to a `BytesMut`, with
/// `EventDecoder::decode_item`, then `finish`. Errors are recorded and
/// decoding goes on.
///
/// Every test that decodes through here also checks the borrowing event
/// layer: [`decode_chunks_borrowed`] on the same chunks must give the same
/// transcript.
pub(crate) fn decode_chunks<'a, I>(limits: Limits, chunks: I) -> (Transcript, BufferStats)
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let chunks: Vec<&[u8]> = chunks.into_iter().collect();
    let (owned, stats) = decode_chunks_owned(limits, chunks.iter().copied());
    let borrowed = decode_chunks_borrowed(limits, chunks.iter().copied());
    assert!(
        owned == borrowed,
        "EventDecoder and BorrowedDecoder differ on chunks {:?} with {limits:?}:\n{}",
        chunks.iter().map(|c| lossy(c)).collect::<Vec<_>>(),
        diff_transcripts(&owned, &borrowed)
    );
    (owned, stats)
}

/// [`decode_chunks`] with `EventDecoder` alone.
fn decode_chunks_owned<'a, I>(limits: Limits, chunks: I) -> (Transcript, BufferStats)
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut decoder = EventDecoder::with_limits(limits);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let mut stats = BufferStats::default();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let result = decoder.decode_item(&mut buf);
            stats.max_over_chunk = stats
                .max_over_chunk
                .max(buf.len().saturating_sub(chunk.len()));
            match result {
                Ok(Some(Item::Event(event))) => items.push(Rec::Event(record(&event))),
                Ok(Some(Item::Comment(text))) => items.push(Rec::Comment(text)),
                Ok(Some(Item::Retry(ms))) => items.push(Rec::Retry(ms)),
                Ok(Some(other)) => panic!("unexpected item {other:?}"),
                Ok(None) => {
                    stats.max_idle = stats.max_idle.max(buf.len());
                    break;
                }
                Err(err) => items.push(Rec::Error(err)),
            }
        }
    }
    let end = decoder.finish(&mut buf);
    assert!(buf.is_empty(), "finish must empty the buffer");
    let transcript = Transcript {
        items,
        end,
        last_event_id: Bytes::copy_from_slice(decoder.last_event_id()),
        reconnection_time: decoder.reconnection_time(),
    };
    (transcript, stats)
}

/// Decodes `chunks` one by one with `BorrowedDecoder::decode_item`, then
/// `finish`: the transcript `decode_chunks` gives, from the borrowing event
/// layer (each event copied out with `to_event`).
pub(crate) fn decode_chunks_borrowed<'a, I>(limits: Limits, chunks: I) -> Transcript
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut decoder = BorrowedDecoder::with_limits(limits);
    let mut items = Vec::new();
    for mut chunk in chunks {
        loop {
            match decoder.decode_item(&mut chunk) {
                Ok(Some(BorrowedItem::Event(event))) => {
                    let owned = event.to_event();
                    assert_eq!(owned.data(), event.data());
                    items.push(Rec::Event(record(&owned)));
                }
                Ok(Some(BorrowedItem::Comment(text))) => {
                    items.push(Rec::Comment(Bytes::copy_from_slice(text)))
                }
                Ok(Some(BorrowedItem::Retry(ms))) => items.push(Rec::Retry(ms)),
                Ok(Some(other)) => panic!("unexpected item {other:?}"),
                Ok(None) => break,
                Err(err) => items.push(Rec::Error(err)),
            }
        }
        assert!(
            chunk.is_empty(),
            "decode_item returned None with input left"
        );
    }
    let end = decoder.finish();
    Transcript {
        items,
        end,
        last_event_id: Bytes::copy_from_slice(decoder.last_event_id()),
        reconnection_time: decoder.reconnection_time(),
    }
}

/// Decodes `input` cut at the given split points (ascending offsets).
pub(crate) fn decode_split(limits: Limits, input: &[u8], splits: &[usize]) -> Transcript {
    decode_chunks(limits, chunks_at(input, splits)).0
}

/// Decodes `input` in one piece with the default limits.
pub(crate) fn decode(input: &[u8]) -> Transcript {
    decode_chunks(Limits::default(), [input]).0
}

/// Cuts `input` at ascending `splits` (clamped to the input).
pub(crate) fn chunks_at<'a>(input: &'a [u8], splits: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(splits.len() + 1);
    let mut from = 0;
    for &at in splits {
        let at = at.clamp(from, input.len());
        out.push(&input[from..at]);
        from = at;
    }
    out.push(&input[from..]);
    out
}

/// Split points that cut `input` into pieces of `size` bytes.
pub(crate) fn fixed_splits(len: usize, size: usize) -> Vec<usize> {
    (1..).map(|i| i * size).take_while(|&at| at < len).collect()
}

/// Decodes `input` whole, at every single split point, and in 1-byte
/// chunks, asserting that every run gives the same transcript; returns it.
/// The workhorse of the rule tests.
pub(crate) fn decode_all_splits(input: &[u8]) -> Transcript {
    decode_all_splits_with(Limits::default(), input)
}

/// [`decode_all_splits`] with the given limits.
pub(crate) fn decode_all_splits_with(limits: Limits, input: &[u8]) -> Transcript {
    let whole = decode_chunks(limits, [input]).0;
    let check = |what: String, splits: &[usize]| {
        let got = decode_split(limits, input, splits);
        assert!(
            got == whole,
            "input {:?} split {what} decodes differently:\n{}",
            lossy(input),
            diff_transcripts(&whole, &got)
        );
    };
    for at in 0..=input.len() {
        check(format!("at {at}"), &[at]);
    }
    check("into 1-byte chunks".into(), &fixed_splits(input.len(), 1));
    whole
}

/// A human-readable difference between two transcripts ("" if equal).
pub(crate) fn diff_transcripts(expected: &Transcript, actual: &Transcript) -> String {
    let mut out = String::new();
    let n = expected.items.len().max(actual.items.len());
    for i in 0..n {
        let (e, a) = (expected.items.get(i), actual.items.get(i));
        if e != a {
            let _ = writeln!(
                out,
                "  item {i}: expected {}\n  item {i}:   actual {}",
                short(&format!("{e:?}")),
                short(&format!("{a:?}"))
            );
            break;
        }
    }
    if expected.items.len() != actual.items.len() {
        let _ = writeln!(
            out,
            "  expected {} items, got {}",
            expected.items.len(),
            actual.items.len()
        );
    }
    for (what, e, a) in [
        (
            "end",
            format!("{:?}", expected.end),
            format!("{:?}", actual.end),
        ),
        (
            "last_event_id",
            format!("{:?}", lossy(&expected.last_event_id)),
            format!("{:?}", lossy(&actual.last_event_id)),
        ),
        (
            "reconnection_time",
            format!("{:?}", expected.reconnection_time),
            format!("{:?}", actual.reconnection_time),
        ),
    ] {
        if e != a {
            let _ = writeln!(out, "  {what}: expected {e}, got {a}");
        }
    }
    out
}

/// Shortens a long debug string for failure messages.
pub(crate) fn short(s: &str) -> String {
    const MAX: usize = 300;
    if s.chars().count() <= MAX {
        return s.to_owned();
    }
    let head: String = s.chars().take(MAX).collect();
    format!("{head}... ({} chars)", s.chars().count())
}

/// A tiny deterministic generator (xorshift64*), so that the "random"
/// chunkings are the same on every run.
#[derive(Debug, Clone)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Random split points for `len` bytes, with chunks of 1 to `max_chunk` bytes.
    pub(crate) fn splits(&mut self, len: usize, max_chunk: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            at += 1 + self.below(max_chunk.max(1));
            if at >= len {
                return out;
            }
            out.push(at);
        }
    }
}

/// A field-layer record with owned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnedField {
    Data(Vec<u8>),
    Event(Vec<u8>),
    Id(Vec<u8>),
    Retry(u64),
    Comment(Vec<u8>),
    Ignored { name: Vec<u8>, value: Vec<u8> },
    Dispatch,
    Error(DecodeError),
}

impl OwnedField {
    pub(crate) fn from_field(field: Field<'_>) -> OwnedField {
        match field {
            Field::Data(v) => OwnedField::Data(v.to_vec()),
            Field::Event(v) => OwnedField::Event(v.to_vec()),
            Field::Id(v) => OwnedField::Id(v.to_vec()),
            Field::Retry(ms) => OwnedField::Retry(ms),
            Field::Comment(v) => OwnedField::Comment(v.to_vec()),
            Field::Ignored { name, value } => OwnedField::Ignored {
                name: name.to_vec(),
                value: value.to_vec(),
            },
            Field::Dispatch => OwnedField::Dispatch,
            other => panic!("unexpected field {other:?}"),
        }
    }
}

/// Runs the field layer over `chunks`, with a `Vec` buffer the way a caller
/// without `bytes` would, and returns every field and error, and how the
/// stream ended.
pub(crate) fn fields_chunked<'a, I>(limits: Limits, chunks: I) -> (Vec<OwnedField>, EndOfStream)
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut decoder = Decoder::with_limits(limits);
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let step = decoder.decode(&buf);
            let consumed = step.consumed;
            let done = match step.status {
                Ok(Step::Field(field)) => {
                    out.push(OwnedField::from_field(field));
                    false
                }
                Ok(Step::NeedMore) => true,
                Err(err) => {
                    out.push(OwnedField::Error(err));
                    false
                }
            };
            buf.drain(..consumed);
            if done {
                break;
            }
        }
    }
    let end = decoder.finish(&buf);
    (out, end)
}
