//! The `stream` adapter: `SseStreamExt::sse_events` over streams of byte
//! chunks.
#![cfg(feature = "stream")]

mod adapters_common;

use core::convert::Infallible;
use core::fmt;
use core::time::Duration;
use std::io::Cursor;

use adapters_common::{expected_of, random_pieces, sample, Expected, Rng};
use bytes::{Buf, Bytes};
use futures::executor::block_on;
use futures::stream::{self, Stream, StreamExt};
use ssekit::adapters::stream::{Error, EventStream, SseStreamExt};
use ssekit::{EndOfStream, Event, Limit, Limits};

fn chunks(bytes: &[u8], pieces: &[(usize, usize)]) -> Vec<Result<Bytes, Infallible>> {
    let all = Bytes::copy_from_slice(bytes);
    pieces.iter().map(|&(a, b)| Ok(all.slice(a..b))).collect()
}

fn from_static(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, Infallible>> + Unpin {
    stream::iter(
        parts
            .iter()
            .map(|p| Ok(Bytes::from_static(p)))
            .collect::<Vec<_>>(),
    )
}

/// Drains an event stream, failing on any error.
fn collect_ok<S, B>(events: &mut EventStream<S>) -> Vec<Event>
where
    S: Stream<Item = Result<B, Infallible>> + Unpin,
    B: Buf,
{
    block_on(async {
        let mut out = Vec::new();
        while let Some(item) = events.next().await {
            out.push(item.expect("no error in this stream"));
        }
        out
    })
}

#[test]
fn random_bytes_chunks_decode_exactly() {
    for seed in 0..64 {
        let mut rng = Rng::new(seed);
        let sample = sample(&mut rng, 30);
        let max = 1 + rng.below(40);
        let pieces = random_pieces(&mut rng, sample.bytes.len(), max);
        let mut events = stream::iter(chunks(&sample.bytes, &pieces)).sse_events();
        let got = collect_ok(&mut events);
        assert_eq!(expected_of(&got), sample.events, "seed {seed}");
        assert_eq!(
            events.last_event_id(),
            sample.last_event_id.as_bytes(),
            "seed {seed}"
        );
        assert_eq!(
            events.reconnection_time(),
            sample.retry.map(Duration::from_millis),
            "seed {seed}"
        );
        assert_eq!(
            events.end_of_stream(),
            Some(EndOfStream::Clean),
            "seed {seed}"
        );
    }
}

#[test]
fn every_fixed_chunk_size_decodes_exactly() {
    let mut rng = Rng::new(99);
    let sample = sample(&mut rng, 12);
    for size in 1..=sample.bytes.len() {
        let pieces: Vec<_> = (0..sample.bytes.len())
            .step_by(size)
            .map(|a| (a, (a + size).min(sample.bytes.len())))
            .collect();
        let got = collect_ok(&mut stream::iter(chunks(&sample.bytes, &pieces)).sse_events());
        assert_eq!(expected_of(&got), sample.events, "chunk size {size}");
    }
}

#[test]
fn other_buf_types_are_decoded_too() {
    let mut rng = Rng::new(7);
    let sample = sample(&mut rng, 20);
    let pieces = random_pieces(&mut rng, sample.bytes.len(), 9);

    let slices: Vec<Result<&[u8], Infallible>> = pieces
        .iter()
        .map(|&(a, b)| Ok(&sample.bytes[a..b]))
        .collect();
    let got = collect_ok(&mut stream::iter(slices).sse_events());
    assert_eq!(expected_of(&got), sample.events);

    let cursors: Vec<Result<Cursor<Vec<u8>>, Infallible>> = pieces
        .iter()
        .map(|&(a, b)| Ok(Cursor::new(sample.bytes[a..b].to_vec())))
        .collect();
    let got = collect_ok(&mut stream::iter(cursors).sse_events());
    assert_eq!(expected_of(&got), sample.events);
}

fn within(inner: &[u8], outer: &[u8]) -> bool {
    let (start, end) = (
        outer.as_ptr() as usize,
        outer.as_ptr() as usize + outer.len(),
    );
    let p = inner.as_ptr() as usize;
    p >= start && p + inner.len() <= end
}

#[test]
fn bytes_chunks_are_not_copied_even_after_a_split_line() {
    let first = Bytes::from_static(b"data: one\n\ndata: tw");
    // Over 256 bytes, so that the rest of it after the split line is sliced
    // (a smaller chunk that continues a split line is copied whole).
    let second = Bytes::from(
        [
            &b"o\n\n: "[..],
            &[b'.'; 300],
            // A type too long to be held inline, so it too is a slice.
            b"\nevent: a-type-name-longer-than-the-inline-limit\ndata: three\n\ndata: fo",
        ]
        .concat(),
    );
    let third = Bytes::from_static(b"ur\n\n");
    let body = stream::iter([first.clone(), second.clone(), third].map(Ok::<_, Infallible>));
    let got = collect_ok(&mut body.sse_events());
    assert_eq!(
        got.iter().map(|e| e.data()).collect::<Vec<_>>(),
        ["one", "two", "three", "four"]
    );
    assert!(
        within(&got[0].data_lines()[0], &first),
        "whole in one chunk"
    );
    assert!(
        !within(&got[1].data_lines()[0], &second),
        "split line is copied"
    );
    assert!(
        within(&got[2].data_lines()[0], &second),
        "the rest of the chunk after a split line is sliced, not copied"
    );
    assert!(within(got[2].event_type(), &second));
}

#[test]
fn cr_at_chunk_end_dispatches_without_waiting_for_more() {
    // The byte stream stays open after `\r`: the event must still arrive.
    let body = from_static(&[b"data: x\r", b"\r"]).chain(stream::pending());
    let mut events = body.sse_events();
    let event = block_on(events.next()).unwrap().unwrap();
    assert_eq!(event.data(), "x");
}

#[test]
fn every_event_of_a_chunk_arrives_without_waiting_for_more() {
    use futures::FutureExt;

    let body = from_static(&[
        b"data: 1\n\ndata: 2\n\ndata: th",
        b"ree\n\ndata: 4\n\ndata: 5\n\n",
    ])
    .chain(stream::pending());
    let mut events = body.sse_events();
    for want in ["1", "2", "three", "4", "5"] {
        let event = events
            .next()
            .now_or_never()
            .expect("ready without more input");
        assert_eq!(event.unwrap().unwrap().data(), want);
    }
    assert!(events.next().now_or_never().is_none(), "then it waits");
}

#[test]
fn cr_and_lf_in_separate_chunks_are_one_line_ending() {
    let body = from_static(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
    let got = collect_ok(&mut body.sse_events());
    assert_eq!(expected_of(&got).len(), 1);
    assert_eq!(got[0].data(), "a\nb");
}

#[derive(Debug, PartialEq)]
struct TransportError(u32);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transport error {}", self.0)
    }
}

