//! One test per rule of the WHATWG HTML standard's "event stream
//! interpretation" (section 9.2.6, "Interpreting an event stream"), plus the
//! choices ssekit makes where the spec leaves room (see
//! `shared/conformance/README.md`).
//!
//! Unless a test says otherwise, every input is decoded whole, at every split
//! point and in 1-byte chunks, and all runs must agree
//! (`common::decode_all_splits`).

mod common;

use bytes::{Bytes, BytesMut};
use common::{
    decode_all_splits, fields_chunked, record, EvExt, OwnedField, Rec, Transcript, TranscriptExt,
};
use ssekit::{Decoder, EndOfStream, EventDecoder, Field, Item, Limits, Step};

/// `(type, data, id)` of every event, as lossy text.
fn events(t: &Transcript) -> Vec<(String, String, String)> {
    t.events().iter().map(|e| e.text()).collect()
}

/// Expected `(type, data, id)` triples, to compare with [`events`].
fn texts<const N: usize>(list: [(&str, &str, &str); N]) -> Vec<(String, String, String)> {
    list.map(|(t, d, i)| (t.to_owned(), d.to_owned(), i.to_owned()))
        .into()
}

fn one_event(input: &[u8]) -> (String, String, String) {
    let t = decode_all_splits(input);
    let evs = events(&t);
    assert_eq!(
        evs.len(),
        1,
        "input {input:?}: expected one event, got {evs:?}"
    );
    evs[0].clone()
}

fn data_of(input: &[u8]) -> String {
    one_event(input).1
}

fn no_events(input: &[u8]) {
    let t = decode_all_splits(input);
    assert!(
        t.events().is_empty(),
        "input {input:?}: expected no event, got {:?}",
        events(&t)
    );
}

// ---------------------------------------------------------------------------
// Byte order mark

#[test]
fn bom_stripped_once_at_stream_start() {
    assert_eq!(data_of(b"\xEF\xBB\xBFdata: x\n\n"), "x");
    // The BOM is not part of a field name when it comes in three chunks.
    let (t, _) = common::decode_chunks(
        Limits::default(),
        [&b"\xEF"[..], b"\xBB", b"\xBF", b"data: y\n\n"],
    );
    assert_eq!(t.data(), ["y"]);
    // A BOM followed by a comment: the comment text has no BOM in it.
    assert_eq!(decode_all_splits(b"\xEF\xBB\xBF:c\n").comments(), ["c"]);
}

#[test]
fn later_bom_is_text() {
    // A second BOM is the start of the field name "\u{FEFF}data": unknown.
    no_events(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n");
    // A BOM that is not at the very start of the stream is text too.
    no_events(b"\n\xEF\xBB\xBFdata: x\n\n");
    let t = decode_all_splits(b"data: a\n\n\xEF\xBB\xBFdata: b\n\ndata: c\n\n");
    assert_eq!(t.data(), ["a", "c"]);
    assert_eq!(data_of(b"data: \xEF\xBB\xBFx\n\n"), "\u{FEFF}x");
    // Two bytes of a BOM and then text: U+FFFD, not a BOM.
    no_events(b"\xEF\xBBdata: x\n\n");
}

#[test]
fn bom_stripped_again_after_finish_starts_a_new_stream() {
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::from(&b"\xEF\xBB\xBFdata: 1\n\n"[..]);
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().data(), "1");
    assert_eq!(decoder.finish(&mut buf), EndOfStream::Clean);
    buf.extend_from_slice(b"\xEF\xBB\xBFdata: 2\n\n");
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().data(), "2");
}

// ---------------------------------------------------------------------------
// Lines

#[test]
fn lines_end_at_crlf_lf_or_cr() {
    for input in [
        &b"data: a\ndata: b\n\n"[..],
        b"data: a\rdata: b\r\r",
        b"data: a\r\ndata: b\r\n\r\n",
        b"data: a\r\ndata: b\n\r",
        b"data: a\rdata: b\n\r\n",
    ] {
        assert_eq!(data_of(input), "a\nb", "input {input:?}");
    }
    // LF CR is two line endings (a blank line), CR LF only one.
    let t = decode_all_splits(b"data: x\n\rdata: y\r\n\r\n");
    assert_eq!(t.data(), ["x", "y"]);
    let t = decode_all_splits(b"data: x\r\ndata: y\r\n\r\n");
    assert_eq!(t.data(), ["x\ny"]);
    // CR CR is a blank line.
    let t = decode_all_splits(b"data: x\r\rdata: y\r\r");
    assert_eq!(t.data(), ["x", "y"]);
}

