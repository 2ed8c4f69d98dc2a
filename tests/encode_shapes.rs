//! The encoder against a naive model, on frames shaped to cross every size
//! the writer treats differently: lines around the lengths it copies whole
//! (64, 128), hands over as they are (384), frames around the size it
//! assembles in one piece (512, and 256, tried) and around its staging
//! buffer (2048), data
//! that ends near a line's start, LF, CR and CRLF breaks, and head values
//! long enough to be handed over on their own.
//!
//! Every frame goes to every destination: a slice, a `Vec`, `BytesMut`s
//! empty and with room, a fixed-size `&mut [u8]` as `BufMut`, a `Limit`,
//! a `BufMut` that hands out small chunks, and `to_bytes`; each must write
//! exactly the model's bytes, and they decode back to the model's event.

use bytes::buf::UninitSlice;
use bytes::{BufMut, Bytes, BytesMut};
use ssekit::{Event, EventDecoder, EventRef};

/// The frame the encoder must write, built the obvious way.
fn model(
    comment: Option<&[u8]>,
    event_type: Option<&[u8]>,
    id: Option<&[u8]>,
    retry: Option<u64>,
    data: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = |name: &[u8], value: &[u8]| {
        out.extend_from_slice(name);
        out.extend_from_slice(value);
        out.push(b'\n');
    };
    if let Some(c) = comment {
        line(b":", c);
    }
    if let Some(t) = event_type {
        line(b"event: ", t);
    }
    if let Some(id) = id {
        line(b"id: ", id);
    }
    if let Some(ms) = retry {
        line(b"retry: ", ms.to_string().as_bytes());
    }
    if let Some(data) = data {
        for text in lines(data) {
            line(b"data: ", text);
        }
    }
    let any = comment.is_some()
        || event_type.is_some()
        || id.is_some()
        || retry.is_some()
        || data.is_some();
    if any {
        out.push(b'\n');
    }
    out
}

/// The lines of `data`, split at LF, CR and CRLF, one byte at a time; the
/// last is what follows the last line ending.
fn lines(data: &[u8]) -> Vec<&[u8]> {
    let (mut lines, rest) = ssekit_testkit::model::split_lines(data);
    lines.push(rest);
    lines
}

/// A `BufMut` over a fixed buffer that hands out at most 7 bytes at a
/// time, so that every copy into it is split.
struct Trickle {
    buf: Vec<u8>,
    len: usize,
}

// A `BufMut` can only be written with `unsafe`; this one only hands out
// parts of a `Vec` it owns.
#[allow(unsafe_code)]
// SAFETY: `chunk_mut` hands out initialised memory of `buf` past `len`, and
// `advance_mut` checks that it stays within `buf`.
unsafe impl BufMut for Trickle {
    fn remaining_mut(&self) -> usize {
        self.buf.len() - self.len
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        assert!(cnt <= self.remaining_mut());
        self.len += cnt;
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        let end = (self.len + 7).min(self.buf.len());
        UninitSlice::new(&mut self.buf[self.len..end])
    }
}

