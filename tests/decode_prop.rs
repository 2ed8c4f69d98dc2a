//! Property tests for the decoder.
//!
//! - (a) chunk-split invariance on generated event streams;
//! - (b) arbitrary bytes never panic, and small random `Limits` hold for
//!   every dispatched event and for the bytes left buffered;
//! - (c) the field layer and the event layer agree: a naive assembler over
//!   `Decoder` fields (the spec's steps, written out) gives what
//!   `EventDecoder` gives;
//! - (d) a naive reference decoder, written from the spec independently of
//!   the library, agrees with `EventDecoder`.
//!
//! The two naive models are `ssekit_testkit::model`'s, which the fuzz
//! checks use too.

mod common;

use common::{
    chunks_at, decode_chunks, decode_chunks_borrowed, diff_transcripts, lossy, EvExt, TranscriptExt,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use ssekit::{EndOfStream, Limits};
use ssekit_testkit::model;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Cases per property; `PROPTEST_CASES` overrides it for a deeper run.
const CASES: u32 = 1000;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    Config {
        cases,
        // Keep the repository clean: failures print their minimal input.
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Strategies

/// A piece of a field value: ASCII, multi-byte UTF-8, characters that look
/// like line breaks but are not, NUL, colons, spaces and invalid UTF-8.
fn atom() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec(prop::sample::select(&b"abcdefxyz0123456789"[..]), 1..7),
        1 => Just(b" ".to_vec()),
        1 => Just(b":".to_vec()),
        1 => Just(b"\0".to_vec()),
        1 => Just("é".as_bytes().to_vec()),
        1 => Just("€".as_bytes().to_vec()),
        1 => Just("😀".as_bytes().to_vec()),
        1 => Just("\u{2028}\u{85}\x0B\x0C".as_bytes().to_vec()),
        1 => Just(BOM.to_vec()),
        1 => Just(vec![0xFF]),
        1 => Just(vec![0xC0, 0xAF]),
        1 => Just(vec![0x80]),
        1 => Just(vec![0xE2, 0x82]),
        1 => Just(vec![0xF0, 0x9F, 0x98]),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(atom(), 0..6).prop_map(|atoms| atoms.concat())
}

fn retry_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(prop::sample::select(&b"0123456789"[..]), 1..7),
        1 => "0{0,25}[0-9]{0,22}".prop_map(String::into_bytes),
        1 => Just(b"18446744073709551616".to_vec()),
        1 => "[+ -]?[0-9]{1,3}[a-z. ]?".prop_map(String::into_bytes),
        1 => value(),
    ]
}

/// One line without its ending.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        6 => Just("data"),
        2 => Just("event"),
        2 => Just("id"),
        1 => Just("Data"),
        1 => Just("foo"),
        1 => Just("data "),
    ];
    let sep = prop_oneof![Just(": "), Just(":"), Just(":  "), Just("")];
    prop_oneof![
        8 => (name, sep, value()).prop_map(|(n, s, v)| {
            // Without a colon the whole line is the name.
            let v = if s.is_empty() { Vec::new() } else { v };
            [n.as_bytes(), s.as_bytes(), &v].concat()
        }),
        2 => (prop_oneof![Just("retry: "), Just("retry:")], retry_value())
            .prop_map(|(p, v)| [p.as_bytes(), &v].concat()),
        2 => value().prop_map(|v| [b":".as_slice(), &v].concat()),
        1 => value(),
        5 => Just(Vec::new()),
    ]
}

fn ending() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![Just(&b"\n"[..]), Just(&b"\r"[..]), Just(&b"\r\n"[..]),]
}

/// A generated event stream: an optional BOM (or two, or part of one), then
/// lines with random endings; the last line may have no ending.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        6 => Just(Vec::new()),
        3 => Just(BOM.to_vec()),
        1 => Just([BOM, BOM].concat()),
        1 => Just(BOM[..2].to_vec()),
    ];
    (
        prefix,
        prop::collection::vec((line(), ending()), 0..40),
        any::<bool>(),
    )
        .prop_map(|(prefix, lines, cut_last)| {
            let mut out = prefix;
            let n = lines.len();
            for (i, (line, end)) in lines.into_iter().enumerate() {
                out.extend_from_slice(&line);
                if !(cut_last && i + 1 == n) {
                    out.extend_from_slice(end);
                }
            }
            out
        })
}

