//! The encoder, one test per rule: what goes on the wire, what a decoder
//! gives back, and what is refused.
//!
//! Every encoding here is decoded by `ssekit::EventDecoder`, whole and at
//! every split point, and the runs must agree.

use bytes::{BufMut, Bytes, BytesMut};
use ssekit::{
    data_round_trips, EncodeError, EndOfStream, Event, EventDecoder, EventRef, FieldName, Item,
    KEEP_ALIVE_FRAME,
};

// ---------------------------------------------------------------------------
// Helpers

/// Decodes `input` fed as two chunks split at `at`, returning every item.
fn decode_split(input: &[u8], at: usize) -> Vec<Item> {
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for chunk in [&input[..at], &input[at..]] {
        buf.extend_from_slice(chunk);
        while let Some(item) = decoder.decode_item(&mut buf).expect("no limit is hit") {
            items.push(item);
        }
    }
    assert_eq!(
        decoder.finish(&mut buf),
        EndOfStream::Clean,
        "{input:?} must end at an event boundary"
    );
    items
}

/// Decodes `input` whole and at every split point; all runs must agree.
fn decode(input: &[u8]) -> Vec<Item> {
    let whole = decode_split(input, input.len());
    for at in 0..input.len() {
        assert_eq!(
            decode_split(input, at),
            whole,
            "{input:?} split at {at} decodes differently"
        );
    }
    whole
}

