//! The `tokio-util` adapter: `SseCodec` and `RecoveringSseCodec` under
//! `FramedRead` and `FramedWrite`.
#![cfg(feature = "tokio-util")]

mod adapters_common;

use core::error::Error as _;
use core::time::Duration;
use std::io;

use adapters_common::{expected_of, pieces_splitting_crlf, sample, Rng};
use futures::StreamExt;
use ssekit::adapters::tokio::{Error, RecoveringSseCodec, SseCodec};
use ssekit::{EndOfStream, Event, Limit, Limits};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep, timeout};
use tokio_util::codec::FramedRead;

/// Upper bound for any one test's network or pipe activity.
const DEADLINE: Duration = Duration::from_secs(20);

/// Writes `bytes` in the given pieces, pausing a few milliseconds now and
/// then, and shuts the writer down.
async fn write_pieces<W: AsyncWrite + Unpin>(
    mut out: W,
    bytes: &[u8],
    pieces: &[(usize, usize)],
    rng: &mut Rng,
) -> io::Result<()> {
    for &(a, b) in pieces {
        out.write_all(&bytes[a..b]).await?;
        out.flush().await?;
        if rng.one_in(4) {
            sleep(Duration::from_millis(rng.below(3) as u64)).await;
        }
    }
    out.shutdown().await
}

async fn tcp_round(seed: u64) {
    let mut rng = Rng::new(seed);
    let sample = sample(&mut rng, 40);
    let max = 1 + rng.below(64);
    let pieces = pieces_splitting_crlf(&mut rng, &sample.bytes, max);

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bytes = sample.bytes.clone();
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await?;
        socket.set_nodelay(true)?;
        write_pieces(socket, &bytes, &pieces, &mut rng).await
    });

    let client = TcpStream::connect(addr).await.unwrap();
    let mut events = FramedRead::new(client, SseCodec::new());
    let mut got = Vec::new();
    while let Some(event) = events.next().await {
        got.push(event.unwrap());
    }
    server.await.unwrap().unwrap();

    assert_eq!(expected_of(&got), sample.events, "seed {seed}");
    let codec = events.decoder();
    assert_eq!(
        codec.end_of_stream(),
        Some(EndOfStream::Clean),
        "seed {seed}"
    );
    assert_eq!(codec.last_event_id(), sample.last_event_id.as_bytes());
    assert_eq!(
        codec.reconnection_time(),
        sample.retry.map(Duration::from_millis)
    );
}

#[tokio::test]
async fn tcp_random_writes_decode_exactly() {
    timeout(DEADLINE, async {
        for seed in 0..12 {
            tcp_round(seed).await;
        }
    })
    .await
    .expect("the TCP rounds finish in time");
}

#[tokio::test]
async fn cr_at_the_end_of_a_write_dispatches_without_waiting() {
    let (client, mut server) = tokio::io::duplex(64);
    server.write_all(b"data: x\r\r").await.unwrap();
    // The writer stays open: the event must not wait for the next byte.
    let mut events = FramedRead::new(client, SseCodec::new());
    let event = timeout(DEADLINE, events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(event.data(), "x");
    // The LF of a CRLF may follow in a later write.
    server.write_all(b"\ndata: y\r").await.unwrap();
    server.write_all(b"\n\r\n").await.unwrap();
    drop(server);
    let rest: Vec<Event> = events.map(|e| e.unwrap()).collect().await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].data(), "y");
}