/// Writes `frame` to every destination and checks each against `want`.
fn check_ref(frame: EventRef<'_>, want: &[u8], what: &str) {
    assert_eq!(frame.encoded_len(), want.len(), "{what}: encoded_len");

    let mut slice = vec![0xAA; want.len() + 1];
    assert_eq!(frame.encode_to_slice(&mut slice), Ok(want.len()), "{what}");
    assert_eq!(&slice[..want.len()], want, "{what}: slice");
    assert_eq!(slice[want.len()], 0xAA, "{what}: past the frame");

    let mut vec = Vec::new();
    frame.encode_to_vec(&mut vec).unwrap();
    assert_eq!(vec, want, "{what}: Vec");

    for capacity in [0, 8, want.len(), 64 * 1024] {
        let mut buf = BytesMut::with_capacity(capacity);
        frame.encode(&mut buf).unwrap();
        assert_eq!(buf, want, "{what}: BytesMut with capacity {capacity}");
    }
    let mut after = BytesMut::from(&b"before"[..]);
    frame.encode(&mut after).unwrap();
    assert_eq!(&after[6..], want, "{what}: after other bytes");

    let mut fixed = vec![0u8; want.len()];
    let mut dst = &mut fixed[..];
    frame.encode(&mut dst).unwrap();
    assert!(dst.is_empty(), "{what}: all of a fixed buffer");
    assert_eq!(fixed, want, "{what}: fixed buffer");

    let mut limit = BytesMut::new().limit(want.len());
    frame.encode(&mut limit).unwrap();
    assert_eq!(limit.into_inner(), want, "{what}: Limit");

    let mut trickle = Trickle {
        buf: vec![0; want.len()],
        len: 0,
    };
    frame.encode(&mut trickle).unwrap();
    assert_eq!(trickle.len, want.len(), "{what}: Trickle length");
    assert_eq!(trickle.buf, want, "{what}: Trickle");

    if !want.is_empty() {
        let mut short = vec![0u8; want.len() - 1];
        let mut dst = &mut short[..];
        assert!(frame.encode(&mut dst).is_err(), "{what}: one byte short");
        assert!(short.iter().all(|&b| b == 0), "{what}: nothing written");
    }

    assert_eq!(frame.to_bytes().unwrap(), want, "{what}: to_bytes");
}

/// The same for an owned event, which also decodes back to itself.
fn check_owned(event: &Event, want: &[u8], what: &str) {
    assert_eq!(event.encoded_len(), want.len(), "{what}: encoded_len");
    let mut slice = vec![0xAA; want.len()];
    assert_eq!(event.encode_to_slice(&mut slice), Ok(want.len()), "{what}");
    assert_eq!(slice, want, "{what}: slice");
    for capacity in [0, 8, want.len(), 64 * 1024] {
        let mut buf = BytesMut::with_capacity(capacity);
        event.encode(&mut buf);
        assert_eq!(buf, want, "{what}: BytesMut with capacity {capacity}");
    }
    let mut vec = Vec::new();
    event.encode(&mut vec);
    assert_eq!(vec, want, "{what}: Vec");
    let mut trickle = Trickle {
        buf: vec![0; want.len()],
        len: 0,
    };
    event.encode(&mut trickle);
    assert_eq!(trickle.buf, want, "{what}: Trickle");
    assert_eq!(event.to_bytes(), want, "{what}: to_bytes");

    let mut decoder = EventDecoder::new();
    let mut buf = BytesMut::from(want);
    let back = decoder.decode(&mut buf).unwrap().expect("one event");
    assert_eq!(&back, event, "{what}: decodes back");
    assert!(buf.is_empty(), "{what}: and nothing more");
}

/// Text of `len` bytes with no line break, varied so that misplaced bytes
/// show.
fn text(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789 :,{}"[(i * 7 + seed) % 41])
        .collect()
}

/// Data of lines of these lengths, each break taken from `breaks` in turn.
fn data(lens: &[usize], breaks: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &len) in lens.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(breaks[(i - 1) % breaks.len()]);
        }
        out.extend_from_slice(&text(len, i));
    }
    out
}

/// Line lengths around the sizes the writer treats differently.
const LENS: [usize; 25] = [
    0, 1, 7, 8, 16, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200, 247, 248, 249, 383, 384, 385, 511,
    512, 513, 2100,
];

