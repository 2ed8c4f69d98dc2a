//! The encoding checks: what the encoders write decodes to what they were
//! given, and nothing more.

use bytes::{Bytes, BytesMut};
use ssekit_codec::{
    data_round_trips, EncodeError, EndOfStream, Event, EventDecoder, EventRef, FieldName, Limits,
    DEFAULT_EVENT_TYPE, KEEP_ALIVE_FRAME,
};

use crate::decoding::{record, run, Feed};
use crate::model::{Ev, Rec, Transcript};
use crate::{assert_same, Input, Shown};

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
                sets_id: self.id.is_some(),
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
        let id = self.id.filter(|id| !id.is_empty());
        if let Some(id) = id {
            *last_event_id = Bytes::copy_from_slice(id);
        }
        items.push(Rec::Event(Ev {
            event_type: expected_type(self.event_type),
            lines: expected_lines(self.data.unwrap_or_default()),
            id: last_event_id.clone(),
            sets_id: id.is_some(),
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
    assert_eq!(
        plain.event_type(),
        DEFAULT_EVENT_TYPE.as_bytes(),
        "Event::new type"
    );
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