#[test]
fn cr_at_chunk_end_with_lf_in_next_chunk() {
    let chunks: [&[u8]; 4] = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"];
    let (t, _) = common::decode_chunks(Limits::default(), chunks);
    assert_eq!(t.data(), ["a\nb"]);
    assert_eq!(t.end, EndOfStream::Clean);

    // A blank line ending in CR dispatches at once: no waiting for a
    // possible LF.
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::from(&b"data: now\r\r"[..]);
    let event = decoder
        .decode(&mut buf)
        .unwrap()
        .expect("dispatched at the CR");
    assert_eq!(event.data(), "now");
    // The LF that then arrives is the second half of a CRLF, not a line.
    buf.extend_from_slice(b"\ndata: next\r\n\r\n");
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().data(), "next");
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
}

#[test]
fn one_leading_space_removed_after_colon() {
    assert_eq!(data_of(b"data: x\n\n"), "x");
    assert_eq!(data_of(b"data:x\n\n"), "x");
    assert_eq!(data_of(b"data:  x\n\n"), " x");
    assert_eq!(data_of(b"data:\tx\n\n"), "\tx");
    assert_eq!(data_of(b"data: x \n\n"), "x ");
    assert_eq!(one_event(b"event:  e\ndata\n\n").0, " e");
    assert_eq!(one_event(b"id:  7\ndata\n\n").2, " 7");
}

#[test]
fn line_without_colon_is_field_with_empty_value() {
    assert_eq!(
        one_event(b"data\n\n"),
        ("message".into(), "".into(), "".into())
    );
    assert_eq!(one_event(b"event: x\nevent\ndata: y\n\n").0, "message");
    assert_eq!(
        events(&decode_all_splits(b"id: 1\ndata: a\n\nid\ndata: b\n\n")),
        texts([("message", "a", "1"), ("message", "b", "")])
    );
    // `retry` with no value is not digits: ignored.
    assert_eq!(decode_all_splits(b"retry\n").retries(), Vec::<u64>::new());
}

#[test]
fn data_lines_joined_with_lf() {
    assert_eq!(data_of(b"data: a\ndata: b\ndata: c\n\n"), "a\nb\nc");
    assert_eq!(data_of(b"data: a\ndata\ndata: c\n\n"), "a\n\nc");
    // Other fields between data lines do not break the event.
    assert_eq!(data_of(b"data: a\n: note\nfoo: bar\ndata: b\n\n"), "a\nb");
    let mut buf = BytesMut::from(&b"data: a\ndata: b\n\n"[..]);
    let event = EventDecoder::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(event.data_lines(), [Bytes::from("a"), Bytes::from("b")]);
    assert_eq!(event.data_len(), 3);
}

#[test]
fn final_lf_removed() {
    // Only the one LF appended after the last data line is removed.
    assert_eq!(data_of(b"data: a\ndata:\n\n"), "a\n");
    assert_eq!(data_of(b"data\ndata\n\n"), "\n");
    assert_eq!(data_of(b"data\ndata\ndata\n\n"), "\n\n");
    assert_eq!(data_of(b"data:\n\n"), "");
}

#[test]
fn empty_data_buffer_dispatches_nothing() {
    no_events(b"event: x\n\n");
    no_events(b"id: 1\n\n");
    no_events(b"retry: 5\n\n");
    no_events(b": comment\n\n");
    no_events(b"\n\n\n\n");
    no_events(b"foo: bar\n\n");
    // The event type of a block without data does not leak into the next.
    assert_eq!(one_event(b"event: x\n\ndata: y\n\n").0, "message");
    // But an empty `data` line does make an event, with empty data.
    assert_eq!(data_of(b"event: x\ndata\n\n"), "");
}

