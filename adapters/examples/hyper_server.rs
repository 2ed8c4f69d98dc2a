//! An SSE server on hyper alone (no framework): a resumable clock, and a
//! countdown fed by a producer task (channel mode). Ctrl-C shuts it down
//! gracefully: every stream ends with a `retry:` hint, then every
//! connection closes, then the process exits.
//!
//! ```text
//! cargo run -p ssekit-adapters --features tokio --example hyper_server [ADDR]
//! curl -N http://127.0.0.1:3000/clock
//! curl -N -H 'Last-Event-ID: 5' http://127.0.0.1:3000/clock   # resumes at 6
//! curl -N http://127.0.0.1:3000/countdown
//! ```

use core::convert::Infallible;
use core::time::Duration;
use std::pin::pin;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use ssekit_adapters::codec::Event;
use ssekit_adapters::http::{channel, LastEventId, SseBody};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Every response's body: an event stream, or a short text.
type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = TcpListener::bind(&addr).await.map_err(|err| {
        std::io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}"))
    })?;
    println!("listening on http://{}/", listener.local_addr()?);

    let shutdown = CancellationToken::new();
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut ctrl_c = pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (socket, _) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        eprintln!("accept failed: {err}");
                        continue;
                    }
                };
                let shutdown = shutdown.clone();
                let service = service_fn(move |request| route(request, shutdown.clone()));
                let connection = builder.serve_connection(TokioIo::new(socket), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(err) = connection.await {
                        eprintln!("connection ended: {err}");
                    }
                });
            }
            _ = &mut ctrl_c => break,
        }
    }
    println!("shutting down: ending every stream");
    // The streams end first, so that the connections can finish.
    shutdown.cancel();
    match tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await {
        Ok(()) => println!("all connections closed; bye"),
        Err(_) => eprintln!("some connections were still open after 10 s"),
    }
    Ok(())
}

async fn route(
    request: Request<Incoming>,
    shutdown: CancellationToken,
) -> Result<Response<Body>, Infallible> {
    if request.method() != Method::GET {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n"));
    }
    let response = match request.uri().path() {
        "/clock" => match LastEventId::from_headers(request.headers()) {
            Ok(id) => {
                // Parsed as u32 so that `after + 1` cannot overflow; an ID
                // that is not a count starts afresh.
                let after = id
                    .and_then(|id| id.parse::<u32>().ok())
                    .map_or(0, u64::from);
                let body = SseBody::new(clock(after))
                    .keep_alive(Duration::from_secs(15))
                    .shutdown_token(shutdown)
                    .shutdown_retry(Duration::from_secs(3));
                body.response().map(BodyExt::boxed_unsync)
            }
            Err(err) => text(StatusCode::BAD_REQUEST, &format!("{err}\n")),
        },
        "/countdown" => countdown(shutdown).map(BodyExt::boxed_unsync),
        _ => text(StatusCode::NOT_FOUND, "try /clock or /countdown\n"),
    };
    Ok(response)
}

/// A tick a second after event `after`: ids count ticks, every fifth is a
/// named `five` event, and the data has two lines.
fn clock(after: u64) -> BoxStream<'static, Event> {
    stream::iter(after + 1..)
        .then(move |n| async move {
            if n > after + 1 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let builder = Event::builder()
                .id(n.to_string())
                .data(format!("tick {n}\nafter {after}"));
            let builder = if n % 5 == 0 {
                builder.event_type("five")
            } else {
                builder
            };
            builder.build().expect("digits and a fixed type are valid")
        })
        .boxed()
}

/// Channel mode: a producer task counts down from 10 and stops as soon as
/// the client leaves.
fn countdown(shutdown: CancellationToken) -> Response<SseBody<ssekit_adapters::http::Receiver>> {
    let (tx, body) = channel(4);
    tokio::spawn(async move {
        for n in (1..=10).rev() {
            if tx.send(Event::new(n.to_string())).await.is_err() {
                println!("countdown: the client left at {n}; producer stops");
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let liftoff = Event::builder().event_type("liftoff").data("0").build();
        let _ = tx.send(liftoff.expect("valid")).await;
    });
    body.shutdown_token(shutdown).response()
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_owned())).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