/// The one event `input` decodes to; comments and retries are ignored.
fn one_event(input: &[u8]) -> Event {
    let events: Vec<Event> = decode(input)
        .into_iter()
        .filter_map(|item| match item {
            Item::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(
        events.len(),
        1,
        "{input:?}: expected one event, got {events:?}"
    );
    events.into_iter().next().unwrap()
}

/// Encodes through every destination, checks they agree with each other and
/// with `encoded_len`, and returns the bytes.
fn encode(frame: EventRef<'_>) -> Vec<u8> {
    let len = frame.encoded_len();
    let mut slice = vec![0xAA; len + 3];
    let written = frame.encode_to_slice(&mut slice).expect("valid frame");
    assert_eq!(written, len, "encode_to_slice wrote encoded_len bytes");
    assert_eq!(&slice[len..], [0xAA; 3], "nothing written past the frame");
    slice.truncate(len);

    let mut vec = b"prefix".to_vec();
    frame.encode_to_vec(&mut vec).expect("valid frame");
    assert_eq!(&vec[6..], &slice[..], "Vec and slice agree");

    let mut bytes_mut = BytesMut::new();
    frame.encode(&mut bytes_mut).expect("valid frame");
    assert_eq!(&bytes_mut[..], &slice[..], "BytesMut and slice agree");

    assert_eq!(
        frame.to_bytes().expect("valid frame"),
        slice,
        "to_bytes agrees"
    );
    slice
}

/// Checks that `frame` is refused with `expected` by every destination and
/// that nothing is written anywhere.
fn refused(frame: EventRef<'_>, expected: EncodeError) {
    assert_eq!(frame.validate(), Err(expected));
    let mut slice = [0x55u8; 256];
    assert_eq!(frame.encode_to_slice(&mut slice), Err(expected));
    assert_eq!(slice, [0x55u8; 256], "slice untouched");
    let mut vec = b"before".to_vec();
    assert_eq!(frame.encode_to_vec(&mut vec), Err(expected));
    assert_eq!(vec, b"before", "Vec untouched");
    let mut bytes_mut = BytesMut::from(&b"before"[..]);
    assert_eq!(frame.encode(&mut bytes_mut), Err(expected));
    assert_eq!(bytes_mut, &b"before"[..], "BytesMut untouched");
    assert_eq!(frame.to_bytes(), Err(expected));
}

// ---------------------------------------------------------------------------
// Data

#[test]
fn leading_and_trailing_spaces_in_data_survive() {
    let data = "  two before, two after  ";
    let wire = encode(EventRef::new().data(data));
    assert_eq!(wire, b"data:   two before, two after  \n\n");
    assert_eq!(one_event(&wire).data(), data);

    // The same on every line, and through the owned event.
    let data = " a \n  b\n";
    let event = Event::new(data);
    assert_eq!(event.to_bytes(), "data:  a \ndata:   b\ndata: \n\n");
    assert_eq!(one_event(&event.to_bytes()), event);
    assert_eq!(one_event(&event.to_bytes()).data(), data);
}

#[test]
fn data_of_only_newlines_keeps_every_empty_line() {
    let wire = encode(EventRef::new().data("\n"));
    assert_eq!(wire, b"data: \ndata: \n\n");
    assert_eq!(one_event(&wire).data(), "\n");

    let wire = encode(EventRef::new().data("\n\n\n"));
    assert_eq!(wire, b"data: \ndata: \ndata: \ndata: \n\n");
    assert_eq!(one_event(&wire).data(), "\n\n\n");
}

#[test]
fn crlf_in_data_is_one_line_break() {
    let wire = encode(EventRef::new().data("a\r\nb"));
    assert_eq!(wire, b"data: a\ndata: b\n\n");
    assert_eq!(one_event(&wire).data(), "a\nb", "one break, not two");
    assert!(!data_round_trips(b"a\r\nb"), "the CR is reported");

    // CRLF at the end, and CRLF next to other breaks.
    assert_eq!(
        one_event(&encode(EventRef::new().data("a\r\n"))).data(),
        "a\n"
    );
    assert_eq!(
        one_event(&encode(EventRef::new().data("\r\n\n\r\r\n"))).data(),
        "\n\n\n\n"
    );
}

#[test]
fn lone_cr_in_data_comes_back_as_lf() {
    let wire = encode(EventRef::new().data("a\rb\r"));
    assert_eq!(wire, b"data: a\ndata: b\ndata: \n\n");
    assert_eq!(one_event(&wire).data(), "a\nb\n");
    assert!(!data_round_trips(b"a\rb"));
    // The owned event normalises when it is built, so it already shows what
    // the client will get.
    assert_eq!(Event::new("a\rb\r").data(), "a\nb\n");
}

#[test]
fn unicode_survives_in_every_value() {
    let data = "héllo 🌍\nzweite Zeile – ok\u{2028}same line";
    let wire = encode(
        EventRef::new()
            .event_type("ünïcödé")
            .id("ид-1")
            .comment(" ☕")
            .data(data),
    );
    let items = decode(&wire);
    assert_eq!(items[0], Item::Comment(Bytes::from(" ☕")));
    let Item::Event(event) = &items[1] else {
        panic!("expected an event, got {items:?}")
    };
    assert_eq!(event.event_type(), "ünïcödé".as_bytes());
    assert_eq!(event.id(), "ид-1".as_bytes());
    assert_eq!(event.data(), data, "U+2028 is not a line break");
    assert!(data_round_trips(data.as_bytes()));
}

#[test]
fn empty_data_is_still_an_event() {
    let wire = encode(EventRef::new().data(""));
    assert_eq!(wire, b"data: \n\n");
    assert_eq!(one_event(&wire).data(), "");

    let event = Event::new("");
    assert_eq!(event.to_bytes(), "data: \n\n");
    assert_eq!(one_event(&event.to_bytes()), event);

    // A builder with no data at all also makes an event.
    let event = Event::builder().event_type("ping").build().unwrap();
    assert_eq!(event.to_bytes(), "event: ping\ndata: \n\n");
    assert_eq!(one_event(&event.to_bytes()), event);
}

#[test]
fn data_may_hold_any_byte() {
    let data: &[u8] = b"\0:\xFF data: not a field\x0B\x0C";
    let event = one_event(&encode(EventRef::new().data(data)));
    assert_eq!(event.data(), data);
}

// ---------------------------------------------------------------------------
// Refused values

#[test]
fn nul_in_id_is_refused_with_field_and_offset() {
    let expected = EncodeError::InvalidValue {
        field: FieldName::Id,
        offset: 2,
        byte: 0,
    };
    refused(EventRef::new().id("ab\0c").data("x"), expected);
    assert_eq!(Event::builder().id("ab\0c").build().unwrap_err(), expected);
    assert_eq!(
        expected.to_string(),
        "invalid `id` value: NUL (0x00) at byte offset 2 (an id cannot contain CR, LF or NUL)"
    );
}

#[test]
fn cr_or_lf_in_id_is_refused() {
    for (id, offset, byte) in [
        ("7\nevent: evil", 1, b'\n'),
        ("7\r", 1, b'\r'),
        ("\r\n", 0, b'\r'),
    ] {
        let expected = EncodeError::InvalidValue {
            field: FieldName::Id,
            offset,
            byte,
        };
        refused(EventRef::new().id(id).data("x"), expected);
        assert_eq!(Event::builder().id(id).build().unwrap_err(), expected);
    }
}

#[test]
fn lf_in_event_type_is_refused() {
    let expected = EncodeError::InvalidValue {
        field: FieldName::Event,
        offset: 4,
        byte: b'\n',
    };
    refused(
        EventRef::new().event_type("evil\ndata: injected").data("x"),
        expected,
    );
    assert_eq!(
        Event::builder()
            .event_type("evil\ndata: injected")
            .build()
            .unwrap_err(),
        expected
    );
    // CR too; NUL is fine in an event type.
    refused(
        EventRef::new().event_type("a\rb"),
        EncodeError::InvalidValue {
            field: FieldName::Event,
            offset: 1,
            byte: b'\r',
        },
    );
    let event = one_event(&encode(EventRef::new().event_type("a\0b").data("")));
    assert_eq!(event.event_type(), b"a\0b");
}

#[test]
fn comment_with_newline_is_refused() {
    refused(
        EventRef::new().comment("one\ntwo"),
        EncodeError::InvalidValue {
            field: FieldName::Comment,
            offset: 3,
            byte: b'\n',
        },
    );
    refused(
        EventRef::new().comment("\rx").data("y"),
        EncodeError::InvalidValue {
            field: FieldName::Comment,
            offset: 0,
            byte: b'\r',
        },
    );
    // Several lines are several comments.
    let mut wire = encode(EventRef::new().comment("one"));
    wire.extend(encode(EventRef::new().comment("two")));
    assert_eq!(
        decode(&wire),
        [
            Item::Comment(Bytes::from("one")),
            Item::Comment(Bytes::from("two"))
        ]
    );
}

#[test]
fn first_bad_field_in_writing_order_is_reported() {
    let err = EventRef::new()
        .id("\0")
        .event_type("\n")
        .comment("\r")
        .validate()
        .unwrap_err();
    assert!(matches!(
        err,
        EncodeError::InvalidValue {
            field: FieldName::Comment,
            ..
        }
    ));
    let err = Event::builder()
        .id("\0")
        .event_type("\n")
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        EncodeError::InvalidValue {
            field: FieldName::Event,
            ..
        }
    ));
}