#[test]
fn event_type_defaults_to_message() {
    assert_eq!(one_event(b"data: x\n\n").0, "message");
    assert_eq!(
        events(&decode_all_splits(b"event: a\ndata: 1\n\ndata: 2\n\n")),
        texts([("a", "1", ""), ("message", "2", "")])
    );
    let mut buf = BytesMut::from(&b"data: x\n\n"[..]);
    let event = EventDecoder::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(event.event_type(), ssekit::DEFAULT_EVENT_TYPE.as_bytes());
}

#[test]
fn empty_event_field_means_message() {
    assert_eq!(one_event(b"event:\ndata: x\n\n").0, "message");
    assert_eq!(one_event(b"event: \ndata: x\n\n").0, "message");
    assert_eq!(one_event(b"event: a\nevent:\ndata: x\n\n").0, "message");
    // The last `event` line wins, also after the data.
    assert_eq!(one_event(b"event: a\ndata: x\nevent: b\n\n").0, "b");
}

#[test]
fn id_with_nul_ignored() {
    assert_eq!(
        events(&decode_all_splits(
            b"id: 1\ndata: a\n\nid: 2\0\ndata: b\n\nid: \0\ndata: c\n\n"
        )),
        texts([
            ("message", "a", "1"),
            ("message", "b", "1"),
            ("message", "c", "1")
        ])
    );
    // Ignored means ignored: it does not reset the ID either.
    assert_eq!(one_event(b"id: 5\nid: a\0b\ndata: x\n\n").2, "5");
    // NUL elsewhere is ordinary text.
    assert_eq!(data_of(b"data: a\0b\n\n"), "a\0b");
    assert_eq!(one_event(b"event: a\0b\ndata\n\n").0, "a\0b");
}

#[test]
fn last_event_id_persists_across_events() {
    let t = decode_all_splits(b"id: 1\ndata: a\n\ndata: b\n\nevent: e\ndata: c\n\n");
    assert_eq!(
        events(&t),
        texts([
            ("message", "a", "1"),
            ("message", "b", "1"),
            ("e", "c", "1")
        ])
    );
    assert_eq!(t.last_event_id, &b"1"[..]);
    // An `id` after the data in the same block applies to that event.
    assert_eq!(one_event(b"data: x\nid: 9\n\n").2, "9");
}

#[test]
fn last_event_id_updated_at_blank_line_without_data() {
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::from(&b"id: 7\n"[..]);
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    // The buffer is set, but the last event ID changes only at the blank line.
    assert_eq!(decoder.last_event_id(), b"");
    buf.extend_from_slice(b"\n");
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    assert_eq!(decoder.last_event_id(), b"7");
    buf.extend_from_slice(b"data: x\n\n");
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().id(), b"7");

    let t = decode_all_splits(b"id: 1\n\n");
    assert!(t.events().is_empty());
    assert_eq!(t.last_event_id, &b"1"[..]);
}

#[test]
fn empty_id_resets_last_event_id() {
    let t = decode_all_splits(b"id: 1\ndata: a\n\nid:\n\ndata: b\n\nid: 2\nid\ndata: c\n\n");
    assert_eq!(
        events(&t),
        texts([
            ("message", "a", "1"),
            ("message", "b", ""),
            ("message", "c", "")
        ])
    );
    assert_eq!(t.last_event_id, &b""[..]);
}

/// Not a rule of the spec, which only keeps the last event ID: each event
/// also says whether its own block had an `id` field (`Event::sets_id`),
/// the same at every split.
#[test]
fn each_event_tells_whether_it_set_its_id() {
    let t = decode_all_splits(
        b"id: 1\ndata: a\n\ndata: b\n\nid: 1\ndata: c\n\nid\ndata: d\n\ndata: e\nid: 5\n\n",
    );
    let flags: Vec<(&str, bool)> = t
        .events()
        .iter()
        .map(|e| (core::str::from_utf8(&e.id).unwrap(), e.sets_id))
        .collect();
    assert_eq!(
        flags,
        [
            ("1", true),
            ("1", false),
            ("1", true),
            ("", true),
            ("5", true)
        ]
    );
    // An empty `id` field set (reset) the ID: `Event::resets_id`.
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::from(&b"id: 3\ndata: a\n\nid\ndata: b\n\n"[..]);
    let a = decoder.decode(&mut buf).unwrap().unwrap();
    let b = decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!(
        (a.resets_id(), b.resets_id(), b.id().is_empty()),
        (false, true, true)
    );
}

