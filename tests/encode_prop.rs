//! Property tests for the encoder.
//!
//! - (a) whatever `EventRef` accepts, `EventDecoder` gives back: the comment
//!   byte for byte, the `retry`, and the event with its type, ID and data
//!   (CR and CRLF in data normalised to LF by a naive model), whole and at
//!   every split point (random splits for long frames);
//! - (b) the same for the owned `Event` from the builder, which must decode
//!   to an equal `Event`;
//! - (c) an ID or event type holding CR or LF (or NUL, for the ID) is refused
//!   with the field and the offset of the first such byte, and nothing is
//!   written to a slice, a `Vec` or a `BytesMut`;
//! - (d) a too-small slice gets the required size and is left untouched;
//! - all destinations (`&mut [u8]`, `Vec`, `BytesMut`, `to_bytes`) give the
//!   same bytes, of `encoded_len` bytes.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use ssekit::{EncodeError, EndOfStream, Event, EventDecoder, EventRef, FieldName, Item};

/// Cases per property.
const CASES: u32 = 1024;

/// Frames up to this long are decoded at every split point; longer ones at
/// generated random points.
const EVERY_SPLIT_MAX: usize = 256;

fn config() -> Config {
    Config {
        cases: CASES,
        // Keep the repository clean: failures print their minimal input.
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Strategies

/// A piece of a value with no CR or LF: ASCII, spaces, colons, NUL,
/// multi-byte UTF-8, characters that look like breaks but are not, invalid
/// UTF-8, a BOM, and text that looks like a field.
fn text_atom() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => "[a-z0-9]{1,6}".prop_map(String::into_bytes),
        2 => Just(b" ".to_vec()),
        1 => Just(b":".to_vec()),
        1 => Just(b"\0".to_vec()),
        1 => Just("é".as_bytes().to_vec()),
        1 => Just("😀".as_bytes().to_vec()),
        1 => Just("\u{2028}\u{85}\x0B\x0C".as_bytes().to_vec()),
        1 => Just(vec![0xFF, 0xC3]),
        1 => Just(b"\xEF\xBB\xBF".to_vec()),
        1 => Just(b"data: x".to_vec()),
    ]
}

/// A piece of data: text or a line break of any kind.
fn data_atom() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => text_atom(),
        1 => Just(b"\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b"\r\n".to_vec()),
    ]
}

fn concat(atoms: Vec<Vec<u8>>) -> Vec<u8> {
    atoms.concat()
}

/// A value with no CR or LF (event types, comments).
fn line_value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(text_atom(), 0..6).prop_map(concat)
}

/// A value with no CR, LF or NUL (IDs).
fn id_value() -> impl Strategy<Value = Vec<u8>> {
    line_value().prop_map(|v| v.into_iter().filter(|&b| b != 0).collect())
}

/// Data: usually short, sometimes a few kilobytes.
fn data_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        9 => prop::collection::vec(data_atom(), 0..16).prop_map(concat),
        1 => prop::collection::vec(data_atom(), 100..800).prop_map(concat),
    ]
}

/// Everything an `EventRef` can carry, all valid.
#[derive(Debug, Clone)]
struct Spec {
    comment: Option<Vec<u8>>,
    event_type: Option<Vec<u8>>,
    id: Option<Vec<u8>>,
    retry: Option<u64>,
    data: Option<Vec<u8>>,
}

impl Spec {
    fn frame(&self) -> EventRef<'_> {
        let mut frame = EventRef::new();
        if let Some(c) = &self.comment {
            frame = frame.comment(c);
        }
        if let Some(t) = &self.event_type {
            frame = frame.event_type(t);
        }
        if let Some(id) = &self.id {
            frame = frame.id(id);
        }
        if let Some(ms) = self.retry {
            frame = frame.retry(ms);
        }
        if let Some(d) = &self.data {
            frame = frame.data(d);
        }
        frame
    }
}

fn retry_value() -> impl Strategy<Value = u64> {
    prop_oneof![0..10_000u64, any::<u64>()]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::option::weighted(0.3, line_value()),
        prop::option::of(line_value()),
        prop::option::of(id_value()),
        prop::option::weighted(0.3, retry_value()),
        prop::option::weighted(0.8, data_value()),
    )
        .prop_map(|(comment, event_type, id, retry, data)| Spec {
            comment,
            event_type,
            id,
            retry,
            data,
        })
}

/// Split points for long frames, as indices into the frame.
fn splits() -> impl Strategy<Value = Vec<Index>> {
    prop::collection::vec(any::<Index>(), 1..8)
}

// ---------------------------------------------------------------------------
// Model and helpers

/// What the spec says a client receives for data: each CRLF, lone CR and LF
/// is one LF. Written byte by byte, independently of the encoder.
fn normalize(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\r' {
            out.push(b'\n');
            if data.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
        } else {
            out.push(data[i]);
        }
        i += 1;
    }
    out
}