/// Every data shape: one line of each length; each length among short
/// lines; long runs of lines that fill the staging buffer several times;
/// data ending in a break.
fn shapes() -> Vec<Vec<u8>> {
    let breaks: [&[&[u8]]; 4] = [&[b"\n"], &[b"\r\n"], &[b"\r"], &[b"\n", b"\r\n", b"\r"]];
    let mut out = vec![Vec::new(), b"\n".to_vec(), b"\r\n\r\n".to_vec()];
    for brk in breaks {
        for len in LENS {
            out.push(data(&[len], brk));
            out.push(data(&[3, len, 5], brk));
            out.push(data(&[len, len], brk));
            out.push(data(&[len, 0], brk));
        }
        let many: Vec<usize> = (0..300).map(|i| (i * 37) % 140).collect();
        out.push(data(&many, brk));
        let long: Vec<usize> = (0..40).map(|i| 300 + (i * 53) % 200).collect();
        out.push(data(&long, brk));
    }
    out
}

#[test]
fn data_of_every_shape_alone() {
    for data in shapes() {
        let want = model(None, None, None, None, Some(&data));
        let what = format!(
            "data of {} bytes {:?}",
            data.len(),
            &data[..data.len().min(12)]
        );
        check_ref(EventRef::new().data(&data), &want, &what);
        check_owned(&Event::new(Bytes::from(data.clone())), &want, &what);
    }
}

#[test]
fn data_of_every_shape_after_a_head() {
    for data in shapes() {
        let what = format!("headed data of {} bytes", data.len());
        let want = model(
            Some(b" c"),
            Some(b"update"),
            Some(b"42"),
            Some(1500),
            Some(&data),
        );
        let frame = EventRef::new()
            .comment(" c")
            .event_type("update")
            .id("42")
            .retry(1500)
            .data(&data);
        check_ref(frame, &want, &what);

        let want = model(None, Some(b"update"), Some(b"42"), Some(1500), Some(&data));
        let event = Event::builder()
            .event_type("update")
            .id("42")
            .retry(1500)
            .data(data.clone())
            .build()
            .unwrap();
        check_owned(&event, &want, &what);
    }
}

#[test]
fn head_values_of_every_length() {
    for len in LENS.into_iter().chain([3000, 5000]) {
        let value = text(len, 1);
        let what = format!("head values of {len} bytes");
        for data in [None, Some(&b"x"[..]), Some(&b"a\nb\r\nc"[..])] {
            let want = model(Some(&value), Some(&value), Some(&value), None, data);
            let mut frame = EventRef::new()
                .comment(&value)
                .event_type(&value)
                .id(&value);
            if let Some(data) = data {
                frame = frame.data(data);
            }
            check_ref(frame, &want, &what);
            let want = model(None, None, Some(&value), Some(u64::MAX), data);
            let mut frame = EventRef::new().id(&value).retry(u64::MAX);
            if let Some(data) = data {
                frame = frame.data(data);
            }
            check_ref(frame, &want, &what);
        }
        if len > 0 {
            let event = Event::builder()
                .event_type(value.clone())
                .id(value.clone())
                .data(data(&[len, 2, len], &[b"\r\n"]))
                .build()
                .unwrap();
            let want = model(
                None,
                Some(&value),
                Some(&value),
                None,
                Some(&data(&[len, 2, len], &[b"\r\n"])),
            );
            check_owned(&event, &want, &what);
        }
    }
}

#[test]
fn frames_without_data() {
    for (comment, event_type, id, retry) in [
        (Some(&b""[..]), None, None, None),
        (None, Some(&b"t"[..]), None, None),
        (None, None, Some(&b""[..]), None),
        (None, None, None, Some(0)),
        (
            Some(&b" keep-alive"[..]),
            Some(&b"x"[..]),
            Some(&b"7"[..]),
            Some(9),
        ),
    ] {
        let want = model(comment, event_type, id, retry, None);
        let mut frame = EventRef::new();
        if let Some(c) = comment {
            frame = frame.comment(c);
        }
        if let Some(t) = event_type {
            frame = frame.event_type(t);
        }
        if let Some(id) = id {
            frame = frame.id(id);
        }
        if let Some(ms) = retry {
            frame = frame.retry(ms);
        }
        check_ref(frame, &want, &format!("{frame:?}"));
    }
    check_ref(EventRef::new(), b"", "nothing");
}