// ---------------------------------------------------------------------------
// Comments and keep-alive

#[test]
fn keep_alive_frame_decodes_to_one_comment_and_no_event() {
    assert_eq!(KEEP_ALIVE_FRAME, b": keep-alive\n\n");
    assert_eq!(
        decode(KEEP_ALIVE_FRAME),
        [Item::Comment(Bytes::from_static(b" keep-alive"))]
    );
    // Between two events it changes neither.
    let mut wire = Event::new("a").to_bytes().to_vec();
    wire.extend_from_slice(KEEP_ALIVE_FRAME);
    wire.extend_from_slice(&Event::new("b").to_bytes());
    let items = decode(&wire);
    assert_eq!(items.len(), 3);
    assert_eq!(items[0], Item::Event(Event::new("a")));
    assert_eq!(items[2], Item::Event(Event::new("b")));
}

#[test]
fn comment_is_written_byte_for_byte_before_the_event() {
    let wire = encode(EventRef::new().comment("no space").data("x"));
    assert_eq!(wire, b":no space\ndata: x\n\n");
    let items = decode(&wire);
    assert_eq!(items[0], Item::Comment(Bytes::from("no space")));
    assert!(matches!(&items[1], Item::Event(e) if e.data() == "x"));

    assert_eq!(encode(EventRef::new().comment("")), b":\n\n");
    assert_eq!(decode(b":\n\n"), [Item::Comment(Bytes::new())]);
}