#[test]
fn set_last_event_id_seeds_a_resumed_stream() {
    let mut decoder = EventDecoder::new();
    decoder.set_last_event_id(Bytes::from_static(b"41"));
    let mut buf = BytesMut::from(&b"data: a\n\nid: 42\ndata: b\n\n"[..]);
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().id(), b"41");
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().id(), b"42");
    assert_eq!(decoder.last_event_id(), b"42");
}

// ---------------------------------------------------------------------------
// retry

#[test]
fn retry_digits_only() {
    let t = decode_all_splits(b"retry: 5\nretry:6\n");
    assert_eq!(t.retries(), [5, 6]);
    assert_eq!(t.reconnection_time, Some(6));
    for bad in [
        &b"retry: +5\n"[..],
        b"retry: -5\n",
        b"retry:  5\n",
        b"retry: 5 \n",
        b"retry: 5ms\n",
        b"retry: 0x10\n",
        b"retry: 1e3\n",
        b"retry: 1.5\n",
        b"retry: 1_000\n",
        b"retry:\n",
        b"retry: \n",
        b"retry\n",
        b"retry: \xEF\xBC\x95\n",
        b"retry: \xD9\xA5\n",
    ] {
        let t = decode_all_splits(bad);
        assert_eq!(t.retries(), Vec::<u64>::new(), "input {bad:?}");
        assert_eq!(t.reconnection_time, None, "input {bad:?}");
    }
    // Via the field layer too.
    assert_eq!(
        Decoder::new().decode(b"retry: 12\n").status,
        Ok(Step::Field(Field::Retry(12)))
    );
    assert!(matches!(
        Decoder::new().decode(b"retry: +1\n").status,
        Ok(Step::Field(Field::Ignored { .. }))
    ));
}

#[test]
fn retry_overflow_ignored() {
    let t = decode_all_splits(b"retry: 18446744073709551615\n");
    assert_eq!(t.retries(), [u64::MAX]);
    let t = decode_all_splits(b"retry: 500\nretry: 18446744073709551616\ndata: x\n\n");
    assert_eq!(t.retries(), [500]);
    assert_eq!(t.reconnection_time, Some(500));
    let t = decode_all_splits(b"retry: 99999999999999999999999999\n");
    assert_eq!(t.reconnection_time, None);
}

#[test]
fn retry_leading_zeros() {
    let t = decode_all_splits(b"retry: 007\nretry: 0\nretry: 00000000000000000000000000000042\n");
    assert_eq!(t.retries(), [7, 0, 42]);
}

#[test]
fn retry_applies_when_its_line_is_processed() {
    // No blank line needed, and the event that follows carries it.
    let t = decode_all_splits(b"data: a\n\nretry: 9\n");
    assert_eq!(t.retries(), [9]);
    assert_eq!(t.reconnection_time, Some(9));
    assert_eq!(t.end, EndOfStream::Truncated);

    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::from(&b"retry: 100\ndata: x\n\ndata: y\n\n"[..]);
    assert_eq!(
        decoder.decode_item(&mut buf).unwrap(),
        Some(Item::Retry(100))
    );
    assert_eq!(decoder.reconnection_time(), Some(100));
    let Some(Item::Event(first)) = decoder.decode_item(&mut buf).unwrap() else {
        panic!("expected an event")
    };
    assert_eq!(first.retry(), Some(100));
    let second = decoder.decode(&mut buf).unwrap().unwrap();
    assert_eq!(second.retry(), None, "retry belongs to one block of lines");
}

// ---------------------------------------------------------------------------
// Fields

#[test]
fn unknown_fields_ignored() {
    assert_eq!(
        one_event(b"foo: bar\ndata: x\nlast-event-id: 3\nDATA: y\n\n"),
        ("message".into(), "x".into(), "".into())
    );
    // A line starting with a space is a field named " data", not `data`.
    no_events(b" data: x\n\n");
    // A space before the colon is part of the name.
    no_events(b"data : x\n\n");
    // The field layer reports them as ignored, with name and value.
    assert_eq!(
        fields_chunked(Limits::default(), [&b"foo: bar\n"[..]]).0,
        [OwnedField::Ignored {
            name: b"foo".to_vec(),
            value: b"bar".to_vec()
        }]
    );
}