#[tokio::test]
async fn every_event_of_one_write_arrives_without_waiting_for_more() {
    let (client, mut server) = tokio::io::duplex(256);
    server
        .write_all(b"data: 1\n\ndata: 2\r\n\r\ndata: 3\r\rdata: 4")
        .await
        .unwrap();
    let mut events = FramedRead::new(client, SseCodec::new());
    for want in ["1", "2", "3"] {
        let event = timeout(DEADLINE, events.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(event.data(), want);
    }
    server.write_all(b"\n\n").await.unwrap();
    let event = timeout(DEADLINE, events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(event.data(), "4");
}

#[tokio::test]
async fn unterminated_event_at_eof_is_dropped_without_error() {
    let input: &[u8] = b"data: 1\n\nid: 9\ndata: cut";
    let mut events = FramedRead::new(input, SseCodec::new());
    assert_eq!(events.next().await.unwrap().unwrap().data(), "1");
    assert!(events.next().await.is_none(), "no error, no event");
    assert_eq!(
        events.decoder().end_of_stream(),
        Some(EndOfStream::Truncated)
    );
    assert_eq!(
        events.decoder().last_event_id(),
        b"",
        "the cut event's id is dropped"
    );
}

#[tokio::test]
async fn clean_eof_is_reported() {
    let input: &[u8] = b"data: 1\n\n: trailing comment\n";
    let mut events = FramedRead::new(input, SseCodec::new());
    assert_eq!(events.decoder().end_of_stream(), None);
    assert!(events.next().await.unwrap().is_ok());
    assert!(events.next().await.is_none());
    assert_eq!(events.decoder().end_of_stream(), Some(EndOfStream::Clean));
}

const OVER_LIMIT: &[u8] =
    b"data: ok 1\n\ndata: this line is far too long\ndata: x\n\ndata: ok 2\n\ndata: ok 3\n\n";

#[tokio::test]
async fn sse_codec_limit_error_ends_framed_read() {
    // Documented behaviour: `FramedRead` ends after any decoder error.
    let codec = SseCodec::with_limits(Limits::default().max_line_len(16));
    let mut events = FramedRead::new(OVER_LIMIT, codec);
    assert_eq!(events.next().await.unwrap().unwrap().data(), "ok 1");
    let err = events.next().await.unwrap().unwrap_err();
    assert_eq!(err.as_decode().map(|e| e.limit()), Some(Limit::LineLength));
    assert_eq!(
        err.to_string(),
        "event dropped: over the max_line_len limit"
    );
    assert!(err
        .source()
        .unwrap()
        .to_string()
        .contains("max_line_len (16 bytes)"));
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn recovering_codec_keeps_reading_after_an_over_limit_event() {
    let mut rng = Rng::new(5);
    for max in [1, 2, 5, 13, 200] {
        let (client, server) = tokio::io::duplex(16);
        let pieces = adapters_common::random_pieces(&mut rng, OVER_LIMIT.len(), max);
        let mut writer_rng = Rng::new(max as u64);
        let writer = tokio::spawn(async move {
            write_pieces(server, OVER_LIMIT, &pieces, &mut writer_rng).await
        });
        let codec = RecoveringSseCodec::with_limits(Limits::default().max_line_len(16));
        let items: Vec<_> = timeout(DEADLINE, FramedRead::new(client, codec).collect())
            .await
            .unwrap();
        writer.await.unwrap().unwrap();
        let shape: Vec<Result<String, Limit>> = items
            .into_iter()
            .map(|item| match item.unwrap() {
                Ok(event) => Ok(event.data_lossy().into_owned()),
                Err(err) => Err(err.limit()),
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
            "writes of up to {max} bytes"
        );
    }
}

#[tokio::test]
async fn recovering_keeps_the_codec_state() {
    let mut codec = SseCodec::new();
    let mut buf = bytes::BytesMut::from(&b"id: 4\nretry: 10\ndata: a\n\n"[..]);
    let _ = tokio_util::codec::Decoder::decode(&mut codec, &mut buf).unwrap();
    let recovering = codec.recovering();
    assert_eq!(recovering.last_event_id(), b"4");
    assert_eq!(
        recovering.reconnection_time(),
        Some(Duration::from_millis(10))
    );
}

#[test]
fn io_errors_convert_and_expose_their_source() {
    let err: Error = io::Error::new(io::ErrorKind::UnexpectedEof, "peer went away").into();
    assert!(err.as_io().is_some());
    assert!(err.as_decode().is_none());
    assert_eq!(err.to_string(), "I/O error on the event stream");
    assert_eq!(err.source().unwrap().to_string(), "peer went away");
}

#[tokio::test]
async fn one_pre_encoded_frame_goes_to_many_writers() {
    use futures::SinkExt;
    use tokio_util::codec::FramedWrite;

    let event = Event::builder()
        .event_type("news")
        .id("n-1")
        .data("line 1\nline 2")
        .build()
        .unwrap();
    let frame = event.to_bytes();
    let mut readers = Vec::new();
    for _ in 0..3 {
        let (reader, writer) = tokio::io::duplex(256);
        let mut out = FramedWrite::new(writer, SseCodec::new());
        out.send(frame.clone()).await.unwrap();
        out.send(&event).await.unwrap();
        SinkExt::<Event>::close(&mut out).await.unwrap();
        readers.push(reader);
    }
    for reader in readers {
        let got: Vec<Event> = timeout(
            DEADLINE,
            FramedRead::new(reader, SseCodec::new()).collect::<Vec<_>>(),
        )
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
        assert_eq!(got, [event.clone(), event.clone()]);
    }
}

mod round_trip {
    use super::*;
    use futures::SinkExt;
    use proptest::prelude::*;
    use tokio_util::codec::FramedWrite;

    /// An event as the builder takes it: any data (CR, LF and CRLF become
    /// line breaks), a type without line breaks, an ID without line breaks
    /// or NUL, maybe a reconnection time.
    fn event() -> impl Strategy<Value = Event> {
        (
            "[a-z]{0,6}",
            prop_oneof![Just(String::new()), "[a-z0-9-]{1,6}"],
            proptest::option::of(any::<u64>()),
            "(\\PC|\r|\n| ){0,40}",
        )
            .prop_map(|(event_type, id, retry, data)| {
                let mut builder = Event::builder().event_type(event_type).id(id).data(data);
                if let Some(ms) = retry {
                    builder = builder.retry(ms);
                }
                builder.build().expect("the strategy makes valid values")
            })
    }

    /// How an event is handed to `FramedWrite`.
    #[derive(Debug, Clone, Copy)]
    enum Send {
        Owned,
        Borrowed,
        PreEncoded,
    }

    fn send() -> impl Strategy<Value = Send> {
        prop_oneof![
            Just(Send::Owned),
            Just(Send::Borrowed),
            Just(Send::PreEncoded)
        ]
    }

    async fn round_trip(events: Vec<(Event, Send)>, pipe: usize) -> Vec<Event> {
        let (reader, writer) = tokio::io::duplex(pipe);
        let to_send = events.clone();
        let writing = tokio::spawn(async move {
            let mut out = FramedWrite::new(writer, SseCodec::new());
            for (event, how) in to_send {
                match how {
                    Send::Owned => out.send(event).await?,
                    Send::Borrowed => out.send(&event).await?,
                    Send::PreEncoded => out.send(event.to_bytes()).await?,
                }
            }
            SinkExt::<Event>::close(&mut out).await
        });
        let mut read = FramedRead::new(reader, SseCodec::new());
        let mut got = Vec::new();
        while let Some(event) = read.next().await {
            got.push(event.expect("a valid stream"));
        }
        writing
            .await
            .expect("the writer task")
            .expect("writing succeeds");
        assert_eq!(read.decoder().end_of_stream(), Some(EndOfStream::Clean));
        got
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn framed_write_then_framed_read_gives_the_events_back(
            events in proptest::collection::vec((event(), send()), 0..12),
            pipe in 1usize..64,
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            let got = runtime
                .block_on(async { timeout(DEADLINE, round_trip(events.clone(), pipe)).await })
                .expect("the round trip finishes in time");
            prop_assert_eq!(got.len(), events.len(), "one event out per event in");
            let mut last_id = bytes::Bytes::new();
            for (n, ((sent, _), got)) in events.iter().zip(&got).enumerate() {
                if !sent.id().is_empty() {
                    last_id = bytes::Bytes::copy_from_slice(sent.id());
                }
                prop_assert_eq!(got.event_type(), sent.event_type(), "type of event {}", n);
                prop_assert_eq!(got.data(), sent.data(), "data of event {}", n);
                prop_assert_eq!(got.retry(), sent.retry(), "retry of event {}", n);
                prop_assert_eq!(got.id(), &last_id, "an empty ID keeps the last one, event {}", n);
            }
        }
    }
}