// ---------------------------------------------------------------------------
// Buffers and lengths

#[test]
fn buffer_too_small_carries_required_size_and_writes_nothing() {
    let frame = EventRef::new()
        .event_type("t")
        .id("1")
        .retry(10)
        .data("a\nb");
    let len = frame.encoded_len();
    assert_eq!(
        len,
        b"event: t\nid: 1\nretry: 10\ndata: a\ndata: b\n\n".len()
    );
    for size in 0..len {
        let mut buf = vec![0x77u8; size];
        assert_eq!(
            frame.encode_to_slice(&mut buf),
            Err(EncodeError::BufferTooSmall { required: len }),
            "size {size}"
        );
        assert!(
            buf.iter().all(|&b| b == 0x77),
            "size {size}: nothing written"
        );

        // A fixed-size BufMut gets the same error rather than a panic.
        let mut buf = vec![0x77u8; size];
        let mut dst: &mut [u8] = &mut buf;
        assert_eq!(
            frame.encode(&mut dst),
            Err(EncodeError::BufferTooSmall { required: len })
        );
        assert!(buf.iter().all(|&b| b == 0x77), "size {size}: nothing put");
    }
    let event = Event::builder().data("hello").build().unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(
        event.encode_to_slice(&mut buf),
        Err(EncodeError::BufferTooSmall { required: 13 })
    );
    assert_eq!(buf, [0u8; 8]);
    assert_eq!(
        EncodeError::BufferTooSmall { required: 13 }.to_string(),
        "buffer too small: the frame needs 13 bytes"
    );
}

#[test]
fn encoded_len_equals_written_length() {
    let frames = [
        EventRef::new(),
        EventRef::new().data(""),
        EventRef::new().data("x\r\ny\rz\n"),
        EventRef::new().comment(" c"),
        EventRef::new().retry(u64::MAX),
        EventRef::new().retry(0).id(""),
        EventRef::new()
            .comment("c")
            .event_type("t")
            .id("i")
            .retry(1)
            .data("d\n\n"),
    ];
    for frame in frames {
        assert_eq!(encode(frame).len(), frame.encoded_len(), "{frame:?}");
    }
    let events = [
        Event::new(""),
        Event::new("a\nb\r\nc"),
        Event::builder()
            .event_type("t")
            .id("i")
            .retry(123)
            .data("d")
            .build()
            .unwrap(),
    ];
    for event in events {
        let len = event.encoded_len();
        assert_eq!(event.to_bytes().len(), len, "{event:?}");
        let mut buf = BytesMut::new();
        event.encode(&mut buf);
        assert_eq!(buf.len(), len, "{event:?}");
        let mut slice = vec![0; len];
        assert_eq!(event.encode_to_slice(&mut slice), Ok(len), "{event:?}");
        assert_eq!(slice, buf, "{event:?}");
    }
}

#[test]
fn empty_event_ref_writes_nothing() {
    assert!(EventRef::new().is_empty());
    assert_eq!(encode(EventRef::new()), b"");
    let mut buf: [u8; 0] = [];
    assert_eq!(EventRef::new().encode_to_slice(&mut buf), Ok(0));
}

