//! A reconnecting event-stream client over reqwest instead of this crate's
//! hyper client, driven by the same sans-IO policy: the codec's
//! [`Reconnect`]. The response is checked with
//! [`check_response`](ssekit_adapters::stream::check_response)'s rules (through
//! `Reconnect::on_response`), the body decoded with `sse_items()`, the
//! delays waited with `tokio::time::sleep`, `Last-Event-ID` sent on every
//! reconnect, and the idle timer reset on every item, heartbeat comments
//! included.
//!
//! ```text
//! cargo run -p ssekit-adapters --example reqwest_client --features stream,tokio
//! cargo run -p ssekit-adapters --example reqwest_client --features stream,tokio -- http://127.0.0.1:3000/clock 10
//! ```
//!
//! With no URL it starts a server of its own on 127.0.0.1 (an `SseBody`
//! that closes the first connection after three events and replays from
//! `Last-Event-ID` on the next), and ends after N events (default 6).

use core::convert::Infallible;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use ssekit_adapters::codec::{Event, Item, Jitter, Reconnect, ReconnectConfig, Verdict};
use ssekit_adapters::http::{LastEventId, SseBody};
use ssekit_adapters::stream::{ItemStream, SseStreamExt};
use tokio::time::Instant;

type Body = BoxStream<'static, reqwest::Result<Bytes>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn core::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = match args.next() {
        Some(url) => url,
        None => local_server().await?,
    };
    let wanted: usize = args.next().map_or(Ok(6), |n| n.parse())?;
    println!("reading {wanted} events from {url}");

    let config = ReconnectConfig::default()
        .jitter(Jitter::Off)
        .min_delay(Duration::from_millis(100))
        .idle_timeout(Some(Duration::from_secs(5)))
        .max_attempts(Some(5));
    let mut policy = Reconnect::new(config);
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut seed = 0x9e37_79b9_u32;
    let mut random = move || {
        // xorshift32: the jitter's randomness; any source will do.
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let empty: Body = stream::empty().boxed();
    let mut items: ItemStream<Body> = empty.sse_items();
    let mut received = 0;

    loop {
        let mut request = client.get(&url).header("accept", "text/event-stream");
        if !items.last_event_id().is_empty() {
            request = request.header("last-event-id", items.last_event_id().as_ref());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                let next = policy.on_disconnected(start.elapsed(), random())?;
                println!(
                    "request failed ({err}); attempt {} in {:?}",
                    next.attempt(),
                    next.after()
                );
                tokio::time::sleep(next.after()).await;
                continue;
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers();
        let content_type = headers.get("content-type").map(|v| v.as_bytes());
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.trim().parse().ok())
            .map(Duration::from_secs);
        match policy.on_response(start.elapsed(), status, content_type, retry_after, random())? {
            Verdict::Connected => println!("open: {status}"),
            Verdict::Stop => {
                println!("204: the server asks us to stop");
                return Ok(());
            }
            Verdict::Reconnect(next) => {
                println!(
                    "status {status}; attempt {} in {:?}",
                    next.attempt(),
                    next.after()
                );
                tokio::time::sleep(next.after()).await;
                continue;
            }
        }
        items = items.resume(response.bytes_stream().boxed());

        loop {
            let item = match policy.poll_timeout() {
                Some(deadline) => {
                    match tokio::time::timeout_at(start + deadline, items.next()).await {
                        Ok(item) => item,
                        Err(_) => {
                            if policy.handle_timeout(start.elapsed()) {
                                println!("idle: nothing for {:?}", config.get_idle_timeout());
                                break;
                            }
                            continue;
                        }
                    }
                }
                None => items.next().await,
            };
            match item {
                Some(Ok(item)) => {
                    policy.on_activity(start.elapsed());
                    match item {
                        Item::Event(event) => {
                            received += 1;
                            println!("event id={} data={}", event.id_lossy(), event.data_lossy());
                            if received == wanted {
                                println!("got {wanted} events; done");
                                return Ok(());
                            }
                        }
                        Item::Comment(_) => println!("heartbeat"),
                        Item::Retry(ms) => {
                            policy.on_retry_field(ms);
                            println!("retry: {ms} ms");
                        }
                        _ => {}
                    }
                }
                Some(Err(err)) => {
                    println!("stream error: {err}");
                    break;
                }
                None => break,
            }
        }
        let next = policy.on_disconnected(start.elapsed(), random())?;
        println!(
            "disconnected after id {}; attempt {} in {:?}",
            String::from_utf8_lossy(items.last_event_id()),
            next.attempt(),
            next.after()
        );
        tokio::time::sleep(next.after()).await;
    }
}

/// Starts a server on 127.0.0.1:0 and returns its URL. It counts events
/// from `Last-Event-ID`; the first connection ends after three events.
async fn local_server() -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let first = connections.fetch_add(1, Ordering::Relaxed) == 0;
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let after = LastEventId::from_headers(request.headers())
                    .ok()
                    .flatten()
                    .and_then(|id| id.parse::<u64>().ok())
                    .unwrap_or(0);
                let count = if first { 3 } else { u64::MAX - after };
                let events = stream::unfold(after, |n| async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let n = n + 1;
                    let builder = Event::builder().id(n.to_string()).data(format!("tick {n}"));
                    let builder = if n == 1 { builder.retry(300) } else { builder };
                    Some((builder.build().expect("a valid event"), n))
                })
                .take(usize::try_from(count).unwrap_or(usize::MAX));
                let body = SseBody::new(events).keep_alive(Duration::from_millis(250));
                async move { Ok::<_, Infallible>(body.response()) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service),
            );
        }
    });
    println!("serving on {url}");
    Ok(url)
}
