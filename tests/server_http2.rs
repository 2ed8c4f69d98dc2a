//! The event stream over HTTP/2 (cleartext, prior knowledge) between
//! hyper-util's server and hyper's client on 127.0.0.1: the response has
//! the event stream's headers and no `connection` header (HTTP/2 forbids
//! it), events arrive one by one on one stream while others share the
//! connection, and the shutdown signal ends each stream with its `retry:`
//! hint.

use core::convert::Infallible;
use core::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::{Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use ssekit::adapters::http::{channel, SseBody};
use ssekit::adapters::stream::SseStreamExt;
use ssekit::Event;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

/// Upper bound for any one step of the test.
const STEP: Duration = Duration::from_secs(10);

/// Serves one HTTP/2 connection: each request gets a stream of `count`
/// events from a producer task, then stays open until shutdown.
async fn serve_one(listener: TcpListener, shutdown: CancellationToken) {
    let (socket, _) = listener.accept().await.expect("a connection");
    let service = service_fn(move |request: Request<Incoming>| {
        let shutdown = shutdown.clone();
        async move {
            let count: u32 = request
                .uri()
                .query()
                .and_then(|q| q.parse().ok())
                .unwrap_or(3);
            let (tx, body) = channel(4);
            tokio::spawn(async move {
                for n in 1..=count {
                    let event = Event::builder()
                        .id(n.to_string())
                        .data(format!("two\nlines {n}"));
                    if tx.send(event.build().expect("valid")).await.is_err() {
                        return;
                    }
                }
                tx.closed().await;
            });
            let body = body
                .shutdown_token(shutdown)
                .shutdown_retry(Duration::from_millis(750));
            Ok::<_, Infallible>(body.response().map(|b: SseBody<_>| UnsyncBoxBody::new(b)))
        }
    });
    auto::Builder::new(TokioExecutor::new())
        .http2_only()
        .serve_connection(TokioIo::new(socket), service)
        .await
        .expect("the connection ends cleanly");
}

async fn get(
    sender: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    path: &str,
) -> Response<Incoming> {
    let request = Request::get(format!("http://127.0.0.1{path}"))
        .body(Empty::new())
        .unwrap();
    timeout(STEP, sender.send_request(request))
        .await
        .expect("in time")
        .expect("a response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_streams_have_the_headers_and_end_at_shutdown() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve_one(listener, shutdown.clone()));

    let socket = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(socket))
            .await
            .expect("an HTTP/2 handshake");
    let client = tokio::spawn(connection);

    // Two streams on one connection.
    let first = get(&mut sender, "/events?3").await;
    let second = get(&mut sender, "/events?2").await;
    for response in [&first, &second] {
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/event-stream");
        assert_eq!(headers["cache-control"], "no-cache");
        assert_eq!(headers["x-accel-buffering"], "no");
        assert!(!headers.contains_key("connection"), "{headers:?}");
    }

    let mut first = first.into_body().into_data_stream().sse_events();
    let mut second = second.into_body().into_data_stream().sse_events();
    for n in 1..=3 {
        let event = timeout(STEP, first.next())
            .await
            .expect("in time")
            .unwrap()
            .unwrap();
        assert_eq!(
            (event.id(), event.data()),
            (n.to_string().as_bytes(), format!("two\nlines {n}").into())
        );
    }
    for n in 1..=2 {
        let event = timeout(STEP, second.next())
            .await
            .expect("in time")
            .unwrap()
            .unwrap();
        assert_eq!(event.id(), n.to_string().as_bytes());
    }

    // Both streams are open and idle; the shutdown signal ends them.
    shutdown.cancel();
    for events in [&mut first, &mut second] {
        let end = timeout(STEP, events.next()).await.expect("in time");
        assert!(end.is_none(), "the stream ended: {end:?}");
        assert_eq!(events.reconnection_time(), Some(Duration::from_millis(750)));
    }
    drop((first, second, sender));
    timeout(STEP, server)
        .await
        .expect("the server's connection ends")
        .unwrap();
    timeout(STEP, client)
        .await
        .expect("the client's connection ends")
        .unwrap()
        .unwrap();
}