/// A decoded item in comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Comment(Vec<u8>),
    Retry(u64),
    Event {
        event_type: Vec<u8>,
        data: Vec<u8>,
        id: Vec<u8>,
        retry: Option<u64>,
    },
}

fn got(item: &Item) -> Got {
    match item {
        Item::Comment(c) => Got::Comment(c.to_vec()),
        Item::Retry(ms) => Got::Retry(*ms),
        Item::Event(e) => Got::Event {
            event_type: e.event_type().to_vec(),
            data: e.data().to_vec(),
            id: e.id().to_vec(),
            retry: e.retry(),
        },
        other => panic!("unexpected item {other:?}"),
    }
}

/// What a fresh decoder must report for `spec`.
fn expected(spec: &Spec) -> Vec<Got> {
    let mut out = Vec::new();
    if let Some(c) = &spec.comment {
        out.push(Got::Comment(c.clone()));
    }
    if let Some(ms) = spec.retry {
        out.push(Got::Retry(ms));
    }
    if let Some(data) = &spec.data {
        let event_type = match &spec.event_type {
            Some(t) if !t.is_empty() => t.clone(),
            _ => b"message".to_vec(),
        };
        out.push(Got::Event {
            event_type,
            data: normalize(data),
            id: spec.id.clone().unwrap_or_default(),
            retry: spec.retry,
        });
    }
    out
}

/// A fresh decoder's items and end state for `input` fed in chunks ending
/// at `cuts` (sorted, within the input).
fn decode_chunks(input: &[u8], cuts: &[usize]) -> (Vec<Item>, EventDecoder, EndOfStream) {
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain([&input.len()]) {
        buf.extend_from_slice(&input[from..cut]);
        from = cut;
        while let Some(item) = decoder.decode_item(&mut buf).expect("no limit is hit") {
            items.push(item);
        }
    }
    let end = decoder.finish(&mut buf);
    (items, decoder, end)
}

/// The split patterns to try for `input`: whole, then at every point if
/// short, or at the generated points if long.
fn cut_sets(input: &[u8], random: &[Index]) -> Vec<Vec<usize>> {
    let mut sets = vec![Vec::new()];
    if input.len() <= EVERY_SPLIT_MAX {
        sets.extend((0..input.len()).map(|at| vec![at]));
    } else {
        let mut cuts: Vec<usize> = random.iter().map(|i| i.index(input.len())).collect();
        cuts.sort_unstable();
        sets.push(cuts);
    }
    sets
}

/// Encodes `frame` into every destination and checks that they agree.
fn encode_everywhere(frame: EventRef<'_>) -> Result<Vec<u8>, TestCaseError> {
    let len = frame.encoded_len();
    let mut slice = vec![0u8; len];
    let written = frame.encode_to_slice(&mut slice);
    prop_assert_eq!(written, Ok(len), "encode_to_slice writes encoded_len bytes");

    let mut bytes_mut = BytesMut::from(&b"old"[..]);
    let put = frame.encode(&mut bytes_mut);
    prop_assert_eq!(put, Ok(()), "BytesMut encode succeeds");
    prop_assert_eq!(
        &bytes_mut[3..],
        &slice[..],
        "BytesMut bytes equal slice bytes"
    );

    let mut vec = b"old".to_vec();
    let appended = frame.encode_to_vec(&mut vec);
    prop_assert_eq!(appended, Ok(()), "Vec encode succeeds");
    prop_assert_eq!(&vec[3..], &slice[..], "Vec bytes equal slice bytes");

    let bytes = frame.to_bytes();
    prop_assert_eq!(
        bytes,
        Ok(Bytes::from(slice.clone())),
        "to_bytes equals slice bytes"
    );
    Ok(slice)
}

