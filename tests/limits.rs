//! Limits and recovery: each bound gives a `DecodeError` naming it, with the
//! byte offset of the offending line; the over-limit event is dropped whole;
//! the following events arrive normally, however the input is chunked; and
//! the caller's buffer stays bounded.

mod common;

use bytes::BytesMut;
use common::{
    chunks_at, decode_all_splits_with, decode_chunks, fixed_splits, EvExt, Rec, Transcript,
    TranscriptExt,
};
use ssekit::{DecodeError, Decoder, EndOfStream, EventDecoder, Limit, Limits, Step};

fn err(limit: Limit, max: usize, offset: u64) -> DecodeError {
    DecodeError::LimitExceeded { limit, max, offset }
}

/// The transcript as a compact list: event data, or the error.
fn outline(t: &Transcript) -> Vec<Result<String, DecodeError>> {
    t.items
        .iter()
        .filter_map(|r| match r {
            Rec::Event(e) => Some(Ok(e.data_text())),
            Rec::Error(e) => Some(Err(*e)),
            _ => None,
        })
        .collect()
}

fn ok(data: &str) -> Result<String, DecodeError> {
    Ok(data.to_owned())
}

// ---------------------------------------------------------------------------
// Each limit: error, offset, message, recovery

#[test]
fn line_too_long_is_reported_dropped_and_recovered_from() {
    let limits = Limits::default().max_line_len(12);
    let input = b"data: ok1\n\ndata: 0123456789abcdef\ndata: more\n\ndata: ok2\n\n";
    let t = decode_all_splits_with(limits, input);
    let error = err(Limit::LineLength, 12, 11);
    assert_eq!(outline(&t), [ok("ok1"), Err(error), ok("ok2")]);
    assert_eq!(error.limit(), Limit::LineLength);
    assert_eq!(error.offset(), 11);
    assert_eq!(
        error.to_string(),
        "line longer than max_line_len (12 bytes) at byte offset 11"
    );
    assert_eq!(t.end, EndOfStream::Clean);
}

#[test]
fn event_too_large_is_reported_dropped_and_recovered_from() {
    let limits = Limits::default().max_event_len(20);
    // "event: big" (10) + "data: 0123456789" (16) = 26 > 20, at the second line.
    let input = b"event: big\ndata: 0123456789\ndata: x\n\ndata: ok\n\n";
    let t = decode_all_splits_with(limits, input);
    let error = err(Limit::EventSize, 20, 11);
    assert_eq!(outline(&t), [Err(error), ok("ok")]);
    // The dropped event's type does not leak into the next event.
    assert_eq!(t.events()[0].event_type, "message");
    assert_eq!(
        error.to_string(),
        "event larger than max_event_len (20 bytes) at byte offset 11"
    );
}

#[test]
fn too_many_data_lines_is_reported_dropped_and_recovered_from() {
    let limits = Limits::default().max_data_lines(2);
    let input = b"id: 1\ndata: a\n\nid: 2\ndata: 1\ndata: 2\ndata: 3\ndata: 4\n\ndata: b\n\n";
    let t = decode_all_splits_with(limits, input);
    let offset = input.windows(7).position(|w| w == b"data: 3").unwrap() as u64;
    let error = err(Limit::DataLines, 2, offset);
    assert_eq!(outline(&t), [ok("a"), Err(error), ok("b")]);
    // The `id` of the dropped event never took effect.
    assert_eq!(t.events()[1].id, "1");
    assert_eq!(t.last_event_id, &b"1"[..]);
    assert_eq!(
        error.to_string(),
        format!(
            "event with more data lines than max_data_lines (2 data lines) at byte offset {offset}"
        )
    );
}

