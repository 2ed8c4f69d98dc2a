//! `adapters::http::lite`, the small HTTP/1.1 connection for event streams,
//! over real TCP on 127.0.0.1: `curl`, raw clients, a client that leaves,
//! and the memory an idle stream costs next to hyper's http1 connection.

#[allow(dead_code)]
mod hub_load_common;
#[allow(dead_code)]
mod server_http_common;

use core::time::Duration;
use std::io::{Read, Write};
use std::net::TcpStream as StdTcpStream;
use std::process::Command;
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use ssekit::adapters::http::{lite, LastEventId, SseBody};
use ssekit::adapters::hub::{Hub, Subscription};
use ssekit::Event;
use tokio::net::TcpListener;

/// Serves `hub`'s topic `t` on a new 127.0.0.1 port through the lite
/// connection: a subscription per request, resumed after its
/// `Last-Event-ID`; `/page` is a small plain response. Returns the port.
async fn lite_server(hub: Hub, end_after: Option<Duration>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let hub = hub.clone();
            tokio::spawn(lite::serve_connection(
                stream,
                move |request: http::Request<()>| async move {
                    if request.uri().path() == "/page" {
                        let body =
                            Full::new(bytes::Bytes::from_static(b"a page")).map_err(|e| match e {});
                        return http::Response::new(body.boxed_unsync());
                    }
                    let id = LastEventId::from_headers(request.headers()).ok().flatten();
                    let sub = hub.subscribe("t", id.as_deref()).expect("under the limits");
                    let mut body = sub.into_body();
                    if let Some(after) = end_after {
                        body = body.shutdown_on(tokio::time::sleep(after));
                    }
                    body.response().map(|b| b.boxed_unsync())
                },
            ));
        }
    });
    port
}

fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["-sS", "-N", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs (apt-get install -y curl)");
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_resumes_a_hub_stream_through_the_lite_connection() {
    let hub = Hub::default();
    let ids: Vec<_> = (0..5)
        .map(|n| hub.publish("t", &Event::new(format!("event {n}"))).unwrap())
        .collect();
    let port = lite_server(hub, Some(Duration::from_millis(300))).await;
    let url = format!("http://127.0.0.1:{port}/events");
    let last = format!("Last-Event-ID: {}", ids[1]);
    let out = tokio::task::spawn_blocking(move || curl(&["-i", "-H", &last, &url]))
        .await
        .unwrap();
    let (head, body) = out.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    let want: String = (2..5)
        .map(|n| format!("id: {}\ndata: event {n}\n\n", ids[n]))
        .collect();
    assert_eq!(body, want, "the events after 1, then the end");

    let page = tokio::task::spawn_blocking(move || {
        curl(&["-i", &format!("http://127.0.0.1:{port}/page")])
    })
    .await
    .unwrap();
    assert!(
        page.contains("content-length: 6\r\n") && page.ends_with("\r\n\r\na page"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_and_a_client_that_leaves_ends_its_subscription() {
    let hub = Hub::default();
    let port = lite_server(hub.clone(), None).await;
    let exchange = move |request: &'static [u8]| {
        let mut stream = StdTcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(request).unwrap();
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        String::from_utf8_lossy(&reply).into_owned()
    };
    let refused = tokio::task::spawn_blocking(move || {
        (
            exchange(b"POST /events HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
            exchange(b"GET /events HTTP/2.0\r\n\r\n"),
            exchange(b"\x01\x02\x03 nonsense\r\n\r\n"),
        )
    })
    .await
    .unwrap();
    assert!(refused.0.starts_with("HTTP/1.1 400 "), "{}", refused.0);
    assert!(refused.1.starts_with("HTTP/1.1 505 "), "{}", refused.1);
    assert!(refused.2.starts_with("HTTP/1.1 400 "), "{}", refused.2);

    // 20 clients read their headers, then leave without a word.
    let clients = tokio::task::spawn_blocking(move || idle_clients(port, 20))
        .await
        .unwrap();
    assert_eq!(wait_for_subscribers(&hub, 20).await, 20);
    drop(clients);
    assert_eq!(
        wait_for_subscribers(&hub, 0).await,
        0,
        "every subscription dropped"
    );
}

/// `n` clients that sent their request and read the response head.
fn idle_clients(port: u16, n: usize) -> Vec<StdTcpStream> {
    (0..n)
        .map(|_| {
            let mut stream = StdTcpStream::connect(("127.0.0.1", port)).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            stream
                .write_all(b"GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
                .unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                assert_eq!(stream.read(&mut byte).unwrap(), 1, "the head");
                head.push(byte[0]);
            }
            assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"));
            stream
        })
        .collect()
}

/// Waits (10 s at most) until the hub has `n` subscribers; returns the count.
async fn wait_for_subscribers(hub: &Hub, n: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    while hub.stats().subscribers != n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    hub.stats().subscribers
}

/// The same service on hyper's http1 connection, for the comparison.
async fn hyper_server(hub: Hub) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let hub = hub.clone();
            let service = hyper::service::service_fn(
                move |_request: http::Request<hyper::body::Incoming>| {
                    let sub: Subscription = hub.subscribe("t", None).expect("under the limits");
                    async move { Ok::<_, core::convert::Infallible>(SseBody::new(sub).response()) }
                },
            );
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    port
}

/// Server memory per idle stream, lite and hyper, in one process: the
/// RSS grown by `IDLE` more idle streams (after a warm-up), divided by
/// `IDLE`. The clients are blocking std sockets (a descriptor each, no
/// user memory to speak of).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_lite_stream_costs_less_memory_than_a_hyper_one() {
    const WARM: usize = 200;
    const IDLE: usize = 2_000;
    hub_load_common::ensure_nofile_limit("test", (4 * (WARM + IDLE) + 100) as u64);
    let mut per = Vec::new();
    let mut keep = Vec::new();
    for (name, hub) in [("lite", Hub::default()), ("hyper http1", Hub::default())] {
        let port = if name == "lite" {
            lite_server(hub.clone(), None).await
        } else {
            hyper_server(hub.clone()).await
        };
        keep.push(
            tokio::task::spawn_blocking(move || idle_clients(port, WARM))
                .await
                .unwrap(),
        );
        assert_eq!(wait_for_subscribers(&hub, WARM as u64).await, WARM as u64);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = server_http_common::rss_bytes();
        keep.push(
            tokio::task::spawn_blocking(move || idle_clients(port, IDLE))
                .await
                .unwrap(),
        );
        assert_eq!(
            wait_for_subscribers(&hub, (WARM + IDLE) as u64).await,
            (WARM + IDLE) as u64
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = server_http_common::rss_bytes();
        let bytes = after.saturating_sub(before) as f64 / IDLE as f64;
        println!("{name}: {IDLE} idle streams, {:.0} bytes of server memory each (RSS {before} -> {after})", bytes);
        per.push(bytes);
    }
    // The target: at most 6 KB of process memory per idle connection.
    assert!(
        per[0] <= 6_144.0,
        "lite: {:.0} bytes per idle stream, over 6 KiB",
        per[0]
    );
    assert!(
        per[0] < per[1],
        "lite {:.0} bytes per idle stream, hyper {:.0}: the lite connection should cost less",
        per[0],
        per[1]
    );
}
