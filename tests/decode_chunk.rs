//! `EventDecoder::decode_chunk`, the entry point of the `Stream` adapter,
//! on long lines spread over many chunks: it carries small chunks whole,
//! keeps big chunks of an unfinished line aside and copies them once when
//! the line ends, and must give exactly what decoding the whole input gives,
//! errors and their offsets included.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::test_runner::Config;
use ssekit::{DecodeError, EndOfStream, Event, EventDecoder, Limits};

/// What a decoder reported, in order: events (type, data, id) and errors.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rec {
    Event(Vec<u8>, Vec<u8>, Vec<u8>),
    Error(DecodeError),
}

fn rec(event: &Event) -> Rec {
    Rec::Event(
        event.event_type().to_vec(),
        event.data().to_vec(),
        event.id().to_vec(),
    )
}

/// `decode` on the whole input in one `BytesMut`.
fn whole(limits: Limits, input: &[u8]) -> (Vec<Rec>, EndOfStream) {
    let mut decoder = EventDecoder::with_limits(limits);
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(event)) => out.push(rec(&event)),
            Ok(None) => break,
            Err(err) => out.push(Rec::Error(err)),
        }
    }
    (out, decoder.finish(&mut buf))
}

/// `decode_chunk` on `input` cut into chunks of the given lengths (the rest
/// in a last chunk).
fn chunked(limits: Limits, input: &[u8], lengths: &[usize]) -> (Vec<Rec>, EndOfStream) {
    let all = Bytes::copy_from_slice(input);
    let mut decoder = EventDecoder::with_limits(limits);
    let mut carry = BytesMut::new();
    let mut out = Vec::new();
    let mut at = 0;
    let ends = lengths
        .iter()
        .map(|&n| {
            at = (at + n).min(all.len());
            at
        })
        .chain([all.len()]);
    let mut start = 0;
    for end in ends {
        let mut chunk = all.slice(start..end);
        start = end;
        loop {
            match decoder.decode_chunk(&mut carry, &mut chunk) {
                Ok(Some(event)) => out.push(rec(&event)),
                Ok(None) => break,
                Err(err) => out.push(Rec::Error(err)),
            }
        }
        assert!(chunk.is_empty(), "decode_chunk left part of a chunk");
        assert!(
            carry.len() <= limits.get_max_line_len(),
            "{} bytes carried, limit {}",
            carry.len(),
            limits.get_max_line_len()
        );
    }
    (out, decoder.finish(&mut carry))
}

#[test]
fn a_long_line_over_many_big_chunks_comes_out_whole() {
    let line = "x".repeat(100_000);
    let input = format!("id: 1\ndata: {line}\r\n\r\ndata: after\n\n");
    let (got, end) = chunked(Limits::default(), input.as_bytes(), &[1460; 80]);
    assert_eq!(end, EndOfStream::Clean);
    assert_eq!(got, whole(Limits::default(), input.as_bytes()).0);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        Rec::Event(b"message".to_vec(), line.into_bytes(), b"1".to_vec())
    );
}

#[test]
fn long_and_short_lines_of_one_event_come_out_in_order() {
    // Lines of 4 KiB and more that end in the carry are kept as slices of
    // it; the short ones around them are copied. Both in one event, over
    // chunks of several sizes.
    let long = "L".repeat(5000);
    let longer = "M".repeat(9000);
    let input =
        format!("data: a\ndata: {long}\ndata: b\r\ndata: {longer}\rdata: c\n\ndata: {long}\n\n");
    let want = whole(Limits::default(), input.as_bytes()).0;
    assert_eq!(
        want[0],
        Rec::Event(
            b"message".to_vec(),
            format!("a\n{long}\nb\n{longer}\nc").into_bytes(),
            Vec::new()
        )
    );
    for size in [1, 7, 64, 300, 1460, 4096, 5003] {
        let lengths = vec![size; input.len() / size + 1];
        let (got, end) = chunked(Limits::default(), input.as_bytes(), &lengths);
        assert_eq!(
            (got, end),
            (want.clone(), EndOfStream::Clean),
            "chunks of {size}"
        );
    }
}

#[test]
fn a_long_line_over_the_limit_is_reported_once_and_decoding_goes_on() {
    let limits = Limits::default().max_line_len(10_000);
    let input = format!("data: {}\n\ndata: next\n\n", "y".repeat(50_000));
    let (got, end) = chunked(limits, input.as_bytes(), &[1000; 60]);
    assert_eq!(end, EndOfStream::Clean);
    assert_eq!(got, whole(limits, input.as_bytes()).0);
    assert!(matches!(got[0], Rec::Error(_)), "{got:?}");
    assert_eq!(
        got[1],
        Rec::Event(b"message".to_vec(), b"next".to_vec(), Vec::new())
    );
    assert_eq!(got.len(), 2);
}

/// One generated line: a data line of `len` bytes, a comment, an `id`, or a
/// blank line; ending in LF, CRLF or CR.
fn line() -> impl Strategy<Value = Vec<u8>> {
    (0u8..4, 0usize..6000, 0u8..3, any::<u8>()).prop_map(|(kind, len, ending, seed)| {
        let fill = b'a' + seed % 26;
        let mut l = match kind {
            0 | 1 => {
                let mut l = b"data: ".to_vec();
                l.resize(6 + len, fill);
                l
            }
            2 => b": keep-alive".to_vec(),
            _ => Vec::new(),
        };
        if kind == 1 && len % 3 == 0 {
            l = format!("id: {len}").into_bytes();
        }
        l.extend_from_slice(match ending {
            0 => b"\n",
            1 => b"\r\n",
            _ => b"\r",
        });
        l
    })
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Whatever the chunk sizes (many above 256 bytes, so that long lines
    /// are kept aside and copied when they end) and line limit, the events,
    /// errors (with offsets) and end of stream are those of the whole input.
    #[test]
    fn decode_chunk_matches_whole_input(
        lines in prop::collection::vec(line(), 1..40),
        lengths in prop::collection::vec(prop_oneof![1usize..64, 200usize..3000], 0..60),
        max_line in prop_oneof![Just(usize::MAX), 300usize..8000],
    ) {
        let input = lines.concat();
        let limits = Limits::default().max_line_len(max_line).max_event_len(usize::MAX);
        let expected = whole(limits, &input);
        let got = chunked(limits, &input, &lengths);
        prop_assert_eq!(got, expected);
    }
}