#[test]
fn limits_are_inclusive() {
    // Exactly at the bound is fine; one more is not.
    let t = decode_all_splits_with(
        Limits::default().max_line_len(8),
        b"data: ab\n\ndata: abc\n\n",
    );
    assert_eq!(outline(&t), [ok("ab"), Err(err(Limit::LineLength, 8, 10))]);

    let t = decode_all_splits_with(
        Limits::default().max_event_len(14),
        b"data: a\ndata: b\n\ndata: a\ndata: bc\n\n",
    );
    assert_eq!(
        outline(&t),
        [ok("a\nb"), Err(err(Limit::EventSize, 14, 25))]
    );

    let t = decode_all_splits_with(
        Limits::default().max_data_lines(2),
        b"data\ndata\n\ndata\ndata\ndata\n\n",
    );
    assert_eq!(outline(&t), [ok("\n"), Err(err(Limit::DataLines, 2, 21))]);

    // A zero line limit leaves only blank lines.
    let t = decode_all_splits_with(Limits::default().max_line_len(0), b"\n\ndata\n\n");
    assert_eq!(outline(&t), [Err(err(Limit::LineLength, 0, 2))]);
}

#[test]
fn event_size_counts_field_lines_not_comments() {
    let limits = Limits::default().max_event_len(10);
    let t = decode_all_splits_with(limits, b"data: 1234\n: a long comment line\n\n");
    assert_eq!(outline(&t), [ok("1234")]);
    // Unknown fields and `id` lines count.
    let t = decode_all_splits_with(limits, b"id: 1\nfoo\ndata\n\n");
    assert_eq!(outline(&t), [Err(err(Limit::EventSize, 10, 10))]);
}

#[test]
fn offset_counts_from_stream_start_bom_included() {
    let limits = Limits::default().max_line_len(4);
    let t = decode_all_splits_with(limits, b"\xEF\xBB\xBFdata: long\n\ndata\n\n");
    assert_eq!(outline(&t), [Err(err(Limit::LineLength, 4, 3)), ok("")]);
}

#[test]
fn repeated_errors_each_reported_once() {
    let limits = Limits::default().max_line_len(10);
    let input = b"data: 1\n\ndata: xxxxxxxxxx\n\ndata: 2\n\ndata: yyyyyyyyyyyyyyyyyy\ndata: z\n\ndata: 3\n\n";
    let t = decode_all_splits_with(limits, input);
    assert_eq!(
        outline(&t),
        [
            ok("1"),
            Err(err(Limit::LineLength, 10, 9)),
            ok("2"),
            Err(err(Limit::LineLength, 10, 36)),
            ok("3"),
        ]
    );
}

#[test]
fn dropped_event_keeps_its_retry_but_not_its_id() {
    let limits = Limits::default().max_data_lines(1);
    let t = decode_all_splits_with(
        limits,
        b"id: 5\nretry: 250\ndata: 1\ndata: 2\n\ndata: ok\n\n",
    );
    assert_eq!(t.retries(), [250]);
    assert_eq!(t.reconnection_time, Some(250));
    assert_eq!(t.events()[0].id, "");
}

// ---------------------------------------------------------------------------
// Bounded buffering

#[test]
fn huge_line_without_newline_keeps_buffer_bounded() {
    const LIMIT: usize = 64 * 1024;
    const CHUNK: usize = 4096;
    let limits = Limits::default().max_line_len(LIMIT);
    let mut decoder = EventDecoder::with_limits(limits);
    let mut buf = BytesMut::new();
    let mut errors = Vec::new();
    let mut max_buffered = 0;
    buf.extend_from_slice(b"data: ");
    let chunk = [b'x'; CHUNK];
    // 4 MiB of one line, sixty-four times the limit.
    for _ in 0..1024 {
        buf.extend_from_slice(&chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(None) => break,
                Ok(Some(event)) => panic!("unexpected event {event:?}"),
                Err(e) => errors.push(e),
            }
        }
        max_buffered = max_buffered.max(buf.len());
        assert!(
            buf.len() <= LIMIT + CHUNK,
            "{} bytes buffered, limit {LIMIT} + chunk {CHUNK}",
            buf.len()
        );
    }
    assert_eq!(
        errors,
        [err(Limit::LineLength, LIMIT, 0)],
        "one error, at the line start"
    );
    assert!(decoder.fields().is_discarding());
    buf.extend_from_slice(b"x\ndata: same event\n\ndata: ok\n\n");
    let event = decoder
        .decode(&mut buf)
        .unwrap()
        .expect("the next event arrives");
    assert_eq!(event.data(), "ok");
    assert!(!decoder.fields().is_discarding());
    println!("huge line: at most {max_buffered} bytes buffered (limit {LIMIT}, chunk {CHUNK})");
}