impl core::error::Error for TransportError {}

#[test]
fn transport_errors_pass_through_typed_and_the_stream_goes_on() {
    let body = stream::iter([
        Ok(Bytes::from_static(b"data: 1\n")),
        Err(TransportError(7)),
        Ok(Bytes::from_static(b"\ndata: 2\n\n")),
    ]);
    let items: Vec<_> = block_on(body.sse_events().collect());
    assert_eq!(items.len(), 3);
    match &items[0] {
        Err(Error::Transport(TransportError(7))) => {}
        other => panic!("expected the transport error first, got {other:?}"),
    }
    let err = items[0].as_ref().unwrap_err();
    assert_eq!(err.as_transport(), Some(&TransportError(7)));
    let source = core::error::Error::source(err).expect("a source");
    assert_eq!(source.to_string(), "transport error 7");
    assert_eq!(items[1].as_ref().unwrap().data(), "1");
    assert_eq!(items[2].as_ref().unwrap().data(), "2");
}

#[test]
fn stream_goes_on_after_an_over_limit_event() {
    let input: &[u8] =
        b"data: ok 1\n\ndata: this line is much too long\ndata: more\n\ndata: ok 2\n\ndata: ok 3\n\n";
    for max in [1, 3, 7, 64] {
        let mut rng = Rng::new(max as u64);
        let pieces = random_pieces(&mut rng, input.len(), max);
        let limits = Limits::default().max_line_len(16);
        let items: Vec<_> = block_on(
            stream::iter(chunks(input, &pieces))
                .sse_events_with_limits(limits)
                .collect(),
        );
        let shape: Vec<Result<String, Limit>> = items
            .into_iter()
            .map(|item| match item {
                Ok(event) => Ok(event.data_lossy().into_owned()),
                Err(Error::Decode(err)) => Err(err.limit()),
                Err(other) => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            shape,
            [
                Ok("ok 1".to_string()),
                Err(Limit::LineLength),
                Ok("ok 2".to_string()),
                Ok("ok 3".to_string())
            ],
            "pieces of up to {max} bytes"
        );
    }
}

#[test]
fn data_line_limit_drops_only_its_event() {
    let body = from_static(&[b"data: 1\ndata: 2\ndata: 3\n\ndata: next\n\n"]);
    let items: Vec<_> = block_on(
        body.sse_events_with_limits(Limits::default().max_data_lines(2))
            .collect(),
    );
    assert_eq!(items.len(), 2);
    let err = items[0].as_ref().unwrap_err();
    assert_eq!(err.as_decode().map(|e| e.limit()), Some(Limit::DataLines));
    assert_eq!(
        err.to_string(),
        "event dropped: over the max_data_lines limit"
    );
    assert_eq!(items[1].as_ref().unwrap().data(), "next");
}

#[test]
fn clean_end_of_stream() {
    let mut events = from_static(&[b"data: 1\n\n: bye\n"]).sse_events();
    let got = collect_ok(&mut events);
    assert_eq!(got.len(), 1);
    assert_eq!(events.end_of_stream(), Some(EndOfStream::Clean));
}

#[test]
fn truncated_end_of_stream_is_reported_not_dispatched() {
    // Cut inside a line, and cut after a complete field line.
    for tail in [&b"data: {\"text\":\"cut"[..], b"data: complete line\n"] {
        let mut events = from_static(&[b"data: 1\n\n", tail]).sse_events();
        let got = collect_ok(&mut events);
        assert_eq!(expected_of(&got).len(), 1, "the cut event is dropped");
        assert_eq!(events.end_of_stream(), Some(EndOfStream::Truncated));
    }
}

#[test]
fn truncation_can_be_an_error_item() {
    let body = from_static(&[b"data: 1\n\ndata: par"]);
    let mut events = body.sse_events().error_on_truncation();
    let items: Vec<_> = block_on((&mut events).collect());
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().data(), "1");
    assert!(matches!(items[1], Err(Error::Truncated)));
    assert_eq!(
        items[1].as_ref().unwrap_err().to_string(),
        "the event stream ended in the middle of an event"
    );
    // Ended for good.
    assert!(block_on(events.next()).is_none());
    assert!(futures::stream::FusedStream::is_terminated(&events));

    // A clean end yields no error even when asked.
    let body = from_static(&[b"data: 1\n\n"]);
    let items: Vec<_> = block_on(body.sse_events().error_on_truncation().collect());
    assert_eq!(items.len(), 1);
    assert!(items[0].is_ok());
}