/// Bytes that are mostly not a valid stream: raw bytes, or bytes drawn from
/// the characters that matter to the parser.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    let alphabet = prop::sample::select(
        &b"data:event:id:retry: \r\n\r\n\n\n0123456789\xEF\xBB\xBF\xFF\0x"[..],
    );
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        prop::collection::vec(alphabet, 0..600),
        stream(),
    ]
}

/// Split points, as raw numbers to be reduced modulo the input length.
fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(any::<usize>(), 0..16)
}

/// Turns raw cut numbers into sorted split points for `len` bytes. An empty
/// list of cuts with `tiny` set means 1-byte chunks.
fn split_points(len: usize, raw: &[usize], tiny: bool) -> Vec<usize> {
    if tiny {
        return common::fixed_splits(len, 1);
    }
    let mut points: Vec<usize> = raw.iter().map(|r| r % (len + 1)).collect();
    points.sort_unstable();
    points
}

fn small_limits() -> impl Strategy<Value = Limits> {
    (0usize..48, 0usize..160, 0usize..6).prop_map(|(line, event, lines)| {
        Limits::default()
            .max_line_len(line)
            .max_event_len(event)
            .max_data_lines(lines)
    })
}

// ---------------------------------------------------------------------------
// The naive models, from the testkit (`ssekit_testkit::model`)

// (c) `assemble`: the field layer with limits over the chunks, and a naive
// event assembler of the spec's steps over its fields.
// (d) `reference`: a naive reference decoder, straight from the spec, over
// the whole input.
use model::{assemble, reference};

