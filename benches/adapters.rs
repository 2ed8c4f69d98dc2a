//! The cost of the runtime adapters over driving `EventDecoder` directly.
//!
//! Every variant decodes the same input in the same 8 KiB pieces:
//! - `direct`: `EventDecoder::decode` on a `BytesMut` the loop appends to;
//! - `framed_read`: `FramedRead<_, SseCodec>` over an in-memory `AsyncRead`
//!   whose reads return at most 8 KiB, on a current-thread runtime;
//! - `stream`: `SseStreamExt::sse_events` over a stream of 8 KiB `Bytes`.
//!
//! Run with `cargo bench --bench adapters`.

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use futures::StreamExt;
use ssekit::adapters::stream::SseStreamExt;
use ssekit::adapters::tokio::SseCodec;
use ssekit::EventDecoder;
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::codec::FramedRead;

const CHUNK: usize = 8 * 1024;

/// An in-memory reader whose reads return at most [`CHUNK`] bytes.
struct ChunkedReader<'a> {
    rest: &'a [u8],
}

impl AsyncRead for ChunkedReader<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.rest.len().min(CHUNK).min(buf.remaining());
        let (now, later) = self.rest.split_at(n);
        buf.put_slice(now);
        self.rest = later;
        Poll::Ready(Ok(()))
    }
}

/// An LLM-style stream: `delta` events with a small JSON payload, an `id`
/// every tenth event, a heartbeat comment now and then, and a few events
/// with several data lines. Returns the bytes and the number of events.
fn corpus() -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut events = 0;
    for n in 0..20_000u32 {
        if n % 10 == 0 {
            out.extend_from_slice(format!("id: {n}\n").as_bytes());
        }
        if n % 97 == 0 {
            out.extend_from_slice(b": keep-alive\n\n");
        }
        out.extend_from_slice(b"event: delta\n");
        if n % 50 == 0 {
            out.extend_from_slice(b"data: {\"lines\":[\n  \"first\",\n  \"second\"\n]}\n");
            out.extend_from_slice(b"data: {\"more\":true}\n\n");
        } else {
            let text = format!(
                "data: {{\"id\":\"chatcmpl-{n}\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"token {n} \"}}}}]}}\n\n"
            );
            out.extend_from_slice(text.as_bytes());
        }
        events += 1;
    }
    (out, events)
}

fn adapters(c: &mut Criterion) {
    let (input, expected) = corpus();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let chunks: Vec<Bytes> = input.chunks(CHUNK).map(Bytes::copy_from_slice).collect();

    let mut group = c.benchmark_group("adapters_8k_reads");
    group.throughput(Throughput::Bytes(input.len() as u64));

    group.bench_function("direct", |b| {
        b.iter(|| {
            let mut decoder = EventDecoder::new();
            let mut buf = BytesMut::with_capacity(CHUNK);
            let mut count = 0;
            for chunk in black_box(&input[..]).chunks(CHUNK) {
                buf.extend_from_slice(chunk);
                while let Some(event) = decoder.decode(&mut buf).expect("no limit is hit") {
                    black_box(&event);
                    count += 1;
                }
            }
            assert_eq!(count, expected);
        })
    });

    group.bench_function("framed_read", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let reader = ChunkedReader {
                    rest: black_box(&input[..]),
                };
                let mut events = FramedRead::new(reader, SseCodec::new());
                let mut count = 0;
                while let Some(event) = events.next().await {
                    black_box(&event.expect("no limit is hit"));
                    count += 1;
                }
                assert_eq!(count, expected);
            })
        })
    });

    group.bench_function("stream", |b| {
        b.iter(|| {
            let body =
                futures::stream::iter(black_box(&chunks).iter().cloned().map(Ok::<_, io::Error>));
            let mut events = body.sse_events();
            let mut count = 0;
            futures::executor::block_on(async {
                while let Some(event) = events.next().await {
                    black_box(&event.expect("no limit is hit"));
                    count += 1;
                }
            });
            assert_eq!(count, expected);
        })
    });

    group.finish();
}

criterion_group!(benches, adapters);
criterion_main!(benches);