#[test]
fn field_names_case_sensitive() {
    no_events(b"Data: x\n\n");
    no_events(b"DATA: x\n\n");
    assert_eq!(one_event(b"Event: e\ndata: x\n\n").0, "message");
    assert_eq!(one_event(b"ID: 5\ndata: x\n\n").2, "");
    assert_eq!(
        decode_all_splits(b"Retry: 5\n").retries(),
        Vec::<u64>::new()
    );
}

#[test]
fn data_colon_in_value_kept() {
    assert_eq!(data_of(b"data: a:b: c\n\n"), "a:b: c");
    assert_eq!(data_of(b"data::\n\n"), ":");
    assert_eq!(data_of(b"data: :x\n\n"), ":x");
    assert_eq!(one_event(b"event: ns:type\ndata\n\n").0, "ns:type");
    assert_eq!(one_event(b"id: a:b\ndata\n\n").2, "a:b");
}

#[test]
fn field_order_in_a_block_is_irrelevant() {
    assert_eq!(
        one_event(b"data: d\nretry: 5\nid: i\nevent: e\n\n"),
        ("e".into(), "d".into(), "i".into())
    );
}

// ---------------------------------------------------------------------------
// End of stream

#[test]
fn unterminated_event_not_dispatched_at_eof() {
    for input in [
        &b"data: x\n"[..],
        b"data: x",
        b"data: x\r",
        b"data: x\r\n",
        b"event: e\ndata: x\n",
    ] {
        let t = decode_all_splits(input);
        assert!(t.events().is_empty(), "input {input:?}: {:?}", t.events());
        assert_eq!(t.end, EndOfStream::Truncated, "input {input:?}");
    }
    let t = decode_all_splits(b"data: a\n\nid: 9\ndata: b\n");
    assert_eq!(t.data(), ["a"]);
    // The `id` of the unterminated block never took effect.
    assert_eq!(t.last_event_id, &b""[..]);
}

#[test]
fn end_of_stream_clean_vs_truncated() {
    for clean in [
        &b""[..],
        b"\xEF\xBB\xBF",
        b"data: x\n\n",
        b"data: x\r\r",
        b"data: x\r\n\r\n",
        b": ping\n",
        b"\n\n",
        b"id: 1\n\n",
    ] {
        assert_eq!(
            decode_all_splits(clean).end,
            EndOfStream::Clean,
            "{clean:?}"
        );
    }
    for truncated in [
        &b"data: x\n"[..],
        b"data: x",
        b": ping",
        b"\xEF\xBB",
        b"id: 1\n",
        b"retry: 5\n",
        b"foo\n",
        b"data: a\n\ndata: b",
    ] {
        assert_eq!(
            decode_all_splits(truncated).end,
            EndOfStream::Truncated,
            "{truncated:?}"
        );
    }
    // After `finish` the decoder starts a new stream.
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::from(&b"data: cut"[..]);
    assert_eq!(decoder.decode(&mut buf).unwrap(), None);
    assert_eq!(decoder.finish(&mut buf), EndOfStream::Truncated);
    assert!(buf.is_empty());
    assert_eq!(decoder.finish(&mut buf), EndOfStream::Clean);
    buf.extend_from_slice(b"data: whole\n\n");
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().data(), "whole");

    // The field layer says the same.
    let mut fields = Decoder::new();
    let step = fields.decode(b"data: x\n");
    assert_eq!(step.status, Ok(Step::Field(Field::Data(b"x"))));
    assert_eq!(fields.finish(&[]), EndOfStream::Truncated);
    assert_eq!(fields.finish(b"partial"), EndOfStream::Truncated);
    assert_eq!(fields.finish(&[]), EndOfStream::Clean);
}

// ---------------------------------------------------------------------------
// Comments

