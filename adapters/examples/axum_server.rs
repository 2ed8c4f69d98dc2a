//! An SSE server on axum: a resumable clock, and a countdown fed by a
//! producer task (channel mode). Ctrl-C shuts it down gracefully.
//!
//! ```text
//! cargo run -p ssekit-adapters --features tokio,axum --example axum_server [ADDR]
//! curl -N http://127.0.0.1:3000/clock
//! curl -N -H 'Last-Event-ID: 5' http://127.0.0.1:3000/clock   # resumes at 6
//! curl -N http://127.0.0.1:3000/countdown
//! ```
//!
//! Open `http://127.0.0.1:3000/` in a browser to watch the clock through
//! `EventSource`, which reconnects by itself with `Last-Event-ID`.

use core::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use futures::{stream, Stream};
use ssekit_adapters::codec::Event;
use ssekit_adapters::http::{
    channel, ConnectionLimit, LastEventId, LimitReached, Receiver, SseBody,
};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct App {
    shutdown: CancellationToken,
    limit: ConnectionLimit,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let app = App {
        shutdown: CancellationToken::new(),
        limit: ConnectionLimit::new(1000),
    };
    let router = Router::new()
        .route("/", get(page))
        .route("/clock", get(clock))
        .route("/countdown", get(countdown))
        .with_state(app.clone());

    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|err| {
        std::io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}"))
    })?;
    println!("listening on http://{}/", listener.local_addr()?);

    let shutdown = app.shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        println!("shutting down: ending every stream");
        shutdown.cancel();
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(app.shutdown.clone().cancelled_owned())
        .await?;
    println!("all streams ended; bye");
    Ok(())
}

/// A tick a second, resumable: ids count seconds, and a client that comes
/// back with `Last-Event-ID: n` continues at `n + 1`. Every fifth tick is a
/// named `five` event; the data has two lines.
async fn clock(
    State(app): State<App>,
    last_event_id: Option<LastEventId>,
) -> Result<SseBody<impl Stream<Item = Event>>, LimitReached> {
    let permit = app.limit.try_acquire()?;
    let after = last_event_id
        .and_then(|id| id.as_str().parse::<u64>().ok())
        .unwrap_or(0);
    let ticks = stream::unfold(after + 1, move |n| async move {
        if n > after + 1 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Some((tick(n), n + 1))
    });
    Ok(SseBody::new(ticks)
        .keep_alive(Duration::from_secs(15))
        .shutdown_token(app.shutdown.clone())
        .shutdown_retry(Duration::from_secs(3))
        .hold(permit))
}

fn tick(n: u64) -> Event {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let builder = Event::builder()
        .id(n.to_string())
        .data(format!("tick {n}\nunix time {unix}"));
    let builder = if n % 5 == 0 {
        builder.event_type("five")
    } else {
        builder
    };
    builder.build().expect("digits and a fixed type are valid")
}

/// Channel mode: a producer task counts down from 10, one a second, and
/// stops as soon as the client leaves.
async fn countdown(State(app): State<App>) -> Result<SseBody<Receiver>, LimitReached> {
    let permit = app.limit.try_acquire()?;
    let (tx, body) = channel(4);
    tokio::spawn(async move {
        for n in (0..=10).rev() {
            let event = if n == 0 {
                Event::builder().event_type("liftoff").data("0").build()
            } else {
                Ok(Event::new(n.to_string()))
            };
            if tx.send(event.expect("valid")).await.is_err() {
                println!("countdown: the client left at {n}; producer stops");
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // Dropping `tx` ends the stream after the last event.
    });
    Ok(body.shutdown_token(app.shutdown.clone()).hold(permit))
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>ssekit clock</title>
<pre id="log"></pre>
<script>
  const log = document.getElementById("log");
  const show = (kind, e) => { log.textContent += `${kind} #${e.lastEventId}: ${e.data}\n`; };
  const source = new EventSource("/clock");
  source.onmessage = (e) => show("message", e);
  source.addEventListener("five", (e) => show("five", e));
  source.onerror = () => { log.textContent += "(reconnecting)\n"; };
</script>
"#;
