//! The client's reconnect timing on tokio's paused clock, against real
//! servers on 127.0.0.1: the clock only auto-advances when the runtime is
//! idle, which is after loopback I/O is done, so the virtual time between
//! two messages is the time the client slept, exactly.
#![cfg(feature = "http")]

use core::convert::Infallible;
use core::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use hyper_util::rt::TokioIo;
use ssekit_codec::{Event, Jitter, ReconnectConfig};
use tokio::time::Instant;

use super::{Disconnect, Error, EventSource, Message};
use crate::http::SseBody;

/// A bound on every wait, in virtual time; far beyond every expected delay.
const BOUND: Duration = Duration::from_secs(600);

/// Serves every connection on 127.0.0.1 with the events `events` makes;
/// returns the URL.
async fn serve(events: fn() -> BoxStream<'static, Event>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let service = hyper::service::service_fn(move |_request| async move {
                Ok::<_, Infallible>(SseBody::new(events()).response())
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service),
            );
        }
    });
    url
}

async fn next(source: &mut EventSource) -> Result<Message, Error> {
    tokio::time::timeout(BOUND, source.next())
        .await
        .expect("a message within the bound")
        .expect("the stream goes on")
}

fn exact() -> ReconnectConfig {
    ReconnectConfig::default()
        .jitter(Jitter::Off)
        .reset_after(Duration::ZERO)
}

#[tokio::test(start_paused = true)]
async fn waits_exactly_the_announced_retry_delay() {
    let url = serve(|| {
        let event = Event::builder()
            .id("1")
            .data("x")
            .retry(2_500)
            .build()
            .unwrap();
        stream::iter([event]).boxed()
    })
    .await;
    let mut source = EventSource::builder(url)
        .reconnect(exact())
        .build()
        .unwrap();
    assert!(matches!(
        next(&mut source).await.unwrap(),
        Message::Open { .. }
    ));
    let event = next(&mut source).await.unwrap().into_event().unwrap();
    assert_eq!(event.retry(), Some(2_500));
    for _ in 0..2 {
        let Message::Reconnecting {
            delay,
            attempt,
            reason,
        } = next(&mut source).await.unwrap()
        else {
            panic!("expected a reconnect")
        };
        assert!(
            matches!(reason, Disconnect::Closed { mid_event: false }),
            "{reason:?}"
        );
        // The connection was up, and reset_after is zero: attempt 1 each time.
        assert_eq!((delay, attempt), (Duration::from_millis(2_500), 1));
        let slept = Instant::now();
        assert!(matches!(
            next(&mut source).await.unwrap(),
            Message::Open { .. }
        ));
        assert_eq!(slept.elapsed(), Duration::from_millis(2_500));
        assert!(next(&mut source).await.unwrap().into_event().is_some());
    }
}

#[tokio::test(start_paused = true)]
async fn backoff_doubles_on_refused_connections_then_gives_up() {
    // A port that was just free: nothing listens on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    drop(listener);
    let config = exact()
        .reconnection_time(Duration::from_secs(1))
        .max_attempts(Some(4));
    let mut source = EventSource::builder(url).reconnect(config).build().unwrap();
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut at = Vec::new();
    let err = loop {
        match next(&mut source).await {
            Ok(Message::Reconnecting {
                delay,
                attempt,
                reason,
            }) => {
                assert!(matches!(reason, Disconnect::Connect { .. }), "{reason:?}");
                seen.push((attempt, delay.as_secs()));
                at.push(start.elapsed().as_secs());
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(err) => break err,
        }
    };
    assert_eq!(seen, [(1, 1), (2, 2), (3, 4), (4, 8)]);
    // Each attempt starts after the previous delay, to the nanosecond.
    assert_eq!(at, [0, 1, 3, 7]);
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(15),
        "the fourth attempt at 7 + 8 s"
    );
    assert!(
        matches!(err, Error::GaveUp { ref last, .. } if matches!(last, Disconnect::Connect { .. })),
        "{err:?}"
    );
    assert!(source.next().await.is_none(), "ended after giving up");
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_fires_after_exactly_its_silence() {
    let url = serve(|| {
        stream::iter([Event::new("hello")])
            .chain(stream::pending())
            .boxed()
    })
    .await;
    let config = exact().idle_timeout(Some(Duration::from_secs(7)));
    let mut source = EventSource::builder(url).reconnect(config).build().unwrap();
    for round in 0..2 {
        assert!(matches!(
            next(&mut source).await.unwrap(),
            Message::Open { .. }
        ));
        let event = next(&mut source).await.unwrap().into_event().unwrap();
        assert_eq!(event.data(), "hello");
        let silent = Instant::now();
        let Message::Reconnecting { delay, reason, .. } = next(&mut source).await.unwrap() else {
            panic!("expected a reconnect")
        };
        assert_eq!(silent.elapsed(), Duration::from_secs(7), "round {round}");
        assert!(
            matches!(reason, Disconnect::Idle { timeout } if timeout == Duration::from_secs(7)),
            "{reason:?}"
        );
        assert_eq!(
            delay,
            Duration::from_secs(3),
            "the default reconnection time"
        );
    }
}
