//! The body and the channel on tokio's paused clock: heartbeats, shutdown,
//! backpressure and the client leaving, with no network.

use core::convert::Infallible;
use core::pin::Pin;
use core::time::Duration;
use std::boxed::Box;
use std::string::String;

use bytes::Bytes;
use futures::channel::mpsc as fmpsc;
use futures::{stream, SinkExt};
use http_body::Body;
use http_body_util::BodyExt;
use ssekit_codec::{Event, EventRef, Heartbeat, KEEP_ALIVE_FRAME};
use tokio::time::{advance, timeout, Instant};
use tokio_util::sync::CancellationToken;

use super::{channel, IntoFrame, SendError, SseBody, TrySendError};

type PinnedBody<S> = Pin<Box<SseBody<S>>>;

/// The next data frame, or `None` at the end; panics on an error frame.
async fn next<S>(body: &mut PinnedBody<S>) -> Option<Bytes>
where
    S: futures::Stream,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: core::fmt::Debug,
{
    let frame = body.frame().await?;
    Some(
        frame
            .expect("no error frame")
            .into_data()
            .expect("a data frame"),
    )
}

/// Whether a frame is ready within `within` of (paused) time.
async fn frame_within<S>(body: &mut PinnedBody<S>, within: Duration) -> Option<Option<Bytes>>
where
    S: futures::Stream,
    S::Item: IntoFrame,
    <S::Item as IntoFrame>::Error: core::fmt::Debug,
{
    timeout(within, next(body)).await.ok()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn silent() -> stream::Pending<Event> {
    stream::pending()
}

#[tokio::test(start_paused = true)]
async fn heartbeat_after_each_interval_of_silence() {
    let mut body = Box::pin(SseBody::new(silent()));
    let start = Instant::now();
    assert_eq!(
        frame_within(&mut body, secs(14)).await,
        None,
        "nothing before 15 s"
    );
    let frame = next(&mut body).await.unwrap();
    assert_eq!(frame, KEEP_ALIVE_FRAME);
    assert_eq!(start.elapsed(), secs(15));
    let frame = next(&mut body).await.unwrap();
    assert_eq!(frame, KEEP_ALIVE_FRAME);
    assert_eq!(
        start.elapsed(),
        secs(30),
        "the second one interval after the first"
    );
}

#[tokio::test(start_paused = true)]
async fn an_event_pushes_the_next_heartbeat_back() {
    let (mut tx, rx) = fmpsc::channel::<Event>(4);
    let mut body = Box::pin(SseBody::new(rx).keep_alive(secs(10)));
    let start = Instant::now();
    assert_eq!(frame_within(&mut body, secs(6)).await, None);
    tx.send(Event::new("hi")).await.unwrap();
    assert_eq!(next(&mut body).await.unwrap(), "data: hi\n\n");
    assert_eq!(start.elapsed(), secs(6));
    // The timer armed for 10 s fires, finds the event, and waits for 16 s.
    assert_eq!(
        frame_within(&mut body, secs(9)).await,
        None,
        "nothing at 10 s"
    );
    let heartbeat = next(&mut body).await.unwrap();
    assert_eq!(heartbeat, KEEP_ALIVE_FRAME);
    assert_eq!(start.elapsed(), secs(16), "ten seconds after the event");
}

#[tokio::test(start_paused = true)]
async fn a_steady_flow_of_events_has_no_heartbeats() {
    let (mut tx, rx) = fmpsc::channel::<Event>(4);
    let mut body = Box::pin(SseBody::new(rx).keep_alive(secs(2)));
    for n in 0..20 {
        advance(Duration::from_millis(1500)).await;
        tx.send(Event::new(n.to_string())).await.unwrap();
        let frame = next(&mut body).await.unwrap();
        assert_eq!(
            frame,
            format!("data: {n}\n\n"),
            "event {n}, not a heartbeat"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn custom_heartbeat_frame_with_padding() {
    let body = SseBody::new(silent())
        .keep_alive(secs(1))
        .heartbeat(Heartbeat::new(" ping").pad_to(32))
        .unwrap();
    let mut body = Box::pin(body);
    let frame = next(&mut body).await.unwrap();
    assert_eq!(frame.len(), 32);
    assert!(frame.starts_with(b": ping "), "{frame:?}");
    assert!(frame.ends_with(b" \n\n"), "{frame:?}");
}

#[test]
fn an_invalid_heartbeat_comment_is_an_error() {
    let err = SseBody::new(silent())
        .heartbeat(Heartbeat::new(" a\ndata: injected"))
        .unwrap_err();
    assert!(err.to_string().contains("LF"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn zero_interval_sends_no_heartbeats() {
    let mut body = Box::pin(SseBody::new(silent()).keep_alive(Duration::ZERO));
    assert_eq!(frame_within(&mut body, secs(3600)).await, None);
}

#[tokio::test(start_paused = true)]
async fn the_stream_ending_ends_the_body_cleanly() {
    let events = stream::iter([Event::new("a"), Event::new("b")]);
    let mut body = Box::pin(SseBody::new(events));
    assert!(!body.is_end_stream());
    assert_eq!(next(&mut body).await.unwrap(), "data: a\n\n");
    assert_eq!(next(&mut body).await.unwrap(), "data: b\n\n");
    assert_eq!(next(&mut body).await, None);
    assert!(body.is_end_stream());
    assert_eq!(next(&mut body).await, None, "and stays ended");
}

#[tokio::test(start_paused = true)]
async fn an_error_item_ends_the_body_with_that_error() {
    let items = stream::iter([
        Ok(Event::new("a")),
        Err("database gone"),
        Ok(Event::new("b")),
    ]);
    let mut body = Box::pin(SseBody::new(items));
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, "data: a\n\n");
    assert_eq!(body.frame().await.unwrap().unwrap_err(), "database gone");
    assert!(body.frame().await.is_none(), "nothing after the error");
}

#[tokio::test(start_paused = true)]
async fn an_invalid_event_ref_ends_the_body_with_an_encode_error() {
    let items = stream::iter([
        EventRef::new().data("ok"),
        EventRef::new().id("1\n2").data("x"),
    ]);
    let mut body = Box::pin(SseBody::new(items));
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, "data: ok\n\n");
    let err = body.frame().await.unwrap().unwrap_err();
    assert!(err.to_string().contains("`id`"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn pre_encoded_frames_pass_through_without_a_copy() {
    let frame = Event::builder()
        .event_type("news")
        .data("x")
        .build()
        .unwrap()
        .to_bytes();
    let frames = stream::iter([frame.clone(), frame.clone()]);
    let mut body = Box::pin(SseBody::new(frames));
    for _ in 0..2 {
        let out = next(&mut body).await.unwrap();
        assert_eq!(out, frame);
        assert_eq!(out.as_ptr(), frame.as_ptr(), "the same storage");
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_the_stream_with_the_retry_hint_and_skips_queued_events() {
    let token = CancellationToken::new();
    let (tx, body) = channel(8);
    let mut body = Box::pin(
        body.shutdown_token(token.clone())
            .shutdown_retry(Duration::from_millis(2500)),
    );
    tx.send(Event::new("first")).await.unwrap();
    assert_eq!(next(&mut body).await.unwrap(), "data: first\n\n");
    tx.send(Event::new("queued")).await.unwrap();
    token.cancel();
    assert_eq!(next(&mut body).await.unwrap(), "retry: 2500\n\n");
    assert_eq!(next(&mut body).await, None);
    assert!(body.is_end_stream());
}

#[tokio::test(start_paused = true)]
async fn shutdown_on_any_future() {
    let (fire, signal) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        let _ = signal.await;
    };
    let mut body = Box::pin(SseBody::new(silent()).shutdown_on(signal));
    assert_eq!(frame_within(&mut body, secs(1)).await, None);
    fire.send(()).unwrap();
    assert_eq!(next(&mut body).await, None, "no shutdown frame was set");
}

#[tokio::test(start_paused = true)]
async fn send_waits_while_the_channel_is_full() {
    let (tx, body) = channel(2);
    let mut body = Box::pin(body);
    tx.send(Event::new("1")).await.unwrap();
    tx.send(Event::new("2")).await.unwrap();
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(
        tx.try_send(Event::new("3")),
        Err(TrySendError::Full(_))
    ));
    // `send` is pending until the body takes a frame.
    let third = tx.send(Event::new("3"));
    tokio::pin!(third);
    assert!(
        timeout(secs(1), third.as_mut()).await.is_err(),
        "still waiting"
    );
    assert_eq!(next(&mut body).await.unwrap(), "data: 1\n\n");
    third.await.unwrap();
    assert_eq!(next(&mut body).await.unwrap(), "data: 2\n\n");
    assert_eq!(next(&mut body).await.unwrap(), "data: 3\n\n");
}

#[tokio::test(start_paused = true)]
async fn a_zero_capacity_is_taken_as_one() {
    let (tx, body) = channel(0);
    tx.try_send(Event::new("a")).unwrap();
    assert!(matches!(
        tx.try_send(Event::new("b")),
        Err(TrySendError::Full(_))
    ));
    drop(tx);
    let bytes = body.collect().await.unwrap().to_bytes();
    assert_eq!(bytes, "data: a\n\n");
}

#[tokio::test(start_paused = true)]
async fn sending_fails_once_the_body_is_dropped() {
    let (tx, body) = channel(4);
    let producer = tokio::spawn({
        let tx = tx.clone();
        async move {
            let mut sent = 0u32;
            loop {
                match tx.send(Event::new("tick")).await {
                    Ok(()) => sent += 1,
                    Err(err) => return (sent, err),
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    let mut body = Box::pin(body);
    assert_eq!(next(&mut body).await.unwrap(), "data: tick\n\n");
    drop(body); // the client left
    assert!(tx.is_closed());
    timeout(secs(1), tx.closed())
        .await
        .expect("closed resolves");
    let (sent, err): (u32, SendError) = timeout(secs(1), producer).await.unwrap().unwrap();
    assert!(sent >= 1);
    assert_eq!(err.clone().into_frame(), "data: tick\n\n");
    assert!(err.to_string().contains("client is gone"), "{err}");
    assert!(matches!(
        tx.try_send(Event::new("x")),
        Err(TrySendError::Closed(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn dropping_every_sender_ends_the_stream_after_the_queued_events() {
    let (tx, body) = channel(8);
    let tx2 = tx.clone();
    tx.send(Event::new("a")).await.unwrap();
    tx2.send(Bytes::from_static(b"data: b\n\n")).await.unwrap();
    drop(tx);
    tx2.send(Event::new("c")).await.unwrap();
    drop(tx2);
    let bytes = body.collect().await.unwrap().to_bytes();
    assert_eq!(bytes, "data: a\n\ndata: b\n\ndata: c\n\n");
}

#[test]
fn a_body_polled_outside_tokio_streams_events_without_heartbeats() {
    // No runtime at all: the timer is never created, nothing panics.
    let events = stream::iter([Event::new("x")]);
    let bytes = futures::executor::block_on(SseBody::new(events).collect())
        .unwrap()
        .to_bytes();
    assert_eq!(bytes, "data: x\n\n");
}

#[test]
fn response_has_the_event_stream_headers() {
    let response = SseBody::new(stream::empty::<Result<Bytes, Infallible>>()).response();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert!(!headers.contains_key("connection"));
    assert!(!headers.contains_key("content-length"));
}

#[test]
fn last_event_id_rules() {
    use super::{LastEventId, LastEventIdError};
    use http::{HeaderMap, HeaderValue};

    let parse = |bytes: &[u8]| {
        let mut headers = HeaderMap::new();
        // Bytes 0x80-0xFF are allowed in a header value (as obs-text), so a
        // client can send invalid UTF-8.
        headers.insert("last-event-id", HeaderValue::from_bytes(bytes).unwrap());
        LastEventId::from_headers(&headers)
    };
    assert_eq!(parse(b""), Ok(None), "empty is no id");
    assert_eq!(parse(b"abc").unwrap().unwrap().as_str(), "abc");
    assert_eq!(
        parse(b"caf\xc3\xa9").unwrap().unwrap().as_str(),
        "caf\u{e9}"
    );
    assert_eq!(
        parse(b"ab\xff"),
        Err(LastEventIdError::NotUtf8 { offset: 2 })
    );
    let long = std::vec![b'7'; LastEventId::MAX_LEN + 1];
    assert_eq!(
        parse(&long),
        Err(LastEventIdError::TooLong {
            len: LastEventId::MAX_LEN + 1,
            limit: LastEventId::MAX_LEN
        })
    );
    let max = std::vec![b'7'; LastEventId::MAX_LEN];
    assert_eq!(
        parse(&max).unwrap().unwrap().as_str().len(),
        LastEventId::MAX_LEN
    );
    // A header value can hold neither NUL nor a line break; `parse` still
    // refuses them, for values that come from elsewhere.
    assert_eq!(
        LastEventId::parse(b"a\0"),
        Err(LastEventIdError::Nul { offset: 1 })
    );
    assert_eq!(
        LastEventId::parse(b"a\rb"),
        Err(LastEventIdError::LineBreak { offset: 1 })
    );
    let message = LastEventIdError::NotUtf8 { offset: 2 }.to_string();
    assert!(
        message.contains("not UTF-8") && message.contains("cannot resume from it"),
        "{message}"
    );
    let _: String = parse(b"x").unwrap().unwrap().into_string();
}

#[test]
fn the_body_is_unpin_send_and_sync_when_its_stream_is() {
    fn unpin_send_sync<T: Unpin + Send + Sync>() {}
    unpin_send_sync::<SseBody<super::Receiver>>();
    unpin_send_sync::<SseBody<stream::Iter<std::vec::IntoIter<Event>>>>();
    unpin_send_sync::<super::Sender>();
}

#[tokio::test(start_paused = true)]
async fn an_interval_past_the_end_of_time_never_fires_and_does_not_panic() {
    let mut body = Box::pin(SseBody::new(silent()).keep_alive(Duration::MAX));
    assert_eq!(frame_within(&mut body, secs(365 * 24 * 3600)).await, None);
}

#[tokio::test(start_paused = true)]
async fn a_huge_capacity_is_clamped_instead_of_panicking() {
    let (tx, body) = channel(usize::MAX);
    tx.send(Event::new("a")).await.unwrap();
    drop(tx);
    assert_eq!(body.collect().await.unwrap().to_bytes(), "data: a\n\n");
}

#[tokio::test(start_paused = true)]
async fn changing_the_interval_after_the_timer_started_takes_effect() {
    let (mut tx, rx) = fmpsc::channel::<Event>(4);
    let mut body = Box::pin(SseBody::new(rx));
    // The first wait arms the default 15 s timer.
    assert_eq!(frame_within(&mut body, secs(1)).await, None);
    tx.send(Event::new("x")).await.unwrap();
    assert_eq!(next(&mut body).await.unwrap(), "data: x\n\n");
    let start = Instant::now();
    let body = Pin::into_inner(body).keep_alive(secs(2));
    let mut body = Box::pin(body);
    assert_eq!(next(&mut body).await.unwrap(), KEEP_ALIVE_FRAME);
    assert_eq!(start.elapsed(), secs(2));
}
