//! A small, deterministic loop that drains SSE response bodies, to count
//! instructions per event with `valgrind --tool=callgrind` (the criterion
//! bench `benches/server.rs` measures time).
//!
//! ```text
//! cargo build --release --example profile_server
//! valgrind --tool=callgrind --toggle-collect='tokio::runtime::runtime::Runtime::block_on' \
//!     target/release/examples/profile_server event keepalive
//! ```
//!
//! Arguments: the contender (`event`: `SseBody` over `Event::new` of each
//! payload; `prebuilt`: over events built beforehand; `frames`: over
//! pre-encoded `Bytes` frames; `axum`: axum's `Sse` over
//! `Event::default().data(&str)` of each payload), then `keepalive` or
//! `none` (15 s heartbeats, or none). Each stream waits once before its
//! first event, so that the timers are armed. `EVENTS` (default 10,000) sets the
//! count of ~190-byte one-line JSON payloads. It prints the bytes drained.

use core::convert::Infallible;
use core::time::Duration;

use axum::response::sse::{Event as AxumEvent, KeepAlive, Sse};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures::stream::{self, StreamExt};
use http_body::Body;
use http_body_util::BodyExt;
use ssekit::adapters::http::SseBody;
use ssekit::Event;

/// `events`, after one wait (the stream is pending once, and wakes itself):
/// both bodies arm their keep-alive timer only when their stream waits, as
/// a live stream does between its events.
fn waits_first<S: futures::Stream + Send + 'static>(
    events: S,
) -> impl futures::Stream<Item = S::Item> + Send + 'static {
    stream::once(tokio::task::yield_now())
        .filter_map(|()| async { None })
        .chain(events)
}

/// Drains `body`, returning the bytes it yielded.
#[inline(never)]
async fn drain<B>(body: B) -> usize
where
    B: Body<Data = Bytes>,
    B::Error: core::fmt::Debug,
{
    let mut body = core::pin::pin!(body);
    let mut bytes = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("no error").into_data() {
            bytes += data.len();
        }
    }
    bytes
}

fn main() {
    let n: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let payloads: Vec<Bytes> = (0..n)
        .map(|i| {
            Bytes::from(format!(
                "{{\"id\":\"chatcmpl-{i}\",\"object\":\"chat.completion.chunk\",\
                 \"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\
                 \"delta\":{{\"content\":\"word {i} and more\"}},\"finish_reason\":null}}]}}"
            ))
        })
        .collect();
    let how = std::env::args().nth(1).unwrap_or_else(|| "event".into());
    let keep_alive = std::env::args().nth(2).map_or(true, |k| k == "keepalive");
    let interval = if keep_alive {
        Duration::from_secs(15)
    } else {
        Duration::ZERO
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    // Everything is built before `block_on`, which alone is measured, but
    // inside the runtime: axum's keep-alive makes its timer when the
    // response is built, and panics outside a runtime.
    let _runtime = rt.enter();
    let bytes = match how.as_str() {
        "prebuilt" => {
            let events: Vec<Event> = payloads.iter().cloned().map(Event::new).collect();
            rt.block_on(drain(
                SseBody::new(waits_first(stream::iter(events))).keep_alive(interval),
            ))
        }
        "frames" => {
            let frames: Vec<Bytes> = payloads
                .iter()
                .cloned()
                .map(|p| Event::new(p).to_bytes())
                .collect();
            rt.block_on(drain(
                SseBody::new(waits_first(stream::iter(frames))).keep_alive(interval),
            ))
        }
        "axum" => {
            let texts: Vec<String> = payloads
                .iter()
                .map(|p| String::from_utf8(p.to_vec()).expect("UTF-8"))
                .collect();
            // axum's stream must be 'static: the texts live to the end.
            let texts: &'static [String] = Vec::leak(texts);
            let events = stream::iter(texts)
                .map(|text| Ok::<_, Infallible>(AxumEvent::default().data(text)));
            let sse = Sse::new(waits_first(events));
            let response = if keep_alive {
                sse.keep_alive(KeepAlive::default()).into_response()
            } else {
                sse.into_response()
            };
            rt.block_on(drain(response.into_body()))
        }
        _ => {
            let events = stream::iter(payloads.clone()).map(Event::new);
            rt.block_on(drain(
                SseBody::new(waits_first(events)).keep_alive(interval),
            ))
        }
    };
    println!("{how}: {n} events, {bytes} bytes");
}