#[test]
fn huge_line_field_layer_consumes_what_it_discards() {
    let limits = Limits::default().max_line_len(100);
    let mut decoder = Decoder::with_limits(limits);
    let mut buf: Vec<u8> = Vec::new();
    let mut errors = 0;
    for i in 0..1000 {
        buf.extend_from_slice(if i == 0 {
            b": comment that never ends"
        } else {
            b"0123456789"
        });
        loop {
            let step = decoder.decode(&buf);
            let consumed = step.consumed;
            let done = match step.status {
                Ok(Step::NeedMore) => true,
                Ok(Step::Field(f)) => panic!("unexpected field {f:?}"),
                Err(e) => {
                    assert_eq!(e, err(Limit::LineLength, 100, 0));
                    errors += 1;
                    false
                }
            };
            buf.drain(..consumed);
            if done {
                break;
            }
        }
        assert!(buf.len() <= 100 + 25, "{} bytes buffered", buf.len());
    }
    assert_eq!(errors, 1);
    assert!(decoder.is_discarding());
    assert_eq!(decoder.position(), 25 + 999 * 10);
    // A comment outside an event: once it ends, decoding resumes at once.
    let step = decoder.decode(b"\ndata: next\n");
    assert_eq!(step.status, Ok(Step::Field(ssekit::Field::Data(b"next"))));
}

#[test]
fn overlong_comment_between_events_skips_only_itself() {
    let limits = Limits::default().max_line_len(16);
    let long = format!(": {}\n", "c".repeat(100));
    let input = format!("data: a\n\n{long}data: b\n\n");
    let t = decode_all_splits_with(limits, input.as_bytes());
    assert_eq!(
        outline(&t),
        [ok("a"), Err(err(Limit::LineLength, 16, 9)), ok("b")]
    );
    // Inside an event it drops that event, like any over-long line.
    let input = format!("data: a\n{long}data: b\n\ndata: c\n\n");
    let t = decode_all_splits_with(limits, input.as_bytes());
    assert_eq!(outline(&t), [Err(err(Limit::LineLength, 16, 8)), ok("c")]);
}

#[test]
fn recovery_across_many_random_chunkings() {
    let limits = Limits::default()
        .max_line_len(32)
        .max_event_len(64)
        .max_data_lines(3);
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for i in 0..200 {
        match i % 4 {
            0 => input.extend_from_slice(format!("data: {}\n\n", "l".repeat(40)).as_bytes()),
            1 => input.extend_from_slice(b"data: a\ndata: b\ndata: c\ndata: d\n\n"),
            2 => {
                let line = format!("data: {}\n", "e".repeat(25));
                input.extend_from_slice((line.repeat(3) + "\n").as_bytes());
            }
            _ => {}
        }
        let good = format!("good {i}");
        input.extend_from_slice(format!("data: {good}\n\n").as_bytes());
        expected.push(good);
    }
    let whole = decode_chunks(limits, [&input[..]]).0;
    assert_eq!(whole.data(), expected);
    assert_eq!(whole.errors().count(), 150);
    let mut rng = common::XorShift::new(7);
    for round in 0..64 {
        let splits = if round == 0 {
            fixed_splits(input.len(), 1)
        } else {
            rng.splits(input.len(), [3, 17, 100, 1500][round % 4])
        };
        let (t, stats) = decode_chunks(limits, chunks_at(&input, &splits));
        assert!(
            t == whole,
            "round {round}:\n{}",
            common::diff_transcripts(&whole, &t)
        );
        assert!(stats.max_idle <= 32, "{} bytes kept", stats.max_idle);
    }
}