#[test]
fn comments_surfaced() {
    let t = decode_all_splits(b": one\ndata: a\n:two\n\n:\n");
    assert_eq!(t.comments(), [" one", "two", ""]);
    assert_eq!(t.data(), ["a"]);
    // In stream order with the other items.
    assert!(matches!(t.items[0], Rec::Comment(_)));
    assert!(matches!(t.items[2], Rec::Event(_)));
    // `decode` skips them.
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::from(&b": ping\n\n: ping\n\ndata: x\n\n"[..]);
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().data(), "x");
    // A comment never ends an event and never starts one.
    assert_eq!(data_of(b"data: a\n: c\ndata: b\n\n"), "a\nb");
    no_events(b": data: x\n\n");
    // Only complete comment lines count.
    assert_eq!(
        decode_all_splits(b": partial").comments(),
        Vec::<String>::new()
    );
}

#[test]
fn comment_text_keeps_leading_space() {
    let t = decode_all_splits(b": ping\n:  two spaces\n:none\n");
    assert_eq!(t.comments(), [" ping", "  two spaces", "none"]);
    let mut buf = BytesMut::from(&b": keep\n"[..]);
    assert_eq!(
        EventDecoder::new().decode_item(&mut buf).unwrap(),
        Some(Item::Comment(Bytes::from_static(b" keep")))
    );
}

// ---------------------------------------------------------------------------
// Text

#[test]
fn u2028_vt_ff_are_not_line_endings() {
    let value = "a\u{2028}b\u{2029}c\u{85}d\u{0B}e\u{0C}f";
    let input = format!("data: {value}\n\n");
    assert_eq!(data_of(input.as_bytes()), value);
    let input = format!("event: {value}\ndata\n\n");
    assert_eq!(one_event(input.as_bytes()).0, value);
}