#[test]
fn growable_buffer_appends_after_existing_bytes() {
    let mut buf = BytesMut::from(&b"data: 1\n\n"[..]);
    EventRef::new().data("2").encode(&mut buf).unwrap();
    Event::new("3").encode(&mut buf);
    let mut vec: Vec<u8> = Vec::new();
    vec.put_slice(b"data: 0\n\n");
    Event::new("1").encode(&mut vec);
    assert_eq!(&buf[..], b"data: 1\n\ndata: 2\n\ndata: 3\n\n");
    assert_eq!(vec, b"data: 0\n\ndata: 1\n\n");
}

// ---------------------------------------------------------------------------
// Fields other than data

#[test]
fn message_type_is_left_out_for_owned_events() {
    let event = Event::builder()
        .event_type("message")
        .data("x")
        .build()
        .unwrap();
    assert_eq!(event.to_bytes(), "data: x\n\n");
    assert_eq!(event, Event::new("x"));
    // The borrowed path writes what it is given.
    assert_eq!(
        encode(EventRef::new().event_type("message").data("x")),
        b"event: message\ndata: x\n\n"
    );
}

#[test]
fn leading_space_in_type_and_id_survives() {
    let wire = encode(EventRef::new().event_type(" t").id("  7").data(""));
    assert_eq!(wire, b"event:  t\nid:   7\ndata: \n\n");
    let event = one_event(&wire);
    assert_eq!(event.event_type(), b" t");
    assert_eq!(event.id(), b"  7");
}

#[test]
fn retry_alone_sets_reconnection_time_without_an_event() {
    let wire = encode(EventRef::new().retry(2500));
    assert_eq!(wire, b"retry: 2500\n\n");
    assert_eq!(decode(&wire), [Item::Retry(2500)]);

    let event = Event::builder().retry(u64::MAX).data("x").build().unwrap();
    let wire = event.to_bytes();
    assert_eq!(wire, "retry: 18446744073709551615\ndata: x\n\n");
    assert_eq!(one_event(&wire), event);
}

#[test]
fn empty_id_clears_last_event_id_and_owned_empty_id_keeps_it() {
    let mut wire = encode(EventRef::new().id("5").data("a"));
    // An owned event with an empty ID writes no `id` line...
    wire.extend_from_slice(&Event::new("b").to_bytes());
    // ...and an explicit empty `id` clears it.
    wire.extend(encode(EventRef::new().id("").data("c")));
    let ids: Vec<Bytes> = decode(&wire)
        .into_iter()
        .map(|item| match item {
            Item::Event(e) => Bytes::copy_from_slice(e.id()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(ids, ["5", "5", ""]);
}

#[test]
fn decoded_events_encode_back_to_equal_events() {
    let input = b"event: a\nid: 1\nretry: 7\ndata: x\r\ndata:  y\n\ndata\n\n";
    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::from(&input[..]);
    let mut n = 0;
    while let Some(event) = decoder.decode(&mut buf).unwrap() {
        assert_eq!(one_event(&event.to_bytes()), event);
        n += 1;
    }
    assert_eq!(n, 2);
}

#[test]
fn to_bytes_is_shared_across_clones() {
    let frame = Event::builder()
        .event_type("news")
        .data(String::from("story"))
        .build()
        .unwrap()
        .to_bytes();
    let clients: Vec<Bytes> = (0..3).map(|_| frame.clone()).collect();
    assert!(clients.iter().all(|c| c.as_ptr() == frame.as_ptr()));
}

#[test]
fn builder_data_lines_share_the_data() {
    let data = Bytes::from(String::from("one\ntwo\r\nthree"));
    let event = Event::builder().data(data.clone()).build().unwrap();
    let lines = event.data_lines();
    assert_eq!(lines, ["one", "two", "three"]);
    let range = data.as_ptr() as usize..data.as_ptr() as usize + data.len();
    assert!(lines.iter().all(|l| range.contains(&(l.as_ptr() as usize))));
}