// ---------------------------------------------------------------------------
// Defaults and the opt-out

#[test]
fn default_limits_reject_a_line_over_2_mib() {
    let max = Limits::default().get_max_line_len();
    assert_eq!(max, 2 * 1024 * 1024);
    let fits = format!("data: {}\n\n", "a".repeat(max - 6));
    let t = decode_chunks(Limits::default(), fits.as_bytes().chunks(64 * 1024)).0;
    assert_eq!(t.events()[0].data().len(), max - 6);
    let over = format!("data: {}\n\ndata: next\n\n", "a".repeat(max - 5));
    let t = decode_chunks(Limits::default(), over.as_bytes().chunks(64 * 1024)).0;
    assert_eq!(
        outline(&t),
        [Err(err(Limit::LineLength, max, 0)), ok("next")]
    );
}

#[test]
fn unbounded_limits_accept_what_defaults_reject() {
    let limits = Limits::unbounded();
    let line = 3 * 1024 * 1024;
    let input = format!("data: {}\n\n", "a".repeat(line));
    let (t, stats) = decode_chunks(limits, input.as_bytes().chunks(64 * 1024));
    assert!(t.errors().next().is_none());
    assert_eq!(t.events()[0].data().len(), line);
    assert!(stats.max_idle >= line, "the whole line was buffered");

    let lines = Limits::default().get_max_data_lines() + 10;
    let input = "data: x\n".repeat(lines) + "\n";
    let t = decode_chunks(limits, [input.as_bytes()]).0;
    assert!(t.errors().next().is_none());
    assert_eq!(t.events()[0].lines.len(), lines);
    let t = decode_chunks(Limits::default(), [input.as_bytes()]).0;
    assert_eq!(t.errors().next().unwrap().limit(), Limit::DataLines);
}

#[test]
fn decode_error_is_a_std_error_with_limit_names() {
    let e: Box<dyn core::error::Error + Send + Sync> = Box::new(err(Limit::EventSize, 1, 2));
    assert_eq!(
        e.to_string(),
        "event larger than max_event_len (1 bytes) at byte offset 2"
    );
    assert_eq!(Limit::LineLength.name(), "max_line_len");
    assert_eq!(Limit::EventSize.name(), "max_event_len");
    assert_eq!(Limit::DataLines.name(), "max_data_lines");
    assert_eq!(Limit::DataLines.to_string(), "max_data_lines");
}

// ---------------------------------------------------------------------------
// End of stream inside a dropped event

#[test]
fn end_of_stream_inside_a_dropped_event_is_truncated() {
    // `EndOfStream::Truncated` is documented as "the stream ended inside a
    // line or inside an event (field lines with no blank line after them)".
    // An event dropped for a limit and never closed by a blank line is such
    // an event.
    let limits = Limits::default().max_data_lines(1);
    for input in [&b"data: 1\ndata: 2\n"[..], b"data: 1\ndata: 2\ndata: 3\n"] {
        let t = decode_all_splits_with(limits, input);
        assert_eq!(t.end, EndOfStream::Truncated, "input {input:?}");
    }
    // The field layer says the same.
    let (_, end) = common::fields_chunked(limits, [&b"data: 1\ndata: 2\n"[..]]);
    assert_eq!(end, EndOfStream::Truncated);
    // Already truncated today: the line itself is cut.
    let t = decode_all_splits_with(limits, b"data: 1\ndata: 2\ndata: 3");
    assert_eq!(t.end, EndOfStream::Truncated);
}