#[test]
fn invalid_utf8_replaced_with_fffd_maximal_subpart() {
    let cases: [(&[u8], &str); 8] = [
        (b"\xF0\x9F\x98 x\xFF\xE2\x82", "\u{FFFD} x\u{FFFD}\u{FFFD}"),
        (b"\xC0\xAF", "\u{FFFD}\u{FFFD}"),
        (b"\xED\xA0\x80", "\u{FFFD}\u{FFFD}\u{FFFD}"),
        (b"\xF5\x80", "\u{FFFD}\u{FFFD}"),
        (b"\xE0\x80\xAF", "\u{FFFD}\u{FFFD}\u{FFFD}"),
        (b"\xF4\x90\x80\x80", "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
        (b"a\xE2\x82\xAC\xE2\x82", "a\u{20AC}\u{FFFD}"),
        (b"\x80\x80", "\u{FFFD}\u{FFFD}"),
    ];
    for (raw, text) in cases {
        let mut input = b"data: ".to_vec();
        input.extend_from_slice(raw);
        input.extend_from_slice(b"\n\n");
        let t = decode_all_splits(&input);
        let ev = t.events()[0];
        assert_eq!(ev.data_text(), text, "data {raw:?}");
        assert_eq!(ev.data(), raw, "raw bytes of {raw:?} are kept");
    }
    // A sequence cut by a line ending: each side is replaced on its own.
    assert_eq!(
        data_of(b"data: \xE2\x82\ndata: \xAC\n\n"),
        "\u{FFFD}\n\u{FFFD}"
    );

    // Byte accessors keep the raw bytes; the strict accessor fails; the lossy
    // ones replace. Also for the event type and the ID.
    let mut buf = BytesMut::from(&b"event: t\xFF\nid: i\xFE\ndata: d\xC3\n\n"[..]);
    let event = EventDecoder::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(event.data(), &b"d\xC3"[..]);
    assert_eq!(event.data_lines(), [Bytes::from_static(b"d\xC3")]);
    assert!(event.data_str().is_err());
    assert_eq!(event.data_lossy(), "d\u{FFFD}");
    assert_eq!(event.event_type(), &b"t\xFF"[..]);
    assert_eq!(event.event_type_lossy(), "t\u{FFFD}");
    assert_eq!(event.id(), &b"i\xFE"[..]);
    assert_eq!(event.id_lossy(), "i\u{FFFD}");
    // Valid multi-line data passes the strict accessor.
    let mut buf = BytesMut::from("data: é\ndata: €\n\n".as_bytes());
    let event = EventDecoder::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(event.data_str().unwrap(), "é\n€");
}

#[test]
fn invalid_utf8_never_blocks_the_stream() {
    // An invalid byte, and a multi-byte character cut by chunking, must not
    // hold back later lines.
    let t = decode_all_splits(b"data: \xFF\n\ndata: \xE2\x82\xAC\n\ndata: ok\n\n");
    assert_eq!(t.data(), ["\u{FFFD}", "\u{20AC}", "ok"]);
}

// ---------------------------------------------------------------------------
// The field layer

#[test]
fn field_layer_need_more_is_not_an_error_and_reports_consumed() {
    let mut decoder = Decoder::new();
    // Nothing complete yet: NeedMore, nothing consumed.
    let step = decoder.decode(b"data: par");
    assert_eq!((step.consumed, step.status), (0, Ok(Step::NeedMore)));
    // The same bytes and more: the line, with its line ending, is consumed.
    let step = decoder.decode(b"data: partial\r\nnext");
    assert_eq!(step.status, Ok(Step::Field(Field::Data(b"partial"))));
    assert_eq!(step.consumed, 15, "the line and its CRLF");
    assert_eq!(decoder.position(), 15);
    // An incomplete line: nothing consumed, until its line ending arrives.
    let step = decoder.decode(b"next");
    assert_eq!((step.consumed, step.status), (0, Ok(Step::NeedMore)));
    // A CR at the very end: its LF may follow in the next call.
    let step = decoder.decode(b"next\r");
    assert_eq!(step.consumed, 5);
    assert!(matches!(
        step.status,
        Ok(Step::Field(Field::Ignored { .. }))
    ));
    let step = decoder.decode(b"\n");
    assert_eq!((step.consumed, step.status), (1, Ok(Step::NeedMore)));
    assert_eq!(decoder.position(), 21);

    // A partial BOM: NeedMore, nothing consumed; the whole BOM is consumed.
    let mut decoder = Decoder::new();
    let step = decoder.decode(b"\xEF\xBB");
    assert_eq!((step.consumed, step.status), (0, Ok(Step::NeedMore)));
    let step = decoder.decode(b"\xEF\xBB\xBF");
    assert_eq!((step.consumed, step.status), (3, Ok(Step::NeedMore)));
    let step = decoder.decode(b"\n");
    assert_eq!(
        (step.consumed, step.status),
        (1, Ok(Step::Field(Field::Dispatch)))
    );
}

#[test]
fn field_layer_reports_every_field_kind() {
    let (fields, end) = fields_chunked(
        Limits::default(),
        [&b"data: d\nevent: e\nid: i\nretry: 3\n: c\nx: y\n\n"[..]],
    );
    assert_eq!(
        fields,
        [
            OwnedField::Data(b"d".to_vec()),
            OwnedField::Event(b"e".to_vec()),
            OwnedField::Id(b"i".to_vec()),
            OwnedField::Retry(3),
            OwnedField::Comment(b" c".to_vec()),
            OwnedField::Ignored {
                name: b"x".to_vec(),
                value: b"y".to_vec()
            },
            OwnedField::Dispatch,
        ]
    );
    assert_eq!(end, EndOfStream::Clean);
}

#[test]
fn field_layer_and_decode_bytes_agree_with_decode() {
    let input = b"event: a\nid: 1\ndata: x\ndata: y\n\n: c\nretry: 4\ndata: z\n\ndata: tail";
    let mut decoder = EventDecoder::new();
    let mut chunk = Bytes::from_static(input);
    let mut from_bytes = Vec::new();
    while let Some(event) = decoder.decode_bytes(&mut chunk).unwrap() {
        from_bytes.push(record(&event));
    }
    assert_eq!(chunk, "data: tail", "the incomplete line is left");
    let whole = decode_all_splits(input);
    let expected: Vec<common::Ev> = whole.events().into_iter().cloned().collect();
    assert_eq!(from_bytes, expected);

    // `decode_item_bytes` reports the same items, in order, as `decode_item`.
    let mut decoder = EventDecoder::new();
    let mut chunk = Bytes::from_static(input);
    let mut items = Vec::new();
    while let Some(item) = decoder.decode_item_bytes(&mut chunk).unwrap() {
        items.push(match item {
            Item::Event(e) => Rec::Event(record(&e)),
            Item::Comment(c) => Rec::Comment(c),
            Item::Retry(ms) => Rec::Retry(ms),
            other => panic!("unexpected item {other:?}"),
        });
    }
    assert_eq!(items, whole.items);
}