#[test]
fn last_event_id_is_updated_by_a_block_without_data() {
    let mut events = from_static(&[b"id: 1\ndata: a\n\nid: 2\nretry: 1500\n\n"]).sse_events();
    let got = collect_ok(&mut events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id(), b"1");
    assert_eq!(events.last_event_id(), b"2");
    assert_eq!(
        events.reconnection_time(),
        Some(Duration::from_millis(1500))
    );
}

#[test]
fn eventsource_alias_is_a_drop_in() {
    // The shape of code written for `eventsource-stream`.
    let body = stream::iter([Ok::<_, TransportError>(Bytes::from_static(
        b"event: my-event\r\ndata:line1\ndata: line2\n:\nid: my-id\n:ignored\rretry:42\n\ndata:second\n\n",
    ))]);
    let events: Vec<_> = block_on(body.eventsource().collect());
    let first = events[0].as_ref().unwrap();
    assert_eq!(first.event_type(), b"my-event");
    assert_eq!(first.data(), "line1\nline2");
    assert_eq!(first.id(), b"my-id");
    assert_eq!(first.retry(), Some(42));
    let second = events[1].as_ref().unwrap();
    assert_eq!(Expected::of(second).event_type, "message");
    assert_eq!(second.data(), "second");
    assert_eq!(events.len(), 2);
}