// ---------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config())]

    /// (a) Borrowed frames decode back to what was encoded.
    #[test]
    fn event_ref_round_trips(spec in spec(), random in splits()) {
        let frame = spec.frame();
        prop_assert_eq!(frame.validate(), Ok(()), "generated values are valid");
        let wire = encode_everywhere(frame)?;
        let want = expected(&spec);
        for cuts in cut_sets(&wire, &random) {
            let (items, decoder, end) = decode_chunks(&wire, &cuts);
            let items: Vec<Got> = items.iter().map(got).collect();
            prop_assert_eq!(&items, &want, "items for cuts {:?} of {:?}", cuts, wire);
            prop_assert_eq!(end, EndOfStream::Clean, "frame ends at an event boundary");
            let id = spec.id.clone().unwrap_or_default();
            prop_assert_eq!(
                decoder.last_event_id().to_vec(), id,
                "last event ID after {:?}", wire
            );
            prop_assert_eq!(
                decoder.reconnection_time(), spec.retry,
                "reconnection time after {:?}", wire
            );
        }
    }

    /// (b) Owned events decode back to an equal event.
    #[test]
    fn owned_event_round_trips(
        event_type in prop::option::of(line_value()),
        id in prop::option::of(id_value()),
        retry in prop::option::of(retry_value()),
        data in prop::option::weighted(0.9, data_value()),
        random in splits(),
    ) {
        let mut builder = Event::builder();
        if let Some(t) = &event_type {
            builder = builder.event_type(t.clone());
        }
        if let Some(i) = &id {
            builder = builder.id(i.clone());
        }
        if let Some(ms) = retry {
            builder = builder.retry(ms);
        }
        if let Some(d) = &data {
            builder = builder.data(d.clone());
        }
        let event = builder.build();
        prop_assert!(event.is_ok(), "valid values build: {:?}", event);
        let event = event.unwrap();

        // The built event already shows what a client will receive.
        let data = data.unwrap_or_default();
        prop_assert_eq!(event.data().to_vec(), normalize(&data), "built data is normalised");
        let want_type = match &event_type {
            Some(t) if !t.is_empty() => t.clone(),
            _ => b"message".to_vec(),
        };
        prop_assert_eq!(event.event_type().to_vec(), want_type, "built event type");

        let len = event.encoded_len();
        let wire = event.to_bytes();
        prop_assert_eq!(wire.len(), len, "to_bytes is encoded_len bytes");
        let mut slice = vec![0u8; len];
        prop_assert_eq!(event.encode_to_slice(&mut slice), Ok(len), "slice encode");
        prop_assert_eq!(&slice[..], &wire[..], "slice bytes equal to_bytes");
        let mut bytes_mut = BytesMut::new();
        event.encode(&mut bytes_mut);
        prop_assert_eq!(&bytes_mut[..], &wire[..], "BytesMut bytes equal to_bytes");

        for cuts in cut_sets(&wire, &random) {
            let (items, _, end) = decode_chunks(&wire, &cuts);
            prop_assert_eq!(end, EndOfStream::Clean, "event ends at a boundary");
            let events: Vec<&Event> = items
                .iter()
                .filter_map(|i| match i { Item::Event(e) => Some(e), _ => None })
                .collect();
            prop_assert_eq!(events, vec![&event], "decoded event for cuts {:?} of {:?}", cuts, wire);
        }
    }

    /// (c) An ID or event type with a line break (or NUL, for the ID) is
    /// refused, with the first such byte, and nothing is written.
    #[test]
    fn bad_id_or_event_type_is_refused(
        spec in spec(),
        prefix in id_value(),
        bad in prop_oneof![Just(b'\r'), Just(b'\n'), Just(0u8)],
        rest in prop::collection::vec(any::<u8>(), 0..8),
        in_id in any::<bool>(),
    ) {
        // In an event type NUL is allowed, so it needs a line break.
        let bad = if !in_id && bad == 0 { b'\n' } else { bad };
        let mut value = prefix.clone();
        value.push(bad);
        value.extend_from_slice(&rest);
        let field = if in_id { FieldName::Id } else { FieldName::Event };
        let want = Err(EncodeError::InvalidValue { field, offset: prefix.len(), byte: bad });

        let frame = if in_id { spec.frame().id(&value) } else { spec.frame().event_type(&value) };
        prop_assert_eq!(frame.validate(), want, "validate reports the first bad byte");

        let len = frame.encoded_len();
        let mut slice = vec![0xA5u8; len + 16];
        prop_assert_eq!(frame.encode_to_slice(&mut slice), want.map(|()| 0), "slice refused");
        prop_assert!(slice.iter().all(|&b| b == 0xA5), "slice untouched");

        let mut bytes_mut = BytesMut::from(&b"kept"[..]);
        prop_assert_eq!(frame.encode(&mut bytes_mut), want, "BytesMut refused");
        prop_assert_eq!(bytes_mut.len(), 4, "BytesMut length unchanged");
        prop_assert_eq!(&bytes_mut[..], b"kept", "BytesMut untouched");

        let mut vec = b"kept".to_vec();
        prop_assert_eq!(frame.encode_to_vec(&mut vec), want, "Vec refused");
        prop_assert_eq!(vec, b"kept".to_vec(), "Vec untouched");
        prop_assert_eq!(frame.to_bytes().map(|_| ()), want, "to_bytes refused");

        let builder = if in_id {
            Event::builder().id(value.clone())
        } else {
            Event::builder().event_type(value.clone())
        };
        prop_assert_eq!(builder.build().map(|_| ()), want, "builder refuses it too");
    }

    /// (d) A slice one byte too small, or smaller, is refused untouched.
    #[test]
    fn too_small_slice_is_refused_untouched(spec in spec(), short in any::<Index>()) {
        let frame = spec.frame();
        let len = frame.encoded_len();
        prop_assume!(len > 0);
        let size = if short.index(2) == 0 { len - 1 } else { short.index(len) };
        let mut slice = vec![0x3Cu8; size];
        prop_assert_eq!(
            frame.encode_to_slice(&mut slice),
            Err(EncodeError::BufferTooSmall { required: len }),
            "size {} of {}", size, len
        );
        prop_assert!(slice.iter().all(|&b| b == 0x3C), "slice untouched");
    }
}