// ---------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config())]

    /// (a) Decoding a generated stream whole and under random chunkings gives
    /// the same transcript.
    #[test]
    fn chunk_split_invariance(input in stream(), raw in cuts(), tiny in prop::bool::weighted(0.1)) {
        let whole = decode_chunks(Limits::default(), [&input[..]]).0;
        let splits = split_points(input.len(), &raw, tiny);
        let chunked = decode_chunks(Limits::default(), chunks_at(&input, &splits)).0;
        prop_assert!(
            whole == chunked,
            "input {:?} split at {:?} decodes differently:\n{}",
            lossy(&input), splits, diff_transcripts(&whole, &chunked)
        );
        prop_assert!(
            whole.errors().next().is_none(),
            "default limits never trip here: {:?}", whole.errors().collect::<Vec<_>>()
        );
    }

    /// (b) Any bytes, any small limits: no panic, every event within the
    /// limits, the buffer bounded, and the same result under any chunking.
    #[test]
    fn limits_hold_on_arbitrary_bytes(
        input in noise(),
        limits in small_limits(),
        raw in cuts(),
        tiny in prop::bool::weighted(0.1),
    ) {
        let splits = split_points(input.len(), &raw, tiny);
        let chunks = chunks_at(&input, &splits);
        let (chunked, stats) = decode_chunks(limits, chunks.iter().copied());
        let max_line = limits.get_max_line_len();
        for ev in chunked.events() {
            prop_assert!(
                ev.lines.len() <= limits.get_max_data_lines(),
                "event {:?} has {} data lines, limit {:?}", ev, ev.lines.len(), limits
            );
            prop_assert!(
                ev.data().len() <= limits.get_max_event_len(),
                "event {:?} has {} bytes of data, limit {:?}", ev, ev.data().len(), limits
            );
            prop_assert!(
                ev.id.len() <= max_line,
                "event {:?} has an ID longer than a line may be, limit {:?}", ev, limits
            );
            prop_assert!(
                ev.event_type == "message" || ev.event_type.len() <= max_line,
                "event {:?} has a type longer than a line may be, limit {:?}", ev, limits
            );
        }
        // What is left buffered: at most an incomplete line within the limit
        // (or two bytes of a BOM), plus the chunk just appended.
        prop_assert!(
            stats.max_over_chunk <= max_line.max(2),
            "{} bytes beyond the last chunk stayed buffered, max_line_len {}",
            stats.max_over_chunk, max_line
        );
        prop_assert!(
            stats.max_idle <= max_line.max(2),
            "{} bytes stayed buffered waiting for more input, max_line_len {}",
            stats.max_idle, max_line
        );
        let whole = decode_chunks(limits, [&input[..]]).0;
        prop_assert!(
            whole == chunked,
            "input {:?} with {:?} split at {:?} decodes differently:\n{}",
            lossy(&input), limits, splits, diff_transcripts(&whole, &chunked)
        );
    }

    /// (c) The field layer plus a naive assembler agrees with the event layer,
    /// with and without (small) limits.
    #[test]
    fn field_layer_and_event_layer_agree(
        input in stream(),
        limits in prop_oneof![Just(Limits::default()), small_limits()],
        raw in cuts(),
    ) {
        let splits = split_points(input.len(), &raw, false);
        let naive = assemble(limits, &chunks_at(&input, &splits));
        let events = decode_chunks(limits, chunks_at(&input, &splits)).0;
        prop_assert!(
            naive == events,
            "input {:?} with {:?} split at {:?}: field layer + naive assembler vs EventDecoder:\n{}",
            lossy(&input), limits, splits, diff_transcripts(&naive, &events)
        );
    }

    /// (d) An independent naive decoder agrees with `EventDecoder`, whole and
    /// chunked.
    #[test]
    fn reference_decoder_agrees(input in stream(), raw in cuts()) {
        let expected = reference(&input);
        let whole = decode_chunks(Limits::default(), [&input[..]]).0;
        prop_assert!(
            expected == whole,
            "input {:?}: reference vs EventDecoder (whole):\n{}",
            lossy(&input), diff_transcripts(&expected, &whole)
        );
        let splits = split_points(input.len(), &raw, false);
        let chunked = decode_chunks(Limits::default(), chunks_at(&input, &splits)).0;
        prop_assert!(
            expected == chunked,
            "input {:?} split at {:?}: reference vs EventDecoder:\n{}",
            lossy(&input), splits, diff_transcripts(&expected, &chunked)
        );
    }

    /// (e) The borrowing event layer gives the owned one's transcript, on
    /// generated streams and on noise, with and without small limits, under
    /// any chunking (1-byte chunks included), and agrees with the reference.
    #[test]
    fn borrowed_decoder_agrees(
        input in prop_oneof![stream(), noise()],
        limits in prop_oneof![Just(Limits::default()), small_limits()],
        raw in cuts(),
        tiny in prop::bool::weighted(0.2),
    ) {
        let splits = split_points(input.len(), &raw, tiny);
        let owned = decode_chunks(limits, [&input[..]]).0;
        let borrowed = decode_chunks_borrowed(limits, chunks_at(&input, &splits));
        prop_assert!(
            owned == borrowed,
            "input {:?} with {:?} split at {:?}: EventDecoder (whole) vs BorrowedDecoder:\n{}",
            lossy(&input), limits, splits, diff_transcripts(&owned, &borrowed)
        );
        if limits == Limits::default() {
            let expected = reference(&input);
            prop_assert!(
                expected == borrowed,
                "input {:?} split at {:?}: reference vs BorrowedDecoder:\n{}",
                lossy(&input), splits, diff_transcripts(&expected, &borrowed)
            );
        }
    }

    /// (d, noise) The reference and `EventDecoder` also agree on bytes that are
    /// mostly not a valid stream.
    #[test]
    fn reference_decoder_agrees_on_noise(input in noise()) {
        let expected = reference(&input);
        let got = decode_chunks(Limits::default(), [&input[..]]).0;
        prop_assert!(
            expected == got,
            "input {:?}: reference vs EventDecoder:\n{}",
            lossy(&input), diff_transcripts(&expected, &got)
        );
    }
}

/// The reference decoder itself follows the spec on a few hand-checked inputs,
/// so a bug in it cannot hide one in the library.
#[test]
fn reference_decoder_sanity() {
    let t = reference(b"\xEF\xBB\xBFid: 1\nevent: e\ndata: a\r\ndata\r\r: c\nretry: 05\ndata: x");
    assert_eq!(t.data(), ["a\n"]);
    assert_eq!(t.events()[0].text(), ("e".into(), "a\n".into(), "1".into()));
    assert_eq!(t.comments(), [" c"]);
    assert_eq!(t.retries(), [5]);
    assert_eq!(t.end, EndOfStream::Truncated);
    let t = reference(b"id: a\0\ndata:  x\n\nretry: 99999999999999999999\n\n");
    assert_eq!(
        t.events()[0].text(),
        ("message".into(), " x".into(), "".into())
    );
    assert_eq!(t.reconnection_time, None);
    assert_eq!(t.end, EndOfStream::Clean);
}