/// `(id, data)` of each event, as text.
fn ids_and_data(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e.id_lossy().into_owned(), e.data_lossy().into_owned()))
        .collect()
}

/// A body that yields `parts`, then a transport error, then nothing ever
/// again: a connection that broke, which the client gives up on.
fn broken_body(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, &'static str>> + Unpin {
    let parts: Vec<_> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
    stream::iter(parts)
        .chain(stream::iter([Err("connection reset")]))
        .chain(stream::pending())
}

/// Reads events until the transport error.
fn until_broken<S>(events: &mut EventStream<S>) -> Vec<Event>
where
    S: Stream<Item = Result<Bytes, &'static str>> + Unpin,
{
    block_on(async {
        let mut out = Vec::new();
        loop {
            match events.next().await {
                Some(Ok(event)) => out.push(event),
                Some(Err(Error::Transport(_))) => return out,
                other => panic!("unexpected {other:?}"),
            }
        }
    })
}

#[test]
fn resume_after_a_cut_mid_chunk_gives_every_event_once_and_whole() {
    // The connection breaks inside event 3, after a whole data line, in
    // the chunk that held the end of event 2.
    let first = broken_body(&[
        b"id: 1\ndata: a\n\nid: 2\nda",
        b"ta: b\n\nid: 3\ndata: par\n",
    ]);
    let mut events = first.sse_events();
    let mut seen = until_broken(&mut events);
    assert_eq!(events.last_event_id(), b"2");
    // The server replays after event 2.
    let mut events = events.resume(broken_body(&[b"id: 3\ndata: c\n\n"]));
    seen.extend(until_broken(&mut events));
    let want = [("1", "a"), ("2", "b"), ("3", "c")].map(|(i, d)| (i.to_owned(), d.to_owned()));
    assert_eq!(ids_and_data(&seen), want);
}

#[test]
fn a_clone_of_the_decoder_starts_a_new_stream_too() {
    let mut events = broken_body(&[b"id: 1\ndata: a\n\ndata: par\n"]).sse_events();
    let seen = until_broken(&mut events);
    assert_eq!(ids_and_data(&seen), [("1".to_owned(), "a".to_owned())]);
    // Starting the next body with a clone of the decoder drops the half
    // event the clone holds, instead of joining it to the new data.
    let decoder = events.decoder().clone();
    let mut next = EventStream::with_decoder(broken_body(&[b"data: b\n\n"]), decoder);
    let seen = until_broken(&mut next);
    assert_eq!(ids_and_data(&seen), [("1".to_owned(), "b".to_owned())]);
}

#[test]
fn items_stream_yields_comments_and_retry_in_order_across_splits() {
    let input: &[u8] = b": hb\n\nretry: 1500\nid: 1\ndata: a\n\n: second\n\ndata: b\n\n";
    let mut rng = Rng::new(7);
    for _ in 0..200 {
        let pieces = random_pieces(&mut rng, input.len(), 8);
        let items: Vec<_> = block_on(
            stream::iter(chunks(input, &pieces))
                .sse_items()
                .map(|item| item.expect("no error"))
                .collect(),
        );
        let kinds: Vec<String> = items
            .iter()
            .map(|item| match item {
                ssekit::Item::Event(e) => format!("event {}", e.data_lossy()),
                ssekit::Item::Comment(c) => format!("comment {}", String::from_utf8_lossy(c)),
                ssekit::Item::Retry(ms) => format!("retry {ms}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "comment  hb",
                "retry 1500",
                "event a",
                "comment  second",
                "event b"
            ],
            "pieces {pieces:?}"
        );
    }
}
